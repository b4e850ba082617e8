//! Tests of `super` (line cleaning and spans).

use super::*;

#[test]
fn comment_is_removed_and_escaped_semicolon_kept() {
    let line = Line::clean(r"exten => 1,1,NoOp(a\;b) ; comment");
    assert_eq!(line.text, "exten => 1,1,NoOp(a;b) ");
    // `b` is at original column 22 (after the two-character `\;`), cleaned byte 20.
    assert_eq!(line.text.find('b'), Some(20));
    assert_eq!(line.col(20), 22);
    assert_eq!(line.col(0), 1);
}

#[test]
fn columns_count_characters_not_bytes() {
    let line = Line::clean("é=x\r");
    assert_eq!(line.text, "é=x");
    assert_eq!(line.col(2), 2, "'=' after a two-byte character");
    assert_eq!(line.col(line.text.len()), 4);
}

#[test]
fn trimming_spans() {
    let text = "  ab  ,";
    assert_eq!(Span::trimmed(text, 0, 6), Span { start: 2, end: 4 });
    assert!(Span::trimmed(text, 4, 6).is_empty());
    let (a, rest) = split_comma(text, 0, text.len());
    assert_eq!(a.of(text), "ab");
    assert_eq!(rest, Some((7, 7)));
}
