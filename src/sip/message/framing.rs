//! Message framing. Datagrams ([`Message::parse`]): one message per datagram, body length
//! from Content-Length (RFC 3261 §18.3: bytes past it are discarded; a shorter body is an
//! error; without Content-Length the body is the rest of the datagram). Streams
//! ([`StreamFramer`]): incremental, several messages per segment, partial reads, a size
//! limit, Content-Length mandatory (RFC 3261 §18.3), and RFC 5626 §4.4.1 CRLF keep-alives.
//! Depends on [`super::parse`], [`super::msg`].

use bytes::{Buf, Bytes, BytesMut};
use memchr::memmem;

use super::error::ParseError;
use super::header_name::HeaderName;
use super::headers::Headers;
use super::msg::{Message, Request, Response};
use super::parse::{parse_head, StartLine};

impl Message {
    /// Parses one message from a datagram (or from a buffer holding exactly the bytes a
    /// [`StreamFramer`] returned). Header values are not parsed; use the typed accessors
    /// and [`Message::validate`].
    pub fn parse(datagram: &[u8]) -> Result<Message, ParseError> {
        let head = parse_head(datagram)?;
        let rest = datagram.get(head.body_offset..).unwrap_or(&[]);
        let body = match content_length(&head.headers)? {
            // RFC 3261 §18.3: octets beyond Content-Length are discarded.
            Some(len) => Bytes::copy_from_slice(rest.get(..len).ok_or(ParseError::Truncated)?),
            None => Bytes::copy_from_slice(rest),
        };
        Ok(match head.start {
            StartLine::Request { method, uri } => Message::Request(Request {
                method,
                uri,
                headers: head.headers,
                body,
            }),
            StartLine::Response { status, reason } => Message::Response(Response {
                status,
                reason,
                headers: head.headers,
                body,
            }),
        })
    }
}

/// The Content-Length of parsed headers: `None` when absent; an error when a value is not
/// `1*DIGIT` or several lines disagree (RFC 3261 §20.14).
pub(crate) fn content_length(headers: &Headers) -> Result<Option<usize>, ParseError> {
    let mut found: Option<usize> = None;
    for v in headers.get_all(&HeaderName::ContentLength) {
        let n = parse_length(v.as_bytes())?;
        match found {
            Some(prev) if prev != n => return Err(ParseError::BadContentLength),
            _ => found = Some(n),
        }
    }
    Ok(found)
}

/// Parses a Content-Length value (`1*DIGIT`, surrounding whitespace allowed).
fn parse_length(v: &[u8]) -> Result<usize, ParseError> {
    let v = v.trim_ascii();
    if v.is_empty() || v.len() > 12 || !v.iter().all(u8::is_ascii_digit) {
        return Err(ParseError::BadContentLength);
    }
    Ok(v.iter()
        .fold(0usize, |acc, d| acc * 10 + usize::from(d - b'0')))
}

/// Scans raw header bytes (start line excluded or not: it never contains a colon-named
/// Content-Length) for Content-Length / `l` without building [`Headers`].
fn scan_content_length(head: &[u8]) -> Result<Option<usize>, ParseError> {
    let mut found: Option<usize> = None;
    for line in head.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = memchr::memchr(b':', line) else {
            continue;
        };
        let name = line.get(..colon).unwrap_or(&[]).trim_ascii_end();
        if name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l") {
            let n = parse_length(line.get(colon + 1..).unwrap_or(&[]))?;
            match found {
                Some(prev) if prev != n => return Err(ParseError::BadContentLength),
                _ => found = Some(n),
            }
        }
    }
    Ok(found)
}

/// One item produced by a [`StreamFramer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Framed {
    /// A complete message: exactly its bytes (headers and Content-Length body); hand them
    /// to [`Message::parse`].
    Message(Bytes),
    /// A CRLFCRLF keep-alive ping; answer with a single CRLF (RFC 5626 §4.4.1).
    KeepAlivePing,
    /// A lone CRLF: the pong answering our ping (RFC 5626 §4.4.1).
    KeepAlivePong,
}

/// Incremental framer for stream transports (TCP, TLS). After an error the stream is out
/// of sync and the connection should be closed.
#[derive(Debug)]
pub struct StreamFramer {
    /// Bytes received and not yet framed.
    buf: BytesMut,
    /// Largest message (headers + body) accepted.
    max_message: usize,
    /// How far the buffer was already searched for CRLFCRLF (avoids quadratic rescans).
    scanned: usize,
    /// Total length of a message whose headers are complete but whose body is not.
    pending: Option<usize>,
}

impl StreamFramer {
    /// A framer refusing messages larger than `max_message` bytes.
    pub fn new(max_message: usize) -> Self {
        StreamFramer {
            buf: BytesMut::with_capacity(4096),
            max_message,
            scanned: 0,
            pending: None,
        }
    }

    /// Appends received bytes.
    pub fn extend(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Number of buffered, not yet framed bytes.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Next framed item: a message (its exact bytes), a keep-alive, or `Ok(None)` when
    /// more data is needed.
    // Not an Iterator: it is fallible and "no item yet" is not the end of the stream.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Framed>, ParseError> {
        if let Some(total) = self.pending {
            return Ok(self.take(total));
        }
        if self.buf.starts_with(b"\r\n") {
            if self.buf.starts_with(b"\r\n\r\n") {
                self.buf.advance(4);
                self.scanned = 0;
                return Ok(Some(Framed::KeepAlivePing));
            }
            // A lone CRLF (or a CRLF followed by the next message): a pong. A ping split
            // across two reads is seen as two pongs, which is harmless.
            if self.buf.as_ref() == b"\r\n\r" {
                return Ok(None);
            }
            self.buf.advance(2);
            self.scanned = 0;
            return Ok(Some(Framed::KeepAlivePong));
        }
        let from = self.scanned.saturating_sub(3);
        let Some(rel) = memmem::find(self.buf.get(from..).unwrap_or(&[]), b"\r\n\r\n") else {
            self.scanned = self.buf.len();
            if self.buf.len() > self.max_message {
                return Err(ParseError::TooLarge);
            }
            return Ok(None);
        };
        let head_len = from + rel + 4;
        let head = self.buf.get(..head_len).unwrap_or(&[]);
        // RFC 3261 §18.3: Content-Length MUST be used with stream transports.
        let body_len =
            scan_content_length(head)?.ok_or(ParseError::MissingHeader("Content-Length"))?;
        let total = head_len.checked_add(body_len).ok_or(ParseError::TooLarge)?;
        if total > self.max_message {
            return Err(ParseError::TooLarge);
        }
        Ok(self.take(total))
    }

    /// Emits the message of `total` bytes if fully buffered, else remembers it as pending.
    fn take(&mut self, total: usize) -> Option<Framed> {
        if self.buf.len() < total {
            self.pending = Some(total);
            return None;
        }
        self.pending = None;
        self.scanned = 0;
        Some(Framed::Message(self.buf.split_to(total).freeze()))
    }
}

#[cfg(test)]
#[path = "framing_tests.rs"]
mod tests;
