//! Local days ↔ UTC instants in the project's time zone, computed by the compiler so the
//! SQL compares plain UTC timestamps on every dialect.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

use crate::error::Error;

/// The first year whose offset changes the compiler tracks for local dates of timestamps:
/// an earlier instant takes the offset in force on its first day (before standard time,
/// most zones kept their local mean time, seconds or minutes away from it).
const FIRST_YEAR: i32 = 1900;

/// How many years after the as-of day the tracked changes reach: no instant a report reads
/// is later, except a timestamp known in advance (`scheduled: true`).
const YEARS_AHEAD: u32 = 10;

/// Where the tracked changes reach in a project with timestamps known in advance (a contract
/// end in 2060): the end of the time zone rules segc knows, which name no change from 2100
/// on. A later instant takes the offset of the last change, as those rules do.
const FAR_FUTURE: (i32, u32, u32) = (2100, 1, 1);

/// Offset changes: the UTC instant each starts, and the offset in seconds from it on.
type Changes = Arc<Vec<(NaiveDateTime, i32)>>;

/// A zone's offset changes from [`FIRST_YEAR`] up to the day `end` at least, kept per
/// process and computed again only for a later `end`: a month series plans each of its
/// months with a clock of its own.
fn zone_changes(zone: Tz, end: NaiveDate) -> Changes {
    static CHANGES: OnceLock<Mutex<HashMap<String, (NaiveDate, Changes)>>> = OnceLock::new();
    let cache = CHANGES.get_or_init(Default::default);
    let name = zone.name().to_string();
    let cached = cache.lock().ok().and_then(|map| map.get(&name).cloned());
    if let Some((known_end, known)) = cached
        && known_end >= end
    {
        return known;
    }
    let offset_at = |instant: NaiveDateTime| {
        zone.offset_from_utc_datetime(&instant)
            .fix()
            .local_minus_utc()
    };
    let first = NaiveDate::from_ymd_opt(FIRST_YEAR, 1, 1).unwrap_or_default();
    let mut changes = vec![(
        crate::ir::time::midnight(first),
        offset_at(crate::ir::time::midnight(first)),
    )];
    let mut day = first;
    let mut offset_a = changes[0].1;
    while day < end {
        let next = day.succ_opt().unwrap_or(end);
        let (a, b) = (
            crate::ir::time::midnight(day),
            crate::ir::time::midnight(next),
        );
        let offset_b = offset_at(b);
        if offset_a != offset_b {
            // Find the exact second the offset changes.
            let (mut low, mut high) = (a.and_utc().timestamp(), b.and_utc().timestamp());
            let at = |seconds: i64| {
                chrono::DateTime::from_timestamp(seconds, 0)
                    .map(|t| t.naive_utc())
                    .unwrap_or(a)
            };
            while high - low > 1 {
                let middle = low + (high - low) / 2;
                if offset_at(at(middle)) == offset_a {
                    low = middle
                } else {
                    high = middle
                }
            }
            changes.push((at(high), offset_b));
        }
        offset_a = offset_b;
        day = next;
    }
    let changes = Arc::new(changes);
    if let Ok(mut map) = cache.lock() {
        map.insert(name, (end, changes.clone()));
    }
    changes
}

#[derive(Debug, Clone)]
pub struct Clock {
    zone: Tz,
    /// UTC offset in seconds, and the UTC instant from which it applies (the first entry
    /// applies to everything before the second).
    offsets: Vec<(NaiveDateTime, i32)>,
}

impl Clock {
    /// A clock for `zone`, knowing its offsets from [`FIRST_YEAR`] to [`YEARS_AHEAD`] years
    /// after the local day `until`, or with `scheduled` (timestamps known in advance) up to
    /// [`FAR_FUTURE`] when that is later.
    pub fn new(zone: &str, until: NaiveDate, scheduled: bool) -> Result<Self, Error> {
        let zone = Tz::from_str(zone).map_err(|_| {
            Error::Request(crate::error::BadRequest::UnknownTimeZone(zone.to_string()))
        })?;
        let mut last = until
            .checked_add_months(chrono::Months::new(12 * YEARS_AHEAD))
            .unwrap_or(until);
        let (year, month, day) = FAR_FUTURE;
        if let Some(far) = NaiveDate::from_ymd_opt(year, month, day).filter(|_| scheduled) {
            last = last.max(far);
        }
        let horizon = crate::ir::time::midnight(last);
        // The cached changes may reach further, for a later as-of day.
        let offsets = zone_changes(zone, last)
            .iter()
            .enumerate()
            .take_while(|(index, (from, _))| *index == 0 || *from < horizon)
            .map(|(_, change)| *change)
            .collect();
        Ok(Clock { zone, offsets })
    }

    /// True for UTC and zones that never change offset in the tracked history.
    pub fn fixed_offset(&self) -> Option<i32> {
        (self.offsets.len() == 1).then(|| self.offsets[0].1)
    }

    /// Offset changes: (UTC instant it starts, offset seconds); the first entry also covers
    /// all earlier instants.
    pub fn offsets(&self) -> &[(NaiveDateTime, i32)] {
        &self.offsets
    }

    /// [`Clock::offsets`] up to the one in force just before `end`: all an instant before
    /// `end` needs.
    pub fn offsets_before(&self, end: NaiveDateTime) -> &[(NaiveDateTime, i32)] {
        let count = self.offsets.partition_point(|(from, _)| *from < end);
        &self.offsets[..count.max(1)]
    }

    /// The local date of the UTC instant `at`, by the offsets the SQL uses
    /// ([`Clock::offsets`]): the date a local date of that instant's literal gives.
    pub fn local_day(&self, at: NaiveDateTime) -> NaiveDate {
        let index = self.offsets.partition_point(|(from, _)| *from <= at);
        let offset = self.offsets[index.saturating_sub(1)].1;
        (at + chrono::Duration::seconds(offset.into())).date()
    }

    /// The UTC instant at which the local day begins. Before [`FIRST_YEAR`], by the offset
    /// of its first day, as [`Clock::local_day`] reads such instants (so the two agree).
    pub fn instant(&self, day: NaiveDate) -> NaiveDateTime {
        let local = crate::ir::time::midnight(day);
        if local < self.offsets[0].0 {
            return local - chrono::Duration::seconds(self.offsets[0].1.into());
        }
        // Midnight skipped by a change: the day starts at the first instant after it, an
        // hour later for summer time; a day skipped whole (Apia's 2011-12-30) where the next
        // one does, since nothing happened on it.
        (0..=48)
            .find_map(|hours| {
                let at = local + chrono::Duration::hours(hours);
                self.zone.from_local_datetime(&at).earliest()
            })
            .map(|t| t.naive_utc())
            .unwrap_or(local)
    }
}

/// The as-of day when none is asked for: the last complete day in `zone` at the instant
/// `now`, which is the day before the local date (that one is still in progress).
pub fn last_complete_day(zone: &str, now: DateTime<Utc>) -> Result<NaiveDate, Error> {
    let zone = Tz::from_str(zone)
        .map_err(|_| Error::Request(crate::error::BadRequest::UnknownTimeZone(zone.to_string())))?;
    let local = now.with_timezone(&zone).date_naive();
    Ok(local.pred_opt().unwrap_or(local))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn utc_days_start_at_midnight() {
        let clock = Clock::new("UTC", date("2024-07-01"), false).unwrap();
        assert_eq!(
            clock.instant(date("2024-07-01")).to_string(),
            "2024-07-01 00:00:00"
        );
        assert_eq!(clock.fixed_offset(), Some(0));
    }

    #[test]
    fn new_york_days_follow_daylight_saving() {
        let clock = Clock::new("America/New_York", date("2024-07-02"), false).unwrap();
        assert_eq!(
            clock.instant(date("2024-07-01")).to_string(),
            "2024-07-01 04:00:00"
        );
        assert_eq!(
            clock.instant(date("2024-01-15")).to_string(),
            "2024-01-15 05:00:00"
        );
        let change = clock
            .offsets()
            .iter()
            .find(|(t, _)| t.to_string().starts_with("2024-03-10"))
            .unwrap();
        assert_eq!(change.0.to_string(), "2024-03-10 07:00:00");
        assert_eq!(change.1, -4 * 3600);
        assert_eq!(clock.fixed_offset(), None);
    }

    #[test]
    fn timestamps_known_in_advance_follow_the_zone_to_the_end_of_its_rules() {
        // A contract ending at 04:30 UTC is 00:30 in New York in summer time (July 2060),
        // and 23:30 of the day before in winter.
        let until = date("2024-03-31");
        let summer = date("2060-07-01").and_hms_opt(4, 30, 0).unwrap();
        let winter = date("2060-01-01").and_hms_opt(4, 30, 0).unwrap();
        let clock = Clock::new("America/New_York", until, true).unwrap();
        assert_eq!(clock.local_day(summer), date("2060-07-01"));
        assert_eq!(clock.local_day(winter), date("2059-12-31"));
        // Ten years of changes end with March 2034's, to summer time, which every later
        // instant would keep.
        let near = Clock::new("America/New_York", until, false).unwrap();
        assert_eq!(near.local_day(winter), date("2060-01-01"));
        assert!(clock.offsets().len() > near.offsets().len() + 100);
    }

    #[test]
    fn days_start_where_their_local_days_say_even_skipped_or_before_1900() {
        // Apia skipped December 30th, 2011: it starts where the 31st does, the first instant
        // whose local day is after the 29th.
        let clock = Clock::new("Pacific/Apia", date("2012-01-31"), false).unwrap();
        let skipped = clock.instant(date("2011-12-30"));
        assert_eq!(skipped, clock.instant(date("2011-12-31")));
        assert_eq!(skipped.to_string(), "2011-12-30 10:00:00");
        assert_eq!(clock.local_day(skipped), date("2011-12-31"));
        let before = skipped - chrono::Duration::seconds(1);
        assert_eq!(clock.local_day(before), date("2011-12-29"));
        // Santiago's midnight skipped by summer time: the day starts at 01:00.
        let santiago = Clock::new("America/Santiago", date("2024-12-31"), false).unwrap();
        let start = santiago.instant(date("2024-09-08"));
        assert_eq!(start.to_string(), "2024-09-08 04:00:00");
        assert_eq!(santiago.local_day(start), date("2024-09-08"));
        // Before 1900, by the offset of 1900-01-01 (New York's local mean time was 4:56:02
        // behind): each day starts where its local day does.
        let clock = Clock::new("America/New_York", date("2024-03-31"), false).unwrap();
        for day in [date("1850-06-01"), date("1899-12-31"), date("1900-01-01")] {
            let start = clock.instant(day);
            assert_eq!(clock.local_day(start), day, "{day}");
            assert_eq!(
                clock.local_day(start - chrono::Duration::seconds(1)),
                day.pred_opt().unwrap()
            );
        }
    }

    #[test]
    fn the_default_day_is_the_last_complete_local_day() {
        let at = |text: &str| {
            DateTime::parse_from_rfc3339(text)
                .unwrap()
                .with_timezone(&Utc)
        };
        for (zone, now, local_today, expected) in [
            // UTC+13: UTC is still on the 30th, Auckland is on December 1st.
            (
                "Pacific/Auckland",
                "2026-11-30T23:30:00Z",
                "2026-12-01",
                "2026-11-30",
            ),
            // UTC−8: UTC is on the 30th, Los Angeles still on the 29th.
            (
                "America/Los_Angeles",
                "2026-11-30T03:00:00Z",
                "2026-11-29",
                "2026-11-28",
            ),
            (
                "UTC",
                "2026-11-30T23:59:59.999999Z",
                "2026-11-30",
                "2026-11-29",
            ),
            ("UTC", "2026-12-01T00:00:00Z", "2026-12-01", "2026-11-30"),
            // Just after local midnight, the day that just ended is complete.
            (
                "Europe/Berlin",
                "2026-03-01T23:00:01Z",
                "2026-03-02",
                "2026-03-01",
            ),
            (
                "America/New_York",
                "2024-03-01T04:59:59Z",
                "2024-02-29",
                "2024-02-28",
            ),
        ] {
            let now = at(now);
            let zone_today = now.with_timezone(&Tz::from_str(zone).unwrap()).date_naive();
            assert_eq!(zone_today, date(local_today), "{zone} at {now}");
            assert_eq!(
                last_complete_day(zone, now).unwrap(),
                date(expected),
                "{zone} at {now}"
            );
        }
        assert!(last_complete_day("Mars/Olympus", at("2026-11-30T00:00:00Z")).is_err());
    }
}
