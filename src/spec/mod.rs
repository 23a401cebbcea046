//! The project files as typed values with source spans: `segc_project.yml` and every
//! definitions file. Shapes only; names and types are checked by `validate`.

pub mod load;
pub mod profiles;
pub mod reader;
pub mod secrets;
pub mod yaml;

use crate::error::{Diagnostic, Span};

use reader::{MapReader, scalar_string};
use yaml::Node;

pub use load::{ProjectFiles, load_project};

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
    pub span: Span,
}

/// A column's name and type in `warehouse_schema`.
pub type SnapshotColumn = (Spanned<String>, Spanned<String>);

#[derive(Debug, Clone)]
pub enum TableSpec {
    Single(Spanned<String>),
    /// `{ default: app.users, bigquery: "proj.app.users" }`
    PerTarget(Vec<(Spanned<String>, Spanned<String>)>),
}

#[derive(Debug, Clone)]
pub struct ColumnSpec {
    pub name: Spanned<String>,
    pub column: Spanned<String>,
    pub value_type: Option<Spanned<String>>,
    /// `scheduled: true`: a date known in advance (a trial's end), read as it is at any as-of.
    pub scheduled: Option<Spanned<bool>>,
}

#[derive(Debug, Clone)]
pub struct SourceSpec {
    pub name: Spanned<String>,
    pub table: Option<TableSpec>,
    pub key: Option<Spanned<String>>,
    pub user_key: Option<Spanned<String>>,
    pub time: Option<Spanned<String>>,
    pub columns: Vec<ColumnSpec>,
    /// `history: { valid_from: col, valid_to: col }`: type-2 rows, as dbt snapshots write.
    pub history: Option<HistorySpec>,
    pub span: Span,
}

/// The validity columns of a source that keeps history.
#[derive(Debug, Clone)]
pub struct HistorySpec {
    pub valid_from: Spanned<String>,
    pub valid_to: Spanned<String>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum WindowSpec {
    /// `30d`, `4w`, `3m`, `period`, `activity`, `all`
    Text(Spanned<String>),
    /// `{ last: 30d, offset: 30d }` or `{ after_signup: 90d }`
    Mapping(Box<WindowMapping>),
}

#[derive(Debug, Clone)]
pub struct WindowMapping {
    pub last: Option<Spanned<String>>,
    pub offset: Option<Spanned<String>>,
    pub after_signup: Option<Spanned<String>>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct AttributeSpec {
    pub name: Spanned<String>,
    pub source: Option<Spanned<String>>,
    pub column: Option<Spanned<String>>,
    pub aggregation: Option<Spanned<String>>,
    pub window: Option<WindowSpec>,
    pub filter: Option<ConditionSpec>,
    pub formula: Option<Spanned<String>>,
    /// Set when the formula was written as a quoted scalar: columns inside the formula
    /// text then start one character after the node's span.
    pub formula_quoted: bool,
    pub value_type: Option<Spanned<String>>,
    /// `quintile: <attribute>`: a 1–5 score of that attribute among all users.
    pub quintile: Option<Spanned<String>>,
    /// With `quintile`: `highest` (the default) or `lowest`, the values that score 5.
    pub best: Option<Spanned<String>>,
    /// With `agg: nth`: which fact, counting from 1.
    pub n: Option<Spanned<String>>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupKind {
    All,
    Any,
    None,
}

#[derive(Debug, Clone)]
pub enum ConditionSpec {
    Group {
        kind: GroupKind,
        items: Vec<ConditionSpec>,
        span: Span,
    },
    InSegment(Spanned<String>),
    Predicate {
        attribute: Spanned<String>,
        operator: Spanned<String>,
        value: Node,
    },
}

#[derive(Debug, Clone)]
pub struct SegmentSpec {
    pub name: Spanned<String>,
    pub label: Option<Spanned<String>>,
    pub parent: Option<Spanned<String>>,
    pub visible: Option<Spanned<bool>>,
    /// The name of a set of segments of which each user belongs to at most one.
    pub exclusive: Option<Spanned<String>>,
    /// The order in which an `exclusive` set is checked: the lowest number wins.
    pub priority: Option<Spanned<String>>,
    pub condition: ConditionSpec,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct KpiSpec {
    pub name: Spanned<String>,
    pub label: Option<Spanned<String>>,
    pub aggregation: Option<Spanned<String>>,
    pub of: Option<Spanned<String>>,
    pub filter: Option<ConditionSpec>,
    pub p: Option<Spanned<f64>>,
    pub ratio: Option<(Spanned<String>, Spanned<String>)>,
    pub share_of_total: Option<Spanned<String>>,
    pub format: Option<Spanned<String>>,
    pub span: Span,
}

const PROJECT_KEYS: &[&str] = &[
    "name",
    "definitions",
    "default_target",
    "time_zone",
    "activity_window",
    "as_of",
    "currency_symbol",
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

/// `warehouse_schema: { target, dialect, sources: { users: { country: string } } }`.
fn read_warehouse_schema(
    node: &Node,
    span: Span,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<WarehouseSchemaSpec> {
    let mut map = MapReader::new(node, "`warehouse_schema`", diagnostics)?;
    let target = map.string("target", diagnostics);
    let dialect = map.string("dialect", diagnostics);
    let mut sources = Vec::new();
    if let Some(node) = map.node("sources") {
        for (source, body) in named_entries(node, "sources", diagnostics) {
            let columns = named_entries(body, "columns", diagnostics)
                .into_iter()
                .filter_map(|(column, value)| {
                    scalar_string(value, "a column type", diagnostics).map(|t| (column, t))
                })
                .collect();
            sources.push((source, columns));
        }
    }
    map.finish(&["target", "dialect", "sources"], diagnostics);
    Some(WarehouseSchemaSpec {
        target,
        dialect,
        sources,
        span,
    })
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

const SOURCE_KEYS: &[&str] = &["table", "key", "user_key", "time", "columns", "history"];

fn read_source(
    name: Spanned<String>,
    node: &Node,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<SourceSpec> {
    let what = format!("source `{}`", name.value);
    let mut map = MapReader::new(node, &what, diagnostics)?;
    let table = match map.node("table") {
        None => {
            diagnostics.push(Diagnostic::new(
                format!("{what} is missing `table`"),
                name.span,
            ));
            None
        }
        Some(table) if table.as_mapping().is_some() => {
            let entries = named_entries(table, "table", diagnostics)
                .into_iter()
                .filter_map(|(target, value)| {
                    scalar_string(value, "a table name", diagnostics).map(|t| (target, t))
                })
                .collect();
            Some(TableSpec::PerTarget(entries))
        }
        Some(table) => {
            scalar_string(table, &format!("`table` of {what}"), diagnostics).map(TableSpec::Single)
        }
    };
    let key = map.string("key", diagnostics);
    let user_key = map.string("user_key", diagnostics);
    let time = map.string("time", diagnostics);
    let mut columns = Vec::new();
    if let Some(node) = map.node("columns") {
        for (column_name, body) in named_entries(node, "columns", diagnostics) {
            if body.as_mapping().is_some() {
                let column_what = format!("column `{}`", column_name.value);
                if let Some(mut column_map) = MapReader::new(body, &column_what, diagnostics) {
                    let column = column_map.required_string("column", diagnostics);
                    let value_type = column_map.string("type", diagnostics);
                    let scheduled = column_map.boolean("scheduled", diagnostics);
                    column_map.finish(&["column", "type", "scheduled"], diagnostics);
                    if let Some(column) = column {
                        columns.push(ColumnSpec {
                            name: column_name,
                            column,
                            value_type,
                            scheduled,
                        });
                    }
                }
            } else if let Some(column) = scalar_string(body, "a column name", diagnostics) {
                columns.push(ColumnSpec {
                    name: column_name,
                    column,
                    value_type: None,
                    scheduled: None,
                });
            }
        }
    }
    let history = map.node("history").and_then(|node| {
        let what = format!("the history of source `{}`", name.value);
        let mut history = MapReader::new(node, &what, diagnostics)?;
        let valid_from = history.required_string("valid_from", diagnostics);
        let valid_to = history.required_string("valid_to", diagnostics);
        history.finish(&["valid_from", "valid_to"], diagnostics);
        Some(HistorySpec {
            valid_from: valid_from?,
            valid_to: valid_to?,
            span: node.span,
        })
    });
    let span = name.span;
    map.finish(SOURCE_KEYS, diagnostics);
    Some(SourceSpec {
        name,
        table,
        key,
        user_key,
        time,
        columns,
        history,
        span,
    })
}

const ATTRIBUTE_KEYS: &[&str] = &[
    "source",
    "column",
    "agg",
    "window",
    "where",
    "formula",
    "type",
    "quintile",
    "best",
    "n",
    "description",
];

fn read_attribute(
    name: Spanned<String>,
    node: &Node,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<AttributeSpec> {
    let what = format!("attribute `{}`", name.value);
    let mut map = MapReader::new(node, &what, diagnostics)?;
    let window = map
        .node("window")
        .and_then(|node| read_window(node, diagnostics));
    let filter = map
        .node("where")
        .map(|node| read_condition_body(node, diagnostics));
    let formula_node = map.node("formula");
    let formula_quoted = matches!(
        formula_node.map(|n| &n.kind),
        Some(yaml::NodeKind::Scalar { quoted: true, .. })
    );
    let formula = formula_node.and_then(|node| scalar_string(node, "`formula`", diagnostics));
    let _ = map.node("description");
    let spec = AttributeSpec {
        source: map.string("source", diagnostics),
        column: map.string("column", diagnostics),
        aggregation: map.string("agg", diagnostics),
        value_type: map.string("type", diagnostics),
        quintile: map.string("quintile", diagnostics),
        best: map.string("best", diagnostics),
        n: map.string("n", diagnostics),
        span: name.span,
        name,
        window,
        filter,
        formula,
        formula_quoted,
    };
    map.finish(ATTRIBUTE_KEYS, diagnostics);
    Some(spec)
}

fn read_window(node: &Node, diagnostics: &mut Vec<Diagnostic>) -> Option<WindowSpec> {
    if node.as_mapping().is_some() {
        let mut map = MapReader::new(node, "`window`", diagnostics)?;
        let last = map.string("last", diagnostics);
        let offset = map.string("offset", diagnostics);
        let after_signup = map.string("after_signup", diagnostics);
        map.finish(&["last", "offset", "after_signup"], diagnostics);
        return Some(WindowSpec::Mapping(Box::new(WindowMapping {
            last,
            offset,
            after_signup,
            span: node.span,
        })));
    }
    scalar_string(node, "`window`", diagnostics).map(WindowSpec::Text)
}

const SEGMENT_KEYS: &[&str] = &[
    "name",
    "label",
    "parent",
    "visible",
    "exclusive",
    "priority",
    "description",
    "all",
    "any",
    "none",
];

fn read_segment(node: &Node, diagnostics: &mut Vec<Diagnostic>) -> Option<SegmentSpec> {
    let mut map = MapReader::new(node, "a segment", diagnostics)?;
    let name = map.required_string("name", diagnostics)?;
    let label = map.string("label", diagnostics);
    let parent = map.string("parent", diagnostics);
    let visible = map.boolean("visible", diagnostics);
    let exclusive = map.string("exclusive", diagnostics);
    let priority = map.string("priority", diagnostics);
    let _ = map.node("description");
    let mut groups = Vec::new();
    for (key, kind) in [
        ("all", GroupKind::All),
        ("any", GroupKind::Any),
        ("none", GroupKind::None),
    ] {
        if let Some(body) = map.node(key) {
            groups.push(read_group(kind, body, diagnostics));
        }
    }
    let span = map.span;
    map.finish(SEGMENT_KEYS, diagnostics);
    let condition = ConditionSpec::Group {
        kind: GroupKind::All,
        items: groups,
        span,
    };
    Some(SegmentSpec {
        name,
        label,
        parent,
        visible,
        exclusive,
        priority,
        condition,
        span,
    })
}

const KPI_KEYS: &[&str] = &[
    "name",
    "label",
    "agg",
    "of",
    "where",
    "p",
    "ratio",
    "share_of_total",
    "format",
    "description",
];

fn read_kpi(node: &Node, diagnostics: &mut Vec<Diagnostic>) -> Option<KpiSpec> {
    let mut map = MapReader::new(node, "a KPI", diagnostics)?;
    let name = map.required_string("name", diagnostics)?;
    let p = map.node("p").and_then(|node| match node.scalar() {
        Some(yaml::ScalarValue::Integer(v)) => Some(Spanned {
            value: v as f64,
            span: node.span,
        }),
        Some(yaml::ScalarValue::Float(v)) => Some(Spanned {
            value: v,
            span: node.span,
        }),
        _ => {
            diagnostics.push(Diagnostic::new(
                format!(
                    "`p` must be a number between 0 and 1, found {}",
                    node.describe()
                ),
                node.span,
            ));
            None
        }
    });
    let ratio = map.node("ratio").and_then(|node| match node.as_sequence() {
        Some([a, b]) => Some((
            scalar_string(a, "a KPI name", diagnostics)?,
            scalar_string(b, "a KPI name", diagnostics)?,
        )),
        _ => {
            diagnostics.push(
                Diagnostic::new("`ratio` must be a list of two KPI names", node.span)
                    .with_hint("write `ratio: [numerator_kpi, denominator_kpi]`"),
            );
            None
        }
    });
    let filter = map
        .node("where")
        .map(|node| read_condition_body(node, diagnostics));
    let _ = map.node("description");
    let spec = KpiSpec {
        label: map.string("label", diagnostics),
        aggregation: map.string("agg", diagnostics),
        of: map.string("of", diagnostics),
        share_of_total: map.string("share_of_total", diagnostics),
        format: map.string("format", diagnostics),
        span: map.span,
        name,
        filter,
        p,
        ratio,
    };
    map.finish(KPI_KEYS, diagnostics);
    Some(spec)
}

/// `all: [...]`, `any: [...]`, `none: [...]`: a list of conditions, or a mapping read as
/// one condition.
fn read_group(kind: GroupKind, node: &Node, diagnostics: &mut Vec<Diagnostic>) -> ConditionSpec {
    let items = match node.as_sequence() {
        Some(items) => items
            .iter()
            .map(|item| read_condition_body(item, diagnostics))
            .collect(),
        None if node.as_mapping().is_some() => vec![read_condition_body(node, diagnostics)],
        None => {
            diagnostics.push(Diagnostic::new(
                format!(
                    "a condition group must be a list of conditions, found {}",
                    node.describe()
                ),
                node.span,
            ));
            Vec::new()
        }
    };
    ConditionSpec::Group {
        kind,
        items,
        span: node.span,
    }
}

/// A mapping of conditions, all of which must hold: `{ monthly_spend: { gt: 0 }, any: [...] }`.
pub fn read_condition_body(node: &Node, diagnostics: &mut Vec<Diagnostic>) -> ConditionSpec {
    let mut items = Vec::new();
    match node.as_mapping() {
        Some(entries) => {
            for (key, value) in entries {
                let Some(name) = scalar_string(key, "a condition", diagnostics) else {
                    continue;
                };
                match name.value.as_str() {
                    "all" => items.push(read_group(GroupKind::All, value, diagnostics)),
                    "any" => items.push(read_group(GroupKind::Any, value, diagnostics)),
                    "none" => items.push(read_group(GroupKind::None, value, diagnostics)),
                    "in_segment" => {
                        if let Some(segment) = scalar_string(value, "`in_segment`", diagnostics) {
                            items.push(ConditionSpec::InSegment(segment));
                        }
                    }
                    _ => match value.as_mapping() {
                        Some(operators) if !operators.is_empty() => {
                            for (operator, operand) in operators {
                                if let Some(operator) = scalar_string(operator, "an operator", diagnostics) {
                                    items.push(ConditionSpec::Predicate {
                                        attribute: name.clone(),
                                        operator,
                                        value: operand.clone(),
                                    });
                                }
                            }
                        }
                        _ => diagnostics.push(
                            Diagnostic::new(
                                format!(
                                    "the condition on `{}` must be a mapping of operator to value, found {}",
                                    name.value,
                                    value.describe()
                                ),
                                value.span,
                            )
                            .with_hint(format!("write `{}: {{ eq: value }}`", name.value)),
                        ),
                    },
                }
            }
        }
        None => diagnostics.push(Diagnostic::new(
            format!(
                "a condition must be a mapping such as `{{ attribute: {{ op: value }} }}`, found {}",
                node.describe()
            ),
            node.span,
        )),
    }
    if items.len() == 1 {
        return items.pop().expect("one item");
    }
    ConditionSpec::Group {
        kind: GroupKind::All,
        items,
        span: node.span,
    }
}
