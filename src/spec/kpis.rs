//! `kpis:`: aggregates over a row's members, ratios and shares.

use crate::error::{Diagnostic, Span};

use super::Spanned;
use super::conditions::{ConditionSpec, read_condition_body};
use super::reader::{MapReader, scalar_string};
use super::yaml::{self, Node};

#[derive(Debug, Clone)]
pub struct KpiSpec {
    pub name: Spanned<String>,
    pub label: Option<Spanned<String>>,
    pub aggregation: Option<Spanned<String>>,
    pub of: Option<Spanned<String>>,
    pub filter: Option<ConditionSpec>,
    pub p: Option<Spanned<f64>>,
    pub ratio: Option<(Spanned<String>, Spanned<String>)>,
    pub share_of_total: Option<Spanned<String>>,
    pub flow: Option<Spanned<String>>,
    pub membership: Option<Spanned<String>>,
    pub format: Option<Spanned<String>>,
    pub description: Option<Spanned<String>>,
    pub span: Span,
}

const KPI_KEYS: &[&str] = &[
    "name",
    "label",
    "agg",
    "of",
    "where",
    "p",
    "ratio",
    "share_of_total",
    "flow",
    "membership",
    "format",
    "description",
];

pub(super) fn read_kpi(node: &Node, diagnostics: &mut Vec<Diagnostic>) -> Option<KpiSpec> {
    let mut map = MapReader::new(node, "a KPI", diagnostics)?;
    let name = map.required_string("name", diagnostics)?;
    let p = map.node("p").and_then(|node| match node.scalar() {
        Some(yaml::ScalarValue::Integer(v)) => Some(Spanned {
            value: v as f64,
            span: node.span,
        }),
        Some(yaml::ScalarValue::Float(v)) => Some(Spanned {
            value: v,
            span: node.span,
        }),
        _ => {
            diagnostics.push(Diagnostic::new(
                format!(
                    "`p` must be a number between 0 and 1, found {}",
                    node.describe()
                ),
                node.span,
            ));
            None
        }
    });
    let ratio = map.node("ratio").and_then(|node| match node.as_sequence() {
        Some([a, b]) => Some((
            scalar_string(a, "a KPI name", diagnostics)?,
            scalar_string(b, "a KPI name", diagnostics)?,
        )),
        _ => {
            diagnostics.push(
                Diagnostic::new("`ratio` must be a list of two KPI names", node.span)
                    .with_hint("write `ratio: [numerator_kpi, denominator_kpi]`"),
            );
            None
        }
    });
    let filter = map
        .node("where")
        .map(|node| read_condition_body(node, diagnostics));
    let spec = KpiSpec {
        label: map.string("label", diagnostics),
        aggregation: map.string("agg", diagnostics),
        of: map.string("of", diagnostics),
        share_of_total: map.string("share_of_total", diagnostics),
        flow: map.string("flow", diagnostics),
        membership: map.string("membership", diagnostics),
        format: map.string("format", diagnostics),
        description: map.string("description", diagnostics),
        span: map.span,
        name,
        filter,
        p,
        ratio,
    };
    map.finish(KPI_KEYS, diagnostics);
    Some(spec)
}
