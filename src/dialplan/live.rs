//! The running dialplan and its hot reload: [`LiveDialplan`] holds the current
//! `Arc<Dialplan>` with a generation number and swaps it whole.
//!
//! A call takes [`LiveDialplan::current`] once when it starts and keeps that `Arc` to the
//! end, so calls in progress finish on the version they started with while new calls get
//! the new one. [`LiveDialplan::reload_from`] parses a directory first and swaps only when
//! the parse succeeded: a broken dialplan is rejected and the running one kept.
//!
//! ```text
//!   reload_from(dir) ──parse ok──► replace(new) ──► generation + 1, current() = new
//!         │ parse failed
//!         └──► Err(DialplanErrors), current() unchanged
//! ```
//!
//! Depends on: `super::model::Dialplan`, `super::error::DialplanErrors`, std, tokio's `watch`
//! (change notification). Logging the outcome is the caller's job (the server's control
//! socket and SIGHUP handler).

use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use super::error::DialplanErrors;
use super::model::Dialplan;

/// The generation of the dialplan the server starts with.
pub const FIRST_GENERATION: u64 = 1;

/// The dialplan in force, shared by the server and every call; cheap to clone.
#[derive(Clone)]
pub struct LiveDialplan {
    inner: Arc<Inner>,
}

struct Inner {
    /// The current dialplan and its generation, swapped together. A `std` lock: held only
    /// for an `Arc` clone or an assignment, never across an await or a parse.
    current: RwLock<Versioned>,
    /// Serialises [`LiveDialplan::reload_from`] so two reloads racing cannot install the
    /// older parse last. Held during a parse (blocking; call reloads off the async threads).
    reloading: Mutex<()>,
    /// The generation in force, for those who wait for a change (web live view, tests).
    changes: tokio::sync::watch::Sender<u64>,
}

/// A dialplan together with its generation number.
#[derive(Clone)]
struct Versioned {
    dialplan: Arc<Dialplan>,
    generation: u64,
}

/// What a successful reload installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ReloadSummary {
    /// The generation of the new dialplan (the first dialplan is [`FIRST_GENERATION`]).
    pub generation: u64,
    /// Number of contexts in it.
    pub contexts: usize,
    /// Number of extensions over all its contexts.
    pub extensions: usize,
}

impl LiveDialplan {
    /// Starts with `dialplan` as generation [`FIRST_GENERATION`].
    pub fn new(dialplan: Arc<Dialplan>) -> LiveDialplan {
        LiveDialplan {
            inner: Arc::new(Inner {
                current: RwLock::new(Versioned {
                    dialplan,
                    generation: FIRST_GENERATION,
                }),
                reloading: Mutex::new(()),
                changes: tokio::sync::watch::Sender::new(FIRST_GENERATION),
            }),
        }
    }

    /// The dialplan in force now (a call keeps it for its whole life).
    pub fn current(&self) -> Arc<Dialplan> {
        self.read().dialplan
    }

    /// The dialplan in force now with its generation, read together.
    pub fn snapshot(&self) -> (Arc<Dialplan>, u64) {
        let v = self.read();
        (v.dialplan, v.generation)
    }

    /// The generation of the dialplan in force (starts at [`FIRST_GENERATION`], + 1 per
    /// replacement).
    pub fn generation(&self) -> u64 {
        self.read().generation
    }

    /// Installs `dialplan` for new calls and returns its generation.
    pub fn replace(&self, dialplan: Arc<Dialplan>) -> u64 {
        // A poisoned lock only means a panic happened while assigning; the value is whole.
        let mut current = self
            .inner
            .current
            .write()
            .unwrap_or_else(|p| p.into_inner());
        current.generation += 1;
        current.dialplan = dialplan;
        // Under the write lock, so watchers see generations in order.
        self.inner.changes.send_replace(current.generation);
        current.generation
    }

    /// A receiver of the generation in force, marked changed at every replacement.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.changes.subscribe()
    }

    /// Parses every `*.conf` of `dir` and installs the result; on any error returns every
    /// problem and keeps the running dialplan. Blocking (reads files): call it from
    /// `spawn_blocking` in async code.
    pub fn reload_from(&self, dir: &Path) -> Result<ReloadSummary, DialplanErrors> {
        let _one_at_a_time = self
            .inner
            .reloading
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let dialplan = Dialplan::load_dir(dir)?;
        let (contexts, extensions) = (dialplan.contexts().len(), dialplan.extension_count());
        let generation = self.replace(Arc::new(dialplan));
        Ok(ReloadSummary {
            generation,
            contexts,
            extensions,
        })
    }

    /// The summary of the dialplan in force (what a reload to it would have reported).
    pub fn summary(&self) -> ReloadSummary {
        let v = self.read();
        ReloadSummary {
            generation: v.generation,
            contexts: v.dialplan.contexts().len(),
            extensions: v.dialplan.extension_count(),
        }
    }

    fn read(&self) -> Versioned {
        self.inner
            .current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl fmt::Debug for LiveDialplan {
    /// The summary only: a whole dialplan is far too long for a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.summary();
        f.debug_struct("LiveDialplan")
            .field("generation", &s.generation)
            .field("contexts", &s.contexts)
            .field("extensions", &s.extensions)
            .finish()
    }
}

#[cfg(test)]
#[path = "live_tests.rs"]
mod tests;
