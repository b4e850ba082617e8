//! The merged gateway directory: trust matching, the configured part swapped, web changes
//! stored and refused, validation naming the field.

use std::net::SocketAddr;

use super::edit::{parse_transport, validate};
use super::*;
use crate::config::IpNet;

fn gw(name: &str, addr: &str, transport: ListenTransport, trust: bool) -> Gateway {
    let sa: SocketAddr = addr.parse().expect("addr");
    Gateway {
        name: name.into(),
        host: sa.ip().to_string(),
        port: sa.port(),
        ip: Some(sa.ip()),
        transport,
        trust_inbound_by_source: trust,
        register: false,
    }
}

fn spec(name: &str, address: &str) -> GatewaySpec {
    GatewaySpec {
        name: name.into(),
        address: address.into(),
        transport: ListenTransport::Udp,
        trust_inbound_by_source: false,
    }
}

async fn stored(config: Vec<Gateway>) -> (tempfile::TempDir, Db, LiveGateways) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(&dir.path().join("switchboard.db"))
        .await
        .expect("open");
    let live = LiveGateways::load(db.clone(), config, Acl::loopback())
        .await
        .expect("load");
    (dir, db, live)
}

#[test]
fn trusted_by_ip_and_udp_port_and_replace_takes_effect() {
    let live = LiveGateways::new(vec![gw(
        "carrier",
        "127.0.0.1:5080",
        ListenTransport::Udp,
        true,
    )]);
    let sa = |s: &str| s.parse::<SocketAddr>().expect("sa");
    assert_eq!(
        live.trusted(sa("127.0.0.1:5080")).map(|g| g.name),
        Some("carrier".into())
    );
    assert!(live.trusted(sa("127.0.0.1:5090")).is_none());
    let before = live.current();
    live.replace(vec![
        gw("tcp", "10.0.0.1:5060", ListenTransport::Tcp, true),
        gw("plain", "10.0.0.2:5060", ListenTransport::Udp, false),
    ]);
    assert_eq!(before.len(), 1, "a snapshot does not change");
    assert_eq!(
        live.trusted(sa("10.0.0.1:40000")).map(|g| g.name),
        Some("tcp".into())
    );
    assert!(live.trusted(sa("10.0.0.2:5060")).is_none(), "not trusted");
    assert!(live.get("carrier").is_none());
    assert_eq!(live.get("plain").map(|g| g.port), Some(5060));
}

#[test]
fn validation_names_the_field() {
    let field = |s: &GatewaySpec| match validate(s) {
        Err(GatewayError::Invalid { field, .. }) => Some(field),
        _ => None,
    };
    assert_eq!(field(&spec("", "192.0.2.1:5060")), Some("name"));
    assert_eq!(field(&spec("a b", "192.0.2.1:5060")), Some("name"));
    assert_eq!(
        field(&spec(&"x".repeat(65), "192.0.2.1:5060")),
        Some("name")
    );
    assert_eq!(field(&spec("ok", "192.0.2.1")), Some("address"));
    assert_eq!(field(&spec("ok", "::1")), Some("address"));
    assert_eq!(field(&spec("ok", "host:0")), Some("address"));
    assert_eq!(field(&spec("ok", "-bad:5060")), Some("address"));
    let mut trusted_name = spec("ok", "sip.example.net:5060");
    trusted_name.trust_inbound_by_source = true;
    assert_eq!(field(&trusted_name), Some("trust_inbound_by_source"));
    let v6 = validate(&spec("v6", "[2001:db8::1]:5062")).expect("v6");
    assert_eq!(v6.address(), "[2001:db8::1]:5062");
    assert_eq!(v6.ip, "2001:db8::1".parse().ok());
    let named = validate(&spec("named", " sip.example.net:5080 ")).expect("name");
    assert_eq!(
        (named.host.as_str(), named.port, named.ip),
        ("sip.example.net", 5080, None)
    );
    assert!(matches!(parse_transport("TLS"), Ok(ListenTransport::Tls)));
    assert!(matches!(
        parse_transport("sctp"),
        Err(GatewayError::Invalid {
            field: "transport",
            ..
        })
    ));
}

#[tokio::test]
async fn a_directory_without_storage_refuses_changes() {
    let live = LiveGateways::new(Vec::new());
    assert!(matches!(
        live.create(&spec("x", "192.0.2.1:5060")).await,
        Err(GatewayError::ReadOnly)
    ));
}

#[tokio::test]
async fn web_gateways_are_stored_merged_and_kept_apart_from_configured_ones() {
    let config = vec![gw("carrier", "127.0.0.1:5080", ListenTransport::Udp, true)];
    let (_dir, db, live) = stored(config.clone()).await;
    let mut trunk = spec("trunk", "127.0.0.2:5060");
    trunk.trust_inbound_by_source = true;
    let entry = live.create(&trunk).await.expect("create");
    assert_eq!(entry.origin, GatewayOrigin::Web);
    assert_eq!(entry.health.status, HealthStatus::Unknown);
    let names: Vec<String> = live.current().iter().map(|g| g.name.clone()).collect();
    assert_eq!(names, ["carrier", "trunk"], "configured first, at once");
    let from = "127.0.0.2:5060".parse().expect("sa");
    assert_eq!(live.trusted(from).map(|g| g.name), Some("trunk".into()));

    assert!(matches!(
        live.create(&spec("carrier", "192.0.2.1:5060")).await,
        Err(GatewayError::ConfigDefined(_))
    ));
    assert!(matches!(
        live.create(&spec("trunk", "192.0.2.1:5060")).await,
        Err(GatewayError::Exists(_))
    ));
    assert!(matches!(
        live.update("carrier", &spec("carrier", "192.0.2.1:5060"))
            .await,
        Err(GatewayError::ConfigDefined(_))
    ));
    assert!(matches!(
        live.delete("carrier").await,
        Err(GatewayError::ConfigDefined(_))
    ));
    assert!(matches!(
        live.update("nobody", &spec("nobody", "192.0.2.1:5060"))
            .await,
        Err(GatewayError::NotFound(_))
    ));
    assert!(matches!(
        live.update("trunk", &spec("other", "192.0.2.1:5060")).await,
        Err(GatewayError::Invalid { field: "name", .. })
    ));

    // Health is reset when the address changes.
    let t = live.get("trunk").expect("trunk");
    live.record_health(
        &t,
        GatewayHealth {
            status: HealthStatus::Up,
            rtt_ms: Some(3),
            ..GatewayHealth::default()
        },
    );
    assert_eq!(live.health("trunk").status, HealthStatus::Up);
    let mut moved = spec("trunk", "192.0.2.7:5070");
    moved.transport = ListenTransport::Tcp;
    let entry = live.update("trunk", &moved).await.expect("update");
    assert_eq!(entry.gateway.address(), "192.0.2.7:5070");
    assert_eq!(entry.health, GatewayHealth::default());
    // A result for the old address is not recorded any more.
    live.record_health(
        &t,
        GatewayHealth {
            status: HealthStatus::Up,
            ..GatewayHealth::default()
        },
    );
    assert_eq!(live.health("trunk").status, HealthStatus::Unknown);
    assert_eq!(
        live.warnings(&entry.gateway).len(),
        1,
        "192.0.2.7 is outside the loopback ACL"
    );

    // Persisted: a new directory over the same file sees it; a configured gateway that
    // now takes its name wins.
    let again = LiveGateways::load(db.clone(), config.clone(), Acl::loopback())
        .await
        .expect("reload");
    let got = again.get("trunk").expect("trunk persisted");
    assert_eq!((got.port, got.transport), (5070, ListenTransport::Tcp));
    assert_eq!(
        again.entry("trunk").map(|e| e.origin),
        Some(GatewayOrigin::Web)
    );
    let clash = vec![gw("trunk", "127.0.0.9:5060", ListenTransport::Udp, false)];
    let shadowed = LiveGateways::load(db.clone(), clash, Acl::loopback())
        .await
        .expect("reload");
    assert_eq!(shadowed.entries().len(), 1);
    assert_eq!(
        shadowed.entry("trunk").map(|e| e.origin),
        Some(GatewayOrigin::Config)
    );

    live.delete("trunk").await.expect("delete");
    assert!(live.get("trunk").is_none());
    assert!(matches!(
        live.delete("trunk").await,
        Err(GatewayError::NotFound(_))
    ));
    let after = LiveGateways::load(db, config, Acl::loopback())
        .await
        .expect("reload");
    assert!(after.get("trunk").is_none(), "deletion persisted");
}

#[test]
fn warnings_follow_the_acl() {
    let acl = Acl {
        allow: vec![IpNet::new("192.0.2.0".parse().expect("ip"), 24).expect("net")],
    };
    let live = LiveGateways {
        inner: Arc::new(Shared {
            acl: Some(acl),
            ..Shared::default()
        }),
    };
    let inside = gw("in", "192.0.2.5:5060", ListenTransport::Udp, true);
    let outside = gw("out", "198.51.100.5:5060", ListenTransport::Udp, true);
    assert!(live.warnings(&inside).is_empty());
    let w = live.warnings(&outside);
    assert_eq!(w.len(), 1);
    assert!(
        w[0].contains("198.51.100.5") && w[0].contains("trusted"),
        "{w:?}"
    );
    let mut named = outside.clone();
    named.ip = None;
    assert!(
        live.warnings(&named).is_empty(),
        "host names are not checked"
    );
}
