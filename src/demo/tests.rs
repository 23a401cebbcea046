use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime};

use super::random::{cents, det_exp, det_ln, mix64};
use super::*;

fn small() -> DemoConfig {
    DemoConfig {
        users: 1_500,
        ..DemoConfig::default()
    }
}

fn end_of(config: &DemoConfig) -> NaiveDateTime {
    config.last_day.and_hms_opt(23, 59, 59).unwrap()
}

#[test]
fn same_config_gives_identical_data() {
    assert_eq!(generate(&small()), generate(&small()));
}

#[test]
fn different_seed_gives_different_data() {
    let other = DemoConfig { seed: 7, ..small() };
    let (a, b) = (generate(&small()), generate(&other));
    assert_ne!(a.users, b.users);
    assert_ne!(a.events, b.events);
    assert_ne!(a.orders, b.orders);
}

#[test]
fn fingerprint_is_stable() {
    // Guards against accidental changes to the generator: demo numbers in docs and tests
    // depend on it. Update deliberately if the data is meant to change.
    let data = generate(&small());
    let mut h = 0u64;
    for e in &data.events {
        h = mix64(h ^ e.occurred_at.and_utc().timestamp() as u64 ^ (e.user_id as u64) << 40);
    }
    for o in &data.orders {
        h = mix64(h ^ o.amount.to_bits());
    }
    let summary = data.summary();
    assert_eq!(
        (
            summary.users,
            summary.accounts,
            summary.events,
            summary.orders
        ),
        (1_500, 597, 153_789, 2_668),
        "row counts changed"
    );
    assert_eq!(h, 4_358_558_197_289_888_552, "fingerprint changed");
}

#[test]
fn deterministic_math_is_accurate() {
    for &x in &[1e-12, 0.001, 0.5, 1.0, 1.5, 2.0, 3.0, 10.0, 12345.678] {
        let got: f64 = det_ln(x);
        assert!(
            (got - x.ln()).abs() <= 1e-14 * x.ln().abs().max(1.0),
            "ln {x}: {got}"
        );
    }
    for &x in &[-30.0, -2.5, -0.1, 0.0, 0.3, 1.0, 2.2, 10.0, 50.0] {
        let got: f64 = det_exp(x);
        assert!((got - x.exp()).abs() <= 1e-14 * x.exp(), "exp {x}: {got}");
    }
}

#[test]
fn empty_and_degenerate_configs_work() {
    let empty = generate(&DemoConfig {
        users: 0,
        ..small()
    });
    assert_eq!(
        empty.summary(),
        DemoSummary {
            users: 0,
            accounts: 0,
            events: 0,
            orders: 0
        }
    );
    let day = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
    let one_day = DemoConfig {
        users: 50,
        first_day: day,
        last_day: day,
        ..small()
    };
    let data = generate(&one_day);
    assert!(data.events.iter().all(|e| e.occurred_at.date() == day));
}

#[test]
fn invariants_hold() {
    let config = DemoConfig::default();
    let data = generate(&config);
    let start = config.first_day.and_hms_opt(0, 0, 0).unwrap();
    let end = end_of(&config);

    let user_ids: HashSet<i64> = data.users.iter().map(|u| u.user_id).collect();
    assert_eq!(user_ids.len(), data.users.len(), "user ids unique");
    let account_ids: HashSet<i64> = data.accounts.iter().map(|a| a.account_id).collect();
    assert_eq!(account_ids.len(), data.accounts.len(), "account ids unique");
    let event_ids: HashSet<i64> = data.events.iter().map(|e| e.event_id).collect();
    assert_eq!(event_ids.len(), data.events.len(), "event ids unique");
    let order_ids: HashSet<i64> = data.orders.iter().map(|o| o.order_id).collect();
    assert_eq!(order_ids.len(), data.orders.len(), "order ids unique");

    let signup: HashMap<i64, NaiveDateTime> = data
        .users
        .iter()
        .map(|u| (u.user_id, u.created_at))
        .collect();
    for u in &data.users {
        assert!(
            account_ids.contains(&u.account_id),
            "user {} has a missing account",
            u.user_id
        );
        assert!(u.created_at <= end);
        if let Some(at) = u.activated_at {
            assert!(
                at > u.created_at && at <= end,
                "user {} activation",
                u.user_id
            );
        }
    }
    for e in &data.events {
        let s = signup[&e.user_id];
        assert!(
            e.occurred_at >= s,
            "event {} before its user's sign-up",
            e.event_id
        );
        assert!(
            e.occurred_at >= start && e.occurred_at <= end,
            "event {} out of range",
            e.event_id
        );
        assert!(e.duration_s >= 1);
    }
    for o in &data.orders {
        assert!(
            o.ordered_at >= signup[&o.user_id],
            "order {} before sign-up",
            o.order_id
        );
        assert!(
            o.ordered_at >= start && o.ordered_at <= end,
            "order {} out of range",
            o.order_id
        );
        assert!(o.amount > 0.0 && o.amount == cents(o.amount));
    }

    let mut pairs = HashSet::new();
    let mut main_seen = HashSet::new();
    let account_of: HashMap<i64, i64> = data
        .users
        .iter()
        .map(|u| (u.user_id, u.account_id))
        .collect();
    for m in &data.user_accounts {
        assert!(user_ids.contains(&m.user_id) && account_ids.contains(&m.account_id));
        assert!(
            pairs.insert((m.user_id, m.account_id)),
            "duplicate membership"
        );
        if account_of[&m.user_id] == m.account_id {
            main_seen.insert(m.user_id);
        }
    }
    assert_eq!(
        main_seen.len(),
        data.users.len(),
        "every main account is a membership"
    );
    for a in &data.accounts {
        let expected = match a.plan_name {
            "free" => a.mrr_usd == 0.0,
            "starter" => (15.0..=75.0).contains(&a.mrr_usd),
            "pro" => (135.0..=1125.0).contains(&a.mrr_usd),
            "enterprise" => (3000.0..=25_000.0).contains(&a.mrr_usd),
            other => panic!("unexpected plan {other}"),
        };
        assert!(
            expected,
            "account {} MRR {} vs plan {}",
            a.account_id, a.mrr_usd, a.plan_name
        );
    }
}

#[test]
fn shape_matches_the_story() {
    let config = DemoConfig::default();
    let data = generate(&config);
    let n = data.users.len() as f64;

    assert!(
        (800_000..=1_500_000).contains(&data.events.len()),
        "{} events",
        data.events.len()
    );

    let activated = data
        .users
        .iter()
        .filter(|u| u.activated_at.is_some())
        .count() as f64;
    assert!(
        (0.55..=0.65).contains(&(activated / n)),
        "activated share {}",
        activated / n
    );

    let buyers: HashSet<i64> = data.orders.iter().map(|o| o.user_id).collect();
    let buyer_share = buyers.len() as f64 / n;
    assert!(
        (0.28..=0.40).contains(&buyer_share),
        "buyer share {buyer_share}"
    );

    let early = data
        .users
        .iter()
        .filter(|u| u.created_at.date() < config.first_day)
        .count();
    assert!(early > 0 && (early as f64) < 0.25 * n);
    assert!(
        data.users
            .iter()
            .any(|u| u.country == Some("Côte d'Ivoire"))
    );
    assert!(data.users.iter().any(|u| u.country.is_none()));

    let mut per_user: HashMap<i64, usize> = HashMap::new();
    for m in &data.user_accounts {
        *per_user.entry(m.user_id).or_default() += 1;
    }
    let multi = per_user.values().filter(|&&c| c >= 2).count() as f64;
    assert!(
        multi > 0.05 * n && multi < 0.3 * n,
        "multi-account users {multi}"
    );
    assert!(per_user.values().any(|&c| c >= 3));

    let mut plans: HashMap<&str, usize> = HashMap::new();
    for a in &data.accounts {
        *plans.entry(a.plan_name).or_default() += 1;
    }
    assert!(
        plans["free"] > plans["starter"]
            && plans["starter"] > plans["pro"]
            && plans["pro"] > plans["enterprise"]
    );
}

#[test]
fn activity_is_heavy_tailed() {
    let data = generate(&DemoConfig::default());
    let mut counts: HashMap<i64, usize> = HashMap::new();
    for e in &data.events {
        *counts.entry(e.user_id).or_default() += 1;
    }
    let mut per_user: Vec<usize> = data
        .users
        .iter()
        .map(|u| counts.get(&u.user_id).copied().unwrap_or(0))
        .collect();
    per_user.sort_unstable_by(|a, b| b.cmp(a));
    let top = per_user.len() / 10;
    let top_share = per_user[..top].iter().sum::<usize>() as f64 / data.events.len() as f64;
    assert!(top_share > 0.4, "top 10% hold {top_share}");
    let median = per_user[per_user.len() / 2];
    assert!(
        median < per_user[top] / 4,
        "median {median} vs p90 {}",
        per_user[top]
    );
}

#[test]
fn behaviours_show_up_near_the_end() {
    // The demo segments need members: new, active, power, churned users as of last_day.
    let config = DemoConfig::default();
    let data = generate(&config);
    let end = end_of(&config);
    let days_ago = |t: NaiveDateTime| (end - t).num_days();
    let mut last_seen: HashMap<i64, NaiveDateTime> = HashMap::new();
    let mut days_30: HashMap<i64, HashSet<NaiveDate>> = HashMap::new();
    for e in &data.events {
        last_seen.insert(e.user_id, e.occurred_at);
        if days_ago(e.occurred_at) < 30 {
            days_30
                .entry(e.user_id)
                .or_default()
                .insert(e.occurred_at.date());
        }
    }
    let new_users = data
        .users
        .iter()
        .filter(|u| days_ago(u.created_at) < 14)
        .count();
    let power = days_30.values().filter(|d| d.len() >= 20).count();
    let churned = last_seen.values().filter(|&&t| days_ago(t) >= 90).count();
    assert!(new_users > 100, "new users {new_users}");
    assert!(days_30.len() > 1_500, "active users {}", days_30.len());
    assert!(power > 100, "power users {power}");
    assert!(churned > 500, "churned users {churned}");
}

/// A writer stopped by a signal leaves `<name>.<pid>.tmp`; the next writer, holding the
/// lock, removes it (and only what matches that pattern).
#[cfg(feature = "duckdb")]
#[test]
fn stale_temporaries_of_a_stopped_writer_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.duckdb");
    for stale in ["demo.duckdb.4242.tmp", "demo.duckdb.4242.tmp.wal"] {
        std::fs::write(dir.path().join(stale), "half").unwrap();
    }
    for kept in ["demo.duckdb.notes.tmp", "other.duckdb.4242.tmp"] {
        std::fs::write(dir.path().join(kept), "mine").unwrap();
    }
    let data = generate(&small());
    write_duckdb(&data, &path).unwrap();
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [
            "demo.duckdb",
            "demo.duckdb.notes.tmp",
            "other.duckdb.4242.tmp"
        ]
    );
}

#[cfg(feature = "duckdb")]
#[test]
fn writes_a_duckdb_file_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("demo.duckdb");
    let data = generate(&small());
    let summary = write_duckdb(&data, &path).unwrap();
    assert_eq!(summary, data.summary());

    let conn = duckdb::Connection::open(&path).unwrap();
    let count = |table: &str| -> i64 {
        conn.query_row(&format!("SELECT count(*) FROM app.{table}"), [], |r| {
            r.get(0)
        })
        .unwrap()
    };
    assert_eq!(count("users") as usize, data.users.len());
    assert_eq!(count("accounts") as usize, data.accounts.len());
    assert_eq!(count("user_accounts") as usize, data.user_accounts.len());
    assert_eq!(count("events") as usize, data.events.len());
    assert_eq!(count("orders") as usize, data.orders.len());

    let (created, country): (String, Option<String>) = conn
        .query_row(
            "SELECT CAST(created_at AS VARCHAR), country FROM app.users WHERE user_id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        created,
        data.users[0]
            .created_at
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    );
    assert_eq!(country.as_deref(), data.users[0].country);
    let ivorians: i64 = conn
        .query_row(
            "SELECT count(*) FROM app.users WHERE country = 'Côte d''Ivoire'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let expected = data
        .users
        .iter()
        .filter(|u| u.country == Some("Côte d'Ivoire"))
        .count();
    assert_eq!(ivorians as usize, expected);
    let types: Vec<(String, String)> = {
        let mut stmt = conn
            .prepare(
                "SELECT column_name, data_type FROM information_schema.columns \
                 WHERE table_schema = 'app' AND table_name = 'events' ORDER BY ordinal_position",
            )
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let expected: Vec<(String, String)> = [
        ("event_id", "BIGINT"),
        ("user_id", "BIGINT"),
        ("occurred_at", "TIMESTAMP"),
        ("event_name", "VARCHAR"),
        ("duration_s", "INTEGER"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(types, expected);
    drop(conn);

    let err = write_duckdb(&data, &path).unwrap_err();
    assert!(matches!(err, DemoError::AlreadyExists { .. }));
    assert!(err.to_string().contains("demo.duckdb"), "{err}");
}
