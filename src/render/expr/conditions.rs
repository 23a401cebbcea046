//! Conditions as SQL booleans, and the predicates they apply to a value.

use crate::render::alias::Alias;
use minijinja::Value;

use crate::error::Error;
use crate::ir::{Comparison, Condition, Literal, Operand, Predicate, ValueType};

use super::{Sql, number};

pub(super) fn comparison_operator(comparison: Comparison) -> &'static str {
    match comparison {
        Comparison::Eq => "=",
        Comparison::Ne => "<>",
        Comparison::Gt => ">",
        Comparison::Gte => ">=",
        Comparison::Lt => "<",
        Comparison::Lte => "<=",
    }
}

impl<'a, 's> Sql<'a, 's> {
    pub(in crate::render) fn condition(
        &mut self,
        condition: &Condition,
        alias: Alias,
    ) -> Result<String, Error> {
        self.condition_in(condition, alias, None)
    }

    /// A condition as a SQL boolean that is never NULL where it matters: negations are
    /// taken over a 1/0 flag, so `none: [country: {eq: US}]` includes NULL countries.
    pub(super) fn condition_in(
        &mut self,
        condition: &Condition,
        alias: Alias,
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
                        // An `any` of several comes whole already.
                        let whole = matches!(item, Condition::Any(items) if items.len() > 1);
                        self.condition_in(item, alias, source).map(|s| match whole {
                            true => s,
                            false => format!("({s})"),
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                match parts.len() {
                    0 => "1 = 1".into(),
                    1 => parts.join(joiner),
                    // Whole, so that a condition put beside others with AND (a window, a
                    // parent's membership) keeps every alternative under it.
                    _ if joiner == " OR " => format!("({})", parts.join(joiner)),
                    _ => parts.join(joiner),
                }
            }
            Condition::Not(inner) => {
                let inner = self.condition_in(inner, alias, source)?;
                format!("{} = 0", self.call("flag", &[Value::from(inner)])?)
            }
            Condition::InSegment(id) => {
                // A child's members are its parent's that meet its own conditions.
                let membership = self.plan().project.membership(*id);
                self.condition_in(&membership, alias, source)?
            }
            Condition::Predicate { operand, predicate } => {
                let (value, value_type, int_boolean) = match operand {
                    Operand::Attribute(id) => {
                        let attribute = self.plan().project.attribute(*id);
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
                        (self.fact_column(source, column)?, value_type, false)
                    }
                };
                self.predicate(&value, value_type, int_boolean, predicate)?
            }
        })
    }

    fn literal(&mut self, literal: &Literal, int_boolean: bool) -> Result<String, Error> {
        Ok(match literal {
            // A double on every warehouse: written as a decimal, DuckDB and PostgreSQL would
            // compare an integer or decimal column with it exactly (DuckDB casting the column
            // to the literal's scale, which fails past 10^22 for 16 fraction digits) where
            // BigQuery compares in double precision.
            Literal::Number(n) if self.dialect.hash_spelling => number(*n),
            Literal::Number(n) => self.cast(number(*n), "double")?,
            Literal::Integer(n) if *n < 0 => format!("({n})"),
            Literal::Integer(n) => n.to_string(),
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
                self.compare_local_day(value, *comparison, *day)?
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
                self.between_local_days(value, *low, *high)?
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
                let mut lists: Vec<Vec<String>> = vec![Vec::new(), Vec::new()];
                for item in items {
                    // Whole numbers compare exactly and the others as doubles: in one list,
                    // a warehouse would compare every item as a double (`in: [2^53 + 1,
                    // 0.5]` matching 2^53 too).
                    let doubles = matches!(item, Literal::Number(_)) && !self.dialect.hash_spelling;
                    lists[usize::from(doubles)].push(match item {
                        Literal::String(text) => self.exact_literal(text)?,
                        _ => self.literal(item, int_boolean)?,
                    });
                }
                let lists: Vec<String> = lists
                    .iter()
                    .filter(|list| !list.is_empty())
                    .map(|list| list.join(", "))
                    .collect();
                let negated = !matches!(predicate, Predicate::In(_));
                match lists.as_slice() {
                    [list] if negated => format!("{subject} NOT IN ({list})"),
                    [list] => format!("{subject} IN ({list})"),
                    _ => {
                        let within: Vec<String> = lists
                            .iter()
                            .map(|list| format!("{subject} IN ({list})"))
                            .collect();
                        let any = within.join(" OR ");
                        if negated {
                            format!("NOT ({any})")
                        } else {
                            format!("({any})")
                        }
                    }
                }
            }
            Predicate::IsNull(true) => format!("{value} IS NULL"),
            Predicate::IsNull(false) => format!("{value} IS NOT NULL"),
            // Every string contains, starts and ends with the empty one (T-SQL's CHARINDEX
            // finds it nowhere).
            Predicate::Contains(text) | Predicate::StartsWith(text) | Predicate::EndsWith(text)
                if text.is_empty() =>
            {
                format!("{value} IS NOT NULL")
            }
            Predicate::Contains(text) => {
                let needle = self.string(text);
                self.call("contains", &[Value::from(value), Value::from(needle)])?
            }
            Predicate::StartsWith(text) | Predicate::EndsWith(text) => {
                // The first (last) characters of the value, compared exactly with the text.
                let characters = text.chars().count();
                let units = text.encode_utf16().count();
                let function = if matches!(predicate, Predicate::StartsWith(_)) {
                    "first_characters"
                } else {
                    "last_characters"
                };
                let literal = self.string(text);
                let part = self.call(
                    function,
                    &[
                        Value::from(value),
                        Value::from(characters),
                        Value::from(units),
                        Value::from(literal),
                    ],
                )?;
                let part = self.exact(part, true)?;
                let needle = self.exact_literal(text)?;
                format!("{part} = {needle}")
            }
            Predicate::WithinLast(length) => self.within_last(value, timestamp, *length)?,
            Predicate::Before(day) => self.before(value, timestamp, *day)?,
            Predicate::After(day) => self.after(value, timestamp, *day)?,
        })
    }
}
