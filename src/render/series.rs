//! Spells a series: the stages of every period in one statement, then the final SELECT of
//! its shape (laid out by the template): a row per period and segment, or a comparison of
//! two periods side by side.

use crate::render::alias::Alias;
use minijinja::Value;

use crate::dialect::Dialect;
use crate::error::{BadRequest, Error};
use crate::plan::Plan;
use crate::plan::output::{
    CompareColumns, PERIOD_COLUMN, ROW_COLUMNS, SeriesShape, compare_columns,
};
use crate::plan::statement::{Kind, Statement};

use super::expr::Sql;
use super::{Names, comment_text, statement_sql};

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
    render_series_with(periods, dialect, target, shape, super::Ending::Rows)
}

/// [`render_series`], writing its rows into the results table with `write`.
pub(super) fn render_series_with(
    periods: &[(String, Plan<'_>)],
    dialect: &Dialect,
    target: Option<&str>,
    shape: SeriesShape,
    ending: super::Ending<'_>,
) -> Result<String, Error> {
    let Some((_, first)) = periods.first() else {
        return Err(Error::Request(BadRequest::NoPeriods));
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
    statement_sql(
        &Statement::series(latest, periods, shape)?,
        dialect,
        target,
        ending,
    )
}

/// The final SELECT of a series, for the template: its header's words, its shape and its
/// columns (`expression AS name`). Empty for other statements.
pub(super) struct Final {
    pub(super) title: &'static str,
    pub(super) labels: String,
    pub(super) shape: &'static str,
    pub(super) columns: Vec<String>,
}

impl Final {
    pub(super) fn new(
        sql: &mut Sql<'_, '_>,
        statement: &Statement<'_>,
        names: &Names<'_>,
    ) -> Result<Final, Error> {
        let Kind::Series(shape) = statement.kind else {
            return Ok(Final {
                title: "",
                labels: String::new(),
                shape: "",
                columns: Vec::new(),
            });
        };
        let labels = statement.periods.labels();
        let (title, shape_name, columns) = match shape {
            SeriesShape::Compare => (
                "compared with an earlier period",
                "compare",
                compare_select(sql, statement, names)?,
            ),
            SeriesShape::Periods => (
                "one report per period",
                "periods",
                periods_select(statement, names),
            ),
        };
        Ok(Final {
            title,
            labels: comment_text(&labels.join(", ")),
            shape: shape_name,
            columns,
        })
    }
}

/// A row per period and segment: every column named, so the statement read or pasted shows
/// what it returns.
fn periods_select(statement: &Statement<'_>, names: &Names<'_>) -> Vec<String> {
    let project = statement.plan().project;
    let r = names.alias(Alias::Result);
    [PERIOD_COLUMN]
        .into_iter()
        .chain(ROW_COLUMNS)
        .chain(
            statement
                .plan()
                .kpis
                .iter()
                .map(|id| project.kpi(*id).name.as_str()),
        )
        .map(|name| format!("{r}.{name} AS {name}", name = names.q(name)))
        .collect()
}

/// A row per segment: per KPI the value, the prior value, and for numbers the change and the
/// relative change.
fn compare_select(
    sql: &mut Sql<'_, '_>,
    statement: &Statement<'_>,
    names: &Names<'_>,
) -> Result<Vec<String>, Error> {
    let q = |name: &str| names.q(name);
    let (c, p) = (names.alias(Alias::Current), names.alias(Alias::Prior));
    let mut columns: Vec<String> = ROW_COLUMNS
        .iter()
        .map(|name| format!("{c}.{name} AS {name}", name = q(name)))
        .collect();
    for CompareColumns {
        value: name,
        prior,
        change,
    } in compare_columns(statement.plan().project, &statement.plan().kpis)
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
    Ok(columns)
}
