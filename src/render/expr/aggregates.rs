//! Aggregates: an attribute's aggregate over its facts, the ranks ordered facts read, and
//! KPIs from a report row's grouped members (partials, distinct values, ranked values).

use crate::render::alias::Alias;
use minijinja::Value;

use crate::error::Error;
use crate::ir::{KpiAggregation, KpiId, KpiKind, SourceId};
use crate::plan::aggregates::{
    FactAggregate, FactRank, FactRows, FactValue, Function, KpiAggregate, KpiGrouping,
};

use crate::plan::buckets::{DAYS_PER_WORD, after_signup_day_words, most_day_words};
use crate::plan::times::PerPeriod;
use crate::render::buckets::instants;

use super::{Aggregated, ExactSum, Sql, number};

/// The quoted alias of a KPI's partial aggregate `part` in the signatures stage.
fn partial_alias(sql: &Sql<'_, '_>, aggregate: &KpiAggregate, part: &str) -> String {
    let name = &sql.plan().project.kpi(aggregate.kpi).name;
    sql.q(&format!("segc_{part}_{name}"))
}

/// The SQL function and partial's name of a minimum or maximum.
fn extreme(function: Function) -> (&'static str, &'static str) {
    if function == Function::Min {
        ("MIN", "min")
    } else {
        ("MAX", "max")
    }
}

/// 2^32, the width of each piece of an exact sum ([`Function::Limb`]).
const PIECE: &str = "4294967296";

/// The pieces an exact sum cuts each value into ([`Function::Limb`]): bits from 2^-96 up.
const PIECES: u8 = 5;

/// The pieces of an exact sum as definition hashes spell it: bits from 2^-64 up, as exact
/// sums were cut before (see [`crate::dialect::Dialect::hash_spelling`]).
const HASHED_PIECES: u8 = 4;

/// A pass's aggregates over each user's days first ([`Sql::fact_days`]).
pub(in crate::render) struct FactDays {
    /// A fact's day, where some distinct count of days reads it; NULL for the others.
    pub(in crate::render) key: String,
    /// Per aggregate: its value over a user's day, and the combination of those values.
    pub(in crate::render) parts: Vec<(String, String)>,
}

/// How partial aggregates combine: added, or kept by MIN or MAX.
pub(in crate::render) fn combiner(function: Function) -> &'static str {
    match function {
        Function::Min => "MIN",
        Function::Max => "MAX",
        _ => "SUM",
    }
}

/// The column numbering an ordered-fact attribute's facts.
fn rank_alias(attribute: &str) -> String {
    format!("segc_rank_{attribute}")
}

impl<'a, 's> Sql<'a, 's> {
    /// How many pieces an exact sum cuts each value into ([`Sql::exact_limbs`]).
    pub(in crate::render) fn pieces(&self) -> u8 {
        if self.dialect.hash_spelling {
            HASHED_PIECES
        } else {
            PIECES
        }
    }

    /// The pieces of a fractional value that an exact sum adds ([`Function::Limb`]), lowest
    /// first: whole numbers with the value's sign holding its bits from 2^-96 to 2^-64, from
    /// 2^-64 to 2^-32, from 2^-32 to 1, from 1 to 2^32, and above 2^32 (a definition hash
    /// leaves out the lowest, see [`Sql::pieces`]). Scaling by a power of two, FLOOR, and
    /// taking a number's own high bits off it are exact in IEEE doubles, so every warehouse
    /// cuts a value into the same pieces; a value of 2^95 or more does not fit and fails.
    /// The highest piece divides the value's whole part, not the value: ⌊⌊v⌋ / 2^32⌋ equals
    /// ⌊v / 2^32⌋, and PostgreSQL refuses a division whose quotient rounds to zero (a value
    /// below about 2^-1042 divided by 2^32), where the other warehouses give 0.
    pub(in crate::render) fn exact_limbs(&mut self, value: &str) -> Result<Vec<String>, Error> {
        if self.dialect.hash_spelling {
            self.hashed_limbs(value)
        } else {
            self.exact_pieces(value)
        }
    }

    /// The pieces of [`Sql::exact_limbs`] as definition hashes spell them (see
    /// [`crate::dialect::Dialect::hash_spelling`]): each from the value's magnitude times
    /// 2^32 as often as its place needs, floored, with the value's sign, and without the
    /// lowest piece, as exact sums were cut before.
    fn hashed_limbs(&mut self, value: &str) -> Result<Vec<String>, Error> {
        let x = self.cast(value.to_string(), "double")?;
        let k = self.cast(PIECE.into(), "double")?;
        let floor = |scale: String| format!("FLOOR(ABS({x}){scale})");
        let up3 = floor(format!(" * {k} * {k} * {k}"));
        let (up2, up1) = (floor(format!(" * {k} * {k}")), floor(format!(" * {k}")));
        let units = floor(String::new());
        let high = format!("FLOOR({units} / {k})");
        let mut pieces = vec![
            format!("{up3} - {k} * {up2}"),
            format!("{up2} - {k} * {up1}"),
            format!("{up1} - {k} * {units}"),
            format!("{units} - {k} * {high}"),
            high,
        ];
        // The lowest pieces a definition hash leaves out.
        pieces.drain(..usize::from(PIECES - HASHED_PIECES));
        pieces
            .into_iter()
            .map(|piece| self.cast(format!("SIGN({x}) * ({piece})"), "bigint"))
            .collect()
    }

    /// The pieces of [`Sql::exact_limbs`] as a statement writes them: the same whole numbers,
    /// each the value's bits in its range truncated towards zero, from the value scaled by a
    /// power of two in one multiplication (exact, as is TRUNC): TRUNC(v · 2^96) − 2^32 ·
    /// TRUNC(v · 2^64) is SIGN(v) · (FLOOR(|v| · 2^96) − 2^32 · FLOOR(|v| · 2^64)), in about
    /// half the operations, which DuckDB binds one by one (SQL Server, without TRUNC, spells
    /// it with SIGN and FLOOR again). The highest piece truncates the value's whole part,
    /// not the value (see there).
    fn exact_pieces(&mut self, value: &str) -> Result<Vec<String>, Error> {
        let x = self.cast(value.to_string(), "double")?;
        // 2^96 and 2^64, past every warehouse's integer literals: read from strings, exactly.
        let scale = |sql: &mut Self, power: &str| {
            let literal = sql.string(power);
            sql.cast(literal, "double")
        };
        let k = self.cast(PIECE.into(), "double")?;
        let (up3, up2) = (
            scale(self, "79228162514264337593543950336")?,
            scale(self, "18446744073709551616")?,
        );
        let truncated = |sql: &mut Self, value: String| sql.call("truncate", &[Value::from(value)]);
        let up3 = truncated(self, format!("{x} * {up3}"))?;
        let up2 = truncated(self, format!("{x} * {up2}"))?;
        let up1 = truncated(self, format!("{x} * {k}"))?;
        let units = truncated(self, x.clone())?;
        let high = truncated(self, format!("{units} / {k}"))?;
        [
            format!("{up3} - {k} * {up2}"),
            format!("{up2} - {k} * {up1}"),
            format!("{up1} - {k} * {units}"),
            format!("{units} - {k} * {high}"),
            high,
        ]
        .into_iter()
        .map(|piece| self.cast(piece, "bigint"))
        .collect()
    }

    /// An exact sum from the sums of its pieces ([`Sql::exact_limbs`], lowest first) and,
    /// for an average, the count it divides by: for the stage's layers to put together
    /// ([`super::ExactColumns`]), or spelled whole where a definition hash reads it
    /// ([`Sql::hashed_total`]).
    pub(in crate::render) fn exact_sum(
        &mut self,
        sums: Vec<String>,
        count: Option<String>,
    ) -> Result<Aggregated, Error> {
        if !self.dialect.hash_spelling {
            return Ok(Aggregated::Exact(ExactSum { sums, count }));
        }
        let total = self.hashed_total(&sums)?;
        Ok(Aggregated::Plain(match count {
            Some(count) => self.call("divide", &[Value::from(total), Value::from(count)])?,
            None => total,
        }))
    }

    /// An exact sum in four pieces as definition hashes spell it (see
    /// [`crate::dialect::Dialect::hash_spelling`]): put together in doubles within the
    /// statement, as exact sums were before they were rounded once.
    fn hashed_total(&mut self, sums: &[String]) -> Result<String, Error> {
        let k = self.cast(PIECE.into(), "double")?;
        let mut doubles = Vec::new();
        for sum in sums {
            let whole = self.cast(sum.clone(), "bigint")?;
            doubles.push(self.cast(whole, "double")?);
        }
        match doubles.as_slice() {
            [s0, s1, s2, s3] => Ok(format!("((({s0} / {k} + {s1}) / {k} + {s2}) + {s3} * {k})")),
            _ => Err(Error::Render(format!(
                "a hashed exact sum has {HASHED_PIECES} pieces, not {}",
                sums.len()
            ))),
        }
    }

    /// Which of its pass's facts an aggregate or rank reads, as a condition over the pass's
    /// rows; `None` when it reads every fact the pass reads. `signup` is the user's sign-up
    /// instant, for windows after sign-up.
    fn fact_condition(
        &mut self,
        rows: &FactRows,
        source: SourceId,
        signup: &str,
    ) -> Result<Option<String>, Error> {
        let mut conditions = Vec::new();
        if let Some(window) = &rows.window {
            let time = format!("{}.{}", self.alias(Alias::Facts), self.q(&window.time));
            let date = self.plan().project.time_is_date(source);
            conditions.extend(self.window_conditions(&time, date, window, signup)?);
        }
        if let Some(filter) = &rows.filter {
            conditions.push(self.condition_in(filter, Alias::Facts, Some(source))?);
        }
        Ok((!conditions.is_empty()).then(|| conditions.join(" AND ")))
    }

    /// An aggregate over facts inside the pass over its source. `signup` is the user's
    /// sign-up instant there; ordered facts read the rank column of [`Sql::fact_rank`].
    pub(in crate::render) fn fact_aggregate(
        &mut self,
        aggregate: &FactAggregate,
        signup: &str,
    ) -> Result<Aggregated, Error> {
        let value = self.fact_value(aggregate)?;
        if let Some(n) = aggregate.nth {
            // The rank is NULL for facts outside the window or filter.
            let name = &self.plan().project.attribute(aggregate.attribute).name;
            let rank = format!("{}.{}", self.alias(Alias::Facts), self.q(&rank_alias(name)));
            return Ok(Aggregated::Plain(format!(
                "MAX(CASE WHEN {rank} = {n} THEN {value} END)"
            )));
        }
        let condition = self.fact_condition(&aggregate.rows, aggregate.source, signup)?;
        self.aggregate(
            aggregate.function,
            value,
            aggregate.exact,
            aggregate.whole,
            condition,
        )
    }

    /// A pass's aggregates over each user's days first, when the pass counts distinct days
    /// in a window: the key of a user's day (the local day of a fact in any of those
    /// windows, NULL for every other fact), and per aggregate its value over a day's facts
    /// and how a user's days combine it. A day then counts once, with no distinct count,
    /// and the facts outside the windows fall into one group per user. `None` when an
    /// aggregate does not combine over days (an average, a sum of fractional numbers, a
    /// percentile, a distinct count of another value, ordered facts), or when a distinct
    /// count of days reads all of history, where a group per day would be every fact's.
    pub(in crate::render) fn fact_days(
        &mut self,
        aggregates: &[FactAggregate],
        signup: &str,
        day_of: &dyn Fn(usize) -> String,
    ) -> Result<Option<FactDays>, Error> {
        let mut day = None;
        // Each distinct count's condition (its window and `where`), by aggregate.
        let mut conditions = vec![None; aggregates.len()];
        for (index, aggregate) in aggregates.iter().enumerate() {
            let combines = match aggregate.function {
                Function::CountRows | Function::Count | Function::Min | Function::Max => true,
                Function::Sum => aggregate.whole,
                Function::CountDistinct => {
                    matches!(aggregate.value, FactValue::LocalDay { .. })
                        && aggregate.rows.window.as_ref().is_some_and(|window| {
                            window.bounds.start.is_some() || window.after_signup.is_some()
                        })
                }
                _ => false,
            };
            if !combines || aggregate.nth.is_some() {
                return Ok(None);
            }
            if aggregate.function == Function::CountDistinct {
                let value = self.fact_value(aggregate)?;
                if day.as_ref().is_some_and(|day| *day != value) {
                    return Ok(None);
                }
                conditions[index] =
                    self.fact_condition(&aggregate.rows, aggregate.source, signup)?;
                day = Some(value);
            }
        }
        let Some(day) = day else {
            return Ok(None);
        };
        let key = Self::day_key(&day, conditions.iter().flatten());
        let mut parts = Vec::new();
        for (index, aggregate) in aggregates.iter().enumerate() {
            let combined = format!("{}({})", combiner(aggregate.function), day_of(index));
            let part = match aggregate.function {
                Function::CountDistinct => (
                    Self::day_flag(&day, conditions[index].as_deref()),
                    self.cast(combined, "bigint")?,
                ),
                Function::CountRows | Function::Count => (
                    self.fact_aggregate(aggregate, signup)?.plain()?,
                    self.cast(combined, "bigint")?,
                ),
                _ => (self.fact_aggregate(aggregate, signup)?.plain()?, combined),
            };
            parts.push(part);
        }
        Ok(Some(FactDays { key, parts }))
    }

    /// The key of a user's day when distinct days are counted first: the fact's local `day`
    /// when the fact is in any of the distinct counts' `windows`, else NULL (every other
    /// fact of the user falls into one group).
    pub(in crate::render) fn day_key<'w>(
        day: &str,
        windows: impl IntoIterator<Item = &'w String>,
    ) -> String {
        let windows: Vec<&str> = windows.into_iter().map(String::as_str).collect();
        format!("CASE WHEN {} THEN {day} END", windows.join(" OR "))
    }

    /// `function` over the value an aggregate reads from its facts, on the facts its `where`
    /// keeps and `since` (a condition on their time, when given): a partial aggregate of a
    /// slice of time (render/buckets.rs).
    pub(in crate::render) fn fact_partial(
        &mut self,
        aggregate: &FactAggregate,
        function: Function,
        since: Option<String>,
    ) -> Result<String, Error> {
        let value = self.fact_value(aggregate)?;
        let condition = self.slice_condition(aggregate, since)?;
        self.aggregate(function, value, aggregate.exact, aggregate.whole, condition)?
            .plain()
    }

    /// The facts a slice's partial reads: those its aggregate's `where` keeps, and `since`.
    fn slice_condition(
        &mut self,
        aggregate: &FactAggregate,
        since: Option<String>,
    ) -> Result<Option<String>, Error> {
        let rows = FactRows {
            window: None,
            filter: aggregate.rows.filter.clone(),
        };
        let condition = self.fact_condition(&rows, aggregate.source, "NULL")?;
        Ok(match (since, condition) {
            (Some(since), Some(condition)) => Some(format!("{since} AND {condition}")),
            (since, condition) => since.or(condition),
        })
    }

    /// A distinct count of local days as a slice's partial ([`Sql::fact_partial`]) counts
    /// them per day instead: the day of a fact, and the condition on the facts it reads
    /// (its `where`, and `since`).
    pub(in crate::render) fn fact_partial_day(
        &mut self,
        aggregate: &FactAggregate,
        since: Option<String>,
    ) -> Result<(String, Option<String>), Error> {
        let day = self.fact_value(aggregate)?;
        Ok((day, self.slice_condition(aggregate, since)?))
    }

    /// Whether a fact counts toward a user's day: 1 when it is in a distinct count's
    /// `condition` (its window and `where`) and has a day, else 0 (the largest over a day
    /// says whether that day counts).
    pub(in crate::render) fn day_flag(day: &str, condition: Option<&str>) -> String {
        match condition {
            Some(condition) => {
                format!("MAX(CASE WHEN ({condition}) AND {day} IS NOT NULL THEN 1 ELSE 0 END)")
            }
            None => format!("MAX(CASE WHEN {day} IS NOT NULL THEN 1 ELSE 0 END)"),
        }
    }

    /// The number of distinct local `day`s among the facts `condition` keeps, as the bits
    /// set in the OR of one bit per fact at its day's offset from `first` (a local date on
    /// or before each such day), in `words` words of 63 days: the dialect's `day_bits`.
    /// An offset outside the words fails the statement (the shift is checked), so a wrong
    /// bound cannot miscount.
    pub(in crate::render) fn day_bits(
        &mut self,
        day: &str,
        first: &str,
        condition: Option<&str>,
        words: usize,
    ) -> Result<String, Error> {
        let offset = self.call("day_offset", &[Value::from(first), Value::from(day)])?;
        let mut counts = Vec::new();
        for word in 0..words {
            let low = word * DAYS_PER_WORD;
            let mut tests: Vec<String> = condition.iter().map(|c| format!("({c})")).collect();
            // The first word takes every offset below its end, the last every one from its
            // start: out of range, the shift fails.
            if word > 0 {
                tests.push(format!("{offset} >= {low}"));
            }
            if word + 1 < words {
                tests.push(format!("{offset} < {}", low + DAYS_PER_WORD));
            }
            let shift = if low == 0 {
                offset.clone()
            } else {
                format!("{offset} - {low}")
            };
            let bit = self.call("day_bit", &[Value::from(shift)])?;
            let bits = if tests.is_empty() {
                bit
            } else {
                format!("CASE WHEN {} THEN {bit} END", tests.join(" AND "))
            };
            counts.push(self.call("count_day_bits", &[Value::from(bits)])?);
        }
        Ok(match counts.as_slice() {
            [one] => one.clone(),
            _ => format!("({})", counts.join(" + ")),
        })
    }

    /// A distinct count of local days in a window with a start or after sign-up, as
    /// [`Sql::day_bits`] from the window's first day, where the dialect has `day_bits` and
    /// every period's window spans at most
    /// [`MAX_DAY_WORDS`](crate::plan::buckets::MAX_DAY_WORDS) words; `ends` holds each
    /// period's end (a window without an end of its own stops there). A window after
    /// sign-up counts from the local day of each user's sign-up (`signup`), the same in
    /// every period. None otherwise.
    pub(in crate::render) fn fact_day_bits(
        &mut self,
        aggregate: &FactAggregate,
        signup: &str,
        ends: &PerPeriod,
    ) -> Result<Option<String>, Error> {
        let (true, Function::CountDistinct, None, FactValue::LocalDay { .. }, Some(window)) = (
            self.dialect.capabilities.day_bits,
            aggregate.function,
            aggregate.nth,
            &aggregate.value,
            &aggregate.rows.window,
        ) else {
            return Ok(None);
        };
        let (words, first) = match (window.after_signup, &window.bounds.start) {
            // Its facts lie in [sign-up, sign-up + days), wherever the sign-up falls.
            (Some(days), None) => {
                let Some(words) = after_signup_day_words(days) else {
                    return Ok(None);
                };
                let date = self.plan().project.signup_is_date();
                (words, self.when_day(signup, date)?)
            }
            (None, Some(start)) => {
                let end = window.bounds.end.as_ref().unwrap_or(ends);
                let (Some(starts), Some(ends)) = (instants(start), instants(end)) else {
                    return Ok(None);
                };
                let Some(words) = most_day_words(starts.into_iter().zip(ends)) else {
                    return Ok(None);
                };
                let first = self.time_value(start)?;
                (words, self.local_date(&first)?)
            }
            _ => return Ok(None),
        };
        let day = self.fact_value(aggregate)?;
        let condition = self.fact_condition(&aggregate.rows, aggregate.source, signup)?;
        Ok(Some(self.day_bits(
            &day,
            &first,
            condition.as_deref(),
            words,
        )?))
    }

    /// The value an aggregate reads from each fact.
    fn fact_value(&mut self, aggregate: &FactAggregate) -> Result<String, Error> {
        Ok(match &aggregate.value {
            FactValue::LocalDay { time } => {
                let time = time
                    .as_ref()
                    .map(|time| format!("{}.{}", self.alias(Alias::Facts), self.q(time)));
                let date = self.plan().project.time_is_date(aggregate.source);
                self.when_day(time.as_deref().unwrap_or("NULL"), date)?
            }
            FactValue::Column { column, flag } => {
                let value = self.fact_column(aggregate.source, column)?;
                if *flag {
                    // Summed, averaged, or kept by min, max and the ordered facts as 1/0.
                    self.boolean_flag(&value)
                } else {
                    value
                }
            }
            FactValue::One => "1".into(),
        })
    }

    /// `function` over `value` on the rows where `condition` holds (all when none); `exact`:
    /// strings told apart and ordered exactly; `whole`: the value is a whole number, whose
    /// sums are exact in a double (others add in pieces, [`Sql::exact_limbs`]).
    pub(in crate::render) fn aggregate(
        &mut self,
        function: Function,
        value: String,
        exact: bool,
        whole: bool,
        condition: Option<String>,
    ) -> Result<Aggregated, Error> {
        let guarded = |value: String| match &condition {
            Some(condition) => format!("CASE WHEN {condition} THEN {value} END"),
            None => value,
        };
        if !whole && matches!(function, Function::Sum | Function::Avg) {
            let mut sums = Vec::new();
            for limb in self.exact_limbs(&value)? {
                sums.push(format!("SUM({})", guarded(limb)));
            }
            let count = match function {
                Function::Avg => Some(self.call("count", &[Value::from(guarded(value))])?),
                _ => None,
            };
            return self.exact_sum(sums, count);
        }
        Ok(Aggregated::Plain(match function {
            Function::CountRows => match &condition {
                // The rows the condition keeps.
                Some(_) => self.call("count", &[Value::from(guarded("1".into()))])?,
                None => self.call("count_rows", &[])?,
            },
            Function::Count => self.call("count", &[Value::from(guarded(value))])?,
            Function::CountDistinct => {
                let value = self.exact(value, exact)?;
                self.call("count_distinct", &[Value::from(guarded(value))])?
            }
            Function::Sum => format!("SUM({})", self.cast(guarded(value), "double")?),
            Function::Avg => format!("AVG({})", self.cast(guarded(value), "double")?),
            Function::Limb(piece) => {
                let limb = self.exact_limbs(&value)?.swap_remove(usize::from(piece));
                format!("SUM({})", guarded(limb))
            }
            Function::Min | Function::Max => {
                let value = guarded(self.exact(value, exact)?);
                let name = if function == Function::Min {
                    "MIN"
                } else {
                    "MAX"
                };
                self.exact_value(format!("{name}({value})"), exact)?
            }
            // Ranked over a row's values with their counts (`Sql::kpi_percentile`), the same
            // SQL on every warehouse: never an aggregate over a row's members.
            Function::Median | Function::Percentile(_) => {
                return Err(Error::Render(
                    "a median or percentile is ranked over grouped values, not aggregated".into(),
                ));
            }
        }))
    }

    /// For an ordered-fact attribute (`first`, `last`, `nth`): the column numbering each
    /// user's facts that it reads, 1, 2, … in time order (latest first for `last`), NULL for
    /// the others. Facts at the same instant are ordered by the value, NULLs last, so every
    /// warehouse picks the same value. Returns the expression and its alias.
    pub(in crate::render) fn fact_rank(
        &mut self,
        rank: &FactRank,
        signup: &str,
    ) -> Result<(String, String), Error> {
        let direction = if rank.latest_first { "DESC" } else { "ASC" };
        let f = self.alias(Alias::Facts);
        let mut partition: Vec<String> = self.period_key(self.spine_alias).into_iter().collect();
        let source = self.plan().project.source(rank.source);
        let user_key = self.key(source, format!("{f}.{}", self.q(&rank.user_key)))?;
        partition.push(user_key);
        let mut order = Vec::new();
        if let Some(time) = &rank.time {
            order.push(format!("{f}.{} {direction}", self.q(time)));
        }
        if let Some((column, exact)) = &rank.tie {
            let value = self.fact_column(rank.source, column)?;
            order.push(format!("CASE WHEN {value} IS NULL THEN 1 ELSE 0 END"));
            let value = self.exact(value, *exact)?;
            order.push(format!("{value} {direction}"));
        }
        let condition = self.fact_condition(&rank.rows, rank.source, signup)?;
        if let Some(condition) = &condition {
            partition.push(format!("CASE WHEN {condition} THEN 1 ELSE 0 END"));
        }
        let number = self.call(
            "row_number",
            &[
                Value::from(partition.join(", ")),
                Value::from(order.join(", ")),
            ],
        )?;
        let number = match condition {
            Some(condition) => format!("CASE WHEN {condition} THEN {number} END"),
            None => number,
        };
        let name = &self.plan().project.attribute(rank.attribute).name;
        Ok((number, self.q(&rank_alias(name))))
    }

    /// The partial aggregates of a KPI computed from partials, over the members of one
    /// signature (alias `m`): each one's SQL, quoted alias, and the aggregate that combines
    /// partials again (`SUM`, `MIN` or `MAX`). A count of members reads the signature's size
    /// (`segc_size`) and needs none.
    pub(in crate::render) fn kpi_partials(
        &mut self,
        aggregate: &KpiAggregate,
    ) -> Result<Vec<(String, String, &'static str)>, Error> {
        let value = self.member_value(aggregate)?;
        let alias = |sql: &Self, part: &str| partial_alias(sql, aggregate, part);
        Ok(match aggregate.function {
            Function::Count => vec![(
                self.call("count", &[Value::from(value)])?,
                alias(self, "count"),
                "SUM",
            )],
            Function::Sum | Function::Avg => {
                let mut partials = Vec::new();
                if aggregate.whole {
                    partials.push((
                        format!("SUM({})", self.cast(value.clone(), "double")?),
                        alias(self, "sum"),
                        "SUM",
                    ));
                } else {
                    for (piece, limb) in self.exact_limbs(&value)?.into_iter().enumerate() {
                        partials.push((
                            format!("SUM({limb})"),
                            alias(self, &format!("sum{piece}")),
                            "SUM",
                        ));
                    }
                }
                if aggregate.function == Function::Avg {
                    partials.push((
                        self.call("count", &[Value::from(value)])?,
                        alias(self, "count"),
                        "SUM",
                    ));
                }
                partials
            }
            Function::Min | Function::Max => {
                let (name, part) = extreme(aggregate.function);
                let value = self.exact(value, aggregate.exact)?;
                vec![(format!("{name}({value})"), alias(self, part), name)]
            }
            _ => Vec::new(),
        })
    }

    /// A KPI computed from partials, combining those of [`Sql::kpi_partials`] over the
    /// signatures of one reported row (alias `m`). With `grouped`, the rows also hold other
    /// groupings than signatures (`segc_set` > 0), whose partials are not read.
    pub(in crate::render) fn kpi_combined(
        &mut self,
        aggregate: &KpiAggregate,
        grouped: bool,
    ) -> Result<Aggregated, Error> {
        let m = self.alias(Alias::Members);
        let set = self.q("segc_set");
        let guard = |column: String| {
            if grouped {
                format!("CASE WHEN {m}.{set} = 0 THEN {column} END")
            } else {
                column
            }
        };
        let partial =
            |sql: &Self, part: &str| guard(format!("{m}.{}", partial_alias(sql, aggregate, part)));
        Ok(Aggregated::Plain(match aggregate.function {
            Function::CountRows => {
                let size = format!("SUM({})", guard(format!("{m}.{}", self.q("segc_size"))));
                self.cast(size, "bigint")?
            }
            Function::Count => {
                let count = format!("SUM({})", partial(self, "count"));
                self.cast(count, "bigint")?
            }
            Function::Sum | Function::Avg => {
                let count = (aggregate.function == Function::Avg)
                    .then(|| format!("SUM({})", partial(self, "count")));
                if !aggregate.whole {
                    let sums: Vec<String> = (0..self.pieces())
                        .map(|piece| format!("SUM({})", partial(self, &format!("sum{piece}"))))
                        .collect();
                    return self.exact_sum(sums, count);
                }
                let sum = format!("SUM({})", partial(self, "sum"));
                match count {
                    Some(count) => self.call("divide", &[Value::from(sum), Value::from(count)])?,
                    None => sum,
                }
            }
            Function::Min | Function::Max => {
                let (name, part) = extreme(aggregate.function);
                let value = format!("{name}({})", partial(self, part));
                self.exact_value(value, aggregate.exact)?
            }
            _ => {
                return Err(Error::Render(
                    "a distinct count or a percentile has no partial aggregates".into(),
                ));
            }
        }))
    }

    /// The value a distinct count or a percentile groups members by (alias `m`): the exact
    /// form of a string, a number as a double; NULL where the KPI's `where` fails.
    pub(in crate::render) fn kpi_grouping_value(
        &mut self,
        aggregate: &KpiAggregate,
    ) -> Result<(String, String), Error> {
        let value = self.member_value(aggregate)?;
        let key = match aggregate.grouping() {
            KpiGrouping::Values(_) => self.cast(value.clone(), "double")?,
            _ => self.exact(value.clone(), aggregate.exact)?,
        };
        Ok((key, value))
    }

    /// A distinct count over the value unions of grouping `set` in one reported row (alias
    /// `m`): the sum of their counts of values.
    pub(in crate::render) fn kpi_distinct(&mut self, set: usize) -> Result<String, Error> {
        let m = self.alias(Alias::Members);
        let count = format!(
            "SUM(CASE WHEN {m}.{} = {set} THEN {m}.{} END)",
            self.q("segc_set"),
            self.q("segc_size")
        );
        self.cast(count, "bigint")
    }

    /// The 0-based position (n - 1) p of a percentile among `values` values, in double
    /// precision on every warehouse: a literal `0.3` is an exact decimal on DuckDB,
    /// PostgreSQL, Redshift and SQL Server but a double on BigQuery, and an interpolation that
    /// nearly cancels (-1e6 + 0.999999999999 × 1e6) showed the difference in its fifth digit.
    fn percentile_index(&mut self, values: &str, p: f64) -> String {
        format!(
            "(({values} - 1) * CAST({} AS {}))",
            number(p),
            self.dialect.types.double
        )
    }

    /// A continuous percentile `p` over grouping `set`'s values (column `key`) in one
    /// reported row (alias `m`), each with its count ranked by value: `segc_position` is the
    /// count of the values up to it, `segc_values` of all. The percentile lies at the
    /// 0-based position h = (n - 1) p, between the values at positions floor(h) and ceil(h)
    /// (the first whose running count passes each), interpolated by the fraction of h.
    pub(in crate::render) fn kpi_percentile(&mut self, set: usize, p: f64, key: &str) -> String {
        let m = self.alias(Alias::Members);
        let in_set = format!("{m}.{} = {set}", self.q("segc_set"));
        let position = format!("{m}.{}", self.q("segc_position"));
        let h = self.percentile_index(&format!("{m}.{}", self.q("segc_values")), p);
        let value = format!("{m}.{key}");
        let low = format!("MIN(CASE WHEN {in_set} AND {position} > FLOOR({h}) THEN {value} END)");
        let high =
            format!("MIN(CASE WHEN {in_set} AND {position} > CEILING({h}) THEN {value} END)");
        let fraction = format!("MAX(CASE WHEN {in_set} THEN {h} - FLOOR({h}) END)");
        format!("{low} + {fraction} * ({high} - {low})")
    }

    /// Whether a bucket of grouping `set`'s values (alias `m`, with the row's count of
    /// values in `segc_values`) holds a value a continuous percentile `p` reads: the
    /// positions `FLOOR` and `CEILING` of its index lie between `before` (the row's values
    /// in earlier buckets) and `through` (those up to this bucket's last), as
    /// [`kpi_percentile`](Self::kpi_percentile) reads them.
    pub(in crate::render) fn percentile_bucket(
        &mut self,
        set: usize,
        p: f64,
        before: &str,
        through: &str,
    ) -> String {
        let m = self.alias(Alias::Members);
        let h = self.percentile_index(&format!("{m}.{}", self.q("segc_values")), p);
        let holds = |index: String| format!("({before} <= {index} AND {through} > {index})");
        format!(
            "({m}.{} = {set} AND ({} OR {}))",
            self.q("segc_set"),
            holds(format!("FLOOR({h})")),
            holds(format!("CEILING({h})"))
        )
    }

    /// The value a KPI aggregates on a member row: its attribute (1 to count members), NULL
    /// where the KPI's `where` fails.
    fn member_value(&mut self, aggregate: &KpiAggregate) -> Result<String, Error> {
        let value = match aggregate.of {
            Some(attribute) => format!(
                "{}.{}",
                self.alias(Alias::Members),
                self.q(&self.plan().project.attribute(attribute).name)
            ),
            None => "1".into(),
        };
        Ok(match &aggregate.filter {
            Some(filter) => format!(
                "CASE WHEN {} THEN {value} END",
                self.condition(filter, Alias::Members)?
            ),
            None => value,
        })
    }

    /// A KPI's final value in the outer SELECT (aliases `s` for the row list, `k` for the
    /// aggregates): counts of empty rows are 0, ratios divide, shares divide by `all_users`.
    pub(in crate::render) fn kpi_output(&mut self, id: KpiId) -> Result<String, Error> {
        let kpi = self.plan().project.kpi(id);
        Ok(match &kpi.kind {
            KpiKind::Aggregate { .. } if kpi.timed => format!(
                "CASE WHEN {}.{} = 0 THEN NULL ELSE {}.{} END",
                self.alias(Alias::Segments),
                self.q("segc_row"),
                self.alias(Alias::Timed),
                self.q(&kpi.name)
            ),
            KpiKind::Aggregate { aggregation, .. } => {
                let column = format!("{}.{}", self.alias(Alias::Kpis), self.q(&kpi.name));
                let count = matches!(
                    aggregation,
                    KpiAggregation::Count | KpiAggregation::CountDistinct
                );
                if count {
                    format!("COALESCE({column}, 0)")
                } else {
                    column
                }
            }
            KpiKind::Ratio(numerator, denominator) => {
                let (numerator, denominator) = (*numerator, *denominator);
                let a = self.kpi_output(numerator)?;
                let b = self.kpi_output(denominator)?;
                self.call("divide", &[Value::from(a), Value::from(b)])?
            }
            KpiKind::Flow(flow) => {
                // `all_users` has no history: no flows.
                format!(
                    "CASE WHEN {segments}.{row} = 0 THEN NULL ELSE COALESCE({flows}.{column}, 0) END",
                    segments = self.alias(Alias::Segments),
                    row = self.q("segc_row"),
                    flows = self.alias(Alias::Flows),
                    column = self.q(flow.name()),
                )
            }
            KpiKind::ShareOfTotal(total) => {
                let total = *total;
                let value = self.kpi_output(total)?;
                let partition = self
                    .period_key(self.spine_alias)
                    .map(|period| format!("PARTITION BY {period}"))
                    .unwrap_or_default();
                let all_users = format!(
                    "MAX(CASE WHEN {}.{} = 0 THEN {value} END) OVER ({partition})",
                    self.alias(Alias::Segments),
                    self.q("segc_row")
                );
                self.call("divide", &[Value::from(value), Value::from(all_users)])?
            }
        })
    }
}
