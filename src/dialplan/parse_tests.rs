//! Tests of `super` (the parser): every directive, every error with its line and column.

use std::path::{Path, PathBuf};

use crate::dialplan::{AppProblem, Dialplan, DialplanError, PatternError};

fn ok(text: &str) -> Dialplan {
    Dialplan::parse_str(Path::new("t.conf"), text).unwrap_or_else(|e| panic!("{e}"))
}

fn errors(text: &str) -> Vec<DialplanError> {
    match Dialplan::parse_str(Path::new("t.conf"), text) {
        Ok(_) => panic!("parsed without error:\n{text}"),
        Err(e) => e.errors,
    }
}

/// The single error of `text`, with its `(line, column)`.
fn one_error(text: &str) -> (DialplanError, (usize, usize)) {
    let mut all = errors(text);
    assert_eq!(all.len(), 1, "{all:?}");
    let e = all.remove(0);
    let at = e.location().map_or((0, 0), |l| (l.line, l.column));
    (e, at)
}

const SAMPLE: &str = "\
; the sample dialplan
[globals]
OPERATOR = 1000
GREETING=hello\\; world ; comment

[internal]
exten => 1000,1,Answer
 same => n(dial),Dial(PJSIP/${EXTEN},30)
same => n,Hangup()
exten => _1XXX,1,NoOp(${CALLERID(num)} $[1 + 2])
exten => 1000,10(end),Set(A=b,c)   ; numbered after n
exten = 2000,1,Wait(1)
include => outbound

[outbound]
exten => _9.,1,Dial(PJSIP/${EXTEN:1}@carrier)
";

#[test]
fn every_directive() {
    let d = ok(SAMPLE);
    assert_eq!(d.global("OPERATOR"), Some("1000"));
    assert_eq!(d.global("GREETING"), Some("hello; world"));
    assert_eq!(d.globals()[0].at.line, 3);
    let names: Vec<&str> = d.contexts().iter().map(|c| c.name()).collect();
    assert_eq!(names, ["internal", "outbound"]);
    let internal = d
        .context("internal")
        .unwrap_or_else(|| panic!("no internal"));
    assert_eq!(internal.includes()[0].context, "outbound");
    assert_eq!(internal.includes()[0].at.column, 12);
    let exts: Vec<&str> = internal.extensions().iter().map(|e| e.name()).collect();
    assert_eq!(exts, ["1000", "_1XXX", "2000"]);
    let e1000 = &internal.extensions()[0];
    let steps: Vec<(u32, Option<&str>, &str, &str)> = e1000
        .steps()
        .iter()
        .map(|s| {
            (
                s.priority,
                s.label.as_deref(),
                s.app.as_str(),
                s.args.as_str(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            (1, None, "Answer", ""),
            (2, Some("dial"), "Dial", "PJSIP/${EXTEN},30"),
            (3, None, "Hangup", ""),
            (10, Some("end"), "Set", "A=b,c"),
        ]
    );
    assert_eq!(
        (e1000.steps()[1].at.line, e1000.steps()[1].at.column),
        (8, 2)
    );
    assert_eq!(
        internal.extensions()[1].steps()[0].args,
        "${CALLERID(num)} $[1 + 2]"
    );
    assert_eq!(d.extension_count(), 4);
    assert_eq!(e1000.next_step(3).map(|s| s.priority), Some(10));
    assert_eq!(e1000.label("end").map(|s| s.priority), Some(10));
}

#[test]
fn files_are_merged_and_contexts_reopened() {
    let files = vec![
        (
            PathBuf::from("a.conf"),
            "[c]\nexten => 1,1,NoOp\n".to_owned(),
        ),
        (
            PathBuf::from("b.conf"),
            "[c]\nexten => 1,2,NoOp\ninclude => d\n[d]\n".to_owned(),
        ),
    ];
    let d = Dialplan::parse_files(&files).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.contexts().len(), 2);
    assert_eq!(
        d.context("c").map(|c| c.extensions()[0].steps().len()),
        Some(2)
    );
}

#[test]
fn empty_text_is_an_empty_dialplan() {
    let d = ok("; nothing\n\n");
    assert!(d.contexts().is_empty());
    assert_eq!(d.extension_count(), 0);
}

#[test]
fn error_positions() {
    let cases: &[(&str, (usize, usize))] = &[
        ("[c]\n  foo => bar\n", (2, 3)),   // unknown directive
        ("[c]\njust words\n", (2, 1)),     // no `=` at all
        ("exten => 1,1,NoOp\n", (1, 1)),   // exten outside a context
        ("[c]\nsame => n,NoOp\n", (2, 1)), // same without exten
        ("[c]\nexten => 1,1,NoOp\nexten => 1,1,NoOp\n", (3, 12)), // duplicate priority
        ("[c]\nexten => _1[23,1,NoOp\n", (2, 12)), // unclosed [
        ("[c]\nexten => 1,n,NoOp\n", (2, 12)), // n first
        ("[c]\nexten => 1,1(a),NoOp\nsame => n(a),NoOp\n", (3, 11)), // label reused
        ("[c]\ninclude => nowhere\n", (2, 12)), // unknown include
        ("[c]\nexten => 1,hint,SIP/1\n", (2, 12)), // bad priority
        ("[c]\nexten => 1,0,NoOp\n", (2, 12)), // priority 0
        ("[c]\nexten => 1,1\n", (2, 13)),  // missing application
        ("[c]\nexten => 1\n", (2, 11)),    // missing priority
        ("[c]\nexten => 1,1,Dial(x\n", (2, 18)), // unclosed (
        ("[c]\nexten => 1,1,Di al(x)\n", (2, 16)), // bad app name
        ("[c d]\n", (1, 1)),               // bad context header
        ("[globals]\nNOEQUALS\n", (2, 1)), // bad global
        ("[globals]\nexten => 1,1,NoOp\n", (2, 1)), // exten in [globals]
    ];
    for &(text, want) in cases {
        let (e, at) = one_error(text);
        assert_eq!(at, want, "{text:?}: {e}");
    }
}

#[test]
fn error_variants() {
    use DialplanError as E;
    assert!(
        matches!(one_error("[c]\nfoo => x\n").0, E::UnknownDirective { word, .. } if word == "foo")
    );
    assert!(matches!(
        one_error("exten => 1,1,NoOp\n").0,
        E::OutsideContext {
            directive: "exten",
            ..
        }
    ));
    assert!(matches!(
        one_error("[c]\nsame => n,NoOp\n").0,
        E::SameWithoutExten { .. }
    ));
    let (e, _) = one_error("[c]\nexten => 1,1,NoOp\nsame => 1,NoOp\n");
    match e {
        E::DuplicatePriority {
            first,
            priority: 1,
            exten,
            ..
        } => {
            assert_eq!((first.line, exten.as_str()), (2, "1"));
        }
        other => panic!("{other}"),
    }
    assert!(matches!(
        one_error("[c]\nexten => _1[23,1,NoOp\n").0,
        E::BadPattern {
            reason: PatternError::UnclosedSet,
            ..
        }
    ));
    assert!(matches!(
        one_error("[c]\nexten => 1,n,NoOp\n").0,
        E::NextBeforeFirst { .. }
    ));
    assert!(matches!(
        one_error("[c]\nexten => 1,1(a),NoOp\nsame => n(a),NoOp\n").0,
        E::DuplicateLabel { label, .. } if label == "a"
    ));
    assert!(matches!(
        one_error("[c]\ninclude => nowhere\n").0,
        E::UnknownInclude { target, .. } if target == "nowhere"
    ));
    assert!(matches!(
        one_error("[c]\nexten => 1,1(),NoOp\n").0,
        E::BadLabel { .. }
    ));
    assert!(matches!(
        one_error("[c]\nexten => 1,1,Dial(x\n").0,
        E::BadApplication {
            reason: AppProblem::Unclosed,
            ..
        }
    ));
    assert!(matches!(
        one_error("[c]\nexten => 1,1,(x)\n").0,
        E::BadApplication {
            reason: AppProblem::EmptyName,
            ..
        }
    ));
    assert!(matches!(
        one_error("[c]\ninclude =>\n").0,
        E::MissingField { .. }
    ));
    assert!(matches!(
        one_error("[globals]\n=1\n").0,
        E::BadGlobal { .. }
    ));
    assert!(matches!(
        one_error("[globals]\ninclude => c\n").0,
        E::InGlobals {
            directive: "include",
            ..
        }
    ));
    assert!(matches!(one_error("[c\n").0, E::BadContext { .. }));
}

#[test]
fn include_loops_are_reported_at_the_closing_include() {
    let text = "[a]\ninclude => b\n[b]\ninclude => c\n[c]\ninclude => a\n[d]\ninclude => d\n";
    let all = errors(text);
    let loops: Vec<(usize, usize, String)> = all
        .iter()
        .map(|e| match e {
            DialplanError::IncludeLoop { at, chain } => (at.line, at.column, chain.clone()),
            other => panic!("{other}"),
        })
        .collect();
    assert_eq!(
        loops,
        [
            (6, 12, "a -> b -> c -> a".to_owned()),
            (8, 12, "d -> d".to_owned())
        ]
    );
}

#[test]
fn all_errors_are_collected_in_line_order_and_displayed() {
    let text = "exten => 1,1,NoOp\n[c]\nbogus => 1\nexten => _[,1,NoOp\nsame => n,NoOp\nexten => 2,1,NoOp\nsame => 1,NoOp\n";
    let err = Dialplan::parse_str(Path::new("dp/x.conf"), text)
        .err()
        .unwrap_or_else(|| panic!("no error"));
    let lines: Vec<usize> = err
        .errors
        .iter()
        .filter_map(|e| e.location().map(|l| l.line))
        .collect();
    // the `same` after the rejected exten on line 4 is skipped, not reported again
    assert_eq!(lines, [1, 3, 4, 7]);
    let shown = err.to_string();
    assert!(
        shown.starts_with("dp/x.conf:1:1: exten outside a context"),
        "{shown}"
    );
    assert!(
        shown.contains("dp/x.conf:4:11: bad pattern \"_[\": unclosed `[`"),
        "{shown}"
    );
    assert_eq!(shown.lines().count(), 4);
}

#[test]
fn columns_after_escaped_semicolons_and_crlf() {
    let (_, at) = one_error("[c]\r\nexten => 1,1,NoOp(\\;)\r\nexten => 1,1,NoOp\r\n");
    assert_eq!(at, (3, 12));
    let (_, at) = one_error("[c]\nexten => 1,1,Set(x=\\;\\;),x\n");
    // the app field is `Set(x=;;),x`: unclosed at the `(`, original column 17
    assert_eq!(at, (2, 17));
}

#[test]
fn load_dir_reads_conf_files_sorted_and_ignores_others() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let write = |name: &str, text: &str| {
        std::fs::write(dir.path().join(name), text).unwrap_or_else(|e| panic!("{e}"))
    };
    write("README.md", "[not parsed\n");
    write("b.conf", "[c]\nsame => n,NoOp\n");
    write("a.conf", "[c]\nexten => 1,1,NoOp\n");
    // b.conf is read after a.conf, but a file starts with no current extension
    let err = Dialplan::load_dir(dir.path())
        .err()
        .unwrap_or_else(|| panic!("no error"));
    assert_eq!(err.errors.len(), 1);
    assert!(err.to_string().contains("b.conf:2:1: same =>"), "{err}");
    std::fs::remove_file(dir.path().join("b.conf")).unwrap_or_else(|e| panic!("{e}"));
    let d = Dialplan::load_dir(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.extension_count(), 1);
    let missing = Dialplan::load_dir(&dir.path().join("nope"));
    assert!(matches!(
        missing.err().map(|e| e.errors.into_iter().next()),
        Some(Some(DialplanError::Io { .. }))
    ));
}
