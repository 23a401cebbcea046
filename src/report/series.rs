//! A series run: one report per period, read from one result and printed together.

use serde_json::{Value as Json, json};

use crate::driver::{Cell, ResultSet};
use crate::error::Error;
use crate::plan::Plan;
use crate::terminal::printable;

use super::Report;
use super::plain::plain_text;

impl Report {
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
