//! The outbound legs of a call: the INVITE of each leg ([`start_leg`], towards the
//! destinations of `dest`), and what each response does — 18x relayed to the caller (early media
//! through the relay), the first 2xx wins (ACK, CANCEL the others, 200 to the caller,
//! bridge), failures collected into the best final response (RFC 3261 §16.7).
//!
//! ```text
//!  Calling ──1xx──► Early ──2xx (first)──► Answered
//!     │               │ ──2xx (late)──► ACK + BYE
//!     └──3xx-6xx / timeout / transport──► Failed      CANCEL sent ──► Cancelled
//! ```
//!
//! Depends on `sip` (endpoint, dialog, message), `media::relay` and the rest of `switch`.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;

use bytes::Bytes;
use tracing::{debug, info, warn};

use crate::media::relay::Leg;
use crate::sip::dialog::Dialog;
use crate::sip::endpoint::{
    new_uac_request, ClientEvent, ClientTransaction, UacRequest, ALLOW_CALLS,
};
use crate::sip::message::{new_call_id, HeaderName, Method, NameAddr, Request, Response, Uri};
use crate::sip::transport::Target;
use crate::switch::bridge::{self, Bridge};
use crate::switch::cause::{HangupCause, HangupSide, Q850};
use crate::switch::channel::{
    Attribution, CallSource, ChannelSpec, ChannelState, Direction, PartyId,
};
use crate::switch::events::{DialStatus, EventKind};

use super::actor::{Call, Phase};
use super::dest::Dest;
use super::leg_channel::LegChannel;
use super::msgs;

/// Where an outbound leg is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BState {
    Calling,
    Early,
    Answered,
    Failed,
    Cancelled,
}

/// One outbound leg.
pub(super) struct BLeg {
    pub channel: LegChannel,
    pub target: Target,
    /// Its INVITE transaction, while events can still come.
    pub txn: Option<ClientTransaction>,
    /// The INVITE as sent.
    pub request: Request,
    pub call_id: String,
    pub dialog: Option<Dialog>,
    pub state: BState,
    /// The final failure status it ended with.
    pub status: Option<u16>,
    /// The Contact of a 3xx it ended with (passed on to the caller, RFC 3261 §21.3).
    pub redirect: Option<String>,
}

impl BLeg {
    /// Still ringing (no final response, not cancelled).
    pub fn is_pending(&self) -> bool {
        matches!(self.state, BState::Calling | BState::Early)
    }
}

/// Creates the B channel, publishes `DialBegin` and sends the INVITE.
pub(super) async fn start_leg(call: &mut Call, dest: Dest, offer: Option<Bytes>) -> BLeg {
    let ctx = Arc::clone(&call.ctx);
    let call_id = new_call_id();
    ctx.registry.add_outgoing(&call_id);
    let a = call.a.channel.snapshot();
    let spec = ChannelSpec {
        name: format!("SIP/{}-{}", dest.name, super::actor::short_tag()),
        direction: Direction::Outbound,
        caller: a.caller.clone(),
        exten: dest.number.clone(),
        context: a.context.clone(),
        call_source: CallSource::Dialplan,
        attribution: Attribution {
            account: dest.name.clone(),
            source_name: a.attribution.source_name.clone(),
            source_number: a.attribution.source_number.clone(),
            dial_number: dest.number.clone(),
            line_group: if dest.gateway {
                dest.name.clone()
            } else {
                String::new()
            },
        },
        originator: Some(Arc::clone(&a)),
        sip_call_id: Some(call_id.clone()),
    };
    let mut channel = LegChannel::create(spec, &ctx.bus, &ctx.registry).await;
    channel.channel_mut().set_callee(PartyId {
        number: dest.number.clone(),
        name: None,
    });
    call.a
        .channel
        .dial_begin(&channel, dest.dialstring.clone(), &ctx.bus)
        .await;
    let request = build_invite(call, &dest, call_id.clone(), offer);
    let mut leg = BLeg {
        channel,
        target: dest.target.clone(),
        txn: None,
        request: request.clone(),
        call_id,
        dialog: None,
        state: BState::Calling,
        status: None,
        redirect: None,
    };
    match ctx.sip.send_request(request, dest.target.clone()).await {
        Ok(txn) => {
            leg.request = txn.request().clone();
            leg.txn = Some(txn);
        }
        Err(error) => {
            warn!(%error, target = %dest.target.addr, "B-leg INVITE not sent");
            let cause = HangupCause::new(Q850::DestinationOutOfOrder, HangupSide::Device);
            leg.state = BState::Failed;
            leg.status = Some(503);
            end_leg_channel(call, &mut leg, cause).await;
        }
    }
    leg
}

/// The B leg's INVITE: our From (the caller's number in our domain, fresh tag), the
/// callee's To, a fresh Call-ID, our Contact, Max-Forwards decremented (RFC 3261 §16.6
/// step 3), the offer rewritten to the relay, session-timer headers passed on.
fn build_invite(call: &Call, dest: &Dest, call_id: String, offer: Option<Bytes>) -> Request {
    let ctx = &call.ctx;
    let domain = &ctx.config.sip.domain;
    let mut from = Uri::parse(&format!("sip:{}@{domain}", call.caller))
        .or_else(|_| Uri::parse(&format!("sip:anonymous@{domain}")))
        .map(NameAddr::new)
        .unwrap_or_else(|_| dest.to.clone());
    from.display = call.a.request.headers.from().ok().and_then(|f| f.display);
    let contact =
        ctx.sip
            .local_contact(&dest.target.transport, dest.target.addr, Some(&call.caller));
    let mut req = new_uac_request(UacRequest {
        method: Method::Invite,
        uri: dest.uri.clone(),
        from,
        to: dest.to.clone(),
        call_id,
        cseq: 1,
        contact,
    });
    let hops = call
        .a
        .request
        .headers
        .max_forwards()
        .ok()
        .flatten()
        .unwrap_or(crate::sip::endpoint::MAX_FORWARDS);
    req.headers
        .set(HeaderName::MaxForwards, hops.saturating_sub(1).to_string());
    req.headers.push(HeaderName::Allow, ALLOW_CALLS);
    req.headers
        .push(HeaderName::UserAgent, call.server.as_str());
    msgs::copy_session_timer_request(&call.a.request, &mut req);
    if let Some(body) = offer {
        msgs::set_sdp_headers(&mut req.headers);
        req.body = body;
    }
    req
}

/// The next event of any B leg still holding its transaction (pending when none does).
pub(super) async fn next_event(legs: &mut [BLeg]) -> (usize, Option<ClientEvent>) {
    std::future::poll_fn(|cx| {
        for (i, leg) in legs.iter_mut().enumerate() {
            if let Some(txn) = leg.txn.as_mut() {
                // `next` only awaits an mpsc receive: a fresh future per poll is fine.
                let fut = pin!(txn.next());
                if let Poll::Ready(ev) = fut.poll(cx) {
                    return Poll::Ready((i, ev));
                }
            }
        }
        Poll::Pending
    })
    .await
}

/// Hangs up and destroys a B channel that ended before the call did, with `DialEnd`.
async fn end_leg_channel(call: &mut Call, leg: &mut BLeg, cause: HangupCause) {
    let bus = call.ctx.bus.clone();
    let status = match leg.state {
        BState::Answered => DialStatus::Answer,
        _ => DialStatus::from_q850(cause.q850),
    };
    leg.channel.hangup(cause, &bus).await;
    if !call.a.channel.is_hung_up() {
        call.a.channel.dial_end(&leg.channel, status, &bus).await;
    }
    leg.channel.destroy(&bus, &call.ctx.registry).await;
}

impl Call {
    pub(super) async fn on_b_event(&mut self, i: usize, ev: Option<ClientEvent>) {
        let Some(ev) = ev else {
            self.b[i].txn = None;
            if self.b[i].is_pending() {
                self.leg_failed(i, 408, HangupSide::Device).await;
            }
            return;
        };
        match ev {
            ClientEvent::Response(resp) if resp.status < 200 => self.on_provisional(i, *resp).await,
            ClientEvent::Response(resp) if resp.status < 300 => self.on_2xx(i, *resp).await,
            ClientEvent::Response(resp) => {
                if self.b[i].is_pending() {
                    if (300..400).contains(&resp.status) {
                        let contacts: Vec<&str> =
                            resp.headers.get_all(&HeaderName::Contact).collect();
                        self.b[i].redirect = Some(contacts.join(", "));
                    }
                    self.leg_failed(i, resp.status, HangupSide::Callee).await;
                }
            }
            ClientEvent::Timeout(resp) => {
                if self.b[i].is_pending() {
                    self.leg_failed(i, resp.status, HangupSide::Device).await;
                }
            }
            ClientEvent::TransportError => {
                if self.b[i].is_pending() {
                    self.leg_failed(i, 503, HangupSide::Device).await;
                }
            }
        }
    }

    async fn on_provisional(&mut self, i: usize, resp: Response) {
        if resp.status == 100 || self.phase != Phase::Dialing || !self.b[i].is_pending() {
            return;
        }
        let bus = self.ctx.bus.clone();
        self.b[i].state = BState::Early;
        let state = if resp.status == 183 {
            ChannelState::Progress
        } else {
            ChannelState::Ringing
        };
        self.b[i].channel.set_state(state, &bus).await;
        if self.dial.local {
            // The caller hears the switch's ringback (or music) until the answer.
            return;
        }
        if self.dial.ringing {
            // Option r: a plain 180, never the callee's early media.
            return self.send_ringing().await;
        }
        let mut out = msgs::response_to(
            &self.a.request,
            resp.status,
            Some(&resp.reason),
            &self.a.to_tag,
            Some(&self.a.contact),
            &self.server,
        );
        if let Some(relay) = &self.relay {
            // Early media: the callee's SDP goes to the caller pointing at the relay.
            match msgs::through_relay(&resp.headers, &resp.body, relay.local_rtp(Leg::A)) {
                Ok(Some((stream, body))) => {
                    if let Some(stream) = &stream {
                        relay.set_stream(Leg::B, stream);
                        self.note_codec(i, stream);
                    }
                    msgs::set_sdp_headers(&mut out.headers);
                    out.body = body;
                }
                Ok(None) => {}
                Err(error) => debug!(%error, "early SDP not relayed"),
            }
        }
        self.a.channel.set_state(state, &bus).await;
        self.respond_a(out).await;
    }

    async fn on_2xx(&mut self, i: usize, resp: Response) {
        if self.phase == Phase::Dialing && self.winner.is_none() && self.b[i].is_pending() {
            return self.answer(i, resp).await;
        }
        if self.winner == Some(i) {
            // A retransmitted 2xx: our ACK was lost (RFC 3261 §13.2.2.4).
            // (With a late offer the ACK waits for the caller's answer: nothing to resend.)
            if let (Some(dialog), None) = (&self.b[i].dialog, self.deferred_ack) {
                self.send_ack(i, dialog.invite_seq(), dialog, None).await;
            }
            return;
        }
        // A fork answered after another one or after the call ended: ACK and BYE it.
        info!(leg = i, "late 2xx: ACK and BYE");
        let Ok(mut dialog) = Dialog::new_uac(&self.b[i].request, &resp) else {
            return;
        };
        self.send_ack(i, dialog.invite_seq(), &dialog, None).await;
        let target = self.b[i].target.clone();
        if let Some(sent_by) = self.ctx.sip.sent_by(&target) {
            if let Ok(bye) = dialog.create_request(Method::Bye, &sent_by) {
                let _ = self.ctx.sip.send_request(bye, target).await;
            }
        }
    }

    /// ACKs a 2xx of leg `i` (RFC 3261 §13.2.2.4), with an SDP answer for a late offer.
    pub(super) async fn send_ack(&self, i: usize, seq: u32, dialog: &Dialog, sdp: Option<Bytes>) {
        let target = self.b[i].target.clone();
        let Some(sent_by) = self.ctx.sip.sent_by(&target) else {
            return;
        };
        let mut ack = dialog.create_ack(seq, &sent_by);
        if let Some(body) = sdp {
            msgs::set_sdp_headers(&mut ack.headers);
            ack.body = body;
        }
        if let Err(error) = self.ctx.sip.send_ack(ack, target).await {
            warn!(%error, "ACK not sent");
        }
    }

    /// The first 2xx: ACK it, CANCEL the other legs, answer the caller, bridge.
    async fn answer(&mut self, i: usize, resp: Response) {
        let dialog = match Dialog::new_uac(&self.b[i].request, &resp) {
            Ok(d) => d,
            Err(error) => {
                warn!(%error, "2xx without a usable dialog: leg failed");
                return self.leg_failed(i, 502, HangupSide::Callee).await;
            }
        };
        self.register_dialog(dialog.id().clone()).await;
        let late_offer = !msgs::is_sdp(&self.a.request.headers, &self.a.request.body)
            && msgs::is_sdp(&resp.headers, &resp.body);
        if late_offer {
            // RFC 3264 §5 / RFC 3261 §13.2.1: the callee offered in its 2xx; the answer
            // comes in the caller's ACK, which our ACK to the callee must carry.
            self.deferred_ack = Some(i);
        } else {
            self.send_ack(i, dialog.invite_seq(), &dialog, None).await;
        }
        self.b[i].dialog = Some(dialog);
        self.b[i].state = BState::Answered;
        self.winner = Some(i);
        let elsewhere = HangupCause::new(Q850::AnsweredElsewhere, HangupSide::Switch);
        self.cancel_pending(elsewhere, DialStatus::Cancel).await;
        if self.dial.local {
            // The caller's SDP is ours: the callee's answer only goes to the relay.
            match crate::media::sdp::parse_audio(&resp.body) {
                Ok(Some(stream)) => {
                    if let Some(relay) = &self.relay {
                        relay.set_stream(Leg::B, &stream);
                    }
                    self.note_codec(i, &stream);
                }
                Ok(None) => {}
                Err(error) => warn!(%error, "callee's SDP unusable"),
            }
            self.local_answered().await;
            self.bridge_legs(i).await;
            if let Some(relay) = &self.relay {
                relay.arm_timeout();
            }
            self.phase = Phase::Answered;
            self.running = super::exec::Running::Bridged;
            return;
        }
        let mut ok = self.caller_ok(&resp);
        if let Some(relay) = &self.relay {
            match msgs::through_relay(&resp.headers, &resp.body, relay.local_rtp(Leg::A)) {
                Ok(Some((stream, body))) => {
                    if let Some(stream) = &stream {
                        relay.set_stream(Leg::B, stream);
                    }
                    msgs::set_sdp_headers(&mut ok.headers);
                    ok.body = body;
                }
                Ok(None) => {}
                Err(error) => warn!(%error, "callee's SDP unusable"),
            }
        }
        self.answer_caller(ok).await;
        self.bridge_legs(i).await;
        if let Some(relay) = &self.relay {
            relay.arm_timeout();
        }
        self.phase = Phase::Answered;
        self.running = super::exec::Running::Bridged;
    }

    /// The caller's ACK for our 2xx: with a late offer, its SDP answer goes to the callee
    /// in the deferred ACK (through the relay).
    pub(super) async fn on_caller_ack(&mut self, ack: Option<Request>) {
        if self.local.is_some() && self.winner.is_none() {
            return self.on_local_ack(ack.as_ref());
        }
        let Some(i) = self.deferred_ack.take() else {
            return;
        };
        let mut body = None;
        if let (Some(ack), Some(relay)) = (&ack, &self.relay) {
            match msgs::through_relay(&ack.headers, &ack.body, relay.local_rtp(Leg::B)) {
                Ok(Some((stream, rewritten))) => {
                    if let Some(stream) = &stream {
                        relay.set_stream(Leg::A, stream);
                    }
                    body = Some(rewritten);
                }
                Ok(None) => {}
                Err(error) => debug!(%error, "SDP in the caller's ACK unusable"),
            }
        }
        if let Some(dialog) = &self.b[i].dialog {
            self.send_ack(i, dialog.invite_seq(), dialog, body).await;
        }
    }

    async fn bridge_legs(&mut self, i: usize) {
        let bus = self.ctx.bus.clone();
        self.b[i].channel.set_state(ChannelState::Up, &bus).await;
        self.a
            .channel
            .dial_end(&self.b[i].channel, DialStatus::Answer, &bus)
            .await;
        self.a.channel.set_state(ChannelState::Up, &bus).await;
        let mut br = Bridge::new();
        let joined = bridge::join(
            &mut br,
            &mut [
                self.a.channel.channel_mut(),
                self.b[i].channel.channel_mut(),
            ],
        );
        match joined {
            Ok((joined, changes)) => {
                for j in joined {
                    let ch = if j.channel == self.a.channel.channel().id {
                        &self.a.channel
                    } else {
                        &self.b[i].channel
                    };
                    let kind = EventKind::BridgeEnter {
                        bridge: br.id().clone(),
                        others: j.others,
                    };
                    super::leg_channel::publish(&bus, ch.snapshot(), kind).await;
                }
                for c in changes {
                    let ch = if c.channel == self.a.channel.channel().id {
                        &self.a.channel
                    } else {
                        &self.b[i].channel
                    };
                    let kind = EventKind::LinkedIdChanged {
                        old: c.old,
                        new: c.new,
                    };
                    super::leg_channel::publish(&bus, ch.snapshot(), kind).await;
                }
                self.bridge = Some(br);
            }
            Err(error) => warn!(%error, "legs not bridged"),
        }
    }

    /// CANCELs every leg still ringing and ends its channel with `cause`.
    pub(super) async fn cancel_pending(&mut self, cause: HangupCause, status: DialStatus) {
        for i in 0..self.b.len() {
            if !self.b[i].is_pending() {
                continue;
            }
            if let Some(txn) = &self.b[i].txn {
                // RFC 3261 §9.1: sent once a provisional arrived; the 487 ends the txn.
                if let Err(error) = self.ctx.sip.cancel(txn).await {
                    debug!(%error, "CANCEL not sent");
                }
            }
            self.b[i].state = BState::Cancelled;
            let mut leg = self.b.remove(i);
            let bus = self.ctx.bus.clone();
            leg.channel.hangup(cause, &bus).await;
            if !self.a.channel.is_hung_up() {
                self.a.channel.dial_end(&leg.channel, status, &bus).await;
            }
            leg.channel.destroy(&bus, &self.ctx.registry).await;
            self.b.insert(i, leg);
        }
    }

    /// Leg `i` ended with final `status`; may end the call (6xx, or no leg left).
    async fn leg_failed(&mut self, i: usize, status: u16, side: HangupSide) {
        let cause = HangupCause::from_sip(status, side);
        let mut leg = self.b.remove(i);
        leg.state = BState::Failed;
        leg.status = Some(status);
        end_leg_channel(self, &mut leg, cause).await;
        self.b.insert(i, leg);
        if self.phase != Phase::Dialing {
            return;
        }
        if status >= 600 {
            // RFC 3261 §16.7 step 5: a 6xx ends the search; CANCEL the other branches.
            self.cancel_pending(cause, DialStatus::Cancel).await;
            return self.dial_failed(status, cause, None, None).await;
        }
        self.check_all_failed().await;
    }
}

impl Call {
    /// Records the codec the callee answered with (its first audio payload) on both legs,
    /// so the live view shows it while the call is up (the relay's figure replaces it at
    /// the end).
    fn note_codec(&mut self, i: usize, stream: &crate::media::sdp::AudioStream) {
        let Some(codec) = stream
            .payloads
            .iter()
            .find(|p| !p.name.eq_ignore_ascii_case("telephone-event"))
            .map(|p| p.name.clone())
        else {
            return;
        };
        self.a.channel.channel_mut().set_codec(codec.clone());
        if let Some(b) = self.b.get_mut(i) {
            b.channel.channel_mut().set_codec(codec);
        }
    }
}
