//! The report as CSV and JSON: values unformatted, every stored digit kept.

use chrono::{NaiveDateTime, Timelike};
use serde_json::{Map, Value as Json, json};

use crate::driver::Cell;
use crate::error::Error;

use super::{Report, reported_double};

impl Report {
    pub fn to_json(&self) -> Json {
        // A compare run says what each column holds: the value, the prior value, a change
        // in the KPI's unit, in percentage points (of a percent KPI), or relative.
        let compare = self.compared_with.is_some();
        let columns: Vec<Json> = self
            .columns
            .iter()
            .map(|c| {
                let mut column =
                    json!({ "name": c.name, "label": c.label, "format": c.format_name() });
                if compare {
                    column["kind"] = json!(c.kind.name());
                }
                column
            })
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
                if let Some(changed) = &self.definition_changed {
                    object.insert(
                        "definition_changed".into(),
                        json!(changed.contains(&row.segment)),
                    );
                }
                Json::Object(object)
            })
            .collect();
        let mut document = json!({
            "project": self.project,
            "target": self.target,
            "as_of": self.as_of,
            "period_start": self.period_start.to_string(),
            "period_end": self.period_end.to_string(),
            "columns": columns,
            "rows": rows,
        });
        if let Some(prior) = &self.compared_with {
            document["compared_with"] = json!(prior);
        }
        document
    }

    /// The report's days, then one header row of KPI names; values unformatted (fractions,
    /// plain numbers): `as_of,period_start,period_end,segment,parent,<kpis>`, so that rows
    /// of many runs appended together still say which day each one is about.
    pub fn to_csv(&self) -> Result<String, Error> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let mut header: Vec<String> = DAY_COLUMNS.iter().map(|c| c.to_string()).collect();
        header.extend(["segment".to_string(), "parent".to_string()]);
        header.extend(self.columns.iter().map(|c| c.name.clone()));
        if self.definition_changed.is_some() {
            header.push("definition_changed".into());
        }
        writer
            .write_record(&header)
            .map_err(|e| Error::Query(e.to_string()))?;
        for row in &self.rows {
            let mut record = self.days();
            record.extend([row.segment.clone(), row.parent.clone().unwrap_or_default()]);
            record.extend(row.values.iter().map(plain_text));
            if let Some(changed) = &self.definition_changed {
                record.push(changed.contains(&row.segment).to_string());
            }
            writer
                .write_record(&record)
                .map_err(|e| Error::Query(e.to_string()))?;
        }
        let bytes = writer
            .into_inner()
            .map_err(|e| Error::Query(e.to_string()))?;
        String::from_utf8(bytes).map_err(|e| Error::Query(e.to_string()))
    }

    /// The values of [`DAY_COLUMNS`] for this report.
    pub(super) fn days(&self) -> Vec<String> {
        vec![
            self.as_of.clone(),
            self.period_start.to_string(),
            self.period_end.to_string(),
        ]
    }
}

/// The CSV columns that say which days a row is about: the as-of day and the first and last
/// day of the report's period.
pub const DAY_COLUMNS: [&str; 3] = ["as_of", "period_start", "period_end"];

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

/// A reported double spelled as in the JSON output, without its `.0` for a whole number:
/// `0.3`, `26`, `1.23e-9`, `1.79769313486e+308` (not 309 digits of the double's expansion).
fn number_text(value: f64) -> String {
    let text = serde_json::Number::from_f64(value)
        .map(|number| number.to_string())
        .unwrap_or_default();
    match text.strip_suffix(".0") {
        Some(whole) => whole.to_string(),
        None => text,
    }
}

pub(super) fn plain_text(cell: &Cell) -> String {
    match cell {
        Cell::Null => String::new(),
        Cell::Integer(v) => v.to_string(),
        Cell::Double(v) => reported_double(*v).map(number_text).unwrap_or_default(),
        Cell::Text(s) => s.clone(),
        Cell::Date(d) => d.format("%Y-%m-%d").to_string(),
        Cell::Timestamp(t) => timestamp_text(t),
        Cell::Boolean(b) => b.to_string(),
    }
}
