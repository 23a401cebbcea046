//! Text made safe to print on a terminal: control characters from definitions, the warehouse
//! or the operating system are shown as visible escapes instead of acting on the terminal
//! (setting the window title, clearing the screen, moving the cursor back over a line).
//!
//! The spelling is that of bash's `$'…'`: `\0 \a \b \t \n \v \f \r \e` for those C0
//! characters, and `\u{hex}` (Rust's notation, lowercase) for every other character escaped:
//! the rest of C0, DEL (`\u{7f}`), C1 (`\u{80}`–`\u{9f}`, e.g. the CSI `\u{9b}`) and the
//! line and paragraph separators U+2028 and U+2029, which some terminals and viewers break
//! a line at, and the bidirectional overrides and isolates U+202A–U+202E and U+2066–U+2069
//! (`\u{202e}`), which make text display in another order than it is written, with the
//! direction marks U+200E, U+200F and U+061C, and the invisible U+200B, U+2060 and U+FEFF,
//! which make two different texts look alike. Backslashes are left alone: the
//! result is for reading, not for parsing back, and paths keep their spelling.
//!
//! And text made to fit a terminal: its width ([`stdout_width`], [`stderr_width`]), the
//! columns a text takes ([`display_width`]), and lines cut ([`truncate`]) or wrapped
//! ([`wrap`]) to it.

use std::borrow::Cow;
use std::fmt::Write;
use std::io::IsTerminal;

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// The width assumed for a terminal that reports none and no `COLUMNS`.
pub const DEFAULT_WIDTH: usize = 80;

/// The width of the terminal standard output is, or `None` when it is not a terminal (a
/// pipe or a file: output there is never cut to a width).
pub fn stdout_width() -> Option<usize> {
    std::io::stdout().is_terminal().then(terminal_width)
}

/// The width of the terminal standard error is, or `None` when it is not a terminal.
pub fn stderr_width() -> Option<usize> {
    std::io::stderr().is_terminal().then(terminal_width)
}

/// The terminal's width: the size the terminal reports first (it follows a resized window),
/// then the `COLUMNS` variable (a terminal that reports no size), then [`DEFAULT_WIDTH`].
fn terminal_width() -> usize {
    terminal_size::terminal_size()
        .map(|(width, _)| usize::from(width.0))
        .filter(|width| *width > 0)
        .or_else(|| {
            std::env::var("COLUMNS")
                .ok()
                .and_then(|text| text.trim().parse::<usize>().ok())
                .filter(|width| *width > 0)
        })
        .unwrap_or(DEFAULT_WIDTH)
}

/// The columns `text` takes on a terminal (a CJK character takes two, a combining mark none).
pub fn display_width(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

/// `text` cut to at most `width` columns, ending in `…` when it was cut.
pub fn truncate(text: &str, width: usize) -> Cow<'_, str> {
    if display_width(text) <= width {
        return Cow::Borrowed(text);
    }
    let mut out = String::new();
    let mut used = 0;
    for character in text.chars() {
        let columns = character.width().unwrap_or(0);
        if used + columns + 1 > width {
            break;
        }
        used += columns;
        out.push(character);
    }
    if width > 0 {
        out.push('…');
    }
    Cow::Owned(out)
}

/// Every line of `text` cut to `width` columns (see [`truncate`]).
pub fn truncate_lines(text: &str, width: usize) -> String {
    text.split_inclusive('\n')
        .map(|line| match line.strip_suffix('\n') {
            Some(line) => format!("{}\n", truncate(line, width)),
            None => truncate(line, width).into_owned(),
        })
        .collect()
}

/// `text` with every line longer than `width` columns broken at spaces (a word longer than a
/// line is broken where the line ends), so that no line is wider than `width`.
pub fn wrap(text: &str, width: usize) -> String {
    let width = width.max(1);
    let mut out = String::with_capacity(text.len());
    for (index, line) in text.split('\n').enumerate() {
        if index > 0 {
            out.push('\n');
        }
        let mut used = 0;
        for (number, word) in line.split(' ').enumerate() {
            let columns = display_width(word);
            if number > 0 {
                if used > 0 && used + 1 + columns > width {
                    out.push('\n');
                    used = 0;
                } else {
                    out.push(' ');
                    used += 1;
                }
            }
            for character in word.chars() {
                let columns = character.width().unwrap_or(0);
                if used + columns > width && used > 0 {
                    out.push('\n');
                    used = 0;
                }
                out.push(character);
                used += columns;
            }
        }
    }
    out
}

/// `text` on one line: every control character escaped, line ends included.
pub fn printable(text: &str) -> Cow<'_, str> {
    escape(text, false)
}

/// `text` that may span lines (an error, a diagnostic): like [`printable`], but a line end
/// stays one; `\r\n` is written `\n`.
pub fn printable_lines(text: &str) -> Cow<'_, str> {
    escape(text, true)
}

/// Whether a character acts on the terminal or disguises the text around it.
fn is_escaped(character: char) -> bool {
    character.is_control() || disguises(character)
}

/// Whether a character disguises the text around it: it breaks the line (U+2028, U+2029),
/// reorders what follows (U+202E draws it backwards; the embeddings and isolates; the
/// marks LRM, RLM and ALM, which turn the direction of the characters beside them), or is
/// invisible where it makes two texts differ (a zero-width space, word joiner or byte
/// order mark: `US` and `U\u{200b}S` would look alike). The zero-width joiner and non-joiner
/// stay: emoji and several scripts are written with them.
pub fn disguises(character: char) -> bool {
    ('\u{2028}'..='\u{202e}').contains(&character)
        || ('\u{2066}'..='\u{2069}').contains(&character)
        || matches!(
            character,
            '\u{200b}' | '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{2060}' | '\u{feff}'
        )
}

fn escape(text: &str, keep_line_ends: bool) -> Cow<'_, str> {
    let kept = |character: char| keep_line_ends && character == '\n';
    if !text.chars().any(|c| is_escaped(c) && !kept(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut characters = text.chars().peekable();
    while let Some(character) = characters.next() {
        if kept(character)
            || (keep_line_ends && character == '\r' && characters.peek() == Some(&'\n'))
        {
            // The `\r` of a `\r\n` is dropped; its `\n` comes next.
            if character == '\n' {
                out.push('\n');
            }
            continue;
        }
        let named = match character {
            '\0' => "\\0",
            '\u{7}' => "\\a",
            '\u{8}' => "\\b",
            '\t' => "\\t",
            '\n' => "\\n",
            '\u{b}' => "\\v",
            '\u{c}' => "\\f",
            '\r' => "\\r",
            '\u{1b}' => "\\e",
            other if is_escaped(other) => {
                let _ = write!(out, "\\u{{{:x}}}", other as u32);
                continue;
            }
            other => {
                out.push(other);
                continue;
            }
        };
        out.push_str(named);
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        let text = "Paying customers — Côte d'Ivoire, 東京, C:\\reports\\a.sql";
        assert!(matches!(printable(text), Cow::Borrowed(t) if t == text));
        assert!(matches!(printable_lines("a\nb\n"), Cow::Borrowed("a\nb\n")));
    }

    #[test]
    fn c0_characters_get_their_c_names() {
        assert_eq!(
            printable("\0\u{7}\u{8}\t\n\u{b}\u{c}\r\u{1b}"),
            "\\0\\a\\b\\t\\n\\v\\f\\r\\e"
        );
        assert_eq!(printable("\u{1}\u{1f}"), "\\u{1}\\u{1f}");
    }

    #[test]
    fn a_window_title_sequence_becomes_visible_text() {
        assert_eq!(printable("x\u{1b}]0;pwned\u{7}\ry"), "x\\e]0;pwned\\a\\ry");
        assert_eq!(printable("\u{1b}[2J\u{1b}[H"), "\\e[2J\\e[H");
    }

    #[test]
    fn del_c1_and_bidirectional_controls_are_escaped() {
        assert_eq!(printable("a\u{7f}b"), "a\\u{7f}b");
        assert_eq!(
            printable("\u{80}\u{9b}31m\u{9f}"),
            "\\u{80}\\u{9b}31m\\u{9f}"
        );
        assert_eq!(
            printable("\u{202a}\u{202b}\u{202c}\u{202d}\u{202e}\u{2066}\u{2067}\u{2068}\u{2069}"),
            "\\u{202a}\\u{202b}\\u{202c}\\u{202d}\\u{202e}\\u{2066}\\u{2067}\\u{2068}\\u{2069}"
        );
        // Line and paragraph separators: a line each for some viewers.
        assert_eq!(printable("a\u{2028}b\u{2029}"), "a\\u{2028}b\\u{2029}");
        // Invisible characters that make two texts look alike, and the direction marks.
        assert_eq!(
            printable("U\u{200b}S\u{200e}\u{200f}\u{61c}\u{2060}\u{feff}"),
            "U\\u{200b}S\\u{200e}\\u{200f}\\u{61c}\\u{2060}\\u{feff}"
        );
        // Neighbours of the escaped ranges are ordinary text, and the joiners emoji need.
        assert_eq!(
            printable("\u{a0}\u{2027}\u{202f}\u{206a}\u{200c}\u{200d}"),
            "\u{a0}\u{2027}\u{202f}\u{206a}\u{200c}\u{200d}"
        );
    }

    #[test]
    fn line_ends_stay_in_multi_line_text_only() {
        let text = "error: bad\r\n  --> a.yml:1:1\n\u{1b}[2Jnext\rline\n";
        assert_eq!(
            printable_lines(text),
            "error: bad\n  --> a.yml:1:1\n\\e[2Jnext\\rline\n"
        );
        assert_eq!(printable("a\nb\r\n"), "a\\nb\\r\\n");
        assert_eq!(printable_lines("\r"), "\\r");
        assert_eq!(printable_lines("tab\there"), "tab\\there");
    }

    #[test]
    fn truncated_text_fits_and_ends_in_an_ellipsis() {
        assert!(matches!(truncate("People", 6), Cow::Borrowed("People")));
        assert_eq!(truncate("Active people", 8), "Active …");
        assert_eq!(display_width(&truncate("東京東京", 5)), 5);
        assert_eq!(truncate("東京東京", 5), "東京…");
        assert_eq!(truncate("abc", 1), "…");
        assert_eq!(truncate("abc", 0), "");
        assert_eq!(truncate_lines("abcdef\nab\n", 4), "abc…\nab\n");
    }

    #[test]
    fn wrapped_lines_fit_and_keep_every_word() {
        let text =
            "warning: the report reads column `country` of source `users`, which has no type";
        let wrapped = wrap(text, 20);
        assert!(
            wrapped.lines().all(|line| display_width(line) <= 20),
            "{wrapped}"
        );
        assert_eq!(wrapped.replace('\n', " "), text);
        // A word longer than a line is broken, not lost.
        assert_eq!(wrap("abcdefgh ij", 3), "abc\ndef\ngh\nij");
        assert_eq!(wrap("short\nlines", 80), "short\nlines");
    }

    #[test]
    fn escaping_twice_changes_nothing() {
        let once = printable_lines("a\u{1b}]0;t\u{7}\r\u{9b}\u{202e}\n").into_owned();
        assert!(matches!(printable_lines(&once), Cow::Borrowed(_)));
        assert!(matches!(printable(&printable("\n\t")), Cow::Borrowed(_)));
    }
}
