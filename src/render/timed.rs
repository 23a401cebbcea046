//! KPIs with `membership: timed`: the facts of their attribute count only while the user was
//! a member of the row's segment, read from the membership history; entry is moved to 00:00
//! of the day before, to absorb the delay of a daily recalculation.
//!
//! Per timed KPI, a stage recomputes its attribute per reported row and member over the facts
//! that fall inside one of the member's intervals for the row's segment (a fact counts once,
//! whatever intervals hold it); then one stage aggregates them per row as the KPI does.
//! A fact is held by an interval when its local day (in the project's time zone) is at most
//! one day before `valid_from` and before `valid_to`: the same as comparing its time with
//! 00:00 local of those days.

use chrono::{Days, NaiveDate};
use minijinja::Value;

use crate::error::Error;
use crate::ir::{KpiAggregation, KpiKind};
use crate::plan::aggregates::Function;
use crate::plan::statement::{Kind, Statement};
use crate::plan::times::TimeValue;

use super::Names;
use super::alias::Alias;
use super::expr::{Aggregated, ExactColumns, Sql};
use super::flows::{Stage, history_table};

/// The timed KPIs a statement computes, reported or read by a ratio.
pub fn timed_kpis(statement: &Statement<'_>) -> Vec<crate::ir::KpiId> {
    let plan = statement.plan();
    let mut ids: Vec<crate::ir::KpiId> = plan
        .computed_kpis
        .iter()
        .chain(&plan.kpis)
        .copied()
        .filter(|id| plan.project.kpi(*id).timed)
        .collect();
    ids.sort_by_key(|id| id.0);
    ids.dedup();
    ids
}

/// The column of the timed stage holding a KPI's value.
pub(super) fn column(names: &Names<'_>, kpi: &crate::ir::Kpi) -> String {
    names.q(&kpi.name)
}

pub(super) fn stages(
    sql: &mut Sql<'_, '_>,
    statement: &Statement<'_>,
    names: &Names<'_>,
) -> Result<Vec<Stage>, Error> {
    let kpis = timed_kpis(statement);
    if kpis.is_empty() || statement.membership.is_none() {
        return Ok(Vec::new());
    }
    // Reports and series only: an overlap, an explanation or a snapshot reads no KPI values.
    if !matches!(statement.kind, Kind::Report | Kind::Series(_)) {
        return Ok(Vec::new());
    }
    let plan = statement.plan();
    let project = plan.project;
    let q = |name: &str| names.q(name);
    let periods = &statement.periods;
    let mut stages = Vec::new();
    // Each period's bounds, read from the member's row (its spine columns in a series): the
    // facts from its first day's start to the start of the day after it, and its days.
    let clock = &plan.clock;
    let bounds = {
        let mut read = sql.reading_spine_from(Alias::Members);
        let instant = |day: NaiveDate| TimeValue::Instant(clock.instant(day));
        Bounds {
            start: read.time_value(&periods.each(|each| instant(each.time.period.0)))?,
            end: read.time_value(&periods.each(|each| {
                let last = each.time.period.1;
                instant(last.checked_add_days(Days::new(1)).unwrap_or(last))
            }))?,
            first: read.time_value(&periods.each(|each| TimeValue::Date(each.time.period.0)))?,
            last: read.time_value(&periods.each(|each| TimeValue::Date(each.time.period.1)))?,
            period: sql.period_key(Alias::Members),
        }
    };
    let members = names.alias(Alias::Members);
    let mut joins = Vec::new();
    let mut aggregates = Vec::new();
    let mut exact = ExactColumns::default();
    if bounds.period.is_some() {
        exact.keep(q("segc_period"));
    }
    exact.keep(q("segc_row"));
    for (index, id) in kpis.iter().enumerate() {
        let kpi = project.kpi(*id);
        let KpiKind::Aggregate {
            aggregation,
            of: Some(of),
            ..
        } = &kpi.kind
        else {
            continue;
        };
        let aggregate = statement
            .passes
            .iter()
            .flat_map(|pass| pass.aggregates.iter().map(move |a| (pass, a)))
            .find(|(_, aggregate)| aggregate.attribute == *of)
            .ok_or_else(|| Error::Render(format!("no fact pass computes `{}`", kpi.name)))?;
        let name = q(&format!("segc_timed_{}", index + 1));
        let stage_sql = member_values(sql, names, aggregate, &bounds)?;
        stages.push(Stage::new(
            name.clone(),
            "a timed KPI's attribute per row and member, over the facts while a member",
            stage_sql,
        ));
        let alias = names.dialect.quote_identifier(&format!("t{}", index + 1));
        joins.push(format!(
            "LEFT JOIN {name} AS {alias} ON {alias}.{row} = {members}.{row} AND {alias}.{user} = {members}.{user}{same_period}",
            same_period = match &bounds.period {
                Some(_) => format!(" AND {alias}.{p} = {members}.{p}", p = q("segc_period")),
                None => String::new(),
            },
            row = q("segc_row"),
            user = q("segc_user"),
        ));
        let value = if aggregate.1.zero_when_empty {
            format!("COALESCE({alias}.{}, 0)", q("segc_value"))
        } else {
            format!("{alias}.{}", q("segc_value"))
        };
        // An average is fractional whatever it averages.
        let whole = aggregate.1.whole && aggregate.1.function != Function::Avg;
        let spelled = match aggregation {
            // Fractional numbers add exactly, in pieces, as every sum does.
            KpiAggregation::Sum => sql.aggregate(Function::Sum, value, false, whole, None)?,
            KpiAggregation::Avg => sql.aggregate(Function::Avg, value, false, whole, None)?,
            _ => {
                let function = match aggregation {
                    KpiAggregation::Min => "MIN",
                    _ => "MAX",
                };
                let value = sql.call("cast", &[Value::from(value), Value::from("double")])?;
                Aggregated::Plain(format!("{function}({value})"))
            }
        };
        for (spelled, alias) in exact.items(sql, column(names, kpi), spelled)? {
            aggregates.push(format!("{spelled} AS {alias}"));
        }
    }
    let select = format!(
        "SELECT {by_period}{members}.{row},\n    {}\n  FROM {segment_members} AS {members}\n  {}\n  GROUP BY {by_period}{members}.{row}",
        aggregates.join(",\n    "),
        joins.join("\n  "),
        by_period = bounds.by_period(),
        row = q("segc_row"),
        segment_members = q("segc_segment_members"),
    );
    stages.push(Stage::new(
        q("segc_timed_kpis"),
        "timed KPIs per reported row, over its members",
        exact.around(sql, select)?,
    ));
    Ok(stages)
}

/// A period's bounds as the timed stages read them from a member's row.
struct Bounds {
    /// The first instant of the period, and the start of the day after it.
    start: String,
    end: String,
    /// The period's first and last days.
    first: String,
    last: String,
    /// The member's period column, in a series.
    period: Option<String>,
}

impl Bounds {
    /// The period column and a comma, to lead a SELECT or GROUP BY list of a series.
    fn by_period(&self) -> String {
        self.period
            .as_ref()
            .map(|period| format!("{period}, "))
            .unwrap_or_default()
    }
}

/// One timed KPI's attribute per reported row and member: its aggregate over the member's
/// facts inside the period's bounds that one of the member's intervals for the row's
/// segment holds.
fn member_values(
    sql: &mut Sql<'_, '_>,
    names: &Names<'_>,
    (pass, aggregate): (
        &crate::plan::statement::PassStage,
        &crate::plan::aggregates::FactAggregate,
    ),
    bounds: &Bounds,
) -> Result<String, Error> {
    let q = |name: &str| names.q(name);
    let project = names.project;
    let (m, s, f, h) = (
        names.alias(Alias::Members),
        names.alias(Alias::Segments),
        names.alias(Alias::Facts),
        names.alias(Alias::History),
    );
    if aggregate.nth.is_some() {
        return Err(Error::Usage(
            "`membership: timed` does not take an attribute of ordered facts (first, last, nth)"
                .into(),
        ));
    }
    let Some(time) = &pass.time else {
        return Err(Error::Render(
            "a timed KPI needs a timed fact source".into(),
        ));
    };
    let time = format!("{f}.{}", q(time));
    let value = sql
        .reading_spine_from(Alias::Members)
        .fact_aggregate(aggregate, "NULL")?;
    let mut exact = ExactColumns::default();
    if bounds.period.is_some() {
        exact.keep(q("segc_period"));
    }
    exact.keep(q("segc_row"));
    exact.keep(q("segc_user"));
    let value: Vec<String> = exact
        .items(sql, q("segc_value"), value)?
        .into_iter()
        .map(|(value, alias)| format!("{value} AS {alias}"))
        .collect();
    let user_text = sql.key_text(
        project.source(project.users_source()),
        format!("{m}.{}", q("segc_user")),
    )?;
    let same_project = sql.same_string_as(format!("{h}.{}", q("project")), &project.name)?;
    let same_segment = sql.same_strings(
        format!("{h}.{}", q("segment")),
        format!("{s}.{}", q("segment")),
    )?;
    let same_user = sql.same_strings(format!("{h}.{}", q("user_key")), user_text)?;
    let fact_user = sql.key(
        project.source(pass.source),
        format!("{f}.{}", q(&pass.user_key)),
    )?;
    let (p0, p1, start, end) = (&bounds.first, &bounds.last, &bounds.start, &bounds.end);
    // Dates are local days: those of the period.
    let date = project.time_is_date(pass.source);
    let time_in_period = match date {
        true => format!("{time} >= {p0} AND {time} <= {p1}"),
        false => format!("{time} >= {start} AND {time} < {end}"),
    };
    let (from, to) = (
        format!("{h}.{}", q("valid_from")),
        format!("{h}.{}", q("valid_to")),
    );
    // Entry at 00:00 of the day before `valid_from` and exit at 00:00 of `valid_to`, local
    // time: the fact's local day is at most one day before the first, and before the second.
    let local_day = sql.when_day(&time, date)?;
    let entered = sql.call(
        "days_between",
        &[Value::from(local_day.clone()), Value::from(from.clone())],
    )?;
    let held = format!(
        "EXISTS (SELECT 1 FROM {history} AS {h}\n      \
         WHERE {same_project} AND {same_segment} AND {same_user}\n        AND {from} <= {p1} AND ({to} IS NULL OR {to} >= {p0})\n        \
         AND {entered} <= 1\n        AND ({to} IS NULL OR {local_day} < {to}))",
        history = names.dialect.quote_path(&history_table(project)),
    );
    let select = format!(
        "SELECT {by_period}{m}.{row}, {m}.{user}, {value}\n  \
         FROM {segment_members} AS {m}\n  JOIN {segments} AS {s} ON {s}.{row} = {m}.{row}\n  \
         JOIN {table} AS {f} ON {fact_user} = {m}.{user}\n  \
         WHERE {time_in_period}\n    AND {held}\n  \
         GROUP BY {by_period}{m}.{row}, {m}.{user}",
        by_period = bounds.by_period(),
        row = q("segc_row"),
        user = q("segc_user"),
        value = value.join(", "),
        segment_members = q("segc_segment_members"),
        segments = q("segc_segments"),
        table = names.table(pass.source),
    );
    exact.around(sql, select)
}
