//! The engines an integration test can reach (DuckDB always; PostgreSQL, Redshift's SQL on
//! PostgreSQL, the BigQuery emulator and SQL Server when `scripts/test.sh` gives their
//! servers), a profiles.yml naming them, and a DuckDB database copied into each of them with
//! INSERT statements whose literals segc's own dialects write.
#![allow(dead_code)]

use std::path::Path;

use segc::dialect::Dialect;
use segc::driver::duckdb::DuckDb;
use segc::driver::{Cell, Driver, RunOptions};
use serde_json::Value;

use super::common;

pub mod redshift;

/// One engine under test: a target of the generated profiles.yml.
pub struct Engine {
    pub target: &'static str,
    /// How the data are loaded: the profile to load with and the dialect of the literals.
    pub loader: &'static str,
    pub dialect: &'static str,
}

pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The engines this run can reach, and the profiles.yml that names them.
pub fn engines(data: &Path, database: &str) -> (Vec<Engine>, String) {
    let mut engines = vec![Engine {
        target: "duck",
        loader: "duck",
        dialect: "duckdb",
    }];
    let mut profiles = format!("duck: {{ type: duckdb, path: \"{}\" }}\n", data.display());
    if var("SEGC_TEST_POSTGRES").as_deref() == Some("1") {
        let common = "host: \"{{ env_var('SEGC_TEST_PG_HOST', '127.0.0.1') }}\", port: \"{{ env_var('SEGC_TEST_PG_PORT', '5432') }}\", user: \"{{ env_var('SEGC_TEST_PG_USER', 'postgres') }}\", password: \"{{ env_var('SEGC_TEST_PG_PASSWORD', '') }}\"";
        profiles.push_str(&format!(
            "pg_admin: {{ type: postgres, {common}, database: postgres, sslmode: disable }}\n\
             pg: {{ type: postgres, {common}, database: {database}, sslmode: disable }}\n\
             rs: {{ type: redshift, {relay}, database: {database}_rs, sslmode: prefer, options: \"-c standard_conforming_strings=off\" }}\n",
            relay = redshift::common_settings(common),
        ));
        engines.push(Engine {
            target: "pg",
            loader: "pg",
            dialect: "postgres",
        });
        engines.push(Engine {
            target: "rs",
            loader: "rs",
            dialect: "redshift",
        });
    } else {
        eprintln!("skipped PostgreSQL and Redshift: set SEGC_TEST_POSTGRES=1");
    }
    if let Some(endpoint) = var("SEGC_TEST_BQ_ENDPOINT") {
        // A small page size, so reading every page is part of the test.
        profiles.push_str(&format!(
            "bq: {{ type: bigquery, project: {}, endpoint: \"{endpoint}\", page_size: 7, maximum_bytes_billed: 1000000000 }}\n",
            database.replace('_', "-")
        ));
        engines.push(Engine {
            target: "bq",
            loader: "bq",
            dialect: "bigquery",
        });
    } else {
        eprintln!(
            "skipped BigQuery: set SEGC_TEST_BQ_ENDPOINT (scripts/test.sh starts bqemulator)"
        );
    }
    if var("SEGC_TEST_SQLSERVER").is_some() {
        profiles.push_str(
            "mssql: { type: sqlserver, connection_string: \"{{ env_var('SEGC_TEST_SQLSERVER') }}\" }\n",
        );
        engines.push(Engine {
            target: "mssql",
            loader: "mssql",
            dialect: "sqlserver",
        });
    } else {
        eprintln!("skipped SQL Server: set SEGC_TEST_SQLSERVER to an ADO connection string");
    }
    (engines, profiles)
}

/// A column type of the DuckDB source, written for another engine.
pub fn column_type(duckdb_type: &str, dialect: &Dialect) -> String {
    match duckdb_type {
        "INTEGER" => if dialect.name == "sqlserver" {
            "INT"
        } else {
            "INTEGER"
        }
        .to_string(),
        "BIGINT" => dialect.types.bigint.clone(),
        "DOUBLE" => dialect.types.double.clone(),
        "DECIMAL(38,2)" => match dialect.name.as_str() {
            "bigquery" => "BIGNUMERIC".into(),
            "sqlserver" => "DECIMAL(38, 2)".into(),
            _ => "NUMERIC(38, 2)".into(),
        },
        // Single precision where the warehouse has it; BigQuery holds the double it is.
        "FLOAT" => match dialect.name.as_str() {
            "bigquery" => dialect.types.double.clone(),
            _ => "REAL".into(),
        },
        "VARCHAR" => dialect.types.varchar.clone(),
        "TIMESTAMP" => dialect.types.timestamp.clone(),
        "DATE" => dialect.types.date.clone(),
        "BOOLEAN" => match dialect.name.as_str() {
            "sqlserver" => "BIT".into(),
            "bigquery" => "BOOL".into(),
            _ => "BOOLEAN".into(),
        },
        other => panic!("no mapping for the DuckDB type {other}"),
    }
}

pub fn literal(cell: &Cell, dialect: &Dialect) -> String {
    match cell {
        Cell::Null => "NULL".into(),
        Cell::Integer(v) => v.to_string(),
        // A negative zero as a number literal would lose its sign (-0.0 is a NUMERIC on
        // PostgreSQL, which has no negative zero).
        Cell::Double(v) if *v == 0.0 && v.is_sign_negative() => {
            format!("CAST('-0' AS {})", dialect.types.double)
        }
        // Every engine that holds them reads these spellings (SQL Server holds neither).
        Cell::Double(v) if v.is_nan() => format!("CAST('NaN' AS {})", dialect.types.double),
        Cell::Double(v) if v.is_infinite() => format!(
            "CAST('{}inf' AS {})",
            if *v < 0.0 { "-" } else { "" },
            dialect.types.double
        ),
        Cell::Double(v) => format!("{v:?}"),
        Cell::Text(text) => dialect.string_literal(text),
        Cell::Boolean(b) => match dialect.name.as_str() {
            "sqlserver" => if *b { "1" } else { "0" }.into(),
            _ => dialect.boolean_literal(*b).to_string(),
        },
        Cell::Timestamp(t) => match dialect.name.as_str() {
            "sqlserver" => format!("CAST('{}' AS DATETIME2)", t.format("%Y-%m-%dT%H:%M:%S%.f")),
            _ => format!("TIMESTAMP '{}'", t.format("%Y-%m-%d %H:%M:%S%.f")),
        },
        Cell::Date(d) => match dialect.name.as_str() {
            "sqlserver" => format!("CAST('{}' AS DATE)", d.format("%Y-%m-%d")),
            _ => format!("DATE '{}'", d.format("%Y-%m-%d")),
        },
    }
}

/// Statements that recreate every table of the DuckDB database's `app` schema in `dialect`.
pub fn copy_statements(source: &mut DuckDb, dialect: &Dialect) -> Vec<String> {
    let columns = source
        .query(
            "SELECT table_name, column_name, data_type FROM information_schema.columns \
             WHERE table_schema = 'app' ORDER BY table_name, ordinal_position",
        )
        .unwrap();
    let mut tables: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for row in &columns.rows {
        let (Cell::Text(table), Cell::Text(column), Cell::Text(kind)) = (&row[0], &row[1], &row[2])
        else {
            panic!("unexpected catalog row {row:?}");
        };
        if tables.last().map(|(t, _)| t != table).unwrap_or(true) {
            tables.push((table.clone(), Vec::new()));
        }
        tables
            .last_mut()
            .unwrap()
            .1
            .push((column.clone(), kind.clone()));
    }
    let mut statements = Vec::new();
    match dialect.name.as_str() {
        "sqlserver" => {
            for (table, _) in &tables {
                statements.push(format!("DROP TABLE IF EXISTS app.{table}"));
            }
            statements.push("IF SCHEMA_ID('app') IS NULL EXEC('CREATE SCHEMA app')".into());
        }
        _ => {
            statements.push("DROP SCHEMA IF EXISTS app CASCADE".into());
            statements.push("CREATE SCHEMA app".into());
        }
    }
    for (table, columns) in &tables {
        let definition: Vec<String> = columns
            .iter()
            .map(|(name, kind)| format!("{name} {}", column_type(kind, dialect)))
            .collect();
        statements.push(format!(
            "CREATE TABLE app.{table} ({})",
            definition.join(", ")
        ));
        let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
        let rows = source
            .query(&format!(
                "SELECT {} FROM app.{table} ORDER BY ALL",
                names.join(", ")
            ))
            .unwrap();
        // SQL Server takes at most 1000 rows per VALUES list.
        for chunk in rows.rows.chunks(500) {
            let values: Vec<String> = chunk
                .iter()
                .map(|row| {
                    let cells: Vec<String> = row.iter().map(|c| literal(c, dialect)).collect();
                    format!("({})", cells.join(", "))
                })
                .collect();
            statements.push(format!(
                "INSERT INTO app.{table} ({}) VALUES {}",
                names.join(", "),
                values.join(", ")
            ));
        }
    }
    statements
}

/// Puts `columns` (table, column) of the PostgreSQL database `driver` is connected to in a
/// collation that folds case (ICU, nondeterministic: `DE` = `de`), as a case-insensitive
/// database or column of another warehouse would.
pub fn fold_case(driver: &mut dyn Driver, columns: &[(&str, &str)]) {
    driver
        .set_up("CREATE COLLATION segc_folded (provider = icu, locale = 'und-u-ks-level2', deterministic = false)")
        .unwrap();
    for (table, column) in columns {
        driver
            .set_up(&format!(
                "ALTER TABLE {table} ALTER COLUMN {column} TYPE VARCHAR COLLATE segc_folded"
            ))
            .unwrap();
    }
}

/// The PostgreSQL and Redshift databases among `engines`, each with `columns` put in a
/// collation that folds case ([`fold_case`]), and a connection to it.
pub fn folded_servers(
    profiles: &Path,
    engines: &[Engine],
    columns: &[(&str, &str)],
) -> Vec<(&'static str, Box<dyn Driver>)> {
    ["pg", "rs"]
        .into_iter()
        .filter(|target| engines.iter().any(|e| e.target == *target))
        .map(|target| {
            let mut server = connect(profiles, target);
            fold_case(&mut *server, columns);
            (target, server)
        })
        .collect()
}

pub fn connect(profiles: &Path, target: &str) -> Box<dyn Driver> {
    let profile = segc::spec::profiles::load_profile(Some(profiles), profiles, target).unwrap();
    segc::driver::open(&profile, RunOptions::default(), profiles)
        .unwrap_or_else(|e| panic!("{target}: {e}"))
}

/// For a loader on the PostgreSQL server: its database's name and the statement creating
/// it. PostgreSQL's gets a linguistic collation (ICU `en-US`: `a` < `B`), as production
/// databases created with `en_US.UTF-8` have, so string order is tested against it; Redshift's
/// keeps the server's code-point order, which is Redshift's default (`case_sensitive`).
pub fn postgres_database(loader: &str, database: &str) -> Option<(String, String)> {
    match loader {
        "pg" => Some((
            database.to_string(),
            format!(
                "CREATE DATABASE {database} TEMPLATE template0 ENCODING 'UTF8' \
                 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
            ),
        )),
        "rs" => Some((
            format!("{database}_rs"),
            format!("CREATE DATABASE {database}_rs"),
        )),
        _ => None,
    }
}

/// Copies the DuckDB database at `data` into every other engine.
pub fn load(engines: &[Engine], profiles: &Path, data: &Path, database: &str) {
    let mut source = DuckDb::open_read_only(data).unwrap();
    let mut loaded = Vec::new();
    for engine in engines.iter().filter(|e| e.loader != "duck") {
        if loaded.contains(&engine.loader) {
            continue;
        }
        loaded.push(engine.loader);
        if let Some(create) = postgres_database(engine.loader, database) {
            let mut admin = connect(profiles, "pg_admin");
            admin
                .set_up(&format!("DROP DATABASE IF EXISTS {}", create.0))
                .unwrap();
            admin.set_up(&create.1).unwrap();
        }
        let dialect = Dialect::load(engine.dialect).unwrap();
        let mut driver = connect(profiles, engine.loader);
        for statement in copy_statements(&mut source, &dialect) {
            driver
                .set_up(&statement)
                .unwrap_or_else(|e| panic!("{}: {e}\n{statement:.300}", engine.target));
        }
    }
}

/// The fixture files `files` run in a DuckDB file `dir/<name>.duckdb` and copied into every
/// engine this run reaches (`database` on the servers), with `dir/profiles.yml` naming them.
pub fn fixtures_on_every_engine(
    dir: &std::path::Path,
    name: &str,
    files: &[&str],
    database: &str,
) -> Vec<Engine> {
    let data = dir.join(format!("{name}.duckdb"));
    let connection = duckdb::Connection::open(&data).unwrap();
    for file in files {
        connection
            .execute_batch(&std::fs::read_to_string(common::fixture(file)).unwrap())
            .unwrap();
    }
    drop(connection);
    let (engines, profiles) = engines(&data, database);
    std::fs::write(dir.join("profiles.yml"), profiles).unwrap();
    load(&engines, dir, &data, database);
    engines
}

/// `segc run --output json` on a target, parsed.
pub fn run_json(project: &Path, profiles: &Path, target: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        std::ffi::OsStr::new("--profiles-dir"),
        profiles.as_os_str(),
        "--target".as_ref(),
        target.as_ref(),
    ];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    common::run_json(project, &args)
}

/// The core fixture's data in a DuckDB file `core.duckdb` in `dir`.
pub fn core_data(dir: &Path) -> std::path::PathBuf {
    let data = dir.join("core.duckdb");
    let connection = duckdb::Connection::open(&data).unwrap();
    connection
        .execute_batch(&std::fs::read_to_string(common::fixture("core/data.sql")).unwrap())
        .unwrap();
    data
}

/// The core fixture's data in `dir/core.duckdb` and copied into every engine this run
/// reaches (`database` on the servers), with `dir/profiles.yml` naming them.
pub fn core_on_every_engine(dir: &Path, database: &str) -> Vec<Engine> {
    let data = core_data(dir);
    let (engines, profiles) = engines(&data, database);
    std::fs::write(dir.join("profiles.yml"), profiles).unwrap();
    load(&engines, dir, &data, database);
    engines
}
