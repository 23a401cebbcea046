//! Validation never panics, whatever the definitions hold: random documents built from the
//! language's own keys, operators and values, and arbitrary text.

use proptest::prelude::*;

use segc::error::SourceMap;
use segc::spec::{Definitions, ProjectFiles, ProjectSpec, read_definitions, yaml};

const SOURCES: &str = "sources:
  users: { table: app.users, key: user_id, columns: { signup_at: created_at, country: { column: country, type: string }, account_id: { column: account_id, type: integer } } }
  accounts: { table: app.accounts, key: account_id, columns: { plan: { column: plan, type: string } } }
  events: { table: app.events, user_key: user_id, time: occurred_at, columns: { name: { column: event_name, type: string } } }
";

/// Validates `text` as a definitions file next to a fixed set of sources; returns the
/// number of diagnostics (0 when valid).
fn validate(text: &str) -> usize {
    let mut sources = SourceMap::default();
    let mut definitions = Definitions::default();
    let mut diagnostics = Vec::new();
    for (name, body) in [("defs/sources.yml", SOURCES), ("defs/random.yml", text)] {
        let file = sources.add(name, body);
        match yaml::parse(file, body) {
            Ok(Some(node)) => read_definitions(&node, &mut definitions, &mut diagnostics),
            Ok(None) => {}
            Err(diagnostic) => diagnostics.push(diagnostic),
        }
    }
    let files = ProjectFiles {
        root: std::path::PathBuf::from("."),
        sources,
        project: ProjectSpec::default(),
        definitions,
        diagnostics,
    };
    match segc::validate::validate(files) {
        Ok(_) => 0,
        Err(segc::error::Error::Invalid(found)) => {
            // Rendering quotes the user's lines; it must not panic on odd spans either.
            let _ = found.to_string();
            found.items.len()
        }
        Err(other) => panic!("unexpected error kind: {other}"),
    }
}

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("0".to_string()),
        Just("-1.5".to_string()),
        Just("true".to_string()),
        Just("~".to_string()),
        Just("2024-02-30".to_string()),
        Just("2024-01-01".to_string()),
        Just("30d".to_string()),
        Just("0d".to_string()),
        Just("period".to_string()),
        Just("nth".to_string()),
        Just("first".to_string()),
        Just("last".to_string()),
        Just("\"it's \\\\ \\n\"".to_string()),
        Just("users".to_string()),
        Just("events".to_string()),
        Just("country".to_string()),
        Just("monthly".to_string()),
        Just("a".to_string()),
        Just("\"a / nullif(b, 0)\"".to_string()),
        Just("\"(((\"".to_string()),
        Just("\"x; DROP\"".to_string()),
        "[a-z_]{1,8}",
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "name",
        "label",
        "parent",
        "visible",
        "exclusive",
        "priority",
        "quintile",
        "best",
        "n",
        "after_signup",
        "all",
        "any",
        "none",
        "in_segment",
        "source",
        "column",
        "agg",
        "window",
        "where",
        "formula",
        "type",
        "of",
        "p",
        "ratio",
        "share_of_total",
        "format",
        "last",
        "offset",
        "eq",
        "ne",
        "gt",
        "between",
        "in",
        "not_in",
        "is_null",
        "contains",
        "within_last",
        "before",
        "after",
        "country",
        "monthly",
        "a",
        "b",
        "people",
        "count",
        "sum",
        "median",
        "percentile",
    ])
    .prop_map(str::to_string)
}

fn node() -> impl Strategy<Value = String> {
    let leaf = scalar();
    leaf.prop_recursive(4, 40, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4)
                .prop_map(|items| format!("[{}]", items.join(", "))),
            prop::collection::vec((key(), inner), 0..4).prop_map(|entries| {
                let body: Vec<String> = entries
                    .into_iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect();
                format!("{{ {} }}", body.join(", "))
            }),
        ]
    })
}

fn document() -> impl Strategy<Value = String> {
    (
        prop::collection::btree_map(
            prop::sample::select(vec!["a", "b", "monthly", "trend", "x"]),
            node(),
            0..4,
        ),
        prop::collection::vec(node(), 0..4),
        prop::collection::vec(node(), 0..4),
    )
        .prop_map(|(attributes, segments, kpis)| {
            let mut text = String::from("attributes:\n");
            for (name, body) in attributes {
                text.push_str(&format!("  {name}: {body}\n"));
            }
            text.push_str("segments:\n");
            for body in segments {
                text.push_str(&format!("  - {body}\n"));
            }
            text.push_str("kpis:\n");
            for body in kpis {
                text.push_str(&format!("  - {body}\n"));
            }
            text
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn structured_documents_never_panic(text in document()) {
        validate(&text);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        validate(&text);
    }
}

#[test]
fn a_valid_document_has_no_diagnostics() {
    // Guards the harness itself: if validation failed for everything, the tests above would
    // prove nothing.
    let text = "attributes:\n  monthly: { source: events, agg: count, window: 30d }\nsegments:\n  - { name: s, all: [ { monthly: { gt: 0 } } ] }\nkpis:\n  - { name: people, agg: count }\n";
    assert_eq!(validate(text), 0);
    assert!(validate("segments: [ { name: s, all: [ { nope: { gt: 0 } } ] } ]\n") > 0);
}
