//! The live-call registry: how many calls and channels exist right now, and the Call-IDs
//! of the requests the B2BUA sent (loop detection, RFC 3261 §16.3 item 4 applied to a
//! B2BUA: an INVITE carrying one of our own outgoing Call-IDs came back to us).
//!
//! Tests and the server read [`CallRegistry::counts`] to assert that nothing leaked.
//!
//! Admin hang-up (the web admin's `DELETE /api/v1/calls/{id}`): each live call's
//! [`CallGuard`] holds a [`CancellationToken`]; the first time the actor waits on it
//! ([`CallGuard::hangup_requested`]) the token is filed under the call's A (inbound)
//! channel id, and [`CallRegistry::request_hangup`] cancels it. The entry leaves the map
//! when the guard drops (the call is torn down), so the map holds live calls only.
//!
//! ```text
//!  web ── request_hangup(a_id) ──► hangups[a_id].cancel() ──► actor's select branch
//!                                                               └─► BYE / CANCEL + final
//! ```
//!
//! Depends on std and tokio-util only.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio_util::sync::CancellationToken;

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
    /// Admin hang-up tokens of live calls by A channel id. Held for one insert, remove or
    /// lookup, never across an await: a std Mutex.
    hangups: Mutex<HashMap<String, CancellationToken>>,
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
            hangup: CancellationToken::new(),
            key: None,
        }
    }

    /// Asks the live call whose A (inbound) channel is `a_channel` to hang up (the web
    /// admin's hang-up). `false` when no live call has that A channel (unknown, already
    /// torn down, or not yet waiting in its event loop).
    pub fn request_hangup(&self, a_channel: &str) -> bool {
        match self.hangups().get(a_channel) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    /// Whether a live call has `a_channel` as its A channel.
    pub fn has_call(&self, a_channel: &str) -> bool {
        self.hangups().contains_key(a_channel)
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

    fn hangups(&self) -> std::sync::MutexGuard<'_, HashMap<String, CancellationToken>> {
        self.inner
            .hangups
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Counts one running call; decrements on drop (every path out of the actor). Also the
/// call's admin hang-up token (see the module docs).
#[derive(Debug)]
pub struct CallGuard {
    registry: CallRegistry,
    /// Cancelled by [`CallRegistry::request_hangup`].
    hangup: CancellationToken,
    /// The A channel id the token is filed under, once filed.
    key: Option<String>,
}

impl CallGuard {
    /// Resolves when an administrator asks this call to hang up. The first call files the
    /// token under `a_channel` (later calls only wait: no lock, no allocation).
    pub fn hangup_requested(
        &mut self,
        a_channel: &str,
    ) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        if self.key.is_none() {
            self.registry
                .hangups()
                .insert(a_channel.to_owned(), self.hangup.clone());
            self.key = Some(a_channel.to_owned());
        }
        self.hangup.cancelled()
    }
}

/// [`CallGuard::hangup_requested`] on the guard of a call still counted; pending forever
/// once the guard is gone (the call is being torn down). For the actor's `select!`.
pub fn admin_hangup<'a>(
    guard: &'a mut Option<CallGuard>,
    a_channel: &str,
) -> impl Future<Output = ()> + 'a {
    let wait = guard.as_mut().map(|g| g.hangup_requested(a_channel));
    async move {
        match wait {
            Some(wait) => wait.await,
            None => std::future::pending().await,
        }
    }
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.registry.hangups().remove(&key);
        }
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

    #[tokio::test]
    async fn request_hangup_wakes_the_call_filed_under_its_a_channel() {
        let r = CallRegistry::new();
        assert!(!r.request_hangup("a-1"), "nothing filed yet");
        let mut guard = Some(r.call_started());
        let mut other = Some(r.call_started());
        // Filing happens when the actor first builds the wait (before any poll).
        drop(admin_hangup(&mut other, "a-2"));
        let wait = admin_hangup(&mut guard, "a-1");
        assert!(r.has_call("a-1") && r.has_call("a-2"));
        assert!(!r.request_hangup("unknown"));
        assert!(r.request_hangup("a-1"));
        tokio::time::timeout(std::time::Duration::from_secs(5), wait)
            .await
            .expect("woken");
        // A second wait does not file twice and resolves at once (already cancelled).
        admin_hangup(&mut guard, "a-1").await;
        // The other call is not affected; a dropped guard leaves the map.
        assert!(r.has_call("a-2"));
        drop(guard);
        assert!(!r.has_call("a-1"));
        assert!(!r.request_hangup("a-1"));
        other.take();
        assert!(!r.has_call("a-2"));
        assert_eq!(r.counts().calls, 0);
    }

    #[tokio::test]
    async fn a_call_without_guard_never_wakes() {
        let mut gone: Option<CallGuard> = None;
        let wait = admin_hangup(&mut gone, "a-1");
        let res = tokio::time::timeout(std::time::Duration::from_millis(20), wait).await;
        assert!(res.is_err(), "pending forever");
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
