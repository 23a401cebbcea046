//! PostgreSQL driver behaviour on a real server: version check, Ctrl-C and --timeout cancel in
//! the server, retries after a killed connection. (Cross-engine results: tests/conformance.rs.)
//! Runs when `SEGC_TEST_POSTGRES=1`; `scripts/test.sh` starts a server and sets it.
//! Connection settings: `SEGC_TEST_PG_HOST`, `_PORT`, `_USER`, `_PASSWORD`.
#![cfg(all(feature = "duckdb", feature = "postgres"))]

mod common;

use std::path::Path;

use segc::driver::{Cell, Driver};

const DATABASE: &str = "segc_conformance";

fn enabled() -> bool {
    if std::env::var("SEGC_TEST_POSTGRES").as_deref() == Ok("1") {
        return true;
    }
    eprintln!("skipped: set SEGC_TEST_POSTGRES=1 (and SEGC_TEST_PG_*) to run against PostgreSQL");
    false
}

/// A profiles.yml whose values come from the environment, as users write them.
fn write_profiles(dir: &Path) {
    let common = "host: \"{{ env_var('SEGC_TEST_PG_HOST', '127.0.0.1') }}\", port: \"{{ env_var('SEGC_TEST_PG_PORT', '5432') }}\", user: \"{{ env_var('SEGC_TEST_PG_USER', 'postgres') }}\", password: \"{{ env_var('SEGC_TEST_PG_PASSWORD', '') }}\"";
    let text = format!(
        "admin: {{ type: postgres, {common}, database: postgres, sslmode: disable }}\n\
         pg: {{ type: postgres, {common}, database: {DATABASE}, sslmode: disable }}\n\
         # Redshift processes backslash escapes; PostgreSQL does too with this setting.\n\
         rs: {{ type: redshift, {common}, database: {DATABASE}, sslmode: prefer, options: \"-c standard_conforming_strings=off\" }}\n"
    );
    std::fs::write(dir.join("profiles.yml"), text).unwrap();
}

fn connect(dir: &Path, target: &str) -> segc::driver::postgres::Postgres {
    let profile = segc::spec::profiles::load_profile(Some(dir), dir, target).unwrap();
    segc::driver::postgres::Postgres::connect(&profile).unwrap_or_else(|e| panic!("{target}: {e}"))
}

#[test]
fn targets_check_reports_the_version_and_never_the_password() {
    if !enabled() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write_profiles(dir.path());
    std::fs::write(dir.path().join("segc_project.yml"), "name: t\n").unwrap();
    let password = std::env::var("SEGC_TEST_PG_PASSWORD").unwrap_or_default();
    for args in [vec!["targets"], vec!["targets", "--check", "admin"]] {
        let output = assert_cmd::Command::cargo_bin("segc")
            .unwrap()
            .args(&args)
            .arg("--project")
            .arg(dir.path())
            .output()
            .unwrap();
        let text = common::output_text(&output);
        assert!(output.status.success(), "{text}");
        if !password.is_empty() {
            assert!(!text.contains(&password), "the password leaked: {text}");
        }
        if args.len() == 1 {
            assert!(text.contains("password: ****"), "{text}");
        } else {
            assert!(
                text.contains("PostgreSQL") && text.contains(" ms)"),
                "{text}"
            );
        }
    }
}

/// A project whose user table is a view that sleeps a second per row: a query that runs ~20 s.
fn slow_project(database: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_profiles(dir.path());
    let mut admin = connect(dir.path(), "admin");
    admin
        .query(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
        .unwrap();
    admin.query(&format!("CREATE DATABASE {database}")).unwrap();
    let profiles = std::fs::read_to_string(dir.path().join("profiles.yml")).unwrap();
    let slow = profiles
        .lines()
        .find(|l| l.starts_with("pg:"))
        .unwrap()
        .replace("pg:", "slow:")
        .replace(DATABASE, database);
    std::fs::write(
        dir.path().join("profiles.yml"),
        format!("{profiles}{slow}\n"),
    )
    .unwrap();
    let mut db = connect(dir.path(), "slow");
    for statement in [
        "CREATE SCHEMA app",
        "CREATE TABLE app.base (user_id INTEGER, created_at TIMESTAMP)",
        "INSERT INTO app.base SELECT g, TIMESTAMP '2024-01-01' FROM generate_series(1, 20) AS g",
        // pg_sleep in the row filter runs once per row (a subquery would run once).
        "CREATE VIEW app.users AS SELECT b.user_id, b.created_at FROM app.base AS b \
         WHERE (pg_sleep(1)::text || b.user_id::text) IS NOT NULL",
    ] {
        db.query(statement).unwrap();
    }
    std::fs::write(
        dir.path().join("segc_project.yml"),
        "name: slow\nas_of: 2024-03-31\ndefault_target: slow\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("segment-defs")).unwrap();
    std::fs::write(
        dir.path().join("segment-defs/defs.yml"),
        "sources:\n  users: { table: app.users, key: user_id, columns: { signup_at: created_at } }\nkpis:\n  - { name: people, agg: count }\n",
    )
    .unwrap();
    dir
}

/// Active queries in `database` other than our own, waiting briefly for cancels to land.
/// The number of queries running in `database`, polled every 100 ms until it equals `awaited`
/// or `tries` polls have passed; the last count read.
fn active_queries_awaiting(dir: &Path, database: &str, awaited: i64, tries: usize) -> i64 {
    let mut admin = connect(dir, "admin");
    let mut count = -1;
    for _ in 0..tries {
        let result = admin
            .query(&format!(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = '{database}' AND state = 'active' AND pid <> pg_backend_pid()"
            ))
            .unwrap();
        count = match result.rows[0][0] {
            Cell::Integer(n) => n,
            ref other => panic!("{other:?}"),
        };
        if count == awaited {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    count
}

/// Queries still running in `database` once they had 2 s to stop.
fn active_queries(dir: &Path, database: &str) -> i64 {
    active_queries_awaiting(dir, database, 0, 20)
}

fn wait_for(child: &mut std::process::Child) -> std::process::ExitStatus {
    for _ in 0..300 {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    panic!("segc did not stop within 30 s");
}

#[test]
fn ctrl_c_cancels_the_query_in_the_server_and_exits_130() {
    if !enabled() {
        return;
    }
    let dir = slow_project("segc_slow_cancel");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("segc"))
        .args(["run", "--project"])
        .arg(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Starting the binary and connecting may take a while on a loaded machine; the query runs
    // for ~20 s once started.
    assert_eq!(
        active_queries_awaiting(dir.path(), "segc_slow_cancel", 1, 150),
        1,
        "the report query is running"
    );
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = wait_for(&mut child);
    assert_eq!(status.code(), Some(130));
    assert_eq!(
        active_queries(dir.path(), "segc_slow_cancel"),
        0,
        "no query left running on the server"
    );
}

#[test]
fn timeout_cancels_the_query_in_the_server() {
    if !enabled() {
        return;
    }
    let dir = slow_project("segc_slow_timeout");
    let started = std::time::Instant::now();
    let output = std::process::Command::new(assert_cmd::cargo::cargo_bin("segc"))
        .args(["run", "--timeout", "2", "--project"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("--timeout 2 s"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "stopped at the time-out, not at the end"
    );
    assert_eq!(active_queries(dir.path(), "segc_slow_timeout"), 0);
}

#[test]
fn a_connection_killed_mid_query_is_retried_and_succeeds() {
    if !enabled() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write_profiles(dir.path());
    let mut driver = connect(dir.path(), "admin");
    let killer_dir = dir.path().to_path_buf();
    let killer = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(1));
        let mut admin = connect(&killer_dir, "admin");
        let killed = admin
            .query(
                "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE application_name = 'segc' AND state = 'active' AND query LIKE '%segc_retry_probe%' AND pid <> pg_backend_pid()",
            )
            .unwrap();
        killed.rows[0][0].clone()
    });
    let result = driver
        .query("SELECT CAST(42 AS BIGINT) AS segc_retry_probe FROM pg_sleep(2)")
        .unwrap();
    assert_eq!(
        killer.join().unwrap(),
        Cell::Integer(1),
        "the first attempt was killed"
    );
    assert_eq!(
        result.rows,
        vec![vec![Cell::Integer(42)]],
        "the retry succeeded"
    );
}
