//! The CSeq header value (RFC 3261 §20.16): a sequence number below 2^31 and a method.
//! Depends on [`crate::sip::message::method`].

use std::fmt;

use crate::sip::message::error::ParseError;
use crate::sip::message::lex::{is_lws, trim_lws};
use crate::sip::message::method::Method;

/// A CSeq value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    /// Sequence number (RFC 3261 §8.1.1.5: less than 2^31).
    pub seq: u32,
    /// Method of the request.
    pub method: Method,
}

/// The error for any malformed CSeq.
const BAD_CSEQ: ParseError = ParseError::BadHeaderValue { header: "CSeq" };

impl CSeq {
    /// Parses `1*DIGIT LWS Method`.
    pub fn parse(s: &str) -> Result<CSeq, ParseError> {
        let s = trim_lws(s);
        let split = s.bytes().position(is_lws).ok_or(BAD_CSEQ)?;
        let (num, method) = s.split_at(split);
        let method = trim_lws(method);
        if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
            return Err(BAD_CSEQ);
        }
        let seq: u32 = num.parse().map_err(|_| BAD_CSEQ)?;
        // RFC 3261 §8.1.1.5: the sequence number MUST be less than 2**31.
        if seq >= 1 << 31 {
            return Err(BAD_CSEQ);
        }
        let method = Method::from_token(method).ok_or(BAD_CSEQ)?;
        Ok(CSeq { seq, method })
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        let ok = [
            ("1 INVITE", 1, Method::Invite),
            ("  42\t REGISTER ", 42, Method::Register),
            (
                "2147483647 FOO",
                2147483647,
                Method::Extension("FOO".into()),
            ),
        ];
        for (input, seq, method) in ok {
            assert_eq!(CSeq::parse(input), Ok(CSeq { seq, method }), "{input}");
        }
        for bad in [
            "",
            "INVITE",
            "1",
            "x INVITE",
            "-1 INVITE",
            "2147483648 INVITE",
            "36893488147419103232 INVITE",
            "1 IN<VITE",
        ] {
            assert_eq!(CSeq::parse(bad), Err(BAD_CSEQ), "{bad}");
        }
        assert_eq!(
            CSeq {
                seq: 7,
                method: Method::Bye
            }
            .to_string(),
            "7 BYE"
        );
    }
}
