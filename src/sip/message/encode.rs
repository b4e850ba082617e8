//! Serialisation. Headers that came from the wire and were not modified are copied byte
//! for byte (folding and case included); new or modified ones are written canonically as
//! `Name: value`. Content-Length is always made consistent with the body: an untouched
//! Content-Length with the right value is kept, otherwise one canonical line is written at
//! the position of the first one (or appended). CR/LF inside application-supplied values
//! are written as spaces (no header injection). Depends on [`super::msg`], [`super::headers`].

use std::fmt::Write as _;

use bytes::{BufMut, Bytes, BytesMut};

use super::header_name::HeaderName;
use super::headers::Headers;
use super::msg::{Message, Request, Response};

impl Request {
    /// Appends the wire form to `out`.
    pub fn encode(&self, out: &mut BytesMut) {
        out.reserve(estimate(&self.headers, self.body.len()));
        // Writing into BytesMut cannot fail.
        let _ = write!(out, "{} {} SIP/2.0\r\n", self.method, self.uri);
        encode_rest(&self.headers, &self.body, out);
    }

    /// The wire form.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::new();
        self.encode(&mut out);
        out.freeze()
    }
}

impl Response {
    /// Appends the wire form to `out`.
    pub fn encode(&self, out: &mut BytesMut) {
        out.reserve(estimate(&self.headers, self.body.len()));
        let _ = write!(out, "SIP/2.0 {} ", self.status);
        put_line_text(self.reason.as_bytes(), out);
        out.put_slice(b"\r\n");
        encode_rest(&self.headers, &self.body, out);
    }

    /// The wire form.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::new();
        self.encode(&mut out);
        out.freeze()
    }
}

impl Message {
    /// Appends the wire form to `out`.
    pub fn encode(&self, out: &mut BytesMut) {
        match self {
            Message::Request(r) => r.encode(out),
            Message::Response(r) => r.encode(out),
        }
    }

    /// The wire form.
    pub fn to_bytes(&self) -> Bytes {
        match self {
            Message::Request(r) => r.to_bytes(),
            Message::Response(r) => r.to_bytes(),
        }
    }
}

/// Rough size of the encoded message, to reserve once.
fn estimate(headers: &Headers, body: usize) -> usize {
    let h: usize = headers
        .iter()
        .map(|h| {
            h.raw()
                .map_or(h.name().as_str().len() + h.value().len() + 4, |r| {
                    r.len() + 2
                })
        })
        .sum();
    128 + h + body
}

/// Writes the headers, the Content-Length, the empty line and the body.
fn encode_rest(headers: &Headers, body: &Bytes, out: &mut BytesMut) {
    let mut wrote_length = false;
    for h in headers.iter() {
        if *h.name() == HeaderName::ContentLength {
            if wrote_length {
                continue;
            }
            wrote_length = true;
            let matches = h.value().trim().parse::<usize>().ok() == Some(body.len());
            match h.raw() {
                Some(raw) if matches => {
                    out.put_slice(raw.as_bytes());
                    out.put_slice(b"\r\n");
                }
                _ => write_length(body.len(), out),
            }
            continue;
        }
        match h.raw() {
            Some(raw) => out.put_slice(raw.as_bytes()),
            None => {
                out.put_slice(h.name().as_str().as_bytes());
                out.put_slice(b": ");
                put_line_text(h.value().as_bytes(), out);
            }
        }
        out.put_slice(b"\r\n");
    }
    if !wrote_length {
        write_length(body.len(), out);
    }
    out.put_slice(b"\r\n");
    out.put_slice(body);
}

/// Writes application-supplied text that must stay on one line: CR and LF become spaces,
/// so a value can never inject a header or end the header section.
fn put_line_text(text: &[u8], out: &mut BytesMut) {
    if memchr::memchr2(b'\r', b'\n', text).is_none() {
        out.put_slice(text);
        return;
    }
    out.extend(
        text.iter()
            .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
}

/// Writes a canonical `Content-Length: n` line.
fn write_length(len: usize, out: &mut BytesMut) {
    let _ = write!(out, "Content-Length: {len}\r\n");
}

#[cfg(test)]
mod tests {
    use crate::sip::message::{HeaderName, Message};

    #[test]
    fn untouched_headers_are_byte_identical() {
        let wire = b"INVITE sip:bob@biloxi.com SIP/2.0\r\nvia  : SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds\r\nSubject: folded\r\n  line\r\nf: <sip:a@b>;tag=1\r\nContent-Length:  4\r\n\r\nbody";
        let msg = Message::parse(wire).expect("valid");
        assert_eq!(msg.to_bytes().as_ref(), wire.as_slice());
    }

    #[test]
    fn modified_headers_canonical_and_length_fixed() {
        let wire = b"SIP/2.0 200 OK\r\nl: 99\r\nv: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\n";
        let mut msg =
            Message::parse(b"SIP/2.0 200 OK\r\nv: SIP/2.0/UDP h;branch=z9hG4bK1\r\nl: 0\r\n\r\n")
                .expect("valid");
        assert_eq!(
            msg.to_bytes().as_ref(),
            b"SIP/2.0 200 OK\r\nv: SIP/2.0/UDP h;branch=z9hG4bK1\r\nl: 0\r\n\r\n".as_slice()
        );
        msg.headers_mut().push(HeaderName::CallId, "x@y");
        if let Message::Response(r) = &mut msg {
            r.body = bytes::Bytes::from_static(b"hello");
        }
        let out = msg.to_bytes();
        assert_eq!(out.as_ref(), b"SIP/2.0 200 OK\r\nv: SIP/2.0/UDP h;branch=z9hG4bK1\r\nContent-Length: 5\r\nCall-ID: x@y\r\n\r\nhello".as_slice());
        assert!(
            Message::parse(wire).is_err(),
            "declared length longer than body"
        );
    }

    #[test]
    fn application_values_cannot_inject_lines() {
        let mut r = crate::sip::message::Response::new(200, "OK\r\nX-Evil: 1");
        r.headers.push(HeaderName::Subject, "hi\r\n\r\nbody");
        let out = r.to_bytes();
        let want = "SIP/2.0 200 OK  X-Evil: 1\r\nSubject: hi    body\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(out.as_ref(), want.as_bytes());
    }
}
