//! A series run: one report per period, read from one result and printed together.

use serde_json::{Value as Json, json};

use crate::driver::{Cell, ResultSet};
use crate::error::Error;
use crate::plan::Plan;
use crate::terminal::{printable, wrap};

use super::fit::{Grid, GridRow, fit};
use super::plain::plain_text;
use super::table::column_value;
use super::{ColumnKind, Report};

/// How a series run is laid out in the table and CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// One report per month, one after the other (CSV: a row per month and segment).
    #[default]
    Long,
    /// Segment × month, one block per KPI (CSV: a row per segment and KPI, a column per month).
    Wide,
}

/// What to do about months left out of a wide table too wide for the terminal.
const MONTH_HINT: &str = "pick months with --from/--to or see all with --output html";

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

/// The reports of a series run as one CSV:
/// `period,as_of,period_start,period_end,segment,parent,<kpis>`.
pub fn series_csv(reports: &[(String, Report)]) -> Result<String, Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let failed = |e: csv::Error| Error::Query(e.to_string());
    if let Some((_, first)) = reports.first() {
        let mut header = vec!["period".to_string()];
        header.extend(super::plain::DAY_COLUMNS.iter().map(|s| s.to_string()));
        header.extend(["segment".to_string(), "parent".to_string()]);
        header.extend(first.columns.iter().map(|c| c.name.clone()));
        if first.definition_changed.is_some() {
            header.push("definition_changed".into());
        }
        writer.write_record(&header).map_err(failed)?;
    }
    for (label, report) in reports {
        for row in &report.rows {
            let mut record = vec![label.clone()];
            record.extend(report.days());
            record.extend([row.segment.clone(), row.parent.clone().unwrap_or_default()]);
            record.extend(row.values.iter().map(plain_text));
            if let Some(changed) = &report.definition_changed {
                record.push(changed.contains(&row.segment).to_string());
            }
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
            json!({
                "period": label,
                "as_of": report.as_of,
                "period_start": report.period_start.to_string(),
                "period_end": report.period_end.to_string(),
                "rows": report.to_json()["rows"],
            })
        })
        .collect();
    json!({ "project": first.project, "target": first.target, "grain": "month", "columns": whole["columns"], "periods": periods })
}

/// The reports of a series run as tables, one per period.
pub fn series_table(reports: &[(String, Report)]) -> String {
    series_table_within(reports, Layout::Long, None)
}

/// The reports of a series run as tables for a terminal `width` columns wide (in full when
/// `None`; see [`Report::to_table_within`]): one per period, or with [`Layout::Wide`] one
/// segment × month block per KPI.
pub fn series_table_within(
    reports: &[(String, Report)],
    layout: Layout,
    width: Option<usize>,
) -> String {
    if layout == Layout::Wide {
        return wide_table(reports, width);
    }
    reports
        .iter()
        .map(|(label, report)| {
            let title = format!("{}: {}\n", printable(label), report.title());
            let title = match width {
                Some(width) => wrap(&title, width),
                None => title,
            };
            format!(
                "{title}{}{}",
                fit(&report.grid(), width, Some("KPI")),
                report.definition_note(width)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Segment × month, one block per KPI under its label.
fn wide_table(reports: &[(String, Report)], width: Option<usize>) -> String {
    let Some((_, first)) = reports.first() else {
        return String::new();
    };
    let (from, to) = (&reports[0].0, &reports[reports.len() - 1].0);
    let title = format!(
        "{} month by month, {}..{}, each month as of its last day, on {}\n",
        printable(&first.project),
        printable(from),
        printable(to),
        printable(&first.target)
    );
    let mut out = match width {
        Some(width) => wrap(&title, width),
        None => title,
    };
    let months: Vec<String> = reports
        .iter()
        .map(|(label, _)| printable(label).into_owned())
        .collect();
    for (index, column) in first.columns.iter().enumerate() {
        let rows = first
            .row_labels()
            .into_iter()
            .enumerate()
            .map(|(row, label)| GridRow {
                label,
                cells: reports
                    .iter()
                    .map(|(_, report)| {
                        let value = cell_at(report, row, index);
                        let text = column_value(
                            value,
                            column.format,
                            ColumnKind::Value,
                            &report.currency_symbol,
                        );
                        printable(&text).into_owned()
                    })
                    .collect(),
            })
            .collect();
        let grid = Grid {
            noun: "months",
            hint: MONTH_HINT,
            ..Grid::with_columns("segment", months.clone(), rows)
        };
        let label = format!("\n{}\n", printable(&column.label));
        out.push_str(&match width {
            Some(width) => wrap(&label, width),
            None => label,
        });
        out.push_str(&fit(&grid, width, Some("month")));
    }
    for (label, report) in reports {
        let note = report.definition_note(None);
        if !note.is_empty() {
            let note = format!("{}: {note}", printable(label));
            out.push_str(&match width {
                Some(width) => wrap(&note, width),
                None => note,
            });
        }
    }
    out
}

/// The value of KPI column `column` in row `row` of a period's report (every period reports
/// the same rows and KPIs).
fn cell_at(report: &Report, row: usize, column: usize) -> &Cell {
    report
        .rows
        .get(row)
        .and_then(|row| row.values.get(column))
        .unwrap_or(&Cell::Null)
}

/// The reports of a series run as one CSV with [`Layout::Wide`]: `segment,parent,kpi`, then
/// a column per month (its `YYYY-MM` label); a row per KPI and segment, KPI by KPI.
pub fn series_wide_csv(reports: &[(String, Report)]) -> Result<String, Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let failed = |e: csv::Error| Error::Query(e.to_string());
    let mut header: Vec<String> = ["segment", "parent", "kpi"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    header.extend(reports.iter().map(|(label, _)| label.clone()));
    writer.write_record(&header).map_err(failed)?;
    if let Some((_, first)) = reports.first() {
        for (index, column) in first.columns.iter().enumerate() {
            for (position, row) in first.rows.iter().enumerate() {
                let mut record = vec![
                    row.segment.clone(),
                    row.parent.clone().unwrap_or_default(),
                    column.name.clone(),
                ];
                record.extend(
                    reports
                        .iter()
                        .map(|(_, report)| plain_text(cell_at(report, position, index))),
                );
                writer.write_record(&record).map_err(failed)?;
            }
        }
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| Error::Query(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| Error::Query(e.to_string()))
}
