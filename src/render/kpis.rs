//! Spells the KPIs of each reported row (members grouped by signature and by the values
//! distinct counts and percentiles read, the aggregates per row, then the reported values
//! with the type each leaves as) and the counts of `segc explain`.

use crate::render::alias::Alias;
use minijinja::Value;
use serde::Serialize;

use crate::error::Error;
use crate::ir::KpiType;
use crate::plan::aggregates::KpiGrouping;
use crate::plan::output::{EXPLAIN_LEFT_PREFIX, EXPLAIN_PASSING_PREFIX, overlap_column};
use crate::plan::statement::{Membership, Statement};

use super::expr::{Aggregated, ExactColumns, ExactLayers, Sql};
use super::signatures::Signatures;
use super::{Item, Names, comment_text};

/// The KPI stages' columns.
#[derive(Default)]
pub(super) struct Kpis {
    /// Per signature: the partial aggregates of the KPIs computed from partials.
    pub(super) partials: Vec<Item>,
    /// Per row, over its members' rows: `segc overlap`'s counts.
    pub(super) per_member: Vec<Item>,
    /// Per row: each KPI from its grouped members (with the groups by value kept apart, the
    /// KPIs from partials).
    pub(super) aggregates: Vec<Item>,
    /// Per row, with the groups by value kept apart: the distinct counts and percentiles.
    pub(super) value_aggregates: Vec<Item>,
    /// The layers around the stage of `aggregates` that put its exact sums together.
    pub(super) exact: Option<ExactLayers>,
    /// The reported values, cast to the type each leaves as.
    pub(super) outputs: Vec<Item>,
    /// How members are grouped before they meet the reported rows.
    pub(super) grouping: Grouping,
}

/// The stages that group members (`segc_signatures`) and join the groups to the rows they
/// are in (`segc_signature_rows`). With distinct counts or percentiles each member is
/// grouped once per grouping (`segc_grouped`): 0 by its signature, then by each value those
/// KPIs read. Where the warehouse computes a stage read twice only once, the groupings by
/// value are a stage of their own (`segc_groups`, with no partial aggregates), so the
/// partials are added up over signatures alone and never carried through the many groups of
/// values. With more than one word to a signature, the groups are grouped again per word
/// (`segc_signature_words`, `segc_group_words`) before they meet the rows.
#[derive(Default, Serialize)]
pub(super) struct Grouping {
    /// One row per grouping (`segc_set`), when there is more than one.
    sets: Option<String>,
    /// The value a member's copy is grouped by in each grouping, NULL in the others.
    keys: Vec<Item>,
    /// Drops a member's copy for a grouping where its value is NULL.
    filter: String,
    /// The columns of `segc_signatures` before its size and partials, and its keys.
    columns: Vec<Item>,
    group_by: Vec<String>,
    size: String,
    /// The groupings by value apart from the signatures' (`segc_groups`): its columns, the
    /// last its size, and its keys.
    groups: Option<Stage>,
    /// Distinct values whose members are in the same rows, counted together.
    values: Option<Stage>,
    /// With percentiles: each row's groups combined per grouping and value, …
    row_values: Option<Stage>,
    /// … and per percentile value in a row, the running count of its grouping's values and
    /// their total, …
    ranks: Vec<Item>,
    /// … from one running count over every row's values in order (`segc_running`), where
    /// the dialect counts so (`one_running_sum`).
    running: Option<String>,
    /// With more than one word: the groups of `segc_signatures` (or `segc_value_sets`) per
    /// word, …
    signature_words: Option<WordStage>,
    /// … and those of `segc_groups` (or `segc_value_sets`); …
    group_words: Option<WordStage>,
    /// … and the signatures' again per byte of a word (`segc_signature_bytes`), which meet
    /// only their byte's rows.
    signature_bytes: Option<WordStage>,
    /// The SELECTs putting each group in each reported row it is in: signatures (or value
    /// sets), …
    signature_rows: String,
    /// … and groups by value, kept apart.
    group_rows: String,
    /// Where the dialect says so (`groups_per_grouping`), `segc_groups` as one SELECT per
    /// grouping over the members, each grouped by its own keys: no `segc_grouped`.
    per_grouping: Vec<String>,
    /// With percentiles where the groupings by value are apart: their values ranked in two
    /// passes over buckets of values, in place of `segc_group_rows`, `segc_row_values` and
    /// the ranks above.
    buckets: Option<Buckets>,
}

/// A percentile's values ranked in two passes. The first counts each reported row's members
/// per grouping and bucket of values (consecutive values; with n distinct values in the
/// grouping, ⌈√n⌉ to a bucket, so that there are about as many buckets as values in one),
/// and finds the buckets that hold the positions a percentile reads; the second puts only
/// the groups of those buckets in the rows, and ranks their values from the count of the
/// buckets before. A row then ranks a bucket or two of values, not all of them. The
/// distinct counts add up their buckets' sizes (one bucket each). Every stage's text is
/// whole, for the template to place.
#[derive(Serialize)]
struct Buckets {
    /// The columns of `segc_bucketed`: those of the stage it buckets (`segc_value_sets`, or
    /// `segc_groups` without distinct counts), then the bucket.
    #[serde(skip)]
    aliases: Vec<String>,
    /// Each group by value with its bucket (`segc_bucketed`), …
    bucketed: String,
    /// … the groups per bucket, without the values (`segc_bucket_groups`), …
    groups: String,
    /// … with more than one word, those again per byte of a word (`segc_bucket_bytes`), …
    bytes: Option<WordStage>,
    /// … their members per reported row and bucket (`segc_bucket_rows`), …
    rows: String,
    /// … the buckets each row's percentiles read (`segc_targets`), …
    targets: String,
    /// … those buckets' values per row (`segc_target_values`), …
    values: String,
    /// … ranked, beside the distinct counts' buckets (`segc_ranked`).
    ranked: String,
}

impl Grouping {
    /// The stage holding the groups by value kept apart, and its columns: the value sets
    /// (with distinct counts) or the groups themselves; none where they are not apart.
    fn groups_by_value(&self) -> Option<(&'static str, Vec<String>)> {
        let alias = |item: &Item| item.alias.clone();
        self.groups.as_ref().map(|groups| match &self.values {
            Some(values) => (
                "segc_value_sets",
                values.columns.iter().map(alias).collect(),
            ),
            None => ("segc_groups", groups.columns.iter().map(alias).collect()),
        })
    }

    /// How many stages read `segc_signed` for the KPIs: `segc_signatures` (or
    /// `segc_grouped`), and `segc_grouped` too where the groupings by value are apart (or
    /// each grouping's SELECT, where they are one SELECT each).
    pub(super) fn signed_readers(&self) -> usize {
        1 + match self.per_grouping.len() {
            0 => usize::from(self.groups.is_some()),
            selects => selects,
        }
    }
}

/// A stage grouping the groups of `source` again per word (`segc_word`) and the word's value
/// (`segc_signature`), or per word, byte (`segc_byte`) and the word's value within the byte,
/// with their sizes and partials combined. `join` brings in the word or byte numbers (alias
/// `j`).
#[derive(Serialize)]
struct WordStage {
    source: String,
    join: String,
    columns: Vec<Item>,
    group_by: Vec<String>,
}

#[derive(Default, Serialize)]
struct Stage {
    columns: Vec<Item>,
    group_by: Vec<String>,
}

/// The groupings after signatures: distinct counts' values, then percentiles' values; each
/// value (by its SQL) is grouped once however many KPIs read it.
struct Sets {
    distinct: Vec<(String, String)>,
    values: Vec<(String, String)>,
}

impl Sets {
    /// The grouping of a value (by its SQL), once added: 1, 2, … distinct values first.
    fn number(&self, values: bool, key: &str) -> Option<usize> {
        let distinct = self.distinct.iter().position(|(sql, _)| sql == key);
        let ranked = self.values.iter().position(|(sql, _)| sql == key);
        if values {
            ranked.map(|index| 1 + self.distinct.len() + index)
        } else {
            distinct.map(|index| 1 + index)
        }
    }

    fn all(&self) -> impl Iterator<Item = (usize, &(String, String))> {
        self.distinct
            .iter()
            .chain(&self.values)
            .enumerate()
            .map(|(index, set)| (index + 1, set))
    }
}

fn key_alias(names: &Names<'_>, set: usize) -> String {
    names.q(&format!("segc_key_{set}"))
}

pub(super) fn kpis(
    sql: &mut Sql<'_, '_>,
    statement: &Statement<'_>,
    names: &Names<'_>,
    membership: &Membership,
    signatures: &Signatures,
) -> Result<Kpis, Error> {
    let project = statement.plan().project;
    let mut kpis = Kpis::default();
    // Members and their groups carry the spine's columns.
    let outer = sql;
    let sql = &mut outer.reading_spine_from(Alias::Members);
    let mut sets = Sets {
        distinct: Vec::new(),
        values: Vec::new(),
    };
    let capabilities = &names.dialect.capabilities;
    let aggregates = &membership.aggregates;
    // Each aggregate's grouping value (by its SQL), numbered once every one is known.
    let mut grouped_by = Vec::with_capacity(aggregates.len());
    for aggregate in aggregates {
        let values = match aggregate.grouping() {
            KpiGrouping::Partial => {
                grouped_by.push(None);
                continue;
            }
            KpiGrouping::DistinctValues => false,
            KpiGrouping::Values(_) => true,
        };
        let (key, value) = sql.kpi_grouping_value(aggregate)?;
        if sets.number(values, &key).is_none() {
            let list = if values {
                &mut sets.values
            } else {
                &mut sets.distinct
            };
            list.push((key.clone(), value));
        }
        grouped_by.push(Some((values, key)));
    }
    let grouped = !sets.distinct.is_empty() || !sets.values.is_empty();
    let apart = grouped && capabilities.stages_computed_once();
    // Percentiles ranked in two passes over buckets of values (apart only), not by the
    // ranks `grouping` writes.
    let bucketed = apart && capabilities.percentile_buckets && !sets.values.is_empty();
    let mut recombined = Vec::new();
    // Each percentile's grouping and fraction.
    let mut percentiles = Vec::new();
    // Each KPI's partials as SQL, to compute a KPI's once when another's are the same.
    let mut computed: Vec<(Vec<(String, &'static str)>, usize)> = Vec::new();
    // The exact sums of the stage of `kpis.aggregates`.
    let mut exact = ExactColumns::default();
    if sql.series_len().is_some() {
        exact.keep(names.q("segc_period"));
    }
    exact.keep(names.q("segc_row"));
    for (index, (aggregate, grouped_by)) in aggregates.iter().zip(grouped_by).enumerate() {
        let kpi = project.kpi(aggregate.kpi);
        let value = match aggregate.grouping() {
            KpiGrouping::Partial => {
                let partials = sql.kpi_partials(aggregate)?;
                let texts: Vec<(String, &'static str)> = partials
                    .iter()
                    .map(|(text, _, combine)| (text.clone(), *combine))
                    .collect();
                // The same partials (`sum: monthly_spend` in two KPIs, say), combined the
                // same way: this KPI reads the first one's columns.
                let same = computed
                    .iter()
                    .find(|(earlier, first)| {
                        let first = &aggregates[*first];
                        *earlier == texts
                            && first.function == aggregate.function
                            && first.whole == aggregate.whole
                            && first.exact == aggregate.exact
                    })
                    .map(|(_, first)| *first);
                let reads = match same {
                    Some(first) => &aggregates[first],
                    None => {
                        computed.push((texts, index));
                        for (sql_text, alias, combine) in partials {
                            recombined.push(Item::new(
                                format!("{combine}({}.{alias})", names.alias(Alias::Members)),
                                alias.clone(),
                            ));
                            kpis.partials.push(Item {
                                sql: sql_text,
                                alias,
                                comment: comment_text(&kpi.name),
                            });
                        }
                        aggregate
                    }
                };
                sql.kpi_combined(reads, grouped && !apart)?
            }
            grouping => {
                let set = grouped_by
                    .and_then(|(values, key)| sets.number(values, &key))
                    .ok_or_else(|| {
                        Error::Render("a distinct count or percentile without its grouping".into())
                    })?;
                Aggregated::Plain(match grouping {
                    KpiGrouping::Values(p) => {
                        percentiles.push((set, p));
                        sql.kpi_percentile(set, p, &key_alias(names, set))
                    }
                    _ => sql.kpi_distinct(set)?,
                })
            }
        };
        let comment = comment_text(&format!("{} ({})", kpi.name, kpi.origin));
        let alias = names.q(&kpi.name);
        // The values' stage holds distinct counts and percentiles, never an exact sum.
        let (list, items) = match aggregate.grouping() {
            KpiGrouping::Partial => (&mut kpis.aggregates, exact.items(sql, alias, value)?),
            _ if apart => (&mut kpis.value_aggregates, vec![(value.plain()?, alias)]),
            _ => (&mut kpis.aggregates, exact.items(sql, alias, value)?),
        };
        for (text, alias) in items {
            list.push(Item {
                sql: text,
                alias,
                comment: comment.clone(),
            });
        }
    }
    let by_signature = Grouping {
        columns: signatures.keys.clone(),
        group_by: signatures.keys.iter().map(|key| key.sql.clone()).collect(),
        size: sql.call("count_rows", &[])?,
        ..Grouping::default()
    };
    kpis.grouping = match (grouped, apart) {
        (false, _) => by_signature,
        (true, false) => grouping(
            sql,
            names,
            signatures,
            &sets,
            recombined.clone(),
            false,
            true,
        )?,
        (true, true) => {
            // Grouping 0 by signature alone, with the partials; the groupings by value in
            // a stage of their own.
            let mut apart = grouping(sql, names, signatures, &sets, Vec::new(), true, !bucketed)?;
            let mut groups = Stage {
                columns: std::mem::replace(&mut apart.columns, by_signature.columns),
                group_by: std::mem::replace(&mut apart.group_by, by_signature.group_by),
            };
            let size = std::mem::replace(&mut apart.size, by_signature.size);
            groups.columns.push(Item::new(size, names.q("segc_size")));
            apart.groups = Some(groups);
            if capabilities.groups_per_grouping {
                apart.per_grouping = per_grouping(sql, names, signatures, &sets)?;
            }
            if bucketed {
                apart.buckets = Some(buckets(
                    sql,
                    names,
                    signatures,
                    &apart,
                    &sets,
                    &percentiles,
                )?);
            }
            apart
        }
    };
    kpis.exact = exact.layers(sql)?;
    fan_out(names, signatures, &mut kpis, &recombined);
    let sql = outer;
    for (id, value_type) in &membership.outputs {
        let kpi = project.kpi(*id);
        let value = sql.kpi_output(*id)?;
        let type_name = match value_type {
            KpiType::Integer => "bigint",
            KpiType::Double => "double",
            KpiType::Date => "date",
            KpiType::Timestamp => "timestamp",
            KpiType::String => "varchar",
        };
        let value = match value_type {
            KpiType::Timestamp => sql.call("utc_timestamp", &[Value::from(value)])?,
            _ => sql.call("cast", &[Value::from(value), Value::from(type_name)])?,
        };
        kpis.outputs.push(Item {
            sql: value,
            alias: names.q(&kpi.name),
            comment: comment_text(&format!("{} ({})", kpi.name, kpi.origin)),
        });
    }
    Ok(kpis)
}

/// The stages putting groups in the reported rows: signatures (or the value sets of every
/// grouping), and the groups by value kept apart; with more than one word, each grouped
/// again per word first.
fn fan_out(names: &Names<'_>, signatures: &Signatures, kpis: &mut Kpis, recombined: &[Item]) {
    let grouping = &mut kpis.grouping;
    let size = names.q("segc_size");
    let alias = |item: &Item| item.alias.clone();
    let (signature_source, signature_aliases): (_, Vec<String>) =
        match (&grouping.values, &grouping.groups) {
            (Some(values), None) => (
                "segc_value_sets",
                values.columns.iter().map(alias).collect(),
            ),
            _ => (
                "segc_signatures",
                grouping
                    .columns
                    .iter()
                    .map(alias)
                    .chain([size.clone()])
                    .chain(kpis.partials.iter().map(alias))
                    .collect(),
            ),
        };
    let group_source = match &grouping.buckets {
        Some(buckets) => Some(("segc_bucketed", buckets.aliases.clone())),
        None => grouping.groups_by_value(),
    };
    let bucketed = grouping.buckets.is_some();
    if signatures.per_word() {
        grouping.signature_words = Some(per_word(
            names,
            signatures,
            signature_source,
            &signature_aliases,
            recombined,
        ));
        // Signatures (not value sets, whose values are keys too) fall to a few hundred
        // groups per byte: they meet the rows so.
        grouping.signature_rows = if signature_source == "segc_signatures" {
            let words = grouping.signature_words.as_ref().map(WordStage::aliases);
            grouping.signature_bytes = words.map(|aliases| {
                per_byte(
                    names,
                    signatures,
                    "segc_signature_words",
                    &aliases,
                    recombined,
                )
            });
            signatures.byte_rows_of(names, &names.q("segc_signature_bytes"))
        } else {
            signatures.rows_of(names, &names.q("segc_signature_words"))
        };
        if let Some((source, aliases)) = group_source {
            grouping.group_words = Some(per_word(names, signatures, source, &aliases, &[]));
            if !bucketed {
                grouping.group_rows = signatures.rows_of(names, &names.q("segc_group_words"));
            }
        }
    } else {
        grouping.signature_rows = signatures.rows_of(names, &names.q(signature_source));
        if let Some((source, _)) = group_source.filter(|_| !bucketed) {
            grouping.group_rows = signatures.rows_of(names, &names.q(source));
        }
    }
}

/// The groups of `source` (whose columns are `aliases`) per word and word's value: the
/// signature words give way to the word's number and value, the size and the partials
/// (`recombined`) are added up, and every other column is a key.
fn per_word(
    names: &Names<'_>,
    signatures: &Signatures,
    source: &str,
    aliases: &[String],
    recombined: &[Item],
) -> WordStage {
    let mut regrouped = Regrouped::default();
    for alias in aliases {
        if !signatures.word_bits.iter().any(|(word, _)| word == alias) {
            regrouped.keep(names, alias, recombined);
        }
    }
    let Regrouped {
        mut columns,
        mut group_by,
        added,
    } = regrouped;
    let word = format!("{}.{}", names.alias(Alias::Words), names.q("segc_word"));
    columns.push(Item::new(word.clone(), names.q("segc_word")));
    columns.push(Item::new(
        signatures.word_value.clone(),
        names.q("segc_signature"),
    ));
    group_by.push(word);
    group_by.push(signatures.word_value.clone());
    columns.extend(added);
    WordStage {
        source: names.q(source),
        join: format!(
            "CROSS JOIN ({}) AS {}",
            signatures.word_list.as_deref().unwrap_or_default(),
            names.alias(Alias::Words)
        ),
        columns,
        group_by,
    }
}

impl WordStage {
    fn aliases(&self) -> Vec<String> {
        self.columns.iter().map(|item| item.alias.clone()).collect()
    }
}

/// The columns of a stage of groups grouped again: keys, and the size and the partials
/// (`added`), added up.
#[derive(Default)]
struct Regrouped {
    columns: Vec<Item>,
    group_by: Vec<String>,
    added: Vec<Item>,
}

impl Regrouped {
    /// Column `alias` of the groups (alias `m`): the size and the partials `recombined` are
    /// added up, any other column is a key.
    fn keep(&mut self, names: &Names<'_>, alias: &str, recombined: &[Item]) {
        let m = names.alias(Alias::Members);
        let size = names.q("segc_size");
        if alias == size {
            self.added
                .push(Item::new(format!("SUM({m}.{size})"), size.clone()));
        } else if let Some(partial) = recombined.iter().find(|item| item.alias == alias) {
            self.added.push(partial.clone());
        } else {
            let column = format!("{m}.{alias}");
            self.group_by.push(column.clone());
            self.columns.push(Item::new(column, alias.to_string()));
        }
    }
}

/// The groups of `source`, a stage per word (columns `aliases`: `segc_word`,
/// `segc_signature`, the size, the partials `recombined` and other keys), again per byte of
/// their word that holds a reported row's bit: the word's value gives way to its bits in the
/// byte, the size and the partials are added up, and every other column stays a key. A
/// word's value within a byte has at most 256 values, so a group per byte stands for many
/// per word.
fn per_byte(
    names: &Names<'_>,
    signatures: &Signatures,
    source: &str,
    aliases: &[String],
    recombined: &[Item],
) -> WordStage {
    let m = names.alias(Alias::Members);
    let j = names.alias(Alias::Words);
    let signature = names.q("segc_signature");
    let mut regrouped = Regrouped::default();
    for alias in aliases {
        if *alias == signature {
            let bits = format!("{m}.{signature} & {j}.{}", names.q("segc_mask"));
            let byte = format!("{j}.{}", names.q("segc_byte"));
            regrouped.group_by.extend([byte.clone(), bits.clone()]);
            regrouped.columns.extend([
                Item::new(byte, names.q("segc_byte")),
                Item::new(bits, signature.clone()),
            ]);
        } else {
            regrouped.keep(names, alias, recombined);
        }
    }
    let Regrouped {
        mut columns,
        group_by,
        added,
    } = regrouped;
    columns.extend(added);
    let word = names.q("segc_word");
    WordStage {
        source: names.q(source),
        join: format!(
            "JOIN ({}) AS {j} ON {j}.{word} = {m}.{word}",
            signatures.byte_list.as_deref().unwrap_or_default()
        ),
        columns,
        group_by,
    }
}

/// The grouping stages when distinct counts or percentiles group members by value too:
/// grouping 0 (by signature) among them, or with `apart` the groupings by value alone (the
/// partials, `recombined`, are then added up over signatures elsewhere). With
/// `rank_values`, the stages ranking every percentile value of a row in one pass.
fn grouping(
    sql: &mut Sql<'_, '_>,
    names: &Names<'_>,
    signatures: &Signatures,
    sets: &Sets,
    recombined: Vec<Item>,
    apart: bool,
    rank_values: bool,
) -> Result<Grouping, Error> {
    let m = names.alias(Alias::Members);
    let o = names.alias(Alias::Groupings);
    let set = names.q("segc_set");
    let m_set = format!("{m}.{set}");
    let distinct = sets.distinct.len();
    let mut grouping = Grouping {
        sets: Some(
            (usize::from(apart)..=sets.distinct.len() + sets.values.len())
                .enumerate()
                .map(|(index, number)| match index {
                    0 => format!("SELECT {number} AS {set}"),
                    _ => format!("SELECT {number}"),
                })
                .collect::<Vec<_>>()
                .join(" UNION ALL "),
        ),
        ..Grouping::default()
    };
    let mut filter = Vec::new();
    for (number, (key, value)) in sets.all() {
        grouping.keys.push(Item {
            sql: format!("CASE WHEN {o}.{set} = {number} THEN {key} END"),
            alias: key_alias(names, number),
            comment: if number <= distinct {
                format!("grouping {number}: a distinct count's values")
            } else {
                format!("grouping {number}: a percentile's values")
            },
        });
        filter.push(format!("({o}.{set} <> {number} OR {value} IS NOT NULL)"));
    }
    grouping.filter = filter.join(" AND ");
    // Grouping 0 and the percentiles' groupings keep signatures apart; distinct values take
    // the union of their members' signatures.
    let in_distinct = (distinct > 0).then(|| format!("{m_set} BETWEEN 1 AND {distinct}"));
    let period = sql.period_key(Alias::Members);
    let mut keys = vec![m_set.clone()];
    keys.extend(period.clone());
    grouping.columns.push(Item::new(m_set.clone(), set.clone()));
    let mut again = Stage::default();
    again.columns.push(Item::new(m_set.clone(), set.clone()));
    if let Some(period) = &period {
        grouping
            .columns
            .push(Item::new(period.clone(), names.q("segc_period")));
        again
            .columns
            .push(Item::new(period.clone(), names.q("segc_period")));
    }
    for (word, bits) in &signatures.word_bits {
        let column = format!("{m}.{word}");
        let union = sql.call(
            "bit_or",
            &[Value::from(column.clone()), Value::from(bits.clone())],
        )?;
        grouping.columns.push(Item::new(union, word.clone()));
        keys.push(match &in_distinct {
            Some(in_distinct) => format!("CASE WHEN {in_distinct} THEN 0 ELSE {column} END"),
            None => column.clone(),
        });
        again.columns.push(Item::new(column, word.clone()));
    }
    for (number, _) in sets.all() {
        let column = format!("{m}.{}", key_alias(names, number));
        keys.push(column.clone());
        if number > distinct {
            grouping.columns.push(Item::new(
                format!("MAX({column})"),
                key_alias(names, number),
            ));
            again
                .columns
                .push(Item::new(column, key_alias(names, number)));
        }
    }
    let count = sql.call("count_rows", &[])?;
    grouping.size = match &in_distinct {
        Some(in_distinct) => format!("CASE WHEN {in_distinct} THEN 1 ELSE {count} END"),
        None => count,
    };
    grouping.group_by = keys;
    let size = Item::new(
        format!("SUM({m}.{})", names.q("segc_size")),
        names.q("segc_size"),
    );
    if distinct > 0 {
        again.group_by = again
            .columns
            .iter()
            .map(|column| column.sql.clone())
            .collect();
        again.columns.push(size.clone());
        again.columns.extend(recombined.iter().cloned());
        grouping.values = Some(again);
    }
    if rank_values && !sets.values.is_empty() {
        // A row's groups of one grouping and value are added up first: the ranks below
        // then number a row's values, not its groups.
        let mut keys = Vec::new();
        keys.extend(
            period
                .as_ref()
                .map(|period| Item::new(period.clone(), names.q("segc_period"))),
        );
        keys.push(Item::new(
            format!("{m}.{}", names.q("segc_row")),
            names.q("segc_row"),
        ));
        keys.push(Item::new(m_set.clone(), set.clone()));
        for number in distinct + 1..=distinct + sets.values.len() {
            let alias = key_alias(names, number);
            keys.push(Item::new(format!("{m}.{alias}"), alias));
        }
        let mut row_values = Stage {
            group_by: keys.iter().map(|key| key.sql.clone()).collect(),
            columns: keys,
        };
        row_values.columns.push(size);
        row_values.columns.extend(recombined);
        grouping.row_values = Some(row_values);
        let mut partition = Vec::new();
        partition.extend(period);
        partition.push(format!("{m}.{}", names.q("segc_row")));
        partition.push(m_set);
        let partition = partition.join(", ");
        let order = (distinct + 1..=distinct + sets.values.len())
            .map(|number| format!("{m}.{}", key_alias(names, number)))
            .collect::<Vec<_>>()
            .join(", ");
        let size = format!("SUM({m}.{})", names.q("segc_size"));
        let (running, total) = if names.dialect.capabilities.one_running_sum {
            // One running count over every row's values, in order: a row's values follow
            // one another, so each row's count starts after the last row's. The values of
            // a row and grouping are distinct (segc_row_values), so the order is total.
            let over_all = format!(
                "{size} OVER (ORDER BY {partition}, {order} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
            );
            grouping.running = Some(sql.cast(over_all, "bigint")?);
            let running = format!("{m}.{}", names.q("segc_running"));
            let before = format!(
                "MIN({running} - {m}.{}) OVER (PARTITION BY {partition})",
                names.q("segc_size")
            );
            (
                format!("{running} - {before}"),
                format!("MAX({running}) OVER (PARTITION BY {partition}) - {before}"),
            )
        } else {
            (
                format!(
                    "{size} OVER (PARTITION BY {partition} ORDER BY {order} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
                ),
                format!("{size} OVER (PARTITION BY {partition})"),
            )
        };
        grouping.ranks.push(Item {
            sql: sql.cast(running, "bigint")?,
            alias: names.q("segc_position"),
            comment: "members with a percentile's values up to this one".into(),
        });
        grouping.ranks.push(Item {
            sql: sql.cast(total, "bigint")?,
            alias: names.q("segc_values"),
            comment: "members with a percentile's values".into(),
        });
    }
    Ok(grouping)
}

/// The stages of [`Buckets`] over the groups by value of `grouping` (its groupings by value
/// apart), for the percentiles `percentiles` (grouping, fraction).
fn buckets(
    sql: &mut Sql<'_, '_>,
    names: &Names<'_>,
    signatures: &Signatures,
    grouping: &Grouping,
    sets: &Sets,
    percentiles: &[(usize, f64)],
) -> Result<Buckets, Error> {
    let q = |name: &str| names.q(name);
    let m = &names.alias(Alias::Members);
    let s = &names.alias(Alias::Segments);
    let (source, mut aliases) = grouping
        .groups_by_value()
        .ok_or_else(|| Error::Render("percentiles ranked by bucket without their groups".into()))?;
    let distinct = sets.distinct.len();
    let keys: Vec<String> = (distinct + 1..=distinct + sets.values.len())
        .map(|number| key_alias(names, number))
        .collect();
    let column = |alias: &str, name: &str| format!("{alias}.{}", q(name));
    let of = |alias: &str, columns: &[String]| {
        columns
            .iter()
            .map(|column| format!("{alias}.{column}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let period = sql.period_key(Alias::Members).map(|_| q("segc_period"));
    let with_period = |alias: &str, rest: &[&str]| {
        period
            .iter()
            .map(|period| format!("{alias}.{period}"))
            .chain(rest.iter().map(|name| column(alias, name)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let window = "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW";
    let size = column(m, "segc_size");

    // A group's bucket: its value's rank among its grouping's distinct values, counted
    // from 0, over the bucket's width, the square root of their number rounded up. A
    // distinct count's groups have no value: one rank, bucket 0.
    let rank = column(m, "segc_rank");
    let from_zero = sql.cast(format!("{rank} - 1"), "double")?;
    let ranks = sql.cast(
        format!("MAX({rank}) OVER (PARTITION BY {})", column(m, "segc_set")),
        "double",
    )?;
    let bucket = sql.cast(
        format!("FLOOR({from_zero} / CEILING(SQRT({ranks})))"),
        "bigint",
    )?;
    let bucketed = format!(
        "  SELECT\n    {},\n    {bucket} AS {}\n  FROM (\n    SELECT\n      {m}.*,\n      DENSE_RANK() OVER (PARTITION BY {} ORDER BY {}) AS {}\n    FROM {} AS {m}\n  ) AS {m}",
        of(m, &aliases),
        q("segc_bucket"),
        column(m, "segc_set"),
        of(m, &keys),
        q("segc_rank"),
        q(source)
    );
    aliases.push(q("segc_bucket"));

    // The groups per bucket: per word where the rows meet groups word by word.
    let per_word = signatures.per_word();
    let (groups_source, words): (&str, Vec<String>) = if per_word {
        (
            "segc_group_words",
            vec![q("segc_word"), q("segc_signature")],
        )
    } else {
        (
            "segc_bucketed",
            signatures
                .word_bits
                .iter()
                .map(|(word, _)| word.clone())
                .collect(),
        )
    };
    let mut group_keys = vec![column(m, "segc_set")];
    group_keys.extend(period.iter().map(|period| format!("{m}.{period}")));
    group_keys.push(column(m, "segc_bucket"));
    group_keys.extend(words.iter().map(|word| format!("{m}.{word}")));
    let groups = format!(
        "  SELECT\n    {},\n    SUM({size}) AS {}\n  FROM {} AS {m}\n  GROUP BY {}",
        group_keys.join(",\n    "),
        q("segc_size"),
        q(groups_source),
        group_keys.join(", ")
    );

    // With more than one word, the groups per bucket again per byte, which meet the rows.
    // Its columns: the keys above (each `m.` and its name), then the size.
    let bytes = per_word.then(|| {
        let member = format!("{m}.");
        let aliases: Vec<String> = group_keys
            .iter()
            .map(|key| key.strip_prefix(&member).unwrap_or(key).to_string())
            .chain([q("segc_size")])
            .collect();
        per_byte(names, signatures, "segc_bucket_groups", &aliases, &[])
    });

    // Each row's members per grouping and bucket.
    let row_keys = with_period(m, &["segc_row", "segc_set", "segc_bucket"]);
    let in_rows = match bytes {
        Some(_) => signatures.byte_rows_of(names, &q("segc_bucket_bytes")),
        None => signatures.rows_of(names, &q("segc_bucket_groups")),
    };
    let in_rows = in_rows
        .lines()
        .map(|line| format!("  {line}"))
        .collect::<Vec<_>>()
        .join("\n");
    let summed = sql.cast(format!("SUM({size})"), "bigint")?;
    let rows = format!(
        "  SELECT\n    {row_keys},\n    {summed} AS {}\n  FROM (\n{in_rows}\n  ) AS {m}\n  GROUP BY {row_keys}",
        q("segc_size")
    );

    // The buckets a row's percentiles read, with the row's values before each and in all.
    let partition = with_period(m, &["segc_row", "segc_set"]);
    let through = sql.cast(
        format!(
            "SUM({size}) OVER (PARTITION BY {partition} ORDER BY {} {window})",
            column(m, "segc_bucket")
        ),
        "bigint",
    )?;
    let total = sql.cast(
        format!("SUM({size}) OVER (PARTITION BY {partition})"),
        "bigint",
    )?;
    let through_column = column(m, "segc_through");
    let before = format!("{through_column} - {size}");
    // Each percentile's test once, however many KPIs read the same one.
    let mut read: Vec<String> = Vec::new();
    for (set, p) in percentiles {
        let test = sql.percentile_bucket(*set, *p, &before, &through_column);
        if !read.contains(&test) {
            read.push(test);
        }
    }
    let read = read.join("\n    OR ");
    let targets = format!(
        "  SELECT\n    {},\n    {s}.{word},\n    {s}.{bit},\n    {before} AS {},\n    {m}.{values}\n  FROM (\n    SELECT\n      {m}.*,\n      {through} AS {},\n      {total} AS {values}\n    FROM {} AS {m}\n    WHERE {} > {distinct}\n  ) AS {m}\n  JOIN {} AS {s} ON {s}.{row} = {m}.{row}\n  WHERE {read}",
        with_period(m, &["segc_row", "segc_set", "segc_bucket"]),
        q("segc_before"),
        q("segc_through"),
        q("segc_bucket_rows"),
        column(m, "segc_set"),
        q("segc_segments"),
        word = q("segc_word"),
        bit = q("segc_bit"),
        values = q("segc_values"),
        row = q("segc_row"),
    );

    // The groups of those buckets in each row that reads them, per value.
    let mut on = vec![
        format!("{} = {}", column(m, "segc_set"), column(s, "segc_set")),
        format!(
            "{} = {}",
            column(m, "segc_bucket"),
            column(s, "segc_bucket")
        ),
    ];
    on.extend(
        period
            .iter()
            .map(|period| format!("{m}.{period} = {s}.{period}")),
    );
    let test = if per_word {
        on.push(format!(
            "{} = {}",
            column(m, "segc_word"),
            column(s, "segc_word")
        ));
        let bit = column(s, "segc_bit");
        format!("({} & {bit}) = {bit}", column(m, "segc_signature"))
    } else {
        signatures.in_row.clone()
    };
    let value_keys = format!(
        "{}, {}",
        with_period(s, &["segc_row", "segc_set", "segc_bucket"]),
        of(m, &keys)
    );
    let values = format!(
        "  SELECT\n    {value_keys},\n    {summed} AS {},\n    MAX({}) AS {},\n    MAX({}) AS {}\n  FROM {} AS {s}\n  JOIN {} AS {m} ON {}\n  WHERE {test}\n  GROUP BY {value_keys}",
        q("segc_size"),
        column(s, "segc_before"),
        q("segc_before"),
        column(s, "segc_values"),
        q("segc_values"),
        q("segc_targets"),
        q(groups_source),
        on.join(" AND ")
    );

    // Each value's position: the row's values before its bucket, then its bucket's up to
    // it. The distinct counts' buckets come alongside, with no value and no position.
    let position = sql.cast(
        format!(
            "{} + SUM({size}) OVER (PARTITION BY {} ORDER BY {} {window})",
            column(m, "segc_before"),
            with_period(m, &["segc_row", "segc_set", "segc_bucket"]),
            of(m, &keys)
        ),
        "bigint",
    )?;
    let common = with_period(m, &["segc_row", "segc_set"]);
    let mut ranked = format!(
        "  SELECT\n    {common},\n    {},\n    {size},\n    {},\n    {position} AS {}\n  FROM {} AS {m}",
        of(m, &keys),
        column(m, "segc_values"),
        q("segc_position"),
        q("segc_target_values")
    );
    if distinct > 0 {
        let no_value = sql.cast("NULL".into(), "double")?;
        let no_count = sql.cast("NULL".into(), "bigint")?;
        let no_values = keys
            .iter()
            .map(|key| format!("{no_value} AS {key}"))
            .collect::<Vec<_>>()
            .join(", ");
        ranked.push_str(&format!(
            "\n  UNION ALL\n  SELECT\n    {common},\n    {no_values},\n    {size},\n    {no_count},\n    {no_count}\n  FROM {} AS {m}\n  WHERE {} <= {distinct}",
            q("segc_bucket_rows"),
            column(m, "segc_set")
        ));
    }
    Ok(Buckets {
        aliases,
        bucketed,
        groups,
        bytes,
        rows,
        targets,
        values,
        ranked,
    })
}

/// `segc_groups` as one SELECT per grouping over the members (alias `m`), with the columns
/// of [`grouping`]'s groups stage in its order: the grouping's number, the period, the
/// words (a distinct value's the union of its members' signatures, a percentile value's its
/// members' signature), each percentile's value (NULL in the other groupings), the size.
/// Each is grouped by its own keys, and leaves out the members without its value.
fn per_grouping(
    sql: &mut Sql<'_, '_>,
    names: &Names<'_>,
    signatures: &Signatures,
    sets: &Sets,
) -> Result<Vec<String>, Error> {
    let m = names.alias(Alias::Members);
    let distinct = sets.distinct.len();
    let period = sql.period_key(Alias::Members);
    let no_value = sql.cast("NULL".into(), "double")?;
    let mut selects = Vec::new();
    for (number, (key, value)) in sets.all() {
        let is_distinct = number <= distinct;
        let mut columns = vec![Item::new(number.to_string(), names.q("segc_set"))];
        let mut group_by = Vec::new();
        if let Some(period) = &period {
            columns.push(Item::new(period.clone(), names.q("segc_period")));
            group_by.push(period.clone());
        }
        for (word, bits) in &signatures.word_bits {
            let column = format!("{m}.{word}");
            if is_distinct {
                let union =
                    sql.call("bit_or", &[Value::from(column), Value::from(bits.clone())])?;
                columns.push(Item::new(union, word.clone()));
            } else {
                columns.push(Item::new(column.clone(), word.clone()));
                group_by.push(column);
            }
        }
        for (other, _) in sets.all().filter(|(other, _)| *other > distinct) {
            let column = if other == number {
                key.clone()
            } else {
                no_value.clone()
            };
            columns.push(Item::new(column, key_alias(names, other)));
        }
        group_by.push(key.clone());
        let size = match is_distinct {
            true => sql.cast("1".into(), "bigint")?,
            false => sql.call("count_rows", &[])?,
        };
        columns.push(Item::new(size, names.q("segc_size")));
        let columns = columns
            .iter()
            .map(|column| format!("    {} AS {}", column.sql, column.alias))
            .collect::<Vec<_>>()
            .join(",\n");
        selects.push(format!(
            "  SELECT\n{columns}\n  FROM {} AS {m}\n  WHERE {value} IS NOT NULL\n  GROUP BY {}",
            names.q("segc_signed"),
            group_by.join(", ")
        ));
    }
    Ok(selects)
}

/// `segc overlap`: per reported row, its members who are in each reported row (every member
/// for `all_users`), 0 where none are.
pub(super) fn overlap(
    sql: &mut Sql<'_, '_>,
    statement: &Statement<'_>,
    names: &Names<'_>,
    membership: &Membership,
) -> Result<Kpis, Error> {
    let project = statement.plan().project;
    let mut aggregates = Vec::new();
    let mut outputs = Vec::new();
    for row in &membership.rows {
        let column = names.q(&overlap_column(row.ordinal));
        let count = match row.segment {
            None => sql.call("count_rows", &[])?,
            Some(id) => {
                let flag = format!(
                    "CASE WHEN {}.{} = 1 THEN 1 END",
                    names.alias(Alias::Members),
                    super::members::flag_name(statement, names, id)
                );
                sql.call("count", &[Value::from(flag)])?
            }
        };
        let comment = comment_text(&format!("members also in {}", row.name(project)));
        aggregates.push(Item {
            sql: count,
            alias: column.clone(),
            comment: comment.clone(),
        });
        let value = format!("COALESCE({}.{column}, 0)", names.alias(Alias::Kpis));
        outputs.push(Item {
            sql: sql.call("cast", &[Value::from(value), Value::from("bigint")])?,
            alias: column,
            comment,
        });
    }
    Ok(Kpis {
        per_member: aggregates,
        outputs,
        ..Kpis::default()
    })
}

#[derive(Serialize)]
pub(super) struct ExplainStep {
    passing: String,
    passing_alias: String,
    remaining: String,
    remaining_alias: String,
    comment: String,
}

/// `segc explain`: a flag per condition and per prefix of conditions (added to the
/// membership stage's columns), and the counts of its one row.
pub(super) fn explain(
    sql: &mut Sql<'_, '_>,
    statement: &Statement<'_>,
    names: &Names<'_>,
    flags: &mut Vec<Item>,
) -> Result<(Vec<ExplainStep>, String), Error> {
    let q = |name: &str| names.q(name);
    let sql = &mut sql.reading_spine_from(Alias::Attributes);
    let mut steps = Vec::new();
    for step in &statement.explain {
        let number = step.number;
        let passing = sql.condition(&step.condition, Alias::Attributes)?;
        let left = sql.condition(&step.so_far, Alias::Attributes)?;
        for (prefix, condition) in [
            (EXPLAIN_PASSING_PREFIX, passing),
            (EXPLAIN_LEFT_PREFIX, left),
        ] {
            flags.push(Item {
                sql: sql.call("flag", &[Value::from(condition)])?,
                alias: q(&format!("{prefix}_{number}")),
                comment: comment_text(&format!("step {number}")),
            });
        }
        let mut count = |prefix: &str| -> Result<String, Error> {
            let flag = format!(
                "CASE WHEN {}.{} = 1 THEN 1 END",
                names.alias(Alias::Members),
                q(&format!("{prefix}_{number}"))
            );
            let counted = sql.call("count", &[Value::from(flag)])?;
            sql.call("cast", &[Value::from(counted), Value::from("bigint")])
        };
        steps.push(ExplainStep {
            passing: count(EXPLAIN_PASSING_PREFIX)?,
            passing_alias: q(&format!("{EXPLAIN_PASSING_PREFIX}_{number}")),
            remaining: count(EXPLAIN_LEFT_PREFIX)?,
            remaining_alias: q(&format!("{EXPLAIN_LEFT_PREFIX}_{number}")),
            comment: comment_text(&format!("step {number}")),
        });
    }
    let total = sql.call("count_rows", &[])?;
    let total = sql.call("cast", &[Value::from(total), Value::from("bigint")])?;
    Ok((steps, total))
}
