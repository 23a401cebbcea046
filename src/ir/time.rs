//! Durations, windows and the report's time: the as-of day, its end instant, the period.

use chrono::{Datelike, Days, Months, NaiveDate, NaiveDateTime};
use serde::Serialize;

/// A calendar length: `30d`, `4w`, `3m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Duration {
    Days(u32),
    Weeks(u32),
    Months(u32),
}

impl Duration {
    /// Parses `30d`, `4w`, `3m`.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let unit = text.chars().last()?;
        let count: u32 = text[..text.len() - unit.len_utf8()].parse().ok()?;
        if count == 0 || count > 100_000 {
            return None;
        }
        Some(match unit {
            'd' => Duration::Days(count),
            'w' => Duration::Weeks(count),
            'm' => Duration::Months(count),
            _ => return None,
        })
    }

    /// The local date `self` before `date` (months clamp to the end of shorter months).
    pub fn before(self, date: NaiveDate) -> NaiveDate {
        match self {
            Duration::Days(n) => date.checked_sub_days(Days::new(n.into())),
            Duration::Weeks(n) => date.checked_sub_days(Days::new(u64::from(n) * 7)),
            Duration::Months(n) => date.checked_sub_months(Months::new(n)),
        }
        .unwrap_or(NaiveDate::MIN)
    }
}

impl std::fmt::Display for Duration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Duration::Days(n) => write!(f, "{n}d"),
            Duration::Weeks(n) => write!(f, "{n}w"),
            Duration::Months(n) => write!(f, "{n}m"),
        }
    }
}

/// Which facts an aggregate reads, relative to the report's end instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Window {
    /// All history before the end.
    All,
    /// `[end − length, end)`.
    Last(Duration),
    /// `[end − offset − last, end − offset)`.
    LastOffset { last: Duration, offset: Duration },
    /// The report's period.
    Period,
    /// A calendar month: `months_back` = 0 is the as-of day's month up to the end
    /// (`month_to_date`), 1 the whole month before it (`previous_month`).
    CalendarMonth { months_back: u32 },
    /// Each user's first `days` days after signing up: `[signup, signup + days)`, and
    /// before the end like every window.
    AfterSignup { days: u32 },
}

/// The report's time: as-of day D, end instant B (the start of D + 1 in the project time
/// zone, in UTC), and the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportTime {
    pub as_of: NaiveDate,
    /// First and last day of the period (inclusive).
    pub period: (NaiveDate, NaiveDate),
}

/// A half-open range of local days: `[start, end)`; `None` start means unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DayRange {
    pub start: Option<NaiveDate>,
    pub end: NaiveDate,
}

impl ReportTime {
    /// The first local day after the as-of day: the end instant B is its midnight.
    pub fn end_day(&self) -> NaiveDate {
        self.as_of.succ_opt().unwrap_or(self.as_of)
    }

    /// The local days a window covers.
    pub fn range(&self, window: &Window) -> DayRange {
        let end = self.end_day();
        match window {
            Window::All | Window::AfterSignup { .. } => DayRange { start: None, end },
            Window::Last(length) => DayRange {
                start: Some(length.before(end)),
                end,
            },
            Window::LastOffset { last, offset } => {
                let shifted = offset.before(end);
                DayRange {
                    start: Some(last.before(shifted)),
                    end: shifted,
                }
            }
            Window::CalendarMonth { months_back } => {
                let first = self.as_of.with_day(1).unwrap_or(self.as_of);
                let start = first
                    .checked_sub_months(Months::new(*months_back))
                    .unwrap_or(NaiveDate::MIN);
                DayRange {
                    start: Some(start),
                    end: start.checked_add_months(Months::new(1)).unwrap_or(end),
                }
            }
            Window::Period => DayRange {
                start: Some(self.period.0),
                end: self.period.1.succ_opt().unwrap_or(self.period.1),
            },
        }
        .clamp_to(end)
    }
}

impl DayRange {
    fn clamp_to(mut self, end: NaiveDate) -> Self {
        if self.end > end {
            self.end = end;
        }
        self
    }
}

/// The years every warehouse holds in its dates and timestamps: BigQuery's and SQL Server's
/// (`DATE`, `datetime2`), within DuckDB's, PostgreSQL's and Redshift's. DuckDB reads no
/// literal past year 9999, and a time outside these would read on some warehouses alone.
pub const YEARS: std::ops::RangeInclusive<i32> = 1..=9999;

/// Whether `day` is of [`YEARS`].
pub fn within_years(day: NaiveDate) -> bool {
    YEARS.contains(&day.year())
}

/// Midnight at the start of a local day, as a naive local date-time.
pub fn midnight(day: NaiveDate) -> NaiveDateTime {
    day.and_hms_opt(0, 0, 0).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn parses_durations() {
        assert_eq!(Duration::parse("30d"), Some(Duration::Days(30)));
        assert_eq!(Duration::parse("2w"), Some(Duration::Weeks(2)));
        assert_eq!(Duration::parse("3m"), Some(Duration::Months(3)));
        assert_eq!(Duration::parse("0d"), None);
        assert_eq!(Duration::parse("d"), None);
        assert_eq!(Duration::parse("5y"), None);
    }

    #[test]
    fn windows_end_at_the_start_of_the_day_after_as_of() {
        let time = ReportTime {
            as_of: date("2024-03-31"),
            period: (date("2024-03-01"), date("2024-03-31")),
        };
        let range = time.range(&Window::Last(Duration::Days(30)));
        assert_eq!(
            range,
            DayRange {
                start: Some(date("2024-03-02")),
                end: date("2024-04-01")
            }
        );
        let range = time.range(&Window::LastOffset {
            last: Duration::Days(30),
            offset: Duration::Days(30),
        });
        assert_eq!(
            range,
            DayRange {
                start: Some(date("2024-02-01")),
                end: date("2024-03-02")
            }
        );
        let range = time.range(&Window::Last(Duration::Months(1)));
        assert_eq!(range.start, Some(date("2024-03-01")));
        let range = time.range(&Window::Last(Duration::Weeks(1)));
        assert_eq!(range.start, Some(date("2024-03-25")));
        let range = time.range(&Window::Period);
        assert_eq!(
            range,
            DayRange {
                start: Some(date("2024-03-01")),
                end: date("2024-04-01")
            }
        );
    }

    #[test]
    fn calendar_month_windows_follow_the_as_of_day_month() {
        let mid_month = |as_of: &str| ReportTime {
            as_of: date(as_of),
            period: (date(as_of), date(as_of)),
        };
        let range = |as_of: &str, months_back: u32| {
            let r = mid_month(as_of).range(&Window::CalendarMonth { months_back });
            (r.start.unwrap().to_string(), r.end.to_string())
        };
        // Month to date ends with the as-of day; the previous month is whole.
        assert_eq!(
            range("2024-03-15", 0),
            ("2024-03-01".into(), "2024-03-16".into())
        );
        assert_eq!(
            range("2024-03-15", 1),
            ("2024-02-01".into(), "2024-03-01".into())
        );
        // On a month's last day, month to date is the whole month.
        assert_eq!(
            range("2024-02-29", 0),
            ("2024-02-01".into(), "2024-03-01".into())
        );
        // Across a year boundary.
        assert_eq!(
            range("2024-01-01", 1),
            ("2023-12-01".into(), "2024-01-01".into())
        );
        assert_eq!(
            range("2024-01-01", 0),
            ("2024-01-01".into(), "2024-01-02".into())
        );
    }
}
