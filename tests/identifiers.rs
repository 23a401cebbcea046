//! Hostile table, column and key names: each is either refused at its file:line:col, or quoted
//! so that an independent parser reads every compiled statement as one statement naming
//! exactly that table or column, in every dialect. (sqlparser reads all five dialects; the
//! BigQuery statements are also read by sqlglot when its virtual environment is present.)

use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::path::Path;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use sqlparser::ast::{Ident, Visit, Visitor};

/// Characters that end or escape quoted names and strings somewhere, and a few ordinary ones.
const ALPHABET: &[char] = &[
    'a', 'Z', '_', '9', ' ', '"', '\'', '`', '\\', '[', ']', ';', '-', '/', '*', '$', '%', '(',
    ')', 'é', '\n', '\r', '\0', '\t', '\u{1b}',
];

/// Ordinary physical names, in the order of [`write_project`]'s `names`.
const PLAIN_NAMES: [&str; 8] = [
    "app",
    "users",
    "user_id",
    "created_at",
    "country",
    "events",
    "user_id",
    "occurred_at",
];

/// A project whose physical names are `names` (users schema, users table, user key, sign-up
/// column, a string column, events table, events user key, events time).
fn write_project(dir: &Path, names: &[String; 8]) -> Vec<usize> {
    let q = |text: &str| serde_json::to_string(text).unwrap();
    let lines = [
        "sources:".to_string(),
        "  users:".into(),
        format!("    table: {}", q(&format!("{}.{}", names[0], names[1]))),
        // A string key: every stage joins it in its exact form.
        format!("    key: {{ column: {}, type: string }}", q(&names[2])),
        "    columns:".into(),
        format!("      signup_at: {}", q(&names[3])),
        format!(
            "      country: {{ column: {}, type: string }}",
            q(&names[4])
        ),
        "  events:".into(),
        format!("    table: {}", q(&format!("app.{}", names[5]))),
        format!("    user_key: {}", q(&names[6])),
        format!("    time: {}", q(&names[7])),
        "attributes:".into(),
        "  events_30d: { source: events, agg: count, window: 30d }".into(),
        "segments:".into(),
        "  - { name: us, all: [ { country: { eq: US } } ] }".into(),
        "kpis:".into(),
        "  - { name: people, agg: count }".into(),
        "  - { name: events_sum, agg: sum, of: events_30d }".into(),
    ];
    std::fs::write(
        dir.join("segc_project.yml"),
        "name: fuzz\nas_of: 2024-03-31\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("segment-defs")).unwrap();
    std::fs::write(dir.join("segment-defs/defs.yml"), lines.join("\n") + "\n").unwrap();
    // The 1-based line of each name.
    vec![3, 3, 4, 6, 7, 9, 10, 11]
}

fn refused(name: &str) -> bool {
    name.trim().is_empty()
        || name
            .chars()
            .any(|c| c.is_control() || c == '\\' || c == '`')
}

/// Every identifier a statement names, as the parser read it.
struct Names(BTreeSet<String>);

impl Visitor for Names {
    type Break = ();
    fn pre_visit_ident(&mut self, ident: &Ident) -> ControlFlow<()> {
        self.0.insert(ident.value.clone());
        ControlFlow::Continue(())
    }
}

/// Checks one set of names in every dialect; returns the BigQuery statements.
fn check(names: &[String; 8]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let lines = write_project(dir.path(), names);
    let project = segc::validate::load_and_validate(dir.path());
    let mut bad: Vec<usize> = (0..names.len()).filter(|&i| refused(&names[i])).collect();
    // A NUL is refused as the file is read, like a syntax error: at the first one, alone.
    if let Some(first) = names.iter().position(|name| name.contains('\0')) {
        bad = vec![first];
    }
    if !bad.is_empty() {
        let error = match project {
            Ok(_) => panic!("{names:?} was accepted"),
            Err(error) => error.to_string(),
        };
        for i in bad {
            let at = format!("segment-defs/defs.yml:{}:", lines[i]);
            assert!(error.contains(&at), "{names:?}: expected {at} in\n{error}");
        }
        return Vec::new();
    }
    let project = project.unwrap_or_else(|e| panic!("{names:?}: {e}"));
    let mut bigquery = Vec::new();
    for dialect_name in segc::dialect::names() {
        let dialect = segc::dialect::Dialect::load(dialect_name).unwrap();
        let sql = common_compile(&project, &dialect);
        let statement = segc::sqlcheck::parse_one(&sql, &dialect.sqlparser)
            .unwrap_or_else(|e| panic!("{dialect_name} {names:?}: {e}\n{sql}"));
        let mut found = Names(BTreeSet::new());
        let _ = statement.visit(&mut found);
        for (i, name) in names.iter().enumerate() {
            // Table names are written `schema.table`, with blanks around each part ignored.
            let name = match i {
                0 | 1 | 5 => name.trim(),
                _ => name.as_str(),
            };
            assert!(
                found.0.contains(name),
                "{dialect_name}: `{name}` not read back exactly from\n{sql}"
            );
        }
        segc::driver::gate::admit(&sql, &dialect, segc::driver::gate::Shape::Read)
            .unwrap_or_else(|e| panic!("{dialect_name} {names:?}: {e}"));
        if dialect_name == "bigquery" {
            bigquery.push(sql);
        }
    }
    bigquery
}

fn common_compile(project: &segc::ir::Project, dialect: &segc::dialect::Dialect) -> String {
    let options = segc::plan::ReportOptions::default();
    let today = chrono::NaiveDate::from_ymd_opt(2030, 1, 1).unwrap();
    let plan = segc::plan::Plan::new(project, &options, today).expect("a plan");
    segc::render::render(&plan, dialect, None).expect("render")
}

fn name() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(ALPHABET), 1..8)
        .prop_map(|chars| chars.into_iter().collect())
}

/// Names validation accepts: every character of the alphabet that can be quoted everywhere.
fn accepted_name() -> impl Strategy<Value = String> {
    let accepted: Vec<char> = ALPHABET
        .iter()
        .copied()
        .filter(|c| !refused(&c.to_string()) || *c == ' ')
        .collect();
    proptest::collection::vec(proptest::sample::select(accepted), 1..8)
        .prop_map(|chars| chars.into_iter().collect::<String>())
        .prop_filter("not blank", |name| !name.trim().is_empty())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn hostile_names_are_refused_or_quoted_exactly(names in proptest::array::uniform8(name())) {
        check(&names);
    }
}

/// Names that broke out of quotes before, by dialect.
#[test]
fn known_breakouts_are_refused_or_quoted() {
    let breakouts = [
        "a\\`; DROP TABLE victim; --",
        "a`; DROP TABLE victim; --",
        "a]; DROP TABLE victim; --",
        "a\"; DROP TABLE victim; --",
        "a'; DROP TABLE victim; --",
        "x\n; DROP TABLE victim",
        "nul\0byte",
    ];
    for breakout in breakouts {
        for position in 0..8 {
            let mut names: [String; 8] = PLAIN_NAMES.map(String::from);
            names[position] = breakout.to_string();
            check(&names);
        }
    }
}

/// BigQuery's statements read by sqlglot, an independent GoogleSQL parser: one statement each,
/// naming the quoted tables exactly.
#[test]
fn bigquery_statements_are_one_statement_for_sqlglot() {
    let venv = std::env::var("SEGC_BQ_VENV").unwrap_or_else(|_| {
        format!(
            "{}/.cache/segc-bq-venv",
            std::env::var("HOME").unwrap_or_default()
        )
    });
    let python = Path::new(&venv).join("bin/python");
    let probe = std::process::Command::new(&python)
        .args(["-c", "import sqlglot"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: no sqlglot in {venv} (scripts/bqemulator.sh installs it)");
        return;
    }
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = proptest::array::uniform8(accepted_name());
    let mut cases = Vec::new();
    while cases.len() < 60 {
        let names = strategy.new_tree(&mut runner).unwrap().current();
        for sql in check(&names) {
            cases.push(
                serde_json::json!({ "sql": sql, "tables": [names[1].trim(), names[5].trim()] }),
            );
        }
    }
    let script = r#"
import json, sys
import sqlglot
from sqlglot import exp
failures = []
for line in sys.stdin:
    case = json.loads(line)
    trees = [t for t in sqlglot.parse(case["sql"], read="bigquery") if t is not None]
    tables = {t.name for tree in trees for t in tree.find_all(exp.Table)}
    if len(trees) != 1 or not set(case["tables"]) <= tables:
        failures.append({"statements": len(trees), "tables": sorted(tables), "expected": case["tables"]})
print(json.dumps(failures))
"#;
    let mut child = std::process::Command::new(&python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        for case in &cases {
            writeln!(stdin, "{case}").unwrap();
        }
    }
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let failures: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(failures, serde_json::json!([]), "{} cases", cases.len());
}

/// PostgreSQL reads 63 bytes of a name and cuts a longer one without an error (Redshift reads
/// 127): a table or column named longer would be read under the cut name, another table or
/// column than the one the catalog was asked about (a DATE column read as timestamps, 0
/// orders instead of 2). Such a name is refused when the statement is written for that
/// dialect, naming the source and where it is defined, and by the gate before any statement
/// is sent; other dialects read it whole. Bytes count, not characters.
#[test]
fn names_longer_than_a_dialect_reads_are_refused_where_it_would_cut_them() {
    for (name, too_long_for) in [
        ("é".repeat(32), &["postgres"][..]),
        ("x".repeat(63), &[][..]),
        ("y".repeat(128), &["postgres", "redshift"][..]),
    ] {
        for position in 0..PLAIN_NAMES.len() {
            let mut names = PLAIN_NAMES.map(String::from);
            names[position] = name.clone();
            let dir = tempfile::tempdir().unwrap();
            let lines = write_project(dir.path(), &names);
            let project = segc::validate::load_and_validate(dir.path()).unwrap();
            let options = segc::plan::ReportOptions::default();
            let today = chrono::NaiveDate::from_ymd_opt(2030, 1, 1).unwrap();
            let plan = segc::plan::Plan::new(&project, &options, today).unwrap();
            for dialect_name in segc::dialect::names() {
                let dialect = segc::dialect::Dialect::load(dialect_name).unwrap();
                let rendered = segc::render::render(&plan, &dialect, None);
                if !too_long_for.contains(&dialect_name) {
                    let sql = rendered.unwrap_or_else(|e| panic!("{dialect_name} {name}: {e}"));
                    segc::driver::gate::admit(&sql, &dialect, segc::driver::gate::Shape::Read)
                        .unwrap_or_else(|e| panic!("{dialect_name} {name}: {e}"));
                    continue;
                }
                let error = rendered.expect_err(dialect_name).to_string();
                let source = if position < 5 { "users" } else { "events" };
                // A source's origin is the line of its name.
                let line = if position < 5 {
                    lines[0] - 1
                } else {
                    lines[5] - 1
                };
                assert!(
                    error.starts_with(&format!(
                        "source `{source}` (segment-defs/defs.yml:{line}) names `{name}`, which is {} bytes long; {dialect_name} reads at most",
                        name.len()
                    )),
                    "{dialect_name} {position}: {error}"
                );
                // The gate refuses the same name in any statement.
                let sql = format!("SELECT \"{name}\" FROM t");
                let refused =
                    segc::driver::gate::admit(&sql, &dialect, segc::driver::gate::Shape::Read)
                        .expect_err(dialect_name)
                        .to_string();
                assert!(refused.contains("bytes long"), "{refused}");
            }
        }
    }
}
