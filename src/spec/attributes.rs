//! `attributes:`: columns, aggregates over facts with their windows, formulas and scores.

use crate::error::{Diagnostic, Span};

use super::Spanned;
use super::conditions::{ConditionSpec, read_condition_body};
use super::reader::{MapReader, scalar_string};
use super::yaml::{self, Node};

#[derive(Debug, Clone)]
pub enum WindowSpec {
    /// `30d`, `4w`, `3m`, `period`, `activity`, `all`
    Text(Spanned<String>),
    /// `{ last: 30d, offset: 30d }` or `{ after_signup: 90d }`
    Mapping(Box<WindowMapping>),
}

#[derive(Debug, Clone)]
pub struct WindowMapping {
    pub last: Option<Spanned<String>>,
    pub offset: Option<Spanned<String>>,
    pub after_signup: Option<Spanned<String>>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct AttributeSpec {
    pub name: Spanned<String>,
    pub source: Option<Spanned<String>>,
    pub column: Option<Spanned<String>>,
    pub aggregation: Option<Spanned<String>>,
    pub window: Option<WindowSpec>,
    pub filter: Option<ConditionSpec>,
    pub formula: Option<Spanned<String>>,
    /// Set when the formula was written as a quoted scalar: columns inside the formula
    /// text then start one character after the node's span.
    pub formula_quoted: bool,
    pub value_type: Option<Spanned<String>>,
    /// `quintile: <attribute>`: a 1–5 score of that attribute among all users.
    pub quintile: Option<Spanned<String>>,
    /// With `quintile`: `highest` (the default) or `lowest`, the values that score 5.
    pub best: Option<Spanned<String>>,
    /// With `agg: nth`: which fact, counting from 1.
    pub n: Option<Spanned<String>>,
    pub description: Option<Spanned<String>>,
    pub span: Span,
}

const ATTRIBUTE_KEYS: &[&str] = &[
    "source",
    "column",
    "agg",
    "window",
    "where",
    "formula",
    "type",
    "quintile",
    "best",
    "n",
    "description",
];

pub(super) fn read_attribute(
    name: Spanned<String>,
    node: &Node,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<AttributeSpec> {
    let what = format!("attribute `{}`", name.value);
    let mut map = MapReader::new(node, &what, diagnostics)?;
    let window = map
        .node("window")
        .and_then(|node| read_window(node, diagnostics));
    let filter = map
        .node("where")
        .map(|node| read_condition_body(node, diagnostics));
    let formula_node = map.node("formula");
    let formula_quoted = matches!(
        formula_node.map(|n| &n.kind),
        Some(yaml::NodeKind::Scalar { quoted: true, .. })
    );
    let formula = formula_node.and_then(|node| scalar_string(node, "`formula`", diagnostics));
    let spec = AttributeSpec {
        source: map.string("source", diagnostics),
        column: map.string("column", diagnostics),
        aggregation: map.string("agg", diagnostics),
        value_type: map.string("type", diagnostics),
        quintile: map.string("quintile", diagnostics),
        best: map.string("best", diagnostics),
        n: map.string("n", diagnostics),
        description: map.string("description", diagnostics),
        span: name.span,
        name,
        window,
        filter,
        formula,
        formula_quoted,
    };
    map.finish(ATTRIBUTE_KEYS, diagnostics);
    Some(spec)
}

fn read_window(node: &Node, diagnostics: &mut Vec<Diagnostic>) -> Option<WindowSpec> {
    if node.as_mapping().is_some() {
        let mut map = MapReader::new(node, "`window`", diagnostics)?;
        let last = map.string("last", diagnostics);
        let offset = map.string("offset", diagnostics);
        let after_signup = map.string("after_signup", diagnostics);
        map.finish(&["last", "offset", "after_signup"], diagnostics);
        return Some(WindowSpec::Mapping(Box::new(WindowMapping {
            last,
            offset,
            after_signup,
            span: node.span,
        })));
    }
    scalar_string(node, "`window`", diagnostics).map(WindowSpec::Text)
}
