//! `[cdr]` (call detail records) and its sub-tables `[cdr.csv]` and `[cdr.webhook]`:
//! record models, realtime mode, custom fields, CSV log and webhook settings.
//!
//! Loading: the on-disk tables (`CdrTable`, `CsvTable`, `WebhookTable`) deny unknown keys
//! and keep spans; `cdr_settings` validates them (every problem recorded with its
//! `file:line:column`) into [`CdrSettings`]. The field and URL syntaxes ([`parse_field`],
//! [`parse_http_url`]) are in the `spec` submodule.
//!
//! ```toml
//! [cdr]
//! enabled = true                 # record CDRs at all
//! modes = ["leg", "bridge"]      # non-empty subset: leg records, bridge records
//! cel = false                    # channel event log (off by default, as in Asterisk)
//! legs = "ab"                    # leg mode: "a" (inbound legs), "b" (outbound), "ab"
//! unanswered = true              # bridge mode: write NO ANSWER/BUSY/FAILED records
//! congestion = false             # bridge mode: CONGESTION instead of FAILED
//! realtime = false               # leg mode: rows inserted at creation, updated live
//! details = false                # leg mode: all variables as JSON in `details`
//! fields = ["queue_name", "number:score:call_score", "both:${a}-${b}"]
//! node_id = "1.1.1"              # [A-Za-z0-9._-]+
//! max_backlog = 100000           # 1000..=10000000 operations waiting for the database
//!
//! [cdr.csv]
//! layouts = ["leg", "ipsc", "bridge"]   # required, non-empty
//! dir = "cdr-csv"                # relative to the data directory
//! keep_days = 90                 # 0..=36500; 0 keeps every file
//!
//! [cdr.webhook]
//! url = "http://127.0.0.1:8080/cdr"     # required; http only
//! timeout_secs = 5               # 1..=300
//! backoff_ms = 500               # 1..=3600000, at most max_backoff_secs
//! max_backoff_secs = 60          # 1..=86400
//! ```
//!
//! Depends on: `super::validate` (the diagnostic context), `super::error`, serde, toml.

mod spec;

use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::error::{ConfigError, ConfigWarning};
use super::validate::Ctx;
use super::Location;

pub use spec::{parse_field, parse_http_url, FieldError, HttpUrl, UrlProblem, BUILTIN_COLUMNS};

/// Which leg records are written in leg mode (mod_cti / FreeSWITCH `legs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CsvLayout {
    /// Leg-mode fields, with a header row.
    Leg,
    /// The IPSC CTI platform's 29 fields in their order (seed 000), no header.
    Ipsc,
    /// Bridge-mode (Asterisk `Master.csv`) fields.
    Bridge,
}

impl CsvLayout {
    /// `leg`, `ipsc` or `bridge` (as configured; also the file name prefix).
    pub fn name(self) -> &'static str {
        match self {
            CsvLayout::Leg => "leg",
            CsvLayout::Ipsc => "ipsc",
            CsvLayout::Bridge => "bridge",
        }
    }

    /// Whether the layout is made of leg records (`leg`, `ipsc`) rather than bridge records.
    pub fn uses_leg_records(self) -> bool {
        !matches!(self, CsvLayout::Bridge)
    }
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

impl WebhookSettings {
    /// `url` split into host, port and path (validated at load, so this only fails for
    /// settings built by hand).
    pub fn endpoint(&self) -> Result<HttpUrl, UrlProblem> {
        parse_http_url(&self.url)
    }
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
    /// Store operations waiting for the database beyond this count close admission (new
    /// calls get 503) until the backlog drains; nothing queued is dropped.
    pub max_backlog: usize,
    /// The CSV log, when configured.
    pub csv: Option<CsvSettings>,
    /// The webhook, when configured.
    pub webhook: Option<WebhookSettings>,
}

impl Default for CdrSettings {
    /// Same as an empty `[cdr]` table: leg and bridge records on, CEL off, both legs,
    /// unanswered written, no realtime, no custom fields, node `1.1.1`, backlog 100,000.
    fn default() -> CdrSettings {
        CdrSettings {
            enabled: true,
            leg: true,
            bridge: true,
            cel: false,
            legs: LegsFilter::Ab,
            unanswered: true,
            congestion: false,
            realtime: false,
            details: false,
            fields: Vec::new(),
            node_id: "1.1.1".to_owned(),
            max_backlog: 100_000,
            csv: None,
            webhook: None,
        }
    }
}

/// `modes` entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Mode {
    /// Leg-mode records.
    Leg,
    /// Bridge-mode records.
    Bridge,
}

/// `[cdr]` as written; every key optional (defaults as in [`CdrSettings::default`]).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CdrTable {
    #[serde(default = "yes")]
    enabled: bool,
    modes: Option<Spanned<Vec<Spanned<Mode>>>>,
    #[serde(default)]
    cel: bool,
    #[serde(default = "default_legs")]
    legs: LegsFilter,
    #[serde(default = "yes")]
    unanswered: bool,
    #[serde(default)]
    congestion: bool,
    realtime: Option<Spanned<bool>>,
    #[serde(default)]
    details: bool,
    #[serde(default)]
    fields: Vec<Spanned<String>>,
    node_id: Option<Spanned<String>>,
    max_backlog: Option<Spanned<u64>>,
    csv: Option<Spanned<CsvTable>>,
    webhook: Option<Spanned<WebhookTable>>,
}

/// `[cdr.csv]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CsvTable {
    layouts: Spanned<Vec<Spanned<CsvLayout>>>,
    dir: Option<Spanned<String>>,
    keep_days: Option<Spanned<u64>>,
}

/// `[cdr.webhook]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WebhookTable {
    url: Spanned<String>,
    timeout_secs: Option<Spanned<u64>>,
    backoff_ms: Option<Spanned<u64>>,
    max_backoff_secs: Option<Spanned<u64>>,
}

fn yes() -> bool {
    true
}
fn default_legs() -> LegsFilter {
    LegsFilter::Ab
}

/// Default `[cdr.csv] dir`, relative to the data directory.
pub const DEFAULT_CSV_DIR: &str = "cdr-csv";
/// Default `[cdr.csv] keep_days`.
pub const DEFAULT_KEEP_DAYS: u32 = 90;
/// Default `[cdr.webhook] timeout_secs`.
pub const DEFAULT_WEBHOOK_TIMEOUT_SECS: u64 = 5;
/// Default `[cdr.webhook] backoff_ms`.
pub const DEFAULT_WEBHOOK_BACKOFF_MS: u64 = 500;
/// Default `[cdr.webhook] max_backoff_secs`.
pub const DEFAULT_WEBHOOK_MAX_BACKOFF_SECS: u64 = 60;

/// A value as written, or the default with the span of the enclosing table (for messages).
fn or_default<T>(v: Option<Spanned<T>>, default: T, span: &Range<usize>) -> Spanned<T> {
    v.unwrap_or_else(|| Spanned::new(span.clone(), default))
}

/// Validates `[cdr]` and its sub-tables. Every problem is recorded in `ctx`; the returned
/// settings are only used when there was none (the load fails otherwise).
pub(crate) fn cdr_settings(ctx: &mut Ctx, i: usize, table: Spanned<CdrTable>) -> CdrSettings {
    let span = table.span();
    let t = table.into_inner();
    let defaults = CdrSettings::default();
    let (leg, bridge) = match t.modes {
        Some(modes) => modes_of(ctx, i, modes),
        None => (defaults.leg, defaults.bridge),
    };
    let realtime = t.realtime.as_ref().is_some_and(|r| *r.get_ref());
    if realtime && !leg {
        if let Some(r) = &t.realtime {
            let at = ctx.loc(i, &r.span());
            needs_mode(ctx, at, "cdr.realtime = true".to_owned(), "leg");
        }
    }
    let fields = fields_of(ctx, i, t.fields);
    let node_id = match t.node_id {
        Some(n) => node_id_of(ctx, i, n).unwrap_or(defaults.node_id),
        None => defaults.node_id,
    };
    let max_backlog = or_default(t.max_backlog, defaults.max_backlog as u64, &span);
    ctx.range(i, &max_backlog, "cdr.max_backlog", 1_000, 10_000_000);
    let csv = t.csv.map(|c| csv_of(ctx, i, c, leg, bridge));
    let webhook = t.webhook.map(|w| webhook_of(ctx, i, w));
    CdrSettings {
        enabled: t.enabled,
        leg,
        bridge,
        cel: t.cel,
        legs: t.legs,
        unanswered: t.unanswered,
        congestion: t.congestion,
        realtime,
        details: t.details,
        fields,
        node_id,
        max_backlog: usize::try_from(*max_backlog.get_ref()).unwrap_or(usize::MAX),
        csv,
        webhook,
    }
}

/// `modes`: a non-empty list of distinct modes. Returns (leg, bridge).
fn modes_of(ctx: &mut Ctx, i: usize, modes: Spanned<Vec<Spanned<Mode>>>) -> (bool, bool) {
    let span = modes.span();
    let mut seen: Vec<(Mode, Location)> = Vec::new();
    for m in modes.into_inner() {
        let at = ctx.loc(i, &m.span());
        let mode = *m.get_ref();
        match seen.iter().find(|(s, _)| *s == mode) {
            Some((_, first)) => {
                let what = format!("cdr.modes entry {:?}", mode_name(mode));
                let first = first.clone();
                ctx.err(ConfigError::Duplicate { at, first, what });
            }
            None => seen.push((mode, at)),
        }
    }
    if seen.is_empty() {
        let at = ctx.loc(i, &span);
        ctx.err(ConfigError::Empty {
            at,
            key: "cdr.modes",
        });
    }
    let has = |mode| seen.iter().any(|(s, _)| *s == mode);
    (has(Mode::Leg), has(Mode::Bridge))
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Leg => "leg",
        Mode::Bridge => "bridge",
    }
}

/// Records that `what` needs `mode` in `cdr.modes`.
fn needs_mode(ctx: &mut Ctx, at: Location, what: String, mode: &'static str) {
    ctx.err(ConfigError::CdrNeedsMode { at, what, mode });
}

/// `fields`: each entry parsed; columns unique; entries that only repeat a built-in
/// column dropped with a warning.
fn fields_of(ctx: &mut Ctx, i: usize, entries: Vec<Spanned<String>>) -> Vec<FieldSpec> {
    let mut out: Vec<(FieldSpec, Location)> = Vec::new();
    for entry in entries {
        let at = ctx.loc(i, &entry.span());
        let value = entry.into_inner();
        // Ok(Err(column)): the entry only repeats a built-in column.
        let parsed = parse_field(&value).and_then(|spec| {
            if !BUILTIN_COLUMNS.contains(&spec.column.as_str()) {
                Ok(Ok(spec))
            } else if spec.template == [FieldPart::Var(spec.column.clone())] {
                Ok(Err(spec.column))
            } else {
                Err(FieldError::BuiltinColumn(spec.column))
            }
        });
        match parsed {
            Ok(Err(column)) => {
                let warning = ConfigWarning::CdrFieldIsBuiltin { at, value, column };
                ctx.warnings.push(warning);
            }
            Ok(Ok(spec)) => match out.iter().find(|(s, _)| s.column == spec.column) {
                Some((_, first)) => {
                    let what = format!("cdr.fields column {}", spec.column);
                    let first = first.clone();
                    ctx.err(ConfigError::Duplicate { at, first, what });
                }
                None => out.push((spec, at)),
            },
            Err(reason) => ctx.err(ConfigError::BadCdrField { at, value, reason }),
        }
    }
    out.into_iter().map(|(s, _)| s).collect()
}

/// Longest `node_id`.
const MAX_NODE_ID_LEN: usize = 64;

/// `node_id`: non-empty `[A-Za-z0-9._-]+`, at most 64 characters.
fn node_id_of(ctx: &mut Ctx, i: usize, n: Spanned<String>) -> Option<String> {
    if !ctx.non_empty(i, &n, "cdr.node_id") {
        return None;
    }
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    let value = n.get_ref();
    if value.chars().all(ok) && value.len() <= MAX_NODE_ID_LEN {
        return Some(value.clone());
    }
    let at = ctx.loc(i, &n.span());
    ctx.err(ConfigError::BadNodeId {
        at,
        value: n.into_inner(),
    });
    None
}

/// `[cdr.csv]`: distinct layouts whose records are produced by the configured modes.
fn csv_of(ctx: &mut Ctx, i: usize, t: Spanned<CsvTable>, leg: bool, bridge: bool) -> CsvSettings {
    let span = t.span();
    let t = t.into_inner();
    let list_span = t.layouts.span();
    let mut layouts: Vec<(CsvLayout, Location)> = Vec::new();
    for l in t.layouts.into_inner() {
        let at = ctx.loc(i, &l.span());
        let layout = *l.get_ref();
        if let Some((_, first)) = layouts.iter().find(|(s, _)| *s == layout) {
            let what = format!("cdr.csv.layouts entry {:?}", layout.name());
            let first = first.clone();
            ctx.err(ConfigError::Duplicate { at, first, what });
            continue;
        }
        let (needed, have) = if layout.uses_leg_records() {
            ("leg", leg)
        } else {
            ("bridge", bridge)
        };
        if !have {
            let what = format!("cdr.csv layout {:?}", layout.name());
            needs_mode(ctx, at.clone(), what, needed);
        }
        layouts.push((layout, at));
    }
    if layouts.is_empty() {
        let at = ctx.loc(i, &list_span);
        ctx.err(ConfigError::Empty {
            at,
            key: "cdr.csv.layouts",
        });
    }
    let dir = or_default(t.dir, DEFAULT_CSV_DIR.to_owned(), &span);
    ctx.non_empty(i, &dir, "cdr.csv.dir");
    let keep_days = or_default(t.keep_days, u64::from(DEFAULT_KEEP_DAYS), &span);
    ctx.range(i, &keep_days, "cdr.csv.keep_days", 0, 36_500);
    CsvSettings {
        layouts: layouts.into_iter().map(|(l, _)| l).collect(),
        dir: PathBuf::from(dir.get_ref().trim()),
        keep_days: u32::try_from(*keep_days.get_ref()).unwrap_or(DEFAULT_KEEP_DAYS),
    }
}

/// `[cdr.webhook]`: an `http://` URL, sane timeouts, `backoff <= max_backoff`.
fn webhook_of(ctx: &mut Ctx, i: usize, t: Spanned<WebhookTable>) -> WebhookSettings {
    let span = t.span();
    let t = t.into_inner();
    if let Err(reason) = parse_http_url(t.url.get_ref().trim()) {
        let at = ctx.loc(i, &t.url.span());
        let value = t.url.get_ref().clone();
        ctx.err(ConfigError::BadWebhookUrl { at, value, reason });
    }
    let timeout = or_default(t.timeout_secs, DEFAULT_WEBHOOK_TIMEOUT_SECS, &span);
    let backoff = or_default(t.backoff_ms, DEFAULT_WEBHOOK_BACKOFF_MS, &span);
    let max_backoff = or_default(t.max_backoff_secs, DEFAULT_WEBHOOK_MAX_BACKOFF_SECS, &span);
    let mut ok = ctx.range(i, &timeout, "cdr.webhook.timeout_secs", 1, 300);
    ok &= ctx.range(i, &backoff, "cdr.webhook.backoff_ms", 1, 3_600_000);
    ok &= ctx.range(i, &max_backoff, "cdr.webhook.max_backoff_secs", 1, 86_400);
    let (backoff_ms, max_ms) = (*backoff.get_ref(), max_backoff.get_ref() * 1_000);
    if ok && backoff_ms > max_ms {
        let at = ctx.loc(i, &backoff.span());
        ctx.err(ConfigError::Order {
            at,
            smaller: "cdr.webhook.backoff_ms",
            small_value: backoff_ms,
            larger: "cdr.webhook.max_backoff_secs (in ms)",
            large_value: max_ms,
        });
    }
    WebhookSettings {
        url: t.url.into_inner().trim().to_owned(),
        timeout: Duration::from_secs(*timeout.get_ref()),
        backoff: Duration::from_millis(backoff_ms),
        max_backoff: Duration::from_secs(*max_backoff.get_ref()),
    }
}
