//! Exact sums rounded once. A stage that sums fractional numbers in pieces
//! ([`Sql::exact_limbs`]) keeps each piece's total as a column; a layer around the stage
//! carries those totals into digits, and a layer around that rounds the digits to the
//! nearest double, so that a sum is the same nearest double on every warehouse.
//!
//! Put together in doubles from the highest piece down, the totals rounded at each step:
//! orders of 993090.83 and 1621135.52 summed to 2614226.3499999996, not the 2614226.35
//! nearest their sum, and 1e16 + 1.75 to 1e16.

use serde::Serialize;

use crate::error::Error;
use crate::render::alias::Alias;

use super::Sql;

/// 2^32, the width of a digit (and of a piece, [`Sql::exact_limbs`]): a whole number every
/// warehouse reads exactly, as a double where the other operand is one.
const DIGIT: &str = "4294967296";

/// An exact sum before it is put together: the SQL of its pieces' sums, lowest first, and
/// for an average the count it divides by.
pub(in crate::render) struct ExactSum {
    pub(in crate::render) sums: Vec<String>,
    pub(in crate::render) count: Option<String>,
}

/// An aggregate as a stage spells it: one expression, or an exact sum that the stage's
/// layers put together ([`ExactColumns`]).
pub(in crate::render) enum Aggregated {
    Plain(String),
    Exact(ExactSum),
}

impl Aggregated {
    /// The expression, where a stage has no layers for an exact sum.
    pub(in crate::render) fn plain(self) -> Result<String, Error> {
        match self {
            Aggregated::Plain(sql) => Ok(sql),
            Aggregated::Exact(_) => Err(Error::Render(
                "an exact sum where a stage has no layers to put it together".into(),
            )),
        }
    }
}

/// The columns of one stage's SELECT with exact sums, in order: the layers around it pass
/// the others through by name and put the exact sums together.
#[derive(Default)]
pub(in crate::render) struct ExactColumns {
    columns: Vec<Column>,
    /// Each exact sum's output column (quoted), its pieces, and whether an average divides
    /// it.
    sums: Vec<(String, usize, bool)>,
}

/// A column of a stage with exact sums.
enum Column {
    /// Passed through both layers (quoted).
    Kept(String),
    /// The stage's `n`th exact sum.
    Exact(usize),
}

/// The two layers around a SELECT with exact sums: the text before the SELECT (ending in a
/// line break), and after it (on a line of its own).
#[derive(Serialize, Clone, Debug)]
pub(in crate::render) struct ExactLayers {
    pub(in crate::render) head: String,
    pub(in crate::render) tail: String,
}

/// The hidden column of the `piece`th sum of the stage's `number`th exact sum.
fn sum_column(number: usize, piece: usize) -> String {
    format!("segc_x{number}_{piece}")
}

/// The hidden column of the count an exact average divides by.
fn count_column(number: usize) -> String {
    format!("segc_x{number}_n")
}

/// The hidden column of a digit of the stage's `number`th exact sum.
fn digit_column(number: usize, digit: usize) -> String {
    format!("segc_d{number}_{digit}")
}

impl ExactColumns {
    /// Column `alias` (quoted) of the stage, which is no aggregate (a user, a period).
    pub(in crate::render) fn keep(&mut self, alias: String) {
        self.columns.push(Column::Kept(alias));
    }

    /// The SELECT items (SQL and quoted alias) of `aggregated` as column `alias` (quoted):
    /// itself, or for an exact sum each piece's total as a 64-bit integer (BigQuery and SQL
    /// Server add 64-bit integers in 64 bits and fail past them, where DuckDB and
    /// PostgreSQL would widen and Redshift give a numeric: a total of 2^95 or more fails on
    /// every warehouse alike) and an average's count, under hidden names; the layers
    /// ([`ExactColumns::layers`]) put them together as `alias`.
    pub(in crate::render) fn items(
        &mut self,
        sql: &mut Sql<'_, '_>,
        alias: String,
        aggregated: Aggregated,
    ) -> Result<Vec<(String, String)>, Error> {
        let exact = match aggregated {
            Aggregated::Plain(text) => {
                self.columns.push(Column::Kept(alias.clone()));
                return Ok(vec![(text, alias)]);
            }
            Aggregated::Exact(exact) => exact,
        };
        let number = self.sums.len();
        let mut items = Vec::new();
        for (piece, sum) in exact.sums.iter().enumerate() {
            items.push((
                sql.cast(sum.clone(), "bigint")?,
                sql.q(&sum_column(number, piece)),
            ));
        }
        if let Some(count) = &exact.count {
            items.push((count.clone(), sql.q(&count_column(number))));
        }
        self.columns.push(Column::Exact(number));
        self.sums
            .push((alias, exact.sums.len(), exact.count.is_some()));
        Ok(items)
    }

    /// `select`, the stage's SELECT written in Rust, inside its layers
    /// ([`ExactColumns::layers`]) when it has exact sums.
    pub(in crate::render) fn around(
        &self,
        sql: &mut Sql<'_, '_>,
        select: String,
    ) -> Result<String, Error> {
        Ok(match self.layers(sql)? {
            Some(layers) => format!("{}{select}\n{}", layers.head, layers.tail),
            None => select,
        })
    }

    /// The layers around the stage's SELECT, when it has exact sums: the inner one turns
    /// each sum's piece totals into digits ([`Sql::exact_digits`]), the outer one the digits
    /// into the sum's output column ([`Sql::exact_rounded`]); the stage's other columns pass
    /// through both, and no hidden column leaves them.
    pub(in crate::render) fn layers(
        &self,
        sql: &mut Sql<'_, '_>,
    ) -> Result<Option<ExactLayers>, Error> {
        if self.sums.is_empty() {
            return Ok(None);
        }
        let (sums, digits) = (sql.alias(Alias::ExactSums), sql.alias(Alias::ExactDigits));
        let mut inner = Vec::new();
        let mut outer = Vec::new();
        for column in &self.columns {
            let number = match column {
                Column::Kept(alias) => {
                    inner.push(format!("{sums}.{alias}"));
                    outer.push(format!("{digits}.{alias}"));
                    continue;
                }
                Column::Exact(number) => *number,
            };
            let (alias, pieces, average) = &self.sums[number];
            let totals: Vec<String> = (0..*pieces)
                .map(|piece| format!("{sums}.{}", sql.q(&sum_column(number, piece))))
                .collect();
            let mut read = Vec::new();
            for (digit, text) in sql.exact_digits(&totals)?.into_iter().enumerate() {
                let column = sql.q(&digit_column(number, digit));
                inner.push(format!("{text} AS {column}"));
                read.push(format!("{digits}.{column}"));
            }
            let mut value = sql.exact_rounded(&read)?;
            if *average {
                let count = sql.q(&count_column(number));
                inner.push(format!("{sums}.{count}"));
                value = sql.call(
                    "divide",
                    &[
                        minijinja::Value::from(value),
                        minijinja::Value::from(format!("{digits}.{count}")),
                    ],
                )?;
            }
            outer.push(format!("{value} AS {alias}"));
        }
        Ok(Some(ExactLayers {
            head: format!(
                "  -- each exact sum rounded once to the nearest double, from its digits\n  SELECT\n    {}\n  FROM (\n    -- each exact sum's piece totals carried into digits\n    SELECT\n      {}\n    FROM (\n",
                outer.join(",\n    "),
                inner.join(",\n      "),
            ),
            tail: format!("    ) AS {sums}\n  ) AS {digits}"),
        }))
    }
}

impl Sql<'_, '_> {
    /// The digits of the total of `sums` (the pieces' totals, lowest first, each a 64-bit
    /// integer of 2^32 times the weight of the one below), as doubles: six 32-bit digits,
    /// lowest first, each from -2^31 to 2^31 (the top one to 2^31 + 1), carried from the
    /// lowest up. A total's digit is its bits taken with `&` after adding 2^31 and taking
    /// 2^31 off again, its carry the bits above them: a multiple of 2^32 with at most 31
    /// significant bits, so that it divides exactly in a double. Integer operations, exact
    /// and alike on every warehouse; each digit reads the carry below it once, so the SQL
    /// grows with the square of the pieces, not exponentially. A top total of 2^63 - 2^31
    /// or more (a sum of about 2^95, the pieces' limit) overflows on the way.
    pub(in crate::render) fn exact_digits(
        &mut self,
        sums: &[String],
    ) -> Result<Vec<String>, Error> {
        let literal = |sql: &mut Self, value: &str| {
            sql.call("bigint_literal", &[minijinja::Value::from(value)])
        };
        let half = literal(self, "2147483648")?;
        let low = literal(self, "4294967295")?;
        let high = literal(self, "(-4294967296)")?;
        let mut digits = Vec::new();
        let mut carry: Option<String> = None;
        for sum in sums {
            let shifted = match &carry {
                Some(carry) => format!("({sum} + {carry} + {half})"),
                None => format!("({sum} + {half})"),
            };
            digits.push(self.cast(format!("(({shifted} & {low}) - {half})"), "double")?);
            let above = self.cast(format!("({shifted} & {high})"), "double")?;
            carry = Some(self.cast(format!("{above} / {DIGIT}"), "bigint")?);
        }
        if let Some(carry) = carry {
            digits.push(self.cast(carry, "double")?);
        }
        Ok(digits)
    }

    /// The nearest double to the total of `digits` ([`Sql::exact_digits`], lowest first,
    /// whole numbers as doubles; the lowest weighs 2^-96), rounded once. The highest nonzero
    /// digit outweighs all below it (each is at most half a unit of the next), so the
    /// total's leading bits lie in that digit and the next two: the first double holds the
    /// top digit and the next one's bits above its lowest 11 (at most 53 bits, exact), the
    /// second those 11 bits and the digit after (44 bits, exact), and a quarter of that
    /// digit's unit, signed as whatever lies below, stands for the rest. Their one addition
    /// is IEEE's, correctly rounded; the rest can decide only a tie between two doubles,
    /// which the quarter breaks as the full rest would (math.fsum's last step). Taking the
    /// low bits off by FLOOR, and scaling by powers of two, are exact.
    pub(in crate::render) fn exact_rounded(&mut self, digits: &[String]) -> Result<String, Error> {
        let [d0, ..] = digits else {
            return Err(Error::Render("an exact sum without digits".into()));
        };
        // Digit i weighs 2^(32 i - 96); the first double counts in units of digit i - 1.
        let scale = |top: usize| match top {
            1 => format!(" / {DIGIT} / {DIGIT} / {DIGIT}"),
            2 => format!(" / {DIGIT} / {DIGIT}"),
            3 => format!(" / {DIGIT}"),
            4 => String::new(),
            more => format!(" * {DIGIT}").repeat(more - 4),
        };
        let mut cases = Vec::new();
        for top in (1..digits.len()).rev() {
            let (digit, next) = (&digits[top], &digits[top - 1]);
            let high = format!("FLOOR({next} / 2048) * 2048");
            let first = format!("({digit} * {DIGIT} + {high})");
            let low = format!("({next} - {high})");
            let second = match top.checked_sub(2) {
                None => low,
                Some(after) => {
                    // The digits below, as one double: its sign is theirs.
                    let rest: Vec<String> = digits[..after]
                        .iter()
                        .rev()
                        .enumerate()
                        .map(|(depth, below)| {
                            format!("{below}{}", format!(" / {DIGIT}").repeat(depth))
                        })
                        .collect();
                    let quarter = match rest.is_empty() {
                        true => String::new(),
                        false => format!(" + SIGN({}) / 4", rest.join(" + ")),
                    };
                    format!("({low} * {DIGIT} + {}{quarter}) / {DIGIT}", digits[after])
                }
            };
            cases.push(format!(
                "WHEN {digit} <> 0 THEN ({first} + {second}){}",
                scale(top)
            ));
        }
        Ok(format!(
            "CASE {} ELSE {d0}{} END",
            cases.join(" "),
            scale(1)
        ))
    }
}
