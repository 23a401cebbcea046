//! Segments (hierarchy, `in_segment` cycles) and KPIs (kinds, references, formats).

use std::collections::HashMap;

use crate::error::{Span, suggest};
use crate::ir::{
    Condition, Format, Kpi, KpiAggregation, KpiId, KpiKind, KpiType, Segment, SegmentId, ValueType,
};

use super::conditions::Scope;
use super::{Validator, check_name};

/// Names a KPI cannot take: they are keys of every row in JSON output.
const RESERVED_KPI_NAMES: &[&str] = &["segment", "parent", "label", "depth"];
const KPI_AGGREGATIONS: &[&str] = &[
    "count",
    "count_distinct",
    "sum",
    "avg",
    "min",
    "max",
    "median",
    "percentile",
];
const FORMATS: &[&str] = &["number", "integer", "percent", "currency"];

impl Validator<'_> {
    pub(super) fn read_segments(&mut self) {
        let specs = &self.files.definitions.segments;
        let mut names: HashMap<String, SegmentId> = HashMap::new();
        let mut accepted = Vec::new();
        for spec in specs {
            if !check_name(&spec.name, "segment", &mut self.diagnostics) {
                continue;
            }
            if spec.name.value == "all_users" {
                self.error(
                    "`all_users` is the built-in row of every user; pick another segment name",
                    spec.name.span,
                );
                continue;
            }
            if names.contains_key(&spec.name.value) {
                self.error(
                    format!("duplicate segment `{}`", spec.name.value),
                    spec.name.span,
                );
                continue;
            }
            names.insert(spec.name.value.clone(), SegmentId(accepted.len()));
            accepted.push(spec);
        }
        let mut references: Vec<Vec<(SegmentId, Span)>> = Vec::new();
        for spec in &accepted {
            let parent = spec
                .parent
                .as_ref()
                .and_then(|parent| match names.get(&parent.value) {
                    Some(id) => Some(*id),
                    None => {
                        let hint = suggest(&parent.value, names.keys().map(String::as_str));
                        self.error_with_hint(
                            format!("parent segment `{}` does not exist", parent.value),
                            parent.span,
                            hint,
                        );
                        None
                    }
                });
            let mut segment_references = Vec::new();
            let condition = self.resolve_condition(
                &spec.condition,
                Scope::Members {
                    segment_names: &names,
                },
                &mut segment_references,
            );
            references.push(segment_references);
            self.segments.push(Segment {
                name: spec.name.value.clone(),
                label: spec
                    .label
                    .as_ref()
                    .map(|l| l.value.clone())
                    .unwrap_or_else(|| spec.name.value.clone()),
                parent,
                visible: spec.visible.as_ref().map(|v| v.value).unwrap_or(true),
                condition,
                exclusive: None,
                origin: self.origin(spec.span),
            });
        }
        // Parent chains must end.
        for (index, spec) in accepted.iter().enumerate() {
            let mut seen = vec![SegmentId(index)];
            let mut current = self.segments[index].parent;
            while let Some(parent) = current {
                if seen.contains(&parent) {
                    if parent == SegmentId(index) {
                        let span = spec.parent.as_ref().map(|p| p.span).unwrap_or(spec.span);
                        self.error(
                            format!(
                                "segment `{}` is its own ancestor through `parent`",
                                spec.name.value
                            ),
                            span,
                        );
                        self.segments[index].parent = None;
                    }
                    break;
                }
                seen.push(parent);
                current = self.segments[parent.0].parent;
            }
        }
        self.apply_exclusive_sets(&accepted, &mut references);
        self.report_segment_cycles(&references);
    }

    /// `exclusive` + `priority`: a segment's members are the users who meet its conditions
    /// and none of the conditions of the segments of its set with a lower priority.
    fn apply_exclusive_sets(
        &mut self,
        accepted: &[&crate::spec::SegmentSpec],
        references: &mut [Vec<(SegmentId, Span)>],
    ) {
        // Per set: (priority, segment index, span of the priority).
        type Members = Vec<(u32, usize, Span)>;
        let mut sets: Vec<(String, Members)> = Vec::new();
        for (index, spec) in accepted.iter().enumerate() {
            match (&spec.exclusive, &spec.priority) {
                (Some(set), Some(priority)) => {
                    let Ok(number) = priority.value.parse::<u32>() else {
                        self.error(
                            format!(
                                "`priority` must be a whole number (1 is checked first), found `{}`",
                                priority.value
                            ),
                            priority.span,
                        );
                        continue;
                    };
                    match sets.iter_mut().find(|(name, _)| *name == set.value) {
                        Some((_, members)) => members.push((number, index, priority.span)),
                        None => sets.push((set.value.clone(), vec![(number, index, priority.span)])),
                    }
                }
                (Some(set), None) => self.error_with_hint(
                    format!(
                        "segment `{}` is in the exclusive set `{}` but has no `priority`",
                        spec.name.value, set.value
                    ),
                    set.span,
                    Some("add `priority: N`; the segment with the lowest number wins".into()),
                ),
                (None, Some(priority)) => self.error_with_hint(
                    format!(
                        "`priority` orders the segments of an exclusive set, and segment `{}` is in none",
                        spec.name.value
                    ),
                    priority.span,
                    Some("add `exclusive: <set name>` to this segment and its alternatives".into()),
                ),
                (None, None) => {}
            }
        }
        for (set, mut members) in sets {
            members.sort_by_key(|(priority, index, _)| (*priority, *index));
            for pair in members.windows(2) {
                if pair[0].0 == pair[1].0 {
                    self.error(
                        format!(
                            "segments `{}` and `{}` of the exclusive set `{set}` share priority {}",
                            self.segments[pair[0].1].name, self.segments[pair[1].1].name, pair[0].0
                        ),
                        pair[1].2,
                    );
                }
            }
            let own: Vec<Condition> = members
                .iter()
                .map(|(_, index, _)| self.segments[*index].condition.clone())
                .collect();
            for (position, (priority, index, span)) in members.iter().enumerate() {
                let before: Vec<SegmentId> = members[..position]
                    .iter()
                    .map(|(_, i, _)| SegmentId(*i))
                    .collect();
                let exclusion = Condition::Not(Box::new(Condition::Any(own[..position].to_vec())));
                if position > 0 {
                    let segment = &mut self.segments[*index];
                    segment.condition =
                        Condition::All(vec![segment.condition.clone(), exclusion.clone()]);
                    // Cycles through the exclusion are cycles too.
                    references[*index].extend(before.iter().map(|b| (*b, *span)));
                }
                self.segments[*index].exclusive = Some(crate::ir::Exclusive {
                    set: set.clone(),
                    priority: *priority,
                    before,
                    exclusion,
                });
            }
        }
    }

    fn report_segment_cycles(&mut self, references: &[Vec<(SegmentId, Span)>]) {
        // A segment is in a cycle when it can reach itself through `in_segment`.
        for (start, edges) in references.iter().enumerate() {
            for (target, span) in edges {
                let mut stack = vec![*target];
                let mut seen = vec![false; references.len()];
                let mut path_found = false;
                while let Some(current) = stack.pop() {
                    if current.0 == start {
                        path_found = true;
                        break;
                    }
                    if std::mem::replace(&mut seen[current.0], true) {
                        continue;
                    }
                    stack.extend(references[current.0].iter().map(|(t, _)| *t));
                }
                if path_found {
                    let message = if target.0 == start {
                        format!(
                            "segment `{}` refers to itself with `in_segment`",
                            self.segments[start].name
                        )
                    } else {
                        format!(
                            "`in_segment` cycle: `{}` refers to `{}`, which leads back to `{}`",
                            self.segments[start].name,
                            self.segments[target.0].name,
                            self.segments[start].name
                        )
                    };
                    self.error(message, *span);
                    self.segments[start].condition = crate::ir::Condition::True;
                }
            }
        }
    }

    pub(super) fn read_kpis(&mut self) {
        let specs = &self.files.definitions.kpis;
        let mut names: HashMap<String, KpiId> = HashMap::new();
        let segment_names: HashMap<String, SegmentId> = self
            .segments
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.clone(), SegmentId(i)))
            .collect();
        let mut accepted = Vec::new();
        for spec in specs {
            if !check_name(&spec.name, "KPI", &mut self.diagnostics) {
                continue;
            }
            if RESERVED_KPI_NAMES.contains(&spec.name.value.as_str()) {
                self.error(
                    format!(
                        "`{}` is a column of every report row; pick another KPI name",
                        spec.name.value
                    ),
                    spec.name.span,
                );
                continue;
            }
            if names.contains_key(&spec.name.value) {
                self.error(
                    format!("duplicate KPI `{}`", spec.name.value),
                    spec.name.span,
                );
                continue;
            }
            names.insert(spec.name.value.clone(), KpiId(accepted.len()));
            accepted.push(spec);
        }
        let lookup = |validator: &mut Self, name: &crate::spec::Spanned<String>| -> Option<KpiId> {
            match names.get(&name.value) {
                Some(id) => Some(*id),
                None => {
                    let hint = suggest(&name.value, names.keys().map(String::as_str));
                    validator.error_with_hint(
                        format!("unknown KPI `{}`", name.value),
                        name.span,
                        hint,
                    );
                    None
                }
            }
        };
        for spec in &accepted {
            let what = format!("KPI `{}`", spec.name.value);
            let kinds = [
                spec.aggregation.is_some(),
                spec.ratio.is_some(),
                spec.share_of_total.is_some(),
            ];
            if kinds.iter().filter(|k| **k).count() != 1 {
                self.error_with_hint(
                    format!("{what} needs exactly one of `agg`, `ratio` and `share_of_total`"),
                    spec.name.span,
                    Some("e.g. `{ name: people, agg: count }` or `{ name: pct_active, ratio: [active_people, people] }`".into()),
                );
            }
            let mut value_type = KpiType::Double;
            let mut default_format = Format::Number;
            let kind = if let Some(aggregation_text) = &spec.aggregation {
                let aggregation = match aggregation_text.value.as_str() {
                    "count" => Some(KpiAggregation::Count),
                    "count_distinct" => Some(KpiAggregation::CountDistinct),
                    "sum" => Some(KpiAggregation::Sum),
                    "avg" => Some(KpiAggregation::Avg),
                    "min" => Some(KpiAggregation::Min),
                    "max" => Some(KpiAggregation::Max),
                    "median" => Some(KpiAggregation::Median),
                    "percentile" => match &spec.p {
                        Some(p) if (0.0..=1.0).contains(&p.value) => {
                            Some(KpiAggregation::Percentile(p.value))
                        }
                        Some(p) => {
                            self.error_with_hint(
                                format!("`p` must be between 0 and 1, found {}", p.value),
                                p.span,
                                Some("the 90th percentile is `p: 0.9`".into()),
                            );
                            None
                        }
                        None => {
                            self.error(
                                format!("{what}: `percentile` needs `p` (e.g. `p: 0.9`)"),
                                aggregation_text.span,
                            );
                            None
                        }
                    },
                    other => {
                        let hint = suggest(other, KPI_AGGREGATIONS.iter().copied())
                            .or_else(|| Some(format!("one of: {}", KPI_AGGREGATIONS.join(", "))));
                        self.error_with_hint(
                            format!("unknown KPI aggregation `{other}`"),
                            aggregation_text.span,
                            hint,
                        );
                        None
                    }
                };
                let of = spec
                    .of
                    .as_ref()
                    .and_then(|of| match self.attribute_by_name(&of.value) {
                        Some(id) => Some(id),
                        None => {
                            let hint = self.attribute_suggestion(&of.value);
                            self.error_with_hint(
                                format!("unknown attribute `{}` in `of`", of.value),
                                of.span,
                                hint,
                            );
                            None
                        }
                    });
                if spec.of.is_none() && aggregation.is_some_and(|a| a != KpiAggregation::Count) {
                    self.error(
                        format!(
                            "{what}: `{}` needs `of: <attribute>`",
                            aggregation_text.value
                        ),
                        aggregation_text.span,
                    );
                }
                let of_type = of
                    .map(|id| self.attributes[id.0].value_type)
                    .unwrap_or(ValueType::Unknown);
                if let Some(aggregation) = aggregation {
                    let numeric_only = matches!(
                        aggregation,
                        KpiAggregation::Sum
                            | KpiAggregation::Avg
                            | KpiAggregation::Median
                            | KpiAggregation::Percentile(_)
                    );
                    if numeric_only
                        && !matches!(
                            of_type,
                            ValueType::Unknown
                                | ValueType::Number
                                | ValueType::Integer
                                | ValueType::Boolean
                        )
                    {
                        let span = spec
                            .of
                            .as_ref()
                            .map(|o| o.span)
                            .unwrap_or(aggregation_text.span);
                        self.error(
                            format!(
                                "{what}: `{}` needs a numeric attribute, and `{}` is a {}",
                                aggregation_text.value,
                                spec.of.as_ref().map(|o| o.value.as_str()).unwrap_or(""),
                                of_type.name()
                            ),
                            span,
                        );
                    }
                    (value_type, default_format) = match aggregation {
                        KpiAggregation::Count | KpiAggregation::CountDistinct => {
                            (KpiType::Integer, Format::Integer)
                        }
                        KpiAggregation::Min | KpiAggregation::Max => match of_type {
                            // Booleans are 1/0 in the warehouse: max is "any", min "all".
                            ValueType::Boolean => (KpiType::Integer, Format::Integer),
                            ValueType::Date => (KpiType::Date, Format::Number),
                            ValueType::Timestamp => (KpiType::Timestamp, Format::Number),
                            ValueType::String => (KpiType::String, Format::Number),
                            ValueType::Integer => (KpiType::Double, Format::Integer),
                            _ => (KpiType::Double, Format::Number),
                        },
                        // A sum of whole numbers is shown as one (it is taken over doubles).
                        KpiAggregation::Sum
                            if matches!(of_type, ValueType::Integer | ValueType::Boolean) =>
                        {
                            (KpiType::Double, Format::Integer)
                        }
                        _ => (KpiType::Double, Format::Number),
                    };
                }
                let filter = spec.filter.as_ref().map(|condition| {
                    self.resolve_condition(
                        condition,
                        Scope::Members {
                            segment_names: &segment_names,
                        },
                        &mut Vec::new(),
                    )
                });
                aggregation.map(|aggregation| KpiKind::Aggregate {
                    aggregation,
                    of,
                    filter,
                })
            } else if let Some((numerator, denominator)) = &spec.ratio {
                let a = lookup(self, numerator);
                let b = lookup(self, denominator);
                match (a, b) {
                    (Some(a), Some(b)) => Some(KpiKind::Ratio(a, b)),
                    _ => None,
                }
            } else if let Some(total) = &spec.share_of_total {
                lookup(self, total).map(KpiKind::ShareOfTotal)
            } else {
                None
            };
            let format = match &spec.format {
                Some(text) => match text.value.as_str() {
                    "number" => Format::Number,
                    "integer" => Format::Integer,
                    "percent" => Format::Percent,
                    "currency" => Format::Currency,
                    other => {
                        let hint = suggest(other, FORMATS.iter().copied())
                            .or_else(|| Some(format!("one of: {}", FORMATS.join(", "))));
                        self.error_with_hint(format!("unknown format `{other}`"), text.span, hint);
                        default_format
                    }
                },
                None => default_format,
            };
            self.kpis.push(Kpi {
                name: spec.name.value.clone(),
                label: spec
                    .label
                    .as_ref()
                    .map(|l| l.value.clone())
                    .unwrap_or_else(|| spec.name.value.clone()),
                kind: kind.unwrap_or(KpiKind::Aggregate {
                    aggregation: KpiAggregation::Count,
                    of: None,
                    filter: None,
                }),
                format,
                value_type,
                origin: self.origin(spec.span),
            });
        }
        // Ratios and shares must not refer to themselves.
        for (index, spec) in accepted.iter().enumerate() {
            let mut stack = kpi_references(&self.kpis[index].kind);
            let mut seen = vec![false; self.kpis.len()];
            while let Some(current) = stack.pop() {
                if current.0 == index {
                    self.error(
                        format!(
                            "KPI `{}` depends on itself through `ratio` or `share_of_total`",
                            spec.name.value
                        ),
                        spec.name.span,
                    );
                    self.kpis[index].kind = KpiKind::Aggregate {
                        aggregation: KpiAggregation::Count,
                        of: None,
                        filter: None,
                    };
                    break;
                }
                if std::mem::replace(&mut seen[current.0], true) {
                    continue;
                }
                stack.extend(kpi_references(&self.kpis[current.0].kind));
            }
        }
    }
}

pub(crate) fn kpi_references(kind: &KpiKind) -> Vec<KpiId> {
    match kind {
        KpiKind::Aggregate { .. } => Vec::new(),
        KpiKind::Ratio(a, b) => vec![*a, *b],
        KpiKind::ShareOfTotal(a) => vec![*a],
    }
}
