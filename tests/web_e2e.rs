//! The web admin in a real browser (issue 6): starts the real binary with a copy of the test
//! PBX configuration (`tests/sipp/pbx`, web admin on 127.0.0.1:18080), reads the first-start
//! admin password from its log, and runs `node tests/e2e/run.mjs` — headless Chromium driven
//! by playwright-core, SIPp started by the script — which walks through the issue's scenario
//! (see the header of `run.mjs`). The test fails with the script's output and the PBX log.
//!
//! The configuration copy differs from the contract in three ways only: its extension range
//! stops at 1099, so extension 1500 is free to be created in the browser; CEL is on (the
//! call detail page's event timeline); and its dialplan is the copy's (the test tries to
//! save a broken one).
//!
//! A second test starts the binary with `[web] tls = true` and logs in over HTTPS with a
//! tokio-rustls client that trusts only the certificate generated in the data directory:
//! the session cookie is `Secure`, and plain HTTP on that port gets no HTTP answer.
//!
//! Needs: Debian `chromium` (or `E2E_CHROMIUM=<path>`), `npm ci --prefix tests/e2e`
//! (playwright-core), `node` ≥ 20 and `sipp`. A missing one is a failure that names the
//! install step, never a skip. `SCREENSHOTS=1` also writes `docs/screenshots/*.png`.
//!
//! Run: `cargo test --test web_e2e` (fixed ports: never at the same time as another PBX test
//! binary).

mod common;

use std::fs;
use std::io::Read;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, pbx_config_extra, Pbx, PBX_SIP};

/// The test PBX's web admin.
const WEB: &str = "127.0.0.1:18080";
/// How long the whole browser scenario may take (debug build, two SIPp calls, CDR writes).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(300);
/// How long the web admin may take to listen after SIP answers.
const WEB_READY_TIMEOUT: Duration = Duration::from_secs(10);

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The Chromium to drive: `E2E_CHROMIUM`, else Debian's `/usr/bin/chromium`.
fn chromium() -> PathBuf {
    let path = std::env::var_os("E2E_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.is_file(),
        "no Chromium at {}: apt-get install chromium (or set E2E_CHROMIUM)",
        path.display()
    );
    path
}

/// `tests/e2e`, checked to have playwright-core installed.
fn e2e_dir() -> PathBuf {
    let dir = manifest_dir().join("tests/e2e");
    assert!(
        dir.join("node_modules/playwright-core/package.json")
            .is_file(),
        "playwright-core is not installed: npm ci --prefix tests/e2e"
    );
    dir
}

/// An executable on PATH, or a failure naming its package.
fn on_path(name: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("{name} not found: apt-get install {package}"))
}

/// The test PBX configuration with the extension range cut to 1000-1099.
fn config() -> tempfile::TempDir {
    // CEL on: the call detail page shows the event timeline too.
    let dir = pbx_config_extra("# tests/web_e2e.rs\n[cdr]\ncel = true\n");
    let path = dir.path().join("sip-profiles/extensions.toml");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path:?}: {e}"));
    assert!(
        text.contains("to = \"1999\""),
        "unexpected {path:?}:\n{text}"
    );
    fs::write(&path, text.replace("to = \"1999\"", "to = \"1099\""))
        .unwrap_or_else(|e| panic!("write {path:?}: {e}"));
    dir
}

/// Waits (bounded) until the web admin accepts connections.
fn wait_for_web() {
    let deadline = Instant::now() + WEB_READY_TIMEOUT;
    while TcpStream::connect(WEB).is_err() {
        assert!(
            Instant::now() < deadline,
            "the web admin is not listening on {WEB}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
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

/// Runs `node run.mjs` with `envs`, killed after [`SCRIPT_TIMEOUT`]; (success, output).
fn run_script(dir: &Path, envs: &[(&str, String)]) -> (bool, String) {
    let out = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("temp file: {e}"));
    // One open file description for both streams: they append in order, never overwrite.
    let stdout = out
        .as_file()
        .try_clone()
        .unwrap_or_else(|e| panic!("clone: {e}"));
    let stderr = out
        .as_file()
        .try_clone()
        .unwrap_or_else(|e| panic!("clone: {e}"));
    let mut child = Command::new(on_path("node", "nodejs"))
        .arg("run.mjs")
        .current_dir(dir)
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run node: {e}"));
    let deadline = Instant::now() + SCRIPT_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(200)),
            Err(e) => panic!("cannot wait for node: {e}"),
        }
    };
    let mut output = String::new();
    out.reopen()
        .and_then(|mut f| f.read_to_string(&mut output))
        .unwrap_or_else(|e| panic!("read the script output: {e}"));
    match status {
        Some(status) => (status.success(), output),
        None => (
            false,
            format!("{output}\n(killed after {SCRIPT_TIMEOUT:?})"),
        ),
    }
}

#[test]
fn the_admin_ui_works_in_a_real_browser() {
    let chromium = chromium();
    let dir = e2e_dir();
    let sipp = on_path("sipp", "sip-tester");
    let mut pbx = Pbx::start_with(config());
    wait_for_web();
    let password = first_admin_password(&pbx.log());
    let artifacts = tempfile::Builder::new()
        .prefix("switchboard-e2e-")
        .tempdir()
        .unwrap_or_else(|e| panic!("tempdir: {e}"))
        .keep();
    let ports: Vec<String> = (0..8).map(|_| free_port().to_string()).collect();
    let mut envs = vec![
        ("E2E_BASE_URL", format!("http://{WEB}")),
        ("E2E_ADMIN_PASSWORD", password),
        ("E2E_CHROMIUM", chromium.display().to_string()),
        ("E2E_SIPP", sipp.display().to_string()),
        (
            "E2E_SIPP_DIR",
            manifest_dir().join("tests/sipp").display().to_string(),
        ),
        ("E2E_PBX_SIP", PBX_SIP.to_owned()),
        ("E2E_PORTS", ports.join(",")),
        ("E2E_ARTIFACTS", artifacts.display().to_string()),
    ];
    if std::env::var("SCREENSHOTS").is_ok_and(|v| v == "1") {
        let shots = manifest_dir().join("docs/screenshots");
        envs.push(("E2E_SCREENSHOTS", shots.display().to_string()));
    }
    let (ok, output) = run_script(&dir, &envs);
    assert!(
        ok,
        "the browser scenario failed (artifacts in {}):\n{output}",
        artifacts.display()
    );
    println!("{output}");
    let _ = fs::remove_dir_all(&artifacts);
    let status = pbx.terminate();
    assert!(status.success(), "switchboard exited with {status}");
}

/// One HTTPS request to the web admin with a client trusting only `<data>/tls/cert.pem`
/// (the certificate the PBX generated on first start); the whole answer.
fn https(data: &Path, request: &str) -> String {
    use rustls_pki_types::pem::PemObject as _;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut roots = rustls::RootCertStore::empty();
    let cert = data.join("tls/cert.pem");
    for c in rustls_pki_types::CertificateDer::pem_file_iter(&cert)
        .unwrap_or_else(|e| panic!("read {cert:?}: {e}"))
    {
        roots
            .add(c.unwrap_or_else(|e| panic!("pem {cert:?}: {e}")))
            .unwrap_or_else(|e| panic!("root: {e}"));
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap_or_else(|e| panic!("versions: {e}"))
    .with_root_certificates(roots)
    .with_no_client_auth();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    runtime.block_on(async {
        let tcp = tokio::net::TcpStream::connect(WEB)
            .await
            .unwrap_or_else(|e| panic!("connect {WEB}: {e}"));
        let name = rustls_pki_types::ServerName::try_from("127.0.0.1")
            .unwrap_or_else(|e| panic!("name: {e}"));
        let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
        let mut tls = tokio::time::timeout(Duration::from_secs(10), connector.connect(name, tcp))
            .await
            .unwrap_or_else(|_| panic!("TLS handshake timed out"))
            .unwrap_or_else(|e| panic!("TLS handshake: {e}"));
        tls.write_all(request.as_bytes())
            .await
            .unwrap_or_else(|e| panic!("write: {e}"));
        let mut answer = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut answer))
            .await
            .unwrap_or_else(|_| panic!("no answer in time"));
        if let Err(e) = read {
            // A close without close_notify after the whole answer is fine.
            assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof, "{e}");
        }
        String::from_utf8(answer).unwrap_or_else(|e| panic!("utf-8: {e}"))
    })
}

/// `[web] tls = true` without a certificate: the binary serves HTTPS with the self-signed
/// certificate of `<data>/tls/`, the first admin logs in, and the cookie is `Secure`.
#[test]
fn the_binary_serves_https_with_a_secure_session_cookie() {
    let mut pbx = Pbx::start_with(common::pbx_config_with("web", "tls", "true"));
    wait_for_web();
    let password = first_admin_password(&pbx.log());
    let body = format!(r#"{{"name":"admin","password":"{password}"}}"#);
    let login = format!(
        "POST /api/v1/login HTTP/1.1\r\nHost: {WEB}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let answer = https(pbx.data_dir(), &login);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let cookie = answer
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap_or_else(|| panic!("no cookie: {answer}"));
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(
        pbx.log().contains("scheme=\"https\"") || pbx.log().contains("scheme=https"),
        "no https listening line in the log"
    );
    // Plain HTTP on the same port gets no HTTP answer.
    let mut plain = TcpStream::connect(WEB).unwrap_or_else(|e| panic!("connect: {e}"));
    std::io::Write::write_all(&mut plain, b"GET /login HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap_or_else(|e| panic!("write: {e}"));
    plain
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap_or_else(|e| panic!("timeout: {e}"));
    let mut head = [0u8; 8];
    let n = plain.read(&mut head).unwrap_or(0);
    assert!(
        !head[..n].starts_with(b"HTTP/"),
        "plain HTTP answered over the TLS port"
    );
    let status = pbx.terminate();
    assert!(status.success(), "switchboard exited with {status}");
}
