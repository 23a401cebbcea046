//! A forgiving reading of YAML's structure in the raw text of `profiles.yml`.

use std::ops::Range;

use super::line_end;
use crate::spec::profiles::{is_plain_setting, is_setting};

/// The level of a mapping in `profiles.yml`: target names, or a target's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Level {
    Targets,
    Settings,
}

/// The key whose value comes next.
#[derive(Debug, Clone, Copy)]
struct Key {
    level: Level,
    shown: bool,
    column: usize,
}

/// A forgiving reading of YAML's structure, enough to tell keys from values: quotes, flow
/// brackets, comments, block indentation. It never fails; on broken input it hides more.
pub(super) struct Scanner<'t> {
    text: &'t str,
    bytes: &'t [u8],
    /// Where `text` starts in the file, added to every range.
    offset: usize,
    at: usize,
    line_start: usize,
    /// The flow mappings (`{ … }`) open around `at`.
    flow: Vec<Level>,
    key: Option<Key>,
    /// In block context, lines indented deeper than this belong to a hidden value.
    hide_deeper_than: Option<usize>,
    ranges: Vec<Range<usize>>,
}

impl<'t> Scanner<'t> {
    pub(super) fn new(text: &'t str, offset: usize) -> Self {
        Scanner {
            text,
            bytes: text.as_bytes(),
            offset,
            at: 0,
            line_start: 0,
            flow: Vec::new(),
            key: None,
            hide_deeper_than: None,
            ranges: Vec::new(),
        }
    }

    fn hide(&mut self, range: Range<usize>) {
        if range.start < range.end {
            self.ranges
                .push(self.offset + range.start..self.offset + range.end);
        }
    }

    /// Moves to `to`, keeping track of the line it is on.
    fn advance(&mut self, to: usize) {
        if let Some(newline) = self.bytes[self.at..to].iter().rposition(|&b| b == b'\n') {
            self.line_start = self.at + newline + 1;
        }
        self.at = to;
    }

    fn column(&self, at: usize) -> usize {
        at - self.line_start
    }

    fn first_on_line(&self, at: usize) -> bool {
        self.bytes[self.line_start..at]
            .iter()
            .all(|b| matches!(b, b' ' | b'\t'))
    }

    pub(super) fn run(mut self) -> Vec<Range<usize>> {
        while self.at < self.bytes.len() {
            if self.at == self.line_start && self.flow.is_empty() && self.block_line_is_hidden() {
                continue;
            }
            let at = self.at;
            let byte = self.bytes[at];
            match byte {
                b' ' | b'\t' | b'\r' => self.at += 1,
                b'\n' => {
                    self.advance(at + 1);
                    if self.flow.is_empty() {
                        self.key = None;
                    }
                }
                b'#' if at == 0 || self.bytes[at - 1].is_ascii_whitespace() => {
                    let end = line_end(self.bytes, at);
                    self.hide(at + 1..end);
                    self.advance(end);
                }
                b'}' | b']' => {
                    self.flow.pop();
                    self.key = None;
                    self.at += 1;
                }
                b',' => {
                    self.key = None;
                    self.at += 1;
                }
                b'-' if self.flow.is_empty()
                    && self.first_on_line(at)
                    && self
                        .bytes
                        .get(at + 1)
                        .is_none_or(|b| b.is_ascii_whitespace()) =>
                {
                    // A list item: profiles hold none, so whatever it says is hidden.
                    let end = self.value_end(at + 1);
                    self.hide(at + 1..end);
                    self.hide_deeper_than = Some(self.column(at));
                    self.advance(end);
                }
                b'{' if self.opens_mapping(at) => {}
                _ => match self.key.take() {
                    Some(key) => self.value(key),
                    None => self.key_or_stray_scalar(),
                },
            }
        }
        self.ranges
    }

    /// At the start of a line in block context: hides the line when it is indented under a
    /// hidden value. True when the line was consumed.
    fn block_line_is_hidden(&mut self) -> bool {
        let Some(limit) = self.hide_deeper_than else {
            return false;
        };
        let indent = self.bytes[self.at..]
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t'))
            .count();
        let content = self.at + indent;
        let blank = matches!(self.bytes.get(content), None | Some(b'\n' | b'\r' | b'#'));
        if blank {
            return false;
        }
        if indent <= limit {
            self.hide_deeper_than = None;
            return false;
        }
        let end = self.value_end(content);
        self.hide(content..end);
        self.advance(end);
        true
    }

    /// `{` opening a mapping to read inside (the targets, or one target's settings); false
    /// when it is a value to hide whole, which is then read as a value.
    fn opens_mapping(&mut self, at: usize) -> bool {
        let level = match self.key {
            Some(Key {
                level: Level::Targets,
                ..
            }) => Level::Settings,
            Some(_) => return false,
            None if !self.flow.is_empty() => return false,
            None if self.column(at) == 0 => Level::Targets,
            None => Level::Settings,
        };
        self.flow.push(level);
        self.key = None;
        self.at += 1;
        true
    }

    /// The value of `key`, from `self.at` to its end; hidden unless the key is a setting
    /// known not to be secret and the value is one word or one quoted scalar.
    fn value(&mut self, key: Key) {
        let start = self.at;
        let end = self.value_end(start);
        let hidden = !key.shown || !self.single_value(start, end);
        if hidden {
            self.hide(start..end);
            if self.flow.is_empty() {
                // Block scalars and plain scalars may continue on deeper lines.
                self.hide_deeper_than = Some(key.column);
            }
        }
        self.advance(end);
    }

    /// Whether `start..end` is one plain word or one closed quoted scalar: anything more is
    /// a broken line whose words may belong to the next setting (a lost `,` or quote).
    fn single_value(&self, start: usize, end: usize) -> bool {
        let value = &self.bytes[start..end];
        match value.first() {
            Some(&quote @ (b'"' | b'\'')) => {
                let closed = self.quoted_end(start);
                closed <= end
                    && closed > start + 1
                    && self.bytes[closed - 1] == quote
                    && self.bytes[closed..end].iter().all(u8::is_ascii_whitespace)
            }
            Some(b'[' | b'{') => false,
            _ => !value.trim_ascii().iter().any(u8::is_ascii_whitespace),
        }
    }

    /// A scalar in key position: a key when a `:` follows, else a stray scalar (hidden unless
    /// it is a setting's name).
    fn key_or_stray_scalar(&mut self) {
        let start = self.at;
        let in_flow = !self.flow.is_empty();
        if matches!(self.bytes[start], b'[' | b'{') {
            let end = self.value_end(start);
            self.hide(start..end);
            self.advance(end);
            return;
        }
        let quoted = matches!(self.bytes[start], b'"' | b'\'');
        let end = if quoted {
            self.quoted_end(start)
        } else {
            self.plain_key_end(start, in_flow)
        };
        let mut after = end;
        while matches!(self.bytes.get(after), Some(b' ' | b'\t')) {
            after += 1;
        }
        let is_key = self.bytes.get(after) == Some(&b':')
            && (quoted
                || self
                    .bytes
                    .get(after + 1)
                    .is_none_or(|b| b.is_ascii_whitespace() || (in_flow && b",[]{}".contains(b))));
        let name = self.text[start..end].trim_matches(['"', '\'']).trim();
        let level = match self.flow.last() {
            Some(level) => *level,
            None if self.column(start) == 0 => Level::Targets,
            None => Level::Settings,
        };
        if !is_key {
            if !(is_setting(name) || name == "---" || name == "...") {
                self.hide(start..end);
            }
            self.advance(end.max(start + 1));
            return;
        }
        if level == Level::Settings && !plausible_name(name) {
            self.hide(start..end);
        }
        let key = Key {
            level,
            shown: level == Level::Settings && (name == "type" || is_plain_setting(name)),
            column: self.column(start),
        };
        self.advance(after + 1);
        let rest = &self.bytes[self.at..line_end(self.bytes, self.at)];
        let nothing_follows = rest
            .iter()
            .position(|b| !matches!(b, b' ' | b'\t' | b'\r'))
            .is_none_or(|p| rest[p] == b'#');
        if in_flow || !nothing_follows {
            self.key = Some(key);
        } else if level == Level::Settings {
            // A setting whose value is on deeper lines: a list, a mapping or a long scalar.
            self.hide_deeper_than = Some(key.column);
        }
    }

    /// The end of a plain scalar in key position.
    fn plain_key_end(&self, start: usize, in_flow: bool) -> usize {
        let mut end = start;
        while end < self.bytes.len() {
            let b = self.bytes[end];
            let next = self.bytes.get(end + 1);
            let stop = match b {
                b'\n' => true,
                b':' => next
                    .is_none_or(|n| n.is_ascii_whitespace() || (in_flow && b",[]{}".contains(n))),
                b'#' => self.bytes[end - 1].is_ascii_whitespace(),
                b',' | b'}' | b']' => in_flow,
                _ => false,
            };
            if stop {
                break;
            }
            end += 1;
        }
        while end > start && self.bytes[end - 1].is_ascii_whitespace() {
            end -= 1;
        }
        end
    }

    /// The end of a quoted scalar starting at `start` (past its closing quote), or of the
    /// text when it is never closed.
    fn quoted_end(&self, start: usize) -> usize {
        let quote = self.bytes[start];
        let mut at = start + 1;
        while at < self.bytes.len() {
            match self.bytes[at] {
                b'\\' if quote == b'"' => at += 2,
                b if b == quote => {
                    if quote == b'\'' && self.bytes.get(at + 1) == Some(&b'\'') {
                        at += 2;
                        continue;
                    }
                    return at + 1;
                }
                _ => at += 1,
            }
        }
        self.bytes.len()
    }

    /// The end of a value starting at `start`: in a flow mapping, the next `,` or closing
    /// bracket outside quotes and nested brackets; in block context, the end of the line
    /// (or of a quoted scalar or bracket that goes on past it) or a comment.
    fn value_end(&self, start: usize) -> usize {
        let in_flow = !self.flow.is_empty();
        let mut depth = 0usize;
        let mut at = start;
        while at < self.bytes.len() {
            let b = self.bytes[at];
            let starts_token = at == start
                || matches!(
                    self.bytes[at - 1],
                    b' ' | b'\t' | b'\n' | b'[' | b'{' | b','
                );
            match b {
                b'"' | b'\'' if starts_token => {
                    at = self.quoted_end(at);
                    continue;
                }
                b'[' | b'{' => depth += 1,
                b']' | b'}' if depth == 0 => return at,
                b']' | b'}' => depth -= 1,
                b',' if depth == 0 && in_flow => return at,
                b'\n' if depth == 0 && !in_flow => return at,
                b'#' if at > start && self.bytes[at - 1].is_ascii_whitespace() => {
                    if depth == 0 && !in_flow {
                        return at;
                    }
                    at = line_end(self.bytes, at);
                    continue;
                }
                _ => {}
            }
            at += 1;
        }
        at
    }
}

/// Whether a key reads as a setting's name (a word), not as text that lost its `:` or quote.
pub fn plausible_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 40
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}
