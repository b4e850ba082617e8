//! The records the CDR subsystem produces, shared by the engines (which build them from
//! switch events), the store (SQLite), the CSV writers, the live feed and the export.
//!
//! Times are milliseconds since the Unix epoch, UTC ([`Millis`]). Durations are whole
//! seconds (`duration`, `billsec`, truncated like Asterisk and FreeSWITCH) plus the exact
//! milliseconds (`duration_ms`, `billsec_ms`).
//!
//! Depends on `switch` (ids and enums copied into records) and serde.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch (UTC).
pub type Millis = i64;

/// `t` as [`Millis`] (times before the epoch clamp to 0).
pub fn millis(t: SystemTime) -> Millis {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Where a leg record is in its life (realtime mode shows it; final records are `Hangup`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LegStatus {
    /// Created, not yet alerting.
    Created,
    /// Alerting or early media.
    Ringing,
    /// Answered.
    Answered,
    /// Bridged with another channel.
    Bridged,
    /// Hung up (final).
    Hangup,
}

impl LegStatus {
    /// `created`, `ringing`, `answered`, `bridged`, `hangup`.
    pub fn as_str(self) -> &'static str {
        match self {
            LegStatus::Created => "created",
            LegStatus::Ringing => "ringing",
            LegStatus::Answered => "answered",
            LegStatus::Bridged => "bridged",
            LegStatus::Hangup => "hangup",
        }
    }
}

/// RTP counters of one leg, per direction: `in` = received from the leg's far end,
/// `out` = sent to it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RtpSummary {
    /// Packets received from the far end.
    pub in_packets: u64,
    /// Packets the far end sent that never arrived (sequence gaps).
    pub in_lost: u64,
    /// Interarrival jitter of received packets, milliseconds (RFC 3550 §6.4.1).
    pub in_jitter_ms: f64,
    /// Packets sent to the far end.
    pub out_packets: u64,
    /// Packets lost towards the far end, as it reported (RTCP), when known.
    pub out_lost: u64,
    /// Jitter the far end reported for our stream (RTCP), milliseconds, when known.
    pub out_jitter_ms: f64,
}

/// One leg-mode record: one channel, from creation to close (FreeSWITCH / mod_cti /
/// IPSC semantics). Built by `cdr::leg`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LegRecord {
    /// The channel's uuid (unique; also the record id).
    pub uuid: String,
    /// The node that handled the channel (IPSC `nodeid`).
    pub node_id: String,
    /// Life stage (realtime mode); `Hangup` once final.
    pub status: LegStatus,
    /// `inbound` (the far end called the switch) or `outbound`.
    pub direction: String,
    /// The extension, or the gateway's name for a leg over a gateway.
    pub account: String,
    /// Calling number.
    pub caller_id_number: String,
    /// Calling name.
    pub caller_id_name: String,
    /// Called / connected number on this leg.
    pub callee_id_number: String,
    /// The number this leg was created for.
    pub destination_number: String,
    /// On outbound legs: the uuid of the leg that dialed it.
    pub originator: Option<String>,
    /// The last channel this leg was bridged with.
    pub bridge_uuid: Option<String>,
    /// `dialplan`, `acd`, `queuedialer`, `api`.
    pub call_source: String,
    /// Calling extension, queue or campaign.
    pub source_name: String,
    /// Original caller's number (queue calls).
    pub source_number: String,
    /// Number / extension dialed.
    pub dial_number: String,
    /// Line group (gateway) used.
    pub line_group: String,
    /// Dialplan context.
    pub context: String,
    /// Channel name (`SIP/1000-…`).
    pub channel_name: String,
    /// SIP Call-ID of the leg's dialog.
    pub sip_call_id: Option<String>,
    /// Creation time.
    pub start: Millis,
    /// Answer time.
    pub answer: Option<Millis>,
    /// End time (`None` while live).
    pub end: Option<Millis>,
    /// `end − start`, whole seconds.
    pub duration: i64,
    /// `end − answer`, whole seconds (0 when never answered).
    pub billsec: i64,
    /// `end − start`, milliseconds.
    pub duration_ms: i64,
    /// `end − answer`, milliseconds.
    pub billsec_ms: i64,
    /// Q.850 cause name (`NORMAL_CLEARING`, …); empty while live.
    pub hangup_cause: String,
    /// Q.850 cause value.
    pub q850: Option<u16>,
    /// SIP status involved in the end (a final failure response), if any.
    pub sip_code: Option<u16>,
    /// Who hung up, seen from this leg: `local`, `remote`, `device` (IPSC `endtype`).
    pub hangup_side: String,
    /// Negotiated audio codec.
    pub codec: Option<String>,
    /// RTP statistics.
    pub rtp: RtpSummary,
    /// The conversation's linkedid.
    pub linkedid: String,
    /// Account code.
    pub accountcode: String,
    /// AMA flags (`OMIT`, `BILLING`, `DOCUMENTATION`).
    pub amaflags: String,
    /// User field.
    pub userfield: String,
    /// Channel variables at the last update (for custom fields and `details`).
    pub variables: BTreeMap<String, String>,
}

impl LegRecord {
    /// The id that identifies this record across updates and deliveries.
    pub fn record_id(&self) -> &str {
        &self.uuid
    }
}

/// Asterisk CDR dispositions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Disposition {
    /// Answered.
    #[serde(rename = "ANSWERED")]
    Answered,
    /// Not answered (no answer, cancelled, or never dialed and never answered).
    #[serde(rename = "NO ANSWER")]
    NoAnswer,
    /// Busy.
    #[serde(rename = "BUSY")]
    Busy,
    /// Failed.
    #[serde(rename = "FAILED")]
    Failed,
    /// Congestion (only when `congestion` is configured; otherwise `FAILED`).
    #[serde(rename = "CONGESTION")]
    Congestion,
}

impl Disposition {
    /// `ANSWERED`, `NO ANSWER`, `BUSY`, `FAILED`, `CONGESTION`.
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::Answered => "ANSWERED",
            Disposition::NoAnswer => "NO ANSWER",
            Disposition::Busy => "BUSY",
            Disposition::Failed => "FAILED",
            Disposition::Congestion => "CONGESTION",
        }
    }
}

/// One bridge-mode record: one path of communication between Party A and Party B
/// (Asterisk CDR specification). Built by `cdr::bridge`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BridgeRecord {
    /// The node that produced it.
    pub node_id: String,
    /// `"name" <number>` of Party A.
    pub clid: String,
    /// Party A's number.
    pub src: String,
    /// Destination extension.
    pub dst: String,
    /// Destination context.
    pub dcontext: String,
    /// Party A's channel name.
    pub channel: String,
    /// Party B's channel name (empty without Party B).
    pub dstchannel: String,
    /// Party A's last application.
    pub lastapp: String,
    /// Its arguments.
    pub lastdata: String,
    /// Record creation.
    pub start: Millis,
    /// Answer (Party A answered or the bridge formed).
    pub answer: Option<Millis>,
    /// End (`None` while open).
    pub end: Option<Millis>,
    /// `end − start`, whole seconds.
    pub duration: i64,
    /// `end − answer`, whole seconds (0 when never answered).
    pub billsec: i64,
    /// `end − start`, milliseconds.
    pub duration_ms: i64,
    /// `end − answer`, milliseconds.
    pub billsec_ms: i64,
    /// Final disposition.
    pub disposition: Disposition,
    /// Party A's AMA flags.
    pub amaflags: String,
    /// Party A's account code.
    pub accountcode: String,
    /// Party B's account code.
    pub peeraccount: String,
    /// Party A's uniqueid.
    pub uniqueid: String,
    /// Party B's uniqueid (empty without Party B).
    pub peer_uniqueid: String,
    /// The linkedid.
    pub linkedid: String,
    /// Sequence number (increasing per record, across restarts).
    pub sequence: u64,
    /// Party A's and Party B's user fields, joined with `;` when both are set.
    pub userfield: String,
    /// Party A's variables (Party A wins for equal keys), for custom fields.
    pub variables: BTreeMap<String, String>,
}

impl BridgeRecord {
    /// The id that identifies this record across updates and deliveries.
    pub fn record_id(&self) -> String {
        format!("{}:{}", self.uniqueid, self.sequence)
    }
}

/// One channel event (Asterisk CEL field list, seed 003).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CelRecord {
    /// The bus sequence number of the event (unique within a run).
    pub event_seq: u64,
    /// The node.
    pub node_id: String,
    /// `CHAN_START`, `ANSWER`, `BRIDGE_ENTER`, `BRIDGE_EXIT`, `APP_START`, `APP_END`,
    /// `HANGUP`, `CHAN_END`, `LINKEDID_END`, …
    pub eventtype: String,
    /// When.
    pub eventtime: Millis,
    /// Caller id name.
    pub cid_name: String,
    /// Caller id number.
    pub cid_num: String,
    /// ANI.
    pub cid_ani: String,
    /// RDNIS.
    pub cid_rdnis: String,
    /// DNID (the number dialed).
    pub cid_dnid: String,
    /// Extension.
    pub exten: String,
    /// Context.
    pub context: String,
    /// Channel name.
    pub channame: String,
    /// Current application.
    pub appname: String,
    /// Its arguments.
    pub appdata: String,
    /// AMA flags.
    pub amaflags: String,
    /// Account code.
    pub accountcode: String,
    /// The peer's account code.
    pub peeraccount: String,
    /// Channel uniqueid.
    pub uniqueid: String,
    /// linkedid.
    pub linkedid: String,
    /// User field.
    pub userfield: String,
    /// The other channel's name, for two-channel events.
    pub peer: String,
    /// Event-specific data as JSON (`{"hangupcause":16,…}`).
    pub extra: String,
}

/// What an engine asks the store to do, in order.
#[derive(Clone, Debug)]
pub enum CdrOp {
    /// A leg record is live and changed: upsert it (realtime table or crash journal).
    LegLive(Arc<LegRecord>),
    /// A leg record is final: write it (and forget its live row).
    LegFinal(Arc<LegRecord>),
    /// A leg record ended but is not written (AMA `OMIT`, or `legs` excludes it).
    LegDrop {
        /// Its uuid.
        uuid: String,
    },
    /// A bridge record is open and changed: upsert its crash-journal row.
    BridgeLive(Arc<BridgeRecord>),
    /// A bridge record is final: write it.
    BridgeFinal(Arc<BridgeRecord>),
    /// A bridge record ended but is not written (unanswered off, or `OMIT`).
    BridgeDrop {
        /// Its record id.
        record_id: String,
    },
    /// A channel event.
    Cel(Arc<CelRecord>),
}

/// A finished (or, in realtime mode, updated) record as delivered to live subscribers,
/// CSV and the webhook.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum FeedItem {
    /// A leg record (`final` false: a realtime update).
    Leg {
        /// Whether the record is final.
        #[serde(rename = "final")]
        is_final: bool,
        /// The record.
        record: Arc<LegRecord>,
    },
    /// A final bridge record.
    Bridge {
        /// The record.
        record: Arc<BridgeRecord>,
    },
}

impl FeedItem {
    /// The record id consumers de-duplicate on (`leg:<uuid>`, `bridge:<uniqueid>:<seq>`).
    pub fn record_id(&self) -> String {
        match self {
            FeedItem::Leg { record, .. } => format!("leg:{}", record.uuid),
            FeedItem::Bridge { record } => format!("bridge:{}", record.record_id()),
        }
    }
}
