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

use crate::media::relay::{Leg, MediaEvent, RelayConfig, RelaySession};
use crate::sip::dialog::{Dialog, DialogId};
use crate::sip::endpoint::{InDialogRequest, IncomingRequest, ServerEvent, ServerTransaction};
use crate::sip::message::{new_tag, HeaderName, NameAddr, Request, Response};
use crate::sip::registrar::AuthHeader;
use crate::sip::transport::{Source, Target};
use crate::switch::bridge::{self, Bridge};
use crate::switch::cause::{HangupCause, HangupSide, Q850};
use crate::switch::channel::{Attribution, CallSource, ChannelSpec, Direction, PartyId};
use crate::switch::errors::CallError;
use crate::switch::events::{DialStatus, EventKind};

use super::bleg::{self, BLeg};
use super::in_dialog::{self, Passthrough, Side};
use super::leg_channel::LegChannel;
use super::registry::CallGuard;
use super::route::{self, Origin, Route};
use super::{msgs, CallContext};

/// In-dialog requests queued for one call (both dialogs): a handful at a time is normal.
const DIALOG_QUEUE: usize = 16;
/// Relay events (DTMF digits, media timeout) queued for one call.
const MEDIA_QUEUE: usize = 32;

/// Where the call is; see the parent module's diagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
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
    pub dialog_tx: mpsc::Sender<InDialogRequest>,
    pub dialog_rx: mpsc::Receiver<InDialogRequest>,
    pub registered: Vec<DialogId>,
    pub passthrough: Vec<Passthrough>,
    pub bridge: Option<Bridge>,
    /// Late offer: the B leg whose 2xx waits for the caller's ACK (and its SDP answer).
    pub deferred_ack: Option<usize>,
    /// The echo test's state: this call is answered by the switch itself (`echo`).
    pub echo: Option<super::echo::EchoState>,
    pub phase: Phase,
    pub ring_deadline: Instant,
    pub linger_deadline: Instant,
    /// Caller's user part (From), used in the B legs' From and Contact.
    pub caller: String,
    /// Counts the call as live until it is torn down.
    guard: Option<CallGuard>,
}

/// The task of one call: authenticate, route, dial, bridge, tear down.
pub(super) async fn run(ctx: Arc<CallContext>, item: IncomingRequest) {
    let guard = ctx.registry.call_started();
    let IncomingRequest {
        request,
        source,
        txn,
    } = item;
    let server = ctx.config.sip.user_agent.clone();
    let gateway = ctx
        .config
        .trusted_gateway(source.remote)
        .map(|g| g.name.clone());
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
    let origin = match (&gateway, &user) {
        (Some(gw), _) => Origin::Gateway(gw),
        (None, Some(user)) => Origin::Extension(user),
        (None, None) => return,
    };
    let dialed = msgs::user_of(&request.uri).unwrap_or_default().to_owned();
    let route = route::route(&*ctx.config, origin, &dialed);
    info!(dialed = %dialed, route = ?route, gateway = ?gateway, user = ?user, "call routed");
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
    call.start(route, &dialed).await;
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
                "from-trunk"
            } else {
                "internal"
            }
            .to_owned(),
            call_source: CallSource::Dialplan,
            attribution: Attribution {
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
            echo: None,
            phase: Phase::Dialing,
            caller,
            ctx,
            guard: Some(guard),
        })
    }

    /// Routes to destinations, allocates the relay and rings every destination.
    async fn start(&mut self, route: Route, dialed: &str) {
        if route == Route::Echo {
            return self.start_echo().await;
        }
        let dests = match super::dest::destinations(&self.ctx, &route, &self.caller).await {
            Ok(dests) => dests,
            Err(error) => {
                let error = match (&route, error) {
                    (Route::NotFound, _) => CallError::NotFound {
                        target: dialed.to_owned(),
                    },
                    (_, e) => e,
                };
                let cause = error.hangup_cause(HangupSide::Switch);
                return self.fail_a(error.sip_status(), cause).await;
            }
        };
        let relay = match (self.ctx.ports.allocate(), self.ctx.ports.allocate()) {
            (Ok(a), Ok(b)) => RelaySession::start(
                a,
                b,
                RelayConfig {
                    media_timeout: Some(self.ctx.config.media.rtp_timeout),
                    ..RelayConfig::default()
                },
                self.media_tx.clone(),
                &self.ctx.lifecycle,
            ),
            (a, b) => {
                let error = a.err().or(b.err());
                warn!(error = ?error, "no RTP ports: 503");
                let cause = CallError::Congestion.hangup_cause(HangupSide::Switch);
                return self.fail_a(503, cause).await;
            }
        };
        let offer = msgs::through_relay(
            &self.a.request.headers,
            &self.a.request.body,
            relay.local_rtp(Leg::B),
        );
        let offer = match offer {
            Ok(Some((stream, body))) => {
                if let Some(stream) = &stream {
                    relay.set_stream(Leg::A, stream);
                }
                Some(body)
            }
            Ok(None) => None,
            Err(error) => {
                debug!(%error, "caller's SDP unusable: 488");
                self.relay = Some(relay);
                let cause = CallError::NotAcceptable.hangup_cause(HangupSide::Switch);
                return self.fail_a(488, cause).await;
            }
        };
        self.relay = Some(relay);
        let dialstrings: Vec<&str> = dests.iter().map(|d| d.dialstring.as_str()).collect();
        let data = format!(
            "{},{}",
            dialstrings.join("&"),
            self.ctx.config.calls.ring_timeout.as_secs()
        );
        self.a.channel.start_app("Dial", data, &self.ctx.bus).await;
        for dest in dests {
            let leg = bleg::start_leg(self, dest, offer.clone()).await;
            self.b.push(leg);
        }
        self.check_all_failed().await;
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
                Some(req) = self.dialog_rx.recv() => self.on_in_dialog(req).await,
                Some(ev) = self.media_rx.recv() => self.on_media(ev).await,
                (i, ev) = in_dialog::next_passthrough(&mut self.passthrough),
                    if !self.passthrough.is_empty() => self.on_passthrough(i, ev).await,
                _ = tokio::time::sleep_until(self.linger_deadline), if ending => break,
            }
        }
    }

    async fn on_a_event(&mut self, ev: Option<ServerEvent>) {
        match ev {
            None => self.a.txn = None,
            Some(ServerEvent::Cancelled) => {
                if self.phase == Phase::Dialing && !self.a.final_sent {
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
                if self.phase == Phase::Answered {
                    // RFC 3261 §13.3.1.4: no ACK for our 2xx: end the session with BYE.
                    warn!("no ACK from the caller: hanging up");
                    let cause = HangupCause::new(Q850::RecoveryOnTimerExpire, HangupSide::Device);
                    self.hangup_bridged(None, cause).await;
                }
            }
            Some(ServerEvent::TransportError) => {
                let cause = HangupCause::new(Q850::DestinationOutOfOrder, HangupSide::Device);
                if self.phase == Phase::Dialing {
                    self.cancel_pending(cause, DialStatus::Cancel).await;
                    self.a.final_sent = true;
                    self.end_call(cause, cause).await;
                } else if self.phase == Phase::Answered {
                    self.hangup_bridged(None, cause).await;
                }
            }
        }
    }

    async fn on_ring_timeout(&mut self) {
        info!("ring timeout: 480 to the caller");
        let cause = CallError::NoAnswer.hangup_cause(HangupSide::Switch);
        self.cancel_pending(cause, DialStatus::NoAnswer).await;
        self.fail_a(480, cause).await;
    }

    async fn on_media(&mut self, ev: MediaEvent) {
        match ev {
            MediaEvent::Timeout { leg } => {
                if self.phase != Phase::Answered {
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
            }
        }
    }

    async fn on_shutdown(&mut self) {
        let cause = HangupCause::new(Q850::SystemShutdown, HangupSide::Switch);
        match self.phase {
            Phase::Dialing => {
                self.cancel_pending(cause, DialStatus::Cancel).await;
                self.fail_a(503, cause).await;
            }
            Phase::Answered => self.hangup_bridged(None, cause).await,
            Phase::Ending => {}
        }
    }

    /// Sends a final failure `status` to the caller and ends the call.
    pub(super) async fn fail_a(&mut self, status: u16, cause: HangupCause) {
        self.fail_a_with(status, cause, None).await;
    }

    /// [`Call::fail_a`] with the Contact of a relayed 3xx.
    async fn fail_a_with(&mut self, status: u16, cause: HangupCause, contact: Option<String>) {
        if !self.a.final_sent {
            self.a.final_sent = true;
            let mut resp = msgs::response_to(
                &self.a.request,
                status,
                None,
                &self.a.to_tag,
                None,
                &self.server,
            );
            if let Some(contact) = contact.filter(|c| !c.is_empty()) {
                resp.headers.push(HeaderName::Contact, contact);
            }
            if let Some(txn) = &self.a.txn {
                if let Err(error) = txn.respond(resp).await {
                    debug!(%error, "final response not sent");
                }
            }
        }
        self.end_call(cause, cause).await;
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
        self.phase = Phase::Ending;
        let bus = self.ctx.bus.clone();
        let registry = self.ctx.registry.clone();
        if let Some(relay) = self.relay.take() {
            let stats = relay.close().await;
            self.a.channel.set_media(&stats.a);
            if let Some(w) = self.winner {
                self.b[w].channel.set_media(&stats.b);
            }
        }
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
            answered = self.winner.is_some() || self.echo.is_some(),
            live_calls = counts.calls,
            live_channels = counts.channels,
            ports_in_use = self.ctx.ports.in_use(),
            "call ended"
        );
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

    /// After a leg failed: when none is left ringing, the caller gets the best response.
    pub(super) async fn check_all_failed(&mut self) {
        if self.phase != Phase::Dialing || self.b.iter().any(BLeg::is_pending) {
            return;
        }
        let statuses: Vec<u16> = self.b.iter().filter_map(|l| l.status).collect();
        let status = msgs::best_response(&statuses).unwrap_or(480);
        let cause = HangupCause::from_sip(status, HangupSide::Callee);
        let redirect = self
            .b
            .iter()
            .find(|l| l.status == Some(status))
            .and_then(|l| l.redirect.clone());
        self.fail_a_with(status, cause, redirect).await;
    }

    /// Sends `resp` to the caller (provisional or final) on the A transaction.
    pub(super) async fn respond_a(&mut self, resp: Response) {
        if resp.status >= 200 {
            self.a.final_sent = true;
        }
        if let Some(txn) = &self.a.txn {
            if let Err(error) = txn.respond(resp).await {
                debug!(%error, "response to the caller not sent");
            }
        }
    }
}

/// The next event of an optional server transaction (pending when there is none).
async fn next_server_event(txn: &mut Option<ServerTransaction>) -> Option<ServerEvent> {
    match txn {
        Some(txn) => txn.next_event().await,
        None => std::future::pending().await,
    }
}

/// A short random suffix for channel names (`SIP/1001-1a2b3c4d`).
pub(super) fn short_tag() -> String {
    let mut tag = new_tag();
    tag.truncate(8);
    tag
}
