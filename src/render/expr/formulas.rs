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
            _ => Ok(format!("{}.{}", self.alias(alias), self.q(&attribute.name))),
        }
    }

    /// A formula as SQL. Attribute references are columns of `alias`, or formulas inlined.
    fn expr(&mut self, expr: &Expr, alias: Alias) -> Result<String, Error> {
        Ok(match expr {
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

    /// A binary operation.
    fn binary(
        &mut self,
        operator: BinaryOperator,
        left: &Expr,
        right: &Expr,
        alias: Alias,
    ) -> Result<String, Error> {
        let l = self.expr(left, alias)?;
        let r = self.expr(right, alias)?;
        Ok(match operator {
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
                let attributes = &self.plan().project.attributes;
                let string = left.value_type(attributes) == ValueType::String
                    || right.value_type(attributes) == ValueType::String;
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
            let digits = rendered.get(1).cloned().unwrap_or_else(|| "0".into());
            return self.call("round", &[Value::from(value), Value::from(digits)]);
        }
        Ok(format!("{name}({})", rendered.join(", ")))
    }

    /// `days_between(start, end)`: whole days between two dates.
    fn days_between(&mut self, arguments: &[Expr], alias: Alias) -> Result<String, Error> {
        let mut dates = Vec::new();
        for argument in arguments {
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
