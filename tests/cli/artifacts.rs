//! What `segc run` leaves for a scheduler: `target/run_results.json`, the compiled statement
//! in `target/compiled/<target>.sql`, and one JSON event per step with `--log-format json`.

use super::*;

use serde_json::Value;
use sha2::Digest;

fn demo() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("demo");
    segc()
        .args(["init", "--demo"])
        .arg(&project)
        .assert()
        .success();
    (dir, project)
}

/// Runs `segc --log-format json --project P <args>`: exit code, stdout, and the JSON events
/// of stderr, each line parsed on its own.
fn run_logged(project: &std::path::Path, args: &[&str]) -> (i32, String, Vec<Value>) {
    let output = segc()
        .args(["--log-format", "json", "--project"])
        .arg(project)
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    let events = stderr
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line)
                .unwrap_or_else(|e| panic!("not a JSON event ({e}): {line}\n{stderr}"))
        })
        .collect();
    let stdout = String::from_utf8(output.stdout).unwrap();
    (output.status.code().unwrap(), stdout, events)
}

fn run_results(project: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(project.join("target/run_results.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn names(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect()
}

fn is_day(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|day| chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").is_ok())
}

/// The sha256 of a file, computed here, not by segc.
fn sha256_of(path: &std::path::Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn a_successful_run_records_what_ran_and_logs_each_step_in_order() {
    let (_dir, project) = demo();
    let (code, stdout, events) = run_logged(
        &project,
        &["run", "-k", "people", "-s", "paying", "-o", "csv"],
    );
    assert_eq!(code, 0, "{events:?}");
    let results = run_results(&project);
    let run_id = results["run_id"].as_str().unwrap();
    assert!(!run_id.is_empty());
    assert_eq!(results["segc_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(results["command"], "run");
    let args: Vec<&str> = results["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        args.ends_with(&["run", "-k", "people", "-s", "paying", "-o", "csv"]),
        "{args:?}"
    );
    assert_eq!(results["project"], "saas_demo");
    assert_eq!(results["target"], "local");
    assert_eq!(results["dialect"], "duckdb");
    assert_eq!(results["profile"]["type"], "duckdb");
    assert_eq!(results["as_of"], "2026-10-31");
    assert_eq!(results["period_start"], "2026-10-02");
    assert_eq!(results["period_end"], "2026-10-31");
    assert!(results["compared"].is_null() && results["months"].is_null());
    let at = |key: &str| {
        chrono::DateTime::parse_from_rfc3339(results[key].as_str().unwrap())
            .unwrap_or_else(|e| panic!("{key}: {e}"))
    };
    assert!(at("started_at") <= at("ended_at"));
    let elapsed = results["elapsed_seconds"].as_f64().unwrap();
    assert!((0.0..60.0).contains(&elapsed), "{elapsed}");
    // The statement's sha256 is the compiled file's.
    assert_eq!(results["compiled_sql"], "target/compiled/local.sql");
    let sha256 = results["sha256"].as_str().unwrap();
    assert_eq!(
        sha256,
        sha256_of(&project.join("target/compiled/local.sql"))
    );
    // DuckDB names no query; the rows are the report's: all_users and paying.
    assert!(results["query_id"].is_null() && results["bytes_billed"].is_null());
    assert_eq!(results["rows_returned"], 2);
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    let queries = results["queries"].as_array().unwrap();
    let report = queries.last().unwrap();
    assert_eq!(report["event"], "query_finished");
    assert_eq!(report["sha256"], sha256);
    assert_eq!(report["rows"], 2);
    assert_eq!(results["status"], "success");
    assert_eq!(results["exit_code"], 0);
    assert!(results["error"].is_null());

    // The log: one event per step, in order, each with the run's id and a time.
    let steps = names(&events);
    assert_eq!(steps[..3], ["start", "validated", "compiled"], "{steps:?}");
    assert_eq!(steps.last(), Some(&"finished"));
    let sent = steps.iter().filter(|s| **s == "query_sent").count();
    assert_eq!(sent, queries.len(), "{steps:?}");
    assert_eq!(steps[3..steps.len() - 1].len(), 2 * sent, "{steps:?}");
    for pair in steps[3..steps.len() - 1].chunks(2) {
        assert_eq!(pair, ["query_sent", "query_finished"], "{steps:?}");
    }
    for event in &events {
        assert_eq!(event["run_id"], run_id, "{event}");
        assert!(chrono::DateTime::parse_from_rfc3339(event["at"].as_str().unwrap()).is_ok());
    }
    assert_eq!(events[2]["sha256"], sha256);
    assert_eq!(events[2]["as_of"], "2026-10-31");
    let finished = events.last().unwrap();
    assert_eq!(finished["status"], "success");
    assert_eq!(finished["rows_returned"], 2);
    assert_eq!(finished["run_results"], "target/run_results.json");
    // No temporary file is left beside the artifacts.
    for folder in ["target", "target/compiled"] {
        for entry in std::fs::read_dir(project.join(folder)).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            assert!(!name.ends_with(".tmp"), "{folder}/{name}");
        }
    }
}

#[test]
fn the_text_log_stays_as_it_was() {
    let (_dir, project) = demo();
    let output = segc()
        .args(["run", "-k", "people", "--project"])
        .arg(&project)
        .assert()
        .success()
        .get_output()
        .clone();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(!stderr.contains('{'), "{stderr}");
    assert_eq!(run_results(&project)["status"], "success");
}

#[test]
fn a_failed_query_is_recorded_with_its_error_and_logged_last() {
    let (_dir, project) = demo();
    let sources = project.join("segment-defs/sources.yml");
    let text = std::fs::read_to_string(&sources).unwrap();
    assert!(text.contains("    table: app.events\n"));
    std::fs::write(
        &sources,
        text.replace("    table: app.events\n", "    table: app.event_log\n"),
    )
    .unwrap();
    // KPIs that read no membership history: the demo would record it first, and that
    // statement would fail first.
    let (code, stdout, events) = run_logged(&project, &["run", "-k", "people,revenue_30d"]);
    assert_eq!(code, 1);
    assert!(stdout.is_empty(), "{stdout}");
    let results = run_results(&project);
    assert_eq!(results["status"], "error");
    assert_eq!(results["exit_code"], 1);
    let error = results["error"].as_str().unwrap();
    assert!(error.contains("event_log"), "{error}");
    assert!(results["rows_returned"].is_null());
    // The statement that failed is on file, and its record says so.
    let sha256 = results["sha256"].as_str().unwrap();
    assert_eq!(
        sha256,
        sha256_of(&project.join("target/compiled/local.sql"))
    );
    let report = results["queries"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(report["event"], "query_failed");
    assert_eq!(report["sha256"], sha256);
    assert!(report["error"].as_str().unwrap().contains("event_log"));
    // The log ends with the failed query, then the error with its exit code.
    let steps = names(&events);
    assert_eq!(
        steps[steps.len() - 2..],
        ["query_failed", "error"],
        "{steps:?}"
    );
    let last = events.last().unwrap();
    assert_eq!(last["exit_code"], 1);
    assert!(last["message"].as_str().unwrap().contains("event_log"));
    assert_eq!(last["run_id"], results["run_id"]);

    // A request that cannot be done (an unknown segment) is recorded with exit code 2,
    // before anything is compiled; the compiled statement of the last run stays.
    let (code, _, events) = run_logged(&project, &["run", "--select", "no_such_segment"]);
    assert_eq!(code, 2);
    let results = run_results(&project);
    assert_eq!(
        (results["status"].as_str(), results["exit_code"].as_i64()),
        (Some("error"), Some(2))
    );
    assert!(results["sha256"].is_null() && results["target"].is_null());
    assert!(
        results["error"]
            .as_str()
            .unwrap()
            .contains("no_such_segment")
    );
    assert_eq!(names(&events), ["start", "validated", "error"]);
}

#[test]
fn compared_periods_and_months_are_recorded_and_carried_by_csv_and_json() {
    let (_dir, project) = demo();
    let (code, stdout, _) = run_logged(
        &project,
        &[
            "run",
            "-k",
            "people",
            "--period",
            "2026-10-01..2026-10-31",
            "--compare",
            "prior_year",
            "-o",
            "json",
        ],
    );
    assert_eq!(code, 0);
    let json: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (&json["as_of"], &json["period_start"], &json["period_end"]),
        (
            &Value::from("2026-10-31"),
            &Value::from("2026-10-01"),
            &Value::from("2026-10-31")
        )
    );
    let results = run_results(&project);
    assert_eq!(results["period_start"], "2026-10-01");
    assert_eq!(results["compared"]["as_of"], "2025-10-31");
    assert_eq!(results["compared"]["period_start"], "2025-10-01");
    assert_eq!(results["compared"]["period_end"], "2025-10-31");

    let (code, stdout, _) = run_logged(
        &project,
        &[
            "run", "-k", "people", "--grain", "month", "--from", "2026-01", "--to", "2026-03",
            "-o", "csv",
        ],
    );
    assert_eq!(code, 0);
    let mut lines = stdout.lines();
    assert_eq!(
        lines.next(),
        Some("period,as_of,period_start,period_end,segment,parent,people")
    );
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("2026-01,2026-01-31,2026-01-01,2026-01-31,all_users,,")
    );
    let results = run_results(&project);
    let months = results["months"].as_array().unwrap();
    assert_eq!(months.len(), 3);
    assert_eq!(months[2]["period"], "2026-03");
    assert_eq!(months[2]["as_of"], "2026-03-31");
    assert!(
        months
            .iter()
            .all(|m| is_day(&m["period_start"]) && is_day(&m["period_end"]))
    );
    assert_eq!(
        (results["as_of"].as_str(), results["period_start"].as_str()),
        (Some("2026-03-31"), Some("2026-01-01"))
    );
    let series = common::run_json(
        &project,
        &[
            "-k", "people", "--grain", "month", "--from", "2026-01", "--to", "2026-02",
        ],
    );
    assert_eq!(
        series["periods"][1]["period_start"], "2026-02-01",
        "{series}"
    );
    assert_eq!(series["periods"][1]["period_end"], "2026-02-28");
}

/// A target that cannot be reached, with a password: the run fails, and neither the
/// artifacts nor the log repeat the password; the profile is recorded masked.
#[test]
fn no_password_from_a_profile_appears_in_any_artifact() {
    let (_dir, project) = demo();
    let password = "Art1fact-Pa55word";
    let profiles = std::fs::read_to_string(project.join("profiles.yml")).unwrap();
    std::fs::write(
        project.join("profiles.yml"),
        format!(
            "{profiles}\nwarehouse: {{ type: postgres, host: 127.0.0.1, port: 9, user: u, password: \"{password}\", \
             database: \"host=x password={password}\", sslmode: disable, connect_timeout: 2 }}\n"
        ),
    )
    .unwrap();
    let (code, stdout, events) = run_logged(&project, &["run", "--target", "warehouse"]);
    assert_eq!(code, 1);
    let results = run_results(&project);
    assert_eq!(results["target"], "warehouse");
    assert_eq!(results["dialect"], "postgres");
    assert_eq!(results["profile"]["password"], "****");
    assert_eq!(results["profile"]["host"], "127.0.0.1");
    assert_eq!(results["status"], "error");
    assert!(project.join("target/compiled/warehouse.sql").is_file());
    let mut seen = vec![stdout, serde_json::to_string(&events).unwrap()];
    for folder in ["target", "target/compiled"] {
        for entry in std::fs::read_dir(project.join(folder)).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                seen.push(String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned());
            }
        }
    }
    for text in &seen {
        assert!(!text.contains(password), "a password in:\n{text}");
    }
}

/// Outside a project folder nothing is written: there is no project to put `target/` in.
#[test]
fn a_folder_that_is_not_a_project_gets_no_artifacts() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, events) = run_logged(dir.path(), &["run"]);
    assert_eq!(code, 2);
    assert_eq!(names(&events), ["start", "error"]);
    assert!(!dir.path().join("target").exists());
}

/// `segc --project P run <args> --out FILE`, asserted.
fn run_out(
    project: &std::path::Path,
    args: &[&str],
    out: &std::path::Path,
) -> assert_cmd::assert::Assert {
    segc()
        .arg("--project")
        .arg(project)
        .arg("run")
        .args(args)
        .arg("--out")
        .arg(out)
        .assert()
}

/// Runs `segc --log-format json --project P <args>` with standard output and error on the
/// given files: exit code and stderr.
fn run_into(
    project: &std::path::Path,
    args: &[&str],
    stdout: std::process::Stdio,
    stderr: std::process::Stdio,
) -> i32 {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("segc"))
        .args(["--log-format", "json", "--project"])
        .arg(project)
        .args(args)
        .stdout(stdout)
        .stderr(stderr)
        .status()
        .unwrap()
        .code()
        .unwrap()
}

/// Output that cannot be written is the run's failure in its record, not a record of the run
/// before: a full disk (exit 1), a reader gone (exit 141, quietly, as SIGPIPE ends a C
/// program); a log that cannot be written loses the log, not the report.
#[test]
fn output_that_cannot_be_written_is_recorded_and_a_lost_log_keeps_the_report() {
    let (_dir, project) = demo();
    let (code, _, _) = run_logged(&project, &["run", "-k", "people"]);
    assert_eq!(code, 0);
    let before = run_results(&project)["run_id"].clone();
    let full = std::fs::File::create("/dev/full").unwrap();
    let code = run_into(
        &project,
        &["run", "-k", "people", "-o", "csv"],
        full.into(),
        std::process::Stdio::null(),
    );
    assert_eq!(code, 1);
    let results = run_results(&project);
    assert_ne!(results["run_id"], before, "{results}");
    assert_eq!(results["status"], "error", "{results}");
    assert_eq!(results["exit_code"], 1, "{results}");
    let error = results["error"].as_str().unwrap();
    assert!(error.contains("standard output"), "{error}");

    // The reader left before the report was written.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = std::process::Command::new(assert_cmd::cargo::cargo_bin("segc"))
        .args(["--project"])
        .arg(&project)
        .args(["run", "-k", "people", "-o", "csv"])
        .stdout(writer)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(141));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
    let results = run_results(&project);
    assert_eq!(results["status"], "error", "{results}");
    assert_eq!(results["exit_code"], 141, "{results}");
    // Under --log-format json the log still ends with the error.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = std::process::Command::new(assert_cmd::cargo::cargo_bin("segc"))
        .args(["--log-format", "json", "--project"])
        .arg(&project)
        .args(["run", "-k", "people", "-o", "csv"])
        .stdout(writer)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(141));
    let stderr = String::from_utf8(output.stderr).unwrap();
    let last: Value = serde_json::from_str(stderr.lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], "error", "{stderr}");
    assert_eq!(last["exit_code"], 141, "{stderr}");

    // The JSON log into a full disk: the report is printed and recorded all the same.
    let output = std::process::Command::new(assert_cmd::cargo::cargo_bin("segc"))
        .args(["--log-format", "json", "--project"])
        .arg(&project)
        .args(["run", "-k", "people", "-o", "csv"])
        .stderr(std::fs::File::create("/dev/full").unwrap())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("all_users"), "{stdout}");
    assert_eq!(run_results(&project)["status"], "success");
}

/// `--out` is replaced whole or not at all: a run killed while writing it (here by the file
/// size limit, as by SIGKILL or a full disk) leaves the previous report as it was.
#[test]
fn a_report_killed_while_written_leaves_the_previous_one_whole() {
    let (_dir, project) = demo();
    let out = project.join("report.html");
    run_out(&project, &["-o", "csv"], &out).success();
    let before = std::fs::read(&out).unwrap();
    assert!(before.len() < 100 * 1024, "{}", before.len());
    // The HTML page is far larger than the limit (400 blocks of 512 bytes); the compiled
    // statement and the record fit, and the demo's history is recorded already.
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -f 400; exec \"$0\" --project \"$1\" run -o html --out \"$2\"")
        .arg(assert_cmd::cargo::cargo_bin("segc"))
        .arg(&project)
        .arg(&out)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success(), "{status:?}");
    assert_eq!(std::fs::read(&out).unwrap(), before);
    // It was killed writing the page: its temporary file holds the first 200 KiB.
    let leftovers: Vec<_> = std::fs::read_dir(&project)
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            name.starts_with(".report.html.") && name.ends_with(".tmp")
        })
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    assert_eq!(leftovers[0].metadata().unwrap().len(), 400 * 512);
    // Once it can be written, the page replaces the CSV.
    run_out(&project, &["-o", "html"], &out).success();
    let page = std::fs::read_to_string(&out).unwrap();
    assert!(page.len() > 400 * 512, "{}", page.len());
    assert!(
        page.trim_end().ends_with("</html>"),
        "{}",
        &page[page.len() - 100..]
    );
}

/// `--out` through a link replaces the file it names and keeps the link; into a named pipe
/// it writes to the reader (opened only when the report is ready, so no wait before).
#[test]
fn the_report_reaches_links_and_named_pipes() {
    let (dir, project) = demo();
    let file = dir.path().join("real.csv");
    std::fs::write(&file, "old").unwrap();
    let link = dir.path().join("link.csv");
    std::os::unix::fs::symlink(&file, &link).unwrap();
    run_out(&project, &["-k", "people", "-o", "csv"], &link).success();
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("all_users")
    );

    let fifo = dir.path().join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let reading = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    segc()
        .arg("--project")
        .arg(&project)
        .args([
            "run",
            "-k",
            "people",
            "-o",
            "csv",
            "--timeout",
            "60",
            "--out",
        ])
        .arg(&fifo)
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .success();
    assert!(reading.join().unwrap().contains("all_users"));

    // A reader that reads a little and leaves, as `head` does: the rest of a page far larger
    // than the pipe's buffer cannot be written, and segc ends quietly as at `| head`.
    let leaving = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut start = [0u8; 16];
            let mut pipe = std::fs::File::open(fifo).unwrap();
            std::io::Read::read_exact(&mut pipe, &mut start).unwrap();
        })
    };
    segc()
        .arg("--project")
        .arg(&project)
        .args(["run", "-o", "html", "--timeout", "60", "--out"])
        .arg(&fifo)
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(141)
        .stderr(predicate::str::contains("error").not())
        .stderr(predicate::str::contains("Broken pipe").not());
    leaving.join().unwrap();
    let record = std::fs::read_to_string(project.join("target/run_results.json")).unwrap();
    assert!(record.contains("\"exit_code\": 141"), "{record}");
}

/// `--out` refuses a new YAML file inside the project (the next run would read it as
/// definitions) and segc's own artifacts, before any query.
#[test]
fn the_report_is_not_written_over_definitions_to_be_or_artifacts() {
    let (_dir, project) = demo();
    segc()
        .arg("--project")
        .arg(&project)
        .args(["run", "-k", "people"])
        .assert()
        .success();
    for out in [
        "segment-defs/report.yaml",
        "report.yml",
        "target/run_results.json",
        "target/compiled/local.sql",
        "target/compiled/other.sql",
    ] {
        let before = std::fs::read(project.join(out)).ok();
        segc()
            .arg("--project")
            .arg(&project)
            .args(["run", "-k", "people", "-o", "csv", "--out"])
            .arg(project.join(out))
            .assert()
            .code(1)
            .stderr(predicate::str::contains("the report would replace it"));
        if out != "target/run_results.json" {
            assert_eq!(std::fs::read(project.join(out)).ok(), before, "{out}");
        }
    }
    segc()
        .arg("--project")
        .arg(&project)
        .arg("validate")
        .assert()
        .success();
    // A report beside them is fine.
    segc()
        .arg("--project")
        .arg(&project)
        .args(["run", "-k", "people", "-o", "csv", "--out"])
        .arg(project.join("target/report.csv"))
        .assert()
        .success();
}

/// Definitions outside the project folder (`definitions: ../defs`, a link to a file
/// elsewhere), SQLite's logs beside a database, and a database the run itself makes (a demo
/// target's first run) are not replaced by a report either.
#[test]
fn the_report_is_not_written_over_definitions_elsewhere_logs_or_a_new_database() {
    let (dir, project) = demo();
    // The definitions moved out of the project, one of them a link to a file elsewhere.
    let defs = dir.path().join("defs");
    std::fs::rename(project.join("segment-defs"), &defs).unwrap();
    let kpis = dir.path().join("kpis_elsewhere.yml");
    std::fs::rename(defs.join("kpis.yml"), &kpis).unwrap();
    std::os::unix::fs::symlink(&kpis, defs.join("kpis.yml")).unwrap();
    let settings = project.join("segc_project.yml");
    let text = std::fs::read_to_string(&settings).unwrap();
    assert!(text.contains("definitions: segment-defs "), "{text}");
    std::fs::write(
        &settings,
        text.replace("definitions: segment-defs ", "definitions: ../defs "),
    )
    .unwrap();
    segc()
        .arg("--project")
        .arg(&project)
        .arg("validate")
        .assert()
        .success();
    let sqlite = dir.path().join("data.sqlite");
    std::fs::write(&sqlite, b"SQLite format 3\0and more than sixteen bytes").unwrap();
    for out in [
        kpis.clone(),
        defs.join("segments.yml"),
        defs.join("new.yaml"),
        sqlite.with_extension("sqlite-journal"),
        sqlite.with_extension("sqlite-wal"),
        sqlite.with_extension("sqlite-shm"),
    ] {
        let before = std::fs::read(&out).ok();
        run_out(&project, &["-k", "people", "-o", "csv"], &out)
            .code(1)
            .stderr(predicate::str::contains("the report would replace it"));
        assert_eq!(std::fs::read(&out).ok(), before, "{}", out.display());
    }
    // The demo database does not exist until the run makes it: the report is refused then.
    let database = project.join("target/demo.duckdb");
    assert!(database.exists());
    std::fs::remove_file(&database).unwrap();
    run_out(&project, &["-k", "people", "-o", "csv"], &database)
        .code(1)
        .stderr(predicate::str::contains("it is a DuckDB database"));
    segc()
        .arg("--project")
        .arg(&project)
        .args(["run", "-k", "people", "-o", "csv"])
        .assert()
        .success();
}
