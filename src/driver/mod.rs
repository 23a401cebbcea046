//! Running a statement in a warehouse and bringing back typed rows. One file per engine.

#[cfg(feature = "bigquery")]
pub mod bigquery;
pub mod cancel;
#[cfg(feature = "duckdb")]
pub mod duckdb;
pub mod gate;
mod open;
#[cfg(feature = "postgres")]
pub mod postgres;
mod record;
#[cfg(feature = "sqlserver")]
pub mod sqlserver;

use chrono::{NaiveDate, NaiveDateTime};

use crate::dialect::Dialect;
use crate::error::Error;
pub use crate::events::{EventSink, Events};
use gate::{Admitted, Shape};
pub use open::{name_the_source, open, source_location};

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

/// PostgreSQL keeps the first 63 bytes of a longer name (NAMEDATALEN − 1; "Identifiers and
/// Key Words" in its manual), so a long column name can come back cut.
const SHORTEST_CUT_NAME: usize = 63;

impl ResultSet {
    /// The position of the column a statement named `name`, where the statement put it at
    /// `planned`. Found by name; a name a warehouse changed is accepted only at its planned
    /// position: Redshift folds names to lower case (unless
    /// `enable_case_sensitive_identifier` is on), and PostgreSQL cuts them at 63 bytes,
    /// which can leave two names alike.
    pub fn column(&self, name: &str, planned: usize) -> Result<usize, Error> {
        if let Some(position) = self.columns.iter().position(|column| column == name) {
            return Ok(position);
        }
        let changed = |returned: &str| {
            let cut = returned.len() >= SHORTEST_CUT_NAME && name.len() > returned.len();
            let kept = if cut {
                name.get(..returned.len())
            } else {
                Some(name)
            };
            kept.is_some_and(|kept| kept.eq_ignore_ascii_case(returned))
        };
        match self.columns.get(planned) {
            Some(returned) if changed(returned) => Ok(planned),
            _ => Err(Error::Query(format!(
                "the warehouse returned no column `{name}` (it returned {})",
                if self.columns.is_empty() {
                    "no column names".to_string()
                } else {
                    self.columns.join(", ")
                }
            ))),
        }
    }
}

/// The warehouse's name for a query: a BigQuery job id (one per query), a PostgreSQL
/// backend pid or a SQL Server session id (one per connection). Shown as `job abc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryId {
    /// What the id is: `job`, `backend pid`, `session`.
    pub kind: &'static str,
    pub id: String,
    /// Whether the id names one query (else the connection every query runs on).
    pub per_query: bool,
}

impl std::fmt::Display for QueryId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind, self.id)
    }
}

/// Where a driver publishes the warehouse's id of the running query, for the progress line
/// and the record of each statement.
pub type QueryIdSlot = std::sync::Arc<std::sync::Mutex<Option<QueryId>>>;

/// What the warehouse said a query read, when it says (BigQuery): bytes processed and billed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bytes {
    pub processed: Option<u64>,
    pub billed: Option<u64>,
}

/// Where a driver publishes [`Bytes`] once a query is done.
pub type BytesSlot = std::sync::Arc<std::sync::Mutex<Bytes>>;

/// Options every driver honours.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Cancel the query in the warehouse after this long.
    pub timeout: Option<std::time::Duration>,
    /// Filled in by the driver as soon as the warehouse names the query.
    pub query_id: QueryIdSlot,
    /// Filled in by the driver when the warehouse reports what a query read.
    pub bytes: BytesSlot,
    /// Where the driver's warnings and progress messages go (a retry, a failed cancel), and
    /// an [`Event`](crate::events::Event) for each statement sent and finished.
    pub events: EventSink,
    /// Open a session that may write the results table (`--materialize`): DuckDB opens its
    /// file for writing; the network drivers need nothing more.
    pub write: bool,
    /// The most a query's rows may take in memory, in bytes ([`MAX_RESULT_BYTES`] when 0):
    /// a server that sends rows without end is stopped there.
    pub max_result_bytes: usize,
}

impl RunOptions {
    #[cfg(any(feature = "postgres", feature = "bigquery", feature = "sqlserver"))]
    pub(crate) fn publish_query_id(
        &self,
        kind: &'static str,
        id: impl Into<String>,
        per_query: bool,
    ) {
        if let Ok(mut slot) = self.query_id.lock() {
            *slot = Some(QueryId {
                kind,
                id: id.into(),
                per_query,
            });
        }
    }

    #[cfg(feature = "bigquery")]
    pub(crate) fn publish_bytes(&self, bytes: Bytes) {
        if let Ok(mut slot) = self.bytes.lock() {
            *slot = bytes;
        }
    }
}

/// The most of a server's own message an error quotes: a server may say anything, at any
/// length, and a message is printed, logged and kept in `run_results.json`.
pub const SERVER_MESSAGE_CHARS: usize = 2_000;

/// The most a query's rows may take in memory unless [`RunOptions::max_result_bytes`] says
/// otherwise: far more than any report (100,000 segments × 20 KPIs take about 100 MB), and
/// a bound on what a server that sends rows without end can make segc hold.
pub const MAX_RESULT_BYTES: usize = 1 << 30;

/// What the rows read so far take in memory, against the limit; counted as each row is read.
#[cfg(any(feature = "postgres", feature = "bigquery", feature = "sqlserver"))]
pub(crate) struct ResultBudget<'a> {
    target: &'a str,
    limit: usize,
    used: usize,
    rows: usize,
}

#[cfg(any(feature = "postgres", feature = "bigquery", feature = "sqlserver"))]
impl<'a> ResultBudget<'a> {
    pub(crate) fn new(target: &'a str, options: &RunOptions) -> ResultBudget<'a> {
        let limit = match options.max_result_bytes {
            0 => MAX_RESULT_BYTES,
            set => set,
        };
        ResultBudget {
            target,
            limit,
            used: 0,
            rows: 0,
        }
    }

    /// Counts one more row, or refuses it once the rows would take more than the limit.
    pub(crate) fn take(&mut self, row: &[Cell]) -> Result<(), Error> {
        let size = std::mem::size_of::<Vec<Cell>>()
            + row
                .iter()
                .map(|cell| {
                    std::mem::size_of::<Cell>()
                        + match cell {
                            Cell::Text(text) => text.len(),
                            _ => 0,
                        }
                })
                .sum::<usize>();
        self.used += size;
        self.rows += 1;
        if self.used > self.limit {
            return Err(Error::Query(format!(
                "target `{}`: the answer holds more than {} MiB of rows ({} rows read); segc stops reading it, since no statement it sends returns that much — check that the target is the warehouse it names",
                self.target,
                self.limit >> 20,
                self.rows
            )));
        }
        Ok(())
    }
}

/// How long a driver keeps retrying after a transient failure (a dropped connection, a server
/// restarting, throttling), counted from the first failure; the pause before each new try
/// starts at `FIRST_BACKOFF` and doubles up to `LONGEST_BACKOFF`.
#[cfg(any(feature = "postgres", feature = "bigquery", feature = "sqlserver"))]
pub const RETRY_BUDGET: std::time::Duration = std::time::Duration::from_secs(60);
#[cfg(any(feature = "postgres", feature = "bigquery", feature = "sqlserver"))]
const FIRST_BACKOFF: std::time::Duration = std::time::Duration::from_millis(500);
#[cfg(any(feature = "postgres", feature = "bigquery", feature = "sqlserver"))]
const LONGEST_BACKOFF: std::time::Duration = std::time::Duration::from_secs(8);

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

/// The retry policy every driver shares: after a transient failure, more tries until
/// `RETRY_BUDGET` has passed, pausing `FIRST_BACKOFF` and then twice as long each time (at
/// most `LONGEST_BACKOFF`). A stop request (Ctrl-C, SIGTERM) ends a pause at once.
#[cfg(any(feature = "postgres", feature = "bigquery", feature = "sqlserver"))]
pub(crate) struct Backoff {
    started: std::time::Instant,
    budget: std::time::Duration,
    retries: u32,
    pause: std::time::Duration,
    events: EventSink,
    /// `--timeout`, and when it ends: no pause goes past it.
    timeout: Option<(std::time::Duration, std::time::Instant)>,
}

#[cfg(any(feature = "postgres", feature = "bigquery", feature = "sqlserver"))]
impl Backoff {
    pub(crate) fn new() -> Backoff {
        Backoff::with_budget(RETRY_BUDGET)
    }

    pub(crate) fn with_budget(budget: std::time::Duration) -> Backoff {
        Backoff {
            started: std::time::Instant::now(),
            budget,
            retries: 0,
            pause: FIRST_BACKOFF,
            events: EventSink::default(),
            timeout: None,
        }
    }

    /// The same policy, within `--timeout` (counted from now): a retry that would start past
    /// it is not made, and the statement fails with the timeout.
    pub(crate) fn within(mut self, timeout: Option<std::time::Duration>) -> Backoff {
        self.timeout = timeout.map(|t| (t, std::time::Instant::now() + t));
        self
    }

    /// The same policy, announcing each retry to `events`.
    pub(crate) fn reporting(mut self, events: &EventSink) -> Backoff {
        self.events = events.clone();
        self
    }

    /// After a transient failure: the pause before the next try, announced as progress; once
    /// the budget would be exceeded, the error to give up with.
    pub(crate) fn next(&mut self, message: String) -> Result<std::time::Duration, Error> {
        let spent = self.started.elapsed();
        if let Some((timeout, until)) = self.timeout
            && std::time::Instant::now() + self.pause >= until
        {
            return Err(Error::TimedOut(format!(
                "{message} (no retry within --timeout {} s; {} retries made)",
                timeout.as_secs(),
                self.retries
            )));
        }
        if spent + self.pause > self.budget {
            return Err(Error::Query(format!(
                "{message} (gave up after {} retries in {} s)",
                self.retries,
                spent.as_secs()
            )));
        }
        self.retries += 1;
        self.events.progress(&format!(
            "{message}; retrying (try {}) in {} ms",
            self.retries + 1,
            self.pause.as_millis()
        ));
        let pause = self.pause;
        self.pause = (self.pause * 2).min(LONGEST_BACKOFF);
        Ok(pause)
    }

    /// `next`, then the pause itself, which a stop request ends with an error.
    pub(crate) fn wait(&mut self, message: String, target: &str) -> Result<(), Error> {
        let pause = self.next(message)?;
        cancel::pause(pause, target)
    }
}

/// The process-wide TLS crypto provider: aws-lc-rs, the only one in the build. Every driver
/// installs it before building a TLS configuration, because the HTTP client of BigQuery is
/// built without a provider of its own and takes the process-wide one. Installing twice is
/// harmless, and a provider the embedding program installed first is kept.
#[cfg(any(feature = "postgres", feature = "bigquery", feature = "sqlserver"))]
pub(crate) fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
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

/// How long opening a connection may take ([`connect_limit`]), and the setting that says
/// so, for messages (`connect_timeout 15 s`, `--timeout 5`).
#[cfg(any(feature = "postgres", feature = "sqlserver"))]
pub(crate) struct ConnectLimit {
    pub duration: std::time::Duration,
    pub set_by: String,
}

/// How long opening a connection may take: the profile's `connect_timeout` (seconds; 15
/// without one), or `--timeout` when that is shorter. The limit covers everything before
/// the first query: the TCP connection, TLS, the server's start-up and the login. A server
/// that accepts the connection and never answers would otherwise be waited on forever.
#[cfg(any(feature = "postgres", feature = "sqlserver"))]
pub(crate) fn connect_limit(
    profile: &crate::spec::profiles::Profile,
    options: &RunOptions,
) -> Result<ConnectLimit, Error> {
    let seconds = match profile.field("connect_timeout") {
        None => 15,
        Some(text) => match text.trim().parse::<u64>() {
            Ok(seconds) if (1..=86_400).contains(&seconds) => seconds,
            _ => {
                return Err(Error::Profile(format!(
                    "target `{}`: `connect_timeout` must be a whole number of seconds from 1 to 86400",
                    profile.name
                )));
            }
        },
    };
    let limit = std::time::Duration::from_secs(seconds);
    Ok(match options.timeout {
        Some(timeout) if timeout < limit => ConnectLimit {
            duration: timeout,
            set_by: format!("--timeout {}", timeout.as_secs()),
        },
        _ => ConnectLimit {
            duration: limit,
            set_by: format!("connect_timeout {seconds} s"),
        },
    })
}

/// Why opening a connection did not end with one.
#[cfg(any(feature = "postgres", feature = "sqlserver"))]
pub(crate) enum Opening<T> {
    Done(T),
    /// The limit of [`connect_limit`] passed first.
    TimedOut,
    /// Ctrl-C or SIGTERM came first.
    Interrupted,
}

/// Waits for `opening` at most `limit`, and no longer than a stop request.
#[cfg(any(feature = "postgres", feature = "sqlserver"))]
pub(crate) async fn open_within<T>(
    opening: impl std::future::Future<Output = T>,
    limit: &ConnectLimit,
) -> Opening<T> {
    tokio::select! {
        outcome = tokio::time::timeout(limit.duration, opening) => match outcome {
            Ok(done) => Opening::Done(done),
            Err(_) => Opening::TimedOut,
        },
        _ = cancel::requested() => Opening::Interrupted,
    }
}

/// Waits until the deadline, or forever without one.
#[cfg(any(feature = "postgres", feature = "bigquery", feature = "sqlserver"))]
pub(crate) async fn deadline(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending::<()>().await,
    }
}

/// The error for a result column holding a date or timestamp segc cannot hold: PostgreSQL's
/// and DuckDB's `infinity` and `-infinity`, or a year past chrono's range. Such a value is
/// refused, not read as NULL: NULL would print as "no value" on one engine where another
/// fails, and the same data must give the same report everywhere.
pub(crate) fn unreadable_time(engine: &str, column: &str) -> Error {
    Error::Query(format!(
        "{engine}: column `{column}` of the result holds a date or timestamp segc cannot read: \
         an infinite one (`infinity`, `-infinity`) or one far beyond the years 0001 to 9999. \
         A source column holds it and this attribute or KPI passes it on: infinite dates and \
         times can be compared (windows, `before`, `after`) and count as no value in \
         `days_between`, but cannot be printed; to read them as missing everywhere, go \
         through a view (`CASE WHEN isfinite(col) THEN col END`)"
    ))
}

/// Refuses anything but admitted writes where writes are expected.
pub(crate) fn writes_only(statements: &[Admitted<'_>]) -> Result<(), Error> {
    if statements.iter().all(|s| s.shape() == Shape::Write) {
        Ok(())
    } else {
        Err(Error::Query(
            "only the writes of --materialize can be sent this way".into(),
        ))
    }
}

/// A connection that runs one statement and returns its rows. Every statement crosses
/// [`gate::admit`] first: a driver can only `send` what the gate admitted.
pub trait Driver {
    /// The engine's name for messages.
    fn name(&self) -> &str;
    /// The dialect whose rules the gate checks statements against.
    fn dialect(&self) -> &Dialect;
    /// Sends a statement the gate admitted and reads its rows.
    fn send(&mut self, statement: Admitted<'_>) -> Result<ResultSet, Error>;
    /// Runs one read-only query: what every command sends.
    fn query(&mut self, sql: &str) -> Result<ResultSet, Error> {
        let statement = gate::admit(sql, self.dialect(), Shape::Read)?;
        self.send(statement)
    }
    /// Runs a query the gate already admitted as read-only (so that a large statement is
    /// parsed once); any other shape is refused.
    fn query_admitted(&mut self, statement: Admitted<'_>) -> Result<ResultSet, Error> {
        if statement.shape() != Shape::Read {
            return Err(Error::Query(
                "only a read-only query can be sent this way".into(),
            ));
        }
        self.send(statement)
    }
    /// Runs writes the gate admitted ([`Shape::Write`], `segc run --materialize`) in one
    /// transaction: all of them or, on any failure or interruption, none.
    fn write(&mut self, statements: &[Admitted<'_>]) -> Result<(), Error> {
        writes_only(statements)?;
        Err(Error::Query(format!(
            "the {} driver cannot write",
            self.name()
        )))
    }
    /// Runs a statement that creates test fixtures. No command calls this (a test checks).
    fn set_up(&mut self, sql: &str) -> Result<ResultSet, Error> {
        let statement = gate::admit(sql, self.dialect(), Shape::Fixture)?;
        self.send(statement)
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

#[cfg(test)]
mod result_tests {
    use super::*;

    #[test]
    fn columns_are_found_by_name_or_as_a_warehouse_changed_it_where_planned() {
        let long = format!("{}__change_pct", "k".repeat(60));
        let result = ResultSet {
            columns: vec![
                "segment".into(),
                "people".into(),
                "pct_active".into(),
                long[..63].to_string(),
            ],
            rows: Vec::new(),
        };
        // By name, wherever the column is.
        assert_eq!(result.column("people", 0).unwrap(), 1);
        // Folded to lower case (Redshift) or cut at 63 bytes (PostgreSQL): only where planned.
        assert_eq!(result.column("PCT_active", 2).unwrap(), 2);
        assert!(result.column("PCT_active", 1).is_err());
        assert_eq!(result.column(&long, 3).unwrap(), 3);
        assert!(result.column(&long, 2).is_err());
        // A shorter name is not a cut one.
        assert!(result.column("segments", 0).is_err());
        let error = result.column("parent", 0).unwrap_err().to_string();
        assert!(
            error.contains("no column `parent` (it returned segment, people"),
            "{error}"
        );
    }
}

#[cfg(all(
    test,
    any(feature = "postgres", feature = "bigquery", feature = "sqlserver")
))]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_its_pause_up_to_eight_seconds_within_the_budget() {
        let mut backoff = Backoff::new();
        let pauses: Vec<u128> = (0..7)
            .map(|_| backoff.next("reset".into()).unwrap().as_millis())
            .collect();
        assert_eq!(pauses, [500, 1000, 2000, 4000, 8000, 8000, 8000]);
    }

    #[test]
    fn backoff_makes_no_retry_past_the_timeout() {
        let mut backoff = Backoff::new().within(Some(std::time::Duration::from_millis(1200)));
        assert_eq!(backoff.next("reset".into()).unwrap().as_millis(), 500);
        // The next pause (1 s) would end past the timeout, counted from the start.
        std::thread::sleep(std::time::Duration::from_millis(500));
        let error = backoff.next("connection reset".into()).unwrap_err();
        assert!(matches!(error, Error::TimedOut(_)), "{error}");
        assert_eq!(
            error.to_string(),
            "connection reset (no retry within --timeout 1 s; 1 retries made)"
        );
        // Without a timeout, the budget alone decides.
        let mut backoff = Backoff::new().within(None);
        assert_eq!(backoff.next("reset".into()).unwrap().as_millis(), 500);
        assert_eq!(backoff.next("reset".into()).unwrap().as_millis(), 1000);
    }

    #[test]
    fn backoff_gives_up_once_the_budget_would_be_exceeded() {
        let mut backoff = Backoff::with_budget(std::time::Duration::from_millis(1600));
        assert_eq!(backoff.next("reset".into()).unwrap().as_millis(), 500);
        assert_eq!(backoff.next("reset".into()).unwrap().as_millis(), 1000);
        let error = backoff.next("connection reset".into()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "connection reset (gave up after 2 retries in 0 s)"
        );
    }
}
