//! The statement a plan (or the plans of a series) becomes: every decision about its stages,
//! typed and free of any dialect, so that the renderer only spells it.
//!
//! Stages, in order: the users (with their dimensions), one pass per fact source, quintile
//! scores, membership flags (a drill-down's built on its parent's), then the KPIs of each
//! reported row; `segc explain` ends after membership with one row of counts.

use crate::error::Error;
use crate::ir::{
    AttributeId, AttributeKind, Condition, History, KpiId, KpiType, SegmentId, SourceId,
    SourceRole, ValueType,
};

use super::aggregates::{FactAggregate, FactRank, KpiAggregate};
use super::output::SeriesShape;
use super::times::{PerPeriod, Periods, TimeValue};
use super::{Plan, ReportRow};

/// What the statement returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One row per reported segment: segment, parent, row, the KPIs.
    Report,
    /// The stages of every period of a series, computed per period, then the series' final
    /// SELECT of its shape.
    Series(SeriesShape),
    /// `segc explain`: one row counting the users passing each condition of the segment.
    Explain(SegmentId),
    /// `segc overlap`: one row per reported row counting its members who are also in each
    /// reported row (`all_users`: its size), as the columns of
    /// [`super::output::overlap_column`]. Built from [`Plan::membership`].
    Overlap,
    /// `segc snapshot`: the members of every reported segment on each day of a series of
    /// days (one membership plan per day), merged into the membership history's intervals.
    Snapshot,
}

/// A typed, dialect-free description of one statement.
#[derive(Debug, Clone)]
pub struct Statement<'p> {
    /// Every period's plan, and every value of their time the statement compares against.
    pub periods: Periods<'p>,
    pub kind: Kind,
    pub users: UsersStage,
    pub passes: Vec<PassStage>,
    /// Quintile scores, over every user (of each period).
    pub scores: Vec<AttributeId>,
    /// Membership and KPIs; none for `segc explain`.
    pub membership: Option<Membership>,
    /// The conditions `segc explain` counts, in order.
    pub explain: Vec<ExplainStep>,
}

/// The user table, read before the as-of instant, with its dimensions.
#[derive(Debug, Clone)]
pub struct UsersStage {
    pub source: SourceId,
    /// The user table's key and sign-up columns.
    pub key: String,
    pub signup: String,
    pub columns: Vec<UserColumn>,
    pub joins: Vec<DimensionJoin>,
    /// Whether the fact passes need each user's sign-up instant (windows after sign-up).
    pub keeps_signup: bool,
    /// The user table keeps history: the row valid at the as-of instant is read.
    pub history: Option<History>,
}

/// An attribute read from the user table (`dimension` none) or a dimension.
#[derive(Debug, Clone)]
pub struct UserColumn {
    pub attribute: AttributeId,
    pub dimension: Option<SourceId>,
    pub column: String,
    /// Point in time: a date or timestamp recording when something happened reads as NULL
    /// from the as-of instant (timestamps) or day (dates) on.
    pub known_before: Option<ValueType>,
    /// Read as the timestamp's local date.
    pub as_date: bool,
    /// A boolean, held as a 1/0 flag.
    pub flag: bool,
    /// How the warehouse stores it ([`crate::ir::Column::stored`]).
    pub stored: crate::ir::Stored,
}

/// A dimension joined to the user table.
#[derive(Debug, Clone)]
pub struct DimensionJoin {
    pub source: SourceId,
    /// The dimension's key and the user table's column it equals; none joins every row.
    pub keys: Option<(String, String)>,
    /// The dimension keeps history: its row valid at the as-of instant is joined.
    pub history: Option<History>,
}

/// One pass over a fact source.
#[derive(Debug, Clone)]
pub struct PassStage {
    /// 1, 2, …: the pass's position.
    pub number: usize,
    pub source: SourceId,
    pub user_key: String,
    pub time: Option<String>,
    /// The earliest instant the pass reads, per period (one for a single report); none
    /// when some period reads all history.
    pub lower_bounds: Option<PerPeriod>,
    /// The pass joins the users stage (windows after sign-up).
    pub join_users: bool,
    /// The numberings of ordered-fact attributes, whose facts are numbered first.
    pub ranked: Vec<FactRank>,
    /// Every aggregate attribute of the pass.
    pub aggregates: Vec<FactAggregate>,
}

/// Reported rows (with a segment) per word of a membership signature: bits 0 to 62 of a
/// 64-bit integer, so that every word is positive on every warehouse.
pub const SIGNATURE_BITS: usize = 63;

/// The membership flags of the reported rows and their KPIs.
///
/// Each member has a signature, the set of reported rows it is in (a bit per row with a
/// segment, [`SIGNATURE_BITS`] to a word); whether it is in a row is one bitwise AND,
/// however many rows there are. KPIs are computed from members grouped by signature (see
/// [`KpiGrouping`]): partial aggregates per signature, combined over the signatures of each
/// row; distinct values grouped by the union of their members' signatures; and, for
/// percentiles, members counted per signature and value. A sum or average of fractional
/// numbers adds whole-number pieces ([`Function::Limb`]), so its partials add exactly in any
/// order.
///
/// Signatures are far fewer than members while they fit in one word. With more rows than
/// that, most members have a whole signature of their own, but a row's membership depends
/// only on its own word: the groups are grouped again per word and word's value
/// (render/kpis.rs), and each meets only its word's rows. Measured on 1,000,000 users at
/// 300 segments: 116,442 groups of a word against 287,771 whole signatures, tested against
/// 63 rows each instead of 301.
///
/// [`KpiGrouping`]: crate::plan::aggregates::KpiGrouping
/// [`Function::Limb`]: crate::plan::aggregates::Function::Limb
#[derive(Debug, Clone)]
pub struct Membership {
    /// Formula attributes that a KPI aggregates, as columns.
    pub formulas: Vec<AttributeId>,
    /// Membership flags stage by stage: a drill-down's flag reads its parent's from the
    /// stage before.
    pub stages: Vec<Vec<Flag>>,
    pub rows: Vec<ReportRow>,
    /// Each row's bit in the signature (word, bit), none for `all_users` (every member).
    pub bits: Vec<Option<(usize, u32)>>,
    /// Aggregate KPIs, computed from grouped members.
    pub aggregates: Vec<KpiAggregate>,
    /// The reported KPIs with the type each leaves as.
    pub outputs: Vec<(KpiId, KpiType)>,
}

/// A segment's membership flag: its own conditions and, for a drill-down, its parent's flag.
#[derive(Debug, Clone, Copy)]
pub struct Flag {
    pub segment: SegmentId,
    pub parent: Option<SegmentId>,
}

/// A step of `segc explain`: users passing the condition, and users passing it and every
/// earlier one.
#[derive(Debug, Clone)]
pub struct ExplainStep {
    pub number: usize,
    pub condition: Condition,
    pub so_far: Condition,
}

impl<'p> Statement<'p> {
    /// The statement of one report.
    pub fn report(plan: &'p Plan<'p>) -> Result<Statement<'p>, Error> {
        Statement::new(plan, None, Kind::Report)
    }

    /// The stages of a series, computed per period; `plan` is the latest period's.
    pub fn series(
        plan: &'p Plan<'p>,
        series: &'p [(String, Plan<'p>)],
        shape: SeriesShape,
    ) -> Result<Statement<'p>, Error> {
        Statement::new(plan, Some(series), Kind::Series(shape))
    }

    /// The plan it is built from; for a series, the latest period's (its clock knows the
    /// time zone's offsets for every earlier one).
    pub fn plan(&self) -> &'p Plan<'p> {
        self.periods.latest
    }

    /// The statement of `segc overlap`: the members of each pair of reported rows.
    pub fn overlap(plan: &'p Plan<'p>) -> Result<Statement<'p>, Error> {
        Statement::new(plan, None, Kind::Overlap)
    }

    /// The statement of `segc snapshot` over `days`, one membership plan per day; `plan` is
    /// the latest day's.
    pub fn snapshot(
        plan: &'p Plan<'p>,
        days: &'p [(String, Plan<'p>)],
    ) -> Result<Statement<'p>, Error> {
        Statement::new(plan, Some(days), Kind::Snapshot)
    }

    /// The statement of `segc explain` for a segment.
    pub fn explain(plan: &'p Plan<'p>, segment: SegmentId) -> Result<Statement<'p>, Error> {
        Statement::new(plan, None, Kind::Explain(segment))
    }

    fn new(
        plan: &'p Plan<'p>,
        series: Option<&'p [(String, Plan<'p>)]>,
        kind: Kind,
    ) -> Result<Statement<'p>, Error> {
        let periods = Periods::new(plan, series);
        let (membership, explain) = match kind {
            Kind::Explain(segment) => (None, explain_steps(plan, segment)),
            Kind::Report | Kind::Series(_) | Kind::Overlap | Kind::Snapshot => {
                (Some(membership(plan)), Vec::new())
            }
        };
        Ok(Statement {
            periods,
            kind,
            users: users_stage(plan)?,
            passes: pass_stages(plan, &periods),
            scores: plan.score_columns.clone(),
            membership,
            explain,
        })
    }
}

fn users_stage(plan: &Plan<'_>) -> Result<UsersStage, Error> {
    let project = plan.project;
    let users = project.source(plan.users);
    let SourceRole::Users { key, signup } = &users.role else {
        return Err(Error::Render("the project has no user table".into()));
    };
    let columns = plan
        .column_attributes
        .iter()
        .filter_map(|id| {
            let attribute = project.attribute(*id);
            let AttributeKind::Column {
                source,
                column,
                as_date,
                point_in_time,
            } = &attribute.kind
            else {
                return None;
            };
            Some(UserColumn {
                attribute: *id,
                dimension: (*source != plan.users).then_some(*source),
                column: column.clone(),
                known_before: point_in_time.filter(|t| t.is_temporal()),
                as_date: *as_date,
                flag: !*as_date && attribute.value_type == ValueType::Boolean,
                stored: project
                    .source(*source)
                    .columns
                    .iter()
                    .filter(|c| c.physical == *column)
                    .map(|c| c.stored)
                    .find(|stored| *stored != crate::ir::Stored::Plain)
                    .unwrap_or_default(),
            })
        })
        .collect();
    let joins = plan
        .dimensions
        .iter()
        .map(|id| {
            let source = project.source(*id);
            let keys = match &source.role {
                SourceRole::Dimension { key } => {
                    let users_column = users
                        .column(key)
                        .map_or(key.as_str(), |c| c.physical.as_str());
                    Some((key.clone(), users_column.to_string()))
                }
                _ => None,
            };
            DimensionJoin {
                source: *id,
                keys,
                history: source.history.clone(),
            }
        })
        .collect();
    Ok(UsersStage {
        source: plan.users,
        key: key.clone(),
        signup: signup.clone(),
        columns,
        joins,
        keeps_signup: plan.needs_signup(),
        history: users.history.clone(),
    })
}

fn pass_stages(plan: &Plan<'_>, periods: &Periods<'_>) -> Vec<PassStage> {
    let project = plan.project;
    let plans = periods.plans();
    let mut passes = Vec::new();
    for (index, pass) in plan.fact_passes.iter().enumerate() {
        let SourceRole::Facts { user_key, time, .. } = &project.source(pass.source).role else {
            continue;
        };
        // The same pass in every period: bounded below only if it is in each.
        let lower = |plan: &Plan<'_>| plan.fact_passes.get(index).and_then(|p| p.lower_bound);
        let bounded = plans.iter().all(|plan| lower(plan).is_some());
        let lower_bounds = bounded.then(|| {
            plans
                .iter()
                .map(|plan| TimeValue::Instant(lower(plan).unwrap_or_else(|| plan.end_instant())))
                .collect()
        });
        let ranked = pass
            .attributes
            .iter()
            .filter_map(|id| FactRank::new(project, periods, *id))
            .collect();
        let aggregates = pass
            .attributes
            .iter()
            .filter_map(|id| FactAggregate::new(project, periods, *id))
            .collect();
        passes.push(PassStage {
            number: index + 1,
            source: pass.source,
            user_key: user_key.clone(),
            time: time.clone(),
            lower_bounds: time.as_ref().and(lower_bounds),
            join_users: pass.reads_after_signup(project),
            ranked,
            aggregates,
        });
    }
    passes
}

fn membership(plan: &Plan<'_>) -> Membership {
    let project = plan.project;
    let stages = plan
        .member_stages
        .iter()
        .map(|segments| {
            segments
                .iter()
                .map(|id| Flag {
                    segment: *id,
                    parent: project.inherited_parent(*id),
                })
                .collect()
        })
        .collect();
    let aggregates: Vec<KpiAggregate> = plan
        .computed_kpis
        .iter()
        .filter_map(|id| KpiAggregate::new(project, *id))
        .collect();
    let mut next = 0;
    let bits = plan
        .rows
        .iter()
        .map(|row| {
            row.segment.map(|_| {
                next += 1;
                (
                    (next - 1) / SIGNATURE_BITS,
                    ((next - 1) % SIGNATURE_BITS) as u32,
                )
            })
        })
        .collect();
    Membership {
        formulas: plan.formula_columns.clone(),
        stages,
        rows: plan.rows.clone(),
        bits,
        aggregates,
        outputs: plan
            .kpis
            .iter()
            .map(|id| (*id, project.kpi(*id).value_type))
            .collect(),
    }
}

fn explain_steps(plan: &Plan<'_>, segment: SegmentId) -> Vec<ExplainStep> {
    let mut so_far = Vec::new();
    super::output::explain_steps(plan.project, segment)
        .into_iter()
        .enumerate()
        .map(|(index, (_, condition))| {
            so_far.push(condition.clone());
            ExplainStep {
                number: index + 1,
                condition,
                so_far: Condition::All(so_far.clone()),
            }
        })
        .collect()
}
