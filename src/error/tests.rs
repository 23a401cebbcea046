use super::*;

#[test]
fn suggests_close_names_only() {
    let names = ["monthly_spend", "monthly_activity", "country"];
    assert_eq!(
        suggest("monthy_spend", names).as_deref(),
        Some("did you mean `monthly_spend`?")
    );
    assert_eq!(suggest("zzz", names), None);
}

#[test]
fn long_lines_are_cut_around_the_span() {
    let mut sources = SourceMap::default();
    let line = format!("x: [{}oops{}]", "1, ".repeat(200), ", 2".repeat(200));
    let file = sources.add("defs/a.yml", format!("# first\r\n{line}\n"));
    assert_eq!(sources.line(file, 1), Some("# first"));
    assert_eq!(sources.line(file, 2), Some(line.as_str()));
    assert_eq!(sources.line(file, 3), None);
    let column = line.find("oops").unwrap() + 1;
    let at = |column| Position {
        line: 2,
        column,
        byte: 0,
    };
    let span = Span {
        file,
        start: at(column),
        end: at(column + 4),
    };
    let text = Diagnostic::new("bad", span).render(&sources);
    let quoted = text.lines().nth(3).unwrap();
    let underline = text.lines().nth(4).unwrap();
    assert!(
        quoted.starts_with("2 | …") && quoted.ends_with('…'),
        "{text}"
    );
    assert!(quoted.chars().count() < 140, "{text}");
    let under = underline.find('^').unwrap();
    let underlined: String = quoted.chars().skip(under).take(4).collect();
    assert_eq!(underlined, "oops", "{text}");
    assert_eq!(underline.matches('^').count(), 4, "{text}");
}

#[test]
fn control_characters_are_not_quoted_raw() {
    let mut sources = SourceMap::default();
    let file = sources.add("a.yml", "x: \u{1b}[2J\u{7}\n");
    let at = |column| Position {
        line: 1,
        column,
        byte: 0,
    };
    let span = Span {
        file,
        start: at(4),
        end: at(5),
    };
    let text = Diagnostic::new("bad", span).render(&sources);
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text:?}"
    );
    assert!(text.contains("1 | x: \\e[2J\\a\n"), "{text:?}");
    // The caret is under the escaped ESC, which takes two columns.
    assert!(text.contains("  |    ^^\n"), "{text:?}");
}

#[test]
fn renders_underline_under_the_span() {
    let mut sources = SourceMap::default();
    let file = sources.add(
        "defs/a.yml",
        "segments:\n  - name: x\n    all: [ { foo: { gt: 1 } } ]\n",
    );
    let span = Span {
        file,
        start: Position {
            line: 3,
            column: 14,
            byte: 0,
        },
        end: Position {
            line: 3,
            column: 17,
            byte: 0,
        },
    };
    let text = Diagnostic::new("unknown attribute `foo`", span).render(&sources);
    assert!(text.contains("--> defs/a.yml:3:14"), "{text}");
    assert!(text.contains("|              ^^^\n"), "{text}");
}

/// A quoted line's control characters are escaped, and the underline still sits under
/// the text it marks, which is longer once escaped.
#[test]
fn quotes_the_line_escaped_and_underlines_the_escaped_text() {
    let mut sources = SourceMap::default();
    let file = sources.add("a.yml", "- { name: \"\u{1b}]0;x\u{7}\", all: [ bad\t] }\n");
    let span = |start: usize, end: usize| Span {
        file,
        start: Position {
            line: 1,
            column: start,
            byte: 0,
        },
        end: Position {
            line: 1,
            column: end,
            byte: 0,
        },
    };
    // `bad\t` after the escaped name: the underline moves right by the two escapes.
    let text = Diagnostic::new("unknown attribute", span(28, 32)).render(&sources);
    assert!(
        text.contains("1 | - { name: \"\\e]0;x\\a\", all: [ bad\\t] }\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!("  | {}^^^^^\n", " ".repeat(29))),
        "{text}"
    );
    // Underlining the name itself covers its escapes.
    let text = Diagnostic::new("bad name", span(11, 18)).render(&sources);
    assert!(
        text.contains(&format!("  | {}^^^^^^^^^\n", " ".repeat(10))),
        "{text}"
    );
    assert!(!text.contains(['\u{1b}', '\u{7}', '\t']), "{text}");
}
