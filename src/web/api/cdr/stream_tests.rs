//! The export body: every byte in order over several chunks, back-pressure (the export
//! waits for the reader), an export error after some bytes ends the body with an error,
//! and a reader that stops makes the export give up after the stall limit.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;

use super::*;

/// Writes `lines` numbered lines, counting the bytes written.
async fn numbered(
    mut out: StallGuard,
    lines: usize,
    written: Arc<AtomicUsize>,
) -> Result<u64, ExportError> {
    for i in 0..lines {
        let line = format!("{i:08},some,csv,fields\n");
        out.write_all(line.as_bytes()).await?;
        written.fetch_add(line.len(), Ordering::SeqCst);
    }
    Ok(lines as u64)
}

fn stream_of(body: Body) -> axum::body::BodyDataStream {
    body.into_data_stream()
}

async fn next(s: &mut axum::body::BodyDataStream) -> Option<Result<Bytes, axum::Error>> {
    std::future::poll_fn(|cx| Pin::new(&mut *s).poll_next(cx)).await
}

#[tokio::test]
async fn every_byte_arrives_in_order_over_several_chunks() {
    let written = Arc::new(AtomicUsize::new(0));
    let counter = written.clone();
    let mut s = stream_of(body(None, move |out| numbered(out, 20_000, counter)));
    let mut all = Vec::new();
    let mut chunks = 0;
    while let Some(chunk) = next(&mut s).await {
        let chunk = chunk.unwrap_or_else(|e| panic!("{e}"));
        assert!(!chunk.is_empty() && chunk.len() <= PIPE_BYTES);
        all.extend_from_slice(&chunk);
        chunks += 1;
    }
    let expected: usize = (0..20_000)
        .map(|i| format!("{i:08},some,csv,fields\n").len())
        .sum();
    assert_eq!(all.len(), expected);
    assert!(chunks >= all.len() / PIPE_BYTES, "{chunks} chunks");
    let text = String::from_utf8(all).unwrap_or_else(|e| panic!("{e}"));
    for (i, line) in text.lines().enumerate() {
        assert!(line.starts_with(&format!("{i:08},")), "line {i}: {line}");
    }
}

#[tokio::test]
async fn the_export_waits_for_the_reader() {
    let written = Arc::new(AtomicUsize::new(0));
    let counter = written.clone();
    let mut s = stream_of(body(None, move |out| numbered(out, 100_000, counter)));
    let first = next(&mut s).await.expect("a chunk").expect("bytes");
    assert!(!first.is_empty());
    // Nothing reads now: the export stopped at the pipe's capacity.
    tokio::task::yield_now().await;
    let after_one = written.load(Ordering::SeqCst);
    assert!(after_one <= 2 * PIPE_BYTES, "{after_one} bytes written");
    assert!(after_one < 100_000 * 25);
}

#[tokio::test]
async fn an_export_error_ends_the_body_with_an_error_after_its_bytes() {
    let mut s = stream_of(body(None, |mut out: StallGuard| async move {
        out.write_all(b"header\n").await?;
        Err(ExportError::Io(std::io::Error::other("disk gone")))
    }));
    let mut got = Vec::new();
    let mut error = None;
    while let Some(chunk) = next(&mut s).await {
        match chunk {
            Ok(bytes) => got.extend_from_slice(&bytes),
            Err(e) => {
                error = Some(e.to_string());
                break;
            }
        }
    }
    assert_eq!(got, b"header\n");
    assert!(error.is_some_and(|e| e.contains("disk gone")));
}

#[tokio::test]
async fn a_client_that_stops_reading_ends_the_export_after_the_stall_limit() {
    let written = Arc::new(AtomicUsize::new(0));
    let counter = written.clone();
    let semaphore = Arc::new(tokio::sync::Semaphore::new(1));
    let permit = semaphore.clone().try_acquire_owned().expect("permit");
    let mut s = stream_of(body(Some(permit), move |out| {
        numbered(out, 100_000, counter)
    }));
    let first = next(&mut s).await.expect("a chunk").expect("bytes");
    assert!(!first.is_empty());
    // The client reads nothing more: once the limit passes, the export gives up and
    // frees its permit (its database connection with it).
    tokio::time::pause();
    tokio::time::sleep(STALL_LIMIT + Duration::from_secs(1)).await;
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(semaphore.available_permits(), 1, "the export ended");
    assert!(written.load(Ordering::SeqCst) < 100_000 * 25);
    // What was written is still delivered, then the body ends with the error.
    let mut error = None;
    while let Some(chunk) = next(&mut s).await {
        if let Err(e) = chunk {
            error = Some(e.to_string());
            break;
        }
    }
    assert!(
        error.is_some_and(|e| e.contains("stopped reading")),
        "cut with an error"
    );
}
