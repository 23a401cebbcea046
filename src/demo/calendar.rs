//! Time helpers: instants are whole seconds since the Unix epoch until the rows are built.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Weekday};

use super::DemoConfig;
use super::random::Rng;

pub(super) const SECS_PER_DAY: i64 = 86_400;

fn day_start(day: NaiveDate) -> i64 {
    day.and_time(chrono::NaiveTime::MIN).and_utc().timestamp()
}

pub(super) fn timestamp(secs: i64) -> NaiveDateTime {
    DateTime::from_timestamp(secs, 0)
        .expect("demo timestamps are in range")
        .naive_utc()
}

/// The covered days: [start, end) in seconds, `days` whole days.
#[derive(Debug, Clone, Copy)]
pub(super) struct DateSpan {
    first_day: NaiveDate,
    pub(super) start: i64,
    pub(super) end: i64,
    pub(super) days: i64,
}

impl DateSpan {
    pub(super) fn new(config: &DemoConfig) -> DateSpan {
        let last_day = config.last_day.max(config.first_day);
        let start = day_start(config.first_day);
        let end = day_start(last_day) + SECS_PER_DAY;
        DateSpan {
            first_day: config.first_day,
            start,
            end,
            days: (end - start) / SECS_PER_DAY,
        }
    }

    /// Index of the day holding `t` (negative before the span).
    pub(super) fn day_of(&self, t: i64) -> i64 {
        (t - self.start).div_euclid(SECS_PER_DAY)
    }

    pub(super) fn day_secs(&self, day: i64) -> i64 {
        self.start + day * SECS_PER_DAY
    }

    /// How busy a calendar day is: weekends and the year-end holidays are quiet.
    pub(super) fn day_factor(&self, day: i64) -> f64 {
        let date = self.first_day + chrono::Days::new(day as u64);
        let holiday =
            (date.month() == 12 && date.day() >= 24) || (date.month() == 1 && date.day() == 1);
        let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
        match (holiday, weekend) {
            (true, _) => 0.35,
            (false, true) => 0.4,
            (false, false) => 1.0,
        }
    }
}

/// Seconds into a day when people tend to be at work, with some activity at any hour.
pub(super) fn time_of_day(rng: &mut Rng) -> i64 {
    if rng.chance(0.78) {
        // Triangular around 13:30 between 08:00 and 19:00.
        let span = 11 * 3600;
        8 * 3600 + (rng.below(span) + rng.below(span)) as i64 / 2
    } else {
        rng.below(SECS_PER_DAY as u64) as i64
    }
}
