//! Building what the endpoint puts on requests it sends for the transaction user: the top
//! Via (our transport and address, a fresh branch, `rport`), our Contact, and new
//! out-of-dialog requests (RFC 3261 §8.1.1).
//!
//! Depends on `sip::message` and `sip::dialog` (for [`SentBy`]).

use std::net::{IpAddr, SocketAddr, UdpSocket};

use crate::sip::dialog::SentBy;
use crate::sip::message::{
    new_branch, new_tag, HeaderName, Host, Method, NameAddr, Request, Scheme, SipUri, Transport,
    Uri, Via,
};

/// Max-Forwards on requests we originate (RFC 3261 §8.1.1.6 recommends 70).
pub const MAX_FORWARDS: u32 = 70;

/// The parts of a new out-of-dialog request (RFC 3261 §8.1.1); see [`new_uac_request`].
#[derive(Debug, Clone)]
pub struct UacRequest {
    /// Method (INVITE, OPTIONS, ...; not ACK or CANCEL, which are derived from a request).
    pub method: Method,
    /// Request-URI.
    pub uri: Uri,
    /// From; a fresh tag is added when it has none (§8.1.1.3).
    pub from: NameAddr,
    /// To; normally without a tag (§8.1.1.2).
    pub to: NameAddr,
    /// Call-ID (see [`crate::sip::message::new_call_id`]).
    pub call_id: String,
    /// CSeq number (§8.1.1.5: any value below 2^31).
    pub cseq: u32,
    /// Contact (§8.1.1.8: mandatory in INVITE); see `SipHandle::local_contact`.
    pub contact: Option<NameAddr>,
}

/// Builds a request per RFC 3261 §8.1.1: Request-URI, To, From (tagged), Call-ID, CSeq,
/// Max-Forwards 70, Contact, Content-Length 0. No Via: `SipHandle::send_request` adds it.
/// The caller adds a body (with Content-Type), Route, credentials, etc.
pub fn new_uac_request(spec: UacRequest) -> Request {
    let UacRequest {
        method,
        uri,
        mut from,
        to,
        call_id,
        cseq,
        contact,
    } = spec;
    if from.tag().is_none() {
        from.set_tag(&new_tag());
    }
    let mut req = Request::new(method.clone(), uri);
    let h = &mut req.headers;
    h.push(HeaderName::MaxForwards, MAX_FORWARDS.to_string());
    h.push(HeaderName::From, from.to_string());
    h.push(HeaderName::To, to.to_string());
    h.push(HeaderName::CallId, call_id);
    h.push(HeaderName::CSeq, format!("{cseq} {method}"));
    if let Some(contact) = contact {
        h.push(HeaderName::Contact, contact.to_string());
    }
    h.push(HeaderName::ContentLength, "0");
    req
}

/// The address to advertise in Via and Contact for a listener bound to `local` when
/// talking to `remote`: the listener's address, or — for a wildcard bind — the source
/// address the kernel would pick to reach `remote` (a connected UDP socket sends nothing).
pub fn advertised(local: SocketAddr, remote: SocketAddr) -> SocketAddr {
    if !local.ip().is_unspecified() {
        return local;
    }
    let probe = UdpSocket::bind(SocketAddr::new(local.ip(), 0))
        .and_then(|s| s.connect(remote).map(|()| s))
        .and_then(|s| s.local_addr());
    match probe {
        Ok(addr) => SocketAddr::new(addr.ip(), local.port()),
        Err(_) => local,
    }
}

/// A host for Via/Contact from an IP address.
pub fn host_of(ip: IpAddr) -> Host {
    match ip {
        IpAddr::V4(v4) => Host::V4(v4),
        IpAddr::V6(v6) => Host::V6(v6),
    }
}

/// Our top Via for a request leaving on `transport` from `addr`: a fresh branch (RFC 3261
/// §8.1.1.7) and `rport` (RFC 3581 §3).
pub fn our_via(transport: &Transport, addr: SocketAddr) -> Via {
    let mut via = Via::new(
        transport.clone(),
        host_of(addr.ip()),
        Some(addr.port()),
        &new_branch(),
    );
    via.params.set("rport", None);
    via
}

/// The sent-by the dialog layer needs to build in-dialog requests.
pub fn sent_by(transport: &Transport, addr: SocketAddr) -> SentBy {
    SentBy {
        transport: transport.clone(),
        host: host_of(addr.ip()),
        port: Some(addr.port()),
    }
}

/// Our Contact `<sip:[user@]ip:port[;transport=tcp|tls]>` (RFC 3261 §8.1.1.8).
pub fn contact(transport: &Transport, addr: SocketAddr, user: Option<&str>) -> NameAddr {
    let mut uri = SipUri::new(Scheme::Sip, host_of(addr.ip()));
    uri.user = user.map(str::to_owned);
    uri.port = Some(addr.port());
    if !matches!(transport, Transport::Udp) {
        uri.params
            .set("transport", Some(transport.as_str().to_ascii_lowercase()));
    }
    NameAddr::new(Uri::Sip(uri))
}

/// Replaces every Via of `req` with `via` (a UA sends requests with a single Via).
pub fn set_via(req: &mut Request, via: &Via) {
    req.headers.remove(&HeaderName::Via);
    req.headers.push_front(HeaderName::Via, via.to_string());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uac_request_has_mandatory_headers() {
        let from = NameAddr::parse("<sip:1000@switchboard.test>").expect("from");
        let to = NameAddr::parse("<sip:1001@switchboard.test>").expect("to");
        let addr: SocketAddr = "127.0.0.1:5060".parse().expect("addr");
        let mut req = new_uac_request(UacRequest {
            method: Method::Invite,
            uri: Uri::parse("sip:1001@127.0.0.1:5070").expect("uri"),
            from,
            to,
            call_id: "cid".into(),
            cseq: 7,
            contact: Some(contact(&Transport::Tcp, addr, Some("1000"))),
        });
        set_via(&mut req, &our_via(&Transport::Tcp, addr));
        req.validate().expect("valid");
        let h = &req.headers;
        assert_eq!(h.max_forwards().expect("mf"), Some(70));
        assert!(h.from().expect("from").tag().is_some());
        assert!(h.to().expect("to").tag().is_none());
        assert_eq!(h.cseq().expect("cseq").seq, 7);
        let via = h.top_via().expect("via");
        assert!(via.branch().is_some_and(|b| b.starts_with("z9hG4bK")));
        assert_eq!(via.rport(), Some(None));
        assert_eq!(
            h.get(&HeaderName::Contact),
            Some("<sip:1000@127.0.0.1:5060;transport=tcp>")
        );
    }

    #[test]
    fn wildcard_bind_advertises_a_routable_address() {
        let local: SocketAddr = "0.0.0.0:5060".parse().expect("addr");
        let remote: SocketAddr = "127.0.0.1:5070".parse().expect("addr");
        assert_eq!(
            advertised(local, remote),
            "127.0.0.1:5060".parse().expect("a")
        );
        let fixed: SocketAddr = "127.0.0.2:5060".parse().expect("addr");
        assert_eq!(advertised(fixed, remote), fixed);
    }
}
