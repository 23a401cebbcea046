//! Sources: names, tables, and which one is the user table.

use crate::catalog::WarehouseType;
use crate::error::suggest;
use crate::ir::{
    Column, History, KeyType, Source, SourceId, SourceRole, Stored, TableName, ValueType,
};
use crate::spec::{ColumnSpec, SourceSpec, TableSpec};

use super::{Validator, check_name, check_physical_name};
use crate::spec::Spanned;

/// The user table's column that says when each user signed up.
pub const SIGNUP_COLUMN: &str = "signup_at";

pub(crate) fn parse_type(text: &str) -> Option<ValueType> {
    Some(match text {
        "number" | "double" | "float" | "decimal" | "numeric" => ValueType::Number,
        "integer" | "int" | "bigint" => ValueType::Integer,
        "string" | "text" | "varchar" => ValueType::String,
        "date" => ValueType::Date,
        "timestamp" | "datetime" => ValueType::Timestamp,
        "boolean" | "bool" => ValueType::Boolean,
        _ => return None,
    })
}

pub(crate) const TYPE_NAMES: &[&str] = &[
    "number",
    "integer",
    "string",
    "date",
    "timestamp",
    "boolean",
];

/// Where a source column's type comes from (rule 15: declared, else the snapshot, else what
/// `run` learned from the catalog, else unknown).
#[derive(Debug, Clone)]
pub(crate) struct ColumnTyping {
    /// The column's name in its source, where errors about its type point.
    pub span: crate::error::Span,
    pub physical: String,
    /// Implied (keys, time, sign-up), declared, or read from the warehouse.
    pub known: bool,
    /// The warehouse's name of a type segc does not support.
    pub unsupported: Option<String>,
    /// How the warehouse stores it, where segc reads it otherwise.
    pub stored: Stored,
}

/// The name under which a source's `key` or `user_key` type is learned from the catalog
/// (no project column can have it).
pub const KEY_COLUMN: &str = "(key)";

/// The name under which the type of a source's `time`, `valid_from` or `valid_to` is learned
/// from the catalog (in parentheses, like [`KEY_COLUMN`]); the snapshot's `times:` names them
/// without.
pub fn learned_time(role: &str) -> String {
    format!("({role})")
}

/// Where a source's `key` or `user_key` is written (its column), else the source's name.
fn key_span(spec: &SourceSpec) -> crate::error::Span {
    spec.key
        .as_ref()
        .or(spec.user_key.as_ref())
        .map_or(spec.span, |k| k.span)
}

/// The snapshot's type of a source's column, when `warehouse_schema` holds one.
fn snapshot_type<'f>(
    files: &'f crate::spec::ProjectFiles,
    source: &str,
    column: &str,
) -> Option<&'f Spanned<String>> {
    let schema = files.definitions.warehouse_schema.as_ref()?;
    let (_, columns) = schema.sources.iter().find(|(s, _)| s.value == source)?;
    columns
        .iter()
        .find(|(c, _)| c.value == column)
        .map(|(_, t)| t)
}

/// Why a column declared `declared` cannot be read so when the warehouse holds `warehouse`:
/// segc would compare, count, order or cast its values otherwise than the warehouse holds
/// them, and warehouses would not agree. `None` where the declaration reads the values as
/// they are: the same type, or `number` over whole numbers.
fn misread_by_declaration(declared: ValueType, warehouse: ValueType) -> Option<&'static str> {
    use ValueType::*;
    if declared == warehouse || (declared, warehouse) == (Number, Integer) {
        return None;
    }
    Some(match (declared, warehouse) {
        (String, _) | (_, String) => {
            "strings compare, count and sort differently from other values"
        }
        (Date | Timestamp, Date | Timestamp) => {
            "a date is a local day of the project's time zone and a timestamp an instant: a date read as a timestamp is a UTC midnight (a day early west of UTC), and a timestamp compared with days matches only at midnight"
        }
        (Integer, Number) => {
            "a number column may hold fractions, which a whole number's minimum or maximum would round (each warehouse its own way: half to even, half away from zero or toward zero)"
        }
        (Boolean, _) | (_, Boolean) => {
            "booleans compare with true and false and count as 1 and 0; other values do not, and warehouses convert them differently"
        }
        _ => "segc would read its values as another kind of value than the warehouse holds",
    })
}

/// Whether a warehouse type is BigQuery's zone-less `DATETIME` (no other warehouse segc
/// reads lists it as a type it cannot read), which BigQuery compares with neither a
/// TIMESTAMP nor a DATE: a `date` or `timestamp` declared over it would fail the statement.
fn civil_datetime(warehouse: &WarehouseType) -> bool {
    matches!(warehouse, WarehouseType::Unsupported(name) if civil_datetime_name(name))
}

/// Whether a type name segc cannot read is BigQuery's `DATETIME` ([`civil_datetime`]).
fn civil_datetime_name(name: &str) -> bool {
    name.trim().eq_ignore_ascii_case("datetime")
}

/// How to read BigQuery's `DATETIME` ([`civil_datetime`]).
const CIVIL_DATETIME_HINT: &str = "BigQuery compares a DATETIME with neither a TIMESTAMP nor a DATE (\"no matching signature\"), so no declaration makes segc's SQL run: read the column through a view that converts it, `TIMESTAMP(col, 'UTC')` for instants (as segc reads other warehouses' timestamps without a zone) or `DATE(col)` for days";

fn table_parts(text: &str) -> Option<Vec<String>> {
    let parts: Vec<String> = text.split('.').map(|p| p.trim().to_string()).collect();
    (!parts.iter().any(|p| p.is_empty()) && parts.len() <= 3).then_some(parts)
}

impl Validator<'_> {
    pub(super) fn read_sources(&mut self) {
        let specs = &self.files.definitions.sources;
        // Sources with `key` and no `user_key`: the user table, or dimensions of it.
        let mut keyed: Vec<SourceId> = Vec::new();
        for spec in specs {
            if !check_name(&spec.name, "source", &mut self.diagnostics) {
                continue;
            }
            if self.source_names.contains_key(&spec.name.value) {
                self.error(
                    format!("duplicate source `{}`", spec.name.value),
                    spec.name.span,
                );
                continue;
            }
            let what = format!("source `{}`", spec.name.value);
            self.check_source_names(spec, &what);
            let Some(table) = self.source_table(spec, &what) else {
                continue;
            };
            let columns = self.source_columns(spec, &what);
            let Some(role) = self.source_role(spec, &what, &mut keyed) else {
                continue;
            };
            let (key_type, key_padded) = self.key_type(spec, &what);
            let role = match role {
                SourceRole::Facts { user_key, time, .. } => {
                    let time_type = match &spec.time {
                        Some(column) => {
                            let found =
                                self.time_type(spec, "time", column, spec.time_type.as_ref());
                            self.or_untimed(found)
                        }
                        None => ValueType::Timestamp,
                    };
                    SourceRole::Facts {
                        user_key,
                        time,
                        time_type,
                    }
                }
                role => role,
            };
            let history = spec.history.as_ref().map(|h| {
                let problems = self.diagnostics.len();
                let from = self.time_type(spec, "valid_from", &h.valid_from, h.value_type.as_ref());
                let to = self.time_type(spec, "valid_to", &h.valid_to, h.value_type.as_ref());
                // Both columns have one type, that of either when the other's is not known.
                let value_type = match (from, to) {
                    (Some(from), Some(to)) => {
                        if from != to && self.check_types && self.diagnostics.len() == problems {
                            self.error_with_hint(
                                format!("the history of {what} has `valid_from` of type {} and `valid_to` of type {}", from.name(), to.name()),
                                h.span,
                                Some("both must be dates or both timestamps: change the table, or declare `type:` in `history` and refresh the snapshot".into()),
                            );
                        }
                        from
                    }
                    (Some(known), None) | (None, Some(known)) => {
                        self.or_untimed(None);
                        known
                    }
                    (None, None) => self.or_untimed(None),
                };
                History {
                    valid_from: h.valid_from.value.clone(),
                    valid_to: h.valid_to.value.clone(),
                    value_type,
                }
            });
            self.source_names
                .insert(spec.name.value.clone(), SourceId(self.sources.len()));
            self.sources.push(Source {
                name: spec.name.value.clone(),
                table,
                role,
                columns,
                history,
                key_type,
                key_padded,
                key_origin: self.origin(key_span(spec)),
                origin: self.origin(spec.span),
            });
        }
        self.assign_user_table(&keyed);
        self.join_key_types();
    }

    /// Where a warehouse type was read: the snapshot's file and line, or the catalog.
    fn type_origin(&self, at: Option<crate::error::Span>) -> String {
        match at {
            Some(at) => format!("{}:{}", self.files.sources.display(at.file), at.start.line),
            None => "its catalog".to_string(),
        }
    }

    /// The type of a column that says when (`role`: `time`, `valid_from` or `valid_to`), with
    /// the snapshot's or the learned type as the warehouse's ([`Validator::when_type`]).
    fn time_type(
        &mut self,
        spec: &SourceSpec,
        role: &str,
        column: &Spanned<String>,
        declared: Option<&Spanned<String>>,
    ) -> Option<ValueType> {
        let name = &spec.name.value;
        let warehouse = self
            .files
            .definitions
            .warehouse_schema
            .as_ref()
            .and_then(|schema| schema.time_type(name, role))
            .map(|t| (WarehouseType::from_snapshot(&t.value), Some(t.span)))
            .or_else(|| {
                self.learned
                    .get(&(name.clone(), learned_time(role)))
                    .map(|t| (t.clone(), None))
            });
        self.when_type(spec, role, column, declared, warehouse.as_ref())
    }

    /// The type of a column that says when (`time`, `signup_at`, `valid_from`, `valid_to`):
    /// a date or a timestamp, declared (checked against the warehouse's when it is known,
    /// which `warehouse` holds with where it is written), else the warehouse's. Any other
    /// type is an error. None when neither says: then it is read as a timestamp, and `run`
    /// reads the catalog first ([`Validator::or_untimed`]), since a date read as an instant
    /// would be UTC midnight, a day early west of UTC.
    fn when_type(
        &mut self,
        spec: &SourceSpec,
        role: &str,
        column: &Spanned<String>,
        declared: Option<&Spanned<String>>,
        warehouse: Option<&(WarehouseType, Option<crate::error::Span>)>,
    ) -> Option<ValueType> {
        let source = &spec.name.value;

        let declared = match declared.map(|text| (parse_type(&text.value), text)) {
            Some((Some(t @ (ValueType::Date | ValueType::Timestamp)), text)) => {
                Some((t, text.span))
            }
            Some((_, text)) => {
                self.error_with_hint(
                    format!(
                        "`{role}` of source `{source}` is declared `{}`: it is a date or a timestamp",
                        text.value
                    ),
                    text.span,
                    Some("write `type: date` for a column of days, or `type: timestamp`".into()),
                );
                return Some(ValueType::Timestamp);
            }
            None => None,
        };
        Some(match (declared, warehouse) {
            (Some((declared, at_declared)), Some((WarehouseType::Known(found), at)))
                if self.check_types && *found != declared =>
            {
                let message = format!(
                    "`{role}` of source `{source}` is declared `{}`, but the warehouse has column {} as {} ({})",
                    declared.name(),
                    column.value,
                    super::conditions::article(*found),
                    self.type_origin(*at)
                );
                let hint = match found {
                    ValueType::Date | ValueType::Timestamp => format!(
                        "a date is a local day and a timestamp an instant: declare `type: {}`, or change the table and refresh the snapshot",
                        found.name()
                    ),
                    _ => "name a date or timestamp column, or a view that converts it".into(),
                };
                self.error_with_hint(message, at_declared, Some(hint));
                declared
            }
            (Some((declared, at_declared)), Some((warehouse, at)))
                if self.check_types && civil_datetime(warehouse) =>
            {
                let message = format!(
                    "`{role}` of source `{source}` is declared `{}`, but the warehouse has column {} as `{}` ({})",
                    declared.name(),
                    column.value,
                    warehouse.snapshot_text(),
                    self.type_origin(*at)
                );
                self.error_with_hint(message, at_declared, Some(CIVIL_DATETIME_HINT.into()));
                declared
            }
            (Some((declared, _)), _) => declared,
            (
                None,
                Some((WarehouseType::Known(t @ (ValueType::Date | ValueType::Timestamp)), _)),
            ) => *t,
            (None, Some((WarehouseType::Known(found), at))) => {
                if self.check_types {
                    let message = format!(
                        "`{role}` of source `{source}` is column {}, which the warehouse has as {} ({}): segc reads it as a date or a timestamp",
                        column.value,
                        super::conditions::article(*found),
                        self.type_origin(*at)
                    );
                    self.error_with_hint(
                        message,
                        column.span,
                        Some("name a date or timestamp column, or a view that converts it".into()),
                    );
                }
                ValueType::Timestamp
            }
            (None, Some((WarehouseType::Unsupported(name), at))) => {
                if self.check_types {
                    let message = format!(
                        "`{role}` of source `{source}` is column {}, which the warehouse has as `{name}` ({}): segc cannot read it as a date or a timestamp",
                        column.value,
                        self.type_origin(*at)
                    );
                    let hint = match civil_datetime_name(name) {
                        true => CIVIL_DATETIME_HINT,
                        false => {
                            "declare `type: timestamp` (or date) if the warehouse compares it as one, or name a view that converts it"
                        }
                    };
                    self.error_with_hint(message, column.span, Some(hint.into()));
                }
                ValueType::Timestamp
            }
            (None, None) => return None,
        })
    }

    /// A type found for a column that says when, else a timestamp, the source being read
    /// noted so that `run` asks the catalog ([`Validator::untimed`]).
    fn or_untimed(&mut self, found: Option<ValueType>) -> ValueType {
        found.unwrap_or_else(|| {
            let id = SourceId(self.sources.len());
            if !self.untimed.contains(&id) {
                self.untimed.push(id);
            }
            ValueType::Timestamp
        })
    }

    /// A source's key type: declared (checked against the warehouse's when it is known),
    /// else the snapshot's or the learned one, else unknown.
    fn key_type(&mut self, spec: &SourceSpec, what: &str) -> (KeyType, bool) {
        let name = &spec.name.value;
        let warehouse = self
            .files
            .definitions
            .warehouse_schema
            .as_ref()
            .and_then(|schema| schema.key_type(name))
            .map(|t| (WarehouseType::from_snapshot(&t.value), Some(t.span)))
            .or_else(|| {
                self.learned
                    .get(&(name.clone(), KEY_COLUMN.to_string()))
                    .map(|t| (t.clone(), None))
            });
        let key_name = if spec.key.is_some() {
            "key"
        } else {
            "user_key"
        };
        // SQL Server's `char(n)`: a string key, read without its padding.
        let padded = warehouse
            .as_ref()
            .is_some_and(|(t, _)| t.is_padded_string());
        let Some(declared) = &spec.key_type else {
            return match warehouse {
                Some((WarehouseType::Known(t), _)) => (KeyType::of(t), false),
                _ if padded => (KeyType::String, true),
                // A UUID, bytes…: compared as they are.
                Some((WarehouseType::Unsupported(_), _)) => (KeyType::Other, false),
                None => (KeyType::Unknown, false),
            };
        };
        let Some(t) = parse_type(&declared.value) else {
            self.error_with_hint(
                format!("unknown type `{}`", declared.value),
                declared.span,
                suggest(&declared.value, TYPE_NAMES.iter().copied()),
            );
            return (KeyType::Unknown, false);
        };
        let found = match &warehouse {
            Some((WarehouseType::Known(found), at)) => Some((found.name(), *at)),
            Some((WarehouseType::Unsupported(name), at)) => Some((name.as_str(), *at)),
            None => None,
        };
        let found_string = padded
            || matches!(
                warehouse,
                Some((WarehouseType::Known(ValueType::String), _))
            );
        if let Some((found, at)) = found
            && self.check_types
            && (t == ValueType::String) != found_string
        {
            let from = self.type_origin(at);
            self.error_with_hint(
                format!(
                    "the `{key_name}` of {what} is declared `{}`, but the warehouse has it as {found} ({from})",
                    declared.value,
                ),
                declared.span,
                Some("string keys are joined exactly and other keys as they are: declare the warehouse's type, or change the table and refresh the snapshot".into()),
            );
        }
        (KeyType::of(t), padded && t == ValueType::String)
    }

    /// A fact source's key whose type is unknown has the type of the user table's key, and a
    /// dimension's that of the user table's column it equals. Keys joined to each other must
    /// agree on being strings: a string key is compared exactly, any other as it is.
    fn join_key_types(&mut self) {
        let Some(users) = self
            .sources
            .iter()
            .position(|s| matches!(s.role, SourceRole::Users { .. }))
        else {
            return;
        };
        let users_key = self.sources[users].key_type;
        for index in 0..self.sources.len() {
            let source = &self.sources[index];
            let (partner, partner_type) = match &source.role {
                SourceRole::Facts { .. } => ("the user table's key".to_string(), users_key),
                SourceRole::Dimension { key } => match self.sources[users].column(key) {
                    Some(column) => (
                        format!("column `{}` of the user table", column.name),
                        KeyType::of(column.value_type),
                    ),
                    None => continue,
                },
                SourceRole::Users { .. } => continue,
            };
            if source.key_type == KeyType::Unknown {
                self.sources[index].key_type = partner_type;
                continue;
            }
            if partner_type != KeyType::Unknown
                && self.check_types
                && source.key_type != partner_type
            {
                let span = self
                    .files
                    .definitions
                    .sources
                    .iter()
                    .find(|s| s.name.value == source.name)
                    .map(key_span);
                let message = format!(
                    "the key of source `{}` is {}, but {partner}, which it joins, is {}",
                    source.name,
                    source.key_type.described(),
                    partner_type.described()
                );
                if let Some(span) = span {
                    self.error_with_hint(
                        message,
                        span,
                        Some("a string key is compared exactly and any other as it is, so both must be strings or neither: declare the right `type:`, or refresh the snapshot".into()),
                    );
                }
            }
        }
    }

    /// Checks every physical name a source declares (its table, keys, time and columns), and
    /// that `history` goes with a `key`.
    fn check_source_names(&mut self, spec: &SourceSpec, what: &str) {
        let mut physical: Vec<(&Spanned<String>, &str)> = Vec::new();
        match &spec.table {
            Some(TableSpec::Single(text)) => physical.push((text, "table")),
            Some(TableSpec::PerTarget(entries)) => {
                physical.extend(entries.iter().map(|(_, text)| (text, "table")))
            }
            None => {}
        }
        physical.extend(spec.key.iter().map(|k| (k, "key column")));
        physical.extend(spec.user_key.iter().map(|k| (k, "user key column")));
        physical.extend(spec.time.iter().map(|t| (t, "time column")));
        physical.extend(spec.columns.iter().map(|c| (&c.column, "column")));
        if let Some(history) = &spec.history {
            physical.push((&history.valid_from, "valid_from column"));
            physical.push((&history.valid_to, "valid_to column"));
            if spec.key.is_none() {
                self.error_with_hint(
                    format!("{what} keeps `history` but has no `key`: history is for the user table and its dimensions"),
                    history.span,
                    Some("facts are timed by `time`; a type-2 table has `key` and `history: { valid_from: …, valid_to: … }`".into()),
                );
            }
        }
        // A bad name is reported; the source is still read, so its uses resolve.
        for (name, kind) in physical {
            check_physical_name(name, kind, &mut self.diagnostics);
        }
    }

    /// A source's table name, a single one or one per target with a `default`.
    fn source_table(&mut self, spec: &SourceSpec, what: &str) -> Option<TableName> {
        Some(match &spec.table {
            Some(TableSpec::Single(text)) => match table_parts(&text.value) {
                Some(parts) => TableName {
                    default: parts,
                    overrides: Default::default(),
                },
                None => {
                    self.error(
                        format!("invalid table name `{}` in {what}", text.value),
                        text.span,
                    );
                    return None;
                }
            },
            Some(TableSpec::PerTarget(entries)) => {
                let mut table = TableName {
                    default: Vec::new(),
                    overrides: Default::default(),
                };
                for (target, text) in entries {
                    let Some(parts) = table_parts(&text.value) else {
                        self.error(
                            format!("invalid table name `{}` in {what}", text.value),
                            text.span,
                        );
                        continue;
                    };
                    if target.value == "default" {
                        table.default = parts;
                    } else {
                        table.overrides.insert(target.value.clone(), parts);
                    }
                }
                if table.default.is_empty() {
                    self.error_with_hint(
                        format!("the table of {what} has no `default` entry"),
                        spec.span,
                        Some("write `table: { default: schema.table, bigquery: \"proj.schema.table\" }`".into()),
                    );
                    return None;
                }
                table
            }
            None => return None,
        })
    }

    /// A source's columns, with their types (declared, from the snapshot, or learned).
    fn source_columns(&mut self, spec: &SourceSpec, what: &str) -> Vec<Column> {
        let mut columns: Vec<Column> = Vec::new();
        for column in &spec.columns {
            if !check_name(&column.name, "column", &mut self.diagnostics) {
                continue;
            }
            if columns.iter().any(|c| c.name == column.name.value) {
                self.error(
                    format!("duplicate column `{}` in {what}", column.name.value),
                    column.name.span,
                );
                continue;
            }
            let mut typing = ColumnTyping {
                span: column.name.span,
                physical: column.column.value.clone(),
                known: true,
                unsupported: None,
                stored: Stored::Plain,
            };
            let value_type = self.column_type(spec, column, what, &mut typing);
            let stored = typing.stored;
            self.column_types.insert(
                (SourceId(self.sources.len()), column.name.value.clone()),
                typing,
            );
            let scheduled = column.scheduled.as_ref().is_some_and(|s| s.value);
            if let Some(flag) = column.scheduled.as_ref().filter(|s| s.value)
                && !matches!(value_type, ValueType::Date | ValueType::Timestamp)
            {
                self.error_with_hint(
                    format!(
                        "`scheduled` is for date and timestamp columns; column `{}` is not one",
                        column.name.value
                    ),
                    flag.span,
                    Some("declare its type: `{ column: …, type: date, scheduled: true }`".into()),
                );
            }
            columns.push(Column {
                name: column.name.value.clone(),
                physical: column.column.value.clone(),
                value_type,
                scheduled,
                stored,
            });
        }
        columns
    }

    /// A column's type: declared (checked against the warehouse's when it is known), else the
    /// snapshot's or the learned one. `typing` records whether it is known.
    fn column_type(
        &mut self,
        spec: &SourceSpec,
        column: &ColumnSpec,
        what: &str,
        typing: &mut ColumnTyping,
    ) -> ValueType {
        let snapshot = snapshot_type(self.files, &spec.name.value, &column.name.value)
            .map(|t| (WarehouseType::from_snapshot(&t.value), Some(t.span)))
            .or_else(|| {
                self.learned
                    .get(&(spec.name.value.clone(), column.name.value.clone()))
                    .map(|t| (t.clone(), None))
            });
        match &column.value_type {
            _ if column.name.value == SIGNUP_COLUMN => {
                let found = self.when_type(
                    spec,
                    SIGNUP_COLUMN,
                    &column.column,
                    column.value_type.as_ref(),
                    snapshot.as_ref(),
                );
                self.or_untimed(found)
            }
            Some(text) => match parse_type(&text.value) {
                Some(t) => {
                    // The type a fixed-length string or a single-precision float is read as
                    // counts as the warehouse's: a string without its padding, a number in
                    // double precision.
                    let warehouse = snapshot
                        .as_ref()
                        .and_then(|(w, at)| w.read_as().map(|read| (read, *at)));
                    if let Some(((read, stored), _)) = warehouse
                        && read == t
                    {
                        typing.stored = stored;
                    }
                    if let Some((found, at)) = &snapshot
                        && self.check_types
                        && matches!(t, ValueType::Date | ValueType::Timestamp)
                        && civil_datetime(found)
                    {
                        let from = self.type_origin(*at);
                        self.error_with_hint(
                            format!(
                                "column `{}` of {what} is declared `{}`, but the warehouse has it as `{}` ({from})",
                                column.name.value,
                                text.value,
                                found.snapshot_text(),
                            ),
                            text.span,
                            Some(CIVIL_DATETIME_HINT.into()),
                        );
                    }
                    if let Some(((warehouse, _), at)) = &warehouse
                        && self.check_types
                        && let Some(why) = misread_by_declaration(t, *warehouse)
                    {
                        let from = self.type_origin(*at);
                        self.error_with_hint(
                            format!(
                                "column `{}` of {what} is declared `{}`, but the warehouse has it as {} ({from})",
                                column.name.value,
                                text.value,
                                warehouse.name(),
                            ),
                            text.span,
                            Some(format!(
                                "{why}: declare `type: {}`, or change the table and refresh the snapshot",
                                warehouse.name()
                            )),
                        );
                    }
                    t
                }
                None => {
                    self.error_with_hint(
                        format!("unknown type `{}`", text.value),
                        text.span,
                        suggest(&text.value, TYPE_NAMES.iter().copied()),
                    );
                    ValueType::Unknown
                }
            },
            None => match snapshot.map(|(w, _)| (w.read_as(), w)) {
                // SQL Server's `char(n)` and `nchar(n)` are strings read without the padding,
                // single-precision floats numbers read in double precision.
                Some((Some((t, stored)), _)) => {
                    typing.stored = stored;
                    t
                }
                Some((None, warehouse)) => {
                    typing.known = false;
                    typing.unsupported = Some(warehouse.snapshot_text());
                    ValueType::Unknown
                }
                None => {
                    typing.known = false;
                    ValueType::Unknown
                }
            },
        }
    }

    /// A source's role: facts about users (`user_key`), or one row per `key` (the user table or
    /// a dimension, collected in `keyed`).
    fn source_role(
        &mut self,
        spec: &SourceSpec,
        what: &str,
        keyed: &mut Vec<SourceId>,
    ) -> Option<SourceRole> {
        Some(match (&spec.key, &spec.user_key) {
            (Some(_), Some(user_key)) => {
                self.error(
                    format!("{what} has both `key` and `user_key`: a source is either one row per key or facts about users"),
                    user_key.span,
                );
                return None;
            }
            (None, Some(user_key)) => SourceRole::Facts {
                user_key: user_key.value.clone(),
                time: spec.time.as_ref().map(|t| t.value.clone()),
                // Set by `read_sources`.
                time_type: ValueType::Timestamp,
            },
            (Some(key), None) => {
                if let Some(time) = &spec.time {
                    self.error_with_hint(
                        format!("`time` is for fact sources (with `user_key`); {what} has `key`"),
                        time.span,
                        Some(format!("the user table says when users signed up with a `{SIGNUP_COLUMN}` column")),
                    );
                }
                keyed.push(SourceId(self.sources.len()));
                SourceRole::Dimension {
                    key: key.value.clone(),
                }
            }
            (None, None) => {
                self.error_with_hint(
                    format!("{what} has neither `key` nor `user_key`"),
                    spec.name.span,
                    Some("the user table has `key: <user id column>`; facts about users have `user_key: <user id column>`".into()),
                );
                return None;
            }
        })
    }

    /// Rule 15: every source column the project reads as a value has a known type (declared,
    /// from the snapshot, or learned from the warehouse), so strings compare exactly on every
    /// warehouse. One error per column, at its definition, naming what reads it.
    pub(super) fn check_column_types(&mut self) {
        let mut uses = std::mem::take(&mut self.column_uses);
        for (id, user) in self.used_by_name.take() {
            let attribute = &self.attributes[id.0];
            if let (true, crate::ir::AttributeKind::Column { source, .. }) =
                (attribute.implicit, &attribute.kind)
            {
                uses.push((
                    *source,
                    attribute.name.clone(),
                    format!("{user} reads it (as attribute `{}`)", attribute.name),
                ));
            }
        }
        let mut reported: Vec<(SourceId, String)> = Vec::new();
        let target = self.refresh_target().unwrap_or_else(|| "TARGET".into());
        for (source, column, user) in uses {
            let key = (source, column.clone());
            let Some(typing) = self.column_types.get(&key).cloned() else {
                continue;
            };
            if typing.known || reported.contains(&key) {
                continue;
            }
            reported.push(key);
            if typing.unsupported.is_none() {
                self.untyped.push(source);
            }
            // A type the catalog will give is not an error yet; one the snapshot says segc
            // cannot read is.
            if !self.check_types || (self.types_pending && typing.unsupported.is_none()) {
                continue;
            }
            let source_name = self.sources[source.0].name.clone();
            let declare = format!(
                "declare it: `{column}: {{ column: {}, type: string }}` (or integer, number, date, timestamp, boolean)",
                typing.physical
            );
            let (message, hint) = match &typing.unsupported {
                Some(warehouse) => (
                    format!(
                        "column `{column}` of source `{source_name}` has the warehouse type `{warehouse}`, which segc cannot read as a value, and {user}"
                    ),
                    match civil_datetime_name(warehouse) {
                        true => CIVIL_DATETIME_HINT.to_string(),
                        false => format!(
                            "{declare} if the warehouse can compare it as one, or read another column; after changing the table, run `segc sources --refresh --target {target}`"
                        ),
                    },
                ),
                None => (
                    format!(
                        "the type of column `{column}` of source `{source_name}` is not known, and {user}: segc must know it to compare, count and order values alike on every warehouse"
                    ),
                    format!(
                        "{declare}, or read the types of every source from the warehouse into warehouse_schema.yml: `segc sources --refresh --target {target}`"
                    ),
                ),
            };
            self.error_with_hint(message, typing.span, Some(hint));
        }
    }

    /// Records that `user` reads a column of `source` as a value (rule 15).
    pub(super) fn uses_column(&mut self, source: SourceId, column: &str) {
        let user = format!("{} reads it", self.user);
        self.column_uses.push((source, column.to_string(), user));
    }

    /// A keyed source whose key is a column of another keyed source is a dimension of it;
    /// exactly one keyed source must remain: the user table.
    fn assign_user_table(&mut self, keyed: &[SourceId]) {
        let joins_to = |sources: &[Source], dimension: SourceId| -> Option<SourceId> {
            let SourceRole::Dimension { key } = &sources[dimension.0].role else {
                return None;
            };
            keyed
                .iter()
                .copied()
                .find(|other| *other != dimension && sources[other.0].column(key).is_some())
        };
        let users: Vec<SourceId> = keyed
            .iter()
            .copied()
            .filter(|id| joins_to(&self.sources, *id).is_none())
            .collect();
        let spans: Vec<_> = self
            .files
            .definitions
            .sources
            .iter()
            .map(|s| (s.name.value.clone(), s.span))
            .collect();
        let span_of = |name: &str| spans.iter().find(|(n, _)| n == name).map(|(_, s)| *s);
        let users = match users.as_slice() {
            [one] => *one,
            [] if keyed.is_empty() => {
                // A source with `key` whose own error (a table name that is not one) left it
                // out is the user table: its error says what to mend, and this one would
                // mislead.
                let keyed_in_files = self
                    .files
                    .definitions
                    .sources
                    .iter()
                    .any(|source| source.key.is_some() && source.user_key.is_none());
                if keyed_in_files && !self.diagnostics.is_empty() {
                    return;
                }
                if let Some((_, span)) = spans.first() {
                    self.error_with_hint(
                        "no user table: exactly one source needs `key` (one row per user)",
                        *span,
                        Some(format!("e.g. `users: {{ table: app.users, key: user_id, columns: {{ {SIGNUP_COLUMN}: created_at }} }}`")),
                    );
                } else if self.files.diagnostics.is_empty() {
                    // A file that could not be read may hold the sources: its own error says
                    // what to mend, and this one would mislead.
                    self.diagnostics.push(crate::error::Diagnostic::without_location(
                        "the project declares no sources: add a `sources:` section with the user table",
                    ));
                }
                return;
            }
            [] => return,
            many => {
                let names: Vec<String> = many
                    .iter()
                    .map(|id| self.sources[id.0].name.clone())
                    .collect();
                for id in many.iter().skip(1) {
                    let name = self.sources[id.0].name.clone();
                    if let Some(span) = span_of(&name) {
                        self.error_with_hint(
                            format!("more than one source could be the user table: {}", names.join(", ")),
                            span,
                            Some(format!(
                                "a source with `key` is joined to the user table when the user table has a column named like its key; give `{}` a column named `{}`, or use `user_key` for facts",
                                names[0],
                                match &self.sources[id.0].role { SourceRole::Dimension { key } => key.as_str(), _ => "" }
                            )),
                        );
                    }
                }
                return;
            }
        };
        let dimensions: Vec<(SourceId, String)> = keyed
            .iter()
            .copied()
            .filter(|id| *id != users)
            .filter_map(|id| match &self.sources[id.0].role {
                SourceRole::Dimension { key } => Some((id, key.clone())),
                _ => None,
            })
            .collect();
        for (id, key) in dimensions {
            if self.sources[users.0].column(&key).is_none() {
                let name = self.sources[id.0].name.clone();
                if let Some(span) = span_of(&name) {
                    self.error(
                        format!("source `{name}` is joined through `{key}`, which the user table does not have; dimensions join to the user table only"),
                        span,
                    );
                }
            }
        }
        let users_source = &mut self.sources[users.0];
        let SourceRole::Dimension { key } = users_source.role.clone() else {
            return;
        };
        match users_source.column(SIGNUP_COLUMN) {
            Some(signup) => {
                users_source.role = SourceRole::Users {
                    key,
                    signup: signup.physical.clone(),
                };
            }
            None => {
                let name = users_source.name.clone();
                users_source.role = SourceRole::Users {
                    key,
                    signup: String::new(),
                };
                if let Some(span) = span_of(&name) {
                    self.error_with_hint(
                        format!("the user table `{name}` needs a `{SIGNUP_COLUMN}` column: a user exists from the moment they signed up"),
                        span,
                        Some(format!("add `columns: {{ {SIGNUP_COLUMN}: <sign-up timestamp column> }}`")),
                    );
                }
            }
        }
    }
}
