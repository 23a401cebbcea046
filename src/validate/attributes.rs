//! Attributes: one value per user, from a column, an aggregate over facts, or a formula.

use crate::error::suggest;
use crate::ir::{
    Aggregation, Attribute, AttributeId, AttributeKind, Duration, Expr, FactColumn, SourceId,
    SourceRole, ValueType, Window,
};
use crate::spec::{AttributeSpec, Spanned, WindowMapping, WindowSpec};

use super::sources::{TYPE_NAMES, parse_type};
use super::{Validator, check_name};

/// The largest `n` of `agg: nth`.
const MAX_NTH: u32 = 10_000;

/// What kind of attribute a declaration is, before its details are checked.
enum Pending {
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
}

impl Validator<'_> {
    pub(super) fn read_attributes(&mut self) {
        let specs = &self.files.definitions.attributes;
        // Pass 1: reserve every declared name, so formulas may refer forward.
        let mut declared: Vec<(usize, AttributeId)> = Vec::new();
        let mut columns = super::ColumnNames::new("attribute");
        for (index, spec) in specs.iter().enumerate() {
            if !check_name(&spec.name, "attribute", &mut self.diagnostics) {
                continue;
            }
            if self.attribute_names.contains_key(&spec.name.value) {
                self.error(
                    format!("duplicate attribute `{}`", spec.name.value),
                    spec.name.span,
                );
                continue;
            }
            columns.check(&spec.name, &mut self.diagnostics);
            let id = AttributeId(self.attributes.len());
            self.attribute_names.insert(spec.name.value.clone(), id);
            self.attributes.push(Attribute {
                name: spec.name.value.clone(),
                kind: AttributeKind::Formula(Expr::Null),
                value_type: ValueType::Unknown,
                implicit: false,
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
                    origin: origin.clone(),
                });
            }
        }
    }

    /// `{ quintile: recency_days, best: lowest }`.
    fn resolve_quintile(
        &mut self,
        spec: &AttributeSpec,
        id: AttributeId,
        of: &Spanned<String>,
    ) -> Option<Pending> {
        let what = format!("attribute `{}`", spec.name.value);
        for (present, key) in [
            (spec.source.as_ref().map(|s| s.span), "source"),
            (spec.column.as_ref().map(|s| s.span), "column"),
            (spec.aggregation.as_ref().map(|s| s.span), "agg"),
            (spec.formula.as_ref().map(|s| s.span), "formula"),
            (window_span(spec), "window"),
            (spec.n.as_ref().map(|s| s.span), "n"),
        ] {
            if let Some(span) = present {
                self.error(
                    format!("{what} is a `quintile`, so it cannot also have `{key}`"),
                    span,
                );
            }
        }
        let best_lowest = match spec.best.as_ref().map(|b| b.value.as_str()) {
            None | Some("highest") => false,
            Some("lowest") => true,
            Some(other) => {
                self.error_with_hint(
                    format!("{what}: `best` is `highest` or `lowest`, found `{other}`"),
                    spec.best.as_ref().map(|b| b.span).unwrap_or(spec.span),
                    Some(
                        "`best: lowest` gives the lowest values the score 5, as for recency".into(),
                    ),
                );
                false
            }
        };
        let Some(base) = self.attribute_by_name(&of.value) else {
            let hint = suggest(&of.value, self.attribute_names.keys().map(String::as_str));
            self.error_with_hint(
                format!("unknown attribute `{}` in `quintile` of {what}", of.value),
                of.span,
                hint,
            );
            return None;
        };
        if base == id {
            self.error(format!("{what} is the quintile of itself"), of.span);
            return None;
        }
        self.attributes[id.0].kind = AttributeKind::Quintile {
            of: base,
            best_lowest,
        };
        self.attributes[id.0].value_type = ValueType::Number;
        self.quintile_bases.push((id, of.span));
        Some(Pending::Resolved)
    }

    /// A quintile is computed from the other attributes; its base cannot be a quintile or a
    /// formula that uses one, and must have an order that means the same on every engine:
    /// a number, a date or a timestamp (strings sort by collation, booleans only tie).
    pub(super) fn check_quintile_bases(&mut self) {
        for (id, span) in std::mem::take(&mut self.quintile_bases) {
            let AttributeKind::Quintile { of, .. } = self.attributes[id.0].kind else {
                continue;
            };
            let base_type = self.attributes[of.0].value_type;
            if matches!(base_type, ValueType::String | ValueType::Boolean) {
                let message = format!(
                    "the quintile `{}` scores `{}`, which is {}; quintiles rank numbers, dates or timestamps",
                    self.attributes[id.0].name,
                    self.attributes[of.0].name,
                    super::conditions::article(base_type)
                );
                self.error(message, span);
                continue;
            }
            let mut pending = vec![of];
            let mut seen = Vec::new();
            while let Some(current) = pending.pop() {
                if seen.contains(&current) {
                    continue;
                }
                seen.push(current);
                match &self.attributes[current.0].kind {
                    AttributeKind::Quintile { .. } => {
                        let message = format!(
                            "the quintile `{}` is computed from `{}`, which is or uses a quintile (`{}`); score the underlying value instead",
                            self.attributes[id.0].name,
                            self.attributes[of.0].name,
                            self.attributes[current.0].name
                        );
                        self.error(message, span);
                        break;
                    }
                    AttributeKind::Formula(expr) => pending.extend(expr.references()),
                    _ => {}
                }
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
        let role = self.sources[source.0].role.clone();
        match role {
            SourceRole::Users { .. } | SourceRole::Dimension { .. } => {
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
                let Some(column) = self.sources[source.0].column(&column_name.value).cloned()
                else {
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
            SourceRole::Facts { time, .. } => {
                let Some(aggregation_text) = &spec.aggregation else {
                    self.error_with_hint(
                        format!(
                            "{what} reads facts from `{}`, so it needs `agg`",
                            source_name.value
                        ),
                        spec.name.span,
                        Some(format!("one of: {}", Aggregation::NAMES.join(", "))),
                    );
                    return None;
                };
                let Some(aggregation) = Aggregation::parse(&aggregation_text.value) else {
                    let hint = suggest(&aggregation_text.value, Aggregation::NAMES.iter().copied())
                        .or_else(|| Some(format!("one of: {}", Aggregation::NAMES.join(", "))));
                    self.error_with_hint(
                        format!("unknown aggregation `{}`", aggregation_text.value),
                        aggregation_text.span,
                        hint,
                    );
                    return None;
                };
                let aggregation = self.ordinal(
                    spec,
                    aggregation,
                    aggregation_text,
                    time.is_some(),
                    &source_name.value,
                );
                let window = self.resolve_window(spec, time.is_some(), &source_name.value);
                if aggregation == Aggregation::CountDistinctDays && time.is_none() {
                    self.error(
                        format!("`count_distinct_days` counts days of the time column, and source `{}` has no `time`", source_name.value),
                        aggregation_text.span,
                    );
                }
                let column = match &spec.column {
                    None => {
                        if !matches!(
                            aggregation,
                            Aggregation::Count | Aggregation::CountDistinctDays
                        ) {
                            self.error(
                                format!(
                                    "{what}: `{}` needs a `column` of source `{}`",
                                    aggregation_text.value, source_name.value
                                ),
                                aggregation_text.span,
                            );
                        }
                        None
                    }
                    Some(column_name) => {
                        self.fact_column(source, &column_name.value, column_name.span)
                    }
                };
                if aggregation == Aggregation::CountDistinctDays && spec.column.is_some() {
                    self.error(
                        format!("{what}: `count_distinct_days` counts days of the time column and takes no `column`"),
                        spec.column.as_ref().map(|c| c.span).unwrap_or(spec.name.span),
                    );
                }
                let column_type = column
                    .as_ref()
                    .map_or(ValueType::Unknown, FactColumn::value_type);
                if matches!(aggregation, Aggregation::Sum | Aggregation::Avg)
                    && !matches!(
                        column_type,
                        ValueType::Unknown | ValueType::Number | ValueType::Integer
                    )
                {
                    self.error(
                        format!(
                            "{what}: `{}` needs a numeric column, and this one is a {}",
                            aggregation_text.value,
                            column_type.name()
                        ),
                        spec.column
                            .as_ref()
                            .map(|c| c.span)
                            .unwrap_or(spec.name.span),
                    );
                }
                let filter = spec
                    .filter
                    .as_ref()
                    .map(|condition| self.resolve_fact_condition(condition, source));
                let value_type = match aggregation {
                    Aggregation::Count
                    | Aggregation::CountDistinct
                    | Aggregation::CountDistinctDays => ValueType::Integer,
                    Aggregation::Sum | Aggregation::Avg => ValueType::Number,
                    Aggregation::Min | Aggregation::Max | Aggregation::Nth { .. } => {
                        match column_type {
                            ValueType::Unknown => declared_type.unwrap_or(ValueType::Unknown),
                            other => other,
                        }
                    }
                };
                let attribute = &mut self.attributes[id.0];
                attribute.kind = AttributeKind::Aggregate {
                    source,
                    aggregation,
                    column,
                    window,
                    filter,
                };
                attribute.value_type = value_type;
                Some(Pending::Resolved)
            }
        }
    }

    /// `agg: first | last | nth` with `n`: the fact's place in time order. Reports `n` where
    /// it does not belong, and ordered facts of a source without `time`.
    fn ordinal(
        &mut self,
        spec: &AttributeSpec,
        aggregation: Aggregation,
        aggregation_text: &Spanned<String>,
        has_time: bool,
        source: &str,
    ) -> Aggregation {
        let what = format!("attribute `{}`", spec.name.value);
        let Aggregation::Nth { n, from_end } = aggregation else {
            if let Some(n) = &spec.n {
                self.error_with_hint(
                    format!("{what}: `n` goes with `agg: nth`"),
                    n.span,
                    Some("`agg: nth, n: 2` reads each user's second fact".into()),
                );
            }
            return aggregation;
        };
        if !has_time {
            self.error_with_hint(
                format!(
                    "{what}: `{}` orders each user's facts by time, and source `{source}` has no `time` column",
                    aggregation_text.value
                ),
                aggregation_text.span,
                Some(format!("add `time: <timestamp column>` to source `{source}`")),
            );
        }
        if aggregation_text.value != "nth" {
            if let Some(n) = &spec.n {
                self.error_with_hint(
                    format!("{what}: `{}` takes no `n`", aggregation_text.value),
                    n.span,
                    Some(format!(
                        "write `agg: nth, n: {}` for another fact than the {}",
                        n.value, aggregation_text.value
                    )),
                );
            }
            return aggregation;
        }
        let Some(text) = &spec.n else {
            self.error_with_hint(
                format!("{what}: `agg: nth` needs `n`, the fact's place in time order"),
                aggregation_text.span,
                Some(
                    "e.g. `n: 2` for each user's second fact; `first` and `last` need no `n`"
                        .into(),
                ),
            );
            return Aggregation::Nth { n: 1, from_end };
        };
        match text.value.parse::<u32>() {
            Ok(n) if (1..=MAX_NTH).contains(&n) => Aggregation::Nth { n, from_end },
            _ => {
                self.error(
                    format!(
                        "{what}: `n` must be a whole number from 1 to {MAX_NTH}, found `{}`",
                        text.value
                    ),
                    text.span,
                );
                Aggregation::Nth {
                    n: n.max(1),
                    from_end,
                }
            }
        }
    }

    /// A column of a fact source by logical name; `time` is its time column.
    pub(super) fn fact_column(
        &mut self,
        source: SourceId,
        name: &str,
        span: crate::error::Span,
    ) -> Option<FactColumn> {
        let source_ref = &self.sources[source.0];
        let has_time = matches!(&source_ref.role, SourceRole::Facts { time: Some(_), .. });
        if name == "time" {
            if has_time {
                return Some(FactColumn::Time);
            }
            let message = format!("source `{}` has no `time` column", source_ref.name);
            self.error(message, span);
            return None;
        }
        match source_ref.column(name) {
            Some(column) => {
                let found = FactColumn::Column {
                    physical: column.physical.clone(),
                    value_type: column.value_type,
                };
                self.uses_column(source, name);
                Some(found)
            }
            None => {
                let mut names: Vec<&str> =
                    source_ref.columns.iter().map(|c| c.name.as_str()).collect();
                if has_time {
                    names.push("time");
                }
                let hint = suggest(name, names.iter().copied())
                    .or_else(|| Some(format!("its columns: {}", names.join(", "))));
                let message = format!("source `{}` has no column `{name}`", source_ref.name);
                self.error_with_hint(message, span, hint);
                None
            }
        }
    }

    fn resolve_window(&mut self, spec: &AttributeSpec, has_time: bool, source: &str) -> Window {
        let Some(window_spec) = &spec.window else {
            return Window::All;
        };
        let window = match window_spec {
            WindowSpec::Text(text) => match text.value.as_str() {
                "all" => Window::All,
                "period" => Window::Period,
                "activity" => self.activity_window,
                "month_to_date" => Window::CalendarMonth { months_back: 0 },
                "previous_month" => Window::CalendarMonth { months_back: 1 },
                other => match Duration::parse(other) {
                    Some(length) => Window::Last(length),
                    None => {
                        self.error_with_hint(
                            format!("invalid window `{other}`"),
                            text.span,
                            Some("write `30d`, `4w`, `3m`, `period`, `activity`, `month_to_date`, `previous_month`, `{ last: 30d, offset: 30d }` or `{ after_signup: 90d }`".into()),
                        );
                        return Window::All;
                    }
                },
            },
            WindowSpec::Mapping(mapping) if mapping.after_signup.is_some() => {
                let WindowMapping {
                    after_signup: Some(length),
                    last,
                    offset,
                    ..
                } = &**mapping
                else {
                    return Window::All;
                };
                for extra in [last, offset].into_iter().flatten() {
                    self.error(
                        "`after_signup` counts from each user's sign-up, so it takes no `last` or `offset`",
                        extra.span,
                    );
                }
                match Duration::parse(&length.value) {
                    Some(Duration::Days(days)) => Window::AfterSignup { days },
                    Some(Duration::Weeks(weeks)) => Window::AfterSignup { days: weeks * 7 },
                    Some(Duration::Months(_)) => {
                        self.error_with_hint(
                            format!(
                                "`after_signup` counts whole days, so `{}` is not allowed",
                                length.value
                            ),
                            length.span,
                            Some("write days or weeks, e.g. `90d` or `13w`".into()),
                        );
                        return Window::All;
                    }
                    None => {
                        self.error_with_hint(
                            format!("invalid length `{}`", length.value),
                            length.span,
                            Some("write days or weeks, e.g. `90d` or `13w`".into()),
                        );
                        return Window::All;
                    }
                }
            }
            WindowSpec::Mapping(mapping) => {
                let WindowMapping {
                    last, offset, span, ..
                } = &**mapping;
                let Some(last) = last else {
                    self.error(
                        "a window mapping needs `last` (and optionally `offset`), or `after_signup`",
                        *span,
                    );
                    return Window::All;
                };
                let parse = |validator: &mut Self, text: &crate::spec::Spanned<String>| {
                    match Duration::parse(&text.value) {
                        Some(length) => Some(length),
                        None => {
                            validator.error_with_hint(
                                format!("invalid length `{}`", text.value),
                                text.span,
                                Some("write a length such as 30d, 4w or 1m".into()),
                            );
                            None
                        }
                    }
                };
                let Some(last_length) = parse(self, last) else {
                    return Window::All;
                };
                match offset {
                    None => Window::Last(last_length),
                    Some(offset) => match parse(self, offset) {
                        Some(offset_length) => Window::LastOffset {
                            last: last_length,
                            offset: offset_length,
                        },
                        None => return Window::All,
                    },
                }
            }
        };
        if window != Window::All && !has_time {
            let span = window_span(spec).unwrap_or(spec.name.span);
            self.error_with_hint(
                format!(
                    "attribute `{}` has a window, but source `{source}` has no `time` column",
                    spec.name.value
                ),
                span,
                Some(format!(
                    "add `time: <timestamp column>` to source `{source}`, or remove the window"
                )),
            );
        }
        window
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

fn window_span(spec: &AttributeSpec) -> Option<crate::error::Span> {
    spec.window.as_ref().map(|w| match w {
        WindowSpec::Text(text) => text.span,
        WindowSpec::Mapping(mapping) => mapping.span,
    })
}
