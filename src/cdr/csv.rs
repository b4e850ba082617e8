//! The CSV log: final records appended to one file per layout per local day, with old
//! files removed after `keep_days`.
//!
//! Files (in `[cdr.csv] dir`, relative to the data directory): `leg-YYYY-MM-DD.csv`,
//! `ipsc-YYYY-MM-DD.csv`, `bridge-YYYY-MM-DD.csv`, named by the local date of the record's
//! end. A record goes to the file of its own day, so a call that ends after midnight lands
//! in the new day's file even if an earlier record is written after it. Leg and bridge
//! files start with a header row when created; IPSC files have none (the CTI platform's
//! text log has none). Fields are quoted per RFC 4180 (`"` around a field holding `,`,
//! `"`, CR or LF; inner `"` doubled); lines end with CRLF (RFC 4180 §2). Values are
//! written as they are: no spreadsheet-formula escaping, since a leading `+` is part of
//! E.164 numbers.
//!
//! Layouts:
//! - `leg`: every scalar field of `LegRecord` ([`LEG_HEADER`]); times both in UTC
//!   (`start`: ISO-8601 with ms) and local (`start_local`: `YYYY-MM-DD HH:MM:SS`).
//! - `bridge`: Asterisk `Master.csv` order, then `linkedid,sequence,peeraccount`
//!   ([`BRIDGE_HEADER`]); times local `YYYY-MM-DD HH:MM:SS` like Asterisk's.
//! - `ipsc`: the CTI platform's 29 fields (seed 000), built by [`ipsc_row`]; see its doc
//!   for how each field is filled.
//!
//! Clean-up: when the log opens (relative to today) and whenever a record of a newer day
//! than any seen arrives (relative to that day), files of the three layouts dated more
//! than `keep_days` days before are deleted (`keep_days = 0` keeps everything). Only file
//! names of exactly that shape are touched; a failure to delete is logged, not fatal.
//!
//! Writing is synchronous (`std::fs`): the caller runs it on a blocking thread. Each
//! [`CsvLog::write`] call appends and flushes.
//!
//! Depends on: `crate::config` (settings), `super::model`, `super::time`, chrono, tracing.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::{Days, NaiveDate};

use crate::config::{CsvLayout, CsvSettings};

use super::model::{millis, BridgeRecord, FeedItem, LegRecord, Millis};
use super::time;

/// Header of the `leg` layout.
pub const LEG_HEADER: &[&str] = &[
    "uuid",
    "node_id",
    "direction",
    "account",
    "caller_id_number",
    "caller_id_name",
    "callee_id_number",
    "destination_number",
    "originator",
    "bridge_uuid",
    "call_source",
    "source_name",
    "source_number",
    "dial_number",
    "line_group",
    "context",
    "channel_name",
    "sip_call_id",
    "start",
    "answer",
    "end",
    "start_local",
    "answer_local",
    "end_local",
    "duration",
    "billsec",
    "duration_ms",
    "billsec_ms",
    "hangup_cause",
    "q850",
    "sip_code",
    "hangup_side",
    "codec",
    "rtp_in_packets",
    "rtp_in_lost",
    "rtp_in_jitter_ms",
    "rtp_out_packets",
    "rtp_out_lost",
    "rtp_out_jitter_ms",
    "linkedid",
    "accountcode",
    "amaflags",
    "userfield",
];

/// Header of the `bridge` layout: Asterisk's `Master.csv` order plus three columns.
pub const BRIDGE_HEADER: &[&str] = &[
    "accountcode",
    "src",
    "dst",
    "dcontext",
    "clid",
    "channel",
    "dstchannel",
    "lastapp",
    "lastdata",
    "start",
    "answer",
    "end",
    "duration",
    "billsec",
    "disposition",
    "amaflags",
    "uniqueid",
    "userfield",
    "linkedid",
    "sequence",
    "peeraccount",
];

/// Number of fields of the IPSC layout (seed 000).
pub const IPSC_FIELDS: usize = 29;

/// A CSV log failure (the records stay in the database; the caller logs and goes on).
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    /// The directory could not be created.
    #[error("cannot create CSV directory {}: {source}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// A file could not be opened, written or flushed.
    #[error("cannot write CSV file {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

/// The day file currently open for one layout.
struct DayFile {
    day: String,
    path: PathBuf,
    out: BufWriter<File>,
}

/// The CSV writer: one open day file per layout, the IPSC counters.
pub struct CsvLog {
    dir: PathBuf,
    keep_days: u32,
    /// The configured layouts, each with its open file (if any yet).
    files: Vec<(CsvLayout, Option<DayFile>)>,
    /// The newest local day seen (`YYYY-MM-DD`): clean-up reference.
    newest_day: String,
    /// This run's start (ms): part of IPSC `cdrid`.
    run_id: Millis,
    /// The last IPSC `processid` written (0: none yet).
    processid: u64,
    /// IPSC channel numbers.
    channels: ChannelNumbers,
}

impl CsvLog {
    /// Creates the directory (`settings.dir`, relative to `data_dir` unless absolute) and
    /// removes expired files. Files are opened when the first record for them arrives.
    pub fn open(settings: &CsvSettings, data_dir: &Path) -> Result<CsvLog, CsvError> {
        let dir = data_dir.join(&settings.dir);
        std::fs::create_dir_all(&dir).map_err(|source| CsvError::CreateDir {
            path: dir.clone(),
            source,
        })?;
        let now = millis(SystemTime::now());
        let log = CsvLog {
            dir,
            keep_days: settings.keep_days,
            files: settings.layouts.iter().map(|l| (*l, None)).collect(),
            newest_day: time::local_date(now),
            run_id: now,
            processid: 0,
            channels: ChannelNumbers::default(),
        };
        log.clean_up();
        Ok(log)
    }

    /// This run's id (its start, ms since the epoch), the middle part of IPSC `cdrid`.
    pub fn run_id(&self) -> Millis {
        self.run_id
    }

    /// The directory the files are written to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends the final records of `items` to the files of their layouts and flushes.
    /// Realtime updates (`Leg { is_final: false }`) are skipped. Leg records feed the `leg`
    /// and `ipsc` layouts, bridge records the `bridge` layout.
    pub fn write(&mut self, items: &[FeedItem]) -> Result<(), CsvError> {
        let result = self.write_items(items);
        let flushed = self.flush();
        result.and(flushed)
    }

    fn write_items(&mut self, items: &[FeedItem]) -> Result<(), CsvError> {
        for item in items {
            match item {
                FeedItem::Leg {
                    is_final: false, ..
                } => {}
                FeedItem::Leg { record, .. } => {
                    let day = time::local_date(record.end.unwrap_or(record.start));
                    for i in 0..self.files.len() {
                        let line = match self.files[i].0 {
                            CsvLayout::Leg => csv_line(&leg_row(record)),
                            CsvLayout::Ipsc => {
                                self.processid += 1;
                                let ch = self.channels.assign(record.start, record.end);
                                csv_line(&ipsc_row(record, self.run_id, self.processid, ch))
                            }
                            CsvLayout::Bridge => continue,
                        };
                        self.append(i, &day, &line)?;
                    }
                }
                FeedItem::Bridge { record } => {
                    let day = time::local_date(record.end.unwrap_or(record.start));
                    for i in 0..self.files.len() {
                        if self.files[i].0 == CsvLayout::Bridge {
                            self.append(i, &day, &csv_line(&bridge_row(record)))?;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Appends `line` to layout `i`'s file of `day`, switching files when the day differs.
    fn append(&mut self, i: usize, day: &str, line: &str) -> Result<(), CsvError> {
        if day > self.newest_day.as_str() {
            self.newest_day = day.to_owned();
            self.clean_up();
        }
        let layout = self.files[i].0;
        let current = self.files[i].1.as_ref().is_some_and(|f| f.day == day);
        if !current {
            if let Some(mut old) = self.files[i].1.take() {
                old.out.flush().map_err(|source| CsvError::Write {
                    path: old.path.clone(),
                    source,
                })?;
            }
            self.files[i].1 = Some(self.open_day(layout, day)?);
        }
        let Some(file) = self.files[i].1.as_mut() else {
            return Ok(());
        };
        file.out
            .write_all(line.as_bytes())
            .map_err(|source| CsvError::Write {
                path: file.path.clone(),
                source,
            })
    }

    /// Opens (appending) or creates `layout`'s file of `day`, writing the header into a
    /// new or empty leg/bridge file.
    fn open_day(&self, layout: CsvLayout, day: &str) -> Result<DayFile, CsvError> {
        let path = self.dir.join(format!("{}-{day}.csv", layout.name()));
        let write_err = |source| CsvError::Write {
            path: path.clone(),
            source,
        };
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(write_err)?;
        let empty = file.metadata().map_err(write_err)?.len() == 0;
        let mut out = BufWriter::new(file);
        let header = match layout {
            CsvLayout::Leg => Some(LEG_HEADER),
            CsvLayout::Bridge => Some(BRIDGE_HEADER),
            CsvLayout::Ipsc => None,
        };
        if let (true, Some(header)) = (empty, header) {
            out.write_all(csv_line(header).as_bytes())
                .map_err(write_err)?;
        }
        tracing::debug!(path = %path.display(), "cdr csv file opened");
        Ok(DayFile {
            day: day.to_owned(),
            path,
            out,
        })
    }

    fn flush(&mut self) -> Result<(), CsvError> {
        for (_, file) in &mut self.files {
            if let Some(f) = file {
                f.out.flush().map_err(|source| CsvError::Write {
                    path: f.path.clone(),
                    source,
                })?;
            }
        }
        Ok(())
    }

    /// Deletes layout files dated more than `keep_days` before `newest_day`.
    fn clean_up(&self) {
        if self.keep_days == 0 {
            return;
        }
        let Some(cutoff) = NaiveDate::parse_from_str(&self.newest_day, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.checked_sub_days(Days::new(u64::from(self.keep_days))))
        else {
            return;
        };
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(error) => {
                tracing::warn!(dir = %self.dir.display(), %error, "cdr csv clean-up: cannot list");
                return;
            }
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(date) = name.to_str().and_then(file_date) else {
                continue;
            };
            if date < cutoff {
                let path = entry.path();
                match std::fs::remove_file(&path) {
                    Ok(()) => tracing::info!(path = %path.display(), "cdr csv file expired"),
                    Err(error) => {
                        tracing::warn!(path = %path.display(), %error, "cdr csv clean-up failed")
                    }
                }
            }
        }
    }
}

/// The date of a `leg|ipsc|bridge-YYYY-MM-DD.csv` file name, if it is one.
fn file_date(name: &str) -> Option<NaiveDate> {
    let stem = name.strip_suffix(".csv")?;
    let (layout, date) = stem.split_once('-')?;
    if !matches!(layout, "leg" | "ipsc" | "bridge") || date.len() != 10 {
        return None;
    }
    NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()
}

/// IPSC channel numbers: like a hardware channel, a small number (from 1) that no two
/// calls overlapping in time share within one run. Records arrive at their end, so a slot
/// is reused only when everything it held ended before the new record started.
#[derive(Default)]
struct ChannelNumbers {
    /// Per channel number − 1: the latest end of the records given it.
    busy_until: Vec<Millis>,
}

impl ChannelNumbers {
    /// The lowest number free since `start`, now held until `end`.
    fn assign(&mut self, start: Millis, end: Option<Millis>) -> u32 {
        let end = end.unwrap_or(start).max(start);
        let slot = match self.busy_until.iter().position(|b| *b <= start) {
            Some(slot) => slot,
            None => {
                self.busy_until.push(end);
                self.busy_until.len() - 1
            }
        };
        if let Some(b) = self.busy_until.get_mut(slot) {
            *b = (*b).max(end);
        }
        u32::try_from(slot + 1).unwrap_or(u32::MAX)
    }
}

/// RFC 4180 quoting of one field.
fn quote(field: &str, out: &mut String) {
    if field.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}

/// One CSV line (CRLF-terminated) of `fields`.
fn csv_line<S: AsRef<str>>(fields: &[S]) -> String {
    let mut out = String::with_capacity(fields.len() * 12);
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        quote(f.as_ref(), &mut out);
    }
    out.push_str("\r\n");
    out
}

fn opt_str(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

fn opt_num<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// The `leg` layout row of `r` (columns of [`LEG_HEADER`]).
pub fn leg_row(r: &LegRecord) -> Vec<String> {
    vec![
        r.uuid.clone(),
        r.node_id.clone(),
        r.direction.clone(),
        r.account.clone(),
        r.caller_id_number.clone(),
        r.caller_id_name.clone(),
        r.callee_id_number.clone(),
        r.destination_number.clone(),
        opt_str(&r.originator),
        opt_str(&r.bridge_uuid),
        r.call_source.clone(),
        r.source_name.clone(),
        r.source_number.clone(),
        r.dial_number.clone(),
        r.line_group.clone(),
        r.context.clone(),
        r.channel_name.clone(),
        opt_str(&r.sip_call_id),
        time::iso_utc(r.start),
        opt_num(r.answer.map(time::iso_utc)),
        opt_num(r.end.map(time::iso_utc)),
        time::local_datetime(r.start),
        opt_num(r.answer.map(time::local_datetime)),
        opt_num(r.end.map(time::local_datetime)),
        r.duration.to_string(),
        r.billsec.to_string(),
        r.duration_ms.to_string(),
        r.billsec_ms.to_string(),
        r.hangup_cause.clone(),
        opt_num(r.q850),
        opt_num(r.sip_code),
        r.hangup_side.clone(),
        opt_str(&r.codec),
        r.rtp.in_packets.to_string(),
        r.rtp.in_lost.to_string(),
        r.rtp.in_jitter_ms.to_string(),
        r.rtp.out_packets.to_string(),
        r.rtp.out_lost.to_string(),
        r.rtp.out_jitter_ms.to_string(),
        r.linkedid.clone(),
        r.accountcode.clone(),
        r.amaflags.clone(),
        r.userfield.clone(),
    ]
}

/// The `bridge` layout row of `r` (columns of [`BRIDGE_HEADER`]).
pub fn bridge_row(r: &BridgeRecord) -> Vec<String> {
    vec![
        r.accountcode.clone(),
        r.src.clone(),
        r.dst.clone(),
        r.dcontext.clone(),
        r.clid.clone(),
        r.channel.clone(),
        r.dstchannel.clone(),
        r.lastapp.clone(),
        r.lastdata.clone(),
        time::local_datetime(r.start),
        opt_num(r.answer.map(time::local_datetime)),
        opt_num(r.end.map(time::local_datetime)),
        r.duration.to_string(),
        r.billsec.to_string(),
        r.disposition.as_str().to_owned(),
        r.amaflags.clone(),
        r.uniqueid.clone(),
        r.userfield.clone(),
        r.linkedid.clone(),
        r.sequence.to_string(),
        r.peeraccount.clone(),
    ]
}

/// The first non-empty of `a`, `b`.
fn first_set<'a>(a: &'a str, b: &'a str) -> &'a str {
    if a.is_empty() {
        b
    } else {
        a
    }
}

/// The IPSC layout row (seed 000, 29 fields in order) of leg record `r`, written as this
/// run's `processid`-th IPSC record on channel number `ch`:
///
/// | # | field | value |
/// |---|---|---|
/// | 1 | id | `uuid` |
/// | 2 | nodeid | `node_id` |
/// | 3 | cdrid | `<node_id>-<run id>-<processid>`: unique within the node across restarts (the run id is the log's start in epoch ms) |
/// | 4 | processid | 1, 2, 3… per run |
/// | 5 | callid | the leg's SIP Call-ID; the linkedid when it has none |
/// | 6 | ch | a per-run channel number from 1; calls overlapping in time never share one |
/// | 7 | devno | `0:0:<ch>` (SIP: switch:board:channel) |
/// | 8 | ani | `caller_id_number` |
/// | 9 | dnis | `destination_number` (else `callee_id_number`) |
/// | 10 | dnis2 | `dial_number`, the number originally dialed (else `destination_number`) |
/// | 11 | orgcallno | `source_number`, the original caller of a queue call (else `caller_id_number`) |
/// | 12 | dir | 0 inbound, 1 outbound; 2 (internal, reserved by IPSC) is not used: an extension-to-extension call gives an inbound and an outbound leg |
/// | 13 | devtype | 2 (SIP) |
/// | 14 | busitype | `call_source` (`dialplan`, `acd`, `queuedialer`, `api`) |
/// | 15 | callstatus | 1 answered, 0 not |
/// | 16 | endtype | `hangup_side`: local 1, remote 2, device 3, else 0 |
/// | 17 | ipscreason | the Q.850 cause value, 0 when none |
/// | 18 | callfailcause | the SIP status that ended the leg, empty when none |
/// | 19–21 | callbegintime, connectbegintime, callendtime | local `YYYY-MM-DD HH:MM:SS`; connect empty when unanswered |
/// | 22 | talkduration | `billsec` (0 when unanswered) |
/// | 23 | projectid | `accountcode` (the billing account / tenant) |
/// | 24 | flowid | `context` (the dialplan flow) |
/// | 25 | additionalinfo1 | `linkedid` (the conversation, IPSC's resource id) |
/// | 26 | additionalinfo2 | `userfield` (user data) |
/// | 27–29 | additionalinfo3..5 | empty |
pub fn ipsc_row(r: &LegRecord, run_id: Millis, processid: u64, ch: u32) -> Vec<String> {
    let dir = if r.direction == "outbound" { "1" } else { "0" };
    let endtype = match r.hangup_side.as_str() {
        "local" => "1",
        "remote" => "2",
        "device" => "3",
        _ => "0",
    };
    let callid = r.sip_call_id.as_deref().unwrap_or(&r.linkedid);
    vec![
        r.uuid.clone(),
        r.node_id.clone(),
        format!("{}-{run_id}-{processid}", r.node_id),
        processid.to_string(),
        callid.to_owned(),
        ch.to_string(),
        format!("0:0:{ch}"),
        r.caller_id_number.clone(),
        first_set(&r.destination_number, &r.callee_id_number).to_owned(),
        first_set(&r.dial_number, &r.destination_number).to_owned(),
        first_set(&r.source_number, &r.caller_id_number).to_owned(),
        dir.to_owned(),
        "2".to_owned(),
        r.call_source.clone(),
        if r.answer.is_some() { "1" } else { "0" }.to_owned(),
        endtype.to_owned(),
        r.q850.unwrap_or(0).to_string(),
        opt_num(r.sip_code),
        time::local_datetime(r.start),
        opt_num(r.answer.map(time::local_datetime)),
        time::local_datetime(r.end.unwrap_or(r.start)),
        r.billsec.to_string(),
        r.accountcode.clone(),
        r.context.clone(),
        r.linkedid.clone(),
        r.userfield.clone(),
        String::new(),
        String::new(),
        String::new(),
    ]
}

#[cfg(test)]
#[path = "csv_tests.rs"]
mod tests;
