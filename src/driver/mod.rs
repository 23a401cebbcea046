//! Running a statement in a warehouse and bringing back typed rows. One file per engine.

#[cfg(feature = "duckdb")]
pub mod duckdb;
#[cfg(feature = "postgres")]
pub mod postgres;

use chrono::{NaiveDate, NaiveDateTime};

use crate::error::Error;

/// One value of a result row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Integer(i64),
    Double(f64),
    Text(String),
    Date(NaiveDate),
    Timestamp(NaiveDateTime),
    Boolean(bool),
}

impl Cell {
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Cell::Integer(v) => Some(*v as f64),
            Cell::Double(v) => Some(*v),
            _ => None,
        }
    }
}

/// The rows of a query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResultSet {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// Options every driver honours.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Cancel the query in the warehouse after this long.
    pub timeout: Option<std::time::Duration>,
}

/// A connection that runs one statement and returns its rows.
pub trait Driver {
    /// The engine's name for messages.
    fn name(&self) -> &str;
    fn query(&mut self, sql: &str) -> Result<ResultSet, Error>;
    /// The warehouse's id for the running query or session, shown while a query runs.
    fn query_id(&self) -> Option<String> {
        None
    }
    /// The server's version string, for `segc targets --check`.
    fn server_version(&mut self) -> Result<String, Error> {
        let result = self.query("SELECT version()")?;
        match result.rows.first().and_then(|r| r.first()) {
            Some(Cell::Text(version)) => Ok(version.clone()),
            _ => Ok(self.name().to_string()),
        }
    }
}
