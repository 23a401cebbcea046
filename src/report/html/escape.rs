//! Text into HTML and SVG: every string that came from the definitions (labels, names), a
//! profile or the warehouse passes through [`esc`] before it is written into the page.

use crate::driver::Cell;
use crate::ir::Format;

use super::super::format_value;
use super::super::plain::plain_text;

/// `text` escaped for HTML text and for a double-quoted attribute value: `&`, `<`, `>`, `"`
/// and `'` become references, so `</script><script>` stays text.
pub fn esc(text: &str) -> String {
    escaped(text, true)
}

/// `text` escaped for a double-quoted attribute that holds a value for machines (`data-v`):
/// as [`esc`], but with the characters that reorder text kept, as the CSV and JSON hold them.
fn esc_value(text: &str) -> String {
    escaped(text, false)
}

fn escaped(text: &str, shown: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than tab and newline have no place in a label.
            c if c.is_control() && c != '\t' && c != '\n' => out.push('\u{FFFD}'),
            // Characters that reorder the text around them (U+202E draws what follows
            // backwards) or break its lines are shown as the terminal shows them, `\u{202e}`.
            c if shown && crate::terminal::disguises(c) => {
                out.push_str(&crate::terminal::printable(c.encode_utf8(&mut [0; 4])));
            }
            c => out.push(c),
        }
    }
    out
}

/// ` data-v="…"` holding a cell's value as the CSV and JSON print it, or nothing for NULL:
/// the machine-readable value behind a formatted one.
pub fn data_value(cell: &Cell) -> String {
    match cell {
        Cell::Null => String::new(),
        other => {
            let text = plain_text(other);
            if text.is_empty() && !matches!(other, Cell::Text(_)) {
                // A double that is no number (NaN, infinity) prints as nothing: no value.
                String::new()
            } else {
                format!(" data-v=\"{}\"", esc_value(&text))
            }
        }
    }
}

/// A cell formatted as its KPI's `format` says, escaped.
pub fn formatted(cell: &Cell, format: Format, currency: &str) -> String {
    esc(&format_value(cell, format, currency))
}

/// A number for SVG coordinates: two decimals, no trailing zeros.
pub fn coordinate(value: f64) -> String {
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_string()
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_stays_text() {
        assert_eq!(
            esc("</script><script>alert(1)</script>"),
            "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(esc("a\"b'c&d"), "a&quot;b&#39;c&amp;d");
        assert_eq!(esc("bell\u{7}"), "bell\u{FFFD}");
        // A right-to-left override would draw the rest of the label backwards.
        assert_eq!(esc("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(esc("a\u{2066}b\u{2069}"), "a\\u{2066}b\\u{2069}");
    }

    #[test]
    fn coordinates_are_short() {
        assert_eq!(coordinate(12.0), "12");
        assert_eq!(coordinate(12.345), "12.35");
        assert_eq!(coordinate(-0.001), "0");
        assert_eq!(coordinate(0.5), "0.5");
    }

    #[test]
    fn data_values_are_the_plain_values() {
        assert_eq!(data_value(&Cell::Null), "");
        assert_eq!(data_value(&Cell::Integer(42)), " data-v=\"42\"");
        assert_eq!(data_value(&Cell::Double(f64::NAN)), "");
        assert_eq!(
            data_value(&Cell::Text("<b>".into())),
            " data-v=\"&lt;b&gt;\""
        );
    }
}
