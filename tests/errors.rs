//! One test per class of validation error, each asserting the reported file, line and column.

use std::path::Path;

use segc::error::Error;

const SOURCES: &str = "sources:
  users: { table: app.users, key: user_id, columns: { signup_at: created_at, country: { column: country, type: string } } }
  events: { table: app.events, user_key: user_id, time: occurred_at, columns: { name: { column: event_name, type: string } } }
  tags: { table: app.tags, user_key: user_id, columns: { tag: { column: tag, type: string } } }
";

/// Writes a project with `sources.yml` and `defs.yml`, validates it, and returns each
/// diagnostic as `file:line:col message`.
fn problems(defs: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(
        root.join("segc_project.yml"),
        "name: t\ndefinitions: defs\n",
    )
    .unwrap();
    std::fs::create_dir(root.join("defs")).unwrap();
    std::fs::write(root.join("defs/a_sources.yml"), SOURCES).unwrap();
    std::fs::write(root.join("defs/b_defs.yml"), defs).unwrap();
    collect(root)
}

/// Validates a project of `sources.yml` and `warehouse_schema.yml` and returns each
/// diagnostic as `file:line:col message`.
fn snapshot_problems(sources: &str, snapshot: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(
        root.join("segc_project.yml"),
        "name: t\ndefinitions: defs\n",
    )
    .unwrap();
    std::fs::create_dir(root.join("defs")).unwrap();
    std::fs::write(root.join("defs/sources.yml"), sources).unwrap();
    std::fs::write(root.join("defs/warehouse_schema.yml"), snapshot).unwrap();
    collect(root)
}

fn collect(root: &Path) -> Vec<String> {
    match segc::validate::load_and_validate(root) {
        Ok(_) => Vec::new(),
        Err(Error::Invalid(diagnostics)) => diagnostics
            .items
            .iter()
            .map(|d| match &d.span {
                Some(span) => format!("{} {}", diagnostics.sources.location(span), d.message),
                None => d.message.clone(),
            })
            .collect(),
        Err(other) => panic!("unexpected error: {other}"),
    }
}

fn assert_one(problems: &[String], location: &str, fragment: &str) {
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with(location) && p.contains(fragment)),
        "expected `{location} …{fragment}…` among {problems:#?}"
    );
}

#[test]
fn valid_project_has_no_problems() {
    let found = problems(
        "attributes:\n  n: { source: events, agg: count, window: 7d }\nsegments:\n  - { name: s, all: [ { n: { gt: 0 } } ] }\nkpis:\n  - { name: people, agg: count }\n",
    );
    assert_eq!(found, Vec::<String>::new());
}

#[test]
fn unknown_attribute_is_located_with_a_suggestion() {
    let defs = "attributes:\n  monthly_activity: { source: events, agg: count, window: 30d }\nsegments:\n  - name: s\n    all:\n      - monthy_activity: { gt: 0 }\n";
    let found = problems(defs);
    assert_one(
        &found,
        "defs/b_defs.yml:6:9",
        "unknown attribute `monthy_activity`",
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("segc_project.yml"), "definitions: d\n").unwrap();
    std::fs::create_dir(dir.path().join("d")).unwrap();
    std::fs::write(dir.path().join("d/s.yml"), SOURCES).unwrap();
    std::fs::write(dir.path().join("d/x.yml"), defs).unwrap();
    let Err(Error::Invalid(diagnostics)) = segc::validate::load_and_validate(dir.path()) else {
        panic!()
    };
    let rendered = diagnostics.to_string();
    assert!(
        rendered.contains("did you mean `monthly_activity`?"),
        "{rendered}"
    );
    assert!(
        rendered.contains("6 |       - monthy_activity: { gt: 0 }\n  |         ^^^^^^^^^^^^^^^"),
        "{rendered}"
    );
}

#[test]
fn duplicate_names_are_located() {
    let found = problems(
        "segments:\n  - { name: twin }\n  - { name: twin }\nkpis:\n  - { name: k, agg: count }\n  - { name: k, agg: count }\n",
    );
    assert_one(&found, "defs/b_defs.yml:3:13", "duplicate segment `twin`");
    assert_one(&found, "defs/b_defs.yml:6:13", "duplicate KPI `k`");
}

#[test]
fn a_date_compared_with_a_number_is_located_at_the_value() {
    let found = problems(
        "attributes:\n  signup_date: { source: users, column: signup_at, type: date }\nsegments:\n  - name: s\n    all: [ { signup_date: { gt: 5 } } ]\n",
    );
    assert_one(
        &found,
        "defs/b_defs.yml:5:33",
        "`signup_date` is a date and cannot be compared with a number",
    );
}

#[test]
fn a_number_format_on_a_kpi_that_is_not_a_number_is_located() {
    let found = problems(
        "attributes:\n  signup_date: { source: users, column: signup_at, type: date }\n  seen: { source: events, agg: max, column: time }\nkpis:\n  - { name: first, agg: min, of: signup_date, format: integer }\n  - { name: last, agg: max, of: seen, format: number }\n  - { name: land, agg: max, of: country, format: percent }\n  - { name: fine, agg: max, of: country }\n",
    );
    assert_one(
        &found,
        "defs/b_defs.yml:5:55",
        "KPI `first` is a date; `format` applies to numbers only",
    );
    assert_one(&found, "defs/b_defs.yml:6:47", "KPI `last` is a timestamp");
    assert_one(&found, "defs/b_defs.yml:7:50", "KPI `land` is a string");
    assert_eq!(found.len(), 3, "{found:#?}");
}

#[test]
fn kpi_names_that_segc_writes_as_columns_are_refused_at_the_name() {
    let found = problems(
        "kpis:\n  - { name: people, agg: count }\n  - { name: people__prior, agg: count }\n  - { name: As_Of, agg: count }\n  - { name: period, agg: count }\n  - { name: x__Change_Pct, agg: count }\n  - { name: prior_people, agg: count }\n",
    );
    assert_one(&found, "defs/b_defs.yml:3:13", "may not end in `__prior`");
    assert_one(
        &found,
        "defs/b_defs.yml:4:13",
        "`As_Of` is a column segc writes",
    );
    assert_one(
        &found,
        "defs/b_defs.yml:5:13",
        "`period` is a column segc writes",
    );
    assert_one(
        &found,
        "defs/b_defs.yml:6:13",
        "may not end in `__change_pct`",
    );
    assert_eq!(found.len(), 4, "{found:#?}");
}

#[test]
fn the_type_of_a_column_that_says_when_is_a_date_or_a_timestamp() {
    let found = snapshot_problems(
        "sources:
  users: { table: app.users, key: user_id, columns: { signup_at: { column: created, type: string }, country: { column: country, type: string } } }
  orders: { table: app.orders, user_key: user_id, time: { column: ordered_on, type: integer } }
  events: { table: app.events, user_key: user_id, time: { column: occurred_at, type: timestamp } }
  visits: { table: app.visits, user_key: user_id, time: visited }
  plans: { table: app.plans, key: country, history: { valid_from: since, valid_to: until, type: boolean } }
  clicks: { table: app.clicks, user_key: user_id, time: clicked }
  spans: { table: app.spans, user_key: user_id, time: { column: spanned, type: date } }
",
        "warehouse_schema:
  target: t
  dialect: duckdb
  sources:
    users: { signup_at: date }
  times:
    events: { time: date }
    visits: { time: string }
    clicks: { time: \"time without time zone\" }
    spans: { time: string }
",
    );
    assert_one(
        &found,
        "defs/sources.yml:2:91",
        "`signup_at` of source `users` is declared `string`: it is a date or a timestamp",
    );
    assert_one(
        &found,
        "defs/sources.yml:3:85",
        "`time` of source `orders` is declared `integer`: it is a date or a timestamp",
    );
    assert_one(
        &found,
        "defs/sources.yml:4:86",
        "`time` of source `events` is declared `timestamp`, but the warehouse has column occurred_at as a date (defs/warehouse_schema.yml:7)",
    );
    assert_one(
        &found,
        "defs/sources.yml:5:57",
        "`time` of source `visits` is column visited, which the warehouse has as a string (defs/warehouse_schema.yml:8)",
    );
    assert_one(
        &found,
        "defs/sources.yml:6:97",
        "`valid_from` of source `plans` is declared `boolean`",
    );
    assert_one(
        &found,
        "defs/sources.yml:6:97",
        "`valid_to` of source `plans` is declared `boolean`",
    );
    assert_one(
        &found,
        "defs/sources.yml:7:57",
        "`time` of source `clicks` is column clicked, which the warehouse has as `time without time zone` (defs/warehouse_schema.yml:9): segc cannot read it as a date or a timestamp",
    );
    assert_one(
        &found,
        "defs/sources.yml:8:80",
        "`time` of source `spans` is declared `date`, but the warehouse has column spanned as a string (defs/warehouse_schema.yml:10)",
    );
    assert_eq!(found.len(), 8, "{found:#?}");
}

#[test]
fn in_segment_cycles_are_located_at_the_reference() {
    let found = problems(
        "segments:\n  - name: a\n    all: [ { in_segment: b } ]\n  - name: b\n    all: [ { in_segment: a } ]\n  - name: c\n    all: [ { in_segment: c } ]\n",
    );
    assert_one(
        &found,
        "defs/b_defs.yml:3:26",
        "`in_segment` cycle: `a` refers to `b`",
    );
    assert_one(
        &found,
        "defs/b_defs.yml:5:26",
        "`in_segment` cycle: `b` refers to `a`",
    );
    assert_one(
        &found,
        "defs/b_defs.yml:7:26",
        "segment `c` refers to itself",
    );
}

/// A child's members are drawn from its parent's, so a parent naming its own drill-down with
/// `in_segment` (directly or through another segment) is a cycle; `parent` loops are too.
#[test]
fn a_parent_naming_its_drill_down_is_a_cycle() {
    let found = problems(
        "segments:
  - name: p
    none: [ { in_segment: grandchild } ]
  - { name: child, parent: p }
  - { name: grandchild, parent: child, all: [ { country: { eq: FR } } ] }
  - { name: q, all: [ { in_segment: r } ] }
  - { name: r, parent: q }
",
    );
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_one(
        &found,
        "defs/b_defs.yml:3:27",
        "`in_segment` cycle: `p` refers to `grandchild`, its own drill-down, whose members are drawn from those of `p`",
    );
    assert_one(
        &found,
        "defs/b_defs.yml:6:37",
        "`in_segment` cycle: `q` refers to `r`, its own drill-down",
    );
    let found = problems(
        "segments:\n  - { name: a, parent: c }\n  - { name: b, parent: a }\n  - { name: c, parent: b }\n",
    );
    assert_one(
        &found,
        "defs/b_defs.yml:2:24",
        "segment `a` is its own ancestor through `parent`",
    );
}

/// Each `parent` writes the parent's membership into the child's for `in_segment` and
/// `segc explain`: a chain of 300 parents passes the depth limit where it does (each level
/// is an `in_segment` of the parent, and an `all` with the child's own condition).
#[test]
fn a_parent_chain_counts_towards_the_condition_depth() {
    let mut defs = String::from(
        "attributes:\n  n: { source: events, agg: count }\nsegments:\n  - { name: s0, all: [ { n: { gt: 0 } } ] }\n",
    );
    for level in 1..300 {
        let previous = level - 1;
        defs.push_str(&format!(
            "  - {{ name: s{level}, parent: s{previous}, all: [ {{ n: {{ gt: {level} }} }} ] }}\n"
        ));
    }
    let found = problems(&defs);
    assert_eq!(found.len(), 1, "{found:#?}");
    // s0 is 1 level deep, each child 2 more: s100 (line 104) is 201 levels deep.
    assert_one(
        &found,
        "defs/b_defs.yml:104:13",
        "segment `s100` is more than 200 levels deep once the conditions of its parents",
    );
}

#[test]
fn a_missing_parent_is_located() {
    let found = problems("segments:\n  - name: child\n    parent: payingg\n  - name: paying\n");
    assert_one(
        &found,
        "defs/b_defs.yml:3:13",
        "parent segment `payingg` does not exist",
    );
}

#[test]
fn a_window_on_a_source_without_time_is_located() {
    let found = problems("attributes:\n  recent_tags: { source: tags, agg: count, window: 30d }\n");
    assert_one(
        &found,
        "defs/b_defs.yml:2:52",
        "has a window, but source `tags` has no `time` column",
    );
}

#[test]
fn a_formula_must_be_one_expression() {
    let found = problems(
        "attributes:\n  n: { source: events, agg: count }\n  bad: { formula: \"n > 1; DROP TABLE x\" }\n",
    );
    assert_one(
        &found,
        "defs/b_defs.yml:3:25",
        "a formula is a single expression",
    );
}

#[test]
fn a_formula_naming_an_unknown_attribute_points_inside_the_formula() {
    let found = problems(
        "attributes:\n  count_30d: { source: events, agg: count, window: 30d }\n  trend: { formula: \"count_30d / nullif(cnt_60d, 0)\" }\n",
    );
    assert_one(
        &found,
        "defs/b_defs.yml:3:41",
        "unknown attribute `cnt_60d`",
    );
}

#[test]
fn formulas_that_refer_to_each_other_are_a_cycle() {
    let found = problems("attributes:\n  a: { formula: \"b + 1\" }\n  b: { formula: \"a * 2\" }\n");
    assert!(
        found.iter().any(|p| p.contains("cycle: a → b → a")),
        "{found:#?}"
    );
}

/// A cycle reached from a formula outside it is reported too, once, at its first member.
#[test]
fn a_cycle_reached_through_another_formula_is_reported() {
    let found = problems(
        "attributes:\n  a: { formula: \"b + 1\" }\n  b: { formula: \"c + 1\" }\n  c: { formula: \"b * 2\" }\n",
    );
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_one(&found, "defs/b_defs.yml:3:17", "cycle: b → c → b");
}

/// A long sum is refused at the operator past the limit, before anything walks its tree;
/// so is a formula that grows too large once the formulas it names are written into it.
#[test]
fn formulas_too_deep_or_too_large_are_located() {
    let terms = vec!["n"; 250].join(" + ");
    let found = problems(&format!(
        "attributes:\n  n: {{ source: events, agg: count }}\n  total: {{ formula: \"{terms}\" }}\n"
    ));
    // The formula starts at column 22; `n + ` is four characters, so the 200th `+` is
    // 4 × 199 + 2 characters further.
    assert_one(&found, "defs/b_defs.yml:3:820", "more than 200 levels deep");
    let mut defs = String::from("attributes:\n  f0: { source: events, agg: count }\n");
    for level in 1..20 {
        let previous = level - 1;
        defs.push_str(&format!(
            "  f{level}: {{ formula: \"f{previous} + f{previous}\" }}\n"
        ));
    }
    let found = problems(&defs);
    // f13 names f12 twice: 2^14 - 1 parts.
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_one(
        &found,
        "defs/b_defs.yml:15:19",
        "formula of `f13` has more than 10000 parts",
    );
}

/// Segments naming the previous one twice would double the SQL at each step; a long chain
/// of `in_segment` would be compiled recursively. Both stop at the first segment too large.
#[test]
fn segments_too_large_once_written_out_are_located() {
    let mut defs = String::from(
        "attributes:\n  n: { source: events, agg: count }\nsegments:\n  - { name: s0, all: [ { n: { gt: 0 } } ] }\n",
    );
    for level in 1..30 {
        let previous = level - 1;
        defs.push_str(&format!(
            "  - {{ name: s{level}, any: [ {{ in_segment: s{previous} }}, {{ in_segment: s{previous} }} ] }}\n"
        ));
    }
    let found = problems(&defs);
    assert_eq!(found.len(), 1, "{found:#?}");
    // Each level doubles the parts and adds three: s14 (line 18) passes 50,000.
    assert_one(
        &found,
        "defs/b_defs.yml:18:13",
        "segment `s14` has more than 50000 parts",
    );

    let mut defs = String::from(
        "attributes:\n  n: { source: events, agg: count }\nsegments:\n  - { name: s0, all: [ { n: { gt: 0 } } ] }\n",
    );
    for level in 1..1000 {
        let previous = level - 1;
        defs.push_str(&format!(
            "  - {{ name: s{level}, parent: s{previous}, all: [ {{ in_segment: s{previous} }} ] }}\n"
        ));
    }
    let found = problems(&defs);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_one(
        &found,
        "defs/b_defs.yml:204:13",
        "segment `s200` is more than 200 levels deep",
    );
}

#[test]
fn unknown_keys_and_yaml_syntax_errors_are_located() {
    let found = problems("segments:\n  - name: s\n    lable: Paying\n");
    assert_one(&found, "defs/b_defs.yml:3:5", "unknown key `lable`");
    let found = problems("segments:\n  - name: [unclosed\n");
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("defs/b_defs.yml:") && p.contains("invalid YAML")),
        "{found:#?}"
    );
}

#[test]
fn five_mistakes_are_all_reported_at_once() {
    let defs = "attributes:
  signup_date: { source: users, column: signup_at, type: date }
  recent_tags: { source: tags, agg: count, window: 7d }
  ratio: { formula: \"signup_date / nope\" }
segments:
  - name: early
    all: [ { signup_date: { lt: 2020 } } ]
  - name: kid
    parent: nobody
  - name: loop
    all: [ { in_segment: loop } ]
";
    let found = problems(defs);
    assert_eq!(found.len(), 5, "{found:#?}");
    assert_one(&found, "defs/b_defs.yml:3:52", "has a window");
    assert_one(&found, "defs/b_defs.yml:4:36", "unknown attribute `nope`");
    assert_one(
        &found,
        "defs/b_defs.yml:7:33",
        "cannot be compared with a number",
    );
    assert_one(&found, "defs/b_defs.yml:9:13", "parent segment `nobody`");
    assert_one(&found, "defs/b_defs.yml:11:26", "refers to itself");
}

#[test]
fn no_input_makes_validation_panic() {
    // Shapes a user might write by mistake: every one must give diagnostics, never a panic.
    let shapes = [
        "",
        "[]",
        "segments: 3",
        "segments:\n  - 3\n",
        "kpis:\n  - { name: x }\n",
        "kpis:\n  - { name: x, ratio: [a] }\n",
        "attributes:\n  x: {}\n",
        "attributes:\n  x: { formula: \"\" }\n",
        "attributes:\n  x: { formula: \"((\" }\n",
        "attributes:\n  x: { source: events, agg: sum }\n",
        "segments:\n  - { name: s, all: [ { country: { between: 1 } } ] }\n",
        "segments:\n  - { name: s, all: [ { country: 5 } ] }\n",
        "segments:\n  - { name: \"bad name\" }\n",
        "sources:\n  users: { table: a.b }\n",
        "attributes:\n  x: { source: events, agg: count, window: { offset: 3d } }\n",
        "kpis:\n  - { name: x, agg: percentile, of: country, p: 7 }\n",
        "segments:\n  - { name: all_users }\n",
    ];
    for shape in shapes {
        let _ = problems(shape);
    }
}

#[test]
fn exclusive_sets_need_a_priority_each_and_distinct_numbers() {
    let found = problems(
        "segments:\n  - { name: a, exclusive: status, priority: 1, all: [ { country: { eq: DE } } ] }\n  - { name: b, exclusive: status, priority: 1, all: [ { country: { eq: FR } } ] }\n  - { name: c, exclusive: status, all: [ { country: { eq: US } } ] }\n  - { name: d, priority: 2, all: [ { country: { eq: IT } } ] }\n  - { name: e, exclusive: status, priority: first }\n",
    );
    assert_one(
        &found,
        "defs/b_defs.yml:3:45",
        "segments `a` and `b` of the exclusive set `status` share priority 1",
    );
    assert_one(
        &found,
        "defs/b_defs.yml:4:27",
        "segment `c` is in the exclusive set `status` but has no `priority`",
    );
    assert_one(
        &found,
        "defs/b_defs.yml:5:26",
        "`priority` orders the segments of an exclusive set",
    );
    assert_one(
        &found,
        "defs/b_defs.yml:6:45",
        "`priority` must be a whole number",
    );
}

#[test]
fn a_quintile_names_an_attribute_and_nothing_else() {
    let found = problems(
        "attributes:\n  n: { source: events, agg: count }\n  a: { quintile: nn }\n  b: { quintile: n, best: most }\n  c: { quintile: n, source: events }\n  d: { quintile: e }\n  e: { quintile: n }\n  name: { source: users, column: country, type: string }\n  f: { quintile: name }\n  busy: { formula: \"n > 3\" }\n  g: { quintile: busy }\n",
    );
    assert_one(
        &found,
        "defs/b_defs.yml:9:18",
        "the quintile `f` scores `name`, which is a string",
    );
    assert_one(
        &found,
        "defs/b_defs.yml:11:18",
        "the quintile `g` scores `busy`, which is a boolean",
    );
    assert_one(
        &found,
        "defs/b_defs.yml:3:18",
        "unknown attribute `nn` in `quintile`",
    );
    assert_one(
        &found,
        "defs/b_defs.yml:4:27",
        "`best` is `highest` or `lowest`",
    );
    assert_one(
        &found,
        "defs/b_defs.yml:5:29",
        "is a `quintile`, so it cannot also have `source`",
    );
    assert_one(
        &found,
        "defs/b_defs.yml:6:18",
        "which is or uses a quintile (`e`)",
    );
}

#[test]
fn ordered_facts_and_windows_after_signup_are_checked() {
    let found = problems(
        "attributes:\n  a: { source: events, agg: nth, column: time }\n  b: { source: events, agg: nth, n: 0, column: time }\n  c: { source: events, agg: first, n: 2, column: time }\n  d: { source: events, agg: count, n: 2 }\n  e: { source: tags, agg: last, column: tag }\n  f: { source: events, agg: count, window: { after_signup: 3m } }\n  g: { source: events, agg: count, window: { after_signup: 30d, last: 7d } }\n  h: { source: events, agg: first }\n  i: { source: tags, agg: count, window: { after_signup: 30d } }\n",
    );
    assert_one(&found, "defs/b_defs.yml:2:29", "`agg: nth` needs `n`");
    assert_one(
        &found,
        "defs/b_defs.yml:3:37",
        "`n` must be a whole number from 1 to 10000, found `0`",
    );
    assert_one(&found, "defs/b_defs.yml:4:39", "`first` takes no `n`");
    assert_one(&found, "defs/b_defs.yml:5:39", "`n` goes with `agg: nth`");
    assert_one(
        &found,
        "defs/b_defs.yml:6:27",
        "orders each user's facts by time, and source `tags` has no `time` column",
    );
    assert_one(
        &found,
        "defs/b_defs.yml:7:60",
        "`after_signup` counts whole days, so `3m` is not allowed",
    );
    assert_one(
        &found,
        "defs/b_defs.yml:8:71",
        "`after_signup` counts from each user's sign-up, so it takes no `last` or `offset`",
    );
    assert_one(
        &found,
        "defs/b_defs.yml:9:29",
        "`first` needs a `column` of source `events`",
    );
    assert_one(
        &found,
        "defs/b_defs.yml:10:42",
        "has a window, but source `tags` has no `time` column",
    );
    assert_eq!(found.len(), 9, "{found:#?}");
}

#[test]
fn formula_operands_of_the_wrong_type_are_located() {
    let found = problems(
        "attributes:
  n: { source: events, agg: count, window: 30d }
  seen: { source: events, agg: max, column: time }
  first_seen: { source: events, agg: min, column: time }
  busy: { formula: \"n > 10\" }
  a: { formula: \"busy * 10\" }
  b: { formula: \"n AND busy\" }
  c: { formula: \"seen - 30\" }
  d: { formula: \"days_between(n, seen)\" }
  e: { formula: \"CASE WHEN n THEN 1 END\" }
  f: { formula: \"-(n > 1)\" }
  g: { formula: \"greatest(as_of(), seen)\" }
  h: { formula: \"CASE WHEN busy THEN seen ELSE as_of() END\" }
  fine: { formula: \"CASE WHEN busy THEN 1 ELSE 0 END * 10 + days_between(first_seen, seen)\" }
  fine_too: { formula: \"CASE WHEN seen >= as_of() THEN greatest(seen, first_seen) END\" }
",
    );
    assert_one(
        &found,
        "defs/b_defs.yml:6:18",
        "formula of `a`: `busy` is a boolean, and `*` needs numbers",
    );
    assert_one(
        &found,
        "defs/b_defs.yml:7:18",
        "formula of `b`: `n` is an integer, and `AND` needs a condition",
    );
    assert_one(
        &found,
        "defs/b_defs.yml:8:18",
        "formula of `c`: `seen` is a timestamp, and `-` needs numbers",
    );
    assert_one(
        &found,
        "defs/b_defs.yml:9:31",
        "formula of `d`: `n` is an integer, and `days_between` needs dates",
    );
    assert_one(
        &found,
        "defs/b_defs.yml:10:28",
        "formula of `e`: `n` is an integer, and `CASE WHEN` needs a condition",
    );
    assert_one(
        &found,
        "defs/b_defs.yml:11:17",
        "formula of `f`: a condition is a boolean, and `-` needs numbers",
    );
    // A date and a timestamp side by side: the warehouses compare them differently.
    assert_one(
        &found,
        "defs/b_defs.yml:12:36",
        "formula of `g`: `seen` is a timestamp and `as_of()` a date, and `greatest` does not mix them",
    );
    assert_one(
        &found,
        "defs/b_defs.yml:13:38",
        "formula of `h`: `seen` is a timestamp and `as_of()` a date, and a `CASE` does not mix them",
    );
    assert_eq!(found.len(), 8, "{found:#?}");
}

/// Names that some warehouse would read as one column: case only (DuckDB, BigQuery and SQL
/// Server compare column names without case) or the first 50 characters (PostgreSQL and
/// Redshift keep 63 bytes of a name, and segc adds up to 13 around it).
#[test]
fn names_that_would_be_the_same_column_somewhere_are_located() {
    let long = "a".repeat(50);
    let found = problems(&format!(
        "attributes:\n  n: {{ source: events, agg: count, window: 7d }}\n  N: {{ source: events, agg: count, window: 1d }}\n\
         segments:\n  - {{ name: {long}x }}\n  - {{ name: {long}y }}\n\
         kpis:\n  - {{ name: people, agg: count }}\n  - {{ name: People, agg: count }}\n"
    ));
    assert_one(
        &found,
        "defs/b_defs.yml:3:3",
        "attribute `N` would be the same column as `n`",
    );
    assert_one(
        &found,
        "defs/b_defs.yml:6:13",
        &format!("segment `{long}y` would be the same column as `{long}x`"),
    );
    assert_one(
        &found,
        "defs/b_defs.yml:9:13",
        "KPI `People` would be the same column as `people`",
    );
    assert_eq!(found.len(), 3, "{found:#?}");
}

#[test]
fn a_snapshot_with_a_type_twice_or_an_unknown_time_entry_is_located() {
    let found = snapshot_problems(
        SOURCES,
        "warehouse_schema:
  target: t
  dialect: duckdb
  sources:
    users: { signup_at: timestamp, country: string, country: integer }
  keys: { users: integer, users: string }
  times:
    events: { time: timestamp, time: date }
    tags: { tme: date }
    orders: date
",
    );
    assert_one(
        &found,
        "defs/warehouse_schema.yml:5:53",
        "`country` is written twice in `sources.users`",
    );
    assert_one(
        &found,
        "defs/warehouse_schema.yml:6:27",
        "`users` is written twice in `keys`",
    );
    assert_one(
        &found,
        "defs/warehouse_schema.yml:8:32",
        "`time` is written twice in `times.events`",
    );
    assert_one(
        &found,
        "defs/warehouse_schema.yml:9:13",
        "unknown `tme` in `times.tags`: the entries are time, valid_from, valid_to",
    );
    assert_one(
        &found,
        "defs/warehouse_schema.yml:10:13",
        "`times.orders` must be a mapping",
    );
    assert_eq!(found.len(), 5, "{found:#?}");
}
