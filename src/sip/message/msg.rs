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
        self.headers.vias()?;
        if !self.headers.contains(&super::header_name::HeaderName::Via) {
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
