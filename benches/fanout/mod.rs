//! The fan-out benchmark: a generated project of N segments × 20 KPIs over a synthetic
//! warehouse of many users, written into DuckDB by SQL (the demo generator keeps every row in
//! memory, too much at a million users). Each user has 0 to 59 events over the last year, 0
//! to 3 orders, one or two account memberships; about a third as many accounts as users.
//! Values come from `hash()` of the row's numbers, so a size always gives the same tables.
//!
//! It compares `segc run`'s statement with its floor: the same statement cut after the
//! per-user attributes (the users stage and one pass per source), ending in a SELECT that
//! reads every column, so that no stage is skipped.

use std::path::Path;
use std::time::{Duration, Instant};

/// The synthetic warehouse, `users` users, in schema `app` of a new DuckDB file.
pub fn create_warehouse(path: &Path, users: usize) -> duckdb::Result<()> {
    let connection = duckdb::Connection::open(path)?;
    let accounts = (users / 3).max(1);
    let sql = format!(
        "
CREATE SCHEMA app;
CREATE TABLE app.accounts AS
SELECT i AS account_id,
  CASE WHEN hash(i, 1) % 10 < 5 THEN 'free' WHEN hash(i, 1) % 10 < 8 THEN 'starter'
       WHEN hash(i, 1) % 10 < 9 THEN 'pro' ELSE 'enterprise' END AS plan_name,
  CAST((hash(i, 2) % 1500) AS DOUBLE) AS mrr_usd,
  ['retail', 'software', 'finance', 'health', 'media'][1 + CAST(hash(i, 3) % 5 AS INTEGER)] AS industry,
  TIMESTAMP '2023-01-01' + INTERVAL (CAST(hash(i, 4) % 1000 AS INTEGER)) DAY AS created_at,
  CASE WHEN hash(i, 5) % 4 = 0 THEN TIMESTAMP '2026-01-01' + INTERVAL (CAST(hash(i, 5) % 600 AS INTEGER)) DAY END AS trial_ends_at
FROM range(1, {accounts} + 1) AS t(i);
CREATE TABLE app.account_plan_history AS
SELECT account_id, plan_name, created_at AS valid_from, CAST(NULL AS TIMESTAMP) AS valid_to
FROM app.accounts;
CREATE TABLE app.users AS
SELECT i AS user_id,
  TIMESTAMP '2024-01-01' + INTERVAL (CAST(hash(i, 11) % 1000 AS INTEGER)) DAY
    + INTERVAL (CAST(hash(i, 12) % 86400 AS INTEGER)) SECOND AS created_at,
  1 + CAST(hash(i, 13) % {accounts} AS BIGINT) AS account_id,
  ['owner', 'admin', 'member', 'viewer'][1 + CAST(hash(i, 14) % 4 AS INTEGER)] AS role,
  ['US', 'FR', 'DE', 'GB', 'BR', 'IN', 'JP', 'SN', NULL][1 + CAST(hash(i, 15) % 9 AS INTEGER)] AS country,
  CASE WHEN hash(i, 16) % 10 < 6 THEN TIMESTAMP '2024-01-03' + INTERVAL (CAST(hash(i, 11) % 1000 AS INTEGER)) DAY END AS activated_at
FROM range(1, {users} + 1) AS t(i);
CREATE TABLE app.user_accounts AS
SELECT user_id, account_id FROM app.users
UNION ALL
SELECT user_id, 1 + CAST(hash(user_id, 21) % {accounts} AS BIGINT) FROM app.users WHERE hash(user_id, 22) % 5 = 0;
CREATE TABLE app.events AS
SELECT row_number() OVER () AS event_id, user_id,
  TIMESTAMP '2025-11-01' + INTERVAL (CAST(hash(user_id, n, 31) % (365 * 86400) AS INTEGER)) SECOND AS occurred_at,
  ['login', 'view', 'click', 'export'][1 + CAST(hash(user_id, n, 32) % 4 AS INTEGER)] AS event_name,
  CAST(hash(user_id, n, 33) % 600 AS INTEGER) AS duration_s
FROM (SELECT user_id, unnest(range(CAST(hash(user_id, 30) % 60 AS BIGINT))) AS n FROM app.users);
CREATE TABLE app.orders AS
SELECT row_number() OVER () AS order_id, user_id,
  TIMESTAMP '2025-01-01' + INTERVAL (CAST(hash(user_id, n, 41) % (669 * 86400) AS INTEGER)) SECOND AS ordered_at,
  CAST(5 + hash(user_id, n, 42) % 49500 / 100.0 AS DOUBLE) AS amount,
  ['web', 'app', 'sales'][1 + CAST(hash(user_id, n, 43) % 3 AS INTEGER)] AS channel
FROM (SELECT user_id, unnest(range(CAST(hash(user_id, 40) % 4 AS BIGINT))) AS n FROM app.users);
"
    );
    connection.execute_batch(&sql)
}

/// `kpis:` with `count` KPIs that all decompose (counts, sums and averages of whole numbers,
/// minimums and maximums), so that the report is grouped by membership signature.
pub fn decomposable_kpis(count: usize) -> String {
    let mut text = String::from("kpis:\n");
    for index in 0..count {
        let body = match index % 5 {
            0 => format!(
                "agg: count, where: {{ monthly_activity: {{ gt: {} }} }}",
                index % 7
            ),
            1 => "agg: sum, of: orders_count".into(),
            2 => "agg: avg, of: active_days_30d".into(),
            3 => "agg: max, of: last_seen_at".into(),
            _ => "agg: min, of: plan".into(),
        };
        text.push_str(&format!("  - {{ name: kpi_{index:03}, {body} }}\n"));
    }
    text
}

/// The floor of a report's statement: its stages up to the per-user attributes (`through`:
/// `segc_attributes`, or `segc_scores` to include the quintile scores), then a SELECT
/// reading every column of that stage.
pub fn floor(statement: &str, through: &str) -> Option<String> {
    let next = if through == "segc_scores" {
        "\"segc_members\" AS ("
    } else {
        statement
            .find("\"segc_scores\" AS (")
            .map_or("\"segc_members\" AS (", |_| "\"segc_scores\" AS (")
    };
    let cut = statement.find(next)?;
    let head = statement[..cut].trim_end().trim_end_matches(',');
    Some(format!("{head}\nSELECT MAX(COLUMNS(*)) FROM \"{through}\""))
}

/// Runs `sql` and reads every row; the number of rows.
pub fn run(connection: &duckdb::Connection, sql: &str) -> duckdb::Result<usize> {
    let mut statement = connection.prepare(sql)?;
    let mut rows = statement.query([])?;
    let mut count = 0;
    while rows.next()?.is_some() {
        count += 1;
    }
    Ok(count)
}

/// DuckDB's plan of `sql` with each operator's time (`EXPLAIN ANALYZE`).
pub fn explain(connection: &duckdb::Connection, sql: &str) -> duckdb::Result<String> {
    let mut statement = connection.prepare(&format!("EXPLAIN (ANALYZE, FORMAT JSON) {sql}"))?;
    let mut rows = statement.query([])?;
    let mut text = String::new();
    while let Some(row) = rows.next()? {
        text.push_str(&row.get::<_, String>(1)?);
        text.push('\n');
    }
    Ok(text)
}

/// Runs `work` `runs` times; the median time.
pub fn median<T>(runs: usize, mut work: impl FnMut() -> T) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            work();
            started.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}
