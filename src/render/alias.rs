//! The aliases a statement gives its tables and stages, named once: the stages written in
//! Rust and the template (as `alias.<name>`, already quoted) both read them from here.

use minijinja::Value;

use crate::dialect::Dialect;

/// A table or stage alias of the statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Alias {
    /// The user table, and later the users stage.
    Users,
    /// A fact table inside its pass, and the numbered copy of its rows.
    Facts,
    /// The series' spine: one row per period, carrying the period's time values.
    Spine,
    /// A row of the attributes (or scores) stage.
    Attributes,
    /// A row of the members stage (flags and the columns KPIs read).
    Members,
    /// A reported row (segment, parent, row number).
    Segments,
    /// A reported row's KPI aggregates.
    Kpis,
    /// A series' result, in its final SELECT.
    Result,
    /// The current and the prior period of a comparison, in its final SELECT.
    Current,
    Prior,
    /// A period of a written report (`--materialize`): its as-of day, period and side.
    Written,
    /// A KPI of a written report, by number and name.
    KpiNames,
    /// `segc snapshot`: an interval of the membership history, …
    History,
    /// … a snapshotted segment's recorded days, …
    Recorded,
    /// … a piece of an interval being merged, …
    Piece,
    /// … a day of the snapshot, …
    Day,
    /// … and a snapshotted segment with its definition hash.
    Snapshotted,
    /// A reported row's flow KPIs, from the membership history.
    Flows,
    /// A reported row's timed KPIs (`membership: timed`).
    Timed,
    /// A series' facts per user and slice of time, …
    Slices,
    /// … and the slices a period reads.
    Links,
    /// A grouping of members: by signature, or by a value a KPI reads.
    Groupings,
    /// A score's distinct values, with how many users hold each.
    ScoreValues,
    /// A word of a wide report's signatures, by number.
    Words,
    /// A distinct tuple of the values segment conditions read (render/masks.rs).
    Masks,
    /// A stage's rows with the piece totals of its exact sums, …
    ExactSums,
    /// … and with those totals carried into digits (render/expr/exact.rs).
    ExactDigits,
}

impl Alias {
    const ALL: [Alias; 27] = [
        Alias::Users,
        Alias::Facts,
        Alias::Spine,
        Alias::Attributes,
        Alias::Members,
        Alias::Segments,
        Alias::Kpis,
        Alias::Result,
        Alias::Current,
        Alias::Prior,
        Alias::Written,
        Alias::KpiNames,
        Alias::History,
        Alias::Recorded,
        Alias::Piece,
        Alias::Day,
        Alias::Snapshotted,
        Alias::Flows,
        Alias::Timed,
        Alias::Slices,
        Alias::Links,
        Alias::Groupings,
        Alias::ScoreValues,
        Alias::Words,
        Alias::Masks,
        Alias::ExactSums,
        Alias::ExactDigits,
    ];

    /// The alias in the SQL (unquoted).
    pub(super) fn name(self) -> &'static str {
        match self {
            Alias::Users => "u",
            Alias::Facts => "f",
            Alias::Spine => "t",
            Alias::Attributes => "a",
            Alias::Members => "m",
            Alias::Segments => "s",
            Alias::Kpis => "k",
            Alias::Result => "r",
            Alias::Current => "c",
            Alias::Prior => "p",
            Alias::Written => "w",
            Alias::KpiNames => "n",
            Alias::History => "h",
            Alias::Recorded => "e",
            Alias::Piece => "i",
            Alias::Day => "y",
            Alias::Snapshotted => "g",
            Alias::Flows => "x",
            Alias::Timed => "z",
            Alias::Slices => "b",
            Alias::Links => "l",
            Alias::Groupings => "o",
            Alias::ScoreValues => "v",
            Alias::Words => "j",
            Alias::Masks => "d",
            Alias::ExactSums => "xs",
            Alias::ExactDigits => "xd",
        }
    }

    /// Its name in the template: `alias.users`, …
    fn key(self) -> &'static str {
        match self {
            Alias::Users => "users",
            Alias::Facts => "facts",
            Alias::Spine => "spine",
            Alias::Attributes => "attributes",
            Alias::Members => "members",
            Alias::Segments => "segments",
            Alias::Kpis => "kpis",
            Alias::Result => "result",
            Alias::Current => "current",
            Alias::Prior => "prior",
            Alias::Written => "written",
            Alias::KpiNames => "kpi_names",
            Alias::History => "history",
            Alias::Recorded => "recorded",
            Alias::Piece => "piece",
            Alias::Day => "day",
            Alias::Snapshotted => "snapshotted",
            Alias::Flows => "flows",
            Alias::Timed => "timed",
            Alias::Slices => "slices",
            Alias::Links => "links",
            Alias::Groupings => "groupings",
            Alias::ScoreValues => "score_values",
            Alias::Words => "words",
            Alias::Masks => "masks",
            Alias::ExactSums => "exact_sums",
            Alias::ExactDigits => "exact_digits",
        }
    }

    /// The alias quoted for `dialect`.
    pub(super) fn quoted(self, dialect: &Dialect) -> String {
        dialect.quote_identifier(self.name())
    }
}

/// The alias of the `number`th fact pass's result, joined to the users stage.
pub(super) fn pass(number: usize) -> String {
    format!("p{number}")
}

/// The alias of the `number`th quintile score's values, joined to the attributes.
pub(super) fn score(number: usize) -> String {
    format!("q{number}")
}

/// The alias of a dimension joined to the user table.
pub(super) fn dimension(source: &str) -> String {
    format!("d_{source}")
}

/// Every alias, quoted for `dialect`, as the template's `alias` value.
pub(super) fn template_value(dialect: &Dialect) -> Value {
    Value::from_pairs(
        Alias::ALL
            .into_iter()
            .map(|alias| (alias.key(), alias.quoted(dialect))),
    )
}
