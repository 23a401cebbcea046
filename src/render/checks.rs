//! `segc sources --check`: one read-only statement counting, in the warehouse, the rows that
//! make a report count wrong or leave facts out: keys that repeat, keys that are NULL, and
//! facts whose user is not in the user table (see [`crate::checks`]).

use crate::dialect::Dialect;
use crate::error::Error;
use crate::ir::{Source, SourceRole};
use crate::plan::Plan;
use crate::plan::times::Periods;

use super::Names;

/// The result column naming the source of a check.
pub const CHECK_SOURCE: &str = "segc_source";
/// The result column naming the check (a [`crate::checks::Check`]'s code).
pub const CHECK_NAME: &str = "segc_check";
/// The result column counting the keys a check found (0 where it counts rows alone).
pub const CHECK_KEYS: &str = "segc_keys";
/// The result column counting the rows a check found (NULL where there are none).
pub const CHECK_ROWS: &str = "segc_rows";

/// The check statement, and the queries listing the repeated keys.
#[derive(Debug, Clone)]
pub struct Checks {
    pub statement: String,
    /// Per user table and dimension (by source name): `SELECT key, COUNT(*) … GROUP BY key
    /// HAVING COUNT(*) > 1` over the rows the check counts (not NULL; valid at the as-of
    /// day's end for a source keeping history), grouped as the check groups them.
    pub lists: Vec<(String, String)>,
}

/// `SELECT source, check, keys, rows FROM …` for every check of every source of the
/// project, joined with `UNION ALL`:
/// - the user table and each dimension: its keys held by more than one row (for a source
///   keeping history, more than one row valid at the as-of instant), compared as every
///   stage compares them (exactly, for a string key), and its rows whose key is NULL;
/// - each fact table: its rows whose user key is NULL, and those whose user key is in no
///   row of the user table.
///
/// Beside it, per user table and dimension, the query that lists its repeated keys
/// ([`Checks::lists`]): the same rows, grouped the same way, each key with its rows.
pub fn render_checks(
    plan: &Plan<'_>,
    dialect: &Dialect,
    target: Option<&str>,
) -> Result<Checks, Error> {
    let project = plan.project;
    let names = Names {
        dialect,
        project,
        target,
    };
    let q = |name: &str| dialect.quote_identifier(name);
    let users = project.users_source();
    super::with_sql(
        &super::environment(dialect)?,
        Periods::new(plan, None),
        dialect,
        |sql| {
            let end = sql.timestamp(plan.end_instant())?;
            let count = sql.call("count_rows", &[])?;
            let select = |source: &Source, check: &str, keys: &str, rows: &str| {
                format!(
                    "SELECT {} AS {}, {} AS {}, {keys} AS {}, {rows} AS {}",
                    dialect.string_literal(&source.name),
                    q(CHECK_SOURCE),
                    dialect.string_literal(check),
                    q(CHECK_NAME),
                    q(CHECK_KEYS),
                    q(CHECK_ROWS),
                )
            };
            let mut selects = Vec::new();
            let mut lists = Vec::new();
            for (index, source) in project.sources.iter().enumerate() {
                let table = names.table(crate::ir::SourceId(index));
                let key = format!("{}.{}", q("s"), q(source.key_column()));
                // Its rows without a key: users without facts, dimension rows never
                // joined, facts of no user.
                let null = match source.role {
                    SourceRole::Facts { .. } => crate::checks::Check::NullUserKey,
                    _ => crate::checks::Check::NullKey,
                };
                selects.push(format!(
                    "{} FROM {table} AS {s} WHERE {key} IS NULL",
                    select(source, null.code(), "0", &count),
                    s = q("s"),
                ));
                match &source.role {
                    SourceRole::Users { .. } | SourceRole::Dimension { .. } => {
                        let exact = sql.key(source, key.clone())?;
                        let (check, valid) = match &source.history {
                            Some(history) => (
                                crate::checks::Check::RepeatedAtAsOf,
                                format!(
                                    " AND {}",
                                    super::users::valid_at(sql, &names, &q("s"), history, &end)?
                                ),
                            ),
                            None => (crate::checks::Check::Repeated, String::new()),
                        };
                        // The repeated keys' groups, which the check counts and the listing
                        // lists.
                        let repeated = format!(
                            "FROM {table} AS {s} WHERE {key} IS NOT NULL{valid} GROUP BY {exact} HAVING {count} > 1",
                            s = q("s"),
                        );
                        // Each key once, as it is (every row of a group holds the same
                        // string, compared exactly).
                        lists.push((
                            source.name.clone(),
                            format!(
                                "SELECT MIN({key}) AS {column}, {count} AS {n} {repeated} ORDER BY {n} DESC",
                                column = q(source.key_column()),
                                n = q("rows"),
                            ),
                        ));
                        // PostgreSQL's SUM of a BIGINT is a NUMERIC.
                        let rows =
                            sql.cast(format!("SUM({}.{})", q("d"), q("segc_n")), "bigint")?;
                        selects.push(format!(
                            "{} FROM (SELECT {count} AS {n} {repeated}) AS {d}",
                            select(source, check.code(), &count, &rows),
                            n = q("segc_n"),
                            d = q("d"),
                        ));
                    }
                    SourceRole::Facts { .. } => {
                        let user_source = project.source(users);
                        let user_key = sql.key(
                            user_source,
                            format!("{}.{}", q("u"), q(user_source.key_column())),
                        )?;
                        let fact_key = sql.key(source, key.clone())?;
                        selects.push(format!(
                            "{} FROM {table} AS {s} WHERE {key} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {users_table} AS {u} WHERE {user_key} = {fact_key})",
                            select(source, crate::checks::Check::UnknownUser.code(), "0", &count),
                            users_table = names.table(users),
                            s = q("s"),
                            u = q("u"),
                        ));
                    }
                }
            }
            Ok(Checks {
                statement: selects.join("\nUNION ALL\n"),
                lists,
            })
        },
    )
}
