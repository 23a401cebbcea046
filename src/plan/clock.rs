//! Local days ↔ UTC instants in the project's time zone, computed by the compiler so the
//! SQL compares plain UTC timestamps on every dialect.

use std::str::FromStr;

use chrono::{Datelike, NaiveDate, NaiveDateTime, Offset, TimeZone};
use chrono_tz::Tz;

use crate::error::Error;

/// How far back the compiler tracks offset changes for local dates of timestamps.
const HISTORY_YEARS: i32 = 25;

#[derive(Debug, Clone)]
pub struct Clock {
    zone: Tz,
    /// UTC offset in seconds, and the UTC instant from which it applies (the first entry
    /// applies to everything before the second).
    offsets: Vec<(NaiveDateTime, i32)>,
}

impl Clock {
    /// A clock for `zone`, knowing its offsets up to the local day `until`.
    pub fn new(zone: &str, until: NaiveDate) -> Result<Self, Error> {
        let zone =
            Tz::from_str(zone).map_err(|_| Error::Usage(format!("unknown time zone `{zone}`")))?;
        let start = NaiveDate::from_ymd_opt(until.year() - HISTORY_YEARS, 1, 1).unwrap_or(until);
        let offset_at = |instant: NaiveDateTime| {
            zone.offset_from_utc_datetime(&instant)
                .fix()
                .local_minus_utc()
        };
        let mut offsets = vec![(
            crate::ir::time::midnight(start),
            offset_at(crate::ir::time::midnight(start)),
        )];
        let mut day = start;
        let end = until.succ_opt().unwrap_or(until);
        while day < end {
            let next = day.succ_opt().unwrap_or(end);
            let (a, b) = (
                crate::ir::time::midnight(day),
                crate::ir::time::midnight(next),
            );
            let (offset_a, offset_b) = (offset_at(a), offset_at(b));
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
                offsets.push((at(high), offset_b));
            }
            day = next;
        }
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

    /// The UTC instant at which the local day begins.
    pub fn instant(&self, day: NaiveDate) -> NaiveDateTime {
        let local = crate::ir::time::midnight(day);
        match self.zone.from_local_datetime(&local) {
            chrono::LocalResult::Single(t) => t.naive_utc(),
            chrono::LocalResult::Ambiguous(first, _) => first.naive_utc(),
            // Midnight skipped by a DST change: the day starts at the first instant after it.
            chrono::LocalResult::None => {
                let later = local + chrono::Duration::hours(1);
                self.zone
                    .from_local_datetime(&later)
                    .earliest()
                    .map(|t| t.naive_utc())
                    .unwrap_or(local)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn utc_days_start_at_midnight() {
        let clock = Clock::new("UTC", date("2024-07-01")).unwrap();
        assert_eq!(
            clock.instant(date("2024-07-01")).to_string(),
            "2024-07-01 00:00:00"
        );
        assert_eq!(clock.fixed_offset(), Some(0));
    }

    #[test]
    fn new_york_days_follow_daylight_saving() {
        let clock = Clock::new("America/New_York", date("2024-07-02")).unwrap();
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
}
