//! `segc init [--demo] [DIR]`: a new project, optionally the demo with sample data, in DIR,
//! else in `--project`'s folder (the current one by default).

use std::path::{Path, PathBuf};

use clap::Args;

use crate::error::Error;
use crate::terminal::printable;

#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    /// The folder to create (must be empty or missing; default: --project's folder, the
    /// current one unless given).
    pub dir: Option<PathBuf>,
    /// Copy the example SaaS project and create its DuckDB database with sample data.
    #[arg(long)]
    pub demo: bool,
}

/// The example project's files, embedded so `segc init --demo` works anywhere.
const DEMO_FILES: &[(&str, &str)] = &[
    ("segc_project.yml", include_str!("../../segc_project.yml")),
    ("profiles.yml", include_str!("../../profiles.yml")),
    (
        "segment-defs/sources.yml",
        include_str!("../../segment-defs/sources.yml"),
    ),
    (
        "segment-defs/attributes.yml",
        include_str!("../../segment-defs/attributes.yml"),
    ),
    (
        "segment-defs/segments.yml",
        include_str!("../../segment-defs/segments.yml"),
    ),
    (
        "segment-defs/kpis.yml",
        include_str!("../../segment-defs/kpis.yml"),
    ),
    (
        "segment-defs/kpis_catalog.yml",
        include_str!("../../segment-defs/kpis_catalog.yml"),
    ),
    (
        "segment-defs/warehouse_schema.yml",
        include_str!("../../segment-defs/warehouse_schema.yml"),
    ),
];

const STARTER_PROJECT: &str = "name: my_project
definitions: segment-defs
default_target: local
time_zone: UTC
activity_window: 30d   # what \"active\" means: `window: activity` in the definitions
# The sample data of the `local` target ends on this day. Remove this line once profiles.yml
# points at your warehouse: reports are then as of yesterday unless --as-of says otherwise.
as_of: 2026-10-31
";

const STARTER_PROFILES: &str =
    "# One entry per target. See the README for postgres, redshift, bigquery and sqlserver.
# `local` is an embedded DuckDB file; `demo: true` fills it with sample data (10,000 users,
# their events and orders) on the first run, so the starter definitions run as they are.
# Point it at your own data (`path: warehouse.duckdb`, without `demo`) or add a target for
# your warehouse and make it the `default_target` of segc_project.yml.
local: { type: duckdb, path: target/demo.duckdb, demo: true }
";

/// What segc writes that belongs in no repository: the demo database (under target/).
const GITIGNORE: &str =
    "# Written by segc: the sample database of a `demo: true` target, and other local output.
target/
";

/// The JSON Schema of the definition language, for editors (see `segc schema`).
pub const SCHEMA_FILE: &str = "segc.schema.json";

const STARTER_DEFINITIONS: &str =
    "# Describe where your data lives, then attributes, segments and KPIs.
# segc must know the type of every column it compares, counts or orders, and whether each
# key is a string: declare it (`{ column: country, type: string }`, `key: { column: user_id,
# type: integer }`), or read every type from the warehouse into
# segment-defs/warehouse_schema.yml with `segc sources --refresh` (and check that file in).
sources:
  users:  { table: app.users, key: { column: user_id, type: integer },
            columns: { signup_at: created_at, country: { column: country, type: string } } }
  events: { table: app.events, user_key: user_id, time: occurred_at,
            columns: { name: { column: event_name, type: string } } }

attributes:
  # `window: activity` is the project's `activity_window` (segc_project.yml): what \"active\" means.
  recent_activity: { source: events, agg: count, window: activity }

segments:
  - name: active
    label: Active in the activity window
    all:
      - recent_activity: { gt: 0 }

kpis:
  - { name: people, agg: count }
  - { name: active_people, agg: count, where: { recent_activity: { gt: 0 } } }
  - { name: pct_active, ratio: [active_people, people], format: percent }
";

/// `text` with a first line telling the YAML language server (VS Code, Neovim, Helix…) to
/// check and complete the file with the project's schema file.
fn with_modeline(relative: &str, text: &str) -> String {
    let depth = relative.matches('/').count();
    format!(
        "# yaml-language-server: $schema={}{SCHEMA_FILE}\n{text}",
        "../".repeat(depth)
    )
}

fn write(root: &Path, relative: &str, text: &str) -> Result<(), Error> {
    let path = root.join(relative);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| Error::Write {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    std::fs::write(&path, text).map_err(|source| Error::Write { path, source })
}

pub fn execute(project: &Path, args: &InitArgs) -> Result<i32, Error> {
    let root = args.dir.as_deref().unwrap_or(project);
    // A folder holding only a git repository (`git init` first) counts as empty.
    if root.exists()
        && std::fs::read_dir(root)
            .map(|mut entries| entries.any(|entry| entry.map_or(true, |e| e.file_name() != ".git")))
            .unwrap_or(true)
    {
        let hint = match &args.dir {
            Some(_) => "pick a new folder",
            None => "name a new folder: `segc init my-project`",
        };
        let what = match root.is_dir() {
            true => "exists and is not empty",
            false => "is a file, not a folder",
        };
        return Err(Error::Usage(format!(
            "{} {what}; {hint}",
            printable(&root.display().to_string())
        )));
    }
    write(root, ".gitignore", GITIGNORE)?;
    write(root, SCHEMA_FILE, crate::spec::SCHEMA)?;
    if args.demo {
        for (relative, text) in DEMO_FILES {
            let text = match *relative {
                "profiles.yml" => text.to_string(),
                _ => with_modeline(relative, text),
            };
            write(root, relative, &text)?;
        }
        #[cfg(feature = "duckdb")]
        {
            let path = root.join("target/demo.duckdb");
            let summary = crate::demo::create_database_with(&path, &super::events())
                .map_err(|e| Error::Query(e.to_string()))?;
            eprintln!(
                "demo database {}: {} users, {} accounts, {} events, {} orders",
                printable(&path.display().to_string()),
                summary.users,
                summary.accounts,
                summary.events,
                summary.orders
            );
        }
    } else {
        write(
            root,
            "segc_project.yml",
            &with_modeline("segc_project.yml", STARTER_PROJECT),
        )?;
        write(root, "profiles.yml", STARTER_PROFILES)?;
        let definitions = "segment-defs/definitions.yml";
        write(
            root,
            definitions,
            &with_modeline(definitions, STARTER_DEFINITIONS),
        )?;
    }
    let shown = printable(&root.display().to_string()).into_owned();
    let first_run = if args.demo {
        ""
    } else {
        " (the first run creates sample data in target/demo.duckdb)"
    };
    if root == Path::new(".") {
        println!("created a project here; next: segc run{first_run}");
    } else {
        println!("created {shown}; next: cd {shown} && segc run{first_run}");
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::DEMO_FILES;

    #[test]
    fn the_demo_holds_every_definition_file_of_the_example_project() {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("segment-defs");
        let mut on_disk: Vec<String> = std::fs::read_dir(folder)
            .unwrap()
            .map(|entry| {
                format!(
                    "segment-defs/{}",
                    entry.unwrap().file_name().to_string_lossy()
                )
            })
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = DEMO_FILES
            .iter()
            .map(|(name, _)| name.to_string())
            .filter(|name| name.starts_with("segment-defs/"))
            .collect();
        embedded.sort();
        assert_eq!(embedded, on_disk);
    }
}
