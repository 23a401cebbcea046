//! A YAML document as a tree of nodes that remember where they came from.
//!
//! serde stops at the first error; segc wants every problem at once with its location,
//! so the definition files are read into this tree and interpreted by hand.

use std::collections::HashMap;

use granit_parser::{ErrorKind, Event, Parser, ScalarStyle, ScanError, Tag};

use crate::error::{Diagnostic, FileId, Position, Span};

/// A YAML node with its source span.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// A scalar; `quoted` is true for quoted and block scalars, which are always strings.
    Scalar {
        value: String,
        quoted: bool,
    },
    Sequence(Vec<Node>),
    Mapping(Vec<(Node, Node)>),
}

/// What a scalar means under the YAML 1.2 core schema.
#[derive(Debug, Clone, PartialEq)]
pub enum ScalarValue<'a> {
    Null,
    Bool(bool),
    Integer(i64),
    Float(f64),
    String(&'a str),
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }

    pub fn as_mapping(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            NodeKind::Mapping(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn as_sequence(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Sequence(items) => Some(items),
            _ => None,
        }
    }

    /// The scalar's typed value, or `None` for collections.
    pub fn scalar(&self) -> Option<ScalarValue<'_>> {
        let NodeKind::Scalar { value, quoted } = &self.kind else {
            return None;
        };
        if *quoted {
            return Some(ScalarValue::String(value));
        }
        Some(match value.as_str() {
            "" | "~" | "null" | "Null" | "NULL" => ScalarValue::Null,
            "true" | "True" | "TRUE" => ScalarValue::Bool(true),
            "false" | "False" | "FALSE" => ScalarValue::Bool(false),
            text => {
                if let Ok(integer) = text.parse::<i64>() {
                    ScalarValue::Integer(integer)
                } else if looks_like_float(text) {
                    text.parse::<f64>()
                        .map(ScalarValue::Float)
                        .unwrap_or(ScalarValue::String(text))
                } else {
                    ScalarValue::String(text)
                }
            }
        })
    }

    pub fn is_null(&self) -> bool {
        matches!(self.scalar(), Some(ScalarValue::Null))
    }

    /// A short word for the node's shape, for error messages.
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            NodeKind::Scalar { .. } => match self.scalar() {
                Some(ScalarValue::Null) => "an empty value",
                Some(ScalarValue::Bool(_)) => "a boolean",
                Some(ScalarValue::Integer(_)) | Some(ScalarValue::Float(_)) => "a number",
                _ => "a string",
            },
            NodeKind::Sequence(_) => "a list",
            NodeKind::Mapping(_) => "a mapping",
        }
    }
}

fn looks_like_float(text: &str) -> bool {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    !body.is_empty()
        && body
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit() || c == '.')
        && body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
}

fn position(marker: &granit_parser::Marker) -> Position {
    Position {
        line: marker.line(),
        column: marker.col() + 1,
        byte: marker.byte_offset().unwrap_or(0),
    }
}

fn span(file: FileId, raw: &granit_parser::Span) -> Span {
    Span {
        file,
        start: position(&raw.start),
        end: position(&raw.end),
    }
}

/// Limits on what one read may build, so that a hostile or broken file cannot exhaust
/// memory or the stack: YAML aliases copy the node they name, and a few lines of nested
/// aliases (a "billion laughs" file) would otherwise expand to gigabytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Values (scalars, lists, mappings) left to build, alias copies and anchored copies
    /// included.
    pub nodes: usize,
    /// Values that aliases may still copy.
    pub alias_nodes: usize,
}

/// Values one project may hold across its files: ample for a hundred thousand segments of
/// a few conditions each, and a bound on memory (each value takes about a hundred bytes).
pub const MAX_NODES: usize = 3_000_000;
/// Values that aliases may copy: real files alias a few shared settings, not thousands.
pub const MAX_ALIAS_NODES: usize = 50_000;
/// How deeply lists and mappings may nest, aliased content included. Definitions nest a
/// handful of levels; the readers walk the tree recursively, so this bounds their stack.
pub const MAX_NESTING: usize = 100;

impl Default for Budget {
    fn default() -> Self {
        Budget {
            nodes: MAX_NODES,
            alias_nodes: MAX_ALIAS_NODES,
        }
    }
}

/// How much a finished node weighs: the values in it (itself included) and its height
/// (1 for a scalar or an empty collection).
#[derive(Debug, Clone, Copy, Default)]
struct Weight {
    nodes: usize,
    height: usize,
}

impl Weight {
    const LEAF: Weight = Weight {
        nodes: 1,
        height: 1,
    };

    fn add_child(&mut self, child: Weight) {
        self.nodes = self.nodes.saturating_add(child.nodes);
        self.height = self.height.max(child.height + 1);
    }
}

enum Collection {
    Sequence(Vec<Node>),
    Mapping(Vec<(Node, Node)>, Option<Node>),
}

struct Frame {
    collection: Collection,
    start: Span,
    anchor: usize,
    weight: Weight,
}

fn nesting_error(span: Span) -> Diagnostic {
    Diagnostic::new(
        format!("YAML lists and mappings nest more than {MAX_NESTING} levels deep here"),
        span,
    )
    .with_hint("definitions need only a few levels; look for unclosed `[` or `{`, or aliases that contain themselves")
}

/// Parses one YAML document within the default [`Budget`]. An empty file gives `Ok(None)`.
pub fn parse(file: FileId, text: &str) -> Result<Option<Node>, Diagnostic> {
    parse_within(file, text, &mut Budget::default())
}

/// Parses one YAML document, taking what it builds from `budget` (shared by the files of
/// a project). An empty file gives `Ok(None)`.
pub fn parse_within(
    file: FileId,
    text: &str,
    budget: &mut Budget,
) -> Result<Option<Node>, Diagnostic> {
    let mut stack: Vec<Frame> = Vec::new();
    // An anchored node, kept to be copied by its aliases, and its weight.
    let mut anchors: HashMap<usize, (Node, Weight)> = HashMap::new();
    let mut root: Option<Node> = None;
    let mut documents = 0;
    // The parser's own nesting limits stop it before it buffers deep input; the check on
    // each collection below also counts aliased content.
    let options = granit_parser::options! {
        flow_nesting_limit: MAX_NESTING,
        block_nesting_limit: MAX_NESTING,
    };

    for next in Parser::new_from_str_with_options(text, options) {
        let (event, raw_span) = next.map_err(|error| parse_error(file, text, &error))?;
        let here = span(file, &raw_span);
        let completed = match event {
            Event::DocumentStart(..) => {
                documents += 1;
                if documents > 1 {
                    return Err(Diagnostic::new(
                        "segc reads one YAML document per file; found a second `---`",
                        here,
                    ));
                }
                None
            }
            Event::Scalar(value, style, anchor, tag) => {
                take(1, budget, here)?;
                // `!!str` makes a plain scalar a string, as quotes do; no other tag is read.
                let tagged_string = match tag.as_deref() {
                    None => false,
                    Some(tag) if tag.core_suffix() == Some("str") => true,
                    Some(tag) => return Err(tag_error(tag, "a value", here)),
                };
                if value.contains('\0') {
                    return Err(Diagnostic::new(
                        "this value holds the NUL character (U+0000), which no warehouse's \
                         text can hold: PostgreSQL cannot be sent it and DuckDB rejects it",
                        here,
                    )
                    .with_hint("remove the `\\0` (or `\\x00`, `\\u0000`) from the value"));
                }
                let node = Node {
                    kind: NodeKind::Scalar {
                        value: value.into_owned(),
                        quoted: style != ScalarStyle::Plain || tagged_string,
                    },
                    span: here,
                };
                if anchor != 0 {
                    take(1, budget, here)?;
                    anchors.insert(anchor, (node.clone(), Weight::LEAF));
                }
                Some((node, Weight::LEAF))
            }
            Event::Alias(id) => Some(alias(&anchors, id, stack.len(), budget, here)?),
            Event::SequenceStart(_, anchor, ref tag) | Event::MappingStart(_, anchor, ref tag) => {
                if stack.len() >= MAX_NESTING {
                    return Err(nesting_error(here));
                }
                // `!!seq` on a list and `!!map` on a mapping say what they are; no other tag is read.
                let (kind, own) = match event {
                    Event::SequenceStart(..) => ("a list", "seq"),
                    _ => ("a mapping", "map"),
                };
                if let Some(tag) = tag.as_deref()
                    && tag.core_suffix() != Some(own)
                {
                    return Err(tag_error(tag, kind, here));
                }
                take(1, budget, here)?;
                let collection = match event {
                    Event::SequenceStart(..) => Collection::Sequence(Vec::new()),
                    _ => Collection::Mapping(Vec::new(), None),
                };
                stack.push(Frame {
                    collection,
                    start: here,
                    anchor,
                    weight: Weight::LEAF,
                });
                None
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(frame) => Some(end_collection(frame, &mut anchors, budget, here)?),
                None => None,
            },
            _ => None,
        };
        if let Some((node, weight)) = completed {
            match stack.last_mut() {
                Some(frame) => frame.add(node, weight),
                None => root = Some(node),
            }
        }
    }
    // A document with no content (a file holding only `---`) is an empty file; a written
    // `~` or `null` is a value, and the readers say where a mapping was expected.
    // (The parser gives an empty document a `~` of no width.)
    Ok(root.filter(|node| {
        node.scalar() != Some(ScalarValue::Null) || node.span.start.byte != node.span.end.byte
    }))
}

/// A YAML tag segc does not read: it would change what the value means (`!!int "7"` is the
/// number 7 to other YAML readers), so it is refused rather than silently ignored.
fn tag_error(tag: &Tag, kind: &str, here: Span) -> Diagnostic {
    let shown = tag.original();
    Diagnostic::new(
        format!("segc does not read YAML tags: `{shown}` on {kind}"),
        here,
    )
    .with_hint("write the value as it is meant, without the tag: `7` for a number, `\"7\"` (quoted) for text; `!!str` is the one tag read (as quotes)")
}

/// The parser's error as a diagnostic at the character where it stopped; a tab it refuses
/// is pointed at itself (the parser stops after the tabs).
fn parse_error(file: FileId, text: &str, error: &ScanError) -> Diagnostic {
    let mut at = position(error.marker());
    if error.info().contains("tab") {
        let line: Vec<char> = text
            .lines()
            .nth(at.line.saturating_sub(1))
            .unwrap_or("")
            .chars()
            .collect();
        while at.column > 1 && line.get(at.column - 2) == Some(&'\t') {
            at.column -= 1;
        }
    }
    let span = Span {
        file,
        start: at,
        end: Position {
            column: at.column + 1,
            ..at
        },
    };
    match error.kind() {
        ErrorKind::RecursionLimitExceeded => nesting_error(span),
        _ => Diagnostic::new(format!("invalid YAML: {}", error.info()), span),
    }
}

/// Takes `count` values from the budget: each value takes one unit; an alias takes the size
/// of its copy.
fn take(count: usize, budget: &mut Budget, here: Span) -> Result<(), Diagnostic> {
    if count > budget.nodes {
        return Err(Diagnostic::new(
            format!(
                "more than {MAX_NODES} YAML values in all; segc stops here to bound its memory"
            ),
            here,
        )
        .with_hint(
            "split the definitions into fewer, smaller lists, or remove generated content",
        ));
    }
    budget.nodes -= count;
    Ok(())
}

/// A copy of the node anchored as `id`, within the budget of aliased values and nesting.
fn alias(
    anchors: &HashMap<usize, (Node, Weight)>,
    id: usize,
    depth: usize,
    budget: &mut Budget,
    here: Span,
) -> Result<(Node, Weight), Diagnostic> {
    match anchors.get(&id) {
        Some((node, weight)) => {
            if weight.nodes > budget.alias_nodes {
                return Err(Diagnostic::new(
                    format!(
                        "YAML aliases copy more than {MAX_ALIAS_NODES} values in all; segc stops at this one, which copies {}",
                        weight.nodes
                    ),
                    here,
                )
                .with_hint("each `*alias` copies everything under its `&anchor`, and aliases of nested aliases multiply; write the shared part once instead"));
            }
            if depth + weight.height > MAX_NESTING {
                return Err(nesting_error(here));
            }
            budget.alias_nodes -= weight.nodes;
            take(weight.nodes, budget, here)?;
            Ok((node.clone(), *weight))
        }
        None => Err(Diagnostic::new("unknown YAML alias", here).with_hint(
            "an alias refers to a whole value anchored (`&name`) before it, outside itself",
        )),
    }
}

/// The node a finished collection makes, kept for its aliases when it is anchored.
fn end_collection(
    frame: Frame,
    anchors: &mut HashMap<usize, (Node, Weight)>,
    budget: &mut Budget,
    here: Span,
) -> Result<(Node, Weight), Diagnostic> {
    let kind = match frame.collection {
        Collection::Sequence(items) => NodeKind::Sequence(items),
        Collection::Mapping(entries, _) => NodeKind::Mapping(entries),
    };
    let node = Node {
        kind,
        span: Span {
            end: here.end,
            ..frame.start
        },
    };
    if frame.anchor != 0 {
        // The kept copy costs as much memory as the node itself.
        take(frame.weight.nodes, budget, here)?;
        anchors.insert(frame.anchor, (node.clone(), frame.weight));
    }
    Ok((node, frame.weight))
}

impl Frame {
    /// Adds a finished value to this open collection: an item, a mapping's key, or the value
    /// of the key before it.
    fn add(&mut self, node: Node, weight: Weight) {
        self.weight.add_child(weight);
        match &mut self.collection {
            Collection::Sequence(items) => items.push(node),
            Collection::Mapping(entries, pending) => match pending.take() {
                Some(key) => entries.push((key, node)),
                None => *pending = Some(node),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Node {
        parse(FileId(0), text).unwrap().unwrap()
    }

    #[test]
    fn mapping_keys_and_values_keep_positions() {
        let root = parse_text("a: 1\nb:\n  - x\n  - 'it''s'\n");
        let entries = root.as_mapping().unwrap();
        assert_eq!(entries[0].0.as_str(), Some("a"));
        assert_eq!(entries[0].1.scalar(), Some(ScalarValue::Integer(1)));
        let items = entries[1].1.as_sequence().unwrap();
        assert_eq!(items[1].scalar(), Some(ScalarValue::String("it's")));
        assert_eq!(items[1].span.start.line, 4);
        assert_eq!(items[1].span.start.column, 5);
    }

    #[test]
    fn plain_scalars_follow_the_core_schema() {
        let root = parse_text("[NO, 0.5, ~, true, '1', 2026-01-01, -3]");
        let kinds: Vec<_> = root
            .as_sequence()
            .unwrap()
            .iter()
            .map(|n| n.scalar().unwrap())
            .collect();
        assert_eq!(
            kinds,
            vec![
                ScalarValue::String("NO"),
                ScalarValue::Float(0.5),
                ScalarValue::Null,
                ScalarValue::Bool(true),
                ScalarValue::String("1"),
                ScalarValue::String("2026-01-01"),
                ScalarValue::Integer(-3),
            ]
        );
    }

    #[test]
    fn syntax_errors_carry_a_location() {
        let error = parse(FileId(0), "a: [1, 2\nb: 3\n").unwrap_err();
        assert!(error.span.is_some());
        assert!(error.message.starts_with("invalid YAML"));
    }

    #[test]
    fn alias_bombs_stop_at_the_alias_that_exceeds_the_budget() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (name, previous) in ["b", "c", "d", "e", "f"]
            .iter()
            .zip(["a", "b", "c", "d", "e"])
        {
            let aliases = vec![format!("*{previous}"); 10].join(", ");
            text.push_str(&format!("{name}: &{name} [{aliases}]\n"));
        }
        let error = parse(FileId(0), &text).unwrap_err();
        assert!(
            error.message.contains("aliases copy more than"),
            "{error:?}"
        );
        let span = error.span.unwrap();
        // `b` to `d` copy 12,330 values; `e` copies `d` (11,111 values) ten times, and the
        // fourth copy passes 50,000.
        assert_eq!((span.start.line, span.start.column), (5, 20));
        // A few aliases of shared settings are fine.
        let root = parse_text("base: &base { a: 1, b: 2 }\nx: *base\ny: *base\n");
        assert_eq!(
            root.as_mapping().unwrap()[2].1,
            root.as_mapping().unwrap()[0].1
        );
    }

    #[test]
    fn nesting_is_bounded_also_through_aliases() {
        let deep = format!("x: {}{}\n", "[".repeat(150), "]".repeat(150));
        let error = parse(FileId(0), &deep).unwrap_err();
        assert!(error.message.contains("nest more than 100"), "{error:?}");
        let mut chained = String::from("a0: &a0 [1]\n");
        for level in 1..150 {
            chained.push_str(&format!("a{level}: &a{level} [*a{}]\n", level - 1));
        }
        let error = parse(FileId(0), &chained).unwrap_err();
        assert!(error.message.contains("nest more than 100"), "{error:?}");
        // `a98` (line 99) holds 99 lists inside one another, in the root mapping.
        assert_eq!(error.span.unwrap().start.line, 99);
        assert!(
            parse(
                FileId(0),
                &format!("x: {}{}\n", "[".repeat(90), "]".repeat(90))
            )
            .is_ok()
        );
    }

    #[test]
    fn the_node_budget_is_shared_and_counts_anchored_copies() {
        let mut budget = Budget {
            nodes: 10,
            alias_nodes: 100,
        };
        assert!(parse_within(FileId(0), "[1, 2, 3]", &mut budget).is_ok());
        assert_eq!(budget.nodes, 6);
        // The anchored list (3 values) is kept once more for its aliases.
        let error = parse_within(FileId(1), "[&a [1, 2], *a]", &mut budget).unwrap_err();
        assert!(error.message.contains("YAML values in all"), "{error:?}");
    }

    #[test]
    fn an_alias_to_an_open_collection_is_unknown() {
        let error = parse(FileId(0), "a: &a [1, *a]\n").unwrap_err();
        assert!(error.message.contains("unknown YAML alias"), "{error:?}");
    }

    #[test]
    fn empty_file_is_none() {
        assert_eq!(parse(FileId(0), "# nothing\n").unwrap(), None);
        // A document with no content is an empty file too, however it is written.
        for text in ["---\n", "--- # nothing\n...\n", "---\n\n"] {
            assert_eq!(parse(FileId(0), text).unwrap(), None, "{text:?}");
        }
        // Written, an empty value is a value (where a mapping is expected, an error), and so
        // is a quoted empty string.
        for text in ["~\n", "---\nnull\n", "--- ''\n"] {
            assert!(parse(FileId(0), text).unwrap().is_some(), "{text:?}");
        }
    }

    #[test]
    fn tags_are_refused_except_the_string_tag() {
        // `!!str` reads a plain scalar as text, as quotes do.
        let root = parse_text("[!!str 7, !!str true, !!str ~]");
        let kinds: Vec<_> = root
            .as_sequence()
            .unwrap()
            .iter()
            .map(|n| n.scalar().unwrap())
            .collect();
        assert_eq!(
            kinds,
            vec![
                ScalarValue::String("7"),
                ScalarValue::String("true"),
                ScalarValue::String("~"),
            ]
        );
        // The tag a collection is anyway.
        assert!(parse(FileId(0), "a: !!map { b: [!!seq [1]] }\n").is_ok());
        // The error points at the tagged value (after its tag).
        for (text, tag, line, column) in [
            ("a:\n  gt: !!int \"7\"\n", "`!!int` on a value", 2, 13),
            ("a: !!float 1\n", "`!!float` on a value", 1, 12),
            ("a: !!bool yes\n", "`!!bool` on a value", 1, 11),
            ("a: !custom x\n", "`!custom` on a value", 1, 12),
            ("a: !!seq { b: 1 }\n", "`!!seq` on a mapping", 1, 10),
            ("a: !!binary aGk=\n", "`!!binary` on a value", 1, 13),
            ("a: !<tag:example.com,2000:x> [1]\n", "on a list", 1, 30),
        ] {
            let error = parse(FileId(0), text).unwrap_err();
            assert!(
                error.message.starts_with("segc does not read YAML tags")
                    && error.message.contains(tag),
                "{text:?}: {error:?}"
            );
            assert_eq!(
                {
                    let span = error.span.unwrap();
                    (span.start.line, span.start.column)
                },
                (line, column),
                "{text:?}"
            );
        }
    }
}
