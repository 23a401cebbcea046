//! PostgreSQL driver behaviour on a real server: version check, Ctrl-C and --timeout cancel in
//! the server, retries after a killed connection. (Cross-engine results: tests/conformance.rs.)
//! Runs when `SEGC_TEST_POSTGRES=1`; `scripts/test.sh` starts a server and sets it.
//! Connection settings: `SEGC_TEST_PG_HOST`, `_PORT`, `_USER`, `_PASSWORD`; `SEGC_TEST_PG_CA`,
//! the authority that signed the server's certificate (for a server with `ssl=on`), turns on
//! the TLS test.
#![cfg(all(feature = "duckdb", feature = "postgres"))]

mod common;
mod engines;

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
         rs: {{ type: redshift, {relay}, database: {DATABASE}, sslmode: prefer, options: \"-c standard_conforming_strings=off\" }}\n",
        relay = engines::redshift::common_settings(common),
    );
    std::fs::write(dir.join("profiles.yml"), text).unwrap();
}

/// A one-file project in `dir`: `segc_project.yml` named `name`, as of 2024-03-31, reading
/// `target` by default, and `definitions` in segment-defs/defs.yml.
/// `segc run` of the project in `dir` with the profiles there: its exit code and output.
fn run_in(dir: &Path) -> (Option<i32>, String) {
    let output = assert_cmd::Command::cargo_bin("segc")
        .unwrap()
        .args(["run", "--project"])
        .arg(dir)
        .arg("--profiles-dir")
        .arg(dir)
        .output()
        .unwrap();
    (output.status.code(), common::output_text(&output))
}

fn write_project(dir: &Path, name: &str, target: &str, definitions: &str) {
    std::fs::write(
        dir.join("segc_project.yml"),
        format!("name: {name}\nas_of: 2024-03-31\ndefault_target: {target}\n"),
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("segment-defs")).unwrap();
    std::fs::write(dir.join("segment-defs/defs.yml"), definitions).unwrap();
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

/// A new, empty `database` (dropped first if it exists), and profiles.yml with the usual
/// targets plus `targets`, each a (name, type) on that database with the `pg` target's other
/// settings.
fn fresh_database(database: &str, targets: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_profiles(dir.path());
    let mut admin = connect(dir.path(), "admin");
    admin
        .set_up(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
        .unwrap();
    admin
        .set_up(&format!("CREATE DATABASE {database}"))
        .unwrap();
    let profiles = std::fs::read_to_string(dir.path().join("profiles.yml")).unwrap();
    let pg = profiles.lines().find(|l| l.starts_with("pg:")).unwrap();
    let extra: Vec<String> = targets
        .iter()
        .map(|(name, kind)| {
            let line = pg
                .replacen("pg:", &format!("{name}:"), 1)
                .replace("type: postgres", &format!("type: {kind}"))
                .replace(DATABASE, database);
            match *kind {
                // Redshift's SQL reaches the server through the relay (tests/engines/redshift.rs).
                "redshift" => engines::redshift::common_settings(&line),
                _ => line,
            }
        })
        .collect();
    std::fs::write(
        dir.path().join("profiles.yml"),
        format!("{profiles}{}\n", extra.join("\n")),
    )
    .unwrap();
    dir
}

/// A project whose user table is a view that sleeps a second per row: a query that runs ~20 s.
fn slow_project(database: &str) -> tempfile::TempDir {
    let dir = fresh_database(database, &[("slow", "postgres")]);
    let mut db = connect(dir.path(), "slow");
    for statement in [
        "CREATE SCHEMA app",
        "CREATE TABLE app.base (user_id INTEGER, created_at TIMESTAMP)",
        "INSERT INTO app.base SELECT g, TIMESTAMP '2024-01-01' FROM generate_series(1, 20) AS g",
        // pg_sleep in the row filter runs once per row (a subquery would run once).
        "CREATE VIEW app.users AS SELECT b.user_id, b.created_at FROM app.base AS b \
         WHERE (pg_sleep(1)::text || b.user_id::text) IS NOT NULL",
    ] {
        db.set_up(statement).unwrap();
    }
    write_project(
        dir.path(),
        "slow",
        "slow",
        // The key's and the sign-up's types declared: the report is the one query (no
        // catalog read first).
        "sources:\n  users: { table: app.users, key: { column: user_id, type: integer }, columns: { signup_at: { column: created_at, type: timestamp } } }\nkpis:\n  - { name: people, agg: count }\n",
    );
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

/// The backend pid of the one query running in `database`.
fn running_pid(dir: &Path, database: &str) -> String {
    let mut admin = connect(dir, "admin");
    let result = admin
        .query(&format!(
            "SELECT pid FROM pg_stat_activity WHERE datname = '{database}' AND state = 'active' AND pid <> pg_backend_pid()"
        ))
        .unwrap();
    match result.rows.as_slice() {
        [row] => match row[0] {
            Cell::Integer(pid) => pid.to_string(),
            ref other => panic!("{other:?}"),
        },
        rows => panic!("one running query expected: {rows:?}"),
    }
}

/// `target/run_results.json` of the project in `dir`.
fn run_results(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("target/run_results.json")).unwrap();
    serde_json::from_str(&text).unwrap()
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

/// Sends `signal` to `segc run` once its report query runs on the server: segc exits with
/// `code`, names the signal in its message, and the query is gone from the server's activity
/// view within a second.
fn signal_cancels_the_query(database: &str, signal: &str, code: i32, named: &str) {
    let dir = slow_project(database);
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
        active_queries_awaiting(dir.path(), database, 1, 150),
        1,
        "the report query is running"
    );
    let pid = running_pid(dir.path(), database);
    let sent = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = wait_for(&mut child);
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(code), "{stderr}");
    assert!(stderr.contains(named), "{stderr}");
    assert_eq!(
        active_queries_awaiting(dir.path(), database, 0, 10),
        0,
        "the query left the server within a second"
    );
    // The run is recorded as interrupted, with the backend the query ran on.
    let results = run_results(dir.path());
    assert_eq!(results["status"], "error");
    assert_eq!(results["exit_code"], code);
    assert!(
        results["error"].as_str().unwrap().contains(named),
        "{results}"
    );
    assert_eq!(results["query_id_kind"], "backend pid");
    assert_eq!(results["query_id"], pid.as_str(), "{results}");
    assert_eq!(results["dialect"], "postgres");
}

#[test]
fn ctrl_c_cancels_the_query_in_the_server_and_exits_130() {
    if enabled() {
        signal_cancels_the_query("segc_slow_cancel", "-INT", 130, "cancelled (Ctrl-C)");
    }
}

#[test]
fn sigterm_cancels_the_query_in_the_server_and_exits_143() {
    if enabled() {
        signal_cancels_the_query("segc_slow_term", "-TERM", 143, "cancelled (SIGTERM)");
    }
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
            .set_up(
                "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE application_name = 'segc' AND state = 'active' AND query LIKE '%segc_retry_probe%' AND pid <> pg_backend_pid()",
            )
            .unwrap();
        killed.rows[0][0].clone()
    });
    let result = driver
        .set_up("SELECT CAST(42 AS BIGINT) AS segc_retry_probe FROM pg_sleep(2)")
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

/// The reproducer of an injection through a backslash: on a database whose
/// standard_conforming_strings is off, PostgreSQL reads `\'` as an escaped quote, so a literal
/// written with doubled quotes only would end early and run what follows.
const PAYLOAD: &str = "\\' OR (SELECT count(*) FROM pg_sleep(3)) + lo_from_bytea(0, $$x$$)::int >= 0 THEN 1 ELSE 0 END AS \"segc_in_pwn\" --";

/// A database whose default is `standard_conforming_strings = off`, with a user table of names
/// holding backslashes and quotes, and a project matching them exactly.
fn backslash_project(database: &str) -> tempfile::TempDir {
    // Both types on the same database, with no `options`: the database's default applies.
    let dir = fresh_database(
        database,
        &[("plain_pg", "postgres"), ("plain_rs", "redshift")],
    );
    connect(dir.path(), "admin")
        .set_up(&format!(
            "ALTER DATABASE {database} SET standard_conforming_strings = off"
        ))
        .unwrap();
    let mut db = connect(dir.path(), "plain_pg");
    let postgres = segc::dialect::Dialect::load("postgres").unwrap();
    let names = [PAYLOAD, "a\\b", "\\", "x", "admin", "it's"];
    let values: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            format!(
                "({}, TIMESTAMP '2024-01-01', {})",
                i + 1,
                postgres.string_literal(name)
            )
        })
        .collect();
    for statement in [
        "CREATE SCHEMA app".to_string(),
        "CREATE TABLE app.users (user_id INTEGER, created_at TIMESTAMP, uname TEXT)".into(),
        format!("INSERT INTO app.users VALUES {}", values.join(", ")),
    ] {
        db.set_up(&statement).unwrap();
    }
    let yaml = |value: &str| serde_json::to_string(value).unwrap();
    write_project(
        dir.path(),
        "backslash",
        "plain_pg",
        &format!(
            "sources:\n  users: {{ table: app.users, key: user_id, columns: {{ signup_at: created_at, uname: {{ column: uname, type: string }} }} }}\n\
             segments:\n\
             \x20 - {{ name: pwn, all: [ {{ uname: {{ eq: {} }} }} ] }}\n\
             \x20 - {{ name: slash, all: [ {{ uname: {{ eq: {} }} }} ] }}\n\
             \x20 - {{ name: lone, all: [ {{ uname: {{ in: [{}, x] }} }} ] }}\n\
             \x20 - {{ name: leading, all: [ {{ uname: {{ starts_with: {} }} }} ] }}\n\
             \x20 - {{ name: quoted, all: [ {{ uname: {{ contains: {} }} }} ] }}\n\
             kpis:\n  - {{ name: people, agg: count }}\n",
            yaml(PAYLOAD),
            yaml("a\\b"),
            yaml("\\"),
            yaml("\\"),
            yaml("'"),
        ),
    );
    dir
}

/// Code another user planted where the search path reaches it: a function with the name and
/// arguments of PostgreSQL's own (`evil.chr(integer)`, with `evil` before pg_catalog on the
/// database's path) is not called on PostgreSQL, whose session path loses pg_catalog (so it
/// is searched first); an operator that matches better than the built-in one
/// (`public.=(varchar, text)`) is, but its write fails, since segc reads in read-only
/// transactions, as does Redshift's call of `evil.chr`. Nothing is written.
#[test]
fn code_planted_on_the_search_path_neither_replaces_functions_nor_writes() {
    if !enabled() {
        return;
    }
    let database = "segc_planted";
    let dir = fresh_database(
        database,
        &[("plain_pg", "postgres"), ("plain_rs", "redshift")],
    );
    let mut admin = connect(dir.path(), "plain_pg");
    for statement in [
        "CREATE SCHEMA app",
        "CREATE TABLE app.users (user_id INTEGER, created_at TIMESTAMP, uname VARCHAR(20), country VARCHAR(10))",
        "INSERT INTO app.users VALUES (1, TIMESTAMP '2024-01-01', 'a' || CHR(92) || 'b', 'DE'), \
         (2, TIMESTAMP '2024-01-01', 'x', 'FR'), (3, TIMESTAMP '2024-01-01', 'y', 'DE')",
        "CREATE TABLE public.canary (note TEXT)",
        "CREATE SCHEMA evil",
        "CREATE FUNCTION evil.chr(INTEGER) RETURNS TEXT LANGUAGE plpgsql AS $$ BEGIN \
         INSERT INTO public.canary VALUES ('chr'); RETURN pg_catalog.chr($1); END $$",
        &format!("ALTER DATABASE {database} SET search_path = evil, pg_catalog, public"),
    ] {
        admin
            .set_up(statement)
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    let canary = |dir: &Path| -> Cell {
        connect(dir, "plain_pg")
            .set_up("SELECT COUNT(*) FROM public.canary")
            .unwrap()
            .rows[0][0]
            .clone()
    };
    write_project(
        dir.path(),
        "planted",
        "plain_pg",
        "sources:\n  users: { table: app.users, key: user_id, columns: { signup_at: created_at, uname: { column: uname, type: string } } }\n\
         segments:\n  - { name: slash, all: [ { uname: { eq: \"a\\\\b\" } } ] }\n\
         kpis:\n  - { name: people, agg: count }\n",
    );
    let json = common::run_json(dir.path(), &["--target", "plain_pg"]);
    let people = |segment: &str| {
        common::json_row(&json, segment).unwrap_or_else(|| panic!("no row {segment}: {json}"))
            ["people"]
            .clone()
    };
    assert_eq!(people("all_users"), 3);
    assert_eq!(people("slash"), 1, "PostgreSQL's CHR(92)");
    // Redshift's session keeps the role's path (its SQL is checked here on PostgreSQL): the
    // planted function is called, and its write fails.
    let run_fails = |target: &str| {
        let output = assert_cmd::Command::cargo_bin("segc")
            .unwrap()
            .args(["run", "--target", target, "--project"])
            .arg(dir.path())
            .arg("--profiles-dir")
            .arg(dir.path())
            .output()
            .unwrap();
        let text = common::output_text(&output);
        assert_eq!(output.status.code(), Some(1), "{target}: {text}");
        assert!(text.contains("read-only transaction"), "{target}: {text}");
    };
    run_fails("plain_rs");
    assert_eq!(canary(dir.path()), Cell::Integer(0), "nothing written");

    admin
        .set_up(
            "CREATE FUNCTION public.planted_eq(VARCHAR, TEXT) RETURNS BOOLEAN LANGUAGE plpgsql AS $$ \
             BEGIN INSERT INTO public.canary VALUES ('eq'); RETURN $1::TEXT = $2; END $$",
        )
        .unwrap();
    admin
        .set_up("CREATE OPERATOR public.= (LEFTARG = VARCHAR, RIGHTARG = TEXT, FUNCTION = public.planted_eq)")
        .unwrap();
    std::fs::write(
        dir.path().join("segment-defs/defs.yml"),
        "sources:\n  users: { table: app.users, key: user_id, columns: { signup_at: created_at, country: { column: country, type: string } } }\n\
         segments:\n  - { name: de, all: [ { country: { eq: DE } } ] }\n\
         kpis:\n  - { name: people, agg: count }\n",
    )
    .unwrap();
    // PostgreSQL reads a string as `text`, whose `=` is its own and matches exactly: the
    // planted one for `varchar` is not called. Redshift's form still meets it, and fails.
    let json = common::run_json(dir.path(), &["--target", "plain_pg"]);
    assert_eq!(
        common::json_row(&json, "de").unwrap()["people"],
        2,
        "{json}"
    );
    run_fails("plain_rs");
    assert_eq!(
        canary(dir.path()),
        Cell::Integer(0),
        "the planted = wrote nothing"
    );
}

/// PostgreSQL reads every string as `text` before comparing it: a `citext` column's own `=`,
/// DISTINCT and MAX ignore case (US = us, one country), an enum takes no collation (the
/// report failed), and a `left(varchar, integer)` someone defined in a schema on the path
/// matched a `varchar` column better than PostgreSQL's own. In a SQL_ASCII database, which
/// counts bytes, `starts_with` and `ends_with` take as many as the text has (`Cô` is three).
#[test]
fn strings_compare_as_text_whatever_their_type_or_the_database_encoding() {
    if !enabled() {
        return;
    }
    let database = "segc_text_types";
    let dir = fresh_database(database, &[("plain_pg", "postgres")]);
    let mut admin = connect(dir.path(), "plain_pg");
    for statement in [
        "CREATE EXTENSION IF NOT EXISTS citext",
        "CREATE SCHEMA app",
        "CREATE TYPE app.role_t AS ENUM ('member', 'admin')",
        "CREATE TABLE app.users (user_id INTEGER, created_at TIMESTAMP, country CITEXT, \
         role app.role_t, tag VARCHAR(10))",
        "INSERT INTO app.users VALUES (1, TIMESTAMP '2024-01-01', 'us', 'admin', 'Cô x'), \
         (2, TIMESTAMP '2024-01-01', 'US', 'member', 'cote'), \
         (3, TIMESTAMP '2024-01-01', 'Us', 'admin', NULL)",
        "CREATE FUNCTION public.left(VARCHAR, INTEGER) RETURNS TEXT LANGUAGE sql AS $$ SELECT 'Cô' $$",
    ] {
        admin
            .set_up(statement)
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    // Without this the test would prove nothing: the server folds case in `citext`.
    let folded = admin
        .set_up("SELECT COUNT(*) FROM app.users WHERE country = 'US'")
        .unwrap();
    assert_eq!(folded.rows[0][0], Cell::Integer(3));
    write_project(
        dir.path(),
        "text_types",
        "plain_pg",
        "sources:\n  users: { table: app.users, key: user_id, columns: { signup_at: created_at, \
         country: { column: country, type: string }, role: { column: role, type: string }, \
         tag: { column: tag, type: string } } }\n\
         segments:\n  - { name: upper_us, all: [ { country: { eq: US } } ] }\n\
         \x20 - { name: admins, all: [ { role: { eq: admin } } ] }\n\
         \x20 - { name: starts, all: [ { tag: { starts_with: \"Cô\" } } ] }\n\
         \x20 - { name: ends, all: [ { tag: { ends_with: \"te\" } } ] }\n\
         kpis:\n  - { name: people, agg: count }\n\
         \x20 - { name: countries, agg: count_distinct, of: country }\n\
         \x20 - { name: last_country, agg: max, of: country }\n",
    );
    let json = common::run_json(dir.path(), &["--target", "plain_pg"]);
    let row = |segment: &str| {
        common::json_row(&json, segment)
            .unwrap_or_else(|| panic!("no row {segment}: {json}"))
            .clone()
    };
    assert_eq!(row("all_users")["countries"], 3, "{json}");
    assert_eq!(row("all_users")["last_country"], "us", "{json}");
    assert_eq!(row("upper_us")["people"], 1, "{json}");
    assert_eq!(row("admins")["people"], 2, "{json}");
    assert_eq!(row("starts")["people"], 1, "{json}");
    assert_eq!(row("ends")["people"], 1, "{json}");

    // A database whose encoding is SQL_ASCII: bytes, with no characters.
    let ascii = "segc_text_ascii";
    let mut server = connect(dir.path(), "admin");
    server
        .set_up(&format!("DROP DATABASE IF EXISTS {ascii} WITH (FORCE)"))
        .unwrap();
    server
        .set_up(&format!(
            "CREATE DATABASE {ascii} TEMPLATE template0 ENCODING 'SQL_ASCII' LOCALE 'C'"
        ))
        .unwrap();
    let profiles = std::fs::read_to_string(dir.path().join("profiles.yml")).unwrap();
    let line = profiles
        .lines()
        .find(|l| l.starts_with("plain_pg:"))
        .unwrap()
        .replacen("plain_pg:", "ascii_pg:", 1)
        .replace(database, ascii);
    std::fs::write(
        dir.path().join("profiles.yml"),
        format!("{profiles}{line}\n"),
    )
    .unwrap();
    let mut bytes = connect(dir.path(), "ascii_pg");
    for statement in [
        "CREATE SCHEMA app",
        "CREATE TABLE app.users (user_id INTEGER, created_at TIMESTAMP, country TEXT, role TEXT, tag VARCHAR(20))",
        "INSERT INTO app.users VALUES (1, TIMESTAMP '2024-01-01', 'x', 'x', 'Cô x'), \
         (2, TIMESTAMP '2024-01-01', 'x', 'x', 'Côte'), (3, TIMESTAMP '2024-01-01', 'x', 'x', 'xÔ')",
    ] {
        bytes
            .set_up(statement)
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    std::fs::write(
        dir.path().join("segment-defs/more.yml"),
        "segments:\n  - { name: starts_cote, all: [ { tag: { starts_with: \"Côt\" } } ] }\n\
         \x20 - { name: ends_o, all: [ { tag: { ends_with: \"Ô\" } } ] }\n",
    )
    .unwrap();
    let json = common::run_json(dir.path(), &["--target", "ascii_pg"]);
    let people = |segment: &str| {
        common::json_row(&json, segment).unwrap_or_else(|| panic!("no row {segment}: {json}"))
            ["people"]
            .clone()
    };
    assert_eq!(people("starts"), 2, "{json}");
    assert_eq!(people("starts_cote"), 1, "{json}");
    assert_eq!(people("ends_o"), 1, "{json}");
}

#[test]
fn a_backslash_never_ends_a_literal_whatever_the_server_settings() {
    if !enabled() {
        return;
    }
    let database = "segc_scs_off";
    let dir = backslash_project(database);
    // The database's default really is the dangerous one.
    let default = connect(dir.path(), "plain_rs")
        .set_up("SHOW standard_conforming_strings")
        .unwrap();
    assert_eq!(default.rows[0][0], Cell::Text("off".into()));
    for target in ["plain_pg", "plain_rs"] {
        let started = std::time::Instant::now();
        let json = common::run_json(dir.path(), &["--target", target]);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(3),
            "{target}: pg_sleep ran"
        );
        let people = |segment: &str| {
            common::json_row(&json, segment)
                .unwrap_or_else(|| panic!("{target}: no row {segment}: {json}"))["people"]
                .clone()
        };
        assert_eq!(people("all_users"), 6, "{target}");
        assert_eq!(people("pwn"), 1, "{target}: only the user named so");
        assert_eq!(people("slash"), 1, "{target}");
        assert_eq!(people("lone"), 2, "{target}");
        assert_eq!(people("leading"), 2, "{target}");
        assert_eq!(people("quoted"), 2, "{target}");
    }
    let objects = connect(dir.path(), "plain_pg")
        .query("SELECT COUNT(*) AS n FROM pg_largeobject_metadata")
        .unwrap();
    assert_eq!(
        objects.rows[0][0],
        Cell::Integer(0),
        "no large object was written"
    );
}

#[test]
fn postgres_sessions_pin_the_settings_literals_depend_on() {
    if !enabled() {
        return;
    }
    let dir = backslash_project("segc_scs_pinned");
    let mut driver = connect(dir.path(), "plain_pg");
    for (setting, pinned) in [
        ("standard_conforming_strings", "on"),
        ("client_encoding", "UTF8"),
        ("timezone", "UTC"),
    ] {
        let value = driver.set_up(&format!("SHOW {setting}")).unwrap();
        assert_eq!(value.rows[0][0], Cell::Text(pinned.into()), "{setting}");
    }
    // Even when the profile's `options` asks for the opposite.
    let profiles = std::fs::read_to_string(dir.path().join("profiles.yml")).unwrap();
    let opposite = profiles
        .lines()
        .find(|l| l.starts_with("plain_pg:"))
        .unwrap()
        .replace("plain_pg:", "opposite:")
        .replace(
            "sslmode: disable",
            "sslmode: disable, options: \"-c standard_conforming_strings=off -c client_encoding=LATIN1 -c timezone=America/Los_Angeles\"",
        );
    std::fs::write(
        dir.path().join("profiles.yml"),
        format!("{profiles}{opposite}\n"),
    )
    .unwrap();
    let mut driver = connect(dir.path(), "opposite");
    let value = driver.set_up("SHOW standard_conforming_strings").unwrap();
    assert_eq!(value.rows[0][0], Cell::Text("on".into()));
    let value = driver.set_up("SHOW client_encoding").unwrap();
    assert_eq!(value.rows[0][0], Cell::Text("UTF8".into()));
    let value = driver.set_up("SHOW timezone").unwrap();
    assert_eq!(value.rows[0][0], Cell::Text("UTC".into()));
}

/// A stand-in for a PostgreSQL server that is starting up: every connection is answered with
/// the server's own 57P03 error while `starting` is set, and otherwise relayed to the real
/// server.
struct RestartingServer {
    port: u16,
    starting: std::sync::Arc<std::sync::atomic::AtomicBool>,
    refused: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl RestartingServer {
    fn start(starting: bool) -> RestartingServer {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let flag = std::sync::Arc::new(AtomicBool::new(starting));
        let refused = std::sync::Arc::new(AtomicUsize::new(0));
        let (flag_copy, refused_copy) = (flag.clone(), refused.clone());
        let upstream = format!(
            "{}:{}",
            std::env::var("SEGC_TEST_PG_HOST").unwrap_or("127.0.0.1".into()),
            std::env::var("SEGC_TEST_PG_PORT").unwrap_or("5432".into())
        );
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(mut client) = client else { continue };
                if flag_copy.load(Ordering::SeqCst) {
                    refused_copy.fetch_add(1, Ordering::SeqCst);
                    std::thread::spawn(move || answer_starting_up(&mut client));
                    continue;
                }
                let Ok(server) = std::net::TcpStream::connect(&upstream) else {
                    continue;
                };
                relay(client, server);
            }
        });
        RestartingServer {
            port,
            starting: flag,
            refused,
        }
    }
}

/// Reads the start-up message and answers as a server that is starting up (SQLSTATE 57P03).
fn answer_starting_up(client: &mut std::net::TcpStream) {
    use std::io::{Read, Write};
    let mut length = [0u8; 4];
    if client.read_exact(&mut length).is_err() {
        return;
    }
    let mut rest = vec![0u8; (u32::from_be_bytes(length) as usize).saturating_sub(4)];
    if client.read_exact(&mut rest).is_err() {
        return;
    }
    let mut fields = Vec::new();
    for (code, text) in [
        (b'S', "FATAL"),
        (b'V', "FATAL"),
        (b'C', "57P03"),
        (b'M', "the database system is starting up"),
    ] {
        fields.push(code);
        fields.extend_from_slice(text.as_bytes());
        fields.push(0);
    }
    fields.push(0);
    let mut message = vec![b'E'];
    message.extend_from_slice(&((fields.len() + 4) as u32).to_be_bytes());
    message.extend_from_slice(&fields);
    let _ = client.write_all(&message);
}

/// Copies bytes both ways until either side closes.
fn relay(client: std::net::TcpStream, server: std::net::TcpStream) {
    for (mut from, mut to) in [
        (client.try_clone().unwrap(), server.try_clone().unwrap()),
        (server, client),
    ] {
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut from, &mut to);
            let _ = to.shutdown(std::net::Shutdown::Both);
        });
    }
}

/// profiles.yml with a `restarting` target that reaches the server through `proxy`.
fn write_proxy_profile(dir: &Path, proxy: &RestartingServer) {
    write_profiles(dir);
    let profiles = std::fs::read_to_string(dir.join("profiles.yml")).unwrap();
    let user = std::env::var("SEGC_TEST_PG_USER").unwrap_or("postgres".into());
    let password = std::env::var("SEGC_TEST_PG_PASSWORD").unwrap_or_default();
    std::fs::write(
        dir.join("profiles.yml"),
        format!(
            "{profiles}restarting: {{ type: postgres, host: 127.0.0.1, port: {}, user: \"{user}\", password: \"{password}\", database: postgres, sslmode: disable }}\n",
            proxy.port
        ),
    )
    .unwrap();
}

#[test]
fn a_server_restarting_mid_query_is_retried_within_the_budget() {
    use std::sync::atomic::Ordering;
    if !enabled() {
        return;
    }
    let proxy = RestartingServer::start(false);
    let dir = tempfile::tempdir().unwrap();
    write_proxy_profile(dir.path(), &proxy);
    let mut driver = connect(dir.path(), "restarting");
    let killer_dir = dir.path().to_path_buf();
    let starting = proxy.starting.clone();
    let killer = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(1));
        // The server goes down and takes 10 s to accept sessions again.
        starting.store(true, Ordering::SeqCst);
        let mut admin = connect(&killer_dir, "admin");
        admin
            .set_up(
                "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE query LIKE '%segc_restart_probe%' AND pid <> pg_backend_pid()",
            )
            .unwrap();
        std::thread::sleep(std::time::Duration::from_secs(10));
        starting.store(false, Ordering::SeqCst);
    });
    let started = std::time::Instant::now();
    let result = driver
        .set_up("SELECT CAST(7 AS BIGINT) AS segc_restart_probe FROM pg_sleep(2)")
        .unwrap();
    killer.join().unwrap();
    assert_eq!(result.rows, vec![vec![Cell::Integer(7)]]);
    assert!(
        proxy.refused.load(Ordering::SeqCst) >= 2,
        "reconnecting met the starting-up server"
    );
    assert!(started.elapsed() >= std::time::Duration::from_secs(10));
}

#[test]
fn ctrl_c_during_a_retry_pause_stops_at_once() {
    if !enabled() {
        return;
    }
    // A server that never finishes starting: segc keeps retrying until interrupted.
    let proxy = RestartingServer::start(true);
    let dir = tempfile::tempdir().unwrap();
    write_proxy_profile(dir.path(), &proxy);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("segc"))
        .args(["targets", "--check", "restarting", "--project"])
        .arg(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if proxy.refused.load(std::sync::atomic::Ordering::SeqCst) >= 2 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(proxy.refused.load(std::sync::atomic::Ordering::SeqCst) >= 2);
    let sent_at = std::time::Instant::now();
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = wait_for(&mut child);
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(
        sent_at.elapsed() < std::time::Duration::from_secs(1),
        "stopped during the pause, not after it: {stderr}"
    );
    assert!(stderr.contains("starting up"), "{stderr}");
}

/// Writes a project over `app.users` whose columns have no declared type, with a segment and a
/// KPI reading `country`.
fn untyped_project(dir: &Path, target: &str, columns: &str) {
    write_project(
        dir,
        "types",
        target,
        &format!(
            "sources:\n  users: {{ table: app.users, key: user_id, columns: {{ signup_at: created_at, {columns} }} }}\n\
             segments:\n  - {{ name: us, all: [ {{ country: {{ eq: US }} }} ] }}\n\
             kpis:\n  - {{ name: people, agg: count }}\n  - {{ name: countries, agg: count_distinct, of: country }}\n"
        ),
    );
}

/// `segc sources --refresh` on `target`: the snapshot's text.
fn refresh(dir: &Path, target: &str) -> String {
    let output = assert_cmd::Command::cargo_bin("segc")
        .unwrap()
        .args(["sources", "--refresh", "--target", target, "--project"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", common::output_text(&output));
    std::fs::read_to_string(dir.join("segment-defs/warehouse_schema.yml")).unwrap()
}

/// The catalog gives each column its segc type, as PostgreSQL and as Redshift types, with
/// physical names matched exactly or, when unique, without case; `segc run` without a
/// snapshot reads the types it misses itself, so `US` and `us` count as two countries.
#[test]
fn the_postgres_catalog_types_every_column_as_postgres_and_as_redshift() {
    if !enabled() {
        return;
    }
    let database = "segc_types";
    let dir = fresh_database(
        database,
        &[("types_pg", "postgres"), ("types_rs", "redshift")],
    );
    let mut db = connect(dir.path(), "types_pg");
    for statement in [
        "CREATE SCHEMA app",
        "CREATE TABLE app.users (user_id INTEGER, created_at TIMESTAMP, country VARCHAR(2), \
         \"Role\" TEXT, score NUMERIC(10, 2), ratio DOUBLE PRECISION, visits BIGINT, born DATE, \
         seen TIMESTAMPTZ, paying BOOLEAN, uid UUID)",
        "INSERT INTO app.users VALUES \
         (1, TIMESTAMP '2024-01-01', 'US', 'admin', 1.5, 0.5, 3, DATE '1990-01-01', TIMESTAMPTZ '2024-01-02 00:00:00+00', TRUE, '00000000-0000-0000-0000-000000000001'), \
         (2, TIMESTAMP '2024-01-01', 'us', 'member', 2.5, 0.25, 4, DATE '1991-01-01', TIMESTAMPTZ '2024-01-03 00:00:00+00', FALSE, '00000000-0000-0000-0000-000000000002')",
    ] {
        db.set_up(statement).unwrap();
    }
    untyped_project(
        dir.path(),
        "types_pg",
        "country: country, role: role, score: score, ratio: ratio, visits: visits, born: born, seen: seen, paying: paying, uid: uid",
    );
    let expected = |target: &str, dialect: &str| {
        format!(
            "warehouse_schema:\n  target: {target}\n  dialect: {dialect}\n  sources:\n    users:\n      signup_at: timestamp\n      country: string\n      role: string\n      score: number\n      ratio: number\n      visits: integer\n      born: date\n      seen: timestamp\n      paying: boolean\n      uid: \"uuid\"\n  # the type of each source's `key` or `user_key` column\n  keys:\n    users: integer\n"
        )
    };
    // `run` learns the missing types from the catalog (nothing is written).
    let json = common::run_json(dir.path(), &["--target", "types_pg"]);
    assert_eq!(json["rows"][0]["countries"], 2, "{json}");
    // So does `explain`; `compile` stays offline and names what is missing.
    let segc = |args: &[&str]| {
        assert_cmd::Command::cargo_bin("segc")
            .unwrap()
            .args(args)
            .arg("--project")
            .arg(dir.path())
            .output()
            .unwrap()
    };
    let output = segc(&["explain", "us", "--target", "types_pg"]);
    let text = common::output_text(&output);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("1 pass"), "{text}");
    let output = segc(&["compile", "--target", "types_pg"]);
    let text = common::output_text(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("segc sources --refresh --target types_pg"),
        "{text}"
    );
    assert!(
        !dir.path()
            .join("segment-defs/warehouse_schema.yml")
            .exists()
    );
    for (target, dialect) in [("types_pg", "postgres"), ("types_rs", "redshift")] {
        let text = refresh(dir.path(), target);
        assert!(text.ends_with(&expected(target, dialect)), "{text}");
        assert!(
            text.starts_with("# Written by `segc sources --refresh`"),
            "{text}"
        );
        assert_eq!(refresh(dir.path(), target), text);
    }
}

/// The BigQuery emulator's `INFORMATION_SCHEMA.COLUMNS` types every column, and `segc run`
/// reads the types it misses from it.
#[cfg(feature = "bigquery")]
#[test]
fn the_bigquery_catalog_types_every_column() {
    let Ok(endpoint) = std::env::var("SEGC_TEST_BQ_ENDPOINT") else {
        eprintln!("skipped: set SEGC_TEST_BQ_ENDPOINT (scripts/test.sh starts bqemulator)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("profiles.yml"),
        format!("bq: {{ type: bigquery, project: segc-types, endpoint: \"{endpoint}\" }}\n"),
    )
    .unwrap();
    let profile = segc::spec::profiles::load_profile(Some(dir.path()), dir.path(), "bq").unwrap();
    let mut db =
        segc::driver::open(&profile, segc::driver::RunOptions::default(), dir.path()).unwrap();
    for statement in [
        "DROP SCHEMA IF EXISTS app CASCADE",
        "CREATE SCHEMA app",
        "CREATE TABLE app.users (user_id INT64, created_at TIMESTAMP, country STRING, \
         score NUMERIC, ratio FLOAT64, born DATE, paying BOOL, tags ARRAY<STRING>)",
        "INSERT INTO app.users (user_id, created_at, country, score, ratio, born, paying, tags) VALUES \
         (1, TIMESTAMP '2024-01-01 00:00:00', 'US', 1.5, 0.5, DATE '1990-01-01', TRUE, ['a']), \
         (2, TIMESTAMP '2024-01-01 00:00:00', 'us', 2.5, 0.25, DATE '1991-01-01', FALSE, ['b'])",
    ] {
        db.set_up(statement)
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    untyped_project(
        dir.path(),
        "bq",
        "country: country, score: score, ratio: ratio, born: born, paying: paying, tags: tags",
    );
    let json = common::run_json(dir.path(), &["--target", "bq"]);
    assert_eq!(json["rows"][0]["countries"], 2, "{json}");
    // Each statement (the catalog read, the report) is recorded with its own BigQuery job.
    let results = run_results(dir.path());
    assert_eq!(results["query_id_kind"], "job", "{results}");
    let queries = results["queries"].as_array().unwrap();
    let jobs: Vec<&str> = queries
        .iter()
        .map(|q| q["query_id"].as_str().unwrap())
        .collect();
    assert!(jobs.len() >= 2, "{results}");
    assert_eq!(
        Some(&results["query_id"]),
        queries.last().map(|q| &q["query_id"])
    );
    let mut distinct = jobs.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        jobs.len(),
        "one job per statement: {jobs:?}"
    );
    for query in queries {
        for bytes in ["bytes_processed", "bytes_billed"] {
            assert!(query[bytes].is_null() || query[bytes].is_u64(), "{query}");
        }
    }
    let text = refresh(dir.path(), "bq");
    assert!(
        text.ends_with(
            "warehouse_schema:\n  target: bq\n  dialect: bigquery\n  sources:\n    users:\n      signup_at: timestamp\n      country: string\n      score: number\n      ratio: number\n      born: date\n      paying: boolean\n      tags: \"ARRAY<STRING>\"\n  # the type of each source's `key` or `user_key` column\n  keys:\n    users: integer\n"
        ),
        "{text}"
    );
}

/// `run` and `explain` name the fact sources whose newest row falls before the as-of day, on
/// PostgreSQL and in Redshift's dialect: a `timestamptz` time column, a `date` one, and a
/// source with no row before the report's end.
#[test]
fn stale_sources_are_named_before_the_report() {
    if !enabled() {
        return;
    }
    let database = "segc_freshness";
    let dir = fresh_database(database, &[("fresh", "postgres"), ("fresh_rs", "redshift")]);
    let mut db = connect(dir.path(), "fresh");
    for statement in [
        "CREATE SCHEMA app",
        "CREATE TABLE app.users (user_id INTEGER, created_at TIMESTAMP)",
        "INSERT INTO app.users VALUES (1, TIMESTAMP '2024-01-01'), (2, TIMESTAMP '2024-01-02')",
        "CREATE TABLE app.events (user_id INTEGER, occurred_at TIMESTAMPTZ)",
        "INSERT INTO app.events VALUES (1, TIMESTAMPTZ '2024-03-01 23:30:00+00'), \
         (2, TIMESTAMPTZ '2024-02-10 08:00:00+00'), (2, TIMESTAMPTZ '2024-05-01 00:00:00+00')",
        "CREATE TABLE app.visits (user_id INTEGER, visited_on DATE)",
        "INSERT INTO app.visits VALUES (1, DATE '2024-03-31'), (2, DATE '2024-03-30')",
        "CREATE TABLE app.refunds (user_id INTEGER, refunded_at TIMESTAMP)",
        "INSERT INTO app.refunds VALUES (1, TIMESTAMP '2024-06-01')",
    ] {
        db.set_up(statement).unwrap();
    }
    write_project(
        dir.path(),
        "fresh",
        "fresh",
        "sources:\n\
         \x20 users: { table: app.users, key: user_id, columns: { signup_at: created_at } }\n\
         \x20 events: { table: app.events, user_key: user_id, time: occurred_at }\n\
         \x20 visits: { table: app.visits, user_key: user_id, time: visited_on }\n\
         \x20 refunds: { table: app.refunds, user_key: user_id, time: refunded_at }\n\
         attributes:\n\
         \x20 events_30d: { source: events, agg: count, window: 30d }\n\
         \x20 visits_30d: { source: visits, agg: count, window: 30d }\n\
         \x20 refunds_all: { source: refunds, agg: count }\n\
         segments:\n\
         \x20 - { name: eventful, all: [ { events_30d: { gt: 0 } } ] }\n\
         kpis:\n\
         \x20 - { name: people, agg: count }\n\
         \x20 - { name: visits, agg: sum, of: visits_30d }\n\
         \x20 - { name: refunds, agg: sum, of: refunds_all }\n",
    );
    for target in ["fresh", "fresh_rs"] {
        for command in [vec!["run"], vec!["explain", "eventful"]] {
            let output = assert_cmd::Command::cargo_bin("segc")
                .unwrap()
                .args(&command)
                .args(["--target", target, "--project"])
                .arg(dir.path())
                .output()
                .unwrap();
            let text = common::output_text(&output);
            assert!(output.status.success(), "{target} {command:?}: {text}");
            // The event of May is after the report's end and does not count.
            assert!(
                text.contains(
                    "warning: events: newest row 2024-03-01, 30 days before the as-of day 2024-03-31"
                ),
                "{target} {command:?}: {text}"
            );
            assert!(
                text.contains(
                    "warning: refunds: no rows before the end of the as-of day 2024-03-31"
                ),
                "{target} {command:?}: {text}"
            );
            // A date column read on the as-of day is fresh.
            assert!(!text.contains("visits:"), "{target} {command:?}: {text}");
        }
        // The freshness check ran on one backend with the report, which is recorded: the
        // catalog's key types first (no key is typed here: 4 sources' columns), the as-of
        // day of all three sources, then the two with no row that day over all time.
        let results = run_results(dir.path());
        assert_eq!(results["target"], target);
        assert_eq!(results["query_id_kind"], "backend pid", "{results}");
        let pid = results["query_id"].as_str().unwrap();
        assert!(pid.parse::<u32>().is_ok(), "{pid}");
        let queries = results["queries"].as_array().unwrap();
        assert_eq!(queries.len(), 4, "{results}");
        assert!(queries.iter().all(|q| q["query_id"] == pid));
        assert_eq!(queries[0]["rows"], 8, "{results}");
        assert_eq!(
            (&queries[1]["rows"], &queries[2]["rows"]),
            (&3.into(), &2.into())
        );
        assert_eq!(queries[3]["sha256"], results["sha256"]);
        assert_eq!(results["rows_returned"], 2);
    }
}

/// Whether this connection is encrypted, as the server sees it.
fn encrypted(driver: &mut segc::driver::postgres::Postgres) -> Cell {
    let answer = driver
        .query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .unwrap();
    assert_eq!(answer.rows.len(), 1);
    answer.rows[0][0].clone()
}

#[test]
fn verify_full_encrypts_with_the_trusted_authority_and_refuses_any_other() {
    if !enabled() {
        return;
    }
    let Ok(authority) = std::env::var("SEGC_TEST_PG_CA") else {
        eprintln!("skipped: set SEGC_TEST_PG_CA to the authority of a server with ssl=on");
        return;
    };
    assert!(Path::new(&authority).is_file(), "{authority}");
    let dir = tempfile::tempdir().unwrap();
    // An authority the server's certificate does not come from.
    let other_key = rcgen::KeyPair::generate().unwrap();
    let mut other = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    other.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let other_pem = other.self_signed(&other_key).unwrap().pem();
    let other_path = dir.path().join("other.crt");
    std::fs::write(&other_path, other_pem).unwrap();
    // `localhost`: the name the certificate was made for, verified by verify-full.
    let server = "type: postgres, host: localhost, port: \"{{ env_var('SEGC_TEST_PG_PORT', '5432') }}\", user: \"{{ env_var('SEGC_TEST_PG_USER', 'postgres') }}\", password: \"{{ env_var('SEGC_TEST_PG_PASSWORD', '') }}\", database: postgres";
    std::fs::write(
        dir.path().join("profiles.yml"),
        format!(
            "trusted: {{ {server}, sslmode: verify-full, sslrootcert: \"{{{{ env_var('SEGC_TEST_PG_CA') }}}}\" }}\n\
             other: {{ {server}, sslmode: verify-full, sslrootcert: \"{}\" }}\n\
             system: {{ {server}, sslmode: verify-full }}\n\
             plain: {{ {server}, sslmode: disable }}\n",
            other_path.display()
        ),
    )
    .unwrap();
    let mut trusted = connect(dir.path(), "trusted");
    assert_eq!(encrypted(&mut trusted), Cell::Boolean(true));
    // The same question tells a plain connection apart.
    let mut plain = connect(dir.path(), "plain");
    assert_eq!(encrypted(&mut plain), Cell::Boolean(false));
    for target in ["other", "system"] {
        let profile =
            segc::spec::profiles::load_profile(Some(dir.path()), dir.path(), target).unwrap();
        let error = match segc::driver::postgres::Postgres::connect(&profile) {
            Ok(_) => panic!("{target}: connected to a server signed by an untrusted authority"),
            Err(error) => error.to_string(),
        };
        assert!(
            error.contains("UnknownIssuer") && error.contains("check `sslmode` and `sslrootcert`"),
            "{target}: {error}"
        );
    }
    // A CA file holding no certificate (a key, plain text) is named, not ignored.
    let not_a_certificate = dir.path().join("key.pem");
    std::fs::write(&not_a_certificate, other_key.serialize_pem()).unwrap();
    std::fs::write(
        dir.path().join("profiles.yml"),
        format!(
            "key: {{ {server}, sslmode: verify-full, sslrootcert: \"{}\" }}\n",
            not_a_certificate.display()
        ),
    )
    .unwrap();
    let profile = segc::spec::profiles::load_profile(Some(dir.path()), dir.path(), "key").unwrap();
    let error = match segc::driver::postgres::Postgres::connect(&profile) {
        Ok(_) => panic!("connected with a CA file of no certificate"),
        Err(error) => error.to_string(),
    };
    assert!(error.contains("holds no certificate"), "{error}");
    assert!(!error.contains("PRIVATE KEY"), "{error}");
}

/// `EXPLAIN (VERBOSE)` of `sql` on the server and database of the `pg` target in `profiles`
/// (the profiles.yml the engines were loaded with), the plan's lines joined. Over
/// tokio-postgres itself: segc's driver sends nothing but queries, and EXPLAIN is none.
fn explained(profiles: &Path, sql: &str) -> String {
    let profile = segc::spec::profiles::load_profile(Some(profiles), profiles, "pg").unwrap();
    let field = |name: &str| {
        profile
            .field(name)
            .unwrap_or_else(|| panic!("pg: no {name}"))
    };
    let mut config = tokio_postgres::Config::new();
    config
        .host(field("host"))
        .port(field("port").parse().expect("a port number"))
        .user(field("user"))
        .dbname(field("database"));
    if let Some(password) = profile.field("password").filter(|p| !p.is_empty()) {
        config.password(password);
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        let messages = client
            .simple_query(&format!("EXPLAIN (VERBOSE) {sql}"))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "EXPLAIN: {}",
                    e.as_db_error()
                        .map_or_else(|| e.to_string(), |d| d.message().to_string())
                )
            });
        messages
            .iter()
            .filter_map(|message| match message {
                tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_string),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// PostgreSQL pulls a stage read once up into the stage that reads it, copying each of its
/// columns' expressions into every place that reads the column, and shares no common
/// subexpressions; so the quintile scores' stage is kept whole (`OFFSET 0`). In the plan of
/// the example project, whose segments read its scores more often than it has scores, each
/// score's CASE (`… THEN 5 WHEN …`) appears once: where the scores are computed, not in
/// each condition. (At 300 segments it saved a fifth of the report: benches/README.md.)
#[test]
fn each_quintile_score_is_computed_once_in_the_plan() {
    if !enabled() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_, data) = common::demo_database(dir.path(), 200);
    let database = "segc_scores_once";
    let (all, profiles) = engines::engines(&data, database);
    std::fs::write(dir.path().join("profiles.yml"), profiles).unwrap();
    let postgres: Vec<_> = all.into_iter().filter(|e| e.target == "pg").collect();
    engines::load(&postgres, dir.path(), &data, database);
    let project = segc::validate::load_and_validate(&common::repository_root()).unwrap();
    let dialect = segc::dialect::Dialect::load("postgres").unwrap();
    // KPIs that read no membership history (its table is not loaded here).
    let options = segc::plan::ReportOptions {
        kpis: vec!["people".into(), "pct_active".into()],
        ..Default::default()
    };
    let plan = common::plan(&project, &options);
    let sql = segc::render::render(&plan, &dialect, None).unwrap();
    let scores: Vec<&str> = project
        .attributes
        .iter()
        .filter(|a| matches!(a.kind, segc::ir::AttributeKind::Quintile { .. }))
        .map(|a| a.name.as_str())
        .collect();
    // The segments' conditions read the scores more often than there are scores.
    let members = &sql[sql.find("\"segc_members\" AS").unwrap()..];
    let members = &members[..members.find("\n),").unwrap()];
    let reads: usize = scores
        .iter()
        .map(|name| members.matches(&format!(".\"{name}\"")).count())
        .sum();
    assert!(
        !scores.is_empty() && reads > scores.len(),
        "{} scores read {reads} times",
        scores.len()
    );
    let plan = explained(dir.path(), &sql);
    assert_eq!(
        plan.matches("THEN 5 WHEN").count(),
        scores.len(),
        "each score's CASE once in the plan ({scores:?}, read {reads} times):\n{plan}"
    );
}

/// Condition masks on PostgreSQL read every trap of the core fixture as the flags do, and
/// tell strings apart exactly where the user table's columns fold case. Its report with 64
/// more segments, written with masks (forced from one row) and without, gives the same
/// table, on data with a second user whose country and role differ from another's in case
/// alone (`de`, `Member`) and a case-insensitive collation on both columns: a mask keyed
/// by the column as it is would make `DE` and `de` one tuple, and `by_ne` (not `DE`)
/// count both users or neither.
#[test]
fn condition_masks_give_the_flags_table_where_a_collation_folds_case() {
    if !enabled() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = engines::core_data(dir.path());
    let database = "segc_masks";
    let (all, profiles) = engines::engines(&data, database);
    std::fs::write(dir.path().join("profiles.yml"), profiles).unwrap();
    let postgres: Vec<_> = all.into_iter().filter(|e| e.target == "pg").collect();
    engines::load(&postgres, dir.path(), &data, database);
    let mut driver = engines::connect(dir.path(), "pg");
    engines::fold_case(
        &mut *driver,
        &[("app.users", "country"), ("app.users", "role")],
    );
    driver
        .set_up(
            "INSERT INTO app.users VALUES (11, '2023-02-01 00:00:00', 10, 'de', 'Member', NULL)",
        )
        .unwrap();
    // The collation folds case: the server itself finds `DE` and `de` equal.
    let folded = driver
        .query("SELECT COUNT(*) FROM app.users WHERE country = 'DE'")
        .unwrap();
    assert_eq!(folded.rows[0][0], Cell::Integer(2));

    let project = common::wide_core_project(&dir.path().join("project"));
    let plan = common::plan(&project, &segc::plan::ReportOptions::default());
    let (masked, sql) = common::masks_give_the_flags_table(&plan, "postgres", &mut *driver);
    // PostgreSQL joins `IS NOT DISTINCT FROM` by a nested loop: the masks' joins are
    // equalities it hashes.
    assert!(
        sql.contains("LEFT JOIN \"segc_mask_1\" ON") && !sql.contains("IS NOT DISTINCT FROM"),
        "{sql}"
    );
    // Not `DE`: FR, the five other countries of users 5–10, and `de` (user 3 has none).
    let people = masked
        .columns
        .iter()
        .position(|c| c.name == "people")
        .unwrap();
    let by_ne = masked.rows.iter().find(|r| r.segment == "by_ne").unwrap();
    assert_eq!(by_ne.values[people], Cell::Integer(8));
}

/// A key whose type the catalog cannot give (its table is missing) stops the SQL from being
/// written on PostgreSQL; the run says which key and why the catalog had no type for it.
#[test]
fn a_key_the_catalog_cannot_type_is_named_with_the_reason() {
    if !enabled() {
        return;
    }
    let dir = fresh_database("segc_untyped_key", &[("keys", "postgres")]);
    write_project(
        dir.path(),
        "keys",
        "keys",
        "sources:\n  users: { table: app.nowhere, key: user_id, columns: { signup_at: created_at } }\nkpis:\n  - { name: people, agg: count }\n",
    );
    let (code, text) = run_in(dir.path());
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains(
            "note: the table app.nowhere of source `users` is not in the catalog of the target"
        ),
        "{text}"
    );
    assert!(
        text.contains("the type of `key` (column `user_id`) of source `users` is not known (segment-defs/defs.yml:2)"),
        "{text}"
    );
}

#[test]
fn timestamps_with_a_time_zone_read_as_utc_whatever_the_server_zone() {
    if !enabled() {
        return;
    }
    // The same instants as `timestamp with time zone` on a database whose default zone is
    // Los Angeles (PostgreSQL, and Redshift's SQL), and as TIMESTAMPTZ in DuckDB. The
    // project's zone is New York, as of 2024-03-30: the report ends at 2024-03-31 04:00 UTC.
    let database = "segc_tz_zone";
    let dir = fresh_database(database, &[("zpg", "postgres"), ("zrs", "redshift")]);
    connect(dir.path(), "admin")
        .set_up(&format!(
            "ALTER DATABASE {database} SET timezone TO 'America/Los_Angeles'"
        ))
        .unwrap();
    let statements = [
        "CREATE SCHEMA app",
        "CREATE TABLE app.users (user_id INTEGER, created_at TIMESTAMPTZ, seen_at TIMESTAMPTZ)",
        // Users 1 and 2 signed up before the report's end (2 at 23:30 in New York), user 3
        // after it (00:30 on the 31st there; before it in Los Angeles).
        "INSERT INTO app.users VALUES \
         (1, '2024-03-30 23:30:00+00', '2024-03-30 23:30:00+00'), \
         (2, '2024-03-31 03:30:00+00', '2024-03-31 03:30:00+00'), \
         (3, '2024-03-31 04:30:00+00', '2024-03-31 04:30:00+00')",
        "CREATE TABLE app.events (user_id INTEGER, occurred_at TIMESTAMPTZ)",
        // Two days in New York (the 9th at 22:30, the 10th at 00:30), one in Los Angeles.
        // And user 2's one event after signing up, within the report (a window counted from
        // the sign-up instant, which DuckDB adds days to only as a plain TIMESTAMP).
        "INSERT INTO app.events VALUES (1, '2024-03-10 03:30:00+00'), (1, '2024-03-10 05:30:00+00'), \
         (2, '2024-03-31 03:40:00+00')",
    ];
    let mut db = connect(dir.path(), "zpg");
    for statement in statements {
        db.set_up(statement).unwrap();
    }
    let duck = dir.path().join("zone.duckdb");
    let connection = duckdb::Connection::open(&duck).unwrap();
    for statement in statements {
        connection.execute_batch(statement).unwrap();
    }
    drop(connection);
    let profiles = std::fs::read_to_string(dir.path().join("profiles.yml")).unwrap();
    std::fs::write(
        dir.path().join("profiles.yml"),
        format!(
            "{profiles}zduck: {{ type: duckdb, path: \"{}\" }}\n",
            duck.display()
        ),
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("segment-defs")).unwrap();
    std::fs::write(
        dir.path().join("segment-defs/defs.yml"),
        "sources:\n\
         \x20 users: { table: app.users, key: user_id, columns: { signup_at: created_at, seen_at: { column: seen_at, type: timestamp } } }\n\
         \x20 events: { table: app.events, user_key: user_id, time: occurred_at }\n\
         attributes:\n\
         \x20 days: { source: events, agg: count_distinct_days }\n\
         \x20 signup_day: { formula: \"days_between(seen_at, as_of())\" }\n\
         \x20 early: { source: events, agg: count, window: { after_signup: 10d } }\n\
         segments:\n\
         \x20 - { name: signed_up_on_the_30th, all: [ { seen_at: { within_last: 1d } } ] }\n\
         kpis:\n\
         \x20 - { name: people, agg: count }\n\
         \x20 - { name: days, agg: sum, of: days }\n\
         \x20 - { name: last_seen, agg: max, of: seen_at }\n\
         \x20 - { name: since, agg: sum, of: signup_day }\n\
         \x20 - { name: early, agg: sum, of: early }\n",
    )
    .unwrap();
    // In New York the report ends at 2024-03-31 04:00 UTC; in UTC (where the local date is
    // the timestamp's own date, which DuckDB cannot cast a TIMESTAMPTZ to without its ICU
    // extension) at 2024-03-31 00:00, before user 2's sign-up and with user 1's events on one
    // day: (people, days, early, last seen, people on the 30th).
    let zones = [
        ("America/New_York", 2, 3.0, 1.0, "2024-03-31T03:30:00Z", 2),
        ("UTC", 1, 1.0, 0.0, "2024-03-30T23:30:00Z", 1),
    ];
    for (zone, people, days, early, last_seen, on_30th) in zones {
        std::fs::write(
            dir.path().join("segc_project.yml"),
            format!("name: zones\nas_of: 2024-03-30\ntime_zone: {zone}\n"),
        )
        .unwrap();
        let tables: Vec<serde_json::Value> = ["zduck", "zpg", "zrs"]
            .iter()
            .map(|target| {
                let mut table = engines::run_json(dir.path(), dir.path(), target, &[]);
                table["target"] = serde_json::Value::Null;
                table
            })
            .collect();
        for (target, table) in ["zduck", "zpg", "zrs"].iter().zip(&tables) {
            let everyone = common::json_row(table, "all_users").unwrap();
            assert_eq!(everyone["people"], people, "{zone} {target}: {table}");
            assert_eq!(everyone["days"], days, "{zone} {target}: {table}");
            assert_eq!(everyone["early"], early, "{zone} {target}: {table}");
            assert_eq!(everyone["last_seen"], last_seen, "{zone} {target}: {table}");
            // Every member signed up on the 30th, local time: 0 days before the as-of day.
            assert_eq!(everyone["since"], 0.0, "{zone} {target}: {table}");
            let on_the_30th = common::json_row(table, "signed_up_on_the_30th").unwrap();
            assert_eq!(on_the_30th["people"], on_30th, "{zone} {target}: {table}");
        }
        assert_eq!(tables[0], tables[1], "{zone}");
        assert_eq!(tables[0], tables[2], "{zone}");
    }
}

#[test]
fn text_no_message_can_carry_fails_at_once_without_retries() {
    if !enabled() {
        return;
    }
    // PostgreSQL's protocol cannot carry NUL inside text: the client cannot encode the
    // message, the same on every try, so it is not retried as a broken connection is.
    let dir = tempfile::tempdir().unwrap();
    write_profiles(dir.path());
    let mut driver = connect(dir.path(), "admin");
    let started = std::time::Instant::now();
    let error = driver.set_up("SELECT 'a\u{0}b'").unwrap_err().to_string();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{error}"
    );
    assert!(error.contains("encoding"), "{error}");
    assert!(!error.contains("retries"), "{error}");
}

/// A materialized view is not in `information_schema.columns`, which Redshift's catalog
/// query reads: its DATE sign-up cannot be typed there, is read as a timestamp, and the run
/// says so, and why. PostgreSQL's catalog query reads pg_catalog, which lists it: its DATE
/// order day is a local day (before, it was read as a UTC midnight, a day early in Phoenix:
/// 0 orders on the as-of day instead of 1, with only a note), and `sources --refresh`
/// writes its types instead of failing.
#[test]
fn a_time_column_the_catalog_cannot_type_is_named_in_a_note() {
    if !enabled() {
        return;
    }
    let database = "segc_untimed";
    let dir = fresh_database(
        database,
        &[("untimed", "postgres"), ("untimed_rs", "redshift")],
    );
    let mut db = connect(dir.path(), "untimed");
    for statement in [
        "CREATE SCHEMA app",
        "CREATE TABLE app.users_table (user_id INTEGER, signed_on DATE)",
        "INSERT INTO app.users_table VALUES (1, DATE '2024-03-10'), (2, DATE '2024-03-10')",
        "CREATE MATERIALIZED VIEW app.users AS SELECT * FROM app.users_table",
        "CREATE TABLE app.orders_table (user_id INTEGER, ordered_on DATE, note VARCHAR(10))",
        "INSERT INTO app.orders_table VALUES (1, DATE '2024-03-31', 'a'), (2, DATE '2024-03-30', 'b')",
        "CREATE MATERIALIZED VIEW app.orders AS SELECT * FROM app.orders_table",
    ] {
        db.set_up(statement).unwrap();
    }
    let definitions = |signup: &str| {
        format!(
            "sources:\n  users: {{ table: app.users, key: {{ column: user_id, type: integer }}, columns: {{ signup_at: {signup} }} }}\n\
             kpis:\n  - {{ name: people, agg: count }}\n"
        )
    };
    write_project(
        dir.path(),
        "untimed",
        "untimed_rs",
        &definitions("signed_on"),
    );
    let (code, text) = run_in(dir.path());
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("note: the types of the time columns of `users` are not known (the table app.users of source `users` is not in the catalog of the target), so they are read as timestamps"),
        "{text}"
    );
    // Declared, the date is a day: the same run says nothing more.
    write_project(
        dir.path(),
        "untimed",
        "untimed_rs",
        &definitions("{ column: signed_on, type: date }"),
    );
    let (code, text) = run_in(dir.path());
    assert_eq!(code, Some(0), "{text}");
    assert!(!text.contains("note:"), "{text}");

    // PostgreSQL lists the materialized views: nothing to note, and the order day is local.
    write_project(
        dir.path(),
        "untimed",
        "untimed",
        "sources:\n\
         \x20 users: { table: app.users, key: user_id, columns: { signup_at: signed_on } }\n\
         \x20 orders: { table: app.orders, user_key: user_id, time: ordered_on, columns: { note: note } }\n\
         attributes:\n\
         \x20 orders_1d: { source: orders, agg: count, window: 1d }\n\
         segments:\n\
         \x20 - { name: noted, all: [ { orders_1d: { gt: 0 } } ] }\n\
         kpis:\n\
         \x20 - { name: people, agg: count }\n\
         \x20 - { name: orders_today, agg: sum, of: orders_1d }\n",
    );
    let settings = dir.path().join("segc_project.yml");
    let text = std::fs::read_to_string(&settings).unwrap();
    std::fs::write(&settings, format!("{text}time_zone: America/Phoenix\n")).unwrap();
    let (code, text) = run_in(dir.path());
    assert_eq!(code, Some(0), "{text}");
    assert!(!text.contains("note:"), "{text}");
    let json = common::run_json(dir.path(), &["--target", "untimed"]);
    let everyone = common::json_row(&json, "all_users").unwrap();
    assert_eq!(everyone["orders_today"].as_f64(), Some(1.0), "{json}");
    assert_eq!(
        common::json_row(&json, "noted").unwrap()["people"],
        1,
        "{json}"
    );
    let output = assert_cmd::Command::cargo_bin("segc")
        .unwrap()
        .args(["sources", "--refresh", "--target", "untimed", "--project"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = common::output_text(&output);
    assert!(output.status.success(), "{text}");
    let snapshot =
        std::fs::read_to_string(dir.path().join("segment-defs/warehouse_schema.yml")).unwrap();
    for line in ["signup_at: date\n", "note: string\n", "time: date\n"] {
        assert!(snapshot.contains(line), "{line:?} in {snapshot}");
    }
    let checked = common::run_json(dir.path(), &["--target", "untimed"]);
    assert_eq!(json["rows"], checked["rows"]);
}

/// A table named without a schema is typed from the table the statement reads: the first of
/// the session's search path that holds one of that name (here `app`, before `public`), not
/// one of the same name in `public`. Before, a DATE column of `app.orders` was typed from a
/// TIMESTAMP column of a stale `public.orders` and read as UTC midnights, a day early in
/// Phoenix (the run counted 0 of the as-of day's order), and `sources --refresh` wrote the
/// stale table's types.
#[test]
fn a_table_named_without_a_schema_is_typed_from_the_one_the_search_path_reads() {
    if !enabled() {
        return;
    }
    let database = "segc_bare_names";
    let dir = fresh_database(
        database,
        &[("path_pg", "postgres"), ("path_rs", "redshift")],
    );
    let mut admin = connect(dir.path(), "path_pg");
    for statement in [
        "CREATE SCHEMA app",
        "CREATE TABLE app.users (user_id INTEGER, created_at TIMESTAMP)",
        "INSERT INTO app.users VALUES (1, TIMESTAMP '2024-01-01'), (2, TIMESTAMP '2024-01-01')",
        "CREATE TABLE app.orders (user_id INTEGER, ordered_on DATE)",
        "INSERT INTO app.orders VALUES (1, DATE '2024-03-31'), (2, DATE '2024-03-30')",
        "CREATE TABLE public.orders (user_id INTEGER, ordered_on TIMESTAMP)",
        &format!("ALTER DATABASE {database} SET search_path = app, public"),
    ] {
        admin
            .set_up(statement)
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    let definitions = |orders: &str| {
        format!(
            "sources:\n\
             \x20 users: {{ table: app.users, key: user_id, columns: {{ signup_at: created_at }} }}\n\
             \x20 orders: {{ table: {orders}, user_key: user_id, time: ordered_on }}\n\
             attributes:\n\
             \x20 orders_1d: {{ source: orders, agg: count, window: 1d }}\n\
             kpis:\n\
             \x20 - {{ name: people, agg: count }}\n\
             \x20 - {{ name: orders_today, agg: sum, of: orders_1d }}\n"
        )
    };
    write_project(dir.path(), "bare", "path_pg", &definitions("orders"));
    let settings = dir.path().join("segc_project.yml");
    let text = std::fs::read_to_string(&settings).unwrap();
    std::fs::write(&settings, format!("{text}time_zone: America/Phoenix\n")).unwrap();
    for target in ["path_pg", "path_rs"] {
        let bare = common::run_json(dir.path(), &["--target", target]);
        assert_eq!(
            common::json_row(&bare, "all_users").unwrap()["orders_today"].as_f64(),
            Some(1.0),
            "{target}: {bare}"
        );
        std::fs::write(
            dir.path().join("segment-defs/defs.yml"),
            definitions("app.orders"),
        )
        .unwrap();
        let named = common::run_json(dir.path(), &["--target", target]);
        assert_eq!(bare["rows"], named["rows"], "{target}");
        std::fs::write(
            dir.path().join("segment-defs/defs.yml"),
            definitions("orders"),
        )
        .unwrap();
        // The snapshot records the read table's types, and a run checked against it agrees.
        let output = assert_cmd::Command::cargo_bin("segc")
            .unwrap()
            .args(["sources", "--refresh", "--target", target, "--project"])
            .arg(dir.path())
            .output()
            .unwrap();
        let text = common::output_text(&output);
        assert!(output.status.success(), "{target}: {text}");
        let snapshot =
            std::fs::read_to_string(dir.path().join("segment-defs/warehouse_schema.yml")).unwrap();
        assert!(
            snapshot.contains("\n    orders:\n      time: date\n"),
            "{target}: {snapshot}"
        );
        let checked = common::run_json(dir.path(), &["--target", target]);
        assert_eq!(bare["rows"], checked["rows"], "{target}");
        std::fs::remove_file(dir.path().join("segment-defs/warehouse_schema.yml")).unwrap();
    }
}

/// A flow KPI before any `segc snapshot` reads a history table that does not exist yet: the
/// error names it as segc's own table, not as a source's, and says how to record the days.
#[test]
fn a_missing_history_table_is_named_as_segcs_own() {
    if !enabled() {
        return;
    }
    let database = "segc_no_history";
    let dir = fresh_database(database, &[("nohistory", "postgres")]);
    let mut db = connect(dir.path(), "nohistory");
    for statement in [
        "CREATE TABLE users (user_id INTEGER, created_at TIMESTAMP)",
        "INSERT INTO users VALUES (1, TIMESTAMP '2024-01-01 00:00:00')",
    ] {
        db.set_up(statement).unwrap();
    }
    write_project(
        dir.path(),
        "nohistory",
        "nohistory",
        "sources:\n  users: { table: users, key: { column: user_id, type: integer }, columns: { signup_at: { column: created_at, type: timestamp } } }\n\
         segments:\n  - { name: everyone, all: [] }\n\
         kpis:\n  - { name: people, agg: count }\n  - { name: entered, flow: entered }\n",
    );
    let (code, text) = run_in(dir.path());
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("segc_membership_days"), "{text}");
    assert!(
        text.contains("a table the statement reads (a source's, or segc's own history or results table) does not exist"),
        "{text}"
    );
    assert!(text.contains("segc snapshot --from"), "{text}");
    assert!(!text.contains("a table named in sources"), "{text}");
}
