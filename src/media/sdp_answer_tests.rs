//! Tests of our own SDP answers and offers.

use super::*;
use crate::media::sdp::SdpOrigin;

const LOCAL: &str = "127.0.0.1:30000";

fn offer(media: &str) -> Vec<u8> {
    format!("v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n{media}")
        .into_bytes()
}

fn local() -> SocketAddr {
    LOCAL.parse().expect("addr")
}

fn text(a: &AudioAnswer) -> String {
    String::from_utf8(a.body.to_vec()).expect("utf8")
}

#[test]
fn answers_the_first_codec_with_telephone_event_on_our_port() {
    let body = offer(
        "m=audio 4000 RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n",
    );
    let mut origin = SdpOrigin::new(42);
    let a = answer_audio(&body, local(), &mut origin).expect("answer");
    let t = text(&a);
    assert_eq!(a.codec.pt, 8);
    assert_eq!(a.telephone_event, Some(101));
    assert_eq!(a.direction, Direction::SendRecv);
    assert_eq!(a.offer.port, 4000);
    for line in [
        "o=switchboard 42 42 IN IP4 127.0.0.1\r\n",
        "c=IN IP4 127.0.0.1\r\n",
        "m=audio 30000 RTP/AVP 8 101\r\n",
        "a=rtpmap:8 PCMA/8000\r\n",
        "a=rtpmap:101 telephone-event/8000\r\n",
        "a=fmtp:101 0-15\r\n",
        "a=ptime:20\r\n",
        "a=sendrecv\r\n",
    ] {
        assert!(t.contains(line), "{line:?} missing in\n{t}");
    }
    assert!(!t.contains("PCMU"), "only one codec answered:\n{t}");
    // Our answer parses back as a stream on our port.
    let back = parse_audio(&a.body).expect("valid").expect("audio");
    assert_eq!(back.rtp_addr(), Some(local()));
}

#[test]
fn skips_non_codecs_and_keeps_fmtp_and_channels() {
    let body = offer(
        "m=audio 4000 RTP/AVP 13 96 101 111\r\na=rtpmap:96 telephone-event/48000\r\n\
         a=rtpmap:101 telephone-event/8000\r\na=rtpmap:111 opus/48000/2\r\n\
         a=fmtp:111 minptime=10;useinbandfec=1\r\n",
    );
    let a = answer_audio(&body, local(), &mut SdpOrigin::new(1)).expect("answer");
    let t = text(&a);
    assert_eq!(a.codec.name, "opus");
    assert_eq!(
        a.telephone_event,
        Some(96),
        "event clock matches the codec's"
    );
    assert!(t.contains("m=audio 30000 RTP/AVP 111 96\r\n"), "{t}");
    assert!(t.contains("a=rtpmap:111 opus/48000/2\r\n"), "{t}");
    assert!(
        t.contains("a=fmtp:111 minptime=10;useinbandfec=1\r\n"),
        "{t}"
    );
    assert!(!t.contains("a=ptime"), "{t}");
}

#[test]
fn direction_follows_rfc3264_and_other_streams_are_refused() {
    let body = offer(
        "m=audio 4000 RTP/AVP 0\r\na=sendonly\r\nm=video 5000 RTP/AVP 96\r\n\
         a=rtpmap:96 VP8/90000\r\n",
    );
    let a = answer_audio(&body, local(), &mut SdpOrigin::new(1)).expect("answer");
    let t = text(&a);
    assert_eq!(a.direction, Direction::RecvOnly);
    assert!(t.contains("a=recvonly\r\n"), "{t}");
    assert!(
        t.contains("m=audio 30000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"),
        "{t}"
    );
    assert!(t.contains("m=video 0 RTP/AVP 96\r\n"), "{t}");
    let cases = [
        (Direction::SendRecv, Direction::SendRecv),
        (Direction::SendOnly, Direction::RecvOnly),
        (Direction::RecvOnly, Direction::SendOnly),
        (Direction::Inactive, Direction::Inactive),
    ];
    for (offered, answered) in cases {
        assert_eq!(answer_direction(offered), answered);
    }
}

#[test]
fn unusable_offers_are_errors() {
    let only_events = offer("m=audio 4000 RTP/AVP 101 13\r\na=rtpmap:101 telephone-event/8000\r\n");
    assert!(matches!(
        answer_audio(&only_events, local(), &mut SdpOrigin::new(1)),
        Err(AnswerError::NoCodec)
    ));
    let srtp = offer("m=audio 4000 RTP/SAVP 0\r\n");
    assert!(matches!(
        answer_audio(&srtp, local(), &mut SdpOrigin::new(1)),
        Err(AnswerError::Transport { proto }) if proto == "RTP/SAVP"
    ));
    let video = offer("m=video 4000 RTP/AVP 96\r\n");
    assert!(matches!(
        answer_audio(&video, local(), &mut SdpOrigin::new(1)),
        Err(AnswerError::NoAudio)
    ));
    let disabled = offer("m=audio 0 RTP/AVP 0\r\n");
    assert!(matches!(
        answer_audio(&disabled, local(), &mut SdpOrigin::new(1)),
        Err(AnswerError::NoAudio)
    ));
    assert!(matches!(
        answer_audio(b"garbage", local(), &mut SdpOrigin::new(1)),
        Err(AnswerError::Sdp(_))
    ));
}

#[test]
fn version_is_bumped_only_when_the_answer_changes() {
    let mut origin = SdpOrigin::new(7);
    let body = offer("m=audio 4000 RTP/AVP 0\r\n");
    let first = answer_audio(&body, local(), &mut origin).expect("answer");
    let again = answer_audio(&body, local(), &mut origin).expect("answer");
    assert_eq!(first.body, again.body, "a re-sent answer keeps its version");
    let hold = offer("m=audio 4000 RTP/AVP 0\r\na=sendonly\r\n");
    let held = answer_audio(&hold, local(), &mut origin).expect("answer");
    assert!(
        text(&held).contains("o=switchboard 7 8 IN IP4"),
        "{}",
        text(&held)
    );
}

#[test]
fn late_offer_lists_g711_and_events() {
    let mut origin = SdpOrigin::new(3);
    let body = offer_audio(local(), &mut origin);
    let stream = parse_audio(&body).expect("valid").expect("audio");
    assert_eq!(stream.rtp_addr(), Some(local()));
    let pts: Vec<u8> = stream.payloads.iter().map(|p| p.pt).collect();
    assert_eq!(pts, LATE_OFFER_PAYLOADS);
    assert_eq!(stream.telephone_event.map(|t| t.pt), Some(101));
    // An answer to our own offer picks PCMA.
    let a = answer_audio(&body, local(), &mut SdpOrigin::new(4)).expect("answer");
    assert_eq!(a.codec.name, "PCMA");
}

#[test]
fn preferred_codecs_win_in_the_offer_order() {
    let body = offer(
        "m=audio 4000 RTP/AVP 9 111 8 0 101\r\na=rtpmap:111 opus/48000/2\r\n\
         a=rtpmap:101 telephone-event/8000\r\n",
    );
    let prefer = ["PCMU", "pcma"];
    let a =
        answer_audio_preferring(&body, local(), &mut SdpOrigin::new(1), &prefer).expect("answer");
    assert_eq!(
        (a.codec.pt, a.codec.name.as_str()),
        (8, "PCMA"),
        "offer order decides"
    );
    assert_eq!(a.telephone_event, Some(101));
    assert!(
        text(&a).contains("m=audio 30000 RTP/AVP 8 101\r\n"),
        "{}",
        text(&a)
    );
    // None of the preferred offered: the first codec the relay can carry.
    let g722 = offer("m=audio 4000 RTP/AVP 13 9\r\n");
    let a =
        answer_audio_preferring(&g722, local(), &mut SdpOrigin::new(1), &prefer).expect("answer");
    assert_eq!(a.codec.name, "G722");
    let only_events = offer("m=audio 4000 RTP/AVP 101\r\na=rtpmap:101 telephone-event/8000\r\n");
    assert!(matches!(
        answer_audio_preferring(&only_events, local(), &mut SdpOrigin::new(1), &prefer),
        Err(AnswerError::NoCodec)
    ));
}

#[test]
fn offer_codec_offers_exactly_that_codec_and_events() {
    let codec = PayloadType {
        pt: 8,
        name: "PCMA".into(),
        clock_rate: 8000,
    };
    let body = offer_codec(local(), &mut SdpOrigin::new(5), &codec, Some(101));
    let t = String::from_utf8(body.to_vec()).expect("utf8");
    for line in [
        "m=audio 30000 RTP/AVP 8 101\r\n",
        "a=rtpmap:8 PCMA/8000\r\n",
        "a=rtpmap:101 telephone-event/8000\r\n",
        "a=fmtp:101 0-16\r\n",
        "a=ptime:20\r\n",
        "a=sendrecv\r\n",
    ] {
        assert!(t.contains(line), "{line:?} missing in\n{t}");
    }
    let stream = parse_audio(&body).expect("valid").expect("audio");
    assert_eq!(stream.rtp_addr(), Some(local()));
    assert_eq!(stream.payloads.len(), 2);
    assert_eq!(stream.telephone_event.map(|e| e.pt), Some(101));
    // A dynamic codec keeps its number; Opus gets its channel count; no events asked.
    let opus = PayloadType {
        pt: 111,
        name: "opus".into(),
        clock_rate: 48000,
    };
    let body = offer_codec(local(), &mut SdpOrigin::new(5), &opus, None);
    let t = String::from_utf8(body.to_vec()).expect("utf8");
    assert!(
        t.contains("m=audio 30000 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n"),
        "{t}"
    );
    assert!(!t.contains("telephone-event"), "{t}");
    // The answer of the phone we offered to takes the same codec.
    let back = answer_audio(&body, local(), &mut SdpOrigin::new(6)).expect("answer");
    assert_eq!(back.codec, opus);
}
