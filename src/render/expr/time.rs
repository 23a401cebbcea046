//! Time: date and timestamp literals, local days, and the windows an attribute reads.

use chrono::{NaiveDate, NaiveDateTime};
use minijinja::Value;

use crate::error::{BadRequest, Error};
use crate::ir::{Comparison, Duration};
use crate::plan::aggregates::FactWindow;
use crate::plan::times::TimeValue;

use super::Sql;

/// The day after `day`.
fn next_day(day: NaiveDate) -> NaiveDate {
    day.succ_opt().unwrap_or(day)
}

/// Refuses a time outside the years every warehouse holds ([`crate::ir::time::YEARS`]):
/// every date and timestamp literal segc writes goes through here, so no statement holds one.
fn within_years(text: String, day: NaiveDate) -> Result<String, Error> {
    match crate::ir::time::within_years(day) {
        true => Ok(text),
        false => Err(Error::Request(BadRequest::TimeOutOfRange(text))),
    }
}

impl<'a, 's> Sql<'a, 's> {
    pub(in crate::render) fn timestamp(&mut self, instant: NaiveDateTime) -> Result<String, Error> {
        let text = within_years(
            instant.format("%Y-%m-%d %H:%M:%S").to_string(),
            instant.date(),
        )?;
        self.call("timestamp_literal", &[Value::from(text)])
    }

    pub(in crate::render) fn date(&mut self, day: NaiveDate) -> Result<String, Error> {
        let text = within_years(day.format("%Y-%m-%d").to_string(), day)?;
        self.call("date_literal", &[Value::from(text)])
    }

    /// The instant of `text` when it is exactly a timestamp literal of [`Sql::timestamp`].
    fn instant_of(&mut self, text: &str) -> Option<NaiveDateTime> {
        let start = text.find('\'')? + 1;
        let written = text.get(start..start + "YYYY-MM-DD HH:MM:SS".len())?;
        let instant = NaiveDateTime::parse_from_str(written, "%Y-%m-%d %H:%M:%S").ok()?;
        (self.timestamp(instant).ok()? == text).then_some(instant)
    }

    /// The start of a local day as a UTC timestamp literal.
    fn day_start(&mut self, day: NaiveDate) -> Result<String, Error> {
        let instant = self.plan().instant(day);
        self.timestamp(instant)
    }

    /// The local calendar date of a UTC timestamp, in the project's time zone. Offsets are
    /// known to the compiler, so this is the same plain arithmetic on every dialect.
    pub(in crate::render) fn local_date(&mut self, timestamp: &str) -> Result<String, Error> {
        let offsets = self.plan().clock.offsets().to_vec();
        self.local_date_by(timestamp, &offsets)
    }

    /// [`Sql::local_date`] of a timestamp read before the report's end (a fact's time, a
    /// sign-up, a point-in-time column, an aggregate of facts): the offset changes after the
    /// end are left out of its CASE.
    pub(in crate::render) fn local_date_before_end(
        &mut self,
        timestamp: &str,
    ) -> Result<String, Error> {
        let plan = self.plan();
        let offsets = plan.clock.offsets_before(plan.end_instant()).to_vec();
        self.local_date_by(timestamp, &offsets)
    }

    /// The local date of `timestamp` by `offsets` (from each instant on; the first also before).
    fn local_date_by(
        &mut self,
        timestamp: &str,
        offsets: &[(NaiveDateTime, i32)],
    ) -> Result<String, Error> {
        // The local date of an instant segc wrote is known here: a date literal.
        if let Some(instant) = self.instant_of(timestamp) {
            let day = self.plan().clock.local_day(instant);
            return self.date(day);
        }
        let shifted = match offsets {
            [(_, 0)] => timestamp.to_string(),
            [(_, offset)] => self.call(
                "add_seconds",
                &[Value::from(timestamp), Value::from(*offset)],
            )?,
            _ => self.shifted(timestamp, offsets)?,
        };
        self.call("to_date", &[Value::from(shifted)])
    }

    /// `timestamp` plus the offset in force at it, of `offsets` (each from its instant on,
    /// the first also before): a CASE that halves the changes at each step, so a value meets
    /// about log2(changes) comparisons, not one per change.
    fn shifted(
        &mut self,
        timestamp: &str,
        offsets: &[(NaiveDateTime, i32)],
    ) -> Result<String, Error> {
        if let [(_, offset)] = offsets {
            return self.call(
                "add_seconds",
                &[Value::from(timestamp), Value::from(*offset)],
            );
        }
        let middle = offsets.len() / 2;
        let (earlier, later) = offsets.split_at(middle);
        let from = self.timestamp(later[0].0)?;
        let earlier = self.shifted(timestamp, earlier)?;
        let later = self.shifted(timestamp, later)?;
        Ok(format!(
            "CASE WHEN {timestamp} < {from} THEN {earlier} ELSE {later} END"
        ))
    }

    /// A bound on a column that says when (a fact's time, a sign-up, a row's validity): the
    /// instants of `bound` for a timestamp column; for a date column (`date`), the local days
    /// they start. Every such bound segc writes is the start of a local day, so a date is
    /// before it exactly when the date's day is before that day.
    pub(in crate::render) fn when_bound(
        &mut self,
        bound: &[TimeValue],
        date: bool,
    ) -> Result<String, Error> {
        if !date {
            return self.time_value(bound);
        }
        let clock = &self.plan().clock;
        let mut days = Vec::with_capacity(bound.len());
        for value in bound {
            days.push(match value {
                // The first day that starts there (a day skipped whole starts where the next
                // one does).
                TimeValue::Instant(instant) => {
                    let near = clock.local_day(*instant);
                    let day = (-2..=2)
                        .filter_map(|offset| near.checked_add_signed(chrono::Duration::days(offset)))
                        .find(|day| clock.instant(*day) == *instant)
                        .ok_or_else(|| {
                            Error::Render(format!(
                                "the bound {instant} on a date column is not the start of a local day"
                            ))
                        })?;
                    TimeValue::Date(day)
                }
                other => *other,
            });
        }
        self.time_value(&days)
    }

    /// The end of the report's time for a column that says when: its as-of instant for a
    /// timestamp, the day after the as-of day for a date (`date`). Nothing at or after it is read.
    pub(in crate::render) fn when_end(&mut self, date: bool) -> Result<String, Error> {
        let ends = match date {
            true => self.periods.end_days(),
            false => self.periods.ends(),
        };
        self.time_value(&ends)
    }

    /// A column that says when (read before the report's end) as a local day: itself for a
    /// date, its local date for a timestamp.
    pub(in crate::render) fn when_day(&mut self, value: &str, date: bool) -> Result<String, Error> {
        match date {
            true => Ok(value.to_string()),
            false => self.local_date_before_end(value),
        }
    }

    /// A window over facts, as conditions on the facts' time column `time`, a date when
    /// `time_date` (its bounds from the report's time, or counted from `signup` for windows
    /// after sign-up, a date when the project's sign-up column is one).
    pub(super) fn window_conditions(
        &mut self,
        time: &str,
        time_date: bool,
        window: &FactWindow,
        signup: &str,
    ) -> Result<Vec<String>, Error> {
        let mut conditions = Vec::new();
        if let Some(start) = &window.bounds.start {
            conditions.push(format!("{time} >= {}", self.when_bound(start, time_date)?));
        }
        if let Some(end) = &window.bounds.end {
            conditions.push(format!("{time} < {}", self.when_bound(end, time_date)?));
        }
        if let Some(days) = window.after_signup {
            let signup_date = self.plan().project.signup_is_date();
            if !time_date && !signup_date {
                let until = self.call("add_days", &[Value::from(signup), Value::from(days)])?;
                conditions.push(format!("{time} >= {signup}"));
                conditions.push(format!("{time} < {until}"));
            } else {
                // A date against a timestamp compares the timestamp's local day (rule 14): the
                // facts of the sign-up's day and the `days - 1` days after it.
                let day = self.when_day(time, time_date)?;
                let first = self.when_day(signup, signup_date)?;
                let after = self.call(
                    "days_between",
                    &[Value::from(first.clone()), Value::from(day.clone())],
                )?;
                conditions.push(format!("{day} >= {first}"));
                conditions.push(format!("{after} < {days}"));
            }
        }
        Ok(conditions)
    }

    /// A timestamp compared with a date: the comparison of the timestamp's local day.
    pub(super) fn compare_local_day(
        &mut self,
        value: &str,
        comparison: Comparison,
        day: NaiveDate,
    ) -> Result<String, Error> {
        let start = self.day_start(day)?;
        let next = self.day_start(next_day(day))?;
        Ok(match comparison {
            Comparison::Eq => format!("{value} >= {start} AND {value} < {next}"),
            Comparison::Ne => format!("({value} < {start} OR {value} >= {next})"),
            Comparison::Gt => format!("{value} >= {next}"),
            Comparison::Gte => format!("{value} >= {start}"),
            Comparison::Lt => format!("{value} < {start}"),
            Comparison::Lte => format!("{value} < {next}"),
        })
    }

    /// A timestamp whose local day is between two dates, both included.
    pub(super) fn between_local_days(
        &mut self,
        value: &str,
        low: NaiveDate,
        high: NaiveDate,
    ) -> Result<String, Error> {
        let start = self.day_start(low)?;
        let end = self.day_start(next_day(high))?;
        Ok(format!("{value} >= {start} AND {value} < {end}"))
    }

    /// `within_last`: a value in the last `length` of the report's time, up to its end.
    pub(super) fn within_last(
        &mut self,
        value: &str,
        timestamp: bool,
        length: Duration,
    ) -> Result<String, Error> {
        let bounds = self.periods.within_last(length, timestamp);
        let start = self.time_value(&bounds.start)?;
        let end = self.time_value(&bounds.end)?;
        // A timestamp's end is the first instant after the report; a date's, its as-of day.
        let before_end = if timestamp { "<" } else { "<=" };
        Ok(format!("{value} >= {start} AND {value} {before_end} {end}"))
    }

    /// `before`: a value earlier than a day (a timestamp: than the day's local start).
    pub(super) fn before(
        &mut self,
        value: &str,
        timestamp: bool,
        day: NaiveDate,
    ) -> Result<String, Error> {
        Ok(if timestamp {
            format!("{value} < {}", self.day_start(day)?)
        } else {
            format!("{value} < {}", self.date(day)?)
        })
    }

    /// `after`: a value later than a day (a timestamp: from the next day's local start).
    pub(super) fn after(
        &mut self,
        value: &str,
        timestamp: bool,
        day: NaiveDate,
    ) -> Result<String, Error> {
        Ok(if timestamp {
            format!("{value} >= {}", self.day_start(next_day(day))?)
        } else {
            format!("{value} > {}", self.date(day)?)
        })
    }
}
