//! Every statement a driver runs, reported as [`Event`]s: `query_sent` with the statement's
//! sha256, then `query_finished` (rows returned) or `query_failed` (the error), each with
//! the warehouse's id for the query, the bytes it read when the warehouse says (BigQuery),
//! and the seconds it took. A scheduler's log and `target/run_results.json` read them.

use std::time::Instant;

use super::gate::Admitted;
use super::{Bytes, Driver, ResultSet, RunOptions};
use crate::dialect::Dialect;
use crate::error::Error;
use crate::events::Event;
use crate::spec::profiles::Profile;

/// A driver whose statements are reported to its options' events.
pub(super) struct Recorded {
    inner: Box<dyn Driver>,
    /// To mask the profile's secrets in error text that quotes one.
    profile: Profile,
    options: RunOptions,
}

impl Recorded {
    pub(super) fn new(inner: Box<dyn Driver>, profile: &Profile, options: RunOptions) -> Self {
        Recorded {
            inner,
            profile: profile.clone(),
            options,
        }
    }

    /// Forgets what the last statement published (a BigQuery job id, its bytes), so a
    /// statement that fails before the warehouse names it is not given another's id. An id
    /// of the connection (a backend pid, a session) stays: it names this statement too.
    fn forget_last_statement(&self) {
        if let Ok(mut slot) = self.options.query_id.lock()
            && slot.as_ref().is_some_and(|id| id.per_query)
        {
            *slot = None;
        }
        if let Ok(mut slot) = self.options.bytes.lock() {
            *slot = Bytes::default();
        }
    }

    /// The fields every event of a statement has: its sha256 and what the warehouse said
    /// about it so far.
    fn describe(&self, event: Event, sha256: &str) -> Event {
        let id = self
            .options
            .query_id
            .lock()
            .ok()
            .and_then(|slot| slot.clone());
        let bytes = self.options.bytes.lock().map(|b| *b).unwrap_or_default();
        event
            .with("engine", self.inner.name())
            .with("sha256", sha256)
            .with("query_id", id.as_ref().map(|id| id.id.clone()))
            .with("query_id_kind", id.map(|id| id.kind))
            .with("bytes_processed", bytes.processed)
            .with("bytes_billed", bytes.billed)
    }
}

impl Driver for Recorded {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn dialect(&self) -> &Dialect {
        self.inner.dialect()
    }

    fn send(&mut self, statement: Admitted<'_>) -> Result<ResultSet, Error> {
        let sha256 = crate::artifacts::sha256(statement.sql());
        self.forget_last_statement();
        let events = self.options.events.clone();
        events.record(&self.describe(Event::new("query_sent"), &sha256));
        let started = Instant::now();
        let outcome = self.inner.send(statement);
        let seconds = started.elapsed().as_secs_f64();
        let event = match &outcome {
            Ok(result) => Event::new("query_finished").with("rows", result.rows.len()),
            Err(error) => {
                Event::new("query_failed").with("error", self.profile.redact(&error.to_string()))
            }
        };
        let event = self
            .describe(event, &sha256)
            .with("elapsed_seconds", seconds);
        events.record(&event);
        outcome
    }

    /// A transaction is one statement here, named by the sha256 of its longest statement:
    /// the one computing what it writes (the report of `--materialize`, the merge of `segc
    /// snapshot`), which is the compiled statement of the run.
    fn write(&mut self, statements: &[Admitted<'_>]) -> Result<(), Error> {
        let sha256 = statements
            .iter()
            .max_by_key(|statement| statement.sql().len())
            .map(|longest| crate::artifacts::sha256(longest.sql()))
            .unwrap_or_default();
        self.forget_last_statement();
        let events = self.options.events.clone();
        events.record(
            &self
                .describe(Event::new("query_sent"), &sha256)
                .with("transaction", statements.len()),
        );
        let started = Instant::now();
        let outcome = self.inner.write(statements);
        let seconds = started.elapsed().as_secs_f64();
        let event = match &outcome {
            Ok(()) => Event::new("query_finished").with("committed", true),
            Err(error) => {
                Event::new("query_failed").with("error", self.profile.redact(&error.to_string()))
            }
        };
        let event = self
            .describe(event, &sha256)
            .with("elapsed_seconds", seconds);
        events.record(&event);
        outcome
    }

    fn server_version(&mut self) -> Result<String, Error> {
        self.inner.server_version()
    }
}
