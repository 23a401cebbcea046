//! Result rows → the segment × KPI table, printed as a table, CSV, JSON or an HTML page.
//!
//! `table` prints for people, `plain` writes CSV and JSON, `series` splits a series run's
//! rows into one report per period and prints them together, `html` writes one
//! self-contained page (with `grid`, the segments a heat map draws, `overlap`, the segment
//! overlap table it shows, and `run_info`, the run's id and time).

mod fit;
mod grid;
pub mod html;
mod overlap;
mod plain;
mod run_info;
mod series;
mod table;

use crate::driver::{Cell, ResultSet};
use crate::error::Error;
use crate::ir::{Format, KpiType, Project};
use crate::plan::Plan;

use plain::plain_text;

pub use grid::{GridCell, QuintileGrid};
pub use overlap::{OverlapPair, OverlapTable};
pub use run_info::{RunInfo, run_id};
pub use series::{
    Layout, series_csv, series_json, series_table, series_table_within, series_wide_csv,
};
pub use table::format_value;

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub label: String,
    pub format: Format,
    pub value_type: KpiType,
    /// What the column holds: a KPI's value, or in a compare run its prior value or a change.
    pub kind: ColumnKind,
}

impl Column {
    /// The column's `format` in the JSON output: the KPI's number format, or `date`,
    /// `timestamp` or `text` for a KPI whose values are not numbers.
    pub fn format_name(&self) -> &'static str {
        match self.value_type {
            KpiType::Date => "date",
            KpiType::Timestamp => "timestamp",
            KpiType::String => "text",
            KpiType::Integer | KpiType::Double => self.format.name(),
        }
    }
}

/// What a report's column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// The KPI's value.
    Value,
    /// The KPI's value in the comparison period (`<kpi>__prior`).
    Prior,
    /// Value − prior, in the KPI's own unit (`<kpi>__change`).
    Change,
    /// Value − prior of a percent KPI (`<kpi>__change`): a difference of two shares, in
    /// percentage points, shown `pp` and never `%`.
    PointChange,
    /// (value − prior) / prior, a fraction shown in `%` (`<kpi>__change_pct`).
    RelativeChange,
}

impl ColumnKind {
    /// Its name in the JSON output's `columns` (compare runs): `value`, `prior`, `change`,
    /// `change_points`, `change_relative`.
    pub fn name(self) -> &'static str {
        match self {
            ColumnKind::Value => "value",
            ColumnKind::Prior => "prior",
            ColumnKind::Change => "change",
            ColumnKind::PointChange => "change_points",
            ColumnKind::RelativeChange => "change_relative",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub segment: String,
    pub label: String,
    pub parent: Option<String>,
    pub depth: usize,
    pub values: Vec<Cell>,
}

/// The segment × KPI table of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub project: String,
    pub target: String,
    pub as_of: String,
    /// The first and last day of the period `window: period` reads (`--period`, else the
    /// activity window ending on the as-of day).
    pub period_start: chrono::NaiveDate,
    pub period_end: chrono::NaiveDate,
    /// Why this as-of day, when nobody chose it: `yesterday, the last complete day in UTC`.
    pub as_of_note: Option<String>,
    /// The as-of day of the comparison period, in a compare run.
    pub compared_with: Option<String>,
    /// When the report read the membership history (flow KPIs): the reported segments whose
    /// definition changed during the period (each row says whether it is one).
    pub definition_changed: Option<Vec<String>>,
    pub currency_symbol: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Row>,
}

impl Report {
    /// The reported segments whose definition changed during the period, when any did.
    pub fn changed_segments(&self) -> Option<&[String]> {
        self.definition_changed
            .as_deref()
            .filter(|changed| !changed.is_empty())
    }

    /// Matches the rows a query returned (`segment`, `parent`, `segc_row`, then one column per
    /// KPI, each read by its name) to the plan.
    pub fn from_result(plan: &Plan<'_>, target: &str, result: &ResultSet) -> Result<Report, Error> {
        let project: &Project = plan.project;
        let columns: Vec<Column> = plan
            .kpis
            .iter()
            .map(|id| {
                let kpi = project.kpi(*id);
                Column {
                    name: kpi.name.clone(),
                    label: kpi.label.clone(),
                    format: kpi.format,
                    value_type: kpi.value_type,
                    kind: ColumnKind::Value,
                }
            })
            .collect();
        Report::with_columns(plan, target, result, columns)
    }

    /// A compare run (`segc run --compare`): per KPI the value, the prior value, and for
    /// numbers the change and the relative change, as rendered by `render_series`.
    pub fn from_compare(
        current: &Plan<'_>,
        prior: &Plan<'_>,
        target: &str,
        result: &ResultSet,
    ) -> Result<Report, Error> {
        let project = current.project;
        let mut columns = Vec::new();
        for (
            crate::plan::output::CompareColumns {
                value: name,
                prior: prior_name,
                change,
            },
            id,
        ) in crate::plan::output::compare_columns(project, &current.kpis)
            .into_iter()
            .zip(&current.kpis)
        {
            let kpi = project.kpi(*id);
            let column = |name: String, label: String, kind: ColumnKind| Column {
                name,
                label,
                format: kpi.format,
                value_type: kpi.value_type,
                kind,
            };
            columns.push(column(name, kpi.label.clone(), ColumnKind::Value));
            columns.push(column(
                prior_name,
                format!("{} (prior)", kpi.label),
                ColumnKind::Prior,
            ));
            if let Some((change, change_pct)) = change {
                // A percent KPI's difference is in percentage points, not a percent of it.
                columns.push(match kpi.format {
                    Format::Percent => column(
                        change,
                        format!("Δ {} (pp)", kpi.label),
                        ColumnKind::PointChange,
                    ),
                    _ => column(change, format!("Δ {}", kpi.label), ColumnKind::Change),
                });
                columns.push(Column {
                    name: change_pct,
                    label: format!("Δ% {}", kpi.label),
                    format: Format::Percent,
                    value_type: KpiType::Double,
                    kind: ColumnKind::RelativeChange,
                });
            }
        }
        let mut report = Report::with_columns(current, target, result, columns)?;
        report.compared_with = Some(prior.time.as_of.to_string());
        report.changes_from_reported_values();
        Ok(report)
    }

    /// Sets each change from the value and prior value as they are printed
    /// ([`reported_double`]): computed from the warehouse's doubles, the difference of two
    /// nearly equal values would print their last bits, which change from rerun to rerun
    /// (rule 16). The relative change divides that change by the prior as computed. The
    /// columns of a KPI follow each other: value, prior, change, relative.
    fn changes_from_reported_values(&mut self) {
        let reported = |cell: &Cell| match cell {
            Cell::Integer(v) => Some(*v as f64),
            Cell::Double(v) => reported_double(*v),
            _ => None,
        };
        for at in 2..self.columns.len() {
            if !matches!(
                self.columns[at].kind,
                ColumnKind::Change | ColumnKind::PointChange
            ) || self.columns.get(at + 1).map(|c| c.kind) != Some(ColumnKind::RelativeChange)
            {
                continue;
            }
            for row in &mut self.rows {
                let (value, prior) = (&row.values[at - 2], &row.values[at - 1]);
                let change = match (value, prior) {
                    (Cell::Integer(a), Cell::Integer(b)) => {
                        a.checked_sub(*b).map_or(Cell::Null, Cell::Integer)
                    }
                    // The difference as printed too: 36.96 - 13.3333333333 is
                    // 23.626666666700003 in doubles.
                    _ => match (reported(value), reported(prior)) {
                        (Some(a), Some(b)) => {
                            reported_double(a - b).map_or(Cell::Null, Cell::Double)
                        }
                        _ => Cell::Null,
                    },
                };
                // Divided by the prior as computed: the printed one (13.3333333333 for 40 / 3)
                // is off in its 12th digit, which then showed (1.77200000001 for 1.772).
                let relative = match (change.as_f64(), reported(prior), prior.as_f64()) {
                    (Some(change), Some(shown), Some(prior)) if shown != 0.0 => {
                        Cell::Double(change / prior)
                    }
                    _ => Cell::Null,
                };
                row.values[at] = change;
                row.values[at + 1] = relative;
            }
        }
    }

    /// A `segc overlap` run (a statement of [`crate::render::render_overlap`]): per reported
    /// row, one column per reported row, named after its segment, counting the members of
    /// the row who are also members of the column's segment; the `all_users` column is the
    /// row's size.
    pub fn from_overlap(
        plan: &Plan<'_>,
        target: &str,
        result: &ResultSet,
    ) -> Result<Report, Error> {
        let project = plan.project;
        let columns = plan
            .rows
            .iter()
            .map(|row| Column {
                name: crate::plan::output::overlap_column(row.ordinal),
                label: match row.segment {
                    None => "All users".to_string(),
                    Some(id) => project.segment(id).label.clone(),
                },
                format: Format::Integer,
                value_type: KpiType::Integer,
                kind: ColumnKind::Value,
            })
            .collect();
        let mut report = Report::with_columns(plan, target, result, columns)?;
        // Read by the statement's names; shown by the segments'.
        for (column, row) in report.columns.iter_mut().zip(&plan.rows) {
            column.name = row.name(project).to_string();
        }
        Ok(report)
    }

    fn with_columns(
        plan: &Plan<'_>,
        target: &str,
        result: &ResultSet,
        columns: Vec<Column>,
    ) -> Result<Report, Error> {
        let project: &Project = plan.project;
        if result.rows.len() != plan.rows.len() {
            return Err(Error::Query(format!(
                "the warehouse returned {} rows; expected {} (one per segment)",
                result.rows.len(),
                plan.rows.len()
            )));
        }
        // Every column by its name: the row's own columns first, then the KPIs'.
        let row_columns = crate::plan::output::ROW_COLUMNS;
        let row_column = |name: &str| {
            let planned = row_columns.iter().position(|column| *column == name);
            result.column(name, planned.unwrap_or_default())
        };
        let segment_at = row_column(crate::plan::output::SEGMENT_COLUMN)?;
        let parent_at = row_column(crate::plan::output::PARENT_COLUMN)?;
        let ordinal_at = row_column(crate::plan::output::ROW_COLUMN)?;
        let kpi_columns = columns
            .iter()
            .enumerate()
            .map(|(index, column)| result.column(&column.name, row_columns.len() + index))
            .collect::<Result<Vec<usize>, Error>>()?;
        let mut rows = Vec::new();
        for (planned, values) in plan.rows.iter().zip(&result.rows) {
            let segment = planned.name(project);
            let parent = planned.parent(project);
            if values.len() != result.columns.len()
                || values[ordinal_at].as_f64() != Some(planned.ordinal as f64)
            {
                return Err(Error::Query(
                    "the warehouse returned rows in an unexpected shape".into(),
                ));
            }
            // The statement names each row's segment: a row other than the one planned at its
            // place would print one segment's numbers under another's name.
            let expected_parent = parent.map_or(Cell::Null, |name| Cell::Text(name.to_string()));
            if values[segment_at] != Cell::Text(segment.to_string())
                || values[parent_at] != expected_parent
            {
                let shown = |cell: &Cell| match cell {
                    Cell::Null => "NULL".to_string(),
                    other => format!("`{}`", plain_text(other)),
                };
                return Err(Error::Query(format!(
                    "the warehouse returned row {} as segment {} with parent {}; expected segment {} with parent {}",
                    planned.ordinal,
                    shown(&values[segment_at]),
                    shown(&values[parent_at]),
                    shown(&Cell::Text(segment.to_string())),
                    shown(&expected_parent),
                )));
            }
            let label = match planned.segment {
                None => "All users".to_string(),
                Some(id) => project.segment(id).label.clone(),
            };
            let values = kpi_columns
                .iter()
                .zip(&columns)
                .map(|(position, column)| {
                    let cell = &values[*position];
                    normalize(cell, column.value_type).ok_or_else(|| {
                        Error::Query(format!(
                            "the warehouse returned {} for column `{}` ({}) of segment `{segment}`, where the statement asks for {}; the table is not printed",
                            described(cell),
                            column.name,
                            column.label,
                            expected(column.value_type)
                        ))
                    })
                })
                .collect::<Result<Vec<Cell>, Error>>()?;
            rows.push(Row {
                segment: segment.to_string(),
                label,
                parent: parent.map(str::to_string),
                depth: planned.depth,
                values,
            });
        }
        Ok(Report {
            project: project.name.clone(),
            target: target.to_string(),
            as_of: plan.time.as_of.to_string(),
            period_start: plan.time.period.0,
            period_end: plan.time.period.1,
            as_of_note: plan.as_of_note(),
            compared_with: None,
            definition_changed: None,
            currency_symbol: project.currency_symbol.clone(),
            columns,
            rows,
        })
    }
}

/// What a report whose segments' definitions changed during the period says under its
/// table (terminal and HTML alike), naming the segments as given (already made printable or
/// escaped by the caller).
pub(crate) fn definition_note_text(segments: &[String]) -> String {
    format!(
        "Definition changed during the period: {}. Their flows count members under both \
         definitions.",
        segments.join(", ")
    )
}

/// Values as the KPI's type says: integers for counts, doubles otherwise.
/// A KPI's value as its type holds it, or `None` when the warehouse returned a value of
/// another kind than the statement's cast asks for (a server that is not what it claims, a
/// proxy that rewrites answers): such a table is not printed.
fn normalize(cell: &Cell, value_type: KpiType) -> Option<Cell> {
    Some(match (value_type, cell) {
        (_, Cell::Null) => Cell::Null,
        (KpiType::Integer, Cell::Integer(_)) => cell.clone(),
        (KpiType::Integer, Cell::Double(v))
            if v.fract() == 0.0 && v.abs() < 9_223_372_036_854_775_808.0 =>
        {
            Cell::Integer(*v as i64)
        }
        (KpiType::Double, Cell::Integer(v)) => Cell::Double(*v as f64),
        (KpiType::Double, Cell::Double(v)) if !v.is_finite() => Cell::Null,
        (KpiType::Double, Cell::Double(_)) => cell.clone(),
        (KpiType::Date, Cell::Date(_)) => cell.clone(),
        // A date some drivers read as a timestamp at midnight.
        (KpiType::Date, Cell::Timestamp(t)) if t.time() == chrono::NaiveTime::MIN => {
            Cell::Date(t.date())
        }
        (KpiType::Timestamp, Cell::Timestamp(_)) => cell.clone(),
        (KpiType::String, Cell::Text(_)) => cell.clone(),
        _ => return None,
    })
}

/// What a KPI's cast asks for, for a message.
fn expected(value_type: KpiType) -> &'static str {
    match value_type {
        KpiType::Integer => "a whole number",
        KpiType::Double => "a number",
        KpiType::Date => "a date",
        KpiType::Timestamp => "a timestamp",
        KpiType::String => "text",
    }
}

/// What kind of value a cell holds, for a message (never the value: it may be anything).
fn described(cell: &Cell) -> &'static str {
    match cell {
        Cell::Null => "NULL",
        Cell::Integer(_) => "a whole number",
        Cell::Double(_) => "a fractional number",
        Cell::Text(_) => "text",
        Cell::Date(_) => "a date",
        Cell::Timestamp(_) => "a timestamp",
        Cell::Boolean(_) => "a boolean",
    }
}

/// The significant digits a double is printed with: far more than any business figure needs,
/// far fewer than the ~16 a double holds, whose last bits differ between reruns and engines
/// (parallel sums add in no fixed order; 78450.49000000006 one time, 78450.49000000004 the next).
pub const SIGNIFICANT_DIGITS: usize = 12;

/// Whole doubles below this (2^53) are exact: every whole number up to it is a double.
pub(crate) const EXACT_WHOLE_DOUBLES: f64 = 9_007_199_254_740_992.0;

/// `value` (not negative) with `decimals` digits after the point, a half rounded away from
/// zero as the formula `round` rounds it (`168.625` → `168.63`); Rust's own formatting keeps
/// a half even (`168.62`).
pub(crate) fn fixed(value: f64, decimals: usize) -> String {
    let rounded = format!("{value:.decimals$}");
    // A half: the digits after the kept ones are 5 and then zeros, to the end of the
    // double's exact decimal expansion (at most 1,074 digits after the point). Most values
    // show they are not within 25 digits.
    let is_half = |digits: usize| {
        let text = format!("{value:.*}", decimals + digits);
        let tail = text.rsplit('.').next().map_or("", |f| &f[decimals..]);
        tail.starts_with('5') && tail[1..].bytes().all(|b| b == b'0')
    };
    if !value.is_finite() || !is_half(25) || !is_half(1100) {
        return rounded;
    }
    // Cut after the kept digits and add one in the last place.
    let exact = format!("{value:.*}", decimals + 1);
    let mut digits: Vec<u8> = exact[..exact.len() - 1].bytes().collect();
    if decimals == 0 {
        digits.pop();
    }
    let mut at = digits.len();
    loop {
        if at == 0 {
            digits.insert(0, b'1');
            break;
        }
        at -= 1;
        match digits[at] {
            b'.' => {}
            b'9' => digits[at] = b'0',
            digit => {
                digits[at] = digit + 1;
                break;
            }
        }
    }
    String::from_utf8(digits).unwrap_or(rounded)
}

/// The number every output (CSV, JSON, table) prints for a double, so the same data print the
/// same bytes on every rerun and engine: rounded to [`SIGNIFICANT_DIGITS`] significant digits,
/// except whole numbers below 2^53, which are exact and kept as they are (1e15 + 1 stays
/// 1000000000000001); -0 becomes 0; NaN and infinities are no number (`None`).
pub fn reported_double(value: f64) -> Option<f64> {
    if !value.is_finite() {
        return None;
    }
    let reported = if value.fract() == 0.0 && value.abs() < EXACT_WHOLE_DOUBLES {
        value
    } else {
        // Rust prints the correctly rounded decimal; parsing it back gives the double nearest
        // to that decimal, which prints as the decimal again.
        format!("{value:.*e}", SIGNIFICANT_DIGITS - 1)
            .parse::<f64>()
            .ok()
            .filter(|rounded| rounded.is_finite())?
    };
    // `-0.0 == 0.0`: a negative zero prints as 0.
    Some(if reported == 0.0 { 0.0 } else { reported })
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod layout_tests;
