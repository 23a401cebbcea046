//! `segc explain SEGMENT`: how many users pass each of a segment's conditions, in the order
//! written and cumulatively, in one query — the answer to "why is my segment empty?". A
//! child's conditions inherited from its ancestors come first.

use std::path::Path;

use clap::Args;

use crate::dialect::Dialect;
use crate::driver::Cell;
use crate::error::Error;
use crate::ir::{Comparison, Condition, Literal, Operand, Predicate, Project};
use crate::plan::{Plan, ReportOptions};
use crate::terminal::{printable, printable_lines};

#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  segc explain at_risk                          # why is at_risk empty?\n  \
    segc explain at_risk --as-of 2026-06-30\n  \
    segc explain big_spenders --period 2026-10-01..2026-10-31   # `window: period` reads October\n  \
    segc explain at_risk -t warehouse --timeout 300\n  \
    segc explain at_risk -d bigquery              # print the query instead of running it"
)]
pub struct ExplainArgs {
    /// The segment to explain.
    pub segment: String,
    /// A target of profiles.yml (default: the project's `default_target`).
    #[arg(long, short = 't', conflicts_with = "dialect")]
    pub target: Option<String>,
    /// Print the SQL for this dialect instead of running it.
    #[arg(long, short = 'd')]
    pub dialect: Option<String>,
    /// The report's day, YYYY-MM-DD (default: the project's `as_of`, else yesterday, the last
    /// complete day in the project's time zone).
    #[arg(long, value_name = "DATE", value_parser = super::parse_day)]
    pub as_of: Option<chrono::NaiveDate>,
    /// The period for `window: period` attributes, A..B (both days included); sets --as-of
    /// to B, as `segc run --period` does.
    #[arg(long, value_name = "A..B", value_parser = super::parse_period, conflicts_with = "as_of")]
    pub period: Option<(chrono::NaiveDate, chrono::NaiveDate)>,
    /// Cancel a query in the warehouse if it runs longer than this many seconds (1 to
    /// 31536000, a year).
    #[arg(long, value_name = "SECONDS", value_parser = super::timeout_seconds(), conflicts_with = "dialect")]
    pub timeout: Option<u64>,
}

fn literal(value: &Literal) -> String {
    match value {
        Literal::Number(n) => n.to_string(),
        Literal::Integer(n) => n.to_string(),
        Literal::String(s) => format!("{s:?}"),
        Literal::Date(d) => d.to_string(),
        Literal::Boolean(b) => b.to_string(),
    }
}

/// A step of `segc explain` for `explained`: a condition of `owner`, which is `explained`
/// or an ancestor it inherits the condition from. The exclusion of an `exclusive` set is
/// named, not spelled out.
pub fn describe_step(
    step: &Condition,
    owner: crate::ir::SegmentId,
    explained: crate::ir::SegmentId,
    project: &Project,
) -> String {
    let text = describe_own_step(step, project.segment(owner), project);
    if owner == explained {
        text
    } else {
        format!("inherited from {}: {text}", project.segment(owner).name)
    }
}

fn describe_own_step(step: &Condition, segment: &crate::ir::Segment, project: &Project) -> String {
    match &segment.exclusive {
        Some(exclusive) if !exclusive.before.is_empty() && *step == exclusive.exclusion => {
            let names: Vec<&str> = exclusive
                .before
                .iter()
                .map(|id| project.segment(*id).name.as_str())
                .collect();
            format!(
                "not in an earlier `{}` segment ({})",
                exclusive.set,
                names.join(", ")
            )
        }
        _ => describe(step, project),
    }
}

/// A condition in the words of the definition language.
pub fn describe(condition: &Condition, project: &Project) -> String {
    match condition {
        Condition::True => "(always)".into(),
        Condition::All(items) => format!(
            "all: [{}]",
            items
                .iter()
                .map(|i| describe(i, project))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Condition::Any(items) => format!(
            "any: [{}]",
            items
                .iter()
                .map(|i| describe(i, project))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Condition::Not(inner) => match inner.as_ref() {
            Condition::Any(items) => {
                format!(
                    "none: [{}]",
                    items
                        .iter()
                        .map(|i| describe(i, project))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
            other => format!("none: [{}]", describe(other, project)),
        },
        Condition::InSegment(id) => format!("in_segment: {}", project.segment(*id).name),
        Condition::Predicate { operand, predicate } => {
            let name = match operand {
                Operand::Attribute(id) => project.attribute(*id).name.clone(),
                Operand::SourceColumn { .. } => "column".into(),
            };
            let (op, value) = match predicate {
                Predicate::Compare(c, v) => (
                    match c {
                        Comparison::Eq => "eq",
                        Comparison::Ne => "ne",
                        Comparison::Gt => "gt",
                        Comparison::Gte => "gte",
                        Comparison::Lt => "lt",
                        Comparison::Lte => "lte",
                    },
                    literal(v),
                ),
                Predicate::Between(a, b) => {
                    ("between", format!("[{}, {}]", literal(a), literal(b)))
                }
                Predicate::In(items) => (
                    "in",
                    format!(
                        "[{}]",
                        items.iter().map(literal).collect::<Vec<_>>().join(", ")
                    ),
                ),
                Predicate::NotIn(items) => (
                    "not_in",
                    format!(
                        "[{}]",
                        items.iter().map(literal).collect::<Vec<_>>().join(", ")
                    ),
                ),
                Predicate::IsNull(b) => ("is_null", b.to_string()),
                Predicate::Contains(s) => ("contains", format!("{s:?}")),
                Predicate::StartsWith(s) => ("starts_with", format!("{s:?}")),
                Predicate::EndsWith(s) => ("ends_with", format!("{s:?}")),
                Predicate::WithinLast(d) => ("within_last", d.to_string()),
                Predicate::Before(d) => ("before", d.to_string()),
                Predicate::After(d) => ("after", d.to_string()),
            };
            format!("{name}: {{ {op}: {value} }}")
        }
    }
}

/// A count the warehouse returned: a whole number (NULL or no cell is 0); anything else is
/// not the answer to segc's statement and fails the command rather than print a count.
fn count(cell: Option<&Cell>, what: &str) -> Result<i64, Error> {
    match cell {
        None | Some(Cell::Null) => Ok(0),
        Some(Cell::Integer(value)) => Ok(*value),
        Some(Cell::Double(value))
            if value.fract() == 0.0 && value.abs() < 9_007_199_254_740_992.0 =>
        {
            Ok(*value as i64)
        }
        Some(_) => Err(Error::Query(format!(
            "the warehouse returned something other than a whole number for {what}; nothing is printed"
        ))),
    }
}

/// The segment named `name`, or an error with the closest name.
fn find_segment(project: &Project, name: &str) -> Result<crate::ir::SegmentId, Error> {
    project.segment_by_name(name).ok_or_else(|| {
        let hint = crate::error::suggest(name, project.segments.iter().map(|s| s.name.as_str()))
            .map(|h| format!(" ({h})"))
            .unwrap_or_default();
        Error::Usage(format!("unknown segment `{name}`{hint}"))
    })
}

pub fn execute(root: &Path, profiles_dir: Option<&Path>, args: &ExplainArgs) -> Result<i32, Error> {
    let options = crate::driver::RunOptions {
        timeout: args.timeout.map(std::time::Duration::from_secs),
        ..super::run_options()
    };
    let query_id = options.query_id.clone();
    // `--dialect` is offline: declared and snapshot types only.
    let (project, driver) = match &args.dialect {
        Some(_) => (crate::validate::load_and_validate(root)?, None),
        None => super::validate_live(root, profiles_dir, args.target.as_deref(), options.clone())?,
    };
    // `all_users` has no conditions: its explanation is the sources and the users who exist;
    // so is that of a segment without conditions of its own or inherited.
    let explained = match args.segment.as_str() {
        crate::plan::ALL_USERS => None,
        name => {
            let segment = find_segment(&project, name)?;
            Some((
                segment,
                crate::plan::output::explain_steps(&project, segment),
            ))
        }
    }
    .filter(|(_, steps)| !steps.is_empty());
    let segment = explained.as_ref().map(|(segment, _)| *segment);
    let options_of_report = ReportOptions {
        as_of: args.as_of,
        period: args.period,
        select: vec![args.segment.clone()],
        kpis: Vec::new(),
    };
    let plan = Plan::new(
        &project,
        &options_of_report,
        super::default_as_of(&project.time_zone)?,
    )?;
    if let Some(dialect) = &args.dialect {
        let dialect = Dialect::load(dialect)?;
        match segment {
            Some(segment) => print!(
                "{}",
                crate::render::render_explain(&plan, &dialect, None, segment)?
            ),
            None => {
                for (_, check) in crate::render::render_source_checks(&plan, &dialect, None)? {
                    println!("{check};");
                }
            }
        }
        return Ok(0);
    }
    let resolved = super::resolve(root, profiles_dir, args.target.as_deref(), &project)?;
    let sql = segment
        .map(|segment| {
            crate::render::render_explain(&plan, &resolved.dialect, Some(&resolved.target), segment)
        })
        .transpose()?;
    let mut driver = super::reuse_or_open(driver, &resolved, options, root)?;
    crate::session::check_snapshot(driver.as_mut(), root, &project, &resolved, &super::events())?;
    let super::Resolved {
        target, dialect, ..
    } = resolved;
    // First the sources: a missing or empty table explains an empty segment by itself.
    let progress = super::progress::Progress::start(
        format!("counting the sources on {target}"),
        query_id.clone(),
    );
    let rows = print_source_counts(driver.as_mut(), &plan, &dialect, &target);
    drop(progress);
    let rows = rows?;
    crate::freshness::check(
        driver.as_mut(),
        &plan,
        &dialect,
        Some(&target),
        &super::events(),
    )?;
    let note = match (plan.as_of_note(), args.period) {
        (Some(note), _) => format!(" ({note})"),
        (None, Some((first, last))) => format!(" (the period {first}..{last})"),
        (None, None) => String::new(),
    };
    let (Some(segment), Some(sql)) = (segment, sql) else {
        let users = match rows.get(&project.source(plan.users).name) {
            Some(users) => format!("{users} users exist"),
            None => "the user table cannot be read".to_string(),
        };
        let what = match args.segment.as_str() {
            crate::plan::ALL_USERS => crate::plan::ALL_USERS.to_string(),
            name => format!("segment {}", printable(name)),
        };
        println!(
            "{what} as of {}{} on {}: {users}; it has no conditions: it holds every user who \
             signed up before the end of {}",
            plan.time.as_of,
            printable(&note),
            printable(&target),
            plan.time.as_of
        );
        return Ok(0);
    };
    let progress = super::progress::Progress::start(format!("counting on {target}"), query_id);
    let result = driver.query(&sql);
    drop(progress);
    let result = result
        .map_err(|error| crate::driver::name_the_source(error, &project, &target, &dialect.name))?;
    let row = result
        .rows
        .first()
        .ok_or_else(|| Error::Query("the explain query returned no row".into()))?;
    let steps = explained.map(|(_, steps)| steps).unwrap_or_default();
    // Each count by its column's name.
    let mut counts = Vec::new();
    for (planned, name) in crate::plan::output::explain_columns(steps.len())
        .iter()
        .enumerate()
    {
        counts.push(count(
            row.get(result.column(name, planned)?),
            &format!("the count `{name}`"),
        )?);
    }
    let total = counts[0];
    println!(
        "segment {} as of {}{} on {}: {total} users exist",
        printable(&args.segment),
        plan.time.as_of,
        printable(&note),
        printable(&target)
    );
    print_steps(&steps, &counts, segment, &project);
    if total == 0 {
        println!(
            "no users signed up before the end of {}: check the user table and `signup_at`",
            plan.time.as_of
        );
    }
    Ok(0)
}

/// The rows of each source before the end of the as-of day, or why it cannot be read.
fn print_source_counts(
    driver: &mut dyn crate::driver::Driver,
    plan: &Plan<'_>,
    dialect: &Dialect,
    target: &str,
) -> Result<std::collections::HashMap<String, i64>, Error> {
    let project = plan.project;
    let mut counted = std::collections::HashMap::new();
    println!("sources, rows before the end of {}:", plan.time.as_of);
    for (source, check) in crate::render::render_source_checks(plan, dialect, Some(target))? {
        match driver.query(&check) {
            Ok(rows) => {
                let rows = count(
                    rows.rows.first().and_then(|r| r.first()),
                    &format!("the rows of source `{source}`"),
                )?;
                let warning = if rows == 0 {
                    "  ← empty: nothing can match on it"
                } else {
                    ""
                };
                println!("  {:<20} {rows:>12}{warning}", printable(&source));
                counted.insert(source, rows);
            }
            Err(error) => {
                let origin = project
                    .sources
                    .iter()
                    .find(|s| s.name == source)
                    .map(|s| {
                        format!(
                            " (source defined at {})",
                            crate::driver::source_location(s, target, &dialect.name)
                        )
                    })
                    .unwrap_or_default();
                let line = format!("  {source:<20} cannot be read{origin}: {error}");
                println!("{}", printable_lines(&line));
            }
        }
    }
    Ok(counted)
}

/// Each condition with the users passing it and the users left after it and every earlier
/// one; `counts` holds the users, then passing and left per step.
fn print_steps(
    steps: &[(crate::ir::SegmentId, crate::ir::Condition)],
    counts: &[i64],
    segment: crate::ir::SegmentId,
    project: &crate::ir::Project,
) {
    let mut emptied = false;
    for (index, (owner, step)) in steps.iter().enumerate() {
        let (passing, left) = (counts[1 + 2 * index], counts[2 + 2 * index]);
        let marker = if left == 0 && !emptied {
            emptied = true;
            "  ← no one is left after this condition"
        } else {
            ""
        };
        println!(
            "{:>3}. {:<50} {:>10} pass {:>10} left{marker}",
            index + 1,
            printable(&describe_step(step, *owner, segment, project)),
            passing,
            left
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A count is a whole number; text, a fraction or a date where one should be is not a
    /// count of 0 (it printed "0 pass").
    #[test]
    fn a_count_is_a_whole_number_or_an_error() {
        assert_eq!(count(Some(&Cell::Integer(7)), "c").unwrap(), 7);
        assert_eq!(count(Some(&Cell::Double(7.0)), "c").unwrap(), 7);
        assert_eq!(count(Some(&Cell::Null), "c").unwrap(), 0);
        assert_eq!(count(None, "c").unwrap(), 0);
        for wrong in [
            Cell::Text("abc".into()),
            Cell::Double(1.5),
            Cell::Boolean(true),
            Cell::Date(chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap()),
        ] {
            let error = count(Some(&wrong), "the count `segc_pass_1`").unwrap_err();
            assert!(
                error.to_string().contains("for the count `segc_pass_1`"),
                "{error}"
            );
        }
    }
}
