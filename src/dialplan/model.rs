//! The loaded dialplan: [`Dialplan`] → [`Context`]s → [`Extension`]s → [`Step`]s, plus
//! `[globals]`. Built once by `super::parse`, immutable afterwards, so it can be shared as
//! `Arc<Dialplan>` between calls and swapped whole on reload.
//!
//! Depends on: [`crate::config::Location`], `super::pattern`, `super::matcher` (the index
//! each context carries), std.

use std::collections::HashMap;

use super::matcher::ContextIndex;
use super::pattern::Pattern;
use crate::config::Location;

/// A whole dialplan: every context of every `*.conf` file of the directory.
#[derive(Debug)]
pub struct Dialplan {
    /// Contexts in order of first appearance.
    pub(crate) contexts: Vec<Context>,
    /// Context name → index in `contexts`.
    pub(crate) by_name: HashMap<String, usize>,
    /// `[globals]` in file order (a later definition of a name overrides an earlier one).
    pub(crate) globals: Vec<Global>,
}

impl Dialplan {
    /// The contexts, in order of first appearance (`[globals]` is not a context).
    pub fn contexts(&self) -> &[Context] {
        &self.contexts
    }

    /// The context called `name`.
    pub fn context(&self, name: &str) -> Option<&Context> {
        self.by_name.get(name).map(|&i| &self.contexts[i])
    }

    /// Every `[globals]` definition, in file order (names may repeat; the last one counts).
    pub fn globals(&self) -> &[Global] {
        &self.globals
    }

    /// The value of global variable `name` (its last definition).
    pub fn global(&self, name: &str) -> Option<&str> {
        self.globals
            .iter()
            .rev()
            .find(|g| g.name == name)
            .map(|g| g.value.as_str())
    }

    /// The number of extensions over all contexts.
    pub fn extension_count(&self) -> usize {
        self.contexts.iter().map(|c| c.extensions.len()).sum()
    }
}

/// One `[context]`: its extensions and includes (a context may be reopened, in the same or a
/// later file; its parts are merged).
#[derive(Debug)]
pub struct Context {
    /// The name as written between `[` and `]`.
    pub(crate) name: String,
    /// Where it is first opened.
    pub(crate) at: Location,
    /// Extensions in order of first appearance.
    pub(crate) extensions: Vec<Extension>,
    /// `include =>` lines, in order.
    pub(crate) includes: Vec<Include>,
    /// This context and every context reachable through includes, depth-first, each once:
    /// the search order of a lookup.
    pub(crate) search: Vec<usize>,
    /// Lookup structures over `extensions`.
    pub(crate) index: ContextIndex,
}

impl Context {
    /// The context's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where the context is first opened.
    pub fn location(&self) -> &Location {
        &self.at
    }

    /// The extensions, in order of first appearance.
    pub fn extensions(&self) -> &[Extension] {
        &self.extensions
    }

    /// The `include =>` lines, in order.
    pub fn includes(&self) -> &[Include] {
        &self.includes
    }
}

/// `include => name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Include {
    /// The included context.
    pub context: String,
    /// Where the name is written.
    pub at: Location,
}

/// One `NAME=value` line of `[globals]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Global {
    /// The variable name.
    pub name: String,
    /// The value, raw (expressions are evaluated when used).
    pub value: String,
    /// Where the line is.
    pub at: Location,
}

/// An extension of a context and its steps, sorted by priority.
#[derive(Debug)]
pub struct Extension {
    /// The extension as written (`1000`, `_9.`).
    pub(crate) name: String,
    /// The parsed pattern.
    pub(crate) pattern: Pattern,
    /// Where it is first defined.
    pub(crate) at: Location,
    /// The steps, by ascending priority.
    pub(crate) steps: Vec<Step>,
}

impl Extension {
    /// The extension as written.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The parsed pattern.
    pub fn pattern(&self) -> &Pattern {
        &self.pattern
    }

    /// Where it is first defined.
    pub fn location(&self) -> &Location {
        &self.at
    }

    /// The steps, by ascending priority.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The step with priority `priority`.
    pub fn step(&self, priority: u32) -> Option<&Step> {
        self.steps
            .binary_search_by_key(&priority, |s| s.priority)
            .ok()
            .map(|i| &self.steps[i])
    }

    /// The step labelled `label`.
    pub fn label(&self, label: &str) -> Option<&Step> {
        self.steps
            .iter()
            .find(|s| s.label.as_deref() == Some(label))
    }

    /// The first step after priority `priority` (what "continue" means).
    pub fn next_step(&self, priority: u32) -> Option<&Step> {
        let i = self.steps.partition_point(|s| s.priority <= priority);
        self.steps.get(i)
    }
}

/// One priority of an extension: `PRIORITY[(label)],App(args)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The priority (`n` resolved to a number).
    pub priority: u32,
    /// The label, if any.
    pub label: Option<String>,
    /// The application name as written (`Dial`, `NoOp`).
    pub app: String,
    /// The raw argument text between the parentheses (empty without them); `${...}` and
    /// `$[...]` are left for the expression evaluator.
    pub args: String,
    /// Where the line is (column of `exten`/`same`).
    pub at: Location,
}
