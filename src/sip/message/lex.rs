//! Lexical helpers shared by the message parsers: RFC 3261 §25.1 character classes,
//! linear-whitespace trimming, and list splitting aware of quoted strings and `<...>`.
//! Depends on nothing else in the crate.

/// Lookup table for [`is_token_char`] (built at compile time).
const TOKEN_CHARS: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
            );
        i += 1;
    }
    table
};

/// RFC 3261 §25.1 `token` character.
#[inline]
pub(crate) fn is_token_char(b: u8) -> bool {
    TOKEN_CHARS[usize::from(b)]
}

/// Whether `s` is a non-empty RFC 3261 `token`.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_char)
}

/// Linear whitespace inside an (already unfolded) header value: SP, HTAB, CR, LF.
#[inline]
pub(crate) fn is_lws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Trims linear whitespace from both ends.
pub(crate) fn trim_lws(s: &str) -> &str {
    let b = s.as_bytes();
    let start = b.iter().position(|&c| !is_lws(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|&c| !is_lws(c)).map_or(start, |i| i + 1);
    // LWS bytes are ASCII, so both ends are char boundaries.
    s.get(start..end).unwrap_or("")
}

/// Finds the first occurrence of `needle` in `s` that is outside quoted strings and
/// outside `<...>`. Returns its byte index.
pub(crate) fn find_unquoted(s: &str, needle: u8) -> Option<usize> {
    let bytes = s.as_bytes();
    // Fast path: without quotes or brackets every occurrence counts.
    if memchr::memchr2(b'"', b'<', bytes).is_none() {
        return memchr::memchr(needle, bytes);
    }
    let mut in_quotes = false;
    let mut in_angle = false;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if in_quotes {
            match b {
                b'\\' => i += 1,
                b'"' => in_quotes = false,
                _ => {}
            }
        } else if b == needle && !in_angle {
            return Some(i);
        } else {
            match b {
                b'"' => in_quotes = true,
                b'<' => in_angle = true,
                b'>' => in_angle = false,
                _ => {}
            }
        }
        i += 1;
    }
    None
}

/// Iterator over the comma-separated elements of a header value (RFC 3261 §7.3.1), ignoring
/// commas inside quoted strings and `<...>`. Elements are LWS-trimmed; empty ones skipped.
pub(crate) struct ListIter<'a> {
    rest: Option<&'a str>,
}

impl<'a> ListIter<'a> {
    /// Splits `value`.
    pub(crate) fn new(value: &'a str) -> Self {
        ListIter { rest: Some(value) }
    }
}

impl<'a> Iterator for ListIter<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        loop {
            let rest = self.rest?;
            let (item, next) = match find_unquoted(rest, b',') {
                Some(i) => (rest.get(..i).unwrap_or(""), rest.get(i + 1..)),
                None => (rest, None),
            };
            self.rest = next;
            let item = trim_lws(item);
            if !item.is_empty() {
                return Some(item);
            }
        }
    }
}

/// Splits at the first unquoted `;`: returns (before, rest starting with `;` or empty).
pub(crate) fn split_params(s: &str) -> (&str, &str) {
    match find_unquoted(s, b';') {
        Some(i) => (s.get(..i).unwrap_or(""), s.get(i..).unwrap_or("")),
        None => (s, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_split_respects_quotes_and_brackets() {
        let cases: &[(&str, &[&str])] = &[
            ("a, b ,c", &["a", "b", "c"]),
            (
                "\"Doe, J\" <sip:a@b>, <sip:c,d@e>;x=1",
                &["\"Doe, J\" <sip:a@b>", "<sip:c,d@e>;x=1"],
            ),
            ("\"q\\\",x\" <sip:a>", &["\"q\\\",x\" <sip:a>"]),
            (" , ,", &[]),
            ("", &[]),
        ];
        for (input, want) in cases {
            let got: Vec<&str> = ListIter::new(input).collect();
            assert_eq!(&got, want, "{input}");
        }
    }

    #[test]
    fn split_params_finds_first_unquoted_semicolon() {
        assert_eq!(split_params("<sip:a;b>;tag=1"), ("<sip:a;b>", ";tag=1"));
        assert_eq!(split_params("x"), ("x", ""));
        assert_eq!(split_params("\"a;b\" <x>;p"), ("\"a;b\" <x>", ";p"));
    }
}
