//! `segc compile`: print the SQL of a report for a target or a dialect.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::dialect::Dialect;
use crate::error::Error;
use crate::terminal::{printable, printable_lines};

use super::ReportArgs;

#[derive(Debug, Clone, Args)]
pub struct CompileArgs {
    /// A target of profiles.yml; its type picks the dialect (no connection is made).
    #[arg(long, short = 't', conflicts_with = "dialect")]
    pub target: Option<String>,
    /// A dialect, with no profile needed: bigquery, duckdb, postgres, redshift or sqlserver.
    #[arg(long, short = 'd')]
    pub dialect: Option<String>,
    /// Write the SQL to DIR/<dialect>.sql instead of printing it; with neither --target nor
    /// --dialect, write one file per dialect (for review in pull requests).
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// BigQuery targets: do a dry run and print the bytes the query would process (and be
    /// billed for), instead of the SQL.
    #[arg(long, conflicts_with_all = ["dialect", "output_dir"])]
    pub estimate: bool,
    #[command(flatten)]
    pub report: ReportArgs,
}

pub fn execute(root: &Path, profiles_dir: Option<&Path>, args: &CompileArgs) -> Result<i32, Error> {
    let files = crate::spec::load_project(root)?;
    // Offline, a column that says when whose type neither a declaration nor the snapshot
    // gives is read as a timestamp; `run` would read the catalog first.
    let untimed = crate::validate::untyped_sources(&files, &Default::default()).times;
    if !untimed.is_empty() {
        let names: Vec<String> = untimed.iter().map(|s| format!("`{}`", s.name)).collect();
        eprintln!(
            "note: the types of the time columns of {} are not known, so this SQL reads them as timestamps; `segc run` reads them from the catalog first. Declare them (`time: {{ column: …, type: date }}`) or record them with `segc sources --refresh`",
            names.join(", ")
        );
    }
    // A hint to refresh the snapshot names the target compiled for.
    let types = crate::validate::TypeCheck::On(args.target.as_deref());
    let mut project =
        crate::validate::validate_with(files, &crate::validate::LearnedTypes::new(), types)?;
    if let (Some(dir), None, None) = (&args.output_dir, &args.dialect, &args.target) {
        let reports = args.report.plan(&project)?;
        let mut files = Vec::new();
        for name in crate::dialect::names() {
            let sql = crate::render::render_reports(&reports, &Dialect::load(name)?, None)?;
            files.push((format!("{name}.sql"), sql));
        }
        return write_files(dir, &files);
    }
    let (dialect, profile) = match (&args.dialect, &args.target) {
        (Some(dialect), _) => (Dialect::load(dialect)?, None),
        (None, flag) => {
            let resolved = super::resolve(root, profiles_dir, flag.as_deref(), &project)?;
            // The history table as `segc run` on this target reads it.
            super::Connected::history_in_dataset(&mut project, &resolved);
            (resolved.dialect, Some(resolved.profile))
        }
    };
    let reports = args.report.plan(&project)?;
    let target = profile.as_ref().map(|profile| profile.name.clone());
    let sql = crate::render::render_reports(&reports, &dialect, target.as_deref())?;
    if let Err(too_long) = super::check_statement_size(&dialect, &sql) {
        if args.estimate {
            return Err(too_long);
        }
        eprintln!("warning: {}", printable_lines(&too_long.to_string()));
    }
    if let (true, Some(profile)) = (args.estimate, &profile) {
        return estimate(profile, &sql);
    }
    match &args.output_dir {
        Some(dir) => write_files(dir, &[(format!("{}.sql", dialect.name), sql)]),
        None => {
            print!("{sql}");
            Ok(0)
        }
    }
}

/// Writes every file into `dir` (created with its missing parents), or none of them: each
/// goes to a hidden temporary name first, and only once all are written are they renamed
/// into place. On a failure the temporaries are removed, and the error names the folder
/// (or the file in the way) and the system's reason.
pub(crate) fn write_files(dir: &Path, files: &[(String, String)]) -> Result<i32, Error> {
    let failed = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Write { path, source }
    };
    if dir.exists() && !dir.is_dir() {
        return Err(failed(dir)(std::io::Error::other(
            "it is a file, not a folder",
        )));
    }
    std::fs::create_dir_all(dir).map_err(failed(dir))?;
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    let remove_temporaries = |staged: &[(PathBuf, PathBuf)]| {
        for (temporary, _) in staged {
            let _ = std::fs::remove_file(temporary);
        }
    };
    for (name, text) in files {
        let path = dir.join(name);
        // A folder of that name would only fail at the rename, after others were renamed.
        if path.is_dir() {
            remove_temporaries(&staged);
            return Err(failed(&path)(std::io::Error::other(
                "a folder of that name is in the way",
            )));
        }
        let temporary = dir.join(format!(".{name}.segc-tmp"));
        if let Err(source) = std::fs::write(&temporary, text) {
            let _ = std::fs::remove_file(&temporary);
            remove_temporaries(&staged);
            return Err(failed(dir)(source));
        }
        staged.push((temporary, path));
    }
    for (index, (temporary, path)) in staged.iter().enumerate() {
        if let Err(source) = std::fs::rename(temporary, path) {
            remove_temporaries(&staged[index..]);
            let already: Vec<String> = staged[..index]
                .iter()
                .map(|(_, path)| path.display().to_string())
                .collect();
            let source = if already.is_empty() {
                source
            } else {
                std::io::Error::new(
                    source.kind(),
                    format!("{source} ({} already written)", already.join(", ")),
                )
            };
            return Err(failed(path)(source));
        }
    }
    for (_, path) in &staged {
        eprintln!("wrote {}", printable(&path.display().to_string()));
    }
    Ok(0)
}

/// `--estimate`: a BigQuery dry run.
fn estimate(profile: &crate::spec::profiles::Profile, sql: &str) -> Result<i32, Error> {
    let target = &profile.name;
    if profile.kind != "bigquery" {
        return Err(Error::Usage(format!(
            "--estimate needs a bigquery target; `{target}` is {}",
            profile.kind
        )));
    }
    #[cfg(feature = "bigquery")]
    {
        let mut driver = crate::driver::bigquery::BigQuery::connect(profile, super::run_options())?;
        let bytes = driver.estimate(sql)?;
        println!(
            "{target}: this query will process {} ({bytes} bytes)",
            human_bytes(bytes)
        );
        Ok(0)
    }
    #[cfg(not(feature = "bigquery"))]
    {
        let _ = sql;
        Err(Error::Profile(
            "this build of segc has no BigQuery driver".into(),
        ))
    }
}

/// Bytes in binary units, as BigQuery's console shows them.
pub fn human_bytes(bytes: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", units[unit])
    }
}
