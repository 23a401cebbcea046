//! The statement gate: every command's statement passes it, and only test fixtures and the
//! drivers' own session settings use its other shapes. (Its rules: `src/driver/gate/`; every
//! compiled statement of every fixture and dialect is admitted in `compile_snapshots.rs`,
//! `series.rs` and `identifiers.rs`.)

mod common;

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Commands reach a warehouse only through `Driver::query` (the read-only shape): nothing
/// outside the driver layer asks for another shape or sends fixtures.
#[test]
fn no_command_uses_a_shape_other_than_read() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 20, "found the sources");
    let mut offenders = Vec::new();
    for file in files {
        let relative = file
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if relative.starts_with("driver/") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (number, line) in text.lines().enumerate() {
            let sends_otherwise = ["set_up(", "Shape::Fixture", "Shape::Session", ".send("]
                .iter()
                .any(|needle| line.contains(needle));
            // The demo generator writes its own local DuckDB file, never a warehouse.
            let writes_demo = relative == "demo.rs";
            if sends_otherwise && !writes_demo {
                offenders.push(format!("src/{relative}:{}: {}", number + 1, line.trim()));
            }
        }
    }
    assert!(offenders.is_empty(), "{}", offenders.join("\n"));
}

/// The settings pinned per session are well-formed statements of their dialects, PostgreSQL's
/// turn JIT off, PostgreSQL's and Redshift's pin the time zone, and SQL Server's pin every
/// setting the generated SQL relies on.
#[test]
fn pinned_session_settings_parse_in_their_dialects() {
    let postgres = segc::dialect::Dialect::load("postgres").unwrap();
    assert_eq!(postgres.session.settings.len(), 5);
    // JIT compiling segc's wide statements cost more than running them (benches/README.md).
    assert!(
        postgres
            .session
            .settings
            .contains(&"SET jit = off".to_string())
    );
    for setting in &postgres.session.settings {
        segc::sqlcheck::parse_one(setting, "postgres").unwrap_or_else(|e| panic!("{setting}: {e}"));
    }
    // A `timestamp with time zone` reads as its UTC time whatever the database's zone.
    let redshift = segc::dialect::Dialect::load("redshift").unwrap();
    for dialect in [&postgres, &redshift] {
        let zone = "SET timezone = 'UTC'".to_string();
        assert!(dialect.session.settings.contains(&zone), "{}", dialect.name);
    }
    // PostgreSQL's own functions and operators first, whatever the role's search path: the
    // path loses any pg_catalog written in it, so PostgreSQL searches it first.
    assert!(postgres.session.settings.iter().any(|setting| {
        setting.contains(
        "set_config('search_path', COALESCE((SELECT pg_catalog.string_agg(pg_catalog.quote_ident"
    ) && setting.contains("pg_catalog.array_remove(pg_catalog.current_schemas(false)")
    }));
    for setting in &redshift.session.settings {
        segc::sqlcheck::parse_one(setting, "redshift").unwrap_or_else(|e| panic!("{setting}: {e}"));
    }
    let sqlserver = segc::dialect::Dialect::load("sqlserver").unwrap();
    let [batch] = sqlserver.session.settings.as_slice() else {
        panic!("one batch: {:?}", sqlserver.session.settings);
    };
    let parser = segc::sqlcheck::parser_dialect("mssql").unwrap();
    let statements = sqlparser::parser::Parser::parse_sql(parser.as_ref(), batch).unwrap();
    assert_eq!(statements.len(), 6, "{statements:?}");
    for name in [
        "QUOTED_IDENTIFIER",
        "ANSI_NULLS",
        "ANSI_PADDING",
        "CONCAT_NULL_YIELDS_NULL",
        "ANSI_WARNINGS",
        "ARITHABORT",
    ] {
        assert!(batch.contains(&format!("SET {name} ON")), "{name}");
    }
    // Redshift sets only its time zone: it fixes the others itself.
    assert_eq!(redshift.session.settings.len(), 1);
}

/// A statement a hostile template or value could produce never reaches a driver: the CLI
/// refuses it before connecting, naming why.
#[test]
fn statements_that_write_or_call_unknown_functions_are_refused() {
    let postgres = segc::dialect::Dialect::load("postgres").unwrap();
    for sql in [
        "SELECT 1 AS a; DELETE FROM t",
        "WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x",
        "SELECT pg_sleep(3) AS a",
        "SELECT * FROM dblink('x', 'y') AS t(a int)",
        "SELECT 'a\\' AS a",
    ] {
        let refused =
            segc::driver::gate::admit(sql, &postgres, segc::driver::gate::Shape::Read).is_err();
        assert!(refused, "admitted: {sql}");
    }
}

/// A statement admitted once (`segc run` checks a large statement before connecting) is sent
/// only if the gate admitted it as a read-only query.
#[cfg(feature = "duckdb")]
#[test]
fn only_a_read_only_admitted_statement_is_sent_as_a_query() {
    use segc::driver::Driver;
    use segc::driver::gate::{Shape, admit};
    let mut database = segc::driver::duckdb::DuckDb::in_memory().unwrap();
    let dialect = segc::dialect::Dialect::load("duckdb").unwrap();
    let read = admit("SELECT 1 AS one", &dialect, Shape::Read).unwrap();
    let rows = database.query_admitted(read).unwrap();
    assert_eq!(rows.rows.len(), 1);
    let write = admit("CREATE TABLE t (x INTEGER)", &dialect, Shape::Fixture).unwrap();
    let refused = database.query_admitted(write).unwrap_err();
    assert!(refused.to_string().contains("read-only"), "{refused}");
    // Nothing was created.
    assert!(database.query("SELECT * FROM t").is_err());
}

/// Writes are asked for in two places, `segc run --materialize` (src/materialize/) and `segc
/// snapshot` (src/history/), and sent
/// only by the drivers.
#[test]
fn only_materialize_asks_for_writes() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut offenders = Vec::new();
    for file in files {
        let relative = file
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if ["driver/", "materialize/", "history/"]
            .iter()
            .any(|place| relative.starts_with(place))
        {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (number, line) in text.lines().enumerate() {
            if ["admit_write(", "Shape::Write", "driver.write("]
                .iter()
                .any(|w| line.contains(w))
            {
                offenders.push(format!("src/{relative}:{}: {}", number + 1, line.trim()));
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:#?}");
}

/// Every write `--materialize` sends passes the gate in every dialect (SQL Server's too:
/// parsed as T-SQL), and the gate refuses any other write, and any write of another table.
#[test]
fn the_writes_of_materialize_pass_in_every_dialect_and_no_other_write_does() {
    use segc::driver::gate::{Shape, Write, WriteTarget, admit, admit_write};
    use segc::materialize::{
        Only, ResultsTable, WriteSpec, column_names, create_sql, results_columns,
    };
    let project = common::core_project();
    let plan = common::plan(&project, &segc::plan::ReportOptions::default());
    let reports = segc::plan::Reports::Single(Box::new(plan));
    let table = ResultsTable {
        parts: vec!["app".into(), "segc_kpis".into()],
        origin: "a test".into(),
    };
    let columns = column_names();
    let target = WriteTarget {
        table: &table.parts,
        columns: &columns,
    };
    let only = Only {
        segments: Some(vec!["all_users".into(), "it's".into()]),
        kpis: Some(vec!["people".into()]),
    };
    for name in segc::dialect::names() {
        let dialect = segc::dialect::Dialect::load(name).unwrap();
        let spec = WriteSpec {
            table: &table.parts,
            run_id: "20261130T000000Z-0badcafe",
            computed_at: common::date("2026-11-30").and_hms_opt(0, 0, 0).unwrap(),
        };
        let insert = segc::render::render_write(&reports, &dialect, None, &spec).unwrap();
        let replaced = segc::render::render_replaced(&reports, &dialect, &only).unwrap();
        let delete = segc::render::render_delete(&dialect, &table.parts, &replaced);
        let create = create_sql(&dialect, &table, &results_columns());
        let mut writes = vec![
            (Write::Insert, insert.clone()),
            (Write::Delete, delete.clone()),
            (Write::Create, create.clone()),
        ];
        if let Some(lock) = &dialect.write.lock {
            writes.push((
                Write::Lock,
                lock.replace("{table}", &table.quoted(&dialect)),
            ));
        }
        for (kind, sql) in &writes {
            admit_write(sql, &dialect, *kind, target)
                .unwrap_or_else(|e| panic!("{name} {kind:?}: {e}\n{sql}"));
            // Never as a read, and a write only through admit_write.
            assert!(admit(sql, &dialect, Shape::Read).is_err(), "{name}: {sql}");
            assert!(admit(sql, &dialect, Shape::Write).is_err(), "{name}: {sql}");
        }
        // The insert and the delete of the same table under another name are refused.
        let other = WriteTarget {
            table: &["app".to_string(), "users".to_string()],
            columns: &columns,
        };
        assert!(admit_write(&insert, &dialect, Write::Insert, other).is_err());
        assert!(admit_write(&delete, &dialect, Write::Delete, other).is_err());
        // A write of one kind is not another kind.
        assert!(admit_write(&delete, &dialect, Write::Insert, target).is_err());
        assert!(admit_write(&create, &dialect, Write::Delete, target).is_err());
    }
    let postgres = segc::dialect::Dialect::load("postgres").unwrap();
    let names = columns
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ");
    for (kind, sql, why) in [
        (
            Write::Delete,
            "DELETE FROM app.segc_kpis".to_string(),
            "no WHERE",
        ),
        (
            Write::Delete,
            "DELETE FROM app.segc_kpis WHERE run_id = (SELECT lo_from_bytea(0, 'x'))".to_string(),
            "lo_from_bytea",
        ),
        (
            Write::Insert,
            format!("INSERT INTO app.segc_kpis ({names}) SELECT pg_sleep(1)"),
            "pg_sleep",
        ),
        (
            Write::Insert,
            format!("INSERT INTO app.segc_kpis ({names}) SELECT * FROM app.users RETURNING *"),
            "plain INSERT",
        ),
        (
            Write::Insert,
            "INSERT INTO app.segc_kpis (run_id) SELECT 'x'".to_string(),
            "columns",
        ),
        (
            Write::Create,
            "DROP TABLE app.segc_kpis".to_string(),
            "not the CREATE TABLE",
        ),
        (
            Write::Create,
            "CREATE TABLE app.segc_kpis AS SELECT * FROM app.users".to_string(),
            "from something else",
        ),
        (
            Write::Lock,
            "LOCK TABLE app.users".to_string(),
            "not the results table",
        ),
        (
            Write::Delete,
            "DELETE FROM app.segc_kpis WHERE 1 = 1; DROP TABLE app.users".to_string(),
            "2 statements",
        ),
    ] {
        let error = admit_write(&sql, &postgres, kind, target)
            .unwrap_err()
            .to_string();
        assert!(error.contains(why), "{sql}: {error}");
    }
}

/// The statements of `segc snapshot` pass the gate in every dialect (SQL Server's parsed as
/// T-SQL), each for its own table only.
#[test]
fn the_writes_of_snapshot_pass_in_every_dialect() {
    use segc::driver::gate::{Write, WriteTarget, admit_write};
    use segc::history::{DAY_COLUMNS, INTERVAL_COLUMNS, names};
    let project = common::core_project();
    let days: Vec<(String, segc::plan::Plan<'_>)> = ["2024-03-30", "2024-03-31"]
        .iter()
        .map(|day| {
            let options = segc::plan::ReportOptions {
                as_of: Some(common::date(day)),
                ..Default::default()
            };
            let plan = segc::plan::Plan::membership(&project, &options, common::date(day)).unwrap();
            (day.to_string(), plan)
        })
        .collect();
    let segments: Vec<(String, String)> = days[0]
        .1
        .rows
        .iter()
        .filter_map(|row| row.segment)
        .map(|id| {
            let hash = segc::history::definition_hash(&project, id).unwrap();
            (project.segment(id).name.clone(), hash)
        })
        .collect();
    let history = vec!["app".to_string(), "segc_membership".to_string()];
    let day_table = vec!["app".to_string(), "segc_membership_days".to_string()];
    let spec = segc::render::SnapshotSpec {
        history: &history,
        days: &day_table,
        run_id: "20261130T000000Z-0badcafe",
        recorded_at: common::date("2026-11-30").and_hms_opt(0, 0, 0).unwrap(),
        segments: &segments,
    };
    let (interval_columns, day_columns) = (names(&INTERVAL_COLUMNS), names(&DAY_COLUMNS));
    let intervals = WriteTarget {
        table: &history,
        columns: &interval_columns,
    };
    let recorded = WriteTarget {
        table: &day_table,
        columns: &day_columns,
    };
    for name in segc::dialect::names() {
        let dialect = segc::dialect::Dialect::load(name).unwrap();
        let merge = segc::render::render_snapshot(&days, &dialect, None, &spec).unwrap();
        let (delete_intervals, delete_days, insert_days) =
            segc::render::render_snapshot_writes(&days, &dialect, &spec).unwrap();
        for (sql, kind, target) in [
            (&merge, Write::Insert, intervals),
            (&delete_intervals, Write::Delete, intervals),
            (&delete_days, Write::Delete, recorded),
            (&insert_days, Write::Insert, recorded),
        ] {
            admit_write(sql, &dialect, kind, target)
                .unwrap_or_else(|e| panic!("{name} {kind:?}: {e}\n{sql}"));
        }
        if name == "sqlserver" {
            united_strings_are_collated(&merge);
        }
        // Not on each other's table.
        assert!(admit_write(&merge, &dialect, Write::Insert, recorded).is_err());
        assert!(admit_write(&delete_days, &dialect, Write::Delete, intervals).is_err());
    }
}

/// SQL Server gives a column read from a table that column's collation (the database's
/// default, for the history table) and one read through a stage the collation it had there
/// (BIN2, for a user's string key): a UNION of the two has none and fails (Msg 451, 468), so
/// every branch of the snapshot's pieces names the collation of its segment, key and hash.
fn united_strings_are_collated(merge: &str) {
    use sqlparser::ast::{Expr, SelectItem, SetExpr, Statement};
    fn branches<'a>(set: &'a SetExpr, out: &mut Vec<&'a sqlparser::ast::Select>) {
        match set {
            SetExpr::SetOperation { left, right, .. } => {
                branches(left, out);
                branches(right, out);
            }
            SetExpr::Select(select) => out.push(select),
            SetExpr::Query(query) => branches(&query.body, out),
            _ => {}
        }
    }
    let statement = segc::sqlcheck::parse_one(merge, "mssql").unwrap();
    let with = match &statement {
        Statement::Query(query) => query.with.as_ref(),
        Statement::Insert(insert) => insert.source.as_ref().and_then(|q| q.with.as_ref()),
        _ => None,
    }
    .unwrap_or_else(|| panic!("WITH … INSERT: {statement:?}"));
    let pieces = with
        .cte_tables
        .iter()
        .find(|cte| cte.alias.name.value == "segc_pieces")
        .expect("a stage segc_pieces");
    let mut selects = Vec::new();
    branches(&pieces.query.body, &mut selects);
    assert_eq!(selects.len(), 3, "{}", pieces.query);
    for select in selects {
        for column in [0, 1, 4] {
            let expr = match &select.projection[column] {
                SelectItem::UnnamedExpr(expr) => expr,
                SelectItem::ExprWithAlias { expr, .. } => expr,
                other => panic!("{other}"),
            };
            assert!(
                matches!(expr, Expr::Collate { .. }),
                "column {column} of {select}"
            );
        }
    }
}

/// A report with flow KPIs (read from the membership history) is one read-only query in every
/// dialect (SQL Server's parsed as T-SQL), alone, compared and month by month.
#[test]
fn reports_with_flow_kpis_pass_in_every_dialect() {
    let dir = tempfile::tempdir().unwrap();
    common::copy_project(&common::fixture("core"), dir.path(), None);
    std::fs::write(
        dir.path().join("segment-defs/flows.yml"),
        "kpis:\n  - { name: entered, flow: entered }\n  - { name: left, flow: left }\n  - { name: churn, ratio: [left, people] }\n  - { name: spend_timed, agg: avg, of: monthly_spend, membership: timed }\n",
    )
    .unwrap();
    let project = segc::validate::load_and_validate(dir.path()).unwrap();
    // One report, a comparison and a month series (each period's flows and timed values):
    // one query each.
    for request in [
        segc::Request::default(),
        segc::Request {
            compare: Some(segc::plan::Compare::PriorYear),
            ..Default::default()
        },
        segc::Request {
            months: Some((common::date("2024-01-01"), common::date("2024-03-01"))),
            ..Default::default()
        },
    ] {
        let reports = segc::plan(&project, &request).unwrap();
        for name in segc::dialect::names() {
            let dialect = segc::dialect::Dialect::load(name).unwrap();
            let sql = segc::render::render_reports(&reports, &dialect, None).unwrap();
            assert!(
                sql.contains("segc_flows") && sql.contains("segc_timed_kpis"),
                "{name}"
            );
            segc::driver::gate::admit(&sql, &dialect, segc::driver::gate::Shape::Read)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    // `membership: timed` takes a sum, average, minimum or maximum of a fact aggregate.
    std::fs::write(
        dir.path().join("segment-defs/flows.yml"),
        "kpis:\n  - { name: timed_people, agg: count, membership: timed }\n  - { name: odd, agg: sum, of: monthly_spend, membership: sometimes }\n",
    )
    .unwrap();
    let error = segc::validate::load_and_validate(dir.path())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("`membership: timed` needs")
            && error.contains("unknown membership `sometimes`"),
        "{error}"
    );
}
