//! Other periods than the report's own: the comparison period of `--compare`, and the
//! months of `--grain month`.

use chrono::NaiveDate;

use crate::error::{BadRequest, Error};
use crate::ir::Project;

use super::{Plan, ReportOptions};

/// `--compare`: the earlier period set beside a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    /// The same days one year earlier (29 February becomes 28 February).
    PriorYear,
    /// The period of the same length just before, ending the day before it starts.
    PriorPeriod,
}

impl Plan<'_> {
    /// The options of the comparison period: the report's period moved back, its as-of day
    /// being the moved period's last day.
    /// `options` are the report's own: its segments and KPIs are kept.
    pub fn prior_options(&self, compare: Compare, options: &ReportOptions) -> ReportOptions {
        let (first, last) = self.time.period;
        let period = match compare {
            Compare::PriorYear => {
                let back = |day: NaiveDate| {
                    day.checked_sub_months(chrono::Months::new(12))
                        .unwrap_or(day)
                };
                (back(first), back(last))
            }
            Compare::PriorPeriod => {
                let length = chrono::Duration::days((last - first).num_days() + 1);
                (first - length, last - length)
            }
        };
        ReportOptions {
            as_of: None,
            period: Some(period),
            select: options.select.clone(),
            kpis: options.kpis.clone(),
        }
    }
}

/// A period's label and its first and last day.
pub type LabelledPeriod = (String, (NaiveDate, NaiveDate));

/// The most months one `--grain month` run may cover.
pub const MAX_MONTHS: usize = 120;

/// `--grain month --from A --to B`: a plan per month, labelled `YYYY-MM`, whose period is
/// that month (as of its last day); `options` gives the selection and the KPIs.
pub fn month_plans<'p>(
    project: &'p Project,
    from: NaiveDate,
    to: NaiveDate,
    options: &ReportOptions,
    default_as_of: NaiveDate,
) -> Result<Vec<(String, Plan<'p>)>, Error> {
    months(from, to)?
        .into_iter()
        .map(|(label, period)| {
            let options = ReportOptions {
                as_of: None,
                period: Some(period),
                ..options.clone()
            };
            Ok((label, Plan::new(project, &options, default_as_of)?))
        })
        .collect()
}

/// `--grain month --from A --to B`: each month's label (`YYYY-MM`) and first and last day,
/// stepping from the first of each month.
pub fn months(from: NaiveDate, to: NaiveDate) -> Result<Vec<LabelledPeriod>, Error> {
    use chrono::Datelike;
    let start = NaiveDate::from_ymd_opt(from.year(), from.month(), 1).expect("a month start");
    let end = NaiveDate::from_ymd_opt(to.year(), to.month(), 1).expect("a month start");
    if start > end {
        return Err(Error::Request(BadRequest::MonthsReversed(
            start.format("%Y-%m").to_string(),
            end.format("%Y-%m").to_string(),
        )));
    }
    let mut periods = Vec::new();
    let mut first = start;
    while first <= end {
        let next = first
            .checked_add_months(chrono::Months::new(1))
            .expect("a later month");
        periods.push((
            first.format("%Y-%m").to_string(),
            (first, next.pred_opt().expect("a day before")),
        ));
        if periods.len() > MAX_MONTHS {
            return Err(Error::Request(BadRequest::TooManyMonths(MAX_MONTHS)));
        }
        first = next;
    }
    Ok(periods)
}
