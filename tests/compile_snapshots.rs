//! The generated SQL for every fixture × every dialect: pinned by snapshots, parsed back
//! by sqlparser in the dialect, reading each source table once, byte-identical on reruns.

mod common;

use std::path::PathBuf;

use segc::dialect::Dialect;
use segc::plan::ReportOptions;

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
            for source in &project.sources {
                let table = dialect.quote_path(&source.table.default);
                let reads = relations.iter().filter(|r| **r == table).count();
                assert_eq!(
                    reads, 1,
                    "{name}/{dialect_name}: {table} is read {reads} times"
                );
            }
            // However many segments there are, only CTEs are referenced beyond the sources.
            let others = relations.iter().filter(|r| !r.contains("segc_")).count();
            assert_eq!(
                others,
                project.sources.len(),
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
