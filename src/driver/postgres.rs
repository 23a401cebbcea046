//! PostgreSQL and Redshift through tokio-postgres, with TLS by rustls.
//!
//! `sslmode` follows libpq: `disable` (plain), `prefer` (TLS when the server offers it,
//! certificate not verified), `require` (TLS, not verified), `verify-full` (TLS, certificate
//! and host name verified against the system roots and `sslrootcert`). Redshift defaults to
//! `require` on port 5439; PostgreSQL to `prefer` on 5432.

use std::sync::Arc;

use tokio_postgres::config::SslMode;
use tokio_postgres::types::Type;
use tokio_postgres::{Client, NoTls, Row};

use super::gate::{self, Admitted, Shape};
use super::{Cell, Driver, ResultSet, cancel};
use crate::dialect::Dialect;
use crate::error::Error;
use crate::spec::profiles::Profile;

pub struct Postgres {
    runtime: tokio::runtime::Runtime,
    dialect: Dialect,
    client: Client,
    tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
    profile: Profile,
    options: super::RunOptions,
    backend_pid: Option<i32>,
    kind: String,
    label: String,
}

use super::{Attempt, Backoff};

/// The server is shutting down (57P01 by an administrator, 57P02 after a crash) or starting
/// up (57P03): a restart or a failover, which passes.
const RESTARTING: [&str; 3] = ["57P01", "57P02", "57P03"];

/// A failure that may pass if the statement is simply run again on a new connection: the
/// connection was closed or reset, or the server ended the session (restart, failover).
fn is_transient(error: &tokio_postgres::Error) -> bool {
    if error.is_closed() {
        return true;
    }
    if let Some(db) = error.as_db_error() {
        let code = db.code().code();
        return code.starts_with("08") || RESTARTING.contains(&code);
    }
    // A broken connection is an I/O error; a message that cannot be encoded (text holding
    // NUL) is one too, of kind InvalidInput, and fails the same way on every try.
    std::error::Error::source(error)
        .and_then(|source| source.downcast_ref::<std::io::Error>())
        .is_some_and(|io| {
            !matches!(
                io.kind(),
                std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData
            )
        })
}

/// Accepts any certificate: libpq's `prefer` and `require` encrypt without verifying.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn tls_config(verify: bool, ca_file: Option<&str>) -> Result<rustls::ClientConfig, Error> {
    super::install_crypto_provider();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Profile(format!("TLS set-up failed: {e}")))?;
    if !verify {
        return Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
            .with_no_client_auth());
    }
    let mut roots = rustls::RootCertStore::empty();
    for certificate in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(certificate);
    }
    if let Some(path) = ca_file {
        use rustls::pki_types::pem::PemObject;
        let certificates = rustls::pki_types::CertificateDer::pem_file_iter(path)
            .map_err(|e| Error::Profile(format!("cannot read the CA file {path}: {e}")))?;
        let mut found = 0;
        for certificate in certificates {
            let certificate = certificate
                .map_err(|e| Error::Profile(format!("invalid certificate in {path}: {e}")))?;
            roots
                .add(certificate)
                .map_err(|e| Error::Profile(format!("unusable certificate in {path}: {e}")))?;
            found += 1;
        }
        // A file of something else (a key, plain text) would leave only the system's
        // authorities, and the server's certificate "UnknownIssuer" without a word why.
        if found == 0 {
            return Err(Error::Profile(format!(
                "the CA file {path} (`sslrootcert`) holds no certificate (no `-----BEGIN \
                 CERTIFICATE-----` block)"
            )));
        }
    }
    Ok(builder.with_root_certificates(roots).with_no_client_auth())
}

/// Turns a driver error into what to fix, never repeating secrets.
fn explain(error: &tokio_postgres::Error, target: &str) -> String {
    if let Some(db) = error.as_db_error() {
        let hint = match db.code().code() {
            "28P01" | "28000" => " — check the user and password of the target",
            "42P01" => {
                " — a table the statement reads (a source's, or segc's own history or results table) does not exist or is not visible to this user"
            }
            // One code for every refused privilege: say which.
            "42501" if db.message().contains("row-level security") => {
                " — a row-level security policy applies to this user on that table, and the role's or database's `row_security = off` asks PostgreSQL to refuse such a query rather than filter it: report with a user no policy restricts, or let the policy filter (row_security on)"
            }
            "42501" if db.message().contains("to set parameter") => {
                " — this user may not change that setting: remove it from `options` in profiles.yml"
            }
            "42501" => {
                " — the user lacks a permission on that table: SELECT to read a source; SELECT, INSERT and DELETE to write the results or the history table"
            }
            "3D000" => " — check `database` in profiles.yml",
            _ => "",
        };
        let message = crate::error::clip(db.message(), super::SERVER_MESSAGE_CHARS);
        return format!("target `{target}`: {message}{hint}");
    }
    let text = crate::error::clip(&error.to_string(), super::SERVER_MESSAGE_CHARS);
    if text.contains("TLS") || text.contains("tls") || text.contains("ssl") {
        return format!(
            "target `{target}`: TLS failed ({text}) — check `sslmode` and `sslrootcert`"
        );
    }
    format!("target `{target}`: {text}")
}

/// Why a connection could not be opened: the target, the server it tried and the cause, with
/// what to check; never a secret of the profile.
fn connect_failure(
    error: &tokio_postgres::Error,
    profile: &Profile,
    host: &str,
    port: u16,
    limit: &super::ConnectLimit,
) -> Error {
    let target = &profile.name;
    let place = format!("target `{target}` ({} at {host}:{port})", profile.kind);
    let message = if error.as_db_error().is_some() {
        // The server answered and refused: the login, the database.
        let explained = explain(error, target);
        let prefix = format!("target `{target}`: ");
        let reason = explained.strip_prefix(&prefix).unwrap_or(&explained);
        format!("{place}: {reason}")
    } else {
        let cause = super::with_causes(error);
        let lower = cause.to_lowercase();
        let hint = match super::io_cause(error) {
            _ if lower.contains("tls") || lower.contains("certificate") => {
                " — check `sslmode` and `sslrootcert`"
            }
            Some(std::io::ErrorKind::ConnectionRefused) => {
                " — check `host` and `port`, and that the server is running and accepts TCP connections"
            }
            Some(std::io::ErrorKind::TimedOut) => " — the server did not answer in time",
            _ if lower.contains("timeout") || lower.contains("timed out") => {
                " — the server did not answer in time"
            }
            _ if lower.contains("lookup") || lower.contains("resolve") => " — check `host`",
            _ => "",
        };
        let waited = if hint.contains("in time") {
            format!(" ({})", limit.set_by)
        } else {
            String::new()
        };
        format!("{place}: cannot connect: {cause}{hint}{waited}")
    };
    Error::Query(profile.redact(&message))
}

impl Postgres {
    /// Connects to a `postgres` or `redshift` target.
    pub fn connect(profile: &Profile) -> Result<Self, Error> {
        Self::connect_with(profile, super::RunOptions::default())
    }

    pub fn connect_with(profile: &Profile, options: super::RunOptions) -> Result<Self, Error> {
        cancel::install();
        let runtime = super::runtime()?;
        let dialect = Dialect::load(&profile.kind)?;
        let (client, tls, backend_pid) = connect_retrying(&runtime, profile, &dialect, &options)?;
        publish_backend_pid(&options, backend_pid);
        Ok(Postgres {
            runtime,
            dialect,
            client,
            tls,
            profile: profile.clone(),
            options,
            backend_pid,
            kind: profile.kind.clone(),
            label: profile.name.clone(),
        })
    }

    /// Runs once, reading the rows as they come and decoding each, until the answer ends or
    /// holds more than the result budget; on Ctrl-C or time-out, asks the server to cancel
    /// the query before returning.
    fn query_once(
        &mut self,
        sql: &str,
        read_only: bool,
        until: Option<tokio::time::Instant>,
    ) -> Result<ResultSet, Attempt> {
        use futures_util::TryStreamExt;
        let cancel = self.client.cancel_token();
        let (client, target, options) = (&mut self.client, &self.label, &self.options);
        let work = async move {
            let none: [&(dyn tokio_postgres::types::ToSql + Sync); 0] = [];
            // A read runs in a transaction read-only from its start: a function or operator
            // the statement reaches on the server (one a user planted in a schema on the
            // search path) cannot write either, nor turn the transaction read-write once it
            // has begun. Dropped unfinished, it is rolled back.
            let (stream, transaction) = if read_only {
                let transaction = client.build_transaction().read_only(true).start().await?;
                (transaction.query_raw(sql, none).await?, Some(transaction))
            } else {
                (client.query_raw(sql, none).await?, None)
            };
            futures_util::pin_mut!(stream);
            let mut budget = super::ResultBudget::new(target, options);
            let mut result = ResultSet::default();
            while let Some(row) = stream.try_next().await? {
                if result.columns.is_empty() {
                    result.columns = row.columns().iter().map(|c| c.name().to_string()).collect();
                }
                let mut values = Vec::with_capacity(row.len());
                for index in 0..row.len() {
                    match cell(&row, index) {
                        Ok(value) => values.push(value),
                        Err(e) => {
                            let column = row.columns()[index].name();
                            if matches!(
                                *row.columns()[index].type_(),
                                Type::DATE | Type::TIMESTAMP | Type::TIMESTAMPTZ
                            ) {
                                let engine = format!("target `{target}`");
                                return Ok(Err(super::unreadable_time(&engine, column)));
                            }
                            return Ok(Err(Error::Query(format!(
                                "target `{target}`: cannot decode a value of column `{column}`: {e}"
                            ))));
                        }
                    }
                }
                if let Err(error) = budget.take(&values) {
                    return Ok(Err(error));
                }
                result.rows.push(values);
            }
            if let Some(transaction) = transaction {
                transaction.commit().await?;
            }
            Ok(Ok(result))
        };
        let read = cancellable(
            &self.runtime,
            cancel,
            self.tls.clone(),
            &self.label,
            (&self.options, until),
            work,
        )?;
        if read.is_err() {
            // Rows left unread (past the budget, or one that does not decode): the server is
            // told to stop sending them.
            let cancel = self.client.cancel_token();
            let tls = self.tls.clone();
            let _ = self.runtime.block_on(cancel_in_server(cancel, tls));
        }
        read.map_err(Attempt::Failed)
    }

    /// The statements in one transaction, once: on any failure, Ctrl-C or time-out the
    /// transaction is rolled back (the server cancels the running statement first).
    fn write_once(
        &mut self,
        statements: &[&str],
        until: Option<tokio::time::Instant>,
    ) -> Result<(), Attempt> {
        let cancel = self.client.cancel_token();
        let client = &mut self.client;
        let work = async move {
            let transaction = client.transaction().await?;
            for sql in statements {
                transaction.execute(*sql, &[]).await?;
            }
            transaction.commit().await
        };
        cancellable(
            &self.runtime,
            cancel,
            self.tls.clone(),
            &self.label,
            (&self.options, until),
            work,
        )
    }
}

/// Runs `work` on a connection until it ends, Ctrl-C or `--timeout`; a stopped query is
/// cancelled in the server too (through `cancel`, the connection's token).
fn cancellable<T>(
    runtime: &tokio::runtime::Runtime,
    cancel: tokio_postgres::CancelToken,
    tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
    target: &str,
    (options, until): (&super::RunOptions, Option<tokio::time::Instant>),
    work: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, Attempt> {
    let timeout = options.timeout;
    let target = target.to_string();
    let events = &options.events;
    runtime.block_on(async move {
        let limit = super::deadline(until);
        let outcome = tokio::select! {
            result = work => return result.map_err(|e| {
                Attempt::new(is_transient(&e), explain(&e, &target))
            }),
            _ = cancel::requested() => cancel::interrupted(&target),
            _ = limit => Error::TimedOut(format!(
                "target `{target}`: the query ran longer than --timeout {} s and was cancelled",
                timeout.map(|t| t.as_secs()).unwrap_or_default()
            )),
        };
        // Cancel in the server, not just here: dropping the future leaves it running.
        if let Err(failure) = cancel_in_server(cancel, tls).await {
            events.warn(&format!(
                "warning: could not cancel the query on target `{target}`: {failure}"
            ));
        }
        Err(Attempt::Failed(outcome))
    })
}

/// A session's process id, as the run's query id (shown and recorded), when the server told.
fn publish_backend_pid(options: &super::RunOptions, pid: Option<i32>) {
    if let Some(pid) = pid {
        options.publish_query_id("backend pid", pid.to_string(), false);
    }
}

/// How long a cancel request may take: a server that neither answers it nor closes its
/// connection does not keep segc past `--timeout` (or a signal) by more.
const CANCEL_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Asks the server to cancel the query running on the connection of `cancel`, over TLS when
/// the connection uses it, for at most [`CANCEL_WAIT`]; why it failed, if it did.
async fn cancel_in_server(
    cancel: tokio_postgres::CancelToken,
    tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
) -> Result<(), String> {
    let request = async move {
        match tls {
            Some(tls) => cancel.cancel_query(tls).await,
            None => cancel.cancel_query(NoTls).await,
        }
    };
    match tokio::time::timeout(CANCEL_WAIT, request).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!(
            "the server did not take the request within {} s",
            CANCEL_WAIT.as_secs()
        )),
    }
}

/// Connects, retrying while the server says it is starting up or shutting down (a restart,
/// a failover) within the retry budget; a stop request ends the wait.
fn connect_retrying(
    runtime: &tokio::runtime::Runtime,
    profile: &Profile,
    dialect: &Dialect,
    options: &super::RunOptions,
) -> Result<Connected, Error> {
    let limit = super::connect_limit(profile, options)?;
    let mut backoff = Backoff::new().reporting(&options.events);
    loop {
        cancel::check(&profile.name)?;
        let attempt = runtime.block_on(super::open_within(open(profile, dialect, &limit), &limit));
        match attempt {
            super::Opening::Interrupted => return Err(cancel::interrupted(&profile.name)),
            super::Opening::TimedOut => {
                let (host, port) = address(profile)?;
                return Err(Error::Query(format!(
                    "target `{}` ({} at {host}:{port}): cannot connect: no session within {} — the server did not answer in time",
                    profile.name, profile.kind, limit.set_by
                )));
            }
            super::Opening::Done(Ok(connected)) => return Ok(connected),
            super::Opening::Done(Err(Attempt::Transient(message))) => {
                backoff.wait(message, &profile.name)?
            }
            super::Opening::Done(Err(Attempt::Failed(error))) => return Err(error),
        }
    }
}

/// The host and port a profile connects to (`localhost`, and 5432, or 5439 on Redshift, by
/// default); a port that is not a number is refused.
fn address(profile: &Profile) -> Result<(&str, u16), Error> {
    let default_port = if profile.kind == "redshift" {
        5439
    } else {
        5432
    };
    let port = match profile.field("port") {
        Some(text) => text.parse::<u16>().map_err(|_| {
            Error::Profile(format!(
                "target `{}`: `port` must be a number",
                profile.name
            ))
        })?,
        None => default_port,
    };
    Ok((profile.field("host").unwrap_or("localhost"), port))
}

/// A session: its client, its TLS connector, and its process id on the server.
type Connected = (
    Client,
    Option<tokio_postgres_rustls::MakeRustlsConnect>,
    Option<i32>,
);
/// A connection before its session's settings.
type Opened = (Client, Option<tokio_postgres_rustls::MakeRustlsConnect>);

/// Opens a connection as the profile says, with the TLS connector when one is used, and pins
/// the session's settings. A server that cannot take sessions for now is transient.
async fn open(
    profile: &Profile,
    dialect: &Dialect,
    limit: &super::ConnectLimit,
) -> Result<Connected, Attempt> {
    let (client, tls) = open_session(profile, limit).await?;
    // The dialect's pinned settings, after the profile's `options` so they win.
    for setting in &dialect.session.settings {
        let statement = gate::admit(setting, dialect, Shape::Session).map_err(Attempt::Failed)?;
        client.batch_execute(statement.sql()).await.map_err(|e| {
            Attempt::Failed(Error::Query(format!(
                "{} (while pinning `{setting}`)",
                explain(&e, &profile.name)
            )))
        })?;
    }
    // The session's process id, for the run's record; within the opening's limit, like the
    // settings: a server that stops answering here does not hold segc.
    let statement =
        gate::admit("SELECT pg_backend_pid()", dialect, Shape::Read).map_err(Attempt::Failed)?;
    let pid = client
        .query_one(statement.sql(), &[])
        .await
        .ok()
        .and_then(|row| row.try_get::<_, i32>(0).ok());
    Ok((client, tls, pid))
}

/// A server that cannot take sessions for now: restarting, or too many connections at once
/// (53300).
fn is_starting(error: &tokio_postgres::Error) -> bool {
    error.as_db_error().is_some_and(|db| {
        let code = db.code().code();
        RESTARTING.contains(&code) || code == "53300"
    })
}

async fn open_session(profile: &Profile, limit: &super::ConnectLimit) -> Result<Opened, Attempt> {
    let redshift = profile.kind == "redshift";
    let mut config = tokio_postgres::Config::new();
    let (host, port) = address(profile).map_err(Attempt::Failed)?;
    config.host(host);
    config.port(port);
    if let Some(user) = profile.field("user") {
        config.user(user);
    }
    if let Some(password) = profile.field("password") {
        config.password(password);
    }
    if profile.field("database").is_some() && profile.field("dbname").is_some() {
        return Err(Attempt::Failed(Error::Profile(format!(
            "target `{}`: `database` and `dbname` name the same setting; keep one",
            profile.name
        ))));
    }
    if let Some(database) = profile.field("database").or(profile.field("dbname")) {
        config.dbname(database);
    }
    if let Some(options) = profile.field("options") {
        // Text travels as UTF-8 (tokio-postgres asks for it at start-up); PostgreSQL sessions
        // also pin it afterwards, Redshift ones cannot, so an override is refused there.
        if redshift && options.to_lowercase().contains("client_encoding") {
            return Err(Attempt::Failed(Error::Profile(format!(
                "target `{}`: `options` may not set client_encoding; segc reads and writes UTF-8",
                profile.name
            ))));
        }
        config.options(options);
    }
    config.application_name("segc");
    // The whole opening is limited too (`open_within`); this is the TCP connection's limit.
    config.connect_timeout(limit.duration);
    let sslmode = profile
        .field("sslmode")
        .unwrap_or(if redshift { "require" } else { "prefer" });
    let target = profile.name.clone();
    let connect_error = |e: tokio_postgres::Error| {
        let failure = connect_failure(&e, profile, host, port, limit);
        if is_starting(&e) {
            Attempt::Transient(failure.to_string())
        } else {
            Attempt::Failed(failure)
        }
    };
    match sslmode {
        "disable" => {
            let (client, connection) = config.connect(NoTls).await.map_err(connect_error)?;
            tokio::spawn(connection);
            Ok((client, None))
        }
        "prefer" | "require" | "verify-full" | "verify-ca" => {
            config.ssl_mode(if sslmode == "prefer" {
                SslMode::Prefer
            } else {
                SslMode::Require
            });
            let verify = matches!(sslmode, "verify-full" | "verify-ca");
            let tls = tokio_postgres_rustls::MakeRustlsConnect::new(
                tls_config(verify, profile.field("sslrootcert")).map_err(Attempt::Failed)?,
            );
            let (client, connection) = config.connect(tls.clone()).await.map_err(connect_error)?;
            tokio::spawn(connection);
            Ok((client, Some(tls)))
        }
        other => Err(Attempt::Failed(Error::Profile(format!(
            "target `{target}`: unknown sslmode{} (use disable, prefer, require or verify-full)",
            if crate::spec::secrets::plausible_name(other) {
                format!(" `{other}`")
            } else {
                String::new()
            }
        )))),
    }
}

fn cell(row: &Row, index: usize) -> Result<Cell, tokio_postgres::Error> {
    let column_type = row.columns()[index].type_().clone();
    Ok(match column_type {
        Type::INT8 => row.try_get::<_, Option<i64>>(index)?.map(Cell::Integer),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(index)?
            .map(|v| Cell::Integer(v.into())),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(index)?
            .map(|v| Cell::Integer(v.into())),
        Type::FLOAT8 => row.try_get::<_, Option<f64>>(index)?.map(Cell::Double),
        Type::FLOAT4 => row
            .try_get::<_, Option<f32>>(index)?
            .map(|v| Cell::Double(v.into())),
        Type::BOOL => row.try_get::<_, Option<bool>>(index)?.map(Cell::Boolean),
        Type::DATE => row
            .try_get::<_, Option<chrono::NaiveDate>>(index)?
            .map(Cell::Date),
        Type::TIMESTAMP => row
            .try_get::<_, Option<chrono::NaiveDateTime>>(index)?
            .map(Cell::Timestamp),
        Type::TIMESTAMPTZ => row
            .try_get::<_, Option<chrono::DateTime<chrono::Utc>>>(index)?
            .map(|t| Cell::Timestamp(t.naive_utc())),
        _ => row.try_get::<_, Option<String>>(index)?.map(Cell::Text),
    }
    .unwrap_or(Cell::Null))
}

impl Driver for Postgres {
    fn name(&self) -> &str {
        &self.kind
    }

    fn dialect(&self) -> &Dialect {
        &self.dialect
    }

    fn send(&mut self, statement: Admitted<'_>) -> Result<ResultSet, Error> {
        // A read in a read-only transaction; a test fixture (tables, `DROP DATABASE`) as sent.
        let read_only = statement.shape() == Shape::Read;
        self.retrying(|this, until| this.query_once(statement.sql(), read_only, until))
    }

    /// One transaction; a dropped connection rolled it back, so it is tried again whole.
    fn write(&mut self, statements: &[Admitted<'_>]) -> Result<(), Error> {
        super::writes_only(statements)?;
        let sql: Vec<&str> = statements.iter().map(|s| s.sql()).collect();
        self.retrying(|this, until| this.write_once(&sql, until))
    }
}

impl Postgres {
    /// Runs `once` until it succeeds or fails for good: after a transient failure, on a new
    /// connection, within the retry budget. Every try together is within --timeout: each is
    /// given the instant it must end by.
    fn retrying<T>(
        &mut self,
        mut once: impl FnMut(&mut Self, Option<tokio::time::Instant>) -> Result<T, Attempt>,
    ) -> Result<T, Error> {
        let target = self.label.clone();
        let mut backoff = Backoff::new()
            .reporting(&self.options.events)
            .within(self.options.timeout);
        let until = self
            .options
            .timeout
            .map(|t| tokio::time::Instant::now() + t);
        loop {
            cancel::check(&target)?;
            match once(self, until) {
                Ok(done) => return Ok(done),
                Err(Attempt::Failed(error)) => return Err(error),
                Err(Attempt::Transient(message)) => {
                    backoff.wait(message, &target)?;
                    // A new connection: the old one is gone or its session was ended. Until
                    // one opens, each try fails fast and spends the budget.
                    let limit = super::connect_limit(&self.profile, &self.options)?;
                    let opened = self.runtime.block_on(super::open_within(
                        open(&self.profile, &self.dialect, &limit),
                        &limit,
                    ));
                    match opened {
                        super::Opening::Interrupted => return Err(cancel::interrupted(&target)),
                        super::Opening::TimedOut => self.options.events.progress(&format!(
                            "reconnecting failed: no session within {}",
                            limit.set_by
                        )),
                        super::Opening::Done(Ok((client, tls, pid))) => {
                            self.client = client;
                            self.tls = tls;
                            self.backend_pid = pid;
                            publish_backend_pid(&self.options, pid);
                        }
                        super::Opening::Done(Err(Attempt::Transient(message))) => self
                            .options
                            .events
                            .progress(&format!("reconnecting failed: {message}")),
                        super::Opening::Done(Err(Attempt::Failed(error))) => self
                            .options
                            .events
                            .progress(&format!("reconnecting failed: {error}")),
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redshift_options_may_not_change_the_client_encoding() {
        let profile = Profile {
            name: "rs".into(),
            kind: "redshift".into(),
            fields: [
                ("host", "127.0.0.1"),
                ("port", "9"),
                ("options", "-c CLIENT_ENCODING=latin1"),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            folder: std::path::PathBuf::from("."),
        };
        let error = Postgres::connect(&profile)
            .err()
            .expect("refused")
            .to_string();
        assert!(error.contains("may not set client_encoding"), "{error}");
    }

    #[test]
    fn database_and_dbname_together_are_refused() {
        let profile = Profile {
            name: "pg".into(),
            kind: "postgres".into(),
            fields: [
                ("host", "127.0.0.1"),
                ("port", "9"),
                ("database", "a"),
                ("dbname", "b"),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            folder: std::path::PathBuf::from("."),
        };
        let error = Postgres::connect(&profile).err().expect("refused");
        assert!(matches!(error, Error::Profile(_)), "{error}");
        assert!(error.to_string().contains("keep one"), "{error}");
    }
}
