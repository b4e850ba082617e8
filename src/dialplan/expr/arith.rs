//! `$[...]` evaluation with the operators and precedence of Asterisk's `expr`
//! (`ast_expr2.y`), lowest first:
//!
//! ```text
//!  c ? a :: b  │  |  │  &  │  = == != < > <= >=  │  + -  │  * / %  │  unary ! - +  │  ( )
//! ```
//!
//! - Operands are unquoted words (`5`, `1.5`, `abc`) or `"quoted strings"` (which may
//!   hold spaces and operator characters). A comparison is numeric when both sides read
//!   as numbers (quoted or not: `"10" > 9` is `1`), otherwise it compares the strings
//!   byte-wise; it yields `1` or `0`.
//! - Integers stay integers (`i64`, falling back to decimal on overflow); `/` of integers
//!   that do not divide evenly gives a decimal (`3/2` = `1.5`, as Asterisk ≥ 1.6), printed
//!   with up to 15 significant digits. Division or modulo by zero is an error.
//! - `a | b` is `a` when `a` is neither empty nor zero, else `b`; `a & b` is `a` when
//!   neither is empty or zero, else `0`; untaken branches are parsed but not evaluated,
//!   so `$[${X} = 0 ? 0 :: 10 / ${X}]` is safe.
//! - The regex operators `:` and `=~` are refused ([`ExprError::UnsupportedOperator`]).
//! - An empty expression gives an empty string. Unary `+` (not in Asterisk) is accepted so
//!   that `$[${NUM} = +15551234]` works for E.164 numbers.
//!
//! Sans-IO and allocation-light: operands borrow from the expression text.

use std::borrow::Cow;
use std::cmp::Ordering;

use super::{ExprError, MAX_DEPTH};

/// Evaluates the (already expanded) text between `$[` and `]`.
pub(super) fn evaluate(expr: &str) -> Result<String, ExprError> {
    let mut p = Parser {
        src: expr,
        pos: 0,
        depth: 0,
        cache: None,
    };
    if p.peek()?.0 == Tok::End {
        return Ok(String::new());
    }
    let value = p.ternary(true)?;
    if p.peek()?.0 != Tok::End {
        return Err(p.error(p.pos_of_next(), "unexpected token"));
    }
    Ok(value.into_string())
}

/// A lexical token; words and quoted strings borrow from the expression.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok<'a> {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    Plus,
    Minus,
    Mul,
    Div,
    Mod,
    Not,
    Colon,
    ColonColon,
    EqTilde,
    Question,
    LParen,
    RParen,
    Word(&'a str),
    Quoted(&'a str),
    End,
}

/// A value during evaluation.
#[derive(Debug, Clone)]
enum Value<'a> {
    /// Text from the expression (may still read as a number).
    Text(Cow<'a, str>),
    /// An integer result.
    Int(i64),
    /// A decimal result.
    Dec(f64),
}

/// A numeric reading of a value.
#[derive(Debug, Clone, Copy)]
enum Num {
    Int(i64),
    Dec(f64),
}

impl Num {
    fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Dec(d) => d,
        }
    }
}

impl Value<'_> {
    /// The value as a number, if it reads as one (`-12`, `+3`, `1.5`, `.5`, `2.`).
    fn num(&self) -> Option<Num> {
        match self {
            Value::Int(i) => Some(Num::Int(*i)),
            Value::Dec(d) => Some(Num::Dec(*d)),
            Value::Text(t) => parse_num(t),
        }
    }

    /// Not empty and not numerically zero (Asterisk's `!is_zero_or_null`).
    fn truthy(&self) -> bool {
        match self {
            Value::Text(t) if t.is_empty() => false,
            _ => match self.num() {
                Some(Num::Int(i)) => i != 0,
                Some(Num::Dec(d)) => d != 0.0,
                None => true,
            },
        }
    }

    fn into_string(self) -> String {
        match self {
            Value::Text(t) => t.into_owned(),
            Value::Int(i) => i.to_string(),
            Value::Dec(d) => format_dec(d),
        }
    }

    fn text(&self) -> Cow<'_, str> {
        match self {
            Value::Text(t) => Cow::Borrowed(t.as_ref()),
            Value::Int(i) => Cow::Owned(i.to_string()),
            Value::Dec(d) => Cow::Owned(format_dec(*d)),
        }
    }
}

/// Parses `[+-]digits[.digits]` / `[+-].digits`; anything else is not a number.
fn parse_num(t: &str) -> Option<Num> {
    let body = t.strip_prefix(['-', '+']).unwrap_or(t);
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || !frac.is_none_or(digits) || int.len() + frac.map_or(0, str::len) == 0 {
        return None;
    }
    if frac.is_none() {
        if let Ok(i) = t.parse::<i64>() {
            return Some(Num::Int(i));
        }
    }
    t.parse::<f64>().ok().map(Num::Dec)
}

/// `%.15g`-style: integral values without a point, otherwise up to 15 significant digits
/// with trailing zeros removed; exponent form outside 1e-5..1e15.
pub(super) fn format_dec(d: f64) -> String {
    if !d.is_finite() {
        return d.to_string();
    }
    if d == 0.0 {
        return "0".to_owned();
    }
    let exp = d.abs().log10().floor() as i32;
    if !(-5..15).contains(&exp) {
        let s = format!("{d:.14e}");
        let (mantissa, e) = s.split_once('e').unwrap_or((&s, "0"));
        let mantissa = trim_zeros(mantissa);
        let e: i32 = e.parse().unwrap_or(0);
        let sign = if e < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", e.abs());
    }
    let decimals = usize::try_from(14 - exp).unwrap_or(0);
    trim_zeros(&format!("{d:.decimals$}")).to_owned()
}

/// Drops trailing zeros after a decimal point, and the point itself when bare.
fn trim_zeros(s: &str) -> &str {
    if !s.contains('.') {
        return s;
    }
    s.trim_end_matches('0').trim_end_matches('.')
}

/// A recursive-descent parser that evaluates as it goes.
struct Parser<'a> {
    src: &'a str,
    pos: usize,
    depth: usize,
    /// The token at `.0` (a `pos`) and where it ends: every grammar level peeks the same
    /// token, so it is lexed once.
    cache: Option<(usize, Tok<'a>, usize)>,
}

impl<'a> Parser<'a> {
    fn error(&self, position: usize, reason: &'static str) -> ExprError {
        ExprError::Syntax {
            expr: self.src.to_owned(),
            position,
            reason,
        }
    }

    /// Byte offset where the next token starts.
    fn pos_of_next(&self) -> usize {
        let rest = &self.src[self.pos..];
        self.pos
            + (rest.len()
                - rest
                    .trim_start_matches(|c: char| c.is_ascii_whitespace())
                    .len())
    }

    /// The next token and the offset just after it, without consuming it.
    fn peek(&mut self) -> Result<(Tok<'a>, usize), ExprError> {
        if let Some((at, tok, end)) = self.cache {
            if at == self.pos {
                return Ok((tok, end));
            }
        }
        let (tok, end) = self.lex()?;
        self.cache = Some((self.pos, tok, end));
        Ok((tok, end))
    }

    /// Lexes the token at `pos`.
    fn lex(&self) -> Result<(Tok<'a>, usize), ExprError> {
        let start = self.pos_of_next();
        let rest = &self.src[start..];
        let two = rest.get(..2).unwrap_or("");
        let op2 = match two {
            "!=" => Some(Tok::Ne),
            "<=" => Some(Tok::Le),
            ">=" => Some(Tok::Ge),
            "==" => Some(Tok::Eq),
            "=~" => Some(Tok::EqTilde),
            "::" => Some(Tok::ColonColon),
            _ => None,
        };
        if let Some(t) = op2 {
            return Ok((t, start + 2));
        }
        let Some(&first) = rest.as_bytes().first() else {
            return Ok((Tok::End, start));
        };
        let op1 = match first {
            b'|' => Tok::Or,
            b'&' => Tok::And,
            b'=' => Tok::Eq,
            b'<' => Tok::Lt,
            b'>' => Tok::Gt,
            b'+' => Tok::Plus,
            b'-' => Tok::Minus,
            b'*' => Tok::Mul,
            b'/' => Tok::Div,
            b'%' => Tok::Mod,
            b'!' => Tok::Not,
            b':' => Tok::Colon,
            b'?' => Tok::Question,
            b'(' => Tok::LParen,
            b')' => Tok::RParen,
            b'"' => {
                let len = rest[1..]
                    .find('"')
                    .ok_or_else(|| self.error(start, "unterminated string"))?;
                return Ok((Tok::Quoted(&rest[1..1 + len]), start + len + 2));
            }
            _ => {
                let len = rest
                    .bytes()
                    .position(|b| b.is_ascii_whitespace() || b"|&=!<>+-*/%():?\"".contains(&b))
                    .unwrap_or(rest.len());
                return Ok((Tok::Word(&rest[..len]), start + len));
            }
        };
        Ok((op1, start + 1))
    }

    /// Consumes the next token if `wanted` accepts it.
    fn eat(&mut self, wanted: fn(&Tok<'_>) -> bool) -> Result<Option<Tok<'a>>, ExprError> {
        let (tok, end) = self.peek()?;
        if wanted(&tok) {
            self.pos = end;
            return Ok(Some(tok));
        }
        Ok(None)
    }

    fn enter(&mut self) -> Result<(), ExprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ExprError::TooDeep { limit: MAX_DEPTH });
        }
        Ok(())
    }

    /// `or [? ternary :: ternary]`
    fn ternary(&mut self, live: bool) -> Result<Value<'a>, ExprError> {
        self.enter()?;
        let cond = self.or(live)?;
        let result = if self.eat(|t| matches!(t, Tok::Question))?.is_some() {
            let take = cond.truthy();
            let yes = self.ternary(live && take)?;
            if self.eat(|t| matches!(t, Tok::ColonColon))?.is_none() {
                return Err(self.error(self.pos_of_next(), "expected `::`"));
            }
            let no = self.ternary(live && !take)?;
            if take {
                yes
            } else {
                no
            }
        } else {
            cond
        };
        self.depth -= 1;
        Ok(result)
    }

    fn or(&mut self, live: bool) -> Result<Value<'a>, ExprError> {
        let mut left = self.and(live)?;
        while self.eat(|t| matches!(t, Tok::Or))?.is_some() {
            let keep = left.truthy();
            let right = self.and(live && !keep)?;
            if !keep {
                left = right;
            }
        }
        Ok(left)
    }

    fn and(&mut self, live: bool) -> Result<Value<'a>, ExprError> {
        let mut left = self.comparison(live)?;
        while self.eat(|t| matches!(t, Tok::And))?.is_some() {
            let go = left.truthy();
            let right = self.comparison(live && go)?;
            if !(go && right.truthy()) {
                left = Value::Int(0);
            }
        }
        Ok(left)
    }

    fn comparison(&mut self, live: bool) -> Result<Value<'a>, ExprError> {
        let mut left = self.additive(live)?;
        while let Some(op) =
            self.eat(|t| matches!(t, Tok::Eq | Tok::Ne | Tok::Lt | Tok::Gt | Tok::Le | Tok::Ge))?
        {
            let right = self.additive(live)?;
            let ord = compare(&left, &right);
            let yes = match op {
                Tok::Eq => ord == Ordering::Equal,
                Tok::Ne => ord != Ordering::Equal,
                Tok::Lt => ord == Ordering::Less,
                Tok::Gt => ord == Ordering::Greater,
                Tok::Le => ord != Ordering::Greater,
                _ => ord != Ordering::Less,
            };
            left = Value::Int(i64::from(yes));
        }
        Ok(left)
    }

    fn additive(&mut self, live: bool) -> Result<Value<'a>, ExprError> {
        let mut left = self.multiplicative(live)?;
        while let Some(op) = self.eat(|t| matches!(t, Tok::Plus | Tok::Minus))? {
            let right = self.multiplicative(live)?;
            left = arith(op, &left, &right, live)?;
        }
        Ok(left)
    }

    fn multiplicative(&mut self, live: bool) -> Result<Value<'a>, ExprError> {
        let mut left = self.unary(live)?;
        while let Some(op) = self.eat(|t| matches!(t, Tok::Mul | Tok::Div | Tok::Mod))? {
            let right = self.unary(live)?;
            left = arith(op, &left, &right, live)?;
        }
        Ok(left)
    }

    fn unary(&mut self, live: bool) -> Result<Value<'a>, ExprError> {
        let Some(op) = self.eat(|t| matches!(t, Tok::Not | Tok::Minus | Tok::Plus))? else {
            return self.operand(live);
        };
        self.enter()?;
        let v = self.unary(live)?;
        self.depth -= 1;
        if op == Tok::Not {
            return Ok(Value::Int(i64::from(!v.truthy())));
        }
        arith(op, &Value::Int(0), &v, live)
    }

    /// A word, a quoted string or a parenthesised expression; regex operators refused.
    fn operand(&mut self, live: bool) -> Result<Value<'a>, ExprError> {
        let start = self.pos_of_next();
        let (tok, end) = self.peek()?;
        let value = match tok {
            Tok::Word(w) => Value::Text(Cow::Borrowed(w)),
            Tok::Quoted(q) => Value::Text(Cow::Borrowed(q)),
            Tok::LParen => {
                self.pos = end;
                let v = self.ternary(live)?;
                if self.eat(|t| matches!(t, Tok::RParen))?.is_none() {
                    return Err(self.error(self.pos_of_next(), "expected `)`"));
                }
                return self.no_regex(v);
            }
            Tok::End => return Err(self.error(start, "unexpected end of expression")),
            _ => return Err(self.error(start, "expected a value")),
        };
        self.pos = end;
        self.no_regex(value)
    }

    fn no_regex(&mut self, v: Value<'a>) -> Result<Value<'a>, ExprError> {
        match self.peek()?.0 {
            Tok::Colon => Err(ExprError::UnsupportedOperator { op: ":" }),
            Tok::EqTilde => Err(ExprError::UnsupportedOperator { op: "=~" }),
            _ => Ok(v),
        }
    }
}

/// Numeric when both sides read as numbers, else byte-wise string order.
fn compare(a: &Value<'_>, b: &Value<'_>) -> Ordering {
    match (a.num(), b.num()) {
        (Some(Num::Int(x)), Some(Num::Int(y))) => x.cmp(&y),
        (Some(x), Some(y)) => x.as_f64().total_cmp(&y.as_f64()),
        _ => a.text().as_ref().cmp(b.text().as_ref()),
    }
}

/// `+ - * / %`; when `live` is false (untaken branch) the result is a dummy 0.
fn arith<'a>(
    op: Tok<'_>,
    a: &Value<'_>,
    b: &Value<'_>,
    live: bool,
) -> Result<Value<'a>, ExprError> {
    if !live {
        return Ok(Value::Int(0));
    }
    let nan = |v: &Value<'_>| ExprError::NotANumber {
        value: v.text().into_owned(),
    };
    let x = a.num().ok_or_else(|| nan(a))?;
    let y = b.num().ok_or_else(|| nan(b))?;
    if let (Num::Int(i), Num::Int(j)) = (x, y) {
        let exact = match op {
            Tok::Plus => i.checked_add(j),
            Tok::Minus => i.checked_sub(j),
            Tok::Mul => i.checked_mul(j),
            Tok::Div if j == 0 => return Err(ExprError::DivisionByZero),
            Tok::Div => i
                .checked_rem(j)
                .filter(|r| *r == 0)
                .and_then(|_| i.checked_div(j)),
            _ if j == 0 => return Err(ExprError::DivisionByZero),
            _ => i.checked_rem(j),
        };
        if let Some(v) = exact {
            return Ok(Value::Int(v));
        }
    }
    let (f, g) = (x.as_f64(), y.as_f64());
    let v = match op {
        Tok::Plus => f + g,
        Tok::Minus => f - g,
        Tok::Mul => f * g,
        _ if g == 0.0 => return Err(ExprError::DivisionByZero),
        Tok::Div => f / g,
        _ => f % g,
    };
    Ok(Value::Dec(v))
}

#[cfg(test)]
#[path = "arith_tests.rs"]
mod tests;
