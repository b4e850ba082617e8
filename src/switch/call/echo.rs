//! The echo test ([`Route::Echo`](super::route::Route::Echo), `*43`): a call the switch
//! answers itself, with no second party. One relay pair in echo mode
//! ([`RelaySession::start_echo`]) sends the caller's RTP back to it; the caller's channel
//! is the only channel of the call.
//!
//! ```text
//!  INVITE ──► 100 ──► relay pair (echo) ──► AppStart{Echo} ──► 200 (SDP answer on the pair)
//!                                           ──► ChannelState Up, Answered ──► Answered phase
//!  Answered: re-INVITE/UPDATE ──► 200 with a new answer (relay and Hold/Unhold follow)
//!            INFO, OPTIONS ──► 200          other methods ──► 501
//!            BYE ──► 200, Hangup (normal clearing, caller), ChannelDestroyed   (in_dialog)
//!            RTP timeout / no ACK / shutdown ──► BYE, Hangup, ChannelDestroyed (actor)
//! ```
//!
//! The SDP answer is built from the caller's offer by [`media::sdp::answer_audio`]: the first
//! offered audio codec plus telephone-event, the answering direction of RFC 3264 §6.1. An
//! INVITE without SDP gets our offer ([`media::sdp::offer_audio`]) in the 200 and its answer
//! comes in the ACK (RFC 3261 §13.2.1). A re-INVITE without SDP gets the same offer; the answer
//! in its ACK is not needed (the relay latches onto the phone's packets). Teardown is the
//! actor's `end_call`: the relay's final statistics go onto the channel, then `AppEnd`,
//! `Hangup`, `ChannelDestroyed`, and the pair returns to the pool.
//!
//! Depends on `media` (relay, sdp), `sip` (endpoint, dialog, message) and the call actor.
//!
//! [`media::sdp::answer_audio`]: crate::media::sdp::answer_audio
//! [`media::sdp::offer_audio`]: crate::media::sdp::offer_audio

use tracing::{debug, info, warn};

use crate::media::relay::{Leg, RelayConfig, RelaySession};
use crate::media::sdp::{self, SdpOrigin};
use crate::sip::dialog::Dialog;
use crate::sip::endpoint::{ServerTransaction, ALLOW_CALLS};
use crate::sip::message::{HeaderName, Method, Request, Response};
use crate::switch::cause::HangupSide;
use crate::switch::channel::ChannelState;
use crate::switch::errors::CallError;

use super::actor::{Call, Phase};
use super::msgs;

/// The application name published in `AppStart`/`AppEnd` and kept as the channel's lastapp.
pub const ECHO_APP: &str = "Echo";

/// What an echo call keeps between requests.
#[derive(Debug)]
pub(super) struct EchoState {
    /// Our `o=` line: one session, its version bumped when our SDP changes.
    origin: SdpOrigin,
    /// We offered in the 200 (INVITE without SDP): the answer is in the caller's ACK.
    awaiting_answer: bool,
}

impl Call {
    /// Answers the caller with an echo: relay pair, SDP answer, 200, channel up.
    pub(super) async fn start_echo(&mut self) {
        let pair = match self.ctx.ports.allocate() {
            Ok(pair) => pair,
            Err(error) => {
                warn!(%error, "no RTP port for the echo test: 503");
                let cause = CallError::Congestion.hangup_cause(HangupSide::Switch);
                return self.fail_a(503, cause).await;
            }
        };
        let relay = RelaySession::start_echo(
            pair,
            RelayConfig::from_settings(&self.ctx.config.media),
            self.media_tx.clone(),
            &self.ctx.lifecycle,
        );
        let local = relay.local_rtp(Leg::A);
        let mut origin = SdpOrigin::from_clock();
        let request = &self.a.request;
        let offered = msgs::is_sdp(&request.headers, &request.body);
        let body = if offered {
            match sdp::answer_audio(&request.body, local, &mut origin) {
                Ok(answer) => {
                    relay.set_stream(Leg::A, &answer.offer);
                    debug!(codec = %answer.codec.name, direction = answer.direction.as_str(), "echo answer");
                    answer.body
                }
                Err(error) => {
                    info!(%error, "echo test: offer not acceptable: 488");
                    self.relay = Some(relay);
                    let cause = CallError::NotAcceptable.hangup_cause(HangupSide::Switch);
                    return self.fail_a(488, cause).await;
                }
            }
        } else {
            sdp::offer_audio(local, &mut origin)
        };
        let bus = self.ctx.bus.clone();
        self.a
            .channel
            .start_app(ECHO_APP, String::new(), &bus)
            .await;
        let mut ok = msgs::response_to(
            &self.a.request,
            200,
            None,
            &self.a.to_tag,
            Some(&self.a.contact),
            &self.server,
        );
        ok.headers.push(HeaderName::Allow, ALLOW_CALLS);
        // RFC 4028: no refresher of our own; the caller's requested timer is honoured with
        // the caller refreshing (its re-INVITE/UPDATE is answered below).
        msgs::copy_session_timer_answer(&self.a.request, &Response::new(200, "OK"), &mut ok);
        msgs::set_sdp_headers(&mut ok.headers);
        ok.body = body;
        match Dialog::new_uas(&self.a.request, &ok, &self.a.contact) {
            Ok(d) => {
                // Registered before the 2xx leaves, so the ACK and BYE find the call.
                self.register_dialog(d.id().clone()).await;
                self.a.dialog = Some(d);
            }
            Err(error) => warn!(%error, "caller dialog not created"),
        }
        self.respond_a(ok).await;
        self.a.channel.set_state(ChannelState::Up, &bus).await;
        relay.arm_timeout();
        self.relay = Some(relay);
        self.echo = Some(EchoState {
            origin,
            awaiting_answer: !offered,
        });
        self.phase = Phase::Answered;
        info!(local = %local, late_offer = !offered, "echo test answered");
    }

    /// The caller's ACK for the 200 of an echo call: carries the answer to a late offer.
    pub(super) fn on_echo_ack(&mut self, ack: Option<&Request>) {
        let Some(state) = self.echo.as_mut() else {
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
                if let Some(relay) = &self.relay {
                    relay.set_stream(Leg::A, &stream);
                }
            }
            Ok(None) => debug!("answer in the ACK has no audio"),
            Err(error) => debug!(%error, "answer in the ACK unusable"),
        }
    }

    /// An in-dialog request of an answered echo call other than BYE (already checked
    /// against the dialog by `on_in_dialog`).
    pub(super) async fn on_echo_request(&mut self, request: Request, txn: ServerTransaction) {
        let out = match request.method {
            Method::Invite | Method::Update => self.echo_reoffer(&request).await,
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
            debug!(%error, "response to the echo caller not sent");
        }
    }

    /// The answer to a re-INVITE or UPDATE: a new SDP answer (or our offer when the request
    /// has none), the relay told about the new stream, `Hold`/`Unhold` published.
    async fn echo_reoffer(&mut self, request: &Request) -> Response {
        let (Some(relay), Some(state)) = (&self.relay, self.echo.as_mut()) else {
            return msgs::response_to(request, 500, None, "", None, &self.server);
        };
        let local = relay.local_rtp(Leg::A);
        let (body, hold) = if msgs::is_sdp(&request.headers, &request.body) {
            match sdp::answer_audio(&request.body, local, &mut state.origin) {
                Ok(answer) => {
                    relay.set_stream(Leg::A, &answer.offer);
                    (answer.body, Some(answer.offer.is_hold()))
                }
                Err(error) => {
                    // RFC 3261 §14.2: the session continues unchanged.
                    info!(%error, "echo re-offer not acceptable: 488");
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
