//! Tests of `$[...]`: operators, precedence, number formats and errors.

use super::super::{ExprError, MAX_DEPTH};
use super::{evaluate, format_dec};

fn ev(expr: &str) -> Result<String, ExprError> {
    evaluate(expr)
}

#[test]
fn arithmetic_table() {
    let cases = [
        ("1 + 1", "2"),
        ("1+1", "2"),
        ("10 - 3 - 2", "5"),
        ("2 * 3 + 4", "10"),
        ("2 + 3 * 4", "14"),
        ("(2 + 3) * 4", "20"),
        ("7 / 2", "3.5"),
        ("8 / 2", "4"),
        ("7 % 3", "1"),
        ("-7 % 3", "-1"),
        ("7.5 % 2", "1.5"),
        ("1.5 * 2", "3"),
        ("0.1 + 0.2", "0.3"),
        ("10 / 3", "3.33333333333333"),
        ("- 5 + 3", "-2"),
        ("-(2 + 3)", "-5"),
        ("- -4", "4"),
        ("9223372036854775807 + 1", "9.22337203685478e+18"),
        ("15551234567 + 1", "15551234568"),
        ("\"4\" + 1", "5"),
        ("+3 * 2", "6"),
    ];
    for (expr, want) in cases {
        assert_eq!(ev(expr).as_deref(), Ok(want), "{expr}");
    }
}

#[test]
fn comparisons_numeric_and_string() {
    let cases = [
        ("5 > 3", "1"),
        ("5 < 3", "0"),
        ("10 > 9", "1"),
        ("\"10\" > \"9\"", "1"),
        ("abc > abd", "0"),
        ("abc < abd", "1"),
        ("1000 = 1000", "1"),
        ("1000 == 1000", "1"),
        ("01000 = 1000", "1"),
        ("1.0 = 1", "1"),
        ("abc = abc", "1"),
        ("abc != abc", "0"),
        ("10 <= 10", "1"),
        ("10 >= 11", "0"),
        ("b > 10", "1"),
        ("\"John Smith\" = \"John Smith\"", "1"),
        ("1 < 2 < 3", "1"),
        ("3 + 1 > 5", "0"),
        ("2 * 3 = 6", "1"),
    ];
    for (expr, want) in cases {
        assert_eq!(ev(expr).as_deref(), Ok(want), "{expr}");
    }
}

#[test]
fn logic_returns_operands() {
    let cases = [
        ("1 | 0", "1"),
        ("0 | 7", "7"),
        ("abc | def", "abc"),
        ("\"\" | def", "def"),
        ("0 | 0", "0"),
        ("1 & 2", "1"),
        ("abc & 0", "0"),
        ("x & y", "x"),
        ("!0", "1"),
        ("!1", "0"),
        ("!\"\"", "1"),
        ("!abc", "0"),
        ("!!5", "1"),
        ("1 = 1 & 2 = 3", "0"),
        ("1 = 2 | 2 = 2", "1"),
        ("0 & 1 | 5", "5"),
        ("0.0 | z", "z"),
    ];
    for (expr, want) in cases {
        assert_eq!(ev(expr).as_deref(), Ok(want), "{expr}");
    }
}

#[test]
fn ternary_and_laziness() {
    assert_eq!(ev("1 ? yes :: no").as_deref(), Ok("yes"));
    assert_eq!(ev("0 ? yes :: no").as_deref(), Ok("no"));
    assert_eq!(ev("0 = 0 ? 0 :: 10 / 0").as_deref(), Ok("0"));
    assert_eq!(ev("1 | 1 / 0").as_deref(), Ok("1"));
    assert_eq!(ev("0 & 1 / 0").as_deref(), Ok("0"));
    assert!(matches!(
        ev("1 ? a"),
        Err(ExprError::Syntax {
            reason: "expected `::`",
            ..
        })
    ));
}

#[test]
fn strings_and_empty() {
    assert_eq!(ev("").as_deref(), Ok(""));
    assert_eq!(ev("   ").as_deref(), Ok(""));
    assert_eq!(ev("\"a + b\"").as_deref(), Ok("a + b"));
    assert_eq!(ev("hello").as_deref(), Ok("hello"));
    assert_eq!(ev("( 42 )").as_deref(), Ok("42"));
}

#[test]
fn errors() {
    assert_eq!(ev("1 / 0"), Err(ExprError::DivisionByZero));
    assert_eq!(ev("1 % 0"), Err(ExprError::DivisionByZero));
    assert_eq!(ev("1.5 / 0.0"), Err(ExprError::DivisionByZero));
    assert_eq!(
        ev("abc + 1"),
        Err(ExprError::NotANumber {
            value: "abc".into()
        })
    );
    assert_eq!(
        ev("-abc"),
        Err(ExprError::NotANumber {
            value: "abc".into()
        })
    );
    assert_eq!(
        ev("\"\" + 1"),
        Err(ExprError::NotANumber {
            value: String::new()
        })
    );
    assert_eq!(
        ev("abc : a.*"),
        Err(ExprError::UnsupportedOperator { op: ":" })
    );
    assert_eq!(
        ev("abc =~ a"),
        Err(ExprError::UnsupportedOperator { op: "=~" })
    );
    for (expr, position) in [
        ("1 +", 3),
        ("(1", 2),
        ("1 2", 2),
        ("\"open", 0),
        (")", 0),
        ("* 2", 0),
    ] {
        match ev(expr) {
            Err(ExprError::Syntax {
                position: p,
                expr: e,
                ..
            }) => {
                assert_eq!((p, e.as_str()), (position, expr), "{expr}");
            }
            other => panic!("{expr}: {other:?}"),
        }
    }
}

#[test]
fn depth_is_limited() {
    let deep = format!(
        "{}1{}",
        "(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    assert_eq!(ev(&deep), Err(ExprError::TooDeep { limit: MAX_DEPTH }));
    let nots = format!("{}1", "!".repeat(MAX_DEPTH + 1));
    assert_eq!(ev(&nots), Err(ExprError::TooDeep { limit: MAX_DEPTH }));
    let fine = format!("{}1{}", "(".repeat(10), ")".repeat(10));
    assert_eq!(ev(&fine).as_deref(), Ok("1"));
}

#[test]
fn decimal_format() {
    assert_eq!(format_dec(1.5), "1.5");
    assert_eq!(format_dec(2.0), "2");
    assert_eq!(format_dec(-0.25), "-0.25");
    assert_eq!(format_dec(1e20), "1e+20");
    assert_eq!(format_dec(1.5e-7), "1.5e-07");
    assert_eq!(format_dec(0.0), "0");
}
