//! One horizontal bar chart per KPI: a bar per segment, the `all_users` value as a dashed
//! reference line; in a compare run the prior period's bar under the current one and the
//! change beside it (percentage points for a percent KPI, a relative change otherwise).

use super::super::grid::QuintileGrid;
use super::super::{Report, Row};
use super::escape::{coordinate as c, data_value, esc, formatted};
use super::model::{KpiGroup, change_text, charted_rows, number};

const WIDTH: f64 = 860.0;
const LABEL_WIDTH: f64 = 250.0;
/// Where the bars' area starts and ends.
const LEFT: f64 = LABEL_WIDTH + 10.0;
const RIGHT: f64 = 640.0;
const TOP: f64 = 24.0;

/// The charts of every numeric KPI of `report`.
pub fn charts(report: &Report, groups: &[KpiGroup], grid: Option<&QuintileGrid>) -> String {
    let rows = charted_rows(report, grid);
    groups
        .iter()
        .filter(|group| group.numeric())
        .map(|group| chart(report, group, &rows))
        .collect()
}

/// A value's scale: `[low, high]` always holds 0, so every bar starts at 0.
struct Scale {
    low: f64,
    high: f64,
}

impl Scale {
    fn of(values: impl Iterator<Item = f64>) -> Scale {
        let (mut low, mut high) = (0.0_f64, 0.0_f64);
        for value in values {
            low = low.min(value);
            high = high.max(value);
        }
        if high == low {
            high = low + 1.0;
        }
        Scale { low, high }
    }

    fn x(&self, value: f64) -> f64 {
        LEFT + super::share_of_range(value, self.low, self.high) * (RIGHT - LEFT)
    }
}

fn chart(report: &Report, group: &KpiGroup, rows: &[&Row]) -> String {
    let compare = group.prior.is_some();
    let step = if compare { 28.0 } else { 20.0 };
    let values = rows.iter().flat_map(|row| {
        [Some(group.value), group.prior]
            .into_iter()
            .flatten()
            .filter_map(|column| number(&row.values[column]))
    });
    let scale = Scale::of(values);
    let height = TOP + step * rows.len() as f64 + 8.0;
    let mut svg = String::new();
    for (index, row) in rows.iter().enumerate() {
        svg.push_str(&bar(report, group, row, &scale, TOP + step * index as f64));
    }
    // The axis at 0, and the all-users value as the reference.
    let zero = c(scale.x(0.0));
    svg.push_str(&format!(
        "<line class=\"axis\" x1=\"{zero}\" x2=\"{zero}\" y1=\"{}\" y2=\"{}\"/>",
        c(TOP - 4.0),
        c(height - 4.0)
    ));
    let baseline = report
        .rows
        .first()
        .filter(|row| row.segment == crate::plan::ALL_USERS)
        .map(|row| &row.values[group.value]);
    if let Some((cell, value)) = baseline.and_then(|cell| Some((cell, number(cell)?))) {
        let x = c(scale.x(value));
        svg.push_str(&format!(
            "<line class=\"reference\"{} x1=\"{x}\" x2=\"{x}\" y1=\"{}\" y2=\"{}\"/>\
             <text class=\"reference-label\" x=\"{x}\" y=\"{}\" text-anchor=\"middle\">All users: {}</text>",
            data_value(cell),
            c(TOP - 8.0),
            c(height - 4.0),
            c(TOP - 12.0),
            formatted(cell, group.format, &report.currency_symbol),
        ));
    }
    let legend = if compare {
        " <span class=\"legend\"><i class=\"current\"></i>current <i class=\"prior\"></i>prior</span>"
    } else {
        ""
    };
    format!(
        "<figure class=\"chart\" data-kpi=\"{name}\"><figcaption>{label}{legend}</figcaption>\
         <svg class=\"bars\" viewBox=\"0 0 {WIDTH} {h}\" width=\"{WIDTH}\" height=\"{h}\" role=\"img\" aria-label=\"{label} per segment\">{svg}</svg></figure>\n",
        name = esc(&group.name),
        label = esc(&group.label),
        h = c(height),
    )
}

/// One segment's row: its label, its bar (and the prior's), its value (and the change).
fn bar(report: &Report, group: &KpiGroup, row: &Row, scale: &Scale, y: f64) -> String {
    let currency = &report.currency_symbol;
    let value = &row.values[group.value];
    let mut shown = formatted(value, group.format, currency);
    let mut tip = format!("{}: {shown}", esc(&row.label));
    if let Some(prior) = group.prior {
        let prior_text = formatted(&row.values[prior], group.format, currency);
        tip.push_str(&format!(", prior {prior_text}"));
        if let Some(change) = change_text(group, row) {
            tip.push_str(&format!(", {change}"));
            shown = format!("{shown} <tspan class=\"change\">{change}</tspan>");
        }
    }
    let class = if row.segment == crate::plan::ALL_USERS {
        "baseline"
    } else {
        "segment"
    };
    let indent = 6.0 + 12.0 * row.depth as f64;
    let mut out = format!(
        "<g class=\"{class}\" data-segment=\"{}\"><title>{tip}</title>\
         <text class=\"label\" x=\"{}\" y=\"{}\">{}</text>",
        esc(&row.segment),
        c(indent),
        c(y + 12.0),
        esc(&shorten(&row.label, 38 - 2 * row.depth.min(6))),
    );
    let mut rect = |column: usize, top: f64, thickness: f64, kind: &str| {
        if let Some(number) = number(&row.values[column]) {
            let (from, to) = (scale.x(0.0), scale.x(number));
            out.push_str(&format!(
                "<rect class=\"{kind}\"{} x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>",
                data_value(&row.values[column]),
                c(from.min(to)),
                c(top),
                c((to - from).abs().max(0.5)),
                c(thickness)
            ));
        }
    };
    match group.prior {
        Some(prior) => {
            rect(group.value, y + 2.0, 11.0, "current");
            rect(prior, y + 14.0, 8.0, "prior");
        }
        None => rect(group.value, y + 3.0, 13.0, "current"),
    }
    out.push_str(&format!(
        "<text class=\"value\" x=\"{}\" y=\"{}\">{shown}</text></g>",
        c(RIGHT + 10.0),
        c(y + 12.0)
    ));
    out
}

/// `text` cut to `limit` characters, with an ellipsis when cut.
pub fn shorten(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        text.to_string()
    } else {
        let cut: String = text.chars().take(limit.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}
