//! Digest tests: RFC example vectors, parsing, and the challenge → verify cycle with stale
//! and replayed nonces (explicit `now`, no sleeping).

use std::time::{Duration, SystemTime};

use super::challenger::nonce_counts_for_test;
use super::*;

const REALM: &str = "switchboard.test";
const URI: &str = "sip:switchboard.test";

#[test]
fn rfc2617_section_3_5_example() {
    // RFC 2617 §3.5: Mufasa / "Circle Of Life", GET /dir/index.html, qop=auth.
    let ha1 = ha1(
        Algorithm::Md5,
        "Mufasa",
        "testrealm@host.com",
        "Circle Of Life",
    );
    assert_eq!(ha1, "939e7578ed9e3c518a452acee763bce9");
    let response = digest_response(
        Algorithm::Md5,
        &ha1,
        "dcd98b7102dd2f0e8b11d0f600bfb0c093",
        "00000001",
        "0a4f113b",
        "GET",
        "/dir/index.html",
    );
    assert_eq!(response, "6629fae49393a05397450978507c4ef1");
}

#[test]
fn rfc7616_section_3_9_1_examples() {
    // RFC 7616 §3.9.1: Mufasa / "Circle of Life", realm http-auth@example.org.
    let nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
    let cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
    let realm = "http-auth@example.org";
    let md5 = ha1(Algorithm::Md5, "Mufasa", realm, "Circle of Life");
    let sha = ha1(Algorithm::Sha256, "Mufasa", realm, "Circle of Life");
    assert_eq!(
        digest_response(
            Algorithm::Md5,
            &md5,
            nonce,
            "00000001",
            cnonce,
            "GET",
            "/dir/index.html"
        ),
        "8ca523f5e9506fed4657c9700eebdbec"
    );
    assert_eq!(
        digest_response(
            Algorithm::Sha256,
            &sha,
            nonce,
            "00000001",
            cnonce,
            "GET",
            "/dir/index.html"
        ),
        "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
    );
}

#[test]
fn parse_rfc2617_authorization_header() {
    let value = "Digest username=\"Mufasa\",\r\n realm=\"testrealm@host.com\",\
        nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\", qop=auth, \
        nc=00000001, cnonce=\"0a4f113b\", response=\"6629fae49393a05397450978507c4ef1\", \
        opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";
    let creds = parse_authorization(value);
    assert_eq!(
        creds,
        Ok(Credentials {
            username: "Mufasa".into(),
            realm: "testrealm@host.com".into(),
            nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093".into(),
            uri: "/dir/index.html".into(),
            response: "6629fae49393a05397450978507c4ef1".into(),
            algorithm: None,
            qop: Some("auth".into()),
            nc: Some("00000001".into()),
            cnonce: Some("0a4f113b".into()),
            opaque: Some("5ccc069c403ebaf9f0171e9517f40e41".into()),
            userhash: false,
        })
    );
}

#[test]
fn parse_escapes_case_and_errors() {
    let creds = parse_authorization(
        "digest USERNAME = \"a\\\"b\\\\c\" ,, Realm=r, NONCE=\"n\", Uri=\"sip:x\", response=\"00\", \
         algorithm=SHA-256, future-param=\"x, y\"",
    );
    let creds = creds.unwrap_or_default();
    assert_eq!(creds.username, "a\"b\\c");
    assert_eq!(creds.realm, "r");
    assert_eq!(creds.algorithm.as_deref(), Some("SHA-256"));
    let cases: &[(&str, AuthError)] = &[
        ("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", AuthError::NotDigest),
        ("", AuthError::Missing),
        (
            "Digest username=\"a",
            AuthError::Malformed("unterminated quoted-string"),
        ),
        (
            "Digest username=\"a\" realm=\"b\"",
            AuthError::Malformed("expected ',' between parameters"),
        ),
        (
            "Digest username",
            AuthError::Malformed("expected '=' after a parameter name"),
        ),
        (
            "Digest username=\"a\", username=\"b\"",
            AuthError::Malformed("duplicate parameter"),
        ),
        (
            "Digest username=\"a\", realm=\"b\"",
            AuthError::Malformed("missing username, realm, nonce, uri or response"),
        ),
        (
            "Digest =x",
            AuthError::Malformed("expected a parameter name"),
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(
            parse_authorization(input).err(),
            Some(*expected),
            "input {input:?}"
        );
    }
}

/// A client answering `challenge` like a phone would.
fn answer(
    challenge: &str,
    user: &str,
    password: &str,
    nc: u32,
    method: &str,
    uri: &str,
) -> Credentials {
    let nonce = challenge
        .split("nonce=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_owned();
    let alg = if challenge.contains("algorithm=SHA-256") {
        Algorithm::Sha256
    } else {
        Algorithm::Md5
    };
    let nc = format!("{nc:08x}");
    let ha1 = ha1(alg, user, REALM, password);
    Credentials {
        username: user.into(),
        realm: REALM.into(),
        response: digest_response(alg, &ha1, &nonce, &nc, "c0ffee", method, uri),
        nonce,
        uri: uri.into(),
        algorithm: Some(alg.as_str().into()),
        qop: Some("auth".into()),
        nc: Some(nc),
        cnonce: Some("c0ffee".into()),
        opaque: None,
        userhash: false,
    }
}

fn lookup(user: &str, alg: Algorithm) -> Option<String> {
    (user == "1001").then(|| ha1(alg, "1001", REALM, "pw1001"))
}

fn target() -> DigestTarget<'static> {
    DigestTarget {
        realm: REALM,
        method: "REGISTER",
        uri: URI,
    }
}

fn challenger() -> DigestChallenger {
    match DigestChallenger::new(DEFAULT_NONCE_TTL, DEFAULT_TRACKED_NONCES) {
        Ok(c) => c,
        Err(e) => panic!("challenger: {e}"),
    }
}

#[test]
fn challenge_lists_sha256_first_then_md5() {
    let c = challenger();
    let now = SystemTime::now();
    let values = c.challenge(REALM, true, &[Algorithm::Sha256, Algorithm::Md5], now);
    assert_eq!(values.len(), 2);
    assert!(values[0].starts_with("Digest realm=\"switchboard.test\", nonce=\""));
    assert!(values[0].contains("algorithm=SHA-256, qop=\"auth\", stale=true"));
    assert!(values[1].contains("algorithm=MD5"));
    let fresh = c.challenge(REALM, false, &[Algorithm::Md5], now);
    assert!(!fresh[0].contains("stale"));
    assert_ne!(
        values[0].split(',').nth(1),
        fresh[0].split(',').nth(1),
        "nonces are unique"
    );
}

#[test]
fn verify_accepts_both_algorithms_and_increasing_nc() {
    let c = challenger();
    let now = SystemTime::now();
    for alg in [Algorithm::Sha256, Algorithm::Md5] {
        let ch = c.challenge(REALM, false, &[alg], now);
        for nc in [1, 2, 5] {
            let creds = answer(&ch[0], "1001", "pw1001", nc, "REGISTER", URI);
            assert_eq!(
                c.verify(&creds, &target(), lookup, now + Duration::from_secs(1)),
                Ok(alg)
            );
        }
        let replay = answer(&ch[0], "1001", "pw1001", 5, "REGISTER", URI);
        assert_eq!(
            c.verify(&replay, &target(), lookup, now),
            Err(AuthError::Replay)
        );
        let lower = answer(&ch[0], "1001", "pw1001", 3, "REGISTER", URI);
        assert_eq!(
            c.verify(&lower, &target(), lookup, now),
            Err(AuthError::Replay)
        );
    }
}

#[test]
fn verify_failures_are_matchable() {
    let c = challenger();
    let now = SystemTime::now();
    let ch = c.challenge(REALM, false, &[Algorithm::Md5], now);
    let good = answer(&ch[0], "1001", "pw1001", 1, "REGISTER", URI);
    let t = target();
    let wrong = answer(&ch[0], "1001", "nope", 1, "REGISTER", URI);
    assert_eq!(
        c.verify(&wrong, &t, lookup, now),
        Err(AuthError::WrongPassword)
    );
    let unknown = answer(&ch[0], "1002", "pw1002", 1, "REGISTER", URI);
    assert_eq!(
        c.verify(&unknown, &t, lookup, now),
        Err(AuthError::UnknownUser)
    );
    let other_uri = DigestTarget {
        uri: "sip:other.test",
        ..t
    };
    assert_eq!(
        c.verify(&good, &other_uri, lookup, now),
        Err(AuthError::UriMismatch)
    );
    let other_realm = DigestTarget {
        realm: "other.test",
        ..t
    };
    assert_eq!(
        c.verify(&good, &other_realm, lookup, now),
        Err(AuthError::RealmMismatch)
    );
    let other_method = DigestTarget {
        method: "INVITE",
        ..t
    };
    assert_eq!(
        c.verify(&good, &other_method, lookup, now),
        Err(AuthError::WrongPassword)
    );
    let mut no_qop = good.clone();
    no_qop.qop = None;
    assert_eq!(
        c.verify(&no_qop, &t, lookup, now),
        Err(AuthError::QopRequired)
    );
    let mut auth_int = good.clone();
    auth_int.qop = Some("auth-int".into());
    assert_eq!(
        c.verify(&auth_int, &t, lookup, now),
        Err(AuthError::UnsupportedQop)
    );
    let mut sess = good.clone();
    sess.algorithm = Some("MD5-sess".into());
    assert_eq!(
        c.verify(&sess, &t, lookup, now),
        Err(AuthError::UnsupportedAlgorithm)
    );
    let mut short_nc = good.clone();
    short_nc.nc = Some("1".into());
    assert!(matches!(
        c.verify(&short_nc, &t, lookup, now),
        Err(AuthError::Malformed(_))
    ));
    // Absent algorithm means MD5 (RFC 2617 §3.2.1); uppercase hex response is tolerated.
    let mut implicit = good.clone();
    implicit.algorithm = None;
    implicit.response = implicit.response.to_ascii_uppercase();
    assert_eq!(c.verify(&implicit, &t, lookup, now), Ok(Algorithm::Md5));
}

#[test]
fn expired_forged_and_foreign_nonces_are_stale() {
    let c = challenger();
    let now = SystemTime::now();
    let ch = c.challenge(REALM, false, &[Algorithm::Sha256], now);
    let creds = answer(&ch[0], "1001", "pw1001", 1, "REGISTER", URI);
    let late = now + DEFAULT_NONCE_TTL + Duration::from_millis(1);
    assert_eq!(
        c.verify(&creds, &target(), lookup, late),
        Err(AuthError::Stale)
    );
    // Stale only when the password is right (RFC 2617 §3.2.1).
    let wrong = answer(&ch[0], "1001", "nope", 1, "REGISTER", URI);
    assert_eq!(
        c.verify(&wrong, &target(), lookup, late),
        Err(AuthError::WrongPassword)
    );
    // Issued "in the future" (clock went back).
    let early = now - Duration::from_secs(1);
    assert_eq!(
        c.verify(&creds, &target(), lookup, early),
        Err(AuthError::Stale)
    );
    // A nonce from another server instance (other secret), e.g. before a restart.
    let other = challenger();
    let foreign = other.challenge(REALM, false, &[Algorithm::Sha256], now);
    let creds = answer(&foreign[0], "1001", "pw1001", 1, "REGISTER", URI);
    assert_eq!(
        c.verify(&creds, &target(), lookup, now),
        Err(AuthError::Stale)
    );
    // Not even hex.
    let ch = c.challenge(REALM, false, &[Algorithm::Md5], now);
    let mut garbage = answer(&ch[0], "1001", "pw1001", 1, "REGISTER", URI);
    garbage.nonce = "zz".into();
    let ha1 = ha1(Algorithm::Md5, "1001", REALM, "pw1001");
    garbage.response = digest_response(
        Algorithm::Md5,
        &ha1,
        "zz",
        "00000001",
        "c0ffee",
        "REGISTER",
        URI,
    );
    assert_eq!(
        c.verify(&garbage, &target(), lookup, now),
        Err(AuthError::Stale)
    );
}

#[test]
fn evicted_nonces_become_stale_not_replayable() {
    let mut record = nonce_counts_for_test(2);
    assert_eq!(record(10, "a", 1), Ok(()));
    assert_eq!(record(20, "b", 1), Ok(()));
    assert_eq!(record(30, "c", 1), Ok(())); // evicts "a"
    assert_eq!(record(10, "a", 2), Err(AuthError::Stale));
    assert_eq!(record(20, "b", 2), Ok(()));
    assert_eq!(record(20, "b", 2), Err(AuthError::Replay));
    assert_eq!(record(40, "d", 1), Ok(())); // evicts "b"
    assert_eq!(record(15, "never-used-before", 1), Err(AuthError::Stale));
    assert_eq!(record(35, "e", 1), Ok(()));
}
