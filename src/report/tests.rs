use chrono::NaiveDateTime;

use super::*;

#[test]
fn formats_numbers_for_people() {
    assert_eq!(
        format_value(&Cell::Double(0.3333), Format::Percent, "$"),
        "33.3%"
    );
    assert_eq!(
        format_value(&Cell::Double(1234567.891), Format::Currency, "$"),
        "$1,234,567.89"
    );
    assert_eq!(
        format_value(&Cell::Double(-5.5), Format::Currency, "€"),
        "-€5.50"
    );
    assert_eq!(
        format_value(&Cell::Integer(10000), Format::Integer, "$"),
        "10,000"
    );
    assert_eq!(format_value(&Cell::Null, Format::Number, "$"), "–");
    // Every digit of an integer past 2^53 (a double would print …768).
    assert_eq!(
        format_value(&Cell::Integer(1234567890123456789), Format::Integer, "$"),
        "1,234,567,890,123,456,789"
    );
    assert_eq!(
        format_value(&Cell::Integer(i64::MIN), Format::Number, "$"),
        "-9,223,372,036,854,775,808.00"
    );
    assert_eq!(
        format_value(&Cell::Integer(-9007199254740993), Format::Currency, "$"),
        "-$9,007,199,254,740,993.00"
    );
    assert_eq!(
        format_value(&Cell::Double(2.5), Format::Number, "$"),
        "2.50"
    );
}

/// Doubles past 2^53 (whose digits beyond the 12 reported are the double's noise) print in
/// scientific notation in the table, a percent past the doubles (×100) too; CSV spells
/// every double as the JSON output does, without the `.0` of a whole number.
#[test]
fn numbers_past_the_doubles_exact_digits_print_in_scientific_notation() {
    for (value, format, shown) in [
        (f64::MAX, Format::Number, "1.79769313486e+308"),
        (-f64::MAX, Format::Currency, "-$1.79769313486e+308"),
        (1.5e20, Format::Integer, "1.5e+20"),
        (2.5681330498e307, Format::Percent, "2.5681330498e+309%"),
        (1e14, Format::Percent, "1e+16%"),
        (
            9_007_199_254_740_991.0,
            Format::Number,
            "9,007,199,254,740,991.00",
        ),
        (1e-300, Format::Number, "0.00"),
        // Past 2^53 though reported as 9.00719925474e15, below it: not `9,007,199,254,740,000`.
        (9_007_199_254_740_992.0, Format::Number, "9.00719925474e+15"),
        (
            9_007_199_254_740_994.0,
            Format::Currency,
            "$9.00719925474e+15",
        ),
        (
            -9_007_199_254_740_992.0,
            Format::Integer,
            "-9.00719925474e+15",
        ),
        (9.1e13, Format::Percent, "9.1e+15%"),
        (9.0e13, Format::Percent, "9,000,000,000,000,000.0%"),
    ] {
        assert_eq!(
            format_value(&Cell::Double(value), format, "$"),
            shown,
            "{value:e}"
        );
    }
    let cases = [
        (f64::MAX, "1.79769313486e+308"),
        (-1.5e20, "-1.5e+20"),
        (1.23e-9, "1.23e-9"),
        (5e-324, "5e-324"),
        (26.0, "26"),
        (0.1 + 0.2, "0.3"),
        (1_000_000_000_000_001.0, "1000000000000001"),
        (-0.0, "0"),
    ];
    let report = one_row(
        &cases
            .iter()
            .map(|(value, _)| (Cell::Double(*value), Format::Number))
            .collect::<Vec<_>>(),
    );
    let expected: Vec<String> = cases.iter().map(|(_, text)| text.to_string()).collect();
    assert_eq!(csv_values(&report), expected);
}

/// Labels, values and names come from definitions and the warehouse: none of their
/// control characters reaches the terminal, in a report or in a series of them.
#[test]
fn tables_escape_control_characters_in_every_text() {
    let hostile = "\u{1b}]0;pwned\u{7}\r\u{9b}2J\u{202e}";
    let column = |name: &str, format| Column {
        name: name.into(),
        label: format!("KPI {hostile}"),
        format,
        value_type: KpiType::Double,
        kind: ColumnKind::Value,
    };
    let report = Report {
        project: format!("project {hostile}"),
        target: format!("target {hostile}"),
        as_of: "2026-10-31".into(),
        period_start: chrono::NaiveDate::from_ymd_opt(2026, 10, 2).unwrap(),
        period_end: chrono::NaiveDate::from_ymd_opt(2026, 10, 31).unwrap(),
        as_of_note: None,
        compared_with: Some(format!("prior {hostile}")),
        definition_changed: None,
        currency_symbol: format!("{hostile}$"),
        columns: vec![
            column("text", Format::Number),
            column("money", Format::Currency),
        ],
        rows: vec![Row {
            segment: "s".into(),
            label: format!("Segment {hostile}\nsecond line\tcolumn"),
            parent: None,
            depth: 1,
            values: vec![Cell::Text(format!("value {hostile}")), Cell::Double(1.5)],
        }],
    };
    let table = series_table(&[(format!("2026-10 {hostile}"), report.clone())]);
    assert!(
        !table.contains(['\u{1b}', '\u{7}', '\r', '\t', '\u{9b}', '\u{202e}']),
        "{table}"
    );
    let escaped = "\\e]0;pwned\\a\\r\\u{9b}2J\\u{202e}";
    for expected in [
        format!("2026-10 {escaped}: project {escaped} as of 2026-10-31"),
        format!("compared with prior {escaped} on target {escaped}\n"),
        format!("KPI {escaped}"),
        format!("└ Segment {escaped}\\nsecond line\\tcolumn"),
        format!("value {escaped}"),
        format!("{escaped}$1.50"),
    ] {
        assert!(table.contains(&expected), "{expected} in\n{table}");
    }
    // The data formats keep the values exactly.
    assert!(
        report
            .to_csv()
            .unwrap()
            .contains(&format!("value {hostile}"))
    );
    assert_eq!(
        report.to_json()["rows"][0]["text"],
        format!("value {hostile}")
    );
}

/// A report of one `all_users` row holding `values`, each in a column `c0`, `c1`, … of
/// the given format.
fn one_row(values: &[(Cell, Format)]) -> Report {
    Report {
        project: "p".into(),
        target: "t".into(),
        as_of: "2026-10-31".into(),
        period_start: chrono::NaiveDate::from_ymd_opt(2026, 10, 2).unwrap(),
        period_end: chrono::NaiveDate::from_ymd_opt(2026, 10, 31).unwrap(),
        as_of_note: None,
        compared_with: None,
        definition_changed: None,
        currency_symbol: "$".into(),
        columns: values
            .iter()
            .enumerate()
            .map(|(index, (_, format))| Column {
                name: format!("c{index}"),
                label: format!("c{index}"),
                format: *format,
                value_type: KpiType::Double,
                kind: ColumnKind::Value,
            })
            .collect(),
        rows: vec![Row {
            segment: "all_users".into(),
            label: "All users".into(),
            parent: None,
            depth: 0,
            values: values.iter().map(|(cell, _)| cell.clone()).collect(),
        }],
    }
}

/// The CSV values of the one row of `report`, after `as_of,period_start,period_end,segment,parent`.
fn csv_values(report: &Report) -> Vec<String> {
    let csv = report.to_csv().unwrap();
    let row = csv.lines().nth(1).unwrap();
    row.split(',').skip(5).map(str::to_string).collect()
}

fn json_texts(report: &Report) -> Vec<String> {
    let json = report.to_json();
    (0..report.columns.len())
        .map(|index| json["rows"][0][format!("c{index}")].to_string())
        .collect()
}

#[test]
fn timestamps_keep_every_stored_digit_in_every_output() {
    let at = |text: &str| {
        Cell::Timestamp(NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").unwrap())
    };
    let cases = [
        ("2026-10-31 23:59:59.999999", "2026-10-31T23:59:59.999999Z"),
        ("2026-10-31 23:59:59.000001", "2026-10-31T23:59:59.000001Z"),
        ("2026-10-31 12:00:00.5", "2026-10-31T12:00:00.500000Z"),
        ("2026-10-31 23:59:59", "2026-10-31T23:59:59Z"),
        ("2026-01-01 00:00:00", "2026-01-01T00:00:00Z"),
        // A driver that delivers nanoseconds keeps them too.
        (
            "2026-10-31 23:59:59.123456789",
            "2026-10-31T23:59:59.123456789Z",
        ),
    ];
    let report = one_row(
        &cases
            .iter()
            .map(|(stored, _)| (at(stored), Format::Number))
            .collect::<Vec<_>>(),
    );
    let expected: Vec<String> = cases.iter().map(|(_, text)| text.to_string()).collect();
    assert_eq!(csv_values(&report), expected);
    let quoted: Vec<String> = expected.iter().map(|text| format!("\"{text}\"")).collect();
    assert_eq!(json_texts(&report), quoted);
    let table = report.to_table();
    for text in &expected {
        assert!(table.contains(text.as_str()), "{text} in\n{table}");
    }
}

#[test]
fn doubles_print_the_same_whatever_their_last_bits() {
    let double = |v: f64| (Cell::Double(v), Format::Number);
    // Two reruns of one sum, added in a different order.
    let first = one_row(&[
        double(78450.49000000006),
        (Cell::Double(0.28500000000000003), Format::Percent),
        (Cell::Double(2.6750000000000003), Format::Currency),
    ]);
    let second = one_row(&[
        double(78450.49000000004),
        (Cell::Double(0.2849999999999999), Format::Percent),
        (Cell::Double(2.6749999999999994), Format::Currency),
    ]);
    assert_eq!(first.to_csv().unwrap(), second.to_csv().unwrap());
    assert_eq!(
        serde_json::to_string(&first.to_json()).unwrap(),
        serde_json::to_string(&second.to_json()).unwrap()
    );
    assert_eq!(first.to_table(), second.to_table());
    assert_eq!(csv_values(&first)[0], "78450.49");
    assert_eq!(json_texts(&first)[0], "78450.49");
    assert!(first.to_table().contains("78,450.49"));

    let report = one_row(&[
        double(0.1 + 0.2),
        double(1e15 + 1.0),
        double(1.23e-9),
        double(-0.0),
        double(-1234.5678901234567),
        double(2.0),
        double(f64::NAN),
        double(f64::INFINITY),
        double(-1e-300 * 1e-300),
    ]);
    assert_eq!(
        csv_values(&report),
        [
            "0.3",
            "1000000000000001",
            "1.23e-9",
            "0",
            "-1234.56789012",
            "2",
            "",
            "",
            "0"
        ]
    );
    assert_eq!(
        json_texts(&report),
        [
            "0.3",
            "1000000000000001.0",
            "1.23e-9",
            "0.0",
            "-1234.56789012",
            "2.0",
            "null",
            "null",
            "0.0"
        ]
    );
    // JSON numbers stay numbers, and read back as the printed values.
    let json = report.to_json();
    assert_eq!(json["rows"][0]["c0"].as_f64(), Some(0.3));
    assert_eq!(json["rows"][0]["c1"].as_f64(), Some(1e15 + 1.0));
    assert_eq!(json["rows"][0]["c2"].as_f64(), Some(1.23e-9));
    let table = report.to_table();
    assert!(!table.contains("-0"), "{table}");
    assert!(!table.contains("NaN") && !table.contains("inf"), "{table}");
}

#[test]
fn reported_doubles_keep_twelve_significant_digits() {
    for (value, expected) in [
        (78450.49000000006, 78450.49),
        (0.1 + 0.2, 0.3),
        (1.0 / 3.0, 0.333333333333),
        (2.0 / 3.0 * 1e20, 6.66666666667e19),
        (1.23e-9 + 1e-25, 1.23e-9),
        (-0.0, 0.0),
        (1e15 + 1.0, 1e15 + 1.0),
        (123456789012345.6, 123456789012000.0),
        (f64::MAX, 1.79769313486e308),
    ] {
        assert_eq!(reported_double(value), Some(expected), "{value:e}");
    }
    assert!(reported_double(-0.0).unwrap().is_sign_positive());
    assert_eq!(reported_double(f64::NAN), None);
    assert_eq!(reported_double(f64::NEG_INFINITY), None);
    // Integers are not doubles: they print exactly, however large.
    let report = one_row(&[(Cell::Integer(i64::MAX), Format::Integer)]);
    assert_eq!(csv_values(&report), [i64::MAX.to_string()]);
}

/// The value [`example_result`] holds for a KPI: its place among the KPIs, of the KPI's type.
fn example_value(project: &Project, kpi: &str, place: usize) -> Cell {
    let kpi = project.kpis.iter().find(|k| k.name == kpi).unwrap();
    match kpi.value_type {
        KpiType::Integer => Cell::Integer(place as i64),
        KpiType::Double => Cell::Double(place as f64 + 0.5),
        KpiType::Date => {
            Cell::Date(chrono::NaiveDate::from_ymd_opt(2026, 1, (place % 28) as u32 + 1).unwrap())
        }
        KpiType::Timestamp => Cell::Timestamp(
            chrono::NaiveDate::from_ymd_opt(2026, 2, (place % 28) as u32 + 1)
                .unwrap()
                .and_hms_opt(1, 2, 3)
                .unwrap(),
        ),
        KpiType::String => Cell::Text(kpi.name.clone()),
    }
}

/// The example project, and a result for its default report as the statement returns
/// it: `segment`, `parent`, `segc_row`, then each KPI, holding its place among the KPIs as a
/// value of its type ([`example_value`]).
fn example_result() -> (Project, ResultSet) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let project = crate::validate::load_and_validate(root).unwrap();
    let plan = example_plan(&project);
    let kpis: Vec<String> = plan
        .kpis
        .iter()
        .map(|id| project.kpi(*id).name.clone())
        .collect();
    let mut columns: Vec<String> = crate::plan::output::ROW_COLUMNS
        .iter()
        .map(|name| name.to_string())
        .collect();
    columns.extend(kpis.iter().cloned());
    let rows = plan
        .rows
        .iter()
        .map(|row| {
            let parent = row
                .parent(&project)
                .map_or(Cell::Null, |p| Cell::Text(p.into()));
            let mut cells = vec![
                Cell::Text(row.name(&project).into()),
                parent,
                Cell::Integer(row.ordinal as i64),
            ];
            cells.extend(
                kpis.iter()
                    .enumerate()
                    .map(|(place, kpi)| example_value(&project, kpi, place)),
            );
            cells
        })
        .collect();
    (project, ResultSet { columns, rows })
}

fn example_plan(project: &Project) -> Plan<'_> {
    let day = chrono::NaiveDate::from_ymd_opt(2026, 10, 31).unwrap();
    Plan::new(project, &crate::plan::ReportOptions::default(), day).unwrap()
}

/// Reorders every row of `result` (and its header) as `order` gives the old positions.
fn reordered(result: &ResultSet, order: &[usize]) -> ResultSet {
    let pick = |cells: &[Cell]| order.iter().map(|at| cells[*at].clone()).collect();
    ResultSet {
        columns: order.iter().map(|at| result.columns[*at].clone()).collect(),
        rows: result.rows.iter().map(|row| pick(row)).collect(),
    }
}

#[test]
fn results_are_read_by_column_name() {
    let (project, result) = example_result();
    let plan = example_plan(&project);
    let report = Report::from_result(&plan, "t", &result).unwrap();
    assert!(report.rows.iter().any(|row| row.parent.is_some()));
    for row in &report.rows {
        for (place, (column, value)) in report.columns.iter().zip(&row.values).enumerate() {
            let expected = example_value(&project, &column.name, place);
            assert_eq!(value, &expected, "{}", row.segment);
        }
    }
    // Columns in any order read the same.
    let backwards: Vec<usize> = (0..result.columns.len()).rev().collect();
    let shuffled = reordered(&result, &backwards);
    assert_eq!(Report::from_result(&plan, "t", &shuffled).unwrap(), report);
    // A name a warehouse folded to another case is accepted where the statement put it.
    let mut folded = result.clone();
    folded.columns = folded.columns.iter().map(|c| c.to_uppercase()).collect();
    assert_eq!(Report::from_result(&plan, "t", &folded).unwrap(), report);
    // A missing column is named.
    let mut missing = result.clone();
    missing.columns[1] = "something_else".into();
    let error = Report::from_result(&plan, "t", &missing).unwrap_err();
    assert!(error.to_string().contains("no column `parent`"), "{error}");
}

/// A row that is not the segment planned at its place fails loudly, rather than printing
/// one segment's numbers under another's name.
#[test]
fn a_row_naming_another_segment_is_refused() {
    let (project, result) = example_result();
    let plan = example_plan(&project);
    let mut swapped = result.clone();
    let (first, second) = (swapped.rows[1][0].clone(), swapped.rows[2][0].clone());
    swapped.rows[1][0] = second;
    swapped.rows[2][0] = first;
    let error = Report::from_result(&plan, "t", &swapped).unwrap_err();
    let expected = format!("expected segment `{}`", plan.rows[1].name(&project));
    assert!(error.to_string().contains(&expected), "{error}");

    let child = plan
        .rows
        .iter()
        .position(|row| row.parent(&project).is_some())
        .unwrap();
    let mut orphaned = result.clone();
    orphaned.rows[child][1] = Cell::Null;
    let error = Report::from_result(&plan, "t", &orphaned).unwrap_err();
    assert!(error.to_string().contains("with parent NULL"), "{error}");
}

/// A value of another kind than the statement's cast asks for (text where a count should
/// be, a fraction for a whole number, a number for a date) is not printed: a server that
/// answers so is not the warehouse the statement was written for.
#[test]
fn a_value_of_another_type_than_its_kpi_is_refused() {
    let (project, result) = example_result();
    let plan = example_plan(&project);
    let people = 3 + plan
        .kpis
        .iter()
        .position(|id| project.kpi(*id).name == "people")
        .unwrap();
    for (wrong, found) in [
        (Cell::Text("12".into()), "text"),
        (Cell::Double(12.5), "a fractional number"),
        (Cell::Boolean(true), "a boolean"),
        (Cell::Double(1e19), "a fractional number"),
    ] {
        let mut tampered = result.clone();
        tampered.rows[1][people] = wrong;
        let error = Report::from_result(&plan, "t", &tampered)
            .unwrap_err()
            .to_string();
        let expected = format!(
            "the warehouse returned {found} for column `people` (People) of segment `{}`, where the statement asks for a whole number",
            plan.rows[1].name(&project)
        );
        assert!(error.contains(&expected), "{error}");
    }
    // What every driver may return for the type is read as it.
    let mut whole = result.clone();
    whole.rows[1][people] = Cell::Double(12.0);
    let report = Report::from_result(&plan, "t", &whole).unwrap();
    assert_eq!(report.rows[1].values[people - 3], Cell::Integer(12));
    whole.rows[1][people] = Cell::Null;
    let report = Report::from_result(&plan, "t", &whole).unwrap();
    assert_eq!(report.rows[1].values[people - 3], Cell::Null);
}

#[test]
fn the_table_says_when_the_as_of_day_is_the_default() {
    let mut report = one_row(&[(Cell::Integer(1), Format::Integer)]);
    assert!(report.to_table().starts_with("p as of 2026-10-31 on t\n"));
    report.as_of_note = Some("yesterday, the last complete day in Pacific/Auckland".into());
    report.compared_with = Some("2025-10-31".into());
    assert!(report.to_table().starts_with(
        "p as of 2026-10-31 (yesterday, the last complete day in Pacific/Auckland), \
         compared with 2025-10-31 on t\n"
    ));
    // CSV and JSON carry the days, not the note: JSON in `as_of`, `period_start` and
    // `period_end`, CSV in columns of those names on every row.
    assert_eq!(report.to_json()["as_of"], "2026-10-31");
    assert_eq!(report.to_json()["period_start"], "2026-10-02");
    assert_eq!(report.to_json()["period_end"], "2026-10-31");
    assert!(report.to_json().get("as_of_note").is_none());
    assert_eq!(
        report.to_csv().unwrap(),
        "as_of,period_start,period_end,segment,parent,c0\n2026-10-31,2026-10-02,2026-10-31,all_users,,1\n"
    );
}

/// A comparison's change is the difference of the values as printed: two sums that differ
/// only in their last bits print a change of 0, not 2.2e-16, and the relative change
/// divides it by the prior value as computed; integers subtract exactly; a zero prior has no
/// relative change.
#[test]
fn changes_are_computed_from_the_printed_values() {
    let mut report = one_row(&[
        (Cell::Double(0.1 + 0.2), Format::Number),
        (Cell::Double(0.3), Format::Number),
        (Cell::Double(5.551115123125783e-17), Format::Number),
        (Cell::Double(1.850371707708594e-16), Format::Percent),
        (Cell::Integer(7), Format::Integer),
        (Cell::Integer(0), Format::Integer),
        (Cell::Integer(7), Format::Integer),
        (Cell::Null, Format::Percent),
        (Cell::Double(2.5000000000000004), Format::Number),
        (Cell::Double(2.0), Format::Number),
        (Cell::Double(0.5000000000000004), Format::Number),
        (Cell::Double(0.2500000000000002), Format::Percent),
        (Cell::Double(36.96), Format::Number),
        (Cell::Double(40.0 / 3.0), Format::Number),
        (Cell::Null, Format::Number),
        (Cell::Null, Format::Percent),
    ]);
    for (index, kind) in [
        ColumnKind::Value,
        ColumnKind::Prior,
        ColumnKind::Change,
        ColumnKind::RelativeChange,
    ]
    .iter()
    .cycle()
    .take(16)
    .enumerate()
    {
        report.columns[index].kind = *kind;
    }
    report.changes_from_reported_values();
    let values = &report.rows[0].values;
    assert_eq!(values[2], Cell::Double(0.0));
    assert_eq!(values[3], Cell::Double(0.0));
    assert_eq!(values[6], Cell::Integer(7));
    assert_eq!(values[7], Cell::Null);
    assert_eq!(values[10], Cell::Double(0.5));
    assert_eq!(values[11], Cell::Double(0.25));
    // The printed change over the prior: 23.6266666667 / 13.333333333333334, where the
    // printed prior (13.3333333333) gave 1.77200000001.
    assert_eq!(values[14], Cell::Double(23.6266666667));
    let relative = values[15].as_f64().unwrap();
    assert_eq!(reported_double(relative), Some(1.772), "{relative}");
}

#[test]
fn a_half_is_rounded_away_from_zero_as_the_formula_round_does() {
    // Exact halves in binary: Rust's formatting would keep them even (168.62, 0.2, 2).
    assert_eq!(fixed(168.625, 2), "168.63");
    assert_eq!(fixed(0.25, 1), "0.3");
    assert_eq!(fixed(2.5, 0), "3");
    assert_eq!(fixed(9.5, 0), "10");
    assert_eq!(fixed(99.875, 2), "99.88");
    assert_eq!(fixed(0.125, 2), "0.13");
    // Not halves: as Rust rounds them (0.35 is 0.34999…, 1.005 is 1.00499…).
    assert_eq!(fixed(0.35, 1), "0.3");
    assert_eq!(fixed(1.005, 2), "1.00");
    assert_eq!(fixed(168.624, 2), "168.62");
    assert_eq!(fixed(1234.5678, 2), "1234.57");
    // Through the table's formatting, signed and grouped.
    assert_eq!(
        format_value(&Cell::Double(-1168.625), Format::Number, "$"),
        "-1,168.63"
    );
}
