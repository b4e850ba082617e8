//! Differential test against rsip 0.4 (dev-dependency only): for messages both parsers
//! accept, the fields a SIP stack routes on must agree — method/URI or status, Call-ID,
//! CSeq, From/To tags, top Via branch, Content-Length and body.

use std::path::Path;

use rsip::prelude::*;
use switchboard::sip::message::{HeaderName, Message};

/// The compared fields, rendered as strings.
#[derive(Debug, PartialEq, Eq)]
struct Fields {
    start: String,
    call_id: String,
    cseq: String,
    from_tag: Option<String>,
    to_tag: Option<String>,
    branch: Option<String>,
    content_length: Option<String>,
    body: Vec<u8>,
}

fn ours(wire: &[u8]) -> Result<Fields, String> {
    let msg = Message::parse(wire).map_err(|e| e.to_string())?;
    let h = msg.headers();
    let start = match &msg {
        Message::Request(r) => format!("{} {}", r.method, r.uri),
        Message::Response(r) => r.status.to_string(),
    };
    let cseq = h.cseq().map_err(|e| e.to_string())?;
    Ok(Fields {
        start,
        call_id: h.call_id().map_err(|e| e.to_string())?.to_owned(),
        cseq: format!("{} {}", cseq.seq, cseq.method),
        from_tag: h
            .from()
            .map_err(|e| e.to_string())?
            .tag()
            .map(str::to_owned),
        to_tag: h.to().map_err(|e| e.to_string())?.tag().map(str::to_owned),
        branch: h
            .top_via()
            .map_err(|e| e.to_string())?
            .branch()
            .map(str::to_owned),
        content_length: h.get(&HeaderName::ContentLength).map(str::to_owned),
        body: msg.body().to_vec(),
    })
}

fn theirs(wire: &[u8]) -> Result<Fields, String> {
    let msg = rsip::SipMessage::try_from(wire).map_err(|e| e.to_string())?;
    let start = match &msg {
        rsip::SipMessage::Request(r) => format!("{} {}", r.method, r.uri),
        rsip::SipMessage::Response(r) => r.status_code.code().to_string(),
    };
    let e = |e: rsip::Error| e.to_string();
    let cseq = msg.cseq_header().map_err(e)?.typed().map_err(e)?;
    let from = msg.from_header().map_err(e)?.typed().map_err(e)?;
    let to = msg.to_header().map_err(e)?.typed().map_err(e)?;
    let via = msg.via_header().map_err(e)?.typed().map_err(e)?;
    let content_length = msg.headers().iter().find_map(|h| match h {
        rsip::Header::ContentLength(l) => Some(l.value().to_owned()),
        _ => None,
    });
    Ok(Fields {
        start,
        call_id: msg.call_id_header().map_err(e)?.value().to_owned(),
        cseq: format!("{} {}", cseq.seq, cseq.method),
        from_tag: from.tag().map(|t| t.to_string()),
        to_tag: to.tag().map(|t| t.to_string()),
        branch: via.branch().map(|b| b.to_string()),
        content_length,
        body: msg.body().clone(),
    })
}

/// Whether the message's Content-Length is written in the compact form `l:`.
fn compact_length(wire: &[u8]) -> bool {
    let Ok(msg) = Message::parse(wire) else {
        return false;
    };
    let compact = msg.headers().iter().any(|h| {
        *h.name() == HeaderName::ContentLength
            && h.raw().is_some_and(|r| {
                let name = r.split(':').next().unwrap_or_default().trim();
                name.eq_ignore_ascii_case("l")
            })
    });
    compact
}

fn fixture(dir: &str, name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir)
        .join(format!("{name}.sip"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn everyday_messages_agree_with_rsip() {
    let names = [
        "invite_sdp",
        "register_auth",
        "ok_200_invite",
        "ringing_180",
        "bye",
        "options",
        "unauthorized_401",
    ];
    for name in names {
        let wire = fixture("messages", name);
        let a = ours(&wire).unwrap_or_else(|e| panic!("{name}: ours rejected: {e}"));
        let b = theirs(&wire).unwrap_or_else(|e| panic!("{name}: rsip rejected: {e}"));
        assert_eq!(a, b, "{name}");
    }
}

#[test]
fn torture_messages_both_accept_agree() {
    // RFC 4475 messages rsip also parses; the rest it rejects or misreads (see the issue).
    let names = [
        "lwsdisp",
        "semiuri",
        "transports",
        "noreason",
        "bcast",
        "zeromf",
        "cparam02",
        "regaut01",
        "bext01",
        "cparam01",
        "escnull",
        "regescrt",
        "sdp01",
        "invut",
        "unreason",
        "mpart01",
        "inv2543",
    ];
    let mut compared = 0;
    for name in names {
        let wire = fixture("rfc4475", name);
        let a = ours(&wire).unwrap_or_else(|e| panic!("{name}: ours rejected: {e}"));
        let Ok(b) = theirs(&wire) else { continue };
        // rsip has no compact header forms: it does not see `l: 0` as Content-Length.
        let a = if b.content_length.is_none() && compact_length(&wire) {
            Fields {
                content_length: None,
                ..a
            }
        } else {
            a
        };
        assert_eq!(a, b, "{name}");
        compared += 1;
    }
    assert!(compared >= 12, "only {compared} torture messages compared");
}
