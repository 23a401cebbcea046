//! The identity of one run: an id and the instant it started, shown in reports (and meant to
//! name whatever else the run leaves behind).

use std::hash::{BuildHasher, Hasher};

use chrono::{DateTime, Utc};

/// One run of `segc run`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunInfo {
    /// `20261031T142530Z-3f9a1c2b`: the start in UTC, then 32 random bits.
    pub id: String,
    pub started: DateTime<Utc>,
}

impl RunInfo {
    /// This process's run: it starts at the first call, and every later call (the HTML page,
    /// the run's artifacts and log, BigQuery's job label) gets the same id.
    pub fn current() -> &'static RunInfo {
        static RUN: std::sync::OnceLock<RunInfo> = std::sync::OnceLock::new();
        RUN.get_or_init(|| {
            let started = Utc::now();
            RunInfo {
                id: run_id(started),
                started,
            }
        })
    }

    /// [`RunInfo::current`], as a value.
    pub fn start() -> RunInfo {
        RunInfo::current().clone()
    }
}

/// The id of a run started at `started`: the instant to the second, and 32 bits that differ
/// between two runs started in the same second (the standard library's per-process random
/// hash keys, mixed with the process id and the nanoseconds).
pub fn run_id(started: DateTime<Utc>) -> String {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_i64(started.timestamp_nanos_opt().unwrap_or_default());
    let random = hasher.finish();
    format!(
        "{}-{:08x}",
        started.format("%Y%m%dT%H%M%SZ"),
        (random ^ (random >> 32)) as u32
    )
}
