//! `segc overlap`: how many users each pair of segments shares, counted in the warehouse.

use std::path::Path;

use chrono::NaiveDate;
use clap::Args;

use crate::error::Error;

/// How `segc overlap` prints its matrix (`segc run --output html` draws it on its page).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MatrixFormat {
    Table,
    Csv,
    Json,
}

/// Rows are the reported segments (after `all_users`), columns the same segments: a cell
/// counts the row's members who are also members of the column's segment. The `all_users`
/// column is each segment's size.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  segc overlap\n  segc overlap -s paying,churned,at_risk\n  \
    segc overlap --as-of 2026-06-30 --output csv > overlap.csv"
)]
pub struct OverlapArgs {
    #[command(flatten)]
    pub warehouse: super::WarehouseArgs,
    /// How to print the matrix (`segc run --output html` draws it on its page).
    #[arg(long, short = 'o', value_enum, default_value_t = MatrixFormat::Table)]
    pub output: MatrixFormat,
    /// Only these segments (and all_users); `SEGMENT+` adds its drill-downs. Repeat, or
    /// separate with commas or spaces.
    #[arg(long, short = 's', value_name = "SEGMENT", value_delimiter = ',', num_args = 1..)]
    pub select: Vec<String>,
    /// The day membership is computed for, YYYY-MM-DD (default: as `segc run`).
    #[arg(long, value_name = "DATE", value_parser = super::parse_day)]
    pub as_of: Option<NaiveDate>,
    /// The period for `window: period` attributes, A..B; sets --as-of to B.
    #[arg(long, value_name = "A..B", value_parser = super::parse_period, conflicts_with = "as_of")]
    pub period: Option<(NaiveDate, NaiveDate)>,
}

pub fn execute(root: &Path, profiles_dir: Option<&Path>, args: &OverlapArgs) -> Result<i32, Error> {
    let options = args.warehouse.options(super::events());
    let query_id = options.query_id.clone();
    let (project, driver) = super::validate_live(
        root,
        profiles_dir,
        args.warehouse.target.as_deref(),
        options.clone(),
    )?;
    let target = super::resolve(
        root,
        profiles_dir,
        args.warehouse.target.as_deref(),
        &project,
    )?;
    let report_options = crate::plan::ReportOptions {
        as_of: args.as_of,
        period: args.period,
        select: args.select.clone(),
        kpis: Vec::new(),
    };
    let plan = super::membership_plan(&project, &report_options)?;
    let events = options.events.clone();
    let mut driver = super::reuse_or_open(driver, &target, options, root)?;
    crate::session::check_snapshot(driver.as_mut(), root, &project, &target, &events)?;
    let progress =
        super::progress::Progress::start(format!("counting on {}", target.target), query_id);
    let outcome = crate::session::overlap(driver.as_mut(), &project, &target, &plan);
    drop(progress);
    let report = outcome?;
    match args.output {
        MatrixFormat::Table => print!(
            "{}",
            report.to_overlap_table_within(crate::terminal::stdout_width())
        ),
        MatrixFormat::Csv => print!("{}", report.to_csv()?),
        MatrixFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report.to_json()).unwrap_or_default()
        ),
    }
    Ok(0)
}
