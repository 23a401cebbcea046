//! `segc snapshot`: the end of a statement that merges a run of days' memberships into the
//! history's intervals (see [`crate::history`]), and the smaller statements of its
//! transaction: deleting the intervals it rewrote, and recording its days.
//!
//! The merge reads the recorded intervals of the snapshotted segments that touch the days
//! (and every open one), cuts them around the days, adds a one-day piece per member and day,
//! and joins touching pieces under one definition hash into intervals (gaps and islands: a
//! piece starts a new interval unless the one before ends where it starts with the same
//! hash). An interval reaching the day after the last recorded day is left open.

use chrono::{Days, NaiveDate, NaiveDateTime};
use minijinja::Value;
use serde::Serialize;

use crate::dialect::Dialect;
use crate::error::Error;
use crate::plan::Plan;
use crate::plan::statement::Statement;

use super::alias::Alias;
use super::expr::Sql;
use super::{Ending, Names, PERIOD_COLUMN, statement_sql};

/// What a snapshot statement needs besides the days' plans.
#[derive(Debug, Clone)]
pub struct SnapshotSpec<'a> {
    /// The history (intervals) table and the days table.
    pub history: &'a [String],
    pub days: &'a [String],
    pub run_id: &'a str,
    pub recorded_at: NaiveDateTime,
    /// Each snapshotted segment's name and definition hash.
    pub segments: &'a [(String, String)],
}

/// A stage of the merge.
#[derive(Serialize)]
pub(super) struct Stage {
    name: String,
    comment: &'static str,
    sql: String,
}

/// What the template writes after `segc_segment_members`.
#[derive(Serialize)]
pub(super) struct SnapshotStage {
    pub(super) insert: String,
    stages: Vec<Stage>,
    select: String,
}

/// The statement merging `days` (one membership plan per day, in order) into the history.
pub fn render_snapshot(
    days: &[(String, Plan<'_>)],
    dialect: &Dialect,
    target: Option<&str>,
    spec: &SnapshotSpec<'_>,
) -> Result<String, Error> {
    let Some((_, latest)) = days.last() else {
        return Err(Error::Render("a snapshot needs at least one day".into()));
    };
    statement_sql(
        &Statement::snapshot(latest, days)?,
        dialect,
        target,
        Ending::Snapshot(spec),
    )
}

fn next(day: NaiveDate) -> NaiveDate {
    day.checked_add_days(Days::new(1)).unwrap_or(day)
}

/// The first and last day of a snapshot statement, whose days follow one another: it
/// replaces what the history holds from the first to the last, so a day left out between
/// them would lose its record.
fn span(statement: &Statement<'_>) -> Result<(NaiveDate, NaiveDate), Error> {
    let plans = statement.periods.plans();
    if plans
        .windows(2)
        .any(|pair| next(pair[0].time.as_of) != pair[1].time.as_of)
    {
        return Err(Error::Render(
            "a snapshot statement records consecutive days".into(),
        ));
    }
    match (plans.first(), plans.last()) {
        (Some(first), Some(last)) => Ok((first.time.as_of, last.time.as_of)),
        _ => Err(Error::Render("a snapshot needs at least one day".into())),
    }
}

pub(super) fn stage(
    sql: &mut Sql<'_, '_>,
    statement: &Statement<'_>,
    names: &Names<'_>,
    spec: &SnapshotSpec<'_>,
) -> Result<SnapshotStage, Error> {
    let dialect = names.dialect;
    let q = |name: &str| names.q(name);
    let col = |alias: Alias, name: &str| format!("{}.{}", names.alias(alias), q(name));
    let project = names.string(&statement.plan().project.name);
    let (first, last) = span(statement)?;
    let (a, b1) = (sql.date(first)?, sql.date(next(last))?);
    let Some(membership) = &statement.membership else {
        return Err(Error::Render("a snapshot needs membership".into()));
    };

    let mut days = Vec::new();
    for (index, plan) in statement.periods.plans().into_iter().enumerate() {
        let day = plan.time.as_of;
        days.push(format!(
            "SELECT {index} AS {}, {} AS {}, {} AS {}",
            q(PERIOD_COLUMN),
            sql.date(day)?,
            q("segc_day"),
            sql.date(next(day))?,
            q("segc_next"),
        ));
    }
    let mut segments = Vec::new();
    for row in membership.rows.iter().filter(|row| row.segment.is_some()) {
        let name = row.name(statement.plan().project);
        let hash = spec
            .segments
            .iter()
            .find(|(segment, _)| segment == name)
            .map(|(_, hash)| hash.as_str())
            .ok_or_else(|| Error::Render(format!("no definition hash for `{name}`")))?;
        segments.push(format!(
            "SELECT {} AS {}, {} AS {}, {} AS {}",
            row.ordinal,
            q("segc_row"),
            names.string(name),
            q("segment"),
            names.string(hash),
            q("definition_hash"),
        ));
    }
    if segments.is_empty() {
        return Err(Error::Render(
            "a snapshot needs at least one segment".into(),
        ));
    }

    let (history, day_table) = (
        dialect.quote_path(spec.history),
        dialect.quote_path(spec.days),
    );
    let (h, e, i, y, g) = (
        names.alias(Alias::History),
        names.alias(Alias::Recorded),
        names.alias(Alias::Piece),
        names.alias(Alias::Day),
        names.alias(Alias::Snapshotted),
    );
    let project_name = &statement.plan().project.name;
    let recorded_project = sql.same_string_as(col(Alias::Day, "project"), project_name)?;
    let recorded_segment = sql.same_strings(
        col(Alias::Day, "segment"),
        col(Alias::Snapshotted, "segment"),
    )?;
    let next_day = col(Alias::Day, "next_day");
    let recorded = format!(
        "SELECT {g}.{seg}, MAX({next_day}) AS {old}, CASE WHEN MAX({next_day}) > {b1} THEN MAX({next_day}) ELSE {b1} END AS {open}\n  \
         FROM {snapshotted} AS {g}\n  LEFT JOIN {day_table} AS {y} ON {recorded_project} AND {recorded_segment}\n  GROUP BY {g}.{seg}",
        seg = q("segment"),
        old = q("segc_old_end"),
        open = q("segc_open_end"),
        snapshotted = q("segc_snapshotted"),
    );
    let history_project = sql.same_string_as(col(Alias::History, "project"), project_name)?;
    let history_segment = sql.same_strings(
        col(Alias::Recorded, "segment"),
        col(Alias::History, "segment"),
    )?;
    let (from, to) = (
        col(Alias::History, "valid_from"),
        col(Alias::History, "valid_to"),
    );
    let old = format!(
        "SELECT {h}.{seg}, {h}.{user}, {from} AS {vf}, COALESCE({to}, {e}.{old_end}) AS {vt}, {h}.{hash}\n  \
         FROM {history} AS {h}\n  JOIN {recorded} AS {e} ON {history_segment}\n  \
         WHERE {history_project} AND ({to} IS NULL OR ({from} <= {b1} AND {to} >= {a}))",
        seg = q("segment"),
        user = q("user_key"),
        vf = q("valid_from"),
        vt = q("valid_to"),
        hash = q("definition_hash"),
        old_end = q("segc_old_end"),
        recorded = q("segc_recorded"),
    );
    let user = sql.key_text(
        names.project.source(names.project.users_source()),
        col(Alias::Members, "segc_user"),
    )?;
    let user = sql.call("united", &[Value::from(user)])?;
    let piece = |column: &str| col(Alias::Piece, column);
    let old_segment = sql.call("united", &[Value::from(piece("segment"))])?;
    let old_user = sql.call("united", &[Value::from(piece("user_key"))])?;
    let new_segment = sql.call("united", &[Value::from(col(Alias::Snapshotted, "segment"))])?;
    let old_hash = sql.call("united", &[Value::from(piece("definition_hash"))])?;
    let new_hash = sql.call(
        "united",
        &[Value::from(col(Alias::Snapshotted, "definition_hash"))],
    )?;
    let pieces = format!(
        "SELECT {old_segment} AS {seg}, {old_user} AS {user_key}, {i}.{vf}, CASE WHEN {pvt} < {a} THEN {pvt} ELSE {a} END AS {vt}, {old_hash} AS {hash} FROM {old} AS {i} WHERE {pvf} < {a}\n  \
         UNION ALL\n  \
         SELECT {old_segment}, {old_user}, CASE WHEN {pvf} > {b1} THEN {pvf} ELSE {b1} END, {i}.{vt}, {old_hash} FROM {old} AS {i} WHERE {pvt} > {b1}\n  \
         UNION ALL\n  \
         SELECT {new_segment}, {user}, {y}.{day}, {y}.{next}, {new_hash}\n  \
         FROM {members} AS {m}\n  JOIN {days} AS {y} ON {y}.{period} = {m}.{period}\n  JOIN {snapshotted} AS {g} ON {g}.{row} = {m}.{row}\n  \
         WHERE {m}.{member} IS NOT NULL",
        seg = q("segment"),
        user_key = q("user_key"),
        vf = q("valid_from"),
        vt = q("valid_to"),
        pvf = piece("valid_from"),
        pvt = piece("valid_to"),
        hash = q("definition_hash"),
        old = q("segc_old"),
        day = q("segc_day"),
        next = q("segc_next"),
        members = q("segc_segment_members"),
        m = names.alias(Alias::Members),
        days = q("segc_days"),
        period = q(PERIOD_COLUMN),
        snapshotted = q("segc_snapshotted"),
        row = q("segc_row"),
        // A user without a key cannot be followed from day to day: not recorded.
        member = q("segc_user"),
    );
    let partition = format!(
        "PARTITION BY {}, {} ORDER BY {}",
        sql.exact_string(piece("segment"))?,
        sql.exact_string(piece("user_key"))?,
        piece("valid_from"),
    );
    let starts = format!(
        "SELECT {i}.*, CASE WHEN LAG({pvt}) OVER ({partition}) = {pvf} AND LAG({phash}) OVER ({partition}) = {phash} THEN 0 ELSE 1 END AS {start}\n  FROM {pieces} AS {i}",
        pvt = piece("valid_to"),
        pvf = piece("valid_from"),
        phash = piece("definition_hash"),
        start = q("segc_start"),
        pieces = q("segc_pieces"),
    );
    let islands = format!(
        "SELECT {i}.*, SUM({start}) OVER ({partition} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS {island}\n  FROM {starts} AS {i}",
        start = piece("segc_start"),
        island = q("segc_island"),
        starts = q("segc_starts"),
    );
    let null_date = sql.call("cast", &[Value::from("NULL"), Value::from("date")])?;
    let recorded_at = sql.timestamp(spec.recorded_at)?;
    let island_segment = sql.same_strings(col(Alias::Recorded, "segment"), piece("segment"))?;
    let exact_user = sql.exact_string(piece("user_key"))?;
    let open_end = col(Alias::Recorded, "segc_open_end");
    let select = format!(
        "SELECT\n  {project},\n  {i}.{seg},\n  MIN({puser}),\n  MIN({pvf}),\n  CASE WHEN MAX({pvt}) >= {open_end} THEN {null_date} ELSE MAX({pvt}) END,\n  MIN({phash}),\n  {run},\n  {recorded_at}\n\
         FROM {islands} AS {i}\nJOIN {recorded} AS {e} ON {island_segment}\n\
         GROUP BY {i}.{seg}, {exact_user}, {pisland}, {open_end}",
        seg = q("segment"),
        puser = piece("user_key"),
        pvf = piece("valid_from"),
        pvt = piece("valid_to"),
        phash = piece("definition_hash"),
        run = names.string(spec.run_id),
        islands = q("segc_islands"),
        recorded = q("segc_recorded"),
        pisland = piece("segc_island"),
    );
    let stage = |name: &str, comment: &'static str, sql: String| Stage {
        name: q(name),
        comment,
        sql,
    };
    let union = |rows: Vec<String>| rows.join(" UNION ALL\n  ");
    Ok(SnapshotStage {
        insert: format!(
            "INSERT INTO {history} ({})",
            crate::history::names(&crate::history::INTERVAL_COLUMNS)
                .iter()
                .map(|name| q(name))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        stages: vec![
            stage(
                "segc_days",
                "each day recorded, and the day after it",
                union(days),
            ),
            stage(
                "segc_snapshotted",
                "each segment recorded, with its definition hash",
                union(segments),
            ),
            stage(
                "segc_recorded",
                "per segment: the day after its last recorded day, before this run and after it",
                recorded,
            ),
            stage(
                "segc_old",
                "recorded intervals touching the days, and every open one (its end made explicit)",
                old,
            ),
            stage(
                "segc_pieces",
                "the old intervals cut around the days, and a one-day piece per member and day",
                pieces,
            ),
            stage(
                "segc_starts",
                "a piece starts an interval unless the one before ends where it starts, under the same hash",
                starts,
            ),
            stage("segc_islands", "each piece's interval, numbered", islands),
        ],
        select,
    })
}

/// The rest of a snapshot's transaction, after the merge's INSERT: the intervals it replaced
/// deleted (every touching or open one of the segments, but the run's own), the days'
/// records replaced.
pub fn render_snapshot_writes(
    days: &[(String, Plan<'_>)],
    dialect: &Dialect,
    spec: &SnapshotSpec<'_>,
) -> Result<(String, String, String), Error> {
    let (Some((_, first)), Some((_, last))) = (days.first(), days.last()) else {
        return Err(Error::Render("a snapshot needs at least one day".into()));
    };
    let env = super::environment(dialect)?;
    let periods = crate::plan::times::Periods::new(first, None);
    super::with_sql(&env, periods, dialect, |sql| {
        let q = |name: &str| dialect.quote_identifier(name);
        let project = dialect.string_literal(&first.project.name);
        let (a, b, b1) = (
            sql.date(first.time.as_of)?,
            sql.date(last.time.as_of)?,
            sql.date(next(last.time.as_of))?,
        );
        let mut segments = Vec::new();
        for (name, _) in spec.segments {
            segments.push(sql.same_string_as(q("segment"), name)?);
        }
        let segments = format!("({})", segments.join(" OR "));
        let of_project = sql.same_string_as(q("project"), &first.project.name)?;
        let exact_run = sql.exact_string(q("run_id"))?;
        let run = sql.exact_literal(spec.run_id)?;
        let (from, to) = (q("valid_from"), q("valid_to"));
        let delete_intervals = format!(
            "DELETE FROM {} WHERE {of_project}\n  AND {segments}\n  AND ({to} IS NULL OR ({from} <= {b1} AND {to} >= {a}))\n  AND {exact_run} <> {run}",
            dialect.quote_path(spec.history),
        );
        let delete_days = format!(
            "DELETE FROM {} WHERE {of_project}\n  AND {segments}\n  AND {day} >= {a} AND {day} <= {b}",
            dialect.quote_path(spec.days),
            day = q("day"),
        );
        let recorded_at = sql.timestamp(spec.recorded_at)?;
        let mut day_rows = Vec::new();
        for (_, plan) in days {
            let day = plan.time.as_of;
            day_rows.push(format!(
                "SELECT {} AS {}, {} AS {}",
                sql.date(day)?,
                q("day"),
                sql.date(next(day))?,
                q("next_day")
            ));
        }
        let segment_rows: Vec<String> = spec
            .segments
            .iter()
            .map(|(name, hash)| {
                format!(
                    "SELECT {} AS {}, {} AS {}",
                    dialect.string_literal(name),
                    q("segment"),
                    dialect.string_literal(hash),
                    q("definition_hash")
                )
            })
            .collect();
        let (s, d) = (
            Alias::Snapshotted.quoted(dialect),
            Alias::Day.quoted(dialect),
        );
        let insert_days = format!(
            "INSERT INTO {} ({})\nSELECT {project}, {s}.{seg}, {d}.{day}, {d}.{next}, {s}.{hash}, {}, {recorded_at}\nFROM ({}) AS {s}\nCROSS JOIN ({}) AS {d}",
            dialect.quote_path(spec.days),
            crate::history::names(&crate::history::DAY_COLUMNS)
                .iter()
                .map(|name| q(name))
                .collect::<Vec<_>>()
                .join(", "),
            dialect.string_literal(spec.run_id),
            segment_rows.join(" UNION ALL "),
            day_rows.join(" UNION ALL "),
            seg = q("segment"),
            day = q("day"),
            next = q("next_day"),
            hash = q("definition_hash"),
        );
        Ok((delete_intervals, delete_days, insert_days))
    })
}
