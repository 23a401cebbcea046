//! Formulas: parsed with sqlparser, checked, and turned into the IR's expression tree so
//! that no user text is ever pasted into SQL.

use sqlparser::ast::{self, Spanned as _};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, Tokenizer};

use crate::error::Span;
use crate::ir::{
    AttributeId, AttributeKind, BinaryOperator, Comparison, Expr, Function, ValueType,
};
use crate::spec::AttributeSpec;

use super::Validator;
use super::conditions::article;
use super::formula_size::{
    MAX_WRITTEN_OUT_DEPTH, MAX_WRITTEN_OUT_NODES, SPLIT_HINT, WrittenOut, check_depth,
};

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
            E::Value(value) => match &value.value {
                ast::Value::Number(number, _) => match number.parse::<f64>() {
                    Ok(value) if value.is_finite() => Expr::Number(value),
                    Ok(_) => {
                        return Err(located(
                            format!(
                                "the number `{number}` is too large (numbers must fit in a double, up to about 1.8e308)"
                            ),
                            expr.span(),
                            text,
                        ));
                    }
                    Err(_) => {
                        return Err(located(
                            format!("invalid number `{number}`"),
                            expr.span(),
                            text,
                        ));
                    }
                },
                ast::Value::SingleQuotedString(s) => Expr::String(s.clone()),
                ast::Value::Boolean(b) => Expr::Boolean(*b),
                ast::Value::Null => Expr::Null,
                other => {
                    return Err(located(
                        format!("unsupported value `{other}`"),
                        expr.span(),
                        text,
                    ));
                }
            },
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
                let operator = match op {
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
                            range: char_range(expr.span(), text),
                        });
                    }
                };
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
            } => {
                let operand = operand
                    .as_ref()
                    .map(|o| self.convert(o, text))
                    .transpose()?;
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
                    .as_ref()
                    .map(|e| self.convert(e, text).map(Box::new))
                    .transpose()?;
                Expr::Case {
                    branches,
                    otherwise,
                }
            }
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

    /// Gives each formula attribute a type, and reports formulas that refer to themselves and
    /// formulas too large once the formulas they name are written into them.
    ///
    /// The references are walked depth first with a stack of their own, not by recursion:
    /// a chain of many thousands of formulas, each naming the next, is valid input.
    pub(super) fn type_formulas(&mut self, formulas: &[(AttributeId, usize)]) {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            Unvisited,
            Visiting,
            Done,
        }
        type Open = Vec<(AttributeId, Vec<AttributeId>, usize)>;
        /// Starts on a formula: marks it open and queues the attributes it names.
        fn open(
            attributes: &[crate::ir::Attribute],
            id: AttributeId,
            marks: &mut [Mark],
            stack: &mut Open,
        ) {
            if let AttributeKind::Formula(expr) = &attributes[id.0].kind {
                let references = expr.references();
                marks[id.0] = Mark::Visiting;
                stack.push((id, references, 0));
            } else {
                marks[id.0] = Mark::Done;
            }
        }
        let mut marks = vec![Mark::Unvisited; self.attributes.len()];
        let mut spec_index = vec![None; self.attributes.len()];
        for (id, index) in formulas {
            spec_index[id.0] = Some(*index);
        }
        // Per formula attribute: its size once written out, known when it is done.
        let mut written_out: Vec<Option<WrittenOut>> = vec![None; self.attributes.len()];
        let mut cycles: Vec<Vec<AttributeId>> = Vec::new();
        for (start, _) in formulas {
            if marks[start.0] != Mark::Unvisited {
                continue;
            }
            // Each open formula, the attributes it names, and how many were followed.
            let mut stack: Open = Vec::new();
            open(&self.attributes, *start, &mut marks, &mut stack);
            while let Some((id, references, followed)) = stack.last_mut() {
                if let Some(reference) = references.get(*followed).copied() {
                    *followed += 1;
                    match marks[reference.0] {
                        Mark::Done => {}
                        Mark::Visiting => {
                            let from = stack.iter().position(|(open, ..)| *open == reference);
                            cycles.push(
                                stack[from.unwrap_or(0)..]
                                    .iter()
                                    .map(|(id, ..)| *id)
                                    .collect(),
                            );
                        }
                        Mark::Unvisited => {
                            open(&self.attributes, reference, &mut marks, &mut stack)
                        }
                    }
                    continue;
                }
                let id = *id;
                stack.pop();
                marks[id.0] = Mark::Done;
                if let AttributeKind::Formula(expr) = &self.attributes[id.0].kind {
                    let value_type = expr.value_type(&self.attributes);
                    written_out[id.0] = Some(WrittenOut::of(expr, &written_out));
                    self.attributes[id.0].value_type = value_type;
                }
            }
        }
        for cycle in cycles {
            let names: Vec<String> = cycle
                .iter()
                .chain(cycle.first())
                .map(|a| self.attributes[a.0].name.clone())
                .collect();
            if let Some(index) = cycle.first().and_then(|first| spec_index[first.0]) {
                let span = self.formula_span(index);
                self.error(
                    format!(
                        "formulas refer to each other in a cycle: {}",
                        names.join(" → ")
                    ),
                    span,
                );
            }
        }
        for (id, index) in formulas {
            self.check_written_out(*id, *index, &written_out);
        }
        for (id, index) in formulas {
            self.check_formula_types(*id, *index);
        }
    }

    fn formula_span(&self, index: usize) -> Span {
        let spec = &self.files.definitions.attributes[index];
        spec.formula.as_ref().map_or(spec.span, |f| f.span)
    }

    /// Reports a formula too deep or too large once the formulas it names are written into
    /// it (the SQL repeats a formula wherever it is named), unless a formula it names is
    /// already too large: that one is reported.
    fn check_written_out(
        &mut self,
        id: AttributeId,
        index: usize,
        written_out: &[Option<WrittenOut>],
    ) {
        let AttributeKind::Formula(expr) = &self.attributes[id.0].kind else {
            return;
        };
        let too_large = |id: AttributeId| {
            written_out[id.0]
                .is_some_and(|w| w.depth > MAX_WRITTEN_OUT_DEPTH || w.nodes > MAX_WRITTEN_OUT_NODES)
        };
        let references = expr.references();
        if !too_large(id) || references.into_iter().any(too_large) {
            return;
        }
        let name = self.attributes[id.0].name.clone();
        let span = self.formula_span(index);
        let size = match written_out[id.0] {
            Some(w) if w.depth > MAX_WRITTEN_OUT_DEPTH => {
                format!("is more than {MAX_WRITTEN_OUT_DEPTH} levels deep")
            }
            _ => format!("has more than {MAX_WRITTEN_OUT_NODES} parts"),
        };
        self.error_with_hint(
            format!(
                "the formula of `{name}` {size} once the formulas it names are written into it, as the SQL does"
            ),
            span,
            Some("the SQL repeats a formula wherever another formula names it; name large formulas fewer times, or use fewer layers of formulas".into()),
        );
    }

    /// Reports the first operand of a formula whose type does not fit (see [`type_problem`]),
    /// pointing at the attribute it names when the formula names it.
    fn check_formula_types(&mut self, id: AttributeId, index: usize) {
        let AttributeKind::Formula(expr) = &self.attributes[id.0].kind else {
            return;
        };
        let Some(problem) = type_problem(expr, &self.attributes) else {
            return;
        };
        let spec = &self.files.definitions.attributes[index];
        let Some(formula) = spec.formula.as_ref() else {
            return;
        };
        let offset = usize::from(spec.formula_quoted);
        let span = problem
            .attribute
            .and_then(|operand| word_range(&formula.value, &self.attributes[operand.0].name))
            .map_or(formula.span, |(from, to)| {
                formula.span.narrow(from + offset, to + offset)
            });
        let message = format!(
            "formula of `{}`: {}",
            self.attributes[id.0].name, problem.message
        );
        self.error_with_hint(message, span, problem.hint.map(String::from));
    }
}

/// An operand whose type cannot do what the formula asks of it.
struct TypeProblem {
    message: String,
    hint: Option<&'static str>,
    /// The attribute named by the operand, to point at in the formula.
    attribute: Option<AttributeId>,
}

/// The first operand, innermost first and in reading order, whose known type does not fit
/// its operator: numbers for arithmetic and `abs`/`round`/`floor`/`ceil`, booleans for `AND`,
/// `OR`, `NOT` and CASE conditions, dates or timestamps for `days_between`. Warehouses
/// disagree on the rest (a boolean times 10, a date minus a number, a number as a
/// condition), so it is refused here rather than working on one engine and failing on
/// another. Unknown types pass.
fn type_problem(expr: &Expr, attributes: &[crate::ir::Attribute]) -> Option<TypeProblem> {
    let describe = |operand: &Expr| match operand {
        Expr::Attribute(id) => format!("`{}`", attributes[id.0].name),
        Expr::Function { function, .. } => format!("`{}(…)`", function_name(*function)),
        Expr::AsOf => "`as_of()`".into(),
        Expr::PeriodStart => "`period_start()`".into(),
        Expr::Boolean(value) => format!("`{value}`"),
        Expr::String(_) => "a string".into(),
        Expr::Case { .. } => "a CASE".into(),
        Expr::Binary {
            operator: BinaryOperator::Compare(_) | BinaryOperator::And | BinaryOperator::Or,
            ..
        }
        | Expr::Not(_)
        | Expr::IsNull { .. } => "a condition".into(),
        _ => "an operand".into(),
    };
    let attribute_of = |operand: &Expr| match operand {
        Expr::Attribute(id) => Some(*id),
        _ => None,
    };
    let needs_number = |operand: &Expr, what: &str| {
        let value_type = operand.value_type(attributes);
        let hint = match value_type {
            ValueType::Boolean => Some("for 1 and 0, write `CASE WHEN flag THEN 1 ELSE 0 END`"),
            ValueType::Date | ValueType::Timestamp => {
                Some("`days_between(a, b)` counts the days from one date to another")
            }
            _ => None,
        };
        matches!(
            value_type,
            ValueType::Boolean | ValueType::String | ValueType::Date | ValueType::Timestamp
        )
        .then(|| TypeProblem {
            message: format!(
                "{} is {}, and {what} needs numbers",
                describe(operand),
                article(value_type)
            ),
            hint,
            attribute: attribute_of(operand),
        })
    };
    let needs_boolean = |operand: &Expr, what: &str| {
        let value_type = operand.value_type(attributes);
        (value_type != ValueType::Boolean && value_type != ValueType::Unknown).then(|| {
            TypeProblem {
                message: format!(
                    "{} is {}, and {what} needs a condition (true or false)",
                    describe(operand),
                    article(value_type)
                ),
                hint: Some("compare it, e.g. `orders_count > 0`"),
                attribute: attribute_of(operand),
            }
        })
    };
    if let Some(inner) = expr
        .children()
        .into_iter()
        .find_map(|child| type_problem(child, attributes))
    {
        return Some(inner);
    }
    match expr {
        Expr::Binary {
            operator,
            left,
            right,
        } => {
            let symbol = match operator {
                BinaryOperator::Add => Some("`+`"),
                BinaryOperator::Subtract => Some("`-`"),
                BinaryOperator::Multiply => Some("`*`"),
                BinaryOperator::Divide => Some("`/`"),
                _ => None,
            };
            match (operator, symbol) {
                (_, Some(symbol)) => {
                    needs_number(left, symbol).or_else(|| needs_number(right, symbol))
                }
                (BinaryOperator::And, _) => {
                    needs_boolean(left, "`AND`").or_else(|| needs_boolean(right, "`AND`"))
                }
                (BinaryOperator::Or, _) => {
                    needs_boolean(left, "`OR`").or_else(|| needs_boolean(right, "`OR`"))
                }
                _ => None,
            }
        }
        Expr::Negate(operand) => needs_number(operand, "`-`"),
        Expr::Not(operand) => needs_boolean(operand, "`NOT`"),
        Expr::Function {
            function:
                function @ (Function::Abs | Function::Round | Function::Floor | Function::Ceil),
            arguments,
        } => {
            let what = format!("`{}`", function_name(*function));
            arguments.iter().find_map(|a| needs_number(a, &what))
        }
        Expr::Function {
            function: Function::DaysBetween,
            arguments,
        } => arguments.iter().find_map(|argument| {
            let value_type = argument.value_type(attributes);
            (value_type != ValueType::Unknown && !value_type.is_temporal()).then(|| TypeProblem {
                message: format!(
                    "{} is {}, and `days_between` needs dates or timestamps",
                    describe(argument),
                    article(value_type)
                ),
                hint: None,
                attribute: attribute_of(argument),
            })
        }),
        Expr::Case { branches, .. } => branches
            .iter()
            .find_map(|(condition, _)| needs_boolean(condition, "`CASE WHEN`")),
        _ => None,
    }
}

/// A function's name as formulas spell it.
fn function_name(function: Function) -> &'static str {
    match function {
        Function::NullIf => "nullif",
        Function::Coalesce => "coalesce",
        Function::DaysBetween => "days_between",
        Function::Abs => "abs",
        Function::Round => "round",
        Function::Floor => "floor",
        Function::Ceil => "ceil",
        Function::Least => "least",
        Function::Greatest => "greatest",
    }
}

/// Character offsets of the first whole-word `name` in a formula.
fn word_range(text: &str, name: &str) -> Option<(usize, usize)> {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let chars: Vec<char> = text.chars().collect();
    let wanted: Vec<char> = name.chars().collect();
    (0..chars.len()).find_map(|start| {
        let end = start + wanted.len();
        let matches = chars.get(start..end) == Some(&wanted[..])
            && (start == 0 || !is_word(chars[start - 1]))
            && chars.get(end).is_none_or(|c| !is_word(*c));
        matches.then_some((start, end))
    })
}
