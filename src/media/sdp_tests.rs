//! Tables for SDP parsing and rewriting.

use super::*;
use std::net::{Ipv4Addr, Ipv6Addr};

const OFFER: &str = "v=0\r\n\
o=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\n\
s=-\r\n\
c=IN IP4 192.0.2.10\r\n\
t=0 0\r\n\
m=audio 49170 RTP/AVP 0 8 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=ptime:20\r\n\
a=sendrecv\r\n";

const HOLD: &str = "v=0\r\n\
o=bob 1 2 IN IP4 198.51.100.7\r\n\
s=call\r\n\
c=IN IP4 198.51.100.7\r\n\
t=0 0\r\n\
a=sendonly\r\n\
m=audio 30000 RTP/AVP 8 0\r\n\
a=rtcp:30011 IN IP4 198.51.100.8\r\n";

const IPV6: &str = "v=0\r\n\
o=- 5 5 IN IP6 2001:db8::1\r\n\
s=-\r\n\
t=0 0\r\n\
m=audio 6000 RTP/AVP 9 101\r\n\
c=IN IP6 2001:db8::1\r\n\
a=rtpmap:101 telephone-event/16000\r\n\
a=rtcp:6005\r\n\
a=inactive\r\n\
m=video 6002 RTP/AVP 96\r\n\
c=IN IP6 2001:db8::1\r\n\
a=rtpmap:96 H264/90000\r\n";

const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 5));

fn names(s: &AudioStream) -> Vec<(u8, &str, u32)> {
    s.payloads
        .iter()
        .map(|p| (p.pt, p.name.as_str(), p.clock_rate))
        .collect()
}

#[test]
fn parses_pcmu_pcma_telephone_event_offer() {
    let s = parse_audio(OFFER.as_bytes()).unwrap().unwrap();
    assert_eq!(s.rtp_addr(), Some("192.0.2.10:49170".parse().unwrap()));
    assert_eq!(s.rtcp_addr(), Some("192.0.2.10:49171".parse().unwrap()));
    assert_eq!(
        names(&s),
        vec![
            (0, "PCMU", 8000),
            (8, "PCMA", 8000),
            (101, "telephone-event", 8000)
        ]
    );
    assert_eq!(s.telephone_event.as_ref().map(|t| t.pt), Some(101));
    assert_eq!(s.direction, Direction::SendRecv);
    assert_eq!(s.ptime, Some(20));
    assert!(!s.is_hold());
}

#[test]
fn parses_session_level_sendonly_hold_and_rtcp_attribute() {
    let s = parse_audio(HOLD.as_bytes()).unwrap().unwrap();
    assert_eq!(s.direction, Direction::SendOnly);
    assert!(s.is_hold());
    assert_eq!(names(&s), vec![(8, "PCMA", 8000), (0, "PCMU", 8000)]);
    assert_eq!(s.telephone_event, None);
    assert_eq!(s.rtcp_addr(), Some("198.51.100.8:30011".parse().unwrap()));
    assert_eq!(s.ptime, None);
}

#[test]
fn parses_ipv6_media_level_connection_and_inactive() {
    let s = parse_audio(IPV6.as_bytes()).unwrap().unwrap();
    let v6: IpAddr = "2001:db8::1".parse().unwrap();
    assert_eq!(s.address, v6);
    assert_eq!(s.rtcp_addr(), Some(SocketAddr::new(v6, 6005)));
    assert_eq!(s.direction, Direction::Inactive);
    assert_eq!(
        s.telephone_event.as_ref().map(|t| t.clock_rate),
        Some(16000)
    );
    assert_eq!(names(&s)[0], (9, "G722", 8000));
}

#[test]
fn errors_and_absent_audio() {
    assert!(matches!(parse_audio(b"\xff\xfe"), Err(SdpError::NotUtf8)));
    assert!(matches!(parse_audio(b"hello"), Err(SdpError::Syntax(_))));
    let no_c = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
    assert!(matches!(
        parse_audio(no_c.as_bytes()),
        Err(SdpError::NoConnection)
    ));
    let bad_c = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 pbx.example\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
    assert!(matches!(
        parse_audio(bad_c.as_bytes()),
        Err(SdpError::BadAddress { .. })
    ));
    let video = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=video 4000 RTP/AVP 96\r\n";
    assert_eq!(parse_audio(video.as_bytes()).unwrap(), None);
}

/// Lines of `a` and `b` that differ, as (index, a, b).
fn diff(a: &[u8], b: &[u8]) -> Vec<(usize, String, String)> {
    let la: Vec<&[u8]> = a.split_inclusive(|&c| c == b'\n').collect();
    let lb: Vec<&[u8]> = b.split_inclusive(|&c| c == b'\n').collect();
    assert_eq!(la.len(), lb.len(), "line count changed");
    la.iter()
        .zip(&lb)
        .enumerate()
        .filter(|(_, (x, y))| x != y)
        .map(|(i, (x, y))| {
            (
                i,
                String::from_utf8_lossy(x).into_owned(),
                String::from_utf8_lossy(y).into_owned(),
            )
        })
        .collect()
}

#[test]
fn rewrite_changes_only_connection_and_port() {
    let out = rewrite(OFFER.as_bytes(), LOCAL, 20000).unwrap();
    assert_eq!(
        diff(OFFER.as_bytes(), &out),
        vec![
            (
                3,
                "c=IN IP4 192.0.2.10\r\n".into(),
                "c=IN IP4 203.0.113.5\r\n".into()
            ),
            (
                5,
                "m=audio 49170 RTP/AVP 0 8 101\r\n".into(),
                "m=audio 20000 RTP/AVP 0 8 101\r\n".into()
            ),
        ]
    );
    let s = parse_audio(&out).unwrap().unwrap();
    assert_eq!(s.rtp_addr(), Some("203.0.113.5:20000".parse().unwrap()));
}

#[test]
fn rewrite_replaces_rtcp_attribute_keeps_direction() {
    let out = rewrite(HOLD.as_bytes(), LOCAL, 20002).unwrap();
    let changed: Vec<usize> = diff(HOLD.as_bytes(), &out).iter().map(|d| d.0).collect();
    assert_eq!(changed, vec![3, 6, 7]);
    let s = parse_audio(&out).unwrap().unwrap();
    assert_eq!(s.rtcp_addr(), Some("203.0.113.5:20003".parse().unwrap()));
    assert_eq!(s.direction, Direction::SendOnly);
}

#[test]
fn rewrite_ipv6_disables_video_and_keeps_bare_lf() {
    let local6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
    let out = rewrite(IPV6.as_bytes(), local6, 20004).unwrap();
    let d = diff(IPV6.as_bytes(), &out);
    let lines: Vec<&str> = d.iter().map(|x| x.2.as_str()).collect();
    assert_eq!(
        lines,
        vec![
            "m=audio 20004 RTP/AVP 9 101\r\n",
            "c=IN IP6 ::1\r\n",
            "a=rtcp:20005\r\n",
            "m=video 0 RTP/AVP 96\r\n",
            "c=IN IP6 ::1\r\n",
        ]
    );
    let lf = OFFER.replace("\r\n", "\n");
    let out = rewrite(lf.as_bytes(), LOCAL, 20000).unwrap();
    assert!(!out.contains(&b'\r'));
    assert_eq!(diff(lf.as_bytes(), &out).len(), 2);
}

#[test]
fn rewrite_keeps_rfc2543_hold_address() {
    let old_hold = OFFER.replace("c=IN IP4 192.0.2.10", "c=IN IP4 0.0.0.0");
    let out = rewrite(old_hold.as_bytes(), LOCAL, 20000).unwrap();
    assert!(parse_audio(&out).unwrap().unwrap().is_hold());
}

#[test]
fn origin_is_stable_and_bumped_only_on_change() {
    let mut origin = SdpOrigin::new(777);
    let first = rewrite_with_origin(OFFER.as_bytes(), LOCAL, 20000, &mut origin).unwrap();
    assert_eq!(
        diff(OFFER.as_bytes(), &first)[0].2,
        "o=switchboard 777 777 IN IP4 203.0.113.5\r\n"
    );
    let again = rewrite_with_origin(OFFER.as_bytes(), LOCAL, 20000, &mut origin).unwrap();
    assert_eq!(
        first, again,
        "re-sent unchanged SDP keeps its version (RFC 3264 §8)"
    );
    let held = rewrite_with_origin(HOLD.as_bytes(), LOCAL, 20000, &mut origin).unwrap();
    assert!(held.starts_with(b"v=0\r\no=switchboard 777 778 IN IP4 203.0.113.5\r\n"));
    assert_eq!(origin.version(), 778);
    assert_eq!(origin.session_id(), 777);
    assert!(SdpOrigin::from_clock().session_id() > 3_900_000_000);
}
