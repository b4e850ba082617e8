//! A response body fed by an export that writes into an `AsyncWrite` (the CSV export of
//! `crate::cdr::export`), without buffering the result and without a spawned task.
//!
//! ```text
//!   export future ──writes──► duplex pipe (PIPE_BYTES) ──reads──► ExportStream ──► hyper
//!         ▲ polled by ExportStream::poll_next, so it runs only while the client reads
//! ```
//!
//! Each `poll_next` first drives the export (it fills the pipe until the pipe is full or
//! it has to wait for SQLite), then reads what is in the pipe as the next chunk. A slow
//! client therefore slows the export down (the pipe is bounded); a client that goes away
//! drops the body, which drops the export and its database connection. The export's end
//! drops the pipe's write half, so the body ends once the pipe is drained; an export error
//! is then sent as a body error (the connection is cut, so a truncated file is never
//! mistaken for a complete one).
//!
//! Depends on: `crate::cdr::export::ExportError`, tokio io, futures-core (`Stream`), axum.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use futures_core::Stream;
use tokio::io::{AsyncRead, DuplexStream, ReadBuf};

use crate::cdr::export::ExportError;

/// Capacity of the pipe and largest chunk sent: big enough for few, large writes to the
/// socket, small enough that a stalled client holds little memory.
const PIPE_BYTES: usize = 64 * 1024;

/// The export as a boxed future (it borrows nothing: it owns its query handle and filter).
type Export = Pin<Box<dyn Future<Output = Result<u64, ExportError>> + Send>>;

/// A body streaming what `export` writes into the pipe it is given.
pub(crate) fn body<F, Fut>(export: F) -> Body
where
    F: FnOnce(DuplexStream) -> Fut,
    Fut: Future<Output = Result<u64, ExportError>> + Send + 'static,
{
    let (writer, reader) = tokio::io::duplex(PIPE_BYTES);
    Body::from_stream(ExportStream {
        export: Some(Box::pin(export(writer))),
        failed: None,
        reader,
        buf: vec![0; PIPE_BYTES],
        done: false,
    })
}

/// The stream behind [`body`].
struct ExportStream {
    /// The running export; `None` once it has finished (its write half is then dropped).
    export: Option<Export>,
    /// The export's error, sent after the bytes it wrote before failing.
    failed: Option<ExportError>,
    /// The pipe's read half.
    reader: DuplexStream,
    /// Read buffer, reused for every chunk.
    buf: Vec<u8>,
    /// The end (or an error) has been returned.
    done: bool,
}

impl Stream for ExportStream {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        // Every field is `Unpin` (the export is boxed).
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        if let Some(export) = this.export.as_mut() {
            if let Poll::Ready(result) = export.as_mut().poll(cx) {
                this.export = None;
                match result {
                    Ok(rows) => tracing::debug!(rows, "CDR export streamed"),
                    Err(error) => {
                        tracing::warn!(%error, "CDR export failed while streaming");
                        this.failed = Some(error);
                    }
                }
            }
        }
        let mut buf = ReadBuf::new(&mut this.buf);
        match Pin::new(&mut this.reader).poll_read(cx, &mut buf) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(error)) => {
                this.done = true;
                Poll::Ready(Some(Err(error)))
            }
            // End of the pipe: the export has finished and everything it wrote is sent.
            Poll::Ready(Ok(())) if buf.filled().is_empty() => {
                this.done = true;
                match this.failed.take() {
                    Some(error) => Poll::Ready(Some(Err(std::io::Error::other(error)))),
                    None => Poll::Ready(None),
                }
            }
            Poll::Ready(Ok(())) => Poll::Ready(Some(Ok(Bytes::copy_from_slice(buf.filled())))),
        }
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
