//! The cost of the membership history on the embedded DuckDB, process included: `segc
//! snapshot` per day (one day alone, and a 31-day backfill in one statement), and a report
//! with a timed KPI and the flow KPIs against the same report without them (one period, and
//! three months), on the example project over the 10,000-user demo. Run with `cargo bench --bench history`; it prints the
//! medians of three runs and the ratios.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const RUNS: usize = 3;

fn segc(project: &Path, args: &[&str]) {
    let output = Command::new(env!("CARGO_BIN_EXE_segc"))
        .args(args)
        .arg("--project")
        .arg(project)
        .output()
        .expect("segc runs");
    assert!(
        output.status.success(),
        "segc {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The median of `RUNS` runs of `args`, printed.
fn measure(label: &str, project: &Path, args: &[&str]) -> Duration {
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let started = Instant::now();
            segc(project, args);
            started.elapsed()
        })
        .collect();
    times.sort();
    let median = times[RUNS / 2];
    println!("{label:<44} {:>9.1} ms", median.as_secs_f64() * 1000.0);
    median
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("a temporary directory");
    let project = dir.path();
    std::fs::create_dir_all(project.join("segment-defs")).expect("a folder");
    for file in ["segc_project.yml", "profiles.yml"] {
        std::fs::copy(root.join(file), project.join(file)).expect("copied");
    }
    for entry in std::fs::read_dir(root.join("segment-defs")).expect("the definitions") {
        let path = entry.expect("an entry").path();
        std::fs::copy(
            &path,
            project.join("segment-defs").join(path.file_name().unwrap()),
        )
        .expect("copied");
    }
    // The first run creates the demo database.
    segc(project, &["run", "-k", "people", "-o", "json"]);

    let day = measure(
        "snapshot, one day",
        project,
        &["snapshot", "--as-of", "2026-10-31"],
    );
    let month = measure(
        "snapshot, 31 days in one statement",
        project,
        &["snapshot", "--from", "2026-10-01", "--to", "2026-10-31"],
    );
    let plain = measure(
        "report: revenue_period",
        project,
        &["run", "-o", "json", "-k", "people,revenue_period"],
    );
    let timed = measure(
        "report: + revenue_while_member (timed)",
        project,
        &[
            "run",
            "-o",
            "json",
            "-k",
            "people,revenue_period,revenue_while_member",
        ],
    );
    let flows = measure(
        "report: + entered, left (flows)",
        project,
        &[
            "run",
            "-o",
            "json",
            "-k",
            "people,revenue_period,entered,left",
        ],
    );
    // Three months, each with its own flows and timed values (their days recorded first).
    segc(
        project,
        &["snapshot", "--from", "2026-07-31", "--to", "2026-10-31"],
    );
    let months = [
        "run", "-o", "json", "--grain", "month", "--from", "2026-08", "--to", "2026-10", "-k",
    ];
    let plain_months = measure(
        "3 months: revenue_period",
        project,
        &[&months[..], &["people,revenue_period"]].concat(),
    );
    let history_months = measure(
        "3 months: + revenue_while_member, entered, left",
        project,
        &[
            &months[..],
            &["people,revenue_period,revenue_while_member,entered,left"],
        ]
        .concat(),
    );
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!(
        "per day: {:.1} ms alone, {:.1} ms in a 31-day backfill",
        day.as_secs_f64() * 1000.0,
        month.as_secs_f64() * 1000.0 / 31.0
    );
    println!(
        "against the plain report: snapshot of a day {:.2}×, timed report {:.2}×, flows {:.2}×",
        ratio(day, plain),
        ratio(timed, plain),
        ratio(flows, plain)
    );
    println!(
        "three months with timed and flow KPIs against without: {:.2}×",
        ratio(history_months, plain_months)
    );
}
