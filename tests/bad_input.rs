//! The bad-input corpus: the `segc` binary on broken definitions, project files, profiles,
//! command lines and file systems. Each case must end with the expected exit code and
//! message (at its `file:line:col` where one applies), without a panic, within 5 seconds
//! and 500 MB.
//!
//! Definitions, project and profiles cases are files under `tests/bad_input/`, each with
//! its expectations in leading comments:
//!
//! ```yaml
//! # args: compile --dialect postgres     (default: validate)
//! # exit: 1                              (default: 1)
//! # at: segment-defs/case.yml:5:7        (the location the message starts at)
//! # says: unknown key `lable`            (a fragment of the output; may repeat)
//! # never: hunter2                       (must not appear; may repeat)
//! ```
//!
//! Cases that need bytes no text file should hold, sizes, or a file system shape are built
//! in code below.
#![cfg(unix)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long one run may take, and how much memory it may hold.
const TIME_LIMIT: Duration = Duration::from_secs(5);
const MEMORY_LIMIT_KB: u64 = 500 * 1024;
/// The address space a run may reserve: a backstop for a run that grows faster than it is
/// measured (it then fails to allocate and aborts, which fails the case).
const ADDRESS_SPACE_LIMIT: u64 = 4 * 1024 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Definitions,
    Project,
    Profiles,
    CommandLine,
    FileSystem,
}

/// Prepares the case's folder; returns a note when the case cannot run here.
type Setup = Box<dyn Fn(&Path) -> Option<String> + Send + Sync>;

struct Case {
    name: String,
    kind: Kind,
    setup: Setup,
    /// Arguments; `{root}` is the case's folder. `--project {root}/project` is added
    /// unless the arguments name a project.
    args: Vec<String>,
    env: Vec<(String, String)>,
    exit: i32,
    at: Option<String>,
    says: Vec<String>,
    never: Vec<String>,
}

impl Case {
    fn new(
        kind: Kind,
        name: &str,
        setup: impl Fn(&Path) -> Option<String> + Send + Sync + 'static,
    ) -> Case {
        Case {
            name: name.to_string(),
            kind,
            setup: Box::new(setup),
            args: vec!["validate".into()],
            env: Vec::new(),
            exit: 1,
            at: None,
            says: Vec::new(),
            never: Vec::new(),
        }
    }

    fn args(mut self, args: &str) -> Case {
        self.args = args.split_whitespace().map(str::to_string).collect();
        self
    }

    fn exit(mut self, code: i32) -> Case {
        self.exit = code;
        self
    }

    fn at(mut self, location: &str) -> Case {
        self.at = Some(location.to_string());
        self
    }

    fn says(mut self, fragment: &str) -> Case {
        self.says.push(fragment.to_string());
        self
    }

    fn never(mut self, fragment: &str) -> Case {
        self.never.push(fragment.to_string());
        self
    }

    fn env(mut self, name: &str, value: &str) -> Case {
        self.env.push((name.to_string(), value.to_string()));
        self
    }
}

/// What a run did.
struct Outcome {
    code: Option<i32>,
    output: String,
    elapsed: Duration,
    peak_kb: Option<u64>,
}

fn prlimit_available() -> bool {
    Command::new("prlimit")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Runs `segc` for a case whose folder is `root`, measuring its time and peak memory.
fn run(case: &Case, root: &Path, prlimit: bool) -> Outcome {
    let root_text = root.display().to_string();
    let mut args: Vec<String> = case
        .args
        .iter()
        .map(|a| a.replace("{root}", &root_text))
        .collect();
    if !args.iter().any(|a| a == "--project") {
        args.push("--project".into());
        args.push(format!("{root_text}/project"));
    }
    let segc = env!("CARGO_BIN_EXE_segc");
    let mut command = if prlimit {
        let mut command = Command::new("prlimit");
        command
            .arg(format!("--as={ADDRESS_SPACE_LIMIT}"))
            .arg("--")
            .arg(segc);
        command
    } else {
        Command::new(segc)
    };
    let stdout = std::fs::File::create(root.join("stdout")).unwrap();
    let stderr = std::fs::File::create(root.join("stderr")).unwrap();
    command
        .args(&args)
        .current_dir(root)
        .env_remove("SEGC_PROFILES_DIR")
        .env_remove("RUST_BACKTRACE")
        .env("HOME", root.join("home"))
        .envs(case.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr);
    let started = Instant::now();
    let mut child = command.spawn().expect("segc starts");
    // prlimit replaces itself with segc: the pid is segc's.
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_kb: Option<u64> = None;
    let code = loop {
        if let Some(high_water) = std::fs::read_to_string(&status_path)
            .ok()
            .and_then(|status| high_water_mark(&status))
        {
            peak_kb = Some(peak_kb.unwrap_or(0).max(high_water));
        }
        match child.try_wait().expect("waiting for segc") {
            Some(status) => break status.code(),
            None if started.elapsed() > TIME_LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => std::thread::sleep(Duration::from_millis(2)),
        }
    };
    let elapsed = started.elapsed();
    let read = |name: &str| {
        String::from_utf8_lossy(&std::fs::read(root.join(name)).unwrap_or_default()).into_owned()
    };
    Outcome {
        code,
        output: format!("{}{}", read("stdout"), read("stderr")),
        elapsed,
        peak_kb,
    }
}

/// `VmHWM` of a `/proc/<pid>/status`: the peak resident memory, in kB.
fn high_water_mark(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Every expectation of `case` the outcome breaks.
fn problems(case: &Case, outcome: &Outcome) -> Vec<String> {
    let mut problems = Vec::new();
    if outcome.elapsed > TIME_LIMIT {
        problems.push(format!("took {:?}, over {TIME_LIMIT:?}", outcome.elapsed));
    }
    if let Some(peak) = outcome.peak_kb
        && peak > MEMORY_LIMIT_KB
    {
        problems.push(format!("held {peak} kB, over {MEMORY_LIMIT_KB} kB"));
    }
    if outcome.code != Some(case.exit) {
        problems.push(format!(
            "exit code {:?}, expected {}",
            outcome.code, case.exit
        ));
    }
    for panic_text in ["panicked", "RUST_BACKTRACE"] {
        if outcome.output.contains(panic_text) {
            problems.push(format!("output shows a panic (`{panic_text}`)"));
        }
    }
    if let Some(at) = &case.at {
        // A whole location ends where the next character is not a digit (`:5:7` is not
        // `:5:71`); one ending in `:` leaves the column open.
        let found = outcome.output.match_indices(at.as_str()).any(|(start, _)| {
            at.ends_with(':')
                || !outcome.output[start + at.len()..].starts_with(|c: char| c.is_ascii_digit())
        });
        if !found {
            problems.push(format!("no location `{at}`"));
        }
    }
    for fragment in &case.says {
        if !outcome.output.contains(fragment.as_str()) {
            problems.push(format!("does not say `{fragment}`"));
        }
    }
    for fragment in &case.never {
        if outcome.output.contains(fragment.as_str()) {
            problems.push(format!("shows `{fragment}`"));
        }
    }
    problems
}

/// What running the corpus found.
#[derive(Default)]
struct Report {
    failures: Vec<String>,
    /// Why some cases did not run here.
    notes: Vec<String>,
    /// The slowest case and its time, and the case that held the most memory.
    slowest: Option<(String, Duration)>,
    largest: Option<(String, u64)>,
}

/// Runs every case on a few threads.
fn run_all(cases: &[Case]) -> Report {
    let prlimit = prlimit_available();
    let next = AtomicUsize::new(0);
    let report = Mutex::new(Report::default());
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 4));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(case) = cases.get(index) else { break };
                    let dir = tempfile::tempdir().unwrap();
                    let root = dir.path();
                    std::fs::create_dir_all(root.join("home")).unwrap();
                    if let Some(note) = (case.setup)(root) {
                        let mut report = report.lock().unwrap();
                        report.notes.push(format!("{}: {note}", case.name));
                        continue;
                    }
                    let outcome = run(case, root, prlimit);
                    let found = problems(case, &outcome);
                    let mut report = report.lock().unwrap();
                    if report
                        .slowest
                        .as_ref()
                        .is_none_or(|(_, t)| outcome.elapsed > *t)
                    {
                        report.slowest = Some((case.name.clone(), outcome.elapsed));
                    }
                    if let Some(peak) = outcome.peak_kb
                        && report.largest.as_ref().is_none_or(|(_, p)| peak > *p)
                    {
                        report.largest = Some((case.name.clone(), peak));
                    }
                    if !found.is_empty() {
                        report.failures.push(format!(
                            "{} ({:?}): {}\n  segc {}\n{}",
                            case.name,
                            case.kind,
                            found.join("; "),
                            case.args.join(" "),
                            indent(&outcome.output),
                        ));
                    }
                    drop(report);
                    restore_permissions(root);
                }
            });
        }
    });
    let mut report = report.into_inner().unwrap();
    if !prlimit {
        report
            .notes
            .push("prlimit not found: no address-space backstop".into());
    }
    report
}

fn indent(output: &str) -> String {
    let shown: String = output.chars().take(3000).collect();
    shown.lines().map(|l| format!("    | {l}\n")).collect()
}

/// Makes everything under `root` removable again after a case took permissions away.
fn restore_permissions(root: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let _ = std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755));
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let Ok(file_type) = entry.file_type() else {
                continue;
            };
            if file_type.is_dir() {
                folders.push(entry.path());
            } else if file_type.is_file() {
                let _ =
                    std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o644));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Projects

const PROJECT: &str = "name: corpus\ndefinitions: segment-defs\ndefault_target: local\ntime_zone: UTC\nas_of: 2024-03-31\n";

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_input")
}

/// A project with the core fixture's sources only.
fn sources_project(root: &Path) -> PathBuf {
    let project = root.join("project");
    common::copy_project(&common::fixture("core"), &project, Some(&["sources.yml"]));
    std::fs::write(project.join("segc_project.yml"), PROJECT).unwrap();
    project
}

/// The whole core fixture: valid, with attributes, segments and KPIs.
fn core_project(root: &Path) -> PathBuf {
    let project = root.join("project");
    common::copy_project(&common::fixture("core"), &project, None);
    project
}

fn write(path: &Path, content: impl AsRef<[u8]>) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

// ---------------------------------------------------------------------------------------
// Cases from files

/// A case file: its expectations, from its leading `# key: value` comments.
fn file_case(kind: Kind, path: &Path) -> Case {
    let text = std::fs::read_to_string(path).unwrap();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let content = text.clone();
    let setup = move |root: &Path| -> Option<String> {
        match kind {
            Kind::Definitions => {
                let project = sources_project(root);
                write(&project.join("segment-defs/case.yml"), &content);
            }
            Kind::Project => {
                let project = sources_project(root);
                write(&project.join("segc_project.yml"), &content);
            }
            _ => {
                let project = core_project(root);
                write(&project.join("profiles.yml"), &content);
            }
        }
        None
    };
    let mut case = Case::new(kind, &format!("{kind:?}/{name}"), setup);
    for line in text.lines().take_while(|l| l.starts_with('#')) {
        let Some((key, value)) = line.trim_start_matches('#').split_once(':') else {
            continue;
        };
        let value = value.trim();
        case = match key.trim() {
            "args" => case.args(value),
            "exit" => case.exit(value.parse().expect("an exit code")),
            "at" => case.at(value),
            "says" => case.says(value),
            "never" => case.never(value),
            "env" => {
                let (name, value) = value.split_once('=').expect("env: NAME=value");
                case.env(name, value)
            }
            _ => case,
        };
    }
    case
}

fn file_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for (folder, kind) in [
        ("definitions", Kind::Definitions),
        ("project", Kind::Project),
        ("profiles", Kind::Profiles),
    ] {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(corpus_dir().join(folder))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "yml"))
            .collect();
        paths.sort();
        cases.extend(paths.iter().map(|path| file_case(kind, path)));
    }
    cases
}

// ---------------------------------------------------------------------------------------
// Cases built in code: contents no text file should hold, or sizes

fn definitions(name: &str, content: impl Into<Vec<u8>>) -> Case {
    let content = content.into();
    Case::new(Kind::Definitions, name, move |root: &Path| {
        let project = sources_project(root);
        write(&project.join("segment-defs/case.yml"), &content);
        None
    })
}

fn built_definitions_cases() -> Vec<Case> {
    let mut cases = vec![
        definitions("NUL byte", b"segments:\n  - { name: a\0b }\n".to_vec())
            .at("segment-defs/case.yml:2:")
            .says("invalid YAML"),
        definitions("empty file", "").exit(0).says("valid"),
        definitions("blank lines only", "\n\n   \n\t\n")
            .exit(0)
            .says("valid"),
        definitions("escape sequence in a key", "\"\\e[2J\\e]0;title\\a\": 1\n")
            .at("segment-defs/case.yml:1:1")
            .says("unknown key `\\e[2J\\e]0;title\\a`")
            .never("\u{1b}"),
        definitions(
            "invalid UTF-8",
            b"segments:\n  - { name: caf\xe9 }\n".to_vec(),
        )
        .says("cannot read segment-defs/case.yml")
        .says("first invalid byte is at line 2, column 16"),
        definitions("Latin-1 file", b"# r\xe9sum\xe9\nsegments: []\n".to_vec())
            .says("first invalid byte is at line 1, column 4"),
        definitions(
            "byte-order mark at the start",
            "\u{feff}segments:\n  - { name: s, all: [ { country: { eq: DE } } ] }\n",
        )
        .exit(0)
        .says("valid"),
        definitions(
            "byte-order mark inside",
            "segments:\n  - \u{feff}{ name: s }\n",
        )
        .at("segment-defs/case.yml:2:")
        .says("invalid YAML"),
        definitions(
            "Windows line endings",
            "segments:\r\n  - { name: s, lable: x }\r\n",
        )
        .at("segment-defs/case.yml:2:16")
        .says("unknown key `lable`"),
        definitions("old Mac line endings", "segments:\r  - { name: s }\r")
            .exit(0)
            .says("valid"),
        // The line is quoted under the error, as for the other line ends.
        definitions(
            "old Mac line endings, a problem on line 2",
            "segments:\r  - { name: s, lable: x }\r",
        )
        .at("segment-defs/case.yml:2:16")
        .says("2 |   - { name: s, lable: x }"),
        definitions("two tabs as indentation", "segments:\n\t\t- { name: s }\n")
            .at("segment-defs/case.yml:2:1")
            .says("tabs"),
        definitions(
            "control character",
            "segments:\n  - { name: \"a\u{7}b\" }\n",
        )
        .at("segment-defs/case.yml:2:15")
        .says("unexpected character")
        .never("\u{7}"),
    ];
    // A megabyte name: the message quotes its start only.
    let long_name = "x".repeat(1 << 20);
    cases.push(
        definitions(
            "huge scalar",
            format!("segments:\n  - {{ name: {long_name} }}\n"),
        )
        .at("segment-defs/case.yml:2:13")
        .says("(1048576 characters)"),
    );
    // A long one-line file: the quoted line is cut around the error.
    let values: Vec<String> = (0..20_000).map(|n| format!("\"c{n}\"")).collect();
    let line = format!(
        "segments: [ {{ name: s, all: [ {{ country: {{ in: [{}] }} }} ], oops: 1 }} ]",
        values.join(", ")
    );
    let column = line.find("oops").unwrap() + 1;
    cases.push(
        definitions("long line", format!("{line}\n"))
            .at(&format!("segment-defs/case.yml:1:{column}"))
            .says("unknown key `oops`")
            .says("| …")
            .says(", \"c19999\"] } } ], oops: 1 } ]\n"),
    );
    // Nested anchors: each anchored list is kept once more, for its aliases.
    let mut nested = String::from("x: ");
    for level in 0..60 {
        nested.push_str(&format!("&a{level} ["));
    }
    nested.push_str(&vec!["1"; 60_000].join(","));
    nested.push_str(&"]".repeat(60));
    nested.push('\n');
    cases.push(
        definitions("anchored copies", nested)
            .at("segment-defs/case.yml:1:")
            .says("more than 3000000 YAML values"),
    );
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for (name, previous) in ["b", "c", "d", "e", "f", "g", "h", "i"]
        .iter()
        .zip(["a", "b", "c", "d", "e", "f", "g", "h"])
    {
        let aliases = vec![format!("*{previous}"); 10].join(", ");
        bomb.push_str(&format!("{name}: &{name} [{aliases}]\n"));
    }
    cases.push(
        definitions("alias bomb, 10 per level", bomb)
            .at("segment-defs/case.yml:5:20")
            .says("aliases copy more than 50000 values"),
    );
    cases.push(
        definitions(
            "deep flow nesting",
            format!("x: {}{}\n", "[".repeat(10_000), "]".repeat(10_000)),
        )
        .at("segment-defs/case.yml:1:")
        .says("nest more than 100 levels"),
    );
    let mut block = String::new();
    for level in 0..150 {
        block.push_str(&format!("{}k{level}:\n", "  ".repeat(level)));
    }
    cases.push(
        definitions("deep block nesting", block)
            .at("segment-defs/case.yml:101:201")
            .says("nest more than 100 levels"),
    );
    let keys: String = (0..5_000).map(|n| format!("key{n}: 1\n")).collect();
    cases.push(
        definitions("thousands of unknown keys", keys)
            .at("segment-defs/case.yml:1:1")
            .says("and 4800 more not shown")
            .says("5000 problems found"),
    );
    let terms = vec!["monthly_spend"; 10_000].join(" + ");
    cases.push(
        definitions(
            "formula of 10,000 terms",
            format!(
                "attributes:\n  monthly_spend: {{ source: orders, agg: sum, column: amount }}\n  total: {{ formula: \"{terms}\" }}\n"
            ),
        )
        .at("segment-defs/case.yml:3:3220")
        .says("more than 200 levels deep"),
    );
    cases.push(
        definitions(
            "formula in 10,000 parentheses",
            format!(
                "attributes:\n  x: {{ formula: \"{}1{}\" }}\n",
                "(".repeat(10_000),
                ")".repeat(10_000)
            ),
        )
        .at("segment-defs/case.yml:2:50")
        .says("more than 32 levels deep"),
    );
    let mut doubling = String::from("attributes:\n  f0: { source: events, agg: count }\n");
    for level in 1..40 {
        doubling.push_str(&format!(
            "  f{level}: {{ formula: \"f{} * f{} + 1\" }}\n",
            level - 1,
            level - 1
        ));
    }
    cases.push(
        definitions("formulas doubling at each step", doubling)
            .at("segment-defs/case.yml:14:")
            .says("formula of `f12` has more than 10000 parts"),
    );
    let mut chain = String::from("attributes:\n  f0: { source: events, agg: count }\n");
    for level in 1..5_000 {
        chain.push_str(&format!(
            "  f{level}: {{ formula: \"f{} - 1\" }}\n",
            level - 1
        ));
    }
    cases.push(
        definitions("5,000 formulas in a chain", chain)
            .at("segment-defs/case.yml:203:")
            .says("formula of `f201` is more than 400 levels deep"),
    );
    let mut segments =
        String::from("segments:\n  - { name: s0, all: [ { country: { eq: DE } } ] }\n");
    for level in 1..40 {
        segments.push_str(&format!(
            "  - {{ name: s{level}, any: [ {{ in_segment: s{} }}, {{ none: [ {{ in_segment: s{} }} ] }} ] }}\n",
            level - 1,
            level - 1
        ));
    }
    cases.push(
        definitions("segments doubling at each step", segments)
            .at("segment-defs/case.yml:16:13")
            .says("segment `s14` has more than 50000 parts"),
    );
    let mut parents = String::from("segments:\n  - { name: p0 }\n");
    for level in 1..3_000 {
        parents.push_str(&format!(
            "  - {{ name: p{level}, parent: p{} }}\n",
            level - 1
        ));
    }
    parents
        .push_str("  - { name: loop_a, parent: loop_b }\n  - { name: loop_b, parent: loop_a }\n");
    cases.push(
        definitions("3,000 segments in a parent chain, and a loop", parents)
            .at("segment-defs/case.yml:3002:")
            .says("segment `loop_a` is its own ancestor"),
    );
    let mut exclusive = String::from("segments:\n");
    for n in 0..3_000 {
        exclusive.push_str(&format!(
            "  - {{ name: e{n}, exclusive: tiers, priority: {}, all: [ {{ country: {{ eq: c{n} }} }} ] }}\n",
            n + 1
        ));
    }
    cases.push(
        definitions("an exclusive set of 3,000 segments", exclusive)
            .at("segment-defs/case.yml:1416:48")
            .says("exclusive set `tiers` repeats more than 1000000 conditions"),
    );
    cases
}

// ---------------------------------------------------------------------------------------
// Command lines, on the valid core fixture

fn command_line(args: &str) -> Case {
    Case::new(Kind::CommandLine, args, |root: &Path| {
        core_project(root);
        None
    })
    .args(args)
}

fn command_line_cases() -> Vec<Case> {
    let usage = |args: &str, says: &str| command_line(args).exit(2).says(says);
    vec![
        usage(
            "compile --dialect postgres --as-of 2024-13-01",
            "is not a date YYYY-MM-DD",
        ),
        usage(
            "compile --dialect postgres --as-of 2024-02-30",
            "is not a date YYYY-MM-DD",
        ),
        usage(
            "compile --dialect postgres --as-of yesterday",
            "is not a date YYYY-MM-DD",
        ),
        usage(
            "compile --dialect postgres --as-of 31.03.2024",
            "is not a date YYYY-MM-DD",
        ),
        // chrono alone reads these as 2024-01-01.
        usage(
            "compile --dialect postgres --as-of 2024-1-1",
            "is not a date YYYY-MM-DD",
        ),
        usage(
            "compile --dialect postgres --as-of +2024-01-01",
            "is not a date YYYY-MM-DD",
        ),
        usage(
            "compile --dialect postgres --period 2024-01-01..2024-2-01",
            "`2024-2-01` is not a date YYYY-MM-DD",
        ),
        usage(
            "run --grain month --from 2024-1 --to 2024-03",
            "is not a month",
        ),
        // Under --log-format json, the command line's error is a JSON line too.
        usage("--log-format json compile --bogus", "{\"event\":\"error\",")
            .says("unexpected argument '--bogus' found"),
        usage("compile --dialect postgres --as-of", "a value is required"),
        usage(
            "compile --dialect postgres --period 2024-01-01",
            "is not a period A..B",
        ),
        usage(
            "compile --dialect postgres --period 2024-02-01..2024-01-01",
            "ends before it starts",
        ),
        usage(
            "compile --dialect postgres --period 2024-01-01..2024-02-31",
            "is not a date",
        ),
        usage("compile --dialect postgres --period ..", "is not a date"),
        usage(
            "compile --dialect postgres --period 2024-01-01..2024-01-31 --as-of 2024-01-31",
            "cannot be used with",
        ),
        usage("compile --dialect postgres --grain month", "--from"),
        usage(
            "compile --dialect postgres --grain week --from 2024-01 --to 2024-02",
            "invalid value 'week'",
        ),
        usage(
            "compile --dialect postgres --grain month --from 2024-13 --to 2024-02",
            "is not a month",
        ),
        usage(
            "compile --dialect postgres --grain month --from 2024-01 --to 24-02",
            "`24-02` is not a month; write YYYY-MM",
        ),
        usage(
            "compile --dialect postgres --grain month --from 2024-05 --to 2024-01",
            "--from 2024-05 is after --to 2024-01",
        ),
        usage(
            "compile --dialect postgres --grain month --from 1900-01 --to 2100-12",
            "at most 120 months",
        ),
        usage("compile --dialect postgres --from 2024-01", "--grain"),
        usage(
            "compile --dialect postgres --grain month --from 2024-01 --to 2024-03 --compare prior_year",
            "cannot be used with",
        ),
        usage(
            "compile --dialect postgres --compare prior_decade",
            "invalid value 'prior_decade'",
        ),
        usage(
            "compile --dialect postgres --select nope",
            "--select names unknown segments: `nope`",
        ),
        usage(
            "compile --dialect postgres --select paying,nope,also_nope",
            "`also_nope`",
        ),
        usage(
            "compile --dialect postgres --kpis revenue_typo",
            "--kpis names unknown KPIs",
        ),
        usage("compile --dialect oracle", "unknown dialect `oracle`"),
        usage("compile --dialect ''", "unknown dialect"),
        usage(
            "compile --dialect postgres --target local",
            "cannot be used with",
        ),
        usage("run --output xml", "invalid value 'xml'"),
        usage("run --timeout soon", "invalid value 'soon'"),
        usage("frobnicate", "unrecognized subcommand 'frobnicate'"),
        usage(
            "validate --frobnicate",
            "unexpected argument '--frobnicate'",
        ),
        usage(
            "explain no_such_segment --dialect postgres",
            "unknown segment `no_such_segment`",
        ),
        // The years every warehouse holds: a day outside them is refused as it is read, and
        // a day whose SQL would need a time outside them (its end, a window's start) when
        // the SQL is written. The core fixture's windows reach 60 days back from the end.
        usage(
            "compile --dialect postgres --as-of 0000-12-31",
            "`0000-12-31` is outside 0001-01-01 to 9999-12-31",
        ),
        usage(
            "compile --dialect postgres --period 0001-01-01..+10000-01-01",
            "`+10000-01-01` is outside 0001-01-01 to 9999-12-31",
        ),
        usage(
            "compile --dialect postgres --grain month --from 0000-12 --to 0001-03",
            "`0000-12` is outside 0001-01-01 to 9999-12-31",
        ),
        usage(
            "compile --dialect postgres --as-of 9999-12-31",
            "the report needs the time +10000-01-01 00:00:00, outside 0001-01-01 to 9999-12-31",
        ),
        usage(
            "compile --dialect postgres --as-of 0001-02-28",
            "the report needs the time 0000-12-31 00:00:00, outside 0001-01-01 to 9999-12-31",
        ),
        usage(
            "compile --dialect postgres --period 0001-01-01..9999-12-31",
            "the report needs the time +10000-01-01 00:00:00",
        ),
        // The period's first day heads the report even where no literal needs it.
        usage(
            "compile --dialect postgres --as-of 0001-01-15 -k people",
            "the report needs the time 0000-12-17, outside 0001-01-01 to 9999-12-31",
        ),
        command_line("compile --dialect postgres --as-of 0001-03-01")
            .exit(0)
            .says("SELECT"),
        command_line("compile --dialect postgres --as-of 9999-12-30")
            .exit(0)
            .says("SELECT"),
        command_line("compile --dialect postgres --period 0001-01-01..9999-12-30")
            .exit(0)
            .says("SELECT"),
        command_line("compile --target nope").says("no profiles.yml found"),
        command_line("run --target nope").says("no profiles.yml found"),
        command_line("targets").exit(0),
        // A clock cannot count to every number of seconds (it panicked past 2^63 ns).
        usage(
            "run --timeout 18446744073709551615",
            "is not in 1..=31536000",
        ),
        usage(
            "targets --check local --timeout 9223372037",
            "is not in 1..=31536000",
        ),
        usage("sources --check --timeout 0", "is not in 1..=31536000"),
        usage("validate --project {root}/missing", "does not exist"),
        usage(
            "validate --project {root}/project/segc_project.yml",
            "is a file, not a folder; name the folder that holds segc_project.yml",
        ),
    ]
}

// ---------------------------------------------------------------------------------------
// File systems

fn file_system(
    name: &str,
    setup: impl Fn(&Path, &Path) -> Option<String> + Send + Sync + 'static,
) -> Case {
    Case::new(Kind::FileSystem, name, move |root: &Path| {
        let project = sources_project(root);
        setup(root, &project)
    })
}

fn mkfifo(path: &Path) -> Option<String> {
    match Command::new("mkfifo").arg(path).status() {
        Ok(status) if status.success() => None,
        _ => Some("mkfifo is not available".into()),
    }
}

fn symlink(target: impl AsRef<Path>, link: &Path) {
    std::os::unix::fs::symlink(target, link).unwrap();
}

/// Takes all permissions from `path`; a note when they do not stop reading (as root).
fn forbid(path: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o000)).unwrap();
    let readable = if path.is_dir() {
        std::fs::read_dir(path).is_ok()
    } else {
        std::fs::read(path).is_ok()
    };
    readable.then(|| "chmod 000 does not stop this user from reading (root)".to_string())
}

const VALID: &str = "segments:\n  - { name: from_germany, all: [ { country: { eq: DE } } ] }\n";

fn file_system_cases() -> Vec<Case> {
    vec![
        file_system("FIFO named *.yml", |_, project| {
            mkfifo(&project.join("segment-defs/pipe.yml"))
        })
        .says("cannot read segment-defs/pipe.yml: it is a named pipe (FIFO), not a regular file"),
        file_system("socket named *.yml", |_, project| {
            let path = project.join("segment-defs/socket.yml");
            std::os::unix::net::UnixListener::bind(&path).unwrap();
            None
        })
        .says("segment-defs/socket.yml: it is a socket"),
        file_system("link to a device", |_, project| {
            symlink("/dev/zero", &project.join("segment-defs/zero.yml"));
            None
        })
        .says("segment-defs/zero.yml: it is a device"),
        file_system("link to /dev/null", |_, project| {
            symlink("/dev/null", &project.join("segment-defs/null.yml"));
            None
        })
        .says("segment-defs/null.yml: it is a device"),
        file_system("file over 16 MiB", |_, project| {
            let file = std::fs::File::create(project.join("segment-defs/huge.yml")).unwrap();
            file.set_len(17 << 20).unwrap();
            None
        })
        .says("segment-defs/huge.yml: it holds 17825792 bytes, and segc reads at most 16 MiB"),
        file_system("definitions over 64 MiB in all", |_, project| {
            for n in 0..5 {
                let path = project.join(format!("segment-defs/part{n}.yml"));
                let file = std::fs::File::create(path).unwrap();
                file.set_len(15 << 20).unwrap();
            }
            None
        })
        .says("bytes, more than the 64 MiB segc reads in all"),
        file_system("dangling link", |_, project| {
            symlink("gone.yml", &project.join("segment-defs/dangling.yml"));
            None
        })
        .says("segment-defs/dangling.yml: it is a symbolic link to gone.yml, which does not exist"),
        file_system("link to itself", |_, project| {
            symlink("self.yml", &project.join("segment-defs/self.yml"));
            None
        })
        .says("cannot read segment-defs/self.yml"),
        file_system("link to the folder holding it", |_, project| {
            std::fs::create_dir(project.join("segment-defs/sub")).unwrap();
            symlink("..", &project.join("segment-defs/sub/up"));
            None
        })
        .says("the symbolic link segment-defs/sub/up leads back to segment-defs"),
        file_system("two loops", |_, project| {
            for name in ["a", "b"] {
                std::fs::create_dir(project.join("segment-defs").join(name)).unwrap();
                symlink("..", &project.join("segment-defs").join(name).join("x"));
                symlink("../..", &project.join("segment-defs").join(name).join("y"));
            }
            None
        })
        .says("segment-defs/a/x leads back")
        .says("segment-defs/b/y leads back"),
        file_system("twenty loops", |_, project| {
            for n in 0..20 {
                let folder = project.join(format!("segment-defs/f{n}"));
                std::fs::create_dir(&folder).unwrap();
                symlink("..", &folder.join("up"));
                symlink("../f0", &folder.join("first"));
            }
            None
        })
        .says("segment-defs/f19/up leads back")
        .says("leads to the same folder as segment-defs/f0"),
        file_system("two links to one folder", |root, project| {
            write(&root.join("shared/shared.yml"), VALID);
            symlink(root.join("shared"), &project.join("segment-defs/one"));
            symlink(root.join("shared"), &project.join("segment-defs/two"));
            None
        })
        .says("the symbolic link segment-defs/two leads to the same folder as segment-defs/one"),
        file_system("linked folder and file", |root, project| {
            write(&root.join("shared/shared.yml"), VALID);
            write(
                &root.join("elsewhere.yml"),
                "kpis:\n  - { name: people, agg: count }\n",
            );
            symlink(root.join("shared"), &project.join("segment-defs/shared"));
            symlink(
                root.join("elsewhere.yml"),
                &project.join("segment-defs/kpis.yml"),
            );
            None
        })
        .exit(0)
        .says("1 segments"),
        file_system("linked definitions folder", |root, project| {
            std::fs::rename(project.join("segment-defs"), root.join("real-defs")).unwrap();
            symlink(root.join("real-defs"), &project.join("segment-defs"));
            None
        })
        .exit(0)
        .says("valid"),
        file_system("link to the kernel's /proc", |_, project| {
            symlink("/proc/self/environ", &project.join("segment-defs/env.yml"));
            None
        })
        .says("cannot read segment-defs/env.yml: it is /proc/")
        .says("a file of the kernel's /proc file system, not a regular file"),
        file_system("link to a folder of /proc", |_, project| {
            symlink("/proc/self", &project.join("segment-defs/self"));
            None
        })
        .says("segment-defs/self is /proc/")
        .says("a folder of the kernel's file systems, not of definitions"),
        file_system("link to profiles.yml", |_, project| {
            write(
                &project.join("profiles.yml"),
                "local: { type: postgres, host: h, password: \"Wk3-linked-pw\" }\n",
            );
            symlink("../profiles.yml", &project.join("segment-defs/p.yml"));
            None
        })
        .says("segment-defs/p.yml is profiles.yml (")
        .says("which holds settings, not definitions")
        .never("Wk3-linked-pw"),
        file_system("hard link to profiles.yml", |_, project| {
            write(
                &project.join("profiles.yml"),
                "local: { type: postgres, host: h, password: \"Wk3-hard-pw\", port: 1234567 }\n",
            );
            std::fs::hard_link(
                project.join("profiles.yml"),
                project.join("segment-defs/hard.yml"),
            )
            .unwrap();
            None
        })
        .says("segment-defs/hard.yml is profiles.yml (")
        .never("1234567"),
        file_system("another project's profiles in the definitions", |root, project| {
            write(
                &root.join("other/profiles.yml"),
                "pg: { type: postgres, host: h, password: Wk3-other-pw, port: 7654321 }\n",
            );
            write(&root.join("other/segc_project.yml"), "name: other\n");
            symlink(root.join("other"), &project.join("segment-defs/other"));
            None
        })
        .says("segment-defs/other/profiles.yml is named profiles.yml, which holds settings")
        .says("segment-defs/other/segc_project.yml is named segc_project.yml")
        .never("7654321"),
        // Masked before any target is chosen, whatever the case a message quotes it in.
        file_system("a definitions file quotes a profile's password", |_, project| {
            write(
                &project.join("profiles.yml"),
                "local: { type: postgres, host: h, password: \"Wk3-quoted-pw\" }\n",
            );
            write(
                &project.join("segment-defs/x.yml"),
                "bogus: \"Wk3-quoted-pw\"\nwk3-QUOTED-pw: 1\n",
            );
            None
        })
        .says("unknown key `bogus`")
        .never("Wk3-quoted-pw")
        .never("QUOTED"),
        file_system("a definitions file quotes a flawed target's password", |_, project| {
            write(
                &project.join("profiles.yml"),
                "local: { type: postgres, host: h, password: \"Wk3-flawed-pw\", bogus: 1 }\n",
            );
            write(&project.join("segment-defs/x.yml"), "bogus: \"Wk3-flawed-pw\"\n");
            None
        })
        .says("unknown key `bogus`")
        .never("Wk3-flawed-pw"),
        // A long line is cut around the error: the cut must not leave a secret's start.
        file_system("a long line quotes a long password", |_, project| {
            let long = format!("Wk3{}", "qrstuvwxyz".repeat(30));
            write(
                &project.join("profiles.yml"),
                format!("local: {{ type: postgres, host: h, password: \"{long}\" }}\n"),
            );
            write(
                &project.join("segment-defs/x.yml"),
                format!("bogus: \"{long}\"\n"),
            );
            None
        })
        .says("unknown key `bogus`")
        .never("Wk3qrstuvwxyz"),
        file_system("a definitions file quotes an env_var password", |_, project| {
            write(
                &project.join("profiles.yml"),
                "local: { type: postgres, host: h, password: \"{{ env_var('SEGC_CORPUS_PW') }}\" }\n",
            );
            write(&project.join("segment-defs/x.yml"), "bogus: \"WK3-ENV-PW\"\n");
            None
        })
        .env("SEGC_CORPUS_PW", "Wk3-env-pw")
        .says("unknown key `bogus`")
        .never("WK3-ENV-PW"),
        file_system("definitions folder is the project folder", |_, project| {
            write(
                &project.join("profiles.yml"),
                "local: { type: postgres, host: h, password: \"Wk3-root-pw\" }\n",
            );
            std::fs::write(
                project.join("segc_project.yml"),
                "name: corpus\ndefinitions: .\n",
            )
            .unwrap();
            None
        })
        .exit(0)
        .says("valid"),
        file_system("profiles.yml names a target twice", |_, project| {
            write(
                &project.join("profiles.yml"),
                "local: { type: duckdb, path: a.duckdb }\nlocal: { type: duckdb, path: b.duckdb }\n",
            );
            None
        })
        .args("targets")
        .at("profiles.yml:2:1")
        .says("`local` is written twice in profiles.yml")
        .says("the first is at line 1"),
        file_system("profiles.yml sets a key twice", |_, project| {
            write(
                &project.join("profiles.yml"),
                "pg:\n  type: postgres\n  port: 5432\n  port: 1\n",
            );
            None
        })
        .args("compile --target pg")
        .at("profiles.yml:4:3")
        .says("`port` is written twice in target `pg`"),
        file_system("definitions folder of over 100,000 entries", |_, project| {
            for folder in 0..101 {
                let folder = project.join(format!("segment-defs/data/{folder:03}"));
                std::fs::create_dir_all(&folder).unwrap();
                for file in 0..1000 {
                    std::fs::File::create(folder.join(format!("{file}.csv"))).unwrap();
                }
            }
            None
        })
        .says("the definitions folder holds more than 100000 files and folders; segc stopped looking at segment-defs/data/"),
        file_system("folder named x.yml", |_, project| {
            write(&project.join("segment-defs/x.yml/inside.yml"), VALID);
            None
        })
        .exit(0)
        .says("1 segments"),
        file_system("empty folder named x.yml", |_, project| {
            std::fs::create_dir(project.join("segment-defs/x.yml")).unwrap();
            None
        })
        .exit(0),
        file_system("unreadable file", |_, project| {
            let path = project.join("segment-defs/secret.yml");
            std::fs::write(&path, VALID).unwrap();
            forbid(&path)
        })
        .says("cannot read segment-defs/secret.yml: Permission denied"),
        file_system("unreadable folder", |_, project| {
            let folder = project.join("segment-defs/locked");
            write(&folder.join("inside.yml"), VALID);
            forbid(&folder)
        })
        .says("cannot read the folder segment-defs/locked"),
        file_system("definitions folder is a file", |_, project| {
            std::fs::remove_dir_all(project.join("segment-defs")).unwrap();
            std::fs::write(project.join("segment-defs"), VALID).unwrap();
            None
        })
        .at("segc_project.yml:2:14")
        .says("the definitions folder `segment-defs` is a file, not a folder"),
        file_system("definitions folder missing", |_, project| {
            std::fs::remove_dir_all(project.join("segment-defs")).unwrap();
            None
        })
        .at("segc_project.yml:2:14")
        .says("the definitions folder `segment-defs` does not exist"),
        file_system("default definitions folder missing", |_, project| {
            std::fs::remove_dir_all(project.join("segment-defs")).unwrap();
            std::fs::write(project.join("segc_project.yml"), "name: corpus\n").unwrap();
            None
        })
        .says("the definitions folder `segment-defs` does not exist")
        .says("create it, or set `definitions:`"),
        file_system("project file is a folder", |_, project| {
            std::fs::remove_file(project.join("segc_project.yml")).unwrap();
            std::fs::create_dir(project.join("segc_project.yml")).unwrap();
            None
        })
        .says("segc_project.yml: it is a folder, not a regular file"),
        file_system("project file is a FIFO", |_, project| {
            std::fs::remove_file(project.join("segc_project.yml")).unwrap();
            mkfifo(&project.join("segc_project.yml"))
        })
        .says("segc_project.yml: it is a named pipe (FIFO)"),
        file_system("project file is a dangling link", |_, project| {
            std::fs::remove_file(project.join("segc_project.yml")).unwrap();
            symlink("nowhere.yml", &project.join("segc_project.yml"));
            None
        })
        .says("it is a symbolic link to nowhere.yml, which does not exist"),
        file_system("project file unreadable", |_, project| {
            forbid(&project.join("segc_project.yml"))
        })
        .says("Permission denied"),
        file_system("project file is a link to a device", |_, project| {
            std::fs::remove_file(project.join("segc_project.yml")).unwrap();
            symlink("/dev/zero", &project.join("segc_project.yml"));
            None
        })
        .says("segc_project.yml: it is a device"),
        file_system("no project file", |_, project| {
            std::fs::remove_file(project.join("segc_project.yml")).unwrap();
            None
        })
        .exit(2)
        .says("no segc_project.yml in"),
        file_system("profiles.yml over 16 MiB", |_, project| {
            write(&project.join("profiles.yml"), "local: { type: duckdb }\n");
            let file = std::fs::OpenOptions::new()
                .append(true)
                .open(project.join("profiles.yml"))
                .unwrap();
            file.set_len(17 << 20).unwrap();
            None
        })
        .args("targets")
        .says("profiles.yml: it holds 17825792 bytes"),
        file_system("profiles.yml is a FIFO", |_, project| {
            mkfifo(&project.join("profiles.yml"))
        })
        .args("compile --target local")
        .says("no profiles.yml found"),
        file_system("profiles.yml is not UTF-8", |_, project| {
            write(
                &project.join("profiles.yml"),
                b"local: { type: duckdb, path: \xff }\n",
            );
            None
        })
        .args("targets")
        .says("first invalid byte is at line 1, column 30"),
        file_system("a target's name holds a line end and an escape", |_, project| {
            write(
                &project.join("profiles.yml"),
                "\"evil\\nerror: fake\\e[31m\": { type: duckdb, path: \"a\\u001b]0;x\\u0007.duckdb\" }\n",
            );
            None
        })
        .args("targets")
        .exit(0)
        .says("evil\\nerror: fake\\e[31m (duckdb): path: a\\e]0;x\\a.duckdb")
        .never("\u{1b}")
        .never("\nerror: fake"),
    ]
}

// ---------------------------------------------------------------------------------------

fn all_cases() -> Vec<Case> {
    let mut cases = file_cases();
    cases.extend(built_definitions_cases());
    cases.extend(command_line_cases());
    cases.extend(file_system_cases());
    cases
}

#[test]
fn bad_input_fails_cleanly_located_and_bounded() {
    let cases = all_cases();
    let started = Instant::now();
    let report = run_all(&cases);
    let mut counts: BTreeMap<Kind, usize> = BTreeMap::new();
    for case in &cases {
        *counts.entry(case.kind).or_default() += 1;
    }
    let counts: Vec<String> = counts.iter().map(|(k, n)| format!("{k:?} {n}")).collect();
    println!(
        "bad input corpus: {} cases ({}), {} skipped, {} failed, in {:.1?}",
        cases.len(),
        counts.join(", "),
        report.notes.len(),
        report.failures.len(),
        started.elapsed()
    );
    if let Some((name, time)) = &report.slowest {
        println!("  slowest: {name} ({time:.2?})");
    }
    if let Some((name, peak)) = &report.largest {
        println!("  most memory: {name} ({} MB)", peak / 1024);
    }
    for note in &report.notes {
        println!("  skipped: {note}");
    }
    assert!(cases.len() >= 120, "the corpus has {} cases", cases.len());
    assert!(report.failures.is_empty(), "{}", report.failures.join("\n"));
}

/// The checks can fail: a case run with a wrong exit code, a wrong location (one column
/// off, or a prefix of the real one) or a missing fragment is reported.
#[test]
fn a_wrong_expectation_is_reported() {
    let prlimit = prlimit_available();
    let right = || {
        definitions("unknown key", "segments:\n  - { name: s, lable: x }\n")
            .at("segment-defs/case.yml:2:16")
            .says("unknown key `lable`")
    };
    let check = |case: Case| {
        let dir = tempfile::tempdir().unwrap();
        assert!((case.setup)(dir.path()).is_none());
        let outcome = run(&case, dir.path(), prlimit);
        problems(&case, &outcome)
    };
    assert_eq!(check(right()), Vec::<String>::new());
    let wrong = [
        right().exit(0),
        right().exit(2),
        right().at("segment-defs/case.yml:2:17"),
        right().at("segment-defs/case.yml:2:1"),
        right().says("unknown key `label`"),
        right().never("lable"),
    ];
    for case in wrong {
        let found = check(case);
        assert_eq!(found.len(), 1, "{found:?}");
    }
}
