//! `serve` over a real loopback socket (ephemeral port): answers, sees the client address,
//! and stops when the shutdown token is cancelled.

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::*;

#[tokio::test]
async fn serve_answers_over_tcp_and_stops_on_shutdown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(&dir.path().join("switchboard.db"))
        .await
        .expect("db");
    let mut options = WebOptions::new(db, WebSettings::default(), CallRegistry::new(), None);
    options.passwords = PasswordPolicy::fast_for_tests();
    let state = WebState::new(options);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(serve(state.clone(), listener, shutdown.clone()));

    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let body = r#"{"name":"nobody","password":"x"}"#;
    let request = format!(
        "POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut answer))
        .await
        .expect("answer in time")
        .expect("read");
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(answer.contains("wrong name or password"), "{answer}");
    assert_eq!(state.failed_logins(), 1);

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("stops in time")
        .expect("task")
        .expect("serve");
}

#[tokio::test]
async fn start_creates_the_first_admin_binds_and_stops_with_the_lifecycle() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(&dir.path().join("switchboard.db"))
        .await
        .expect("db");
    let mut options = WebOptions::new(db, WebSettings::default(), CallRegistry::new(), None);
    options.passwords = PasswordPolicy::fast_for_tests();
    let lifecycle = Lifecycle::new();
    let listen: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    let (state, bound) = start(options, listen, &lifecycle).await.expect("start");
    assert_ne!(bound.port(), 0);
    assert_eq!(state.store().admin_count().await.expect("count"), 1);
    let taken = WebOptions::new(
        Db::open(&dir.path().join("other.db")).await.expect("db"),
        WebSettings::default(),
        CallRegistry::new(),
        None,
    );
    assert!(matches!(
        start(taken, bound, &lifecycle).await,
        Err(WebError::Bind { .. })
    ));
    tokio::time::timeout(Duration::from_secs(10), lifecycle.stop_and_wait())
        .await
        .expect("stops in time");
}
