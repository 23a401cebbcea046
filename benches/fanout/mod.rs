//! The fan-out benchmark: a generated project of N segments × 20 KPIs over the synthetic
//! warehouse of `segc bench-data` (`segc::demo::create_synthetic`).
//!
//! It compares `segc run`'s statement with its floor: the same statement cut after the
//! per-user attributes (the users stage and one pass per source), ending in a SELECT that
//! reads every column, so that no stage is skipped.

use std::time::{Duration, Instant};

/// `kpis:` with `count` KPIs that all combine from partial aggregates (counts, sums, averages,
/// minimums and maximums), so that the report is grouped by membership signature alone.
pub fn decomposable_kpis(count: usize) -> String {
    let mut text = String::from("kpis:\n");
    for index in 0..count {
        let body = match index % 5 {
            0 => format!(
                "agg: count, where: {{ monthly_activity: {{ gt: {} }} }}",
                index % 7
            ),
            1 => "agg: sum, of: orders_count".into(),
            2 => "agg: avg, of: active_days_30d".into(),
            3 => "agg: max, of: last_seen_at".into(),
            _ => "agg: min, of: plan".into(),
        };
        text.push_str(&format!("  - {{ name: kpi_{index:03}, {body} }}\n"));
    }
    text
}

/// The floor of a report's statement: its stages up to the per-user attributes (`through`:
/// `segc_attributes`, or `segc_scores` to include the quintile scores and their stages),
/// then a SELECT reading every column of that stage. `through` may name any stage: with
/// `segc_signed` it measures everything before the KPIs (attributes, scores, each user's
/// conditions and signature words).
pub fn floor(statement: &str, through: &str) -> Option<String> {
    floor_reading(statement, through, "SELECT MAX(COLUMNS(*)) FROM")
}

/// [`floor`], ending in `select` followed by the stage's name (DuckDB's `MAX(COLUMNS(*))`
/// has no portable spelling).
pub fn floor_reading(statement: &str, through: &str, select: &str) -> Option<String> {
    // A stage begins on a line of its own with its quoted name; the cut falls before the
    // stage after `through`.
    let header = format!("\n\"{through}\" AS ");
    let after = statement.find(&header)? + header.len();
    let cut = after + statement[after..].find("\n\"segc_")?;
    let head = statement[..cut].trim_end().trim_end_matches(',');
    Some(format!("{head}\n{select} \"{through}\""))
}

/// The headers of the timing columns both fan-out benches print after their own: the floor,
/// the cuts after the scores and after the members' signature words (`segc_signed`: every
/// user's conditions, before any KPI), the whole statement, and the ratios.
pub fn timing_header() -> String {
    format!(
        "{:>9} {:>11} {:>12} {:>9} {:>8} {:>9} {:>10}",
        "floor ms", "+scores ms", "+members ms", "run ms", "ratio", "/+scores", "members/fl"
    )
}

/// The timing columns of one statement (see [`timing_header`]) from its rounds in turn
/// ([`in_turn`]): the floor's, the cuts' and the whole statement's times, each the median of
/// its rounds in milliseconds, and each ratio the median of the rounds' own ratios.
pub fn timing_row(
    floor: &[Duration],
    scored: &[Duration],
    signed: &[Duration],
    report: &[Duration],
) -> String {
    let ms = |times: &[Duration]| middle(times).as_secs_f64() * 1000.0;
    format!(
        "{:>9.0} {:>11.0} {:>12.0} {:>9.0} {:>7.2}x {:>8.2}x {:>9.2}x",
        ms(floor),
        ms(scored),
        ms(signed),
        ms(report),
        ratio(report, floor),
        ratio(report, scored),
        ratio(signed, floor)
    )
}

/// Runs `sql` as segc's DuckDB driver runs a query (planned once, see
/// `segc::driver::duckdb::query_once`) and reads every row; the number of rows.
pub fn run(connection: &duckdb::Connection, sql: &str) -> duckdb::Result<usize> {
    segc::driver::duckdb::query_once(connection, sql, count_rows)
}

/// Runs `sql` as a prepared statement, which DuckDB plans twice, and reads every row; the
/// number of rows.
pub fn run_prepared(connection: &duckdb::Connection, sql: &str) -> duckdb::Result<usize> {
    count_rows(&mut connection.prepare(sql)?.query([])?)
}

/// Reads every row; the number of rows.
fn count_rows(rows: &mut duckdb::Rows<'_>) -> duckdb::Result<usize> {
    let mut count = 0;
    while rows.next()?.is_some() {
        count += 1;
    }
    Ok(count)
}

/// DuckDB's plan of `sql` with each operator's time (`EXPLAIN ANALYZE`).
pub fn explain(connection: &duckdb::Connection, sql: &str) -> duckdb::Result<String> {
    let mut statement = connection.prepare(&format!("EXPLAIN (ANALYZE, FORMAT JSON) {sql}"))?;
    let mut rows = statement.query([])?;
    let mut text = String::new();
    while let Some(row) = rows.next()? {
        text.push_str(&row.get::<_, String>(1)?);
        text.push('\n');
    }
    Ok(text)
}

/// Runs `count` statements in turn, `rounds` times over (a round runs each once, in order,
/// through `run`), so that the machine's drift between sittings falls on every statement of
/// a round alike; each statement's times, a round each.
pub fn in_turn(rounds: usize, count: usize, mut run: impl FnMut(usize)) -> Vec<Vec<Duration>> {
    let mut times = vec![Vec::with_capacity(rounds); count];
    for _ in 0..rounds {
        for (statement, times) in times.iter_mut().enumerate() {
            let started = Instant::now();
            run(statement);
            times.push(started.elapsed());
        }
    }
    times
}

/// The median of `times`.
pub fn middle(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

/// The median over the rounds of `a`'s time divided by `b`'s in the same round.
pub fn ratio(a: &[Duration], b: &[Duration]) -> f64 {
    let mut ratios: Vec<f64> = a
        .iter()
        .zip(b)
        .map(|(a, b)| a.as_secs_f64() / b.as_secs_f64())
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios[ratios.len() / 2]
}

/// Runs `work` `runs` times; the median time.
pub fn median<T>(runs: usize, mut work: impl FnMut() -> T) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            work();
            started.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}
