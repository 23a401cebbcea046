//! What a report shows: its rows (selected segments with their visible descendants), the
//! membership stages that compute them, and its KPIs.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{ALL_USERS, ReportRow};
use crate::error::{BadRequest, Error};
use crate::ir::{KpiId, KpiKind, Project, SegmentId};

/// The KPIs `--kpis` names, in the order named (every KPI, in file order, when it names
/// none), and those plus the KPIs they are computed from, in file order.
pub(super) fn plan_kpis(
    project: &Project,
    names: &[String],
) -> Result<(Vec<KpiId>, Vec<KpiId>), Error> {
    let every = || (0..project.kpis.len()).map(KpiId);
    if names.is_empty() {
        return Ok((every().collect(), every().collect()));
    }
    let mut chosen = Vec::new();
    let mut computed = BTreeSet::new();
    let mut unknown = Vec::new();
    // By name, so that naming many KPIs stays linear.
    let by_name: HashMap<&str, KpiId> = project
        .kpis
        .iter()
        .enumerate()
        .map(|(index, kpi)| (kpi.name.as_str(), KpiId(index)))
        .collect();
    for name in names {
        match by_name.get(name.as_str()) {
            Some(id) => {
                if computed.insert(*id) {
                    chosen.push(*id);
                }
            }
            None => unknown.push(unknown_name(
                name,
                project.kpis.iter().map(|k| k.name.as_str()),
            )),
        }
    }
    if !unknown.is_empty() {
        return Err(Error::Request(BadRequest::UnknownKpis(unknown)));
    }
    let mut pending: Vec<KpiId> = chosen.clone();
    while let Some(id) = pending.pop() {
        let inputs = match project.kpi(id).kind {
            KpiKind::Aggregate { .. } | KpiKind::Flow(_) => vec![],
            KpiKind::Ratio(a, b) => vec![a, b],
            KpiKind::ShareOfTotal(total) => vec![total],
        };
        for input in inputs {
            if computed.insert(input) {
                pending.push(input);
            }
        }
    }
    Ok((chosen, computed.into_iter().collect()))
}

/// A name `--select` or `--kpis` does not know, with the closest known one if any.
fn unknown_name<'n>(name: &str, known: impl Iterator<Item = &'n str>) -> String {
    if name.trim().is_empty() {
        return "an empty name (a stray comma or quotes?)".to_string();
    }
    match crate::error::suggest(name, known) {
        Some(hint) => format!("`{name}` ({hint})"),
        None => format!("`{name}`"),
    }
}

pub(super) fn plan_rows(project: &Project, select: &[String]) -> Result<Vec<ReportRow>, Error> {
    let mut chosen: Vec<SegmentId> = Vec::new();
    if select.is_empty() {
        chosen.extend(
            (0..project.segments.len())
                .map(SegmentId)
                .filter(|id| project.segment(*id).visible),
        );
    } else {
        let mut unknown = Vec::new();
        let mut children: Option<BTreeMap<SegmentId, Vec<SegmentId>>> = None;
        let mut seen: BTreeSet<SegmentId> = BTreeSet::new();
        // By name, so that selecting many segments stays linear.
        let by_name: HashMap<&str, SegmentId> = project
            .segments
            .iter()
            .enumerate()
            .map(|(index, segment)| (segment.name.as_str(), SegmentId(index)))
            .collect();
        for written in select {
            // `name+`: the segment and its drill-downs.
            let (name, descendants) = match written.strip_suffix('+') {
                Some(name) => (name, true),
                None => (written.as_str(), false),
            };
            match by_name.get(name).copied() {
                Some(id) => {
                    if seen.insert(id) {
                        chosen.push(id);
                    }
                    if descendants {
                        let children = children.get_or_insert_with(|| children_of(project));
                        for descendant in visible_descendants(project, children, id) {
                            if seen.insert(descendant) {
                                chosen.push(descendant);
                            }
                        }
                    }
                }
                None if name == ALL_USERS => {}
                None => {
                    // `payng+` is answered with `paying+`.
                    let suffix = if descendants { "+" } else { "" };
                    let known: Vec<String> = project
                        .segments
                        .iter()
                        .map(|s| format!("{}{suffix}", s.name))
                        .collect();
                    unknown.push(unknown_name(written, known.iter().map(String::as_str)));
                }
            }
        }
        if !unknown.is_empty() {
            return Err(Error::Request(BadRequest::UnknownSegments(unknown)));
        }
    }
    // Depth-first in file order: children directly after their parent.
    let mut rows = vec![ReportRow {
        ordinal: 0,
        segment: None,
        depth: 0,
    }];
    // Sets and child lists, and a stack instead of recursion: a project may have many
    // thousands of segments, and long `parent` chains.
    let chosen_set: BTreeSet<SegmentId> = chosen.iter().copied().collect();
    let mut children: BTreeMap<SegmentId, Vec<SegmentId>> = BTreeMap::new();
    let mut roots = Vec::new();
    for id in chosen.iter().copied() {
        match project
            .segment(id)
            .parent
            .filter(|p| chosen_set.contains(p))
        {
            Some(parent) => children.entry(parent).or_default().push(id),
            None => roots.push(id),
        }
    }
    let mut stack: Vec<(SegmentId, usize)> = roots.into_iter().rev().map(|id| (id, 0)).collect();
    while let Some((id, depth)) = stack.pop() {
        rows.push(ReportRow {
            ordinal: rows.len(),
            segment: Some(id),
            depth,
        });
        if let Some(kids) = children.get(&id) {
            stack.extend(kids.iter().rev().map(|kid| (*kid, depth + 1)));
        }
    }
    Ok(rows)
}

/// Each segment's children, in file order.
fn children_of(project: &Project) -> BTreeMap<SegmentId, Vec<SegmentId>> {
    let mut children: BTreeMap<SegmentId, Vec<SegmentId>> = BTreeMap::new();
    for (index, segment) in project.segments.iter().enumerate() {
        if let Some(parent) = segment.parent {
            children.entry(parent).or_default().push(SegmentId(index));
        }
    }
    children
}

/// A segment's visible descendants, depth-first in file order (a hidden one's are included:
/// they drill down from the segment too).
fn visible_descendants(
    project: &Project,
    children: &BTreeMap<SegmentId, Vec<SegmentId>>,
    id: SegmentId,
) -> Vec<SegmentId> {
    let mut found = Vec::new();
    let mut stack: Vec<SegmentId> = children
        .get(&id)
        .into_iter()
        .flatten()
        .rev()
        .copied()
        .collect();
    while let Some(segment) = stack.pop() {
        if project.segment(segment).visible {
            found.push(segment);
        }
        stack.extend(children.get(&segment).into_iter().flatten().rev().copied());
    }
    found
}

/// The stages of membership flags (see [`Plan::member_stages`]): each reported segment, after
/// the ancestors its flag is built on, in report order within a stage.
pub(super) fn plan_member_stages(project: &Project, rows: &[ReportRow]) -> Vec<Vec<SegmentId>> {
    let mut stage_of: BTreeMap<SegmentId, usize> = BTreeMap::new();
    let mut stages: Vec<Vec<SegmentId>> = Vec::new();
    for id in rows.iter().filter_map(|row| row.segment) {
        // The segment and the ancestors its flag needs that have none yet, nearest first.
        let mut chain = Vec::new();
        let mut current = Some(id);
        while let Some(segment) = current.filter(|s| !stage_of.contains_key(s)) {
            chain.push(segment);
            current = project.inherited_parent(segment);
        }
        for segment in chain.into_iter().rev() {
            let stage = project
                .inherited_parent(segment)
                .and_then(|parent| stage_of.get(&parent))
                .map_or(0, |stage| stage + 1);
            stage_of.insert(segment, stage);
            if stages.len() <= stage {
                stages.resize_with(stage + 1, Vec::new);
            }
            stages[stage].push(segment);
        }
    }
    stages
}
