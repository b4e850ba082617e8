//! Unit tests of `Config::load` over small TOML files written to temporary directories.
//! Extension-related tests are in `extensions.rs`.

mod calls;
mod cdr;
mod extensions;

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use super::*;

pub(super) const SIP: &str = "[sip]\ndomain = \"example.test\"\n";

/// A config dir with `sip-profiles/<name>` files and (if `dialplan`) an empty `dialplan/`.
pub(super) fn write_dir(files: &[(&str, &str)], dialplan: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let profiles = dir.path().join("sip-profiles");
    std::fs::create_dir(&profiles).expect("mkdir sip-profiles");
    for (name, text) in files {
        std::fs::write(profiles.join(name), text).expect("write profile");
    }
    if dialplan {
        std::fs::create_dir(dir.path().join("dialplan")).expect("mkdir dialplan");
    }
    dir
}

pub(super) fn load_ok(files: &[(&str, &str)]) -> Config {
    let dir = write_dir(files, true);
    Config::load(dir.path()).unwrap_or_else(|e| panic!("expected success, got:\n{e}"))
}

pub(super) fn load_err(files: &[(&str, &str)]) -> ConfigErrors {
    let dir = write_dir(files, true);
    match Config::load(dir.path()) {
        Ok(c) => panic!("expected errors, loaded {c:?}"),
        Err(e) => e,
    }
}

/// Every error's Display with the temporary directory prefix removed.
pub(super) fn messages(errors: &ConfigErrors, dir_prefix: Option<&Path>) -> Vec<String> {
    errors
        .errors
        .iter()
        .map(|e| {
            let s = e.to_string();
            match dir_prefix {
                Some(p) => s.replace(&format!("{}/", p.display()), ""),
                None => s,
            }
        })
        .collect()
}

/// File name and line:column of an error location.
pub(super) fn at(loc: &Location) -> (String, usize, usize) {
    let name = loc
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    (name, loc.line, loc.column)
}

#[test]
fn minimal_config_gets_defaults() {
    let c = load_ok(&[("a.toml", SIP)]);
    assert_eq!(c.sip.domain, "example.test");
    assert_eq!(c.sip.realm, "example.test");
    let listen: Vec<String> = c
        .sip
        .listen
        .iter()
        .map(|l| format!("{} {}", l.transport, l.address))
        .collect();
    assert_eq!(listen, ["udp 127.0.0.1:5060", "tcp 127.0.0.1:5060"]);
    assert_eq!(c.sip.timers.t1, Duration::from_millis(500));
    assert_eq!(c.sip.timers.t2, Duration::from_secs(4));
    assert_eq!(c.sip.timers.t4, Duration::from_secs(5));
    assert_eq!(c.sip.max_message_size, 65_535);
    assert!(c.sip.user_agent.starts_with("switchboard/"));
    assert_eq!(c.registrar, RegistrarSettings::default());
    assert_eq!(c.acl, Acl::loopback());
    assert!(c.gateways.is_empty() && c.extensions.is_empty() && c.warnings.is_empty());
    assert_eq!(c.source_files.len(), 1);
}

#[test]
fn syntax_and_unknown_keys_report_line_and_column() {
    // (file text, expected file:line:column, expected words in the message)
    let cases: &[(&str, (&str, usize, usize), &str)] = &[
        ("[sip]\ndomain = \"x\"\nlisten_on = 1\n", ("a.toml", 3, 1), "unknown field `listen_on`"),
        ("[sip]\ndomain = \"x\"\n[sip.timers]\n  t9_ms = 5\n", ("a.toml", 4, 3), "unknown field `t9_ms`"),
        ("[sipp]\n", ("a.toml", 1, 2), "unknown field `sipp`"),
        ("[sip]\ndomain = \n", ("a.toml", 2, 10), "string values must be quoted"),
        ("[sip]\ndomain = 5\n", ("a.toml", 2, 10), "expected a string"),
        ("[sip]\nrealm = \"r\"\n", ("a.toml", 1, 1), "missing field `domain`"),
        (
            "[sip]\ndomain = \"x\"\nlisten = [{ transport = \"sctp\", address = \"127.0.0.1:1\" }]\n",
            ("a.toml", 3, 25),
            "unknown variant `sctp`",
        ),
    ];
    for (text, (file, line, column), words) in cases {
        let errs = load_err(&[("a.toml", text)]);
        assert_eq!(errs.errors.len(), 1, "{text:?}: {errs}");
        let Some(ConfigError::Syntax { at: loc, message }) = errs.errors.first() else {
            panic!("{text:?}: not a syntax error: {errs}");
        };
        assert_eq!(
            at(loc),
            (file.to_string(), *line, *column),
            "{text:?}: {errs}"
        );
        assert!(message.contains(words), "{text:?}: {message}");
    }
}

#[test]
fn errors_are_collected_across_files() {
    let dir = write_dir(
        &[
            ("a.toml", "[sip]\ndomain = \"x\"\nbogus = 1\n"),
            ("b.toml", "[acl]\nallow = [\"10.0.0.1/8\", \"::1/200\"]\n"),
            (
                "c.toml",
                "[[extension]]\nnumber = \"12a\"\npassword = \"long enough pw\"\n",
            ),
        ],
        true,
    );
    let errs = Config::load(dir.path()).expect_err("errors");
    let msgs = messages(&errs, Some(dir.path()));
    assert_eq!(
        msgs,
        [
            "sip-profiles/a.toml:3:1: unknown field `bogus`, expected one of `listen`, `domain`, \
             `realm`, `user_agent`, `max_message_size`, `timers`, `tls`",
            "sip-profiles/b.toml:2:10: acl.allow: \"10.0.0.1/8\": address has bits set beyond the \
             prefix length; write the network address",
            "sip-profiles/b.toml:2:24: acl.allow: \"::1/200\": prefix length 200 is too long for \
             this address family",
            "sip-profiles/c.toml:2:10: extension number \"12a\" must be 1 to 32 digits",
        ]
    );
}

#[test]
fn bad_cidr_is_located() {
    let errs = load_err(&[(
        "a.toml",
        &format!("{SIP}[acl]\nallow = [\n  \"127.0.0.0/8\",\n  \"lan\",\n]\n"),
    )]);
    match errs.errors.as_slice() {
        [ConfigError::BadCidr {
            at: loc,
            value,
            reason: CidrError::BadAddress,
        }] => {
            assert_eq!(at(loc), ("a.toml".to_string(), 6, 3));
            assert_eq!(value, "lan");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn acl_allows_configured_networks() {
    let c = load_ok(&[(
        "a.toml",
        &format!("{SIP}[acl]\nallow = [\"192.168.1.0/24\", \"fd00::/8\"]\n"),
    )]);
    let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
    assert!(c.acl.allows(ip("192.168.1.77")));
    assert!(c.acl.allows(ip("fd00::5")));
    assert!(!c.acl.allows(ip("127.0.0.1")));
    assert!(c.warnings.is_empty());

    let c = load_ok(&[("a.toml", &format!("{SIP}[acl]\nallow = []\n"))]);
    assert!(matches!(
        c.warnings.as_slice(),
        [ConfigWarning::EmptyAcl { .. }]
    ));
}

#[test]
fn semantic_validation_table() {
    // (text after [sip] domain, expected error Display after "a.toml:")
    let cases: &[(&str, &str)] = &[
        ("realm = \" \"\n", "3:9: sip.realm must not be empty"),
        ("listen = []\n", "3:10: sip.listen must name at least one listener"),
        (
            "listen = [{ transport = \"udp\", address = \"localhost:5060\" }]\n",
            "3:42: sip.listen.address: \"localhost:5060\" is not a valid ip:port",
        ),
        ("max_message_size = 10\n", "3:20: sip.max_message_size = 10 is out of range (1024..=1048576)"),
        ("[sip.timers]\nt1_ms = 0\n", "4:9: sip.timers.t1_ms = 0 is out of range (1..=60000)"),
        ("[sip.timers]\nt1_ms = 5000\nt2_ms = 4000\n", "3:1: t1_ms (5000) must not exceed t2_ms (4000)"),
        ("[sip.tls]\ncert = \"sip-profiles/a.toml\"\n", "3:1: sip.tls: cert and key must be given together"),
        ("[registrar]\nmin_expires = 0\n", "4:15: registrar.min_expires = 0 is out of range (1..=4294967295)"),
        (
            "[registrar]\nmin_expires = 600\ndefault_expires = 300\n",
            "3:1: min_expires (600) must not exceed default_expires (300)",
        ),
        (
            "[registrar]\ndefault_expires = 9000\n",
            "3:1: default_expires (9000) must not exceed max_expires (7200)",
        ),
        ("[[gateway]]\nname = \"a b\"\naddress = \"h:1\"\n", "4:8: gateway name \"a b\" may only contain letters, digits, '_', '-' and '.'"),
        ("[[gateway]]\nname = \"g\"\naddress = \"::1\"\n", "5:11: gateway.address: \"::1\" is not a valid host:port"),
        ("[[gateway]]\nname = \"g\"\naddress = \"10.0.0.1:0\"\n", "5:11: gateway.address: port 0 is not allowed here"),
        (
            "[[gateway]]\nname = \"g\"\naddress = \"sip.carrier.example:5060\"\ntrust_inbound_by_source = true\n",
            "5:11: gateway g: trust_inbound_by_source needs an IP address, not \"sip.carrier.example\"",
        ),
        ("[[gateway]]\nname = \"g\"\naddress = \"127.0.0.1:5080\"\nregister = true\n", "6:12: gateway.register = true is not supported yet"),
        ("[[extension]]\nnumber = 5\npassword = \"\"\n", "5:12: extension.password must not be empty"),
    ];
    for (extra, want) in cases {
        let dir = write_dir(&[("a.toml", &format!("{SIP}{extra}"))], true);
        let errs = Config::load(dir.path())
            .err()
            .unwrap_or_else(|| panic!("{extra:?} loaded"));
        let prefix = dir.path().join("sip-profiles");
        let got = messages(&errs, Some(&prefix));
        assert_eq!(got, [format!("a.toml:{want}")], "{extra:?}");
    }
}

#[test]
fn tls_paths_resolve_against_config_dir() {
    let dir = write_dir(
        &[(
            "a.toml",
            &format!("{SIP}[sip.tls]\ncert = \"tls/c.pem\"\nkey = \"tls/k.pem\"\n"),
        )],
        true,
    );
    let errs = Config::load(dir.path()).expect_err("files are missing");
    assert!(
        matches!(
            errs.errors.as_slice(),
            [
                ConfigError::MissingFile { .. },
                ConfigError::MissingFile { .. }
            ]
        ),
        "{errs}"
    );
    std::fs::create_dir(dir.path().join("tls")).expect("mkdir");
    std::fs::write(dir.path().join("tls/c.pem"), "x").expect("write");
    std::fs::write(dir.path().join("tls/k.pem"), "x").expect("write");
    let c = Config::load(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.sip.tls.cert, Some(dir.path().join("tls/c.pem")));
    assert_eq!(c.sip.tls.key, Some(dir.path().join("tls/k.pem")));
}

#[test]
fn gateways_parse() {
    let text = format!(
        "{SIP}[[gateway]]\nname = \"carrier\"\naddress = \"127.0.0.1:5080\"\ntrust_inbound_by_source = true\n\
         [[gateway]]\nname = \"v6\"\naddress = \"[2001:db8::1]:5061\"\ntransport = \"tls\"\n\
         [[gateway]]\nname = \"named\"\naddress = \"sip.example.net:5060\"\ntransport = \"tcp\"\n"
    );
    let c = load_ok(&[("a.toml", &text)]);
    let got: Vec<(String, String, ListenTransport, bool)> = c
        .gateways
        .iter()
        .map(|g| {
            (
                g.name.clone(),
                g.address(),
                g.transport,
                g.trust_inbound_by_source,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "carrier".into(),
                "127.0.0.1:5080".into(),
                ListenTransport::Udp,
                true
            ),
            (
                "v6".into(),
                "[2001:db8::1]:5061".into(),
                ListenTransport::Tls,
                false
            ),
            (
                "named".into(),
                "sip.example.net:5060".into(),
                ListenTransport::Tcp,
                false
            ),
        ]
    );
    let sa = |s: &str| s.parse::<std::net::SocketAddr>().expect("socket address");
    let trusted = |s: &str| c.trusted_gateway(sa(s)).map(|g| g.name.clone());
    assert_eq!(trusted("127.0.0.1:5080"), Some("carrier".into()));
    assert_eq!(trusted("[::ffff:127.0.0.1]:5080"), Some("carrier".into()));
    assert_eq!(
        trusted("127.0.0.1:5090"),
        None,
        "UDP gateway: port must match too"
    );
    assert_eq!(
        trusted("[2001:db8::1]:5061"),
        None,
        "v6 is not trusted by source"
    );
    // The v6 gateway is outside the default (loopback) ACL.
    assert!(
        matches!(c.warnings.as_slice(), [ConfigWarning::GatewayOutsideAcl { name, .. }] if name == "v6")
    );
}

#[test]
fn missing_directories() {
    let dir = write_dir(&[("a.toml", SIP)], false);
    let errs = Config::load(dir.path()).expect_err("no dialplan dir");
    match errs.errors.as_slice() {
        [ConfigError::MissingDirectory { path, .. }] => {
            assert_eq!(path, &dir.path().join("dialplan"))
        }
        other => panic!("{other:?}"),
    }
    assert!(
        errs.to_string()
            .ends_with("dialplan: directory missing (dialplan files; may be empty)"),
        "{errs}"
    );

    let empty = tempfile::tempdir().expect("tempdir");
    let errs = Config::load(empty.path()).expect_err("nothing there");
    assert_eq!(errs.errors.len(), 2, "{errs}");
    assert!(errs
        .errors
        .iter()
        .all(|e| matches!(e, ConfigError::MissingDirectory { .. })));

    let errs = load_err(&[("notes.txt", "x"), (".hidden.toml", SIP)]);
    assert!(
        matches!(errs.errors.as_slice(), [ConfigError::NoProfiles { .. }]),
        "{errs}"
    );

    let errs = load_err(&[("a.toml", "[registrar]\n")]);
    assert!(
        matches!(errs.errors.as_slice(), [ConfigError::MissingSip { .. }]),
        "{errs}"
    );
}

#[test]
fn location_counts_characters_and_lines() {
    let text =
        "[sip]\ndomain = \"é\"\n[[extension]]\nnumber = \"x\"\npassword = \"été long pass\"\n";
    let errs = load_err(&[("a.toml", text)]);
    match errs.errors.as_slice() {
        [ConfigError::BadExtensionNumber { at: loc, .. }] => {
            assert_eq!(at(loc), ("a.toml".into(), 4, 10))
        }
        other => panic!("{other:?}"),
    }
    let file = error::SourceFile {
        path: "f".into(),
        text: "ab\ncé\nd".into(),
    };
    let lc = |o| {
        let l = file.location(o);
        (l.line, l.column)
    };
    assert_eq!(
        [
            lc(0),
            lc(2),
            lc(3),
            lc(4),
            lc(5),
            lc(6),
            lc(7),
            lc(8),
            lc(99)
        ],
        [
            (1, 1),
            (1, 3),
            (2, 1),
            (2, 2),
            (2, 2),
            (2, 3),
            (3, 1),
            (3, 2),
            (3, 2)
        ]
    );
}
