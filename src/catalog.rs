//! The warehouse's catalog: the columns of the sources' tables and their types, read with
//! each dialect's catalog query (`[catalog]` in its `dialect.toml`) and mapped to segc types.
//! `segc sources --refresh` writes them to `warehouse_schema.yml`; `run` and `explain` read
//! the ones they miss.

use crate::dialect::{CatalogScope, Dialect};
use crate::driver::{Cell, Driver, ResultSet};
use crate::error::Error;
use crate::ir::{Source, ValueType};

/// A column's type as the warehouse has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WarehouseType {
    /// One segc reads: string, integer, number, date, timestamp or boolean.
    Known(ValueType),
    /// Any other, by the warehouse's name for it (`uuid`, `VARCHAR[]`, `JSON`).
    Unsupported(String),
}

/// The segc type names a snapshot writes.
const SNAPSHOT_NAMES: &[(&str, ValueType)] = &[
    ("string", ValueType::String),
    ("integer", ValueType::Integer),
    ("number", ValueType::Number),
    ("date", ValueType::Date),
    ("timestamp", ValueType::Timestamp),
    ("boolean", ValueType::Boolean),
];

impl WarehouseType {
    /// A type as `warehouse_schema.yml` holds it: a segc type name, or the warehouse's name of
    /// a type segc does not support.
    pub fn from_snapshot(text: &str) -> WarehouseType {
        match SNAPSHOT_NAMES.iter().find(|(name, _)| *name == text) {
            Some((_, value_type)) => WarehouseType::Known(*value_type),
            None => WarehouseType::Unsupported(text.to_string()),
        }
    }

    /// The text `warehouse_schema.yml` holds.
    pub fn snapshot_text(&self) -> String {
        match self {
            WarehouseType::Known(value_type) => value_type.name().to_string(),
            WarehouseType::Unsupported(name) => name.clone(),
        }
    }
}

/// A warehouse type name without case, sizes or precisions: `DECIMAL(18, 2)` → `decimal`,
/// `timestamp(6) with time zone` → `timestamp with time zone`.
fn normalized(name: &str) -> String {
    let mut text = String::new();
    let mut depth = 0usize;
    for c in name.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => text.extend(c.to_lowercase()),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The segc type of a warehouse type name, by the dialect's `[catalog.types]`.
pub fn map_type(dialect: &Dialect, name: &str) -> WarehouseType {
    let key = normalized(name);
    let types = &dialect.catalog.types;
    let known = [
        (&types.string, ValueType::String),
        (&types.integer, ValueType::Integer),
        (&types.number, ValueType::Number),
        (&types.date, ValueType::Date),
        (&types.timestamp, ValueType::Timestamp),
        (&types.boolean, ValueType::Boolean),
    ];
    for (names, value_type) in known {
        if names.iter().any(|n| n.eq_ignore_ascii_case(&key)) {
            return WarehouseType::Known(value_type);
        }
    }
    WarehouseType::Unsupported(name.trim().to_string())
}

/// Fills `{name}` placeholders in one pass, so a value holding braces is never read again.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}').and_then(|close| {
            let name = &after[..close];
            values
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (close, *v))
        }) {
            Some((close, value)) => {
                out.push_str(value);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The schema a table is looked for in: the part before its name, else the dialect's default.
fn expected_schema<'a>(dialect: &'a Dialect, parts: &'a [String]) -> Option<&'a str> {
    match parts.len() {
        0 | 1 => dialect.catalog.default_schema.as_deref(),
        n => Some(parts[n - 2].as_str()),
    }
}

/// The catalog query listing the columns of `tables` (each a name's parts): one `SELECT` per
/// scope the dialect's catalog needs (a database, a dataset), joined with `UNION ALL`. Every
/// name in it is a string literal (or, in the scope, a quoted name) of the dialect.
pub fn catalog_query(dialect: &Dialect, tables: &[Vec<String>]) -> String {
    let catalog = &dialect.catalog;
    let mut scopes: Vec<(String, Vec<String>)> = Vec::new();
    for parts in tables {
        let Some(table) = parts.last() else { continue };
        let n = parts.len();
        let schema = expected_schema(dialect, parts).unwrap_or_default();
        let (scope, matching) = match catalog.scope {
            CatalogScope::None => match (&catalog.table_in_catalog, n) {
                (Some(template), 3) => (
                    String::new(),
                    fill(
                        template,
                        &[
                            ("catalog", &dialect.string_literal(&parts[0])),
                            ("schema", &dialect.string_literal(schema)),
                            ("table", &dialect.string_literal(table)),
                        ],
                    ),
                ),
                _ => (String::new(), table_match(dialect, schema, table)),
            },
            CatalogScope::Database => {
                let scope = if n == 3 {
                    format!("{}.", dialect.quote_identifier(&parts[0]))
                } else {
                    String::new()
                };
                (scope, table_match(dialect, schema, table))
            }
            CatalogScope::Dataset => {
                let scope = if n >= 2 {
                    format!("{}.", dialect.quote_path(&parts[..n - 1]))
                } else {
                    String::new()
                };
                (scope, table_match(dialect, schema, table))
            }
        };
        match scopes.iter_mut().find(|(s, _)| *s == scope) {
            Some((_, matches)) => {
                if !matches.contains(&matching) {
                    matches.push(matching);
                }
            }
            None => scopes.push((scope, vec![matching])),
        }
    }
    scopes
        .iter()
        .map(|(scope, matches)| {
            fill(
                &catalog.query,
                &[("scope", scope), ("tables", &matches.join(" OR "))],
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

fn table_match(dialect: &Dialect, schema: &str, table: &str) -> String {
    fill(
        &dialect.catalog.table,
        &[
            ("schema", &dialect.string_literal(schema)),
            ("table", &dialect.string_literal(table)),
        ],
    )
}

/// One row of the catalog query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogRow {
    pub schema: String,
    pub table: String,
    pub column: String,
    pub data_type: String,
}

/// The rows of a catalog query's result: schema, table, column and type, in that order.
pub fn catalog_rows(result: &ResultSet) -> Result<Vec<CatalogRow>, Error> {
    let text = |cell: Option<&Cell>| match cell {
        Some(Cell::Text(text)) => Some(text.clone()),
        _ => None,
    };
    result
        .rows
        .iter()
        .map(|row| {
            match (
                text(row.first()),
                text(row.get(1)),
                text(row.get(2)),
                text(row.get(3)),
            ) {
                (Some(schema), Some(table), Some(column), Some(data_type)) => Ok(CatalogRow {
                    schema,
                    table,
                    column,
                    data_type,
                }),
                _ => Err(Error::Query(format!(
                    "the catalog query returned a row that is not four names: {row:?}"
                ))),
            }
        })
        .collect()
}

/// Finds `wanted` among `names`: exactly, else without case when only one matches.
fn find_name<'a>(names: impl Iterator<Item = &'a str> + Clone, wanted: &str) -> Option<&'a str> {
    if let Some(exact) = names.clone().find(|n| *n == wanted) {
        return Some(exact);
    }
    let mut folded = names.filter(|n| n.eq_ignore_ascii_case(wanted));
    match (folded.next(), folded.next()) {
        (Some(one), None) => Some(one),
        _ => None,
    }
}

/// The types the catalog gave one source's columns, by project column name in declaration
/// order, and what it could not find.
#[derive(Debug, Clone, Default)]
pub struct SourceTypes {
    pub source: String,
    pub columns: Vec<(String, WarehouseType)>,
    pub problems: Vec<String>,
}

/// Matches the catalog's rows to a source's table and columns: physical names exactly first,
/// then without case when that is unique.
pub fn source_types(
    dialect: &Dialect,
    source: &Source,
    target: Option<&str>,
    rows: &[CatalogRow],
) -> SourceTypes {
    let parts = source.table.resolve(target, &dialect.name);
    let mut result = SourceTypes {
        source: source.name.clone(),
        ..Default::default()
    };
    let Some(table) = parts.last() else {
        return result;
    };
    let schema = expected_schema(dialect, parts);
    let mut tables: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.schema.as_str(), r.table.as_str()))
        .collect();
    tables.sort();
    tables.dedup();
    let in_schema = |s: &str, exact: bool| match schema {
        None => true,
        Some(wanted) if exact => s == wanted,
        Some(wanted) => s.eq_ignore_ascii_case(wanted),
    };
    let exact: Vec<_> = tables
        .iter()
        .filter(|(s, t)| in_schema(s, true) && t == table)
        .collect();
    let folded: Vec<_> = tables
        .iter()
        .filter(|(s, t)| in_schema(s, false) && t.eq_ignore_ascii_case(table))
        .collect();
    let found = match (exact.as_slice(), folded.as_slice()) {
        ([one], _) | ([], [one]) => **one,
        ([], []) => {
            result.problems.push(format!(
                "the table {} of source `{}` is not in the catalog of the target",
                parts.join("."),
                source.name
            ));
            return result;
        }
        _ => {
            result.problems.push(format!(
                "the table {} of source `{}` matches several tables of the catalog; name its schema",
                parts.join("."),
                source.name
            ));
            return result;
        }
    };
    let columns: Vec<&CatalogRow> = rows
        .iter()
        .filter(|r| (r.schema.as_str(), r.table.as_str()) == found)
        .collect();
    for column in &source.columns {
        match find_name(columns.iter().map(|r| r.column.as_str()), &column.physical) {
            Some(name) => {
                let row = columns
                    .iter()
                    .find(|r| r.column == name)
                    .expect("a found name");
                result
                    .columns
                    .push((column.name.clone(), map_type(dialect, &row.data_type)));
            }
            None => result.problems.push(format!(
                "column `{}` of source `{}` ({}) is not a column of table {}.{}",
                column.name, source.name, column.physical, found.0, found.1
            )),
        }
    }
    result
}

/// Reads the catalog for `sources` through `driver` (one read-only query that crosses the
/// gate like any other).
pub fn read(
    driver: &mut dyn Driver,
    dialect: &Dialect,
    sources: &[&Source],
    target: &str,
) -> Result<Vec<SourceTypes>, Error> {
    let tables: Vec<Vec<String>> = sources
        .iter()
        .map(|s| s.table.resolve(Some(target), &dialect.name).to_vec())
        .collect();
    if tables.is_empty() {
        return Ok(Vec::new());
    }
    let sql = catalog_query(dialect, &tables);
    let result = driver.query(&sql)?;
    let rows = catalog_rows(&result)?;
    Ok(sources
        .iter()
        .map(|source| source_types(dialect, source, Some(target), &rows))
        .collect())
}

/// The text of `warehouse_schema.yml` for these types, read from `target`.
pub fn snapshot_file(target: &str, dialect: &str, sources: &[SourceTypes]) -> String {
    let quoted = |text: &str| {
        let plain = !text.is_empty()
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
            && !matches!(
                text.to_ascii_lowercase().as_str(),
                "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n"
            )
            && !text.starts_with('-')
            && text.parse::<f64>().is_err();
        if plain {
            text.to_string()
        } else {
            serde_json::to_string(text).unwrap_or_default()
        }
    };
    let mut out = String::new();
    out.push_str("# Written by `segc sources --refresh`: the type of each column of the sources, read from\n");
    out.push_str(&format!(
        "# the catalog of target `{}`. segc checks the definitions against it without connecting.\n",
        target.escape_default()
    ));
    out.push_str("# Do not edit it; after a table changes, refresh it:\n");
    out.push_str(&format!(
        "#   segc sources --refresh --target {}\n",
        target.escape_default()
    ));
    out.push_str("# A declared `type:` on a source's column wins over this file.\n");
    out.push_str("warehouse_schema:\n");
    out.push_str(&format!("  target: {}\n", quoted(target)));
    out.push_str(&format!("  dialect: {}\n", quoted(dialect)));
    out.push_str("  sources:\n");
    for source in sources {
        if source.columns.is_empty() {
            out.push_str(&format!("    {}: {{}}\n", source.source));
            continue;
        }
        out.push_str(&format!("    {}:\n", source.source));
        for (column, value_type) in &source.columns {
            let text = match value_type {
                WarehouseType::Known(_) => value_type.snapshot_text(),
                WarehouseType::Unsupported(name) => serde_json::to_string(name).unwrap_or_default(),
            };
            out.push_str(&format!("      {column}: {text}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapped(dialect: &str, name: &str) -> WarehouseType {
        map_type(&Dialect::load(dialect).unwrap(), name)
    }

    fn known(value_type: ValueType) -> WarehouseType {
        WarehouseType::Known(value_type)
    }

    #[test]
    fn duckdb_types_map_to_segc_types() {
        for (name, expected) in [
            ("VARCHAR", ValueType::String),
            ("INTEGER", ValueType::Integer),
            ("BIGINT", ValueType::Integer),
            ("HUGEINT", ValueType::Integer),
            ("DOUBLE", ValueType::Number),
            ("DECIMAL(18,2)", ValueType::Number),
            ("DATE", ValueType::Date),
            ("TIMESTAMP", ValueType::Timestamp),
            ("TIMESTAMP WITH TIME ZONE", ValueType::Timestamp),
            ("BOOLEAN", ValueType::Boolean),
        ] {
            assert_eq!(mapped("duckdb", name), known(expected), "{name}");
        }
        for name in ["VARCHAR[]", "STRUCT(a INTEGER)", "UUID", "BLOB", "TIME"] {
            assert_eq!(
                mapped("duckdb", name),
                WarehouseType::Unsupported(name.into()),
                "{name}"
            );
        }
    }

    #[test]
    fn postgres_and_redshift_types_map_to_segc_types() {
        for dialect in ["postgres", "redshift"] {
            for (name, expected) in [
                ("character varying", ValueType::String),
                ("text", ValueType::String),
                ("character", ValueType::String),
                ("integer", ValueType::Integer),
                ("smallint", ValueType::Integer),
                ("bigint", ValueType::Integer),
                ("numeric", ValueType::Number),
                ("double precision", ValueType::Number),
                ("real", ValueType::Number),
                ("date", ValueType::Date),
                ("timestamp without time zone", ValueType::Timestamp),
                ("timestamp with time zone", ValueType::Timestamp),
                ("boolean", ValueType::Boolean),
            ] {
                assert_eq!(mapped(dialect, name), known(expected), "{dialect} {name}");
            }
        }
        for name in [
            "uuid",
            "jsonb",
            "ARRAY",
            "USER-DEFINED",
            "time without time zone",
        ] {
            assert!(matches!(
                mapped("postgres", name),
                WarehouseType::Unsupported(_)
            ));
        }
        for name in ["super", "geometry", "varbyte"] {
            assert!(matches!(
                mapped("redshift", name),
                WarehouseType::Unsupported(_)
            ));
        }
    }

    #[test]
    fn sqlserver_and_bigquery_types_map_to_segc_types() {
        for (name, expected) in [
            ("nvarchar", ValueType::String),
            ("varchar", ValueType::String),
            ("int", ValueType::Integer),
            ("bigint", ValueType::Integer),
            ("decimal", ValueType::Number),
            ("float", ValueType::Number),
            ("date", ValueType::Date),
            ("datetime2", ValueType::Timestamp),
            ("datetimeoffset", ValueType::Timestamp),
            ("bit", ValueType::Boolean),
        ] {
            assert_eq!(mapped("sqlserver", name), known(expected), "{name}");
        }
        assert!(matches!(
            mapped("sqlserver", "uniqueidentifier"),
            WarehouseType::Unsupported(_)
        ));
        for (name, expected) in [
            ("STRING", ValueType::String),
            ("STRING(10)", ValueType::String),
            ("INT64", ValueType::Integer),
            ("FLOAT64", ValueType::Number),
            ("NUMERIC(10, 2)", ValueType::Number),
            ("BIGNUMERIC", ValueType::Number),
            ("DATE", ValueType::Date),
            ("TIMESTAMP", ValueType::Timestamp),
            ("BOOL", ValueType::Boolean),
        ] {
            assert_eq!(mapped("bigquery", name), known(expected), "{name}");
        }
        for name in [
            "ARRAY<STRING>",
            "STRUCT<a INT64>",
            "JSON",
            "BYTES",
            "DATETIME",
        ] {
            assert!(matches!(
                mapped("bigquery", name),
                WarehouseType::Unsupported(_)
            ));
        }
    }

    #[test]
    fn snapshot_texts_read_back() {
        for (_, value_type) in SNAPSHOT_NAMES {
            let t = WarehouseType::Known(*value_type);
            assert_eq!(WarehouseType::from_snapshot(&t.snapshot_text()), t);
        }
        // Only segc's own names are segc types: `text` is a warehouse's name.
        assert_eq!(
            WarehouseType::from_snapshot("text"),
            WarehouseType::Unsupported("text".into())
        );
    }

    #[test]
    fn catalog_queries_quote_every_name_as_a_literal() {
        let tables = vec![
            vec!["app".to_string(), "users".to_string()],
            vec!["it's".to_string(), "a\\b".to_string()],
            vec!["orders".to_string()],
        ];
        let duckdb = catalog_query(&Dialect::load("duckdb").unwrap(), &tables);
        assert_eq!(
            duckdb,
            "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns \
             WHERE (table_schema = 'app' AND table_name = 'users') OR (table_schema = 'it''s' AND table_name = 'a\\b') \
             OR (table_schema = 'main' AND table_name = 'orders')"
        );
        let postgres = catalog_query(&Dialect::load("postgres").unwrap(), &tables);
        assert!(
            postgres.contains("table_name = ('a' || CHR(92) || 'b')"),
            "{postgres}"
        );
        assert!(postgres.contains("table_schema = 'public'"), "{postgres}");
        let three = vec![vec![
            "sales".to_string(),
            "app".to_string(),
            "users".to_string(),
        ]];
        let sqlserver = catalog_query(&Dialect::load("sqlserver").unwrap(), &three);
        assert_eq!(
            sqlserver,
            "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, DATA_TYPE FROM [sales].INFORMATION_SCHEMA.COLUMNS \
             WHERE (TABLE_SCHEMA = N'app' AND TABLE_NAME = N'users')"
        );
        let duckdb = catalog_query(&Dialect::load("duckdb").unwrap(), &three);
        assert!(duckdb.contains("(table_catalog = 'sales' AND table_schema = 'app'"));
        let bigquery = catalog_query(
            &Dialect::load("bigquery").unwrap(),
            &[
                vec!["proj".into(), "app".into(), "users".into()],
                vec!["proj".into(), "app".into(), "events".into()],
                vec!["other".into(), "orders".into()],
            ],
        );
        assert_eq!(
            bigquery,
            "SELECT table_schema, table_name, column_name, data_type FROM `proj`.`app`.INFORMATION_SCHEMA.COLUMNS \
             WHERE (table_name = 'users') OR (table_name = 'events') UNION ALL \
             SELECT table_schema, table_name, column_name, data_type FROM `other`.INFORMATION_SCHEMA.COLUMNS \
             WHERE (table_name = 'orders')"
        );
        // A value holding a placeholder is not filled again.
        let odd = catalog_query(
            &Dialect::load("duckdb").unwrap(),
            &[vec!["{table}".into(), "t".into()]],
        );
        assert!(odd.contains("table_schema = '{table}'"), "{odd}");
    }

    #[test]
    fn every_catalog_query_is_admitted_by_the_gate() {
        let tables = vec![
            vec!["proj".to_string(), "app".to_string(), "users".to_string()],
            vec!["app".to_string(), "events".to_string()],
        ];
        for name in crate::dialect::names() {
            let dialect = Dialect::load(name).unwrap();
            let sql = catalog_query(&dialect, &tables);
            crate::driver::gate::admit(&sql, &dialect, crate::driver::gate::Shape::Read)
                .unwrap_or_else(|e| panic!("{name}: {e}\n{sql}"));
        }
    }

    fn row(schema: &str, table: &str, column: &str, data_type: &str) -> CatalogRow {
        CatalogRow {
            schema: schema.into(),
            table: table.into(),
            column: column.into(),
            data_type: data_type.into(),
        }
    }

    #[test]
    fn columns_match_exactly_first_then_without_case_when_unique() {
        let source = Source {
            name: "users".into(),
            table: crate::ir::TableName {
                default: vec!["app".into(), "users".into()],
                overrides: Default::default(),
            },
            role: crate::ir::SourceRole::Dimension { key: "id".into() },
            columns: ["country", "Role", "plan", "gone"]
                .iter()
                .map(|name| crate::ir::Column {
                    name: name.to_ascii_lowercase(),
                    physical: name.to_string(),
                    value_type: ValueType::Unknown,
                    scheduled: false,
                })
                .collect(),
            history: None,
            origin: crate::ir::Origin {
                file: "s.yml".into(),
                line: 1,
            },
        };
        let rows = vec![
            row("app", "users", "country", "VARCHAR"),
            row("app", "users", "COUNTRY", "INTEGER"),
            row("app", "users", "role", "VARCHAR"),
            row("app", "users", "PLAN", "BIGINT"),
            row("app", "users", "Plan", "DOUBLE"),
            row("other", "users", "gone", "VARCHAR"),
        ];
        let dialect = Dialect::load("duckdb").unwrap();
        let types = source_types(&dialect, &source, None, &rows);
        assert_eq!(
            types.columns,
            vec![
                ("country".into(), known(ValueType::String)),
                ("role".into(), known(ValueType::String)),
            ]
        );
        assert_eq!(types.problems.len(), 2, "{:?}", types.problems);
        assert!(types.problems[0].contains("`plan`"), "{:?}", types.problems);
        assert!(types.problems[1].contains("`gone`"), "{:?}", types.problems);
        let missing = source_types(&dialect, &source, None, &rows[5..]);
        assert!(missing.problems[0].contains("not in the catalog"));
    }
}
