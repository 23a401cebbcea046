//! Rule 15: segc knows the type of every column it reads as a value: declared, from the
//! warehouse schema snapshot (`warehouse_schema.yml`), or refused with both fixes.

use std::path::Path;

use segc::error::Error;

mod common;

const SOURCES: &str = "sources:
  users:
    table: app.users
    key: user_id
    columns:
      signup_at: created_at
      country: country
      plan: { column: plan, type: string }
      tags: tags
  orders:
    table: app.orders
    user_key: user_id
    time: ordered_at
    columns:
      amount: amount
      channel: channel
";

const DEFINITIONS: &str = "attributes:
  channels: { source: orders, agg: count_distinct, column: channel }
  spend: { source: orders, agg: sum, column: amount, where: { channel: { eq: web } } }
segments:
  - { name: us, all: [ { country: { eq: US } } ] }
kpis:
  - { name: people, agg: count }
  - { name: channels_total, agg: sum, of: channels }
";

const SNAPSHOT: &str = "warehouse_schema:
  target: local
  dialect: duckdb
  sources:
    users: { signup_at: timestamp, country: string, plan: string, tags: \"VARCHAR[]\" }
    orders: { amount: number, channel: string }
  keys: { users: integer, orders: integer }
";

/// A project in a temporary folder: sources, definitions and, when given, a snapshot.
fn project(sources: &str, definitions: &str, snapshot: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(
        root.join("segc_project.yml"),
        "name: t\ndefinitions: defs\ndefault_target: local\nas_of: 2024-03-31\n",
    )
    .unwrap();
    std::fs::create_dir(root.join("defs")).unwrap();
    std::fs::write(root.join("defs/sources.yml"), sources).unwrap();
    std::fs::write(root.join("defs/definitions.yml"), definitions).unwrap();
    if let Some(snapshot) = snapshot {
        std::fs::write(root.join("defs/warehouse_schema.yml"), snapshot).unwrap();
    }
    dir
}

/// Each diagnostic as `file:line:col message` and its hint.
fn problems(root: &Path) -> Vec<(String, String)> {
    match segc::validate::load_and_validate(root) {
        Ok(_) => Vec::new(),
        Err(Error::Invalid(diagnostics)) => diagnostics
            .items
            .iter()
            .map(|d| {
                let at = d
                    .span
                    .as_ref()
                    .map(|s| diagnostics.sources.location(s))
                    .unwrap_or_default();
                (
                    format!("{at} {}", d.message),
                    d.hint.clone().unwrap_or_default(),
                )
            })
            .collect(),
        Err(other) => panic!("unexpected error: {other}"),
    }
}

#[test]
fn an_untyped_column_read_as_a_value_is_an_error_at_its_definition_with_both_fixes() {
    let dir = project(SOURCES, DEFINITIONS, None);
    let found = problems(dir.path());
    // country (a segment's subject), channel (a count_distinct's column and a where's
    // subject: one error), amount (a sum's column); tags is never read: no error.
    assert_eq!(found.len(), 3, "{found:#?}");
    let country = &found[0];
    assert!(
        country.0.starts_with("defs/sources.yml:7:7 the type of column `country` of source `users` is not known, and segment `us` reads it (as attribute `country`)"),
        "{country:#?}"
    );
    assert!(
        country
            .1
            .contains("`country: { column: country, type: string }`"),
        "{country:#?}"
    );
    assert!(
        country
            .1
            .contains("`segc sources --refresh --target local`"),
        "{country:#?}"
    );
    assert!(
        found[1]
            .0
            .starts_with("defs/sources.yml:15:7 the type of column `amount` of source `orders`")
            && found[1].0.contains("attribute `spend` reads it"),
        "{found:#?}"
    );
    assert!(
        found[2].0.starts_with("defs/sources.yml:16:7")
            && found[2].0.contains("attribute `channels` reads it"),
        "{found:#?}"
    );
}

#[test]
fn the_snapshot_types_the_columns() {
    let dir = project(SOURCES, DEFINITIONS, Some(SNAPSHOT));
    assert_eq!(problems(dir.path()), Vec::new());
}

#[test]
fn a_column_of_a_type_segc_does_not_support_is_refused_when_read() {
    let definitions =
        format!("{DEFINITIONS}  - {{ name: tagged, agg: count_distinct, of: tags }}\n");
    let dir = project(SOURCES, &definitions, Some(SNAPSHOT));
    let found = problems(dir.path());
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].0.starts_with(
            "defs/sources.yml:9:7 column `tags` of source `users` has the warehouse type `VARCHAR[]`"
        ) && found[0].0.contains("KPI `tagged` reads it (as attribute `tags`)"),
        "{found:#?}"
    );
    assert!(found[0].1.contains("type: string"), "{found:#?}");
    assert!(found[0].1.contains("segc sources --refresh"), "{found:#?}");
    // A declared type wins over the warehouse's.
    let declared = SOURCES.replace("tags: tags", "tags: { column: tags, type: string }");
    let dir = project(&declared, &definitions, Some(SNAPSHOT));
    assert_eq!(problems(dir.path()), Vec::new());
}

#[test]
fn a_declared_type_that_disagrees_with_the_snapshot_on_strings_is_an_error() {
    for (declared, warehouse, line) in
        [("string", "integer", "7:41"), ("integer", "string", "7:41")]
    {
        let sources = SOURCES.replace(
            "country: country",
            &format!("country: {{ column: country, type: {declared} }}"),
        );
        let snapshot = SNAPSHOT.replace("country: string", &format!("country: {warehouse}"));
        let dir = project(&sources, DEFINITIONS, Some(&snapshot));
        // (Declared an integer, `country` also cannot be compared with `US`.)
        let found: Vec<_> = problems(dir.path())
            .into_iter()
            .filter(|p| p.0.starts_with("defs/sources.yml"))
            .collect();
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].0.starts_with(&format!(
                "defs/sources.yml:{line} column `country` of source `users` is declared `{declared}`, but the warehouse has it as {warehouse} (defs/warehouse_schema.yml:5)"
            )),
            "{found:#?}"
        );
    }
}

/// A declaration wins over the snapshot's (or the catalog's) type only where it reads the
/// values as they are: `number` over whole numbers. Any other difference would have segc read
/// the column otherwise than the warehouse holds it, each warehouse its own way: a date
/// declared over timestamps matched only UTC midnights (a segment of 2 people had 0), a
/// timestamp over dates put each day a day early west of UTC, an integer over fractions
/// printed a maximum 2.5 as 2 from a double column and 3 from a numeric one, and a boolean
/// over integers left a 2 out of both `true` and `false` on DuckDB and failed on PostgreSQL.
#[test]
fn a_declared_type_that_would_read_the_column_otherwise_is_an_error() {
    for (declared, warehouse, why) in [
        ("integer", "number", "a number column may hold fractions"),
        ("date", "timestamp", "a date is a local day"),
        ("timestamp", "date", "a date is a local day"),
        ("boolean", "integer", "booleans compare with true and false"),
        ("integer", "boolean", "booleans compare with true and false"),
        ("date", "number", "another kind of value"),
        (
            "string",
            "number",
            "strings compare, count and sort differently",
        ),
    ] {
        let sources = SOURCES.replace(
            "amount: amount",
            &format!("amount: {{ column: amount, type: {declared} }}"),
        );
        let snapshot = SNAPSHOT.replace("amount: number", &format!("amount: {warehouse}"));
        assert!(
            snapshot.contains(&format!("amount: {warehouse}")),
            "{snapshot}"
        );
        let dir = project(&sources, DEFINITIONS, Some(&snapshot));
        let found: Vec<_> = problems(dir.path())
            .into_iter()
            .filter(|p| p.0.starts_with("defs/sources.yml"))
            .collect();
        assert_eq!(found.len(), 1, "{declared} over {warehouse}: {found:#?}");
        assert!(
            found[0].0.starts_with("defs/sources.yml:15:")
                && found[0].0.contains(&format!(
                    "column `amount` of source `orders` is declared `{declared}`, but the warehouse has it as {warehouse} (defs/warehouse_schema.yml:6)"
                )),
            "{declared} over {warehouse}: {found:#?}"
        );
        assert!(
            found[0].1.contains(why)
                && found[0].1.contains(&format!("declare `type: {warehouse}`")),
            "{declared} over {warehouse}: {found:#?}"
        );
    }
    // A number read from whole numbers is the same value: the declaration wins.
    let sources = SOURCES.replace("amount: amount", "amount: { column: amount, type: number }");
    let snapshot = SNAPSHOT.replace("amount: number", "amount: integer");
    let dir = project(&sources, DEFINITIONS, Some(&snapshot));
    assert_eq!(problems(dir.path()), Vec::new());
}

#[test]
fn two_snapshots_are_an_error() {
    let dir = project(SOURCES, DEFINITIONS, Some(SNAPSHOT));
    std::fs::write(dir.path().join("defs/zz_schema.yml"), SNAPSHOT).unwrap();
    let found = problems(dir.path());
    assert!(
        found.iter().any(|p| p
            .0
            .starts_with("defs/zz_schema.yml:1:1 `warehouse_schema` is written in two")),
        "{found:#?}"
    );
}

/// SQL Server compares strings with a case-insensitive collation unless told otherwise: a
/// `count_distinct` over a column the snapshot types as a string carries the binary one.
#[test]
fn sqlserver_counts_a_snapshot_typed_string_with_a_binary_collation() {
    let dir = project(SOURCES, DEFINITIONS, Some(SNAPSHOT));
    let project = segc::validate::load_and_validate(dir.path()).unwrap();
    let sqlserver = segc::dialect::Dialect::load("sqlserver").unwrap();
    let sql = common::compile(&project, &sqlserver);
    assert!(
        sql.contains(
            "COUNT_BIG(DISTINCT ([f].[channel] + NCHAR(1)) COLLATE Latin1_General_100_BIN2)"
        ),
        "{sql}"
    );
    assert!(
        sql.contains("COLLATE Latin1_General_100_BIN2 = (N'US' + NCHAR(1))"),
        "{sql}"
    );
    common::assert_sendable(&sql, &sqlserver);
}

/// SQL Server pads a `char(n)` or `nchar(n)` value with spaces to the column's length, and
/// segc compares strings exactly there (`+ NCHAR(1)`), so `FR` stored in a `char(10)` would
/// never equal `FR`: the snapshot keeps such a type's name, and segc reads the column as a
/// string without its trailing spaces (`RTRIM`), read as a value or declared a string; the
/// other columns are read as they are. (tests/padding.rs runs the statement under SQL
/// Server's rules over padded values.)
#[test]
fn a_fixed_length_string_of_sql_server_is_read_as_a_string_without_its_padding() {
    let snapshot = SNAPSHOT
        .replace("dialect: duckdb", "dialect: sqlserver")
        .replace("country: string", "country: char")
        .replace("plan: string", "plan: nchar")
        .replace("channel: string", "channel: \"CHAR(3)\"");
    let dir = project(SOURCES, DEFINITIONS, Some(&snapshot));
    assert_eq!(problems(dir.path()), Vec::new());
    let validated = segc::validate::load_and_validate(dir.path()).unwrap();
    let padded = |source: &str, column: &str| {
        let source = validated.sources.iter().find(|s| s.name == source).unwrap();
        let column = source.column(column).unwrap();
        (column.value_type, column.stored == segc::ir::Stored::Padded)
    };
    let string = segc::ir::ValueType::String;
    assert_eq!(padded("users", "country"), (string, true));
    assert_eq!(padded("users", "plan"), (string, true));
    assert_eq!(padded("orders", "channel"), (string, true));
    assert!(!padded("orders", "amount").1);
    let sqlserver = segc::dialect::Dialect::load("sqlserver").unwrap();
    let sql = common::compile(&validated, &sqlserver);
    assert!(sql.contains("RTRIM([u].[country]) AS [country]"), "{sql}");
    assert!(sql.contains("(RTRIM([f].[channel]) + NCHAR(1))"), "{sql}");
    common::assert_sendable(&sql, &sqlserver);

    // A key of such a type is a string key read without its padding, so it joins the same
    // users' varchar key exactly (compared as it is, `u1` and `U1` would be one user).
    let keyed = snapshot.replace(
        "keys: { users: integer, orders: integer }",
        "keys: { users: nchar, orders: string }",
    );
    let dir = project(SOURCES, DEFINITIONS, Some(&keyed));
    assert_eq!(problems(dir.path()), Vec::new());
    let validated = segc::validate::load_and_validate(dir.path()).unwrap();
    let keys: Vec<_> = validated
        .sources
        .iter()
        .map(|s| (s.name.as_str(), s.key_type, s.key_padded))
        .collect();
    let string = segc::ir::KeyType::String;
    assert_eq!(keys, [("users", string, true), ("orders", string, false)]);
    let sql = common::compile(&validated, &sqlserver);
    assert!(sql.contains("(RTRIM([u].[user_id]) + NCHAR(1))"), "{sql}");
    assert!(sql.contains("([f].[user_id] + NCHAR(1))"), "{sql}");
    common::assert_sendable(&sql, &sqlserver);
}

#[test]
fn compile_is_offline_and_names_the_missing_types() {
    let dir = project(SOURCES, DEFINITIONS, None);
    let output = assert_cmd::Command::cargo_bin("segc")
        .unwrap()
        .args(["compile", "--dialect", "sqlserver", "--project"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = common::output_text(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("defs/sources.yml:7:7"), "{text}");
    assert!(
        text.contains("segc sources --refresh --target local"),
        "{text}"
    );
}

#[test]
fn sources_lists_declared_and_snapshot_types() {
    let dir = project(SOURCES, DEFINITIONS, Some(SNAPSHOT));
    let output = assert_cmd::Command::cargo_bin("segc")
        .unwrap()
        .args(["sources", "--project"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = common::output_text(&output);
    assert!(output.status.success(), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        [
            "source",
            "column",
            "warehouse",
            "column",
            "declared",
            "snapshot"
        ]
    );
    let row = |name: &str| -> Vec<&str> {
        lines
            .iter()
            .find(|l| l.split_whitespace().nth(1) == Some(name))
            .unwrap_or_else(|| panic!("{name}: {text}"))
            .split_whitespace()
            .collect()
    };
    assert_eq!(
        row("country"),
        ["users", "country", "country", "–", "string"]
    );
    assert_eq!(row("plan"), ["users", "plan", "plan", "string", "string"]);
    assert_eq!(row("tags"), ["users", "tags", "tags", "–", "VARCHAR[]"]);
    assert_eq!(row("(key)"), ["users", "(key)", "user_id", "–", "integer"]);
    assert_eq!(
        row("(user_key)"),
        ["orders", "(user_key)", "user_id", "–", "integer"]
    );
    assert!(
        text.contains("snapshot: defs/warehouse_schema.yml (target `local`)"),
        "{text}"
    );
}

/// The demo project (`segc init --demo`) in a temporary folder: the folder and the project.
#[cfg(feature = "duckdb")]
fn demo() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("demo");
    let output = assert_cmd::Command::cargo_bin("segc")
        .unwrap()
        .arg("init")
        .arg("--demo")
        .arg(&root)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", common::output_text(&output));
    (dir, root)
}

/// `segc sources --refresh` on the demo database writes the snapshot this repository checks
/// in, the same on a second run, after which `compile` succeeds offline; `run` without a
/// snapshot reads the types it misses from the catalog itself.
#[cfg(feature = "duckdb")]
#[test]
fn sources_refresh_writes_the_snapshot_and_compile_then_succeeds_offline() {
    let (_dir, root) = demo();
    let segc = || assert_cmd::Command::cargo_bin("segc").unwrap();
    let snapshot = root.join("segment-defs/warehouse_schema.yml");
    std::fs::remove_file(&snapshot).unwrap();
    let compile = |args: &[&str]| {
        segc()
            .arg("compile")
            .args(args)
            .arg("--project")
            .arg(&root)
            .output()
            .unwrap()
    };
    let output = compile(&["--dialect", "sqlserver"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        common::output_text(&output).contains("segc sources --refresh --target local"),
        "{}",
        common::output_text(&output)
    );
    // `run` learns the missing types from the catalog, in memory only.
    let json = common::run_json(&root, &["--as-of", "2026-10-31"]);
    assert!(
        json["rows"].as_array().is_some_and(|r| r.len() > 3),
        "{json}"
    );
    assert!(!snapshot.exists());

    let refresh = || {
        let output = segc()
            .args(["sources", "--refresh", "--target", "local", "--project"])
            .arg(&root)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", common::output_text(&output));
        std::fs::read_to_string(&snapshot).unwrap()
    };
    let first = refresh();
    let second = refresh();
    assert_eq!(first, second);
    let checked_in = std::fs::read_to_string(
        common::repository_root().join("segment-defs/warehouse_schema.yml"),
    )
    .unwrap();
    assert_eq!(
        first, checked_in,
        "segment-defs/warehouse_schema.yml is stale: run `segc sources --refresh`"
    );
    assert!(first.contains("      country: string\n"), "{first}");
    for dialect in ["sqlserver", "postgres"] {
        let output = compile(&["--dialect", dialect]);
        assert!(output.status.success(), "{}", common::output_text(&output));
    }
}

/// A snapshot left stale after a table changed would have `run` read the column the old way:
/// here `orders.ordered_at` became the dates of the project's time zone (Phoenix, UTC-7 all
/// year), which a timestamp snapshot read as UTC midnights, a day early, and every order KPI
/// changed (and the table was renamed `Orders`, which DuckDB's names, without case, still
/// read); and `accounts.mrr_usd` became integers. `run`, `explain`, `overlap` and `sources
/// --check` compare the snapshot with the catalog first and stop at the snapshot's lines,
/// naming both types and the refresh; a declared type wins over its stale entry; refreshed,
/// the orders count as before.
#[cfg(feature = "duckdb")]
#[test]
fn a_snapshot_the_warehouse_no_longer_matches_stops_the_run_at_its_line() {
    let (_dir, root) = demo();
    let segc = || assert_cmd::Command::cargo_bin("segc").unwrap();
    let settings = root.join("segc_project.yml");
    let text = std::fs::read_to_string(&settings).unwrap();
    assert!(text.contains("\ntime_zone: UTC"), "{text}");
    std::fs::write(
        &settings,
        text.replace("\ntime_zone: UTC", "\ntime_zone: America/Phoenix"),
    )
    .unwrap();
    let args = [
        "--as-of",
        "2026-10-31",
        "-k",
        "orders_period,revenue_period",
    ];
    let before = common::run_json(&root, &args);

    let database = root.join("target/demo.duckdb");
    let connection = duckdb::Connection::open(&database).unwrap();
    connection
        .execute_batch(
            "ALTER TABLE app.orders ALTER ordered_at TYPE DATE USING \
             CAST(ordered_at - INTERVAL 7 HOUR AS DATE);
             ALTER TABLE app.accounts ALTER mrr_usd TYPE INTEGER;
             ALTER TABLE app.orders RENAME TO \"Orders\";",
        )
        .unwrap();
    drop(connection);
    let snapshot = root.join("segment-defs/warehouse_schema.yml");
    let lines = std::fs::read_to_string(&snapshot).unwrap();
    // Where `text` starts in the snapshot: its line, and the column of the type after it.
    let line_of = |text: &str| {
        let at = lines
            .find(text)
            .unwrap_or_else(|| panic!("no {text:?} in\n{lines}"));
        let line = lines[..at + text.len()].lines().count();
        let column = text.lines().last().unwrap().len() + 2;
        (line, column)
    };
    let (time_line, time_column) = line_of("\n    orders:\n      time:");
    let (mrr_line, mrr_column) = line_of("\n      mrr:");
    for command in [
        vec!["run", "--as-of", "2026-10-31"],
        vec!["explain", "power_users"],
        vec!["overlap"],
        vec!["sources", "--check"],
    ] {
        let output = segc()
            .args(&command)
            .arg("--project")
            .arg(&root)
            .output()
            .unwrap();
        let text = common::output_text(&output);
        assert_eq!(output.status.code(), Some(1), "{command:?}: {text}");
        for expected in [
            format!(
                "the warehouse schema snapshot has the `time` column of source `orders` as a timestamp, but the catalog of target `local` has it as a date\n  --> segment-defs/warehouse_schema.yml:{time_line}:{time_column}"
            ),
            format!(
                "the warehouse schema snapshot has column `mrr` of source `accounts` as a number, but the catalog of target `local` has it as an integer\n  --> segment-defs/warehouse_schema.yml:{mrr_line}:{mrr_column}"
            ),
            "refresh it (`segc sources --refresh --target local`)".to_string(),
            "2 problems found".to_string(),
        ] {
            assert!(text.contains(&expected), "{command:?}: {expected}\n{text}");
        }
    }

    // A declared type wins over the snapshot's: its stale entry decides nothing.
    let sources = root.join("segment-defs/sources.yml");
    let text = std::fs::read_to_string(&sources).unwrap();
    assert!(text.contains("      mrr: mrr_usd\n"), "{text}");
    std::fs::write(
        &sources,
        text.replace(
            "      mrr: mrr_usd\n",
            "      mrr: { column: mrr_usd, type: number }\n",
        ),
    )
    .unwrap();
    let output = segc()
        .args(["run", "--as-of", "2026-10-31", "--project"])
        .arg(&root)
        .output()
        .unwrap();
    let text = common::output_text(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("1 problem found") && text.contains("`time` column of source `orders`"),
        "{text}"
    );

    let output = segc()
        .args(["sources", "--refresh", "--project"])
        .arg(&root)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", common::output_text(&output));
    let refreshed = std::fs::read_to_string(&snapshot).unwrap();
    assert!(refreshed.contains("      mrr: integer\n"), "{refreshed}");
    // The dates are the orders' local days: read as such, the period counts as before.
    let after = common::run_json(&root, &args);
    assert_eq!(after["rows"], before["rows"]);
    assert!(
        before["rows"][0]["orders_period"]
            .as_f64()
            .is_some_and(|n| n > 0.0),
        "{before}"
    );
}

/// The snapshot without its `keys:` (as written before keys were recorded).
fn snapshot_without_keys() -> String {
    SNAPSHOT.replace("  keys: { users: integer, orders: integer }\n", "")
}

fn compile_text(root: &Path, dialect: &str) -> (Option<i32>, String) {
    let output = assert_cmd::Command::cargo_bin("segc")
        .unwrap()
        .args(["compile", "--dialect", dialect, "--project"])
        .arg(root)
        .output()
        .unwrap();
    (output.status.code(), common::output_text(&output))
}

/// Rule 15 for keys: a string key is joined and grouped exactly where `=` may fold case or
/// pad (every dialect: a DuckDB column may be created `COLLATE NOCASE`), any other as it is;
/// where its type is unknown, the SQL is not written, and the error names the key and both
/// fixes.
#[test]
fn keys_are_typed_before_a_dialect_whose_equality_folds_joins_them() {
    let dir = project(SOURCES, DEFINITIONS, Some(&snapshot_without_keys()));
    for dialect in ["sqlserver", "redshift", "bigquery", "postgres", "duckdb"] {
        let (code, text) = compile_text(dir.path(), dialect);
        assert_eq!(code, Some(1), "{dialect}: {text}");
        assert!(
            text.contains("the type of `key` (column `user_id`) of source `users` is not known (defs/sources.yml:4)"),
            "{dialect}: {text}"
        );
        assert!(
            text.contains("`key: { column: user_id, type: string }`")
                && text.contains("segc sources --refresh --target local"),
            "{dialect}: {text}"
        );
    }
    let sqlserver = segc::dialect::Dialect::load("sqlserver").unwrap();
    // Declared a string on the user table: the orders' key takes its type.
    let declared = SOURCES.replace(
        "    key: user_id",
        "    key: { column: user_id, type: string }",
    );
    let dir = project(&declared, DEFINITIONS, Some(&snapshot_without_keys()));
    let validated = segc::validate::load_and_validate(dir.path()).unwrap();
    let sql = common::compile(&validated, &sqlserver);
    for want in [
        "([u].[user_id] + NCHAR(1)) COLLATE Latin1_General_100_BIN2 AS [segc_user]",
        "([f].[user_id] + NCHAR(1)) COLLATE Latin1_General_100_BIN2 AS [segc_user]",
        "GROUP BY ([f].[user_id] + NCHAR(1)) COLLATE Latin1_General_100_BIN2",
    ] {
        assert!(sql.contains(want), "{want}\n{sql}");
    }
    common::assert_sendable(&sql, &sqlserver);
    let duckdb = segc::dialect::Dialect::load("duckdb").unwrap();
    let sql = common::compile(&validated, &duckdb);
    for want in [
        "(CAST(\"u\".\"user_id\" AS VARCHAR) COLLATE \"binary\") AS \"segc_user\"",
        "GROUP BY (CAST(\"f\".\"user_id\" AS VARCHAR) COLLATE \"binary\")",
    ] {
        assert!(sql.contains(want), "{want}\n{sql}");
    }
    common::assert_sendable(&sql, &duckdb);
    // Integers (here from the snapshot) are joined as they are.
    let dir = project(SOURCES, DEFINITIONS, Some(SNAPSHOT));
    let validated = segc::validate::load_and_validate(dir.path()).unwrap();
    let sql = common::compile(&validated, &sqlserver);
    assert!(sql.contains("[u].[user_id] AS [segc_user]"), "{sql}");
    assert!(!sql.contains("[user_id] + NCHAR(1)"), "{sql}");
}

#[test]
fn a_declared_key_type_must_agree_with_the_snapshot_and_with_the_key_it_joins() {
    let declared = SOURCES.replace(
        "    key: user_id",
        "    key: { column: user_id, type: string }",
    );
    let dir = project(&declared, DEFINITIONS, Some(SNAPSHOT));
    let found = problems(dir.path());
    // The declaration disagrees with the snapshot, and so with the orders' key.
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[0].0.starts_with("defs/sources.yml:4:35 the `key` of source `users` is declared `string`, but the warehouse has it as integer (defs/warehouse_schema.yml:7)"),
        "{found:#?}"
    );
    assert!(
        found[1]
            .0
            .starts_with("defs/sources.yml:12:15 the key of source `orders` is not a string"),
        "{found:#?}"
    );
    let joined = declared.replace(
        "user_key: user_id",
        "user_key: { column: user_id, type: integer }",
    );
    let dir = project(&joined, DEFINITIONS, Some(&snapshot_without_keys()));
    let found = problems(dir.path());
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].0.starts_with("defs/sources.yml:12:25 the key of source `orders` is not a string, but the user table's key, which it joins, is a string"),
        "{found:#?}"
    );
    let unknown = SOURCES.replace(
        "    key: user_id",
        "    key: { column: user_id, type: text_id }",
    );
    let found = problems(project(&unknown, DEFINITIONS, Some(SNAPSHOT)).path());
    assert!(found[0].0.contains("unknown type `text_id`"), "{found:#?}");
}

/// The snapshot against a catalog, type by type: types segc reads must agree; two types it
/// cannot read are the same unless one is a fixed-length string (read as a string without its
/// padding), which a varchar or another unsupported type in its place is not.
#[test]
fn a_snapshot_is_compared_with_the_catalog_type_by_type() {
    use segc::catalog::{SourceTypes, WarehouseType};
    let snapshot = SNAPSHOT
        .replace("dialect: duckdb", "dialect: sqlserver")
        .replace("country: string", "country: char");
    let dir = project(SOURCES, DEFINITIONS, Some(&snapshot));
    let files = segc::spec::load_project(dir.path()).unwrap();
    let string = WarehouseType::Known(segc::ir::ValueType::String);
    let other = |name: &str| WarehouseType::Unsupported(name.to_string());
    let users = |country: WarehouseType, tags: WarehouseType| SourceTypes {
        source: "users".into(),
        columns: vec![
            ("country".into(), country),
            ("plan".into(), string.clone()),
            ("tags".into(), tags),
        ],
        ..Default::default()
    };
    let stale = |read: SourceTypes| -> Vec<String> {
        segc::catalog::disagreements(&files, &[read], "local")
            .iter()
            .map(|d| d.message.clone())
            .collect()
    };
    // As the snapshot says: an nchar is a fixed-length string too; arrays differ in name only.
    assert_eq!(
        stale(users(other("nchar"), other("ARRAY"))),
        Vec::<String>::new()
    );
    assert_eq!(
        stale(users(string.clone(), other("VARCHAR[]"))),
        [
            "the warehouse schema snapshot has column `country` of source `users` as `char`, but the catalog of target `local` has it as a string"
        ]
    );
    assert_eq!(
        stale(users(other("uniqueidentifier"), other("VARCHAR[]"))).len(),
        1
    );
    assert_eq!(
        stale(users(other("char"), string.clone())),
        [
            "the warehouse schema snapshot has column `tags` of source `users` as `VARCHAR[]`, but the catalog of target `local` has it as a string"
        ]
    );
}

/// A string declared over a DuckDB type segc cannot read (an ENUM, a UUID) is read as
/// VARCHAR before its exact comparison: before, DuckDB refused the statement ("collations
/// are only supported for type varchar"), though segc's own hint says to declare the type.
/// The ENUM compares and orders as text (its maximum is `sad`), not in its declared order
/// (`happy`).
#[test]
fn a_string_declared_over_an_enum_or_a_uuid_reads_as_text_on_duckdb() {
    let dir = duckdb_project(
        "CREATE SCHEMA app;
             CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
             CREATE TABLE app.users (user_id INTEGER, created_at TIMESTAMP, m mood, u UUID);
             INSERT INTO app.users VALUES
               (1, TIMESTAMP '2024-01-01', 'ok', '6f9619ff-8b86-d011-b42d-00c04fc964ff'),
               (2, TIMESTAMP '2024-01-01', 'happy', '6f9619ff-8b86-d011-b42d-00c04fc964ff'),
               (3, TIMESTAMP '2024-01-01', 'sad', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');",
        "sources:\n\
         \x20 users: { table: app.users, key: { column: user_id, type: integer }, columns: { signup_at: { column: created_at, type: timestamp }, m: { column: m, type: string }, u: { column: u, type: string } } }\n\
         segments:\n\
         \x20 - { name: ok, all: [ { m: { eq: ok } } ] }\n\
         \x20 - { name: a0, all: [ { u: { starts_with: a0ee } } ] }\n\
         kpis:\n\
         \x20 - { name: people, agg: count }\n\
         \x20 - { name: moods, agg: count_distinct, of: m }\n\
         \x20 - { name: ids, agg: count_distinct, of: u }\n\
         \x20 - { name: last_mood, agg: max, of: m }\n",
    );
    let root = dir.path();
    let output = assert_cmd::Command::cargo_bin("segc")
        .unwrap()
        .args(["run", "-o", "json", "--project"])
        .arg(root)
        .arg("--profiles-dir")
        .arg(root)
        .output()
        .unwrap();
    let text = common::output_text(&output);
    assert!(output.status.success(), "{text}");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let everyone = common::json_row(&json, "all_users").unwrap();
    assert_eq!(everyone["moods"], 3, "{json}");
    assert_eq!(everyone["ids"], 2, "{json}");
    assert_eq!(everyone["last_mood"], "sad", "{json}");
    assert_eq!(
        common::json_row(&json, "ok").unwrap()["people"],
        1,
        "{json}"
    );
    assert_eq!(
        common::json_row(&json, "a0").unwrap()["people"],
        1,
        "{json}"
    );
}

/// The schema of a table named without one is asked of the warehouse where the dialect has a
/// `visible` query, and a warehouse that cannot answer it (the query fails) leaves the name
/// to the dialect's default schema, as before: the catalog is still read. On DuckDB, with a
/// stand-in `visible` query: `orders` resolves to `app`, where its time column is a DATE,
/// not to `main`, where a stale copy has a TIMESTAMP.
#[test]
fn a_bare_table_is_looked_up_where_the_visible_query_says_else_in_the_default_schema() {
    let dir = duckdb_project(
        "CREATE SCHEMA app;
             CREATE TABLE app.users (user_id INTEGER, created_at TIMESTAMP);
             CREATE TABLE app.orders (user_id INTEGER, ordered_on DATE);
             CREATE TABLE main.orders (user_id INTEGER, ordered_on TIMESTAMP);",
        "sources:\n  users: { table: app.users, key: { column: user_id, type: integer }, columns: { signup_at: { column: created_at, type: timestamp } } }\n  orders: { table: orders, user_key: { column: user_id, type: integer }, time: ordered_on }\n",
    );
    let root = dir.path();
    let database = root.join("d.duckdb");
    let files = segc::spec::load_project(root).unwrap();
    let project = segc::validate::validate_with(
        files,
        &segc::validate::LearnedTypes::new(),
        segc::validate::TypeCheck::Off,
    )
    .unwrap();
    let sources: Vec<&segc::ir::Source> = project.sources.iter().collect();
    let time_type = |visible: Option<&str>| {
        let mut dialect = segc::dialect::Dialect::load("duckdb").unwrap();
        dialect.catalog.visible = visible.map(str::to_string);
        let mut driver = segc::driver::duckdb::DuckDb::open_read_only(&database).unwrap();
        let read = segc::catalog::read(&mut driver, &dialect, &sources, "local").unwrap();
        let orders = read.iter().find(|s| s.source == "orders").unwrap();
        assert!(orders.problems.is_empty(), "{:?}", orders.problems);
        orders.times.clone()
    };
    let date = segc::catalog::WarehouseType::Known(segc::ir::ValueType::Date);
    let timestamp = segc::catalog::WarehouseType::Known(segc::ir::ValueType::Timestamp);
    assert_eq!(
        time_type(None),
        vec![("time".to_string(), timestamp.clone())]
    );
    assert_eq!(
        time_type(Some(
            "SELECT table_schema, table_name FROM information_schema.tables \
             WHERE table_name IN ({tables}) ORDER BY table_schema"
        )),
        vec![("time".to_string(), date)]
    );
    assert_eq!(
        time_type(Some("SELECT a, b FROM no_such_table WHERE b IN ({tables})")),
        vec![("time".to_string(), timestamp)]
    );
}

/// A project in a temporary folder reading a DuckDB database `d.duckdb` there (made by
/// `setup`), as of 2024-03-31, with target `local` and `definitions` in segment-defs.
fn duckdb_project(setup: &str, definitions: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let connection = duckdb::Connection::open(root.join("d.duckdb")).unwrap();
    connection.execute_batch(setup).unwrap();
    drop(connection);
    std::fs::write(
        root.join("segc_project.yml"),
        "name: t\nas_of: 2024-03-31\ndefault_target: local\n",
    )
    .unwrap();
    std::fs::write(
        root.join("profiles.yml"),
        "local: { type: duckdb, path: d.duckdb }\n",
    )
    .unwrap();
    std::fs::create_dir(root.join("segment-defs")).unwrap();
    std::fs::write(root.join("segment-defs/defs.yml"), definitions).unwrap();
    dir
}

/// A declared type leaves the snapshot to say how the column is stored: a `number` declared
/// over a double that became a single-precision FLOAT after the snapshot was written is
/// stale there, and the run says so, where before it read the FLOAT as it is (DuckDB
/// comparing `eq: 16777217` in single precision matched the stored 16777216, PostgreSQL
/// reading it as a double did not). Refreshed, the snapshot reads it as a double.
#[test]
fn a_declared_number_over_a_column_now_stored_in_single_precision_needs_a_refresh() {
    let dir = duckdb_project(
        "CREATE SCHEMA app;
         CREATE TABLE app.users (user_id INTEGER, created_at TIMESTAMP, r DOUBLE);
         INSERT INTO app.users VALUES (1, '2024-01-01', 16777217), (2, '2024-01-01', 0.5);",
        "sources:\n  users: { table: app.users, key: user_id, columns: { signup_at: created_at, r: { column: r, type: number } } }\n\
         segments:\n  - { name: exact, all: [ { r: { eq: 16777217 } } ] }\n\
         kpis:\n  - { name: people, agg: count }\n",
    );
    let root = dir.path();
    let segc = || {
        let mut command = assert_cmd::Command::cargo_bin("segc").unwrap();
        command.current_dir(root);
        command
    };
    let refreshed = segc().args(["sources", "--refresh"]).output().unwrap();
    assert!(
        refreshed.status.success(),
        "{}",
        common::output_text(&refreshed)
    );
    let connection = duckdb::Connection::open(root.join("d.duckdb")).unwrap();
    connection
        .execute_batch("ALTER TABLE app.users ALTER COLUMN r TYPE FLOAT")
        .unwrap();
    drop(connection);
    let stale = segc().args(["run", "-o", "csv"]).output().unwrap();
    let text = common::output_text(&stale);
    assert_eq!(stale.status.code(), Some(1), "{text}");
    assert!(
        text.contains("the warehouse schema snapshot has column `r` of source `users` as a number, but the catalog of target `local` has it as `FLOAT`"),
        "{text}"
    );
    let refreshed = segc().args(["sources", "--refresh"]).output().unwrap();
    assert!(
        refreshed.status.success(),
        "{}",
        common::output_text(&refreshed)
    );
    let snapshot = std::fs::read_to_string(root.join("segment-defs/warehouse_schema.yml")).unwrap();
    assert!(snapshot.contains("r: \"FLOAT\""), "{snapshot}");
    let json = common::run_json(root, &["--as-of", "2024-03-31"]);
    let exact = json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["segment"] == "exact")
        .unwrap();
    // Stored as 16777216, the double no `eq: 16777217` matches.
    assert_eq!(exact["people"], 0, "{json}");
}

/// A run on a target other than the default that cannot type a column names that target
/// in the refresh it suggests (it named the project's default, whose catalog was not read);
/// and a project with another problem reports only that problem on `run`, since the run
/// reads the missing types from the catalog once it is fixed (it reported the column's type
/// as not known too), while `compile`, which reads no catalog, names both.
#[test]
fn a_run_names_its_own_target_and_leaves_types_to_the_catalog_until_the_definitions_hold() {
    let dir = duckdb_project(
        "CREATE SCHEMA app;
         CREATE TABLE app.users (user_id INTEGER, created_at TIMESTAMP, country VARCHAR);
         INSERT INTO app.users VALUES (1, '2024-01-01', 'US');",
        "sources:\n  users: { table: app.users, key: user_id, columns: { signup_at: created_at, country: country } }\n\
         segments:\n  - { name: us, all: [ { country: { eq: US } } ] }\n\
         kpis:\n  - { name: people, agg: count }\n",
    );
    let root = dir.path();
    let other = duckdb::Connection::open(root.join("o.duckdb")).unwrap();
    other
        .execute_batch(
            "CREATE SCHEMA app; CREATE TABLE app.users (user_id INTEGER, created_at TIMESTAMP);",
        )
        .unwrap();
    drop(other);
    std::fs::write(
        root.join("profiles.yml"),
        "local: { type: duckdb, path: d.duckdb }\nother: { type: duckdb, path: o.duckdb }\n",
    )
    .unwrap();
    let segc = |args: &[&str]| {
        let mut command = assert_cmd::Command::cargo_bin("segc").unwrap();
        let output = command.current_dir(root).args(args).output().unwrap();
        (output.status.code(), common::output_text(&output))
    };
    let (code, text) = segc(&["run", "--target", "other", "-o", "csv"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("the type of column `country` of source `users` is not known")
            && text.contains("`segc sources --refresh --target other`")
            && !text.contains("--target local"),
        "{text}"
    );
    // `compile` reads no catalog, and names the target it compiles for.
    let (code, text) = segc(&["compile", "--target", "other"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("`segc sources --refresh --target other`")
            && !text.contains("--target local"),
        "{text}"
    );
    // The default target's catalog types the column.
    let (code, text) = segc(&["run", "-o", "csv"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains(",us,,1"), "{text}");

    // A definition error: `run` names it alone, `compile` names the untyped column too.
    std::fs::write(
        root.join("segment-defs/defs.yml"),
        "sources:\n  users: { table: app.users, key: user_id, columns: { signup_at: created_at, country: country } }\n\
         segments:\n  - { name: us, all: [ { country: { eq: US } } ] }\n\
         kpis:\n  - { name: people, agg: count }\n  - { name: typo, agg: sum, of: no_such_attribute }\n",
    )
    .unwrap();
    for args in [&["run", "-o", "csv"][..], &["explain", "us"], &["compile"]] {
        let (code, text) = segc(args);
        assert_eq!(code, Some(1), "{args:?}: {text}");
        assert!(text.contains("no_such_attribute"), "{args:?}: {text}");
        assert_eq!(
            text.contains("is not known"),
            args[0] == "compile",
            "{args:?}: {text}"
        );
    }
    // A type the snapshot says segc cannot read is no catalog's to give: `run` names it with
    // the definition error.
    std::fs::write(
        root.join("segment-defs/warehouse_schema.yml"),
        "warehouse_schema:\n  target: local\n  dialect: duckdb\n  sources:\n    users: { signup_at: timestamp, country: \"VARCHAR[]\" }\n  keys: { users: integer }\n",
    )
    .unwrap();
    let (code, text) = segc(&["run", "-o", "csv"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("no_such_attribute")
            && text
                .contains("has the warehouse type `VARCHAR[]`, which segc cannot read as a value"),
        "{text}"
    );
}

/// BigQuery's zone-less `DATETIME` is a type segc cannot read, and BigQuery compares it with
/// neither a TIMESTAMP nor a DATE: segc's help said to declare `type: timestamp`, and the
/// statement it then wrote failed there ("no matching signature"; the emulator, on DuckDB,
/// ran it). A date or timestamp declared over it is an error, and the help names the view
/// that converts it.
#[test]
fn a_date_or_timestamp_declared_over_bigquerys_datetime_is_an_error_with_the_view_to_write() {
    let snapshot = "warehouse_schema:
  target: bq
  dialect: bigquery
  sources:
    users: { signup_at: datetime }
    events: { seen: DATETIME }
  keys: { users: integer, events: integer }
  times: { events: { time: datetime } }
";
    let definitions = "attributes:
  last_seen: { source: events, agg: max, column: seen }
segments:
  - { name: recent, all: [ { last_seen: { within_last: 7d } } ] }
kpis:
  - { name: people, agg: count }
";
    for declared in [false, true] {
        let typed = |column: &str| match declared {
            true => format!("{{ column: {column}, type: timestamp }}"),
            false => column.to_string(),
        };
        let sources = format!(
            "sources:\n  users: {{ table: app.users, key: user_id, columns: {{ signup_at: {} }} }}\n  events: {{ table: app.events, user_key: user_id, time: {}, columns: {{ seen: {} }} }}\n",
            typed("created_at"),
            typed("occurred_at"),
            typed("seen"),
        );
        let dir = project(&sources, definitions, Some(snapshot));
        let mut found = problems(dir.path());
        if !declared {
            // The attribute over the unread column has no type for `within_last` either.
            found.retain(|(message, _)| !message.contains("`within_last` applies"));
        }
        assert_eq!(found.len(), 3, "declared: {declared}: {found:#?}");
        for (message, hint) in &found {
            assert!(
                message.contains("`datetime`") || message.contains("`DATETIME`"),
                "{message}"
            );
            assert!(
                hint.contains("BigQuery compares a DATETIME with neither")
                    && hint.contains("TIMESTAMP(col, 'UTC')"),
                "{message}: {hint}"
            );
        }
    }
}
