//! One physical line of a dialplan file, with its comment removed and `\;` turned into `;`,
//! plus the map from the cleaned text back to the original columns (so diagnostics point at
//! what the admin wrote).
//!
//! Depends on: std.

/// A cleaned line: `text` has no comment and `\;` unescaped; `cols[i]` is the 1-based column
/// (in characters of the original line) of the character starting at byte `i` of `text`.
#[derive(Debug)]
pub(crate) struct Line {
    /// The cleaned text (trailing `\r` and comment removed, not trimmed).
    pub(crate) text: String,
    /// Original column of each byte of `text`, plus one entry for the end.
    cols: Vec<usize>,
}

impl Line {
    /// Cleans `raw` (one line without its `\n`).
    pub(crate) fn clean(raw: &str) -> Line {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let mut text = String::with_capacity(raw.len());
        let mut cols = Vec::with_capacity(raw.len() + 1);
        let mut chars = raw.chars().peekable();
        let mut col = 0;
        while let Some(c) = chars.next() {
            col += 1;
            let start_col = col;
            let c = match c {
                ';' => break,
                '\\' if chars.peek() == Some(&';') => {
                    chars.next();
                    col += 1;
                    ';'
                }
                c => c,
            };
            text.push(c);
            cols.resize(text.len(), start_col);
        }
        cols.push(col + 1);
        Line { text, cols }
    }

    /// The original column of byte offset `byte` of `text` (`text.len()` gives the column just
    /// after the last character).
    pub(crate) fn col(&self, byte: usize) -> usize {
        self.cols
            .get(byte)
            .or_else(|| self.cols.last())
            .copied()
            .unwrap_or(1)
    }
}

/// A trimmed piece of a line: byte range `start..end` of [`Line::text`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    /// First byte.
    pub(crate) start: usize,
    /// One past the last byte.
    pub(crate) end: usize,
}

impl Span {
    /// The span `start..end` of `text` with surrounding whitespace removed (an all-blank span
    /// becomes empty, at `start`).
    pub(crate) fn trimmed(text: &str, start: usize, end: usize) -> Span {
        let piece = &text[start..end];
        let lead = piece.len() - piece.trim_start().len();
        let trail = piece.len() - piece.trim_end().len();
        if lead == piece.len() {
            return Span { start, end: start };
        }
        Span {
            start: start + lead,
            end: end - trail,
        }
    }

    /// The text of the span.
    pub(crate) fn of(self, text: &str) -> &str {
        &text[self.start..self.end]
    }

    /// Whether the span is empty.
    pub(crate) fn is_empty(self) -> bool {
        self.start == self.end
    }
}

/// Splits `start..end` of `text` at the first `,` into (before, after); `after` is `None`
/// when there is no comma.
pub(crate) fn split_comma(text: &str, start: usize, end: usize) -> (Span, Option<(usize, usize)>) {
    match text[start..end].find(',') {
        Some(i) => (
            Span::trimmed(text, start, start + i),
            Some((start + i + 1, end)),
        ),
        None => (Span::trimmed(text, start, end), None),
    }
}

#[cfg(test)]
#[path = "line_tests.rs"]
mod tests;
