//! The web admin served by the real binary (issue 6, first part): the test PBX listens on
//! `127.0.0.1:18080`; on its first start it creates account `admin` with a random password
//! printed once to the log; that password logs in over HTTP and the session cookie opens
//! `/api/v1/status`, which answers 401 without it.
//!
//! Plain HTTP/1.1 over a `TcpStream` (no client library). Run: `cargo test --test web_live`
//! (fixed ports: never at the same time as another PBX test binary).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::Pbx;

/// The test PBX's web admin.
const WEB: &str = "127.0.0.1:18080";

/// Connects to the web admin, waiting (bounded) for it to listen: the PBX counts as started
/// when SIP answers, and the web server binds just after.
fn connect() -> TcpStream {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match TcpStream::connect(WEB) {
            Ok(stream) => return stream,
            Err(e) if Instant::now() > deadline => panic!("connect {WEB}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// One request with `Connection: close`; returns (status, headers, body).
fn http(method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String, String) {
    let mut stream = connect();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap_or_else(|e| panic!("timeout: {e}"));
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {WEB}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream
        .write_all(request.as_bytes())
        .unwrap_or_else(|e| panic!("send: {e}"));
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .unwrap_or_else(|e| panic!("read: {e}"));
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head}"));
    (status, head.to_owned(), body.to_owned())
}

/// The first-start password from the PBX's log (`password=...` on the WARN line).
fn first_admin_password(log: &str) -> String {
    let line = log
        .lines()
        .find(|l| l.contains("web admin account created"))
        .unwrap_or_else(|| panic!("no first-admin line in the log:\n{log}"));
    let (_, rest) = line
        .split_once("password=")
        .unwrap_or_else(|| panic!("no password in {line}"));
    rest.split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn first_admin_logs_in_and_reads_the_status() {
    let mut pbx = Pbx::start_default();
    let (status, _, body) = http("GET", "/api/v1/status", &[], "");
    assert_eq!(status, 401, "{body}");
    let password = first_admin_password(&pbx.log());
    assert!(password.len() >= 16, "{password}");
    let login = format!(r#"{{"name":"admin","password":"{password}"}}"#);
    let (status, head, body) = http(
        "POST",
        "/api/v1/login",
        &[("Content-Type", "application/json")],
        &login,
    );
    assert_eq!(status, 200, "{head}\n{body}");
    let cookie = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or(l.strip_prefix("Set-Cookie: "))
        })
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| panic!("no session cookie: {head}"))
        .to_owned();
    assert!(cookie.starts_with("sb_session="), "{cookie}");
    let (status, _, body) = http("GET", "/api/v1/status", &[("Cookie", &cookie)], "");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"version\""), "{body}");
    let status = pbx.terminate();
    assert!(status.success(), "switchboard exited with {status}");
}
