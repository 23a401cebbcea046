//! Result rows → the segment × KPI table, printed as a table, CSV or JSON.

use chrono::{NaiveDateTime, Timelike};
use comfy_table::{Cell as TableCell, CellAlignment, ContentArrangement, Table, presets};
use serde_json::{Map, Value as Json, json};

use crate::driver::{Cell, ResultSet};
use crate::error::Error;
use crate::ir::{Format, KpiType, Project};
use crate::plan::Plan;
use crate::terminal::printable;

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub label: String,
    pub format: Format,
    pub value_type: KpiType,
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
    /// Why this as-of day, when nobody chose it: `yesterday, the last complete day in UTC`.
    pub as_of_note: Option<String>,
    /// The as-of day of the comparison period, in a compare run.
    pub compared_with: Option<String>,
    pub currency_symbol: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Row>,
}

impl Report {
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
            let column = |name: String, label: String| Column {
                name,
                label,
                format: kpi.format,
                value_type: kpi.value_type,
            };
            columns.push(column(name, kpi.label.clone()));
            columns.push(column(prior_name, format!("{} (prior)", kpi.label)));
            if let Some((change, change_pct)) = change {
                columns.push(column(change, format!("Δ {}", kpi.label)));
                columns.push(Column {
                    name: change_pct,
                    label: format!("Δ% {}", kpi.label),
                    format: Format::Percent,
                    value_type: KpiType::Double,
                });
            }
        }
        let mut report = Report::with_columns(current, target, result, columns)?;
        report.compared_with = Some(prior.time.as_of.to_string());
        Ok(report)
    }

    /// A series run (`segc run --grain month`): one report per period, from rows that start
    /// with `segc_period`.
    pub fn series(
        periods: &[(String, Plan<'_>)],
        target: &str,
        result: &ResultSet,
    ) -> Result<Vec<(String, Report)>, Error> {
        let period = result.column(crate::plan::output::PERIOD_COLUMN, 0)?;
        // Each period's rows without the period column: the columns of a single report.
        let mut columns = result.columns.clone();
        columns.remove(period);
        let mut reports = Vec::new();
        for (index, (label, plan)) in periods.iter().enumerate() {
            let rows: Vec<Vec<Cell>> = result
                .rows
                .iter()
                .filter(|row| row.get(period).and_then(Cell::as_f64) == Some(index as f64))
                .map(|row| {
                    let mut row = row.clone();
                    row.remove(period);
                    row
                })
                .collect();
            let part = ResultSet {
                columns: columns.clone(),
                rows,
            };
            reports.push((label.clone(), Report::from_result(plan, target, &part)?));
        }
        Ok(reports)
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
                .map(|(position, column)| normalize(&values[*position], column.value_type))
                .collect();
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
            as_of_note: plan.as_of_note(),
            compared_with: None,
            currency_symbol: project.currency_symbol.clone(),
            columns,
            rows,
        })
    }

    pub fn to_json(&self) -> Json {
        let columns: Vec<Json> = self
            .columns
            .iter()
            .map(|c| json!({ "name": c.name, "label": c.label, "format": c.format.name() }))
            .collect();
        let rows: Vec<Json> = self
            .rows
            .iter()
            .map(|row| {
                let mut object = Map::new();
                object.insert("segment".into(), json!(row.segment));
                object.insert("parent".into(), json!(row.parent));
                for (column, value) in self.columns.iter().zip(&row.values) {
                    object.insert(column.name.clone(), json_value(value));
                }
                Json::Object(object)
            })
            .collect();
        let mut document = json!({ "project": self.project, "target": self.target, "as_of": self.as_of, "columns": columns, "rows": rows });
        if let Some(prior) = &self.compared_with {
            document["compared_with"] = json!(prior);
        }
        document
    }

    /// One header row of KPI names; values unformatted (fractions, plain numbers).
    pub fn to_csv(&self) -> Result<String, Error> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let mut header = vec!["segment".to_string(), "parent".to_string()];
        header.extend(self.columns.iter().map(|c| c.name.clone()));
        writer
            .write_record(&header)
            .map_err(|e| Error::Query(e.to_string()))?;
        for row in &self.rows {
            let mut record = vec![row.segment.clone(), row.parent.clone().unwrap_or_default()];
            record.extend(row.values.iter().map(plain_text));
            writer
                .write_record(&record)
                .map_err(|e| Error::Query(e.to_string()))?;
        }
        let bytes = writer
            .into_inner()
            .map_err(|e| Error::Query(e.to_string()))?;
        String::from_utf8(bytes).map_err(|e| Error::Query(e.to_string()))
    }

    /// A table for people: children indented under their parent, percents and currency
    /// formatted, every text with its control characters escaped (one line per cell).
    pub fn to_table(&self) -> String {
        let mut table = Table::new();
        table
            .load_preset(presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Disabled);
        let mut header = vec![TableCell::new("segment")];
        header.extend(
            self.columns
                .iter()
                .map(|c| TableCell::new(printable(&c.label))),
        );
        table.set_header(header);
        for row in &self.rows {
            let name = format!(
                "{}{}{}",
                "  ".repeat(row.depth),
                if row.depth > 0 { "└ " } else { "" },
                printable(&row.label)
            );
            let mut cells = vec![TableCell::new(name)];
            for (column, value) in self.columns.iter().zip(&row.values) {
                let text = format_value(value, column.format, &self.currency_symbol);
                cells.push(TableCell::new(printable(&text)).set_alignment(CellAlignment::Right));
            }
            table.add_row(cells);
        }
        let note = self
            .as_of_note
            .as_ref()
            .map(|note| format!(" ({})", printable(note)))
            .unwrap_or_default();
        let compared = self
            .compared_with
            .as_ref()
            .map(|prior| format!(", compared with {}", printable(prior)))
            .unwrap_or_default();
        format!(
            "{} as of {}{note}{compared} on {}\n{table}\n",
            printable(&self.project),
            printable(&self.as_of),
            printable(&self.target)
        )
    }
}

/// The reports of a series run as one CSV: `period,as_of,segment,parent,<kpis>`.
pub fn series_csv(reports: &[(String, Report)]) -> Result<String, Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let failed = |e: csv::Error| Error::Query(e.to_string());
    if let Some((_, first)) = reports.first() {
        let mut header: Vec<String> = ["period", "as_of", "segment", "parent"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        header.extend(first.columns.iter().map(|c| c.name.clone()));
        writer.write_record(&header).map_err(failed)?;
    }
    for (label, report) in reports {
        for row in &report.rows {
            let mut record = vec![
                label.clone(),
                report.as_of.clone(),
                row.segment.clone(),
                row.parent.clone().unwrap_or_default(),
            ];
            record.extend(row.values.iter().map(plain_text));
            writer.write_record(&record).map_err(failed)?;
        }
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| Error::Query(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| Error::Query(e.to_string()))
}

/// The reports of a series run as one JSON document: the columns once, then
/// `periods: [{period, as_of, rows}]`.
pub fn series_json(reports: &[(String, Report)]) -> Json {
    let Some((_, first)) = reports.first() else {
        return json!({ "periods": [] });
    };
    let whole = first.to_json();
    let periods: Vec<Json> = reports
        .iter()
        .map(|(label, report)| {
            json!({ "period": label, "as_of": report.as_of, "rows": report.to_json()["rows"] })
        })
        .collect();
    json!({ "project": first.project, "target": first.target, "grain": "month", "columns": whole["columns"], "periods": periods })
}

/// The reports of a series run as tables, one per period.
pub fn series_table(reports: &[(String, Report)]) -> String {
    reports
        .iter()
        .map(|(label, report)| format!("{}: {}", printable(label), report.to_table()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Values as the KPI's type says: integers for counts, doubles otherwise.
fn normalize(cell: &Cell, value_type: KpiType) -> Cell {
    match (value_type, cell) {
        (KpiType::Integer, Cell::Double(v)) if v.fract() == 0.0 => Cell::Integer(*v as i64),
        (KpiType::Double, Cell::Integer(v)) => Cell::Double(*v as f64),
        (KpiType::Double, Cell::Double(v)) if !v.is_finite() => Cell::Null,
        _ => cell.clone(),
    }
}

/// The significant digits a double is printed with: far more than any business figure needs,
/// far fewer than the ~16 a double holds, whose last bits differ between reruns and engines
/// (parallel sums add in no fixed order; 78450.49000000006 one time, 78450.49000000004 the next).
pub const SIGNIFICANT_DIGITS: usize = 12;

/// Whole doubles below this (2^53) are exact: every whole number up to it is a double.
const EXACT_WHOLE_DOUBLES: f64 = 9_007_199_254_740_992.0;

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

/// A cell's number as printed: integers as they are, doubles through [`reported_double`].
fn reported_number(cell: &Cell) -> Option<f64> {
    match cell {
        Cell::Double(v) => reported_double(*v),
        other => other.as_f64(),
    }
}

/// A timestamp in UTC, ISO 8601, with every stored digit: the fraction of a second is left out
/// when it is 0, else printed as microseconds (6 digits; 9 when the value holds nanoseconds).
fn timestamp_text(timestamp: &NaiveDateTime) -> String {
    let nanoseconds = timestamp.nanosecond() % 1_000_000_000;
    let fraction = if nanoseconds == 0 {
        ""
    } else if nanoseconds.is_multiple_of(1_000) {
        "%.6f"
    } else {
        "%.9f"
    };
    format!(
        "{}Z",
        timestamp.format(&format!("%Y-%m-%dT%H:%M:%S{fraction}"))
    )
}

fn json_value(cell: &Cell) -> Json {
    match cell {
        Cell::Null => Json::Null,
        Cell::Integer(v) => json!(v),
        Cell::Double(v) => reported_double(*v)
            .and_then(serde_json::Number::from_f64)
            .map(Json::Number)
            .unwrap_or(Json::Null),
        Cell::Text(s) => json!(s),
        Cell::Date(d) => json!(d.format("%Y-%m-%d").to_string()),
        Cell::Timestamp(t) => json!(timestamp_text(t)),
        Cell::Boolean(b) => json!(b),
    }
}

fn plain_text(cell: &Cell) -> String {
    match cell {
        Cell::Null => String::new(),
        Cell::Integer(v) => v.to_string(),
        Cell::Double(v) => reported_double(*v)
            .map(|v| v.to_string())
            .unwrap_or_default(),
        Cell::Text(s) => s.clone(),
        Cell::Date(d) => d.format("%Y-%m-%d").to_string(),
        Cell::Timestamp(t) => timestamp_text(t),
        Cell::Boolean(b) => b.to_string(),
    }
}

/// `1234567.891` → `1,234,567.89`.
fn grouped(value: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, value.abs());
    let (whole, fraction) = text
        .split_once('.')
        .map(|(w, f)| (w.to_string(), Some(f.to_string())))
        .unwrap_or((text.clone(), None));
    let mut out = String::new();
    for (index, ch) in whole.chars().enumerate() {
        if index > 0 && (whole.len() - index) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if let Some(fraction) = fraction {
        out.push('.');
        out.push_str(&fraction);
    }
    if value < 0.0 && out.chars().any(|c| c.is_ascii_digit() && c != '0') {
        format!("-{out}")
    } else {
        out
    }
}

pub fn format_value(cell: &Cell, format: Format, currency: &str) -> String {
    let Some(number) = reported_number(cell) else {
        return match cell {
            Cell::Null | Cell::Double(_) => "–".into(),
            other => plain_text(other),
        };
    };
    match format {
        Format::Percent => format!("{}%", grouped(number * 100.0, 1)),
        Format::Currency => {
            let text = grouped(number, 2);
            match text.strip_prefix('-') {
                Some(rest) => format!("-{currency}{rest}"),
                None => format!("{currency}{text}"),
            }
        }
        Format::Integer => grouped(number, 0),
        Format::Number => grouped(number, 2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_numbers_for_people() {
        assert_eq!(
            format_value(&Cell::Double(0.3333), Format::Percent, "$"),
            "33.3%"
        );
        assert_eq!(
            format_value(&Cell::Double(1234567.891), Format::Currency, "$"),
            "$1,234,567.89"
        );
        assert_eq!(
            format_value(&Cell::Double(-5.5), Format::Currency, "€"),
            "-€5.50"
        );
        assert_eq!(
            format_value(&Cell::Integer(10000), Format::Integer, "$"),
            "10,000"
        );
        assert_eq!(format_value(&Cell::Null, Format::Number, "$"), "–");
        assert_eq!(
            format_value(&Cell::Double(2.5), Format::Number, "$"),
            "2.50"
        );
    }

    /// Labels, values and names come from definitions and the warehouse: none of their
    /// control characters reaches the terminal, in a report or in a series of them.
    #[test]
    fn tables_escape_control_characters_in_every_text() {
        let hostile = "\u{1b}]0;pwned\u{7}\r\u{9b}2J\u{202e}";
        let column = |name: &str, format| Column {
            name: name.into(),
            label: format!("KPI {hostile}"),
            format,
            value_type: KpiType::Double,
        };
        let report = Report {
            project: format!("project {hostile}"),
            target: format!("target {hostile}"),
            as_of: "2026-10-31".into(),
            as_of_note: None,
            compared_with: Some(format!("prior {hostile}")),
            currency_symbol: format!("{hostile}$"),
            columns: vec![
                column("text", Format::Number),
                column("money", Format::Currency),
            ],
            rows: vec![Row {
                segment: "s".into(),
                label: format!("Segment {hostile}\nsecond line\tcolumn"),
                parent: None,
                depth: 1,
                values: vec![Cell::Text(format!("value {hostile}")), Cell::Double(1.5)],
            }],
        };
        let table = series_table(&[(format!("2026-10 {hostile}"), report.clone())]);
        assert!(
            !table.contains(['\u{1b}', '\u{7}', '\r', '\t', '\u{9b}', '\u{202e}']),
            "{table}"
        );
        let escaped = "\\e]0;pwned\\a\\r\\u{9b}2J\\u{202e}";
        for expected in [
            format!("2026-10 {escaped}: project {escaped} as of 2026-10-31"),
            format!("compared with prior {escaped} on target {escaped}\n"),
            format!("KPI {escaped}"),
            format!("└ Segment {escaped}\\nsecond line\\tcolumn"),
            format!("value {escaped}"),
            format!("{escaped}$1.50"),
        ] {
            assert!(table.contains(&expected), "{expected} in\n{table}");
        }
        // The data formats keep the values exactly.
        assert!(
            report
                .to_csv()
                .unwrap()
                .contains(&format!("value {hostile}"))
        );
        assert_eq!(
            report.to_json()["rows"][0]["text"],
            format!("value {hostile}")
        );
    }

    /// A report of one `all_users` row holding `values`, each in a column `c0`, `c1`, … of
    /// the given format.
    fn one_row(values: &[(Cell, Format)]) -> Report {
        Report {
            project: "p".into(),
            target: "t".into(),
            as_of: "2026-10-31".into(),
            as_of_note: None,
            compared_with: None,
            currency_symbol: "$".into(),
            columns: values
                .iter()
                .enumerate()
                .map(|(index, (_, format))| Column {
                    name: format!("c{index}"),
                    label: format!("c{index}"),
                    format: *format,
                    value_type: KpiType::Double,
                })
                .collect(),
            rows: vec![Row {
                segment: "all_users".into(),
                label: "All users".into(),
                parent: None,
                depth: 0,
                values: values.iter().map(|(cell, _)| cell.clone()).collect(),
            }],
        }
    }

    /// The CSV values of the one row of `report`, after `segment,parent`.
    fn csv_values(report: &Report) -> Vec<String> {
        let csv = report.to_csv().unwrap();
        let row = csv.lines().nth(1).unwrap();
        row.split(',').skip(2).map(str::to_string).collect()
    }

    fn json_texts(report: &Report) -> Vec<String> {
        let json = report.to_json();
        (0..report.columns.len())
            .map(|index| json["rows"][0][format!("c{index}")].to_string())
            .collect()
    }

    #[test]
    fn timestamps_keep_every_stored_digit_in_every_output() {
        let at = |text: &str| {
            Cell::Timestamp(NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").unwrap())
        };
        let cases = [
            ("2026-10-31 23:59:59.999999", "2026-10-31T23:59:59.999999Z"),
            ("2026-10-31 23:59:59.000001", "2026-10-31T23:59:59.000001Z"),
            ("2026-10-31 12:00:00.5", "2026-10-31T12:00:00.500000Z"),
            ("2026-10-31 23:59:59", "2026-10-31T23:59:59Z"),
            ("2026-01-01 00:00:00", "2026-01-01T00:00:00Z"),
            // A driver that delivers nanoseconds keeps them too.
            (
                "2026-10-31 23:59:59.123456789",
                "2026-10-31T23:59:59.123456789Z",
            ),
        ];
        let report = one_row(
            &cases
                .iter()
                .map(|(stored, _)| (at(stored), Format::Number))
                .collect::<Vec<_>>(),
        );
        let expected: Vec<String> = cases.iter().map(|(_, text)| text.to_string()).collect();
        assert_eq!(csv_values(&report), expected);
        let quoted: Vec<String> = expected.iter().map(|text| format!("\"{text}\"")).collect();
        assert_eq!(json_texts(&report), quoted);
        let table = report.to_table();
        for text in &expected {
            assert!(table.contains(text.as_str()), "{text} in\n{table}");
        }
    }

    #[test]
    fn doubles_print_the_same_whatever_their_last_bits() {
        let double = |v: f64| (Cell::Double(v), Format::Number);
        // Two reruns of one sum, added in a different order.
        let first = one_row(&[
            double(78450.49000000006),
            (Cell::Double(0.28500000000000003), Format::Percent),
            (Cell::Double(2.6750000000000003), Format::Currency),
        ]);
        let second = one_row(&[
            double(78450.49000000004),
            (Cell::Double(0.2849999999999999), Format::Percent),
            (Cell::Double(2.6749999999999994), Format::Currency),
        ]);
        assert_eq!(first.to_csv().unwrap(), second.to_csv().unwrap());
        assert_eq!(
            serde_json::to_string(&first.to_json()).unwrap(),
            serde_json::to_string(&second.to_json()).unwrap()
        );
        assert_eq!(first.to_table(), second.to_table());
        assert_eq!(csv_values(&first)[0], "78450.49");
        assert_eq!(json_texts(&first)[0], "78450.49");
        assert!(first.to_table().contains("78,450.49"));

        let report = one_row(&[
            double(0.1 + 0.2),
            double(1e15 + 1.0),
            double(1.23e-9),
            double(-0.0),
            double(-1234.5678901234567),
            double(2.0),
            double(f64::NAN),
            double(f64::INFINITY),
            double(-1e-300 * 1e-300),
        ]);
        assert_eq!(
            csv_values(&report),
            [
                "0.3",
                "1000000000000001",
                "0.00000000123",
                "0",
                "-1234.56789012",
                "2",
                "",
                "",
                "0"
            ]
        );
        assert_eq!(
            json_texts(&report),
            [
                "0.3",
                "1000000000000001.0",
                "1.23e-9",
                "0.0",
                "-1234.56789012",
                "2.0",
                "null",
                "null",
                "0.0"
            ]
        );
        // JSON numbers stay numbers, and read back as the printed values.
        let json = report.to_json();
        assert_eq!(json["rows"][0]["c0"].as_f64(), Some(0.3));
        assert_eq!(json["rows"][0]["c1"].as_f64(), Some(1e15 + 1.0));
        assert_eq!(json["rows"][0]["c2"].as_f64(), Some(1.23e-9));
        let table = report.to_table();
        assert!(!table.contains("-0"), "{table}");
        assert!(!table.contains("NaN") && !table.contains("inf"), "{table}");
    }

    #[test]
    fn reported_doubles_keep_twelve_significant_digits() {
        for (value, expected) in [
            (78450.49000000006, 78450.49),
            (0.1 + 0.2, 0.3),
            (1.0 / 3.0, 0.333333333333),
            (2.0 / 3.0 * 1e20, 6.66666666667e19),
            (1.23e-9 + 1e-25, 1.23e-9),
            (-0.0, 0.0),
            (1e15 + 1.0, 1e15 + 1.0),
            (123456789012345.6, 123456789012000.0),
            (f64::MAX, 1.79769313486e308),
        ] {
            assert_eq!(reported_double(value), Some(expected), "{value:e}");
        }
        assert!(reported_double(-0.0).unwrap().is_sign_positive());
        assert_eq!(reported_double(f64::NAN), None);
        assert_eq!(reported_double(f64::NEG_INFINITY), None);
        // Integers are not doubles: they print exactly, however large.
        let report = one_row(&[(Cell::Integer(i64::MAX), Format::Integer)]);
        assert_eq!(csv_values(&report), [i64::MAX.to_string()]);
    }

    /// The example project, and a result for its default report as the statement returns
    /// it: `segment`, `parent`, `segc_row`, then each KPI, holding its own name as a value.
    fn example_result() -> (Project, ResultSet) {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let project = crate::validate::load_and_validate(root).unwrap();
        let plan = example_plan(&project);
        let kpis: Vec<String> = plan
            .kpis
            .iter()
            .map(|id| project.kpi(*id).name.clone())
            .collect();
        let mut columns: Vec<String> = crate::plan::output::ROW_COLUMNS
            .iter()
            .map(|name| name.to_string())
            .collect();
        columns.extend(kpis.iter().cloned());
        let rows = plan
            .rows
            .iter()
            .map(|row| {
                let parent = row
                    .parent(&project)
                    .map_or(Cell::Null, |p| Cell::Text(p.into()));
                let mut cells = vec![
                    Cell::Text(row.name(&project).into()),
                    parent,
                    Cell::Integer(row.ordinal as i64),
                ];
                cells.extend(kpis.iter().map(|kpi| Cell::Text(kpi.clone())));
                cells
            })
            .collect();
        (project, ResultSet { columns, rows })
    }

    fn example_plan(project: &Project) -> Plan<'_> {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 10, 31).unwrap();
        Plan::new(project, &crate::plan::ReportOptions::default(), day).unwrap()
    }

    /// Reorders every row of `result` (and its header) as `order` gives the old positions.
    fn reordered(result: &ResultSet, order: &[usize]) -> ResultSet {
        let pick = |cells: &[Cell]| order.iter().map(|at| cells[*at].clone()).collect();
        ResultSet {
            columns: order.iter().map(|at| result.columns[*at].clone()).collect(),
            rows: result.rows.iter().map(|row| pick(row)).collect(),
        }
    }

    #[test]
    fn results_are_read_by_column_name() {
        let (project, result) = example_result();
        let plan = example_plan(&project);
        let report = Report::from_result(&plan, "t", &result).unwrap();
        assert!(report.rows.iter().any(|row| row.parent.is_some()));
        for row in &report.rows {
            for (column, value) in report.columns.iter().zip(&row.values) {
                assert_eq!(value, &Cell::Text(column.name.clone()), "{}", row.segment);
            }
        }
        // Columns in any order read the same.
        let backwards: Vec<usize> = (0..result.columns.len()).rev().collect();
        let shuffled = reordered(&result, &backwards);
        assert_eq!(Report::from_result(&plan, "t", &shuffled).unwrap(), report);
        // A name a warehouse folded to another case is accepted where the statement put it.
        let mut folded = result.clone();
        folded.columns = folded.columns.iter().map(|c| c.to_uppercase()).collect();
        assert_eq!(Report::from_result(&plan, "t", &folded).unwrap(), report);
        // A missing column is named.
        let mut missing = result.clone();
        missing.columns[1] = "something_else".into();
        let error = Report::from_result(&plan, "t", &missing).unwrap_err();
        assert!(error.to_string().contains("no column `parent`"), "{error}");
    }

    /// A row that is not the segment planned at its place fails loudly, rather than printing
    /// one segment's numbers under another's name.
    #[test]
    fn a_row_naming_another_segment_is_refused() {
        let (project, result) = example_result();
        let plan = example_plan(&project);
        let mut swapped = result.clone();
        let (first, second) = (swapped.rows[1][0].clone(), swapped.rows[2][0].clone());
        swapped.rows[1][0] = second;
        swapped.rows[2][0] = first;
        let error = Report::from_result(&plan, "t", &swapped).unwrap_err();
        let expected = format!("expected segment `{}`", plan.rows[1].name(&project));
        assert!(error.to_string().contains(&expected), "{error}");

        let child = plan
            .rows
            .iter()
            .position(|row| row.parent(&project).is_some())
            .unwrap();
        let mut orphaned = result.clone();
        orphaned.rows[child][1] = Cell::Null;
        let error = Report::from_result(&plan, "t", &orphaned).unwrap_err();
        assert!(error.to_string().contains("with parent NULL"), "{error}");
    }

    #[test]
    fn the_table_says_when_the_as_of_day_is_the_default() {
        let mut report = one_row(&[(Cell::Integer(1), Format::Integer)]);
        assert!(report.to_table().starts_with("p as of 2026-10-31 on t\n"));
        report.as_of_note = Some("yesterday, the last complete day in Pacific/Auckland".into());
        report.compared_with = Some("2025-10-31".into());
        assert!(report.to_table().starts_with(
            "p as of 2026-10-31 (yesterday, the last complete day in Pacific/Auckland), \
             compared with 2025-10-31 on t\n"
        ));
        // CSV and JSON keep their layout: the day is in JSON's `as_of`.
        assert_eq!(report.to_json()["as_of"], "2026-10-31");
        assert!(report.to_json().get("as_of_note").is_none());
        assert!(report.to_csv().unwrap().starts_with("segment,parent,c0\n"));
    }
}
