//! Spells quintile scores, membership flags (a drill-down's built on its parent's) and the
//! list of reported rows with the condition that puts a member in each.

use crate::render::alias::{self, Alias};
use minijinja::Value;
use serde::Serialize;

use crate::error::Error;
use crate::ir::{AttributeKind, Condition, SegmentId};
use crate::plan::statement::{Flag, Membership, Statement};

use super::expr::Sql;
use super::{Item, Names, comment_text};

/// A stage adding the flags of drill-downs whose parents' flags an earlier stage holds.
#[derive(Serialize)]
pub(super) struct MemberStage {
    pub(super) name: String,
    /// The stage before, whose columns this one carries.
    source: String,
    columns: Vec<Item>,
}

/// A row of the report's row list: its position, then its segment's name and its parent's
/// as SQL values (a string literal, or a typed NULL), then its bit in a membership
/// signature: the word's number and the bit as a number (0 for `all_users`: every member),
/// and the byte of the word that holds the bit (0 for `all_users`).
#[derive(Serialize)]
pub(super) struct RowItem {
    ordinal: usize,
    segment: String,
    parent: String,
    word: usize,
    byte: usize,
    bit: String,
}

/// The flags and rows of a report.
#[derive(Default)]
pub(super) struct Members {
    /// Columns of the first membership stage: formula columns, then flags.
    pub(super) columns: Vec<Item>,
    pub(super) stages: Vec<MemberStage>,
    pub(super) rows: Vec<RowItem>,
}

/// A quintile score's stage: the least value that scores 2, 3, 4 and 5 (the greatest, where
/// the lowest values score best), per period in a series. It ranks the distinct values of
/// the scored attribute, with how many users hold each: a value's rank is the number of
/// users before it, so one GROUP BY and a window over the distinct values replace a sort of
/// every user's row. A score never falls as the value rises (or, lowest best, as it falls),
/// so four bounds give each user's score: one row to cross-join (one per period), where a
/// join on the value misled PostgreSQL's row estimates of every later stage.
#[derive(Serialize)]
pub(super) struct ScoreStage {
    /// The stage's name, quoted.
    name: String,
    /// Its alias where the scores stage joins it, quoted.
    alias: String,
    comment: String,
    /// The scored value, over the attributes stage.
    value: String,
    /// The period of an attributes row, in a series.
    period: Option<String>,
    /// The score, over the values stage's `segc_value` and `segc_count`.
    score: String,
    /// The bounds of the scores 2 to 5, over the scored values (`segc_value`, `segc_score`).
    bounds: Vec<Item>,
    /// How the scores stage finds a user's period's row, in a series (else it is the only
    /// row).
    on: Option<String>,
}

/// Quintile scores, in a stage of their own so that conditions and KPIs read them as
/// columns: where the attributes stage can be read twice (`stages_computed_once`), a stage per
/// score ranks its distinct values into four bounds the scores stage compares each user's
/// value with; elsewhere a score is a window over every user (of each period).
pub(super) fn scores(
    sql: &mut Sql<'_, '_>,
    statement: &Statement<'_>,
    names: &Names<'_>,
) -> Result<(Vec<Item>, Vec<ScoreStage>), Error> {
    let project = statement.plan().project;
    let mut columns = Vec::new();
    let mut stages = Vec::new();
    let sql = &mut sql.reading_spine_from(Alias::Attributes);
    let period = sql.period_key(Alias::Attributes);
    let values = names.alias(Alias::ScoreValues);
    let q = |name: &str| names.q(name);
    for id in &statement.scores {
        let attribute = project.attribute(*id);
        let AttributeKind::Quintile { of, best_lowest } = attribute.kind else {
            continue;
        };
        let value = sql.attribute_value(of, Alias::Attributes)?;
        let direction = if best_lowest { "DESC" } else { "ASC" };
        let comment = comment_text(&format!("{} ({})", attribute.name, attribute.origin));
        if !names.dialect.capabilities.stages_computed_once() {
            let by = period.clone().unwrap_or_default();
            columns.push(Item {
                sql: sql.call(
                    "quintile",
                    &[Value::from(value), Value::from(direction), Value::from(by)],
                )?,
                alias: names.q(&attribute.name),
                comment,
            });
            continue;
        }
        let by = period
            .as_ref()
            .map(|_| format!("{values}.{}", q("segc_period")))
            .unwrap_or_default();
        let score = sql.call(
            "quintile_of_values",
            &[
                Value::from(format!("{values}.{}", q("segc_count"))),
                Value::from(format!("{values}.{}", q("segc_value"))),
                Value::from(direction),
                Value::from(by),
            ],
        )?;
        let alias = names.q(&alias::score(stages.len() + 1));
        let (pick, reaches) = if best_lowest {
            ("MAX", "<=")
        } else {
            ("MIN", ">=")
        };
        let bound = |score: u32| q(&format!("segc_from_{score}"));
        let bounds = (2..=5)
            .map(|score| Item {
                sql: format!(
                    "{pick}(CASE WHEN {values}.{} >= {score} THEN {values}.{} END)",
                    q("segc_score"),
                    q("segc_value")
                ),
                alias: bound(score),
                comment: String::new(),
            })
            .collect();
        let mut case = String::from("CASE");
        for score in (2..=5).rev() {
            case.push_str(&format!(
                " WHEN {value} {reaches} {alias}.{} THEN {score}",
                bound(score)
            ));
        }
        case.push_str(&format!(" WHEN {value} IS NOT NULL THEN 1 END"));
        let on = period
            .as_ref()
            .map(|period| format!("{alias}.{} = {period}", q("segc_period")));
        columns.push(Item {
            sql: sql.call("cast", &[Value::from(case), Value::from("bigint")])?,
            alias: names.q(&attribute.name),
            comment: comment.clone(),
        });
        stages.push(ScoreStage {
            name: names.q(&format!("segc_score_{}", stages.len() + 1)),
            alias,
            comment,
            value,
            period: period.clone(),
            score,
            bounds,
            on,
        });
    }
    Ok((columns, stages))
}

/// Formula columns KPIs aggregate, one membership flag per segment stage by stage, and the
/// reported rows.
pub(super) fn members(
    sql: &mut Sql<'_, '_>,
    statement: &Statement<'_>,
    names: &Names<'_>,
    membership: &Membership,
) -> Result<Members, Error> {
    let project = statement.plan().project;
    let sql = &mut sql.reading_spine_from(Alias::Attributes);
    let mut columns = Vec::new();
    for id in &membership.formulas {
        let attribute = project.attribute(*id);
        columns.push(Item {
            sql: sql.attribute_value(*id, Alias::Attributes)?,
            alias: names.q(&attribute.name),
            comment: comment_text(&format!("{} ({})", attribute.name, attribute.origin)),
        });
    }
    let mut stages: Vec<MemberStage> = Vec::new();
    for (number, flags) in membership.stages.iter().enumerate() {
        let items = flags
            .iter()
            .map(|flag| flag_column(sql, statement, names, flag))
            .collect::<Result<Vec<_>, _>>()?;
        if number == 0 {
            columns.extend(items);
        } else {
            let source = match stages.last() {
                Some(before) => before.name.clone(),
                None => names.q("segc_members"),
            };
            stages.push(MemberStage {
                name: names.q(&format!("segc_members_{number}")),
                source,
                columns: items,
            });
        }
    }
    let rows = rows(sql, statement, names, membership)?;
    Ok(Members {
        columns,
        stages,
        rows,
    })
}

/// The flag column of a segment's members.
pub(super) fn flag_name(statement: &Statement<'_>, names: &Names<'_>, id: SegmentId) -> String {
    let project = statement.plan().project;
    names.q(&format!("segc_in_{}", project.segment(id).name))
}

/// A drill-down's flag is its parent's flag, from the stage before, and its own conditions:
/// the parent's conditions are written once, whatever its children.
fn flag_column(
    sql: &mut Sql<'_, '_>,
    statement: &Statement<'_>,
    names: &Names<'_>,
    flag: &Flag,
) -> Result<Item, Error> {
    let project = statement.plan().project;
    let segment = project.segment(flag.segment);
    let own = match &segment.condition {
        Condition::True => None,
        condition => Some(sql.condition(condition, Alias::Attributes)?),
    };
    let (condition, drills_from) = match flag.parent {
        Some(parent) => {
            let inherited = format!(
                "{}.{} = 1",
                names.alias(Alias::Attributes),
                flag_name(statement, names, parent)
            );
            let condition = match own {
                Some(own) => format!("{inherited} AND ({own})"),
                None => inherited,
            };
            let parent = &project.segment(parent).name;
            (condition, format!(", drill-down of {parent}"))
        }
        None => (own.unwrap_or_else(|| "1 = 1".into()), String::new()),
    };
    Ok(Item {
        sql: sql.call("flag", &[Value::from(condition)])?,
        alias: flag_name(statement, names, flag.segment),
        comment: comment_text(&format!(
            "segment {} ({}){drills_from}",
            segment.name, segment.origin
        )),
    })
}

/// The reported rows.
fn rows(
    sql: &mut Sql<'_, '_>,
    statement: &Statement<'_>,
    names: &Names<'_>,
    membership: &Membership,
) -> Result<Vec<RowItem>, Error> {
    let project = statement.plan().project;
    // Names are user text: written only as the dialect's string literals. A missing parent
    // is a typed NULL, so that the row list's UNION ALL is a string column on every engine
    // (to SQL Server a bare NULL is an int).
    let no_parent = sql.call("cast", &[Value::from("NULL"), Value::from("varchar")])?;
    let mut rows = Vec::new();
    for (row, bit) in membership.rows.iter().zip(&membership.bits) {
        // A bigint column on every engine, whatever its first row.
        let value: u64 = bit.map_or(0, |(_, bit)| 1 << bit);
        rows.push(RowItem {
            ordinal: row.ordinal,
            segment: names.string(row.name(project)),
            parent: row
                .parent(project)
                .map_or_else(|| no_parent.clone(), |name| names.string(name)),
            word: bit.map_or(0, |(word, _)| word),
            byte: bit.map_or(0, |(_, bit)| super::signatures::byte_of(bit)),
            bit: sql.call(
                "cast",
                &[Value::from(value.to_string()), Value::from("bigint")],
            )?,
        });
    }
    Ok(rows)
}
