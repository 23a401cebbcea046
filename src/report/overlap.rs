//! Segment overlap: how many users are members of both segments, for pairs of reported
//! segments. The warehouse computes it (`segc overlap`, [`crate::session::overlap`]); this
//! is the shape the HTML report draws.

use std::collections::HashMap;

use super::Report;

/// Users in both segments, per pair of segment names (`all_users` included when computed).
/// A pair is looked up in either order; a segment paired with itself is its member count.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OverlapTable {
    pairs: Vec<OverlapPair>,
    /// Each pair's position in `pairs`, by its names in order (filled by [`OverlapTable::new`]).
    index: HashMap<(String, String), usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OverlapPair {
    pub first: String,
    pub second: String,
    /// Users who are members of both.
    pub users: i64,
}

impl OverlapTable {
    pub fn new(pairs: Vec<OverlapPair>) -> OverlapTable {
        let index = pairs
            .iter()
            .enumerate()
            .map(|(at, pair)| ((pair.first.clone(), pair.second.clone()), at))
            .collect();
        OverlapTable { pairs, index }
    }

    /// The matrix `segc overlap` reads ([`Report::from_overlap`]): a pair per row and column
    /// with a count.
    pub fn from_report(report: &Report) -> OverlapTable {
        let mut pairs = Vec::new();
        for row in &report.rows {
            for (column, value) in report.columns.iter().zip(&row.values) {
                if let Some(users) = value.as_f64() {
                    pairs.push(OverlapPair {
                        first: row.segment.clone(),
                        second: column.name.clone(),
                        users: users as i64,
                    });
                }
            }
        }
        OverlapTable::new(pairs)
    }

    /// The users in both `a` and `b`, if the table holds the pair (in either order).
    pub fn users(&self, a: &str, b: &str) -> Option<i64> {
        let find = |x: &str, y: &str| self.index.get(&(x.to_string(), y.to_string()));
        find(a, b)
            .or_else(|| find(b, a))
            .map(|at| self.pairs[*at].users)
    }
}
