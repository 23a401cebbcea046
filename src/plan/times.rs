//! Every value of the report's time a statement compares against, computed here for each
//! period: the as-of instants, the bounds of each window and of `within_last`, the as-of day,
//! the period's first day and its length in months. The renderer spells them: as literals in
//! a single report, as columns of the series' spine otherwise.

use chrono::{NaiveDate, NaiveDateTime};

use crate::ir::{Duration, Window};

use super::Plan;

/// One value of the report's time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TimeValue {
    /// A UTC instant (the start of a local day).
    Instant(NaiveDateTime),
    /// A local day.
    Date(NaiveDate),
    /// A number of months (a period's length in days / 30.4375).
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

    /// The length of each period in months (`period_months()`): days / 30.4375.
    pub fn period_months(&self) -> PerPeriod {
        self.each(|plan| {
            let (first, last) = plan.time.period;
            TimeValue::Months(((last - first).num_days() + 1) as f64 / 30.4375)
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
