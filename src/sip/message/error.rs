//! The error type of the message layer: every way a SIP message can fail to parse or frame.
//!
//! Each variant is matchable, and [`ParseError::reason`] gives a short text fit for the
//! reason phrase of a `400` (or `505`/`413`) response. Depends on nothing else in the crate.

/// Why a SIP message (or one of its header values) could not be parsed or framed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The input ended before the message did (no empty line after the headers, or a body
    /// shorter than its Content-Length).
    #[error("message truncated")]
    Truncated,
    /// The input is empty (or only CRLFs).
    #[error("empty message")]
    Empty,
    /// The start line is neither a Request-Line nor a Status-Line (RFC 3261 §7.1, §7.2).
    #[error("malformed start line")]
    BadStartLine,
    /// The method token contains characters outside `token` (RFC 3261 §25.1).
    #[error("malformed method")]
    BadMethod,
    /// The SIP-Version is not `SIP/2.0` (answer with 505, RFC 3261 §8.2.1).
    #[error("unsupported SIP version")]
    BadVersion,
    /// The status code is not three digits in 100..=699 (RFC 3261 §7.2).
    #[error("malformed status code")]
    BadStatus,
    /// A header line is not `name HCOLON value` (RFC 3261 §7.3.1); `line` is 1-based,
    /// counting the start line as line 1.
    #[error("malformed header line {line}")]
    BadHeader {
        /// 1-based line number of the offending header line.
        line: usize,
    },
    /// A header value does not match its grammar; `header` is the canonical header name.
    #[error("malformed {header} header")]
    BadHeaderValue {
        /// Canonical name of the header whose value is malformed (e.g. "Via").
        header: &'static str,
    },
    /// A mandatory header is missing (RFC 3261 §8.1.1); holds its canonical name.
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    /// Content-Length is non-numeric, negative, repeated with different values, or missing
    /// on a stream transport (RFC 3261 §18.3, §20.14).
    #[error("bad Content-Length")]
    BadContentLength,
    /// A URI does not match the RFC 3261 §25.1 / RFC 3966 grammar.
    #[error("malformed URI")]
    BadUri,
    /// The header section is not valid UTF-8 (RFC 3261 §7.3.1 uses UTF-8 text).
    #[error("header section is not UTF-8")]
    BadEncoding,
    /// The CSeq method differs from the request method (RFC 3261 §8.1.1.5).
    #[error("CSeq method does not match the request method")]
    CSeqMismatch,
    /// A message exceeds the configured maximum size.
    #[error("message too large")]
    TooLarge,
}

impl ParseError {
    /// A short text usable as the reason phrase of the error response
    /// (e.g. `"Bad Content-Length"`, `"Missing Call-ID"`).
    pub fn reason(&self) -> &'static str {
        match self {
            ParseError::Truncated => "Truncated Message",
            ParseError::Empty => "Empty Message",
            ParseError::BadStartLine => "Bad Request Line",
            ParseError::BadMethod => "Bad Method",
            ParseError::BadVersion => "Version Not Supported",
            ParseError::BadStatus => "Bad Status Code",
            ParseError::BadHeader { .. } => "Bad Header",
            ParseError::BadHeaderValue { header } => bad_value_reason(header),
            ParseError::MissingHeader(name) => missing_reason(name),
            ParseError::BadContentLength => "Bad Content-Length",
            ParseError::BadUri => "Bad URI",
            ParseError::BadEncoding => "Bad Encoding",
            ParseError::CSeqMismatch => "CSeq Method Mismatch",
            ParseError::TooLarge => "Message Too Large",
        }
    }
}

/// Reason phrase for a malformed header value, by canonical header name.
fn bad_value_reason(header: &str) -> &'static str {
    match header {
        "Via" => "Bad Via",
        "From" => "Bad From",
        "To" => "Bad To",
        "Call-ID" => "Bad Call-ID",
        "CSeq" => "Bad CSeq",
        "Contact" => "Bad Contact",
        "Max-Forwards" => "Bad Max-Forwards",
        "Expires" => "Bad Expires",
        "Route" => "Bad Route",
        "Record-Route" => "Bad Record-Route",
        "Content-Type" => "Bad Content-Type",
        "Content-Length" => "Bad Content-Length",
        _ => "Bad Header Value",
    }
}

/// Reason phrase for a missing mandatory header, by canonical header name.
fn missing_reason(header: &str) -> &'static str {
    match header {
        "Via" => "Missing Via",
        "From" => "Missing From",
        "To" => "Missing To",
        "Call-ID" => "Missing Call-ID",
        "CSeq" => "Missing CSeq",
        "Max-Forwards" => "Missing Max-Forwards",
        "Content-Length" => "Missing Content-Length",
        "Contact" => "Missing Contact",
        _ => "Missing Header",
    }
}
