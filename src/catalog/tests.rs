use super::types::SNAPSHOT_NAMES;
use super::*;
use crate::ir::ValueType;

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
    // text and ntext cannot be compared, grouped or concatenated (Msg 306, 402): not read as
    // values, though PostgreSQL's `text` is a string.
    for name in ["uniqueidentifier", "text", "ntext"] {
        let mapped = mapped("sqlserver", name);
        assert!(
            matches!(&mapped, WarehouseType::Unsupported(_)) && mapped.read_as().is_none(),
            "{name}: {mapped:?}"
        );
    }
    // Fixed-length strings are padded with spaces: kept by their names, and read as strings
    // without the padding.
    for name in ["char", "nchar", "CHAR(10)"] {
        let mapped = mapped("sqlserver", name);
        assert!(
            matches!(&mapped, WarehouseType::Unsupported(_)) && mapped.is_padded_string(),
            "{name}: {mapped:?}"
        );
    }
    assert!(!WarehouseType::Unsupported("varchar".into()).is_padded_string());
    assert!(!mapped("sqlserver", "varchar").is_padded_string());
    // Single-precision floats are kept by their names, and read as numbers in double
    // precision; SQL Server's and BigQuery's `float` is a double.
    for (dialect, name) in [
        ("postgres", "real"),
        ("redshift", "real"),
        ("redshift", "float4"),
        ("sqlserver", "real"),
        ("duckdb", "FLOAT"),
        ("duckdb", "REAL"),
    ] {
        let mapped = mapped(dialect, name);
        assert!(
            mapped.is_single_precision()
                && mapped.read_as() == Some((ValueType::Number, crate::ir::Stored::Single)),
            "{dialect} {name}: {mapped:?}"
        );
        // The snapshot keeps the name, and reads it back as the same.
        let again = WarehouseType::from_snapshot(&mapped.snapshot_text());
        assert_eq!(again.read_as(), mapped.read_as(), "{dialect} {name}");
    }
    for (dialect, name) in [
        ("sqlserver", "float"),
        ("bigquery", "FLOAT64"),
        ("duckdb", "DOUBLE"),
        ("postgres", "double precision"),
        ("redshift", "float8"),
    ] {
        assert_eq!(
            mapped(dialect, name).read_as(),
            Some((ValueType::Number, crate::ir::Stored::Plain)),
            "{dialect} {name}"
        );
    }
    assert_eq!(
        mapped("sqlserver", "char").read_as(),
        Some((ValueType::String, crate::ir::Stored::Padded))
    );
    assert_eq!(mapped("postgres", "uuid").read_as(), None);
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
         WHERE (lower(table_schema) = lower('app') AND lower(table_name) = lower('users')) \
         OR (lower(table_schema) = lower('it''s') AND lower(table_name) = lower('a\\b')) \
         OR (lower(table_schema) = lower('main') AND lower(table_name) = lower('orders'))"
    );
    let postgres = catalog_query(&Dialect::load("postgres").unwrap(), &tables);
    assert!(
        postgres.contains("c.relname = ('a' || CHR(92) || 'b')"),
        "{postgres}"
    );
    assert!(postgres.contains("n.nspname = 'public'"), "{postgres}");
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
    assert!(
        duckdb.contains(
            "(lower(table_catalog) = lower('sales') AND lower(table_schema) = lower('app')"
        ),
        "{duckdb}"
    );
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
    assert!(
        odd.contains("lower(table_schema) = lower('{table}')"),
        "{odd}"
    );
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

/// The query for the schema of a table named without one quotes every name as a literal of
/// its dialect, crosses the gate, and its first row naming a table wins.
#[test]
fn the_schema_of_a_bare_table_is_asked_of_the_warehouse_where_it_follows_a_path() {
    let names = vec!["orders".to_string(), "it's".to_string(), "a\\b".to_string()];
    let mut asked = Vec::new();
    for name in crate::dialect::names() {
        let dialect = Dialect::load(name).unwrap();
        let Some(template) = &dialect.catalog.visible else {
            continue;
        };
        let sql = query::visible_query(&dialect, template, &names);
        crate::driver::gate::admit(&sql, &dialect, crate::driver::gate::Shape::Read)
            .unwrap_or_else(|e| panic!("{name}: {e}\n{sql}"));
        assert!(!sql.contains("{tables}"), "{sql}");
        asked.push((name, sql));
    }
    asked.sort();
    let sql = |name: &str| asked.iter().find(|(n, _)| *n == name).unwrap().1.as_str();
    let names: Vec<&str> = asked.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["postgres", "redshift", "sqlserver"]);
    let postgres = sql("postgres");
    assert!(
        postgres.contains("IN ('orders', 'it''s', ('a' || CHR(92) || 'b'))"),
        "{postgres}"
    );
    let sqlserver = sql("sqlserver");
    assert!(
        sqlserver.contains("IN (N'orders', N'it''s', N'a\\b')"),
        "{sqlserver}"
    );
    let rows = vec![
        ("app".to_string(), "Orders".to_string()),
        ("dbo".to_string(), "orders".to_string()),
        ("sales".to_string(), "ORDERS".to_string()),
    ];
    assert_eq!(query::visible_schema(&rows, "orders"), Some("dbo"));
    assert_eq!(query::visible_schema(&rows, "oRDERS"), Some("app"));
    assert_eq!(query::visible_schema(&rows, "users"), None);
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
                stored: crate::ir::Stored::Plain,
                name: name.to_ascii_lowercase(),
                physical: name.to_string(),
                value_type: ValueType::Unknown,
                scheduled: false,
            })
            .collect(),
        history: None,
        key_type: crate::ir::KeyType::Unknown,
        key_padded: false,
        key_origin: crate::ir::Origin {
            file: "s.yml".into(),
            line: 1,
        },
        origin: crate::ir::Origin {
            file: "s.yml".into(),
            line: 1,
        },
    };
    let rows = vec![
        row("app", "users", "ID", "VARCHAR"),
        row("app", "users", "country", "VARCHAR"),
        row("app", "users", "COUNTRY", "INTEGER"),
        row("app", "users", "role", "VARCHAR"),
        row("app", "users", "PLAN", "BIGINT"),
        row("app", "users", "Plan", "DOUBLE"),
        row("other", "users", "gone", "VARCHAR"),
    ];
    let dialect = Dialect::load("duckdb").unwrap();
    let types = source_types(
        &dialect,
        &source,
        source.table.resolve(None, "duckdb"),
        &rows,
    );
    assert_eq!(
        types.columns,
        vec![
            ("country".into(), known(ValueType::String)),
            ("role".into(), known(ValueType::String)),
        ]
    );
    // The key `id` matches `ID` without case, as columns do.
    assert_eq!(types.key, Some(known(ValueType::String)));
    assert_eq!(types.problems.len(), 2, "{:?}", types.problems);
    assert!(types.problems[0].contains("`plan`"), "{:?}", types.problems);
    assert!(types.problems[1].contains("`gone`"), "{:?}", types.problems);
    let missing = source_types(
        &dialect,
        &source,
        source.table.resolve(None, "duckdb"),
        &rows[6..],
    );
    assert!(missing.problems[0].contains("not in the catalog"));
}
