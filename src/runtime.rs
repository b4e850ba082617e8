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

/// Registers the SIGINT and SIGTERM handlers now (before anything else starts, so a stop
/// requested during start-up is not the default "terminate at once") and cancels `stop` when
/// one arrives. Returns the watching task.
pub fn spawn_signal_watcher(stop: CancellationToken) -> tokio::task::JoinHandle<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        // `signal` installs the process-wide handler when called, not when first polled.
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        if let (Ok(mut term), Ok(mut int)) = (term, int) {
            return tokio::spawn(async move {
                tokio::select! {
                    _ = int.recv() => tracing::info!(signal = "SIGINT", "shutdown requested"),
                    _ = term.recv() => tracing::info!(signal = "SIGTERM", "shutdown requested"),
                }
                stop.cancel();
            });
        }
        tracing::warn!("cannot install the SIGTERM/SIGINT handlers; falling back to Ctrl-C");
    }
    tokio::spawn(async move {
        wait_for_signal(&stop).await;
        stop.cancel();
    })
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

/// Whether the server takes new calls. Subsystems that cannot keep up (the CDR writer with a
/// full backlog) close it under their name and reopen it when they recover; the call
/// dispatcher answers new INVITEs with 503 while any holder keeps it closed. Calls already
/// up are never affected.
#[derive(Clone, Debug, Default)]
pub struct Admission {
    closed: std::sync::Arc<std::sync::atomic::AtomicBool>,
    holders: std::sync::Arc<std::sync::Mutex<Vec<&'static str>>>,
}

impl Admission {
    /// An open gate.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether new calls are taken.
    pub fn is_open(&self) -> bool {
        !self.closed.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Closes the gate on behalf of `holder` (idempotent).
    pub fn close(&self, holder: &'static str) {
        let mut holders = self.holders.lock().unwrap_or_else(|p| p.into_inner());
        if !holders.contains(&holder) {
            holders.push(holder);
        }
        self.closed
            .store(true, std::sync::atomic::Ordering::Release);
    }

    /// Withdraws `holder`'s hold; the gate opens when no holder is left.
    pub fn open(&self, holder: &'static str) {
        let mut holders = self.holders.lock().unwrap_or_else(|p| p.into_inner());
        holders.retain(|h| *h != holder);
        self.closed
            .store(!holders.is_empty(), std::sync::atomic::Ordering::Release);
    }

    /// Who keeps the gate closed.
    pub fn holders(&self) -> Vec<&'static str> {
        self.holders
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod admission_tests {
    use super::Admission;

    #[test]
    fn gate_opens_when_every_holder_left() {
        let gate = Admission::new();
        assert!(gate.is_open());
        gate.close("cdr");
        gate.close("cdr");
        gate.close("disk");
        assert!(!gate.is_open());
        gate.open("cdr");
        assert!(!gate.is_open());
        assert_eq!(gate.holders(), vec!["disk"]);
        gate.open("disk");
        assert!(gate.is_open());
    }
}
