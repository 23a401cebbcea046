//! Attributes: one value per user, from a column, an aggregate over facts, or a formula.
//!
//! Aggregates over facts and their windows are resolved in `fact_aggregates`, quintile
//! scores in `quintiles`, formulas in `formula`.

use crate::error::suggest;
use crate::ir::{Attribute, AttributeId, AttributeKind, Expr, SourceId, SourceRole, ValueType};
use crate::spec::{AttributeSpec, Spanned, WindowSpec};

use super::sources::{TYPE_NAMES, parse_type};
use super::{Validator, check_name};

/// What kind of attribute a declaration is, before its details are checked.
pub(super) enum Pending {
    Resolved,
    /// Parsed once every declaration is resolved, so it may refer to any of them.
    Formula,
}

impl Validator<'_> {
    /// A date or timestamp column of a user or dimension row records when something happened
    /// (rule 10), unless declared `scheduled` or it is the sign-up column (users exist only
    /// from it on): its stored type, for reading it as NULL from the as-of instant on.
    fn point_in_time(&self, source: SourceId, column: &crate::ir::Column) -> Option<ValueType> {
        let signup = matches!(self.sources[source.0].role, SourceRole::Users { .. })
            && column.name == super::sources::SIGNUP_COLUMN;
        (!column.scheduled
            && !signup
            && matches!(column.value_type, ValueType::Date | ValueType::Timestamp))
        .then_some(column.value_type)
    }

    pub(super) fn read_attributes(&mut self) {
        let specs = &self.files.definitions.attributes;
        // Pass 1: reserve every declared name, so formulas may refer forward.
        let mut declared: Vec<(usize, AttributeId)> = Vec::new();
        let mut columns = super::ColumnNames::new("attribute");
        for (index, spec) in specs.iter().enumerate() {
            if !check_name(&spec.name, "attribute", &mut self.diagnostics) {
                continue;
            }
            let taken = self.attribute_names.contains_key(&spec.name.value);
            if !columns.admit(&spec.name, taken, &mut self.diagnostics) {
                continue;
            }
            let id = AttributeId(self.attributes.len());
            self.attribute_names.insert(spec.name.value.clone(), id);
            self.attributes.push(Attribute {
                name: spec.name.value.clone(),
                kind: AttributeKind::Formula(Expr::Null),
                value_type: ValueType::Unknown,
                implicit: false,
                description: spec.description.as_ref().map(|d| d.value.clone()),
                origin: self.origin(spec.span),
            });
            declared.push((index, id));
        }
        self.add_implicit_attributes();
        // Pass 2: resolve each declaration.
        let mut formulas: Vec<(AttributeId, usize)> = Vec::new();
        for (index, id) in declared {
            let spec = &self.files.definitions.attributes[index];
            match self.resolve_attribute(spec, id) {
                Some(Pending::Formula) => formulas.push((id, index)),
                Some(Pending::Resolved) | None => {}
            }
        }
        for (id, index) in &formulas {
            let spec = &self.files.definitions.attributes[*index];
            self.user = format!("attribute `{}`", spec.name.value);
            if let Some(expr) = self.parse_formula(spec) {
                self.attributes[id.0].kind = AttributeKind::Formula(expr);
            }
        }
        self.type_formulas(&formulas);
        self.check_quintile_bases();
    }

    /// Columns of the user table, then of its dimensions, usable by name when no declared
    /// attribute has that name.
    fn add_implicit_attributes(&mut self) {
        let mut order: Vec<SourceId> = Vec::new();
        order.extend(
            self.sources
                .iter()
                .enumerate()
                .filter(|(_, s)| matches!(s.role, SourceRole::Users { .. }))
                .map(|(i, _)| SourceId(i)),
        );
        order.extend(
            self.sources
                .iter()
                .enumerate()
                .filter(|(_, s)| matches!(s.role, SourceRole::Dimension { .. }))
                .map(|(i, _)| SourceId(i)),
        );
        for source in order {
            let columns = self.sources[source.0].columns.clone();
            let origin = self.sources[source.0].origin.clone();
            for column in columns {
                if self.attribute_names.contains_key(&column.name) {
                    continue;
                }
                let id = AttributeId(self.attributes.len());
                self.attribute_names.insert(column.name.clone(), id);
                self.attributes.push(Attribute {
                    name: column.name.clone(),
                    kind: AttributeKind::Column {
                        source,
                        column: column.physical.clone(),
                        as_date: false,
                        point_in_time: self.point_in_time(source, &column),
                    },
                    value_type: column.value_type,
                    implicit: true,
                    description: None,
                    origin: origin.clone(),
                });
            }
        }
    }

    fn declared_type(&mut self, spec: &AttributeSpec) -> Option<ValueType> {
        let text = spec.value_type.as_ref()?;
        match parse_type(&text.value) {
            Some(t) => Some(t),
            None => {
                self.error_with_hint(
                    format!("unknown type `{}`", text.value),
                    text.span,
                    suggest(&text.value, TYPE_NAMES.iter().copied()),
                );
                None
            }
        }
    }

    fn resolve_attribute(&mut self, spec: &AttributeSpec, id: AttributeId) -> Option<Pending> {
        let what = format!("attribute `{}`", spec.name.value);
        self.user = what.clone();
        let declared_type = self.declared_type(spec);
        if let Some(of) = &spec.quintile {
            return self.resolve_quintile(spec, id, of);
        }
        if let Some(best) = &spec.best {
            self.error(format!("{what}: `best` goes with `quintile`"), best.span);
        }
        if spec.formula.is_some() {
            for (present, key) in [
                (spec.source.as_ref().map(|s| s.span), "source"),
                (spec.column.as_ref().map(|s| s.span), "column"),
                (spec.aggregation.as_ref().map(|s| s.span), "agg"),
                (spec.n.as_ref().map(|s| s.span), "n"),
            ] {
                if let Some(span) = present {
                    self.error(
                        format!("{what} has a `formula`, so it cannot also have `{key}`"),
                        span,
                    );
                }
            }
            return Some(Pending::Formula);
        }
        let Some(source_name) = &spec.source else {
            self.error_with_hint(
                format!("{what} needs a `source` (with `column` or `agg`) or a `formula`"),
                spec.name.span,
                Some("e.g. `{ source: events, agg: count, window: 30d }` or `{ formula: \"a / nullif(b, 0)\" }`".into()),
            );
            return None;
        };
        let Some(&source) = self.source_names.get(&source_name.value) else {
            let hint = suggest(
                &source_name.value,
                self.source_names.keys().map(String::as_str),
            );
            self.error_with_hint(
                format!("unknown source `{}` in {what}", source_name.value),
                source_name.span,
                hint,
            );
            return None;
        };
        match self.sources[source.0].role {
            SourceRole::Users { .. } | SourceRole::Dimension { .. } => {
                self.resolve_column_attribute(spec, &what, id, source, source_name, declared_type)
            }
            SourceRole::Facts { .. } => self.resolve_aggregate_attribute(
                spec,
                &what,
                id,
                source,
                source_name,
                declared_type,
            ),
        }
    }

    /// An attribute reading a column of the user table or a dimension (one row per key).
    fn resolve_column_attribute(
        &mut self,
        spec: &AttributeSpec,
        what: &str,
        id: AttributeId,
        source: SourceId,
        source_name: &Spanned<String>,
        declared_type: Option<ValueType>,
    ) -> Option<Pending> {
        for (present, key) in [
            (spec.aggregation.as_ref().map(|s| s.span), "agg"),
            (window_span(spec), "window"),
            (spec.n.as_ref().map(|s| s.span), "n"),
        ] {
            if let Some(span) = present {
                self.error_with_hint(
                    format!("{what}: source `{}` has one row per key, so it takes a `column`, not `{key}`", source_name.value),
                    span,
                    Some("aggregates and windows are for fact sources (with `user_key`)".into()),
                );
            }
        }
        let Some(column_name) = &spec.column else {
            self.error(
                format!("{what} needs a `column` of source `{}`", source_name.value),
                spec.name.span,
            );
            return None;
        };
        let Some(column) = self.sources[source.0].column(&column_name.value).cloned() else {
            let hint = suggest(
                &column_name.value,
                self.sources[source.0]
                    .columns
                    .iter()
                    .map(|c| c.name.as_str()),
            );
            self.error_with_hint(
                format!(
                    "source `{}` has no column `{}`",
                    source_name.value, column_name.value
                ),
                column_name.span,
                hint,
            );
            return None;
        };
        self.uses_column(source, &column.name);
        let value_type = declared_type.unwrap_or(column.value_type);
        let as_date = value_type == ValueType::Date && column.value_type != ValueType::Date;
        let point_in_time = self.point_in_time(source, &column);
        let attribute = &mut self.attributes[id.0];
        attribute.kind = AttributeKind::Column {
            source,
            column: column.physical,
            as_date,
            point_in_time,
        };
        attribute.value_type = value_type;
        Some(Pending::Resolved)
    }

    /// An attribute by name; an implicit one (a column of the user table or a dimension) is
    /// recorded as read by what is being resolved.
    pub(super) fn attribute_by_name(&self, name: &str) -> Option<AttributeId> {
        let id = self.attribute_names.get(name).copied()?;
        if self.attributes[id.0].implicit {
            self.used_by_name.borrow_mut().push((id, self.user.clone()));
        }
        Some(id)
    }

    pub(super) fn attribute_suggestion(&self, name: &str) -> Option<String> {
        suggest(name, self.attribute_names.keys().map(String::as_str))
    }
}

pub(super) fn window_span(spec: &AttributeSpec) -> Option<crate::error::Span> {
    spec.window.as_ref().map(|w| match w {
        WindowSpec::Text(text) => text.span,
        WindowSpec::Mapping(mapping) => mapping.span,
    })
}
