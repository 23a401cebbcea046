//! IR + report options → the logical plan of one statement: which attributes are needed,
//! which sources are read (each once), which rows are reported, and every instant the
//! SQL compares against, computed here in the project's time zone.

pub mod aggregates;
pub mod buckets;
mod clock;
mod needed;
pub mod output;
mod periods;
mod selection;
pub mod statement;
pub mod times;

use chrono::{NaiveDate, NaiveDateTime};

use crate::error::{BadRequest, Error};
use crate::ir::time::{DayRange, ReportTime};
use crate::ir::{AttributeId, AttributeKind, KpiId, Project, SegmentId, SourceId};

use needed::{local_day_attributes, needed_attributes};
use selection::{plan_kpis, plan_member_stages, plan_rows};

pub use clock::{Clock, last_complete_day};
pub use output::{Reports, Request, SeriesShape};
pub use periods::{Compare, LabelledPeriod, MAX_MONTHS, month_plans, months};

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
    /// Stored timestamps whose local date the attributes stage computes once per user, for
    /// the needed formulas' `days_between` (only where the zone changes offset).
    pub local_days: Vec<AttributeId>,
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
        Self::build(project, options, default_as_of, true)
    }

    /// Plans the membership of the reported rows alone, with no KPIs (their `-k` ignored):
    /// what `segc overlap` counts. The sources are read only for the segments' conditions.
    pub fn membership(
        project: &'p Project,
        options: &ReportOptions,
        default_as_of: NaiveDate,
    ) -> Result<Self, Error> {
        Self::build(project, options, default_as_of, false)
    }

    fn build(
        project: &'p Project,
        options: &ReportOptions,
        default_as_of: NaiveDate,
        with_kpis: bool,
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
        // The period's first day is a day of the report as much as its last (it heads the
        // JSON and the results table), even where no literal in the SQL needs it.
        if !crate::ir::time::within_years(period.0) {
            return Err(Error::Request(BadRequest::TimeOutOfRange(
                period.0.format("%Y-%m-%d").to_string(),
            )));
        }
        let time = ReportTime { as_of, period };
        // Timestamps known in advance may lie decades ahead: their local days need the zone's
        // changes that far.
        let scheduled = project.sources.iter().any(|source| {
            source
                .columns
                .iter()
                .any(|c| c.scheduled && c.value_type == crate::ir::ValueType::Timestamp)
        });
        let clock = Clock::new(&project.time_zone, time.end_day(), scheduled)?;

        let rows = plan_rows(project, &options.select)?;
        let member_stages = plan_member_stages(project, &rows);
        let (kpis, computed_kpis) = if with_kpis {
            plan_kpis(project, &options.kpis)?
        } else {
            (Vec::new(), Vec::new())
        };

        let (needed, formula_columns) = needed_attributes(project, &rows, &computed_kpis);
        // A fixed offset converts with one addition: nothing to compute once.
        let local_days = match clock.fixed_offset() {
            Some(_) => Vec::new(),
            None => local_day_attributes(project, &needed),
        };

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
            local_days,
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
        self.project.time_column(source)
    }
}

#[cfg(test)]
mod tests;
