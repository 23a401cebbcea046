//! Conditions, formulas and aggregates rendered for one dialect. Every construct whose
//! spelling differs is a macro call; values go through the dialect's literal functions.
//!
//! The spelling is split by what it spells: `conditions` (conditions and their predicates),
//! `aggregates` (fact aggregates, ordered-fact ranks, KPI aggregates and percentiles),
//! `formulas`, and `time` (local dates, time literals and windows).

mod aggregates;
mod conditions;
mod formulas;
mod time;

use minijinja::{State, Value};

use crate::dialect::Dialect;
use crate::error::Error;
use crate::ir::FactColumn;
use crate::plan::Plan;

pub(super) struct Sql<'a, 's> {
    state: &'a mut State<'s, 's>,
    dialect: &'a Dialect,
    plan: &'a Plan<'a>,
    /// A series computed in one statement: every period's plan. Values that depend on the
    /// period are then columns of the `segc_spine` stage (one row per period), not literals.
    series: Option<&'a [(String, Plan<'a>)]>,
    /// Where the spine's columns are visible in the SQL being written: the joined spine, or
    /// a row that carries its columns.
    pub(super) spine_alias: String,
    /// The spine's columns: a name, then one literal per period.
    pub(super) spine_columns: Vec<(String, Vec<String>)>,
}

/// A number as SQL: integers without a fraction, negatives in parentheses.
fn number(value: f64) -> String {
    let text = if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value:?}")
    };
    if value < 0.0 {
        format!("({text})")
    } else {
        text
    }
}

impl<'a, 's> Sql<'a, 's> {
    pub(super) fn new(
        state: &'a mut State<'s, 's>,
        dialect: &'a Dialect,
        plan: &'a Plan<'a>,
        series: Option<&'a [(String, Plan<'a>)]>,
    ) -> Self {
        Sql {
            state,
            dialect,
            plan,
            series,
            spine_alias: "t".into(),
            spine_columns: Vec::new(),
        }
    }

    /// A value that depends on the report's time: its literal for a single report; for a
    /// series, a spine column holding each period's literal (columns with equal values are
    /// shared).
    pub(super) fn per_period(
        &mut self,
        value: impl Fn(&mut Self, &Plan<'_>) -> Result<String, Error>,
    ) -> Result<String, Error> {
        let Some(series) = self.series else {
            let plan = self.plan;
            return value(self, plan);
        };
        let mut values = Vec::with_capacity(series.len());
        for (_, plan) in series {
            values.push(value(self, plan)?);
        }
        Ok(self.spine_value(values))
    }

    /// A value given for every period (one for a single report): the value itself in a
    /// single report, else the spine's column holding it, added at its first use.
    pub(super) fn per_period_values(&mut self, mut values: Vec<String>) -> String {
        if self.series.is_none() {
            return values.swap_remove(0);
        }
        self.spine_value(values)
    }

    fn spine_value(&mut self, values: Vec<String>) -> String {
        let name = match self.spine_columns.iter().find(|(_, v)| *v == values) {
            Some((name, _)) => name.clone(),
            None => {
                let name = format!("segc_t{}", self.spine_columns.len() + 1);
                self.spine_columns.push((name.clone(), values));
                name
            }
        };
        format!("{}.{}", self.q(&self.spine_alias), self.q(&name))
    }

    /// The number of periods of a series.
    pub(super) fn series_len(&self) -> Option<usize> {
        self.series.map(<[_]>::len)
    }

    /// For a series, the period column of `alias`, to partition and group by.
    pub(super) fn period_key(&self, alias: &str) -> Option<String> {
        self.series
            .map(|_| format!("{}.{}", self.q(alias), self.q("segc_period")))
    }

    fn q(&self, name: &str) -> String {
        self.dialect.quote_identifier(name)
    }

    /// Calls a dispatched macro: the dialect's override, its ancestors', or the default.
    pub(super) fn call(&mut self, name: &str, args: &[Value]) -> Result<String, Error> {
        self.state.call_macro(name, args).map_err(|e| {
            Error::Render(format!(
                "no usable macro `{name}` for dialect {} (looked in dialects/{}/macros.sql.j2, its parents, and templates/macros): {e:#}",
                self.dialect.name, self.dialect.name
            ))
        })
    }

    fn cast(&mut self, value: String, type_name: &str) -> Result<String, Error> {
        self.call("cast", &[Value::from(value), Value::from(type_name)])
    }

    fn string(&self, value: &str) -> String {
        self.dialect.string_literal(value)
    }

    /// A fact source's column, inside a pass over it (alias `f`).
    fn fact_column(&self, source: crate::ir::SourceId, column: &FactColumn) -> String {
        let physical = match column {
            FactColumn::Column { physical, .. } => physical.clone(),
            FactColumn::Time => self
                .plan
                .time_column(source)
                .unwrap_or_default()
                .to_string(),
        };
        format!("{}.{}", self.q("f"), self.q(&physical))
    }

    /// A boolean column's value as the 1/0 flag every stage holds for a boolean attribute:
    /// PostgreSQL has no MIN/MAX over booleans, T-SQL none over `bit` and no boolean values
    /// in SELECT, and BigQuery cannot cast a BOOL to a double. NULL stays NULL.
    pub(super) fn boolean_flag(&self, value: &str) -> String {
        format!(
            "CASE WHEN {value} = {} THEN 1 WHEN {value} = {} THEN 0 END",
            self.dialect.boolean_literal(true),
            self.dialect.boolean_literal(false)
        )
    }

    /// `value` in the form that compares exactly when it is a string (rule 15: by code point,
    /// trailing spaces counting, whatever the database's collation and padding rules; the
    /// `exact` macro). Both sides of a string comparison take this form (`exact_literal` for
    /// a literal); a minimum or maximum of it is turned back with [`Sql::exact_value`].
    fn exact(&mut self, value: String, string: bool) -> Result<String, Error> {
        if string {
            self.call("exact", &[Value::from(value)])
        } else {
            Ok(value)
        }
    }

    /// A string literal in the form of [`Sql::exact`].
    fn exact_literal(&mut self, literal: &str) -> Result<String, Error> {
        let literal = self.string(literal);
        self.call("exact_literal", &[Value::from(literal)])
    }

    /// The value of a minimum or maximum of [`Sql::exact`] values.
    fn exact_value(&mut self, value: String, string: bool) -> Result<String, Error> {
        if string {
            self.call("from_exact", &[Value::from(value)])
        } else {
            Ok(value)
        }
    }
}
