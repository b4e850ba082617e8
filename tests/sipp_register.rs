//! REGISTER with digest authentication against the real binary, driven by SIPp
//! (`tests/sipp/*.xml`), with assertions on SIPp's verdict and on the `registrations` table.
//!
//! Run: `cargo test --test sipp_register` (needs `sipp`: `apt-get install sip-tester`).

mod common;

use common::db::{now_ms, registrations_blocking};
use common::sipp::{run_sipp, SippResult};
use common::{aor, password, pbx_config_with, Pbx};

/// The Expires the scenarios ask for, in ms.
const ASKED_EXPIRES_MS: i64 = 3_600_000;

/// `-s <ext> -au <ext> -ap <password>` for extension `ext`.
fn user_args(ext: u32, pw: &str) -> Vec<String> {
    vec![
        "-s".into(),
        ext.to_string(),
        "-au".into(),
        ext.to_string(),
        "-ap".into(),
        pw.into(),
    ]
}

fn run(scenario: &str, ext: u32, pw: &str, extra: &[&str]) -> SippResult {
    let args = user_args(ext, pw);
    let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
    all.extend_from_slice(extra);
    run_sipp(scenario, &all)
}

/// Asserts one binding of `ext` pointing at SIPp's port, over `transport`, expiring in the future
/// and no later than asked (RFC 3261 §10.3 step 7: the registrar may shorten, never lengthen
/// beyond its maximum).
#[track_caller]
fn assert_bound(pbx: &Pbx, ext: u32, sipp_port: u16, transport: &str) {
    let rows = registrations_blocking(&pbx.db_path(), &aor(ext));
    assert_eq!(
        rows.len(),
        1,
        "expected one binding for {}: {rows:?}",
        aor(ext)
    );
    let row = &rows[0];
    assert!(
        row.contact
            .contains(&format!("sip:{ext}@127.0.0.1:{sipp_port}")),
        "contact {:?} is not SIPp's (port {sipp_port})",
        row.contact
    );
    assert!(
        row.transport.eq_ignore_ascii_case(transport),
        "transport {:?}, want {transport}",
        row.transport
    );
    let now = now_ms();
    assert!(
        row.expires_at > now,
        "binding already expired: {row:?} (now {now})"
    );
    assert!(
        row.expires_at <= now + ASKED_EXPIRES_MS + 1_000,
        "expires beyond the asked 3600 s: {row:?}"
    );
}

#[test]
fn register_with_digest_over_udp() {
    let pbx = Pbx::start_default();
    let sipp = run("register_auth.xml", 1001, &password(1001), &[]);
    sipp.assert_success();
    assert_bound(&pbx, 1001, sipp.local_port, "UDP");
}

#[test]
fn register_with_digest_over_tcp() {
    let pbx = Pbx::start_default();
    let sipp = run("register_auth.xml", 1002, &password(1002), &["-t", "t1"]);
    sipp.assert_success();
    assert_bound(&pbx, 1002, sipp.local_port, "TCP");
}

#[test]
fn wrong_password_is_refused() {
    let pbx = Pbx::start_default();
    // the scenario fails its call if the PBX answers 200
    run("register_wrong_pw.xml", 1004, "not-the-password", &[]).assert_success();
    let rows = registrations_blocking(&pbx.db_path(), &aor(1004));
    assert!(
        rows.is_empty(),
        "a refused REGISTER left bindings: {rows:?}"
    );
}

#[test]
fn wrong_password_scenario_fails_with_the_right_password() {
    // guards the scenario itself: with the right password the PBX answers 200, which
    // register_wrong_pw.xml must treat as a failure
    let _pbx = Pbx::start_default();
    run("register_wrong_pw.xml", 1007, &password(1007), &[]).assert_failed_calls();
}

#[test]
fn unregister_with_expires_zero_removes_the_binding() {
    let pbx = Pbx::start_default();
    run("unregister.xml", 1003, &password(1003), &[]).assert_success();
    let rows = registrations_blocking(&pbx.db_path(), &aor(1003));
    assert!(rows.is_empty(), "binding left after Expires: 0: {rows:?}");
}

#[test]
fn stale_nonce_gets_a_fresh_challenge() {
    // nonce_ttl_secs = 2; the scenario waits 3 s and re-uses the first nonce
    let pbx = Pbx::start_with(pbx_config_with("registrar", "nonce_ttl_secs", "2"));
    let sipp = run("register_stale.xml", 1005, &password(1005), &[]);
    sipp.assert_success();
    assert_bound(&pbx, 1005, sipp.local_port, "UDP");
}

#[test]
fn options_is_answered() {
    let _pbx = Pbx::start_default();
    run_sipp("options.xml", &[]).assert_success();
}

#[test]
fn options_is_answered_over_tcp() {
    let _pbx = Pbx::start_default();
    run_sipp("options.xml", &["-t", "t1"]).assert_success();
}

#[test]
fn unregister_all_with_star_removes_every_binding() {
    let pbx = Pbx::start_default();
    run("unregister_all.xml", 1008, &password(1008), &[]).assert_success();
    let rows = registrations_blocking(&pbx.db_path(), &aor(1008));
    assert!(
        rows.is_empty(),
        "binding left after Contact: * / Expires: 0: {rows:?}"
    );
}

#[test]
fn too_brief_expiration_gets_423_with_min_expires() {
    let pbx = Pbx::start_default();
    run("register_too_brief.xml", 1009, &password(1009), &[]).assert_success();
    let rows = registrations_blocking(&pbx.db_path(), &aor(1009));
    assert!(rows.is_empty(), "a 423 left bindings: {rows:?}");
}

#[test]
fn requests_from_outside_the_acl_are_dropped() {
    // Only 127.0.0.1 may talk to this PBX; 127.0.0.2 is another loopback address.
    let pbx = Pbx::start_with(pbx_config_with("acl", "allow", r#"["127.0.0.1/32"]"#));
    let outside =
        std::net::UdpSocket::bind("127.0.0.2:0").unwrap_or_else(|e| panic!("bind 127.0.0.2: {e}"));
    let local = outside
        .local_addr()
        .unwrap_or_else(|e| panic!("local_addr: {e}"));
    let wait = std::time::Duration::from_millis(500);
    let options = common::wire::render(common::wire::OPTIONS, local);
    let got = common::wire::udp_send_bytes(&outside, common::PBX_SIP, &options, wait);
    assert!(
        got.is_none(),
        "a source outside the ACL was answered: {got:?}"
    );
    assert!(
        common::wire::probe_options(common::PBX_SIP, wait).is_some(),
        "an allowed source is not answered"
    );
    drop(pbx);
}
