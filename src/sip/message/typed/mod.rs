//! Typed header values and the lazy typed accessors on [`Headers`]: nothing here runs at
//! parse time; each accessor parses the stored text when called (RFC 3261 §7.3.1 allows
//! header values to be parsed on demand). Depends on [`super::headers`], [`super::uri`].

pub mod cseq;
pub mod name_addr;
pub mod params;
pub mod via;

use self::cseq::CSeq;
use self::name_addr::{ContactValue, NameAddr};
use self::via::Via;
use super::error::ParseError;
use super::header_name::HeaderName;
use super::headers::Headers;

impl Headers {
    /// The first (topmost) Via value.
    pub fn top_via(&self) -> Result<Via, ParseError> {
        let first = self
            .values(&HeaderName::Via)
            .next()
            .ok_or(ParseError::MissingHeader("Via"))?;
        Via::parse(first)
    }

    /// Every Via value, top first, across lines and comma lists.
    pub fn vias(&self) -> Result<Vec<Via>, ParseError> {
        self.values(&HeaderName::Via).map(Via::parse).collect()
    }

    /// The From header.
    pub fn from(&self) -> Result<NameAddr, ParseError> {
        self.single_name_addr(&HeaderName::From, "From")
    }

    /// The To header.
    pub fn to(&self) -> Result<NameAddr, ParseError> {
        self.single_name_addr(&HeaderName::To, "To")
    }

    /// Parses a header that must occur exactly once and hold one name-addr.
    fn single_name_addr(
        &self,
        name: &HeaderName,
        label: &'static str,
    ) -> Result<NameAddr, ParseError> {
        let mut all = self.get_all(name);
        let value = all.next().ok_or(ParseError::MissingHeader(label))?;
        // RFC 3261 §7.3.1: From/To are not lists; a second line is an error.
        if all.next().is_some() {
            return Err(ParseError::BadHeaderValue { header: label });
        }
        NameAddr::parse_for(value, label)
    }

    /// The Call-ID (RFC 3261 §20.8: `word [ "@" word ]`, no whitespace).
    pub fn call_id(&self) -> Result<&str, ParseError> {
        let mut all = self.get_all(&HeaderName::CallId);
        let v = all.next().ok_or(ParseError::MissingHeader("Call-ID"))?;
        if v.is_empty() || v.bytes().any(|b| b <= b' ' || b == 0x7f) || all.next().is_some() {
            return Err(ParseError::BadHeaderValue { header: "Call-ID" });
        }
        Ok(v)
    }

    /// The CSeq header.
    pub fn cseq(&self) -> Result<CSeq, ParseError> {
        let mut all = self.get_all(&HeaderName::CSeq);
        let v = all.next().ok_or(ParseError::MissingHeader("CSeq"))?;
        if all.next().is_some() {
            return Err(ParseError::BadHeaderValue { header: "CSeq" });
        }
        CSeq::parse(v)
    }

    /// Every Contact value across lines; empty when there is no Contact. `*` must be the
    /// only value (RFC 3261 §10.2.2).
    pub fn contacts(&self) -> Result<Vec<ContactValue>, ParseError> {
        let mut out = Vec::new();
        for v in self.values(&HeaderName::Contact) {
            if v == "*" {
                out.push(ContactValue::Star);
            } else {
                out.push(ContactValue::Addr(NameAddr::parse_for(v, "Contact")?));
            }
        }
        if out.len() > 1 && out.iter().any(|c| matches!(c, ContactValue::Star)) {
            return Err(ParseError::BadHeaderValue { header: "Contact" });
        }
        Ok(out)
    }

    /// Max-Forwards (RFC 3261 §20.22), `None` when absent. Values above 255 are outside
    /// the legal range (RFC 4475 §3.1.2.4) and reported as malformed.
    pub fn max_forwards(&self) -> Result<Option<u32>, ParseError> {
        match self.scalar(&HeaderName::MaxForwards, "Max-Forwards")? {
            Some(n) if n > 255 => Err(ParseError::BadHeaderValue {
                header: "Max-Forwards",
            }),
            other => Ok(other),
        }
    }

    /// Expires (RFC 3261 §20.19, delta-seconds), `None` when absent.
    pub fn expires(&self) -> Result<Option<u32>, ParseError> {
        self.scalar(&HeaderName::Expires, "Expires")
    }

    /// Min-Expires (RFC 3261 §20.23), `None` when absent.
    pub fn min_expires(&self) -> Result<Option<u32>, ParseError> {
        self.scalar(&HeaderName::MinExpires, "Min-Expires")
    }

    /// A single `1*DIGIT` header value that must fit in a u32.
    fn scalar(&self, name: &HeaderName, label: &'static str) -> Result<Option<u32>, ParseError> {
        let mut all = self.get_all(name);
        let Some(v) = all.next() else { return Ok(None) };
        let bad = ParseError::BadHeaderValue { header: label };
        if all.next().is_some() || v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad);
        }
        v.parse().map(Some).map_err(|_| bad)
    }

    /// Route or Record-Route entries (pass the header name), across lines and lists.
    pub fn routes(&self, name: &HeaderName) -> Result<Vec<NameAddr>, ParseError> {
        let label = match name {
            HeaderName::RecordRoute => "Record-Route",
            HeaderName::Route => "Route",
            other => other.static_name(),
        };
        self.values(name)
            .map(|v| NameAddr::parse_for(v, label))
            .collect()
    }

    /// The Date header (RFC 3261 §20.17: an RFC 1123 date that MUST be in GMT), `None`
    /// when absent. Only the shape is checked: `Wkday, DD Mon YYYY HH:MM:SS GMT`.
    pub fn date(&self) -> Result<Option<&str>, ParseError> {
        let Some(v) = self.get(&HeaderName::Date) else {
            return Ok(None);
        };
        let bad = ParseError::BadHeaderValue { header: "Date" };
        let parts: Vec<&str> = v.split_ascii_whitespace().collect();
        let [wkday, day, month, year, time, zone] = parts.as_slice() else {
            return Err(bad);
        };
        const WKDAYS: [&str; 7] = ["Mon,", "Tue,", "Wed,", "Thu,", "Fri,", "Sat,", "Sun,"];
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        let time_ok = time.split(':').count() == 3 && time.split(':').all(|p| digits(p, 2));
        let ok = WKDAYS.contains(wkday)
            && digits(day, 2)
            && MONTHS.contains(month)
            && digits(year, 4)
            && time_ok
            && *zone == "GMT";
        if ok {
            Ok(Some(v))
        } else {
            Err(bad)
        }
    }

    /// The Content-Type value, if any (media type with parameters, unparsed).
    pub fn content_type(&self) -> Option<&str> {
        self.get(&HeaderName::ContentType)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message::method::Method;

    fn headers(lines: &[(HeaderName, &str)]) -> Headers {
        let mut h = Headers::new();
        for (n, v) in lines {
            h.push(n.clone(), *v);
        }
        h
    }

    #[test]
    fn accessors_parse_on_demand() {
        let h = headers(&[
            (
                HeaderName::Via,
                "SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/TCP b;branch=z9hG4bK2",
            ),
            (HeaderName::From, "<sip:a@b>;tag=f"),
            (HeaderName::To, "sip:c@d"),
            (HeaderName::CallId, "abc@host"),
            (HeaderName::CSeq, "3 INVITE"),
            (
                HeaderName::Contact,
                "<sip:a@1.2.3.4>;expires=30, \"X\" <sip:b@h>",
            ),
            (HeaderName::MaxForwards, "70"),
            (HeaderName::RecordRoute, "<sip:p1;lr>, <sip:p2;lr>"),
        ]);
        assert_eq!(h.top_via().expect("via").branch(), Some("z9hG4bK1"));
        assert_eq!(h.vias().expect("vias").len(), 2);
        assert_eq!(h.from().expect("from").tag(), Some("f"));
        assert_eq!(h.to().expect("to").tag(), None);
        assert_eq!(h.call_id(), Ok("abc@host"));
        assert_eq!(h.cseq().expect("cseq").method, Method::Invite);
        assert_eq!(h.contacts().expect("contacts").len(), 2);
        assert_eq!(h.max_forwards(), Ok(Some(70)));
        assert_eq!(h.expires(), Ok(None));
        assert_eq!(h.routes(&HeaderName::RecordRoute).expect("rr").len(), 2);
    }

    #[test]
    fn accessors_report_missing_and_bad() {
        let h = headers(&[
            (HeaderName::MaxForwards, "-1"),
            (HeaderName::Contact, "*, <sip:a@b>"),
            (HeaderName::CallId, "a b"),
        ]);
        assert_eq!(h.top_via(), Err(ParseError::MissingHeader("Via")));
        assert_eq!(h.from(), Err(ParseError::MissingHeader("From")));
        assert_eq!(h.cseq(), Err(ParseError::MissingHeader("CSeq")));
        assert_eq!(
            h.max_forwards(),
            Err(ParseError::BadHeaderValue {
                header: "Max-Forwards"
            })
        );
        assert_eq!(
            h.contacts(),
            Err(ParseError::BadHeaderValue { header: "Contact" })
        );
        assert_eq!(
            h.call_id(),
            Err(ParseError::BadHeaderValue { header: "Call-ID" })
        );
        assert_eq!(
            ParseError::MissingHeader("Call-ID").reason(),
            "Missing Call-ID"
        );
        let dates = [
            ("Sat, 13 Nov 2010 23:29:00 GMT", true),
            ("Fri, 01 Jan 2010 16:00:00 EST", false),
            ("13 Nov 2010", false),
        ];
        for (d, ok) in dates {
            let h = headers(&[(HeaderName::Date, d)]);
            assert_eq!(h.date().is_ok(), ok, "{d}");
        }
    }
}
