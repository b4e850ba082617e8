//! The CDR dataset: leg and bridge records and CEL events written into a real `cdr.db`
//! through `cdr::store`.

use std::path::Path;

use switchboard::cdr::model::{
    BridgeRecord, CdrOp, CelRecord, Disposition, LegRecord, LegStatus, RtpSummary,
};
use switchboard::cdr::store::CdrStore;
use switchboard::config::cdr::CdrSettings;

use super::*;

/// Writes the dataset into a new `cdr.db` at `path` through the CDR store.
pub(super) async fn fill(path: &Path) {
    let settings = CdrSettings {
        node_id: "1.2.3".to_owned(),
        ..CdrSettings::default()
    };
    let store = CdrStore::open(path, &settings).await.expect("cdr.db");
    store.write_batch(&dataset(), T0).await.expect("write");
    store.close().await;
}

/// [`LEGS`] legs, a minute apart from [`T0`], two per call (`call-<n/2>`): even ones
/// inbound from extension `100<n%4>`, odd ones outbound over `gw1`; every third leg
/// unanswered. Ten bridge records (dispositions cycling), CEL events of `call-0`, and three
/// inbound legs starting now (today's chart).
fn dataset() -> Vec<CdrOp> {
    let mut ops = Vec::new();
    for n in 0..LEGS {
        let start = T0 + Millis::from(n) * MINUTE;
        let inbound = n % 2 == 0;
        let ext = format!("100{}", n / 2 % 4);
        let mut r = leg(&format!("uuid-{n:04}"), start, n % 3 != 0);
        r.direction = if inbound { "inbound" } else { "outbound" }.to_owned();
        r.account = if inbound {
            ext.clone()
        } else {
            "gw1".to_owned()
        };
        r.line_group = if inbound {
            String::new()
        } else {
            "gw1".to_owned()
        };
        r.caller_id_number = ext;
        r.callee_id_number = format!("0612{:04}", n % 7);
        r.destination_number = r.callee_id_number.clone();
        r.linkedid = format!("call-{}", n / 2);
        ops.push(CdrOp::LegFinal(Arc::new(r)));
    }
    let dispositions = [
        Disposition::Answered,
        Disposition::NoAnswer,
        Disposition::Busy,
    ];
    for k in 0..10u32 {
        let start = T0 + Millis::from(k) * 2 * MINUTE;
        ops.push(CdrOp::BridgeFinal(Arc::new(bridge(
            k,
            start,
            dispositions[k as usize % 3],
        ))));
    }
    for (seq, event) in ["CHAN_START", "ANSWER", "HANGUP"].iter().enumerate() {
        ops.push(CdrOp::Cel(Arc::new(cel(
            seq as u64,
            event,
            T0 + seq as Millis * 1_000,
        ))));
    }
    let now = web_now();
    for n in 0..3 {
        let mut r = leg(&format!("today-{n}"), now, n != 0);
        r.linkedid = format!("today-{n}");
        ops.push(CdrOp::LegFinal(Arc::new(r)));
    }
    ops
}

fn web_now() -> Millis {
    switchboard::db::unix_ms(std::time::SystemTime::now())
}

/// A final inbound leg from 1000 to 1001 at `start`.
fn leg(uuid: &str, start: Millis, answered: bool) -> LegRecord {
    LegRecord {
        uuid: uuid.to_owned(),
        node_id: "1.2.3".to_owned(),
        status: LegStatus::Hangup,
        direction: "inbound".to_owned(),
        account: "1000".to_owned(),
        caller_id_number: "1000".to_owned(),
        caller_id_name: "Alice, \"A\"".to_owned(),
        callee_id_number: "1001".to_owned(),
        destination_number: "1001".to_owned(),
        originator: None,
        bridge_uuid: None,
        call_source: "dialplan".to_owned(),
        source_name: "1000".to_owned(),
        source_number: String::new(),
        dial_number: "1001".to_owned(),
        line_group: String::new(),
        context: "internal".to_owned(),
        channel_name: format!("SIP/{uuid}"),
        sip_call_id: Some(format!("{uuid}@host")),
        start,
        answer: answered.then_some(start + 2_000),
        end: Some(start + 30_000),
        duration: 30,
        billsec: if answered { 28 } else { 0 },
        duration_ms: 30_000,
        billsec_ms: if answered { 28_000 } else { 0 },
        hangup_cause: "NORMAL_CLEARING".to_owned(),
        q850: Some(16),
        sip_code: None,
        hangup_side: "remote".to_owned(),
        codec: Some("PCMU".to_owned()),
        rtp: RtpSummary::default(),
        linkedid: "x".to_owned(),
        accountcode: String::new(),
        amaflags: "DOCUMENTATION".to_owned(),
        userfield: String::new(),
        variables: Default::default(),
    }
}

fn bridge(k: u32, start: Millis, disposition: Disposition) -> BridgeRecord {
    let answered = disposition == Disposition::Answered;
    BridgeRecord {
        node_id: "1.2.3".to_owned(),
        clid: "\"Alice\" <1000>".to_owned(),
        src: format!("100{}", k % 4),
        dst: "1001".to_owned(),
        dcontext: "internal".to_owned(),
        channel: format!("SIP/a-{k}"),
        dstchannel: format!("SIP/b-{k}"),
        lastapp: "Dial".to_owned(),
        lastdata: "SIP/1001".to_owned(),
        start,
        answer: answered.then_some(start + 1_000),
        end: Some(start + 20_000),
        duration: 20,
        billsec: if answered { 19 } else { 0 },
        duration_ms: 20_000,
        billsec_ms: if answered { 19_000 } else { 0 },
        disposition,
        amaflags: "DOCUMENTATION".to_owned(),
        accountcode: format!("100{}", k % 4),
        peeraccount: String::new(),
        uniqueid: format!("uuid-{:04}", k * 2),
        peer_uniqueid: format!("uuid-{:04}", k * 2 + 1),
        linkedid: format!("call-{k}"),
        sequence: 1,
        userfield: String::new(),
        variables: Default::default(),
    }
}

fn cel(seq: u64, event: &str, at: Millis) -> CelRecord {
    CelRecord {
        event_seq: seq,
        node_id: "1.2.3".to_owned(),
        eventtype: event.to_owned(),
        eventtime: at,
        cid_name: "Alice".to_owned(),
        cid_num: "1000".to_owned(),
        cid_ani: "1000".to_owned(),
        cid_rdnis: String::new(),
        cid_dnid: "1001".to_owned(),
        exten: "1001".to_owned(),
        context: "internal".to_owned(),
        channame: "SIP/uuid-0000".to_owned(),
        appname: String::new(),
        appdata: String::new(),
        amaflags: "DOCUMENTATION".to_owned(),
        accountcode: String::new(),
        peeraccount: String::new(),
        uniqueid: "uuid-0000".to_owned(),
        linkedid: "call-0".to_owned(),
        userfield: String::new(),
        peer: String::new(),
        extra: "{}".to_owned(),
    }
}
