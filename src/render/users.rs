//! Spells the users stage: the user table read before the as-of instant, its dimensions
//! joined, point-in-time columns and rows of sources keeping history.

use crate::render::alias::Alias;
use serde::Serialize;

use crate::error::Error;
use crate::ir::{History, ValueType};
use crate::plan::statement::{DimensionJoin, Statement, UserColumn};

use super::expr::Sql;
use super::{Item, Names, comment_text};

#[derive(Serialize)]
pub(super) struct Join {
    table: String,
    alias: String,
    on: String,
}

#[derive(Serialize)]
pub(super) struct UsersStage {
    columns: Vec<Item>,
    table: String,
    joins: Vec<Join>,
    filter: String,
    origin: String,
}

/// The users stage, and the as-of instant as the statement spells it (per period in a
/// series), which later stages compare with too.
pub(super) fn users(
    sql: &mut Sql<'_, '_>,
    statement: &Statement<'_>,
    names: &Names<'_>,
) -> Result<(UsersStage, String), Error> {
    let stage = &statement.users;
    let project = statement.plan().project;
    let q = |name: &str| names.q(name);
    let user_key = sql.key(
        project.source(stage.source),
        format!("{}.{}", names.alias(Alias::Users), q(&stage.key)),
    )?;
    let mut columns = vec![Item::new(user_key, q("segc_user"))];
    // The as-of instant (per period in a series): users, point-in-time columns and rows of
    // sources keeping history are read before it.
    let end = sql.time_value(&statement.periods.ends())?;
    for column in &stage.columns {
        columns.push(user_column(sql, statement, names, column, &end)?);
    }
    let joins = stage
        .joins
        .iter()
        .map(|join| dimension_join(sql, project, names, join, &end))
        .collect::<Result<_, _>>()?;
    if stage.keeps_signup {
        columns.push(Item::new(
            format!("{}.{}", names.alias(Alias::Users), q(&stage.signup)),
            q("segc_signup"),
        ));
    }
    if statement.periods.is_series() {
        columns.push(Item::new(
            format!("{}.{}", names.alias(Alias::Spine), q("segc_period")),
            q("segc_period"),
        ));
    }
    // A sign-up date is a local day: its users exist from that day on.
    let signup_end = match project.signup_is_date() {
        true => sql.when_end(true)?,
        false => end.clone(),
    };
    let mut filter = format!(
        "{}.{} < {signup_end}",
        names.alias(Alias::Users),
        q(&stage.signup)
    );
    if let Some(history) = &stage.history {
        let valid = valid_at(sql, names, &names.alias(Alias::Users), history, &end)?;
        filter = format!("{filter} AND {valid}");
    }
    let users = UsersStage {
        columns,
        table: names.table(stage.source),
        joins,
        filter,
        origin: comment_text(&project.source(stage.source).origin.to_string()),
    };
    Ok((users, end))
}

/// An attribute read from the user table or a dimension.
fn user_column(
    sql: &mut Sql<'_, '_>,
    statement: &Statement<'_>,
    names: &Names<'_>,
    column: &UserColumn,
    end: &str,
) -> Result<Item, Error> {
    let project = statement.plan().project;
    let alias = match column.dimension {
        None => names.alias(Alias::Users),
        Some(source) => names.dimension_alias(source),
    };
    let mut value = format!("{alias}.{}", names.q(&column.column));
    // Point in time: a date or timestamp of a user or dimension row records when something
    // happened, so one at or after the as-of instant is not known yet.
    let known_before = match column.known_before {
        Some(ValueType::Timestamp) => Some(end.to_string()),
        Some(_) => Some(sql.time_value(&statement.periods.end_days())?),
        None => None,
    };
    let bounded = known_before.is_some();
    if let Some(end) = known_before {
        value = format!("CASE WHEN {value} < {end} THEN {value} END");
    }
    if column.as_date && bounded {
        value = sql.local_date_before_end(&value)?;
    } else if column.as_date {
        value = sql.local_date(&value)?;
    } else if column.flag {
        value = sql.boolean_flag(&value);
    }
    let name = &project.attribute(column.attribute).name;
    Ok(Item::new(value, names.q(name)))
}

/// A dimension's join: its key equals the user table's column, both compared as the
/// dimension's key type says (exactly for strings).
fn dimension_join(
    sql: &mut Sql<'_, '_>,
    project: &crate::ir::Project,
    names: &Names<'_>,
    join: &DimensionJoin,
    end: &str,
) -> Result<Join, Error> {
    let q = |name: &str| names.q(name);
    let alias = names.dimension_alias(join.source);
    let source = project.source(join.source);
    let mut on = match &join.keys {
        Some((key, users_column)) => {
            let key = sql.key(source, format!("{alias}.{}", q(key)))?;
            let users_column = sql.key(
                source,
                format!("{}.{}", names.alias(Alias::Users), q(users_column)),
            )?;
            format!("{key} = {users_column}")
        }
        None => "1 = 1".into(),
    };
    if let Some(history) = &join.history {
        let valid = valid_at(sql, names, &alias, history, end)?;
        on = format!("{on} AND {valid}");
    }
    Ok(Join {
        table: names.table(join.source),
        alias,
        on,
    })
}

/// A source keeping history contributes the row valid at the as-of instant `end`: valid from
/// before it, and not ended before it. Validity dates are local days: the row valid on the
/// as-of day, from a day up to it and not ended by the day after it.
fn valid_at(
    sql: &mut Sql<'_, '_>,
    names: &Names<'_>,
    alias: &str,
    history: &History,
    end: &str,
) -> Result<String, Error> {
    let from = format!("{alias}.{}", names.q(&history.valid_from));
    let to = format!("{alias}.{}", names.q(&history.valid_to));
    let end = match history.value_type {
        ValueType::Date => sql.when_end(true)?,
        _ => end.to_string(),
    };
    Ok(format!(
        "{from} < {end} AND ({to} IS NULL OR {to} >= {end})"
    ))
}
