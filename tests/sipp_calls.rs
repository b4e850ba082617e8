//! Calls through the B2BUA (issue 3) against the real binary: SIPp phones registered as
//! extensions, SIPp callers authenticating their INVITE on 407, the carrier simulator on the
//! gateway's address 127.0.0.1:15080, and the test's own RTP sockets behind the SDP to count
//! what the relay carries.
//!
//! Routing under test (built-in default until the dialplan lands): `sip:<ext>@switchboard.test`
//! rings every registered contact of the extension in parallel (first answer wins, the others
//! get CANCEL); an extension without contacts → 480; an unknown number → 404; `9<number>` → the
//! gateway `carrier` with the 9 stripped; an INVITE from the gateway's address (no challenge) to
//! DID 5550100 rings extension 1000.
//!
//! Each test asserts SIPp's exit status on every side (the scenarios check the SIP flow and,
//! with regexps, that the SDP each side receives points at the PBX: `c=IN IP4 127.0.0.1` and
//! the PBX's own port) and, where it matters, the relay ports and RTP packet counts.
//! Scenario files: `tests/sipp/call_*.xml`; harness: `tests/common/calls.rs`, `rtp.rs`.
//!
//! Run: `cargo test --test sipp_calls` (needs `sipp`: `apt-get install sip-tester`).

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::calls::{call_from_1001, finish, phone_1000, Agent, AgentSpec, SipTransport};
use common::rtp::RtpPeer;
use common::{pbx_config_with, Pbx};

/// Ring timeout of the PBX in the no-answer test: `[calls] ring_timeout_secs`.
const RING_TIMEOUT: (&str, &str, u64) = ("calls", "ring_timeout_secs", 5);
/// Media timeout of the PBX in the media-timeout test: `[media] rtp_timeout_secs`.
const RTP_TIMEOUT: (&str, &str, u64) = ("media", "rtp_timeout_secs", 3);
/// RTP packets sent through the relay in the media test (1 s of G.711 at 20 ms).
const RTP_PACKETS: u16 = 50;
/// How long the RTP of one direction may take to arrive after the last packet was sent.
const RTP_GRACE: Duration = Duration::from_secs(2);

/// The test PBX with one configuration key changed.
fn pbx_with((table, key, value): (&str, &str, u64)) -> Pbx {
    Pbx::start_with(pbx_config_with(table, key, &value.to_string()))
}

/// Stops the PBX (SIGTERM, which waits for the process to exit, so its log is complete) and
/// checks the call accounting of its log: the last call that ended left no call, channel or
/// RTP port behind, and the stop found no call still ending.
#[track_caller]
fn assert_nothing_left(pbx: &mut Pbx) {
    let status = pbx.terminate();
    assert!(status.success(), "switchboard exited with {status}");
    let log = pbx.log();
    assert!(
        !log.contains("calls still ending at shutdown"),
        "a call did not end:\n{log}"
    );
    let last = log
        .lines()
        .rev()
        .find(|l| l.contains("call ended"))
        .unwrap_or_else(|| panic!("no call ended in the log:\n{log}"));
    for field in ["live_calls=0", "live_channels=0", "ports_in_use=0"] {
        assert!(
            last.contains(field),
            "{field} expected after the call: {last}"
        );
    }
}

/// The relay address offered to `callee` (its `invite` event) is the PBX's, not the caller's
/// media address; the caller's (its `answered` event) is the PBX's, not the callee's; the two
/// legs use different relay ports.
#[track_caller]
fn assert_relay_ports(caller: &mut Agent, callee: &mut Agent) -> (SocketAddr, SocketAddr) {
    let to_callee = callee.expect_relay("invite");
    let to_caller = caller.expect_relay("answered");
    assert_eq!(to_callee.ip().to_string(), "127.0.0.1");
    assert_eq!(to_caller.ip().to_string(), "127.0.0.1");
    assert_ne!(
        to_callee.port(),
        caller.rtp_port(),
        "the callee was offered the caller's own media port: SDP not rewritten"
    );
    assert_ne!(
        to_caller.port(),
        callee.rtp_port(),
        "the caller got the callee's own media port: SDP not rewritten"
    );
    assert_ne!(
        to_callee, to_caller,
        "both legs share one relay port: {to_callee}"
    );
    (to_caller, to_callee)
}

/// 1001 calls 1000, which answers; RTP flows both ways through the relay (the test sends 50
/// packets from the caller's media address to the relay, the callee's media socket echoes
/// them back); the callee hangs up.
#[test]
fn extension_to_extension_with_rtp_both_ways_callee_hangs_up() {
    let mut pbx = Pbx::start_default();
    let callee_rtp = RtpPeer::bind();
    let caller_rtp = RtpPeer::bind();
    let mut callee = Agent::phone(
        AgentSpec::phone(1000, "call_uas_answer_bye.xml", SipTransport::Udp)
            .with_rtp_port(callee_rtp.port()),
    );
    let mut caller = Agent::spawn(
        AgentSpec::caller(
            1001,
            "1000",
            "call_uac_answered_wait_bye.xml",
            SipTransport::Udp,
        )
        .with_rtp_port(caller_rtp.port()),
    );
    let (relay_for_caller, relay_for_callee) = assert_relay_ports(&mut caller, &mut callee);

    // The callee hangs up 3 s after the ACK: 1 s of RTP plus the echo fits.
    let echo = callee_rtp.echo(usize::from(RTP_PACKETS), Duration::from_secs(4));
    caller_rtp.send_stream(relay_for_caller, RTP_PACKETS, 0x5eed_1001);
    let back = caller_rtp.collect(usize::from(RTP_PACKETS), RTP_GRACE);
    let there = echo
        .join()
        .unwrap_or_else(|_| panic!("echo thread panicked"));

    // Caller -> relay -> callee: every packet, from the relay port offered to the callee
    // (symmetric RTP: the relay sends from the port it receives on).
    assert_eq!(
        there.packets,
        usize::from(RTP_PACKETS),
        "callee side received {there:?}"
    );
    assert_eq!(there.invalid, 0, "callee side: {there:?}");
    assert_eq!(
        there.sources.iter().copied().collect::<Vec<_>>(),
        vec![relay_for_callee],
        "callee side: RTP not from the relay port in its SDP"
    );
    // Callee -> relay -> caller: every echoed packet, from the relay port offered to the caller.
    assert_eq!(
        back.packets,
        usize::from(RTP_PACKETS),
        "caller side received {back:?} (callee side got {})",
        there.packets
    );
    assert_eq!(back.invalid, 0, "caller side: {back:?}");
    assert_eq!(
        back.sources.iter().copied().collect::<Vec<_>>(),
        vec![relay_for_caller],
        "caller side: RTP not from the relay port in its SDP"
    );
    assert_eq!(back.sequences.len(), usize::from(RTP_PACKETS));

    finish(caller, vec![callee]);
    assert_nothing_left(&mut pbx);
}

/// 1001 calls 1000, which answers; the caller hangs up after 1 s.
#[test]
fn caller_hangs_up() {
    let mut pbx = Pbx::start_default();
    let mut callee = phone_1000("call_uas_answer.xml", SipTransport::Udp);
    let mut caller = call_from_1001("1000", "call_uac_answered_bye.xml");
    assert_relay_ports(&mut caller, &mut callee);
    finish(caller, vec![callee]);
    assert_nothing_left(&mut pbx);
}

/// The caller cancels while 1000 rings: 200 to the CANCEL and 487 to the INVITE for the
/// caller, CANCEL (200, 487, ACK) for the ringing callee.
#[test]
fn caller_cancels_before_answer() {
    let mut pbx = Pbx::start_default();
    let mut callee = phone_1000("call_uas_ring_cancel.xml", SipTransport::Udp);
    let caller = call_from_1001("1000", "call_uac_cancel.xml");
    callee.expect_relay("invite");
    finish(caller, vec![callee]);
    assert_nothing_left(&mut pbx);
}

/// 1000 answers 486: the caller gets 486.
#[test]
fn busy_callee_gives_486() {
    let mut pbx = Pbx::start_default();
    let callee = phone_1000("call_uas_busy.xml", SipTransport::Udp);
    let caller = call_from_1001("1000", "call_uac_486.xml");
    finish(caller, vec![callee]);
    assert_nothing_left(&mut pbx);
}

/// 1000 rings and never answers: after the ring timeout the PBX cancels it and the caller
/// gets 480 or 408.
#[test]
fn no_answer_within_ring_timeout() {
    let mut pbx = pbx_with(RING_TIMEOUT);
    let mut callee = phone_1000("call_uas_ring_cancel.xml", SipTransport::Udp);
    let started = Instant::now();
    let caller = call_from_1001("1000", "call_uac_noanswer.xml");
    callee.expect_relay("invite");
    finish(caller, vec![callee]);
    let rang = started.elapsed();
    let timeout = Duration::from_secs(RING_TIMEOUT.2);
    assert!(
        rang + Duration::from_millis(500) >= timeout,
        "gave up after {rang:?}, before the ring timeout {timeout:?}"
    );
    assert!(
        rang <= timeout + Duration::from_secs(10),
        "gave up after {rang:?}, long after the ring timeout {timeout:?}"
    );
    assert_nothing_left(&mut pbx);
}

/// A number that is neither an extension nor a gateway prefix: 404.
#[test]
fn unknown_number_gives_404() {
    let mut pbx = Pbx::start_default();
    let caller = call_from_1001("777", "call_uac_404.xml");
    finish(caller, Vec::new());
    assert_nothing_left(&mut pbx);
}

/// An extension of the range without any registered contact: 480.
#[test]
fn unregistered_extension_gives_480() {
    let mut pbx = Pbx::start_default();
    let caller = call_from_1001("1999", "call_uac_480.xml");
    finish(caller, Vec::new());
    assert_nothing_left(&mut pbx);
}

/// 1000 rings, then declines with 603: the caller gets 603.
#[test]
fn callee_declines_with_603() {
    let mut pbx = Pbx::start_default();
    let callee = phone_1000("call_uas_decline.xml", SipTransport::Udp);
    let caller = call_from_1001("1000", "call_uac_603.xml");
    finish(caller, vec![callee]);
    assert_nothing_left(&mut pbx);
}

/// The caller holds (re-INVITE a=sendonly; the callee sees sendonly and answers recvonly,
/// which the caller sees) and unholds (a=sendrecv both ways); SDP keeps pointing at the relay.
#[test]
fn reinvite_hold_and_unhold_pass_through() {
    let mut pbx = Pbx::start_default();
    let mut callee = phone_1000("call_uas_hold.xml", SipTransport::Udp);
    let mut caller = call_from_1001("1000", "call_uac_hold.xml");
    assert_relay_ports(&mut caller, &mut callee);
    finish(caller, vec![callee]);
    assert_nothing_left(&mut pbx);
}

/// INFO from the caller (application/dtmf-relay, Signal=5) reaches the callee with its body;
/// the callee's 200 reaches the caller.
#[test]
fn info_passes_through() {
    let mut pbx = Pbx::start_default();
    let callee = phone_1000("call_uas_info.xml", SipTransport::Udp);
    let caller = call_from_1001("1000", "call_uac_info.xml");
    finish(caller, vec![callee]);
    assert_nothing_left(&mut pbx);
}

/// 1001 dials 9555123: the carrier on 127.0.0.1:15080 gets `INVITE sip:555123@...` (checked
/// by its scenario), its 183 early media reaches the caller with the SDP rewritten, then 200;
/// the caller hangs up.
#[test]
fn outbound_call_via_gateway_strips_the_9() {
    let mut pbx = Pbx::start_default();
    let mut carrier = Agent::carrier(AgentSpec::carrier("call_gw_uas.xml"));
    let mut caller = call_from_1001("9555123", "call_uac_gateway.xml");
    assert_relay_ports(&mut caller, &mut carrier);
    finish(caller, vec![carrier]);
    assert_nothing_left(&mut pbx);
}

/// The carrier calls DID 5550100 from 127.0.0.1:15080 without credentials: extension 1000
/// rings and answers; the carrier hangs up.
#[test]
fn inbound_call_from_gateway_rings_extension_1000() {
    let mut pbx = Pbx::start_default();
    let mut callee = phone_1000("call_uas_answer.xml", SipTransport::Udp);
    let mut carrier = Agent::spawn(AgentSpec::carrier_call(
        "5551234",
        "5550100",
        "call_gw_uac.xml",
    ));
    assert_relay_ports(&mut carrier, &mut callee);
    finish(carrier, vec![callee]);
    assert_nothing_left(&mut pbx);
}

/// A caller over UDP reaches a callee registered over TCP (the INVITE goes over TCP).
#[test]
fn udp_caller_to_tcp_callee() {
    let mut pbx = Pbx::start_default();
    let mut callee = phone_1000("call_uas_answer.xml", SipTransport::Tcp);
    let mut caller = call_from_1001("1000", "call_uac_answered_bye.xml");
    assert_relay_ports(&mut caller, &mut callee);
    finish(caller, vec![callee]);
    assert_nothing_left(&mut pbx);
}

/// Extension 1000 has two contacts: both ring; the one that answers (after 1 s) gets the
/// call, the other one gets CANCEL.
#[test]
fn parallel_ringing_first_answer_wins_other_gets_cancel() {
    let mut pbx = Pbx::start_default();
    let mut winner = phone_1000("call_uas_answer_late.xml", SipTransport::Udp);
    let mut loser = phone_1000("call_uas_ring_cancel.xml", SipTransport::Udp);
    let caller = call_from_1001("1000", "call_uac_answered_bye.xml");
    let to_winner = winner.expect_relay("invite");
    let to_loser = loser.expect_relay("invite");
    assert_eq!(to_winner.ip().to_string(), "127.0.0.1");
    assert_eq!(to_loser.ip().to_string(), "127.0.0.1");
    finish(caller, vec![winner, loser]);
    assert_nothing_left(&mut pbx);
}

/// After the answer nobody sends RTP: after the media timeout the PBX hangs up both sides
/// with BYE.
#[test]
fn media_timeout_hangs_up_both_sides() {
    let mut pbx = pbx_with(RTP_TIMEOUT);
    let mut callee = phone_1000("call_uas_answer.xml", SipTransport::Udp);
    let mut caller = call_from_1001("1000", "call_uac_answered_wait_bye.xml");
    assert_relay_ports(&mut caller, &mut callee);
    let answered = Instant::now();
    finish(caller, vec![callee]);
    let silent = answered.elapsed();
    let timeout = Duration::from_secs(RTP_TIMEOUT.2);
    assert!(
        silent + Duration::from_millis(500) >= timeout,
        "hung up after {silent:?} of silence, before the media timeout {timeout:?}"
    );
    assert!(
        silent <= timeout + Duration::from_secs(10),
        "hung up after {silent:?} of silence, long after the media timeout {timeout:?}"
    );
    assert_nothing_left(&mut pbx);
}
