//! The report as a table for people: formatted values, children indented.

use crate::driver::Cell;
use crate::ir::Format;
use crate::terminal::{printable, wrap};

use super::fit::{Grid, GridRow, fit};
use super::plain::plain_text;
use super::{ColumnKind, Report, definition_note_text, reported_double};

/// What to do about KPIs left out of a table too wide for the terminal.
const KPI_HINT: &str = "pick KPIs with -k NAME,NAME or see all with --output html";

impl Report {
    /// A table for people: children indented under their parent, percents and currency
    /// formatted, every text with its control characters escaped (one line per cell).
    pub fn to_table(&self) -> String {
        self.to_table_within(None)
    }

    /// [`Report::to_table`] for a terminal `width` columns wide (in full when `None`): a
    /// table wider than that is transposed (KPIs as rows) when that fits, else shows the
    /// first KPIs that fit with a note; no line is wider than `width`.
    pub fn to_table_within(&self, width: Option<usize>) -> String {
        self.titled(&self.grid(), width, Some("KPI"))
    }

    /// [`Report::to_table_within`] for the matrix of `segc overlap` ([`Report::from_overlap`]),
    /// whose columns are segments: a matrix too wide shows its first segments' columns, with
    /// a note on choosing segments.
    pub fn to_overlap_table_within(&self, width: Option<usize>) -> String {
        let grid = Grid {
            noun: "segments",
            hint: "pick segments with -s NAME,NAME or see all with --output csv",
            ..self.grid()
        };
        self.titled(&grid, width, None)
    }

    /// The title, then `grid` fitted to `width` (see [`fit`]).
    fn titled(&self, grid: &Grid, width: Option<usize>, transposed_corner: Option<&str>) -> String {
        let title = format!("{}\n", self.title());
        let title = match width {
            Some(width) => wrap(&title, width),
            None => title,
        };
        let note = self.definition_note(width);
        format!("{title}{}{note}", fit(grid, width, transposed_corner))
    }

    /// The note under a table whose segments' definitions changed during the period (empty
    /// when none did), wrapped to `width`.
    pub(super) fn definition_note(&self, width: Option<usize>) -> String {
        let Some(changed) = self.changed_segments() else {
            return String::new();
        };
        let names: Vec<String> = changed.iter().map(|s| printable(s).into_owned()).collect();
        let note = format!("{}\n", definition_note_text(&names));
        match width {
            Some(width) => wrap(&note, width),
            None => note,
        }
    }

    /// `saas_demo as of 2026-10-31 (why that day), compared with 2025-10-31 on local`.
    pub(super) fn title(&self) -> String {
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
            "{} as of {}{note}{compared} on {}",
            printable(&self.project),
            printable(&self.as_of),
            printable(&self.target)
        )
    }

    /// Each row's label as printed: indented under its parent.
    pub(super) fn row_labels(&self) -> Vec<String> {
        self.rows
            .iter()
            .map(|row| {
                format!(
                    "{}{}{}",
                    "  ".repeat(row.depth),
                    if row.depth > 0 { "└ " } else { "" },
                    printable(&row.label)
                )
            })
            .collect()
    }

    /// The segment × KPI grid, a KPI's compare columns grouped with it.
    pub(super) fn grid(&self) -> Grid {
        let mut groups = Vec::with_capacity(self.columns.len());
        for column in &self.columns {
            let last = groups.last().copied();
            groups.push(match (last, column.kind) {
                (None, _) => 0,
                (Some(last), ColumnKind::Value) => last + 1,
                (Some(last), _) => last,
            });
        }
        let rows = self
            .row_labels()
            .into_iter()
            .zip(&self.rows)
            .map(|(label, row)| GridRow {
                label,
                cells: self
                    .columns
                    .iter()
                    .zip(&row.values)
                    .map(|(column, value)| {
                        let text =
                            column_value(value, column.format, column.kind, &self.currency_symbol);
                        printable(&text).into_owned()
                    })
                    .collect(),
            })
            .collect();
        Grid {
            corner: "segment".into(),
            columns: self
                .columns
                .iter()
                .map(|column| printable(&column.label).into_owned())
                .collect(),
            groups,
            rows,
            noun: "KPIs",
            hint: KPI_HINT,
        }
    }
}

/// A value as its column prints it: a change of a percent KPI in percentage points.
pub(super) fn column_value(
    cell: &Cell,
    format: Format,
    kind: ColumnKind,
    currency: &str,
) -> String {
    match (kind, reported_number(cell)) {
        (ColumnKind::PointChange, Some(number)) => format!("{} pp", hundredfold(cell, number)),
        _ => format_value(cell, format, currency),
    }
}

/// A fraction's cell times 100, to one decimal and without its sign, as the table prints a
/// percent (grouped, or in scientific notation past 2^53): the HTML page's change cells.
pub(crate) fn hundredfold_magnitude(cell: &Cell) -> Option<String> {
    Some(hundredfold(cell, reported_number(cell)?.abs()))
}

/// Whether a cell is a double whose value times `scale` is past 2^53, decided before it is
/// rounded to the digits it is reported to: 2^53 itself is reported as 9.00719925474e15,
/// which is below it, and printed in plain digits would look exact (`9,007,199,254,740,000`).
fn past_exact(cell: &Cell, scale: f64) -> bool {
    matches!(cell, Cell::Double(v) if (v * scale).abs() >= super::EXACT_WHOLE_DOUBLES)
}

/// A cell's number as printed: integers as they are, doubles through [`reported_double`].
fn reported_number(cell: &Cell) -> Option<f64> {
    match cell {
        Cell::Double(v) => reported_double(*v),
        other => other.as_f64(),
    }
}

/// `1234567.891` → `1,234,567.89`. A value past 2^53, whose every digit beyond the 12 it is
/// reported to would be the double's noise, in scientific notation: `1.79769313486e+308`.
fn grouped(value: f64, decimals: usize) -> String {
    if value.abs() >= super::EXACT_WHOLE_DOUBLES {
        return scientific(value, 0);
    }
    digits_grouped(super::fixed(value.abs(), decimals), value < 0.0)
}

/// A fraction as a percent (times 100) to one decimal, in scientific notation where the
/// product is past 2^53 (or past the doubles: `2.5e307` is `2.5e+309`%). `value` is `cell`'s
/// number as reported (its sign may be dropped); whether it is past 2^53 is decided on the
/// cell's own double ([`past_exact`]).
fn hundredfold(cell: &Cell, value: f64) -> String {
    let percent = value * 100.0;
    if past_exact(cell, 100.0) {
        scientific(value, 2)
    } else if percent.is_finite() {
        grouped(percent, 1)
    } else {
        scientific(value, 2)
    }
}

/// `value` × 10^`shift` in scientific notation, to the digits it is reported to: `1.5e+20`.
fn scientific(value: f64, shift: i32) -> String {
    let text = format!("{value:.*e}", super::SIGNIFICANT_DIGITS - 1);
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let mantissa = match mantissa.split_once('.') {
        Some((whole, digits)) if !digits.trim_end_matches('0').is_empty() => {
            format!("{whole}.{}", digits.trim_end_matches('0'))
        }
        Some((whole, _)) => whole.to_string(),
        None => mantissa.to_string(),
    };
    // Signed as the JSON output writes it: `1.5e+20`, `1.5e-7`.
    let exponent = exponent.parse::<i32>().unwrap_or(0) + shift;
    format!("{mantissa}e{exponent:+}")
}

/// An integer's every digit grouped (a double holds them only up to 2^53):
/// `1234567890123456789` → `1,234,567,890,123,456,789`, with `decimals` zeros.
fn integer_grouped(value: i64, decimals: usize) -> String {
    let mut text = value.unsigned_abs().to_string();
    if decimals > 0 {
        text.push('.');
        text.push_str(&"0".repeat(decimals));
    }
    digits_grouped(text, value < 0)
}

/// The digits of `text` (an absolute value, `1234.5`) grouped by thousands, signed.
fn digits_grouped(text: String, negative: bool) -> String {
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
    if negative && out.chars().any(|c| c.is_ascii_digit() && c != '0') {
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
    // An integer keeps every digit; a percent is a fraction times 100.
    let amount = |decimals: usize| match cell {
        Cell::Integer(value) => integer_grouped(*value, decimals),
        _ if past_exact(cell, 1.0) => scientific(number, 0),
        _ => grouped(number, decimals),
    };
    match format {
        Format::Percent => format!("{}%", hundredfold(cell, number)),
        Format::Currency => {
            let text = amount(2);
            match text.strip_prefix('-') {
                Some(rest) => format!("-{currency}{rest}"),
                None => format!("{currency}{text}"),
            }
        }
        Format::Integer => amount(0),
        Format::Number => amount(2),
    }
}
