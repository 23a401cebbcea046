//! Live tests against a SQL Server you have. They run when `SEGC_TEST_SQLSERVER` holds an ADO
//! connection string, e.g.
//! `Server=tcp:127.0.0.1,1433;Database=segc_test;User Id=sa;Password=...;TrustServerCertificate=true`,
//! and say they were skipped otherwise. The conformance suite (tests/conformance.rs) also runs
//! both fixtures on that server. The decoding and error mapping are unit-tested in
//! `src/driver/sqlserver.rs` without a server.
#![cfg(feature = "sqlserver")]

use segc::driver::sqlserver::SqlServer;
use segc::driver::{Cell, Driver, RunOptions};

fn profiles() -> Option<tempfile::TempDir> {
    if std::env::var("SEGC_TEST_SQLSERVER").map_or(true, |v| v.is_empty()) {
        eprintln!(
            "skipped: set SEGC_TEST_SQLSERVER to an ADO connection string to run the live SQL Server tests"
        );
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("profiles.yml"),
        "mssql: { type: sqlserver, connection_string: \"{{ env_var('SEGC_TEST_SQLSERVER') }}\" }\n",
    )
    .unwrap();
    Some(dir)
}

fn connect(dir: &std::path::Path, options: RunOptions) -> SqlServer {
    let profile = segc::spec::profiles::load_profile(Some(dir), dir, "mssql").unwrap();
    SqlServer::connect(&profile, options).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn values_of_every_kind_come_back_typed() {
    let Some(dir) = profiles() else { return };
    let mut driver = connect(dir.path(), RunOptions::default());
    let result = driver
        .set_up(
            "SELECT CAST(4000000008 AS BIGINT) AS big, CAST(7 AS INT) AS small, \
             CAST(0.25 AS FLOAT) AS ratio, CAST(12.5 AS DECIMAL(10, 3)) AS exact, \
             N'it''s a \\ test' + NCHAR(10) + N'Zoë --' AS text, CAST(NULL AS INT) AS nothing, \
             CAST('2024-03-31T23:59:59' AS DATETIME2) AS at, CAST('2024-03-31' AS DATE) AS day",
        )
        .unwrap();
    assert_eq!(
        result.columns,
        [
            "big", "small", "ratio", "exact", "text", "nothing", "at", "day"
        ]
    );
    let day = chrono::NaiveDate::from_ymd_opt(2024, 3, 31).unwrap();
    assert_eq!(
        result.rows[0],
        vec![
            Cell::Integer(4_000_000_008),
            Cell::Integer(7),
            Cell::Double(0.25),
            Cell::Double(12.5),
            Cell::Text("it's a \\ test\nZoë --".into()),
            Cell::Null,
            Cell::Timestamp(day.and_hms_opt(23, 59, 59).unwrap()),
            Cell::Date(day),
        ]
    );
    let version = driver.server_version().unwrap();
    assert!(version.contains("SQL Server"), "{version}");
}

#[test]
fn a_timeout_cancels_the_request_in_the_server() {
    let Some(dir) = profiles() else { return };
    let options = RunOptions {
        timeout: Some(std::time::Duration::from_secs(2)),
        ..Default::default()
    };
    let mut driver = connect(dir.path(), options);
    let started = std::time::Instant::now();
    let error = driver
        .set_up("WAITFOR DELAY '00:01:00'; SELECT 1 AS x")
        .unwrap_err();
    assert!(error.to_string().contains("--timeout"), "{error}");
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    // The server no longer runs a WAITFOR for anyone.
    let mut observer = connect(dir.path(), RunOptions::default());
    let running = observer
        .set_up(
            "SELECT COUNT(*) FROM sys.dm_exec_requests r CROSS APPLY sys.dm_exec_sql_text(r.sql_handle) t \
             WHERE t.text LIKE 'WAITFOR DELAY ''00:01:00''%' AND r.session_id <> @@SPID",
        )
        .unwrap();
    assert_eq!(running.rows[0][0], Cell::Integer(0));
}

#[test]
fn a_missing_table_is_explained() {
    let Some(dir) = profiles() else { return };
    let mut driver = connect(dir.path(), RunOptions::default());
    let error = driver
        .query("SELECT * FROM segc_no_such_schema.segc_no_such_table")
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("does not exist") || error.contains("sources"),
        "{error}"
    );
    assert!(error.contains("208"), "{error}");
}

/// A database or login may default to the settings that change what segc's SQL means; every
/// session segc opens has them pinned.
#[test]
fn sessions_pin_the_settings_segc_relies_on() {
    let Some(dir) = profiles() else { return };
    let mut driver = connect(dir.path(), RunOptions::default());
    let result = driver
        .set_up(
            "SELECT CAST(SESSIONPROPERTY('QUOTED_IDENTIFIER') AS INT) AS qi, \
             CAST(SESSIONPROPERTY('ANSI_NULLS') AS INT) AS an, \
             CAST(SESSIONPROPERTY('ANSI_PADDING') AS INT) AS ap, \
             CAST(SESSIONPROPERTY('CONCAT_NULL_YIELDS_NULL') AS INT) AS cn, \
             CAST(SESSIONPROPERTY('ANSI_WARNINGS') AS INT) AS aw, \
             CAST(SESSIONPROPERTY('ARITHABORT') AS INT) AS aa",
        )
        .unwrap();
    assert_eq!(result.rows[0], vec![Cell::Integer(1); 6]);
}

/// The local date segc takes of a timestamp (dialects/sqlserver/macros.sql.j2, `to_date`):
/// a datetimeoffset's date at UTC, not in its own offset, and a datetime2's own date, also
/// after DATEADD (which keeps the offset).
#[test]
fn a_timestamp_date_is_taken_at_utc_whatever_its_offset() {
    let Some(dir) = profiles() else { return };
    let mut driver = connect(dir.path(), RunOptions::default());
    let result = driver
        .set_up(
            "SELECT \
             CAST(SWITCHOFFSET(CAST('2024-03-30T23:30:00-05:00' AS DATETIMEOFFSET), '+00:00') AS DATE) AS zoned, \
             CAST(SWITCHOFFSET(CAST('2024-03-31T03:30:00' AS DATETIME2), '+00:00') AS DATE) AS plain, \
             CAST(SWITCHOFFSET(DATEADD(second, -14400, CAST('2024-03-31T02:30:00-02:00' AS DATETIMEOFFSET)), '+00:00') AS DATE) AS shifted",
        )
        .unwrap();
    let day = |d| Cell::Date(chrono::NaiveDate::from_ymd_opt(2024, 3, d).unwrap());
    assert_eq!(result.rows[0], vec![day(31), day(31), day(31)]);
}
