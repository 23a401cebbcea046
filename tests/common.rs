//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn repository_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn date(text: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a test date")
}

/// The report plan for `project` with `options`; "today" is fixed so projects without an
/// `as_of` still compile the same way every day.
pub fn plan<'p>(
    project: &'p segc::ir::Project,
    options: &segc::plan::ReportOptions,
) -> segc::plan::Plan<'p> {
    segc::plan::Plan::new(project, options, date("2030-01-01")).expect("a plan")
}

/// The report SQL for `project` in `dialect`, with default options.
pub fn compile(project: &segc::ir::Project, dialect: &segc::dialect::Dialect) -> String {
    let plan = plan(project, &segc::plan::ReportOptions::default());
    segc::render::render(&plan, dialect, None).expect("render")
}

/// The core fixture, validated.
pub fn core_project() -> segc::ir::Project {
    segc::validate::load_and_validate(&fixture("core")).expect("the core fixture is valid")
}

/// Copies a project's `segc_project.yml` and its `segment-defs` files to `to`: every file,
/// or only `files`.
pub fn copy_project(from: &Path, to: &Path, files: Option<&[&str]>) {
    let definitions = to.join("segment-defs");
    std::fs::create_dir_all(&definitions).unwrap();
    std::fs::copy(from.join("segc_project.yml"), to.join("segc_project.yml")).unwrap();
    let names: Vec<std::ffi::OsString> = match files {
        Some(files) => files.iter().map(Into::into).collect(),
        None => std::fs::read_dir(from.join("segment-defs"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect(),
    };
    for name in names {
        std::fs::copy(
            from.join("segment-defs").join(&name),
            definitions.join(&name),
        )
        .unwrap();
    }
}

/// A command's stdout and stderr together, for checks that must hold on both.
/// The ordered-facts fixture in `root`: the core fixture's project and sources with
/// `ordered/ordered.yml`. Its data is core/data.sql followed by ordered/data.sql.
pub fn ordered_project(root: &Path) {
    copy_project(&fixture("core"), root, Some(&["sources.yml"]));
    std::fs::copy(
        fixture("ordered/ordered.yml"),
        root.join("segment-defs/ordered.yml"),
    )
    .unwrap();
}

pub fn output_text(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// An in-memory DuckDB holding the core fixture's data.
#[cfg(feature = "duckdb")]
pub fn core_database() -> segc::driver::duckdb::DuckDb {
    let database = segc::driver::duckdb::DuckDb::in_memory().unwrap();
    database
        .execute_batch(&std::fs::read_to_string(fixture("core/data.sql")).unwrap())
        .unwrap();
    database
}

/// A demo database of `users` users (the default seed and dates) written to `dir`, and the
/// rows it holds.
#[cfg(feature = "duckdb")]
pub fn demo_database(dir: &Path, users: usize) -> (segc::demo::DemoData, PathBuf) {
    let config = segc::demo::DemoConfig {
        users,
        ..Default::default()
    };
    let demo = segc::demo::generate(&config);
    let path = dir.join("demo.duckdb");
    segc::demo::write_duckdb(&demo, &path).unwrap();
    (demo, path)
}
