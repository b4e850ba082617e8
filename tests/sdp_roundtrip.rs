//! SDP handling with `rtc-sdp`: a typical PBX offer (PCMU/PCMA/telephone-event, ptime,
//! sendrecv) unmarshals and marshals back byte for byte, and the body our SIP parser
//! extracts from an INVITE feeds it directly.

use std::io::Cursor;
use std::path::Path;

use rtc_sdp::SessionDescription;
use switchboard::sip::message::Message;

const PBX_SDP: &str = "v=0\r\n\
o=switchboard 1699999999 1699999999 IN IP4 10.0.0.1\r\n\
s=switchboard\r\n\
c=IN IP4 10.0.0.1\r\n\
t=0 0\r\n\
m=audio 20000 RTP/AVP 0 8 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=ptime:20\r\n\
a=sendrecv\r\n";

fn unmarshal(text: &[u8]) -> SessionDescription {
    SessionDescription::unmarshal(&mut Cursor::new(text)).unwrap_or_else(|e| panic!("sdp: {e}"))
}

#[test]
fn pbx_sdp_round_trips_byte_identical() {
    let sdp = unmarshal(PBX_SDP.as_bytes());
    assert_eq!(sdp.marshal(), PBX_SDP);
    let audio = &sdp.media_descriptions[0];
    assert_eq!(audio.media_name.formats, ["0", "8", "101"]);
    assert_eq!(audio.attribute("ptime"), Some(Some("20")));
    assert!(audio.has_attribute("sendrecv"));
    let dtmf = sdp
        .get_codec_for_payload_type(101)
        .expect("telephone-event");
    assert_eq!(
        (dtmf.name.as_str(), dtmf.clock_rate, dtmf.fmtp.as_str()),
        ("telephone-event", 8000, "0-16")
    );
}

#[test]
fn invite_body_feeds_the_sdp_parser() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/messages/invite_sdp.sip");
    let wire = std::fs::read(path).expect("fixture");
    let msg = Message::parse(&wire).expect("INVITE parses");
    assert_eq!(msg.headers().content_type(), Some("application/sdp"));
    let sdp = unmarshal(msg.body());
    assert_eq!(sdp.marshal().as_bytes(), msg.body().as_ref());
    assert_eq!(
        sdp.get_codec_for_payload_type(8).expect("PCMA").name,
        "PCMA"
    );
    assert_eq!(sdp.media_descriptions[0].media_name.port.value, 40000);
}
