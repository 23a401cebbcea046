//! `sources:`: the tables, their columns and roles.

use crate::error::{Diagnostic, Span};

use super::reader::{MapReader, scalar_string};
use super::yaml::Node;
use super::{Spanned, named_entries};

#[derive(Debug, Clone)]
pub enum TableSpec {
    Single(Spanned<String>),
    /// `{ default: app.users, bigquery: "proj.app.users" }`
    PerTarget(Vec<(Spanned<String>, Spanned<String>)>),
}

#[derive(Debug, Clone)]
pub struct ColumnSpec {
    pub name: Spanned<String>,
    pub column: Spanned<String>,
    pub value_type: Option<Spanned<String>>,
    /// `scheduled: true`: a date known in advance (a trial's end), read as it is at any as-of.
    pub scheduled: Option<Spanned<bool>>,
}

#[derive(Debug, Clone)]
pub struct SourceSpec {
    pub name: Spanned<String>,
    pub table: Option<TableSpec>,
    pub key: Option<Spanned<String>>,
    pub user_key: Option<Spanned<String>>,
    /// The declared type of `key` or `user_key` (`key: { column: user_id, type: string }`).
    pub key_type: Option<Spanned<String>>,
    pub time: Option<Spanned<String>>,
    /// The declared type of `time` (`time: { column: ordered_on, type: date }`).
    pub time_type: Option<Spanned<String>>,
    pub columns: Vec<ColumnSpec>,
    /// `history: { valid_from: col, valid_to: col }`: type-2 rows, as dbt snapshots write.
    pub history: Option<HistorySpec>,
    pub span: Span,
}

/// The validity columns of a source that keeps history.
#[derive(Debug, Clone)]
pub struct HistorySpec {
    pub valid_from: Spanned<String>,
    pub valid_to: Spanned<String>,
    /// The declared type of both columns (`type: date`), when written.
    pub value_type: Option<Spanned<String>>,
    pub span: Span,
}

const SOURCE_KEYS: &[&str] = &["table", "key", "user_key", "time", "columns", "history"];

pub(super) fn read_source(
    name: Spanned<String>,
    node: &Node,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<SourceSpec> {
    let what = format!("source `{}`", name.value);
    let mut map = MapReader::new(node, &what, diagnostics)?;
    let table = match map.node("table") {
        None => {
            diagnostics.push(Diagnostic::new(
                format!("{what} is missing `table`"),
                name.span,
            ));
            None
        }
        Some(table) if table.as_mapping().is_some() => {
            let entries = named_entries(table, "table", diagnostics)
                .into_iter()
                .filter_map(|(target, value)| {
                    scalar_string(value, "a table name", diagnostics).map(|t| (target, t))
                })
                .collect();
            Some(TableSpec::PerTarget(entries))
        }
        Some(table) => {
            scalar_string(table, &format!("`table` of {what}"), diagnostics).map(TableSpec::Single)
        }
    };
    let (key, key_type) = read_key(&mut map, "key", &what, diagnostics);
    let (user_key, user_key_type) = read_key(&mut map, "user_key", &what, diagnostics);
    let key_type = key_type.or(user_key_type);
    let (time, time_type) = read_key(&mut map, "time", &what, diagnostics);
    let mut columns = Vec::new();
    if let Some(node) = map.node("columns") {
        for (column_name, body) in named_entries(node, "columns", diagnostics) {
            if body.as_mapping().is_some() {
                let column_what = format!("column `{}`", column_name.value);
                if let Some(mut column_map) = MapReader::new(body, &column_what, diagnostics) {
                    let column = column_map.required_string("column", diagnostics);
                    let value_type = column_map.string("type", diagnostics);
                    let scheduled = column_map.boolean("scheduled", diagnostics);
                    column_map.finish(&["column", "type", "scheduled"], diagnostics);
                    if let Some(column) = column {
                        columns.push(ColumnSpec {
                            name: column_name,
                            column,
                            value_type,
                            scheduled,
                        });
                    }
                }
            } else if let Some(column) = scalar_string(body, "a column name", diagnostics) {
                columns.push(ColumnSpec {
                    name: column_name,
                    column,
                    value_type: None,
                    scheduled: None,
                });
            }
        }
    }
    let history = map.node("history").and_then(|node| {
        let what = format!("the history of source `{}`", name.value);
        let mut history = MapReader::new(node, &what, diagnostics)?;
        let valid_from = history.required_string("valid_from", diagnostics);
        let valid_to = history.required_string("valid_to", diagnostics);
        let value_type = history.string("type", diagnostics);
        history.finish(&["valid_from", "valid_to", "type"], diagnostics);
        Some(HistorySpec {
            valid_from: valid_from?,
            valid_to: valid_to?,
            value_type,
            span: node.span,
        })
    });
    let span = name.span;
    map.finish(SOURCE_KEYS, diagnostics);
    Some(SourceSpec {
        name,
        table,
        key,
        user_key,
        key_type,
        time,
        time_type,
        columns,
        history,
        span,
    })
}

/// `key`, `user_key` or `time`: a column name, or `{ column: user_id, type: string }` with its
/// type.
fn read_key(
    map: &mut MapReader<'_>,
    name: &str,
    what: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> (Option<Spanned<String>>, Option<Spanned<String>>) {
    match map.node(name) {
        Some(node) if node.as_mapping().is_some() => {
            let key_what = format!("`{name}` of {what}");
            let Some(mut key) = MapReader::new(node, &key_what, diagnostics) else {
                return (None, None);
            };
            let column = key.required_string("column", diagnostics);
            let value_type = key.string("type", diagnostics);
            key.finish(&["column", "type"], diagnostics);
            (column, value_type)
        }
        Some(node) => (
            scalar_string(node, &format!("`{name}` of {what}"), diagnostics),
            None,
        ),
        None => (None, None),
    }
}
