//! `[cdr]` (call detail records) and its sub-tables `[cdr.csv]` and `[cdr.webhook]`:
//! record models, realtime mode, custom fields, CSV log and webhook settings.
//!
//! Depends on: `super::validate` (the diagnostic context), serde, toml.

use std::path::PathBuf;
use std::time::Duration;

/// Which leg records are written in leg mode (mod_cti / FreeSWITCH `legs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegsFilter {
    /// Only inbound (A) legs.
    A,
    /// Only outbound (B) legs.
    B,
    /// Both (default).
    Ab,
}

/// How a custom field's value is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// As text.
    Text,
    /// As a number (`number:` prefix); a value that is not a number stores NULL.
    Number,
}

/// One part of a custom field's template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldPart {
    /// Literal text.
    Literal(String),
    /// The value of a variable (a record field such as `billsec`, or a channel variable).
    Var(String),
}

/// One custom field (mod_cti `fields`): `var`, `number:var`, `column:var`,
/// `column:${a}${b}`, `number:column:var`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSpec {
    /// The column it is stored in (a safe SQL identifier, validated at load).
    pub column: String,
    /// Text or number.
    pub kind: FieldKind,
    /// What is concatenated to make the value.
    pub template: Vec<FieldPart>,
}

/// The CSV layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvLayout {
    /// Leg-mode fields, with a header row.
    Leg,
    /// The IPSC CTI platform's 29 fields in their order (seed 000), no header.
    Ipsc,
    /// Bridge-mode (Asterisk `Master.csv`) fields.
    Bridge,
}

/// `[cdr.csv]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvSettings {
    /// Layouts written (one file per layout per day).
    pub layouts: Vec<CsvLayout>,
    /// Directory of the files (relative paths are under the data directory).
    pub dir: PathBuf,
    /// Files older than this many days are deleted (0: keep all).
    pub keep_days: u32,
}

/// `[cdr.webhook]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    /// `http://host[:port]/path` the records are POSTed to (JSON).
    pub url: String,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Delay before the first retry; doubles per attempt up to `max_backoff`.
    pub backoff: Duration,
    /// Longest delay between attempts.
    pub max_backoff: Duration,
}

/// `[cdr]`: the CDR subsystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CdrSettings {
    /// Whether CDRs are recorded at all.
    pub enabled: bool,
    /// Write leg-mode records (table `cdr_leg`).
    pub leg: bool,
    /// Write bridge-mode records (table `cdr`).
    pub bridge: bool,
    /// Write the CEL event table (`cel`).
    pub cel: bool,
    /// Leg mode: which legs are written.
    pub legs: LegsFilter,
    /// Bridge mode: write records that are neither ANSWERED nor CONGESTION.
    pub unanswered: bool,
    /// Bridge mode: report congestion as `CONGESTION` instead of `FAILED`.
    pub congestion: bool,
    /// Realtime mode (mod_cti `real`): leg rows inserted at channel creation and updated.
    pub realtime: bool,
    /// Keep every variable of the record as JSON in a `details` column.
    pub details: bool,
    /// Custom fields.
    pub fields: Vec<FieldSpec>,
    /// This node's id (IPSC `nodeid`, `region.station.instance`).
    pub node_id: String,
    /// Records waiting for the database beyond this count close admission (new calls get
    /// 503) until the backlog drains; nothing queued is dropped.
    pub max_backlog: usize,
    /// The CSV log, when configured.
    pub csv: Option<CsvSettings>,
    /// The webhook, when configured.
    pub webhook: Option<WebhookSettings>,
}

impl Default for CdrSettings {
    /// Same as an empty `[cdr]` table: leg and bridge records and CEL on, both legs,
    /// unanswered written, no realtime, no custom fields, node `1.1.1`, backlog 200,000.
    fn default() -> CdrSettings {
        CdrSettings {
            enabled: true,
            leg: true,
            bridge: true,
            cel: true,
            legs: LegsFilter::Ab,
            unanswered: true,
            congestion: false,
            realtime: false,
            details: false,
            fields: Vec::new(),
            node_id: "1.1.1".to_owned(),
            max_backlog: 200_000,
            csv: None,
            webhook: None,
        }
    }
}
