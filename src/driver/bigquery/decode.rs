//! BigQuery's values, which arrive as strings, read by their column's type.

use gcp_bigquery_client::model::field_type::FieldType;
use gcp_bigquery_client::model::table_field_schema::TableFieldSchema;
use gcp_bigquery_client::model::table_row::TableRow;

use crate::driver::Cell;
use crate::error::Error;

/// Decodes one value by its column's type. BigQuery sends every value as a string;
/// timestamps as microseconds since the epoch (or, without `useInt64Timestamp`, seconds as a
/// float); nested and repeated values are kept as JSON text.
pub fn decode(field: &TableFieldSchema, value: Option<&serde_json::Value>) -> Result<Cell, String> {
    let value = match value {
        None | Some(serde_json::Value::Null) => return Ok(Cell::Null),
        Some(value) => value,
    };
    let repeated = field.mode.as_deref() == Some("REPEATED");
    let nested = repeated || matches!(field.r#type, FieldType::Record | FieldType::Struct);
    let text = match value {
        serde_json::Value::String(text) if !nested => text.as_str(),
        other if nested => return Ok(Cell::Text(other.to_string())),
        // A scalar always comes as a string: anything else is not BigQuery's answer.
        other => {
            return Err(format!(
                "`{}`: `{}` is not a value BigQuery sends for a {:?} column (a string)",
                field.name,
                crate::error::clip(&other.to_string(), 80),
                field.r#type
            ));
        }
    };
    let bad = |kind: &str| format!("`{}`: `{text}` is not a valid {kind}", field.name);
    Ok(match field.r#type {
        FieldType::Integer | FieldType::Int64 => {
            Cell::Integer(text.parse().map_err(|_| bad("INT64"))?)
        }
        FieldType::Float | FieldType::Float64 | FieldType::Numeric | FieldType::Bignumeric => {
            match text {
                "NaN" => Cell::Double(f64::NAN),
                "Infinity" => Cell::Double(f64::INFINITY),
                "-Infinity" => Cell::Double(f64::NEG_INFINITY),
                _ => Cell::Double(text.parse().map_err(|_| bad("number"))?),
            }
        }
        FieldType::Boolean | FieldType::Bool => match text {
            "true" | "TRUE" => Cell::Boolean(true),
            "false" | "FALSE" => Cell::Boolean(false),
            _ => return Err(bad("BOOL")),
        },
        FieldType::Date => Cell::Date(
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| bad("DATE"))?,
        ),
        FieldType::Datetime => Cell::Timestamp(
            chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                .or_else(|_| chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f"))
                .map_err(|_| bad("DATETIME"))?,
        ),
        FieldType::Timestamp => {
            let instant = match text.parse::<i64>() {
                Ok(micros) => chrono::DateTime::from_timestamp_micros(micros),
                Err(_) => {
                    let seconds: f64 = text.parse().map_err(|_| bad("TIMESTAMP"))?;
                    // NaN would be cast to 0, 1970-01-01; out of range, to either end.
                    let micros = (seconds * 1e6).round();
                    if !micros.is_finite() || micros.abs() >= 9.2e18 {
                        return Err(bad("TIMESTAMP"));
                    }
                    chrono::DateTime::from_timestamp_micros(micros as i64)
                }
            };
            Cell::Timestamp(instant.ok_or_else(|| bad("TIMESTAMP"))?.naive_utc())
        }
        _ => Cell::Text(text.to_string()),
    })
}

pub(super) fn decode_rows(
    fields: &[TableFieldSchema],
    rows: Vec<TableRow>,
    target: &str,
) -> Result<Vec<Vec<Cell>>, Error> {
    rows.into_iter()
        .map(|row| {
            let cells = row.columns.unwrap_or_default();
            fields
                .iter()
                .enumerate()
                .map(|(index, field)| {
                    decode(field, cells.get(index).and_then(|c| c.value.as_ref())).map_err(|e| {
                        Error::Query(format!("target `{target}`: cannot decode a value: {e}"))
                    })
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, kind: FieldType) -> TableFieldSchema {
        TableFieldSchema::new(name, kind)
    }

    fn text(value: &str) -> serde_json::Value {
        serde_json::Value::String(value.into())
    }
    #[test]
    fn values_decode_by_their_column_type() {
        let at = chrono::NaiveDate::from_ymd_opt(2024, 3, 31)
            .unwrap()
            .and_hms_opt(23, 59, 59)
            .unwrap();
        let cases = [
            (FieldType::Int64, "4000000008", Cell::Integer(4_000_000_008)),
            (FieldType::Integer, "-3", Cell::Integer(-3)),
            (FieldType::Float64, "0.25", Cell::Double(0.25)),
            (FieldType::Numeric, "12.500", Cell::Double(12.5)),
            (FieldType::Bool, "true", Cell::Boolean(true)),
            (FieldType::Boolean, "false", Cell::Boolean(false)),
            (FieldType::Date, "2024-03-31", Cell::Date(at.date())),
            (
                FieldType::Timestamp,
                "1711929599000000",
                Cell::Timestamp(at),
            ),
            (FieldType::Timestamp, "1.711929599E9", Cell::Timestamp(at)),
            (
                FieldType::Datetime,
                "2024-03-31T23:59:59",
                Cell::Timestamp(at),
            ),
            (
                FieldType::String,
                "it's a \\ test\nZoë --",
                Cell::Text("it's a \\ test\nZoë --".into()),
            ),
        ];
        for (kind, value, expected) in cases {
            assert_eq!(
                decode(&field("c", kind.clone()), Some(&text(value))).unwrap(),
                expected,
                "{value}"
            );
        }
        assert_eq!(
            decode(&field("c", FieldType::Int64), None).unwrap(),
            Cell::Null
        );
        assert_eq!(
            decode(
                &field("c", FieldType::String),
                Some(&serde_json::Value::Null)
            )
            .unwrap(),
            Cell::Null
        );
        let error = decode(&field("people", FieldType::Int64), Some(&text("x"))).unwrap_err();
        assert!(error.contains("`people`"), "{error}");
        // Not an instant (NaN was read as 1970-01-01, a huge number as an end of time).
        for value in ["NaN", "-NaN", "Infinity", "1e300"] {
            let error = decode(&field("t", FieldType::Timestamp), Some(&text(value)));
            assert!(error.is_err(), "{value}: {error:?}");
        }
    }
}
