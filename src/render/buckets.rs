//! Spells a series' fact pass by slices of time (see [`crate::plan::buckets`]): the facts
//! once per user and slice, the slices each period reads, then per user and period the
//! values the plain pass would give. A pass that cannot be combined from slices (a distinct
//! count of a column, ordered facts, windows after sign-up, a minimum or maximum of strings,
//! a `where` that depends on the period, a time column of dates) keeps the plain plan: facts
//! joined to every period.

use chrono::NaiveDateTime;

use crate::error::Error;
use crate::plan::aggregates::{FactAggregate, FactValue, Function};
use crate::plan::buckets::{PeriodWindows, Slicing, most_day_words};
use crate::plan::statement::{PassStage, Statement};
use crate::plan::times::{PerPeriod, TimeValue};
use crate::render::alias::Alias;

use super::expr::{Aggregated, ExactColumns, Sql, combiner};
use super::{Names, comment_text};

/// Where an aggregate's value comes from.
#[derive(Clone, Copy)]
enum Reads {
    /// A window with a start: its slices in the period (the window's number).
    Window(usize),
    /// All history up to the period's end: the running total over the user's periods so
    /// far of the slices that end in each.
    Running,
}

/// The partials an aggregate keeps per slice: its own function, or a sum and a count for an
/// average, a sum of fractional numbers as the sums of its `pieces` ([`Sql::pieces`]). None
/// when it does not combine from slices.
fn partials(aggregate: &FactAggregate, pieces: u8) -> Option<Vec<Function>> {
    if aggregate.nth.is_some() || aggregate.exact {
        return None;
    }
    let pieces = (0..pieces).map(Function::Limb);
    Some(match aggregate.function {
        Function::Sum | Function::Avg if !aggregate.whole => {
            let mut parts: Vec<Function> = pieces.collect();
            if aggregate.function == Function::Avg {
                parts.push(Function::Count);
            }
            parts
        }
        Function::CountRows | Function::Count | Function::Sum | Function::Min | Function::Max => {
            vec![aggregate.function]
        }
        Function::Avg => vec![Function::Sum, Function::Count],
        // Distinct local days: a day lies in one slice, as every boundary starts a day.
        Function::CountDistinct if matches!(aggregate.value, FactValue::LocalDay { .. }) => {
            vec![Function::CountDistinct]
        }
        _ => return None,
    })
}

/// Each period's instant, when every value is one.
pub(in crate::render) fn instants(values: &PerPeriod) -> Option<Vec<NaiveDateTime>> {
    values
        .iter()
        .map(|value| match value {
            TimeValue::Instant(instant) => Some(*instant),
            _ => None,
        })
        .collect()
}

/// A series' pass by slices of time.
pub(super) struct Bucketed {
    /// Its stages, spelled whole, ending with the stage that has the plain pass's columns.
    pub(super) sql: String,
    /// With totals over all history: how the attributes stage finds each period's row.
    pub(super) totals: Option<Totals>,
}

/// A bucketed pass with totals over all history has a row per user and period the user has
/// facts in (in a window, or counted first there), whose totals hold from that period's end
/// (`segc_from`) until the end of the user's next such period (`segc_until`): the attributes
/// stage joins it on that range.
pub(super) struct Totals {
    /// Each period's end, as the spine's column: what the rows are ordered by, and what the
    /// range is compared with.
    pub(super) end: String,
    /// Per aggregate, in order: whether it is such a total; a window's value holds in its
    /// own period only.
    pub(super) running: Vec<bool>,
}

/// The bucketed stages of a series' pass, ending with the stage named `name` that has the
/// plain pass's columns; none when the pass keeps the plain plan.
pub(super) fn bucketed(
    sql: &mut Sql<'_, '_>,
    statement: &Statement<'_>,
    names: &Names<'_>,
    stage: &PassStage,
    name: &str,
) -> Result<Option<Bucketed>, Error> {
    let periods = &statement.periods;
    let (Some(time), true, true, false) = (
        &stage.time,
        periods.is_series(),
        stage.ranked.is_empty(),
        stage.join_users,
    ) else {
        return Ok(None);
    };
    // Slices are cut at instants; a source whose time is a date keeps the plain plan, whose
    // bounds are its local days.
    if statement.plan().project.time_is_date(stage.source) {
        return Ok(None);
    }
    let Some(ends) = instants(&periods.ends()) else {
        return Ok(None);
    };
    // A period's totals hold until the next period's end: every end must be its own.
    let mut distinct = ends.clone();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() != ends.len() {
        return Ok(None);
    }
    // Each aggregate's partials and where it reads them; the distinct bounded windows.
    let mut windows: Vec<PeriodWindows> = Vec::new();
    let mut plan = Vec::new();
    for aggregate in &stage.aggregates {
        let Some(parts) = partials(aggregate, sql.pieces()) else {
            return Ok(None);
        };
        let Some(window) = &aggregate.rows.window else {
            return Ok(None);
        };
        if window.after_signup.is_some() {
            return Ok(None);
        }
        let reads = match (&window.bounds.start, &window.bounds.end) {
            (None, None) => Reads::Running,
            (Some(start), end) => {
                let start = instants(start);
                let end = match end {
                    Some(end) => instants(end),
                    None => Some(ends.clone()),
                };
                let (Some(start), Some(end)) = (start, end) else {
                    return Ok(None);
                };
                Reads::Window(number_of(
                    &mut windows,
                    start.into_iter().zip(end).collect(),
                ))
            }
            (None, Some(_)) => return Ok(None),
        };
        plan.push((aggregate, parts, reads));
    }
    let Some(slicing) = Slicing::new(&ends, &windows) else {
        return Ok(None);
    };
    let q = |name: &str| names.q(name);
    let (f, b, l, t) = (
        names.alias(Alias::Facts),
        names.alias(Alias::Slices),
        names.alias(Alias::Links),
        names.alias(Alias::Spine),
    );
    let project = statement.plan().project;
    let source = project.source(stage.source);
    let part = |index: usize, piece: usize| q(&format!("segc_p{index}_{piece}"));
    let (user, period, slice_column) = (q("segc_user"), q("segc_period"), q("segc_slice"));
    let column = format!("{f}.{}", q(time));
    let cuts = &slicing.cuts;
    let top = cuts.len() - 1;
    let slice = slice_of(sql, &column, cuts, 0, top, &mut |_, slice| {
        Ok(slice.to_string())
    })?;
    let user_key = sql.key(source, format!("{f}.{}", q(&stage.user_key)))?;
    let last = cuts.last().copied().unwrap_or_default();
    let mut filter = vec![format!("{column} < {}", sql.timestamp(last)?)];
    if let Some(first) = stage.lower_bounds.as_ref().and_then(instants)
        && let Some(first) = first.into_iter().min()
    {
        filter.push(format!("{column} >= {}", sql.timestamp(first)?));
    }
    // The facts read, each with its slice (and `more` columns).
    let facts = |more: &str| {
        format!(
            "(\n    SELECT {f}.*, {slice} AS {slice_column}{more}\n    FROM {table} AS {f}\n    WHERE {filter}\n  ) AS {f}",
            table = names.table(stage.source),
            filter = filter.join(" AND "),
        )
    };
    let slices_name = q(&format!("segc_slices_{}", source.name));
    let links_name = q(&format!("segc_links_{}", source.name));
    let periods_name = q(&format!("segc_periods_{}", source.name));
    let (origin, source_name) = (comment_text(&source.origin.to_string()), &source.name);

    let reads_before = sql.spine_reads();
    // Where a slice is read by about one period, the facts go straight to the periods. Every
    // distinct count of days then reads a window as bits, so no user's days are grouped
    // first (the one form the stage per slice has and this has not).
    let mut out = if let Some(direct) = direct_partials(sql, &plan, &windows, &slicing, names)? {
        if sql.spine_reads() != reads_before {
            // A `where` that depends on the period.
            return Ok(None);
        }
        format!(
            "{links}{periods_name} AS (\n  -- source {source_name} per user and period: each fact in the windows and the totals of the periods that read its slice of time ({origin})\n  SELECT\n    {user_key} AS {user},\n    {l}.{period} AS {period},\n    {}\n  FROM {facts}\n  JOIN {links_name} AS {l} ON {l}.{slice_column} = {f}.{slice_column}\n  GROUP BY {user_key}, {l}.{period}\n),\n",
            direct.columns.join(",\n    "),
            links = links(
                sql,
                &slicing,
                &windows,
                &direct.day_windows,
                names,
                &links_name
            )?,
            facts = facts(""),
        )
    } else {
        // The slices a window of a distinct count of days reads: only there do its days
        // count, as bits from the slice's first local day, in words enough for the longest
        // of them (a fact in any other slice has no first day, so no bit).
        let day_slices: Vec<usize> = {
            let mut read: Vec<usize> = plan
                .iter()
                .filter(|(aggregate, _, _)| aggregate.function == Function::CountDistinct)
                .filter_map(|(_, _, reads)| match reads {
                    Reads::Window(number) => Some(*number),
                    Reads::Running => None,
                })
                .flat_map(|number| {
                    slicing
                        .links
                        .iter()
                        .filter(move |link| link.windows[number])
                        .map(|link| link.slice)
                })
                .collect();
            read.sort_unstable();
            read.dedup();
            read
        };
        let bit_words = if names.dialect.capabilities.day_bits {
            day_slices
                .iter()
                .map(|slice| Some((cuts[slice.checked_sub(1)?], cuts[*slice])))
                .collect::<Option<Vec<_>>>()
                .and_then(most_day_words)
        } else {
            None
        };
        // The slices: each aggregate's partials over the facts its `where` keeps, each
        // distinct partial once (`sources[index][piece]` names its column).
        let mut columns: Vec<String> = Vec::new();
        // Per column: its value over a user's day in a slice, and how the days combine it;
        // with distinct counts of days in windows, each user's days are grouped first.
        let mut per_day: Vec<(String, &str)> = Vec::new();
        let mut day: Option<String> = None;
        let mut day_windows: Vec<String> = Vec::new();
        let mut by_day = names.dialect.capabilities.days_first;
        let mut sources = Vec::new();
        // Each fact's slice's first local day, for distinct counts of days as bits.
        let first_day_column = q("segc_first_day");
        let first_day = format!("{f}.{first_day_column}");
        for (aggregate, parts, reads) in &plan {
            // A window's partials skip the facts before its earliest start: the slices
            // before it are read by no period (and a distinct count is cheaper over fewer
            // facts).
            let earliest = match reads {
                Reads::Window(number) => windows[*number].iter().map(|(start, _)| *start).min(),
                Reads::Running => None,
            };
            let since = earliest
                .map(|start| Ok::<_, Error>(format!("{column} >= {}", sql.timestamp(start)?)))
                .transpose()?;
            let mut named = Vec::new();
            for function in parts {
                let bits = match (*function, bit_words, reads) {
                    (Function::CountDistinct, Some(words), Reads::Window(_)) => {
                        let (day, condition) = sql.fact_partial_day(aggregate, since.clone())?;
                        Some(sql.day_bits(&day, &first_day, condition.as_deref(), words)?)
                    }
                    _ => None,
                };
                let partial = match &bits {
                    Some(bits) => bits.clone(),
                    None => sql.fact_partial(aggregate, *function, since.clone())?,
                };
                let number = number_of(&mut columns, partial.clone());
                if number == per_day.len() {
                    per_day.push(if *function == Function::CountDistinct && bits.is_none() {
                        let (value, condition) = sql.fact_partial_day(aggregate, since.clone())?;
                        by_day &= since.is_some()
                            && condition.is_some()
                            && day.as_ref().is_none_or(|day| *day == value);
                        let flag = Sql::day_flag(&value, condition.as_deref());
                        day_windows.extend(condition);
                        day = Some(value);
                        (flag, "SUM")
                    } else {
                        (partial, combiner(*function))
                    });
                }
                named.push(q(&format!("segc_s{number}")));
            }
            sources.push(named);
        }
        if sql.spine_reads() != reads_before {
            // A `where` that depends on the period.
            return Ok(None);
        }
        let by_day = match (&day, by_day) {
            (Some(day), true) => Some(Sql::day_key(day, &day_windows)),
            _ => None,
        };
        let column_name = |number: usize| q(&format!("segc_s{number}"));
        let columns: Vec<String> = match &by_day {
            None => columns
                .iter()
                .enumerate()
                .map(|(number, partial)| format!("{partial} AS {}", column_name(number)))
                .collect(),
            Some(_) => per_day
                .iter()
                .enumerate()
                .map(|(number, (_, combine))| {
                    format!(
                        "{combine}({f}.{name}) AS {name}",
                        name = column_name(number)
                    )
                })
                .collect(),
        };
        // With words, some distinct count of days reads a slice (its one partial is the
        // distinct count), so its facts carry their slice's first day.
        let first_day_of = &mut |sql: &mut Sql<'_, '_>, slice: usize| match slice.checked_sub(1) {
            Some(before) if day_slices.binary_search(&slice).is_ok() => {
                let start = sql.timestamp(cuts[before])?;
                sql.local_date(&start)
            }
            // Typed: a CASE whose branches are all NULL is text on PostgreSQL.
            _ => sql.cast("NULL".to_string(), "date"),
        };
        let facts = match bit_words {
            Some(_) => facts(&format!(
                ",\n      {} AS {first_day_column}",
                slice_of(sql, &column, cuts, 0, top, first_day_of)?
            )),
            None => facts(""),
        };
        let mut out = match &by_day {
            None => format!(
                "{slices_name} AS (\n  -- source {source_name} once per user and slice of time between the periods' boundaries ({origin})\n  SELECT\n    {user_key} AS {user},\n    {f}.{slice_column} AS {slice_column},\n    {columns}\n  FROM {facts}\n  GROUP BY {user_key}, {f}.{slice_column}\n),\n",
                columns = columns.join(",\n    "),
            ),
            Some(key) => {
                let days: Vec<String> = per_day
                    .iter()
                    .enumerate()
                    .map(|(number, (value, _))| format!("{value} AS {}", column_name(number)))
                    .collect();
                let facts = facts.replace('\n', "\n  ");
                format!(
                    "{slices_name} AS (\n  -- source {source_name} once per user and slice of time between the periods' boundaries, each user's days first ({origin})\n  SELECT\n    {f}.{user} AS {user},\n    {f}.{slice_column} AS {slice_column},\n    {columns}\n  FROM (\n    -- each user's facts per day where a distinct count of days reads them, in one group per slice for the others\n    SELECT\n      {user_key} AS {user},\n      {f}.{slice_column} AS {slice_column},\n      {days}\n    FROM {facts}\n    GROUP BY {user_key}, {f}.{slice_column}, {key}\n  ) AS {f}\n  GROUP BY {f}.{user}, {f}.{slice_column}\n),\n",
                    columns = columns.join(",\n    "),
                    days = days.join(",\n      "),
                )
            }
        };
        out.push_str(&links(sql, &slicing, &windows, &[], names, &links_name)?);
        // Per user and period: each window's slices, and the slices that end in the period.
        let mut combined = Vec::new();
        for (index, (_, parts, reads)) in plan.iter().enumerate() {
            let flag = link_flag(names, *reads);
            for (piece, function) in parts.iter().enumerate() {
                combined.push(format!(
                    "{}(CASE WHEN {l}.{flag} = 1 THEN {b}.{} END) AS {}",
                    combiner(*function),
                    sources[index][piece],
                    part(index, piece)
                ));
            }
        }
        out.push_str(&format!(
            "{periods_name} AS (\n  -- per user and period: the slices of each window, and those that end in the period\n  SELECT\n    {b}.{user} AS {user},\n    {l}.{period} AS {period},\n    {}\n  FROM {slices_name} AS {b}\n  JOIN {links_name} AS {l} ON {l}.{slice_column} = {b}.{slice_column}\n  GROUP BY {b}.{user}, {l}.{period}\n),\n",
            combined.join(",\n    ")
        ));
        out
    };
    // Per user and period, the plain pass's columns: a window's value as it is, and a value
    // over all history as the running total over the user's periods so far.
    let all_history = plan
        .iter()
        .any(|(_, _, reads)| matches!(reads, Reads::Running));
    let order = {
        let mut spine = sql.reading_spine_from(Alias::Spine);
        spine.time_value(&periods.ends())?
    };
    let over = format!(
        "OVER (PARTITION BY {f}.{user} ORDER BY {order} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
    );
    let mut finals = Vec::new();
    let mut exact = ExactColumns::default();
    for (index, (aggregate, parts, reads)) in plan.iter().enumerate() {
        let value = |piece: usize, function: Function| match reads {
            Reads::Running => {
                format!("{}({f}.{}) {over}", combiner(function), part(index, piece))
            }
            Reads::Window(_) => format!("{f}.{}", part(index, piece)),
        };
        let attribute = project.attribute(aggregate.attribute);
        let spelled = match aggregate.function {
            Function::Sum | Function::Avg if !aggregate.whole => {
                let pieces = usize::from(sql.pieces());
                let sums: Vec<String> = (0..pieces)
                    .map(|piece| value(piece, parts[piece]))
                    .collect();
                let count =
                    (aggregate.function == Function::Avg).then(|| value(pieces, parts[pieces]));
                sql.exact_sum(sums, count)?
            }
            Function::Avg => Aggregated::Plain(sql.call(
                "divide",
                &[
                    minijinja::Value::from(value(0, parts[0])),
                    minijinja::Value::from(value(1, parts[1])),
                ],
            )?),
            Function::Sum | Function::Min | Function::Max => Aggregated::Plain(value(0, parts[0])),
            // Counts stay whole numbers (a sum of counts is wider on some warehouses).
            _ => Aggregated::Plain(sql.cast(value(0, parts[0]), "bigint")?),
        };
        let comment = comment_text(&format!("{} ({})", attribute.name, attribute.origin));
        for (text, alias) in exact.items(sql, q(&attribute.name), spelled)? {
            finals.push((format!("{text} AS {alias}"), comment.clone()));
        }
    }
    // The comma goes before the line's comment.
    let finals = finals
        .iter()
        .enumerate()
        .map(|(index, (item, comment))| {
            let comma = if index + 1 < finals.len() { "," } else { "" };
            format!("{item}{comma} -- {comment}")
        })
        .collect::<Vec<_>>()
        .join("\n    ");
    exact.keep(period.clone());
    exact.keep(user.clone());
    if all_history {
        exact.keep(q("segc_from"));
        exact.keep(q("segc_until"));
    }
    if !all_history {
        let select = exact.around(
            sql,
            format!(
                "  SELECT\n    {f}.{period} AS {period},\n    {f}.{user} AS {user},\n    {finals}\n  FROM {periods_name} AS {f}",
            ),
        )?;
        out.push_str(&format!(
            "{name} AS (\n  -- per period and user: each window's value\n{select}\n),\n",
        ));
        return Ok(Some(Bucketed {
            sql: out,
            totals: None,
        }));
    }
    // A row per user and period with facts: the totals up to its end hold until the end of
    // the user's next such row (after the last, past every period's end), and the attributes
    // stage finds each period's row on that range. The window of the running totals sorts
    // each user's rows with facts, not every user's every period.
    let last_end = ends.iter().max().copied().unwrap_or_default();
    let past_every_end = sql.timestamp(last_end + chrono::Duration::days(1))?;
    let select = exact.around(
        sql,
        format!(
            "  SELECT\n    {f}.{period} AS {period},\n    {f}.{user} AS {user},\n    {order} AS {from},\n    COALESCE(LEAD({order}) OVER (PARTITION BY {f}.{user} ORDER BY {order}), {past_every_end}) AS {until},\n    {finals}\n  FROM {periods_name} AS {f}\n  JOIN {spine} AS {t} ON {t}.{period} = {f}.{period}",
            from = q("segc_from"),
            until = q("segc_until"),
            spine = q("segc_spine"),
        ),
    )?;
    out.push_str(&format!(
        "{name} AS (\n  -- per user and period with facts in a window or facts that end in it: each window's value, the totals over all history up to the period's end, and until when they hold (the user's next such period's end)\n{select}\n),\n",
    ));
    Ok(Some(Bucketed {
        sql: out,
        totals: Some(Totals {
            end: order,
            running: plan
                .iter()
                .map(|(_, _, reads)| matches!(reads, Reads::Running))
                .collect(),
        }),
    }))
}

/// A pass grouped once per user and period, straight from its facts joined to the links
/// of their slices ([`direct_partials`]).
struct Direct {
    /// Each aggregate's partials over the facts of a user and period, as the periods stage
    /// names them.
    columns: Vec<String>,
    /// The windows whose distinct local days are counted as bits from the window's first
    /// day (a column of the links).
    day_windows: Vec<usize>,
}

/// A slice read by about one period (each fact then joins about one link) is grouped once:
/// the facts joined to their slices' links and grouped per user and period, instead of
/// per user and slice and then again per user and period. None where a fact would join
/// many periods (windows that overlap several periods, so the facts would be copied per
/// period), where a distinct count of days cannot be bits from its window's first day, or
/// where one counts days over all history.
fn direct_partials(
    sql: &mut Sql<'_, '_>,
    plan: &[(&FactAggregate, Vec<Function>, Reads)],
    windows: &[PeriodWindows],
    slicing: &Slicing,
    names: &Names<'_>,
) -> Result<Option<Direct>, Error> {
    // At most half a link more than one per slice, on average.
    if slicing.links.len() * 2 > slicing.cuts.len() * 3 {
        return Ok(None);
    }
    let mut day_windows = Vec::new();
    for (_, parts, reads) in plan {
        if parts.contains(&Function::CountDistinct) {
            match reads {
                Reads::Window(number) if names.dialect.capabilities.day_bits => {
                    number_of(&mut day_windows, *number);
                }
                _ => return Ok(None),
            }
        }
    }
    let words = match day_windows.is_empty() {
        true => None,
        false => {
            let spans = day_windows
                .iter()
                .flat_map(|number| windows[*number].iter().copied());
            let Some(words) = most_day_words(spans) else {
                return Ok(None);
            };
            Some(words)
        }
    };
    let l = names.alias(Alias::Links);
    let mut columns = Vec::new();
    for (index, (aggregate, parts, reads)) in plan.iter().enumerate() {
        // The link says whether the fact's slice is in the window, or counts first in the
        // period's totals.
        let read = Some(format!("{l}.{} = 1", link_flag(names, *reads)));
        for (piece, function) in parts.iter().enumerate() {
            let partial = match (function, reads, words) {
                (Function::CountDistinct, Reads::Window(number), Some(words)) => {
                    let (day, condition) = sql.fact_partial_day(aggregate, read.clone())?;
                    let first = format!("{l}.{}", first_day_of_window(names, *number));
                    sql.day_bits(&day, &first, condition.as_deref(), words)?
                }
                _ => sql.fact_partial(aggregate, *function, read.clone())?,
            };
            columns.push(format!(
                "{partial} AS {}",
                names.q(&format!("segc_p{index}_{piece}"))
            ));
        }
    }
    Ok(Some(Direct {
        columns,
        day_windows,
    }))
}

/// The links: for each slice, the periods that read it, with a flag per window of the
/// period it is in and one for the period's totals over all history (`link_flag`), and the
/// first local day of each of `day_windows` it is in (NULL where it is not).
fn links(
    sql: &mut Sql<'_, '_>,
    slicing: &Slicing,
    windows: &[PeriodWindows],
    day_windows: &[usize],
    names: &Names<'_>,
    links_name: &str,
) -> Result<String, Error> {
    let (slice_column, period) = (names.q("segc_slice"), names.q("segc_period"));
    let mut rows = Vec::new();
    for (at, link) in slicing.links.iter().enumerate() {
        let mut values = vec![
            (link.slice.to_string(), slice_column.clone()),
            (link.period.to_string(), period.clone()),
            (
                u8::from(link.running).to_string(),
                link_flag(names, Reads::Running),
            ),
        ];
        for (number, inside) in link.windows.iter().enumerate() {
            values.push((
                u8::from(*inside).to_string(),
                link_flag(names, Reads::Window(number)),
            ));
        }
        for number in day_windows {
            let first = match link.windows[*number] {
                true => {
                    let start = sql.timestamp(windows[*number][link.period].0)?;
                    sql.local_date(&start)?
                }
                false => sql.cast("NULL".to_string(), "date")?,
            };
            values.push((first, first_day_of_window(names, *number)));
        }
        let spelled: Vec<String> = values
            .into_iter()
            .map(|(value, name)| match at {
                0 => format!("{value} AS {name}"),
                _ => value,
            })
            .collect();
        rows.push(format!("SELECT {}", spelled.join(", ")));
    }
    Ok(format!(
        "{links_name} AS (\n  -- the slices each period reads: those that end in it (for totals over all history), and each window's\n  {}\n),\n",
        rows.join(" UNION ALL\n  ")
    ))
}

/// The links' flag that says whether a slice counts for an aggregate that `reads` in the
/// link's period.
fn link_flag(names: &Names<'_>, reads: Reads) -> String {
    match reads {
        Reads::Window(number) => names.q(&format!("segc_w{}", number + 1)),
        Reads::Running => names.q("segc_running"),
    }
}

/// The links' column holding the first local day of window `number` in the link's period.
fn first_day_of_window(names: &Names<'_>, number: usize) -> String {
    names.q(&format!("segc_d{}", number + 1))
}

/// The position of `item` in `list`, added at the end when it is not there yet.
fn number_of<T: PartialEq>(list: &mut Vec<T>, item: T) -> usize {
    match list.iter().position(|known| *known == item) {
        Some(number) => number,
        None => {
            list.push(item);
            list.len() - 1
        }
    }
}

/// `leaf` of the slice `column` lies in, for cuts `lo..=hi`: a balanced CASE (facts
/// before `cuts[0]` are in slice 0, from `cuts[j - 1]` in slice `j`).
fn slice_of(
    sql: &mut Sql<'_, '_>,
    column: &str,
    cuts: &[NaiveDateTime],
    lo: usize,
    hi: usize,
    leaf: &mut dyn FnMut(&mut Sql<'_, '_>, usize) -> Result<String, Error>,
) -> Result<String, Error> {
    if lo == hi {
        return leaf(sql, lo);
    }
    // Slices lo..=mid - 1 are before cuts[mid - 1]; mid..=hi from it.
    let mid = (lo + hi).div_ceil(2);
    let below = slice_of(sql, column, cuts, lo, mid - 1, leaf)?;
    let above = slice_of(sql, column, cuts, mid, hi, leaf)?;
    Ok(format!(
        "CASE WHEN {column} < {} THEN {below} ELSE {above} END",
        sql.timestamp(cuts[mid - 1])?
    ))
}
