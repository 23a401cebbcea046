//! Spells the fact passes: one per fact source, each aggregate in one pass over its rows
//! (after numbering them when ordered facts need it), and the attributes stage reading them.

use crate::render::alias::{self, Alias};
use serde::Serialize;

use crate::error::Error;
use crate::plan::aggregates::{FactValue, Function};
use crate::plan::statement::{PassStage, Statement};

use super::expr::{Aggregated, ExactColumns, ExactLayers, Sql};
use super::{Item, Names, comment_text};

/// A pass's group per user and day ([`Sql::fact_days`]).
#[derive(Serialize)]
struct Days {
    /// The day a fact is grouped by.
    key: String,
    /// Each aggregate over a day's facts.
    aggregates: Vec<Item>,
}

#[derive(Serialize)]
pub(super) struct Pass {
    name: String,
    /// For a series: the period column to group by.
    period: Option<String>,
    alias: String,
    /// How the attributes stage joins the pass to each user (and period).
    on: String,
    source: String,
    origin: String,
    table: String,
    user_key: String,
    filter: String,
    /// Joins the users stage, for windows that count from each user's sign-up.
    join_users: bool,
    /// Rank columns of ordered facts: the pass then reads a numbered copy of its rows.
    ranks: Vec<Item>,
    aggregates: Vec<Item>,
    /// With a distinct count of days in a window: the facts grouped per user and day first
    /// (then `aggregates` combine a user's days).
    days: Option<Days>,
    /// A series' pass by slices of time (render/buckets.rs): its stages, spelled whole.
    bucketed: Option<String>,
    /// The layers around the pass that put its exact sums together.
    exact: Option<ExactLayers>,
}

/// Every pass, and the attributes stage's columns: the user, the user and dimension
/// columns, then each pass's aggregates (0 for a user without facts where that is the rule).
pub(super) fn passes(
    sql: &mut Sql<'_, '_>,
    statement: &Statement<'_>,
    names: &Names<'_>,
    end: &str,
) -> Result<(Vec<Pass>, Vec<Item>), Error> {
    let project = statement.plan().project;
    let q = |name: &str| names.q(name);
    let mut attributes = vec![Item::new(
        format!("{}.{}", names.alias(Alias::Users), q("segc_user")),
        q("segc_user"),
    )];
    for column in &statement.users.columns {
        let name = &project.attribute(column.attribute).name;
        attributes.push(Item::new(
            format!("{}.{}", names.alias(Alias::Users), q(name)),
            q(name),
        ));
    }
    let mut passes = Vec::new();
    let users = names.alias(Alias::Users);
    for stage in &statement.passes {
        let (pass, running) = pass(sql, statement, names, stage, end)?;
        for (index, aggregate) in stage.aggregates.iter().enumerate() {
            let name = &project.attribute(aggregate.attribute).name;
            let value = format!("{}.{}", pass.alias, q(name));
            // A pass joined on a range of periods holds a window's value in its own period
            // only.
            let value = match &running {
                Some(running) if !running[index] => {
                    let period = q("segc_period");
                    format!(
                        "CASE WHEN {}.{period} = {users}.{period} THEN {value} END",
                        pass.alias
                    )
                }
                _ => value,
            };
            let value = if aggregate.zero_when_empty {
                format!("COALESCE({value}, 0)")
            } else {
                value
            };
            attributes.push(Item::new(value, q(name)));
        }
        passes.push(pass);
    }
    let days = local_days(sql, &attributes, names)?;
    attributes.extend(days);
    Ok((passes, attributes))
}

/// The local date of each stored timestamp attribute a needed formula's `days_between`
/// reads ([`crate::plan::Plan::local_days`]), as a column of the attributes stage: its
/// conversion is a CASE over the zone's changes, which every formula, score and condition
/// reading it would otherwise spell again (20 copies of it per user made a DuckDB report's
/// SQL 13 times larger and its planning 0.5 s longer). The renderer then reads the column
/// ([`Sql::set_local_days`]).
fn local_days(
    sql: &mut Sql<'_, '_>,
    attributes: &[Item],
    names: &Names<'_>,
) -> Result<Vec<Item>, Error> {
    let plan = sql.plan();
    let mut items = Vec::new();
    let mut columns = Vec::new();
    for &id in &plan.local_days {
        let name = names.q(&plan.project.attribute(id).name);
        // A needed formula's attributes are needed: the stage holds each.
        let Some(item) = attributes.iter().find(|item| item.alias == name) else {
            continue;
        };
        let column = names.q(&format!("segc_day_{}", id.0));
        // An aggregate of facts is a time before the report's end; a column of a user may be
        // one known in advance.
        let day = match plan.project.attribute(id).kind {
            crate::ir::AttributeKind::Aggregate { .. } => sql.local_date_before_end(&item.sql)?,
            _ => sql.local_date(&item.sql)?,
        };
        items.push(Item::new(day, column.clone()));
        columns.push((id, column));
    }
    sql.set_local_days(columns);
    Ok(items)
}

/// The pass of `stage`, and with [`super::buckets::Totals`], which of its aggregates are
/// totals over all history.
fn pass(
    sql: &mut Sql<'_, '_>,
    statement: &Statement<'_>,
    names: &Names<'_>,
    stage: &PassStage,
    end: &str,
) -> Result<(Pass, Option<Vec<bool>>), Error> {
    let project = statement.plan().project;
    let q = |name: &str| names.q(name);
    let users = names.alias(Alias::Users);
    let source = project.source(stage.source);
    let name = q(&format!("segc_facts_{}", source.name));
    let user_key = sql.key(
        source,
        format!("{}.{}", names.alias(Alias::Facts), q(&stage.user_key)),
    )?;
    let alias = q(&alias::pass(stage.number));
    let same_user = format!("{alias}.{user} = {users}.{user}", user = q("segc_user"));
    let same_period = format!(
        "{same_user} AND {alias}.{period} = {users}.{period}",
        period = q("segc_period")
    );
    if let Some(bucketed) = super::buckets::bucketed(sql, statement, names, stage, &name)? {
        let (on, running) = match bucketed.totals {
            // The row whose totals hold at the period's end.
            Some(totals) => (
                format!(
                    "{same_user} AND {alias}.{} <= {end} AND {end} < {alias}.{}",
                    q("segc_from"),
                    q("segc_until"),
                    end = totals.end
                ),
                Some(totals.running),
            ),
            None => (same_period, None),
        };
        // Its stages are spelled whole (`bucketed`); the period is in the join.
        let pass = Pass {
            name,
            period: None,
            on,
            alias,
            source: source.name.clone(),
            origin: comment_text(&source.origin.to_string()),
            table: names.table(stage.source),
            user_key,
            filter: String::new(),
            join_users: false,
            ranks: Vec::new(),
            aggregates: Vec::new(),
            days: None,
            bucketed: Some(bucketed.sql),
            exact: None,
        };
        return Ok((pass, running));
    }
    let reads_before = sql.spine_reads();
    let mut filter = Vec::new();
    if let Some(time) = &stage.time {
        let column = format!("{}.{}", names.alias(Alias::Facts), q(time));
        let date = project.time_is_date(stage.source);
        if let Some(bounds) = &stage.lower_bounds {
            let start = sql.when_bound(bounds, date)?;
            filter.push(format!("{column} >= {start}"));
        }
        let until = match date {
            true => sql.when_end(true)?,
            false => end.to_string(),
        };
        filter.push(format!("{column} < {until}"));
    }
    // Inside the numbered copy the users stage is `u`; outside it, the copy carries the
    // sign-up instant as a column.
    let inner_signup = format!("{}.{}", names.alias(Alias::Users), q("segc_signup"));
    let mut ranks = Vec::new();
    for ranked in &stage.ranked {
        let (rank, alias) = sql.fact_rank(ranked, &inner_signup)?;
        ranks.push(Item {
            sql: rank,
            alias,
            comment: comment_text(&project.attribute(ranked.attribute).name),
        });
    }
    // Outside the numbered copy, its rows carry the spine's columns.
    let (signup_here, spine_here) = if ranks.is_empty() {
        (inner_signup, Alias::Spine)
    } else {
        (
            format!("{}.{}", names.alias(Alias::Facts), q("segc_signup")),
            Alias::Facts,
        )
    };
    let sql = &mut sql.reading_spine_from(spine_here);
    let day_alias = |index: usize| q(&format!("segc_daily_{index}"));
    let facts = names.alias(Alias::Facts);
    // Distinct counts of days as bits where the dialect can (no group per user and day);
    // the days are grouped first only when some distinct count of days cannot.
    let ends = statement.periods.ends();
    let mut bits = Vec::new();
    for aggregate in &stage.aggregates {
        bits.push(sql.fact_day_bits(aggregate, &signup_here, &ends)?);
    }
    let days_left = stage.aggregates.iter().zip(&bits).any(|(aggregate, bits)| {
        bits.is_none()
            && aggregate.function == Function::CountDistinct
            && matches!(aggregate.value, FactValue::LocalDay { .. })
    });
    let by_day = match ranks.is_empty() && names.dialect.capabilities.days_first && days_left {
        true => sql.fact_days(&stage.aggregates, &signup_here, &|index| {
            format!("{facts}.{}", day_alias(index))
        })?,
        false => None,
    };
    let mut aggregates = Vec::new();
    let mut exact = ExactColumns::default();
    let mut daily = Vec::new();
    let mut parts = by_day.as_ref().map(|by_day| by_day.parts.iter());
    for (index, aggregate) in stage.aggregates.iter().enumerate() {
        let attribute = project.attribute(aggregate.attribute);
        let comment = comment_text(&format!("{} ({})", attribute.name, attribute.origin));
        let value = match parts.as_mut().and_then(Iterator::next) {
            Some((inner, outer)) => {
                daily.push(Item {
                    sql: inner.clone(),
                    alias: day_alias(index),
                    comment: comment.clone(),
                });
                Aggregated::Plain(outer.clone())
            }
            None => match bits[index].take() {
                Some(bits) => Aggregated::Plain(bits),
                None => sql.fact_aggregate(aggregate, &signup_here)?,
            },
        };
        for (text, alias) in exact.items(sql, q(&attribute.name), value)? {
            aggregates.push(Item {
                sql: text,
                alias,
                comment: comment.clone(),
            });
        }
    }
    let days = by_day.map(|by_day| Days {
        key: by_day.key,
        aggregates: daily,
    });
    // A series' pass over a source without time reads the spine only when a `where` or an
    // ordering depends on the period; otherwise it is computed once for every period.
    let by_period = statement.periods.is_series()
        && (stage.time.is_some()
            || !ranks.is_empty()
            || stage.join_users
            || sql.spine_reads() != reads_before);
    let period = match (by_period, ranks.is_empty()) {
        (false, _) => None,
        (true, true) => Some(format!(
            "{}.{}",
            names.alias(Alias::Spine),
            q("segc_period")
        )),
        (true, false) => Some(format!(
            "{}.{}",
            names.alias(Alias::Facts),
            q("segc_period")
        )),
    };
    let on = if period.is_some() {
        same_period
    } else {
        same_user
    };
    if period.is_some() {
        exact.keep(q("segc_period"));
    }
    exact.keep(q("segc_user"));
    let exact = exact.layers(sql)?;
    let pass = Pass {
        name,
        period,
        on,
        alias,
        source: source.name.clone(),
        origin: comment_text(&source.origin.to_string()),
        table: names.table(stage.source),
        user_key,
        filter: if filter.is_empty() {
            "1 = 1".into()
        } else {
            filter.join(" AND ")
        },
        join_users: stage.join_users,
        ranks,
        aggregates,
        days,
        bucketed: None,
        exact,
    };
    Ok((pass, None))
}
