//! The fields of `exten`/`same` lines: `PRIORITY[(label)]` and `App(args)`, and the
//! directive keywords. Each parser returns the value or the one problem found, positioned
//! with `at(byte)` (boxed: the error is large and rare) (a byte offset of the cleaned line).
//!
//! Depends on: `super::{line, error}`, [`crate::config::Location`].

use super::error::{AppProblem, DialplanError};
use super::line::Span;
use crate::config::Location;

/// A parsed `PRIORITY[(label)]` field.
#[derive(Debug)]
pub(crate) struct PriorityField {
    /// The number, `None` for `n`.
    pub(crate) number: Option<u32>,
    /// The label and where it is written.
    pub(crate) label: Option<(String, Location)>,
}

/// The static name of a directive keyword (`exten`, `same`, `include`), `None` for others.
pub(crate) fn directive(word: &str) -> Option<&'static str> {
    match word {
        "exten" => Some("exten"),
        "same" => Some("same"),
        "include" => Some("include"),
        _ => None,
    }
}

/// Parses `1`, `n`, `2(label)`, `n(label)`.
pub(crate) fn priority(
    text: &str,
    span: Span,
    at: &dyn Fn(usize) -> Location,
) -> Result<PriorityField, Box<DialplanError>> {
    let field = span.of(text);
    if field.is_empty() {
        return Err(Box::new(DialplanError::MissingField {
            at: at(span.start),
            what: "priority",
        }));
    }
    let (number_text, label) = match field.find('(') {
        Some(open) => {
            let inner = field[open + 1..].strip_suffix(')').map(str::trim);
            let label_at = at(span.start + open + 1);
            match inner {
                Some(l)
                    if !l.is_empty()
                        && !l
                            .chars()
                            .any(|c| c.is_whitespace() || matches!(c, '(' | ')' | ',')) =>
                {
                    (field[..open].trim_end(), Some((l.to_owned(), label_at)))
                }
                _ => {
                    return Err(Box::new(DialplanError::BadLabel {
                        at: label_at,
                        value: field[open..].to_owned(),
                    }));
                }
            }
        }
        None => (field, None),
    };
    let number = match number_text {
        "n" => None,
        digits => match digits.parse::<u32>() {
            Ok(p) if p >= 1 && digits.bytes().all(|b| b.is_ascii_digit()) => Some(p),
            _ => {
                return Err(Box::new(DialplanError::BadPriority {
                    at: at(span.start),
                    value: number_text.to_owned(),
                }));
            }
        },
    };
    Ok(PriorityField { number, label })
}

/// Splits `App(args)` into name and raw arguments.
pub(crate) fn application(
    text: &str,
    start: usize,
    end: usize,
    at: &dyn Fn(usize) -> Location,
) -> Result<(String, String), Box<DialplanError>> {
    let span = Span::trimmed(text, start, end);
    let field = span.of(text);
    if field.is_empty() {
        return Err(Box::new(DialplanError::MissingField {
            at: at(span.start),
            what: "application",
        }));
    }
    let fail = |byte: usize, reason| {
        Err(Box::new(DialplanError::BadApplication {
            at: at(span.start + byte),
            value: field.to_owned(),
            reason,
        }))
    };
    let (name, args) = match field.find('(') {
        None => (field, ""),
        Some(open) => match field.strip_suffix(')') {
            Some(inner) if inner.len() > open => (field[..open].trim_end(), &inner[open + 1..]),
            _ => return fail(open, AppProblem::Unclosed),
        },
    };
    if name.is_empty() {
        return fail(0, AppProblem::EmptyName);
    }
    if let Some(bad) = name.find(|c: char| !(c.is_alphanumeric() || c == '_')) {
        return fail(bad, AppProblem::BadName);
    }
    Ok((name.to_owned(), args.to_owned()))
}
