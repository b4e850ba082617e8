//! Unit tests for [`super`]: datagram Content-Length rules and the stream framer.

use super::*;

const HEAD: &str =
    "MESSAGE sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nCall-ID: c\r\n";

fn with_length(cl: &[&str], body: &str) -> Vec<u8> {
    let mut s = HEAD.to_owned();
    for v in cl {
        s.push_str(&format!("Content-Length: {v}\r\n"));
    }
    s.push_str("\r\n");
    s.push_str(body);
    s.into_bytes()
}

#[test]
fn datagram_content_length_rules() {
    type Case = (
        &'static [&'static str],
        &'static str,
        Result<&'static str, ParseError>,
    );
    let cases: &[Case] = &[
        (&["5"], "hello", Ok("hello")),
        (&["5"], "hello trailing junk", Ok("hello")),
        (&[], "rest of datagram", Ok("rest of datagram")),
        (&["0"], "", Ok("")),
        (&["5", " 5 "], "hello", Ok("hello")),
        (&["9"], "hello", Err(ParseError::Truncated)),
        (&["5", "6"], "hello!", Err(ParseError::BadContentLength)),
        (&["-5"], "hello", Err(ParseError::BadContentLength)),
        (&["five"], "hello", Err(ParseError::BadContentLength)),
        (&[""], "hello", Err(ParseError::BadContentLength)),
        (
            &["99999999999999999999"],
            "x",
            Err(ParseError::BadContentLength),
        ),
    ];
    for (cl, body, want) in cases {
        let got = Message::parse(&with_length(cl, body)).map(|m| m.body().clone());
        let want = want.clone().map(|b| Bytes::copy_from_slice(b.as_bytes()));
        assert_eq!(got, want, "{cl:?} {body:?}");
    }
}

#[test]
fn stream_frames_several_messages_and_partial_reads() {
    let a = with_length(&["5"], "hello");
    let b = with_length(&["0"], "");
    let mut all = Vec::new();
    all.extend_from_slice(&a);
    all.extend_from_slice(b"\r\n\r\n");
    all.extend_from_slice(&b);
    all.extend_from_slice(b"\r\n");
    // Feed in every chunk size to exercise partial reads.
    for chunk in [1, 2, 3, 7, 64, all.len()] {
        let mut f = StreamFramer::new(4096);
        let mut got = Vec::new();
        for piece in all.chunks(chunk) {
            f.extend(piece);
            while let Some(item) = f.next().expect("valid stream") {
                got.push(item);
            }
        }
        let pings = got.iter().filter(|i| **i == Framed::KeepAlivePing).count();
        let pongs = got.iter().filter(|i| **i == Framed::KeepAlivePong).count();
        let msgs: Vec<&Framed> = got
            .iter()
            .filter(|i| matches!(i, Framed::Message(_)))
            .collect();
        assert_eq!(
            msgs,
            [
                &Framed::Message(Bytes::from(a.clone())),
                &Framed::Message(Bytes::from(b.clone()))
            ],
            "chunk {chunk}"
        );
        // A ping split across reads may be reported as two pongs.
        assert!(
            pings == 1 && pongs == 1 || chunk <= 3 && pings + pongs >= 2,
            "chunk {chunk}: {got:?}"
        );
        assert_eq!(f.buffered(), 0);
    }
}

#[test]
fn stream_errors() {
    let mut f = StreamFramer::new(100);
    f.extend(&with_length(&["5000"], ""));
    assert_eq!(f.next(), Err(ParseError::TooLarge));

    let mut f = StreamFramer::new(64);
    f.extend(&[b'A'; 65]);
    assert_eq!(f.next(), Err(ParseError::TooLarge));

    let mut f = StreamFramer::new(4096);
    f.extend(&with_length(&[], ""));
    assert_eq!(f.next(), Err(ParseError::MissingHeader("Content-Length")));

    let mut f = StreamFramer::new(4096);
    f.extend(&with_length(&["1", "2"], "ab"));
    assert_eq!(f.next(), Err(ParseError::BadContentLength));

    let mut f = StreamFramer::new(4096);
    f.extend(b"OPTIONS sip:a SIP/2.0\r\nl: 3\r\n\r\nab");
    assert_eq!(f.next(), Ok(None));
    f.extend(b"c");
    assert!(matches!(f.next(), Ok(Some(Framed::Message(m))) if m.ends_with(b"abc")));
}
