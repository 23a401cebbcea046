//! Parses rendered SQL back with sqlparser in the target's dialect: proof that it is one
//! well-formed statement, and a way for tests to count what it reads.

use std::ops::ControlFlow;

use sqlparser::ast::{Statement, visit_relations};
use sqlparser::dialect::{self, Dialect as ParserDialect};
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use crate::error::Error;

/// The sqlparser dialect a dialect file names (`sqlparser = "…"`), as sqlparser names it.
pub fn parser_dialect(name: &str) -> Result<Box<dyn ParserDialect>, Error> {
    dialect::dialect_from_str(name)
        .ok_or_else(|| Error::Render(format!("no sqlparser dialect named `{name}`")))
}

/// Parses `sql` with the named sqlparser dialect; it must be exactly one statement.
///
/// DuckDB reads `WITH name AS MATERIALIZED (…)` (its parser is PostgreSQL's), which
/// sqlparser accepts in its PostgreSQL dialect alone: in DuckDB's, a `MATERIALIZED` between
/// `AS` and `(` is left out of the tokens parsed. The keyword only asks the engine to compute
/// the stage once; everything else is parsed as sent.
pub fn parse_one(sql: &str, sqlparser_dialect: &str) -> Result<Statement, Error> {
    parse_tokens(tokenize(sql, sqlparser_dialect)?, sqlparser_dialect)
}

/// The tokens of `sql` in the named sqlparser dialect, with their places, as [`parse_tokens`]
/// reads them.
pub fn tokenize(sql: &str, sqlparser_dialect: &str) -> Result<Vec<TokenWithSpan>, Error> {
    let dialect = parser_dialect(sqlparser_dialect)?;
    Tokenizer::new(dialect.as_ref(), sql)
        .with_unescape(true)
        .tokenize_with_location()
        .map_err(|e| not_parsed(sqlparser_dialect, e.into()))
}

/// How deeply the parser may descend into a statement: segc's deepest (a condition at the
/// 200-level limit, with its parents' and segments' conditions written in) stay within it.
const PARSE_DEPTH: usize = 20_000;

/// The parser thread's stack: enough for [`PARSE_DEPTH`] levels of sqlparser's recursion.
const PARSE_STACK_BYTES: usize = 1 << 30;

/// [`parse_one`] of the tokens [`tokenize`] gave in the same dialect.
pub fn parse_tokens(
    mut tokens: Vec<TokenWithSpan>,
    sqlparser_dialect: &str,
) -> Result<Statement, Error> {
    parser_dialect(sqlparser_dialect)?;
    if sqlparser_dialect == "duckdb" {
        tokens = without_materialized(tokens);
    }
    // The parser descends once per nested parenthesis, CASE or operator, and segc's
    // statements nest as deeply as the definitions allow (a condition 200 levels deep, a
    // formula 400, each level several parentheses): far past sqlparser's default limit of
    // 50, and past what the main thread's stack holds. So the parse runs on a thread of its
    // own with a large stack (reserved, not used, by a shallow statement).
    let parsed = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("sql parser".into())
            .stack_size(PARSE_STACK_BYTES)
            .spawn_scoped(scope, || {
                let dialect = parser_dialect(sqlparser_dialect)?;
                Parser::new(dialect.as_ref())
                    .with_recursion_limit(PARSE_DEPTH)
                    .with_tokens_with_locations(tokens)
                    .parse_statements()
                    .map_err(|e| not_parsed(sqlparser_dialect, e))
            })
            .map_err(|e| Error::Render(format!("cannot start the SQL parser's thread: {e}")))?
            .join()
            .map_err(|_| Error::Render("the SQL parser failed".into()))?
    });
    let mut statements = parsed?;
    if statements.len() != 1 {
        return Err(Error::Render(format!(
            "the generated SQL holds {} statements; expected exactly one",
            statements.len()
        )));
    }
    Ok(statements.remove(0))
}

fn not_parsed(sqlparser_dialect: &str, e: ParserError) -> Error {
    Error::Render(format!(
        "the generated SQL does not parse as {sqlparser_dialect}: {e}"
    ))
}

/// `tokens` without each unquoted `MATERIALIZED` whose neighbours, whitespace aside, are `AS`
/// before it and `(` after it.
fn without_materialized(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let solid: Vec<usize> = (0..tokens.len())
        .filter(|&i| !matches!(tokens[i].token, Token::Whitespace(_)))
        .collect();
    let keyword = |i: usize, keyword: Keyword| matches!(&tokens[i].token, Token::Word(w) if w.keyword == keyword && w.quote_style.is_none());
    let dropped: Vec<usize> = solid
        .windows(3)
        .filter(|w| {
            keyword(w[0], Keyword::AS)
                && keyword(w[1], Keyword::MATERIALIZED)
                && tokens[w[2]].token == Token::LParen
        })
        .map(|w| w[1])
        .collect();
    tokens
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !dropped.contains(i))
        .map(|(_, token)| token)
        .collect()
}

/// The entries of the dialect's `unavailable` list (functions and syntax its oldest supported
/// server lacks) that `sql` contains, matched on tokens: words without case, outside quotes;
/// a quoted name is its quote mark (`"`, `[`, `` ` ``).
pub fn unavailable_features(sql: &str, dialect: &crate::dialect::Dialect) -> Vec<String> {
    let Ok(parser) = parser_dialect(&dialect.sqlparser) else {
        return Vec::new();
    };
    let Ok(tokens) = Tokenizer::new(parser.as_ref(), sql).tokenize() else {
        return Vec::new();
    };
    let words: Vec<String> = tokens
        .iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .map(|t| match t {
            Token::Word(w) if w.quote_style.is_none() => w.value.to_uppercase(),
            // A quoted name reads as its quote mark, so an entry can name `COLLATE "`.
            Token::Word(w) => w.quote_style.map_or_else(String::new, String::from),
            other => other.to_string(),
        })
        .collect();
    dialect
        .version
        .unavailable
        .iter()
        .filter(|entry| {
            let wanted: Vec<String> = entry.split_whitespace().map(str::to_uppercase).collect();
            words.windows(wanted.len()).any(|w| w == wanted.as_slice())
        })
        .cloned()
        .collect()
}

/// Every table (relation) the statement names, once per mention, as written.
pub fn relations(statement: &Statement) -> Vec<String> {
    let mut names = Vec::new();
    let _ = visit_relations(statement, |relation| {
        names.push(relation.to_string());
        ControlFlow::<()>::Continue(())
    });
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deep statements parse (sqlparser's own limit is 50 levels: this statement passed it
    /// at 5 of its levels), and one past the depth limit is an error, not a stack overflow,
    /// in every dialect.
    #[test]
    fn deep_statements_parse_within_the_limit_and_fail_cleanly_past_it() {
        let nested = |depth: usize| {
            let mut sql = String::from("SELECT ");
            for level in 0..depth {
                sql.push_str(if level % 2 == 0 {
                    "(1 + "
                } else {
                    "CASE WHEN "
                });
            }
            sql.push('1');
            for level in (0..depth).rev() {
                sql.push_str(if level % 2 == 0 {
                    ")"
                } else {
                    " = 1 THEN 1 END"
                });
            }
            sql
        };
        for dialect in ["duckdb", "postgres", "bigquery", "mssql", "redshift"] {
            // About ten of the parser's levels per level here.
            assert!(parse_one(&nested(1_000), dialect).is_ok(), "{dialect}");
            assert!(
                parse_one(&nested(PARSE_DEPTH), dialect).is_err(),
                "{dialect}"
            );
        }
    }

    #[test]
    fn rejects_two_statements() {
        assert!(parse_one("SELECT 1; SELECT 2", "duckdb").is_err());
        assert!(parse_one("SELECT 1", "duckdb").is_ok());
    }

    #[test]
    fn reads_materialized_stages_as_duckdb_does() {
        let sql = "WITH x AS MATERIALIZED (SELECT 1 AS a) SELECT a FROM x";
        assert!(parse_one(sql, "duckdb").is_ok());
        assert!(parse_one(sql, "postgres").is_ok());
        // Only between AS and (: elsewhere the word is parsed as sent.
        assert!(parse_one("SELECT 1 AS MATERIALIZED", "duckdb").is_ok());
        assert!(parse_one("WITH x MATERIALIZED (SELECT 1) SELECT 2", "duckdb").is_err());
        assert!(parse_one("WITH x AS NOT MATERIALIZED (SELECT 1) SELECT 2", "duckdb").is_err());
        assert!(
            parse_one(
                "WITH x AS MATERIALIZED (SELECT 1) SELECT 2; SELECT 3",
                "duckdb"
            )
            .is_err()
        );
        // Quoted, it is a name, never a keyword.
        assert!(parse_one("WITH x AS \"MATERIALIZED\" (SELECT 1) SELECT 2", "duckdb").is_err());
        // The other dialects are parsed as sqlparser reads them.
        assert!(parse_one(sql, "bigquery").is_err());
        assert!(parse_one(sql, "mssql").is_err());
    }

    #[test]
    fn counts_relations() {
        let statement = parse_one(
            "WITH x AS (SELECT * FROM a.b) SELECT * FROM x JOIN a.b ON 1 = 1",
            "duckdb",
        )
        .unwrap();
        let names = relations(&statement);
        assert_eq!(names.iter().filter(|n| *n == "a.b").count(), 2);
    }
}
