//! `segc run`: compile, run in the target's warehouse, print the table.

use std::path::Path;

use clap::Args;

use crate::error::Error;
use crate::session::Outcome;

use super::{OutputFormat, ReportArgs};

#[derive(Debug, Clone, Args)]
#[command(after_help = "Examples:
  segc run                                   # the segment x KPI table, as of yesterday
  segc run --compare prior_year -k people    # with the same days a year earlier
  segc run --output html --out report.html   # one self-contained page: table and charts
  segc run --grain month --from 2026-01 --to 2026-10 --output html --out months.html")]
pub struct RunArgs {
    /// A target of profiles.yml (default: the project's `default_target`).
    #[arg(long, short = 't')]
    pub target: Option<String>,
    /// Cancel the query in the warehouse if it runs longer than this many seconds.
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// How to print the result: `html` is one self-contained page (tables, charts, no
    /// network needed to open it).
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    /// Write the result to FILE instead of standard output (any --output).
    #[arg(long, value_name = "FILE")]
    pub out: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub report: ReportArgs,
}

pub fn execute(root: &Path, profiles_dir: Option<&Path>, args: &RunArgs) -> Result<i32, Error> {
    let run = crate::report::RunInfo::start();
    let options = crate::driver::RunOptions {
        timeout: args.timeout.map(std::time::Duration::from_secs),
        ..super::run_options()
    };
    let query_id = options.query_id.clone();
    let (project, driver) =
        super::validate_live(root, profiles_dir, args.target.as_deref(), options.clone())?;
    let target = super::resolve(root, profiles_dir, args.target.as_deref(), &project)?;
    let reports = args.report.plan(&project)?;
    let sql = crate::render::render_reports(&reports, &target.dialect, Some(&target.target))?;
    super::check_statement_size(&target.dialect, &sql)?;
    // `segc run` only reads: the driver's gate refuses anything but one read-only query, and
    // is asked before connecting so a refused statement opens no session.
    crate::driver::gate::admit(&sql, &target.dialect, crate::driver::gate::Shape::Read)?;
    let mut driver = match driver {
        Some(driver) => driver,
        None => crate::driver::open(&target.profile, options, root)?,
    };
    let progress =
        super::progress::Progress::start(format!("running on {}", target.target), query_id);
    let outcome = crate::session::run_statement(driver.as_mut(), &project, &target, &reports, &sql);
    drop(progress);
    let text = output(outcome?, args.output, &project, &reports, &run)?;
    match &args.out {
        Some(path) => std::fs::write(path, text).map_err(|source| Error::Write {
            path: path.clone(),
            source,
        })?,
        None => print!("{text}"),
    }
    Ok(0)
}

/// The result as `format` says.
fn output(
    outcome: Outcome,
    format: OutputFormat,
    project: &crate::ir::Project,
    reports: &crate::plan::Reports<'_>,
    run: &crate::report::RunInfo,
) -> Result<String, Error> {
    use crate::report::{html, series_csv, series_json, series_table};
    let json = |value: serde_json::Value| {
        format!(
            "{}\n",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        )
    };
    let grid = crate::report::QuintileGrid::find(project);
    let page = html_page(reports, run, grid.as_ref());
    Ok(match (outcome, format) {
        (Outcome::Report(report), OutputFormat::Table) => report.to_table(),
        (Outcome::Report(report), OutputFormat::Csv) => report.to_csv()?,
        (Outcome::Report(report), OutputFormat::Json) => json(report.to_json()),
        (Outcome::Report(report), OutputFormat::Html) => {
            html::render(html::Content::Single(&report), &page)
        }
        (Outcome::Periods(reports), OutputFormat::Table) => series_table(&reports),
        (Outcome::Periods(reports), OutputFormat::Csv) => series_csv(&reports)?,
        (Outcome::Periods(reports), OutputFormat::Json) => json(series_json(&reports)),
        (Outcome::Periods(reports), OutputFormat::Html) => {
            html::render(html::Content::Periods(&reports), &page)
        }
    })
}

/// What the HTML page says besides the reports: the run, the periods, the quintile grid.
/// No overlap is computed yet.
fn html_page<'a>(
    reports: &crate::plan::Reports<'_>,
    run: &'a crate::report::RunInfo,
    grid: Option<&'a crate::report::QuintileGrid>,
) -> crate::report::html::Page<'a> {
    use crate::plan::{Reports, SeriesShape};
    let (period, compared_period) = match reports {
        Reports::Single(plan) => (Some(plan.time.period), None),
        Reports::Series(plans, SeriesShape::Compare) => (
            plans.first().map(|(_, plan)| plan.time.period),
            plans.get(1).map(|(_, plan)| plan.time.period),
        ),
        Reports::Series(plans, SeriesShape::Periods) => (
            plans
                .first()
                .zip(plans.last())
                .map(|((_, first), (_, last))| (first.time.period.0, last.time.period.1)),
            None,
        ),
    };
    crate::report::html::Page {
        run,
        period,
        compared_period,
        grid,
        overlap: None,
    }
}
