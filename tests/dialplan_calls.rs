//! The dialplan driving real calls (issue 5): the real binary with the test PBX dialplan
//! (`tests/sipp/pbx/dialplan/extensions.conf`), SIPp phones and callers, and the CDR rows
//! in `<data>/cdr.db` as the witness of what the dialplan did.
//!
//! - the demo IVR (`700`) navigated with RFC 4733 DTMF from SIPp's own pcap: `1` rings the
//!   sales group (`Dial(SIP/1000&SIP/1001,30,r)`), whose phone answers and is bridged;
//! - `Dial` with `&` and `DIALSTATUS` branches (`8001`): busy and no answer take different
//!   paths, each writing `CDR(userfield)` and hanging up with its own cause;
//! - `Dial` option `g` (`8006`): the caller goes on in the dialplan after the callee hangs up;
//! - time-conditioned routing (`8003`, `GotoIfTime` on a global the test sets around the
//!   current UTC time), switched by a reload;
//! - reload during a call (`8004`): the call in progress finishes on the dialplan it started
//!   with, the next call uses the new one;
//! - digit collection (`8007` menu: `i` with `INVALID_EXTEN`, `t`; `8008`: `Read`);
//! - `Record` (`8005`): the caller's RTP into a WAV file whose name a CDR custom field stores.
//!
//! Run: `cargo test --test dialplan_calls` (needs `sipp`; fixed ports: never at the same time
//! as another PBX test binary).

mod common;

use std::fs;

use common::calls::{call_from_1001, finish, phone_1000, Agent, AgentSpec, SipTransport};
use common::cdr::{field, int, rows_blocking, CdrRow};
use common::rtp::RtpPeer;
use common::{pbx_config_extra, Pbx};

/// Stops the PBX (committing every record) and returns the inbound leg rows by start.
#[track_caller]
fn stop_and_read_inbound(pbx: &mut Pbx) -> Vec<CdrRow> {
    let status = pbx.terminate();
    assert!(status.success(), "switchboard exited with {status}");
    let db = pbx.data_dir().join("cdr.db");
    rows_blocking(&db, "cdr_leg", "direction = 'inbound'", "start")
}

/// Writes `dialplan/zz-test.conf` in the PBX's (copied) configuration.
#[track_caller]
fn write_dialplan(pbx: &Pbx, text: &str) {
    let path = pbx.config_dir().join("dialplan").join("zz-test.conf");
    fs::write(&path, text).unwrap_or_else(|e| panic!("write {path:?}: {e}"));
}

/// `switchboard reload` must succeed.
#[track_caller]
fn reload_ok(pbx: &Pbx) {
    let out = pbx.reload();
    assert!(
        out.status.success(),
        "reload failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The IVR answers, plays its prompts, takes the digit 1 sent by SIPp as RFC 4733 events and
/// rings the sales group; 1000 answers and the two are bridged until the caller hangs up.
#[test]
fn ivr_digit_rings_the_sales_group() {
    let mut pbx = Pbx::start_with(pbx_config_extra(""));
    let callee = phone_1000("call_uas_answer.xml", SipTransport::Udp);
    let caller = call_from_1001("700", "uac_ivr_dtmf.xml");
    finish(caller, vec![callee]);
    let log = pbx.log();
    let legs = stop_and_read_inbound(&mut pbx);
    assert_eq!(legs.len(), 1, "{legs:#?}");
    let a = &legs[0];
    // The number dialled stays; the destination follows the dialplan (menu choice 1), as a
    // FreeSWITCH transfer changes destination_number.
    assert_eq!(field(a, "dial_number"), Some("700"), "{a:#?}");
    assert_eq!(field(a, "destination_number"), Some("1"), "{a:#?}");
    assert!(field(a, "bridge_uuid").is_some(), "not bridged: {a:#?}");
    // Prompts and ringback went to the caller from the switch before the bridge.
    assert!(int(a, "rtp_out_packets") > 25, "nothing played: {a:#?}");
    assert!(log.contains("digits=1"), "the digit was not taken:\n{log}");
    // The bridge record: Party A the caller, Party B the sales phone that answered.
    let db = pbx.data_dir().join("cdr.db");
    let bridge = rows_blocking(&db, "cdr", "disposition = 'ANSWERED'", "sequence");
    assert_eq!(bridge.len(), 1, "{bridge:#?}");
    let r = &bridge[0];
    assert_eq!(field(r, "lastapp"), Some("Dial"), "{r:#?}");
    assert_eq!(
        field(r, "lastdata"),
        Some("SIP/1000&SIP/1001,30,r"),
        "{r:#?}"
    );
    // Where the Dial ran: the menu choice `1` of [demo-ivr] (Asterisk's dst/dcontext).
    assert_eq!(field(r, "dcontext"), Some("demo-ivr"), "{r:#?}");
    assert_eq!(field(r, "dst"), Some("1"), "{r:#?}");
    assert_eq!(field(r, "src"), Some("1001"), "{r:#?}");
}

/// `Dial(SIP/1000&SIP/1002,2)`: 1000 busy and 1002 not registered make `BUSY` (the best
/// response is the 486); the busy branch sets the userfield and hangs up with USER_BUSY (486).
#[test]
fn dialstatus_busy_branch() {
    let mut pbx = Pbx::start_with(pbx_config_extra(""));
    let callee = phone_1000("call_uas_busy.xml", SipTransport::Udp);
    let caller = call_from_1001("8001", "call_uac_486.xml");
    finish(caller, vec![callee]);
    let legs = stop_and_read_inbound(&mut pbx);
    assert_eq!(legs.len(), 1, "{legs:#?}");
    assert_eq!(field(&legs[0], "userfield"), Some("dial-BUSY"), "{legs:#?}");
}

/// The same extension when 1000 rings without answering: after the 2 s timeout `NOANSWER`,
/// whose branch hangs up with UNALLOCATED (404).
#[test]
fn dialstatus_noanswer_branch() {
    let mut pbx = Pbx::start_with(pbx_config_extra(""));
    let callee = phone_1000("call_uas_ring_cancel.xml", SipTransport::Udp);
    let caller = call_from_1001("8001", "call_uac_404.xml");
    finish(caller, vec![callee]);
    let legs = stop_and_read_inbound(&mut pbx);
    assert_eq!(
        field(&legs[0], "userfield"),
        Some("dial-NOANSWER"),
        "{legs:#?}"
    );
}

/// A short menu (`8007`): the digit 1 is no choice there, so the caller lands in `i` with
/// `INVALID_EXTEN`; without a digit, in `t` after `WaitExten(2)`.
#[test]
fn menu_digit_collection_invalid_and_timeout() {
    let mut pbx = Pbx::start_with(pbx_config_extra(""));
    call_from_1001("8007", "uac_dtmf1_wait_bye.xml").assert_success();
    call_from_1001("8007", "uac_pbx_answers_wait_bye.xml").assert_success();
    let legs = stop_and_read_inbound(&mut pbx);
    let userfields: Vec<_> = legs.iter().map(|r| field(r, "userfield")).collect();
    assert_eq!(
        userfields,
        vec![Some("invalid-1"), Some("timeout")],
        "{legs:#?}"
    );
}

/// `Read(NUM,beep,2,,,2)` (`8008`): one digit, then the 2 s timeout: `NUM=1`, `READSTATUS=OK`.
#[test]
fn read_collects_digits_until_the_timeout() {
    let mut pbx = Pbx::start_with(pbx_config_extra(""));
    call_from_1001("8008", "uac_dtmf1_wait_bye.xml").assert_success();
    let legs = stop_and_read_inbound(&mut pbx);
    assert_eq!(field(&legs[0], "userfield"), Some("read-1-OK"), "{legs:#?}");
}

/// A loop of applications that complete at once (`Answer` + `Goto(1)`, `8009`) is cut off:
/// the caller gets a BYE and the PBX goes on taking calls.
#[test]
fn endless_dialplan_loop_is_cut_off() {
    let mut pbx = Pbx::start_with(pbx_config_extra(""));
    call_from_1001("8009", "uac_pbx_answers_wait_bye.xml").assert_success();
    call_from_1001("8003", "call_uac_486.xml").assert_success();
    assert!(pbx.log().contains("dialplan loops without waiting"));
    let status = pbx.terminate();
    assert!(status.success(), "switchboard exited with {status}");
}

/// `Dial(SIP/1000,,g)`: when the callee hangs up the caller goes on in the dialplan (which
/// records it and hangs up: the caller gets the PBX's BYE).
#[test]
fn dial_option_g_continues_after_the_callee_hangs_up() {
    let mut pbx = Pbx::start_with(pbx_config_extra(""));
    let callee = phone_1000("call_uas_answer_bye.xml", SipTransport::Udp);
    let caller = call_from_1001("8006", "call_uac_answered_wait_bye.xml");
    finish(caller, vec![callee]);
    let legs = stop_and_read_inbound(&mut pbx);
    assert_eq!(
        field(&legs[0], "userfield"),
        Some("after-ANSWER"),
        "{legs:#?}"
    );
}

/// `HH:MM-HH:MM` in UTC from `from_min` to `to_min` minutes after now (wrapping at midnight).
fn utc_window(from_min: i64, to_min: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64 / 60)
        .unwrap_or(0);
    let hm = |m: i64| {
        let m = (now + m).rem_euclid(24 * 60);
        format!("{:02}:{:02}", m / 60, m % 60)
    };
    format!("{}-{}", hm(from_min), hm(to_min))
}

/// `GotoIfTime` routes by the clock: a window around now is open (486), one later today is
/// closed (404); the switch between them is a dialplan reload.
#[test]
fn time_conditioned_routing() {
    let mut pbx = Pbx::start_with(pbx_config_extra(""));
    write_dialplan(
        &pbx,
        &format!(
            "[globals]\nOFFICE_HOURS={},*,*,*,UTC\n",
            utc_window(-60, 60)
        ),
    );
    reload_ok(&pbx);
    call_from_1001("8003", "call_uac_486.xml").assert_success();
    write_dialplan(
        &pbx,
        &format!(
            "[globals]\nOFFICE_HOURS={},*,*,*,UTC\n",
            utc_window(120, 180)
        ),
    );
    reload_ok(&pbx);
    call_from_1001("8003", "call_uac_404.xml").assert_success();
    let status = pbx.terminate();
    assert!(status.success(), "switchboard exited with {status}");
}

/// A call in `Wait` while the dialplan is reloaded finishes on its own version (userfield
/// `v1`); the next call runs the new one (`v2`).
#[test]
fn reload_during_a_call_keeps_its_dialplan() {
    let mut pbx = Pbx::start_with(pbx_config_extra(""));
    let version = |v: &str| {
        format!(
            "[internal]\nexten => 8004,1,Answer()\n same => n,Wait(2)\n \
             same => n,Set(CDR(userfield)={v})\n same => n,Hangup()\n"
        )
    };
    write_dialplan(&pbx, &version("v1"));
    reload_ok(&pbx);
    let mut first = call_from_1001("8004", "uac_pbx_answers_wait_bye.xml");
    first.expect("answered");
    write_dialplan(&pbx, &version("v2"));
    reload_ok(&pbx);
    first.assert_success();
    call_from_1001("8004", "uac_pbx_answers_wait_bye.xml").assert_success();
    let legs = stop_and_read_inbound(&mut pbx);
    let userfields: Vec<_> = legs.iter().map(|r| field(r, "userfield")).collect();
    assert_eq!(userfields, vec![Some("v1"), Some("v2")], "{legs:#?}");
}

/// `Record(rec-%d.wav,0,2,q)`: 1 s of the caller's RTP lands in a WAV file under
/// `<data>/recordings`; `RECORDED_FILE` names it and a CDR custom field stores the name.
#[test]
fn record_writes_a_wav_named_in_the_cdr() {
    let mut pbx = Pbx::start_with(pbx_config_extra(
        "[cdr]\nfields = [\"recording:RECORDED_FILE\"]\n",
    ));
    let rtp = RtpPeer::bind();
    let mut caller = Agent::spawn(
        AgentSpec::caller(
            1001,
            "8005",
            "uac_pbx_answers_wait_bye.xml",
            SipTransport::Udp,
        )
        .with_rtp_port(rtp.port()),
    );
    let relay = caller.expect_relay("answered");
    rtp.send_stream(relay, 50, 0x5ec0_0005);
    caller.assert_success();
    let legs = stop_and_read_inbound(&mut pbx);
    let name = field(&legs[0], "recording")
        .unwrap_or_else(|| panic!("no recording field: {legs:#?}"))
        .to_owned();
    assert!(name.ends_with("rec-0"), "{name}");
    let wav = fs::read(format!("{name}.wav")).unwrap_or_else(|e| panic!("{name}.wav: {e}"));
    assert_eq!(&wav[..4], b"RIFF");
    assert_eq!(&wav[8..16], b"WAVEfmt ");
    // 50 packets of 20 ms at 8 kHz, 16-bit: 16,000 bytes of samples (a few may be late).
    let data = wav.len() - 44;
    assert!((12_000..=16_000).contains(&data), "{data} bytes of audio");
}
