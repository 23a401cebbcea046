//! Spells the KPIs of each reported row (per-member percentile columns, aggregates, then the
//! reported values with the type each leaves as) and the counts of `segc explain`.

use crate::render::alias::Alias;
use minijinja::Value;
use serde::Serialize;

use crate::error::Error;
use crate::ir::KpiType;
use crate::plan::output::{EXPLAIN_LEFT_PREFIX, EXPLAIN_PASSING_PREFIX, overlap_column};
use crate::plan::statement::{Membership, Statement};

use super::expr::Sql;
use super::{Item, Names, comment_text};

/// The KPI stages' columns.
#[derive(Default)]
pub(super) struct Kpis {
    /// Per signature: the partial aggregates of the KPIs that decompose.
    pub(super) partials: Vec<Item>,
    /// Per member of a row: the window columns of percentiles computed by ranking.
    pub(super) percentiles: Vec<Item>,
    /// Per row, over its members' rows: the KPIs that do not decompose.
    pub(super) per_member: Vec<Item>,
    /// Per row: the KPIs that decompose, combined from its signatures' partial aggregates.
    pub(super) aggregates: Vec<Item>,
    /// The reported values, cast to the type each leaves as.
    pub(super) outputs: Vec<Item>,
}

pub(super) fn kpis(
    sql: &mut Sql<'_, '_>,
    statement: &Statement<'_>,
    names: &Names<'_>,
    membership: &Membership,
) -> Result<Kpis, Error> {
    let project = statement.plan().project;
    let mut kpis = Kpis::default();
    {
        // Per signature and per member row (members carry the spine's columns).
        let sql = &mut sql.reading_spine_from(Alias::Members);
        for aggregate in &membership.aggregates {
            let kpi = project.kpi(aggregate.kpi);
            for (sql_text, alias) in sql.kpi_partials(aggregate)? {
                kpis.partials.push(Item {
                    sql: sql_text,
                    alias,
                    comment: comment_text(&kpi.name),
                });
            }
            kpis.aggregates.push(Item {
                sql: sql.kpi_combined(aggregate)?,
                alias: names.q(&kpi.name),
                comment: comment_text(&format!("{} ({})", kpi.name, kpi.origin)),
            });
        }
        for aggregate in &membership.percentiles {
            for (sql_text, alias) in sql.percentile_columns(aggregate)? {
                kpis.percentiles.push(Item {
                    sql: sql_text,
                    alias,
                    comment: comment_text(&project.kpi(aggregate.kpi).name),
                });
            }
        }
        for aggregate in &membership.per_member {
            let kpi = project.kpi(aggregate.kpi);
            kpis.per_member.push(Item {
                sql: sql.kpi_aggregate(aggregate)?,
                alias: names.q(&kpi.name),
                comment: comment_text(&format!("{} ({})", kpi.name, kpi.origin)),
            });
        }
    }
    for (id, value_type) in &membership.outputs {
        let kpi = project.kpi(*id);
        let value = sql.kpi_output(*id)?;
        let type_name = match value_type {
            KpiType::Integer => "bigint",
            KpiType::Double => "double",
            KpiType::Date => "date",
            KpiType::Timestamp => "timestamp",
            KpiType::String => "varchar",
        };
        kpis.outputs.push(Item {
            sql: sql.call("cast", &[Value::from(value), Value::from(type_name)])?,
            alias: names.q(&kpi.name),
            comment: comment_text(&format!("{} ({})", kpi.name, kpi.origin)),
        });
    }
    Ok(kpis)
}

/// `segc overlap`: per reported row, its members who are in each reported row (every member
/// for `all_users`), 0 where none are.
pub(super) fn overlap(
    sql: &mut Sql<'_, '_>,
    statement: &Statement<'_>,
    names: &Names<'_>,
    membership: &Membership,
) -> Result<Kpis, Error> {
    let project = statement.plan().project;
    let mut aggregates = Vec::new();
    let mut outputs = Vec::new();
    for row in &membership.rows {
        let column = names.q(&overlap_column(row.ordinal));
        let count = match row.segment {
            None => sql.call("count_rows", &[])?,
            Some(id) => {
                let flag = format!(
                    "CASE WHEN {}.{} = 1 THEN 1 END",
                    names.alias(Alias::Members),
                    super::members::flag_name(statement, names, id)
                );
                sql.call("count", &[Value::from(flag)])?
            }
        };
        let comment = comment_text(&format!("members also in {}", row.name(project)));
        aggregates.push(Item {
            sql: count,
            alias: column.clone(),
            comment: comment.clone(),
        });
        let value = format!("COALESCE({}.{column}, 0)", names.alias(Alias::Kpis));
        outputs.push(Item {
            sql: sql.call("cast", &[Value::from(value), Value::from("bigint")])?,
            alias: column,
            comment,
        });
    }
    Ok(Kpis {
        per_member: aggregates,
        outputs,
        ..Kpis::default()
    })
}

#[derive(Serialize)]
pub(super) struct ExplainStep {
    passing: String,
    passing_alias: String,
    remaining: String,
    remaining_alias: String,
    comment: String,
}

/// `segc explain`: a flag per condition and per prefix of conditions (added to the
/// membership stage's columns), and the counts of its one row.
pub(super) fn explain(
    sql: &mut Sql<'_, '_>,
    statement: &Statement<'_>,
    names: &Names<'_>,
    flags: &mut Vec<Item>,
) -> Result<(Vec<ExplainStep>, String), Error> {
    let q = |name: &str| names.q(name);
    let sql = &mut sql.reading_spine_from(Alias::Attributes);
    let mut steps = Vec::new();
    for step in &statement.explain {
        let number = step.number;
        let passing = sql.condition(&step.condition, Alias::Attributes)?;
        let left = sql.condition(&step.so_far, Alias::Attributes)?;
        for (prefix, condition) in [
            (EXPLAIN_PASSING_PREFIX, passing),
            (EXPLAIN_LEFT_PREFIX, left),
        ] {
            flags.push(Item {
                sql: sql.call("flag", &[Value::from(condition)])?,
                alias: q(&format!("{prefix}_{number}")),
                comment: comment_text(&format!("step {number}")),
            });
        }
        let mut count = |prefix: &str| -> Result<String, Error> {
            let flag = format!(
                "CASE WHEN {}.{} = 1 THEN 1 END",
                names.alias(Alias::Members),
                q(&format!("{prefix}_{number}"))
            );
            let counted = sql.call("count", &[Value::from(flag)])?;
            sql.call("cast", &[Value::from(counted), Value::from("bigint")])
        };
        steps.push(ExplainStep {
            passing: count(EXPLAIN_PASSING_PREFIX)?,
            passing_alias: q(&format!("{EXPLAIN_PASSING_PREFIX}_{number}")),
            remaining: count(EXPLAIN_LEFT_PREFIX)?,
            remaining_alias: q(&format!("{EXPLAIN_LEFT_PREFIX}_{number}")),
            comment: comment_text(&format!("step {number}")),
        });
    }
    let total = sql.call("count_rows", &[])?;
    let total = sql.call("cast", &[Value::from(total), Value::from("bigint")])?;
    Ok((steps, total))
}
