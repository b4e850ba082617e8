//! Challenge issuing and credential verification.
//!
//! Nonces are self-validating, so no state is kept per challenge:
//! `nonce = hex(issued_ms:8 || random:8 || HMAC-SHA256(secret, issued_ms || random || realm)[..16])`.
//! The secret is drawn at start-up, so nonces from before a restart fail validation and are
//! answered as stale (the client retries without prompting the user).
//!
//! State is kept only for nonces that were *used*: the highest nonce count seen
//! (RFC 2617 §3.2.2, "nc"). That map is bounded; when full the oldest-issued entry is dropped
//! and every nonce issued at or before it is thereafter treated as stale, so an evicted nonce
//! cannot be replayed.
//!
//! ```text
//!  verify:  realm? ─ algorithm? ─ qop/nc/cnonce? ─ uri? ─ user? ─ response? ─ nonce fresh? ─ nc increased?
//!            │          │              │             │      │         │            │              │
//!      RealmMismatch Unsupported*  QopRequired/  UriMismatch │   WrongPassword    Stale          Replay
//!                                  Malformed            UnknownUser
//! ```

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

use super::{
    constant_time_eq, digest_response, from_hex, to_hex, Algorithm, AuthError, Credentials,
};

/// Default nonce lifetime: long enough for a slow human-operated client, short enough that
/// a captured nonce is soon useless.
pub const DEFAULT_NONCE_TTL: Duration = Duration::from_secs(300);

/// Default number of used nonces whose count is remembered (≈ 150 bytes each).
pub const DEFAULT_TRACKED_NONCES: usize = 65_536;

/// Length of the truncated HMAC in a nonce.
const MAC_LEN: usize = 16;
/// Length of the clear part of a nonce: issue time (8) + random (8).
const STAMP_LEN: usize = 16;

/// What the credentials must match: the realm we serve and the request they authorise.
#[derive(Debug, Clone, Copy)]
pub struct DigestTarget<'a> {
    /// Our realm.
    pub realm: &'a str,
    /// Request method (`REGISTER`, `INVITE`...), the `A2` method (RFC 2617 §3.2.2.3).
    pub method: &'a str,
    /// The Request-URI as a string; the digest-uri must equal it.
    pub uri: &'a str,
}

/// Issues digest challenges and verifies credentials (one per server, shared by reference).
pub struct DigestChallenger {
    /// HMAC key drawn at start-up; authenticates our nonces.
    key: hmac::Key,
    /// Random source for nonce uniqueness.
    rng: SystemRandom,
    /// How long a nonce is accepted after issue.
    nonce_ttl: Duration,
    /// Highest nonce count per used nonce. A std Mutex: the critical section is a few map
    /// operations with no await, taken once per authenticated request.
    counts: Mutex<NonceCounts>,
}

impl std::fmt::Debug for DigestChallenger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DigestChallenger")
            .field("nonce_ttl", &self.nonce_ttl)
            .finish_non_exhaustive()
    }
}

impl DigestChallenger {
    /// A challenger with a fresh random secret, nonces valid for `nonce_ttl`, remembering
    /// the counts of at most `tracked_nonces` used nonces.
    pub fn new(nonce_ttl: Duration, tracked_nonces: usize) -> Result<DigestChallenger, AuthError> {
        let rng = SystemRandom::new();
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &rng).map_err(|_| AuthError::Rng)?;
        Ok(DigestChallenger {
            key,
            rng,
            nonce_ttl,
            counts: Mutex::new(NonceCounts::new(tracked_nonces.max(1))),
        })
    }

    /// The nonce lifetime.
    pub fn nonce_ttl(&self) -> Duration {
        self.nonce_ttl
    }

    /// Challenge header values (`WWW-Authenticate` or `Proxy-Authenticate`), one per
    /// algorithm in the given order, sharing one fresh nonce. Pass SHA-256 first and MD5
    /// second (RFC 8760 §2.4: most preferred first; MD5 for older phones).
    pub fn challenge(
        &self,
        realm: &str,
        stale: bool,
        algorithms: &[Algorithm],
        now: SystemTime,
    ) -> Vec<String> {
        let nonce = self.new_nonce(realm, now);
        let realm = quote(realm);
        algorithms
            .iter()
            .map(|alg| {
                let mut value = format!(
                    "Digest realm={realm}, nonce=\"{nonce}\", algorithm={alg}, qop=\"auth\""
                );
                if stale {
                    value.push_str(", stale=true");
                }
                value
            })
            .collect()
    }

    /// Verifies `creds` for `target`. `ha1_lookup(username, algorithm)` returns the stored
    /// HA1 for that algorithm, or `None` if the user is unknown.
    pub fn verify(
        &self,
        creds: &Credentials,
        target: &DigestTarget<'_>,
        ha1_lookup: impl FnOnce(&str, Algorithm) -> Option<String>,
        now: SystemTime,
    ) -> Result<Algorithm, AuthError> {
        if creds.realm != target.realm {
            return Err(AuthError::RealmMismatch);
        }
        // RFC 2617 §3.2.1: an absent algorithm means MD5.
        let alg = match &creds.algorithm {
            None => Algorithm::Md5,
            Some(token) => Algorithm::from_token(token).ok_or(AuthError::UnsupportedAlgorithm)?,
        };
        if creds.userhash {
            return Err(AuthError::UnsupportedAlgorithm);
        }
        let (nc_text, nc, cnonce) = check_qop(creds)?;
        // RFC 2617 §3.2.2.5: the digest-uri must name the requested resource.
        if creds.uri != target.uri {
            return Err(AuthError::UriMismatch);
        }
        let ha1 = ha1_lookup(&creds.username, alg).ok_or(AuthError::UnknownUser)?;
        let expected = digest_response(
            alg,
            &ha1,
            &creds.nonce,
            nc_text,
            cnonce,
            target.method,
            &creds.uri,
        );
        let given = creds.response.to_ascii_lowercase();
        if !constant_time_eq(expected.as_bytes(), given.as_bytes()) {
            return Err(AuthError::WrongPassword);
        }
        // RFC 2617 §3.2.1 (stale): only once the response is known to be right.
        let issued_ms = self.check_nonce(&creds.nonce, target.realm, now)?;
        let now_ms = unix_ms(now);
        let ttl_ms = u64::try_from(self.nonce_ttl.as_millis()).unwrap_or(u64::MAX);
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .record(issued_ms, &creds.nonce, nc, now_ms.saturating_sub(ttl_ms))?;
        Ok(alg)
    }

    /// Makes a nonce bound to `realm` and the issue time.
    fn new_nonce(&self, realm: &str, now: SystemTime) -> String {
        let mut stamp = [0u8; STAMP_LEN];
        stamp[..8].copy_from_slice(&unix_ms(now).to_be_bytes());
        // A failing system RNG leaves the random half zero; the nonce is still authenticated
        // by the MAC and unique per millisecond.
        if self.rng.fill(&mut stamp[8..]).is_err() {
            tracing::warn!("system random generator failed while making a nonce");
        }
        let tag = self.mac(&stamp, realm);
        let mut nonce = to_hex(&stamp);
        nonce.push_str(&to_hex(&tag.as_ref()[..MAC_LEN]));
        nonce
    }

    fn mac(&self, stamp: &[u8], realm: &str) -> hmac::Tag {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(stamp);
        ctx.update(realm.as_bytes());
        ctx.sign()
    }

    /// Checks that the nonce is ours for `realm` and not expired; returns its issue time.
    fn check_nonce(&self, nonce: &str, realm: &str, now: SystemTime) -> Result<u64, AuthError> {
        let raw = from_hex(nonce).ok_or(AuthError::Stale)?;
        if raw.len() != STAMP_LEN + MAC_LEN {
            return Err(AuthError::Stale);
        }
        let (stamp, tag) = raw.split_at(STAMP_LEN);
        let expected = self.mac(stamp, realm);
        if !constant_time_eq(&expected.as_ref()[..MAC_LEN], tag) {
            // Not ours (e.g. issued before a restart): stale, so the client re-authenticates.
            return Err(AuthError::Stale);
        }
        let mut time = [0u8; 8];
        time.copy_from_slice(&stamp[..8]);
        let issued_ms = u64::from_be_bytes(time);
        let now_ms = unix_ms(now);
        let ttl_ms = u64::try_from(self.nonce_ttl.as_millis()).unwrap_or(u64::MAX);
        // A nonce "from the future" (clock stepped back) is also refused as stale.
        if issued_ms > now_ms || now_ms - issued_ms > ttl_ms {
            return Err(AuthError::Stale);
        }
        Ok(issued_ms)
    }
}

/// Validates qop/nc/cnonce; returns the nc text, its value and the cnonce.
fn check_qop(creds: &Credentials) -> Result<(&str, u32, &str), AuthError> {
    let qop = creds.qop.as_deref().ok_or(AuthError::QopRequired)?;
    if !qop.eq_ignore_ascii_case("auth") {
        return Err(AuthError::UnsupportedQop);
    }
    let nc_text = creds
        .nc
        .as_deref()
        .ok_or(AuthError::Malformed("qop without nc"))?;
    // RFC 2617 §3.2.2: nc-value = 8LHEX.
    if nc_text.len() != 8 {
        return Err(AuthError::Malformed("nc is not 8 hex digits"));
    }
    let nc = u32::from_str_radix(nc_text, 16).map_err(|_| AuthError::Malformed("nc is not hex"))?;
    let cnonce = creds.cnonce.as_deref().filter(|c| !c.is_empty());
    let cnonce = cnonce.ok_or(AuthError::Malformed("qop without cnonce"))?;
    Ok((nc_text, nc, cnonce))
}

/// Highest nonce count per used nonce, ordered by issue time so the oldest go first.
#[derive(Debug)]
struct NonceCounts {
    /// (issue ms, nonce) → highest nc accepted.
    map: BTreeMap<(u64, String), u32>,
    /// Maximum entries.
    capacity: usize,
    /// Issue time of the newest entry dropped for capacity: unknown nonces issued at or
    /// before it may have been used already, so they are treated as stale.
    evicted_up_to: Option<u64>,
}

impl NonceCounts {
    fn new(capacity: usize) -> NonceCounts {
        NonceCounts {
            map: BTreeMap::new(),
            capacity,
            evicted_up_to: None,
        }
    }

    /// Accepts `nc` for `nonce` if it is higher than any seen before (RFC 2617 §3.2.2).
    /// Entries issued before `expired_before` are pruned (those nonces fail as stale anyway).
    fn record(
        &mut self,
        issued_ms: u64,
        nonce: &str,
        nc: u32,
        expired_before: u64,
    ) -> Result<(), AuthError> {
        while let Some(entry) = self.map.first_entry() {
            if entry.key().0 >= expired_before {
                break;
            }
            entry.remove();
        }
        let key = (issued_ms, nonce.to_owned());
        if let Some(highest) = self.map.get_mut(&key) {
            if nc <= *highest {
                return Err(AuthError::Replay);
            }
            *highest = nc;
            return Ok(());
        }
        if self.evicted_up_to.is_some_and(|t| issued_ms <= t) {
            return Err(AuthError::Stale);
        }
        self.map.insert(key, nc);
        while self.map.len() > self.capacity {
            if let Some(((t, _), _)) = self.map.pop_first() {
                self.evicted_up_to = Some(self.evicted_up_to.map_or(t, |old| old.max(t)));
            }
        }
        Ok(())
    }
}

/// Milliseconds since the Unix epoch (0 before it).
fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// A quoted-string (RFC 3261 §25.1) with `"` and `\` escaped.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
pub(super) fn nonce_counts_for_test(
    capacity: usize,
) -> impl FnMut(u64, &str, u32) -> Result<(), AuthError> {
    let mut counts = NonceCounts::new(capacity);
    move |issued, nonce, nc| counts.record(issued, nonce, nc, 0)
}
