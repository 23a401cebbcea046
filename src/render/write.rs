//! The end of a statement that writes its report (`segc run --materialize`): the report's
//! rows (`segc_result`, one per period and reported row) turned into the results table's long
//! rows, a row per period, reported row and KPI, and inserted there by the same statement.

use minijinja::Value;
use serde::Serialize;

use crate::error::Error;
use crate::ir::KpiType;
use crate::materialize::{WriteSpec, column_names, grain, side};
use crate::plan::statement::Statement;

use super::alias::Alias;
use super::expr::Sql;
use super::{Names, PARENT_COLUMN, PERIOD_COLUMN, SEGMENT_COLUMN};

/// What the template writes after `segc_result`.
#[derive(Serialize)]
pub(super) struct WriteStage {
    /// `INSERT INTO <table> (<columns>)`, laid out by the template before the statement's
    /// WITH or after it, as the dialect wants.
    pub(super) insert: String,
    /// The rows of `segc_written`: per period its number, as-of day, period and side.
    periods: Vec<String>,
    /// The rows of `segc_kpi_names`: per KPI its number and name.
    kpi_names: Vec<String>,
    /// The values inserted, in the table's column order.
    columns: Vec<String>,
}

pub(super) fn stage(
    sql: &mut Sql<'_, '_>,
    statement: &Statement<'_>,
    names: &Names<'_>,
    spec: &WriteSpec<'_>,
) -> Result<WriteStage, Error> {
    let dialect = names.dialect;
    let q = |name: &str| names.q(name);
    let text = |value: &str| names.string(value);
    let Some(membership) = &statement.membership else {
        return Err(Error::Render("only a report can be written".into()));
    };
    let mut periods = Vec::new();
    for (index, plan) in statement.periods.plans().into_iter().enumerate() {
        let (start, end) = plan.time.period;
        periods.push(format!(
            "{index} AS {}, {} AS {}, {} AS {}, {} AS {}, {} AS {}",
            q(PERIOD_COLUMN),
            sql.date(plan.time.as_of)?,
            q("as_of"),
            sql.date(start)?,
            q("period_start"),
            sql.date(end)?,
            q("period_end"),
            text(side(statement.kind, index)),
            q("compare_side"),
        ));
    }
    let kpi_names = membership
        .outputs
        .iter()
        .enumerate()
        .map(|(index, (id, _))| {
            format!(
                "{} AS {}, {} AS {}",
                index + 1,
                q("segc_kpi"),
                text(&names.project.kpi(*id).name),
                q("kpi"),
            )
        })
        .collect();
    let result = names.alias(Alias::Result);
    let kpi = format!("{}.{}", names.alias(Alias::KpiNames), q("segc_kpi"));
    // One CASE per value column: the KPI's value where the row's KPI is one of its type.
    let mut values = |wanted: &[KpiType], type_name: &str| -> Result<String, Error> {
        let mut branches = String::new();
        for (index, (id, value_type)) in membership.outputs.iter().enumerate() {
            if wanted.contains(value_type) {
                let value = format!("{result}.{}", q(&names.project.kpi(*id).name));
                let cast = match value_type {
                    KpiType::Date => sql.call("day_as_timestamp", &[Value::from(value)])?,
                    _ => sql.call("cast", &[Value::from(value), Value::from(type_name)])?,
                };
                branches.push_str(&format!(" WHEN {} THEN {cast}", index + 1));
            }
        }
        if branches.is_empty() {
            sql.call("cast", &[Value::from("NULL"), Value::from(type_name)])
        } else {
            Ok(format!("CASE {kpi}{branches} END"))
        }
    };
    let number = values(&[KpiType::Integer, KpiType::Double], "double")?;
    let string = values(&[KpiType::String], "varchar")?;
    let time = values(&[KpiType::Date, KpiType::Timestamp], "timestamp")?;
    let computed_at = sql.timestamp(spec.computed_at)?;
    let written = names.alias(Alias::Written);
    let from_written = |column: &str| format!("{written}.{}", q(column));
    let columns = vec![
        text(spec.run_id),
        text(&names.project.name),
        from_written("as_of"),
        from_written("period_start"),
        from_written("period_end"),
        text(grain(statement.kind)),
        from_written("compare_side"),
        format!("{result}.{}", q(SEGMENT_COLUMN)),
        format!("{result}.{}", q(PARENT_COLUMN)),
        format!("{}.{}", names.alias(Alias::KpiNames), q("kpi")),
        number,
        string,
        time,
        computed_at,
    ];
    let insert = format!(
        "INSERT INTO {} ({})",
        dialect.quote_path(spec.table),
        column_names()
            .iter()
            .map(|name| q(name))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(WriteStage {
        insert,
        periods,
        kpi_names,
        columns,
    })
}

/// The rows a run replaces in the results table, as a condition: the project and, per period
/// of `reports`, its as-of day, period, grain and side; with `only`, just those segments' and
/// KPIs' rows. Strings compare exactly on every server (no case folding, no padding).
pub fn render_replaced(
    reports: &crate::plan::Reports<'_>,
    dialect: &crate::dialect::Dialect,
    only: &crate::materialize::Only,
) -> Result<String, Error> {
    use crate::plan::Reports;
    use crate::plan::statement::Kind;
    let (plans, kind): (Vec<&crate::plan::Plan<'_>>, Kind) = match reports {
        Reports::Single(plan) => (vec![plan], Kind::Report),
        Reports::Series(periods, shape) => (
            periods.iter().map(|(_, plan)| plan).collect(),
            Kind::Series(*shape),
        ),
    };
    let Some(first) = plans.first() else {
        return Err(Error::Render("nothing to write".into()));
    };
    let env = super::environment(dialect)?;
    let periods = crate::plan::times::Periods::new(first, None);
    super::with_sql(&env, periods, dialect, |sql| {
        let q = |name: &str| dialect.quote_identifier(name);
        let mut keys = Vec::new();
        for (index, plan) in plans.iter().enumerate() {
            let (start, end) = plan.time.period;
            let mut parts = Vec::new();
            for (column, day) in [
                ("as_of", plan.time.as_of),
                ("period_start", start),
                ("period_end", end),
            ] {
                let day = sql.date(day)?;
                parts.push(format!("{} = {day}", q(column)));
            }
            parts.push(sql.same_string_as(q("grain"), grain(kind))?);
            parts.push(sql.same_string_as(q("compare_side"), side(kind, index))?);
            keys.push(format!("({})", parts.join(" AND ")));
        }
        let mut condition = vec![
            sql.same_string_as(q("project"), &first.project.name)?,
            format!("({})", keys.join(" OR ")),
        ];
        for (column, names) in [("segment", &only.segments), ("kpi", &only.kpis)] {
            if let Some(names) = names {
                let alternatives = names
                    .iter()
                    .map(|name| sql.same_string_as(q(column), name))
                    .collect::<Result<Vec<_>, _>>()?;
                condition.push(format!("({})", alternatives.join(" OR ")));
            }
        }
        Ok(condition.join("\n  AND "))
    })
}

/// `project = 'name'` with the project's name compared exactly (no case folding, no padding),
/// for the queries that read segc's own tables: under SQL Server's usual collation a plain
/// `=` would read project `Demo`'s rows as `demo`'s.
pub fn render_of_project(
    plan: &crate::plan::Plan<'_>,
    dialect: &crate::dialect::Dialect,
) -> Result<String, Error> {
    let env = super::environment(dialect)?;
    let periods = crate::plan::times::Periods::new(plan, None);
    super::with_sql(&env, periods, dialect, |sql| {
        sql.same_string_as(dialect.quote_identifier("project"), &plan.project.name)
    })
}

/// The DELETE of the rows a run replaces ([`render_replaced`]) from `table`.
pub fn render_delete(
    dialect: &crate::dialect::Dialect,
    table: &[String],
    replaced: &str,
) -> String {
    format!("DELETE FROM {} WHERE {replaced}", dialect.quote_path(table))
}
