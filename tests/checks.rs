//! `segc sources --check` on every engine this run reaches: the keys that repeat, the NULL
//! keys and the facts of unknown users of the checks fixture, found as compared exactly
//! (rule 15) — also where the server's columns fold case — and a repeated key fails the
//! command. SQL Server's and Redshift's padding: tests/padding.rs.
#![cfg(feature = "duckdb")]

mod common;
mod engines;

use engines::{connect, fixtures_on_every_engine};
use segc::driver::Cell;

#[test]
fn checks_find_the_repeated_keys_exactly_on_every_engine() {
    let dir = tempfile::tempdir().unwrap();
    let engines =
        fixtures_on_every_engine(dir.path(), "checks", &["checks/data.sql"], "segc_checks");
    let columns = [
        ("app.chk_users", "user_id"),
        ("app.chk_users", "account_id"),
        ("app.chk_accounts", "account_id"),
        ("app.chk_plans", "account_id"),
        ("app.chk_events", "user_id"),
    ];
    for (target, mut server) in engines::folded_servers(dir.path(), &engines, &columns) {
        // Without this the test would prove nothing: grouped as the server compares them,
        // `u1` and `U1` are one key (`u1␠` stays apart: PostgreSQL does not pad).
        let got = server
            .query("SELECT COUNT(*) FROM (SELECT user_id FROM app.chk_users WHERE user_id IS NOT NULL GROUP BY user_id) AS k")
            .unwrap();
        assert_eq!(got.rows[0][0], Cell::Integer(3), "{target}");
    }
    let project = common::fixture("checks");
    for engine in &engines {
        let output = common::segc_on_output(
            &project,
            dir.path(),
            engine.target,
            &["sources", "--check", "-o", "json"],
        );
        let text = common::output_text(&output);
        assert_eq!(output.status.code(), Some(1), "{}: {text}", engine.target);
        let json: serde_json::Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("{}: {e}\n{text}", engine.target));
        assert_eq!(
            common::check_findings(&json),
            common::expected_check_findings(),
            "{}",
            engine.target
        );
        assert_eq!(json["failed"], 3, "{}", engine.target);
        assert_eq!(json["as_of"], "2024-03-31", "{}", engine.target);
        // Each failure's query lists the keys the check counted, as it counted them: not
        // `u1` held by `u1`, `U1` and `u1␠` (folded on the PostgreSQL server), not NULL, and
        // among the plans only those valid at the day's end.
        let mut driver = connect(dir.path(), engine.target);
        let mut lists = Vec::new();
        for check in json["checks"].as_array().unwrap() {
            let Some(query) = check["list_query"].as_str() else {
                continue;
            };
            let listed = driver
                .query(query)
                .unwrap_or_else(|e| panic!("{}: {e}\n{query}", engine.target));
            let text = |cell: &Cell| match cell {
                Cell::Text(text) => text.clone(),
                Cell::Integer(n) => n.to_string(),
                other => format!("{other:?}"),
            };
            for row in &listed.rows {
                lists.push((
                    check["source"].as_str().unwrap().to_string(),
                    text(&row[0]),
                    text(&row[1]),
                ));
            }
        }
        let want: Vec<(String, String, String)> = [
            ("users", "u2", "2"),
            ("accounts", "a2", "3"),
            ("plans", "a2", "2"),
        ]
        .iter()
        .map(|(s, k, n)| (s.to_string(), k.to_string(), n.to_string()))
        .collect();
        assert_eq!(lists, want, "{}", engine.target);
    }
    // As a table: each check's line, and for each failure the query that lists the keys.
    let (code, text) = common::segc_on(&project, dir.path(), "duck", &["sources", "--check"]);
    assert_eq!(code, Some(1), "{text}");
    for line in [
        "users     app.chk_users     key user_id held by more than one row",
        "8 checks of 4 sources on target `duck`: 3 failed",
        "users: 1 key on 2 rows repeat: a report counts each of their users once per row",
        "List them:\n  SELECT MIN(\"s\".\"user_id\") AS \"user_id\", COUNT(*) AS \"rows\" FROM \"app\".\"chk_users\" AS \"s\" WHERE \"s\".\"user_id\" IS NOT NULL GROUP BY (CAST(\"s\".\"user_id\" AS VARCHAR) COLLATE \"binary\") HAVING COUNT(*) > 1 ORDER BY \"rows\" DESC",
        "accounts: 1 key on 3 rows repeat: a report joins each of their users once per row",
        "plans: 1 key on 2 rows repeat among the rows valid at the as-of day's end",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    let unknown = text
        .lines()
        .find(|l| l.contains("in no row of the user table"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        unknown.contains(" 3 rows ") && unknown.ends_with(" not counted"),
        "{unknown}"
    );
}

/// The day of the check matters for a source keeping history: on 2024-02-15 the plans of
/// `a1` and `a2` each have one row valid (`a2`'s second begins on 2024-02-01, so it
/// overlaps: two), and on 2024-04-01 `a3`'s second row begins as its first ends: one.
#[test]
fn a_history_is_checked_at_the_day_asked() {
    let dir = tempfile::tempdir().unwrap();
    let engines = fixtures_on_every_engine(
        dir.path(),
        "checks",
        &["checks/data.sql"],
        "segc_checks_days",
    );
    let project = common::fixture("checks");
    for engine in &engines {
        for (day, want) in [
            ("2024-01-15", (0, 0)),
            ("2024-02-15", (1, 2)),
            ("2024-04-01", (1, 2)),
        ] {
            let output = common::segc_on_output(
                &project,
                dir.path(),
                engine.target,
                &["sources", "--check", "-o", "json", "--as-of", day],
            );
            let json: serde_json::Value =
                serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
                    panic!("{}: {e}\n{}", engine.target, common::output_text(&output))
                });
            let plans = common::check_findings(&json)
                .into_iter()
                .find(|f| f.0 == "plans" && f.1 == "repeated_key_at_as_of")
                .unwrap();
            assert_eq!((plans.2, plans.3), want, "{} on {day}", engine.target);
        }
    }
}
