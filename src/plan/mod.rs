//! IR + report options → the logical plan of one statement: which attributes are needed,
//! which sources are read (each once), which rows are reported, and every instant the
//! SQL compares against, computed here in the project's time zone.

mod clock;
pub mod output;
pub mod statement;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{NaiveDate, NaiveDateTime};

use crate::error::{BadRequest, Error};
use crate::ir::time::{DayRange, ReportTime};
use crate::ir::{
    AttributeId, AttributeKind, Condition, KpiId, KpiKind, Operand, Project, SegmentId, SourceId,
    SourceRole,
};

pub use clock::{Clock, last_complete_day};
pub use output::{Reports, Request, SeriesShape};

/// What the user asked for.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    /// The as-of day; `None` means the project's `as_of`, else the default day the caller
    /// passes to [`Plan::new`] (the last complete day in the project time zone).
    pub as_of: Option<NaiveDate>,
    /// `--period A..B`: first and last day.
    pub period: Option<(NaiveDate, NaiveDate)>,
    /// Segment names to report (empty: every visible segment); `name+` also reports the
    /// segment's visible descendants.
    pub select: Vec<String>,
    /// KPI names to report (empty: every KPI). The KPIs they divide are computed too.
    pub kpis: Vec<String>,
}

/// Where the report's as-of day came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsOfSource {
    /// `--as-of`, or the last day of `--period`.
    Asked,
    /// `as_of` in segc_project.yml.
    Project,
    /// Nothing asked: the default day, the last complete day in the project time zone.
    LastCompleteDay,
}

/// One reported row: `all_users` (segment `None`) or a segment.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRow {
    pub ordinal: usize,
    pub segment: Option<SegmentId>,
    /// Nesting depth for display: children sit under their parent.
    pub depth: usize,
}

/// The name of the row of every existing user, always reported first.
pub const ALL_USERS: &str = "all_users";

impl ReportRow {
    /// The row's segment name: `all_users` or the segment's.
    pub fn name<'a>(&self, project: &'a Project) -> &'a str {
        match self.segment {
            None => ALL_USERS,
            Some(id) => &project.segment(id).name,
        }
    }

    /// The name of the segment's parent (reported or not); `None` for `all_users` and
    /// top-level segments.
    pub fn parent<'a>(&self, project: &'a Project) -> Option<&'a str> {
        let parent = project.segment(self.segment?).parent?;
        Some(&project.segment(parent).name)
    }
}

/// One pass over a fact source computing several attributes.
#[derive(Debug, Clone)]
pub struct FactPass {
    pub source: SourceId,
    pub attributes: Vec<AttributeId>,
    /// The earliest instant any of the attributes reads; `None` when one reads all history.
    pub lower_bound: Option<NaiveDateTime>,
}

impl FactPass {
    /// True when one of the pass's attributes has a window after each user's sign-up.
    pub fn reads_after_signup(&self, project: &Project) -> bool {
        self.attributes.iter().any(|id| {
            matches!(
                project.attribute(*id).kind,
                AttributeKind::Aggregate {
                    window: crate::ir::Window::AfterSignup { .. },
                    ..
                }
            )
        })
    }
}

/// The logical plan of one report statement.
#[derive(Debug, Clone)]
pub struct Plan<'p> {
    pub project: &'p Project,
    pub time: ReportTime,
    pub as_of_source: AsOfSource,
    pub clock: Clock,
    pub users: SourceId,
    /// Dimensions joined to the user table (only those an attribute needs).
    pub dimensions: Vec<SourceId>,
    /// Attributes read straight from the user table or a dimension.
    pub column_attributes: Vec<AttributeId>,
    pub fact_passes: Vec<FactPass>,
    /// Formula attributes that a KPI aggregates (materialized as columns).
    pub formula_columns: Vec<AttributeId>,
    /// Quintile scores, computed over every user in a stage of their own.
    pub score_columns: Vec<AttributeId>,
    pub rows: Vec<ReportRow>,
    /// The membership flags the statement computes, stage by stage. A child's flag is its
    /// parent's flag, from the stage before, and its own conditions (rule 11); stage 0
    /// holds the segments that inherit nothing. Reported segments, and the ancestors whose
    /// flags theirs are built on (hidden or not reported ones included).
    pub member_stages: Vec<Vec<SegmentId>>,
    /// The reported KPIs, in file order.
    pub kpis: Vec<KpiId>,
    /// The reported KPIs and those they are computed from, in file order.
    pub computed_kpis: Vec<KpiId>,
}

impl<'p> Plan<'p> {
    /// Plans a report. Errors name what the user asked for that does not exist.
    /// `default_as_of` is the as-of day when neither the options nor the project set one: the
    /// caller reads the clock (see [`last_complete_day`]), so planning stays pure.
    pub fn new(
        project: &'p Project,
        options: &ReportOptions,
        default_as_of: NaiveDate,
    ) -> Result<Self, Error> {
        let (as_of, as_of_source) = match (options.period, options.as_of, project.default_as_of) {
            (Some((_, last)), _, _) => (last, AsOfSource::Asked),
            (None, Some(day), _) => (day, AsOfSource::Asked),
            (None, None, Some(day)) => (day, AsOfSource::Project),
            (None, None, None) => (default_as_of, AsOfSource::LastCompleteDay),
        };
        if let Some((first, last)) = options.period
            && first > last
        {
            return Err(Error::Request(BadRequest::PeriodReversed(first, last)));
        }
        let period = options.period.unwrap_or_else(|| {
            let range = ReportTime {
                as_of,
                period: (as_of, as_of),
            }
            .range(&project.activity_window);
            (range.start.unwrap_or(as_of), as_of)
        });
        let time = ReportTime { as_of, period };
        let clock = Clock::new(&project.time_zone, time.end_day())?;

        let rows = plan_rows(project, &options.select)?;
        let member_stages = plan_member_stages(project, &rows);
        let (kpis, computed_kpis) = plan_kpis(project, &options.kpis)?;

        // Every attribute the report needs, following formulas and `in_segment`.
        let mut needed: BTreeSet<AttributeId> = BTreeSet::new();
        let mut segments_seen: BTreeSet<SegmentId> = BTreeSet::new();
        let mut formula_columns = Vec::new();
        for row in &rows {
            if let Some(segment) = row.segment {
                need_condition(
                    project,
                    &Condition::InSegment(segment),
                    &mut needed,
                    &mut segments_seen,
                );
            }
        }
        for kpi in computed_kpis.iter().map(|id| project.kpi(*id)) {
            if let KpiKind::Aggregate { of, filter, .. } = &kpi.kind {
                if let Some(of) = of {
                    need_attribute(project, *of, &mut needed);
                    if matches!(project.attribute(*of).kind, AttributeKind::Formula(_))
                        && !formula_columns.contains(of)
                    {
                        formula_columns.push(*of);
                    }
                }
                if let Some(filter) = filter {
                    need_condition(project, filter, &mut needed, &mut segments_seen);
                }
            }
        }

        let users = project.users_source();
        let mut dimensions = Vec::new();
        let mut column_attributes = Vec::new();
        let mut fact_passes: Vec<FactPass> = Vec::new();
        let mut score_columns = Vec::new();
        for id in &needed {
            match &project.attribute(*id).kind {
                AttributeKind::Column { source, .. } => {
                    if *source != users && !dimensions.contains(source) {
                        dimensions.push(*source);
                    }
                    column_attributes.push(*id);
                }
                AttributeKind::Aggregate { source, window, .. } => {
                    let range = time.range(window);
                    let start = range.start.map(|day| clock.instant(day));
                    match fact_passes.iter_mut().find(|p| p.source == *source) {
                        Some(pass) => {
                            pass.attributes.push(*id);
                            pass.lower_bound = match (pass.lower_bound, start) {
                                (Some(a), Some(b)) => Some(a.min(b)),
                                _ => None,
                            };
                        }
                        None => fact_passes.push(FactPass {
                            source: *source,
                            attributes: vec![*id],
                            lower_bound: start,
                        }),
                    }
                }
                AttributeKind::Formula(_) => {}
                AttributeKind::Quintile { .. } => score_columns.push(*id),
            }
        }
        dimensions.sort();
        fact_passes.sort_by_key(|p| p.source);
        Ok(Plan {
            project,
            time,
            as_of_source,
            clock,
            users,
            dimensions,
            column_attributes,
            fact_passes,
            formula_columns,
            score_columns,
            rows,
            member_stages,
            kpis,
            computed_kpis,
        })
    }

    /// True when an attribute's window counts from each user's sign-up, so the fact passes
    /// need the sign-up instant.
    pub fn needs_signup(&self) -> bool {
        self.fact_passes
            .iter()
            .any(|pass| pass.reads_after_signup(self.project))
    }

    /// Words for the table's header when the as-of day is the default, so a reader knows
    /// which day the numbers are for: `yesterday, the last complete day in Europe/Berlin`.
    pub fn as_of_note(&self) -> Option<String> {
        (self.as_of_source == AsOfSource::LastCompleteDay).then(|| {
            format!(
                "yesterday, the last complete day in {}",
                self.project.time_zone
            )
        })
    }

    /// The instant at the start of a local day, in UTC.
    pub fn instant(&self, day: NaiveDate) -> NaiveDateTime {
        self.clock.instant(day)
    }

    /// The end instant B: nothing at or after it is read.
    pub fn end_instant(&self) -> NaiveDateTime {
        self.clock.instant(self.time.end_day())
    }

    pub fn range(&self, window: &crate::ir::Window) -> DayRange {
        self.time.range(window)
    }

    /// The time column of a fact source.
    pub fn time_column(&self, source: SourceId) -> Option<&str> {
        match &self.project.source(source).role {
            SourceRole::Facts { time, .. } => time.as_deref(),
            _ => None,
        }
    }
}

/// The KPIs `--kpis` names (every KPI when it names none), and those plus the KPIs they are
/// computed from, both in file order.
fn plan_kpis(project: &Project, names: &[String]) -> Result<(Vec<KpiId>, Vec<KpiId>), Error> {
    let every = || (0..project.kpis.len()).map(KpiId);
    if names.is_empty() {
        return Ok((every().collect(), every().collect()));
    }
    let mut chosen = BTreeSet::new();
    let mut unknown = Vec::new();
    for name in names {
        match project.kpis.iter().position(|k| &k.name == name) {
            Some(index) => {
                chosen.insert(KpiId(index));
            }
            None => unknown.push(unknown_name(
                name,
                project.kpis.iter().map(|k| k.name.as_str()),
            )),
        }
    }
    if !unknown.is_empty() {
        return Err(Error::Request(BadRequest::UnknownKpis(unknown)));
    }
    let mut computed = chosen.clone();
    let mut pending: Vec<KpiId> = chosen.iter().copied().collect();
    while let Some(id) = pending.pop() {
        let inputs = match project.kpi(id).kind {
            KpiKind::Aggregate { .. } => vec![],
            KpiKind::Ratio(a, b) => vec![a, b],
            KpiKind::ShareOfTotal(total) => vec![total],
        };
        for input in inputs {
            if computed.insert(input) {
                pending.push(input);
            }
        }
    }
    Ok((chosen.into_iter().collect(), computed.into_iter().collect()))
}

/// A name `--select` or `--kpis` does not know, with the closest known one if any.
fn unknown_name<'n>(name: &str, known: impl Iterator<Item = &'n str>) -> String {
    match crate::error::suggest(name, known) {
        Some(hint) => format!("`{name}` ({hint})"),
        None => format!("`{name}`"),
    }
}

fn plan_rows(project: &Project, select: &[String]) -> Result<Vec<ReportRow>, Error> {
    let mut chosen: Vec<SegmentId> = Vec::new();
    if select.is_empty() {
        chosen.extend(
            (0..project.segments.len())
                .map(SegmentId)
                .filter(|id| project.segment(*id).visible),
        );
    } else {
        let mut unknown = Vec::new();
        let mut children: Option<BTreeMap<SegmentId, Vec<SegmentId>>> = None;
        let mut seen: BTreeSet<SegmentId> = BTreeSet::new();
        for written in select {
            // `name+`: the segment and its drill-downs.
            let (name, descendants) = match written.strip_suffix('+') {
                Some(name) => (name, true),
                None => (written.as_str(), false),
            };
            match project.segment_by_name(name) {
                Some(id) => {
                    if seen.insert(id) {
                        chosen.push(id);
                    }
                    if descendants {
                        let children = children.get_or_insert_with(|| children_of(project));
                        for descendant in visible_descendants(project, children, id) {
                            if seen.insert(descendant) {
                                chosen.push(descendant);
                            }
                        }
                    }
                }
                None if name == ALL_USERS => {}
                None => {
                    // `payng+` is answered with `paying+`.
                    let suffix = if descendants { "+" } else { "" };
                    let known: Vec<String> = project
                        .segments
                        .iter()
                        .map(|s| format!("{}{suffix}", s.name))
                        .collect();
                    unknown.push(unknown_name(written, known.iter().map(String::as_str)));
                }
            }
        }
        if !unknown.is_empty() {
            return Err(Error::Request(BadRequest::UnknownSegments(unknown)));
        }
    }
    // Depth-first in file order: children directly after their parent.
    let mut rows = vec![ReportRow {
        ordinal: 0,
        segment: None,
        depth: 0,
    }];
    // Sets and child lists, and a stack instead of recursion: a project may have many
    // thousands of segments, and long `parent` chains.
    let chosen_set: BTreeSet<SegmentId> = chosen.iter().copied().collect();
    let mut children: BTreeMap<SegmentId, Vec<SegmentId>> = BTreeMap::new();
    let mut roots = Vec::new();
    for id in chosen.iter().copied() {
        match project
            .segment(id)
            .parent
            .filter(|p| chosen_set.contains(p))
        {
            Some(parent) => children.entry(parent).or_default().push(id),
            None => roots.push(id),
        }
    }
    let mut stack: Vec<(SegmentId, usize)> = roots.into_iter().rev().map(|id| (id, 0)).collect();
    while let Some((id, depth)) = stack.pop() {
        rows.push(ReportRow {
            ordinal: rows.len(),
            segment: Some(id),
            depth,
        });
        if let Some(kids) = children.get(&id) {
            stack.extend(kids.iter().rev().map(|kid| (*kid, depth + 1)));
        }
    }
    Ok(rows)
}

/// Each segment's children, in file order.
fn children_of(project: &Project) -> BTreeMap<SegmentId, Vec<SegmentId>> {
    let mut children: BTreeMap<SegmentId, Vec<SegmentId>> = BTreeMap::new();
    for (index, segment) in project.segments.iter().enumerate() {
        if let Some(parent) = segment.parent {
            children.entry(parent).or_default().push(SegmentId(index));
        }
    }
    children
}

/// A segment's visible descendants, depth-first in file order (a hidden one's are included:
/// they drill down from the segment too).
fn visible_descendants(
    project: &Project,
    children: &BTreeMap<SegmentId, Vec<SegmentId>>,
    id: SegmentId,
) -> Vec<SegmentId> {
    let mut found = Vec::new();
    let mut stack: Vec<SegmentId> = children
        .get(&id)
        .into_iter()
        .flatten()
        .rev()
        .copied()
        .collect();
    while let Some(segment) = stack.pop() {
        if project.segment(segment).visible {
            found.push(segment);
        }
        stack.extend(children.get(&segment).into_iter().flatten().rev().copied());
    }
    found
}

/// The stages of membership flags (see [`Plan::member_stages`]): each reported segment, after
/// the ancestors its flag is built on, in report order within a stage.
fn plan_member_stages(project: &Project, rows: &[ReportRow]) -> Vec<Vec<SegmentId>> {
    let mut stage_of: BTreeMap<SegmentId, usize> = BTreeMap::new();
    let mut stages: Vec<Vec<SegmentId>> = Vec::new();
    for id in rows.iter().filter_map(|row| row.segment) {
        // The segment and the ancestors its flag needs that have none yet, nearest first.
        let mut chain = Vec::new();
        let mut current = Some(id);
        while let Some(segment) = current.filter(|s| !stage_of.contains_key(s)) {
            chain.push(segment);
            current = project.inherited_parent(segment);
        }
        for segment in chain.into_iter().rev() {
            let stage = project
                .inherited_parent(segment)
                .and_then(|parent| stage_of.get(&parent))
                .map_or(0, |stage| stage + 1);
            stage_of.insert(segment, stage);
            if stages.len() <= stage {
                stages.resize_with(stage + 1, Vec::new);
            }
            stages[stage].push(segment);
        }
    }
    stages
}

fn need_attribute(project: &Project, id: AttributeId, needed: &mut BTreeSet<AttributeId>) {
    if !needed.insert(id) {
        return;
    }
    match &project.attribute(id).kind {
        AttributeKind::Formula(expr) => {
            for reference in expr.references() {
                need_attribute(project, reference, needed);
            }
        }
        AttributeKind::Quintile { of, .. } => need_attribute(project, *of, needed),
        _ => {}
    }
}

fn need_condition(
    project: &Project,
    condition: &Condition,
    needed: &mut BTreeSet<AttributeId>,
    segments: &mut BTreeSet<SegmentId>,
) {
    match condition {
        Condition::True => {}
        Condition::All(items) | Condition::Any(items) => {
            for item in items {
                need_condition(project, item, needed, segments);
            }
        }
        Condition::Not(inner) => need_condition(project, inner, needed, segments),
        Condition::InSegment(id) => {
            if segments.insert(*id) {
                need_condition(project, &project.membership(*id), needed, segments);
            }
        }
        Condition::Predicate { operand, .. } => {
            if let Operand::Attribute(id) = operand {
                need_attribute(project, *id, needed);
            }
        }
    }
}

/// `--compare`: the earlier period set beside a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    /// The same days one year earlier (29 February becomes 28 February).
    PriorYear,
    /// The period of the same length just before, ending the day before it starts.
    PriorPeriod,
}

impl Plan<'_> {
    /// The options of the comparison period: the report's period moved back, its as-of day
    /// being the moved period's last day.
    /// `options` are the report's own: its segments and KPIs are kept.
    pub fn prior_options(&self, compare: Compare, options: &ReportOptions) -> ReportOptions {
        let (first, last) = self.time.period;
        let period = match compare {
            Compare::PriorYear => {
                let back = |day: NaiveDate| {
                    day.checked_sub_months(chrono::Months::new(12))
                        .unwrap_or(day)
                };
                (back(first), back(last))
            }
            Compare::PriorPeriod => {
                let length = chrono::Duration::days((last - first).num_days() + 1);
                (first - length, last - length)
            }
        };
        ReportOptions {
            as_of: None,
            period: Some(period),
            select: options.select.clone(),
            kpis: options.kpis.clone(),
        }
    }
}

/// A period's label and its first and last day.
pub type LabelledPeriod = (String, (NaiveDate, NaiveDate));

/// The most months one `--grain month` run may cover.
pub const MAX_MONTHS: usize = 120;

/// `--grain month --from A --to B`: a plan per month, labelled `YYYY-MM`, whose period is
/// that month (as of its last day); `options` gives the selection and the KPIs.
pub fn month_plans<'p>(
    project: &'p Project,
    from: NaiveDate,
    to: NaiveDate,
    options: &ReportOptions,
    default_as_of: NaiveDate,
) -> Result<Vec<(String, Plan<'p>)>, Error> {
    months(from, to)?
        .into_iter()
        .map(|(label, period)| {
            let options = ReportOptions {
                as_of: None,
                period: Some(period),
                ..options.clone()
            };
            Ok((label, Plan::new(project, &options, default_as_of)?))
        })
        .collect()
}

/// `--grain month --from A --to B`: each month's label (`YYYY-MM`) and first and last day,
/// stepping from the first of each month.
pub fn months(from: NaiveDate, to: NaiveDate) -> Result<Vec<LabelledPeriod>, Error> {
    use chrono::Datelike;
    let start = NaiveDate::from_ymd_opt(from.year(), from.month(), 1).expect("a month start");
    let end = NaiveDate::from_ymd_opt(to.year(), to.month(), 1).expect("a month start");
    if start > end {
        return Err(Error::Request(BadRequest::MonthsReversed(
            start.format("%Y-%m").to_string(),
            end.format("%Y-%m").to_string(),
        )));
    }
    let mut periods = Vec::new();
    let mut first = start;
    while first <= end {
        let next = first
            .checked_add_months(chrono::Months::new(1))
            .expect("a later month");
        periods.push((
            first.format("%Y-%m").to_string(),
            (first, next.pred_opt().expect("a day before")),
        ));
        if periods.len() > MAX_MONTHS {
            return Err(Error::Request(BadRequest::TooManyMonths(MAX_MONTHS)));
        }
        first = next;
    }
    Ok(periods)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn months_step_from_the_first_of_each_month() {
        let periods = months(day("2024-01-31"), day("2024-03-05")).unwrap();
        let expected = [
            ("2024-01", "2024-01-01", "2024-01-31"),
            ("2024-02", "2024-02-01", "2024-02-29"),
            ("2024-03", "2024-03-01", "2024-03-31"),
        ];
        assert_eq!(periods.len(), expected.len());
        for ((label, (first, last)), (want, a, b)) in periods.iter().zip(expected) {
            assert_eq!((label.as_str(), *first, *last), (want, day(a), day(b)));
        }
        assert!(months(day("2024-03-01"), day("2024-01-01")).is_err());
        assert!(months(day("2000-01-01"), day("2024-01-01")).is_err());
    }

    #[test]
    fn the_as_of_day_comes_from_the_options_the_project_or_the_default_day() {
        let mut project =
            crate::validate::load_and_validate(std::path::Path::new(env!("CARGO_MANIFEST_DIR")))
                .unwrap();
        let default_day = day("2026-11-29");
        let planned = |project: &Project, options: ReportOptions| {
            let plan = Plan::new(project, &options, default_day).unwrap();
            (plan.time.as_of, plan.as_of_source, plan.as_of_note())
        };
        let asked = ReportOptions {
            as_of: Some(day("2026-06-30")),
            ..Default::default()
        };
        let period = ReportOptions {
            period: Some((day("2026-01-01"), day("2026-03-31"))),
            ..Default::default()
        };
        project.default_as_of = Some(day("2026-10-31"));
        assert_eq!(
            planned(&project, asked.clone()),
            (day("2026-06-30"), AsOfSource::Asked, None)
        );
        assert_eq!(
            planned(&project, period.clone()),
            (day("2026-03-31"), AsOfSource::Asked, None)
        );
        assert_eq!(
            planned(&project, ReportOptions::default()),
            (day("2026-10-31"), AsOfSource::Project, None)
        );
        project.default_as_of = None;
        project.time_zone = "Pacific/Auckland".into();
        assert_eq!(
            planned(&project, asked).0,
            day("2026-06-30"),
            "--as-of wins"
        );
        assert_eq!(planned(&project, period).0, day("2026-03-31"));
        let (as_of, source, note) = planned(&project, ReportOptions::default());
        assert_eq!((as_of, source), (default_day, AsOfSource::LastCompleteDay));
        assert_eq!(
            note.as_deref(),
            Some("yesterday, the last complete day in Pacific/Auckland")
        );
    }
}
