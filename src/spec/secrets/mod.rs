//! Where the secrets are in the text of `profiles.yml`, so a diagnostic can quote a line of it
//! with each one masked — also when the file is not valid YAML and no tree can be read.
//!
//! Masking errs on the side of hiding: a value is shown only when its key is a setting known
//! not to be secret (`host`, `port`, …); anything else in value position is hidden, as are
//! comments, list items, nested collections, values after `password=` or `pwd=` (connection
//! strings, server options) and the password of a URL (`scheme://user:password@host`).
//!
//! `scanner` reads the raw text; here are the readings of the tree, of `key=value` assignments
//! and of URLs.

mod scanner;

use std::ops::Range;

use super::profiles::{is_plain_setting, is_secret};
use super::yaml::{Node, NodeKind};

use scanner::Scanner;

pub use scanner::plausible_name;

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

/// The values of a URL's query (`?a=1&b=2`) and its fragment (`#…`), whatever their names.
pub fn query_values(url: &str) -> Vec<&str> {
    let Some(start) = url.find(['?', '#']) else {
        return Vec::new();
    };
    url[start + 1..]
        .split(['&', ';', '#'])
        .map(|pair| pair.split_once('=').map_or(pair, |(_, value)| value))
        .filter(|value| !value.is_empty())
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
        let name = text[key_start..equals].trim();
        // A URL's query names a key or a signature with a bare word (`?key=…`, `&sig=…`).
        let bare = ["key", "sig", "signature", "auth"]
            .iter()
            .any(|word| name.eq_ignore_ascii_case(word));
        if !is_secret(name) && !bare {
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

#[cfg(test)]
mod tests;
