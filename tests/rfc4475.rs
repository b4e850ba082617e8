//! RFC 4475 torture tests, table-driven over tests/fixtures/rfc4475/*.sip (CRLF wire
//! fixtures written by make_fixtures.py from the RFC's descriptions).
//!
//! Outcomes: `Valid` (parses and validates; key fields checked; encoding reproduces the
//! input), `Rejected` (Message::parse fails with that error), `Invalid` (parses, but
//! `validate()` fails with that error, so the endpoint answers 400; `InvalidAnd` also runs a
//! check of the other flagged fields), `Flagged` (parses
//! and validates, and the check shows what a higher layer must act on).

use std::path::Path;

use switchboard::sip::message::{
    ContactValue, HeaderName, Host, Message, Method, ParseError, Transport, Uri,
};

type Check = fn(&Message);

enum Outcome {
    Valid(Check),
    Rejected(ParseError),
    Invalid(ParseError),
    InvalidAnd(ParseError, Check),
    Flagged(Check),
}
use Outcome::*;

const fn bad(header: &'static str) -> ParseError {
    ParseError::BadHeaderValue { header }
}

fn req(m: &Message) -> &switchboard::sip::message::Request {
    match m {
        Message::Request(r) => r,
        Message::Response(_) => panic!("expected a request"),
    }
}

fn resp(m: &Message) -> &switchboard::sip::message::Response {
    match m {
        Message::Response(r) => r,
        Message::Request(_) => panic!("expected a response"),
    }
}

fn sip_user(uri: &Uri) -> Option<&str> {
    uri.as_sip().and_then(|u| u.user.as_deref())
}

fn addr(c: &ContactValue) -> &switchboard::sip::message::NameAddr {
    match c {
        ContactValue::Addr(a) => a,
        ContactValue::Star => panic!("unexpected *"),
    }
}

fn wsinv(m: &Message) {
    let r = req(m);
    assert_eq!(r.method, Method::Invite);
    assert_eq!(
        r.uri.to_string(),
        "sip:vivekg@chair-dnrc.example.com;unknownparam"
    );
    let h = &r.headers;
    assert_eq!(h.to().unwrap().tag(), Some("1918181833n"));
    let from = h.from().unwrap();
    assert_eq!(from.tag(), Some("98asjd8"));
    assert_eq!(from.display.as_deref(), Some("J Rosenberg \\\\\\\""));
    assert_eq!(h.max_forwards(), Ok(Some(68)));
    let cseq = h.cseq().unwrap();
    assert_eq!((cseq.seq, cseq.method), (9, Method::Invite));
    let vias = h.vias().unwrap();
    assert_eq!(vias.len(), 3);
    assert_eq!(
        (vias[0].transport.clone(), vias[0].branch()),
        (Transport::Udp, Some("390skdjuw"))
    );
    assert_eq!(vias[1].host, Host::Name("spindle.example.com".into()));
    assert_eq!(vias[2].branch(), Some("z9hG4bK30239"));
    assert_eq!(h.routes(&HeaderName::Route).unwrap().len(), 1);
    let contacts = h.contacts().unwrap();
    assert_eq!(contacts.len(), 1);
    assert_eq!(addr(&contacts[0]).params.get("q"), Some(Some("0.33")));
    assert_eq!(
        addr(&contacts[0]).params.get("newparam"),
        Some(Some("newvalue"))
    );
    assert_eq!(h.get(&HeaderName::Subject), Some(""));
    assert_eq!(
        h.get(&"newfangledheader".into()),
        Some("newfangled value continued newfangled value")
    );
    assert_eq!(
        h.get(&"UnknownHeaderWithUnusualValue".into()),
        Some(";;,,;;,;")
    );
    assert_eq!(r.body.len(), 149);
}

fn intmeth(m: &Message) {
    let r = req(m);
    let method = "!interesting-Method0123456789_*+`.%indeed'~";
    assert_eq!(r.method, Method::Extension(method.into()));
    assert_eq!(
        sip_user(&r.uri),
        Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
    );
    assert_eq!(
        r.uri.as_sip().unwrap().password.as_deref(),
        Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
    );
    let h = &r.headers;
    assert_eq!(h.cseq().unwrap().seq, 139122385);
    assert!(h.to().unwrap().display.unwrap().starts_with("BEL:\\\u{7}"));
    assert_eq!(h.from().unwrap().tag(), Some("_token~1'+`*%!-."));
    assert_eq!(
        h.call_id(),
        Ok("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{")
    );
    assert_eq!(
        h.get(&"extensionHeader-!.%*+_`'~".into()),
        Some("\u{feff}大停電")
    );
    assert_eq!(h.max_forwards(), Ok(Some(255)));
}

fn esc01(m: &Message) {
    let r = req(m);
    assert_eq!(sip_user(&r.uri), Some("sips%3Auser%40example.com"));
    assert_eq!(sip_user(&r.headers.to().unwrap().uri), Some("%75se%72"));
    assert_eq!(
        sip_user(&r.headers.from().unwrap().uri),
        Some("I%20have%20spaces")
    );
    let c = r.headers.contacts().unwrap();
    let uri = addr(&c[0]).uri.as_sip().unwrap();
    assert!(uri.params.has("%6C%72"));
    assert_eq!(uri.params.get("n%61me"), Some(Some("v%61lue%25%34%31")));
    assert_eq!(r.headers.content_type(), Some("application/sdp"));
}

fn escnull(m: &Message) {
    let r = req(m);
    let c = r.headers.contacts().unwrap();
    let users: Vec<_> = c.iter().map(|c| sip_user(&addr(c).uri)).collect();
    assert_eq!(users, [Some("%00"), Some("%00%00")]);
    assert_eq!(
        sip_user(&r.headers.to().unwrap().uri),
        Some("null-%00-null")
    );
}

fn esc02(m: &Message) {
    let r = req(m);
    assert_eq!(r.method, Method::Extension("RE%47IST%45R".into()));
    assert_eq!(r.headers.contacts().unwrap().len(), 2);
    assert_eq!(
        r.headers.get(&"C%6Fntact".into()),
        Some("<sip:alias2@host2.example.com>")
    );
    assert_eq!(r.headers.to().unwrap().display.as_deref(), Some("%Z%45"));
    assert_eq!(r.headers.top_via().unwrap().rport(), Some(None));
}

fn lwsdisp(m: &Message) {
    let from = req(m).headers.from().unwrap();
    assert_eq!(
        (from.display.as_deref(), from.tag()),
        (Some("caller"), Some("323"))
    );
}

fn longreq(m: &Message) {
    let r = req(m);
    let h = &r.headers;
    let vias = h.vias().unwrap();
    assert_eq!(vias.len(), 34);
    assert_eq!(vias[0].host.to_string(), "sip33.example.com");
    assert_eq!(vias[33].branch().map(str::len), Some(4 + 200 + 11));
    assert_eq!(h.call_id().unwrap().len(), 11 + 120 + 10);
    let to = h.to().unwrap();
    assert_eq!(to.uri.as_sip().unwrap().port, Some(6000));
    assert_eq!(h.from().unwrap().tag().map(str::len), Some(2 + 150 + 3));
    assert_eq!(h.contacts().unwrap().len(), 1);
    assert_eq!(r.body.len(), 149);
}

fn dblreq(m: &Message) {
    let r = req(m);
    assert_eq!(r.method, Method::Register);
    assert!(r.body.is_empty(), "the second request must be discarded");
    assert_eq!(r.headers.contacts().unwrap().len(), 1);
}

fn semiuri(m: &Message) {
    let r = req(m);
    assert_eq!(sip_user(&r.uri), Some("user;par=u%40example.net"));
    assert_eq!(
        r.uri.as_sip().unwrap().host,
        Host::Name("example.com".into())
    );
    assert_eq!(r.headers.values(&HeaderName::Accept).count(), 6);
}

fn transports(m: &Message) {
    let vias = req(m).headers.vias().unwrap();
    let t: Vec<Transport> = vias.into_iter().map(|v| v.transport).collect();
    assert_eq!(
        t,
        [
            Transport::Udp,
            Transport::Sctp,
            Transport::Tls,
            Transport::Other("UNKNOWN".into()),
            Transport::Tcp
        ]
    );
}

fn mpart01(m: &Message) {
    let r = req(m);
    assert_eq!(r.method, Method::Message);
    assert_eq!(
        r.headers.content_type(),
        Some("multipart/mixed;boundary=boundary42")
    );
    assert!(r.body.starts_with(b"--boundary42\r\n") && r.body.ends_with(b"--boundary42--\r\n"));
    assert_eq!(
        r.headers.date().unwrap(),
        Some("Thu, 18 Sep 2005 19:32:34 GMT")
    );
}

fn unreason(m: &Message) {
    let r = resp(m);
    assert_eq!(r.status, 200);
    assert!(r.reason.starts_with("= 2**3 * 5**2 но сто"));
}

fn noreason(m: &Message) {
    let r = resp(m);
    assert_eq!((r.status, r.reason.as_str()), (100, ""));
}

fn scalar02(m: &Message) {
    let h = &req(m).headers;
    assert_eq!(h.max_forwards(), Err(bad("Max-Forwards")));
    assert_eq!(h.expires(), Err(bad("Expires")));
    assert_eq!(addr(&h.contacts().unwrap()[0]).expires(), None);
}

fn baddate(m: &Message) {
    assert_eq!(req(m).headers.date(), Err(bad("Date")));
}

fn badbranch(m: &Message) {
    // Only the magic cookie: the transaction layer must not treat it as RFC 3261 unique.
    assert_eq!(req(m).headers.top_via().unwrap().branch(), Some("z9hG4bK"));
}

fn opaque_ruri(m: &Message) {
    // Unknown scheme kept opaque: the endpoint answers 416 (RFC 3261 §8.2.2.1).
    assert!(matches!(req(m).uri, Uri::Other(_)));
}

fn bext01(m: &Message) {
    let h = &req(m).headers;
    assert_eq!(
        h.values(&HeaderName::Require).collect::<Vec<_>>(),
        ["nothingSupportsThis", "nothingSupportsThisEither"]
    );
    assert_eq!(h.values(&HeaderName::ProxyRequire).count(), 2);
}

fn invut(m: &Message) {
    assert_eq!(
        req(m).headers.content_type(),
        Some("application/unknownformat")
    );
}

fn regaut01(m: &Message) {
    assert_eq!(
        req(m).headers.get(&HeaderName::Authorization),
        Some("NoOneKnowsThisScheme opaque-data=here")
    );
}

fn bcast(m: &Message) {
    let vias = resp(m).headers.vias().unwrap();
    assert_eq!(vias[1].host, Host::V4(std::net::Ipv4Addr::BROADCAST));
}

fn zeromf(m: &Message) {
    assert_eq!(req(m).headers.max_forwards(), Ok(Some(0)));
}

fn cparam01(m: &Message) {
    let c = req(m).headers.contacts().unwrap();
    let a = addr(&c[0]);
    assert!(a.params.has("unknownparam") && a.uri.as_sip().unwrap().params.is_empty());
}

fn cparam02(m: &Message) {
    let c = req(m).headers.contacts().unwrap();
    let a = addr(&c[0]);
    assert!(a.params.is_empty() && a.uri.as_sip().unwrap().params.has("unknownparam"));
}

fn regescrt(m: &Message) {
    let c = req(m).headers.contacts().unwrap();
    assert_eq!(
        addr(&c[0]).uri.as_sip().unwrap().headers.as_deref(),
        Some("Route=%3Csip:sip.example.com%3E")
    );
}

fn sdp01(m: &Message) {
    assert_eq!(
        req(m).headers.get(&HeaderName::Accept),
        Some("text/nobodyKnowsThis")
    );
}

fn inv2543(m: &Message) {
    let h = &req(m).headers;
    assert_eq!(h.top_via().unwrap().branch(), None);
    assert_eq!(h.from().unwrap().tag(), None);
    assert_eq!(h.max_forwards(), Ok(None));
}

const CASES: &[(&str, Outcome)] = &[
    ("wsinv", Valid(wsinv)),
    ("intmeth", Valid(intmeth)),
    ("esc01", Valid(esc01)),
    ("escnull", Valid(escnull)),
    ("esc02", Valid(esc02)),
    ("lwsdisp", Valid(lwsdisp)),
    ("longreq", Valid(longreq)),
    ("dblreq", Valid(dblreq)),
    ("semiuri", Valid(semiuri)),
    ("transports", Valid(transports)),
    ("mpart01", Valid(mpart01)),
    ("unreason", Valid(unreason)),
    ("noreason", Valid(noreason)),
    ("badinv01", Invalid(bad("Via"))),
    ("clerr", Rejected(ParseError::Truncated)),
    ("ncl", Rejected(ParseError::BadContentLength)),
    ("scalar02", InvalidAnd(bad("CSeq"), scalar02)),
    ("scalarlg", Invalid(bad("CSeq"))),
    ("quotbal", Invalid(bad("To"))),
    ("ltgtruri", Rejected(ParseError::BadUri)),
    ("lwsruri", Rejected(ParseError::BadUri)),
    ("lwsstart", Rejected(ParseError::BadStartLine)),
    ("trws", Rejected(ParseError::BadStartLine)),
    ("escruri", Invalid(ParseError::BadUri)),
    ("baddate", Flagged(baddate)),
    ("regbadct", Invalid(bad("Contact"))),
    ("badaspec", Invalid(bad("To"))),
    ("baddn", Invalid(bad("From"))),
    ("badvers", Rejected(ParseError::BadVersion)),
    ("mismatch01", Invalid(ParseError::CSeqMismatch)),
    ("mismatch02", Invalid(ParseError::CSeqMismatch)),
    ("bigcode", Rejected(ParseError::BadStatus)),
    ("badbranch", Flagged(badbranch)),
    ("insuf", Invalid(ParseError::MissingHeader("From"))),
    ("unkscm", Flagged(opaque_ruri)),
    ("novelsc", Flagged(opaque_ruri)),
    ("unksm2", Invalid(bad("Contact"))),
    ("bext01", Flagged(bext01)),
    ("invut", Flagged(invut)),
    ("regaut01", Flagged(regaut01)),
    ("multi01", Invalid(bad("From"))),
    ("mcl01", Rejected(ParseError::BadContentLength)),
    ("bcast", Flagged(bcast)),
    ("zeromf", Flagged(zeromf)),
    ("cparam01", Valid(cparam01)),
    ("cparam02", Valid(cparam02)),
    ("regescrt", Valid(regescrt)),
    ("sdp01", Flagged(sdp01)),
    ("inv2543", Valid(inv2543)),
];

fn load(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/rfc4475")
        .join(format!("{name}.sip"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Parses, validates and checks one case; returns a failure description.
fn run(name: &str, outcome: &Outcome) -> Result<(), String> {
    let wire = load(name);
    let parsed = Message::parse(&wire);
    match (outcome, parsed) {
        (Rejected(want), Err(got)) if *want == got => Ok(()),
        (Rejected(want), other) => Err(format!(
            "want parse error {want:?}, got {:?}",
            other.map(|_| ())
        )),
        (_, Err(e)) => Err(format!("parse failed: {e:?}")),
        (Invalid(want), Ok(m)) => match m.validate() {
            Err(got) if got == *want => Ok(()),
            other => Err(format!("want validate error {want:?}, got {other:?}")),
        },
        (InvalidAnd(want, check), Ok(m)) => match m.validate() {
            Err(got) if got == *want => {
                check(&m);
                Ok(())
            }
            other => Err(format!("want validate error {want:?}, got {other:?}")),
        },
        (Valid(check) | Flagged(check), Ok(m)) => {
            m.validate()
                .map_err(|e| format!("validate failed: {e:?}"))?;
            check(&m);
            // Untouched messages encode to exactly the framed input bytes.
            let out = m.to_bytes();
            if !wire.starts_with(&out) {
                return Err("re-encoding is not byte-identical".into());
            }
            Ok(())
        }
    }
}

#[test]
fn rfc4475_torture_messages() {
    let mut failures = Vec::new();
    for (name, outcome) in CASES {
        let result = std::panic::catch_unwind(|| run(name, outcome));
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failures.push(format!("{name}: {e}")),
            Err(_) => failures.push(format!("{name}: check panicked")),
        }
    }
    assert_eq!(CASES.len(), 49);
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

#[test]
fn every_fixture_is_in_the_table() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rfc4475");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .to_str()?
                .strip_suffix(".sip")
                .map(str::to_owned)
        })
        .collect();
    names.sort();
    let mut table: Vec<&str> = CASES.iter().map(|(n, _)| *n).collect();
    table.sort();
    assert_eq!(names, table);
}
