//! The `Dial` application: rings its targets in parallel (`&`), and either bridges the first
//! to answer or returns to the dialplan with `DIALSTATUS` (and `HANGUPCAUSE`) set as Asterisk
//! does: `ANSWER`, `BUSY`, `NOANSWER`, `CANCEL`, `CONGESTION`, `CHANUNAVAIL`.
//!
//! Two media shapes:
//! - **transparent** (the caller is unanswered and the switch has sent it no SDP): the
//!   caller's offer goes to every target through the relay, the callee's 18x/2xx come back
//!   to the caller (early media passes through; option `r` sends a plain 180 instead);
//! - **local** (the caller was answered or given early media by the switch, or option `m`):
//!   the targets are offered the caller's codec only (no transcoding), the caller hears
//!   ringback (or music on hold with `m`) from the switch, and the answer bridges leg A.
//!
//! Options: `r` ringing indication, `m` music on hold instead of ringback, `g` continue the
//! dialplan when the callee hangs up. Without a timeout the `[calls] ring_timeout` applies.
//!
//! Depends on `media` (relay, sdp, player, tones), `dest` and the actor.

use std::time::Duration;

use tokio::time::Instant;
use tracing::{info, warn};

use crate::media::player::Source;
use crate::media::relay::{Leg, LegMode};
use crate::media::sdp::{self, SdpOrigin};
use crate::media::tone::Tone;
use crate::switch::cause::{HangupCause, HangupSide, Q850};
use crate::switch::errors::CallError;
use crate::switch::events::DialStatus;

use super::actor::{Call, Phase};
use super::bleg;
use super::dest::{self, DialTarget};
use super::exec::{Running, Step};
use super::msgs;
use super::scope::DialOutcome;

/// The options of the `Dial` in progress.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct DialOptions {
    /// `r`: ringing indication to the caller instead of the callee's early media.
    pub ringing: bool,
    /// `m`: music on hold to the caller while the targets ring.
    pub moh: bool,
    /// `g`: the caller goes on in the dialplan when the callee hangs up.
    pub go_on: bool,
    /// The caller's media is the switch's (local shape).
    pub local: bool,
}

impl DialOptions {
    /// Reads Asterisk option letters; unknown letters (and their `(args)`) are ignored.
    pub(super) fn parse(options: &str) -> DialOptions {
        let mut out = DialOptions::default();
        let mut depth = 0usize;
        for c in options.chars() {
            match c {
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                _ if depth > 0 => {}
                'r' => out.ringing = true,
                'm' => out.moh = true,
                'g' => out.go_on = true,
                _ => {}
            }
        }
        out
    }
}

/// Why the last `Dial` failed, for the caller's final response if the dialplan ends.
#[derive(Debug, Clone)]
pub(super) struct Failure {
    /// The best final status (RFC 3261 §16.7).
    pub status: u16,
    /// The cause behind it.
    pub cause: HangupCause,
    /// The Contact of a 3xx chosen as the best response.
    pub redirect: Option<String>,
}

/// `DIALSTATUS` for a failed dial whose best response was `status`.
pub(super) fn dialstatus_for(status: u16) -> DialStatus {
    match status {
        486 | 600 | 603 => DialStatus::Busy,
        408 | 480 | 487 => DialStatus::NoAnswer,
        500 | 502 | 503 | 504 => DialStatus::Congestion,
        _ => DialStatus::ChanUnavail,
    }
}

impl Call {
    /// Starts `Dial(targets, timeout, options)`.
    pub(super) async fn start_dial(
        &mut self,
        targets: &[String],
        timeout: Option<u32>,
        options: &str,
    ) -> Step {
        let mut opts = DialOptions::parse(options);
        let mut dests = Vec::new();
        let mut failed: Vec<(u16, HangupCause)> = Vec::new();
        for text in targets {
            let Some(target) = DialTarget::parse(text) else {
                warn!(target = %text, "Dial: unsupported dial string");
                failed.push((404, HangupCause::new(Q850::Unallocated, HangupSide::Switch)));
                continue;
            };
            match dest::destinations(&self.ctx, &target).await {
                Ok(found) => dests.extend(found),
                Err(error) => {
                    info!(target = %text, %error, "Dial: target unavailable");
                    failed.push((error.sip_status(), error.hangup_cause(HangupSide::Switch)));
                }
            }
        }
        if dests.is_empty() {
            let statuses: Vec<u16> = failed.iter().map(|f| f.0).collect();
            let status = msgs::best_response(&statuses).unwrap_or(404);
            let cause = failed
                .iter()
                .find(|f| f.0 == status)
                .map(|f| f.1)
                .unwrap_or_else(|| HangupCause::new(Q850::Unallocated, HangupSide::Switch));
            self.record_dial_failure(status, cause, None, None);
            return Step::Done;
        }
        if opts.moh && self.local.is_none() && !self.local_media(false).await {
            return Step::Wait;
        }
        opts.local = self.local.is_some();
        if !self.ensure_relay().await {
            return Step::Wait;
        }
        let Some(offer) = self.dial_offer(opts.local).await else {
            return Step::Wait;
        };
        self.dial = opts;
        self.outcome = DialOutcome::default();
        self.last_failure = None;
        self.dial_first = self.b.len();
        self.pre_failed.clear();
        for failure in failed {
            self.pre_failed.push(failure.0);
        }
        let ring = timeout
            .map(|t| Duration::from_secs(u64::from(t)))
            .unwrap_or(self.ctx.config.calls.ring_timeout);
        self.ring_deadline = Instant::now() + ring;
        self.phase = Phase::Dialing;
        self.running = Running::Dial;
        if opts.local {
            if opts.moh {
                self.play_moh().await;
            } else {
                self.start_player(Source::Tone(Tone::Ringback)).await;
            }
        } else if opts.ringing {
            self.send_ringing().await;
        }
        for dest in dests {
            let leg = bleg::start_leg(self, dest, offer.clone()).await;
            self.b.push(leg);
        }
        self.check_all_failed().await;
        Step::Wait
    }

    /// The SDP offered to the targets: the caller's offer through the relay (transparent), or
    /// the caller's agreed codec on the relay's leg B (local). `None` when the call failed.
    async fn dial_offer(&mut self, local: bool) -> Option<Option<bytes::Bytes>> {
        let relay = self.relay.as_ref()?;
        if local {
            let codec = self.local.as_ref().and_then(|l| l.codec.clone());
            let event = self.local.as_ref().and_then(|l| l.telephone_event);
            let mut origin = SdpOrigin::from_clock();
            let body = match codec {
                Some(codec) => {
                    sdp::offer_codec(relay.local_rtp(Leg::B), &mut origin, &codec, event)
                }
                None => sdp::offer_audio(relay.local_rtp(Leg::B), &mut origin),
            };
            return Some(Some(body));
        }
        let offer = msgs::through_relay(
            &self.a.request.headers,
            &self.a.request.body,
            relay.local_rtp(Leg::B),
        );
        match offer {
            Ok(Some((stream, body))) => {
                if let Some(stream) = &stream {
                    relay.set_stream(Leg::A, stream);
                }
                Some(Some(body))
            }
            Ok(None) => Some(None),
            Err(error) => {
                info!(%error, "caller's SDP unusable: 488");
                let cause = CallError::NotAcceptable.hangup_cause(HangupSide::Switch);
                self.fail_a(488, cause).await;
                None
            }
        }
    }

    /// Sets `DIALSTATUS`/`HANGUPCAUSE` (scope and channel variables) for a failed dial.
    fn record_dial_failure(
        &mut self,
        status: u16,
        cause: HangupCause,
        redirect: Option<String>,
        dialstatus: Option<DialStatus>,
    ) {
        let dialstatus = dialstatus.unwrap_or_else(|| dialstatus_for(status));
        info!(status, dialstatus = dialstatus.as_str(), "Dial failed");
        self.outcome = DialOutcome {
            status: Some(dialstatus),
            cause: Some(cause.q850.code()),
        };
        let channel = self.a.channel.channel_mut();
        channel.set_var("DIALSTATUS", dialstatus.as_str());
        channel.set_var("HANGUPCAUSE", cause.q850.code().to_string());
        self.last_failure = Some(Failure {
            status,
            cause,
            redirect,
        });
    }

    /// Every leg failed (or the ring timeout / a 6xx ended the dial): back to the dialplan.
    pub(super) async fn dial_failed(
        &mut self,
        status: u16,
        cause: HangupCause,
        redirect: Option<String>,
        dialstatus: Option<DialStatus>,
    ) {
        self.stop_player().await;
        self.record_dial_failure(status, cause, redirect, dialstatus);
        self.phase = Phase::Dialplan;
        self.pre_failed.clear();
        self.app_done().await;
    }

    /// A target answered in the local shape: ringback stopped, leg A bridged in the relay,
    /// the caller answered if it was not yet (with our SDP).
    pub(super) async fn local_answered(&mut self) {
        self.stop_player().await;
        if let Some(relay) = &self.relay {
            relay.set_mode(Leg::A, LegMode::Bridge);
        }
        self.local_media(true).await;
    }

    /// The callee hung up a bridge made with option `g`: the caller goes on in the dialplan.
    pub(super) async fn callee_left(&mut self, cause: HangupCause) {
        let bus = self.ctx.bus.clone();
        self.unbridge().await;
        if let Some(w) = self.winner.take() {
            if let Some(relay) = &self.relay {
                self.b[w].channel.set_media(&relay.stats().b);
            }
            self.b[w].channel.hangup(cause, &bus).await;
            self.b[w].channel.destroy(&bus, &self.ctx.registry).await;
            self.b[w].txn = None;
        }
        self.outcome = DialOutcome {
            status: Some(DialStatus::Answer),
            cause: Some(cause.q850.code()),
        };
        self.phase = Phase::Dialplan;
        if let Some(relay) = &self.relay {
            relay.set_mode(Leg::A, LegMode::Local);
        }
        self.local_media(true).await;
        self.app_done().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_letters_with_optional_arguments() {
        let o = DialOptions::parse("rg");
        assert!(o.ringing && o.go_on && !o.moh);
        let o = DialOptions::parse("m(default)T");
        assert!(o.moh && !o.ringing);
        let o = DialOptions::parse("L(60000)");
        assert_eq!(o, DialOptions::default());
    }

    #[test]
    fn dialstatus_follows_asterisk() {
        assert_eq!(dialstatus_for(486), DialStatus::Busy);
        assert_eq!(dialstatus_for(603), DialStatus::Busy);
        assert_eq!(dialstatus_for(480), DialStatus::NoAnswer);
        assert_eq!(dialstatus_for(503), DialStatus::Congestion);
        assert_eq!(dialstatus_for(404), DialStatus::ChanUnavail);
    }
}
