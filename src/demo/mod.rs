//! Deterministic synthetic SaaS demo data (users, accounts, events, orders) and its loading into DuckDB.
//!
//! [`generate`] is a pure function of [`DemoConfig`]: the same configuration always yields the
//! same rows, bit for bit, on every platform and with every dependency version. To get there the
//! module carries its own pseudo-random generator (splitmix64) and its own `exp`/`ln`, built
//! only from IEEE-754 basic operations, which are exactly rounded everywhere.
//!
//! Each user draws from a private random stream derived from the seed and the user's position,
//! so the shape of one user's history does not depend on how many rows other users produced.
//!
//! The story the data tells:
//! * two years of facts, so a year-over-year comparison has both years; sign-ups grow over
//!   them (about three times as many at the end as at the start), with fewer on weekends;
//!   some users signed up up to two years before `first_day`;
//! * accounts are on `free`, `starter`, `pro` or `enterprise` plans (skewed towards free), their
//!   MRR follows the plan, and bigger plans attract more members;
//! * about 60% of users activate a few days after signing up; activated users follow one of a
//!   few behaviours (power, regular, occasional, churned, declining, reactivated), the others
//!   only look around on their first days;
//! * about a third of users buy, repeat buyers at their own cadence;
//! * facts (events, orders) lie between `first_day` 00:00:00 and `last_day` 23:59:59 and never
//!   before the user's sign-up. All timestamps are UTC wall-clock times.

mod activity;
mod calendar;
mod generate;
mod random;
#[cfg(feature = "duckdb")]
mod synthetic;
#[cfg(test)]
mod tests;
mod vocabulary;
#[cfg(feature = "duckdb")]
mod write;

use chrono::{NaiveDate, NaiveDateTime};

pub use generate::generate;
#[cfg(feature = "duckdb")]
pub use synthetic::{MAX_USERS, SyntheticCounts, create_synthetic};
#[cfg(feature = "duckdb")]
pub use write::{create_database, create_database_with, write_duckdb, write_duckdb_with};

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoConfig {
    /// Number of users.
    pub users: usize,
    /// Seed of every random choice.
    pub seed: u64,
    /// First day covered by events and orders (and by most sign-ups).
    pub first_day: chrono::NaiveDate,
    /// Last day covered, inclusive. A value before `first_day` is read as `first_day`.
    pub last_day: chrono::NaiveDate,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            users: 10_000,
            seed: 20_261_031,
            first_day: NaiveDate::from_ymd_opt(2024, 11, 1).expect("valid date"),
            last_day: NaiveDate::from_ymd_opt(2026, 10, 31).expect("valid date"),
        }
    }
}

/// A row of `app.users`.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub user_id: i64,
    pub created_at: NaiveDateTime,
    /// The user's main account.
    pub account_id: i64,
    /// `owner`, `admin`, `member` or `viewer`.
    pub role: &'static str,
    pub country: Option<&'static str>,
    pub activated_at: Option<NaiveDateTime>,
}

/// A row of `app.accounts`.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub account_id: i64,
    /// `free`, `starter`, `pro` or `enterprise`.
    pub plan_name: &'static str,
    pub mrr_usd: f64,
    pub industry: &'static str,
    pub created_at: NaiveDateTime,
    pub trial_ends_at: Option<NaiveDateTime>,
}

/// A row of `app.account_plan_history`: an account's plan over a span of time, as a dbt
/// snapshot keeps it (type-2): valid from `valid_from` until `valid_to` (NULL: current).
#[derive(Debug, Clone, PartialEq)]
pub struct PlanPeriod {
    pub account_id: i64,
    pub plan_name: &'static str,
    pub valid_from: NaiveDateTime,
    pub valid_to: Option<NaiveDateTime>,
}

/// A row of `app.user_accounts`: one membership of a user in an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAccount {
    pub user_id: i64,
    pub account_id: i64,
}

/// A row of `app.events`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub event_id: i64,
    pub user_id: i64,
    pub occurred_at: NaiveDateTime,
    pub event_name: &'static str,
    pub duration_s: i32,
}

/// A row of `app.orders`.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub order_id: i64,
    pub user_id: i64,
    pub ordered_at: NaiveDateTime,
    /// US dollars, rounded to cents.
    pub amount: f64,
    /// `web`, `app` or `sales`.
    pub channel: &'static str,
}

/// Every table of the demo warehouse, rows ordered by id (memberships by user, then account).
#[derive(Debug, Clone, PartialEq)]
pub struct DemoData {
    pub users: Vec<User>,
    pub accounts: Vec<Account>,
    pub user_accounts: Vec<UserAccount>,
    pub events: Vec<Event>,
    pub orders: Vec<Order>,
    /// Every account's plan over time; the last period of each is its current plan.
    pub plan_history: Vec<PlanPeriod>,
}

impl DemoData {
    /// Row counts of the generated tables.
    pub fn summary(&self) -> DemoSummary {
        DemoSummary {
            users: self.users.len(),
            accounts: self.accounts.len(),
            events: self.events.len(),
            orders: self.orders.len(),
        }
    }
}

/// Row counts written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoSummary {
    pub users: usize,
    pub accounts: usize,
    pub events: usize,
    pub orders: usize,
}

/// Why the demo database could not be written.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(
        "{} already exists; the demo data is only written to a new file (remove it or choose another path)",
        .path.display()
    )]
    AlreadyExists { path: std::path::PathBuf },
    #[error("could not move the finished demo database into place at {}: {source}", .path.display())]
    Place {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not lock {} to write the demo data: {source}", .path.display())]
    Lock {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not create the directory {}: {source}", .path.display())]
    CreateDir {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[cfg(feature = "duckdb")]
    #[error("could not write the demo data to the DuckDB database {}: {source}", .path.display())]
    Duckdb {
        path: std::path::PathBuf,
        #[source]
        source: duckdb::Error,
    },
}
