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
  segc run --grain month --from 2026-01 --to 2026-06 -k people --layout wide
  segc run --output html --out report.html    one self-contained page: tables, charts, overlap
  segc run --grain month --from 2026-01 --to 2026-10 --output html --out months.html
  segc run --period 2026-10-01..2026-10-31 -k people,entered,left,revenue_while_member
                                              flows and timed KPIs, from the history segc snapshot records
  segc run --target warehouse --materialize   write yesterday's report into the results table
  segc run --materialize --grain month --from 2026-01 --to 2026-10   backfill ten months")]
pub struct RunArgs {
    #[command(flatten)]
    pub warehouse: super::WarehouseArgs,
    /// How to print the result. On a terminal, a table wider than the window is shown with
    /// KPIs as rows when that fits, else with the first KPIs that fit; pipes and files get
    /// the whole table. `html` is one self-contained page (tables, charts and the segments'
    /// overlap, counted by one more statement; no network needed to open it).
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    /// Write the result to FILE instead of standard output (any --output); never over the
    /// project's YAML, profiles.yml or a database.
    #[arg(long, value_name = "FILE")]
    pub out: Option<std::path::PathBuf>,
    /// With --grain month: `long` prints one table per month (CSV: a row per month and
    /// segment); `wide` a segment × month table per KPI (CSV: a row per segment and KPI, a
    /// column per month): `segc run --grain month --from 2026-01 --to 2026-06 -k people
    /// --layout wide`.
    #[arg(long, value_enum, default_value_t = LayoutArg::Long, requires = "grain")]
    pub layout: LayoutArg,
    /// Write the report into the warehouse's results table instead of printing it: a row
    /// per period, segment and KPI, replacing the rows an earlier run wrote for the same
    /// project, as-of day and period (with -s/-k, only those segments' and KPIs' rows), in
    /// one transaction. The table (`results_table` of the target or of segc_project.yml,
    /// default segc_kpis) is created when missing. Prints what it wrote.
    #[arg(long)]
    pub materialize: bool,
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
    // `--out` is checked before any query: a missing folder or a permission found after the
    // warehouse computed the report would lose it.
    if let Some(out) = args.out.as_deref()
        && let Err(error) = check_out(out, root, profiles_dir)
    {
        return record.finish(Err(error));
    }
    let result = run(root, profiles_dir, args, &mut record);
    record.finish(result)
}

/// Writes the report's `text` to `--out`, else to standard output. A file is written under
/// a temporary name in its folder and renamed over `path` once whole, so a reader, a failed
/// write (a full disk) or a killed run never leaves half a report there, and the previous
/// report stays until the new one replaces it; two runs writing one path leave one of the
/// two whole. A path that is not a file (a named pipe, `/dev/stdout`) is written in place.
pub(crate) fn deliver(
    out: Option<&Path>,
    text: &str,
    root: &Path,
    profiles_dir: Option<&Path>,
) -> Result<(), Error> {
    let Some(path) = out else {
        return super::write_stdout(text.as_bytes());
    };
    let failed = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    // Checked again now: the run may have made the file (a database a demo target creates)
    // or a link may point elsewhere since.
    if let Some(what) = precious(path, root, profiles_dir) {
        return Err(failed(std::io::Error::other(format!(
            "it is {what}, and the report would replace it; name another file"
        ))));
    }
    match std::fs::metadata(path) {
        // A link is followed: the file it names is replaced, not the link.
        Ok(file) if file.is_file() => {
            let target = std::fs::canonicalize(path).map_err(failed)?;
            crate::artifacts::write_atomically(&target, text.as_bytes())
        }
        Err(missing) if missing.kind() == std::io::ErrorKind::NotFound && !is_link(path) => {
            crate::artifacts::write_atomically(path, text.as_bytes())
        }
        _ => std::fs::write(path, text).map_err(failed),
    }
}

fn is_socket(file: &std::fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        file.file_type().is_socket()
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        false
    }
}

fn is_link(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// Checks that the report can be written to `path` before any query, without touching it:
/// its folder takes a new file (made and removed at once), an existing file opens for
/// writing. A file the report would destroy is refused: the project's settings and YAML files
/// (existing or new: a new YAML file in the project would be read as definitions by the next
/// run), the artifacts of `target/`, and a database.
fn check_out(path: &Path, root: &Path, profiles_dir: Option<&Path>) -> Result<(), Error> {
    let write_error = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    if path.is_dir() {
        return Err(write_error(std::io::Error::other("it is a folder")));
    }
    if let Some(what) = precious(path, root, profiles_dir) {
        return Err(write_error(std::io::Error::other(format!(
            "it is {what}, and the report would replace it; name another file"
        ))));
    }
    match std::fs::metadata(path) {
        Ok(file) if file.is_file() => {
            std::fs::OpenOptions::new()
                .append(true)
                .open(path)
                .map_err(write_error)?;
            let target = std::fs::canonicalize(path).map_err(write_error)?;
            crate::artifacts::check_folder_takes_files(&target).map_err(write_error)
        }
        Ok(file) if is_socket(&file) => Err(write_error(std::io::Error::other(
            "it is a socket, which takes no file",
        ))),
        // Written in place when the report is ready: a named pipe opened now would wait for
        // a reader before any query.
        Ok(_) => Ok(()),
        Err(_) if is_link(path) => Err(write_error(std::io::Error::other(
            "it is a link to nothing",
        ))),
        Err(_) => crate::artifacts::check_folder_takes_files(path).map_err(write_error),
    }
}

/// What an existing file at `path` is, when a report must not replace it: the project's
/// `segc_project.yml` or `profiles.yml`, another YAML file of the project folder (a
/// definitions file), or a DuckDB or SQLite database (the warehouse a target reads).
fn precious(path: &Path, root: &Path, profiles_dir: Option<&Path>) -> Option<String> {
    use std::io::Read;
    // A database's write-ahead log is part of it, there or not yet.
    // DuckDB's `.wal`, SQLite's `-wal`, `-journal` and `-shm`.
    if let Some(database) = [".wal", "-wal", "-journal", "-shm"]
        .iter()
        .filter_map(|suffix| path.to_str()?.strip_suffix(suffix))
        .find(|database| precious(Path::new(database), root, profiles_dir).is_some())
    {
        return Some(format!("the log of the database {database}"));
    }
    let Ok(canonical) = std::fs::canonicalize(path) else {
        return new_in_project(path, root);
    };
    if let Some(what) = artifact(&canonical, root) {
        return Some(what);
    }
    let settings = crate::spec::load::settings_files(root, profiles_dir);
    if let Some((_, file)) = settings
        .iter()
        .find(|(_, file)| crate::spec::load::same_file(file, &canonical))
    {
        return Some(format!("the project's {}", file.display()));
    }
    let yaml = is_yaml(&canonical);
    if yaml && std::fs::canonicalize(root).is_ok_and(|root| canonical.starts_with(root)) {
        return Some("a YAML file of the project".into());
    }
    // Definitions outside the project folder (`definitions: ../defs`, a link to a file
    // elsewhere), however the path reaches them.
    if let Some((folder, files)) = crate::spec::load::definitions_place(root) {
        if files
            .iter()
            .any(|file| crate::spec::load::same_file(file, &canonical))
        {
            return Some("a definitions file of the project".into());
        }
        if yaml && within(&canonical, &folder) {
            return Some("a YAML file of the project's definitions folder".into());
        }
    }
    // Only a file is read: opening a named pipe would wait for a writer.
    if !canonical.is_file() {
        return None;
    }
    let mut head = [0u8; 16];
    let read = std::fs::File::open(&canonical)
        .and_then(|file| file.take(16).read(&mut head))
        .ok()?;
    if read >= 12 && &head[8..12] == b"DUCK" {
        return Some("a DuckDB database".into());
    }
    (read == 16 && &head == b"SQLite format 3\0").then(|| "an SQLite database".into())
}

/// What a path not yet there would be, when a report must not be written to it: a new YAML
/// file of the project folder (the next run would read it as definitions), or an artifact.
fn new_in_project(path: &Path, root: &Path) -> Option<String> {
    let name = path.file_name()?;
    let canonical = std::fs::canonicalize(crate::artifacts::folder_of(path))
        .ok()?
        .join(name);
    if let Some(what) = artifact(&canonical, root) {
        return Some(what);
    }
    if !is_yaml(&canonical) {
        return None;
    }
    let definitions = crate::spec::load::definitions_place(root).map(|(folder, _)| folder);
    (within(&canonical, root) || definitions.is_some_and(|folder| within(&canonical, &folder)))
        .then(|| "a YAML file in the project or its definitions folder".into())
}

/// Whether `path` is named as YAML (`.yml`, `.yaml`, in any case: refused more widely than the
/// definitions walk reads).
fn is_yaml(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"))
}

/// Whether `path` lies in `folder` or below it, whatever way each is reached (links, bind
/// mounts): one of `path`'s folders is `folder` itself.
fn within(path: &Path, folder: &Path) -> bool {
    path.ancestors()
        .skip(1)
        .any(|above| crate::spec::load::same_file(above, folder))
}

/// Whether `canonical` is one of the files segc writes in the project's `target/` folder
/// (run_results.json, or a statement of `target/compiled/`), which a report would replace.
fn artifact(canonical: &Path, root: &Path) -> Option<String> {
    let target = std::fs::canonicalize(root)
        .ok()?
        .join(crate::artifacts::TARGET_DIR);
    let inside = canonical.strip_prefix(&target).ok()?;
    (inside == Path::new(crate::artifacts::RUN_RESULTS) || inside.starts_with("compiled"))
        .then(|| format!("segc's own {}", Path::new("target").join(inside).display()))
}

fn run(
    root: &Path,
    profiles_dir: Option<&Path>,
    args: &RunArgs,
    record: &mut super::artifacts::RunRecord,
) -> Result<i32, Error> {
    if args.materialize {
        return super::materialize::run(root, profiles_dir, args, record);
    }
    let layout = match args.layout {
        LayoutArg::Long => Layout::Long,
        LayoutArg::Wide if matches!(args.output, OutputFormat::Json | OutputFormat::Html) => {
            return Err(Error::Usage(
                "--layout wide is for --output table and csv; the JSON and HTML outputs list \
                 every month with its rows already"
                    .into(),
            ));
        }
        LayoutArg::Wide => Layout::Wide,
    };
    let run = crate::report::RunInfo::start();
    let options = args.warehouse.options(record.events());
    let query_id = options.query_id.clone();
    let super::Connected {
        mut project,
        target,
        driver,
    } = super::Connected::open(root, profiles_dir, &args.warehouse, options.clone(), record)?;
    super::Connected::history_in_dataset(&mut project, &target);
    let reports = args.report.plan(&project)?;
    let sql = crate::render::render_reports(&reports, &target.dialect, Some(&target.target))?;
    record.compiled(&target, &reports, &sql)?;
    super::check_statement_size(&target.dialect, &sql)?;
    // `segc run` only reads: the driver's gate refuses anything but one read-only query, and
    // is asked before connecting so a refused statement opens no session.
    let statement =
        crate::driver::gate::admit(&sql, &target.dialect, crate::driver::gate::Shape::Read)?;
    // A source that stopped before the as-of day makes every window ending there count too
    // little: said before the report. Flow and timed KPIs need every day of the history.
    let (mut driver, changed) =
        super::Connected::checked_driver(driver, &target, options, root, &reports)?;
    let progress =
        super::progress::Progress::start(format!("running on {}", target.target), query_id);
    let outcome =
        crate::session::run_statement(driver.as_mut(), &project, &target, &reports, statement);
    drop(progress);
    // A single report's or a comparison's segments changed in any of its periods; a month
    // series says it per month.
    let outcome = match (outcome?, changed) {
        (Outcome::Report(mut report), Some(changed)) => {
            let mut all: Vec<String> = changed.into_iter().flatten().collect();
            all.sort();
            all.dedup();
            report.definition_changed = Some(all);
            Outcome::Report(report)
        }
        (Outcome::Periods(mut reports), Some(changed)) => {
            for ((_, report), changed) in reports.iter_mut().zip(changed) {
                report.definition_changed = Some(changed);
            }
            Outcome::Periods(reports)
        }
        (outcome, None) => outcome,
    };
    // The HTML page also shows the segments' overlap: one more read-only statement.
    let overlap = match args.output {
        OutputFormat::Html => Some(overlap(driver.as_mut(), &project, &target, &reports, args)?),
        _ => None,
    };
    // A terminal gets a table that fits its width; a pipe or a file the whole table.
    let width = match args.out {
        Some(_) => None,
        None => crate::terminal::stdout_width(),
    };
    let shown = Shown {
        format: args.output,
        layout,
        width,
        overlap: overlap.as_ref(),
    };
    let text = output(outcome, &shown, &project, &reports, &run)?;
    deliver(args.out.as_deref(), &text, root, profiles_dir)?;
    Ok(0)
}

/// The membership of the latest period's reported rows, counted pair by pair in the warehouse
/// (see [`crate::session::overlap`]).
fn overlap(
    driver: &mut dyn crate::driver::Driver,
    project: &crate::ir::Project,
    target: &crate::session::Target,
    reports: &crate::plan::Reports<'_>,
    args: &RunArgs,
) -> Result<crate::report::OverlapTable, Error> {
    use crate::plan::{Reports, SeriesShape};
    let latest = match reports {
        Reports::Single(plan) => plan,
        Reports::Series(plans, SeriesShape::Compare) => &plans[0].1,
        Reports::Series(plans, SeriesShape::Periods) => &plans[plans.len() - 1].1,
    };
    let options = crate::plan::ReportOptions {
        as_of: None,
        period: Some(latest.time.period),
        select: args.report.select.clone(),
        kpis: Vec::new(),
    };
    let plan = crate::plan::Plan::membership(project, &options, latest.time.as_of)?;
    let report = crate::session::overlap(driver, project, target, &plan)?;
    Ok(crate::report::OverlapTable::from_report(&report))
}

/// How the result is shown.
struct Shown<'a> {
    format: OutputFormat,
    layout: Layout,
    /// The terminal's width, when the text goes to one.
    width: Option<usize>,
    overlap: Option<&'a crate::report::OverlapTable>,
}

/// The result as `shown` says.
fn output(
    outcome: Outcome,
    shown: &Shown<'_>,
    project: &crate::ir::Project,
    reports: &crate::plan::Reports<'_>,
    run: &crate::report::RunInfo,
) -> Result<String, Error> {
    use crate::report::{html, series_csv, series_json, series_table_within, series_wide_csv};
    let json = |value: serde_json::Value| {
        format!(
            "{}\n",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        )
    };
    let grid = crate::report::QuintileGrid::find(project);
    let page = html_page(reports, run, grid.as_ref(), shown.overlap);
    Ok(match (outcome, shown.format) {
        (Outcome::Report(report), OutputFormat::Table) => report.to_table_within(shown.width),
        (Outcome::Report(report), OutputFormat::Csv) => report.to_csv()?,
        (Outcome::Report(report), OutputFormat::Json) => json(report.to_json()),
        (Outcome::Report(report), OutputFormat::Html) => {
            html::render(html::Content::Single(&report), &page)
        }
        (Outcome::Periods(reports), OutputFormat::Table) => {
            series_table_within(&reports, shown.layout, shown.width)
        }
        (Outcome::Periods(reports), OutputFormat::Csv) => match shown.layout {
            Layout::Long => series_csv(&reports)?,
            Layout::Wide => series_wide_csv(&reports)?,
        },
        (Outcome::Periods(reports), OutputFormat::Json) => json(series_json(&reports)),
        (Outcome::Periods(reports), OutputFormat::Html) => {
            html::render(html::Content::Periods(&reports), &page)
        }
    })
}

/// What the HTML page says besides the reports: the run, the periods, the quintile grid and
/// the segments' overlap.
fn html_page<'a>(
    reports: &crate::plan::Reports<'_>,
    run: &'a crate::report::RunInfo,
    grid: Option<&'a crate::report::QuintileGrid>,
    overlap: Option<&'a crate::report::OverlapTable>,
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
        overlap,
    }
}
