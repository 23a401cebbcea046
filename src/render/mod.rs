//! Plan → SQL for one dialect: a minijinja environment holding the default macros, then the
//! dialect's ancestors' overrides, then its own; the statement skeleton lays out the stages.

mod expr;

use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value, context};
use serde::Serialize;

use crate::dialect::{DEFAULT_MACROS, Dialect, REPORT_TEMPLATE};
use crate::error::Error;
use crate::ir::{AttributeKind, KpiKind, KpiType, SourceRole};
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
    alias: String,
    source: String,
    origin: String,
    table: String,
    user_key: String,
    filter: String,
    aggregates: Vec<Item>,
}

#[derive(Serialize)]
struct RowItem {
    ordinal: usize,
    comment: String,
}

/// Text safe inside a `--` comment: no line breaks or other control characters.
fn comment_text(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Renders the plan as one SQL statement for `dialect`. `target` picks per-target table names.
pub fn render(plan: &Plan<'_>, dialect: &Dialect, target: Option<&str>) -> Result<String, Error> {
    let env = environment(dialect)?;
    let macros = env.get_template("macros.sql.j2").map_err(template_error)?;
    let mut captured = macros
        .render_captured(context! {})
        .map_err(template_error)?;
    let project = plan.project;
    let ctx = captured.with_state_mut(|state| -> Result<Value, Error> {
        let mut sql = Sql::new(state, dialect, plan);
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
        for id in &plan.column_attributes {
            let attribute = project.attribute(*id);
            if let AttributeKind::Column {
                source,
                column,
                as_date,
            } = &attribute.kind
            {
                let alias = if *source == plan.users {
                    q("u")
                } else {
                    q(&format!("d_{}", project.source(*source).name))
                };
                let mut value = format!("{alias}.{}", q(column));
                if *as_date {
                    value = sql.local_date(&value)?;
                }
                columns.push(Item {
                    sql: value,
                    alias: q(&attribute.name),
                    comment: String::new(),
                });
            }
        }
        let joins = plan
            .dimensions
            .iter()
            .map(|id| {
                let source = project.source(*id);
                let alias = q(&format!("d_{}", source.name));
                let on = match &source.role {
                    SourceRole::Dimension { key, via } => {
                        let via_physical = users_source
                            .column(via)
                            .map(|c| c.physical.clone())
                            .unwrap_or_else(|| via.clone());
                        format!("{alias}.{} = {}.{}", q(key), q("u"), q(&via_physical))
                    }
                    _ => "1 = 1".into(),
                };
                Join {
                    table: table(*id),
                    alias,
                    on,
                }
            })
            .collect();
        let end = sql.timestamp(plan.end_instant())?;
        let users = UsersStage {
            columns,
            table: table(plan.users),
            joins,
            filter: format!("{}.{} < {end}", q("u"), q(&signup)),
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
            if let Some(time) = time {
                let column = format!("{}.{}", q("f"), q(time));
                if let Some(lower) = pass.lower_bound {
                    filter.push(format!("{column} >= {}", sql.timestamp(lower)?));
                }
                filter.push(format!("{column} < {end}"));
            }
            let mut aggregates = Vec::new();
            for id in &pass.attributes {
                let attribute = project.attribute(*id);
                let AttributeKind::Aggregate { aggregation, .. } = &attribute.kind else {
                    continue;
                };
                aggregates.push(Item {
                    sql: sql.fact_aggregate(*id)?,
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
            passes.push(PassStage {
                name: q(&format!("segc_facts_{}", source.name)),
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
                aggregates,
            });
        }

        // Stage 3: formula columns KPIs aggregate, and one membership flag per reported segment.
        let mut members = Vec::new();
        for id in &plan.formula_columns {
            let attribute = project.attribute(*id);
            members.push(Item {
                sql: sql.attribute_value(*id, "a")?,
                alias: q(&attribute.name),
                comment: comment_text(&format!("{} ({})", attribute.name, attribute.origin)),
            });
        }
        let mut rows = Vec::new();
        let mut membership = format!("CASE {}.{} WHEN 0 THEN 1", q("s"), q("segc_row"));
        for row in &plan.rows {
            match row.segment {
                None => rows.push(RowItem {
                    ordinal: row.ordinal,
                    comment: "all_users".into(),
                }),
                Some(id) => {
                    let segment = project.segment(id);
                    let flag = q(&format!("segc_in_{}", segment.name));
                    let condition = sql.condition(&segment.condition, "a")?;
                    members.push(Item {
                        sql: sql.call("flag", &[Value::from(condition)])?,
                        alias: flag.clone(),
                        comment: comment_text(&format!(
                            "segment {} ({})",
                            segment.name, segment.origin
                        )),
                    });
                    membership.push_str(&format!(" WHEN {} THEN {}.{flag}", row.ordinal, q("m")));
                    rows.push(RowItem {
                        ordinal: row.ordinal,
                        comment: comment_text(&segment.name),
                    });
                }
            }
        }
        membership.push_str(" END");

        // Stage 4: KPI aggregates per row, then ratios and shares.
        let mut percentile_columns = Vec::new();
        for id in &plan.kpis {
            for (sql_text, alias) in sql.percentile_columns(*id)? {
                percentile_columns.push(Item {
                    sql: sql_text,
                    alias,
                    comment: comment_text(&project.kpi(*id).name),
                });
            }
        }
        let mut kpi_aggregates = Vec::new();
        let mut outputs = Vec::new();
        for id in &plan.kpis {
            let kpi = project.kpi(*id);
            let comment = comment_text(&format!("{} ({})", kpi.name, kpi.origin));
            if let KpiKind::Aggregate { .. } = kpi.kind {
                kpi_aggregates.push(Item {
                    sql: sql.kpi_aggregate(*id)?,
                    alias: q(&kpi.name),
                    comment: comment.clone(),
                });
            }
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
            rows => Value::from(minijinja::value::Serde(&rows)),
            membership => membership,
            percentile_columns => Value::from(minijinja::value::Serde(&percentile_columns)),
            kpi_aggregates => Value::from(minijinja::value::Serde(&kpi_aggregates)),
            outputs => Value::from(minijinja::value::Serde(&outputs)),
        })
    })?;
    let report = env.get_template("report.sql.j2").map_err(template_error)?;
    report.render(ctx).map_err(template_error)
}
