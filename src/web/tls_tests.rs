//! HTTPS over a real loopback socket: a tokio-rustls client trusting only the generated
//! certificate logs in and gets a `Secure` cookie while an idle client holds a connection
//! open; an idle client is dropped after the handshake timeout; bad setups are refused.

use std::time::Duration;

use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_rustls::TlsConnector;

use super::*;
use crate::config::WebSettings;
use crate::db::Db;
use crate::switch::call::CallRegistry;
use crate::web::{accounts, PasswordPolicy, Role};

const PASSWORD: &str = "https-test-password";

/// Options over a fresh database in `dir` (also the data directory) with admin `root`.
async fn options(dir: &Path) -> WebOptions {
    let db = Db::open(&dir.join("switchboard.db")).await.expect("db");
    let mut options = WebOptions::new(db, WebSettings::default(), CallRegistry::new(), None);
    options.passwords = PasswordPolicy::fast_for_tests();
    options.services.data_dir = Some(dir.to_path_buf());
    options
}

/// A client trusting exactly the certificate generated in `dir/tls/`.
fn client(dir: &Path) -> Arc<ClientConfig> {
    let (cert_path, _) = cert::default_paths(dir);
    let mut roots = rustls::RootCertStore::empty();
    use rustls_pki_types::pem::PemObject as _;
    for c in rustls_pki_types::CertificateDer::pem_file_iter(&cert_path).expect("cert file") {
        roots.add(c.expect("pem")).expect("root");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Arc::new(config)
}

/// One HTTP/1.1 request over TLS to `addr` (`Connection: close`); the whole answer.
async fn https(addr: SocketAddr, client: Arc<ClientConfig>, request: String) -> String {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let name = ServerName::try_from("localhost").expect("name");
    let mut tls = tokio::time::timeout(
        Duration::from_secs(10),
        TlsConnector::from(client).connect(name, tcp),
    )
    .await
    .expect("handshake in time")
    .expect("handshake");
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    tls.write_all(request.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut answer))
        .await
        .expect("answer in time");
    // A peer closing without close_notify still delivered the whole answer.
    if let Err(e) = read {
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{e}");
    }
    String::from_utf8(answer).expect("utf-8")
}

#[tokio::test]
async fn login_over_https_gives_a_secure_cookie_while_an_idle_client_waits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut options = options(dir.path()).await;
    let listen: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    let config = prepare(&mut options, listen, None, None).expect("tls config");
    assert!(options.secure_cookies);
    let state = WebState::new(options);
    accounts::set_password(
        state.store(),
        state.passwords(),
        "root",
        PASSWORD,
        Some(Role::Admin),
        0,
    )
    .await
    .expect("seed admin");
    let listener = TcpListener::bind(listen).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(serve_tls(state, listener, config, shutdown.clone()));

    // Connects and never says a word: must not hold up the next client.
    let _idle = TcpStream::connect(addr).await.expect("idle connect");
    let body = format!(r#"{{"name":"root","password":"{PASSWORD}"}}"#);
    let login = format!(
        "POST /api/v1/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let answer = https(addr, client(dir.path()), login).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let cookie_line = answer
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap_or_else(|| panic!("no cookie: {answer}"));
    assert!(cookie_line.contains("; Secure"), "{cookie_line}");
    assert!(cookie_line.contains("HttpOnly"), "{cookie_line}");
    let cookie = cookie_line["set-cookie:".len()..]
        .trim()
        .split(';')
        .next()
        .expect("pair")
        .to_owned();
    let me = format!(
        "GET /api/v1/me HTTP/1.1\r\nHost: localhost\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
    );
    let answer = https(addr, client(dir.path()), me).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"root\""), "{answer}");

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("stops in time")
        .expect("task")
        .expect("serve");
}

#[tokio::test]
async fn an_idle_client_is_dropped_after_the_handshake_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = server_config(None, None, dir.path(), &[]).expect("config");
    let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = tcp.local_addr().expect("addr");
    let mut listener =
        TlsListener::new(tcp, config).with_handshake_timeout(Duration::from_millis(300));
    let accepted = tokio::spawn(async move {
        let (_io, peer) = Listener::accept(&mut listener).await;
        peer
    });
    let mut idle = TcpStream::connect(addr).await.expect("idle connect");
    let mut buf = [0u8; 16];
    let closed = tokio::time::timeout(Duration::from_secs(5), idle.read(&mut buf))
        .await
        .expect("the server closes the idle connection in time");
    assert!(matches!(closed, Ok(0) | Err(_)), "{closed:?}");
    // A real client after it is accepted.
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let local = tcp.local_addr().expect("local");
    let name = ServerName::try_from("localhost").expect("name");
    let _tls = TlsConnector::from(client(dir.path()))
        .connect(name, tcp)
        .await
        .expect("handshake");
    let peer = tokio::time::timeout(Duration::from_secs(5), accepted)
        .await
        .expect("accepted in time")
        .expect("task");
    assert_eq!(peer, local);
}

#[tokio::test]
async fn setups_without_a_certificate_source_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut opts = options(dir.path()).await;
    opts.services.data_dir = None;
    let listen: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    let err = prepare(&mut opts, listen, None, None).expect_err("no data dir");
    assert!(matches!(err, TlsError::NoDataDir), "{err}");
    assert!(!opts.secure_cookies);
    let half = prepare(&mut opts, listen, Some(dir.path().join("c.pem")), None)
        .expect_err("cert without key");
    assert!(matches!(half, TlsError::Certificate(_)), "{half}");
    assert!(!opts.secure_cookies);
}
