//! What the caller's INVITE gets from the switch: provisional and final responses on the
//! A transaction, the 2xx that creates the caller's dialog, and failure responses that end
//! the call (with the Contact of a relayed 3xx).
//!
//! Depends on `sip` (dialog, endpoint, message) and the actor.

use bytes::Bytes;
use tracing::{debug, warn};

use crate::sip::dialog::Dialog;
use crate::sip::endpoint::ALLOW_CALLS;
use crate::sip::message::{HeaderName, Response};
use crate::switch::cause::HangupCause;
use crate::switch::channel::ChannelState;

use super::actor::Call;
use super::msgs;

impl Call {
    /// A provisional response (`status` 180 or 183, with `sdp` when there is one) to a
    /// caller without a final response, the caller's channel moved to `state`.
    pub(super) async fn send_provisional(
        &mut self,
        status: u16,
        state: ChannelState,
        sdp: Option<Bytes>,
    ) {
        if self.a.final_sent {
            return;
        }
        let mut resp = self.caller_response(status);
        if let Some(body) = sdp {
            msgs::set_sdp_headers(&mut resp.headers);
            resp.body = body;
        }
        let bus = self.ctx.bus.clone();
        self.a.channel.set_state(state, &bus).await;
        self.respond_a(resp).await;
    }

    /// Sends a final failure `status` to the caller and ends the call.
    pub(super) async fn fail_a(&mut self, status: u16, cause: HangupCause) {
        self.fail_a_with(status, cause, None).await;
    }

    /// [`Call::fail_a`] with the Contact of a relayed 3xx.
    pub(super) async fn fail_a_with(
        &mut self,
        status: u16,
        cause: HangupCause,
        contact: Option<String>,
    ) {
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

    /// A response to the caller's INVITE with our To tag and Contact (18x, 2xx).
    pub(super) fn caller_response(&self, status: u16) -> Response {
        msgs::response_to(
            &self.a.request,
            status,
            None,
            &self.a.to_tag,
            Some(&self.a.contact),
            &self.server,
        )
    }

    /// A 200 for the caller's INVITE: Contact, Allow, and the session-timer answer given
    /// `peer`'s 2xx (RFC 4028; a switch-made `200 OK` when the switch answers itself).
    pub(super) fn caller_ok(&self, peer: &Response) -> Response {
        let mut ok = self.caller_response(200);
        ok.headers.push(HeaderName::Allow, ALLOW_CALLS);
        msgs::copy_session_timer_answer(&self.a.request, peer, &mut ok);
        ok
    }

    /// Sends a 2xx to the caller, its dialog created and registered first so the ACK and
    /// BYE find the call.
    pub(super) async fn answer_caller(&mut self, ok: Response) {
        match Dialog::new_uas(&self.a.request, &ok, &self.a.contact) {
            Ok(d) => {
                self.register_dialog(d.id().clone()).await;
                self.a.dialog = Some(d);
            }
            Err(error) => warn!(%error, "caller dialog not created"),
        }
        self.respond_a(ok).await;
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
