//! Every value of the report's time a statement compares against, computed here for each
//! period: the as-of instants, the bounds of each window and of `within_last`, the as-of day,
//! the period's first day and its length in months. The renderer spells them: as literals in
//! a single report, as columns of the series' spine otherwise.

use chrono::{Datelike, NaiveDate, NaiveDateTime};

use crate::ir::{Duration, Window};

use super::Plan;

/// One value of the report's time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TimeValue {
    /// A UTC instant (the start of a local day).
    Instant(NaiveDateTime),
    /// A local day.
    Date(NaiveDate),
    /// A number of months (a period's length in calendar months, see [`calendar_months`]).
    Months(f64),
}

/// A value of the report's time, one per period (one in a single report).
pub type PerPeriod = Vec<TimeValue>;

/// The bounds of a window over facts: a start when the window has one, an end when some
/// period's window ends before its as-of instant (the pass already stops there).
#[derive(Debug, Clone, PartialEq)]
pub struct WindowBounds {
    /// Facts at or after it count.
    pub start: Option<PerPeriod>,
    /// Facts before it count.
    pub end: Option<PerPeriod>,
}

/// The bounds of `within_last`: from `start` (included) to `end`, which is the first
/// instant after the report for a timestamp and the as-of day (included) for a date.
#[derive(Debug, Clone, PartialEq)]
pub struct LastBounds {
    pub start: PerPeriod,
    pub end: PerPeriod,
}

/// The periods of a statement: one report's plan, or every period's plan of a series.
#[derive(Debug, Clone, Copy)]
pub struct Periods<'p> {
    /// The latest period's plan (its clock knows the time zone's offsets for every earlier one).
    pub latest: &'p Plan<'p>,
    series: Option<&'p [(String, Plan<'p>)]>,
}

impl<'p> Periods<'p> {
    pub fn new(latest: &'p Plan<'p>, series: Option<&'p [(String, Plan<'p>)]>) -> Self {
        Periods { latest, series }
    }

    /// Whether the statement computes a series (its time values are spine columns).
    pub fn is_series(&self) -> bool {
        self.series.is_some()
    }

    /// The number of periods of a series; none for a single report.
    pub fn series_len(&self) -> Option<usize> {
        self.series.map(<[_]>::len)
    }

    /// The periods' labels, for a series.
    pub fn labels(&self) -> Vec<&'p str> {
        self.series
            .unwrap_or_default()
            .iter()
            .map(|(label, _)| label.as_str())
            .collect()
    }

    /// Every period's plan.
    pub fn plans(&self) -> Vec<&'p Plan<'p>> {
        match self.series {
            Some(series) => series.iter().map(|(_, plan)| plan).collect(),
            None => vec![self.latest],
        }
    }

    /// A value computed from each period's plan.
    pub fn each(&self, value: impl Fn(&Plan<'_>) -> TimeValue) -> PerPeriod {
        self.plans().into_iter().map(value).collect()
    }

    /// The as-of instant of each period: nothing at or after it is read.
    pub fn ends(&self) -> PerPeriod {
        self.each(|plan| TimeValue::Instant(plan.end_instant()))
    }

    /// The first day after each period's as-of day, before which a date is known.
    pub fn end_days(&self) -> PerPeriod {
        self.each(|plan| TimeValue::Date(plan.time.end_day()))
    }

    /// The as-of day of each period (`as_of()` in a formula).
    pub fn as_of(&self) -> PerPeriod {
        self.each(|plan| TimeValue::Date(plan.time.as_of))
    }

    /// The first day of each period (`period_start()`).
    pub fn period_start(&self) -> PerPeriod {
        self.each(|plan| TimeValue::Date(plan.time.period.0))
    }

    /// The length of each period in calendar months (`period_months()`, see
    /// [`calendar_months`]).
    pub fn period_months(&self) -> PerPeriod {
        self.each(|plan| {
            let (first, last) = plan.time.period;
            TimeValue::Months(calendar_months(first, last))
        })
    }

    /// The bounds of a window over facts. The kind of window, and so whether it has a
    /// start, is the same in every period.
    pub fn window(&self, window: Window) -> WindowBounds {
        let start = self.latest.range(&window).start.map(|_| {
            self.each(|plan| {
                let day = plan.range(&window).start.unwrap_or(plan.time.end_day());
                TimeValue::Instant(plan.instant(day))
            })
        });
        let ends_early = self
            .plans()
            .iter()
            .any(|plan| plan.range(&window).end < plan.time.end_day());
        let end = ends_early
            .then(|| self.each(|plan| TimeValue::Instant(plan.instant(plan.range(&window).end))));
        WindowBounds { start, end }
    }

    /// The bounds of `within_last(length)` over a timestamp or a date.
    pub fn within_last(&self, length: Duration, timestamp: bool) -> LastBounds {
        if timestamp {
            LastBounds {
                start: self.each(|plan| {
                    TimeValue::Instant(plan.instant(length.before(plan.time.end_day())))
                }),
                end: self.ends(),
            }
        } else {
            LastBounds {
                start: self.each(|plan| TimeValue::Date(length.before(plan.time.end_day()))),
                end: self.as_of(),
            }
        }
    }
}

/// The length of the days `first..=last` in calendar months: the whole months from `first`
/// (a month on from the 31st of January is the last day of February), and what is left as a
/// fraction of the month that follows them. A calendar month is 1 whatever its days, so each
/// month of a `--grain month` series is 1; 30 days from the 2nd of March are 30/31.
pub fn calendar_months(first: NaiveDate, last: NaiveDate) -> f64 {
    let end = last.succ_opt().unwrap_or(last);
    let on = |months: u32| first.checked_add_months(chrono::Months::new(months));
    // The months between the two days' months, less one where `end`'s day of the month
    // comes before `first`'s.
    let apart = (end.year() - first.year()) * 12 + end.month() as i32 - first.month() as i32;
    let mut whole = u32::try_from(apart).unwrap_or(0);
    while whole > 0 && on(whole).is_none_or(|day| day > end) {
        whole -= 1;
    }
    let (from, to) = (on(whole).unwrap_or(end), on(whole + 1));
    let rest = (end - from).num_days() as f64;
    match to {
        Some(to) if rest > 0.0 => whole as f64 + rest / (to - from).num_days() as f64,
        _ => whole as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::calendar_months;

    fn months(first: &str, last: &str) -> f64 {
        calendar_months(first.parse().unwrap(), last.parse().unwrap())
    }

    #[test]
    fn a_period_is_counted_in_calendar_months() {
        // Whole months, whatever their days.
        assert_eq!(months("2024-02-01", "2024-02-29"), 1.0);
        assert_eq!(months("2023-02-01", "2023-02-28"), 1.0);
        assert_eq!(months("2024-10-01", "2024-10-31"), 1.0);
        assert_eq!(months("2023-01-01", "2023-12-31"), 12.0);
        assert_eq!(months("2024-01-15", "2024-03-14"), 2.0);
        // From the last day of a month: a month on is the last day of the next.
        assert_eq!(months("2024-01-31", "2024-02-28"), 1.0);
        // What is left is a fraction of the month that follows the whole ones.
        assert_eq!(months("2024-03-02", "2024-03-31"), 30.0 / 31.0);
        assert_eq!(months("2024-02-01", "2024-02-14"), 14.0 / 29.0);
        assert_eq!(months("2024-01-01", "2024-02-15"), 1.0 + 15.0 / 29.0);
        assert_eq!(months("2024-05-31", "2024-05-31"), 1.0 / 30.0);
        assert_eq!(months("9999-12-01", "9999-12-31"), 1.0);
        assert_eq!(months("9999-12-02", "9999-12-31"), 30.0 / 31.0);
    }
}
