//! What a statement returns: every result column by name, for the renderer that writes them
//! and the report and `segc explain` that read them; and the reports a request asks for (one,
//! a comparison with an earlier period, or one per month).

use chrono::NaiveDate;

use crate::error::Error;
use crate::ir::{Condition, KpiId, KpiType, Project, SegmentId};

use super::{Compare, Plan, ReportOptions};

/// The result column naming each row's segment, as in the CSV and JSON output.
pub const SEGMENT_COLUMN: &str = "segment";
/// The result column naming the segment's parent (NULL for `all_users` and top-level rows).
pub const PARENT_COLUMN: &str = "parent";
/// The result column holding each row's position, 0 for `all_users`.
pub const ROW_COLUMN: &str = "segc_row";
/// The result column of a month-by-month series holding the period's number, 0 for the first.
pub const PERIOD_COLUMN: &str = "segc_period";

/// The column of a `segc overlap` row counting its members who are also members of the
/// reported row at `ordinal` (0: `all_users`, so the row's size).
pub fn overlap_column(ordinal: usize) -> String {
    format!("segc_with_{ordinal}")
}

/// The columns of every report statement's rows before its KPIs (after [`PERIOD_COLUMN`] in
/// a month-by-month series), so that the statement pasted in a console shows which segment
/// each row is.
pub const ROW_COLUMNS: [&str; 3] = [SEGMENT_COLUMN, PARENT_COLUMN, ROW_COLUMN];

/// The conditions `segc explain` counts, each with the segment whose condition it is: its
/// ancestors' first, the outermost first (a child's members are its parent's that meet its
/// own conditions), then the segment's own; each segment's top-level conditions in order.
pub fn explain_steps(project: &Project, segment: SegmentId) -> Vec<(SegmentId, Condition)> {
    // `all:`, `any:` and `none:` of one segment are nested groups: list the conditions of
    // every `all` group in writing order, and other groups as one step each.
    fn flatten(condition: &Condition, out: &mut Vec<Condition>) {
        match condition {
            Condition::True => {}
            Condition::All(items) => items.iter().for_each(|item| flatten(item, out)),
            other => out.push(other.clone()),
        }
    }
    let mut steps = Vec::new();
    for owner in project.ancestors(segment).into_iter().chain([segment]) {
        let mut own = Vec::new();
        flatten(&project.segment(owner).condition, &mut own);
        steps.extend(own.into_iter().map(|step| (owner, step)));
    }
    steps
}

/// How the periods of a series run are combined into one result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesShape {
    /// Two periods, the report's and an earlier one: one row per segment with, per KPI, the
    /// value, `<kpi>__prior`, and for numbers `<kpi>__change` and `<kpi>__change_pct`.
    Compare,
    /// One row per period and segment: `segc_period` (0, 1, …), `segment`, `parent`,
    /// `segc_row`, the KPIs.
    Periods,
}

/// The endings of the columns a compare run adds after a KPI's own: `<kpi>__prior`, and for
/// numbers `<kpi>__change` and `<kpi>__change_pct`. A KPI may not be named so.
pub const COMPARE_SUFFIXES: [&str; 3] = ["__prior", "__change", "__change_pct"];

/// The columns a compare run gives for one KPI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompareColumns {
    pub value: String,
    /// `<kpi>__prior`.
    pub prior: String,
    /// `<kpi>__change` and `<kpi>__change_pct`, for numbers only.
    pub change: Option<(String, String)>,
}

/// The column names of a compare run after [`ROW_COLUMNS`], KPI by KPI.
pub fn compare_columns(project: &Project, kpis: &[KpiId]) -> Vec<CompareColumns> {
    kpis.iter()
        .map(|id| {
            let kpi = project.kpi(*id);
            let name = kpi.name.clone();
            let numeric = matches!(kpi.value_type, KpiType::Integer | KpiType::Double);
            let [prior, change, relative] = COMPARE_SUFFIXES;
            CompareColumns {
                prior: format!("{name}{prior}"),
                change: numeric.then(|| (format!("{name}{change}"), format!("{name}{relative}"))),
                value: name,
            }
        })
        .collect()
}

/// The columns of `segc explain`'s one row for `steps` conditions, in order: the number of
/// existing users, then for each condition N `segc_pass_N` (users passing it) and
/// `segc_left_N` (users passing it and every condition before it).
pub fn explain_columns(steps: usize) -> Vec<String> {
    let mut columns = vec![EXPLAIN_USERS_COLUMN.to_string()];
    for number in 1..=steps {
        columns.push(format!("{EXPLAIN_PASSING_PREFIX}_{number}"));
        columns.push(format!("{EXPLAIN_LEFT_PREFIX}_{number}"));
    }
    columns
}

pub(crate) const EXPLAIN_USERS_COLUMN: &str = "segc_users";
pub(crate) const EXPLAIN_PASSING_PREFIX: &str = "segc_pass";
pub(crate) const EXPLAIN_LEFT_PREFIX: &str = "segc_left";

/// The reports a request computes: one, or a series combined into one statement.
pub enum Reports<'p> {
    Single(Box<Plan<'p>>),
    Series(Vec<(String, Plan<'p>)>, SeriesShape),
}

impl<'p> Reports<'p> {
    /// Each period's plan, in order (one for a single report).
    pub fn plans(&self) -> Vec<&Plan<'p>> {
        match self {
            Reports::Single(plan) => vec![plan.as_ref()],
            Reports::Series(periods, _) => periods.iter().map(|(_, plan)| plan).collect(),
        }
    }

    /// The project reported on.
    pub fn project(&self) -> &'p Project {
        match self {
            Reports::Single(plan) => plan.project,
            Reports::Series(periods, _) => periods
                .first()
                .map(|(_, plan)| plan.project)
                .expect("a series has periods"),
        }
    }
}

/// What to report: the options, and an earlier period to compare with or a month range.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub options: ReportOptions,
    pub compare: Option<Compare>,
    /// `--grain month --from A --to B`: the first days of the first and last month.
    pub months: Option<(NaiveDate, NaiveDate)>,
}

/// Plans what `request` asks for: a report, a report and its comparison, or one per month.
/// `default_as_of` is the as-of day when neither the options nor the project set one.
pub fn reports<'p>(
    project: &'p Project,
    request: &Request,
    default_as_of: NaiveDate,
) -> Result<Reports<'p>, Error> {
    if let Some((from, to)) = request.months {
        let periods = super::month_plans(project, from, to, &request.options, default_as_of)?;
        return Ok(Reports::Series(periods, SeriesShape::Periods));
    }
    let plan = Plan::new(project, &request.options, default_as_of)?;
    let Some(compare) = request.compare else {
        return Ok(Reports::Single(Box::new(plan)));
    };
    let prior = Plan::new(
        project,
        &plan.prior_options(compare, &request.options),
        default_as_of,
    )?;
    let label = |plan: &Plan<'_>| format!("{}..{}", plan.time.period.0, plan.time.period.1);
    Ok(Reports::Series(
        vec![(label(&plan), plan.clone()), (label(&prior), prior)],
        SeriesShape::Compare,
    ))
}
