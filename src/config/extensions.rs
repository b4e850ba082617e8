//! Extensions: validating `[[extension]]`, expanding `[[extension_range]]`, detecting duplicate
//! numbers across files, and the well-known-password rule.
//!
//! Security rule (issue 2): no well-known password is ever accepted from a non-loopback
//! address. A password is well known when [`weak_password`] says so; such extensions get
//! `loopback_only = true` and an explicit `loopback_only = false` is an error.
//!
//! Depends on: `super::{file, error, validate}`, std, toml.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use toml::Spanned;

use super::file::{ExtensionTable, RangeTable};
use super::validate::{Ctx, InFile};
use super::{ConfigError, Extension, Location, RangeProblem, WeakPassword};

/// Largest number of extensions one `[[extension_range]]` may expand to.
pub const MAX_RANGE_LEN: u64 = 10_000;

/// Longest extension number, in digits.
const MAX_NUMBER_LEN: usize = 32;

/// Shortest password that is not automatically considered well known.
const MIN_STRONG_LEN: usize = 8;

/// Password templates shipped in switchboard's own configurations (`{ext}` = the number):
/// the test PBX (`tests/sipp/pbx`) and the demo extensions of `sip-profiles/extensions.toml`.
/// Anything they produce is public knowledge.
pub const SHIPPED_TEMPLATES: &[&str] = &["pw{ext}", "switchboard-{ext}"];

/// Passwords guessed first by SIP scanners (compared case-insensitively).
pub const COMMON_PASSWORDS: &[&str] = &[
    "0000",
    "1111",
    "1234",
    "12345",
    "123456",
    "1234567",
    "12345678",
    "123456789",
    "1234567890",
    "password",
    "passw0rd",
    "password1",
    "secret",
    "admin",
    "administrator",
    "root",
    "letmein",
    "qwerty",
    "qwertyuiop",
    "changeme",
    "default",
    "welcome",
    "test",
    "guest",
    "sip",
    "voip",
    "pbx",
    "asterisk",
    "freeswitch",
    "switchboard",
    "iloveyou",
    "abc123",
    "11111111",
    "00000000",
];

/// Whether `password` is well known for extension `number`, and why. Checked in this order:
/// equal to the number, `pw` + digits, produced by a [`SHIPPED_TEMPLATES`] entry (or the
/// template itself), in [`COMMON_PASSWORDS`], shorter than 8 characters.
pub fn weak_password(number: &str, password: &str) -> Option<WeakPassword> {
    let lower = password.to_ascii_lowercase();
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if password == number {
        Some(WeakPassword::EqualsNumber)
    } else if lower.strip_prefix("pw").is_some_and(all_digits) {
        Some(WeakPassword::PwPattern)
    } else if SHIPPED_TEMPLATES
        .iter()
        .any(|t| template_matches(t, &lower, all_digits))
    {
        Some(WeakPassword::ShippedTemplate)
    } else if COMMON_PASSWORDS.contains(&lower.as_str()) {
        Some(WeakPassword::Common)
    } else if password.chars().count() < MIN_STRONG_LEN {
        Some(WeakPassword::TooShort)
    } else {
        None
    }
}

/// Whether `password` (lower case) is `template` with `{ext}` replaced by digits or kept as is.
fn template_matches(template: &str, password: &str, digits: impl Fn(&str) -> bool) -> bool {
    let Some((prefix, suffix)) = template.split_once("{ext}") else {
        return template == password;
    };
    password
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_suffix(suffix))
        .is_some_and(|middle| middle == "{ext}" || digits(middle))
}

/// Whether `s` is a valid extension number: 1 to 32 ASCII digits.
pub fn valid_number(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_NUMBER_LEN && s.bytes().all(|b| b.is_ascii_digit())
}

/// One definition site: an `[[extension]]` or an `[[extension_range]]`.
enum Def {
    Single(Spanned<ExtensionTable>),
    Range(Spanned<RangeTable>),
}

impl Def {
    fn start(&self) -> usize {
        match self {
            Def::Single(t) => t.span().start,
            Def::Range(t) => t.span().start,
        }
    }
}

/// Tracks which definition claimed each number, to report duplicates once per pair.
struct Claims {
    owner: HashMap<String, usize>,
    sites: Vec<Location>,
    reported: HashSet<(usize, usize)>,
}

impl Claims {
    /// Claims `number` for definition `site`; false (and an error, once per pair) if taken.
    fn claim(&mut self, ctx: &mut Ctx, number: &str, site: usize) -> bool {
        let Some(&first) = self.owner.get(number) else {
            self.owner.insert(number.to_string(), site);
            return true;
        };
        if self.reported.insert((first, site)) {
            let (Some(at), Some(first_at)) = (self.sites.get(site), self.sites.get(first)) else {
                return false;
            };
            ctx.err(ConfigError::Duplicate {
                at: at.clone(),
                first: first_at.clone(),
                what: format!("extension {number}"),
            });
        }
        false
    }
}

/// Validates and expands all extension definitions, in file order (definitions sorted by file,
/// then position). Invalid definitions are reported and skipped.
pub(crate) fn build(
    ctx: &mut Ctx,
    singles: Vec<InFile<ExtensionTable>>,
    ranges: Vec<InFile<RangeTable>>,
) -> Vec<Extension> {
    let mut defs: Vec<(usize, Def)> = singles
        .into_iter()
        .map(|(i, t)| (i, Def::Single(t)))
        .chain(ranges.into_iter().map(|(i, t)| (i, Def::Range(t))))
        .collect();
    defs.sort_by_key(|(i, d)| (*i, d.start()));

    let mut claims = Claims {
        owner: HashMap::new(),
        sites: Vec::new(),
        reported: HashSet::new(),
    };
    let mut out = Vec::new();
    for (i, def) in defs {
        let site = claims.sites.len();
        match def {
            Def::Single(t) => {
                claims.sites.push(ctx.loc(i, &t.get_ref().number.span()));
                if let Some(ext) = single(ctx, i, t.into_inner()) {
                    if claims.claim(ctx, &ext.number, site) {
                        out.push(ext);
                    }
                }
            }
            Def::Range(t) => {
                claims.sites.push(ctx.loc(i, &t.get_ref().from.span()));
                for ext in range(ctx, i, t.into_inner()) {
                    if claims.claim(ctx, &ext.number, site) {
                        out.push(ext);
                    }
                }
            }
        }
    }
    out
}

/// Decides `loopback_only` from the explicit setting and the password strength; records an
/// error (and returns `None`) for `loopback_only = false` with a well-known password.
fn loopback_only(
    ctx: &mut Ctx,
    i: usize,
    explicit: Option<&Spanned<bool>>,
    number: &str,
    password: &str,
) -> Option<bool> {
    let weak = weak_password(number, password);
    match (explicit, weak) {
        (Some(setting), Some(why)) if !*setting.get_ref() => {
            let at = ctx.loc(i, &setting.span());
            ctx.err(ConfigError::WeakPasswordNotLoopback {
                at,
                number: number.to_string(),
                why,
            });
            None
        }
        (Some(setting), _) => Some(*setting.get_ref()),
        (None, weak) => Some(weak.is_some()),
    }
}

/// Checks that a number is valid, recording [`ConfigError::BadExtensionNumber`] otherwise.
fn check_number(ctx: &mut Ctx, i: usize, value: &str, span: &Range<usize>) -> bool {
    if valid_number(value) {
        return true;
    }
    let at = ctx.loc(i, span);
    ctx.err(ConfigError::BadExtensionNumber {
        at,
        value: value.to_string(),
    });
    false
}

/// Validates one `[[extension]]`.
fn single(ctx: &mut Ctx, i: usize, t: ExtensionTable) -> Option<Extension> {
    let number = t.number.get_ref().0.clone();
    let mut ok = check_number(ctx, i, &number, &t.number.span());
    ok &= ctx.non_empty(i, &t.password, "extension.password");
    if !ok {
        return None;
    }
    let password = t.password.into_inner();
    let loopback_only = loopback_only(ctx, i, t.loopback_only.as_ref(), &number, &password)?;
    Some(Extension {
        number,
        password,
        display_name: t.display_name.filter(|d| !d.trim().is_empty()),
        loopback_only,
    })
}

/// Validates and expands one `[[extension_range]]`; empty on error.
fn range(ctx: &mut Ctx, i: usize, t: RangeTable) -> Vec<Extension> {
    let (from, to) = (t.from.get_ref().0.clone(), t.to.get_ref().0.clone());
    let mut ok = check_number(ctx, i, &from, &t.from.span());
    ok &= check_number(ctx, i, &to, &t.to.span());
    ok &= ctx.non_empty(i, &t.password, "extension_range.password");
    if !ok {
        return Vec::new();
    }
    // 32 digits fit in u128 (max ~3.4e38), checked above.
    let (Ok(lo), Ok(hi)) = (from.parse::<u128>(), to.parse::<u128>()) else {
        return Vec::new();
    };
    let leading_zero = |s: &str| s.len() > 1 && s.starts_with('0');
    let problem = if lo > hi {
        Some(RangeProblem::Reversed)
    } else if hi - lo >= u128::from(MAX_RANGE_LEN) {
        Some(RangeProblem::TooLarge(
            u64::try_from(hi - lo + 1).unwrap_or(u64::MAX),
        ))
    } else if (leading_zero(&from) || leading_zero(&to)) && from.len() != to.len() {
        Some(RangeProblem::WidthMismatch)
    } else {
        None
    };
    if let Some(reason) = problem {
        let at = ctx.loc(i, &t.from.span());
        ctx.err(ConfigError::BadRange {
            at,
            from,
            to,
            reason,
        });
        return Vec::new();
    }
    let width = if leading_zero(&from) { from.len() } else { 0 };
    let password_template = t.password.get_ref();
    let mut out = Vec::new();
    for n in lo..=hi {
        let number = format!("{n:0width$}");
        let password = password_template.replace("{ext}", &number);
        let Some(loopback_only) =
            loopback_only(ctx, i, t.loopback_only.as_ref(), &number, &password)
        else {
            // One error per range is enough: the template makes every number alike.
            return Vec::new();
        };
        let display_name = t
            .display_name
            .as_ref()
            .map(|d| d.replace("{ext}", &number))
            .filter(|d| !d.trim().is_empty());
        out.push(Extension {
            number,
            password,
            display_name,
            loopback_only,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_password_table() {
        let cases: &[(&str, &str, Option<WeakPassword>)] = &[
            ("1001", "1001", Some(WeakPassword::EqualsNumber)),
            ("1001", "pw1001", Some(WeakPassword::PwPattern)),
            ("1001", "PW1999", Some(WeakPassword::PwPattern)),
            (
                "1001",
                "switchboard-1001",
                Some(WeakPassword::ShippedTemplate),
            ),
            (
                "1001",
                "Switchboard-42",
                Some(WeakPassword::ShippedTemplate),
            ),
            (
                "1001",
                "switchboard-{ext}",
                Some(WeakPassword::ShippedTemplate),
            ),
            ("1001", "pw{ext}", Some(WeakPassword::ShippedTemplate)),
            ("1001", "Password", Some(WeakPassword::Common)),
            ("1001", "12345678", Some(WeakPassword::Common)),
            ("1001", "1234", Some(WeakPassword::Common)),
            ("1001", "xK9#q", Some(WeakPassword::TooShort)),
            ("1001", "xK9#q2é", Some(WeakPassword::TooShort)),
            ("1001", "correct horse battery", None),
            ("1001", "pw1001x-long", None),
            ("1001", "switchboard-10a1", None),
            ("1001", "Tr0ub4dor&3", None),
        ];
        for (number, password, want) in cases {
            assert_eq!(
                weak_password(number, password),
                *want,
                "{number} / {password}"
            );
        }
    }

    #[test]
    fn number_validity() {
        assert!(valid_number("0"));
        assert!(valid_number("1000"));
        assert!(valid_number(&"9".repeat(32)));
        assert!(!valid_number(&"9".repeat(33)));
        assert!(!valid_number(""));
        assert!(!valid_number("10a0"));
        assert!(!valid_number("+1000"));
        assert!(!valid_number("１２"));
    }
}
