//! BigQuery through its REST API (gcp-bigquery-client).
//!
//! A statement runs as `jobs.query` with a short wait, then `jobs.getQueryResults` is polled
//! until the job is done and every page is read (BigQuery returns the first page only, and
//! may answer before the job completes). Every value arrives as a string and is decoded by the
//! schema's type. Ctrl-C and `--timeout` call `jobs.cancel`, so the job stops in BigQuery too.
//!
//! Credentials, in order: `access_token` (an OAuth token, e.g. from
//! `gcloud auth print-access-token`), `keyfile_json` (a service-account key's JSON),
//! `keyfile` (a path to one), then application default credentials
//! (`GOOGLE_APPLICATION_CREDENTIALS`, gcloud's file, or the metadata server). With `endpoint`
//! and no credentials, requests go unauthenticated, as emulators expect.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use gcp_bigquery_client::Client;
use gcp_bigquery_client::auth::Authenticator;
use gcp_bigquery_client::error::BQError;
use gcp_bigquery_client::model::data_format_options::DataFormatOptions;
use gcp_bigquery_client::model::dataset_reference::DatasetReference;
use gcp_bigquery_client::model::field_type::FieldType;
use gcp_bigquery_client::model::get_query_results_parameters::GetQueryResultsParameters;
use gcp_bigquery_client::model::query_request::QueryRequest;
use gcp_bigquery_client::model::table_field_schema::TableFieldSchema;
use gcp_bigquery_client::model::table_row::TableRow;

use super::gate::{self, Admitted, Shape};
use super::{Attempt, Backoff, Cell, Driver, ResultSet, RunOptions, cancel};
use crate::dialect::Dialect;
use crate::error::Error;
use crate::spec::profiles::Profile;

/// How long one `jobs.query` or `getQueryResults` call waits for the job before answering.
/// Short, so Ctrl-C is acted on promptly.
const WAIT_MS: i32 = 2_000;
/// The HTTP client's limits; one call never waits much longer than `WAIT_MS` by design.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

pub struct BigQuery {
    runtime: tokio::runtime::Runtime,
    dialect: Dialect,
    client: Client,
    settings: Settings,
    options: RunOptions,
}

/// What the profile says, checked.
#[derive(Debug, Clone)]
struct Settings {
    target: String,
    project: String,
    dataset: Option<String>,
    location: Option<String>,
    endpoint: Option<String>,
    maximum_bytes_billed: Option<String>,
    page_size: Option<i32>,
    labels: HashMap<String, String>,
}

/// An access token given as is (or none, for an emulator).
#[derive(Clone)]
struct FixedToken(String);

impl Authenticator for FixedToken {
    fn access_token<'life0, 'async_trait>(
        &'life0 self,
    ) -> Pin<Box<dyn Future<Output = Result<String, BQError>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        let token = self.0.clone();
        Box::pin(async move { Ok(token) })
    }
}

/// A BigQuery label value: lower-case letters, digits, `_` and `-`, at most 63 characters.
pub fn label_value(text: &str) -> String {
    let mut value: String = text
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    value.truncate(63);
    value
}

/// An id for this run, used as the `segc_run` job label: the UTC time and the process id.
fn run_id() -> String {
    format!(
        "{}-{}",
        chrono::Utc::now().format("%Y%m%dt%H%M%S"),
        std::process::id()
    )
}

/// A fresh `requestId`, so BigQuery runs a retried `jobs.query` once.
fn request_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("segc-{:x}-{:x}", std::process::id(), nanos)
}

impl Settings {
    fn from_profile(profile: &Profile) -> Result<Settings, Error> {
        let target = profile.name.clone();
        let Some(project) = profile.field("project").or(profile.field("project_id")) else {
            return Err(Error::Profile(format!(
                "target `{target}` (bigquery) needs `project`: the Google Cloud project that runs the jobs"
            )));
        };
        let maximum_bytes_billed = match profile.field("maximum_bytes_billed") {
            Some(text) if text.parse::<u64>().is_ok() => Some(text.to_string()),
            Some(_) => {
                return Err(Error::Profile(format!(
                    "target `{target}`: `maximum_bytes_billed` must be a whole number of bytes"
                )));
            }
            None => None,
        };
        let page_size = match profile.field("page_size") {
            Some(text) => Some(text.parse::<i32>().ok().filter(|n| *n > 0).ok_or_else(|| {
                Error::Profile(format!(
                    "target `{target}`: `page_size` must be a positive number of rows"
                ))
            })?),
            None => None,
        };
        let mut labels = HashMap::new();
        labels.insert("segc_run".to_string(), label_value(&run_id()));
        labels.insert("segc_target".to_string(), label_value(&target));
        Ok(Settings {
            project: project.to_string(),
            dataset: profile.field("dataset").map(str::to_string),
            location: profile.field("location").map(str::to_string),
            endpoint: profile
                .field("endpoint")
                .map(|e| e.trim_end_matches('/').to_string()),
            maximum_bytes_billed,
            page_size,
            labels,
            target,
        })
    }

    /// The REST base URL: BigQuery's own, or `<endpoint>/bigquery/v2` for an emulator.
    fn base_url(&self) -> Option<String> {
        self.endpoint.as_ref().map(|endpoint| {
            if endpoint.ends_with("/bigquery/v2") {
                endpoint.clone()
            } else {
                format!("{endpoint}/bigquery/v2")
            }
        })
    }

    fn request(&self, sql: &str, dry_run: bool) -> QueryRequest {
        let mut request = QueryRequest::new(sql);
        request.use_legacy_sql = false;
        request.dry_run = Some(dry_run);
        request.labels = Some(self.labels.clone());
        request.location = self.location.clone();
        request.maximum_bytes_billed = self.maximum_bytes_billed.clone();
        request.max_results = self.page_size;
        request.timeout_ms = Some(WAIT_MS);
        request.request_id = Some(request_id());
        request.format_options = Some(DataFormatOptions {
            use_int64_timestamp: Some(true),
        });
        request.default_dataset = self.dataset.as_ref().map(|dataset| DatasetReference {
            dataset_id: dataset.clone(),
            project_id: self.project.clone(),
        });
        request
    }
}

/// The reason BigQuery gave for an error, and its HTTP code.
fn reason_of(error: &BQError) -> Option<(i64, String, String)> {
    match error {
        BQError::ResponseError { error } => {
            let reason = error
                .error
                .errors
                .first()
                .and_then(|e| e.get("reason"))
                .cloned()
                .unwrap_or_default();
            Some((error.error.code, reason, error.error.message.clone()))
        }
        _ => None,
    }
}

/// Whether an error may pass on a second try.
pub fn is_transient(code: i64, reason: &str) -> bool {
    code >= 500
        || matches!(
            reason,
            "rateLimitExceeded" | "backendError" | "internalError" | "jobBackendError"
        )
}

/// Turns a BigQuery error reason into what to fix.
pub fn explain(target: &str, code: i64, reason: &str, message: &str) -> String {
    let hint = match reason {
        "notFound" => {
            " — a table named in sources does not exist, or `project`, `dataset` or `location` in profiles.yml is wrong"
        }
        "accessDenied" => {
            " — the account lacks permission: it needs BigQuery Job User on the project and Data Viewer on the source datasets"
        }
        "bytesBilledLimitExceeded" => {
            " — the query would process more than `maximum_bytes_billed` allows; raise it in profiles.yml or narrow the sources"
        }
        "authError" | "unauthorized" => {
            " — check the credentials: `keyfile`, `keyfile_json`, `access_token` or application default credentials"
        }
        "invalidQuery" => "",
        "quotaExceeded" => " — a BigQuery quota was reached; try later or raise the quota",
        _ if code == 401 => {
            " — check the credentials: `keyfile`, `keyfile_json`, `access_token` or application default credentials"
        }
        _ => "",
    };
    let reason = if reason.is_empty() {
        String::new()
    } else {
        format!(" ({reason})")
    };
    format!("target `{target}`: BigQuery error{reason}: {message}{hint}")
}

/// What went wrong with one API call: transient for 5xx, `rateLimitExceeded`, `backendError`
/// and a dropped connection.
fn classify(error: BQError, target: &str) -> Attempt {
    if let Some((code, reason, message)) = reason_of(&error) {
        return Attempt::new(
            is_transient(code, &reason),
            explain(target, code, &reason, &message),
        );
    }
    match &error {
        BQError::RequestError(e) if e.is_connect() || e.is_timeout() || e.is_request() => {
            // reqwest names the URL (so the endpoint's host and port) and keeps the cause as
            // a source. Nothing listening there is a wrong `endpoint`, not a passing failure.
            let refused = super::io_cause(e) == Some(std::io::ErrorKind::ConnectionRefused);
            Attempt::new(
                !refused,
                format!(
                    "target `{target}`: cannot reach BigQuery: {}",
                    super::with_causes(e)
                ),
            )
        }
        // An error body that is not BigQuery's JSON (a proxy's 502 page, say).
        BQError::RequestError(e) if e.is_decode() || e.is_body() => Attempt::Transient(format!(
            "target `{target}`: unreadable answer from BigQuery: {e}"
        )),
        BQError::AuthError(_)
        | BQError::YupAuthError(_)
        | BQError::NoToken
        | BQError::InvalidServiceAccountKey(_)
        | BQError::InvalidServiceAccountAuthenticator(_)
        | BQError::InvalidApplicationDefaultCredentialsAuthenticator(_) => {
            Attempt::Failed(Error::Query(format!(
                "target `{target}`: cannot authenticate to BigQuery ({error}) — check `keyfile`, `keyfile_json`, `access_token` or application default credentials"
            )))
        }
        _ => Attempt::Failed(Error::Query(format!("target `{target}`: {error}"))),
    }
}

/// Errors a job reported in an otherwise successful answer.
fn job_errors(
    errors: Option<&Vec<gcp_bigquery_client::model::error_proto::ErrorProto>>,
    target: &str,
) -> Option<Error> {
    let first = errors?.first()?;
    let reason = first.reason.clone().unwrap_or_default();
    let message = first.message.clone().unwrap_or_default();
    Some(Error::Query(explain(target, 400, &reason, &message)))
}

/// Runs an API call, retrying transient failures with backoff.
async fn with_retries<T, F, Fut>(
    target: &str,
    events: &super::EventSink,
    mut call: F,
) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, BQError>>,
{
    let mut backoff = Backoff::new().reporting(events);
    loop {
        match call().await {
            Ok(value) => return Ok(value),
            Err(error) => match classify(error, target) {
                Attempt::Failed(error) => return Err(error),
                Attempt::Transient(message) => {
                    let pause = backoff.next(message)?;
                    tokio::select! {
                        _ = tokio::time::sleep(pause) => {}
                        _ = cancel::requested() => return Err(cancel::interrupted(target)),
                    }
                }
            },
        }
    }
}

/// Decodes one value by its column's type. BigQuery sends every value as a string;
/// timestamps as microseconds since the epoch (or, without `useInt64Timestamp`, seconds as a
/// float); nested and repeated values are kept as JSON text.
pub fn decode(field: &TableFieldSchema, value: Option<&serde_json::Value>) -> Result<Cell, String> {
    let value = match value {
        None | Some(serde_json::Value::Null) => return Ok(Cell::Null),
        Some(value) => value,
    };
    let repeated = field.mode.as_deref() == Some("REPEATED");
    let text = match value {
        serde_json::Value::String(text) if !repeated => text.as_str(),
        other => return Ok(Cell::Text(other.to_string())),
    };
    let bad = |kind: &str| format!("`{}`: `{text}` is not a valid {kind}", field.name);
    Ok(match field.r#type {
        FieldType::Integer | FieldType::Int64 => {
            Cell::Integer(text.parse().map_err(|_| bad("INT64"))?)
        }
        FieldType::Float | FieldType::Float64 | FieldType::Numeric | FieldType::Bignumeric => {
            match text {
                "NaN" => Cell::Double(f64::NAN),
                "Infinity" => Cell::Double(f64::INFINITY),
                "-Infinity" => Cell::Double(f64::NEG_INFINITY),
                _ => Cell::Double(text.parse().map_err(|_| bad("number"))?),
            }
        }
        FieldType::Boolean | FieldType::Bool => match text {
            "true" | "TRUE" => Cell::Boolean(true),
            "false" | "FALSE" => Cell::Boolean(false),
            _ => return Err(bad("BOOL")),
        },
        FieldType::Date => Cell::Date(
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| bad("DATE"))?,
        ),
        FieldType::Datetime => Cell::Timestamp(
            chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                .or_else(|_| chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f"))
                .map_err(|_| bad("DATETIME"))?,
        ),
        FieldType::Timestamp => {
            let instant = match text.parse::<i64>() {
                Ok(micros) => chrono::DateTime::from_timestamp_micros(micros),
                Err(_) => {
                    let seconds: f64 = text.parse().map_err(|_| bad("TIMESTAMP"))?;
                    chrono::DateTime::from_timestamp_micros((seconds * 1e6).round() as i64)
                }
            };
            Cell::Timestamp(instant.ok_or_else(|| bad("TIMESTAMP"))?.naive_utc())
        }
        _ => Cell::Text(text.to_string()),
    })
}

fn decode_rows(
    fields: &[TableFieldSchema],
    rows: Vec<TableRow>,
    target: &str,
) -> Result<Vec<Vec<Cell>>, Error> {
    rows.into_iter()
        .map(|row| {
            let cells = row.columns.unwrap_or_default();
            fields
                .iter()
                .enumerate()
                .map(|(index, field)| {
                    decode(field, cells.get(index).and_then(|c| c.value.as_ref())).map_err(|e| {
                        Error::Query(format!("target `{target}`: cannot decode a value: {e}"))
                    })
                })
                .collect()
        })
        .collect()
}

/// How a query ended before its rows were all read.
enum Stop {
    Interrupted,
    TimedOut(Duration),
}

impl BigQuery {
    pub fn connect(profile: &Profile, options: RunOptions) -> Result<Self, Error> {
        let settings = Settings::from_profile(profile)?;
        cancel::install();
        super::install_crypto_provider();
        let runtime = super::runtime()?;
        let client = runtime.block_on(build_client(profile, &settings))?;
        Ok(BigQuery {
            runtime,
            dialect: Dialect::load("bigquery")?,
            client,
            settings,
            options,
        })
    }

    /// A dry run: the bytes BigQuery would process for `sql`, without running it.
    pub fn estimate(&mut self, sql: &str) -> Result<u64, Error> {
        let statement = gate::admit(sql, &self.dialect, Shape::Read)?;
        let settings = &self.settings;
        let client = &self.client;
        let request = settings.request(statement.sql(), true);
        let response =
            self.runtime
                .block_on(with_retries(&settings.target, &self.options.events, || {
                    client.job().query(&settings.project, request.clone())
                }))?;
        if let Some(error) = job_errors(response.errors.as_ref(), &settings.target) {
            return Err(error);
        }
        let bytes = response.total_bytes_processed.unwrap_or_default();
        bytes.parse().map_err(|_| {
            Error::Query(format!(
                "target `{}`: BigQuery gave no byte estimate (`{bytes}`)",
                settings.target
            ))
        })
    }

    async fn run(&self, sql: &str) -> Result<ResultSet, Error> {
        let settings = &self.settings;
        let target = settings.target.as_str();
        let client = &self.client;
        let deadline = self
            .options
            .timeout
            .map(|t| tokio::time::Instant::now() + t);
        let stop = async {
            tokio::select! {
                _ = cancel::requested() => Stop::Interrupted,
                _ = super::deadline(deadline) => Stop::TimedOut(self.options.timeout.unwrap_or_default()),
            }
        };
        tokio::pin!(stop);

        // jobs.query: the job is named only once this answers, so a Ctrl-C meanwhile waits
        // for the answer (at most WAIT_MS) and then cancels the job.
        // One request id for every attempt, so BigQuery starts the job once.
        let request = settings.request(sql, false);
        let first = with_retries(target, &self.options.events, || {
            client.job().query(&settings.project, request.clone())
        });
        tokio::pin!(first);
        let (response, stopped) = tokio::select! {
            response = &mut first => (response?, None),
            why = &mut stop => (first.await?, Some(why)),
        };
        if let Some(error) = job_errors(response.errors.as_ref(), target) {
            return Err(error);
        }
        let reference = response.job_reference.clone().unwrap_or_default();
        let job_id = reference.job_id.clone().unwrap_or_default();
        let location = reference.location.clone().or(settings.location.clone());
        if !job_id.is_empty() {
            self.options.publish_query_id(format!("job {job_id}"));
        }
        let (job, place) = (job_id.as_str(), location.as_deref());
        let cancel = |why: Stop| async move {
            let job_id = job;
            if !job_id.is_empty()
                && let Err(e) = client
                    .job()
                    .cancel_job(&settings.project, job_id, place)
                    .await
            {
                self.options.events.warn(&format!(
                    "warning: could not cancel BigQuery job {job_id}: {e}"
                ));
            }
            match why {
                Stop::Interrupted => match cancel::interrupted(target) {
                    Error::Interrupted(message) => {
                        Error::Interrupted(format!("{message}: BigQuery job {job_id}"))
                    }
                    other => other,
                },
                Stop::TimedOut(limit) => Error::Query(format!(
                    "target `{target}`: the query ran longer than --timeout {} s; BigQuery job {job_id} was cancelled",
                    limit.as_secs()
                )),
            }
        };
        if let Some(why) = stopped {
            return Err(cancel(why).await);
        }

        let mut schema = response.schema.and_then(|s| s.fields);
        let mut rows = Vec::new();
        if response.job_complete == Some(true)
            && let Some(fields) = &schema
        {
            rows.extend(decode_rows(
                fields,
                response.rows.unwrap_or_default(),
                target,
            )?);
        }
        let mut complete = response.job_complete == Some(true);
        let mut page_token = response.page_token.filter(|t| !t.is_empty());
        while !complete || page_token.is_some() {
            // No `formatOptions` here: the client sends these as URL parameters, where a nested
            // field cannot be written; later pages may carry float-seconds timestamps, which
            // `decode` reads too.
            let parameters = || GetQueryResultsParameters {
                format_options: None,
                location: location.clone(),
                max_results: settings.page_size,
                page_token: page_token.clone(),
                start_index: None,
                timeout_ms: Some(WAIT_MS),
            };
            let next = with_retries(target, &self.options.events, || {
                client
                    .job()
                    .get_query_results(&settings.project, &job_id, parameters())
            });
            let page = tokio::select! {
                page = next => page?,
                why = &mut stop => return Err(cancel(why).await),
            };
            if let Some(error) = job_errors(page.errors.as_ref(), target) {
                return Err(error);
            }
            if page.job_complete != Some(true) {
                continue;
            }
            complete = true;
            if schema.is_none() {
                schema = page.schema.and_then(|s| s.fields);
            }
            if let Some(fields) = &schema {
                rows.extend(decode_rows(fields, page.rows.unwrap_or_default(), target)?);
            }
            page_token = page.page_token.filter(|t| !t.is_empty());
        }
        Ok(ResultSet {
            columns: schema
                .unwrap_or_default()
                .into_iter()
                .map(|f| f.name)
                .collect(),
            rows,
        })
    }
}

async fn build_client(profile: &Profile, settings: &Settings) -> Result<Client, Error> {
    let target = &settings.target;
    let http = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(|e| Error::Query(format!("target `{target}`: cannot set up HTTP: {e}")))?;
    let mut builder = gcp_bigquery_client::client_builder::ClientBuilder::new();
    builder.with_client(http);
    if let Some(url) = settings.base_url() {
        builder.with_v2_base_url(url);
    }
    let auth_error = |e: BQError| {
        Error::Profile(format!(
            "target `{target}`: cannot set up BigQuery credentials: {e}"
        ))
    };
    if let Some(token) = profile.field("access_token") {
        return builder
            .build_from_authenticator(Arc::new(FixedToken(token.to_string())))
            .await
            .map_err(auth_error);
    }
    if let Some(json) = profile.field("keyfile_json") {
        let key =
            gcp_bigquery_client::yup_oauth2::parse_service_account_key(json).map_err(|_| {
                Error::Profile(format!(
                    "target `{target}`: `keyfile_json` is not a service-account key"
                ))
            })?;
        return builder
            .build_from_service_account_key(key, false)
            .await
            .map_err(auth_error);
    }
    if let Some(path) = profile.field("keyfile") {
        let path = if std::path::Path::new(path).is_absolute() {
            std::path::PathBuf::from(path)
        } else {
            profile.folder.join(path)
        };
        if !path.is_file() {
            return Err(Error::Profile(format!(
                "target `{target}`: the key file {} does not exist",
                path.display()
            )));
        }
        return builder
            .build_from_service_account_key_file(&path.display().to_string())
            .await
            .map_err(auth_error);
    }
    if settings.endpoint.is_some() {
        return builder
            .build_from_authenticator(Arc::new(FixedToken("emulator".into())))
            .await
            .map_err(auth_error);
    }
    builder
        .build_from_application_default_credentials()
        .await
        .map_err(auth_error)
}

impl Driver for BigQuery {
    fn name(&self) -> &str {
        "bigquery"
    }

    fn dialect(&self) -> &Dialect {
        &self.dialect
    }

    fn send(&mut self, statement: Admitted<'_>) -> Result<ResultSet, Error> {
        cancel::check(&self.settings.target)?;
        self.runtime.block_on(self.run(statement.sql()))
    }

    fn server_version(&mut self) -> Result<String, Error> {
        self.query("SELECT 1")?;
        let place = match (&self.settings.endpoint, &self.settings.location) {
            (Some(endpoint), _) => format!("API at {endpoint}"),
            (None, Some(location)) => format!("location {location}"),
            (None, None) => "default location".to_string(),
        };
        Ok(format!(
            "BigQuery, project {}, {place}",
            self.settings.project
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, kind: FieldType) -> TableFieldSchema {
        TableFieldSchema::new(name, kind)
    }

    fn text(value: &str) -> serde_json::Value {
        serde_json::Value::String(value.into())
    }

    #[test]
    fn values_decode_by_their_column_type() {
        let at = chrono::NaiveDate::from_ymd_opt(2024, 3, 31)
            .unwrap()
            .and_hms_opt(23, 59, 59)
            .unwrap();
        let cases = [
            (FieldType::Int64, "4000000008", Cell::Integer(4_000_000_008)),
            (FieldType::Integer, "-3", Cell::Integer(-3)),
            (FieldType::Float64, "0.25", Cell::Double(0.25)),
            (FieldType::Numeric, "12.500", Cell::Double(12.5)),
            (FieldType::Bool, "true", Cell::Boolean(true)),
            (FieldType::Boolean, "false", Cell::Boolean(false)),
            (FieldType::Date, "2024-03-31", Cell::Date(at.date())),
            (
                FieldType::Timestamp,
                "1711929599000000",
                Cell::Timestamp(at),
            ),
            (FieldType::Timestamp, "1.711929599E9", Cell::Timestamp(at)),
            (
                FieldType::Datetime,
                "2024-03-31T23:59:59",
                Cell::Timestamp(at),
            ),
            (
                FieldType::String,
                "it's a \\ test\nZoë --",
                Cell::Text("it's a \\ test\nZoë --".into()),
            ),
        ];
        for (kind, value, expected) in cases {
            assert_eq!(
                decode(&field("c", kind.clone()), Some(&text(value))).unwrap(),
                expected,
                "{value}"
            );
        }
        assert_eq!(
            decode(&field("c", FieldType::Int64), None).unwrap(),
            Cell::Null
        );
        assert_eq!(
            decode(
                &field("c", FieldType::String),
                Some(&serde_json::Value::Null)
            )
            .unwrap(),
            Cell::Null
        );
        let error = decode(&field("people", FieldType::Int64), Some(&text("x"))).unwrap_err();
        assert!(error.contains("`people`"), "{error}");
    }

    #[test]
    fn only_server_side_and_rate_limit_errors_are_retried() {
        assert!(is_transient(503, ""));
        assert!(is_transient(500, "backendError"));
        assert!(is_transient(403, "rateLimitExceeded"));
        assert!(!is_transient(403, "quotaExceeded"));
        assert!(!is_transient(403, "accessDenied"));
        assert!(!is_transient(400, "invalidQuery"));
        assert!(!is_transient(404, "notFound"));
    }

    #[test]
    fn errors_say_what_to_fix() {
        let text = explain("bq", 404, "notFound", "Not found: Table p:app.users");
        assert!(
            text.contains("app.users") && text.contains("sources"),
            "{text}"
        );
        let text = explain("bq", 403, "accessDenied", "Access Denied");
        assert!(text.contains("permission"), "{text}");
        let text = explain("bq", 400, "bytesBilledLimitExceeded", "limit");
        assert!(text.contains("maximum_bytes_billed"), "{text}");
        let text = explain(
            "bq",
            401,
            "",
            "Request had invalid authentication credentials",
        );
        assert!(text.contains("credentials"), "{text}");
    }

    fn profile(fields: &[(&str, &str)]) -> Profile {
        Profile {
            name: "Warehouse EU".into(),
            kind: "bigquery".into(),
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            folder: std::path::PathBuf::from("."),
        }
    }

    #[test]
    fn requests_carry_the_label_the_byte_limit_and_the_location() {
        let settings = Settings::from_profile(&profile(&[
            ("project", "my-proj"),
            ("dataset", "analytics"),
            ("location", "EU"),
            ("maximum_bytes_billed", "1000000000"),
            ("endpoint", "http://127.0.0.1:9050/"),
        ]))
        .unwrap();
        assert_eq!(
            settings.base_url().as_deref(),
            Some("http://127.0.0.1:9050/bigquery/v2")
        );
        let request = serde_json::to_value(settings.request("SELECT 1", false)).unwrap();
        assert_eq!(request["query"], "SELECT 1");
        assert_eq!(request["useLegacySql"], false);
        assert_eq!(request["location"], "EU");
        assert_eq!(request["maximumBytesBilled"], "1000000000");
        assert_eq!(request["labels"]["segc_target"], "warehouse_eu");
        assert!(
            request["labels"]["segc_run"]
                .as_str()
                .is_some_and(|run| !run.is_empty())
        );
        assert_eq!(request["defaultDataset"]["datasetId"], "analytics");
        assert_eq!(request["formatOptions"]["useInt64Timestamp"], true);
        let dry = serde_json::to_value(settings.request("SELECT 1", true)).unwrap();
        assert_eq!(dry["dryRun"], true);

        let error = Settings::from_profile(&profile(&[("dataset", "x")])).unwrap_err();
        assert!(error.to_string().contains("needs `project`"), "{error}");
        let error = Settings::from_profile(&profile(&[
            ("project", "p"),
            ("maximum_bytes_billed", "10GB"),
        ]))
        .unwrap_err();
        assert!(
            error.to_string().contains("maximum_bytes_billed"),
            "{error}"
        );
    }

    #[test]
    fn label_values_follow_bigquery_rules() {
        assert_eq!(label_value("Prod BQ.eu"), "prod_bq_eu");
        assert_eq!(label_value(&"x".repeat(80)).len(), 63);
    }
}
