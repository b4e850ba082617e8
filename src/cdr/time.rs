//! Time rendering and parsing for CDRs: UTC ISO-8601 with milliseconds (stored and exported
//! times), the local `YYYY-MM-DD HH:MM:SS` of the CTI platform and Asterisk's `Master.csv`,
//! the local date that names CSV files, and the `--from/--to` parser of the export command.
//!
//! "Local" is the process's time zone as `chrono::Local` sees it (`TZ`, `/etc/localtime`).
//! A local time that does not exist (inside a daylight-saving gap) is refused; one that
//! exists twice (the hour repeated when clocks go back) takes the earlier instant.
//!
//! Depends on: chrono, `super::model::Millis`.

use chrono::{DateTime, Local, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

use super::model::Millis;

/// Why [`parse_time`] refused its input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// Not one of the accepted forms.
    #[error(
        "{0:?} is not a time: use RFC 3339 (2026-11-22T23:45:01Z), YYYY-MM-DD, \
         \"YYYY-MM-DD HH:MM[:SS]\" (local time) or epoch milliseconds"
    )]
    Unrecognized(String),
    /// A local time inside a daylight-saving gap.
    #[error("{0:?} does not exist in the local time zone (daylight-saving gap)")]
    NoSuchLocalTime(String),
    /// Outside the range of representable times.
    #[error("{0:?} is out of range")]
    OutOfRange(String),
}

/// `ms` as a UTC instant; times chrono cannot represent (beyond year ±262,000) clamp to
/// the epoch, which no real record has.
fn utc(ms: Millis) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or(DateTime::UNIX_EPOCH)
}

/// `2026-11-22T23:45:01.123Z`: UTC, always three fractional digits.
pub fn iso_utc(ms: Millis) -> String {
    utc(ms).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// `2026-11-23 00:45:01`: local time to the second (fraction truncated).
pub fn local_datetime(ms: Millis) -> String {
    utc(ms)
        .with_timezone(&Local)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// `2026-11-23`: the local date (CSV file names, day rotation).
pub fn local_date(ms: Millis) -> String {
    utc(ms).with_timezone(&Local).format("%Y-%m-%d").to_string()
}

/// Parses a time given on the command line. Accepted forms:
///
/// - RFC 3339 with an offset: `2026-11-22T23:45:01Z`, `2026-11-22T23:45:01.5+01:00`;
/// - `YYYY-MM-DD`: local midnight starting that day;
/// - `YYYY-MM-DD HH:MM` or `YYYY-MM-DD HH:MM:SS` (a `T` may replace the space): local time;
/// - digits only (optionally `-`): milliseconds since the Unix epoch.
pub fn parse_time(text: &str) -> Result<Millis, TimeError> {
    let s = text.trim();
    let digits = s.strip_prefix('-').unwrap_or(s);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        let ms: Millis = s
            .parse()
            .map_err(|_| TimeError::OutOfRange(text.to_owned()))?;
        return match DateTime::from_timestamp_millis(ms) {
            Some(_) => Ok(ms),
            None => Err(TimeError::OutOfRange(text.to_owned())),
        };
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_millis());
    }
    let naive = if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        d.and_time(NaiveTime::MIN)
    } else {
        [
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%d %H:%M",
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%dT%H:%M",
        ]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .ok_or_else(|| TimeError::Unrecognized(text.to_owned()))?
    };
    match Local.from_local_datetime(&naive) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Ok(t.timestamp_millis()),
        LocalResult::None => Err(TimeError::NoSuchLocalTime(text.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-22T23:45:01.123Z.
    const T: Millis = 1_795_391_101_123;

    #[test]
    fn iso_utc_has_milliseconds_and_z() {
        assert_eq!(iso_utc(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_utc(T), "2026-11-22T23:45:01.123Z");
        assert_eq!(iso_utc(T - 123), "2026-11-22T23:45:01.000Z");
        assert_eq!(iso_utc(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn local_renderings_match_chrono_local() {
        for ms in [
            0,
            T,
            T + 3_600_000 * 5,
            1_711_846_800_000,
            1_729_987_200_000,
        ] {
            let local = Local
                .timestamp_millis_opt(ms)
                .single()
                .unwrap_or_else(|| panic!("{ms} is representable"));
            let want = format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                chrono::Datelike::year(&local),
                chrono::Datelike::month(&local),
                chrono::Datelike::day(&local),
                chrono::Timelike::hour(&local),
                chrono::Timelike::minute(&local),
                chrono::Timelike::second(&local),
            );
            assert_eq!(local_datetime(ms), want);
            assert_eq!(local_date(ms), want[..10]);
        }
    }

    #[test]
    fn parses_rfc3339_and_epoch_millis() {
        assert_eq!(parse_time("2026-11-22T23:45:01.123Z"), Ok(T));
        assert_eq!(parse_time("2026-11-23T00:45:01.123+01:00"), Ok(T));
        assert_eq!(parse_time(" 2026-11-22T23:45:01Z "), Ok(T - 123));
        assert_eq!(parse_time("1795391101123"), Ok(T));
        assert_eq!(parse_time("0"), Ok(0));
        assert_eq!(parse_time("-1000"), Ok(-1000));
    }

    #[test]
    fn parses_local_forms_like_chrono() {
        let local = |y, mo, d, h, mi, s| {
            let naive = NaiveDate::from_ymd_opt(y, mo, d)
                .and_then(|d| d.and_hms_opt(h, mi, s))
                .unwrap_or_else(|| panic!("valid date"));
            Local
                .from_local_datetime(&naive)
                .earliest()
                .map(|t| t.timestamp_millis())
                .unwrap_or_else(|| panic!("exists locally"))
        };
        assert_eq!(parse_time("2026-11-22"), Ok(local(2026, 11, 22, 0, 0, 0)));
        assert_eq!(
            parse_time("2026-11-22 23:45"),
            Ok(local(2026, 11, 22, 23, 45, 0))
        );
        assert_eq!(
            parse_time("2026-11-22 23:45:01"),
            Ok(local(2026, 11, 22, 23, 45, 1))
        );
        assert_eq!(
            parse_time("2026-11-22T23:45:01"),
            Ok(local(2026, 11, 22, 23, 45, 1))
        );
    }

    #[test]
    fn local_rendering_round_trips_to_the_second() {
        for ms in [T, T + 86_400_000 * 100, 1_000] {
            assert_eq!(
                parse_time(&local_datetime(ms)),
                Ok(ms - ms.rem_euclid(1_000))
            );
            let midnight = parse_time(&local_date(ms)).unwrap_or_else(|e| panic!("{e}"));
            assert!(midnight <= ms && ms - midnight < 86_400_000 + 3_600_000);
            assert_eq!(local_date(midnight), local_date(ms));
        }
    }

    #[test]
    fn refuses_garbage() {
        for bad in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-11-22 25:00",
            "22/11/2026",
            "12:00",
        ] {
            assert!(
                matches!(parse_time(bad), Err(TimeError::Unrecognized(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            parse_time("99999999999999999999"),
            Err(TimeError::OutOfRange(_))
        ));
        assert!(matches!(
            parse_time("9223372036854775807"),
            Err(TimeError::OutOfRange(_))
        ));
    }
}
