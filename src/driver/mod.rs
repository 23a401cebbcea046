//! Running a statement in a warehouse and bringing back typed rows. One file per engine.

#[cfg(feature = "bigquery")]
pub mod bigquery;
#[cfg(feature = "duckdb")]
pub mod duckdb;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "sqlserver")]
pub mod sqlserver;

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

/// Where a driver publishes the warehouse's id of the running query (a BigQuery job id, a
/// PostgreSQL backend pid, a SQL Server session id), for the progress line.
pub type QueryIdSlot = std::sync::Arc<std::sync::Mutex<Option<String>>>;

/// Options every driver honours.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Cancel the query in the warehouse after this long.
    pub timeout: Option<std::time::Duration>,
    /// Filled in by the driver as soon as the warehouse names the query.
    pub query_id: QueryIdSlot,
}

impl RunOptions {
    #[cfg(any(feature = "postgres", feature = "bigquery", feature = "sqlserver"))]
    pub(crate) fn publish_query_id(&self, id: impl Into<String>) {
        if let Ok(mut slot) = self.query_id.lock() {
            *slot = Some(id.into());
        }
    }
}

/// Attempts after the first for a transient failure, and the first pause between them; the
/// pause doubles each time.
#[cfg(any(feature = "postgres", feature = "bigquery", feature = "sqlserver"))]
const RETRIES: u32 = 3;
#[cfg(any(feature = "postgres", feature = "bigquery", feature = "sqlserver"))]
const FIRST_BACKOFF: std::time::Duration = std::time::Duration::from_millis(500);

/// How one try of a statement or API call failed.
#[cfg(any(feature = "postgres", feature = "bigquery", feature = "sqlserver"))]
pub(crate) enum Attempt {
    /// Worth another try: a dropped connection, a server restarting or throttling.
    Transient(String),
    /// Never retried.
    Failed(Error),
}

#[cfg(any(feature = "postgres", feature = "bigquery", feature = "sqlserver"))]
impl Attempt {
    /// A failure explained by `message`, retried when `transient`.
    pub(crate) fn new(transient: bool, message: String) -> Attempt {
        if transient {
            Attempt::Transient(message)
        } else {
            Attempt::Failed(Error::Query(message))
        }
    }
}

/// The retry policy every driver shares: after a transient failure, up to `RETRIES` more
/// tries, pausing `FIRST_BACKOFF` and then twice as long each time.
#[cfg(any(feature = "postgres", feature = "bigquery", feature = "sqlserver"))]
pub(crate) struct Backoff {
    retries: u32,
    pause: std::time::Duration,
}

#[cfg(any(feature = "postgres", feature = "bigquery", feature = "sqlserver"))]
impl Backoff {
    pub(crate) fn new() -> Backoff {
        Backoff {
            retries: 0,
            pause: FIRST_BACKOFF,
        }
    }

    /// After a transient failure: the pause before the next try, announced on stderr; once
    /// the retries are spent, the error to give up with.
    pub(crate) fn next(&mut self, message: String) -> Result<std::time::Duration, Error> {
        if self.retries == RETRIES {
            return Err(Error::Query(format!(
                "{message} (gave up after {RETRIES} retries)"
            )));
        }
        self.retries += 1;
        eprintln!(
            "{message}; retrying ({} of {RETRIES}) in {} ms",
            self.retries,
            self.pause.as_millis()
        );
        let pause = self.pause;
        self.pause *= 2;
        Ok(pause)
    }
}

/// The process-wide TLS crypto provider. The dependency tree carries two (ring and aws-lc-rs),
/// and rustls refuses to pick one itself, so every driver installs ring before building a TLS
/// configuration. Installing twice is harmless.
#[cfg(any(feature = "postgres", feature = "bigquery", feature = "sqlserver"))]
pub(crate) fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// An error followed by each of its causes, `error: cause: cause`, for a connection failure:
/// drivers often say only "error connecting to server" and keep the reason as a source.
#[cfg(any(feature = "postgres", feature = "bigquery", feature = "sqlserver"))]
pub(crate) fn with_causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let said = cause.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = cause.source();
    }
    text
}

/// The kind of the first I/O error among an error and its causes.
#[cfg(feature = "postgres")]
pub(crate) fn io_cause(error: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(io) = error.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        current = error.source();
    }
    None
}

/// A multi-threaded runtime with one worker: the drivers are synchronous at their surface.
#[cfg(any(feature = "postgres", feature = "bigquery", feature = "sqlserver"))]
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| Error::Query(format!("cannot start the async runtime: {e}")))
}

/// Waits until the deadline, or forever without one.
#[cfg(any(feature = "postgres", feature = "bigquery", feature = "sqlserver"))]
pub(crate) async fn deadline(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending::<()>().await,
    }
}

/// A connection that runs one statement and returns its rows.
pub trait Driver {
    /// The engine's name for messages.
    fn name(&self) -> &str;
    fn query(&mut self, sql: &str) -> Result<ResultSet, Error>;
    /// The server's version string, for `segc targets --check`.
    fn server_version(&mut self) -> Result<String, Error> {
        let result = self.query("SELECT version()")?;
        match result.rows.first().and_then(|r| r.first()) {
            Some(Cell::Text(version)) => Ok(version.clone()),
            _ => Ok(self.name().to_string()),
        }
    }
}

#[cfg(all(
    test,
    any(feature = "postgres", feature = "bigquery", feature = "sqlserver")
))]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_its_pause_and_gives_up_after_three_retries() {
        let mut backoff = Backoff::new();
        let pauses: Vec<u128> = (0..3)
            .map(|_| backoff.next("reset".into()).unwrap().as_millis())
            .collect();
        assert_eq!(pauses, [500, 1000, 2000]);
        let error = backoff.next("connection reset".into()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "connection reset (gave up after 3 retries)"
        );
    }
}
