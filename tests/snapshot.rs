//! `segc snapshot` on every engine this run reaches (see tests/engines): the intervals it
//! records hold exactly each day's members (counted by `segc run` that day); a backfill gives
//! the same intervals as day-by-day runs, in any order, and as reruns of any day; a range
//! longer than a chunk gives the same as its parts; a changed definition closes the old
//! intervals and opens new ones on the day it is recorded; a segment not recorded keeps its
//! intervals until it is recorded again.
#![cfg(all(
    feature = "duckdb",
    feature = "postgres",
    feature = "bigquery",
    feature = "sqlserver"
))]

mod common;
mod engines;

use std::path::Path;
use std::process::Command;

use engines::{Engine, connect, run_json};
use segc::driver::Cell;

/// An interval: segment, user, from, to (None while open), definition hash.
type Interval = (String, String, String, Option<String>, String);

fn snapshot(project: &Path, profiles: &Path, target: &str, days: &[&str]) {
    let args: Vec<&str> = std::iter::once("snapshot")
        .chain(days.iter().copied())
        .collect();
    let (code, text) = common::segc_on(project, profiles, target, &args);
    assert_eq!(code, Some(0), "{target} {days:?}: {text}");
}

fn text(cell: &Cell) -> Option<String> {
    match cell {
        Cell::Null => None,
        Cell::Text(text) => Some(text.clone()),
        Cell::Date(day) => Some(day.to_string()),
        Cell::Timestamp(at) => Some(at.date().to_string()),
        other => panic!("unexpected {other:?}"),
    }
}

/// The recorded intervals, in order.
fn intervals(profiles: &Path, target: &str) -> Vec<Interval> {
    let result = connect(profiles, target)
        .query(
            "SELECT segment, user_key, valid_from, valid_to, definition_hash \
             FROM app.segc_membership ORDER BY segment, user_key, valid_from",
        )
        .unwrap_or_else(|e| panic!("{target}: {e}"));
    result
        .rows
        .iter()
        .map(|row| {
            (
                text(&row[0]).unwrap(),
                text(&row[1]).unwrap(),
                text(&row[2]).unwrap(),
                text(&row[3]),
                text(&row[4]).unwrap(),
            )
        })
        .collect()
}

/// Empties the history, to record it again another way.
fn forget(dir: &Path, engine: &Engine) {
    let statements = [
        "DELETE FROM app.segc_membership WHERE 1 = 1",
        "DELETE FROM app.segc_membership_days WHERE 1 = 1",
    ];
    if engine.target == "duck" {
        let data = duckdb::Connection::open(dir.join("core.duckdb")).unwrap();
        for statement in statements {
            data.execute_batch(statement).unwrap();
        }
    } else {
        let mut driver = connect(dir, engine.target);
        for statement in statements {
            driver.set_up(statement).unwrap();
        }
    }
}

fn day(text: &str) -> chrono::NaiveDate {
    common::date(text)
}

/// Whether an interval covers `on`.
fn covers(interval: &Interval, on: &str) -> bool {
    interval.2.as_str() <= on && interval.3.as_deref().is_none_or(|to| on < to)
}

const FLOWS: &str = "kpis:\n  - { name: entered, flow: entered }\n  - { name: left, flow: left }\n  - { name: retained, flow: retained }\n  - { name: net_change, flow: net_change }\n  - { name: spend_while_member, agg: sum, of: monthly_spend, membership: timed }\n";

/// The core fixture's orders: user, time (`YYYY-MM-DD HH:MM:SS`), amount.
fn orders(data: &Path) -> Vec<(String, String, f64)> {
    let connection = duckdb::Connection::open(data).unwrap();
    let mut statement = connection
        .prepare("SELECT CAST(user_id AS VARCHAR), strftime(ordered_at, '%Y-%m-%d %H:%M:%S'), amount FROM app.orders")
        .unwrap();
    statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The day before `day`.
fn previous(day: &str) -> String {
    common::date(day).pred_opt().unwrap().to_string()
}

/// Flow KPIs over 2024-03-22..2024-03-31 equal a count over the recorded intervals; a
/// period whose days are not all recorded is refused with the command that records them.
fn flows_match_the_intervals(
    project: &Path,
    profiles: &Path,
    target: &str,
    recorded: &[Interval],
    orders: &[(String, String, f64)],
) {
    let (first, before, last) = ("2024-03-22", "2024-03-21", "2024-03-31");
    let period = format!("{first}..{last}");
    let kpis = "people,entered,left,retained,net_change,spend_while_member";
    let report = run_json(
        project,
        profiles,
        target,
        &["--period", &period, "-k", kpis],
    );
    let mut timing_mattered = false;
    for row in report["rows"].as_array().unwrap() {
        let segment = row["segment"].as_str().unwrap();
        if segment == "all_users" {
            assert!(
                row["entered"].is_null(),
                "{target}: all_users has no history"
            );
            continue;
        }
        let of: Vec<&Interval> = recorded.iter().filter(|i| i.0 == segment).collect();
        let users = |keep: &dyn Fn(&Interval) -> bool| {
            let mut users: Vec<&str> = of
                .iter()
                .filter(|i| keep(i))
                .map(|i| i.1.as_str())
                .collect();
            users.sort_unstable();
            users.dedup();
            users
        };
        let entered = users(&|i| first <= i.2.as_str() && i.2.as_str() <= last);
        let left = users(&|i| i.3.as_deref().is_some_and(|to| first <= to && to <= last));
        let at_start = users(&|i| covers(i, before));
        let at_end = users(&|i| covers(i, last));
        let retained = at_start.iter().filter(|u| at_end.contains(u)).count();
        let want = [
            ("entered", entered.len() as i64),
            ("left", left.len() as i64),
            ("retained", retained as i64),
            ("net_change", at_end.len() as i64 - at_start.len() as i64),
            ("people", at_end.len() as i64),
        ];
        for (kpi, value) in want {
            assert_eq!(
                row[kpi].as_i64(),
                Some(value),
                "{target}: {segment} {kpi}: {row}"
            );
        }
        // Timed: the members' orders of the period placed while a member (entry moved to
        // 00:00 of the day before), summed; no members, no value.
        let spend: f64 = at_end
            .iter()
            .map(|user| {
                orders
                    .iter()
                    .filter(|(who, at, _)| {
                        who == user
                            && at.as_str() >= first
                            && at[..10] <= *last
                            && of.iter().any(|i| {
                                i.1 == *user
                                    && at.as_str() >= previous(&i.2).as_str()
                                    && i.3.as_deref().is_none_or(|to| at.as_str() < to)
                            })
                    })
                    .map(|(_, _, amount)| amount)
                    .sum::<f64>()
            })
            .sum();
        let untimed: f64 = orders
            .iter()
            .filter(|(who, at, _)| {
                at_end.contains(&who.as_str()) && at.as_str() >= first && at[..10] <= *last
            })
            .map(|(_, _, amount)| amount)
            .sum();
        timing_mattered |= !common::nearly_equal(untimed, spend, 1e-9);
        if at_end.is_empty() {
            assert!(
                row["spend_while_member"].is_null(),
                "{target}: {segment}: {row}"
            );
        } else {
            assert!(
                row["spend_while_member"]
                    .as_f64()
                    .is_some_and(|got| common::nearly_equal(got, spend, 1e-9)),
                "{target}: {segment}: spend_while_member {spend} by hand: {row}"
            );
        }
        assert_eq!(row["definition_changed"], false, "{target}: {segment}");
    }
    assert!(
        timing_mattered,
        "{target}: no segment where timing changes the spend"
    );
    // The day before 2024-03-20 was never recorded.
    let run = |args: &[&str]| common::segc_on(project, profiles, target, args);
    let (code, text) = run(&["run", "--period", "2024-03-18..2024-03-31", "-k", kpis]);
    assert_eq!(code, Some(1), "{target}: {text}");
    assert!(
        text.contains("days are missing")
            && text.contains("2024-03-17..2024-03-19")
            && text.contains("segc snapshot --from 2024-03-17 --to 2024-03-19"),
        "{target}: {text}"
    );
    // A comparison reads two periods, a year apart: the error names the days of each, not
    // the year between them, and a command for each run of missing days.
    let (code, text) = run(&[
        "run",
        "--period",
        "2024-03-20..2024-03-31",
        "--compare",
        "prior_year",
        "-k",
        kpis,
    ]);
    assert_eq!(code, Some(1), "{target}: {text}");
    assert!(
        text.contains(
            "every day of 2023-03-19..2023-03-31, 2024-03-19..2024-03-31, and days are missing"
        ) && text.contains("(2023-03-19..2023-03-31, 2024-03-19)")
            && text.contains(
                "`segc snapshot --from 2023-03-19 --to 2023-03-31` and \
                 `segc snapshot --from 2024-03-19 --to 2024-03-19`"
            ),
        "{target}: {text}"
    );
}

/// A month series and a comparison give each period's flow and timed KPIs as a report of
/// that period alone does, and a changed definition is flagged in the month it changed.
fn series_match_single_periods(project: &Path, profiles: &Path, target: &str) {
    let kpis = "people,entered,left,retained,net_change,spend_while_member";
    let single =
        |period: &str| run_json(project, profiles, target, &["--period", period, "-k", kpis]);
    let same_rows =
        |got: &serde_json::Value, want: &serde_json::Value, suffix: &str, what: &str| {
            let (got, want) = (got.as_array().unwrap(), want["rows"].as_array().unwrap());
            assert_eq!(got.len(), want.len(), "{target} {what}");
            for (got, want) in got.iter().zip(want) {
                assert_eq!(got["segment"], want["segment"], "{target} {what}");
                for kpi in kpis.split(',') {
                    let value = &got[format!("{kpi}{suffix}")];
                    assert!(
                        common::same_json_value(value, &want[kpi]),
                        "{target} {what} {} {kpi}: {value} alone {}",
                        want["segment"],
                        want[kpi]
                    );
                }
            }
        };
    let months = run_json(
        project,
        profiles,
        target,
        &[
            "--grain", "month", "--from", "2024-02", "--to", "2024-03", "-k", kpis,
        ],
    );
    let periods = months["periods"].as_array().unwrap();
    assert_eq!(periods.len(), 2, "{target}: {months}");
    let mut moved = false;
    for (period, range) in periods
        .iter()
        .zip(["2024-02-01..2024-02-29", "2024-03-01..2024-03-31"])
    {
        let alone = single(range);
        same_rows(&period["rows"], &alone, "", range);
        moved |= alone["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|row| row["entered"].as_i64().is_some_and(|n| n > 0));
    }
    assert!(moved, "{target}: members entered in some month");
    let compare = run_json(
        project,
        profiles,
        target,
        &[
            "--period",
            "2024-03-22..2024-03-31",
            "--compare",
            "prior_period",
            "-k",
            kpis,
        ],
    );
    same_rows(
        &compare["rows"],
        &single("2024-03-22..2024-03-31"),
        "",
        "current",
    );
    same_rows(
        &compare["rows"],
        &single("2024-03-12..2024-03-21"),
        "__prior",
        "prior",
    );
}

#[test]
fn snapshots_are_each_days_members_however_they_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let engines = engines::core_on_every_engine(dir.path(), "segc_snap_core");
    let data = dir.path().join("core.duckdb");
    let project = dir.path().join("project");
    common::copy_project(&common::fixture("core"), &project, None);
    let file = project.join("segc_project.yml");
    let yaml = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("{yaml}history_table: app.segc_membership\n")).unwrap();
    std::fs::write(project.join("segment-defs/flows.yml"), FLOWS).unwrap();
    let days: Vec<String> = (20..=31).map(|d| format!("2024-03-{d:02}")).collect();
    for engine in &engines {
        let target = engine.target;
        // A backfill in one statement.
        snapshot(
            &project,
            dir.path(),
            target,
            &["--from", "2024-03-20", "--to", "2024-03-31"],
        );
        let backfill = intervals(dir.path(), target);
        assert!(!backfill.is_empty(), "{target}");
        // What ran, for a scheduler: the run's record and the last chunk's merge.
        let record: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(project.join("target/run_results.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(record["command"], "snapshot", "{target}");
        assert_eq!(record["status"], "success", "{target}");
        assert_eq!(record["period_start"], "2024-03-20", "{target}");
        let merge =
            std::fs::read_to_string(project.join(format!("target/compiled/{target}.snapshot.sql")))
                .unwrap();
        assert_eq!(
            record["sha256"].as_str().unwrap(),
            segc::artifacts::sha256(&merge),
            "{target}"
        );
        assert!(
            backfill.iter().any(|i| i.3.is_some()) && backfill.iter().any(|i| i.3.is_none()),
            "{target}: members leave and stay over these days: {backfill:#?}"
        );

        // Each day holds exactly that day's members, as `segc run` counts them.
        for on in &days {
            let report = run_json(
                &project,
                dir.path(),
                target,
                &["--as-of", on, "-k", "people"],
            );
            for row in report["rows"].as_array().unwrap() {
                let segment = row["segment"].as_str().unwrap();
                if segment == "all_users" {
                    continue;
                }
                let recorded = backfill
                    .iter()
                    .filter(|i| i.0 == segment && covers(i, on))
                    .count();
                assert_eq!(
                    Some(recorded as u64),
                    row["people"].as_u64(),
                    "{target}: {segment} on {on}"
                );
            }
        }

        flows_match_the_intervals(&project, dir.path(), target, &backfill, &orders(&data));

        // Rerunning days, late and out of order, changes nothing.
        snapshot(&project, dir.path(), target, &["--as-of", "2024-03-25"]);
        snapshot(
            &project,
            dir.path(),
            target,
            &["--from", "2024-03-21", "--to", "2024-03-23"],
        );
        assert_eq!(intervals(dir.path(), target), backfill, "{target}: reruns");

        // Day by day, in a shuffled order, gives the same intervals.
        forget(dir.path(), engine);
        for on in [7, 0, 11, 3, 1, 9, 2, 10, 4, 8, 6, 5] {
            snapshot(&project, dir.path(), target, &["--as-of", &days[on]]);
        }
        assert_eq!(
            intervals(dir.path(), target),
            backfill,
            "{target}: day by day"
        );

        // A range of several chunks equals its parts recorded apart.
        forget(dir.path(), engine);
        snapshot(
            &project,
            dir.path(),
            target,
            &["--from", "2024-01-15", "--to", "2024-03-31"],
        );
        let long = intervals(dir.path(), target);
        series_match_single_periods(&project, dir.path(), target);
        forget(dir.path(), engine);
        snapshot(
            &project,
            dir.path(),
            target,
            &["--from", "2024-02-20", "--to", "2024-03-31"],
        );
        snapshot(
            &project,
            dir.path(),
            target,
            &["--from", "2024-01-15", "--to", "2024-02-19"],
        );
        assert_eq!(intervals(dir.path(), target), long, "{target}: chunks");
        let march: Vec<&Interval> = long
            .iter()
            .filter(|i| i.3.as_deref().is_none_or(|to| to > "2024-03-20"))
            .collect();
        assert!(!march.is_empty() && day("2024-01-15") < day("2024-03-20"));
        forget(dir.path(), engine);
    }
}

/// A project `project_<target>` in `dir` over the core users, recording its history in
/// `app.segc_membership`; returns its directory and its definitions file, to be written with
/// [`signup_definitions`].
fn signup_project(
    dir: &Path,
    name: &str,
    target: &str,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let project = dir.join(format!("project_{target}"));
    std::fs::create_dir_all(project.join("segment-defs")).unwrap();
    std::fs::write(
        project.join("segc_project.yml"),
        format!("name: {name}\ntime_zone: UTC\nhistory_table: app.segc_membership\n"),
    )
    .unwrap();
    let defs = project.join("segment-defs/defs.yml");
    (project, defs)
}

/// Definitions with a sign-up date: `early` (signed up before `early_before`, left out when
/// `None`), then `everyone`, and `people` with the KPI lines `kpis`.
fn signup_definitions(early_before: Option<&str>, kpis: &str) -> String {
    let early = early_before
        .map(|day| {
            format!("  - {{ name: early, all: [ {{ signup_date: {{ before: {day} }} }} ] }}\n")
        })
        .unwrap_or_default();
    format!(
        "sources:\n  users: {{ table: app.users, key: user_id, columns: {{ signup_at: created_at }} }}\n\
         attributes:\n  signup_date: {{ source: users, column: signup_at, type: date }}\n\
         segments:\n{early}  - {{ name: everyone }}\n\
         kpis:\n  - {{ name: people, agg: count }}\n{kpis}"
    )
}

#[test]
fn a_changed_definition_closes_the_old_intervals_and_opens_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let engines = engines::core_on_every_engine(dir.path(), "segc_snap_change");
    for engine in &engines {
        let target = engine.target;
        let (project, defs) = signup_project(dir.path(), "change", target);
        let definitions =
            |since: &str| signup_definitions(Some(since), "  - { name: entered, flow: entered }\n");
        std::fs::write(&defs, definitions("2023-07-15")).unwrap();
        snapshot(
            &project,
            dir.path(),
            target,
            &["--from", "2024-03-01", "--to", "2024-03-10"],
        );
        let before = intervals(dir.path(), target);
        // `early` is redefined from the 11th on; `everyone` is not.
        std::fs::write(&defs, definitions("2023-08-15")).unwrap();
        snapshot(
            &project,
            dir.path(),
            target,
            &["--from", "2024-03-11", "--to", "2024-03-12"],
        );
        let after = intervals(dir.path(), target);
        let hashes = |segment: &str, rows: &[Interval]| {
            let mut hashes: Vec<String> = rows
                .iter()
                .filter(|i| i.0 == segment)
                .map(|i| i.4.clone())
                .collect();
            hashes.sort();
            hashes.dedup();
            hashes
        };
        let (old, new) = (hashes("early", &before), hashes("early", &after));
        assert!(new.contains(&old[0]), "{target}");
        assert_eq!(old.len(), 1, "{target}");
        assert_eq!(new.len(), 2, "{target}: {after:#?}");
        for interval in after.iter().filter(|i| i.0 == "early") {
            if interval.4 == old[0] {
                assert_eq!(interval.2, "2024-03-01", "{target}: {interval:?}");
                assert_eq!(interval.3.as_deref(), Some("2024-03-11"), "{target}");
            } else {
                assert_eq!(interval.2, "2024-03-11", "{target}: {interval:?}");
                assert_eq!(interval.3, None, "{target}");
            }
        }
        // Members under the new definition: signed up before 2023-08-15 (users 1, 5, 6, 7, 10).
        let mut new_members: Vec<&str> = after
            .iter()
            .filter(|i| i.0 == "early" && i.4 != old[0])
            .map(|i| i.1.as_str())
            .collect();
        new_members.sort();
        assert_eq!(new_members, ["1", "10", "5", "6", "7"], "{target}");
        // The report over a period holding the change flags the row, and says so.
        let report = run_json(
            &project,
            dir.path(),
            target,
            &["--period", "2024-03-05..2024-03-12"],
        );
        for row in report["rows"].as_array().unwrap() {
            let changed = row["segment"] == "early";
            assert_eq!(row["definition_changed"], changed, "{target}: {row}");
        }
        let output = Command::new(assert_cmd::cargo::cargo_bin("segc"))
            .args(["run", "--period", "2024-03-05..2024-03-12", "--project"])
            .arg(&project)
            .arg("--profiles-dir")
            .arg(dir.path())
            .args(["--target", target])
            .output()
            .unwrap();
        let text = common::output_text(&output);
        assert!(
            text.contains("Definition changed during the period: early."),
            "{target}: {text}"
        );
        // The HTML page marks the row and says so under the table.
        let page = dir.path().join(format!("change_{target}.html"));
        let output = Command::new(assert_cmd::cargo::cargo_bin("segc"))
            .args(["run", "--period", "2024-03-05..2024-03-12", "-o", "html"])
            .arg("--out")
            .arg(&page)
            .arg("--project")
            .arg(&project)
            .arg("--profiles-dir")
            .arg(dir.path())
            .args(["--target", target])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{target}: {}",
            common::output_text(&output)
        );
        let html = std::fs::read_to_string(&page).unwrap();
        let marked: Vec<&str> = html
            .split("<tr data-segment=\"")
            .skip(1)
            .filter(|tr| tr.contains("data-definition-changed=\"true\""))
            .map(|tr| &tr[..tr.find('"').unwrap()])
            .collect();
        assert_eq!(marked, ["early"], "{target}");
        assert!(
            html.contains("Definition changed during the period: early."),
            "{target}"
        );
        // A comparison is flagged when either of its periods holds the change.
        for (period, flagged) in [
            ("2024-03-11..2024-03-12", true),
            ("2024-03-04..2024-03-05", false),
        ] {
            let compare = run_json(
                &project,
                dir.path(),
                target,
                &["--period", period, "--compare", "prior_period"],
            );
            for row in compare["rows"].as_array().unwrap() {
                let changed = flagged && row["segment"] == "early";
                assert_eq!(
                    row["definition_changed"], changed,
                    "{target} {period}: {row}"
                );
            }
        }
        // `everyone` keeps one open interval per user.
        assert_eq!(hashes("everyone", &after).len(), 1, "{target}");
        assert!(
            after
                .iter()
                .filter(|i| i.0 == "everyone")
                .all(|i| i.2 == "2024-03-01" && i.3.is_none()),
            "{target}"
        );
        forget(dir.path(), engine);
    }
}

/// A segment that is not recorded (left out with `-s`, or removed from the definitions)
/// keeps its intervals as they were: the open ones reach its last recorded day, not the
/// others'. Recorded again after the gap, its old intervals end on the first day it was not
/// recorded, and new ones open: a day never recorded is a day without members.
#[test]
fn a_segment_not_recorded_keeps_its_intervals_until_recorded_again() {
    let dir = tempfile::tempdir().unwrap();
    let engines = engines::core_on_every_engine(dir.path(), "segc_snap_gap");
    for engine in &engines {
        let target = engine.target;
        let (project, defs) = signup_project(dir.path(), "gap", target);
        let definitions =
            |with_early: bool| signup_definitions(with_early.then_some("2023-08-15"), "");
        std::fs::write(&defs, definitions(true)).unwrap();
        let run = |args: &[&str]| snapshot(&project, dir.path(), target, args);
        run(&["--from", "2024-03-01", "--to", "2024-03-05"]);
        let early = |rows: &[Interval]| -> Vec<Interval> {
            rows.iter().filter(|i| i.0 == "early").cloned().collect()
        };
        let recorded = intervals(dir.path(), target);
        let first = early(&recorded);
        // Members under this definition: signed up before 2023-08-15 (users 1, 5, 6, 7, 10).
        assert_eq!(first.len(), 5, "{target}: {recorded:#?}");
        assert!(first.iter().all(|i| i.2 == "2024-03-01" && i.3.is_none()));

        // Left out, then removed: `everyone` goes on, `early` is untouched.
        run(&[
            "--from",
            "2024-03-06",
            "--to",
            "2024-03-07",
            "-s",
            "everyone",
        ]);
        std::fs::write(&defs, definitions(false)).unwrap();
        run(&["--as-of", "2024-03-08"]);
        let recorded = intervals(dir.path(), target);
        assert_eq!(early(&recorded), first, "{target}");
        assert!(
            recorded
                .iter()
                .filter(|i| i.0 == "everyone")
                .all(|i| i.2 == "2024-03-01" && i.3.is_none()),
            "{target}: {recorded:#?}"
        );
        let last_day = connect(dir.path(), target)
            .query("SELECT MAX(day) FROM app.segc_membership_days WHERE segment = 'early'")
            .unwrap();
        assert_eq!(
            text(&last_day.rows[0][0]).as_deref(),
            Some("2024-03-05"),
            "{target}"
        );

        // Back, and recorded again: the old intervals end where its recording stopped.
        std::fs::write(&defs, definitions(true)).unwrap();
        run(&["--as-of", "2024-03-10"]);
        let again = early(&intervals(dir.path(), target));
        assert_eq!(again.len(), 10, "{target}: {again:#?}");
        for interval in &again {
            let expected = if interval.2 == "2024-03-01" {
                Some("2024-03-06")
            } else {
                assert_eq!(interval.2, "2024-03-10", "{target}: {interval:?}");
                None
            };
            assert_eq!(interval.3.as_deref(), expected, "{target}: {interval:?}");
        }
        forget(dir.path(), engine);
    }
}

/// A user row whose key is NULL is a user (`segc run` counts it) that `segc snapshot` cannot
/// follow from day to day: the day is recorded without it (it failed on the history's
/// NOT NULL key before), and only users with a key have intervals.
/// A DuckDB database `w.duckdb` in `dir` made by `setup`, a target `duck` reading it, and a
/// project folder `dir/project` (its segment-defs made) whose history is
/// `app.segc_membership`; returns the database's path and the project's.
fn duckdb_history_project(dir: &Path, setup: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let data = dir.join("w.duckdb");
    let connection = duckdb::Connection::open(&data).unwrap();
    connection.execute_batch(setup).unwrap();
    drop(connection);
    std::fs::write(
        dir.join("profiles.yml"),
        format!("duck: {{ type: duckdb, path: \"{}\" }}\n", data.display()),
    )
    .unwrap();
    let project = dir.join("project");
    std::fs::create_dir_all(project.join("segment-defs")).unwrap();
    (data, project)
}

/// `segc_project.yml` of [`duckdb_history_project`]'s project, named `name`.
fn history_project_file(project: &Path, name: &str) {
    std::fs::write(
        project.join("segc_project.yml"),
        format!(
            "name: {name}\nas_of: 2024-03-31\ndefault_target: duck\nhistory_table: app.segc_membership\n"
        ),
    )
    .unwrap();
}

#[test]
fn a_user_without_a_key_is_left_out_of_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let (_, project) = duckdb_history_project(
        dir.path(),
        "CREATE SCHEMA app;
         CREATE TABLE app.users (user_id VARCHAR, created_at TIMESTAMP, country VARCHAR);
         INSERT INTO app.users VALUES ('a', TIMESTAMP '2024-01-01', 'US'),
           (NULL, TIMESTAMP '2024-01-01', 'US'), ('b', TIMESTAMP '2024-01-01', 'DE');",
    );
    history_project_file(&project, "keyless");
    std::fs::write(
        project.join("segment-defs/defs.yml"),
        "sources:\n  users: { table: app.users, key: { column: user_id, type: string }, columns: { signup_at: created_at, country: { column: country, type: string } } }\n\
         segments:\n  - { name: us, all: [ { country: { eq: US } } ] }\n\
         kpis:\n  - { name: people, agg: count }\n",
    )
    .unwrap();
    let report = run_json(&project, dir.path(), "duck", &[]);
    assert_eq!(common::json_row(&report, "us").unwrap()["people"], 2);
    snapshot(&project, dir.path(), "duck", &["--as-of", "2024-03-31"]);
    let recorded = intervals(dir.path(), "duck");
    let users: Vec<&str> = recorded
        .iter()
        .filter(|interval| interval.0 == "us")
        .map(|interval| interval.1.as_str())
        .collect();
    assert_eq!(users, ["a"], "{recorded:?}");
}

/// segc's own tables are read by project exactly: where the `project` column folds case (a
/// DuckDB column `COLLATE NOCASE`, SQL Server's usual collation), project `KEYLESS` read the
/// days and intervals project `keyless` recorded as its own. Its flow KPIs then ran on a
/// history they found nothing in (0 entered) where the days are missing, and its snapshot
/// counted the other project's intervals.
#[test]
fn a_project_reads_only_its_own_history_whatever_the_columns_collation() {
    let dir = tempfile::tempdir().unwrap();
    let (data, project) = duckdb_history_project(
        dir.path(),
        "CREATE SCHEMA app;
         CREATE TABLE app.users (user_id INTEGER, created_at TIMESTAMP, country VARCHAR);
         INSERT INTO app.users VALUES (1, TIMESTAMP '2024-01-01', 'US'),
           (2, TIMESTAMP '2024-03-30 12:00:00', 'US'), (3, TIMESTAMP '2024-01-01', 'DE');",
    );
    history_project_file(&project, "keyless");
    std::fs::write(
        project.join("segment-defs/defs.yml"),
        "sources:\n  users: { table: app.users, key: user_id, columns: { signup_at: created_at, country: { column: country, type: string } } }\n\
         segments:\n  - { name: us, all: [ { country: { eq: US } } ] }\n\
         kpis:\n  - { name: people, agg: count }\n  - { name: entered, flow: entered }\n",
    )
    .unwrap();
    snapshot(
        &project,
        dir.path(),
        "duck",
        &["--from", "2024-02-29", "--to", "2024-03-31"],
    );
    let report = run_json(&project, dir.path(), "duck", &[]);
    assert_eq!(common::json_row(&report, "us").unwrap()["entered"], 1);
    let connection = duckdb::Connection::open(&data).unwrap();
    connection
        .execute_batch(
            "ALTER TABLE app.segc_membership ALTER COLUMN project TYPE VARCHAR COLLATE NOCASE;
             ALTER TABLE app.segc_membership_days ALTER COLUMN project TYPE VARCHAR COLLATE NOCASE;",
        )
        .unwrap();
    let folded: i64 = connection
        .query_row(
            "SELECT COUNT(*) FROM app.segc_membership_days WHERE project = 'KEYLESS'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert!(folded > 0, "the column folds case");
    drop(connection);
    history_project_file(&project, "KEYLESS");
    let (code, text) = common::segc_on(&project, dir.path(), "duck", &["run", "-o", "json"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("days are missing: us (2024-03-01..2024-03-31)"),
        "the days are missing for KEYLESS: {text}"
    );
    let (code, text) = common::segc_on(
        &project,
        dir.path(),
        "duck",
        &["snapshot", "--as-of", "2024-03-31", "-o", "json"],
    );
    assert_eq!(code, Some(0), "{text}");
    let summary: serde_json::Value = serde_json::from_str(&text).unwrap();
    // KEYLESS's own interval: user 1 in `us` from 2024-03-31 (user 2 signed up on the 30th).
    assert_eq!(summary["intervals"], 2, "{summary}");
}
