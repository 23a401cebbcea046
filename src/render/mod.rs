//! Plan → SQL for one dialect: a minijinja environment holding the default macros, then the
//! dialect's ancestors' overrides, then its own; the statement skeleton lays out the stages.

mod expr;

use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value, context};
use serde::Serialize;

use crate::dialect::{DEFAULT_MACROS, Dialect, REPORT_TEMPLATE};
use crate::error::Error;
use crate::ir::{AttributeKind, KpiKind, KpiType, SourceRole, ValueType};
use crate::plan::Plan;

use expr::Sql;

/// Builds the template environment for a dialect.
fn environment(dialect: &Dialect) -> Result<Environment<'static>, Error> {
    let mut env = Environment::new();
    // SQL is not HTML: no auto-escaping; every value is quoted by the dialect's own functions.
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    let mut syntax = minijinja::syntax::SyntaxConfig::builder();
    syntax.trim_blocks(true).lstrip_blocks(true);
    env.set_syntax(syntax.build().map_err(|e| Error::Render(e.to_string()))?);
    // Later definitions of a macro replace earlier ones: defaults, then ancestors, then the dialect.
    let mut macros = String::new();
    for (_, source) in DEFAULT_MACROS {
        macros.push_str(source);
        macros.push('\n');
    }
    for (_, source) in dialect.macro_chain()? {
        macros.push_str(source);
        macros.push('\n');
    }
    env.add_template_owned("macros.sql.j2", macros)
        .map_err(template_error)?;
    env.add_template("report.sql.j2", REPORT_TEMPLATE)
        .map_err(template_error)?;
    env.add_global(
        "types",
        Value::from(minijinja::value::Serde(&dialect.types)),
    );
    let quoting = dialect.clone();
    env.add_function("q", move |name: String| quoting.quote_identifier(&name));
    Ok(env)
}

/// Runs `build` with a renderer whose macros are `dialect`'s (from `env`).
fn with_sql<'p, T>(
    env: &Environment<'static>,
    plan: &'p Plan<'p>,
    dialect: &Dialect,
    series: Option<&'p [(String, Plan<'p>)]>,
    build: impl FnOnce(&mut Sql<'_, '_>) -> Result<T, Error>,
) -> Result<T, Error> {
    let macros = env.get_template("macros.sql.j2").map_err(template_error)?;
    let mut captured = macros
        .render_captured(context! {})
        .map_err(template_error)?;
    captured.with_state_mut(|state| build(&mut Sql::new(state, dialect, plan, series)))
}

fn template_error(error: minijinja::Error) -> Error {
    Error::Render(format!("template error: {error:#}"))
}

#[derive(Serialize)]
struct Item {
    sql: String,
    alias: String,
    comment: String,
}

#[derive(Serialize)]
struct Join {
    table: String,
    alias: String,
    on: String,
}

#[derive(Serialize)]
struct UsersStage {
    columns: Vec<Item>,
    table: String,
    joins: Vec<Join>,
    filter: String,
    origin: String,
}

#[derive(Serialize)]
struct PassStage {
    name: String,
    /// For a series: the period column to group by.
    period: Option<String>,
    alias: String,
    source: String,
    origin: String,
    table: String,
    user_key: String,
    filter: String,
    /// Joins the users stage, for windows that count from each user's sign-up.
    join_users: bool,
    /// Rank columns of ordered facts: the pass then reads a numbered copy of its rows.
    ranks: Vec<Item>,
    aggregates: Vec<Item>,
}

/// A stage adding the flags of drill-downs whose parents' flags an earlier stage holds.
#[derive(Serialize)]
struct MemberStage {
    name: String,
    /// The stage before, whose columns this one carries.
    source: String,
    columns: Vec<Item>,
}

/// A row of the report's row list: its position, then its segment's name and its parent's
/// as SQL values (a string literal, or a typed NULL).
#[derive(Serialize)]
struct RowItem {
    ordinal: usize,
    segment: String,
    parent: String,
}

/// The result column naming each row's segment, as in the CSV and JSON output.
pub const SEGMENT_COLUMN: &str = "segment";
/// The result column naming the segment's parent (NULL for `all_users` and top-level rows).
pub const PARENT_COLUMN: &str = "parent";
/// The result column holding each row's position, 0 for `all_users`.
pub const ROW_COLUMN: &str = "segc_row";
/// The result column of a month-by-month series holding the period's number, 0 for the first.
pub const PERIOD_COLUMN: &str = "segc_period";

/// The columns of every report statement's rows before its KPIs (after [`PERIOD_COLUMN`] in
/// a month-by-month series), so that the statement pasted in a console shows which segment
/// each row is.
pub const ROW_COLUMNS: [&str; 3] = [SEGMENT_COLUMN, PARENT_COLUMN, ROW_COLUMN];

/// Text safe inside a `--` comment: no line breaks or other control characters.
fn comment_text(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[derive(Serialize)]
struct ExplainStep {
    passing: String,
    passing_alias: String,
    remaining: String,
    remaining_alias: String,
    comment: String,
}

/// The conditions `segc explain` counts, each with the segment whose condition it is: its
/// ancestors' first, the outermost first (a child's members are its parent's that meet its
/// own conditions), then the segment's own; each segment's top-level conditions in order.
pub fn explain_steps(
    project: &crate::ir::Project,
    segment: crate::ir::SegmentId,
) -> Vec<(crate::ir::SegmentId, crate::ir::Condition)> {
    // `all:`, `any:` and `none:` of one segment are nested groups: list the conditions of
    // every `all` group in writing order, and other groups as one step each.
    fn flatten(condition: &crate::ir::Condition, out: &mut Vec<crate::ir::Condition>) {
        match condition {
            crate::ir::Condition::True => {}
            crate::ir::Condition::All(items) => items.iter().for_each(|item| flatten(item, out)),
            other => out.push(other.clone()),
        }
    }
    let mut steps = Vec::new();
    for owner in project.ancestors(segment).into_iter().chain([segment]) {
        let mut own = Vec::new();
        flatten(&project.segment(owner).condition, &mut own);
        steps.extend(own.into_iter().map(|step| (owner, step)));
    }
    steps
}

/// For `segc explain`: one small query per source counting its rows before the end instant
/// (the user table by sign-up, timed facts by their time, other tables in full).
pub fn render_source_checks(
    plan: &Plan<'_>,
    dialect: &Dialect,
    target: Option<&str>,
) -> Result<Vec<(String, String)>, Error> {
    with_sql(&environment(dialect)?, plan, dialect, None, |sql| {
        let end = sql.timestamp(plan.end_instant())?;
        let count = sql.call("count_rows", &[])?;
        let count = sql.call("cast", &[Value::from(count), Value::from("bigint")])?;
        let mut checks = Vec::new();
        for source in &plan.project.sources {
            let table = dialect.quote_path(source.table.resolve(target, &dialect.name));
            let time = match &source.role {
                SourceRole::Users { signup, .. } => Some(signup.as_str()),
                SourceRole::Facts {
                    time: Some(time), ..
                } => Some(time.as_str()),
                _ => None,
            };
            let filter = time
                .map(|t| format!(" WHERE {} < {end}", dialect.quote_identifier(t)))
                .unwrap_or_default();
            checks.push((
                source.name.clone(),
                format!(
                    "SELECT {count} AS {} FROM {table}{filter}",
                    dialect.quote_identifier("segc_rows")
                ),
            ));
        }
        Ok(checks)
    })
}

/// Renders the plan as one SQL statement for `dialect`. `target` picks per-target table names.
pub fn render(plan: &Plan<'_>, dialect: &Dialect, target: Option<&str>) -> Result<String, Error> {
    render_statement(plan, dialect, target, None, None)
}

/// How the periods of a series run are combined into one result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesShape {
    /// Two periods, the report's and an earlier one: one row per segment with, per KPI, the
    /// value, `<kpi>__prior`, and for numbers `<kpi>__change` and `<kpi>__change_pct`.
    Compare,
    /// One row per period and segment: `segc_period` (0, 1, …), `segment`, `parent`,
    /// `segc_row`, the KPIs.
    Periods,
}

/// The columns a compare run gives for one KPI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompareColumns {
    pub value: String,
    /// `<kpi>__prior`.
    pub prior: String,
    /// `<kpi>__change` and `<kpi>__change_pct`, for numbers only.
    pub change: Option<(String, String)>,
}

/// The column names of a compare run after [`ROW_COLUMNS`], KPI by KPI.
pub fn compare_columns(
    project: &crate::ir::Project,
    kpis: &[crate::ir::KpiId],
) -> Vec<CompareColumns> {
    kpis.iter()
        .map(|id| {
            let kpi = project.kpi(*id);
            let name = kpi.name.clone();
            let numeric = matches!(kpi.value_type, KpiType::Integer | KpiType::Double);
            CompareColumns {
                prior: format!("{name}__prior"),
                change: numeric.then(|| (format!("{name}__change"), format!("{name}__change_pct"))),
                value: name,
            }
        })
        .collect()
}

/// Renders several reports of one project, each at its own as-of day and period, as one
/// statement: a spine stage with one row per period holding every value that depends on the
/// period, every stage computed per period and user, then one final SELECT. `periods` pairs a
/// label (for comments) with each plan; every plan must report the same rows and KPIs.
pub fn render_series(
    periods: &[(String, Plan<'_>)],
    dialect: &Dialect,
    target: Option<&str>,
    shape: SeriesShape,
) -> Result<String, Error> {
    let Some((_, first)) = periods.first() else {
        return Err(Error::Usage("a series needs at least one period".into()));
    };
    if shape == SeriesShape::Compare && periods.len() != 2 {
        return Err(Error::Render("a comparison has exactly two periods".into()));
    }
    // The latest period's clock knows the time zone's offsets for every earlier one.
    let latest = periods
        .iter()
        .map(|(_, plan)| plan)
        .max_by_key(|plan| plan.end_instant())
        .unwrap_or(first);
    let q = |name: &str| dialect.quote_identifier(name);
    let project = first.project;
    let labels: Vec<&str> = periods.iter().map(|(label, _)| label.as_str()).collect();
    let mut statement = format!(
        "-- segc: project {}, dialect {}, {} ({})\nWITH\n",
        comment_text(&project.name),
        dialect.name,
        match shape {
            SeriesShape::Compare => "compared with an earlier period",
            SeriesShape::Periods => "one report per period",
        },
        comment_text(&labels.join(", "))
    );
    statement.push_str(render_statement(latest, dialect, target, None, Some(periods))?.trim_end());
    statement.push('\n');
    let (period, row) = (q(PERIOD_COLUMN), q(ROW_COLUMN));
    match shape {
        SeriesShape::Periods => {
            // Every column named, so the statement read or pasted shows what it returns.
            let r = q("r");
            let columns: Vec<String> = [PERIOD_COLUMN]
                .into_iter()
                .chain(ROW_COLUMNS)
                .chain(first.kpis.iter().map(|id| project.kpi(*id).name.as_str()))
                .map(|name| format!("{r}.{name} AS {name}", name = q(name)))
                .collect();
            statement.push_str(&format!(
                "SELECT\n  {}\nFROM {} AS {r}\nORDER BY {r}.{period}, {r}.{row}\n",
                columns.join(",\n  "),
                q("segc_result"),
            ));
        }
        SeriesShape::Compare => {
            let env = environment(dialect)?;
            let (c, p) = (q("c"), q("p"));
            let mut columns: Vec<String> = ROW_COLUMNS
                .iter()
                .map(|name| format!("{c}.{name} AS {name}", name = q(name)))
                .collect();
            with_sql(&env, first, dialect, None, |sql| -> Result<(), Error> {
                for CompareColumns {
                    value: name,
                    prior,
                    change,
                } in compare_columns(project, &first.kpis)
                {
                    let (now, before) = (format!("{c}.{}", q(&name)), format!("{p}.{}", q(&name)));
                    columns.push(format!("{now} AS {}", q(&name)));
                    columns.push(format!("{before} AS {}", q(&prior)));
                    if let Some((change, change_pct)) = change {
                        let difference = format!("{now} - {before}");
                        columns.push(format!("{difference} AS {}", q(&change)));
                        let relative = sql.call(
                            "divide",
                            &[Value::from(difference), Value::from(before.clone())],
                        )?;
                        columns.push(format!("{relative} AS {}", q(&change_pct)));
                    }
                }
                Ok(())
            })?;
            statement.push_str(&format!(
                "SELECT\n  {}\nFROM {result} AS {c}\nJOIN {result} AS {p} ON {p}.{row} = {c}.{row} AND {p}.{period} = 1\nWHERE {c}.{period} = 0\nORDER BY {c}.{row}\n",
                columns.join(",\n  "),
                result = q("segc_result"),
            ));
        }
    }
    Ok(statement)
}

/// The columns of `segc explain`'s one row for `steps` conditions, in order: the number of
/// existing users, then for each condition N `segc_pass_N` (users passing it) and
/// `segc_left_N` (users passing it and every condition before it).
pub fn explain_columns(steps: usize) -> Vec<String> {
    let mut columns = vec![EXPLAIN_USERS_COLUMN.to_string()];
    for number in 1..=steps {
        columns.push(format!("{EXPLAIN_PASSING_PREFIX}_{number}"));
        columns.push(format!("{EXPLAIN_LEFT_PREFIX}_{number}"));
    }
    columns
}

const EXPLAIN_USERS_COLUMN: &str = "segc_users";
const EXPLAIN_PASSING_PREFIX: &str = "segc_pass";
const EXPLAIN_LEFT_PREFIX: &str = "segc_left";

/// Renders `segc explain` for a segment: one row of [`explain_columns`].
pub fn render_explain(
    plan: &Plan<'_>,
    dialect: &Dialect,
    target: Option<&str>,
    segment: crate::ir::SegmentId,
) -> Result<String, Error> {
    if explain_steps(plan.project, segment).is_empty() {
        return Err(Error::Usage(format!(
            "segment `{}` has no conditions: it holds every user",
            plan.project.segment(segment).name
        )));
    }
    render_statement(plan, dialect, target, Some(segment), None)
}

/// The spine stage's rows for a series (none for a single report): the period number, then
/// each period-dependent value the statement uses.
fn spine_rows(sql: &Sql<'_, '_>, dialect: &Dialect) -> Vec<String> {
    let Some(periods) = sql.series_len() else {
        return Vec::new();
    };
    (0..periods)
        .map(|index| {
            let mut columns = vec![format!(
                "{index} AS {}",
                dialect.quote_identifier("segc_period")
            )];
            for (name, values) in &sql.spine_columns {
                columns.push(format!(
                    "{} AS {}",
                    values[index],
                    dialect.quote_identifier(name)
                ));
            }
            columns.join(", ")
        })
        .collect()
}

/// One report statement; with `series` (every period's plan), only its stages, computed per
/// period from a `segc_spine` stage and ending in a `segc_result` stage, for [`render_series`].
fn render_statement<'p>(
    plan: &'p Plan<'p>,
    dialect: &Dialect,
    target: Option<&str>,
    explain: Option<crate::ir::SegmentId>,
    series: Option<&'p [(String, Plan<'p>)]>,
) -> Result<String, Error> {
    let env = environment(dialect)?;
    let project = plan.project;
    let spine = series.is_some();
    let ctx = with_sql(&env, plan, dialect, series, |sql| -> Result<Value, Error> {
        let q = |name: &str| dialect.quote_identifier(name);
        let table = |source: crate::ir::SourceId| {
            dialect.quote_path(project.source(source).table.resolve(target, &dialect.name))
        };

        // Stage 1: the user table and its dimensions.
        let users_source = project.source(plan.users);
        let (key, signup) = match &users_source.role {
            SourceRole::Users { key, signup } => (key.clone(), signup.clone()),
            _ => return Err(Error::Render("the project has no user table".into())),
        };
        let mut columns = vec![Item {
            sql: format!("{}.{}", q("u"), q(&key)),
            alias: q("segc_user"),
            comment: String::new(),
        }];
        sql.spine_alias = "t".into();
        // The as-of instant (per period in a series): users, point-in-time columns and rows of
        // sources keeping history are read before it.
        let end = sql.per_period(|sql, plan| sql.timestamp(plan.end_instant()))?;
        for id in &plan.column_attributes {
            let attribute = project.attribute(*id);
            if let AttributeKind::Column {
                source,
                column,
                as_date,
                point_in_time,
            } = &attribute.kind
            {
                let alias = if *source == plan.users {
                    q("u")
                } else {
                    q(&format!("d_{}", project.source(*source).name))
                };
                let mut value = format!("{alias}.{}", q(column));
                // Point in time: a date or timestamp of a user or dimension row records when
                // something happened, so one at or after the as-of instant is not known yet.
                let known_before = match point_in_time {
                    Some(ValueType::Timestamp) => Some(end.clone()),
                    Some(ValueType::Date) => {
                        Some(sql.per_period(|sql, plan| sql.date(plan.time.end_day()))?)
                    }
                    _ => None,
                };
                if let Some(end) = known_before {
                    value = format!("CASE WHEN {value} < {end} THEN {value} END");
                }
                if *as_date {
                    value = sql.local_date(&value)?;
                } else if attribute.value_type == ValueType::Boolean {
                    value = sql.boolean_flag(&value);
                }
                columns.push(Item {
                    sql: value,
                    alias: q(&attribute.name),
                    comment: String::new(),
                });
            }
        }
        // A source keeping history contributes the row valid at the as-of instant: valid
        // from before it, and not ended before it.
        let valid_at_end = |alias: &str, source: &crate::ir::Source| {
            source.history.as_ref().map(|history| {
                let (from, to) = (
                    format!("{alias}.{}", q(&history.valid_from)),
                    format!("{alias}.{}", q(&history.valid_to)),
                );
                format!("{from} < {end} AND ({to} IS NULL OR {to} >= {end})")
            })
        };
        let joins = plan
            .dimensions
            .iter()
            .map(|id| {
                let source = project.source(*id);
                let alias = q(&format!("d_{}", source.name));
                let mut on = match &source.role {
                    SourceRole::Dimension { key } => {
                        let users_column = users_source
                            .column(key)
                            .map_or(key.as_str(), |c| c.physical.as_str());
                        format!("{alias}.{} = {}.{}", q(key), q("u"), q(users_column))
                    }
                    _ => "1 = 1".into(),
                };
                if let Some(valid) = valid_at_end(&alias, source) {
                    on = format!("{on} AND {valid}");
                }
                Join {
                    table: table(*id),
                    alias,
                    on,
                }
            })
            .collect();
        if plan.needs_signup() {
            columns.push(Item {
                sql: format!("{}.{}", q("u"), q(&signup)),
                alias: q("segc_signup"),
                comment: String::new(),
            });
        }
        if spine {
            columns.push(Item {
                sql: format!("{}.{}", q("t"), q("segc_period")),
                alias: q("segc_period"),
                comment: String::new(),
            });
        }
        let mut filter = format!("{}.{} < {end}", q("u"), q(&signup));
        if let Some(valid) = valid_at_end(&q("u"), users_source) {
            filter = format!("{filter} AND {valid}");
        }
        let users = UsersStage {
            columns,
            table: table(plan.users),
            joins,
            filter,
            origin: comment_text(&users_source.origin.to_string()),
        };

        // Stage 2: one pass per fact source.
        let mut passes = Vec::new();
        let mut attributes = vec![Item {
            sql: format!("{}.{}", q("u"), q("segc_user")),
            alias: q("segc_user"),
            comment: String::new(),
        }];
        for id in &plan.column_attributes {
            let name = &project.attribute(*id).name;
            attributes.push(Item {
                sql: format!("{}.{}", q("u"), q(name)),
                alias: q(name),
                comment: String::new(),
            });
        }
        for (index, pass) in plan.fact_passes.iter().enumerate() {
            let source = project.source(pass.source);
            let SourceRole::Facts { user_key, time } = &source.role else {
                continue;
            };
            let alias = q(&format!("p{}", index + 1));
            let mut filter = Vec::new();
            sql.spine_alias = "t".into();
            if let Some(time) = time {
                let column = format!("{}.{}", q("f"), q(time));
                // The same pass in every period: bounded below only if it is in each.
                let lower =
                    |plan: &Plan<'_>| plan.fact_passes.get(index).and_then(|p| p.lower_bound);
                let bounded = match series {
                    Some(series) => series.iter().all(|(_, plan)| lower(plan).is_some()),
                    None => pass.lower_bound.is_some(),
                };
                if bounded {
                    let start = sql.per_period(|sql, plan| {
                        sql.timestamp(lower(plan).unwrap_or_else(|| plan.end_instant()))
                    })?;
                    filter.push(format!("{column} >= {start}"));
                }
                filter.push(format!("{column} < {end}"));
            }
            let join_users = pass.reads_after_signup(project);
            // Inside the numbered copy the users stage is `u`; outside it, the copy carries
            // the sign-up instant as a column.
            let inner_signup = format!("{}.{}", q("u"), q("segc_signup"));
            let mut ranks = Vec::new();
            for id in &pass.attributes {
                let attribute = project.attribute(*id);
                if let AttributeKind::Aggregate {
                    aggregation: crate::ir::Aggregation::Nth { .. },
                    ..
                } = attribute.kind
                {
                    let (rank, alias) = sql.fact_rank(*id, &inner_signup)?;
                    ranks.push(Item {
                        sql: rank,
                        alias,
                        comment: comment_text(&attribute.name),
                    });
                }
            }
            // Outside the numbered copy, its rows carry the spine's columns.
            let signup_here = if ranks.is_empty() {
                inner_signup.clone()
            } else {
                sql.spine_alias = "f".into();
                format!("{}.{}", q("f"), q("segc_signup"))
            };
            let mut aggregates = Vec::new();
            for id in &pass.attributes {
                let attribute = project.attribute(*id);
                let AttributeKind::Aggregate { aggregation, .. } = &attribute.kind else {
                    continue;
                };
                aggregates.push(Item {
                    sql: sql.fact_aggregate(*id, &signup_here)?,
                    alias: q(&attribute.name),
                    comment: comment_text(&format!("{} ({})", attribute.name, attribute.origin)),
                });
                let value = format!("{alias}.{}", q(&attribute.name));
                let value = if aggregation.zero_when_empty() {
                    format!("COALESCE({value}, 0)")
                } else {
                    value
                };
                attributes.push(Item {
                    sql: value,
                    alias: q(&attribute.name),
                    comment: String::new(),
                });
            }
            let period = match (spine, ranks.is_empty()) {
                (false, _) => None,
                (true, true) => Some(format!("{}.{}", q("t"), q("segc_period"))),
                (true, false) => Some(format!("{}.{}", q("f"), q("segc_period"))),
            };
            passes.push(PassStage {
                name: q(&format!("segc_facts_{}", source.name)),
                period,
                alias,
                source: source.name.clone(),
                origin: comment_text(&source.origin.to_string()),
                table: table(pass.source),
                user_key: format!("{}.{}", q("f"), q(user_key)),
                filter: if filter.is_empty() {
                    "1 = 1".into()
                } else {
                    filter.join(" AND ")
                },
                join_users,
                ranks,
                aggregates,
            });
        }

        // Quintile scores: windows over every user, in a stage of their own so that
        // conditions and KPIs read them as columns.
        let mut scores = Vec::new();
        sql.spine_alias = "a".into();
        let by_period = sql.period_key("a").unwrap_or_default();
        for id in &plan.score_columns {
            let attribute = project.attribute(*id);
            let AttributeKind::Quintile { of, best_lowest } = attribute.kind else {
                continue;
            };
            let value = sql.attribute_value(of, "a")?;
            let direction = if best_lowest { "DESC" } else { "ASC" };
            scores.push(Item {
                sql: sql.call(
                    "quintile",
                    &[
                        Value::from(value),
                        Value::from(direction),
                        Value::from(by_period.clone()),
                    ],
                )?,
                alias: q(&attribute.name),
                comment: comment_text(&format!("{} ({})", attribute.name, attribute.origin)),
            });
        }

        // Stages 3 and 4 differ for `segc explain`, which ends after the membership stage.
        let mut members = Vec::new();
        let mut member_stages: Vec<MemberStage> = Vec::new();
        let (mut rows, mut membership) = (Vec::new(), String::new());
        let (mut percentile_columns, mut kpi_aggregates, mut outputs) =
            (Vec::new(), Vec::new(), Vec::new());
        let (mut explain_rows, mut explain_total) = (Vec::new(), String::new());
        if explain.is_none() {
            // Stage 3: formula columns KPIs aggregate, and one membership flag per reported segment.
            for id in &plan.formula_columns {
                let attribute = project.attribute(*id);
                members.push(Item {
                    sql: sql.attribute_value(*id, "a")?,
                    alias: q(&attribute.name),
                    comment: comment_text(&format!("{} ({})", attribute.name, attribute.origin)),
                });
            }
            // A drill-down's flag is its parent's flag, from the stage before, and its own
            // conditions: the parent's conditions are written once, whatever its children.
            let flag_name =
                |id: crate::ir::SegmentId| q(&format!("segc_in_{}", project.segment(id).name));
            for (stage, segments) in plan.member_stages.iter().enumerate() {
                let mut columns = Vec::new();
                for id in segments {
                    let segment = project.segment(*id);
                    let own = match &segment.condition {
                        crate::ir::Condition::True => None,
                        condition => Some(sql.condition(condition, "a")?),
                    };
                    let (condition, drills_from) = match project.inherited_parent(*id) {
                        Some(parent) => {
                            let inherited = format!("{}.{} = 1", q("a"), flag_name(parent));
                            let condition = match own {
                                Some(own) => format!("{inherited} AND ({own})"),
                                None => inherited,
                            };
                            let parent = &project.segment(parent).name;
                            (condition, format!(", drill-down of {parent}"))
                        }
                        None => (own.unwrap_or_else(|| "1 = 1".into()), String::new()),
                    };
                    columns.push(Item {
                        sql: sql.call("flag", &[Value::from(condition)])?,
                        alias: flag_name(*id),
                        comment: comment_text(&format!(
                            "segment {} ({}){drills_from}",
                            segment.name, segment.origin
                        )),
                    });
                }
                if stage == 0 {
                    members.extend(columns);
                } else {
                    let source = match member_stages.last() {
                        Some(before) => before.name.clone(),
                        None => q("segc_members"),
                    };
                    member_stages.push(MemberStage {
                        name: q(&format!("segc_members_{stage}")),
                        source,
                        columns,
                    });
                }
            }
            membership = format!("CASE {}.{} WHEN 0 THEN 1", q("s"), q("segc_row"));
            // Names are user text: written only as the dialect's string literals. A missing
            // parent is a typed NULL, so that the row list's UNION ALL is a string column on
            // every engine (to SQL Server a bare NULL is an int).
            let no_parent = sql.call("cast", &[Value::from("NULL"), Value::from("varchar")])?;
            for row in &plan.rows {
                if let Some(id) = row.segment {
                    membership.push_str(&format!(
                        " WHEN {} THEN {}.{}",
                        row.ordinal,
                        q("m"),
                        flag_name(id)
                    ));
                }
                rows.push(RowItem {
                    ordinal: row.ordinal,
                    segment: dialect.string_literal(row.name(project)),
                    parent: row
                        .parent(project)
                        .map_or_else(|| no_parent.clone(), |name| dialect.string_literal(name)),
                });
            }
            membership.push_str(" END");

            // Stage 4: KPI aggregates per row, then ratios and shares.
            sql.spine_alias = "m".into();
            for id in &plan.computed_kpis {
                for (sql_text, alias) in sql.percentile_columns(*id)? {
                    percentile_columns.push(Item {
                        sql: sql_text,
                        alias,
                        comment: comment_text(&project.kpi(*id).name),
                    });
                }
            }
            for id in &plan.computed_kpis {
                let kpi = project.kpi(*id);
                if let KpiKind::Aggregate { .. } = kpi.kind {
                    kpi_aggregates.push(Item {
                        sql: sql.kpi_aggregate(*id)?,
                        alias: q(&kpi.name),
                        comment: comment_text(&format!("{} ({})", kpi.name, kpi.origin)),
                    });
                }
            }
            sql.spine_alias = "t".into();
            for id in &plan.kpis {
                let kpi = project.kpi(*id);
                let comment = comment_text(&format!("{} ({})", kpi.name, kpi.origin));
                let value = sql.kpi_output(*id)?;
                let type_name = match kpi.value_type {
                    KpiType::Integer => "bigint",
                    KpiType::Double => "double",
                    KpiType::Date => "date",
                    KpiType::Timestamp => "timestamp",
                    KpiType::String => "varchar",
                };
                let value = sql.call("cast", &[Value::from(value), Value::from(type_name)])?;
                outputs.push(Item {
                    sql: value,
                    alias: q(&kpi.name),
                    comment,
                });
            }
        }

        // `segc explain`: a flag per condition and per prefix of conditions.
        if let Some(segment) = explain {
            let steps = explain_steps(project, segment);
            let mut so_far: Vec<crate::ir::Condition> = Vec::new();
            for (index, (_, step)) in steps.iter().enumerate() {
                so_far.push(step.clone());
                let number = index + 1;
                let pass = sql.condition(step, "a")?;
                let left = sql.condition(&crate::ir::Condition::All(so_far.clone()), "a")?;
                for (prefix, condition) in
                    [(EXPLAIN_PASSING_PREFIX, pass), (EXPLAIN_LEFT_PREFIX, left)]
                {
                    members.push(Item {
                        sql: sql.call("flag", &[Value::from(condition)])?,
                        alias: q(&format!("{prefix}_{number}")),
                        comment: comment_text(&format!("step {number}")),
                    });
                }
                let count = |sql: &mut expr::Sql<'_, '_>, prefix: &str| -> Result<String, Error> {
                    let flag = format!(
                        "CASE WHEN {}.{} = 1 THEN 1 END",
                        q("m"),
                        q(&format!("{prefix}_{number}"))
                    );
                    let counted = sql.call("count", &[Value::from(flag)])?;
                    sql.call("cast", &[Value::from(counted), Value::from("bigint")])
                };
                explain_rows.push(ExplainStep {
                    passing: count(sql, EXPLAIN_PASSING_PREFIX)?,
                    passing_alias: q(&format!("{EXPLAIN_PASSING_PREFIX}_{number}")),
                    remaining: count(sql, EXPLAIN_LEFT_PREFIX)?,
                    remaining_alias: q(&format!("{EXPLAIN_LEFT_PREFIX}_{number}")),
                    comment: comment_text(&format!("step {number}")),
                });
            }
            let total = sql.call("count_rows", &[])?;
            explain_total = sql.call("cast", &[Value::from(total), Value::from("bigint")])?;
        }

        Ok(context! {
            project => comment_text(&project.name),
            as_of => plan.time.as_of.to_string(),
            time_zone => comment_text(&project.time_zone),
            dialect => dialect.name.clone(),
            end_instant => plan.end_instant().to_string(),
            users => Value::from(minijinja::value::Serde(&users)),
            fact_passes => Value::from(minijinja::value::Serde(&passes)),
            attributes => Value::from(minijinja::value::Serde(&attributes)),
            members => Value::from(minijinja::value::Serde(&members)),
            members_source => member_stages.last().map_or_else(|| q("segc_members"), |stage| stage.name.clone()),
            member_stages => Value::from(minijinja::value::Serde(&member_stages)),
            rows => Value::from(minijinja::value::Serde(&rows)),
            segment_column => q(SEGMENT_COLUMN),
            parent_column => q(PARENT_COLUMN),
            membership => membership,
            explain_steps => Value::from(minijinja::value::Serde(&explain_rows)),
            explain_total => explain_total,
            percentile_columns => Value::from(minijinja::value::Serde(&percentile_columns)),
            kpi_aggregates => Value::from(minijinja::value::Serde(&kpi_aggregates)),
            outputs => Value::from(minijinja::value::Serde(&outputs)),
            scores => Value::from(minijinja::value::Serde(&scores)),
            spine => spine_rows(sql, dialect),
        })
    })?;
    let report = env.get_template("report.sql.j2").map_err(template_error)?;
    report.render(ctx).map_err(template_error)
}
