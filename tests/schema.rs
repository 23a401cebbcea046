//! `segc schema` checked by an independent validator: Python's `jsonschema` (with PyYAML to
//! read the YAML) accepts every valid project file of the repository, the starter and the demo
//! `segc init` writes, and rejects a misspelt key. Runs when `SEGC_TEST_SCHEMA_PYTHON` names a
//! Python that has both packages; `scripts/test.sh` installs them and sets it.

mod common;

use std::path::{Path, PathBuf};

fn python() -> Option<String> {
    match std::env::var("SEGC_TEST_SCHEMA_PYTHON") {
        Ok(python) if !python.is_empty() => Some(python),
        _ => {
            eprintln!(
                "skipped: set SEGC_TEST_SCHEMA_PYTHON to a Python with jsonschema and PyYAML"
            );
            None
        }
    }
}

fn segc() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("segc").unwrap()
}

/// The schema `segc schema` prints, written to `dir`.
fn schema_file(dir: &Path) -> PathBuf {
    let output = segc().arg("schema").output().unwrap();
    assert!(output.status.success());
    let path = dir.join("schema.json");
    std::fs::write(&path, output.stdout).unwrap();
    path
}

/// Runs the validator over `files`: its exit status and what it printed.
fn check(python: &str, schema: &Path, files: &[PathBuf]) -> (bool, String) {
    let output = std::process::Command::new(python)
        .arg(common::repository_root().join("scripts/check_schema.py"))
        .arg(schema)
        .args(files)
        .output()
        .unwrap();
    let text = common::output_text(&output);
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "the validator failed to run: {text}"
    );
    (output.status.success(), text)
}

/// `segc_project.yml` and the definitions files of a project folder.
fn project_files(root: &Path) -> Vec<PathBuf> {
    let mut files = vec![root.join("segc_project.yml")];
    let mut definitions: Vec<PathBuf> = std::fs::read_dir(root.join("segment-defs"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "yml"))
        .collect();
    definitions.sort();
    files.extend(definitions);
    files
}

#[test]
fn every_valid_project_file_passes_the_schema() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let schema = schema_file(dir.path());
    let root = common::repository_root();
    let mut files = project_files(&root);
    files.extend(project_files(&common::fixture("core")));
    files.push(common::fixture("ordered").join("ordered.yml"));
    files.push(common::fixture("padding").join("padding.yml"));
    for (name, args) in [("starter", vec![]), ("demo", vec!["--demo"])] {
        let project = dir.path().join(name);
        segc()
            .arg("init")
            .args(&args)
            .arg(&project)
            .assert()
            .success();
        files.extend(project_files(&project));
    }
    // Each of them is valid for segc itself too (the fixtures' extra files with their base).
    for project in [
        root.clone(),
        dir.path().join("starter"),
        dir.path().join("demo"),
    ] {
        segc()
            .args(["validate", "--project"])
            .arg(&project)
            .assert()
            .success();
    }
    let (valid, text) = check(&python, &schema, &files);
    assert!(valid, "{text}");
    assert_eq!(text.matches(": valid\n").count(), files.len(), "{text}");
}

#[test]
fn the_schema_rejects_misspelt_keys() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let schema = schema_file(dir.path());
    let root = common::repository_root();
    let cases = [
        (
            "segment-defs/segments.yml",
            "\nsegments:",
            "\nsegmnts:",
            "segmnts",
        ),
        (
            "segment-defs/attributes.yml",
            "window: 30d",
            "windw: 30d",
            "windw",
        ),
        ("segment-defs/kpis.yml", "agg: count,", "agg: cnt,", "cnt"),
        (
            "segment-defs/segments.yml",
            "{ gte: 20 }",
            "{ gtee: 20 }",
            "gtee",
        ),
        ("segc_project.yml", "time_zone:", "timezone:", "timezone"),
        // A window mapping needs `last` (segc validate says so too).
        (
            "segment-defs/attributes.yml",
            "{ last: 30d, offset: 30d }",
            "{ offset: 30d }",
            "last",
        ),
    ];
    for (index, (file, from, to, named)) in cases.iter().enumerate() {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        assert!(text.contains(from), "{file} holds {from}");
        let broken = dir.path().join(format!("broken{index}.yml"));
        std::fs::write(&broken, text.replacen(from, to, 1)).unwrap();
        let (valid, output) = check(&python, &schema, &[broken]);
        assert!(!valid, "{file} with {to}: {output}");
        assert!(output.contains(": invalid\n"), "{output}");
        assert!(
            output.contains(named),
            "the problem names `{named}`: {output}"
        );
    }
}
