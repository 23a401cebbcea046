//! segc as a library, from a project folder to its reports: resolve a target (its profile
//! and dialect), load the project with the column types the target's catalog gives, and run
//! a request's statement there. The command line is a thin layer over this.

use std::path::Path;

use crate::driver::gate::{Admitted, Shape};
use crate::driver::{Driver, RunOptions};
use crate::error::{BadRequest, Error};
use crate::events::EventSink;
use crate::ir::Project;
use crate::plan::{Reports, SeriesShape};
use crate::report::Report;

/// A target as a command uses it: its name, its profile and the dialect it speaks.
pub struct Target {
    pub target: String,
    pub profile: crate::spec::profiles::Profile,
    pub dialect: crate::dialect::Dialect,
}

/// The target named by `flag`, else the project's `default_target`, resolved.
pub fn resolve(
    root: &Path,
    profiles_dir: Option<&Path>,
    flag: Option<&str>,
    project: &Project,
    events: &EventSink,
) -> Result<Target, Error> {
    let target = target_name(flag, project)?;
    resolve_target(root, profiles_dir, target, events).map_err(|e| named_by_project(e, flag))
}

/// A target name that profiles.yml does not hold is a bad command line when `--target` gave
/// it (exit 2), and a mistake in the project when its `default_target` did (exit 1).
fn named_by_project(error: Error, flag: Option<&str>) -> Error {
    match error {
        Error::Request(BadRequest::UnknownTarget(message)) if flag.is_none() => {
            Error::Profile(format!("the default_target of segc_project.yml: {message}"))
        }
        other => other,
    }
}

/// Target `target`: its profile (from the first profiles.yml on the search path) and its
/// dialect.
pub fn resolve_target(
    root: &Path,
    profiles_dir: Option<&Path>,
    target: String,
    events: &EventSink,
) -> Result<Target, Error> {
    let profile = crate::spec::profiles::load_profile_with(profiles_dir, root, &target, events)?;
    let dialect = target_dialect(&profile)?;
    Ok(Target {
        target,
        profile,
        dialect,
    })
}

/// The dialect a target speaks, named by its `type`. An unknown type is a mistake in
/// profiles.yml (exit 1), not on the command line.
fn target_dialect(
    profile: &crate::spec::profiles::Profile,
) -> Result<crate::dialect::Dialect, Error> {
    let known = crate::dialect::names();
    if !known.contains(&profile.kind.as_str()) {
        return Err(Error::Profile(format!(
            "target `{}` in {} has the unknown type `{}`; use one of: {}",
            profile.name,
            profile
                .folder
                .join(crate::spec::profiles::PROFILES_FILE)
                .display(),
            profile.kind,
            known.join(", ")
        )));
    }
    crate::dialect::Dialect::load(&profile.kind)
}

/// Loads and validates the project for a command that connects to a target (`run`,
/// `explain`): the columns it reads whose type is neither declared nor in the snapshot are
/// looked up in the target's catalog first, through the driver (in memory only; `segc
/// sources --refresh` writes them down). The driver opened for that is returned for reuse.
pub fn load_live(
    root: &Path,
    profiles_dir: Option<&Path>,
    target_flag: Option<&str>,
    options: RunOptions,
) -> Result<(Project, Option<Box<dyn Driver>>), Error> {
    use crate::validate::{LearnedTypes, TypeCheck};
    let files = crate::spec::load_project(root)?;
    let untyped = crate::validate::untyped_sources(&files, &LearnedTypes::new());
    let target = target_flag.map(str::to_string).or_else(|| {
        files
            .project
            .default_target
            .as_ref()
            .map(|t| t.value.clone())
    });
    let Some(target) = target else {
        return Ok((crate::validate::validate(files)?, None));
    };
    // A project with other problems reports them, without a type that this target's
    // catalog would give once they are fixed.
    if untyped.problems {
        let types = TypeCheck::Pending(&target);
        crate::validate::validate_with(files.clone(), &LearnedTypes::new(), types)?;
    }
    // Every type is declared or in the snapshot, or none is asked of the catalog.
    let without_catalog = |files, target: &str| {
        crate::validate::validate_with(files, &LearnedTypes::new(), TypeCheck::On(Some(target)))
            .map(|project| (project, None))
    };
    if untyped.columns.is_empty() && untyped.keys.is_empty() && untyped.times.is_empty() {
        return without_catalog(files, &target);
    }
    let Target {
        target,
        profile,
        dialect,
    } = resolve_target(root, profiles_dir, target, &options.events)
        .map_err(|e| named_by_project(e, target_flag))?;
    // Key types matter only where `=` may fold case or pad.
    let mut sources: Vec<&crate::ir::Source> = untyped.columns.iter().collect();
    if !dialect.compares_strings_exactly() {
        for source in &untyped.keys {
            if !sources.iter().any(|s| s.name == source.name) {
                sources.push(source);
            }
        }
    }
    // A date where segc would read an instant is a local day, not UTC midnight.
    for source in &untyped.times {
        if !sources.iter().any(|s| s.name == source.name) {
            sources.push(source);
        }
    }
    if sources.is_empty() {
        return without_catalog(files, &target);
    }
    let events = options.events.clone();
    let mut driver = crate::driver::open(&profile, options, root)?;
    let mut learned = LearnedTypes::new();
    let mut problems = Vec::new();
    // Only the types of columns that say when are missing: a catalog that cannot be read
    // leaves them timestamps, as a note says, rather than stopping a run that needs no more.
    let times_only = untyped.columns.is_empty()
        && (dialect.compares_strings_exactly() || untyped.keys.is_empty());
    let read = match crate::catalog::read(driver.as_mut(), &dialect, &sources, &target) {
        Err(error @ (Error::Interrupted(_) | Error::TimedOut(_))) => return Err(error),
        Err(error) if times_only => {
            problems.push(format!(
                "the catalog could not be read: {}",
                crate::error::redact(&error.to_string())
            ));
            Vec::new()
        }
        result => result?,
    };
    for source in read {
        for (column, value_type) in source.columns {
            learned.insert((source.source.clone(), column), value_type);
        }
        if let Some(key) = source.key {
            let column = crate::validate::KEY_COLUMN.to_string();
            learned.insert((source.source.clone(), column), key);
        }
        for (role, value_type) in source.times {
            let column = crate::validate::learned_time(&role);
            learned.insert((source.source.clone(), column), value_type);
        }
        problems.extend(source.problems);
    }
    // Columns that say when which the catalog did not type either (a view it does not list,
    // a column it cannot find) are read as timestamps: say so, and why.
    let untimed = crate::validate::untyped_sources(&files, &learned).times;
    if !untimed.is_empty() {
        let names: Vec<String> = untimed.iter().map(|s| format!("`{}`", s.name)).collect();
        let reasons: Vec<&str> = problems
            .iter()
            .filter(|p| {
                p.starts_with("the catalog could not be read")
                    || untimed.iter().any(|s| p.contains(&format!("`{}`", s.name)))
            })
            .map(String::as_str)
            .collect();
        events.warn(&format!(
            "note: the types of the time columns of {} are not known{}, so they are read as timestamps; if one holds dates, declare `type: date` (a date is a day of the project's time zone) or refresh the snapshot (`segc sources --refresh --target {target}`)",
            names.join(", "),
            match reasons.is_empty() {
                true => String::new(),
                false => format!(" ({})", reasons.join("; ")),
            }
        ));
    }
    match crate::validate::validate_with(files, &learned, TypeCheck::On(Some(&target))) {
        Ok(project) => {
            // A key the catalog could not type stops the SQL from being written: say why.
            let untyped_key = !dialect.compares_strings_exactly()
                && project
                    .sources
                    .iter()
                    .any(|s| s.key_type == crate::ir::KeyType::Unknown);
            if untyped_key {
                for problem in problems {
                    events.warn(&format!("note: {problem}"));
                }
            }
            Ok((project, Some(driver)))
        }
        Err(error) => {
            // Why the catalog could not type a column: a missing table or column.
            for problem in problems {
                events.warn(&format!("note: {problem}"));
            }
            Err(error)
        }
    }
}

/// Checks the warehouse schema snapshot against the target's catalog before a report, on
/// the driver the report runs on (one read-only query, through the gate like every other):
/// a snapshot left stale after a table changed would have the statement read a column the
/// old way (dates as UTC midnights, numbers as strings). A disagreement is an error at the
/// snapshot's line ([`crate::catalog::disagreements`]); a catalog that cannot be read leaves
/// a note and the report goes on, as it would have without the check.
pub fn check_snapshot(
    driver: &mut dyn Driver,
    root: &Path,
    project: &Project,
    target: &Target,
    events: &EventSink,
) -> Result<(), Error> {
    let files = crate::spec::load_project(root)?;
    let Some(schema) = &files.definitions.warehouse_schema else {
        return Ok(());
    };
    let sources: Vec<&crate::ir::Source> = project
        .sources
        .iter()
        .filter(|s| {
            schema.sources.iter().any(|(n, _)| n.value == s.name)
                || schema.key_type(&s.name).is_some()
                || schema.times.iter().any(|(n, _)| n.value == s.name)
        })
        .collect();
    if sources.is_empty() {
        return Ok(());
    }
    let name = target.target.as_str();
    let read = match crate::catalog::read(driver, &target.dialect, &sources, name) {
        Err(error @ (Error::Interrupted(_) | Error::TimedOut(_))) => return Err(error),
        Err(error) => {
            events.warn(&format!(
                "note: the warehouse schema snapshot was not checked against the catalog of target `{name}`, which could not be read: {}",
                crate::error::redact(&error.to_string())
            ));
            return Ok(());
        }
        Ok(read) => read,
    };
    // The snapshot's sources the catalog did not find (a view or table it does not list, a
    // name it does not match) were not checked: say so.
    let unchecked: Vec<String> = read
        .iter()
        .flat_map(|source| source.problems.iter().cloned())
        .collect();
    if !unchecked.is_empty() {
        events.warn(&format!(
            "note: the warehouse schema snapshot was not checked where the catalog of target `{name}` lacks what it types ({}); segc reads those columns as the snapshot says",
            unchecked.join("; ")
        ));
    }
    let stale = crate::catalog::disagreements(&files, &read, name);
    if stale.is_empty() {
        return Ok(());
    }
    Err(files.into_error(stale))
}

/// The target to use: the flag, else the project's default.
fn target_name(flag: Option<&str>, project: &Project) -> Result<String, Error> {
    flag.map(str::to_string)
        .or_else(|| project.default_target.clone())
        .ok_or(Error::Request(BadRequest::NoTarget))
}

/// What a run returns: one report (a comparison included), or one per period.
#[derive(Debug, Clone)]
pub enum Outcome {
    Report(Report),
    Periods(Vec<(String, Report)>),
}

/// Runs the statement of `reports` on `driver` and reads its rows: the statement crosses the
/// driver's gate (one read-only query), and a missing table is traced to the source that
/// names it.
pub fn run(
    driver: &mut dyn Driver,
    project: &Project,
    target: &Target,
    reports: &Reports<'_>,
) -> Result<Outcome, Error> {
    let sql = crate::render::render_reports(reports, &target.dialect, Some(&target.target))?;
    let statement = crate::driver::gate::admit(&sql, &target.dialect, Shape::Read)?;
    run_statement(driver, project, target, reports, statement)
}

/// [`run`] with the statement of `reports` already rendered for the target and admitted by
/// the gate (as the command line does before it connects, so it is checked once).
pub fn run_statement(
    driver: &mut dyn Driver,
    project: &Project,
    target: &Target,
    reports: &Reports<'_>,
    statement: Admitted<'_>,
) -> Result<Outcome, Error> {
    let name = target.target.as_str();
    let result = driver.query_admitted(statement).map_err(|error| {
        crate::driver::name_the_source(error, project, name, &target.dialect.name)
    })?;
    Ok(match reports {
        Reports::Single(plan) => Outcome::Report(Report::from_result(plan, name, &result)?),
        Reports::Series(periods, SeriesShape::Compare) => Outcome::Report(Report::from_compare(
            &periods[0].1,
            &periods[1].1,
            name,
            &result,
        )?),
        Reports::Series(periods, SeriesShape::Periods) => {
            Outcome::Periods(Report::series(periods, name, &result)?)
        }
    })
}

/// Runs `segc sources --check` on `driver`: the keys that repeat, the NULL keys and the
/// facts of unknown users of every source of `project`, counted in the warehouse in one
/// read-only statement ([`crate::checks`]); `plan` gives the as-of instant at which a source
/// keeping history is checked.
pub fn check_sources(
    driver: &mut dyn Driver,
    project: &Project,
    target: &Target,
    plan: &crate::plan::Plan<'_>,
) -> Result<Vec<crate::checks::Finding>, Error> {
    let checks = crate::render::render_checks(plan, &target.dialect, Some(&target.target))?;
    let name = target.target.as_str();
    let result = driver.query(&checks.statement).map_err(|error| {
        crate::driver::name_the_source(error, project, name, &target.dialect.name)
    })?;
    crate::checks::read(&result, project, &target.dialect, name, &checks.lists)
}

/// Runs `segc overlap` on `driver`: the members of every pair of `plan`'s reported rows (a
/// plan of [`crate::plan::Plan::membership`]), counted in the warehouse in one read-only
/// statement; no user row leaves it.
pub fn overlap(
    driver: &mut dyn Driver,
    project: &Project,
    target: &Target,
    plan: &crate::plan::Plan<'_>,
) -> Result<Report, Error> {
    let sql = crate::render::render_overlap(plan, &target.dialect, Some(&target.target))?;
    crate::cli::check_statement_size(&target.dialect, &sql)?;
    crate::driver::gate::admit(&sql, &target.dialect, crate::driver::gate::Shape::Read)?;
    let name = target.target.as_str();
    let result = driver.query(&sql).map_err(|error| {
        crate::driver::name_the_source(error, project, name, &target.dialect.name)
    })?;
    Report::from_overlap(plan, name, &result)
}
