//! The command line: arguments → a resolved invocation → the library. One file per command.

pub mod artifacts;
#[cfg(feature = "duckdb")]
pub mod bench_data;
pub mod compile;
pub mod explain;
pub mod init;
pub mod list;
pub mod materialize;
pub mod overlap;
pub mod progress;
pub mod run;
pub mod snapshot;
pub mod sources;
pub mod targets;
pub mod validate;

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::error::Error;

/// segc compiles YAML segment and KPI definitions into one SQL statement per report, runs it
/// inside your warehouse, and prints a segment × KPI table.
#[derive(Debug, Parser)]
#[command(name = "segc", version, about, long_about = None, propagate_version = true)]
#[command(after_help = "Start with `segc init my-project && cd my-project && segc run`.")]
pub struct Cli {
    /// The project folder (holding segc_project.yml).
    #[arg(long, global = true, value_name = "DIR", default_value = ".")]
    pub project: PathBuf,
    /// Where profiles.yml lives (default: $SEGC_PROFILES_DIR, then the project folder, then ~/.segc).
    #[arg(long, global = true, value_name = "DIR")]
    pub profiles_dir: Option<PathBuf>,
    /// How to log on stderr: `text` for people, or `json`, one JSON object per line for each
    /// step (start, validated, compiled, query sent and finished, finished or error), for
    /// schedulers that collect logs.
    #[arg(long, global = true, value_enum, value_name = "FORMAT", default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse and check the project; report every problem with file:line:col. Exit 1 when invalid.
    Validate,
    /// Print the SQL for a target (from profiles.yml) or a dialect (no profile needed).
    Compile(compile::CompileArgs),
    /// Run the report in the warehouse and print the segment × KPI table.
    Run(run::RunArgs),
    /// Create a new project in DIR; --demo adds sample definitions and a DuckDB database.
    Init(init::InitArgs),
    /// Count the users passing each condition of a segment, in order and cumulatively.
    Explain(explain::ExplainArgs),
    /// Count the users each pair of segments shares (computed in the warehouse).
    Overlap(overlap::OverlapArgs),
    /// Record who is in each segment, day by day, as intervals in the warehouse.
    Snapshot(snapshot::SnapshotArgs),
    /// List the targets of profiles.yml (secrets masked), or check one with --check.
    Targets(targets::TargetsArgs),
    /// Show each source column's declared and snapshot type; --refresh reads the types from
    /// the target's catalog into warehouse_schema.yml.
    Sources(sources::SourcesArgs),
    /// List segments, KPIs and attributes with their labels, file:line and descriptions.
    #[command(
        after_help = "Examples:\n  segc list                 # everything\n  segc list active          # names or labels containing `active`, any case\n  segc list '*_30d'         # a glob over the whole name or label\n  segc list -o json         # for scripts and editors"
    )]
    List(list::ListArgs),
    /// Write the benchmarks' synthetic warehouse (the example project's tables) at any size
    /// into a new DuckDB file.
    #[cfg(feature = "duckdb")]
    #[command(
        name = "bench-data",
        after_help = "Examples:\n  segc bench-data --users 1000000                  # target/bench-1000000.duckdb\n  segc bench-data --users 200000 -o /data/b.duckdb\nThe same data is what `cargo bench --bench run -- fanout N` measures on."
    )]
    BenchData(bench_data::BenchDataArgs),
    /// Print the JSON Schema of segc_project.yml and the definitions files (for editors).
    #[command(
        after_help = "Examples:\n  segc schema > segc.schema.json\nthen start a YAML file with\n  # yaml-language-server: $schema=segc.schema.json\n(`segc init` does both for a new project)."
    )]
    Schema,
    /// Print shell completions for SHELL (bash, zsh, fish, elvish, powershell).
    #[command(
        after_help = "Examples:\n  segc completions bash > ~/.local/share/bash-completion/completions/segc\n  segc completions zsh > ~/.zfunc/_segc      # with fpath+=~/.zfunc before compinit\n  segc completions fish > ~/.config/fish/completions/segc.fish"
    )]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Where a command that queries runs: shared by `run` and `overlap`.
#[derive(Debug, Clone, Args)]
pub struct WarehouseArgs {
    /// A target of profiles.yml (default: the project's `default_target`).
    #[arg(long, short = 't')]
    pub target: Option<String>,
    /// Cancel the query in the warehouse if it runs longer than this many seconds (1 to
    /// 31536000, a year).
    #[arg(long, value_name = "SECONDS", value_parser = timeout_seconds())]
    pub timeout: Option<u64>,
}

/// The longest `--timeout` (a year): a limit past it is no limit, and a clock cannot count
/// to every number of seconds.
pub const LONGEST_TIMEOUT: u64 = 365 * 24 * 3600;

/// Reads a `--timeout`: a whole number of seconds from 1 to [`LONGEST_TIMEOUT`].
pub fn timeout_seconds() -> clap::builder::RangedU64ValueParser<u64> {
    clap::value_parser!(u64).range(1..=LONGEST_TIMEOUT)
}

impl WarehouseArgs {
    /// The driver options: the timeout, and events reported to `events`.
    pub fn options(&self, events: crate::events::EventSink) -> crate::driver::RunOptions {
        crate::driver::RunOptions {
            timeout: self.timeout.map(std::time::Duration::from_secs),
            events,
            ..run_options()
        }
    }
}

/// What to report: shared by `compile` and `run`.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// Report only these segments (and the all_users row first), in the order given; a
    /// drill-down selected with its parent stays under it. Repeat, or separate with commas or
    /// spaces.
    /// `SEGMENT+` also reports its drill-downs: its children, their children, and so on
    /// (`--select paying+`).
    #[arg(long, short = 's', value_name = "SEGMENT", value_delimiter = ',', num_args = 1..)]
    pub select: Vec<String>,
    /// Report only these KPIs, in the order given (the KPIs a ratio or share divides are
    /// computed but not shown). Repeat, or separate with commas or spaces: `-k revenue,people`.
    #[arg(long, short = 'k', value_name = "KPI", value_delimiter = ',', num_args = 1..)]
    pub kpis: Vec<String>,
    /// The report's day, YYYY-MM-DD: data up to the end of that day counts (default: the
    /// project's `as_of`, else yesterday, the last complete day in the project's time zone).
    #[arg(long, value_name = "DATE", value_parser = parse_day)]
    pub as_of: Option<NaiveDate>,
    /// The period for `window: period` attributes, A..B (both days included); sets --as-of to B.
    #[arg(long, value_name = "A..B", value_parser = parse_period, conflicts_with = "as_of")]
    pub period: Option<(NaiveDate, NaiveDate)>,
    /// Also compute every KPI for an earlier period (as of that period's end), with the
    /// absolute and relative change (a percent KPI's change in percentage points, `pp`):
    /// `prior_year` (the same days a year earlier) or `prior_period` (the period of the same
    /// length just before).
    #[arg(long, value_enum, value_name = "WHAT")]
    pub compare: Option<CompareArg>,
    /// One report per month (each as of the month's last day), from --from to --to, in one
    /// statement.
    #[arg(long, value_enum, requires_all = ["from", "to"], conflicts_with_all = ["compare", "as_of", "period"])]
    pub grain: Option<GrainArg>,
    /// The first month of a --grain run, YYYY-MM.
    #[arg(long, value_name = "YYYY-MM", value_parser = parse_month, requires = "grain")]
    pub from: Option<NaiveDate>,
    /// The last month of a --grain run, YYYY-MM.
    #[arg(long, value_name = "YYYY-MM", value_parser = parse_month, requires = "grain")]
    pub to: Option<NaiveDate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompareArg {
    #[value(name = "prior_year")]
    PriorYear,
    #[value(name = "prior_period")]
    PriorPeriod,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GrainArg {
    Month,
}

/// A month, `YYYY-MM`, as its first day.
fn parse_month(text: &str) -> Result<NaiveDate, String> {
    let refused = || format!("`{text}` is not a month; write YYYY-MM");
    if !crate::validate::digits_shaped(text, "dddd-dd") {
        return Err(refused());
    }
    NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d")
        .map_err(|_| refused())
        .and_then(|month| within_years(text, month))
}

/// Refuses a statement longer than the warehouse accepts, before it is sent, saying what
/// makes a report shorter.
pub fn check_statement_size(dialect: &crate::dialect::Dialect, sql: &str) -> Result<(), Error> {
    match dialect.exceeded_statement_limit(sql) {
        Some(limit) => Err(Error::Usage(format!(
            "the report compiles to {} of SQL, and {} accepts at most {}: report fewer months \
             (--from/--to), fewer KPIs (--kpis) or fewer segments (--select)",
            compile::human_bytes(sql.len() as u64),
            dialect.name,
            compile::human_bytes(limit as u64)
        ))),
        None => Ok(()),
    }
}

impl ReportArgs {
    pub fn options(&self) -> crate::plan::ReportOptions {
        crate::plan::ReportOptions {
            as_of: self.as_of,
            period: self.period,
            select: self.select.clone(),
            kpis: self.kpis.clone(),
        }
    }

    /// What was asked for: a report, a report and its comparison, or one per month.
    pub fn request(&self) -> crate::plan::Request {
        use crate::plan::Compare;
        crate::plan::Request {
            options: self.options(),
            compare: self.compare.map(|compare| match compare {
                CompareArg::PriorYear => Compare::PriorYear,
                CompareArg::PriorPeriod => Compare::PriorPeriod,
            }),
            months: match (self.grain, self.from, self.to) {
                (Some(GrainArg::Month), Some(from), Some(to)) => Some((from, to)),
                _ => None,
            },
        }
    }

    /// Plans what was asked for (see [`crate::plan::reports`]).
    pub fn plan<'p>(
        &self,
        project: &'p crate::ir::Project,
    ) -> Result<crate::plan::Reports<'p>, Error> {
        crate::plan(project, &self.request())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Whether stderr carries JSON events (`--log-format json`), for the whole process.
static LOG_JSON: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// True when the command line was asked for `--log-format json`.
pub fn log_json() -> bool {
    LOG_JSON.load(std::sync::atomic::Ordering::Relaxed)
}

/// Prints `event` on stderr as one line of JSON: `{"event", "at", "run_id", …its fields}`.
pub fn print_event(event: &crate::events::Event) {
    to_stderr(&event_line(event).to_string());
}

/// Writes `line` and a newline on stderr. A log that cannot be written (`2>/dev/full`, a
/// closed pipe) is lost, not the run: the report, the exit code and run_results.json still
/// tell what happened.
fn to_stderr(line: &str) {
    use std::io::Write;
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{line}");
}

/// The JSON line [`print_event`] prints.
pub fn event_line(event: &crate::events::Event) -> serde_json::Value {
    let mut line = serde_json::Map::new();
    line.insert("event".into(), event.name.into());
    let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    line.insert("at".into(), at.into());
    line.insert("run_id".into(), crate::run_id().into());
    line.extend(event.fields.clone());
    let mut line = serde_json::Value::Object(line);
    crate::error::redact_json(&mut line);
    line
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Csv,
    Json,
    Html,
}

pub(crate) fn parse_day(text: &str) -> Result<NaiveDate, String> {
    let refused = || format!("`{text}` is not a date YYYY-MM-DD");
    let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| refused())?;
    // A year past 9999 is named as such; any other shape than YYYY-MM-DD is refused.
    let day = within_years(text, day)?;
    if !crate::validate::digits_shaped(text, "dddd-dd-dd") {
        return Err(refused());
    }
    Ok(day)
}

/// A day of the years every warehouse holds, 0001 to 9999 (the report's SQL refuses any
/// other time it would need too, a window's start or a day's end).
fn within_years(text: &str, day: NaiveDate) -> Result<NaiveDate, String> {
    match crate::ir::time::within_years(day) {
        true => Ok(day),
        false => Err(format!(
            "`{text}` is outside 0001-01-01 to 9999-12-31, the only days every warehouse holds"
        )),
    }
}

fn parse_period(text: &str) -> Result<(NaiveDate, NaiveDate), String> {
    let (first, last) = text
        .split_once("..")
        .ok_or_else(|| format!("`{text}` is not a period A..B"))?;
    let (first, last) = (parse_day(first)?, parse_day(last)?);
    if first > last {
        return Err(format!("the period {first}..{last} ends before it starts"));
    }
    Ok((first, last))
}

/// The as-of day when none is asked for: the last complete day in the project's time zone,
/// by the system clock. The only place a command reads the clock.
pub fn default_as_of(time_zone: &str) -> Result<NaiveDate, Error> {
    crate::plan::last_complete_day(time_zone, chrono::Utc::now())
}

/// Prints a command's error on stderr: validation's problems as they are (each `error: …`
/// with its location and the lines it points at), others wrapped to a terminal's width.
pub fn print_error(error: &Error) {
    match error {
        Error::Invalid(_) => to_stderr(&crate::terminal::printable_lines(&crate::error::redact(
            &error.to_string(),
        ))),
        _ => to_stderr(&for_stderr(&format!("error: {error}"))),
    }
}

/// Prints the message for a command line clap refused (or `--help`, `--version`) and returns
/// the exit code: 2 for an error, 0 otherwise. A message quoting an argument that holds
/// control characters is printed escaped and without colours; clap's uncoloured text would
/// drop a whole escape sequence, so the message is rendered again with plain styles, which
/// leave the arguments' own characters as the only ones to escape.
pub fn print_command_line_error(error: clap::Error) -> i32 {
    use clap::CommandFactory;
    let code = if error.use_stderr() { 2 } else { 0 };
    // `--log-format json` promises one JSON object per line on stderr: the command line's
    // error too, though the rest of the line could not be read.
    if error.use_stderr() && asks_for_json_logs(std::env::args_os().skip(1)) {
        let plain = error.render().to_string();
        let event = crate::events::Event::new("error")
            .with("message", plain.trim_end().to_string())
            .with("exit_code", code);
        print_event(&event);
        return code;
    }
    let plain = Cli::command()
        .styles(clap::builder::Styles::plain())
        .try_get_matches()
        .err()
        .map(|plain| plain.render().ansi().to_string());
    match plain.as_deref().map(crate::terminal::printable_lines) {
        Some(std::borrow::Cow::Owned(escaped)) if error.use_stderr() => eprint!("{escaped}"),
        Some(std::borrow::Cow::Owned(escaped)) => print!("{escaped}"),
        _ => {
            // `--help` and `--version` on a full disk: an error, as for any other output. A
            // reader that stopped early (`segc --help | head`) read what it wanted.
            if let Err(failure) = error.print() {
                if failure.kind() == std::io::ErrorKind::BrokenPipe {
                    return code;
                }
                eprintln!("error: cannot write to standard output: {failure}");
                return 1;
            }
        }
    }
    code
}

/// Whether the command writes the benchmarks' data (built with the embedded engine only).
fn is_bench_data(command: &Command) -> bool {
    #[cfg(feature = "duckdb")]
    if let Command::BenchData(_) = command {
        return true;
    }
    let _ = command;
    false
}

/// Whether a command line, however wrong otherwise, asks for `--log-format json`.
fn asks_for_json_logs(args: impl Iterator<Item = std::ffi::OsString>) -> bool {
    let args: Vec<String> = args.map(|a| a.to_string_lossy().into_owned()).collect();
    args.iter().enumerate().any(|(at, arg)| {
        arg == "--log-format=json"
            || (arg == "--log-format" && args.get(at + 1).is_some_and(|next| next == "json"))
    })
}

/// The process exit code of an error: 2 for a bad command line or a request that cannot be
/// done (unknown names, reversed periods), 130 after Ctrl-C (143 after SIGTERM), 1 otherwise.
/// 3 is reserved for "ran, wrote nothing new" (a future `--materialize`); nothing returns it.
pub fn exit_code(error: &Error) -> i32 {
    match error {
        _ if reader_left(error) => BROKEN_PIPE,
        Error::Usage(_) | Error::Request(_) => 2,
        Error::Interrupted(_) => crate::driver::cancel::exit_code(),
        _ => 1,
    }
}

/// The exit code of a process whose reader went away (128 + SIGPIPE), as a shell reports it.
pub const BROKEN_PIPE: i32 = 141;

/// Whether `error` is the output's reader gone (`segc run | head -1`, or a named pipe as
/// `--out` whose reader closed it): the process ends
/// quietly with [`BROKEN_PIPE`], as SIGPIPE ends a C program (a JSON log still ends with the
/// error event, and run_results.json records it).
pub fn reader_left(error: &Error) -> bool {
    // Standard output, or an `--out` that is a pipe (a named pipe, `/dev/stdout`): only a
    // pipe or a socket, whose reader left, fails a write so.
    matches!(error, Error::Write { source, .. }
        if source.kind() == std::io::ErrorKind::BrokenPipe)
}

/// Writes `bytes` to standard output, a failure as an error naming it.
pub fn write_stdout(bytes: &[u8]) -> Result<(), Error> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|source| Error::Write {
            path: "standard output".into(),
            source,
        })
}

/// Runs a parsed command line; returns the process exit code.
pub fn execute(cli: Cli) -> Result<i32, Error> {
    LOG_JSON.store(
        cli.log_format == LogFormat::Json,
        std::sync::atomic::Ordering::Relaxed,
    );
    let root = cli.project.as_path();
    crate::driver::cancel::report_to(events());
    // A folder named for the profiles must hold them: falling back to other profiles could
    // reach another warehouse.
    let env_dir = std::env::var_os("SEGC_PROFILES_DIR").filter(|d| !d.is_empty());
    let named = match (&cli.profiles_dir, &env_dir) {
        (Some(dir), _) => Some((
            "--profiles-dir",
            dir.clone(),
            "leave the option out to use $SEGC_PROFILES_DIR, the project folder or ~/.segc",
        )),
        (None, Some(dir)) => Some((
            "$SEGC_PROFILES_DIR",
            PathBuf::from(dir),
            "unset the variable to use the project folder or ~/.segc",
        )),
        (None, None) => None,
    };
    // Only where profiles are read: `schema`, `completions`, `init`, `list`, `validate` and
    // `bench-data` reach no warehouse, and a job's environment must not fail them.
    let reads_profiles = !matches!(
        cli.command,
        Command::Validate
            | Command::Init(_)
            | Command::List(_)
            | Command::Schema
            | Command::Completions { .. }
    ) && !is_bench_data(&cli.command);
    if let Some((what, dir, otherwise)) = named.filter(|_| reads_profiles) {
        let file = dir.join(crate::spec::profiles::PROFILES_FILE);
        if !file.is_file() {
            let problem = if dir.is_dir() {
                format!("there is no file {}", file.display())
            } else {
                format!("the folder {} does not exist", dir.display())
            };
            return Err(Error::Usage(format!(
                "{what}: {problem}; name the folder that holds profiles.yml, or {otherwise}"
            )));
        }
    }
    // Before any file is read: a definitions file, a link or a message may quote a secret
    // before a target is chosen.
    crate::spec::profiles::register_secrets(cli.profiles_dir.as_deref(), root);
    match cli.command {
        Command::Validate => validate::execute(root),
        Command::Compile(args) => compile::execute(root, cli.profiles_dir.as_deref(), &args),
        Command::Run(args) => run::execute(root, cli.profiles_dir.as_deref(), &args),
        Command::Init(args) => init::execute(root, &args),
        Command::Explain(args) => explain::execute(root, cli.profiles_dir.as_deref(), &args),
        Command::Overlap(args) => overlap::execute(root, cli.profiles_dir.as_deref(), &args),
        Command::Snapshot(args) => snapshot::execute(root, cli.profiles_dir.as_deref(), &args),
        Command::Targets(args) => targets::execute(root, cli.profiles_dir.as_deref(), &args),
        Command::Sources(args) => sources::execute(root, cli.profiles_dir.as_deref(), &args),
        Command::List(args) => list::execute(root, &args),
        #[cfg(feature = "duckdb")]
        Command::BenchData(args) => bench_data::execute(root, &args),
        Command::Schema => {
            print!("{}", crate::spec::SCHEMA);
            Ok(0)
        }
        Command::Completions { shell } => {
            use clap::CommandFactory;
            // Into memory first: clap_complete panics when its writer fails (a full disk).
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "segc", &mut script);
            write_stdout(&script)?;
            Ok(0)
        }
    }
}

/// How the command line shows the library's warnings and progress: each message on its own
/// line of stderr, with its control characters escaped; with `--log-format json`, each
/// message and each step as a line of JSON (see [`print_event`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Terminal;

impl crate::events::Events for Terminal {
    fn warn(&self, message: &str) {
        match log_json() {
            true => print_event(&crate::events::Event::new("warning").with("message", message)),
            false => to_stderr(&for_stderr(message)),
        }
    }

    fn progress(&self, message: &str) {
        match log_json() {
            true => print_event(&crate::events::Event::new("progress").with("message", message)),
            false => to_stderr(&for_stderr(message)),
        }
    }

    fn record(&self, event: &crate::events::Event) {
        if log_json() {
            print_event(event);
        }
    }
}

/// A message for stderr: control characters escaped, and on a terminal wrapped to its width.
pub fn for_stderr(message: &str) -> String {
    let message = crate::error::redact(message);
    let text = crate::terminal::printable_lines(&message);
    match crate::terminal::stderr_width() {
        Some(width) => crate::terminal::wrap(&text, width),
        None => text.into_owned(),
    }
}

/// The command line's receiver of the library's warnings and progress.
pub fn events() -> crate::events::EventSink {
    crate::events::EventSink::new(Terminal)
}

/// Driver options that report to the terminal.
pub fn run_options() -> crate::driver::RunOptions {
    crate::driver::RunOptions {
        events: events(),
        ..Default::default()
    }
}

pub use crate::session::Target as Resolved;

/// The driver opened while loading the project (to read the catalog), else a new one to the
/// target.
pub(crate) fn reuse_or_open(
    driver: Option<Box<dyn crate::driver::Driver>>,
    target: &Resolved,
    options: crate::driver::RunOptions,
    root: &std::path::Path,
) -> Result<Box<dyn crate::driver::Driver>, Error> {
    match driver {
        Some(driver) => Ok(driver),
        None => crate::driver::open(&target.profile, options, root),
    }
}

/// A plan of who is in each segment (no KPIs), for `overlap` and `sources --check`, with
/// `run`'s default day.
pub(crate) fn membership_plan<'p>(
    project: &'p crate::ir::Project,
    options: &crate::plan::ReportOptions,
) -> Result<crate::plan::Plan<'p>, Error> {
    let default_day = default_as_of(&project.time_zone)?;
    crate::plan::Plan::membership(project, options, default_day)
}

/// The target named by `flag`, else the project's `default_target`, resolved; warnings
/// (a profiles file others can read) go to the terminal.
pub fn resolve(
    root: &std::path::Path,
    profiles_dir: Option<&std::path::Path>,
    flag: Option<&str>,
    project: &crate::ir::Project,
) -> Result<Resolved, Error> {
    crate::session::resolve(root, profiles_dir, flag, project, &events())
}

/// Target `target`, resolved (see [`crate::session::resolve_target`]).
pub fn resolve_target(
    root: &std::path::Path,
    profiles_dir: Option<&std::path::Path>,
    target: String,
) -> Result<Resolved, Error> {
    crate::session::resolve_target(root, profiles_dir, target, &events())
}

/// Loads and validates the project for a command that connects to a target, learning
/// missing column types from its catalog (see [`crate::session::load_live`]).
pub(crate) fn validate_live(
    root: &std::path::Path,
    profiles_dir: Option<&std::path::Path>,
    target_flag: Option<&str>,
    options: crate::driver::RunOptions,
) -> Result<(crate::ir::Project, Option<Box<dyn crate::driver::Driver>>), Error> {
    crate::session::load_live(root, profiles_dir, target_flag, options)
}

/// A driver ready for a report, and per period the reported segments whose definition
/// changed during it (when the report reads the membership history).
pub(crate) type CheckedDriver = (Box<dyn crate::driver::Driver>, Option<Vec<Vec<String>>>);

/// A project connected to its target, for `run` and `snapshot`: the project validated (the
/// record says so) with the target's own history table, the target, and the driver opened
/// to read column types, if one was.
pub(crate) struct Connected {
    pub project: crate::ir::Project,
    pub target: Resolved,
    pub driver: Option<Box<dyn crate::driver::Driver>>,
}

impl Connected {
    /// The driver to run a report on (the one opened to read column types, else a new one),
    /// once two small read-only statements have checked what the report reads: the sources'
    /// freshness (a warning) and, for flow and timed KPIs, the membership history (an error
    /// when a day is missing). Returns the reported segments whose definition changed during
    /// the period, when the report reads the history.
    pub(crate) fn checked_driver(
        driver: Option<Box<dyn crate::driver::Driver>>,
        target: &Resolved,
        options: crate::driver::RunOptions,
        root: &std::path::Path,
        reports: &crate::plan::Reports<'_>,
    ) -> Result<CheckedDriver, Error> {
        let events = options.events.clone();
        let mut driver = reuse_or_open(driver, target, options.clone(), root)?;
        crate::session::check_snapshot(driver.as_mut(), root, reports.project(), target, &events)?;
        crate::freshness::check_reports(
            driver.as_mut(),
            reports,
            &target.dialect,
            Some(&target.target),
            &events,
        )?;
        use crate::history::HistoryCheck;
        let mut check = crate::history::check_period(driver.as_mut(), target, reports)?;
        if let HistoryCheck::Missing { days, .. } = &check
            && target.profile.field("demo") == Some("true")
        {
            // segc's own sample database: it records the days the report reads itself, once
            // (those missing, not the days between a comparison's periods).
            let days = days.clone();
            events.progress(&format!(
                "the demo's membership history lacks days of {}: recording {} day(s) once…",
                crate::history::ranges(&days),
                days.len()
            ));
            drop(driver);
            let mut writing = options.clone();
            writing.write = true;
            let mut writer = crate::driver::open(&target.profile, writing, root)?;
            let path = crate::artifacts::compiled_snapshot_path(&target.target);
            let mut compiled = |_: &[chrono::NaiveDate], sql: &str| {
                crate::artifacts::write_atomically(&root.join(&path), sql.as_bytes())
            };
            snapshot::record_days(
                reports.project(),
                target,
                writer.as_mut(),
                (&days, &[]),
                &events,
                &mut compiled,
            )?;
            drop(writer);
            driver = crate::driver::open(&target.profile, options, root)?;
            check = crate::history::check_period(driver.as_mut(), target, reports)?;
        }
        let changed = match check {
            HistoryCheck::NotRead => None,
            HistoryCheck::Recorded(changed) => Some(changed),
            HistoryCheck::Missing { error, .. } => return Err(error),
        };
        Ok((driver, changed))
    }

    /// The history table a report's flow and timed KPIs read, named as `segc snapshot`
    /// names the one it writes: the target's `history_table`, else the project's, else the
    /// default, and on BigQuery a bare name gets the target's `dataset` before it (so that
    /// the statement needs no default dataset). Without a dataset the name stays as set: a
    /// report that reads no history needs none.
    pub(crate) fn history_in_dataset(project: &mut crate::ir::Project, target: &Resolved) {
        let table = crate::materialize::ResultsTable::named(
            "history_table",
            &target.profile,
            project.history_table.as_deref(),
            crate::history::DEFAULT_TABLE,
        )
        .and_then(|table| table.for_target(target));
        match table {
            Ok(table) => project.history_table = Some(table.display()),
            Err(_) => {
                if let Some(table) = target.profile.field("history_table") {
                    project.history_table = Some(table.to_string());
                }
            }
        }
    }

    pub(crate) fn open(
        root: &std::path::Path,
        profiles_dir: Option<&std::path::Path>,
        warehouse: &WarehouseArgs,
        options: crate::driver::RunOptions,
        record: &mut artifacts::RunRecord,
    ) -> Result<Connected, Error> {
        let flag = warehouse.target.as_deref();
        let (project, driver) = validate_live(root, profiles_dir, flag, options)?;
        record.validated(&project);
        let target = resolve(root, profiles_dir, flag, &project)?;
        Ok(Connected {
            project,
            target,
            driver,
        })
    }
}
