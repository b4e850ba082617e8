//! Reloading the dialplan from its directory, whatever asks for it (the control socket,
//! SIGHUP, the web editor): parse off the async threads, install if it parsed, keep the
//! running one otherwise, and log the outcome the same way every time.
//!
//! Depends on: `super::{live, error}`, tokio (`spawn_blocking`), tracing.

use std::path::{Path, PathBuf};

use super::{DialplanErrors, LiveDialplan, ReloadSummary};

/// The PBX's answer to `reload`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadReply {
    /// The new dialplan is in force for new calls.
    Reloaded(ReloadSummary),
    /// The new dialplan was rejected (every problem, `file:line:col: reason`); the running
    /// one is kept.
    Rejected(Vec<String>),
}

/// Reloads the dialplan from its directory and logs the outcome; shared by the socket and
/// the SIGHUP handler.
#[derive(Debug, Clone)]
pub struct Reloader {
    /// The dialplan in force.
    live: LiveDialplan,
    /// The directory it is read from (`<config>/dialplan`).
    dir: PathBuf,
}

impl Reloader {
    /// A reloader of `live` from `dir`.
    pub fn new(live: LiveDialplan, dir: PathBuf) -> Reloader {
        Reloader { live, dir }
    }

    /// The dialplan in force.
    pub fn live(&self) -> &LiveDialplan {
        &self.live
    }

    /// The directory the dialplan is read from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Parses the directory off the async threads, installs the result if it parsed, logs
    /// what happened (`trigger` names the cause: `control socket`, `SIGHUP`, `web`).
    pub async fn reload(&self, trigger: &'static str) -> ReloadReply {
        let (live, dir) = (self.live.clone(), self.dir.clone());
        let outcome = tokio::task::spawn_blocking(move || live.reload_from(&dir)).await;
        let reply = match outcome {
            Ok(Ok(summary)) => ReloadReply::Reloaded(summary),
            Ok(Err(errors)) => ReloadReply::Rejected(messages(&errors)),
            Err(join) => ReloadReply::Rejected(vec![format!("reload task failed: {join}")]),
        };
        match &reply {
            ReloadReply::Reloaded(s) => tracing::info!(
                generation = s.generation,
                contexts = s.contexts,
                extensions = s.extensions,
                trigger,
                "dialplan reloaded"
            ),
            ReloadReply::Rejected(errors) => {
                for error in errors {
                    tracing::warn!(%error, "dialplan error");
                }
                tracing::warn!(
                    generation = self.live.generation(),
                    errors = errors.len(),
                    trigger,
                    "dialplan rejected, running dialplan kept"
                );
            }
        }
        reply
    }
}

/// Every problem of a failed load, one `file:line:col: reason` string each.
fn messages(errors: &DialplanErrors) -> Vec<String> {
    errors.errors.iter().map(ToString::to_string).collect()
}
