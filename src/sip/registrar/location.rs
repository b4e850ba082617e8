//! The in-memory location service: bindings per address-of-record (RFC 3261 §10.3), and
//! their conversion to and from database rows.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use crate::db::registrations::RegistrationRow;
use crate::sip::message::{Transport, Uri};
use crate::sip::transport::FlowId;

/// One registered contact of an address-of-record.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    /// The address-of-record, canonical `sip:user@domain`.
    pub aor: String,
    /// Where to send requests for the AOR (the Contact URI).
    pub contact: Uri,
    /// When the binding lapses unless refreshed.
    pub expires_at: SystemTime,
    /// Contact preference `q` (RFC 3261 §20.10), if given.
    pub q: Option<f32>,
    /// Call-ID of the REGISTER that created or last refreshed the binding (§10.3 step 7).
    pub call_id: String,
    /// CSeq of that REGISTER (§10.3 step 7: a lower or equal CSeq with the same Call-ID fails).
    pub cseq: u32,
    /// Transport the REGISTER arrived on.
    pub transport: Transport,
    /// Source address of the REGISTER (where NATed phones are reachable).
    pub source: SocketAddr,
    /// Our local address it arrived on.
    pub local: SocketAddr,
    /// The flow (connection) it arrived on; `None` after a restart (flows do not survive).
    pub flow: Option<FlowId>,
    /// `+sip.instance` (RFC 5626 §4.1), if given.
    pub instance: Option<String>,
    /// `reg-id` (RFC 5626 §4.2), if given.
    pub reg_id: Option<u32>,
    /// User-Agent of the device.
    pub user_agent: Option<String>,
    /// Path header values, in order (RFC 3327 §5.3): route set towards the contact.
    pub path: Vec<String>,
}

impl Binding {
    /// The identity of the binding within its AOR: the Contact URI text.
    pub(crate) fn key(&self) -> String {
        self.contact.to_string()
    }

    /// Whole seconds left before expiry (rounded up), 0 once expired.
    pub fn remaining(&self, now: SystemTime) -> u64 {
        match self.expires_at.duration_since(now) {
            Ok(left) if left > Duration::ZERO => {
                left.as_secs() + u64::from(left.subsec_nanos() > 0)
            }
            _ => 0,
        }
    }

    /// Whether this binding is the same registration as `other` (RFC 3261 §10.3 step 7 URI
    /// match, or RFC 5626 §6 same instance and reg-id).
    pub(crate) fn same_binding(
        &self,
        key: &str,
        instance: Option<&str>,
        reg_id: Option<u32>,
    ) -> bool {
        if self.key() == key {
            return true;
        }
        match (self.instance.as_deref(), self.reg_id, instance, reg_id) {
            (Some(a), Some(ra), Some(b), Some(rb)) => a == b && ra == rb,
            _ => false,
        }
    }

    /// The database row for this binding.
    pub(crate) fn to_row(&self) -> RegistrationRow {
        RegistrationRow {
            aor: self.aor.clone(),
            contact: self.key(),
            expires_at: self.expires_at,
            q: self.q,
            call_id: self.call_id.clone(),
            cseq: self.cseq,
            transport: self.transport.as_str().to_owned(),
            source: self.source,
            local: self.local,
            flow_id: self.flow.map(|f| f.0),
            instance: self.instance.clone(),
            reg_id: self.reg_id,
            user_agent: self.user_agent.clone(),
            path: (!self.path.is_empty()).then(|| self.path.join(", ")),
        }
    }

    /// Rebuilds a binding from a stored row; `None` if the contact no longer parses.
    /// The flow is dropped: connection ids do not survive a restart.
    pub(crate) fn from_row(row: RegistrationRow) -> Option<Binding> {
        let contact = Uri::parse(&row.contact).ok()?;
        let path = row
            .path
            .map(|p| {
                p.split(", ")
                    .map(str::to_owned)
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        Some(Binding {
            aor: row.aor,
            contact,
            expires_at: row.expires_at,
            q: row.q,
            call_id: row.call_id,
            cseq: row.cseq,
            transport: Transport::from_token(&row.transport),
            source: row.source,
            local: row.local,
            flow: None,
            instance: row.instance,
            reg_id: row.reg_id,
            user_agent: row.user_agent,
            path,
        })
    }
}

/// Bindings per AOR.
#[derive(Debug, Default)]
pub(crate) struct Location {
    /// AOR → its bindings (never an empty vector: emptied AORs are removed).
    by_aor: HashMap<String, Vec<Binding>>,
    /// Total number of bindings, kept in step with `by_aor`.
    count: usize,
}

impl Location {
    /// The bindings of `aor` (expired ones included until swept).
    pub(crate) fn get(&self, aor: &str) -> &[Binding] {
        self.by_aor.get(aor).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Replaces the bindings of `aor`.
    pub(crate) fn replace(&mut self, aor: &str, bindings: Vec<Binding>) {
        let old = if bindings.is_empty() {
            self.by_aor.remove(aor)
        } else {
            self.count += bindings.len();
            self.by_aor.insert(aor.to_owned(), bindings)
        };
        self.count -= old.map_or(0, |v| v.len());
    }

    /// Removes the bindings expired at `now`; returns how many.
    pub(crate) fn sweep(&mut self, now: SystemTime) -> usize {
        let before = self.count;
        self.by_aor.retain(|_, list| {
            list.retain(|b| b.expires_at > now);
            !list.is_empty()
        });
        self.count = self.by_aor.values().map(Vec::len).sum();
        before - self.count
    }

    /// Total number of bindings.
    pub(crate) fn len(&self) -> usize {
        self.count
    }
}
