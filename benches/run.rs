//! Run-time benchmark on the embedded DuckDB: the example project over the 10,000-user demo
//! (two years of facts, about 1.2 million events), from SQL to rows.
//! Targets on the development machine (2 cores): creating the demo database under 3 s, the
//! full report under 1 s, `--compare prior_year` under 1.5 s and a 12-month `--grain month`
//! run under 3 s (measured: about 0.9 s, 0.12 s, 0.19 s and 0.62 s). Run with `cargo bench --bench run`; exits non-zero past a target.

use std::time::{Duration, Instant};

use segc::dialect::Dialect;
use segc::driver::Driver;
use segc::driver::duckdb::DuckDb;
use segc::plan::{Compare, Plan, ReportOptions};
use segc::render::{SeriesShape, render, render_series};

const RUNS: usize = 3;

/// Runs `work` `RUNS` times and prints and returns the median time.
fn measure(label: &str, mut work: impl FnMut() -> usize) -> Duration {
    let mut times = Vec::with_capacity(RUNS);
    let mut rows = 0;
    for _ in 0..RUNS {
        let started = Instant::now();
        rows = work();
        times.push(started.elapsed());
    }
    times.sort();
    let median = times[RUNS / 2];
    println!(
        "{label:<28} {:>9.1} ms ({rows} rows)",
        median.as_secs_f64() * 1000.0
    );
    median
}

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("demo.duckdb");
    let started = Instant::now();
    segc::demo::create_database(&path).expect("the demo database");
    let created = started.elapsed();
    println!(
        "{:<28} {:>9.1} ms",
        "create the demo database",
        created.as_secs_f64() * 1000.0
    );
    let project = segc::validate::load_and_validate(root).expect("the example project is valid");
    let dialect = Dialect::load("duckdb").expect("dialect");
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).expect("a date");
    let mut database = DuckDb::open_read_only(&path).expect("open the demo database");
    let mut run = |sql: &str| database.query(sql).expect("the report runs").rows.len();

    let plan = Plan::new(&project, &ReportOptions::default(), today).expect("plan");
    let sql = render(&plan, &dialect, None).expect("render");
    let report = measure("full report", || run(&sql));

    let prior = Plan::new(
        &project,
        &plan.prior_options(Compare::PriorYear, &ReportOptions::default()),
        today,
    )
    .expect("plan");
    let periods = vec![
        ("now".to_string(), plan.clone()),
        ("before".to_string(), prior),
    ];
    let sql = render_series(&periods, &dialect, None, SeriesShape::Compare).expect("render");
    let compare = measure("--compare prior_year", || run(&sql));

    let months = segc::plan::month_plans(
        &project,
        chrono::NaiveDate::from_ymd_opt(2025, 11, 1).expect("a date"),
        chrono::NaiveDate::from_ymd_opt(2026, 10, 1).expect("a date"),
        &ReportOptions::default(),
        today,
    )
    .expect("months");
    let sql = render_series(&months, &dialect, None, SeriesShape::Periods).expect("render");
    let grain = measure("--grain month, 12 months", || run(&sql));

    let targets = [
        (created, Duration::from_secs(3)),
        (report, Duration::from_secs(1)),
        (compare, Duration::from_millis(1500)),
        (grain, Duration::from_secs(3)),
    ];
    if targets.iter().any(|(took, target)| took > target) {
        eprintln!("slower than a target: demo 3 s, report 1 s, compare 1.5 s, 12 months 3 s");
        std::process::exit(1);
    }
}
