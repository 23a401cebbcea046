//! `segc run`: compile, run in the target's warehouse, print the table.

use std::path::Path;

use clap::Args;

use crate::error::Error;
use crate::report::Layout;
use crate::session::Outcome;

use super::{OutputFormat, ReportArgs};

#[derive(Debug, Clone, Args)]
#[command(after_help = "Examples:
  segc run                                    every KPI; on a terminal, fitted to its width
  segc run -k revenue_30d,people -s paying+   two KPIs in that order, for paying and its drill-downs
  segc run --compare prior_year -o csv        each KPI with its prior value and changes
  segc run --grain month --from 2026-01 --to 2026-06 -k people --layout wide")]
pub struct RunArgs {
    /// A target of profiles.yml (default: the project's `default_target`).
    #[arg(long, short = 't')]
    pub target: Option<String>,
    /// Cancel the query in the warehouse if it runs longer than this many seconds.
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// How to print the result. On a terminal, a table wider than the window is shown with
    /// KPIs as rows when that fits, else with the first KPIs that fit; pipes and files get
    /// the whole table.
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    /// With --grain month: `long` prints one table per month (CSV: a row per month and
    /// segment); `wide` a segment × month table per KPI (CSV: a row per segment and KPI, a
    /// column per month): `segc run --grain month --from 2026-01 --to 2026-06 -k people
    /// --layout wide`.
    #[arg(long, value_enum, default_value_t = LayoutArg::Long, requires = "grain")]
    pub layout: LayoutArg,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LayoutArg {
    Long,
    Wide,
}

/// Runs the report; every run that has a project folder ends with
/// `target/run_results.json`, and `target/compiled/<target>.sql` once compiled.
pub fn execute(root: &Path, profiles_dir: Option<&Path>, args: &RunArgs) -> Result<i32, Error> {
    let mut record = super::artifacts::RunRecord::start(root);
    let result = run(root, profiles_dir, args, &mut record);
    record.finish(result)
}

fn run(
    root: &Path,
    profiles_dir: Option<&Path>,
    args: &RunArgs,
    record: &mut super::artifacts::RunRecord,
) -> Result<i32, Error> {
    let layout = match args.layout {
        LayoutArg::Long => Layout::Long,
        LayoutArg::Wide if args.output == OutputFormat::Json => {
            return Err(Error::Usage(
                "--layout wide is for --output table and csv; the JSON output lists every \
                 month with its rows already"
                    .into(),
            ));
        }
        LayoutArg::Wide => Layout::Wide,
    };
    let options = crate::driver::RunOptions {
        timeout: args.timeout.map(std::time::Duration::from_secs),
        events: record.events(),
        ..super::run_options()
    };
    let query_id = options.query_id.clone();
    let events = options.events.clone();
    let (project, driver) =
        super::validate_live(root, profiles_dir, args.target.as_deref(), options.clone())?;
    record.validated(&project);
    let target = super::resolve(root, profiles_dir, args.target.as_deref(), &project)?;
    let reports = args.report.plan(&project)?;
    let sql = crate::render::render_reports(&reports, &target.dialect, Some(&target.target))?;
    record.compiled(&target, &reports, &sql)?;
    super::check_statement_size(&target.dialect, &sql)?;
    // `segc run` only reads: the driver's gate refuses anything but one read-only query, and
    // is asked before connecting so a refused statement opens no session.
    crate::driver::gate::admit(&sql, &target.dialect, crate::driver::gate::Shape::Read)?;
    let mut driver = match driver {
        Some(driver) => driver,
        None => crate::driver::open(&target.profile, options, root)?,
    };
    // A source that stopped before the as-of day makes every window ending there count too
    // little: say so before the report (one more small read-only statement).
    crate::freshness::check_reports(
        driver.as_mut(),
        &reports,
        &target.dialect,
        Some(&target.target),
        &events,
    )?;
    let progress =
        super::progress::Progress::start(format!("running on {}", target.target), query_id);
    let outcome = crate::session::run_statement(driver.as_mut(), &project, &target, &reports, &sql);
    drop(progress);
    let json = |value: serde_json::Value| serde_json::to_string_pretty(&value).unwrap_or_default();
    // A terminal gets a table that fits its width; a pipe or a file the whole table.
    let width = crate::terminal::stdout_width();
    match (outcome?, args.output) {
        (Outcome::Report(report), OutputFormat::Table) => {
            print!("{}", report.to_table_within(width))
        }
        (Outcome::Report(report), OutputFormat::Csv) => print!("{}", report.to_csv()?),
        (Outcome::Report(report), OutputFormat::Json) => println!("{}", json(report.to_json())),
        (Outcome::Periods(reports), OutputFormat::Table) => {
            print!(
                "{}",
                crate::report::series_table_within(&reports, layout, width)
            )
        }
        (Outcome::Periods(reports), OutputFormat::Csv) => match layout {
            Layout::Long => print!("{}", crate::report::series_csv(&reports)?),
            Layout::Wide => print!("{}", crate::report::series_wide_csv(&reports)?),
        },
        (Outcome::Periods(reports), OutputFormat::Json) => {
            println!("{}", json(crate::report::series_json(&reports)))
        }
    }
    Ok(0)
}
