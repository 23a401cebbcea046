//! A table segc writes: its name (the target's setting, else the project's, else a default),
//! the statement creating it, and the check that an existing one fits. The results table of
//! `--materialize`, and the membership history of `segc snapshot`.

use crate::catalog::{CatalogRow, WarehouseType, map_type};
use crate::dialect::Dialect;
use crate::error::Error;
use crate::ir::ValueType;

use super::{COLUMNS, DEFAULT_TABLE, KEY};

/// A column of a table segc writes: its name, type, and whether it is never NULL.
pub type TableColumn = (&'static str, ValueType, bool);

/// The results table's columns, with the key columns, the run id, the row's segment and KPI
/// and the time it was computed never NULL.
pub fn results_columns() -> Vec<TableColumn> {
    COLUMNS
        .iter()
        .map(|(name, value_type)| {
            let required =
                KEY.contains(name) || matches!(*name, "run_id" | "segment" | "kpi" | "computed_at");
            (*name, *value_type, required)
        })
        .collect()
}

/// A table segc writes, by its name's parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultsTable {
    pub parts: Vec<String>,
    /// Where the name was set, for messages: `target `x` in profiles.yml`, ….
    pub origin: String,
}

impl ResultsTable {
    /// The table named by the target's `results_table`, else by `results_table` in
    /// `segc_project.yml`, else [`DEFAULT_TABLE`].
    pub fn resolve(
        project: &crate::ir::Project,
        profile: &crate::spec::profiles::Profile,
    ) -> Result<ResultsTable, Error> {
        Self::named(
            "results_table",
            profile,
            project.results_table.as_deref(),
            DEFAULT_TABLE,
        )
    }

    /// The table named by the target's setting `key`, else the project's `project_value`,
    /// else `default`.
    pub fn named(
        key: &str,
        profile: &crate::spec::profiles::Profile,
        project_value: Option<&str>,
        default: &str,
    ) -> Result<ResultsTable, Error> {
        let (name, origin) = match (profile.field(key), project_value) {
            (Some(name), _) => (
                name.to_string(),
                format!("`{key}` of target `{}` in profiles.yml", profile.name),
            ),
            (None, Some(name)) => (name.to_string(), format!("`{key}` in segc_project.yml")),
            (None, None) => (default.to_string(), "the default".to_string()),
        };
        let parts: Vec<String> = name.split('.').map(str::to_string).collect();
        // As names in the definitions: no control character, backslash or backtick, which
        // no warehouse's quoting takes safely.
        let bad = parts.len() > 3
            || parts.iter().any(|part| {
                part.trim().is_empty()
                    || part
                        .chars()
                        .any(|c| c.is_control() || c == '\\' || c == '`')
            });
        if bad {
            return Err(Error::Profile(format!(
                "{origin}: `{}` is not a table name; write `table`, `schema.table` or \
                 `database.schema.table`, without control characters, backslashes or backticks",
                name.escape_default()
            )));
        }
        Ok(ResultsTable { parts, origin })
    }

    /// The name as the dialect writes it.
    pub fn quoted(&self, dialect: &Dialect) -> String {
        dialect.quote_path(&self.parts)
    }

    /// The name as the target reads it: a bare table name on a warehouse whose catalog is per
    /// dataset (BigQuery) gets the profile's `dataset` before it, so that its catalog can be
    /// read and its statements need no default dataset (without one it is an error); on the
    /// others it gets the dialect's default schema.
    pub fn for_target(mut self, target: &crate::session::Target) -> Result<ResultsTable, Error> {
        // PostgreSQL and Redshift cut a longer name to 63 bytes, so the history table and its
        // `_days` table could become one name, or a table segc looks for by its whole name
        // would never be found: refused, with room for the suffix.
        let longest = 63 - crate::history::DAYS_SUFFIX.len();
        if matches!(target.dialect.name.as_str(), "postgres" | "redshift")
            && let Some(long) = self.parts.iter().find(|part| part.len() > longest)
        {
            return Err(Error::Profile(format!(
                "{}: `{}` is {} bytes long; {} keeps 63 bytes of a name, and segc adds `{}` to \
                 the history table's: name it in at most {longest} bytes",
                self.origin,
                crate::terminal::printable(long),
                long.len(),
                target.dialect.name,
                crate::history::DAYS_SUFFIX,
            )));
        }
        let per_dataset = target.dialect.catalog.scope == crate::dialect::CatalogScope::Dataset;
        if per_dataset && self.parts.len() == 1 {
            // Set in profiles.yml or segc_project.yml, not on the command line: exit 1.
            let Some(dataset) = target.profile.field("dataset") else {
                return Err(Error::Profile(format!(
                    "target `{}`: the table `{}` ({}) needs a dataset on BigQuery: name it \
                     `dataset.{}`, or set `dataset` on the target in profiles.yml",
                    target.target,
                    self.display(),
                    self.origin,
                    self.display()
                )));
            };
            self.parts.insert(0, dataset.to_string());
        } else if self.parts.len() == 1
            && let Some(schema) = &target.dialect.catalog.default_schema
        {
            // In the schema segc's catalog check looks in (`public`, `dbo`, `main`), whatever
            // the session's search path or the login's default schema would choose for a bare
            // name: else a run would create the table elsewhere, and every later run would
            // not find it and try to create it again.
            self.parts.insert(0, schema.clone());
        }
        Ok(self)
    }

    /// The same table's sibling, named by `suffix` after its last part (`x` → `x_days`).
    pub fn sibling(&self, suffix: &str) -> ResultsTable {
        let mut parts = self.parts.clone();
        if let Some(last) = parts.last_mut() {
            last.push_str(suffix);
        }
        ResultsTable {
            parts,
            origin: self.origin.clone(),
        }
    }

    /// The name for messages.
    pub fn display(&self) -> String {
        self.parts.join(".")
    }
}

fn type_name(dialect: &Dialect, value_type: ValueType) -> &str {
    match value_type {
        ValueType::Number => &dialect.types.double,
        ValueType::Date => &dialect.types.date,
        ValueType::Timestamp => &dialect.types.timestamp,
        _ => &dialect.types.varchar,
    }
}

/// `CREATE TABLE` of `table` with `columns`.
pub fn create_sql(dialect: &Dialect, table: &ResultsTable, columns: &[TableColumn]) -> String {
    let columns: Vec<String> = columns
        .iter()
        .map(|(name, value_type, required)| {
            format!(
                "  {} {}{}",
                dialect.quote_identifier(name),
                type_name(dialect, *value_type),
                if *required { " NOT NULL" } else { "" }
            )
        })
        .collect();
    format!(
        "CREATE TABLE {} (\n{}\n)",
        table.quoted(dialect),
        columns.join(",\n")
    )
}

/// What keeps an existing results table (its catalog rows) from taking segc's rows: each
/// missing column, and each column whose type is not the one segc writes. Other columns are
/// left alone (the insert names its columns). Empty when it fits; `None` when the catalog
/// has no such table.
pub fn schema_problems(
    dialect: &Dialect,
    table: &ResultsTable,
    columns: &[TableColumn],
    rows: &[CatalogRow],
) -> Option<Vec<String>> {
    let name = table.parts.last()?;
    let found_columns: Vec<&CatalogRow> = rows
        .iter()
        .filter(|row| row.table.eq_ignore_ascii_case(name))
        .collect();
    if found_columns.is_empty() {
        return None;
    }
    let mut problems = Vec::new();
    for (column, wanted, _) in columns {
        let (column, wanted) = (*column, *wanted);
        let found = found_columns
            .iter()
            .find(|row| row.column == column)
            .or_else(|| {
                found_columns
                    .iter()
                    .find(|row| row.column.eq_ignore_ascii_case(column))
            });
        match found {
            None => problems.push(format!("column `{column}` is missing")),
            Some(row) => {
                let fits = match map_type(dialect, &row.data_type) {
                    WarehouseType::Known(found) => found == wanted,
                    WarehouseType::Unsupported(_) => false,
                };
                if !fits {
                    problems.push(format!(
                        "column `{column}` is {}, segc writes {} ({})",
                        row.data_type,
                        type_name(dialect, wanted),
                        wanted.name()
                    ));
                }
            }
        }
    }
    Some(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(column: &str, data_type: &str) -> CatalogRow {
        CatalogRow {
            schema: "public".into(),
            table: "segc_kpis".into(),
            column: column.into(),
            data_type: data_type.into(),
        }
    }

    fn table() -> ResultsTable {
        ResultsTable {
            parts: vec!["segc_kpis".into()],
            origin: "the default".into(),
        }
    }

    fn target(kind: &str) -> crate::session::Target {
        crate::session::Target {
            target: "t".into(),
            profile: crate::spec::profiles::Profile {
                name: "t".into(),
                kind: kind.into(),
                fields: Default::default(),
                folder: std::path::PathBuf::new(),
            },
            dialect: Dialect::load(kind).unwrap(),
        }
    }

    #[test]
    fn a_bare_name_gets_the_default_schema_and_a_name_postgres_would_cut_is_refused() {
        let named = |name: &str, kind: &str| {
            ResultsTable {
                parts: name.split('.').map(str::to_string).collect(),
                origin: "`history_table` in segc_project.yml".into(),
            }
            .for_target(&target(kind))
        };
        for (kind, schema) in [
            ("postgres", "public"),
            ("redshift", "public"),
            ("sqlserver", "dbo"),
            ("duckdb", "main"),
        ] {
            assert_eq!(
                named("segc_kpis", kind).unwrap().parts,
                [schema, "segc_kpis"],
                "{kind}"
            );
            assert_eq!(
                named("app.segc_kpis", kind).unwrap().parts,
                ["app", "segc_kpis"]
            );
        }
        let longest = "h".repeat(58);
        assert!(named(&longest, "postgres").is_ok());
        for kind in ["postgres", "redshift"] {
            let error = named(&format!("app.{longest}x"), kind)
                .unwrap_err()
                .to_string();
            assert!(
                error.contains("is 59 bytes long") && error.contains("at most 58 bytes"),
                "{error}"
            );
        }
        assert!(named(&format!("{longest}x"), "duckdb").is_ok());
    }

    #[test]
    fn a_table_with_segc_columns_fits_and_extra_columns_are_left_alone() {
        let dialect = Dialect::load("postgres").unwrap();
        let mut rows: Vec<CatalogRow> = COLUMNS
            .iter()
            .map(|(name, value_type)| {
                let data_type = match value_type {
                    ValueType::Number => "double precision",
                    ValueType::Date => "date",
                    ValueType::Timestamp => "timestamp without time zone",
                    _ => "character varying",
                };
                row(name, data_type)
            })
            .collect();
        rows.push(row("loaded_by", "text"));
        assert_eq!(
            schema_problems(&dialect, &table(), &results_columns(), &rows),
            Some(Vec::new())
        );
        assert_eq!(
            schema_problems(&dialect, &table(), &results_columns(), &[]),
            None
        );
    }

    #[test]
    fn a_missing_column_and_a_narrower_type_are_named() {
        let dialect = Dialect::load("postgres").unwrap();
        let rows: Vec<CatalogRow> = COLUMNS
            .iter()
            .filter(|(name, _)| *name != "value_time")
            .map(|(name, value_type)| {
                let data_type = match (*name, value_type) {
                    ("value_number", _) => "bigint",
                    (_, ValueType::Number) => "double precision",
                    (_, ValueType::Date) => "date",
                    (_, ValueType::Timestamp) => "timestamp without time zone",
                    _ => "text",
                };
                row(name, data_type)
            })
            .collect();
        let problems = schema_problems(&dialect, &table(), &results_columns(), &rows).unwrap();
        assert_eq!(
            problems,
            [
                "column `value_number` is bigint, segc writes DOUBLE PRECISION (number)",
                "column `value_time` is missing",
            ]
        );
    }
}
