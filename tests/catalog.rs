//! The KPI catalog (segment-defs/kpis_catalog.yml) on a small demo data set: every catalog KPI
//! of the `all_users` row equals the value computed here, in Rust, from the generated rows.
//! Period: 2026-10-01..2026-10-31 (UTC), so the report's end is 2026-11-01 00:00.
#![cfg(feature = "duckdb")]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{NaiveDate, NaiveDateTime};
use segc::driver::Driver;
use segc::driver::duckdb::DuckDb;
use segc::plan::ReportOptions;
use segc::report::Report;

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

#[test]
fn every_catalog_kpi_matches_a_computation_from_the_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (demo, path) = common::demo_database(dir.path(), 500);
    let project = segc::validate::load_and_validate(&common::repository_root()).unwrap();
    let options = ReportOptions {
        period: Some((common::date("2026-10-01"), common::date("2026-10-31"))),
        ..Default::default()
    };
    let plan = common::plan(&project, &options);
    let sql = segc::render::render(
        &plan,
        &segc::dialect::Dialect::load("duckdb").unwrap(),
        None,
    )
    .unwrap();
    let mut database = DuckDb::open_read_only(&path).unwrap();
    let report = Report::from_result(&plan, "duck", &database.query(&sql).unwrap()).unwrap();
    let got = |kpi: &str| -> Option<f64> {
        let column = report
            .columns
            .iter()
            .position(|c| c.name == kpi)
            .unwrap_or_else(|| panic!("no KPI {kpi}"));
        report.rows[0].values[column].as_f64()
    };

    // ---- By hand ----------------------------------------------------------------------
    let at = |day: &str| common::date(day).and_hms_opt(0, 0, 0).unwrap();
    let end = at("2026-11-01");
    let period_start = at("2026-10-01");
    let window_30d = at("2026-10-02");
    let as_of = common::date("2026-10-31");
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
    let months = 31.0 / 30.4375;
    let per_month: Vec<f64> = period_orders.values().map(|n| *n as f64 / months).collect();
    let new_registrations = members
        .values()
        .filter(|created| **created >= period_start)
        .count() as f64;
    let revenue_all: f64 = orders.values().flatten().map(|(_, a)| a).sum();
    let orders_all: f64 = orders.values().map(Vec::len).sum::<usize>() as f64;
    let buyers = orders.len() as f64;
    let repeat_customers = orders.values().filter(|l| l.len() >= 2).count() as f64;
    let repeat_orders: f64 = orders.values().map(|l| (l.len() - 1) as f64).sum();
    // Orders in the calendar month before the end: [10-01, 11-01); the same as the period.
    let buyers_last_month = period_orders.len() as f64;
    let returning = orders
        .iter()
        .filter(|(user, list)| {
            period_orders.contains_key(user) && list.iter().any(|(t, _)| *t < period_start)
        })
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
    let missed: Vec<f64> = orders
        .values()
        .filter(|l| l.len() >= 2)
        .filter_map(|l| {
            let gap = days(first_day(l), last_day(l)) / (l.len() - 1) as f64;
            (gap != 0.0).then(|| days(last_day(l), as_of) / gap)
        })
        .collect();
    let lifetime: Vec<f64> = orders
        .values()
        .map(|l| days(first_day(l), last_day(l)))
        .collect();
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
    let minutes_per_day: Vec<f64> = active_days
        .iter()
        .map(|(user, days)| seconds[user] / 60.0 / days.len() as f64)
        .collect();

    let expected: Vec<(&str, Option<f64>)> = vec![
        ("revenue_period", Some(revenue_period)),
        ("orders_period", Some(orders_period)),
        ("avg_order_value", Some(revenue_period / orders_period)),
        ("orders_per_buyer_month", mean(&per_month)),
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
        ("days_between_orders", mean(&between)),
        ("median_days_between_orders", median(&between)),
        ("days_since_last_order", mean(&since)),
        ("missed_purchase_cycles", mean(&missed)),
        ("customer_lifetime_days", mean(&lifetime)),
        ("minutes_per_active_day", mean(&minutes_per_day)),
    ];
    assert!(orders_period > 0.0 && repeat_customers > 0.0 && returning > 0.0);
    // The 90-day window must cut something off, or it would not be tested.
    assert!(first_90d.iter().sum::<f64>() < revenue_all && first_90d.iter().any(|r| *r > 0.0));
    let catalog: Vec<&str> = project
        .kpis
        .iter()
        .filter(|k| k.origin.file.ends_with("kpis_catalog.yml"))
        .map(|k| k.name.as_str())
        .collect();
    let checked: Vec<&str> = expected.iter().map(|(kpi, _)| *kpi).collect();
    assert_eq!(
        catalog, checked,
        "every catalog KPI is checked, in file order"
    );
    for (kpi, want) in expected {
        let have = got(kpi);
        match (want, have) {
            (Some(w), Some(h)) => assert!(
                (w - h).abs() <= 1e-9 * w.abs().max(1.0),
                "{kpi}: {h} from the warehouse, {w} by hand"
            ),
            (w, h) => assert_eq!(w, h, "{kpi}"),
        }
    }
}
