//! What `segc run` leaves for a scheduler: the steps of a JSON log (`--log-format json`)
//! and, at the end of every run that has a project folder, `target/run_results.json`
//! (see [`crate::artifacts`]), successful or not.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value as Json};

use crate::artifacts::{RequestDays, RunResults};
use crate::error::Error;
use crate::events::{Event, EventSink, Events};
use crate::spec::profiles::Profile;

/// The file that makes a folder a project: artifacts are written only beside one.
const PROJECT_FILE: &str = "segc_project.yml";

/// What a run has learnt so far, to log as it goes and to record at its end.
pub struct RunRecord {
    root: PathBuf,
    started: Instant,
    started_at: DateTime<Utc>,
    project: Option<String>,
    target: Option<(String, String, Profile)>,
    days: Option<RequestDays>,
    /// The compiled statement's path (relative to the project) and sha256.
    compiled: Option<(String, String)>,
    /// The compiled statement where it was written, to write again beside the record (a run
    /// started since in the same folder may have replaced it).
    statement: Option<(PathBuf, String)>,
    queries: Arc<Mutex<Vec<Map<String, Json>>>>,
    events: EventSink,
    /// `--materialize`: the results table and the run's rows found there after the commit.
    written: Option<(String, u64)>,
    command: &'static str,
    /// Whether `root` was a project folder when the run started (its record is written even
    /// if `segc_project.yml` has gone since, as in a deploy swapping the folder).
    is_project: bool,
}

/// The run's receiver of the library's messages and events: the terminal's, and each
/// statement's record kept for run_results.json.
struct Collector {
    queries: Arc<Mutex<Vec<Map<String, Json>>>>,
}

impl Events for Collector {
    fn warn(&self, message: &str) {
        super::Terminal.warn(message);
    }

    fn progress(&self, message: &str) {
        super::Terminal.progress(message);
    }

    fn record(&self, event: &Event) {
        super::Terminal.record(event);
        if matches!(event.name, "query_finished" | "query_failed")
            && let Ok(mut queries) = self.queries.lock()
        {
            let mut query = Map::new();
            query.insert("event".into(), event.name.into());
            query.extend(event.fields.clone());
            // Masked on the way in, as every event printed is: an error may quote a secret.
            let mut query = Json::Object(query);
            crate::error::redact_json(&mut query);
            if let Json::Object(query) = query {
                queries.push(query);
            }
        }
    }
}

/// The command line's arguments after the program's name, secrets in URLs and
/// `password=` settings masked.
fn arguments() -> Vec<String> {
    std::env::args_os()
        .skip(1)
        .map(|arg| crate::spec::secrets::mask_value(&arg.to_string_lossy()))
        .collect()
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl RunRecord {
    /// A run starting now in project folder `root`; logs `start`.
    pub fn start(root: &Path) -> RunRecord {
        Self::start_command(root, "run")
    }

    /// A run of `command` (`run`, `snapshot`) starting now in `root`; logs `start`.
    pub fn start_command(root: &Path, command: &'static str) -> RunRecord {
        let queries = Arc::new(Mutex::new(Vec::new()));
        let events = EventSink::new(Collector {
            queries: queries.clone(),
        });
        events.record(
            &Event::new("start")
                .with("command", command)
                .with("args", arguments())
                .with("segc_version", env!("CARGO_PKG_VERSION")),
        );
        RunRecord {
            root: root.to_path_buf(),
            started: Instant::now(),
            started_at: Utc::now(),
            project: None,
            target: None,
            days: None,
            compiled: None,
            statement: None,
            queries,
            events,
            written: None,
            command,
            is_project: root.join(PROJECT_FILE).is_file(),
        }
    }

    /// `--materialize` committed: logs `written` (the table, the rows).
    pub fn wrote(&mut self, written: &crate::materialize::Written) {
        self.events.record(
            &Event::new("written")
                .with("results_table", written.table.as_str())
                .with("rows_written", written.rows)
                .with("created", written.created),
        );
        self.written = Some((written.table.clone(), written.rows));
    }

    /// Where the run's library calls report: the terminal, and this record.
    pub fn events(&self) -> EventSink {
        self.events.clone()
    }

    /// The project is valid; logs `validated`.
    pub fn validated(&mut self, project: &crate::ir::Project) {
        self.project = Some(project.name.clone());
        self.events.record(
            &Event::new("validated")
                .with("project", project.name.as_str())
                .with("segments", project.segments.len())
                .with("kpis", project.kpis.len()),
        );
    }

    /// The statement for `target` is compiled: writes it to `target/compiled/<target>.sql`
    /// and logs `compiled`.
    pub fn compiled(
        &mut self,
        target: &super::Resolved,
        reports: &crate::plan::Reports<'_>,
        sql: &str,
    ) -> Result<(), Error> {
        let relative = crate::artifacts::compiled_path(&target.target);
        self.compiled_as(target, RequestDays::of(reports), relative, sql)
    }

    /// [`RunRecord::compiled`] for a statement written to `relative` in the project folder,
    /// about `days`.
    pub fn compiled_as(
        &mut self,
        target: &super::Resolved,
        days: Option<RequestDays>,
        relative: PathBuf,
        sql: &str,
    ) -> Result<(), Error> {
        let dialect = target.dialect.name.clone();
        self.target = Some((
            target.target.clone(),
            dialect.clone(),
            target.profile.clone(),
        ));
        self.days = days;
        let sha256 = crate::artifacts::sha256(sql);
        let shown = relative.to_string_lossy().replace('\\', "/");
        self.compiled = Some((shown.clone(), sha256.clone()));
        let mut event = Event::new("compiled")
            .with("target", target.target.as_str())
            .with("dialect", dialect)
            .with("sha256", sha256)
            .with("compiled_sql", shown);
        if let Some(days) = &self.days {
            event = event
                .with("as_of", days.report.as_of.as_str())
                .with("period_start", days.report.period_start.as_str())
                .with("period_end", days.report.period_end.as_str());
        }
        self.events.record(&event);
        if self.is_project {
            let path = self.root.join(relative);
            crate::artifacts::write_atomically(&path, sql.as_bytes())?;
            self.statement = Some((path, sql.to_string()));
        }
        Ok(())
    }

    /// Writes run_results.json and, where another run replaced it since, the compiled
    /// statement it names again, holding `target/`'s lock: of two runs in one folder, the one
    /// that ends last leaves its statement and its record, which agree.
    fn write_artifacts(&self, results: &RunResults) -> Result<(), Error> {
        let _held = crate::artifacts::lock_folder(&self.root.join(crate::artifacts::TARGET_DIR));
        if let Some((path, sql)) = &self.statement
            && std::fs::read(path).map_or(true, |found| found != sql.as_bytes())
        {
            crate::artifacts::write_atomically(path, sql.as_bytes())?;
        }
        results.write(&self.root).map(|_| ())
    }

    /// `text` with every secret masked: the profiles' secrets are registered as they are
    /// read ([`crate::error::redact`]).
    fn redact(&self, text: &str) -> String {
        crate::error::redact(text)
    }

    /// The profile as recorded: its type and fields, secrets masked.
    fn profile(&self) -> Option<Map<String, Json>> {
        let (_, _, profile) = self.target.as_ref()?;
        let mut shown = Map::new();
        shown.insert("type".into(), profile.kind.clone().into());
        for (key, value) in profile.masked_fields() {
            shown.insert(key, value.into());
        }
        Some(shown)
    }

    /// What the run recorded, ended by `result`.
    fn results(&self, result: &Result<i32, Error>) -> RunResults {
        let ended_at = Utc::now();
        let queries = self.queries.lock().map(|q| q.clone()).unwrap_or_default();
        let (compiled, sha256) = self.compiled.clone().unzip();
        // The report's statement is the last one sent with the compiled statement's sha256.
        let report = sha256.as_deref().and_then(|sha256| {
            queries
                .iter()
                .rev()
                .find(|query| query.get("sha256").and_then(Json::as_str) == Some(sha256))
        });
        let field = |name: &str| report.and_then(|query| query.get(name)).cloned();
        let text = |name: &str| field(name).and_then(|v| v.as_str().map(str::to_string));
        let number = |name: &str| field(name).and_then(|v| v.as_u64());
        let days = self.days.clone();
        let (status, exit_code, error) = match result {
            Ok(code) => ("success", *code, None),
            Err(error) => (
                "error",
                super::exit_code(error),
                Some(self.redact(&error.to_string())),
            ),
        };
        let args = arguments().iter().map(|arg| self.redact(arg)).collect();
        RunResults {
            run_id: crate::run_id().to_string(),
            segc_version: env!("CARGO_PKG_VERSION").to_string(),
            command: self.command.to_string(),
            args,
            project: self.project.clone(),
            target: self.target.as_ref().map(|(name, _, _)| name.clone()),
            dialect: self.target.as_ref().map(|(_, dialect, _)| dialect.clone()),
            profile: self.profile(),
            as_of: days.as_ref().map(|d| d.report.as_of.clone()),
            period_start: days.as_ref().map(|d| d.report.period_start.clone()),
            period_end: days.as_ref().map(|d| d.report.period_end.clone()),
            compared: days.as_ref().and_then(|d| d.compared.clone()),
            months: days.and_then(|d| d.months),
            started_at: timestamp(self.started_at),
            ended_at: timestamp(ended_at),
            elapsed_seconds: self.started.elapsed().as_secs_f64(),
            compiled_sql: compiled,
            sha256,
            query_id: text("query_id"),
            query_id_kind: text("query_id_kind"),
            bytes_processed: number("bytes_processed"),
            bytes_billed: number("bytes_billed"),
            rows_returned: number("rows"),
            results_table: self.written.as_ref().map(|(table, _)| table.clone()),
            rows_written: self.written.as_ref().map(|(_, rows)| *rows),
            queries,
            status: status.to_string(),
            exit_code,
            error,
        }
    }

    /// Ends the run: writes `target/run_results.json` (when `root` is a project folder) and
    /// logs `finished` after a success; a failure is logged by the caller as `error`. A
    /// record that cannot be written fails a successful run: a scheduler would otherwise
    /// read the previous run's.
    pub fn finish(self, result: Result<i32, Error>) -> Result<i32, Error> {
        let results = self.results(&result);
        let written = match self.is_project {
            true => self.write_artifacts(&results),
            false => Ok(()),
        };
        match (written, result) {
            (Ok(_), Ok(code)) => {
                self.events.record(
                    &Event::new("finished")
                        .with("status", "success")
                        .with("exit_code", code)
                        .with("elapsed_seconds", results.elapsed_seconds)
                        .with("rows_returned", results.rows_returned)
                        .with("rows_written", results.rows_written)
                        .with(
                            "run_results",
                            self.is_project
                                .then(|| format!("target/{}", crate::artifacts::RUN_RESULTS)),
                        ),
                );
                Ok(code)
            }
            (Err(error), Ok(_)) => Err(error),
            (Err(error), Err(failed)) => {
                self.events.warn(&format!("warning: {error}"));
                Err(failed)
            }
            (Ok(_), Err(failed)) => Err(failed),
        }
    }
}
