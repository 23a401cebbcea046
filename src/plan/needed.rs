//! The attributes a report needs: those its rows and KPIs read, following formulas,
//! quintiles and `in_segment`.

use std::collections::BTreeSet;

use super::ReportRow;
use crate::ir::{
    AttributeId, AttributeKind, Condition, KpiId, KpiKind, Operand, Project, SegmentId, ValueType,
};

/// Every attribute the report needs, following formulas and `in_segment`, and the formula
/// attributes a KPI aggregates (materialized as columns), in KPI order.
pub(super) fn needed_attributes(
    project: &Project,
    rows: &[ReportRow],
    computed_kpis: &[KpiId],
) -> (BTreeSet<AttributeId>, Vec<AttributeId>) {
    let mut needed: BTreeSet<AttributeId> = BTreeSet::new();
    let mut segments_seen: BTreeSet<SegmentId> = BTreeSet::new();
    let mut formula_columns = Vec::new();
    for row in rows {
        if let Some(segment) = row.segment {
            need_condition(
                project,
                &Condition::InSegment(segment),
                &mut needed,
                &mut segments_seen,
            );
        }
    }
    for kpi in computed_kpis.iter().map(|id| project.kpi(*id)) {
        if let KpiKind::Aggregate { of, filter, .. } = &kpi.kind {
            if let Some(of) = of {
                need_attribute(project, *of, &mut needed);
                if matches!(project.attribute(*of).kind, AttributeKind::Formula(_))
                    && !formula_columns.contains(of)
                {
                    formula_columns.push(*of);
                }
            }
            if let Some(filter) = filter {
                need_condition(project, filter, &mut needed, &mut segments_seen);
            }
        }
    }
    (needed, formula_columns)
}

/// The stored timestamp attributes whose local date a needed formula's `days_between`
/// reads, in attribute order: the attributes stage computes each once per user where the
/// zone changes offset (see render/passes.rs), instead of every reader converting it again.
pub(super) fn local_day_attributes(
    project: &Project,
    needed: &BTreeSet<AttributeId>,
) -> Vec<AttributeId> {
    let read: BTreeSet<AttributeId> = needed
        .iter()
        .filter_map(|id| match &project.attribute(*id).kind {
            AttributeKind::Formula(expr) => Some(expr.days_between_arguments()),
            _ => None,
        })
        .flatten()
        .filter(|id| {
            let attribute = project.attribute(*id);
            attribute.value_type == ValueType::Timestamp
                && !matches!(
                    attribute.kind,
                    AttributeKind::Formula(_) | AttributeKind::Quintile { .. }
                )
        })
        .collect();
    read.into_iter().collect()
}

fn need_attribute(project: &Project, id: AttributeId, needed: &mut BTreeSet<AttributeId>) {
    if !needed.insert(id) {
        return;
    }
    match &project.attribute(id).kind {
        AttributeKind::Formula(expr) => {
            for reference in expr.references() {
                need_attribute(project, reference, needed);
            }
        }
        AttributeKind::Quintile { of, .. } => need_attribute(project, *of, needed),
        _ => {}
    }
}

fn need_condition(
    project: &Project,
    condition: &Condition,
    needed: &mut BTreeSet<AttributeId>,
    segments: &mut BTreeSet<SegmentId>,
) {
    match condition {
        Condition::True => {}
        Condition::All(items) | Condition::Any(items) => {
            for item in items {
                need_condition(project, item, needed, segments);
            }
        }
        Condition::Not(inner) => need_condition(project, inner, needed, segments),
        Condition::InSegment(id) => {
            if segments.insert(*id) {
                need_condition(project, &project.membership(*id), needed, segments);
            }
        }
        Condition::Predicate { operand, .. } => {
            if let Operand::Attribute(id) = operand {
                need_attribute(project, *id, needed);
            }
        }
    }
}
