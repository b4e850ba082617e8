//! CDRs of real calls (issue 4): the real binary, SIPp phones and callers, and the real SQLite
//! file `<data>/cdr.db`, asserted field by field in both record models.
//!
//! - Leg mode (`cdr_leg`): one row per channel, FreeSWITCH / mod_cti semantics.
//! - Bridge mode (`cdr`): one row per path between Party A and Party B, Asterisk semantics.
//! - CEL (`cel`): the channel events.
//!
//! Each test stops the PBX gracefully before reading (a stop commits every record), so the
//! rows are complete. Times are asserted as relations (`duration = end − start`, billsec
//! from answer), never as copied numbers.
//!
//! Scenario files: `tests/sipp/call_*.xml`, shared with `tests/sipp_calls.rs`.
//! Run: `cargo test --test cdr_calls` (needs `sipp`).

mod common;

use common::calls::{call_from_1001, finish, Agent, AgentSpec, SipTransport};
use common::cdr::{assert_fields, field, int, rows_blocking, CdrRow};
use common::{pbx_config_extra, Pbx};

/// The test PBX with the channel event log on (`[cdr] cel = true`; off by default).
fn pbx() -> Pbx {
    Pbx::start_with(pbx_config_extra("[cdr]\ncel = true\n"))
}

/// Extension 1000 registered over UDP, answering INVITEs with `scenario`.
fn phone_1000(scenario: &str) -> Agent {
    common::calls::phone_1000(scenario, SipTransport::Udp)
}

/// The records of a run: leg rows (inbound first, then outbound by start), bridge rows (by
/// sequence) and CEL rows (in event order), read after a graceful stop.
struct Records {
    legs: Vec<CdrRow>,
    bridge: Vec<CdrRow>,
    cel: Vec<CdrRow>,
}

/// Stops the PBX (which commits every record) and reads the three tables.
#[track_caller]
fn stop_and_read(pbx: &mut Pbx) -> Records {
    let status = pbx.terminate();
    assert!(status.success(), "switchboard exited with {status}");
    let db = pbx.data_dir().join("cdr.db");
    Records {
        legs: rows_blocking(&db, "cdr_leg", "1", "direction, start, uuid"),
        bridge: rows_blocking(&db, "cdr", "1", "sequence"),
        cel: rows_blocking(&db, "cel", "1", "event_seq"),
    }
}

/// `duration`/`billsec` agree with the record's own times (whole seconds, truncated), the
/// milliseconds variants exactly; billsec is 0 without an answer.
#[track_caller]
fn assert_times_consistent(row: &CdrRow) {
    let start = int(row, "start");
    let end = int(row, "end");
    assert!(end >= start, "end before start: {row:#?}");
    assert_eq!(int(row, "duration_ms"), end - start, "{row:#?}");
    assert_eq!(int(row, "duration"), (end - start) / 1000, "{row:#?}");
    match field(row, "answer") {
        Some(answer) => {
            let answer: i64 = answer.parse().unwrap_or_else(|e| panic!("answer: {e}"));
            assert!(
                start <= answer && answer <= end,
                "answer outside the call: {row:#?}"
            );
            assert_eq!(int(row, "billsec_ms"), end - answer, "{row:#?}");
            assert_eq!(int(row, "billsec"), (end - answer) / 1000, "{row:#?}");
        }
        None => {
            assert_eq!(int(row, "billsec"), 0, "{row:#?}");
            assert_eq!(int(row, "billsec_ms"), 0, "{row:#?}");
        }
    }
}

/// The leg rows split into (inbound, outbound...).
#[track_caller]
fn split_legs(legs: &[CdrRow]) -> (&CdrRow, Vec<&CdrRow>) {
    let inbound: Vec<&CdrRow> = legs
        .iter()
        .filter(|r| field(r, "direction") == Some("inbound"))
        .collect();
    assert_eq!(inbound.len(), 1, "one inbound leg expected: {legs:#?}");
    let outbound = legs
        .iter()
        .filter(|r| field(r, "direction") == Some("outbound"))
        .collect();
    (inbound[0], outbound)
}

/// 1001 calls 1000, which answers and hangs up after 3 s: an aleg and a bleg record, one
/// bridge record, and the CEL events of both channels.
#[test]
fn answered_call_callee_hangs_up() {
    let mut pbx = pbx();
    let callee = phone_1000("call_uas_answer_bye.xml");
    let caller = call_from_1001("1000", "call_uac_answered_wait_bye.xml");
    finish(caller, vec![callee]);
    let r = stop_and_read(&mut pbx);

    assert_eq!(r.legs.len(), 2, "{:#?}", r.legs);
    let (a, b) = split_legs(&r.legs);
    let b = b[0];
    let a_uuid = field(a, "uuid").expect("a uuid");
    let b_uuid = field(b, "uuid").expect("b uuid");
    assert_ne!(a_uuid, b_uuid);
    assert_fields(
        a,
        &[
            ("status", Some("hangup")),
            ("account", Some("1001")),
            ("caller_id_number", Some("1001")),
            ("caller_id_name", Some("Ext 1001")),
            ("destination_number", Some("1000")),
            ("callee_id_number", Some("1000")),
            ("originator", None),
            ("bridge_uuid", Some(b_uuid)),
            ("call_source", Some("dialplan")),
            ("source_name", Some("1001")),
            ("dial_number", Some("1000")),
            ("context", Some("internal")),
            ("hangup_cause", Some("NORMAL_CLEARING")),
            ("q850", Some("16")),
            ("sip_code", None),
            // The callee hung up: for the caller's leg the switch hung up (local).
            ("hangup_side", Some("local")),
            ("linkedid", Some(a_uuid)),
            ("amaflags", Some("DOCUMENTATION")),
            ("node_id", Some("1.1.1")),
        ],
    );
    assert_fields(
        b,
        &[
            ("status", Some("hangup")),
            ("account", Some("1000")),
            ("caller_id_number", Some("1001")),
            ("destination_number", Some("1000")),
            ("callee_id_number", Some("1000")),
            ("originator", Some(a_uuid)),
            ("bridge_uuid", Some(a_uuid)),
            ("call_source", Some("dialplan")),
            ("source_name", Some("1001")),
            ("dial_number", Some("1000")),
            ("hangup_cause", Some("NORMAL_CLEARING")),
            ("hangup_side", Some("remote")),
            ("linkedid", Some(a_uuid)),
        ],
    );
    for leg in [a, b] {
        assert_times_consistent(leg);
        assert!(field(leg, "answer").is_some(), "answered: {leg:#?}");
        assert!(int(leg, "billsec") >= 2, "talked ~3 s: {leg:#?}");
        // The caller offers PCMA first and the callee answers PCMA first.
        assert_eq!(field(leg, "codec"), Some("PCMA"), "{leg:#?}");
    }
    // The caller's leg exists before the callee's and ends no earlier than it is answered.
    assert!(int(a, "start") <= int(b, "start"));

    assert_eq!(r.bridge.len(), 1, "{:#?}", r.bridge);
    let cdr = &r.bridge[0];
    assert_fields(
        cdr,
        &[
            ("clid", Some("\"Ext 1001\" <1001>")),
            ("src", Some("1001")),
            ("dst", Some("1000")),
            ("dcontext", Some("internal")),
            ("channel", field(a, "channel_name")),
            ("dstchannel", field(b, "channel_name")),
            ("lastapp", Some("Dial")),
            ("lastdata", Some("SIP/1000")),
            ("disposition", Some("ANSWERED")),
            ("amaflags", Some("DOCUMENTATION")),
            ("uniqueid", Some(a_uuid)),
            ("linkedid", Some(a_uuid)),
            ("userfield", Some("")),
        ],
    );
    assert_times_consistent(cdr);
    // Party A's record starts with Party A's channel and ends with the hang-up.
    assert_eq!(int(cdr, "start"), int(a, "start"));
    assert!(int(cdr, "billsec") >= 2);

    let kinds = |uuid: &str| -> Vec<String> {
        r.cel
            .iter()
            .filter(|e| field(e, "uniqueid") == Some(uuid))
            .map(|e| field(e, "eventtype").unwrap_or("").to_owned())
            .collect()
    };
    assert_eq!(
        kinds(a_uuid),
        [
            "CHAN_START",
            "APP_START",
            "ANSWER",
            "BRIDGE_ENTER",
            "BRIDGE_EXIT",
            "APP_END",
            "HANGUP",
            "CHAN_END",
        ]
        .map(String::from)
        .to_vec()
        .into_iter()
        .chain(kinds(a_uuid).into_iter().filter(|k| k == "LINKEDID_END"))
        .collect::<Vec<_>>(),
        "CEL of the caller's channel: {:#?}",
        r.cel
    );
    let linkedid_end = r
        .cel
        .iter()
        .filter(|e| field(e, "eventtype") == Some("LINKEDID_END"))
        .count();
    assert_eq!(linkedid_end, 1, "one LINKEDID_END per call: {:#?}", r.cel);
}

/// 1001 calls 1000, which answers; the caller hangs up: hangup_side flips.
#[test]
fn answered_call_caller_hangs_up() {
    let mut pbx = pbx();
    let callee = phone_1000("call_uas_answer.xml");
    let caller = call_from_1001("1000", "call_uac_answered_bye.xml");
    finish(caller, vec![callee]);
    let r = stop_and_read(&mut pbx);
    let (a, b) = split_legs(&r.legs);
    assert_fields(
        a,
        &[
            ("hangup_side", Some("remote")),
            ("hangup_cause", Some("NORMAL_CLEARING")),
        ],
    );
    assert_fields(
        b[0],
        &[
            ("hangup_side", Some("local")),
            ("hangup_cause", Some("NORMAL_CLEARING")),
        ],
    );
    assert_eq!(r.bridge.len(), 1);
    assert_fields(&r.bridge[0], &[("disposition", Some("ANSWERED"))]);
}

/// 1000 answers 486: both legs unanswered with USER_BUSY; the bridge record is BUSY.
#[test]
fn busy() {
    let mut pbx = pbx();
    let callee = phone_1000("call_uas_busy.xml");
    let caller = call_from_1001("1000", "call_uac_486.xml");
    finish(caller, vec![callee]);
    let r = stop_and_read(&mut pbx);
    let (a, b) = split_legs(&r.legs);
    assert_eq!(b.len(), 1);
    assert_fields(
        b[0],
        &[
            ("answer", None),
            ("hangup_cause", Some("USER_BUSY")),
            ("sip_code", Some("486")),
            ("hangup_side", Some("remote")),
            ("billsec", Some("0")),
        ],
    );
    assert_fields(
        a,
        &[
            ("answer", None),
            ("hangup_cause", Some("USER_BUSY")),
            ("sip_code", Some("486")),
            ("hangup_side", Some("local")),
            ("bridge_uuid", None),
        ],
    );
    assert_times_consistent(a);
    assert_eq!(r.bridge.len(), 1, "{:#?}", r.bridge);
    assert_fields(
        &r.bridge[0],
        &[
            ("disposition", Some("BUSY")),
            ("answer", None),
            ("billsec", Some("0")),
            ("dstchannel", field(b[0], "channel_name")),
        ],
    );
}

/// 1000 declines with 603: CALL_REJECTED, disposition BUSY (a declined call is a busy
/// callee to billing, as in Asterisk's PJSIP channel).
#[test]
fn declined() {
    let mut pbx = pbx();
    let callee = phone_1000("call_uas_decline.xml");
    let caller = call_from_1001("1000", "call_uac_603.xml");
    finish(caller, vec![callee]);
    let r = stop_and_read(&mut pbx);
    let (_, b) = split_legs(&r.legs);
    assert_fields(
        b[0],
        &[
            ("hangup_cause", Some("CALL_REJECTED")),
            ("sip_code", Some("603")),
        ],
    );
    assert_fields(&r.bridge[0], &[("disposition", Some("BUSY"))]);
}

/// The caller cancels while 1000 rings: ORIGINATOR_CANCEL, NO ANSWER.
#[test]
fn caller_cancels() {
    let mut pbx = pbx();
    let mut callee = phone_1000("call_uas_ring_cancel.xml");
    let caller = call_from_1001("1000", "call_uac_cancel.xml");
    callee.expect_relay("invite");
    finish(caller, vec![callee]);
    let r = stop_and_read(&mut pbx);
    let (a, b) = split_legs(&r.legs);
    assert_fields(
        a,
        &[
            ("hangup_cause", Some("ORIGINATOR_CANCEL")),
            ("hangup_side", Some("remote")),
            ("answer", None),
        ],
    );
    assert_fields(
        b[0],
        &[
            ("hangup_cause", Some("ORIGINATOR_CANCEL")),
            ("hangup_side", Some("local")),
            ("answer", None),
        ],
    );
    assert_eq!(r.bridge.len(), 1);
    assert_fields(
        &r.bridge[0],
        &[("disposition", Some("NO ANSWER")), ("billsec", Some("0"))],
    );
}

/// 1000 rings past the ring timeout (5 s): NO_ANSWER, disposition NO ANSWER.
#[test]
fn no_answer() {
    let mut pbx = pbx();
    let mut callee = phone_1000("call_uas_ring_cancel.xml");
    let caller = call_from_1001("1000", "call_uac_noanswer.xml");
    callee.expect_relay("invite");
    finish(caller, vec![callee]);
    let r = stop_and_read(&mut pbx);
    let (a, b) = split_legs(&r.legs);
    assert_fields(a, &[("hangup_cause", Some("NO_ANSWER")), ("answer", None)]);
    assert_fields(
        b[0],
        &[
            ("hangup_cause", Some("NO_ANSWER")),
            ("hangup_side", Some("local")),
        ],
    );
    assert!(int(a, "duration") >= 4, "rang ~5 s: {a:#?}");
    assert_fields(&r.bridge[0], &[("disposition", Some("NO ANSWER"))]);
}

/// A number that routes nowhere: one leg record (UNALLOCATED_NUMBER, 404), one bridge
/// record without Party B, FAILED.
#[test]
fn unknown_number_is_failed() {
    let mut pbx = pbx();
    let caller = call_from_1001("777", "call_uac_404.xml");
    finish(caller, Vec::new());
    let r = stop_and_read(&mut pbx);
    assert_eq!(r.legs.len(), 1, "{:#?}", r.legs);
    assert_fields(
        &r.legs[0],
        &[
            ("direction", Some("inbound")),
            ("destination_number", Some("777")),
            ("hangup_cause", Some("UNALLOCATED")),
            ("sip_code", Some("404")),
            ("bridge_uuid", None),
            ("answer", None),
        ],
    );
    assert_eq!(r.bridge.len(), 1, "{:#?}", r.bridge);
    assert_fields(
        &r.bridge[0],
        &[
            ("dst", Some("777")),
            ("dstchannel", Some("")),
            ("disposition", Some("FAILED")),
            ("billsec", Some("0")),
        ],
    );
}

/// Extension 1000 with two contacts: both ring, one answers. Leg mode: the caller, the
/// winner, and the loser (cancelled: answered elsewhere). Bridge mode: one record per dial
/// attempt, ANSWERED and NO ANSWER.
#[test]
fn parallel_ring_one_answers() {
    let mut pbx = pbx();
    let mut winner = phone_1000("call_uas_answer_late.xml");
    let mut loser = phone_1000("call_uas_ring_cancel.xml");
    let caller = call_from_1001("1000", "call_uac_answered_bye.xml");
    winner.expect_relay("invite");
    loser.expect_relay("invite");
    finish(caller, vec![winner, loser]);
    let r = stop_and_read(&mut pbx);
    assert_eq!(r.legs.len(), 3, "{:#?}", r.legs);
    let (a, b) = split_legs(&r.legs);
    let a_uuid = field(a, "uuid").expect("uuid");
    let answered: Vec<&&CdrRow> = b.iter().filter(|l| field(l, "answer").is_some()).collect();
    let lost: Vec<&&CdrRow> = b.iter().filter(|l| field(l, "answer").is_none()).collect();
    assert_eq!((answered.len(), lost.len()), (1, 1), "{b:#?}");
    assert_fields(
        answered[0],
        &[("originator", Some(a_uuid)), ("bridge_uuid", Some(a_uuid))],
    );
    assert_fields(
        lost[0],
        &[
            ("originator", Some(a_uuid)),
            ("bridge_uuid", None),
            ("hangup_cause", Some("ANSWERED_ELSEWHERE")),
            ("hangup_side", Some("local")),
        ],
    );
    assert_fields(a, &[("bridge_uuid", field(answered[0], "uuid"))]);

    assert_eq!(r.bridge.len(), 2, "{:#?}", r.bridge);
    let by_dst = |chan: Option<&str>| {
        r.bridge
            .iter()
            .find(|c| field(c, "dstchannel") == chan)
            .unwrap_or_else(|| panic!("no record for {chan:?}: {:#?}", r.bridge))
    };
    assert_fields(
        by_dst(field(answered[0], "channel_name")),
        &[("disposition", Some("ANSWERED"))],
    );
    assert_fields(
        by_dst(field(lost[0], "channel_name")),
        &[("disposition", Some("NO ANSWER"))],
    );
    let seqs: Vec<i64> = r.bridge.iter().map(|c| int(c, "sequence")).collect();
    assert!(seqs[0] < seqs[1], "sequence increases: {seqs:?}");
    for c in &r.bridge {
        assert_fields(c, &[("uniqueid", Some(a_uuid)), ("linkedid", Some(a_uuid))]);
    }
}

/// 1001 dials 9555123: the carrier answers. The outbound leg's account and line group are
/// the gateway's name; the number dialed there has the 9 stripped.
#[test]
fn outbound_call_over_the_gateway() {
    let mut pbx = pbx();
    let carrier = Agent::carrier(AgentSpec::carrier("call_gw_uas.xml"));
    let caller = call_from_1001("9555123", "call_uac_gateway.xml");
    finish(caller, vec![carrier]);
    let r = stop_and_read(&mut pbx);
    let (a, b) = split_legs(&r.legs);
    assert_eq!(b.len(), 1, "{:#?}", r.legs);
    assert_fields(
        a,
        &[
            ("account", Some("1001")),
            ("destination_number", Some("9555123")),
            ("dial_number", Some("9555123")),
            ("line_group", Some("")),
        ],
    );
    assert_fields(
        b[0],
        &[
            ("account", Some("carrier")),
            ("line_group", Some("carrier")),
            ("destination_number", Some("555123")),
            ("dial_number", Some("555123")),
            ("callee_id_number", Some("555123")),
            ("source_name", Some("1001")),
        ],
    );
    assert!(field(b[0], "answer").is_some());
    assert_fields(
        &r.bridge[0],
        &[
            ("dst", Some("9555123")),
            ("lastdata", Some("SIP/carrier/555123")),
            ("disposition", Some("ANSWERED")),
        ],
    );
}

/// The carrier calls DID 5550100: the inbound leg's account is the gateway's name and its
/// context `from-trunk`; extension 1000 answers.
#[test]
fn inbound_call_from_the_gateway() {
    let mut pbx = pbx();
    let callee = phone_1000("call_uas_answer.xml");
    let carrier = Agent::spawn(AgentSpec::carrier_call(
        "5551234",
        "5550100",
        "call_gw_uac.xml",
    ));
    finish(carrier, vec![callee]);
    let r = stop_and_read(&mut pbx);
    let (a, b) = split_legs(&r.legs);
    assert_fields(
        a,
        &[
            ("account", Some("carrier")),
            ("line_group", Some("carrier")),
            ("context", Some("from-trunk")),
            ("caller_id_number", Some("5551234")),
            ("destination_number", Some("5550100")),
            ("source_name", Some("5551234")),
        ],
    );
    assert_fields(
        b[0],
        &[
            ("account", Some("1000")),
            ("destination_number", Some("1000")),
            ("dial_number", Some("1000")),
            ("line_group", Some("")),
            ("originator", field(a, "uuid")),
        ],
    );
    assert_fields(
        &r.bridge[0],
        &[
            ("src", Some("5551234")),
            ("dst", Some("5550100")),
            ("dcontext", Some("from-trunk")),
            ("disposition", Some("ANSWERED")),
        ],
    );
}

/// The echo test (`*43`): the switch answers the caller itself. One leg record (answered,
/// no bridge peer) with the RTP the test sent and got back; one bridge record without
/// Party B, ANSWERED, `lastapp` Echo.
#[test]
fn call_answered_by_the_switch_alone() {
    use common::rtp::RtpPeer;
    use std::time::Duration;
    let mut pbx = pbx();
    let rtp = RtpPeer::bind();
    let mut caller = Agent::spawn(
        AgentSpec::caller(1000, "*43", "uac_echo.xml", SipTransport::Udp).with_rtp_port(rtp.port()),
    );
    let relay = caller.expect_relay("answered");
    rtp.send_stream(relay, 50, 0x0cd4_0043);
    let back = rtp.collect(50, Duration::from_secs(2));
    assert_eq!(back.packets, 50, "echo: {back:?}");
    finish(caller, Vec::new());
    let r = stop_and_read(&mut pbx);
    assert_eq!(r.legs.len(), 1, "{:#?}", r.legs);
    let leg = &r.legs[0];
    assert_fields(
        leg,
        &[
            ("direction", Some("inbound")),
            ("account", Some("1000")),
            ("destination_number", Some("*43")),
            ("bridge_uuid", None),
            ("originator", None),
            ("hangup_cause", Some("NORMAL_CLEARING")),
            ("hangup_side", Some("remote")),
            ("codec", Some("PCMA")),
            ("rtp_in_packets", Some("50")),
            ("rtp_out_packets", Some("50")),
            ("rtp_in_lost", Some("0")),
        ],
    );
    assert!(field(leg, "answer").is_some());
    assert_times_consistent(leg);
    assert_eq!(r.bridge.len(), 1, "{:#?}", r.bridge);
    assert_fields(
        &r.bridge[0],
        &[
            ("dst", Some("*43")),
            ("channel", field(leg, "channel_name")),
            ("dstchannel", Some("")),
            ("lastapp", Some("Echo")),
            ("disposition", Some("ANSWERED")),
            ("uniqueid", field(leg, "uuid")),
        ],
    );
    assert_times_consistent(&r.bridge[0]);
}
