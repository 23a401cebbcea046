//! `segc run`: compile, run in the target's warehouse, print the table.

use std::path::Path;

use clap::Args;

use crate::driver::Driver;
use crate::error::Error;
use crate::plan::SeriesShape;
use crate::report::Report;

use super::{OutputFormat, ReportArgs};

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// A target of profiles.yml (default: the project's `default_target`).
    #[arg(long, short = 't')]
    pub target: Option<String>,
    /// Cancel the query in the warehouse if it runs longer than this many seconds.
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// How to print the result.
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// The target types this build can run.
fn built_drivers() -> Vec<&'static str> {
    let mut names = Vec::new();
    if cfg!(feature = "duckdb") {
        names.push("duckdb");
    }
    if cfg!(feature = "postgres") {
        names.extend(["postgres", "redshift"]);
    }
    if cfg!(feature = "bigquery") {
        names.push("bigquery");
    }
    if cfg!(feature = "sqlserver") {
        names.push("sqlserver");
    }
    names
}

/// Opens a driver for a profile.
pub fn connect(
    profile: &crate::spec::profiles::Profile,
    #[allow(unused_variables)] options: crate::driver::RunOptions,
    #[allow(unused_variables)] root: &Path,
) -> Result<Box<dyn Driver>, Error> {
    match profile.kind.as_str() {
        #[cfg(feature = "duckdb")]
        "duckdb" => {
            let path_text = profile.field("path").ok_or_else(|| {
                Error::Profile(format!(
                    "target `{}` (duckdb) needs `path`: the database file",
                    profile.name
                ))
            })?;
            let path = crate::driver::duckdb::resolve_path(root, path_text);
            if !path.exists() && profile.field("demo") == Some("true") {
                eprintln!(
                    "{}",
                    crate::terminal::printable_lines(&format!(
                        "creating the demo database {} (first run)…",
                        path.display()
                    ))
                );
                match crate::demo::create_database(&path) {
                    // Another run created it meanwhile: use theirs.
                    Ok(_) | Err(crate::demo::DemoError::AlreadyExists { .. }) => {}
                    Err(error) => return Err(Error::Query(error.to_string())),
                }
            }
            Ok(Box::new(
                crate::driver::duckdb::DuckDb::open_read_only(&path)?.with_options(options),
            ))
        }
        #[cfg(feature = "postgres")]
        "postgres" | "redshift" => Ok(Box::new(crate::driver::postgres::Postgres::connect_with(
            profile, options,
        )?)),
        #[cfg(feature = "bigquery")]
        "bigquery" => Ok(Box::new(crate::driver::bigquery::BigQuery::connect(
            profile, options,
        )?)),
        #[cfg(feature = "sqlserver")]
        "sqlserver" => Ok(Box::new(crate::driver::sqlserver::SqlServer::connect(
            profile, options,
        )?)),
        other => Err(Error::Profile(format!(
            "target `{}` has type `{other}`, which this build of segc cannot run (built with: {})",
            profile.name,
            built_drivers().join(", ")
        ))),
    }
}

pub fn execute(root: &Path, profiles_dir: Option<&Path>, args: &RunArgs) -> Result<i32, Error> {
    let options = crate::driver::RunOptions {
        timeout: args.timeout.map(std::time::Duration::from_secs),
        ..Default::default()
    };
    let query_id = options.query_id.clone();
    let (project, driver) =
        super::validate_live(root, profiles_dir, args.target.as_deref(), options.clone())?;
    let target = super::target_name(args.target.as_deref(), &project)?;
    let profile = crate::spec::profiles::load_profile(profiles_dir, root, &target)?;
    let dialect = super::target_dialect(&profile)?;
    let reports = args.report.plan(&project)?;
    let sql = crate::render::render_reports(&reports, &dialect, Some(&target))?;
    super::check_statement_size(&dialect, &sql)?;
    // `segc run` only reads: the driver's gate refuses anything but one read-only query, and
    // is asked before connecting so a refused statement opens no session.
    crate::driver::gate::admit(&sql, &dialect, crate::driver::gate::Shape::Read)?;
    let mut driver = match driver {
        Some(driver) => driver,
        None => connect(&profile, options, root)?,
    };
    let progress = super::progress::Progress::start(format!("running on {target}"), query_id);
    let result = driver.query(&sql);
    drop(progress);
    let result =
        result.map_err(|error| name_the_source(error, &project, &target, &dialect.name))?;
    let json = |value: serde_json::Value| serde_json::to_string_pretty(&value).unwrap_or_default();
    let report = match &reports {
        crate::plan::Reports::Single(plan) => Report::from_result(plan, &target, &result)?,
        crate::plan::Reports::Series(periods, SeriesShape::Compare) => {
            Report::from_compare(&periods[0].1, &periods[1].1, &target, &result)?
        }
        crate::plan::Reports::Series(periods, SeriesShape::Periods) => {
            let reports = Report::series(periods, &target, &result)?;
            match args.output {
                OutputFormat::Table => print!("{}", crate::report::series_table(&reports)),
                OutputFormat::Csv => print!("{}", crate::report::series_csv(&reports)?),
                OutputFormat::Json => println!("{}", json(crate::report::series_json(&reports))),
            }
            return Ok(0);
        }
    };
    match args.output {
        OutputFormat::Table => print!("{}", report.to_table()),
        OutputFormat::Csv => print!("{}", report.to_csv()?),
        OutputFormat::Json => println!("{}", json(report.to_json())),
    }
    Ok(0)
}

/// True when `word` occurs in `text` not as part of a longer identifier.
fn contains_word(text: &str, word: &str) -> bool {
    let is_identifier = |c: char| c.is_alphanumeric() || c == '_';
    !word.is_empty()
        && text.match_indices(word).any(|(at, _)| {
            let before = text[..at].chars().next_back();
            let after = text[at + word.len()..].chars().next();
            !before.is_some_and(is_identifier) && !after.is_some_and(is_identifier)
        })
}

/// Where a source is defined and the table it names on `target`: `file:line, table a.b`.
pub(crate) fn source_location(source: &crate::ir::Source, target: &str, dialect: &str) -> String {
    format!(
        "{}, table {}",
        source.origin,
        source.table.resolve(Some(target), dialect).join(".")
    )
}

/// When a warehouse says a table is missing, names the source of the YAML that points at it.
pub(crate) fn name_the_source(
    error: Error,
    project: &crate::ir::Project,
    target: &str,
    dialect: &str,
) -> Error {
    let Error::Query(message) = error else {
        return error;
    };
    let lower = message.to_lowercase();
    let missing = ["not exist", "not found", "invalid object name"];
    if !missing.iter().any(|m| lower.contains(m)) {
        return Error::Query(message);
    }
    // Warehouses suggest other tables ("did you mean \"events\"?"): those are not missing.
    let about = lower.split("did you mean").next().unwrap_or_default();
    let hits: Vec<String> = project
        .sources
        .iter()
        .filter(|source| {
            let parts = source.table.resolve(Some(target), dialect);
            let table = parts.join(".").to_lowercase();
            let last = parts.last().map(|p| p.to_lowercase()).unwrap_or_default();
            about.contains(&table) || contains_word(about, &last)
        })
        .map(|source| {
            format!(
                "`{}` ({})",
                source.name,
                source_location(source, target, dialect)
            )
        })
        .collect();
    if hits.is_empty() {
        return Error::Query(message);
    }
    Error::Query(format!(
        "{message}\n  defined as source {}",
        hits.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn traced(message: &str) -> String {
        let mut project =
            crate::validate::load_and_validate(std::path::Path::new(env!("CARGO_MANIFEST_DIR")))
                .unwrap();
        let events = project
            .sources
            .iter()
            .position(|s| s.name == "events")
            .unwrap();
        project.sources[events].table.default = vec!["app".into(), "event_log".into()];
        name_the_source(Error::Query(message.into()), &project, "t", "duckdb").to_string()
    }

    #[test]
    fn a_missing_table_is_named_by_every_warehouse_spelling() {
        let hint = "defined as source `events` (segment-defs/sources.yml:38, table app.event_log)";
        for message in [
            "Catalog Error: Table with name event_log does not exist!\nDid you mean \"events\"?",
            "relation \"app.event_log\" does not exist",
            "Invalid object name 'app.event_log'.",
            "Not found: Table my-proj:app.event_log was not found in location US",
        ] {
            let text = traced(message);
            assert!(text.contains(hint), "{message}: {text}");
            assert!(!text.contains("source `orders`"), "{text}");
        }
        // A suggested table is not the missing one; other errors are left alone.
        let text = traced("Table with name event_logs does not exist! Did you mean \"event_log\"?");
        assert!(!text.contains("defined as"), "{text}");
        let text = traced("division by zero in events");
        assert!(!text.contains("defined as"), "{text}");
    }

    #[test]
    fn words_match_whole_identifiers_only() {
        assert!(contains_word("table with name events does", "events"));
        assert!(contains_word("\"events\"", "events"));
        assert!(!contains_word("event_logs", "event_log"));
        assert!(!contains_word("my_events", "events"));
        assert!(!contains_word("anything", ""));
    }
}
