//! The B2BUA glue: the call dispatcher and the `Call` actor.
//!
//! The dispatcher ([`spawn_dispatcher`]) consumes the new INVITEs the SIP endpoint
//! delivers, rejects loops (482) and starts one [`actor`] task per call. The actor
//! authenticates the caller (trusted gateway by source address, else digest with 407), then
//! runs the dialplan from the caller's context (`internal` for extensions, `from-trunk` for
//! gateways) at the dialled number (`exec`: one application at a time; `dial` rings targets,
//! `local_media` answers, plays prompts, echoes and records). The actor owns everything the
//! call uses: the inbound channel (A leg), one outbound channel per dial attempt (B legs, rung
//! in parallel), both dialogs, the RTP relay, the bridge, the player and the recorder.
//!
//! ```text
//!  endpoint ─IncomingRequest─► dispatcher ─spawn─► Call actor (one task per call)
//!                                  │ 482 loop       │ 407 / 404 / 480 / 503
//!                                  ▼                ▼
//!              A leg ◄── 100, 18x, 2xx (SDP → relay A port) ──┐
//!              B legs ── INVITE (SDP → relay B port), CANCEL, ACK, BYE
//!              in-dialog BYE / re-INVITE / INFO / UPDATE ◄──► passed to the other side
//!              EventBus ◄── ChannelCreated, DialBegin/End, ChannelState, Answered,
//!                           BridgeEnter/Leave, Hold/Unhold, Hangup, ChannelDestroyed
//!
//!  Call phases:  Dialplan ──Dial──► Dialing ──first 2xx──► Answered ──BYE/timeout──► Ending
//!                   ▲  │ Hangup / end      │ all failed / ring timeout (DIALSTATUS)  ▲
//!                   │  └───────────────────┼─────────────────────────────────────────┘
//!                   └──────────────────────┘   (caller CANCEL / BYE: Ending from anywhere)
//!  (Ending: relay closed, channels hung up and destroyed; the task lingers only until
//!   the last outbound INVITE transaction has ended, to ACK and BYE a late 2xx.)
//! ```
//!
//! Session timers (RFC 4028): the caller's Session-Expires/Min-SE/`Supported: timer` go
//! to the callee and the callee's negotiated value comes back; if the callee ignores the
//! timer, the caller gets its own interval with `refresher=uac`. The refreshes are
//! re-INVITE/UPDATE and pass through; the B2BUA never refreshes nor expires a session
//! itself. A late offer (INVITE without SDP) is supported: the ACK to the callee waits for
//! the caller's ACK and carries its answer.
//!
//! The echo test (`Echo()`, `*43` in the shipped dialplans) is a call the switch answers
//! itself: one channel, the relay's leg A in echo mode, no B leg.
//!
//! Not handled yet: requests inside an *early* dialog (UPDATE/PRACK before the answer get
//! 481), following 3xx redirections (a 3xx chosen as the best response is relayed to the
//! caller with its Contact), REFER, transfers.
//!
//! Depends on `config`, `runtime`, `sip` (endpoint, dialog, registrar, message),
//! `media` (ports, relay, sdp) and the rest of `switch`.

mod actor;
mod bleg;
mod caller;
mod dest;
mod dial;
mod dispatch;
mod exec;
mod in_dialog;
pub mod leg_channel;
mod local_media;
pub mod msgs;
mod record;
pub mod registry;
pub mod scope;

use std::sync::Arc;

use crate::config::Config;
use crate::dialplan::LiveDialplan;
use crate::media::sound::SoundLibrary;
use crate::media::PortPool;
use crate::runtime::{Admission, Lifecycle};
use crate::sip::endpoint::SipHandle;
use crate::sip::registrar::Registrar;
use crate::switch::bus::EventBus;

pub use actor::{INTERNAL_CONTEXT, TRUNK_CONTEXT};
pub use dispatch::spawn_dispatcher;
pub use registry::{CallCounts, CallRegistry};
pub use scope::Globals;

/// Everything a call needs from the server; shared by every call.
#[derive(Debug)]
pub struct CallContext {
    /// Sends requests, CANCELs and ACKs; registers dialogs.
    pub sip: SipHandle,
    /// Authenticates callers and knows where extensions are registered.
    pub registrar: Arc<Registrar>,
    /// Extensions, gateways, ring timeout, media settings, our domain.
    pub config: Arc<Config>,
    /// Where channel events are published.
    pub bus: EventBus,
    /// RTP port pairs for the relays.
    pub ports: PortPool,
    /// Live call and channel counts; outgoing Call-IDs (loop detection).
    pub registry: CallRegistry,
    /// Shutdown token and task tracker for the call tasks and relays.
    pub lifecycle: Lifecycle,
    /// Whether new calls are taken (closed e.g. while the CDR backlog is full).
    pub admission: Admission,
    /// The dialplan in force; a call takes `current()` once and keeps it to its end.
    pub dialplan: LiveDialplan,
    /// Prompts for Playback, Background, MusicOnHold (`[media] sounds_dir`, cached).
    pub sounds: Arc<SoundLibrary>,
    /// Global variables set by the dialplan at run time (`Set(GLOBAL(x)=...)`).
    pub globals: Globals,
    /// Where `Record` writes (`<data>/recordings`).
    pub recordings: std::path::PathBuf,
    /// The gateways in force (configured and added at run time).
    pub gateways: crate::switch::gateways::LiveGateways,
}
