//! Conditions: groups, `in_segment`, and predicates with values typed by their operand.

use crate::error::{Span, suggest};
use crate::ir::{
    Comparison, Condition, Duration, Literal, Operand, Predicate, SegmentId, SourceId, ValueType,
};
use crate::spec::yaml::{Node, ScalarValue};
use crate::spec::{ConditionSpec, GroupKind, Spanned};

use super::{Validator, parse_date};

pub(crate) const OPERATORS: &[&str] = &[
    "eq",
    "ne",
    "gt",
    "gte",
    "lt",
    "lte",
    "between",
    "in",
    "not_in",
    "is_null",
    "contains",
    "starts_with",
    "ends_with",
    "within_last",
    "before",
    "after",
];

/// Where a condition's names are looked up.
#[derive(Clone, Copy)]
pub(super) enum Scope<'s> {
    /// Attributes; `in_segment` allowed and its targets recorded.
    Members {
        segment_names: &'s std::collections::HashMap<String, SegmentId>,
    },
    /// Columns of one fact source.
    Facts(SourceId),
}

impl Validator<'_> {
    pub(super) fn resolve_fact_condition(
        &mut self,
        spec: &ConditionSpec,
        source: SourceId,
    ) -> Condition {
        self.resolve_condition(spec, Scope::Facts(source), &mut Vec::new())
    }

    /// Resolves a condition; `in_segment` references are pushed to `references` with their
    /// spans so that cycles can be reported where they are written.
    pub(super) fn resolve_condition(
        &mut self,
        spec: &ConditionSpec,
        scope: Scope<'_>,
        references: &mut Vec<(SegmentId, Span)>,
    ) -> Condition {
        match spec {
            ConditionSpec::Group { kind, items, .. } => {
                // An empty group is no condition, whatever its kind and wherever it is: it
                // is left out of the group around it (in `any: [{ none: [] }, x]` it would
                // otherwise hold everyone), and a group of nothing else is no condition
                // either: `none: []` holds every user, as a segment without conditions does
                // (taken as "not any of nothing", it held no one).
                let items: Vec<Condition> = items
                    .iter()
                    .map(|i| self.resolve_condition(i, scope, references))
                    .filter(|condition| *condition != Condition::True)
                    .collect();
                match kind {
                    _ if items.is_empty() => Condition::True,
                    GroupKind::All if items.len() == 1 => {
                        items.into_iter().next().unwrap_or(Condition::True)
                    }
                    GroupKind::All => Condition::All(items),
                    GroupKind::Any if items.len() == 1 => {
                        items.into_iter().next().unwrap_or(Condition::True)
                    }
                    GroupKind::Any => Condition::Any(items),
                    GroupKind::None => Condition::Not(Box::new(Condition::Any(items))),
                }
            }
            ConditionSpec::InSegment(name) => match scope {
                Scope::Members { segment_names } => match segment_names.get(&name.value) {
                    Some(id) => {
                        references.push((*id, name.span));
                        Condition::InSegment(*id)
                    }
                    None => {
                        let hint = suggest(&name.value, segment_names.keys().map(String::as_str));
                        self.error_with_hint(
                            format!("unknown segment `{}` in `in_segment`", name.value),
                            name.span,
                            hint,
                        );
                        Condition::True
                    }
                },
                Scope::Facts(_) => {
                    self.error("`in_segment` is not allowed in an attribute's `where`, which filters facts", name.span);
                    Condition::True
                }
            },
            ConditionSpec::Predicate {
                attribute,
                operator,
                value,
            } => {
                let (operand, value_type) = match scope {
                    Scope::Members { .. } => match self.attribute_by_name(&attribute.value) {
                        Some(id) => (Operand::Attribute(id), self.attributes[id.0].value_type),
                        None => {
                            let hint = self.attribute_suggestion(&attribute.value);
                            self.error_with_hint(
                                format!("unknown attribute `{}`", attribute.value),
                                attribute.span,
                                hint,
                            );
                            return Condition::True;
                        }
                    },
                    Scope::Facts(source) => {
                        match self.fact_column(source, &attribute.value, attribute.span) {
                            Some(column) => {
                                let value_type = column.value_type();
                                (Operand::SourceColumn { column }, value_type)
                            }
                            None => return Condition::True,
                        }
                    }
                };
                match self.predicate(&attribute.value, operator, value, value_type) {
                    Some(predicate) => Condition::Predicate { operand, predicate },
                    None => Condition::True,
                }
            }
        }
    }

    fn predicate(
        &mut self,
        name: &str,
        operator: &Spanned<String>,
        value: &Node,
        value_type: ValueType,
    ) -> Option<Predicate> {
        Some(match operator.value.as_str() {
            "eq" => Predicate::Compare(Comparison::Eq, self.literal(name, value, value_type)?),
            "ne" => Predicate::Compare(Comparison::Ne, self.literal(name, value, value_type)?),
            op @ ("gt" | "gte" | "lt" | "lte") => {
                if value_type == ValueType::Boolean {
                    self.error(
                        format!("`{op}` does not apply to the boolean `{name}`"),
                        operator.span,
                    );
                    return None;
                }
                let comparison = match op {
                    "gt" => Comparison::Gt,
                    "gte" => Comparison::Gte,
                    "lt" => Comparison::Lt,
                    _ => Comparison::Lte,
                };
                Predicate::Compare(comparison, self.literal(name, value, value_type)?)
            }
            "between" => match value.as_sequence() {
                Some([low, high]) => {
                    let low = self.literal(name, low, value_type);
                    let high = self.literal(name, high, value_type);
                    let (low, high) = (low?, high?);
                    if reversed(&low, &high) {
                        self.error_with_hint(
                            "`between` has its bounds reversed: no value is at least the first and at most the second",
                            value.span,
                            Some("write the lower bound first: `between: [low, high]` (both ends included)".into()),
                        );
                        return None;
                    }
                    Predicate::Between(low, high)
                }
                _ => {
                    self.error_with_hint(
                        "`between` takes a list of two values",
                        value.span,
                        Some("write `between: [low, high]` (both ends included)".into()),
                    );
                    return None;
                }
            },
            op @ ("in" | "not_in") => match value.as_sequence() {
                Some(items) if !items.is_empty() => {
                    let literals: Vec<Option<Literal>> = items
                        .iter()
                        .map(|item| self.literal(name, item, value_type))
                        .collect();
                    let literals: Option<Vec<Literal>> = literals.into_iter().collect();
                    if op == "in" {
                        Predicate::In(literals?)
                    } else {
                        Predicate::NotIn(literals?)
                    }
                }
                _ => {
                    self.error(
                        format!("`{op}` takes a non-empty list of values"),
                        value.span,
                    );
                    return None;
                }
            },
            "is_null" => match value.scalar() {
                Some(ScalarValue::Bool(flag)) => Predicate::IsNull(flag),
                _ => {
                    self.error("`is_null` takes true or false", value.span);
                    return None;
                }
            },
            op @ ("contains" | "starts_with" | "ends_with") => {
                self.text_predicate(op, name, operator, value, value_type)?
            }
            "within_last" => self.within_last(name, operator, value, value_type)?,
            op @ ("before" | "after") => {
                self.date_predicate(op, name, operator, value, value_type)?
            }
            other => {
                let hint = suggest(other, OPERATORS.iter().copied())
                    .or_else(|| Some(format!("operators: {}", OPERATORS.join(", "))));
                self.error_with_hint(format!("unknown operator `{other}`"), operator.span, hint);
                return None;
            }
        })
    }

    /// `contains`, `starts_with`, `ends_with`: a string operand and a string value.
    fn text_predicate(
        &mut self,
        op: &str,
        name: &str,
        operator: &Spanned<String>,
        value: &Node,
        value_type: ValueType,
    ) -> Option<Predicate> {
        if !matches!(value_type, ValueType::String | ValueType::Unknown) {
            self.error(
                format!(
                    "`{op}` applies to strings, and `{name}` is a {}",
                    value_type.name()
                ),
                operator.span,
            );
            return None;
        }
        let text = match (value.as_str(), value.is_null()) {
            (Some(text), false) => text.to_string(),
            _ => {
                self.error(format!("`{op}` takes a string"), value.span);
                return None;
            }
        };
        Some(match op {
            "contains" => Predicate::Contains(text),
            "starts_with" => Predicate::StartsWith(text),
            _ => Predicate::EndsWith(text),
        })
    }

    /// True when `name`, the operand of `op`, is a date or timestamp; else an error at the
    /// operator.
    fn temporal_operand(
        &mut self,
        op: &str,
        name: &str,
        operator: &Spanned<String>,
        value_type: ValueType,
    ) -> bool {
        // Not known yet: `run` and `segc sources --refresh` read it from the catalog first.
        if value_type.is_temporal()
            || (value_type == ValueType::Unknown && (!self.check_types || self.types_pending))
        {
            return true;
        }
        self.error_with_hint(
            format!(
                "`{op}` applies to dates and timestamps, and `{name}` is {}",
                article(value_type)
            ),
            operator.span,
            (value_type == ValueType::Unknown)
                .then(|| "declare the attribute's `type: date` or `type: timestamp`".to_string()),
        );
        false
    }

    /// `within_last: 14d`: a date or timestamp operand and a length.
    fn within_last(
        &mut self,
        name: &str,
        operator: &Spanned<String>,
        value: &Node,
        value_type: ValueType,
    ) -> Option<Predicate> {
        if !self.temporal_operand("within_last", name, operator, value_type) {
            return None;
        }
        Some(match value.as_str().and_then(Duration::parse) {
            Some(length) => Predicate::WithinLast(length),
            None => {
                self.error_with_hint(
                    format!(
                        "`within_last` takes a length: 1 to 100000 days, weeks or months, found {}",
                        match value.as_str() {
                            Some(text) if text.chars().count() <= 40 => format!("`{text}`"),
                            Some(_) => "a longer text".to_string(),
                            None => value.describe().to_string(),
                        }
                    ),
                    value.span,
                    Some("write e.g. `within_last: 14d`".into()),
                );
                return None;
            }
        })
    }

    /// `before`, `after`: a date or timestamp operand and a date.
    fn date_predicate(
        &mut self,
        op: &str,
        name: &str,
        operator: &Spanned<String>,
        value: &Node,
        value_type: ValueType,
    ) -> Option<Predicate> {
        if !self.temporal_operand(op, name, operator, value_type) {
            return None;
        }
        Some(match value.as_str().and_then(parse_date) {
            Some(date) => {
                if op == "before" {
                    Predicate::Before(date)
                } else {
                    Predicate::After(date)
                }
            }
            None => {
                // Shaped as a date but not one (2026-02-29, 2026-13-01): say which day.
                let shaped = value.as_str().filter(|text| {
                    let bytes = text.as_bytes();
                    bytes.len() == 10
                        && bytes.iter().enumerate().all(|(at, b)| match at {
                            4 | 7 => *b == b'-',
                            _ => b.is_ascii_digit(),
                        })
                });
                let found = match shaped {
                    Some(text) => format!("`{text}`, which is not a day of the calendar"),
                    None => value.describe().to_string(),
                };
                self.error(
                    format!("`{op}` takes a date YYYY-MM-DD, found {found}"),
                    value.span,
                );
                return None;
            }
        })
    }

    /// A YAML value as a literal of the operand's type. Comparing a date with a number (or
    /// a number with text) is an error here, at the value.
    fn literal(&mut self, name: &str, node: &Node, value_type: ValueType) -> Option<Literal> {
        let Some(scalar) = node.scalar() else {
            self.error(
                format!(
                    "expected a single value for `{name}`, found {}",
                    node.describe()
                ),
                node.span,
            );
            return None;
        };
        let raw = node.as_str().unwrap_or_default();
        if let ScalarValue::Float(value) = scalar
            && !value.is_finite()
            && value_type != ValueType::String
        {
            self.error_with_hint(
                format!("the number `{raw}` is too large to compare `{name}` with"),
                node.span,
                Some("numbers must fit in a double (up to about 1.8e308)".into()),
            );
            return None;
        }
        let mismatch = |validator: &mut Self, found: &str| {
            validator.error_with_hint(
                format!(
                    "`{name}` is {} and cannot be compared with {found}",
                    article(value_type)
                ),
                node.span,
                match value_type {
                    ValueType::Date | ValueType::Timestamp => Some(
                        "write a date as YYYY-MM-DD, from 0001-01-01 to 9999-12-31".to_string(),
                    ),
                    _ => None,
                },
            );
        };
        match (value_type, scalar) {
            (_, ScalarValue::Null) => {
                self.error_with_hint(
                    format!("a comparison of `{name}` with null is never true"),
                    node.span,
                    Some("use `is_null: true` or `is_null: false`".into()),
                );
                None
            }
            (ValueType::Date | ValueType::Timestamp, ScalarValue::String(text)) => {
                match parse_date(text) {
                    Some(date) => Some(Literal::Date(date)),
                    None => {
                        mismatch(self, &format!("`{text}`"));
                        None
                    }
                }
            }
            (
                ValueType::Date | ValueType::Timestamp,
                ScalarValue::Integer(_) | ScalarValue::Float(_),
            ) => {
                mismatch(self, "a number");
                None
            }
            (ValueType::Date | ValueType::Timestamp, ScalarValue::Bool(_)) => {
                mismatch(self, "a boolean");
                None
            }
            (ValueType::Number | ValueType::Integer, ScalarValue::Integer(v)) => {
                Some(Literal::Integer(v))
            }
            (ValueType::Number | ValueType::Integer, ScalarValue::Float(v)) => {
                Some(Literal::Number(v))
            }
            (ValueType::Number | ValueType::Integer, ScalarValue::String(text)) => {
                mismatch(self, &format!("the text `{text}`"));
                None
            }
            (ValueType::Number | ValueType::Integer, ScalarValue::Bool(_)) => {
                mismatch(self, "a boolean");
                None
            }
            (
                ValueType::String,
                ScalarValue::Bool(_) | ScalarValue::Integer(_) | ScalarValue::Float(_),
            ) => Some(Literal::String(raw.to_string())),
            (ValueType::Boolean, ScalarValue::Bool(b)) => Some(Literal::Boolean(b)),
            (ValueType::Boolean, _) => {
                mismatch(self, &format!("`{raw}`"));
                None
            }
            (_, ScalarValue::String(text)) => Some(Literal::String(text.to_string())),
            (ValueType::Unknown, ScalarValue::Integer(v)) => Some(Literal::Integer(v)),
            (ValueType::Unknown, ScalarValue::Float(v)) => Some(Literal::Number(v)),
            (ValueType::Unknown, ScalarValue::Bool(b)) => Some(Literal::Boolean(b)),
        }
    }
}

pub(crate) fn article(value_type: ValueType) -> String {
    match value_type {
        ValueType::Unknown => "of unknown type".into(),
        ValueType::Integer => "an integer".into(),
        other => format!("a {}", other.name()),
    }
}

/// Whether `between: [low, high]` has `low` above `high`, so that no value lies between
/// (strings in code points, as segc compares them). A whole number is compared as the
/// nearest double, which never turns a pair in order into a reversed one.
fn reversed(low: &Literal, high: &Literal) -> bool {
    match (low, high) {
        (Literal::Integer(a), Literal::Integer(b)) => a > b,
        (Literal::Number(a), Literal::Number(b)) => a > b,
        (Literal::Integer(a), Literal::Number(b)) => (*a as f64) > *b,
        (Literal::Number(a), Literal::Integer(b)) => *a > (*b as f64),
        (Literal::String(a), Literal::String(b)) => a > b,
        (Literal::Date(a), Literal::Date(b)) => a > b,
        (Literal::Boolean(a), Literal::Boolean(b)) => a > b,
        _ => false,
    }
}
