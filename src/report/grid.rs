//! Which reported segments form a quintile grid (the recency × frequency heat map of an RFM
//! project), read from the definitions: the heat map is drawn from those segments' member
//! counts, so no user row leaves the warehouse and no statement of another shape is needed.
//!
//! The rule: a segment is a **cell** when it is visible, not part of an `exclusive` set, and
//! its own conditions are exactly two equalities on `quintile:` scores, `{ a: { eq: i } }`
//! and `{ b: { eq: j } }` with i and j in 1..=5 (its parent may narrow the population, e.g.
//! to buyers). The pair of scores with the most cells forms the grid; the score written first
//! in the first cell is the rows' axis, the other the columns'. A grid needs two cells or
//! more. Each cell's value is the segment's member count, from the first KPI that counts
//! members (`agg: count` without `of` or `where`).

use crate::ir::{
    AttributeKind, Comparison, Condition, KpiAggregation, KpiKind, Literal, Operand, Predicate,
    Project,
};

/// The segments of a quintile grid and where each sits.
#[derive(Debug, Clone, PartialEq)]
pub struct QuintileGrid {
    /// The score whose values are the rows (score 5 first).
    pub rows: String,
    /// The score whose values are the columns (score 1 first).
    pub columns: String,
    pub cells: Vec<GridCell>,
    /// The KPI whose value is a segment's member count, when the project has one.
    pub count_kpi: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GridCell {
    pub segment: String,
    /// The row's score, 1..=5.
    pub row: u8,
    /// The column's score, 1..=5.
    pub column: u8,
}

impl QuintileGrid {
    /// The grid the project's segments form, if they form one (see the module's rule).
    pub fn find(project: &Project) -> Option<QuintileGrid> {
        // (row score, column score) → its cells, in the order first seen.
        let mut pairs: Vec<((String, String), Vec<GridCell>)> = Vec::new();
        for segment in &project.segments {
            if !segment.visible || segment.exclusive.is_some() {
                continue;
            }
            let Some([(first, i), (second, j)]) = score_equalities(project, &segment.condition)
            else {
                continue;
            };
            if first == second {
                continue;
            }
            let swapped = pairs
                .iter()
                .position(|((rows, columns), _)| *rows == second && *columns == first);
            let (key, cell) = match swapped {
                Some(_) => ((second, first), (j, i)),
                None => ((first, second), (i, j)),
            };
            let cell = GridCell {
                segment: segment.name.clone(),
                row: cell.0,
                column: cell.1,
            };
            match pairs.iter_mut().find(|(pair, _)| *pair == key) {
                Some((_, cells)) => {
                    if !cells
                        .iter()
                        .any(|c| (c.row, c.column) == (cell.row, cell.column))
                    {
                        cells.push(cell);
                    }
                }
                None => pairs.push((key, vec![cell])),
            }
        }
        // The pair with the most cells; the first written on a tie.
        let mut best: Option<((String, String), Vec<GridCell>)> = None;
        for pair in pairs {
            if best.as_ref().is_none_or(|b| pair.1.len() > b.1.len()) {
                best = Some(pair);
            }
        }
        let ((rows, columns), cells) = best.filter(|(_, cells)| cells.len() >= 2)?;
        Some(QuintileGrid {
            rows,
            columns,
            cells,
            count_kpi: count_kpi(project),
        })
    }

    /// The cell of segment `name`, if it is one.
    pub fn cell(&self, name: &str) -> Option<&GridCell> {
        self.cells.iter().find(|cell| cell.segment == name)
    }
}

/// `{ a: { eq: i } }` and `{ b: { eq: j } }` on two quintile scores, exactly: the scores'
/// names and values, in the order written.
fn score_equalities(project: &Project, condition: &Condition) -> Option<[(String, u8); 2]> {
    let mut found = Vec::new();
    if !collect_equalities(project, condition, &mut found) {
        return None;
    }
    let [first, second]: [(String, u8); 2] = found.try_into().ok()?;
    Some([first, second])
}

/// Adds each conjunct of `condition` that is a score equality; false when one is anything else.
fn collect_equalities(
    project: &Project,
    condition: &Condition,
    found: &mut Vec<(String, u8)>,
) -> bool {
    match condition {
        Condition::All(parts) => parts
            .iter()
            .all(|part| collect_equalities(project, part, found)),
        Condition::Predicate {
            operand: Operand::Attribute(id),
            predicate: Predicate::Compare(Comparison::Eq, Literal::Integer(value)),
        } => {
            let attribute = project.attribute(*id);
            let score = (1..=5).contains(value);
            if matches!(attribute.kind, AttributeKind::Quintile { .. }) && score {
                found.push((attribute.name.clone(), *value as u8));
                true
            } else {
                false
            }
        }
        _ => false,
    }
}

/// The first KPI that counts members: `agg: count` without `of` or `where`.
fn count_kpi(project: &Project) -> Option<String> {
    project
        .kpis
        .iter()
        .find(|kpi| {
            matches!(
                kpi.kind,
                KpiKind::Aggregate {
                    aggregation: KpiAggregation::Count,
                    of: None,
                    filter: None,
                }
            )
        })
        .map(|kpi| kpi.name.clone())
}
