//! The freshness check of `run` and `explain`: a statement asking every timed fact source a
//! report reads for its newest row before the report's end, on the as-of day first and then,
//! for the sources with none that day, over all time (see [`crate::freshness`]).

use minijinja::Value;

use crate::dialect::Dialect;
use crate::error::Error;
use crate::plan::Plan;
use crate::plan::times::Periods;

/// The result column naming the source of a row of the freshness statement.
pub const SOURCE_COLUMN: &str = "segc_source";
/// The result column holding the source's newest time before the end (NULL: no row).
pub const NEWEST_COLUMN: &str = "segc_newest";

/// Which rows the freshness statement reads.
#[derive(Debug, Clone, Copy)]
pub enum Freshness<'a> {
    /// Every timed fact source's rows of the as-of day only: the newest of them is the
    /// source's newest row before the end, if it has one that day. A warehouse that prunes
    /// by time (partitions, sort keys, zone maps) reads one day instead of the table.
    AsOfDay,
    /// The named sources' rows before the end, however old: those without a row on the
    /// as-of day.
    Before(&'a [String]),
}

/// `SELECT 'events' AS segc_source, CAST(MAX(time) AS TIMESTAMP) AS segc_newest FROM …
/// WHERE time < end` (and `time >= ` the as-of day's start for [`Freshness::AsOfDay`]), one
/// per timed fact source `plan` reads, joined with `UNION ALL`; `None` when it reads none.
pub fn render_freshness(
    plan: &Plan<'_>,
    dialect: &Dialect,
    target: Option<&str>,
    rows: Freshness<'_>,
) -> Result<Option<String>, Error> {
    let mut sources: Vec<crate::ir::SourceId> = Vec::new();
    for pass in &plan.fact_passes {
        let named = match rows {
            Freshness::AsOfDay => true,
            Freshness::Before(names) => names
                .iter()
                .any(|name| *name == plan.project.source(pass.source).name),
        };
        if named && plan.time_column(pass.source).is_some() && !sources.contains(&pass.source) {
            sources.push(pass.source);
        }
    }
    if sources.is_empty() {
        return Ok(None);
    }
    super::with_sql(
        &super::environment(dialect)?,
        Periods::new(plan, None),
        dialect,
        |sql| {
            let mut selects = Vec::new();
            for id in sources {
                // A source timed by dates is read by local days.
                let (end, start) = match plan.project.time_is_date(id) {
                    true => (sql.date(plan.time.end_day())?, sql.date(plan.time.as_of)?),
                    false => (
                        sql.timestamp(plan.end_instant())?,
                        sql.timestamp(plan.clock.instant(plan.time.as_of))?,
                    ),
                };
                let start = match rows {
                    Freshness::AsOfDay => Some(start),
                    Freshness::Before(_) => None,
                };
                let source = plan.project.source(id);
                let time = dialect.quote_identifier(plan.time_column(id).unwrap_or_default());
                let newest = match plan.project.time_is_date(id) {
                    true => "day_as_timestamp",
                    false => "utc_timestamp",
                };
                let newest = sql.call(newest, &[Value::from(format!("MAX({time})"))])?;
                let table = dialect.quote_path(source.table.resolve(target, &dialect.name));
                let since = start
                    .as_ref()
                    .map(|start| format!(" AND {time} >= {start}"))
                    .unwrap_or_default();
                selects.push(format!(
                    "SELECT {} AS {}, {newest} AS {} FROM {table} WHERE {time} < {end}{since}",
                    dialect.string_literal(&source.name),
                    dialect.quote_identifier(SOURCE_COLUMN),
                    dialect.quote_identifier(NEWEST_COLUMN),
                ));
            }
            Ok(Some(selects.join(" UNION ALL ")))
        },
    )
}
