//! The `segc` command line on the example project: exit codes, output formats, help.

mod common;

use assert_cmd::Command;
use predicates::prelude::*;

fn segc() -> Command {
    Command::cargo_bin("segc").unwrap()
}

#[test]
fn validate_the_example_project() {
    segc()
        .args(["validate", "--project"])
        .arg(common::repository_root())
        .assert()
        .success()
        .stdout(predicate::str::contains("saas_demo: valid"));
}

#[test]
fn validate_reports_an_invalid_project_with_exit_code_1() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("segc_project.yml"), "name: broken\n").unwrap();
    std::fs::create_dir(dir.path().join("segment-defs")).unwrap();
    std::fs::write(
        dir.path().join("segment-defs/a.yml"),
        "sources:\n  users: { table: app.users, key: id, columns: { signup_at: created } }\nsegments:\n  - { name: s, all: [ { nope: { eq: 1 } } ] }\n",
    )
    .unwrap();
    segc()
        .args(["validate", "--project"])
        .arg(dir.path())
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("segment-defs/a.yml:4:25")
                .and(predicate::str::contains("unknown attribute `nope`")),
        );
}

/// BigQuery takes at most 1,024K characters of SQL: a segment listing 80,000 countries is
/// longer. `compile` warns; `run` refuses before connecting.
#[test]
fn a_statement_longer_than_the_warehouse_accepts_is_refused_before_it_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    common::copy_project(&common::fixture("core"), &project, Some(&["sources.yml"]));
    let countries: Vec<String> = (0..80_000).map(|n| format!("\"country {n}\"")).collect();
    std::fs::write(
        project.join("segment-defs/long.yml"),
        format!(
            "segments:\n  - {{ name: listed, all: [ {{ country: {{ in: [{}] }} }} ] }}\nkpis:\n  - {{ name: people, agg: count }}\n",
            countries.join(", ")
        ),
    )
    .unwrap();
    segc()
        .args(["compile", "--dialect", "bigquery", "--project"])
        .arg(&project)
        .assert()
        .success()
        .stderr(predicate::str::contains("warning: the report compiles to"))
        .stderr(predicate::str::contains("bigquery accepts at most 1.0 MiB"));
    segc()
        .args(["compile", "--dialect", "postgres", "--project"])
        .arg(&project)
        .assert()
        .success()
        .stderr(predicate::str::is_empty());
    std::fs::write(
        dir.path().join("profiles.yml"),
        "bq: { type: bigquery, project: p, dataset: d, endpoint: \"http://127.0.0.1:9\" }\n",
    )
    .unwrap();
    segc()
        .args(["run", "--target", "bq", "--profiles-dir"])
        .arg(dir.path())
        .arg("--project")
        .arg(&project)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "fewer KPIs (--kpis) or fewer segments (--select)",
        ))
        .stderr(predicate::str::contains("127.0.0.1:9").not());
}

#[test]
fn bad_command_lines_exit_with_2() {
    segc().arg("frobnicate").assert().code(2);
    segc()
        .args(["compile", "--dialect", "duckdb", "--as-of", "yesterday"])
        .assert()
        .code(2);
    segc()
        .args(["compile", "--dialect", "oracle", "--project"])
        .arg(common::repository_root())
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with("error: "))
        .stderr(predicate::str::contains(format!(
            "known dialects: {}",
            segc::dialect::names().join(", ")
        )));
    segc()
        .args([
            "compile",
            "--dialect",
            "duckdb",
            "--select",
            "no_such_segment",
            "--project",
        ])
        .arg(common::repository_root())
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with("error: "));
    segc()
        .args([
            "compile",
            "--dialect",
            "duckdb",
            "--grain",
            "month",
            "--from",
            "2026-05",
            "--to",
            "2026-03",
            "--project",
        ])
        .arg(common::repository_root())
        .assert()
        .code(2)
        .stderr("error: --from 2026-05 is after --to 2026-03\n");
}

#[test]
fn help_explains_the_commands() {
    segc().arg("--help").assert().success().stdout(
        predicate::str::contains("validate")
            .and(predicate::str::contains("compile"))
            .and(predicate::str::contains("run")),
    );
    segc().args(["run", "--help"]).assert().success().stdout(
        predicate::str::contains("--as-of")
            .and(predicate::str::contains(
                "segc run --output html --out report.html",
            ))
            .and(predicate::str::contains("--out <FILE>")),
    );
    segc()
        .args(["sources", "--help"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("--refresh")
                .and(predicate::str::contains(
                    "segc sources --refresh --target pg",
                ))
                .and(predicate::str::contains("warehouse_schema.yml")),
        );
}

#[test]
fn compile_needs_no_profile_with_a_dialect() {
    let dir = tempfile::tempdir().unwrap();
    segc()
        .args([
            "compile",
            "--dialect",
            "duckdb",
            "--select",
            "active",
            "--project",
        ])
        .arg(common::repository_root())
        .args(["--profiles-dir"])
        .arg(dir.path())
        .env("HOME", dir.path())
        .assert()
        .success()
        .stdout(
            predicate::str::starts_with("-- segc: project saas_demo")
                .and(predicate::str::contains("segc_in_active")),
        );
    segc()
        .args(["compile", "--dialect", "duckdb", "--output-dir"])
        .arg(dir.path().join("sql"))
        .arg("--project")
        .arg(common::repository_root())
        .assert()
        .success();
    assert!(dir.path().join("sql/duckdb.sql").is_file());
    segc()
        .args(["compile", "--output-dir"])
        .arg(dir.path().join("all"))
        .arg("--project")
        .arg(common::repository_root())
        .assert()
        .success();
    for name in segc::dialect::names() {
        assert!(
            dir.path().join(format!("all/{name}.sql")).is_file(),
            "{name}"
        );
    }
}

/// The last complete day in `zone` now: yesterday there.
fn yesterday_in(zone: &str) -> chrono::NaiveDate {
    let zone: chrono_tz::Tz = zone.parse().unwrap();
    chrono::Utc::now()
        .with_timezone(&zone)
        .date_naive()
        .pred_opt()
        .unwrap()
}

/// Writes a project in `root` without a default `as_of`: `source`'s definitions, in `zone`.
fn project_without_as_of(source: &std::path::Path, root: &std::path::Path, zone: &str) {
    if source != root {
        common::copy_project(source, root, None);
    }
    let settings = root.join("segc_project.yml");
    let text = std::fs::read_to_string(&settings).unwrap();
    assert!(
        text.lines().any(|line| line.starts_with("as_of:")),
        "{text}"
    );
    let text: String = text
        .lines()
        .filter(|line| !line.starts_with("as_of:"))
        .map(|line| {
            if line.starts_with("time_zone:") {
                format!("time_zone: {zone}\n")
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    std::fs::write(&settings, text).unwrap();
}

/// Without `--as-of` and without `as_of` in the project, the report is as of the last complete
/// day in the project's time zone, never a day still in progress.
#[test]
fn the_default_as_of_day_is_yesterday_in_the_project_time_zone() {
    for zone in ["Pacific/Auckland", "America/Los_Angeles", "UTC"] {
        let dir = tempfile::tempdir().unwrap();
        project_without_as_of(&common::fixture("core"), dir.path(), zone);
        // The day may turn while the command runs.
        let before = yesterday_in(zone);
        let output = segc()
            .args(["compile", "--dialect", "duckdb", "--project"])
            .arg(dir.path())
            .output()
            .unwrap();
        let after = yesterday_in(zone);
        let sql = common::output_text(&output);
        assert!(output.status.success(), "{sql}");
        let first = sql.lines().next().unwrap_or_default();
        assert!(
            [before, after].iter().any(|day| first
                == format!(
                    "-- segc: project core_fixture, as of {day} (end of day, {zone}), dialect duckdb"
                )),
            "{zone}: {first}"
        );
        // `--as-of` still wins.
        let output = segc()
            .args(["compile", "--dialect", "duckdb", "--as-of", "2024-03-31"])
            .arg("--project")
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(common::output_text(&output).contains("as of 2024-03-31 (end of day"));
    }
    segc()
        .args(["run", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("yesterday, the last complete day"));
}

/// The bytes that act on a terminal: ESC (window title, clear screen), BEL, CR.
const RAW_CONTROLS: [char; 3] = ['\u{1b}', '\u{7}', '\r'];

/// Runs `segc` with `args` and checks that `expected` is printed (on stdout or stderr) and
/// that no raw control character is.
fn prints_escaped(args: &[&std::ffi::OsStr], code: i32, expected: &[&str]) {
    let output = segc().args(args).output().unwrap();
    let text = common::output_text(&output);
    assert_eq!(output.status.code(), Some(code), "{args:?}:\n{text}");
    assert!(
        !text.contains(RAW_CONTROLS),
        "{args:?} printed a raw control character:\n{text:?}"
    );
    for expected in expected {
        assert!(
            text.contains(expected),
            "{args:?}: no {expected} in\n{text}"
        );
    }
}

/// Names, labels, YAML lines and arguments holding escape sequences and carriage returns
/// are printed with those characters escaped, in messages, diagnostics and results.
#[test]
fn control_characters_reach_the_terminal_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    common::copy_project(&common::fixture("core"), &project, Some(&["sources.yml"]));
    let settings = project.join("segc_project.yml");
    let text = std::fs::read_to_string(&settings).unwrap();
    // YAML's double-quoted escapes: `\e` ESC, `\a` BEL, `\r` CR, `\u202e` right-to-left override.
    std::fs::write(
        &settings,
        text.replace("name: core_fixture", r#"name: "core \e]0;pwned\a\r\u202e""#),
    )
    .unwrap();
    let definitions = project.join("segment-defs/hostile.yml");
    let project = project.as_os_str();
    let kpis = "kpis:\n  - { name: people, agg: count, label: \"People \\e[2J\" }\n";

    std::fs::write(
        &definitions,
        format!("segments:\n  - {{ name: ok }}\n{kpis}"),
    )
    .unwrap();
    prints_escaped(
        &["validate".as_ref(), "--project".as_ref(), project],
        0,
        &[r"core \e]0;pwned\a\r\u{202e}: valid"],
    );

    // A name decoded from escapes: quoted in the message and in the YAML line.
    std::fs::write(
        &definitions,
        format!("segments:\n  - {{ name: \"x\\e]0;pwned\\a\\ry\" }}\n{kpis}"),
    )
    .unwrap();
    prints_escaped(
        &["validate".as_ref(), "--project".as_ref(), project],
        1,
        &[r"invalid segment name `x\e]0;pwned\a\ry`"],
    );

    // Raw control characters in the file: the quoted line shows them escaped, and the
    // underline sits under the character the parser points at.
    std::fs::write(
        &definitions,
        format!("segments:\n  - {{ name: ok, label: \u{7}\r\u{1b}]0;pwned }}\n{kpis}"),
    )
    .unwrap();
    let output = segc()
        .args(["validate", "--project"])
        .arg(project)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(!text.contains(RAW_CONTROLS), "{text:?}");
    let quoted = r"2 |   - { name: ok, label: \a\r\e]0;pwned }";
    let line = text.lines().position(|line| line == quoted);
    let line = line.unwrap_or_else(|| panic!("no `{quoted}` in\n{text}"));
    let caret = text.lines().nth(line + 1).unwrap();
    assert!(
        caret.trim_start_matches([' ', '|']).starts_with('^'),
        "{text}"
    );

    // Arguments quoted back by the command line parser (with or without a character left
    // over once an escape sequence is taken out) and by segc.
    for (argument, expected) in [
        ("\u{1b}]0;pwned\u{7}\r", r"'\e]0;pwned\a\r'"),
        ("\u{1b}]0;pwned\u{7}", r"'\e]0;pwned\a'"),
    ] {
        prints_escaped(
            &["compile".as_ref(), "--as-of".as_ref(), argument.as_ref()],
            2,
            &[expected],
        );
    }
    std::fs::write(
        &definitions,
        format!("segments:\n  - {{ name: ok }}\n{kpis}"),
    )
    .unwrap();
    prints_escaped(
        &[
            "compile".as_ref(),
            "--dialect".as_ref(),
            "duckdb".as_ref(),
            "--select".as_ref(),
            "no\u{1b}]0;pwned\u{7}\r".as_ref(),
            "--project".as_ref(),
            project,
        ],
        2,
        &[r"no\e]0;pwned\a\r"],
    );
}

/// `compile --output-dir` creates the folder and its missing parents.
#[test]
fn compile_output_dir_creates_missing_folders() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("review/sql/today");
    segc()
        .args(["compile", "--output-dir"])
        .arg(&folder)
        .arg("--project")
        .arg(common::repository_root())
        .assert()
        .success();
    let mut names = file_names(&folder);
    names.sort();
    assert_eq!(
        names,
        [
            "bigquery.sql",
            "duckdb.sql",
            "postgres.sql",
            "redshift.sql",
            "sqlserver.sql"
        ]
    );
}

fn file_names(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// `compile --output-dir` writes every file or none: a file it cannot write leaves no other
/// file (nor a temporary) behind, and the error names the folder and the system's reason.
#[test]
fn compile_output_dir_writes_every_file_or_none() {
    let dir = tempfile::tempdir().unwrap();
    // A folder named like the second file (duckdb.sql) is in the way.
    let blocked = dir.path().join("blocked");
    std::fs::create_dir_all(blocked.join("duckdb.sql")).unwrap();
    segc()
        .args(["compile", "--output-dir"])
        .arg(&blocked)
        .arg("--project")
        .arg(common::repository_root())
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "error: cannot write to {}",
            blocked.join("duckdb.sql").display()
        )))
        .stderr(predicate::str::contains("cannot read").not());
    assert_eq!(file_names(&blocked), ["duckdb.sql"]);

    // A folder without write permission; as root the permission bits do not stop writes,
    // and only the case above can be checked.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let read_only = dir.path().join("read-only");
        std::fs::create_dir(&read_only).unwrap();
        std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o555)).unwrap();
        let enforced = std::fs::write(read_only.join("probe"), "").is_err();
        let _ = std::fs::remove_file(read_only.join("probe"));
        if enforced {
            for dialect in [None, Some("postgres")] {
                let mut command = segc();
                command.arg("compile");
                if let Some(dialect) = dialect {
                    command.args(["--dialect", dialect]);
                }
                command
                    .arg("--output-dir")
                    .arg(&read_only)
                    .arg("--project")
                    .arg(common::repository_root())
                    .assert()
                    .code(1)
                    .stderr(predicate::str::contains(format!(
                        "error: cannot write to {}: Permission denied",
                        read_only.display()
                    )));
                assert!(file_names(&read_only).is_empty());
            }
        }
        std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[cfg(feature = "duckdb")]
mod run {
    use super::*;

    fn demo() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        segc()
            .args(["init", "--demo"])
            .arg(dir.path().join("demo"))
            .assert()
            .success();
        dir
    }

    fn column_names(json: &serde_json::Value) -> Vec<String> {
        json["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect()
    }

    /// `--out FILE` writes any output to the file, nothing to stdout; a file that cannot be
    /// written is a clear error.
    #[test]
    fn out_writes_the_output_to_a_file() {
        let dir = demo();
        let project = dir.path().join("demo");
        let csv = dir.path().join("report.csv");
        let output = segc()
            .arg("--project")
            .arg(&project)
            .args(["run", "-k", "people", "-o", "csv", "--out"])
            .arg(&csv)
            .output()
            .unwrap();
        assert!(output.status.success());
        assert!(output.stdout.is_empty());
        let text = std::fs::read_to_string(&csv).unwrap();
        assert!(
            text.starts_with("segment,parent,people\nall_users,,10000\n"),
            "{text}"
        );
        let html = dir.path().join("report.html");
        segc()
            .arg("--project")
            .arg(&project)
            .args(["run", "-k", "people", "-o", "html", "--out"])
            .arg(&html)
            .assert()
            .success()
            .stdout("");
        let page = std::fs::read_to_string(&html).unwrap();
        assert!(page.starts_with("<!DOCTYPE html>") && page.contains("data-v=\"10000\""));
        segc()
            .arg("--project")
            .arg(&project)
            .args(["run", "-k", "people", "-o", "html", "--out"])
            .arg(dir.path().join("missing/report.html"))
            .assert()
            .code(1)
            .stderr(
                predicate::str::contains("cannot write to")
                    .and(predicate::str::contains("missing/report.html")),
            );
    }

    /// A table the warehouse does not have: `run` and `explain` name the YAML source that
    /// points at it.
    #[test]
    fn a_missing_table_is_traced_to_its_source_definition() {
        let dir = demo();
        let project = dir.path().join("demo");
        let sources = project.join("segment-defs/sources.yml");
        let text = std::fs::read_to_string(&sources).unwrap();
        assert!(text.contains("    table: app.events\n"));
        std::fs::write(
            &sources,
            text.replace("    table: app.events\n", "    table: app.event_log\n"),
        )
        .unwrap();
        let where_defined = "source `events` (segment-defs/sources.yml:38, table app.event_log)";
        segc()
            .args(["run", "--project"])
            .arg(&project)
            .assert()
            .failure()
            .stderr(predicate::str::contains("event_log"))
            .stderr(predicate::str::contains(format!(
                "defined as {where_defined}"
            )));
        segc()
            .args(["explain", "at_risk", "--project"])
            .arg(&project)
            .assert()
            .failure()
            .stdout(predicate::str::contains(
                "events               cannot be read (source defined at segment-defs/sources.yml:38, table app.event_log)",
            ))
            .stdout(predicate::str::is_match(r"orders +\d+").unwrap())
            .stderr(predicate::str::contains(format!("defined as {where_defined}")));
    }

    #[test]
    fn kpis_picks_the_columns_and_keeps_their_values() {
        let dir = demo();
        let project = dir.path().join("demo");
        let full = common::run_json::<&str>(&project, &[]);
        // A ratio without the KPIs it divides, and a share of total, named out of file order.
        let picked = common::run_json(
            &project,
            &["--kpis", "avg_order_value,people", "-k", "revenue_share"],
        );
        let names = column_names(&picked);
        let position = |name: &str| column_names(&full).iter().position(|c| c == name).unwrap();
        let mut expected = vec!["people", "avg_order_value", "revenue_share"];
        expected.sort_by_key(|name| position(name));
        assert_eq!(names, expected, "file order");
        let (full_rows, picked_rows) = (
            full["rows"].as_array().unwrap(),
            picked["rows"].as_array().unwrap(),
        );
        assert_eq!(full_rows.len(), picked_rows.len());
        for (a, b) in full_rows.iter().zip(picked_rows) {
            assert_eq!(a["segment"], b["segment"]);
            assert!(
                b.get("revenue_period").is_none(),
                "unpicked KPIs are not shown"
            );
            for name in &expected {
                assert!(
                    common::same_json_value(&a[*name], &b[*name]),
                    "{} {name}: {} in the full report, {} when picked",
                    a["segment"],
                    a[*name],
                    b[*name]
                );
            }
        }
        let compared =
            common::run_json(&project, &["--kpis", "people", "--compare", "prior_period"]);
        assert_eq!(
            column_names(&compared),
            [
                "people",
                "people__prior",
                "people__change",
                "people__change_pct"
            ]
        );
        segc()
            .args(["run", "--kpis", "revenue_shar", "--project"])
            .arg(&project)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(
                "--kpis names unknown KPIs: `revenue_shar`",
            ))
            .stderr(predicate::str::contains("revenue_share"));
    }

    #[test]
    fn table_json_and_csv_print_the_same_numbers() {
        let dir = demo();
        let project = dir.path().join("demo");
        let json = segc()
            .args(["run", "--output", "json", "--project"])
            .arg(&project)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(json["project"], "saas_demo");
        assert_eq!(json["as_of"], "2026-10-31");
        let rows = json["rows"].as_array().unwrap();
        assert_eq!(rows[0]["segment"], "all_users");
        let people = rows[0]["people"].as_i64().unwrap();
        assert!(people > 5000 && people <= 10_000, "{people}");
        let csv = segc()
            .args(["run", "--output", "csv", "--project"])
            .arg(&project)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let csv = String::from_utf8(csv).unwrap();
        let mut lines = csv.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        assert_eq!(&header[..3], ["segment", "parent", "people"]);
        let first: Vec<&str> = lines.next().unwrap().split(',').collect();
        assert_eq!(first[0], "all_users");
        assert_eq!(first[2].parse::<i64>().unwrap(), people);
        assert_eq!(csv.lines().count(), rows.len() + 1);
        let table = segc()
            .args(["run", "--project"])
            .arg(&project)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let table = String::from_utf8(table).unwrap();
        let grouped = format!("{},{:03}", people / 1000, people % 1000);
        assert!(
            table.contains(&grouped),
            "the table shows {grouped}:\n{table}"
        );
        assert!(
            table.contains("└ "),
            "children are indented under their parent:\n{table}"
        );
        assert!(table.contains('%'), "percents are formatted:\n{table}");
    }

    #[test]
    fn explain_shows_sources_and_each_condition() {
        let dir = demo();
        let project = dir.path().join("demo");
        segc()
            .args(["explain", "at_risk", "--project"])
            .arg(&project)
            .assert()
            .success()
            .stdout(
                predicate::str::contains("events")
                    .and(predicate::str::contains("1. monthly_activity: { gt: 0 }"))
                    .and(predicate::str::contains("3. none: [in_segment: new_users]")),
            );
        // The example project's deliberately empty segment: the third condition removes everyone.
        segc()
            .args(["explain", "new_free_whales", "--project"])
            .arg(&project)
            .assert()
            .success()
            .stdout(
                predicate::str::is_match(
                    r"3\. monthly_spend: \{ gte: 1000 \} +\d+ pass +0 left  ← no one is left",
                )
                .unwrap(),
            );
        segc()
            .args(["explain", "at_rsk", "--project"])
            .arg(&project)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("at_risk"));
    }

    /// A table's labels come from the definitions: their control characters are printed
    /// escaped, while the JSON output keeps them exactly.
    #[test]
    fn the_table_escapes_control_characters_in_labels() {
        let dir = demo();
        let project = dir.path().join("demo");
        std::fs::write(
            project.join("segment-defs/hostile.yml"),
            "segments:\n  - { name: hostile, label: \"Evil \\e]0;pwned\\a\\r\\u202e\" }\n",
        )
        .unwrap();
        let kpis = project.join("segment-defs/kpis.yml");
        let text = std::fs::read_to_string(&kpis).unwrap();
        assert!(text.contains("label: \"People\""));
        std::fs::write(
            &kpis,
            text.replace("label: \"People\"", "label: \"People \\e[2J\\r\""),
        )
        .unwrap();
        let output = segc()
            .args([
                "run",
                "--select",
                "hostile",
                "--kpis",
                "people",
                "--project",
            ])
            .arg(&project)
            .output()
            .unwrap();
        let table = common::output_text(&output);
        assert!(output.status.success(), "{table}");
        assert!(!table.contains(RAW_CONTROLS), "{table:?}");
        assert!(table.contains(r"Evil \e]0;pwned\a\r\u{202e}"), "{table}");
        assert!(table.contains(r"People \e[2J\r"), "{table}");
        let json = common::run_json(&project, &["--select", "hostile", "--kpis", "people"]);
        assert_eq!(json["columns"][0]["label"], "People \u{1b}[2J\r");
    }

    /// Rule 16: the same data and arguments print the same bytes on every rerun, though the
    /// warehouse adds double sums in parallel in no fixed order.
    #[test]
    fn reruns_print_byte_identical_output() {
        let dir = demo();
        let project = dir.path().join("demo");
        for output in ["csv", "json", "table"] {
            let print = || {
                segc()
                    .args(["run", "--output", output, "--project"])
                    .arg(&project)
                    .assert()
                    .success()
                    .get_output()
                    .stdout
                    .clone()
            };
            let first = print();
            let reruns = if output == "csv" { 4 } else { 2 };
            for _ in 0..reruns {
                assert!(print() == first, "a rerun printed other {output} bytes");
            }
        }
        let compare = || {
            segc()
                .args([
                    "run",
                    "--output",
                    "csv",
                    "--compare",
                    "prior_year",
                    "--project",
                ])
                .arg(&project)
                .assert()
                .success()
                .get_output()
                .stdout
                .clone()
        };
        let first = compare();
        assert!(compare() == first, "a rerun printed other changes");
    }

    /// A run without an as-of day says which day it chose: the last complete day.
    #[test]
    fn a_run_without_as_of_names_the_day_it_reports() {
        let dir = demo();
        let project = dir.path().join("demo");
        project_without_as_of(&project, &project, "UTC");
        let before = yesterday_in("UTC");
        let table = segc()
            .args(["run", "--kpis", "people", "--project"])
            .arg(&project)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let json = common::run_json(&project, &["--kpis", "people"]);
        let after = yesterday_in("UTC");
        let table = String::from_utf8(table).unwrap();
        let first = table.lines().next().unwrap_or_default();
        assert!(
            [before, after].iter().any(|day| first
                == format!(
                    "saas_demo as of {day} (yesterday, the last complete day in UTC) on local"
                )),
            "{first}"
        );
        let as_of = json["as_of"].as_str().unwrap().to_string();
        assert!(
            [before, after].iter().any(|day| day.to_string() == as_of),
            "{as_of}"
        );
        // A day that was asked for needs no words.
        let table = segc()
            .args([
                "run",
                "--kpis",
                "people",
                "--as-of",
                "2026-10-31",
                "--project",
            ])
            .arg(&project)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        assert!(
            String::from_utf8(table)
                .unwrap()
                .starts_with("saas_demo as of 2026-10-31 on local\n")
        );
    }

    #[test]
    fn init_refuses_a_folder_that_is_not_empty() {
        let dir = demo();
        segc()
            .args(["init"])
            .arg(dir.path().join("demo"))
            .assert()
            .code(2);
    }

    #[test]
    fn a_starter_project_validates() {
        let dir = tempfile::tempdir().unwrap();
        segc()
            .args(["init"])
            .arg(dir.path().join("p"))
            .assert()
            .success();
        segc()
            .args(["validate", "--project"])
            .arg(dir.path().join("p"))
            .assert()
            .success();
    }
}

/// Every command, on targets of every type whose secrets are set, with servers that cannot be
/// reached (so the error paths run too): no secret appears in any output.
#[test]
fn no_secret_appears_in_any_output_of_any_command() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    common::copy_project(&common::repository_root(), &project, None);
    let secrets = [
        "Pg-S3cret-1",
        "Rs-S3cret-2",
        "Bq-Token-3",
        "Bq-Key-4",
        "Ms-S3cret-5",
        "Ms-Ado-6",
        "Ms-Token-7",
    ];
    // Port 9 (discard) on loopback refuses connections.
    let profiles = format!(
        "pg: {{ type: postgres, host: 127.0.0.1, port: 9, user: u, password: \"{{{{ env_var('SEGC_SECRET_PG') }}}}\", sslmode: disable, connect_timeout: 2 }}\n\
         rs: {{ type: redshift, host: 127.0.0.1, port: 9, user: u, password: \"{}\", connect_timeout: 2 }}\n\
         bq: {{ type: bigquery, project: p, endpoint: \"http://127.0.0.1:9\", access_token: \"{}\" }}\n\
         bq_key: {{ type: bigquery, project: p, keyfile_json: '{{\"type\": \"service_account\", \"private_key\": \"{}\"}}' }}\n\
         mssql: {{ type: sqlserver, host: 127.0.0.1, port: 9, user: u, password: \"{}\" }}\n\
         mssql_ado: {{ type: sqlserver, connection_string: \"Server=tcp:127.0.0.1,9;User Id=u;Password={}\" }}\n\
         mssql_aad: {{ type: sqlserver, host: 127.0.0.1, port: 9, access_token: \"{}\" }}\n",
        secrets[1], secrets[2], secrets[3], secrets[4], secrets[5], secrets[6]
    );
    std::fs::write(project.join("profiles.yml"), profiles).unwrap();
    let targets = [
        "pg",
        "rs",
        "bq",
        "bq_key",
        "mssql",
        "mssql_ado",
        "mssql_aad",
    ];
    let mut commands: Vec<Vec<String>> = vec![
        vec!["targets".into()],
        vec!["validate".into()],
        vec!["--help".into()],
        vec!["run".into(), "--help".into()],
    ];
    for target in targets {
        commands.push(vec!["targets".into(), "--check".into(), target.into()]);
        commands.push(vec!["compile".into(), "--target".into(), target.into()]);
        commands.push(vec!["run".into(), "--target".into(), target.into()]);
        commands.push(vec![
            "explain".into(),
            "active".into(),
            "--target".into(),
            target.into(),
        ]);
        commands.push(vec![
            "sources".into(),
            "--refresh".into(),
            "--target".into(),
            target.into(),
        ]);
    }
    commands.push(vec![
        "compile".into(),
        "--target".into(),
        "bq".into(),
        "--estimate".into(),
    ]);
    for command in commands {
        let output = segc()
            .arg("--project")
            .arg(&project)
            .args(&command)
            .env("SEGC_SECRET_PG", secrets[0])
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap();
        let text = common::output_text(&output);
        for secret in secrets {
            assert!(
                !text.contains(secret),
                "`segc {}` printed a secret:\n{text}",
                command.join(" ")
            );
        }
        if command[0] == "targets" && command.len() == 1 {
            assert!(text.contains("password: ****"), "{text}");
            assert!(text.contains("connection_string: ****"), "{text}");
        }
        if command.len() > 2 && command[1] == "--check" {
            assert!(
                !output.status.success(),
                "{} reached a closed port",
                command[2]
            );
        }
    }
}

/// A reader that went away (`segc … | head -1`, a closed log) ends segc quietly with 141, as
/// SIGPIPE ends other programs, instead of a panic.
#[test]
fn a_closed_output_pipe_ends_segc_quietly() {
    use std::process::{Command, Stdio};
    // A pipe whose reader is gone before segc starts: every write fails.
    let closed = || {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        Stdio::from(writer)
    };
    let root = common::repository_root();
    let status = Command::new(assert_cmd::cargo::cargo_bin("segc"))
        .args(["validate", "--project", "/nonexistent/segc-project"])
        .stdout(Stdio::null())
        .stderr(closed())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(141), "stderr closed");
    let output = Command::new(assert_cmd::cargo::cargo_bin("segc"))
        .args(["compile", "--dialect", "sqlserver", "--project"])
        .arg(&root)
        .stdout(closed())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(141), "stdout closed: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
