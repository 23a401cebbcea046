//! Spells a series: the stages of every period in one statement (see [`super::statement_sql`]),
//! then one final SELECT per shape: a row per period and segment, or a comparison of two
//! periods side by side.

use minijinja::Value;

use crate::dialect::Dialect;
use crate::error::Error;
use crate::plan::Plan;
use crate::plan::output::{
    CompareColumns, PERIOD_COLUMN, ROW_COLUMN, ROW_COLUMNS, SeriesShape, compare_columns,
};
use crate::plan::statement::Statement;

use super::{comment_text, environment, statement_sql, with_sql};

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
        return Err(Error::Request(crate::error::BadRequest::NoPeriods));
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
    statement
        .push_str(statement_sql(&Statement::series(latest, periods)?, dialect, target)?.trim_end());
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
