//! Unit tests of extensions: duplicates across files, range expansion, the well-known
//! password rule and its warning.

use super::{at, load_err, load_ok, messages, write_dir, SIP};
use crate::config::*;

#[test]
fn duplicate_extension_across_files_names_both() {
    let dir = write_dir(
        &[
            ("a.toml", SIP),
            (
                "b.toml",
                "[[extension]]\nnumber = \"2000\"\npassword = \"a strong one\"\n",
            ),
            (
                "c.toml",
                "\n[[extension]]\nnumber = 2000\npassword = \"another strong\"\n",
            ),
        ],
        true,
    );
    let errs = Config::load(dir.path()).expect_err("errors");
    match errs.errors.as_slice() {
        [ConfigError::Duplicate {
            at: second,
            first,
            what,
        }] => {
            assert_eq!(at(first), ("b.toml".to_string(), 2, 10));
            assert_eq!(at(second), ("c.toml".to_string(), 3, 10));
            assert_eq!(what, "extension 2000");
        }
        other => panic!("{other:?}"),
    }
    let msg = messages(&errs, Some(dir.path())).join("\n");
    assert_eq!(
        msg,
        "sip-profiles/c.toml:3:10: duplicate extension 2000 (first defined at \
         sip-profiles/b.toml:2:10)"
    );
}

#[test]
fn duplicates_of_tables_gateways_and_ranges() {
    let gw = "[[gateway]]\nname = \"carrier\"\naddress = \"10.0.0.1:5060\"\n";
    let ext = "[[extension]]\nnumber = \"1005\"\npassword = \"a strong one\"\n";
    let range = "[[extension_range]]\nfrom = 1000\nto = 1009\npassword = \"pw{ext}\"\n";
    let range2 = "[[extension_range]]\nfrom = 1008\nto = 1020\npassword = \"pw{ext}\"\n";
    // (files, expected `what` of each Duplicate error, in order)
    type Files<'a> = Vec<(&'a str, String)>;
    let cases: Vec<(Files, Vec<&str>)> = vec![
        (
            vec![("a.toml", SIP.into()), ("b.toml", SIP.into())],
            vec!["[sip] table"],
        ),
        (
            vec![
                ("a.toml", format!("{SIP}[registrar]\n")),
                ("b.toml", "[registrar]\n".into()),
            ],
            vec!["[registrar] table"],
        ),
        (
            vec![("a.toml", format!("{SIP}{gw}")), ("b.toml", gw.into())],
            vec!["gateway carrier"],
        ),
        (
            vec![("a.toml", format!("{SIP}{ext}")), ("b.toml", range.into())],
            vec!["extension 1005"],
        ),
        (
            vec![
                ("a.toml", format!("{SIP}{range}")),
                ("b.toml", format!("{ext}{range2}")),
            ],
            vec!["extension 1005", "extension 1008"],
        ),
        (
            vec![(
                "a.toml",
                format!(
                    "{SIP}listen = [{{ transport = \"udp\", address = \"127.0.0.1:5070\" }},\n\
                     {{ transport = \"tcp\", address = \"127.0.0.1:5070\" }},\n\
                     {{ transport = \"tls\", address = \"127.0.0.1:5070\" }}]\n"
                ),
            )],
            vec!["listener tls 127.0.0.1:5070 (clashes with tcp 127.0.0.1:5070)"],
        ),
    ];
    for (files, want) in cases {
        let refs: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
        let errs = load_err(&refs);
        let got: Vec<&str> = errs
            .errors
            .iter()
            .map(|e| match e {
                ConfigError::Duplicate { what, .. } => what.as_str(),
                other => panic!("{files:?}: unexpected {other}"),
            })
            .collect();
        assert_eq!(got, want, "{files:?}");
    }
}

#[test]
fn range_expansion() {
    let c = load_ok(&[(
        "a.toml",
        &format!(
            "{SIP}[[extension_range]]\nfrom = \"0098\"\nto = \"0101\"\npassword = \"s3cret-{{ext}}-x\"\n\
             display_name = \"Desk {{ext}}\"\n"
        ),
    )]);
    let got: Vec<(&str, &str, Option<&str>, bool)> = c
        .extensions
        .iter()
        .map(|e| {
            (
                e.number.as_str(),
                e.password.as_str(),
                e.display_name.as_deref(),
                e.loopback_only,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("0098", "s3cret-0098-x", Some("Desk 0098"), false),
            ("0099", "s3cret-0099-x", Some("Desk 0099"), false),
            ("0100", "s3cret-0100-x", Some("Desk 0100"), false),
            ("0101", "s3cret-0101-x", Some("Desk 0101"), false),
        ]
    );
    assert_eq!(
        c.extension("0100").map(|e| e.password.as_str()),
        Some("s3cret-0100-x")
    );
    assert!(c.extension("100").is_none());
}

#[test]
fn bad_ranges() {
    let cases: &[(&str, &str, RangeProblem)] = &[
        ("1999", "1000", RangeProblem::Reversed),
        ("0", "10000", RangeProblem::TooLarge(10_001)),
        ("010", "1000", RangeProblem::WidthMismatch),
    ];
    for (from, to, want) in cases {
        let text = format!(
            "{SIP}[[extension_range]]\nfrom = \"{from}\"\nto = \"{to}\"\npassword = \"strong pass {{ext}}\"\n"
        );
        let errs = load_err(&[("a.toml", &text)]);
        match errs.errors.as_slice() {
            [ConfigError::BadRange {
                at: loc, reason, ..
            }] => {
                assert_eq!(reason, want, "{from}..{to}");
                assert_eq!(at(loc), ("a.toml".to_string(), 4, 8));
            }
            other => panic!("{from}..{to}: {other:?}"),
        }
    }
    // Exactly 10000 is fine.
    let text = format!("{SIP}[[extension_range]]\nfrom = 0\nto = 9999\npassword = \"pw{{ext}}\"\n");
    assert_eq!(load_ok(&[("a.toml", &text)]).extensions.len(), 10_000);
}

#[test]
fn well_known_passwords_are_loopback_only() {
    // (password, explicit loopback_only, expected: Ok(loopback_only) or Err(why))
    let cases: &[(&str, Option<bool>, Result<bool, WeakPassword>)] = &[
        ("pw2001", None, Ok(true)),
        ("2001", None, Ok(true)),
        ("secret", None, Ok(true)),
        ("switchboard-2001", None, Ok(true)),
        ("short", None, Ok(true)),
        ("a long unguessable one", None, Ok(false)),
        ("a long unguessable one", Some(true), Ok(true)),
        ("a long unguessable one", Some(false), Ok(false)),
        ("pw2001", Some(true), Ok(true)),
        ("pw2001", Some(false), Err(WeakPassword::PwPattern)),
        ("admin", Some(false), Err(WeakPassword::Common)),
        ("2001", Some(false), Err(WeakPassword::EqualsNumber)),
        ("Xy7!", Some(false), Err(WeakPassword::TooShort)),
    ];
    for (password, explicit, want) in cases {
        let flag = explicit
            .map(|b| format!("loopback_only = {b}\n"))
            .unwrap_or_default();
        let text =
            format!("{SIP}[[extension]]\nnumber = \"2001\"\npassword = \"{password}\"\n{flag}");
        let dir = write_dir(&[("a.toml", &text)], true);
        let got = match Config::load(dir.path()) {
            Ok(c) => Ok(c.extensions.first().expect("one extension").loopback_only),
            Err(e) => match e.errors.as_slice() {
                [ConfigError::WeakPasswordNotLoopback {
                    at: loc,
                    why,
                    number,
                }] => {
                    assert_eq!(at(loc), ("a.toml".to_string(), 6, 17), "{password}");
                    assert_eq!(number, "2001");
                    Err(*why)
                }
                other => panic!("{password}: {other:?}"),
            },
        };
        assert_eq!(got, *want, "{password} {explicit:?}");
    }
}

#[test]
fn loopback_only_extension_refused_from_network() {
    let c = load_ok(&[(
        "a.toml",
        &format!("{SIP}[[extension]]\nnumber = 7\npassword = \"pw7\"\n"),
    )]);
    let ext = c.extension("7").expect("ext 7");
    assert!(ext.allowed_from("127.0.0.1".parse().expect("ip")));
    assert!(ext.allowed_from("::1".parse().expect("ip")));
    assert!(ext.allowed_from("::ffff:127.0.0.1".parse().expect("ip")));
    assert!(!ext.allowed_from("192.168.1.2".parse().expect("ip")));
    assert!(
        !format!("{ext:?}").contains("pw7"),
        "Debug must hide the password"
    );
}

#[test]
fn warning_for_public_listener_with_loopback_only_users() {
    let text = "[sip]\ndomain = \"x\"\nlisten = [\n  { transport = \"udp\", address = \"127.0.0.1:5060\" },\n  \
                { transport = \"udp\", address = \"0.0.0.0:5062\" },\n]\n\
                [[extension]]\nnumber = 1\npassword = \"1234\"\n";
    let c = load_ok(&[("a.toml", text)]);
    match c.warnings.as_slice() {
        [w @ ConfigWarning::LoopbackOnlyUsersOnPublicListener {
            at: loc,
            count: 1,
            example,
            ..
        }] => {
            assert_eq!(at(loc), ("a.toml".to_string(), 5, 3));
            assert_eq!(example, "1");
            assert!(w.to_string().contains("0.0.0.0:5062"), "{w}");
        }
        other => panic!("{other:?}"),
    }
}
