//! `segc run --materialize`: the report written into a results table in the warehouse, in
//! one transaction with the statement that computes it. No row of the report travels through
//! segc: the warehouse computes the rows and inserts them itself (`INSERT … SELECT`).
//!
//! The table is long: a row per period, reported row and KPI ([`COLUMNS`]), so that a KPI
//! added later needs no new column. A run replaces the rows of its key ([`KEY`]): project,
//! as-of day, period, grain and side; with `-s`/`-k`, only its segments' and KPIs' rows.

mod table;
mod write;

use chrono::NaiveDateTime;

use crate::ir::ValueType;

pub use table::{ResultsTable, TableColumn, create_sql, results_columns, schema_problems};
pub use write::{Only, Request, Written, ensure_table, materialize};

/// The results table's name when neither the target nor `segc_project.yml` names one.
pub const DEFAULT_TABLE: &str = "segc_kpis";

/// The results table's columns, in order, with their segc types.
pub const COLUMNS: [(&str, ValueType); 14] = [
    ("run_id", ValueType::String),
    ("project", ValueType::String),
    ("as_of", ValueType::Date),
    ("period_start", ValueType::Date),
    ("period_end", ValueType::Date),
    ("grain", ValueType::String),
    ("compare_side", ValueType::String),
    ("segment", ValueType::String),
    ("parent", ValueType::String),
    ("kpi", ValueType::String),
    ("value_number", ValueType::Number),
    ("value_text", ValueType::String),
    ("value_time", ValueType::Timestamp),
    ("computed_at", ValueType::Timestamp),
];

/// The columns whose values name the rows a run replaces.
pub const KEY: [&str; 6] = [
    "project",
    "as_of",
    "period_start",
    "period_end",
    "grain",
    "compare_side",
];

/// The column names of [`COLUMNS`].
pub fn column_names() -> Vec<&'static str> {
    COLUMNS.iter().map(|(name, _)| *name).collect()
}

/// What the statement that writes a report needs besides the report: where, and the run's
/// id and time (the same literal on every row, on every engine).
#[derive(Debug, Clone)]
pub struct WriteSpec<'a> {
    pub table: &'a [String],
    pub run_id: &'a str,
    pub computed_at: NaiveDateTime,
}

/// The period grain of a report's rows: `as_of` for a report as of a day (with its
/// comparison, if any), `month` for a month-by-month series.
pub fn grain(kind: crate::plan::statement::Kind) -> &'static str {
    match kind {
        crate::plan::statement::Kind::Series(crate::plan::SeriesShape::Periods) => "month",
        _ => "as_of",
    }
}

/// The side of the `index`th period of a statement of `kind`: `prior` for the earlier period
/// of a comparison, else `current`.
pub fn side(kind: crate::plan::statement::Kind, index: usize) -> &'static str {
    match kind {
        crate::plan::statement::Kind::Series(crate::plan::SeriesShape::Compare) if index == 1 => {
            "prior"
        }
        _ => "current",
    }
}
