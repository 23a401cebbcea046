//! Slices of time for a series' fact passes: every window of every period starts and ends on
//! one of the series' boundaries, so cutting time at all of them gives slices that each lie
//! wholly inside or wholly outside any window. A pass then aggregates its facts once per user
//! and slice, and each period's value is combined from the slices: a window's slices for a
//! window with a start, and for a window over all history the slices that end in each period,
//! added up over the periods so far.
//!
//! The facts are read once whatever the number of periods; what grows with the periods is the
//! per-user slices and the per-user periods, not the facts. The plan is exact for aggregates
//! that combine from parts: counts and sums (added), minimums and maximums, averages (a sum
//! and a count), and distinct local days (every boundary is the start of a local day, so a day
//! lies in one slice only).

use chrono::NaiveDateTime;

/// At most this many boundaries: the slice of a fact is found by a balanced CASE nested
/// log2 of it deep, and SQL Server nests CASE expressions 10 deep at most.
pub const MAX_CUTS: usize = 1 << 9;

/// A window of an aggregate over facts, in every period: `[start, end)`.
pub type PeriodWindows = Vec<(NaiveDateTime, NaiveDateTime)>;

/// How time is cut and which slices each period reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Slicing {
    /// Sorted, distinct instants. Slice 0 holds the facts before `cuts[0]`, slice `j` those
    /// from `cuts[j - 1]` to before `cuts[j]`; no fact at or after the last is read.
    pub cuts: Vec<NaiveDateTime>,
    /// For each slice and period that reads it: which of its sums it is in.
    pub links: Vec<SliceLink>,
}

/// A slice read by a period.
#[derive(Debug, Clone, PartialEq)]
pub struct SliceLink {
    pub slice: usize,
    pub period: usize,
    /// The slice ends in this period (after the previous period's end, at or before its
    /// own): added to the running totals of windows over all history.
    pub running: bool,
    /// Per window with a start (in the order given): the slice lies inside it.
    pub windows: Vec<bool>,
}

impl Slicing {
    /// Cuts time at every period's end and every window's bounds. `ends` holds each period's
    /// as-of instant; `windows` each bounded window's `[start, end)` per period. None when
    /// there would be more than [`MAX_CUTS`] boundaries.
    pub fn new(ends: &[NaiveDateTime], windows: &[PeriodWindows]) -> Option<Slicing> {
        let mut cuts: Vec<NaiveDateTime> = ends
            .iter()
            .copied()
            .chain(
                windows
                    .iter()
                    .flatten()
                    .flat_map(|(start, end)| [*start, *end]),
            )
            .collect();
        cuts.sort();
        cuts.dedup();
        // Nothing at or after the latest end is read.
        let last = ends.iter().max().copied()?;
        cuts.retain(|cut| *cut <= last);
        if cuts.len() > MAX_CUTS {
            return None;
        }
        let mut links = Vec::new();
        for (slice, hi) in cuts.iter().enumerate() {
            let lo = slice.checked_sub(1).map(|before| cuts[before]);
            for (period, end) in ends.iter().enumerate() {
                let previous = ends.iter().filter(|other| *other < end).max();
                let running = hi <= end && previous.is_none_or(|previous| hi > previous);
                let inside: Vec<bool> = windows
                    .iter()
                    .map(|window| {
                        let (start, end) = window[period];
                        lo.is_some_and(|lo| lo >= start) && *hi <= end
                    })
                    .collect();
                if running || inside.contains(&true) {
                    links.push(SliceLink {
                        slice,
                        period,
                        running,
                        windows: inside,
                    });
                }
            }
        }
        Some(Slicing { cuts, links })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(month: u32, day: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, month, day)
            .and_then(|day| day.and_hms_opt(0, 0, 0))
            .expect("a date")
    }

    #[test]
    fn every_slice_runs_into_one_period_and_windows_hold_whole_slices() {
        // Two months ending 2026-02-01 and 2026-03-01, with a 30-day window.
        let ends = [at(2, 1), at(3, 1)];
        let windows = vec![vec![(at(1, 2), at(2, 1)), (at(1, 30), at(3, 1))]];
        let slicing = Slicing::new(&ends, &windows).expect("few cuts");
        assert_eq!(slicing.cuts, vec![at(1, 2), at(1, 30), at(2, 1), at(3, 1)]);
        // Each slice adds to exactly one period's running totals: the first period takes
        // everything up to its end, the second what follows.
        for slice in 0..slicing.cuts.len() {
            let running: Vec<usize> = slicing
                .links
                .iter()
                .filter(|link| link.slice == slice && link.running)
                .map(|link| link.period)
                .collect();
            assert_eq!(running, vec![usize::from(slice == 3)], "slice {slice}");
        }
        let inside = |slice: usize, period: usize| {
            slicing
                .links
                .iter()
                .any(|link| link.slice == slice && link.period == period && link.windows[0])
        };
        // Period 0's window [01-02, 02-01) is slices 1 and 2; period 1's [01-30, 03-01) is
        // slices 2 and 3. Slice 0 (before 01-02) is in no window.
        assert!(inside(1, 0) && inside(2, 0) && !inside(3, 0) && !inside(0, 0));
        assert!(!inside(1, 1) && inside(2, 1) && inside(3, 1));
    }

    #[test]
    fn too_many_cuts_keep_the_plain_plan() {
        let ends: Vec<NaiveDateTime> = (0..=MAX_CUTS as i64)
            .map(|n| at(1, 1) + chrono::Duration::days(n))
            .collect();
        assert!(Slicing::new(&ends, &[]).is_none());
        assert!(Slicing::new(&ends[..MAX_CUTS], &[]).is_some());
    }
}
