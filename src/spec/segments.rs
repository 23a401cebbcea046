//! `segments:`: a name, a parent and the conditions of membership.

use crate::error::{Diagnostic, Span};

use super::Spanned;
use super::conditions::{ConditionSpec, GroupKind, read_group};
use super::reader::MapReader;
use super::yaml::Node;

#[derive(Debug, Clone)]
pub struct SegmentSpec {
    pub name: Spanned<String>,
    pub label: Option<Spanned<String>>,
    pub parent: Option<Spanned<String>>,
    pub visible: Option<Spanned<bool>>,
    /// The name of a set of segments of which each user belongs to at most one.
    pub exclusive: Option<Spanned<String>>,
    /// The order in which an `exclusive` set is checked: the lowest number wins.
    pub priority: Option<Spanned<String>>,
    pub description: Option<Spanned<String>>,
    pub condition: ConditionSpec,
    pub span: Span,
}

const SEGMENT_KEYS: &[&str] = &[
    "name",
    "label",
    "parent",
    "visible",
    "exclusive",
    "priority",
    "description",
    "all",
    "any",
    "none",
];

pub(super) fn read_segment(node: &Node, diagnostics: &mut Vec<Diagnostic>) -> Option<SegmentSpec> {
    let mut map = MapReader::new(node, "a segment", diagnostics)?;
    let name = map.required_string("name", diagnostics)?;
    let label = map.string("label", diagnostics);
    let parent = map.string("parent", diagnostics);
    let visible = map.boolean("visible", diagnostics);
    let exclusive = map.string("exclusive", diagnostics);
    let priority = map.string("priority", diagnostics);
    let description = map.string("description", diagnostics);
    let mut groups = Vec::new();
    for (key, kind) in [
        ("all", GroupKind::All),
        ("any", GroupKind::Any),
        ("none", GroupKind::None),
    ] {
        if let Some(body) = map.node(key) {
            groups.push(read_group(kind, body, diagnostics));
        }
    }
    let span = map.span;
    map.finish(SEGMENT_KEYS, diagnostics);
    let condition = ConditionSpec::Group {
        kind: GroupKind::All,
        items: groups,
        span,
    };
    Some(SegmentSpec {
        name,
        label,
        parent,
        visible,
        exclusive,
        priority,
        description,
        condition,
        span,
    })
}
