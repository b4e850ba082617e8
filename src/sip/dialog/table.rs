//! [`DialogTable`]: the dialogs of one user agent keyed by [`DialogId`], matching of
//! incoming requests and responses to them (RFC 3261 §12.2.2, §12.2.1.2), the early
//! dialogs a forked INVITE creates (§12.1.2, §13.2.2.4, §12.3), and the 481 answer for
//! in-dialog requests that match no dialog (§12.2.2).

use std::collections::HashMap;

use tracing::debug;

use super::{Dialog, DialogError, DialogId, DialogState};
use crate::sip::message::{Method, Request, Response};

/// All dialogs of a user agent, keyed by dialog ID. Several early dialogs may share a
/// Call-ID and local tag when an INVITE forks (one per To tag).
#[derive(Debug, Default)]
pub struct DialogTable {
    /// The dialogs; terminated ones stay until [`DialogTable::remove`] or
    /// [`DialogTable::remove_terminated`] so late messages still match (and get 481).
    dialogs: HashMap<DialogId, Dialog>,
}

/// Where [`DialogTable::dispatch_request`] sends a received request.
#[derive(Debug)]
pub enum RequestDispatch {
    /// No To tag: the request is outside any dialog (new INVITE, REGISTER, OPTIONS...).
    OutOfDialog,
    /// The dialog accepted the request and updated its state; hand it to its owner.
    InDialog(DialogId),
    /// Answer with this response and go no further (481, 500, 491 or 400).
    Reject(Box<Response>),
    /// An ACK that matches no live dialog or was refused: drop it silently (ACK is never
    /// answered, RFC 3261 §17.2.3 / §12.2.2).
    Absorb,
}

/// What [`DialogTable::on_uac_response`] did with a response to a request we sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UacResponseOutcome {
    /// A new dialog was created (first 1xx-with-tag or 2xx from this To tag).
    Created(DialogId),
    /// An existing dialog processed the response (see its state).
    Updated(DialogId),
    /// A failure final response to the INVITE ended these early dialogs (§12.3).
    EarlyTerminated(Vec<DialogId>),
    /// The response belongs to no dialog and creates none (e.g. 100, or no To tag).
    NoDialog,
}

impl DialogId {
    /// The ID of the dialog a received request belongs to (RFC 3261 §12.2.2): Call-ID,
    /// local tag = To tag, remote tag = From tag. `None` if the request has no To tag
    /// (it is then outside any dialog) or its headers do not parse.
    pub fn for_received_request(req: &Request) -> Option<DialogId> {
        let to = req.headers.to().ok()?;
        let local_tag = to.tag()?.to_owned();
        let from = req.headers.from().ok()?;
        Some(DialogId {
            call_id: req.headers.call_id().ok()?.to_owned(),
            local_tag,
            remote_tag: from.tag().unwrap_or_default().to_owned(),
        })
    }

    /// The ID of the dialog a received response belongs to (RFC 3261 §12.2.1.2): Call-ID,
    /// local tag = From tag, remote tag = To tag. `None` without both tags.
    pub fn for_received_response(resp: &Response) -> Option<DialogId> {
        let from = resp.headers.from().ok()?;
        let to = resp.headers.to().ok()?;
        Some(DialogId {
            call_id: resp.headers.call_id().ok()?.to_owned(),
            local_tag: from.tag()?.to_owned(),
            remote_tag: to.tag()?.to_owned(),
        })
    }
}

impl DialogTable {
    /// An empty table.
    pub fn new() -> DialogTable {
        DialogTable::default()
    }

    /// Adds a dialog, returning the one it replaced with the same ID, if any.
    pub fn insert(&mut self, dialog: Dialog) -> Option<Dialog> {
        self.dialogs.insert(dialog.id.clone(), dialog)
    }

    /// Removes and returns a dialog.
    pub fn remove(&mut self, id: &DialogId) -> Option<Dialog> {
        self.dialogs.remove(id)
    }

    /// Removes every terminated dialog and returns them.
    pub fn remove_terminated(&mut self) -> Vec<Dialog> {
        let ids: Vec<DialogId> = self
            .dialogs
            .values()
            .filter(|d| d.state == DialogState::Terminated)
            .map(|d| d.id.clone())
            .collect();
        ids.iter()
            .filter_map(|id| self.dialogs.remove(id))
            .collect()
    }

    /// The dialog with this ID.
    pub fn get(&self, id: &DialogId) -> Option<&Dialog> {
        self.dialogs.get(id)
    }

    /// The dialog with this ID, mutably.
    pub fn get_mut(&mut self, id: &DialogId) -> Option<&mut Dialog> {
        self.dialogs.get_mut(id)
    }

    /// Number of dialogs (any state).
    pub fn len(&self) -> usize {
        self.dialogs.len()
    }

    /// Whether the table holds no dialog.
    pub fn is_empty(&self) -> bool {
        self.dialogs.is_empty()
    }

    /// All dialogs, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Dialog> {
        self.dialogs.values()
    }

    /// The dialog a received in-dialog request belongs to (RFC 3261 §12.2.2). `None` for
    /// requests without a To tag and for unknown dialogs; a request with a To tag that
    /// matches nothing gets [`unknown_dialog_response`] (except ACK, which is dropped).
    pub fn find_for_request(&mut self, req: &Request) -> Option<&mut Dialog> {
        let id = DialogId::for_received_request(req)?;
        self.dialogs.get_mut(&id)
    }

    /// The dialog a received response belongs to (RFC 3261 §12.2.1.2).
    pub fn find_for_response(&mut self, resp: &Response) -> Option<&mut Dialog> {
        let id = DialogId::for_received_response(resp)?;
        self.dialogs.get_mut(&id)
    }

    /// Routes a received request (RFC 3261 §12.2.2): no To tag means out of dialog; a
    /// matching dialog processes it with [`Dialog::on_request`]; a To tag matching no dialog
    /// gets 481. `retry_after` (seconds, 0-10 chosen at random by the caller) goes into the
    /// 500 answering an overlapping INVITE (§14.2).
    pub fn dispatch_request(&mut self, req: &Request, retry_after: u32) -> RequestDispatch {
        let has_to_tag = req.headers.to().is_ok_and(|to| to.tag().is_some());
        if !has_to_tag {
            return RequestDispatch::OutOfDialog;
        }
        let outcome = match self.find_for_request(req) {
            Some(dialog) => dialog.on_request(req).map(|()| dialog.id.clone()),
            None => Err(DialogError::Terminated),
        };
        match outcome {
            Ok(id) => RequestDispatch::InDialog(id),
            Err(e) => {
                debug!(method = %req.method, error = %e, "in-dialog request rejected");
                match e.response_for(req, retry_after) {
                    Some(resp) => RequestDispatch::Reject(Box::new(resp)),
                    None => RequestDispatch::Absorb,
                }
            }
        }
    }

    /// Handles a response to a request we sent, `req` being that request: a known dialog
    /// processes it; a new To tag on a 101-299 response to an INVITE creates a dialog
    /// (forking gives one per To tag, §12.1.2, §13.2.2.4); a 3xx-6xx to the INVITE ends all
    /// early dialogs it created (§12.3).
    pub fn on_uac_response(
        &mut self,
        req: &Request,
        resp: &Response,
    ) -> Result<UacResponseOutcome, DialogError> {
        let initial_invite = req.method == Method::Invite && req.headers.to()?.tag().is_none();
        if initial_invite && resp.status >= 300 {
            // RFC 3261 §12.3: a failure to the dialog-creating INVITE ends all its early
            // dialogs, whichever To tag the failure carries.
            let from = req.headers.from()?;
            let local_tag = from.tag().ok_or(DialogError::MissingFromTag)?;
            let call_id = req.headers.call_id()?;
            return Ok(UacResponseOutcome::EarlyTerminated(
                self.terminate_early(call_id, local_tag),
            ));
        }
        if let Some(dialog) = self.find_for_response(resp) {
            dialog.on_response(resp)?;
            return Ok(UacResponseOutcome::Updated(dialog.id.clone()));
        }
        if !initial_invite {
            return Ok(UacResponseOutcome::NoDialog);
        }
        if resp.status == 100 || DialogId::for_received_response(resp).is_none() {
            return Ok(UacResponseOutcome::NoDialog);
        }
        let dialog = Dialog::new_uac(req, resp)?;
        let id = dialog.id.clone();
        self.insert(dialog);
        Ok(UacResponseOutcome::Created(id))
    }

    /// RFC 3261 §12.3: marks terminated every early dialog with this Call-ID and local tag
    /// (the early dialogs of one INVITE) and returns their IDs.
    pub fn terminate_early(&mut self, call_id: &str, local_tag: &str) -> Vec<DialogId> {
        let mut ended = Vec::new();
        for dialog in self.dialogs.values_mut() {
            if dialog.state == DialogState::Early
                && dialog.id.call_id == call_id
                && dialog.id.local_tag == local_tag
            {
                dialog.set_state(DialogState::Terminated);
                ended.push(dialog.id.clone());
            }
        }
        ended
    }
}

/// RFC 3261 §12.2.2: the response to a request with a To tag that matches no dialog:
/// 481 Call/Transaction Does Not Exist, with Via, From, To (tag kept), Call-ID and CSeq
/// copied (§8.2.6). Do not answer an ACK: it is absorbed silently.
pub fn unknown_dialog_response(req: &Request) -> Response {
    Response::for_request(req, 481, Some("Call/Transaction Does Not Exist"), None)
}
