//! Webhook tests: backoff, status lines, the HTTP client against a local `TcpListener`, and
//! the delivery loop on a real store. (URL parsing is `config::cdr::parse_http_url`, tested
//! with the configuration.)

use super::*;
use crate::cdr::model::CdrOp;
use crate::cdr::store::testutil::{final_leg, open, settings, T};
use crate::config::cdr::parse_http_url;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

fn webhook(url: &str) -> WebhookSettings {
    WebhookSettings {
        url: url.to_owned(),
        timeout: Duration::from_secs(2),
        backoff: Duration::from_millis(50),
        max_backoff: Duration::from_secs(10),
    }
}

#[test]
fn backoff_doubles_per_attempt_up_to_the_maximum() {
    let s = webhook("http://h/");
    let ms = |attempts| backoff_delay(&s, attempts).as_millis();
    assert_eq!([ms(0), ms(1), ms(2), ms(3)], [50, 100, 200, 400]);
    assert_eq!(ms(8), 10_000, "12.8 s capped at 10 s");
    assert_eq!(ms(40), 10_000);
    assert_eq!(ms(u32::MAX), 10_000);
}

#[test]
fn status_lines() {
    assert_eq!(
        parse_status_line(b"HTTP/1.1 204 No Content\r\n").ok(),
        Some(204)
    );
    assert_eq!(parse_status_line(b"HTTP/1.0 500\r\n").ok(), Some(500));
    for bad in [
        &b""[..],
        b"HTTP/2 200 OK\r\n",
        b"HTTP/1.1 2000 x",
        b"SIP/2.0 200 OK",
        b"\xff",
    ] {
        assert!(
            matches!(
                parse_status_line(bad),
                Err(DeliveryError::BadResponse { .. })
            ),
            "{bad:?}"
        );
    }
}

#[test]
fn body_carries_the_record_id() {
    let item = |payload: &str| OutboxItem {
        id: 1,
        record_id: "leg:u1".to_owned(),
        payload: payload.to_owned(),
        attempts: 0,
        created: T,
    };
    let body = body_for(&item(r#"{"kind":"leg","final":true}"#));
    let value: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    assert_eq!(value["record_id"], "leg:u1");
    assert_eq!(value["kind"], "leg");
    let kept = body_for(&item(r#"{"record_id":"x"}"#));
    assert_eq!(kept, br#"{"record_id":"x"}"#);
    assert_eq!(body_for(&item("[1]")), b"[1]");
}

/// One request as the test server saw it.
#[derive(Debug)]
struct Seen {
    head: String,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// A receiver answering the i-th request with `statuses[i]` (the last one repeated);
/// reports every request after answering it.
async fn receiver(statuses: Vec<u16>) -> (String, mpsc::UnboundedReceiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut n = 0;
        while let Ok((mut conn, _)) = listener.accept().await {
            let mut data = Vec::new();
            let mut buf = [0u8; 4096];
            let (head, body_len) = loop {
                let Ok(read) = conn.read(&mut buf).await else {
                    return;
                };
                if read == 0 {
                    return;
                }
                data.extend_from_slice(&buf[..read]);
                if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&data[..end]).into_owned();
                    let len = head
                        .lines()
                        .find_map(|l| l.strip_prefix("Content-Length: "))
                        .and_then(|v| v.parse::<usize>().ok())
                        .unwrap_or(0);
                    data.drain(..end + 4);
                    break (head, len);
                }
            };
            while data.len() < body_len {
                match conn.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(read) => data.extend_from_slice(&buf[..read]),
                }
            }
            let status = statuses[n.min(statuses.len() - 1)];
            n += 1;
            let answer = format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n");
            let _ = conn.write_all(answer.as_bytes()).await;
            let _ = tx.send(Seen { head, body: data });
        }
    });
    (format!("http://{addr}/cdr/in"), rx)
}

#[tokio::test]
async fn post_sends_the_headers_and_reads_the_status() {
    let (url, mut seen) = receiver(vec![500, 200]).await;
    let url = parse_http_url(&url).unwrap_or_else(|e| panic!("{e}"));
    let body = br#"{"record_id":"leg:a"}"#;
    let first = post(&url, "leg:a", body, Duration::from_secs(5)).await;
    assert_eq!(first.ok(), Some(500));
    let second = post(&url, "leg:a", body, Duration::from_secs(5)).await;
    assert_eq!(second.ok(), Some(200));
    let req = seen.recv().await.unwrap_or_else(|| panic!("no request"));
    assert!(
        req.head.starts_with("POST /cdr/in HTTP/1.1\r\n"),
        "{}",
        req.head
    );
    assert_eq!(req.header("Host"), Some(url.host_header().as_str()));
    assert_eq!(req.header("Content-Type"), Some("application/json"));
    assert_eq!(
        req.header("Content-Length"),
        Some(body.len().to_string().as_str())
    );
    assert_eq!(req.header("X-Switchboard-Record-Id"), Some("leg:a"));
    assert_eq!(req.body, body);
}

#[tokio::test]
async fn silence_is_a_timeout_and_refusal_a_connect_error() {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let url = parse_http_url(&format!("http://{addr}/")).unwrap_or_else(|e| panic!("{e}"));
    let silent = post(&url, "r", b"{}", Duration::from_millis(200)).await;
    assert!(
        matches!(silent, Err(DeliveryError::Timeout(_))),
        "{silent:?}"
    );
    drop(listener);
    let refused = post(&url, "r", b"{}", Duration::from_secs(5)).await;
    assert!(
        matches!(&refused, Err(e @ DeliveryError::Connect { .. }) if e.is_unreachable()),
        "{refused:?}"
    );
}

#[tokio::test]
async fn loop_retries_a_rejected_record_until_delivered() {
    let (url, mut seen) = receiver(vec![500, 200]).await;
    let mut s = settings();
    s.webhook = Some(webhook(&url));
    let (_dir, _path, store) = open(&s).await;
    let ops = [
        CdrOp::LegFinal(final_leg("a", T)),
        CdrOp::LegFinal(final_leg("b", T)),
    ];
    store
        .write_batch(&ops, T)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let wake = Arc::new(Notify::new());
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(run(
        store.clone(),
        webhook(&url),
        Arc::clone(&wake),
        shutdown.clone(),
    ));
    let mut ids = Vec::new();
    for _ in 0..3 {
        let req = seen
            .recv()
            .await
            .unwrap_or_else(|| panic!("receiver stopped"));
        let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap_or_default();
        let id = req
            .header("X-Switchboard-Record-Id")
            .unwrap_or("")
            .to_owned();
        assert_eq!(body["record_id"], id.as_str(), "body and header agree");
        ids.push(id);
    }
    // `a` got 500, `b` 200, then `a` again after its backoff.
    assert_eq!(ids, ["leg:a", "leg:b", "leg:a"]);
    // A new record, announced through `wake`: the loop only fetches it after finishing the
    // previous round, so `a` and `b` are gone from the outbox by then.
    store
        .write_batch(&[CdrOp::LegFinal(final_leg("c", T))], T)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    wake.notify_one();
    let req = seen
        .recv()
        .await
        .unwrap_or_else(|| panic!("receiver stopped"));
    assert_eq!(req.header("X-Switchboard-Record-Id"), Some("leg:c"));
    let left = store
        .outbox_due(Millis::MAX, 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        left.iter().all(|i| i.record_id == "leg:c"),
        "a and b delivered: {left:?}"
    );
    shutdown.cancel();
    task.await.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn a_silent_receiver_ends_the_round_and_wakes_are_ignored() {
    // Accepts connections and never answers: every POST times out.
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let mut hook = webhook(&format!("http://{addr}/"));
    hook.timeout = Duration::from_millis(100);
    hook.backoff = Duration::from_secs(3600);
    hook.max_backoff = Duration::from_secs(3600);
    let mut s = settings();
    s.webhook = Some(hook.clone());
    let (_dir, _path, store) = open(&s).await;
    let ops = [
        CdrOp::LegFinal(final_leg("a", T)),
        CdrOp::LegFinal(final_leg("b", T)),
    ];
    store
        .write_batch(&ops, T)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let wake = Arc::new(Notify::new());
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(run(
        store.clone(),
        hook,
        Arc::clone(&wake),
        shutdown.clone(),
    ));
    // `a` connects, times out, and its connection is closed by the client.
    let (mut conn, _) = listener.accept().await.unwrap_or_else(|e| panic!("{e}"));
    let mut sink = Vec::new();
    let _ = conn.read_to_end(&mut sink).await;
    assert!(sink.starts_with(b"POST / HTTP/1.1"), "{sink:?}");
    // No second connection in that round (`b` waits), and a wake does not start a new one.
    wake.notify_one();
    let second = tokio::time::timeout(Duration::from_millis(300), listener.accept()).await;
    assert!(second.is_err(), "another POST right after a timeout");
    shutdown.cancel();
    task.await.unwrap_or_else(|e| panic!("{e}"));
    let rows = store
        .outbox_due(Millis::MAX, 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let attempts: Vec<(&str, u32)> = rows
        .iter()
        .map(|i| (i.record_id.as_str(), i.attempts))
        .collect();
    assert_eq!(attempts, [("leg:a", 1), ("leg:b", 0)]);
}
