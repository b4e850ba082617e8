//! Unit tests for [`super`]: URI parsing and round-trips.

use super::*;

#[test]
fn valid_uris_round_trip() {
    let cases = [
        "sip:alice@atlanta.com",
        "sips:alice:secret@atlanta.com:5061;transport=tcp?subject=project%20x&priority=urgent",
        "sip:+1-212-555-1212:1234@gateway.com;user=phone",
        "sip:alice;day=tuesday@atlanta.com",
        "sip:%61lice@atlanta.com;transport=TCP",
        "sip:[2001:db8::10]:5070;lr",
        "sip:[::1]",
        "sip:192.0.2.4",
        "sip:user;par=u%40example.net@example.com",
        "sip:sips%3Auser%40example.com@example.net",
        "sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com",
        "tel:+1-201-555-0123",
        "tel:7042;phone-context=example.com",
        "mailto:alice@example.com",
        "urn:service:sos",
        "SIP:Alice@Example.COM",
        "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com",
        "sip:user@example.com?Route=%3Csip:example.com%3E",
        "sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31",
        "nobodyKnowsThisScheme:totallyopaquecontent",
        "soap.beep://192.0.2.103:3002",
        "sip:*97#@pbx_1.example.com",
    ];
    for input in cases {
        let uri = Uri::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        let shown = uri.to_string();
        if input.starts_with("SIP:") {
            assert_eq!(shown, "sip:Alice@Example.COM");
        } else {
            assert_eq!(shown, input);
        }
    }
}

#[test]
fn fields_are_split_correctly() {
    let Ok(Uri::Sip(u)) = Uri::parse("sips:bob:pw@[2001:db8::1]:5061;transport=tls;lr?h=v") else {
        panic!("must parse")
    };
    assert_eq!(u.scheme, Scheme::Sips);
    assert_eq!(u.user.as_deref(), Some("bob"));
    assert_eq!(u.password.as_deref(), Some("pw"));
    assert_eq!(u.host, Host::V6("2001:db8::1".parse().expect("v6")));
    assert_eq!(u.port, Some(5061));
    assert_eq!(u.params.get("transport"), Some(Some("tls")));
    assert!(u.params.has("lr"));
    assert_eq!(u.headers.as_deref(), Some("h=v"));
    let Ok(Uri::Sip(u)) = Uri::parse("sip:user;par=u%40example.net@example.com") else {
        panic!("must parse")
    };
    assert_eq!(u.user.as_deref(), Some("user;par=u%40example.net"));
    assert_eq!(u.host, Host::Name("example.com".into()));
    let Ok(Uri::Tel(t)) = Uri::parse("tel:+358-555-1234567;postd=pp22") else {
        panic!("tel")
    };
    assert_eq!(t.number, "+358-555-1234567");
    assert_eq!(t.params.get("postd"), Some(Some("pp22")));
}

#[test]
fn invalid_uris_are_rejected() {
    let cases = [
        "",
        "sip:",
        "sip:user@",
        "sip:user@host:port",
        "sip:user@host:99999",
        "sip:user@host; lr",
        "sip:user@ho st",
        "<sip:user@host>",
        "sip:[::1",
        "sip:[not-v6]",
        "sip:user@host;=x",
        "sip:us\"er@host",
        "1sip:host",
        "tel:",
        "tel:abc-xyz",
        "nocolon",
        "http:",
        "sip:@host",
        "sip:host?",
    ];
    for input in cases {
        assert_eq!(Uri::parse(input), Err(ParseError::BadUri), "{input}");
    }
}
