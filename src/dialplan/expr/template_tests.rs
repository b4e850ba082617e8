//! Tests of the template scanner: variables, nesting, substrings, escapes and limits.

use super::super::test_scope::MapScope;
use super::super::{expand, ExprError, MAX_DEPTH, MAX_OUTPUT};
use super::substring;

fn run(template: &str, scope: &mut MapScope) -> Result<String, ExprError> {
    expand(template, scope)
}

#[test]
fn literal_is_copied() {
    let mut s = MapScope::new();
    assert_eq!(
        run("Dial(PJSIP/1000,30)", &mut s).as_deref(),
        Ok("Dial(PJSIP/1000,30)")
    );
    assert_eq!(run("", &mut s).as_deref(), Ok(""));
    assert_eq!(run("cost $5", &mut s).as_deref(), Ok("cost $5"));
    assert_eq!(run("end$", &mut s).as_deref(), Ok("end$"));
}

#[test]
fn variables_and_nesting() {
    let mut s = MapScope::new()
        .with("EXTEN", "91000")
        .with("N", "2")
        .with("VAR2", "second")
        .with("NAME", "VAR");
    assert_eq!(run("${EXTEN}", &mut s).as_deref(), Ok("91000"));
    assert_eq!(run("to ${EXTEN}!", &mut s).as_deref(), Ok("to 91000!"));
    assert_eq!(run("${UNSET}x", &mut s).as_deref(), Ok("x"));
    assert_eq!(run("${VAR${N}}", &mut s).as_deref(), Ok("second"));
    assert_eq!(run("${${NAME}${N}}", &mut s).as_deref(), Ok("second"));
    assert_eq!(run("${EXTEN:${N}}", &mut s).as_deref(), Ok("000"));
    assert_eq!(run("${}", &mut s).as_deref(), Ok(""));
}

#[test]
fn values_are_not_reexpanded() {
    let mut s = MapScope::new().with("A", "${B}").with("B", "no");
    assert_eq!(run("${A}", &mut s).as_deref(), Ok("${B}"));
}

#[test]
fn globals_fall_back_through_scope() {
    let mut s = MapScope::new();
    s.globals.insert("TRUNK".into(), "carrier".into());
    assert_eq!(
        run("${TRUNK}/${GLOBAL(TRUNK)}", &mut s).as_deref(),
        Ok("carrier/carrier")
    );
}

/// Asterisk's documented examples (README.variables / wiki "Manipulating Variables").
#[test]
fn substring_table_matches_asterisk() {
    let cases: &[(&str, &str)] = &[
        ("${V:1}", "23456789"),
        ("${V:-4}", "6789"),
        ("${V:0:3}", "123"),
        ("${V:2:3}", "345"),
        ("${V:-4:3}", "678"),
        ("${V:-4:4}", "6789"),
        ("${V:0:-1}", "12345678"),
        ("${V:1:-1}", "2345678"),
        ("${V:-3:-1}", "78"),
        ("${V:0:0}", ""),
        ("${V:9}", ""),
        ("${V:100}", ""),
        ("${V:-100}", "123456789"),
        ("${V:-100:2}", "12"),
        ("${V:3:100}", "456789"),
        ("${V:2:-100}", ""),
        ("${V::3}", "123"),
        ("${V:2:}", "3456789"),
        ("${V:0}", "123456789"),
    ];
    let mut s = MapScope::new().with("V", "123456789");
    for (template, want) in cases {
        assert_eq!(run(template, &mut s).as_deref(), Ok(*want), "{template}");
    }
    let mut s = MapScope::new().with("EXTEN", "915551234");
    assert_eq!(run("${EXTEN:1}", &mut s).as_deref(), Ok("15551234"));
}

#[test]
fn substring_counts_characters() {
    assert_eq!(substring("héllo", 1, Some(3)), "éll");
    assert_eq!(substring("héllo", -2, None), "lo");
    assert_eq!(substring("", 0, Some(2)), "");
}

#[test]
fn substring_applies_to_functions() {
    let mut s = MapScope::new();
    s.caller
        .insert(super::super::CallerIdField::Num, "+15551234".into());
    assert_eq!(run("${CALLERID(num):1}", &mut s).as_deref(), Ok("15551234"));
    assert_eq!(run("${CALLERID(num):-4}", &mut s).as_deref(), Ok("1234"));
}

#[test]
fn bad_substring_is_an_error() {
    let mut s = MapScope::new().with("V", "123");
    assert!(matches!(
        run("${V:x}", &mut s),
        Err(ExprError::BadSubstring { spec }) if spec == "x"
    ));
    assert!(matches!(
        run("${V:1:y}", &mut s),
        Err(ExprError::BadSubstring { .. })
    ));
}

#[test]
fn escapes() {
    let mut s = MapScope::new().with("X", "v");
    assert_eq!(run(r"\${X}", &mut s).as_deref(), Ok("${X}"));
    assert_eq!(run(r"\\${X}", &mut s).as_deref(), Ok(r"\v"));
    assert_eq!(run(r"a\nb", &mut s).as_deref(), Ok(r"a\nb"));
    assert_eq!(run(r"trail\", &mut s).as_deref(), Ok(r"trail\"));
    assert_eq!(run(r"\$[1+1]", &mut s).as_deref(), Ok("$[1+1]"));
}

#[test]
fn expressions_inline() {
    let mut s = MapScope::new().with("X", "4");
    assert_eq!(run("$[${X} + 1]", &mut s).as_deref(), Ok("5"));
    assert_eq!(run("n=$[${X} * 2]!", &mut s).as_deref(), Ok("n=8!"));
    assert_eq!(run("$[$[1 + 1] * 3]", &mut s).as_deref(), Ok("6"));
    assert_eq!(run("${X:$[1 - 1]:1}", &mut s).as_deref(), Ok("4"));
    assert_eq!(run("$[${X} + 1 > 5]", &mut s).as_deref(), Ok("0"));
    assert_eq!(run("$[(${X} + 1) * 2]", &mut s).as_deref(), Ok("10"));
}

#[test]
fn unterminated() {
    let mut s = MapScope::new();
    assert_eq!(
        run("ab${X", &mut s),
        Err(ExprError::UnterminatedVariable { position: 2 })
    );
    assert_eq!(
        run("${A${B}", &mut s),
        Err(ExprError::UnterminatedVariable { position: 0 })
    );
    assert_eq!(
        run("$[1 + 2", &mut s),
        Err(ExprError::UnterminatedExpression { position: 0 })
    );
}

#[test]
fn bad_expression() {
    let mut s = MapScope::new();
    assert!(matches!(
        run("$[1 +]", &mut s),
        Err(ExprError::Syntax { .. })
    ));
    assert!(matches!(
        run("$[(1]", &mut s),
        Err(ExprError::Syntax { .. })
    ));
}

#[test]
fn depth_limit() {
    let mut s = MapScope::new();
    let deep = format!(
        "{}X{}",
        "${".repeat(MAX_DEPTH + 5),
        "}".repeat(MAX_DEPTH + 5)
    );
    assert_eq!(
        run(&deep, &mut s),
        Err(ExprError::TooDeep { limit: MAX_DEPTH })
    );
    let ok = format!("{}X{}", "${".repeat(4), "}".repeat(4));
    assert_eq!(run(&ok, &mut s).as_deref(), Ok(""));
    let brackets = format!(
        "{}1{}",
        "$[".repeat(MAX_DEPTH + 5),
        "]".repeat(MAX_DEPTH + 5)
    );
    assert_eq!(
        run(&brackets, &mut s),
        Err(ExprError::TooDeep { limit: MAX_DEPTH })
    );
}

#[test]
fn output_limit() {
    let big = "x".repeat(MAX_OUTPUT / 2 + 1);
    let mut s = MapScope::new().with("BIG", &big);
    assert_eq!(run("${BIG}", &mut s).as_deref(), Ok(big.as_str()));
    assert_eq!(
        run("${BIG}${BIG}", &mut s),
        Err(ExprError::OutputTooLarge { limit: MAX_OUTPUT })
    );
    let literal = "y".repeat(MAX_OUTPUT + 1);
    assert_eq!(
        run(&literal, &mut s),
        Err(ExprError::OutputTooLarge { limit: MAX_OUTPUT })
    );
}

#[test]
fn dialstatus_hangupcause_epoch() {
    let mut s = MapScope::new();
    assert_eq!(
        run("[${DIALSTATUS}][${HANGUPCAUSE}]", &mut s).as_deref(),
        Ok("[][]")
    );
    s.vars.insert("DIALSTATUS".into(), "CANCEL".into());
    assert_eq!(run("${DIALSTATUS}", &mut s).as_deref(), Ok("CANCEL"));
    s.dialstatus = Some("BUSY".into());
    s.hangupcause = Some(17);
    assert_eq!(
        run("${DIALSTATUS}/${HANGUPCAUSE}", &mut s).as_deref(),
        Ok("BUSY/17")
    );
    assert_eq!(
        run("${DIALSTATUS()}:${HANGUPCAUSE()}", &mut s).as_deref(),
        Ok("BUSY:17")
    );
    assert_eq!(run("${EPOCH}", &mut s).as_deref(), Ok("1700000000"));
    assert!(matches!(
        run("${HANGUPCAUSE(SIP/x,tech)}", &mut s),
        Err(ExprError::BadArgument {
            function: "HANGUPCAUSE",
            ..
        })
    ));
}
