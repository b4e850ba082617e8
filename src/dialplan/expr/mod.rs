//! Dialplan expressions: `${VAR}`, substrings, functions and `$[...]` arithmetic, with
//! Asterisk's documented semantics, for the arguments of dialplan applications.
//!
//! Sans-IO: everything the evaluator reads or writes goes through a [`Scope`] (channel
//! and global variables, caller ID, the CDR, the last `Dial` status, the clock). This
//! module depends only on `std`, `chrono`, `memchr` and `thiserror`; the switch side
//! implements [`Scope`] later.
//!
//! ```text
//!  template ──expand()──► scan: literal │ \$ \\ │ ${name[:off[:len]]} │ $[expr]
//!                                         │                          │
//!                       inner text expanded first (nested ${..} / $[..], depth-limited)
//!                                         ▼                          ▼
//!                         variable or FUNC(args) ─► substring    arith::evaluate
//! ```
//!
//! - `Set(NAME=value)`: expand the whole argument, [`parse_set`] splits at the first `=`,
//!   [`assign`] writes a variable or a writable function (`CALLERID`, `CDR`, `GLOBAL`).
//! - Values of variables are never re-expanded (as in Asterisk), so work is linear in the
//!   template size times the nesting depth; [`MAX_DEPTH`] and [`MAX_OUTPUT`] turn
//!   pathological input into errors.
//! - Strings are handled as Unicode characters (Asterisk counts bytes; identical for
//!   ASCII, which is what dial strings are).

mod arith;
mod functions;
mod strftime;
mod template;

#[cfg(test)]
pub(crate) mod test_scope;

use std::time::SystemTime;

pub use functions::{assign, cdr_field_writable};
pub use template::expand;

/// Deepest nesting of `${`/`$[` (and of parentheses / unary operators inside `$[...]`).
pub const MAX_DEPTH: usize = 32;

/// Largest expansion result in bytes (Asterisk's application data buffers are 8 KiB-ish).
pub const MAX_OUTPUT: usize = 8192;

/// An error while expanding or assigning; every variant is a distinct, matchable cause.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExprError {
    /// `${` without its closing `}`; `position` is the byte offset of the `$`.
    #[error("unterminated `${{` at byte {position}")]
    UnterminatedVariable {
        /// Byte offset of the `$` in the template being scanned.
        position: usize,
    },
    /// `$[` without its closing `]`; `position` is the byte offset of the `$`.
    #[error("unterminated `$[` at byte {position}")]
    UnterminatedExpression {
        /// Byte offset of the `$` in the template being scanned.
        position: usize,
    },
    /// Nesting deeper than [`MAX_DEPTH`].
    #[error("expression nested deeper than {limit} levels")]
    TooDeep {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// The result would exceed [`MAX_OUTPUT`] bytes.
    #[error("expansion larger than {limit} bytes")]
    OutputTooLarge {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// `${VAR:offset:length}` whose offset or length is not an integer.
    #[error("bad substring `{spec}`: offset and length must be integers")]
    BadSubstring {
        /// The `offset[:length]` text.
        spec: String,
    },
    /// A function this dialplan does not know.
    #[error("unknown dialplan function `{name}`")]
    UnknownFunction {
        /// The function name as written.
        name: String,
    },
    /// `ENV(...)`: refused so that the process environment never leaks into calls.
    #[error("function ENV is not allowed (the process environment is not exposed)")]
    EnvForbidden,
    /// A known function called with arguments it cannot use.
    #[error("{function}: {detail}")]
    BadArgument {
        /// The function.
        function: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// `Set(FUNC(..)=x)` on a function that can only be read.
    #[error("function `{name}` cannot be assigned")]
    ReadOnlyFunction {
        /// The function name.
        name: String,
    },
    /// `Set(CDR(field)=x)` on a field other than userfield, accountcode, amaflags.
    #[error("CDR field `{field}` is read-only")]
    CdrReadOnly {
        /// The field name.
        field: String,
    },
    /// `Set(CDR(amaflags)=x)` with x not OMIT, BILLING, DOCUMENTATION (or 1-3).
    #[error("bad amaflags `{value}` (OMIT, BILLING or DOCUMENTATION)")]
    BadAmaFlags {
        /// The refused value.
        value: String,
    },
    /// `Set(CALLERID(field)=x)` on a field the scope cannot change.
    #[error("caller ID field `{field:?}` cannot be set")]
    CallerIdReadOnly {
        /// The field.
        field: CallerIdField,
    },
    /// STRFTIME with a time zone that is neither local, UTC, a fixed offset like `+02:00`
    /// nor a zone of the system's tz database.
    #[error("unknown time zone `{name}` (use local, UTC, an offset like +02:00, or a tz database name like Europe/Berlin)")]
    UnsupportedTimezone {
        /// The refused zone.
        name: String,
    },
    /// STRFTIME epoch that is not a number (or out of range).
    #[error("bad epoch `{value}`")]
    BadTime {
        /// The refused value.
        value: String,
    },
    /// STRFTIME format with an invalid `%` specifier.
    #[error("bad time format `{format}`")]
    BadFormat {
        /// The refused format.
        format: String,
    },
    /// `$[...]` that does not parse.
    #[error("syntax error in $[{expr}] at byte {position}: {reason}")]
    Syntax {
        /// The (expanded) expression text.
        expr: String,
        /// Byte offset in `expr`.
        position: usize,
        /// What was expected.
        reason: &'static str,
    },
    /// An arithmetic operand that is not a number.
    #[error("`{value}` is not a number")]
    NotANumber {
        /// The operand.
        value: String,
    },
    /// Division or modulo by zero.
    #[error("division by zero")]
    DivisionByZero,
    /// An expression operator this evaluator does not implement (regex `:` and `=~`).
    #[error("operator `{op}` is not supported")]
    UnsupportedOperator {
        /// The operator.
        op: &'static str,
    },
    /// `Set` argument without `=`.
    #[error("Set needs NAME=value, got `{args}`")]
    SetWithoutEquals {
        /// The argument text.
        args: String,
    },
    /// `Set(=value)` or a variable name that is empty or contains `$`, `{`, `}`, `(`, `)`.
    #[error("bad variable name `{name}`")]
    BadVariableName {
        /// The refused name.
        name: String,
    },
}

/// A caller ID field readable with `CALLERID(field)` (`all` is composed from name/num).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallerIdField {
    /// `CALLERID(num)` / `CALLERID(number)`.
    Num,
    /// `CALLERID(name)`.
    Name,
    /// `CALLERID(ani)`: automatic number identification.
    Ani,
    /// `CALLERID(dnid)`: the number dialled.
    Dnid,
    /// `CALLERID(rdnis)`: the redirecting number.
    Rdnis,
}

/// What the evaluator reads and writes; implemented by the channel running the dialplan.
pub trait Scope {
    /// A variable: the channel's, then the global one; `None` when unset.
    fn var(&self, name: &str) -> Option<String>;
    /// Sets a channel variable. `Set(X=)` passes an empty value; Asterisk deletes the
    /// variable then, and an implementation may do the same.
    fn set_var(&mut self, name: &str, value: &str);
    /// A global variable (`GLOBAL(name)`).
    fn global(&self, name: &str) -> Option<String>;
    /// Sets a global variable (`Set(GLOBAL(name)=x)`).
    fn set_global(&mut self, name: &str, value: &str);
    /// A caller ID field; empty when unknown.
    fn caller_id(&self, field: CallerIdField) -> String;
    /// Changes a caller ID field ([`ExprError::CallerIdReadOnly`] when it cannot).
    fn set_caller_id(&mut self, field: CallerIdField, value: &str) -> Result<(), ExprError>;
    /// A CDR field by its Asterisk name (lowercase: `src`, `duration`, `userfield`, ...).
    fn cdr(&self, field: &str) -> Option<String>;
    /// Writes `userfield`, `accountcode` or `amaflags` (the evaluator has already refused
    /// the other fields with [`ExprError::CdrReadOnly`] and normalised amaflags).
    fn set_cdr(&mut self, field: &str, value: &str) -> Result<(), ExprError>;
    /// The status of the last `Dial` (`ANSWER`, `BUSY`, `NOANSWER`, `CANCEL`,
    /// `CONGESTION`, `CHANUNAVAIL`, ...), `None` before any.
    fn dialstatus(&self) -> Option<String>;
    /// The Q.850 cause of the hang-up, `None` while the call is up.
    fn hangupcause(&self) -> Option<u16>;
    /// The current time (for `STRFTIME` without an epoch and `${EPOCH}`).
    fn now(&self) -> SystemTime;
}

/// Splits `Set` arguments at the first `=` into (name, value); call it on the already
/// expanded argument, as Asterisk does. The name is trimmed; the value is kept verbatim.
pub fn parse_set(args: &str) -> Result<(String, String), ExprError> {
    let Some((name, value)) = args.split_once('=') else {
        return Err(ExprError::SetWithoutEquals {
            args: args.to_owned(),
        });
    };
    let name = name.trim();
    if name.is_empty() {
        return Err(ExprError::BadVariableName {
            name: name.to_owned(),
        });
    }
    Ok((name.to_owned(), value.to_owned()))
}

/// Asterisk's `pbx_checkcondition` (used by `IF`, `GotoIf`, `ExecIf`): empty is false, a
/// leading integer is true when non-zero (`"0abc"` is false), any other text is true.
pub fn check_condition(condition: &str) -> bool {
    let s = condition.trim_start();
    if s.is_empty() {
        return false;
    }
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    let len = digits.bytes().take_while(u8::is_ascii_digit).count();
    if len == 0 {
        return true;
    }
    digits.as_bytes()[..len].iter().any(|&b| b != b'0')
}
