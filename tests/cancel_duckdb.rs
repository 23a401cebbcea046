//! The embedded engine stops when asked: `--timeout`, Ctrl-C and SIGTERM interrupt the query
//! inside DuckDB; two first runs at once create the demo database once.
#![cfg(feature = "duckdb")]

mod common;

use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A project whose user table is a view over 10^11 generated rows: a query that would run for
/// minutes.
fn slow_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let connection = duckdb::Connection::open(dir.path().join("slow.duckdb")).unwrap();
    connection
        .execute_batch(
            "CREATE SCHEMA app;
             CREATE VIEW app.users AS
               SELECT i AS user_id, TIMESTAMP '2024-01-01' AS created_at, i % 7 AS country
               FROM range(100000000000) AS t(i);",
        )
        .unwrap();
    drop(connection);
    std::fs::write(
        dir.path().join("profiles.yml"),
        "local: { type: duckdb, path: slow.duckdb }\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("segc_project.yml"),
        "name: slow\nas_of: 2024-03-31\ndefault_target: local\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("segment-defs")).unwrap();
    std::fs::write(
        dir.path().join("segment-defs/defs.yml"),
        "sources:\n  users: { table: app.users, key: user_id, columns: { signup_at: created_at, country: { column: country, type: integer } } }\n\
         kpis:\n  - { name: people, agg: count }\n  - { name: countries, agg: count_distinct, of: country }\n",
    )
    .unwrap();
    dir
}

fn spawn(dir: &Path, extra: &[&str]) -> Child {
    Command::new(assert_cmd::cargo::cargo_bin("segc"))
        .args(["run", "--project"])
        .arg(dir)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits up to 30 s for the child; its status and stderr.
fn finish(mut child: Child) -> (ExitStatus, String) {
    for _ in 0..300 {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
            return (status, stderr);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    panic!("segc did not stop within 30 s");
}

#[test]
fn timeout_interrupts_the_query_inside_duckdb() {
    let dir = slow_project();
    let started = Instant::now();
    let (status, stderr) = finish(spawn(dir.path(), &["--timeout", "2"]));
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--timeout 2 s"), "{stderr}");
    // Named by its target, as on every other engine (the file's path beside it).
    assert!(stderr.contains("target `local` (DuckDB "), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "stopped at the time-out, not at the end: {:?}",
        started.elapsed()
    );
}

/// A statement of 6,000 segments plans for longer than `--timeout`: DuckDB heeds the interrupt
/// between its optimizer's passes, and segc stops then, well before the 5 s it gives a
/// statement that does not stop (the driver's unit test covers that case).
#[test]
fn a_statement_still_planning_at_the_timeout_stops_while_it_is_optimized() {
    let dir = slow_project();
    let segments: String = (0..6000)
        .map(|i| {
            format!(
                "  - {{ name: s{i}, all: [ {{ country: {{ eq: {} }} }} ] }}\n",
                i % 7
            )
        })
        .collect();
    std::fs::write(
        dir.path().join("segment-defs/many.yml"),
        format!("segments:\n{segments}"),
    )
    .unwrap();
    let started = Instant::now();
    let (status, stderr) = finish(spawn(dir.path(), &["--timeout", "1", "-k", "people"]));
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("ran longer than --timeout 1 s and was interrupted"),
        "{stderr}"
    );
    assert!(!stderr.contains("had not stopped"), "{stderr}");
    // The run is recorded as any failed one.
    let recorded =
        std::fs::read_to_string(dir.path().join("target/run_results.json")).unwrap_or_default();
    assert!(
        recorded.contains("\"exit_code\": 1") && recorded.contains("--timeout 1 s"),
        "{recorded}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "waited for the plan: {:?}",
        started.elapsed()
    );
}

fn signal_stops_the_query(signal: &str, code: i32, named: &str) {
    let dir = slow_project();
    let child = spawn(dir.path(), &[]);
    // Validation, compilation and opening the file take well under this.
    std::thread::sleep(Duration::from_secs(2));
    let sent_at = Instant::now();
    let sent = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let (status, stderr) = finish(child);
    assert_eq!(status.code(), Some(code), "{stderr}");
    assert!(stderr.contains(named), "{stderr}");
    assert!(
        stderr.contains("the query on target `local` was"),
        "{stderr}"
    );
    assert!(
        sent_at.elapsed() < Duration::from_secs(5),
        "interrupted, not run to the end"
    );
}

#[test]
fn ctrl_c_interrupts_the_query_and_exits_130() {
    signal_stops_the_query("-INT", 130, "cancelled (Ctrl-C)");
}

#[test]
fn sigterm_interrupts_the_query_and_exits_143() {
    signal_stops_the_query("-TERM", 143, "cancelled (SIGTERM)");
}

/// A hangup (the session that started the job closed) stops the query as SIGTERM does.
#[test]
fn sighup_interrupts_the_query_and_exits_129() {
    signal_stops_the_query("-HUP", 129, "cancelled (SIGHUP)");
}

/// A signal ignored when segc started stays ignored: `nohup segc run` outlives the session
/// that started it (SIGHUP), and SIGTERM still stops it.
#[test]
fn a_signal_ignored_at_start_stays_ignored() {
    let dir = slow_project();
    let child = Command::new("sh")
        .arg("-c")
        .arg("trap '' HUP; exec \"$0\" run --project \"$1\"")
        .arg(assert_cmd::cargo::cargo_bin("segc"))
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = child;
    std::thread::sleep(Duration::from_secs(2));
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap()
            .success()
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(child.try_wait().unwrap().is_none(), "SIGHUP ended it");
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let (status, stderr) = finish(child);
    assert_eq!(status.code(), Some(143), "{stderr}");
}

/// Two first runs at once: one creates the demo database while the other waits for it; both
/// print the report, and nothing is left half-written.
/// Of two runs in one folder, the one that ends last leaves its statement beside its record:
/// a statement another run wrote meanwhile under `target/compiled/` is written again, so
/// run_results.json's sha256 is the file's.
#[test]
fn the_run_that_ends_last_leaves_its_statement_beside_its_record() {
    let dir = slow_project();
    let compiled = dir.path().join("target/compiled/local.sql");
    let child = spawn(dir.path(), &["--timeout", "3"]);
    let waited = Instant::now();
    while !compiled.is_file() && waited.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let statement = std::fs::read_to_string(&compiled).unwrap();
    // Another run's statement, written while this one's query runs.
    std::fs::write(&compiled, "SELECT 'another run'\n").unwrap();
    let (status, stderr) = finish(child);
    assert_eq!(status.code(), Some(1), "{stderr}");
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("target/run_results.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(record["status"], "error");
    assert_eq!(std::fs::read_to_string(&compiled).unwrap(), statement);
    assert_eq!(
        record["sha256"],
        segc::artifacts::sha256(&statement).as_str()
    );
}

#[test]
fn two_first_runs_create_the_demo_database_once() {
    for round in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        common::copy_project(&common::repository_root(), dir.path(), None);
        std::fs::write(
            dir.path().join("profiles.yml"),
            "local: { type: duckdb, path: data/demo.duckdb, demo: true }\n",
        )
        .unwrap();
        let runs: Vec<Child> = (0..2)
            .map(|_| {
                Command::new(assert_cmd::cargo::cargo_bin("segc"))
                    .args(["run", "-o", "csv", "-k", "people", "--project"])
                    .arg(dir.path())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let outputs: Vec<_> = runs
            .into_iter()
            .map(|child| child.wait_with_output().unwrap())
            .collect();
        for output in &outputs {
            assert!(
                output.status.success(),
                "round {round}: {}",
                common::output_text(output)
            );
        }
        assert_eq!(
            outputs[0].stdout, outputs[1].stdout,
            "round {round}: both runs read the same complete database"
        );
        let mut left: Vec<String> = std::fs::read_dir(dir.path().join("data"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["demo.duckdb"], "round {round}");
    }
}
