//! The segment table as a drill-down: `all_users` first, children collapsed under their
//! parent (a button expands them), each value formatted as its KPI's `format` says and its
//! plain value in `data-v`; headers sort (children stay under their parent, in the
//! script). The KPI chooser shows and hides a KPI's columns and chart together.

use super::super::{Report, Row, definition_note_text};
use super::escape::{data_value, esc, formatted};
use super::model::{KpiGroup, change_text};

/// The checkboxes that choose which KPIs are shown; the first `shown` are chosen at first.
pub fn chooser(groups: &[KpiGroup], shown: usize) -> String {
    let mut out = format!(
        "<section id=\"kpis\"><details><summary>KPIs shown: <span id=\"kpi-count\">{}</span> of {}</summary>\
         <p class=\"actions\"><button type=\"button\" data-choose=\"all\">All</button> \
         <button type=\"button\" data-choose=\"none\">None</button> \
         <button type=\"button\" data-choose=\"first\" data-first=\"{shown}\">First {shown}</button></p>\
         <div class=\"choices\">",
        shown.min(groups.len()),
        groups.len()
    );
    for (index, group) in groups.iter().enumerate() {
        out.push_str(&format!(
            "<label title=\"{name}\"><input type=\"checkbox\" data-kpi=\"{name}\" data-positions=\"{positions}\"{checked}> {label}</label>",
            name = esc(&group.name),
            positions = positions(groups, index)
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(" "),
            checked = if index < shown { " checked" } else { "" },
            label = esc(&group.label),
        ));
    }
    out.push_str("</div></details></section>\n");
    out
}

/// The style that hides the KPIs not chosen at first, so the page opens as the chooser says
/// even before its script runs: their table columns by position, their charts by name.
pub fn hidden_style(groups: &[KpiGroup], shown: usize) -> String {
    let mut selectors = Vec::new();
    for (index, group) in groups.iter().enumerate().skip(shown) {
        selectors.extend(
            positions(groups, index)
                .iter()
                .map(|position| format!("table.report tr>:nth-child({position})")),
        );
        // Names are letters, digits and `_`; anything else is left out of a selector.
        if group
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            selectors.push(format!("figure[data-kpi=\"{}\"]", group.name));
        }
    }
    if selectors.is_empty() {
        String::new()
    } else {
        format!("{}{{display:none}}", selectors.join(","))
    }
}

/// The positions (`:nth-child`, from 1) in a table row of group `index`'s cells; the
/// segment's cell is the first.
fn positions(groups: &[KpiGroup], index: usize) -> Vec<usize> {
    let before: usize = groups[..index]
        .iter()
        .map(|group| headers(group).len())
        .sum();
    (0..headers(&groups[index]).len())
        .map(|offset| 2 + before + offset)
        .collect()
}

/// The table of each report; of a series, a choice of period and one table per period (the
/// last shown).
pub fn tables(reports: &[(Option<&str>, &Report)], groups: &[KpiGroup]) -> String {
    let mut out = String::from("<section id=\"segments\"><h2>Segments</h2>\n");
    if reports.len() > 1 || reports.first().is_some_and(|(label, _)| label.is_some()) {
        out.push_str("<p><label>Month <select id=\"period\">");
        for (index, (label, report)) in reports.iter().enumerate() {
            let selected = if index + 1 == reports.len() {
                " selected"
            } else {
                ""
            };
            out.push_str(&format!(
                "<option value=\"{index}\"{selected}>{} (as of {})</option>",
                esc(label.unwrap_or_default()),
                esc(&report.as_of)
            ));
        }
        out.push_str("</select></label></p>\n");
    }
    for (index, (label, report)) in reports.iter().enumerate() {
        let hidden = if index + 1 == reports.len() {
            ""
        } else {
            " hidden"
        };
        out.push_str(&format!(
            "<div class=\"period\" data-index=\"{index}\" data-period=\"{}\" data-as-of=\"{}\"{hidden}>",
            esc(label.unwrap_or_default()),
            esc(&report.as_of)
        ));
        out.push_str(&table(report, groups));
        out.push_str("</div>\n");
    }
    out.push_str("</section>\n");
    out
}

fn table(report: &Report, groups: &[KpiGroup]) -> String {
    let mut out = String::from(
        "<div class=\"scroll\"><table class=\"report\"><thead><tr><th data-sort=\"label\">Segment</th>",
    );
    let mut position = 1;
    for group in groups {
        for (index, header) in headers(group) {
            let name = &report.columns[index].name;
            let class = if header.is_none() {
                " class=\"aux\""
            } else {
                ""
            };
            out.push_str(&format!(
                "<th{class} data-col=\"{}\" data-sort=\"{position}\" title=\"{}\">{}</th>",
                esc(name),
                esc(&report.columns[index].label),
                header.map(|h| esc(&h)).unwrap_or_default()
            ));
            position += 1;
        }
    }
    out.push_str("</tr></thead><tbody>\n");
    for (index, row) in report.rows.iter().enumerate() {
        out.push_str(&table_row(report, groups, index, row));
    }
    out.push_str("</tbody></table></div>");
    if let Some(changed) = report.changed_segments() {
        let names: Vec<String> = changed.iter().map(|segment| esc(segment)).collect();
        out.push_str(&format!(
            "<p class=\"note definition-changed\" data-definition-changed=\"{}\">{CHANGED_MARK} {}</p>",
            names.join(" "),
            definition_note_text(&names)
        ));
    }
    out
}

/// Beside a row whose segment's definition changed during the period, and before the note
/// under the table that says so.
const CHANGED_MARK: &str =
    "<abbr class=\"changed\" title=\"Definition changed during the period\">†</abbr>";

/// A group's columns with their header text; `None` for a column kept for its value only
/// (the change a compare run does not show for this KPI).
fn headers(group: &KpiGroup) -> Vec<(usize, Option<String>)> {
    let percent = group.format == crate::ir::Format::Percent;
    let mut out = vec![(group.value, Some(group.label.clone()))];
    if let Some(prior) = group.prior {
        out.push((prior, Some("prior".to_string())));
    }
    if let Some(change) = group.change {
        out.push((change, percent.then(|| "Δ pp".to_string())));
    }
    if let Some(change_pct) = group.change_pct {
        out.push((change_pct, (!percent).then(|| "Δ %".to_string())));
    }
    out
}

fn table_row(report: &Report, groups: &[KpiGroup], index: usize, row: &Row) -> String {
    let has_parent = row
        .parent
        .as_ref()
        .is_some_and(|parent| report.rows.iter().any(|r| &r.segment == parent));
    let has_children = report
        .rows
        .iter()
        .any(|r| r.parent.as_ref() == Some(&row.segment));
    let class = match (index, has_parent) {
        (0, _) => " class=\"baseline\"",
        (_, true) => " class=\"child\" hidden",
        _ => "",
    };
    let toggle = if has_children {
        "<button type=\"button\" class=\"toggle\" aria-expanded=\"false\" title=\"Show the drill-downs\">▸</button>"
    } else {
        "<span class=\"toggle\"></span>"
    };
    let changed = report
        .changed_segments()
        .is_some_and(|changed| changed.contains(&row.segment));
    let (changed_attribute, mark) = if changed {
        (
            " data-definition-changed=\"true\"",
            format!(" {CHANGED_MARK}"),
        )
    } else {
        ("", String::new())
    };
    let mut out = format!(
        "<tr data-segment=\"{}\" data-parent=\"{}\"{changed_attribute}{class}><th scope=\"row\" style=\"padding-left:{}em\" title=\"{}\">{toggle}<span class=\"label\">{}</span>{mark}</th>",
        esc(&row.segment),
        esc(row.parent.as_deref().unwrap_or_default()),
        0.3 + 1.2 * row.depth as f64,
        esc(&row.segment),
        esc(&row.label),
    );
    for group in groups {
        for (column, header) in headers(group) {
            let cell = &row.values[column];
            let text = if column == group.value || Some(column) == group.prior {
                formatted(cell, group.format, &report.currency_symbol)
            } else if header.is_some() {
                change_text(group, row).unwrap_or_else(|| "–".to_string())
            } else {
                String::new()
            };
            let class = if header.is_none() {
                " class=\"aux\""
            } else {
                ""
            };
            out.push_str(&format!("<td{class}{}>{text}</td>", data_value(cell)));
        }
    }
    out.push_str("</tr>\n");
    out
}
