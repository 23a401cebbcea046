//! `segc sources`: each source's key and columns with their declared and snapshot types;
//! `--refresh` reads the types from a target's catalog into `warehouse_schema.yml`.

use std::path::Path;

use clap::Args;

use crate::error::Error;
use crate::spec::Spanned;
use crate::terminal::{display_width, printable, printable_lines};

/// The snapshot's file name in the definitions folder.
pub const SNAPSHOT_FILE: &str = "warehouse_schema.yml";

#[derive(Debug, Clone, Args)]
#[command(after_help = "Examples:
  segc sources                          # each key's and column's declared and snapshot type
  segc sources --refresh                # read the default target's catalog into
                                        # <definitions>/warehouse_schema.yml
  segc sources --refresh --target pg    # the same from target `pg`
  segc sources --check                  # keys that repeat or are NULL, facts of unknown
                                        # users, counted in the default target
  segc sources --check -t pg -o json    # the same on target `pg`, as JSON

segc must know the type of every column it compares, counts or orders (a declared `type:`
wins over the snapshot), and whether each key is a string: string keys are joined exactly.
It must also know whether `time`, `signup_at` and a history's `valid_from`/`valid_to` hold
dates or timestamps: a date is a local day of the project's time zone, a timestamp an instant.
Check the snapshot in; refresh it after a table changes.

--check reads every source whole (its key columns), in one read-only statement: a key held by
more than one row of the user table or of a dimension makes every report count those users
more than once, on every warehouse, and fails the check (exit 1); NULL keys and facts whose
user is not in the user table are left out of reports, and are told. Run it after each load,
before the reports.")]
pub struct SourcesArgs {
    /// Read the type of every key and column of the sources from the target's catalog and
    /// write them to warehouse_schema.yml in the definitions folder.
    #[arg(long)]
    pub refresh: bool,
    /// Count in the target what would make a report wrong or leave rows out: keys held by
    /// more than one row (fails, exit 1), NULL keys, facts whose user is not in the user
    /// table.
    #[arg(long, conflicts_with = "refresh")]
    pub check: bool,
    /// A target of profiles.yml (default: the project's `default_target`).
    #[arg(long, short = 't')]
    pub target: Option<String>,
    /// With --check: the day at whose end a source keeping history is checked, YYYY-MM-DD
    /// (default: as `segc run`).
    #[arg(long, value_name = "DATE", value_parser = super::parse_day, requires = "check")]
    pub as_of: Option<chrono::NaiveDate>,
    /// With --check: how to print the findings (table or json).
    #[arg(long, short = 'o', value_enum, default_value_t = super::OutputFormat::Table, requires = "check")]
    pub output: super::OutputFormat,
    /// With --check: cancel the query in the warehouse if it runs longer than this many
    /// seconds.
    #[arg(long, value_name = "SECONDS", requires = "check", value_parser = super::timeout_seconds())]
    pub timeout: Option<u64>,
}

pub fn execute(root: &Path, profiles_dir: Option<&Path>, args: &SourcesArgs) -> Result<i32, Error> {
    if args.check {
        return check(root, profiles_dir, args);
    }
    let files = crate::spec::load_project(root)?;
    // Where the snapshot goes: the file that holds it, else warehouse_schema.yml.
    let folder = files
        .project
        .definitions
        .as_ref()
        .map(|d| d.value.clone())
        .unwrap_or_else(|| crate::spec::load::DEFAULT_DEFINITIONS.to_string());
    let existing = files
        .definitions
        .warehouse_schema
        .as_ref()
        .map(|schema| root.join(files.sources.display(schema.span.file)));
    let listing = listing(&files);
    let project = crate::validate::validate_with(
        files,
        &crate::validate::LearnedTypes::new(),
        crate::validate::TypeCheck::Off,
    )?;
    if !args.refresh {
        print!("{listing}");
        return Ok(0);
    }
    let super::Resolved {
        target,
        profile,
        dialect,
    } = super::resolve(root, profiles_dir, args.target.as_deref(), &project)?;
    let mut driver = crate::driver::open(&profile, super::run_options(), root)?;
    let sources: Vec<&crate::ir::Source> = project.sources.iter().collect();
    let types = crate::catalog::read(driver.as_mut(), &dialect, &sources, &target)?;
    let problems: Vec<String> = types.iter().flat_map(|t| t.problems.clone()).collect();
    if !problems.is_empty() {
        return Err(Error::Query(format!(
            "the catalog of target `{target}` does not hold every column of the sources (nothing was written):\n  {}",
            problems.join("\n  ")
        )));
    }
    let text = crate::catalog::snapshot_file(&target, &dialect.name, &types);
    let path = existing.unwrap_or_else(|| root.join(&folder).join(SNAPSHOT_FILE));
    let (dir, name) = match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) => (dir.to_path_buf(), name.to_string_lossy().to_string()),
        _ => (root.join(&folder), SNAPSHOT_FILE.to_string()),
    };
    super::compile::write_files(&dir, &[(name, text)])?;
    let unsupported: Vec<String> = types
        .iter()
        .flat_map(|source| {
            source.columns.iter().filter_map(|(column, t)| match t {
                // A fixed-length string is read as a string without its padding, and a
                // single-precision float as a number in double precision.
                crate::catalog::WarehouseType::Unsupported(name) if t.read_as().is_none() => {
                    Some(format!("{}.{column} ({name})", source.source))
                }
                _ => None,
            })
        })
        .collect();
    let columns: usize = types.iter().map(|t| t.columns.len() + t.times.len()).sum();
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    println!(
        "{} of {} read from target `{}`",
        plural(columns, "column"),
        plural(types.len(), "source"),
        printable(&target)
    );
    if !unsupported.is_empty() {
        println!(
            "of a type segc cannot read as a value (declare a type to use them): {}",
            printable(&unsupported.join(", "))
        );
    }
    Ok(0)
}

/// `segc sources --check`: the findings of [`crate::session::check_sources`], printed; exit 1
/// when a key repeats.
fn check(root: &Path, profiles_dir: Option<&Path>, args: &SourcesArgs) -> Result<i32, Error> {
    use super::OutputFormat;
    if matches!(args.output, OutputFormat::Csv | OutputFormat::Html) {
        return Err(Error::Usage(
            "segc sources --check prints a table or JSON (`-o table`, `-o json`)".into(),
        ));
    }
    let options = crate::driver::RunOptions {
        timeout: args.timeout.map(std::time::Duration::from_secs),
        ..super::run_options()
    };
    let query_id = options.query_id.clone();
    let (project, driver) =
        super::validate_live(root, profiles_dir, args.target.as_deref(), options.clone())?;
    let target = super::resolve(root, profiles_dir, args.target.as_deref(), &project)?;
    let report_options = crate::plan::ReportOptions {
        as_of: args.as_of,
        period: None,
        select: Vec::new(),
        kpis: Vec::new(),
    };
    let plan = super::membership_plan(&project, &report_options)?;
    let events = options.events.clone();
    let mut driver = super::reuse_or_open(driver, &target, options, root)?;
    crate::session::check_snapshot(driver.as_mut(), root, &project, &target, &events)?;
    let progress = super::progress::Progress::start(
        format!("checking the sources on {}", target.target),
        query_id,
    );
    let outcome = crate::session::check_sources(driver.as_mut(), &project, &target, &plan);
    drop(progress);
    let findings = outcome?;
    let failed = findings.iter().filter(|f| f.failed()).count();
    let users = project.source(project.users_source()).name.as_str();
    if args.output == OutputFormat::Json {
        let json = serde_json::json!({
            "project": project.name,
            "target": target.target,
            "as_of": plan.time.as_of.to_string(),
            "failed": failed,
            "checks": findings,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&json).unwrap_or_default()
        );
    } else {
        print!("{}", check_table(&findings, users));
        let sources = project.sources.len();
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        println!(
            "{} of {} on target `{}`: {}",
            plural(findings.len(), "check"),
            plural(sources, "source"),
            printable(&target.target),
            match failed {
                0 => "no key repeats".to_string(),
                n => format!("{} failed", n),
            }
        );
        for finding in findings.iter().filter(|f| f.failed()) {
            println!("{}", printable_lines(&finding.explanation(users)));
        }
    }
    Ok(if failed > 0 { 1 } else { 0 })
}

/// The findings as an aligned table: source, table, check, found, verdict.
fn check_table(findings: &[crate::checks::Finding], users: &str) -> String {
    let mut rows: Vec<[String; 5]> = vec![[
        "source".into(),
        "table".into(),
        "check".into(),
        "found".into(),
        "".into(),
    ]];
    for finding in findings {
        rows.push([
            finding.source.clone(),
            finding.table.clone(),
            finding.what(),
            finding.found(),
            finding.verdict(users),
        ]);
    }
    aligned(&rows)
}

/// Rows of cells as aligned columns, two spaces apart, each cell printable on a terminal and
/// measured as wide as it shows (an East Asian character takes two columns).
fn aligned(rows: &[[String; 5]]) -> String {
    let widths: Vec<usize> = (0..5)
        .map(|i| {
            rows.iter()
                .map(|r| display_width(&printable(&r[i])))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| {
                let cell = printable(cell);
                let pad = width - display_width(&cell);
                format!("{cell}{}", " ".repeat(pad))
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// A column that says when: its field (`time`, `valid_from`, `valid_to`), its column and its
/// declared type.
type WhenColumn<'a> = (&'a str, &'a Spanned<String>, Option<&'a Spanned<String>>);

/// One line per source column: its warehouse column, declared type and snapshot type.
fn listing(files: &crate::spec::ProjectFiles) -> String {
    let schema = files.definitions.warehouse_schema.as_ref();
    let snapshot = |source: &str, column: &str| -> Option<String> {
        let (_, columns) = schema?.sources.iter().find(|(s, _)| s.value == source)?;
        columns
            .iter()
            .find(|(c, _)| c.value == column)
            .map(|(_, t)| t.value.clone())
    };
    let mut rows: Vec<[String; 5]> = vec![[
        "source".into(),
        "column".into(),
        "warehouse column".into(),
        "declared".into(),
        "snapshot".into(),
    ]];
    for source in &files.definitions.sources {
        // The key first, named by its field (`key` or `user_key`).
        if let Some((field, column)) = [("(key)", &source.key), ("(user_key)", &source.user_key)]
            .into_iter()
            .find_map(|(field, column)| column.as_ref().map(|c| (field, c)))
        {
            let key_snapshot = schema
                .and_then(|schema| schema.key_type(&source.name.value))
                .map(|t| t.value.clone());
            rows.push([
                source.name.value.clone(),
                field.into(),
                column.value.clone(),
                source
                    .key_type
                    .as_ref()
                    .map_or_else(|| "–".into(), |t| t.value.clone()),
                key_snapshot.unwrap_or_else(|| "–".into()),
            ]);
        }
        // The columns that say when, named by their field.
        let mut times: Vec<WhenColumn<'_>> = Vec::new();
        if let Some(time) = &source.time {
            times.push(("time", time, source.time_type.as_ref()));
        }
        if let Some(history) = &source.history {
            times.push((
                "valid_from",
                &history.valid_from,
                history.value_type.as_ref(),
            ));
            times.push(("valid_to", &history.valid_to, history.value_type.as_ref()));
        }
        for (role, column, declared) in times {
            let recorded = schema
                .and_then(|schema| schema.time_type(&source.name.value, role))
                .map(|t| t.value.clone());
            rows.push([
                source.name.value.clone(),
                format!("({role})"),
                column.value.clone(),
                declared.map_or_else(|| "–".into(), |t| t.value.clone()),
                recorded.unwrap_or_else(|| "–".into()),
            ]);
        }
        for column in &source.columns {
            let declared = match &column.value_type {
                Some(t) => t.value.clone(),
                None => "–".into(),
            };
            rows.push([
                source.name.value.clone(),
                column.name.value.clone(),
                column.column.value.clone(),
                declared,
                snapshot(&source.name.value, &column.name.value).unwrap_or_else(|| "–".into()),
            ]);
        }
    }
    let mut out = aligned(&rows);
    match schema {
        Some(schema) => out.push_str(&format!(
            "snapshot: {} (target `{}`); refresh: segc sources --refresh\n",
            files.sources.display(schema.span.file),
            printable(
                schema
                    .target
                    .as_ref()
                    .map(|t| t.value.as_str())
                    .unwrap_or("?")
            )
        )),
        None => out.push_str(
            "no snapshot: `segc sources --refresh --target T` reads the types from the warehouse\n",
        ),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::aligned;

    /// A column is as wide as its cells show: an East Asian character takes two columns.
    #[test]
    fn columns_are_aligned_by_the_width_a_terminal_shows() {
        let row = |a: &str, b: &str| [a.to_string(), b.into(), "x".into(), "y".into(), "z".into()];
        let text = aligned(&[row("用户", "a"), row("users", "b")]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines, ["用户   a  x  y  z", "users  b  x  y  z"], "{text}");
    }
}
