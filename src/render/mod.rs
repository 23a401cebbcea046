//! Plan → SQL for one dialect: a minijinja environment holding the default macros, then the
//! dialect's ancestors' overrides, then its own; the statement skeleton lays out the stages.

mod alias;
mod buckets;
mod checks;
mod expr;
mod flows;
mod freshness;
mod kpis;
mod masks;
mod members;
mod passes;
mod series;
mod signatures;
mod snapshot;
mod timed;
mod users;
mod write;

use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value, context};
use serde::Serialize;

use crate::dialect::{DEFAULT_MACROS, Dialect, REPORT_TEMPLATE};
use crate::error::Error;
use crate::ir::{SourceId, SourceRole, ValueType};
use crate::plan::Plan;
use crate::plan::statement::{Kind, Statement};
use crate::plan::times::Periods;

use expr::Sql;

pub use crate::plan::output::{
    CompareColumns, PARENT_COLUMN, PERIOD_COLUMN, ROW_COLUMN, ROW_COLUMNS, SEGMENT_COLUMN,
    SeriesShape, compare_columns, explain_columns, explain_steps,
};
pub use checks::{CHECK_KEYS, CHECK_NAME, CHECK_ROWS, CHECK_SOURCE, Checks, render_checks};
pub use flows::history_table;
pub use freshness::{Freshness, NEWEST_COLUMN, SOURCE_COLUMN, render_freshness};
pub use series::render_series;
pub use snapshot::{SnapshotSpec, render_snapshot, render_snapshot_writes};
pub use write::{render_delete, render_of_project, render_replaced};

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
    periods: Periods<'p>,
    dialect: &Dialect,
    build: impl FnOnce(&mut Sql<'_, '_>) -> Result<T, Error>,
) -> Result<T, Error> {
    let macros = env.get_template("macros.sql.j2").map_err(template_error)?;
    let mut captured = macros
        .render_captured(context! {})
        .map_err(template_error)?;
    let mut spine_columns = Vec::new();
    let spine_reads = std::cell::Cell::new(0);
    captured.with_state_mut(|state| {
        build(&mut Sql::new(
            state,
            dialect,
            periods,
            &mut spine_columns,
            &spine_reads,
        ))
    })
}

fn template_error(error: minijinja::Error) -> Error {
    Error::Render(format!("template error: {error:#}"))
}

/// A column of a stage: its SQL, its quoted alias, and a comment.
#[derive(Clone, Serialize)]
struct Item {
    sql: String,
    alias: String,
    comment: String,
}

impl Item {
    fn new(sql: String, alias: String) -> Item {
        Item {
            sql,
            alias,
            comment: String::new(),
        }
    }
}

/// Names as the dialect spells them: identifiers, tables (per target), the aliases of
/// dimensions, string literals.
struct Names<'a> {
    dialect: &'a Dialect,
    project: &'a crate::ir::Project,
    target: Option<&'a str>,
}

impl Names<'_> {
    fn q(&self, name: &str) -> String {
        self.dialect.quote_identifier(name)
    }

    fn table(&self, source: SourceId) -> String {
        let table = &self.project.source(source).table;
        self.dialect
            .quote_path(table.resolve(self.target, &self.dialect.name))
    }

    fn alias(&self, alias: alias::Alias) -> String {
        alias.quoted(self.dialect)
    }

    fn dimension_alias(&self, source: SourceId) -> String {
        self.q(&alias::dimension(&self.project.source(source).name))
    }

    fn string(&self, value: &str) -> String {
        self.dialect.string_literal(value)
    }
}

/// A stage's description as a template value.
fn serialized<T: Serialize>(value: &T) -> Value {
    Value::from(minijinja::value::Serde(value))
}

/// Text safe inside a `--` comment: no line breaks or other control characters.
fn comment_text(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// For `segc explain`: one small query per source counting its rows before the end instant
/// (the user table by sign-up, timed facts by their time, history by its `valid_from`, other
/// tables in full).
pub fn render_source_checks(
    plan: &Plan<'_>,
    dialect: &Dialect,
    target: Option<&str>,
) -> Result<Vec<(String, String)>, Error> {
    with_sql(
        &environment(dialect)?,
        Periods::new(plan, None),
        dialect,
        |sql| {
            let end_instant = sql.timestamp(plan.end_instant())?;
            // Columns of dates are read by local days.
            let end_day = sql.date(plan.time.end_day())?;
            let count = sql.call("count_rows", &[])?;
            let count = sql.call("cast", &[Value::from(count), Value::from("bigint")])?;
            let mut checks = Vec::new();
            for source in &plan.project.sources {
                let table = dialect.quote_path(source.table.resolve(target, &dialect.name));
                let (time, date) = match &source.role {
                    SourceRole::Users { signup, .. } => {
                        (Some(signup.as_str()), plan.project.signup_is_date())
                    }
                    SourceRole::Facts {
                        time: Some(time),
                        time_type,
                        ..
                    } => (Some(time.as_str()), *time_type == ValueType::Date),
                    _ => (None, false),
                };
                let end = if date { &end_day } else { &end_instant };
                let mut conditions: Vec<String> = time
                    .map(|t| format!("{} < {end}", dialect.quote_identifier(t)))
                    .into_iter()
                    .collect();
                // A source keeping history: its rows valid from before the end.
                if let Some(history) = &source.history {
                    let end = match history.value_type {
                        ValueType::Date => &end_day,
                        _ => &end_instant,
                    };
                    let from = dialect.quote_identifier(&history.valid_from);
                    conditions.push(format!("{from} < {end}"));
                }
                let filter = match conditions.is_empty() {
                    true => String::new(),
                    false => format!(" WHERE {}", conditions.join(" AND ")),
                };
                checks.push((
                    source.name.clone(),
                    format!(
                        "SELECT {count} AS {} FROM {table}{filter}",
                        dialect.quote_identifier("segc_rows")
                    ),
                ));
            }
            Ok(checks)
        },
    )
}

/// The statement of the reports a request computes (see [`crate::plan::reports`]).
pub fn render_reports(
    reports: &crate::plan::Reports<'_>,
    dialect: &Dialect,
    target: Option<&str>,
) -> Result<String, Error> {
    match reports {
        crate::plan::Reports::Single(plan) => render(plan, dialect, target),
        crate::plan::Reports::Series(periods, shape) => {
            render_series(periods, dialect, target, *shape)
        }
    }
}

/// Renders the plan as one SQL statement for `dialect`. `target` picks per-target table names.
pub fn render(plan: &Plan<'_>, dialect: &Dialect, target: Option<&str>) -> Result<String, Error> {
    statement_sql(&Statement::report(plan)?, dialect, target, Ending::Rows)
}

/// The statement of [`render_reports`] writing its rows into the results table instead of
/// returning them (`segc run --materialize`): `INSERT INTO <table> (…) WITH … SELECT …`, a
/// row per period, reported row and KPI (see [`crate::materialize`]).
pub fn render_write(
    reports: &crate::plan::Reports<'_>,
    dialect: &Dialect,
    target: Option<&str>,
    spec: &crate::materialize::WriteSpec<'_>,
) -> Result<String, Error> {
    match reports {
        crate::plan::Reports::Single(plan) => statement_sql(
            &Statement::report(plan)?,
            dialect,
            target,
            Ending::Write(spec),
        ),
        crate::plan::Reports::Series(periods, shape) => {
            series::render_series_with(periods, dialect, target, *shape, Ending::Write(spec))
        }
    }
}

/// Renders `segc overlap`: one row per reported row of a membership plan
/// ([`Plan::membership`]) with the columns of [`crate::plan::output::overlap_column`].
pub fn render_overlap(
    plan: &Plan<'_>,
    dialect: &Dialect,
    target: Option<&str>,
) -> Result<String, Error> {
    statement_sql(&Statement::overlap(plan)?, dialect, target, Ending::Rows)
}

/// Renders `segc explain` for a segment: one row of [`explain_columns`].
pub fn render_explain(
    plan: &Plan<'_>,
    dialect: &Dialect,
    target: Option<&str>,
    segment: crate::ir::SegmentId,
) -> Result<String, Error> {
    let statement = Statement::explain(plan, segment)?;
    if statement.explain.is_empty() {
        let name = plan.project.segment(segment).name.clone();
        return Err(Error::Request(crate::error::BadRequest::NothingToExplain(
            name,
        )));
    }
    statement_sql(&statement, dialect, target, Ending::Rows)
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
            for (name, values) in sql.spine_columns() {
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

/// How a statement ends: returning its rows, or writing them (`--materialize`, `segc
/// snapshot`).
#[derive(Clone, Copy)]
enum Ending<'a> {
    Rows,
    Write(&'a crate::materialize::WriteSpec<'a>),
    Snapshot(&'a snapshot::SnapshotSpec<'a>),
}

/// Refuses a source whose table or column name is longer than the dialect reads whole:
/// PostgreSQL cuts it to 63 bytes without an error, and would read another table or column
/// than the one the catalog was asked about (a DATE column read as timestamps, or a table of
/// the cut name).
fn whole_names(
    project: &crate::ir::Project,
    dialect: &Dialect,
    target: Option<&str>,
) -> Result<(), Error> {
    let Some(max) = dialect.identifier.max_bytes else {
        return Ok(());
    };
    for source in &project.sources {
        let mut names: Vec<&str> = source
            .table
            .resolve(target, &dialect.name)
            .iter()
            .map(String::as_str)
            .collect();
        names.push(source.key_column());
        if let SourceRole::Facts {
            time: Some(time), ..
        } = &source.role
        {
            names.push(time);
        }
        if let Some(history) = &source.history {
            names.extend([history.valid_from.as_str(), history.valid_to.as_str()]);
        }
        names.extend(source.columns.iter().map(|c| c.physical.as_str()));
        if let Some(long) = names.into_iter().find(|name| name.len() > max) {
            return Err(Error::Render(format!(
                "source `{}` ({}) names `{}`, which is {} bytes long; {} reads at most {max} \
                 bytes of a name (PostgreSQL cuts a longer one and reads whatever the cut name \
                 is): rename it, or read it through a view with a shorter name",
                source.name,
                source.origin,
                crate::terminal::printable(long),
                long.len(),
                dialect.name
            )));
        }
    }
    Ok(())
}

/// Spells a statement: each stage by its own module, laid out by the report template.
fn statement_sql(
    statement: &Statement<'_>,
    dialect: &Dialect,
    target: Option<&str>,
    ending: Ending<'_>,
) -> Result<String, Error> {
    let env = environment(dialect)?;
    let plan = statement.plan();
    let project = plan.project;
    whole_names(project, dialect, target)?;
    let names = Names {
        dialect,
        project,
        target,
    };
    let ctx = with_sql(&env, statement.periods, dialect, |sql| {
        let q = |name: &str| names.q(name);
        let (users, end) = users::users(sql, statement, &names)?;
        let (passes, attributes) = passes::passes(sql, statement, &names, &end)?;
        let (scores, score_stages) = members::scores(sql, statement, &names)?;
        // Membership and KPIs for a report or series; `segc explain` has neither.
        let (mut members, mut signatures, kpis) = match (&statement.membership, statement.kind) {
            (Some(membership), Kind::Snapshot) => (
                members::members(sql, statement, &names, membership)?,
                signatures::signatures(sql, statement, &names, membership)?,
                kpis::Kpis::default(),
            ),
            (Some(membership), Kind::Overlap) => (
                members::members(sql, statement, &names, membership)?,
                signatures::signatures(sql, statement, &names, membership)?,
                kpis::overlap(sql, statement, &names, membership)?,
            ),
            (Some(membership), _) => {
                let members = members::members(sql, statement, &names, membership)?;
                let signatures = signatures::signatures(sql, statement, &names, membership)?;
                let kpis = kpis::kpis(sql, statement, &names, membership, &signatures)?;
                (members, signatures, kpis)
            }
            (None, _) => Default::default(),
        };
        let (explain_steps, explain_total) = match statement.kind {
            Kind::Explain(_) => kpis::explain(sql, statement, &names, &mut members.columns)?,
            Kind::Report | Kind::Series(_) | Kind::Overlap | Kind::Snapshot => {
                (Vec::new(), String::new())
            }
        };
        let series = series::Final::new(sql, statement, &names)?;
        let flows = flows::stages(sql, statement, &names)?;
        let timed = timed::stages(sql, statement, &names)?;
        let has_timed = !timed.is_empty();
        // The flow and timed stages' rows, joined to the result by row (and period).
        let segments_row = format!("{}.{}", names.alias(alias::Alias::Segments), q("segc_row"));
        let same_period = |alias: &str| match sql.period_key(alias::Alias::Spine) {
            Some(period) => format!(" AND {alias}.{} = {period}", q("segc_period")),
            None => String::new(),
        };
        let mut extra_joins = Vec::new();
        for (present, stage, which) in [
            (flows.is_some(), "segc_flows", alias::Alias::Flows),
            (has_timed, "segc_timed_kpis", alias::Alias::Timed),
        ] {
            if present {
                let a = names.alias(which);
                extra_joins.push(format!(
                    "LEFT JOIN {} AS {a} ON {a}.{} = {segments_row}{}",
                    q(stage),
                    q("segc_row"),
                    same_period(&a)
                ));
            }
        }
        let mut extra_stages = flows.unwrap_or_default();
        extra_stages.extend(timed);
        let (write, snapshot) = match ending {
            Ending::Rows => (None, None),
            Ending::Write(spec) => (Some(write::stage(sql, statement, &names, spec)?), None),
            Ending::Snapshot(spec) => (None, Some(snapshot::stage(sql, statement, &names, spec)?)),
        };
        // Each member's row as `segc_signed` keeps it: the columns the stages after it read
        // (the period's, the attributes, scores and formula columns), not the flags, which
        // its words already hold (only `segc overlap` reads them there). A stage the warehouse
        // keeps holds only these: PostgreSQL wrote 300 flags per user for a 300-segment report.
        // `segc overlap` counts each member's rows by flag; a snapshot merges those rows.
        let overlap = !kpis.per_member.is_empty();
        let signed_columns = if !overlap {
            let members_alias = names.alias(alias::Alias::Members);
            let mut columns = Vec::new();
            if sql.series_len().is_some() {
                columns.push(q("segc_period"));
                columns.extend(sql.spine_columns().iter().map(|(name, _)| q(name)));
            }
            let formulas = statement
                .membership
                .as_ref()
                .map_or(0, |m| m.formulas.len());
            columns.extend(
                attributes
                    .iter()
                    .chain(&scores)
                    .chain(members.columns.iter().take(formulas))
                    .map(|item| item.alias.clone()),
            );
            columns
                .into_iter()
                .map(|column| format!("{members_alias}.{column}"))
                .collect()
        } else {
            vec![format!("{}.*", names.alias(alias::Alias::Members))]
        };
        // Written `AS MATERIALIZED` where the dialect can and two stages read it.
        let member_rows = overlap || snapshot.is_some() || has_timed;
        let signed_readers = usize::from(member_rows)
            + if overlap || snapshot.is_some() {
                0
            } else {
                kpis.grouping.signed_readers()
            };
        // A wide report's conditions, once per distinct value they read (render/masks.rs):
        // the members' flags are then never written, and the signature's words are ANDs of
        // the masks' words.
        let masks = match (
            &statement.membership,
            statement.kind,
            dialect.capabilities.masks_from_rows,
        ) {
            (Some(membership), Kind::Report, Some(from))
                if !member_rows && membership.rows.len() >= from =>
            {
                masks::masks(
                    sql,
                    project,
                    &names,
                    membership,
                    &signatures.words,
                    dialect.capabilities.hashed_not_distinct,
                )?
            }
            _ => None,
        };
        if let (Some(masks), Some(membership)) = (&masks, &statement.membership) {
            members.columns.truncate(membership.formulas.len());
            members.stages.clear();
            for (item, word) in signatures.words.iter_mut().zip(&masks.words) {
                item.sql = word.clone();
            }
        }
        let insert = write
            .as_ref()
            .map(|w| w.insert.clone())
            .or(snapshot.as_ref().map(|s| s.insert.clone()));
        let (insert_head, insert_tail) = match insert {
            Some(insert) if dialect.write.insert_before_with => (Some(insert), None),
            Some(insert) => (None, Some(insert)),
            None => (None, None),
        };
        Ok(context! {
            project => comment_text(&project.name),
            as_of => plan.time.as_of.to_string(),
            time_zone => comment_text(&project.time_zone),
            dialect => dialect.name.clone(),
            // Where the users end: a sign-up date before the day after the as-of day.
            signup_end => match project.signup_is_date() {
                true => plan.time.end_day().to_string(),
                false => format!("{} UTC", plan.end_instant()),
            },
            users => serialized(&users),
            fact_passes => serialized(&passes),
            attributes => serialized(&attributes),
            members => serialized(&members.columns),
            materialized => if dialect.capabilities.materialized_stages && signed_readers > 1 { "MATERIALIZED " } else { "" },
            // A mask's words are computed once per tuple, not copied into the join and
            // computed again per user (PostgreSQL pulls a stage read once up into its reader).
            masks_materialized => if dialect.capabilities.materialized_stages { "MATERIALIZED " } else { "" },
            signed_columns => signed_columns,
            members_source => members.stages.last().map_or_else(|| q("segc_members"), |stage| stage.name.clone()),
            member_stages => serialized(&members.stages),
            rows => serialized(&members.rows),
            segment_column => q(SEGMENT_COLUMN),
            parent_column => q(PARENT_COLUMN),
            signature_words => serialized(&signatures.words),
            mask_stages => masks.as_ref().map(|m| serialized(&m.stages)),
            mask_joins => masks.as_ref().map(|m| m.joins.clone()),
            row_bytes => signatures.byte_list.is_some(),
            in_row => signatures.in_row,
            grouping => serialized(&kpis.grouping),
            partials => serialized(&kpis.partials),
            per_member => serialized(&kpis.per_member),
            // Each member's rows: `segc overlap`'s counts, a snapshot's merge, timed KPIs.
            member_rows => member_rows,
            explain_steps => serialized(&explain_steps),
            explain_total => explain_total,
            kpi_aggregates => serialized(&kpis.aggregates),
            kpi_exact => kpis.exact.as_ref().map(serialized),
            value_kpis => serialized(&kpis.value_aggregates),
            outputs => serialized(&kpis.outputs),
            scores => serialized(&scores),
            score_stages => serialized(&score_stages),
            fenced_scores => dialect.capabilities.fenced_scores,
            series_title => series.title,
            series_labels => series.labels,
            series_shape => series.shape,
            series_columns => series.columns,
            spine => spine_rows(sql, dialect),
            alias => alias::template_value(dialect),
            write => write.as_ref().map(serialized),
            snapshot => snapshot.as_ref().map(serialized),
            extra_stages => serialized(&extra_stages),
            extra_joins => extra_joins,
            insert_head => insert_head,
            insert_tail => insert_tail,
        })
    })?;
    let report = env.get_template("report.sql.j2").map_err(template_error)?;
    report.render(ctx).map_err(template_error)
}
