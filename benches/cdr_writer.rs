//! CDR store writer throughput: N leg records (41 columns + 2 custom fields + no details,
//! realistic values) through `CdrStore::write_batch` into a fresh SQLite file (WAL,
//! `synchronous=NORMAL`), in batches as the pipeline makes them. Reports records/s and the
//! p50/p99/max latency of one batch (its commit returning = durable against a process
//! crash).
//!
//! Scenarios:
//! - `final`: final leg records only (one batch = B finals);
//! - `journal`: each record journaled live in one batch, final in the next (what a run
//!   with calls longer than a batch does: upsert + delete in `cdr_live` per record);
//! - `mixed`: leg finals + one bridge record per two legs + 8 CEL rows per leg... counted
//!   as leg records/s, with everything else on top.
//!
//! Run: `cargo bench --bench cdr_writer` (env `CDR_BENCH_N`, `CDR_BENCH_BATCH` override
//! N = 200,000 and B = 1,000).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use switchboard::cdr::model::{
    BridgeRecord, CdrOp, CelRecord, Disposition, LegRecord, LegStatus, RtpSummary,
};
use switchboard::cdr::store::CdrStore;
use switchboard::config::{parse_field, CdrSettings};

const T0: i64 = 1_795_391_101_123;

fn leg(i: u64, live: bool) -> LegRecord {
    let start = T0 + i64::try_from(i).unwrap_or(0) * 7;
    let inbound = i % 2 == 0;
    let answered = i % 5 != 0;
    let (answer, end) = (start + 4_210, start + 93_777);
    LegRecord {
        uuid: format!(
            "{:08x}-6a1e-4c2b-9f3d-{:012x}",
            i * 2_654_435_761 % 0xffff_ffff,
            i
        ),
        node_id: "1.1.1".to_owned(),
        status: if live {
            LegStatus::Answered
        } else {
            LegStatus::Hangup
        },
        direction: if inbound { "inbound" } else { "outbound" }.to_owned(),
        account: format!("{}", 1000 + i % 200),
        caller_id_number: format!("{}", 1000 + i % 200),
        caller_id_name: format!("Extension {}", 1000 + i % 200),
        callee_id_number: format!("0{}", 612_345_000 + i % 10_000),
        destination_number: format!("0{}", 612_345_000 + i % 10_000),
        originator: (!inbound).then(|| format!("{:08x}-6a1e-4c2b-9f3d-{:012x}", i, i - 1)),
        bridge_uuid: answered.then(|| format!("{:08x}-6a1e-4c2b-9f3d-{:012x}", i, i + 1)),
        call_source: "dialplan".to_owned(),
        source_name: format!("{}", 1000 + i % 200),
        source_number: String::new(),
        dial_number: format!("0{}", 612_345_000 + i % 10_000),
        line_group: "gw-main".to_owned(),
        context: "internal".to_owned(),
        channel_name: format!("SIP/{}-{:08x}", 1000 + i % 200, i),
        sip_call_id: Some(format!("{:016x}@192.0.2.10", i * 31)),
        start,
        answer: (answered && !live).then_some(answer),
        end: (!live).then_some(end),
        duration: if live { 0 } else { (end - start) / 1000 },
        billsec: if answered && !live {
            (end - answer) / 1000
        } else {
            0
        },
        duration_ms: if live { 0 } else { end - start },
        billsec_ms: if answered && !live { end - answer } else { 0 },
        hangup_cause: if live { "" } else { "NORMAL_CLEARING" }.to_owned(),
        q850: (!live).then_some(16),
        sip_code: None,
        hangup_side: if live { "" } else { "remote" }.to_owned(),
        codec: Some("PCMU".to_owned()),
        rtp: RtpSummary {
            in_packets: 4_480 + i % 17,
            in_lost: i % 3,
            in_jitter_ms: 1.25,
            out_packets: 4_482,
            out_lost: 0,
            out_jitter_ms: 0.75,
        },
        linkedid: format!("{:08x}-6a1e-4c2b-9f3d-{:012x}", i / 2, i / 2),
        accountcode: "sales".to_owned(),
        amaflags: "DOCUMENTATION".to_owned(),
        userfield: String::new(),
        variables: BTreeMap::from([
            ("queue_name".to_owned(), "support".to_owned()),
            ("sip_h_X-Campaign".to_owned(), format!("c{}", i % 40)),
            ("call_timeout".to_owned(), "30".to_owned()),
        ]),
    }
}

fn bridge(i: u64) -> BridgeRecord {
    let start = T0 + i64::try_from(i).unwrap_or(0) * 7;
    BridgeRecord {
        node_id: "1.1.1".to_owned(),
        clid: format!("\"Extension {}\" <{}>", 1000 + i % 200, 1000 + i % 200),
        src: format!("{}", 1000 + i % 200),
        dst: format!("0{}", 612_345_000 + i % 10_000),
        dcontext: "internal".to_owned(),
        channel: format!("SIP/{}-{:08x}", 1000 + i % 200, i),
        dstchannel: format!("SIP/gw-main-{:08x}", i + 1),
        lastapp: "Dial".to_owned(),
        lastdata: "SIP/gw-main/0612345000,30".to_owned(),
        start,
        answer: Some(start + 4_210),
        end: Some(start + 93_777),
        duration: 93,
        billsec: 89,
        duration_ms: 93_777,
        billsec_ms: 89_567,
        disposition: Disposition::Answered,
        amaflags: "DOCUMENTATION".to_owned(),
        accountcode: "sales".to_owned(),
        peeraccount: String::new(),
        uniqueid: format!("{:08x}-6a1e-4c2b-9f3d-{:012x}", i, i),
        peer_uniqueid: format!("{:08x}-6a1e-4c2b-9f3d-{:012x}", i, i + 1),
        linkedid: format!("{:08x}-6a1e-4c2b-9f3d-{:012x}", i, i),
        sequence: i,
        userfield: String::new(),
        variables: BTreeMap::new(),
    }
}

fn cel(i: u64, k: u64) -> CelRecord {
    CelRecord {
        event_seq: i * 8 + k,
        node_id: "1.1.1".to_owned(),
        eventtype: [
            "CHAN_START",
            "APP_START",
            "ANSWER",
            "BRIDGE_ENTER",
            "BRIDGE_EXIT",
            "HANGUP",
            "CHAN_END",
            "LINKEDID_END",
        ][usize::try_from(k).unwrap_or(0) % 8]
            .to_owned(),
        eventtime: T0 + i64::try_from(i * 8 + k).unwrap_or(0),
        cid_name: format!("Extension {}", 1000 + i % 200),
        cid_num: format!("{}", 1000 + i % 200),
        cid_ani: format!("{}", 1000 + i % 200),
        cid_rdnis: String::new(),
        cid_dnid: format!("0{}", 612_345_000 + i % 10_000),
        exten: format!("0{}", 612_345_000 + i % 10_000),
        context: "internal".to_owned(),
        channame: format!("SIP/{}-{:08x}", 1000 + i % 200, i),
        appname: "Dial".to_owned(),
        appdata: "SIP/gw-main/0612345000,30".to_owned(),
        amaflags: "DOCUMENTATION".to_owned(),
        accountcode: "sales".to_owned(),
        peeraccount: String::new(),
        uniqueid: format!("{:08x}-6a1e-4c2b-9f3d-{:012x}", i, i),
        linkedid: format!("{:08x}-6a1e-4c2b-9f3d-{:012x}", i, i),
        userfield: String::new(),
        peer: String::new(),
        extra: "{\"hangupcause\":16}".to_owned(),
    }
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

async fn scenario(name: &str, n: u64, batch: u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = CdrSettings {
        fields: ["queue_name", "number:bill:billsec"]
            .iter()
            .map(|f| parse_field(f).expect("field"))
            .collect(),
        ..CdrSettings::default()
    };
    let store = CdrStore::open(&dir.path().join("cdr.db"), &settings)
        .await
        .expect("open");
    store.recover(T0).await.expect("recover");
    // Build every batch first: the bench measures the store, not the record builder.
    let mut batches: Vec<Vec<CdrOp>> = Vec::new();
    let mut first = 0;
    while first < n {
        let last = (first + batch).min(n);
        let mut ops = Vec::new();
        for i in first..last {
            if name == "journal" && last < n {
                // Next batch's records, journaled now.
                ops.push(CdrOp::LegLive(Arc::new(leg(i + batch, true))));
            }
            ops.push(CdrOp::LegFinal(Arc::new(leg(i, false))));
            if name == "mixed" {
                if i % 2 == 0 {
                    ops.push(CdrOp::BridgeFinal(Arc::new(bridge(i))));
                }
                for k in 0..8 {
                    ops.push(CdrOp::Cel(Arc::new(cel(i, k))));
                }
            }
        }
        batches.push(ops);
        first = last;
    }
    let mut latencies = Vec::with_capacity(batches.len());
    let started = Instant::now();
    for ops in &batches {
        let t = Instant::now();
        let feed = store.write_batch(ops, T0).await.expect("write_batch");
        latencies.push(t.elapsed());
        assert!(!feed.is_empty());
    }
    let total = started.elapsed();
    store.close().await;
    latencies.sort();
    let rate = n as f64 / total.as_secs_f64();
    println!(
        "cdr_writer/{name}: {n} leg records in batches of {batch}: {:.2} s, {:.0} records/s; \
         batch latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        total.as_secs_f64(),
        rate,
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument selects scenarios.
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let n = env_or("CDR_BENCH_N", 200_000);
    let batch = env_or("CDR_BENCH_BATCH", 1_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    for name in ["final", "journal", "mixed"] {
        if filter.as_deref().is_some_and(|f| !name.contains(f)) {
            continue;
        }
        rt.block_on(scenario(name, n, batch));
    }
}
