//! Secrets: argon2id password hashes (PHC strings, computed off the async runtime with
//! `spawn_blocking`), random session ids / CSRF tokens / API tokens / first-start passwords
//! from the system generator (`ring`), and SHA-256 of API tokens (what the database keeps).
//!
//! Depends on: argon2, ring, tokio.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use ring::rand::{SecureRandom, SystemRandom};

use super::error::WebError;

/// Prefix of API tokens, so a leaked one is recognisable in logs and secret scanners.
pub const TOKEN_PREFIX: &str = "sbt_";

/// Characters of generated passwords (no look-alikes: 0/O, 1/l/I).
const PASSWORD_ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// Length of a generated first-start password (≈ 117 bits).
const PASSWORD_LEN: usize = 20;

/// The argon2 cost used for new hashes. Verification always uses the parameters stored in
/// the hash itself, so a change here applies to passwords set from then on.
#[derive(Debug, Clone)]
pub struct PasswordPolicy {
    params: Params,
}

impl Default for PasswordPolicy {
    /// argon2id, 19 MiB, 2 passes, 1 lane: the OWASP password storage recommendation.
    fn default() -> PasswordPolicy {
        PasswordPolicy {
            params: Params::default(),
        }
    }
}

impl PasswordPolicy {
    /// The cheapest argon2 parameters (8 KiB, 1 pass): for tests only, where hundreds of
    /// hashes would otherwise dominate the run time.
    pub fn fast_for_tests() -> PasswordPolicy {
        PasswordPolicy {
            params: Params::new(8, 1, 1, None).unwrap_or_default(),
        }
    }

    /// Hashes `password` into a PHC string (`$argon2id$v=19$...`) with a fresh random salt,
    /// on a blocking thread.
    pub async fn hash(&self, password: &str) -> Result<String, WebError> {
        let params = self.params.clone();
        let password = password.to_owned();
        let mut salt = [0u8; 16];
        fill_random(&mut salt)?;
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::encode_b64(&salt)?;
            let hash = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                .hash_password(password.as_bytes(), &salt)?;
            Ok(hash.to_string())
        })
        .await?
    }
}

/// Whether `password` matches the PHC string `hash`, computed on a blocking thread. A hash
/// that does not parse is an error (a corrupt row), a mismatch is `Ok(false)`.
pub async fn verify(password: &str, hash: &str) -> Result<bool, WebError> {
    let password = password.to_owned();
    let hash = hash.to_owned();
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&hash)?;
        match Argon2::default().verify_password(password.as_bytes(), &parsed) {
            Ok(()) => Ok(true),
            Err(argon2::password_hash::Error::Password) => Ok(false),
            Err(e) => Err(WebError::Hash(e)),
        }
    })
    .await?
}

/// Fills `buf` from the operating system's generator.
pub fn fill_random(buf: &mut [u8]) -> Result<(), WebError> {
    SystemRandom::new().fill(buf).map_err(|_| WebError::Random)
}

/// 256 random bits as 64 lower-case hex digits (session ids, CSRF tokens).
pub fn random_hex256() -> Result<String, WebError> {
    let mut bytes = [0u8; 32];
    fill_random(&mut bytes)?;
    Ok(hex(&bytes))
}

/// A new API token: [`TOKEN_PREFIX`] + 256 random bits in hex.
pub fn new_api_token() -> Result<String, WebError> {
    Ok(format!("{TOKEN_PREFIX}{}", random_hex256()?))
}

/// A random password of [`PASSWORD_LEN`] characters from an unambiguous alphabet.
pub fn random_password() -> Result<String, WebError> {
    let mut bytes = [0u8; PASSWORD_LEN];
    fill_random(&mut bytes)?;
    // 256 is not a multiple of the alphabet's size: the bias (< 1 %) costs well under a bit.
    Ok(bytes
        .iter()
        .map(|b| char::from(PASSWORD_ALPHABET[usize::from(*b) % PASSWORD_ALPHABET.len()]))
        .collect())
}

/// SHA-256 of `token` in lower-case hex: what `api_tokens.token_sha256` stores.
pub fn token_digest(token: &str) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, token.as_bytes()).as_ref())
}

/// Constant-time comparison of two secrets (CSRF tokens).
pub fn secrets_equal(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
#[path = "password_tests.rs"]
mod tests;
