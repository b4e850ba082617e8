//! Party A selection for two channels meeting in a bridge without a dial between them
//! (Asterisk CDR specification, seed 004): (1) a dialed channel is never Party A against
//! a channel that was not dialed; (2) a channel flagged as Party A wins against one that
//! is not; (3) otherwise the channel created first (lower creation ordinal).
//!
//! The flag is the channel variable [`PARTY_A_VARIABLE`] (`CDR_PARTY_A`), the switch's
//! spelling of Asterisk's `CDR(party_a)=1`; `1`, `yes`, `true` and `on` (any case) set it.
//! In a dial the caller is always Party A whatever the flags say.
//!
//! Depends on `switch::channel`.

use crate::switch::channel::ChannelSnapshot;

/// The channel variable that flags a channel as Party A (`CDR_PARTY_A=1`).
pub const PARTY_A_VARIABLE: &str = "CDR_PARTY_A";

/// Whether the channel is a dial attempt (created by a dial: it has an originator).
pub(super) fn is_dialed(c: &ChannelSnapshot) -> bool {
    c.originator.is_some()
}

/// Whether the channel carries the Party A flag.
pub(super) fn is_flagged(c: &ChannelSnapshot) -> bool {
    c.var(PARTY_A_VARIABLE).is_some_and(|v| {
        ["1", "yes", "true", "on"]
            .iter()
            .any(|t| v.trim().eq_ignore_ascii_case(t))
    })
}

/// Whether `x` is Party A of the pair `(x, y)` by the rules in the module docs.
pub(super) fn is_party_a(x: &ChannelSnapshot, y: &ChannelSnapshot) -> bool {
    match (is_dialed(x), is_dialed(y)) {
        (false, true) => return true,
        (true, false) => return false,
        _ => {}
    }
    match (is_flagged(x), is_flagged(y)) {
        (true, false) => return true,
        (false, true) => return false,
        _ => {}
    }
    x.ordinal < y.ordinal
}
