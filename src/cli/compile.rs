//! `segc compile`: print the SQL of a report for a target or a dialect.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::dialect::Dialect;
use crate::error::Error;
use crate::plan::Plan;

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
    #[command(flatten)]
    pub report: ReportArgs,
}

/// Compiles the project in `root` for a dialect; `target` picks per-target table names.
pub fn compile_sql(
    project: &crate::ir::Project,
    dialect: &Dialect,
    target: Option<&str>,
    options: &crate::plan::ReportOptions,
) -> Result<String, Error> {
    let plan = Plan::new(project, options, super::today(&project.time_zone))?;
    crate::render::render(&plan, dialect, target)
}

pub fn execute(root: &Path, profiles_dir: Option<&Path>, args: &CompileArgs) -> Result<i32, Error> {
    let project = crate::validate::load_and_validate(root)?;
    if let (Some(dir), None, None) = (&args.output_dir, &args.dialect, &args.target) {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.clone(),
            source,
        })?;
        for name in crate::dialect::names() {
            let dialect = Dialect::load(name)?;
            let sql = compile_sql(&project, &dialect, None, &args.report.options())?;
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
            (Dialect::load(&profile.kind)?, Some(target))
        }
    };
    let sql = compile_sql(
        &project,
        &dialect,
        target.as_deref(),
        &args.report.options(),
    )?;
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
