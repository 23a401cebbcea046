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
    /// In a series whose users and dimensions keep no history: each user read and joined to
    /// its dimensions once, in a derived table before the periods (the `columns` then read
    /// it, bounding a point-in-time value by each period's end), instead of each user's
    /// every period joined to the dimensions. DuckDB joined the accounts to 10.4 million user-months, building its hash
    /// table on them, where 1,000,000 users suffice.
    once: Option<Once>,
}

/// The derived table of the users once ([`UsersStage::once`]).
#[derive(Serialize)]
pub(super) struct Once {
    columns: Vec<Item>,
    /// `OFFSET 0`, which keeps the derived table whole (the dialect's `fenced_users`).
    fenced: bool,
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
    // Each column, and whether it bounds a value the derived table of the users once reads
    // (then it depends on the period, and stays outside).
    let mut columns = vec![(Item::new(user_key, q("segc_user")), false)];
    // The as-of instant (per period in a series): users, point-in-time columns and rows of
    // sources keeping history are read before it.
    let end = sql.time_value(&statement.periods.ends())?;
    // In a series whose users and dimensions keep no history, each user is read with its
    // dimensions once, before the periods: a point-in-time column's value is read there and
    // bounded by each period's end after.
    let once = statement.periods.is_series()
        && stage.history.is_none()
        && stage.joins.iter().all(|join| join.history.is_none());
    let mut read_once = Vec::new();
    for (number, column) in stage.columns.iter().enumerate() {
        let alias = match column.dimension {
            None => names.alias(Alias::Users),
            Some(source) => names.dimension_alias(source),
        };
        let mut value = sql.as_stored(
            format!("{alias}.{}", names.q(&column.column)),
            column.stored,
        )?;
        let bounds = once && column.known_before.is_some();
        if bounds {
            let raw = q(&format!("segc_raw_{number}"));
            read_once.push(Item::new(value, raw.clone()));
            value = format!("{}.{raw}", names.alias(Alias::Users));
        }
        columns.push((
            user_column(sql, statement, names, column, value, &end)?,
            bounds,
        ));
    }
    let joins = stage
        .joins
        .iter()
        .map(|join| dimension_join(sql, project, names, join, &end))
        .collect::<Result<_, _>>()?;
    if stage.keeps_signup {
        columns.push((
            Item::new(
                format!("{}.{}", names.alias(Alias::Users), q(&stage.signup)),
                q("segc_signup"),
            ),
            false,
        ));
    }
    // The columns that do not depend on the period are computed once, the others read the
    // raw values the derived table keeps.
    let mut inner = Vec::new();
    let mut columns: Vec<Item> = columns
        .into_iter()
        .map(|(item, bounded)| match once && !bounded {
            true => {
                let read = format!("{}.{}", names.alias(Alias::Users), item.alias);
                let outer = Item::new(read, item.alias.clone());
                inner.push(item);
                outer
            }
            false => item,
        })
        .collect();
    let once = once.then(|| {
        let signup = q("segc_signup_at");
        inner.append(&mut read_once);
        inner.push(Item::new(
            format!("{}.{}", names.alias(Alias::Users), q(&stage.signup)),
            signup.clone(),
        ));
        (
            Once {
                columns: inner,
                fenced: names.dialect.capabilities.fenced_users,
            },
            signup,
        )
    });
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
    let signup = match &once {
        Some((_, signup)) => signup.clone(),
        None => q(&stage.signup),
    };
    let mut filter = format!("{}.{signup} < {signup_end}", names.alias(Alias::Users));
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
        once: once.map(|(once, _)| once),
    };
    Ok((users, end))
}

/// An attribute read from the user table or a dimension, whose column reads `value`.
fn user_column(
    sql: &mut Sql<'_, '_>,
    statement: &Statement<'_>,
    names: &Names<'_>,
    column: &UserColumn,
    mut value: String,
    end: &str,
) -> Result<Item, Error> {
    let project = statement.plan().project;
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
pub(super) fn valid_at(
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
