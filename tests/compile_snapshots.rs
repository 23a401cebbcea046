//! The generated SQL for every fixture × every dialect: pinned by snapshots, parsed back
//! by sqlparser in the dialect, reading each source table once, byte-identical on reruns.

mod common;

use std::path::PathBuf;

use segc::dialect::Dialect;
use segc::plan::{Compare, ReportOptions};
use segc::render::{SeriesShape, render, render_series};
use sqlparser::ast::{Expr, SelectItem, SetExpr, Statement};

fn projects() -> Vec<(&'static str, PathBuf)> {
    vec![
        ("example", common::repository_root()),
        ("core", common::fixture("core")),
    ]
}

#[test]
fn every_dialect_compiles_parses_and_is_pinned() {
    for (name, root) in projects() {
        let project = segc::validate::load_and_validate(&root).unwrap();
        for dialect_name in segc::dialect::names() {
            let dialect = Dialect::load(dialect_name).unwrap();
            let sql = common::compile(&project, &dialect);
            common::assert_sendable(&sql, &dialect);
            segc::sqlcheck::parse_one(&sql, &dialect.sqlparser)
                .unwrap_or_else(|e| panic!("{name}/{dialect_name}: {e}\n{sql}"));
            assert_eq!(
                sql,
                common::compile(&project, &dialect),
                "{name}/{dialect_name}: the same input gives the same SQL"
            );
            insta::assert_snapshot!(format!("{name}__{dialect_name}"), sql);
        }
    }
}

/// Series statements (a comparison, three months) pinned too: their time values are columns
/// of the spine, numbered in order of first use.
#[test]
fn every_dialect_pins_its_series_statements() {
    for (name, root) in projects() {
        let project = segc::validate::load_and_validate(&root).unwrap();
        let options = ReportOptions::default();
        let current = common::plan(&project, &options);
        let prior = common::plan(
            &project,
            &current.prior_options(Compare::PriorYear, &options),
        );
        let compare = vec![("now".to_string(), current), ("before".to_string(), prior)];
        let months = segc::plan::month_plans(
            &project,
            common::date("2024-01-01"),
            common::date("2024-03-01"),
            &options,
            common::date("2030-01-01"),
        )
        .unwrap();
        for dialect_name in segc::dialect::names() {
            let dialect = Dialect::load(dialect_name).unwrap();
            for (shape, periods, label) in [
                (SeriesShape::Compare, &compare, "compare"),
                (SeriesShape::Periods, &months, "months"),
            ] {
                let sql = render_series(periods, &dialect, None, shape).unwrap();
                common::assert_sendable(&sql, &dialect);
                segc::sqlcheck::parse_one(&sql, &dialect.sqlparser)
                    .unwrap_or_else(|e| panic!("{name}/{dialect_name}/{label}: {e}\n{sql}"));
                insta::assert_snapshot!(format!("{name}__{label}__{dialect_name}"), sql);
            }
        }
    }
}

#[test]
fn every_source_table_is_read_exactly_once() {
    for (name, root) in projects() {
        let project = segc::validate::load_and_validate(&root).unwrap();
        for dialect_name in segc::dialect::names() {
            let dialect = Dialect::load(dialect_name).unwrap();
            let sql = common::compile(&project, &dialect);
            common::assert_sendable(&sql, &dialect);
            let statement = segc::sqlcheck::parse_one(&sql, &dialect.sqlparser).unwrap();
            let relations = segc::sqlcheck::relations(&statement);
            for (index, source) in project.sources.iter().enumerate() {
                let table = dialect.quote_path(&source.table.default);
                let reads = relations.iter().filter(|r| **r == table).count();
                // A KPI with `membership: timed` reads its facts once more, joined to the
                // members and their intervals.
                let timed = project
                    .kpis
                    .iter()
                    .filter(|kpi| kpi.timed)
                    .filter(|kpi| match kpi.kind {
                        segc::ir::KpiKind::Aggregate { of: Some(of), .. } => matches!(
                            project.attribute(of).kind,
                            segc::ir::AttributeKind::Aggregate { source, .. } if source.0 == index
                        ),
                        _ => false,
                    })
                    .count();
                assert_eq!(
                    reads,
                    1 + timed,
                    "{name}/{dialect_name}: {table} is read {reads} times ({timed} timed KPIs)"
                );
            }
            // However many segments there are, only CTEs are referenced beyond the sources.
            let others = relations.iter().filter(|r| !r.contains("segc_")).count();
            let timed = project.kpis.iter().filter(|kpi| kpi.timed).count();
            assert_eq!(
                others,
                project.sources.len() + timed,
                "{name}/{dialect_name}: {relations:?}"
            );
        }
    }
}

#[test]
fn explain_sql_parses_in_every_dialect() {
    let project = common::core_project();
    for segment in [
        "at_risk",
        "not_de",
        "multi",
        "active_admins",
        "active_member_veterans",
        "other_members_viewers",
    ] {
        let options = ReportOptions {
            select: vec![segment.into()],
            ..Default::default()
        };
        let plan = common::plan(&project, &options);
        let id = project.segment_by_name(segment).unwrap();
        for name in segc::dialect::names() {
            let dialect = Dialect::load(name).unwrap();
            let sql = segc::render::render_explain(&plan, &dialect, None, id).unwrap();
            common::assert_sendable(&sql, &dialect);
            segc::sqlcheck::parse_one(&sql, &dialect.sqlparser)
                .unwrap_or_else(|e| panic!("{segment}/{name}: {e}\n{sql}"));
            for (source, check) in
                segc::render::render_source_checks(&plan, &dialect, None).unwrap()
            {
                common::assert_sendable(&check, &dialect);
                segc::sqlcheck::parse_one(&check, &dialect.sqlparser)
                    .unwrap_or_else(|e| panic!("{source}/{name}: {e}\n{check}"));
            }
        }
    }
}

#[test]
fn nothing_after_the_as_of_instant_is_read() {
    let project = common::core_project();
    let dialect = Dialect::load("duckdb").unwrap();
    let sql = common::compile(&project, &dialect);
    assert!(
        sql.contains("\"u\".\"created_at\" < CAST('2024-04-01 00:00:00' AS TIMESTAMP)"),
        "{sql}"
    );
    assert!(
        sql.contains("\"f\".\"occurred_at\" < CAST('2024-04-01 00:00:00' AS TIMESTAMP)"),
        "{sql}"
    );
    assert!(
        sql.contains("\"f\".\"ordered_at\" < CAST('2024-04-01 00:00:00' AS TIMESTAMP)"),
        "{sql}"
    );
}

#[test]
fn user_strings_never_escape_their_literal() {
    let project = common::core_project();
    let dialect = Dialect::load("duckdb").unwrap();
    let sql = common::compile(&project, &dialect);
    assert!(
        sql.contains("'it''s a \\ test'"),
        "quotes doubled, backslash kept"
    );
    assert!(sql.contains("'Côte d''Ivoire'"));
    assert!(sql.contains("'line1\nline2'"));
}

/// The name a column of a SELECT list gets: its alias, else the column it reads.
fn output_name(item: &SelectItem) -> String {
    match item {
        SelectItem::ExprWithAlias { alias, .. } => alias.value.clone(),
        SelectItem::UnnamedExpr(Expr::CompoundIdentifier(parts)) => parts
            .last()
            .map(|part| part.value.clone())
            .unwrap_or_default(),
        SelectItem::UnnamedExpr(Expr::Identifier(name)) => name.value.clone(),
        other => panic!("an unnamed column: {other}"),
    }
}

/// The column names of a statement's outermost SELECT, as the warehouse returns them.
fn final_columns(sql: &str, dialect: &Dialect) -> Vec<String> {
    let statement = segc::sqlcheck::parse_one(sql, &dialect.sqlparser)
        .unwrap_or_else(|e| panic!("{}: {e}\n{sql}", dialect.name));
    let Statement::Query(query) = statement else {
        panic!("{}: not a query", dialect.name);
    };
    let SetExpr::Select(select) = query.body.as_ref() else {
        panic!("{}: the outermost query is not one SELECT", dialect.name);
    };
    select.projection.iter().map(output_name).collect()
}

/// Run by hand, every statement (a report, a comparison, month by month) shows which segment
/// each row is: `segment` and `parent` first (after the period of a month), the names written
/// only as the dialect's string literals, a missing parent as a typed NULL.
#[test]
fn every_statement_names_each_rows_segment_and_parent_first() {
    let project = common::core_project();
    let options = ReportOptions::default();
    let current = common::plan(&project, &options);
    let prior = common::plan(
        &project,
        &current.prior_options(Compare::PriorYear, &options),
    );
    let compare = vec![
        ("now".to_string(), current.clone()),
        ("before".to_string(), prior),
    ];
    let months = segc::plan::month_plans(
        &project,
        common::date("2024-01-01"),
        common::date("2024-03-01"),
        &options,
        common::date("2030-01-01"),
    )
    .unwrap();
    assert!(
        current
            .rows
            .iter()
            .any(|row| row.parent(&project).is_some()),
        "the fixture has drill-downs"
    );
    for name in segc::dialect::names() {
        let dialect = Dialect::load(name).unwrap();
        let literal = |text: &str| dialect.string_literal(text);
        let no_parent = format!("CAST(NULL AS {})", dialect.types.varchar);
        let statements = [
            ("report", render(&current, &dialect, None).unwrap(), None),
            (
                "compare",
                render_series(&compare, &dialect, None, SeriesShape::Compare).unwrap(),
                None,
            ),
            (
                "months",
                render_series(&months, &dialect, None, SeriesShape::Periods).unwrap(),
                Some("segc_period"),
            ),
        ];
        for (what, sql, period) in statements {
            common::assert_sendable(&sql, &dialect);
            let expected: Vec<&str> = period
                .into_iter()
                .chain(["segment", "parent", "segc_row"])
                .collect();
            let columns = final_columns(&sql, &dialect);
            assert_eq!(
                columns[..expected.len()],
                expected,
                "{name} {what}: {columns:?}"
            );
            let first_row = format!(
                "SELECT 0 AS {}, {} AS {}, {no_parent} AS {}",
                dialect.quote_identifier("segc_row"),
                literal("all_users"),
                dialect.quote_identifier("segment"),
                dialect.quote_identifier("parent"),
            );
            assert!(
                sql.contains(&first_row),
                "{name} {what}: {first_row}\n{sql}"
            );
            for row in current.rows.iter().skip(1) {
                let parent = row
                    .parent(&project)
                    .map_or_else(|| no_parent.clone(), literal);
                let listed = format!(
                    "SELECT {}, {}, {parent}",
                    row.ordinal,
                    literal(row.name(&project))
                );
                assert!(sql.contains(&listed), "{name} {what}: {listed}");
            }
        }
    }
}

/// Condition masks key strings by the dialect's `exact` form and their conditions read the
/// key as it is, so a dialect whose `exact` changes the value (Redshift and SQL Server
/// append a character) keeps the flags even where masks are asked for: a mask keyed by
/// `'DE' || CHR(1)` would fail `country = 'DE'`. PostgreSQL's (a collation) writes them.
#[test]
fn masks_are_written_only_where_exact_strings_keep_their_value() {
    let dir = tempfile::tempdir().unwrap();
    let project = common::wide_core_project(dir.path());
    let plan = common::plan(&project, &ReportOptions::default());
    for (name, masked) in [
        ("postgres", true),
        ("redshift", false),
        ("sqlserver", false),
    ] {
        let mut dialect = Dialect::load(name).unwrap();
        dialect.capabilities.masks_from_rows = Some(1);
        let sql = render(&plan, &dialect, None).unwrap();
        assert_eq!(sql.contains("segc_mask_1"), masked, "{name}:\n{sql}");
    }
}

/// A project whose columns that say when are dates (declared), in New York, as of
/// 2024-03-31: its fact time, sign-up and history validity, read in windows, a month series
/// and after sign-up.
fn dated_project(root: &std::path::Path) -> segc::ir::Project {
    std::fs::create_dir_all(root.join("segment-defs")).unwrap();
    std::fs::write(
        root.join("segc_project.yml"),
        "name: dated\nas_of: 2024-03-31\ntime_zone: America/New_York\n",
    )
    .unwrap();
    std::fs::write(
        root.join("segment-defs/defs.yml"),
        "sources:\n\
         \x20 users: { table: app.users, key: { column: user_id, type: integer }, columns: { signup_at: { column: signed_up_on, type: date }, account_id: { column: account_id, type: integer } } }\n\
         \x20 plans: { table: app.plans, key: account_id, history: { valid_from: valid_from, valid_to: valid_to, type: date }, columns: { plan: { column: plan, type: string } } }\n\
         \x20 orders: { table: app.orders, user_key: user_id, time: { column: ordered_on, type: date }, columns: { amount: { column: amount, type: number } } }\n\
         attributes:\n\
         \x20 spend_30d: { source: orders, agg: sum, column: amount, window: 30d }\n\
         \x20 days: { source: orders, agg: count_distinct_days, window: 30d }\n\
         \x20 early: { source: orders, agg: count, window: { after_signup: 7d } }\n\
         \x20 last_order: { source: orders, agg: max, column: time }\n\
         segments:\n\
         \x20 - { name: on_pro, all: [ { plan: { eq: pro } } ] }\n\
         kpis:\n\
         \x20 - { name: people, agg: count }\n\
         \x20 - { name: spend_30d, agg: sum, of: spend_30d }\n\
         \x20 - { name: days, agg: sum, of: days }\n\
         \x20 - { name: early, agg: sum, of: early }\n\
         \x20 - { name: last_order, agg: max, of: last_order }\n",
    )
    .unwrap();
    segc::validate::load_and_validate(root).unwrap()
}

#[test]
fn dates_that_say_when_are_compared_with_local_days_in_every_dialect() {
    let dir = tempfile::tempdir().unwrap();
    let project = dated_project(dir.path());
    let options = ReportOptions::default();
    let months = segc::plan::month_plans(
        &project,
        common::date("2024-02-01"),
        common::date("2024-03-01"),
        &options,
        common::date("2030-01-01"),
    )
    .unwrap();
    for dialect_name in segc::dialect::names() {
        let dialect = Dialect::load(dialect_name).unwrap();
        let report = common::compile(&project, &dialect);
        let series = render_series(&months, &dialect, None, SeriesShape::Periods).unwrap();
        for sql in [&report, &series] {
            common::assert_sendable(sql, &dialect);
            segc::sqlcheck::parse_one(sql, &dialect.sqlparser)
                .unwrap_or_else(|e| panic!("{dialect_name}: {e}\n{sql}"));
        }
        // New York's days start at 04:00 or 05:00 UTC: every bound here is a day itself, the
        // day after the as-of day for the end, March 2nd for the 30 days.
        for instant in ["04:00:00", "05:00:00"] {
            assert!(
                !report.contains(instant),
                "{dialect_name}: an instant in\n{report}"
            );
        }
        let compared = |column: &str, operator: &str, day: &str| {
            let written = format!("{} {operator} ", dialect.quote_identifier(column));
            report.match_indices(&written).any(|(at, _)| {
                let bound = &report[at + written.len()..];
                bound[..bound.len().min(60)].contains(&format!("'{day}'"))
            })
        };
        for column in ["signed_up_on", "ordered_on", "valid_from"] {
            assert!(
                compared(column, "<", "2024-04-01"),
                "{dialect_name}: {column} in\n{report}"
            );
        }
        assert!(
            compared("valid_to", ">=", "2024-04-01"),
            "{dialect_name}: valid_to in\n{report}"
        );
        assert!(
            compared("ordered_on", ">=", "2024-03-02"),
            "{dialect_name}: the window in\n{report}"
        );
    }
}
