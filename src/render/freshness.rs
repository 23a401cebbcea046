//! The freshness check of `run` and `explain`: one statement asking every timed fact source
//! a report reads for its newest row before the report's end (see [`crate::freshness`]).

use minijinja::Value;

use crate::dialect::Dialect;
use crate::error::Error;
use crate::plan::Plan;
use crate::plan::times::Periods;

/// The result column naming the source of a row of the freshness statement.
pub const SOURCE_COLUMN: &str = "segc_source";
/// The result column holding the source's newest time before the end (NULL: no row).
pub const NEWEST_COLUMN: &str = "segc_newest";

/// `SELECT 'events' AS segc_source, CAST(MAX(time) AS TIMESTAMP) AS segc_newest FROM …
/// WHERE time < end`, one per timed fact source `plan` reads, joined with `UNION ALL`;
/// `None` when it reads none.
pub fn render_freshness(
    plan: &Plan<'_>,
    dialect: &Dialect,
    target: Option<&str>,
) -> Result<Option<String>, Error> {
    let mut sources: Vec<crate::ir::SourceId> = Vec::new();
    for pass in &plan.fact_passes {
        if plan.time_column(pass.source).is_some() && !sources.contains(&pass.source) {
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
            let end = sql.timestamp(plan.end_instant())?;
            let mut selects = Vec::new();
            for id in sources {
                let source = plan.project.source(id);
                let time = dialect.quote_identifier(plan.time_column(id).unwrap_or_default());
                let newest = sql.call(
                    "cast",
                    &[
                        Value::from(format!("MAX({time})")),
                        Value::from("timestamp"),
                    ],
                )?;
                let table = dialect.quote_path(source.table.resolve(target, &dialect.name));
                selects.push(format!(
                    "SELECT {} AS {}, {newest} AS {} FROM {table} WHERE {time} < {end}",
                    dialect.string_literal(&source.name),
                    dialect.quote_identifier(SOURCE_COLUMN),
                    dialect.quote_identifier(NEWEST_COLUMN),
                ));
            }
            Ok(Some(selects.join(" UNION ALL ")))
        },
    )
}
