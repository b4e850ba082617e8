//! CDR query engine over 1,000,000 leg records (issue 6 targets: first page < 100 ms, a
//! filtered query by number < 150 ms, a month's report < 500 ms, server time).
//!
//! The database: N leg records (default 1,000,000 = 500,000 calls of two legs) over 60
//! days, written through `CdrStore::write_batch` like the pipeline does. Calls follow office
//! hours (80 % between 08:00 and 18:00 UTC); 200 extensions (1000–1199), 3 gateways with
//! 60/30/10 % of the trunk traffic, 100,000 external numbers of which 1,000 hot ones carry
//! a fifth of the calls; 50 % outgoing (extension → gateway), 30 % incoming (gateway →
//! extension), 20 % internal; 70 % answered, talk time 5 s to 10 min. It is generated once
//! and kept in `target/cdr_query_bench/` (delete it to rebuild; ~1 min).
//!
//! Each scenario runs once cold (right after opening, page cache of the OS warm) and then
//! `CDR_QUERY_RUNS` times (default 20); printed: first, median, p90, max. Queries go
//! through `CdrQuery` on a read-only pool, as the web layer does.
//!
//! Run: `cargo bench --bench cdr_query` (env `CDR_QUERY_N` overrides N; a filter argument
//! selects scenarios by name).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use switchboard::cdr::model::{CdrOp, LegRecord, LegStatus, Millis, RtpSummary};
use switchboard::cdr::query::{Bucket, CdrQuery, LegFilter, ReportRequest};
use switchboard::cdr::store::CdrStore;
use switchboard::config::CdrSettings;

/// 2026-09-01T00:00:00Z: day 0 of the dataset.
const DAY0: Millis = 1_788_220_800_000;
const DAY: Millis = 86_400_000;
const DAYS: u64 = 60;
/// Bumped when the generator changes (names the cached file).
const GENERATOR: u32 = 1;

/// A small deterministic generator (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn external(rng: &mut Rng) -> String {
    let n = if rng.below(5) == 0 {
        rng.below(1_000)
    } else {
        rng.below(100_000)
    };
    format!("06{:08}", 12_000_000 + n * 7_919 % 88_000_000)
}

/// The two legs of call `c` starting at `start`.
fn call(rng: &mut Rng, c: u64, start: Millis) -> [LegRecord; 2] {
    let ext = format!("{}", 1000 + rng.below(200));
    let gw = ["gw-main", "gw-backup", "gw-mobile"][match rng.below(10) {
        0..=5 => 0,
        6..=8 => 1,
        _ => 2,
    }];
    let kind = rng.below(10);
    let (caller, callee, in_account, out_account, out_gw) = match kind {
        0..=4 => (ext.clone(), external(rng), ext.clone(), gw, gw),
        5..=7 => (external(rng), ext.clone(), gw.to_owned(), ext.as_str(), ""),
        _ => {
            let other = format!("{}", 1000 + rng.below(200));
            (ext.clone(), other.clone(), ext.clone(), "", "")
        }
    };
    let out_account = if out_account.is_empty() {
        callee.clone()
    } else {
        out_account.to_owned()
    };
    let answered = rng.below(10) < 7;
    let ring = 2_000 + i64::try_from(rng.below(20_000)).unwrap_or(0);
    let talk = 5_000 + i64::try_from(rng.below(595_000)).unwrap_or(0);
    let linkedid = format!("{:016x}-{c:08x}", rng.next());
    let lost = rng.below(3);
    let mk = |n: u64, direction: &str, account: &str, line_group: &str| {
        let answer = answered.then_some(start + ring + i64::try_from(n).unwrap_or(0));
        let end = start + ring + if answered { talk } else { 0 };
        let billsec_ms = answer.map_or(0, |a| end - a);
        LegRecord {
            uuid: format!("{linkedid}-{n}"),
            node_id: "1.1.1".to_owned(),
            status: LegStatus::Hangup,
            direction: direction.to_owned(),
            account: account.to_owned(),
            caller_id_number: caller.clone(),
            caller_id_name: format!("Caller {caller}"),
            callee_id_number: callee.clone(),
            destination_number: callee.clone(),
            originator: (n == 1).then(|| format!("{linkedid}-0")),
            bridge_uuid: answered.then(|| format!("{linkedid}-{}", 1 - n)),
            call_source: "dialplan".to_owned(),
            source_name: caller.clone(),
            source_number: String::new(),
            dial_number: callee.clone(),
            line_group: line_group.to_owned(),
            context: "internal".to_owned(),
            channel_name: format!("SIP/{account}-{c:08x}"),
            sip_call_id: Some(format!("{c:016x}-{n}@192.0.2.10")),
            start: start + i64::try_from(n).unwrap_or(0),
            answer,
            end: Some(end),
            duration: (end - start) / 1000,
            billsec: billsec_ms / 1000,
            duration_ms: end - start,
            billsec_ms,
            hangup_cause: if answered {
                "NORMAL_CLEARING"
            } else {
                "NO_ANSWER"
            }
            .to_owned(),
            q850: Some(if answered { 16 } else { 19 }),
            sip_code: (!answered).then_some(480),
            hangup_side: "remote".to_owned(),
            codec: Some("PCMA".to_owned()),
            rtp: RtpSummary {
                in_packets: u64::try_from(billsec_ms / 20).unwrap_or(0),
                in_lost: lost,
                in_jitter_ms: 1.25,
                out_packets: u64::try_from(billsec_ms / 20).unwrap_or(0),
                out_lost: 0,
                out_jitter_ms: 0.5,
            },
            linkedid: linkedid.clone(),
            accountcode: String::new(),
            amaflags: "DOCUMENTATION".to_owned(),
            userfield: String::new(),
            variables: BTreeMap::new(),
        }
    };
    [
        mk(0, "inbound", &in_account, ""),
        mk(1, "outbound", &out_account, out_gw),
    ]
}

/// A start time on `day`: 80 % in office hours.
fn start_on(rng: &mut Rng, day: u64) -> Millis {
    let ms = if rng.below(5) < 4 {
        8 * 3_600_000 + rng.below(10 * 3_600_000)
    } else {
        rng.below(86_400_000)
    };
    DAY0 + i64::try_from(day).unwrap_or(0) * DAY + i64::try_from(ms).unwrap_or(0)
}

fn bench_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("cdr_query_bench")
}

/// The cached database of `n` legs, generated if missing.
async fn database(n: u64) -> PathBuf {
    let dir = bench_dir();
    let path = dir.join(format!("cdr-{n}-v{GENERATOR}.db"));
    if path.exists() {
        // Opening read-write applies new migrations (indexes) to an older file.
        let store = CdrStore::open(&path, &CdrSettings::default())
            .await
            .expect("open cached");
        store.close().await;
        return path;
    }
    std::fs::create_dir_all(&dir).expect("bench dir");
    let partial = dir.join(format!("cdr-{n}-v{GENERATOR}.partial.db"));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", partial.display()));
    }
    let started = Instant::now();
    let store = CdrStore::open(&partial, &CdrSettings::default())
        .await
        .expect("open");
    let mut rng = Rng(0x5EED);
    let calls_per_day = n / 2 / DAYS;
    let mut c = 0u64;
    for day in 0..DAYS {
        let calls = if day == DAYS - 1 {
            n / 2 - calls_per_day * (DAYS - 1)
        } else {
            calls_per_day
        };
        let mut legs: Vec<LegRecord> = (0..calls)
            .flat_map(|_| {
                let start = start_on(&mut rng, day);
                c += 1;
                call(&mut rng, c, start)
            })
            .collect();
        legs.sort_by_key(|l| l.start);
        for chunk in legs.chunks(2_000) {
            let ops: Vec<CdrOp> = chunk
                .iter()
                .map(|l| CdrOp::LegFinal(Arc::new(l.clone())))
                .collect();
            store.write_batch(&ops, DAY0).await.expect("write");
        }
    }
    store.close().await;
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", partial.display()));
    }
    std::fs::rename(&partial, &path).expect("rename");
    println!(
        "cdr_query: generated {n} legs in {:.1} s → {}",
        started.elapsed().as_secs_f64(),
        path.display()
    );
    path
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Runs `f` once cold and `runs` times; prints first/median/p90/max and the result size.
async fn measure<F, Fut>(name: &str, target_ms: Option<f64>, runs: usize, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    let t = Instant::now();
    let size = f().await;
    let first = t.elapsed();
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        f().await;
        times.push(t.elapsed());
    }
    times.sort();
    let pick = |p: f64| times[((times.len() as f64 - 1.0) * p).round() as usize];
    let verdict = match target_ms {
        Some(limit) if ms(pick(0.9)) < limit => format!("target < {limit} ms: ok"),
        Some(limit) => format!("target < {limit} ms: MISSED"),
        None => String::new(),
    };
    println!(
        "cdr_query/{name:<28} rows {size:>5}  first {:>7.2} ms  median {:>7.2} ms  \
         p90 {:>7.2} ms  max {:>7.2} ms  {verdict}",
        ms(first),
        ms(pick(0.5)),
        ms(pick(0.9)),
        ms(*times.last().unwrap_or(&Duration::ZERO)),
    );
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn run(filter: Option<String>) {
    let n = env_or("CDR_QUERY_N", 1_000_000);
    let runs = usize::try_from(env_or("CDR_QUERY_RUNS", 20)).unwrap_or(20);
    let path = database(n).await;
    let q = CdrQuery::open(&path).await.expect("open read-only");
    let wanted = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));
    // Numbers to look for, taken from the data: an external number and an extension.
    let sample = q
        .legs(&LegFilter {
            from: Some(DAY0 + 30 * DAY),
            direction: Some("outbound".into()),
            account: Some("gw-main".into()),
            limit: Some(1),
            ..Default::default()
        })
        .await
        .expect("sample");
    let ext_number = sample.rows[0]["caller_id_number"]
        .as_str()
        .unwrap_or("1000")
        .to_owned();
    let ext_number2 = ext_number.clone();
    let external = sample.rows[0]["destination_number"]
        .as_str()
        .unwrap_or("0612000000")
        .to_owned();
    let linkedid = sample.rows[0]["linkedid"].as_str().unwrap_or("").to_owned();
    let legs = |f: LegFilter| {
        let q = q.clone();
        async move { q.legs(&f).await.expect("legs").rows.len() }
    };
    type Case = (&'static str, Option<f64>, LegFilter);
    let cases: Vec<Case> = vec![
        ("first_page", Some(100.0), LegFilter::default()),
        (
            "first_page_500",
            None,
            LegFilter {
                limit: Some(500),
                ..Default::default()
            },
        ),
        (
            "number_external",
            Some(150.0),
            LegFilter {
                number: Some(external.clone()),
                ..Default::default()
            },
        ),
        (
            "number_extension",
            Some(150.0),
            LegFilter {
                number: Some(ext_number),
                ..Default::default()
            },
        ),
        (
            "number_prefix_wide",
            Some(150.0),
            LegFilter {
                number: Some("06*".into()),
                ..Default::default()
            },
        ),
        (
            "number_prefix_narrow",
            Some(150.0),
            LegFilter {
                number: Some(format!("{}*", &external[..7])),
                ..Default::default()
            },
        ),
        (
            "number_ext_outbound_week",
            Some(150.0),
            LegFilter {
                number: Some(ext_number2),
                direction: Some("outbound".into()),
                from: Some(DAY0 + 40 * DAY),
                to: Some(DAY0 + 47 * DAY),
                ..Default::default()
            },
        ),
        (
            "account_gateway",
            None,
            LegFilter {
                account: Some("gw-mobile".into()),
                ..Default::default()
            },
        ),
        (
            "linkedid",
            None,
            LegFilter {
                linkedid: Some(linkedid.clone()),
                ..Default::default()
            },
        ),
    ];
    for (name, target, filter) in cases {
        if wanted(name) {
            measure(name, target, runs, || legs(filter.clone())).await;
        }
    }
    if wanted("deep_page") {
        // The page after 2,000 pages of 50 rows: keyset paging costs the same as page 1.
        let mut f = LegFilter::default();
        for _ in 0..2_000 {
            let page = q.legs(&f).await.expect("page");
            f.cursor = page.next_cursor;
        }
        measure("deep_page_2001", Some(100.0), runs, || legs(f.clone())).await;
    }
    if wanted("detail") {
        measure("call_detail", None, runs, || {
            let (q, id) = (q.clone(), linkedid.clone());
            async move {
                q.call_detail(&id)
                    .await
                    .expect("detail")
                    .map_or(0, |d| d.legs.len())
            }
        })
        .await;
    }
    for (name, bucket, days) in [
        ("report_month_hourly", Bucket::Hour, 30),
        ("report_month_daily", Bucket::Day, 30),
        ("report_60_days_daily", Bucket::Day, 60),
    ] {
        if !wanted(name) {
            continue;
        }
        let req = ReportRequest {
            from: DAY0 + (60 - days) * DAY,
            to: DAY0 + 60 * DAY,
            bucket,
            tz_offset_minutes: 60,
        };
        let target = (days == 30).then_some(500.0);
        measure(name, target, runs.min(10), || {
            let q = q.clone();
            async move {
                let r = q.report(&req).await.expect("report");
                assert!(
                    r.answer_rate > 0.65 && r.answer_rate < 0.75,
                    "{}",
                    r.answer_rate
                );
                usize::try_from(r.total).unwrap_or(0)
            }
        })
        .await;
    }
    q.close().await;
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument selects scenarios.
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run(filter));
}
