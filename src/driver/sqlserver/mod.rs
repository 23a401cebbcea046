//! SQL Server and Azure SQL through tiberius (TDS), with TLS by rustls.
//!
//! A target gives either an ADO connection string (`connection_string`) or `host` with `port`
//! or a named `instance` (found through the SQL Browser service), plus `database`. It
//! authenticates with `user` and `password` (SQL authentication) or `access_token` (an Azure AD
//! token). `encrypt` is `true` (the default: TLS required), `false` (only the login is
//! encrypted) or `strict` (TDS 8.0); `trust_server_certificate: true` skips certificate checks
//! and `ca_file` adds a certificate to trust.
//!
//! tiberius limits each round trip to 30 s unless told otherwise; segc lifts that limit (a
//! report's aggregate may take minutes) unless the target sets `command_timeout`. Ctrl-C and
//! `--timeout` send the server an attention (cancel) and close the connection if that fails.

use std::time::Duration;

use tiberius::error::Error as TdsError;
use tiberius::{Client, ColumnData, Config, FromSql, SqlBrowser};
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

use super::gate::{self, Admitted, Shape};
use super::{Attempt, Backoff, Cell, Driver, ResultSet, RunOptions, cancel};
use crate::dialect::Dialect;
use crate::error::Error;
use crate::spec::profiles::Profile;

mod config;

pub use config::tds_config;

type Connection = Client<Compat<TcpStream>>;

pub struct SqlServer {
    runtime: tokio::runtime::Runtime,
    dialect: Dialect,
    client: Option<Connection>,
    config: Config,
    named_instance: bool,
    target: String,
    options: RunOptions,
    /// How long opening a connection may take ([`super::connect_limit`]).
    open_limit: super::ConnectLimit,
}

/// Whether a failure may pass on a new connection: a dropped connection, or one of the
/// errors Azure SQL documents as transient (failover, throttling, a deadlock victim).
pub fn is_transient(error: &TdsError) -> bool {
    match error {
        TdsError::Io { .. } => true,
        TdsError::Server(token) => is_transient_code(token.code()),
        _ => false,
    }
}

/// Server error numbers worth another try.
pub fn is_transient_code(code: u32) -> bool {
    matches!(
        code,
        1205 | 4060
            | 4221
            | 10928
            | 10929
            | 40143
            | 40197
            | 40501
            | 40540
            | 40613
            | 49918
            | 49919
            | 49920
    )
}

/// What to fix for a server error number.
pub fn explain_server(target: &str, code: u32, message: &str) -> String {
    let hint = match code {
        18456 => " — check `user` and `password` (or `access_token`) of the target",
        208 => {
            " — a table the statement reads (a source's, or segc's own history or results table) does not exist or is not visible to this user"
        }
        229 | 230 | 262 | 297 | 300 => {
            " — the user lacks a permission on that table: SELECT to read a source; SELECT, INSERT and DELETE to write the results or the history table"
        }
        4060 => " — check `database` in profiles.yml",
        40615 => " — the server's firewall does not allow this machine's address",
        _ => "",
    };
    let message = crate::error::clip(message, super::SERVER_MESSAGE_CHARS);
    format!("target `{target}`: SQL Server error {code}: {message}{hint}")
}

/// Turns a driver error into what to fix, never repeating secrets.
pub fn explain(error: &TdsError, target: &str) -> String {
    match error {
        TdsError::Server(token) => explain_server(target, token.code(), token.message()),
        TdsError::Tls(message) => format!(
            "target `{target}`: TLS failed ({message}) — check `encrypt`, `trust_server_certificate` and `ca_file`"
        ),
        TdsError::Io { kind, message } => {
            let hint = match kind {
                std::io::ErrorKind::ConnectionRefused => {
                    " — check `host`, `port` or `instance`, and that SQL Server accepts TCP connections"
                }
                std::io::ErrorKind::TimedOut => " — the server did not answer in time",
                _ => "",
            };
            format!("target `{target}`: {message}{hint}")
        }
        other => format!(
            "target `{target}`: {}",
            crate::error::clip(&other.to_string(), super::SERVER_MESSAGE_CHARS)
        ),
    }
}

/// Why a connection could not be opened: the target, the server it tried and the cause, with
/// what to check; never a secret of the profile.
pub fn connect_failure(error: &TdsError, profile: &Profile, config: &Config) -> Error {
    let target = &profile.name;
    let address = match (profile.field("host"), profile.field("instance")) {
        (host, Some(instance)) if profile.field("connection_string").is_none() => {
            format!("{}\\{instance}", host.unwrap_or("localhost"))
        }
        _ => config.get_addr(),
    };
    let explained = explain(error, target);
    let prefix = format!("target `{target}`: ");
    let reason = explained.strip_prefix(&prefix).unwrap_or(&explained);
    let verb = if matches!(error, TdsError::Server(_)) {
        "the login failed"
    } else {
        "cannot connect"
    };
    Error::Query(profile.redact(&format!(
        "target `{target}` (sqlserver at {address}): {verb}: {reason}"
    )))
}

/// Decodes one value. Exact numerics arrive as decimals and are returned as doubles; dates
/// and times without an offset as they are, with one in UTC.
pub fn decode(data: &ColumnData<'static>) -> Result<Cell, String> {
    let failed = |e: TdsError| e.to_string();
    Ok(match data {
        ColumnData::U8(v) => v.map(|v| Cell::Integer(v.into())).unwrap_or(Cell::Null),
        ColumnData::I16(v) => v.map(|v| Cell::Integer(v.into())).unwrap_or(Cell::Null),
        ColumnData::I32(v) => v.map(|v| Cell::Integer(v.into())).unwrap_or(Cell::Null),
        ColumnData::I64(v) => v.map(Cell::Integer).unwrap_or(Cell::Null),
        ColumnData::F32(v) => v.map(|v| Cell::Double(v.into())).unwrap_or(Cell::Null),
        ColumnData::F64(v) => v.map(Cell::Double).unwrap_or(Cell::Null),
        ColumnData::Bit(v) => v.map(Cell::Boolean).unwrap_or(Cell::Null),
        ColumnData::Numeric(v) => v.map(|n| Cell::Double(f64::from(n))).unwrap_or(Cell::Null),
        ColumnData::String(v) => v
            .as_ref()
            .map(|s| Cell::Text(s.to_string()))
            .unwrap_or(Cell::Null),
        ColumnData::Guid(v) => v.map(|g| Cell::Text(g.to_string())).unwrap_or(Cell::Null),
        ColumnData::Xml(v) => v
            .as_ref()
            .map(|x| Cell::Text(x.to_string()))
            .unwrap_or(Cell::Null),
        ColumnData::Binary(v) => v
            .as_ref()
            .map(|bytes| Cell::Text(bytes.iter().map(|b| format!("{b:02x}")).collect()))
            .unwrap_or(Cell::Null),
        ColumnData::Date(_) => chrono::NaiveDate::from_sql(data)
            .map_err(failed)?
            .map(Cell::Date)
            .unwrap_or(Cell::Null),
        ColumnData::Time(_) => chrono::NaiveTime::from_sql(data)
            .map_err(failed)?
            .map(|t| Cell::Text(t.to_string()))
            .unwrap_or(Cell::Null),
        ColumnData::DateTime(_) | ColumnData::SmallDateTime(_) | ColumnData::DateTime2(_) => {
            chrono::NaiveDateTime::from_sql(data)
                .map_err(failed)?
                .map(Cell::Timestamp)
                .unwrap_or(Cell::Null)
        }
        ColumnData::DateTimeOffset(_) => chrono::DateTime::<chrono::Utc>::from_sql(data)
            .map_err(failed)?
            .map(|t| Cell::Timestamp(t.naive_utc()))
            .unwrap_or(Cell::Null),
    })
}

/// Opens a session and pins the dialect's session settings (`QUOTED_IDENTIFIER`,
/// `ANSI_NULLS`, `ANSI_PADDING`, `CONCAT_NULL_YIELDS_NULL`, `ANSI_WARNINGS`, `ARITHABORT`): a
/// database or login can set them otherwise, which would change what segc's SQL means.
async fn open(
    config: &Config,
    named_instance: bool,
    dialect: &Dialect,
) -> Result<Connection, TdsError> {
    let mut client = connect(config, named_instance).await?;
    for setting in &dialect.session.settings {
        let statement = gate::admit(setting, dialect, Shape::Session)
            .map_err(|e| TdsError::Protocol(e.to_string().into()))?;
        client
            .simple_query(statement.sql())
            .await?
            .into_results()
            .await?;
    }
    Ok(client)
}

async fn connect(config: &Config, named_instance: bool) -> Result<Connection, TdsError> {
    let mut config = config.clone();
    // Azure SQL may redirect the login to another host once.
    for _ in 0..2 {
        let tcp = if named_instance {
            TcpStream::connect_named(&config).await?
        } else {
            TcpStream::connect(config.get_addr()).await?
        };
        tcp.set_nodelay(true)?;
        match Client::connect(config.clone(), tcp.compat_write()).await {
            Err(TdsError::Routing { host, port }) => {
                config.host(&host);
                config.port(port);
            }
            other => return other,
        }
    }
    Err(TdsError::Protocol(
        "the server redirected the login twice".into(),
    ))
}

/// How a query ended before its rows were read.
enum Stop {
    Interrupted,
    TimedOut,
}

/// The rows of the first result, decoded as they come; a budget exceeded ends the reading
/// (the inner error), leaving the connection to be closed.
async fn read_all(
    client: &mut Connection,
    sql: &str,
    mut budget: super::ResultBudget<'_>,
) -> Result<Result<ResultSet, Error>, TdsError> {
    use futures_util::TryStreamExt;
    use tiberius::QueryItem;
    let mut stream = client.simple_query(sql).await?;
    let columns = stream
        .columns()
        .await?
        .map(|columns| columns.iter().map(|c| c.name().to_string()).collect())
        .unwrap_or_default();
    let mut result = ResultSet {
        columns,
        rows: Vec::new(),
    };
    while let Some(item) = stream.try_next().await? {
        let row = match item {
            QueryItem::Row(row) if row.result_index() == 0 => row,
            _ => continue,
        };
        let mut values = Vec::with_capacity(row.len());
        for (column, data) in row.cells() {
            values.push(decode(data).map_err(|e| {
                TdsError::Conversion(format!("column `{}`: {e}", column.name()).into())
            })?);
        }
        if let Err(error) = budget.take(&values) {
            return Ok(Err(error));
        }
        result.rows.push(values);
    }
    Ok(Ok(result))
}

impl SqlServer {
    pub fn connect(profile: &Profile, options: RunOptions) -> Result<Self, Error> {
        let (config, named_instance) = tds_config(profile)?;
        cancel::install();
        super::install_crypto_provider();
        let runtime = super::runtime()?;
        let target = profile.name.clone();
        let dialect = Dialect::load("sqlserver")?;
        let limit = super::connect_limit(profile, &options)?;
        let client = match runtime.block_on(super::open_within(
            open(&config, named_instance, &dialect),
            &limit,
        )) {
            super::Opening::Done(opened) => {
                opened.map_err(|e| connect_failure(&e, profile, &config))?
            }
            super::Opening::Interrupted => return Err(cancel::interrupted(&target)),
            super::Opening::TimedOut => {
                return Err(Error::Query(profile.redact(&format!(
                    "target `{target}` (sqlserver at {}): cannot connect: no session within {} — the server did not answer in time",
                    config.get_addr(),
                    limit.set_by
                ))));
            }
        };
        let mut driver = SqlServer {
            runtime,
            dialect,
            client: Some(client),
            config,
            named_instance,
            target,
            options,
            open_limit: limit,
        };
        driver.publish_session_id();
        Ok(driver)
    }

    fn publish_session_id(&mut self) {
        let Some(client) = self.client.as_mut() else {
            return;
        };
        let Ok(statement) = gate::admit("SELECT @@SPID", &self.dialect, Shape::Read) else {
            return;
        };
        let session = self.runtime.block_on(async {
            let row = client.simple_query(statement.sql()).await.ok()?;
            let row = row.into_row().await.ok()??;
            row.try_get::<i16, _>(0).ok()?
        });
        if let Some(session) = session {
            self.options
                .publish_query_id("session", session.to_string(), false);
        }
    }

    /// Runs once; on Ctrl-C or time-out, cancels the request in the server.
    fn query_once(&mut self, sql: &str) -> Result<ResultSet, Attempt> {
        let target = self.target.clone();
        let timeout = self.options.timeout;
        let config = self.config.clone();
        let named_instance = self.named_instance;
        let dialect = &self.dialect;
        let options = &self.options;
        let events = &self.options.events;
        let slot = &mut self.client;
        let open_limit = &self.open_limit;
        self.runtime.block_on(async move {
            if slot.is_none() {
                let opened = tokio::time::timeout(open_limit.duration, open(&config, named_instance, dialect))
                    .await
                    .map_err(|_| {
                        Attempt::Transient(format!(
                            "target `{target}`: reconnecting: no session within {}",
                            open_limit.set_by
                        ))
                    })?;
                *slot = Some(opened.map_err(|e| Attempt::new(is_transient(&e), explain(&e, &target)))?);
            }
            let client = slot.as_mut().expect("connected above");
            let limit = super::deadline(timeout.map(|t| tokio::time::Instant::now() + t));
            let budget = super::ResultBudget::new(&target, options);
            let stop = tokio::select! {
                result = read_all(client, sql, budget) => {
                    return match result {
                        Ok(Ok(rows)) => Ok(rows),
                        // Rows left unread: the connection is not used again.
                        Ok(Err(error)) => {
                            slot.take();
                            Err(Attempt::Failed(error))
                        }
                        Err(e) => Err(Attempt::new(is_transient(&e), explain(&e, &target))),
                    };
                }
                _ = cancel::requested() => Stop::Interrupted,
                _ = limit => Stop::TimedOut,
            };
            // The request's future is gone; tell the server to stop, or hang up.
            let cancelled =
                tokio::time::timeout(Duration::from_secs(10), client.cancel_query()).await;
            if !matches!(cancelled, Ok(Ok(()))) {
                if let Some(client) = slot.take() {
                    let _ = tokio::time::timeout(Duration::from_secs(2), client.close()).await;
                }
                events.warn(&format!(
                    "warning: the cancel was not acknowledged on target `{target}`; the connection was closed"
                ));
            }
            Err(Attempt::Failed(match stop {
                Stop::Interrupted => cancel::interrupted(&target),
                Stop::TimedOut => Error::TimedOut(format!(
                    "target `{target}`: the query ran longer than --timeout {} s and was cancelled",
                    timeout.map(|t| t.as_secs()).unwrap_or_default()
                )),
            }))
        })
    }
}

impl Driver for SqlServer {
    fn name(&self) -> &str {
        "sqlserver"
    }

    fn dialect(&self) -> &Dialect {
        &self.dialect
    }

    fn send(&mut self, statement: Admitted<'_>) -> Result<ResultSet, Error> {
        self.retrying(statement.sql())
    }

    /// One batch holding the transaction. `XACT_ABORT` makes any error, and a cancel
    /// (Ctrl-C, `--timeout`), roll the whole transaction back in the server.
    fn write(&mut self, statements: &[Admitted<'_>]) -> Result<(), Error> {
        super::writes_only(statements)?;
        let mut batch = String::from("SET XACT_ABORT ON;\nBEGIN TRANSACTION;\n");
        for statement in statements {
            batch.push_str(statement.sql());
            batch.push_str(";\n");
        }
        batch.push_str("COMMIT TRANSACTION;");
        self.retrying(&batch).map(|_| ())
    }

    fn server_version(&mut self) -> Result<String, Error> {
        let result = self.query("SELECT @@VERSION")?;
        match result.rows.first().and_then(|r| r.first()) {
            Some(Cell::Text(version)) => Ok(version.lines().next().unwrap_or("").to_string()),
            _ => Ok("SQL Server".to_string()),
        }
    }
}

impl SqlServer {
    /// Runs `sql` until it succeeds or fails for good: after a transient failure, on a new
    /// connection, within the retry budget.
    fn retrying(&mut self, sql: &str) -> Result<ResultSet, Error> {
        let mut backoff = Backoff::new()
            .reporting(&self.options.events)
            .within(self.options.timeout);
        loop {
            cancel::check(&self.target)?;
            match self.query_once(sql) {
                Ok(result) => return Ok(result),
                Err(Attempt::Failed(error)) => return Err(error),
                Err(Attempt::Transient(message)) => {
                    backoff.wait(message, &self.target)?;
                    // A new connection on the next attempt.
                    self.client = None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use tiberius::numeric::Numeric;
    use tiberius::time::{Date, DateTime2, Time};

    use super::*;

    #[test]
    fn values_decode_to_cells() {
        assert_eq!(
            decode(&ColumnData::I32(Some(-7))).unwrap(),
            Cell::Integer(-7)
        );
        assert_eq!(
            decode(&ColumnData::I64(Some(4_000_000_008))).unwrap(),
            Cell::Integer(4_000_000_008)
        );
        assert_eq!(
            decode(&ColumnData::U8(Some(255))).unwrap(),
            Cell::Integer(255)
        );
        assert_eq!(decode(&ColumnData::I64(None)).unwrap(), Cell::Null);
        assert_eq!(
            decode(&ColumnData::F64(Some(0.25))).unwrap(),
            Cell::Double(0.25)
        );
        assert_eq!(
            decode(&ColumnData::Numeric(Some(Numeric::new_with_scale(
                12_500, 3
            ))))
            .unwrap(),
            Cell::Double(12.5)
        );
        assert_eq!(
            decode(&ColumnData::Bit(Some(true))).unwrap(),
            Cell::Boolean(true)
        );
        let text = "it's a \\ test\nCôte d'Ivoire -- Zoë";
        assert_eq!(
            decode(&ColumnData::String(Some(Cow::Borrowed(text)))).unwrap(),
            Cell::Text(text.into())
        );
        assert_eq!(decode(&ColumnData::String(None)).unwrap(), Cell::Null);

        // 2024-03-31 is day 739_341 after 0001-01-01; 23:59:59 at scale 7 is in 100 ns units.
        let day = chrono::NaiveDate::from_ymd_opt(2024, 3, 31).unwrap();
        let days = (day - chrono::NaiveDate::from_ymd_opt(1, 1, 1).unwrap()).num_days() as u32;
        let time = Time::new(86_399 * 10_000_000, 7);
        assert_eq!(
            decode(&ColumnData::Date(Some(Date::new(days)))).unwrap(),
            Cell::Date(day)
        );
        assert_eq!(
            decode(&ColumnData::DateTime2(Some(DateTime2::new(
                Date::new(days),
                time
            ))))
            .unwrap(),
            Cell::Timestamp(day.and_hms_opt(23, 59, 59).unwrap())
        );
    }

    #[test]
    fn errors_say_what_to_fix_and_only_transient_ones_are_retried() {
        let login = explain_server("mssql", 18456, "Login failed for user 'segc'.");
        assert!(login.contains("check `user` and `password`"), "{login}");
        assert!(!is_transient_code(18456));
        let missing = explain_server("mssql", 208, "Invalid object name 'app.users'.");
        assert!(
            missing.contains("app.users") && missing.contains("a source's, or segc's own history"),
            "{missing}"
        );
        assert!(!is_transient_code(208));
        let denied = explain_server("mssql", 229, "The SELECT permission was denied");
        assert!(denied.contains("permission"), "{denied}");
        assert!(is_transient_code(40613));
        assert!(is_transient_code(1205));
        assert!(is_transient(&TdsError::Io {
            kind: std::io::ErrorKind::ConnectionReset,
            message: "connection reset".into()
        }));
        let refused = TdsError::Io {
            kind: std::io::ErrorKind::ConnectionRefused,
            message: "connection refused".into(),
        };
        assert!(explain(&refused, "mssql").contains("`host`, `port` or `instance`"));
        let tls = TdsError::Tls("invalid peer certificate".into());
        assert!(explain(&tls, "mssql").contains("trust_server_certificate"));
        assert!(!is_transient(&tls));
    }
}
