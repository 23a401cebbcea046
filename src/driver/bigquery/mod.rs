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

use std::future::Future;
use std::time::Duration;

use gcp_bigquery_client::Client;
use gcp_bigquery_client::error::BQError;
use gcp_bigquery_client::model::get_query_results_parameters::GetQueryResultsParameters;

use super::gate::{self, Admitted, Shape};
use super::{Attempt, Backoff, Bytes, Driver, ResultSet, RunOptions, cancel};
use crate::dialect::Dialect;
use crate::error::Error;
use crate::spec::profiles::Profile;

mod decode;
mod errors;
mod settings;

pub use decode::decode;
use decode::decode_rows;
use errors::{classify, job_errors};
pub use errors::{explain, is_transient};
pub use settings::label_value;
use settings::{Settings, build_client};

/// How long one `jobs.query` or `getQueryResults` call waits for the job before answering.
/// Short, so Ctrl-C is acted on promptly.
const WAIT_MS: i32 = 2_000;

/// How long the `jobs.get` for a finished job's bytes billed may take.
const STATISTICS_WAIT: Duration = Duration::from_secs(10);

/// After Ctrl-C, SIGTERM or `--timeout`, how long the first request may still take to name
/// its job so that the job can be cancelled: BigQuery answers it within [`WAIT_MS`].
const NAMING_WAIT: Duration = Duration::from_secs(5);

/// How long `jobs.cancel` may take before segc gives up on it (with a warning).
const CANCEL_WAIT: Duration = Duration::from_secs(10);
/// The most pages in a row, each naming a next page, that may hold no row.
const MOST_EMPTY_PAGES: usize = 100;
/// The least time between two requests asking whether a job has finished.
const POLL_PAUSE: Duration = Duration::from_millis(500);

pub struct BigQuery {
    runtime: tokio::runtime::Runtime,
    dialect: Dialect,
    client: Client,
    settings: Settings,
    options: RunOptions,
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

/// How a query ended before its rows were all read.
enum Stop {
    Interrupted,
    TimedOut(Duration),
}

impl BigQuery {
    pub fn connect(profile: &Profile, options: RunOptions) -> Result<Self, Error> {
        let settings = Settings::from_profile(profile)?;
        cancel::install();
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

    /// Cancels job `job_id` in BigQuery after a stop request or a time-out (a failure to
    /// cancel is a warning) and returns the error the query ends with.
    async fn cancel_job(&self, job_id: &str, place: Option<&str>, why: Stop) -> Error {
        let target = self.settings.target.as_str();
        let mut confirmed = false;
        if !job_id.is_empty() {
            let cancelled = tokio::time::timeout(
                CANCEL_WAIT,
                self.client
                    .job()
                    .cancel_job(&self.settings.project, job_id, place),
            )
            .await;
            let failure = match cancelled {
                Ok(Ok(_)) => {
                    confirmed = true;
                    None
                }
                Ok(Err(e)) => Some(e.to_string()),
                Err(_) => Some(format!("no answer within {} s", CANCEL_WAIT.as_secs())),
            };
            if let Some(failure) = failure {
                self.options.events.warn(&format!(
                    "warning: could not cancel BigQuery job {job_id}: {failure}"
                ));
            }
        }
        // Without a job id, BigQuery did not answer the request that starts the job in time:
        // a job it started runs to its end, and is found by the run's label.
        let unnamed = || {
            format!(
                "BigQuery named no job within {} s of the stop; a job it started runs on (label segc_run={})",
                NAMING_WAIT.as_secs(),
                // As sent: a label holds lower case letters, digits, `_` and `-` only.
                settings::label_value(crate::run_id())
            )
        };
        match why {
            Stop::Interrupted => match cancel::interrupted(target) {
                Error::Interrupted(message) if job_id.is_empty() => {
                    Error::Interrupted(format!("{message}: {}", unnamed()))
                }
                Error::Interrupted(message) => {
                    Error::Interrupted(format!("{message}: BigQuery job {job_id}"))
                }
                other => other,
            },
            Stop::TimedOut(limit) if job_id.is_empty() => Error::TimedOut(format!(
                "target `{target}`: the query ran longer than --timeout {} s; {}",
                limit.as_secs(),
                unnamed()
            )),
            Stop::TimedOut(limit) => Error::TimedOut(format!(
                "target `{target}`: the query ran longer than --timeout {} s; BigQuery job {job_id} {}",
                limit.as_secs(),
                if confirmed {
                    "was cancelled"
                } else {
                    "was asked to stop, and did not confirm it"
                }
            )),
        }
    }

    /// Publishes what job `job_id` read: the bytes processed, from its results, and the
    /// bytes billed, from its statistics (one `jobs.get`, not retried: when it fails, only
    /// the record of the run lacks them).
    async fn publish_bytes(&self, job_id: &str, location: Option<&str>, processed: Option<&str>) {
        let number = |text: Option<&str>| text.and_then(|text| text.parse::<u64>().ok());
        let mut bytes = Bytes {
            processed: number(processed),
            billed: None,
        };
        let get = self
            .client
            .job()
            .get_job(&self.settings.project, job_id, location);
        if !job_id.is_empty()
            && let Ok(Ok(job)) = tokio::time::timeout(STATISTICS_WAIT, get).await
            && let Some(query) = job.statistics.and_then(|s| s.query)
        {
            bytes.billed = number(query.total_bytes_billed.as_deref());
            bytes.processed = bytes
                .processed
                .or(number(query.total_bytes_processed.as_deref()));
        }
        self.options.publish_bytes(bytes);
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
            why = &mut stop => match tokio::time::timeout(NAMING_WAIT, &mut first).await {
                Ok(response) => (response?, Some(why)),
                // An endpoint that does not answer: stop without the job's name.
                Err(_) => return Err(self.cancel_job("", None, why).await),
            },
        };
        if let Some(error) = job_errors(response.errors.as_ref(), target) {
            return Err(error);
        }
        let reference = response.job_reference.clone().unwrap_or_default();
        let job_id = reference.job_id.clone().unwrap_or_default();
        let location = reference.location.clone().or(settings.location.clone());
        if !job_id.is_empty() {
            self.options.publish_query_id("job", job_id.clone(), true);
        }
        let (job, place) = (job_id.as_str(), location.as_deref());
        let cancel = |why: Stop| self.cancel_job(job, place, why);
        if let Some(why) = stopped {
            return Err(cancel(why).await);
        }

        let mut schema = response.schema.and_then(|s| s.fields);
        let mut processed = response.total_bytes_processed;
        let mut rows = Vec::new();
        // Every row counted as it is read; a page token seen before would read the same
        // pages again without end.
        let mut budget = super::ResultBudget::new(target, &self.options);
        let mut keep = |decoded: Vec<Vec<super::Cell>>| -> Result<(), Error> {
            for row in decoded {
                budget.take(&row)?;
                rows.push(row);
            }
            Ok(())
        };
        if response.job_complete == Some(true)
            && let Some(fields) = &schema
        {
            keep(decode_rows(
                fields,
                response.rows.unwrap_or_default(),
                target,
            )?)?;
        }
        let mut complete = response.job_complete == Some(true);
        let mut page_token = response.page_token.filter(|t| !t.is_empty());
        let mut tokens_seen = std::collections::HashSet::new();
        // Pages in a row that named a next page and held no row: BigQuery sends rows while
        // there are rows to send.
        let mut empty_pages = 0;
        while !complete || page_token.is_some() {
            if let Some(token) = &page_token
                && !tokens_seen.insert(token.clone())
            {
                return Err(Error::Query(format!(
                    "target `{target}`: the endpoint named the same page of results twice (job {job_id}); segc stops reading rather than read it again without end"
                )));
            }
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
            let asked = tokio::time::Instant::now();
            let page = tokio::select! {
                page = next => page?,
                why = &mut stop => return Err(cancel(why).await),
            };
            if let Some(error) = job_errors(page.errors.as_ref(), target) {
                return Err(error);
            }
            if page.job_complete != Some(true) {
                // BigQuery waits up to WAIT_MS before it says a job is still running; an
                // endpoint that says so at once is asked again after a pause, not at once.
                let waited = asked.elapsed();
                if waited < POLL_PAUSE {
                    tokio::select! {
                        _ = tokio::time::sleep(POLL_PAUSE - waited) => {}
                        why = &mut stop => return Err(cancel(why).await),
                    }
                }
                continue;
            }
            complete = true;
            processed = page.total_bytes_processed.or(processed);
            if schema.is_none() {
                schema = page.schema.and_then(|s| s.fields);
            }
            let page_rows = page.rows.unwrap_or_default();
            empty_pages = if page_rows.is_empty() {
                empty_pages + 1
            } else {
                0
            };
            if let Some(fields) = &schema {
                keep(decode_rows(fields, page_rows, target)?)?;
            }
            page_token = page.page_token.filter(|t| !t.is_empty());
            if page_token.is_some() && empty_pages >= MOST_EMPTY_PAGES {
                return Err(Error::Query(format!(
                    "target `{target}`: the endpoint sent {empty_pages} pages of results in a row without a row, each naming another (job {job_id}); segc stops reading"
                )));
            }
        }
        self.publish_bytes(&job_id, location.as_deref(), processed.as_deref())
            .await;
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

    /// One job running a multi-statement transaction: BigQuery commits all of it or none,
    /// and aborts one of two transactions that change the table at once. A cancelled job
    /// (Ctrl-C, `--timeout`) commits nothing.
    fn write(&mut self, statements: &[Admitted<'_>]) -> Result<(), Error> {
        super::writes_only(statements)?;
        cancel::check(&self.settings.target)?;
        let mut script = String::from("BEGIN TRANSACTION;\n");
        for statement in statements {
            script.push_str(statement.sql());
            script.push_str(";\n");
        }
        script.push_str("COMMIT TRANSACTION;");
        self.runtime.block_on(self.run(&script)).map(|_| ())
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
