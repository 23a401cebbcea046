//! The report as one self-contained HTML page: a header naming the run, the segment table as
//! a drill-down (children collapsed under their parent, sortable, with a choice of KPIs), one
//! SVG chart per KPI (bars, or lines for a month series), the quintile grid as a heat map, and
//! the segment overlap matrix when one was computed.
//!
//! Everything is in the file: the charts are SVG written here, the styles and the small
//! script that sorts, expands and chooses KPIs are inlined; nothing is fetched. Every string
//! from the definitions, a profile or the warehouse is escaped with [`escape::esc`].

mod bars;
mod escape;
mod heatmap;
mod lines;
mod model;
mod overlap;
mod table;

use chrono::NaiveDate;

use super::Report;
use super::grid::QuintileGrid;
use super::overlap::OverlapTable;
use super::run_info::RunInfo;
use escape::esc;

pub use overlap::overlap_section;

/// What the page shows: one report (a comparison included) or one per month.
#[derive(Debug, Clone, Copy)]
pub enum Content<'a> {
    Single(&'a Report),
    Periods(&'a [(String, Report)]),
}

/// What the page says about the run besides the reports.
#[derive(Debug, Clone, Copy)]
pub struct Page<'a> {
    pub run: &'a RunInfo,
    /// The report's period (first and last day), when it has one.
    pub period: Option<(NaiveDate, NaiveDate)>,
    /// The period a compare run compares with.
    pub compared_period: Option<(NaiveDate, NaiveDate)>,
    /// The segments that form a quintile grid, drawn as a heat map.
    pub grid: Option<&'a QuintileGrid>,
    /// Users in both segments of each pair, when computed: the overlap matrix.
    pub overlap: Option<&'a OverlapTable>,
}

/// How many KPIs are shown when the page opens; the chooser shows the others.
const SHOWN_KPIS: usize = 6;

const STYLE: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");
/// Runs first: records script errors in `data-errors` of the page's root element, so a
/// reader of the page (a test, a person with the developer tools) sees that one happened.
const ERROR_TRAP: &str = include_str!("errors.js");

/// The whole page.
pub fn render(content: Content<'_>, page: &Page<'_>) -> String {
    let (latest, reports) = match content {
        Content::Single(report) => (report, vec![(None, report)]),
        Content::Periods(periods) => match periods.last() {
            Some((_, last)) => (
                last,
                periods
                    .iter()
                    .map(|(label, report)| (Some(label.as_str()), report))
                    .collect(),
            ),
            None => return empty_page(page),
        },
    };
    let groups = model::groups(latest);
    let mut body = String::new();
    body.push_str(&header(
        latest,
        page,
        matches!(content, Content::Periods(_)),
    ));
    body.push_str(&table::chooser(&groups, SHOWN_KPIS));
    body.push_str(&table::tables(&reports, &groups));
    if let Some(grid) = page.grid {
        body.push_str(&heatmap::section(latest, grid));
    }
    body.push_str("<section id=\"charts\"><h2>Charts</h2>\n");
    match content {
        Content::Single(report) => body.push_str(&bars::charts(report, &groups, page.grid)),
        Content::Periods(periods) => body.push_str(&lines::charts(periods, &groups, page.grid)),
    }
    body.push_str("</section>\n");
    body.push_str(&overlap_section(latest, page.overlap));
    document(
        &latest.project,
        &table::hidden_style(&groups, SHOWN_KPIS),
        &body,
    )
}

/// Where `value` lies from `low` (0) to `high` (1), computed in halves so that a range wider
/// than the doubles (`-f64::MAX` to `f64::MAX`) does not overflow to an infinity (a NaN
/// coordinate in the SVG).
fn share_of_range(value: f64, low: f64, high: f64) -> f64 {
    (value / 2.0 - low / 2.0) / (high / 2.0 - low / 2.0)
}

fn empty_page(page: &Page<'_>) -> String {
    let body = format!(
        "<header><h1>segc report</h1><dl class=\"facts\">{}</dl></header><p>The run reported no periods.</p>",
        run_facts(page)
    );
    document("segc report", "", &body)
}

fn document(project: &str, hidden_style: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\" data-errors=\"\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{} · segc report</title>\n<script>{ERROR_TRAP}</script>\n<style>{STYLE}</style>\n\
         <style id=\"hidden-kpis\">{hidden_style}</style>\n</head>\n<body>\n{body}\
         <div id=\"tooltip\" hidden></div>\n<script>{SCRIPT}</script>\n</body>\n</html>\n",
        esc(project)
    )
}

/// Project, target, as-of day, periods, and the run.
fn header(report: &Report, page: &Page<'_>, series: bool) -> String {
    let mut facts = vec![("Target", esc(&report.target))];
    let note = report
        .as_of_note
        .as_ref()
        .map(|note| format!(" <span class=\"note\">({})</span>", esc(note)))
        .unwrap_or_default();
    let as_of_label = if series { "Last month as of" } else { "As of" };
    facts.push((as_of_label, format!("{}{note}", esc(&report.as_of))));
    if let Some(period) = page.period {
        facts.push(("Period", period_text(period)));
    }
    if let Some(prior) = page.compared_period {
        facts.push(("Compared with", period_text(prior)));
    } else if let Some(prior) = &report.compared_with {
        facts.push(("Compared with", format!("as of {}", esc(prior))));
    }
    let rows: String = facts
        .iter()
        .map(|(name, value)| format!("<dt>{name}</dt><dd>{value}</dd>"))
        .collect();
    format!(
        "<header><h1>{}</h1><dl class=\"facts\" data-as-of=\"{}\">{rows}{}</dl></header>\n",
        esc(&report.project),
        esc(&report.as_of),
        run_facts(page)
    )
}

fn run_facts(page: &Page<'_>) -> String {
    format!(
        "<dt>Run</dt><dd data-run-id=\"{id}\"><code>{id}</code></dd><dt>Run at</dt><dd>{}</dd>",
        page.run.started.format("%Y-%m-%d %H:%M:%S UTC"),
        id = esc(&page.run.id),
    )
}

fn period_text((first, last): (NaiveDate, NaiveDate)) -> String {
    if first == last {
        first.to_string()
    } else {
        format!("{first} to {last}")
    }
}

#[cfg(test)]
mod tests;
