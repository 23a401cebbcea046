//! How large a formula may grow: its nesting, bounded from its tokens before it is parsed,
//! and its size once the formulas it names are written into it.

use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, TokenWithSpan};

use crate::ir::Expr;

use super::formula::{FormulaError, char_range};

/// Parentheses, function calls and CASE nest at most this deep in a formula.
pub const MAX_FORMULA_NESTING: usize = 32;
/// A formula's expression tree is at most this deep: every step from the whole formula
/// down to one of its values passes an operator, a function call or parentheses, and a
/// sum `a + b + c + …` takes one step per `+`. Formulas are compiled by walking the tree
/// recursively, so this bounds the stack; real formulas are a few steps deep.
pub const MAX_FORMULA_DEPTH: usize = 200;

pub(super) const SPLIT_HINT: &str =
    "compute parts of it in other formula attributes and refer to them";

/// One open group of a formula (the formula itself, parentheses, a function's arguments, a
/// CASE), while its tokens are scanned.
#[derive(Default)]
struct Group {
    case: bool,
    /// Operators in the current part (one argument, one WHEN condition, …).
    operators: usize,
    /// The deepest closed group in the current part, its own step included.
    inner: usize,
    /// The deepest part already finished.
    deepest: usize,
}

impl Group {
    fn part_depth(&self) -> usize {
        self.operators + 1 + self.inner
    }

    fn next_part(&mut self) {
        self.deepest = self.deepest.max(self.part_depth());
        self.operators = 0;
        self.inner = 0;
    }
}

/// Refuses a formula nested deeper than [`MAX_FORMULA_NESTING`] or [`MAX_FORMULA_DEPTH`],
/// before it is parsed: the parser builds a chain of ten thousand `+` without complaint,
/// and every later walk of such a tree would overflow the stack.
///
/// The depth is bounded from the tokens: within a part of a group, a tree cannot be deeper
/// than the operators in it (any token other than a name, a literal, a comma or a
/// parenthesis counts), plus the depth of the groups in it.
pub(super) fn check_depth(tokens: &[TokenWithSpan], text: &str) -> Result<(), FormulaError> {
    let mut groups = vec![Group::default()];
    for token in tokens {
        let keyword = match &token.token {
            Token::Word(word) if word.quote_style.is_none() => word.keyword,
            _ => Keyword::NoKeyword,
        };
        let opens = matches!(token.token, Token::LParen) || keyword == Keyword::CASE;
        let closes = match &token.token {
            Token::RParen => !groups.last().is_some_and(|g| g.case),
            _ => keyword == Keyword::END && groups.last().is_some_and(|g| g.case),
        };
        let in_case = groups.last().is_some_and(|g| g.case);
        if opens {
            if groups.len() > MAX_FORMULA_NESTING {
                return Err(FormulaError {
                    message: format!(
                        "parentheses, function calls and CASE nest more than {MAX_FORMULA_NESTING} levels deep here"
                    ),
                    hint: Some(SPLIT_HINT.into()),
                    range: char_range(token.span, text),
                });
            }
            groups.push(Group {
                case: keyword == Keyword::CASE,
                ..Group::default()
            });
        } else if closes {
            if groups.len() > 1 {
                let mut closed = groups.pop().unwrap_or_default();
                closed.next_part();
                if let Some(parent) = groups.last_mut() {
                    parent.inner = parent.inner.max(closed.deepest + 1);
                }
            }
        } else if matches!(token.token, Token::Comma)
            || (in_case && matches!(keyword, Keyword::WHEN | Keyword::THEN | Keyword::ELSE))
        {
            if let Some(group) = groups.last_mut() {
                group.next_part();
            }
        } else if is_operator(&token.token)
            && let Some(group) = groups.last_mut()
        {
            group.operators += 1;
        }
        // The depth of the part being read, through every open group.
        let depth = groups.iter().rev().fold(0, |below, group| {
            let nested = if below == 0 { 0 } else { below + 1 };
            group.operators + 1 + group.inner.max(nested)
        });
        if depth > MAX_FORMULA_DEPTH {
            return Err(FormulaError {
                message: format!(
                    "operations nest more than {MAX_FORMULA_DEPTH} levels deep here (a long sum takes one level per `+`)"
                ),
                hint: Some(SPLIT_HINT.into()),
                range: char_range(token.span, text),
            });
        }
    }
    Ok(())
}

/// Whether a token may make a node of the expression tree: anything but a name, a literal,
/// punctuation or blank space. Keywords count (`AND`, `NOT`, `IS`, `LIKE`, a function
/// named by one), which over-counts a little and never under-counts.
fn is_operator(token: &Token) -> bool {
    match token {
        Token::Word(word) => {
            word.quote_style.is_none()
                && !matches!(
                    word.keyword,
                    Keyword::NoKeyword | Keyword::TRUE | Keyword::FALSE | Keyword::NULL
                )
        }
        Token::Number(..)
        | Token::SingleQuotedString(_)
        | Token::DoubleQuotedString(_)
        | Token::NationalStringLiteral(_)
        | Token::EscapedStringLiteral(_)
        | Token::HexStringLiteral(_)
        | Token::Whitespace(_)
        | Token::Comma
        | Token::Period
        | Token::LParen
        | Token::RParen
        | Token::EOF => false,
        _ => true,
    }
}

/// A formula once the formulas it names are written into it, as the SQL does: at most
/// this deep, with at most this many parts. Formulas naming formulas that each name the
/// previous one twice would otherwise double the SQL at each step.
pub const MAX_WRITTEN_OUT_DEPTH: usize = 400;
pub const MAX_WRITTEN_OUT_NODES: usize = 10_000;

/// The depth and the number of parts of a formula with the formulas it names written in.
#[derive(Debug, Clone, Copy)]
pub(super) struct WrittenOut {
    pub(super) depth: usize,
    pub(super) nodes: usize,
}

impl WrittenOut {
    /// Measures `expr`, given what is known of the formulas it names (a formula not yet
    /// known, in a cycle, counts as one part).
    pub(super) fn of(expr: &Expr, formulas: &[Option<WrittenOut>]) -> WrittenOut {
        if let Expr::Attribute(id) = expr
            && let Some(Some(inner)) = formulas.get(id.0)
        {
            return WrittenOut {
                depth: inner.depth.saturating_add(1),
                nodes: inner.nodes,
            };
        }
        expr.children()
            .into_iter()
            .fold(WrittenOut { depth: 1, nodes: 1 }, |total, child| {
                let child = WrittenOut::of(child, formulas);
                WrittenOut {
                    depth: total.depth.max(child.depth.saturating_add(1)),
                    nodes: total.nodes.saturating_add(child.nodes),
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use sqlparser::dialect::GenericDialect;
    use sqlparser::tokenizer::Tokenizer;

    use super::*;

    /// `Ok` or the message and character range of the error.
    fn depth(text: &str) -> Result<(), (String, Option<(usize, usize)>)> {
        let tokens = Tokenizer::new(&GenericDialect {}, text)
            .tokenize_with_location()
            .unwrap();
        check_depth(&tokens, text).map_err(|e| (e.message, e.range))
    }

    fn sum(terms: usize) -> String {
        vec!["x"; terms].join(" + ")
    }

    #[test]
    fn a_long_sum_is_refused_at_the_operator_past_the_limit() {
        assert!(depth(&sum(MAX_FORMULA_DEPTH)).is_ok());
        let (message, range) = depth(&sum(MAX_FORMULA_DEPTH + 1)).unwrap_err();
        assert!(message.contains("more than 200 levels"), "{message}");
        // `x + ` is four characters: the 200th `+` starts at 4 × 199 + 2.
        assert_eq!(range, Some((798, 799)));
    }

    #[test]
    fn groups_add_their_depth_to_the_part_they_are_in() {
        // A group before a long chain still ends at the bottom of the chain's tree.
        let half = sum(MAX_FORMULA_DEPTH / 2);
        assert!(depth(&format!("abs({half}) + {half}")).is_err());
        assert!(depth(&format!("abs({half}) * 2")).is_ok());
        // Arguments and CASE branches are side by side, not inside one another.
        assert!(depth(&format!("coalesce({half}, {half}, {half})")).is_ok());
        let branches: Vec<String> = (0..300)
            .map(|n| format!("WHEN country = '{n}' THEN {n} + 1"))
            .collect();
        assert!(depth(&format!("CASE {} ELSE 0 END", branches.join(" "))).is_ok());
    }

    #[test]
    fn nesting_is_refused_at_the_group_past_the_limit() {
        let ok = format!("{}1{}", "(".repeat(32), ")".repeat(32));
        assert!(depth(&ok).is_ok());
        let deep = format!("{}1{}", "abs(".repeat(40), ")".repeat(40));
        let (message, range) = depth(&deep).unwrap_err();
        assert!(message.contains("more than 32 levels"), "{message}");
        assert_eq!(range, Some((131, 132)));
        let cases = format!("{}1{}", "CASE WHEN a THEN ".repeat(40), " END".repeat(40));
        assert!(depth(&cases).is_err());
    }

    #[test]
    fn any_operator_counts_keywords_too() {
        let likes = vec!["x"; 300].join(" LIKE ");
        assert!(depth(&likes).is_err());
        let concatenated = vec!["'a'"; 300].join(" || ");
        assert!(depth(&concatenated).is_err());
        assert!(depth("a AND NOT b OR c IS NULL").is_ok());
    }
}
