//! Where the secrets are in the text of `profiles.yml`, so a diagnostic can quote a line of it
//! with each one masked — also when the file is not valid YAML and no tree can be read.
//!
//! Masking errs on the side of hiding: a value is shown only when its key is a setting known
//! not to be secret (`host`, `port`, …); anything else in value position is hidden, as are
//! comments, list items, nested collections, values after `password=` or `pwd=` (connection
//! strings, server options) and the password of a URL (`scheme://user:password@host`).

use std::ops::Range;

use super::profiles::{is_plain_setting, is_secret, is_setting};
use super::yaml::{Node, NodeKind};

/// Byte ranges of `text` that may hold a secret, read from the raw text alone: each line on
/// its own and the file as a whole (a broken quote or bracket can make either reading go
/// astray, so both are kept).
pub fn raw_secrets(text: &str) -> Vec<Range<usize>> {
    let mut ranges = Scanner::new(text, 0).run();
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        ranges.extend(Scanner::new(line, start).run());
        start += line.len();
    }
    ranges.extend(assignment_secrets(text));
    ranges.extend(url_passwords(text));
    ranges
}

/// Byte ranges of the values a parsed `profiles.yml` holds under secret or unknown keys,
/// and of anything that is not a single value where one is expected. `settings_of` gives the
/// settings a target type takes.
pub fn tree_secrets(
    root: &Node,
    settings_of: impl Fn(&str) -> Option<&'static [&'static str]>,
) -> Vec<Range<usize>> {
    let bytes = |node: &Node| node.span.start.byte..node.span.end.byte;
    let Some(targets) = root.as_mapping() else {
        return vec![bytes(root)];
    };
    let mut ranges = Vec::new();
    for (name, body) in targets {
        if name.as_str().is_none() {
            ranges.push(bytes(name));
        }
        let Some(settings) = body.as_mapping() else {
            ranges.push(bytes(body));
            continue;
        };
        let kind = settings
            .iter()
            .find(|(key, _)| key.as_str() == Some("type"))
            .and_then(|(_, value)| value.as_str());
        let known = kind.and_then(&settings_of);
        for (key, value) in settings {
            let Some(key_text) = key.as_str() else {
                ranges.push(bytes(key));
                ranges.push(bytes(value));
                continue;
            };
            let shown = matches!(value.kind, NodeKind::Scalar { .. })
                && (key_text == "type"
                    || match known {
                        Some(settings) => settings.contains(&key_text) && !is_secret(key_text),
                        None => is_plain_setting(key_text),
                    });
            if !shown {
                ranges.push(bytes(value));
            }
        }
    }
    ranges
}

/// A value as `segc targets` may show it: the password of a URL and values after
/// `password=` or `pwd=` replaced by `****`.
pub fn mask_value(value: &str) -> String {
    let mut ranges = assignment_secrets(value);
    ranges.extend(url_passwords(value));
    ranges.sort_by_key(|range| range.start);
    let mut shown = String::new();
    let mut at = 0;
    for range in ranges {
        if range.end <= at {
            continue;
        }
        shown.push_str(&value[at..range.start.max(at)]);
        shown.push_str(crate::error::MASK);
        at = range.end;
    }
    shown.push_str(&value[at..]);
    shown
}

/// The parts of a value that [`mask_value`] hides.
pub fn hidden_parts(value: &str) -> Vec<&str> {
    assignment_secrets(value)
        .into_iter()
        .chain(url_passwords(value))
        .map(|range| &value[range])
        .collect()
}

/// Whether a value holds a password or key written out: text outside
/// `{{ env_var(...) }}` interpolations (for a secret key), a non-empty default of one, or a
/// `password=` / URL password in it (for any key).
pub fn holds_literal_secret(key: &str, value: &str) -> bool {
    if !assignment_secrets(value).is_empty() || !url_passwords(value).is_empty() {
        return true;
    }
    if !is_secret(key) || key.eq_ignore_ascii_case("options") {
        return false;
    }
    let mut rest = value;
    while let Some(open) = rest.find("{{") {
        if !rest[..open].trim().is_empty() {
            return true;
        }
        let Some(close) = rest[open..].find("}}") else {
            return true;
        };
        let inside = &rest[open + 2..open + close];
        // A default is the second quoted argument: `env_var('NAME', 'default')`.
        let quoted: Vec<&str> = inside.split(['\'', '"']).skip(1).step_by(2).collect();
        if quoted.get(1).is_some_and(|default| !default.is_empty()) {
            return true;
        }
        rest = &rest[open + close + 2..];
    }
    !rest.trim().is_empty()
}

/// Values of `key=value` pairs whose key looks secret (`Password=…;` in an ADO connection
/// string, `password=…` in libpq options), quoted or braced values included.
fn assignment_secrets(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut ranges = Vec::new();
    for (equals, _) in text.match_indices('=') {
        let key_start = bytes[..equals]
            .iter()
            .rposition(|b| !(b.is_ascii_alphanumeric() || b" _.-".contains(b)))
            .map_or(0, |p| p + 1);
        if !is_secret(text[key_start..equals].trim()) {
            continue;
        }
        let mut start = equals + 1;
        while start < bytes.len() && matches!(bytes[start], b' ' | b'\t') {
            start += 1;
        }
        let end = match bytes.get(start) {
            Some(b'{') => closing(bytes, start + 1, b'}'),
            Some(&quote @ (b'"' | b'\'')) => closing(bytes, start + 1, quote),
            // A value quoted inside a double-quoted YAML string: `Password=\"a;b\"`.
            Some(b'\\') if matches!(bytes.get(start + 1), Some(b'"' | b'\'')) => text[start + 2..]
                .find(&text[start..start + 2])
                .map_or(line_end(bytes, start), |p| start + 2 + p + 2),
            _ => {
                let mut end = start;
                while end < bytes.len() {
                    let stop = match bytes[end] {
                        b';' | b'&' | b'\n' | b'}' => true,
                        b'"' => bytes[end - 1] != b'\\',
                        b'\'' => bytes.get(end + 1) != Some(&b'\''),
                        _ => false,
                    };
                    if stop {
                        break;
                    }
                    end += 1;
                }
                end
            }
        };
        if end > start {
            ranges.push(start..end);
        }
    }
    ranges
}

/// Where a value quoted or braced from `from` ends (after `close`; a doubled `close` is an
/// escaped one), or the end of its line.
fn closing(bytes: &[u8], from: usize, close: u8) -> usize {
    let mut at = from;
    while at < bytes.len() && bytes[at] != b'\n' {
        if bytes[at] == close {
            if bytes.get(at + 1) == Some(&close) {
                at += 2;
                continue;
            }
            return at + 1;
        }
        at += 1;
    }
    at
}

fn line_end(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |p| from + p)
}

/// The passwords of URLs: `scheme://user:password@host`.
fn url_passwords(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut ranges = Vec::new();
    for (scheme_end, _) in text.match_indices("://") {
        let start = scheme_end + 3;
        let end = bytes[start..]
            .iter()
            .position(|b| b.is_ascii_whitespace() || b"\"',}".contains(b))
            .map_or(bytes.len(), |p| start + p);
        let Some(at) = bytes[start..end].iter().rposition(|&b| b == b'@') else {
            continue;
        };
        let user_info = start..start + at;
        if let Some(colon) = bytes[user_info.clone()].iter().position(|&b| b == b':') {
            ranges.push(user_info.start + colon + 1..user_info.end);
        }
    }
    ranges
}

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
struct Scanner<'t> {
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
    fn new(text: &'t str, offset: usize) -> Self {
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

    fn run(mut self) -> Vec<Range<usize>> {
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::error::SourceMap;

    proptest! {
        /// Whatever the text, reading it never panics and every range falls on characters.
        #[test]
        fn any_text_is_read_without_panic(text in "[ -~\\n\\té€]{0,80}") {
            let ranges = raw_secrets(&text);
            for range in &ranges {
                prop_assert!(range.start <= range.end && range.end <= text.len());
                prop_assert!(text.is_char_boundary(range.start) && text.is_char_boundary(range.end));
            }
            let mut sources = SourceMap::default();
            let file = sources.add_masked("p.yml", &text, &ranges);
            prop_assert_eq!(sources.text(file).lines().count(), text.lines().count());
            let _ = mask_value(&text);
        }
    }

    /// The text as a diagnostic would quote it.
    fn masked(text: &str) -> String {
        let mut sources = SourceMap::default();
        let file = sources.add_masked("p.yml", text, &raw_secrets(text));
        sources.text(file).to_string()
    }

    #[test]
    fn values_of_secret_and_unknown_keys_are_hidden_on_one_line_mappings() {
        assert_eq!(
            masked(
                "pg: { type: postgres, host: db, password: \"Hu\\\"nt, er\", pasword: x, port: 5432 }\n"
            ),
            "pg: { type: postgres, host: db, password: ****, pasword: ****, port: 5432 }\n"
        );
        assert_eq!(
            masked("pg: { type: postgres, PASSWORD: 'it''s, here', user: u }"),
            "pg: { type: postgres, PASSWORD: ****, user: u }"
        );
        assert_eq!(
            masked("pg: { type: postgres, password: [Hunter, 2], options: {a: b}, user: u }\n"),
            "pg: { type: postgres, password: ****, options: ****, user: u }\n"
        );
    }

    #[test]
    fn broken_lines_still_hide_their_secrets() {
        // An unclosed quote, template syntax YAML cannot read, a missing comma or colon.
        for (text, secret) in [
            ("pg: { type: postgres, password: \"Hunter-1 }\n", "Hunter-1"),
            ("pg: { type: postgres, password: {%Hunter-2 }\n", "Hunter-2"),
            (
                "pg: { type: postgres, password: Hunter-3: x, host: h }\n",
                "Hunter-3",
            ),
            (
                "pg: { type: postgres, password Hunter-4, host: h }\n",
                "Hunter-4",
            ),
            ("pg: { type: postgres password: Hunter-5 }\n", "Hunter-5"),
            ("pg:\n  host: \"db\n  password: \"Hunter-6\"\n", "Hunter-6"),
            ("pg:\n  type: postgres\n\tpassword: Hunter-7\n", "Hunter-7"),
            (
                "pg: { type: postgres, host: \"a, password: Hunter-8 }\n",
                "Hunter-8",
            ),
        ] {
            let shown = masked(text);
            assert!(!shown.contains(secret), "{text:?} → {shown:?}");
        }
    }

    #[test]
    fn block_scalars_lists_and_comments_are_hidden() {
        let text = "pg:\n  type: postgres\n  password: |\n    Hunter-1\n    Hunter-2\n  host: db # Hunter-3\n  token:\n    - Hunter-4\n  port: 1\n";
        assert_eq!(
            masked(text),
            "pg:\n  type: postgres\n  password: ****\n    ****\n    ****\n  host: db # ****\n  token:\n    ****\n  port: 1\n"
        );
        let text = "pg:\n  password: Hunter-1\n    Hunter-2\n  user: u\n";
        assert_eq!(masked(text), "pg:\n  password: ****\n    ****\n  user: u\n");
    }

    #[test]
    fn connection_strings_and_urls_hide_only_their_passwords() {
        let shown = masked(
            "ms: { type: sqlserver, host: \"Server=tcp:db,1433;User Id=u;Password=Hun;ter;Pwd = {a}}b};x=y\" }\n",
        );
        assert_eq!(
            shown,
            "ms: { type: sqlserver, host: \"Server=tcp:db,1433;User Id=u;Password=****;ter;Pwd = ****;x=y\" }\n"
        );
        assert_eq!(
            mask_value("postgres://u:Hunter@db:5432/x"),
            "postgres://u:****@db:5432/x"
        );
        assert_eq!(mask_value("http://127.0.0.1:9050"), "http://127.0.0.1:9050");
        assert_eq!(
            mask_value("-c password=Hunter -c search_path=app"),
            "-c password=****"
        );
    }

    #[test]
    fn underlines_follow_the_masks() {
        let text = "pg: { password: \"a-long-Hunter-secret\", port: 1 }\n";
        let mut sources = SourceMap::default();
        let file = sources.add_masked("p.yml", text, &raw_secrets(text));
        let column = text.find("port").unwrap() + 1;
        let span = crate::error::Span {
            file,
            start: crate::error::Position {
                line: 1,
                column,
                byte: 0,
            },
            end: crate::error::Position {
                line: 1,
                column: column + 4,
                byte: 0,
            },
        };
        let shown = crate::error::Diagnostic::new("unknown key", span).render(&sources);
        let line = "pg: { password: ****, port: 1 }";
        let underline = format!("  | {}^^^^\n", " ".repeat(line.find("port").unwrap()));
        assert!(
            shown.contains(&format!("1 | {line}\n{underline}")),
            "{shown}"
        );
        assert!(shown.contains(&format!("p.yml:1:{column}")), "{shown}");
    }

    #[test]
    fn literal_secrets_are_told_from_interpolations() {
        assert!(!holds_literal_secret(
            "password",
            "{{ env_var('PGPASSWORD') }}"
        ));
        assert!(!holds_literal_secret(
            "password",
            "{{ env_var('PGPASSWORD', '') }}"
        ));
        assert!(holds_literal_secret(
            "password",
            "{{ env_var('PGPASSWORD', 'fallback') }}"
        ));
        assert!(holds_literal_secret("password", "hunter2"));
        assert!(holds_literal_secret("token", "x{{ env_var('T') }}"));
        assert!(!holds_literal_secret("host", "db"));
        assert!(!holds_literal_secret(
            "options",
            "-c statement_timeout=1000"
        ));
        assert!(holds_literal_secret("options", "-c password=x"));
        assert!(holds_literal_secret(
            "connection_string",
            "Server=db;Password=x"
        ));
        assert!(!holds_literal_secret(
            "connection_string",
            "{{ env_var('ADO') }}"
        ));
    }
}
