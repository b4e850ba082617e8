//! "Nothing lost" (issue 4): the CDR subsystem under a crash, a locked database and a
//! concurrent export, with the real binary, real SIPp load and the real `<data>/cdr.db`.
//!
//! - `kill_9_under_load_loses_no_call`: SIPp places a batch of short calls that finish, then
//!   a batch of long calls that are up when the PBX is killed with SIGKILL. After a restart
//!   on the same data directory, every call SIPp counted has its records: the finished ones
//!   exact (NORMAL_CLEARING), the ones up at the crash closed by recovery (CRASH, ended no
//!   later than the kill and no earlier than the last heartbeat allows).
//! - `kill_9_in_realtime_mode_closes_the_open_rows`: the same crash in realtime leg mode,
//!   where the open calls are rows without an end.
//! - `kill_9_while_calls_ring`: calls not yet answered at the crash get CRASH leg records
//!   without an answer and NO ANSWER bridge records.
//! - `locked_database_queues_records_and_writes_them_later`: a second connection holds the
//!   database's write lock while calls run; calls are not slowed, the log says loudly that
//!   records cannot be written, and every record appears once the lock is released.
//! - `export_streams_while_the_pbx_runs`: `switchboard cdr export` reads the database of a
//!   running PBX (CSV, JSON Lines, bridge mode, time filters, a bad time), also while
//!   calls run and records are written.
//!
//! Calls: extension 1000 dials 9555123, routed out through the gateway "carrier" (a SIPp
//! UAS on 127.0.0.1:15080): two channels and two leg records per call, one bridge record.
//! The callers' Call-IDs carry a per-batch prefix (SIPp `-cid_str`), so each record is
//! matched to the SIPp call it belongs to. SIPp's own counts come from its `-trace_stat`
//! file, and each answered call is reported to the test by the scenario (`notify.sh`).
//!
//! Scenarios: `tests/sipp/cdr_load_uac.xml`, `tests/sipp/cdr_load_uas.xml`,
//! `tests/sipp/cdr_load_uas_ring.xml`. Helpers and the export test in `tests/cdr_crash/`:
//! `support.rs` (SIPp load and counters, waits), `records.rs` (matching records to calls,
//! field checks), `export_cli.rs` (`export_streams_while_the_pbx_runs`, export runner,
//! CSV reader).
//! Run: `cargo test --test cdr_crash` (needs `sipp`).

mod common;

#[path = "cdr_crash/export_cli.rs"]
mod export_cli;
#[path = "cdr_crash/records.rs"]
mod records;
#[path = "cdr_crash/support.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use common::cdr::{field, int, rows_blocking, wait_rows};
use common::Pbx;
use export_cli::export;
use records::{
    assert_crash_closed, assert_linked, assert_normal_clearing, assert_recovery_logged,
    assert_times_consistent, batch_of, is_leg, kind, CallMap,
};
use support::{
    now_ms, start_carrier, start_carrier_with, wait_journal, wait_log, Callers, EVENT_LIMIT,
};

/// Two batches of calls: N1 short ones that finish, then N2 long ones that are up when the
/// PBX is killed with SIGKILL. After a restart on the same data directory, the records
/// match SIPp's own counts call for call.
#[test]
fn kill_9_under_load_loses_no_call() {
    const N1: u32 = 40;
    const N2: u32 = 30;
    const RATE: u32 = 20;
    const SHORT_HOLD_MS: u32 = 200;
    const LONG_HOLD_MS: u32 = 30_000;
    // The heartbeat is written every second while idle (and with every batch): the last
    // one before the kill is at most ~2 s old; 3 s leaves room for a busy machine.
    const HEARTBEAT_SLACK_MS: i64 = 3_000;

    let mut pbx = Pbx::start_default();
    let carrier = start_carrier();

    // Batch 1: short calls that all end well before the crash.
    let started = Instant::now();
    let batch1 = Callers::start("short", N1, RATE, SHORT_HOLD_MS);
    let (result1, stats1) = batch1.finish();
    result1.assert_success();
    let successful1 = stats1.count("SuccessfulCall(C)");
    let created1 = stats1.count("TotalCallCreated");
    assert_eq!(stats1.count("FailedCall(C)"), 0, "{stats1:#?}");
    assert_eq!(successful1, created1, "{stats1:#?}");
    assert_eq!(created1, u64::from(N1), "{stats1:#?}");
    let batch1_done = now_ms();
    eprintln!("batch 1: {successful1} calls in {:?}", started.elapsed());
    std::thread::sleep(Duration::from_millis(1_500));

    // Batch 2: long calls, all answered, then the crash.
    let mut batch2 = Callers::start("long", N2, RATE, LONG_HOLD_MS);
    let last_answer = batch2.wait_answered(N2 as usize);
    // Past the last creation and answer by 1.5 s: SIPp dumped its counters since (-fd 1).
    std::thread::sleep(Duration::from_millis(1_500).saturating_sub(last_answer.elapsed()));
    let before_kill = batch2.stats();
    let kill_at = now_ms();
    let status = pbx.kill9();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9),
        "switchboard was not killed by SIGKILL: {status}"
    );
    let (_, stats2) = batch2.kill();
    let _ = carrier.kill();
    let created2 = stats2.count("TotalCallCreated");
    assert_eq!(
        created2,
        before_kill.count("TotalCallCreated"),
        "SIPp created calls after the kill?"
    );
    assert_eq!(created2, u64::from(N2), "{stats2:#?}");
    assert_eq!(stats2.count("SuccessfulCall(C)"), 0, "{stats2:#?}");
    assert_eq!(stats2.count("FailedCall(C)"), 0, "{stats2:#?}");
    assert_eq!(stats2.count("CurrentCall"), created2, "{stats2:#?}");
    eprintln!(
        "batch 2: {created2} calls created and up; killed at {kill_at} ({} ms after batch 1 ended)",
        kill_at - batch1_done
    );

    // The records are readable straight after the crash, before any restart (an operator
    // exporting what the dead PBX wrote): the finished calls' legs, nothing else yet.
    let dead = export(pbx.data_dir(), &["--mode", "leg", "--format", "json"]);
    assert!(dead.status.success(), "export after the crash: {dead:#?}");
    assert_eq!(
        dead.stdout.lines().count() as u64,
        2 * successful1,
        "{dead:#?}"
    );

    // Restart on the same data: recovery closes the open records; then a graceful stop.
    let restarted = Instant::now();
    pbx.start_again();
    eprintln!("restart (with recovery) ready in {:?}", restarted.elapsed());
    // The restarted PBX records new calls normally, continuing the bridge sequence.
    let carrier = start_carrier();
    let (result3, stats3) = Callers::start("after", 1, RATE, SHORT_HOLD_MS).finish();
    result3.assert_success();
    let successful3 = stats3.count("SuccessfulCall(C)");
    assert_eq!(successful3, 1, "{stats3:#?}");
    let _ = carrier.kill();
    let status = pbx.terminate();
    assert!(status.success(), "switchboard exited with {status}");
    let db = pbx.data_dir().join("cdr.db");
    let legs = rows_blocking(&db, "cdr_leg", "1", "start, uuid");
    let bridges = rows_blocking(&db, "cdr", "1", "sequence");
    let live = rows_blocking(&db, "cdr_live", "1", "record_id");

    // One leg record per channel: two per call SIPp made.
    let calls = successful1 + created2 + successful3;
    assert_eq!(legs.len() as u64, 2 * calls, "leg rows: {legs:#?}");
    assert!(live.is_empty(), "crash journal not emptied: {live:#?}");

    // Every leg matched to the SIPp call it belongs to (by Call-ID): each batch's call
    // numbers exactly, one inbound and one outbound leg per call.
    let calls_of = CallMap::build(&legs);
    let expect = |n: u64| (1..=n).collect::<BTreeSet<u64>>();
    assert_eq!(calls_of.numbers("short"), expect(successful1), "batch 1");
    assert_eq!(calls_of.numbers("long"), expect(created2), "batch 2");
    assert_eq!(
        calls_of.numbers("after"),
        expect(successful3),
        "after the restart"
    );

    // The restarted PBX said what it recovered, and when the killed one was last alive.
    let alive = assert_recovery_logged(&pbx.log(), 2 * created2, created2);
    assert!(
        alive <= kill_at && alive >= kill_at - HEARTBEAT_SLACK_MS,
        "last heartbeat {alive} vs kill at {kill_at}"
    );

    // Leg records: batch 1's exact, batch 2's closed by recovery, the later call normal.
    assert_eq!(bridges.len() as u64, calls, "bridge rows: {bridges:#?}");
    calls_of.assert_one_bridge_each(&bridges);
    let mut per_batch: BTreeMap<String, u64> = BTreeMap::new();
    for row in legs.iter().chain(&bridges) {
        assert_times_consistent(row);
        let batch = calls_of.batch_of(row);
        *per_batch
            .entry(format!("{batch} {}", kind(row)))
            .or_default() += 1;
        if is_leg(row) {
            assert_eq!(field(row, "status"), Some("hangup"), "{row:#?}");
        } else {
            assert_eq!(field(row, "disposition"), Some("ANSWERED"), "{row:#?}");
        }
        match batch.as_str() {
            "short" => {
                // Ended more than a second before the kill: the exact final record.
                assert_normal_clearing(row);
                assert!(int(row, "end") <= batch1_done, "{row:#?}");
                assert!(int(row, "end") < kill_at - 1_000, "{row:#?}");
                let billsec_ms = int(row, "billsec_ms");
                assert!(
                    (150..2_000).contains(&billsec_ms),
                    "held {SHORT_HOLD_MS} ms: {row:#?}"
                );
            }
            // Up at the crash: answered, closed at the last heartbeat before the kill.
            "long" => assert_crash_closed(row, alive, kill_at),
            "after" => {
                assert_normal_clearing(row);
                assert!(int(row, "start") > kill_at, "{row:#?}");
            }
            other => panic!("unknown batch {other}: {row:#?}"),
        }
    }
    let count = |key: &str| per_batch.get(key).copied().unwrap_or(0);
    assert_eq!(
        count("short inbound"),
        successful1,
        "exact inbound legs: {per_batch:?}"
    );
    assert_eq!(
        count("short outbound"),
        successful1,
        "exact outbound legs: {per_batch:?}"
    );
    assert_eq!(count("short bridge"), successful1, "{per_batch:?}");
    assert_eq!(
        count("long inbound"),
        created2,
        "CRASH inbound legs: {per_batch:?}"
    );
    assert_eq!(
        count("long outbound"),
        created2,
        "CRASH outbound legs: {per_batch:?}"
    );
    assert_eq!(count("long bridge"), created2, "{per_batch:?}");
    eprintln!("records per batch: {per_batch:?}");

    // The bridge sequence continues across the crash.
    let (before_max, after) = calls_of.sequences("after", &bridges);
    assert!(
        after.iter().all(|&s| s > before_max),
        "the sequence restarted after the crash: {after:?} (max before {before_max})"
    );
    eprintln!("bridge sequence: up to {before_max} before the restart, after: {after:?}");

    // What recovery closed is as complete as what a call's end writes: the same call
    // shape gives the same fields, and the legs point at each other.
    calls_of.assert_same_shape("long", "short", &legs, &bridges);
    assert_linked(&legs, &bridges);
    eprintln!(
        "last heartbeat {} ms before the kill; CRASH records end there",
        kill_at - alive
    );
}

/// Realtime leg mode (rows inserted at channel creation, updated live): the rows of calls up
/// at a SIGKILL have no end; the restart closes exactly those rows (CRASH), once each, and
/// leaves the finished calls' rows as they were.
#[test]
fn kill_9_in_realtime_mode_closes_the_open_rows() {
    const SHORT: u32 = 5;
    const LONG: u32 = 10;

    let mut pbx = Pbx::start_with(common::pbx_config_extra("[cdr]\nrealtime = true\n"));
    let carrier = start_carrier();
    let (result, stats) = Callers::start("short", SHORT, 20, 200).finish();
    result.assert_success();
    assert_eq!(
        stats.count("SuccessfulCall(C)"),
        u64::from(SHORT),
        "{stats:#?}"
    );
    let mut long = Callers::start("long", LONG, 20, 30_000);
    long.wait_answered(LONG as usize);
    let db = pbx.data_dir().join("cdr.db");
    // Live calls are visible in the table: answered, no end yet.
    let open = wait_rows(
        &db,
        "cdr_leg",
        "\"end\" IS NULL AND answer IS NOT NULL",
        EVENT_LIMIT,
        |rows| rows.len() >= 2 * LONG as usize,
    );
    assert_eq!(open.len(), 2 * LONG as usize, "{open:#?}");
    std::thread::sleep(Duration::from_millis(1_500));
    let kill_at = now_ms();
    pbx.kill9();
    let (_, stats) = long.kill();
    let _ = carrier.kill();
    let created = stats.count("TotalCallCreated");
    assert_eq!(created, u64::from(LONG), "{stats:#?}");
    assert_eq!(stats.count("CurrentCall"), created, "{stats:#?}");

    pbx.start_again();
    let status = pbx.terminate();
    assert!(status.success(), "switchboard exited with {status}");
    let legs = rows_blocking(&db, "cdr_leg", "1", "start, uuid");
    let bridges = rows_blocking(&db, "cdr", "1", "sequence");
    assert!(rows_blocking(&db, "cdr_live", "1", "record_id").is_empty());
    let calls = u64::from(SHORT) + created;
    assert_eq!(legs.len() as u64, 2 * calls, "{legs:#?}");
    assert_eq!(bridges.len() as u64, calls, "{bridges:#?}");
    let calls_of = CallMap::build(&legs);
    assert_eq!(
        calls_of.numbers("long"),
        (1..=created).collect(),
        "{legs:#?}"
    );
    let alive = assert_recovery_logged(&pbx.log(), 2 * created, created);
    assert!(
        alive <= kill_at,
        "last heartbeat {alive} after the kill {kill_at}"
    );
    for leg in &legs {
        assert_times_consistent(leg);
        let cause = field(leg, "hangup_cause");
        match calls_of.batch_of_leg(leg).as_str() {
            "short" => assert_eq!(cause, Some("NORMAL_CLEARING"), "{leg:#?}"),
            _ => assert_crash_closed(leg, alive, kill_at),
        }
    }
    calls_of.assert_same_shape("long", "short", &legs, &bridges);
    assert_linked(&legs, &bridges);
}

/// Calls still ringing at a SIGKILL (the carrier never answers): after the restart each
/// has its leg records (CRASH, unanswered, billsec 0) and a NO ANSWER bridge record; a
/// second SIGKILL right after the recovering start changes nothing.
#[test]
fn kill_9_while_calls_ring() {
    const CALLS: u32 = 10;

    // A ring timeout far beyond the test, so only the crash ends these calls.
    let mut pbx = Pbx::start_with(common::pbx_config_with("calls", "ring_timeout_secs", "120"));
    let carrier = start_carrier_with("cdr_load_uas_ring.xml");
    let ringing = Callers::start("ring", CALLS, 20, 1_000);
    let db = pbx.data_dir().join("cdr.db");
    // Both channels of every call are in the crash journal.
    wait_journal(&db, "kind = 'leg'", EVENT_LIMIT, |rows| {
        rows.len() >= 2 * CALLS as usize
    });
    std::thread::sleep(Duration::from_millis(1_500));
    let kill_at = now_ms();
    pbx.kill9();
    let (_, stats) = ringing.kill();
    let _ = carrier.kill();
    let created = stats.count("TotalCallCreated");
    assert_eq!(created, u64::from(CALLS), "{stats:#?}");
    assert_eq!(stats.count("CurrentCall"), created, "{stats:#?}");

    pbx.start_again();
    // A second crash right after the recovering start changes nothing: recovery committed
    // before the PBX took calls, and a recovered record is never closed twice.
    pbx.kill9();
    pbx.start_again();
    let status = pbx.terminate();
    assert!(status.success(), "switchboard exited with {status}");
    let legs = rows_blocking(&db, "cdr_leg", "1", "start, uuid");
    let bridges = rows_blocking(&db, "cdr", "1", "sequence");
    assert!(rows_blocking(&db, "cdr_live", "1", "record_id").is_empty());
    assert_eq!(legs.len() as u64, 2 * created, "{legs:#?}");
    assert_eq!(bridges.len() as u64, created, "{bridges:#?}");
    let calls_of = CallMap::build(&legs);
    assert_eq!(
        calls_of.numbers("ring"),
        (1..=created).collect(),
        "{legs:#?}"
    );
    let log = pbx.log();
    let alive = assert_recovery_logged(&log, 2 * created, created);
    assert!(
        alive <= kill_at,
        "last heartbeat {alive} after the kill {kill_at}"
    );
    assert_eq!(
        log.matches("closed as CRASH").count(),
        1,
        "recovered twice:\n{log}"
    );
    for row in legs.iter().chain(&bridges) {
        assert_eq!(field(row, "answer"), None, "{row:#?}");
        assert_eq!(int(row, "billsec"), 0, "{row:#?}");
        assert_eq!(int(row, "billsec_ms"), 0, "{row:#?}");
        assert_eq!(
            int(row, "duration_ms"),
            int(row, "end") - int(row, "start"),
            "{row:#?}"
        );
        assert_crash_closed(row, alive, kill_at);
    }
    for cdr in &bridges {
        assert_eq!(field(cdr, "disposition"), Some("NO ANSWER"), "{cdr:#?}");
        let a = legs
            .iter()
            .find(|l| field(l, "uuid") == field(cdr, "uniqueid"))
            .unwrap_or_else(|| panic!("Party A of no leg: {cdr:#?}"));
        let b = legs
            .iter()
            .find(|l| field(l, "originator") == field(cdr, "uniqueid"))
            .unwrap_or_else(|| panic!("no dial attempt leg: {cdr:#?}"));
        assert_eq!(field(cdr, "channel"), field(a, "channel_name"), "{cdr:#?}");
        assert_eq!(
            field(cdr, "dstchannel"),
            field(b, "channel_name"),
            "{cdr:#?}"
        );
        assert_eq!(int(cdr, "start"), int(a, "start"), "{cdr:#?}");
    }
}

/// A second connection holds the CDR database's write lock for ~4 s while 5 calls run:
/// the calls are not slowed, records wait in the backlog (none written, the log says so
/// loudly), and every record is written once the lock is gone.
#[test]
fn locked_database_queues_records_and_writes_them_later() {
    use sqlx::sqlite::SqliteConnectOptions;
    use sqlx::{ConnectOptions, Connection};

    const CALLS: u32 = 5;
    const RATE: u32 = 10;
    const HOLD_MS: u32 = 200;
    const LOCK_FOR: Duration = Duration::from_secs(4);

    let mut pbx = Pbx::start_default();
    let carrier = start_carrier();
    let db = pbx.data_dir().join("cdr.db");
    assert!(db.exists(), "no CDR database at {}", db.display());

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("cannot build a tokio runtime: {e}"));
    let mut lock = rt.block_on(async {
        let mut conn = SqliteConnectOptions::new()
            .filename(&db)
            .busy_timeout(Duration::from_secs(5))
            .connect()
            .await
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", db.display()));
        sqlx::query("BEGIN EXCLUSIVE")
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("BEGIN EXCLUSIVE: {e}"));
        conn
    });
    let locked = Instant::now();

    let callers = Callers::start("locked", CALLS, RATE, HOLD_MS);
    let (result, stats) = callers.finish();
    let took = locked.elapsed();
    result.assert_success();
    assert_eq!(
        stats.count("SuccessfulCall(C)"),
        u64::from(CALLS),
        "{stats:#?}"
    );
    // The last call starts (CALLS - 1) / RATE s in and is held HOLD_MS: anything beyond
    // 2 s more means call processing waited for the database.
    let bound = Duration::from_millis(u64::from((CALLS - 1) * 1000 / RATE + HOLD_MS) + 2_000);
    assert!(
        took < bound,
        "{CALLS} calls took {took:?} with the CDR database locked (bound {bound:?})"
    );
    assert!(took < LOCK_FOR, "the calls outlasted the lock ({took:?})");
    eprintln!("{CALLS} calls completed in {took:?} while the database was locked");

    let log = wait_log(
        &pbx,
        "CDR database cannot be written",
        LOCK_FOR.saturating_sub(locked.elapsed()),
    );
    assert!(
        !log.contains("dead-letter"),
        "records dead-lettered:\n{log}"
    );
    // Loudly: at ERROR level, saying the records are kept.
    let loud = log
        .lines()
        .find(|l| l.contains("CDR database cannot be written"))
        .unwrap_or_default();
    assert!(
        loud.contains("ERROR") && loud.contains("queued"),
        "not loud enough: {loud}"
    );
    // Measured: the line says how many operations wait.
    let backlog: u64 = loud
        .split("backlog=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no backlog=<n> in {loud}"));
    assert!(backlog > 0, "records waiting, yet backlog=0: {loud}");
    eprintln!("while locked: {loud}");
    let written = rows_blocking(&db, "cdr_leg", "1", "id");
    assert!(
        written.is_empty(),
        "rows written through the lock?! {written:#?}"
    );
    // Shown in status: `switchboard cdr status` reports the condition (exit status 2).
    let shown = wait_status(&pbx, 2, Duration::from_secs(3));
    assert!(
        shown.contains("DEGRADED") && shown.contains("\"backlog\""),
        "{shown}"
    );

    std::thread::sleep(LOCK_FOR.saturating_sub(locked.elapsed()));
    pbx.assert_running();
    rt.block_on(async {
        sqlx::query("ROLLBACK")
            .execute(&mut lock)
            .await
            .unwrap_or_else(|e| panic!("ROLLBACK: {e}"));
        lock.close()
            .await
            .unwrap_or_else(|e| panic!("close the locking connection: {e}"));
    });
    let released = Instant::now();

    let legs = wait_rows(&db, "cdr_leg", "1", EVENT_LIMIT, |rows| {
        rows.len() >= 2 * CALLS as usize
    });
    eprintln!(
        "records written {:?} after the lock was released",
        released.elapsed()
    );
    wait_log(&pbx, "CDR database writable again", EVENT_LIMIT);
    // The status file is rewritten every second.
    let shown = wait_status(&pbx, 0, Duration::from_secs(3));
    assert!(shown.contains("\"degraded\": null"), "{shown}");
    let bridges = wait_rows(&db, "cdr", "1", EVENT_LIMIT, |rows| {
        rows.len() >= CALLS as usize
    });
    let _ = carrier.kill();
    let status = pbx.terminate();
    assert!(status.success(), "switchboard exited with {status}");

    assert_eq!(legs.len(), 2 * CALLS as usize, "{legs:#?}");
    assert_eq!(bridges.len(), CALLS as usize, "{bridges:#?}");
    let mut numbers = BTreeSet::new();
    for leg in &legs {
        assert_eq!(
            field(leg, "hangup_cause"),
            Some("NORMAL_CLEARING"),
            "{leg:#?}"
        );
        assert_times_consistent(leg);
        // Call times are the calls' own, not the time the records were written.
        assert!(
            int(leg, "end") - int(leg, "start") < 2_000,
            "a {HOLD_MS} ms call: {leg:#?}"
        );
        if field(leg, "direction") == Some("inbound") {
            let (batch, number) = batch_of(leg).unwrap_or_else(|| panic!("{leg:#?}"));
            assert_eq!(batch, "locked", "{leg:#?}");
            numbers.insert(number);
        }
    }
    assert_eq!(numbers, (1..=u64::from(CALLS)).collect(), "{legs:#?}");
    for cdr in &bridges {
        assert_eq!(field(cdr, "disposition"), Some("ANSWERED"), "{cdr:#?}");
    }
    let after = rows_blocking(&db, "cdr_leg", "1", "id");
    assert_eq!(
        after.len(),
        2 * CALLS as usize,
        "duplicates after retries? {after:#?}"
    );
}

/// Runs `switchboard cdr status` until it exits with `code` (bounded by `limit`, the file
/// is rewritten every second); returns what it printed.
#[track_caller]
fn wait_status(pbx: &Pbx, code: i32, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    loop {
        let (got, shown) = cdr_status(pbx);
        if got == Some(code) {
            return shown;
        }
        assert!(
            Instant::now() < deadline,
            "cdr status exit {got:?}, want {code}:\n{shown}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs `switchboard cdr status` on the PBX's data directory: (exit code, stdout + stderr).
fn cdr_status(pbx: &Pbx) -> (Option<i32>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["cdr", "status", "--data"])
        .arg(pbx.data_dir())
        .output()
        .unwrap_or_else(|e| panic!("cannot run switchboard cdr status: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}
