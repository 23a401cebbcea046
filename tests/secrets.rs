//! No secret of profiles.yml is ever printed: every way of writing a profile wrong (or right),
//! for every target type, through every command that reads profiles.yml, with servers that
//! refuse connections so the error paths run too.

mod common;

use std::path::Path;
use std::process::Output;

/// What a command should make of a profile.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// A diagnostic at `profiles.yml:line:col` (any line when `None`), saying `says`.
    Diagnostic {
        line: Option<usize>,
        says: &'static str,
    },
    /// A usable profile: listed, compiled, and refused by the closed port when connecting.
    Connects,
}

/// A target type, its settings pointing at a closed port, and its secret setting (`None`
/// when it takes none: every secret is then an unknown key).
struct TargetType {
    kind: &'static str,
    settings: &'static [(&'static str, &'static str)],
    secret_key: Option<&'static str>,
}

/// Port 9 (discard) on loopback refuses connections.
fn target_types() -> Vec<TargetType> {
    let mut types = vec![
        TargetType {
            kind: "postgres",
            settings: &[
                ("host", "127.0.0.1"),
                ("port", "9"),
                ("user", "u"),
                ("sslmode", "disable"),
                ("connect_timeout", "2"),
            ],
            secret_key: Some("password"),
        },
        TargetType {
            kind: "redshift",
            settings: &[
                ("host", "127.0.0.1"),
                ("port", "9"),
                ("user", "u"),
                ("connect_timeout", "2"),
            ],
            secret_key: Some("password"),
        },
        TargetType {
            kind: "bigquery",
            settings: &[("project", "p"), ("endpoint", "\"http://127.0.0.1:9\"")],
            secret_key: Some("access_token"),
        },
        TargetType {
            kind: "sqlserver",
            settings: &[
                ("host", "127.0.0.1"),
                ("port", "9"),
                ("user", "u"),
                ("connect_timeout", "2"),
            ],
            secret_key: Some("password"),
        },
    ];
    if cfg!(feature = "duckdb") {
        types.push(TargetType {
            kind: "duckdb",
            settings: &[("path", "missing.duckdb")],
            secret_key: None,
        });
    }
    types
}

/// One way of writing target `t`: its profiles.yml text and what to expect.
struct Shape {
    name: &'static str,
    text: String,
    expect: Expect,
}

type Settings = Vec<(String, String)>;

/// Target `t` on one line: `t: { key: value, … }`.
fn flow_of(settings: Settings) -> String {
    let pairs: Vec<String> = settings.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    format!("t: {{ {} }}\n", pairs.join(", "))
}

/// Target `t` as a block mapping, one setting per line from line 2.
fn block_of(settings: Settings) -> String {
    let pairs: Vec<String> = settings
        .iter()
        .map(|(k, v)| format!("  {k}: {v}\n"))
        .collect();
    format!("t:\n{}", pairs.concat())
}

/// Every shape for one target type, each with its own secret so a leak names its shape.
fn shapes(target: &TargetType) -> Vec<(Shape, String)> {
    let key = target.secret_key.unwrap_or("password");
    // `type`, the type's settings, then `extra`.
    let typed = |extra: &[(&str, String)]| -> Settings {
        let mut settings = vec![("type".to_string(), target.kind.to_string())];
        settings.extend(
            target
                .settings
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        settings.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
        settings
    };
    // A usable profile, or an unknown key where the type takes no such setting.
    let usable_unless = |takes: bool, setting: &'static str| {
        if takes {
            Expect::Connects
        } else {
            Expect::Diagnostic {
                line: None,
                says: setting,
            }
        }
    };
    let takes_secret = target.secret_key.is_some();
    let mut cases = Vec::new();
    let mut add = |name: &'static str, make: &dyn Fn(&str) -> String, expect: Expect| {
        let secret = format!("Zq{}-S3cret-{}", cases.len(), target.kind);
        cases.push((
            Shape {
                name,
                text: make(&secret),
                expect,
            },
            secret,
        ));
    };
    add(
        "missing type",
        &|s| {
            let mut settings = typed(&[(key, format!("\"{s}\""))]);
            settings.remove(0);
            flow_of(settings)
        },
        Expect::Diagnostic {
            line: Some(1),
            says: "has no `type`",
        },
    );
    add(
        "missing type, block mapping",
        &|s| {
            let mut settings = typed(&[(key, s.to_string())]);
            settings.remove(0);
            block_of(settings)
        },
        Expect::Diagnostic {
            line: Some(2),
            says: "has no `type`",
        },
    );
    add(
        "unclosed quote on the password line",
        &|s| flow_of(typed(&[(key, format!("\"{s} "))])),
        Expect::Diagnostic {
            line: Some(1),
            says: "invalid YAML",
        },
    );
    add(
        "unclosed quote on the password line, block mapping",
        &|s| {
            let mut text = block_of(typed(&[(key, format!("\"{s}"))]));
            text.push_str("other:\n  type: postgres\n");
            text
        },
        Expect::Diagnostic {
            line: None,
            says: "invalid YAML",
        },
    );
    add(
        "template statement unquoted",
        &|s| flow_of(typed(&[(key, format!("{{%{s}"))])),
        Expect::Diagnostic {
            line: Some(1),
            says: "invalid YAML",
        },
    );
    add(
        "a colon inside the password",
        &|s| flow_of(typed(&[(key, format!("{s}: x"))])),
        Expect::Diagnostic {
            line: Some(1),
            says: "invalid YAML",
        },
    );
    add(
        "list value",
        &|s| flow_of(typed(&[(key, format!("[{s}]"))])),
        Expect::Diagnostic {
            line: Some(1),
            says: "must be a single value",
        },
    );
    add(
        "list value, block mapping",
        &|s| block_of(typed(&[(key, format!("\n    - {s}"))])),
        Expect::Diagnostic {
            line: None,
            says: "must be a single value",
        },
    );
    add(
        "misspelled key",
        &|s| flow_of(typed(&[("pasword", format!("\"{s}\""))])),
        Expect::Diagnostic {
            line: Some(1),
            says: "unknown key `pasword`",
        },
    );
    add(
        "upper-case key",
        &|s| block_of(typed(&[("PASSWORD", s.to_string())])),
        Expect::Diagnostic {
            line: Some(target.settings.len() + 3),
            says: "unknown key `PASSWORD`",
        },
    );
    add(
        "passwd",
        &|s| flow_of(typed(&[("passwd", s.to_string())])),
        Expect::Diagnostic {
            line: Some(1),
            says: "unknown key `passwd`",
        },
    );
    add(
        "{% in the password",
        &|s| flow_of(typed(&[(key, format!("\"ab{{%{s}%}}\""))])),
        usable_unless(takes_secret, "unknown key"),
    );
    add(
        "{{ in the password",
        &|s| flow_of(typed(&[(key, format!("\"{{{{ {s} }}}}\""))])),
        Expect::Diagnostic {
            line: Some(1),
            says: "must start `{{ env_var('NAME') }}`",
        },
    );
    add(
        "options with a password",
        &|s| flow_of(typed(&[("options", format!("\"-c password={s}\""))])),
        usable_unless(
            matches!(target.kind, "postgres" | "redshift"),
            "unknown key `options`",
        ),
    );
    add(
        "connection_string with Password=",
        &|s| {
            flow_of(vec![
                ("type".into(), target.kind.into()),
                (
                    "connection_string".into(),
                    format!("\"Server=tcp:127.0.0.1,9;User Id=u;Password={s};Encrypt=false\""),
                ),
            ])
        },
        usable_unless(
            target.kind == "sqlserver",
            "unknown key `connection_string`",
        ),
    );
    add(
        "one-line flow mapping",
        &|s| flow_of(typed(&[(key, format!("'{s}'"))])),
        usable_unless(takes_secret, "unknown key"),
    );
    add(
        "block mapping",
        &|s| block_of(typed(&[(key, s.to_string())])),
        usable_unless(takes_secret, "unknown key"),
    );
    add(
        "block scalar",
        // `|-`: a token with a trailing newline is no valid HTTP header.
        &|s| block_of(typed(&[(key, format!("|-\n    {s}"))])),
        usable_unless(takes_secret, "unknown key"),
    );
    cases
}

fn segc(project: &Path, args: &[&str]) -> Output {
    common::segc_in(project, args)
}

/// Whether `text` names `profiles.yml:line:col` (any line when `line` is `None`).
fn has_location(text: &str, line: Option<usize>) -> bool {
    text.match_indices("profiles.yml:").any(|(at, found)| {
        let rest = &text[at + found.len()..];
        let mut parts = rest.splitn(3, ':');
        let (Some(number), Some(column)) = (parts.next(), parts.next()) else {
            return false;
        };
        let column_digits = column.chars().take_while(char::is_ascii_digit).count();
        number.parse::<usize>().is_ok()
            && line.is_none_or(|line| number == line.to_string())
            && column_digits > 0
    })
}

/// Every command on every shape of every target type: the secret never appears, and each
/// outcome is the expected one. Cases run on a few threads: most of the time is spent
/// waiting for BigQuery's retries against the closed port.
#[test]
fn no_profile_secret_appears_in_any_output() {
    let types = target_types();
    let cases: Vec<(&TargetType, Shape, String)> = types
        .iter()
        .flat_map(|target| {
            shapes(target)
                .into_iter()
                .map(move |(shape, secret)| (target, shape, secret))
        })
        .collect();
    let queue = std::sync::Mutex::new(cases);
    std::thread::scope(|scope| {
        for _ in 0..6 {
            scope.spawn(|| {
                loop {
                    // Taken in its own statement, so the lock is not held while checking.
                    let next = queue.lock().unwrap().pop();
                    let Some((target, shape, secret)) = next else {
                        break;
                    };
                    check_shape(target, &shape, &secret);
                }
            });
        }
    });
}

fn check_shape(target: &TargetType, shape: &Shape, secret: &str) {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    common::copy_project(&common::repository_root(), &project, None);
    std::fs::write(project.join("profiles.yml"), &shape.text).unwrap();
    let commands: [&[&str]; 6] = [
        &["targets"],
        &["targets", "--check", "t"],
        &["compile", "--target", "t"],
        &["run", "--target", "t"],
        &["explain", "active", "--target", "t"],
        &["sources", "--refresh", "--target", "t"],
    ];
    for command in commands {
        let output = segc(&project, command);
        let text = common::output_text(&output);
        let what = format!(
            "{} ({}), `segc {}`, profiles.yml:\n{}\noutput:\n{text}",
            shape.name,
            target.kind,
            command.join(" "),
            shape.text
        );
        assert!(!text.contains(secret), "a secret was printed: {what}");
        assert!(!text.contains("no profiles.yml found"), "{what}");
        match shape.expect {
            Expect::Diagnostic { line, says } => {
                assert_eq!(output.status.code(), Some(1), "{what}");
                assert!(has_location(&text, line), "no location: {what}");
                assert!(text.contains(says), "expected `{says}`: {what}");
            }
            Expect::Connects => check_usable(command, &output, &text, &what),
        }
    }
}

/// A usable profile: listed with its secrets masked and compiled; every connection is
/// refused, and the failure names the target, the server and the cause.
fn check_usable(command: &[&str], output: &Output, text: &str, what: &str) {
    match command {
        ["targets"] => {
            assert!(output.status.success(), "{what}");
            assert!(text.contains("****"), "{what}");
        }
        ["compile", ..] => assert!(output.status.success(), "{what}"),
        _ => {
            assert_eq!(output.status.code(), Some(1), "{what}");
            assert!(text.contains("target `t`"), "{what}");
            assert!(text.contains("127.0.0.1:9"), "{what}");
            assert!(text.to_lowercase().contains("refused"), "{what}");
        }
    }
}

#[test]
fn connection_failures_name_the_server_and_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    common::copy_project(&common::repository_root(), &project, None);
    std::fs::write(
        project.join("profiles.yml"),
        "pg: { type: postgres, host: 127.0.0.1, port: 9, user: u, password: Zq-S3cret, sslmode: disable, connect_timeout: 2 }\n\
         ms: { type: sqlserver, host: 127.0.0.1, port: 9, user: u, password: Zq-S3cret }\n",
    )
    .unwrap();
    for (target, kind) in [("pg", "postgres"), ("ms", "sqlserver")] {
        let text = common::output_text(&segc(&project, &["targets", "--check", target]));
        assert!(
            text.contains(&format!("target `{target}` ({kind} at 127.0.0.1:9)"))
                && text.contains("refused")
                && text.contains("check `host`"),
            "{text}"
        );
        assert!(!text.contains("Zq-S3cret"), "{text}");
    }
}

/// Like ssh with a private key: a profiles.yml holding a written-out secret that others can
/// read is warned about, once, with what to do; a private one, or one reading its secrets
/// from the environment, is not.
#[cfg(unix)]
#[test]
fn a_readable_profiles_file_holding_a_secret_is_warned_about_once() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("profiles.yml");
    let mode = |mode: u32| {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    let targets = || segc(dir.path(), &["targets"]);
    std::fs::write(dir.path().join("segc_project.yml"), "name: t\n").unwrap();
    std::fs::write(
        &path,
        "a: { type: postgres, password: Zq-S3cret }\nb: { type: postgres, password: Zq-S3cret }\n",
    )
    .unwrap();
    mode(0o644);
    let output = targets();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(stderr.matches("warning:").count(), 1, "{stderr}");
    assert!(
        stderr.contains(&path.display().to_string())
            && stderr.contains("chmod 600")
            && stderr.contains("env_var"),
        "{stderr}"
    );
    mode(0o600);
    assert!(targets().stderr.is_empty());
    std::fs::write(
        &path,
        "a: { type: postgres, password: \"{{ env_var('SEGC_TEST_UNSET_PW', '') }}\", options: \"-c statement_timeout=1000\" }\n",
    )
    .unwrap();
    mode(0o644);
    let output = targets();
    assert!(output.stderr.is_empty(), "{}", common::output_text(&output));
}

/// Unknown keys are refused where they are written, with the setting they were probably
/// meant as; the quoted line shows the value masked and the underline under the key.
#[test]
fn unknown_keys_suggest_the_setting_meant_and_never_show_their_value() {
    let dir = tempfile::tempdir().unwrap();
    let text = "pg: { type: postgres, pasword: \"Zq-S3cret-1\", PASSWORD: Zq-S3cret-2, passwd: 'Zq-S3cret-3', host: h }\n\
                ok: { type: postgres, password: \"ab{%Zq-S3cret-4%}\" }\n";
    std::fs::write(dir.path().join("profiles.yml"), text).unwrap();
    let error = segc::spec::profiles::load_profile(Some(dir.path()), dir.path(), "pg")
        .unwrap_err()
        .to_string();
    assert!(!error.contains("Zq-S3cret"), "{error}");
    assert_eq!(
        error.matches("did you mean `password`?").count(),
        3,
        "{error}"
    );
    let line = "pg: { type: postgres, pasword: ****, PASSWORD: ****, passwd: ****, host: h }";
    let underline = format!("{}^^^^^^^^", " ".repeat(line.find("PASSWORD").unwrap()));
    assert!(
        error.contains(&format!("1 | {line}\n  | {underline}\n")),
        "{error}"
    );
    let column = text.find("PASSWORD").unwrap() + 1;
    assert!(
        error.contains(&format!("profiles.yml:1:{column}")),
        "{error}"
    );
    // `{%` is text, passed on as written.
    let profile = segc::spec::profiles::load_profile(Some(dir.path()), dir.path(), "ok").unwrap();
    assert_eq!(profile.field("password"), Some("ab{%Zq-S3cret-4%}"));
}

/// A DuckDB file from someone else reaches nothing outside itself: a view reading another file
/// (segc's environment, where a profile's password may be) fails without quoting it, and a
/// macro named as DuckDB's own function (which DuckDB would call instead of it) is refused
/// before any report.
#[cfg(feature = "duckdb")]
#[test]
fn a_duckdb_file_reads_no_other_file_and_replaces_no_function() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, "Secret-In-A-File-4242").unwrap();
    let data = dir.path().join("w.duckdb");
    let connection = duckdb::Connection::open(&data).unwrap();
    connection
        .execute_batch(&format!(
            "CREATE SCHEMA app;
             CREATE TABLE app.people (user_id INTEGER, created_at TIMESTAMP, name VARCHAR);
             INSERT INTO app.people VALUES (1, TIMESTAMP '2024-01-01', 'ann'), (2, TIMESTAMP '2024-01-02', 'bob');
             CREATE VIEW app.users AS SELECT user_id, created_at, name,
               (SELECT content FROM read_text('{}')) AS note FROM app.people;",
            secret.display()
        ))
        .unwrap();
    drop(connection);
    std::fs::write(
        dir.path().join("profiles.yml"),
        "local: { type: duckdb, path: w.duckdb }\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("segc_project.yml"),
        "name: hostile_file\nas_of: 2024-03-31\ndefault_target: local\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("segment-defs")).unwrap();
    let definitions = |kpis: &str| {
        std::fs::write(
            dir.path().join("segment-defs/defs.yml"),
            format!(
                "sources:\n  users: {{ table: app.users, key: user_id, columns: {{ signup_at: created_at, \
                 name: {{ column: name, type: string }}, note: {{ column: note, type: string }} }} }}\n\
                 segments:\n  - {{ name: zed, all: [ {{ name: {{ contains: zzz }} }} ] }}\n\
                 kpis:\n{kpis}"
            ),
        )
        .unwrap();
    };
    let run = || {
        let output = assert_cmd::Command::cargo_bin("segc")
            .unwrap()
            .args(["run", "-o", "json", "--project"])
            .arg(dir.path())
            .output()
            .unwrap();
        let results = std::fs::read_to_string(dir.path().join("target/run_results.json")).unwrap();
        (output.status.code(), common::output_text(&output), results)
    };

    definitions("  - { name: people, agg: count }\n  - { name: note, agg: max, of: note }\n");
    let (code, text, results) = run();
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("disabled by configuration"), "{text}");
    assert!(!text.contains("Secret-In-A-File") && !results.contains("Secret-In-A-File"));

    // With a view that reads nothing else, the file runs, and `contains` is DuckDB's own.
    let connection = duckdb::Connection::open(&data).unwrap();
    connection
        .execute_batch(
            "CREATE OR REPLACE VIEW app.users AS SELECT user_id, created_at, name, 'n' AS note
             FROM app.people;",
        )
        .unwrap();
    drop(connection);
    definitions("  - { name: people, agg: count }\n");
    let (code, text, _) = run();
    assert_eq!(code, Some(0), "{text}");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        common::json_row(&json, "zed").unwrap()["people"],
        0,
        "{text}"
    );

    let connection = duckdb::Connection::open(&data).unwrap();
    connection
        .execute_batch("CREATE MACRO main.strpos(a, b) AS 1;")
        .unwrap();
    drop(connection);
    let (code, text, _) = run();
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("defines a macro named as DuckDB's own function")
            && text.contains("main.strpos"),
        "{text}"
    );
}
