//! Conditions, formulas and aggregates rendered for one dialect. Every construct whose
//! spelling differs is a macro call; values go through the dialect's literal functions.

use chrono::{NaiveDate, NaiveDateTime};
use minijinja::{State, Value};

use crate::dialect::{Dialect, PercentileStyle};
use crate::error::Error;
use crate::ir::{
    Aggregation, AttributeId, AttributeKind, BinaryOperator, Comparison, Condition, Expr,
    FactColumn, Function, KpiAggregation, KpiId, KpiKind, KpiType, Literal, Operand, Predicate,
    SourceRole, ValueType, Window,
};
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

fn comparison_operator(comparison: Comparison) -> &'static str {
    match comparison {
        Comparison::Eq => "=",
        Comparison::Ne => "<>",
        Comparison::Gt => ">",
        Comparison::Gte => ">=",
        Comparison::Lt => "<",
        Comparison::Lte => "<=",
    }
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

fn not_an_aggregate(name: &str) -> Error {
    Error::Render(format!("attribute `{name}` is not an aggregate over facts"))
}

/// The column numbering an ordered-fact attribute's facts.
fn rank_alias(attribute: &str) -> String {
    format!("segc_rank_{attribute}")
}

fn next_day(day: NaiveDate) -> NaiveDate {
    day.succ_opt().unwrap_or(day)
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

    pub(super) fn timestamp(&mut self, instant: NaiveDateTime) -> Result<String, Error> {
        self.call(
            "timestamp_literal",
            &[Value::from(instant.format("%Y-%m-%d %H:%M:%S").to_string())],
        )
    }

    pub(super) fn date(&mut self, day: NaiveDate) -> Result<String, Error> {
        self.call(
            "date_literal",
            &[Value::from(day.format("%Y-%m-%d").to_string())],
        )
    }

    /// The start of a local day as a UTC timestamp literal.
    fn day_start(&mut self, day: NaiveDate) -> Result<String, Error> {
        let instant = self.plan.instant(day);
        self.timestamp(instant)
    }

    /// The local calendar date of a UTC timestamp, in the project's time zone. Offsets are
    /// known to the compiler, so this is the same plain arithmetic on every dialect.
    pub(super) fn local_date(&mut self, timestamp: &str) -> Result<String, Error> {
        let shifted = match self.plan.clock.fixed_offset() {
            Some(0) => timestamp.to_string(),
            Some(offset) => self.call(
                "add_seconds",
                &[Value::from(timestamp), Value::from(offset)],
            )?,
            None => {
                let offsets = self.plan.clock.offsets().to_vec();
                let mut case = String::from("CASE");
                for window in offsets.windows(2) {
                    let (until, _) = window[1];
                    let offset = window[0].1;
                    let until = self.timestamp(until)?;
                    let value = self.call(
                        "add_seconds",
                        &[Value::from(timestamp), Value::from(offset)],
                    )?;
                    case.push_str(&format!(" WHEN {timestamp} < {until} THEN {value}"));
                }
                let last = offsets.last().map(|o| o.1).unwrap_or(0);
                let value =
                    self.call("add_seconds", &[Value::from(timestamp), Value::from(last)])?;
                case.push_str(&format!(" ELSE {value} END"));
                case
            }
        };
        self.call("to_date", &[Value::from(shifted)])
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

    /// Which of its source's facts an aggregate attribute reads (its window and `where`), as
    /// a condition over the pass's rows (alias `f`); `None` when it reads every fact the pass
    /// reads. `signup` is the user's sign-up instant, for windows after sign-up.
    fn fact_condition(&mut self, id: AttributeId, signup: &str) -> Result<Option<String>, Error> {
        let plan = self.plan;
        let attribute = plan.project.attribute(id);
        let AttributeKind::Aggregate {
            source,
            window,
            filter,
            ..
        } = &attribute.kind
        else {
            return Err(not_an_aggregate(&attribute.name));
        };
        let mut conditions = Vec::new();
        if let Some(time) = plan.time_column(*source) {
            let time = format!("{}.{}", self.q("f"), self.q(time));
            let window = *window;
            // The kind of window, and so whether it has a start, is the same in every period.
            if plan.range(&window).start.is_some() {
                let start = self.per_period(|sql, plan| {
                    let day = plan.range(&window).start.unwrap_or(plan.time.end_day());
                    sql.timestamp(plan.instant(day))
                })?;
                conditions.push(format!("{time} >= {start}"));
            }
            let ends_early = |plan: &Plan<'_>| plan.range(&window).end < plan.time.end_day();
            let any_ends_early = match self.series {
                Some(series) => series.iter().any(|(_, plan)| ends_early(plan)),
                None => ends_early(plan),
            };
            if any_ends_early {
                let end = self
                    .per_period(|sql, plan| sql.timestamp(plan.instant(plan.range(&window).end)))?;
                conditions.push(format!("{time} < {end}"));
            }
            if let Window::AfterSignup { days } = window {
                let until = self.call("add_days", &[Value::from(signup), Value::from(days)])?;
                conditions.push(format!("{time} >= {signup}"));
                conditions.push(format!("{time} < {until}"));
            }
        }
        if let Some(filter) = filter {
            conditions.push(self.condition_in(filter, "f", Some(*source))?);
        }
        Ok((!conditions.is_empty()).then(|| conditions.join(" AND ")))
    }

    /// One attribute's aggregate inside the pass over its fact source. `signup` is the user's
    /// sign-up instant there; ordered facts read the rank column of [`Sql::fact_rank`].
    pub(super) fn fact_aggregate(
        &mut self,
        id: AttributeId,
        signup: &str,
    ) -> Result<String, Error> {
        let plan = self.plan;
        let attribute = plan.project.attribute(id);
        let AttributeKind::Aggregate {
            source,
            aggregation,
            column,
            ..
        } = &attribute.kind
        else {
            return Err(not_an_aggregate(&attribute.name));
        };
        let value = match (aggregation, column) {
            (Aggregation::CountDistinctDays, _) => {
                let time = plan
                    .time_column(*source)
                    .map(|time| format!("{}.{}", self.q("f"), self.q(time)));
                self.local_date(time.as_deref().unwrap_or("NULL"))?
            }
            (_, Some(column)) => {
                let value = self.fact_column(*source, column);
                if column.value_type() == ValueType::Boolean
                    || attribute.value_type == ValueType::Boolean
                {
                    // Summed, averaged, or kept by min, max and the ordered facts as 1/0.
                    self.boolean_flag(&value)
                } else {
                    value
                }
            }
            (_, None) => "1".into(),
        };
        if let Aggregation::Nth { n, .. } = aggregation {
            // The rank is NULL for facts outside the window or filter.
            let rank = format!("{}.{}", self.q("f"), self.q(&rank_alias(&attribute.name)));
            return Ok(format!("MAX(CASE WHEN {rank} = {n} THEN {value} END)"));
        }
        let condition = self.fact_condition(id, signup)?;
        let guarded = |value: &str| match &condition {
            Some(condition) => format!("CASE WHEN {condition} THEN {value} END"),
            None => value.to_string(),
        };
        Ok(match aggregation {
            Aggregation::Count if column.is_none() && condition.is_none() => {
                self.call("count_rows", &[])?
            }
            Aggregation::Count => self.call("count", &[Value::from(guarded(&value))])?,
            Aggregation::CountDistinct | Aggregation::CountDistinctDays => {
                let string = *aggregation == Aggregation::CountDistinct
                    && column.as_ref().map(FactColumn::value_type) == Some(ValueType::String);
                let value = self.exact(value, string)?;
                self.call("count_distinct", &[Value::from(guarded(&value))])?
            }
            Aggregation::Sum => format!("SUM({})", self.cast(guarded(&value), "double")?),
            Aggregation::Avg => format!("AVG({})", self.cast(guarded(&value), "double")?),
            Aggregation::Min | Aggregation::Max => {
                let string = attribute.value_type == ValueType::String;
                let value = self.exact(value, string)?;
                let function = if *aggregation == Aggregation::Min {
                    "MIN"
                } else {
                    "MAX"
                };
                self.exact_value(format!("{function}({})", guarded(&value)), string)?
            }
            Aggregation::Nth { .. } => format!("MAX({})", guarded(&value)),
        })
    }

    /// For an ordered-fact attribute (`first`, `last`, `nth`): the column numbering each
    /// user's facts that it reads, 1, 2, … in time order (latest first for `last`), NULL for
    /// the others. Facts at the same instant are ordered by the value, NULLs last, so every
    /// warehouse picks the same value. Returns the expression and its alias.
    pub(super) fn fact_rank(
        &mut self,
        id: AttributeId,
        signup: &str,
    ) -> Result<(String, String), Error> {
        let plan = self.plan;
        let attribute = plan.project.attribute(id);
        let AttributeKind::Aggregate {
            source,
            aggregation: Aggregation::Nth { from_end, .. },
            column,
            ..
        } = &attribute.kind
        else {
            return Err(not_an_aggregate(&attribute.name));
        };
        let direction = if *from_end { "DESC" } else { "ASC" };
        let SourceRole::Facts { user_key, time } = &plan.project.source(*source).role else {
            return Err(not_an_aggregate(&attribute.name));
        };
        let f = self.q("f");
        let mut partition: Vec<String> = self.period_key(&self.spine_alias).into_iter().collect();
        partition.push(format!("{f}.{}", self.q(user_key)));
        let mut order = Vec::new();
        if let Some(time) = time {
            order.push(format!("{f}.{} {direction}", self.q(time)));
        }
        if let Some(column) = column.as_ref().filter(|c| **c != FactColumn::Time) {
            let value = self.fact_column(*source, column);
            order.push(format!("CASE WHEN {value} IS NULL THEN 1 ELSE 0 END"));
            let value = self.exact(value, attribute.value_type == ValueType::String)?;
            order.push(format!("{value} {direction}"));
        }
        let condition = self.fact_condition(id, signup)?;
        if let Some(condition) = &condition {
            partition.push(format!("CASE WHEN {condition} THEN 1 ELSE 0 END"));
        }
        let rank = self.call(
            "row_number",
            &[
                Value::from(partition.join(", ")),
                Value::from(order.join(", ")),
            ],
        )?;
        let rank = match condition {
            Some(condition) => format!("CASE WHEN {condition} THEN {rank} END"),
            None => rank,
        };
        Ok((rank, self.q(&rank_alias(&attribute.name))))
    }

    /// An attribute's value in a row of `alias`: a column, or a formula computed inline.
    pub(super) fn attribute_value(
        &mut self,
        id: AttributeId,
        alias: &str,
    ) -> Result<String, Error> {
        let attribute = self.plan.project.attribute(id);
        match &attribute.kind {
            AttributeKind::Formula(expr) => {
                let expr = expr.clone();
                let sql = self.expr(&expr, alias)?;
                if attribute.value_type == ValueType::Boolean {
                    // Booleans become 1/0 values: not every warehouse has boolean columns.
                    Ok(format!(
                        "CASE WHEN {sql} THEN 1 WHEN NOT ({sql}) THEN 0 END"
                    ))
                } else {
                    Ok(sql)
                }
            }
            _ => Ok(format!("{}.{}", self.q(alias), self.q(&attribute.name))),
        }
    }

    pub(super) fn condition(
        &mut self,
        condition: &Condition,
        alias: &str,
    ) -> Result<String, Error> {
        self.condition_in(condition, alias, None)
    }

    /// A condition as a SQL boolean that is never NULL where it matters: negations are
    /// taken over a 1/0 flag, so `none: [country: {eq: US}]` includes NULL countries.
    fn condition_in(
        &mut self,
        condition: &Condition,
        alias: &str,
        source: Option<crate::ir::SourceId>,
    ) -> Result<String, Error> {
        Ok(match condition {
            Condition::True => "1 = 1".into(),
            Condition::All(items) | Condition::Any(items) => {
                let joiner = if matches!(condition, Condition::All(_)) {
                    " AND "
                } else {
                    " OR "
                };
                let parts = items
                    .iter()
                    .map(|item| {
                        self.condition_in(item, alias, source)
                            .map(|s| format!("({s})"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                if parts.is_empty() {
                    "1 = 1".into()
                } else {
                    parts.join(joiner)
                }
            }
            Condition::Not(inner) => {
                let inner = self.condition_in(inner, alias, source)?;
                format!("{} = 0", self.call("flag", &[Value::from(inner)])?)
            }
            Condition::InSegment(id) => {
                // A child's members are its parent's that meet its own conditions.
                let membership = self.plan.project.membership(*id);
                self.condition_in(&membership, alias, source)?
            }
            Condition::Predicate { operand, predicate } => {
                let (value, value_type, int_boolean) = match operand {
                    Operand::Attribute(id) => {
                        let attribute = self.plan.project.attribute(*id);
                        // Stages hold boolean attributes as 1/0 (see `boolean_flag`).
                        let int_boolean = attribute.value_type == ValueType::Boolean;
                        (
                            self.attribute_value(*id, alias)?,
                            attribute.value_type,
                            int_boolean,
                        )
                    }
                    Operand::SourceColumn { column } => {
                        let value_type = column.value_type();
                        let source = source.ok_or_else(|| {
                            Error::Render("a source column outside a fact pass".into())
                        })?;
                        (self.fact_column(source, column), value_type, false)
                    }
                };
                self.predicate(&value, value_type, int_boolean, predicate)?
            }
        })
    }

    fn literal(&mut self, literal: &Literal, int_boolean: bool) -> Result<String, Error> {
        Ok(match literal {
            Literal::Number(n) => number(*n),
            Literal::String(s) => self.string(s),
            Literal::Date(d) => self.date(*d)?,
            Literal::Boolean(b) if int_boolean => {
                if *b {
                    "1".into()
                } else {
                    "0".into()
                }
            }
            Literal::Boolean(b) => self.dialect.boolean_literal(*b).to_string(),
        })
    }

    fn predicate(
        &mut self,
        value: &str,
        value_type: ValueType,
        int_boolean: bool,
        predicate: &Predicate,
    ) -> Result<String, Error> {
        let timestamp = value_type == ValueType::Timestamp;
        Ok(match predicate {
            // A date compared with a timestamp compares the timestamp's local day.
            Predicate::Compare(comparison, Literal::Date(day)) if timestamp => {
                let start = self.day_start(*day)?;
                let next = self.day_start(next_day(*day))?;
                match comparison {
                    Comparison::Eq => format!("{value} >= {start} AND {value} < {next}"),
                    Comparison::Ne => format!("({value} < {start} OR {value} >= {next})"),
                    Comparison::Gt => format!("{value} >= {next}"),
                    Comparison::Gte => format!("{value} >= {start}"),
                    Comparison::Lt => format!("{value} < {start}"),
                    Comparison::Lte => format!("{value} < {next}"),
                }
            }
            Predicate::Compare(comparison, Literal::String(text)) => {
                let exact = self.exact(value.to_string(), true)?;
                let right = self.exact_literal(text)?;
                match comparison {
                    Comparison::Ne => format!("{value} IS NOT NULL AND NOT ({exact} = {right})"),
                    _ => format!("{exact} {} {right}", comparison_operator(*comparison)),
                }
            }
            Predicate::Compare(comparison, literal) => {
                let right = self.literal(literal, int_boolean)?;
                format!("{value} {} {right}", comparison_operator(*comparison))
            }
            Predicate::Between(Literal::Date(low), Literal::Date(high)) if timestamp => {
                let start = self.day_start(*low)?;
                let end = self.day_start(next_day(*high))?;
                format!("{value} >= {start} AND {value} < {end}")
            }
            Predicate::Between(Literal::String(low), Literal::String(high)) => {
                let low = self.exact_literal(low)?;
                let high = self.exact_literal(high)?;
                let value = self.exact(value.to_string(), true)?;
                format!("{value} >= {low} AND {value} <= {high}")
            }
            Predicate::Between(low, high) => {
                let low = self.literal(low, int_boolean)?;
                let high = self.literal(high, int_boolean)?;
                format!("{value} >= {low} AND {value} <= {high}")
            }
            Predicate::In(items) | Predicate::NotIn(items) => {
                let strings = items.iter().any(|i| matches!(i, Literal::String(_)));
                let subject = if timestamp && items.iter().any(|i| matches!(i, Literal::Date(_))) {
                    self.local_date(value)?
                } else {
                    self.exact(value.to_string(), strings)?
                };
                let list = items
                    .iter()
                    .map(|i| match i {
                        Literal::String(text) => self.exact_literal(text),
                        _ => self.literal(i, int_boolean),
                    })
                    .collect::<Result<Vec<_>, _>>()?
                    .join(", ");
                let operator = match predicate {
                    Predicate::In(_) => "IN",
                    _ => "NOT IN",
                };
                format!("{subject} {operator} ({list})")
            }
            Predicate::IsNull(true) => format!("{value} IS NULL"),
            Predicate::IsNull(false) => format!("{value} IS NOT NULL"),
            Predicate::Contains(text) => {
                let needle = self.string(text);
                self.call("contains", &[Value::from(value), Value::from(needle)])?
            }
            Predicate::StartsWith(text) | Predicate::EndsWith(text) => {
                // The first (last) characters of the value, compared exactly with the text.
                let length = text.chars().count();
                let function = if matches!(predicate, Predicate::StartsWith(_)) {
                    "LEFT"
                } else {
                    "RIGHT"
                };
                let part = self.exact(format!("{function}({value}, {length})"), true)?;
                let needle = self.exact_literal(text)?;
                format!("{part} = {needle}")
            }
            Predicate::WithinLast(length) => {
                let length = *length;
                if timestamp {
                    let start = self.per_period(|sql, plan| {
                        sql.timestamp(plan.instant(length.before(plan.time.end_day())))
                    })?;
                    let end = self
                        .per_period(|sql, plan| sql.timestamp(plan.instant(plan.time.end_day())))?;
                    format!("{value} >= {start} AND {value} < {end}")
                } else {
                    let start =
                        self.per_period(|sql, plan| sql.date(length.before(plan.time.end_day())))?;
                    let last = self.per_period(|sql, plan| sql.date(plan.time.as_of))?;
                    format!("{value} >= {start} AND {value} <= {last}")
                }
            }
            Predicate::Before(day) => {
                if timestamp {
                    format!("{value} < {}", self.day_start(*day)?)
                } else {
                    format!("{value} < {}", self.date(*day)?)
                }
            }
            Predicate::After(day) => {
                if timestamp {
                    format!("{value} >= {}", self.day_start(next_day(*day))?)
                } else {
                    format!("{value} > {}", self.date(*day)?)
                }
            }
        })
    }

    /// A formula as SQL. Attribute references are columns of `alias`, or formulas inlined.
    fn expr(&mut self, expr: &Expr, alias: &str) -> Result<String, Error> {
        Ok(match expr {
            Expr::Number(n) => number(*n),
            Expr::String(s) => self.string(s),
            Expr::Boolean(b) => self.dialect.boolean_literal(*b).to_string(),
            Expr::Null => "NULL".into(),
            Expr::Attribute(id) => {
                let attribute = self.plan.project.attribute(*id);
                match &attribute.kind {
                    AttributeKind::Formula(inner) => {
                        let inner = inner.clone();
                        format!("({})", self.expr(&inner, alias)?)
                    }
                    // A 1/0 flag in the stage, a boolean in the formula.
                    _ if attribute.value_type == ValueType::Boolean => {
                        format!("({}.{} = 1)", self.q(alias), self.q(&attribute.name))
                    }
                    _ => format!("{}.{}", self.q(alias), self.q(&attribute.name)),
                }
            }
            Expr::AsOf => self.per_period(|sql, plan| sql.date(plan.time.as_of))?,
            Expr::PeriodStart => self.per_period(|sql, plan| sql.date(plan.time.period.0))?,
            Expr::PeriodMonths => self.per_period(|sql, plan| {
                let (first, last) = plan.time.period;
                let months = number(((last - first).num_days() + 1) as f64 / 30.4375);
                // Spine rows are combined with UNION ALL: give every row the same type.
                match sql.series {
                    Some(_) => sql.cast(months, "double"),
                    None => Ok(months),
                }
            })?,
            Expr::Negate(inner) => format!("(-({}))", self.expr(inner, alias)?),
            Expr::Not(inner) => format!("(NOT ({}))", self.expr(inner, alias)?),
            Expr::IsNull { expr, negated } => {
                format!(
                    "({} IS {}NULL)",
                    self.expr(expr, alias)?,
                    if *negated { "NOT " } else { "" }
                )
            }
            Expr::Binary {
                operator,
                left,
                right,
            } => {
                let l = self.expr(left, alias)?;
                let r = self.expr(right, alias)?;
                match operator {
                    BinaryOperator::Divide => format!(
                        "({})",
                        self.call("divide", &[Value::from(l), Value::from(r)])?
                    ),
                    BinaryOperator::Add => format!("({l} + {r})"),
                    BinaryOperator::Subtract => format!("({l} - {r})"),
                    BinaryOperator::Multiply => format!("({l} * {r})"),
                    BinaryOperator::And => format!("({l} AND {r})"),
                    BinaryOperator::Or => format!("({l} OR {r})"),
                    BinaryOperator::Compare(c) => {
                        // Strings compare exactly, as in conditions (rule 15).
                        let attributes = &self.plan.project.attributes;
                        let string = left.value_type(attributes) == ValueType::String
                            || right.value_type(attributes) == ValueType::String;
                        let l = self.exact(l, string)?;
                        let r = self.exact(r, string)?;
                        format!("({l} {} {r})", comparison_operator(*c))
                    }
                }
            }
            Expr::Function {
                function,
                arguments,
            } => {
                if *function == Function::DaysBetween {
                    let mut dates = Vec::new();
                    for argument in arguments {
                        let sql = self.expr(argument, alias)?;
                        // A timestamp counts by its local date in the project's time zone (rule 14),
                        // whatever expression gives it.
                        let value_type = argument.value_type(&self.plan.project.attributes);
                        dates.push(match value_type {
                            ValueType::Timestamp => self.local_date(&sql)?,
                            ValueType::Date => sql,
                            _ => self.call("to_date", &[Value::from(sql)])?,
                        });
                    }
                    let end = dates.pop().unwrap_or_default();
                    let start = dates.pop().unwrap_or_default();
                    return self.call("days_between", &[Value::from(start), Value::from(end)]);
                }
                let rendered = arguments
                    .iter()
                    .map(|a| self.expr(a, alias))
                    .collect::<Result<Vec<_>, _>>()?;
                let name = match function {
                    Function::NullIf => "NULLIF",
                    Function::Coalesce => "COALESCE",
                    Function::Abs => "ABS",
                    Function::Round => "ROUND",
                    Function::Floor => "FLOOR",
                    Function::Ceil => "CEILING",
                    Function::Least | Function::Greatest | Function::DaysBetween => "",
                };
                if matches!(function, Function::Least | Function::Greatest) {
                    return Ok(extreme(&rendered, *function == Function::Greatest));
                }
                if *function == Function::Round {
                    let value =
                        self.cast(rendered.first().cloned().unwrap_or_default(), "double")?;
                    let digits = rendered.get(1).cloned().unwrap_or_else(|| "0".into());
                    return self.call("round", &[Value::from(value), Value::from(digits)]);
                }
                format!("{name}({})", rendered.join(", "))
            }
            Expr::Case {
                branches,
                otherwise,
            } => {
                let mut case = String::from("CASE");
                for (condition, result) in branches {
                    let condition = self.expr(condition, alias)?;
                    let result = self.expr(result, alias)?;
                    case.push_str(&format!(" WHEN {condition} THEN {result}"));
                }
                if let Some(otherwise) = otherwise {
                    case.push_str(&format!(" ELSE {}", self.expr(otherwise, alias)?));
                }
                case.push_str(" END");
                case
            }
        })
    }

    /// An aggregate KPI over the members of one report row (alias `m`).
    pub(super) fn kpi_aggregate(&mut self, id: KpiId) -> Result<String, Error> {
        let kpi = self.plan.project.kpi(id);
        let KpiKind::Aggregate {
            aggregation,
            of,
            filter,
        } = &kpi.kind
        else {
            return Err(Error::Render(format!(
                "KPI `{}` is not an aggregate",
                kpi.name
            )));
        };
        let condition = match filter {
            Some(filter) => Some(self.condition(filter, "m")?),
            None => None,
        };
        let value = match of {
            Some(attribute) => format!(
                "{}.{}",
                self.q("m"),
                self.q(&self.plan.project.attribute(*attribute).name)
            ),
            None => "1".into(),
        };
        let guarded = match &condition {
            Some(condition) => format!("CASE WHEN {condition} THEN {value} END"),
            None => value.clone(),
        };
        // Strings are ordered and told apart exactly (see the `exact` macro).
        let string =
            of.is_some_and(|id| self.plan.project.attribute(id).value_type == ValueType::String);
        let compared = self.exact(guarded.clone(), string)?;
        Ok(match aggregation {
            KpiAggregation::Count if of.is_none() && condition.is_none() => {
                self.call("count_rows", &[])?
            }
            KpiAggregation::Count => self.call("count", &[Value::from(guarded)])?,
            KpiAggregation::CountDistinct => {
                self.call("count_distinct", &[Value::from(compared)])?
            }
            KpiAggregation::Sum => format!("SUM({})", self.cast(guarded, "double")?),
            KpiAggregation::Avg => format!("AVG({})", self.cast(guarded, "double")?),
            KpiAggregation::Min => self.exact_value(format!("MIN({compared})"), string)?,
            KpiAggregation::Max => self.exact_value(format!("MAX({compared})"), string)?,
            KpiAggregation::Median | KpiAggregation::Percentile(_)
                if self.dialect.capabilities.percentile != PercentileStyle::Aggregate =>
            {
                let p = match aggregation {
                    KpiAggregation::Percentile(p) => *p,
                    _ => 0.5,
                };
                self.reduce_percentile(&kpi.name, p)
            }
            KpiAggregation::Median => {
                let value = self.cast(guarded, "double")?;
                self.call("median", &[Value::from(value)])?
            }
            KpiAggregation::Percentile(p) => {
                let value = self.cast(guarded, "double")?;
                self.call("percentile", &[Value::from(value), Value::from(number(*p))])?
            }
        })
    }

    /// For dialects whose percentiles are not aggregates: the window columns a median or
    /// percentile KPI adds to the member rows (alias `m`, partitioned by report row).
    pub(super) fn percentile_columns(&mut self, id: KpiId) -> Result<Vec<(String, String)>, Error> {
        let kpi = self.plan.project.kpi(id);
        let KpiKind::Aggregate {
            aggregation,
            of: Some(of),
            filter,
        } = &kpi.kind
        else {
            return Ok(Vec::new());
        };
        let p = match aggregation {
            KpiAggregation::Median => 0.5,
            KpiAggregation::Percentile(p) => *p,
            _ => return Ok(Vec::new()),
        };
        let value = format!(
            "{}.{}",
            self.q("m"),
            self.q(&self.plan.project.attribute(*of).name)
        );
        let value = match filter {
            Some(filter) => format!(
                "CASE WHEN {} THEN {value} END",
                self.condition(filter, "m")?
            ),
            None => value,
        };
        let value = self.cast(value, "double")?;
        let row = format!("{}.{}", self.q("s"), self.q("segc_row"));
        let row = match self.period_key("m") {
            Some(period) => format!("{period}, {row}"),
            None => row,
        };
        let dialect = self.dialect;
        let name = kpi.name.clone();
        let alias = move |part: &str| dialect.quote_identifier(&format!("segc_{part}_{name}"));
        Ok(match self.dialect.capabilities.percentile {
            PercentileStyle::Aggregate => Vec::new(),
            PercentileStyle::Window => {
                let sql = self.call(
                    "percentile_window",
                    &[Value::from(value), Value::from(number(p)), Value::from(row)],
                )?;
                vec![(sql, alias("pct"))]
            }
            PercentileStyle::Ranked => {
                // NULLs rank in their own partition, so ranks 1..n are the non-NULL values.
                let rank = format!(
                    "ROW_NUMBER() OVER (PARTITION BY {row}, CASE WHEN {value} IS NULL THEN 1 ELSE 0 END ORDER BY {value})"
                );
                let count = format!(
                    "{} OVER (PARTITION BY {row})",
                    self.call("count", &[Value::from(value.clone())])?
                );
                vec![
                    (value, alias("value")),
                    (rank, alias("rank")),
                    (count, alias("count")),
                ]
            }
        })
    }

    /// Reduces the window columns of a median or percentile to one value per report row.
    fn reduce_percentile(&mut self, kpi: &str, p: f64) -> String {
        let column =
            |part: &str| format!("{}.{}", self.q("m"), self.q(&format!("segc_{part}_{kpi}")));
        match self.dialect.capabilities.percentile {
            PercentileStyle::Ranked => {
                // Continuous percentile: position h = (n - 1) p between ranks floor(h)+1 and
                // ceil(h)+1, interpolated by the fraction of h.
                let (value, rank, count) = (column("value"), column("rank"), column("count"));
                let position = format!("(({count} - 1) * {})", number(p));
                let low = format!("MAX(CASE WHEN {rank} = FLOOR({position}) + 1 THEN {value} END)");
                let high =
                    format!("MAX(CASE WHEN {rank} = CEILING({position}) + 1 THEN {value} END)");
                let fraction = format!("(MAX({position}) - FLOOR(MAX({position})))");
                format!("{low} + {fraction} * ({high} - {low})")
            }
            _ => format!("MAX({})", column("pct")),
        }
    }

    /// A KPI's final value in the outer SELECT (aliases `s` for the row list, `k` for the
    /// aggregates): counts of empty rows are 0, ratios divide, shares divide by `all_users`.
    pub(super) fn kpi_output(&mut self, id: KpiId) -> Result<String, Error> {
        let kpi = self.plan.project.kpi(id);
        Ok(match &kpi.kind {
            KpiKind::Aggregate { .. } => {
                let column = format!("{}.{}", self.q("k"), self.q(&kpi.name));
                if kpi.value_type == KpiType::Integer {
                    format!("COALESCE({column}, 0)")
                } else {
                    column
                }
            }
            KpiKind::Ratio(numerator, denominator) => {
                let (numerator, denominator) = (*numerator, *denominator);
                let a = self.kpi_output(numerator)?;
                let b = self.kpi_output(denominator)?;
                self.call("divide", &[Value::from(a), Value::from(b)])?
            }
            KpiKind::ShareOfTotal(total) => {
                let total = *total;
                let value = self.kpi_output(total)?;
                let partition = self
                    .period_key(&self.spine_alias)
                    .map(|period| format!("PARTITION BY {period}"))
                    .unwrap_or_default();
                let all_users = format!(
                    "MAX(CASE WHEN {}.{} = 0 THEN {value} END) OVER ({partition})",
                    self.q("s"),
                    self.q("segc_row")
                );
                self.call("divide", &[Value::from(value), Value::from(all_users)])?
            }
        })
    }
}

/// `greatest(…)` (or `least`) of the rendered arguments, skipping NULLs (NULL when all are), as
/// a CASE: `GREATEST` exists only from SQL Server 2022 on, and BigQuery's returns NULL when any
/// argument is NULL where the others skip it. The first argument not exceeded by any later
/// one is the answer: an earlier one that would also qualify equals it.
fn extreme(arguments: &[String], greatest: bool) -> String {
    let operator = if greatest { ">=" } else { "<=" };
    let Some((last, rest)) = arguments.split_last() else {
        return "NULL".into();
    };
    if rest.is_empty() {
        return last.clone();
    }
    let mut case = String::from("CASE");
    for (index, candidate) in rest.iter().enumerate() {
        let beats_later: Vec<String> = arguments[index + 1..]
            .iter()
            .map(|later| format!("({later} IS NULL OR {candidate} {operator} {later})"))
            .collect();
        case.push_str(&format!(
            " WHEN {candidate} IS NOT NULL AND {} THEN {candidate}",
            beats_later.join(" AND ")
        ));
    }
    case.push_str(&format!(" ELSE {last} END"));
    case
}
