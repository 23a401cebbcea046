//! Warehouse type names → segc types, by each dialect's `[catalog.types]`, and the names
//! a snapshot writes.

use crate::dialect::Dialect;
use crate::ir::ValueType;

/// A column's type as the warehouse has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WarehouseType {
    /// One segc reads: string, integer, number, date, timestamp or boolean.
    Known(ValueType),
    /// Any other, by the warehouse's name for it (`uuid`, `VARCHAR[]`, `JSON`).
    Unsupported(String),
}

/// The segc type names a snapshot writes.
pub(super) const SNAPSHOT_NAMES: &[(&str, ValueType)] = &[
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

    /// Whether it is a fixed-length string (SQL Server's `char(n)` and `nchar(n)`, which its
    /// catalog leaves unsupported rather than `string`, so the snapshot keeps their names):
    /// its values are padded with spaces to the column's length, so segc reads such a column
    /// as a string without its trailing spaces (`ir::Column::padded`), as PostgreSQL reads a
    /// `char(n)`.
    pub fn is_padded_string(&self) -> bool {
        matches!(self, WarehouseType::Unsupported(name) if fixed_length(name))
    }

    /// Whether it is a single-precision float (`real`, `float4`, DuckDB's `FLOAT`), which the
    /// catalogs leave unsupported rather than `number`, so that the snapshot keeps its name:
    /// segc reads such a column as a number in double precision (`ir::Stored::Single`), as
    /// the warehouses compare it differently.
    pub fn is_single_precision(&self) -> bool {
        matches!(self, WarehouseType::Unsupported(name) if single_precision(name))
    }

    /// The segc type a column of this type is read as, with how it is stored: a known type
    /// as it is, a fixed-length string as a string, a single-precision float as a number;
    /// `None` for a type segc does not read.
    pub fn read_as(&self) -> Option<(ValueType, crate::ir::Stored)> {
        use crate::ir::Stored;
        match self {
            WarehouseType::Known(t) => Some((*t, Stored::Plain)),
            _ if self.is_padded_string() => Some((ValueType::String, Stored::Padded)),
            _ if self.is_single_precision() => Some((ValueType::Number, Stored::Single)),
            WarehouseType::Unsupported(_) => None,
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

/// Whether a warehouse type name is a fixed-length string's (see
/// [`WarehouseType::is_padded_string`]).
fn fixed_length(name: &str) -> bool {
    matches!(normalized(name).as_str(), "char" | "nchar")
}

/// Whether a warehouse type name is a single-precision float's (see
/// [`WarehouseType::is_single_precision`]). SQL Server's and BigQuery's `float` are double
/// precision, but their catalogs' `number` lists name them first.
fn single_precision(name: &str) -> bool {
    matches!(normalized(name).as_str(), "real" | "float4" | "float")
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
