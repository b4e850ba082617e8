//! The header section: an ordered list of [`Header`]s. Parsed headers keep a reference to
//! the shared source text, so a header the application never touches is written back byte
//! for byte and costs no allocation; new or modified headers are owned strings written in
//! canonical form. Typed accessors live in [`super::typed`] and parse only when called.
//! Depends on [`super::header_name`], [`super::lex`].

use std::sync::Arc;

use super::header_name::HeaderName;
use super::lex::{find_unquoted, ListIter};

/// Where a header's text lives.
#[derive(Debug, Clone)]
enum Repr {
    /// Straight from the wire: `line` is the whole original line(s) (without the final CRLF),
    /// `value` the trimmed value inside `src`; `unfolded` is set when the value spanned
    /// several lines (RFC 3261 §7.3.1 folding) and holds it joined with single spaces.
    Wire {
        src: Arc<str>,
        line: (usize, usize),
        value: (usize, usize),
        unfolded: Option<Box<str>>,
    },
    /// Created or modified by the application.
    Owned(Box<str>),
}

/// One header field line.
#[derive(Debug, Clone)]
pub struct Header {
    name: HeaderName,
    repr: Repr,
}

impl Header {
    /// A new header (written canonically as `Name: value`).
    pub fn new(name: HeaderName, value: impl Into<String>) -> Header {
        Header {
            name,
            repr: Repr::Owned(value.into().into_boxed_str()),
        }
    }

    /// A header that points into parsed source text.
    pub(crate) fn from_wire(
        name: HeaderName,
        src: Arc<str>,
        line: (usize, usize),
        value: (usize, usize),
        unfolded: Option<Box<str>>,
    ) -> Header {
        Header {
            name,
            repr: Repr::Wire {
                src,
                line,
                value,
                unfolded,
            },
        }
    }

    /// The header's name.
    pub fn name(&self) -> &HeaderName {
        &self.name
    }

    /// The value, unfolded and with surrounding whitespace trimmed.
    pub fn value(&self) -> &str {
        match &self.repr {
            Repr::Wire {
                unfolded: Some(u), ..
            } => u,
            Repr::Wire { src, value, .. } => src.get(value.0..value.1).unwrap_or(""),
            Repr::Owned(v) => v,
        }
    }

    /// The original line as received (folding included, no final CRLF), when untouched.
    pub fn raw(&self) -> Option<&str> {
        match &self.repr {
            Repr::Wire { src, line, .. } => src.get(line.0..line.1),
            Repr::Owned(_) => None,
        }
    }
}

/// An ordered header list; insertion order is kept and significant (RFC 3261 §7.3.1).
#[derive(Debug, Clone, Default)]
pub struct Headers {
    list: Vec<Header>,
}

impl Headers {
    /// An empty header list.
    pub fn new() -> Headers {
        Headers { list: Vec::new() }
    }

    /// A list with room for `n` headers.
    pub(crate) fn with_capacity(n: usize) -> Headers {
        Headers {
            list: Vec::with_capacity(n),
        }
    }

    /// Appends a parsed header.
    pub(crate) fn push_header(&mut self, h: Header) {
        self.list.push(h);
    }

    /// The whole value of the first header called `name`.
    pub fn get(&self, name: &HeaderName) -> Option<&str> {
        self.list
            .iter()
            .find(|h| h.name == *name)
            .map(Header::value)
    }

    /// The value of every line called `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a str> + 'a {
        self.list
            .iter()
            .filter(move |h| h.name == *name)
            .map(Header::value)
    }

    /// The comma-separated list elements across every line called `name` (RFC 3261 §7.3.1),
    /// ignoring commas inside quoted strings and `<...>`. Do not use for headers whose
    /// grammar is not a list (Date, WWW-Authenticate, Authorization).
    pub fn values<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a str> + 'a {
        self.get_all(name).flat_map(ListIter::new)
    }

    /// Appends a header.
    pub fn push(&mut self, name: HeaderName, value: impl Into<String>) {
        self.list.push(Header::new(name, value));
    }

    /// Inserts a header before all others.
    pub fn push_front(&mut self, name: HeaderName, value: impl Into<String>) {
        self.list.insert(0, Header::new(name, value));
    }

    /// Replaces every header called `name` with one header holding `value`, at the
    /// position of the first one (appended when there was none).
    pub fn set(&mut self, name: HeaderName, value: impl Into<String>) {
        let pos = self.list.iter().position(|h| h.name == name);
        let header = Header::new(name, value);
        match pos {
            Some(i) => {
                let name = header.name.clone();
                let mut idx = 0;
                self.list.retain(|h| {
                    let keep = idx <= i || h.name != name;
                    idx += 1;
                    keep
                });
                if let Some(slot) = self.list.get_mut(i) {
                    *slot = header;
                }
            }
            None => self.list.push(header),
        }
    }

    /// Removes every header called `name`; returns how many were removed.
    pub fn remove(&mut self, name: &HeaderName) -> usize {
        let before = self.list.len();
        self.list.retain(|h| h.name != *name);
        before - self.list.len()
    }

    /// Replaces the first list element of the first header called `name` (e.g. the top Via
    /// of `Via: a, b` becomes `Via: value, b`). Returns false when there is no such header.
    pub fn replace_first(&mut self, name: &HeaderName, value: impl Into<String>) -> bool {
        let Some(h) = self.list.iter_mut().find(|h| h.name == *name) else {
            return false;
        };
        let mut value = value.into();
        let old = h.value();
        if let Some(i) = find_unquoted(old, b',') {
            let rest = old.get(i + 1..).unwrap_or("").trim_start();
            if !rest.is_empty() {
                value.push_str(", ");
                value.push_str(rest);
            }
        }
        h.repr = Repr::Owned(value.into_boxed_str());
        true
    }

    /// Removes the first list element of the first header called `name` (dropping the
    /// line when it held only that element). Returns false when there is no such header.
    pub fn remove_first(&mut self, name: &HeaderName) -> bool {
        let Some(pos) = self.list.iter().position(|h| h.name == *name) else {
            return false;
        };
        let rest = self.list.get(pos).and_then(|h| {
            let old = h.value();
            find_unquoted(old, b',')
                .map(|i| old.get(i + 1..).unwrap_or("").trim().to_owned())
                .filter(|r| !r.is_empty())
        });
        match rest {
            Some(r) => {
                if let Some(h) = self.list.get_mut(pos) {
                    h.repr = Repr::Owned(r.into_boxed_str());
                }
            }
            None => {
                self.list.remove(pos);
            }
        }
        true
    }

    /// Iterates over all headers in order.
    pub fn iter(&self) -> impl Iterator<Item = &Header> {
        self.list.iter()
    }

    /// Number of header lines.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there are no headers.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Whether any header is called `name`.
    pub fn contains(&self, name: &HeaderName) -> bool {
        self.list.iter().any(|h| h.name == *name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Headers {
        let mut h = Headers::new();
        h.push(
            HeaderName::Via,
            "SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2",
        );
        h.push(HeaderName::Via, "SIP/2.0/TCP c;branch=z9hG4bK3");
        h.push(HeaderName::From, "<sip:a@b>;tag=1");
        h
    }

    #[test]
    fn values_split_across_lines() {
        let h = sample();
        let vias: Vec<&str> = h.values(&HeaderName::Via).collect();
        assert_eq!(vias.len(), 3);
        assert_eq!(vias[2], "SIP/2.0/TCP c;branch=z9hG4bK3");
        assert_eq!(h.get_all(&HeaderName::Via).count(), 2);
    }

    #[test]
    fn replace_and_remove_first_element() {
        let mut h = sample();
        assert!(h.replace_first(&HeaderName::Via, "SIP/2.0/UDP x;branch=z9hG4bKx"));
        assert_eq!(
            h.get(&HeaderName::Via),
            Some("SIP/2.0/UDP x;branch=z9hG4bKx, SIP/2.0/UDP b;branch=z9hG4bK2")
        );
        assert!(h.remove_first(&HeaderName::Via));
        assert!(h.remove_first(&HeaderName::Via));
        assert_eq!(
            h.get(&HeaderName::Via),
            Some("SIP/2.0/TCP c;branch=z9hG4bK3")
        );
        assert!(!h.replace_first(&HeaderName::To, "x"));
    }

    #[test]
    fn set_keeps_first_position_and_remove_counts() {
        let mut h = sample();
        h.set(HeaderName::Via, "SIP/2.0/UDP only");
        let names: Vec<&str> = h.iter().map(|x| x.name().as_str()).collect();
        assert_eq!(names, ["Via", "From"]);
        h.set(HeaderName::To, "<sip:t@b>");
        assert_eq!(h.len(), 3);
        h.push_front(HeaderName::Via, "SIP/2.0/UDP top");
        assert_eq!(h.remove(&HeaderName::Via), 2);
        assert_eq!(h.len(), 2);
    }
}
