//! Slices of time for a series' fact passes: every window of every period starts and ends on
//! one of the series' boundaries, so cutting time at all of them gives slices that each lie
//! wholly inside or wholly outside any window. A pass then aggregates its facts once per user
//! and slice, and each period's value is combined from the slices: a window's slices for a
//! window with a start, and for a window over all history the slices that end in each period,
//! added up over the user's periods so far by a window function over the periods the user has
//! facts in (render/buckets.rs).
//!
//! The facts are read once whatever the number of periods; what grows with the periods is the
//! per-user slices and the per-user periods with facts, not the facts. The plan is exact for
//! aggregates that combine from parts: counts and sums (added), minimums and maximums,
//! averages (a sum and a count), and distinct local days (every boundary is the start of a
//! local day, so a day lies in one slice only).

use chrono::NaiveDateTime;

/// At most this many boundaries: the slice of a fact is found by a balanced CASE nested
/// log2 of it deep, and SQL Server nests CASE expressions 10 deep at most.
pub const MAX_CUTS: usize = 1 << 9;

/// The most 63-bit words a distinct count of days keeps per user (render's `day_bits`):
/// 378 days, a year's window.
pub const MAX_DAY_WORDS: usize = 6;

/// Days per word of a distinct count of days: a bit per day, the sign bit unused.
pub const DAYS_PER_WORD: usize = 63;

/// The words of 63 bits that hold a bit for each local day a fact in `[start, end)` can
/// fall on, counted from the local day of `start`; none past [`MAX_DAY_WORDS`].
pub fn day_words(start: NaiveDateTime, end: NaiveDateTime) -> Option<usize> {
    words_of_days(u64::try_from((end - start).num_days()).ok()?)
}

/// The words of a window of `days` days after each user's sign-up, counted from the
/// local day of the sign-up ([`day_words`] of a span that long).
pub fn after_signup_day_words(days: u32) -> Option<usize> {
    words_of_days(days.into())
}

/// The words for facts in a span of `days` days: two days more cover a start or an end
/// inside a day and an hour gained by a change of clocks; none past [`MAX_DAY_WORDS`].
fn words_of_days(days: u64) -> Option<usize> {
    let days = usize::try_from(days).ok()?.checked_add(2)?;
    let words = days.div_ceil(DAYS_PER_WORD);
    (words <= MAX_DAY_WORDS).then_some(words)
}

/// The most words any of `spans` takes ([`day_words`]); none when one takes too many or
/// there are none.
pub fn most_day_words(
    spans: impl IntoIterator<Item = (NaiveDateTime, NaiveDateTime)>,
) -> Option<usize> {
    spans
        .into_iter()
        .map(|(start, end)| day_words(start, end))
        .collect::<Option<Vec<usize>>>()?
        .into_iter()
        .max()
}

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
    /// The slice counts first in this period's totals over all history: it ends in this
    /// period (after the previous period's end in time, at or before its own). Later
    /// periods' totals add it up with their own.
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
        let links = slice_links(&cuts, ends, windows);
        Some(Slicing { cuts, links })
    }
}

/// Which slices each period reads (see [`Slicing::links`]).
fn slice_links(
    cuts: &[NaiveDateTime],
    ends: &[NaiveDateTime],
    windows: &[PeriodWindows],
) -> Vec<SliceLink> {
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
    links
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

    /// The periods whose totals over all history `slice` counts in.
    fn running_periods(slicing: &Slicing, slice: usize) -> Vec<usize> {
        slicing
            .links
            .iter()
            .filter(|link| link.slice == slice && link.running)
            .map(|link| link.period)
            .collect()
    }

    #[test]
    fn every_slice_counts_in_the_period_it_ends_in_and_windows_hold_whole_slices() {
        // Two months ending 2026-02-01 and 2026-03-01, with a 30-day window.
        let ends = [at(2, 1), at(3, 1)];
        let windows = vec![vec![(at(1, 2), at(2, 1)), (at(1, 30), at(3, 1))]];
        let slicing = Slicing::new(&ends, &windows).expect("few cuts");
        assert_eq!(slicing.cuts, vec![at(1, 2), at(1, 30), at(2, 1), at(3, 1)]);
        // Everything up to the first period's end counts first in it; the last slice in the
        // second. The second's totals add both up (render/buckets.rs).
        for slice in 0..slicing.cuts.len() {
            let expected = if slice == 3 { vec![1] } else { vec![0] };
            assert_eq!(running_periods(&slicing, slice), expected, "slice {slice}");
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
    fn periods_out_of_time_order_count_each_slice_in_the_period_it_ends_in() {
        // A comparison numbers the later period 0.
        let ends = [at(3, 1), at(2, 1)];
        let slicing = Slicing::new(&ends, &[]).expect("few cuts");
        assert_eq!(slicing.cuts, vec![at(2, 1), at(3, 1)]);
        assert_eq!(running_periods(&slicing, 0), vec![1]);
        assert_eq!(running_periods(&slicing, 1), vec![0]);
    }

    #[test]
    fn links_grow_with_the_slices_not_with_slices_times_periods() {
        // 120 daily periods, each with windows starting on each of the 30 days before it.
        let ends: Vec<NaiveDateTime> = (0..120)
            .map(|n| at(6, 1) + chrono::Duration::days(n))
            .collect();
        let windows: Vec<PeriodWindows> = (1..=30)
            .map(|days| {
                ends.iter()
                    .map(|end| (*end - chrono::Duration::days(days), *end))
                    .collect()
            })
            .collect();
        let slicing = Slicing::new(&ends, &windows).expect("few cuts");
        for slice in 0..slicing.cuts.len() {
            assert_eq!(running_periods(&slicing, slice).len(), 1, "slice {slice}");
        }
        // Each slice is in the windows of at most the 30 periods after it, and counts first
        // in one period: never every later period.
        let slices = slicing.cuts.len();
        assert!(
            slicing.links.len() <= slices * 31,
            "{} links",
            slicing.links.len()
        );
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
