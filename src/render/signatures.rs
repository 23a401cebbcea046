//! Spells membership signatures (see [`crate::plan::statement::Membership`]): each member's
//! reported rows as bits of 64-bit words, the keys the signatures are grouped by, and the test
//! of a signature (or a member's) against a reported row.

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
}

/// The name of word `word` of a signature.
fn word_name(names: &Names<'_>, word: usize) -> String {
    names.q(&format!("segc_signature_{word}"))
}

/// A bit as a 64-bit integer literal (some warehouses read a literal past 32 bits as a
/// decimal).
pub(super) fn bit_literal(sql: &mut Sql<'_, '_>, bit: Option<u32>) -> Result<String, Error> {
    let value: u64 = bit.map_or(0, |bit| 1 << bit);
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
    let bit = format!("{s}.{}", names.q("segc_bit"));
    signatures.in_row = match words.as_slice() {
        [] => "1 = 1".into(),
        [word] => format!("({word} & {bit}) = {bit}"),
        words => {
            let mut case = format!("CASE {s}.{}", names.q("segc_word"));
            for (number, word) in words.iter().enumerate() {
                case.push_str(&format!(" WHEN {number} THEN {word}"));
            }
            format!("({case} END & {bit}) = {bit}")
        }
    };
    Ok(signatures)
}
