//! Parses rendered SQL back with sqlparser in the target's dialect: proof that it is one
//! well-formed statement, and a way for tests to count what it reads.

use std::ops::ControlFlow;

use sqlparser::ast::{Statement, visit_relations};
use sqlparser::dialect::{self, Dialect as ParserDialect};
use sqlparser::parser::Parser;

use crate::error::Error;

/// The sqlparser dialect a dialect file names (`sqlparser = "…"`), as sqlparser names it.
pub fn parser_dialect(name: &str) -> Result<Box<dyn ParserDialect>, Error> {
    dialect::dialect_from_str(name)
        .ok_or_else(|| Error::Render(format!("no sqlparser dialect named `{name}`")))
}

/// Parses `sql` with the named sqlparser dialect; it must be exactly one statement.
pub fn parse_one(sql: &str, sqlparser_dialect: &str) -> Result<Statement, Error> {
    let dialect = parser_dialect(sqlparser_dialect)?;
    let mut statements = Parser::parse_sql(dialect.as_ref(), sql).map_err(|e| {
        Error::Render(format!(
            "the generated SQL does not parse as {sqlparser_dialect}: {e}"
        ))
    })?;
    if statements.len() != 1 {
        return Err(Error::Render(format!(
            "the generated SQL holds {} statements; expected exactly one",
            statements.len()
        )));
    }
    Ok(statements.remove(0))
}

/// The entries of the dialect's `unavailable` list (functions and syntax its oldest supported
/// server lacks) that `sql` contains, matched on tokens: words without case, outside quotes.
pub fn unavailable_features(sql: &str, dialect: &crate::dialect::Dialect) -> Vec<String> {
    use sqlparser::tokenizer::{Token, Tokenizer};
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
            Token::Word(_) => "\u{0}".into(),
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

    #[test]
    fn rejects_two_statements() {
        assert!(parse_one("SELECT 1; SELECT 2", "duckdb").is_err());
        assert!(parse_one("SELECT 1", "duckdb").is_ok());
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
