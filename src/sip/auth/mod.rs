//! HTTP Digest authentication for SIP (RFC 3261 §22.4 on top of RFC 2617 and RFC 7616),
//! with MD5 and SHA-256 (RFC 8760) and `qop=auth`.
//!
//! - [`ha1`] computes the stored secret `H(username:realm:password)`; only HA1 values are
//!   ever stored or logged, never passwords.
//! - [`DigestChallenger`] issues challenges (`WWW-Authenticate` / `Proxy-Authenticate`
//!   values) with self-validating, expiring nonces and verifies [`Credentials`] parsed by
//!   [`parse_authorization`], with nonce-count replay protection.
//!
//! Decision on RFC 2069 compatibility (no `qop`): refused ([`AuthError::QopRequired`]).
//! Every challenge we send offers `qop="auth"`, RFC 7616 §3.3 makes `qop` mandatory, and the
//! clients this PBX targets (SIPp, Linphone/liblinphone, PJSIP, baresip, Zoiper, Yealink,
//! Grandstream, Polycom, Cisco SPA, Asterisk/FreeSWITCH as UAC) all answer with `qop=auth`.
//! Without `qop` there is no nonce count, so replay protection would be impossible.
//! Session variants (`MD5-sess`, `SHA-256-sess`), `auth-int` and `userhash` are not offered
//! and are refused.
//!
//! Depends on: nothing in the crate (string level); `ring` and `md-5` for hashing.

mod challenger;
mod credentials;

pub use challenger::{DigestChallenger, DigestTarget, DEFAULT_NONCE_TTL, DEFAULT_TRACKED_NONCES};
pub use credentials::{parse_authorization, Credentials};

use md5::{Digest, Md5};

/// Digest algorithms we support (RFC 7616 §3.3, RFC 8760).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `MD5`, the RFC 2617 default, still the only one many phones implement.
    Md5,
    /// `SHA-256` (RFC 7616, RFC 8760), preferred.
    Sha256,
}

impl Algorithm {
    /// The token used in the `algorithm` parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
        }
    }

    /// Parses an `algorithm` token, case-insensitively; `None` for unsupported ones.
    pub fn from_token(token: &str) -> Option<Algorithm> {
        if token.eq_ignore_ascii_case("MD5") {
            Some(Algorithm::Md5)
        } else if token.eq_ignore_ascii_case("SHA-256") {
            Some(Algorithm::Sha256)
        } else {
            None
        }
    }

    /// Lowercase hex digest of `data` (the `H()` of RFC 7616 §3.4.1).
    fn hex_digest(self, data: &[u8]) -> String {
        match self {
            Algorithm::Md5 => to_hex(&Md5::digest(data)),
            Algorithm::Sha256 => to_hex(ring::digest::digest(&ring::digest::SHA256, data).as_ref()),
        }
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why authentication failed. The caller maps these to SIP responses: [`AuthError::Stale`]
/// → 401/407 with `stale=true`; missing/malformed/replayed → a fresh challenge; wrong or
/// unknown user → 403 (or a fresh challenge).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The request carries no credentials for our realm.
    #[error("no credentials")]
    Missing,
    /// The header is not a Digest credential (e.g. `Basic`).
    #[error("credentials are not Digest")]
    NotDigest,
    /// The header does not follow the grammar, or a required parameter is missing/invalid.
    #[error("malformed credentials: {0}")]
    Malformed(&'static str),
    /// The user name is unknown in the realm.
    #[error("unknown user")]
    UnknownUser,
    /// The response does not match: wrong password (or mangled request).
    #[error("wrong password")]
    WrongPassword,
    /// The nonce expired, was issued before a restart, or is no longer tracked, but the
    /// response was right: challenge again with `stale=true` (RFC 2617 §3.2.1).
    #[error("stale nonce")]
    Stale,
    /// The nonce count did not increase: a replayed request (RFC 2617 §3.2.2).
    #[error("replayed nonce count")]
    Replay,
    /// The credentials are for another realm.
    #[error("realm mismatch")]
    RealmMismatch,
    /// The digest-uri is not the Request-URI (RFC 2617 §3.2.2.5).
    #[error("digest uri does not match the request uri")]
    UriMismatch,
    /// The algorithm is not MD5 or SHA-256 (or `userhash` was requested).
    #[error("unsupported algorithm")]
    UnsupportedAlgorithm,
    /// A `qop` other than `auth` (e.g. `auth-int`).
    #[error("unsupported qop")]
    UnsupportedQop,
    /// No `qop` (RFC 2069 style): refused, see the module documentation.
    #[error("qop is required")]
    QopRequired,
    /// The system random generator failed (creating the server secret).
    #[error("random generator failure")]
    Rng,
}

/// HA1 = `H(username ":" realm ":" password)` as lowercase hex (RFC 2617 §3.2.2.2,
/// RFC 7616 §3.4.2). This is what the `users` table stores.
pub fn ha1(alg: Algorithm, username: &str, realm: &str, password: &str) -> String {
    alg.hex_digest(format!("{username}:{realm}:{password}").as_bytes())
}

/// The `response` value for `qop=auth` (RFC 7616 §3.4.1): `KD(HA1, nonce:nc:cnonce:qop:HA2)`
/// with `HA2 = H(method:uri)`. Public so test clients can answer our challenges.
pub fn digest_response(
    alg: Algorithm,
    ha1: &str,
    nonce: &str,
    nc: &str,
    cnonce: &str,
    method: &str,
    uri: &str,
) -> String {
    let ha2 = alg.hex_digest(format!("{method}:{uri}").as_bytes());
    alg.hex_digest(format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}").as_bytes())
}

/// Lowercase hex encoding.
fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Decodes lowercase or uppercase hex; `None` on odd length or a non-hex digit.
fn from_hex(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if bytes.len() % 2 != 0 {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|pair| {
            let hi = char::from(pair[0]).to_digit(16)?;
            let lo = char::from(pair[1]).to_digit(16)?;
            u8::try_from(hi * 16 + lo).ok()
        })
        .collect()
}

/// Compares two byte strings in time independent of where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests;
