//! Segments: the hierarchy, exclusive sets, `in_segment` cycles and condition sizes.

use std::collections::HashMap;

use crate::error::{Span, suggest};
use crate::ir::{Condition, Segment, SegmentId};

use super::conditions::Scope;
use super::segment_size::{
    MAX_CONDITION_DEPTH, MAX_CONDITION_PARTS, MAX_TOTAL_CONDITION_PARTS, Measure, finish_order,
    strongly_connected_components,
};
use super::{Validator, check_name};

impl Validator<'_> {
    pub(super) fn read_segments(&mut self) {
        let specs = &self.files.definitions.segments;
        let mut names: HashMap<String, SegmentId> = HashMap::new();
        let mut columns = super::ColumnNames::new("segment");
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
            let taken = names.contains_key(&spec.name.value);
            if !columns.admit(&spec.name, taken, &mut self.diagnostics) {
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
            self.user = format!("segment `{}`", spec.name.value);
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
                description: spec.description.as_ref().map(|d| d.value.clone()),
                origin: self.origin(spec.span),
            });
        }
        // Parent chains must end. Each segment is walked once: a walk stops at a segment
        // whose chain is known to end, and a cycle is broken at its first segment in file
        // order (linear, so chains of thousands of segments are checked quickly; how deep a
        // chain may be is checked with the condition sizes).
        let mut walked_by = vec![usize::MAX; accepted.len()];
        let mut ends = vec![false; accepted.len()];
        for index in 0..accepted.len() {
            let mut walked = Vec::new();
            let mut current = Some(SegmentId(index));
            while let Some(segment) = current {
                if ends[segment.0] {
                    break;
                }
                if walked_by[segment.0] == index {
                    let from = walked.iter().position(|s| *s == segment).unwrap_or(0);
                    let first = walked[from..].iter().min().copied().unwrap_or(segment);
                    let spec = accepted[first.0];
                    let span = spec.parent.as_ref().map(|p| p.span).unwrap_or(spec.span);
                    self.error(
                        format!(
                            "segment `{}` is its own ancestor through `parent`",
                            spec.name.value
                        ),
                        span,
                    );
                    self.segments[first.0].parent = None;
                    break;
                }
                walked_by[segment.0] = index;
                walked.push(segment);
                current = self.segments[segment.0].parent;
            }
            for segment in walked {
                ends[segment.0] = true;
            }
        }
        let sets_fit = self.apply_exclusive_sets(&accepted, &mut references);
        // A child's membership holds its parent's (rule 11): the parent is named too.
        let targets: Vec<Vec<usize>> = references
            .iter()
            .zip(&self.segments)
            .map(|(edges, segment)| {
                let named = edges.iter().map(|(target, _)| target.0);
                named.chain(segment.parent.map(|p| p.0)).collect()
            })
            .collect();
        let in_cycle = self.report_segment_cycles(&references, &targets);
        let names: Vec<Span> = accepted.iter().map(|spec| spec.name.span).collect();
        self.check_condition_sizes(&targets, &in_cycle, &names, sets_fit);
    }

    /// `exclusive` + `priority`: a segment's members are the users who meet its conditions
    /// and none of the conditions of the segments of its set with a lower priority (a
    /// child's conditions include its ancestors').
    /// Returns false when a set repeats too many conditions (reported here), and its
    /// later segments were left without their exclusions.
    fn apply_exclusive_sets(
        &mut self,
        accepted: &[&crate::spec::SegmentSpec],
        references: &mut [Vec<(SegmentId, Span)>],
    ) -> bool {
        // Per set: (priority, segment index, span of the priority).
        type Members = Vec<(u32, usize, Span)>;
        let mut sets: Vec<(String, Members)> = Vec::new();
        let mut set_index: HashMap<String, usize> = HashMap::new();
        // Each segment of a set repeats the conditions of those before it: count the copies.
        let mut copied: usize = 0;
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
                    match set_index.get(&set.value) {
                        Some(at) => sets[*at].1.push((number, index, priority.span)),
                        None => {
                            set_index.insert(set.value.clone(), sets.len());
                            sets.push((set.value.clone(), vec![(number, index, priority.span)]));
                        }
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
                .map(|(_, index, _)| crate::ir::membership(&self.segments, SegmentId(*index)))
                .collect();
            let sizes: Vec<usize> = own.iter().map(|c| Measure::of(c, &[]).parts).collect();
            // The parts of the segments before this one, in priority order.
            let mut before_parts: usize = 0;
            for (position, (priority, index, span)) in members.iter().enumerate() {
                copied = copied.saturating_add(before_parts);
                before_parts = before_parts.saturating_add(sizes[position]);
                if copied > MAX_TOTAL_CONDITION_PARTS {
                    self.error_with_hint(
                        format!(
                            "the exclusive set `{set}` repeats more than {MAX_TOTAL_CONDITION_PARTS} conditions: each of its segments excludes the members of all those before it"
                        ),
                        *span,
                        Some("put fewer segments in one exclusive set, or give them simpler conditions".into()),
                    );
                    return false;
                }
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
        true
    }

    /// Reports each `in_segment` reference in a cycle, through other references or a
    /// child's `parent` (`targets`: both, per segment); returns the segments whose condition
    /// was dropped for one.
    fn report_segment_cycles(
        &mut self,
        references: &[Vec<(SegmentId, Span)>],
        targets: &[Vec<usize>],
    ) -> Vec<bool> {
        // A reference is in a cycle when its target leads back to it: when both segments
        // are in the same strongly connected component. `parent` alone makes no cycle (those
        // were broken before), so every cycle holds a reference and is reported.
        let component = strongly_connected_components(targets);
        let mut in_cycle = vec![false; references.len()];
        for (start, edges) in references.iter().enumerate() {
            for (target, span) in edges {
                if component[start] == component[target.0] {
                    let descendant =
                        crate::ir::descends_from(&self.segments, *target, SegmentId(start));
                    let message = if target.0 == start {
                        format!(
                            "segment `{}` refers to itself with `in_segment`",
                            self.segments[start].name
                        )
                    } else if descendant {
                        format!(
                            "`in_segment` cycle: `{}` refers to `{}`, its own drill-down, whose members are drawn from those of `{}`",
                            self.segments[start].name,
                            self.segments[target.0].name,
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
                    in_cycle[start] = true;
                }
            }
        }
        in_cycle
    }

    /// Reports a segment whose membership condition is too deep or too large once the
    /// segments it names and its parent are written into it, unless one of those is (that
    /// one is reported), and the segment where all conditions together pass
    /// [`MAX_TOTAL_CONDITION_PARTS`]. `targets` are the segments each one names or has as
    /// its parent.
    fn check_condition_sizes(
        &mut self,
        targets: &[Vec<usize>],
        in_cycle: &[bool],
        names: &[Span],
        report_total: bool,
    ) {
        // A membership written out holds its ancestors' (as `in_segment` of a child and
        // `segc explain` write it); a report's flag for a child reads its parent's flag, so
        // the statement holds each segment's own condition once.
        let mut measures: Vec<Option<Measure>> = vec![None; targets.len()];
        let mut own_parts: Vec<usize> = vec![0; targets.len()];
        for segment in finish_order(targets) {
            if !in_cycle[segment] {
                let membership = crate::ir::membership(&self.segments, SegmentId(segment));
                measures[segment] = Some(Measure::of(&membership, &measures));
                own_parts[segment] =
                    Measure::of(&self.segments[segment].condition, &measures).parts;
            }
        }
        let mut total: usize = 0;
        for (segment, measure) in measures.iter().enumerate() {
            let Some(measure) = measure else { continue };
            let span = names[segment];
            let name = self.segments[segment].name.clone();
            let before = total;
            total = total.saturating_add(own_parts[segment]);
            if measure.exceeds_one_segment() {
                let named_too_large = targets[segment]
                    .iter()
                    .any(|t| measures[*t].is_some_and(|m| m.exceeds_one_segment()));
                if !named_too_large {
                    let size = if measure.depth > MAX_CONDITION_DEPTH {
                        format!("is more than {MAX_CONDITION_DEPTH} levels deep")
                    } else {
                        format!("has more than {MAX_CONDITION_PARTS} parts")
                    };
                    self.error_with_hint(
                        format!(
                            "the condition of segment `{name}` {size} once the conditions of its parents and of the segments it names with `in_segment` are written into it, as the SQL does"
                        ),
                        span,
                        Some("name large segments fewer times, or use shorter chains of `in_segment` and `parent`".into()),
                    );
                }
            } else if report_total
                && before <= MAX_TOTAL_CONDITION_PARTS
                && total > MAX_TOTAL_CONDITION_PARTS
            {
                self.error_with_hint(
                    format!(
                        "the segments' conditions, with the segments they name written in, have more than {MAX_TOTAL_CONDITION_PARTS} parts in all by segment `{name}`"
                    ),
                    span,
                    Some("report fewer segments, or give them simpler conditions".into()),
                );
            }
        }
    }
}
