//! `[[gateway]]` validation: unique, well-formed names; `host:port` addresses; trust by source
//! address only for IP literals; warns when the ACL would refuse a gateway.
//!
//! Depends on: `super::{file, error, validate}`, std.

use std::net::{IpAddr, SocketAddr};

use super::file::GatewayTable;
use super::validate::{Ctx, InFile};
use super::{Acl, ConfigError, ConfigWarning, Gateway, Location};

/// A split address: host as written (IPv6 without brackets), its IP if a literal, port.
pub type HostPort = (String, Option<IpAddr>, u16);

/// Splits `ip:port`, `[v6]:port` or `name:port` into host, IP (if a literal) and port. A bare
/// IPv6 address without brackets is refused (its last group would read as the port).
pub fn split_host_port(s: &str) -> Option<HostPort> {
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Some((sa.ip().to_string(), Some(sa.ip()), sa.port()));
    }
    let (host, port) = s.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    let valid = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.';
    if host.is_empty() || !host.chars().all(valid) || host.starts_with(['-', '.']) {
        return None;
    }
    Some((host.to_string(), None, port))
}

/// Validates `[[gateway]]` entries: names unique and well formed, `host:port` addresses.
pub(crate) fn build(ctx: &mut Ctx, list: Vec<InFile<GatewayTable>>, acl: &Acl) -> Vec<Gateway> {
    let mut out: Vec<(Gateway, Location)> = Vec::new();
    for (i, table) in list {
        let g = table.into_inner();
        let name_at = ctx.loc(i, &g.name.span());
        let name = g.name.get_ref().clone();
        if !ctx.non_empty(i, &g.name, "gateway.name") {
            continue;
        }
        let name_ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
        if !name.chars().all(name_ok) {
            ctx.err(ConfigError::BadGatewayName {
                at: name_at,
                value: name,
            });
            continue;
        }
        if let Some((_, first)) = out.iter().find(|(o, _)| o.name == name) {
            let what = format!("gateway {name}");
            ctx.err(ConfigError::Duplicate {
                at: name_at,
                first: first.clone(),
                what,
            });
            continue;
        }
        let addr_at = ctx.loc(i, &g.address.span());
        let Some((host, ip, port)) = split_host_port(g.address.get_ref().trim()) else {
            let value = g.address.into_inner();
            ctx.err(ConfigError::BadAddress {
                at: addr_at,
                key: "gateway.address",
                value,
                expected: "host:port",
            });
            continue;
        };
        if port == 0 {
            ctx.err(ConfigError::ZeroPort {
                at: addr_at,
                key: "gateway.address",
            });
            continue;
        }
        if g.trust_inbound_by_source && ip.is_none() {
            ctx.err(ConfigError::TrustNeedsIp {
                at: addr_at,
                name,
                host,
            });
            continue;
        }
        if let Some(reg) = g.register.as_ref().filter(|r| *r.get_ref()) {
            let at = ctx.loc(i, &reg.span());
            ctx.err(ConfigError::Unsupported {
                at,
                key: "gateway.register",
            });
            continue;
        }
        if let Some(ip) = ip.filter(|ip| !acl.allows(*ip)) {
            let warning = ConfigWarning::GatewayOutsideAcl {
                at: name_at.clone(),
                name: name.clone(),
                ip,
            };
            ctx.warnings.push(warning);
        }
        let gateway = Gateway {
            name,
            host,
            port,
            ip,
            transport: g.transport,
            trust_inbound_by_source: g.trust_inbound_by_source,
            register: false,
        };
        out.push((gateway, name_at));
    }
    out.into_iter().map(|(g, _)| g).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_host_port_table() {
        let ip = |s: &str| s.parse::<IpAddr>().ok();
        let cases: &[(&str, Option<HostPort>)] = &[
            (
                "127.0.0.1:5080",
                Some(("127.0.0.1".to_string(), ip("127.0.0.1"), 5080)),
            ),
            ("[::1]:5060", Some(("::1".to_string(), ip("::1"), 5060))),
            (
                "sip.example.net:5061",
                Some(("sip.example.net".to_string(), None, 5061)),
            ),
            ("carrier:1", Some(("carrier".to_string(), None, 1))),
            ("::1", None),
            ("127.0.0.1", None),
            ("host:99999", None),
            (":5060", None),
            ("-bad:5060", None),
            ("a b:5060", None),
            ("host:", None),
        ];
        for (input, want) in cases {
            let got = split_host_port(input);
            assert_eq!(&got, want, "{input:?}");
        }
    }
}
