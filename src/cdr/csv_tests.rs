//! CSV log tests over temporary directories: exact lines of each layout, day rotation with
//! injected record times, IPSC counters, and the `keep_days` clean-up.

use std::sync::Arc;

use chrono::{Days, NaiveDate};

use super::*;
use crate::cdr::fields::tests::{bridge_record, leg_record};
use crate::cdr::model::{millis, BridgeRecord, FeedItem, LegRecord, Millis};

/// 2026-11-22T23:45:01.123Z.
const T: Millis = 1_795_391_101_123;

fn settings(layouts: &[CsvLayout], keep_days: u32) -> CsvSettings {
    CsvSettings {
        layouts: layouts.to_vec(),
        dir: "cdr-csv".into(),
        keep_days,
    }
}

fn leg(r: LegRecord) -> FeedItem {
    FeedItem::Leg {
        is_final: true,
        record: Arc::new(r),
    }
}

fn bridge(r: BridgeRecord) -> FeedItem {
    FeedItem::Bridge {
        record: Arc::new(r),
    }
}

fn open(dir: &Path, layouts: &[CsvLayout], keep_days: u32) -> CsvLog {
    CsvLog::open(&settings(layouts, keep_days), dir).unwrap_or_else(|e| panic!("{e}"))
}

fn read(log: &CsvLog, name: &str) -> String {
    std::fs::read_to_string(log.dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The files in the log's directory, sorted.
fn names(log: &CsvLog) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(log.dir())
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok().and_then(|e| e.file_name().into_string().ok()))
        .collect();
    names.sort();
    names
}

/// A local wall-clock time as ms.
fn local(text: &str) -> Millis {
    time::parse_time(text).unwrap_or_else(|e| panic!("{e}"))
}

/// A leg record ending at `end` after `len` ms (answered halfway).
fn leg_ending(uuid: &str, end: Millis, len: Millis) -> LegRecord {
    let mut r = leg_record(uuid, end - len);
    r.answer = Some(end - len / 2);
    r.end = Some(end);
    r
}

#[test]
fn leg_layout_writes_header_and_exact_rows() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut log = open(tmp.path(), &[CsvLayout::Leg], 90);
    let mut live = leg_record("live", T);
    live.status = crate::cdr::model::LegStatus::Answered;
    let items = [
        FeedItem::Leg {
            is_final: false,
            record: Arc::new(live),
        },
        leg(leg_record("a-uuid", T)),
        bridge(bridge_record("a-uuid", 1, T)),
    ];
    log.write(&items).unwrap_or_else(|e| panic!("{e}"));
    let day = time::local_date(T + 65_250);
    assert_eq!(names(&log), [format!("leg-{day}.csv")]);
    let (l0, l1, l2) = (
        time::local_datetime(T),
        time::local_datetime(T + 2_500),
        time::local_datetime(T + 65_250),
    );
    let want = format!(
        "{}\r\n\
         a-uuid,1.2.3,inbound,1000,1000,\"Alice, \"\"A\"\"\",1001,1001,,b-uuid,dialplan,1000,,\
         1001,,internal,SIP/1000-0001,call-1@host,2026-11-22T23:45:01.123Z,\
         2026-11-22T23:45:03.623Z,2026-11-22T23:46:06.373Z,{l0},{l1},{l2},65,62,65250,62750,\
         NORMAL_CLEARING,16,,remote,PCMU,3100,2,1.5,3120,0,0,a-linked,sales,DOCUMENTATION,note\r\n",
        LEG_HEADER.join(",")
    );
    assert_eq!(read(&log, &format!("leg-{day}.csv")), want);
}

#[test]
fn bridge_layout_is_master_csv_order() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut log = open(tmp.path(), &[CsvLayout::Bridge], 90);
    let mut unanswered = bridge_record("b-uuid", 8, T);
    unanswered.answer = None;
    unanswered.dstchannel.clear();
    unanswered.disposition = crate::cdr::model::Disposition::NoAnswer;
    let items = [
        leg(leg_record("a-uuid", T)),
        bridge(bridge_record("a-uuid", 7, T)),
        bridge(unanswered),
    ];
    log.write(&items).unwrap_or_else(|e| panic!("{e}"));
    let (s, a, e) = (
        time::local_datetime(T),
        time::local_datetime(T + 3_000),
        time::local_datetime(T + 10_999),
    );
    let day = time::local_date(T + 10_999);
    let want = format!(
        "accountcode,src,dst,dcontext,clid,channel,dstchannel,lastapp,lastdata,start,answer,end,\
         duration,billsec,disposition,amaflags,uniqueid,userfield,linkedid,sequence,peeraccount\r\n\
         sales,1000,1001,internal,\"\"\"Alice\"\" <1000>\",SIP/1000-0001,SIP/1001-0002,Dial,\
         \"SIP/1001,30\",{s},{a},{e},10,7,ANSWERED,DOCUMENTATION,a-uuid,x;y,a-uuid,7,support\r\n\
         sales,1000,1001,internal,\"\"\"Alice\"\" <1000>\",SIP/1000-0001,,Dial,\
         \"SIP/1001,30\",{s},,{e},10,7,NO ANSWER,DOCUMENTATION,b-uuid,x;y,b-uuid,8,support\r\n"
    );
    assert_eq!(names(&log), [format!("bridge-{day}.csv")]);
    assert_eq!(read(&log, &format!("bridge-{day}.csv")), want);
}

#[test]
fn ipsc_layout_has_29_fields_and_increasing_processid() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut log = open(tmp.path(), &[CsvLayout::Ipsc, CsvLayout::Leg], 90);
    let run = log.run_id();
    let mut failed = leg_record("b-uuid", T);
    failed.direction = "outbound".into();
    failed.answer = None;
    failed.billsec = 0;
    failed.sip_call_id = None;
    failed.q850 = None;
    failed.sip_code = Some(486);
    failed.hangup_side = "device".into();
    failed.dial_number.clear();
    failed.source_number = "555".into();
    log.write(&[leg(leg_record("a-uuid", T))])
        .unwrap_or_else(|e| panic!("{e}"));
    log.write(&[leg(failed)]).unwrap_or_else(|e| panic!("{e}"));
    let (l0, l1, l2) = (
        time::local_datetime(T),
        time::local_datetime(T + 2_500),
        time::local_datetime(T + 65_250),
    );
    let want = format!(
        "a-uuid,1.2.3,1.2.3-{run}-1,1,call-1@host,1,0:0:1,1000,1001,1001,1000,0,2,dialplan,1,2,\
         16,,{l0},{l1},{l2},62,sales,internal,a-linked,note,,,\r\n\
         b-uuid,1.2.3,1.2.3-{run}-2,2,a-linked,2,0:0:2,1000,1001,1001,555,1,2,dialplan,0,3,\
         0,486,{l0},,{l2},0,sales,internal,a-linked,note,,,\r\n"
    );
    let day = time::local_date(T + 65_250);
    let text = read(&log, &format!("ipsc-{day}.csv"));
    assert_eq!(text, want);
    for line in text.lines() {
        assert_eq!(line.split(',').count(), IPSC_FIELDS, "{line}");
    }
    // The leg layout got the same two records.
    assert_eq!(read(&log, &format!("leg-{day}.csv")).lines().count(), 3);
}

#[test]
fn ipsc_channel_numbers_are_never_shared_by_overlapping_calls() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut log = open(tmp.path(), &[CsvLayout::Ipsc], 0);
    // (uuid, start, end) in the order the records end.
    let calls = [
        ("b", 10_000, 20_000),   // ch 1
        ("a", 0, 100_000),       // overlaps b: ch 2
        ("c", 30_000, 40_000),   // b ended: ch 1
        ("d", 25_000, 50_000),   // overlaps c and a: ch 3
        ("e", 100_000, 110_000), // everything ended: ch 1
    ];
    let items: Vec<FeedItem> = calls
        .iter()
        .map(|(uuid, start, end)| leg(leg_ending(uuid, T + end, end - start)))
        .collect();
    log.write(&items).unwrap_or_else(|e| panic!("{e}"));
    let day = time::local_date(T);
    let text = read(&log, &format!("ipsc-{day}.csv"));
    let got: Vec<(String, String, String)> = text
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_owned(), f[3].to_owned(), f[5].to_owned())
        })
        .collect();
    let want: Vec<(String, String, String)> = [
        ("b", "1", "1"),
        ("a", "2", "2"),
        ("c", "3", "1"),
        ("d", "4", "3"),
        ("e", "5", "1"),
    ]
    .iter()
    .map(|(u, p, c)| (u.to_string(), p.to_string(), c.to_string()))
    .collect();
    assert_eq!(got, want);
}

#[test]
fn files_rotate_on_the_local_day_of_the_record_end() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut log = open(tmp.path(), &[CsvLayout::Leg, CsvLayout::Ipsc], 0);
    let before = local("2026-11-22 23:59:59");
    let after = local("2026-11-23 00:00:01");
    // Starts before midnight, ends after: belongs to the 23rd.
    let crossing = leg_ending("crossing", after, 10_000);
    log.write(&[leg(leg_ending("late-22", before, 5_000)), leg(crossing)])
        .unwrap_or_else(|e| panic!("{e}"));
    // A record of the 22nd written after one of the 23rd goes back to the 22nd's file.
    log.write(&[leg(leg_ending("straggler", before - 1_000, 1_000))])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        names(&log),
        [
            "ipsc-2026-11-22.csv",
            "ipsc-2026-11-23.csv",
            "leg-2026-11-22.csv",
            "leg-2026-11-23.csv"
        ]
    );
    let uuids = |name: &str| -> Vec<String> {
        read(&log, name)
            .lines()
            .map(|l| l.split(',').next().unwrap_or("").to_owned())
            .collect()
    };
    assert_eq!(
        uuids("leg-2026-11-22.csv"),
        ["uuid", "late-22", "straggler"]
    );
    assert_eq!(uuids("leg-2026-11-23.csv"), ["uuid", "crossing"]);
    assert_eq!(uuids("ipsc-2026-11-22.csv"), ["late-22", "straggler"]);
    assert_eq!(uuids("ipsc-2026-11-23.csv"), ["crossing"]);
}

#[test]
fn reopening_appends_without_a_second_header() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let day = time::local_date(T + 65_250);
    for uuid in ["first", "second"] {
        let mut log = open(tmp.path(), &[CsvLayout::Leg], 0);
        log.write(&[leg(leg_record(uuid, T))])
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let log = open(tmp.path(), &[CsvLayout::Leg], 0);
    let text = read(&log, &format!("leg-{day}.csv"));
    let firsts: Vec<&str> = text
        .lines()
        .map(|l| l.split(',').next().unwrap_or(""))
        .collect();
    assert_eq!(firsts, ["uuid", "first", "second"]);
}

/// `today` shifted by `days` (negative: earlier), as `YYYY-MM-DD`.
fn shifted(today: &str, days: i64) -> String {
    let d = NaiveDate::parse_from_str(today, "%Y-%m-%d").unwrap_or_else(|e| panic!("{e}"));
    let d = if days >= 0 {
        d.checked_add_days(Days::new(days.unsigned_abs()))
    } else {
        d.checked_sub_days(Days::new(days.unsigned_abs()))
    };
    d.unwrap_or_else(|| panic!("date in range"))
        .format("%Y-%m-%d")
        .to_string()
}

#[test]
fn expired_files_are_removed_on_open_and_on_day_change() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path().join("cdr-csv");
    std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
    let today = time::local_date(millis(SystemTime::now()));
    let touch =
        |name: &str| std::fs::write(dir.join(name), "x\r\n").unwrap_or_else(|e| panic!("{e}"));
    let old = shifted(&today, -91);
    let edge = shifted(&today, -90);
    for name in [
        format!("leg-{old}.csv"),
        format!("ipsc-{old}.csv"),
        format!("bridge-{old}.csv"),
        format!("leg-{edge}.csv"),
        format!("other-{old}.csv"),
        format!("leg-{old}.csv.bak"),
        "notes.txt".to_owned(),
    ] {
        touch(&name);
    }
    let mut log = open(tmp.path(), &[CsvLayout::Leg], 90);
    let mut want = vec![
        format!("leg-{edge}.csv"),
        format!("leg-{old}.csv.bak"),
        "notes.txt".to_owned(),
        format!("other-{old}.csv"),
    ];
    want.sort();
    assert_eq!(names(&log), want);

    // A record of a later day moves the reference: with 90 days kept, a record 91 days
    // after `edge` expires it.
    let later = local(&format!("{} 12:00:00", shifted(&edge, 91)));
    log.write(&[leg(leg_ending("future", later, 1_000))])
        .unwrap_or_else(|e| panic!("{e}"));
    let got = names(&log);
    assert!(!got.contains(&format!("leg-{edge}.csv")), "{got:?}");
    assert!(
        got.contains(&format!("leg-{}.csv", shifted(&edge, 91))),
        "{got:?}"
    );
    assert!(got.contains(&"notes.txt".to_owned()), "{got:?}");
}

#[test]
fn keep_days_zero_keeps_everything() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path().join("cdr-csv");
    std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("leg-2000-01-01.csv"), "x").unwrap_or_else(|e| panic!("{e}"));
    let log = open(tmp.path(), &[CsvLayout::Leg], 0);
    assert_eq!(names(&log), ["leg-2000-01-01.csv"]);
}

#[test]
fn unwritable_directory_is_an_error() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(tmp.path().join("cdr-csv"), "a file").unwrap_or_else(|e| panic!("{e}"));
    match CsvLog::open(&settings(&[CsvLayout::Leg], 0), tmp.path()) {
        Err(CsvError::CreateDir { path, .. }) => assert_eq!(path, tmp.path().join("cdr-csv")),
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("opened a CSV log under a regular file"),
    }
}

#[test]
fn quoting_follows_rfc_4180() {
    assert_eq!(csv_line(&["a", "b c", ""]), "a,b c,\r\n");
    assert_eq!(
        csv_line(&["x,y", "say \"hi\"", "two\nlines", "cr\r"]),
        "\"x,y\",\"say \"\"hi\"\"\",\"two\nlines\",\"cr\r\"\r\n"
    );
}
