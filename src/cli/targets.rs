//! `segc targets`: list the targets of profiles.yml with secrets masked; `--check T` connects.

use std::path::Path;

use clap::Args;

use crate::error::Error;

#[derive(Debug, Clone, Args)]
pub struct TargetsArgs {
    /// Connect to this target, run a trivial query, and report the server version and the
    /// round-trip time.
    #[arg(long, value_name = "TARGET")]
    pub check: Option<String>,
    /// With `--check`: give up after this many seconds, connecting and querying together
    /// (the query is cancelled in the warehouse).
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = super::timeout_seconds())]
    pub timeout: u64,
}

pub fn execute(root: &Path, profiles_dir: Option<&Path>, args: &TargetsArgs) -> Result<i32, Error> {
    if let Some(target) = &args.check {
        let profile = super::resolve_target(root, profiles_dir, target.clone())?.profile;
        let started = std::time::Instant::now();
        let options = crate::driver::RunOptions {
            timeout: Some(std::time::Duration::from_secs(args.timeout)),
            ..super::run_options()
        };
        let mut driver = crate::driver::open(&profile, options, root)?;
        let version = driver.server_version()?;
        println!(
            "{}",
            crate::terminal::printable(&crate::error::redact(&format!(
                "{target}: ok — {version} ({} ms)",
                started.elapsed().as_millis()
            )))
        );
        return Ok(0);
    }
    let Some(profiles) =
        crate::spec::profiles::load_all_with(profiles_dir, root, &super::events())?
    else {
        let folders = crate::spec::profiles::search_path(profiles_dir, root);
        let looked: Vec<String> = folders.iter().map(|f| f.display().to_string()).collect();
        let line = format!("no profiles.yml found (looked in: {})", looked.join(", "));
        println!("{}", crate::terminal::printable(&line));
        return Ok(0);
    };
    if profiles.is_empty() {
        println!("profiles.yml has no targets");
        return Ok(0);
    }
    // Every target is listed or reported; one that cannot be used fails the command.
    let mut failed = false;
    for profile in profiles {
        match profile {
            Ok(profile) => {
                let fields: Vec<String> = profile
                    .masked_fields()
                    .into_iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect();
                // One line per target, whatever its name or values hold.
                let line = format!("{} ({}): {}", profile.name, profile.kind, fields.join(", "));
                println!("{}", crate::terminal::printable(&line));
            }
            Err(error) => {
                failed = true;
                super::print_error(&error);
            }
        }
    }
    Ok(i32::from(failed))
}
