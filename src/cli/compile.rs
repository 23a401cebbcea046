//! `segc compile`: print the SQL of a report for a target or a dialect.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::dialect::Dialect;
use crate::error::Error;

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
    let project = crate::validate::load_and_validate(root)?;
    let reports = args.report.plan(&project)?;
    if let (Some(dir), None, None) = (&args.output_dir, &args.dialect, &args.target) {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.clone(),
            source,
        })?;
        for name in crate::dialect::names() {
            let dialect = Dialect::load(name)?;
            let sql = reports.sql(&dialect, None)?;
            let path = dir.join(format!("{name}.sql"));
            std::fs::write(&path, &sql).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            eprintln!("wrote {}", path.display());
        }
        return Ok(0);
    }
    let (dialect, target) = match (&args.dialect, &args.target) {
        (Some(dialect), _) => (Dialect::load(dialect)?, None),
        (None, flag) => {
            let target = super::target_name(flag.as_deref(), &project)?;
            let profile = crate::spec::profiles::load_profile(profiles_dir, root, &target)?;
            (super::target_dialect(&profile)?, Some(target))
        }
    };
    let sql = reports.sql(&dialect, target.as_deref())?;
    if let Err(too_long) = super::check_statement_size(&dialect, &sql) {
        if args.estimate {
            return Err(too_long);
        }
        eprintln!("warning: {too_long}");
    }
    if args.estimate {
        let target = target.unwrap_or_default();
        return estimate(root, profiles_dir, &target, &sql);
    }
    match &args.output_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                path: dir.clone(),
                source,
            })?;
            let path = dir.join(format!("{}.sql", dialect.name));
            std::fs::write(&path, &sql).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            eprintln!("wrote {}", path.display());
        }
        None => print!("{sql}"),
    }
    Ok(0)
}

/// `--estimate`: a BigQuery dry run.
fn estimate(
    root: &Path,
    profiles_dir: Option<&Path>,
    target: &str,
    sql: &str,
) -> Result<i32, Error> {
    let profile = crate::spec::profiles::load_profile(profiles_dir, root, target)?;
    if profile.kind != "bigquery" {
        return Err(Error::Usage(format!(
            "--estimate needs a bigquery target; `{target}` is {}",
            profile.kind
        )));
    }
    #[cfg(feature = "bigquery")]
    {
        let mut driver = crate::driver::bigquery::BigQuery::connect(
            &profile,
            crate::driver::RunOptions::default(),
        )?;
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
