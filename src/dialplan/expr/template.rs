//! The template scanner behind [`expand`]: literals, escapes, `${...}` and `$[...]`, the
//! variable lookup and Asterisk's substring rule. Uses only the sibling modules.

use std::borrow::Cow;

use super::{arith, functions, ExprError, Scope, MAX_DEPTH, MAX_OUTPUT};

/// Expands `template`: `${VAR}`, `${VAR:offset[:length]}`, `${FUNC(args)}` (also with a
/// substring), `$[expr]`, nesting (`${VAR${N}}`), and the escapes `\$` → `$`, `\\` → `\`
/// (any other backslash is kept). A template without `$` or `\` is copied as is.
pub fn expand(template: &str, scope: &mut dyn Scope) -> Result<String, ExprError> {
    if memchr::memchr2(b'$', b'\\', template.as_bytes()).is_none() {
        if template.len() > MAX_OUTPUT {
            return Err(ExprError::OutputTooLarge { limit: MAX_OUTPUT });
        }
        return Ok(template.to_owned());
    }
    let mut out = String::with_capacity(template.len() + 16);
    expand_into(template, scope, &mut out, 0)?;
    Ok(out)
}

/// Expands `text` into `out` (`depth` = current nesting).
fn expand_into(
    text: &str,
    scope: &mut dyn Scope,
    out: &mut String,
    depth: usize,
) -> Result<(), ExprError> {
    if depth > MAX_DEPTH {
        return Err(ExprError::TooDeep { limit: MAX_DEPTH });
    }
    let bytes = text.as_bytes();
    let mut pos = 0;
    while let Some(found) = memchr::memchr2(b'$', b'\\', &bytes[pos..]) {
        let at = pos + found;
        push(out, &text[pos..at])?;
        let next = bytes.get(at + 1).copied();
        match (bytes[at], next) {
            (b'\\', Some(c @ (b'$' | b'\\'))) => {
                out.push(char::from(c));
                pos = at + 2;
            }
            (b'$', Some(b'{')) => {
                let end = matching(bytes, at + 2, b'{', b'}')
                    .ok_or(ExprError::UnterminatedVariable { position: at })?;
                let inner = inner_text(&text[at + 2..end], scope, depth)?;
                substitute(&inner, scope, out)?;
                pos = end + 1;
            }
            (b'$', Some(b'[')) => {
                let end = matching(bytes, at + 2, b'[', b']')
                    .ok_or(ExprError::UnterminatedExpression { position: at })?;
                let inner = inner_text(&text[at + 2..end], scope, depth)?;
                let value = arith::evaluate(&inner)?;
                push(out, &value)?;
                pos = end + 1;
            }
            (c, _) => {
                out.push(char::from(c));
                pos = at + 1;
            }
        }
    }
    push(out, &text[pos..])
}

/// Appends within [`MAX_OUTPUT`].
fn push(out: &mut String, s: &str) -> Result<(), ExprError> {
    if out.len() + s.len() > MAX_OUTPUT {
        return Err(ExprError::OutputTooLarge { limit: MAX_OUTPUT });
    }
    out.push_str(s);
    Ok(())
}

/// Index of the bracket closing the one opened just before `from` (nested pairs counted).
fn matching(bytes: &[u8], from: usize, open: u8, close: u8) -> Option<usize> {
    let mut level = 1usize;
    for (i, &b) in bytes.iter().enumerate().skip(from) {
        if b == open {
            level += 1;
        } else if b == close {
            level -= 1;
            if level == 0 {
                return Some(i);
            }
        }
    }
    None
}

/// The text inside `${...}`/`$[...]`, itself expanded when it contains `$` or `\`.
fn inner_text<'t>(
    raw: &'t str,
    scope: &mut dyn Scope,
    depth: usize,
) -> Result<Cow<'t, str>, ExprError> {
    if memchr::memchr2(b'$', b'\\', raw.as_bytes()).is_none() {
        return Ok(Cow::Borrowed(raw));
    }
    let mut s = String::with_capacity(raw.len() + 16);
    expand_into(raw, scope, &mut s, depth + 1)?;
    Ok(Cow::Owned(s))
}

/// Resolves `name[:offset[:length]]` (a variable or `FUNC(args)`) and appends it.
fn substitute(spec: &str, scope: &mut dyn Scope, out: &mut String) -> Result<(), ExprError> {
    let (name, range) = split_name(spec)?;
    let value = if let Some((func, args)) = function_call(name) {
        functions::read(func, args, scope)?
    } else {
        read_variable(name, scope).unwrap_or_default()
    };
    match range {
        None => push(out, &value),
        Some((offset, length)) => push(out, substring(&value, offset, length)),
    }
}

/// `FUNC(args)` → (FUNC, args) when `name` ends with `)` and has a `(`.
pub(super) fn function_call(name: &str) -> Option<(&str, &str)> {
    let body = name.strip_suffix(')')?;
    let open = body.find('(')?;
    Some((&body[..open], &body[open + 1..]))
}

/// Variables the evaluator answers itself before asking the scope: `DIALSTATUS` and
/// `HANGUPCAUSE` (from the call state, falling back to a variable of that name) and
/// `EPOCH` (seconds since 1970 from [`Scope::now`], unless a variable shadows it).
fn read_variable(name: &str, scope: &dyn Scope) -> Option<String> {
    match name {
        "DIALSTATUS" => scope.dialstatus().or_else(|| scope.var(name)),
        "HANGUPCAUSE" => scope
            .hangupcause()
            .map(|c| c.to_string())
            .or_else(|| scope.var(name)),
        "EPOCH" => scope.var(name).or_else(|| {
            let secs = scope
                .now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            Some(secs.to_string())
        }),
        _ => scope.var(name),
    }
}

/// A substring request: (offset, length), `None` length meaning "to the end".
type Range = (i64, Option<i64>);

/// Splits at the first `:` outside parentheses: the name and (offset, length), where a
/// missing or empty offset is 0 and a missing or empty length means "to the end".
fn split_name(spec: &str) -> Result<(&str, Option<Range>), ExprError> {
    let mut parens = 0i32;
    for (i, b) in spec.bytes().enumerate() {
        match b {
            b'(' => parens += 1,
            b')' => parens -= 1,
            b':' if parens <= 0 => {
                let rest = &spec[i + 1..];
                let bad = || ExprError::BadSubstring {
                    spec: rest.to_owned(),
                };
                let (off, len) = match rest.split_once(':') {
                    Some((o, l)) => (o, Some(l)),
                    None => (rest, None),
                };
                let offset = parse_int(off).ok_or_else(bad)?.unwrap_or(0);
                let length = match len {
                    Some(l) => parse_int(l).ok_or_else(bad)?,
                    None => None,
                };
                return Ok((&spec[..i], Some((offset, length))));
            }
            _ => {}
        }
    }
    Ok((spec, None))
}

/// `Some(None)` for empty text, `Some(Some(n))` for an integer, `None` for garbage.
fn parse_int(s: &str) -> Option<Option<i64>> {
    let s = s.trim();
    if s.is_empty() {
        return Some(None);
    }
    s.parse::<i64>().ok().map(Some)
}

/// Asterisk's `substring()`: a negative offset counts from the end (clamped to the
/// start), an offset past the end gives "", a negative length leaves that many
/// characters off the end, `None` takes the rest.
pub(super) fn substring(value: &str, offset: i64, length: Option<i64>) -> &str {
    let total = char_count(value);
    let mut start = if offset < 0 { total + offset } else { offset };
    start = start.max(0);
    if start >= total {
        return "";
    }
    let end = match length {
        None => total,
        Some(l) if l >= 0 => start.saturating_add(l).min(total),
        Some(l) => total + l,
    };
    if end <= start {
        return "";
    }
    &value[byte_index(value, start)..byte_index(value, end)]
}

/// Number of characters (bytes for ASCII).
fn char_count(s: &str) -> i64 {
    let n = if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    };
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Byte index of character `n` (`0 <= n <= char_count`).
fn byte_index(s: &str, n: i64) -> usize {
    let n = usize::try_from(n).unwrap_or(0);
    if s.is_ascii() {
        return n.min(s.len());
    }
    s.char_indices().nth(n).map_or(s.len(), |(i, _)| i)
}

#[cfg(test)]
#[path = "template_tests.rs"]
mod tests;
