//! Exact strings on SQL Server and Redshift (rule 15): both ignore trailing spaces in `=`,
//! IN, GROUP BY, DISTINCT, ORDER BY, MIN and MAX (`'admin ' = N'admin'` is true even under a
//! _BIN2 collation), where the other engines do not. Neither runs here, so their statements
//! run under those rules on SQLite (`tests/padding_emulator.py`, with the `python3` of the
//! test machine), over the trailing-spaces fixture, and must give the members and values
//! computed by hand in `common::PADDING_MEMBERS`. The other engines run the same fixture in
//! tests/conformance.rs.
#![cfg(feature = "duckdb")]

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use segc::dialect::Dialect;
use serde_json::{Value, json};

/// The rows of `tables` after the fixture files `data`, from DuckDB, in the emulator's
/// input form.
fn tables(data: &[&str], names: &[&str]) -> Value {
    let connection = duckdb::Connection::open_in_memory().unwrap();
    for file in data {
        connection
            .execute_batch(&std::fs::read_to_string(common::fixture(file)).unwrap())
            .unwrap();
    }
    let mut out = Vec::new();
    for name in names {
        let (schema, table) = name.split_once('.').unwrap();
        let mut statement = connection
            .prepare(
                "SELECT column_name, data_type FROM information_schema.columns \
                 WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            )
            .unwrap();
        let columns: Vec<(String, String)> = statement
            .query_map([schema, table], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(!columns.is_empty(), "no table {name}");
        let select = columns
            .iter()
            .map(|(column, _)| format!("CAST(\"{column}\" AS VARCHAR)"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut statement = connection
            .prepare(&format!("SELECT {select} FROM {name}"))
            .unwrap();
        let width = columns.len();
        let rows: Vec<Vec<Value>> = statement
            .query_map([], |row| {
                (0..width)
                    .map(|i| row.get::<_, Option<String>>(i))
                    .collect::<Result<Vec<_>, _>>()
            })
            .unwrap()
            .map(|row| {
                row.unwrap()
                    .into_iter()
                    .zip(&columns)
                    .map(|(cell, (_, kind))| match (cell, kind.as_str()) {
                        (None, _) => Value::Null,
                        (Some(text), "INTEGER" | "BIGINT") => json!(text.parse::<i64>().unwrap()),
                        (Some(text), "DOUBLE") => json!(text.parse::<f64>().unwrap()),
                        (Some(text), _) => json!(text),
                    })
                    .collect()
            })
            .collect();
        out.push(json!({
            "name": name,
            "columns": columns.iter().map(|(c, t)| json!([c, t])).collect::<Vec<_>>(),
            "rows": rows,
        }));
    }
    Value::Array(out)
}

/// Runs `statements` under `dialect`'s string rules over the trailing-spaces fixture; one
/// result per statement.
fn emulate(dialect: &str, statements: &[&str]) -> Vec<Value> {
    let tables = tables(
        &["core/data.sql", "padding/data.sql"],
        &["app.users", "app.tags"],
    );
    emulate_on(dialect, tables, statements)
}

fn emulate_on(dialect: &str, tables: Value, statements: &[&str]) -> Vec<Value> {
    let request = json!({
        "dialect": dialect,
        "tables": tables,
        "statements": statements,
    });
    let emulator = common::repository_root().join("tests/padding_emulator.py");
    let mut child = Command::new("python3")
        .arg(&emulator)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs the padding emulator");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{dialect}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice::<Vec<Value>>(&output.stdout).unwrap()
}

/// The result's rows as objects keyed by column name.
fn records(result: &Value) -> Vec<serde_json::Map<String, Value>> {
    let columns: Vec<&str> = result["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    result["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            columns
                .iter()
                .zip(row.as_array().unwrap())
                .map(|(c, v)| (c.to_string(), v.clone()))
                .collect()
        })
        .collect()
}

#[test]
fn the_emulator_applies_the_padding_rules() {
    // Without these, the test below would prove nothing: a plain comparison, IN, DISTINCT
    // and GROUP BY ignore trailing spaces, also under SQL Server's binary collation, and SQL
    // Server's usual column collation ignores case.
    let probes = [
        "SELECT COUNT_BIG(*) FROM [app].[tags] WHERE [tag] = N'admin'",
        "SELECT COUNT_BIG(*) FROM [app].[tags] WHERE [tag] COLLATE Latin1_General_100_BIN2 IN (N'admin', N'b')",
        "SELECT COUNT_BIG(DISTINCT [tag] COLLATE Latin1_General_100_BIN2) FROM [app].[tags]",
        "SELECT COUNT_BIG(*) FROM [app].[tags] WHERE [tag] = N'ADMIN'",
        "SELECT COUNT_BIG(*) FROM [app].[tags] WHERE [tag] COLLATE Latin1_General_100_BIN2 = N'ADMIN'",
        "SELECT LEN(N'ab  ')",
    ];
    let got: Vec<Value> = emulate("sqlserver", &probes)
        .iter()
        .map(|r| r["rows"][0][0].clone())
        .collect();
    assert_eq!(
        got,
        [json!(3), json!(5), json!(5), json!(3), json!(0), json!(2)]
    );
    let probes = [
        "SELECT COUNT(*) FROM \"app\".\"tags\" WHERE \"tag\" = 'admin'",
        "SELECT COUNT(DISTINCT \"tag\") FROM \"app\".\"tags\"",
        "SELECT COUNT(*) FROM (SELECT \"tag\" FROM \"app\".\"tags\" GROUP BY \"tag\") AS \"g\"",
        "SELECT COUNT(*) FROM \"app\".\"tags\" WHERE \"tag\" = 'ADMIN'",
    ];
    let got: Vec<Value> = emulate("redshift", &probes)
        .iter()
        .map(|r| r["rows"][0][0].clone())
        .collect();
    assert_eq!(got, [json!(3), json!(5), json!(5), json!(0)]);
}

#[test]
fn trailing_spaces_count_on_sql_server_and_redshift() {
    let dir = tempfile::tempdir().unwrap();
    common::padding_project(dir.path());
    let project = segc::validate::load_and_validate(dir.path()).expect("a valid fixture");
    for name in ["sqlserver", "redshift"] {
        let dialect = Dialect::load(name).unwrap();
        let sql = common::compile(&project, &dialect);
        common::assert_sendable(&sql, &dialect);
        let result = emulate(name, &[&sql]);
        let rows = records(&result[0]);
        for (segment, want) in common::PADDING_MEMBERS {
            let row = rows
                .iter()
                .find(|r| r["segment"] == *segment)
                .unwrap_or_else(|| panic!("{name}: no row {segment}"));
            assert_eq!(row["people"], json!(want), "{name}: {segment}\n{sql}");
        }
        let everyone = rows.iter().find(|r| r["segment"] == "all_users").unwrap();
        let (distinct, lowest, highest) = common::PADDING_ALL_USERS;
        assert_eq!(everyone["distinct_tags"], json!(distinct), "{name}");
        assert_eq!(everyone["min_tag"], json!(lowest), "{name}");
        assert_eq!(everyone["max_tag"], json!(highest), "{name}");
        // The segments' own values keep their spaces too: `b␠` is the only tag ending in `b␠`.
        let ends = rows.iter().find(|r| r["segment"] == "tag_ends").unwrap();
        assert_eq!(ends["min_tag"], json!("b "), "{name}");
    }
}

/// String keys: `u1`, `U1` and `u1␠` are three users, and `a1`, `A1` and `a1␠` three
/// accounts. SQL Server's usual collation joins the first two of each, and both servers the
/// last two; segc joins and groups string keys exactly (rule 15), so each user keeps its own
/// account and events.
#[test]
fn string_keys_stay_apart_on_sql_server_and_redshift() {
    let data = ["keys/data.sql"];
    let names = ["app.key_users", "app.key_accounts", "app.key_events"];
    // Without this the test would prove nothing: both servers' `=` joins the keys.
    let probes = [
        "SELECT COUNT_BIG(*) FROM [app].[key_users] AS [u] JOIN [app].[key_accounts] AS [a] ON [a].[account_id] = [u].[account_id]",
        "SELECT COUNT_BIG(*) FROM [app].[key_users] AS [u] JOIN [app].[key_events] AS [e] ON [e].[user_id] = [u].[user_id]",
    ];
    let got: Vec<Value> = emulate_on("sqlserver", tables(&data, &names), &probes)
        .iter()
        .map(|r| r["rows"][0][0].clone())
        .collect();
    // Exactly: 4 and 7. Folded and padded: u1, U1 and u1␠ meet all 3 accounts and all 7
    // events, u2 the 3 accounts.
    assert_eq!(got, [json!(12), json!(21)]);
    let probes = [
        "SELECT COUNT(*) FROM \"app\".\"key_users\" AS \"u\" JOIN \"app\".\"key_events\" AS \"e\" ON \"e\".\"user_id\" = \"u\".\"user_id\"",
    ];
    let got: Vec<Value> = emulate_on("redshift", tables(&data, &names), &probes)
        .iter()
        .map(|r| r["rows"][0][0].clone())
        .collect();
    // Padded: u1 and u1␠ share their 5 events.
    assert_eq!(got, [json!(12)]);

    let project = segc::validate::load_and_validate(&common::fixture("keys")).unwrap();
    for name in ["sqlserver", "redshift"] {
        let dialect = Dialect::load(name).unwrap();
        let sql = common::compile(&project, &dialect);
        common::assert_sendable(&sql, &dialect);
        let result = emulate_on(name, tables(&data, &names), &[&sql]);
        common::assert_key_members(name, &records(&result[0]));
    }
}

/// `segc sources --check` groups and joins string keys exactly on SQL Server and Redshift
/// too: under their padding (and SQL Server's folding) `u1`, `U1` and `u1␠` would be one key
/// held three times, and `U2` and `u2␠` would be `u2`'s events. The findings by hand are
/// common::CHECK_FINDINGS.
#[test]
fn sources_are_checked_exactly_on_sql_server_and_redshift() {
    let data = ["checks/data.sql"];
    let names = [
        "app.chk_users",
        "app.chk_accounts",
        "app.chk_plans",
        "app.chk_events",
    ];
    // Without this the test would prove nothing: grouped as SQL Server compares them, the
    // three `u1` keys and the two `u2` are 2 keys.
    let probe = "SELECT COUNT_BIG(*) FROM (SELECT [user_id] FROM [app].[chk_users] WHERE [user_id] IS NOT NULL GROUP BY [user_id]) AS [k]";
    let got = emulate_on("sqlserver", tables(&data, &names), &[probe]);
    assert_eq!(got[0]["rows"][0][0], json!(2));

    let project = segc::validate::load_and_validate(&common::fixture("checks")).unwrap();
    let plan = segc::plan::Plan::membership(
        &project,
        &segc::plan::ReportOptions::default(),
        common::date("2024-03-31"),
    )
    .unwrap();
    for name in ["sqlserver", "redshift"] {
        let dialect = Dialect::load(name).unwrap();
        let checks = segc::render::render_checks(&plan, &dialect, None).unwrap();
        let sql = checks.statement;
        common::assert_sendable(&sql, &dialect);
        let result = emulate_on(name, tables(&data, &names), &[&sql]);
        let mut got: Vec<(String, String, u64, u64)> = records(&result[0])
            .iter()
            .map(|r| {
                (
                    r["segc_source"].as_str().unwrap().to_string(),
                    r["segc_check"].as_str().unwrap().to_string(),
                    r["segc_keys"].as_u64().unwrap(),
                    r["segc_rows"].as_u64().unwrap_or(0),
                )
            })
            .collect();
        let mut want = common::expected_check_findings();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{name}:\n{sql}");
        // The queries listing the repeated keys list them as the check counted them.
        let queries: Vec<&str> = checks.lists.iter().map(|(_, q)| q.as_str()).collect();
        for query in &queries {
            common::assert_sendable(query, &dialect);
        }
        let listed = emulate_on(name, tables(&data, &names), &queries);
        let got: Vec<(String, Vec<Value>)> = checks
            .lists
            .iter()
            .zip(&listed)
            .map(|((source, _), result)| {
                let rows = result["rows"].as_array().unwrap().clone();
                (source.clone(), rows)
            })
            .collect();
        let want = vec![
            ("users".to_string(), vec![json!(["u2", 2])]),
            ("accounts".to_string(), vec![json!(["a2", 3])]),
            ("plans".to_string(), vec![json!(["a2", 2])]),
        ];
        assert_eq!(got, want, "{name}: {queries:?}");
    }
}

/// SQL Server pads a `char(n)` or `nchar(n)` value with spaces to the column's length (`FR` in
/// a `char(10)` is `FR` and eight spaces), and segc's exact comparison appends `NCHAR(1)`
/// after them: read as it is, such a column equals no `FR`, counts its padded values, and
/// prints them padded. With the users' `country` and the orders' `channel` stored padded and
/// typed `char`/`nchar` in the snapshot, SQL Server's statement reads them through `RTRIM` and
/// gives every value it gives over the unpadded rows; typed as plain strings (what the
/// catalog said of them before), it does not.
#[test]
fn a_fixed_length_string_of_sql_server_is_read_without_its_padding() {
    let definitions = "attributes:
  web_orders: { source: orders, agg: count, where: { channel: { eq: web } } }
  top_channel: { source: orders, agg: max, column: channel }
segments:
  - { name: fr, all: [ { country: { eq: FR } } ] }
  - { name: de_fr, all: [ { country: { in: [DE, FR] } } ] }
  - { name: ends_r, all: [ { country: { ends_with: R } } ] }
  - { name: web_buyers, all: [ { web_orders: { gte: 1 } } ] }
  - { name: top_web, all: [ { top_channel: { eq: web } } ] }
kpis:
  - { name: people, agg: count }
  - { name: countries, agg: count_distinct, of: country }
  - { name: last_country, agg: max, of: country }
  - { name: last_channel, agg: max, of: top_channel }
";
    let compile = |country: &str, channel: &str| {
        let dir = tempfile::tempdir().unwrap();
        common::copy_project(
            &common::fixture("core"),
            dir.path(),
            Some(&["sources.yml", "attributes.yml"]),
        );
        let defs = dir.path().join("segment-defs");
        std::fs::write(defs.join("fixed.yml"), definitions).unwrap();
        std::fs::write(
            defs.join("warehouse_schema.yml"),
            format!(
                "warehouse_schema:\n  target: mssql\n  dialect: sqlserver\n  sources:\n    users: {{ country: {country} }}\n    orders: {{ channel: {channel} }}\n"
            ),
        )
        .unwrap();
        let project = segc::validate::load_and_validate(dir.path()).unwrap();
        let dialect = Dialect::load("sqlserver").unwrap();
        let sql = common::compile(&project, &dialect);
        common::assert_sendable(&sql, &dialect);
        sql
    };
    let data = ["core/data.sql"];
    let names = [
        "app.users",
        "app.accounts",
        "app.events",
        "app.orders",
        "app.user_accounts",
    ];
    let plain = tables(&data, &names);
    // The same rows as a char(10) and an nchar(6) hold them.
    let mut padded = plain.clone();
    for table in padded.as_array_mut().unwrap() {
        let (name, width) = match table["name"].as_str() {
            Some("app.users") => ("country", 10),
            Some("app.orders") => ("channel", 6),
            _ => continue,
        };
        let index = table["columns"]
            .as_array()
            .unwrap()
            .iter()
            .position(|c| c[0] == name)
            .unwrap();
        for row in table["rows"].as_array_mut().unwrap() {
            if let Some(text) = row[index].as_str() {
                row[index] = json!(format!("{text:width$}"));
            }
        }
    }
    let by_segment = |result: &Value| {
        let mut rows = records(result);
        rows.sort_by_key(|r| r["segment"].as_str().unwrap_or_default().to_string());
        rows
    };
    let fixed = compile("char", "nchar");
    let expected = by_segment(&emulate_on("sqlserver", plain.clone(), &[&fixed])[0]);
    let row = |rows: &[serde_json::Map<String, Value>], segment: &str| {
        rows.iter()
            .find(|r| r["segment"] == segment)
            .unwrap_or_else(|| panic!("no row {segment}: {rows:?}"))
            .clone()
    };
    // The fixture exercises each: FR and DE users, web orders, a country ending in R.
    for segment in ["fr", "de_fr", "ends_r", "web_buyers", "top_web"] {
        assert!(
            row(&expected, segment)["people"].as_i64().unwrap() > 0,
            "{segment}: {expected:?}"
        );
    }
    let got = by_segment(&emulate_on("sqlserver", padded.clone(), &[&fixed])[0]);
    assert_eq!(got, expected, "{fixed}");
    assert_eq!(row(&got, "all_users")["last_channel"], json!("web"));
    // Read as they are, the padded values equal nothing and print padded.
    let plain_sql = compile("string", "string");
    let wrong = by_segment(&emulate_on("sqlserver", padded, &[&plain_sql])[0]);
    assert_eq!(row(&wrong, "fr")["people"], json!(0));
    assert_eq!(row(&wrong, "all_users")["last_channel"], json!("web   "));
}

/// SQL Server's `datetimeoffset` is a timestamp to segc, compared and dated at UTC
/// (SWITCHOFFSET), but a KPI's instant was printed through `CAST(… AS DATETIME2)`, which keeps
/// the value's own wall-clock time and drops its offset: 23:30 at -05:00 printed as 23:30 UTC.
/// The emulator holds such values as ISO text with their offset and switches them as SQL
/// Server does; a plain cast leaves the text as it is.
#[test]
fn an_instant_with_an_offset_prints_as_its_utc_time_on_sql_server() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(
        root.join("segc_project.yml"),
        "name: t\nas_of: 2024-03-31\ntime_zone: UTC\n",
    )
    .unwrap();
    std::fs::create_dir(root.join("segment-defs")).unwrap();
    std::fs::write(
        root.join("segment-defs/defs.yml"),
        "sources:
  users: { table: app.users, key: { column: user_id, type: integer }, columns: { signup_at: { column: created_at, type: timestamp } } }
  events: { table: app.events, user_key: user_id, time: { column: occurred_at, type: timestamp } }
attributes:
  last_seen: { source: events, agg: max, column: time }
segments:
  - { name: seen, all: [ { last_seen: { within_last: 30d } } ] }
kpis:
  - { name: people, agg: count }
  - { name: latest, agg: max, of: last_seen }
  - { name: earliest, agg: min, of: last_seen }
",
    )
    .unwrap();
    let project = segc::validate::load_and_validate(root).unwrap();
    let dialect = Dialect::load("sqlserver").unwrap();
    let sql = common::compile(&project, &dialect);
    common::assert_sendable(&sql, &dialect);
    let tables = json!([
        {
            "name": "app.users",
            "columns": [["user_id", "INTEGER"], ["created_at", "TIMESTAMP"]],
            "rows": [[1, "2024-01-01 00:00:00"], [2, "2024-01-01 00:00:00"]],
        },
        {
            "name": "app.events",
            "columns": [["user_id", "INTEGER"], ["occurred_at", "TIMESTAMP"]],
            "rows": [
                [1, "2024-03-10 23:30:00-05:00"],
                [1, "2024-03-09 12:00:00+00:00"],
                [2, "2024-03-12 01:15:00+02:00"],
            ],
        },
    ]);
    let result = emulate_on("sqlserver", tables, &[&sql]);
    let rows = records(&result[0]);
    let everyone = rows.iter().find(|r| r["segment"] == "all_users").unwrap();
    assert_eq!(everyone["people"], json!(2), "{everyone:?}");
    // User 1's last instant is 2024-03-11 04:30 UTC, user 2's 2024-03-11 23:15 UTC.
    assert_eq!(
        everyone["latest"],
        json!("2024-03-11 23:15:00"),
        "{everyone:?}"
    );
    assert_eq!(
        everyone["earliest"],
        json!("2024-03-11 04:30:00"),
        "{everyone:?}"
    );
}
