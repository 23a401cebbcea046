//! The fan-out on PostgreSQL: the synthetic warehouse of `segc bench-data` written by SQL into
//! a new database `segc_bench` (the same shape, with PostgreSQL's hash functions for values),
//! the generated projects of 30 and 300 segments × 20 KPIs, each statement next to its floor
//! (in turn, five rounds: medians of the rounds and of their ratios), and a review of
//! `EXPLAIN (ANALYZE)`: how often each source table is scanned, and each nested loop by what
//! it joins (the reported rows, one row, or other).
//!
//! `SEGC_BENCH_POSTGRES` holds a libpq connection string of a server where the benchmark may
//! drop and create database `segc_bench` (`host=127.0.0.1 port=5432 user=postgres`);
//! `SEGC_BENCH_EXPLAIN=DIR` keeps each plan there.

use std::time::Instant;

use segc::dialect::Dialect;
use segc::plan::{Plan, ReportOptions};
use segc::render::render;

use crate::{fanout, generate};

/// The synthetic warehouse in PostgreSQL's SQL: `hashint8extended(n, seed)` plays DuckDB's
/// `hash()`.
fn warehouse_sql(users: usize) -> String {
    let accounts = (users / 3).max(1);
    format!(
        "
CREATE SCHEMA app;
CREATE TABLE app.accounts AS
SELECT i AS account_id,
  CASE WHEN abs(hashint8extended(i, 1)) % 10 < 5 THEN 'free' WHEN abs(hashint8extended(i, 1)) % 10 < 8 THEN 'starter'
       WHEN abs(hashint8extended(i, 1)) % 10 < 9 THEN 'pro' ELSE 'enterprise' END AS plan_name,
  CAST(abs(hashint8extended(i, 2)) % 1500 AS DOUBLE PRECISION) AS mrr_usd,
  (ARRAY['retail', 'software', 'finance', 'health', 'media'])[1 + abs(hashint8extended(i, 3)) % 5] AS industry,
  TIMESTAMP '2023-01-01' + (abs(hashint8extended(i, 4)) % 1000) * INTERVAL '1 day' AS created_at,
  CASE WHEN abs(hashint8extended(i, 5)) % 4 = 0 THEN TIMESTAMP '2026-01-01' + (abs(hashint8extended(i, 5)) % 600) * INTERVAL '1 day' END AS trial_ends_at
FROM generate_series(1, {accounts}) AS t(i);
CREATE TABLE app.account_plan_history AS
SELECT account_id, plan_name, created_at AS valid_from, CAST(NULL AS TIMESTAMP) AS valid_to
FROM app.accounts;
CREATE TABLE app.users AS
SELECT i AS user_id,
  TIMESTAMP '2024-01-01' + (abs(hashint8extended(i, 11)) % 1000) * INTERVAL '1 day'
    + (abs(hashint8extended(i, 12)) % 86400) * INTERVAL '1 second' AS created_at,
  1 + abs(hashint8extended(i, 13)) % {accounts} AS account_id,
  (ARRAY['owner', 'admin', 'member', 'viewer'])[1 + abs(hashint8extended(i, 14)) % 4] AS role,
  (ARRAY['US', 'FR', 'DE', 'GB', 'BR', 'IN', 'JP', 'SN', NULL])[1 + abs(hashint8extended(i, 15)) % 9] AS country,
  CASE WHEN abs(hashint8extended(i, 16)) % 10 < 6 THEN TIMESTAMP '2024-01-03' + (abs(hashint8extended(i, 11)) % 1000) * INTERVAL '1 day' END AS activated_at
FROM generate_series(1, {users}) AS t(i);
CREATE TABLE app.user_accounts AS
SELECT user_id, account_id FROM app.users
UNION ALL
SELECT user_id, 1 + abs(hashint8extended(user_id, 21)) % {accounts} FROM app.users WHERE abs(hashint8extended(user_id, 22)) % 5 = 0;
CREATE TABLE app.events AS
SELECT row_number() OVER () AS event_id, user_id,
  TIMESTAMP '2025-11-01' + (abs(hashint8extended(user_id * 64 + n, 31)) % (365 * 86400)) * INTERVAL '1 second' AS occurred_at,
  (ARRAY['login', 'view', 'click', 'export'])[1 + abs(hashint8extended(user_id * 64 + n, 32)) % 4] AS event_name,
  CAST(abs(hashint8extended(user_id * 64 + n, 33)) % 600 AS INTEGER) AS duration_s
FROM app.users CROSS JOIN LATERAL generate_series(0, abs(hashint8extended(user_id, 30)) % 60 - 1) AS s(n);
CREATE TABLE app.orders AS
SELECT row_number() OVER () AS order_id, user_id,
  TIMESTAMP '2025-01-01' + (abs(hashint8extended(user_id * 64 + n, 41)) % (669 * 86400)) * INTERVAL '1 second' AS ordered_at,
  CAST(5 + abs(hashint8extended(user_id * 64 + n, 42)) % 49500 / 100.0 AS DOUBLE PRECISION) AS amount,
  (ARRAY['web', 'app', 'sales'])[1 + abs(hashint8extended(user_id * 64 + n, 43)) % 3] AS channel
FROM app.users CROSS JOIN LATERAL generate_series(0, abs(hashint8extended(user_id, 40)) % 4 - 1) AS s(n);
ANALYZE;
"
    )
}

/// The first column of each row of a statement's result (over the simple query protocol,
/// every row read).
async fn first_column(client: &tokio_postgres::Client, sql: &str) -> Vec<String> {
    client
        .simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("the statement runs: {e}"))
        .iter()
        .filter_map(|message| match message {
            tokio_postgres::SimpleQueryMessage::Row(row) => {
                Some(row.get(0).unwrap_or_default().to_string())
            }
            _ => None,
        })
        .collect()
}

/// What the plan of a report shows: scans per source table, nested loops, spills.
fn review(plan: &str) -> String {
    let scans = ["users", "events", "orders", "user_accounts", "accounts"]
        .iter()
        .map(|table| {
            let scans = plan
                .lines()
                .filter(|line| {
                    line.contains(&format!(" on {table} "))
                        && (line.contains("Seq Scan") || line.contains("Index"))
                })
                .count();
            format!("{table} {scans}")
        })
        .collect::<Vec<_>>()
        .join(", ");
    let loops = nested_loops(plan);
    let spilled = plan.matches("external").count();
    format!(
        "scans: {scans}; nested loops: {} ({} with the reported rows, {} with one row); sorts on disk: {spilled}",
        loops.all, loops.with_rows, loops.with_one_row
    )
}

/// The nested loops of a plan in `EXPLAIN (ANALYZE)`'s text, by what they join.
#[derive(Default)]
struct NestedLoops {
    /// Every nested loop.
    all: usize,
    /// One of its two inputs is the reported rows (`segc_segments`): the bit test of members,
    /// signatures or groups against each row.
    with_rows: usize,
    /// One of its inputs gave one row: a quintile score's bounds (or two scores' bounds
    /// joined).
    with_one_row: usize,
}

/// Sorts each nested loop of `plan` by its two inputs: the nodes (`->`) indented one step
/// further than it, up to the next node at its own depth or shallower.
fn nested_loops(plan: &str) -> NestedLoops {
    let lines: Vec<&str> = plan.lines().collect();
    let depth = |line: &str| line.find("->");
    let mut loops = NestedLoops::default();
    for (at, line) in lines.iter().enumerate() {
        if !line.contains("Nested Loop") {
            continue;
        }
        loops.all += 1;
        let own = depth(line).unwrap_or(0);
        let inputs: Vec<&str> = lines[at + 1..]
            .iter()
            .copied()
            .take_while(|next| depth(next).is_none_or(|d| d > own))
            .filter(|next| depth(next).is_some_and(|d| d > own))
            .collect();
        let nearest = inputs.iter().filter_map(|next| depth(next)).min();
        let inputs: Vec<&str> = inputs
            .into_iter()
            .filter(|next| depth(next) == nearest)
            .collect();
        if inputs
            .iter()
            .any(|input| input.contains("CTE Scan on segc_segments"))
        {
            loops.with_rows += 1;
        } else if inputs
            .iter()
            .any(|input| input.contains(" rows=1 loops=1)"))
        {
            loops.with_one_row += 1;
        }
    }
    loops
}

pub fn run(users: usize) {
    let Ok(server) = std::env::var("SEGC_BENCH_POSTGRES") else {
        eprintln!(
            "set SEGC_BENCH_POSTGRES to a libpq connection string (host=… port=… user=…) of a server where database segc_bench may be dropped and created"
        );
        std::process::exit(2);
    };
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let connect = |database: &str| {
        let text = format!("{server} dbname={database}");
        runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&text, tokio_postgres::NoTls)
                .await
                .unwrap_or_else(|e| panic!("connecting to PostgreSQL: {e}"));
            tokio::spawn(connection);
            client
        })
    };
    let execute = |client: &tokio_postgres::Client, sql: &str| {
        runtime
            .block_on(client.batch_execute(sql))
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    };
    let admin = connect("postgres");
    // One statement each: a batch is one transaction, where neither may run.
    execute(&admin, "DROP DATABASE IF EXISTS segc_bench");
    execute(&admin, "CREATE DATABASE segc_bench");
    let client = connect("segc_bench");
    // What the driver pins on each session, as `segc run` does.
    let dialect = Dialect::load("postgres").expect("dialect");
    for setting in &dialect.session.settings {
        execute(&client, setting);
    }
    let started = Instant::now();
    execute(&client, &warehouse_sql(users));
    println!(
        "\nPostgreSQL fan-out: {users} users, warehouse written in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).expect("a date");
    let dir = tempfile::tempdir().expect("a temporary directory");
    println!("{:>9} {}", "segments", fanout::timing_header());
    let read = |sql: &str| runtime.block_on(first_column(&client, sql));
    for segments in [30, 300] {
        let project_dir = dir.path().join(format!("project_{segments}"));
        generate::write_project(&project_dir, segments, 20).expect("the generated project");
        let project = segc::validate::load_and_validate(&project_dir).expect("a valid project");
        let plan = Plan::new(&project, &ReportOptions::default(), today).expect("plan");
        let sql = render(&plan, &dialect, None).expect("render");
        let floor_of = |through: &str| {
            fanout::floor_reading(&sql, through, &format!("SELECT COUNT({through}.*) FROM"))
                .expect("a floor")
        };
        let (floor, scored) = (floor_of("segc_attributes"), floor_of("segc_scores"));
        let signed = floor_of("segc_signed");
        let statements = [&floor, &scored, &signed, &sql];
        let times = fanout::in_turn(5, statements.len(), |index| {
            read(statements[index]);
        });
        println!(
            "{segments:>9} {}",
            fanout::timing_row(&times[0], &times[1], &times[2], &times[3])
        );
        let plan = read(&format!("EXPLAIN (ANALYZE, BUFFERS) {sql}")).join("\n");
        println!("{:>9} {}", "", review(&plan));
        if let Ok(dir) = std::env::var("SEGC_BENCH_EXPLAIN") {
            let path = std::path::Path::new(&dir).join(format!("postgres_{segments}.txt"));
            std::fs::write(path, &plan).expect("the plan written");
        }
    }
}
