//! The [`Dialog`] state: creation from a dialog-creating request and its response
//! (RFC 3261 §12.1) and the updates that received and sent messages make to it (§12.2,
//! §13.2.2.4, §14, §15). Building requests lives in `request.rs`.

use tracing::debug;

use super::{DialogError, DialogId, DialogState, Role};
use crate::sip::message::{
    ContactValue, HeaderName, Headers, Method, NameAddr, Request, Response, Scheme, Transport, Uri,
};

/// One dialog's state (RFC 3261 §12). Build it with [`Dialog::new_uac`] or
/// [`Dialog::new_uas`]; keep it in a [`super::DialogTable`].
#[derive(Debug, Clone)]
pub struct Dialog {
    /// Call-ID and tags: how messages find this dialog.
    pub(super) id: DialogId,
    /// Early, confirmed or terminated.
    pub(super) state: DialogState,
    /// Whether we sent (UAC) or answered (UAS) the dialog-creating request.
    pub(super) role: Role,
    /// CSeq number of the last request we sent; empty for a UAS until it sends one.
    pub(super) local_seq: Option<u32>,
    /// CSeq number of the last in-order request we received; empty for a UAC until then.
    pub(super) remote_seq: Option<u32>,
    /// Our From/To identity (without tag; the tag is in `id`).
    pub(super) local_uri: NameAddr,
    /// The peer's From/To identity (without tag; the tag is in `id`).
    pub(super) remote_uri: NameAddr,
    /// Where in-dialog requests go: the peer's latest Contact URI (§12.2).
    pub(super) remote_target: Uri,
    /// Proxies every in-dialog request must visit, in sending order (§12.1).
    pub(super) route_set: Vec<NameAddr>,
    /// Request arrived/was sent over TLS with a SIPS Request-URI (§12.1.1).
    pub(super) secure: bool,
    /// Our Contact, put in target-refresh requests we build.
    pub(super) local_contact: NameAddr,
    /// CSeq number of the dialog-creating INVITE (to recognise its final response).
    pub(super) invite_seq: u32,
    /// CSeq of an INVITE we sent on this dialog that has no final response yet (§14.2).
    pub(super) pending_local_invite: Option<u32>,
    /// CSeq of an INVITE we received on this dialog and have not answered finally (§14.2).
    pub(super) pending_remote_invite: Option<u32>,
}

/// Methods whose requests replace the remote target (RFC 3261 §12.2: re-INVITE; RFC 3311
/// §5.1: UPDATE; RFC 6665 §4.1.2.4/§4.2.2: SUBSCRIBE and NOTIFY).
pub(super) fn is_target_refresh(method: &Method) -> bool {
    matches!(
        method,
        Method::Invite | Method::Update | Method::Subscribe | Method::Notify
    )
}

/// The first SIP/SIPS Contact URI of a message, if any (`*` and other schemes skipped).
fn first_contact(headers: &Headers) -> Result<Option<NameAddr>, DialogError> {
    Ok(headers.contacts()?.into_iter().find_map(|c| match c {
        ContactValue::Addr(na) if matches!(na.uri, Uri::Sip(_)) => Some(na),
        _ => None,
    }))
}

/// A From/To value without its tag: the dialog's local or remote URI (§12.1.1).
fn without_tag(mut addr: NameAddr) -> NameAddr {
    addr.params.remove("tag");
    addr
}

/// RFC 3261 §12.1.1 / §12.1.2: secure if the request went over TLS and its Request-URI is
/// SIPS. The top Via's sent-protocol names the transport of the (last) hop.
fn is_secure(req: &Request) -> Result<bool, DialogError> {
    let sips = matches!(&req.uri, Uri::Sip(u) if matches!(u.scheme, Scheme::Sips));
    Ok(sips && matches!(req.headers.top_via()?.transport, Transport::Tls))
}

/// RFC 3261 §12.1: only 101-299 responses create a dialog.
fn check_creating(resp: &Response) -> Result<(), DialogError> {
    if (101..300).contains(&resp.status) {
        Ok(())
    } else {
        Err(DialogError::NotDialogCreating {
            status: resp.status,
        })
    }
}

fn state_for(status: u16) -> DialogState {
    if status >= 200 {
        DialogState::Confirmed
    } else {
        DialogState::Early
    }
}

impl Dialog {
    /// Dialog state on the UAS side (RFC 3261 §12.1.1) when we answer `req` (an INVITE)
    /// with `resp` (101-199 with a To tag gives an early dialog, 2xx a confirmed one).
    /// `local_contact` is the Contact we put in `resp`; it goes into our later requests.
    pub fn new_uas(
        req: &Request,
        resp: &Response,
        local_contact: &NameAddr,
    ) -> Result<Dialog, DialogError> {
        check_creating(resp)?;
        let to = resp.headers.to()?;
        let local_tag = to.tag().ok_or(DialogError::MissingToTag)?.to_owned();
        let from = req.headers.from()?;
        // §12.1.1: an RFC 2543 peer may send no From tag; the remote tag is then null.
        let remote_tag = from.tag().unwrap_or_default().to_owned();
        let cseq = req.headers.cseq()?;
        // §12.1.1: remote target = Contact of the request.
        let target = first_contact(&req.headers)?.ok_or(DialogError::MissingContact)?;
        // §12.1.1: route set = Record-Route of the request, in order, params kept.
        let route_set = req.headers.routes(&HeaderName::RecordRoute)?;
        let state = state_for(resp.status);
        let id = DialogId {
            call_id: req.headers.call_id()?.to_owned(),
            local_tag,
            remote_tag,
        };
        debug!(call_id = %id.call_id, local_tag = %id.local_tag, state = ?state, "UAS dialog created");
        Ok(Dialog {
            id,
            state,
            role: Role::Uas,
            // §12.1.1: local sequence number empty, remote = CSeq of the request.
            local_seq: None,
            remote_seq: Some(cseq.seq),
            local_uri: without_tag(to),
            remote_uri: without_tag(from),
            remote_target: target.uri,
            route_set,
            secure: is_secure(req)?,
            local_contact: local_contact.clone(),
            invite_seq: cseq.seq,
            pending_local_invite: None,
            pending_remote_invite: (state == DialogState::Early).then_some(cseq.seq),
        })
    }

    /// Dialog state on the UAC side (RFC 3261 §12.1.2) from the request we sent and a
    /// 101-299 response carrying a To tag. Each distinct To tag (forking) is a separate
    /// dialog; [`super::DialogTable::on_uac_response`] does that bookkeeping.
    pub fn new_uac(req: &Request, resp: &Response) -> Result<Dialog, DialogError> {
        check_creating(resp)?;
        let to = resp.headers.to()?;
        let remote_tag = to.tag().ok_or(DialogError::MissingToTag)?.to_owned();
        let from = req.headers.from()?;
        let local_tag = from.tag().ok_or(DialogError::MissingFromTag)?.to_owned();
        let cseq = req.headers.cseq()?;
        // §12.1.2: remote target = Contact of the response.
        let target = first_contact(&resp.headers)?.ok_or(DialogError::MissingContact)?;
        let local_contact = first_contact(&req.headers)?.ok_or(DialogError::MissingContact)?;
        let state = state_for(resp.status);
        let id = DialogId {
            call_id: req.headers.call_id()?.to_owned(),
            local_tag,
            remote_tag,
        };
        debug!(call_id = %id.call_id, remote_tag = %id.remote_tag, state = ?state, "UAC dialog created");
        Ok(Dialog {
            id,
            state,
            role: Role::Uac,
            // §12.1.2: local sequence number = CSeq of the request, remote empty.
            local_seq: Some(cseq.seq),
            remote_seq: None,
            local_uri: without_tag(from),
            remote_uri: without_tag(to),
            remote_target: target.uri,
            route_set: uac_route_set(resp)?,
            secure: is_secure(req)?,
            local_contact,
            invite_seq: cseq.seq,
            pending_local_invite: (state == DialogState::Early).then_some(cseq.seq),
            pending_remote_invite: None,
        })
    }

    /// The dialog ID.
    pub fn id(&self) -> &DialogId {
        &self.id
    }
    /// The Call-ID.
    pub fn call_id(&self) -> &str {
        &self.id.call_id
    }
    /// Early, confirmed or terminated.
    pub fn state(&self) -> DialogState {
        self.state
    }
    /// UAC or UAS of the dialog-creating request.
    pub fn role(&self) -> Role {
        self.role
    }
    /// CSeq number of the last request we sent (`None` for a UAS that sent none yet).
    pub fn local_seq(&self) -> Option<u32> {
        self.local_seq
    }
    /// CSeq number of the last in-order request received (`None` until one arrives).
    pub fn remote_seq(&self) -> Option<u32> {
        self.remote_seq
    }
    /// Our identity (From of our requests), without tag.
    pub fn local_uri(&self) -> &NameAddr {
        &self.local_uri
    }
    /// The peer's identity (To of our requests), without tag.
    pub fn remote_uri(&self) -> &NameAddr {
        &self.remote_uri
    }
    /// The peer's current Contact URI.
    pub fn remote_target(&self) -> &Uri {
        &self.remote_target
    }
    /// The route set in sending order.
    pub fn route_set(&self) -> &[NameAddr] {
        &self.route_set
    }
    /// Whether the dialog is secure (TLS + SIPS, §12.1.1): in-dialog requests then go
    /// over TLS only.
    pub fn is_secure(&self) -> bool {
        self.secure
    }
    /// The Contact we put in requests that carry one.
    pub fn local_contact(&self) -> &NameAddr {
        &self.local_contact
    }
    /// CSeq number of the INVITE that created the dialog.
    pub fn invite_seq(&self) -> u32 {
        self.invite_seq
    }

    /// Processes a response to a request we sent on this dialog (or to the INVITE that
    /// created it): confirmation (§13.2.2.4), remote target refresh (§12.2.1.2) and
    /// termination (§12.2.1.2, §12.3, §15).
    pub fn on_response(&mut self, resp: &Response) -> Result<(), DialogError> {
        let cseq = resp.headers.cseq()?;
        if resp.status < 200 {
            return Ok(());
        }
        if cseq.method == Method::Invite && self.pending_local_invite == Some(cseq.seq) {
            self.pending_local_invite = None;
        }
        let creating =
            self.role == Role::Uac && cseq.method == Method::Invite && cseq.seq == self.invite_seq;
        if creating && self.state == DialogState::Early {
            if (200..300).contains(&resp.status) {
                // RFC 3261 §13.2.2.4: the 2xx confirms the early dialog; the route set is
                // recomputed from it (§12.1.2) and its Contact is the remote target.
                self.route_set = uac_route_set(resp)?;
                if let Some(c) = first_contact(&resp.headers)? {
                    self.remote_target = c.uri;
                }
                self.set_state(DialogState::Confirmed);
            } else {
                // RFC 3261 §12.3: a non-2xx final response ends the early dialogs.
                self.set_state(DialogState::Terminated);
            }
            return Ok(());
        }
        if creating {
            // A retransmitted 2xx to the dialog-creating INVITE changes nothing.
            return Ok(());
        }
        match resp.status {
            // RFC 3261 §12.2.1.2: 481 or 408 to an in-dialog request ends the dialog.
            408 | 481 => self.set_state(DialogState::Terminated),
            // RFC 3261 §12.2.1.2: 2xx to a target refresh request replaces the target.
            200..=299 if is_target_refresh(&cseq.method) => {
                if let Some(c) = first_contact(&resp.headers)? {
                    self.remote_target = c.uri;
                }
            }
            _ => {}
        }
        // RFC 3261 §15.1.1: the BYE's final response ends the dialog (a 401/407 is
        // followed by a BYE with credentials, so it does not).
        if cseq.method == Method::Bye && !matches!(resp.status, 401 | 407) {
            self.set_state(DialogState::Terminated);
        }
        Ok(())
    }

    /// RFC 3261 §12.2.1.2: no response at all to an in-dialog request (the client
    /// transaction timed out) ends the dialog.
    pub fn on_request_timeout(&mut self) {
        self.set_state(DialogState::Terminated);
    }

    /// Processes an in-dialog request we received (RFC 3261 §12.2.2): CSeq ordering,
    /// remote target refresh, INVITE overlap (§14.2) and BYE (§15.1.2). On error the
    /// request must be rejected with [`DialogError::response_for`].
    pub fn on_request(&mut self, req: &Request) -> Result<(), DialogError> {
        if self.state == DialogState::Terminated {
            return Err(DialogError::Terminated);
        }
        let cseq = req.headers.cseq()?;
        // ACK (for 2xx, §13.2.2.4) and CANCEL (§9.1) carry the CSeq number of the request
        // they belong to; they are not new requests and leave the sequence alone.
        if matches!(req.method, Method::Ack | Method::Cancel) {
            return Ok(());
        }
        // RFC 3261 §12.2.2: lower than the remote sequence number = out of order.
        if let Some(remote) = self.remote_seq {
            if cseq.seq < remote {
                return Err(DialogError::CSeqOutOfOrder {
                    received: cseq.seq,
                    remote_seq: remote,
                });
            }
        }
        self.remote_seq = Some(cseq.seq);
        if req.method == Method::Invite {
            // RFC 3261 §14.2: overlapping INVITEs.
            if self.pending_remote_invite.is_some_and(|p| p < cseq.seq) {
                return Err(DialogError::InviteInProgress);
            }
            if self.pending_local_invite.is_some() {
                return Err(DialogError::RequestPending);
            }
            self.pending_remote_invite = Some(cseq.seq);
        }
        // RFC 3261 §12.2.2: a target refresh request replaces the remote target.
        if is_target_refresh(&req.method) {
            if let Some(c) = first_contact(&req.headers)? {
                self.remote_target = c.uri;
            }
        }
        if req.method == Method::Bye {
            // RFC 3261 §15.1.2: the dialog ends with the BYE (answered 200 by the caller).
            self.set_state(DialogState::Terminated);
        }
        Ok(())
    }

    /// Processes a final response we send to a request received on this dialog: a UAS's
    /// 2xx to the creating INVITE confirms the dialog, a failure ends the early dialog
    /// (§12.1.1, §12.3), and a final response closes an INVITE still in progress (§14.2).
    pub fn on_sent_response(&mut self, resp: &Response) -> Result<(), DialogError> {
        if resp.status < 200 {
            return Ok(());
        }
        let cseq = resp.headers.cseq()?;
        if cseq.method != Method::Invite {
            return Ok(());
        }
        if self.pending_remote_invite == Some(cseq.seq) {
            self.pending_remote_invite = None;
        }
        if self.role == Role::Uas && self.state == DialogState::Early && cseq.seq == self.invite_seq
        {
            if (200..300).contains(&resp.status) {
                self.set_state(DialogState::Confirmed);
            } else {
                self.set_state(DialogState::Terminated);
            }
        }
        Ok(())
    }

    /// Marks the dialog terminated (e.g. the application gave up on it).
    pub fn terminate(&mut self) {
        self.set_state(DialogState::Terminated);
    }

    pub(super) fn set_state(&mut self, state: DialogState) {
        if self.state != state && self.state != DialogState::Terminated {
            debug!(call_id = %self.id.call_id, from = ?self.state, to = ?state, "dialog state");
            self.state = state;
        }
    }
}

/// RFC 3261 §12.1.2: the UAC's route set is the response's Record-Route in reverse order.
fn uac_route_set(resp: &Response) -> Result<Vec<NameAddr>, DialogError> {
    let mut routes = resp.headers.routes(&HeaderName::RecordRoute)?;
    routes.reverse();
    Ok(routes)
}
