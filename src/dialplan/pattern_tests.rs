//! Tests of `super` (patterns): every rule, every error, the ordering table.

use std::cmp::Ordering;

use super::*;

fn p(text: &str) -> Pattern {
    Pattern::parse(text).unwrap_or_else(|e| panic!("{text}: {e:?}"))
}

fn err(text: &str) -> PatternErrorAt {
    match Pattern::parse(text) {
        Ok(p) => panic!("{text} parsed as {p:?}"),
        Err(e) => e,
    }
}

#[test]
fn match_table() {
    // (pattern, extension, matches)
    let table: &[(&str, &str, bool)] = &[
        ("1000", "1000", true),
        ("1000", "10000", false),
        ("1000", "100", false),
        ("*43", "*43", true),
        ("#1", "#1", true),
        ("+15550100", "+15550100", true),
        ("s", "s", true),
        ("_X", "0", true),
        ("_X", "9", true),
        ("_X", "a", false),
        ("_x", "5", true),
        ("_Z", "0", false),
        ("_Z", "1", true),
        ("_z", "9", true),
        ("_N", "1", false),
        ("_N", "2", true),
        ("_n", "9", true),
        ("_1XXX", "1000", true),
        ("_1XXX", "1999", true),
        ("_1XXX", "2000", false),
        ("_1XXX", "100", false),
        ("_1XXX", "10000", false),
        ("_[1-5]", "1", true),
        ("_[1-5]", "5", true),
        ("_[1-5]", "6", false),
        ("_[14-7]", "1", true),
        ("_[14-7]", "2", false),
        ("_[14-7]", "6", true),
        ("_[*#]", "#", true),
        ("_[a-c]X", "b7", true),
        ("_[1-]", "-", true),
        ("_9.", "9", false),
        ("_9.", "91", true),
        ("_9.", "9123456789", true),
        ("_9!", "9", true),
        ("_9!", "912", true),
        ("_9!", "8", false),
        ("_!", "", true),
        ("_!", "anything", true),
        ("_.", "", false),
        ("_.", "x", true),
        ("_*X#", "*5#", true),
        ("_+1NXX", "+1212", true),
        ("_+1NXX", "+1112", false),
        ("_5-1", "5-1", true),
        ("_ÄX", "Ä1", true),
    ];
    for &(pattern, exten, want) in table {
        assert_eq!(p(pattern).matches(exten), want, "{pattern} vs {exten:?}");
    }
}

#[test]
fn literal_and_pattern_kinds() {
    assert!(p("1000").is_literal());
    assert!(!p("_1000").is_literal());
    assert_eq!(p("1000").fixed_len(), Some(4));
    assert_eq!(p("_1[2-4]X").fixed_len(), Some(3));
    assert_eq!(p("_1X.").fixed_len(), None);
    assert_eq!(p("_1X!").fixed_len(), None);
    assert_eq!(
        p("_1[2-4]").elements(),
        [Element::Char('1'), Element::Set(CharSet::range(b'2', b'4'))]
    );
    assert_eq!(CharSet::range(b'2', b'9').len(), 8);
}

#[test]
fn errors_with_offsets() {
    let table: &[(&str, usize, PatternError)] = &[
        ("", 0, PatternError::Empty),
        ("_", 0, PatternError::EmptyPattern),
        ("_1[23", 2, PatternError::UnclosedSet),
        ("_[", 1, PatternError::UnclosedSet),
        ("_1[]X", 2, PatternError::EmptySet),
        (
            "_[5-1]",
            2,
            PatternError::ReversedRange { from: '5', to: '1' },
        ),
        ("_[1é]", 3, PatternError::NonAsciiInSet('é')),
        ("_12]", 3, PatternError::StrayClose),
        ("_9.1", 2, PatternError::WildcardNotLast('.')),
        ("_9!X", 2, PatternError::WildcardNotLast('!')),
        ("10 0", 2, PatternError::Whitespace),
    ];
    for &(text, offset, error) in table {
        assert_eq!(err(text), PatternErrorAt { offset, error }, "{text:?}");
    }
}

#[test]
fn can_match_more_table() {
    let table: &[(&str, &str, bool)] = &[
        ("1000", "1", true),
        ("1000", "100", true),
        ("1000", "1000", false),
        ("1000", "2", false),
        ("_1XXX", "1", true),
        ("_1XXX", "199", true),
        ("_1XXX", "1999", false),
        ("_1XXX", "2", false),
        ("_9.", "9", true),
        ("_9.", "9555", true),
        ("_9!", "9", true),
        ("_9!", "8", false),
        ("_X", "", true),
        ("_X", "5", false),
    ];
    for &(pattern, prefix, want) in table {
        assert_eq!(
            p(pattern).can_match_more(prefix),
            want,
            "{pattern} with {prefix:?}"
        );
    }
}

/// The ordering table: each row's left pattern is a better match than its right one.
#[test]
fn ordering_table() {
    let better: &[(&str, &str)] = &[
        ("1234", "_1234"),      // literal beats pattern
        ("1234", "_XXXX"),      // literal beats pattern
        ("_12XX", "_1[2-3]XX"), // a digit beats a set
        ("_1[2-3]XX", "_1NXX"), // a set of 2 beats a set of 8
        ("_1NXX", "_1ZXX"),     // N (8) beats Z (9)
        ("_1ZXX", "_1XXX"),     // Z (9) beats X (10)
        ("_1XXX", "_1XX."),     // a set beats `.`
        ("_1XX.", "_1XX!"),     // `.` beats `!`
        ("_1X.", "_X12"),       // decided by the first element
        ("_1", "_1!"),          // ending beats `!`
        ("_[12]X", "_[34]X"),   // same weights: by text
        ("_9.", "_!"),          // a digit beats `!`
        ("_[1-5]", "_[1-6]"),   // smaller set
    ];
    for &(a, b) in better {
        assert_eq!(p(a).cmp_specificity(&p(b)), Ordering::Less, "{a} < {b}");
        assert_eq!(p(b).cmp_specificity(&p(a)), Ordering::Greater, "{b} > {a}");
    }
    assert_eq!(p("_1X").cmp_specificity(&p("_1X")), Ordering::Equal);
}

#[test]
fn sorting_gives_the_expected_best_match() {
    let mut all: Vec<Pattern> = [
        "_X.",
        "_1!",
        "_1XXX",
        "_12XX",
        "_1[2-3]XX",
        "1234",
        "_1.",
        "_NXXX",
    ]
    .iter()
    .map(|t| p(t))
    .collect();
    all.sort_by(Pattern::cmp_specificity);
    let first_match = |exten: &str| {
        all.iter().find(|p| p.matches(exten)).map(|p| match p {
            Pattern::Literal(t) | Pattern::Match(_, t) => t.clone(),
        })
    };
    assert_eq!(first_match("1234").as_deref(), Some("1234"));
    assert_eq!(first_match("1235").as_deref(), Some("_12XX"));
    assert_eq!(first_match("1335").as_deref(), Some("_1[2-3]XX"));
    assert_eq!(first_match("1935").as_deref(), Some("_1XXX"));
    assert_eq!(first_match("19").as_deref(), Some("_1."));
    assert_eq!(first_match("1").as_deref(), Some("_1!"));
    assert_eq!(first_match("2935").as_deref(), Some("_NXXX"));
    assert_eq!(first_match("29").as_deref(), Some("_X."));
    assert_eq!(first_match(""), None);
}
