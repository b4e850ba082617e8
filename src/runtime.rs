//! Runtime plumbing shared by every long-lived task: the shutdown token, the task tracker,
//! and the signal handler that triggers a graceful stop.
//!
//! Depends on nothing else in the crate.

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// What every spawned task needs to stop cleanly: a token it listens to at each wait point,
/// and the tracker it is spawned on so the server can wait for it to finish.
#[derive(Clone, Debug, Default)]
pub struct Lifecycle {
    /// Cancelled once when the process is asked to stop.
    pub shutdown: CancellationToken,
    /// Every task of the server is spawned here, so shutdown can wait for all of them.
    pub tracker: TaskTracker,
}

impl Lifecycle {
    /// A fresh lifecycle with nothing cancelled and no tasks.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels the token, closes the tracker and waits until every tracked task has ended.
    pub async fn stop_and_wait(&self) {
        self.shutdown.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }
}

/// Resolves when SIGINT (Ctrl-C) or SIGTERM arrives, or when `token` is cancelled elsewhere.
pub async fn wait_for_signal(token: &CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let term = signal(SignalKind::terminate());
        match term {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => tracing::info!(signal = "SIGINT", "shutdown requested"),
                    _ = term.recv() => tracing::info!(signal = "SIGTERM", "shutdown requested"),
                    _ = token.cancelled() => {}
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot install SIGTERM handler; only SIGINT stops the server");
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => tracing::info!(signal = "SIGINT", "shutdown requested"),
                    _ = token.cancelled() => {}
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => tracing::info!(signal = "SIGINT", "shutdown requested"),
            _ = token.cancelled() => {}
        }
    }
}
