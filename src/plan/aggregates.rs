//! Aggregates as the statement holds them: what each computes, over which value, from which
//! rows, with every choice made here (strings compared exactly, booleans read as 1/0 flags, a
//! bare count counting rows, ordered facts numbered first) so that the renderer only spells.

use crate::ir::{
    Aggregation, AttributeId, AttributeKind, Condition, FactColumn, KpiAggregation, KpiId, KpiKind,
    Project, SourceId, SourceRole, ValueType, Window,
};

use super::times::{Periods, WindowBounds};

/// An aggregate function, as the statement applies it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Function {
    /// Every row counts (no value, no filter).
    CountRows,
    /// Rows whose value is not NULL.
    Count,
    CountDistinct,
    /// Over the value read as a double; a sum of fractional numbers is exact (see
    /// [`Function::Limb`]).
    Sum,
    Avg,
    /// A partial of an exact sum of fractional numbers: the sum, as a whole number, of one of
    /// the four 32-bit pieces (0 the lowest) each value is cut into at fixed binary points
    /// (2^-64, 2^-32, 1, 2^32). Whole numbers add exactly in any order, so the total is the
    /// same on every run and warehouse (rule 16); bits below 2^-64 are dropped.
    Limb(u8),
    Min,
    Max,
    /// Continuous percentiles over the value read as a double.
    Median,
    Percentile(f64),
}

/// What an aggregate over facts reads from each fact.
#[derive(Debug, Clone, PartialEq)]
pub enum FactValue {
    /// 1: a count of facts.
    One,
    /// A column of the fact (the time column included); `flag`: a boolean, read as 1/0.
    Column { column: FactColumn, flag: bool },
    /// The local day of the fact's time (`count_distinct_days`); none without a time column.
    LocalDay { time: Option<String> },
}

/// Which of its pass's facts an aggregate (or a rank) reads.
#[derive(Debug, Clone, PartialEq)]
pub struct FactRows {
    /// The fact's time column with the window's bounds over it.
    pub window: Option<FactWindow>,
    /// The attribute's `where`.
    pub filter: Option<Condition>,
}

/// A window over a fact source's time column.
#[derive(Debug, Clone, PartialEq)]
pub struct FactWindow {
    pub time: String,
    pub bounds: WindowBounds,
    /// Facts from sign-up until so many days after it.
    pub after_signup: Option<u32>,
}

impl FactRows {
    /// Whether every fact of the pass counts (no condition to write).
    pub fn is_all(&self) -> bool {
        self.filter.is_none()
            && self.window.as_ref().is_none_or(|window| {
                window.bounds.start.is_none()
                    && window.bounds.end.is_none()
                    && window.after_signup.is_none()
            })
    }
}

/// An attribute's aggregate over its facts, in the pass over its source.
#[derive(Debug, Clone, PartialEq)]
pub struct FactAggregate {
    pub attribute: AttributeId,
    pub source: SourceId,
    pub function: Function,
    pub value: FactValue,
    pub rows: FactRows,
    /// Strings are told apart and ordered exactly (rule 15).
    pub exact: bool,
    /// Ordered facts: the value on the fact ranked `n` by [`FactRank`] (NULL outside the
    /// window and filter), instead of `function` over `rows`.
    pub nth: Option<u32>,
    /// A user without facts gets 0 rather than NULL.
    pub zero_when_empty: bool,
    /// The value is a whole number (a count, an integer, a boolean as 1/0): its sums are
    /// exact in a double; others are summed in pieces ([`Function::Limb`]).
    pub whole: bool,
}

/// For an ordered-fact attribute: the numbering of each user's facts in time order (latest
/// first with `latest_first`), ties broken by the value (NULLs last), NULL for facts outside
/// its window and filter.
#[derive(Debug, Clone, PartialEq)]
pub struct FactRank {
    pub attribute: AttributeId,
    pub source: SourceId,
    pub user_key: String,
    pub time: Option<String>,
    pub latest_first: bool,
    /// The value breaking ties (not the time column), and whether it compares exactly.
    pub tie: Option<(FactColumn, bool)>,
    pub rows: FactRows,
}

/// An aggregate KPI over the members of a reported row.
#[derive(Debug, Clone, PartialEq)]
pub struct KpiAggregate {
    pub kpi: KpiId,
    pub function: Function,
    /// The attribute it aggregates; none counts members.
    pub of: Option<AttributeId>,
    pub filter: Option<Condition>,
    /// Strings are told apart and ordered exactly (rule 15).
    pub exact: bool,
    /// The value is a whole number (an integer, or a boolean as 1/0): its sums are exact
    /// in a double whatever the order of their terms; others are summed in pieces
    /// ([`Function::Limb`]).
    pub whole: bool,
}

/// How an aggregate KPI is computed from members grouped by their signature (see
/// [`crate::plan::statement::Membership`]), never from a row per member and reported row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum KpiGrouping {
    /// From partial aggregates per signature: a count, a sum, a minimum or a maximum, an
    /// average as a sum and a count.
    Partial,
    /// A distinct count: each distinct value with the union of its members' signatures (the
    /// rows any member with that value is in); values with the same union are counted
    /// together, and a row's count is the sum of the counts of the unions it is in.
    DistinctValues,
    /// A continuous percentile (a median is 0.5): members counted per signature and value;
    /// a row's values, in order, with their counts give the two values the percentile lies
    /// between.
    Values(f64),
}

impl FactAggregate {
    /// The typed aggregate of an aggregate attribute; none for another attribute.
    pub fn new(project: &Project, periods: &Periods<'_>, id: AttributeId) -> Option<Self> {
        let attribute = project.attribute(id);
        let AttributeKind::Aggregate {
            source,
            aggregation,
            column,
            ..
        } = &attribute.kind
        else {
            return None;
        };
        let rows = fact_rows(project, periods, id)?;
        let value = match (aggregation, column) {
            (Aggregation::CountDistinctDays, _) => FactValue::LocalDay {
                time: project.time_column(*source).map(str::to_string),
            },
            (_, Some(column)) => FactValue::Column {
                column: column.clone(),
                flag: column.value_type() == ValueType::Boolean
                    || attribute.value_type == ValueType::Boolean,
            },
            (_, None) => FactValue::One,
        };
        let string_column = column.as_ref().map(FactColumn::value_type) == Some(ValueType::String);
        let (function, exact, nth) = match aggregation {
            Aggregation::Count if column.is_none() && rows.is_all() => {
                (Function::CountRows, false, None)
            }
            Aggregation::Count => (Function::Count, false, None),
            Aggregation::CountDistinct => (Function::CountDistinct, string_column, None),
            Aggregation::CountDistinctDays => (Function::CountDistinct, false, None),
            Aggregation::Sum => (Function::Sum, false, None),
            Aggregation::Avg => (Function::Avg, false, None),
            Aggregation::Min => (
                Function::Min,
                attribute.value_type == ValueType::String,
                None,
            ),
            Aggregation::Max => (
                Function::Max,
                attribute.value_type == ValueType::String,
                None,
            ),
            Aggregation::Nth { n, .. } => (Function::Max, false, Some(*n)),
        };
        Some(FactAggregate {
            attribute: id,
            source: *source,
            function,
            rows,
            exact,
            nth,
            zero_when_empty: aggregation.zero_when_empty(),
            whole: match &value {
                FactValue::Column { column, flag } => {
                    *flag || column.value_type() == ValueType::Integer
                }
                _ => true,
            },
            value,
        })
    }
}

impl FactRank {
    /// The numbering an ordered-fact attribute reads; none for another attribute.
    pub fn new(project: &Project, periods: &Periods<'_>, id: AttributeId) -> Option<Self> {
        let attribute = project.attribute(id);
        let AttributeKind::Aggregate {
            source,
            aggregation: Aggregation::Nth { from_end, .. },
            column,
            ..
        } = &attribute.kind
        else {
            return None;
        };
        let SourceRole::Facts { user_key, time, .. } = &project.source(*source).role else {
            return None;
        };
        let tie = column
            .as_ref()
            .filter(|column| !matches!(column, FactColumn::Time(_)))
            .map(|column| (column.clone(), attribute.value_type == ValueType::String));
        Some(FactRank {
            attribute: id,
            source: *source,
            user_key: user_key.clone(),
            time: time.clone(),
            latest_first: *from_end,
            tie,
            rows: fact_rows(project, periods, id)?,
        })
    }
}

impl KpiAggregate {
    /// The typed aggregate of an aggregate KPI; none for a ratio or share.
    pub fn new(project: &Project, id: KpiId) -> Option<Self> {
        let KpiKind::Aggregate {
            aggregation,
            of,
            filter,
        } = &project.kpi(id).kind
        else {
            return None;
        };
        // Computed per member from the history instead (render/timed.rs).
        if project.kpi(id).timed {
            return None;
        }
        let string = of.is_some_and(|of| project.attribute(of).value_type == ValueType::String);
        let (function, exact) = match aggregation {
            KpiAggregation::Count if of.is_none() && filter.is_none() => {
                (Function::CountRows, false)
            }
            KpiAggregation::Count => (Function::Count, false),
            KpiAggregation::CountDistinct => (Function::CountDistinct, string),
            KpiAggregation::Sum => (Function::Sum, false),
            KpiAggregation::Avg => (Function::Avg, false),
            KpiAggregation::Min => (Function::Min, string),
            KpiAggregation::Max => (Function::Max, string),
            KpiAggregation::Median => (Function::Median, false),
            KpiAggregation::Percentile(p) => (Function::Percentile(*p), false),
        };
        Some(KpiAggregate {
            kpi: id,
            function,
            of: *of,
            filter: filter.clone(),
            exact,
            whole: of.is_none_or(|of| whole_attribute(project, of)),
        })
    }

    /// How the KPI is computed from grouped members.
    pub fn grouping(&self) -> KpiGrouping {
        match self.function {
            Function::CountRows
            | Function::Count
            | Function::Min
            | Function::Max
            | Function::Sum
            | Function::Avg
            | Function::Limb(_) => KpiGrouping::Partial,
            Function::CountDistinct => KpiGrouping::DistinctValues,
            Function::Median => KpiGrouping::Values(0.5),
            Function::Percentile(p) => KpiGrouping::Values(p),
        }
    }
}

/// Whether an attribute's values are whole numbers: an integer or a boolean, or a sum of an
/// integer or boolean column (a double that holds a whole number).
pub(crate) fn whole_attribute(project: &Project, id: AttributeId) -> bool {
    let attribute = project.attribute(id);
    match &attribute.kind {
        AttributeKind::Aggregate {
            aggregation: Aggregation::Sum,
            column: Some(column),
            ..
        } => matches!(column.value_type(), ValueType::Integer | ValueType::Boolean),
        _ => matches!(
            attribute.value_type,
            ValueType::Integer | ValueType::Boolean
        ),
    }
}

/// The facts an aggregate attribute reads: its window over the source's time column (when it
/// has one) and its `where`.
fn fact_rows(project: &Project, periods: &Periods<'_>, id: AttributeId) -> Option<FactRows> {
    let AttributeKind::Aggregate {
        source,
        window,
        filter,
        ..
    } = &project.attribute(id).kind
    else {
        return None;
    };
    let window = project.time_column(*source).map(|time| FactWindow {
        time: time.to_string(),
        bounds: periods.window(*window),
        after_signup: match window {
            Window::AfterSignup { days } => Some(*days),
            _ => None,
        },
    });
    Some(FactRows {
        window,
        filter: filter.clone(),
    })
}
