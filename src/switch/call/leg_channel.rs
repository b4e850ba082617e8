//! A channel owned by the call actor, with the event publishing that goes with each change:
//! every state change is published on the bus in the order it happens, and the registry
//! counts the channel from creation to destruction.
//!
//! Depends on `switch::{channel, events, bus, cause}` and the call registry.

use std::sync::Arc;

use crate::media::relay::LegStats;
use crate::switch::bus::EventBus;
use crate::switch::cause::HangupCause;
use crate::switch::channel::{
    Channel, ChannelMediaStats, ChannelSnapshot, ChannelSpec, ChannelState, Now,
};
use crate::switch::events::{DialStatus, EventKind};

use super::registry::CallRegistry;

/// A channel of one call and whether its `ChannelDestroyed` went out.
#[derive(Debug)]
pub struct LegChannel {
    channel: Channel,
    destroyed: bool,
    /// The application started with [`Self::start_app`] that has not ended yet.
    app_running: Option<String>,
}

impl LegChannel {
    /// Creates the channel and publishes `ChannelCreated`.
    pub async fn create(spec: ChannelSpec, bus: &EventBus, registry: &CallRegistry) -> Self {
        Self::create_with_vars(spec, Vec::new(), bus, registry).await
    }

    /// Creates the channel with `variables` already set and publishes `ChannelCreated`.
    pub async fn create_with_vars(
        spec: ChannelSpec,
        variables: Vec<(String, String)>,
        bus: &EventBus,
        registry: &CallRegistry,
    ) -> Self {
        let mut channel = Channel::new(spec, Now::current());
        for (name, value) in variables {
            channel.set_var(name, value);
        }
        registry.channel_created();
        publish(bus, channel.snapshot(), EventKind::ChannelCreated).await;
        Self {
            channel,
            destroyed: false,
            app_running: None,
        }
    }

    /// The channel.
    pub fn channel(&self) -> &Channel {
        &self.channel
    }

    /// The channel, for changes the caller publishes itself (bridging).
    pub fn channel_mut(&mut self) -> &mut Channel {
        &mut self.channel
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<ChannelSnapshot> {
        self.channel.snapshot()
    }

    /// Whether the channel is hung up.
    pub fn is_hung_up(&self) -> bool {
        self.channel.state == ChannelState::Hangup
    }

    /// Moves to `to` if that is an edge from the current state (a repeated 180 is not),
    /// publishing `ChannelState` (and `Answered` for `Up`).
    pub async fn set_state(&mut self, to: ChannelState, bus: &EventBus) {
        if !self.channel.state.can_transition(to) || to == ChannelState::Hangup {
            return;
        }
        if let Ok(change) = self.channel.transition(to, Now::current()) {
            publish(
                bus,
                self.channel.snapshot(),
                EventKind::ChannelState {
                    old: change.from,
                    new: change.to,
                },
            )
            .await;
            if to == ChannelState::Up {
                publish(bus, self.channel.snapshot(), EventKind::Answered).await;
            }
        }
    }

    /// Hangs up with `cause` unless already hung up; publishes `AppEnd` for a running
    /// application, then `ChannelState` and `Hangup`.
    pub async fn hangup(&mut self, cause: HangupCause, bus: &EventBus) {
        if self.is_hung_up() {
            return;
        }
        if let Some(app) = self.app_running.take() {
            publish(bus, self.channel.snapshot(), EventKind::AppEnd { app }).await;
        }
        let Ok(change) = self.channel.hangup(cause, Now::current()) else {
            return;
        };
        publish(
            bus,
            self.channel.snapshot(),
            EventKind::ChannelState {
                old: change.from,
                new: change.to,
            },
        )
        .await;
        let cause = self.channel.hangup.unwrap_or(cause);
        publish(bus, self.channel.snapshot(), EventKind::Hangup { cause }).await;
    }

    /// Publishes `ChannelDestroyed` (once) and uncounts the channel.
    pub async fn destroy(&mut self, bus: &EventBus, registry: &CallRegistry) {
        if self.destroyed {
            return;
        }
        self.destroyed = true;
        registry.channel_destroyed();
        publish(bus, self.channel.snapshot(), EventKind::ChannelDestroyed).await;
    }

    /// Records the relay statistics of this channel's media leg.
    pub fn set_media(&mut self, stats: &LegStats) {
        self.channel.set_media_stats(ChannelMediaStats::from(stats));
        if let Some(codec) = &stats.codec {
            self.channel.set_codec(codec.clone());
        }
    }

    /// Records `app` as the channel's current application and publishes `AppStart`.
    pub async fn start_app(&mut self, app: &str, data: String, bus: &EventBus) {
        self.channel.set_app(app, data.clone());
        self.app_running = Some(app.to_owned());
        let kind = EventKind::AppStart {
            app: app.to_owned(),
            data,
        };
        publish(bus, self.channel.snapshot(), kind).await;
    }

    /// Publishes `AppEnd` for the application started with [`Self::start_app`], if any.
    pub async fn end_app(&mut self, bus: &EventBus) {
        if let Some(app) = self.app_running.take() {
            publish(bus, self.channel.snapshot(), EventKind::AppEnd { app }).await;
        }
    }

    /// Publishes `DialBegin` on this (caller) channel for `callee`.
    pub async fn dial_begin(&self, callee: &LegChannel, dialstring: String, bus: &EventBus) {
        publish(
            bus,
            self.channel.snapshot(),
            EventKind::DialBegin {
                callee: callee.snapshot(),
                dialstring,
            },
        )
        .await;
    }

    /// Publishes `DialEnd` on this (caller) channel for `callee`.
    pub async fn dial_end(&self, callee: &LegChannel, status: DialStatus, bus: &EventBus) {
        publish(
            bus,
            self.channel.snapshot(),
            EventKind::DialEnd {
                callee: callee.snapshot(),
                status,
            },
        )
        .await;
    }

    /// Records hold/unhold and publishes `Hold`/`Unhold` when it changed.
    pub async fn set_hold(&mut self, on_hold: bool, bus: &EventBus) {
        if self.channel.set_hold(on_hold) {
            let kind = if on_hold {
                EventKind::Hold
            } else {
                EventKind::Unhold
            };
            publish(bus, self.channel.snapshot(), kind).await;
        }
    }
}

/// Publishes `kind` about `snapshot`'s channel, logged at debug level (one line per event,
/// so a call's event sequence can be read in the log).
pub async fn publish(bus: &EventBus, snapshot: Arc<ChannelSnapshot>, kind: EventKind) {
    tracing::debug!(
        event = kind.name(),
        channel = %snapshot.name,
        state = snapshot.state.as_str(),
        linkedid = snapshot.linkedid.as_str(),
        "event"
    );
    bus.publish(snapshot, kind).await;
}
