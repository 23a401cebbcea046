//! Conditions, formulas and aggregates rendered for one dialect. Every construct whose
//! spelling differs is a macro call; values go through the dialect's literal functions.
//!
//! The spelling is split by what it spells: `conditions` (conditions and their predicates),
//! `aggregates` (fact aggregates, ordered-fact ranks, KPI aggregates and percentiles),
//! `exact` (exact sums rounded once, in layers around a stage), `formulas`, and `time`
//! (local dates, time literals and windows).

mod aggregates;
pub(in crate::render) use aggregates::combiner;
mod conditions;
mod exact;
pub(in crate::render) use exact::{Aggregated, ExactColumns, ExactLayers, ExactSum};
mod formulas;
mod time;

use crate::render::alias::Alias;
use std::cell::Cell;

use minijinja::{State, Value};

use crate::dialect::Dialect;
use crate::error::Error;
use crate::ir::{FactColumn, KeyType, Stored};
use crate::plan::Plan;
use crate::plan::times::{Periods, TimeValue};

pub(super) struct Sql<'a, 's> {
    state: &'a mut State<'s, 's>,
    dialect: &'a Dialect,
    /// The statement's periods and the time values each compares against.
    periods: Periods<'a>,
    /// Where the spine's columns are visible in the stage being written: the joined spine,
    /// or a row that carries its columns. Fixed for a renderer; [`Sql::reading_spine_from`]
    /// makes one for another stage.
    spine_alias: Alias,
    /// The spine's columns, shared by every stage: a name, then one literal per period.
    spine_columns: &'a mut Vec<(String, Vec<String>)>,
    /// How many period-dependent values have been spelled: a stage whose count does not
    /// move reads nothing from the spine.
    spine_reads: &'a Cell<usize>,
    /// Attributes whose value a condition reads from a given column instead (the distinct
    /// values of a condition mask, see render/masks.rs).
    values: Vec<(crate::ir::AttributeId, String)>,
    /// Timestamp attributes whose local date every stage after the attributes stage reads
    /// from a column of it (computed once per user, see [`Sql::set_local_days`]).
    local_days: Vec<(crate::ir::AttributeId, String)>,
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
        periods: Periods<'a>,
        spine_columns: &'a mut Vec<(String, Vec<String>)>,
        spine_reads: &'a Cell<usize>,
    ) -> Self {
        Sql {
            state,
            dialect,
            periods,
            spine_alias: Alias::Spine,
            spine_columns,
            spine_reads,
            values: Vec::new(),
            local_days: Vec::new(),
        }
    }

    /// A renderer for a stage whose rows show the spine's columns under `alias`.
    pub(super) fn reading_spine_from(&mut self, alias: Alias) -> Sql<'_, 's> {
        Sql {
            state: &mut *self.state,
            dialect: self.dialect,
            periods: self.periods,
            spine_alias: alias,
            spine_columns: &mut *self.spine_columns,
            spine_reads: self.spine_reads,
            values: self.values.clone(),
            local_days: self.local_days.clone(),
        }
    }

    /// A renderer that reads each of `values`' attributes from its column (an expression)
    /// instead of its stage's column or formula.
    pub(super) fn reading_values(
        &mut self,
        values: Vec<(crate::ir::AttributeId, String)>,
    ) -> Sql<'_, 's> {
        Sql {
            state: &mut *self.state,
            dialect: self.dialect,
            periods: self.periods,
            spine_alias: self.spine_alias,
            spine_columns: &mut *self.spine_columns,
            spine_reads: self.spine_reads,
            values,
            local_days: self.local_days.clone(),
        }
    }

    /// From now on, `days_between` reads the local date of each of `columns`' attributes from
    /// its column (of the stage rows it reads) instead of converting the timestamp again.
    pub(super) fn set_local_days(&mut self, columns: Vec<(crate::ir::AttributeId, String)>) {
        self.local_days = columns;
    }

    /// How many period-dependent values have been spelled so far (see [`Sql::time_value`]).
    pub(super) fn spine_reads(&self) -> usize {
        self.spine_reads.get()
    }

    /// A value of the report's time (see [`crate::plan::times`]): its literal in a single
    /// report; in a series, the spine's column holding each period's literal (columns with
    /// equal values are shared, added at their first use).
    pub(super) fn time_value(&mut self, values: &[TimeValue]) -> Result<String, Error> {
        let mut spelled = Vec::with_capacity(values.len());
        for value in values {
            spelled.push(match *value {
                TimeValue::Instant(instant) => self.timestamp(instant)?,
                TimeValue::Date(day) => self.date(day)?,
                // Spine rows are combined with UNION ALL: give every row the same type.
                TimeValue::Months(months) if self.periods.is_series() => {
                    self.cast(number(months), "double")?
                }
                TimeValue::Months(months) => number(months),
            });
        }
        if !self.periods.is_series() {
            return Ok(spelled.swap_remove(0));
        }
        self.spine_reads.set(self.spine_reads.get() + 1);
        let name = match self.spine_columns.iter().find(|(_, v)| *v == spelled) {
            Some((name, _)) => name.clone(),
            None => {
                let name = format!("segc_t{}", self.spine_columns.len() + 1);
                self.spine_columns.push((name.clone(), spelled));
                name
            }
        };
        Ok(format!(
            "{}.{}",
            self.alias(self.spine_alias),
            self.q(&name)
        ))
    }

    /// The plan of the statement being written (a series': its latest period's).
    pub(in crate::render) fn plan(&self) -> &'a Plan<'a> {
        self.periods.latest
    }

    /// The number of periods of a series.
    pub(super) fn series_len(&self) -> Option<usize> {
        self.periods.series_len()
    }

    /// The spine's columns: a name, then one literal per period.
    pub(super) fn spine_columns(&self) -> &[(String, Vec<String>)] {
        self.spine_columns
    }

    /// For a series, the period column of `alias`, to partition and group by.
    pub(super) fn period_key(&self, alias: Alias) -> Option<String> {
        self.periods
            .is_series()
            .then(|| format!("{}.{}", self.alias(alias), self.q("segc_period")))
    }

    fn alias(&self, alias: Alias) -> String {
        alias.quoted(self.dialect)
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

    pub(in crate::render) fn cast(
        &mut self,
        value: String,
        type_name: &str,
    ) -> Result<String, Error> {
        self.call("cast", &[Value::from(value), Value::from(type_name)])
    }

    fn string(&self, value: &str) -> String {
        self.dialect.string_literal(value)
    }

    /// A fact source's column, inside a pass over it (alias `f`).
    fn fact_column(
        &mut self,
        source: crate::ir::SourceId,
        column: &FactColumn,
    ) -> Result<String, Error> {
        let (physical, stored) = match column {
            FactColumn::Column {
                physical, stored, ..
            } => (physical.clone(), *stored),
            FactColumn::Time(_) => (
                self.plan()
                    .time_column(source)
                    .unwrap_or_default()
                    .to_string(),
                Stored::Plain,
            ),
        };
        let value = format!("{}.{}", self.alias(Alias::Facts), self.q(&physical));
        self.as_stored(value, stored)
    }

    /// A column's value as segc reads one the warehouse stores so ([`Stored`]): a
    /// fixed-length string without its padding, a single-precision float as a double.
    pub(in crate::render) fn as_stored(
        &mut self,
        value: String,
        stored: Stored,
    ) -> Result<String, Error> {
        match stored {
            Stored::Plain => Ok(value),
            Stored::Padded => Ok(unpadded(value)),
            Stored::Single => self.cast(value, "double"),
        }
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
    pub(in crate::render) fn exact(
        &mut self,
        value: String,
        string: bool,
    ) -> Result<String, Error> {
        if string {
            self.call("exact", &[Value::from(value)])
        } else {
            Ok(value)
        }
    }

    /// A source's `key` or `user_key` column as every stage joins and groups it: a string
    /// key in the form of [`Sql::exact`] where the dialect's `=` may fold case or ignore
    /// trailing spaces (rule 15), any other as it is. A key whose type is unknown cannot be
    /// written for such a dialect.
    pub(in crate::render) fn key(
        &mut self,
        source: &crate::ir::Source,
        value: String,
    ) -> Result<String, Error> {
        if self.dialect.compares_strings_exactly() {
            return Ok(value);
        }
        match source.key_type {
            KeyType::String if source.key_padded => self.exact_string(unpadded(value)),
            KeyType::String => self.exact_string(value),
            KeyType::Other => Ok(value),
            KeyType::Unknown => {
                let field = match source.role {
                    crate::ir::SourceRole::Facts { .. } => "user_key",
                    _ => "key",
                };
                let column = source.key_column();
                Err(Error::Render(format!(
                    "the type of `{field}` (column `{column}`) of source `{}` is not known ({}): on {} segc joins and groups string keys exactly, so that keys differing only in case or trailing spaces stay two users, and must know whether it is a string\n  = help: declare it: `{field}: {{ column: {column}, type: string }}` (or integer), or read the types of every source from the warehouse into warehouse_schema.yml: `segc sources --refresh --target {}`",
                    source.name,
                    source.key_origin,
                    self.dialect.name,
                    self.plan()
                        .project
                        .refresh_target
                        .as_deref()
                        .unwrap_or("TARGET"),
                )))
            }
        }
    }

    /// A user key as the users stage holds it (see [`Sql::key`]) as text, as the
    /// membership history stores it: without what the exact form adds.
    pub(in crate::render) fn key_text(
        &mut self,
        source: &crate::ir::Source,
        value: String,
    ) -> Result<String, Error> {
        let plain =
            if !self.dialect.compares_strings_exactly() && source.key_type == KeyType::String {
                self.call("from_exact", &[Value::from(value)])?
            } else {
                value
            };
        self.cast(plain, "varchar")
    }

    /// A string literal in the form of [`Sql::exact`].
    pub(in crate::render) fn exact_literal(&mut self, literal: &str) -> Result<String, Error> {
        let literal = self.string(literal);
        self.call("exact_literal", &[Value::from(literal)])
    }

    /// A string column in the form of [`Sql::exact`] (to partition or group by exactly).
    pub(in crate::render) fn exact_string(&mut self, value: String) -> Result<String, Error> {
        self.exact(value, true)
    }

    /// `left = right` for two string values, compared exactly.
    pub(in crate::render) fn same_strings(
        &mut self,
        left: String,
        right: String,
    ) -> Result<String, Error> {
        Ok(format!(
            "{} = {}",
            self.exact(left, true)?,
            self.exact(right, true)?
        ))
    }

    /// `value = 'text'` for a string value, compared exactly.
    pub(in crate::render) fn same_string_as(
        &mut self,
        value: String,
        text: &str,
    ) -> Result<String, Error> {
        Ok(format!(
            "{} = {}",
            self.exact(value, true)?,
            self.exact_literal(text)?
        ))
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

/// A fixed-length string's value without the spaces padding it to the column's length
/// ([`Stored::Padded`]); every warehouse spells `RTRIM` alike.
pub(in crate::render) fn unpadded(value: String) -> String {
    format!("RTRIM({value})")
}
