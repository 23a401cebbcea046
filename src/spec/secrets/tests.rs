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
        mask_value("https://bq.example/v2?key=ApiKeyVal777&alt=json&SIG=abcd1234"),
        "https://bq.example/v2?key=****&alt=json&SIG=****"
    );
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
