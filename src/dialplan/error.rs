//! Dialplan diagnostics: [`DialplanError`] (one problem, displayed as
//! `path:line:column: reason` like configuration errors) and [`DialplanErrors`] (all problems
//! of one load).
//!
//! Depends on: [`crate::config::Location`], `super::pattern::PatternError`, std, thiserror.

use std::fmt;
use std::path::PathBuf;

use super::pattern::PatternError;
use crate::config::Location;

/// Why an application field (`App(args)`) is rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AppProblem {
    /// `(args)` with no name before it.
    #[error("missing application name")]
    EmptyName,
    /// The name holds something other than letters, digits and `_`.
    #[error("application name may only contain letters, digits and '_'")]
    BadName,
    /// `App(args` with no closing `)` at the end.
    #[error("unclosed `(`")]
    Unclosed,
}

/// One dialplan problem; every variant but [`DialplanError::Io`] names its position.
#[derive(Debug, thiserror::Error)]
pub enum DialplanError {
    /// The directory or a file could not be read (or is not UTF-8).
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A line that is not `[context]`, `exten =>`, `same =>`, `include =>` (or `NAME=value`
    /// in `[globals]`).
    #[error("{at}: unknown directive {word:?}")]
    UnknownDirective {
        /// Where the directive starts.
        at: Location,
        /// The directive as written (up to `=>`/`=`, or the whole line).
        word: String,
    },
    /// `[...]` header that is not a valid context name.
    #[error("{at}: bad context header {value:?} (expected `[name]`)")]
    BadContext {
        /// Where the header is.
        at: Location,
        /// The line as written.
        value: String,
    },
    /// `exten`, `same` or `include` before any `[context]`.
    #[error("{at}: {directive} outside a context")]
    OutsideContext {
        /// Where the directive is.
        at: Location,
        /// `exten`, `same`, `include` or `NAME=value`.
        directive: &'static str,
    },
    /// `exten`, `same` or `include` inside `[globals]`.
    #[error("{at}: {directive} is not allowed in [globals] (only NAME=value)")]
    InGlobals {
        /// Where the directive is.
        at: Location,
        /// The directive.
        directive: &'static str,
    },
    /// `same =>` with no `exten =>` before it in the context.
    #[error("{at}: same => without a preceding exten => in this context")]
    SameWithoutExten {
        /// Where `same` is.
        at: Location,
    },
    /// A comma-separated field is missing (`exten => 100,1` has no application).
    #[error("{at}: missing {what}")]
    MissingField {
        /// Where the field should start.
        at: Location,
        /// `priority` or `application`.
        what: &'static str,
    },
    /// An invalid extension or pattern.
    #[error("{at}: bad pattern {pattern:?}: {reason}")]
    BadPattern {
        /// Where the problem is inside the pattern.
        at: Location,
        /// The extension as written.
        pattern: String,
        /// What is wrong.
        reason: PatternError,
    },
    /// A priority that is not a positive number or `n` (`hint` is not supported).
    #[error("{at}: bad priority {value:?} (expected a number >= 1 or n)")]
    BadPriority {
        /// Where the priority is.
        at: Location,
        /// The priority as written.
        value: String,
    },
    /// `(label)` after a priority that is empty or malformed.
    #[error("{at}: bad label {value:?}")]
    BadLabel {
        /// Where the label is.
        at: Location,
        /// The label field as written.
        value: String,
    },
    /// `n` as the first priority of an extension.
    #[error("{at}: priority n for extension {exten} before any numbered priority")]
    NextBeforeFirst {
        /// Where the `n` is.
        at: Location,
        /// The extension.
        exten: String,
    },
    /// The same priority twice for one extension of one context.
    #[error("{at}: duplicate priority {priority} for extension {exten} (first at {first})")]
    DuplicatePriority {
        /// The second definition.
        at: Location,
        /// The first definition.
        first: Location,
        /// The extension.
        exten: String,
        /// The priority number.
        priority: u32,
    },
    /// The same label twice in one extension.
    #[error("{at}: label {label:?} reused in extension {exten} (first at {first})")]
    DuplicateLabel {
        /// The second use.
        at: Location,
        /// The first use.
        first: Location,
        /// The extension.
        exten: String,
        /// The label.
        label: String,
    },
    /// A malformed `App(args)` field.
    #[error("{at}: bad application {value:?}: {reason}")]
    BadApplication {
        /// Where the field or the problem is.
        at: Location,
        /// The field as written.
        value: String,
        /// What is wrong.
        reason: AppProblem,
    },
    /// A `[globals]` line that is not `NAME=value`.
    #[error("{at}: bad global {value:?} (expected NAME=value)")]
    BadGlobal {
        /// Where the line is.
        at: Location,
        /// The line as written.
        value: String,
    },
    /// `include =>` naming a context that no file defines.
    #[error("{at}: include of unknown context {target:?}")]
    UnknownInclude {
        /// Where the included name is.
        at: Location,
        /// The context name.
        target: String,
    },
    /// Includes that lead back to where they started.
    #[error("{at}: include loop: {chain}")]
    IncludeLoop {
        /// The include that closes the loop.
        at: Location,
        /// The contexts of the loop, `a -> b -> a`.
        chain: String,
    },
}

impl DialplanError {
    /// The position of the problem, when it has one.
    pub fn location(&self) -> Option<&Location> {
        match self {
            DialplanError::Io { .. } => None,
            DialplanError::UnknownDirective { at, .. }
            | DialplanError::BadContext { at, .. }
            | DialplanError::OutsideContext { at, .. }
            | DialplanError::InGlobals { at, .. }
            | DialplanError::SameWithoutExten { at }
            | DialplanError::MissingField { at, .. }
            | DialplanError::BadPattern { at, .. }
            | DialplanError::BadPriority { at, .. }
            | DialplanError::BadLabel { at, .. }
            | DialplanError::NextBeforeFirst { at, .. }
            | DialplanError::DuplicatePriority { at, .. }
            | DialplanError::DuplicateLabel { at, .. }
            | DialplanError::BadApplication { at, .. }
            | DialplanError::BadGlobal { at, .. }
            | DialplanError::UnknownInclude { at, .. }
            | DialplanError::IncludeLoop { at, .. } => Some(at),
        }
    }
}

/// Every problem found while loading a dialplan, in file and line order (include problems
/// last). Display prints one per line.
#[derive(Debug, Default)]
pub struct DialplanErrors {
    /// The problems (never empty when returned by a loader).
    pub errors: Vec<DialplanError>,
}

impl fmt::Display for DialplanErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for DialplanErrors {}
