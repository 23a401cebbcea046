//! The `segc` command line on the example project: exit codes, output formats, help.

mod common;

#[path = "cli/artifacts.rs"]
mod artifacts;

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
/// longer. `compile` warns; `run` refuses before connecting, and `overlap` before sending.
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
    // `segc overlap` counts the same segment against itself: the same long condition.
    for command in ["run", "overlap"] {
        segc()
            .args([command, "--target", "bq", "--profiles-dir"])
            .arg(dir.path())
            .arg("--project")
            .arg(&project)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("bigquery accepts at most 1.0 MiB"))
            .stderr(predicate::str::contains(
                "fewer KPIs (--kpis) or fewer segments (--select)",
            ))
            .stderr(predicate::str::contains("127.0.0.1:9").not());
    }
}

#[test]
fn bad_command_lines_exit_with_2() {
    segc().arg("frobnicate").assert().code(2);
    // `overlap` offers only the outputs it prints.
    segc()
        .args(["overlap", "-o", "html"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "[possible values: table, csv, json]",
        ));
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

/// A target name profiles.yml does not hold: from `--target` a bad command line (2), from the
/// project's `default_target` a mistake in the project (1); both name the file and the likely
/// target.
#[test]
fn an_unknown_target_is_a_bad_command_line_unless_the_project_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("p");
    common::copy_project(&common::repository_root(), &project, None);
    std::fs::write(
        dir.path().join("profiles.yml"),
        "local: { type: duckdb, path: \"w.duckdb\" }\n",
    )
    .unwrap();
    for command in [
        &["run", "--target", "locl"][..],
        &["compile", "--target", "locl"],
        &["explain", "active", "--target", "locl"],
        &["targets", "--check", "locl"],
    ] {
        segc()
            .args(command)
            .arg("--profiles-dir")
            .arg(dir.path())
            .arg("--project")
            .arg(&project)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("no target `locl` in"))
            .stderr(predicate::str::contains("did you mean `local`?"));
    }
    let file = project.join("segc_project.yml");
    let text = std::fs::read_to_string(&file).unwrap();
    let mut named = String::new();
    for line in text.lines() {
        if !line.starts_with("default_target:") {
            named.push_str(line);
            named.push('\n');
        }
    }
    named.push_str("default_target: locl\n");
    std::fs::write(&file, named).unwrap();
    for command in ["run", "compile"] {
        segc()
            .arg(command)
            .arg("--profiles-dir")
            .arg(dir.path())
            .arg("--project")
            .arg(&project)
            .assert()
            .code(1)
            .stderr(predicate::str::contains(
                "the default_target of segc_project.yml: no target `locl` in",
            ));
    }
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

/// Flow KPIs read the membership history where `segc snapshot` writes it: on BigQuery a bare
/// table name is in the target's dataset, so the statement names the dataset and needs no
/// default one (which an emulator, or a job without it, would not have); a target's own
/// `history_table` wins; without a dataset the name stays bare.
#[test]
fn a_target_s_history_table_is_read_where_snapshot_writes_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("profiles.yml"),
        "bq: { type: bigquery, project: p, dataset: analytics }\n\
         bq_own: { type: bigquery, project: p, dataset: analytics, history_table: hist.members }\n\
         bq_bare: { type: bigquery, project: p }\n\
         pg: { type: postgres, host: h, user: u, database: d, history_table: segc.members }\n",
    )
    .unwrap();
    let compiled = |target: &str| {
        let output = segc()
            .args(["compile", "--target", target, "-k", "entered", "--project"])
            .arg(common::repository_root())
            .arg("--profiles-dir")
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{target}: {}",
            common::output_text(&output)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    for (target, table) in [
        ("bq", "`analytics`.`segc_membership`"),
        ("bq_own", "`hist`.`members`"),
        ("bq_bare", "JOIN `segc_membership` AS"),
        ("pg", "\"segc\".\"members\""),
    ] {
        let sql = compiled(target);
        assert!(sql.contains(table), "{target}: {table} in\n{sql}");
    }
}

#[test]
fn compile_needs_no_profile_with_a_dialect() {
    let dir = tempfile::tempdir().unwrap();
    // The example project without its profiles.yml, and none anywhere else.
    let project = dir.path().join("project");
    common::copy_project(&common::repository_root(), &project, None);
    segc()
        .args([
            "compile",
            "--dialect",
            "duckdb",
            "--select",
            "active",
            "--project",
        ])
        .arg(&project)
        .env("HOME", dir.path())
        .env_remove("SEGC_PROFILES_DIR")
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
    // underline sits under the character the parser points at. (A carriage return would end
    // the line, as YAML reads it.)
    std::fs::write(
        &definitions,
        format!("segments:\n  - {{ name: ok, label: \u{7}\u{8}\u{1b}]0;pwned }}\n{kpis}"),
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
    let quoted = r"2 |   - { name: ok, label: \a\b\e]0;pwned }";
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

    pub(super) fn demo() -> tempfile::TempDir {
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

    /// `segc overlap` agrees with `segc run`: its diagonal and all_users column are the
    /// `people` each segment has, a drill-down lies inside its parent, and the matrix is
    /// symmetric; the counts come from the warehouse, not from user rows.
    #[test]
    fn overlap_agrees_with_the_reports_member_counts() {
        let dir = demo();
        let project = dir.path().join("demo");
        let select = ["--select", "paying+,churned,at_risk"];
        let people = common::run_json(&project, &[&["-k", "people"][..], &select[..]].concat());
        let matrix = common::command_json("overlap", &project, &select);
        let rows = matrix["rows"].as_array().unwrap();
        let names: Vec<&str> = rows
            .iter()
            .map(|r| r["segment"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            people["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["segment"].as_str().unwrap())
                .collect::<Vec<_>>()
        );
        for (row, reported) in rows.iter().zip(people["rows"].as_array().unwrap()) {
            let name = row["segment"].as_str().unwrap();
            assert_eq!(
                row[name], reported["people"],
                "{name}: size on the diagonal"
            );
            assert_eq!(
                row["all_users"], reported["people"],
                "{name}: all_users column"
            );
            for other in &names {
                let back = rows.iter().find(|r| r["segment"] == *other).unwrap();
                assert_eq!(row[*other], back[name], "{name} and {other}");
                assert!(row[*other].as_i64().unwrap() <= row[name].as_i64().unwrap());
            }
            if let Some(parent) = row["parent"].as_str() {
                assert_eq!(row[parent], row[name], "{name} lies inside {parent}");
            }
        }
        assert!(
            rows.iter().any(|r| r["parent"].is_string()),
            "drill-downs covered"
        );
    }

    /// The demo records the history days a comparison a year back reads, each period's and
    /// the day before each, not the year between them; the report then runs.
    #[test]
    fn the_demo_records_only_the_days_a_comparison_reads() {
        let dir = demo();
        let project = dir.path().join("demo");
        let output = segc()
            .args([
                "run",
                "-k",
                "entered",
                "-s",
                "churned",
                "--compare",
                "prior_year",
            ])
            .args(["--period", "2026-10-01..2026-10-31", "--project"])
            .arg(&project)
            .output()
            .unwrap();
        let text = common::output_text(&output);
        assert!(output.status.success(), "{text}");
        assert!(
            text.contains(
                "lacks days of 2025-09-30..2025-10-31, 2026-09-30..2026-10-31: recording 64 day(s) once"
            ),
            "{text}"
        );
    }

    /// Days the demo recorded for one report stay recorded when a later report needs the
    /// days on both sides of them: each stretch of missing days is recorded on its own (one
    /// statement over both replaced the days between them, and the report then failed), and
    /// the numbers equal a fresh demo's.
    #[test]
    fn the_demo_keeps_the_days_between_two_stretches_it_records() {
        let run = |project: &std::path::Path, period: &str| {
            let output = segc()
                .args(["run", "-k", "entered,left", "-s", "new_users", "-o", "csv"])
                .args(["--period", period, "--project"])
                .arg(project)
                .output()
                .unwrap();
            let text = common::output_text(&output);
            assert!(output.status.success(), "{period}: {text}");
            (String::from_utf8(output.stdout).unwrap(), text)
        };
        let dir = demo();
        let project = dir.path().join("demo");
        run(&project, "2026-05-11..2026-05-20");
        let (may, text) = run(&project, "2026-05-01..2026-05-31");
        assert!(
            text.contains(
                "lacks days of 2026-04-30..2026-05-09, 2026-05-21..2026-05-31: recording 21 day(s) once"
            ),
            "{text}"
        );
        let fresh = demo();
        let (alone, _) = run(&fresh.path().join("demo"), "2026-05-01..2026-05-31");
        assert_eq!(may, alone);
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
            text.starts_with(
                "as_of,period_start,period_end,segment,parent,people\n\
                 2026-10-31,2026-10-02,2026-10-31,all_users,,10000\n"
            ),
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

    /// `--out` never replaces what the report is made from: the warehouse's database, the
    /// profiles, the project's YAML. Each is left byte for byte, and nothing runs.
    #[test]
    fn out_refuses_to_replace_the_database_and_the_project_files() {
        let dir = demo();
        let project = dir.path().join("demo");
        segc()
            .arg("--project")
            .arg(&project)
            .args(["run", "-k", "people", "-o", "csv"])
            .assert()
            .success();
        let database = project.join("target/demo.duckdb");
        let kept = [
            (database.clone(), "it is a DuckDB database"),
            (project.join("profiles.yml"), "it is the project's"),
            (project.join("segc_project.yml"), "it is the project's"),
            (
                project.join("segment-defs/kpis.yml"),
                "it is a YAML file of the project",
            ),
        ];
        for (path, says) in kept {
            let before = std::fs::read(&path).unwrap();
            segc()
                .arg("--project")
                .arg(&project)
                .args(["run", "-k", "people", "-o", "csv", "--out"])
                .arg(&path)
                .assert()
                .code(1)
                .stderr(predicate::str::contains(says).and(predicate::str::contains(
                    "the report would replace it; name another file",
                )));
            assert!(
                std::fs::read(&path).unwrap() == before,
                "{}",
                path.display()
            );
        }
        // A hard link elsewhere is the same file; a database's log is part of it.
        let hard = dir.path().join("hard.csv");
        std::fs::hard_link(project.join("segc_project.yml"), &hard).unwrap();
        let wal = project.join("target/demo.duckdb.wal");
        for (path, says) in [
            (&hard, "it is the project's"),
            (&wal, "it is the log of the database"),
        ] {
            segc()
                .arg("--project")
                .arg(&project)
                .args(["run", "-k", "people", "-o", "csv", "--out"])
                .arg(path)
                .assert()
                .code(1)
                .stderr(predicate::str::contains(says));
        }
        assert!(!wal.exists());
        assert!(
            std::fs::read_to_string(&hard)
                .unwrap()
                .contains("name: saas_demo")
        );
        // The same database copied elsewhere is known by its header.
        let copy = dir.path().join("copy.db");
        std::fs::copy(&database, &copy).unwrap();
        segc()
            .arg("--project")
            .arg(&project)
            .args(["run", "-k", "people", "-o", "csv", "--out"])
            .arg(&copy)
            .assert()
            .code(1)
            .stderr(predicate::str::contains("it is a DuckDB database"));
    }

    /// Output that cannot be written (a full disk) is an error with exit code 1, not a crash;
    /// `--profiles-dir` or `$SEGC_PROFILES_DIR` naming no profiles is an error, not a fall back
    /// to other profiles.
    #[test]
    fn a_full_disk_and_a_wrong_profiles_dir_are_errors() {
        let dir = demo();
        let project = dir.path().join("demo");
        for args in [
            &["validate"][..],
            &["schema"],
            &["completions", "bash"],
            &["list"],
            &["compile", "--dialect", "duckdb"],
            &["run", "-k", "people"],
            &["--help"],
            &["run", "--help"],
            &["--version"],
        ] {
            let full = std::fs::File::create("/dev/full").unwrap();
            let output = std::process::Command::new(assert_cmd::cargo::cargo_bin("segc"))
                .arg("--project")
                .arg(&project)
                .args(args)
                .stdout(full)
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
            assert!(
                stderr.contains("cannot write to standard output: No space left on device"),
                "{args:?}: {stderr}"
            );
            assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        }
        // A reader gone before the help is written (`segc --help | head`): no error.
        for args in [&["--help"][..], &["--version"]] {
            let (reader, writer) = std::io::pipe().unwrap();
            drop(reader);
            let output = std::process::Command::new(assert_cmd::cargo::cargo_bin("segc"))
                .args(args)
                .stdout(writer)
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
            assert_eq!(stderr, "", "{args:?}");
        }
        for missing in [dir.path().join("nowhere"), project.join("segment-defs")] {
            segc()
                .arg("--project")
                .arg(&project)
                .arg("--profiles-dir")
                .arg(&missing)
                .arg("targets")
                .assert()
                .code(2)
                .stderr(predicate::str::contains("--profiles-dir: "));
            // The variable too: the project's own profiles are not read in its place.
            segc()
                .arg("--project")
                .arg(&project)
                .env("SEGC_PROFILES_DIR", &missing)
                .arg("targets")
                .assert()
                .code(2)
                .stderr(predicate::str::contains("$SEGC_PROFILES_DIR: "));
            // A folder named on the command line is read before the variable.
            segc()
                .arg("--project")
                .arg(&project)
                .arg("--profiles-dir")
                .arg(&project)
                .env("SEGC_PROFILES_DIR", &missing)
                .arg("targets")
                .assert()
                .success();
            // Commands that reach no warehouse do not read profiles, so a job's variable
            // pointing elsewhere does not fail them.
            for args in [
                &["schema"][..],
                &["validate"],
                &["list"],
                &["completions", "bash"],
            ] {
                segc()
                    .arg("--project")
                    .arg(&project)
                    .env("SEGC_PROFILES_DIR", &missing)
                    .args(args)
                    .assert()
                    .success();
            }
        }
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
        // Line 40 of the example's sources.yml, one lower in a copy: `init` adds the schema line.
        let where_defined = "source `events` (segment-defs/sources.yml:41, table app.event_log)";
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
                "events               cannot be read (source defined at segment-defs/sources.yml:41, table app.event_log)",
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
        let expected = vec!["avg_order_value", "people", "revenue_share"];
        assert!(
            position("avg_order_value") > position("people"),
            "named out of file order"
        );
        assert_eq!(names, expected, "the order given");
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

    /// `--layout wide`: a row per segment and KPI, a column per month, holding what the JSON
    /// output reports for that month; only with --grain month, and not for JSON.
    #[test]
    fn the_wide_layout_has_a_column_per_month() {
        let dir = demo();
        let project = dir.path().join("demo");
        let months = ["--grain", "month", "--from", "2026-01", "--to", "2026-03"];
        let picked = ["-k", "pct_active,people", "-s", "paying+"];
        let json = common::run_json(&project, &[&months[..], &picked[..]].concat());
        let csv = segc()
            .args(["run", "-o", "csv", "--layout", "wide", "--project"])
            .arg(&project)
            .args(months)
            .args(picked)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let csv = String::from_utf8(csv).unwrap();
        let mut lines = csv.lines();
        assert_eq!(
            lines.next(),
            Some("segment,parent,kpi,2026-01,2026-02,2026-03")
        );
        let periods = json["periods"].as_array().unwrap();
        let segments = periods[0]["rows"].as_array().unwrap().len();
        let records: Vec<Vec<&str>> = lines.map(|line| line.split(',').collect()).collect();
        assert_eq!(records.len(), 2 * segments, "{csv}");
        for (index, record) in records.iter().enumerate() {
            let (kpi, row) = (["pct_active", "people"][index / segments], index % segments);
            assert_eq!(record[0], periods[0]["rows"][row]["segment"]);
            assert_eq!(record[2], kpi);
            for (month, period) in periods.iter().enumerate() {
                let reported = &period["rows"][row][kpi];
                let value: f64 = record[3 + month].parse().unwrap();
                assert_eq!(Some(value), reported.as_f64(), "{kpi} {record:?}");
            }
        }
        segc()
            .args(["run", "-o", "json", "--layout", "wide", "--project"])
            .arg(&project)
            .args(months)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(
                "--layout wide is for --output table and csv",
            ));
        segc()
            .args(["run", "--layout", "wide", "--project"])
            .arg(&project)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("--grain"));
    }

    /// `--select` keeps the order given (`all_users` first, a drill-down under its parent).
    #[test]
    fn select_keeps_the_order_given() {
        let dir = demo();
        let project = dir.path().join("demo");
        let full = common::run_json(&project, &["-k", "people"]);
        let order = |json: &serde_json::Value| -> Vec<String> {
            json["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|row| row["segment"].as_str().unwrap().to_string())
                .collect()
        };
        let file_order = order(&full);
        let position = |name: &str| file_order.iter().position(|s| s == name).unwrap();
        assert!(position("repeat_buyers") > position("paying"));
        let picked = common::run_json(&project, &["-k", "people", "-s", "repeat_buyers,paying+"]);
        assert_eq!(
            order(&picked),
            [
                "all_users",
                "repeat_buyers",
                "paying",
                "big_spenders",
                "small_spenders"
            ]
        );
    }

    /// The JSON output's `format` says what a column holds: a KPI that is a date, a
    /// timestamp or a string is not called a number.
    #[test]
    fn the_json_columns_name_the_format_of_what_they_hold() {
        let dir = demo();
        let project = dir.path().join("demo");
        std::fs::write(
            project.join("segment-defs/zz_kinds.yml"),
            "attributes:\n  zz_seen: { source: events, agg: max, column: time }\n\
             kpis:\n  - { name: zz_first_signup, agg: min, of: signup_date }\n  \
             - { name: zz_last_seen, agg: max, of: zz_seen }\n  \
             - { name: zz_country, agg: max, of: country }\n  \
             - { name: zz_share, ratio: [zz_people, zz_people], format: percent }\n  \
             - { name: zz_people, agg: count }\n",
        )
        .unwrap();
        let json = common::run_json(
            &project,
            &[
                "-k",
                "zz_first_signup,zz_last_seen,zz_country,zz_share,zz_people",
            ],
        );
        let formats: Vec<(&str, &str)> = json["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["name"].as_str().unwrap(), c["format"].as_str().unwrap()))
            .collect();
        assert_eq!(
            formats,
            [
                ("zz_first_signup", "date"),
                ("zz_last_seen", "timestamp"),
                ("zz_country", "text"),
                ("zz_share", "percent"),
                ("zz_people", "integer")
            ]
        );
        let row = &json["rows"][0];
        assert!(
            row["zz_first_signup"].as_str().unwrap().len() == 10,
            "{row}"
        );
        assert!(
            row["zz_last_seen"].as_str().unwrap().ends_with('Z'),
            "{row}"
        );
    }

    /// Columns are ordered by definitions file (by path in the definitions folder), then by
    /// place in the file: a new file adds its KPIs where its name sorts, and the columns
    /// already there keep their order.
    #[test]
    fn a_new_definitions_file_keeps_the_order_of_the_columns_there() {
        let dir = demo();
        let project = dir.path().join("demo");
        let before = column_names(&common::run_json::<&str>(&project, &[]));
        std::fs::write(
            project.join("segment-defs/00_first.yml"),
            "kpis:\n  - { name: people_again, label: People again, agg: count }\n",
        )
        .unwrap();
        std::fs::write(
            project.join("segment-defs/zz_last.yml"),
            "kpis:\n  - { name: people_last, label: People last, agg: count }\n",
        )
        .unwrap();
        let after = column_names(&common::run_json::<&str>(&project, &[]));
        assert_eq!(after.first().map(String::as_str), Some("people_again"));
        assert_eq!(after.last().map(String::as_str), Some("people_last"));
        assert_eq!(after[1..after.len() - 1], before[..]);
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
        assert_eq!(
            &header[..6],
            [
                "as_of",
                "period_start",
                "period_end",
                "segment",
                "parent",
                "people"
            ]
        );
        let first: Vec<&str> = lines.next().unwrap().split(',').collect();
        // The demo's activity window is 30 days: the period ends on the as-of day.
        assert_eq!(first[..3], ["2026-10-31", "2026-10-02", "2026-10-31"]);
        assert_eq!(first[3], "all_users");
        assert_eq!(first[5].parse::<i64>().unwrap(), people);
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
        // Its types are all declared, so it compiles with no warehouse for every dialect.
        for dialect in ["duckdb", "postgres", "redshift", "bigquery", "sqlserver"] {
            segc()
                .args(["compile", "--dialect", dialect, "--project"])
                .arg(dir.path().join("p"))
                .assert()
                .success();
        }
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
            "--log-format".into(),
            "json".into(),
            "run".into(),
            "--target".into(),
            target.into(),
        ]);
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
    // Nor in any artifact the runs left: the record of the last run and each statement.
    let mut artifacts = vec![project.join("target")];
    let mut read = 0;
    while let Some(path) = artifacts.pop() {
        if path.is_dir() {
            artifacts.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        for secret in secrets {
            assert!(
                !text.contains(secret),
                "{} holds a secret:\n{text}",
                path.display()
            );
        }
        read += 1;
    }
    assert!(
        read > targets.len(),
        "run_results.json and a statement per target"
    );
}

/// A reader of standard output that went away (`segc … | head -1`) ends segc quietly with 141,
/// as SIGPIPE ends other programs, instead of a panic; a closed log (stderr) loses the log,
/// and the exit code still tells how the command ended.
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
    assert_eq!(status.code(), Some(2), "stderr closed: no project folder");
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

/// First steps: a new project runs as created, and editors and shells get what they need.
#[cfg(feature = "duckdb")]
mod first_steps {
    use super::*;

    /// `segc` as on a machine that never ran it: an empty home, no profiles folder set.
    fn fresh(home: &std::path::Path) -> Command {
        let mut command = segc();
        command
            .env("HOME", home)
            .env_remove("SEGC_PROFILES_DIR")
            .env_remove("CARGO_TARGET_DIR");
        command
    }

    #[test]
    fn init_then_run_works_on_a_fresh_machine() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir(&home).unwrap();
        fresh(&home)
            .current_dir(dir.path())
            .args(["init", "x"])
            .assert()
            .success()
            .stdout(predicate::str::contains("next: cd x && segc run"));
        let project = dir.path().join("x");
        let output = fresh(&home)
            .current_dir(&project)
            .arg("run")
            .output()
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        );
        assert!(output.status.success(), "{stdout}\n{stderr}");
        assert!(stdout.starts_with("my_project as of 2026-10-31 on local\n"));
        // 10,000 demo users, and the starter's one segment with its members.
        assert!(stdout.contains("10,000"), "{stdout}");
        assert!(stdout.contains("Active in the activity window"), "{stdout}");
        // The demo data reaches the starter's as-of day: no freshness warning.
        assert!(!stderr.contains("newest row"), "{stderr}");
        assert!(project.join("target/demo.duckdb").is_file());
        // "Active" is the project's activity window: a shorter window has fewer active people.
        let active_people = || -> u64 {
            let output = fresh(&home)
                .current_dir(&project)
                .args(["run", "--output", "json"])
                .output()
                .unwrap();
            assert!(output.status.success(), "{output:?}");
            let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
            let row = report["rows"]
                .as_array()
                .unwrap()
                .iter()
                .find(|row| row["segment"] == "all_users")
                .unwrap_or_else(|| panic!("no all_users row: {report}"))
                .clone();
            row["active_people"].as_u64().unwrap()
        };
        let month = active_people();
        let settings = project.join("segc_project.yml");
        let text = std::fs::read_to_string(&settings).unwrap();
        assert!(text.contains("activity_window: 30d"), "{text}");
        std::fs::write(
            &settings,
            text.replace("activity_window: 30d", "activity_window: 1d"),
        )
        .unwrap();
        let day = active_people();
        assert!(0 < day && day < month, "1 day: {day}, 30 days: {month}");
    }

    #[test]
    fn what_segc_writes_is_ignored_by_git() {
        let Ok(git) = std::process::Command::new("git").arg("--version").output() else {
            eprintln!("skipped: git is not installed");
            return;
        };
        assert!(git.status.success());
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("p");
        segc().arg("init").arg(&project).assert().success();
        segc().current_dir(&project).arg("run").assert().success();
        let git = |args: &[&str]| {
            let output = std::process::Command::new("git")
                .current_dir(&project)
                .args(args)
                .output()
                .unwrap();
            assert!(output.status.success(), "git {args:?}");
            String::from_utf8(output.stdout).unwrap()
        };
        git(&["init", "-q"]);
        let untracked = git(&["status", "--porcelain", "--untracked-files=all"]);
        let mut files: Vec<&str> = untracked.lines().map(|l| &l[3..]).collect();
        files.sort();
        assert_eq!(
            files,
            [
                ".gitignore",
                "profiles.yml",
                "segc.schema.json",
                "segc_project.yml",
                "segment-defs/definitions.yml"
            ]
        );
    }

    /// Every YAML file `init` writes that the schema covers names the schema file `init`
    /// wrote, which is what `segc schema` prints.
    #[test]
    fn init_wires_the_schema_into_every_definitions_file() {
        let schema = segc().arg("schema").output().unwrap().stdout;
        let parsed: serde_json::Value = serde_json::from_slice(&schema).unwrap();
        assert_eq!(
            parsed["$schema"].as_str(),
            Some("http://json-schema.org/draft-07/schema#")
        );
        for demo in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let project = dir.path().join("p");
            let mut init = segc();
            init.arg("init");
            if demo {
                init.arg("--demo");
            }
            init.arg(&project).assert().success();
            let mut files = vec![project.join("segc_project.yml")];
            for entry in std::fs::read_dir(project.join("segment-defs")).unwrap() {
                files.push(entry.unwrap().path());
            }
            assert!(files.len() >= 2);
            for file in files {
                let text = std::fs::read_to_string(&file).unwrap();
                let first = text.lines().next().unwrap();
                let path = first
                    .strip_prefix("# yaml-language-server: $schema=")
                    .unwrap_or_else(|| panic!("{}: {first}", file.display()));
                let written = std::fs::read(file.parent().unwrap().join(path)).unwrap();
                assert_eq!(written, schema, "{}", file.display());
            }
            segc()
                .args(["validate", "--project"])
                .arg(&project)
                .assert()
                .success();
        }
    }

    #[test]
    fn run_and_explain_warn_about_a_source_that_ends_before_the_as_of_day() {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("p");
        segc().arg("init").arg(&project).assert().success();
        // The demo's events end on 2026-10-31.
        let stale =
            "warning: events: newest row 2026-10-31, 60 days before the as-of day 2026-12-30";
        segc()
            .current_dir(&project)
            .args(["run", "--as-of", "2026-12-30"])
            .assert()
            .success()
            .stderr(predicate::str::contains(stale));
        segc()
            .current_dir(&project)
            .args(["explain", "active", "--as-of", "2026-12-30"])
            .assert()
            .success()
            .stderr(predicate::str::contains(stale));
        segc()
            .current_dir(&project)
            .args([
                "run", "--grain", "month", "--from", "2026-10", "--to", "2026-11",
            ])
            .assert()
            .success()
            .stderr(predicate::str::contains(
                "warning: events: newest row 2026-10-31, 30 days before the as-of day 2026-11-30",
            ));
        segc()
            .current_dir(&project)
            .args(["run", "--as-of", "2026-10-31"])
            .assert()
            .success()
            .stderr(predicate::str::contains("newest row").not());
    }

    /// The design's shapes keep working: `segc init` with no folder creates the project in
    /// the current (or `--project`'s) folder when it is empty and says what to write when it
    /// is not, and `--select a b` / `-k a b` take several names after one flag.
    #[test]
    fn init_without_a_folder_and_select_with_spaces() {
        let dir = tempfile::tempdir().unwrap();
        let here = dir.path().join("here");
        // A folder holding only a git repository counts as empty.
        std::fs::create_dir_all(here.join(".git")).unwrap();
        segc()
            .current_dir(&here)
            .arg("init")
            .assert()
            .success()
            .stdout(predicate::str::contains("created a project here"));
        assert!(here.join("segc_project.yml").is_file());
        segc()
            .current_dir(&here)
            .arg("init")
            .assert()
            .code(2)
            .stderr(predicate::str::contains(
                "exists and is not empty; name a new folder: `segc init my-project`",
            ));
        segc()
            .current_dir(dir.path())
            .args(["init", "--project", "there"])
            .assert()
            .success();
        assert!(dir.path().join("there/segc_project.yml").is_file());
        std::fs::write(
            here.join("segment-defs/more.yml"),
            "segments:\n  - { name: everyone }\n",
        )
        .unwrap();
        let json = |arguments: &[&str]| -> serde_json::Value {
            let output = segc()
                .current_dir(&here)
                .args(["run", "-o", "json"])
                .args(arguments)
                .assert()
                .success()
                .get_output()
                .stdout
                .clone();
            serde_json::from_slice(&output).unwrap()
        };
        segc()
            .current_dir(&here)
            .args(["run", "-s", "everyone", ","])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(
                "--select names unknown segments: an empty name (a stray comma or quotes?)",
            ));
        segc()
            .current_dir(dir.path())
            .args(["init", "here/segc_project.yml"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("is a file, not a folder"));
        let spaced = json(&[
            "--select",
            "everyone",
            "active",
            "-k",
            "pct_active",
            "people",
        ]);
        let commas = json(&["--select", "everyone,active", "-k", "pct_active,people"]);
        assert_eq!(spaced["rows"], commas["rows"]);
        assert_eq!(spaced["rows"].as_array().unwrap().len(), 3, "{spaced}");
        assert_eq!(spaced["columns"].as_array().unwrap().len(), 2, "{spaced}");
    }

    /// `explain` reads a period as `run` does (its `window: period` attributes), and a
    /// segment without conditions is explained as `all_users` is, not refused.
    #[test]
    fn explain_reads_the_period_and_a_segment_without_conditions() {
        let dir = super::run::demo();
        let project = dir.path().join("demo");
        std::fs::write(
            project.join("segment-defs/explained.yml"),
            "segments:\n  - { name: everyone }\n  - name: period_buyers\n    all: [ { period_orders: { gte: 1 } } ]\n",
        )
        .unwrap();
        let run_people = |period: Option<&str>| {
            let mut command = segc();
            command.current_dir(&project).args([
                "run",
                "-s",
                "period_buyers",
                "-k",
                "people",
                "-o",
                "json",
            ]);
            if let Some(period) = period {
                command.args(["--period", period]);
            }
            let output = command.assert().success().get_output().stdout.clone();
            let json: serde_json::Value = serde_json::from_slice(&output).unwrap();
            json["rows"][1]["people"].as_i64().unwrap()
        };
        let explained_left = |period: Option<&str>| {
            let mut command = segc();
            command
                .current_dir(&project)
                .args(["explain", "period_buyers"]);
            if let Some(period) = period {
                command.args(["--period", period]);
            }
            let output = command.assert().success().get_output().stdout.clone();
            let text = String::from_utf8(output).unwrap();
            let line = text
                .lines()
                .find(|line| line.starts_with("  1. period_orders"))
                .unwrap_or_else(|| panic!("a step line:\n{text}"));
            let left: i64 = line
                .split_whitespace()
                .rev()
                .nth(1)
                .unwrap()
                .parse()
                .unwrap();
            (text, left)
        };
        let (text, half_month) = explained_left(Some("2026-10-01..2026-10-15"));
        assert!(
            text.contains("as of 2026-10-15 (the period 2026-10-01..2026-10-15)"),
            "{text}"
        );
        assert_eq!(half_month, run_people(Some("2026-10-01..2026-10-15")));
        let (_, whole_month) = explained_left(None);
        // The default period, as `run` reads it: the activity window ending on the as-of day.
        assert_eq!(whole_month, run_people(None));
        assert_ne!(
            half_month, whole_month,
            "the two periods count different buyers"
        );
        segc()
            .current_dir(&project)
            .args(["explain", "everyone"])
            .assert()
            .success()
            .stdout(predicate::str::contains(
                "segment everyone as of 2026-10-31 on local: 10000 users exist; it has no conditions",
            ));
        segc()
            .current_dir(&project)
            .args(["explain", "everyone", "--dialect", "postgres"])
            .assert()
            .success()
            .stdout(predicate::str::contains("FROM \"app\".\"users\""));
        segc()
            .current_dir(&project)
            .args(["explain", "everyone", "--timeout", "0"])
            .assert()
            .code(2);
    }

    #[test]
    fn explain_all_users_counts_the_users_who_exist() {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("p");
        segc().arg("init").arg(&project).assert().success();
        segc()
            .current_dir(&project)
            .args(["explain", "all_users"])
            .assert()
            .success()
            .stdout(predicate::str::contains(
                "all_users as of 2026-10-31 on local: 10000 users exist",
            ));
        segc()
            .current_dir(&project)
            .args(["explain", "all_users", "--dialect", "postgres"])
            .assert()
            .success()
            .stdout(predicate::str::contains("FROM \"app\".\"users\""));
    }
}

#[test]
fn list_finds_definitions_by_name_or_label_and_points_at_them() {
    let root = common::repository_root();
    let output = segc()
        .args(["list", "FREE-PLAN big", "--project"])
        .arg(&root)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(output).unwrap();
    // The label matches without case; the description follows on its own line.
    assert!(
        text.starts_with(
            "segments:\n  new_free_whales  New free-plan big spenders  segment-defs/segments.yml:"
        ),
        "{text}"
    );
    assert!(text.contains(
        "\n      Signed up in the last 7 days on the free plan and already spent 1000 in 30 days.\n"
    ));
    let json = segc()
        .args(["list", "*_30d", "-o", "json", "--project"])
        .arg(&root)
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let names = |kind: &str| -> Vec<String> {
        json[kind]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(names("attributes").contains(&"logins_30d".to_string()));
    assert!(names("kpis").contains(&"revenue_30d".to_string()));
    // A glob matches the whole name or label: `activity_prev_30d` yes, `active_days_30d_x` no.
    for kind in ["segments", "kpis", "attributes"] {
        assert!(names(kind).iter().all(|n| n.ends_with("_30d")), "{kind}");
    }
    assert!(!names("attributes").contains(&"monthly_activity".to_string()));
    // Each entry's file:line is the line that defines it.
    for kind in ["segments", "kpis", "attributes"] {
        for entry in json[kind].as_array().unwrap() {
            let (file, line) = entry["defined_at"]
                .as_str()
                .unwrap()
                .rsplit_once(':')
                .unwrap();
            let text = std::fs::read_to_string(root.join(file)).unwrap();
            let line = text
                .lines()
                .nth(line.parse::<usize>().unwrap() - 1)
                .unwrap();
            assert!(line.contains(entry["name"].as_str().unwrap()), "{line}");
        }
    }
    let kpis = segc()
        .args(["list", "revenue_30d", "-o", "json", "--project"])
        .arg(&root)
        .output()
        .unwrap();
    let kpis: serde_json::Value = serde_json::from_slice(&kpis.stdout).unwrap();
    assert_eq!(
        kpis["kpis"][0]["description"].as_str(),
        Some("What the row's members ordered in the 30 days up to the as-of day")
    );
    segc()
        .args(["list", "no_such_thing", "--project"])
        .arg(&root)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "no segment, KPI or attribute matches `no_such_thing`",
        ));
}

#[test]
fn bash_completions_cover_the_commands_and_parse() {
    let output = segc().args(["completions", "bash"]).output().unwrap();
    assert!(output.status.success());
    let script = String::from_utf8(output.stdout).unwrap();
    for command in [
        "run",
        "compile",
        "explain",
        "list",
        "schema",
        "completions",
        "--as-of",
    ] {
        assert!(script.contains(command), "{command}");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("segc.bash");
    std::fs::write(&file, &script).unwrap();
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    segc().args(["completions", "tcsh"]).assert().code(2);
}

/// `segc bench-data` writes the benchmarks' warehouse at the size asked, with the example
/// project's tables (the example runs on it), and never overwrites a file.
#[cfg(feature = "duckdb")]
#[test]
fn bench_data_writes_a_warehouse_the_example_project_runs_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data/bench.duckdb");
    let output = segc()
        .args(["bench-data", "--users", "300", "--output"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains(": 300 users, 100 accounts, "), "{stdout}");
    let events: u64 = stdout
        .split(" accounts, ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("an event count in {stdout}"));
    assert!(events > 300 * 20, "{stdout}");
    std::fs::write(
        dir.path().join("profiles.yml"),
        format!(
            "bench: {{ type: duckdb, path: {} }}\n",
            serde_json::Value::String(path.display().to_string())
        ),
    )
    .unwrap();
    let output = segc()
        .args([
            "run",
            "--target",
            "bench",
            "-k",
            "people,active_people",
            "-o",
            "json",
        ])
        .args(["--as-of", "2026-10-31", "--project"])
        .arg(common::repository_root())
        .arg("--profiles-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["rows"][0]["segment"], "all_users");
    assert_eq!(report["rows"][0]["people"], 300, "{report}");
    let active = report["rows"][0]["active_people"].as_i64().unwrap();
    assert!(active > 0 && active < 300, "{report}");
    // The file exists now: refused, and left as it is.
    let before = std::fs::metadata(&path).unwrap().len();
    segc()
        .args(["bench-data", "--users", "10", "--output"])
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("exists"));
    assert_eq!(std::fs::metadata(&path).unwrap().len(), before);
    segc()
        .args(["bench-data", "--users", "0", "--output"])
        .arg(dir.path().join("none.duckdb"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--users must be from 1"));
    assert!(!dir.path().join("none.duckdb").exists());
}

#[test]
fn the_out_file_is_checked_before_any_query_and_a_failed_run_leaves_it_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    common::copy_project(&common::fixture("core"), &project, None);
    // A target that cannot be opened: its error comes after `--out`'s.
    std::fs::write(
        dir.path().join("profiles.yml"),
        format!(
            "broken: {{ type: duckdb, path: \"{}\" }}\n",
            dir.path().join("no/such/folder/data.duckdb").display()
        ),
    )
    .unwrap();
    let run = |out: &std::path::Path| {
        segc()
            .args(["run", "--target", "broken", "-o", "csv", "--profiles-dir"])
            .arg(dir.path())
            .arg("--project")
            .arg(&project)
            .arg("--out")
            .arg(out)
            .assert()
            .failure()
    };
    let missing = dir.path().join("missing/report.csv");
    run(&missing)
        .stderr(predicate::str::contains("cannot write to"))
        .stderr(predicate::str::contains("report.csv"))
        .stderr(predicate::str::contains("no/such/folder").not());
    run(dir.path())
        .stderr(predicate::str::contains("it is a folder"))
        .stderr(predicate::str::contains("no/such/folder").not());
    // Writable: the target's error, and no empty file left behind.
    let new = dir.path().join("report.csv");
    run(&new).stderr(predicate::str::contains("no/such/folder"));
    assert!(!new.exists());
    // An existing file keeps what it held.
    std::fs::write(&new, "kept\n").unwrap();
    run(&new).stderr(predicate::str::contains("no/such/folder"));
    assert_eq!(std::fs::read_to_string(&new).unwrap(), "kept\n");
}

#[test]
fn a_results_table_without_a_dataset_on_bigquery_is_a_profile_error() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    common::copy_project(&common::fixture("core"), &project, None);
    std::fs::write(
        dir.path().join("profiles.yml"),
        "bq: { type: bigquery, project: p, endpoint: \"http://127.0.0.1:9\" }\n",
    )
    .unwrap();
    // Mended in profiles.yml or segc_project.yml, not on the command line: exit 1, not 2.
    segc()
        .args(["run", "--materialize", "--target", "bq", "--profiles-dir"])
        .arg(dir.path())
        .arg("--project")
        .arg(&project)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("needs a dataset on BigQuery"));
}
