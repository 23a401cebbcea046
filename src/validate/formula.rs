//! Formulas: parsed with sqlparser, checked, and turned into the IR's expression tree so
//! that no user text is ever pasted into SQL.

use sqlparser::ast::{self, Spanned as _};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, Tokenizer};

use crate::error::Span;
use crate::ir::{BinaryOperator, Comparison, Expr, Function};
use crate::spec::AttributeSpec;

use super::Validator;
use super::formula_size::{SPLIT_HINT, check_depth};

pub(super) struct FormulaError {
    pub(super) message: String,
    pub(super) hint: Option<String>,
    /// Character range inside the formula text, when known.
    pub(super) range: Option<(usize, usize)>,
}

fn located(
    message: impl Into<String>,
    span: sqlparser::tokenizer::Span,
    text: &str,
) -> FormulaError {
    FormulaError {
        message: message.into(),
        hint: None,
        range: char_range(span, text),
    }
}

/// Character offsets of a sqlparser span inside a one-line formula.
pub(super) fn char_range(span: sqlparser::tokenizer::Span, text: &str) -> Option<(usize, usize)> {
    if span.start.line != 1 || span.end.line != 1 || text.contains('\n') || span.start.column == 0 {
        return None;
    }
    Some((
        (span.start.column - 1) as usize,
        (span.end.column - 1) as usize,
    ))
}

impl Validator<'_> {
    pub(super) fn parse_formula(&mut self, spec: &AttributeSpec) -> Option<Expr> {
        let formula = spec.formula.as_ref()?;
        let text = formula.value.as_str();
        match self.convert_formula(text) {
            Ok(expr) => Some(expr),
            Err(error) => {
                let offset = usize::from(spec.formula_quoted);
                let span: Span = match error.range {
                    Some((from, to)) => formula.span.narrow(from + offset, to + offset),
                    None => formula.span,
                };
                self.error_with_hint(
                    format!(
                        "in the formula of attribute `{}`: {}",
                        spec.name.value, error.message
                    ),
                    span,
                    error.hint,
                );
                None
            }
        }
    }

    fn convert_formula(&self, text: &str) -> Result<Expr, FormulaError> {
        let dialect = GenericDialect {};
        let tokens = Tokenizer::new(&dialect, text)
            .tokenize_with_location()
            .map_err(|e| FormulaError {
                message: ParserError::from(e).to_string(),
                hint: None,
                range: None,
            })?;
        check_depth(&tokens, text)?;
        let mut parser = Parser::new(&dialect).with_tokens_with_locations(tokens);
        let expr = parser.parse_expr().map_err(|e| match e {
            ParserError::RecursionLimitExceeded => FormulaError {
                message: "parentheses, function calls, CASE, signs or NOT nest too deeply".into(),
                hint: Some(SPLIT_HINT.into()),
                range: None,
            },
            _ => FormulaError {
                message: format!("not a valid expression ({e})"),
                hint: None,
                range: None,
            },
        })?;
        // sqlparser stops at the first token it cannot use: anything left over means the
        // text was not one expression (`a > 1; DROP TABLE x`).
        let next = parser.peek_token();
        if next.token != Token::EOF {
            return Err(FormulaError {
                message: format!(
                    "a formula is a single expression; unexpected `{}` after it",
                    next.token
                ),
                hint: Some("remove the trailing text".into()),
                range: char_range(next.span, text),
            });
        }
        self.convert(&expr, text)
    }

    fn convert(&self, expr: &ast::Expr, text: &str) -> Result<Expr, FormulaError> {
        use ast::Expr as E;
        Ok(match expr {
            E::Identifier(ident) => self.reference(&ident.value, expr.span(), text)?,
            E::CompoundIdentifier(parts) => {
                let name: Vec<&str> = parts.iter().map(|p| p.value.as_str()).collect();
                return Err(located(
                    format!(
                        "`{}` is not an attribute: formulas name attributes, not tables",
                        name.join(".")
                    ),
                    expr.span(),
                    text,
                ));
            }
            E::Value(value) => convert_value(&value.value, expr.span(), text)?,
            E::Nested(inner) => self.convert(inner, text)?,
            E::UnaryOp { op, expr: inner } => {
                let inner = Box::new(self.convert(inner, text)?);
                match op {
                    ast::UnaryOperator::Minus => Expr::Negate(inner),
                    ast::UnaryOperator::Plus => *inner,
                    ast::UnaryOperator::Not => Expr::Not(inner),
                    other => {
                        return Err(located(
                            format!("unsupported operator `{other}`"),
                            expr.span(),
                            text,
                        ));
                    }
                }
            }
            E::BinaryOp { left, op, right } => {
                let operator = binary_operator(op, expr.span(), text)?;
                Expr::Binary {
                    operator,
                    left: Box::new(self.convert(left, text)?),
                    right: Box::new(self.convert(right, text)?),
                }
            }
            E::IsNull(inner) => Expr::IsNull {
                expr: Box::new(self.convert(inner, text)?),
                negated: false,
            },
            E::IsNotNull(inner) => Expr::IsNull {
                expr: Box::new(self.convert(inner, text)?),
                negated: true,
            },
            E::Case {
                operand,
                conditions,
                else_result,
                ..
            } => self.convert_case(operand.as_deref(), conditions, else_result.as_deref(), text)?,
            E::Function(function) => self.function(function, expr.span(), text)?,
            E::Ceil { expr: inner, .. } => Expr::Function {
                function: Function::Ceil,
                arguments: vec![self.convert(inner, text)?],
            },
            E::Floor { expr: inner, .. } => Expr::Function {
                function: Function::Floor,
                arguments: vec![self.convert(inner, text)?],
            },
            other => {
                return Err(FormulaError {
                    message: format!("`{other}` is not supported in formulas"),
                    hint: Some("formulas use attributes, numbers, 'strings', arithmetic, comparisons, CASE, and the functions nullif, coalesce, days_between, as_of, period_start, period_months, abs, round, floor, ceil, least, greatest".into()),
                    range: char_range(expr.span(), text),
                });
            }
        })
    }

    /// `CASE [operand] WHEN … THEN … [ELSE …] END`; with an operand, each WHEN compares it.
    fn convert_case(
        &self,
        operand: Option<&ast::Expr>,
        conditions: &[ast::CaseWhen],
        else_result: Option<&ast::Expr>,
        text: &str,
    ) -> Result<Expr, FormulaError> {
        let operand = operand.map(|o| self.convert(o, text)).transpose()?;
        let mut branches = Vec::new();
        for when in conditions {
            let condition = self.convert(&when.condition, text)?;
            let condition = match &operand {
                Some(operand) => Expr::Binary {
                    operator: BinaryOperator::Compare(Comparison::Eq),
                    left: Box::new(operand.clone()),
                    right: Box::new(condition),
                },
                None => condition,
            };
            branches.push((condition, self.convert(&when.result, text)?));
        }
        let otherwise = else_result
            .map(|e| self.convert(e, text).map(Box::new))
            .transpose()?;
        Ok(Expr::Case {
            branches,
            otherwise,
        })
    }

    fn reference(
        &self,
        name: &str,
        span: sqlparser::tokenizer::Span,
        text: &str,
    ) -> Result<Expr, FormulaError> {
        match self.attribute_by_name(name) {
            Some(id) => Ok(Expr::Attribute(id)),
            None => Err(FormulaError {
                message: format!("unknown attribute `{name}`"),
                hint: self.attribute_suggestion(name),
                range: char_range(span, text),
            }),
        }
    }

    fn function(
        &self,
        function: &ast::Function,
        span: sqlparser::tokenizer::Span,
        text: &str,
    ) -> Result<Expr, FormulaError> {
        let name = function.name.to_string().to_ascii_lowercase();
        let arguments: Vec<&ast::Expr> = match &function.args {
            ast::FunctionArguments::None => Vec::new(),
            ast::FunctionArguments::List(list)
                if list.duplicate_treatment.is_none() && list.clauses.is_empty() =>
            {
                let mut arguments = Vec::new();
                for argument in &list.args {
                    match argument {
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => {
                            arguments.push(e)
                        }
                        _ => {
                            return Err(located(
                                format!("unsupported argument in `{name}`"),
                                span,
                                text,
                            ));
                        }
                    }
                }
                arguments
            }
            _ => {
                return Err(located(
                    format!("unsupported arguments in `{name}`"),
                    span,
                    text,
                ));
            }
        };
        if function.over.is_some() || function.filter.is_some() {
            return Err(located(
                format!("`{name}` cannot have OVER or FILTER in a formula"),
                span,
                text,
            ));
        }
        let constant = match name.as_str() {
            "as_of" => Some(Expr::AsOf),
            "period_start" => Some(Expr::PeriodStart),
            "period_months" => Some(Expr::PeriodMonths),
            _ => None,
        };
        if let Some(constant) = constant {
            if !arguments.is_empty() {
                return Err(located(
                    format!("`{name}()` takes no arguments"),
                    span,
                    text,
                ));
            }
            return Ok(constant);
        }
        let Some(known) = Function::parse(&name) else {
            return Err(FormulaError {
                message: format!("unknown function `{name}`"),
                hint: crate::error::suggest(&name, Function::NAMES.iter().copied())
                    .or_else(|| Some(format!("functions: {}", Function::NAMES.join(", ")))),
                range: char_range(span, text),
            });
        };
        let (min, max) = known.arity();
        if arguments.len() < min || arguments.len() > max {
            return Err(located(
                format!(
                    "`{name}` takes {} argument{}, found {}",
                    if min == max {
                        min.to_string()
                    } else {
                        format!("at least {min}")
                    },
                    if min == 1 && max == 1 { "" } else { "s" },
                    arguments.len()
                ),
                span,
                text,
            ));
        }
        let arguments = arguments
            .into_iter()
            .map(|a| self.convert(a, text))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Expr::Function {
            function: known,
            arguments,
        })
    }
}

/// A literal value of a formula.
fn convert_value(
    value: &ast::Value,
    span: sqlparser::tokenizer::Span,
    text: &str,
) -> Result<Expr, FormulaError> {
    Ok(match value {
        ast::Value::Number(number, _) => match number.parse::<f64>() {
            Ok(value) if value.is_finite() => Expr::Number(value),
            Ok(_) => {
                return Err(located(
                    format!(
                        "the number `{number}` is too large (numbers must fit in a double, up to about 1.8e308)"
                    ),
                    span,
                    text,
                ));
            }
            Err(_) => {
                return Err(located(format!("invalid number `{number}`"), span, text));
            }
        },
        ast::Value::SingleQuotedString(s) => Expr::String(s.clone()),
        ast::Value::Boolean(b) => Expr::Boolean(*b),
        ast::Value::Null => Expr::Null,
        other => {
            return Err(located(format!("unsupported value `{other}`"), span, text));
        }
    })
}

/// A formula's binary operator in the IR.
fn binary_operator(
    op: &ast::BinaryOperator,
    span: sqlparser::tokenizer::Span,
    text: &str,
) -> Result<BinaryOperator, FormulaError> {
    Ok(match op {
        ast::BinaryOperator::Plus => BinaryOperator::Add,
        ast::BinaryOperator::Minus => BinaryOperator::Subtract,
        ast::BinaryOperator::Multiply => BinaryOperator::Multiply,
        ast::BinaryOperator::Divide => BinaryOperator::Divide,
        ast::BinaryOperator::Eq => BinaryOperator::Compare(Comparison::Eq),
        ast::BinaryOperator::NotEq => BinaryOperator::Compare(Comparison::Ne),
        ast::BinaryOperator::Gt => BinaryOperator::Compare(Comparison::Gt),
        ast::BinaryOperator::GtEq => BinaryOperator::Compare(Comparison::Gte),
        ast::BinaryOperator::Lt => BinaryOperator::Compare(Comparison::Lt),
        ast::BinaryOperator::LtEq => BinaryOperator::Compare(Comparison::Lte),
        ast::BinaryOperator::And => BinaryOperator::And,
        ast::BinaryOperator::Or => BinaryOperator::Or,
        other => {
            return Err(FormulaError {
                message: format!("unsupported operator `{other}`"),
                hint: Some("formulas support + - * / = <> < <= > >= AND OR NOT".into()),
                range: char_range(span, text),
            });
        }
    })
}
