//! The warehouse's catalog: the columns of the sources' tables and their types, read with
//! each dialect's catalog query (`[catalog]` in its `dialect.toml`) and mapped to segc types.
//! `segc sources --refresh` writes them to `warehouse_schema.yml`; `run` and `explain` read
//! the ones they miss, and check the snapshot's against them ([`disagreements`]).
//!
//! `types` maps a warehouse's type names to segc types, `query` writes the catalog query and
//! reads its rows, `snapshot` writes `warehouse_schema.yml`; here the rows are matched to
//! the sources.

mod query;
mod snapshot;
mod types;

use crate::dialect::Dialect;
use crate::driver::Driver;
use crate::error::Error;
use crate::ir::Source;

use query::expected_schema;

pub use query::{CatalogRow, catalog_query, catalog_rows};
pub use snapshot::{disagreements, snapshot_file};
pub use types::{WarehouseType, map_type};

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
    /// The type of its `key` or `user_key` column.
    pub key: Option<WarehouseType>,
    /// The types of its `time`, `valid_from` and `valid_to` columns, by those names.
    pub times: Vec<(String, WarehouseType)>,
    pub problems: Vec<String>,
}

/// Matches the catalog's rows to a source's table (`parts`: its name as the statement reads
/// it, with the schema a bare name resolves to where that is known) and columns: physical
/// names exactly first, then without case when that is unique.
pub fn source_types(
    dialect: &Dialect,
    source: &Source,
    parts: &[String],
    rows: &[CatalogRow],
) -> SourceTypes {
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
    // A physical column's type, matched as `find_name` does.
    let type_of = |physical: &str| {
        let name = find_name(columns.iter().map(|r| r.column.as_str()), physical)?;
        let row = columns.iter().find(|r| r.column == name)?;
        Some(map_type(dialect, &row.data_type))
    };
    let key = source.key_column();
    result.key = type_of(key);
    if result.key.is_none() {
        result.problems.push(format!(
            "the key column {key} of source `{}` is not a column of table {}.{}",
            source.name, found.0, found.1
        ));
    }
    let mut times: Vec<(&str, &str)> = Vec::new();
    if let crate::ir::SourceRole::Facts {
        time: Some(time), ..
    } = &source.role
    {
        times.push(("time", time));
    }
    if let Some(history) = &source.history {
        times.push(("valid_from", &history.valid_from));
        times.push(("valid_to", &history.valid_to));
    }
    for (role, physical) in times {
        match type_of(physical) {
            Some(value_type) => result.times.push((role.to_string(), value_type)),
            None => result.problems.push(format!(
                "the `{role}` column {physical} of source `{}` is not a column of table {}.{}",
                source.name, found.0, found.1
            )),
        }
    }
    for column in &source.columns {
        match type_of(&column.physical) {
            Some(value_type) => result.columns.push((column.name.clone(), value_type)),
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
    let mut tables: Vec<Vec<String>> = sources
        .iter()
        .map(|s| s.table.resolve(Some(target), &dialect.name).to_vec())
        .collect();
    if tables.is_empty() {
        return Ok(Vec::new());
    }
    resolve_bare_names(driver, dialect, &mut tables)?;
    let sql = catalog_query(dialect, &tables);
    let result = driver.query(&sql)?;
    let rows = catalog_rows(&result)?;
    Ok(sources
        .iter()
        .zip(&tables)
        .map(|(source, parts)| source_types(dialect, source, parts, &rows))
        .collect())
}

/// Puts before each table named without a schema the schema the warehouse reads it from
/// (the dialect's `visible` query: PostgreSQL's search path, SQL Server's default schema),
/// so that the catalog is read for the table the statement reads, not for one of the same
/// name in `default_schema`. A name the query does not find is left as it is, and so is
/// every name when the query fails.
fn resolve_bare_names(
    driver: &mut dyn Driver,
    dialect: &Dialect,
    tables: &mut [Vec<String>],
) -> Result<(), Error> {
    let Some(template) = &dialect.catalog.visible else {
        return Ok(());
    };
    let mut bare: Vec<String> = Vec::new();
    for parts in tables.iter() {
        if let [name] = parts.as_slice()
            && !bare.contains(name)
        {
            bare.push(name.clone());
        }
    }
    if bare.is_empty() {
        return Ok(());
    }
    let sql = query::visible_query(dialect, template, &bare);
    // A server that cannot answer it (an older or stricter one) leaves the names to
    // `default_schema`, as before segc asked; a cancelled run stops.
    let rows = match driver.query(&sql) {
        Ok(result) => query::name_rows(&result)?,
        Err(error @ (Error::Interrupted(_) | Error::TimedOut(_))) => return Err(error),
        Err(_) => return Ok(()),
    };
    for parts in tables.iter_mut() {
        if let [name] = parts.as_slice()
            && let Some(schema) = query::visible_schema(&rows, name)
        {
            parts.insert(0, schema.to_string());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
