//! Compare and month-by-month runs: one statement per run in every dialect, and on DuckDB the
//! same numbers as running the plain report once per period.
#![cfg(feature = "duckdb")]

mod common;
mod engines;

use segc::dialect::Dialect;
use segc::driver::duckdb::DuckDb;
use segc::driver::{Cell, Driver};
use segc::ir::Project;
use segc::plan::{Compare, Plan, ReportOptions};
use segc::render::{SeriesShape, render, render_series};
use segc::report::Report;

/// The example project on a small demo data set (two years of activity up to 2026-10-31).
fn example_database(dir: &std::path::Path) -> (Project, DuckDb) {
    let (_, path) = common::demo_database(dir, 400);
    // The days the month and compare runs below read, for the flow and timed KPIs.
    common::record_demo_history(
        &path,
        &[("2025-09-30", "2025-10-31"), ("2026-03-31", "2026-10-31")],
    );
    let project = segc::validate::load_and_validate(&common::repository_root()).unwrap();
    (project, DuckDb::open_read_only(&path).unwrap())
}

/// The demo warehouse (400 users) with a project of its sources, `project` as its
/// `segc_project.yml`, and `definitions` as its one definitions file.
fn demo_project(
    dir: &std::path::Path,
    project: &str,
    definitions: &str,
) -> (Project, std::path::PathBuf) {
    let (_, path) = common::demo_database(dir, 400);
    (
        demo_sources_project(&dir.join("project"), project, definitions),
        path,
    )
}

/// A project at `root` over the demo warehouse's sources, with `project` as its
/// `segc_project.yml` and `definitions` as its one definitions file.
fn demo_sources_project(root: &std::path::Path, project: &str, definitions: &str) -> Project {
    common::copy_project(
        &common::repository_root(),
        root,
        Some(&["sources.yml", "warehouse_schema.yml"]),
    );
    std::fs::write(root.join("segc_project.yml"), project).unwrap();
    std::fs::write(root.join("segment-defs/definitions.yml"), definitions).unwrap();
    segc::validate::load_and_validate(root).expect("a valid project")
}

fn month_plans<'p>(project: &'p Project, from: &str, to: &str) -> Vec<(String, Plan<'p>)> {
    // The default as-of day as in common::plan; months are as of their last day either way.
    segc::plan::month_plans(
        project,
        common::date(from),
        common::date(to),
        &ReportOptions::default(),
        common::date("2030-01-01"),
    )
    .unwrap()
}

/// Equal cells; doubles may differ in the last bits, because a parallel sum adds in no
/// fixed order.
fn same_cell(a: &Cell, b: &Cell) -> bool {
    match (a, b) {
        (Cell::Double(x), Cell::Double(y)) => common::nearly_equal(*x, *y, 1e-12),
        _ => a == b,
    }
}

/// Two reports with the same rows and columns and the same values (see [`same_cell`]).
fn assert_same_report(got: &Report, want: &Report, what: &str) {
    assert_eq!(got.columns, want.columns, "{what}: columns");
    assert_eq!(got.as_of, want.as_of, "{what}: as of");
    assert_eq!(got.rows.len(), want.rows.len(), "{what}: rows");
    for (row, expected) in got.rows.iter().zip(&want.rows) {
        assert_eq!(
            (&row.segment, &row.parent),
            (&expected.segment, &expected.parent),
            "{what}"
        );
        for ((value, wanted), column) in row.values.iter().zip(&expected.values).zip(&got.columns) {
            assert!(
                same_cell(value, wanted),
                "{what}: {} {}: {value:?} vs {wanted:?}",
                row.segment,
                column.name
            );
        }
    }
}

fn plain(database: &mut DuckDb, plan: &Plan<'_>) -> Report {
    let sql = render(plan, &Dialect::load("duckdb").unwrap(), None).unwrap();
    Report::from_result(plan, "duck", &database.query(&sql).unwrap()).unwrap()
}

/// The DuckDB statement of a month series.
fn months_sql(periods: &[(String, Plan<'_>)]) -> String {
    render_series(
        periods,
        &Dialect::load("duckdb").unwrap(),
        None,
        SeriesShape::Periods,
    )
    .unwrap()
}

fn assert_months_match_plain_reports(
    project: &Project,
    database: &mut DuckDb,
    from: &str,
    to: &str,
) {
    let periods = month_plans(project, from, to);
    let sql = months_sql(&periods);
    let result = database.query(&sql).unwrap();
    assert_eq!(result.columns[0], "segc_period");
    let reports = Report::series(&periods, "duck", &result).unwrap();
    assert_eq!(reports.len(), periods.len());
    let mut nonzero = 0;
    for ((label, report), (_, plan)) in reports.iter().zip(&periods) {
        let expected = plain(database, plan);
        assert_same_report(report, &expected, &format!("month {label}"));
        assert_eq!(
            report.as_of,
            plan.time.period.1.to_string(),
            "as of the month's last day"
        );
        if report.rows[0].values[0] != Cell::Integer(0) {
            nonzero += 1;
        }
    }
    assert!(nonzero > 1, "the months hold users");
}

#[test]
fn each_month_of_a_dynamics_run_equals_the_plain_report_for_that_month() {
    let project = common::core_project();
    let mut database = common::core_database();
    assert_months_match_plain_reports(&project, &mut database, "2023-11-01", "2024-04-01");

    let dir = tempfile::tempdir().unwrap();
    let (project, mut database) = example_database(dir.path());
    assert_months_match_plain_reports(&project, &mut database, "2026-04-01", "2026-10-01");
}

/// A report with more rows than a signature word holds groups its users again per word and
/// period (with the core fixture's distinct count, median and percentile): each month still
/// equals its plain report.
#[test]
fn months_of_a_wide_report_equal_the_plain_reports() {
    let dir = tempfile::tempdir().unwrap();
    let project = common::wide_core_project(dir.path());
    let sql = months_sql(&month_plans(&project, "2023-11-01", "2024-04-01"));
    assert!(sql.contains("\"segc_group_words\""), "grouped per word");
    let mut database = common::core_database();
    assert_months_match_plain_reports(&project, &mut database, "2023-11-01", "2024-04-01");
}

/// The Paris project of the sliced-series tests: every kind of window, the partials of each
/// aggregate (counts, sums, an average, a minimum and a maximum, distinct local days, a
/// `where`), totals over all history, and a distinct count of a column.
const PARIS_DEFINITIONS: &str = "attributes:\n\
         \x20 week: { source: events, agg: count, window: 7d }\n\
         \x20 mtd: { source: events, agg: count, window: month_to_date }\n\
         \x20 previous: { source: events, agg: count, window: previous_month }\n\
         \x20 trailing: { source: events, agg: count, window: 1m }\n\
         \x20 offset_days: { source: events, agg: count_distinct_days, window: { last: 14d, offset: 7d } }\n\
         \x20 in_period: { source: events, agg: count, window: period }\n\
         \x20 first_seen: { source: events, agg: min, column: time }\n\
         \x20 last_seen: { source: events, agg: max, column: time }\n\
         \x20 avg_duration: { source: events, agg: avg, column: duration_s, window: 30d }\n\
         \x20 longest_login: { source: events, agg: max, column: duration_s, where: { name: { eq: login } } }\n\
         \x20 days_ever: { source: events, agg: count_distinct_days }\n\
         \x20 seconds_ever: { source: events, agg: sum, column: duration_s }\n\
         \x20 spend_30d: { source: orders, agg: sum, column: amount, window: 30d }\n\
         \x20 avg_order: { source: orders, agg: avg, column: amount }\n\
         \x20 orders_ever: { source: orders, agg: count }\n\
         \x20 accounts: { source: user_accounts, agg: count_distinct, column: account_id }\n\
         segments:\n\
         \x20 - { name: weekly, all: [ { week: { gte: 3 } } ] }\n\
         \x20 - { name: steady, all: [ { offset_days: { gte: 2 } }, { days_ever: { gte: 20 } } ] }\n\
         \x20 - { name: buyers, all: [ { spend_30d: { gt: 0 } } ] }\n\
         kpis:\n\
         \x20 - { name: people, agg: count }\n\
         \x20 - { name: week, agg: sum, of: week }\n\
         \x20 - { name: mtd, agg: sum, of: mtd }\n\
         \x20 - { name: previous, agg: sum, of: previous }\n\
         \x20 - { name: trailing, agg: sum, of: trailing }\n\
         \x20 - { name: offset_days, agg: sum, of: offset_days }\n\
         \x20 - { name: in_period, agg: sum, of: in_period }\n\
         \x20 - { name: first_seen, agg: min, of: first_seen }\n\
         \x20 - { name: last_seen, agg: max, of: last_seen }\n\
         \x20 - { name: avg_duration, agg: avg, of: avg_duration }\n\
         \x20 - { name: longest_login, agg: max, of: longest_login }\n\
         \x20 - { name: days_ever, agg: sum, of: days_ever }\n\
         \x20 - { name: seconds_ever, agg: sum, of: seconds_ever }\n\
         \x20 - { name: spend_30d, agg: sum, of: spend_30d }\n\
         \x20 - { name: avg_order, agg: avg, of: avg_order }\n\
         \x20 - { name: orders_ever, agg: sum, of: orders_ever }\n\
         \x20 - { name: accounts, agg: sum, of: accounts }\n";

/// The statement of the Paris project's months `from`..=`to`, checked to slice events (whose
/// windows of a month overlap two months, and whose distinct days over all history count per
/// slice) and to group orders straight from the facts once per user and month (each slice
/// read by about one month), with a distinct count of accounts keeping the plain plan; the
/// project and warehouse.
fn paris_series(dir: &std::path::Path, from: &str, to: &str) -> (Project, DuckDb, String) {
    let (project, path) = demo_project(
        dir,
        "name: paris\ndefinitions: segment-defs\ntime_zone: Europe/Paris\n",
        PARIS_DEFINITIONS,
    );
    let sql = months_sql(&month_plans(&project, from, to));
    assert!(
        sql.contains("\"segc_slices_events\""),
        "events sliced in\n{sql}"
    );
    assert!(
        !sql.contains("\"segc_slices_orders\"") && sql.contains(DIRECT_ORDERS),
        "orders grouped once per user and month in\n{sql}"
    );
    assert!(!sql.contains("segc_slices_user_accounts"), "{sql}");
    (project, DuckDb::open_read_only(&path).unwrap(), sql)
}

/// The orders grouped per user and period straight from the facts, each joined to the
/// links of its slice.
const DIRECT_ORDERS: &str = "  FROM (\n    SELECT \"f\".*, CASE WHEN \"f\".\"ordered_at\"";

/// Totals over all history added up over each user's periods with facts by a window
/// function, and the attributes stage finding each month's row on the range of months its
/// totals hold for.
const RUNNING_WINDOW: &str = "OVER (PARTITION BY \"f\".\"segc_user\" ORDER BY";
const RANGE_JOIN: &str = "\"segc_from\" <= \"t\".";

/// A month series aggregates a fact source once per user and slice of time, then combines
/// each month's windows from the slices, and each month's totals over all history from the
/// slices that end in each month, added up over the user's months with facts so far; a
/// month without facts of the user takes the totals of the user's last month with facts,
/// and no window's value. Every kind of window, the partials of each aggregate and a time
/// zone whose offset changes inside the months (Paris: the last Sundays of October and
/// March) give the same numbers as the plain report of each month; a distinct count of a
/// column keeps the plain plan for its source, which still matches.
#[test]
fn sliced_months_equal_the_plain_reports_across_daylight_saving_changes() {
    let dir = tempfile::tempdir().unwrap();
    let (project, mut database, sql) = paris_series(dir.path(), "2025-09-01", "2026-04-01");
    assert!(sql.contains(RUNNING_WINDOW), "a running window in\n{sql}");
    assert!(
        sql.contains(RANGE_JOIN),
        "a join on the months' range in\n{sql}"
    );
    // Each slice is linked to the month it ends in, not to every later month.
    assert!(!sql.contains("that end by its end"), "{sql}");
    assert_months_match_plain_reports(&project, &mut database, "2025-09-01", "2026-04-01");
}

/// A series of three years, across six daylight-saving changes, whose early months come
/// before most users' first facts: its months equal the plain reports too.
#[test]
fn a_long_sliced_series_adds_the_months_up_and_equals_the_plain_reports() {
    let last = common::date("2026-04-01");
    let first = last
        .checked_sub_months(chrono::Months::new(36))
        .unwrap()
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let (project, mut database, sql) = paris_series(dir.path(), &first, "2026-04-01");
    assert!(sql.contains(RUNNING_WINDOW), "a running window in\n{sql}");
    assert!(
        sql.contains(RANGE_JOIN),
        "a join on the months' range in\n{sql}"
    );
    assert_months_match_plain_reports(&project, &mut database, &first, "2026-04-01");
}

/// Paris time of `occurred_at` (UTC), written out for the data's years: CEST, UTC+2, from
/// the last Sunday of March to the last Sunday of October at 01:00 UTC, else CET, UTC+1.
const PARIS_LOCAL_TIME: &str = "occurred_at + INTERVAL (CASE WHEN \
     (occurred_at >= TIMESTAMP '2024-03-31 01:00:00' AND occurred_at < TIMESTAMP '2024-10-27 01:00:00') \
     OR (occurred_at >= TIMESTAMP '2025-03-30 01:00:00' AND occurred_at < TIMESTAMP '2025-10-26 01:00:00') \
     OR (occurred_at >= TIMESTAMP '2026-03-29 01:00:00' AND occurred_at < TIMESTAMP '2026-10-25 01:00:00') \
     THEN 2 ELSE 1 END) HOUR";

/// A distinct count of days in a window is, on DuckDB and PostgreSQL, the number of bits set
/// in the OR of one bit per fact at its day's offset from the window's first day (from its
/// slice's in a series); a window of more than six words of 63 days, or a dialect without
/// `day_bits`, groups each user's facts per day first on DuckDB and counts distinct days on
/// PostgreSQL. Each user's values (windows of 7 days to over a year, one with an offset, a
/// `where`, and a count, a sum and a maximum in the same pass) equal distinct counts of local
/// days written by hand over the facts, in UTC and in Paris (the clocks change inside the
/// March windows), in the plain report, in every month of a series and in both periods of a
/// comparison with the prior year.
#[test]
fn distinct_days_equal_distinct_counts_written_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let (_, path) = common::demo_database(dir.path(), 400);
    let mut database = DuckDb::open_read_only(&path).unwrap();
    for (n, (zone, long, bits)) in DAYS_CASES.into_iter().enumerate() {
        let project = days_project(&dir.path().join(format!("project_{n}")), zone, long);
        distinct_days_by_hand(&project, "duckdb", (zone, long, bits), &mut database, None);
    }
    for (n, (zone, long)) in SIGNUP_CASES.into_iter().enumerate() {
        let project = signup_days_project(&dir.path().join(format!("signup_{n}")), zone, long);
        days_after_signup_by_hand(&project, "duckdb", (zone, long), &mut database, None);
    }
}

/// The same on PostgreSQL (behind `SEGC_TEST_POSTGRES=1`), whose days are bits too but whose
/// local days come from its own time zone data, and whose shift of a bit wraps around
/// instead of failing: the statements under test run there, on a copy of the demo data, and
/// the distinct counts by hand on DuckDB.
#[test]
fn distinct_days_on_postgres_equal_distinct_counts_written_by_hand() {
    if engines::var("SEGC_TEST_POSTGRES").as_deref() != Some("1") {
        eprintln!("skipped PostgreSQL: set SEGC_TEST_POSTGRES=1");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_, path) = common::demo_database(dir.path(), 400);
    let (all, profiles) = engines::engines(&path, "segc_series_days");
    std::fs::write(dir.path().join("profiles.yml"), profiles).unwrap();
    let postgres: Vec<_> = all.into_iter().filter(|e| e.target == "pg").collect();
    engines::load(&postgres, dir.path(), &path, "segc_series_days");
    let mut server = engines::connect(dir.path(), "pg");
    let mut database = DuckDb::open_read_only(&path).unwrap();
    for (n, (zone, long, bits)) in DAYS_CASES.into_iter().enumerate() {
        let project = days_project(&dir.path().join(format!("project_{n}")), zone, long);
        distinct_days_by_hand(
            &project,
            "postgres",
            (zone, long, bits),
            &mut database,
            Some(server.as_mut()),
        );
    }
    for (n, (zone, long)) in SIGNUP_CASES.into_iter().enumerate() {
        let project = signup_days_project(&dir.path().join(format!("signup_{n}")), zone, long);
        days_after_signup_by_hand(
            &project,
            "postgres",
            (zone, long),
            &mut database,
            Some(server.as_mut()),
        );
    }
}

/// (time zone, the long window's days, the dialect counts days as bits)
const DAYS_CASES: [(&str, u32, bool); 6] = [
    ("UTC", 365, true),
    ("Europe/Paris", 365, true),
    ("Europe/Paris", 400, true),
    ("Europe/Paris", 90, false),
    ("Europe/Paris", 28, true),
    ("Europe/Paris", 28, false),
];

fn days_project(root: &std::path::Path, zone: &str, long: u32) -> Project {
    let long = format!("{long}d");
    days_definitions(
        root,
        zone,
        &[
            ("days_7d", "count_distinct_days, window: 7d"),
            ("days_30d", "count_distinct_days, window: 30d"),
            (
                "login_days",
                "count_distinct_days, where: { name: { eq: login } }, window: 30d",
            ),
            (
                "offset_days",
                "count_distinct_days, window: { last: 14d, offset: 7d }",
            ),
            ("long_days", &format!("count_distinct_days, window: {long}")),
            ("events_30d", "count, window: 30d"),
            ("seconds_30d", "sum, column: duration_s, window: 30d"),
            ("last_seen", "max, column: time"),
        ],
    )
}

/// A project over the demo's sources at `root`, as of 2026-03-31 in `zone`, with
/// `attributes` over events (name, then the aggregate and its options), a segment of the
/// users with something in the first, and a KPI adding up each (the greatest of a time).
fn days_definitions(root: &std::path::Path, zone: &str, attributes: &[(&str, &str)]) -> Project {
    let mut definitions = String::from("attributes:\n");
    for (name, aggregate) in attributes {
        definitions.push_str(&format!(
            "  {name}: {{ source: events, agg: {aggregate} }}\n"
        ));
    }
    let first = attributes[0].0;
    definitions.push_str(&format!(
        "segments:\n  - {{ name: active, all: [ {{ {first}: {{ gte: 1 }} }} ] }}\nkpis:\n  - {{ name: people, agg: count }}\n"
    ));
    for (name, aggregate) in attributes {
        let combine = if aggregate.contains("column: time") {
            "max"
        } else {
            "sum"
        };
        definitions.push_str(&format!(
            "  - {{ name: {name}, agg: {combine}, of: {name} }}\n"
        ));
    }
    demo_sources_project(
        root,
        &format!("name: days\ndefinitions: segment-defs\ntime_zone: {zone}\nas_of: 2026-03-31\n"),
        &definitions,
    )
}

/// A fact's local time, written by hand: the UTC time itself, or in Paris one hour later in
/// winter and two in summer.
fn local_time_by_hand(zone: &str) -> &'static str {
    match zone {
        "UTC" => "occurred_at",
        "Europe/Paris" => PARIS_LOCAL_TIME,
        other => panic!("no local time by hand for {other}"),
    }
}

/// Checks each user's days in the statements `dialect` writes for `project`: run on
/// `server`, or on `database` when there is none; the counts by hand run on `database`.
fn distinct_days_by_hand(
    project: &Project,
    dialect_name: &str,
    (zone, long, bits): (&str, u32, bool),
    database: &mut DuckDb,
    mut server: Option<&mut dyn Driver>,
) {
    let what = format!("{dialect_name}, {zone}, {long} days, bits {bits}");
    let mut dialect = Dialect::load(dialect_name).unwrap();
    assert!(dialect.capabilities.day_bits, "{what}");
    // Without bits, DuckDB groups each user's facts per day first, PostgreSQL counts
    // distinct days.
    let days_first = dialect.capabilities.days_first;
    assert_eq!(days_first, dialect_name == "duckdb", "{what}");
    dialect.capabilities.day_bits = bits;
    let columns = [
        "days_7d",
        "days_30d",
        "login_days",
        "offset_days",
        "long_days",
        "events_30d",
        "seconds_30d",
        "last_seen",
    ];
    // By hand, over local days: before the end day, from so many days before it.
    let local = local_time_by_hand(zone);
    let by_hand = |end: &str| {
        let day = format!("CAST({local} AS DATE)");
        let since =
            |days: u32| format!("{day} >= CAST(DATE '{end}' - INTERVAL {days} DAY AS DATE)");
        format!(
            "SELECT user_id, \
             COUNT(DISTINCT CASE WHEN {w7} THEN {day} END), \
             COUNT(DISTINCT CASE WHEN {w30} THEN {day} END), \
             COUNT(DISTINCT CASE WHEN {w30} AND event_name = 'login' THEN {day} END), \
             COUNT(DISTINCT CASE WHEN {w21} AND NOT {w7} THEN {day} END), \
             COUNT(DISTINCT CASE WHEN {wl} THEN {day} END), \
             COUNT(CASE WHEN {w30} THEN 1 END), \
             SUM(CASE WHEN {w30} THEN CAST(duration_s AS DOUBLE) END), \
             MAX(occurred_at) \
             FROM app.events WHERE {day} < DATE '{end}' GROUP BY user_id",
            w7 = since(7),
            w30 = since(30),
            w21 = since(21),
            wl = since(long),
        )
    };
    let mut check = |attributes: &str, end: &str, what: &str| {
        let server = server.as_deref_mut();
        assert_each_user(database, server, &by_hand(end), attributes, &columns, what);
    };
    let attributes = |sql: &str, period: Option<usize>| attributes_stage(sql, &columns, period);
    let plan = common::plan(project, &ReportOptions::default());
    let sql = render(&plan, &dialect, None).unwrap();
    // Six words of 63 days hold a window of up to 376 days.
    assert_forms(
        &sql,
        bits,
        long <= 376,
        days_first,
        &format!("{what}: report"),
    );
    check(
        &attributes(&sql, None),
        "2026-04-01",
        &format!("{what}: report"),
    );
    let periods = month_plans(project, "2026-01-01", "2026-03-01");
    let sql = render_series(&periods, &dialect, None, SeriesShape::Periods).unwrap();
    // Windows up to a month are read by about one month per slice: with bits, the facts
    // are grouped once per user and month, each day a bit from its window's first day.
    let direct = long <= 31 && bits;
    assert_eq!(
        !sql.contains("\"segc_slices_events\""),
        direct,
        "{what}: grouped once per user and month: {sql}"
    );
    let first_days = (1..=9).any(|n| sql.contains(&format!("\"segc_d{n}\"")));
    assert_eq!(first_days, direct, "{what}: windows' first days: {sql}");
    assert_forms(&sql, bits, true, days_first, &format!("{what}: months"));
    for (period, end) in ["2026-02-01", "2026-03-01", "2026-04-01"]
        .iter()
        .enumerate()
    {
        check(
            &attributes(&sql, Some(period)),
            end,
            &format!("{what}: month {period}"),
        );
    }
    // Beside the same days a year earlier: the slices between the two periods are read by
    // no window, so their facts set no bit.
    let prior = common::plan(
        project,
        &plan.prior_options(Compare::PriorYear, &ReportOptions::default()),
    );
    let periods = vec![("now".to_string(), plan), ("before".to_string(), prior)];
    let sql = render_series(&periods, &dialect, None, SeriesShape::Compare).unwrap();
    assert_eq!(sql.contains("BIT_OR("), bits, "{what}: {sql}");
    for (period, end) in [(0, "2026-04-01"), (1, "2025-04-01")] {
        check(
            &attributes(&sql, Some(period)),
            end,
            &format!("{what}: compare, period {period}"),
        );
    }
}

/// (time zone, the long window's days after sign-up): six words hold 376 days.
const SIGNUP_CASES: [(&str, u32); 3] = [("UTC", 370), ("Europe/Paris", 370), ("Europe/Paris", 400)];

fn signup_days_project(root: &std::path::Path, zone: &str, long: u32) -> Project {
    days_definitions(
        root,
        zone,
        &[
            (
                "week_days",
                "count_distinct_days, window: { after_signup: 7d }",
            ),
            (
                "long_days",
                &format!("count_distinct_days, window: {{ after_signup: {long}d }}"),
            ),
            (
                "week_logins",
                "count_distinct_days, where: { name: { eq: login } }, window: { after_signup: 7d }",
            ),
            ("week_events", "count, window: { after_signup: 7d }"),
        ],
    )
}

/// Distinct days in windows after each user's sign-up: bits from the local day of the
/// sign-up (which falls at any time of day, so a window of 7 days spans 8 local days), in
/// the plain report and in each month of a series (where such a window joins each fact to
/// each period), against distinct counts of local days written by hand.
fn days_after_signup_by_hand(
    project: &Project,
    dialect_name: &str,
    (zone, long): (&str, u32),
    database: &mut DuckDb,
    mut server: Option<&mut dyn Driver>,
) {
    let what = format!("{dialect_name}, {zone}, {long} days after sign-up");
    let dialect = Dialect::load(dialect_name).unwrap();
    let days_first = dialect.capabilities.days_first;
    let columns = ["week_days", "long_days", "week_logins", "week_events"];
    let local = local_time_by_hand(zone);
    let by_hand = |end: &str| {
        let day = format!("CAST({local} AS DATE)");
        let after = |days: u32| {
            format!(
                "e.occurred_at >= u.created_at AND e.occurred_at < u.created_at + INTERVAL {days} DAY"
            )
        };
        format!(
            "SELECT e.user_id, \
             COUNT(DISTINCT CASE WHEN {w7} THEN {day} END), \
             COUNT(DISTINCT CASE WHEN {wl} THEN {day} END), \
             COUNT(DISTINCT CASE WHEN {w7} AND event_name = 'login' THEN {day} END), \
             COUNT(CASE WHEN {w7} THEN 1 END) \
             FROM app.events AS e JOIN app.users AS u ON u.user_id = e.user_id \
             WHERE {day} < DATE '{end}' GROUP BY e.user_id",
            w7 = after(7),
            wl = after(long),
        )
    };
    let mut check = |sql: &str, period: Option<usize>, end: &str, what: &str| {
        let attributes = attributes_stage(sql, &columns, period);
        let server = server.as_deref_mut();
        assert_each_user(database, server, &by_hand(end), &attributes, &columns, what);
    };
    let plan = common::plan(project, &ReportOptions::default());
    let sql = render(&plan, &dialect, None).unwrap();
    let report = format!("{what}: report");
    assert_forms(&sql, true, long <= 376, days_first, &report);
    check(&sql, None, "2026-04-01", &report);
    let periods = month_plans(project, "2026-02-01", "2026-03-01");
    let sql = render_series(&periods, &dialect, None, SeriesShape::Periods).unwrap();
    assert!(!sql.contains("segc_slices_events"), "{what}: {sql}");
    let months = format!("{what}: months");
    assert_forms(&sql, true, long <= 376, days_first, &months);
    for (period, end) in ["2026-03-01", "2026-04-01"].iter().enumerate() {
        check(&sql, Some(period), end, &format!("{months} {period}"));
    }
}

/// Each user's values from `attributes` (run on `server`, or on `database` when there is
/// none) equal those `by_hand` gives on `database`: a row per user, the user first, then
/// `columns` in order (a NULL by hand is 0, but in `last_seen`). At least ten users have
/// something in the first column.
fn assert_each_user<'d>(
    database: &mut DuckDb,
    server: Option<&mut (dyn Driver + 'd)>,
    by_hand: &str,
    attributes: &str,
    columns: &[&str],
    what: &str,
) {
    let expected: std::collections::HashMap<String, Vec<Cell>> = database
        .query(by_hand)
        .unwrap()
        .rows
        .into_iter()
        .map(|mut row| {
            let values = row.split_off(1);
            (format!("{:?}", row[0]), values)
        })
        .collect();
    let got = match server {
        Some(server) => server.query(attributes),
        None => database.query(attributes),
    }
    .unwrap_or_else(|e| panic!("{what}: {e}"));
    let mut counted = 0;
    for row in &got.rows {
        let Some(want) = expected.get(&format!("{:?}", row[0])) else {
            // No facts before the end: 0 days and no last time.
            assert!(matches!(row[1], Cell::Integer(0)), "{what}: {row:?}");
            continue;
        };
        for ((value, wanted), name) in row[1..].iter().zip(want).zip(columns) {
            let wanted = match wanted {
                Cell::Null if *name != "last_seen" => &Cell::Integer(0),
                other => other,
            };
            let same = match (value, wanted) {
                (Cell::Double(_) | Cell::Integer(_), Cell::Integer(_) | Cell::Double(_)) => {
                    value.as_f64() == wanted.as_f64()
                }
                _ => value == wanted,
            };
            assert!(
                same,
                "{what}: user {:?} {name}: {value:?}, by hand {wanted:?}",
                row[0]
            );
        }
        counted += usize::from(!matches!(row[1], Cell::Integer(0)));
    }
    assert!(counted > 10, "{what}: users with days: {counted}");
}

/// The attributes stage of a statement, each user's `columns` (in `period` of a series).
fn attributes_stage(sql: &str, columns: &[&str], period: Option<usize>) -> String {
    let cut = sql.find("\"segc_members\" AS (").expect("a members stage");
    let head = sql[..cut].trim_end().trim_end_matches(',');
    let filter = period.map_or(String::new(), |period| {
        format!(" WHERE segc_period = {period}")
    });
    format!(
        "{head}\nSELECT segc_user, {} FROM \"segc_attributes\"{filter} ORDER BY segc_user",
        columns.join(", ")
    )
}

/// The forms a statement counts distinct days in: bits (where `bits`, the dialect's
/// capability, and on DuckDB only where every window `fits` in them), each user's days first
/// (on DuckDB, `days_first`), or distinct counts (elsewhere, for a window too long for bits).
fn assert_forms(sql: &str, bits: bool, fits: bool, days_first: bool, what: &str) {
    let all_bits = bits && fits;
    assert_eq!(
        sql.contains("BIT_OR("),
        if days_first { all_bits } else { bits },
        "{what}: {sql}"
    );
    assert_eq!(
        sql.contains("each user's days first"),
        !all_bits && days_first,
        "{what}: {sql}"
    );
    assert_eq!(
        sql.contains("COUNT(DISTINCT"),
        !all_bits && !days_first,
        "{what}: {sql}"
    );
}

#[test]
fn a_comparison_sets_each_kpi_beside_its_value_a_period_earlier() {
    let dir = tempfile::tempdir().unwrap();
    let (project, mut database) = example_database(dir.path());
    let options = ReportOptions {
        period: Some((common::date("2026-10-01"), common::date("2026-10-31"))),
        ..Default::default()
    };
    let current = common::plan(&project, &options);
    for (compare, prior_period) in [
        (Compare::PriorPeriod, ("2026-08-31", "2026-09-30")),
        (Compare::PriorYear, ("2025-10-01", "2025-10-31")),
    ] {
        let prior = common::plan(
            &project,
            &current.prior_options(compare, &ReportOptions::default()),
        );
        assert_eq!(
            prior.time.period,
            (common::date(prior_period.0), common::date(prior_period.1)),
            "{compare:?}"
        );
        let periods = vec![
            ("now".to_string(), current.clone()),
            ("before".to_string(), prior.clone()),
        ];
        let sql = render_series(
            &periods,
            &Dialect::load("duckdb").unwrap(),
            None,
            SeriesShape::Compare,
        )
        .unwrap();
        let result = database.query(&sql).unwrap();
        let report = Report::from_compare(&current, &prior, "duck", &result).unwrap();
        assert_eq!(report.compared_with.as_deref(), Some(prior_period.1));
        let now = plain(&mut database, &current);
        let before = plain(&mut database, &prior);
        let column = |name: &str| report.columns.iter().position(|c| c.name == name).unwrap();
        for (index, row) in report.rows.iter().enumerate() {
            for (k, kpi) in now.columns.iter().enumerate() {
                let (value, prior_value) =
                    (&now.rows[index].values[k], &before.rows[index].values[k]);
                assert!(
                    same_cell(&row.values[column(&kpi.name)], value),
                    "{} {}",
                    row.segment,
                    kpi.name
                );
                assert!(
                    same_cell(
                        &row.values[column(&format!("{}__prior", kpi.name))],
                        prior_value
                    ),
                    "{} {} prior",
                    row.segment,
                    kpi.name
                );
                let (Some(a), Some(b)) = (value.as_f64(), prior_value.as_f64()) else {
                    continue;
                };
                let change = row.values[column(&format!("{}__change", kpi.name))]
                    .as_f64()
                    .unwrap();
                // The change is the difference of the values as printed (12 significant
                // digits), itself as printed, so that last bits never print.
                let printed = |x: f64| segc::report::reported_double(x).unwrap();
                let computed_b = b;
                let (a, b) = (printed(a), printed(b));
                assert_eq!(
                    change,
                    printed(a - b),
                    "{} {} change: {change} for {a} - {b}",
                    row.segment,
                    kpi.name
                );
                let relative = &row.values[column(&format!("{}__change_pct", kpi.name))];
                if b == 0.0 {
                    assert_eq!(relative, &Cell::Null, "a change from 0 has no ratio");
                } else {
                    // The printed change over the prior as computed.
                    let relative = relative.as_f64().unwrap();
                    let want = printed(a - b) / computed_b;
                    assert!(
                        (want - relative).abs() <= 1e-12 * want.abs().max(1.0),
                        "{} {} change %: {relative} for {want}",
                        row.segment,
                        kpi.name
                    );
                }
            }
        }
    }
}

#[test]
fn series_runs_are_one_statement_that_parses_in_every_dialect() {
    for (project, from, to) in [
        (common::core_project(), "2024-01-01", "2024-03-01"),
        (
            segc::validate::load_and_validate(&common::repository_root()).unwrap(),
            "2026-08-01",
            "2026-10-01",
        ),
        // Past 36 months: the running window, each user from its first month with facts.
        (
            segc::validate::load_and_validate(&common::repository_root()).unwrap(),
            "2023-10-01",
            "2026-10-01",
        ),
    ] {
        for (dialect, shape, sql) in
            common::series_statements(&project, &ReportOptions::default(), from, to)
        {
            let name = dialect.name.as_str();
            let statement = segc::sqlcheck::parse_one(&sql, &dialect.sqlparser)
                .unwrap_or_else(|e| panic!("{name} {shape:?}: {e}\n{sql}"));
            assert!(
                matches!(statement, sqlparser::ast::Statement::Query(_)),
                "{name} {shape:?}: one SELECT"
            );
            // T-SQL and every other dialect: a single top-level WITH.
            assert_eq!(sql.matches("WITH\n").count(), 1, "{name} {shape:?}");
            // A month spine: every source table is read once, whatever the periods.
            for source in &project.sources {
                let table = dialect.quote_path(source.table.resolve(None, name));
                assert!(
                    sql.matches(&format!("FROM {table} AS")).count() <= 1,
                    "{name} {shape:?}: {table} read more than once"
                );
            }
        }
    }
}

/// The statement grows by one spine row per month, not by a copy of the report.
#[test]
fn a_longer_series_adds_only_spine_rows() {
    let project = segc::validate::load_and_validate(&common::repository_root()).unwrap();
    let dialect = Dialect::load("bigquery").unwrap();
    let length = |from: &str| {
        render_series(
            &month_plans(&project, from, "2026-10-01"),
            &dialect,
            None,
            SeriesShape::Periods,
        )
        .unwrap()
        .len()
    };
    let (two, sixty) = (length("2026-09-01"), length("2021-11-01"));
    let per_month = (sixty - two) / 58;
    assert!(
        per_month < 1_000,
        "{per_month} bytes per added month ({two} for 2 months, {sixty} for 60)"
    );
}

/// The `segment` and `parent` of each row of a result, found by name.
fn named_rows(result: &segc::driver::ResultSet) -> Vec<(Cell, Cell)> {
    let at = |name: &str| {
        result
            .columns
            .iter()
            .position(|column| column == name)
            .unwrap_or_else(|| panic!("no column {name} in {:?}", result.columns))
    };
    let (segment, parent) = (at("segment"), at("parent"));
    result
        .rows
        .iter()
        .map(|row| (row[segment].clone(), row[parent].clone()))
        .collect()
}

/// The segment and parent of each row `segc run` prints.
fn printed_rows(report: &Report) -> Vec<(Cell, Cell)> {
    report
        .rows
        .iter()
        .map(|row| {
            let parent = row.parent.clone().map_or(Cell::Null, Cell::Text);
            (Cell::Text(row.segment.clone()), parent)
        })
        .collect()
}

/// Each statement (a report, a comparison, month by month), run as it is, names its rows as
/// `segc run` prints them: `segment` and `parent` first (after the period of a month), in
/// the same order.
#[test]
fn pasted_statements_name_each_row_as_segc_run_prints_it() {
    let project = common::core_project();
    let mut database = common::core_database();
    let dialect = Dialect::load("duckdb").unwrap();
    let options = ReportOptions::default();

    let current = common::plan(&project, &options);
    let result = database
        .query(&render(&current, &dialect, None).unwrap())
        .unwrap();
    assert_eq!(result.columns[..2], ["segment", "parent"]);
    let report = Report::from_result(&current, "duck", &result).unwrap();
    let rows = named_rows(&result);
    assert_eq!(rows, printed_rows(&report));
    assert_eq!(rows[0], (Cell::Text("all_users".into()), Cell::Null));
    for (child, parent) in [("active_admins", "active"), ("paying_members", "paying")] {
        assert!(
            rows.contains(&(Cell::Text(child.into()), Cell::Text(parent.into()))),
            "{child} under {parent} (a hidden one too): {rows:?}"
        );
    }

    let prior = common::plan(
        &project,
        &current.prior_options(Compare::PriorYear, &options),
    );
    let compare = vec![
        ("now".to_string(), current.clone()),
        ("before".to_string(), prior.clone()),
    ];
    let result = database
        .query(&render_series(&compare, &dialect, None, SeriesShape::Compare).unwrap())
        .unwrap();
    assert_eq!(result.columns[..2], ["segment", "parent"]);
    let report = Report::from_compare(&current, &prior, "duck", &result).unwrap();
    assert_eq!(named_rows(&result), printed_rows(&report));

    let months = month_plans(&project, "2024-01-01", "2024-03-01");
    let result = database
        .query(&render_series(&months, &dialect, None, SeriesShape::Periods).unwrap())
        .unwrap();
    assert_eq!(result.columns[..3], ["segc_period", "segment", "parent"]);
    let reports = Report::series(&months, "duck", &result).unwrap();
    assert_eq!(reports.len(), 3);
    let printed: Vec<(Cell, Cell)> = reports
        .iter()
        .flat_map(|(_, report)| printed_rows(report))
        .collect();
    assert_eq!(named_rows(&result), printed);
}

/// An `any` of several conditions in a `where` is kept whole beside the window it is read
/// in (`window AND (a OR b)`): spelled `window AND a OR b`, every fact meeting `b` counted
/// whatever its time, and a distinct count of days shifted a bit by a negative offset and
/// failed. The totals equal counts written by hand in the plain report, and each month of
/// a series equals its plain report.
#[test]
fn an_any_in_a_where_counts_only_the_facts_of_the_window() {
    let any = "where: { any: [ { name: { eq: login } }, { duration_s: { lt: 60 } } ] }";
    let dir = tempfile::tempdir().unwrap();
    let (project, path) = demo_project(
        dir.path(),
        "name: any_where\ndefinitions: segment-defs\ntime_zone: UTC\nas_of: 2026-10-31\n",
        &format!(
            "attributes:\n\
             \x20 hits: {{ source: events, agg: count, window: 30d, {any} }}\n\
             \x20 hit_days: {{ source: events, agg: count_distinct_days, window: 30d, {any} }}\n\
             \x20 events_ever: {{ source: events, agg: count }}\n\
             kpis:\n\
             \x20 - {{ name: hits, agg: sum, of: hits }}\n\
             \x20 - {{ name: hit_days, agg: sum, of: hit_days }}\n\
             \x20 - {{ name: events_ever, agg: sum, of: events_ever }}\n"
        ),
    );
    let mut database = DuckDb::open_read_only(&path).unwrap();
    let plan = common::plan(&project, &ReportOptions::default());
    let report = plain(&mut database, &plan);
    let by_hand = database
        .query(
            "SELECT SUM(facts), SUM(days) FROM (\
               SELECT e.user_id, COUNT(*) AS facts, \
                 COUNT(DISTINCT CAST(e.occurred_at AS DATE)) AS days \
               FROM app.events AS e JOIN app.users AS u ON u.user_id = e.user_id \
               WHERE u.created_at < TIMESTAMP '2026-11-01' \
                 AND e.occurred_at >= TIMESTAMP '2026-10-02' AND e.occurred_at < TIMESTAMP '2026-11-01' \
                 AND (e.event_name = 'login' OR e.duration_s < 60) \
               GROUP BY e.user_id) AS d",
        )
        .unwrap();
    let everyone = &report.rows[0].values;
    // The facts of the window meeting either condition, and their users' days.
    let (Some(hits), Some(days)) = (by_hand.rows[0][0].as_f64(), by_hand.rows[0][1].as_f64())
    else {
        panic!("{:?}", by_hand.rows[0]);
    };
    assert!(hits > 0.0, "the window holds such facts");
    assert_eq!(everyone[0].as_f64(), Some(hits), "hits");
    assert_eq!(everyone[1].as_f64(), Some(days), "hit_days");
    assert_months_match_plain_reports(&project, &mut database, "2026-08-01", "2026-10-01");
}
