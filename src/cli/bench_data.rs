//! `segc bench-data --users N`: the synthetic warehouse of the benchmarks in a DuckDB file.

use std::path::PathBuf;

use clap::Args;

use crate::error::Error;
use crate::terminal::printable;

#[derive(Debug, Clone, Args)]
pub struct BenchDataArgs {
    /// How many users (1 to 100,000,000): each gets 0 to 59 events over a year, 0 to 3
    /// orders and one or two accounts.
    #[arg(long, value_name = "N")]
    pub users: usize,
    /// The DuckDB file to write (it must not exist) [default: target/bench-N.duckdb in the
    /// project folder].
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub fn execute(root: &std::path::Path, args: &BenchDataArgs) -> Result<i32, Error> {
    let path = args
        .output
        .clone()
        .unwrap_or_else(|| root.join(format!("target/bench-{}.duckdb", args.users)));
    let shown = printable(&path.display().to_string()).into_owned();
    super::events().progress(&format!(
        "writing {} users into {shown} (about 15 s per million users)…",
        args.users
    ));
    let started = std::time::Instant::now();
    let counts = crate::demo::create_synthetic(&path, args.users)?;
    println!(
        "{shown}: {} users, {} accounts, {} events, {} orders in {:.1} s",
        counts.users,
        counts.accounts,
        counts.events,
        counts.orders,
        started.elapsed().as_secs_f64()
    );
    println!(
        "its tables are the example project's (schema app); a target for it in profiles.yml:\n  bench: {{ type: duckdb, path: {} }}",
        serde_json::Value::String(path.display().to_string())
    );
    Ok(0)
}
