//! Compile-time benchmark: YAML to SQL for every dialect.
//!
//! - The example project, as one report and as a 120-month series: under 20 ms per dialect
//!   for one report and 100 ms for a 120-month series, so `segc compile` feels instant.
//! - Generated projects (N segments, some of them drill-downs, with M KPIs), each in a
//!   process of its own so that its peak memory is its own: 1,000 segments × 50 KPIs compiled
//!   for all five dialects (read and validated once, then planned and rendered per dialect,
//!   as `segc compile --output-dir` does) under 100 ms in all; 100,000 segments × 20 KPIs
//!   for one dialect under 5 s and 1 GiB of memory. Sizes in between show how the time grows.
//!
//! Run with `cargo bench --bench compile`; exits non-zero past a target. Targets are for the
//! development machine (2 cores).
//! `cargo bench --bench compile -- write SEGMENTS KPIS DIR` writes a generated project to DIR
//! (to time `segc compile` on it) and exits.

mod generate;

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use segc::dialect::Dialect;
use segc::plan::{Plan, ReportOptions};

/// The system allocator, counting the bytes in use and their peak.
struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's layout is passed on unchanged.
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            grew(layout.size());
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: `pointer` was allocated by `System` with this layout.
        unsafe { System.dealloc(pointer, layout) };
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `GlobalAlloc::realloc`; `pointer` came from `System`.
        let moved = unsafe { System.realloc(pointer, layout, new_size) };
        if !moved.is_null() {
            IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        moved
    }
}

fn grew(bytes: usize) {
    let now = IN_USE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Starts counting the peak from the bytes in use now.
fn reset_peak() {
    PEAK.store(IN_USE.load(Ordering::Relaxed), Ordering::Relaxed);
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

const ITERATIONS: u32 = 50;
const TARGET_PER_DIALECT: Duration = Duration::from_millis(20);
/// A 120-month series plans 120 reports; it must still feel instant.
const TARGET_SERIES: Duration = Duration::from_millis(100);

/// A generated project: its size, how often it is compiled, and its targets (none for the
/// sizes that only show the growth).
struct Case {
    segments: usize,
    kpis: usize,
    /// Rendered for every dialect, or for the first only.
    all_dialects: bool,
    iterations: u32,
    target: Option<Duration>,
    memory_target: Option<usize>,
}

const CASES: &[Case] = &[
    Case {
        segments: 1_000,
        kpis: 50,
        all_dialects: true,
        iterations: 20,
        target: Some(Duration::from_millis(100)),
        memory_target: None,
    },
    Case {
        segments: 8_000,
        kpis: 20,
        all_dialects: false,
        iterations: 3,
        target: None,
        memory_target: None,
    },
    Case {
        segments: 32_000,
        kpis: 20,
        all_dialects: false,
        iterations: 1,
        target: None,
        memory_target: None,
    },
    Case {
        segments: 100_000,
        kpis: 20,
        all_dialects: false,
        iterations: 1,
        target: Some(Duration::from_secs(5)),
        memory_target: Some(1 << 30),
    },
];

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
        ms(each)
    );
    each
}

/// The example project for every dialect, as one report and as a 120-month series; true when
/// within the targets.
fn example_project(root: &Path, today: chrono::NaiveDate) -> bool {
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
        return false;
    }
    true
}

/// Time spent in each stage of one compilation.
#[derive(Default)]
struct Stages {
    load: Duration,
    validate: Duration,
    plan: Duration,
    render: Duration,
    bytes: usize,
    /// The last statement rendered.
    last: String,
}

impl Stages {
    fn total(&self) -> Duration {
        self.load + self.validate + self.plan + self.render
    }
}

/// Stops on an invalid generated project, showing the start of what is wrong.
fn invalid(error: segc::error::Error) -> ! {
    let text = error.to_string();
    panic!(
        "the generated project is invalid: {}",
        &text[..text.floor_char_boundary(4000)]
    );
}

/// Reads and validates the project once, then plans and renders it for each dialect.
fn compile_once(root: &Path, dialects: &[Dialect], today: chrono::NaiveDate) -> Stages {
    let mut stages = Stages::default();
    let started = Instant::now();
    let files = segc::spec::load_project(root).unwrap_or_else(|e| invalid(e));
    stages.load = started.elapsed();
    let started = Instant::now();
    let project = segc::validate::validate(files).unwrap_or_else(|e| invalid(e));
    stages.validate = started.elapsed();
    for dialect in dialects {
        let started = Instant::now();
        let plan = Plan::new(&project, &ReportOptions::default(), today).expect("plan");
        stages.plan += started.elapsed();
        let started = Instant::now();
        let sql = segc::render::render(&plan, dialect, None).expect("render");
        stages.render += started.elapsed();
        stages.bytes += sql.len();
        stages.last = sql;
    }
    stages
}

/// One generated case, in this process: prints its times and peak memory; false past a target.
/// The time checked is the fastest run's (others share the machine), printed with the
/// process's CPU time per run.
fn run_case(case: &Case, today: chrono::NaiveDate) -> bool {
    let folder = tempfile::tempdir().expect("a temporary folder");
    generate::write_project(folder.path(), case.segments, case.kpis).expect("written");
    let names: Vec<&str> = if case.all_dialects {
        segc::dialect::names().to_vec()
    } else {
        vec!["postgres"]
    };
    let dialects: Vec<Dialect> = names
        .iter()
        .map(|name| Dialect::load(name).expect("dialect"))
        .collect();
    reset_peak();
    let before = IN_USE.load(Ordering::Relaxed);
    let cpu_before = cpu_time();
    let mut fastest: Option<Stages> = None;
    for _ in 0..case.iterations {
        let stages = compile_once(folder.path(), &dialects, today);
        if fastest.as_ref().is_none_or(|f| stages.total() < f.total()) {
            fastest = Some(stages);
        }
    }
    let cpu = cpu_time()
        .zip(cpu_before)
        .map(|(after, before)| (after - before) / case.iterations);
    let peak = PEAK.load(Ordering::Relaxed) - before;
    let resident = resident_peak();
    let fastest = fastest.expect("at least one run");
    println!(
        "{:>7} segments × {:>2} KPIs, {:<10} {:>8.1} ms (read {:.1}, validate {:.1}, plan {:.1}, \
         render {:.1}; CPU {}); {:.1} MiB of SQL; peak {:.0} MiB allocated, {} resident",
        case.segments,
        case.kpis,
        if case.all_dialects {
            "5 dialects"
        } else {
            names[0]
        },
        ms(fastest.total()),
        ms(fastest.load),
        ms(fastest.validate),
        ms(fastest.plan),
        ms(fastest.render),
        cpu.map_or("?".into(), |cpu| format!("{:.0} ms", ms(cpu))),
        mib(fastest.bytes),
        mib(peak),
        resident.map_or("?".into(), |bytes| format!("{:.0} MiB", mib(bytes))),
    );
    // What `segc run` adds before sending: the gate parses the statement back.
    let started = Instant::now();
    let dialect = dialects.last().expect("a dialect");
    segc::driver::gate::admit(&fastest.last, dialect, segc::driver::gate::Shape::Read)
        .expect("the statement passes the gate");
    println!(
        "{:>35} {:>8.1} ms to admit the {} statement through the gate",
        "",
        ms(started.elapsed()),
        dialect.name
    );
    let slow = case.target.is_some_and(|target| fastest.total() > target);
    let large = case
        .memory_target
        .is_some_and(|limit| resident.unwrap_or(0).max(peak) > limit);
    if slow || large {
        eprintln!("past the target of this case");
        return false;
    }
    true
}

/// The CPU time this process has used (user and system), where the system reports it.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which ends with the last `)`): utime and stime are the
    // 12th and 13th, in clock ticks of 1/100 s.
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// The process's peak resident memory (VmHWM), where the system reports it.
fn resident_peak() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Runs each generated case in a child process (this program, given the case's index).
fn generated_cases() -> bool {
    let program = std::env::current_exe().expect("this program");
    let mut within = true;
    for index in 0..CASES.len() {
        let status = std::process::Command::new(&program)
            .args(["case", &index.to_string()])
            .status()
            .expect("the case runs");
        within &= status.success();
    }
    within
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).expect("a date");
    // `cargo bench` adds `--bench` to the arguments given after `--`.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|arg| *arg != "--bench")
        .collect();
    let within = match args.as_slice() {
        ["case", index] => run_case(&CASES[index.parse::<usize>().expect("an index")], today),
        ["write", segments, kpis, dir] => {
            let (segments, kpis) = (segments.parse().expect("N"), kpis.parse().expect("M"));
            generate::write_project(Path::new(dir), segments, kpis).expect("written");
            true
        }
        _ => example_project(root, today) & generated_cases(),
    };
    if !within {
        std::process::exit(1);
    }
}
