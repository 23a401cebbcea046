//! What a run leaves behind for whoever scheduled it: `target/run_results.json` (what ran,
//! when, where, with which statement, and how it ended) and the statement itself in
//! `target/compiled/<target>.sql`. Both are written atomically: a reader sees the previous
//! file or the new one, never half of one.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value as Json};

use crate::error::Error;
use crate::plan::{Plan, Reports, SeriesShape};

/// The folder of a project that holds its artifacts (and the demo database).
pub const TARGET_DIR: &str = "target";
/// The record of the last `segc run`, inside [`TARGET_DIR`].
pub const RUN_RESULTS: &str = "run_results.json";

/// This process's run id: the UTC instant it was first asked for, to the second, and 32 bits
/// that differ between two runs started in the same second (the standard library's
/// per-process random hash keys, mixed with the process id and the nanoseconds):
/// `20261031T142530Z-3f9a1c2b`. The same for every use in one run: the BigQuery job label
/// `segc_run` (lower-cased), the artifacts, each JSON log event.
pub fn run_id() -> &'static str {
    &crate::report::RunInfo::current().id
}

/// The SHA-256 of `text`, as 64 lower-case hex digits.
pub fn sha256(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The days of one report: its as-of day and the period of `window: period`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportDays {
    /// The month of a `--grain month` report, `YYYY-MM`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    pub as_of: String,
    pub period_start: String,
    pub period_end: String,
}

impl ReportDays {
    fn of(plan: &Plan<'_>, period: Option<&str>) -> ReportDays {
        ReportDays {
            period: period.map(str::to_string),
            as_of: plan.time.as_of.to_string(),
            period_start: plan.time.period.0.to_string(),
            period_end: plan.time.period.1.to_string(),
        }
    }
}

/// The days a request reports: the report's (for a month series, the last month's as-of
/// day and the span of every month), the compared period's, and each month's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestDays {
    pub report: ReportDays,
    pub compared: Option<ReportDays>,
    pub months: Option<Vec<ReportDays>>,
}

impl RequestDays {
    pub fn of(reports: &Reports<'_>) -> Option<RequestDays> {
        match reports {
            Reports::Single(plan) => Some(RequestDays {
                report: ReportDays::of(plan, None),
                compared: None,
                months: None,
            }),
            Reports::Series(periods, SeriesShape::Compare) => Some(RequestDays {
                report: ReportDays::of(&periods.first()?.1, None),
                compared: Some(ReportDays::of(&periods.get(1)?.1, None)),
                months: None,
            }),
            Reports::Series(periods, SeriesShape::Periods) => {
                let months: Vec<ReportDays> = periods
                    .iter()
                    .map(|(label, plan)| ReportDays::of(plan, Some(label)))
                    .collect();
                let (first, last) = (months.first()?, months.last()?);
                Some(RequestDays {
                    report: ReportDays {
                        period: None,
                        as_of: last.as_of.clone(),
                        period_start: first.period_start.clone(),
                        period_end: last.period_end.clone(),
                    },
                    compared: None,
                    months: Some(months),
                })
            }
        }
    }
}

/// `target/run_results.json`: one `segc run`, successful or not. Fields nobody could know
/// (the target of a run that failed before choosing one) are `null`.
#[derive(Debug, Clone, Serialize)]
pub struct RunResults {
    pub run_id: String,
    pub segc_version: String,
    pub command: String,
    /// The command line's arguments after `segc`, with secrets masked.
    pub args: Vec<String>,
    pub project: Option<String>,
    pub target: Option<String>,
    pub dialect: Option<String>,
    /// The target's profile, every secret masked (`****`).
    pub profile: Option<Map<String, Json>>,
    pub as_of: Option<String>,
    pub period_start: Option<String>,
    pub period_end: Option<String>,
    /// `--compare`: the compared period's days.
    pub compared: Option<ReportDays>,
    /// `--grain month`: each month's days.
    pub months: Option<Vec<ReportDays>>,
    pub started_at: String,
    pub ended_at: String,
    pub elapsed_seconds: f64,
    /// The report's statement, relative to the project folder: `target/compiled/<t>.sql`.
    pub compiled_sql: Option<String>,
    /// The SHA-256 of the report's statement (of the file `compiled_sql`).
    pub sha256: Option<String>,
    /// The warehouse's id for the report's statement, and what kind of id it is (`job`,
    /// `backend pid`, `session`).
    pub query_id: Option<String>,
    pub query_id_kind: Option<String>,
    pub bytes_processed: Option<u64>,
    pub bytes_billed: Option<u64>,
    pub rows_returned: Option<u64>,
    /// `--materialize`: the results table, and the run's rows there after the commit.
    pub results_table: Option<String>,
    pub rows_written: Option<u64>,
    /// Every statement sent, in order (a catalog read, the freshness check, the report),
    /// each as its `query_finished` or `query_failed` event.
    pub queries: Vec<Map<String, Json>>,
    /// `success` or `error`.
    pub status: String,
    pub exit_code: i32,
    pub error: Option<String>,
}

impl RunResults {
    /// Writes `target/run_results.json` in `root`, atomically; returns its path.
    pub fn write(&self, root: &Path) -> Result<PathBuf, Error> {
        let path = root.join(TARGET_DIR).join(RUN_RESULTS);
        let mut text = serde_json::to_string_pretty(self).map_err(|e| Error::Write {
            path: path.clone(),
            source: std::io::Error::other(e),
        })?;
        text.push('\n');
        write_atomically(&path, text.as_bytes())?;
        Ok(path)
    }
}

/// Where `segc snapshot` (and the demo's own recording) writes a target's last merge:
/// `target/compiled/<target>.snapshot.sql`.
pub fn compiled_snapshot_path(target: &str) -> PathBuf {
    let mut path = compiled_path(target);
    path.set_extension("snapshot.sql");
    path
}

/// The compiled statement's path for target `target`, relative to the project folder:
/// `target/compiled/<target>.sql`, any character of the name but letters, digits, `_`, `-`
/// written as `_` (a target's name is a key of profiles.yml, not a safe file name).
pub fn compiled_path(target: &str) -> PathBuf {
    let name: String = target
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Path::new(TARGET_DIR)
        .join("compiled")
        .join(format!("{name}.sql"))
}

/// The permissions a replaced file passes on: its read and write bits, not set-user or
/// set-group id (the new file is the runner's).
fn kept_permissions(permissions: std::fs::Permissions) -> std::fs::Permissions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::Permissions::from_mode(permissions.mode() & 0o777)
    }
    #[cfg(not(unix))]
    permissions
}

/// The folder `path` is in (`.` for a bare name).
pub fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    }
}

/// The name [`write_atomically`] writes `path` under first: `.NAME.PID.tmp` beside it.
fn temporary_beside(path: &Path) -> PathBuf {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    folder_of(path).join(format!(".{name}.{}.tmp", std::process::id()))
}

/// Whether the folder of `path` takes a new file: one is made beside it under a temporary
/// name and removed at once (the check [`write_atomically`] will pass).
pub fn check_folder_takes_files(path: &Path) -> std::io::Result<()> {
    let temporary = temporary_beside(path);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temporary)?;
    std::fs::remove_file(&temporary)
}

/// An exclusive lock on `folder` (an advisory lock on the folder itself, which leaves no
/// file behind), held until the returned handle is dropped. Runs hold it only to write their
/// artifacts; after 10 s of waiting for another (a stopped process), or where the folder
/// cannot be locked, the caller goes on without it.
pub fn lock_folder(folder: &Path) -> Option<std::fs::File> {
    let handle = std::fs::File::open(folder).ok()?;
    let waited = std::time::Instant::now();
    loop {
        match handle.try_lock() {
            Ok(()) => return Some(handle),
            Err(std::fs::TryLockError::WouldBlock)
                if waited.elapsed() < std::time::Duration::from_secs(10) =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(_) => return None,
        }
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder, renamed into place,
/// creating missing folders.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let failed = |source: std::io::Error| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(folder_of(path)).map_err(failed)?;
    let temporary = temporary_beside(path);
    let written = (|| {
        use std::io::Write;
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        // The file it replaces keeps its permissions; the bytes are on disk before the name.
        if let Ok(existing) = std::fs::metadata(path) {
            file.set_permissions(kept_permissions(existing.permissions()))?;
        }
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if let Err(error) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(failed(error));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_known_texts() {
        assert_eq!(
            sha256(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_run_id_is_one_per_process_and_a_valid_bigquery_label() {
        assert_eq!(run_id(), run_id());
        let (time, random) = run_id().split_once('-').unwrap();
        assert!(chrono::NaiveDateTime::parse_from_str(time, "%Y%m%dT%H%M%SZ").is_ok());
        assert!(random.len() == 8 && random.chars().all(|c| c.is_ascii_hexdigit()));
        #[cfg(feature = "bigquery")]
        assert_eq!(
            crate::driver::bigquery::label_value(run_id()),
            run_id().to_lowercase()
        );
    }

    #[test]
    fn compiled_paths_cannot_leave_the_compiled_folder() {
        assert_eq!(compiled_path("pg"), Path::new("target/compiled/pg.sql"));
        assert_eq!(
            compiled_path("../../etc/x"),
            Path::new("target/compiled/______etc_x.sql")
        );
    }

    #[test]
    fn atomic_writes_replace_the_file_and_leave_no_temporary_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/results.json");
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["results.json"]);
        // A folder in the way is an error naming the file, not a panic.
        let error = write_atomically(&dir.path().join("a/b"), b"x").unwrap_err();
        assert!(error.to_string().contains("cannot write to"), "{error}");
    }
}
