//! The dialplan: how a dialled number is routed, in a format PBX admins know from Asterisk's
//! `extensions.conf`. Contexts hold extensions (literal numbers or `_` patterns), each a
//! list of prioritised steps (`App(args)`); contexts include other contexts; `[globals]`
//! defines global variables.
//!
//! ```text
//!  dialplan/*.conf ──parse──► Dialplan (immutable, Arc-shared) ──find(context, exten)──► steps
//!                    (line, pattern,      contexts + index         (matcher: literal map,
//!                     link: includes)                                pattern buckets, includes)
//! ```
//!
//! Layering: uses [`crate::config`] only (for [`crate::config::Location`]). Sans-IO apart
//! from [`Dialplan::load_dir`] reading the directory: parsing and lookup are pure functions
//! of text and of the loaded [`Dialplan`]; executing steps belongs to the interpreter, which
//! drives calls through the switch.
//!
//! Modules: `live` (the running dialplan, swapped whole on reload), `pattern` (Asterisk
//! patterns and best-match order), `parse` (the file format),
//! `matcher` (lookup), `model` (the loaded types), `error` (diagnostics), `line`, `fields` and
//! `link` (parser internals), `trie` (the pattern index).

mod error;
pub mod expr;
mod fields;
pub mod interp;
mod line;
mod link;
pub mod live;
pub mod matcher;
mod model;
pub mod parse;
pub mod pattern;
pub mod reload;
mod trie;
pub mod zone;

pub use error::{AppProblem, DialplanError, DialplanErrors};
pub use live::{LiveDialplan, ReloadSummary};
pub use matcher::{Match, StepMatch};
pub use model::{Context, Dialplan, Extension, Global, Include, Step};
pub use pattern::{CharSet, Element, Pattern, PatternError, PatternErrorAt};
pub use reload::{ReloadReply, Reloader};
