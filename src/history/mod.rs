//! Membership history (`segc snapshot`): who was in each segment on each day, kept in the
//! warehouse as SCD2 intervals, and the days recorded.
//!
//! The history table holds one row per interval: a user was a member of a segment from
//! `valid_from` (included) to `valid_to` (excluded), `valid_to` NULL while the interval
//! reaches the segment's last recorded day (a segment left out with `-s`, or removed, keeps
//! its intervals as they were until it is recorded again). The days table
//! (`<history>_days`) holds one row per segment and recorded day. The intervals are a
//! function of the recorded days' memberships alone: a day not recorded is a day without
//! members, an interval is a run of consecutive recorded member days under one definition
//! hash. So a backfill equals the day-by-day runs, and rerunning any day, late or not, gives
//! the same intervals (when the data are the same).

use chrono::NaiveDate;

use crate::error::Error;
use crate::ir::{Project, SegmentId, ValueType};
use crate::materialize::{ResultsTable, TableColumn};

/// The history table's name when neither the target nor `segc_project.yml` names one.
pub const DEFAULT_TABLE: &str = "segc_membership";

/// The days table is the history table's name with this suffix.
pub const DAYS_SUFFIX: &str = "_days";

/// The most days one statement records (a backfill is one statement per chunk).
pub const CHUNK_DAYS: usize = 31;

/// The history table's columns.
pub const INTERVAL_COLUMNS: [TableColumn; 8] = [
    ("project", ValueType::String, true),
    ("segment", ValueType::String, true),
    ("user_key", ValueType::String, true),
    ("valid_from", ValueType::Date, true),
    ("valid_to", ValueType::Date, false),
    ("definition_hash", ValueType::String, true),
    ("run_id", ValueType::String, true),
    ("recorded_at", ValueType::Timestamp, true),
];

/// The days table's columns: `next_day` is the day after `day`, so that no statement does
/// date arithmetic.
pub const DAY_COLUMNS: [TableColumn; 7] = [
    ("project", ValueType::String, true),
    ("segment", ValueType::String, true),
    ("day", ValueType::Date, true),
    ("next_day", ValueType::Date, true),
    ("definition_hash", ValueType::String, true),
    ("run_id", ValueType::String, true),
    ("recorded_at", ValueType::Timestamp, true),
];

/// The names of `columns`.
pub fn names(columns: &[TableColumn]) -> Vec<&'static str> {
    columns.iter().map(|(name, _, _)| *name).collect()
}

/// A segment's definition hash: the SHA-256 (first 16 hex digits) of its membership as
/// compiled for a reference dialect (DuckDB) on a fixed day, comments left out. It changes
/// when anything its membership depends on changes: its conditions, its parent's, the
/// attributes and sources they read, the project's time zone, and also how segc compiles
/// them. The reference dialect's spelling of exact string comparison (`(value COLLATE
/// "binary")`, which changes no membership where columns have no collation of their own) is
/// left out, so that histories recorded before DuckDB spelled it keep their hashes; so are
/// the casts around a condition's fractional numbers (`CAST(0.5 AS DOUBLE)`) and the lowest
/// piece of exact sums ([`crate::dialect::Dialect::hash_spelling`]), which change DuckDB's
/// membership only where an integer or decimal column is compared with a number a double
/// cannot hold exactly, or a sum's bits below 2^-64 decide a condition.
pub fn definition_hash(
    project: &Project,
    segment: SegmentId,
) -> Result<String, crate::error::Error> {
    let mut dialect = crate::dialect::Dialect::load("duckdb")?;
    dialect.hash_spelling = true;
    hash_as_compiled(project, segment, &dialect)
}

/// [`definition_hash`] as compiled for `dialect`.
fn hash_as_compiled(
    project: &Project,
    segment: SegmentId,
    dialect: &crate::dialect::Dialect,
) -> Result<String, crate::error::Error> {
    let options = crate::plan::ReportOptions {
        select: vec![project.segment(segment).name.clone()],
        ..Default::default()
    };
    let day = NaiveDate::from_ymd_opt(2000, 1, 1).expect("a valid day");
    let mut options = options;
    options.as_of = Some(day);
    let plan = crate::plan::Plan::membership(project, &options, day)?;
    let sql = crate::render::render_overlap(&plan, dialect, None)?;
    let text = without_comments(&sql);
    Ok(crate::artifacts::sha256(&text)[..16].to_string())
}

/// The statement's tokens without comments and spacing, so that a comment (which names a
/// file and line) never changes a hash.
fn without_comments(sql: &str) -> String {
    use sqlparser::tokenizer::{Token, Tokenizer, Whitespace};
    let dialect = sqlparser::dialect::DuckDbDialect {};
    match Tokenizer::new(&dialect, sql).tokenize() {
        Ok(tokens) => without_cut_casts(without_exact_forms(tokens))
            .iter()
            .filter(|token| {
                !matches!(
                    token,
                    Token::Whitespace(
                        Whitespace::SingleLineComment { .. }
                            | Whitespace::MultiLineComment(_)
                            | Whitespace::Space
                            | Whitespace::Newline
                            | Whitespace::Tab
                    )
                )
            })
            .map(|token| token.to_string())
            .collect::<Vec<_>>()
            .join(" "),
        Err(_) => sql.to_string(),
    }
}

/// `tokens` with each `( value COLLATE "binary" )` (DuckDB's exact form of a string, see
/// `dialects/duckdb/macros.sql.j2`) written back as `value`.
fn without_exact_forms(
    tokens: Vec<sqlparser::tokenizer::Token>,
) -> Vec<sqlparser::tokenizer::Token> {
    use sqlparser::keywords::Keyword;
    use sqlparser::tokenizer::Token;
    let significant = |token: &Token| !matches!(token, Token::Whitespace(_));
    let mut out: Vec<Token> = Vec::with_capacity(tokens.len());
    let mut index = 0;
    while index < tokens.len() {
        let is_collate = matches!(&tokens[index], Token::Word(word) if word.keyword == Keyword::COLLATE && word.quote_style.is_none());
        if is_collate {
            let mut rest = tokens[index + 1..]
                .iter()
                .enumerate()
                .filter(|(_, t)| significant(t));
            let name = rest.next();
            let close = rest.next();
            let binary = matches!(name, Some((_, Token::Word(word))) if word.value == "binary" && word.quote_style == Some('"'));
            if let (true, Some((offset, Token::RParen))) = (binary, close) {
                // The matching `(` of the `)` that closes the form.
                let mut depth = 0usize;
                let open = out.iter().rposition(|token| match token {
                    Token::RParen => {
                        depth += 1;
                        false
                    }
                    Token::LParen if depth == 0 => true,
                    Token::LParen => {
                        depth -= 1;
                        false
                    }
                    _ => false,
                });
                if let Some(open) = open {
                    out.remove(open);
                    let end = out.len();
                    without_string_cast(&mut out, open, end);
                    index += 1 + offset + 1;
                    continue;
                }
            }
        }
        out.push(tokens[index].clone());
        index += 1;
    }
    out
}

/// The `)` that closes the `(` at `open`.
fn closing(tokens: &[sqlparser::tokenizer::Token], open: usize) -> Option<usize> {
    use sqlparser::tokenizer::Token;
    let mut depth = 0usize;
    (open..tokens.len()).find(|&i| match tokens[i] {
        Token::LParen => {
            depth += 1;
            false
        }
        Token::RParen => {
            depth = depth.saturating_sub(1);
            depth == 0
        }
        _ => false,
    })
}

/// `out[from..to]` without the `CAST( … AS VARCHAR)` DuckDB puts around a string's value (so
/// that an ENUM, a UUID or JSON declared a string compares as one), where it spans the whole
/// range: written back as before DuckDB's statements had it.
fn without_string_cast(out: &mut Vec<sqlparser::tokenizer::Token>, from: usize, to: usize) {
    use sqlparser::keywords::Keyword;
    use sqlparser::tokenizer::Token;
    let significant: Vec<usize> = (from..to.min(out.len()))
        .filter(|&i| !matches!(out[i], Token::Whitespace(_)))
        .collect();
    let word = |i: usize, keyword: Keyword| matches!(&out[i], Token::Word(w) if w.keyword == keyword && w.quote_style.is_none());
    let ([cast, open, ..], [.., as_, varchar, close]) = (&significant[..], &significant[..]) else {
        return;
    };
    let (cast, open, as_, varchar, close) = (*cast, *open, *as_, *varchar, *close);
    // The `(` after CAST closes at the last `)`, not before.
    if word(cast, Keyword::CAST)
        && matches!(out[open], Token::LParen)
        && word(as_, Keyword::AS)
        && word(varchar, Keyword::VARCHAR)
        && open < as_
        && closing(out, open) == Some(close)
    {
        for i in [close, varchar, as_, open, cast] {
            out.remove(i);
        }
    }
}

/// `tokens` with each `LEFT(CAST(value AS VARCHAR), n)` and `RIGHT(…)` (DuckDB's first and
/// last characters of a string, see `dialects/duckdb/macros.sql.j2`) written back as
/// `LEFT(value, n)`, as before DuckDB's statements read the value as VARCHAR there.
fn without_cut_casts(
    mut tokens: Vec<sqlparser::tokenizer::Token>,
) -> Vec<sqlparser::tokenizer::Token> {
    use sqlparser::keywords::Keyword;
    use sqlparser::tokenizer::Token;
    let significant = |tokens: &[Token], from: usize| {
        (from..tokens.len()).find(|&i| !matches!(tokens[i], Token::Whitespace(_)))
    };
    for index in 0..tokens.len() {
        // A cast removed after `index` shortens the list: stop at its end.
        let Some(token) = tokens.get(index) else {
            break;
        };
        let cut = matches!(token, Token::Word(w) if w.quote_style.is_none()
            && (w.keyword == Keyword::LEFT || w.keyword == Keyword::RIGHT));
        if !cut {
            continue;
        }
        let open = significant(&tokens, index + 1).filter(|&i| matches!(tokens[i], Token::LParen));
        let cast = open.and_then(|i| significant(&tokens, i + 1)).filter(|&i| {
            matches!(&tokens[i], Token::Word(w) if w.keyword == Keyword::CAST && w.quote_style.is_none())
        });
        let close = cast
            .and_then(|i| significant(&tokens, i + 1))
            .filter(|&i| matches!(tokens[i], Token::LParen))
            .and_then(|cast_open| closing(&tokens, cast_open));
        if let (Some(cast), Some(close)) = (cast, close) {
            without_string_cast(&mut tokens, cast, close + 1);
        }
    }
    tokens
}

/// One transaction: the locks, the merge, the intervals it replaced deleted, the days
/// recorded.
pub fn write_chunk(
    compiled: &mut dyn FnMut(&str) -> Result<(), Error>,
    driver: &mut dyn crate::driver::Driver,
    target: &crate::session::Target,
    plans: &[(String, crate::plan::Plan<'_>)],
    spec: &crate::render::SnapshotSpec<'_>,
    tables: [&ResultsTable; 2],
) -> Result<(), Error> {
    use crate::driver::gate::{Write, WriteTarget, admit_write};
    let dialect = &target.dialect;
    let merge = crate::render::render_snapshot(plans, dialect, Some(&target.target), spec)?;
    compiled(&merge)?;
    crate::cli::check_statement_size(dialect, &merge)?;
    let (delete_intervals, delete_days, insert_days) =
        crate::render::render_snapshot_writes(plans, dialect, spec)?;
    let locks: Vec<String> = match &dialect.write.lock {
        Some(lock) => tables
            .iter()
            .map(|table| lock.replace("{table}", &table.quoted(dialect)))
            .collect(),
        None => Vec::new(),
    };
    let (interval_columns, day_columns) = (
        crate::history::names(&INTERVAL_COLUMNS),
        crate::history::names(&DAY_COLUMNS),
    );
    let intervals = WriteTarget {
        table: &tables[0].parts,
        columns: &interval_columns,
    };
    let days = WriteTarget {
        table: &tables[1].parts,
        columns: &day_columns,
    };
    let mut statements = Vec::new();
    for (lock, target) in locks.iter().zip([intervals, days]) {
        statements.push(admit_write(lock, dialect, Write::Lock, target)?);
    }
    statements.push(admit_write(&merge, dialect, Write::Insert, intervals)?);
    statements.push(admit_write(
        &delete_intervals,
        dialect,
        Write::Delete,
        intervals,
    )?);
    statements.push(admit_write(&delete_days, dialect, Write::Delete, days)?);
    statements.push(admit_write(&insert_days, dialect, Write::Insert, days)?);
    driver.write(&statements)
}

/// What the membership history holds of the days a report reads.
pub enum HistoryCheck {
    /// The report reads no history (no flow or timed KPI).
    NotRead,
    /// Every day is recorded: per period (one for a single report), the reported segments
    /// whose definition changed during it.
    Recorded(Vec<Vec<String>>),
    /// Days are missing: each of them, in order, and the error that names them with the
    /// commands that record them.
    Missing { days: Vec<NaiveDate>, error: Error },
}

/// Checks the days a report reads in the history: every day from the day before each
/// period to its last day must be recorded for every reported segment.
pub fn check_period(
    driver: &mut dyn crate::driver::Driver,
    target: &crate::session::Target,
    reports: &crate::plan::Reports<'_>,
) -> Result<HistoryCheck, Error> {
    use crate::driver::Cell;
    let plans = reports.plans();
    let Some(plan) = plans.first() else {
        return Ok(HistoryCheck::NotRead);
    };
    let project = plan.project;
    let reads_history = plan.computed_kpis.iter().chain(&plan.kpis).any(|id| {
        let kpi = project.kpi(*id);
        kpi.timed || matches!(kpi.kind, crate::ir::KpiKind::Flow(_))
    });
    if !reads_history {
        return Ok(HistoryCheck::NotRead);
    }
    // Each period's days: from the day before it to its last day.
    let spans: Vec<(NaiveDate, NaiveDate)> = plans
        .iter()
        .map(|plan| {
            let (first, last) = plan.time.period;
            (first.pred_opt().unwrap_or(first), last)
        })
        .collect();
    // Every day read, in order, once.
    let needed: Vec<NaiveDate> = spans
        .iter()
        .flat_map(|(from, to)| from.iter_days().take_while(move |day| day <= to))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let (Some(&before), Some(&last)) = (needed.first(), needed.last()) else {
        return Ok(HistoryCheck::NotRead);
    };
    let dialect = &target.dialect;
    let days_table = {
        let mut parts = crate::render::history_table(project);
        if let Some(last) = parts.last_mut() {
            last.push_str(DAYS_SUFFIX);
        }
        parts
    };
    let q = |name: &str| dialect.quote_identifier(name);
    let sql = format!(
        "SELECT {}, {}, {} FROM {} WHERE {} AND {} >= {} AND {} <= {}",
        q("segment"),
        q("day"),
        q("definition_hash"),
        dialect.quote_path(&days_table),
        crate::render::render_of_project(plan, dialect)?,
        q("day"),
        day_literal(dialect, before),
        q("day"),
        day_literal(dialect, last),
    );
    let result = match driver.query(&sql) {
        Ok(result) => result,
        Err(error @ (Error::Interrupted(_) | Error::TimedOut(_))) => return Err(error),
        // Most often no day was ever recorded, and the table does not exist yet.
        Err(error) => {
            let error = Error::Query(format!(
                "target `{}`: flow and timed KPIs read the membership history, and {} cannot be \
                 read ({error}); record the days with {}",
                target.target,
                days_table.join("."),
                backfill(&needed),
            ));
            return Ok(HistoryCheck::Missing {
                days: needed,
                error,
            });
        }
    };
    let mut recorded: std::collections::HashMap<String, Vec<(NaiveDate, String)>> =
        std::collections::HashMap::new();
    for row in &result.rows {
        let day = match row.get(1) {
            Some(Cell::Date(day)) => *day,
            Some(Cell::Timestamp(at)) => at.date(),
            Some(Cell::Text(text)) => match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
                Ok(day) => day,
                Err(_) => continue,
            },
            _ => continue,
        };
        if let (Some(Cell::Text(segment)), Some(Cell::Text(hash))) = (row.first(), row.get(2)) {
            recorded
                .entry(segment.clone())
                .or_default()
                .push((day, hash.clone()));
        }
    }
    let mut missing: Vec<String> = Vec::new();
    let mut changed = vec![Vec::new(); spans.len()];
    let mut missing_days = std::collections::BTreeSet::new();
    for row in &plan.rows {
        let Some(id) = row.segment else { continue };
        let name = &project.segment(id).name;
        let days = recorded.get(name).map(Vec::as_slice).unwrap_or_default();
        let gaps: Vec<NaiveDate> = needed
            .iter()
            .copied()
            .filter(|day| !days.iter().any(|(d, _)| d == day))
            .collect();
        if !gaps.is_empty() {
            missing.push(format!("{name} ({})", ranges(&gaps)));
            missing_days.extend(gaps);
        }
        for ((from, to), changed) in spans.iter().zip(&mut changed) {
            let mut hashes: Vec<&str> = days
                .iter()
                .filter(|(day, _)| day >= from && day <= to)
                .map(|(_, hash)| hash.as_str())
                .collect();
            hashes.sort_unstable();
            hashes.dedup();
            if hashes.len() > 1 {
                changed.push(name.clone());
            }
        }
    }
    if !missing_days.is_empty() {
        let days: Vec<NaiveDate> = missing_days.into_iter().collect();
        let shown: Vec<&str> = missing.iter().take(5).map(String::as_str).collect();
        let more = missing.len().saturating_sub(shown.len());
        // The days read as ranges: one per period (and the day before it), merged where
        // they meet, not every day from the first to the last.
        let error = Error::Query(format!(
            "target `{}`: flow and timed KPIs need the membership history of every day of {}, \
             and days are missing: {}{}. Record them with {}",
            target.target,
            ranges(&needed),
            shown.join("; "),
            if more > 0 {
                format!("; and {more} more segments")
            } else {
                String::new()
            },
            backfill(&days),
        ));
        return Ok(HistoryCheck::Missing { days, error });
    }
    Ok(HistoryCheck::Recorded(changed))
}

fn day_literal(dialect: &crate::dialect::Dialect, day: NaiveDate) -> String {
    format!(
        "CAST({} AS {})",
        dialect.string_literal(&day.to_string()),
        dialect.types.date
    )
}

/// Sorted days as ranges: `2026-01-01..2026-01-31, 2026-03-04`.
pub fn ranges(days: &[NaiveDate]) -> String {
    spans(days)
        .into_iter()
        .map(|(a, b)| match a == b {
            true => a.to_string(),
            false => format!("{a}..{b}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Sorted days as runs of consecutive days, each its first and last.
fn spans(days: &[NaiveDate]) -> Vec<(NaiveDate, NaiveDate)> {
    let mut out = Vec::new();
    let mut start = 0;
    for index in 1..=days.len() {
        if index == days.len() || days[index - 1].succ_opt() != Some(days[index]) {
            out.push((days[start], days[index - 1]));
            start = index;
        }
    }
    out
}

/// The `segc snapshot` commands that record `days` (sorted): one per run of consecutive
/// days, up to three (a comparison's two periods, a day before a period), else one from the
/// first day to the last.
fn backfill(days: &[NaiveDate]) -> String {
    let runs = spans(days);
    let runs = match runs.len() {
        0..=3 => runs,
        _ => vec![(runs[0].0, runs[runs.len() - 1].1)],
    };
    runs.iter()
        .map(|(from, to)| format!("`segc snapshot --from {from} --to {to}`"))
        .collect::<Vec<_>>()
        .join(" and ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(list: &[&str]) -> Vec<NaiveDate> {
        list.iter().map(|day| day.parse().unwrap()).collect()
    }

    #[test]
    fn missing_days_are_named_as_runs_and_recorded_by_a_command_per_run() {
        let two = days(&["2023-03-19", "2023-03-20", "2023-03-21", "2024-03-19"]);
        assert_eq!(ranges(&two), "2023-03-19..2023-03-21, 2024-03-19");
        assert_eq!(
            backfill(&two),
            "`segc snapshot --from 2023-03-19 --to 2023-03-21` and \
             `segc snapshot --from 2024-03-19 --to 2024-03-19`"
        );
        // More than three runs: one command over them all.
        let four = days(&["2024-01-01", "2024-01-03", "2024-01-05", "2024-01-07"]);
        assert_eq!(
            backfill(&four),
            "`segc snapshot --from 2024-01-01 --to 2024-01-07`"
        );
        assert_eq!(ranges(&[]), "");
    }

    fn project(yaml: &str) -> Project {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("segc_project.yml"),
            "name: p\ndefinitions: defs\nas_of: 2024-03-31\n",
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("defs")).unwrap();
        std::fs::write(dir.path().join("defs/a.yml"), yaml).unwrap();
        crate::validate::load_and_validate(dir.path()).unwrap()
    }

    const SOURCES: &str = "sources:\n  users: { table: app.users, key: { column: user_id, type: integer }, columns: { signup_at: created_at, country: { column: country, type: string } } }\nattributes:\n  country: { source: users, column: country, type: string }\n";

    fn hash(yaml: &str, segment: &str) -> String {
        let project = project(yaml);
        let id = project
            .segments
            .iter()
            .position(|s| s.name == segment)
            .unwrap();
        definition_hash(&project, SegmentId(id)).unwrap()
    }

    /// The membership statement of segment `s` on the hash's fixed day, for `dialect`.
    fn membership_sql(project: &Project, dialect: &crate::dialect::Dialect) -> String {
        let day = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap();
        let options = crate::plan::ReportOptions {
            select: vec!["s".into()],
            as_of: Some(day),
            ..Default::default()
        };
        let plan = crate::plan::Plan::membership(project, &options, day).unwrap();
        crate::render::render_overlap(&plan, dialect, None).unwrap()
    }

    /// DuckDB's exact form of strings (`COLLATE "binary"`) changes no hash: a segment's hash
    /// is the one of the statement spelled as before it (every macro of DuckDB's but `exact`
    /// and `code_points`, and `contains` without them), with string conditions of each kind
    /// and a string key.
    #[test]
    fn the_hash_leaves_out_the_exact_form_of_strings() {
        const BEFORE: &str = "{% macro days_between(start, end) %}date_diff('day', {{ start }}, {{ end }}){% endmacro %}\n\
            {% macro contains(haystack, needle) %}(strpos({{ haystack }}, {{ needle }}) > 0){% endmacro %}\n\
            {% macro day_bit(offset) %}(CAST(1 AS BIGINT) << ({{ offset }})){% endmacro %}\n\
            {% macro count_day_bits(bits) %}CAST(COALESCE(BIT_COUNT(BIT_OR({{ bits }})), 0) AS BIGINT){% endmacro %}\n";
        let yaml = format!(
            "{}segments:\n  - {{ name: s, all: [ {{ country: {{ in: [DE, FR] }} }}, {{ country: {{ contains: E }} }}, {{ country: {{ starts_with: D }} }}, {{ country: {{ ne: \"(x)\" }} }} ] }}\n",
            SOURCES.replace("type: integer }", "type: string }")
        );
        let project = project(&yaml);
        let mut before = crate::dialect::Dialect::load("duckdb").unwrap();
        let now = crate::dialect::Dialect::load("duckdb").unwrap();
        before.macros = BEFORE;
        let sql = membership_sql(&project, &now);
        // The key, `in`, `starts_with`, `ne`, and both sides of `contains`.
        assert_eq!(sql.matches(" COLLATE \"binary\")").count(), 6, "{sql}");
        assert_eq!(
            definition_hash(&project, SegmentId(0)).unwrap(),
            hash_as_compiled(&project, SegmentId(0), &before).unwrap()
        );
    }

    /// A condition's fractional number is written as a double (`CAST(0.5 AS DOUBLE)`), which
    /// changes no hash: the hash is the one of the statement with the number bare.
    #[test]
    fn the_hash_leaves_out_the_casts_of_fractional_numbers() {
        let yaml = format!(
            "{SOURCES}  spend: {{ source: users, column: spend, type: number }}\nsegments:\n  - {{ name: s, all: [ {{ spend: {{ gte: 0.5 }} }}, {{ spend: {{ in: [-1.25, 2.5] }} }} ] }}\n"
        )
        .replace(
            "country: { column: country, type: string } }",
            "country: { column: country, type: string }, spend: { column: spend, type: number } }",
        );
        let project = project(&yaml);
        let duckdb = crate::dialect::Dialect::load("duckdb").unwrap();
        let sql = membership_sql(&project, &duckdb);
        let casts = [
            ("CAST(0.5 AS DOUBLE)", "0.5"),
            ("CAST((-1.25) AS DOUBLE)", "(-1.25)"),
            ("CAST(2.5 AS DOUBLE)", "2.5"),
        ];
        let mut bare = sql.clone();
        for (cast, number) in casts {
            assert!(sql.contains(cast), "{cast}: {sql}");
            bare = bare.replace(cast, number);
        }
        let expected = crate::artifacts::sha256(&without_comments(&bare))[..16].to_string();
        assert_eq!(definition_hash(&project, SegmentId(0)).unwrap(), expected);
        assert_ne!(
            hash_as_compiled(&project, SegmentId(0), &duckdb).unwrap(),
            expected
        );
    }

    /// Hashes recorded by histories stay as they were when conditions wrote fractional
    /// numbers bare and exact sums were cut in four pieces: these are the hashes segc
    /// recorded for these segments before either changed (`segc snapshot`, 2024-03-31).
    #[test]
    fn hashes_recorded_before_fractions_were_cast_and_sums_cut_finer_stay_the_same() {
        let yaml = "sources:\n  users: { table: app.users, key: { column: user_id, type: integer }, columns: { signup_at: created_at, country: { column: country, type: string }, spend: { column: spend, type: number } } }\n\
            \x20 orders: { table: app.orders, user_key: { column: user_id, type: integer }, time: { column: ordered_at, type: timestamp }, columns: { amount: { column: amount, type: number } } }\n\
            attributes:\n  country: { source: users, column: country, type: string }\n  spend: { source: users, column: spend, type: number }\n\
            \x20 revenue: { source: orders, agg: sum, column: amount, window: 30d }\n  basket: { source: orders, agg: avg, column: amount }\n\
            segments:\n  - { name: fractions, all: [ { spend: { gte: 0.5 } }, { spend: { in: [-1.25, 3] } } ] }\n\
            \x20 - { name: spenders, all: [ { revenue: { gte: 10.5 } } ] }\n\
            \x20 - { name: baskets, any: [ { basket: { lt: 2 } }, { country: { eq: DE } } ] }\n";
        for (segment, recorded) in [
            ("fractions", "f255676b2aaba8c4"),
            ("spenders", "f48f1769fe8eb535"),
            ("baskets", "fd66f47580681862"),
        ] {
            assert_eq!(hash(yaml, segment), recorded, "{segment}");
        }
    }

    #[test]
    fn the_hash_follows_the_definition_not_its_place_or_neighbours() {
        let de = format!(
            "{SOURCES}segments:\n  - {{ name: de, all: [ {{ country: {{ eq: DE }} }} ] }}\n"
        );
        let fr = format!(
            "{SOURCES}segments:\n  - {{ name: de, all: [ {{ country: {{ eq: FR }} }} ] }}\n"
        );
        let moved = format!(
            "{SOURCES}\n\n# a comment\nsegments:\n  - {{ name: other, all: [ {{ country: {{ eq: US }} }} ] }}\n  - {{ name: de, all: [ {{ country: {{ eq: DE }} }} ] }}\n"
        );
        assert_eq!(hash(&de, "de").len(), 16);
        assert_ne!(hash(&de, "de"), hash(&fr, "de"));
        assert_eq!(hash(&de, "de"), hash(&moved, "de"));
    }
}
