//! The echo test (`*43`) against the real binary: a call the switch answers itself, with no
//! second party, sending the caller's RTP back to it.
//!
//! A SIPp caller from extension 1000 (INVITE authenticated on 407) dials `*43`; the PBX
//! answers at once with its own SDP answer (checked by the scenario: the relay's address, the
//! first offered codec plus telephone-event). The test's RTP socket, advertised in the offer,
//! sends a stream to the relay port of the answer and must get every packet back, from that
//! port. In the dialog the scenario sends INFO, OPTIONS and two re-INVITEs (hold, unhold),
//! then BYE. A late-offer caller (INVITE without SDP) gets the PBX's offer in the 200 and
//! answers in the ACK. A silent caller gets the PBX's BYE at its RTP timeout.
//!
//! Both tests stop the PBX and check its log: the echo channel's events in order
//! (`APP_START`, `CHANNEL_STATE`, `ANSWERED`, ..., `HANGUP`, `CHANNEL_DESTROYED`) and the last
//! "call ended" line with no call, channel or RTP port left.
//!
//! Scenarios: `tests/sipp/uac_echo.xml`, `uac_echo_late_offer.xml`, `uac_echo_timeout.xml`;
//! harness:
//! `tests/common`. Run: `cargo test --test echo_call` (needs `sipp`; fixed ports: never at the
//! same time as another PBX test binary).

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::calls::{Agent, AgentSpec, SipTransport};
use common::rtp::RtpPeer;
use common::{pbx_config_with, Pbx};

/// The echo test's number.
const ECHO: &str = "*43";
/// RTP packets sent (1 s of G.711 at 20 ms).
const RTP_PACKETS: u16 = 50;
/// How long the echo may take to come back after the last packet was sent.
const RTP_GRACE: Duration = Duration::from_secs(2);
/// Media timeout of the PBX in the timeout test: `[media] rtp_timeout_secs`.
const RTP_TIMEOUT_SECS: u64 = 3;

/// Extension 1000 calling the echo test with `scenario`, advertising `rtp_port`.
fn echo_caller(scenario: &str, rtp_port: u16) -> Agent {
    Agent::spawn(AgentSpec::caller(1000, ECHO, scenario, SipTransport::Udp).with_rtp_port(rtp_port))
}

/// Stops the PBX and checks its log: the last call ended without leftovers, with `cause`
/// (`<Q.850 name>(<code>) by <side>`), and the events of the echo channel (the only channel)
/// came in the expected order. Returns the event names.
#[track_caller]
fn assert_ended_cleanly(pbx: &mut Pbx, cause: &str) -> Vec<String> {
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
    let cause_field = format!("a_cause={cause}");
    for field in [
        cause_field.as_str(),
        "live_calls=0",
        "live_channels=0",
        "ports_in_use=0",
        "legs=0",
        "answered=true",
    ] {
        assert!(
            last.contains(field),
            "{field} expected after the call: {last}"
        );
    }
    let events = event_names(&log);
    let expected_start = ["CHANNEL_CREATED", "APP_START", "CHANNEL_STATE", "ANSWERED"];
    assert_eq!(
        events.get(..4),
        Some(&expected_start.map(String::from)[..]),
        "echo channel events: {events:?}"
    );
    let expected_end = ["APP_END", "CHANNEL_STATE", "HANGUP", "CHANNEL_DESTROYED"];
    assert_eq!(
        events.get(events.len().saturating_sub(4)..),
        Some(&expected_end.map(String::from)[..]),
        "echo channel events: {events:?}"
    );
    for kind in ["DIAL_BEGIN", "BRIDGE_ENTER"] {
        assert!(!events.iter().any(|e| e == kind), "{kind} in {events:?}");
    }
    events
}

/// The names of the events published (the call core's debug line per event,
/// `event=<NAME>`), in order.
fn event_names(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.ends_with(" event") || l.contains(": event "))
        .filter_map(|l| {
            let (_, rest) = l.split_once("event=")?;
            let name = rest.split_whitespace().next()?.trim_matches('"');
            Some(name.to_owned())
        })
        .collect()
}

/// Waits for the caller's `answered` event (the relay address in the PBX's SDP), sends a
/// stream there from `rtp` and checks that every packet comes back from that address.
#[track_caller]
fn assert_echo(caller: &mut Agent, rtp: &RtpPeer) -> SocketAddr {
    let relay = caller.expect_relay("answered");
    assert_eq!(relay.ip().to_string(), "127.0.0.1");
    assert_ne!(
        relay.port(),
        rtp.port(),
        "the PBX's SDP names the caller's own port"
    );
    rtp.send_stream(relay, RTP_PACKETS, 0x0ec4_0043);
    let back = rtp.collect(usize::from(RTP_PACKETS), RTP_GRACE);
    assert_eq!(back.packets, usize::from(RTP_PACKETS), "echo: {back:?}");
    assert_eq!(back.invalid, 0, "{back:?}");
    assert_eq!(back.sequences.len(), usize::from(RTP_PACKETS));
    assert_eq!(
        back.sources.iter().copied().collect::<Vec<_>>(),
        vec![relay],
        "echo not from the relay port of the PBX's SDP"
    );
    relay
}

/// The caller hears every packet it sends, from the port the answer named; in-dialog
/// requests are answered; BYE ends the call.
#[test]
fn echo_sends_the_callers_rtp_back_and_ends_on_bye() {
    let mut pbx = Pbx::start_default();
    let rtp = RtpPeer::bind();
    let mut caller = echo_caller("uac_echo.xml", rtp.port());
    let relay = assert_echo(&mut caller, &rtp);
    let held = caller.expect_relay("held");
    assert_eq!(held, relay, "the re-INVITE's answer moved the media");

    caller.assert_success();
    // The caller's BYE: normal clearing, caller side.
    let events = assert_ended_cleanly(&mut pbx, "NORMAL_CLEARING(16) by caller");
    for kind in ["HOLD", "UNHOLD"] {
        assert!(events.iter().any(|e| e == kind), "{kind} in {events:?}");
    }
}

/// An INVITE without SDP: the PBX offers in its 200, the caller answers in the ACK; the
/// echo works the same.
#[test]
fn late_offer_echo_offers_in_the_200() {
    let mut pbx = Pbx::start_default();
    let rtp = RtpPeer::bind();
    let mut caller = echo_caller("uac_echo_late_offer.xml", rtp.port());
    assert_echo(&mut caller, &rtp);
    caller.assert_success();
    assert_ended_cleanly(&mut pbx, "NORMAL_CLEARING(16) by caller");
    assert!(
        pbx.log().contains("late_offer=true"),
        "not taken as a late offer"
    );
}

/// A silent caller is hung up with BYE at the RTP timeout.
#[test]
fn silent_echo_call_ends_at_the_rtp_timeout() {
    let config = pbx_config_with("media", "rtp_timeout_secs", &RTP_TIMEOUT_SECS.to_string());
    let mut pbx = Pbx::start_with(config);
    let rtp = RtpPeer::bind();
    let mut caller = echo_caller("uac_echo_timeout.xml", rtp.port());
    caller.expect_relay("answered");
    let answered = Instant::now();
    caller.assert_success();
    let silent = answered.elapsed();
    let timeout = Duration::from_secs(RTP_TIMEOUT_SECS);
    assert!(
        silent + Duration::from_millis(500) >= timeout,
        "hung up after {silent:?}, before the RTP timeout {timeout:?}"
    );
    assert!(
        silent <= timeout + Duration::from_secs(10),
        "hung up after {silent:?}, long after the RTP timeout {timeout:?}"
    );
    assert_ended_cleanly(&mut pbx, "MEDIA_TIMEOUT(604) by device");
}
