//! Compile-time benchmark: the example project from YAML to SQL for every dialect.
//! Target: under 20 ms per dialect on the development machine (2 cores), so `segc compile`
//! feels instant. Run with `cargo bench --bench compile`; exits non-zero past the target.

use std::time::{Duration, Instant};

use segc::dialect::Dialect;
use segc::plan::{Plan, ReportOptions};

const ITERATIONS: u32 = 50;
const TARGET_PER_DIALECT: Duration = Duration::from_millis(20);

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).expect("a date");
    let mut worst = Duration::ZERO;
    for name in segc::dialect::names() {
        let dialect = Dialect::load(name).expect("dialect");
        let started = Instant::now();
        let mut bytes = 0;
        for _ in 0..ITERATIONS {
            let project =
                segc::validate::load_and_validate(root).expect("the example project is valid");
            let plan = Plan::new(&project, &ReportOptions::default(), today).expect("plan");
            bytes = segc::render::render(&plan, &dialect, None)
                .expect("render")
                .len();
        }
        let each = started.elapsed() / ITERATIONS;
        worst = worst.max(each);
        println!(
            "compile {name:<10} {:>8.2} ms per run ({bytes} bytes of SQL)",
            each.as_secs_f64() * 1000.0
        );
    }
    if worst > TARGET_PER_DIALECT {
        eprintln!(
            "slower than the target of {} ms",
            TARGET_PER_DIALECT.as_millis()
        );
        std::process::exit(1);
    }
}
