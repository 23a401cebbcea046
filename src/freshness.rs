//! Is the data recent enough for the report? Before `run` and `explain` ask the warehouse for
//! a report, one more small read-only statement asks every timed fact source the report reads
//! for its newest row before the report's end (`render::render_freshness`: `MAX` of its time
//! column, the sources joined with `UNION ALL`). It reads the as-of day's rows only, which a
//! warehouse that prunes by time finds without reading the table; only the sources with no
//! row that day are asked again over all time, for the day of their newest row. A source
//! whose newest row falls before the as-of day — a load that stopped, a report asked for a
//! day not loaded yet — is named in a warning, since every window ending on that day then
//! counts too little:
//! `events: newest row 2026-09-02, 59 days before the as-of day 2026-10-31`.

use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime, TimeZone};

use crate::dialect::Dialect;
use crate::driver::{Cell, Driver, ResultSet};
use crate::error::Error;
use crate::events::EventSink;
use crate::plan::{Plan, Reports};
use crate::render::{NEWEST_COLUMN, SOURCE_COLUMN};

/// A source's newest row before the report's end, as a UTC instant (`None`: no row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Newest {
    pub source: String,
    pub newest: Option<NaiveDateTime>,
}

/// The rows of the freshness statement, by column name.
pub fn read(result: &ResultSet) -> Result<Vec<Newest>, Error> {
    let source = result.column(SOURCE_COLUMN, 0)?;
    let newest = result.column(NEWEST_COLUMN, 1)?;
    result
        .rows
        .iter()
        .map(|row| {
            let name = match row.get(source) {
                Some(Cell::Text(name)) => name.clone(),
                other => {
                    return Err(Error::Query(format!(
                        "the freshness check returned a source that is not a name: {other:?}"
                    )));
                }
            };
            let newest = match row.get(newest) {
                Some(Cell::Timestamp(instant)) => Some(*instant),
                Some(Cell::Date(day)) => Some(crate::ir::time::midnight(*day)),
                Some(Cell::Text(text)) => parse_instant(text),
                _ => None,
            };
            Ok(Newest {
                source: name,
                newest,
            })
        })
        .collect()
}

fn parse_instant(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim().trim_end_matches('Z');
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
}

/// The warnings for sources whose newest row falls before `as_of` (a local day of
/// `time_zone`), in the order of `newest`.
pub fn warnings(newest: &[Newest], as_of: NaiveDate, time_zone: &str) -> Vec<String> {
    let zone = chrono_tz::Tz::from_str(time_zone).unwrap_or(chrono_tz::UTC);
    newest
        .iter()
        .filter_map(|source| match source.newest {
            None => Some(format!(
                "{}: no rows before the end of the as-of day {as_of}",
                source.source
            )),
            Some(instant) => {
                let day = zone.from_utc_datetime(&instant).date_naive();
                let days = (as_of - day).num_days();
                let plural = if days == 1 { "" } else { "s" };
                (days > 0).then(|| {
                    format!(
                        "{}: newest row {day}, {days} day{plural} before the as-of day {as_of}",
                        source.source
                    )
                })
            }
        })
        .collect()
}

/// Asks `driver` for the newest row of each timed fact source `plan` reads and warns
/// through `events` about the stale ones. A check the warehouse cannot answer (a missing
/// table) is left to the report's own statement to explain; only an interruption stops here.
pub fn check(
    driver: &mut dyn Driver,
    plan: &Plan<'_>,
    dialect: &Dialect,
    target: Option<&str>,
    events: &EventSink,
) -> Result<(), Error> {
    use crate::render::Freshness;
    let mut ask = |rows: Freshness<'_>| -> Result<Option<Vec<Newest>>, Error> {
        let Some(sql) = crate::render::render_freshness(plan, dialect, target, rows)? else {
            return Ok(None);
        };
        match driver.query(&sql).and_then(|result| read(&result)) {
            Ok(mut newest) => {
                // A source timed by dates gives its newest day (as UTC midnight): the start
                // of that local day.
                for source in &mut newest {
                    let date = plan
                        .project
                        .sources
                        .iter()
                        .position(|s| s.name == source.source)
                        .is_some_and(|id| plan.project.time_is_date(crate::ir::SourceId(id)));
                    if let (true, Some(instant)) = (date, source.newest) {
                        source.newest = Some(plan.clock.instant(instant.date()));
                    }
                }
                Ok(Some(newest))
            }
            Err(error @ (Error::Interrupted(_) | Error::TimedOut(_))) => Err(error),
            Err(_) => Ok(None),
        }
    };
    let Some(mut newest) = ask(Freshness::AsOfDay)? else {
        return Ok(());
    };
    let older: Vec<String> = newest
        .iter()
        .filter(|source| source.newest.is_none())
        .map(|source| source.source.clone())
        .collect();
    if !older.is_empty() {
        let Some(before) = ask(Freshness::Before(&older))? else {
            return Ok(());
        };
        for source in &mut newest {
            if let Some(found) = before.iter().find(|found| found.source == source.source) {
                source.newest = found.newest;
            }
        }
    }
    for warning in warnings(&newest, plan.time.as_of, &plan.project.time_zone) {
        events.warn(&format!("warning: {warning}"));
    }
    Ok(())
}

/// [`check`] for the latest report of `reports` (a comparison's current period, a series'
/// last month).
pub fn check_reports(
    driver: &mut dyn Driver,
    reports: &Reports<'_>,
    dialect: &Dialect,
    target: Option<&str>,
    events: &EventSink,
) -> Result<(), Error> {
    let latest = match reports {
        Reports::Single(plan) => Some(plan.as_ref()),
        Reports::Series(periods, _) => periods
            .iter()
            .map(|(_, plan)| plan)
            .max_by_key(|plan| plan.time.as_of),
    };
    match latest {
        Some(plan) => check(driver, plan, dialect, target, events),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::{Newest, warnings};
    use chrono::NaiveDate;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn at(y: i32, m: u32, d: u32, h: u32) -> Option<chrono::NaiveDateTime> {
        day(y, m, d).and_hms_opt(h, 0, 0)
    }

    #[test]
    fn a_source_ending_before_the_as_of_day_is_named_with_its_lag() {
        let newest = [
            Newest {
                source: "events".into(),
                newest: at(2026, 9, 2, 12),
            },
            Newest {
                source: "orders".into(),
                newest: at(2026, 10, 31, 23),
            },
            Newest {
                source: "logins".into(),
                newest: at(2026, 10, 30, 8),
            },
            Newest {
                source: "refunds".into(),
                newest: None,
            },
        ];
        assert_eq!(
            warnings(&newest, day(2026, 10, 31), "UTC"),
            [
                "events: newest row 2026-09-02, 59 days before the as-of day 2026-10-31",
                "logins: newest row 2026-10-30, 1 day before the as-of day 2026-10-31",
                "refunds: no rows before the end of the as-of day 2026-10-31",
            ]
        );
    }

    #[test]
    fn the_newest_row_is_dated_in_the_project_time_zone() {
        // 2026-10-31 02:00 UTC is still October 30 in New York.
        let newest = [Newest {
            source: "events".into(),
            newest: at(2026, 10, 31, 2),
        }];
        assert!(warnings(&newest, day(2026, 10, 31), "UTC").is_empty());
        assert_eq!(
            warnings(&newest, day(2026, 10, 31), "America/New_York"),
            ["events: newest row 2026-10-30, 1 day before the as-of day 2026-10-31"]
        );
    }
}
