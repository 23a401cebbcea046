//! `segc snapshot`: record each day's segment members as intervals in the warehouse.

use std::path::Path;

use chrono::NaiveDate;
use clap::Args;

use crate::error::Error;
use crate::history::{CHUNK_DAYS, DAY_COLUMNS, DAYS_SUFFIX, INTERVAL_COLUMNS};
use crate::materialize::ResultsTable;

#[derive(Debug, Clone, Args)]
#[command(after_help = "Examples:
  segc snapshot                               yesterday (or the project's as_of)
  segc snapshot --as-of 2026-10-31 --target warehouse
  segc snapshot --from 2026-01-01 --to 2026-10-31   a backfill: one statement per 31 days
  segc snapshot -s churned,paying+            only these segments (and paying's drill-downs)")]
pub struct SnapshotArgs {
    #[command(flatten)]
    pub warehouse: super::WarehouseArgs,
    /// The day to record (default: yesterday in the project's time zone, or its `as_of`).
    #[arg(long, value_name = "DATE", value_parser = super::parse_day, conflicts_with_all = ["from", "to"])]
    pub as_of: Option<NaiveDate>,
    /// The first day of a range to record (a backfill), with --to.
    #[arg(long, value_name = "DATE", value_parser = super::parse_day, requires = "to")]
    pub from: Option<NaiveDate>,
    /// The last day of the range, included.
    #[arg(long, value_name = "DATE", value_parser = super::parse_day, requires = "from")]
    pub to: Option<NaiveDate>,
    /// Record only these segments (`SEGMENT+` adds its drill-downs). Repeat, or separate
    /// with commas or spaces.
    #[arg(long, short = 's', value_name = "SEGMENT", value_delimiter = ',', num_args = 1..)]
    pub select: Vec<String>,
    /// How to print what was recorded.
    #[arg(long, short = 'o', value_enum, default_value_t = Summary::Table)]
    pub output: Summary,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Summary {
    Table,
    Json,
}

/// The longest range one command records.
const MAX_DAYS: i64 = 3_660;

/// Records the days; like `segc run`, it ends with `target/run_results.json` (command
/// `snapshot`) and `target/compiled/<target>.snapshot.sql` (the last chunk's merge).
pub fn execute(
    root: &Path,
    profiles_dir: Option<&Path>,
    args: &SnapshotArgs,
) -> Result<i32, Error> {
    let mut record = super::artifacts::RunRecord::start_command(root, "snapshot");
    let result = snapshot(root, profiles_dir, args, &mut record);
    record.finish(result)
}

fn snapshot(
    root: &Path,
    profiles_dir: Option<&Path>,
    args: &SnapshotArgs,
    record: &mut super::artifacts::RunRecord,
) -> Result<i32, Error> {
    let events = record.events();
    let mut options = args.warehouse.options(events.clone());
    options.write = true;
    let super::Connected {
        project,
        target,
        driver,
    } = super::Connected::open(root, profiles_dir, &args.warehouse, options.clone(), record)?;
    let days = days(&project, args)?;
    let mut driver = super::reuse_or_open(driver, &target, options, root)?;
    crate::session::check_snapshot(driver.as_mut(), root, &project, &target, &events)?;
    let path = crate::artifacts::compiled_snapshot_path(&target.target);
    let mut compiled = |chunk: &[NaiveDate], sql: &str| {
        let days = crate::artifacts::RequestDays {
            report: crate::artifacts::ReportDays {
                period: None,
                as_of: chunk[chunk.len() - 1].to_string(),
                period_start: chunk[0].to_string(),
                period_end: chunk[chunk.len() - 1].to_string(),
            },
            compared: None,
            months: None,
        };
        record.compiled_as(&target, Some(days), path.clone(), sql)
    };
    let Recorded {
        history,
        segments,
        run,
    } = record_days(
        &project,
        &target,
        driver.as_mut(),
        (&days, &args.select),
        &events,
        &mut compiled,
    )?;
    let last = days.last().copied().unwrap_or(NaiveDate::MIN);
    let of_project =
        crate::render::render_of_project(&plan(&project, &args.select, last)?, &target.dialect)?;
    let summary = summary(driver.as_mut(), &target, &history, &of_project)?;
    let text = match args.output {
        Summary::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&serde_json::json!({
                "history_table": history.display(),
                "target": target.target,
                "run_id": run.id,
                "first_day": days[0].to_string(),
                "last_day": days[days.len() - 1].to_string(),
                "segments": segments.len(),
                "intervals": summary.0,
                "open_intervals": summary.1,
            }))
            .unwrap_or_default()
        ),
        Summary::Table => format!(
            "recorded {} day(s), {}..{}, of {} segment(s) in {} on {}: {} intervals, {} open\n",
            days.len(),
            days[0],
            days[days.len() - 1],
            segments.len(),
            history.display(),
            target.target,
            summary.0,
            summary.1
        ),
    };
    super::write_stdout(text.as_bytes())?;
    Ok(0)
}

/// Gets each chunk's days and statement before it runs (to write it to target/compiled/).
pub(crate) type Compiled<'a> = dyn FnMut(&[NaiveDate], &str) -> Result<(), Error> + 'a;

/// What [`record_days`] recorded: into which table, which segments (name, definition hash),
/// and the run whose id its rows carry.
pub(crate) struct Recorded {
    pub history: ResultsTable,
    pub segments: Vec<(String, String)>,
    pub run: &'static crate::report::RunInfo,
}

/// `days` cut into statements of at most [`CHUNK_DAYS`] consecutive days. A statement
/// replaces the history from its first day to its last, so days that do not follow one
/// another (the demo's missing days on either side of days already recorded) are never in
/// one statement.
fn consecutive_chunks(days: &[NaiveDate]) -> Vec<&[NaiveDate]> {
    days.chunk_by(|day, then| day.succ_opt() == Some(*then))
        .flat_map(|run| run.chunks(CHUNK_DAYS))
        .collect()
}

/// Records `days` (in order) of the segments `select` picks (all when empty) into the
/// target's history table, creating it and its days table when missing: one transaction per
/// chunk of days. `compiled` gets each chunk's days and statement before it runs.
pub(crate) fn record_days(
    project: &crate::ir::Project,
    target: &super::Resolved,
    driver: &mut dyn crate::driver::Driver,
    (days, select): (&[NaiveDate], &[String]),
    events: &crate::events::EventSink,
    compiled: &mut Compiled<'_>,
) -> Result<Recorded, Error> {
    let Some(&first) = days.first() else {
        return Err(Error::Usage("no day to record".into()));
    };
    let history = ResultsTable::named(
        "history_table",
        &target.profile,
        project.history_table.as_deref(),
        crate::history::DEFAULT_TABLE,
    )?
    .for_target(target)?;
    let day_table = history.sibling(DAYS_SUFFIX);
    // Every chunk's plan reports the same rows: the selection, checked once here.
    let probe = plan(project, select, first)?;
    let mut segments = Vec::new();
    for row in &probe.rows {
        if let Some(id) = row.segment {
            let hash = crate::history::definition_hash(project, id)?;
            segments.push((project.segment(id).name.clone(), hash));
        }
    }
    let run = crate::report::RunInfo::current();
    let chunks = consecutive_chunks(days);
    // Each chunk's rows carry their own id: a chunk keeps the intervals it wrote and
    // replaces every other, an earlier chunk's included.
    let run_ids: Vec<String> = (0..chunks.len())
        .map(|index| match chunks.len() {
            1 => run.id.clone(),
            _ => format!("{}.{}", run.id, index + 1),
        })
        .collect();
    let spec = |run_id| crate::render::SnapshotSpec {
        history: &history.parts,
        days: &day_table.parts,
        run_id,
        recorded_at: run.started.naive_utc(),
        segments: &segments,
    };
    let plans = |chunk: &[NaiveDate]| {
        chunk
            .iter()
            .map(|day| Ok((day.to_string(), plan(project, select, *day)?)))
            .collect::<Result<Vec<_>, Error>>()
    };
    // The statements of the first and the last day alone are written before any table is
    // created: they hold the earliest and the latest times of all (the first day's windows,
    // the last day's end), so a day whose statement cannot be written (a time outside the
    // years every warehouse holds) leaves the warehouse as it was.
    let last = days.last().copied().filter(|last| *last != first);
    for day in std::iter::once(first).chain(last) {
        crate::render::render_snapshot(
            &plans(&[day])?,
            &target.dialect,
            Some(&target.target),
            &spec(&run_ids[0]),
        )?;
    }
    for (table, columns) in [
        (&history, &INTERVAL_COLUMNS[..]),
        (&day_table, &DAY_COLUMNS[..]),
    ] {
        crate::materialize::ensure_table(driver, target, table, columns, events)?;
    }
    for (index, chunk) in chunks.iter().enumerate() {
        let spec = spec(&run_ids[index]);
        let plans = plans(chunk)?;
        let progress = super::progress::Progress::start(
            format!(
                "recording {}..{} on {}",
                chunk[0],
                chunk[chunk.len() - 1],
                target.target
            ),
            Default::default(),
        );
        let written = crate::history::write_chunk(
            &mut |sql: &str| compiled(chunk, sql),
            driver,
            target,
            &plans,
            &spec,
            [&history, &day_table],
        );
        drop(progress);
        // A table the warehouse does not have is named with the source that points at it.
        written.map_err(|error| {
            crate::driver::name_the_source(error, project, &target.target, &target.dialect.name)
        })?;
    }
    Ok(Recorded {
        history,
        segments,
        run,
    })
}

/// The days asked for, in order.
fn days(project: &crate::ir::Project, args: &SnapshotArgs) -> Result<Vec<NaiveDate>, Error> {
    let (first, last) = match (args.from, args.to, args.as_of) {
        (Some(from), Some(to), _) => (from, to),
        (_, _, Some(day)) => (day, day),
        _ => {
            let day = match project.default_as_of {
                Some(day) => day,
                None => crate::plan::last_complete_day(&project.time_zone, chrono::Utc::now())?,
            };
            (day, day)
        }
    };
    if first > last {
        return Err(Error::Usage(format!("--from {first} is after --to {last}")));
    }
    if (last - first).num_days() >= MAX_DAYS {
        return Err(Error::Usage(format!(
            "{first}..{last} is more than {MAX_DAYS} days: record it in parts"
        )));
    }
    Ok(first.iter_days().take_while(|day| *day <= last).collect())
}

fn plan<'p>(
    project: &'p crate::ir::Project,
    select: &[String],
    day: NaiveDate,
) -> Result<crate::plan::Plan<'p>, Error> {
    let options = crate::plan::ReportOptions {
        as_of: Some(day),
        select: select.to_vec(),
        ..Default::default()
    };
    crate::plan::Plan::membership(project, &options, day)
}

/// The project's intervals in the history (`of_project` picks its rows), and how many are open.
fn summary(
    driver: &mut dyn crate::driver::Driver,
    target: &crate::session::Target,
    history: &ResultsTable,
    of_project: &str,
) -> Result<(u64, u64), Error> {
    let dialect = &target.dialect;
    let q = |name: &str| dialect.quote_identifier(name);
    let sql = format!(
        "SELECT COUNT(*) AS {}, SUM(CASE WHEN {} IS NULL THEN 1 ELSE 0 END) AS {} FROM {} WHERE {of_project}",
        q("segc_intervals"),
        q("valid_to"),
        q("segc_open"),
        history.quoted(dialect),
    );
    let result = driver.query(&sql)?;
    let number = |index: usize| {
        result
            .rows
            .first()
            .and_then(|row| row.get(index))
            .and_then(|cell| cell.as_f64())
            .unwrap_or_default() as u64
    };
    Ok((number(0), number(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_hold_consecutive_days_and_at_most_a_chunks_worth() {
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 5, d).unwrap();
        let days: Vec<NaiveDate> = (1..=9).chain(21..=31).map(day).collect();
        let chunks = consecutive_chunks(&days);
        assert_eq!(chunks, vec![&days[..9], &days[9..]]);
        let long: Vec<NaiveDate> = (0..70)
            .map(|n| day(1).checked_add_days(chrono::Days::new(n)).unwrap())
            .collect();
        let lengths: Vec<usize> = consecutive_chunks(&long).iter().map(|c| c.len()).collect();
        assert_eq!(lengths, vec![CHUNK_DAYS, CHUNK_DAYS, 70 - 2 * CHUNK_DAYS]);
        assert!(consecutive_chunks(&[]).is_empty());
    }
}
