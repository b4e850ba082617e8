//! Identifiers of the switch core: channels, bridges, calls, and the linkedid that ties
//! every channel of one conversation together.
//!
//! Ids are random UUID v4 texts (RFC 9562 §5.4) drawn from the OS generator through
//! `ring::rand`. Every channel also gets a process-wide creation ordinal, strictly
//! increasing, which orders channels by age: that is what "the oldest linkedid wins"
//! compares (Asterisk compares the creation time embedded in its uniqueids; a counter
//! gives the same order without ties). Depends on nothing else in the crate.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use ring::rand::{SecureRandom, SystemRandom};

/// Sixteen random bytes; should the OS generator fail, a process counter mixed with the
/// clock (still unique within the process, just not unpredictable).
fn random_bytes() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    if SystemRandom::new().fill(&mut bytes).is_err() {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let count = COUNTER.fetch_add(1, Ordering::Relaxed);
        bytes[..8].copy_from_slice(&nanos.to_be_bytes());
        bytes[8..].copy_from_slice(&count.to_be_bytes());
    }
    bytes
}

/// A fresh UUID v4 in its canonical 36-character lower-case text form.
pub fn new_uuid() -> String {
    let mut b = random_bytes();
    // RFC 9562 §5.4: version 4 in the high nibble of byte 6, variant 0b10 in byte 8.
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut out = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from_digit(u32::from(byte >> 4), 16).unwrap_or('0'));
        out.push(char::from_digit(u32::from(byte & 0x0f), 16).unwrap_or('0'));
    }
    out
}

/// The next creation ordinal: strictly increasing within the process, starting at 1.
pub fn next_ordinal() -> u64 {
    static ORDINAL: AtomicU64 = AtomicU64::new(1);
    ORDINAL.fetch_add(1, Ordering::Relaxed)
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Arc<str>);

        impl $name {
            /// A fresh random (UUID v4) id.
            pub fn new() -> Self {
                Self(Arc::from(new_uuid()))
            }

            /// Wraps an existing id text (e.g. read back from a database).
            pub fn from_string(text: impl Into<Arc<str>>) -> Self {
                Self(text.into())
            }

            /// The id text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }
    };
}

uuid_id!(
    /// One channel (one SIP leg). Cheap to clone (shared text).
    ChannelId
);
uuid_id!(
    /// One bridge (media join of two or more channels).
    BridgeId
);
uuid_id!(
    /// One `Call` (the B2BUA glue owning an inbound channel and its dial attempts).
    CallId
);

/// The identifier shared by every channel of one conversation (Asterisk's `linkedid`).
///
/// It is the uniqueid of the channel that started the conversation plus that channel's
/// creation ordinal; ordering compares the ordinal, so `min()` over linkedids picks the
/// oldest one (DESIGN: "when two channels are bridged, the oldest linkedid wins").
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct LinkedId {
    origin: ChannelId,
    ordinal: u64,
}

impl LinkedId {
    /// The linkedid a new channel starts with: its own id and creation ordinal.
    pub fn new(origin: ChannelId, ordinal: u64) -> Self {
        Self { origin, ordinal }
    }

    /// The uniqueid of the channel the conversation started with (what CDRs store).
    pub fn origin(&self) -> &ChannelId {
        &self.origin
    }

    /// The creation ordinal of that channel (smaller is older).
    pub fn ordinal(&self) -> u64 {
        self.ordinal
    }

    /// The id text, as written in CDRs.
    pub fn as_str(&self) -> &str {
        self.origin.as_str()
    }

    /// Whether `self` is older than `other` (and so wins when both meet in a bridge).
    pub fn is_older_than(&self, other: &LinkedId) -> bool {
        self < other
    }
}

impl PartialOrd for LinkedId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for LinkedId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.ordinal
            .cmp(&other.ordinal)
            .then_with(|| self.origin.cmp(&other.origin))
    }
}

impl fmt::Display for LinkedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.origin.as_str())
    }
}

impl fmt::Debug for LinkedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LinkedId({}#{})", self.origin.as_str(), self.ordinal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_v4_shape() {
        let u = new_uuid();
        assert_eq!(u.len(), 36);
        let parts: Vec<&str> = u.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'), "version nibble: {u}");
        assert!(
            matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'),
            "variant: {u}"
        );
        assert!(u.bytes().all(|c| c == b'-' || c.is_ascii_hexdigit()));
        assert_ne!(ChannelId::new(), ChannelId::new());
    }

    #[test]
    fn ordinals_increase_and_linkedid_orders_by_age() {
        let a = next_ordinal();
        let b = next_ordinal();
        assert!(b > a);
        let old = LinkedId::new(ChannelId::new(), a);
        let young = LinkedId::new(ChannelId::new(), b);
        assert!(old.is_older_than(&young));
        assert!(!young.is_older_than(&old));
        assert_eq!(std::cmp::min(young.clone(), old.clone()), old);
        assert_eq!(old.to_string(), old.origin().as_str());
    }
}
