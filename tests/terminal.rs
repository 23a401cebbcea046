//! `segc run` in a real terminal: tmux panes 80 and 200 columns wide. No line may be wider
//! than the pane (`capture-pane -J` joins a line the terminal wrapped, so an overlong line
//! shows as one), and every value shown must be the one `--output json` reports.
//!
//! Skipped when tmux is missing, unless `SEGC_TEST_TMUX` is set (then tmux must be there).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value as Json;
use unicode_width::UnicodeWidthStr;

fn tmux_missing() -> bool {
    let found = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|output| output.status.success());
    if found {
        return false;
    }
    assert!(
        std::env::var_os("SEGC_TEST_TMUX").is_none(),
        "SEGC_TEST_TMUX is set, but tmux cannot be run"
    );
    eprintln!("skipped: tmux is not installed (set SEGC_TEST_TMUX to make this a failure)");
    true
}

/// A tmux server of its own (its own socket), killed when dropped.
struct Tmux {
    socket: String,
    /// Runs so far: each run gets a session of its own. Killing the last session to reuse
    /// its name would end the server, and a `new-session` right after could reach the
    /// server while it exits ("server exited unexpectedly").
    runs: std::cell::Cell<usize>,
}

impl Tmux {
    fn new(name: &str) -> Tmux {
        Tmux {
            socket: format!("segc-test-{}-{name}", std::process::id()),
            runs: std::cell::Cell::new(0),
        }
    }

    fn command(&self) -> Command {
        let mut command = Command::new("tmux");
        command.args(["-L", &self.socket, "-f", "/dev/null"]);
        command
    }

    /// Runs `segc run ARGS` on `project` in a detached pane `width` columns wide and returns
    /// what the pane shows, wrapped lines joined, once the command has ended.
    fn run(&self, dir: &Path, width: usize, project: &Path, args: &[&str]) -> String {
        let script = dir.join(format!(
            "run-{width}-{}.sh",
            args.join("_").replace(['/', ','], "-")
        ));
        let quoted: Vec<String> = args.iter().map(|arg| format!("'{arg}'")).collect();
        std::fs::write(
            &script,
            format!(
                "'{}' run --project '{}' {}\necho \"segc-exit=$?\"\nsleep 600\n",
                env!("CARGO_BIN_EXE_segc"),
                project.display(),
                quoted.join(" ")
            ),
        )
        .unwrap();
        self.runs.set(self.runs.get() + 1);
        let session = format!("run{}-w{width}", self.runs.get());
        let started = self
            .command()
            .args([
                "new-session",
                "-d",
                "-s",
                &session,
                "-x",
                &width.to_string(),
                "-y",
                "40",
            ])
            .arg(format!("sh '{}'", script.display()))
            .status()
            .unwrap();
        assert!(started.success(), "tmux new-session");
        // A guard against a hang, not a speed test: a month run that records its history
        // first can take minutes on a loaded machine.
        let deadline = Instant::now() + Duration::from_secs(900);
        loop {
            let captured = self
                .command()
                .args([
                    "capture-pane",
                    "-p",
                    "-J",
                    "-S",
                    "-",
                    "-E",
                    "-",
                    "-t",
                    &session,
                ])
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&captured.stdout).into_owned();
            if let Some(at) = text.find("segc-exit=") {
                assert!(
                    text[at..].starts_with("segc-exit=0"),
                    "segc run {args:?} failed:\n{text}"
                );
                return text[..at].to_string();
            }
            assert!(
                Instant::now() < deadline,
                "segc run {args:?} did not end:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.command().arg("kill-server").output();
    }
}

/// A table as printed: its header cells and its rows' cells, the label first.
#[derive(Debug)]
struct Shown {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

/// The tables of a pane's text, in order.
fn tables_in(text: &str) -> Vec<Shown> {
    let cells = |line: &str| -> Vec<String> {
        line.trim_matches('│')
            .split('┆')
            .map(|cell| cell.trim().trim_start_matches("└ ").to_string())
            .collect()
    };
    let mut found = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if !line.starts_with('┌') {
            continue;
        }
        let header = cells(lines.next().unwrap());
        let mut rows = Vec::new();
        for line in lines.by_ref() {
            if line.starts_with('└') {
                break;
            }
            if line.starts_with('│') {
                rows.push(cells(line));
            }
        }
        found.push(Shown { header, rows });
    }
    found
}

/// Whether `shown` is `label`, or its start cut with an ellipsis.
fn same_label(shown: &str, label: &str) -> bool {
    shown == label
        || shown
            .strip_suffix('…')
            .is_some_and(|start| label.starts_with(start))
}

/// A value as the table prints it, read back: `$1,234.50`, `43.9%` (0.439), `-8.6 pp`
/// (-0.086), `10,000`, `–` (none); with half a unit of its last digit.
fn read_shown(text: &str) -> Option<(f64, f64)> {
    if text == "–" {
        return None;
    }
    let (number, scale) = match (text.strip_suffix(" pp"), text.strip_suffix('%')) {
        (Some(points), _) => (points, 0.01),
        (None, Some(percent)) => (percent, 0.01),
        _ => (text, 1.0),
    };
    let number: String = number.chars().filter(|c| *c != ',' && *c != '$').collect();
    let decimals = number
        .split_once('.')
        .map_or(0, |(_, fraction)| fraction.len());
    let value: f64 = number
        .parse()
        .unwrap_or_else(|_| panic!("`{text}` is not a value"));
    Some((
        value * scale,
        0.5 * 10f64.powi(-(decimals as i32)) * scale + 1e-12,
    ))
}

fn assert_same(shown: &str, reported: &Json, what: &str) {
    match (read_shown(shown), reported.as_f64()) {
        (None, None) => {}
        (Some((value, tolerance)), Some(expected)) => assert!(
            (value - expected).abs() <= tolerance,
            "{what}: the table shows {shown}, JSON reports {expected}"
        ),
        _ => panic!("{what}: the table shows {shown}, JSON reports {reported}"),
    }
}

/// Checks a table against a report's JSON `columns` and `rows`: segment × KPI (`segment` in
/// the corner) or transposed (`transposed_corner`), columns cut from the right; returns how
/// many of the report's columns it shows.
fn check_table(table: &Shown, columns: &[Json], rows: &[Json], transposed_corner: &str) -> usize {
    let transposed = table.header[0] == transposed_corner;
    assert!(transposed || table.header[0] == "segment", "{table:?}");
    let (row_count, column_count) = if transposed {
        (table.header.len() - 1, table.rows.len())
    } else {
        (table.rows.len(), table.header.len() - 1)
    };
    assert_eq!(row_count, rows.len(), "every segment is shown: {table:?}");
    assert!(
        column_count >= 1 && column_count <= columns.len(),
        "{table:?}"
    );
    for (c, column) in columns.iter().take(column_count).enumerate() {
        let label = column["label"].as_str().unwrap();
        let shown_label = if transposed {
            &table.rows[c][0]
        } else {
            &table.header[c + 1]
        };
        assert!(
            same_label(shown_label, label),
            "column {c}: {shown_label} for {label}"
        );
        for (r, row) in rows.iter().enumerate() {
            let shown = if transposed {
                &table.rows[c][r + 1]
            } else {
                &table.rows[r][c + 1]
            };
            let name = column["name"].as_str().unwrap();
            assert_same(shown, &row[name], &format!("{} {name}", row["segment"]));
        }
    }
    column_count
}

fn assert_fits(text: &str, width: usize) {
    for line in text.lines() {
        assert!(
            line.width() <= width,
            "a line of {} columns in {width}:\n{line}\n\nin\n{text}",
            line.width()
        );
    }
}

struct Demo {
    dir: tempfile::TempDir,
    project: PathBuf,
}

fn demo() -> Demo {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("demo");
    let created = Command::new(env!("CARGO_BIN_EXE_segc"))
        .args(["init", "--demo"])
        .arg(&project)
        .output()
        .unwrap();
    assert!(created.status.success());
    Demo { dir, project }
}

/// The note under a table cut to fit: how many of how many are shown.
fn showing(text: &str) -> Option<(usize, usize)> {
    let note = text.split("Showing ").nth(1)?;
    let words: Vec<&str> = note.split_whitespace().collect();
    Some((words[0].parse().ok()?, words[2].parse().ok()?))
}

#[test]
fn the_report_fits_the_terminal_and_shows_the_reported_values() {
    if tmux_missing() {
        return;
    }
    let demo = demo();
    let json = common::run_json::<&str>(&demo.project, &[]);
    let (columns, rows) = (
        json["columns"].as_array().unwrap(),
        json["rows"].as_array().unwrap(),
    );
    let tmux = Tmux::new("plain");
    let mut shown_at = Vec::new();
    for width in [80, 200] {
        let text = tmux.run(demo.dir.path(), width, &demo.project, &[]);
        assert_fits(&text, width);
        assert!(text.starts_with("saas_demo as of "), "{text}");
        let tables = tables_in(&text);
        assert_eq!(tables.len(), 1, "{text}");
        let count = check_table(&tables[0], columns, rows, "KPI");
        // 41 KPIs fit neither 80 nor 200 columns: the first that fit, and a note.
        assert_eq!(showing(&text), Some((count, columns.len())), "{text}");
        assert!(
            text.contains("-k") && text.contains("--output html"),
            "{text}"
        );
        shown_at.push(count);
    }
    assert!(
        shown_at[0] < shown_at[1],
        "a wider terminal shows more KPIs: {shown_at:?}"
    );
    // KPIs chosen with -k, in the order given, fit 200 columns whole.
    let picked = ["revenue_30d", "people", "pct_active"];
    let json = common::run_json(&demo.project, &["-k", &picked.join(",")]);
    let text = tmux.run(
        demo.dir.path(),
        200,
        &demo.project,
        &["-k", &picked.join(",")],
    );
    assert_fits(&text, 200);
    assert!(showing(&text).is_none(), "{text}");
    let table = &tables_in(&text)[0];
    assert_eq!(table.header[0], "segment");
    let columns = json["columns"].as_array().unwrap();
    let names: Vec<&str> = columns
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, picked);
    assert_eq!(
        check_table(table, columns, json["rows"].as_array().unwrap(), "KPI"),
        3
    );
}

#[test]
fn a_compare_run_fits_the_terminal_and_labels_points() {
    if tmux_missing() {
        return;
    }
    let demo = demo();
    let args = [
        "--compare",
        "prior_year",
        "-s",
        "paying+",
        "-k",
        "people,pct_active,revenue_30d",
    ];
    let json = common::run_json(&demo.project, &args);
    let (columns, rows) = (
        json["columns"].as_array().unwrap(),
        json["rows"].as_array().unwrap(),
    );
    let tmux = Tmux::new("compare");
    for width in [80, 200] {
        let text = tmux.run(demo.dir.path(), width, &demo.project, &args);
        assert_fits(&text, width);
        let tables = tables_in(&text);
        assert_eq!(tables.len(), 1, "{text}");
        let count = check_table(&tables[0], columns, rows, "KPI");
        // A KPI is shown with all four of its columns, or not at all.
        assert_eq!(count % 4, 0, "{text}");
        match showing(&text) {
            Some((shown, total)) => assert_eq!((shown * 4, total), (count, 3), "{text}"),
            None => assert_eq!(count, 12, "{text}"),
        }
        if count >= 8 {
            // The share's change is in points; its relative change in percent.
            assert!(
                text.contains(" pp ") && text.contains("Δ % active (pp)"),
                "{text}"
            );
        }
    }
    let kinds: Vec<&str> = columns
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        &kinds[4..8],
        ["value", "prior", "change_points", "change_relative"]
    );
    assert_eq!(&kinds[..4], ["value", "prior", "change", "change_relative"]);
}

#[test]
fn a_month_run_fits_the_terminal_in_both_layouts() {
    if tmux_missing() {
        return;
    }
    let demo = demo();
    let months = [
        "--grain", "month", "--from", "2026-01", "--to", "2026-08", "-s", "paying+",
    ];
    let json = common::run_json(
        &demo.project,
        &[&months[..], &["-k", "people,pct_active"]].concat(),
    );
    let columns = json["columns"].as_array().unwrap();
    let periods = json["periods"].as_array().unwrap();
    let tmux = Tmux::new("months");
    for width in [80, 200] {
        let args = [
            &months[..],
            &["-k", "people,pct_active", "--layout", "wide"],
        ]
        .concat();
        let text = tmux.run(demo.dir.path(), width, &demo.project, &args);
        assert_fits(&text, width);
        let tables = tables_in(&text);
        assert_eq!(tables.len(), 2, "a block per KPI:\n{text}");
        for (table, column) in tables.iter().zip(columns) {
            // A KPI's block: segment × month, each month's value as JSON reports it.
            let name = column["name"].as_str().unwrap();
            let month_columns: Vec<Json> = periods
                .iter()
                .enumerate()
                .map(|(m, period)| {
                    serde_json::json!({ "name": format!("m{m}"), "label": period["period"] })
                })
                .collect();
            let rows: Vec<Json> = (0..periods[0]["rows"].as_array().unwrap().len())
                .map(|r| {
                    let mut row =
                        serde_json::json!({ "segment": periods[0]["rows"][r]["segment"] });
                    for (m, period) in periods.iter().enumerate() {
                        row[format!("m{m}")] = period["rows"][r][name].clone();
                    }
                    row
                })
                .collect();
            check_table(table, &month_columns, &rows, "month");
        }
        // The long layout: a table per month.
        let text = tmux.run(demo.dir.path(), width, &demo.project, &months);
        assert_fits(&text, width);
        let tables = tables_in(&text);
        assert_eq!(tables.len(), periods.len(), "{text}");
        let all = common::run_json(&demo.project, &months);
        for (table, period) in tables.iter().zip(all["periods"].as_array().unwrap()) {
            check_table(
                table,
                all["columns"].as_array().unwrap(),
                period["rows"].as_array().unwrap(),
                "KPI",
            );
        }
    }
}
