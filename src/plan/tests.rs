use super::*;

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

#[test]
fn months_step_from_the_first_of_each_month() {
    let periods = months(day("2024-01-31"), day("2024-03-05")).unwrap();
    let expected = [
        ("2024-01", "2024-01-01", "2024-01-31"),
        ("2024-02", "2024-02-01", "2024-02-29"),
        ("2024-03", "2024-03-01", "2024-03-31"),
    ];
    assert_eq!(periods.len(), expected.len());
    for ((label, (first, last)), (want, a, b)) in periods.iter().zip(expected) {
        assert_eq!((label.as_str(), *first, *last), (want, day(a), day(b)));
    }
    assert!(months(day("2024-03-01"), day("2024-01-01")).is_err());
    assert!(months(day("2000-01-01"), day("2024-01-01")).is_err());
}

#[test]
fn the_as_of_day_comes_from_the_options_the_project_or_the_default_day() {
    let mut project =
        crate::validate::load_and_validate(std::path::Path::new(env!("CARGO_MANIFEST_DIR")))
            .unwrap();
    let default_day = day("2026-11-29");
    let planned = |project: &Project, options: ReportOptions| {
        let plan = Plan::new(project, &options, default_day).unwrap();
        (plan.time.as_of, plan.as_of_source, plan.as_of_note())
    };
    let asked = ReportOptions {
        as_of: Some(day("2026-06-30")),
        ..Default::default()
    };
    let period = ReportOptions {
        period: Some((day("2026-01-01"), day("2026-03-31"))),
        ..Default::default()
    };
    project.default_as_of = Some(day("2026-10-31"));
    assert_eq!(
        planned(&project, asked.clone()),
        (day("2026-06-30"), AsOfSource::Asked, None)
    );
    assert_eq!(
        planned(&project, period.clone()),
        (day("2026-03-31"), AsOfSource::Asked, None)
    );
    assert_eq!(
        planned(&project, ReportOptions::default()),
        (day("2026-10-31"), AsOfSource::Project, None)
    );
    project.default_as_of = None;
    project.time_zone = "Pacific/Auckland".into();
    assert_eq!(
        planned(&project, asked).0,
        day("2026-06-30"),
        "--as-of wins"
    );
    assert_eq!(planned(&project, period).0, day("2026-03-31"));
    let (as_of, source, note) = planned(&project, ReportOptions::default());
    assert_eq!((as_of, source), (default_day, AsOfSource::LastCompleteDay));
    assert_eq!(
        note.as_deref(),
        Some("yesterday, the last complete day in Pacific/Auckland")
    );
}
