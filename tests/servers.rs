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

/// One HTTP request read from `reader`: its first line and its headers (names in lower
/// case), its body read and dropped; `None` once the connection ends.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(String, Vec<(String, String)>)> {
    let mut request = String::new();
    if reader.read_line(&mut request).unwrap_or(0) == 0 {
        return None;
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    let header = |wanted: &str| headers.iter().find(|(name, _)| name == wanted);
    let length = header("content-length").map_or(0, |(_, v)| v.parse().unwrap_or(0));
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((request, headers))
}

fn answer_with_echo(stream: TcpStream, minted: &str) {
    let mut reader = BufReader::new(stream);
    let Some((_, headers)) = read_request(&mut reader) else {
        return;
    };
    let authorization = headers
        .into_iter()
        .find(|(name, _)| name == "authorization")
        .map(|(_, value)| value)
        .unwrap_or_default();
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

/// PostgreSQL quotes a setting of `options` it refuses: `segc targets` masks `options`, and
/// every message masks its values, also one with an escaped space (`\ `, which PostgreSQL
/// quotes without the backslash) or written without `=`; a setting's name is shown, so that
/// the message says which one to fix.
#[test]
fn a_setting_of_options_the_server_refuses_is_named_and_its_value_masked() {
    if var("SEGC_TEST_POSTGRES").as_deref() != Some("1") {
        eprintln!("skipped: set SEGC_TEST_POSTGRES=1");
        return;
    }
    let host = var("SEGC_TEST_PG_HOST").unwrap_or("127.0.0.1".into());
    let port = var("SEGC_TEST_PG_PORT").unwrap_or("5432".into());
    let user = var("SEGC_TEST_PG_USER").unwrap_or("postgres".into());
    for (options, said, shown, hidden) in [
        (
            "-c zq_hidden_setting=Zq-Value-77",
            "unrecognized configuration parameter",
            "zq_hidden_setting",
            "Zq-Value",
        ),
        (
            "-c work_mem=Zq-Value-77\\\\ x",
            "invalid value for parameter",
            "work_mem",
            "Zq-Value",
        ),
        (
            "-cpassword:Zq-Value-77",
            "requires a value",
            "requires a value",
            "Zq-Value",
        ),
    ] {
        let dir = project(&format!(
            "pg: {{ type: postgres, host: {host}, port: {port}, user: {user}, password: \"{{{{ env_var('SEGC_TEST_PG_PASSWORD', '') }}}}\", database: postgres, sslmode: disable, options: \"{options}\" }}\n"
        ));
        for command in [
            &["targets", "--check", "pg"][..],
            &["--log-format", "json", "run", "--target", "pg"],
        ] {
            let output = segc(dir.path(), command);
            let text = common::output_text(&output);
            assert_eq!(output.status.code(), Some(1), "{text}");
            assert!(text.contains(said), "{options}: {text}");
            assert!(text.contains(shown), "{options}: {text}");
            assert!(!text.contains(hidden), "{options} {command:?}: {text}");
        }
        assert!(!run_results(dir.path()).contains(hidden), "{options}");
    }
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

/// A BigQuery endpoint that answers `jobs.query` with `first` and every `getQueryResults`
/// with `next` (`null`: never; `TOKEN_N` in either is made new for each request).
fn bigquery_server(first: serde_json::Value, next: serde_json::Value) -> u16 {
    bigquery_server_counting(first, next).0
}

/// [`bigquery_server`], and the count of requests it has read.
fn bigquery_server_counting(
    first: serde_json::Value,
    next: serde_json::Value,
) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = count.clone();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let text = |value: serde_json::Value| match value {
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    };
    let (first, next) = (text(first), text(next));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (first, next, counted) = (first.clone(), next.clone(), counted.clone());
            std::thread::spawn(move || answer_json(stream, &first, &next, &counted));
        }
    });
    (port, count)
}

/// Answers the requests of one connection: a POST with `first`, anything else with `next`.
fn answer_json(stream: TcpStream, first: &str, next: &str, count: &std::sync::atomic::AtomicUsize) {
    let mut reader = BufReader::new(stream);
    while let Some((request, _)) = read_request(&mut reader) {
        let made = count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let answer = if request.starts_with("POST") {
            first
        } else {
            next
        };
        if answer.is_empty() {
            // Never answered: the connection is held open.
            std::thread::sleep(Duration::from_secs(600));
            return;
        }
        // `TOKEN_N` becomes the request's number: a page token new each time.
        let answer = answer.replace("TOKEN_N", &format!("t{made}"));
        let stream = reader.get_mut();
        if write!(
            stream,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{answer}",
            answer.len()
        )
        .is_err()
        {
            return;
        }
    }
}

/// One page of a finished job: a column `x` of `kind`, the rows, and a page token.
fn page(kind: &str, rows: serde_json::Value, token: Option<&str>) -> serde_json::Value {
    let mut page = serde_json::json!({
        "kind": "bigquery#queryResponse",
        "jobReference": {"projectId": "p", "jobId": "job_1", "location": "US"},
        "jobComplete": true,
        "schema": {"fields": [{"name": "x", "type": kind, "mode": "NULLABLE"}]},
        "rows": rows,
        "totalRows": "1",
    });
    if let Some(token) = token {
        page["pageToken"] = token.into();
    }
    page
}

/// An endpoint that is not BigQuery, or not honest: one naming the same page of results
/// again and again (segc read it without end, its memory growing), and one sending a
/// number, a boolean or an object where BigQuery sends every value as a string (segc
/// printed them as they came). Both are refused, in bounded time.
/// `segc targets --check` of a BigQuery target at a fake endpoint answering `first` and
/// `next` (see [`bigquery_server`]), with `extra` arguments: its output, once it has failed
/// within 20 s.
fn check_fails_at(first: serde_json::Value, next: serde_json::Value, extra: &[&str]) -> String {
    let port = bigquery_server(first, next);
    let dir = project(&format!(
        "bq: {{ type: bigquery, project: p, endpoint: \"http://127.0.0.1:{port}\" }}\n"
    ));
    let mut args = vec!["targets", "--check", "bq"];
    args.extend_from_slice(extra);
    let started = Instant::now();
    let output = segc(dir.path(), &args);
    let text = common::output_text(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(started.elapsed() < Duration::from_secs(20), "{text}");
    text
}

#[test]
fn a_bigquery_endpoint_that_pages_without_end_or_sends_other_values_is_refused() {
    let rows = serde_json::json!([{"f": [{"v": "1"}]}]);
    let again = page("STRING", rows, Some("again"));
    let text = check_fails_at(again.clone(), again, &[]);
    assert!(
        text.contains("named the same page of results twice"),
        "{text}"
    );

    // Empty pages, each naming a new one.
    let empty = page("STRING", serde_json::json!([]), Some("TOKEN_N"));
    let text = check_fails_at(empty.clone(), empty, &[]);
    assert!(
        text.contains("100 pages of results in a row without a row"),
        "{text}"
    );

    for (value, shown) in [
        (serde_json::json!(3.7), "`3.7`"),
        (serde_json::json!(true), "`true`"),
        (serde_json::json!({"a": 1}), "`{\"a\":1}`"),
    ] {
        let rows = serde_json::json!([{"f": [{"v": value}]}]);
        let first = page("INTEGER", rows, None);
        let text = check_fails_at(first, page("INTEGER", serde_json::json!([]), None), &[]);
        assert!(
            text.contains(&format!("{shown} is not a value BigQuery sends")),
            "{text}"
        );
    }
}

/// A profile whose credentials would go over plain HTTP to another machine is refused
/// before anything is sent.
#[test]
fn credentials_are_not_sent_in_clear_to_another_machine() {
    let dir = project(
        "bq: { type: bigquery, project: p, access_token: \"Tok-In-Clear-77\", endpoint: \"http://192.0.2.2:9550\" }\n",
    );
    let started = Instant::now();
    let output = segc(dir.path(), &["run", "--target", "bq"]);
    let text = common::output_text(&output);
    assert_ne!(output.status.code(), Some(0), "{text}");
    assert!(
        text.contains("would carry the credentials unencrypted"),
        "{text}"
    );
    assert!(!text.contains("Tok-In-Clear-77"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(10), "{text}");
}

/// An answer larger than the driver's budget for rows is refused as its rows come, on the
/// real servers here (PostgreSQL and the BigQuery emulator), with the budget made small:
/// a server sending rows without end cannot make segc hold them all.
#[test]
fn rows_past_the_budget_are_refused_as_they_come() {
    let mut profiles = String::new();
    if var("SEGC_TEST_POSTGRES").as_deref() == Some("1") {
        profiles.push_str(&format!(
            "pg: {{ type: postgres, host: \"{}\", port: {}, user: \"{}\", password: \"{}\", database: postgres, sslmode: disable }}\n",
            var("SEGC_TEST_PG_HOST").unwrap_or("127.0.0.1".into()),
            var("SEGC_TEST_PG_PORT").unwrap_or("5432".into()),
            var("SEGC_TEST_PG_USER").unwrap_or("postgres".into()),
            var("SEGC_TEST_PG_PASSWORD").unwrap_or_default(),
        ));
    }
    if let Some(endpoint) = var("SEGC_TEST_BQ_ENDPOINT") {
        profiles.push_str(&format!(
            "bq: {{ type: bigquery, project: segc-test, endpoint: \"{endpoint}\" }}\n"
        ));
    }
    if profiles.is_empty() {
        eprintln!("skipped: no PostgreSQL or BigQuery emulator configured");
        return;
    }
    let dir = project(&profiles);
    for (target, many, few) in [
        (
            "pg",
            "SELECT g FROM generate_series(1, 5000000) AS g",
            "SELECT g FROM generate_series(1, 1000) AS g",
        ),
        (
            "bq",
            "SELECT x FROM UNNEST(GENERATE_ARRAY(1, 200000)) AS x",
            "SELECT x FROM UNNEST(GENERATE_ARRAY(1, 1000)) AS x",
        ),
    ] {
        if !profiles.contains(&format!("{target}:")) {
            continue;
        }
        let profile =
            segc::spec::profiles::load_profile(Some(dir.path()), dir.path(), target).unwrap();
        let options = segc::driver::RunOptions {
            max_result_bytes: 1 << 20,
            ..Default::default()
        };
        let mut driver = segc::driver::open(&profile, options, dir.path()).unwrap();
        // Within the budget, every row. (A table function is sent as a fixture's statement:
        // the gate admits only tables and subqueries in a report's reads.)
        assert_eq!(driver.set_up(few).unwrap().rows.len(), 1000, "{target}");
        let started = Instant::now();
        let error = driver.set_up(many).unwrap_err().to_string();
        assert!(
            error.contains("the answer holds more than 1 MiB of rows"),
            "{target}: {error}"
        );
        // The rows left unread are not waited for: the server was told to stop.
        assert_eq!(driver.set_up(few).unwrap().rows.len(), 1000, "{target}");
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{target}: {:?}",
            started.elapsed()
        );
    }
}

/// `segc targets --check` gives up at its `--timeout` when the warehouse takes the query and
/// never finishes it (it waited without end).
#[test]
fn a_check_of_a_target_ends_at_its_timeout() {
    let mut running = page("INTEGER", serde_json::json!([]), None);
    running["jobComplete"] = false.into();
    let text = check_fails_at(running, serde_json::Value::Null, &["--timeout", "2"]);
    assert!(text.contains("--timeout 2 s"), "{text}");
}

/// An endpoint that says at once, every time, that the job is still running is asked again
/// after a pause (it was asked about 44 times a second), until `--timeout`.
#[test]
fn a_job_said_to_be_running_at_once_is_polled_with_pauses() {
    let mut running = page("INTEGER", serde_json::json!([]), None);
    running["jobComplete"] = false.into();
    let (port, requests) = bigquery_server_counting(running.clone(), running);
    let dir = project(&format!(
        "bq: {{ type: bigquery, project: p, endpoint: \"http://127.0.0.1:{port}\" }}\n"
    ));
    let output = segc(dir.path(), &["targets", "--check", "bq", "--timeout", "3"]);
    let text = common::output_text(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("--timeout 3 s"), "{text}");
    // jobs.query, about one poll each half second, jobs.cancel.
    let made = requests.load(std::sync::atomic::Ordering::SeqCst);
    assert!((3..=10).contains(&made), "{made} requests: {text}");
}

/// An `https://` endpoint whose certificate no authority here signed fails at once: another
/// try would fail the same way (it was retried for 60 s).
#[test]
fn an_endpoint_certificate_that_does_not_verify_is_not_retried() {
    let dir = tempfile::tempdir().unwrap();
    let (key, certificate) = (dir.path().join("key.pem"), dir.path().join("cert.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&certificate)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !made.is_ok_and(|status| status.success()) {
        eprintln!("skipped: no openssl to make a certificate");
        return;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new("openssl")
        .args(["s_server", "-quiet", "-accept"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("-cert")
        .arg(&certificate)
        .arg("-key")
        .arg(&key)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Until it listens.
    let listening = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            listening.elapsed() < Duration::from_secs(10),
            "openssl s_server"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let project = project(&format!(
        "bq: {{ type: bigquery, project: p, endpoint: \"https://localhost:{port}\" }}\n"
    ));
    let started = Instant::now();
    let output = segc(project.path(), &["targets", "--check", "bq"]);
    let _ = server.kill();
    let _ = server.wait();
    let text = common::output_text(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("certificate is not trusted"), "{text}");
    assert!(!text.contains("retrying"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(15), "{text}");
}

/// A PostgreSQL server that lets a session open (no password asked, every simple query
/// answered, `SELECT pg_backend_pid()` answered with 4242) and then never answers the report,
/// nor closes a cancel request's connection: a session that stops answering after its
/// settings (`answer_pid` false) or a cancel that is never confirmed.
fn stalling_postgres(answer_pid: bool) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || stall_postgres_session(stream, answer_pid));
        }
    });
    port
}

fn stall_postgres_session(mut stream: TcpStream, answer_pid: bool) {
    fn message(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![kind];
        out.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        out.extend_from_slice(body);
        out
    }
    let ready = message(b'Z', b"I");
    let read_exact = |stream: &mut TcpStream, n: usize| -> Option<Vec<u8>> {
        let mut buffer = vec![0; n];
        stream.read_exact(&mut buffer).ok().map(|_| buffer)
    };
    // The start-up message: a length, a code, then parameters.
    let Some(length) = read_exact(&mut stream, 4) else {
        return;
    };
    let length = u32::from_be_bytes(length.try_into().unwrap()) as usize;
    let Some(start) = read_exact(&mut stream, length - 4) else {
        return;
    };
    if start[..4] == 80877102u32.to_be_bytes() {
        // A cancel request: taken, never answered, never closed.
        std::thread::sleep(Duration::from_secs(120));
        return;
    }
    let mut greeting = message(b'R', &0u32.to_be_bytes());
    let mut key = 4242u32.to_be_bytes().to_vec();
    key.extend_from_slice(&7u32.to_be_bytes());
    greeting.extend(message(b'K', &key));
    greeting.extend(&ready);
    stream.write_all(&greeting).unwrap();
    let mut answering = true;
    loop {
        let Some(head) = read_exact(&mut stream, 5) else {
            return;
        };
        let length = u32::from_be_bytes(head[1..5].try_into().unwrap()) as usize;
        let Some(body) = read_exact(&mut stream, length - 4) else {
            return;
        };
        let text = String::from_utf8_lossy(&body).to_string();
        let reply = match head[0] {
            b'Q' if answering => {
                let mut out = message(b'C', b"SET\0");
                out.extend(&ready);
                out
            }
            b'P' if answering && answer_pid && text.contains("pg_backend_pid") => {
                message(b'1', b"")
            }
            // Anything else parsed (the pid unanswered, or the report): silence from now on.
            b'P' => {
                answering = false;
                Vec::new()
            }
            b'D' if answering => {
                let mut out = message(b't', &0u16.to_be_bytes());
                let mut row = 1u16.to_be_bytes().to_vec();
                row.extend_from_slice(b"pg_backend_pid\0");
                row.extend_from_slice(&0u32.to_be_bytes()); // table
                row.extend_from_slice(&0u16.to_be_bytes()); // column
                row.extend_from_slice(&23u32.to_be_bytes()); // int4
                row.extend_from_slice(&4i16.to_be_bytes()); // size
                row.extend_from_slice(&(-1i32).to_be_bytes()); // modifier
                row.extend_from_slice(&0u16.to_be_bytes()); // format
                out.extend(message(b'T', &row));
                out
            }
            b'B' if answering => message(b'2', b""),
            b'E' if answering => {
                let mut row = 1u16.to_be_bytes().to_vec();
                row.extend_from_slice(&4u32.to_be_bytes());
                row.extend_from_slice(&4242i32.to_be_bytes());
                let mut out = message(b'D', &row);
                out.extend(message(b'C', b"SELECT 1\0"));
                out
            }
            b'C' if answering => message(b'3', b""),
            b'S' if answering => ready.clone(),
            b'X' => return,
            _ => Vec::new(),
        };
        if !reply.is_empty() && stream.write_all(&reply).is_err() {
            return;
        }
    }
}

/// `--timeout` and a signal end a PostgreSQL run whose server stops answering after the
/// session's settings (the wait for its process id is part of opening the session: the run
/// ended only at a second signal before), and one whose server stops answering a query and
/// never closes the cancel request's connection.
#[test]
fn a_postgres_server_that_stalls_after_the_settings_or_at_the_cancel_is_left() {
    let silent_after_settings = stalling_postgres(false);
    let never_cancels = stalling_postgres(true);
    let dir = project(&format!(
        "settings: {{ type: postgres, host: 127.0.0.1, port: {silent_after_settings}, user: u, password: p, database: d, sslmode: disable }}\n\
         cancel: {{ type: postgres, host: 127.0.0.1, port: {never_cancels}, user: u, password: p, database: d, sslmode: disable }}\n"
    ));
    let (code, text, took) = timed(
        dir.path(),
        &["run", "--target", "settings", "--timeout", "2"],
        None,
    );
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("no session within --timeout 2"), "{text}");
    assert!(took < Duration::from_secs(10), "took {took:?}: {text}");
    let (code, text, took) = timed(
        dir.path(),
        &["run", "--target", "settings"],
        Some(Duration::from_secs(2)),
    );
    assert_eq!(code, 143, "{text}");
    assert!(took < Duration::from_secs(10), "took {took:?}: {text}");

    let (code, text, took) = timed(
        dir.path(),
        &["run", "--target", "cancel", "--timeout", "2"],
        None,
    );
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("ran longer than --timeout 2 s"), "{text}");
    assert!(took < Duration::from_secs(10), "took {took:?}: {text}");
    let (code, text, took) = timed(
        dir.path(),
        &["run", "--target", "cancel"],
        Some(Duration::from_secs(2)),
    );
    assert_eq!(code, 143, "{text}");
    assert!(took < Duration::from_secs(10), "took {took:?}: {text}");
}
