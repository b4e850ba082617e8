//! A response body fed by an export that writes into an `AsyncWrite` (the CSV export of
//! `crate::cdr::export`), without buffering the result.
//!
//! ```text
//!   export task ──writes──► StallGuard ─► duplex pipe (PIPE_BYTES) ──reads──► ExportStream ──► hyper
//!        (spawned; holds its export permit)   │ a write blocked for STALL_LIMIT fails
//! ```
//!
//! The export runs in its own task, so it is driven whatever the client does: a slow
//! client slows it down (the pipe is bounded), a client that stops reading makes its next
//! write wait, and after [`STALL_LIMIT`] that write fails — the export ends and gives back
//! its database connection and read snapshot (a stalled download must not hold the CDR
//! pool or stop WAL checkpoints). A client that goes away drops the read half: the next
//! write fails at once. The export's end drops the pipe's write half, so the body ends
//! once the pipe is drained; an export error is then sent as a body error (the connection
//! is cut, so a truncated file is never mistaken for a complete one).
//!
//! Depends on: `crate::cdr::export::ExportError`, tokio (io, time, sync), futures-core
//! (`Stream`), axum.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use futures_core::Stream;
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};
use tokio::sync::{oneshot, OwnedSemaphorePermit};
use tokio::time::Sleep;

use crate::cdr::export::ExportError;

/// Capacity of the pipe and largest chunk sent: big enough for few, large writes to the
/// socket, small enough that a stalled client holds little memory.
const PIPE_BYTES: usize = 64 * 1024;

/// How long one write may wait for the client to read before the export gives up.
pub(crate) const STALL_LIMIT: Duration = Duration::from_secs(30);

/// A body streaming what `export` writes into the writer it is given; the export task
/// keeps `permit` (the limit on concurrent exports) until it ends.
pub(crate) fn body<F, Fut>(permit: Option<OwnedSemaphorePermit>, export: F) -> Body
where
    F: FnOnce(StallGuard) -> Fut,
    Fut: Future<Output = Result<u64, ExportError>> + Send + 'static,
{
    let (writer, reader) = tokio::io::duplex(PIPE_BYTES);
    let (done_tx, done_rx) = oneshot::channel();
    let export = export(StallGuard::new(writer, STALL_LIMIT));
    tokio::spawn(async move {
        let result = export.await;
        match &result {
            Ok(rows) => tracing::debug!(rows, "CDR export streamed"),
            Err(error) => tracing::warn!(%error, "CDR export ended early"),
        }
        drop(permit);
        // The reader may be gone (client left): nothing to tell then.
        let _ = done_tx.send(result);
    });
    Body::from_stream(ExportStream {
        done: Some(done_rx),
        reader,
        buf: vec![0; PIPE_BYTES],
        ended: false,
    })
}

/// The export's writer: the pipe, with a limit on how long one write may wait.
#[derive(Debug)]
pub(crate) struct StallGuard {
    inner: DuplexStream,
    limit: Duration,
    /// Armed when a write first has to wait; disarmed when one completes.
    timer: Option<Pin<Box<Sleep>>>,
}

impl StallGuard {
    fn new(inner: DuplexStream, limit: Duration) -> StallGuard {
        StallGuard {
            inner,
            limit,
            timer: None,
        }
    }

    /// `Pending` from the pipe: wait, unless it has been pending for the whole limit.
    fn waited(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Error> {
        let limit = self.limit;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the client stopped reading the export",
            )),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for StallGuard {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Ready(result) => {
                this.timer = None;
                Poll::Ready(result)
            }
            Poll::Pending => this.waited(cx).map(Err),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Ready(result) => {
                this.timer = None;
                Poll::Ready(result)
            }
            Poll::Pending => this.waited(cx).map(Err),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// The stream behind [`body`].
struct ExportStream {
    /// The export's result, read once the pipe is drained.
    done: Option<oneshot::Receiver<Result<u64, ExportError>>>,
    /// The pipe's read half.
    reader: DuplexStream,
    /// Read buffer, reused for every chunk.
    buf: Vec<u8>,
    /// The end (or an error) has been returned.
    ended: bool,
}

impl Stream for ExportStream {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        // Every field is `Unpin`.
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        let mut buf = ReadBuf::new(&mut this.buf);
        match Pin::new(&mut this.reader).poll_read(cx, &mut buf) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(error)) => {
                this.ended = true;
                Poll::Ready(Some(Err(error)))
            }
            // End of the pipe: the export has finished; everything it wrote is sent.
            Poll::Ready(Ok(())) if buf.filled().is_empty() => {
                let Some(done) = this.done.as_mut() else {
                    this.ended = true;
                    return Poll::Ready(None);
                };
                let result = match Pin::new(done).poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(result) => result,
                };
                this.done = None;
                this.ended = true;
                match result {
                    Ok(Ok(_)) => Poll::Ready(None),
                    Ok(Err(error)) => Poll::Ready(Some(Err(std::io::Error::other(error)))),
                    Err(_) => Poll::Ready(Some(Err(std::io::Error::other(
                        "the export task ended without a result",
                    )))),
                }
            }
            Poll::Ready(Ok(())) => Poll::Ready(Some(Ok(Bytes::copy_from_slice(buf.filled())))),
        }
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
