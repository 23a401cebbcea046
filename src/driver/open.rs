//! The one way from a target's profile to a connection, and what a failed query's message
//! can say about the source definitions behind it.

use std::path::Path;

use super::{Driver, RunOptions};
use crate::error::Error;
use crate::spec::profiles::Profile;

/// The target types this build can run.
fn built_drivers() -> Vec<&'static str> {
    let mut names = Vec::new();
    if cfg!(feature = "duckdb") {
        names.push("duckdb");
    }
    if cfg!(feature = "postgres") {
        names.extend(["postgres", "redshift"]);
    }
    if cfg!(feature = "bigquery") {
        names.push("bigquery");
    }
    if cfg!(feature = "sqlserver") {
        names.push("sqlserver");
    }
    names
}

/// Opens a driver for a profile. `root` is the project folder, which a DuckDB target's
/// relative `path` is read from; a `demo: true` DuckDB target whose file is missing gets
/// the demo database first (announced to `options.events`). Each statement the driver runs
/// is reported to `options.events` (see [`super::record`]).
pub fn open(profile: &Profile, options: RunOptions, root: &Path) -> Result<Box<dyn Driver>, Error> {
    let driver = open_engine(profile, options.clone(), root)?;
    Ok(Box::new(super::record::Recorded::new(
        driver, profile, options,
    )))
}

fn open_engine(
    profile: &Profile,
    #[allow(unused_variables)] options: RunOptions,
    #[allow(unused_variables)] root: &Path,
) -> Result<Box<dyn Driver>, Error> {
    match profile.kind.as_str() {
        #[cfg(feature = "duckdb")]
        "duckdb" => open_duckdb(profile, options, root),
        #[cfg(feature = "postgres")]
        "postgres" | "redshift" => Ok(Box::new(super::postgres::Postgres::connect_with(
            profile, options,
        )?)),
        #[cfg(feature = "bigquery")]
        "bigquery" => Ok(Box::new(super::bigquery::BigQuery::connect(
            profile, options,
        )?)),
        #[cfg(feature = "sqlserver")]
        "sqlserver" => Ok(Box::new(super::sqlserver::SqlServer::connect(
            profile, options,
        )?)),
        other => Err(Error::Profile(format!(
            "target `{}` has type `{other}`, which this build of segc cannot run (built with: {})",
            profile.name,
            built_drivers().join(", ")
        ))),
    }
}

#[cfg(feature = "duckdb")]
fn open_duckdb(
    profile: &Profile,
    options: RunOptions,
    root: &Path,
) -> Result<Box<dyn Driver>, Error> {
    let path_text = profile.field("path").ok_or_else(|| {
        Error::Profile(format!(
            "target `{}` (duckdb) needs `path`: the database file",
            profile.name
        ))
    })?;
    let path = super::duckdb::resolve_path(root, path_text);
    if !path.exists() && profile.field("demo") == Some("true") {
        options.events.progress(&format!(
            "creating the demo database {} (first run)…",
            path.display()
        ));
        match crate::demo::create_database_with(&path, &options.events) {
            // Another run created it meanwhile: use theirs.
            Ok(_) | Err(crate::demo::DemoError::AlreadyExists { .. }) => {}
            Err(error) => return Err(Error::Query(error.to_string())),
        }
    }
    // Waits for another process writing the file (`--materialize`, `segc snapshot`) as long
    // as the query itself may run (else a minute), to read or to write.
    let wait = options
        .timeout
        .unwrap_or(std::time::Duration::from_secs(60));
    let driver = super::duckdb::DuckDb::open_waiting(&path, options.write, wait, &options.events)?;
    Ok(Box::new(
        driver.for_target(&profile.name).with_options(options),
    ))
}

/// True when `word` occurs in `text` not as part of a longer identifier.
fn contains_word(text: &str, word: &str) -> bool {
    let is_identifier = |c: char| c.is_alphanumeric() || c == '_';
    !word.is_empty()
        && text.match_indices(word).any(|(at, _)| {
            let before = text[..at].chars().next_back();
            let after = text[at + word.len()..].chars().next();
            !before.is_some_and(is_identifier) && !after.is_some_and(is_identifier)
        })
}

/// Where a source is defined and the table it names on `target`: `file:line, table a.b`.
pub fn source_location(source: &crate::ir::Source, target: &str, dialect: &str) -> String {
    format!(
        "{}, table {}",
        source.origin,
        source.table.resolve(Some(target), dialect).join(".")
    )
}

/// When a warehouse says a table is missing, names the source of the YAML that points at it;
/// when it says a number did not fit a whole number, names the exact sums ([`name_the_sums`]).
pub fn name_the_source(
    error: Error,
    project: &crate::ir::Project,
    target: &str,
    dialect: &str,
) -> Error {
    let Error::Query(message) = error else {
        return error;
    };
    let lower = message.to_lowercase();
    let missing = ["not exist", "not found", "invalid object name"];
    if !missing.iter().any(|m| lower.contains(m)) {
        return Error::Query(name_the_sums(message, project, target, dialect));
    }
    // Warehouses suggest other tables ("did you mean \"events\"?"): those are not missing.
    let about = lower.split("did you mean").next().unwrap_or_default();
    let hits: Vec<String> = project
        .sources
        .iter()
        .filter(|source| {
            let parts = source.table.resolve(Some(target), dialect);
            let table = parts.join(".").to_lowercase();
            let last = parts.last().map(|p| p.to_lowercase()).unwrap_or_default();
            about.contains(&table) || contains_word(about, &last)
        })
        .map(|source| {
            format!(
                "`{}` ({})",
                source.name,
                source_location(source, target, dialect)
            )
        })
        .collect();
    if hits.is_empty() {
        return Error::Query(message);
    }
    Error::Query(format!(
        "{message}\n  defined as source {}",
        hits.join(", ")
    ))
}

/// The warehouses' words for a number that does not fit a whole number: DuckDB's and
/// PostgreSQL's "out of range", SQL Server's "arithmetic overflow", BigQuery's "non-finite"
/// (a NaN or an infinity cast to an integer) and "overflow".
const NOT_WHOLE: [&str; 3] = ["out of range", "overflow", "non-finite"];

/// The words of an overflow in arithmetic on integers, not in a sum: DuckDB's "Overflow in
/// multiplication of INT32", PostgreSQL's "integer out of range" (a 32-bit integer; a sum's
/// pieces are 64-bit, "bigint out of range"). DuckDB's overflow in arithmetic of INT64 is
/// an exact sum's, whose digits are carried in 64-bit integers (formulas compute in
/// doubles).
const INTEGER_ARITHMETIC: [&str; 2] = ["overflow in ", "integer out of range"];

/// Whether `message` (lowercase) is an overflow of integer arithmetic that no exact sum
/// makes ([`INTEGER_ARITHMETIC`]).
fn integer_arithmetic(message: &str) -> bool {
    INTEGER_ARITHMETIC
        .iter()
        .any(|words| message.contains(words))
        && !message.contains("of int64")
}

/// When a warehouse says a number did not fit a whole number and the project adds
/// fractional numbers (which segc adds exactly, as whole-number pieces), names the values
/// that are added so, where a NaN, an infinity, or a value of 2^95 or more (which cannot be
/// cut so) may be: the number columns that attributes sum or average, the user or
/// dimension columns that KPIs do, and the formulas whose values KPIs do.
fn name_the_sums(
    message: String,
    project: &crate::ir::Project,
    target: &str,
    dialect: &str,
) -> String {
    use crate::ir::{Aggregation, AttributeKind, FactColumn, KpiAggregation, KpiKind, ValueType};
    let lower = message.to_lowercase();
    // PostgreSQL refuses a product or quotient of doubles that rounds to zero; segc's sums
    // divide no value so, but a percentile between two values nearer than about 1e-308
    // multiplies their difference by a fraction.
    if lower.contains("underflow") {
        return format!(
            "{message}\n  = help: a number nearer to zero than about 1e-308 was multiplied or divided (in a percentile, the difference of two such values), which {dialect} refuses to round to zero; round such values in the source (or a view of it)"
        );
    }
    if !NOT_WHOLE.iter().any(|words| lower.contains(words)) || integer_arithmetic(&lower) {
        return message;
    }
    // Each place a value is read from, with the definitions that add it, in project order.
    let mut places: Vec<(String, Vec<String>)> = Vec::new();
    let mut add = |place: String, by: String| match places.iter_mut().find(|(p, _)| *p == place) {
        Some((_, adders)) => adders.push(by),
        None => places.push((place, vec![by])),
    };
    let column = |source: &crate::ir::SourceId, column: &str| {
        let source = &project.sources[source.0];
        format!(
            "column {column} of source `{}` ({})",
            source.name,
            source_location(source, target, dialect)
        )
    };
    for attribute in &project.attributes {
        if let AttributeKind::Aggregate {
            source,
            aggregation: Aggregation::Sum | Aggregation::Avg,
            column:
                Some(FactColumn::Column {
                    physical,
                    value_type: ValueType::Number,
                    ..
                }),
            ..
        } = &attribute.kind
        {
            let by = format!("attribute `{}` ({})", attribute.name, attribute.origin);
            add(column(source, physical), by);
        }
    }
    for kpi in &project.kpis {
        let KpiKind::Aggregate {
            aggregation: KpiAggregation::Sum | KpiAggregation::Avg,
            of: Some(of),
            ..
        } = &kpi.kind
        else {
            continue;
        };
        if crate::plan::aggregates::whole_attribute(project, *of) {
            continue;
        }
        let attribute = project.attribute(*of);
        let by = format!("KPI `{}` ({})", kpi.name, kpi.origin);
        match &attribute.kind {
            AttributeKind::Column {
                source, column: c, ..
            } => add(column(source, c), by),
            AttributeKind::Formula(_) => add(
                format!(
                    "the formula of attribute `{}` ({})",
                    attribute.name, attribute.origin
                ),
                by,
            ),
            // An aggregate's column is named above, when it can hold such a value.
            _ => {}
        }
    }
    if places.is_empty() {
        return message;
    }
    let mut text = format!(
        "{message}\n  a sum or average of fractional numbers adds each value exactly, in \
         whole-number pieces, which a NaN, an infinity, a value of 2^95 (about 4e28) or more, \
         or a total that large does not fit; look for one in"
    );
    for (place, adders) in &places {
        text.push_str(&format!("\n    {place}, added by {}", adders.join(", ")));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn traced(message: &str) -> String {
        let mut project =
            crate::validate::load_and_validate(std::path::Path::new(env!("CARGO_MANIFEST_DIR")))
                .unwrap();
        let events = project
            .sources
            .iter()
            .position(|s| s.name == "events")
            .unwrap();
        project.sources[events].table.default = vec!["app".into(), "event_log".into()];
        name_the_source(Error::Query(message.into()), &project, "t", "duckdb").to_string()
    }

    #[test]
    fn a_missing_table_is_named_by_every_warehouse_spelling() {
        let hint = "defined as source `events` (segment-defs/sources.yml:40, table app.event_log)";
        for message in [
            "Catalog Error: Table with name event_log does not exist!\nDid you mean \"events\"?",
            "relation \"app.event_log\" does not exist",
            "Invalid object name 'app.event_log'.",
            "Not found: Table my-proj:app.event_log was not found in location US",
        ] {
            let text = traced(message);
            assert!(text.contains(hint), "{message}: {text}");
            assert!(!text.contains("source `orders`"), "{text}");
        }
        // A suggested table is not the missing one; other errors are left alone.
        let text = traced("Table with name event_logs does not exist! Did you mean \"event_log\"?");
        assert!(!text.contains("defined as"), "{text}");
        let text = traced("division by zero in events");
        assert!(!text.contains("defined as"), "{text}");
    }

    #[test]
    fn a_number_that_does_not_fit_a_whole_number_names_the_exact_sums() {
        let place = "\n    column amount of source `orders` (segment-defs/sources.yml:48, \
                     table app.orders), added by attribute `monthly_spend` \
                     (segment-defs/attributes.yml:15), attribute `lifetime_spend` \
                     (segment-defs/attributes.yml:32)";
        for message in [
            "Conversion Error: Type DOUBLE with value nan can't be cast because the value is \
             out of range for the destination type INT64",
            "target `pg`: bigint out of range",
            "Arithmetic overflow error converting float to data type bigint.",
            "Illegal conversion of non-finite floating point number to an integer: nan",
            // A total just short of 2^95, carried into digits.
            "Out of Range Error: Overflow in addition of INT64 \
             (9223372036854775807 + 2147483648)!",
        ] {
            let text = traced(message);
            assert!(text.starts_with(message), "{text}");
            assert!(text.contains(place), "{message}: {text}");
            // A KPI over a count (`avg_active_days`) adds whole numbers, exact as they are.
            assert!(!text.contains("avg_active_days"), "{text}");
        }
        // Integer arithmetic that overflows is not a sum: no list of sums.
        for message in [
            "division by zero",
            "Out of Range Error: Overflow in multiplication of INT32 (50000 * 50000)!",
            "target `pg`: integer out of range",
        ] {
            assert_eq!(traced(message), message);
        }
    }

    #[test]
    fn words_match_whole_identifiers_only() {
        assert!(contains_word("table with name events does", "events"));
        assert!(contains_word("\"events\"", "events"));
        assert!(!contains_word("event_logs", "event_log"));
        assert!(!contains_word("my_events", "events"));
        assert!(!contains_word("anything", ""));
    }
}
