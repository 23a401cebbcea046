//! Formula types: each formula attribute's type, cycles between formulas, their size once
//! written out, and operands whose type does not fit.

use crate::error::Span;
use crate::ir::{AttributeId, AttributeKind, BinaryOperator, Expr, Function, ValueType};

use super::Validator;
use super::conditions::article;
use super::formula_size::{MAX_WRITTEN_OUT_DEPTH, MAX_WRITTEN_OUT_NODES, WrittenOut};

impl Validator<'_> {
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
                (_, Some(symbol)) => needs_number(left, symbol, attributes)
                    .or_else(|| needs_number(right, symbol, attributes)),
                (BinaryOperator::And, _) => needs_boolean(left, "`AND`", attributes)
                    .or_else(|| needs_boolean(right, "`AND`", attributes)),
                (BinaryOperator::Or, _) => needs_boolean(left, "`OR`", attributes)
                    .or_else(|| needs_boolean(right, "`OR`", attributes)),
                _ => None,
            }
        }
        Expr::Negate(operand) => needs_number(operand, "`-`", attributes),
        Expr::Not(operand) => needs_boolean(operand, "`NOT`", attributes),
        Expr::Function {
            function:
                function @ (Function::Abs | Function::Round | Function::Floor | Function::Ceil),
            arguments,
        } => {
            let what = format!("`{}`", function_name(*function));
            arguments
                .iter()
                .find_map(|a| needs_number(a, &what, attributes))
        }
        Expr::Function {
            function: Function::DaysBetween,
            arguments,
        } => arguments.iter().find_map(|argument| {
            let value_type = argument.value_type(attributes);
            (value_type != ValueType::Unknown && !value_type.is_temporal()).then(|| TypeProblem {
                message: format!(
                    "{} is {}, and `days_between` needs dates or timestamps",
                    describe(argument, attributes),
                    article(value_type)
                ),
                hint: None,
                attribute: attribute_of(argument),
            })
        }),
        Expr::Case {
            branches,
            otherwise,
        } => branches
            .iter()
            .find_map(|(condition, _)| needs_boolean(condition, "`CASE WHEN`", attributes))
            .or_else(|| {
                let results = branches.iter().map(|(_, result)| result);
                mixed_times(results.chain(otherwise.as_deref()), "a `CASE`", attributes)
            }),
        Expr::Function {
            function:
                function
                @ (Function::Least | Function::Greatest | Function::Coalesce | Function::NullIf),
            arguments,
        } => mixed_times(
            arguments.iter(),
            &format!("`{}`", function_name(*function)),
            attributes,
        ),
        _ => None,
    }
}

/// How a type problem names an operand.
fn describe(operand: &Expr, attributes: &[crate::ir::Attribute]) -> String {
    match operand {
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
    }
}

/// The attribute an operand names, if it is one.
fn attribute_of(operand: &Expr) -> Option<AttributeId> {
    match operand {
        Expr::Attribute(id) => Some(*id),
        _ => None,
    }
}

/// A problem when `operand`, used by `what`, is known not to be a number.
fn needs_number(
    operand: &Expr,
    what: &str,
    attributes: &[crate::ir::Attribute],
) -> Option<TypeProblem> {
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
            describe(operand, attributes),
            article(value_type)
        ),
        hint,
        attribute: attribute_of(operand),
    })
}

/// A problem when `operand`, used by `what`, is known not to be a condition.
fn needs_boolean(
    operand: &Expr,
    what: &str,
    attributes: &[crate::ir::Attribute],
) -> Option<TypeProblem> {
    let value_type = operand.value_type(attributes);
    (value_type != ValueType::Boolean && value_type != ValueType::Unknown).then(|| TypeProblem {
        message: format!(
            "{} is {}, and {what} needs a condition (true or false)",
            describe(operand, attributes),
            article(value_type)
        ),
        hint: Some("compare it, e.g. `orders_count > 0`"),
        attribute: attribute_of(operand),
    })
}

/// A problem when `values` (a function's arguments, a CASE's results) hold both a date and
/// a timestamp: the warehouses compare and convert them differently (DuckDB reads the date
/// as UTC midnight, BigQuery refuses to compare them).
fn mixed_times<'e>(
    values: impl Iterator<Item = &'e Expr>,
    what: &str,
    attributes: &[crate::ir::Attribute],
) -> Option<TypeProblem> {
    let values: Vec<&Expr> = values.collect();
    let of_type = |wanted: ValueType| {
        values
            .iter()
            .find(|value| value.value_type(attributes) == wanted)
    };
    let (timestamp, date) = (of_type(ValueType::Timestamp)?, of_type(ValueType::Date)?);
    Some(TypeProblem {
        message: format!(
            "{} is a timestamp and {} a date, and {what} does not mix them",
            describe(timestamp, attributes),
            describe(date, attributes)
        ),
        hint: Some(
            "compare them in a condition (`a >= b` compares the timestamp's local day), or count days with `days_between(a, b)`",
        ),
        attribute: attribute_of(timestamp),
    })
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
