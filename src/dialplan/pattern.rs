//! Asterisk extension patterns: parsing, matching and best-match ordering.
//!
//! An extension is either a **literal** (`1000`, `*43`, `s`, `+15550100`) that matches only
//! itself, or a **pattern** starting with `_` whose characters are:
//!
//! | char | matches |
//! |---|---|
//! | `X` / `x` | one digit `0-9` |
//! | `Z` / `z` | one digit `1-9` |
//! | `N` / `n` | one digit `2-9` |
//! | `[1-5]`, `[14-7]` | one character of the set (ranges and single characters, ASCII) |
//! | `.` | one or more characters of anything (must be last) |
//! | `!` | zero or more characters of anything (must be last) |
//! | anything else | itself (`0-9`, `*`, `#`, `+`, letters, `-`; no special meaning) |
//!
//! # Best-match ordering
//!
//! When several extensions of one context match a dialled number, the best is chosen by
//! [`Pattern::cmp_specificity`] (smaller = better):
//!
//! 1. A literal beats every pattern.
//! 2. Two patterns are compared element by element, left to right. Each element has a
//!    weight `(class, size)`: a single character is `(0, 1)`, a set is `(0, n)` with `n` the
//!    number of characters it accepts (`N` = 8, `Z` = 9, `X` = 10, `[1-5]` = 5), `.` is
//!    `(1, 0)` and `!` is `(2, 0)`. The first element whose weights differ decides: the
//!    smaller weight wins, so a digit beats a set, a smaller set beats a larger one, and any
//!    character or set beats `.`, which beats `!`.
//! 3. If one pattern is a prefix of the other (all compared elements equal), the shorter
//!    wins (`_1!` only matches `1` with `!` empty, and "ends here" is more specific).
//! 4. Remaining ties (`[12]` vs `[34]`, same weights) are broken by the text of the
//!    pattern, byte-wise, so the order is total and deterministic.
//!
//! The order is static: sorting a context's patterns once and taking the first that matches
//! gives the best match (see `super::matcher`).
//!
//! Depends on: std, thiserror.

use std::cmp::Ordering;

/// A set of ASCII characters, one bit per code point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CharSet(u128);

impl CharSet {
    /// The set of the inclusive range `from..=to` (both ASCII).
    fn range(from: u8, to: u8) -> CharSet {
        let mut bits = 0u128;
        for b in from..=to {
            bits |= 1u128 << b;
        }
        CharSet(bits)
    }

    /// Whether `c` is in the set.
    pub fn contains(self, c: char) -> bool {
        let code = c as u32;
        code < 128 && self.0 & (1u128 << code) != 0
    }

    /// How many characters the set accepts.
    pub fn len(self) -> u32 {
        self.0.count_ones()
    }

    /// Whether the set accepts nothing.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The ASCII bytes in the set, ascending.
    pub fn bytes(self) -> impl Iterator<Item = u8> {
        (0u8..128).filter(move |b| self.0 & (1u128 << b) != 0)
    }
}

/// One element of a `_` pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Element {
    /// A character that matches only itself.
    Char(char),
    /// One character out of a set (`X`, `Z`, `N`, `[...]`).
    Set(CharSet),
    /// `.`: one or more characters of anything.
    OneOrMore,
    /// `!`: zero or more characters of anything.
    ZeroOrMore,
}

impl Element {
    /// The `(class, size)` weight used by the best-match order (see the module doc).
    pub fn weight(self) -> (u8, u32) {
        match self {
            Element::Char(_) => (0, 1),
            Element::Set(set) => (0, set.len()),
            Element::OneOrMore => (1, 0),
            Element::ZeroOrMore => (2, 0),
        }
    }

    /// Whether this element accepts `c` as its (first) character.
    pub fn accepts(self, c: char) -> bool {
        match self {
            Element::Char(want) => want == c,
            Element::Set(set) => set.contains(c),
            Element::OneOrMore | Element::ZeroOrMore => true,
        }
    }
}

/// Why an extension name or pattern is invalid. Offsets in [`PatternErrorAt`] are in
/// characters from the start of the extension as written (the `_` is offset 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// Nothing was written where an extension was expected.
    #[error("empty extension")]
    Empty,
    /// `_` alone.
    #[error("`_` must be followed by at least one pattern character")]
    EmptyPattern,
    /// A `[` without its `]`.
    #[error("unclosed `[`")]
    UnclosedSet,
    /// `[]`.
    #[error("empty `[]` set")]
    EmptySet,
    /// `[5-1]`.
    #[error("range {from}-{to} is reversed")]
    ReversedRange {
        /// Start of the range as written.
        from: char,
        /// End of the range as written.
        to: char,
    },
    /// A set may only hold ASCII characters.
    #[error("{0:?} is not allowed in a `[...]` set (ASCII only)")]
    NonAsciiInSet(char),
    /// A `]` with no `[` before it.
    #[error("`]` without `[`")]
    StrayClose,
    /// Something follows `.` or `!`.
    #[error("`{0}` must be the last character of a pattern")]
    WildcardNotLast(char),
    /// Whitespace inside an extension.
    #[error("whitespace inside an extension")]
    Whitespace,
}

/// A [`PatternError`] with the character offset where it was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatternErrorAt {
    /// Offset in characters from the start of the text given to [`Pattern::parse`].
    pub offset: usize,
    /// What is wrong.
    pub error: PatternError,
}

/// A parsed extension: a literal or a `_` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    /// Matches exactly this text.
    Literal(String),
    /// A `_` pattern; the `String` is the text as written (with the `_`), used for ties.
    Match(Vec<Element>, String),
}

impl Pattern {
    /// Parses an extension as written in `exten =>` (already trimmed).
    pub fn parse(text: &str) -> Result<Pattern, PatternErrorAt> {
        let fail = |offset, error| Err(PatternErrorAt { offset, error });
        if text.is_empty() {
            return fail(0, PatternError::Empty);
        }
        if let Some(offset) = text.chars().position(char::is_whitespace) {
            return fail(offset, PatternError::Whitespace);
        }
        let Some(body) = text.strip_prefix('_') else {
            return Ok(Pattern::Literal(text.to_owned()));
        };
        if body.is_empty() {
            return fail(0, PatternError::EmptyPattern);
        }
        let chars: Vec<char> = body.chars().collect();
        let mut elements = Vec::with_capacity(chars.len());
        let mut i = 0;
        while i < chars.len() {
            let offset = i + 1;
            let element = match chars[i] {
                'X' | 'x' => Element::Set(CharSet::range(b'0', b'9')),
                'Z' | 'z' => Element::Set(CharSet::range(b'1', b'9')),
                'N' | 'n' => Element::Set(CharSet::range(b'2', b'9')),
                '.' | '!' => {
                    if i + 1 < chars.len() {
                        return fail(offset, PatternError::WildcardNotLast(chars[i]));
                    }
                    if chars[i] == '.' {
                        Element::OneOrMore
                    } else {
                        Element::ZeroOrMore
                    }
                }
                '[' => {
                    let (set, next) =
                        parse_set(&chars, i).map_err(|(at, error)| PatternErrorAt {
                            offset: at + 1,
                            error,
                        })?;
                    i = next;
                    elements.push(Element::Set(set));
                    continue;
                }
                ']' => return fail(offset, PatternError::StrayClose),
                c => Element::Char(c),
            };
            elements.push(element);
            i += 1;
        }
        Ok(Pattern::Match(elements, text.to_owned()))
    }

    /// Whether this is a literal (not a `_` pattern).
    pub fn is_literal(&self) -> bool {
        matches!(self, Pattern::Literal(_))
    }

    /// The elements of a `_` pattern (empty for a literal).
    pub fn elements(&self) -> &[Element] {
        match self {
            Pattern::Literal(_) => &[],
            Pattern::Match(elements, _) => elements,
        }
    }

    /// The number of characters every match has, or `None` when the pattern ends in `.`/`!`.
    pub fn fixed_len(&self) -> Option<usize> {
        match self {
            Pattern::Literal(text) => Some(text.chars().count()),
            Pattern::Match(elements, _) => match elements.last() {
                Some(Element::OneOrMore | Element::ZeroOrMore) => None,
                _ => Some(elements.len()),
            },
        }
    }

    /// Whether `exten` matches this extension.
    pub fn matches(&self, exten: &str) -> bool {
        match self {
            Pattern::Literal(text) => text == exten,
            Pattern::Match(elements, _) => match_elements(elements, exten),
        }
    }

    /// Whether `prefix` followed by at least one more character could match (for collecting
    /// digits: "wait for more").
    pub fn can_match_more(&self, prefix: &str) -> bool {
        match self {
            Pattern::Literal(text) => text.len() > prefix.len() && text.starts_with(prefix),
            Pattern::Match(elements, _) => {
                let mut rest = elements.iter();
                for c in prefix.chars() {
                    match rest.next() {
                        Some(Element::OneOrMore | Element::ZeroOrMore) => return true,
                        Some(e) if e.accepts(c) => {}
                        _ => return false,
                    }
                }
                rest.next().is_some()
            }
        }
    }

    /// The best-match order (see the module doc): `Less` means `self` is the better match.
    pub fn cmp_specificity(&self, other: &Pattern) -> Ordering {
        match (self, other) {
            (Pattern::Literal(a), Pattern::Literal(b)) => a.cmp(b),
            (Pattern::Literal(_), Pattern::Match(..)) => Ordering::Less,
            (Pattern::Match(..), Pattern::Literal(_)) => Ordering::Greater,
            (Pattern::Match(a, at), Pattern::Match(b, bt)) => {
                for (x, y) in a.iter().zip(b) {
                    let order = x.weight().cmp(&y.weight());
                    if order != Ordering::Equal {
                        return order;
                    }
                }
                a.len().cmp(&b.len()).then_with(|| at.cmp(bt))
            }
        }
    }
}

/// Parses the set starting at `chars[open] == '['`; returns it and the index after `]`, or
/// the index (in `chars`) and kind of the problem.
fn parse_set(chars: &[char], open: usize) -> Result<(CharSet, usize), (usize, PatternError)> {
    let mut bits = 0u128;
    let mut i = open + 1;
    loop {
        let Some(&c) = chars.get(i) else {
            return Err((open, PatternError::UnclosedSet));
        };
        if c == ']' {
            if bits == 0 {
                return Err((open, PatternError::EmptySet));
            }
            return Ok((CharSet(bits), i + 1));
        }
        if !c.is_ascii() {
            return Err((i, PatternError::NonAsciiInSet(c)));
        }
        let is_range =
            chars.get(i + 1) == Some(&'-') && chars.get(i + 2).is_some_and(|&e| e != ']');
        if is_range {
            let end = chars[i + 2];
            if !end.is_ascii() {
                return Err((i + 2, PatternError::NonAsciiInSet(end)));
            }
            if end < c {
                return Err((i, PatternError::ReversedRange { from: c, to: end }));
            }
            bits |= CharSet::range(c as u8, end as u8).0;
            i += 3;
        } else {
            bits |= 1u128 << (c as u32);
            i += 1;
        }
    }
}

/// Matches `exten` against pattern elements (wildcards are only ever last).
fn match_elements(elements: &[Element], exten: &str) -> bool {
    let mut chars = exten.chars();
    for element in elements {
        match element {
            Element::ZeroOrMore => return true,
            Element::OneOrMore => return chars.next().is_some(),
            e => match chars.next() {
                Some(c) if e.accepts(c) => {}
                _ => return false,
            },
        }
    }
    chars.next().is_none()
}

#[cfg(test)]
#[path = "pattern_tests.rs"]
mod tests;
