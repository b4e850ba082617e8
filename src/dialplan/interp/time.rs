//! `GotoIfTime` conditions: `times,weekdays,mdays,months[,timezone]`, each field `*` or
//! `&`-separated values and ranges (`09:00-17:00`, `mon-fri`, `1-15`, `jan-mar`; ranges
//! may wrap, `22:00-06:00`, `fri-mon`). Time zones: see [`crate::dialplan::zone`] (local,
//! UTC, fixed offsets, tz database names such as `Europe/Berlin`).
//!
//! ```text
//!  condition ──split ','──► fields ──each: '*' | range ('&' range)*──► all match? ──► bool
//!  now ──zone──► (minute of day, weekday, day of month, month)
//! ```
//!
//! Depends on: `chrono`, std. Errors are plain descriptions the caller wraps.

use std::time::SystemTime;

use chrono::{DateTime, Datelike, Timelike, Utc};

use crate::dialplan::zone::Zone;

/// Weekday names, Sunday first (Asterisk's order).
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// Month names, January first.
const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// The calendar values a condition is checked against.
struct Parts {
    /// Minutes since midnight.
    minute: u32,
    /// 0 = Sunday.
    weekday: u32,
    /// 1..=31.
    mday: u32,
    /// 1..=12.
    month: u32,
}

/// Whether `now` satisfies `condition`.
pub(crate) fn matches(condition: &str, now: SystemTime) -> Result<bool, String> {
    let fields: Vec<&str> = condition.split(',').map(str::trim).collect();
    if fields.len() < 4 || fields.len() > 5 {
        return Err(format!(
            "`{condition}` needs times,weekdays,mdays,months[,timezone]"
        ));
    }
    let parts = parts(now, fields.get(4).copied().unwrap_or(""))?;
    Ok(field(fields[0], parts.minute, minute_of_day)?
        && field(fields[1], parts.weekday, |s| name_index(s, &DAYS, 0))?
        && field(fields[2], parts.mday, day_of_month)?
        && field(fields[3], parts.month, |s| name_index(s, &MONTHS, 1))?)
}

/// The calendar values of `now` in `zone`.
fn parts(now: SystemTime, zone: &str) -> Result<Parts, String> {
    let utc: DateTime<Utc> = now.into();
    let zone = Zone::parse(zone).map_err(|e| e.to_string())?;
    Ok(of(&zone.local_time(utc)))
}

/// The calendar values of a date-time in any zone.
fn of<T: Datelike + Timelike>(t: &T) -> Parts {
    Parts {
        minute: t.hour() * 60 + t.minute(),
        weekday: t.weekday().num_days_from_sunday(),
        mday: t.day(),
        month: t.month(),
    }
}

/// Whether `value` is in `spec` (`*`, or `&`-separated values / `a-b` ranges).
fn field(spec: &str, value: u32, parse: impl Fn(&str) -> Option<u32>) -> Result<bool, String> {
    if spec.is_empty() || spec == "*" {
        return Ok(true);
    }
    for item in spec.split('&') {
        let (lo, hi) = match item.split_once('-') {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (item.trim(), item.trim()),
        };
        let (Some(lo), Some(hi)) = (parse(lo), parse(hi)) else {
            return Err(format!("bad time condition item `{item}`"));
        };
        let inside = if lo <= hi {
            (lo..=hi).contains(&value)
        } else {
            value >= lo || value <= hi
        };
        if inside {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `HH:MM` as minutes since midnight.
fn minute_of_day(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    let (h, m) = (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// A day of the month, 1..=31.
fn day_of_month(s: &str) -> Option<u32> {
    s.parse::<u32>().ok().filter(|d| (1..=31).contains(d))
}

/// The position of a three-letter name (case-insensitive), plus `base`.
fn name_index(s: &str, names: &[&str], base: u32) -> Option<u32> {
    let s = s.get(..3)?;
    names
        .iter()
        .position(|n| n.eq_ignore_ascii_case(s))
        .and_then(|i| u32::try_from(i).ok())
        .map(|i| i + base)
}
