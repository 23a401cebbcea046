//! Aggregates: an attribute's aggregate over its facts, the ranks ordered facts read, and
//! KPI aggregates over a report row's members, with percentiles where they are windows.

use crate::render::alias::Alias;
use minijinja::Value;

use crate::dialect::PercentileStyle;
use crate::error::Error;
use crate::ir::{
    Aggregation, AttributeId, AttributeKind, FactColumn, KpiAggregation, KpiId, KpiKind, KpiType,
    SourceRole, ValueType,
};

use super::{Sql, number};

fn not_an_aggregate(name: &str) -> Error {
    Error::Render(format!("attribute `{name}` is not an aggregate over facts"))
}

/// The column numbering an ordered-fact attribute's facts.
fn rank_alias(attribute: &str) -> String {
    format!("segc_rank_{attribute}")
}

impl<'a, 's> Sql<'a, 's> {
    /// Which of its source's facts an aggregate attribute reads (its window and `where`), as
    /// a condition over the pass's rows (alias `f`); `None` when it reads every fact the pass
    /// reads. `signup` is the user's sign-up instant, for windows after sign-up.
    fn fact_condition(&mut self, id: AttributeId, signup: &str) -> Result<Option<String>, Error> {
        let plan = self.plan;
        let attribute = plan.project.attribute(id);
        let AttributeKind::Aggregate {
            source,
            window,
            filter,
            ..
        } = &attribute.kind
        else {
            return Err(not_an_aggregate(&attribute.name));
        };
        let mut conditions = Vec::new();
        if let Some(time) = plan.time_column(*source) {
            let time = format!("{}.{}", self.alias(Alias::Facts), self.q(time));
            conditions.extend(self.window_conditions(&time, *window, signup)?);
        }
        if let Some(filter) = filter {
            conditions.push(self.condition_in(filter, Alias::Facts, Some(*source))?);
        }
        Ok((!conditions.is_empty()).then(|| conditions.join(" AND ")))
    }

    /// One attribute's aggregate inside the pass over its fact source. `signup` is the user's
    /// sign-up instant there; ordered facts read the rank column of [`Sql::fact_rank`].
    pub(in crate::render) fn fact_aggregate(
        &mut self,
        id: AttributeId,
        signup: &str,
    ) -> Result<String, Error> {
        let plan = self.plan;
        let attribute = plan.project.attribute(id);
        let AttributeKind::Aggregate {
            source,
            aggregation,
            column,
            ..
        } = &attribute.kind
        else {
            return Err(not_an_aggregate(&attribute.name));
        };
        let value = match (aggregation, column) {
            (Aggregation::CountDistinctDays, _) => {
                let time = plan
                    .time_column(*source)
                    .map(|time| format!("{}.{}", self.alias(Alias::Facts), self.q(time)));
                self.local_date(time.as_deref().unwrap_or("NULL"))?
            }
            (_, Some(column)) => {
                let value = self.fact_column(*source, column);
                if column.value_type() == ValueType::Boolean
                    || attribute.value_type == ValueType::Boolean
                {
                    // Summed, averaged, or kept by min, max and the ordered facts as 1/0.
                    self.boolean_flag(&value)
                } else {
                    value
                }
            }
            (_, None) => "1".into(),
        };
        if let Aggregation::Nth { n, .. } = aggregation {
            // The rank is NULL for facts outside the window or filter.
            let rank = format!(
                "{}.{}",
                self.alias(Alias::Facts),
                self.q(&rank_alias(&attribute.name))
            );
            return Ok(format!("MAX(CASE WHEN {rank} = {n} THEN {value} END)"));
        }
        let condition = self.fact_condition(id, signup)?;
        let guarded = |value: &str| match &condition {
            Some(condition) => format!("CASE WHEN {condition} THEN {value} END"),
            None => value.to_string(),
        };
        Ok(match aggregation {
            Aggregation::Count if column.is_none() && condition.is_none() => {
                self.call("count_rows", &[])?
            }
            Aggregation::Count => self.call("count", &[Value::from(guarded(&value))])?,
            Aggregation::CountDistinct | Aggregation::CountDistinctDays => {
                let string = *aggregation == Aggregation::CountDistinct
                    && column.as_ref().map(FactColumn::value_type) == Some(ValueType::String);
                let value = self.exact(value, string)?;
                self.call("count_distinct", &[Value::from(guarded(&value))])?
            }
            Aggregation::Sum => format!("SUM({})", self.cast(guarded(&value), "double")?),
            Aggregation::Avg => format!("AVG({})", self.cast(guarded(&value), "double")?),
            Aggregation::Min | Aggregation::Max => {
                let string = attribute.value_type == ValueType::String;
                let value = self.exact(value, string)?;
                let function = if *aggregation == Aggregation::Min {
                    "MIN"
                } else {
                    "MAX"
                };
                self.exact_value(format!("{function}({})", guarded(&value)), string)?
            }
            Aggregation::Nth { .. } => format!("MAX({})", guarded(&value)),
        })
    }

    /// For an ordered-fact attribute (`first`, `last`, `nth`): the column numbering each
    /// user's facts that it reads, 1, 2, … in time order (latest first for `last`), NULL for
    /// the others. Facts at the same instant are ordered by the value, NULLs last, so every
    /// warehouse picks the same value. Returns the expression and its alias.
    pub(in crate::render) fn fact_rank(
        &mut self,
        id: AttributeId,
        signup: &str,
    ) -> Result<(String, String), Error> {
        let plan = self.plan;
        let attribute = plan.project.attribute(id);
        let AttributeKind::Aggregate {
            source,
            aggregation: Aggregation::Nth { from_end, .. },
            column,
            ..
        } = &attribute.kind
        else {
            return Err(not_an_aggregate(&attribute.name));
        };
        let direction = if *from_end { "DESC" } else { "ASC" };
        let SourceRole::Facts { user_key, time } = &plan.project.source(*source).role else {
            return Err(not_an_aggregate(&attribute.name));
        };
        let f = self.alias(Alias::Facts);
        let mut partition: Vec<String> = self.period_key(self.spine_alias).into_iter().collect();
        partition.push(format!("{f}.{}", self.q(user_key)));
        let mut order = Vec::new();
        if let Some(time) = time {
            order.push(format!("{f}.{} {direction}", self.q(time)));
        }
        if let Some(column) = column.as_ref().filter(|c| **c != FactColumn::Time) {
            let value = self.fact_column(*source, column);
            order.push(format!("CASE WHEN {value} IS NULL THEN 1 ELSE 0 END"));
            let value = self.exact(value, attribute.value_type == ValueType::String)?;
            order.push(format!("{value} {direction}"));
        }
        let condition = self.fact_condition(id, signup)?;
        if let Some(condition) = &condition {
            partition.push(format!("CASE WHEN {condition} THEN 1 ELSE 0 END"));
        }
        let rank = self.call(
            "row_number",
            &[
                Value::from(partition.join(", ")),
                Value::from(order.join(", ")),
            ],
        )?;
        let rank = match condition {
            Some(condition) => format!("CASE WHEN {condition} THEN {rank} END"),
            None => rank,
        };
        Ok((rank, self.q(&rank_alias(&attribute.name))))
    }

    /// An aggregate KPI over the members of one report row (alias `m`).
    pub(in crate::render) fn kpi_aggregate(&mut self, id: KpiId) -> Result<String, Error> {
        let kpi = self.plan.project.kpi(id);
        let KpiKind::Aggregate {
            aggregation,
            of,
            filter,
        } = &kpi.kind
        else {
            return Err(Error::Render(format!(
                "KPI `{}` is not an aggregate",
                kpi.name
            )));
        };
        let condition = match filter {
            Some(filter) => Some(self.condition(filter, Alias::Members)?),
            None => None,
        };
        let value = match of {
            Some(attribute) => format!(
                "{}.{}",
                self.alias(Alias::Members),
                self.q(&self.plan.project.attribute(*attribute).name)
            ),
            None => "1".into(),
        };
        let guarded = match &condition {
            Some(condition) => format!("CASE WHEN {condition} THEN {value} END"),
            None => value.clone(),
        };
        // Strings are ordered and told apart exactly (see the `exact` macro).
        let string =
            of.is_some_and(|id| self.plan.project.attribute(id).value_type == ValueType::String);
        let compared = self.exact(guarded.clone(), string)?;
        Ok(match aggregation {
            KpiAggregation::Count if of.is_none() && condition.is_none() => {
                self.call("count_rows", &[])?
            }
            KpiAggregation::Count => self.call("count", &[Value::from(guarded)])?,
            KpiAggregation::CountDistinct => {
                self.call("count_distinct", &[Value::from(compared)])?
            }
            KpiAggregation::Sum => format!("SUM({})", self.cast(guarded, "double")?),
            KpiAggregation::Avg => format!("AVG({})", self.cast(guarded, "double")?),
            KpiAggregation::Min => self.exact_value(format!("MIN({compared})"), string)?,
            KpiAggregation::Max => self.exact_value(format!("MAX({compared})"), string)?,
            KpiAggregation::Median | KpiAggregation::Percentile(_)
                if self.dialect.capabilities.percentile != PercentileStyle::Aggregate =>
            {
                let p = match aggregation {
                    KpiAggregation::Percentile(p) => *p,
                    _ => 0.5,
                };
                self.reduce_percentile(&kpi.name, p)
            }
            KpiAggregation::Median => {
                let value = self.cast(guarded, "double")?;
                self.call("median", &[Value::from(value)])?
            }
            KpiAggregation::Percentile(p) => {
                let value = self.cast(guarded, "double")?;
                self.call("percentile", &[Value::from(value), Value::from(number(*p))])?
            }
        })
    }

    /// For dialects whose percentiles are not aggregates: the window columns a median or
    /// percentile KPI adds to the member rows (alias `m`, partitioned by report row).
    pub(in crate::render) fn percentile_columns(
        &mut self,
        id: KpiId,
    ) -> Result<Vec<(String, String)>, Error> {
        let kpi = self.plan.project.kpi(id);
        let KpiKind::Aggregate {
            aggregation,
            of: Some(of),
            filter,
        } = &kpi.kind
        else {
            return Ok(Vec::new());
        };
        let p = match aggregation {
            KpiAggregation::Median => 0.5,
            KpiAggregation::Percentile(p) => *p,
            _ => return Ok(Vec::new()),
        };
        let value = format!(
            "{}.{}",
            self.alias(Alias::Members),
            self.q(&self.plan.project.attribute(*of).name)
        );
        let value = match filter {
            Some(filter) => format!(
                "CASE WHEN {} THEN {value} END",
                self.condition(filter, Alias::Members)?
            ),
            None => value,
        };
        let value = self.cast(value, "double")?;
        let row = format!("{}.{}", self.alias(Alias::Segments), self.q("segc_row"));
        let row = match self.period_key(Alias::Members) {
            Some(period) => format!("{period}, {row}"),
            None => row,
        };
        let dialect = self.dialect;
        let name = kpi.name.clone();
        let alias = move |part: &str| dialect.quote_identifier(&format!("segc_{part}_{name}"));
        Ok(match self.dialect.capabilities.percentile {
            PercentileStyle::Aggregate => Vec::new(),
            PercentileStyle::Window => {
                let sql = self.call(
                    "percentile_window",
                    &[Value::from(value), Value::from(number(p)), Value::from(row)],
                )?;
                vec![(sql, alias("pct"))]
            }
            PercentileStyle::Ranked => {
                // NULLs rank in their own partition, so ranks 1..n are the non-NULL values.
                let rank = format!(
                    "ROW_NUMBER() OVER (PARTITION BY {row}, CASE WHEN {value} IS NULL THEN 1 ELSE 0 END ORDER BY {value})"
                );
                let count = format!(
                    "{} OVER (PARTITION BY {row})",
                    self.call("count", &[Value::from(value.clone())])?
                );
                vec![
                    (value, alias("value")),
                    (rank, alias("rank")),
                    (count, alias("count")),
                ]
            }
        })
    }

    /// Reduces the window columns of a median or percentile to one value per report row.
    fn reduce_percentile(&mut self, kpi: &str, p: f64) -> String {
        let column = |part: &str| {
            format!(
                "{}.{}",
                self.alias(Alias::Members),
                self.q(&format!("segc_{part}_{kpi}"))
            )
        };
        match self.dialect.capabilities.percentile {
            PercentileStyle::Ranked => {
                // Continuous percentile: position h = (n - 1) p between ranks floor(h)+1 and
                // ceil(h)+1, interpolated by the fraction of h.
                let (value, rank, count) = (column("value"), column("rank"), column("count"));
                let position = format!("(({count} - 1) * {})", number(p));
                let low = format!("MAX(CASE WHEN {rank} = FLOOR({position}) + 1 THEN {value} END)");
                let high =
                    format!("MAX(CASE WHEN {rank} = CEILING({position}) + 1 THEN {value} END)");
                let fraction = format!("(MAX({position}) - FLOOR(MAX({position})))");
                format!("{low} + {fraction} * ({high} - {low})")
            }
            _ => format!("MAX({})", column("pct")),
        }
    }

    /// A KPI's final value in the outer SELECT (aliases `s` for the row list, `k` for the
    /// aggregates): counts of empty rows are 0, ratios divide, shares divide by `all_users`.
    pub(in crate::render) fn kpi_output(&mut self, id: KpiId) -> Result<String, Error> {
        let kpi = self.plan.project.kpi(id);
        Ok(match &kpi.kind {
            KpiKind::Aggregate { .. } => {
                let column = format!("{}.{}", self.alias(Alias::Kpis), self.q(&kpi.name));
                if kpi.value_type == KpiType::Integer {
                    format!("COALESCE({column}, 0)")
                } else {
                    column
                }
            }
            KpiKind::Ratio(numerator, denominator) => {
                let (numerator, denominator) = (*numerator, *denominator);
                let a = self.kpi_output(numerator)?;
                let b = self.kpi_output(denominator)?;
                self.call("divide", &[Value::from(a), Value::from(b)])?
            }
            KpiKind::ShareOfTotal(total) => {
                let total = *total;
                let value = self.kpi_output(total)?;
                let partition = self
                    .period_key(self.spine_alias)
                    .map(|period| format!("PARTITION BY {period}"))
                    .unwrap_or_default();
                let all_users = format!(
                    "MAX(CASE WHEN {}.{} = 0 THEN {value} END) OVER ({partition})",
                    self.alias(Alias::Segments),
                    self.q("segc_row")
                );
                self.call("divide", &[Value::from(value), Value::from(all_users)])?
            }
        })
    }
}
