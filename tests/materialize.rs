//! `segc run --materialize` on every engine this run reaches (see tests/engines): the rows
//! it writes equal the report's values; a rerun leaves one set; `-k` replaces only its KPI's
//! rows; two runs at once leave one complete set; a table that does not fit is refused and
//! left alone; a run killed mid-write leaves the previous set.
#![cfg(all(
    feature = "duckdb",
    feature = "postgres",
    feature = "bigquery",
    feature = "sqlserver"
))]

mod common;
mod engines;

use std::path::Path;
use std::process::{Command, Stdio};

use engines::{Engine, connect, engines, run_json};
use segc::driver::Cell;
use serde_json::Value;

/// `segc run --materialize --output json` on a target: its exit code and printed summary.
fn materialize(project: &Path, profiles: &Path, target: &str, extra: &[&str]) -> (i32, Value) {
    let output = Command::new(assert_cmd::cargo::cargo_bin("segc"))
        .args(["run", "--materialize", "--output", "json", "--project"])
        .arg(project)
        .arg("--profiles-dir")
        .arg(profiles)
        .args(["--target", target])
        .args(extra)
        .output()
        .unwrap();
    let code = output.status.code().unwrap_or(-1);
    let summary = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    assert!(
        code == 0 || code == 3 || summary.is_null(),
        "{target}: {}",
        common::output_text(&output)
    );
    if code != 0 {
        eprintln!("{target}: {}", common::output_text(&output));
    }
    (code, summary)
}

/// A written row: run id, segment, KPI, number value.
type Written = (String, String, String, Option<f64>);

/// The rows of `table` on a target, ordered.
fn written(profiles: &Path, target: &str, table: &str) -> Vec<Written> {
    let sql = format!(
        "SELECT run_id, segment, kpi, value_number FROM {table} ORDER BY segment, kpi, run_id"
    );
    let result = connect(profiles, target)
        .query(&sql)
        .unwrap_or_else(|e| panic!("{target}: {e}"));
    result
        .rows
        .into_iter()
        .map(|row| {
            let text = |cell: &Cell| match cell {
                Cell::Text(text) => text.clone(),
                other => panic!("{target}: not text: {other:?}"),
            };
            (text(&row[0]), text(&row[1]), text(&row[2]), row[3].as_f64())
        })
        .collect()
}

fn run_ids(rows: &[Written]) -> Vec<String> {
    let mut ids: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Sets `results_table` in the project's segc_project.yml.
fn results_table(project: &Path, table: &str) {
    let file = project.join("segc_project.yml");
    let text: String = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .filter(|line| !line.starts_with("results_table:"))
        .map(|line| format!("{line}\n"))
        .collect();
    std::fs::write(&file, format!("{text}results_table: {table}\n")).unwrap();
}

/// `dir/profiles.yml` naming the DuckDB file `data` as target `duck`.
fn duck_profile(dir: &Path, data: &Path) {
    std::fs::write(
        dir.join("profiles.yml"),
        format!("duck: {{ type: duckdb, path: \"{}\" }}\n", data.display()),
    )
    .unwrap();
}

/// The core fixture copied into every engine, and a project folder of its definitions.
fn core_engines(database: &str) -> (tempfile::TempDir, Vec<Engine>) {
    let dir = tempfile::tempdir().unwrap();
    let engines = engines::core_on_every_engine(dir.path(), database);
    let project = dir.path().join("project");
    common::copy_project(&common::fixture("core"), &project, None);
    // In the fixture's schema: BigQuery's targets here have no default dataset.
    results_table(&project, "app.segc_kpis");
    (dir, engines)
}

#[test]
fn materialize_writes_the_report_once_per_key_on_every_engine() {
    let (dir, engines) = core_engines("segc_mat_core");
    let (profiles, project) = (dir.path(), dir.path().join("project"));
    for engine in &engines {
        let target = engine.target;
        let (code, first) = materialize(&project, profiles, target, &[]);
        assert_eq!(code, 0, "{target}: {first}");
        let computed = first["rows_computed"].as_u64().unwrap();
        assert!(computed > 0);
        assert_eq!(first["rows_written"], computed, "{target}");
        assert_eq!(first["created"], true, "{target}");
        let rows = written(profiles, target, "app.segc_kpis");
        assert_eq!(rows.len() as u64, computed, "{target}");

        // The values are the report's, KPI by KPI.
        let report = run_json(&project, profiles, target, &[]);
        for row in report["rows"].as_array().unwrap() {
            let segment = row["segment"].as_str().unwrap();
            for (kpi, value) in row.as_object().unwrap() {
                let Some(stored) = rows.iter().find(|r| r.1 == segment && &r.2 == kpi) else {
                    continue;
                };
                match value.as_f64() {
                    Some(want) => assert!(
                        stored
                            .3
                            .is_some_and(|got| common::nearly_equal(want, got, 1e-9)),
                        "{target}: {segment}/{kpi}: {want} in the report, {:?} written",
                        stored.3
                    ),
                    None => assert_eq!(stored.3, None, "{target}: {segment}/{kpi}"),
                }
            }
        }

        // A rerun replaces the set: the same rows, one run id, not the first one's.
        let (code, second) = materialize(&project, profiles, target, &[]);
        assert_eq!(code, 0, "{target}");
        assert_eq!(second["created"], false, "{target}");
        let rows = written(profiles, target, "app.segc_kpis");
        assert_eq!(rows.len() as u64, computed, "{target}");
        assert_eq!(
            run_ids(&rows),
            [second["run_id"].as_str().unwrap().to_string()],
            "{target}"
        );

        // `-k people` replaces the people rows only.
        let (code, people) = materialize(&project, profiles, target, &["-k", "people"]);
        assert_eq!(code, 0, "{target}");
        let rows = written(profiles, target, "app.segc_kpis");
        assert_eq!(rows.len() as u64, computed, "{target}");
        for row in &rows {
            let want = if row.2 == "people" { &people } else { &second };
            assert_eq!(row.0, want["run_id"].as_str().unwrap(), "{target}: {row:?}");
        }

        // Two runs at once leave one complete set.
        let spawn = || {
            Command::new(assert_cmd::cargo::cargo_bin("segc"))
                .args(["run", "--materialize", "--project"])
                .arg(&project)
                .arg("--profiles-dir")
                .arg(profiles)
                .args(["--target", target])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn(), spawn());
        for child in [a, b] {
            let output = child.wait_with_output().unwrap();
            assert!(
                output.status.code() == Some(0) || output.status.code() == Some(3),
                "{target}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let rows = written(profiles, target, "app.segc_kpis");
        assert_eq!(rows.len() as u64, computed, "{target}: two runs at once");
        assert_eq!(run_ids(&rows).len(), 1, "{target}: two runs at once");
    }
}

#[test]
fn a_results_table_that_does_not_fit_is_refused_and_left_alone() {
    let (dir, engines) = core_engines("segc_mat_misfit");
    let (profiles, project) = (dir.path(), dir.path().join("project"));
    results_table(&project, "app.segc_misfit");
    for engine in &engines {
        let target = engine.target;
        let number = match engine.dialect {
            "bigquery" => "INT64",
            _ => "BIGINT",
        };
        let table = "app.segc_misfit";
        let string = segc::dialect::Dialect::load(engine.dialect)
            .unwrap()
            .types
            .varchar;
        let create = format!("CREATE TABLE {table} (run_id {string}, value_number {number})");
        if target == "duck" {
            // Commands open DuckDB read-only; the fixture is written directly.
            let data = duckdb::Connection::open(dir.path().join("core.duckdb")).unwrap();
            data.execute_batch(&create).unwrap();
        } else {
            connect(profiles, target)
                .set_up(&create)
                .unwrap_or_else(|e| panic!("{target}: {e}"));
        }
        let (code, text) = common::segc_on(&project, profiles, target, &["run", "--materialize"]);
        assert_eq!(code, Some(1), "{target}: {text}");
        assert!(
            text.contains("does not fit")
                && text.contains("column `value_number` is")
                && text.contains("column `kpi` is missing")
                && text.contains("never alters a table"),
            "{target}: {text}"
        );
        let count = connect(profiles, target)
            .query(&format!("SELECT COUNT(*) AS n FROM {table}"))
            .unwrap();
        assert_eq!(count.rows[0][0].as_f64(), Some(0.0), "{target}");
    }
}

/// Starts `segc run --materialize` with JSON events on stderr, waits until its transaction
/// was sent, lets it run `after`, and kills it (SIGKILL: no chance to clean up).
fn kill_mid_write(project: &Path, profiles: &Path, target: &str, after: std::time::Duration) {
    use std::io::BufRead;
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("segc"))
        .args(["run", "--materialize", "--log-format", "json", "--project"])
        .arg(project)
        .arg("--profiles-dir")
        .arg(profiles)
        .args(["--target", target])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut seen = Vec::new();
    for line in stderr.lines() {
        let line = line.unwrap();
        // The write's transaction (the lock where the dialect has one, the delete, the
        // insert); a transaction of one statement creates the table.
        let sent = line.contains("\"query_sent\"")
            && line.contains("\"transaction\":")
            && !line.contains("\"transaction\":1");
        seen.push(line);
        if sent {
            std::thread::sleep(after);
            child.kill().unwrap();
            let status = child.wait().unwrap();
            assert!(
                status.code().is_none(),
                "{target}: the run ended before the kill ({status}):\n{}",
                seen.join("\n")
            );
            return;
        }
    }
    let _ = child.wait();
    panic!("{target}: no transaction was sent:\n{}", seen.join("\n"));
}

/// A DuckDB file takes no reader while a process writes it: a report started meanwhile
/// waits for the writer (announcing it), then runs, where it used to fail at once with
/// DuckDB's lock error.
#[test]
fn a_report_waits_for_a_process_writing_the_duckdb_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = engines::core_data(dir.path());
    duck_profile(dir.path(), &data);
    // This process holds the file for writing.
    let writer = duckdb::Connection::open(&data).unwrap();
    let child = Command::new(assert_cmd::cargo::cargo_bin("segc"))
        .args(["run", "--output", "json", "--timeout", "30", "--project"])
        .arg(common::fixture("core"))
        .arg("--profiles-dir")
        .arg(dir.path())
        .args(["--target", "duck"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    drop(writer);
    let output = child.wait_with_output().unwrap();
    let text = common::output_text(&output);
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains("waiting for another process to release"),
        "{text}"
    );
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(common::json_row(&json, "all_users").is_some(), "{text}");
}

#[test]
fn a_run_killed_mid_write_leaves_the_previous_set_on_duckdb() {
    let dir = tempfile::tempdir().unwrap();
    let data = engines::core_data(dir.path());
    let connection = duckdb::Connection::open(&data).unwrap();
    // Enough events that the statement runs for seconds.
    connection
        .execute_batch(
            "INSERT INTO app.events SELECT 1 + i % 10, TIMESTAMP '2024-03-01' + INTERVAL (i % 2500000) SECOND, 'view' FROM range(80000000) AS t(i)",
        )
        .unwrap();
    drop(connection);
    duck_profile(dir.path(), &data);
    let project = dir.path().join("project");
    common::copy_project(&common::fixture("core"), &project, None);
    results_table(&project, "app.segc_kpis");
    let (code, first) = materialize(&project, dir.path(), "duck", &[]);
    assert_eq!(code, 0);
    kill_mid_write(
        &project,
        dir.path(),
        "duck",
        std::time::Duration::from_millis(100),
    );
    let rows = written(dir.path(), "duck", "app.segc_kpis");
    assert_eq!(rows.len() as u64, first["rows_computed"].as_u64().unwrap());
    assert_eq!(
        run_ids(&rows),
        [first["run_id"].as_str().unwrap().to_string()]
    );
}

/// A results table the user may not write is explained: one the user holds no privilege on
/// (segc's catalog query reads pg_catalog, which lists it anyway, so segc does not try to
/// create it, as it did when it read information_schema, which lists only the columns a
/// user has a privilege on), and one the user may only read.
#[test]
fn a_results_table_the_user_may_not_write_is_explained_on_postgres() {
    if std::env::var("SEGC_TEST_POSTGRES").as_deref() != Ok("1") {
        eprintln!("skipped: set SEGC_TEST_POSTGRES=1");
        return;
    }
    let (dir, _) = core_engines("segc_mat_grants");
    let project = dir.path().join("project");
    let profiles = std::fs::read_to_string(dir.path().join("profiles.yml")).unwrap();
    // The `pg` target as another user, who may read the sources only.
    let pg = profiles
        .lines()
        .find(|line| line.starts_with("pg:"))
        .unwrap()
        .to_string();
    let reader = pg.replacen("pg:", "pg_reader:", 1).replace(
        "user: \"{{ env_var('SEGC_TEST_PG_USER', 'postgres') }}\"",
        "user: segc_reader",
    );
    assert!(reader.contains("user: segc_reader"), "{reader}");
    std::fs::write(
        dir.path().join("profiles.yml"),
        format!("{profiles}{reader}\n"),
    )
    .unwrap();
    let mut admin = connect(dir.path(), "pg");
    for statement in [
        "DROP OWNED BY segc_reader",
        "DROP ROLE IF EXISTS segc_reader",
    ] {
        let _ = admin.set_up(statement);
    }
    for statement in [
        "CREATE ROLE segc_reader LOGIN",
        "GRANT USAGE, CREATE ON SCHEMA app TO segc_reader",
        "GRANT SELECT ON ALL TABLES IN SCHEMA app TO segc_reader",
    ] {
        admin.set_up(statement).unwrap();
    }
    // The owner writes the table first; the reader has no privilege on it.
    let (code, _) = materialize(&project, dir.path(), "pg", &[]);
    assert_eq!(code, 0);
    admin
        .set_up("REVOKE ALL ON app.segc_kpis FROM segc_reader")
        .unwrap();
    let (code, text) =
        common::segc_on(&project, dir.path(), "pg_reader", &["run", "--materialize"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(!text.contains("already exists"), "{text}");
    assert!(
        text.contains("permission denied for table segc_kpis")
            && text.contains("SELECT, INSERT and DELETE to write the results"),
        "{text}"
    );
    // Allowed to read it only: the write is refused, and the hint names writing.
    admin
        .set_up("GRANT SELECT ON app.segc_kpis TO segc_reader")
        .unwrap();
    let (code, text) =
        common::segc_on(&project, dir.path(), "pg_reader", &["run", "--materialize"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("permission denied for table segc_kpis"),
        "{text}"
    );
    assert!(
        text.contains("SELECT, INSERT and DELETE to write the results or the history table"),
        "{text}"
    );
    // Allowed to delete, but row-level security lets it see and insert rows and delete none:
    // the DELETE removes nothing, and the run says so rather than leave two runs' rows for
    // the same day (it exited 0, "wrote" its rows).
    for statement in [
        "GRANT SELECT, INSERT, DELETE ON app.segc_kpis TO segc_reader",
        "ALTER TABLE app.segc_kpis ENABLE ROW LEVEL SECURITY",
        "CREATE POLICY segc_read ON app.segc_kpis FOR SELECT TO segc_reader USING (true)",
        "CREATE POLICY segc_insert ON app.segc_kpis FOR INSERT TO segc_reader WITH CHECK (true)",
    ] {
        admin.set_up(statement).unwrap();
    }
    let before = written(dir.path(), "pg", "app.segc_kpis");
    let (code, text) =
        common::segc_on(&project, dir.path(), "pg_reader", &["run", "--materialize"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "the results table app.segc_kpis still holds {} rows of earlier runs that this run replaces",
            before.len()
        )),
        "{text}"
    );
    assert_eq!(
        written(dir.path(), "pg", "app.segc_kpis").len(),
        2 * before.len(),
        "the reader's rows went in beside the owner's"
    );
    admin
        .set_up("ALTER TABLE app.segc_kpis DISABLE ROW LEVEL SECURITY")
        .unwrap();
    // PostgreSQL answers 42501 for every refused privilege; the hint says which. A setting in
    // `options` the user may not change is named (its name is no secret), and so is a policy
    // that `row_security = off` turns into an error.
    let options = reader
        .replacen("pg_reader:", "pg_reader_options:", 1)
        .replacen("{ ", "{ options: \"-c temp_file_limit=64kB\", ", 1);
    let profiles = std::fs::read_to_string(dir.path().join("profiles.yml")).unwrap();
    std::fs::write(
        dir.path().join("profiles.yml"),
        format!("{profiles}{options}\n"),
    )
    .unwrap();
    let (code, text) = common::segc_on(&project, dir.path(), "pg_reader_options", &["run"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("permission denied to set parameter \"temp_file_limit\"")
            && text.contains("remove it from `options` in profiles.yml"),
        "{text}"
    );
    for statement in [
        "ALTER TABLE app.users ENABLE ROW LEVEL SECURITY",
        "CREATE POLICY segc_users ON app.users FOR SELECT TO segc_reader USING (true)",
        "ALTER ROLE segc_reader SET row_security = off",
    ] {
        admin.set_up(statement).unwrap();
    }
    let (code, text) = common::segc_on(&project, dir.path(), "pg_reader", &["run"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("row-level security") && text.contains("row_security = off"),
        "{text}"
    );
    assert!(!text.contains("lacks a permission"), "{text}");
    admin
        .set_up("ALTER TABLE app.users DISABLE ROW LEVEL SECURITY")
        .unwrap();
    for statement in ["DROP OWNED BY segc_reader", "DROP ROLE segc_reader"] {
        let _ = admin.set_up(statement);
    }
}

/// A bare results or history table goes to the dialect's default schema (`public`), where
/// segc looks for it, whatever the session's search path: a path starting elsewhere
/// (`-c search_path=app`) made the first run create the table in `app` and every later one
/// fail, not finding it in `public` and creating it again.
#[test]
fn a_bare_table_is_written_in_public_whatever_the_search_path() {
    if std::env::var("SEGC_TEST_POSTGRES").as_deref() != Ok("1") {
        eprintln!("skipped: set SEGC_TEST_POSTGRES=1");
        return;
    }
    let (dir, _) = core_engines("segc_mat_path");
    let project = dir.path().join("project");
    results_table(&project, "segc_kpis");
    let profiles = std::fs::read_to_string(dir.path().join("profiles.yml")).unwrap();
    let pg = profiles
        .lines()
        .find(|line| line.starts_with("pg:"))
        .unwrap();
    let elsewhere = pg.replacen("pg:", "pg_app:", 1).replace(
        "sslmode: disable",
        "sslmode: disable, options: \"-c search_path=app\"",
    );
    assert!(elsewhere.contains("search_path=app"), "{elsewhere}");
    std::fs::write(
        dir.path().join("profiles.yml"),
        format!("{profiles}{elsewhere}\n"),
    )
    .unwrap();
    for _ in 0..2 {
        let (code, _) = materialize(&project, dir.path(), "pg_app", &["-k", "people"]);
        assert_eq!(code, 0);
        common::record_history(
            &project,
            dir.path(),
            "pg_app",
            &[("2024-03-30", "2024-03-31")],
        );
    }
    let rows = written(dir.path(), "pg", "public.segc_kpis");
    assert_eq!(run_ids(&rows).len(), 1, "a rerun replaced: {rows:?}");
    let mut admin = connect(dir.path(), "pg");
    let found = admin
        .query(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_name IN \
             ('segc_kpis', 'segc_membership', 'segc_membership_days') AND table_schema = 'app'",
        )
        .unwrap();
    assert_eq!(found.rows[0][0], Cell::Integer(0), "nothing in app");
    let days = admin
        .query("SELECT COUNT(*) FROM public.segc_membership_days")
        .unwrap();
    assert!(
        matches!(days.rows[0][0], Cell::Integer(n) if n > 0),
        "{days:?}"
    );
}

#[test]
fn a_run_killed_mid_write_leaves_the_previous_set_on_postgres_and_redshift() {
    if std::env::var("SEGC_TEST_POSTGRES").as_deref() != Ok("1") {
        eprintln!("skipped: set SEGC_TEST_POSTGRES=1");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("none.duckdb");
    let (_, profiles) = engines(&data, "segc_mat_kill");
    std::fs::write(dir.path().join("profiles.yml"), profiles).unwrap();
    let mut admin = connect(dir.path(), "pg_admin");
    for database in ["segc_mat_kill", "segc_mat_kill_rs"] {
        admin
            .set_up(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
            .unwrap();
        admin
            .set_up(&format!("CREATE DATABASE {database}"))
            .unwrap();
    }
    let project = dir.path().join("project");
    std::fs::create_dir_all(project.join("segment-defs")).unwrap();
    std::fs::write(
        project.join("segc_project.yml"),
        "name: slow\nas_of: 2024-03-31\nresults_table: app.segc_kpis\n",
    )
    .unwrap();
    std::fs::write(
        project.join("segment-defs/defs.yml"),
        "sources:\n  users: { table: app.users, key: user_id, columns: { signup_at: { column: created_at, type: timestamp } } }\nkpis:\n  - { name: people, agg: count }\n",
    )
    .unwrap();
    for target in ["pg", "rs"] {
        let mut db = connect(dir.path(), target);
        for statement in [
            "CREATE SCHEMA app",
            "CREATE TABLE app.base (user_id INTEGER, created_at TIMESTAMP)",
            "INSERT INTO app.base SELECT g, TIMESTAMP '2024-01-01' FROM generate_series(1, 8) AS g",
            // A quarter of a second per row read: a statement of about two seconds.
            "CREATE VIEW app.users AS SELECT b.user_id, b.created_at FROM app.base AS b \
             WHERE (pg_sleep(0.25)::text || b.user_id::text) IS NOT NULL",
        ] {
            db.set_up(statement).unwrap();
        }
        let (code, first) = materialize(&project, dir.path(), target, &[]);
        assert_eq!(code, 0, "{target}");
        kill_mid_write(
            &project,
            dir.path(),
            target,
            std::time::Duration::from_millis(700),
        );
        // The server finishes the statement, finds the connection closed and rolls the
        // transaction back.
        std::thread::sleep(std::time::Duration::from_secs(3));
        let rows = written(dir.path(), target, "app.segc_kpis");
        assert_eq!(
            rows.len() as u64,
            first["rows_computed"].as_u64().unwrap(),
            "{target}"
        );
        assert_eq!(
            run_ids(&rows),
            [first["run_id"].as_str().unwrap().to_string()],
            "{target}"
        );
    }
}

#[test]
fn a_results_table_name_that_no_warehouse_quotes_safely_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = engines::core_data(dir.path());
    duck_profile(dir.path(), &data);
    let project = dir.path().join("project");
    common::copy_project(&common::fixture("core"), &project, None);
    for name in ["app.a`b", "app.a\\\\b", "a..b", "a.b.c.d"] {
        results_table(&project, &format!("\"{name}\""));
        let output = Command::new(assert_cmd::cargo::cargo_bin("segc"))
            .args(["run", "--materialize", "--project"])
            .arg(&project)
            .arg("--profiles-dir")
            .arg(dir.path())
            .args(["--target", "duck"])
            .output()
            .unwrap();
        let text = common::output_text(&output);
        assert_eq!(output.status.code(), Some(1), "{name}: {text}");
        assert!(text.contains("is not a table name"), "{name}: {text}");
    }
}

/// On BigQuery, a bare results table name is written in the profile's `dataset`.
#[test]
fn a_bare_results_table_goes_to_the_bigquery_dataset_of_the_profile() {
    let (dir, engines) = core_engines("segc_mat_bare");
    let Some(bq) = engines.iter().find(|e| e.dialect == "bigquery") else {
        eprintln!("skipped: no BigQuery (set SEGC_TEST_BQ_ENDPOINT)");
        return;
    };
    let profiles = std::fs::read_to_string(dir.path().join("profiles.yml")).unwrap();
    let line = profiles
        .lines()
        .find(|l| l.starts_with(&format!("{}:", bq.target)))
        .unwrap();
    let with_dataset = line
        .replacen(&format!("{}:", bq.target), "bq_app:", 1)
        .replacen("type: bigquery,", "type: bigquery, dataset: app,", 1);
    std::fs::write(
        dir.path().join("profiles.yml"),
        format!("{profiles}{with_dataset}\n"),
    )
    .unwrap();
    let project = dir.path().join("project");
    let file = project.join("segc_project.yml");
    let text: String = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .filter(|line| !line.starts_with("results_table:"))
        .map(|line| format!("{line}\n"))
        .collect();
    std::fs::write(&file, text).unwrap();
    let (code, summary) = materialize(&project, dir.path(), "bq_app", &["-k", "people"]);
    assert_eq!(code, 0, "{summary}");
    assert_eq!(summary["results_table"], "app.segc_kpis");
    let rows = written(dir.path(), bq.target, "app.segc_kpis");
    assert_eq!(
        rows.len() as u64,
        summary["rows_computed"].as_u64().unwrap()
    );
}
