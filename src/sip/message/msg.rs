//! The message types: [`Request`], [`Response`] and [`Message`]. Parsing lives in
//! [`super::framing`]/[`super::parse`], serialisation in [`super::encode`], response
//! construction in [`super::response`]. Depends on [`super::headers`], [`super::uri`].

use bytes::Bytes;

use super::error::ParseError;
use super::headers::Headers;
use super::method::Method;
use super::uri::Uri;

/// A SIP request.
#[derive(Debug, Clone)]
pub struct Request {
    /// The method from the Request-Line.
    pub method: Method,
    /// The Request-URI.
    pub uri: Uri,
    /// Header fields in order.
    pub headers: Headers,
    /// The message body (exactly Content-Length bytes when parsed).
    pub body: Bytes,
}

impl Request {
    /// A request with no headers and an empty body.
    pub fn new(method: Method, uri: Uri) -> Request {
        Request {
            method,
            uri,
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    /// Checks what a UAS needs before processing (RFC 3261 §8.1.1, §8.2): Via, From, To,
    /// Call-ID and CSeq present and well-formed, CSeq method equal to the request method
    /// (§8.1.1.5 — ACK and CANCEL carry the method of their own request), Max-Forwards
    /// numeric if present, a well-formed Contact list if present, and no `?headers` in a
    /// SIP Request-URI (§19.1.1).
    pub fn validate(&self) -> Result<(), ParseError> {
        // RFC 3261 §19.1.1 (table): headers are not allowed in a Request-URI.
        if let Uri::Sip(u) = &self.uri {
            if u.headers.is_some() {
                return Err(ParseError::BadUri);
            }
        }
        if self.headers.vias()?.is_empty() {
            return Err(ParseError::MissingHeader("Via"));
        }
        self.headers.from()?;
        self.headers.to()?;
        self.headers.call_id()?;
        let cseq = self.headers.cseq()?;
        if cseq.method != self.method {
            return Err(ParseError::CSeqMismatch);
        }
        self.headers.max_forwards()?;
        self.headers.contacts()?;
        Ok(())
    }
}

/// A SIP response.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code 100..=699.
    pub status: u16,
    /// Reason phrase (may be empty).
    pub reason: String,
    /// Header fields in order.
    pub headers: Headers,
    /// The message body.
    pub body: Bytes,
}

impl Response {
    /// Checks the headers a UAC needs to match a response (RFC 3261 §8.1.3): top Via,
    /// From, To, Call-ID and CSeq present and well-formed.
    pub fn validate(&self) -> Result<(), ParseError> {
        self.headers.top_via()?;
        self.headers.from()?;
        self.headers.to()?;
        self.headers.call_id()?;
        self.headers.cseq()?;
        Ok(())
    }
}

/// A request or a response.
#[derive(Debug, Clone)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A response.
    Response(Response),
}

impl Message {
    /// The header fields.
    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(r) => &r.headers,
            Message::Response(r) => &r.headers,
        }
    }

    /// The header fields, mutable.
    pub fn headers_mut(&mut self) -> &mut Headers {
        match self {
            Message::Request(r) => &mut r.headers,
            Message::Response(r) => &mut r.headers,
        }
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        match self {
            Message::Request(r) => &r.body,
            Message::Response(r) => &r.body,
        }
    }

    /// Whether this is a request.
    pub fn is_request(&self) -> bool {
        matches!(self, Message::Request(_))
    }

    /// Runs [`Request::validate`] or [`Response::validate`].
    pub fn validate(&self) -> Result<(), ParseError> {
        match self {
            Message::Request(r) => r.validate(),
            Message::Response(r) => r.validate(),
        }
    }
}

impl From<Request> for Message {
    fn from(r: Request) -> Message {
        Message::Request(r)
    }
}

impl From<Response> for Message {
    fn from(r: Response) -> Message {
        Message::Response(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x@y\r\n";

    fn request(start: &str, extra: &str) -> Result<(), ParseError> {
        let wire = format!("{start}\r\n{BASE}{extra}Content-Length: 0\r\n\r\n");
        Message::parse(wire.as_bytes())?.validate()
    }

    #[test]
    fn request_validation() {
        let cases: &[(&str, &str, Result<(), ParseError>)] = &[
            (
                "INVITE sip:b@d SIP/2.0",
                "CSeq: 1 INVITE\r\nMax-Forwards: 70\r\n",
                Ok(()),
            ),
            ("ACK sip:b@d SIP/2.0", "CSeq: 1 ACK\r\n", Ok(())),
            ("FOO sip:b@d SIP/2.0", "CSeq: 1 FOO\r\n", Ok(())),
            (
                "OPTIONS sip:b@d SIP/2.0",
                "CSeq: 1 INVITE\r\n",
                Err(ParseError::CSeqMismatch),
            ),
            (
                "OPTIONS sip:b@d SIP/2.0",
                "",
                Err(ParseError::MissingHeader("CSeq")),
            ),
            (
                "OPTIONS sip:b@d?x=y SIP/2.0",
                "CSeq: 1 OPTIONS\r\n",
                Err(ParseError::BadUri),
            ),
            (
                "OPTIONS sip:b@d SIP/2.0",
                "CSeq: 1 OPTIONS\r\nMax-Forwards: many\r\n",
                Err(ParseError::BadHeaderValue {
                    header: "Max-Forwards",
                }),
            ),
            (
                "REGISTER sip:d SIP/2.0",
                "CSeq: 1 REGISTER\r\nContact: <sip:a@b\r\n",
                Err(ParseError::BadHeaderValue { header: "Contact" }),
            ),
        ];
        for (start, extra, want) in cases {
            assert_eq!(&request(start, extra), want, "{start} / {extra}");
        }
    }

    #[test]
    fn empty_via_line_counts_as_missing() {
        let wire = "OPTIONS sip:b@d SIP/2.0\r\nVia: \r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n";
        assert_eq!(
            Message::parse(wire.as_bytes()).and_then(|m| m.validate()),
            Err(ParseError::MissingHeader("Via"))
        );
    }

    #[test]
    fn response_validation() {
        let ok = format!("SIP/2.0 200 OK\r\n{BASE}CSeq: 1 INVITE\r\n\r\n");
        assert_eq!(
            Message::parse(ok.as_bytes()).and_then(|m| m.validate()),
            Ok(())
        );
        let no_via = "SIP/2.0 200 OK\r\nCall-ID: x\r\n\r\n";
        assert_eq!(
            Message::parse(no_via.as_bytes()).and_then(|m| m.validate()),
            Err(ParseError::MissingHeader("Via"))
        );
    }
}
