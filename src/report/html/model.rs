//! The report's columns as the page groups them: one group per KPI, holding in a compare run
//! its prior value and its change.

use crate::driver::Cell;
use crate::ir::{Format, KpiType};

use super::super::{ColumnKind, Report, Row, grid::QuintileGrid, reported_double};

/// One KPI's columns, by their index in the report.
#[derive(Debug, Clone)]
pub struct KpiGroup {
    pub name: String,
    pub label: String,
    pub format: Format,
    pub value_type: KpiType,
    pub value: usize,
    pub prior: Option<usize>,
    /// `value − prior`.
    pub change: Option<usize>,
    /// `(value − prior) / prior`.
    pub change_pct: Option<usize>,
}

impl KpiGroup {
    /// Numbers can be drawn; dates and texts are only listed.
    pub fn numeric(&self) -> bool {
        matches!(self.value_type, KpiType::Integer | KpiType::Double)
    }
}

/// The KPIs of a report with their columns: in a compare run the prior value and the
/// changes (by their [`ColumnKind`]) join the KPI they follow.
pub fn groups(report: &Report) -> Vec<KpiGroup> {
    let mut groups: Vec<KpiGroup> = Vec::new();
    for (index, column) in report.columns.iter().enumerate() {
        if let Some(group) = groups.last_mut() {
            let slot = match column.kind {
                ColumnKind::Value => None,
                ColumnKind::Prior => Some(&mut group.prior),
                ColumnKind::Change | ColumnKind::PointChange => Some(&mut group.change),
                ColumnKind::RelativeChange => Some(&mut group.change_pct),
            };
            if let Some(slot) = slot.filter(|slot| slot.is_none()) {
                *slot = Some(index);
                continue;
            }
        }
        groups.push(KpiGroup {
            name: column.name.clone(),
            label: column.label.clone(),
            format: column.format,
            value_type: column.value_type,
            value: index,
            prior: None,
            change: None,
            change_pct: None,
        });
    }
    groups
}

/// The rows a chart draws: every row but the cells of the quintile grid, which the heat map
/// shows.
pub fn charted_rows<'r>(report: &'r Report, grid: Option<&QuintileGrid>) -> Vec<&'r Row> {
    report
        .rows
        .iter()
        .filter(|row| grid.is_none_or(|grid| grid.cell(&row.segment).is_none()))
        .collect()
}

/// A cell as a number to draw, as every output prints it; `None` for NULL and non-numbers.
pub fn number(cell: &Cell) -> Option<f64> {
    match cell {
        Cell::Double(v) => reported_double(*v),
        Cell::Integer(v) => Some(*v as f64),
        _ => None,
    }
}

/// The change of a compare run as people read it: for a percent KPI the difference in
/// percentage points (`+1.2 pp`), for others the relative change (`+3.4%`); `None` when there
/// is none (a NULL, or a prior of 0).
pub fn change_text(group: &KpiGroup, row: &Row) -> Option<String> {
    // Times 100 to one decimal as the table prints it: grouped, and in scientific notation
    // past 2^53, whose digits past the twelfth would be noise.
    let signed = |cell: &Cell, unit: &str| {
        let value = number(cell)?;
        let text = crate::report::table::hundredfold_magnitude(cell)?;
        let zero = text.chars().all(|c| matches!(c, '0' | '.' | ','));
        let sign = if zero {
            "±"
        } else if value < 0.0 {
            "−"
        } else {
            "+"
        };
        Some(format!("{sign}{text}{unit}"))
    };
    if group.format == Format::Percent {
        signed(&row.values[group.change?], " pp")
    } else {
        signed(&row.values[group.change_pct?], "%")
    }
}
