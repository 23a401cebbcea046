//! The synthetic warehouse of the benchmarks (`segc bench-data`, `cargo bench --bench run`):
//! the demo's tables at any size, written by SQL inside DuckDB (the demo generator keeps every
//! row in memory, too much at a million users). Each user has 0 to 59 events over a year
//! (2025-11-01 to 2026-10-31), 0 to 3 orders, one or two account memberships; there are about
//! a third as many accounts as users. Values come from `hash()` of the row's numbers, so a
//! size always gives the same tables.

use std::path::Path;

use crate::error::Error;

/// The most users `segc bench-data` writes.
pub const MAX_USERS: usize = 100_000_000;

/// The rows written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntheticCounts {
    pub users: u64,
    pub accounts: u64,
    pub events: u64,
    pub orders: u64,
}

/// Writes the synthetic warehouse of `users` users into schema `app` of a new DuckDB file at
/// `path` (which must not exist), and counts its rows.
pub fn create_synthetic(path: &Path, users: usize) -> Result<SyntheticCounts, Error> {
    if !(1..=MAX_USERS).contains(&users) {
        return Err(Error::Usage(format!(
            "--users must be from 1 to {MAX_USERS}, not {users}"
        )));
    }
    if path.exists() {
        return Err(Error::Usage(format!(
            "{} exists; segc does not overwrite a database: remove it or pick another --output",
            crate::terminal::printable(&path.display().to_string())
        )));
    }
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).map_err(|source| Error::Write {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    let failed = |e: duckdb::Error| Error::Query(format!("writing the synthetic warehouse: {e}"));
    let connection = duckdb::Connection::open(path).map_err(failed)?;
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
    connection.execute_batch(&sql).map_err(failed)?;
    let count = |table: &str| -> Result<u64, Error> {
        connection
            .query_row(&format!("SELECT COUNT(*) FROM app.{table}"), [], |row| {
                row.get::<_, i64>(0)
            })
            .map(|n| n.max(0) as u64)
            .map_err(failed)
    };
    Ok(SyntheticCounts {
        users: count("users")?,
        accounts: count("accounts")?,
        events: count("events")?,
        orders: count("orders")?,
    })
}
