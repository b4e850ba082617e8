//! `switchboard cdr export` on the database of a running PBX (part of `tests/cdr_crash.rs`):
//! CSV with a header row, JSON Lines, bridge mode, time filters, a bad time, and exports
//! running while calls are being recorded. The export runs as its own process (the real
//! binary, bounded in time); its CSV is read back with a small RFC 4180 reader.
//!
//! Depends on: `super::support` (SIPp load), `tests/common` (Pbx, CDR rows).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::common::cdr::{field, int, wait_rows};
use crate::common::Pbx;
use crate::support::{start_carrier, Callers, EVENT_LIMIT};

/// `switchboard cdr export` on the database of a running PBX: CSV, JSON Lines, bridge
/// mode, a time filter, and a bad time.
#[test]
fn export_streams_while_the_pbx_runs() {
    const CALLS: u32 = 3;

    let mut pbx = Pbx::start_default();
    let carrier = start_carrier();
    let callers = Callers::start("export", CALLS, 10, 200);
    let (result, _) = callers.finish();
    result.assert_success();
    let db = pbx.data_dir().join("cdr.db");
    let legs = wait_rows(&db, "cdr_leg", "1", EVENT_LIMIT, |rows| {
        rows.len() >= 2 * CALLS as usize
    });
    let bridges = wait_rows(&db, "cdr", "1", EVENT_LIMIT, |rows| {
        rows.len() >= CALLS as usize
    });
    assert_eq!(legs.len(), 2 * CALLS as usize, "{legs:#?}");
    let uuids: BTreeSet<String> = legs
        .iter()
        .filter_map(|r| field(r, "uuid").map(str::to_owned))
        .collect();
    let uniqueids: BTreeSet<String> = bridges
        .iter()
        .filter_map(|r| field(r, "uniqueid").map(str::to_owned))
        .collect();
    let data = pbx.data_dir().to_path_buf();

    // Leg mode, CSV: a header row and one row per leg record.
    let started = Instant::now();
    let csv = export(&data, &["--mode", "leg", "--format", "csv"]);
    eprintln!("leg CSV export took {:?}", started.elapsed());
    pbx.assert_running();
    assert!(csv.status.success(), "{csv:#?}");
    let records = parse_csv(&csv.stdout);
    assert_eq!(records.len(), 1 + 2 * CALLS as usize, "{}", csv.stdout);
    assert_eq!(csv_column(&records, "uuid"), uuids, "{}", csv.stdout);
    assert!(
        csv.stderr
            .contains(&format!("{} records exported", 2 * CALLS)),
        "{csv:#?}"
    );
    for local in ["start_local", "answer_local", "end_local"] {
        let values = csv_column(&records, local);
        assert!(
            values
                .iter()
                .all(|v| v.len() == "YYYY-MM-DD HH:MM:SS".len()),
            "{local}: {values:?}"
        );
    }
    let starts = csv_column(&records, "start");
    assert!(
        starts.iter().all(|s| s.ends_with('Z') && s.contains('T')),
        "start in UTC ISO-8601: {starts:?}"
    );

    // Leg mode, JSON Lines: one object per record.
    let json = export(&data, &["--mode", "leg", "--format", "json"]);
    assert!(json.status.success(), "{json:#?}");
    let objects: Vec<serde_json::Value> = json
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect();
    assert_eq!(objects.len(), 2 * CALLS as usize, "{}", json.stdout);
    let json_uuids: BTreeSet<String> = objects
        .iter()
        .map(|o| {
            o.get("uuid")
                .and_then(|u| u.as_str())
                .unwrap_or_else(|| panic!("no uuid in {o}"))
                .to_owned()
        })
        .collect();
    assert_eq!(json_uuids, uuids);
    for o in &objects {
        assert_eq!(
            o.get("hangup_cause").and_then(|v| v.as_str()),
            Some("NORMAL_CLEARING"),
            "{o}"
        );
    }

    // Bridge mode: one record per call.
    let bridge = export(&data, &["--mode", "bridge", "--format", "csv"]);
    assert!(bridge.status.success(), "{bridge:#?}");
    let records = parse_csv(&bridge.stdout);
    assert_eq!(records.len(), 1 + CALLS as usize, "{}", bridge.stdout);
    assert_eq!(csv_column(&records, "uniqueid"), uniqueids);

    // A time window after every record: the header only.
    let future = export(&data, &["--mode", "leg", "--from", "2100-01-01"]);
    assert!(future.status.success(), "{future:#?}");
    let records = parse_csv(&future.stdout);
    assert_eq!(records.len(), 1, "header only: {}", future.stdout);
    assert!(future.stderr.contains("0 records exported"), "{future:#?}");
    // A window that holds every record (epoch milliseconds, `to` exclusive).
    let first = legs.iter().map(|r| int(r, "start")).min().unwrap_or(0);
    let last = legs.iter().map(|r| int(r, "start")).max().unwrap_or(0);
    let (from, to) = (first.to_string(), (last + 1).to_string());
    let window = export(
        &data,
        &[
            "--mode", "leg", "--format", "json", "--from", &from, "--to", &to,
        ],
    );
    assert!(window.status.success(), "{window:#?}");
    assert_eq!(
        window.stdout.lines().count(),
        2 * CALLS as usize,
        "{window:#?}"
    );

    // A bad time: exit status 1 and a message naming the option and the text.
    let bad = export(&data, &["--mode", "leg", "--from", "last tuesday"]);
    assert_eq!(bad.status.code(), Some(1), "{bad:#?}");
    assert!(
        bad.stderr.contains("--from") && bad.stderr.contains("last tuesday"),
        "unclear message: {bad:#?}"
    );
    assert!(
        bad.stderr.contains("is not a time"),
        "unclear message: {bad:#?}"
    );
    assert!(bad.stdout.is_empty(), "{bad:#?}");

    // While calls run and records are being written: every export succeeds with a
    // consistent snapshot, and the writer never fails because of the readers.
    const MORE: u32 = 20;
    let mut more = Callers::start("busy", MORE, 20, 200);
    let mut seen = Vec::new();
    while more.running() && seen.len() < 100 {
        std::thread::sleep(Duration::from_millis(50));
        let during = export(&data, &["--mode", "leg", "--format", "csv"]);
        assert!(during.status.success(), "export under load: {during:#?}");
        let records = parse_csv(&during.stdout);
        assert!(records.len() > 2 * CALLS as usize, "{}", during.stdout);
        let _ = csv_column(&records, "uuid");
        seen.push(records.len() - 1);
    }
    let (result, stats) = more.finish();
    result.assert_success();
    assert_eq!(
        stats.count("SuccessfulCall(C)"),
        u64::from(MORE),
        "{stats:#?}"
    );
    assert!(
        seen.windows(2).all(|w| w[0] <= w[1]),
        "row counts went backwards: {seen:?}"
    );
    let distinct: BTreeSet<usize> = seen.iter().copied().collect();
    assert!(
        distinct.len() >= 2,
        "the exports did not overlap the writes: {seen:?}"
    );
    let total = 2 * (CALLS + MORE) as usize;
    wait_rows(&db, "cdr_leg", "1", EVENT_LIMIT, |rows| rows.len() >= total);
    let last = export(&data, &["--mode", "leg", "--format", "json"]);
    assert!(last.status.success(), "{last:#?}");
    assert_eq!(last.stdout.lines().count(), total, "{last:#?}");
    eprintln!("exports during {MORE} calls saw {seen:?} leg records; then {total}");
    let log = pbx.log();
    assert!(
        !log.contains("CDR database cannot be written"),
        "the exports blocked the writer:\n{log}"
    );

    pbx.assert_running();
    let _ = carrier.kill();
    let status = pbx.terminate();
    assert!(status.success(), "switchboard exited with {status}");
}

/// What one `switchboard cdr export` run produced.
#[derive(Debug)]
pub struct Exported {
    /// Exit status (0: success, 1: an error was printed).
    pub status: ExitStatus,
    /// The records.
    pub stdout: String,
    /// Messages (`N records exported`, errors).
    pub stderr: String,
}

/// Runs `switchboard cdr export --data <data> <args>` (bounded: killed by pid after 30 s).
pub fn export(data: &Path, args: &[&str]) -> Exported {
    let dir = tempfile::Builder::new()
        .prefix("cdr-export-")
        .tempdir()
        .unwrap_or_else(|e| panic!("cannot create a temporary dir: {e}"));
    let out_path = dir.path().join("stdout");
    let err_path = dir.path().join("stderr");
    let create = |p: &Path| {
        std::fs::File::create(p).unwrap_or_else(|e| panic!("create {}: {e}", p.display()))
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("cdr")
        .arg("export")
        .arg("--data")
        .arg(data)
        .args(args)
        .stdin(Stdio::null())
        .stdout(create(&out_path))
        .stderr(create(&err_path))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run switchboard cdr export: {e}"));
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let status = match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(status) => status,
        Err(_) => {
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(pid.to_string())
                .status();
            panic!("switchboard cdr export {args:?} did not finish in 30 s");
        }
    };
    let _ = waiter.join();
    let status = status.unwrap_or_else(|e| panic!("cannot wait for cdr export: {e}"));
    let read = |p: &Path| {
        std::fs::read_to_string(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
    };
    Exported {
        status,
        stdout: read(&out_path),
        stderr: read(&err_path),
    }
}

/// RFC 4180 CSV: records of fields (quoted fields may hold commas, quotes and newlines).
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut value = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    value.push('"');
                    chars.next();
                }
                '"' => quoted = false,
                _ => value.push(c),
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            ',' => record.push(std::mem::take(&mut value)),
            '\r' => {}
            '\n' => {
                record.push(std::mem::take(&mut value));
                records.push(std::mem::take(&mut record));
            }
            _ => value.push(c),
        }
    }
    if !value.is_empty() || !record.is_empty() {
        record.push(value);
        records.push(record);
    }
    records
}

/// The values of `column` in a parsed CSV (header first); every record has the header's
/// width.
#[track_caller]
pub fn csv_column(records: &[Vec<String>], column: &str) -> BTreeSet<String> {
    let header = records
        .first()
        .unwrap_or_else(|| panic!("no CSV header: {records:?}"));
    let i = header
        .iter()
        .position(|c| c == column)
        .unwrap_or_else(|| panic!("no column {column} in {header:?}"));
    records[1..]
        .iter()
        .map(|r| {
            assert_eq!(r.len(), header.len(), "record width: {r:?} vs {header:?}");
            r[i].clone()
        })
        .collect()
}
