//! The dialects segc compiles for: facts read from `dialects/<name>/dialect.toml` and
//! macro overrides from `dialects/<name>/macros.sql.j2`. The only code that knows how
//! warehouses differ — and it knows it as data.

use serde::Deserialize;

use crate::error::Error;

/// The files of one dialect, embedded in the binary.
struct DialectFiles {
    name: &'static str,
    facts: &'static str,
    macros: &'static str,
}

macro_rules! dialect_files {
    ($($name:literal),* $(,)?) => {
        &[$(DialectFiles {
            name: $name,
            facts: include_str!(concat!("../../dialects/", $name, "/dialect.toml")),
            macros: include_str!(concat!("../../dialects/", $name, "/macros.sql.j2")),
        }),*]
    };
}

const DIALECTS: &[DialectFiles] =
    dialect_files!["bigquery", "duckdb", "postgres", "redshift", "sqlserver"];

/// The default macros every dialect starts from, in load order.
pub const DEFAULT_MACROS: &[(&str, &str)] = &[
    (
        "templates/macros/types.sql.j2",
        include_str!("../../templates/macros/types.sql.j2"),
    ),
    (
        "templates/macros/arithmetic.sql.j2",
        include_str!("../../templates/macros/arithmetic.sql.j2"),
    ),
    (
        "templates/macros/aggregates.sql.j2",
        include_str!("../../templates/macros/aggregates.sql.j2"),
    ),
    (
        "templates/macros/strings.sql.j2",
        include_str!("../../templates/macros/strings.sql.j2"),
    ),
];

/// The statement skeleton.
pub const REPORT_TEMPLATE: &str = include_str!("../../templates/report.sql.j2");

/// Every dialect name, for `--dialect` and for tests that must cover them all.
pub fn names() -> Vec<&'static str> {
    DIALECTS.iter().map(|d| d.name).collect()
}

#[derive(Debug, Clone, Deserialize)]
pub struct IdentifierStyle {
    pub open: String,
    pub close: String,
    /// Replacements applied to the name, in order: `[["\"", "\"\""]]`. They must cover
    /// every character that could end the quoted name early (the closing quote, and on
    /// BigQuery the backslash that escapes it).
    pub escapes: Vec<(String, String)>,
    /// The longest name the warehouse reads whole, in bytes: PostgreSQL cuts a longer one to
    /// 63 bytes without an error, and would read another table or column.
    #[serde(default)]
    pub max_bytes: Option<usize>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StringStyle {
    /// Written before the opening quote (`N` on SQL Server).
    pub prefix: String,
    /// Replacements applied to the value, in order: `[["'", "''"]]`.
    pub escapes: Vec<(String, String)>,
    /// Characters never written inside quotes but as an expression joined to the quoted
    /// pieces with `concat`: `[["\\", "CHR(92)"]]` on PostgreSQL and Redshift, where a
    /// backslash inside '…' means one thing or another depending on a server setting
    /// (`standard_conforming_strings`); outside quotes its meaning is fixed.
    #[serde(default)]
    pub spelled_out: Vec<(char, String)>,
    /// Characters written as an expression, like `spelled_out`, only where a line break
    /// follows them: `[["\\", "NCHAR(92)"]]` on SQL Server, which drops a backslash and the
    /// line break after it from inside '…' (a line continuation).
    #[serde(default)]
    pub spelled_out_before_breaks: Vec<(char, String)>,
    /// The string concatenation operator, for `spelled_out`.
    #[serde(default)]
    pub concat: Option<String>,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct TypeNames {
    pub double: String,
    pub bigint: String,
    pub date: String,
    pub timestamp: String,
    pub varchar: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Literals {
    #[serde(rename = "true")]
    pub true_value: String,
    #[serde(rename = "false")]
    pub false_value: String,
}

/// What a dialect can do, where that changes the shape of the SQL.
#[derive(Debug, Clone, Deserialize)]
pub struct Capabilities {
    /// A condition is not a value, nor a 1/0 value a condition (T-SQL): a formula's boolean
    /// read as a value (a function's argument, a CASE's result, an operand of `=`) is written
    /// `CASE WHEN c THEN 1 WHEN NOT (c) THEN 0 END`, and a 1/0 value read as a condition
    /// `(v = 1)`.
    #[serde(default)]
    pub no_boolean_values: bool,
    /// The longest statement the warehouse accepts, in bytes, when it has a limit.
    #[serde(default)]
    pub max_statement_bytes: Option<usize>,
    /// `WITH name AS MATERIALIZED (…)` computes a stage once, where the planner would
    /// otherwise copy it into each place that reads it (PostgreSQL 12+, DuckDB): members'
    /// signatures (`segc_signed`) are written so when two stages read them.
    #[serde(default)]
    pub materialized_stages: bool,
    /// The engine computes a stage that several stages read once, and keeps it for them
    /// (DuckDB 2.0, bundled, materializes such a stage). With this or
    /// `materialized_stages` ([`Capabilities::stages_computed_once`]) the quintile scores
    /// read the attributes again: each score ranks the distinct values (a GROUP BY and a
    /// window over them) instead of sorting every user's row. Elsewhere a score is a window
    /// over the users (BigQuery computes a stage again for each stage that reads it).
    #[serde(default)]
    pub shared_stages: bool,
    /// A pass that counts distinct days in a window (one that `day_bits` does not count:
    /// longer than its words) groups each user's facts per day first
    /// and adds the days up (render/passes.rs), where that was measured faster than the
    /// engine's COUNT(DISTINCT): on DuckDB. PostgreSQL took longer (a second hash
    /// aggregate spilling to disk at its default `work_mem`), so it and the warehouses not
    /// measured keep COUNT(DISTINCT).
    #[serde(default)]
    pub days_first: bool,
    /// A distinct count of local days in a window of at most [`MAX_DAY_WORDS`] × 63 days
    /// is the number of bits set in the OR of one bit per fact, at its day's offset from
    /// the window's first day (a series' slice's, or the user's sign-up's): no group per
    /// user and day. The macros `day_bit(offset)` and `count_day_bits(bits)` spell it, and
    /// an offset outside its word fails the statement rather than miscounting (DuckDB's
    /// shift is checked; on PostgreSQL, whose shift wraps around, the macro fails it). On
    /// DuckDB the events of a 12-month series per user and slice took 2.1–2.7 s so,
    /// 6.9–8.7 s grouped per day first; on PostgreSQL the 30-segment report at 200,000
    /// users 4.8–5.3 s, 6.3–6.8 s with COUNT(DISTINCT).
    ///
    /// [`MAX_DAY_WORDS`]: crate::plan::buckets::MAX_DAY_WORDS
    #[serde(default)]
    pub day_bits: bool,
    /// A percentile's running count of a report row's values is one running sum over every
    /// row's values in order, less the count before the row, instead of a running sum per
    /// row: DuckDB took 4.9 s for the window per row over 2.9M values (300 segments, 1M
    /// users) and 1.5 s this way. A window without PARTITION BY runs on one worker on
    /// BigQuery, so the others keep the window per row.
    #[serde(default)]
    pub one_running_sum: bool,
    /// In a wide report (more than one word of signature), each word's groups meet their
    /// word's rows in a SELECT of their own (`UNION ALL`) instead of one join on the word's
    /// number: DuckDB's hash join walked every group of the word for each row (7 s for
    /// 116,442 groups at 300 segments, 1M users). The join suits the others: PostgreSQL's
    /// nested loop per word scanned the whole stage again for each row (the 300-segment
    /// report at 200,000 users took 41.4 s so, 31.4 s with the join), and BigQuery would
    /// compute the stage again for each SELECT.
    #[serde(default)]
    pub selects_per_word: bool,
    /// The quintile scores' stage ends in `OFFSET 0`, which keeps it whole. PostgreSQL
    /// otherwise pulls a stage read once up into the stage that reads it, copying each of
    /// its columns' expressions into every place that reads the column, and does not share
    /// common subexpressions: each score's CASE over its bounds was computed again in
    /// every segment condition that reads the score. At 200,000 users (medians of 5 to 7,
    /// in turn with psql, identical results): 300 segments 14.1 s → 11.4 s (the stages up
    /// to the members' signatures 6.9 s → 5.4 s), 30 segments 3.6 s → 3.3 s.
    #[serde(default)]
    pub fenced_scores: bool,
    /// A series' users, read once with their dimensions before the periods, are a derived
    /// table ending in `OFFSET 0`, which keeps it whole: DuckDB otherwise joins the
    /// dimensions to every user's every period (the users stage of a 12-month series at
    /// 1,000,000 users: 1.06 s without, 0.27 s with).
    #[serde(default)]
    pub fenced_users: bool,
    /// Where the groupings by value are a stage of their own (`segc_groups`, see
    /// [`Capabilities::stages_computed_once`]), each grouping is a SELECT of its own over the
    /// members (`UNION ALL`), grouped by its own keys alone, instead of one GROUP BY over
    /// every member copied once per grouping (`segc_grouped`) with a CASE per key. On
    /// PostgreSQL at 200,000 users, the KPI stages after the members' signatures (read from
    /// a table, CPU of the server's process, parallel workers off, in turn, five runs each,
    /// identical results): 300 segments 6.19–6.64 s against 6.65–7.36 s, 30 segments
    /// 0.61–0.66 s against 0.66–0.71 s. On DuckDB at 1,000,000 users (Python's DuckDB
    /// 2.0.0, whole reports in turn, identical results, in three sittings), once the
    /// percentiles were ranked by bucket: 300 segments 2.22–2.39 s against 2.45–2.57 s (CPU
    /// 1–9% less), 30 segments even (1.13 s against 1.14 s), a 12-month series 14.7–15.5 s
    /// against 15.4–17.2 s. Before the buckets it had measured even there.
    #[serde(default)]
    pub groups_per_grouping: bool,
    /// Where the groupings by value are a stage of their own ([`Self::stages_computed_once`]),
    /// a percentile's values are ranked in two passes over buckets of consecutive values
    /// (render/kpis.rs, `Buckets`): each reported row counts its members per bucket, then
    /// ranks only the values of the buckets its percentiles read, not all of its values.
    /// DuckDB at 1,000,000 users (Python's DuckDB 2.0.0, whole reports in turn, medians of
    /// 5, identical results): 300 segments 2.19 s against 3.44 s (CPU 3.90 s against
    /// 6.20 s), 30 segments 1.05 s against 1.21 s (CPU 1.99 s against 2.24 s). PostgreSQL at
    /// 200,000 users gains less (whole reports in turn with psql, CPU of the server's
    /// process, parallel workers off, identical results): 300 segments 10.2–11.4 s against
    /// 11.2–13.7 s in one sitting (every pair won), medians 12.2 s against 12.9 s in
    /// another (3 pairs of 5); 30 segments even. Its first pass still puts about as many
    /// groups in the rows as the one pass did (1.9 million pairs against 2.0 million), but
    /// adds them up into 17,003 (row, bucket) counts instead of ranking 794,161 (row,
    /// value) pairs.
    #[serde(default)]
    pub percentile_buckets: bool,
    /// From this many reported rows on, a report's segment conditions are evaluated once
    /// per distinct value they read instead of once per user (render/masks.rs): each
    /// conjunct of a segment's membership reads a few attributes; per distinct tuple of
    /// those (a stage of its own, `segc_mask_<n>`) every segment's conjuncts on them give
    /// its bits, and a user's signature is the AND of the words of the tuples it has. On
    /// DuckDB at 300 segments and 1,000,000 users (Python's DuckDB 2.0.1, in turn, medians
    /// of 5, identical results) the stages up to the signatures took 0.93 s instead of
    /// 1.41 s, the whole report 2.26 s instead of 2.90 s; at 100 segments the two were
    /// even (0.99 s against 1.01 s up to the signatures, the report 1.57 s against
    /// 1.45 s), and at 30 slower (1.22 s against 1.09 s), hence the threshold. PostgreSQL
    /// at 200,000 users measured alike (in turn with psql, identical results): 300
    /// segments 8.8 s against 10.3 s, 100 even (4.9 s against 4.7 s), 30 slower (4.7 s
    /// against 3.3 s). None: never.
    #[serde(default)]
    pub masks_from_rows: Option<usize>,
    /// A join on `a IS NOT DISTINCT FROM b` (equal, or both NULL) is a hash join (DuckDB).
    /// Elsewhere the condition masks' joins say so as two equalities (whether each is
    /// NULL, and each with NULL replaced by a value of its type), which PostgreSQL hashes:
    /// it joins `IS NOT DISTINCT FROM` by a nested loop, comparing every pair.
    #[serde(default)]
    pub hashed_not_distinct: bool,
}

impl Capabilities {
    /// A stage that several stages read is computed once: kept by the engine
    /// (`shared_stages`) or written `AS MATERIALIZED` (`materialized_stages`). BigQuery
    /// computes such a stage again for each reader.
    pub fn stages_computed_once(&self) -> bool {
        self.shared_stages || self.materialized_stages
    }
}

/// How `segc run --materialize` writes its results table (`[write]` in `dialect.toml`).
#[derive(Debug, Clone, Deserialize)]
pub struct WriteStyle {
    /// `INSERT INTO t (…)` comes before the statement's `WITH` (else after it: T-SQL).
    pub insert_before_with: bool,
    /// The statement that makes two writers of the table wait for each other inside the
    /// write's transaction (`{table}`: the quoted name); none where the engine serializes
    /// writers itself.
    #[serde(default)]
    pub lock: Option<String>,
}

/// What a driver sends on each new session before any statement, so that no server default
/// changes what the generated SQL means.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Session {
    pub settings: Vec<String>,
}

/// The oldest server a dialect's SQL runs on, and what that server lacks.
#[derive(Debug, Clone, Deserialize)]
pub struct VersionLimits {
    pub minimum: String,
    /// Functions and syntax (space-separated tokens) the generated SQL must never contain.
    pub unavailable: Vec<String>,
}

/// Where the placeholder `{scope}` of a catalog query comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CatalogScope {
    /// One catalog for every table: three-part names match `table_in_catalog`.
    #[default]
    None,
    /// A three-part name's first part (the database) qualifies the catalog view.
    Database,
    /// Every part before the table's own name (project and dataset) qualifies it.
    Dataset,
}

/// The warehouse's type names read as each segc type.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CatalogTypes {
    pub string: Vec<String>,
    pub integer: Vec<String>,
    pub number: Vec<String>,
    pub date: Vec<String>,
    pub timestamp: Vec<String>,
    pub boolean: Vec<String>,
}

/// How the warehouse's catalog lists the columns of tables, and what its type names mean.
#[derive(Debug, Clone, Deserialize)]
pub struct Catalog {
    /// The query, with `{scope}` and `{tables}`; it returns schema, table, column, type.
    pub query: String,
    /// One table's match, with `{schema}` and `{table}` (string literals).
    pub table: String,
    /// With a `{catalog}` too, for three-part names when `scope` is `none`.
    #[serde(default)]
    pub table_in_catalog: Option<String>,
    #[serde(default)]
    pub scope: CatalogScope,
    /// The schema of a table named without one (none: the catalog's scope decides).
    #[serde(default)]
    pub default_schema: Option<String>,
    /// A query naming the schema the warehouse reads each table named without one from (its
    /// search path, the login's default schema), with `{tables}` (the names as string
    /// literals, joined with commas); it returns schema and table, the preferred row first.
    /// Without one, or where it finds nothing, such a table is looked for in `default_schema`.
    #[serde(default)]
    pub visible: Option<String>,
    pub types: CatalogTypes,
}

/// A dialect's facts.
#[derive(Debug, Clone, Deserialize)]
pub struct Dialect {
    pub name: String,
    /// A dialect whose macros this one inherits before its own (`redshift` → `postgres`).
    #[serde(default)]
    pub parent: Option<String>,
    pub sqlparser: String,
    pub identifier: IdentifierStyle,
    pub string: StringStyle,
    pub types: TypeNames,
    pub literals: Literals,
    pub capabilities: Capabilities,
    pub version: VersionLimits,
    #[serde(default)]
    pub session: Session,
    pub catalog: Catalog,
    pub write: WriteStyle,
    /// This dialect's macro overrides.
    #[serde(skip)]
    pub macros: &'static str,
    /// Whether `=` already compares strings exactly: neither this dialect nor an ancestor
    /// has an `exact` macro of its own (see [`Dialect::compares_strings_exactly`]).
    #[serde(skip)]
    exact_equality: bool,
    /// Statements spelled as definition hashes were first computed, so that histories
    /// recorded before keep their hashes: a condition's fractional number bare (`0.5`, not
    /// `CAST(0.5 AS DOUBLE)`), and an exact sum in four pieces from 2^-64 up (not five from
    /// 2^-96). Set only to compute a definition hash.
    #[serde(skip)]
    pub hash_spelling: bool,
}

impl Dialect {
    /// The warehouse's statement length limit in bytes, when `sql` is longer than it.
    pub fn exceeded_statement_limit(&self, sql: &str) -> Option<usize> {
        self.capabilities
            .max_statement_bytes
            .filter(|limit| sql.len() > *limit)
    }

    /// Loads a dialect by name; unknown names list the known ones.
    pub fn load(name: &str) -> Result<Dialect, Error> {
        let files = DIALECTS.iter().find(|d| d.name == name).ok_or_else(|| {
            Error::Request(crate::error::BadRequest::UnknownDialect {
                name: name.to_string(),
                known: names().into_iter().map(String::from).collect(),
            })
        })?;
        let mut dialect: Dialect = toml::from_str(files.facts)
            .map_err(|e| Error::Render(format!("dialects/{name}/dialect.toml is invalid: {e}")))?;
        dialect.macros = files.macros;
        dialect.exact_equality = !dialect
            .macro_chain()?
            .iter()
            .any(|(_, macros)| macros.contains("macro exact("));
        Ok(dialect)
    }

    /// The macro override files of this dialect and its ancestors, most general first.
    pub fn macro_chain(&self) -> Result<Vec<(String, &'static str)>, Error> {
        let mut chain = vec![(format!("dialects/{}/macros.sql.j2", self.name), self.macros)];
        let mut parent = self.parent.clone();
        while let Some(name) = parent {
            let ancestor = Dialect::load(&name)?;
            chain.push((
                format!("dialects/{}/macros.sql.j2", ancestor.name),
                ancestor.macros,
            ));
            parent = ancestor.parent;
        }
        chain.reverse();
        Ok(chain)
    }

    /// Whether the dialect's `=` already compares strings exactly (no `exact` macro of its
    /// own or its ancestors'): its keys are joined as they are whatever their type.
    pub fn compares_strings_exactly(&self) -> bool {
        self.exact_equality
    }

    /// A quoted identifier: the name exactly, whatever characters it holds. (Names with
    /// control characters cannot be quoted safely everywhere: validation refuses them.)
    pub fn quote_identifier(&self, name: &str) -> String {
        let style = &self.identifier;
        let mut escaped = name.to_string();
        for (from, to) in &style.escapes {
            escaped = escaped.replace(from.as_str(), to.as_str());
        }
        format!("{}{}{}", style.open, escaped, style.close)
    }

    /// A multi-part name, each part quoted.
    pub fn quote_path(&self, parts: &[String]) -> String {
        parts
            .iter()
            .map(|p| self.quote_identifier(p))
            .collect::<Vec<_>>()
            .join(".")
    }

    /// A string literal that the warehouse reads back as exactly `value`, whatever the
    /// session's settings: characters whose meaning inside quotes depends on a setting are
    /// spelled out as expressions (`('a' || CHR(92) || 'b')`).
    pub fn string_literal(&self, value: &str) -> String {
        let style = &self.string;
        let quoted = |piece: &str| {
            let mut escaped = piece.to_string();
            for (from, to) in &style.escapes {
                escaped = escaped.replace(from.as_str(), to.as_str());
            }
            format!("{}'{}'", style.prefix, escaped)
        };
        let Some(concat) = style.concat.as_deref() else {
            return quoted(value);
        };
        // The expression for the character at `at`, where it is not written inside quotes.
        let chars: Vec<char> = value.chars().collect();
        let spelled = |at: usize| {
            let c = chars[at];
            style
                .spelled_out
                .iter()
                .find(|s| s.0 == c)
                .or_else(|| {
                    let breaks = matches!(chars.get(at + 1), Some('\n' | '\r'));
                    breaks
                        .then(|| style.spelled_out_before_breaks.iter().find(|s| s.0 == c))
                        .flatten()
                })
                .map(|(_, expression)| expression)
        };
        if !(0..chars.len()).any(|at| spelled(at).is_some()) {
            return quoted(value);
        }
        let mut pieces = Vec::new();
        let mut piece = String::new();
        for (at, &c) in chars.iter().enumerate() {
            match spelled(at) {
                Some(expression) => {
                    if !piece.is_empty() {
                        pieces.push(quoted(&std::mem::take(&mut piece)));
                    }
                    pieces.push(expression.clone());
                }
                None => piece.push(c),
            }
        }
        if !piece.is_empty() {
            pieces.push(quoted(&piece));
        }
        format!("({})", pieces.join(&format!(" {concat} ")))
    }

    pub fn boolean_literal(&self, value: bool) -> &str {
        if value {
            &self.literals.true_value
        } else {
            &self.literals.false_value
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dialect_loads() {
        for name in names() {
            let dialect = Dialect::load(name).unwrap();
            assert_eq!(dialect.name, name);
            dialect.macro_chain().unwrap();
        }
    }

    #[test]
    fn duckdb_quotes_and_escapes() {
        let duckdb = Dialect::load("duckdb").unwrap();
        assert_eq!(duckdb.quote_identifier("a\"b"), "\"a\"\"b\"");
        assert_eq!(
            duckdb.quote_path(&["app".into(), "users".into()]),
            "\"app\".\"users\""
        );
        assert_eq!(duckdb.string_literal("it's a \\ test"), "'it''s a \\ test'");
    }

    #[test]
    fn string_literals_follow_each_dialect() {
        let value = "it's a \\ test\nZoë";
        let expected = [
            ("bigquery", "'it\\'s a \\\\ test\\nZoë'"),
            ("postgres", "('it''s a ' || CHR(92) || ' test\nZoë')"),
            ("redshift", "('it''s a ' || CHR(92) || ' test\nZoë')"),
            ("sqlserver", "N'it''s a \\ test\nZoë'"),
        ];
        for (name, literal) in expected {
            assert_eq!(
                Dialect::load(name).unwrap().string_literal(value),
                literal,
                "{name}"
            );
        }
    }

    #[test]
    fn identifiers_follow_each_dialect() {
        let parts = ["my-proj".to_string(), "a]b".to_string()];
        assert_eq!(
            Dialect::load("sqlserver").unwrap().quote_path(&parts),
            "[my-proj].[a]]b]"
        );
        assert_eq!(
            Dialect::load("bigquery").unwrap().quote_path(&parts),
            "`my-proj`.`a]b`"
        );
        assert_eq!(
            Dialect::load("redshift").unwrap().quote_identifier("a\"b"),
            "\"a\"\"b\""
        );
        // BigQuery reads backslash escapes inside `…`, so a backslash is doubled too.
        assert_eq!(
            Dialect::load("bigquery").unwrap().quote_identifier("a\\`b"),
            "`a\\\\\\`b`"
        );
    }

    #[test]
    fn postgres_family_literals_hold_no_backslash_inside_quotes() {
        for name in ["postgres", "redshift"] {
            let dialect = Dialect::load(name).unwrap();
            assert_eq!(dialect.string_literal("\\"), "(CHR(92))");
            assert_eq!(
                dialect.string_literal("\\' OR 1=1 --"),
                "(CHR(92) || ''' OR 1=1 --')"
            );
            assert_eq!(dialect.string_literal("plain"), "'plain'");
        }
    }

    #[test]
    fn unknown_dialect_lists_known_ones() {
        let error = Dialect::load("oracle").unwrap_err().to_string();
        assert!(
            error.contains("bigquery, duckdb, postgres, redshift, sqlserver"),
            "{error}"
        );
    }
}
