//! The last guard before anything leaves the process: every secret segc has read (the
//! profiles' secret values and their parts) is registered here, and every message printed on
//! stderr, every JSON event and every recorded error passes through [`redact`] on its way
//! out. Text a server or a driver wrote is not trusted to leave secrets out: a proxy may
//! quote the request's `Authorization` header, a server may quote a setting it refused.
//!
//! Beside the registered values, credentials minted at run time (an OAuth token from a
//! service-account key) are masked by their shape: the word after `Bearer`, Google's
//! `ya29.` access tokens, and PEM private-key blocks.

use std::sync::RwLock;

use super::MASK;

/// The secrets registered so far, longest first so that a secret holding another is masked
/// whole.
static SECRETS: RwLock<Vec<Secret>> = RwLock::new(Vec::new());

/// Values shorter than this cannot be told from ordinary words and are not masked alone.
pub const SHORTEST_SECRET: usize = 4;

/// Remembers `secret` for [`redact`] (ignored when shorter than [`SHORTEST_SECRET`]
/// characters once trimmed).
pub fn register_secret(secret: &str) {
    let secret = secret.trim();
    if secret.chars().count() < SHORTEST_SECRET {
        return;
    }
    let Ok(mut secrets) = SECRETS.write() else {
        return;
    };
    let secret = Secret::new(secret);
    if !secrets.iter().any(|known| known.text == secret.text) {
        secrets.push(secret);
    }
    secrets.sort_by_key(|known| std::cmp::Reverse(known.text.len()));
}

/// A registered secret: its text, and for each character the ways a message may write it.
pub(super) struct Secret {
    text: String,
    spellings: Vec<Vec<String>>,
    /// The bytes a spelling of its first character starts with, in lower case.
    starts: Vec<u8>,
}

impl Secret {
    fn new(text: &str) -> Secret {
        let spellings: Vec<Vec<String>> = text.chars().map(spellings).collect();
        let mut starts: Vec<u8> = spellings
            .first()
            .into_iter()
            .flatten()
            .filter_map(|way| way.bytes().next())
            .map(|byte| byte.to_ascii_lowercase())
            .collect();
        starts.dedup();
        Secret {
            text: text.to_string(),
            spellings,
            starts,
        }
    }

    /// The end of the secret written from `at` in `text`, each character in any of its
    /// spellings and its ASCII letters in any case; the longest such end.
    fn ends_at(&self, text: &str, at: usize) -> Option<usize> {
        let first = text.as_bytes().get(at)?.to_ascii_lowercase();
        if !self.starts.contains(&first) {
            return None;
        }
        // The positions reachable after each character: a few at most, so no backtracking.
        let mut reached = vec![at];
        for ways in &self.spellings {
            let mut next: Vec<usize> = Vec::new();
            for from in &reached {
                for way in ways {
                    let end = from + way.len();
                    if text
                        .as_bytes()
                        .get(*from..end)
                        .is_some_and(|bytes| bytes.eq_ignore_ascii_case(way.as_bytes()))
                        && !next.contains(&end)
                    {
                        next.push(end);
                    }
                }
            }
            if next.is_empty() {
                return None;
            }
            reached = next;
        }
        reached.into_iter().max()
    }
}

/// The ways a message may write `c`: as it is; as JSON escapes it (`\u00e9` in either case,
/// `\"`, `\\`, `\/`, `\n`…), as an SQL string doubles a quote, as a URL percent-encodes
/// it. Each character of a secret is matched in any of them, whichever writer wrote the
/// rest.
fn spellings(c: char) -> Vec<String> {
    let mut ways = vec![c.to_string()];
    let mut units = [0u16; 2];
    ways.push(
        c.encode_utf16(&mut units)
            .iter()
            .map(|unit| format!("\\u{unit:04x}"))
            .collect(),
    );
    let short = match c {
        '"' => Some("\\\""),
        '\\' => Some("\\\\"),
        '/' => Some("\\/"),
        '\n' => Some("\\n"),
        '\r' => Some("\\r"),
        '\t' => Some("\\t"),
        '\u{8}' => Some("\\b"),
        '\u{c}' => Some("\\f"),
        '\'' => Some("''"),
        _ => None,
    };
    ways.extend(short.map(str::to_string));
    if !c.is_ascii_alphanumeric() {
        let mut bytes = [0u8; 4];
        ways.push(
            c.encode_utf8(&mut bytes)
                .bytes()
                .map(|byte| format!("%{byte:02X}"))
                .collect(),
        );
    }
    ways.dedup();
    ways
}

/// `text` with every registered secret, and every credential recognised by its shape,
/// replaced by `****`. Secrets are found whatever the case of their ASCII letters (a server
/// may quote a value upper-cased, an identifier it folded) and however each character is
/// escaped ([`spellings`]).
pub fn redact(text: &str) -> String {
    redact_shapes(&replace_secrets(text, |_| MASK.to_string()))
}

/// `text` with every registered secret's characters replaced one for one by `*`: for a line
/// that is cut before it is printed (a long line's excerpt), where `****` would move the
/// columns and a cut could leave part of a secret to see.
pub fn blank_secrets(text: &str) -> String {
    replace_secrets(text, |found| "*".repeat(found.chars().count()))
}

/// `text` with each registered secret, as written there, replaced by `mask` of it.
fn replace_secrets(text: &str, mask: impl Fn(&str) -> String) -> String {
    let Ok(secrets) = SECRETS.read() else {
        return text.to_string();
    };
    if secrets.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while at < text.len() {
        let found = secrets.iter().find_map(|secret| secret.ends_at(text, at));
        // A match ends on a character boundary: every spelling is whole characters.
        match found {
            Some(end) if text.is_char_boundary(end) => {
                out.push_str(&mask(&text[at..end]));
                at = end;
            }
            _ => {
                let next = text[at..].chars().next().map_or(1, char::len_utf8);
                out.push_str(&text[at..at + next]);
                at += next;
            }
        }
    }
    out
}

/// Every string inside `value` redacted, keys included.
pub fn redact_json(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::String(text) => *text = redact(text),
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        Value::Object(map) => {
            let entries = std::mem::take(map);
            for (key, mut item) in entries {
                redact_json(&mut item);
                map.insert(redact(&key), item);
            }
        }
        _ => {}
    }
}

/// Characters a bearer token or an OAuth access token is made of (RFC 6750's b64token).
fn token_character(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '+' | '/' | '=')
}

/// `text` with credentials masked by their shape alone: the token after `Bearer ` (any
/// case), a `ya29.` access token, and a PEM `PRIVATE KEY` block.
pub fn redact_shapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(after) = strip_prefix_ignore_case(rest, "bearer")
            && after.starts_with([' ', '\t'])
            && !out.ends_with(|c: char| c.is_ascii_alphanumeric())
        {
            let gap = after.len() - after.trim_start_matches([' ', '\t']).len();
            let token = &after[gap..];
            let length = token.find(|c| !token_character(c)).unwrap_or(token.len());
            out.push_str(&rest[..rest.len() - after.len() + gap]);
            if looks_like_a_token(&token[..length]) {
                out.push_str(MASK);
                rest = &token[length..];
            } else {
                rest = token;
            }
            continue;
        }
        if rest.starts_with("ya29.") && !out.ends_with(token_character) {
            let length = rest.find(|c| !token_character(c)).unwrap_or(rest.len());
            out.push_str(MASK);
            rest = &rest[length..];
            continue;
        }
        if rest.starts_with("-----BEGIN") {
            let line_end = rest.find('\n').unwrap_or(rest.len());
            if rest[..line_end].contains("PRIVATE KEY") {
                let end = rest
                    .find("-----END")
                    .and_then(|at| rest[at + 8..].find("-----").map(|close| at + 8 + close + 5))
                    .unwrap_or(rest.len());
                out.push_str(MASK);
                rest = &rest[end..];
                continue;
            }
        }
        let next = rest.chars().next().map_or(1, char::len_utf8);
        out.push_str(&rest[..next]);
        rest = &rest[next..];
    }
    out
}

/// Whether the word after `Bearer` is a token rather than prose (`Bearer token missing`): 8
/// characters or more, not all lower-case letters.
fn looks_like_a_token(word: &str) -> bool {
    word.len() >= 8 && !word.chars().all(|c| c.is_ascii_lowercase())
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_masked_by_their_shape() {
        assert_eq!(
            redact_shapes("echo auth=Bearer S3CRETtokN esc"),
            "echo auth=Bearer **** esc"
        );
        assert_eq!(
            redact_shapes("authorization: bearer\tya29.a0AfB_x-y.z\"}"),
            "authorization: bearer\t****\"}"
        );
        assert_eq!(
            redact_shapes("token ya29.c.Kp8B-abc, then"),
            "token ****, then"
        );
        assert_eq!(
            redact_shapes(
                "key: -----BEGIN PRIVATE KEY-----\nMIIE\nabc\n-----END PRIVATE KEY-----\n!"
            ),
            "key: ****\n!"
        );
        // Words that only look alike are left alone.
        for plain in [
            "bearers of news",
            "the Bearer header was missing",
            "Bearer credentials were refused",
            "Bearer",
            "ya29",
            "-----BEGIN CERTIFICATE-----",
            "naïve café Bearer",
        ] {
            assert_eq!(redact_shapes(plain), plain);
        }
    }

    #[test]
    fn registered_secrets_are_masked_longest_first_in_text_and_json() {
        register_secret("Xq-registered-secret-Xq");
        register_secret("Xq-registered");
        register_secret("abc");
        assert_eq!(
            redact("said Xq-registered-secret-Xq and Xq-registered, abc"),
            "said **** and ****, abc"
        );
        let mut event = serde_json::json!({
            "error": "Xq-registered-secret-Xq",
            "nested": [{"Xq-registered": "Bearer t0k3n-Abcdef"}],
            "code": 1
        });
        redact_json(&mut event);
        assert_eq!(
            event,
            serde_json::json!({"error": "****", "nested": [{"****": "Bearer ****"}], "code": 1})
        );
    }

    #[test]
    fn a_secret_is_masked_in_any_case_and_as_json_sql_and_urls_quote_it() {
        register_secret("Zw\"q'Pass/wörd!");
        let said = [
            r#"pw "Zw\"q'Pass/wörd!" refused"#,
            "setting ZW\"Q'PASS/WöRD! unknown",
            "string 'Zw\"q''Pass/wörd!' quoted",
            "url postgres://u:Zw%22q%27Pass%2Fw%C3%B6rd%21@host",
            "lower zw%22q%27pass%2fw%c3%b6rd%21 too",
            // JSON as other writers escape it: past ASCII as \u, a slash as \/, every mark.
            r#"python "Zw\"q'Pass/w\u00f6rd!""#,
            r#"upper hex Zw\"q'Pass/w\u00F6rd!"#,
            r#"slashed Zw\"q'Pass\/w\u00f6rd!"#,
            r#"marks Zw\u0022q\u0027Pass\u002fw\u00f6rd\u0021"#,
            // Styles mixed character by character (.NET, Go, PHP each escape a few).
            r#"dotnet Zw\u0022q\u0027Pass/w\u00F6rd!"#,
            r#"go Zw\"q\u0027Pass/wörd\u0021"#,
            r#"php Zw\"q'Pass\/wörd!"#,
            r#"mixed Zw\u0022q'Pass\/w%C3%B6rd!"#,
        ];
        for text in said {
            let masked = redact(text);
            assert!(masked.contains(MASK), "{text} -> {masked}");
            assert!(
                !masked.to_lowercase().contains("pass"),
                "{text} -> {masked}"
            );
        }
        // Other non-ASCII letters are compared exactly, and text around a match is kept.
        assert_eq!(redact("zw\"q'pass/wÖrd!"), "zw\"q'pass/wÖrd!");
        assert_eq!(redact("é Zw\"q'Pass/wörd! é"), "é **** é");
    }
}
