//! Formulas as SQL, and an attribute's value in a row.

use crate::render::alias::Alias;
use minijinja::Value;

use crate::error::Error;
use crate::ir::{AttributeId, AttributeKind, BinaryOperator, Expr, Function, ValueType};

use super::conditions::comparison_operator;
use super::{Sql, number};

impl<'a, 's> Sql<'a, 's> {
    /// An attribute's value in a row of `alias`: a column, or a formula computed inline.
    pub(in crate::render) fn attribute_value(
        &mut self,
        id: AttributeId,
        alias: Alias,
    ) -> Result<String, Error> {
        if let Some((_, value)) = self.values.iter().find(|(read, _)| *read == id) {
            return Ok(value.clone());
        }
        let attribute = self.plan().project.attribute(id);
        match &attribute.kind {
            AttributeKind::Formula(expr) => {
                let expr = expr.clone();
                if attribute.value_type == ValueType::Boolean {
                    let sql = self.as_condition(&expr, alias)?;
                    // Booleans become 1/0 values: not every warehouse has boolean columns.
                    Ok(format!(
                        "CASE WHEN {sql} THEN 1 WHEN NOT ({sql}) THEN 0 END"
                    ))
                } else {
                    self.expr(&expr, alias)
                }
            }
            _ => Ok(format!("{}.{}", self.alias(alias), self.q(&attribute.name))),
        }
    }

    /// Whether `expr` is spelled as a condition (a comparison, AND, OR, NOT, IS NULL, a
    /// boolean column read as `= 1`), not as a value (a function, a CASE, a 1/0 literal).
    fn spelled_as_condition(&self, expr: &Expr) -> bool {
        let project = self.plan().project;
        match expr {
            Expr::Binary { operator, .. } => matches!(
                operator,
                BinaryOperator::Compare(_) | BinaryOperator::And | BinaryOperator::Or
            ),
            Expr::Not(_) | Expr::IsNull { .. } => true,
            Expr::Boolean(_) => !self.dialect.capabilities.no_boolean_values,
            Expr::Attribute(id) => match &project.attribute(*id).kind {
                AttributeKind::Formula(inner) => self.spelled_as_condition(inner),
                _ => project.attribute(*id).value_type == ValueType::Boolean,
            },
            _ => false,
        }
    }

    /// `expr` where a value is read (an argument, an operand, a CASE's result). On a
    /// warehouse without boolean values (T-SQL) a condition there becomes a 1/0 value.
    fn as_value(&mut self, expr: &Expr, alias: Alias) -> Result<String, Error> {
        let sql = self.expr(expr, alias)?;
        // Only booleans are spelled as conditions.
        Ok(
            if self.dialect.capabilities.no_boolean_values && self.spelled_as_condition(expr) {
                format!("CASE WHEN {sql} THEN 1 WHEN NOT ({sql}) THEN 0 END")
            } else {
                sql
            },
        )
    }

    /// `expr` where a condition is read (AND, OR, NOT, a CASE's WHEN). On a warehouse
    /// without boolean values (T-SQL) a boolean value there (`coalesce(vip, false)`, 1/0)
    /// is compared with 1.
    fn as_condition(&mut self, expr: &Expr, alias: Alias) -> Result<String, Error> {
        let sql = self.expr(expr, alias)?;
        Ok(
            if self.dialect.capabilities.no_boolean_values && !self.spelled_as_condition(expr) {
                format!("({sql} = 1)")
            } else {
                sql
            },
        )
    }

    /// A formula as SQL. Attribute references are columns of `alias`, or formulas inlined.
    fn expr(&mut self, expr: &Expr, alias: Alias) -> Result<String, Error> {
        Ok(match expr {
            // A fraction, or a whole number a double does not hold exactly, as the double it
            // is (rule 7): written bare, DuckDB and PostgreSQL compare an integer or decimal
            // column with it exactly (DuckDB casting the column to the literal's scale, which
            // fails for large values). Other whole numbers stay integers (`round(x, 2)`, a
            // CASE's 1 or 0).
            Expr::Number(n)
                if (n.fract() != 0.0 || n.abs() >= crate::report::EXACT_WHOLE_DOUBLES)
                    && !self.dialect.hash_spelling =>
            {
                self.cast(number(*n), "double")?
            }
            Expr::Number(n) => number(*n),
            Expr::String(s) => self.string(s),
            Expr::Boolean(b) => self.dialect.boolean_literal(*b).to_string(),
            Expr::Null => "NULL".into(),
            Expr::Attribute(id) => {
                let attribute = self.plan().project.attribute(*id);
                match &attribute.kind {
                    AttributeKind::Formula(inner) => {
                        let inner = inner.clone();
                        format!("({})", self.expr(&inner, alias)?)
                    }
                    // A 1/0 flag in the stage, a boolean in the formula.
                    _ if attribute.value_type == ValueType::Boolean => {
                        format!("({}.{} = 1)", self.alias(alias), self.q(&attribute.name))
                    }
                    _ => format!("{}.{}", self.alias(alias), self.q(&attribute.name)),
                }
            }
            Expr::AsOf => self.time_value(&self.periods.as_of())?,
            Expr::PeriodStart => self.time_value(&self.periods.period_start())?,
            Expr::PeriodMonths => self.time_value(&self.periods.period_months())?,
            // In double precision (rule 7): `-x` of a 32-bit integer's least value overflows.
            Expr::Negate(inner) => {
                let inner = self.expr(inner, alias)?;
                format!("(-({}))", self.cast(inner, "double")?)
            }
            Expr::Not(inner) => format!("(NOT ({}))", self.as_condition(inner, alias)?),
            Expr::IsNull { expr, negated } => {
                format!(
                    "({} IS {}NULL)",
                    self.as_value(expr, alias)?,
                    if *negated { "NOT " } else { "" }
                )
            }
            Expr::Binary {
                operator,
                left,
                right,
            } => self.binary(*operator, left, right, alias)?,
            Expr::Function {
                function,
                arguments,
            } => self.function(*function, arguments, alias)?,
            Expr::Case {
                branches,
                otherwise,
            } => {
                let mut case = String::from("CASE");
                for (condition, result) in branches {
                    let condition = self.as_condition(condition, alias)?;
                    let result = self.as_value(result, alias)?;
                    case.push_str(&format!(" WHEN {condition} THEN {result}"));
                }
                if let Some(otherwise) = otherwise {
                    case.push_str(&format!(" ELSE {}", self.as_value(otherwise, alias)?));
                }
                case.push_str(" END");
                case
            }
        })
    }

    /// A binary operation.
    fn binary(
        &mut self,
        operator: BinaryOperator,
        left: &Expr,
        right: &Expr,
        alias: Alias,
    ) -> Result<String, Error> {
        let logical = matches!(operator, BinaryOperator::And | BinaryOperator::Or);
        let (mut l, mut r) = if logical {
            (
                self.as_condition(left, alias)?,
                self.as_condition(right, alias)?,
            )
        } else {
            (self.as_value(left, alias)?, self.as_value(right, alias)?)
        };
        let attributes = &self.plan().project.attributes;
        let (left_type, right_type) = (left.value_type(attributes), right.value_type(attributes));
        Ok(match operator {
            BinaryOperator::Divide => format!(
                "({})",
                self.call("divide", &[Value::from(l), Value::from(r)])?
            ),
            // In double precision (rule 7): a sum, difference or product of 32-bit integer
            // columns overflows on DuckDB and PostgreSQL (2147483647 + 1, 50,000 × 50,000),
            // not on BigQuery, whose integers have 64 bits.
            BinaryOperator::Add => format!("({} + {r})", self.cast(l, "double")?),
            BinaryOperator::Subtract => format!("({} - {r})", self.cast(l, "double")?),
            BinaryOperator::Multiply => format!("({} * {r})", self.cast(l, "double")?),
            BinaryOperator::And => format!("({l} AND {r})"),
            BinaryOperator::Or => format!("({l} OR {r})"),
            BinaryOperator::Compare(c) => {
                // A timestamp compared with a date compares its local day, as in conditions
                // (rule 14), not the instant with the date's UTC midnight.
                match (left_type, right_type) {
                    (ValueType::Timestamp, ValueType::Date) => l = self.local_date(&l)?,
                    (ValueType::Date, ValueType::Timestamp) => r = self.local_date(&r)?,
                    _ => {}
                }
                // Strings compare exactly, as in conditions (rule 15).
                let string = left_type == ValueType::String || right_type == ValueType::String;
                let l = self.exact(l, string)?;
                let r = self.exact(r, string)?;
                format!("({l} {} {r})", comparison_operator(c))
            }
        })
    }

    /// A function call.
    fn function(
        &mut self,
        function: Function,
        arguments: &[Expr],
        alias: Alias,
    ) -> Result<String, Error> {
        if function == Function::DaysBetween {
            return self.days_between(arguments, alias);
        }
        let rendered = arguments
            .iter()
            .map(|a| self.as_value(a, alias))
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
        // Strings are compared exactly, as in conditions (rule 15); the value kept is the
        // argument itself.
        let attributes = &self.plan().project.attributes;
        let string = arguments
            .iter()
            .any(|argument| argument.value_type(attributes) == ValueType::String);
        if matches!(function, Function::Least | Function::Greatest) {
            let compared = rendered
                .iter()
                .map(|value| self.exact(value.clone(), string))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(extreme(
                &rendered,
                &compared,
                function == Function::Greatest,
            ));
        }
        if function == Function::NullIf && string {
            let (value, other) = (&rendered[0], &rendered[1]);
            let (a, b) = (
                self.exact(value.clone(), true)?,
                self.exact(other.clone(), true)?,
            );
            return Ok(format!("CASE WHEN {a} = {b} THEN NULL ELSE {value} END"));
        }
        if function == Function::Round {
            let value = self.cast(rendered.first().cloned().unwrap_or_default(), "double")?;
            return self.round(value, arguments.get(1), rendered.get(1));
        }
        // `abs` of a 32-bit integer's least value overflows it: in double precision (rule 7).
        if function == Function::Abs {
            let value = self.cast(rendered.first().cloned().unwrap_or_default(), "double")?;
            return Ok(format!("{name}({value})"));
        }
        Ok(format!("{name}({})", rendered.join(", ")))
    }

    /// `round(value, digits)`: halves away from zero, in the same double arithmetic on every
    /// warehouse, where their ROUNDs differ (PostgreSQL has none for doubles; a NUMERIC copy
    /// without a scale is whole on Redshift). The value is scaled by the power of ten (exact
    /// as a double up to 1e22), 0.5 added and the floor taken, then scaled back; a scaled
    /// value of 2^52 or more is already whole and is kept (adding 0.5 to it would round to
    /// even).
    fn round(
        &mut self,
        value: String,
        digits: Option<&Expr>,
        digits_sql: Option<&String>,
    ) -> Result<String, Error> {
        let double = self.dialect.types.double.clone();
        let whole = |expr: &Expr| match expr {
            Expr::Number(n) if n.fract() == 0.0 && n.abs() <= 22.0 => Some(*n as i32),
            Expr::Negate(inner) => match **inner {
                Expr::Number(n) if n.fract() == 0.0 && n.abs() <= 22.0 => Some(-(n as i32)),
                _ => None,
            },
            _ => None,
        };
        let rounded = |scale: &str, negative: bool| {
            let (scaled, back) = if negative {
                (format!("ABS({value}) / {scale}"), format!("* {scale}"))
            } else {
                (format!("ABS({value}) * {scale}"), format!("/ {scale}"))
            };
            format!(
                "CASE WHEN {scaled} >= 4503599627370496 THEN {value} \
                 ELSE SIGN({value}) * (FLOOR({scaled} + CAST(0.5 AS {double})) {back}) END"
            )
        };
        Ok(match digits.map_or(Some(0), whole) {
            Some(n) => {
                let scale = format!(
                    "CAST(1{} AS {double})",
                    "0".repeat(n.unsigned_abs() as usize)
                );
                format!("({})", rounded(&scale, n < 0))
            }
            None => {
                let digits = digits_sql.cloned().unwrap_or_else(|| "0".into());
                let scale = format!("POWER(CAST(10 AS {double}), ABS(FLOOR({digits})))");
                format!(
                    "(CASE WHEN {digits} >= 0 THEN {} ELSE {} END)",
                    rounded(&scale, false),
                    rounded(&scale, true)
                )
            }
        })
    }

    /// `days_between(start, end)`: whole days between two dates.
    fn days_between(&mut self, arguments: &[Expr], alias: Alias) -> Result<String, Error> {
        let mut dates = Vec::new();
        for argument in arguments {
            // A stored timestamp's local date, computed once per row in the attributes stage
            // (unless this stage reads the attribute from a column of its own).
            if let Expr::Attribute(id) = argument
                && !self.values.iter().any(|(read, _)| read == id)
                && let Some((_, column)) = self.local_days.iter().find(|(day, _)| day == id)
            {
                let column = column.clone();
                dates.push(format!("{}.{column}", self.alias(alias)));
                continue;
            }
            let sql = self.expr(argument, alias)?;
            // A timestamp counts by its local date in the project's time zone (rule 14),
            // whatever expression gives it.
            let value_type = argument.value_type(&self.plan().project.attributes);
            dates.push(match value_type {
                ValueType::Timestamp => self.local_date(&sql)?,
                ValueType::Date => sql,
                _ => self.call("to_date", &[Value::from(sql)])?,
            });
        }
        let end = dates.pop().unwrap_or_default();
        let start = dates.pop().unwrap_or_default();
        self.call("days_between", &[Value::from(start), Value::from(end)])
    }
}

/// `greatest(…)` (or `least`) of the rendered arguments, skipping NULLs (NULL when all are), as
/// a CASE: `GREATEST` exists only from SQL Server 2022 on, and BigQuery's returns NULL when any
/// argument is NULL where the others skip it. The first argument not exceeded by any later
/// one is the answer: an earlier one that would also qualify equals it. `compared` holds the
/// arguments in the form they are compared in (exact strings).
fn extreme(arguments: &[String], compared: &[String], greatest: bool) -> String {
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
            .zip(&compared[index + 1..])
            .map(|(later, later_compared)| {
                format!(
                    "({later} IS NULL OR {} {operator} {later_compared})",
                    compared[index]
                )
            })
            .collect();
        case.push_str(&format!(
            " WHEN {candidate} IS NOT NULL AND {} THEN {candidate}",
            beats_later.join(" AND ")
        ));
    }
    case.push_str(&format!(" ELSE {last} END"));
    case
}
