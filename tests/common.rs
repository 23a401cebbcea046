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
