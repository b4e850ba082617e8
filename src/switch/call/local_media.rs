//! The caller's media when the switch itself talks to the caller (answer, early media,
//! prompts, music on hold, echo, recording, ringback while dialling): the SDP towards the
//! caller is ours, on the relay's leg-A pair, and the relay keeps leg A in `Local` mode
//! (the caller's packets are counted and DTMF-decoded, not forwarded) until a `Dial` bridges it,
//! or in `Echo` mode for the echo test.
//!
//! ```text
//!  Answer / Playback / ... ─► relay (pairs A+B, leg A Local) ─► SDP answer (G.711 preferred)
//!        ├─ answer: 200 + dialog, channel Up, media timeout armed
//!        └─ Progress: 183 with the SDP, channel Progress (early media)
//!  Answered, not bridged: re-INVITE/UPDATE ─► 200 with a new answer (relay, Hold/Unhold)
//!                         INFO, OPTIONS ─► 200     other methods ─► 501
//! ```
//!
//! The answer prefers PCMU then PCMA, the codecs the player can produce (there is no
//! transcoding: a call answered in another codec still relays, bridges and echoes, but
//! prompts are not heard). An INVITE without SDP gets our offer
//! ([`media::sdp::offer_audio`]) in the 200 and its answer comes in the ACK (RFC 3261
//! §13.2.1); such a call cannot have early media (no reliable provisional responses).
//!
//! Depends on `media` (relay, sdp, player), `sip` (endpoint, dialog, message) and the actor.
//!
//! [`media::sdp::offer_audio`]: crate::media::sdp::offer_audio

use bytes::Bytes;
use tracing::{debug, info, warn};

use crate::media::player::{self, PlayCodec, Source};
use crate::media::relay::{Leg, LegMode, RelayConfig, RelaySession};
use crate::media::sdp::{self, PayloadType, SdpOrigin};
use crate::sip::endpoint::{ServerTransaction, ALLOW_CALLS};
use crate::sip::message::{HeaderName, Method, Request, Response};
use crate::switch::cause::HangupSide;
use crate::switch::channel::ChannelState;
use crate::switch::errors::CallError;

use super::actor::Call;
use super::msgs;

/// The codecs the switch answers with by preference (those the player can produce).
const PREFERRED: [&str; 2] = ["PCMU", "PCMA"];

/// The caller-side SDP state of a call whose caller the switch talks to itself.
#[derive(Debug)]
pub(super) struct LocalMedia {
    /// Our `o=` line: one session, its version bumped when our SDP changes.
    origin: SdpOrigin,
    /// We offered in the 200 (INVITE without SDP): the answer is in the caller's ACK.
    awaiting_answer: bool,
    /// Our SDP as sent (in the 183 and again in the 200).
    body: Bytes,
    /// The codec agreed with the caller (`None` until a late offer's answer arrives).
    pub codec: Option<PayloadType>,
    /// The caller's telephone-event payload type.
    pub telephone_event: Option<u8>,
    /// The 200 went out.
    answered: bool,
}

impl Call {
    /// Makes sure the switch talks to the caller: relay, our SDP sent in a 183 (`answer`
    /// false; only with an offer in the INVITE) or a 200. `false` when the call failed
    /// (no ports: 503, unusable offer: 488) and is ending.
    pub(super) async fn local_media(&mut self, answer: bool) -> bool {
        if let Some(local) = &self.local {
            if answer && !local.answered {
                let body = local.body.clone();
                self.send_local_answer(body).await;
            }
            return true;
        }
        if self.a.final_sent {
            // Answered through a bridge that has ended (Dial option g): the caller keeps the
            // SDP it has; the relay's leg A is ours again.
            return self.adopt_bridged_media();
        }
        let offered = msgs::is_sdp(&self.a.request.headers, &self.a.request.body);
        if !answer && !offered {
            // No offer to answer in a 183 (and no reliable provisionals to offer in one).
            self.send_provisional(183, ChannelState::Progress, None)
                .await;
            return true;
        }
        if !self.ensure_relay().await {
            return false;
        }
        let Some(relay) = &self.relay else {
            return false;
        };
        relay.set_mode(Leg::A, LegMode::Local);
        let local = relay.local_rtp(Leg::A);
        let mut origin = SdpOrigin::from_clock();
        let request = &self.a.request;
        let (body, codec, telephone_event) = if offered {
            match sdp::answer_audio_preferring(&request.body, local, &mut origin, &PREFERRED) {
                Ok(answer) => {
                    relay.set_stream(Leg::A, &answer.offer);
                    relay.set_codec(Leg::A, Some(answer.codec.clone()));
                    self.a
                        .channel
                        .channel_mut()
                        .set_codec(answer.codec.name.clone());
                    debug!(codec = %answer.codec.name, direction = answer.direction.as_str(), "local answer");
                    (answer.body, Some(answer.codec), answer.telephone_event)
                }
                Err(error) => {
                    info!(%error, "caller's offer not acceptable: 488");
                    let cause = CallError::NotAcceptable.hangup_cause(HangupSide::Switch);
                    self.fail_a(488, cause).await;
                    return false;
                }
            }
        } else {
            (sdp::offer_audio(local, &mut origin), None, None)
        };
        self.local = Some(LocalMedia {
            origin,
            awaiting_answer: !offered,
            body: body.clone(),
            codec,
            telephone_event,
            answered: false,
        });
        if answer || !offered {
            self.send_local_answer(body).await;
        } else {
            self.send_provisional(183, ChannelState::Progress, Some(body))
                .await;
        }
        true
    }

    /// The relay with both pairs (leg B for a later `Dial`); 503 to the caller without ports.
    pub(super) async fn ensure_relay(&mut self) -> bool {
        if self.relay.is_some() {
            return true;
        }
        match (self.ctx.ports.allocate(), self.ctx.ports.allocate()) {
            (Ok(a), Ok(b)) => {
                self.relay = Some(RelaySession::start(
                    a,
                    b,
                    RelayConfig::from_settings(&self.ctx.config.media),
                    self.media_tx.clone(),
                    &self.ctx.lifecycle,
                ));
                true
            }
            (a, b) => {
                let error = a.err().or(b.err());
                warn!(error = ?error, "no RTP ports: 503");
                let cause = CallError::Congestion.hangup_cause(HangupSide::Switch);
                if !self.a.final_sent {
                    self.fail_a(503, cause).await;
                } else {
                    self.hangup_bridged(None, cause).await;
                }
                false
            }
        }
    }

    /// After a bridge ended with the caller still up: leg A is ours again, in the codec the
    /// caller negotiated with the callee.
    fn adopt_bridged_media(&mut self) -> bool {
        let Some(relay) = &self.relay else {
            return false;
        };
        relay.set_mode(Leg::A, LegMode::Local);
        self.local = Some(LocalMedia {
            origin: SdpOrigin::from_clock(),
            awaiting_answer: false,
            body: Bytes::new(),
            codec: relay.codec(Leg::A),
            telephone_event: None,
            answered: true,
        });
        true
    }

    /// 200 with our SDP: caller's dialog registered, channel Up, media timeout armed.
    async fn send_local_answer(&mut self, body: Bytes) {
        // RFC 4028: no refresher of our own; the caller's requested timer is honoured with
        // the caller refreshing (its re-INVITE/UPDATE is answered below).
        let mut ok = self.caller_ok(&Response::new(200, "OK"));
        msgs::set_sdp_headers(&mut ok.headers);
        ok.body = body;
        self.answer_caller(ok).await;
        let bus = self.ctx.bus.clone();
        self.a.channel.set_state(ChannelState::Up, &bus).await;
        if let Some(relay) = &self.relay {
            relay.arm_timeout();
        }
        let mut late_offer = false;
        if let Some(local) = self.local.as_mut() {
            local.answered = true;
            late_offer = local.awaiting_answer;
        }
        info!(late_offer, "caller answered by the switch");
    }

    /// The codec the player uses towards the caller, with its payload type.
    pub(super) fn local_codec(&self) -> Option<(PlayCodec, u8)> {
        self.local
            .as_ref()
            .and_then(|l| l.codec.as_ref())
            .and_then(PlayCodec::from_payload)
    }

    /// Plays `source` to the caller (stopping what played before); `false` when nothing can
    /// be played (no relay, or a codec the player cannot produce).
    pub(super) async fn start_player(&mut self, source: Source) -> bool {
        self.stop_player().await;
        let Some((codec, pt)) = self.local_codec() else {
            warn!("the caller's codec is not G.711: nothing played");
            return false;
        };
        let Some(relay) = &self.relay else {
            return false;
        };
        let rtp = self.rtp_out.take().unwrap_or_default();
        self.player = Some(player::play(
            relay.output(Leg::A),
            codec,
            pt,
            rtp,
            source,
            &self.ctx.lifecycle,
        ));
        true
    }

    /// Stops the player, keeping its RTP state for the next play.
    pub(super) async fn stop_player(&mut self) {
        if let Some(player) = self.player.take() {
            self.rtp_out = Some(player.stop().await);
        }
    }

    /// The caller's ACK for our 200: carries the answer to a late offer.
    pub(super) fn on_local_ack(&mut self, ack: Option<&Request>) {
        let Some(state) = self.local.as_mut() else {
            return;
        };
        if !std::mem::take(&mut state.awaiting_answer) {
            return;
        }
        let Some(ack) = ack.filter(|a| msgs::is_sdp(&a.headers, &a.body)) else {
            debug!("late offer: no answer in the ACK; the relay latches onto the RTP");
            return;
        };
        match sdp::parse_audio(&ack.body) {
            Ok(Some(stream)) => {
                state.codec = stream.payloads.first().cloned();
                state.telephone_event = stream.telephone_event.as_ref().map(|t| t.pt);
                if let Some(relay) = &self.relay {
                    relay.set_stream(Leg::A, &stream);
                }
            }
            Ok(None) => debug!("answer in the ACK has no audio"),
            Err(error) => debug!(%error, "answer in the ACK unusable"),
        }
    }

    /// An in-dialog request from a caller the switch answered itself (not bridged), other
    /// than BYE (already checked against the dialog by `on_in_dialog`).
    pub(super) async fn on_local_request(&mut self, request: Request, txn: ServerTransaction) {
        let out = match request.method {
            Method::Invite | Method::Update => self.local_reoffer(&request).await,
            Method::Info | Method::Options => {
                let mut ok = msgs::response_to(&request, 200, None, "", None, &self.server);
                if request.method == Method::Options {
                    ok.headers.push(HeaderName::Allow, ALLOW_CALLS);
                    ok.headers.push(HeaderName::Accept, msgs::APPLICATION_SDP);
                }
                ok
            }
            _ => {
                let mut no = msgs::response_to(&request, 501, None, "", None, &self.server);
                no.headers.push(HeaderName::Allow, ALLOW_CALLS);
                no
            }
        };
        if let Some(dialog) = self.a.dialog.as_mut() {
            let _ = dialog.on_sent_response(&out);
        }
        if let Err(error) = txn.respond(out).await {
            debug!(%error, "response to the caller not sent");
        }
    }

    /// The answer to a re-INVITE or UPDATE: a new SDP answer (or our offer when the request
    /// has none), the relay told about the new stream, `Hold`/`Unhold` published.
    async fn local_reoffer(&mut self, request: &Request) -> Response {
        let (Some(relay), Some(state)) = (&self.relay, self.local.as_mut()) else {
            return msgs::response_to(request, 500, None, "", None, &self.server);
        };
        let local = relay.local_rtp(Leg::A);
        let (body, hold) = if msgs::is_sdp(&request.headers, &request.body) {
            match sdp::answer_audio_preferring(&request.body, local, &mut state.origin, &PREFERRED)
            {
                Ok(answer) => {
                    relay.set_stream(Leg::A, &answer.offer);
                    relay.set_codec(Leg::A, Some(answer.codec.clone()));
                    state.codec = Some(answer.codec.clone());
                    state.telephone_event = answer.telephone_event;
                    (answer.body, Some(answer.offer.is_hold()))
                }
                Err(error) => {
                    // RFC 3261 §14.2: the session continues unchanged.
                    info!(%error, "re-offer not acceptable: 488");
                    return msgs::response_to(request, 488, None, "", None, &self.server);
                }
            }
        } else if request.method == Method::Invite {
            (sdp::offer_audio(local, &mut state.origin), None)
        } else {
            // An UPDATE without SDP only refreshes the session timer.
            let mut ok = msgs::response_to(request, 200, None, "", None, &self.server);
            msgs::copy_session_timer_answer(request, &Response::new(200, "OK"), &mut ok);
            return ok;
        };
        let contact = (request.method == Method::Invite).then_some(&self.a.contact);
        let mut ok = msgs::response_to(request, 200, None, "", contact, &self.server);
        ok.headers.push(HeaderName::Allow, ALLOW_CALLS);
        msgs::copy_session_timer_answer(request, &Response::new(200, "OK"), &mut ok);
        msgs::set_sdp_headers(&mut ok.headers);
        ok.body = body;
        if let Some(on_hold) = hold {
            let bus = self.ctx.bus.clone();
            self.a.channel.set_hold(on_hold, &bus).await;
        }
        ok
    }
}
