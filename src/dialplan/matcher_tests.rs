//! Tests of `super` (lookup): best match, includes, cycles, priorities, labels,
//! `can_match_more`.

use std::path::Path;

use crate::dialplan::Dialplan;

fn load(text: &str) -> Dialplan {
    Dialplan::parse_str(Path::new("t.conf"), text).unwrap_or_else(|e| panic!("{e}"))
}

/// The name of the extension found, and the context it is in.
fn found(d: &Dialplan, context: &str, exten: &str) -> Option<(String, String)> {
    d.find(context, exten)
        .map(|m| (m.context.name().to_owned(), m.extension.name().to_owned()))
}

fn name(d: &Dialplan, context: &str, exten: &str) -> Option<String> {
    found(d, context, exten).map(|(_, e)| e)
}

const PLAN: &str = "\
[internal]
exten => 1234,1,NoOp(literal)
exten => _12XX,1,NoOp(digit)
exten => _1[2-3]XX,1,NoOp(set)
exten => _1XXX,1,NoOp(X)
exten => _1.,1,NoOp(dot)
exten => _1!,1,NoOp(bang)
exten => _NXXX,1,NoOp(N)
exten => _[a-z]XX,1,NoOp(letters)
exten => *43,1,Echo
include => outbound
include => local

[outbound]
exten => _9.,1,Dial(x)
exten => 5000,1,NoOp(outbound 5000)
include => deeper

[deeper]
exten => 6000,1,NoOp(deeper)

[local]
exten => 5000,1,NoOp(local 5000)
exten => 6000,1,NoOp(local 6000)
exten => _X!,1,NoOp(anything)
";

#[test]
fn best_match_inside_a_context() {
    let d = load(PLAN);
    let table: &[(&str, Option<&str>)] = &[
        ("1234", Some("1234")),
        ("1235", Some("_12XX")),
        ("1335", Some("_1[2-3]XX")),
        ("1935", Some("_1XXX")),
        ("19", Some("_1.")),
        ("19999", Some("_1.")),
        ("1", Some("_1!")),
        ("2935", Some("_NXXX")),
        ("*43", Some("*43")),
        ("a12", Some("_[a-z]XX")),
        ("A12", None),
        ("", None),
    ];
    for &(exten, want) in table {
        assert_eq!(name(&d, "internal", exten).as_deref(), want, "{exten:?}");
    }
}

#[test]
fn includes_in_order_depth_first() {
    let d = load(PLAN);
    // own extensions first: `_NXXX` in internal beats `local`'s `_X!` for 5000
    assert_eq!(
        found(&d, "internal", "5000"),
        Some(("internal".into(), "_NXXX".into()))
    );
    // 91: no match in internal, outbound's `_9.`
    assert_eq!(
        found(&d, "internal", "91"),
        Some(("outbound".into(), "_9.".into()))
    );
    // 6000 matches internal's _NXXX first; from outbound, deeper (included by outbound) is
    // searched before local would be
    assert_eq!(
        found(&d, "outbound", "6000"),
        Some(("deeper".into(), "6000".into()))
    );
    // 0: only local's `_X!` (internal → outbound → deeper → local)
    assert_eq!(
        found(&d, "internal", "0"),
        Some(("local".into(), "_X!".into()))
    );
    assert_eq!(found(&d, "deeper", "5000"), None);
    assert_eq!(found(&d, "nosuch", "5000"), None);
    let m = d
        .find("internal", "1234")
        .unwrap_or_else(|| panic!("no match"));
    assert_eq!(m.steps()[0].args, "literal");
}

#[test]
fn diamond_includes_are_searched_once() {
    let d = load(
        "[top]\ninclude => a\ninclude => b\n[a]\ninclude => shared\n[b]\ninclude => shared\n\
         exten => 1,1,NoOp(b)\n[shared]\nexten => _X,1,NoOp(shared)\n",
    );
    let order: Vec<&str> = d
        .context("top")
        .map(|c| c.search.iter().map(|&i| d.contexts()[i].name()).collect())
        .unwrap_or_default();
    assert_eq!(order, ["top", "a", "shared", "b"]);
    // shared (through a) comes before b
    assert_eq!(found(&d, "top", "1"), Some(("shared".into(), "_X".into())));
}

#[test]
fn include_cycles_are_rejected_at_load() {
    let err = Dialplan::parse_str(
        Path::new("t.conf"),
        "[a]\ninclude => b\n[b]\ninclude => a\nexten => 1,1,NoOp\n",
    );
    assert!(err.is_err());
}

#[test]
fn priorities_fall_through_to_the_next_match() {
    let d = load(
        "[c]\nexten => 100,1,NoOp(lit1)\nexten => _1XX,1,NoOp(pat1)\nsame => n(two),NoOp(pat2)\n\
         same => 5(five),NoOp(pat5)\ninclude => other\n[other]\nexten => 100,7(seven),NoOp(o7)\n",
    );
    let step = |p: u32| {
        d.find_priority("c", "100", p)
            .map(|m| (m.extension.name().to_owned(), m.step.args.clone()))
    };
    assert_eq!(step(1), Some(("100".into(), "lit1".into())));
    assert_eq!(step(2), Some(("_1XX".into(), "pat2".into())));
    assert_eq!(step(5), Some(("_1XX".into(), "pat5".into())));
    assert_eq!(step(7), Some(("100".into(), "o7".into())));
    assert_eq!(step(3), None);
    let label = |l: &str| d.find_label("c", "100", l).map(|m| m.step.priority);
    assert_eq!(label("two"), Some(2));
    assert_eq!(label("five"), Some(5));
    assert_eq!(label("seven"), Some(7));
    assert_eq!(label("none"), None);
    assert_eq!(
        d.find_label("c", "100", "seven").map(|m| m.context.name()),
        Some("other")
    );
}

#[test]
fn can_match_more_follows_includes() {
    let d = load(
        "[ivr]\nexten => 1,1,NoOp\nexten => 12,1,NoOp\nexten => _3XX,1,NoOp\ninclude => more\n\
         [more]\nexten => _9.,1,NoOp\nexten => 455,1,NoOp\n",
    );
    let table: &[(&str, bool)] = &[
        ("", true),
        ("1", true),
        ("12", false),
        ("2", false),
        ("3", true),
        ("39", true),
        ("399", false),
        ("9", true),
        ("95", true),
        ("4", true),
        ("45", true),
        ("455", false),
    ];
    for &(prefix, want) in table {
        assert_eq!(d.can_match_more("ivr", prefix), want, "{prefix:?}");
    }
    assert!(!d.can_match_more("more", "1"));
    assert!(!d.can_match_more("nosuch", ""));
}

#[test]
fn many_patterns_use_the_buckets_correctly() {
    // Patterns spread over first characters and lengths, checked against a linear scan.
    let mut text = String::from("[c]\n");
    for i in 0..200 {
        let form = match i % 4 {
            0 => format!("_{i:03}XX"),
            1 => format!("_{i:03}N."),
            2 => format!("_[{}-9]{i:03}", i % 10),
            _ => format!("_{i:03}Z!"),
        };
        text.push_str(&format!("exten => {form},1,NoOp({i})\n"));
    }
    let d = load(&text);
    let ctx = d.context("c").unwrap_or_else(|| panic!("no c"));
    let mut sorted: Vec<_> = ctx.extensions().iter().collect();
    sorted.sort_by(|a, b| a.pattern().cmp_specificity(b.pattern()));
    for probe in [
        "00155", "0012", "00123", "5123", "9123", "0033", "003399", "1990", "19933",
    ] {
        let linear = sorted
            .iter()
            .find(|e| e.pattern().matches(probe))
            .map(|e| e.name().to_owned());
        assert_eq!(name(&d, "c", probe), linear, "{probe}");
    }
}

#[test]
fn dialplan_is_shareable_across_tasks() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<std::sync::Arc<Dialplan>>();
    let d = std::sync::Arc::new(load("[c]\nexten => 1,1,NoOp\n"));
    let other = std::sync::Arc::clone(&d);
    let handle = std::thread::spawn(move || other.find("c", "1").is_some());
    assert!(handle.join().unwrap_or(false));
}
