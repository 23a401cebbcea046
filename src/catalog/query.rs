//! The catalog query of a dialect (`[catalog]` in its `dialect.toml`), and its rows.

use crate::dialect::{CatalogScope, Dialect};
use crate::driver::{Cell, ResultSet};
use crate::error::Error;

/// Fills `{name}` placeholders in one pass, so a value holding braces is never read again.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}').and_then(|close| {
            let name = &after[..close];
            values
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (close, *v))
        }) {
            Some((close, value)) => {
                out.push_str(value);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The schema a table is looked for in: the part before its name, else the dialect's default.
pub(super) fn expected_schema<'a>(dialect: &'a Dialect, parts: &'a [String]) -> Option<&'a str> {
    match parts.len() {
        0 | 1 => dialect.catalog.default_schema.as_deref(),
        n => Some(parts[n - 2].as_str()),
    }
}

/// The catalog query listing the columns of `tables` (each a name's parts): one `SELECT` per
/// scope the dialect's catalog needs (a database, a dataset), joined with `UNION ALL`. Every
/// name in it is a string literal (or, in the scope, a quoted name) of the dialect.
pub fn catalog_query(dialect: &Dialect, tables: &[Vec<String>]) -> String {
    let catalog = &dialect.catalog;
    let mut scopes: Vec<(String, Vec<String>)> = Vec::new();
    for parts in tables {
        let Some(table) = parts.last() else { continue };
        let n = parts.len();
        let schema = expected_schema(dialect, parts).unwrap_or_default();
        let (scope, matching) = match catalog.scope {
            CatalogScope::None => match (&catalog.table_in_catalog, n) {
                (Some(template), 3) => (
                    String::new(),
                    fill(
                        template,
                        &[
                            ("catalog", &dialect.string_literal(&parts[0])),
                            ("schema", &dialect.string_literal(schema)),
                            ("table", &dialect.string_literal(table)),
                        ],
                    ),
                ),
                _ => (String::new(), table_match(dialect, schema, table)),
            },
            CatalogScope::Database => {
                let scope = if n == 3 {
                    format!("{}.", dialect.quote_identifier(&parts[0]))
                } else {
                    String::new()
                };
                (scope, table_match(dialect, schema, table))
            }
            CatalogScope::Dataset => {
                let scope = if n >= 2 {
                    format!("{}.", dialect.quote_path(&parts[..n - 1]))
                } else {
                    String::new()
                };
                (scope, table_match(dialect, schema, table))
            }
        };
        match scopes.iter_mut().find(|(s, _)| *s == scope) {
            Some((_, matches)) => {
                if !matches.contains(&matching) {
                    matches.push(matching);
                }
            }
            None => scopes.push((scope, vec![matching])),
        }
    }
    scopes
        .iter()
        .map(|(scope, matches)| {
            fill(
                &catalog.query,
                &[("scope", scope), ("tables", &matches.join(" OR "))],
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

fn table_match(dialect: &Dialect, schema: &str, table: &str) -> String {
    fill(
        &dialect.catalog.table,
        &[
            ("schema", &dialect.string_literal(schema)),
            ("table", &dialect.string_literal(table)),
        ],
    )
}

/// The dialect's `visible` query for tables named without a schema.
pub(super) fn visible_query(dialect: &Dialect, template: &str, names: &[String]) -> String {
    let literals: Vec<String> = names.iter().map(|n| dialect.string_literal(n)).collect();
    fill(template, &[("tables", &literals.join(", "))])
}

/// The rows of a `visible` query: schema and table.
pub(super) fn name_rows(result: &ResultSet) -> Result<Vec<(String, String)>, Error> {
    result
        .rows
        .iter()
        .map(|row| match (row.first(), row.get(1)) {
            (Some(Cell::Text(schema)), Some(Cell::Text(table))) => {
                Ok((schema.clone(), table.clone()))
            }
            _ => Err(Error::Query(format!(
                "the query for the schemas of tables named without one returned a row that is \
                 not two names: {row:?}"
            ))),
        })
        .collect()
}

/// The schema a table named `name` alone is read from: the first row naming it exactly, else
/// the first naming it without case (a warehouse whose names ignore case); the query puts
/// the schema the warehouse prefers first.
pub(super) fn visible_schema<'a>(rows: &'a [(String, String)], name: &str) -> Option<&'a str> {
    rows.iter()
        .find(|(_, t)| t == name)
        .or_else(|| rows.iter().find(|(_, t)| t.eq_ignore_ascii_case(name)))
        .map(|(schema, _)| schema.as_str())
}

/// One row of the catalog query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogRow {
    pub schema: String,
    pub table: String,
    pub column: String,
    pub data_type: String,
}

/// The rows of a catalog query's result: schema, table, column and type, in that order.
pub fn catalog_rows(result: &ResultSet) -> Result<Vec<CatalogRow>, Error> {
    let text = |cell: Option<&Cell>| match cell {
        Some(Cell::Text(text)) => Some(text.clone()),
        _ => None,
    };
    result
        .rows
        .iter()
        .map(|row| {
            match (
                text(row.first()),
                text(row.get(1)),
                text(row.get(2)),
                text(row.get(3)),
            ) {
                (Some(schema), Some(table), Some(column), Some(data_type)) => Ok(CatalogRow {
                    schema,
                    table,
                    column,
                    data_type,
                }),
                _ => Err(Error::Query(format!(
                    "the catalog query returned a row that is not four names: {row:?}"
                ))),
            }
        })
        .collect()
}
