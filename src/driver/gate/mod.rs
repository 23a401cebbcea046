//! The one gate every statement crosses on its way to a warehouse. A driver sends only an
//! [`Admitted`] statement, and only [`admit`] makes one, so no command can send SQL around it.
//!
//! What it admits depends on the shape asked for:
//! - [`Shape::Read`] (run, explain, `targets --check`, estimates): exactly one query, parsed in
//!   the target's dialect, that reads and nothing else: no `SELECT … INTO`, no locking clause,
//!   no data-changing statement nested in a `WITH`, no table functions, and calls only to the
//!   functions segc itself writes. A statement that a template or a hostile value bent into
//!   something else (`pg_sleep`, `lo_from_bytea`, a second statement) is refused.
//! - [`Shape::Session`]: one of the settings the dialect pins on each session (`[session]` in
//!   its `dialect.toml`), verbatim.
//! - [`Shape::Write`] (`segc run --materialize` only): one of the four writes of
//!   [`write::Write`] on the results table and nothing else, through [`admit_write`]: create
//!   it, lock it, delete the rows a run replaces, insert a run's rows from a read-only query.
//! - [`Shape::Fixture`]: anything; test fixtures only, through [`super::Driver::set_up`], which
//!   no command calls (a test checks that).
//!
//! The check also honours the dialect's string rules: where a backslash inside '…' means one
//! thing or another depending on a server setting (PostgreSQL's `standard_conforming_strings`,
//! Redshift), a statement with a backslash inside any string is refused, because the server
//! might read a different statement from the one checked here.

mod write;

use std::ops::ControlFlow;

use sqlparser::ast::{
    Expr, ObjectNamePart, Query, SetExpr, Statement, TableFactor, Visit, Visitor,
};
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use crate::dialect::Dialect;
use crate::error::Error;

pub use write::{Write, WriteTarget};

/// What a statement is allowed to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One read-only query.
    Read,
    /// One of the dialect's session settings, verbatim.
    Session,
    /// A write of the results table (`segc run --materialize`), through [`admit_write`].
    Write,
    /// Test fixtures: tables and rows a test creates. Never used by a command.
    Fixture,
}

/// The functions segc's own statements call, in any dialect (compared without case).
const FUNCTIONS: &[&str] = &[
    // Aggregates and windows.
    "avg",
    "bit_or",
    "count",
    "count_big",
    "dense_rank",
    "max",
    "min",
    "sum",
    "lag",
    "lead",
    "percentile_cont",
    "quantile_cont",
    "rank",
    "row_number",
    // Scalars.
    "abs",
    "bit_count",
    "ceil",
    "ceiling",
    "charindex",
    "chr",
    "coalesce",
    // Redshift's COLLATE(value, 'case_sensitive') and BigQuery's COLLATE(value, ''): exact
    // strings whatever collation the database, dataset, table or column has.
    "collate",
    // BigQuery: a timestamp's date at UTC (`DATE(t, 'UTC')`), whatever the default time zone.
    "date",
    "date_diff",
    "dateadd",
    "datediff",
    "floor",
    "greatest",
    "least",
    "left",
    "len",
    "length",
    // DuckDB's catalog query: its names ignore case.
    "lower",
    "nchar",
    "nullif",
    // `round` in formulas: a power of ten of digits that are not a number written out.
    "power",
    "replace",
    "right",
    // A fixed-length string (SQL Server's char(n)) without its padding.
    "rtrim",
    "safe_divide",
    "sign",
    "sqrt",
    "strpos",
    // SQL Server: a datetimeoffset's date at UTC.
    "switchoffset",
    // BigQuery: a date's midnight at UTC (`TIMESTAMP(d, 'UTC')`), whatever the default zone.
    "timestamp",
    "timestamp_add",
    // An exact sum's pieces: a scaled value truncated towards zero.
    "trunc",
    // `segc targets --check` and the drivers' session ids.
    "version",
    "pg_backend_pid",
    // The schema a table named without one is read from (`visible` in a dialect's catalog).
    "pg_table_is_visible",
    "schema_id",
    "schema_name",
    // PostgreSQL's catalog query: a column's type name, and the database of a three-part name.
    "format_type",
    "current_database",
];

/// A statement the gate let through, for one shape.
#[derive(Debug, Clone, Copy)]
pub struct Admitted<'a> {
    sql: &'a str,
    shape: Shape,
}

impl<'a> Admitted<'a> {
    pub fn sql(&self) -> &'a str {
        self.sql
    }

    pub fn shape(&self) -> Shape {
        self.shape
    }
}

/// Checks `sql` for `shape` in `dialect`; the refusal says why.
pub fn admit<'a>(sql: &'a str, dialect: &Dialect, shape: Shape) -> Result<Admitted<'a>, Error> {
    let refuse = |why: String| {
        Err(Error::Render(format!(
            "refusing to send a statement to {}: {why}",
            dialect.name
        )))
    };
    match shape {
        Shape::Write => {
            return refuse("a write is admitted for its table only (admit_write)".into());
        }
        Shape::Fixture => {}
        Shape::Session => {
            if !dialect
                .session
                .settings
                .iter()
                .any(|setting| setting == sql)
            {
                return refuse("it is not one of the session settings segc pins".into());
            }
        }
        Shape::Read => {
            let tokens = match checked_tokens(sql, dialect) {
                Ok(tokens) => tokens,
                Err(Unread::Refused(why)) => return refuse(why),
                Err(Unread::Unparsed(error)) => return Err(error),
            };
            if let Err(why) = whole_names(&tokens, dialect) {
                return refuse(why);
            }
            let statement = crate::sqlcheck::parse_tokens(tokens, &dialect.sqlparser)?;
            let mut check = ReadOnly;
            if let ControlFlow::Break(why) = statement.visit(&mut check) {
                return refuse(why);
            }
        }
    }
    Ok(Admitted { sql, shape })
}

/// Checks that `sql` is the `kind` of write on `target`'s table, in `dialect`, and that
/// whatever it reads it only reads; the refusal says why.
pub fn admit_write<'a>(
    sql: &'a str,
    dialect: &Dialect,
    kind: Write,
    target: WriteTarget<'_>,
) -> Result<Admitted<'a>, Error> {
    let refused = |why: String| {
        Error::Render(format!(
            "refusing to send a statement to {}: {why}",
            dialect.name
        ))
    };
    let tokens = checked_tokens(sql, dialect).map_err(|unread| match unread {
        Unread::Refused(why) => refused(why),
        Unread::Unparsed(error) => error,
    })?;
    whole_names(&tokens, dialect).map_err(refused)?;
    let statement = crate::sqlcheck::parse_tokens(tokens, &dialect.sqlparser)?;
    write::check(&statement, kind, target).map_err(refused)?;
    Ok(Admitted {
        sql,
        shape: Shape::Write,
    })
}

/// Refuses a name longer than the dialect reads whole (`max_bytes`): PostgreSQL would cut it
/// and read whatever the cut name is.
fn whole_names(tokens: &[TokenWithSpan], dialect: &Dialect) -> Result<(), String> {
    let Some(max) = dialect.identifier.max_bytes else {
        return Ok(());
    };
    for token in tokens {
        if let Token::Word(word) = &token.token
            && word.value.len() > max
        {
            return Err(format!(
                "it names `{}`, which is {} bytes long, and {} reads at most {max} bytes of a name",
                crate::terminal::printable(&word.value),
                word.value.len(),
                dialect.name
            ));
        }
    }
    Ok(())
}

/// Why [`checked_tokens`] gave no tokens.
enum Unread {
    /// What the statement says is refused.
    Refused(String),
    /// It does not tokenize in the target's dialect.
    Unparsed(Error),
}

/// The tokens of `sql` in the target's dialect, to parse, once its strings are found to read
/// the same under any server setting ([`setting_independent`]). Strings are read the
/// standard way, with PostgreSQL's tokenizer; where the target's dialect is PostgreSQL's,
/// those tokens are the ones parsed, so a large statement is tokenized once.
fn checked_tokens(sql: &str, dialect: &Dialect) -> Result<Vec<TokenWithSpan>, Unread> {
    const STANDARD: &str = "postgres";
    let spelled: Vec<char> = dialect.string.spelled_out.iter().map(|s| s.0).collect();
    if spelled.is_empty() {
        return crate::sqlcheck::tokenize(sql, &dialect.sqlparser).map_err(Unread::Unparsed);
    }
    let standard = Tokenizer::new(&sqlparser::dialect::PostgreSqlDialect {}, sql)
        .tokenize_with_location()
        .map_err(|e| Unread::Refused(format!("it does not tokenize: {e}")))?;
    setting_independent(standard.iter().map(|t| &t.token), &spelled).map_err(Unread::Refused)?;
    if dialect.sqlparser == STANDARD {
        Ok(standard)
    } else {
        crate::sqlcheck::tokenize(sql, &dialect.sqlparser).map_err(Unread::Unparsed)
    }
}

/// Refuses a statement whose strings a server could read two ways: one with a character inside
/// quotes that the dialect spells out (`spelled`) because its meaning there depends on a
/// setting. `tokens` are the statement's, read the standard way (backslash ordinary); when no
/// string holds such a character, every reading splits the text into the same tokens.
fn setting_independent<'t>(
    tokens: impl Iterator<Item = &'t Token>,
    spelled: &[char],
) -> Result<(), String> {
    for token in tokens {
        let content = match token {
            Token::SingleQuotedString(s)
            | Token::NationalStringLiteral(s)
            | Token::UnicodeStringLiteral(s)
            | Token::SingleQuotedByteStringLiteral(s)
            | Token::HexStringLiteral(s) => s.as_str(),
            Token::EscapedStringLiteral(_) => {
                return Err("it holds an E'…' string, which segc never writes".into());
            }
            _ => continue,
        };
        if let Some(c) = content.chars().find(|c| spelled.contains(c)) {
            return Err(format!(
                "a string literal holds `{}`, whose meaning inside quotes depends on a server setting",
                c.escape_default()
            ));
        }
    }
    Ok(())
}

/// Finds anything in a query that is not plain reading.
struct ReadOnly;

impl Visitor for ReadOnly {
    type Break = String;

    fn pre_visit_statement(&mut self, statement: &Statement) -> ControlFlow<String> {
        match statement {
            Statement::Query(_) => ControlFlow::Continue(()),
            other => ControlFlow::Break(format!(
                "it is not a query but {}",
                other
                    .to_string()
                    .split_whitespace()
                    .next()
                    .unwrap_or("another statement")
            )),
        }
    }

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<String> {
        if !query.locks.is_empty() {
            return ControlFlow::Break("it locks rows (FOR UPDATE/SHARE)".into());
        }
        match query.body.as_ref() {
            SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_) | SetExpr::Merge(_) => {
                ControlFlow::Break("it changes data inside a query".into())
            }
            SetExpr::Select(select) if select.into.is_some() => {
                ControlFlow::Break("it writes a table (SELECT … INTO)".into())
            }
            _ => ControlFlow::Continue(()),
        }
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<String> {
        match factor {
            TableFactor::Table {
                args: None,
                with_hints,
                ..
            } if with_hints.is_empty() => ControlFlow::Continue(()),
            TableFactor::Table { with_hints, .. } if !with_hints.is_empty() => {
                ControlFlow::Break("it reads a table with hints (a lock)".into())
            }
            TableFactor::Derived { .. } => ControlFlow::Continue(()),
            TableFactor::NestedJoin { .. } => ControlFlow::Continue(()),
            other => ControlFlow::Break(format!(
                "it reads from `{other}`, which is not a table or a subquery"
            )),
        }
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<String> {
        if let Expr::Function(function) = expr {
            let parts = &function.name.0;
            let name = match parts.as_slice() {
                [ObjectNamePart::Identifier(ident)] => ident.value.to_lowercase(),
                _ => String::new(),
            };
            if !FUNCTIONS.contains(&name.as_str()) {
                return ControlFlow::Break(format!(
                    "it calls `{}`, which segc never writes",
                    function.name
                ));
            }
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admitted(sql: &str, dialect: &str) -> Result<(), String> {
        admit(sql, &Dialect::load(dialect).unwrap(), Shape::Read)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn plain_queries_pass_in_every_dialect() {
        for dialect in crate::dialect::names() {
            admitted(
                "WITH a AS (SELECT 1 AS x) SELECT COUNT(*) AS n, MAX(x) AS m FROM a",
                dialect,
            )
            .unwrap();
        }
    }

    #[test]
    fn anything_but_reading_is_refused() {
        for (sql, why) in [
            ("SELECT 1; SELECT 2", "2 statements"),
            ("DROP TABLE t", "not a query but DROP"),
            ("SELECT * INTO t2 FROM t", "SELECT … INTO"),
            ("SELECT * FROM t FOR UPDATE", "locks rows"),
            (
                "SELECT (SELECT count(*) FROM pg_sleep(3)) AS x",
                "not a table or a subquery",
            ),
            ("SELECT lo_from_bytea(0, 'x') AS x", "calls `lo_from_bytea`"),
            (
                "SELECT pg_catalog.pg_sleep(1) AS x",
                "calls `pg_catalog.pg_sleep`",
            ),
        ] {
            let error = admitted(sql, "postgres").unwrap_err();
            assert!(error.contains(why), "{sql}: {error}");
        }
    }

    /// The reproducer of a backslash that ends a PostgreSQL literal early when
    /// standard_conforming_strings is off: read the standard way it is one harmless string.
    #[test]
    fn a_backslash_inside_a_postgres_string_is_refused() {
        let sql = "SELECT CASE WHEN u = '\\' OR (SELECT 1) >= 0 THEN 1 ELSE 0 END AS x FROM t";
        for dialect in ["postgres", "redshift"] {
            let error = admitted(sql, dialect).unwrap_err();
            assert!(error.contains("depends on a server setting"), "{error}");
        }
        assert!(admitted("SELECT E'a' AS x", "postgres").is_err());
        // Where a backslash has one meaning, it is an ordinary character of the value.
        admitted("SELECT 'a\\b' AS x", "duckdb").unwrap();
        // segc's own spelling passes.
        admitted("SELECT ('a' || CHR(92) || 'b') AS x", "postgres").unwrap();
    }

    /// What the drivers send of their own: `targets --check` and the ids on the progress line.
    #[test]
    fn the_drivers_own_queries_pass() {
        for (sql, dialect) in [
            ("SELECT version()", "postgres"),
            ("SELECT version()", "redshift"),
            ("SELECT version()", "duckdb"),
            ("SELECT pg_backend_pid()", "postgres"),
            ("SELECT 1", "bigquery"),
            ("SELECT @@VERSION", "sqlserver"),
            ("SELECT @@SPID", "sqlserver"),
        ] {
            admitted(sql, dialect).unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
    }

    #[test]
    fn session_settings_pass_verbatim_only() {
        let postgres = Dialect::load("postgres").unwrap();
        admit(&postgres.session.settings[0], &postgres, Shape::Session).unwrap();
        // A setting is admitted for its own dialect only.
        let sqlserver = Dialect::load("sqlserver").unwrap();
        assert!(admit(&sqlserver.session.settings[0], &postgres, Shape::Session).is_err());
        assert!(admit("SET role = admin", &postgres, Shape::Session).is_err());
        assert!(admit("SELECT 1", &postgres, Shape::Session).is_err());
    }
}
