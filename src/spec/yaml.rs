//! A YAML document as a tree of nodes that remember where they came from.
//!
//! serde stops at the first error; segc wants every problem at once with its location,
//! so the definition files are read into this tree and interpreted by hand.

use std::collections::HashMap;

use granit_parser::{Event, Parser, ScalarStyle};

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

enum Frame {
    Sequence(Vec<Node>, Span, usize),
    Mapping(Vec<(Node, Node)>, Option<Node>, Span, usize),
}

/// Parses one YAML document. An empty file gives `Ok(None)`.
pub fn parse(file: FileId, text: &str) -> Result<Option<Node>, Diagnostic> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut root: Option<Node> = None;
    let mut documents = 0;

    for next in Parser::new_from_str(text) {
        let (event, raw_span) = next.map_err(|error| {
            let at = position(error.marker());
            Diagnostic::new(
                format!("invalid YAML: {}", error.info()),
                Span {
                    file,
                    start: at,
                    end: Position {
                        column: at.column + 1,
                        ..at
                    },
                },
            )
        })?;
        let here = span(file, &raw_span);
        let completed = match event {
            Event::DocumentStart(..) => {
                documents += 1;
                if documents > 1 {
                    return Err(Diagnostic::new(
                        "a definitions file holds one YAML document; found a second `---`",
                        here,
                    ));
                }
                None
            }
            Event::Scalar(value, style, anchor, _) => {
                let node = Node {
                    kind: NodeKind::Scalar {
                        value: value.into_owned(),
                        quoted: style != ScalarStyle::Plain,
                    },
                    span: here,
                };
                if anchor != 0 {
                    anchors.insert(anchor, node.clone());
                }
                Some(node)
            }
            Event::Alias(id) => match anchors.get(&id) {
                Some(node) => Some(node.clone()),
                None => return Err(Diagnostic::new("unknown YAML alias", here)),
            },
            Event::SequenceStart(_, anchor, _) => {
                stack.push(Frame::Sequence(Vec::new(), here, anchor));
                None
            }
            Event::MappingStart(_, anchor, _) => {
                stack.push(Frame::Mapping(Vec::new(), None, here, anchor));
                None
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Sequence(items, start, anchor)) => {
                    let node = Node {
                        kind: NodeKind::Sequence(items),
                        span: Span {
                            end: here.end,
                            ..start
                        },
                    };
                    if anchor != 0 {
                        anchors.insert(anchor, node.clone());
                    }
                    Some(node)
                }
                Some(Frame::Mapping(entries, _, start, anchor)) => {
                    let node = Node {
                        kind: NodeKind::Mapping(entries),
                        span: Span {
                            end: here.end,
                            ..start
                        },
                    };
                    if anchor != 0 {
                        anchors.insert(anchor, node.clone());
                    }
                    Some(node)
                }
                None => None,
            },
            _ => None,
        };
        if let Some(node) = completed {
            match stack.last_mut() {
                Some(Frame::Sequence(items, ..)) => items.push(node),
                Some(Frame::Mapping(entries, pending, ..)) => match pending.take() {
                    Some(key) => entries.push((key, node)),
                    None => *pending = Some(node),
                },
                None => root = Some(node),
            }
        }
    }
    Ok(root)
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
    fn empty_file_is_none() {
        assert_eq!(parse(FileId(0), "# nothing\n").unwrap(), None);
    }
}
