//! Compile-time benchmark: the example project from YAML to SQL for every dialect, as one
//! report and as a 120-month series.
//! Targets: under 20 ms per dialect for one report and 100 ms for a 120-month series on the
//! development machine (2 cores), so `segc compile` feels instant. Run with `cargo bench --bench compile`; exits non-zero past the target.

use std::time::{Duration, Instant};

use segc::dialect::Dialect;
use segc::plan::{Plan, ReportOptions};

const ITERATIONS: u32 = 50;
const TARGET_PER_DIALECT: Duration = Duration::from_millis(20);
/// A 120-month series plans 120 reports; it must still feel instant.
const TARGET_SERIES: Duration = Duration::from_millis(100);

/// Runs `compile` (which returns the SQL's length) `ITERATIONS` times; prints and returns the
/// time per run.
fn measure(label: &str, mut compile: impl FnMut() -> usize) -> Duration {
    let started = Instant::now();
    let mut bytes = 0;
    for _ in 0..ITERATIONS {
        bytes = compile();
    }
    let each = started.elapsed() / ITERATIONS;
    println!(
        "{label:<20} {:>8.2} ms per run ({bytes} bytes of SQL)",
        each.as_secs_f64() * 1000.0
    );
    each
}

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).expect("a date");
    let load = || segc::validate::load_and_validate(root).expect("the example project is valid");
    let (mut worst, mut worst_series) = (Duration::ZERO, Duration::ZERO);
    for name in segc::dialect::names() {
        let dialect = Dialect::load(name).expect("dialect");
        let each = measure(&format!("compile {name}"), || {
            let project = load();
            let plan = Plan::new(&project, &ReportOptions::default(), today).expect("plan");
            segc::render::render(&plan, &dialect, None)
                .expect("render")
                .len()
        });
        worst = worst.max(each);
        // Month by month over ten years: one spine row per month, so the statement and the
        // time to write it barely grow.
        let each = measure("  120 months", || {
            let project = load();
            let periods = segc::plan::month_plans(
                &project,
                chrono::NaiveDate::from_ymd_opt(2016, 11, 1).expect("a date"),
                chrono::NaiveDate::from_ymd_opt(2026, 10, 1).expect("a date"),
                &ReportOptions::default(),
                today,
            )
            .expect("months");
            segc::render::render_series(
                &periods,
                &dialect,
                None,
                segc::render::SeriesShape::Periods,
            )
            .expect("render")
            .len()
        });
        worst_series = worst_series.max(each);
    }
    if worst > TARGET_PER_DIALECT || worst_series > TARGET_SERIES {
        eprintln!(
            "slower than the targets of {} ms per report and {} ms per 120-month series",
            TARGET_PER_DIALECT.as_millis(),
            TARGET_SERIES.as_millis()
        );
        std::process::exit(1);
    }
}
