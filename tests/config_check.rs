//! Loads the two configurations shipped in the repository — the default one (repo root:
//! `sip-profiles/`, `dialplan/`) and the test PBX (`tests/sipp/pbx`) — and checks the values
//! that the README and the SIPp harness rely on.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use switchboard::config::{Config, ListenTransport};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn load(dir: PathBuf) -> Config {
    Config::load(&dir).unwrap_or_else(|e| panic!("{} does not load:\n{e}", dir.display()))
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn listeners(c: &Config) -> Vec<(ListenTransport, SocketAddr)> {
    c.sip
        .listen
        .iter()
        .map(|l| (l.transport, l.address))
        .collect()
}

#[test]
fn default_config_is_loopback_only() {
    let c = load(repo().to_path_buf());
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(
        listeners(&c),
        [
            (ListenTransport::Udp, sa("127.0.0.1:5060")),
            (ListenTransport::Tcp, sa("127.0.0.1:5060")),
            (ListenTransport::Tls, sa("127.0.0.1:5061")),
        ]
    );
    assert_eq!(c.sip.domain, "switchboard.local");
    assert_eq!(c.sip.realm, "switchboard.local");
    assert_eq!(c.sip.tls.cert, None, "self-signed certificate by default");
    assert!(c.acl.allows(ip("127.0.0.1")) && c.acl.allows(ip("::1")));
    assert!(!c.acl.allows(ip("192.168.1.20")) && !c.acl.allows(ip("10.0.0.1")));

    let numbers: Vec<&str> = c.extensions.iter().map(|e| e.number.as_str()).collect();
    let want: Vec<String> = (1000..=1009).map(|n| n.to_string()).collect();
    assert_eq!(numbers, want);
    for e in &c.extensions {
        assert!(
            e.loopback_only,
            "demo extension {} must be loopback-only",
            e.number
        );
        assert_eq!(e.password, format!("switchboard-{}", e.number));
        assert!(!e.allowed_from(ip("192.168.1.20")));
    }

    let names: Vec<&str> = c.gateways.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["carrier"]);
    assert_eq!(c.gateways[0].address(), "127.0.0.1:5080");
    assert_eq!(c.dialplan_dir, repo().join("dialplan"));
    let files: Vec<String> = c
        .source_files
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    assert_eq!(files, ["extensions.toml", "gateways.toml", "internal.toml"]);
}

#[test]
fn test_pbx_contract() {
    let c = load(repo().join("tests/sipp/pbx"));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(
        listeners(&c),
        [
            (ListenTransport::Udp, sa("127.0.0.1:15060")),
            (ListenTransport::Tcp, sa("127.0.0.1:15060")),
            (ListenTransport::Tls, sa("127.0.0.1:15061")),
        ]
    );
    assert_eq!(c.sip.domain, "switchboard.test");
    assert_eq!(c.sip.realm, "switchboard.test");

    // Extensions 1000-1999, password pw<ext>.
    assert_eq!(c.extensions.len(), 1000);
    for (n, e) in (1000..=1999).zip(&c.extensions) {
        assert_eq!(e.number, n.to_string());
        assert_eq!(e.password, format!("pw{n}"));
        assert!(e.allowed_from(ip("127.0.0.1")));
    }
    assert_eq!(
        c.extension("1001").map(|e| e.password.as_str()),
        Some("pw1001")
    );
    assert!(c.extension("2000").is_none() && c.extension("999").is_none());

    // Gateway carrier at 127.0.0.1:15080, not registering, trusted by source for inbound.
    let [g] = c.gateways.as_slice() else {
        panic!("one gateway expected: {:?}", c.gateways);
    };
    assert_eq!(
        (g.name.as_str(), g.address().as_str()),
        ("carrier", "127.0.0.1:15080")
    );
    assert_eq!(g.transport, ListenTransport::Udp);
    assert!(g.trust_inbound_by_source && !g.register);
    assert_eq!(
        c.trusted_gateway(sa("127.0.0.1:15080"))
            .map(|g| g.name.as_str()),
        Some("carrier")
    );
    assert!(
        c.trusted_gateway(sa("127.0.0.1:5061")).is_none(),
        "a phone on loopback is no gateway"
    );

    // Registrar: tests register with Expires 3600 and unregister with 0; default nonce TTL.
    assert_eq!(c.registrar.min_expires, 60);
    assert!(c.registrar.min_expires <= 3600 && 3600 <= c.registrar.max_expires);
    assert_eq!(c.registrar.nonce_ttl, Duration::from_secs(300));
    assert!(c.acl.allows(ip("127.0.0.1")));
    assert!(c.dialplan_dir.is_dir());
}
