//! Segment overlap: how many users are members of both segments, for pairs of reported
//! segments. The warehouse computes it; this is the shape the HTML report draws.

/// Users in both segments, per pair of segment names (`all_users` included when computed).
/// A pair is looked up in either order; a segment paired with itself is its member count.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OverlapTable {
    pub pairs: Vec<OverlapPair>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OverlapPair {
    pub first: String,
    pub second: String,
    /// Users who are members of both.
    pub users: i64,
}

impl OverlapTable {
    /// The users in both `a` and `b`, if the table holds the pair (in either order).
    pub fn users(&self, a: &str, b: &str) -> Option<i64> {
        self.pairs
            .iter()
            .find(|pair| {
                (pair.first == a && pair.second == b) || (pair.first == b && pair.second == a)
            })
            .map(|pair| pair.users)
    }
}
