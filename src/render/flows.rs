//! Flow KPIs (`flow: entered | left | retained | net_change`), read from the membership
//! history `segc snapshot` records: per reported row and member of any of its intervals
//! near the period, whether they entered or left during it and whether they were members
//! the day before it and on its last day; then per row, the sums.

use chrono::{Days, NaiveDate};
use serde::Serialize;

use crate::error::Error;
use crate::ir::KpiKind;
use crate::plan::statement::{Kind, Statement};
use crate::plan::times::TimeValue;

use super::Names;
use super::alias::Alias;
use super::expr::Sql;

/// A stage the statement adds before its result: flows, timed KPIs.
#[derive(Serialize)]
pub(super) struct Stage {
    name: String,
    comment: &'static str,
    sql: String,
}

impl Stage {
    pub(super) fn new(name: String, comment: &'static str, sql: String) -> Stage {
        Stage { name, comment, sql }
    }
}

/// Whether the statement computes a flow KPI (reported, or read by a ratio).
pub fn has_flows(statement: &Statement<'_>) -> bool {
    let plan = statement.plan();
    plan.computed_kpis
        .iter()
        .chain(&plan.kpis)
        .any(|id| matches!(plan.project.kpi(*id).kind, KpiKind::Flow(_)))
}

/// The history table a project's reports read: `history_table:` (set from the target's
/// own setting by the command line), else the default.
pub fn history_table(project: &crate::ir::Project) -> Vec<String> {
    project
        .history_table
        .as_deref()
        .unwrap_or(crate::history::DEFAULT_TABLE)
        .split('.')
        .map(str::to_string)
        .collect()
}

pub(super) fn stages(
    sql: &mut Sql<'_, '_>,
    statement: &Statement<'_>,
    names: &Names<'_>,
) -> Result<Option<Vec<Stage>>, Error> {
    if statement.membership.is_none() || !has_flows(statement) {
        return Ok(None);
    }
    // Reports and series only: an overlap, an explanation or a snapshot reads no KPI values.
    if !matches!(statement.kind, Kind::Report | Kind::Series(_)) {
        return Ok(None);
    }
    // Each period's days: the one before it, its first and its last (spine columns in a
    // series).
    let periods = &statement.periods;
    let day = |sql: &mut Sql<'_, '_>, pick: fn(&crate::plan::Plan<'_>) -> NaiveDate| {
        sql.time_value(&periods.each(|plan| TimeValue::Date(pick(plan))))
    };
    let p0 = day(sql, |plan| plan.time.period.0)?;
    let p1 = day(sql, |plan| plan.time.period.1)?;
    let pb = day(sql, |plan| {
        let first = plan.time.period.0;
        first.checked_sub_days(Days::new(1)).unwrap_or(first)
    })?;
    let series = periods.is_series();
    let spine = names.alias(Alias::Spine);
    let period = |alias: &str| {
        if series {
            format!("{alias}.{}, ", names.q("segc_period"))
        } else {
            String::new()
        }
    };
    let plan = statement.plan();
    let q = |name: &str| names.q(name);
    let (h, s) = (names.alias(Alias::History), names.alias(Alias::Segments));
    let column = |name: &str| format!("{h}.{}", q(name));
    let (from, to) = (column("valid_from"), column("valid_to"));
    let history_project = sql.same_string_as(column("project"), &plan.project.name)?;
    let history_segment = sql.same_strings(column("segment"), format!("{s}.{}", q("segment")))?;
    let user = sql.exact_string(column("user_key"))?;
    let flag = |condition: String, name: &str| {
        format!(
            "MAX(CASE WHEN {condition} THEN 1 ELSE 0 END) AS {}",
            q(name)
        )
    };
    let member_on = |day: &str| format!("{from} <= {day} AND ({to} IS NULL OR {to} > {day})");
    let users = format!(
        "SELECT {by_period}{s}.{row},\n    {},\n    {},\n    {},\n    {}\n  \
         FROM {segments} AS {s}\n  {spine_join}JOIN {history} AS {h} ON {history_project} AND {history_segment}\n  \
         WHERE {from} <= {p1} AND ({to} IS NULL OR {to} >= {p0})\n  \
         GROUP BY {by_period}{s}.{row}, {user}",
        flag(format!("{from} >= {p0} AND {from} <= {p1}"), "entered"),
        flag(format!("{to} >= {p0} AND {to} <= {p1}"), "left"),
        flag(member_on(&pb), "segc_at_start"),
        flag(member_on(&p1), "segc_at_end"),
        by_period = period(&spine),
        spine_join = if series {
            format!("CROSS JOIN {} AS {spine}\n  ", q("segc_spine"))
        } else {
            String::new()
        },
        row = q("segc_row"),
        segments = q("segc_segments"),
        history = names.dialect.quote_path(&history_table(plan.project)),
    );
    let x = names.alias(Alias::Flows);
    let sum = |name: &str| format!("SUM({x}.{})", q(name));
    let flows = format!(
        "SELECT {by_period}{x}.{row}, {} AS {}, {} AS {}, SUM({x}.{start} * {x}.{end}) AS {}, {} - {} AS {}\n  \
         FROM {users} AS {x}\n  GROUP BY {by_period}{x}.{row}",
        sum("entered"),
        q("entered"),
        sum("left"),
        q("left"),
        q("retained"),
        sum("segc_at_end"),
        sum("segc_at_start"),
        q("net_change"),
        by_period = period(&x),
        row = q("segc_row"),
        start = q("segc_at_start"),
        end = q("segc_at_end"),
        users = q("segc_flow_users"),
    );
    Ok(Some(vec![
        Stage {
            name: q("segc_flow_users"),
            comment: "per reported row and user in its history: entered or left during the period, member the day before it and on its last day",
            sql: users,
        },
        Stage {
            name: q("segc_flows"),
            comment: "flow KPIs per reported row",
            sql: flows,
        },
    ]))
}
