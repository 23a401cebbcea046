//! The embedded DuckDB engine.

use std::path::{Path, PathBuf};

use duckdb::types::{TimeUnit, ValueRef};
use duckdb::{AccessMode, Config, Connection};

use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::gate::{self, Admitted, Shape};
use super::{Cell, Driver, ResultSet, RunOptions, cancel};
use crate::dialect::Dialect;
use crate::error::Error;

pub struct DuckDb {
    /// Shared with the thread a statement runs on (see [`DuckDb::watched`]).
    connection: Arc<Mutex<Connection>>,
    /// A statement was left running after an interrupt: the connection stays busy.
    abandoned: bool,
    label: String,
    /// The profiles.yml target it was opened for, for messages (else the file's path).
    target: Option<String>,
    dialect: Dialect,
    options: RunOptions,
}

/// A connection's configuration. Extensions are never loaded on demand: a TIMESTAMP WITH
/// TIME ZONE then reads as its UTC time, where the ICU extension (if a machine has it
/// installed) would read it in the machine's time zone.
///
/// Nothing outside the database file is reached: a view or macro the file holds that reads
/// another file (`read_text('/proc/self/environ')`, a key file) fails instead of printing it,
/// and the configuration is locked, so no statement turns that back on.
fn configured(mode: AccessMode) -> Result<Config, Error> {
    Config::default()
        .access_mode(mode)
        .and_then(|config| config.enable_autoload_extension(false))
        .and_then(|config| config.enable_external_access(false))
        .and_then(|config| config.with("lock_configuration", "true"))
        .map_err(|e| Error::Query(format!("cannot configure DuckDB: {e}")))
}

/// The database file's own functions (macros) named as DuckDB's: DuckDB calls a file's macro
/// before its own function of that name, so segc's statements would read the macro's answer
/// (a `strpos` that finds everything) instead of the function they were written for.
fn shadowing_functions(connection: &Connection) -> Result<Vec<String>, duckdb::Error> {
    let mut statement = connection.prepare(
        "SELECT DISTINCT f.schema_name || '.' || f.function_name FROM duckdb_functions() AS f \
         WHERE NOT f.internal AND f.function_name IN \
         (SELECT g.function_name FROM duckdb_functions() AS g WHERE g.internal) ORDER BY 1",
    )?;
    let names = statement.query_map([], |row| row.get::<_, String>(0))?;
    names.collect()
}

/// What a file that DuckDB would not read as a database holds instead, by its first bytes: a
/// DuckDB database file has `DUCK` at byte 8. Opened anyway, DuckDB took a JSON file for
/// something else and answered "Cannot launch in-memory database in read-only mode". `None`
/// for a database file, an empty one (DuckDB's own message says what it is) or one that
/// cannot be read here (DuckDB's own message says why).
fn not_a_database(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut head = Vec::with_capacity(12);
    std::fs::File::open(path)
        .ok()?
        .take(12)
        .read_to_end(&mut head)
        .ok()?;
    match head.len() {
        0 => None,
        12 if &head[8..12] == b"DUCK" => None,
        length if length < 12 => Some(format!("it holds {length} bytes")),
        _ => Some(format!(
            "it starts with {}",
            crate::terminal::printable(&String::from_utf8_lossy(&head[..12]))
        )),
    }
}

impl DuckDb {
    /// Opens an existing database file read-only: `segc run` only reads. Fails at once when
    /// another process holds the file for writing (see [`DuckDb::open_waiting`]).
    pub fn open_read_only(path: &Path) -> Result<Self, Error> {
        Self::open_waiting(path, false, Duration::ZERO, &super::EventSink::default())
    }

    /// Opens an existing database file for reading and writing (`segc run --materialize`).
    pub fn open_writable(
        path: &Path,
        wait: Duration,
        events: &super::EventSink,
    ) -> Result<Self, Error> {
        Self::open_waiting(path, true, wait, events)
    }

    /// Opens an existing database file, for writing or read-only. A file takes one writing
    /// process at a time, and no reader while it writes: while another process holds it,
    /// this waits (announced as progress) up to `wait`, or until a stop request.
    pub fn open_waiting(
        path: &Path,
        write: bool,
        wait: Duration,
        events: &super::EventSink,
    ) -> Result<Self, Error> {
        if !path.is_file() {
            return Err(Error::Query(match path.exists() {
                true => format!(
                    "{} is not a file (a folder, a device or a pipe); `path` names the \
                     database file a DuckDB target reads",
                    path.display()
                ),
                false => format!("the DuckDB database {} does not exist", path.display()),
            }));
        }
        if let Some(what) = not_a_database(path) {
            return Err(Error::Query(format!(
                "{} is not a DuckDB database file ({what}); `path` names the database file a \
                 DuckDB target reads",
                path.display()
            )));
        }
        // The file itself, not a link to it: with external access off, DuckDB may touch only
        // the database and its `.wal` beside it, and it looked for that beside the link, where
        // it is not allowed, refusing a link to a good database.
        let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        // Ctrl-C and SIGTERM interrupt the query instead of ending the process mid-read.
        cancel::install();
        let started = Instant::now();
        let mut announced = false;
        let connection = loop {
            let mode = if write {
                AccessMode::ReadWrite
            } else {
                AccessMode::ReadOnly
            };
            match Connection::open_with_flags(&real, configured(mode)?) {
                Ok(connection) => break connection,
                Err(e) if e.to_string().contains("lock") && started.elapsed() < wait => {
                    if !announced {
                        events.progress(&format!(
                            "waiting for another process to release {}",
                            path.display()
                        ));
                        announced = true;
                    }
                    if cancel::wait(Duration::from_millis(100)) {
                        return Err(cancel::interrupted(&path.display().to_string()));
                    }
                }
                Err(e) => {
                    return Err(Error::Query(format!(
                        "cannot open the DuckDB database {}{}: {e}",
                        path.display(),
                        if write { " for writing" } else { "" }
                    )));
                }
            }
        };
        let shadowing = shadowing_functions(&connection).map_err(|e| {
            Error::Query(format!(
                "cannot read the functions of the DuckDB database {}: {e}",
                path.display()
            ))
        })?;
        if !shadowing.is_empty() {
            let (macros, functions, them) = match shadowing.len() {
                1 => ("a macro", "function", "it"),
                _ => ("macros", "functions", "them"),
            };
            return Err(Error::Query(format!(
                "the DuckDB database {} defines {macros} named as DuckDB's own {functions}, \
                 which segc's statements would call instead: {}; drop or rename {them}",
                path.display(),
                crate::error::clip(&shadowing.join(", "), 400),
            )));
        }
        Ok(DuckDb {
            connection: Arc::new(Mutex::new(connection)),
            abandoned: false,
            label: path.display().to_string(),
            target: None,
            dialect: Dialect::load("duckdb")?,
            options: RunOptions::default(),
        })
    }

    /// An in-memory database, for tests and fixtures.
    pub fn in_memory() -> Result<Self, Error> {
        let connection = Connection::open_in_memory()
            .map_err(|e| Error::Query(format!("cannot start DuckDB: {e}")))?;
        Ok(DuckDb {
            connection: Arc::new(Mutex::new(connection)),
            abandoned: false,
            label: "memory".into(),
            target: None,
            dialect: Dialect::load("duckdb")?,
            options: RunOptions::default(),
        })
    }

    /// Runs statements that return nothing (test fixtures), through the gate like all others.
    pub fn execute_batch(&self, sql: &str) -> Result<(), Error> {
        let statement = gate::admit(sql, &self.dialect, Shape::Fixture)?;
        self.connection()?
            .execute_batch(statement.sql())
            .map_err(|e| Error::Query(format!("DuckDB: {e}")))
    }

    /// The same connection honouring `options` (`--timeout`).
    pub fn with_options(mut self, options: RunOptions) -> Self {
        self.options = options;
        self
    }

    pub fn path_label(&self) -> &str {
        &self.label
    }

    /// The same connection, named in messages by the target it was opened for.
    pub fn for_target(mut self, target: &str) -> Self {
        self.target = Some(target.to_string());
        self
    }

    /// The target for messages: its name, else the file's path.
    fn target_name(&self) -> &str {
        self.target.as_deref().unwrap_or(&self.label)
    }
}

/// A timestamp, or `None` for one chrono cannot hold (DuckDB's `infinity` and `-infinity` are
/// the largest and smallest 64-bit values).
fn timestamp(unit: TimeUnit, value: i64) -> Option<Cell> {
    let micros = match unit {
        TimeUnit::Second => value.checked_mul(1_000_000)?,
        TimeUnit::Millisecond => value.checked_mul(1_000)?,
        TimeUnit::Microsecond => value,
        TimeUnit::Nanosecond => value / 1_000,
    };
    chrono::DateTime::from_timestamp_micros(micros).map(|t| Cell::Timestamp(t.naive_utc()))
}

/// A date, or `None` for one chrono cannot hold (DuckDB's infinite dates are the largest and
/// smallest 32-bit day numbers).
fn date(days_since_1970: i32) -> Option<Cell> {
    days_since_1970
        .checked_add(719_163)
        .and_then(chrono::NaiveDate::from_num_days_from_ce_opt)
        .map(Cell::Date)
}

/// A value as segc holds it; `None` for a date or timestamp it cannot hold.
fn cell(value: ValueRef<'_>) -> Option<Cell> {
    Some(match value {
        ValueRef::Null => Cell::Null,
        ValueRef::Boolean(b) => Cell::Boolean(b),
        ValueRef::TinyInt(v) => Cell::Integer(v.into()),
        ValueRef::SmallInt(v) => Cell::Integer(v.into()),
        ValueRef::Int(v) => Cell::Integer(v.into()),
        ValueRef::BigInt(v) => Cell::Integer(v),
        ValueRef::UTinyInt(v) => Cell::Integer(v.into()),
        ValueRef::USmallInt(v) => Cell::Integer(v.into()),
        ValueRef::UInt(v) => Cell::Integer(v.into()),
        ValueRef::UBigInt(v) => i64::try_from(v)
            .map(Cell::Integer)
            .unwrap_or(Cell::Double(v as f64)),
        ValueRef::HugeInt(v) => i64::try_from(v)
            .map(Cell::Integer)
            .unwrap_or(Cell::Double(v as f64)),
        ValueRef::Float(v) => Cell::Double(v.into()),
        ValueRef::Double(v) => Cell::Double(v),
        ValueRef::Decimal(d) => d
            .to_string()
            .parse::<f64>()
            .map(Cell::Double)
            .unwrap_or(Cell::Null),
        ValueRef::Text(bytes) => Cell::Text(String::from_utf8_lossy(bytes).into_owned()),
        ValueRef::Date32(days) => date(days)?,
        ValueRef::Timestamp(unit, value) => timestamp(unit, value)?,
        other => Cell::Text(format!("{other:?}")),
    })
}

impl Driver for DuckDb {
    fn name(&self) -> &str {
        "duckdb"
    }

    fn dialect(&self) -> &Dialect {
        &self.dialect
    }

    /// Runs the statement while a watcher interrupts it on Ctrl-C, SIGTERM or `--timeout`:
    /// DuckDB's own interrupt stops the work inside the engine, not just the wait for it.
    fn send(&mut self, statement: Admitted<'_>) -> Result<ResultSet, Error> {
        let (sql, shape) = (statement.sql().to_string(), statement.shape());
        self.watched(move |connection, label| read(connection, label, &sql, shape))
    }

    /// The statements in one transaction, watched like a query: interrupted, it rolls back.
    fn write(&mut self, statements: &[Admitted<'_>]) -> Result<(), Error> {
        super::writes_only(statements)?;
        let statements: Vec<String> = statements.iter().map(|s| s.sql().to_string()).collect();
        self.watched(move |connection, label| {
            let fail = |e: duckdb::Error| Error::Query(format!("DuckDB ({label}): {e}"));
            connection
                .execute_batch("BEGIN TRANSACTION")
                .map_err(fail)?;
            // Each as one batch, planned once (a prepared statement is planned twice: see
            // `query_once`); the gate admitted each as one statement.
            for statement in &statements {
                if let Err(e) = connection.execute_batch(statement) {
                    let _ = connection.execute_batch("ROLLBACK");
                    return Err(fail(e));
                }
            }
            connection.execute_batch("COMMIT").map_err(fail)
        })
    }
}

impl DuckDb {
    /// The connection, unless a statement left running holds it.
    fn connection(&self) -> Result<std::sync::MutexGuard<'_, Connection>, Error> {
        if self.abandoned {
            return Err(Error::Query(format!(
                "DuckDB ({}) is still busy with a statement it was asked to stop",
                self.label
            )));
        }
        self.connection
            .lock()
            .map_err(|_| Error::Query(format!("DuckDB ({}) failed in a statement", self.label)))
    }

    /// Runs `work` on a thread of its own while this one interrupts it on Ctrl-C, SIGTERM or
    /// `--timeout`. DuckDB heeds the interrupt while it executes, not while it plans (a
    /// statement of thousands of segments can plan for minutes): a statement still running
    /// [`UNSTOPPABLE_GRACE`] after the interrupt is left to the process's end, and the error
    /// returned at once, so the run records it as any other (nothing it did is committed).
    fn watched<T: Send + 'static>(
        &mut self,
        work: impl FnOnce(&Connection, &str) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        cancel::check(self.target_name())?;
        let handle = self.connection()?.interrupt_handle();
        let (sender, receiver) = std::sync::mpsc::channel();
        let (connection, label) = (self.connection.clone(), self.label.clone());
        std::thread::spawn(move || {
            if let Ok(connection) = connection.lock() {
                let _ = sender.send(work(&connection, &label));
            }
        });
        let started = Instant::now();
        let timeout = self.options.timeout;
        let mut asked: Option<(Stop, Instant)> = None;
        loop {
            let result = match receiver.recv_timeout(Duration::from_millis(50)) {
                Ok(result) => Some(result),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => Some(Err(Error::Query(format!(
                    "DuckDB ({}) failed in the statement without an answer",
                    self.label
                )))),
            };
            let still_planning = match (&result, asked) {
                (Some(_), _) => false,
                (None, Some((_, at))) if at.elapsed() >= UNSTOPPABLE_GRACE => true,
                (None, Some(_)) => continue,
                (None, None) => {
                    let why = if cancel::signal().is_some() {
                        Stop::Interrupted
                    } else if timeout.is_some_and(|t| started.elapsed() >= t) {
                        Stop::TimedOut
                    } else {
                        continue;
                    };
                    handle.interrupt();
                    asked = Some((why, Instant::now()));
                    continue;
                }
            };
            let Some((why, _)) = asked else {
                return result.unwrap_or_else(|| unreachable!("an answer or a stop"));
            };
            let left = if still_planning {
                self.abandoned = true;
                format!(
                    "; DuckDB had not stopped {} s later (it heeds an interrupt while it optimizes and executes a statement, not while it reads and binds one), and segc stopped without waiting (nothing it did is committed)",
                    UNSTOPPABLE_GRACE.as_secs()
                )
            } else {
                String::new()
            };
            return Err(match why {
                Stop::TimedOut => Error::TimedOut(format!(
                    "target `{}` (DuckDB {}): the query ran longer than --timeout {} s and was interrupted{left}",
                    self.target_name(),
                    self.label,
                    timeout.map(|t| t.as_secs()).unwrap_or_default()
                )),
                Stop::Interrupted => match cancel::interrupted(self.target_name()) {
                    Error::Interrupted(message) => Error::Interrupted(format!("{message}{left}")),
                    other => other,
                },
            });
        }
    }
}

/// How long DuckDB may take to stop after an interrupt before segc stops waiting for it: it
/// does not check for one while it parses and binds a statement.
const UNSTOPPABLE_GRACE: Duration = Duration::from_secs(5);

/// Why a DuckDB query was interrupted.
#[derive(Clone, Copy)]
enum Stop {
    /// Ctrl-C or SIGTERM.
    Interrupted,
    /// `--timeout`.
    TimedOut,
}

/// The temporary table a query's rows are written to and read from (see [`query_once`]):
/// DuckDB's `temp` database, in memory, of this connection alone.
const RESULT_TABLE: &str = "temp.main.segc_result";

/// Runs one query, planned once, and hands its rows to `read`.
///
/// A prepared statement that reads a table is bound, optimized and planned twice in DuckDB
/// 2.0: once when prepared (the only way `duckdb-rs` runs a query that returns rows) and
/// again when executed, because DuckDB always plans such a statement again before running
/// it. On segc's statements the planning is a large share of the time: on the example
/// project's statement over the demo database, 470 ms a run against 310 ms planned once.
/// So the query runs as `CREATE TEMPORARY TABLE … AS` (planned once, in DuckDB's `temp`
/// database of this connection, in memory), whose rows a trivial query then reads, and the
/// table is dropped. Only queries the gate admitted as reads come here. The rows keep the
/// query's order: DuckDB keeps insertion order (`preserve_insertion_order`, its default,
/// which the locked configuration keeps). A column name the query repeats would come back
/// with DuckDB's suffix (`_1`); segc's statements name each column once.
pub fn query_once<T, E: From<duckdb::Error>>(
    connection: &Connection,
    sql: &str,
    read: impl FnOnce(&mut duckdb::Rows<'_>) -> Result<T, E>,
) -> Result<T, E> {
    // On the statement's first line, so DuckDB's messages keep its line numbers.
    connection.execute_batch(&format!(
        "CREATE OR REPLACE TEMPORARY TABLE {RESULT_TABLE} AS {sql}"
    ))?;
    let result = connection
        .prepare(&format!("SELECT * FROM {RESULT_TABLE}"))
        .map_err(E::from)
        .and_then(|mut statement| {
            let mut rows = statement.query([])?;
            read(&mut rows)
        });
    let dropped = connection.execute_batch(&format!("DROP TABLE IF EXISTS {RESULT_TABLE}"));
    let value = result?;
    dropped?;
    Ok(value)
}

/// Why reading a query's rows failed.
enum Failed {
    DuckDb(duckdb::Error),
    Segc(Error),
}

impl From<duckdb::Error> for Failed {
    fn from(error: duckdb::Error) -> Self {
        Failed::DuckDb(error)
    }
}

/// Runs a statement the gate admitted for `shape` on `connection` and reads its rows: a read
/// planned once ([`query_once`]), anything else (test fixtures) as a prepared statement.
fn read(connection: &Connection, label: &str, sql: &str, shape: Shape) -> Result<ResultSet, Error> {
    let rows_of = |rows: &mut duckdb::Rows<'_>| -> Result<ResultSet, Failed> {
        let mut result = ResultSet::default();
        while let Some(row) = rows.next()? {
            let statement = row.as_ref();
            if result.columns.is_empty() {
                result.columns = statement.column_names();
            }
            let mut values = Vec::with_capacity(result.columns.len());
            for index in 0..result.columns.len() {
                let value = cell(row.get_ref(index)?).ok_or_else(|| {
                    Failed::Segc(super::unreadable_time(
                        &format!("DuckDB ({label})"),
                        &result.columns[index],
                    ))
                })?;
                values.push(value);
            }
            result.rows.push(values);
        }
        Ok(result)
    };
    let outcome = if shape == Shape::Read {
        query_once(connection, sql, rows_of)
    } else {
        connection
            .prepare(sql)
            .map_err(Failed::from)
            .and_then(|mut prepared| rows_of(&mut prepared.query([])?))
    };
    outcome.map_err(|failed| match failed {
        Failed::Segc(error) => error,
        Failed::DuckDb(error) => Error::Query(duckdb_failure(label, &error)),
    })
}

/// DuckDB's error in a message naming the target: "rejected the query" where DuckDB would not
/// read or bind it (a syntax error, a missing table, column or function), else what failed
/// while it ran.
fn duckdb_failure(label: &str, error: &duckdb::Error) -> String {
    let text = error.to_string();
    let rejected = ["Parser Error", "Binder Error", "Catalog Error"]
        .iter()
        .any(|kind| text.starts_with(kind));
    match rejected {
        true => format!("DuckDB ({label}) rejected the query: {text}"),
        false => format!("DuckDB ({label}): {text}"),
    }
}

/// Where the `path` of a DuckDB profile points, relative to the project folder.
pub fn resolve_path(project_root: &Path, path: &str) -> PathBuf {
    let path = Path::new(path);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        project_root.join(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    /// A file that is not a DuckDB database is named as such before DuckDB opens it (a JSON
    /// file got "Cannot launch in-memory database in read-only mode"); a database opens, and
    /// an empty file keeps DuckDB's own message.
    #[test]
    fn a_file_that_is_not_a_database_is_named_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("report.json");
        std::fs::write(&json, "{\"rows\": [1, 2, 3], \"project\": \"x\"}\n").unwrap();
        let error = DuckDb::open_read_only(&json).err().unwrap().to_string();
        assert!(
            error.contains(
                "report.json is not a DuckDB database file (it starts with {\"rows\": [1,)"
            ),
            "{error}"
        );
        let short = dir.path().join("short.duckdb");
        std::fs::write(&short, "abc").unwrap();
        let error = DuckDb::open_read_only(&short).err().unwrap().to_string();
        assert!(error.contains("(it holds 3 bytes)"), "{error}");
        let empty = dir.path().join("empty.duckdb");
        std::fs::write(&empty, "").unwrap();
        let error = DuckDb::open_read_only(&empty).err().unwrap().to_string();
        assert!(
            error.contains("not a valid DuckDB database file"),
            "{error}"
        );
        let database = dir.path().join("real.duckdb");
        Connection::open(&database)
            .unwrap()
            .execute_batch("CREATE TABLE t (x INTEGER)")
            .unwrap();
        assert!(DuckDb::open_read_only(&database).is_ok());
        // Through a link, in another folder: DuckDB refused the `.wal` beside the link.
        #[cfg(unix)]
        {
            let elsewhere = dir.path().join("links");
            std::fs::create_dir(&elsewhere).unwrap();
            let link = elsewhere.join("linked.duckdb");
            std::os::unix::fs::symlink(&database, &link).unwrap();
            let mut linked = DuckDb::open_read_only(&link).unwrap();
            assert_eq!(
                linked.query("SELECT COUNT(*) FROM t").unwrap().rows.len(),
                1
            );
        }
        let error = DuckDb::open_read_only(dir.path())
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("is not a file"), "{error}");
    }

    /// A read runs planned once, through a temporary table: its rows come back as the
    /// prepared statement returns them (every type segc reads, NULLs, a date before 1970, an
    /// empty result), in the query's order over rows DuckDB inserts in parallel, and the table
    /// is gone after; an error keeps its message and leaves nothing behind.
    #[test]
    fn a_read_planned_once_returns_what_the_prepared_statement_returns() {
        let mut duckdb = DuckDb::in_memory().unwrap();
        duckdb
            .execute_batch(
                "CREATE TABLE t AS SELECT i, i % 7 AS g, CAST(i AS DOUBLE) / 3 AS d, \
                 'v' || CAST(i AS VARCHAR) AS s, DATE '1969-12-30' + CAST(i % 400 AS INTEGER) AS day, \
                 TIMESTAMP '2026-01-01 00:00:00' + TO_SECONDS(i) AS moment, i % 2 = 0 AS even, \
                 CASE WHEN i % 5 = 0 THEN NULL ELSE CAST(i AS DECIMAL(18, 2)) END AS money \
                 FROM range(300000) AS r(i)",
            )
            .unwrap();
        let queries = [
            "SELECT i, g, d, s, day, moment, even, money FROM t ORDER BY i DESC",
            "SELECT g, COUNT(*) AS n, SUM(money) AS total, MIN(day) AS first_day FROM t GROUP BY g ORDER BY g",
            "SELECT i FROM t WHERE i < 0",
        ];
        for sql in queries {
            let once = duckdb.query(sql).unwrap();
            let prepared = duckdb.set_up(sql).unwrap();
            assert_eq!(once, prepared, "{sql}");
        }
        let rows = duckdb.query(queries[0]).unwrap().rows;
        assert_eq!(rows.len(), 300_000);
        assert_eq!(rows[0][0], Cell::Integer(299_999));
        assert!(
            rows.windows(2)
                .all(|pair| pair[0][0].as_f64() > pair[1][0].as_f64())
        );
        assert_eq!(
            rows[299_999][4],
            Cell::Date(NaiveDate::from_ymd_opt(1969, 12, 30).unwrap())
        );
        assert_eq!(rows[299_994][7], Cell::Null); // i = 5
        let left = "SELECT COUNT(*) FROM duckdb_tables() WHERE table_name = 'segc_result'";
        assert_eq!(
            duckdb.set_up(left).unwrap().rows,
            vec![vec![Cell::Integer(0)]]
        );

        let missing = duckdb
            .query("SELECT x FROM nowhere")
            .unwrap_err()
            .to_string();
        assert!(
            missing.contains("DuckDB (memory) rejected the query: Catalog Error"),
            "{missing}"
        );
        let failed = duckdb
            .query("SELECT CAST(s AS INTEGER) AS n FROM t")
            .unwrap_err()
            .to_string();
        assert!(
            failed.contains("DuckDB (memory): Conversion Error"),
            "{failed}"
        );
        assert!(!failed.contains("rejected"), "{failed}");
        assert_eq!(
            duckdb.set_up(left).unwrap().rows,
            vec![vec![Cell::Integer(0)]]
        );
        assert_eq!(
            duckdb.query("SELECT COUNT(*) FROM t").unwrap().rows,
            vec![vec![Cell::Integer(300_000)]]
        );
    }

    /// A statement DuckDB does not stop within the grace after `--timeout` (one still being
    /// bound, here a statement that sleeps) is abandoned: segc answers at the grace's end and
    /// the connection is reported busy after.
    #[test]
    fn a_statement_that_does_not_stop_within_the_grace_is_abandoned() {
        let mut duckdb = DuckDb::in_memory().unwrap().with_options(RunOptions {
            timeout: Some(Duration::from_secs(1)),
            ..RunOptions::default()
        });
        let started = Instant::now();
        let error = duckdb
            .watched(|_, _| {
                std::thread::sleep(Duration::from_secs(9));
                Ok(())
            })
            .unwrap_err()
            .to_string();
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_secs(6) && waited < Duration::from_secs(8),
            "{waited:?}"
        );
        assert!(error.contains("longer than --timeout 1 s"), "{error}");
        assert!(
            error.contains("DuckDB had not stopped 5 s later"),
            "{error}"
        );
        let busy = duckdb.query("SELECT 1").unwrap_err().to_string();
        assert!(busy.contains("still busy"), "{busy}");
    }
}
