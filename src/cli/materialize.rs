//! `segc run --materialize`: the report written into the results table, with what was
//! written printed instead of the report.

use std::path::Path;

use crate::error::Error;
use crate::materialize::{Only, Request, ResultsTable, WriteSpec, Written};

use super::OutputFormat;
use super::run::RunArgs;

pub(super) fn run(
    root: &Path,
    profiles_dir: Option<&Path>,
    args: &RunArgs,
    record: &mut super::artifacts::RunRecord,
) -> Result<i32, Error> {
    if matches!(args.output, OutputFormat::Csv | OutputFormat::Html) {
        return Err(Error::Usage(
            "--materialize writes the report into the warehouse and prints what it wrote: use \
             --output table (the default) or json"
                .into(),
        ));
    }
    let mut options = args.warehouse.options(record.events());
    options.write = true;
    let query_id = options.query_id.clone();
    let events = options.events.clone();
    let super::Connected {
        mut project,
        target,
        driver,
    } = super::Connected::open(root, profiles_dir, &args.warehouse, options.clone(), record)?;
    super::Connected::history_in_dataset(&mut project, &target);
    let reports = args.report.plan(&project)?;
    let table = ResultsTable::resolve(&project, &target.profile)?.for_target(&target)?;
    let run = crate::report::RunInfo::current();
    let spec = WriteSpec {
        table: &table.parts,
        run_id: &run.id,
        computed_at: run.started.naive_utc(),
    };
    let sql = crate::render::render_write(&reports, &target.dialect, Some(&target.target), &spec)?;
    record.compiled(&target, &reports, &sql)?;
    super::check_statement_size(&target.dialect, &sql)?;
    let (mut driver, _) =
        super::Connected::checked_driver(driver, &target, options, root, &reports)?;
    let only = only(&reports, args);
    let request = Request {
        table: &table,
        run_id: &run.id,
        insert: &sql,
        only,
    };
    let progress = super::progress::Progress::start(
        format!("writing {} on {}", table.display(), target.target),
        query_id,
    );
    let written =
        crate::materialize::materialize(driver.as_mut(), &target, &reports, &request, &events);
    drop(progress);
    let written = written?;
    record.wrote(&written);
    if written.rows < written.computed {
        events.warn(&format!(
            "warning: {} of the run's {} rows are in {} after the commit: a run for the same \
             key committed after this one and replaced them",
            written.rows, written.computed, written.table
        ));
    }
    let text = summary(&written, &target.target, args.output);
    super::run::deliver(args.out.as_deref(), &text, root, profiles_dir)?;
    Ok(if written.rows == 0 { 3 } else { 0 })
}

/// With `-s` or `-k`, a run replaces only its own segments' or KPIs' rows.
fn only(reports: &crate::plan::Reports<'_>, args: &RunArgs) -> Only {
    let plan = match reports {
        crate::plan::Reports::Single(plan) => &**plan,
        crate::plan::Reports::Series(periods, _) => &periods[0].1,
    };
    let project = plan.project;
    Only {
        segments: (!args.report.select.is_empty()).then(|| {
            plan.rows
                .iter()
                .map(|row| row.name(project).to_string())
                .collect()
        }),
        kpis: (!args.report.kpis.is_empty()).then(|| {
            plan.kpis
                .iter()
                .map(|id| project.kpi(*id).name.clone())
                .collect()
        }),
    }
}

fn summary(written: &Written, target: &str, format: OutputFormat) -> String {
    match format {
        OutputFormat::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&serde_json::json!({
                "results_table": written.table,
                "target": target,
                "run_id": written.run_id,
                "rows_written": written.rows,
                "rows_computed": written.computed,
                "created": written.created,
            }))
            .unwrap_or_default()
        ),
        _ => format!(
            "wrote {} rows to {} on {} (run {}{})\n",
            written.rows,
            written.table,
            target,
            written.run_id,
            if written.created {
                ", table created"
            } else {
                ""
            }
        ),
    }
}
