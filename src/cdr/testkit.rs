//! Test-only event builders shared by the CDR engines' unit tests (leg, bridge, CEL).
//!
//! A [`Sim`] drives real [`Channel`]s (the switch's state machine, `src/switch/channel.rs`)
//! and real bridges ([`crate::switch::bridge::join`] / [`crate::switch::bridge::part`]:
//! peers, last peers, linkedid "oldest wins") on an explicit clock, and turns every change
//! into the [`Event`] the call core would publish, with a strictly increasing `seq`. Events
//! collect in the `Sim` until [`Sim::take`] hands them over (in publication order).
//!
//! Two levels:
//! - primitives, one switch fact each: [`Sim::create_inbound`], [`Sim::create_outbound`],
//!   [`Sim::dial_begin`], [`Sim::dial_end`], [`Sim::ring`], [`Sim::progress`],
//!   [`Sim::answer`], [`Sim::bridge`], [`Sim::unbridge`], [`Sim::hangup`], [`Sim::destroy`],
//!   [`Sim::set_var`], [`Sim::start_app`], [`Sim::hold`], [`Sim::link`]; silent edits
//!   (no event, like the call core's own bookkeeping) through [`Sim::edit`];
//! - call-core sequences, the exact order `src/switch/call/{actor,bleg}.rs` publishes:
//!   [`Sim::dial`] (`start_leg`), [`Sim::ring_legs`] (`on_provisional`), [`Sim::connect`]
//!   (`bridge_legs`), [`Sim::fail_leg`] (`end_leg_channel` / `cancel_pending`),
//!   [`Sim::end_call`] (`end_call`).
//!
//! An answered A→B call, as the call core publishes it:
//! ```text
//!   A ChannelCreated, A AppStart(Dial), B ChannelCreated, A DialBegin(B),
//!   B ChannelState(Ringing), A ChannelState(Ringing),
//!   B ChannelState(Up), B Answered, A DialEnd(B, ANSWER), A ChannelState(Up), A Answered,
//!   A BridgeEnter, B BridgeEnter, [LinkedIdChanged...],
//!   A BridgeLeave, B BridgeLeave, A AppEnd(Dial), A ChannelState(Hangup), A Hangup,
//!   B ChannelState(Hangup), B Hangup, B ChannelDestroyed, A ChannelDestroyed
//! ```
//!
//! Times: the clock starts at [`T0_MS`] (ms since the epoch) and only moves with
//! [`Sim::advance_ms`]; `Event::at` and every channel time are the clock's value.
//!
//! Depends on `switch::{channel, bridge, events, cause, ids}`.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use crate::switch::bridge::{self, Bridge};
use crate::switch::cause::HangupCause;
use crate::switch::channel::{
    Attribution, CallSource, Channel, ChannelSnapshot, ChannelSpec, ChannelState, Direction, Now,
    PartyId,
};
use crate::switch::events::{DialStatus, Event, EventKind};
use crate::switch::ids::ChannelId;

/// The simulated clock's start: 2026-01-01T00:00:00Z, in ms since the epoch.
pub(crate) const T0_MS: i64 = 1_767_225_600_000;

/// A channel of a [`Sim`] (an index; cheap to copy).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ch(usize);

struct SimChannel {
    channel: Channel,
    app_running: Option<String>,
    destroyed: bool,
    bridge: Option<usize>,
}

/// Drives channels and bridges, collecting the events the switch would publish.
pub(crate) struct Sim {
    seq: u64,
    elapsed_ms: u64,
    mono0: Instant,
    names: u32,
    chans: Vec<SimChannel>,
    bridges: Vec<Bridge>,
    pending: Vec<Event>,
}

impl Default for Sim {
    fn default() -> Self {
        Self::new()
    }
}

impl Sim {
    /// A simulation at [`T0_MS`] with no channel; the first event gets `seq` 1.
    pub(crate) fn new() -> Sim {
        Sim {
            seq: 0,
            elapsed_ms: 0,
            mono0: Instant::now(),
            names: 0,
            chans: Vec::new(),
            bridges: Vec::new(),
            pending: Vec::new(),
        }
    }

    // ----- clock -----

    /// Moves the clock forward by `ms` milliseconds.
    pub(crate) fn advance_ms(&mut self, ms: u64) {
        self.elapsed_ms += ms;
    }

    /// The clock, ms since the epoch.
    pub(crate) fn now_ms(&self) -> i64 {
        T0_MS + self.elapsed_ms as i64
    }

    /// The clock as a switch [`Now`].
    pub(crate) fn now(&self) -> Now {
        let wall = UNIX_EPOCH + Duration::from_millis(T0_MS as u64 + self.elapsed_ms);
        Now::at(wall, self.mono0 + Duration::from_millis(self.elapsed_ms))
    }

    fn wall(&self) -> SystemTime {
        self.now().wall
    }

    // ----- access -----

    /// The events published since the last call, in order.
    pub(crate) fn take(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.pending)
    }

    /// The last `seq` handed out (0 before any event).
    pub(crate) fn last_seq(&self) -> u64 {
        self.seq
    }

    /// The channel's current snapshot.
    pub(crate) fn snapshot(&self, ch: Ch) -> Arc<ChannelSnapshot> {
        self.chans[ch.0].channel.snapshot()
    }

    /// The channel's id.
    pub(crate) fn id(&self, ch: Ch) -> ChannelId {
        self.chans[ch.0].channel.id.clone()
    }

    /// The channel's id text.
    pub(crate) fn uuid(&self, ch: Ch) -> String {
        self.chans[ch.0].channel.id.as_str().to_owned()
    }

    /// The channel's name.
    pub(crate) fn name(&self, ch: Ch) -> String {
        self.chans[ch.0].channel.name.clone()
    }

    /// Changes the channel without publishing anything (codec, RTP stats, account code,
    /// AMA flags, user field, callee...: what the call core records silently).
    pub(crate) fn edit(&mut self, ch: Ch, f: impl FnOnce(&mut Channel)) {
        f(&mut self.chans[ch.0].channel);
    }

    fn emit(&mut self, ch: Ch, kind: EventKind) {
        self.seq += 1;
        let snapshot = self.chans[ch.0].channel.snapshot();
        self.pending.push(Event {
            seq: self.seq,
            at: self.wall(),
            channel: snapshot.id.clone(),
            snapshot,
            kind,
        });
    }

    fn next_name(&mut self, prefix: &str) -> String {
        self.names += 1;
        format!("SIP/{prefix}-{:08x}", self.names)
    }

    // ----- primitives -----

    /// Creates a channel from `spec` and publishes `ChannelCreated`. An originator in the
    /// spec is taken as is (use [`Sim::create_outbound`] to get it from a `Ch`).
    pub(crate) fn create(&mut self, spec: ChannelSpec) -> Ch {
        let channel = Channel::new(spec, self.now());
        self.chans.push(SimChannel {
            channel,
            app_running: None,
            destroyed: false,
            bridge: None,
        });
        let ch = Ch(self.chans.len() - 1);
        self.emit(ch, EventKind::ChannelCreated);
        ch
    }

    /// An inbound channel like the call core makes for an extension `caller` dialing
    /// `exten`: name `SIP/<caller>-<n>`, context `internal`, `call_source` dialplan,
    /// attribution account = source_name = `caller`, dial_number = `exten`, a Call-ID.
    pub(crate) fn create_inbound(&mut self, caller: &str, exten: &str) -> Ch {
        let name = self.next_name(caller);
        let spec = ChannelSpec {
            name,
            direction: Direction::Inbound,
            caller: PartyId {
                number: caller.to_owned(),
                name: None,
            },
            exten: exten.to_owned(),
            context: "internal".to_owned(),
            call_source: CallSource::Dialplan,
            attribution: Attribution {
                account: caller.to_owned(),
                source_name: caller.to_owned(),
                dial_number: exten.to_owned(),
                ..Attribution::default()
            },
            originator: None,
            sip_call_id: Some(format!("in-{}@test", self.names)),
        };
        self.create(spec)
    }

    /// An outbound channel dialed by `originator` towards `dest` (an extension, or a
    /// gateway when `gateway` is set, in which case the number dialed is `number`), built
    /// like `bleg::start_leg`: caller and context copied from the originator, attribution
    /// account = `dest`, line_group = `dest` for a gateway, dial_number = the number; the
    /// callee is set (silently) to the number right after `ChannelCreated`.
    pub(crate) fn create_outbound(
        &mut self,
        originator: Ch,
        dest: &str,
        number: &str,
        gateway: bool,
    ) -> Ch {
        let a = self.snapshot(originator);
        let name = self.next_name(dest);
        let spec = ChannelSpec {
            name,
            direction: Direction::Outbound,
            caller: a.caller.clone(),
            exten: number.to_owned(),
            context: a.context.clone(),
            call_source: CallSource::Dialplan,
            attribution: Attribution {
                account: dest.to_owned(),
                source_name: a.attribution.source_name.clone(),
                source_number: a.attribution.source_number.clone(),
                dial_number: number.to_owned(),
                line_group: if gateway {
                    dest.to_owned()
                } else {
                    String::new()
                },
            },
            originator: Some(a),
            sip_call_id: Some(format!("out-{}@test", self.names)),
        };
        let ch = self.create(spec);
        self.edit(ch, |c| {
            c.set_callee(PartyId {
                number: number.to_owned(),
                name: None,
            })
        });
        ch
    }

    /// `DialBegin` on `caller` for `callee`.
    pub(crate) fn dial_begin(&mut self, caller: Ch, callee: Ch, dialstring: &str) {
        let callee = self.snapshot(callee);
        let dialstring = dialstring.to_owned();
        self.emit(caller, EventKind::DialBegin { callee, dialstring });
    }

    /// `DialEnd` on `caller` for `callee`.
    pub(crate) fn dial_end(&mut self, caller: Ch, callee: Ch, status: DialStatus) {
        let callee = self.snapshot(callee);
        self.emit(caller, EventKind::DialEnd { callee, status });
    }

    fn set_state(&mut self, ch: Ch, to: ChannelState) {
        let now = self.now();
        let c = &mut self.chans[ch.0].channel;
        if !c.state.can_transition(to) {
            return;
        }
        if let Ok(change) = c.transition(to, now) {
            self.emit(ch, EventKind::from(&change));
            if to == ChannelState::Up {
                self.emit(ch, EventKind::Answered);
            }
        }
    }

    /// `ChannelState(Ringing)` (nothing if not a valid edge, like the call core).
    pub(crate) fn ring(&mut self, ch: Ch) {
        self.set_state(ch, ChannelState::Ringing);
    }

    /// `ChannelState(Progress)` (183).
    pub(crate) fn progress(&mut self, ch: Ch) {
        self.set_state(ch, ChannelState::Progress);
    }

    /// `ChannelState(Up)` then `Answered`.
    pub(crate) fn answer(&mut self, ch: Ch) {
        self.set_state(ch, ChannelState::Up);
    }

    /// Puts `members` into a new bridge with the switch's `bridge::join` (peers, last
    /// peers, linkedid oldest-wins): `BridgeEnter` per member in order, then one
    /// `LinkedIdChanged` per changed linkedid. Returns the bridge's index.
    pub(crate) fn bridge_many(&mut self, members: &[Ch]) -> usize {
        let mut br = Bridge::new();
        let result = {
            let mut refs: Vec<(usize, &mut Channel)> = self
                .chans
                .iter_mut()
                .enumerate()
                .filter(|(i, _)| members.iter().any(|m| m.0 == *i))
                .map(|(i, c)| (i, &mut c.channel))
                .collect();
            refs.sort_by_key(|(i, _)| members.iter().position(|m| m.0 == *i));
            let mut refs: Vec<&mut Channel> = refs.into_iter().map(|(_, c)| c).collect();
            bridge::join(&mut br, &mut refs)
        };
        let index = self.bridges.len();
        for m in members {
            self.chans[m.0].bridge = Some(index);
        }
        let bridge_id = br.id().clone();
        self.bridges.push(br);
        let (joined, changes) = result.unwrap_or_else(|e| panic!("join: {e}"));
        for j in joined {
            let ch = self.find(&j.channel);
            let kind = EventKind::BridgeEnter {
                bridge: bridge_id.clone(),
                others: j.others,
            };
            self.emit(ch, kind);
        }
        for c in changes {
            let ch = self.find(&c.channel);
            self.emit(ch, EventKind::from(&c));
        }
        index
    }

    /// A two-party bridge of `a` and `b` (see [`Sim::bridge_many`]).
    pub(crate) fn bridge(&mut self, a: Ch, b: Ch) -> usize {
        self.bridge_many(&[a, b])
    }

    /// Adds `ch` to the existing bridge `index` (a third party): `BridgeEnter` for it,
    /// linkedids unified to the oldest (`LinkedIdChanged` per change), peers recomputed
    /// (`peer` only in a two-party bridge; last peers kept).
    pub(crate) fn bridge_add(&mut self, index: usize, ch: Ch) {
        let br = &mut self.bridges[index];
        let (joined, mut changes) = bridge::join(br, &mut [&mut self.chans[ch.0].channel])
            .unwrap_or_else(|e| panic!("join: {e}"));
        self.chans[ch.0].bridge = Some(index);
        let bridge_id = self.bridges[index].id().clone();
        let members: Vec<ChannelId> = self.bridges[index]
            .members()
            .iter()
            .map(|m| m.channel.clone())
            .collect();
        // Changes reported for members owned "elsewhere" (the ones already in): apply.
        for c in &changes {
            let other = self.find(&c.channel);
            if other != ch {
                self.chans[other.0].channel.set_linkedid(c.new.clone());
            }
        }
        for m in &members {
            let mc = self.find(m);
            let others: Vec<ChannelId> = members.iter().filter(|o| *o != m).cloned().collect();
            let peer = if others.len() == 1 {
                others.first().cloned()
            } else {
                None
            };
            self.chans[mc.0]
                .channel
                .set_bridged(bridge_id.clone(), peer);
        }
        for j in joined {
            let kind = EventKind::BridgeEnter {
                bridge: bridge_id.clone(),
                others: j.others,
            };
            self.emit(ch, kind);
        }
        for c in changes.drain(..) {
            let who = self.find(&c.channel);
            self.emit(who, EventKind::from(&c));
        }
    }

    /// Takes `ch` out of its bridge (`bridge::part`: peer cleared, last peer and linkedid
    /// kept) and publishes `BridgeLeave`. Nothing if it is in no bridge.
    pub(crate) fn unbridge(&mut self, ch: Ch) {
        let Some(index) = self.chans[ch.0].bridge.take() else {
            return;
        };
        let br = &mut self.bridges[index];
        let others =
            bridge::part(br, &mut self.chans[ch.0].channel).unwrap_or_else(|e| panic!("part: {e}"));
        let bridge = br.id().clone();
        self.emit(ch, EventKind::BridgeLeave { bridge, others });
    }

    /// Sets the channel's linkedid to `to`'s (a transfer joining conversations without a
    /// bridge) and publishes `LinkedIdChanged` when it changed.
    pub(crate) fn link(&mut self, ch: Ch, to: Ch) {
        let new = self.chans[to.0].channel.linkedid.clone();
        if let Some(change) = self.chans[ch.0].channel.set_linkedid(new) {
            self.emit(ch, EventKind::from(&change));
        }
    }

    /// Hangs up with `cause` (`AppEnd` for a running application first, then
    /// `ChannelState(Hangup)` and `Hangup`), like `LegChannel::hangup`. Nothing if already
    /// hung up.
    pub(crate) fn hangup(&mut self, ch: Ch, cause: HangupCause) {
        if self.chans[ch.0].channel.state == ChannelState::Hangup {
            return;
        }
        if let Some(app) = self.chans[ch.0].app_running.take() {
            self.emit(ch, EventKind::AppEnd { app });
        }
        let now = self.now();
        let change = self.chans[ch.0]
            .channel
            .hangup(cause, now)
            .unwrap_or_else(|e| panic!("hangup: {e}"));
        self.emit(ch, EventKind::from(&change));
        let cause = self.chans[ch.0].channel.hangup.unwrap_or(cause);
        self.emit(ch, EventKind::Hangup { cause });
    }

    /// `ChannelDestroyed` (once).
    pub(crate) fn destroy(&mut self, ch: Ch) {
        if std::mem::replace(&mut self.chans[ch.0].destroyed, true) {
            return;
        }
        self.emit(ch, EventKind::ChannelDestroyed);
    }

    /// Sets a channel variable and publishes `VarSet`.
    pub(crate) fn set_var(&mut self, ch: Ch, name: &str, value: &str) {
        self.chans[ch.0].channel.set_var(name, value);
        let kind = EventKind::VarSet {
            name: name.to_owned(),
            value: Some(value.to_owned()),
        };
        self.emit(ch, kind);
    }

    /// Records `app` as the channel's application and publishes `AppStart` (its `AppEnd`
    /// comes with the hang-up, or from [`Sim::end_app`]).
    pub(crate) fn start_app(&mut self, ch: Ch, app: &str, data: &str) {
        self.chans[ch.0].channel.set_app(app, data);
        self.chans[ch.0].app_running = Some(app.to_owned());
        let kind = EventKind::AppStart {
            app: app.to_owned(),
            data: data.to_owned(),
        };
        self.emit(ch, kind);
    }

    /// Publishes `AppEnd` for the running application, if any.
    pub(crate) fn end_app(&mut self, ch: Ch) {
        if let Some(app) = self.chans[ch.0].app_running.take() {
            self.emit(ch, EventKind::AppEnd { app });
        }
    }

    /// `Hold` / `Unhold` when it changes.
    pub(crate) fn hold(&mut self, ch: Ch, on_hold: bool) {
        if self.chans[ch.0].channel.set_hold(on_hold) {
            self.emit(
                ch,
                if on_hold {
                    EventKind::Hold
                } else {
                    EventKind::Unhold
                },
            );
        }
    }

    // ----- call-core sequences -----

    /// `bleg::start_leg`: a new outbound channel for `dest` (see [`Sim::create_outbound`])
    /// and `DialBegin` on `caller` with dialstring `SIP/<dest>`.
    pub(crate) fn dial(&mut self, caller: Ch, dest: &str, number: &str, gateway: bool) -> Ch {
        let b = self.create_outbound(caller, dest, number, gateway);
        self.dial_begin(caller, b, &format!("SIP/{dest}"));
        b
    }

    /// `on_provisional` (180): every leg in `legs` rings, then the caller.
    pub(crate) fn ring_legs(&mut self, caller: Ch, legs: &[Ch]) {
        for &l in legs {
            self.ring(l);
        }
        self.ring(caller);
    }

    /// `bridge_legs`: `b` answers, `DialEnd(ANSWER)` on `a`, `a` answers, both bridged.
    /// (Cancel the other ringing legs with [`Sim::fail_leg`] first, like `answer` does.)
    pub(crate) fn connect(&mut self, a: Ch, b: Ch) {
        self.answer(b);
        self.dial_end(a, b, DialStatus::Answer);
        self.answer(a);
        self.bridge(a, b);
    }

    /// A leg ended before the call (`end_leg_channel` / `cancel_pending`): hang-up with
    /// `cause`, `DialEnd` on `caller` with `status` (unless the caller is hung up),
    /// `ChannelDestroyed`.
    pub(crate) fn fail_leg(&mut self, caller: Ch, leg: Ch, cause: HangupCause, status: DialStatus) {
        self.hangup(leg, cause);
        if self.chans[caller.0].channel.state != ChannelState::Hangup {
            self.dial_end(caller, leg, status);
        }
        self.destroy(leg);
    }

    /// `Call::end_call`: both bridged channels leave (caller first), the caller hangs up
    /// with `a_cause`, every leg still up with `b_cause`, legs destroyed, then the caller.
    pub(crate) fn end_call(
        &mut self,
        a: Ch,
        legs: &[Ch],
        a_cause: HangupCause,
        b_cause: HangupCause,
    ) {
        if self.chans[a.0].bridge.is_some() {
            self.unbridge(a);
            for &l in legs {
                self.unbridge(l);
            }
        }
        self.hangup(a, a_cause);
        for &l in legs {
            self.hangup(l, b_cause);
        }
        for &l in legs {
            self.destroy(l);
        }
        self.destroy(a);
    }

    fn find(&self, id: &ChannelId) -> Ch {
        let i = self
            .chans
            .iter()
            .position(|c| &c.channel.id == id)
            .unwrap_or_else(|| panic!("no channel {id}"));
        Ch(i)
    }
}

/// The kinds' names of `events`, in order (for sequence asserts).
pub(crate) fn kinds(events: &[Event]) -> Vec<&'static str> {
    events.iter().map(|e| e.kind.name()).collect()
}

#[cfg(test)]
#[path = "testkit_tests.rs"]
mod tests;
