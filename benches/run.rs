//! Run-time benchmark on the embedded DuckDB: the example project over the 10,000-user demo
//! (two years of facts, about 1.2 million events), from SQL to rows.
//! (`cargo bench --bench run -- demo` runs only this part.)
//! Targets on the development machine (2 cores): creating the demo database under 3 s, the
//! full report under 1 s, `--compare prior_year` under 1.5 s and a 12-month `--grain month`
//! run under 3 s (measured: about 1.0 s, 0.15 s, 0.26 s and 0.56 s), over the example's KPIs
//! that read no membership history. Run with `cargo bench --bench run`; exits non-zero past
//! a target.
//!
//! Then the fan-out of segments (see `fanout/`): generated projects of 30 and 300 segments ×
//! 20 KPIs over 1,000,000 synthetic users, with the generator's KPIs (distinct counts,
//! medians, sums of amounts: grouped by signature and by value, and at 300 segments grouped
//! again per word of the signature) and with KPIs that all combine from partial aggregates;
//! each statement's time next to its floor's (the per-user attributes alone, and with the
//! quintile scores), and their ratio. Then month series of 3, 12, 24 and 48 months of the
//! 30-segment project against its single report. Statements compared run in turn, five
//! rounds: times are medians of the rounds, ratios medians of each round's own ratio.
//! `cargo bench --bench run -- fanout USERS` runs only this part, at another size.
//!
//! `cargo bench --bench run -- postgres [USERS]` (200,000 by default) runs the fan-out on
//! PostgreSQL instead (see `postgres/`), with `SEGC_BENCH_POSTGRES` naming the server.

mod fanout;
mod generate;
#[cfg(feature = "postgres")]
mod postgres;

use std::time::{Duration, Instant};

use segc::dialect::Dialect;
use segc::driver::Driver;
use segc::driver::duckdb::DuckDb;
use segc::plan::{Compare, Plan, ReportOptions};
use segc::render::{SeriesShape, render, render_series};

const RUNS: usize = 3;

/// The rounds of a comparison: each round runs the statements compared once each, in turn,
/// and each ratio is the median of the rounds' own (`fanout::in_turn`).
const ROUNDS: usize = 5;

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
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    #[cfg(feature = "postgres")]
    if let Some(at) = arguments.iter().position(|a| a == "postgres") {
        let users = arguments
            .get(at + 1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(200_000);
        postgres::run(users);
        return;
    }
    if let Some(at) = arguments.iter().position(|a| a == "sql") {
        let (Some(file), Some(database)) = (arguments.get(at + 1), arguments.get(at + 2)) else {
            eprintln!("usage: cargo bench --bench run -- sql FILE.sql DATABASE.duckdb [prepared]");
            std::process::exit(2);
        };
        let prepared = arguments.get(at + 3).is_some_and(|a| a == "prepared");
        statement_cpu(file, database, prepared);
        return;
    }
    let fan_out_only = arguments.iter().position(|a| a == "fanout");
    let users = fan_out_only
        .and_then(|at| arguments.get(at + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    if fan_out_only.is_none() {
        demo_report();
    }
    // `-- demo`: the demo's targets alone.
    if !arguments.iter().any(|a| a == "demo") {
        fan_out(users);
    }
}

/// One statement of a file on a DuckDB file, five times: the median wall time and the CPU
/// time of the process per run, to set beside another build of DuckDB running the same file.
/// Run as segc runs a query (planned once), or with `prepared` as a prepared statement, which
/// DuckDB plans twice (see `segc::driver::duckdb::query_once`).
fn statement_cpu(file: &str, database: &str, prepared: bool) {
    let sql = std::fs::read_to_string(file).expect("the SQL file");
    let config = duckdb::Config::default()
        .access_mode(duckdb::AccessMode::ReadOnly)
        .expect("a configuration");
    let database = duckdb::Connection::open_with_flags(database, config).expect("the database");
    // utime and stime of /proc/self/stat, in clock ticks of 10 ms.
    let cpu = || {
        let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
        let after_name = &stat[stat.rfind(')').expect("a process name") + 2..];
        let fields: Vec<&str> = after_name.split(' ').collect();
        let ticks = |at: usize| fields[at].parse::<f64>().expect("a number of ticks");
        (ticks(11) + ticks(12)) / 100.0
    };
    let run = || match prepared {
        true => fanout::run_prepared(&database, &sql),
        false => fanout::run(&database, &sql),
    };
    run().expect("the statement runs");
    let before = cpu();
    let wall = fanout::median(5, || run().expect("the statement runs"));
    println!(
        "{file}: median {:.0} ms, CPU {:.0} ms per run",
        wall.as_secs_f64() * 1000.0,
        (cpu() - before) * 1000.0 / 5.0
    );
}

/// The fan-out of segments: each statement against its floor, at 30 and 300 segments.
fn fan_out(users: usize) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("warehouse.duckdb");
    // Statements run to their last row: the time of `segc run` without the gate's parse.
    let started = Instant::now();
    segc::demo::create_synthetic(&path, users).expect("the synthetic warehouse");
    println!(
        "\nfan-out: {users} users, warehouse written in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let dialect = Dialect::load("duckdb").expect("dialect");
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).expect("a date");
    // Straight to DuckDB, the floor as the statement: the floor's SELECT is no statement
    // segc writes, so the gate would refuse it.
    let config = duckdb::Config::default()
        .access_mode(duckdb::AccessMode::ReadOnly)
        .expect("a configuration");
    let database = duckdb::Connection::open_with_flags(&path, config).expect("the warehouse");
    let run = |sql: &str| fanout::run(&database, sql).expect("the statement runs");
    println!(
        "{:>9} {:>13} {}",
        "segments",
        "KPIs",
        fanout::timing_header()
    );
    for (segments, kpis) in [
        (30, "mixed"),
        (300, "mixed"),
        (30, "decomposable"),
        (300, "decomposable"),
    ] {
        let project_dir = dir.path().join(format!("project_{segments}_{kpis}"));
        generate::write_project(&project_dir, segments, 20).expect("the generated project");
        if kpis == "decomposable" {
            let path = project_dir.join("segment-defs").join("kpis.yml");
            std::fs::write(path, fanout::decomposable_kpis(20)).expect("the KPIs written");
        }
        let project = segc::validate::load_and_validate(&project_dir).expect("a valid project");
        let plan = Plan::new(&project, &ReportOptions::default(), today).expect("plan");
        let sql = render(&plan, &dialect, None).expect("render");
        let floor = fanout::floor(&sql, "segc_attributes").expect("a floor");
        let scored = fanout::floor(&sql, "segc_scores").expect("a floor with scores");
        let signed = fanout::floor(&sql, "segc_signed").expect("a cut after the members");
        if let Ok(dir) = std::env::var("SEGC_BENCH_EXPLAIN") {
            let dir = std::path::Path::new(&dir);
            let plan = fanout::explain(&database, &sql).expect("EXPLAIN ANALYZE");
            let name = format!("{segments}_{kpis}");
            std::fs::write(dir.join(format!("explain_{name}.txt")), plan).expect("the plan");
            // The statements themselves, to time on `segc bench-data`'s warehouse elsewhere.
            std::fs::write(dir.join(format!("report_{name}.sql")), &sql).expect("the report");
            std::fs::write(dir.join(format!("floor_{name}.sql")), &floor).expect("the floor");
        }
        let statements = [&floor, &scored, &signed, &sql];
        let times = fanout::in_turn(ROUNDS, statements.len(), |index| {
            run(statements[index]);
        });
        println!(
            "{segments:>9} {kpis:>13} {}",
            fanout::timing_row(&times[0], &times[1], &times[2], &times[3])
        );
    }
    against_one_report(&dir.path().join("project_30_mixed"), &run, &dialect, today);
}

/// The 30-segment project against its own single statement: the naive plan, one statement
/// per segment (`--select` each visible segment in turn, every source read again each
/// time), then month series of 3, 12, 24 and 48 months, where facts are aggregated once per
/// user and slice of time and each user's months with facts are added up with a window.
/// In turn, five rounds (each series paired with the single report).
fn against_one_report(
    project_dir: &std::path::Path,
    run: &dyn Fn(&str) -> usize,
    dialect: &Dialect,
    today: chrono::NaiveDate,
) {
    let project = segc::validate::load_and_validate(project_dir).expect("a valid project");
    let plan = Plan::new(&project, &ReportOptions::default(), today).expect("plan");
    let single_sql = render(&plan, dialect, None).expect("render");
    let floor = fanout::floor(&single_sql, "segc_attributes").expect("a floor");
    let statements: Vec<String> = project
        .segments
        .iter()
        .filter(|segment| segment.visible)
        .map(|segment| {
            let options = ReportOptions {
                select: vec![segment.name.clone()],
                ..ReportOptions::default()
            };
            let plan = Plan::new(&project, &options, today).expect("plan");
            render(&plan, dialect, None).expect("render")
        })
        .collect();
    let times = fanout::in_turn(ROUNDS, 3, |index| {
        match index {
            0 => run(&floor),
            1 => run(&single_sql),
            _ => statements.iter().map(|sql| run(sql)).sum::<usize>(),
        };
    });
    let (floor, single, naive) = (&times[0], &times[1], &times[2]);
    let ms = |times: &[Duration]| fanout::middle(times).as_secs_f64() * 1000.0;
    println!(
        "\none query per segment, 30 segments × 20 KPIs ({} statements): {:.0} ms, {:.1}x the floor ({:.0} ms); segc's one statement {:.0} ms, {:.2}x",
        statements.len(),
        ms(naive),
        fanout::ratio(naive, floor),
        ms(floor),
        ms(single),
        fanout::ratio(single, floor),
    );
    println!(
        "\nmonth series against the one report\n{:>7} {:>9} {:>8}",
        "months", "ms", "ratio"
    );
    let last = chrono::NaiveDate::from_ymd_opt(2026, 10, 1).expect("a date");
    for months in [3, 12, 24, 48] {
        let first = last - chrono::Months::new(months - 1);
        let periods =
            segc::plan::month_plans(&project, first, last, &ReportOptions::default(), today)
                .expect("months");
        let sql = render_series(&periods, dialect, None, SeriesShape::Periods).expect("render");
        // Each series in turn with the single report, and against that round's run of it.
        let pair = [&sql, &single_sql];
        let times = fanout::in_turn(ROUNDS, 2, |index| {
            run(pair[index]);
        });
        println!(
            "{months:>7} {:>9.0} {:>7.2}x",
            ms(&times[0]),
            fanout::ratio(&times[0], &times[1])
        );
    }
}

/// The names of the project's KPIs that read no membership history: neither a flow nor
/// timed, nor a ratio or share of one.
fn plain_kpis(project: &segc::ir::Project) -> Vec<String> {
    use segc::ir::{KpiId, KpiKind};
    fn historic(project: &segc::ir::Project, id: KpiId) -> bool {
        let kpi = project.kpi(id);
        kpi.timed
            || match &kpi.kind {
                KpiKind::Flow(_) => true,
                KpiKind::Ratio(a, b) => historic(project, *a) || historic(project, *b),
                KpiKind::ShareOfTotal(of) => historic(project, *of),
                KpiKind::Aggregate { .. } => false,
            }
    }
    (0..project.kpis.len())
        .map(KpiId)
        .filter(|id| !historic(project, *id))
        .map(|id| project.kpi(id).name.clone())
        .collect()
}

/// The example project over the demo database, against its targets.
fn demo_report() {
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

    // The KPIs that need no membership history (benches/history measures those).
    let options = ReportOptions {
        kpis: plain_kpis(&project),
        ..ReportOptions::default()
    };
    let plan = Plan::new(&project, &options, today).expect("plan");
    let sql = render(&plan, &dialect, None).expect("render");
    let report = measure("full report", || run(&sql));

    let prior = Plan::new(
        &project,
        &plan.prior_options(Compare::PriorYear, &options),
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
        &options,
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
