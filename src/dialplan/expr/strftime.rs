//! `STRFTIME([epoch][,timezone[,format]])`: formats a Unix time with chrono's
//! strftime-compatible specifiers. Uses only chrono and the parent's error type.
//!
//! Time zones ([`crate::dialplan::zone`]): empty or `local` (the system zone), `UTC`/`GMT`/`Z`,
//! fixed offsets `+HH`, `+HHMM`, `+HH:MM` (optionally prefixed `UTC`/`GMT`), and tz database
//! names such as `Europe/Paris`; anything else is [`ExprError::UnsupportedTimezone`].
//! Asterisk's `%q` (fractional seconds) is chrono's `%3f`; `%Z` prints the offset.

use std::time::{SystemTime, UNIX_EPOCH};

use chrono::format::{Item, StrftimeItems};
use chrono::{DateTime, Utc};

use super::ExprError;
use crate::dialplan::zone::Zone;

/// Asterisk's default format when none is given.
const DEFAULT_FORMAT: &str = "%c";

/// Evaluates STRFTIME's argument text (already expanded) at `now`.
pub(super) fn strftime(args: &str, now: SystemTime) -> Result<String, ExprError> {
    let mut parts = args.splitn(3, ',');
    let epoch = parts.next().unwrap_or("").trim();
    let zone = parse_zone(parts.next().unwrap_or(""))?;
    let format = match parts.next() {
        Some(f) if !f.is_empty() => strip_quotes(f),
        _ => DEFAULT_FORMAT,
    };
    let time = if epoch.is_empty() {
        let d = now.duration_since(UNIX_EPOCH).unwrap_or_default();
        let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        DateTime::<Utc>::from_timestamp(secs, d.subsec_nanos())
    } else {
        parse_epoch(epoch)
    }
    .ok_or_else(|| ExprError::BadTime {
        value: epoch.to_owned(),
    })?;
    format_time(time, zone, format)
}

/// Removes one pair of surrounding double quotes (Asterisk strips quoted arguments).
fn strip_quotes(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(s)
}

/// `1700000000` or `1700000000.25` (also negative) as a UTC time.
fn parse_epoch(text: &str) -> Option<DateTime<Utc>> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: i64 = int.parse().ok()?;
    let digits = frac.get(..9).unwrap_or(frac);
    let nanos = if digits.is_empty() {
        0
    } else {
        let n: u32 = digits.parse().ok()?;
        let pad = u32::try_from(9 - digits.len()).ok()?;
        n * 10u32.pow(pad)
    };
    if text.starts_with('-') && nanos > 0 {
        return DateTime::<Utc>::from_timestamp(secs - 1, 1_000_000_000 - nanos);
    }
    DateTime::<Utc>::from_timestamp(secs, nanos)
}

/// Parses STRFTIME's time zone argument.
pub(super) fn parse_zone(name: &str) -> Result<Zone, ExprError> {
    Zone::parse(name).map_err(|e| ExprError::UnsupportedTimezone { name: e.name })
}

/// Formats `time` in `zone`, refusing invalid specifiers (chrono would panic on them).
fn format_time(time: DateTime<Utc>, zone: Zone, format: &str) -> Result<String, ExprError> {
    let items: Vec<Item<'_>> =
        StrftimeItems::new(format)
            .parse()
            .map_err(|_| ExprError::BadFormat {
                format: format.to_owned(),
            })?;
    Ok(zone
        .local_time(time)
        .format_with_items(items.iter())
        .to_string())
}
