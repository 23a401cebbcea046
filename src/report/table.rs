//! The report as a table for people: formatted values, children indented.

use comfy_table::{Cell as TableCell, CellAlignment, ContentArrangement, Table, presets};

use crate::driver::Cell;
use crate::ir::Format;
use crate::terminal::printable;

use super::plain::plain_text;
use super::{Report, reported_double};

impl Report {
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

/// A cell's number as printed: integers as they are, doubles through [`reported_double`].
fn reported_number(cell: &Cell) -> Option<f64> {
    match cell {
        Cell::Double(v) => reported_double(*v),
        other => other.as_f64(),
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
