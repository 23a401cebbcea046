use chrono::{NaiveDate, TimeZone, Utc};

use super::*;
use crate::driver::Cell;
use crate::ir::{Format, KpiType};
use crate::report::{Column, ColumnKind, GridCell, OverlapPair, Row};

const HOSTILE: &str = "</script><script>alert(1)</script>\"'&";

fn run() -> RunInfo {
    let started = Utc.with_ymd_and_hms(2026, 11, 1, 8, 30, 0).unwrap();
    RunInfo {
        id: crate::report::run_id(started),
        started,
    }
}

/// A column; in a compare run's names (`<kpi>__prior`, …) the kind its suffix says.
fn column(name: &str, label: &str, format: Format) -> Column {
    let kind = if name.ends_with("__prior") {
        ColumnKind::Prior
    } else if name.ends_with("__change_pct") {
        ColumnKind::RelativeChange
    } else if name.ends_with("__change") && format == Format::Percent {
        ColumnKind::PointChange
    } else if name.ends_with("__change") {
        ColumnKind::Change
    } else {
        ColumnKind::Value
    };
    Column {
        name: name.into(),
        label: label.into(),
        format,
        value_type: KpiType::Double,
        kind,
    }
}

fn row(segment: &str, label: &str, parent: Option<&str>, values: Vec<Cell>) -> Row {
    Row {
        segment: segment.into(),
        label: label.into(),
        parent: parent.map(str::to_string),
        depth: usize::from(parent.is_some()),
        values,
    }
}

fn report(columns: Vec<Column>, rows: Vec<Row>) -> Report {
    Report {
        project: "demo".into(),
        target: "local".into(),
        as_of: "2026-10-31".into(),
        as_of_note: None,
        compared_with: None,
        definition_changed: None,
        period_start: chrono::NaiveDate::from_ymd_opt(2026, 10, 1).unwrap_or_default(),
        period_end: chrono::NaiveDate::from_ymd_opt(2026, 10, 31).unwrap_or_default(),
        currency_symbol: "$".into(),
        columns,
        rows,
    }
}

fn page<'a>(run: &'a RunInfo) -> Page<'a> {
    Page {
        run,
        period: None,
        compared_period: None,
        grid: None,
        overlap: None,
    }
}

/// The page's own scripts: the error trap in the head and the page script at the end.
fn script_tags(html: &str) -> usize {
    html.matches("<script>").count()
}

#[test]
fn hostile_labels_stay_text() {
    let mut report = report(
        vec![column("money", HOSTILE, Format::Currency)],
        vec![
            row("all_users", "All users", None, vec![Cell::Double(10.0)]),
            row("s", HOSTILE, None, vec![Cell::Double(4.0)]),
            row("c", HOSTILE, Some("s"), vec![Cell::Text(HOSTILE.into())]),
        ],
    );
    report.project = HOSTILE.into();
    report.target = HOSTILE.into();
    report.as_of_note = Some(HOSTILE.into());
    let run = run();
    let html = render(Content::Single(&report), &page(&run));
    assert!(!html.contains("<script>alert(1)"), "{html}");
    assert!(html.contains("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;"));
    assert_eq!(script_tags(&html), 2);
    assert_eq!(html.matches("</script>").count(), 2);
    // The same for a series' month labels.
    let periods = vec![(HOSTILE.to_string(), report.clone())];
    let html = render(Content::Periods(&periods), &page(&run));
    assert!(!html.contains("<script>alert(1)"));
    assert_eq!(script_tags(&html), 2);
}

#[test]
fn the_page_needs_no_network() {
    let report = report(
        vec![column("money", "Money", Format::Currency)],
        vec![row(
            "all_users",
            "All users",
            None,
            vec![Cell::Double(10.0)],
        )],
    );
    let run = run();
    let html = render(Content::Single(&report), &page(&run));
    for fetched in ["http:", "https:", " src=", "<link", "@import", "url("] {
        assert!(!html.contains(fetched), "the page holds `{fetched}`");
    }
    assert!(html.contains(&format!("data-run-id=\"{}\"", run.id)));
    assert!(html.contains("2026-11-01 08:30:00 UTC"));
}

#[test]
fn drill_downs_start_collapsed_under_their_parent() {
    let report = report(
        vec![column("n", "N", Format::Integer)],
        vec![
            row("all_users", "All users", None, vec![Cell::Integer(10)]),
            row("paying", "Paying", None, vec![Cell::Integer(4)]),
            row("big", "Big", Some("paying"), vec![Cell::Integer(1)]),
            // Its parent is not reported: shown at the top level.
            row("orphan", "Orphan", Some("hidden"), vec![Cell::Null]),
        ],
    );
    let run = run();
    let html = render(Content::Single(&report), &page(&run));
    assert!(
        html.contains("<tr data-segment=\"big\" data-parent=\"paying\" class=\"child\" hidden>")
    );
    assert!(html.contains("<tr data-segment=\"orphan\" data-parent=\"hidden\"><th"));
    assert!(html.contains("<tr data-segment=\"all_users\" data-parent=\"\" class=\"baseline\">"));
    // Only a parent has a button; a NULL has no value.
    assert_eq!(
        html.matches("<button type=\"button\" class=\"toggle\"")
            .count(),
        1
    );
    assert!(html.contains("<td>–</td>"));
}

/// A segment whose definition changed during the period is marked in its row, and named in
/// a note under its table (escaped), in each month of a series that holds the change; a
/// report read without the history (no flags) and a month without a change say nothing.
#[test]
fn changed_definitions_are_marked_and_noted() {
    let rows = || {
        vec![
            row("all_users", "All users", None, vec![Cell::Integer(10)]),
            row("early", "Early", None, vec![Cell::Integer(4)]),
            row(HOSTILE, "Hostile", None, vec![Cell::Integer(2)]),
            row("late", "Late", None, vec![Cell::Integer(1)]),
        ]
    };
    let columns = || vec![column("n", "N", Format::Integer)];
    let run = run();
    let marked = |html: &str| -> Vec<String> {
        html.split("<tr ")
            .skip(1)
            .filter(|tr| tr.contains("data-definition-changed=\"true\""))
            .map(|tr| {
                let at = tr.find("data-segment=\"").unwrap() + "data-segment=\"".len();
                tr[at..at + tr[at..].find('"').unwrap()].to_string()
            })
            .collect()
    };

    let mut changed = report(columns(), rows());
    changed.definition_changed = Some(vec!["early".into(), HOSTILE.into()]);
    let html = render(Content::Single(&changed), &page(&run));
    assert_eq!(marked(&html), ["early", &esc(HOSTILE)]);
    assert_eq!(
        html.matches("<abbr class=\"changed\"").count(),
        3,
        "two rows and the note"
    );
    assert!(html.contains(&format!(
        "Definition changed during the period: early, {}. Their flows count members under both definitions.",
        esc(HOSTILE)
    )));
    assert!(!html.contains(HOSTILE), "the segment's name is escaped");

    let mut none = report(columns(), rows());
    none.definition_changed = Some(Vec::new());
    for quiet in [report(columns(), rows()), none] {
        let html = render(Content::Single(&quiet), &page(&run));
        assert!(marked(&html).is_empty());
        assert!(!html.contains("Definition changed"));
    }

    // A series: only the month that holds the change is noted.
    let mut october = report(columns(), rows());
    october.definition_changed = Some(vec!["late".into()]);
    let mut september = report(columns(), rows());
    september.definition_changed = Some(Vec::new());
    let periods = vec![
        ("2026-09".to_string(), september),
        ("2026-10".to_string(), october),
    ];
    let html = render(Content::Periods(&periods), &page(&run));
    let months: Vec<&str> = html.split("<div class=\"period\"").skip(1).collect();
    assert_eq!(months.len(), 2);
    assert!(marked(months[0]).is_empty() && !months[0].contains("Definition changed"));
    assert_eq!(marked(months[1]), ["late"]);
    assert!(months[1].contains("Definition changed during the period: late."));
}

/// The page of a compare run with a percent KPI (45% against 40%, its change `rate_change`,
/// relative 12.5%) and a currency KPI ($110 against $100, relative change `money_change_pct`).
fn compare_page(rate_change: f64, money_change_pct: f64) -> String {
    let mut report = report(
        vec![
            column("rate", "Rate", Format::Percent),
            column("rate__prior", "Rate (prior)", Format::Percent),
            column("rate__change", "Δ Rate", Format::Percent),
            column("rate__change_pct", "Δ% Rate", Format::Percent),
            column("money", "Money", Format::Currency),
            column("money__prior", "Money (prior)", Format::Currency),
            column("money__change", "Δ Money", Format::Currency),
            column("money__change_pct", "Δ% Money", Format::Percent),
        ],
        vec![row(
            "all_users",
            "All users",
            None,
            vec![
                Cell::Double(0.45),
                Cell::Double(0.40),
                Cell::Double(rate_change),
                Cell::Double(0.125),
                Cell::Double(110.0),
                Cell::Double(100.0),
                Cell::Double(10.0),
                Cell::Double(money_change_pct),
            ],
        )],
    );
    report.compared_with = Some("2025-10-31".into());
    let run = run();
    render(Content::Single(&report), &page(&run))
}

/// A compare run labels a percent KPI's change in percentage points, other KPIs' as a
/// relative change.
#[test]
fn compare_changes_are_labelled_by_format() {
    let html = compare_page(0.05, 0.1);
    // 45% against 40% is 5 points up (12.5% relative, which is not shown for a percent).
    assert!(html.contains("<td data-v=\"0.05\">+5.0 pp</td>"), "{html}");
    assert!(html.contains("<td class=\"aux\" data-v=\"0.125\"></td>"));
    assert!(html.contains("<tspan class=\"change\">+5.0 pp</tspan>"));
    // $110 against $100 is 10% up.
    assert!(html.contains("<td data-v=\"0.1\">+10.0%</td>"));
    assert!(html.contains("<tspan class=\"change\">+10.0%</tspan>"));
    assert!(!html.contains("+12.5"));
    // Current and prior bars.
    assert!(html.contains("<rect class=\"prior\" data-v=\"100\""));
    assert!(html.contains("<rect class=\"current\" data-v=\"110\""));
}

/// Change cells print as the table does: grouped, and past 2^53 in scientific notation (in
/// fixed notation they printed the double's noise: `+900719925473999872.0%`).
#[test]
fn compare_changes_print_large_values_as_the_table_does() {
    let html = compare_page(9_007_199_254_740_992.0, -9_007_199_254_740_992.0);
    assert!(html.contains(">+9.00719925474e+17 pp</td>"), "{html}");
    assert!(html.contains(">−9.00719925474e+17%</td>"), "{html}");
    assert!(!html.contains("900719925473999872"), "{html}");
    let html = compare_page(12_345.678, 18_231_911_559.6);
    assert!(html.contains(">+1,234,567.8 pp</td>"), "{html}");
    assert!(html.contains(">+1,823,191,155,960.0%</td>"), "{html}");
    let html = compare_page(-0.0001, 0.0);
    assert!(html.contains(">±0.0 pp</td>"), "{html}");
}

#[test]
fn bars_reference_the_all_users_value() {
    let report = report(
        vec![column("money", "Money", Format::Currency)],
        vec![
            row("all_users", "All users", None, vec![Cell::Double(10.0)]),
            row("a", "A", None, vec![Cell::Double(20.0)]),
            row("b", "B", None, vec![Cell::Double(-5.0)]),
        ],
    );
    let run = run();
    let html = render(Content::Single(&report), &page(&run));
    assert!(html.contains("<line class=\"reference\" data-v=\"10\""));
    assert!(html.contains("All users: $10.00"));
    // -5 to 20 spans the bars' area, x 260 to 640 (15.2 per dollar): the negative bar starts
    // at its left edge and ends at 0 (x 336), A's runs from 0 to the right edge.
    assert!(html.contains("<rect class=\"current\" data-v=\"-5\" x=\"260\" y=\"67\" width=\"76\""));
    assert!(
        html.contains("<rect class=\"current\" data-v=\"20\" x=\"336\" y=\"47\" width=\"304\"")
    );
}

#[test]
fn a_month_series_draws_lines_and_a_table_per_month() {
    let month = |value: f64| {
        report(
            vec![column("money", "Money", Format::Currency)],
            vec![
                row("all_users", "All users", None, vec![Cell::Double(value)]),
                row("a", "A", None, vec![Cell::Null]),
            ],
        )
    };
    let periods = vec![
        ("2026-09".to_string(), month(1.0)),
        ("2026-10".to_string(), month(3.0)),
    ];
    let run = run();
    let html = render(Content::Periods(&periods), &page(&run));
    assert_eq!(html.matches("<div class=\"period\"").count(), 2);
    assert!(html.contains("data-values=\"$1.00|$3.00\""));
    assert!(html.contains("data-values=\"–|–\" d=\"\""));
    assert!(html.contains("data-months=\"2026-09|2026-10\""));
}

#[test]
fn round_ticks() {
    assert_eq!(
        lines::nice_ticks(0.0, 9.6),
        vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    );
    assert_eq!(
        lines::nice_ticks(0.0, 10.9),
        vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0]
    );
    assert_eq!(
        lines::nice_ticks(-3.0, 40.0),
        vec![-10.0, 0.0, 10.0, 20.0, 30.0, 40.0]
    );
    assert_eq!(lines::nice_ticks(0.1, 0.3), vec![0.1, 0.15, 0.2, 0.25, 0.3]);
    let flat = lines::nice_ticks(5.0, 5.0);
    assert!(flat.len() >= 2 && flat[0] <= 5.0 && *flat.last().unwrap() >= 5.0);
}

#[test]
fn the_heat_map_shades_the_grid_cells_by_member_count() {
    let mut rows = vec![row(
        "all_users",
        "All users",
        None,
        vec![Cell::Integer(100)],
    )];
    rows.push(row("r5f5", "Best", None, vec![Cell::Integer(40)]));
    rows.push(row("r1f1", "Worst", None, vec![Cell::Integer(10)]));
    let mut report = report(vec![column("people", "People", Format::Integer)], rows);
    report.columns[0].value_type = KpiType::Integer;
    let grid = QuintileGrid {
        rows: "recency_score".into(),
        columns: "frequency_score".into(),
        cells: vec![
            GridCell {
                segment: "r5f5".into(),
                row: 5,
                column: 5,
            },
            GridCell {
                segment: "r1f1".into(),
                row: 1,
                column: 1,
            },
        ],
        count_kpi: Some("people".into()),
    };
    let run = run();
    let html = render(
        Content::Single(&report),
        &Page {
            grid: Some(&grid),
            ..page(&run)
        },
    );
    assert!(html.contains("recency_score × frequency_score"));
    // The largest cell is the darkest, the others paler; 23 cells have no segment.
    assert!(html.contains("<g class=\"cell\" data-segment=\"r5f5\"><title>Best: 40</title><rect data-v=\"40\" x=\"454\" y=\"10\" width=\"74\" height=\"42\" fill=\"#1f4e8c\"/>"), "{html}");
    assert!(html.contains("<g class=\"cell\" data-segment=\"r1f1\"><title>Worst: 10</title><rect data-v=\"10\" x=\"150\" y=\"186\""));
    assert_eq!(html.matches("<rect class=\"empty\"").count(), 23);
    // Grid cells are not drawn again as bars.
    assert!(!html.contains("<g class=\"segment\" data-segment=\"r5f5\""));
    // Without a counting KPI, the section says why there is no map.
    let without = QuintileGrid {
        count_kpi: None,
        ..grid.clone()
    };
    let html = render(
        Content::Single(&report),
        &Page {
            grid: Some(&without),
            ..page(&run)
        },
    );
    assert!(html.contains("Not drawn: the report has no KPI"));
}

#[test]
fn the_overlap_matrix_is_drawn_when_given() {
    let report = report(
        vec![column("n", "N", Format::Integer)],
        vec![
            row("all_users", "All users", None, vec![Cell::Integer(10)]),
            row("a", "A", None, vec![Cell::Integer(4)]),
            row("b", "B", None, vec![Cell::Integer(3)]),
        ],
    );
    assert_eq!(overlap_section(&report, None), "");
    let table = OverlapTable::new(vec![
        OverlapPair {
            first: "a".into(),
            second: "b".into(),
            users: 2,
        },
        OverlapPair {
            first: "a".into(),
            second: "a".into(),
            users: 4,
        },
        OverlapPair {
            first: "all_users".into(),
            second: "b".into(),
            users: 3000,
        },
    ]);
    let run = run();
    let html = render(
        Content::Single(&report),
        &Page {
            overlap: Some(&table),
            ..page(&run)
        },
    );
    let section = &html[html
        .find("<section id=\"overlap\"")
        .expect("an overlap section")..];
    // Both orders of a pair read the same count; a pair without a count is blank.
    assert!(section.contains("<tr data-segment=\"b\"><th scope=\"row\">B</th><td data-with=\"all_users\" data-v=\"3000\">3,000</td><td data-with=\"a\" data-v=\"2\">2</td><td data-with=\"b\"></td></tr>"), "{section}");
    assert!(section.contains("<td data-with=\"b\" data-v=\"2\">2</td>"));
}

#[test]
fn run_ids_differ_and_start_with_the_time() {
    let started = Utc.with_ymd_and_hms(2026, 11, 1, 8, 30, 0).unwrap();
    let (a, b) = (
        crate::report::run_id(started),
        crate::report::run_id(started),
    );
    assert!(a.starts_with("20261101T083000Z-"), "{a}");
    assert_eq!(a.len(), "20261101T083000Z-".len() + 8);
    assert_ne!(a, b);
}

#[test]
fn the_header_names_the_periods() {
    let report = report(vec![column("n", "N", Format::Integer)], vec![]);
    let day = |text| NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap();
    let run = run();
    let html = render(
        Content::Single(&report),
        &Page {
            period: Some((day("2026-10-01"), day("2026-10-31"))),
            compared_period: Some((day("2025-10-01"), day("2025-10-31"))),
            ..page(&run)
        },
    );
    assert!(html.contains("<dt>Period</dt><dd>2026-10-01 to 2026-10-31</dd>"));
    assert!(html.contains("<dt>Compared with</dt><dd>2025-10-01 to 2025-10-31</dd>"));
}

/// KPI values spanning more than the doubles (a sentinel `-1.797e308` beside `1.797e308`)
/// still place every bar, line and label at a number: no `NaN` coordinate in the SVG.
#[test]
fn values_spanning_the_doubles_draw_at_numbers() {
    let report = report(
        vec![column("extreme", "Extreme", Format::Number)],
        vec![
            row("all_users", "All users", None, vec![Cell::Double(f64::MAX)]),
            row("low", "Low", None, vec![Cell::Double(-f64::MAX)]),
            row("mid", "Mid", None, vec![Cell::Double(1.0)]),
        ],
    );
    let run = run();
    let html = render(Content::Single(&report), &page(&run));
    assert!(html.contains("<svg"), "{html}");
    // A coordinate or value that is not a number (the page's script tests `isNaN` itself).
    let broken = |html: &str| {
        ["=\"NaN", "=\"inf", "=\"-inf", "inf%", ">NaN", ">inf"]
            .iter()
            .any(|bad| html.contains(bad))
    };
    assert!(!broken(&html), "{html}");
    assert!(html.contains(">1.79769313486e+308<"), "{html}");
    let periods = vec![
        ("2026-09".to_string(), report.clone()),
        ("2026-10".to_string(), report.clone()),
    ];
    let html = render(Content::Periods(&periods), &page(&run));
    assert!(!broken(&html), "{html}");
    assert_eq!(super::share_of_range(f64::MAX, -f64::MAX, f64::MAX), 1.0);
    assert_eq!(super::share_of_range(0.0, -f64::MAX, f64::MAX), 0.5);
}
