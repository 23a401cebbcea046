//! KPIs: their kinds (aggregates, ratios, shares), references, types and formats.

use std::collections::HashMap;

use crate::error::suggest;
use crate::ir::{Format, Kpi, KpiAggregation, KpiId, KpiKind, KpiType, SegmentId, ValueType};
use crate::spec::KpiSpec;

use super::conditions::Scope;
use super::{Validator, check_name};

/// Names a KPI cannot take, in any case: they are keys of every row in JSON output, or
/// columns of the CSV outputs (a report's days, a series' period, the long layout's `kpi`,
/// a history run's `definition_changed`), and `segment` and `parent` also columns of the
/// compiled statement's result, whose names DuckDB, BigQuery and SQL Server compare ignoring
/// case.
const RESERVED_KPI_NAMES: &[&str] = &[
    "segment",
    "parent",
    "label",
    "depth",
    "as_of",
    "period_start",
    "period_end",
    "period",
    "kpi",
    "definition_changed",
];

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

impl<'a> Validator<'a> {
    pub(super) fn read_kpis(&mut self) {
        let (accepted, names) = self.accept_kpis();
        let segment_names: HashMap<String, SegmentId> = self
            .segments
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.clone(), SegmentId(i)))
            .collect();
        for spec in &accepted {
            self.read_kpi(spec, &names, &segment_names);
        }
        self.check_kpi_cycles(&accepted);
        self.check_shares_of_shares(&accepted);
    }

    /// The KPI declarations whose names are valid and new, and their ids by name.
    fn accept_kpis(&mut self) -> (Vec<&'a KpiSpec>, HashMap<String, KpiId>) {
        let specs = &self.files.definitions.kpis;
        let mut names: HashMap<String, KpiId> = HashMap::new();
        let mut columns = super::ColumnNames::new("KPI");
        let mut accepted = Vec::new();
        for spec in specs {
            if !check_name(&spec.name, "KPI", &mut self.diagnostics) {
                continue;
            }
            if RESERVED_KPI_NAMES
                .iter()
                .any(|reserved| reserved.eq_ignore_ascii_case(&spec.name.value))
            {
                self.error(
                    format!(
                        "`{}` is a column segc writes beside the KPIs (in JSON rows or CSV); pick another KPI name",
                        spec.name.value
                    ),
                    spec.name.span,
                );
                continue;
            }
            let lower = spec.name.value.to_ascii_lowercase();
            // A KPI named so could take the place of another's compare column.
            if let Some(suffix) = crate::plan::output::COMPARE_SUFFIXES
                .iter()
                .find(|suffix| lower.ends_with(*suffix))
            {
                self.error(
                    format!(
                        "KPI names may not end in `{suffix}`: `--compare` names its columns so (`<kpi>__prior`, `<kpi>__change`, `<kpi>__change_pct`)"
                    ),
                    spec.name.span,
                );
                continue;
            }
            let taken = names.contains_key(&spec.name.value);
            if !columns.admit(&spec.name, taken, &mut self.diagnostics) {
                continue;
            }
            names.insert(spec.name.value.clone(), KpiId(accepted.len()));
            accepted.push(spec);
        }
        (accepted, names)
    }

    /// The KPI a `ratio` or `share_of_total` names.
    fn kpi_named(
        &mut self,
        names: &HashMap<String, KpiId>,
        name: &crate::spec::Spanned<String>,
    ) -> Option<KpiId> {
        match names.get(&name.value) {
            Some(id) => Some(*id),
            None => {
                let hint = suggest(&name.value, names.keys().map(String::as_str));
                self.error_with_hint(format!("unknown KPI `{}`", name.value), name.span, hint);
                None
            }
        }
    }

    /// Resolves one KPI declaration and adds it.
    fn read_kpi(
        &mut self,
        spec: &KpiSpec,
        names: &HashMap<String, KpiId>,
        segment_names: &HashMap<String, SegmentId>,
    ) {
        let what = format!("KPI `{}`", spec.name.value);
        self.user = what.clone();
        let kinds = [
            spec.aggregation.is_some(),
            spec.ratio.is_some(),
            spec.share_of_total.is_some(),
            spec.flow.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            self.error_with_hint(
                format!(
                    "{what} needs exactly one of `agg`, `ratio`, `share_of_total` and `flow`"
                ),
                spec.name.span,
                Some("e.g. `{ name: people, agg: count }` or `{ name: pct_active, ratio: [active_people, people] }`".into()),
            );
        }
        let (kind, value_type, default_format) = if let Some(aggregation_text) = &spec.aggregation {
            self.kpi_aggregate(spec, aggregation_text, &what, segment_names)
        } else if let Some(flow) = &spec.flow {
            let known = crate::ir::Flow::ALL;
            let kind = match known.iter().find(|(name, _)| *name == flow.value) {
                Some((_, flow)) => Some(KpiKind::Flow(*flow)),
                None => {
                    let names = known.iter().map(|(name, _)| *name);
                    let hint = suggest(&flow.value, names.clone()).or_else(|| {
                        Some(format!("one of: {}", names.collect::<Vec<_>>().join(", ")))
                    });
                    self.error_with_hint(format!("unknown flow `{}`", flow.value), flow.span, hint);
                    None
                }
            };
            (kind, KpiType::Integer, Format::Integer)
        } else {
            let kind = if let Some((numerator, denominator)) = &spec.ratio {
                let a = self.kpi_named(names, numerator);
                let b = self.kpi_named(names, denominator);
                match (a, b) {
                    (Some(a), Some(b)) => Some(KpiKind::Ratio(a, b)),
                    _ => None,
                }
            } else if let Some(total) = &spec.share_of_total {
                self.kpi_named(names, total).map(KpiKind::ShareOfTotal)
            } else {
                None
            };
            (kind, KpiType::Double, Format::Number)
        };
        let format = match &spec.format {
            // A date, a timestamp or a string prints as it is: a number format would be
            // ignored, and the JSON output would call the column a number.
            Some(text) if !matches!(value_type, KpiType::Integer | KpiType::Double) => {
                let kind = match value_type {
                    KpiType::Date => "a date",
                    KpiType::Timestamp => "a timestamp",
                    _ => "a string",
                };
                self.error_with_hint(
                    format!("{what} is {kind}; `format` applies to numbers only"),
                    text.span,
                    Some("remove `format`: the value prints as it is".into()),
                );
                default_format
            }
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
        let timed = self.membership_timing(spec, kind.as_ref(), &what);
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
            timed,
            description: spec.description.as_ref().map(|d| d.value.clone()),
            origin: self.origin(spec.span),
        });
    }

    /// `membership:`: `timed` for a sum, average, minimum or maximum over an attribute that
    /// aggregates a timed fact source over a window of the report's time (not one counted
    /// from sign-up), without a KPI `where`.
    fn membership_timing(&mut self, spec: &KpiSpec, kind: Option<&KpiKind>, what: &str) -> bool {
        let Some(membership) = &spec.membership else {
            return false;
        };
        match membership.value.as_str() {
            "current" => return false,
            "timed" => {}
            other => {
                let hint = suggest(other, ["current", "timed"])
                    .or_else(|| Some("one of: current, timed".into()));
                self.error_with_hint(
                    format!("unknown membership `{other}`"),
                    membership.span,
                    hint,
                );
                return false;
            }
        }
        let attribute = match kind {
            Some(KpiKind::Aggregate {
                aggregation:
                    KpiAggregation::Sum
                    | KpiAggregation::Avg
                    | KpiAggregation::Min
                    | KpiAggregation::Max,
                of: Some(of),
                filter: None,
            }) => Some(*of),
            _ => None,
        };
        let fits = attribute.is_some_and(|of| match &self.attributes[of.0].kind {
            crate::ir::AttributeKind::Aggregate { source, window, .. } => {
                matches!(
                    self.sources[source.0].role,
                    crate::ir::SourceRole::Facts { time: Some(_), .. }
                ) && !matches!(window, crate::ir::Window::AfterSignup { .. })
            }
            _ => false,
        });
        if !fits {
            self.error_with_hint(
                format!(
                    "{what}: `membership: timed` needs `agg: sum`, `avg`, `min` or `max` of an \
                     attribute that aggregates a timed fact source, and no `where`"
                ),
                membership.span,
                Some("e.g. `{ name: revenue_while_member, agg: sum, of: period_spend, membership: timed }` with `period_spend: { source: orders, agg: sum, of: amount, window: period }`".into()),
            );
        }
        fits
    }

    /// `agg:` with `of` and `where`: the KPI, its type and its default format.
    fn kpi_aggregate(
        &mut self,
        spec: &KpiSpec,
        aggregation_text: &crate::spec::Spanned<String>,
        what: &str,
        segment_names: &HashMap<String, SegmentId>,
    ) -> (Option<KpiKind>, KpiType, Format) {
        let mut value_type = KpiType::Double;
        let mut default_format = Format::Number;
        let aggregation = self.kpi_aggregation(spec, aggregation_text, what);
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
            (value_type, default_format) = kpi_type(aggregation, of_type);
        }
        let filter = spec.filter.as_ref().map(|condition| {
            self.resolve_condition(condition, Scope::Members { segment_names }, &mut Vec::new())
        });
        let kind = aggregation.map(|aggregation| KpiKind::Aggregate {
            aggregation,
            of,
            filter,
        });
        (kind, value_type, default_format)
    }

    /// The aggregation `agg:` names (`percentile` with its `p`).
    fn kpi_aggregation(
        &mut self,
        spec: &KpiSpec,
        aggregation_text: &crate::spec::Spanned<String>,
        what: &str,
    ) -> Option<KpiAggregation> {
        match aggregation_text.value.as_str() {
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
        }
    }

    /// Ratios and shares must not refer to themselves.
    fn check_kpi_cycles(&mut self, accepted: &[&KpiSpec]) {
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

impl Validator<'_> {
    /// A share divides a KPI by its all-users value, which the SQL reads across the report's
    /// rows (a window); a share of a KPI that is or uses a share would read one window inside
    /// another, which no warehouse runs. Refused here, where the definition is.
    fn check_shares_of_shares(&mut self, accepted: &[&KpiSpec]) {
        for (index, spec) in accepted.iter().enumerate() {
            let KpiKind::ShareOfTotal(of) = self.kpis[index].kind else {
                continue;
            };
            let mut stack = vec![of];
            let mut seen = vec![false; self.kpis.len()];
            while let Some(current) = stack.pop() {
                if std::mem::replace(&mut seen[current.0], true) {
                    continue;
                }
                if matches!(self.kpis[current.0].kind, KpiKind::ShareOfTotal(_)) {
                    let span = spec
                        .share_of_total
                        .as_ref()
                        .map_or(spec.name.span, |total| total.span);
                    let inner = self.kpis[current.0].name.clone();
                    let message = if current == of {
                        format!(
                            "KPI `{}` is a share of `{inner}`, itself a share of a total",
                            spec.name.value
                        )
                    } else {
                        format!(
                            "KPI `{}` is a share of a KPI that uses the share `{inner}`",
                            spec.name.value
                        )
                    };
                    self.error_with_hint(
                        message,
                        span,
                        Some(format!(
                            "a share divides by the all_users row's value, and a share of a share cannot be computed in one statement; take the share of the KPI `{inner}` divides instead (its all_users value is 1, so the shares are equal)"
                        )),
                    );
                    break;
                }
                stack.extend(kpi_references(&self.kpis[current.0].kind));
            }
        }
    }
}

/// A KPI aggregation's type and default format, from the type of the attribute it reads.
fn kpi_type(aggregation: KpiAggregation, of_type: ValueType) -> (KpiType, Format) {
    match aggregation {
        KpiAggregation::Count | KpiAggregation::CountDistinct => {
            (KpiType::Integer, Format::Integer)
        }
        KpiAggregation::Min | KpiAggregation::Max => match of_type {
            // Booleans are 1/0 in the warehouse: max is "any", min "all".
            ValueType::Boolean => (KpiType::Integer, Format::Integer),
            ValueType::Date => (KpiType::Date, Format::Number),
            ValueType::Timestamp => (KpiType::Timestamp, Format::Number),
            ValueType::String => (KpiType::String, Format::Number),
            // One of the values, exact as its column holds it (a double rounds past 2^53).
            ValueType::Integer => (KpiType::Integer, Format::Integer),
            _ => (KpiType::Double, Format::Number),
        },
        // A sum of whole numbers is shown as one (it is taken over doubles).
        KpiAggregation::Sum if matches!(of_type, ValueType::Integer | ValueType::Boolean) => {
            (KpiType::Double, Format::Integer)
        }
        _ => (KpiType::Double, Format::Number),
    }
}

pub(crate) fn kpi_references(kind: &KpiKind) -> Vec<KpiId> {
    match kind {
        KpiKind::Aggregate { .. } => Vec::new(),
        KpiKind::Ratio(a, b) => vec![*a, *b],
        KpiKind::ShareOfTotal(a) => vec![*a],
        KpiKind::Flow(_) => Vec::new(),
    }
}
