//! Servers that misbehave, written here in a few lines each: one that repeats the request's
//! credentials in its error, and one that accepts a connection and never answers. segc masks
//! what the first says in every output, and gives up on the second within the limit it was
//! given (`connect_timeout`, `--timeout`, a signal) on every network driver.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The example project, with `profiles` as its profiles.yml.
fn project(profiles: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    common::copy_project(&common::repository_root(), dir.path(), None);
    std::fs::write(dir.path().join("profiles.yml"), profiles).unwrap();
    dir
}

fn segc(project: &Path, args: &[&str]) -> Output {
    common::segc_in(project, args)
}

/// A port on loopback where connections are accepted and then left unanswered, for as long
/// as the test runs.
fn silent_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    port
}

/// A BigQuery endpoint that answers every request with an error quoting the request's
/// `Authorization` header, and an access token of its own making (as a proxy or a
/// debugging gateway might).
fn echoing_server(minted: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || answer_with_echo(stream, minted));
        }
    });
    port
}

fn answer_with_echo(stream: TcpStream, minted: &str) {
    let mut reader = BufReader::new(stream);
    let mut authorization = String::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            match name.to_ascii_lowercase().as_str() {
                "authorization" => authorization = value.trim().to_string(),
                "content-length" => length = value.trim().parse().unwrap_or(0),
                _ => {}
            }
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    // The token again without `Bearer`, in the forms a server may quote it in.
    let token = authorization.trim_start_matches("Bearer ");
    let message = format!(
        "denied: request carried `{authorization}`; try {minted}; upper {}, lower {}",
        token.to_uppercase(),
        token.to_lowercase(),
    );
    let answer = serde_json::json!({
        "error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT",
                  "errors": [{"reason": "invalid", "message": message}]}
    })
    .to_string();
    let mut stream = reader.into_inner();
    let _ = write!(
        stream,
        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
        answer.len()
    );
}

/// What a run left in its `target/run_results.json`, or nothing.
fn run_results(project: &Path) -> String {
    std::fs::read_to_string(project.join("target/run_results.json")).unwrap_or_default()
}

#[test]
fn credentials_a_server_repeats_are_masked_in_every_output() {
    const TOKEN: &str = "Zq-Echoed-Token-77";
    const MINTED: &str = "Bearer ya29.Minted-Token_123abc";
    let port = echoing_server(MINTED);
    let dir = project(&format!(
        "bq: {{ type: bigquery, project: p, access_token: \"{TOKEN}\", endpoint: \"http://127.0.0.1:{port}\" }}\n"
    ));
    let commands: [&[&str]; 3] = [
        &["run", "--target", "bq"],
        &["targets", "--check", "bq"],
        &["--log-format", "json", "run", "--target", "bq"],
    ];
    for command in commands {
        let output = segc(dir.path(), command);
        let text = common::output_text(&output);
        assert_eq!(output.status.code(), Some(1), "{command:?}: {text}");
        // The server did say it, masked.
        assert!(
            text.contains("denied: request carried `Bearer ****`"),
            "{command:?}: {text}"
        );
        let upper = TOKEN.to_uppercase();
        let lower = TOKEN.to_lowercase();
        for secret in [TOKEN, "Minted-Token", &upper, &lower] {
            assert!(
                !text.contains(secret),
                "{command:?} printed {secret}: {text}"
            );
            let recorded = run_results(dir.path());
            assert!(
                !recorded.contains(secret),
                "run_results.json holds {secret}: {recorded}"
            );
        }
    }
    assert!(run_results(dir.path()).contains("Bearer ****"));
}

/// PostgreSQL quotes a setting of `options` it does not know: `segc targets` masks
/// `options`, and so does every message.
#[test]
fn a_setting_of_options_the_server_refuses_is_masked() {
    if var("SEGC_TEST_POSTGRES").as_deref() != Some("1") {
        eprintln!("skipped: set SEGC_TEST_POSTGRES=1");
        return;
    }
    let host = var("SEGC_TEST_PG_HOST").unwrap_or("127.0.0.1".into());
    let port = var("SEGC_TEST_PG_PORT").unwrap_or("5432".into());
    let user = var("SEGC_TEST_PG_USER").unwrap_or("postgres".into());
    let dir = project(&format!(
        "pg: {{ type: postgres, host: {host}, port: {port}, user: {user}, password: \"{{{{ env_var('SEGC_TEST_PG_PASSWORD', '') }}}}\", database: postgres, sslmode: disable, options: \"-c zq_hidden_setting=on\" }}\n"
    ));
    for command in [
        &["targets", "--check", "pg"][..],
        &["--log-format", "json", "run", "--target", "pg"],
    ] {
        let output = segc(dir.path(), command);
        let text = common::output_text(&output);
        assert_eq!(output.status.code(), Some(1), "{text}");
        assert!(
            text.contains("unrecognized configuration parameter"),
            "{text}"
        );
        assert!(!text.contains("zq_hidden"), "{command:?}: {text}");
    }
    assert!(!run_results(dir.path()).contains("zq_hidden"));
}

/// Runs segc in the background, returning its exit code, its output and how long it took;
/// after `signal_after`, sends it SIGTERM.
fn timed(project: &Path, args: &[&str], signal_after: Option<Duration>) -> (i32, String, Duration) {
    let started = Instant::now();
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("segc"))
        .arg("--project")
        .arg(project)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(after) = signal_after {
        std::thread::sleep(after);
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    }
    while started.elapsed() < Duration::from_secs(60) {
        if let Some(status) = child.try_wait().unwrap() {
            let mut text = String::new();
            child
                .stdout
                .take()
                .unwrap()
                .read_to_string(&mut text)
                .unwrap();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut text)
                .unwrap();
            return (status.code().unwrap_or(-1), text, started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("segc {args:?} still waited after 60 s");
}

#[test]
fn a_server_that_never_answers_is_given_up_on_within_the_limit() {
    let port = silent_server();
    let dir = project(&format!(
        "pg: {{ type: postgres, host: 127.0.0.1, port: {port}, user: u, password: p, database: d, sslmode: disable, connect_timeout: 2 }}\n\
         rs: {{ type: redshift, host: 127.0.0.1, port: {port}, user: u, password: p, database: d, connect_timeout: 2 }}\n\
         ms: {{ type: sqlserver, host: 127.0.0.1, port: {port}, user: u, password: p, connect_timeout: 2 }}\n\
         ms_default: {{ type: sqlserver, host: 127.0.0.1, port: {port}, user: u, password: p }}\n\
         bq: {{ type: bigquery, project: p, endpoint: \"http://127.0.0.1:{port}\" }}\n\
         pg_default: {{ type: postgres, host: 127.0.0.1, port: {port}, user: u, password: p, sslmode: disable }}\n\
         pg_bad: {{ type: postgres, host: 127.0.0.1, port: {port}, user: u, connect_timeout: soon }}\n"
    ));
    let limit = |seconds: u64| Duration::from_secs(seconds);
    // (target, arguments, what the message says, the longest it may take)
    let cases: [(&str, &[&str], &str, Duration); 7] = [
        (
            "pg",
            &["targets", "--check", "pg"],
            "no session within connect_timeout 2 s",
            limit(8),
        ),
        (
            "rs",
            &["run", "--target", "rs"],
            "no session within connect_timeout 2 s",
            limit(8),
        ),
        (
            "ms",
            &["targets", "--check", "ms"],
            "no session within connect_timeout 2 s",
            limit(8),
        ),
        (
            "pg_default",
            &["run", "--target", "pg_default", "--timeout", "1"],
            "no session within --timeout 1",
            limit(7),
        ),
        (
            "ms_default",
            &["run", "--target", "ms_default", "--timeout", "1"],
            "no session within --timeout 1",
            limit(7),
        ),
        (
            "bq",
            &["run", "--target", "bq", "--timeout", "1"],
            "ran longer than --timeout 1 s; BigQuery named no job",
            limit(12),
        ),
        (
            "pg_bad",
            &["targets", "--check", "pg_bad"],
            "`connect_timeout` must be a whole number of seconds",
            limit(5),
        ),
    ];
    for (target, args, says, longest) in cases {
        let (code, text, took) = timed(dir.path(), args, None);
        assert_eq!(code, 1, "{target}: {text}");
        assert!(text.contains(says), "{target}: expected `{says}`: {text}");
        assert!(took < longest, "{target}: took {took:?}: {text}");
        assert!(!text.contains("soon"), "{target}: {text}");
    }
    // A signal stops the wait for BigQuery's first answer too.
    let (code, text, took) = timed(dir.path(), &["run", "--target", "bq"], Some(limit(1)));
    assert_eq!(code, 143, "{text}");
    assert!(text.contains("BigQuery named no job"), "{text}");
    assert!(took < limit(12), "took {took:?}: {text}");
    // The label named is the label sent: BigQuery's labels are lower case (the run id's `T`
    // and `Z` are not).
    let label = text
        .split("label segc_run=")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap_or_else(|| panic!("no label in: {text}"));
    assert!(
        label.len() > 16
            && label
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_'),
        "the label as BigQuery holds it: {label}"
    );
}
