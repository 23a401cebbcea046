//! The typed, dialect-free model of a project: every name resolved to an id, every value
//! typed. The planner and the SQL generator work from this alone.

pub mod expr;
pub mod time;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

pub use expr::{BinaryOperator, Expr, Function};
pub use time::{Duration, Window};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct SourceId(pub usize);
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct AttributeId(pub usize);
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct SegmentId(pub usize);
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct KpiId(pub usize);

/// Where a definition was written, for comments in the generated SQL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Origin {
    pub file: String,
    pub line: usize,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Project {
    pub name: String,
    /// IANA time zone name; day boundaries are taken in this zone.
    pub time_zone: String,
    pub activity_window: Window,
    /// The project's default `--as-of` day, when it sets one.
    pub default_as_of: Option<NaiveDate>,
    pub default_target: Option<String>,
    /// The target a hint to refresh the snapshot names: the one whose catalog the command
    /// read (set by `run` and `explain`), else the snapshot's or the default.
    #[serde(skip)]
    pub refresh_target: Option<String>,
    pub currency_symbol: String,
    /// `results_table:`, where `segc run --materialize` writes (a target may name its own).
    pub results_table: Option<String>,
    /// `history_table:`, where `segc snapshot` records membership (a target may name its own).
    pub history_table: Option<String>,
    pub sources: Vec<Source>,
    pub attributes: Vec<Attribute>,
    pub segments: Vec<Segment>,
    pub kpis: Vec<Kpi>,
}

impl Project {
    pub fn source(&self, id: SourceId) -> &Source {
        &self.sources[id.0]
    }
    pub fn attribute(&self, id: AttributeId) -> &Attribute {
        &self.attributes[id.0]
    }
    pub fn segment(&self, id: SegmentId) -> &Segment {
        &self.segments[id.0]
    }
    pub fn kpi(&self, id: KpiId) -> &Kpi {
        &self.kpis[id.0]
    }
    /// The time column of a fact source (none for another source, or facts without time).
    pub fn time_column(&self, source: SourceId) -> Option<&str> {
        match &self.source(source).role {
            SourceRole::Facts { time, .. } => time.as_deref(),
            _ => None,
        }
    }
    /// True when a fact source's time column is a date (a local day), not an instant.
    pub fn time_is_date(&self, source: SourceId) -> bool {
        matches!(
            &self.source(source).role,
            SourceRole::Facts {
                time_type: ValueType::Date,
                ..
            }
        )
    }
    /// True when the user table's sign-up column is a date (a local day), not an instant.
    pub fn signup_is_date(&self) -> bool {
        let users = self.source(self.users_source());
        match &users.role {
            SourceRole::Users { signup, .. } => users
                .columns
                .iter()
                .any(|c| c.physical == *signup && c.value_type == ValueType::Date),
            _ => false,
        }
    }
    /// The one source that lists users.
    pub fn users_source(&self) -> SourceId {
        SourceId(
            self.sources
                .iter()
                .position(|s| matches!(s.role, SourceRole::Users { .. }))
                .unwrap_or(0),
        )
    }
    pub fn segment_by_name(&self, name: &str) -> Option<SegmentId> {
        self.segments
            .iter()
            .position(|s| s.name == name)
            .map(SegmentId)
    }
    /// See [`inherited_parent`].
    pub fn inherited_parent(&self, id: SegmentId) -> Option<SegmentId> {
        inherited_parent(&self.segments, id)
    }
    /// See [`membership`].
    pub fn membership(&self, id: SegmentId) -> Condition {
        membership(&self.segments, id)
    }
    /// A segment's ancestors through `parent`, the outermost first.
    pub fn ancestors(&self, id: SegmentId) -> Vec<SegmentId> {
        let mut ancestors = Vec::new();
        let mut current = self.segment(id).parent;
        // Validation breaks `parent` cycles; the bound only guards against a broken model.
        while let Some(parent) = current.filter(|_| ancestors.len() < self.segments.len()) {
            ancestors.push(parent);
            current = self.segment(parent).parent;
        }
        ancestors.reverse();
        ancestors
    }
}

/// Rule 11, a child is a drill-down: its members are its parent's members that meet its own
/// conditions. Returns the parent whose membership must be added to a segment's own
/// conditions: its `parent`, unless those conditions already require it, with an `all`
/// that holds `in_segment` of the parent or of one of the parent's descendants (a child may
/// say `in_segment: <parent>` itself; writing the parent in twice would double the SQL at
/// each level of a chain).
pub fn inherited_parent(segments: &[Segment], id: SegmentId) -> Option<SegmentId> {
    let segment = &segments[id.0];
    let parent = segment.parent?;
    let implied = requires_segment(&segment.condition, &|named| {
        descends_from(segments, named, parent)
    });
    (!implied).then_some(parent)
}

/// True when `segment` is `ancestor` or one of its descendants through `parent`.
pub fn descends_from(segments: &[Segment], segment: SegmentId, ancestor: SegmentId) -> bool {
    let mut current = Some(segment);
    // Bounded, for the validator's checks that run before `parent` cycles are broken.
    for _ in 0..=segments.len() {
        match current {
            Some(found) if found == ancestor => return true,
            Some(found) => current = segments[found.0].parent,
            None => return false,
        }
    }
    false
}

/// True when `condition` holds only for members of a segment `named` accepts: it is, or is
/// an `all` holding, `in_segment` of one.
fn requires_segment(condition: &Condition, named: &impl Fn(SegmentId) -> bool) -> bool {
    match condition {
        Condition::InSegment(id) => named(*id),
        Condition::All(items) => items.iter().any(|item| requires_segment(item, named)),
        _ => false,
    }
}

/// A segment's whole membership condition: its own conditions and, for a child, its parent's
/// membership (and so every ancestor's), as `in_segment` of the parent.
pub fn membership(segments: &[Segment], id: SegmentId) -> Condition {
    let own = &segments[id.0].condition;
    let Some(parent) = inherited_parent(segments, id) else {
        return own.clone();
    };
    let inherited = Condition::InSegment(parent);
    match own {
        Condition::True => inherited,
        Condition::All(items) => {
            let mut all = Vec::with_capacity(items.len() + 1);
            all.push(inherited);
            all.extend(items.iter().cloned());
            Condition::All(all)
        }
        other => Condition::All(vec![inherited, other.clone()]),
    }
}

/// A table name: dot-separated parts, with per-target (or per-dialect) overrides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableName {
    pub default: Vec<String>,
    pub overrides: BTreeMap<String, Vec<String>>,
}

impl TableName {
    /// The parts to use for a target name or a dialect name, in that order of preference.
    pub fn resolve(&self, target: Option<&str>, dialect: &str) -> &[String] {
        target
            .and_then(|t| self.overrides.get(t))
            .or_else(|| self.overrides.get(dialect))
            .unwrap_or(&self.default)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Source {
    pub name: String,
    pub table: TableName,
    pub role: SourceRole,
    /// Logical column name → physical column, in declaration order.
    pub columns: Vec<Column>,
    /// A source keeping history (type-2 rows): the row valid at the as-of instant is read.
    pub history: Option<History>,
    /// The type of `key` or `user_key` (declared, from the snapshot, learned from the
    /// catalog, or that of the key it joins): a string key is joined and grouped exactly
    /// (rule 15), which a dialect whose `=` folds case or pads cannot do without it.
    pub key_type: KeyType,
    /// A string key of a fixed-length type (SQL Server's `char(n)`), read without its
    /// padding as [`Stored::Padded`] columns are.
    pub key_padded: bool,
    /// Where `key` or `user_key` is written.
    pub key_origin: Origin,
    pub origin: Origin,
}

impl Source {
    /// The physical column of `key` or `user_key`.
    pub fn key_column(&self) -> &str {
        match &self.role {
            SourceRole::Users { key, .. } | SourceRole::Dimension { key } => key,
            SourceRole::Facts { user_key, .. } => user_key,
        }
    }
}

/// What segc knows of a key column's type: only whether it is a string matters, since a
/// string key is joined and grouped exactly and any other (an integer, a UUID) as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum KeyType {
    Unknown,
    String,
    Other,
}

impl KeyType {
    pub fn of(value_type: ValueType) -> KeyType {
        match value_type {
            ValueType::Unknown => KeyType::Unknown,
            ValueType::String => KeyType::String,
            _ => KeyType::Other,
        }
    }

    /// As a message says it.
    pub fn described(self) -> &'static str {
        match self {
            KeyType::Unknown => "of an unknown type",
            KeyType::String => "a string",
            KeyType::Other => "not a string",
        }
    }
}

/// The physical validity columns of a type-2 source: a row is valid from `valid_from`
/// (inclusive) until `valid_to` (exclusive; NULL while it is the current row).
#[derive(Debug, Clone, Serialize)]
pub struct History {
    pub valid_from: String,
    pub valid_to: String,
    /// Their type: timestamps (instants, UTC), or dates (a row valid from a local day).
    pub value_type: ValueType,
}

#[derive(Debug, Clone, Serialize)]
pub struct Column {
    pub name: String,
    pub physical: String,
    pub value_type: ValueType,
    /// A date or timestamp known in advance (`scheduled: true`): read as it is. Other dates
    /// and timestamps of user and dimension rows record when something happened, and read
    /// as NULL from the as-of instant on (point in time).
    pub scheduled: bool,
    /// How the warehouse stores it, where segc reads it otherwise ([`Stored`]).
    pub stored: Stored,
}

/// How the warehouse stores a column, where segc reads it otherwise so that every warehouse
/// compares, counts and adds the same values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub enum Stored {
    /// Read as it is.
    #[default]
    Plain,
    /// A fixed-length string of the warehouse (SQL Server's `char(n)`, `nchar(n)`), padded
    /// with spaces to the column's length: read without its trailing spaces (`RTRIM`), as
    /// PostgreSQL reads a `char(n)`, so that the padding is not compared as part of it.
    Padded,
    /// A single-precision float (`real`, `float4`, DuckDB's `FLOAT`): read as the double it
    /// holds. PostgreSQL and Redshift compare a `real` with a decimal in double precision,
    /// DuckDB and SQL Server in single precision, and PostgreSQL an `IN` list of two or more
    /// in single precision; read as a double it compares alike everywhere (a stored 0.1 is
    /// 0.100000001490116, which `eq: 0.1` does not match).
    Single,
}

impl Source {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum SourceRole {
    /// The user table: one row per user.
    Users { key: String, signup: String },
    /// A table joined to users: its `key` column equals the user table's column of the same
    /// name (`accounts.account_id` = `users.account_id`).
    Dimension { key: String },
    /// Facts about users, optionally timed.
    Facts {
        user_key: String,
        time: Option<String>,
        /// The type of `time`: a timestamp (an instant, UTC), or a date (a local day: its
        /// facts happened that day in the project's time zone).
        time_type: ValueType,
    },
}

/// The type of a value, as far as segc knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ValueType {
    Unknown,
    Number,
    Integer,
    String,
    Date,
    Timestamp,
    Boolean,
}

impl ValueType {
    pub fn name(self) -> &'static str {
        match self {
            ValueType::Unknown => "unknown",
            ValueType::Number => "number",
            ValueType::Integer => "integer",
            ValueType::String => "string",
            ValueType::Date => "date",
            ValueType::Timestamp => "timestamp",
            ValueType::Boolean => "boolean",
        }
    }
    pub fn is_numeric(self) -> bool {
        matches!(self, ValueType::Number | ValueType::Integer)
    }
    pub fn is_temporal(self) -> bool {
        matches!(self, ValueType::Date | ValueType::Timestamp)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Attribute {
    pub name: String,
    pub kind: AttributeKind,
    pub value_type: ValueType,
    /// Columns of the user or dimension tables that no declared attribute shadows are
    /// usable by name; they are attributes that were not written down.
    pub implicit: bool,
    /// The `description:` written with it, if any.
    pub description: Option<String>,
    pub origin: Origin,
}

#[derive(Debug, Clone, Serialize)]
pub enum AttributeKind {
    /// A column of the user table or of a dimension joined to it.
    Column {
        source: SourceId,
        column: String,
        /// Cast a timestamp to its date in the project time zone.
        as_date: bool,
        /// The stored type (date or timestamp) when the column records when something
        /// happened: it reads as NULL from the as-of instant on (point in time). None for
        /// other types, `scheduled: true` columns and the sign-up column.
        point_in_time: Option<ValueType>,
    },
    /// An aggregate over a fact source.
    Aggregate {
        source: SourceId,
        aggregation: Aggregation,
        column: Option<FactColumn>,
        window: Window,
        filter: Option<Condition>,
    },
    Formula(Expr),
    /// A 1–5 score: the quintile of another attribute's value among all users who have one
    /// (NULL for those who do not). Ties share the lower score. With `best_lowest`, the
    /// lowest values score 5 (recency); otherwise the highest do.
    Quintile {
        of: AttributeId,
        best_lowest: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum FactColumn {
    Column {
        physical: String,
        value_type: ValueType,
        /// How the warehouse stores it ([`Column::stored`]).
        stored: Stored,
    },
    /// The source's time column, a timestamp or a date.
    Time(ValueType),
}

impl FactColumn {
    /// The column's type as declared.
    pub fn value_type(&self) -> ValueType {
        match self {
            FactColumn::Column { value_type, .. } | FactColumn::Time(value_type) => *value_type,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Aggregation {
    Count,
    CountDistinct,
    CountDistinctDays,
    Sum,
    Avg,
    Min,
    Max,
    /// The value on the user's n-th fact in time order (1 = first); `from_end` counts from
    /// the latest. Facts at the same instant are ordered by the value, NULLs last.
    Nth {
        n: u32,
        from_end: bool,
    },
}

impl Aggregation {
    pub const NAMES: &'static [&'static str] = &[
        "count",
        "count_distinct",
        "count_distinct_days",
        "sum",
        "avg",
        "min",
        "max",
        "first",
        "last",
        "nth",
    ];

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "count" => Aggregation::Count,
            "count_distinct" => Aggregation::CountDistinct,
            "count_distinct_days" => Aggregation::CountDistinctDays,
            "sum" => Aggregation::Sum,
            "avg" => Aggregation::Avg,
            "min" => Aggregation::Min,
            "max" => Aggregation::Max,
            "first" => Aggregation::Nth {
                n: 1,
                from_end: false,
            },
            "last" => Aggregation::Nth {
                n: 1,
                from_end: true,
            },
            // `n` comes from its own key; the validator fills it in.
            "nth" => Aggregation::Nth {
                n: 0,
                from_end: false,
            },
            _ => return None,
        })
    }

    /// The value over no facts: 0 for counts and sums, NULL otherwise.
    pub fn zero_when_empty(self) -> bool {
        matches!(
            self,
            Aggregation::Count
                | Aggregation::CountDistinct
                | Aggregation::CountDistinctDays
                | Aggregation::Sum
        )
    }
}

/// A condition over attributes (segments, KPI filters) or over a fact source's columns
/// (attribute filters).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Condition {
    True,
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
    InSegment(SegmentId),
    Predicate {
        operand: Operand,
        predicate: Predicate,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Operand {
    Attribute(AttributeId),
    /// A column of the fact source being aggregated.
    SourceColumn {
        column: FactColumn,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Literal {
    /// A number written with a fraction or an exponent, or too large for 64 bits.
    Number(f64),
    /// A whole number written without a fraction: written into the SQL as it is, so that it
    /// compares exactly with an integer column (a double holds every integer only up to
    /// 2^53: `eq: 9007199254740993` would compare with 9007199254740992).
    Integer(i64),
    String(String),
    Date(NaiveDate),
    Boolean(bool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Comparison {
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Predicate {
    Compare(Comparison, Literal),
    Between(Literal, Literal),
    In(Vec<Literal>),
    NotIn(Vec<Literal>),
    IsNull(bool),
    Contains(String),
    StartsWith(String),
    EndsWith(String),
    WithinLast(Duration),
    Before(NaiveDate),
    After(NaiveDate),
}

/// A segment's place in an `exclusive` set: users who meet the conditions of a segment
/// checked earlier (lower `priority`) are not members.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exclusive {
    pub set: String,
    pub priority: u32,
    /// The segments checked before this one, in order.
    pub before: Vec<SegmentId>,
    /// The condition added to the segment's own: none of `before`'s conditions holds (each
    /// one's [`membership`], without its own exclusion).
    pub exclusion: Condition,
}

#[derive(Debug, Clone, Serialize)]
pub struct Segment {
    pub name: String,
    pub label: String,
    /// The segment this one drills down from: its members are the parent's members that
    /// meet `condition` (see [`membership`]).
    pub parent: Option<SegmentId>,
    pub visible: bool,
    /// The segment's own conditions, without its ancestors'; in an `exclusive` set it ends
    /// with the exclusion.
    pub condition: Condition,
    /// Membership of an `exclusive` set.
    pub exclusive: Option<Exclusive>,
    /// The `description:` written with it, if any.
    pub description: Option<String>,
    pub origin: Origin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Format {
    Number,
    Integer,
    Percent,
    Currency,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Number => "number",
            Format::Integer => "integer",
            Format::Percent => "percent",
            Format::Currency => "currency",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum KpiAggregation {
    Count,
    CountDistinct,
    Sum,
    Avg,
    Min,
    Max,
    Median,
    Percentile(f64),
}

#[derive(Debug, Clone, Serialize)]
pub enum KpiKind {
    Aggregate {
        aggregation: KpiAggregation,
        of: Option<AttributeId>,
        filter: Option<Condition>,
    },
    Ratio(KpiId, KpiId),
    ShareOfTotal(KpiId),
    /// Read from the membership history (`segc snapshot`): a row's members who entered or
    /// left during the period, who stayed, or the change in its size.
    Flow(Flow),
}

/// A flow KPI over the report's period [first, last], from the membership history: a user
/// is a member on a day when one of their intervals covers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Flow {
    /// Users with an interval starting on a day of the period.
    Entered,
    /// Users with an interval ending on a day of the period (members the day before it, not
    /// on it).
    Left,
    /// Members on the day before the period and on its last day.
    Retained,
    /// Members on the period's last day minus members on the day before it.
    NetChange,
}

impl Flow {
    pub const ALL: [(&'static str, Flow); 4] = [
        ("entered", Flow::Entered),
        ("left", Flow::Left),
        ("retained", Flow::Retained),
        ("net_change", Flow::NetChange),
    ];

    pub fn name(self) -> &'static str {
        Flow::ALL
            .iter()
            .find(|(_, flow)| *flow == self)
            .map(|(name, _)| *name)
            .unwrap_or("entered")
    }
}

/// What a KPI's values are, for casting and for JSON output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum KpiType {
    Integer,
    Double,
    Date,
    Timestamp,
    String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Kpi {
    pub name: String,
    pub label: String,
    pub kind: KpiKind,
    pub format: Format,
    pub value_type: KpiType,
    /// `membership: timed`: the facts of its attribute count only while the user was a
    /// member of the row's segment (from the membership history).
    pub timed: bool,
    /// The `description:` written with it, if any.
    pub description: Option<String>,
    pub origin: Origin,
}
