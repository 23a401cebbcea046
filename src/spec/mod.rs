//! The project files as typed values with source spans: `segc_project.yml` and every
//! definitions file. Shapes only; names and types are checked by `validate`.
//!
//! The sections have a file each: `sources`, `attributes`, `segments`, `kpis`, and
//! `conditions` (the `where`/`all`/`any`/`none` trees segments and filters share).

mod attributes;
mod conditions;
mod kpis;
pub mod load;
pub mod profiles;
pub mod reader;
pub mod secrets;
mod segments;
mod sources;
pub mod yaml;

use crate::error::{Diagnostic, Span};

use attributes::read_attribute;
use kpis::read_kpi;
use reader::{MapReader, scalar_string};
use segments::read_segment;
use sources::read_source;
use yaml::Node;

/// A JSON Schema (draft-07) of `segc_project.yml` and of the definitions files, for editors
/// and other tools: `segc schema` prints it, `segc init` writes it into new projects.
pub const SCHEMA: &str = include_str!("segc.schema.json");

pub use attributes::{AttributeSpec, WindowMapping, WindowSpec};
pub use conditions::{ConditionSpec, GroupKind};
pub use kpis::KpiSpec;
pub use load::{ProjectFiles, load_project};
pub use segments::SegmentSpec;
pub use sources::{ColumnSpec, HistorySpec, SourceSpec, TableSpec};

/// A value and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

/// `segc_project.yml`.
#[derive(Debug, Clone, Default)]
pub struct ProjectSpec {
    pub name: Option<Spanned<String>>,
    pub definitions: Option<Spanned<String>>,
    pub default_target: Option<Spanned<String>>,
    pub time_zone: Option<Spanned<String>>,
    pub activity_window: Option<Spanned<String>>,
    pub as_of: Option<Spanned<String>>,
    pub currency_symbol: Option<Spanned<String>>,
    pub results_table: Option<Spanned<String>>,
    pub history_table: Option<Spanned<String>>,
}

/// Everything declared across the definitions files, in file order.
#[derive(Debug, Clone, Default)]
pub struct Definitions {
    pub sources: Vec<SourceSpec>,
    pub attributes: Vec<AttributeSpec>,
    pub segments: Vec<SegmentSpec>,
    pub kpis: Vec<KpiSpec>,
    /// `warehouse_schema:`, the snapshot `segc sources --refresh` writes.
    pub warehouse_schema: Option<WarehouseSchemaSpec>,
}

/// The warehouse's type of each column of the sources, as `segc sources --refresh` read it
/// from a target's catalog: per source, project column name → type (a segc type name, or
/// the warehouse's own name for a type segc does not support).
#[derive(Debug, Clone)]
pub struct WarehouseSchemaSpec {
    pub target: Option<Spanned<String>>,
    pub dialect: Option<Spanned<String>>,
    pub sources: Vec<(Spanned<String>, Vec<SnapshotColumn>)>,
    /// Per source, the type of its `key` or `user_key` column.
    pub keys: Vec<SnapshotColumn>,
    /// Per source, the types of its `time`, `valid_from` and `valid_to` columns, by those names.
    pub times: Vec<(Spanned<String>, Vec<SnapshotColumn>)>,
    pub span: Span,
}

/// A column's name and type in `warehouse_schema`.
pub type SnapshotColumn = (Spanned<String>, Spanned<String>);

impl WarehouseSchemaSpec {
    /// The type recorded for `source`'s `key` or `user_key`.
    pub fn key_type(&self, source: &str) -> Option<&Spanned<String>> {
        self.keys
            .iter()
            .find(|(s, _)| s.value == source)
            .map(|(_, t)| t)
    }

    /// The type recorded for `source`'s `time`, `valid_from` or `valid_to` column (`role`).
    pub fn time_type(&self, source: &str, role: &str) -> Option<&Spanned<String>> {
        let (_, columns) = self.times.iter().find(|(s, _)| s.value == source)?;
        columns
            .iter()
            .find(|(c, _)| c.value == role)
            .map(|(_, t)| t)
    }
}

const PROJECT_KEYS: &[&str] = &[
    "name",
    "definitions",
    "default_target",
    "time_zone",
    "activity_window",
    "as_of",
    "currency_symbol",
    "results_table",
    "history_table",
];

/// Reads `segc_project.yml`.
pub fn read_project(root: &Node, diagnostics: &mut Vec<Diagnostic>) -> ProjectSpec {
    let Some(mut map) = MapReader::new(root, "segc_project.yml", diagnostics) else {
        return ProjectSpec::default();
    };
    let spec = ProjectSpec {
        name: map.string("name", diagnostics),
        definitions: map.string("definitions", diagnostics),
        default_target: map.string("default_target", diagnostics),
        time_zone: map.string("time_zone", diagnostics),
        activity_window: map.string("activity_window", diagnostics),
        as_of: map.string("as_of", diagnostics),
        currency_symbol: map.string("currency_symbol", diagnostics),
        results_table: map.string("results_table", diagnostics),
        history_table: map.string("history_table", diagnostics),
    };
    map.finish(PROJECT_KEYS, diagnostics);
    spec
}

const FILE_KEYS: &[&str] = &[
    "sources",
    "attributes",
    "segments",
    "kpis",
    "warehouse_schema",
];

/// Adds the declarations of one definitions file to `definitions`.
pub fn read_definitions(
    root: &Node,
    definitions: &mut Definitions,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let Some(mut map) = MapReader::new(root, "a definitions file", diagnostics) else {
        return;
    };
    if let Some(node) = map.node("sources") {
        for (name, body) in named_entries(node, "sources", diagnostics) {
            if let Some(source) = read_source(name, body, diagnostics) {
                definitions.sources.push(source);
            }
        }
    }
    if let Some(node) = map.node("attributes") {
        for (name, body) in named_entries(node, "attributes", diagnostics) {
            if let Some(attribute) = read_attribute(name, body, diagnostics) {
                definitions.attributes.push(attribute);
            }
        }
    }
    if let Some(node) = map.node("segments") {
        for item in list_items(node, "segments", diagnostics) {
            if let Some(segment) = read_segment(item, diagnostics) {
                definitions.segments.push(segment);
            }
        }
    }
    if let Some(node) = map.node("kpis") {
        for item in list_items(node, "kpis", diagnostics) {
            if let Some(kpi) = read_kpi(item, diagnostics) {
                definitions.kpis.push(kpi);
            }
        }
    }
    if let Some(node) = map.node("warehouse_schema") {
        let key_span = map.key_span("warehouse_schema").unwrap_or(node.span);
        if let Some(schema) = read_warehouse_schema(node, key_span, diagnostics) {
            match &definitions.warehouse_schema {
                Some(earlier) => diagnostics.push(
                    Diagnostic::new(
                        "`warehouse_schema` is written in two definitions files",
                        schema.span,
                    )
                    .with_hint(format!(
                        "keep one (the other starts at line {}): `segc sources --refresh` writes it to warehouse_schema.yml",
                        earlier.span.start.line
                    )),
                ),
                None => definitions.warehouse_schema = Some(schema),
            }
        }
    }
    map.finish(FILE_KEYS, diagnostics);
}

/// `warehouse_schema: { target, dialect, sources: { users: { country: string } }, keys: { users:
/// integer }, times: { orders: { time: date } } }`.
fn read_warehouse_schema(
    node: &Node,
    span: Span,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<WarehouseSchemaSpec> {
    let mut map = MapReader::new(node, "`warehouse_schema`", diagnostics)?;
    let target = map.string("target", diagnostics);
    let dialect = map.string("dialect", diagnostics);
    // `roles`: the only names a source's entries may have (`times:`), else any.
    let mut per_source = |name: &str, roles: Option<&[&str]>, diagnostics: &mut Vec<Diagnostic>| {
        let mut sources: Vec<(Spanned<String>, Vec<SnapshotColumn>)> = Vec::new();
        if let Some(node) = map.node(name) {
            let entries = named_entries(node, name, diagnostics);
            for (source, body) in unique(entries, name, diagnostics) {
                let what = format!("{name}.{}", source.value);
                let mut columns = Vec::new();
                let entries = named_entries(body, &what, diagnostics);
                for (column, value) in unique(entries, &what, diagnostics) {
                    if let Some(roles) =
                        roles.filter(|roles| !roles.contains(&column.value.as_str()))
                    {
                        diagnostics.push(Diagnostic::new(
                            format!(
                                "unknown `{}` in `{what}`: the entries are {}",
                                column.value,
                                roles.join(", ")
                            ),
                            column.span,
                        ));
                        continue;
                    }
                    if let Some(t) = scalar_string(value, "a column type", diagnostics) {
                        columns.push((column, t));
                    }
                }
                sources.push((source, columns));
            }
        }
        sources
    };
    let sources = per_source("sources", None, diagnostics);
    let times = per_source(
        "times",
        Some(&["time", "valid_from", "valid_to"]),
        diagnostics,
    );
    let keys = map
        .node("keys")
        .map(|node| {
            let entries = named_entries(node, "keys", diagnostics);
            unique(entries, "keys", diagnostics)
                .into_iter()
                .filter_map(|(source, value)| {
                    scalar_string(value, "a key type", diagnostics).map(|t| (source, t))
                })
                .collect()
        })
        .unwrap_or_default();
    map.finish(
        &["target", "dialect", "sources", "keys", "times"],
        diagnostics,
    );
    Some(WarehouseSchemaSpec {
        target,
        dialect,
        sources,
        keys,
        times,
        span,
    })
}

/// `entries` without a name written twice, each repetition an error at its name.
fn unique<'a>(
    entries: Vec<(Spanned<String>, &'a Node)>,
    what: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<(Spanned<String>, &'a Node)> {
    let mut seen = std::collections::HashSet::new();
    let mut kept: Vec<(Spanned<String>, &'a Node)> = Vec::new();
    for (name, node) in entries {
        if !seen.insert(name.value.clone()) {
            diagnostics.push(Diagnostic::new(
                format!("`{}` is written twice in `{what}`", name.value),
                name.span,
            ));
            continue;
        }
        kept.push((name, node));
    }
    kept
}

fn named_entries<'a>(
    node: &'a Node,
    what: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<(Spanned<String>, &'a Node)> {
    if node.is_null() {
        return Vec::new();
    }
    let Some(entries) = node.as_mapping() else {
        diagnostics.push(Diagnostic::new(
            format!(
                "`{what}` must be a mapping of name to definition, found {}",
                node.describe()
            ),
            node.span,
        ));
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|(key, value)| {
            scalar_string(key, &format!("a name in `{what}`"), diagnostics)
                .map(|name| (name, value))
        })
        .collect()
}

fn list_items<'a>(node: &'a Node, what: &str, diagnostics: &mut Vec<Diagnostic>) -> &'a [Node] {
    if node.is_null() {
        return &[];
    }
    match node.as_sequence() {
        Some(items) => items,
        None => {
            diagnostics.push(Diagnostic::new(
                format!(
                    "`{what}` must be a list (each item starting with `- name:`), found {}",
                    node.describe()
                ),
                node.span,
            ));
            &[]
        }
    }
}
