//! Condition masks: a wide report's segment conditions evaluated once per distinct value
//! they read instead of once per user (where the dialect says so: `masks_from_rows`).
//!
//! A segment's membership is an AND of conjuncts (its `all`, its parent's and the segments
//! it names with `in_segment`, flattened). Each conjunct reads a few attributes: their
//! values, or only whether they are NULL (`is_null`). Conjuncts reading the same attributes
//! in the same way share a stage, `segc_mask_<n>`: one row per distinct tuple of those
//! values among the users, with the signature words it gives, where each segment's bit is
//! set when its conjuncts on that tuple all hold (and always, for a segment with none).
//! A user's word is then the AND of the words of the tuples it has: its bit is set when
//! every conjunct holds, as the segment's flag would say. Each conjunct is written as
//! for the flag, over the tuple's columns, so it reads NULLs, strings and days alike.
//! Strings are keyed exactly (the dialect's `exact`), so a collation that folds case does
//! not make two values one tuple.

use std::collections::BTreeMap;

use minijinja::Value;
use serde::Serialize;

use crate::error::Error;
use crate::ir::{AttributeId, Condition, Operand, Predicate, Project, ValueType};
use crate::plan::statement::Membership;

use super::alias::Alias;
use super::expr::Sql;
use super::signatures::word_literal;
use super::{Item, Names};

/// How many conjuncts a mask stage must replace, at least, to be written: a stage is a
/// join of every user to its distinct values.
const STAGE_COST: usize = 4;

/// What a conjunct reads of an attribute: its value, or only whether it is NULL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Read {
    Value(AttributeId),
    Null(AttributeId),
}

/// One stage of masks: the distinct tuples of its keys among the users, and the words each
/// gives.
#[derive(Serialize)]
pub(super) struct MaskStage {
    /// The stage's name, quoted.
    name: String,
    /// Each key over the scores (or attributes) stage, and its column.
    keys: Vec<Item>,
    /// Each word of the signature over the distinct tuples.
    words: Vec<Item>,
}

/// The masks of a report: their stages, the joins that give each member its tuples' words,
/// and the words of its signature.
pub(super) struct Masks {
    pub(super) stages: Vec<MaskStage>,
    pub(super) joins: Vec<String>,
    pub(super) words: Vec<String>,
}

/// A condition's conjuncts: `all` flattened, and `in_segment` read as that segment's
/// membership (its parent's included).
fn conjuncts(project: &Project, condition: &Condition, into: &mut Vec<Condition>) {
    match condition {
        Condition::True => {}
        Condition::All(items) => {
            for item in items {
                conjuncts(project, item, into);
            }
        }
        Condition::InSegment(id) => conjuncts(project, &project.membership(*id), into),
        other => into.push(other.clone()),
    }
}

/// The attributes `condition` reads, each with whether its value is read (else only its
/// NULL-ness); false where it reads anything else.
fn reads(project: &Project, condition: &Condition, into: &mut BTreeMap<AttributeId, bool>) -> bool {
    match condition {
        Condition::True => true,
        Condition::All(items) | Condition::Any(items) => {
            items.iter().all(|item| reads(project, item, into))
        }
        Condition::Not(inner) => reads(project, inner, into),
        Condition::InSegment(id) => reads(project, &project.membership(*id), into),
        Condition::Predicate {
            operand: Operand::Attribute(id),
            predicate,
        } => {
            let value = into.entry(*id).or_insert(false);
            *value |= !matches!(predicate, Predicate::IsNull(_));
            true
        }
        Condition::Predicate { .. } => false,
    }
}

/// `key` (a mask's column) and `value` (a member's) are both NULL or equal, as a join
/// condition the engine can hash: `IS NOT DISTINCT FROM` where it hashes that
/// (`hashed_not_distinct`), else whether each is NULL and each with NULL replaced by a
/// value of its type (any value: the NULLs are told apart by the first equality). None
/// where the type is unknown.
fn same_value(
    sql: &mut Sql<'_, '_>,
    hashed_not_distinct: bool,
    key: &str,
    value: &str,
    value_type: ValueType,
) -> Result<Option<String>, Error> {
    if hashed_not_distinct {
        return Ok(Some(format!("{key} IS NOT DISTINCT FROM {value}")));
    }
    let stand_in = match value_type {
        // Booleans are 1/0 flags in every stage.
        ValueType::Number | ValueType::Integer | ValueType::Boolean => "0".to_string(),
        ValueType::String => sql.exact_literal("")?,
        ValueType::Date => sql.date(chrono::NaiveDate::default())?,
        ValueType::Timestamp => sql.timestamp(chrono::NaiveDateTime::default())?,
        ValueType::Unknown => return Ok(None),
    };
    Ok(Some(format!(
        "({key} IS NULL) = ({value} IS NULL) AND COALESCE({key}, {stand_in}) = COALESCE({value}, {stand_in})"
    )))
}

/// The masks of a report whose every reported segment's conjuncts read attributes alone, or
/// none where one does not, where no segment has a condition, or where the stages would
/// be many against the conjuncts ([`STAGE_COST`]). `signature` is the signature's words as
/// the flags give them: the masks' words take their names and comments.
pub(super) fn masks(
    sql: &mut Sql<'_, '_>,
    project: &Project,
    names: &Names<'_>,
    membership: &Membership,
    signature: &[Item],
    hashed_not_distinct: bool,
) -> Result<Option<Masks>, Error> {
    // The reported segments' bits, and per set of reads, each segment's conjuncts.
    let mut bits = Vec::new();
    let mut groups: BTreeMap<Vec<Read>, Vec<(usize, Vec<Condition>)>> = BTreeMap::new();
    for (row, bit) in membership.rows.iter().zip(&membership.bits) {
        let (Some(segment), Some((word, bit))) = (row.segment, bit) else {
            continue;
        };
        let index = bits.len();
        bits.push((*word, *bit));
        let mut parts = Vec::new();
        conjuncts(project, &project.membership(segment), &mut parts);
        for part in parts {
            let mut read = BTreeMap::new();
            if !reads(project, &part, &mut read) || read.is_empty() {
                return Ok(None);
            }
            let key: Vec<Read> = read
                .into_iter()
                .map(|(id, value)| {
                    if value {
                        Read::Value(id)
                    } else {
                        Read::Null(id)
                    }
                })
                .collect();
            let group = groups.entry(key).or_default();
            match group.last_mut() {
                Some((last, conditions)) if *last == index => conditions.push(part),
                _ => group.push((index, vec![part])),
            }
        }
    }
    // Each stage costs a join per user, where a conjunct costs a comparison or two: masks
    // pay where the stages are few against the conjuncts they replace.
    let conjunct_count: usize = groups
        .values()
        .flat_map(|segments| segments.iter().map(|(_, parts)| parts.len()))
        .sum();
    if groups.is_empty() || groups.len() * STAGE_COST > conjunct_count {
        return Ok(None);
    }
    // Strings are keyed exactly (a collation that folds case would otherwise merge two values
    // into one tuple), and the conditions then read the key as it is: a dialect whose `exact`
    // changes a string's value, not only how it compares (Redshift's and SQL Server's append
    // a character, which `from_exact` takes off again), keeps the flags where a key is a string.
    let exact_keeps_value = sql.call("from_exact", &[Value::from("v")])? == "v";
    let word_count = signature.len();
    let d = names.alias(Alias::Masks);
    let a = Alias::Attributes;
    let mut masks = Masks {
        stages: Vec::new(),
        joins: Vec::new(),
        words: vec![String::new(); word_count],
    };
    for (number, (key, segments)) in groups.iter().enumerate() {
        let name = names.q(&format!("segc_mask_{}", number + 1));
        let mut keys = Vec::new();
        let mut on = Vec::new();
        let mut values = Vec::new();
        for (position, read) in key.iter().enumerate() {
            let column = names.q(&format!("segc_key_{}", position + 1));
            let key_column = format!("{name}.{column}");
            let (over_users, join, value) = match *read {
                Read::Value(id) => {
                    let value_type = project.attribute(id).value_type;
                    let string = value_type == ValueType::String;
                    if string && !exact_keeps_value {
                        return Ok(None);
                    }
                    let over_users = sql.attribute_value(id, a)?;
                    let over_users = sql.exact(over_users, string)?;
                    let over_members = sql.attribute_value(id, Alias::Members)?;
                    let over_members = sql.exact(over_members, string)?;
                    let Some(join) = same_value(
                        sql,
                        hashed_not_distinct,
                        &key_column,
                        &over_members,
                        value_type,
                    )?
                    else {
                        return Ok(None);
                    };
                    (over_users, join, (id, format!("{d}.{column}")))
                }
                // Whether a value is NULL is never NULL itself: a plain equality.
                Read::Null(id) => (
                    format!("(({}) IS NULL)", sql.attribute_value(id, a)?),
                    format!(
                        "{key_column} = (({}) IS NULL)",
                        sql.attribute_value(id, Alias::Members)?
                    ),
                    (id, format!("CASE WHEN {d}.{column} THEN NULL ELSE 0 END")),
                ),
            };
            keys.push(Item::new(over_users, column.clone()));
            on.push(join);
            values.push(value);
        }
        let mut terms = vec![Vec::new(); word_count];
        let mut always = vec![0u64; word_count];
        let mut constrained = vec![false; bits.len()];
        {
            let sql = &mut sql.reading_values(values);
            for (index, conditions) in segments {
                constrained[*index] = true;
                let (word, bit) = bits[*index];
                let condition = sql.condition(&Condition::All(conditions.clone()), a)?;
                let flag = sql.call("flag", &[Value::from(condition)])?;
                let term = match word_literal(sql, 1 << bit)?.as_str() {
                    "1" => flag,
                    value => format!("{flag} * {value}"),
                };
                terms[word].push(term);
            }
        }
        for (index, (word, bit)) in bits.iter().enumerate() {
            if !constrained[index] {
                always[*word] |= 1 << bit;
            }
        }
        let mut words = Vec::new();
        for (word, mut terms) in terms.into_iter().enumerate() {
            if always[word] != 0 || terms.is_empty() {
                terms.insert(0, word_literal(sql, always[word])?);
            }
            let flags = &signature[word];
            words.push(Item {
                sql: sql.call(
                    "cast",
                    &[Value::from(terms.join(" + ")), Value::from("bigint")],
                )?,
                alias: flags.alias.clone(),
                comment: flags.comment.clone(),
            });
            let column = format!("{name}.{}", flags.alias);
            let combined = &mut masks.words[word];
            if combined.is_empty() {
                *combined = column;
            } else {
                combined.push_str(&format!(" & {column}"));
            }
        }
        // Every user has exactly one tuple of each stage. A LEFT JOIN says that much to the
        // planner: PostgreSQL estimated each inner join to halve the users (a 100-segment
        // report's 200,000 users as 98 rows, then a nested loop that took 21 s, not 5 s).
        masks
            .joins
            .push(format!("LEFT JOIN {name} ON {}", on.join(" AND ")));
        masks.stages.push(MaskStage { name, keys, words });
    }
    Ok(Some(masks))
}
