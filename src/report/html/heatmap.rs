//! The quintile grid (recency × frequency in an RFM project) as a heat map of member counts:
//! each cell is one segment of the grid (see [`QuintileGrid`]), coloured by its count.

use super::super::Report;
use super::super::grid::QuintileGrid;
use super::escape::{coordinate as c, data_value, esc, formatted};
use super::model::number;
use crate::ir::Format;

const CELL_WIDTH: f64 = 76.0;
const CELL_HEIGHT: f64 = 44.0;
const LEFT: f64 = 150.0;
const TOP: f64 = 10.0;

pub fn section(report: &Report, grid: &QuintileGrid) -> String {
    let title = format!("{} × {}", esc(&grid.rows), esc(&grid.columns));
    let column = grid.count_kpi.as_ref().and_then(|name| {
        report
            .columns
            .iter()
            .position(|column| &column.name == name)
    });
    let (Some(kpi), Some(column)) = (grid.count_kpi.as_ref(), column) else {
        return format!(
            "<section id=\"grid\"><h2>{title}</h2><p class=\"note\">Not drawn: the report has no KPI \
             that counts members (<code>agg: count</code> without <code>of</code> or <code>where</code>).</p></section>\n"
        );
    };
    let counts: Vec<(u8, u8, Option<&crate::report::Row>)> = grid
        .cells
        .iter()
        .map(|cell| {
            let row = report.rows.iter().find(|row| row.segment == cell.segment);
            (cell.row, cell.column, row)
        })
        .collect();
    let most = counts
        .iter()
        .filter_map(|(_, _, row)| row.and_then(|row| number(&row.values[column])))
        .fold(0.0_f64, f64::max);
    let mut svg = String::new();
    for row_score in (1..=5u8).rev() {
        let y = TOP + CELL_HEIGHT * f64::from(5 - row_score);
        svg.push_str(&format!(
            "<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{} {row_score}</text>",
            c(LEFT - 8.0),
            c(y + CELL_HEIGHT / 2.0 + 4.0),
            esc(&grid.rows)
        ));
        for column_score in 1..=5u8 {
            let x = LEFT + CELL_WIDTH * f64::from(column_score - 1);
            let found = counts
                .iter()
                .find(|(r, col, _)| (*r, *col) == (row_score, column_score));
            svg.push_str(&cell(
                report,
                found.and_then(|found| found.2),
                column,
                most,
                x,
                y,
            ));
        }
    }
    for column_score in 1..=5u8 {
        svg.push_str(&format!(
            "<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{column_score}</text>",
            c(LEFT + CELL_WIDTH * (f64::from(column_score) - 0.5)),
            c(TOP + CELL_HEIGHT * 5.0 + 16.0)
        ));
    }
    svg.push_str(&format!(
        "<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
        c(LEFT + CELL_WIDTH * 2.5),
        c(TOP + CELL_HEIGHT * 5.0 + 34.0),
        esc(&grid.columns)
    ));
    let width = LEFT + CELL_WIDTH * 5.0 + 10.0;
    let height = TOP + CELL_HEIGHT * 5.0 + 44.0;
    format!(
        "<section id=\"grid\"><h2>{title}</h2><p class=\"note\">Members of each segment of the grid \
         (KPI <code>{}</code>); score 5 is the best.</p>\
         <svg class=\"heatmap\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{title}\">{svg}</svg></section>\n",
        esc(kpi),
        w = c(width),
        h = c(height),
    )
}

/// One cell: its segment's count, shaded from pale (none) to dark (the most).
fn cell(
    report: &Report,
    row: Option<&crate::report::Row>,
    column: usize,
    most: f64,
    x: f64,
    y: f64,
) -> String {
    let (w, h) = (c(CELL_WIDTH - 2.0), c(CELL_HEIGHT - 2.0));
    let Some(row) = row else {
        return format!(
            "<rect class=\"empty\" x=\"{}\" y=\"{}\" width=\"{w}\" height=\"{h}\"><title>no reported segment</title></rect>",
            c(x),
            c(y)
        );
    };
    let value = &row.values[column];
    let share = number(value)
        .filter(|_| most > 0.0)
        .map_or(0.0, |count| count / most);
    let shade = |pale: f64, dark: f64| (pale + (dark - pale) * share).round() as u8;
    let fill = format!(
        "#{:02x}{:02x}{:02x}",
        shade(240.0, 31.0),
        shade(244.0, 78.0),
        shade(250.0, 140.0)
    );
    let text = formatted(value, Format::Integer, &report.currency_symbol);
    format!(
        "<g class=\"cell\" data-segment=\"{}\"><title>{}: {text}</title>\
         <rect{} x=\"{}\" y=\"{}\" width=\"{w}\" height=\"{h}\" fill=\"{fill}\"/>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" class=\"{}\">{text}</text></g>",
        esc(&row.segment),
        esc(&row.label),
        data_value(value),
        c(x),
        c(y),
        c(x + CELL_WIDTH / 2.0 - 1.0),
        c(y + CELL_HEIGHT / 2.0 + 4.0),
        if share > 0.55 { "dark" } else { "light" }
    )
}
