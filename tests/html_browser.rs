//! `segc run --output html` in a real browser: the demo project's plain, compare and month
//! reports are loaded in headless Chromium, which must report no script error; the values
//! the page holds after its scripts ran equal the JSON output's; a screenshot of each is kept.
//!
//! Chromium is found through `SEGC_TEST_CHROMIUM` (a path) or on the PATH (`chromium`,
//! `chromium-browser`, `google-chrome`). Without one the tests are skipped, unless
//! `SEGC_TEST_BROWSER` is set (as scripts/test.sh does), when they fail.
#![cfg(feature = "duckdb")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value as Json;

/// The browser, or `None` (with the reason printed) when the test may be skipped.
fn chromium() -> Option<PathBuf> {
    let named = std::env::var_os("SEGC_TEST_CHROMIUM").map(PathBuf::from);
    let found = named.or_else(|| {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path).find_map(|dir| {
            ["chromium", "chromium-browser", "google-chrome"]
                .iter()
                .map(|name| dir.join(name))
                .find(|candidate| candidate.is_file())
        })
    });
    match found {
        Some(path) => Some(path),
        None if std::env::var_os("SEGC_TEST_BROWSER").is_some() => {
            panic!(
                "SEGC_TEST_BROWSER is set but no Chromium was found: install it (apt-get install chromium) or set SEGC_TEST_CHROMIUM"
            )
        }
        None => {
            eprintln!(
                "skipped: no Chromium on the PATH (set SEGC_TEST_CHROMIUM, or SEGC_TEST_BROWSER=1 to fail instead)"
            );
            None
        }
    }
}

fn segc(project: &Path, args: &[&str]) -> std::process::Output {
    let output = Command::cargo_bin("segc")
        .unwrap()
        .arg("--project")
        .arg(project)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "segc {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The demo project, with a recency × frequency grid of segments for the heat map.
fn demo(dir: &Path) -> PathBuf {
    let project = dir.join("demo");
    let output = Command::cargo_bin("segc")
        .unwrap()
        .args(["init", "--demo"])
        .arg(&project)
        .output()
        .unwrap();
    assert!(output.status.success());
    let grid = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rfm_grid/rfm_grid.yml");
    std::fs::copy(grid, project.join("segment-defs/rfm_grid.yml")).unwrap();
    project
}

/// Where screenshots are kept: printed, and left after the test.
fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("html_browser");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

struct Loaded {
    dom: String,
    /// The browser's console messages (script errors among them).
    console: Vec<String>,
}

/// Loads `page` in headless Chromium and returns the DOM after its scripts ran.
fn load(browser: &Path, page: &Path, profile: &Path) -> Loaded {
    let output = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(output.status.success(), "chromium failed: {output:?}");
    let console = String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|line| line.contains(":CONSOLE"))
        .map(str::to_string)
        .collect();
    Loaded {
        dom: String::from_utf8(output.stdout).unwrap(),
        console,
    }
}

fn screenshot(browser: &Path, page: &Path, profile: &Path, png: &Path) {
    let status = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
            "--window-size=1400,2200",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(status.status.success(), "chromium failed: {status:?}");
    let bytes = std::fs::read(png).unwrap();
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 20_000,
        "{png:?}"
    );
    eprintln!("screenshot: {}", png.display());
}

/// A tag's attributes, as Chromium serializes them (`name="value"`, entities for `&<>"`).
fn attributes(tag: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = tag;
    while let Some(eq) = rest.find("=\"") {
        let name = rest[..eq].rsplit([' ', '<']).next().unwrap_or_default();
        let after = &rest[eq + 2..];
        let end = after.find('"').expect("a closed attribute");
        out.insert(name.to_string(), unescape(&after[..end]));
        rest = &after[end + 1..];
    }
    out
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// Every start tag `<name …>` in `html`, with its attributes.
fn tags(html: &str, name: &str) -> Vec<(usize, BTreeMap<String, String>)> {
    let open = format!("<{name}");
    html.match_indices(&open)
        .filter(|(at, _)| {
            let next = html[at + open.len()..].chars().next();
            matches!(next, Some(' ') | Some('>'))
        })
        .map(|(at, _)| {
            let end = at + html[at..].find('>').unwrap();
            (at, attributes(&html[at..=end]))
        })
        .collect()
}

/// One table of the page: its column names and, per row, its segment, parent and values
/// (`None` for NULL).
struct Table {
    period: String,
    as_of: String,
    columns: Vec<String>,
    rows: Vec<(String, Option<String>, Vec<Option<String>>)>,
}

fn page_tables(dom: &str) -> Vec<Table> {
    let mut tables = Vec::new();
    for (at, div) in tags(dom, "div") {
        if div.get("class").map(String::as_str) != Some("period") {
            continue;
        }
        let end = at + dom[at..].find("</table>").unwrap();
        let part = &dom[at..end];
        let columns = tags(part, "th")
            .into_iter()
            .filter_map(|(_, th)| th.get("data-col").cloned())
            .collect();
        let mut rows = Vec::new();
        let starts = tags(part, "tr");
        for (index, (start, tr)) in starts.iter().enumerate() {
            let Some(segment) = tr.get("data-segment") else {
                continue;
            };
            let stop = starts.get(index + 1).map_or(part.len(), |(next, _)| *next);
            let values = tags(&part[*start..stop], "td")
                .into_iter()
                .map(|(_, td)| td.get("data-v").cloned())
                .collect();
            let parent = tr.get("data-parent").filter(|p| !p.is_empty()).cloned();
            rows.push((segment.clone(), parent, values));
        }
        tables.push(Table {
            period: div["data-period"].clone(),
            as_of: div["data-as-of"].clone(),
            columns,
            rows,
        });
    }
    tables
}

/// The page's value equals the JSON's: the same number, text, or both NULL.
fn same_value(page: Option<&String>, json: &Json) -> bool {
    match (page, json) {
        (None, Json::Null) => true,
        (Some(text), Json::Number(number)) => text.parse::<f64>().ok() == number.as_f64(),
        (Some(text), Json::String(string)) => text == string,
        (Some(text), Json::Bool(b)) => text == &b.to_string(),
        _ => false,
    }
}

fn assert_table_matches(table: &Table, rows: &Json, columns: &[String]) {
    assert_eq!(&table.columns, columns, "the page's columns are the JSON's");
    let rows = rows.as_array().unwrap();
    assert_eq!(table.rows.len(), rows.len());
    for ((segment, parent, values), json) in table.rows.iter().zip(rows) {
        assert_eq!(json["segment"], segment.as_str());
        assert_eq!(json["parent"].as_str(), parent.as_deref(), "{segment}");
        assert_eq!(values.len(), columns.len(), "{segment}");
        for (column, value) in columns.iter().zip(values) {
            assert!(
                same_value(value.as_ref(), &json[column]),
                "{segment}.{column}: the page holds {value:?}, the JSON {}",
                json[column]
            );
        }
    }
}

/// The page ran its scripts and recorded no error, and the browser logged nothing.
fn assert_no_errors(loaded: &Loaded) {
    assert!(loaded.console.is_empty(), "console: {:?}", loaded.console);
    let (_, root) = tags(&loaded.dom, "html").into_iter().next().unwrap();
    assert_eq!(root.get("data-errors").map(String::as_str), Some(""));
    assert_eq!(root.get("data-ready").map(String::as_str), Some("1"));
}

fn column_names(json: &Json) -> Vec<String> {
    json["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

/// Runs `args` as JSON and as HTML, loads the page, checks it, and keeps a screenshot.
fn check_run(
    browser: &Path,
    project: &Path,
    dir: &Path,
    name: &str,
    args: &[&str],
) -> (Json, Loaded) {
    let json: Json =
        serde_json::from_slice(&segc(project, &[&["run", "-o", "json"], args].concat()).stdout)
            .unwrap();
    let page = dir.join(format!("{name}.html"));
    let page_text = page.to_str().unwrap();
    segc(
        project,
        &[&["run", "-o", "html", "--out", page_text], args].concat(),
    );
    let size = std::fs::metadata(&page).unwrap().len();
    assert!(size < 2_000_000, "{name}: {size} bytes");
    let loaded = load(browser, &page, &dir.join("profile"));
    assert_no_errors(&loaded);
    let png = artifacts().join(format!("{name}.png"));
    screenshot(browser, &page, &dir.join("profile"), &png);
    (json, loaded)
}

#[test]
fn the_html_reports_show_the_json_values_without_errors() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let project = demo(dir.path());

    let (json, loaded) = check_run(&browser, &project, dir.path(), "plain", &[]);
    let tables = page_tables(&loaded.dom);
    assert_eq!(tables.len(), 1);
    assert_eq!(tables[0].as_of, json["as_of"].as_str().unwrap());
    assert_table_matches(&tables[0], &json["rows"], &column_names(&json));
    // The heat map's cells are the grid segments' member counts.
    let people: BTreeMap<&str, &Json> = json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| (row["segment"].as_str().unwrap(), &row["people"]))
        .collect();
    let grid = &loaded.dom[loaded.dom.find("<section id=\"grid\"").expect("a heat map")..];
    let cells: Vec<_> = tags(grid, "g")
        .into_iter()
        .filter(|(_, g)| g.get("class").map(String::as_str) == Some("cell"))
        .collect();
    assert_eq!(cells.len(), 25);
    for (at, cell) in cells {
        let segment = cell["data-segment"].as_str();
        let (_, rect) = tags(&grid[at..], "rect").into_iter().next().unwrap();
        assert!(same_value(rect.get("data-v"), people[segment]), "{segment}");
    }

    let (json, loaded) = check_run(
        &browser,
        &project,
        dir.path(),
        "compare",
        &["--compare", "prior_year"],
    );
    let tables = page_tables(&loaded.dom);
    assert_eq!(tables.len(), 1);
    assert!(json["compared_with"].is_string());
    assert_table_matches(&tables[0], &json["rows"], &column_names(&json));
    assert!(
        loaded.dom.contains(" pp</tspan>"),
        "percent KPIs change in points"
    );

    let months = ["--grain", "month", "--from", "2026-05", "--to", "2026-10"];
    let (json, loaded) = check_run(&browser, &project, dir.path(), "month", &months);
    let tables = page_tables(&loaded.dom);
    let periods = json["periods"].as_array().unwrap();
    assert_eq!(tables.len(), periods.len());
    assert_eq!(tables.len(), 6);
    for (table, period) in tables.iter().zip(periods) {
        assert_eq!(table.period, period["period"].as_str().unwrap());
        assert_eq!(table.as_of, period["as_of"].as_str().unwrap());
        assert_table_matches(table, &period["rows"], &column_names(&json));
    }
    assert!(loaded.dom.contains("<svg class=\"lines\""));
}

/// The checks above can fail: a page with a script error is caught both by the page's own
/// error trap and in the browser's console.
#[test]
fn a_script_error_is_detected() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let project = demo(dir.path());
    let page = dir.path().join("broken.html");
    segc(
        &project,
        &[
            "run",
            "-o",
            "html",
            "--out",
            page.to_str().unwrap(),
            "--kpis",
            "people",
        ],
    );
    let html = std::fs::read_to_string(&page).unwrap();
    std::fs::write(
        &page,
        html.replace("</body>", "<script>notDefinedAnywhere();</script></body>"),
    )
    .unwrap();
    let loaded = load(&browser, &page, &dir.path().join("profile"));
    let (_, root) = tags(&loaded.dom, "html").into_iter().next().unwrap();
    assert!(
        root["data-errors"].contains("notDefinedAnywhere"),
        "{root:?}"
    );
    assert!(
        loaded
            .console
            .iter()
            .any(|line| line.contains("notDefinedAnywhere")),
        "{:?}",
        loaded.console
    );
}

/// The demo project's HTML page loaded in the browser after `actions` (a script run at the
/// end of the page) ran, with no script error.
fn demo_page_after(browser: &Path, dir: &Path, actions: &str) -> Loaded {
    let project = demo(dir);
    let page = dir.join("interact.html");
    segc(
        &project,
        &["run", "-o", "html", "--out", page.to_str().unwrap()],
    );
    let html = std::fs::read_to_string(&page).unwrap();
    let acted = html.replace("</body>", &format!("<script>{actions}</script></body>"));
    std::fs::write(&page, acted).unwrap();
    let loaded = load(browser, &page, &dir.join("profile"));
    assert_no_errors(&loaded);
    loaded
}

/// Sorting by the segment column orders the labels alone: a parent's drill-down arrow does
/// not put it before or after the others.
#[test]
fn sorting_by_segment_reads_the_labels() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    // Sorted once (descending), then the top-level rows' labels, in order, into the DOM.
    let actions = r#"
      document.querySelector('table.report th[data-sort="label"]').click();
      var rows = document.querySelectorAll('div.period:not([hidden]) table.report tbody tr');
      var order = [];
      rows.forEach(function (row) {
        var parent = row.getAttribute("data-parent");
        var reported = parent && document.querySelector('tr[data-segment="' + parent + '"]');
        if (!reported) { order.push(row.querySelector(".label").textContent); }
      });
      document.body.setAttribute("data-order", order.join("|"));
    "#;
    let loaded = demo_page_after(&browser, dir.path(), actions);
    let body = tags(&loaded.dom, "body");
    let order: Vec<String> = body[0].1["data-order"]
        .split('|')
        .map(str::to_string)
        .collect();
    assert_eq!(order[0], "All users", "the baseline stays first: {order:?}");
    let keys: Vec<String> = order[1..].iter().map(|l| l.to_lowercase()).collect();
    assert!(keys.len() > 3, "{order:?}");
    assert!(
        keys.windows(2).all(|pair| pair[0] >= pair[1]),
        "not in descending order of label: {order:?}"
    );
    // The demo has parents among the top-level rows, so the arrow could have mattered.
    assert!(
        loaded.dom.contains("class=\"toggle\" aria-expanded"),
        "no parent on the page"
    );
}

/// The page's script works: sorting keeps children under their parent and `all_users`
/// first, a parent's button shows its children, and the KPI chooser hides a KPI.
#[test]
fn sorting_expanding_and_choosing_work() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let actions = r#"
      document.querySelector('table.report th[data-col="people"]').click();
      document.querySelector('tr[data-segment="paying"] button.toggle').click();
      var box = document.querySelector('#kpis input[data-kpi="people"]');
      box.checked = false;
      box.dispatchEvent(new Event("change"));
    "#;
    let loaded = demo_page_after(&browser, dir.path(), actions);
    let table = &page_tables(&loaded.dom)[0];
    let people = |row: &(String, Option<String>, Vec<Option<String>>)| -> f64 {
        row.2[0].as_ref().unwrap().parse().unwrap()
    };
    assert_eq!(table.rows[0].0, "all_users");
    // Top-level rows in descending order of people; each child right after its parent
    // or a sibling.
    let top: Vec<f64> = table.rows[1..]
        .iter()
        .filter(|row| row.1.is_none())
        .map(people)
        .collect();
    assert!(top.windows(2).all(|pair| pair[0] >= pair[1]), "{top:?}");
    // Every row between a child and its parent descends from that parent.
    let parent_of = |name: &str| {
        table
            .rows
            .iter()
            .find(|row| row.0 == name)
            .and_then(|row| row.1.clone())
    };
    let descends = |name: &str, ancestor: &str| {
        let mut current = parent_of(name);
        while let Some(parent) = current {
            if parent == ancestor {
                return true;
            }
            current = parent_of(&parent);
        }
        false
    };
    for (index, row) in table.rows.iter().enumerate().skip(1) {
        if let Some(parent) = &row.1 {
            let at = table.rows[..index]
                .iter()
                .position(|r| &r.0 == parent)
                .unwrap_or_else(|| panic!("{} comes before its parent", row.0));
            for between in &table.rows[at + 1..index] {
                assert!(
                    descends(&between.0, parent),
                    "{} is not under {parent}",
                    row.0
                );
            }
        }
    }
    // Paying's children are shown, the others' are still hidden.
    for (_, tr) in tags(&loaded.dom, "tr") {
        match tr.get("data-parent").map(String::as_str) {
            Some("paying") => assert!(!tr.contains_key("hidden"), "{tr:?}"),
            Some("active") => assert!(tr.contains_key("hidden"), "{tr:?}"),
            _ => {}
        }
    }
    // The chooser's style hides People's column (the second cell) and chart.
    let style = &loaded.dom[loaded.dom.find("<style id=\"hidden-kpis\">").unwrap()..];
    let style = &style[..style.find("</style>").unwrap()];
    assert!(style.contains("table.report tr>:nth-child(2)"), "{style}");
    assert!(style.contains("figure[data-kpi=\"people\"]"), "{style}");
    assert!(loaded.dom.contains("<span id=\"kpi-count\">5</span>"));
}

/// The rule for a quintile grid: the demo's grid file forms a 5 × 5 grid of recency (rows)
/// by frequency; a segment with any other condition is no cell, and the demo alone (whose RFM
/// segments use ranges) has no grid.
#[test]
fn the_quintile_grid_is_read_from_the_segments() {
    let dir = tempfile::tempdir().unwrap();
    let project = demo(dir.path());
    let loaded = segc::load_project(&project).unwrap();
    let grid = segc::report::QuintileGrid::find(&loaded).expect("a grid");
    assert_eq!(
        (grid.rows.as_str(), grid.columns.as_str()),
        ("recency_score", "frequency_score")
    );
    assert_eq!(grid.cells.len(), 25);
    let cell = grid.cell("rfm_r4_f2").unwrap();
    assert_eq!((cell.row, cell.column), (4, 2));
    assert_eq!(grid.count_kpi.as_deref(), Some("people"));
    assert!(grid.cell("champions").is_none());

    // One more condition makes a segment no cell.
    let file = project.join("segment-defs/rfm_grid.yml");
    let text = std::fs::read_to_string(&file).unwrap();
    let narrowed = text.replace(
        "{ frequency_score: { eq: 2 } } ] }",
        "{ frequency_score: { eq: 2 } }, { monetary_score: { gte: 1 } } ] }",
    );
    assert_ne!(narrowed, text);
    std::fs::write(&file, narrowed).unwrap();
    let grid = segc::report::QuintileGrid::find(&segc::load_project(&project).unwrap()).unwrap();
    assert_eq!(grid.cells.len(), 20);
    assert!(grid.cell("rfm_r4_f2").is_none());

    std::fs::remove_file(&file).unwrap();
    assert_eq!(
        segc::report::QuintileGrid::find(&segc::load_project(&project).unwrap()),
        None
    );
}
