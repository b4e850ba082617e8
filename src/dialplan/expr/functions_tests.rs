//! Tests of the dialplan functions, `assign` and `parse_set`.

use super::super::test_scope::MapScope;
use super::super::{assign, check_condition, expand, parse_set, CallerIdField, ExprError};
use super::split_caller_id;

fn run(template: &str, scope: &mut MapScope) -> Result<String, ExprError> {
    expand(template, scope)
}

#[test]
fn len_and_isnull() {
    let mut s = MapScope::new().with("X", "hello").with("E", "");
    assert_eq!(run("${LEN(${X})}", &mut s).as_deref(), Ok("5"));
    assert_eq!(run("${LEN()}", &mut s).as_deref(), Ok("0"));
    assert_eq!(run("${LEN(a,b)}", &mut s).as_deref(), Ok("3"));
    assert_eq!(run("${ISNULL(${E})}", &mut s).as_deref(), Ok("1"));
    assert_eq!(run("${ISNULL(${UNSET})}", &mut s).as_deref(), Ok("1"));
    assert_eq!(run("${ISNULL(${X})}", &mut s).as_deref(), Ok("0"));
    assert_eq!(run("${len(abc)}", &mut s).as_deref(), Ok("3"));
}

#[test]
fn if_function() {
    let mut s = MapScope::new().with("X", "7");
    assert_eq!(
        run("${IF($[${X} > 5]?big:small)}", &mut s).as_deref(),
        Ok("big")
    );
    assert_eq!(
        run("${IF($[${X} > 9]?big:small)}", &mut s).as_deref(),
        Ok("small")
    );
    assert_eq!(run("${IF(1?yes)}", &mut s).as_deref(), Ok("yes"));
    assert_eq!(run("${IF(0?yes)}", &mut s).as_deref(), Ok(""));
    assert_eq!(run("${IF(?a:b)}", &mut s).as_deref(), Ok("b"));
    assert_eq!(run("${IF(abc?a:b)}", &mut s).as_deref(), Ok("a"));
    assert_eq!(run("${IF(1?\"a b\":c)}", &mut s).as_deref(), Ok("a b"));
    assert!(matches!(
        run("${IF(1)}", &mut s),
        Err(ExprError::BadArgument { function: "IF", .. })
    ));
}

#[test]
fn check_condition_like_asterisk() {
    for (c, want) in [
        ("", false),
        ("0", false),
        (" 0", false),
        ("00", false),
        ("0abc", false),
        ("-0", false),
        ("1", true),
        ("-3", true),
        ("12abc", true),
        ("abc", true),
        (" ", false),
    ] {
        assert_eq!(check_condition(c), want, "{c:?}");
    }
}

#[test]
fn callerid_read_and_write() {
    let mut s = MapScope::new();
    s.caller.insert(CallerIdField::Num, "1000".into());
    s.caller.insert(CallerIdField::Name, "Alice".into());
    assert_eq!(run("${CALLERID(num)}", &mut s).as_deref(), Ok("1000"));
    assert_eq!(run("${CALLERID(number)}", &mut s).as_deref(), Ok("1000"));
    assert_eq!(run("${CALLERID(name)}", &mut s).as_deref(), Ok("Alice"));
    assert_eq!(
        run("${CALLERID(all)}", &mut s).as_deref(),
        Ok("\"Alice\" <1000>")
    );
    assert!(matches!(
        run("${CALLERID(bogus)}", &mut s),
        Err(ExprError::BadArgument {
            function: "CALLERID",
            ..
        })
    ));
    assign("CALLERID(num)", "2000", &mut s).expect("num");
    assign("CALLERID(name)", "Bob", &mut s).expect("name");
    assert_eq!(
        run("${CALLERID(all)}", &mut s).as_deref(),
        Ok("\"Bob\" <2000>")
    );
    assign("CALLERID(all)", "\"Carol C\" <3000>", &mut s).expect("all");
    assert_eq!(
        s.caller.get(&CallerIdField::Name).map(String::as_str),
        Some("Carol C")
    );
    assert_eq!(
        s.caller.get(&CallerIdField::Num).map(String::as_str),
        Some("3000")
    );
    assert_eq!(
        assign("CALLERID(dnid)", "1", &mut s),
        Err(ExprError::CallerIdReadOnly {
            field: CallerIdField::Dnid
        })
    );
}

#[test]
fn split_caller_id_forms() {
    assert_eq!(split_caller_id("\"A B\" <100>"), ("A B", "100"));
    assert_eq!(split_caller_id("Ann <+4930>"), ("Ann", "+4930"));
    assert_eq!(split_caller_id("<100>"), ("", "100"));
    assert_eq!(split_caller_id("*43"), ("", "*43"));
    assert_eq!(split_caller_id("Reception"), ("Reception", ""));
}

#[test]
fn cdr_read_and_write() {
    let mut s = MapScope::new();
    s.cdr.insert("src".into(), "1000".into());
    assert_eq!(run("${CDR(src)}", &mut s).as_deref(), Ok("1000"));
    assert_eq!(run("${CDR(SRC)}", &mut s).as_deref(), Ok("1000"));
    assert_eq!(run("${CDR(userfield)}", &mut s).as_deref(), Ok(""));
    assign("CDR(userfield)", "vip", &mut s).expect("userfield");
    assign("CDR(accountcode)", "sales", &mut s).expect("accountcode");
    assign("CDR(amaflags)", "billing", &mut s).expect("amaflags");
    assert_eq!(
        run(
            "${CDR(userfield)}/${CDR(accountcode)}/${CDR(amaflags)}",
            &mut s
        )
        .as_deref(),
        Ok("vip/sales/BILLING")
    );
    assign("CDR(amaflags)", "3", &mut s).expect("amaflags numeric");
    assert_eq!(
        s.cdr.get("amaflags").map(String::as_str),
        Some("DOCUMENTATION")
    );
    assert_eq!(
        assign("CDR(amaflags)", "free", &mut s),
        Err(ExprError::BadAmaFlags {
            value: "free".into()
        })
    );
    assert_eq!(
        assign("CDR(src)", "x", &mut s),
        Err(ExprError::CdrReadOnly {
            field: "src".into()
        })
    );
    assert!(matches!(
        run("${CDR(start,u)}", &mut s),
        Err(ExprError::BadArgument {
            function: "CDR",
            ..
        })
    ));
    assert!(matches!(
        run("${CDR()}", &mut s),
        Err(ExprError::BadArgument { .. })
    ));
}

#[test]
fn env_and_unknown_functions_are_refused() {
    let mut s = MapScope::new();
    assert_eq!(run("${ENV(HOME)}", &mut s), Err(ExprError::EnvForbidden));
    assert_eq!(run("${env(PATH)}", &mut s), Err(ExprError::EnvForbidden));
    assert_eq!(
        assign("ENV(PATH)", "/tmp", &mut s),
        Err(ExprError::EnvForbidden)
    );
    assert_eq!(
        run("${SHELL(id)}", &mut s),
        Err(ExprError::UnknownFunction {
            name: "SHELL".into()
        })
    );
    assert_eq!(
        assign("NOPE(x)", "1", &mut s),
        Err(ExprError::UnknownFunction {
            name: "NOPE".into()
        })
    );
    assert_eq!(
        assign("LEN(x)", "1", &mut s),
        Err(ExprError::ReadOnlyFunction { name: "LEN".into() })
    );
}

#[test]
fn assign_variables_and_globals() {
    let mut s = MapScope::new();
    assign("FOO", "bar=baz", &mut s).expect("var");
    assert_eq!(s.vars.get("FOO").map(String::as_str), Some("bar=baz"));
    assign(" GLOBAL(G) ", "1", &mut s).expect("global");
    assert_eq!(s.globals.get("G").map(String::as_str), Some("1"));
    assert_eq!(run("${GLOBAL(G)}", &mut s).as_deref(), Ok("1"));
    assert!(matches!(
        assign("", "1", &mut s),
        Err(ExprError::BadVariableName { .. })
    ));
    assert!(matches!(
        assign("A}", "1", &mut s),
        Err(ExprError::BadVariableName { .. })
    ));
}

#[test]
fn set_splits_at_first_equals() {
    assert_eq!(parse_set("X=1"), Ok(("X".into(), "1".into())));
    assert_eq!(parse_set("X=a=b"), Ok(("X".into(), "a=b".into())));
    assert_eq!(parse_set("X="), Ok(("X".into(), String::new())));
    assert_eq!(
        parse_set("CDR(userfield)= vip"),
        Ok(("CDR(userfield)".into(), " vip".into()))
    );
    assert_eq!(
        parse_set("X"),
        Err(ExprError::SetWithoutEquals { args: "X".into() })
    );
    assert!(matches!(
        parse_set("=1"),
        Err(ExprError::BadVariableName { .. })
    ));
}

#[test]
fn set_flow_expands_then_assigns() {
    let mut s = MapScope::new().with("N", "2").with("EXTEN", "91000");
    let data = expand("DEST${N}=${EXTEN:1}", &mut s).expect("expand");
    let (name, value) = parse_set(&data).expect("split");
    assign(&name, &value, &mut s).expect("assign");
    assert_eq!(s.vars.get("DEST2").map(String::as_str), Some("1000"));
}

#[test]
fn strftime_utc_and_offsets() {
    let mut s = MapScope::new();
    let cases = [
        (
            "${STRFTIME(1700000000,UTC,%Y-%m-%d %H:%M:%S)}",
            "2023-11-14 22:13:20",
        ),
        ("${STRFTIME(1700000000,GMT,%H:%M)}", "22:13"),
        ("${STRFTIME(1700000000,+02:00,%H:%M)}", "00:13"),
        ("${STRFTIME(1700000000,-0530,%H:%M)}", "16:43"),
        ("${STRFTIME(1700000000,UTC+1,%H)}", "23"),
        ("${STRFTIME(,UTC,%s)}", "1700000000"),
        ("${STRFTIME(1700000000.25,UTC,%S.%3f)}", "20.250"),
        ("${STRFTIME(-1.5,UTC,%Y %S.%3f)}", "1969 58.500"),
        ("${STRFTIME(0,UTC,%d/%m, %Y)}", "01/01, 1970"),
        ("${STRFTIME(0,UTC,\"%Y\")}", "1970"),
        ("${STRFTIME(0,UTC)}", "Thu Jan  1 00:00:00 1970"),
    ];
    for (template, want) in cases {
        assert_eq!(run(template, &mut s).as_deref(), Ok(want), "{template}");
    }
}

#[test]
fn strftime_local_uses_now() {
    let mut s = MapScope::new();
    let got = run("${STRFTIME(,,%Y)}", &mut s).expect("local");
    // 2023-11-14 22:13:20 UTC is in 2023 in every zone from -14:00 to +01:46.
    assert_eq!(got, "2023");
}

#[test]
fn strftime_errors() {
    let mut s = MapScope::new();
    assert_eq!(
        run("${STRFTIME(0,Mars/Olympus_Mons,%H)}", &mut s),
        Err(ExprError::UnsupportedTimezone {
            name: "Mars/Olympus_Mons".into()
        })
    );
    // A tz database name: 1970-01-01 00:00 UTC was 01:00 in Paris.
    assert_eq!(
        run("${STRFTIME(0,Europe/Paris,%H)}", &mut s).as_deref(),
        Ok("01")
    );
    assert!(matches!(
        run("${STRFTIME(0,+25:00,%H)}", &mut s),
        Err(ExprError::UnsupportedTimezone { .. })
    ));
    assert_eq!(
        run("${STRFTIME(soon,UTC,%H)}", &mut s),
        Err(ExprError::BadTime {
            value: "soon".into()
        })
    );
    assert!(matches!(
        run("${STRFTIME(0,UTC,%Q)}", &mut s),
        Err(ExprError::BadFormat { .. })
    ));
}
