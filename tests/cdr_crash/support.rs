//! Helpers of `tests/cdr_crash.rs`: SIPp load (the carrier UAS on 15080 and batches of
//! callers, with SIPp's own `-trace_stat` counters and per-call "answered" reports), and
//! bounded waits for log lines and crash-journal rows. Record checks are in `records.rs`,
//! the export runner in `export_cli.rs`.
//!
//! Depends on: `tests/common` (Pbx, SIPp runner, CDR rows), `sipp`.

use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::common::calls::GATEWAY_PORT;
use crate::common::cdr::{rows_blocking, CdrRow};
use crate::common::sipp::{SippProcess, SippResult, SippSpec, KILL_AFTER};
use crate::common::{free_port, password, Pbx, DOMAIN, PBX_SIP};

/// The calling extension.
pub const CALLER: u32 = 1000;
/// Dialled number: out through the gateway "carrier" (the 9 is stripped).
pub const DIALLED: &str = "9555123";
/// How long the test waits for SIPp to report events (answers) or the PBX to write rows.
pub const EVENT_LIMIT: Duration = Duration::from_secs(20);

/// Milliseconds since the Unix epoch, like the CDR tables.
pub fn now_ms() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_else(|e| panic!("clock before 1970: {e}"));
    i64::try_from(since.as_millis()).unwrap_or_else(|e| panic!("clock: {e}"))
}

/// Strings for SIPp's argument list.
pub fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| (*a).to_owned()).collect()
}

/// The carrier: `cdr_load_uas.xml` in server mode on 127.0.0.1:15080, answering every
/// INVITE at once and waiting for the BYE. Returns once SIPp holds the port.
pub fn start_carrier() -> SippProcess {
    start_carrier_with("cdr_load_uas.xml")
}

/// The carrier (see [`start_carrier`]) running `scenario` (a `tests/sipp/` file).
pub fn start_carrier_with(scenario: &str) -> SippProcess {
    let media = free_port().to_string();
    let args = strings(&["-m", "100000", "-mi", "127.0.0.1", "-mp", &media]);
    let mut carrier = SippProcess::spawn(&SippSpec {
        scenario,
        remote: PBX_SIP,
        local_port: GATEWAY_PORT,
        auth_uri: DOMAIN,
        args: &args,
    });
    // Bounded readiness check: the port is SIPp's once we can no longer bind it.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = carrier.exited() {
            panic!("the carrier SIPp exited with {status}:\n{}", carrier.kill());
        }
        if UdpSocket::bind(("127.0.0.1", GATEWAY_PORT)).is_err() {
            return carrier;
        }
        if Instant::now() > deadline {
            panic!(
                "the carrier SIPp did not bind 127.0.0.1:{GATEWAY_PORT}:\n{}",
                carrier.kill()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// SIPp's `-trace_stat` file: the last complete row, column name → value.
#[derive(Debug)]
pub struct SippStats(BTreeMap<String, String>);

impl SippStats {
    /// Reads the last complete row of the `;`-separated statistics file at `path`.
    pub fn read(path: &Path) -> SippStats {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("SIPp statistics {}: {e}", path.display()));
        let mut lines = text.lines();
        let header: Vec<&str> = lines
            .next()
            .unwrap_or_else(|| panic!("empty SIPp statistics file {}", path.display()))
            .split(';')
            .collect();
        // A row being written while we read is shorter than the header: skip it.
        let last = lines
            .rev()
            .find(|l| l.split(';').count() >= header.len())
            .unwrap_or_else(|| panic!("no statistics row in {}:\n{text}", path.display()));
        let map = header
            .iter()
            .zip(last.split(';'))
            .map(|(k, v)| ((*k).to_owned(), v.to_owned()))
            .collect();
        SippStats(map)
    }

    /// The counter `name` (e.g. `SuccessfulCall(C)`).
    #[track_caller]
    pub fn count(&self, name: &str) -> u64 {
        let v = self
            .0
            .get(name)
            .unwrap_or_else(|| panic!("no {name} in SIPp statistics {:#?}", self.0));
        v.trim()
            .parse()
            .unwrap_or_else(|e| panic!("SIPp statistic {name} = {v:?}: {e}"))
    }
}

/// One SIPp caller run: `calls` calls from extension 1000 to 9555123 at `rate` calls/s,
/// each held `hold_ms` after the answer, Call-IDs `<batch>-<n>-<pid>@127.0.0.1`.
pub struct Callers {
    /// `None` once given up on (killed for a failure message).
    process: Option<SippProcess>,
    /// `-stf`.
    stat: PathBuf,
    /// Where the scenario's `notify.sh` sends "answered <call number>".
    events: UdpSocket,
    /// Call numbers reported answered so far, with when the report arrived.
    answered: BTreeMap<u64, Instant>,
    /// Holds the statistics file.
    _dir: tempfile::TempDir,
}

impl Callers {
    pub fn start(batch: &str, calls: u32, rate: u32, hold_ms: u32) -> Callers {
        let dir = tempfile::Builder::new()
            .prefix("cdr-crash-sipp-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temporary dir: {e}"));
        let stat = dir.path().join("stat.csv");
        let events =
            UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind event socket: {e}"));
        let notify = format!(
            "{} {}",
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/sipp/notify.sh")
                .display(),
            events
                .local_addr()
                .unwrap_or_else(|e| panic!("event socket address: {e}"))
                .port()
        );
        let caller = CALLER.to_string();
        let args = strings(&[
            "-s",
            DIALLED,
            "-key",
            "caller",
            &caller,
            "-au",
            &caller,
            "-ap",
            &password(CALLER),
            "-d",
            &hold_ms.to_string(),
            "-r",
            &rate.to_string(),
            "-rp",
            "1000",
            "-m",
            &calls.to_string(),
            "-cid_str",
            &format!("{batch}-%u-%p@%s"),
            "-mi",
            "127.0.0.1",
            "-mp",
            &free_port().to_string(),
            "-key",
            "notify",
            &notify,
            "-trace_stat",
            "-stf",
            &stat.display().to_string(),
            "-fd",
            "1",
        ]);
        let auth_uri = format!("{DIALLED}@{DOMAIN}");
        let process = SippProcess::spawn(&SippSpec {
            scenario: "cdr_load_uac.xml",
            remote: PBX_SIP,
            local_port: free_port(),
            auth_uri: &auth_uri,
            args: &args,
        });
        Callers {
            process: Some(process),
            stat,
            events,
            answered: BTreeMap::new(),
            _dir: dir,
        }
    }

    /// Waits (bounded by [`EVENT_LIMIT`]) until `n` distinct calls reported their answer;
    /// returns when the last report arrived. Panics with SIPp's traces otherwise.
    pub fn wait_answered(&mut self, n: usize) -> Instant {
        let deadline = Instant::now() + EVENT_LIMIT;
        let mut buf = [0u8; 256];
        while self.answered.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || self.process_mut().exited().is_some() {
                let got = self.answered.len();
                let result = self.process.take().map(SippProcess::kill);
                panic!("{got} of {n} calls answered in {EVENT_LIMIT:?}:\n{result:#?}");
            }
            self.events
                .set_read_timeout(Some(left.min(Duration::from_millis(200))))
                .unwrap_or_else(|e| panic!("set_read_timeout: {e}"));
            if let Ok((len, _)) = self.events.recv_from(&mut buf) {
                let text = String::from_utf8_lossy(&buf[..len]).into_owned();
                let words: Vec<&str> = text.split_whitespace().collect();
                match words.as_slice() {
                    ["answered", number] => {
                        let number: u64 = number
                            .parse()
                            .unwrap_or_else(|e| panic!("bad event {text:?}: {e}"));
                        self.answered.insert(number, Instant::now());
                    }
                    _ => panic!("unexpected event from the caller scenario: {text:?}"),
                }
            }
        }
        self.answered
            .values()
            .max()
            .copied()
            .unwrap_or_else(Instant::now)
    }

    pub fn process_mut(&mut self) -> &mut SippProcess {
        self.process
            .as_mut()
            .unwrap_or_else(|| panic!("the caller SIPp was already stopped"))
    }

    pub fn take_process(&mut self) -> SippProcess {
        self.process
            .take()
            .unwrap_or_else(|| panic!("the caller SIPp was already stopped"))
    }

    /// Whether SIPp is still running.
    pub fn running(&mut self) -> bool {
        self.process_mut().exited().is_none()
    }

    /// The last statistics SIPp dumped.
    pub fn stats(&self) -> SippStats {
        SippStats::read(&self.stat)
    }

    /// Waits for SIPp to finish; returns its verdict and its final statistics.
    pub fn finish(mut self) -> (SippResult, SippStats) {
        let result = self.take_process().wait(KILL_AFTER);
        (result, self.stats())
    }

    /// Kills SIPp (by pid); returns its traces and the last statistics it dumped.
    pub fn kill(mut self) -> (SippResult, SippStats) {
        let result = self.take_process().kill();
        (result, self.stats())
    }
}

/// Waits (bounded) until the PBX log contains `needle`; returns the log.
#[track_caller]
pub fn wait_log(pbx: &Pbx, needle: &str, limit: Duration) -> String {
    let start = Instant::now();
    loop {
        let log = pbx.log();
        if log.contains(needle) {
            return log;
        }
        if start.elapsed() > limit {
            panic!("the log does not say {needle:?} within {limit:?}:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Reads `<db>` `cdr_live` (the crash journal) until `done(rows)` holds or `limit` passes
/// (then panics with the rows). [`crate::common::cdr::wait_rows`] orders by `rowid`, which
/// this `WITHOUT ROWID` table does not have.
#[track_caller]
pub fn wait_journal(
    db: &Path,
    filter: &str,
    limit: Duration,
    done: impl Fn(&[CdrRow]) -> bool,
) -> Vec<CdrRow> {
    let start = Instant::now();
    loop {
        let found = rows_blocking(db, "cdr_live", filter, "record_id");
        if done(&found) {
            return found;
        }
        if start.elapsed() > limit {
            panic!("cdr_live where {filter}: condition not reached in {limit:?}: {found:#?}");
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}
