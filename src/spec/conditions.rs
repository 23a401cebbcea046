//! Conditions: the `where`/`all`/`any`/`none` trees of segments, attributes and KPIs.

use crate::error::{Diagnostic, Span};

use super::Spanned;
use super::reader::scalar_string;
use super::yaml::Node;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupKind {
    All,
    Any,
    None,
}

#[derive(Debug, Clone)]
pub enum ConditionSpec {
    Group {
        kind: GroupKind,
        items: Vec<ConditionSpec>,
        span: Span,
    },
    InSegment(Spanned<String>),
    Predicate {
        attribute: Spanned<String>,
        operator: Spanned<String>,
        value: Node,
    },
}

/// `all: [...]`, `any: [...]`, `none: [...]`: a list of conditions, or a mapping read as
/// one condition.
pub(super) fn read_group(
    kind: GroupKind,
    node: &Node,
    diagnostics: &mut Vec<Diagnostic>,
) -> ConditionSpec {
    let items = match node.as_sequence() {
        Some(items) => items
            .iter()
            .map(|item| read_condition_body(item, diagnostics))
            .collect(),
        None if node.as_mapping().is_some() => vec![read_condition_body(node, diagnostics)],
        None => {
            diagnostics.push(Diagnostic::new(
                format!(
                    "a condition group must be a list of conditions, found {}",
                    node.describe()
                ),
                node.span,
            ));
            Vec::new()
        }
    };
    ConditionSpec::Group {
        kind,
        items,
        span: node.span,
    }
}

/// A mapping of conditions, all of which must hold: `{ monthly_spend: { gt: 0 }, any: [...] }`.
pub fn read_condition_body(node: &Node, diagnostics: &mut Vec<Diagnostic>) -> ConditionSpec {
    let mut items = Vec::new();
    match node.as_mapping() {
        Some(entries) => {
            for (key, value) in entries {
                let Some(name) = scalar_string(key, "a condition", diagnostics) else {
                    continue;
                };
                match name.value.as_str() {
                    "all" => items.push(read_group(GroupKind::All, value, diagnostics)),
                    "any" => items.push(read_group(GroupKind::Any, value, diagnostics)),
                    "none" => items.push(read_group(GroupKind::None, value, diagnostics)),
                    "in_segment" => {
                        if let Some(segment) = scalar_string(value, "`in_segment`", diagnostics) {
                            items.push(ConditionSpec::InSegment(segment));
                        }
                    }
                    _ => match value.as_mapping() {
                        Some(operators) if !operators.is_empty() => {
                            for (operator, operand) in operators {
                                if let Some(operator) = scalar_string(operator, "an operator", diagnostics) {
                                    items.push(ConditionSpec::Predicate {
                                        attribute: name.clone(),
                                        operator,
                                        value: operand.clone(),
                                    });
                                }
                            }
                        }
                        _ => diagnostics.push(
                            Diagnostic::new(
                                format!(
                                    "the condition on `{}` must be a mapping of operator to value, found {}",
                                    name.value,
                                    match value.as_mapping() {
                                        Some(_) => "an empty mapping".to_string(),
                                        None => value.describe().to_string(),
                                    }
                                ),
                                value.span,
                            )
                            .with_hint(format!("write `{}: {{ eq: value }}`", name.value)),
                        ),
                    },
                }
            }
        }
        None => diagnostics.push(Diagnostic::new(
            format!(
                "a condition must be a mapping such as `{{ attribute: {{ op: value }} }}`, found {}",
                node.describe()
            ),
            node.span,
        )),
    }
    if items.len() == 1 {
        return items.pop().expect("one item");
    }
    ConditionSpec::Group {
        kind: GroupKind::All,
        items,
        span: node.span,
    }
}
