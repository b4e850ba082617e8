//! Generic `;name[=value]` parameter lists used by URIs, Via and name-addr headers
//! (RFC 3261 §25.1 `generic-param`, `uri-parameter`). Names compare case-insensitively;
//! names and values are kept as received (escapes and quotes untouched) so that
//! `Display` reproduces the input. Depends on [`crate::sip::message::lex`].

use std::fmt;

use crate::sip::message::error::ParseError;
use crate::sip::message::lex::{find_unquoted, trim_lws};

/// An ordered list of parameters; `None` value means a flag parameter (`;lr`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(pub Vec<(String, Option<String>)>);

impl Params {
    /// An empty list.
    pub fn new() -> Params {
        Params(Vec::new())
    }

    /// The value of the first parameter called `name` (case-insensitive): `None` if absent,
    /// `Some(None)` for a flag, `Some(Some(v))` for `name=v`.
    pub fn get(&self, name: &str) -> Option<Option<&str>> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }

    /// Whether a parameter called `name` (case-insensitive) is present.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Sets `name` to `value`, replacing the first existing one in place or appending.
    pub fn set(&mut self, name: impl Into<String>, value: Option<String>) {
        let name = name.into();
        match self
            .0
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(&name))
        {
            Some(slot) => slot.1 = value,
            None => self.0.push((name, value)),
        }
    }

    /// Removes every parameter called `name`; returns whether any was present.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.0.len();
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        before != self.0.len()
    }

    /// Iterates over `(name, value)` pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_deref()))
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Parses `;a=b;c` (the leading `;` optional, LWS around `;` and `=` allowed, values
    /// may be quoted strings). `valid` checks each name/unquoted value character; `err` is
    /// returned on any violation.
    pub(crate) fn parse_with(
        input: &str,
        valid: impl Fn(u8) -> bool + Copy,
        err: ParseError,
    ) -> Result<Params, ParseError> {
        let mut out = Vec::new();
        let mut rest = trim_lws(input);
        if rest.is_empty() {
            return Ok(Params(out));
        }
        rest = rest.strip_prefix(';').ok_or_else(|| err.clone())?;
        loop {
            let (item, next) = match find_unquoted(rest, b';') {
                Some(i) => (rest.get(..i).unwrap_or(""), rest.get(i + 1..)),
                None => (rest, None),
            };
            out.push(parse_one(item, valid, &err)?);
            match next {
                Some(n) => rest = n,
                None => break,
            }
        }
        Ok(Params(out))
    }
}

/// Parses one `name[=value]` item.
fn parse_one(
    item: &str,
    valid: impl Fn(u8) -> bool + Copy,
    err: &ParseError,
) -> Result<(String, Option<String>), ParseError> {
    let (name, value) = match item.find('=') {
        Some(i) => (
            trim_lws(item.get(..i).unwrap_or("")),
            Some(trim_lws(item.get(i + 1..).unwrap_or(""))),
        ),
        None => (trim_lws(item), None),
    };
    if name.is_empty() || !name.bytes().all(valid) {
        return Err(err.clone());
    }
    if let Some(v) = value {
        let ok = if v.starts_with('"') {
            is_quoted_string(v)
        } else {
            !v.is_empty() && v.bytes().all(valid)
        };
        if !ok {
            return Err(err.clone());
        }
    }
    Ok((name.to_owned(), value.map(str::to_owned)))
}

/// Whether `s` is exactly one RFC 3261 `quoted-string` (with `\` escapes).
pub(crate) fn is_quoted_string(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 2 || b.first() != Some(&b'"') {
        return false;
    }
    let mut i = 1;
    while let Some(&c) = b.get(i) {
        match c {
            b'\\' => i += 2,
            b'"' => return i + 1 == b.len(),
            b'\r' | b'\n' => return false,
            _ => i += 1,
        }
    }
    false
}

/// Character class for generic header parameters (token chars plus the host/IPv6
/// characters that appear in `received=`/`maddr=` values).
#[inline]
pub(crate) fn is_generic_param_char(b: u8) -> bool {
    crate::sip::message::lex::is_token_char(b) || matches!(b, b':' | b'[' | b']')
}

impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, value) in &self.0 {
            match value {
                Some(v) => write!(f, ";{name}={v}")?,
                None => write!(f, ";{name}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Params, ParseError> {
        Params::parse_with(s, is_generic_param_char, ParseError::BadUri)
    }

    #[test]
    fn parses_flags_values_and_quotes() {
        let p = parse(";branch=z9hG4bK1 ; rport ;X=\"a;b\"").expect("valid");
        assert_eq!(p.get("BRANCH"), Some(Some("z9hG4bK1")));
        assert_eq!(p.get("rport"), Some(None));
        assert_eq!(p.get("x"), Some(Some("\"a;b\"")));
        assert_eq!(p.get("nope"), None);
        assert_eq!(p.to_string(), ";branch=z9hG4bK1;rport;X=\"a;b\"");
    }

    #[test]
    fn rejects_bad_params() {
        for bad in ["branch=1", ";", ";a=", ";a b=1", ";a=\"open", ";a=<x>"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn set_and_remove() {
        let mut p = parse(";a=1;b").expect("valid");
        p.set("A", Some("2".into()));
        p.set("c", None);
        assert!(p.remove("b"));
        assert!(!p.remove("b"));
        assert_eq!(p.to_string(), ";a=2;c");
        assert_eq!(p.len(), 2);
    }
}
