//! `segc run`: compile, run in the target's warehouse, print the table.

use std::path::Path;

use clap::Args;

use crate::dialect::Dialect;
use crate::driver::Driver;
use crate::error::Error;
use crate::plan::Plan;
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

/// Opens a driver for a profile.
pub(crate) fn connect(
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
                eprintln!("creating the demo database {} (first run)…", path.display());
                crate::demo::create_database(&path).map_err(|e| Error::Query(e.to_string()))?;
            }
            Ok(Box::new(crate::driver::duckdb::DuckDb::open_read_only(
                &path,
            )?))
        }
        #[cfg(feature = "postgres")]
        "postgres" | "redshift" => Ok(Box::new(crate::driver::postgres::Postgres::connect_with(
            profile, options,
        )?)),
        other => Err(Error::Profile(format!(
            "target `{}` has type `{other}`, which this build of segc cannot run (supported: duckdb, postgres, redshift)",
            profile.name
        ))),
    }
}

pub fn execute(root: &Path, profiles_dir: Option<&Path>, args: &RunArgs) -> Result<i32, Error> {
    let project = crate::validate::load_and_validate(root)?;
    let target = super::target_name(args.target.as_deref(), &project)?;
    let profile = crate::spec::profiles::load_profile(profiles_dir, root, &target)?;
    let dialect = Dialect::load(&profile.kind)?;
    let plan = Plan::new(
        &project,
        &args.report.options(),
        super::today(&project.time_zone),
    )?;
    let sql = crate::render::render(&plan, &dialect, Some(&target))?;
    // `segc run` only reads: refuse anything but one query, whatever a template produced.
    match crate::sqlcheck::parse_one(&sql, &dialect.sqlparser)? {
        sqlparser::ast::Statement::Query(_) => {}
        _ => {
            return Err(Error::Render(
                "the compiled statement is not a SELECT; refusing to run it".into(),
            ));
        }
    }
    let options = crate::driver::RunOptions {
        timeout: args.timeout.map(std::time::Duration::from_secs),
    };
    let mut driver = connect(&profile, options, root)?;
    let message = match driver.query_id() {
        Some(id) => format!("running on {target} ({id})"),
        None => format!("running on {target}"),
    };
    let progress = super::progress::Progress::start(message);
    let result = driver.query(&sql);
    drop(progress);
    let result = result?;
    let report = Report::from_result(&plan, &target, &result)?;
    match args.output {
        OutputFormat::Table => print!("{}", report.to_table()),
        OutputFormat::Csv => print!("{}", report.to_csv()?),
        OutputFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report.to_json()).unwrap_or_default()
        ),
    }
    Ok(0)
}
