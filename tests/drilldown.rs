//! Children are drill-downs (rule 11): how they are selected, planned, compiled and
//! explained, without a warehouse. The members they hold are computed by hand in
//! tests/run_duckdb.rs, and compared across engines by tests/conformance.rs.

mod common;

use segc::dialect::Dialect;
use segc::error::Error;
use segc::ir::{Project, SegmentId};
use segc::plan::{Plan, ReportOptions};

fn select(names: &[&str]) -> ReportOptions {
    ReportOptions {
        select: names.iter().map(|name| name.to_string()).collect(),
        ..Default::default()
    }
}

/// The reported rows: each segment's name and depth.
fn rows(project: &Project, names: &[&str]) -> Vec<(String, usize)> {
    common::plan(project, &select(names))
        .rows
        .iter()
        .map(|row| {
            let name = row
                .segment
                .map_or("all_users", |id| project.segment(id).name.as_str());
            (name.to_string(), row.depth)
        })
        .collect()
}

fn names(project: &Project, ids: &[SegmentId]) -> Vec<String> {
    ids.iter()
        .map(|id| project.segment(*id).name.clone())
        .collect()
}

fn id(project: &Project, name: &str) -> SegmentId {
    project.segment_by_name(name).unwrap()
}

#[test]
fn select_with_a_plus_takes_the_drill_downs_along() {
    let project = common::core_project();
    let owned = |rows: &[(&str, usize)]| -> Vec<(String, usize)> {
        rows.iter().map(|(n, d)| (n.to_string(), *d)).collect()
    };
    let active = owned(&[
        ("all_users", 0),
        ("active", 0),
        ("active_admins", 1),
        ("active_members", 1),
        ("active_member_veterans", 2),
    ]);
    assert_eq!(rows(&project, &["active+"]), active);
    // Named twice, or with a descendant named too: each row once, and each child under its
    // parent (children in the order they were selected).
    assert_eq!(
        rows(&project, &["active_members", "active+", "active"]),
        owned(&[
            ("all_users", 0),
            ("active", 0),
            ("active_members", 1),
            ("active_member_veterans", 2),
            ("active_admins", 1),
        ])
    );
    // A middle segment takes only its own drill-downs.
    assert_eq!(
        rows(&project, &["active_members+"]),
        owned(&[
            ("all_users", 0),
            ("active_members", 0),
            ("active_member_veterans", 1)
        ])
    );
    // A hidden segment named is reported; its visible children come along.
    assert_eq!(
        rows(&project, &["paying+"]),
        owned(&[("all_users", 0), ("paying", 0), ("paying_members", 1)])
    );
    // Without `+`, only the segment; a segment without children is itself.
    assert_eq!(
        rows(&project, &["active", "multi+"]),
        owned(&[("all_users", 0), ("active", 0), ("multi", 0)])
    );
}

#[test]
fn an_unknown_name_with_a_plus_gets_a_did_you_mean() {
    let project = common::core_project();
    let message =
        |names: &[&str]| match Plan::new(&project, &select(names), common::date("2030-01-01")) {
            Err(Error::Request(request)) => request.to_string(),
            Err(other) => panic!("not a request error: {other}"),
            Ok(_) => panic!("{names:?} was accepted"),
        };
    assert_eq!(
        message(&["actve+"]),
        "--select names unknown segments: `actve+` (did you mean `active+`?)"
    );
    assert_eq!(
        message(&["actve"]),
        "--select names unknown segments: `actve` (did you mean `active`?)"
    );
    assert_eq!(
        message(&["active+", "zzzzzz+"]),
        "--select names unknown segments: `zzzzzz+`"
    );
}

/// A child's flag is its parent's flag and its own condition: however many drill-downs a
/// parent has, its condition is written once, and each level is a stage of its own.
#[test]
fn a_childs_flag_reads_its_parents_flag() {
    let dir = tempfile::tempdir().unwrap();
    let project = common::core_project_with(
        dir.path(),
        "segments.yml",
        "segments:\n\
         \x20 - { name: base, all: [ { country: { eq: only in the parent } } ] }\n\
         \x20 - { name: admins, parent: base, all: [ { role: { eq: admin } } ] }\n\
         \x20 - { name: members, parent: base, all: [ { role: { eq: member } } ] }\n\
         \x20 - { name: paying_admins, parent: admins, all: [ { monthly_spend: { gt: 0 } } ] }\n\
         \x20 - { name: everyone_under, parent: paying_admins }\n\
         kpis:\n\
         \x20 - { name: people, agg: count }\n",
    );
    let plan = common::plan(&project, &ReportOptions::default());
    let stages: Vec<Vec<String>> = plan
        .member_stages
        .iter()
        .map(|stage| names(&project, stage))
        .collect();
    assert_eq!(
        stages,
        [
            vec!["base"],
            vec!["admins", "members"],
            vec!["paying_admins"],
            vec!["everyone_under"]
        ]
    );
    for name in segc::dialect::names() {
        let dialect = Dialect::load(name).unwrap();
        let sql = common::compile(&project, &dialect);
        segc::sqlcheck::parse_one(&sql, &dialect.sqlparser)
            .unwrap_or_else(|e| panic!("{name}: {e}\n{sql}"));
        assert_eq!(
            sql.matches("only in the parent").count(),
            1,
            "{name}: the parent's condition is written once\n{sql}"
        );
        let q = |name: &str| dialect.quote_identifier(name);
        let reads = |parent: &str| format!("{}.{} = 1", q("a"), q(&format!("segc_in_{parent}")));
        for (stage, child, parent) in [
            (1, "admins", "base"),
            (1, "members", "base"),
            (2, "paying_admins", "admins"),
            (3, "everyone_under", "paying_admins"),
        ] {
            let stage_name = q(&format!("segc_members_{stage}"));
            let start = sql
                .find(&format!("{stage_name} AS ("))
                .unwrap_or_else(|| panic!("{name}: no stage {stage_name}\n{sql}"));
            let flag = format!("AS {}", q(&format!("segc_in_{child}")));
            let line = sql[start..]
                .lines()
                .find(|line| {
                    line.contains(&format!("{flag},")) || line.contains(&format!("{flag} --"))
                })
                .unwrap_or_else(|| panic!("{name}: {child} is not in stage {stage}\n{sql}"));
            assert!(
                line.contains(&reads(parent)),
                "{name}: {child} reads {parent}'s flag: {line}"
            );
        }
    }
}

/// A child reported without its ancestors (or under a hidden one) still computes their
/// flags; a child whose own `all` names its parent with `in_segment` needs no parent flag.
#[test]
fn a_child_reported_alone_computes_the_flags_it_builds_on() {
    let project = common::core_project();
    let stages = |names_selected: &[&str]| -> Vec<Vec<String>> {
        common::plan(&project, &select(names_selected))
            .member_stages
            .iter()
            .map(|stage| names(&project, stage))
            .collect()
    };
    assert_eq!(
        stages(&["active_member_veterans"]),
        [
            vec!["active"],
            vec!["active_members"],
            vec!["active_member_veterans"]
        ]
    );
    assert_eq!(
        stages(&["paying_members"]),
        [vec!["paying"], vec!["paying_members"]]
    );
    // `active_admins` says `in_segment: active` itself: its condition is its membership.
    let admins = id(&project, "active_admins");
    assert_eq!(project.inherited_parent(admins), None);
    assert_eq!(
        project.membership(admins),
        project.segment(admins).condition
    );
    assert_eq!(stages(&["active_admins"]), [vec!["active_admins"]]);
    // Otherwise the membership starts with the parent's.
    let members = id(&project, "active_members");
    assert_eq!(
        project.inherited_parent(members),
        Some(id(&project, "active"))
    );
    assert_eq!(
        project.ancestors(id(&project, "active_member_veterans")),
        [id(&project, "active"), members]
    );
}

#[test]
fn explain_counts_the_inherited_conditions_first() {
    let project = common::core_project();
    let labels = |name: &str| -> Vec<String> {
        let explained = id(&project, name);
        segc::render::explain_steps(&project, explained)
            .iter()
            .map(|(owner, step)| {
                segc::cli::explain::describe_step(step, *owner, explained, &project)
            })
            .collect()
    };
    assert_eq!(
        labels("active_member_veterans"),
        [
            "inherited from active: monthly_activity: { gt: 0 }",
            "inherited from active_members: role: { eq: \"member\" }",
            "signup_date: { before: 2024-01-01 }",
        ]
    );
    assert_eq!(
        labels("paying_members"),
        [
            "inherited from paying: monthly_spend: { gt: 0 }",
            "role: { eq: \"member\" }",
        ]
    );
    assert_eq!(
        labels("other_members_viewers"),
        [
            "role: { in: [\"member\", \"viewer\"] }",
            "not in an earlier `drill` segment (paying_members)",
        ]
    );
}

/// Compare and month-by-month runs carry the drill-down stages per period, and parse in
/// every dialect (tests/series.rs compares their values on DuckDB).
#[test]
fn series_runs_with_drill_downs_parse_in_every_dialect() {
    let project = common::core_project();
    let options = select(&["active+", "paying_members"]);
    for (dialect, shape, sql) in
        common::series_statements(&project, &options, "2024-02-01", "2024-03-01")
    {
        let name = &dialect.name;
        segc::sqlcheck::parse_one(&sql, &dialect.sqlparser)
            .unwrap_or_else(|e| panic!("{name} {shape:?}: {e}\n{sql}"));
        assert!(
            sql.contains(&format!(
                "FROM {} AS",
                dialect.quote_identifier("segc_members_2")
            )),
            "{name} {shape:?}: the grandchild's stage is read\n{sql}"
        );
    }
}
