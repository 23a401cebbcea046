//! A month series (`--grain month`): one line chart per KPI, a line per segment (`all_users`
//! in black), a legend, and the values on hover (the script reads each line's `data-values`).

use crate::driver::Cell;

use super::super::grid::QuintileGrid;
use super::super::{Report, format_value};
use super::bars::shorten;
use super::escape::{coordinate as c, esc};
use super::model::{KpiGroup, charted_rows, number};

const LEFT: f64 = 80.0;
const RIGHT: f64 = 600.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 276.0;
const LEGEND_X: f64 = 620.0;
const LEGEND_STEP: f64 = 14.0;
const WIDTH: f64 = 900.0;

/// Line colours, one per segment in turn; after ten the dashes differ too.
const PALETTE: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];
const DASHES: [&str; 3] = ["", "6 3", "2 2"];

/// The charts of every numeric KPI over the periods of a series.
pub fn charts(
    periods: &[(String, Report)],
    groups: &[KpiGroup],
    grid: Option<&QuintileGrid>,
) -> String {
    let Some((_, last)) = periods.last() else {
        return String::new();
    };
    let segments: Vec<(&str, &str, usize)> = charted_rows(last, grid)
        .into_iter()
        .map(|row| (row.segment.as_str(), row.label.as_str(), row.depth))
        .collect();
    let charts: String = groups
        .iter()
        .filter(|group| group.numeric())
        .map(|group| chart(periods, group, &segments))
        .collect();
    format!("{}{charts}", legend(&segments))
}

/// The colour, dashes and width of the line of the segment drawn `order`th (`all_users`
/// first, in black).
fn line_style(order: usize) -> String {
    let (colour, dash, width) = match order {
        0 => ("#111", "", "3"),
        n => (PALETTE[(n - 1) % 10], DASHES[((n - 1) / 10) % 3], "1.6"),
    };
    let dash = if dash.is_empty() {
        String::new()
    } else {
        format!(" stroke-dasharray=\"{dash}\"")
    };
    format!(" stroke=\"{colour}\" stroke-width=\"{width}\"{dash}")
}

/// The legend, written once and shown beside every chart (SVG `<use>`).
fn legend(segments: &[(&str, &str, usize)]) -> String {
    let mut out = String::from(
        "<svg class=\"defs\" width=\"0\" height=\"0\" aria-hidden=\"true\"><defs><g id=\"line-legend\" font-size=\"11\" fill=\"#5b6678\">",
    );
    for (order, (_, label, depth)) in segments.iter().enumerate() {
        let y = TOP + LEGEND_STEP * order as f64;
        out.push_str(&format!(
            "<line x1=\"{LEGEND_X}\" x2=\"{}\" y1=\"{y}\" y2=\"{y}\"{}/><text class=\"legend\" x=\"{}\" y=\"{}\">{}</text>",
            LEGEND_X + 18.0,
            line_style(order),
            LEGEND_X + 24.0 + 8.0 * *depth as f64,
            c(y + 4.0),
            esc(&shorten(label, 34)),
            y = c(y),
        ));
    }
    out.push_str("</g></defs></svg>\n");
    out
}

/// The value of `segment`'s KPI column `column` in each period, by segment name.
fn series(periods: &[(String, Report)], segment: &str, column: usize) -> Vec<Cell> {
    periods
        .iter()
        .map(|(_, report)| {
            report
                .rows
                .iter()
                .find(|row| row.segment == segment)
                .and_then(|row| row.values.get(column).cloned())
                .unwrap_or(Cell::Null)
        })
        .collect()
}

fn chart(
    periods: &[(String, Report)],
    group: &KpiGroup,
    segments: &[(&str, &str, usize)],
) -> String {
    let currency = &periods[0].1.currency_symbol;
    let all: Vec<Vec<Cell>> = segments
        .iter()
        .map(|(segment, _, _)| series(periods, segment, group.value))
        .collect();
    let numbers = all.iter().flatten().filter_map(number);
    let (low, high) = ticks_range(numbers);
    let ticks = nice_ticks(low, high);
    let (low, high) = (ticks[0], ticks[ticks.len() - 1]);
    let step = if periods.len() > 1 {
        (RIGHT - LEFT) / (periods.len() - 1) as f64
    } else {
        0.0
    };
    let x = |index: usize| LEFT + step * index as f64;
    let y = |value: f64| BOTTOM - super::share_of_range(value, low, high) * (BOTTOM - TOP);
    let mut svg = String::new();
    for tick in &ticks {
        let text = format_value(&Cell::Double(*tick), group.format, currency);
        svg.push_str(&format!(
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{RIGHT}\" y1=\"{y}\" y2=\"{y}\"/><text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            c(LEFT - 6.0),
            c(y(*tick) + 4.0),
            esc(&text),
            y = c(y(*tick)),
        ));
    }
    let every = periods.len().div_ceil(7).max(1);
    for (index, (label, _)) in periods.iter().enumerate().step_by(every) {
        svg.push_str(&format!(
            "<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            c(x(index)),
            c(BOTTOM + 16.0),
            esc(label)
        ));
    }
    for (order, ((segment, label, _), cells)) in segments.iter().zip(&all).enumerate() {
        let mut path = String::new();
        let mut pen_down = false;
        for (index, cell) in cells.iter().enumerate() {
            match number(cell) {
                Some(value) => {
                    let command = if pen_down { 'L' } else { 'M' };
                    path.push_str(&format!("{command}{} {}", c(x(index)), c(y(value))));
                    pen_down = true;
                }
                None => pen_down = false,
            }
        }
        let values: Vec<String> = cells
            .iter()
            .map(|cell| format_value(cell, group.format, currency))
            .collect();
        svg.push_str(&format!(
            "<path class=\"line\" data-segment=\"{}\" data-values=\"{}\" d=\"{path}\"{}><title>{}</title></path>",
            esc(segment),
            esc(&values.join("|")),
            line_style(order),
            esc(label)
        ));
    }
    svg.push_str("<use href=\"#line-legend\"/>");
    let height = (BOTTOM + 28.0).max(TOP + LEGEND_STEP * segments.len() as f64 + 8.0);
    let months: Vec<String> = periods.iter().map(|(label, _)| esc(label)).collect();
    format!(
        "<figure class=\"chart\" data-kpi=\"{name}\"><figcaption>{label}</figcaption>\
         <svg class=\"lines\" viewBox=\"0 0 {WIDTH} {h}\" width=\"{WIDTH}\" height=\"{h}\" role=\"img\" aria-label=\"{label} per month\" \
         data-left=\"{LEFT}\" data-step=\"{}\" data-months=\"{}\">{svg}</svg></figure>\n",
        c(step),
        months.join("|"),
        name = esc(&group.name),
        label = esc(&group.label),
        h = c(height),
    )
}

/// The range of the values, holding 0 when they are all of one sign and near it.
fn ticks_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut low, mut high) = (f64::INFINITY, f64::NEG_INFINITY);
    for value in values {
        low = low.min(value);
        high = high.max(value);
    }
    if !low.is_finite() {
        return (0.0, 1.0);
    }
    if low > 0.0 && low < high * 0.5 {
        low = 0.0;
    }
    if high < 0.0 && high > low * 0.5 {
        high = 0.0;
    }
    (low, high)
}

/// Four to eight round ticks covering `[low, high]`: steps of 1, 2 or 5 times a power of ten.
pub fn nice_ticks(low: f64, high: f64) -> Vec<f64> {
    let (low, high) = if high > low {
        (low, high)
    } else {
        (low - 1.0, low + 1.0)
    };
    // Values spanning more than the doubles (from -1e308 to 1e308): the two ends alone.
    if !(high - low).is_finite() {
        return vec![low, high];
    }
    let raw = (high - low) / 5.0;
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|step| (high - low) / step <= 6.0)
        .unwrap_or(10.0 * power);
    // Ticks are whole multiples of the step, printed to the step's decimals: 0.15, not
    // 0.15000000000000002.
    let decimals = (-step.log10().floor()).max(0.0) as usize + 1;
    let tick = |multiple: f64| {
        format!("{:.*}", decimals, multiple * step)
            .parse::<f64>()
            .unwrap_or(multiple * step)
    };
    let first = (low / step).floor();
    let mut ticks = vec![tick(first)];
    let mut multiple = first;
    while ticks.last().is_some_and(|last| *last < high - step * 1e-9) && ticks.len() < 20 {
        multiple += 1.0;
        ticks.push(tick(multiple));
    }
    if ticks.len() < 2 {
        ticks.push(tick(first + 1.0));
    }
    ticks
}
