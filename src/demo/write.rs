//! Writing the demo data into a new DuckDB database.

use chrono::NaiveDateTime;

use super::{DemoConfig, DemoData, DemoError, DemoSummary, generate};

const SCHEMA_SQL: &str = "
CREATE SCHEMA app;
CREATE TABLE app.accounts (
    account_id    BIGINT    NOT NULL PRIMARY KEY,
    plan_name     VARCHAR   NOT NULL,
    mrr_usd       DOUBLE    NOT NULL,
    industry      VARCHAR   NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    trial_ends_at TIMESTAMP
);
CREATE TABLE app.users (
    user_id      BIGINT    NOT NULL PRIMARY KEY,
    created_at   TIMESTAMP NOT NULL,
    account_id   BIGINT    NOT NULL,
    role         VARCHAR   NOT NULL,
    country      VARCHAR,
    activated_at TIMESTAMP
);
CREATE TABLE app.user_accounts (
    user_id    BIGINT NOT NULL,
    account_id BIGINT NOT NULL
);
CREATE TABLE app.account_plan_history (
    account_id BIGINT    NOT NULL,
    plan_name  VARCHAR   NOT NULL,
    valid_from TIMESTAMP NOT NULL,
    valid_to   TIMESTAMP
);
CREATE TABLE app.events (
    event_id    BIGINT    NOT NULL,
    user_id     BIGINT    NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    event_name  VARCHAR   NOT NULL,
    duration_s  INTEGER   NOT NULL
);
CREATE TABLE app.orders (
    order_id   BIGINT    NOT NULL,
    user_id    BIGINT    NOT NULL,
    ordered_at TIMESTAMP NOT NULL,
    amount     DOUBLE    NOT NULL,
    channel    VARCHAR   NOT NULL
);
";

/// The demo database with the default data, for `segc init --demo` and a `demo: true` profile.
pub fn create_database(path: &std::path::Path) -> Result<DemoSummary, DemoError> {
    create_database_with(path, &crate::events::Silent)
}

/// [`create_database`], telling `events` when it waits for another process writing the file.
pub fn create_database_with(
    path: &std::path::Path,
    events: &dyn crate::events::Events,
) -> Result<DemoSummary, DemoError> {
    write_duckdb_with(&generate(&DemoConfig::default()), path, events)
}

/// Write `data` into a new DuckDB database at `path`: schema `app` and its five tables, filled
/// in one transaction. Refuses to touch an existing file; creates missing parent directories.
///
/// Safe when several processes try at once (two first runs of a scheduled job): the writer
/// holds a lock on `<path>.lock`, fills a temporary file next to `path` and renames it into
/// place, so `path` is either missing or complete; a process that waited for the lock finds
/// the file there and gets `AlreadyExists`. On failure the temporary file is removed.
pub fn write_duckdb(data: &DemoData, path: &std::path::Path) -> Result<DemoSummary, DemoError> {
    write_duckdb_with(data, path, &crate::events::Silent)
}

/// [`write_duckdb`], telling `events` when it waits for another process writing the file.
pub fn write_duckdb_with(
    data: &DemoData,
    path: &std::path::Path,
    events: &dyn crate::events::Events,
) -> Result<DemoSummary, DemoError> {
    if path.exists() {
        return Err(DemoError::AlreadyExists {
            path: path.to_path_buf(),
        });
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| DemoError::CreateDir {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    let beside = |suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        std::path::PathBuf::from(name)
    };
    let lock_path = beside(".lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|source| DemoError::Lock {
            path: lock_path.clone(),
            source,
        })?;
    if lock.try_lock().is_err() {
        events.progress(&format!(
            "waiting for another segc to finish writing {}…",
            path.display()
        ));
        lock.lock().map_err(|source| DemoError::Lock {
            path: lock_path.clone(),
            source,
        })?;
    }
    if path.exists() {
        return Err(DemoError::AlreadyExists {
            path: path.to_path_buf(),
        });
    }
    remove_stale_temporaries(path);
    let temporary = beside(&format!(".{}.tmp", std::process::id()));
    let remove_temporary = || {
        let _ = std::fs::remove_file(&temporary);
        let mut wal = temporary.as_os_str().to_owned();
        wal.push(".wal");
        let _ = std::fs::remove_file(std::path::PathBuf::from(wal));
    };
    remove_temporary();
    let result = fill_duckdb(data, &temporary)
        .map_err(|source| DemoError::Duckdb {
            path: path.to_path_buf(),
            source,
        })
        .and_then(|()| {
            std::fs::rename(&temporary, path).map_err(|source| DemoError::Place {
                path: path.to_path_buf(),
                source,
            })
        });
    if result.is_err() {
        remove_temporary();
    }
    // Whoever waits on the old lock file finds the database in place; a newcomer makes a new one.
    let _ = std::fs::remove_file(&lock_path);
    drop(lock);
    result.map(|()| data.summary())
}

/// Removes what writers of `path` stopped by a signal or a crash left (`<name>.<pid>.tmp`
/// and its `.wal`): called under the lock, when no other writer can be at work.
fn remove_stale_temporaries(path: &std::path::Path) {
    let (Some(folder), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let folder = if folder.as_os_str().is_empty() {
        std::path::Path::new(".")
    } else {
        folder
    };
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    let prefix = format!("{}.", name.to_string_lossy());
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(rest) = file.to_str().and_then(|f| f.strip_prefix(&prefix)) else {
            continue;
        };
        let pid = rest
            .strip_suffix(".tmp")
            .or_else(|| rest.strip_suffix(".tmp.wal"));
        if pid.is_some_and(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit())) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn fill_duckdb(data: &DemoData, path: &std::path::Path) -> duckdb::Result<()> {
    use duckdb::params;
    use duckdb::types::{TimeUnit, Value};

    fn ts(t: &NaiveDateTime) -> Value {
        Value::Timestamp(TimeUnit::Microsecond, t.and_utc().timestamp_micros())
    }
    fn opt_ts(t: &Option<NaiveDateTime>) -> Value {
        t.as_ref().map_or(Value::Null, ts)
    }

    let mut conn = duckdb::Connection::open(path)?;
    let tx = conn.transaction()?;
    tx.execute_batch(SCHEMA_SQL)?;
    {
        let mut app = tx.appender_to_db("accounts", "app")?;
        for a in &data.accounts {
            app.append_row(params![
                a.account_id,
                a.plan_name,
                a.mrr_usd,
                a.industry,
                ts(&a.created_at),
                opt_ts(&a.trial_ends_at)
            ])?;
        }
        app.flush()?;
    }
    {
        let mut app = tx.appender_to_db("users", "app")?;
        for u in &data.users {
            app.append_row(params![
                u.user_id,
                ts(&u.created_at),
                u.account_id,
                u.role,
                u.country,
                opt_ts(&u.activated_at)
            ])?;
        }
        app.flush()?;
    }
    {
        let mut app = tx.appender_to_db("user_accounts", "app")?;
        for m in &data.user_accounts {
            app.append_row(params![m.user_id, m.account_id])?;
        }
        app.flush()?;
    }
    {
        let mut app = tx.appender_to_db("events", "app")?;
        for e in &data.events {
            app.append_row(params![
                e.event_id,
                e.user_id,
                ts(&e.occurred_at),
                e.event_name,
                e.duration_s
            ])?;
        }
        app.flush()?;
    }
    {
        let mut app = tx.appender_to_db("orders", "app")?;
        for o in &data.orders {
            app.append_row(params![
                o.order_id,
                o.user_id,
                ts(&o.ordered_at),
                o.amount,
                o.channel
            ])?;
        }
        app.flush()?;
    }
    {
        let mut app = tx.appender_to_db("account_plan_history", "app")?;
        for p in &data.plan_history {
            app.append_row(params![
                p.account_id,
                p.plan_name,
                ts(&p.valid_from),
                opt_ts(&p.valid_to)
            ])?;
        }
        app.flush()?;
    }
    tx.commit()?;
    // Everything into the database file itself, so renaming it moves all of it.
    conn.execute_batch("CHECKPOINT")?;
    drop(conn);
    Ok(())
}
