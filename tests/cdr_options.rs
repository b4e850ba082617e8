//! CDR options against the real binary (issue 4): custom fields and `details`, realtime
//! mode, the CSV log (IPSC layout) and the webhook, each with its own `[cdr]` table added
//! to a copy of the test PBX configuration (`pbx_config_extra`).
//!
//! Run: `cargo test --test cdr_options` (needs `sipp`; fixed ports, one PBX at a time).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::calls::{call_from_1001, finish, Agent, SipTransport};
use common::cdr::{assert_fields, field, int, rows_blocking, wait_rows, CdrRow};
use common::{pbx_config_extra, Pbx};

/// Extension 1000 registered over UDP, answering INVITEs with `scenario`.
fn phone_1000(scenario: &str) -> Agent {
    common::calls::phone_1000(scenario, SipTransport::Udp)
}

/// The inbound and outbound leg rows of a single call.
#[track_caller]
fn a_and_b(legs: &[CdrRow]) -> (&CdrRow, &CdrRow) {
    let find = |dir: &str| {
        legs.iter()
            .find(|r| field(r, "direction") == Some(dir))
            .unwrap_or_else(|| panic!("no {dir} leg: {legs:#?}"))
    };
    (find("inbound"), find("outbound"))
}

/// mod_cti `fields`: a channel variable (an `X-` header of the INVITE) renamed to a column,
/// a number column from a record field, a template combining two variables, an alias of
/// the codec; `details` keeps every variable as JSON.
#[test]
fn custom_fields_and_details() {
    let config = pbx_config_extra(
        r#"[cdr]
details = true
fields = [
    "campaign:sip_h_X-Campaign",
    "number:talk:billsec_ms",
    "route:${sip_from_user}>${sip_req_user}",
    "rtp_codec:rtp_last_audio_codec_string",
    "number:missing:no_such_variable",
]
"#,
    );
    let mut pbx = Pbx::start_with(config);
    let callee = phone_1000("call_uas_answer.xml");
    let caller = call_from_1001("1000", "cdr_uac_xheader.xml");
    finish(caller, vec![callee]);
    assert!(pbx.terminate().success());
    let db = pbx.data_dir().join("cdr.db");
    let legs = rows_blocking(&db, "cdr_leg", "1", "id");
    let (a, b) = a_and_b(&legs);
    assert_fields(
        a,
        &[
            ("campaign", Some("spring")),
            ("route", Some("1001>1000")),
            ("rtp_codec", Some("PCMA")),
            ("missing", None),
        ],
    );
    // A number column holds the value as a number: billsec_ms of the record itself.
    let talk: f64 = field(a, "talk").expect("talk").parse().expect("number");
    assert_eq!(talk as i64, int(a, "billsec_ms"));
    // The callee's leg has no such header: an empty text, not another leg's value.
    assert_fields(b, &[("campaign", Some("")), ("route", Some(">"))]);
    let details: serde_json::Value =
        serde_json::from_str(field(a, "details").expect("details")).expect("details is JSON");
    assert_eq!(
        details["variables"]["sip_h_X-Campaign"], "spring",
        "{details:#}"
    );
    assert_eq!(details["uuid"].as_str(), field(a, "uuid"), "{details:#}");
    // Bridge records get the same custom columns, from Party A's variables.
    let bridge = rows_blocking(&db, "cdr", "1", "id");
    assert_fields(
        &bridge[0],
        &[("campaign", Some("spring")), ("route", Some("1001>1000"))],
    );
}

/// mod_cti `real`: leg rows appear at channel creation and follow the call's state; the
/// same rows become the final records.
#[test]
fn realtime_rows_follow_the_call() {
    let mut pbx = Pbx::start_with(pbx_config_extra("[cdr]\nrealtime = true\n"));
    let db = pbx.data_dir().join("cdr.db");
    let callee = phone_1000("call_uas_answer_bye.xml");
    let caller = call_from_1001("1000", "call_uac_answered_wait_bye.xml");
    // While the call is up (the callee hangs up after 3 s): both legs bridged, no end.
    let live = wait_rows(&db, "cdr_leg", "1", Duration::from_secs(3), |rows| {
        rows.len() == 2 && rows.iter().all(|r| field(r, "status") == Some("bridged"))
    });
    for row in &live {
        assert_fields(row, &[("end", None), ("hangup_cause", Some(""))]);
        assert!(field(row, "answer").is_some(), "{row:#?}");
    }
    let ids: Vec<Option<&str>> = live.iter().map(|r| field(r, "id")).collect();
    finish(caller, vec![callee]);
    assert!(pbx.terminate().success());
    let done = rows_blocking(&db, "cdr_leg", "1", "id");
    assert_eq!(done.len(), 2, "{done:#?}");
    for row in &done {
        assert_fields(
            row,
            &[
                ("status", Some("hangup")),
                ("hangup_cause", Some("NORMAL_CLEARING")),
            ],
        );
        assert!(field(row, "end").is_some());
    }
    let final_ids: Vec<Option<&str>> = done.iter().map(|r| field(r, "id")).collect();
    assert_eq!(ids, final_ids, "the live rows are updated in place");
}

/// The CSV log in the IPSC layout: the 29 fields of the CTI platform in their order, one
/// line per channel; plus the leg and bridge layouts with their header rows.
#[test]
fn csv_log_in_ipsc_layout() {
    let mut pbx = Pbx::start_with(pbx_config_extra(
        "[cdr.csv]\nlayouts = [\"ipsc\", \"leg\", \"bridge\"]\n",
    ));
    let callee = phone_1000("call_uas_answer.xml");
    let caller = call_from_1001("1000", "call_uac_answered_bye.xml");
    finish(caller, vec![callee]);
    assert!(pbx.terminate().success());
    let db = pbx.data_dir().join("cdr.db");
    let legs = rows_blocking(&db, "cdr_leg", "1", "id");
    let (a, b) = a_and_b(&legs);
    let dir = pbx.data_dir().join("cdr-csv");
    let read = |prefix: &str| -> Vec<String> {
        let mut lines = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("csv dir") {
            let path = entry.expect("entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with(prefix) && name.ends_with(".csv") {
                let text = std::fs::read_to_string(&path).expect("read csv");
                lines.extend(text.lines().map(str::to_owned));
            }
        }
        lines
    };
    let ipsc = read("ipsc-");
    assert_eq!(ipsc.len(), 2, "{ipsc:#?}");
    let rows: Vec<Vec<&str>> = ipsc.iter().map(|l| l.split(',').collect()).collect();
    for row in &rows {
        assert_eq!(row.len(), 29, "29 fields: {row:?}");
    }
    let by_id = |uuid: Option<&str>| {
        rows.iter()
            .find(|r| Some(r[0]) == uuid)
            .unwrap_or_else(|| panic!("no IPSC line for {uuid:?}: {rows:#?}"))
    };
    let (ra, rb) = (by_id(field(a, "uuid")), by_id(field(b, "uuid")));
    // nodeid, ani, dnis, dir, devtype, callstatus, endtype, talkduration.
    for (row, leg, dir, endtype) in [(ra, a, "0", "2"), (rb, b, "1", "1")] {
        assert_eq!(row[1], "1.1.1");
        assert_eq!(row[7], "1001", "ani");
        assert_eq!(row[8], "1000", "dnis");
        assert_eq!(row[11], dir, "dir");
        assert_eq!(row[12], "2", "devtype SIP");
        assert_eq!(row[14], "1", "callstatus connected");
        assert_eq!(row[15], endtype, "endtype: the caller hung up");
        assert_eq!(
            row[21],
            field(leg, "billsec").expect("billsec"),
            "talkduration"
        );
        for t in [row[18], row[19], row[20]] {
            let ok = t.len() == 19 && t.as_bytes()[4] == b'-' && t.as_bytes()[10] == b' ';
            assert!(ok, "time as YYYY-MM-DD HH:MM:SS: {t:?}");
        }
    }
    // processid strictly increases within the run.
    let mut pids: Vec<i64> = rows
        .iter()
        .map(|r| r[3].parse().expect("processid"))
        .collect();
    let written = pids.clone();
    pids.sort_unstable();
    assert_eq!(written, pids, "processid in writing order");
    assert!(pids[0] < pids[1]);
    let leg_csv = read("leg-");
    assert_eq!(leg_csv.len(), 3, "header + 2: {leg_csv:#?}");
    assert!(leg_csv[0].starts_with("uuid,"), "{}", leg_csv[0]);
    let bridge_csv = read("bridge-");
    assert_eq!(bridge_csv.len(), 2, "header + 1: {bridge_csv:#?}");
    assert!(bridge_csv[1].contains("ANSWERED"), "{}", bridge_csv[1]);
}

/// One request the webhook receiver got.
#[derive(Debug, Clone)]
struct Delivery {
    header_id: String,
    body: serde_json::Value,
    answered: u16,
}

/// A webhook receiver on a free port answering 500 to its first request and 200 after.
fn webhook_receiver() -> (u16, Arc<Mutex<Vec<Delivery>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let got = Arc::new(Mutex::new(Vec::<Delivery>::new()));
    let sink = Arc::clone(&got);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let (mut length, mut header_id) = (0usize, String::new());
            let mut line = String::new();
            while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                let l = line.trim_end().to_owned();
                line.clear();
                if l.is_empty() {
                    break;
                }
                if let Some((k, v)) = l.split_once(':') {
                    match k.trim().to_ascii_lowercase().as_str() {
                        "content-length" => length = v.trim().parse().unwrap_or(0),
                        "x-switchboard-record-id" => header_id = v.trim().to_owned(),
                        _ => {}
                    }
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let mut all = sink.lock().expect("lock");
            let status = if all.is_empty() { 500 } else { 200 };
            all.push(Delivery {
                header_id,
                body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
                answered: status,
            });
            drop(all);
            let reply =
                format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    (port, got)
}

/// The webhook gets every final record, at least once, with its record id in a header and
/// in the body; a failed delivery (500) is retried from the durable outbox.
#[test]
fn webhook_delivers_every_record_with_retries() {
    let (port, got) = webhook_receiver();
    let mut pbx = Pbx::start_with(pbx_config_extra(&format!(
        "[cdr.webhook]\nurl = \"http://127.0.0.1:{port}/cdr\"\nbackoff_ms = 100\n"
    )));
    let callee = phone_1000("call_uas_answer.xml");
    let caller = call_from_1001("1000", "call_uac_answered_bye.xml");
    finish(caller, vec![callee]);
    // 3 records (2 legs, 1 bridge) → 3 accepted deliveries, after one refused.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let accepted = got
            .lock()
            .expect("lock")
            .iter()
            .filter(|d| d.answered == 200)
            .count();
        if accepted >= 3 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "deliveries: {:#?}",
            got.lock().expect("lock")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(pbx.terminate().success());
    let all = got.lock().expect("lock").clone();
    let refused = &all[0];
    assert_eq!(refused.answered, 500);
    let accepted: Vec<&Delivery> = all.iter().filter(|d| d.answered == 200).collect();
    assert_eq!(accepted.len(), 3, "{all:#?}");
    assert!(
        accepted.iter().any(|d| d.header_id == refused.header_id),
        "the refused record was delivered again: {all:#?}"
    );
    let mut ids: Vec<&str> = accepted.iter().map(|d| d.header_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 3, "three distinct records: {all:#?}");
    for d in &accepted {
        assert_eq!(
            d.body["record_id"].as_str(),
            Some(d.header_id.as_str()),
            "{d:#?}"
        );
    }
    let db = pbx.data_dir().join("cdr.db");
    let legs = rows_blocking(&db, "cdr_leg", "1", "id");
    for leg in &legs {
        let id = format!("leg:{}", field(leg, "uuid").expect("uuid"));
        assert!(ids.contains(&id.as_str()), "{id} not delivered: {ids:?}");
    }
    let outbox = rows_blocking(&db, "cdr_outbox", "1", "id");
    assert!(outbox.is_empty(), "nothing left to deliver: {outbox:#?}");
}
