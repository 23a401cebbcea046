//! `warehouse_schema.yml`: the types the catalog gave, written for `segc sources --refresh`.

use super::{SourceTypes, WarehouseType};
use crate::ir::Stored;

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
            out.push_str(&format!("      {column}: {}\n", type_text(value_type)));
        }
    }
    let keys: Vec<_> = sources
        .iter()
        .filter_map(|source| source.key.as_ref().map(|t| (&source.source, t)))
        .collect();
    if !keys.is_empty() {
        out.push_str("  # the type of each source's `key` or `user_key` column\n");
        out.push_str("  keys:\n");
        for (source, value_type) in keys {
            out.push_str(&format!("    {source}: {}\n", type_text(value_type)));
        }
    }
    let times: Vec<_> = sources.iter().filter(|s| !s.times.is_empty()).collect();
    if !times.is_empty() {
        out.push_str("  # the type of each source's `time`, `valid_from` and `valid_to` column\n");
        out.push_str("  times:\n");
        for source in times {
            out.push_str(&format!("    {}:\n", source.source));
            for (role, value_type) in &source.times {
                out.push_str(&format!("      {role}: {}\n", type_text(value_type)));
            }
        }
    }
    out
}

/// A type as the snapshot writes it: a segc type name, or the warehouse's own name quoted.
fn type_text(value_type: &WarehouseType) -> String {
    match value_type {
        WarehouseType::Known(_) => value_type.snapshot_text(),
        WarehouseType::Unsupported(name) => serde_json::to_string(name).unwrap_or_default(),
    }
}

/// Where `warehouse_schema.yml` no longer says what the target's catalog says: one error per
/// column (a value column, a key, a `time`/`valid_from`/`valid_to`) whose type the catalog
/// gives otherwise, at the snapshot's line. segc writes its SQL from the snapshot's types, so
/// a stale one (a column changed from timestamps to dates, or from numbers to strings) would
/// be read the old way; the catalog's own type names of types segc cannot read may differ
/// between warehouses and are not compared, beyond whether one is a fixed-length string.
/// Columns the catalog does not list (a view it does not describe) are not compared either,
/// nor those whose type the project declares (the declaration wins over the snapshot, and is
/// checked against it when the project is validated).
pub fn disagreements(
    files: &crate::spec::ProjectFiles,
    read: &[SourceTypes],
    target: &str,
) -> Vec<crate::error::Diagnostic> {
    use crate::spec::Spanned;
    let mut found = Vec::new();
    let Some(schema) = &files.definitions.warehouse_schema else {
        return found;
    };
    let written_from = match &schema.target {
        Some(from) if from.value != target => {
            format!(" (it was read from target `{}`)", from.value)
        }
        _ => String::new(),
    };
    let mut compare = |what: String, recorded: &Spanned<String>, live: Option<&WarehouseType>| {
        let Some(live) = live else { return };
        let snapshot = WarehouseType::from_snapshot(&recorded.value);
        let differs = match (&snapshot, live) {
            (WarehouseType::Known(a), WarehouseType::Known(b)) => a != b,
            // Fixed-length strings are read as strings and single-precision floats as numbers:
            // one is not another unsupported type.
            (WarehouseType::Unsupported(_), WarehouseType::Unsupported(_)) => {
                snapshot.read_as() != live.read_as()
            }
            _ => true,
        };
        if differs {
            let described = |t: &WarehouseType| match t {
                WarehouseType::Known(t) => crate::validate::article(*t),
                WarehouseType::Unsupported(name) => format!("`{name}`"),
            };
            found.push(
                crate::error::Diagnostic::new(
                    format!(
                        "the warehouse schema snapshot has {what} as {}, but the catalog of target `{target}` has it as {}{written_from}",
                        described(&snapshot),
                        described(live)
                    ),
                    recorded.span,
                )
                .with_hint(format!(
                    "segc writes the SQL from the snapshot's types, so a stale one reads the column the old way: refresh it (`segc sources --refresh --target {target}`)"
                )),
            );
        }
    };
    for source in read {
        let name = source.source.as_str();
        let declared = files
            .definitions
            .sources
            .iter()
            .find(|s| s.name.value == name);
        if let Some((_, columns)) = schema.sources.iter().find(|(s, _)| s.value == name) {
            for (column, recorded) in columns {
                let typed = declared.is_some_and(|s| {
                    s.columns
                        .iter()
                        .any(|c| c.name.value == column.value && c.value_type.is_some())
                });
                let live = source
                    .columns
                    .iter()
                    .find(|(c, _)| *c == column.value)
                    .map(|(_, t)| t);
                // A declaration gives the type, but the snapshot still says how the column is
                // stored: a fixed-length string is read without its padding and a single-
                // precision float as a double, which a stale snapshot would not do.
                let stored = |t: &WarehouseType| t.read_as().map_or(Stored::Plain, |(_, s)| s);
                let restored = live.is_some_and(|live| {
                    stored(&WarehouseType::from_snapshot(&recorded.value)) != stored(live)
                });
                if typed && !restored {
                    continue;
                }
                compare(
                    format!("column `{}` of source `{name}`", column.value),
                    recorded,
                    live,
                );
            }
        }
        if let Some(recorded) = schema.key_type(name)
            && declared.is_none_or(|s| s.key_type.is_none())
        {
            compare(
                format!("the key of source `{name}`"),
                recorded,
                source.key.as_ref(),
            );
        }
        for (role, live) in &source.times {
            let typed = declared.is_some_and(|s| match role.as_str() {
                "time" => s.time_type.is_some(),
                _ => s.history.as_ref().is_some_and(|h| h.value_type.is_some()),
            });
            if let (Some(recorded), false) = (schema.time_type(name, role), typed) {
                compare(
                    format!("the `{role}` column of source `{name}`"),
                    recorded,
                    Some(live),
                );
            }
        }
    }
    found
}
