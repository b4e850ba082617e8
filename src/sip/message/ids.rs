//! Random identifiers: Via branches with the RFC 3261 §8.1.1.7 magic cookie, tags
//! (§19.3, at least 32 bits of randomness) and Call-IDs (§8.1.1.4), from the operating
//! system's CSPRNG (`ring::rand::SystemRandom`). Depends on nothing else in the crate.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use ring::rand::{SecureRandom, SystemRandom};

/// The RFC 3261 §8.1.1.7 branch prefix.
pub const BRANCH_COOKIE: &str = "z9hG4bK";

/// `n` random bytes as lower-case hex. Should the OS generator fail, falls back to a
/// process counter mixed with the clock (still unique, not unpredictable).
fn random_hex<const N: usize>() -> String {
    let mut bytes = [0u8; N];
    if SystemRandom::new().fill(&mut bytes).is_err() {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let mix = nanos ^ COUNTER.fetch_add(1, Ordering::Relaxed).rotate_left(32);
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (mix >> ((i % 8) * 8)) as u8 ^ (i as u8);
        }
    }
    let mut out = String::with_capacity(N * 2);
    for b in bytes {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

/// A new Via branch: `z9hG4bK` followed by 96 random bits.
pub fn new_branch() -> String {
    let mut s = String::from(BRANCH_COOKIE);
    s.push_str(&random_hex::<12>());
    s
}

/// A new From/To tag (64 random bits).
pub fn new_tag() -> String {
    random_hex::<8>()
}

/// A new Call-ID (128 random bits).
pub fn new_call_id() -> String {
    random_hex::<16>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_right_shape_and_differ() {
        let b = new_branch();
        assert!(b.starts_with(BRANCH_COOKIE) && b.len() == 7 + 24);
        assert_ne!(new_branch(), b);
        assert_eq!(new_tag().len(), 16);
        assert_eq!(new_call_id().len(), 32);
        assert!(new_call_id().bytes().all(|c| c.is_ascii_hexdigit()));
    }
}
