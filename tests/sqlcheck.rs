//! Every dialect, checked by parsing: user strings survive the trip into SQL exactly, and
//! each trap of the dialect notes has a named test. Loops over `segc::dialect::names()` so a
//! new dialect cannot skip them.

mod common;

use proptest::prelude::*;
use sqlparser::ast::{Expr, SelectItem, SetExpr, Statement, Value};
use sqlparser::dialect::{Dialect as ParserDialect, RedshiftSqlDialect};
use sqlparser::parser::Parser;

use segc::dialect::Dialect;
use segc::render::Freshness;

/// PostgreSQL with `standard_conforming_strings = off`, and Redshift as deployed: backslash
/// escapes inside '…' (sqlparser's Redshift dialect does not model that).
#[derive(Debug)]
struct BackslashEscapes;

impl ParserDialect for BackslashEscapes {
    fn is_identifier_start(&self, ch: char) -> bool {
        RedshiftSqlDialect {}.is_identifier_start(ch)
    }
    fn is_identifier_part(&self, ch: char) -> bool {
        RedshiftSqlDialect {}.is_identifier_part(ch)
    }
    fn supports_string_literal_backslash_escape(&self) -> bool {
        true
    }
}

/// Every way a server of the dialect may read a string: PostgreSQL and Redshift with and
/// without backslash escapes (a database, role or session setting decides on PostgreSQL).
fn readings(dialect: &Dialect) -> Vec<Box<dyn ParserDialect>> {
    match dialect.sqlparser.as_str() {
        "postgres" | "redshift" => vec![
            Box::new(sqlparser::dialect::PostgreSqlDialect {}),
            Box::new(BackslashEscapes),
        ],
        other => vec![segc::sqlcheck::parser_dialect(other).unwrap()],
    }
}

/// The string an expression made of literals, `CHR(n)`/`NCHAR(n)` and `||` (or `+` on SQL
/// Server) evaluates to. On SQL Server (`continued`) a backslash directly before a line break
/// inside quotes is a line continuation: both are dropped, as the server does.
fn evaluate(expr: &Expr, continued: bool) -> Result<String, String> {
    match expr {
        Expr::Value(value) => match &value.value {
            Value::SingleQuotedString(s) | Value::NationalStringLiteral(s) if continued => Ok(s
                .replace("\\\r\n", "")
                .replace("\\\n", "")
                .replace("\\\r", "")),
            Value::SingleQuotedString(s) | Value::NationalStringLiteral(s) => Ok(s.clone()),
            other => Err(format!("unexpected literal {other:?}")),
        },
        Expr::Nested(inner) => evaluate(inner, continued),
        Expr::BinaryOp {
            left,
            op: sqlparser::ast::BinaryOperator::StringConcat,
            right,
        } => Ok(evaluate(left, continued)? + &evaluate(right, continued)?),
        Expr::BinaryOp {
            left,
            op: sqlparser::ast::BinaryOperator::Plus,
            right,
        } if continued => Ok(evaluate(left, continued)? + &evaluate(right, continued)?),
        Expr::Function(function)
            if function.name.to_string().eq_ignore_ascii_case("chr")
                || (continued && function.name.to_string().eq_ignore_ascii_case("nchar")) =>
        {
            let argument = function.args.to_string();
            let code: u32 = argument
                .trim_matches(|c| c == '(' || c == ')')
                .parse()
                .map_err(|_| format!("CHR of {argument}"))?;
            char::from_u32(code)
                .map(String::from)
                .ok_or_else(|| format!("CHR({code})"))
        }
        other => Err(format!("not a string expression: {other}")),
    }
}

/// Parses `SELECT <literal> AS v` in every reading of the dialect and returns the string value
/// the warehouse would see, which must be the same in each.
fn round_trip(dialect: &Dialect, value: &str) -> Result<String, String> {
    let sql = format!("SELECT {} AS v", dialect.string_literal(value));
    let mut seen: Option<String> = None;
    for parser in readings(dialect) {
        let statements =
            Parser::parse_sql(parser.as_ref(), &sql).map_err(|e| format!("{e}: {sql}"))?;
        if statements.len() != 1 {
            return Err(format!("{} statements: {sql}", statements.len()));
        }
        let Statement::Query(query) = &statements[0] else {
            return Err(format!("not a query: {sql}"));
        };
        let SetExpr::Select(select) = query.body.as_ref() else {
            return Err(format!("not a select: {sql}"));
        };
        let [SelectItem::ExprWithAlias { expr, .. }] = select.projection.as_slice() else {
            return Err(format!("not one expression: {sql}"));
        };
        let continued = dialect.sqlparser == "mssql";
        let back = evaluate(expr, continued).map_err(|e| format!("{e}: {sql}"))?;
        if seen.as_ref().is_some_and(|first| *first != back) {
            return Err(format!("read two ways ({seen:?} and {back:?}): {sql}"));
        }
        seen = Some(back);
    }
    seen.ok_or_else(|| "no reading".into())
}

fn hostile_char() -> impl Strategy<Value = char> {
    prop_oneof![
        Just('\''),
        Just('\\'),
        Just('\n'),
        Just('\r'),
        Just('\t'),
        Just('-'),
        Just('*'),
        Just('/'),
        Just('"'),
        Just('`'),
        Just(']'),
        Just('['),
        Just(';'),
        Just('%'),
        Just('_'),
        Just('ë'),
        Just('ô'),
        any::<char>().prop_filter("no NUL", |c| *c != '\0'),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_string_reaches_every_dialect_exactly(chars in proptest::collection::vec(hostile_char(), 0..40)) {
        let value: String = chars.into_iter().collect();
        for name in segc::dialect::names() {
            let dialect = Dialect::load(name).unwrap();
            let back = round_trip(&dialect, &value).map_err(|e| TestCaseError::fail(format!("{name}: {e}")))?;
            prop_assert_eq!(&back, &value, "{}", name);
        }
    }
}

#[test]
fn trap_9_backslash_and_quote_survive_on_every_dialect() {
    for name in segc::dialect::names() {
        let dialect = Dialect::load(name).unwrap();
        for value in [
            "it's a \\ test",
            "x\\'; DROP TABLE users; --",
            "a--b */ /*",
            "line1\nline2",
            "x\\\ny",
            "x\\\r\ny\\",
        ] {
            assert_eq!(round_trip(&dialect, value).as_deref(), Ok(value), "{name}");
        }
    }
    // Doubling quotes alone is injectable where a backslash escapes (Redshift, PostgreSQL with
    // standard_conforming_strings off); doubling backslashes too is wrong where it does not.
    // A backslash is written outside the quotes, where it means one thing.
    for name in ["postgres", "redshift"] {
        assert_eq!(
            Dialect::load(name).unwrap().string_literal("x\\'"),
            "('x' || CHR(92) || '''')"
        );
    }
    // SQL Server drops a backslash and the line break after it from inside quotes.
    let sqlserver = Dialect::load("sqlserver").unwrap();
    assert_eq!(
        sqlserver.string_literal("x\\\ny\\z"),
        "(N'x' + NCHAR(92) + N'\ny\\z')"
    );
    assert_eq!(sqlserver.string_literal("a\\b"), "N'a\\b'");
}

#[test]
fn trap_10_sqlserver_strings_are_national() {
    let sqlserver = Dialect::load("sqlserver").unwrap();
    assert_eq!(sqlserver.string_literal("Zoë"), "N'Zoë'");
}

/// The frame of a percentile's running count, in the ORDER BY of its window.
const RANKED_FRAME: &str = "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)";

fn compile_core(dialect: &Dialect) -> String {
    common::compile(&common::core_project(), dialect)
}

/// The core fixture's report with 64 more segments, which groups its users again per word.
fn compile_wide(dialect: &Dialect) -> String {
    let dir = tempfile::tempdir().unwrap();
    let project = common::wide_core_project(dir.path());
    let sql = common::compile(&project, dialect);
    assert!(sql.contains("segc_signature_words"), "grouped per word");
    sql
}

#[test]
fn trap_1_and_3_ratios_divide_as_doubles_with_a_null_for_zero() {
    for name in segc::dialect::names() {
        let dialect = Dialect::load(name).unwrap();
        let sql = compile_core(&dialect);
        let double = &dialect.types.double;
        let ratio = sql
            .lines()
            .find(|l| l.contains("-- pct_active"))
            .unwrap_or_else(|| panic!("{name}: no pct_active"));
        let safe = ratio.contains("SAFE_DIVIDE(") || ratio.contains("NULLIF(");
        assert!(
            safe && ratio.contains(&format!("AS {double})")),
            "{name}: {ratio}"
        );
    }
}

#[test]
fn trap_2_averages_are_taken_over_doubles() {
    for name in segc::dialect::names() {
        let dialect = Dialect::load(name).unwrap();
        let double = &dialect.types.double;
        // A sum of whole numbers: its partial sums are doubles.
        let sql = compile_core(&dialect);
        let line = sql.lines().find(|l| l.contains("segc_sum_points")).unwrap();
        assert!(
            line.contains("SUM(CAST(") && line.contains(&format!("AS {double}))")),
            "{name}: {line}"
        );
        // Of fractional numbers, grouped or per member: an exact sum of whole-number pieces,
        // each piece's total a 64-bit integer, rounded from its digits to a double and
        // divided by the count as a double.
        let bigint = &dialect.types.bigint;
        let spend = dialect.quote_identifier("avg_spend");
        for sql in [sql.clone(), compile_wide(&dialect)] {
            let line = sql.lines().find(|l| l.contains("-- avg_spend (")).unwrap();
            assert!(
                line.contains(&format!("AS {bigint}) AS ")),
                "{name}: {line}"
            );
            let output = sql
                .lines()
                .find(|l| l.contains("segc_d") && l.ends_with(&format!(" AS {spend},")))
                .unwrap_or_else(|| panic!("{name}: no rounded avg_spend"));
            let divided = output.contains("SAFE_DIVIDE(") || output.contains("NULLIF(");
            assert!(
                divided && output.contains(&format!("AS {double})")) && output.contains("_n"),
                "{name}: {output}"
            );
        }
    }
}

#[test]
fn trap_11_medians_are_exact_and_never_approximate() {
    for name in segc::dialect::names() {
        let dialect = Dialect::load(name).unwrap();
        let sql = compile_wide(&dialect);
        assert!(!sql.to_uppercase().contains("APPROX"), "{name}");
        // Wide reports rank a row's values with their counts too: no warehouse's own
        // percentile function, whose results differ between warehouses at the edges.
        assert!(
            !sql.contains("PERCENTILE_CONT") && !sql.contains("quantile_cont"),
            "{name}"
        );
        assert!(sql.contains("segc_ranked"), "{name}");
    }
}

#[test]
fn grouped_medians_are_ranked_on_every_dialect_and_never_approximate() {
    let project = common::core_project();
    let options = segc::plan::ReportOptions {
        kpis: ["activated_accounts", "median_spend", "p90_spend"]
            .map(String::from)
            .to_vec(),
        ..Default::default()
    };
    let plan = common::plan(&project, &options);
    for name in segc::dialect::names() {
        let dialect = Dialect::load(name).unwrap();
        let sql = segc::render::render(&plan, &dialect, None).unwrap();
        assert!(!sql.to_uppercase().contains("APPROX"), "{name}");
        // Every dialect ranks the values with their counts and interpolates between the two
        // around the position (n - 1) p: no warehouse's own percentile function.
        let line = sql
            .lines()
            .find(|l| l.contains("-- median_spend (") && l.contains("segc_position"))
            .unwrap_or_else(|| panic!("{name}: no ranked median"));
        assert!(
            line.contains("FLOOR(")
                && line.contains("CEILING(")
                && line.contains(&format!("* CAST(0.5 AS {}))", dialect.types.double)),
            "{name}: {line}"
        );
        assert!(
            !sql.contains("PERCENTILE_CONT") && !sql.contains("quantile_cont"),
            "{name}"
        );
        assert_eq!(
            sql.matches(" ROWS ").count(),
            sql.matches(RANKED_FRAME).count(),
            "{name}: the one frame"
        );
        common::assert_sendable(&sql, &dialect);
    }
}

#[test]
fn trap_12_sums_and_counts_leave_as_types_every_driver_decodes() {
    for name in segc::dialect::names() {
        let dialect = Dialect::load(name).unwrap();
        let sql = compile_core(&dialect);
        let points = sql.lines().find(|l| l.contains("-- total_points")).unwrap();
        assert!(
            points.contains("SUM(CAST(") && points.contains(&dialect.types.double),
            "{name}: {points}"
        );
        let people = sql.lines().rev().find(|l| l.contains("-- people")).unwrap();
        assert!(
            people.contains(&format!("AS {})", dialect.types.bigint)),
            "{name}: {people}"
        );
    }
    let sqlserver = compile_core(&Dialect::load("sqlserver").unwrap());
    assert!(
        sqlserver.contains("COUNT_BIG(") && !sqlserver.contains(" COUNT("),
        "T-SQL counts with COUNT_BIG"
    );
}

/// The core fixture as project `ny`, in New York, as of 2024-07-01, compiled for `dialect`.
fn compile_new_york(dialect: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    common::copy_project(&common::fixture("core"), dir.path(), None);
    std::fs::write(
        dir.path().join("segc_project.yml"),
        "name: ny\ntime_zone: America/New_York\nas_of: 2024-07-01\n",
    )
    .unwrap();
    let project = segc::validate::load_and_validate(dir.path()).unwrap();
    common::compile(&project, &Dialect::load(dialect).unwrap())
}

#[test]
fn trap_13_day_boundaries_follow_the_project_time_zone() {
    let sql = compile_new_york("postgres");
    // The end of 2024-07-01 in New York is 2024-07-02 04:00 UTC (EDT, not a fixed EST offset).
    assert!(
        sql.contains("< CAST('2024-07-02 04:00:00' AS TIMESTAMP)"),
        "{sql}"
    );
    // Local dates of events shift by the offset in force at each instant.
    assert!(
        sql.contains("INTERVAL '-14400 seconds'") && sql.contains("INTERVAL '-18000 seconds'"),
        "{sql}"
    );
    // The local date of a stored timestamp is converted once per user, in the attributes
    // stage, however many formulas, KPIs and conditions read it: each comparison of its CASE
    // appears once.
    let root = sql
        .find("\"last_seen_at\" < CAST('")
        .map(|start| &sql[start..start + sql[start..].find(')').unwrap() + 1])
        .expect("the CASE converting last_seen_at");
    assert_eq!(sql.matches(root).count(), 1, "{root}\n{sql}");
    assert!(sql.contains("AS \"segc_day_"), "{sql}");
}

#[test]
fn sqlserver_has_one_top_level_with_and_no_boolean_values() {
    let sql = compile_core(&Dialect::load("sqlserver").unwrap());
    let with_keywords = sql.matches("WITH").count() - sql.matches("WITHIN GROUP").count();
    assert_eq!(with_keywords, 1, "a single top-level WITH");
    assert!(
        sql.lines()
            .filter(|l| !l.trim_start().starts_with("--"))
            .any(|l| l.starts_with("WITH"))
    );
    assert!(
        !sql.contains("TRUE") && !sql.contains("FALSE"),
        "no boolean literals on T-SQL"
    );
    assert!(
        !sql.contains("LIMIT") && !sql.contains("||"),
        "no LIMIT or || on T-SQL"
    );
    let order_by = sql.matches("ORDER BY").count();
    let in_percentiles = sql.matches("WITHIN GROUP (ORDER BY").count();
    let in_ranks = sql.matches(RANKED_FRAME).count();
    assert_eq!(
        order_by - in_percentiles - in_ranks,
        1,
        "the only ORDER BY outside percentiles and ranks is the final one"
    );
    assert!(
        sql.contains("COLLATE Latin1_General_100_BIN2 = (N'it''s a \\ test' + NCHAR(1))"),
        "exact, case-sensitive matches, trailing spaces counting"
    );
}

#[test]
fn redshift_sql_stays_within_what_postgres_also_accepts() {
    let sql = compile_core(&Dialect::load("redshift").unwrap());
    for construct in [
        "FILTER (",
        "DISTINCT ON",
        "IS DISTINCT FROM",
        "generate_series",
        " E'",
        "(E'",
        "RANGE BETWEEN",
    ] {
        assert!(!sql.contains(construct), "{construct}");
    }
}

#[test]
fn bigquery_uses_backticks_and_safe_divide() {
    let sql = compile_core(&Dialect::load("bigquery").unwrap());
    assert!(
        sql.contains("`app`.`users`") && sql.contains("SAFE_DIVIDE("),
        "{sql}"
    );
    assert!(sql.contains("'it\\'s a \\\\ test'"), "backslash escapes");
}

#[test]
fn per_target_table_names_override_the_default() {
    let table = segc::ir::TableName {
        default: vec!["app".into(), "users".into()],
        overrides: [
            (
                "bigquery".to_string(),
                vec!["my-proj".into(), "app".into(), "users".into()],
            ),
            ("prod".to_string(), vec!["prod".into(), "users".into()]),
        ]
        .into_iter()
        .collect(),
    };
    assert_eq!(table.resolve(None, "bigquery"), ["my-proj", "app", "users"]);
    assert_eq!(table.resolve(Some("prod"), "duckdb"), ["prod", "users"]);
    assert_eq!(table.resolve(Some("dev"), "postgres"), ["app", "users"]);
}

#[test]
fn trap_4_weeks_are_seven_day_windows_computed_by_the_compiler() {
    // No warehouse week function is used, so no dialect's week start (Sunday on BigQuery and
    // T-SQL) can leak in: `1w` as of Sunday 2024-03-10 is [03-04, 03-11), Monday to Sunday.
    let time = segc::ir::time::ReportTime {
        as_of: common::date("2024-03-10"),
        period: (common::date("2024-03-10"), common::date("2024-03-10")),
    };
    let range = time.range(&segc::ir::Window::Last(segc::ir::Duration::Weeks(1)));
    assert_eq!(range.start, Some(common::date("2024-03-04")));
    for name in segc::dialect::names() {
        let sql = compile_core(&Dialect::load(name).unwrap()).to_uppercase();
        for function in ["DATE_TRUNC", "DATETRUNC", "WEEK(", "DATEPART", "ISOWEEK"] {
            assert!(!sql.contains(function), "{name}: {function}");
        }
    }
}

#[test]
fn trap_5_and_6_months_step_from_calendar_dates_in_the_compiler() {
    // `1m` as of 03-30 ends at 03-31 and starts one calendar month earlier, clamped to the
    // end of February: never a warehouse's month-boundary count.
    let time = segc::ir::time::ReportTime {
        as_of: common::date("2024-03-30"),
        period: (common::date("2024-03-30"), common::date("2024-03-30")),
    };
    let range = time.range(&segc::ir::Window::Last(segc::ir::Duration::Months(1)));
    assert_eq!(range.start, Some(common::date("2024-02-29")));
    for name in segc::dialect::names() {
        let sql = compile_core(&Dialect::load(name).unwrap()).to_uppercase();
        for function in [
            "MONTHS_BETWEEN",
            "DATEDIFF(MONTH",
            "DATE_DIFF(MONTH",
            "ADD_MONTHS",
            "GENERATE_SERIES",
            "RECURSIVE",
        ] {
            assert!(!sql.contains(function), "{name}: {function}");
        }
    }
}

#[test]
fn trap_7_and_8_orderings_are_explicit_and_never_null() {
    for name in segc::dialect::names() {
        let dialect = Dialect::load(name).unwrap();
        let sql = compile_core(&dialect);
        let final_order = format!(
            "ORDER BY {}.{}",
            dialect.quote_identifier("s"),
            dialect.quote_identifier("segc_row")
        );
        assert!(
            sql.trim_end().ends_with(&final_order),
            "{name}: rows are ordered by their non-null ordinal"
        );
        // Ranks order values inside ROW_NUMBER, a percentile's buckets number its distinct
        // values inside DENSE_RANK (equal values share a number), and a percentile's
        // running count orders a row's values with an explicit frame of the rows up to the
        // current one (ties are equal values, so any order gives the same percentile); no
        // other frame.
        let orderings = sql.matches("ORDER BY").count()
            - sql.matches("WITHIN GROUP (ORDER BY").count()
            - sql.matches("ROW_NUMBER() OVER (PARTITION BY").count()
            - sql.matches("DENSE_RANK() OVER (PARTITION BY").count()
            - sql.matches(RANKED_FRAME).count();
        assert_eq!(orderings, 1, "{name}: no other ORDER BY");
        assert_eq!(
            sql.matches(" ROWS ").count(),
            sql.matches(RANKED_FRAME).count(),
            "{name}: the one frame"
        );
        assert!(!sql.contains(" RANGE "), "{name}");
    }
}

#[test]
fn trap_15_redshift_never_reads_dateadd_as_a_date() {
    let sql = compile_core(&Dialect::load("redshift").unwrap());
    assert!(
        !sql.to_uppercase().contains("DATEADD"),
        "boundaries are literals computed by the compiler"
    );
    assert!(sql.contains("CAST('2024-03-02 00:00:00' AS TIMESTAMP)"));
}

/// Boolean attributes are held as 1/0 in every stage: PostgreSQL and Redshift have no
/// MIN/MAX over booleans, T-SQL none over `bit` and no boolean values in SELECT, and BigQuery
/// cannot cast a BOOL to FLOAT64 for an average. (The ordered fixture's values are checked on
/// every engine in tests/conformance.rs; SQL Server's only here, by parsing.)
#[test]
fn boolean_columns_are_aggregated_as_flags_on_every_dialect() {
    let dir = tempfile::tempdir().unwrap();
    common::ordered_project(dir.path());
    let project = segc::validate::load_and_validate(dir.path()).unwrap();
    for name in segc::dialect::names() {
        let dialect = Dialect::load(name).unwrap();
        let sql = common::compile(&project, &dialect);
        common::assert_sendable(&sql, &dialect);
        segc::sqlcheck::parse_one(&sql, &dialect.sqlparser)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let (open, close) = (&dialect.identifier.open, &dialect.identifier.close);
        let column =
            |table: &str, column: &str| format!("{open}{table}{close}.{open}{column}{close}");
        let flag = |value: &str| {
            format!(
                "CASE WHEN {value} = {} THEN 1 WHEN {value} = {} THEN 0 END",
                dialect.boolean_literal(true),
                dialect.boolean_literal(false)
            )
        };
        let on_time = column("f", "on_time");
        for aggregate in ["MIN", "MAX"] {
            assert!(
                sql.contains(&format!("{aggregate}({})", flag(&on_time))),
                "{name}: {aggregate} over the flag"
            );
            assert!(
                !sql.contains(&format!("{aggregate}({on_time})")),
                "{name}: no {aggregate} over the boolean column"
            );
        }
        assert!(
            sql.contains(&flag(&column("d_account_flags", "verified"))),
            "{name}: the dimension's boolean is a flag in the users stage"
        );
    }
}

/// The ordered-facts fixture with 64 more segments (distinct counts group the exact values in
/// a wide report too) and `extra` definition files, validated.
fn ordered_wide_project(dir: &std::path::Path, extra: &[(&str, &str)]) -> segc::ir::Project {
    common::ordered_project(dir);
    std::fs::write(dir.join("segment-defs/wide.yml"), common::wide_segments(64)).unwrap();
    for (file, text) in extra {
        std::fs::write(dir.join("segment-defs").join(file), text).unwrap();
    }
    segc::validate::load_and_validate(dir).unwrap()
}

/// Strings are ordered and counted by code point on SQL Server too, whose columns are
/// usually case-insensitive (`a` = `A`): lt/gt/between, min/max, the order of ordered facts
/// and distinct counts use a binary collation. (PostgreSQL's `COLLATE "C"` is checked by
/// running the ordered fixture on a linguistically collated database in tests/conformance.rs.)
#[test]
fn sqlserver_orders_and_counts_strings_by_code_point() {
    let dir = tempfile::tempdir().unwrap();
    let project = ordered_wide_project(dir.path(), &[]);
    let sql = common::compile(&project, &Dialect::load("sqlserver").unwrap());
    // Exact form: a sentinel below every printable character, then the binary collation
    // (trailing spaces count too: tests/padding.rs).
    let exact = |value: &str| format!("({value} + NCHAR(1)) COLLATE Latin1_General_100_BIN2");
    let carrier = exact("[f].[carrier]");
    let country = exact("[a].[country_name]");
    let member_country = exact("[m].[country_name]");
    for wanted in [
        format!("MIN({carrier})"),
        format!("MAX({carrier})"),
        format!("COUNT_BIG(DISTINCT {carrier})"),
        format!("{carrier} ASC"),
        format!("{country} > (N'Z' + NCHAR(1))"),
        format!("{country} >= (N'a' + NCHAR(1)) AND {country} <= (N'j' + NCHAR(1))"),
        format!("MIN({member_country})"),
        format!("THEN {member_country} END AS [segc_key_"),
    ] {
        assert!(sql.contains(&wanted), "{wanted}");
    }
}

/// The check behind `common::assert_sendable` finds what a dialect's oldest server lacks,
/// and only outside quotes.
#[test]
fn functions_newer_than_a_dialects_minimum_version_are_found() {
    let sqlserver = Dialect::load("sqlserver").unwrap();
    assert_eq!(
        segc::sqlcheck::unavailable_features(
            "SELECT GREATEST([a], 0) AS [x], [b] IS DISTINCT FROM [c] AS [y] FROM [t]",
            &sqlserver
        ),
        ["GREATEST", "IS DISTINCT FROM"]
    );
    assert!(
        segc::sqlcheck::unavailable_features(
            "SELECT [greatest], N'GREATEST(1)' AS [least] FROM [t]",
            &sqlserver
        )
        .is_empty()
    );
    let redshift = Dialect::load("redshift").unwrap();
    assert_eq!(
        segc::sqlcheck::unavailable_features(
            "SELECT COUNT(*) FILTER (WHERE x > 1) FROM t, generate_series(1, 3)",
            &redshift
        ),
        ["GENERATE_SERIES", "FILTER ( WHERE"]
    );
    // PostgreSQL's COLLATE clause is not Redshift's; Redshift's COLLATE function is.
    assert_eq!(
        segc::sqlcheck::unavailable_features("SELECT x COLLATE \"C\" FROM t", &redshift),
        ["COLLATE \""]
    );
    assert!(
        segc::sqlcheck::unavailable_features(
            "SELECT COLLATE(x, 'case_sensitive') AS \"collate\" FROM t",
            &redshift
        )
        .is_empty()
    );
}

/// The catalog query `segc sources --refresh` (and `run`, for types it misses) sends passes the
/// gate and each dialect's oldest server, for one-, two- and three-part table names with
/// hostile characters: every name in it is a string literal (SQL Server: N'…' in that
/// database's INFORMATION_SCHEMA).
#[test]
fn catalog_queries_are_sendable_in_every_dialect() {
    let project = common::core_project();
    let mut tables: Vec<Vec<String>> = project
        .sources
        .iter()
        .map(|s| s.table.default.clone())
        .collect();
    tables.push(vec!["it's".into(), "a]b".into(), "c\"d".into()]);
    tables.push(vec!["events".into()]);
    for name in segc::dialect::names() {
        let dialect = Dialect::load(name).unwrap();
        let sql = segc::catalog::catalog_query(&dialect, &tables);
        common::assert_sendable(&sql, &dialect);
        if name == "sqlserver" {
            assert!(
                sql.contains("FROM [it's].INFORMATION_SCHEMA.COLUMNS WHERE (TABLE_SCHEMA = N'a]b' AND TABLE_NAME = N'c\"d')"),
                "{sql}"
            );
            assert!(
                sql.contains("TABLE_SCHEMA = N'dbo' AND TABLE_NAME = N'events'"),
                "{sql}"
            );
        }
    }
}

/// The freshness check of `run` and `explain`: one statement per dialect that the gate
/// admits and the dialect's parser reads, selecting the newest row before the report's end
/// of each timed fact source the report reads, and nothing else.
#[test]
fn the_freshness_check_is_one_read_only_statement_on_every_dialect() {
    let project = common::core_project();
    let plan = common::plan(&project, &segc::plan::ReportOptions::default());
    let mut timed: Vec<String> = plan
        .fact_passes
        .iter()
        .filter(|pass| plan.time_column(pass.source).is_some())
        .map(|pass| project.source(pass.source).name.clone())
        .collect();
    timed.dedup();
    assert!(timed.len() >= 2, "the core fixture reads two timed sources");
    for name in segc::dialect::names() {
        let dialect = Dialect::load(name).unwrap();
        let sql = segc::render::render_freshness(&plan, &dialect, None, Freshness::AsOfDay)
            .unwrap()
            .expect("a check");
        common::assert_sendable(&sql, &dialect);
        let statement = segc::sqlcheck::parse_one(&sql, &dialect.sqlparser)
            .unwrap_or_else(|e| panic!("{name}: {e}\n{sql}"));
        assert_eq!(sql.matches("SELECT ").count(), timed.len(), "{name}: {sql}");
        assert_eq!(
            sql.matches(" UNION ALL ").count(),
            timed.len() - 1,
            "{name}"
        );
        for source in &timed {
            let table = project
                .sources
                .iter()
                .find(|s| &s.name == source)
                .unwrap()
                .table
                .resolve(None, name)
                .join(".");
            assert!(
                segc::sqlcheck::relations(&statement)
                    .iter()
                    .any(|r| r.replace(['"', '`', '[', ']'], "") == table),
                "{name}: {table} in {sql}"
            );
            assert!(sql.contains(&dialect.string_literal(source)), "{name}");
        }
        // The core fixture's as-of day is 2024-03-31: nothing from April 1 on is read, and
        // nothing before March 31 (UTC) in the first statement.
        assert!(sql.contains("2024-04-01 00:00:00"), "{name}: {sql}");
        assert_eq!(
            sql.matches(" >= ").count(),
            timed.len(),
            "{name}: each source from the as-of day: {sql}"
        );
        assert!(sql.contains("2024-03-31 00:00:00"), "{name}: {sql}");
        // The second statement: the named sources over all time before the end.
        let older = [timed[0].clone()];
        let again =
            segc::render::render_freshness(&plan, &dialect, None, Freshness::Before(&older))
                .unwrap()
                .expect("a check");
        common::assert_sendable(&again, &dialect);
        segc::sqlcheck::parse_one(&again, &dialect.sqlparser)
            .unwrap_or_else(|e| panic!("{name}: {e}\n{again}"));
        assert_eq!(again.matches("SELECT ").count(), 1, "{name}: {again}");
        assert!(
            again.contains(&dialect.string_literal(&timed[0])),
            "{again}"
        );
        assert!(
            !again.contains(" >= ") && again.contains("2024-04-01 00:00:00"),
            "{again}"
        );
    }
}

/// BigQuery and Redshift compare by code point whatever collation a dataset, table or column
/// has (BigQuery's default collation `und:ci`, a Redshift database or column created
/// `COLLATE CASE_INSENSITIVE`): both sides of each comparison, distinct counts, minimums,
/// maximums, the order of ordered facts and substring searches go through the collation
/// function. (Redshift's is run on a case-folding column in tests/conformance.rs; the BigQuery
/// emulator folds case by lowering the values, so BigQuery's rests on its documentation:
/// "If collate_specification is empty, returns a value with collation removed".)
#[test]
fn bigquery_and_redshift_compare_strings_without_the_columns_collation() {
    let dir = tempfile::tempdir().unwrap();
    let project = ordered_wide_project(
        dir.path(),
        &[(
            "contains.yml",
            "segments:\n  - { name: country_has_a, all: [ { country_name: { contains: a } } ] }\n",
        )],
    );
    type Exact = fn(&str) -> String;
    let cases: [(&str, Exact, Exact, &str); 2] = [
        (
            "bigquery",
            |v| format!("COLLATE({v}, '')"),
            |v| format!("`{}`.`{}`", &v[..1], &v[2..]),
            "(STRPOS(COLLATE(`a`.`country_name`, ''), COLLATE('a', '')) > 0)",
        ),
        (
            "redshift",
            |v| format!("COLLATE(({v} || CHR(1)), 'case_sensitive')"),
            |v| format!("\"{}\".\"{}\"", &v[..1], &v[2..]),
            "(POSITION(COLLATE('a', 'case_sensitive') IN COLLATE(\"a\".\"country_name\", 'case_sensitive')) > 0)",
        ),
    ];
    for (name, exact, column, contains) in cases {
        let sql = common::compile(&project, &Dialect::load(name).unwrap());
        let carrier = exact(&column("f.carrier"));
        let country = exact(&column("a.country_name"));
        for wanted in [
            format!("MIN({carrier})"),
            format!("MAX({carrier})"),
            format!("COUNT(DISTINCT {carrier})"),
            format!("{carrier} ASC"),
            format!("{country} > {}", exact("'Z'")),
            format!("{country} >= {}", exact("'a'")),
            contains.to_string(),
        ] {
            assert!(sql.contains(&wanted), "{name}: {wanted}");
        }
    }
}

/// Whether a T-SQL expression is a condition (a predicate), which SQL Server does not take
/// where a value is read.
fn is_condition(expr: &Expr) -> bool {
    use sqlparser::ast::BinaryOperator as Op;
    match expr {
        Expr::Nested(inner) => is_condition(inner),
        Expr::BinaryOp { op, .. } => matches!(
            op,
            Op::Eq | Op::NotEq | Op::Lt | Op::LtEq | Op::Gt | Op::GtEq | Op::And | Op::Or
        ),
        Expr::UnaryOp {
            op: sqlparser::ast::UnaryOperator::Not,
            ..
        } => true,
        Expr::IsNull(_)
        | Expr::IsNotNull(_)
        | Expr::InList { .. }
        | Expr::Between { .. }
        | Expr::Like { .. }
        | Expr::Exists { .. } => true,
        _ => false,
    }
}

/// Every place of a T-SQL statement where a value is read holds a value, not a condition
/// (SQL Server refuses `COALESCE((x = 1), 0)`, `((x = 1) IS NULL)`, `(a > 1) = (b = 1)`).
fn conditions_read_as_values(statement: &Statement) -> Vec<String> {
    use sqlparser::ast::{FunctionArg, FunctionArgExpr, FunctionArguments};
    let mut found = Vec::new();
    let _ = sqlparser::ast::visit_expressions(statement, |expr| {
        let mut values: Vec<&Expr> = Vec::new();
        match expr {
            Expr::Function(function) => {
                if let FunctionArguments::List(list) = &function.args {
                    for arg in &list.args {
                        if let FunctionArg::Unnamed(FunctionArgExpr::Expr(value)) = arg {
                            values.push(value);
                        }
                    }
                }
            }
            Expr::Case {
                conditions,
                else_result,
                ..
            } => {
                values.extend(conditions.iter().map(|when| &when.result));
                values.extend(else_result.as_deref());
            }
            Expr::IsNull(value) | Expr::IsNotNull(value) => values.push(value),
            Expr::BinaryOp { left, op, right } if is_condition(expr) => {
                use sqlparser::ast::BinaryOperator as Op;
                if !matches!(op, Op::And | Op::Or) {
                    values.extend([&**left, &**right]);
                }
            }
            _ => {}
        }
        found.extend(
            values
                .into_iter()
                .filter(|value| is_condition(value))
                .map(|value| format!("{value} in {expr}")),
        );
        std::ops::ControlFlow::<()>::Continue(())
    });
    found
}

#[test]
fn sqlserver_formulas_read_booleans_as_values_where_values_are_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("segment-defs")).unwrap();
    std::fs::write(
        dir.path().join("segc_project.yml"),
        "name: booleans\nas_of: 2024-03-31\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("segment-defs/defs.yml"),
        "sources:\n\
         \x20 users: { table: app.users, key: { column: user_id, type: integer }, columns: { signup_at: { column: created_at, type: timestamp }, score: { column: score, type: number }, vip: { column: vip, type: boolean }, country: { column: country, type: string } } }\n\
         attributes:\n\
         \x20 vip_or_not: { formula: \"coalesce(vip, false)\" }\n\
         \x20 vip_unknown: { formula: \"vip IS NULL\" }\n\
         \x20 vip_matches: { formula: \"(score > 1) = vip\" }\n\
         \x20 vip_kept: { formula: \"nullif(vip, true)\" }\n\
         \x20 vip_chosen: { formula: \"CASE WHEN score > 1 THEN vip ELSE false END\" }\n\
         \x20 cents: { formula: \"round(score, 2) + round(score, -1) + round(score, nullif(score, 0))\" }\n\
         \x20 both: { formula: \"vip_or_not AND coalesce(vip, true)\" }\n\
         segments:\n\
         \x20 - { name: chosen, all: [ { vip_chosen: { eq: true } }, { both: { eq: false } } ] }\n\
         \x20 - { name: any_country, all: [ { country: { contains: \"\" } } ] }\n\
         \x20 - { name: emoji, all: [ { country: { starts_with: \"\u{1F600}a\" } } ] }\n\
         kpis:\n\
         \x20 - { name: people, agg: count }\n\
         \x20 - { name: vips, agg: sum, of: vip_or_not }\n\
         \x20 - { name: unknown, agg: sum, of: vip_unknown }\n\
         \x20 - { name: matches, agg: sum, of: vip_matches }\n\
         \x20 - { name: kept, agg: max, of: vip_kept }\n\
         \x20 - { name: cents, agg: sum, of: cents }\n",
    )
    .unwrap();
    let project = segc::validate::load_and_validate(dir.path()).unwrap();
    // Every dialect parses and sends the formulas (`round` is arithmetic with FLOOR, SIGN and
    // POWER on each).
    for name in segc::dialect::names() {
        let dialect = Dialect::load(name).unwrap();
        let sql = common::compile(&project, &dialect);
        segc::sqlcheck::parse_one(&sql, &dialect.sqlparser)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        common::assert_sendable(&sql, &dialect);
        assert!(
            sql.contains(&format!("POWER(CAST(10 AS {})", dialect.types.double)),
            "{name}"
        );
    }
    let dialect = Dialect::load("sqlserver").unwrap();
    let sql = common::compile(&project, &dialect);
    let statement = segc::sqlcheck::parse_one(&sql, &dialect.sqlparser).unwrap();
    let found = conditions_read_as_values(&statement);
    assert!(found.is_empty(), "{found:#?}");
    assert!(
        sql.contains(
            "COALESCE(CASE WHEN ([a].[vip] = 1) THEN 1 WHEN NOT (([a].[vip] = 1)) THEN 0 END, 0)"
        ),
        "{sql}"
    );
    // CHARINDEX finds the empty string nowhere: every value that is not NULL contains it.
    assert!(
        sql.contains("CASE WHEN [a].[country] IS NOT NULL THEN 1 ELSE 0 END"),
        "{sql}"
    );
    assert!(!sql.contains("CHARINDEX(N''"), "{sql}");
    // LEFT counts UTF-16 code units under a binary collation: an emoji and a letter are 3.
    assert!(
        sql.contains(
            "LEFT(CAST([a].[country] AS NVARCHAR(MAX)) COLLATE Latin1_General_100_BIN2, 3)"
        ),
        "{sql}"
    );
    // The check finds what SQL Server refuses.
    let refused =
        segc::sqlcheck::parse_one("SELECT COALESCE((a = 1), 0) AS x FROM t", "mssql").unwrap();
    assert_eq!(conditions_read_as_values(&refused).len(), 1);
}

/// SQL Server takes the date of a `datetimeoffset` in its own offset (`CAST(… AS DATE)` of
/// `2024-03-30 23:30 -05:00` is the 30th where every other warehouse reads the 31st, at UTC):
/// every local date of a timestamp is taken after SWITCHOFFSET to +00:00, in UTC projects and
/// in zones with offsets (DATEADD keeps the value's own offset).
#[test]
fn trap_sql_server_takes_a_timestamp_date_at_utc() {
    let dialect = Dialect::load("sqlserver").unwrap();
    let dir = tempfile::tempdir().unwrap();
    common::copy_project(&common::fixture("core"), dir.path(), None);
    let settings = dir.path().join("segc_project.yml");
    let text = std::fs::read_to_string(&settings).unwrap();
    assert!(text.contains("time_zone: UTC\n"), "{text}");
    std::fs::write(
        &settings,
        text.replace("time_zone: UTC\n", "time_zone: America/New_York\n"),
    )
    .unwrap();
    let zoned = segc::validate::load_and_validate(dir.path()).unwrap();
    let zoned = common::compile(&zoned, &dialect);
    assert!(zoned.contains("DATEADD(second, -"), "{zoned}");
    for sql in [compile_core(&dialect), zoned] {
        for column in ["[f].[occurred_at]", "[u].[created_at]"] {
            assert!(
                !sql.contains(&format!("CAST({column} AS DATE)")),
                "{column} cast directly:\n{sql}"
            );
        }
        let pieces: Vec<&str> = sql.split(" AS DATE)").collect();
        let mut switched = 0;
        for piece in &pieces[..pieces.len() - 1] {
            let cast = what_is_cast(piece);
            if cast.starts_with("SWITCHOFFSET(") {
                switched += 1;
            } else {
                // Else a literal, or the report's output cast of a date KPI.
                assert!(
                    cast.starts_with('\'') || cast.starts_with("[k].["),
                    "{cast}\n{sql}"
                );
            }
        }
        assert!(switched > 0, "{sql}");
    }
}

/// What the open `CAST(` at the end of `text` casts (the text after it).
fn what_is_cast(text: &str) -> &str {
    let mut depth = 0;
    for (at, c) in text.char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' if depth == 0 => {
                assert!(text[..at].ends_with("CAST"), "{}", &text[at..]);
                return &text[at + 1..];
            }
            '(' => depth -= 1,
            _ => {}
        }
    }
    panic!("no open CAST: {text}")
}

/// A binary collation put on a SQL Server varchar converts its text to that collation's
/// code page (1252): a Cyrillic, Polish or UTF-8 varchar lost its characters in `contains`,
/// `starts_with` and `ends_with`, which collated the column as it was. Every COLLATE of the
/// statement applies to a Unicode value: one with NCHAR(1) appended, a cast to NVARCHAR, or
/// an N'…' literal.
#[test]
fn sqlserver_collates_only_unicode_values() {
    use sqlparser::ast::{BinaryOperator, DataType, visit_expressions};
    fn unicode(expr: &Expr) -> bool {
        match expr {
            Expr::Nested(inner) => unicode(inner),
            Expr::Cast {
                data_type: DataType::Nvarchar(_),
                ..
            } => true,
            Expr::BinaryOp {
                op: BinaryOperator::Plus,
                right,
                ..
            } => matches!(&**right, Expr::Function(f) if f.name.to_string() == "NCHAR"),
            Expr::Value(value) => matches!(value.value, Value::NationalStringLiteral(_)),
            _ => false,
        }
    }
    let sqlserver = Dialect::load("sqlserver").unwrap();
    let sql = compile_core(&sqlserver);
    for wanted in ["LEFT(CAST(", "RIGHT(CAST(", "CHARINDEX(N'--', CAST("] {
        assert!(sql.contains(wanted), "{wanted}");
    }
    let statement = segc::sqlcheck::parse_one(&sql, "mssql").unwrap();
    let mut collated = 0;
    let _ = visit_expressions(&statement, |expr| {
        if let Expr::Collate { expr, .. } = expr {
            collated += 1;
            assert!(unicode(expr), "not Unicode before COLLATE: {expr}");
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    assert!(collated > 20, "{collated}");
}

/// BigQuery reads a string cast to TIMESTAMP without a zone, and takes the DATE of a
/// TIMESTAMP, in the default time zone, which a project's or organization's
/// `default_time_zone` (or a session's @@time_zone) can set to another than UTC: every
/// boundary literal and every local day moved by that offset. Each instant literal names UTC
/// (`+00:00`), and every DATE of a value is taken at UTC; only literals are cast to DATE.
#[test]
fn bigquery_names_utc_wherever_a_default_time_zone_would_apply() {
    use sqlparser::ast::{DataType, visit_expressions};
    let sql = compile_new_york("bigquery");
    assert!(
        sql.contains("< CAST('2024-07-02 04:00:00+00:00' AS TIMESTAMP)"),
        "{sql}"
    );
    let statement = segc::sqlcheck::parse_one(&sql, "bigquery").unwrap();
    let (mut instants, mut dates) = (0, 0);
    let _ = visit_expressions(&statement, |expr| {
        match expr {
            Expr::Cast {
                data_type: DataType::Timestamp(..),
                expr,
                ..
            } => {
                if let Expr::Value(value) = &**expr
                    && let Value::SingleQuotedString(text) = &value.value
                {
                    instants += 1;
                    assert!(text.ends_with("+00:00"), "a zone-less instant: {text}");
                }
            }
            Expr::Cast {
                data_type: DataType::Date,
                expr,
                ..
            } => assert!(
                // A literal, or a date KPI's value on its way out (a DATE already).
                matches!(&**expr, Expr::Value(value) if matches!(value.value, Value::SingleQuotedString(_) | Value::Null))
                    || matches!(&**expr, Expr::CompoundIdentifier(parts) if parts[0].value == "k"),
                "the DATE of a value in the default time zone: {expr}"
            ),
            Expr::Function(function) if function.name.to_string() == "DATE" => {
                dates += 1;
                assert!(function.to_string().ends_with(", 'UTC')"), "{function}");
            }
            _ => {}
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    assert!(
        instants > 10 && dates > 0,
        "{instants} instants, {dates} dates"
    );
}

/// BigQuery casts a DATE to TIMESTAMP at the default time zone's midnight too: the freshness
/// check of a source timed by dates and `--materialize`'s `value_time` of a date KPI read
/// `TIMESTAMP(d, 'UTC')`, the UTC midnight the other warehouses give.
#[test]
fn bigquery_reads_a_date_as_its_utc_midnight() {
    let bigquery = Dialect::load("bigquery").unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("segc_project.yml"),
        "name: days\nas_of: 2024-03-31\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("segment-defs")).unwrap();
    std::fs::write(
        dir.path().join("segment-defs/defs.yml"),
        "sources:
  users: { table: app.users, key: { column: user_id, type: integer }, columns: { signup_at: { column: created_at, type: timestamp } } }
  orders: { table: app.orders, user_key: user_id, time: { column: ordered_on, type: date } }
attributes:
  orders_30d: { source: orders, agg: count, window: 30d }
kpis:
  - { name: orders, agg: sum, of: orders_30d }
",
    )
    .unwrap();
    let project = segc::validate::load_and_validate(dir.path()).unwrap();
    let plan = common::plan(&project, &segc::plan::ReportOptions::default());
    let sql = segc::render::render_freshness(&plan, &bigquery, None, Freshness::AsOfDay)
        .unwrap()
        .expect("a check");
    common::assert_sendable(&sql, &bigquery);
    assert!(sql.contains("TIMESTAMP(MAX(`ordered_on`), 'UTC')"), "{sql}");

    let project = common::core_project();
    let plan = common::plan(&project, &segc::plan::ReportOptions::default());
    let reports = segc::plan::Reports::Single(Box::new(plan));
    let spec = segc::materialize::WriteSpec {
        table: &["app".to_string(), "segc_kpis".to_string()],
        run_id: "20261130T000000Z-0badcafe",
        computed_at: common::date("2026-11-30").and_hms_opt(0, 0, 0).unwrap(),
    };
    let insert = segc::render::render_write(&reports, &bigquery, None, &spec).unwrap();
    segc::sqlcheck::parse_one(&insert, "bigquery").unwrap();
    assert!(
        insert.contains("TIMESTAMP(`r`.`last_signup`, 'UTC')"),
        "the date KPI's value_time: {insert}"
    );
}
