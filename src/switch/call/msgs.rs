//! Pure SIP helpers of the B2BUA: the best final response among failed forks (RFC 3261
//! §16.7), session-timer header passthrough (RFC 4028), SDP bodies through the relay,
//! and small builders for the responses and requests the call actor sends.
//!
//! Depends on `sip::message` and `media::sdp`.

use std::net::SocketAddr;

use bytes::Bytes;

use crate::media::sdp::{self, AudioStream, SdpError};
use crate::sip::message::{HeaderName, NameAddr, Request, Response};

/// The SDP content type.
pub const APPLICATION_SDP: &str = "application/sdp";

/// RFC 3261 §16.7 step 6, as a B2BUA applies it to the final responses of its forks:
/// any 6xx wins; otherwise the lowest class; within a class the most telling code (busy
/// first, then format/media problems, then "does not exist", then the vague 480/408/487).
/// A chosen 503 becomes 500 (§16.7: a 503 must not be forwarded upstream). `None` when
/// `statuses` is empty.
pub fn best_response(statuses: &[u16]) -> Option<u16> {
    let chosen = statuses
        .iter()
        .copied()
        .filter(|s| *s >= 300)
        .min_by_key(|s| (class_rank(*s), code_rank(*s)))?;
    Some(if chosen == 503 { 500 } else { chosen })
}

fn class_rank(status: u16) -> u16 {
    match status / 100 {
        6 => 0,
        class => class,
    }
}

fn code_rank(status: u16) -> u8 {
    match status {
        486 | 600 | 603 => 0,
        484 | 488 | 415 | 420 => 1,
        403 | 404 | 410 => 2,
        480 => 4,
        408 => 5,
        487 => 6,
        _ => 3,
    }
}

/// Whether a message body is SDP (by Content-Type; a body without one is taken as SDP,
/// as phones that omit it mean).
pub fn is_sdp(headers: &crate::sip::message::Headers, body: &[u8]) -> bool {
    if body.is_empty() {
        return false;
    }
    match headers.get(&HeaderName::ContentType) {
        Some(ct) => ct
            .split(';')
            .next()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case(APPLICATION_SDP)),
        None => true,
    }
}

/// A phone's SDP: its audio stream (for the relay) and the body rewritten to send media to
/// `relay` (our port facing the *other* phone). `Ok(None)` without an SDP body.
pub fn through_relay(
    headers: &crate::sip::message::Headers,
    body: &[u8],
    relay: SocketAddr,
) -> Result<Option<(Option<AudioStream>, Bytes)>, SdpError> {
    if !is_sdp(headers, body) {
        return Ok(None);
    }
    let stream = sdp::parse_audio(body)?;
    let rewritten = sdp::rewrite(body, relay.ip(), relay.port())?;
    Ok(Some((stream, rewritten)))
}

/// Puts `body` (SDP) on a message's headers: Content-Type; Content-Length is computed on
/// encoding.
pub fn set_sdp_headers(headers: &mut crate::sip::message::Headers) {
    headers.set(HeaderName::ContentType, APPLICATION_SDP);
}

/// RFC 4028 §7.1/§8: a B2BUA that does not refresh itself passes the caller's session
/// timer request on, so the two phones negotiate it end to end and their refreshes
/// (re-INVITE/UPDATE) go through the call.
pub fn copy_session_timer_request(from: &Request, to: &mut Request) {
    for name in [HeaderName::SessionExpires, HeaderName::MinSe] {
        if let Some(v) = from.headers.get(&name) {
            to.headers.set(name, v.to_owned());
        }
    }
    if from
        .headers
        .values(&HeaderName::Supported)
        .any(|v| v.eq_ignore_ascii_case("timer"))
    {
        to.headers.push(HeaderName::Supported, "timer");
    }
}

/// RFC 4028 §9: the answerer's 2xx carries the negotiated Session-Expires (with the
/// refresher) and `Require: timer`; the same values go to the requester (`request`, the
/// request being answered). When the answerer ignored the timer but the requester asked
/// for one and supports it, the B2BUA honours it minimally: the same interval, with the
/// requester as refresher (RFC 4028 §9 "refresher=uac"); its refreshes pass through.
pub fn copy_session_timer_answer(request: &Request, from: &Response, to: &mut Response) {
    let wants_timer = |h: &crate::sip::message::Headers, name: &HeaderName| {
        h.values(name).any(|v| v.eq_ignore_ascii_case("timer"))
    };
    if let Some(v) = from.headers.get(&HeaderName::SessionExpires) {
        to.headers.set(HeaderName::SessionExpires, v.to_owned());
        if wants_timer(&from.headers, &HeaderName::Require) {
            to.headers.push(HeaderName::Require, "timer");
        }
        return;
    }
    let asked = request.headers.get(&HeaderName::SessionExpires);
    if let Some(asked) = asked {
        if wants_timer(&request.headers, &HeaderName::Supported) {
            let interval = asked.split(';').next().unwrap_or(asked).trim();
            to.headers.set(
                HeaderName::SessionExpires,
                format!("{interval};refresher=uac"),
            );
            to.headers.push(HeaderName::Require, "timer");
        }
    }
}

/// A response to `req` with our To tag, Contact (for 1xx/2xx to INVITE) and Server.
pub fn response_to(
    req: &Request,
    status: u16,
    reason: Option<&str>,
    to_tag: &str,
    contact: Option<&NameAddr>,
    server: &str,
) -> Response {
    let mut resp = Response::for_request(req, status, reason, Some(to_tag));
    if let Some(contact) = contact {
        resp.headers.push(HeaderName::Contact, contact.to_string());
    }
    resp.headers.push(HeaderName::Server, server);
    resp
}

/// The user part of a SIP/tel URI (the dialed number), if any.
pub fn user_of(uri: &crate::sip::message::Uri) -> Option<&str> {
    match uri {
        crate::sip::message::Uri::Sip(sip) => sip.user.as_deref(),
        crate::sip::message::Uri::Tel(tel) => Some(tel.number.as_str()),
        crate::sip::message::Uri::Other(_) => None,
    }
}

/// Most `X-` headers copied into channel variables (a bound on what a peer can make us keep).
const MAX_X_HEADERS: usize = 32;

/// The channel variables an inbound INVITE gives its channel, named as FreeSWITCH does so
/// CDR custom fields read the same (`sip_h_X-Campaign`): the Call-ID, From user and
/// display name, To and Request-URI users, User-Agent, the source address, and every
/// `X-` header (up to [`MAX_X_HEADERS`]) as `sip_h_<Name>`.
pub fn inbound_variables(
    request: &crate::sip::message::Request,
    source: &crate::sip::transport::Source,
) -> Vec<(String, String)> {
    use crate::sip::message::HeaderName;
    let h = &request.headers;
    let mut vars = Vec::new();
    let mut put = |name: &str, value: Option<&str>| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            vars.push((name.to_owned(), v.to_owned()));
        }
    };
    put("sip_call_id", h.call_id().ok());
    let from = h.from().ok();
    put("sip_from_user", from.as_ref().and_then(|f| user_of(&f.uri)));
    put(
        "sip_from_display",
        from.as_ref().and_then(|f| f.display.as_deref()),
    );
    let to = h.to().ok();
    put("sip_to_user", to.as_ref().and_then(|t| user_of(&t.uri)));
    put("sip_req_user", user_of(&request.uri));
    put("sip_user_agent", h.get(&HeaderName::UserAgent));
    put("sip_network_ip", Some(&source.remote.ip().to_string()));
    put("sip_network_port", Some(&source.remote.port().to_string()));
    let x_headers = h
        .iter()
        .filter_map(|header| match header.name() {
            HeaderName::Other(name) if name.len() > 2 && name[..2].eq_ignore_ascii_case("x-") => {
                Some((format!("sip_h_{name}"), header.value().to_owned()))
            }
            _ => None,
        })
        .take(MAX_X_HEADERS);
    vars.extend(x_headers);
    vars
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inbound_variables_name_sip_facts_and_x_headers() {
        let raw = "INVITE sip:1000@switchboard.test SIP/2.0\r\n\
            Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\n\
            From: \"Ext 1001\" <sip:1001@switchboard.test>;tag=a\r\n\
            To: <sip:1000@switchboard.test>\r\n\
            Call-ID: abc@h\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n\
            User-Agent: phone/1\r\nX-Campaign: spring\r\nx-id: 7\r\n\
            Content-Length: 0\r\n\r\n";
        let crate::sip::message::Message::Request(req) =
            crate::sip::message::Message::parse(raw.as_bytes()).expect("parse")
        else {
            panic!("not a request")
        };
        let source = crate::sip::transport::Source {
            transport: crate::sip::message::Transport::Udp,
            remote: "127.0.0.1:5070".parse().expect("addr"),
            local: "127.0.0.1:5060".parse().expect("addr"),
            flow: None,
        };
        let vars: std::collections::HashMap<String, String> =
            inbound_variables(&req, &source).into_iter().collect();
        let get = |k: &str| vars.get(k).map(String::as_str);
        assert_eq!(get("sip_call_id"), Some("abc@h"));
        assert_eq!(get("sip_from_user"), Some("1001"));
        assert_eq!(get("sip_from_display"), Some("Ext 1001"));
        assert_eq!(get("sip_to_user"), Some("1000"));
        assert_eq!(get("sip_req_user"), Some("1000"));
        assert_eq!(get("sip_user_agent"), Some("phone/1"));
        assert_eq!(get("sip_network_ip"), Some("127.0.0.1"));
        assert_eq!(get("sip_network_port"), Some("5070"));
        assert_eq!(get("sip_h_X-Campaign"), Some("spring"));
        assert_eq!(get("sip_h_x-id"), Some("7"));
        assert_eq!(vars.len(), 10, "{vars:?}");
    }

    #[test]
    fn best_response_follows_rfc3261_16_7() {
        let cases: &[(&[u16], Option<u16>)] = &[
            (&[], None),
            (&[486], Some(486)),
            (&[480, 486], Some(486)),
            (&[408, 480], Some(480)),
            (&[487, 480], Some(480)),
            (&[503, 404], Some(404)),
            (&[503], Some(500)),
            (&[486, 603], Some(603)),
            (&[302, 486], Some(302)),
            (&[500, 600], Some(600)),
            (&[404, 488], Some(488)),
        ];
        for (statuses, want) in cases {
            assert_eq!(best_response(statuses), *want, "{statuses:?}");
        }
    }

    #[test]
    fn sdp_detection_uses_content_type() {
        let mut h = crate::sip::message::Headers::new();
        assert!(!is_sdp(&h, b""));
        assert!(is_sdp(&h, b"v=0\r\n"));
        h.set(HeaderName::ContentType, "application/SDP; charset=x");
        assert!(is_sdp(&h, b"v=0\r\n"));
        h.set(HeaderName::ContentType, "application/dtmf-relay");
        assert!(!is_sdp(&h, b"Signal=1\r\n"));
    }

    #[test]
    fn sdp_goes_through_the_relay() {
        let body = b"v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendonly\r\n";
        let h = crate::sip::message::Headers::new();
        let relay: SocketAddr = "127.0.0.1:30002".parse().expect("addr");
        let (stream, out) = through_relay(&h, body, relay).expect("valid").expect("sdp");
        let stream = stream.expect("audio");
        assert_eq!(stream.port, 4000);
        assert!(stream.is_hold());
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains("m=audio 30002 "), "{text}");
        assert!(text.contains("c=IN IP4 127.0.0.1"), "{text}");
        assert!(through_relay(&h, b"", relay).expect("ok").is_none());
    }

    #[test]
    fn session_timer_headers_pass_through() {
        let mut a = Request::new(
            crate::sip::message::Method::Invite,
            crate::sip::message::Uri::parse("sip:1001@x").expect("uri"),
        );
        a.headers
            .push(HeaderName::SessionExpires, "1800;refresher=uac");
        a.headers.push(HeaderName::MinSe, "90");
        a.headers.push(HeaderName::Supported, "timer, 100rel");
        let mut b = Request::new(a.method.clone(), a.uri.clone());
        copy_session_timer_request(&a, &mut b);
        assert_eq!(
            b.headers.get(&HeaderName::SessionExpires),
            Some("1800;refresher=uac")
        );
        assert_eq!(b.headers.get(&HeaderName::MinSe), Some("90"));
        assert_eq!(b.headers.get(&HeaderName::Supported), Some("timer"));
        let mut ok = Response::new(200, "OK");
        ok.headers
            .push(HeaderName::SessionExpires, "1800;refresher=uas");
        ok.headers.push(HeaderName::Require, "timer");
        let mut to_a = Response::new(200, "OK");
        copy_session_timer_answer(&a, &ok, &mut to_a);
        assert_eq!(
            to_a.headers.get(&HeaderName::SessionExpires),
            Some("1800;refresher=uas")
        );
        assert_eq!(to_a.headers.get(&HeaderName::Require), Some("timer"));
        // The callee ignored the timer: the caller gets its own interval, refreshing itself.
        let mut to_a = Response::new(200, "OK");
        copy_session_timer_answer(&a, &Response::new(200, "OK"), &mut to_a);
        assert_eq!(
            to_a.headers.get(&HeaderName::SessionExpires),
            Some("1800;refresher=uac")
        );
        assert_eq!(to_a.headers.get(&HeaderName::Require), Some("timer"));
        // No timer asked: nothing added.
        let plain = Request::new(a.method.clone(), a.uri.clone());
        let mut to_a = Response::new(200, "OK");
        copy_session_timer_answer(&plain, &Response::new(200, "OK"), &mut to_a);
        assert!(to_a.headers.get(&HeaderName::SessionExpires).is_none());
    }
}
