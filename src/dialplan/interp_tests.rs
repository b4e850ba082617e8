//! Interpreter tests: small dialplans parsed from text, run against a map-backed scope.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::dialplan::expr::test_scope::MapScope;

/// Parses `text` as `t.conf`.
fn plan(text: &str) -> Arc<Dialplan> {
    match Dialplan::parse_str(Path::new("t.conf"), text) {
        Ok(d) => Arc::new(d),
        Err(e) => panic!("dialplan does not parse: {e:?}"),
    }
}

/// Starts `exten` in `context`, panicking when there is no match.
fn begin(text: &str, context: &str, exten: &str) -> Interpreter {
    match start(plan(text), context, exten) {
        Ok(i) => i,
        Err(e) => panic!("start failed: {e}"),
    }
}

/// Runs once, expecting an application action.
fn app(interp: &mut Interpreter, scope: &mut MapScope) -> AppAction {
    match interp.run(scope) {
        Ok(Action::App(a)) => a,
        other => panic!("expected an application, got {other:?}"),
    }
}

#[test]
fn no_such_extension_on_start() {
    let err = start(plan("[in]\nexten => 100,1,Answer()\n"), "in", "200").unwrap_err();
    assert!(matches!(err, InterpError::NoSuchExtension { .. }), "{err}");
    let err = start(plan("[in]\nexten => 100,1,Answer()\n"), "nope", "100").unwrap_err();
    assert!(matches!(err, InterpError::NoSuchExtension { .. }), "{err}");
}

#[test]
fn set_then_answer_then_end() {
    let mut i = begin(
        "[in]\nexten => 100,1,Set(X=${EXTEN}a)\nsame => n,NoOp(${X})\nsame => n,Answer()\n",
        "in",
        "100",
    );
    let mut s = MapScope::new();
    let a = app(&mut i, &mut s);
    assert_eq!(a.kind, AppKind::Answer);
    assert_eq!(a.app, "Answer");
    assert_eq!(s.vars.get("X").map(String::as_str), Some("100a"));
    assert_eq!(i.location(), ("in", "100", 3));
    assert_eq!(i.run(&mut s), Ok(Action::End));
}

#[test]
fn gotoif_both_branches_and_empty_branch() {
    let text = "[in]\n\
        exten => 1,1,GotoIf($[${X} > 5]?big:small)\n\
        same => n(small),Playback(small)\n\
        same => n(big),Playback(big)\n\
        exten => 2,1,GotoIf(${X}?:skip)\n\
        same => n,Playback(yes)\n\
        same => n(skip),Playback(no)\n";
    for (exten, x, want) in [
        ("1", "9", "big"),
        ("1", "3", "small"),
        ("2", "1", "yes"),
        ("2", "0", "no"),
    ] {
        let mut i = begin(text, "in", exten);
        let mut s = MapScope::new().with("X", x);
        let a = app(&mut i, &mut s);
        assert_eq!(
            a.kind,
            AppKind::Playback {
                files: vec![want.to_owned()]
            },
            "exten {exten} X={x}"
        );
    }
}

#[test]
fn goto_label_across_contexts_and_priority() {
    let text = "[a]\nexten => s,1,Goto(b,100,lbl)\n\
        [b]\nexten => 100,1,Hangup(1)\nsame => n(lbl),Goto(3)\nsame => n,Hangup(17)\nsame => n,Hangup(BUSY)\n";
    let mut i = begin(text, "a", "s");
    let mut s = MapScope::new();
    let a = app(&mut i, &mut s);
    assert_eq!(a.kind, AppKind::Hangup { cause: Some(17) });
    assert_eq!(i.location(), ("b", "100", 3));
    assert_eq!(s.vars.get("CONTEXT").map(String::as_str), Some("b"));
    assert_eq!(s.vars.get("EXTEN").map(String::as_str), Some("100"));
    let a = app(&mut i, &mut s);
    assert_eq!(a.kind, AppKind::Hangup { cause: Some(17) });
    assert_eq!(a.data, "BUSY");
}

#[test]
fn goto_missing_label_is_an_error() {
    let mut i = begin("[a]\nexten => s,1,Goto(nowhere)\n", "a", "s");
    let err = i.run(&mut MapScope::new()).unwrap_err();
    assert!(matches!(err, InterpError::NoSuchLabel { ref label, .. } if label == "nowhere"));
}

#[test]
fn gosub_return_with_args_and_retval() {
    let text = "[in]\n\
        exten => s,1,Set(ARG1=outer)\n\
        same => n,Gosub(sub,s,1(x,y z))\n\
        same => n,Playback(${GOSUB_RETVAL}-${ARG1})\n\
        [sub]\n\
        exten => s,1,Set(R=${ARG1}+${ARG2}+${ARGC})\n\
        same => n,Return(${R})\n";
    let mut i = begin(text, "in", "s");
    let mut s = MapScope::new();
    let a = app(&mut i, &mut s);
    assert_eq!(a.data, "x+y z+2-outer");
    assert_eq!(i.gosub_depth(), 0);
    assert_eq!(i.location(), ("in", "s", 3));
}

#[test]
fn nested_gosub_hides_and_restores_outer_args() {
    let text = "[in]\n\
        exten => s,1,Gosub(outer,s,1(a,b))\n\
        same => n,Playback(${GOSUB_RETVAL})\n\
        [outer]\n\
        exten => s,1,Gosub(inner,s,1(x))\n\
        same => n,Return(${GOSUB_RETVAL}/${ARG1}${ARG2}${ARGC})\n\
        [inner]\n\
        exten => s,1,Return(${ARG1}[${ARG2}]${ARGC})\n";
    let mut i = begin(text, "in", "s");
    let mut s = MapScope::new();
    let a = app(&mut i, &mut s);
    assert_eq!(a.data, "x[]1/ab2");
    assert_eq!(s.vars.get("ARG1").map(String::as_str), Some(""));
}

#[test]
fn gosub_too_deep_and_return_without_gosub() {
    let mut i = begin("[in]\nexten => s,1,Gosub(s,1)\n", "in", "s");
    let err = i.run(&mut MapScope::new()).unwrap_err();
    assert!(matches!(err, InterpError::GosubTooDeep { limit, .. } if limit == MAX_GOSUB_DEPTH));
    let mut i = begin("[in]\nexten => s,1,Return()\n", "in", "s");
    let err = i.run(&mut MapScope::new()).unwrap_err();
    assert!(
        matches!(err, InterpError::ReturnWithoutGosub { .. }),
        "{err}"
    );
}

#[test]
fn dial_targets_timeout_options() {
    let text = "[in]\nexten => 700,1,Dial(PJSIP/1000&PJSIP/${T},30,tTm)\n\
        same => n,Dial(PJSIP/1002)\nsame => n,Dial(x,abc)\n";
    let mut i = begin(text, "in", "700");
    let mut s = MapScope::new().with("T", "1001");
    let a = app(&mut i, &mut s);
    assert_eq!(
        a.kind,
        AppKind::Dial {
            targets: vec!["PJSIP/1000".to_owned(), "PJSIP/1001".to_owned()],
            timeout: Some(30),
            options: "tTm".to_owned(),
        }
    );
    assert_eq!(a.data, "PJSIP/1000&PJSIP/1001,30,tTm");
    let a = app(&mut i, &mut s);
    assert_eq!(
        a.kind,
        AppKind::Dial {
            targets: vec!["PJSIP/1002".to_owned()],
            timeout: None,
            options: String::new(),
        }
    );
    let err = i.run(&mut s).unwrap_err();
    assert!(matches!(err, InterpError::BadArgument { .. }), "{err}");
    assert!(err.to_string().starts_with("t.conf:4:"), "{err}");
}

#[test]
fn io_apps_parse_their_arguments() {
    let text = "[in]\nexten => s,1,Wait(1.5)\nsame => n,Read(D,prompt,4,,,3)\n\
        same => n,WaitExten(5)\nsame => n,Background(a&b)\nsame => n,Record(/tmp/x.wav)\n\
        same => n,Queue(support)\nsame => n,Frobnicate(1,2)\nsame => n,Hangup()\n";
    let mut i = begin(text, "in", "s");
    let mut s = MapScope::new();
    let kinds: Vec<AppKind> = (0..8).map(|_| app(&mut i, &mut s).kind).collect();
    assert_eq!(
        kinds,
        vec![
            AppKind::Wait {
                duration: Duration::from_millis(1500)
            },
            AppKind::Read {
                var: "D".to_owned(),
                file: Some("prompt".to_owned()),
                max_digits: Some(4),
                timeout: Some(Duration::from_secs(3)),
            },
            AppKind::WaitExten {
                timeout: Some(Duration::from_secs(5))
            },
            AppKind::Background {
                files: vec!["a".to_owned(), "b".to_owned()]
            },
            AppKind::Record {
                file: "/tmp/x.wav".to_owned()
            },
            AppKind::Queue {
                name: "support".to_owned()
            },
            AppKind::Unknown,
            AppKind::Hangup { cause: None },
        ]
    );
    assert_eq!(i.run(&mut s), Ok(Action::End));
}

#[test]
fn hangup_cause_errors() {
    let mut i = begin("[in]\nexten => s,1,Hangup(NOT_A_CAUSE)\n", "in", "s");
    let err = i.run(&mut MapScope::new()).unwrap_err();
    assert!(matches!(err, InterpError::BadArgument { .. }), "{err}");
}

#[test]
fn step_budget_stops_an_endless_loop() {
    let mut i = begin(
        "[in]\nexten => s,1(top),Set(N=1)\nsame => n,Goto(top)\n",
        "in",
        "s",
    );
    let err = i.run(&mut MapScope::new()).unwrap_err();
    assert!(
        matches!(err, InterpError::StepBudgetExceeded { limit, .. } if limit == STEP_BUDGET),
        "{err}"
    );
}

#[test]
fn include_fallthrough() {
    let text = "[in]\ninclude => out\nexten => 100,1,Answer()\n\
        [out]\nexten => _9.,1,Dial(GW/${EXTEN:1})\n";
    let mut i = begin(text, "in", "95551234");
    let mut s = MapScope::new();
    let a = app(&mut i, &mut s);
    assert_eq!(a.data, "GW/5551234");
    assert_eq!(i.run(&mut s), Ok(Action::End));
}

#[test]
fn set_cdr_userfield_reaches_scope_and_readonly_field_errors() {
    let text = "[in]\nexten => s,1,Set(CDR(userfield)=vip-${X})\nsame => n,Set(CDR(src)=1)\n";
    let mut i = begin(text, "in", "s");
    let mut s = MapScope::new().with("X", "7");
    let err = i.run(&mut s).unwrap_err();
    assert_eq!(s.cdr.get("userfield").map(String::as_str), Some("vip-7"));
    assert!(
        matches!(
            err,
            InterpError::Expr {
                source: ExprError::CdrReadOnly { .. },
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().starts_with("t.conf:3:"), "{err}");
}

#[test]
fn execif_runs_the_branch() {
    let text = "[in]\nexten => s,1,ExecIf(${X}?Set(Y=yes):Set(Y=no))\n\
        same => n,ExecIf(${X}?Playback(p))\nsame => n,Answer()\n";
    for (x, y, first) in [("1", "yes", "Playback"), ("0", "no", "Answer")] {
        let mut i = begin(text, "in", "s");
        let mut s = MapScope::new().with("X", x);
        let a = app(&mut i, &mut s);
        assert_eq!(s.vars.get("Y").map(String::as_str), Some(y));
        assert_eq!(a.app, first, "X={x}");
    }
}

#[test]
fn caller_goto_and_goto_target() {
    let text = "[ivr]\nexten => s,1,Background(menu)\nsame => n,WaitExten(5)\n\
        exten => 1,1,Playback(one)\nexten => t,1,Hangup()\n\
        same => n(late),Playback(late)\n";
    let mut i = begin(text, "ivr", "s");
    let mut s = MapScope::new();
    assert_eq!(app(&mut i, &mut s).app, "Background");
    assert_eq!(app(&mut i, &mut s).app, "WaitExten");
    assert!(matches!(
        i.goto("ivr", "2", 1),
        Err(InterpError::NoSuchExtension { .. })
    ));
    assert!(matches!(
        i.goto("ivr", "1", 9),
        Err(InterpError::NoSuchPriority { priority: 9, .. })
    ));
    i.goto("ivr", "1", 1).unwrap();
    assert_eq!(app(&mut i, &mut s).data, "one");
    i.goto_target("t,late").unwrap();
    assert_eq!(app(&mut i, &mut s).data, "late");
}

#[test]
fn gotoiftime_ranges_and_zones() {
    // The test scope's clock: Tuesday 2023-11-14 22:13:20 UTC.
    let cases = [
        ("*,*,*,*", true),
        ("22:00-23:00,tue,14,nov,UTC", true),
        ("09:00-17:00,mon-fri,*,*,UTC", false),
        ("09:00-17:00,mon-fri,*,*,+11:00", true), // Wed 09:13
        ("22:00-06:00,*,*,*,UTC", true),
        ("*,sat&sun,*,*,UTC", false),
        ("*,fri-tue,*,*,UTC", true),
        ("*,*,1-13,*,UTC", false),
        ("*,*,*,oct-dec,-0500", true),
    ];
    for (cond, want) in cases {
        let text = format!(
            "[in]\nexten => s,1,GotoIfTime({cond}?yes:no)\n\
            same => n(yes),Playback(yes)\nsame => n(no),Playback(no)\n"
        );
        let mut i = begin(&text, "in", "s");
        let a = app(&mut i, &mut MapScope::new());
        assert_eq!(a.data, if want { "yes" } else { "no" }, "{cond}");
    }
    for bad in [
        "*,*,*",
        "25:00-26:00,*,*,*",
        "*,funday,*,*",
        "*,*,*,*,Mars/Olympus_Mons",
    ] {
        let text = format!("[in]\nexten => s,1,GotoIfTime({bad}?x)\n");
        let mut i = begin(&text, "in", "s");
        let err = i.run(&mut MapScope::new()).unwrap_err();
        assert!(
            matches!(err, InterpError::BadArgument { .. }),
            "{bad}: {err}"
        );
    }
}

#[test]
fn hot_reload_keeps_the_started_version() {
    let old = plan("[in]\nexten => s,1,Playback(old)\n");
    let mut i = start(Arc::clone(&old), "in", "s").unwrap();
    let _new = plan("[in]\nexten => s,1,Playback(new)\n");
    assert!(Arc::ptr_eq(i.dialplan(), &old));
    assert_eq!(app(&mut i, &mut MapScope::new()).data, "old");
}
