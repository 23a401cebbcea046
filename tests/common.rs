//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveDateTime};

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn repository_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn date(text: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a test date")
}

/// The report plan for `project` with `options`; the default as-of day (the last complete
/// day, for a real run) is fixed so projects without an `as_of` compile the same way every day.
pub fn plan<'p>(
    project: &'p segc::ir::Project,
    options: &segc::plan::ReportOptions,
) -> segc::plan::Plan<'p> {
    segc::plan::Plan::new(project, options, date("2030-01-01")).expect("a plan")
}

/// The report SQL for `project` in `dialect`, with default options.
pub fn compile(project: &segc::ir::Project, dialect: &segc::dialect::Dialect) -> String {
    let plan = plan(project, &segc::plan::ReportOptions::default());
    segc::render::render(&plan, dialect, None).expect("render")
}

/// The core fixture, validated.
pub fn core_project() -> segc::ir::Project {
    segc::validate::load_and_validate(&fixture("core")).expect("the core fixture is valid")
}

/// The core fixture's sources and attributes in `root`, with one more definitions file,
/// `name`, holding `text`; validated.
pub fn core_project_with(root: &Path, name: &str, text: &str) -> segc::ir::Project {
    copy_project(
        &fixture("core"),
        root,
        Some(&["sources.yml", "attributes.yml"]),
    );
    std::fs::write(root.join("segment-defs").join(name), text).unwrap();
    segc::validate::load_and_validate(root).unwrap()
}

/// Copies a project's `segc_project.yml` and its `segment-defs` files to `to`: every file,
/// or only `files`.
pub fn copy_project(from: &Path, to: &Path, files: Option<&[&str]>) {
    let definitions = to.join("segment-defs");
    std::fs::create_dir_all(&definitions).unwrap();
    std::fs::copy(from.join("segc_project.yml"), to.join("segc_project.yml")).unwrap();
    let names: Vec<std::ffi::OsString> = match files {
        Some(files) => files.iter().map(Into::into).collect(),
        None => std::fs::read_dir(from.join("segment-defs"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect(),
    };
    for name in names {
        std::fs::copy(
            from.join("segment-defs").join(&name),
            definitions.join(&name),
        )
        .unwrap();
    }
}

/// Records the membership history of `project` over each range of days (first and last day,
/// included) with `segc snapshot` on the target `target` of the profiles in `profiles_dir`
/// (for flow and timed KPIs).
pub fn record_history(project: &Path, profiles_dir: &Path, target: &str, ranges: &[(&str, &str)]) {
    for (from, to) in ranges {
        let output = std::process::Command::new(assert_cmd::cargo::cargo_bin("segc"))
            .args(["snapshot", "--from", from, "--to", to, "--target", target])
            .arg("--project")
            .arg(project)
            .arg("--profiles-dir")
            .arg(profiles_dir)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{target} {from}..{to}: {}",
            output_text(&output)
        );
    }
}

/// [`record_history`] of the example project into the DuckDB file `database`.
pub fn record_demo_history(database: &Path, ranges: &[(&str, &str)]) {
    let project = tempfile::tempdir().unwrap();
    copy_project(&repository_root(), project.path(), None);
    let profiles = tempfile::tempdir().unwrap();
    std::fs::write(
        profiles.path().join("profiles.yml"),
        format!(
            "history: {{ type: duckdb, path: {} }}\n",
            serde_json::to_string(&database.display().to_string()).unwrap()
        ),
    )
    .unwrap();
    record_history(project.path(), profiles.path(), "history", ranges);
}

/// A command's stdout and stderr together, for checks that must hold on both.
/// The ordered-facts fixture in `root`: the core fixture's project and sources with
/// `ordered/ordered.yml`. Its data is core/data.sql followed by ordered/data.sql.
pub fn ordered_project(root: &Path) {
    copy_project(&fixture("core"), root, Some(&["sources.yml"]));
    std::fs::copy(
        fixture("ordered/ordered.yml"),
        root.join("segment-defs/ordered.yml"),
    )
    .unwrap();
}

/// `segc run --output json` on `project` with `args`, which must succeed, parsed.
pub fn run_json<S: AsRef<std::ffi::OsStr>>(project: &Path, args: &[S]) -> serde_json::Value {
    command_json("run", project, args)
}

/// `segc <command> --output json` on `project` with `args`, which must succeed, parsed.
pub fn command_json<S: AsRef<std::ffi::OsStr>>(
    command: &str,
    project: &Path,
    args: &[S],
) -> serde_json::Value {
    let output = assert_cmd::Command::cargo_bin("segc")
        .unwrap()
        .args([command, "--output", "json", "--project"])
        .arg(project)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "segc {command} {:?} failed:\n{}",
        args.iter().map(AsRef::as_ref).collect::<Vec<_>>(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// `segc --project PROJECT ARGS…`, ended after a minute at most, whatever its outcome.
pub fn segc_in(project: &Path, args: &[&str]) -> std::process::Output {
    assert_cmd::Command::cargo_bin("segc")
        .unwrap()
        .arg("--project")
        .arg(project)
        .args(args)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap()
}

/// `segc ARGS… --project PROJECT --profiles-dir PROFILES --target TARGET`: its exit code,
/// and its output and errors together.
pub fn segc_on(
    project: &Path,
    profiles: &Path,
    target: &str,
    args: &[&str],
) -> (Option<i32>, String) {
    let output = segc_on_output(project, profiles, target, args);
    (output.status.code(), output_text(&output))
}

/// The same, its output and errors apart.
pub fn segc_on_output(
    project: &Path,
    profiles: &Path,
    target: &str,
    args: &[&str],
) -> std::process::Output {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("segc"))
        .args(args)
        .arg("--project")
        .arg(project)
        .arg("--profiles-dir")
        .arg(profiles)
        .args(["--target", target])
        .output()
        .unwrap()
}

pub fn output_text(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// An in-memory DuckDB holding the core fixture's data.
#[cfg(feature = "duckdb")]
pub fn core_database() -> segc::driver::duckdb::DuckDb {
    let database = segc::driver::duckdb::DuckDb::in_memory().unwrap();
    database
        .execute_batch(&std::fs::read_to_string(fixture("core/data.sql")).unwrap())
        .unwrap();
    database
}

/// A demo database of `users` users (the default seed and dates) written to `dir`, and the
/// rows it holds.
#[cfg(feature = "duckdb")]
pub fn demo_database(dir: &Path, users: usize) -> (segc::demo::DemoData, PathBuf) {
    let config = segc::demo::DemoConfig {
        users,
        ..Default::default()
    };
    let demo = segc::demo::generate(&config);
    let path = dir.join("demo.duckdb");
    segc::demo::write_duckdb(&demo, &path).unwrap();
    (demo, path)
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// PERCENTILE_CONT(0.5).
fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let position = 0.5 * (n - 1) as f64;
    let (low, high) = (position.floor() as usize, position.ceil() as usize);
    Some(sorted[low] + (sorted[high] - sorted[low]) * (position - low as f64))
}

fn days(from: NaiveDate, to: NaiveDate) -> f64 {
    (to - from).num_days() as f64
}

/// `period_months()` of the days `first..=last`: the calendar months it holds from `first`
/// on, counted by walking day by day (a month ends on the day before the same day of the
/// month, or on the last day of a shorter month), and the days left as a fraction of the
/// month that would follow.
fn calendar_months(first: NaiveDate, last: NaiveDate) -> f64 {
    use chrono::Datelike;
    // The day a month begun on `start` ends on (inclusive).
    let month_end = |start: NaiveDate| {
        let mut day = start;
        loop {
            let next = day.succ_opt().unwrap();
            let wraps = next.day() == first.day().min(days_in_month(next))
                && (next.month() != start.month() || next.year() != start.year());
            if wraps {
                return day;
            }
            day = next;
        }
    };
    let (mut whole, mut start) = (0.0, first);
    loop {
        let end = month_end(start);
        if end > last {
            let length = (end - start).num_days() + 1;
            let left = (last - start).num_days() + 1;
            return whole + left as f64 / length as f64;
        }
        whole += 1.0;
        if end == last {
            return whole;
        }
        start = end.succ_opt().unwrap();
    }
}

fn days_in_month(day: NaiveDate) -> u32 {
    use chrono::Datelike;
    (28..=31)
        .rev()
        .find(|d| day.with_day(*d).is_some())
        .unwrap()
}

/// Every KPI of segment-defs/kpis_catalog.yml for the `all_users` row, in file order, computed
/// in Rust from the demo rows for the period `first..=last` (as of `last`, UTC).
pub fn catalog_expectations(
    demo: &segc::demo::DemoData,
    first: NaiveDate,
    last: NaiveDate,
) -> Vec<(&'static str, Option<f64>)> {
    let at = |day: NaiveDate| day.and_hms_opt(0, 0, 0).unwrap();
    let end_day = last.succ_opt().unwrap();
    let end = at(end_day);
    let period_start = at(first);
    let window_30d = at(end_day - chrono::Duration::days(30));
    let month_start = at(end_day.checked_sub_months(chrono::Months::new(1)).unwrap());
    let as_of = last;
    let members: BTreeMap<i64, NaiveDateTime> = demo
        .users
        .iter()
        .filter(|u| u.created_at < end)
        .map(|u| (u.user_id, u.created_at))
        .collect();
    let people = members.len() as f64;
    // Each member's orders before the end, in time order.
    let mut orders: BTreeMap<i64, Vec<(NaiveDateTime, f64)>> = BTreeMap::new();
    for order in &demo.orders {
        if members.contains_key(&order.user_id) && order.ordered_at < end {
            orders
                .entry(order.user_id)
                .or_default()
                .push((order.ordered_at, order.amount));
        }
    }
    // Orders at the same instant are numbered by amount, as segc does.
    for list in orders.values_mut() {
        list.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.partial_cmp(&b.1).unwrap()));
    }
    let in_period = |t: &NaiveDateTime| *t >= period_start && *t < end;
    let period_orders: BTreeMap<i64, usize> = orders
        .iter()
        .map(|(user, list)| (*user, list.iter().filter(|(t, _)| in_period(t)).count()))
        .filter(|(_, n)| *n > 0)
        .collect();
    let revenue_period: f64 = orders
        .values()
        .flatten()
        .filter(|(t, _)| in_period(t))
        .map(|(_, a)| a)
        .sum();
    let orders_period: f64 = period_orders.values().sum::<usize>() as f64;
    let months = calendar_months(first, last);
    let orders_per_month: f64 = period_orders.values().map(|n| *n as f64 / months).sum();
    let new_registrations = members
        .values()
        .filter(|created| **created >= period_start)
        .count() as f64;
    let revenue_all: f64 = orders.values().flatten().map(|(_, a)| a).sum();
    let orders_all: f64 = orders.values().map(Vec::len).sum::<usize>() as f64;
    let buyers = orders.len() as f64;
    let repeat_customers = orders.values().filter(|l| l.len() >= 2).count() as f64;
    let repeat_orders: f64 = orders.values().map(|l| (l.len() - 1) as f64).sum();
    // `1m`: orders in [the end − 1 month, the end); returning buyers had ordered before it.
    let last_month = |list: &[(NaiveDateTime, f64)]| list.iter().any(|(t, _)| *t >= month_start);
    let buyers_last_month = orders.values().filter(|l| last_month(l)).count() as f64;
    let returning = orders
        .values()
        .filter(|l| last_month(l) && l.iter().any(|(t, _)| *t < month_start))
        .count() as f64;
    let first_day = |l: &[(NaiveDateTime, f64)]| l[0].0.date();
    let last_day = |l: &[(NaiveDateTime, f64)]| l[l.len() - 1].0.date();
    let to_first: Vec<f64> = orders
        .iter()
        .map(|(user, l)| days(members[user].date(), first_day(l)))
        .collect();
    let between: Vec<f64> = orders
        .values()
        .filter(|l| l.len() >= 2)
        .map(|l| days(first_day(l), last_day(l)) / (l.len() - 1) as f64)
        .collect();
    let since: Vec<f64> = orders.values().map(|l| days(last_day(l), as_of)).collect();
    let to_second: Vec<f64> = orders
        .values()
        .filter(|l| l.len() >= 2)
        .map(|l| days(first_day(l), l[1].0.date()))
        .collect();
    let first_values: Vec<f64> = orders.values().map(|l| l[0].1).collect();
    // Each buyer's revenue in [sign-up, sign-up + 90 days), before the end.
    let first_90d: Vec<f64> = orders
        .iter()
        .map(|(user, l)| {
            let (from, until) = (members[user], members[user] + chrono::Duration::days(90));
            l.iter()
                .filter(|(t, _)| *t >= from && *t < until)
                .map(|(_, a)| a)
                .sum()
        })
        .collect();
    let lifetime: Vec<f64> = orders
        .values()
        .map(|l| days(first_day(l), last_day(l)))
        .collect();
    // Every gap between consecutive orders weighs the same: the buyers' spans over their
    // repeat orders; the missed cycles are the mean days since the last order over it.
    let span: f64 = lifetime.iter().sum();
    let between_all = (repeat_orders != 0.0).then(|| span / repeat_orders);
    let missed = match (mean(&since), between_all) {
        (Some(since), Some(gap)) if gap != 0.0 => Some(since / gap),
        _ => None,
    };
    let mut seconds: BTreeMap<i64, f64> = BTreeMap::new();
    let mut active_days: BTreeMap<i64, BTreeSet<NaiveDate>> = BTreeMap::new();
    for event in &demo.events {
        if members.contains_key(&event.user_id)
            && event.occurred_at >= window_30d
            && event.occurred_at < end
        {
            *seconds.entry(event.user_id).or_default() += event.duration_s as f64;
            active_days
                .entry(event.user_id)
                .or_default()
                .insert(event.occurred_at.date());
        }
    }
    // The activity window (the project's `activity_window`, 30 days).
    let minutes: f64 = seconds.values().map(|s| s / 60.0).sum();
    let day_count = active_days.values().map(BTreeSet::len).sum::<usize>() as f64;

    vec![
        ("revenue_period", Some(revenue_period)),
        ("orders_period", Some(orders_period)),
        ("avg_order_value", Some(revenue_period / orders_period)),
        ("orders_per_month", Some(orders_per_month)),
        ("orders_per_buyer_month", Some(orders_per_month / buyers)),
        ("new_registrations", Some(new_registrations)),
        ("revenue_all_time", Some(revenue_all)),
        ("orders_all_time", Some(orders_all)),
        ("revenue_share", Some(1.0)),
        ("orders_share", Some(1.0)),
        ("buyers", Some(buyers)),
        ("orders_per_customer", Some(orders_all / people)),
        ("orders_per_buyer", Some(orders_all / buyers)),
        ("revenue_per_customer", Some(revenue_all / people)),
        ("revenue_per_buyer_90d", mean(&first_90d)),
        ("first_order_value", mean(&first_values)),
        ("first_order_conversion", Some(buyers / people)),
        ("repeat_customers", Some(repeat_customers)),
        ("repeat_order_conversion", Some(repeat_customers / people)),
        ("repeat_orders", Some(repeat_orders)),
        ("repeat_order_share", Some(repeat_orders / orders_all)),
        ("buyers_last_month", Some(buyers_last_month)),
        ("returning_last_month", Some(returning)),
        (
            "returning_customer_rate",
            Some(returning / buyers_last_month),
        ),
        ("days_to_first_order", mean(&to_first)),
        ("days_to_second_order", mean(&to_second)),
        ("order_span_days", Some(span)),
        ("days_between_orders", between_all),
        ("median_days_between_orders", median(&between)),
        ("days_since_last_order", mean(&since)),
        ("missed_purchase_cycles", missed),
        ("customer_lifetime_days", mean(&lifetime)),
        ("active_minutes", Some(minutes)),
        ("active_days", Some(day_count)),
        ("minutes_per_active_day", Some(minutes / day_count)),
        ("paid_accounts_then", Some(paid_accounts_then(demo, end))),
    ]
}

/// Accounts of existing users that were on a paid plan at `end`, by the plan history: the
/// period valid then started before `end` and had not ended before it.
fn paid_accounts_then(demo: &segc::demo::DemoData, end: NaiveDateTime) -> f64 {
    let paid: BTreeSet<i64> = demo
        .plan_history
        .iter()
        .filter(|p| p.valid_from < end && p.valid_to.is_none_or(|to| to >= end))
        .filter(|p| p.plan_name != "free")
        .map(|p| p.account_id)
        .collect();
    let accounts: BTreeSet<i64> = demo
        .users
        .iter()
        .filter(|u| u.created_at < end && paid.contains(&u.account_id))
        .map(|u| u.account_id)
        .collect();
    accounts.len() as f64
}

/// Two doubles equal within `relative` of the larger (or of 1, near zero).
pub fn nearly_equal(x: f64, y: f64, relative: f64) -> bool {
    (x - y).abs() <= relative * x.abs().max(y.abs()).max(1.0)
}

/// Two cells of a JSON report equal: integers exactly, doubles within 1e-9 relative. Reports
/// print doubles to 12 significant digits, which hides the last-bit differences of sums added
/// in another order; a value whose noise straddles a rounding boundary still prints one unit of
/// the 12th digit apart, and engines may compute a function in a different way (percentiles,
/// averages), so doubles are compared with a tolerance far above both and far below any
/// business meaning.
pub fn same_json_value(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => nearly_equal(x.as_f64().unwrap(), y.as_f64().unwrap(), 1e-9),
        },
        _ => a == b,
    }
}

/// Every expected catalog value equals what `got` reads from a report, within 1e-9 relative.
pub fn assert_catalog(
    expected: &[(&str, Option<f64>)],
    got: impl Fn(&str) -> Option<f64>,
    what: &str,
) {
    for (kpi, want) in expected {
        let have = got(kpi);
        match (want, have) {
            (Some(w), Some(h)) => assert!(
                nearly_equal(*w, h, 1e-9),
                "{what}: {kpi}: {h} from the warehouse, {w} by hand"
            ),
            (w, h) => assert_eq!(*w, h, "{what}: {kpi}"),
        }
    }
}

/// A compiled statement passes the driver's gate, and holds nothing its dialect's oldest
/// supported server lacks (`unavailable` in dialect.toml: GREATEST on SQL Server 2016, …).
pub fn assert_sendable(sql: &str, dialect: &segc::dialect::Dialect) {
    segc::driver::gate::admit(sql, dialect, segc::driver::gate::Shape::Read)
        .unwrap_or_else(|e| panic!("the gate refused it: {e}\n{sql}"));
    let found = segc::sqlcheck::unavailable_features(sql, dialect);
    assert!(
        found.is_empty(),
        "{} before {} cannot run {found:?}:\n{sql}",
        dialect.name,
        dialect.version.minimum
    );
}

/// The month-by-month statement of `project` from `from` to `to` and its compare statement
/// (prior year), in every dialect: (dialect, shape, SQL), each already checked by
/// `assert_sendable`.
pub fn series_statements(
    project: &segc::ir::Project,
    options: &segc::plan::ReportOptions,
    from: &str,
    to: &str,
) -> Vec<(segc::dialect::Dialect, segc::render::SeriesShape, String)> {
    use segc::render::{SeriesShape, render_series};
    // The default as-of day as in `plan`; months are as of their last day either way.
    let months =
        segc::plan::month_plans(project, date(from), date(to), options, date("2030-01-01"))
            .unwrap();
    let current = plan(project, options);
    let prior = plan(
        project,
        &current.prior_options(segc::plan::Compare::PriorYear, options),
    );
    let compare = vec![("now".to_string(), current), ("before".to_string(), prior)];
    let mut statements = Vec::new();
    for name in segc::dialect::names() {
        let dialect = segc::dialect::Dialect::load(name).unwrap();
        for (periods, shape) in [
            (&months, SeriesShape::Periods),
            (&compare, SeriesShape::Compare),
        ] {
            let sql = render_series(periods, &dialect, None, shape).unwrap();
            assert_sendable(&sql, &dialect);
            statements.push((dialect.clone(), shape, sql));
        }
    }
    statements
}

/// The exact-sums fixture in `root`: the core fixture's project and sources with
/// `sums/sums.yml`. Its data is core/data.sql followed by sums/data.sql.
pub fn sums_project(root: &Path) {
    copy_project(&fixture("core"), root, Some(&["sources.yml"]));
    std::fs::copy(fixture("sums/sums.yml"), root.join("segment-defs/sums.yml")).unwrap();
}

/// The exact-sums fixture's `all_users` row, by hand from sums/data.sql: ledger totals 1
/// (user 1), 0.1 + 0.2 + 0.3 (user 2), 1e16 and -1e16 (users 3 and 5), 2.5 (user 6) and 0
/// for the other four users who exist; the averages per user are 1/3, 0.2, 1e16, -1e16
/// and 2.5. Each value as printed (12 significant digits).
pub const SUMS_ALL_USERS: &[(&str, f64)] = &[
    ("people", 9.0),
    ("ledger_sum", 4.1),
    ("ledger_avg", 0.455555555556),
    ("ledger_mean_sum", 3.03333333333),
];

/// The exact-sums fixture's quintile scores of each user's lowest amount, by hand: seven
/// users have one, ranked -1e16 (users 1 and 5, rank 1), -0 and 0 (users 7 and 8, one value,
/// rank 3), 0.1 (rank 5), 2.5 (rank 6), 1e16 (rank 7); a score is 5 × (rank - 1) / 7 rounded
/// down, plus 1. Were -0 and 0 two values, user 8 would have rank 4 and score 3.
pub const SUMS_LOW_SCORES: &[(&str, i64)] = &[
    ("low_score_1", 2),
    ("low_score_2", 2),
    ("low_score_3", 1),
    ("low_score_4", 1),
    ("low_score_5", 1),
];

/// A definitions file of `count` more segments, so that a report of the core fixture's
/// KPIs has more rows than a signature word holds and groups its users again per word.
pub fn wide_segments(count: usize) -> String {
    let mut text = String::from("segments:\n");
    for index in 0..count {
        text.push_str(&format!(
            "  - {{ name: wide_{index:03}, all: [ {{ country: {{ ne: \"wide {index}\" }} }} ] }}\n"
        ));
    }
    text
}

/// A definitions file of `copies` copies of the core fixture's segments that stand alone (a
/// line each, with no parent, exclusive set, `in_segment` or hidden flag), the copy `k` of
/// segment `s` named `copy{k}_{s}`, and the names of the copies with their originals. Added
/// to the core fixture, they put rows of known members into every byte of the next words:
/// each copy's row must equal its original's.
pub fn copied_segments(copies: usize) -> (String, Vec<(String, String)>) {
    let core = std::fs::read_to_string(fixture("core/segment-defs/segments.yml")).unwrap();
    let standalone: Vec<(&str, &str)> = core
        .lines()
        .filter_map(|line| line.strip_prefix("  - { name: "))
        .filter(|rest| {
            ["parent:", "exclusive:", "in_segment", "visible:"]
                .iter()
                .all(|word| !rest.contains(word))
        })
        .filter_map(|rest| rest.split_once(", "))
        .collect();
    assert!(standalone.len() > 25, "{standalone:?}");
    let mut text = String::from("segments:\n");
    let mut names = Vec::new();
    for copy in 0..copies {
        for (name, rest) in &standalone {
            // The copy takes the conditions, not the label.
            let conditions = rest
                .strip_prefix("label: ")
                .map_or(rest.to_string(), |rest| {
                    rest.split_once(", ")
                        .expect("a label then conditions")
                        .1
                        .to_string()
                });
            text.push_str(&format!("  - {{ name: copy{copy}_{name}, {conditions}\n"));
            names.push((format!("copy{copy}_{name}"), name.to_string()));
        }
    }
    (text, names)
}

/// `plan`'s report run on `driver` twice, written in `dialect` with condition masks
/// (forced from one row) and without: asserts that only the first writes masks, that it
/// has more than 64 rows, and that both give the same table row by row. Returns the
/// masked table and its SQL.
pub fn masks_give_the_flags_table(
    plan: &segc::plan::Plan<'_>,
    dialect: &str,
    driver: &mut dyn segc::driver::Driver,
) -> (segc::report::Report, String) {
    let mut tables = Vec::new();
    let mut masked_sql = String::new();
    for from in [Some(1), None] {
        let mut dialect = segc::dialect::Dialect::load(dialect).unwrap();
        dialect.capabilities.masks_from_rows = from;
        let sql = segc::render::render(plan, &dialect, None).expect("render");
        assert_eq!(
            sql.contains("\"segc_mask_1\" AS MATERIALIZED ("),
            from.is_some(),
            "{sql}"
        );
        let result = driver.query(&sql).unwrap_or_else(|e| panic!("{e}\n{sql}"));
        tables.push(segc::report::Report::from_result(plan, "test", &result).unwrap());
        if from.is_some() {
            masked_sql = sql;
        }
    }
    let flagged = tables.pop().unwrap();
    let masked = tables.pop().unwrap();
    assert!(masked.rows.len() > 64, "{} rows", masked.rows.len());
    assert_eq!(masked.rows.len(), flagged.rows.len());
    for (a, b) in masked.rows.iter().zip(&flagged.rows) {
        assert_eq!(a.segment, b.segment);
        assert_eq!(a.values, b.values, "row {}", a.segment);
    }
    (masked, masked_sql)
}

/// The core fixture's project in `root` with [`wide_segments`]`(64)`, validated.
pub fn wide_core_project(root: &Path) -> segc::ir::Project {
    copy_project(&fixture("core"), root, None);
    std::fs::write(root.join("segment-defs/wide.yml"), wide_segments(64)).unwrap();
    segc::validate::load_and_validate(root).unwrap()
}

/// The trailing-spaces fixture in `root`: the core fixture's project and sources with
/// `padding/padding.yml`. Its data is core/data.sql followed by padding/data.sql.
pub fn padding_project(root: &Path) {
    copy_project(&fixture("core"), root, Some(&["sources.yml"]));
    std::fs::copy(
        fixture("padding/padding.yml"),
        root.join("segment-defs/padding.yml"),
    )
    .unwrap();
}

/// The trailing-spaces fixture's members per segment, by hand from padding/data.sql (as of
/// 2024-03-31, users 1, 2, 3, 5–10 exist). Each user's first tag: 1 `admin`, 2 `admin␠`,
/// 3 `admin␠␠`, 5 `b`, 6 `b␠`, 7 `ad`, 8 `x` (its `x␠` and `x` share an instant: the lower
/// comes first, `x␠` last), 9 `␠`, 10 `x`. Where SQL Server and Redshift would pad, the
/// count differs (in brackets).
pub const PADDING_MEMBERS: &[(&str, i64)] = &[
    ("all_users", 9),
    ("tag_eq", 1),              // only `admin` (3: admin, admin␠, admin␠␠)
    ("tag_ne", 8),              // every tag but `admin` (6)
    ("tag_in", 2),              // admin, b (5)
    ("tag_not_in", 7),          // (4)
    ("tag_starts", 0),          // none starts with `ad␠`; `ad` is shorter (1)
    ("tag_ends", 1),            // `b␠` only; `b` is shorter (2)
    ("tag_contains", 2),        // admin␠, admin␠␠
    ("tag_between", 5),         // admin, admin␠, admin␠␠, b, ad; not `b␠` > `b` (6)
    ("tag_lt", 6),              // below `b␠`: the admins, ad, ␠ and `b` itself (5)
    ("tag_gt", 6),              // above `admin`: admin␠, admin␠␠, b, b␠, x, x (4)
    ("tag_blank", 1),           // a single space is a value, not empty
    ("two_variants", 1),        // user 8 has `x` and `x␠` (0)
    ("last_is_x_space", 1),     // user 8's last tag at the tied instant (2)
    ("highest_is_x_space", 1),  // user 8's highest tag (2)
    ("lowest_is_x", 2),         // users 8 and 10
    ("formula_eq", 1),          // `first_tag = 'admin'` in a formula (3)
    ("formula_gt", 3),          // `first_tag > 'b'`: b␠, x, x (2)
    ("least_is_b", 4),          // least(first_tag, 'b') is `b` for b, b␠, x, x (3: b␠ kept)
    ("nullif_kept_b_space", 1), // nullif(first_tag, 'b') keeps `b␠` (0)
    ("nullif_dropped", 1),      // and drops only `b` (2)
];

/// The trailing-spaces fixture's KPIs of all_users: distinct first tags (5 when padded), the
/// lowest first tag and the highest last tag, trailing spaces kept.
pub const PADDING_ALL_USERS: (i64, &str, &str) = (8, " ", "x ");

/// The string-keys fixture's members and summed events per segment, by hand from
/// keys/data.sql (as of 2024-03-31): users `u1` (account `a1`, plan free, 1 event, first
/// `a`), `U1` (`A1`, pro, 2 events, one in the last 30 days, first `b`), `u1␠` (`a1␠`, team,
/// 4 events on 4 days, first `c`) and `u2` (`a1`, free, none). Where keys that differ only in
/// case or trailing spaces were joined as one, a user would meet several accounts and share
/// the others' events, and every row below would grow.
pub const KEY_MEMBERS: &[(&str, i64, i64)] = &[
    ("all_users", 4, 7),
    ("free", 2, 1),
    ("pro", 1, 2),
    ("team", 1, 4),
    ("no_plan", 0, 0),
    ("busy", 1, 4),
    ("quiet", 1, 0),
    ("first_b", 1, 2),
];

/// The string-keys fixture's whole population: events in the last 30 days, their distinct
/// days, and distinct first events (`a`, `b`, `c`).
pub const KEY_ALL_USERS: (i64, i64, i64) = (6, 6, 3);

/// Checks a report of the string-keys fixture (`--output json`, or rows keyed by column)
/// against [`KEY_MEMBERS`] and [`KEY_ALL_USERS`].
pub fn assert_key_members(name: &str, rows: &[serde_json::Map<String, serde_json::Value>]) {
    let row = |segment: &str| {
        rows.iter()
            .find(|r| r["segment"] == segment)
            .unwrap_or_else(|| panic!("{name}: no row {segment}"))
    };
    for (segment, people, events) in KEY_MEMBERS {
        let got = row(segment);
        assert_eq!(
            got["people"].as_f64(),
            Some(*people as f64),
            "{name}: {segment} people"
        );
        let want_events = (*people > 0).then_some(*events as f64);
        assert_eq!(
            got["events"].as_f64(),
            want_events,
            "{name}: {segment} events"
        );
    }
    let everyone = row("all_users");
    let (recent, days, firsts) = KEY_ALL_USERS;
    assert_eq!(
        everyone["recent"].as_f64(),
        Some(recent as f64),
        "{name}: recent"
    );
    assert_eq!(everyone["days"].as_f64(), Some(days as f64), "{name}: days");
    assert_eq!(
        everyone["first_events"].as_f64(),
        Some(firsts as f64),
        "{name}: first events"
    );
}

/// The core and trailing-spaces fixtures' data (core/data.sql, padding/data.sql) in a DuckDB
/// file at `path`, with rows that differ from theirs in case alone: users 11 (`de`,
/// `Member`) and 12 (`ZOË`, `ADMIN`, tagged `Admin`), and tags `ADMIN`, `B`, `AD` and `X`
/// after the first tags of users 1, 5, 7 and 10. Expected values: [`assert_case_members`].
#[cfg(feature = "duckdb")]
pub fn case_database(path: &Path) {
    let connection = duckdb::Connection::open(path).unwrap();
    for file in ["core/data.sql", "padding/data.sql"] {
        connection
            .execute_batch(&std::fs::read_to_string(fixture(file)).unwrap())
            .unwrap();
    }
    connection
        .execute_batch(
            "INSERT INTO app.users VALUES (11, '2023-02-01 00:00:00', 10, 'de', 'Member', NULL), \
               (12, '2023-02-02 00:00:00', 20, 'ZOË', 'ADMIN', '2023-02-03 00:00:00');
             INSERT INTO app.tags VALUES (1, '2024-03-02 10:00:00', 'ADMIN'), \
               (5, '2024-03-02 10:00:00', 'B'), (7, '2024-03-02 10:00:00', 'AD'), \
               (10, '2024-03-02 10:00:00', 'X'), (12, '2024-03-02 10:00:00', 'Admin');",
        )
        .unwrap();
}

/// Asserts that the strings of [`case_database`]'s data fold case where `driver` reads
/// them (`country`, `role` and `tag` in a collation that ignores case): without it a test
/// of rule 15 on such columns proves nothing.
pub fn assert_case_folds(driver: &mut dyn segc::driver::Driver) {
    for (query, want) in [
        ("SELECT COUNT(*) FROM app.users WHERE country = 'DE'", 2),
        (
            "SELECT COUNT(*) FROM app.users WHERE role IN ('admin', 'owner')",
            5,
        ),
        ("SELECT COUNT(DISTINCT tag) FROM app.tags", 9),
    ] {
        let got = driver.query(query).unwrap();
        assert_eq!(got.rows[0][0], segc::driver::Cell::Integer(want), "{query}");
    }
}

/// Checks a report (`--output json`) of [`case_database`]'s data, of the core fixture's
/// project (`project` = "core") or the trailing-spaces one ("padding"), against values by
/// hand, which folded strings would change.
pub fn assert_case_members(name: &str, table: &serde_json::Value, project: &str) {
    let row = |segment: &str| {
        json_row(table, segment).unwrap_or_else(|| panic!("{name}: no row {segment}"))
    };
    if project == "core" {
        // As of 2024-03-31 users 1–3 and 5–12 exist: not `DE` are FR, the countries of users
        // 5–10, `de` and `ZOË` (folded: 8); in [DE, Côte d'Ivoire, Zoë] are users 1, 6 and 9
        // (folded: 5); ending in `ë` is `Zoë` alone (folded: 2).
        assert_eq!(row("by_ne")["people"], 9, "{name}");
        assert_eq!(row("by_in")["people"], 3, "{name}");
        assert_eq!(row("by_ends")["people"], 1, "{name}");
    } else {
        // The first tags: admin, admin␠, admin␠␠, b, b␠, ad, x, ␠ and user 12's `Admin`
        // (folded: 8).
        assert_eq!(row("all_users")["distinct_tags"], 9, "{name}");
        // User 1's first tag is `admin`; user 12's is `Admin` (folded: 2).
        assert_eq!(row("tag_eq")["people"], 1, "{name}");
    }
}

/// The row of `segment` in a report printed with `--output json`.
pub fn json_row<'a>(table: &'a serde_json::Value, segment: &str) -> Option<&'a serde_json::Value> {
    table["rows"]
        .as_array()?
        .iter()
        .find(|row| row["segment"] == segment)
}

/// The rows of a report printed with `--output json`, each keyed by column (as
/// [`assert_key_members`] reads them).
pub fn json_rows(table: &serde_json::Value) -> Vec<serde_json::Map<String, serde_json::Value>> {
    table["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row.as_object().unwrap().clone())
        .collect()
}

/// What `segc sources --check` finds in the checks fixture (tests/fixtures/checks/data.sql,
/// as of 2024-03-31), by hand: source, check, keys, rows. Compared exactly (rule 15), `u1`,
/// `U1` and `u1␠` are three users, `a1`, `A1` and `a1␠` three accounts; only `u2` (twice),
/// `a2` (three times) and the plans of `a2` (two rows valid at the day's end; `a1` changed
/// plan, `a3` changes the next day) repeat. The events of `u9`, `U2` and `u2␠` have no user.
/// Where keys were folded or padded, `u1` would repeat three times, `a1` too, and `U2` and
/// `u2␠` would be `u2`'s.
pub const CHECK_FINDINGS: &[(&str, &str, u64, u64)] = &[
    ("users", "repeated_key", 1, 2),
    ("users", "null_key", 0, 1),
    ("accounts", "repeated_key", 1, 3),
    ("accounts", "null_key", 0, 1),
    ("plans", "repeated_key_at_as_of", 1, 2),
    ("plans", "null_key", 0, 0),
    ("events", "null_user_key", 0, 1),
    ("events", "unknown_user", 0, 3),
];

/// The findings of `segc sources --check -o json` as (source, check, keys, rows).
pub fn check_findings(json: &serde_json::Value) -> Vec<(String, String, u64, u64)> {
    json["checks"]
        .as_array()
        .expect("a list of checks")
        .iter()
        .map(|c| {
            (
                c["source"].as_str().unwrap().to_string(),
                c["check"].as_str().unwrap().to_string(),
                c["keys"].as_u64().unwrap(),
                c["rows"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// The same findings as [`CHECK_FINDINGS`], owned, to compare with [`check_findings`].
pub fn expected_check_findings() -> Vec<(String, String, u64, u64)> {
    CHECK_FINDINGS
        .iter()
        .map(|(s, c, k, r)| (s.to_string(), c.to_string(), *k, *r))
        .collect()
}
