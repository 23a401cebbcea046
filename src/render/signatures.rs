//! Spells membership signatures (see [`crate::plan::statement::Membership`]): each member's
//! reported rows as bits of 64-bit words, the keys the signatures are grouped by, the test
//! of a signature (or a member's) against a reported row, and, with more than one word, the
//! groups per word that meet only their word's rows.

use minijinja::Value;

use crate::error::Error;
use crate::plan::statement::{Membership, SIGNATURE_BITS, Statement};

use super::alias::Alias;
use super::expr::Sql;
use super::{Item, Names};

/// The signature columns and conditions of a report.
#[derive(Default)]
pub(super) struct Signatures {
    /// The words of a member's signature (alias `m`), added to its row.
    pub(super) words: Vec<Item>,
    /// The columns the signatures are grouped by: the period in a series, then the words.
    pub(super) keys: Vec<Item>,
    /// Whether a signature or a member (alias `m`) is in a reported row (alias `s`, with its
    /// word's number and its bit): one bitwise AND, whatever the number of rows.
    pub(super) in_row: String,
    /// Each word's column (quoted) and the bits of its rows, as literals.
    pub(super) word_bits: Vec<(String, Vec<String>)>,
    /// With more than one word: the word numbers, as a SELECT (a column `segc_word`), …
    pub(super) word_list: Option<String>,
    /// … and a group's word for the number of the list (alias `j`).
    pub(super) word_value: String,
    /// With more than one word: each word's bytes that hold a reported row's bit, as a
    /// SELECT (columns `segc_word`, `segc_byte` and `segc_mask`, the byte's bits).
    pub(super) byte_list: Option<String>,
}

impl Signatures {
    /// Whether groups are grouped again per word before they meet the reported rows.
    pub(super) fn per_word(&self) -> bool {
        self.word_list.is_some()
    }

    /// The SELECT of a stage holding each group of `source` (alias `m`) in each reported row
    /// it is in (alias `s`). With one word, each group is tested against every row. With
    /// more, `source` holds a group per word and word's value (`segc_word`,
    /// `segc_signature`), tested only against its word's rows: in one join on the word's
    /// number, or in one SELECT per word where the dialect says so (`selects_per_word`).
    pub(super) fn rows_of(&self, names: &Names<'_>, source: &str) -> String {
        let m = names.alias(Alias::Members);
        let s = names.alias(Alias::Segments);
        let segments = names.q("segc_segments");
        let head = format!(
            "  SELECT\n    {s}.{},\n    {m}.*\n  FROM {source} AS {m}\n",
            names.q("segc_row")
        );
        if !self.per_word() {
            return format!(
                "{head}  CROSS JOIN {segments} AS {s}\n  WHERE {}",
                self.in_row
            );
        }
        let word = names.q("segc_word");
        let bit = format!("{s}.{}", names.q("segc_bit"));
        let test = format!("({m}.{} & {bit}) = {bit}", names.q("segc_signature"));
        if names.dialect.capabilities.selects_per_word {
            (0..self.word_bits.len())
                .map(|number| {
                    format!(
                        "{head}  CROSS JOIN {segments} AS {s}\n  WHERE {m}.{word} = {number} AND {s}.{word} = {number} AND {test}"
                    )
                })
                .collect::<Vec<_>>()
                .join("\n  UNION ALL\n")
        } else {
            format!("{head}  JOIN {segments} AS {s} ON {s}.{word} = {m}.{word}\n  WHERE {test}")
        }
    }

    /// The SELECT of a stage holding each group of `source` (alias `m`), grouped per word
    /// and byte (`segc_word`, `segc_byte`, and `segc_signature`, the word's value within the
    /// byte), in each reported row it is in (alias `s`). A row meets only the groups of its
    /// own byte, at most 256 values: the test runs a few times per row, not once per
    /// signature.
    pub(super) fn byte_rows_of(&self, names: &Names<'_>, source: &str) -> String {
        let m = names.alias(Alias::Members);
        let s = names.alias(Alias::Segments);
        let on = |name: &str| format!("{s}.{name} = {m}.{name}", name = names.q(name));
        let bit = format!("{s}.{}", names.q("segc_bit"));
        format!(
            "  SELECT\n    {s}.{},\n    {m}.*\n  FROM {source} AS {m}\n  JOIN {} AS {s} ON {} AND {}\n  WHERE ({m}.{} & {bit}) = {bit}",
            names.q("segc_row"),
            names.q("segc_segments"),
            on("segc_word"),
            on("segc_byte"),
            names.q("segc_signature"),
        )
    }
}

/// The byte of a word that holds `bit`.
pub(super) fn byte_of(bit: u32) -> usize {
    bit as usize / 8
}

/// Each word's bytes that hold a reported row's bit (byte 0 of word 0 always: the row of
/// every member, with no bit, meets its groups), as a SELECT of the word's number, the
/// byte's and the byte's bits.
fn byte_list(
    sql: &mut Sql<'_, '_>,
    names: &Names<'_>,
    membership: &Membership,
) -> Result<String, Error> {
    // In order, each once: a report may have tens of thousands of rows.
    let bytes: std::collections::BTreeSet<(usize, usize)> = std::iter::once((0, 0))
        .chain(
            membership
                .bits
                .iter()
                .flatten()
                .map(|(word, bit)| (*word, byte_of(*bit))),
        )
        .collect();
    let mut selects = Vec::with_capacity(bytes.len());
    for (word, byte) in bytes {
        // A word's bits stop at SIGNATURE_BITS: its last byte has seven.
        let bits = (0xFFu64 << (8 * byte)) & ((1u64 << SIGNATURE_BITS) - 1);
        let mask = sql.call(
            "cast",
            &[Value::from(bits.to_string()), Value::from("bigint")],
        )?;
        selects.push(match selects.len() {
            0 => format!(
                "SELECT {word} AS {}, {byte} AS {}, {mask} AS {}",
                names.q("segc_word"),
                names.q("segc_byte"),
                names.q("segc_mask")
            ),
            _ => format!("SELECT {word}, {byte}, {mask}"),
        });
    }
    Ok(selects.join(" UNION ALL "))
}

/// `CASE number WHEN 0 THEN words[0] … END`: the word whose number `number` holds.
fn word_of(number: &str, words: &[String]) -> String {
    let mut case = format!("CASE {number}");
    for (index, word) in words.iter().enumerate() {
        case.push_str(&format!(" WHEN {index} THEN {word}"));
    }
    case.push_str(" END");
    case
}

/// The name of word `word` of a signature.
fn word_name(names: &Names<'_>, word: usize) -> String {
    names.q(&format!("segc_signature_{word}"))
}

/// A bit as a 64-bit integer literal (some warehouses read a literal past 32 bits as a
/// decimal).
pub(super) fn bit_literal(sql: &mut Sql<'_, '_>, bit: Option<u32>) -> Result<String, Error> {
    word_literal(sql, bit.map_or(0, |bit| 1 << bit))
}

/// Bits (a word of a signature) as a 64-bit integer literal, as [`bit_literal`].
pub(super) fn word_literal(sql: &mut Sql<'_, '_>, value: u64) -> Result<String, Error> {
    if value <= i32::MAX as u64 {
        return Ok(value.to_string());
    }
    sql.call(
        "cast",
        &[Value::from(value.to_string()), Value::from("bigint")],
    )
}

pub(super) fn signatures(
    sql: &mut Sql<'_, '_>,
    statement: &Statement<'_>,
    names: &Names<'_>,
    membership: &Membership,
) -> Result<Signatures, Error> {
    let m = names.alias(Alias::Members);
    let s = names.alias(Alias::Segments);
    let mut terms: Vec<Vec<String>> = Vec::new();
    let mut bits: Vec<Vec<String>> = Vec::new();
    for (row, bit) in membership.rows.iter().zip(&membership.bits) {
        let (Some(segment), Some((word, bit))) = (row.segment, bit) else {
            continue;
        };
        if terms.len() <= *word {
            terms.resize(word + 1, Vec::new());
            bits.resize(word + 1, Vec::new());
        }
        let flag = super::members::flag_name(statement, names, segment);
        let literal = bit_literal(sql, Some(*bit))?;
        let term = match literal.as_str() {
            "1" => format!("{m}.{flag}"),
            value => format!("{m}.{flag} * {value}"),
        };
        terms[*word].push(term);
        bits[*word].push(literal);
    }
    let mut signatures = Signatures::default();
    if let Some(period) = sql.period_key(Alias::Members) {
        signatures
            .keys
            .push(Item::new(period, names.q("segc_period")));
    }
    let mut words = Vec::new();
    for (word, terms) in terms.iter().enumerate() {
        let name = word_name(names, word);
        let sum = sql.call(
            "cast",
            &[Value::from(terms.join(" + ")), Value::from("bigint")],
        )?;
        signatures.words.push(Item {
            sql: sum,
            alias: name.clone(),
            comment: format!(
                "bits of reported rows {} to {}",
                word * SIGNATURE_BITS + 1,
                word * SIGNATURE_BITS + terms.len()
            ),
        });
        signatures
            .keys
            .push(Item::new(format!("{m}.{name}"), name.clone()));
        words.push(format!("{m}.{name}"));
        signatures
            .word_bits
            .push((name, std::mem::take(&mut bits[word])));
    }
    if words.len() > 1 {
        let j = names.alias(Alias::Words);
        let word = names.q("segc_word");
        signatures.word_list = Some(
            (0..words.len())
                .map(|number| match number {
                    0 => format!("SELECT 0 AS {word}"),
                    _ => format!("SELECT {number}"),
                })
                .collect::<Vec<_>>()
                .join(" UNION ALL "),
        );
        signatures.word_value = word_of(&format!("{j}.{word}"), &words);
        signatures.byte_list = Some(byte_list(sql, names, membership)?);
    }
    let bit = format!("{s}.{}", names.q("segc_bit"));
    signatures.in_row = match words.as_slice() {
        [] => "1 = 1".into(),
        [word] => format!("({word} & {bit}) = {bit}"),
        words => {
            let case = word_of(&format!("{s}.{}", names.q("segc_word")), words);
            format!("({case} & {bit}) = {bit}")
        }
    };
    Ok(signatures)
}
