//! The `Call` actor: one task per call owning the A leg (the caller's dialog and inbound
//! channel), the B legs (one outbound channel and INVITE per contact or gateway), the RTP
//! relay and the bridge. See the parent module for the phases; B-leg handling lives in
//! `bleg`, in-dialog passthrough in `in_dialog`.
//!
//! Every wait point also listens to shutdown; every path out hangs up and destroys the
//! channels, closes the relay (ports back to the pool) and unregisters the dialogs.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::dialplan::interp::Interpreter;
use crate::media::player::{Player, RtpOut};
use crate::media::recorder::Recording;
use crate::media::relay::{Leg, MediaEvent, RelaySession};
use crate::sip::dialog::{Dialog, DialogId};
use crate::sip::endpoint::{InDialogRequest, IncomingRequest, ServerEvent, ServerTransaction};
use crate::sip::message::{new_tag, NameAddr, Request, Response};
use crate::sip::registrar::AuthHeader;
use crate::sip::transport::{Source, Target};
use crate::switch::bridge::{self, Bridge};
use crate::switch::cause::{HangupCause, HangupSide, Q850};
use crate::switch::channel::{Attribution, CallSource, ChannelSpec, Direction, PartyId};
use crate::switch::errors::CallError;
use crate::switch::events::{DialStatus, EventKind};

use super::bleg::{self, BLeg};
use super::dial::{DialOptions, Failure};
use super::exec::Running;
use super::in_dialog::{self, Passthrough, Side};
use super::leg_channel::LegChannel;
use super::local_media::LocalMedia;
use super::registry::CallGuard;
use super::scope::DialOutcome;
use super::{msgs, CallContext};

/// The dialplan context of calls from extensions.
pub const INTERNAL_CONTEXT: &str = "internal";
/// The dialplan context of calls from trusted gateways.
pub const TRUNK_CONTEXT: &str = "from-trunk";

/// In-dialog requests queued for one call (both dialogs): a handful at a time is normal.
const DIALOG_QUEUE: usize = 16;
/// Relay events (DTMF digits, media timeout) queued for one call.
const MEDIA_QUEUE: usize = 32;

/// Where the call is; see the parent module's diagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// The dialplan runs an application other than `Dial` (or is between two).
    Dialplan,
    /// B legs are being rung.
    Dialing,
    /// A B leg answered; the two legs are bridged.
    Answered,
    /// Torn down; only leftover outbound transactions are finished.
    Ending,
}

/// The caller's leg.
pub(super) struct ALeg {
    pub request: Request,
    /// Where requests to the caller go (its source: NAT- and flow-friendly).
    pub target: Target,
    /// The INVITE's server transaction (kept after the 2xx for the ACK events).
    pub txn: Option<ServerTransaction>,
    pub to_tag: String,
    pub contact: NameAddr,
    pub dialog: Option<Dialog>,
    pub channel: LegChannel,
    pub final_sent: bool,
}

/// One call; see the module docs.
pub(super) struct Call {
    pub ctx: Arc<CallContext>,
    pub server: String,
    pub a: ALeg,
    pub b: Vec<BLeg>,
    pub winner: Option<usize>,
    pub relay: Option<RelaySession>,
    pub media_tx: mpsc::Sender<MediaEvent>,
    pub media_rx: mpsc::Receiver<MediaEvent>,
    /// In-dialog requests of both dialogs (boxed: a channel allocates its slots up front,
    /// and a request is large).
    pub dialog_tx: mpsc::Sender<Box<InDialogRequest>>,
    pub dialog_rx: mpsc::Receiver<Box<InDialogRequest>>,
    pub registered: Vec<DialogId>,
    pub passthrough: Vec<Passthrough>,
    pub bridge: Option<Bridge>,
    /// Late offer: the B leg whose 2xx waits for the caller's ACK (and its SDP answer).
    pub deferred_ack: Option<usize>,
    /// The caller-side SDP when the switch talks to the caller itself (`local_media`).
    pub local: Option<LocalMedia>,
    /// The call's position in the dialplan.
    pub interp: Option<Interpreter>,
    /// What the application in progress waits for (`exec`).
    pub running: Running,
    /// The application's timer (`Wait`, digit timeouts, `Record` limit...).
    pub app_deadline: Option<Instant>,
    /// Digits typed and not consumed yet (IVR menus, `Read`).
    pub digits: String,
    /// The prompt / tone / music being played to the caller.
    pub player: Option<Player>,
    /// RTP sequence and timestamp state towards the caller, kept between plays.
    pub rtp_out: Option<RtpOut>,
    /// A `Record` in progress.
    pub recording: Option<Recording>,
    /// `Record`'s silence limit: this much silence ends the recording.
    pub record_silence: Option<Duration>,
    /// The options of the current (or last) `Dial`.
    pub dial: DialOptions,
    /// First index in `b` of the current `Dial`'s legs.
    pub dial_first: usize,
    /// Final statuses of the current `Dial`'s targets that could not be rung at all.
    pub pre_failed: Vec<u16>,
    /// `DIALSTATUS` / `HANGUPCAUSE` of the last `Dial`.
    pub outcome: DialOutcome,
    /// The last failed `Dial` (the caller's final response if the dialplan ends there).
    pub last_failure: Option<Failure>,
    pub phase: Phase,
    pub ring_deadline: Instant,
    pub linger_deadline: Instant,
    /// Caller's user part (From), used in the B legs' From and Contact.
    pub caller: String,
    /// Counts the call as live until it is torn down.
    guard: Option<CallGuard>,
}

/// The task of one call: authenticate, run the dialplan, tear down.
pub(super) async fn run(ctx: Arc<CallContext>, item: IncomingRequest) {
    let guard = ctx.registry.call_started();
    let IncomingRequest {
        request,
        source,
        txn,
    } = item;
    let server = ctx.config.sip.user_agent.clone();
    let gateway = ctx.gateways.trusted(source.remote).map(|g| g.name);
    let user = match &gateway {
        Some(_) => None,
        None => {
            let auth = ctx
                .registrar
                .authenticate_request(&request, AuthHeader::ProxyAuthorization, &source)
                .await;
            match auth {
                Ok(user) => Some(user),
                Err(mut challenge) => {
                    challenge
                        .headers
                        .push(crate::sip::message::HeaderName::Server, server.as_str());
                    debug!(status = challenge.status, "caller not authenticated");
                    let _ = txn.respond(challenge).await;
                    return;
                }
            }
        }
    };
    let context = if gateway.is_some() {
        TRUNK_CONTEXT
    } else {
        INTERNAL_CONTEXT
    };
    let dialed = msgs::user_of(&request.uri).unwrap_or_default().to_owned();
    info!(dialed = %dialed, context, gateway = ?gateway, user = ?user, "call started");
    // RFC 3261 §8.2.6.1: 100 Trying carries the request's To unchanged (no tag).
    let mut trying = Response::for_request(&request, 100, None, None);
    trying
        .headers
        .push(crate::sip::message::HeaderName::Server, server.as_str());
    let _ = txn.respond(trying).await;
    let Some(mut call) = Call::new(ctx.clone(), request, source, txn, (gateway, user), guard).await
    else {
        return;
    };
    call.start_dialplan(context, &dialed).await;
    call.run_loop().await;
    call.cleanup().await;
    debug!("call task done");
}

impl Call {
    async fn new(
        ctx: Arc<CallContext>,
        request: Request,
        source: Source,
        txn: ServerTransaction,
        (gateway, user): (Option<String>, Option<String>),
        guard: CallGuard,
    ) -> Option<Call> {
        let server = ctx.config.sip.user_agent.clone();
        let from = request.headers.from().ok()?;
        let caller = msgs::user_of(&from.uri).unwrap_or("anonymous").to_owned();
        let dialed = msgs::user_of(&request.uri).unwrap_or_default().to_owned();
        let (gateway_name, user_name) = (gateway, user);
        let spec = ChannelSpec {
            name: format!("SIP/{caller}-{}", short_tag()),
            direction: Direction::Inbound,
            caller: PartyId {
                number: caller.clone(),
                name: from.display.clone(),
            },
            exten: dialed.clone(),
            context: if gateway_name.is_some() {
                TRUNK_CONTEXT
            } else {
                INTERNAL_CONTEXT
            }
            .to_owned(),
            call_source: CallSource::Dialplan,
            attribution: Attribution {
                // A call from a trunk belongs to its line group (the gateway), as IPSC
                // records the trunk group of inbound calls.
                line_group: gateway_name.clone().unwrap_or_default(),
                account: gateway_name.or(user_name).unwrap_or_default(),
                source_name: caller.clone(),
                dial_number: dialed.clone(),
                ..Attribution::default()
            },
            originator: None,
            sip_call_id: request.headers.call_id().ok().map(str::to_owned),
        };
        let target = Target {
            transport: source.transport.clone(),
            addr: source.remote,
            flow: source.flow,
        };
        let contact = ctx
            .sip
            .local_contact(&source.transport, source.remote, None)?;
        // Created last: nothing above may fail once the channel is counted.
        let vars = msgs::inbound_variables(&request, &source);
        let channel = LegChannel::create_with_vars(spec, vars, &ctx.bus, &ctx.registry).await;
        let (media_tx, media_rx) = mpsc::channel(MEDIA_QUEUE);
        let (dialog_tx, dialog_rx) = mpsc::channel(DIALOG_QUEUE);
        let now = Instant::now();
        Some(Call {
            ring_deadline: now + ctx.config.calls.ring_timeout,
            linger_deadline: now,
            server,
            a: ALeg {
                request,
                target,
                txn: Some(txn),
                to_tag: new_tag(),
                contact,
                dialog: None,
                channel,
                final_sent: false,
            },
            b: Vec::new(),
            winner: None,
            relay: None,
            media_tx,
            media_rx,
            dialog_tx,
            dialog_rx,
            registered: Vec::new(),
            passthrough: Vec::new(),
            bridge: None,
            deferred_ack: None,
            local: None,
            interp: None,
            running: Running::Idle,
            app_deadline: None,
            digits: String::new(),
            player: None,
            rtp_out: None,
            recording: None,
            record_silence: None,
            dial: DialOptions::default(),
            dial_first: 0,
            pre_failed: Vec::new(),
            outcome: DialOutcome::default(),
            last_failure: None,
            phase: Phase::Dialplan,
            caller,
            ctx,
            guard: Some(guard),
        })
    }

    /// The event loop; returns when the call is over and nothing is left to finish.
    async fn run_loop(&mut self) {
        let shutdown = self.ctx.lifecycle.shutdown.clone();
        loop {
            let b_live = self.b.iter().any(|l| l.txn.is_some());
            if self.phase == Phase::Ending && !b_live && self.passthrough.is_empty() {
                break;
            }
            let dialing = self.phase == Phase::Dialing;
            let ending = self.phase == Phase::Ending;
            let a_txn = self.a.txn.is_some();
            let app_timer = !ending && self.app_deadline.is_some();
            let app_deadline = self.app_deadline.unwrap_or(self.linger_deadline);
            let playing = !ending && self.player.is_some();
            let silence = self
                .record_silence
                .filter(|_| !ending && self.recording.is_some());
            tokio::select! {
                _ = shutdown.cancelled() => {
                    self.on_shutdown().await;
                    break;
                }
                ev = next_server_event(&mut self.a.txn), if a_txn => self.on_a_event(ev).await,
                (i, ev) = bleg::next_event(&mut self.b), if b_live => self.on_b_event(i, ev).await,
                _ = tokio::time::sleep_until(self.ring_deadline), if dialing => {
                    self.on_ring_timeout().await
                }
                _ = tokio::time::sleep_until(app_deadline), if app_timer => {
                    self.on_app_timeout().await
                }
                _ = player_finished(&mut self.player), if playing => self.on_player_done().await,
                _ = recording_silent(&mut self.recording, silence), if silence.is_some() => {
                    self.finish_record("SILENCE").await
                }
                Some(req) = self.dialog_rx.recv() => self.on_in_dialog(req).await,
                Some(ev) = self.media_rx.recv() => self.on_media(ev).await,
                (i, ev) = in_dialog::next_passthrough(&mut self.passthrough),
                    if !self.passthrough.is_empty() => self.on_passthrough(i, ev).await,
                _ = tokio::time::sleep_until(self.linger_deadline), if ending => break,
                _ = super::registry::admin_hangup(&mut self.guard, self.a.channel.channel().id.as_str()),
                    if !ending => self.on_admin_hangup().await,
            }
        }
    }

    async fn on_a_event(&mut self, ev: Option<ServerEvent>) {
        match ev {
            None => self.a.txn = None,
            Some(ServerEvent::Cancelled) => {
                if self.phase != Phase::Ending && !self.a.final_sent {
                    // RFC 3261 §9.2: 487 to the INVITE; every ringing leg is CANCELled.
                    // RFC 3398 §8.2.6.1 via from_sip: 487 → ORIGINATOR_CANCEL.
                    let cause = HangupCause::from_sip(487, HangupSide::Caller);
                    self.cancel_pending(cause, DialStatus::Cancel).await;
                    self.fail_a(487, cause).await;
                }
            }
            Some(ServerEvent::Ack(ack)) => {
                debug!("caller ACKed the 2xx");
                self.on_caller_ack(Some(*ack)).await;
            }
            Some(ServerEvent::AckTimeout) => {
                // The callee's dialog is confirmed with a plain ACK before its BYE.
                self.on_caller_ack(None).await;
                if self.phase != Phase::Ending {
                    // RFC 3261 §13.3.1.4: no ACK for our 2xx: end the session with BYE.
                    warn!("no ACK from the caller: hanging up");
                    let cause = HangupCause::new(Q850::RecoveryOnTimerExpire, HangupSide::Device);
                    self.hangup_bridged(None, cause).await;
                }
            }
            Some(ServerEvent::TransportError) => {
                let cause = HangupCause::new(Q850::DestinationOutOfOrder, HangupSide::Device);
                if self.phase != Phase::Ending && !self.a.final_sent {
                    self.cancel_pending(cause, DialStatus::Cancel).await;
                    self.a.final_sent = true;
                    self.end_call(cause, cause).await;
                } else if self.phase != Phase::Ending {
                    self.hangup_bridged(None, cause).await;
                }
            }
        }
    }

    async fn on_ring_timeout(&mut self) {
        info!("ring timeout: Dial ends with NOANSWER");
        let cause = CallError::NoAnswer.hangup_cause(HangupSide::Switch);
        self.cancel_pending(cause, DialStatus::NoAnswer).await;
        self.dial_failed(480, cause, None, Some(DialStatus::NoAnswer))
            .await;
    }

    async fn on_media(&mut self, ev: MediaEvent) {
        match ev {
            MediaEvent::Timeout { leg } => {
                // Leg B only counts while bridged; leg A whenever the caller is answered.
                let answered = self.a.channel.channel().answered.is_some();
                let relevant = match leg {
                    Leg::A => answered && self.phase != Phase::Ending,
                    Leg::B => self.phase == Phase::Answered,
                };
                if !relevant {
                    return;
                }
                info!(leg = ?leg, "media timeout: hanging up");
                let cause = HangupCause::new(Q850::MediaTimeout, HangupSide::Device);
                self.hangup_bridged(None, cause).await;
            }
            MediaEvent::Dtmf {
                leg,
                digit,
                duration_ms,
            } => {
                let snapshot = match leg {
                    Leg::A => Some(self.a.channel.snapshot()),
                    Leg::B => self.winner.map(|w| self.b[w].channel.snapshot()),
                };
                if let Some(snapshot) = snapshot {
                    let kind = EventKind::Dtmf { digit, duration_ms };
                    super::leg_channel::publish(&self.ctx.bus, snapshot, kind).await;
                }
                if leg == Leg::A && self.phase == Phase::Dialplan {
                    self.on_digit(digit).await;
                }
            }
        }
    }

    async fn on_shutdown(&mut self) {
        let cause = HangupCause::new(Q850::SystemShutdown, HangupSide::Switch);
        match self.phase {
            Phase::Ending => {}
            _ if !self.a.final_sent => {
                self.cancel_pending(cause, DialStatus::Cancel).await;
                self.fail_a(503, cause).await;
            }
            _ => self.hangup_bridged(None, cause).await,
        }
    }

    /// An administrator hung the call up (web admin): Q.850 16 from the switch; answered →
    /// BYE to both sides, else CANCEL to the ringing legs and 480 to the caller.
    async fn on_admin_hangup(&mut self) {
        let cause = HangupCause::normal(HangupSide::Switch);
        info!(hangup_by = "admin", phase = ?self.phase, "call hung up by an administrator");
        match self.phase {
            Phase::Ending => {}
            _ if !self.a.final_sent => {
                self.cancel_pending(cause, DialStatus::Cancel).await;
                self.fail_a(480, cause).await;
            }
            _ => self.hangup_bridged(None, cause).await,
        }
    }

    /// BYE to the sides other than `from` (both when `None`), then tear down.
    pub(super) async fn hangup_bridged(&mut self, from: Option<Side>, cause: HangupCause) {
        for side in [Side::A, Side::B] {
            if Some(side) != from {
                in_dialog::send_bye(self, side, cause).await;
            }
        }
        self.end_call(cause, cause).await;
    }

    /// Tears the call down: relay closed (stats onto the channels), bridge left, channels
    /// hung up and destroyed, dialogs unregistered. Idempotent.
    pub(super) async fn end_call(&mut self, a_cause: HangupCause, b_cause: HangupCause) {
        if self.phase == Phase::Ending {
            return;
        }
        if self.b.iter().any(BLeg::is_pending) {
            self.cancel_pending(b_cause, DialStatus::Cancel).await;
        }
        self.phase = Phase::Ending;
        self.running = Running::Idle;
        self.stop_player().await;
        if self.recording.is_some() {
            self.stop_recording().await;
            self.a
                .channel
                .channel_mut()
                .set_var("RECORD_STATUS", "HANGUP");
        }
        let bus = self.ctx.bus.clone();
        let registry = self.ctx.registry.clone();
        if let Some(relay) = self.relay.take() {
            let stats = relay.close().await;
            self.a.channel.set_media(&stats.a);
            if let Some(w) = self.winner {
                self.b[w].channel.set_media(&stats.b);
            }
        }
        self.unbridge().await;
        self.a.channel.hangup(a_cause, &bus).await;
        for leg in &mut self.b {
            leg.channel.hangup(b_cause, &bus).await;
        }
        for leg in &mut self.b {
            leg.channel.destroy(&bus, &registry).await;
        }
        self.a.channel.destroy(&bus, &registry).await;
        for id in std::mem::take(&mut self.registered) {
            let _ = self.ctx.sip.unregister_dialog(id).await;
        }
        // Leftover INVITE transactions end within 64·T1 (Timer B / C-like bound).
        self.linger_deadline =
            Instant::now() + self.ctx.config.sip.timers.t1 * 64 + Duration::from_secs(1);
        if let Some(w) = self.winner {
            // The winner's 2xx was ACKed long ago or the caller hung up at once; nothing
            // more is expected from its INVITE transaction.
            self.b[w].txn = None;
        }
        drop(self.guard.take());
        let counts = registry.counts();
        info!(
            a_cause = %self.a.channel.channel().hangup.unwrap_or(a_cause),
            legs = self.b.len(),
            answered = self.a.channel.channel().answered.is_some(),
            live_calls = counts.calls,
            live_channels = counts.channels,
            ports_in_use = self.ctx.ports.in_use(),
            "call ended"
        );
    }

    /// Both legs leave the bridge (`BridgeLeave` for each), if they are in one.
    pub(super) async fn unbridge(&mut self) {
        let bus = self.ctx.bus.clone();
        if let (Some(mut br), Some(w)) = (self.bridge.take(), self.winner) {
            for ch in [&mut self.a.channel, &mut self.b[w].channel] {
                if let Ok(others) = bridge::part(&mut br, ch.channel_mut()) {
                    let kind = EventKind::BridgeLeave {
                        bridge: br.id().clone(),
                        others,
                    };
                    super::leg_channel::publish(&bus, ch.snapshot(), kind).await;
                }
            }
        }
    }

    /// Releases what only the end of the task releases: loop-detection Call-IDs.
    async fn cleanup(&mut self) {
        if self.phase != Phase::Ending {
            let cause = HangupCause::normal(HangupSide::Switch);
            self.end_call(cause, cause).await;
        }
        for leg in &self.b {
            self.ctx.registry.remove_outgoing(&leg.call_id);
        }
    }

    /// Registers `id` to receive its in-dialog requests.
    pub(super) async fn register_dialog(&mut self, id: DialogId) {
        if self
            .ctx
            .sip
            .register_dialog(id.clone(), self.dialog_tx.clone())
            .await
            .is_ok()
        {
            self.registered.push(id);
        }
    }

    /// After a leg failed: when none of this `Dial`'s legs is left ringing, the dial fails
    /// with the best response (RFC 3261 §16.7) and the dialplan goes on.
    pub(super) async fn check_all_failed(&mut self) {
        let legs = &self.b[self.dial_first.min(self.b.len())..];
        if self.phase != Phase::Dialing || legs.iter().any(BLeg::is_pending) {
            return;
        }
        let mut statuses: Vec<u16> = legs.iter().filter_map(|l| l.status).collect();
        statuses.extend_from_slice(&self.pre_failed);
        let status = msgs::best_response(&statuses).unwrap_or(480);
        let cause = HangupCause::from_sip(status, HangupSide::Callee);
        let redirect = legs
            .iter()
            .find(|l| l.status == Some(status))
            .and_then(|l| l.redirect.clone());
        self.dial_failed(status, cause, redirect, None).await;
    }
}

/// The next event of an optional server transaction (pending when there is none).
async fn next_server_event(txn: &mut Option<ServerTransaction>) -> Option<ServerEvent> {
    match txn {
        Some(txn) => txn.next_event().await,
        None => std::future::pending().await,
    }
}

/// Resolves when the player ran out of sound (pending when there is none).
async fn player_finished(player: &mut Option<Player>) {
    match player {
        Some(player) => player.finished().await,
        None => std::future::pending().await,
    }
}

/// Resolves when the recording has heard `silence` of silence (pending otherwise).
async fn recording_silent(recording: &mut Option<Recording>, silence: Option<Duration>) {
    match (recording, silence) {
        (Some(recording), Some(silence)) => recording.silent_for(silence).await,
        _ => std::future::pending().await,
    }
}

/// A short random suffix for channel names (`SIP/1001-1a2b3c4d`).
pub(super) fn short_tag() -> String {
    let mut tag = new_tag();
    tag.truncate(8);
    tag
}
