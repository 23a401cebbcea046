//! Small helpers that read a mapping node key by key and report unknown keys.

use std::collections::HashSet;

use crate::error::{Diagnostic, Span, suggest};

use super::Spanned;
use super::yaml::{Node, ScalarValue};

/// Reads the entries of one YAML mapping, remembering which keys were used.
pub struct MapReader<'a> {
    entries: &'a [(Node, Node)],
    used: Vec<bool>,
    what: &'a str,
    pub span: Span,
}

impl<'a> MapReader<'a> {
    /// `what` names the thing in messages ("source `users`").
    pub fn new(node: &'a Node, what: &'a str, diagnostics: &mut Vec<Diagnostic>) -> Option<Self> {
        match node.as_mapping() {
            Some(entries) => {
                // A set, not a list: a generated file may hold many thousands of keys.
                let mut seen: HashSet<&str> = HashSet::with_capacity(entries.len());
                for (key, _) in entries {
                    if let Some(name) = key.as_str()
                        && !seen.insert(name)
                    {
                        diagnostics.push(Diagnostic::new(
                            format!("duplicate key `{name}` in {what}"),
                            key.span,
                        ));
                    }
                }
                Some(MapReader {
                    entries,
                    used: vec![false; entries.len()],
                    what,
                    span: node.span,
                })
            }
            None => {
                diagnostics.push(Diagnostic::new(
                    format!("{what} must be a mapping, found {}", node.describe()),
                    node.span,
                ));
                None
            }
        }
    }

    /// The value node of `key`, if present.
    pub fn node(&mut self, key: &str) -> Option<&'a Node> {
        let index = self
            .entries
            .iter()
            .position(|(k, _)| k.as_str() == Some(key))?;
        self.used[index] = true;
        Some(&self.entries[index].1)
    }

    /// The key node of `key`, if present (for pointing at the key itself).
    pub fn key_span(&self, key: &str) -> Option<Span> {
        self.entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(k, _)| k.span)
    }

    /// A string value (numbers and booleans are taken as their text).
    pub fn string(
        &mut self,
        key: &str,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<Spanned<String>> {
        let node = self.node(key)?;
        scalar_string(node, &format!("`{key}` of {}", self.what), diagnostics)
    }

    pub fn boolean(
        &mut self,
        key: &str,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<Spanned<bool>> {
        let node = self.node(key)?;
        match node.scalar() {
            Some(ScalarValue::Bool(value)) => Some(Spanned {
                value,
                span: node.span,
            }),
            _ => {
                diagnostics.push(Diagnostic::new(
                    format!(
                        "`{key}` of {} must be true or false, found {}",
                        self.what,
                        node.describe()
                    ),
                    node.span,
                ));
                None
            }
        }
    }

    pub fn required_string(
        &mut self,
        key: &str,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<Spanned<String>> {
        if self.key_span(key).is_none() {
            diagnostics.push(Diagnostic::new(
                format!("{} is missing `{key}`", self.what),
                self.span,
            ));
            return None;
        }
        self.string(key, diagnostics)
    }

    /// Reports every key that no reader asked for, suggesting the closest allowed one.
    pub fn finish(self, allowed: &[&str], diagnostics: &mut Vec<Diagnostic>) {
        for (index, (key, _)) in self.entries.iter().enumerate() {
            if self.used[index] {
                continue;
            }
            let name = key.as_str().unwrap_or("?");
            // A known key written twice is reported as a duplicate where it is read.
            if allowed.contains(&name) {
                continue;
            }
            diagnostics.push(
                Diagnostic::new(format!("unknown key `{name}` in {}", self.what), key.span)
                    .with_hint(
                        suggest(name, allowed.iter().copied())
                            .unwrap_or_else(|| format!("allowed keys: {}", allowed.join(", "))),
                    ),
            );
        }
    }
}

/// A scalar as a string; collections are an error.
pub fn scalar_string(
    node: &Node,
    what: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Spanned<String>> {
    match node.as_str() {
        Some(text) if !node.is_null() => Some(Spanned {
            value: text.to_string(),
            span: node.span,
        }),
        _ => {
            diagnostics.push(Diagnostic::new(
                format!("{what} must be a single value, found {}", node.describe()),
                node.span,
            ));
            None
        }
    }
}
