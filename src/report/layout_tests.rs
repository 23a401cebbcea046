//! Tables made to fit a terminal, honest labels of changes, and the wide layout of a series.

use crate::terminal::display_width;

use super::*;

/// A report with `segments` rows (every other one a drill-down of the one before) and
/// `kpis` integer KPIs; the value of KPI k in row r is 1000 × r + k.
fn report(segments: usize, kpis: usize) -> Report {
    Report {
        project: "demo".into(),
        target: "local".into(),
        as_of: "2026-10-31".into(),
        period_start: chrono::NaiveDate::from_ymd_opt(2026, 10, 2).unwrap(),
        period_end: chrono::NaiveDate::from_ymd_opt(2026, 10, 31).unwrap(),
        as_of_note: None,
        compared_with: None,
        definition_changed: None,
        currency_symbol: "$".into(),
        columns: (0..kpis)
            .map(|k| Column {
                name: format!("kpi_{k}"),
                label: format!("KPI number {k}"),
                format: Format::Integer,
                value_type: KpiType::Integer,
                kind: ColumnKind::Value,
            })
            .collect(),
        rows: (0..segments)
            .map(|r| Row {
                segment: format!("segment_{r}"),
                label: format!("Segment {r}"),
                parent: (r % 2 == 1).then(|| format!("segment_{}", r - 1)),
                depth: r % 2,
                values: (0..kpis)
                    .map(|k| Cell::Integer((1000 * r + k) as i64))
                    .collect(),
            })
            .collect(),
    }
}

fn widest(text: &str) -> usize {
    text.lines().map(display_width).max().unwrap_or(0)
}

/// The number after `Showing ` in a cut table's note.
fn shown(table: &str) -> Option<usize> {
    let note = table.split("Showing ").nth(1)?;
    note.split(' ').next()?.parse().ok()
}

#[test]
fn a_table_that_fits_is_printed_as_it_is() {
    let report = report(3, 2);
    assert_eq!(report.to_table_within(Some(200)), report.to_table());
    assert_eq!(report.to_table_within(None), report.to_table());
    assert!(report.to_table().contains("│ segment"));
}

#[test]
fn a_wide_table_is_transposed_when_that_fits() {
    let report = report(3, 12);
    assert!(widest(&report.to_table()) > 80, "the full table is wide");
    let table = report.to_table_within(Some(80));
    assert!(widest(&table) <= 80, "{table}");
    assert!(table.contains("│ KPI "), "KPIs as rows:\n{table}");
    assert!(shown(&table).is_none(), "nothing left out:\n{table}");
    // Every value is there, each on its KPI's row.
    for k in 0..12 {
        let line = table
            .lines()
            .find(|line| line.contains(&format!("KPI number {k} ")))
            .unwrap_or_else(|| panic!("KPI {k} in\n{table}"));
        for r in 0..3 {
            let value = format_value(&Cell::Integer((1000 * r + k) as i64), Format::Integer, "$");
            assert!(line.contains(&format!(" {value} ")), "{value} in {line}");
        }
    }
}

#[test]
fn when_nothing_fits_whole_the_first_kpis_are_shown_with_a_note() {
    let report = report(30, 12);
    let table = report.to_table_within(Some(80));
    assert!(widest(&table) <= 80, "{table}");
    let count = shown(&table).expect("a note");
    assert!((1..12).contains(&count), "{table}");
    assert!(
        table.contains(&format!("Showing {count} of 12 KPIs")),
        "{table}"
    );
    assert!(
        table.contains("-k") && table.contains("--output html"),
        "{table}"
    );
    // The first `count` KPIs, every segment; no other KPI.
    let header = table.lines().nth(2).unwrap();
    for k in 0..12 {
        assert_eq!(
            header.contains(&format!("KPI number {k} ")),
            k < count,
            "{header}"
        );
    }
    for r in 0..30 {
        assert!(table.contains(&format!("Segment {r} ")), "segment {r}");
    }
    // A wider terminal shows more of them.
    let wider = report.to_table_within(Some(160));
    assert!(shown(&wider).unwrap() > count, "{wider}");
}

#[test]
fn no_line_is_wider_than_the_terminal_however_narrow() {
    let mut long = report(4, 3);
    long.project = "a project with a very long name indeed".into();
    long.as_of_note =
        Some("yesterday, the last complete day in America/Argentina/Buenos_Aires".into());
    long.rows[0].label = "A segment whose label is far longer than any terminal is wide ".repeat(3);
    long.columns[1].label = "東京の売上".repeat(10);
    for width in 1..=120 {
        for table in [
            long.to_table_within(Some(width)),
            report(30, 12).to_table_within(Some(width)),
        ] {
            assert!(widest(&table) <= width, "width {width}:\n{table}");
        }
    }
    // Labels are cut, with an ellipsis, only as far as needed.
    let table = long.to_table_within(Some(60));
    assert!(table.contains('…'), "{table}");
    assert!(table.contains(" 3,000 "), "values stay:\n{table}");
}

/// A compare run of a percent KPI: its change is in percentage points, its relative change
/// in percent, and each says which it is in every output.
#[test]
fn a_percent_kpis_change_is_in_points_and_says_so() {
    let percent = |name: &str, label: &str, kind, format| Column {
        name: name.into(),
        label: label.into(),
        format,
        value_type: KpiType::Double,
        kind,
    };
    let mut compared = report(1, 0);
    compared.compared_with = Some("2025-10-31".into());
    compared.columns = vec![
        percent("active", "% active", ColumnKind::Value, Format::Percent),
        percent(
            "active__prior",
            "% active (prior)",
            ColumnKind::Prior,
            Format::Percent,
        ),
        percent(
            "active__change",
            "Δ % active (pp)",
            ColumnKind::PointChange,
            Format::Percent,
        ),
        percent(
            "active__change_pct",
            "Δ% % active",
            ColumnKind::RelativeChange,
            Format::Percent,
        ),
    ];
    compared.rows[0].values = vec![
        Cell::Double(0.45),
        Cell::Double(0.40),
        Cell::Double(0.05),
        Cell::Double(0.125),
    ];
    let table = compared.to_table();
    let row = table
        .lines()
        .find(|line| line.contains("Segment 0"))
        .unwrap();
    let cells: Vec<&str> = row
        .split(['│', '┆'])
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        cells,
        ["Segment 0", "45.0%", "40.0%", "5.0 pp", "12.5%"],
        "{table}"
    );
    let json = compared.to_json();
    let kinds: Vec<&str> = json["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["value", "prior", "change_points", "change_relative"]
    );
    // CSV keeps the names, and the difference of the two fractions as it is.
    let csv = compared.to_csv().unwrap();
    assert!(
        csv.starts_with(
            "as_of,period_start,period_end,segment,parent,\
             active,active__prior,active__change,active__change_pct\n"
        ),
        "{csv}"
    );
    assert!(csv.contains(",0.45,0.4,0.05,0.125"), "{csv}");
    // A report without a comparison has no kinds: its JSON is as before.
    let plain = report(1, 2).to_json();
    assert!(plain["columns"][0].get("kind").is_none(), "{plain}");
}

/// Three months of `report(2, 2)` whose values grow by 1 each month.
fn months() -> Vec<(String, Report)> {
    (0..3)
        .map(|month| {
            let mut report = report(2, 2);
            report.as_of = format!("2026-0{}-28", month + 1);
            for row in &mut report.rows {
                for value in &mut row.values {
                    if let Cell::Integer(v) = value {
                        *v += month;
                    }
                }
            }
            (format!("2026-0{}", month + 1), report)
        })
        .collect()
}

#[test]
fn the_wide_layout_puts_months_in_columns() {
    let csv = series_wide_csv(&months()).unwrap();
    assert_eq!(
        csv,
        "segment,parent,kpi,2026-01,2026-02,2026-03\n\
         segment_0,,kpi_0,0,1,2\n\
         segment_1,segment_0,kpi_0,1000,1001,1002\n\
         segment_0,,kpi_1,1,2,3\n\
         segment_1,segment_0,kpi_1,1001,1002,1003\n"
    );
    let table = series_table_within(&months(), Layout::Wide, None);
    let blocks: Vec<&str> = table.split("\nKPI number ").collect();
    assert_eq!(blocks.len(), 3, "a title and a block per KPI:\n{table}");
    assert!(
        blocks[1].starts_with("0\n") && blocks[2].starts_with("1\n"),
        "{table}"
    );
    let row = blocks[2].lines().find(|l| l.contains("Segment 1")).unwrap();
    let cells: Vec<&str> = row
        .split(['│', '┆'])
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(cells, ["└ Segment 1", "1,001", "1,002", "1,003"]);
    // The long layout is today's: one table per month.
    assert_eq!(
        series_table_within(&months(), Layout::Long, None),
        series_table(&months())
    );
    assert_eq!(series_table(&months()).matches("│ segment").count(), 3);
}

#[test]
fn a_wide_layout_too_wide_shows_the_first_months_that_fit() {
    let many: Vec<(String, Report)> = (0..24)
        .map(|month| {
            (
                format!("20{:02}-{:02}", 24 + month / 12, month % 12 + 1),
                report(12, 1),
            )
        })
        .collect();
    let table = series_table_within(&many, Layout::Wide, Some(80));
    assert!(widest(&table) <= 80, "{table}");
    let count = shown(&table).expect("a note");
    assert!(
        table.contains(&format!("Showing {count} of 24 months")),
        "{table}"
    );
    assert!(table.contains("--from/--to"), "{table}");
}

#[test]
fn an_overlap_matrix_too_wide_names_segments_not_kpis() {
    let matrix = report(20, 20);
    let table = matrix.to_overlap_table_within(Some(80));
    assert!(widest(&table) <= 80, "{table}");
    let count = shown(&table).expect("a note");
    assert!(count < 20, "{table}");
    assert!(
        table.contains(&format!("Showing {count} of 20 segments")),
        "{table}"
    );
    // The note may wrap: read it as one line.
    let text = table.replace('\n', " ");
    assert!(text.contains("pick segments with -s NAME,NAME"), "{table}");
    assert!(!text.contains("-k NAME"), "{table}");
    assert_eq!(matrix.to_overlap_table_within(None), matrix.to_table());
}

#[test]
fn a_series_flags_the_month_whose_definition_changed() {
    let mut series = months();
    for (index, (_, report)) in series.iter_mut().enumerate() {
        report.definition_changed = Some(if index == 1 {
            vec!["segment_1".into()]
        } else {
            Vec::new()
        });
    }
    let csv = series_csv(&series).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].ends_with(",definition_changed"), "{csv}");
    let flagged: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|line| line.ends_with(",true"))
        .collect();
    assert_eq!(flagged.len(), 1, "{csv}");
    assert!(flagged[0].starts_with("2026-02,") && flagged[0].contains(",segment_1,"));
    let long = series_table(&series);
    assert_eq!(
        long.matches("Definition changed during the period: Segment 1")
            .count()
            + long
                .matches("Definition changed during the period: segment_1")
                .count(),
        1,
        "{long}"
    );
    let wide = series_table_within(&series, Layout::Wide, None);
    assert!(
        wide.contains("2026-02: Definition changed during the period: segment_1."),
        "{wide}"
    );
    // Nothing changed: no column, no note.
    let plain = months();
    assert!(!series_csv(&plain).unwrap().contains("definition_changed"));
    assert!(!series_table(&plain).contains("Definition changed"));
}
