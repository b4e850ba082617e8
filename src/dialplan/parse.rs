//! The extensions.conf-style parser: reads every `*.conf` file of a directory (sorted by
//! name) into one [`Dialplan`], collecting every problem with its position.
//!
//! ```text
//! [globals]
//! OPERATOR=1000                      ; NAME=value
//! [internal]                         ; a context (may be reopened later)
//! exten => _1XXX,1(start),Dial(PJSIP/${EXTEN})
//! same => n,Hangup()                 ; n = previous priority + 1
//! exten => 700,1,Answer              ; no parentheses: empty arguments
//! include => outbound                ; searched after the context's own extensions
//! ```
//!
//! `;` starts a comment, `\;` is a literal semicolon. `=` may be written for `=>`.
//! Application arguments are kept raw for the expression evaluator. Includes are resolved
//! (unknown targets, loops) once every file is read, in `super::link`.
//!
//! Depends on: `super::{line, fields, pattern, model, error, link}`, [`crate::config::Location`], std.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::error::{DialplanError, DialplanErrors};
use super::fields;
use super::line::{split_comma, Line, Span};
use super::model::{Dialplan, Global, Include, Step};
use super::pattern::Pattern;
use crate::config::Location;

/// Where the parser is: before any header, in `[globals]`, or in a context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    None,
    Globals,
    Context(usize),
}

/// The extension `same =>` continues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Last {
    /// No `exten =>` yet in this context.
    None,
    /// Extension `.1` of context `.0`.
    Exten(usize, usize),
    /// The last `exten =>` was rejected: `same =>` lines after it are skipped silently (their
    /// problem is already reported).
    Broken,
}

/// A context while files are read.
#[derive(Debug)]
pub(crate) struct ContextDraft {
    pub(crate) name: String,
    pub(crate) at: Location,
    pub(crate) extensions: Vec<ExtensionDraft>,
    by_name: HashMap<String, usize>,
    pub(crate) includes: Vec<Include>,
}

/// An extension while files are read.
#[derive(Debug)]
pub(crate) struct ExtensionDraft {
    pub(crate) name: String,
    pub(crate) pattern: Pattern,
    pub(crate) at: Location,
    pub(crate) steps: Vec<Step>,
    /// The priority of the last step added (what `n` continues from).
    last_priority: Option<u32>,
}

/// The parser's state over all files.
#[derive(Debug)]
pub(crate) struct Builder {
    pub(crate) contexts: Vec<ContextDraft>,
    pub(crate) by_name: HashMap<String, usize>,
    pub(crate) globals: Vec<Global>,
    pub(crate) errors: Vec<DialplanError>,
    section: Section,
    last: Last,
}

impl Dialplan {
    /// Loads every `*.conf` file of `dir`, sorted by file name. An empty directory (or one with
    /// only a README) is a valid, empty dialplan.
    pub fn load_dir(dir: &Path) -> Result<Dialplan, DialplanErrors> {
        let io = |path: &Path, source| DialplanErrors {
            errors: vec![DialplanError::Io {
                path: path.to_owned(),
                source,
            }],
        };
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
            let path = entry.map_err(|e| io(dir, e))?.path();
            if path.extension().is_some_and(|e| e == "conf") && path.is_file() {
                paths.push(path);
            }
        }
        paths.sort();
        let mut files = Vec::with_capacity(paths.len());
        for path in paths {
            let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
            files.push((path, text));
        }
        Dialplan::parse_files(&files)
    }

    /// Parses files already read, in the order given (`(path, text)`; the path is only used
    /// in diagnostics).
    pub fn parse_files(files: &[(PathBuf, String)]) -> Result<Dialplan, DialplanErrors> {
        let mut builder = Builder::new();
        for (path, text) in files {
            builder.file(path, text);
        }
        builder.finish()
    }

    /// Parses one text as if it were the file `path`.
    pub fn parse_str(path: &Path, text: &str) -> Result<Dialplan, DialplanErrors> {
        let mut builder = Builder::new();
        builder.file(path, text);
        builder.finish()
    }
}

impl Builder {
    fn new() -> Builder {
        Builder {
            contexts: Vec::new(),
            by_name: HashMap::new(),
            globals: Vec::new(),
            errors: Vec::new(),
            section: Section::None,
            last: Last::None,
        }
    }

    /// Reads one file; sections do not carry over to the next file.
    fn file(&mut self, path: &Path, text: &str) {
        self.section = Section::None;
        self.last = Last::None;
        let path = path.to_path_buf();
        for (n, raw) in text.split('\n').enumerate() {
            let line = Line::clean(raw);
            let at = |byte: usize| Location {
                path: path.clone(),
                line: n + 1,
                column: line.col(byte),
            };
            self.line(&line, &at);
        }
    }

    /// Turns the drafts into the dialplan, or returns every problem.
    fn finish(mut self) -> Result<Dialplan, DialplanErrors> {
        let search = super::link::resolve(&self.contexts, &self.by_name, &mut self.errors);
        if !self.errors.is_empty() {
            return Err(DialplanErrors {
                errors: self.errors,
            });
        }
        Ok(super::link::build(
            self.contexts,
            self.by_name,
            self.globals,
            search,
        ))
    }

    /// One cleaned line; `at(byte)` locates a byte of `line.text`.
    fn line(&mut self, line: &Line, at: &dyn Fn(usize) -> Location) {
        let text = line.text.as_str();
        let all = Span::trimmed(text, 0, text.len());
        if all.is_empty() {
            return;
        }
        if text[all.start..].starts_with('[') {
            self.header(all.of(text), at(all.start));
            return;
        }
        let Some(eq) = text.find('=') else {
            let error = if self.section == Section::Globals {
                DialplanError::BadGlobal {
                    at: at(all.start),
                    value: all.of(text).to_owned(),
                }
            } else {
                DialplanError::UnknownDirective {
                    at: at(all.start),
                    word: all.of(text).to_owned(),
                }
            };
            self.errors.push(error);
            return;
        };
        let key = Span::trimmed(text, 0, eq);
        let value_start = if text[eq + 1..].starts_with('>') {
            eq + 2
        } else {
            eq + 1
        };
        if self.section == Section::Globals {
            match fields::directive(key.of(text)) {
                Some(directive) => self.errors.push(DialplanError::InGlobals {
                    at: at(key.start),
                    directive,
                }),
                None => self.global(text, key, value_start, at),
            }
            return;
        }
        let Some(directive) = fields::directive(key.of(text)) else {
            let error = match self.section {
                Section::None => DialplanError::OutsideContext {
                    at: at(key.start),
                    directive: "NAME=value",
                },
                _ => DialplanError::UnknownDirective {
                    at: at(key.start),
                    word: key.of(text).to_owned(),
                },
            };
            self.errors.push(error);
            return;
        };
        let Section::Context(ctx) = self.section else {
            self.errors.push(DialplanError::OutsideContext {
                at: at(key.start),
                directive,
            });
            return;
        };
        match directive {
            "exten" => self.exten(ctx, text, key.start, value_start, at),
            "same" => self.same(ctx, text, key.start, value_start, at),
            _ => self.include(ctx, text, value_start, at),
        }
    }

    /// `[name]`.
    fn header(&mut self, header: &str, at: Location) {
        self.last = Last::None;
        let name = header
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .map(str::trim)
            .filter(|n| {
                !n.is_empty()
                    && !n
                        .chars()
                        .any(|c| c.is_whitespace() || matches!(c, '[' | ']' | ',' | '='))
            });
        let Some(name) = name else {
            self.errors.push(DialplanError::BadContext {
                at,
                value: header.to_owned(),
            });
            self.section = Section::None;
            return;
        };
        if name.eq_ignore_ascii_case("globals") {
            self.section = Section::Globals;
            return;
        }
        let index = match self.by_name.get(name) {
            Some(&i) => i,
            None => {
                self.contexts.push(ContextDraft {
                    name: name.to_owned(),
                    at,
                    extensions: Vec::new(),
                    by_name: HashMap::new(),
                    includes: Vec::new(),
                });
                self.by_name
                    .insert(name.to_owned(), self.contexts.len() - 1);
                self.contexts.len() - 1
            }
        };
        self.section = Section::Context(index);
    }

    /// `NAME=value` in `[globals]`.
    fn global(
        &mut self,
        text: &str,
        key: Span,
        value_start: usize,
        at: &dyn Fn(usize) -> Location,
    ) {
        let name = key.of(text);
        if name.is_empty() || name.chars().any(char::is_whitespace) {
            let all = Span::trimmed(text, 0, text.len());
            self.errors.push(DialplanError::BadGlobal {
                at: at(all.start),
                value: all.of(text).to_owned(),
            });
            return;
        }
        let value = Span::trimmed(text, value_start, text.len());
        self.globals.push(Global {
            name: name.to_owned(),
            value: value.of(text).to_owned(),
            at: at(key.start),
        });
    }

    /// `include => name`.
    fn include(
        &mut self,
        ctx: usize,
        text: &str,
        value_start: usize,
        at: &dyn Fn(usize) -> Location,
    ) {
        let target = Span::trimmed(text, value_start, text.len());
        if target.is_empty() {
            self.errors.push(DialplanError::MissingField {
                at: at(target.start),
                what: "context name",
            });
            return;
        }
        self.contexts[ctx].includes.push(Include {
            context: target.of(text).to_owned(),
            at: at(target.start),
        });
    }

    /// `exten => PATTERN,PRIORITY[(label)],App(args)`.
    fn exten(
        &mut self,
        ctx: usize,
        text: &str,
        key_start: usize,
        value_start: usize,
        at: &dyn Fn(usize) -> Location,
    ) {
        self.last = Last::Broken;
        let (name_span, rest) = split_comma(text, value_start, text.len());
        let name = name_span.of(text);
        let pattern = match Pattern::parse(name) {
            Ok(p) => p,
            Err(e) => {
                let byte = name
                    .char_indices()
                    .nth(e.offset)
                    .map_or(name.len(), |(b, _)| b);
                self.errors.push(DialplanError::BadPattern {
                    at: at(name_span.start + byte),
                    pattern: name.to_owned(),
                    reason: e.error,
                });
                return;
            }
        };
        let Some((rest_start, rest_end)) = rest else {
            self.errors.push(DialplanError::MissingField {
                at: at(text.len()),
                what: "priority",
            });
            return;
        };
        let draft = &mut self.contexts[ctx];
        let ext = match draft.by_name.get(name) {
            Some(&i) => i,
            None => {
                draft.extensions.push(ExtensionDraft {
                    name: name.to_owned(),
                    pattern,
                    at: at(name_span.start),
                    steps: Vec::new(),
                    last_priority: None,
                });
                draft
                    .by_name
                    .insert(name.to_owned(), draft.extensions.len() - 1);
                draft.extensions.len() - 1
            }
        };
        self.last = Last::Exten(ctx, ext);
        self.step(ctx, ext, text, key_start, rest_start, rest_end, at);
    }

    /// `same => PRIORITY[(label)],App(args)`.
    fn same(
        &mut self,
        ctx: usize,
        text: &str,
        key_start: usize,
        value_start: usize,
        at: &dyn Fn(usize) -> Location,
    ) {
        match self.last {
            Last::Exten(c, ext) if c == ctx => {
                self.step(ctx, ext, text, key_start, value_start, text.len(), at);
            }
            Last::Broken => {}
            _ => self
                .errors
                .push(DialplanError::SameWithoutExten { at: at(key_start) }),
        }
    }

    /// The `PRIORITY[(label)],App(args)` part of `exten`/`same`, added to extension `ext`.
    #[allow(clippy::too_many_arguments)]
    fn step(
        &mut self,
        ctx: usize,
        ext: usize,
        text: &str,
        key_start: usize,
        start: usize,
        end: usize,
        at: &dyn Fn(usize) -> Location,
    ) {
        let (prio_span, rest) = split_comma(text, start, end);
        let field = match fields::priority(text, prio_span, at) {
            Ok(field) => field,
            Err(e) => {
                self.errors.push(*e);
                return;
            }
        };
        let Some((app_start, app_end)) = rest else {
            self.errors.push(DialplanError::MissingField {
                at: at(end),
                what: "application",
            });
            return;
        };
        let (app, args) = match fields::application(text, app_start, app_end, at) {
            Ok(app) => app,
            Err(e) => {
                self.errors.push(*e);
                return;
            }
        };
        let extension = &self.contexts[ctx].extensions[ext];
        let priority = match (field.number, extension.last_priority) {
            (Some(p), _) => p,
            (None, Some(last)) => last.saturating_add(1),
            (None, None) => {
                self.errors.push(DialplanError::NextBeforeFirst {
                    at: at(prio_span.start),
                    exten: extension.name.clone(),
                });
                return;
            }
        };
        if let Some(first) = extension.steps.iter().find(|s| s.priority == priority) {
            self.errors.push(DialplanError::DuplicatePriority {
                at: at(prio_span.start),
                first: first.at.clone(),
                exten: extension.name.clone(),
                priority,
            });
            return;
        }
        if let Some((label, label_at)) = &field.label {
            if let Some(first) = extension
                .steps
                .iter()
                .find(|s| s.label.as_deref() == Some(label))
            {
                self.errors.push(DialplanError::DuplicateLabel {
                    at: label_at.clone(),
                    first: first.at.clone(),
                    exten: extension.name.clone(),
                    label: label.clone(),
                });
                return;
            }
        }
        let extension = &mut self.contexts[ctx].extensions[ext];
        extension.last_priority = Some(priority);
        extension.steps.push(Step {
            priority,
            label: field.label.map(|(l, _)| l),
            app,
            args,
            at: at(key_start),
        });
    }
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
