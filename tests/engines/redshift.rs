//! Redshift's SQL on the PostgreSQL test server. Both speak the same protocol and nearly the
//! same SQL; the one spelling of segc's Redshift statements that PostgreSQL cannot parse is
//! Redshift's `COLLATE(value, 'case_sensitive')` function (COLLATE is a reserved word there).
//! The Redshift targets of the tests therefore connect through this relay, which passes
//! every byte through except the statements' text, where each such call becomes PostgreSQL's
//! `((value) COLLATE "C")`: the same value, compared by code point whatever collation the
//! value had. Any other use of the function is left as it is, for the server to refuse.
//!
//! The relay answers a TLS request with "no" (the Redshift targets of the tests use
//! `sslmode: prefer`), then reads the client's messages one by one and rewrites the SQL of
//! simple queries (`Q`) and of prepared statements (`P`). The server's side is copied as is.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::OnceLock;
use std::thread;

/// The port of this process's relay to the PostgreSQL test server (started at the first call).
pub fn port() -> u16 {
    static PORT: OnceLock<u16> = OnceLock::new();
    *PORT.get_or_init(|| {
        let host = super::var("SEGC_TEST_PG_HOST").unwrap_or_else(|| "127.0.0.1".into());
        let port = super::var("SEGC_TEST_PG_PORT").unwrap_or_else(|| "5432".into());
        let upstream = format!("{host}:{port}");
        let listener = TcpListener::bind("127.0.0.1:0").expect("a local port for the relay");
        let port = listener.local_addr().unwrap().port();
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let upstream = upstream.clone();
                thread::spawn(move || {
                    if let Ok(server) = TcpStream::connect(&upstream) {
                        let _ = relay(client, server);
                    }
                });
            }
        });
        port
    })
}

/// A profile's connection settings (`host: …, port: …, …`, as the tests write them for the
/// PostgreSQL server) with the port of the relay instead.
pub fn common_settings(settings: &str) -> String {
    let start = settings.find("port: ").expect("a port setting");
    let value = start + "port: ".len();
    // The value is a number or a quoted template (`"{{ env_var('…', '5432') }}"`).
    let end = match settings[value..].strip_prefix('"') {
        Some(rest) => value + 2 + rest.find('"').expect("a closing quote"),
        None => {
            value
                + settings[value..]
                    .find([',', ' ', '}'])
                    .unwrap_or(settings.len() - value)
        }
    };
    format!("{}port: {}{}", &settings[..start], port(), &settings[end..])
}

const SSL_REQUEST: u32 = 80_877_103;
const GSS_REQUEST: u32 = 80_877_104;

fn relay(mut client: TcpStream, mut server: TcpStream) -> std::io::Result<()> {
    // The start-up packets have no type byte: a TLS or GSS request is refused, the start-up
    // message (or a cancel request) goes on.
    loop {
        let packet = read_untyped(&mut client)?;
        let code = u32::from_be_bytes(packet[4..8].try_into().unwrap());
        if packet.len() == 8 && (code == SSL_REQUEST || code == GSS_REQUEST) {
            client.write_all(b"N")?;
            continue;
        }
        server.write_all(&packet)?;
        break;
    }
    let mut from_server = server.try_clone()?;
    let mut to_client = client.try_clone()?;
    thread::spawn(move || {
        let _ = std::io::copy(&mut from_server, &mut to_client);
        let _ = to_client.shutdown(std::net::Shutdown::Both);
    });
    loop {
        let mut head = [0u8; 5];
        if client.read_exact(&mut head).is_err() {
            let _ = server.shutdown(std::net::Shutdown::Both);
            return Ok(());
        }
        let length = u32::from_be_bytes(head[1..5].try_into().unwrap()) as usize;
        let mut body = vec![0u8; length.saturating_sub(4)];
        client.read_exact(&mut body)?;
        let body = match head[0] {
            b'Q' => rewrite_cstrings(&body, 0),
            // Parse: the statement's name, then its text, then the parameters' types.
            b'P' => rewrite_cstrings(&body, 1),
            _ => body,
        };
        let mut message = vec![head[0]];
        message.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        message.extend_from_slice(&body);
        server.write_all(&message)?;
    }
}

fn read_untyped(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut length = [0u8; 4];
    stream.read_exact(&mut length)?;
    let total = u32::from_be_bytes(length) as usize;
    let mut packet = length.to_vec();
    packet.resize(total.max(8), 0);
    stream.read_exact(&mut packet[4..])?;
    Ok(packet)
}

/// `body` with its C string number `index` (counting from 0) rewritten as SQL.
fn rewrite_cstrings(body: &[u8], index: usize) -> Vec<u8> {
    let mut start = 0;
    for _ in 0..index {
        start += body[start..].iter().position(|&b| b == 0).unwrap() + 1;
    }
    let end = start + body[start..].iter().position(|&b| b == 0).unwrap();
    let sql = std::str::from_utf8(&body[start..end]).expect("statements are UTF-8");
    let mut out = body[..start].to_vec();
    out.extend_from_slice(to_postgres(sql).as_bytes());
    out.extend_from_slice(&body[end..]);
    out
}

/// `sql` with every `COLLATE(value, 'case_sensitive')` (or `'cs'`) written as
/// `((value) COLLATE "C")`.
pub fn to_postgres(sql: &str) -> String {
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut at = 0;
    while at < bytes.len() {
        let next = skip_token(bytes, at);
        let word = &sql[at..next];
        if word.eq_ignore_ascii_case("collate")
            && let Some(open) = following_parenthesis(bytes, next)
            && let Some((arguments, close)) = arguments(bytes, open)
            && let [value, collation] = arguments.as_slice()
            && matches!(
                sql[collation.0..collation.1]
                    .trim()
                    .to_ascii_lowercase()
                    .as_str(),
                "'case_sensitive'" | "'cs'"
            )
        {
            out.push_str("((");
            out.push_str(&to_postgres(&sql[value.0..value.1]));
            out.push_str(") COLLATE \"C\")");
            at = close + 1;
            continue;
        }
        out.push_str(word);
        at = next;
    }
    out
}

/// The end of the token starting at `at`: a string, quoted name, comment, word or one byte.
fn skip_token(bytes: &[u8], at: usize) -> usize {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80;
    match bytes[at] {
        b'\'' => {
            let mut i = at + 1;
            while i < bytes.len() {
                match bytes[i] {
                    // The Redshift sessions read backslash escapes (standard_conforming_strings
                    // off), though segc writes a backslash as CHR(92).
                    b'\\' => i += 2,
                    b'\'' if bytes.get(i + 1) == Some(&b'\'') => i += 2,
                    b'\'' => return i + 1,
                    _ => i += 1,
                }
            }
            bytes.len()
        }
        b'"' => {
            let mut i = at + 1;
            while i < bytes.len() {
                if bytes[i] == b'"' {
                    if bytes.get(i + 1) == Some(&b'"') {
                        i += 2;
                        continue;
                    }
                    return i + 1;
                }
                i += 1;
            }
            bytes.len()
        }
        b'-' if bytes.get(at + 1) == Some(&b'-') => bytes[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |p| at + p + 1),
        b'/' if bytes.get(at + 1) == Some(&b'*') => {
            let mut i = at + 2;
            while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                i += 1;
            }
            (i + 2).min(bytes.len())
        }
        b if word(b) => {
            let mut i = at + 1;
            while i < bytes.len() && word(bytes[i]) {
                i += 1;
            }
            i
        }
        _ => at + 1,
    }
}

/// The position of a `(` after `at` and any white space, if that is what follows.
fn following_parenthesis(bytes: &[u8], mut at: usize) -> Option<usize> {
    while at < bytes.len() && bytes[at].is_ascii_whitespace() {
        at += 1;
    }
    (bytes.get(at) == Some(&b'(')).then_some(at)
}

/// The byte ranges of the arguments of the call whose `(` is at `open`, split at its own
/// commas, and the position of its `)`.
fn arguments(bytes: &[u8], open: usize) -> Option<(Vec<(usize, usize)>, usize)> {
    let mut depth = 0;
    let mut start = open + 1;
    let mut out = Vec::new();
    let mut at = open;
    while at < bytes.len() {
        match bytes[at] {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    out.push((start, at));
                    return Some((out, at));
                }
            }
            b',' if depth == 1 => {
                out.push((start, at));
                start = at + 1;
            }
            _ => {}
        }
        at = skip_token(bytes, at);
    }
    None
}

#[test]
fn the_relay_rewrites_only_the_collate_function() {
    assert_eq!(
        to_postgres(
            "SELECT COLLATE((\"a\" || CHR(1)), 'case_sensitive') = collate ( 'x,(' || CHR(1) , 'cs' ) -- COLLATE(b, 'cs')\n, 'COLLATE(c, ''cs'')'"
        ),
        "SELECT (((\"a\" || CHR(1))) COLLATE \"C\") = (( 'x,(' || CHR(1) ) COLLATE \"C\") -- COLLATE(b, 'cs')\n, 'COLLATE(c, ''cs'')'"
    );
    assert_eq!(
        to_postgres("POSITION(COLLATE(COLLATE(n, 'cs'), 'cs') IN h)"),
        "POSITION(((((n) COLLATE \"C\")) COLLATE \"C\") IN h)"
    );
    // Anything else is the server's to refuse.
    assert_eq!(
        to_postgres("COLLATE(x, 'case_insensitive')"),
        "COLLATE(x, 'case_insensitive')"
    );
    assert_eq!(to_postgres("x COLLATE \"C\""), "x COLLATE \"C\"");
}
