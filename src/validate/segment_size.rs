//! How large segment conditions may grow once the segments they name are written into
//! them, as the SQL does (`in_segment`, and the exclusions of exclusive sets), and so do
//! their parents' (a child's members are its parent's that meet its own conditions).

use crate::ir::Condition;

/// A segment's condition, with its parents' and the segments it names written in, is at
/// most this deep: conditions are compiled by walking them recursively, so this bounds the
/// stack, and the drill-down stages of a report (at most one per `parent` level).
pub const MAX_CONDITION_DEPTH: usize = 200;
/// A segment's condition, with its parents' and the segments it names written in, has at
/// most this many parts; segments naming the previous one twice would otherwise double the
/// SQL at each step.
pub const MAX_CONDITION_PARTS: usize = 50_000;
/// All segments' own conditions, with the segments they name written in, have at most this
/// many parts in all (a child's flag reads its parent's instead of repeating it): a bound on
/// the SQL and on memory (each segment of an exclusive set repeats the conditions of the
/// segments before it).
pub const MAX_TOTAL_CONDITION_PARTS: usize = 1_000_000;

/// The depth and the number of parts of a condition with the segments it names written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Measure {
    pub(super) depth: usize,
    pub(super) parts: usize,
}

impl Measure {
    const LEAF: Measure = Measure { depth: 1, parts: 1 };

    pub(super) fn exceeds_one_segment(&self) -> bool {
        self.depth > MAX_CONDITION_DEPTH || self.parts > MAX_CONDITION_PARTS
    }

    /// Measures `condition`, given what is known of the segments it names (one not yet
    /// known, in a cycle, counts as one part).
    pub(super) fn of(condition: &Condition, segments: &[Option<Measure>]) -> Measure {
        let around = |inner: Measure| Measure {
            depth: inner.depth.saturating_add(1),
            parts: inner.parts.saturating_add(1),
        };
        match condition {
            Condition::All(items) | Condition::Any(items) => {
                items.iter().fold(Measure::LEAF, |total, item| {
                    let item = Measure::of(item, segments);
                    Measure {
                        depth: total.depth.max(item.depth.saturating_add(1)),
                        parts: total.parts.saturating_add(item.parts),
                    }
                })
            }
            Condition::Not(inner) => around(Measure::of(inner, segments)),
            Condition::InSegment(id) => match segments.get(id.0) {
                Some(Some(segment)) => around(*segment),
                _ => Measure::LEAF,
            },
            Condition::True | Condition::Predicate { .. } => Measure::LEAF,
        }
    }
}

/// The nodes of a graph (given as lists of targets) in the order their depth-first walk
/// finishes: a node after every node it leads to, unless they are in a cycle. Walked with
/// a stack, not by recursion: chains of thousands of segments are valid.
pub(super) fn finish_order(targets: &[Vec<usize>]) -> Vec<usize> {
    let mut finished = Vec::with_capacity(targets.len());
    let mut visited = vec![false; targets.len()];
    for start in 0..targets.len() {
        if std::mem::replace(&mut visited[start], true) {
            continue;
        }
        let mut stack = vec![(start, 0)];
        while let Some((node, next)) = stack.last_mut() {
            match targets[*node].get(*next).copied() {
                Some(target) => {
                    *next += 1;
                    if !std::mem::replace(&mut visited[target], true) {
                        stack.push((target, 0));
                    }
                }
                None => {
                    finished.push(*node);
                    stack.pop();
                }
            }
        }
    }
    finished
}

/// The strongly connected component of each node (Kosaraju's algorithm): two nodes are in
/// the same component when each leads to the other. Linear in nodes and edges.
pub(super) fn strongly_connected_components(targets: &[Vec<usize>]) -> Vec<usize> {
    let mut sources: Vec<Vec<usize>> = vec![Vec::new(); targets.len()];
    for (node, node_targets) in targets.iter().enumerate() {
        for target in node_targets {
            sources[*target].push(node);
        }
    }
    // Walking the reversed graph from the last finished node collects one component.
    let mut component = vec![usize::MAX; targets.len()];
    for (number, start) in finish_order(targets).into_iter().rev().enumerate() {
        if component[start] != usize::MAX {
            continue;
        }
        component[start] = number;
        let mut stack = vec![start];
        while let Some(node) = stack.pop() {
            for source in &sources[node] {
                if component[*source] == usize::MAX {
                    component[*source] = number;
                    stack.push(*source);
                }
            }
        }
    }
    component
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_group_nodes_that_lead_to_each_other() {
        // 0 → 1 → 2 → 1, 3 → 3, 4 alone; and a long chain after them.
        let mut targets = vec![vec![1], vec![2], vec![1], vec![3], vec![]];
        for node in 5..100_000 {
            targets.push(vec![node - 1]);
        }
        let component = strongly_connected_components(&targets);
        assert_eq!(component[1], component[2]);
        assert_ne!(component[0], component[1]);
        assert_ne!(component[3], component[4]);
        assert_ne!(component[99_999], component[99_998]);
        let order = finish_order(&targets);
        let position = |node| order.iter().position(|n| *n == node).unwrap();
        assert!(position(2) < position(0) && position(5) < position(6));
    }
}
