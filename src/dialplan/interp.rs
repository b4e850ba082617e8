//! The sans-IO dialplan interpreter: walks a call through the steps of an
//! `Arc<Dialplan>`, executing the control-flow applications itself (`NoOp`, `Log`, `Set`,
//! `Goto`, `GotoIf`, `GotoIfTime`, `Gosub`, `Return`, `ExecIf`) and stopping at the first application
//! that needs I/O, which it returns as an [`Action`] for the call actor to perform.
//!
//! ```text
//!            start(ctx, exten) ── no match ──► Err(NoSuchExtension)  (caller answers 404)
//!                  │
//!                  ▼
//!   ┌──────► At(priority) ──step──► NoOp/Log/Set ──► After(priority) ──next_step──┐
//!   │              ▲                Goto/GotoIf/Gosub/Return ──► At(target)        │
//!   │              │                I/O app ──► return Action::App ──► After ──────┤
//!   │         goto(..) by caller                                                    │
//!   └───────────────────────────────────── no next priority ──► Action::End ◄───────┘
//! ```
//!
//! Each [`Interpreter::run`] call executes at most [`STEP_BUDGET`] steps (loop
//! protection) and the `Gosub` stack is limited to [`MAX_GOSUB_DEPTH`] frames. The
//! interpreter keeps the `Arc<Dialplan>` the call started with, so a reload only affects
//! new calls.
//!
//! Depends on: `super::{model, matcher, expr}`, [`crate::config::Location`], `tracing`,
//! `thiserror`, std.

mod action;
mod time;

use std::sync::Arc;

use super::expr::{self, check_condition, ExprError, Scope};
use super::model::{Dialplan, Step};
use crate::config::Location;

use action::{split_condition, split_top};
pub use action::{Action, AppAction, AppKind};

/// Steps one [`Interpreter::run`] call may execute before giving up (an endless `Goto`
/// loop without I/O would otherwise spin the call's task forever).
pub const STEP_BUDGET: u32 = 10_000;

/// Deepest `Gosub` nesting (recursion without `Return` is a dialplan bug).
pub const MAX_GOSUB_DEPTH: usize = 64;

/// Most `ARGn` of an outer `Gosub` hidden from an inner one (bounds work on a bogus
/// `ARGC` set by the dialplan itself).
const MAX_GOSUB_ARGS: usize = 128;

/// An error that stops the dialplan for this call (the caller hangs up).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InterpError {
    /// No extension matches `exten` in `context` (or its includes).
    #[error("no extension `{exten}` in context `{context}`")]
    NoSuchExtension {
        /// The context searched.
        context: String,
        /// The dialled extension.
        exten: String,
    },
    /// The extension exists but has no such priority.
    #[error("no priority {priority} for `{exten}` in context `{context}`")]
    NoSuchPriority {
        /// The context searched.
        context: String,
        /// The extension.
        exten: String,
        /// The missing priority.
        priority: u32,
    },
    /// No extension matching `exten` has that label.
    #[error("no label `{label}` for `{exten}` in context `{context}`")]
    NoSuchLabel {
        /// The context searched.
        context: String,
        /// The extension.
        exten: String,
        /// The missing label.
        label: String,
    },
    /// `Gosub` nested deeper than [`MAX_GOSUB_DEPTH`].
    #[error("{at}: Gosub nested deeper than {limit}")]
    GosubTooDeep {
        /// The limit.
        limit: usize,
        /// The `Gosub` step.
        at: Location,
    },
    /// `Return` without a `Gosub` to return to.
    #[error("{at}: Return without Gosub")]
    ReturnWithoutGosub {
        /// The `Return` step.
        at: Location,
    },
    /// More than [`STEP_BUDGET`] steps without an application needing I/O.
    #[error("{limit} dialplan steps without I/O (loop?), last at {at}")]
    StepBudgetExceeded {
        /// The budget.
        limit: u32,
        /// The step that exhausted it.
        at: Location,
    },
    /// Expanding or assigning failed.
    #[error("{at}: {app}: {source}")]
    Expr {
        /// The application of the step.
        app: String,
        /// The step.
        at: Location,
        /// The expression error.
        #[source]
        source: ExprError,
    },
    /// Arguments an application cannot use (`Goto()` without target, `Wait(abc)`, ...).
    #[error("{at}: {app}: {detail}")]
    BadArgument {
        /// The application.
        app: String,
        /// What is wrong.
        detail: String,
        /// The step.
        at: Location,
    },
}

/// Where the next `run` continues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resume {
    /// Execute the current priority.
    At,
    /// Continue with the priority after the current one.
    After,
}

/// A `Gosub` frame: where `Return` goes back to and the `ARGn` values it restores.
#[derive(Debug, Clone)]
struct Frame {
    /// Context of the `Gosub` step.
    context: String,
    /// Extension of the `Gosub` step.
    exten: String,
    /// Priority of the `Gosub` step (execution resumes after it).
    priority: u32,
    /// `ARGC`, `ARG1`.. as they were before the call (`None` = unset, set back to empty).
    saved: Vec<(String, Option<String>)>,
}

/// What executing one step did.
enum Flow {
    /// Continue with the next priority.
    Next,
    /// The location was changed; execute it.
    Jump,
    /// Hand this to the caller (for `ExecIf`, the inner application and its data).
    Yield(AppAction),
}

/// One call's position in the dialplan and its `Gosub` stack.
#[derive(Debug, Clone)]
pub struct Interpreter {
    /// The dialplan version the call started with.
    dialplan: Arc<Dialplan>,
    /// Current context.
    context: String,
    /// Current extension.
    exten: String,
    /// Current priority.
    priority: u32,
    /// Whether `run` executes `priority` or continues after it.
    resume: Resume,
    /// `EXTEN`/`CONTEXT` changed since they were last written to the scope.
    location_dirty: bool,
    /// `Gosub` return frames, innermost last.
    stack: Vec<Frame>,
}

/// Starts a call at the first priority of the best match for `exten` in `context`.
pub fn start(
    dialplan: Arc<Dialplan>,
    context: &str,
    exten: &str,
) -> Result<Interpreter, InterpError> {
    let first = dialplan
        .find(context, exten)
        .and_then(|m| m.steps().first().map(|s| s.priority))
        .ok_or_else(|| InterpError::NoSuchExtension {
            context: context.to_owned(),
            exten: exten.to_owned(),
        })?;
    Ok(Interpreter {
        dialplan,
        context: context.to_owned(),
        exten: exten.to_owned(),
        priority: first,
        resume: Resume::At,
        location_dirty: true,
        stack: Vec::new(),
    })
}

impl Interpreter {
    /// The current (context, extension, priority).
    pub fn location(&self) -> (&str, &str, u32) {
        (&self.context, &self.exten, self.priority)
    }

    /// The current `Gosub` depth.
    pub fn gosub_depth(&self) -> usize {
        self.stack.len()
    }

    /// The dialplan version this call runs on.
    pub fn dialplan(&self) -> &Arc<Dialplan> {
        &self.dialplan
    }

    /// Jumps to `priority` of `exten` in `context` (digit collection, `Dial` continuing
    /// on failure); the next [`Interpreter::run`] executes that step.
    pub fn goto(&mut self, context: &str, exten: &str, priority: u32) -> Result<(), InterpError> {
        if self
            .dialplan
            .find_priority(context, exten, priority)
            .is_none()
        {
            return Err(self.missing_priority(context, exten, priority));
        }
        self.set_location(context, exten, priority);
        Ok(())
    }

    /// Jumps to a `[[context,]exten,]priority|label` target relative to the current
    /// location (e.g. an IVR's `i` or `t` extension chosen by the caller).
    pub fn goto_target(&mut self, target: &str) -> Result<(), InterpError> {
        let at = self.current_location();
        self.jump(target, "Goto", &at)
    }

    /// Executes steps until one needs I/O and returns it, or [`Action::End`] when the
    /// extension has no further priority.
    pub fn run(&mut self, scope: &mut dyn Scope) -> Result<Action, InterpError> {
        let dialplan = Arc::clone(&self.dialplan);
        for _ in 0..STEP_BUDGET {
            let Some(step) = self.next(&dialplan)? else {
                return Ok(Action::End);
            };
            if self.location_dirty {
                scope.set_var("CONTEXT", &self.context);
                scope.set_var("EXTEN", &self.exten);
                self.location_dirty = false;
            }
            let data = expr::expand(&step.args, scope).map_err(|e| expr_error(step, e))?;
            self.resume = Resume::After;
            match self.exec(&step.app, &data, step, scope)? {
                Flow::Next => {}
                Flow::Jump => self.resume = Resume::At,
                Flow::Yield(action) => return Ok(Action::App(action)),
            }
        }
        Err(InterpError::StepBudgetExceeded {
            limit: STEP_BUDGET,
            at: self.current_location(),
        })
    }

    /// The step to execute now, advancing `priority` when continuing.
    fn next<'d>(&mut self, dialplan: &'d Dialplan) -> Result<Option<&'d Step>, InterpError> {
        let Some(found) = dialplan.find_priority(&self.context, &self.exten, self.priority) else {
            return Err(self.missing_priority(&self.context, &self.exten, self.priority));
        };
        let step = match self.resume {
            Resume::At => found.step,
            Resume::After => match found.extension.next_step(self.priority) {
                Some(step) => step,
                None => return Ok(None),
            },
        };
        self.priority = step.priority;
        self.resume = Resume::At;
        Ok(Some(step))
    }

    /// Executes `app` with expanded `data` (the step's own, or an `ExecIf` branch's).
    fn exec(
        &mut self,
        app: &str,
        data: &str,
        step: &Step,
        scope: &mut dyn Scope,
    ) -> Result<Flow, InterpError> {
        let at = &step.at;
        let is = |name: &str| app.eq_ignore_ascii_case(name);
        if is("NoOp") {
            tracing::debug!(target: "dialplan", data, at = %at, "NoOp");
            Ok(Flow::Next)
        } else if is("Log") {
            let (level, message) = data.split_once(',').unwrap_or(("NOTICE", data));
            tracing::info!(target: "dialplan", level = level.trim(), message, at = %at, "Log");
            Ok(Flow::Next)
        } else if is("Set") {
            let (name, value) = expr::parse_set(data).map_err(|e| expr_error(step, e))?;
            expr::assign(&name, &value, scope).map_err(|e| expr_error(step, e))?;
            Ok(Flow::Next)
        } else if is("Goto") {
            self.jump(data, app, at)?;
            Ok(Flow::Jump)
        } else if is("GotoIf") {
            let (cond, yes, no) = split_condition(data);
            match if check_condition(cond) { yes } else { no } {
                Some(target) => {
                    self.jump(target, app, at)?;
                    Ok(Flow::Jump)
                }
                None => Ok(Flow::Next),
            }
        } else if is("GotoIfTime") {
            let (cond, yes, no) = split_condition(data);
            let now = scope.now();
            let matched = time::matches(cond, now).map_err(|d| bad(app, &d, at))?;
            match if matched { yes } else { no } {
                Some(target) => {
                    self.jump(target, app, at)?;
                    Ok(Flow::Jump)
                }
                None => Ok(Flow::Next),
            }
        } else if is("Gosub") {
            self.gosub(data, app, at, scope)?;
            Ok(Flow::Jump)
        } else if is("Return") {
            self.gosub_return(data, at, scope)?;
            Ok(Flow::Next)
        } else if is("ExecIf") {
            let (cond, yes, no) = split_condition(data);
            let Some(branch) = (if check_condition(cond) { yes } else { no }) else {
                return Ok(Flow::Next);
            };
            let (inner, inner_data) = match branch.split_once('(') {
                Some((name, rest)) => (name.trim(), rest.strip_suffix(')').unwrap_or(rest)),
                None => (branch.trim(), ""),
            };
            if inner.eq_ignore_ascii_case("ExecIf") {
                return Err(bad(app, "ExecIf cannot nest ExecIf", at));
            }
            self.exec(inner, inner_data, step, scope)
        } else {
            let kind = action::classify(app, data, at)?;
            Ok(Flow::Yield(AppAction {
                app: app.to_owned(),
                data: data.to_owned(),
                kind,
            }))
        }
    }

    /// Moves to a `[[context,]exten,]priority|label` target.
    fn jump(&mut self, target: &str, app: &str, at: &Location) -> Result<(), InterpError> {
        let parts = split_top(target, ',');
        let (context, exten, prio) = match parts.as_slice() {
            [p] => (self.context.clone(), self.exten.clone(), p.trim()),
            [e, p] => (self.context.clone(), e.trim().to_owned(), p.trim()),
            [c, e, p] => (c.trim().to_owned(), e.trim().to_owned(), p.trim()),
            _ => return Err(bad(app, "target has more than three parts", at)),
        };
        if prio.is_empty() || exten.is_empty() || context.is_empty() {
            return Err(bad(app, "empty target", at));
        }
        let priority = self.resolve(&context, &exten, prio)?;
        self.set_location(&context, &exten, priority);
        Ok(())
    }

    /// A priority number or a label of `exten` in `context`, as a priority.
    fn resolve(&self, context: &str, exten: &str, prio: &str) -> Result<u32, InterpError> {
        if let Ok(priority) = prio.parse::<u32>() {
            return match self.dialplan.find_priority(context, exten, priority) {
                Some(_) => Ok(priority),
                None => Err(self.missing_priority(context, exten, priority)),
            };
        }
        match self.dialplan.find_label(context, exten, prio) {
            Some(found) => Ok(found.step.priority),
            None => Err(InterpError::NoSuchLabel {
                context: context.to_owned(),
                exten: exten.to_owned(),
                label: prio.to_owned(),
            }),
        }
    }

    /// `Gosub([[context,]exten,]priority|label[(arg1[,...])])`.
    fn gosub(
        &mut self,
        data: &str,
        app: &str,
        at: &Location,
        scope: &mut dyn Scope,
    ) -> Result<(), InterpError> {
        if self.stack.len() >= MAX_GOSUB_DEPTH {
            return Err(InterpError::GosubTooDeep {
                limit: MAX_GOSUB_DEPTH,
                at: at.clone(),
            });
        }
        let data = data.trim();
        let (target, args) = match data.find('(') {
            Some(open) if data.ends_with(')') => {
                (&data[..open], Some(&data[open + 1..data.len() - 1]))
            }
            _ => (data, None),
        };
        let args: Vec<&str> = args.map(|a| split_top(a, ',')).unwrap_or_default();
        let frame = Frame {
            context: self.context.clone(),
            exten: self.exten.clone(),
            priority: self.priority,
            saved: Vec::new(),
        };
        self.jump(target, app, at)?;
        let mut frame = frame;
        let outer_argc = scope.var("ARGC");
        // The caller's own ARGn beyond our count are hidden too (Asterisk's are LOCAL).
        let hidden = outer_argc
            .as_deref()
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(0)
            .min(MAX_GOSUB_ARGS);
        frame.saved.push(("ARGC".to_owned(), outer_argc));
        scope.set_var("ARGC", &args.len().to_string());
        for i in 0..args.len().max(hidden) {
            let name = format!("ARG{}", i + 1);
            frame.saved.push((name.clone(), scope.var(&name)));
            scope.set_var(&name, args.get(i).copied().unwrap_or(""));
        }
        self.stack.push(frame);
        Ok(())
    }

    /// `Return([value])`: restores the `ARGn` variables, sets `GOSUB_RETVAL`, and continues
    /// after the `Gosub` step.
    fn gosub_return(
        &mut self,
        data: &str,
        at: &Location,
        scope: &mut dyn Scope,
    ) -> Result<(), InterpError> {
        let Some(frame) = self.stack.pop() else {
            return Err(InterpError::ReturnWithoutGosub { at: at.clone() });
        };
        for (name, old) in frame.saved.iter().rev() {
            scope.set_var(name, old.as_deref().unwrap_or(""));
        }
        scope.set_var("GOSUB_RETVAL", data);
        self.set_location(&frame.context, &frame.exten, frame.priority);
        self.resume = Resume::After;
        Ok(())
    }

    /// Sets the location; the next step executes it.
    fn set_location(&mut self, context: &str, exten: &str, priority: u32) {
        if self.context != context {
            self.context.clear();
            self.context.push_str(context);
            self.location_dirty = true;
        }
        if self.exten != exten {
            self.exten.clear();
            self.exten.push_str(exten);
            self.location_dirty = true;
        }
        self.priority = priority;
        self.resume = Resume::At;
    }

    /// The location of the current step (for errors outside a step).
    fn current_location(&self) -> Location {
        self.dialplan
            .find_priority(&self.context, &self.exten, self.priority)
            .map(|found| found.step.at.clone())
            .unwrap_or_else(|| Location {
                path: std::path::PathBuf::from(format!("{},{}", self.context, self.exten)),
                line: 0,
                column: 0,
            })
    }

    /// `NoSuchExtension` when nothing matches `exten`, else `NoSuchPriority`.
    fn missing_priority(&self, context: &str, exten: &str, priority: u32) -> InterpError {
        if self.dialplan.find(context, exten).is_none() {
            return InterpError::NoSuchExtension {
                context: context.to_owned(),
                exten: exten.to_owned(),
            };
        }
        InterpError::NoSuchPriority {
            context: context.to_owned(),
            exten: exten.to_owned(),
            priority,
        }
    }
}

/// Wraps an expression error with the step's application and location.
fn expr_error(step: &Step, source: ExprError) -> InterpError {
    InterpError::Expr {
        app: step.app.clone(),
        at: step.at.clone(),
        source,
    }
}

/// A `BadArgument` error.
fn bad(app: &str, detail: &str, at: &Location) -> InterpError {
    InterpError::BadArgument {
        app: app.to_owned(),
        detail: detail.to_owned(),
        at: at.clone(),
    }
}

#[cfg(test)]
#[path = "interp_tests.rs"]
mod tests;
