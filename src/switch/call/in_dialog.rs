//! Requests inside the two dialogs of an answered call: BYE ends the call (200, then BYE
//! to the other side); re-INVITE, UPDATE, INFO and other methods pass through to the other
//! side with their SDP rewritten to the relay (hold/unhold: the relay follows the new
//! address and direction, `Hold`/`Unhold` published), and the answer comes back the same
//! way (RFC 3261 §14 re-INVITE, RFC 3311 UPDATE, RFC 6086 INFO, through a B2BUA).
//!
//! ```text
//!  side X ─request─► [dialog X checks CSeq] ─► dialog Y.create_request ─► side Y
//!  side X ◄─response (same status, body via relay)─ [dialog Y] ◄─response─ side Y
//! ```

use std::future::Future;
use std::pin::pin;
use std::task::Poll;

use tracing::{debug, info, warn};

use crate::media::relay::Leg;
use crate::sip::endpoint::{ClientEvent, ClientTransaction, InDialogRequest, ServerTransaction};
use crate::sip::message::{HeaderName, Method, Request, Response};
use crate::sip::transport::Target;
use crate::switch::cause::{HangupCause, HangupSide};

use super::actor::{Call, Phase};
use super::msgs;

/// The side of a bridged call a request came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    /// The caller (A leg).
    A,
    /// The answering callee (the winning B leg).
    B,
}

impl Side {
    pub(super) fn other(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }
    pub(super) fn leg(self) -> Leg {
        match self {
            Side::A => Leg::A,
            Side::B => Leg::B,
        }
    }
    pub(super) fn hangup_side(self) -> HangupSide {
        match self {
            Side::A => HangupSide::Caller,
            Side::B => HangupSide::Callee,
        }
    }
}

/// A request from one side waiting for the other side's answer.
pub(super) struct Passthrough {
    /// The side the request came from.
    origin: Side,
    request: Request,
    txn: ServerTransaction,
    client: ClientTransaction,
}

/// The next event of any pending passthrough (pending when there is none).
pub(super) async fn next_passthrough(list: &mut [Passthrough]) -> (usize, Option<ClientEvent>) {
    std::future::poll_fn(|cx| {
        for (i, p) in list.iter_mut().enumerate() {
            let fut = pin!(p.client.next());
            if let Poll::Ready(ev) = fut.poll(cx) {
                return Poll::Ready((i, ev));
            }
        }
        Poll::Pending
    })
    .await
}

/// Sends BYE on `side`'s dialog (if it has one), with an RFC 3326 Reason carrying the
/// Q.850 cause. The response is not waited for.
pub(super) async fn send_bye(call: &mut Call, side: Side, cause: HangupCause) {
    let Some(target) = target_of(call, side) else {
        return;
    };
    let Some(sent_by) = call.ctx.sip.sent_by(&target) else {
        return;
    };
    let Some(dialog) = dialog_of(call, side) else {
        return;
    };
    match dialog.create_request(Method::Bye, &sent_by) {
        Ok(mut bye) => {
            bye.headers
                .push(HeaderName::Other("Reason".into()), reason_value(cause));
            if let Err(error) = call.ctx.sip.send_request(bye, target).await {
                debug!(%error, "BYE not sent");
            }
        }
        Err(error) => debug!(%error, "no BYE on this dialog"),
    }
}

/// RFC 3326 Reason value for a BYE: the Q.850 cause when it is a real one, else the SIP
/// status the cause maps to (e.g. a media timeout: `SIP;cause=408`), with its name.
pub(super) fn reason_value(cause: HangupCause) -> String {
    let q = cause.q850;
    if q.is_standard() {
        format!("Q.850;cause={};text=\"{}\"", q.code(), q.name())
    } else {
        let status = q.to_sip_status().unwrap_or(500);
        format!("SIP;cause={status};text=\"{}\"", q.name())
    }
}

fn dialog_of(call: &mut Call, side: Side) -> Option<&mut crate::sip::dialog::Dialog> {
    match side {
        Side::A => call.a.dialog.as_mut(),
        Side::B => call.winner.and_then(|w| call.b[w].dialog.as_mut()),
    }
}

fn target_of(call: &Call, side: Side) -> Option<Target> {
    match side {
        Side::A => Some(call.a.target.clone()),
        Side::B => call.winner.map(|w| call.b[w].target.clone()),
    }
}

/// Which side a request belongs to, by Call-ID and tags.
fn side_of(call: &Call, req: &Request) -> Option<Side> {
    let call_id = req.headers.call_id().ok()?;
    if call
        .a
        .dialog
        .as_ref()
        .is_some_and(|d| d.call_id() == call_id)
    {
        return Some(Side::A);
    }
    let w = call.winner?;
    call.b[w]
        .dialog
        .as_ref()
        .is_some_and(|d| d.call_id() == call_id)
        .then_some(Side::B)
}

impl Call {
    pub(super) async fn on_in_dialog(&mut self, item: Box<InDialogRequest>) {
        let InDialogRequest { request, txn, .. } = *item;
        let Some(txn) = txn else {
            return; // an ACK: nothing to pass on (the 2xx ACKs are hop by hop)
        };
        let Some(side) = side_of(self, &request).filter(|_| self.phase != Phase::Ending) else {
            let resp = msgs::response_to(&request, 481, None, "", None, &self.server);
            let _ = txn.respond(resp).await;
            return;
        };
        if let Some(dialog) = dialog_of(self, side) {
            if let Err(error) = dialog.on_request(&request) {
                if let Some(resp) = error.response_for(&request, 1) {
                    let _ = txn.respond(resp).await;
                }
                return;
            }
        }
        if request.method == Method::Bye {
            info!(side = ?side, "BYE: hanging up the other side");
            let resp = msgs::response_to(&request, 200, None, "", None, &self.server);
            let _ = txn.respond(resp).await;
            let cause = HangupCause::normal(side.hangup_side());
            if side == Side::B && self.dial.go_on && self.phase == Phase::Answered {
                // Dial option g: the caller goes on in the dialplan.
                return self.callee_left(cause).await;
            }
            return self.hangup_bridged(Some(side), cause).await;
        }
        if self.winner.is_none() || self.phase != Phase::Answered {
            if self.local.is_some() {
                return self.on_local_request(request, txn).await;
            }
            let resp = msgs::response_to(&request, 491, None, "", None, &self.server);
            let _ = txn.respond(resp).await;
            return;
        }
        let pending_invite = self
            .passthrough
            .iter()
            .any(|p| p.request.method == Method::Invite);
        if request.method == Method::Invite && pending_invite {
            // RFC 3261 §14.2: one INVITE at a time on the pair of dialogs.
            let resp = msgs::response_to(&request, 491, None, "", None, &self.server);
            let _ = txn.respond(resp).await;
            return;
        }
        self.pass_request(side, request, txn).await;
    }

    async fn pass_request(&mut self, side: Side, request: Request, txn: ServerTransaction) {
        let other = side.other();
        let built = self.build_passthrough(side, &request).await;
        let sent = match (built, target_of(self, other)) {
            (Some(out), Some(target)) => self.ctx.sip.send_request(out, target).await.ok(),
            _ => None,
        };
        match sent {
            Some(client) => self.passthrough.push(Passthrough {
                origin: side,
                request,
                txn,
                client,
            }),
            None => {
                let resp = msgs::response_to(&request, 500, None, "", None, &self.server);
                let _ = txn.respond(resp).await;
            }
        }
    }

    /// The request for the other side: same method, body (SDP through the relay, the
    /// relay told about the sender's new SDP), Content-Type, session-timer headers.
    async fn build_passthrough(&mut self, side: Side, request: &Request) -> Option<Request> {
        let other = side.other();
        let target = target_of(self, other)?;
        let sent_by = self.ctx.sip.sent_by(&target)?;
        let relay_addr = self.relay.as_ref().map(|r| r.local_rtp(other.leg()));
        let mut hold = None;
        let mut body = None;
        if let Some(addr) = relay_addr {
            match msgs::through_relay(&request.headers, &request.body, addr) {
                Ok(Some((stream, rewritten))) => {
                    if let (Some(stream), Some(relay)) = (&stream, &self.relay) {
                        relay.set_stream(side.leg(), stream);
                        hold = Some(stream.is_hold());
                    }
                    body = Some(rewritten);
                }
                Ok(None) => {}
                Err(error) => {
                    warn!(%error, "in-dialog SDP unusable");
                    return None;
                }
            }
        }
        let dialog = dialog_of(self, other)?;
        let mut out = dialog
            .create_request(request.method.clone(), &sent_by)
            .ok()?;
        match body {
            Some(b) => {
                msgs::set_sdp_headers(&mut out.headers);
                out.body = b;
            }
            None if !request.body.is_empty() => {
                if let Some(ct) = request.headers.get(&HeaderName::ContentType) {
                    out.headers.set(HeaderName::ContentType, ct.to_owned());
                }
                out.body = request.body.clone();
            }
            None => {}
        }
        if request.method == Method::Invite || request.method == Method::Update {
            msgs::copy_session_timer_request(request, &mut out);
        }
        if let Some(on_hold) = hold {
            let bus = self.ctx.bus.clone();
            let channel = match side {
                Side::A => Some(&mut self.a.channel),
                Side::B => self.winner.map(|w| &mut self.b[w].channel),
            };
            if let Some(channel) = channel {
                channel.set_hold(on_hold, &bus).await;
            }
        }
        Some(out)
    }

    pub(super) async fn on_passthrough(&mut self, i: usize, ev: Option<ClientEvent>) {
        let resp = match ev {
            Some(ClientEvent::Response(r)) if r.status < 200 => return,
            Some(ClientEvent::Response(r)) => *r,
            Some(ClientEvent::Timeout(r)) => *r,
            Some(ClientEvent::TransportError) | None => Response::new(503, "Service Unavailable"),
        };
        let p = self.passthrough.remove(i);
        let other = p.origin.other();
        if let Some(dialog) = dialog_of(self, other) {
            if let Err(error) = dialog.on_response(&resp) {
                debug!(%error, "in-dialog response");
            }
        }
        let is_invite = p.request.method == Method::Invite;
        if is_invite && (200..300).contains(&resp.status) {
            // RFC 3261 §13.2.2.4: the 2xx to our re-INVITE is ACKed hop by hop.
            let seq = p
                .client
                .request()
                .headers
                .cseq()
                .map(|c| c.seq)
                .unwrap_or(0);
            self.ack_other(other, seq).await;
        }
        let mut out = Response::for_request(&p.request, resp.status, Some(&resp.reason), None);
        out.headers.push(HeaderName::Server, self.server.as_str());
        if is_invite && (200..300).contains(&resp.status) {
            let contact = match p.origin {
                Side::A => Some(self.a.contact.clone()),
                Side::B => self.winner.and_then(|w| {
                    self.b[w]
                        .request
                        .headers
                        .get(&HeaderName::Contact)
                        .map(str::to_owned)
                        .and_then(|c| crate::sip::message::NameAddr::parse(&c).ok())
                }),
            };
            if let Some(c) = contact {
                out.headers.push(HeaderName::Contact, c.to_string());
            }
            msgs::copy_session_timer_answer(&p.request, &resp, &mut out);
        }
        let relay_addr = self.relay.as_ref().map(|r| r.local_rtp(p.origin.leg()));
        match relay_addr.map(|a| msgs::through_relay(&resp.headers, &resp.body, a)) {
            Some(Ok(Some((stream, body)))) => {
                if let (Some(stream), Some(relay)) = (&stream, &self.relay) {
                    relay.set_stream(other.leg(), stream);
                }
                msgs::set_sdp_headers(&mut out.headers);
                out.body = body;
            }
            _ if !resp.body.is_empty() && !msgs::is_sdp(&resp.headers, &resp.body) => {
                if let Some(ct) = resp.headers.get(&HeaderName::ContentType) {
                    out.headers.set(HeaderName::ContentType, ct.to_owned());
                }
                out.body = resp.body.clone();
            }
            _ => {}
        }
        if let Some(dialog) = dialog_of(self, p.origin) {
            let _ = dialog.on_sent_response(&out);
        }
        if let Err(error) = p.txn.respond(out).await {
            debug!(%error, "passthrough response not sent");
        }
        if resp.status == 481 || resp.status == 408 {
            // RFC 3261 §12.2.1.2: the other dialog is gone; end the call.
            let cause = HangupCause::from_sip(resp.status, HangupSide::Device);
            self.hangup_bridged(Some(other), cause).await;
        }
    }

    async fn ack_other(&mut self, side: Side, seq: u32) {
        let Some(target) = target_of(self, side) else {
            return;
        };
        let Some(sent_by) = self.ctx.sip.sent_by(&target) else {
            return;
        };
        let Some(dialog) = dialog_of(self, side) else {
            return;
        };
        let ack = dialog.create_ack(seq, &sent_by);
        if let Err(error) = self.ctx.sip.send_ack(ack, target).await {
            warn!(%error, "ACK not sent");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::switch::cause::Q850;

    #[test]
    fn bye_reason_carries_the_cause() {
        let normal = HangupCause::normal(HangupSide::Caller);
        assert_eq!(
            reason_value(normal),
            "Q.850;cause=16;text=\"NORMAL_CLEARING\""
        );
        let media = HangupCause::new(Q850::MediaTimeout, HangupSide::Device);
        assert_eq!(reason_value(media), "SIP;cause=408;text=\"MEDIA_TIMEOUT\"");
    }
}
