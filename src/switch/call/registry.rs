//! The live-call registry: how many calls and channels exist right now, and the Call-IDs
//! of the requests the B2BUA sent (loop detection, RFC 3261 §16.3 item 4 applied to a
//! B2BUA: an INVITE carrying one of our own outgoing Call-IDs came back to us).
//!
//! Tests and the server read [`CallRegistry::counts`] to assert that nothing leaked.
//!
//! Depends on std only.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// Counts of live objects (see [`CallRegistry::counts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CallCounts {
    /// `Call` actors running.
    pub calls: usize,
    /// Channels not yet destroyed.
    pub channels: usize,
    /// Outgoing Call-IDs remembered for loop detection.
    pub outgoing_call_ids: usize,
    /// Calls started since the registry was created.
    pub calls_total: u64,
}

#[derive(Debug, Default)]
struct Inner {
    calls: AtomicUsize,
    channels: AtomicUsize,
    calls_total: AtomicU64,
    /// Held for one insert/remove/lookup, never across an await: a std Mutex.
    outgoing: Mutex<HashSet<String>>,
    /// Woken whenever a call ends (for [`CallRegistry::wait_idle`]).
    ended: tokio::sync::Notify,
}

/// Shared registry of live calls; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct CallRegistry {
    inner: Arc<Inner>,
}

impl CallRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The current counts.
    pub fn counts(&self) -> CallCounts {
        CallCounts {
            calls: self.inner.calls.load(Ordering::Relaxed),
            channels: self.inner.channels.load(Ordering::Relaxed),
            outgoing_call_ids: self.outgoing().len(),
            calls_total: self.inner.calls_total.load(Ordering::Relaxed),
        }
    }

    /// A call actor started; the guard counts it until dropped.
    pub fn call_started(&self) -> CallGuard {
        self.inner.calls.fetch_add(1, Ordering::Relaxed);
        self.inner.calls_total.fetch_add(1, Ordering::Relaxed);
        CallGuard {
            registry: self.clone(),
        }
    }

    /// Resolves once no call is live (at once if none is).
    pub async fn wait_idle(&self) {
        loop {
            let ended = self.inner.ended.notified();
            if self.inner.calls.load(Ordering::Relaxed) == 0 {
                return;
            }
            ended.await;
        }
    }

    /// A channel was created.
    pub fn channel_created(&self) {
        self.inner.channels.fetch_add(1, Ordering::Relaxed);
    }

    /// A channel was destroyed.
    pub fn channel_destroyed(&self) {
        self.inner.channels.fetch_sub(1, Ordering::Relaxed);
    }

    /// Remembers a Call-ID we used on an outgoing leg.
    pub fn add_outgoing(&self, call_id: &str) {
        self.outgoing().insert(call_id.to_owned());
    }

    /// Forgets an outgoing Call-ID (the leg ended).
    pub fn remove_outgoing(&self, call_id: &str) {
        self.outgoing().remove(call_id);
    }

    /// Whether `call_id` is one of ours (an incoming request with it looped back).
    pub fn is_outgoing(&self, call_id: &str) -> bool {
        self.outgoing().contains(call_id)
    }

    fn outgoing(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.inner
            .outgoing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Counts one running call; decrements on drop (every path out of the actor).
#[derive(Debug)]
pub struct CallGuard {
    registry: CallRegistry,
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        self.registry.inner.calls.fetch_sub(1, Ordering::Relaxed);
        self.registry.inner.ended.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wait_idle_resolves_when_the_last_call_ends() {
        let r = CallRegistry::new();
        r.wait_idle().await;
        let first = r.call_started();
        let second = r.call_started();
        let waiter = tokio::spawn({
            let r = r.clone();
            async move { r.wait_idle().await }
        });
        drop(first);
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "one call is still live");
        drop(second);
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("idle after the last call")
            .expect("waiter task");
    }

    #[test]
    fn counts_follow_calls_channels_and_call_ids() {
        let r = CallRegistry::new();
        let guard = r.call_started();
        r.channel_created();
        r.channel_created();
        r.add_outgoing("abc");
        assert!(r.is_outgoing("abc"));
        assert!(!r.is_outgoing("abd"));
        let c = r.counts();
        assert_eq!(
            (c.calls, c.channels, c.outgoing_call_ids, c.calls_total),
            (1, 2, 1, 1)
        );
        r.channel_destroyed();
        r.channel_destroyed();
        r.remove_outgoing("abc");
        drop(guard);
        assert_eq!(
            r.counts(),
            CallCounts {
                calls_total: 1,
                ..CallCounts::default()
            }
        );
    }
}
