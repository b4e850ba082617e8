//! Time zones for `GotoIfTime` and `STRFTIME`: the system's local zone, UTC, fixed offsets
//! (`+02:00`, `UTC-5`), and named zones (`Europe/Berlin`, `America/New_York`) read from the
//! system's time zone database (`/usr/share/zoneinfo`, Debian's `tzdata`) with their daylight
//! saving rules.
//!
//! Named zones are loaded once per name and cached (a dialplan evaluates them on every call).
//! Names are checked before any file is opened: letters, digits, `_`, `+`, `-` and `/`
//! between components, never `..` or an absolute path, so a zone taken from a channel
//! variable cannot point at another file.
//!
//! Depends on: `chrono`, `tz-rs`, std.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, FixedOffset, Local, Offset, TimeZone as _, Utc};

/// Most named zones kept in the cache (a dialplan uses a handful).
const CACHE_LIMIT: usize = 64;

/// A time zone a dialplan names.
#[derive(Debug, Clone)]
pub enum Zone {
    /// The system's local zone (empty name or `local`).
    Local,
    /// A fixed offset from UTC (UTC itself is offset 0).
    Fixed(FixedOffset),
    /// A zone of the time zone database, or a POSIX TZ string.
    Named(Arc<tz::TimeZone>),
}

/// A zone name that is neither an offset nor a zone the system knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown time zone `{name}` (use local, UTC, an offset like +02:00, or a tz database name like Europe/Berlin)")]
pub struct ZoneError {
    /// The refused name.
    pub name: String,
}

impl Zone {
    /// Parses a zone name as written in a dialplan.
    pub fn parse(name: &str) -> Result<Zone, ZoneError> {
        let n = name.trim();
        if n.is_empty() || n.eq_ignore_ascii_case("local") {
            return Ok(Zone::Local);
        }
        let upper = n.to_ascii_uppercase();
        if matches!(upper.as_str(), "UTC" | "GMT" | "Z" | "ETC/UTC" | "ETC/GMT") {
            return Ok(Zone::Fixed(Utc.fix()));
        }
        let offset = upper
            .strip_prefix("UTC")
            .or_else(|| upper.strip_prefix("GMT"))
            .unwrap_or(&upper);
        if offset.starts_with(['+', '-']) {
            return fixed_offset(offset)
                .map(Zone::Fixed)
                .ok_or_else(|| ZoneError { name: n.to_owned() });
        }
        named(n)
            .map(Zone::Named)
            .ok_or_else(|| ZoneError { name: n.to_owned() })
    }

    /// The offset from UTC in force at `t`.
    pub fn offset_at(&self, t: DateTime<Utc>) -> FixedOffset {
        match self {
            Zone::Local => Local.offset_from_utc_datetime(&t.naive_utc()).fix(),
            Zone::Fixed(offset) => *offset,
            Zone::Named(zone) => zone
                .find_local_time_type(t.timestamp())
                .ok()
                .and_then(|lt| FixedOffset::east_opt(lt.ut_offset()))
                .unwrap_or_else(|| Utc.fix()),
        }
    }

    /// `t` as a date-time in this zone.
    pub fn local_time(&self, t: DateTime<Utc>) -> DateTime<FixedOffset> {
        t.with_timezone(&self.offset_at(t))
    }
}

/// `+HH:MM`, `-HH:MM`, `+HHMM`, `+HH` or `+H`.
fn fixed_offset(text: &str) -> Option<FixedOffset> {
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|&c| c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) || !matches!(digits.len(), 1 | 2 | 4) {
        return None;
    }
    let (h, m) = digits.split_at(digits.len().min(2));
    let hours: i32 = h.parse().ok()?;
    let minutes: i32 = if m.is_empty() { 0 } else { m.parse().ok()? };
    if hours > 14 || minutes > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

/// Whether `name` may be looked up: tz database names and POSIX TZ strings only.
fn safe_name(name: &str) -> bool {
    !name.starts_with('/')
        && name.len() <= 64
        && name.split('/').all(|part| !part.is_empty() && part != "..")
        && name.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '_' | '+' | '-' | '/' | ',' | '.' | ':' | '<' | '>')
        })
}

/// A named zone from the cache or the system's database.
fn named(name: &str) -> Option<Arc<tz::TimeZone>> {
    if !safe_name(name) {
        return None;
    }
    static CACHE: OnceLock<Mutex<HashMap<String, Option<Arc<tz::TimeZone>>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    if let Some(hit) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(name) {
        return hit.clone();
    }
    let loaded = tz::TimeZone::from_posix_tz(name).ok().map(Arc::new);
    let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
    if map.len() >= CACHE_LIMIT {
        map.clear();
    }
    map.insert(name.to_owned(), loaded.clone());
    loaded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap_or_default()
    }

    #[test]
    fn offsets_and_utc() {
        let t = at(1_700_000_000);
        for (name, secs) in [
            ("UTC", 0),
            ("gmt", 0),
            ("+02:00", 7200),
            ("-0530", -19800),
            ("UTC+3", 10800),
            ("GMT-5", -18000),
        ] {
            let zone = Zone::parse(name).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(zone.offset_at(t).local_minus_utc(), secs, "{name}");
        }
        for bad in [
            "+15",
            "+1:75",
            "Nowhere/Land",
            "../../etc/passwd",
            "/etc/localtime",
        ] {
            assert!(Zone::parse(bad).is_err(), "{bad}");
        }
    }

    /// A POSIX TZ string has daylight saving time without any database.
    #[test]
    fn posix_rules_follow_daylight_saving() {
        let zone = Zone::parse("CET-1CEST,M3.5.0,M10.5.0/3").unwrap_or_else(|e| panic!("{e}"));
        // 2024-01-15 12:00 UTC: winter, +1; 2024-07-15 12:00 UTC: summer, +2.
        assert_eq!(zone.offset_at(at(1_705_320_000)).local_minus_utc(), 3600);
        assert_eq!(zone.offset_at(at(1_721_044_800)).local_minus_utc(), 7200);
    }

    /// Named zones come from the system database (Debian's tzdata, installed by CI).
    #[test]
    fn named_zones_from_the_database() {
        let zone = Zone::parse("America/New_York").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            zone.offset_at(at(1_705_320_000)).local_minus_utc(),
            -5 * 3600
        );
        assert_eq!(
            zone.offset_at(at(1_721_044_800)).local_minus_utc(),
            -4 * 3600
        );
    }
}
