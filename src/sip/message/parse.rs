//! Parsing of the start line and the header section (RFC 3261 §7.1–§7.3, §25.1): finds
//! header boundaries and names only; values stay unparsed text until a typed accessor
//! asks. Handles folding (LWS continuation lines), whitespace before the colon,
//! case-insensitive and compact names, empty values, extension methods and the
//! SIP-Version check. Body framing is [`super::framing`]'s job.
//! Depends on [`super::headers`], [`super::uri`], [`super::method`].

use std::sync::Arc;

use memchr::memmem;

use super::error::ParseError;
use super::header_name::HeaderName;
use super::headers::{Header, Headers};
use super::lex::{is_token_char, trim_lws};
use super::method::Method;
use super::uri::Uri;

/// The start line of a message.
pub(crate) enum StartLine {
    /// Request-Line.
    Request { method: Method, uri: Uri },
    /// Status-Line.
    Response { status: u16, reason: String },
}

/// Start line plus headers; `body_offset` is where the body starts in the input.
pub(crate) struct Head {
    pub(crate) start: StartLine,
    pub(crate) headers: Headers,
    pub(crate) body_offset: usize,
}

/// Parses everything up to and including the empty line. Leading CRLFs are skipped
/// (RFC 3261 §7.5).
pub(crate) fn parse_head(buf: &[u8]) -> Result<Head, ParseError> {
    let skip = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .ok_or(ParseError::Empty)?;
    let rest = buf.get(skip..).ok_or(ParseError::Empty)?;
    let end = memmem::find(rest, b"\r\n\r\n").ok_or(ParseError::Truncated)?;
    // The header text including the CRLF that ends the last header line.
    let head = rest.get(..end + 2).ok_or(ParseError::Truncated)?;
    let text = std::str::from_utf8(head).map_err(|_| ParseError::BadEncoding)?;
    let src: Arc<str> = Arc::from(text);
    let first_end = find_crlf(head, 0).ok_or(ParseError::Truncated)?;
    let start = parse_start_line(src.get(..first_end).ok_or(ParseError::BadStartLine)?)?;
    let headers = parse_headers(&src, first_end + 2)?;
    Ok(Head {
        start,
        headers,
        body_offset: skip + end + 4,
    })
}

/// Parses a Request-Line or Status-Line.
fn parse_start_line(line: &str) -> Result<StartLine, ParseError> {
    if line.bytes().any(|b| b == b'\r' || b == b'\n') {
        return Err(ParseError::BadStartLine);
    }
    if line.len() >= 4
        && line
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("SIP/"))
    {
        return parse_status_line(line);
    }
    // RFC 3261 §7.1: Method SP Request-URI SP SIP-Version, single SPs.
    let first = line.find(' ').ok_or(ParseError::BadStartLine)?;
    let last = line.rfind(' ').ok_or(ParseError::BadStartLine)?;
    if last <= first {
        return Err(ParseError::BadStartLine);
    }
    let method = line.get(..first).unwrap_or("");
    let uri = line.get(first + 1..last).unwrap_or("");
    let version = line.get(last + 1..).unwrap_or("");
    check_version(version)?;
    let method = Method::from_token(method).ok_or(ParseError::BadMethod)?;
    if uri.is_empty() || uri.starts_with(' ') || uri.ends_with(' ') {
        return Err(ParseError::BadStartLine);
    }
    let uri = Uri::parse(uri)?;
    Ok(StartLine::Request { method, uri })
}

/// Parses `SIP-Version SP Status-Code SP Reason-Phrase`.
fn parse_status_line(line: &str) -> Result<StartLine, ParseError> {
    let (version, rest) = line.split_once(' ').ok_or(ParseError::BadStartLine)?;
    check_version(version)?;
    let (code, reason) = match rest.split_once(' ') {
        Some((c, r)) => (c, r),
        None => (rest, ""),
    };
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::BadStatus);
    }
    let status: u16 = code.parse().map_err(|_| ParseError::BadStatus)?;
    if !(100..=699).contains(&status) {
        return Err(ParseError::BadStatus);
    }
    Ok(StartLine::Response {
        status,
        reason: reason.to_owned(),
    })
}

/// RFC 3261 §7.1: `SIP/2.0`, case-insensitive; another well-formed version is
/// [`ParseError::BadVersion`] (answered with 505), anything else a bad start line.
fn check_version(v: &str) -> Result<(), ParseError> {
    if v.eq_ignore_ascii_case("SIP/2.0") {
        return Ok(());
    }
    let well_formed = v.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("SIP/"))
        && v.get(4..)
            .and_then(|n| n.split_once('.'))
            .is_some_and(|(a, b)| {
                !a.is_empty()
                    && !b.is_empty()
                    && a.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit())
            });
    if well_formed {
        Err(ParseError::BadVersion)
    } else {
        Err(ParseError::BadStartLine)
    }
}

/// Splits the header lines starting at `pos` (each ending in CRLF) into [`Header`]s.
fn parse_headers(src: &Arc<str>, mut pos: usize) -> Result<Headers, ParseError> {
    let bytes = src.as_bytes();
    let mut headers = Headers::with_capacity(16);
    // (start, end, folded, first line number) of the header being collected.
    let mut current: Option<(usize, usize, bool, usize)> = None;
    let mut line_no = 1;
    while pos < bytes.len() {
        line_no += 1;
        let end = find_crlf(bytes, pos).ok_or(ParseError::BadHeader { line: line_no })?;
        let first = bytes.get(pos).copied();
        if matches!(first, Some(b' ' | b'\t')) {
            // RFC 3261 §7.3.1: a line starting with whitespace continues the previous one.
            match current.as_mut() {
                Some(cur) => {
                    cur.1 = end;
                    cur.2 = true;
                }
                None => return Err(ParseError::BadHeader { line: line_no }),
            }
        } else {
            if let Some((s, e, folded, line)) = current.take() {
                headers.push_header(make_header(src, s, e, folded, line)?);
            }
            current = Some((pos, end, false, line_no));
        }
        pos = end + 2;
    }
    if let Some((s, e, folded, line)) = current {
        headers.push_header(make_header(src, s, e, folded, line)?);
    }
    Ok(headers)
}

/// Index of the first CRLF at or after `from` (a bare LF does not end a line).
fn find_crlf(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    loop {
        let lf = at + memchr::memchr(b'\n', bytes.get(at..)?)?;
        if lf > from && bytes.get(lf - 1) == Some(&b'\r') {
            return Some(lf - 1);
        }
        at = lf + 1;
    }
}

/// Builds one header from the line(s) `src[start..end]`.
fn make_header(
    src: &Arc<str>,
    start: usize,
    end: usize,
    folded: bool,
    line: usize,
) -> Result<Header, ParseError> {
    let bad = ParseError::BadHeader { line };
    let text = src.get(start..end).ok_or(bad.clone())?;
    let colon = memchr::memchr(b':', text.as_bytes()).ok_or(bad.clone())?;
    // RFC 3261 §7.3.1: whitespace is allowed between the name and the colon.
    let name = text
        .get(..colon)
        .unwrap_or("")
        .trim_end_matches([' ', '\t']);
    if name.is_empty() || !name.bytes().all(is_token_char) {
        return Err(bad);
    }
    let raw_value = text.get(colon + 1..).unwrap_or("");
    let name = HeaderName::from_bytes(name.as_bytes());
    // RFC 3261 §7.3.1: CR and LF appear only as CRLF line folding, never bare.
    let has_bare_eol = |v: &str| memchr::memchr2(b'\r', b'\n', v.as_bytes()).is_some();
    if folded {
        let unfolded = unfold(raw_value);
        if has_bare_eol(&unfolded) {
            return Err(bad);
        }
        return Ok(Header::from_wire(
            name,
            Arc::clone(src),
            (start, end),
            (0, 0),
            Some(unfolded.into_boxed_str()),
        ));
    }
    if has_bare_eol(raw_value) {
        return Err(bad);
    }
    let value = trim_lws(raw_value);
    let vstart =
        start + colon + 1 + (raw_value.len() - raw_value.trim_start_matches([' ', '\t']).len());
    Ok(Header::from_wire(
        name,
        Arc::clone(src),
        (start, end),
        (vstart, vstart + value.len()),
        None,
    ))
}

/// Replaces each `*WSP CRLF 1*WSP` by one space and trims (RFC 3261 §7.3.1).
fn unfold(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for (i, part) in v.split("\r\n").enumerate() {
        if i == 0 {
            out.push_str(part.trim_end_matches([' ', '\t']));
        } else {
            let part = part.trim_start_matches([' ', '\t']);
            if !out.is_empty() && !part.is_empty() {
                out.push(' ');
            }
            out.push_str(part.trim_end_matches([' ', '\t']));
        }
    }
    trim_lws(&out).to_owned()
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
