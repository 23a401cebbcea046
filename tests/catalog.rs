//! The KPI catalog (segment-defs/kpis_catalog.yml) on a small demo data set: every catalog KPI
//! of the `all_users` row equals the value computed in Rust from the generated rows
//! (`common::catalog_expectations`; tests/conformance.rs checks every engine against it too).
//! Period: 2026-10-01..2026-10-31 (UTC), so the report's end is 2026-11-01 00:00.
#![cfg(feature = "duckdb")]

mod common;

use segc::driver::Driver;
use segc::driver::duckdb::DuckDb;
use segc::plan::ReportOptions;
use segc::report::Report;

#[test]
fn every_catalog_kpi_matches_a_computation_from_the_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (demo, path) = common::demo_database(dir.path(), 500);
    common::record_demo_history(&path, &[("2026-09-30", "2026-10-31")]);
    let project = segc::validate::load_and_validate(&common::repository_root()).unwrap();
    let options = ReportOptions {
        period: Some((common::date("2026-10-01"), common::date("2026-10-31"))),
        ..Default::default()
    };
    let plan = common::plan(&project, &options);
    let sql = segc::render::render(
        &plan,
        &segc::dialect::Dialect::load("duckdb").unwrap(),
        None,
    )
    .unwrap();
    let mut database = DuckDb::open_read_only(&path).unwrap();
    let report = Report::from_result(&plan, "duck", &database.query(&sql).unwrap()).unwrap();
    let got = |kpi: &str| -> Option<f64> {
        let column = report
            .columns
            .iter()
            .position(|c| c.name == kpi)
            .unwrap_or_else(|| panic!("no KPI {kpi}"));
        report.rows[0].values[column].as_f64()
    };

    let expected = common::catalog_expectations(
        &demo,
        common::date("2026-10-01"),
        common::date("2026-10-31"),
    );
    let value = |kpi: &str| {
        expected
            .iter()
            .find(|(name, _)| *name == kpi)
            .and_then(|(_, v)| *v)
            .unwrap()
    };
    // The data exercise every KPI: none of these is empty or trivially equal to another.
    assert!(value("orders_period") > 0.0 && value("repeat_customers") > 0.0);
    assert!(value("returning_last_month") > 0.0);
    assert!(value("revenue_per_buyer_90d") * value("buyers") < value("revenue_all_time"));
    assert!(value("revenue_per_buyer_90d") > 0.0);
    let catalog: Vec<&str> = project
        .kpis
        .iter()
        .filter(|k| k.origin.file.ends_with("kpis_catalog.yml"))
        .map(|k| k.name.as_str())
        .collect();
    let checked: Vec<&str> = expected.iter().map(|(kpi, _)| *kpi).collect();
    assert_eq!(
        catalog, checked,
        "every catalog KPI is checked, in file order"
    );
    common::assert_catalog(&expected, got, "duckdb");
}
