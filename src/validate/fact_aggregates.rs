//! Attributes that aggregate a fact source's facts: the aggregation, its place in time
//! order (`first`, `last`, `nth`), the column read and the window.

use crate::error::suggest;
use crate::ir::{
    Aggregation, AttributeId, AttributeKind, Duration, FactColumn, SourceId, SourceRole, ValueType,
    Window,
};
use crate::spec::{AttributeSpec, Spanned, WindowMapping, WindowSpec};

use super::Validator;
use super::attributes::{Pending, window_span};

/// The largest `n` of `agg: nth`.
const MAX_NTH: u32 = 10_000;
impl Validator<'_> {
    /// An aggregate over the facts of a fact source: `agg`, its column, window and `where`.
    pub(super) fn resolve_aggregate_attribute(
        &mut self,
        spec: &AttributeSpec,
        what: &str,
        id: AttributeId,
        source: SourceId,
        source_name: &Spanned<String>,
        declared_type: Option<ValueType>,
    ) -> Option<Pending> {
        let has_time = matches!(
            self.sources[source.0].role,
            SourceRole::Facts { time: Some(_), .. }
        );
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
            has_time,
            &source_name.value,
        );
        let window = self.resolve_window(spec, has_time, &source_name.value);
        if aggregation == Aggregation::CountDistinctDays && !has_time {
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
            Some(column_name) => self.fact_column(source, &column_name.value, column_name.span),
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
        // A boolean is 1 or 0: its sum counts the true facts, its average is their share.
        if matches!(aggregation, Aggregation::Sum | Aggregation::Avg)
            && !matches!(
                column_type,
                ValueType::Unknown | ValueType::Number | ValueType::Integer | ValueType::Boolean
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
            Aggregation::Count | Aggregation::CountDistinct | Aggregation::CountDistinctDays => {
                ValueType::Integer
            }
            Aggregation::Sum | Aggregation::Avg => ValueType::Number,
            Aggregation::Min | Aggregation::Max | Aggregation::Nth { .. } => match column_type {
                ValueType::Unknown => declared_type.unwrap_or(ValueType::Unknown),
                other => other,
            },
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
            if let SourceRole::Facts {
                time: Some(_),
                time_type,
                ..
            } = &source_ref.role
            {
                return Some(FactColumn::Time(*time_type));
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
                    stored: column.stored,
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
}
