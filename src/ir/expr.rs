//! Formulas as trees, and the two walks every stage makes over them: the attributes a
//! formula names ([`Expr::references`]) and the type it computes ([`Expr::value_type`]).

use serde::Serialize;

use super::{Attribute, AttributeId, Comparison, ValueType};

/// A formula, as a tree. Never user text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Expr {
    Number(f64),
    String(String),
    Boolean(bool),
    Null,
    Attribute(AttributeId),
    /// The report's as-of day.
    AsOf,
    /// The first day of the report's period.
    PeriodStart,
    /// The period's length in months: its days / 30.4375 (365.25 / 12).
    PeriodMonths,
    Negate(Box<Expr>),
    Not(Box<Expr>),
    Binary {
        operator: BinaryOperator,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    Function {
        function: Function,
        arguments: Vec<Expr>,
    },
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    Case {
        branches: Vec<(Expr, Expr)>,
        otherwise: Option<Box<Expr>>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum BinaryOperator {
    Add,
    Subtract,
    Multiply,
    Divide,
    Compare(Comparison),
    And,
    Or,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Function {
    NullIf,
    Coalesce,
    DaysBetween,
    Abs,
    Round,
    Floor,
    Ceil,
    Least,
    Greatest,
}

impl Function {
    pub const NAMES: &'static [&'static str] = &[
        "nullif",
        "coalesce",
        "days_between",
        "abs",
        "round",
        "floor",
        "ceil",
        "least",
        "greatest",
        "as_of",
        "period_start",
        "period_months",
    ];

    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "nullif" => Function::NullIf,
            "coalesce" => Function::Coalesce,
            "days_between" => Function::DaysBetween,
            "abs" => Function::Abs,
            "round" => Function::Round,
            "floor" => Function::Floor,
            "ceil" | "ceiling" => Function::Ceil,
            "least" => Function::Least,
            "greatest" => Function::Greatest,
            _ => return None,
        })
    }

    /// Allowed argument counts (min, max).
    pub fn arity(self) -> (usize, usize) {
        match self {
            Function::NullIf | Function::DaysBetween => (2, 2),
            Function::Abs | Function::Floor | Function::Ceil => (1, 1),
            Function::Round => (1, 2),
            Function::Coalesce | Function::Least | Function::Greatest => (1, usize::MAX),
        }
    }
}

impl Expr {
    /// The operands of this node, in reading order.
    pub fn children(&self) -> Vec<&Expr> {
        let mut children: Vec<&Expr> = Vec::new();
        match self {
            Expr::Negate(e) | Expr::Not(e) => children.push(e),
            Expr::IsNull { expr, .. } => children.push(expr),
            Expr::Binary { left, right, .. } => children.extend([&**left, &**right]),
            Expr::Function { arguments, .. } => children.extend(arguments),
            Expr::Case {
                branches,
                otherwise,
            } => {
                for (condition, result) in branches {
                    children.extend([condition, result]);
                }
                children.extend(otherwise.as_deref());
            }
            Expr::Attribute(_)
            | Expr::Number(_)
            | Expr::String(_)
            | Expr::Boolean(_)
            | Expr::Null
            | Expr::AsOf
            | Expr::PeriodStart
            | Expr::PeriodMonths => {}
        }
        children
    }

    /// The attributes the formula names as a whole argument of `days_between`, once per
    /// mention: those whose local date it reads. A formula it names is not followed (it is
    /// needed too, and read on its own).
    pub fn days_between_arguments(&self) -> Vec<AttributeId> {
        let mut found = Vec::new();
        let mut stack = vec![self];
        while let Some(expr) = stack.pop() {
            if let Expr::Function {
                function: Function::DaysBetween,
                arguments,
            } = expr
            {
                found.extend(arguments.iter().filter_map(|argument| match argument {
                    Expr::Attribute(id) => Some(*id),
                    _ => None,
                }));
            }
            stack.extend(expr.children());
        }
        found
    }

    /// The attributes the formula names, in reading order, once per mention. A formula it
    /// names is not followed: its own references are that attribute's.
    pub fn references(&self) -> Vec<AttributeId> {
        let mut references = Vec::new();
        self.collect_references(&mut references);
        references
    }

    fn collect_references(&self, out: &mut Vec<AttributeId>) {
        match self {
            Expr::Attribute(id) => out.push(*id),
            _ => self
                .children()
                .into_iter()
                .for_each(|child| child.collect_references(out)),
        }
    }

    /// The type the formula computes, given the types of the attributes it names (indexed
    /// by [`AttributeId`]). `nullif`, `coalesce`, `least` and `greatest` take their first
    /// typed argument's type, a CASE its first typed result's; NULL is of unknown type.
    pub fn value_type(&self, attributes: &[Attribute]) -> ValueType {
        match self {
            Expr::Number(_) => ValueType::Number,
            Expr::String(_) => ValueType::String,
            Expr::Boolean(_) | Expr::Not(_) | Expr::IsNull { .. } => ValueType::Boolean,
            Expr::Null => ValueType::Unknown,
            Expr::Attribute(id) => attributes[id.0].value_type,
            Expr::AsOf | Expr::PeriodStart => ValueType::Date,
            Expr::Negate(_) | Expr::PeriodMonths => ValueType::Number,
            Expr::Binary { operator, .. } => match operator {
                BinaryOperator::Compare(_) | BinaryOperator::And | BinaryOperator::Or => {
                    ValueType::Boolean
                }
                _ => ValueType::Number,
            },
            Expr::Function {
                function,
                arguments,
            } => match function {
                Function::DaysBetween => ValueType::Integer,
                Function::NullIf | Function::Coalesce | Function::Least | Function::Greatest => {
                    known_type(arguments.iter(), attributes)
                }
                _ => ValueType::Number,
            },
            Expr::Case {
                branches,
                otherwise,
            } => known_type(
                branches
                    .iter()
                    .map(|(_, result)| result)
                    .chain(otherwise.as_deref()),
                attributes,
            ),
        }
    }
}

/// The type of the first of `values` whose type is known (a NULL's is not): `coalesce(NULL,
/// last_seen)` is a timestamp, `CASE WHEN … THEN NULL ELSE country END` a string.
fn known_type<'e>(values: impl Iterator<Item = &'e Expr>, attributes: &[Attribute]) -> ValueType {
    values
        .map(|value| value.value_type(attributes))
        .find(|value_type| *value_type != ValueType::Unknown)
        .unwrap_or(ValueType::Unknown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{AttributeKind, Origin, SourceId};

    /// Attributes 0..: a number, a timestamp, a date, a string, a boolean, an integer.
    fn attributes() -> Vec<Attribute> {
        [
            ValueType::Number,
            ValueType::Timestamp,
            ValueType::Date,
            ValueType::String,
            ValueType::Boolean,
            ValueType::Integer,
        ]
        .into_iter()
        .enumerate()
        .map(|(index, value_type)| Attribute {
            name: format!("a{index}"),
            kind: AttributeKind::Column {
                source: SourceId(0),
                column: format!("c{index}"),
                as_date: false,
                point_in_time: None,
            },
            value_type,
            implicit: false,
            description: None,
            origin: Origin {
                file: "attributes.yml".into(),
                line: index + 1,
            },
        })
        .collect()
    }

    fn a(index: usize) -> Expr {
        Expr::Attribute(AttributeId(index))
    }

    fn call(function: Function, arguments: Vec<Expr>) -> Expr {
        Expr::Function {
            function,
            arguments,
        }
    }

    fn binary(operator: BinaryOperator, left: Expr, right: Expr) -> Expr {
        Expr::Binary {
            operator,
            left: Box::new(left),
            right: Box::new(right),
        }
    }

    fn case(branches: Vec<(Expr, Expr)>, otherwise: Option<Expr>) -> Expr {
        Expr::Case {
            branches,
            otherwise: otherwise.map(Box::new),
        }
    }

    fn ids(indexes: &[usize]) -> Vec<AttributeId> {
        indexes.iter().copied().map(AttributeId).collect()
    }

    #[test]
    fn references_are_every_mention_in_reading_order() {
        // coalesce(a0, least(a1, 3), a0) + CASE WHEN a2 > 0 THEN a3 ELSE -a4 END
        let expr = binary(
            BinaryOperator::Add,
            call(
                Function::Coalesce,
                vec![
                    a(0),
                    call(Function::Least, vec![a(1), Expr::Number(3.0)]),
                    a(0),
                ],
            ),
            case(
                vec![(
                    binary(
                        BinaryOperator::Compare(Comparison::Gt),
                        a(2),
                        Expr::Number(0.0),
                    ),
                    a(3),
                )],
                Some(Expr::Negate(Box::new(a(4)))),
            ),
        );
        assert_eq!(expr.references(), ids(&[0, 1, 0, 2, 3, 4]));

        // NOT (a5 IS NULL) AND greatest(a1, as_of()) = a2 OR days_between(a2, a1) < 3
        let expr = binary(
            BinaryOperator::Or,
            binary(
                BinaryOperator::And,
                Expr::Not(Box::new(Expr::IsNull {
                    expr: Box::new(a(5)),
                    negated: false,
                })),
                binary(
                    BinaryOperator::Compare(Comparison::Eq),
                    call(Function::Greatest, vec![a(1), Expr::AsOf]),
                    a(2),
                ),
            ),
            binary(
                BinaryOperator::Compare(Comparison::Lt),
                call(Function::DaysBetween, vec![a(2), a(1)]),
                Expr::Number(3.0),
            ),
        );
        assert_eq!(expr.references(), ids(&[5, 1, 2, 2, 1]));
    }

    #[test]
    fn references_of_values_are_empty() {
        for expr in [
            Expr::Number(1.0),
            Expr::String("a0".into()),
            Expr::Boolean(true),
            Expr::Null,
            Expr::AsOf,
            Expr::PeriodStart,
            Expr::PeriodMonths,
            call(Function::Round, vec![Expr::PeriodMonths, Expr::Number(2.0)]),
            case(vec![(Expr::Boolean(true), Expr::Null)], None),
        ] {
            assert_eq!(expr.references(), Vec::new(), "{expr:?}");
        }
    }

    #[test]
    fn children_are_in_reading_order() {
        let expr = case(
            vec![(a(4), a(0)), (Expr::Boolean(false), a(5))],
            Some(Expr::Null),
        );
        assert_eq!(
            expr.children(),
            vec![&a(4), &a(0), &Expr::Boolean(false), &a(5), &Expr::Null]
        );
        assert!(a(0).children().is_empty());
    }

    #[test]
    fn value_types_of_leaves_and_operators() {
        let attributes = attributes();
        let cases = [
            (Expr::Number(1.5), ValueType::Number),
            (Expr::String("x".into()), ValueType::String),
            (Expr::Boolean(false), ValueType::Boolean),
            (Expr::Null, ValueType::Unknown),
            (a(1), ValueType::Timestamp),
            (a(3), ValueType::String),
            (Expr::AsOf, ValueType::Date),
            (Expr::PeriodStart, ValueType::Date),
            (Expr::PeriodMonths, ValueType::Number),
            (Expr::Negate(Box::new(a(5))), ValueType::Number),
            (Expr::Not(Box::new(a(4))), ValueType::Boolean),
            (
                Expr::IsNull {
                    expr: Box::new(a(3)),
                    negated: true,
                },
                ValueType::Boolean,
            ),
            (
                binary(BinaryOperator::Subtract, a(5), a(5)),
                ValueType::Number,
            ),
            (
                binary(BinaryOperator::Divide, a(0), Expr::Number(2.0)),
                ValueType::Number,
            ),
            (
                binary(BinaryOperator::Compare(Comparison::Lte), a(2), Expr::AsOf),
                ValueType::Boolean,
            ),
            (
                binary(BinaryOperator::And, a(4), Expr::Boolean(true)),
                ValueType::Boolean,
            ),
            (binary(BinaryOperator::Or, a(4), a(4)), ValueType::Boolean),
        ];
        for (expr, expected) in cases {
            assert_eq!(expr.value_type(&attributes), expected, "{expr:?}");
        }
    }

    #[test]
    fn value_types_of_functions_and_case() {
        let attributes = attributes();
        let cases = [
            (
                call(Function::DaysBetween, vec![a(1), Expr::AsOf]),
                ValueType::Integer,
            ),
            (call(Function::Abs, vec![a(5)]), ValueType::Number),
            (
                call(Function::Round, vec![a(0), Expr::Number(1.0)]),
                ValueType::Number,
            ),
            (call(Function::Floor, vec![a(0)]), ValueType::Number),
            (call(Function::Ceil, vec![a(0)]), ValueType::Number),
            // The first argument decides, however the others are typed.
            (
                call(Function::Coalesce, vec![a(1), Expr::AsOf]),
                ValueType::Timestamp,
            ),
            (call(Function::Least, vec![a(2), a(1)]), ValueType::Date),
            // The first argument that is not NULL gives the type.
            (
                call(Function::Greatest, vec![Expr::Null, a(5)]),
                ValueType::Integer,
            ),
            (
                call(Function::NullIf, vec![a(3), Expr::String(String::new())]),
                ValueType::String,
            ),
            // Nested: coalesce(nullif(a2, as_of()), period_start()) is a date.
            (
                call(
                    Function::Coalesce,
                    vec![
                        call(Function::NullIf, vec![a(2), Expr::AsOf]),
                        Expr::PeriodStart,
                    ],
                ),
                ValueType::Date,
            ),
            // greatest(days_between(a1, as_of()), 0) is an integer.
            (
                call(
                    Function::Greatest,
                    vec![
                        call(Function::DaysBetween, vec![a(1), Expr::AsOf]),
                        Expr::Number(0.0),
                    ],
                ),
                ValueType::Integer,
            ),
            // A CASE takes its first typed result's type: a NULL's is not known.
            (
                case(
                    vec![(a(4), Expr::String("y".into()))],
                    Some(Expr::Number(1.0)),
                ),
                ValueType::String,
            ),
            (
                case(vec![(a(4), Expr::Null)], Some(Expr::Number(1.0))),
                ValueType::Number,
            ),
            (case(vec![(a(4), Expr::Null)], None), ValueType::Unknown),
            // coalesce(NULL, a1) is a timestamp, as a1.
            (
                call(Function::Coalesce, vec![Expr::Null, a(1)]),
                ValueType::Timestamp,
            ),
            (case(Vec::new(), Some(a(1))), ValueType::Timestamp),
            (case(Vec::new(), None), ValueType::Unknown),
            (
                case(
                    vec![(
                        binary(BinaryOperator::Compare(Comparison::Ne), a(3), Expr::Null),
                        call(Function::Least, vec![a(2), Expr::AsOf]),
                    )],
                    None,
                ),
                ValueType::Date,
            ),
        ];
        for (expr, expected) in cases {
            assert_eq!(expr.value_type(&attributes), expected, "{expr:?}");
        }
    }
}
