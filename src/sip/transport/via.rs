//! Via handling at the transport boundary: stamping `received`/`rport` on inbound requests
//! (RFC 3261 §18.2.1, RFC 3581 §4) and choosing where a response goes (RFC 3261 §18.2.2,
//! RFC 3581 §4).
//!
//! Depends on `sip::message` (Via, Host, Message) and the transport's Source/Target types.
//! `maddr` (multicast responses) is ignored for now; there is no DNS here, so a sent-by
//! host name without `received` falls back to the packet's source address.

use std::net::{IpAddr, SocketAddr};

use super::{Source, Target};
use crate::sip::message::{HeaderName, Host, Message, ParseError, Transport, Via};

/// Default SIP port for UDP/TCP (RFC 3261 §19.1.2).
const SIP_PORT: u16 = 5060;
/// Default SIP port for TLS (RFC 3261 §19.1.2).
const SIPS_PORT: u16 = 5061;

/// Adds `received` and fills `rport` in the first Via value of a request. Responses are left
/// alone. Only the first Via *value* is rewritten, even when several share one header line.
/// Fails (leaving the message unchanged) when the top Via does not parse.
pub fn stamp_received(msg: &mut Message, source: &Source) -> Result<(), ParseError> {
    let Message::Request(req) = msg else {
        return Ok(());
    };
    let mut via = req.headers.top_via()?;
    let src_ip = source.remote.ip().to_canonical();
    let src_port = source.remote.port();
    let mut changed = false;

    // RFC 3581 §4: an rport without value gets the source port, and then `received` is added
    // even when it equals sent-by. A client-supplied value is overwritten with the real
    // port too, so the response goes where the request really came from.
    let rport = via.rport();
    if let Some(value) = rport {
        if value != Some(src_port) {
            via.params.set("rport", Some(src_port.to_string()));
            changed = true;
        }
    }
    // RFC 3261 §18.2.1: add `received` when sent-by is not the packet's source address.
    // A `received` the sender put in itself is replaced by the real source address.
    let received_ok = via.received().and_then(parse_ip) == Some(src_ip);
    let need_received = rport.is_some() || !host_is(&via.host, src_ip) || via.received().is_some();
    if need_received && !received_ok {
        via.params.set("received", Some(param_ip(src_ip)));
        changed = true;
    }
    if changed {
        req.headers.replace_first(&HeaderName::Via, via.to_string());
    }
    Ok(())
}

/// Where a response to a request that carried `via` (the top Via, as stamped) and arrived
/// from `source` is sent.
///
/// Reliable transports (RFC 3261 §18.2.2): the flow the request came on; should it be gone,
/// `received` (or sent-by) with the sent-by port (default 5060, 5061 for TLS).
/// Unreliable: `received` + `rport` when both are present (RFC 3581 §4); else `received`
/// (or sent-by) with the sent-by port. For UDP the flow names the socket the request
/// arrived on, so the response leaves from the same address and port (RFC 3581 §4).
pub fn response_target(via: &Via, source: &Source) -> Target {
    let transport = source.transport.clone();
    let default_port = if matches!(transport, Transport::Tls) {
        SIPS_PORT
    } else {
        SIP_PORT
    };
    let received = via.received().and_then(parse_ip);
    let ip = received
        .or_else(|| host_ip(&via.host))
        .unwrap_or_else(|| source.remote.ip().to_canonical());
    let sent_by_port = via.port.unwrap_or(default_port);
    let port = if transport.is_reliable() {
        sent_by_port
    } else {
        match (received, via.rport()) {
            (Some(_), Some(Some(rport))) => rport,
            _ => sent_by_port,
        }
    };
    Target {
        transport,
        addr: SocketAddr::new(ip, port),
        flow: source.flow,
    }
}

/// The IP address of a Via host, if it is a literal.
fn host_ip(host: &Host) -> Option<IpAddr> {
    match host {
        Host::V4(v4) => Some(IpAddr::V4(*v4)),
        Host::V6(v6) => Some(IpAddr::V6(*v6).to_canonical()),
        Host::Name(name) => parse_ip(name),
    }
}

/// Whether a Via host is the literal address `ip`.
fn host_is(host: &Host, ip: IpAddr) -> bool {
    host_ip(host) == Some(ip)
}

/// Parses a `received` value: an IPv4 or IPv6 address, brackets tolerated.
fn parse_ip(text: &str) -> Option<IpAddr> {
    let bare = text.trim().trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

/// The `received` value for `ip`: RFC 3261 §20.42 grammar uses IPv6address without brackets.
fn param_ip(ip: IpAddr) -> String {
    ip.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::transport::FlowId;

    fn source(transport: Transport, remote: &str, flow: Option<u64>) -> Source {
        Source {
            transport,
            remote: remote.parse().expect("remote"),
            local: "127.0.0.1:5060".parse().expect("local"),
            flow: flow.map(FlowId),
        }
    }

    fn request_with_via(via_line: &str) -> Message {
        let text = format!(
            "OPTIONS sip:switchboard.test SIP/2.0\r\n\
             {via_line}\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:a@switchboard.test>;tag=1\r\n\
             To: <sip:switchboard.test>\r\n\
             Call-ID: via-test\r\n\
             CSeq: 1 OPTIONS\r\n\
             Content-Length: 0\r\n\r\n"
        );
        Message::parse(text.as_bytes()).expect("fixture parses")
    }

    /// Via line, packet source, expected `received`, expected `rport`.
    type StampCase = (
        &'static str,
        &'static str,
        Option<&'static str>,
        Option<Option<u16>>,
    );

    #[test]
    fn stamp_received_table() {
        // (Via line, packet source, expected received, expected rport)
        let cases: [StampCase; 8] = [
            // sent-by equals the source: untouched (RFC 3261 §18.2.1).
            (
                "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1",
                "10.0.0.1:5060",
                None,
                None,
            ),
            // sent-by differs: received added.
            (
                "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1",
                "192.0.2.7:5060",
                Some("192.0.2.7"),
                None,
            ),
            // sent-by is a name: received added.
            (
                "Via: SIP/2.0/UDP pc.example.com;branch=z9hG4bK1",
                "192.0.2.7:5060",
                Some("192.0.2.7"),
                None,
            ),
            // empty rport: filled with the source port, received added even if equal (RFC 3581 §4).
            (
                "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1;rport",
                "10.0.0.1:40000",
                Some("10.0.0.1"),
                Some(Some(40000)),
            ),
            (
                "Via: SIP/2.0/UDP 10.0.0.1:5060;rport;branch=z9hG4bK1",
                "192.0.2.7:1234",
                Some("192.0.2.7"),
                Some(Some(1234)),
            ),
            // compact form, IPv6 source (received without brackets, RFC 3261 §20.42 grammar).
            (
                "v: SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK1;rport",
                "[2001:db8::9]:7000",
                Some("2001:db8::9"),
                Some(Some(7000)),
            ),
            // IPv6 sent-by equal to the source.
            (
                "Via: SIP/2.0/TCP [2001:db8::1];branch=z9hG4bK1",
                "[2001:db8::1]:7000",
                None,
                None,
            ),
            // a forged received is replaced by the real source.
            (
                "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1;received=203.0.113.1",
                "10.0.0.1:5060",
                Some("10.0.0.1"),
                None,
            ),
        ];
        for (line, remote, received, rport) in cases {
            let mut msg = request_with_via(line);
            stamp_received(&mut msg, &source(Transport::Udp, remote, None)).expect("stamp");
            let via = msg.headers().top_via().expect("top via");
            assert_eq!(via.received(), received, "{line} from {remote}");
            assert_eq!(via.rport(), rport, "{line} from {remote}");
            assert_eq!(via.branch(), Some("z9hG4bK1"), "{line}: other params kept");
        }
    }

    #[test]
    fn stamp_touches_only_the_first_of_comma_joined_vias() {
        let mut msg = request_with_via(
            "Via: SIP/2.0/UDP a.example;branch=z9hG4bKa;rport, SIP/2.0/UDP b.example;branch=z9hG4bKb;rport",
        );
        stamp_received(&mut msg, &source(Transport::Udp, "192.0.2.7:5555", None)).expect("stamp");
        let vias = msg.headers().vias().expect("vias");
        assert_eq!(vias.len(), 2);
        assert_eq!(vias[0].received(), Some("192.0.2.7"));
        assert_eq!(vias[0].rport(), Some(Some(5555)));
        assert_eq!(vias[1].received(), None);
        assert_eq!(vias[1].rport(), Some(None));
        assert_eq!(vias[1].branch(), Some("z9hG4bKb"));
    }

    #[test]
    fn unchanged_message_keeps_its_bytes_and_responses_are_ignored() {
        let line = "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1";
        let mut msg = request_with_via(line);
        let before = msg.to_bytes();
        stamp_received(&mut msg, &source(Transport::Udp, "10.0.0.1:5060", None)).expect("stamp");
        assert_eq!(msg.to_bytes(), before);

        let text = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.1;rport\r\nFrom: <sip:a@b>;tag=1\r\n\
                    To: <sip:b@c>;tag=2\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
        let mut resp = Message::parse(text.as_bytes()).expect("response");
        let before = resp.to_bytes();
        stamp_received(&mut resp, &source(Transport::Udp, "192.0.2.1:1", None)).expect("noop");
        assert_eq!(resp.to_bytes(), before);
    }

    #[test]
    fn broken_top_via_is_an_error() {
        let mut msg = request_with_via("Via: SIP/3.0/UDP h");
        assert!(stamp_received(&mut msg, &source(Transport::Udp, "10.0.0.1:5060", None)).is_err());
    }

    #[test]
    fn response_target_table() {
        // (Via, transport, source, flow, expected address, expected flow)
        let cases: [(&str, Transport, &str, Option<u64>, &str); 9] = [
            // RFC 3581 §4: received + rport.
            (
                "SIP/2.0/UDP 10.0.0.1:5060;received=192.0.2.7;rport=40000",
                Transport::Udp,
                "192.0.2.7:40000",
                Some(1),
                "192.0.2.7:40000",
            ),
            // RFC 3261 §18.2.2: received, sent-by port.
            (
                "SIP/2.0/UDP 10.0.0.1:5070;received=192.0.2.7",
                Transport::Udp,
                "192.0.2.7:5070",
                Some(1),
                "192.0.2.7:5070",
            ),
            // received, no port: 5060.
            (
                "SIP/2.0/UDP pc.example.com;received=192.0.2.7",
                Transport::Udp,
                "192.0.2.7:3333",
                None,
                "192.0.2.7:5060",
            ),
            // sent-by only.
            (
                "SIP/2.0/UDP 10.0.0.1:5080",
                Transport::Udp,
                "10.0.0.1:5080",
                None,
                "10.0.0.1:5080",
            ),
            // rport with value but no received: the rport rule does not apply.
            (
                "SIP/2.0/UDP 10.0.0.1:5080;rport=9",
                Transport::Udp,
                "10.0.0.1:9",
                None,
                "10.0.0.1:5080",
            ),
            // name without received (unstamped): packet source address, sent-by port.
            (
                "SIP/2.0/UDP pc.example.com:5090",
                Transport::Udp,
                "192.0.2.8:1111",
                None,
                "192.0.2.8:5090",
            ),
            // reliable: same flow; fallback address received + sent-by port.
            (
                "SIP/2.0/TCP 10.0.0.1:5070;received=192.0.2.7;rport=40000",
                Transport::Tcp,
                "192.0.2.7:40000",
                Some(7),
                "192.0.2.7:5070",
            ),
            // TLS default port 5061.
            (
                "SIP/2.0/TLS pc.example.com;received=192.0.2.7",
                Transport::Tls,
                "192.0.2.7:40000",
                Some(8),
                "192.0.2.7:5061",
            ),
            // IPv6 received.
            (
                "SIP/2.0/UDP [2001:db8::1]:5060;received=2001:db8::9;rport=7000",
                Transport::Udp,
                "[2001:db8::9]:7000",
                Some(1),
                "[2001:db8::9]:7000",
            ),
        ];
        for (via, transport, remote, flow, expected) in cases {
            let parsed = Via::parse(via).expect("via parses");
            let src = source(transport.clone(), remote, flow);
            let target = response_target(&parsed, &src);
            assert_eq!(
                target.addr,
                expected.parse::<SocketAddr>().expect("addr"),
                "{via}"
            );
            assert_eq!(target.transport, transport, "{via}");
            assert_eq!(target.flow, flow.map(FlowId), "{via}");
        }
    }
}
