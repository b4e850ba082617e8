//! Shared harness of the integration tests that drive the real `switchboard` binary.
//!
//! - [`Pbx`]: starts `switchboard run --config <dir> --data <fresh tempdir>` (the test PBX of
//!   `tests/sipp/pbx`, contract in the README), waits until it answers, kills it on drop and
//!   prints its log when the test failed.
//! - [`sipp`]: runs `sipp` against it, bounded in calls and time (`sipp::run_sipp`), in the
//!   foreground or in the background (`sipp::SippProcess`).
//! - [`calls`]: background SIPp agents for call tests: phones registered as extensions,
//!   callers, the carrier simulator on the gateway's address; their scenarios report events.
//! - [`rtp`]: the test's own RTP endpoints, to count what the PBX's relay carries.
//! - [`wire`]: raw SIP over UDP/streams for what SIPp cannot send (malformed messages).
//! - [`db`]: reads the PBX's SQLite file read-only to assert on registrations.
//!
//! The PBX listens on fixed ports (127.0.0.1:15060 UDP/TCP, 15061 TLS), so two PBXs cannot run
//! at once: [`Pbx::start`] takes a process-wide lock held until the [`Pbx`] is dropped, which
//! serialises the tests of one test binary (cargo runs test binaries one after another). Each
//! test gets its own PBX and database, so tests cannot see each other's registrations, and the
//! child is always killed (a `static` PBX would never be dropped and would outlive the test
//! binary, holding the ports).
//!
//! Depends on: the `switchboard` binary (only as a process), sqlx, tempfile.

#![allow(dead_code)] // every test binary uses a different subset of the harness

pub mod calls;
pub mod cdr;
pub mod db;
pub mod rtp;
pub mod sipp;
pub mod wire;

use std::fs;
use std::io::ErrorKind;
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// UDP and TCP address of the test PBX (contract of `tests/sipp/pbx`).
pub const PBX_SIP: &str = "127.0.0.1:15060";
/// TLS address of the test PBX.
pub const PBX_TLS: &str = "127.0.0.1:15061";
/// Domain and digest realm of the test PBX.
pub const DOMAIN: &str = "switchboard.test";

/// How long the PBX may take to answer its first OPTIONS (debug build, migrations, TLS key).
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a graceful stop (SIGTERM) may take.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one readiness probe waits for the OPTIONS answer before sending the next one.
const PROBE_WAIT: Duration = Duration::from_millis(200);

/// Serialises the PBXs of one test binary: the ports are fixed.
static SERIAL: Mutex<()> = Mutex::new(());

/// Password of extension `ext` in the test PBX (`pw<ext>`).
pub fn password(ext: u32) -> String {
    format!("pw{ext}")
}

/// Address of record of extension `ext` (`sip:<ext>@switchboard.test`).
pub fn aor(ext: u32) -> String {
    format!("sip:{ext}@{DOMAIN}")
}

/// `tests/sipp/pbx`, the test PBX configuration.
pub fn pbx_config_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sipp/pbx")
}

/// The shipped prompts (`dialplan/sounds`), given to every test PBX with `--sounds`: the
/// test configuration has no sounds of its own.
pub fn sounds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("dialplan/sounds")
}

/// Runs `switchboard reload --data <data>` and returns its output (status 0 reloaded, 1
/// rejected, 2 no PBX there).
pub fn reload_data_dir(data: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("reload")
        .arg("--data")
        .arg(data)
        .output()
        .unwrap_or_else(|e| panic!("cannot run switchboard reload: {e}"))
}

/// A copy of `tests/sipp/pbx` in a temporary directory with `key = value` set in `[table]`
/// (replacing the key if the table already sets it; adding the table if no file has it).
pub fn pbx_config_with(table: &str, key: &str, value: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("switchboard-config-")
        .tempdir()
        .unwrap_or_else(|e| panic!("cannot create a temporary config dir: {e}"));
    copy_dir(&pbx_config_dir(), dir.path());
    let header = format!("[{table}]");
    let mut files = Vec::new();
    toml_files(dir.path(), &mut files);
    let target = files.into_iter().find(|path| {
        fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("read {path:?}: {e}"))
            .lines()
            .any(|l| l.trim() == header)
    });
    match target {
        Some(path) => {
            let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path:?}: {e}"));
            fs::write(&path, set_key(&text, &header, key, value))
                .unwrap_or_else(|e| panic!("write {path:?}: {e}"));
        }
        None => {
            let profiles = dir.path().join("sip-profiles");
            let path = profiles.join(format!("zz-test-{table}.toml"));
            fs::write(&path, format!("{header}\n{key} = {value}\n"))
                .unwrap_or_else(|e| panic!("write {path:?}: {e}"));
        }
    }
    dir
}

/// A copy of `tests/sipp/pbx` in a temporary directory with one more profile file,
/// `sip-profiles/zz-test.toml`, holding `toml` (e.g. a whole `[cdr]` table).
pub fn pbx_config_extra(toml: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("switchboard-config-")
        .tempdir()
        .unwrap_or_else(|e| panic!("cannot create a temporary config dir: {e}"));
    copy_dir(&pbx_config_dir(), dir.path());
    let path = dir.path().join("sip-profiles").join("zz-test.toml");
    fs::write(&path, toml).unwrap_or_else(|e| panic!("write {path:?}: {e}"));
    dir
}

/// `text` with `key = value` as the first line of the table `header`, any previous setting of
/// `key` in that table removed.
fn set_key(text: &str, header: &str, key: &str, value: &str) -> String {
    let mut out = String::with_capacity(text.len() + 32);
    let mut in_table = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            in_table = trimmed == header;
        }
        let is_key = trimmed
            .split_once('=')
            .is_some_and(|(k, _)| k.trim() == key);
        if in_table && is_key {
            continue;
        }
        out.push_str(line);
        out.push('\n');
        if trimmed == header {
            out.push_str(&format!("{key} = {value}\n"));
        }
    }
    out
}

/// Every `*.toml` under `dir`, recursively, in a stable order.
fn toml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {dir:?}: {e}"))
        .map(|e| e.unwrap_or_else(|e| panic!("read {dir:?}: {e}")).path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            toml_files(&path, out);
        } else if path.extension().and_then(|e| e.to_str()) == Some("toml") {
            out.push(path);
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    let entries = fs::read_dir(from).unwrap_or_else(|e| panic!("read {from:?}: {e}"));
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| panic!("read {from:?}: {e}"));
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            fs::create_dir_all(&target).unwrap_or_else(|e| panic!("mkdir {target:?}: {e}"));
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target)
                .unwrap_or_else(|e| panic!("copy {:?} to {target:?}: {e}", entry.path()));
        }
    }
}

/// A running `switchboard` process with its own data directory.
///
/// Dropping it kills the process (by its pid), waits for it, and prints its log if the test is
/// panicking. It holds the harness lock for its whole life.
pub struct Pbx {
    /// The child process (`switchboard run`).
    child: Child,
    /// `--data` directory: `switchboard.db`, generated TLS material, `switchboard.log`.
    data: tempfile::TempDir,
    /// Where stdout and stderr of the child go.
    log_path: PathBuf,
    /// A patched configuration copy that must outlive the process, if any.
    config_copy: Option<tempfile::TempDir>,
    /// `--config` directory, for restarts.
    config_dir: PathBuf,
    /// The harness lock: one PBX at a time (fixed ports). Dropped last.
    _serial: MutexGuard<'static, ()>,
}

impl Pbx {
    /// Starts the test PBX with `tests/sipp/pbx`.
    pub fn start_default() -> Pbx {
        Pbx::start(&pbx_config_dir())
    }

    /// Starts the test PBX with a patched copy of its configuration (see [`pbx_config_with`]).
    pub fn start_with(config: tempfile::TempDir) -> Pbx {
        let mut pbx = Pbx::start(config.path());
        pbx.config_copy = Some(config);
        pbx
    }

    /// Starts `switchboard run --config <config_dir> --data <fresh tempdir>` and waits until it
    /// answers OPTIONS on UDP and accepts TCP and TLS connections.
    pub fn start(config_dir: &Path) -> Pbx {
        // A test that panicked while holding the lock poisons it; the lock only guards ports.
        let serial = SERIAL
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(status) = wire::probe_options(PBX_SIP, PROBE_WAIT) {
            panic!(
                "something already answers on {PBX_SIP} ({status}): a switchboard left over from \
                 another run? Stop it first."
            );
        }
        let data = tempfile::Builder::new()
            .prefix("switchboard-data-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temporary data dir: {e}"));
        let log_path = data.path().join("switchboard.log");
        let child = spawn(config_dir, data.path(), &log_path);
        let mut pbx = Pbx {
            child,
            data,
            log_path,
            config_copy: None,
            config_dir: config_dir.to_path_buf(),
            _serial: serial,
        };
        pbx.wait_ready();
        pbx
    }

    /// Asks the PBX to stop with SIGTERM and waits (bounded) for it to exit; returns its exit
    /// status. Panics if it does not exit within [`STOP_TIMEOUT`].
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .unwrap_or_else(|e| panic!("cannot run kill: {e}"));
        assert!(status.success(), "kill -TERM {} failed", self.child.id());
        let pid = self.child.id();
        let child = &mut self.child;
        let outcome = std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::channel();
            scope.spawn(move || {
                let _ = tx.send(child.wait());
            });
            let outcome = rx.recv_timeout(STOP_TIMEOUT);
            if outcome.is_err() {
                // Unblock the waiting thread before reporting.
                let _ = Command::new("kill")
                    .arg("-KILL")
                    .arg(pid.to_string())
                    .status();
            }
            outcome
        });
        match outcome {
            Ok(Ok(status)) => status,
            Ok(Err(e)) => panic!("cannot wait for switchboard: {e}"),
            Err(_) => panic!(
                "switchboard ignored SIGTERM for {STOP_TIMEOUT:?}\n{}",
                self.log_banner()
            ),
        }
    }

    /// Stops the PBX gracefully and starts it again on the same configuration and data
    /// directory (the same database), waiting until it answers.
    pub fn restart(&mut self) {
        let status = self.terminate();
        assert!(
            status.success(),
            "switchboard exited with {status} on SIGTERM\n{}",
            self.log_banner()
        );
        self.child = spawn(&self.config_dir, self.data.path(), &self.log_path);
        self.wait_ready();
    }
}

impl Pbx {
    /// Kills the PBX with SIGKILL (by its pid: no signal handler, no graceful stop, nothing
    /// flushed — a crash) and reaps it. Returns the exit status (killed by signal 9).
    pub fn kill9(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id();
        let status = Command::new("kill")
            .arg("-KILL")
            .arg(pid.to_string())
            .status()
            .unwrap_or_else(|e| panic!("cannot run kill: {e}"));
        assert!(status.success(), "kill -KILL {pid} failed");
        // SIGKILL cannot be caught: the process is gone as soon as the kernel reaps it.
        self.child
            .wait()
            .unwrap_or_else(|e| panic!("cannot wait for switchboard pid {pid}: {e}"))
    }

    /// Starts the PBX again on the same configuration and data directory (the same
    /// databases) after it exited (e.g. [`Pbx::kill9`]), waiting until it answers. Panics if
    /// the previous process is still running.
    pub fn start_again(&mut self) {
        match self.child.try_wait() {
            Ok(Some(_)) => {}
            Ok(None) => panic!(
                "switchboard pid {} is still running: stop it before start_again",
                self.child.id()
            ),
            Err(e) => panic!("cannot check the switchboard process: {e}"),
        }
        self.child = spawn(&self.config_dir, self.data.path(), &self.log_path);
        self.wait_ready();
    }
}

/// Spawns `switchboard run`, appending its output to `log_path`.
fn spawn(config_dir: &Path, data: &Path, log_path: &Path) -> Child {
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .unwrap_or_else(|e| panic!("open log: {e}"));
    let log_err = log
        .try_clone()
        .unwrap_or_else(|e| panic!("clone log handle: {e}"));
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("run")
        .arg("--config")
        .arg(config_dir)
        .arg("--data")
        .arg(data)
        .arg("--sounds")
        .arg(sounds_dir())
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "info,switchboard=debug".into()),
        )
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start switchboard: {e}"))
}

impl Pbx {
    /// Bounded readiness loop: each round sends an OPTIONS and waits [`PROBE_WAIT`] on the
    /// socket for an answer; once UDP answers, the TCP and TLS ports must accept a connection.
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            self.assert_running();
            if wire::probe_options(PBX_SIP, PROBE_WAIT).is_some()
                && connects(PBX_SIP)
                && connects(PBX_TLS)
            {
                return;
            }
        }
        panic!(
            "switchboard did not answer OPTIONS on {PBX_SIP} within {START_TIMEOUT:?}\n{}",
            self.log_banner()
        );
    }

    /// Panics (with the log) if the process has exited.
    pub fn assert_running(&mut self) {
        match self.child.try_wait() {
            Ok(None) => {}
            Ok(Some(status)) => {
                panic!(
                    "switchboard exited early with {status}\n{}",
                    self.log_banner()
                )
            }
            Err(e) => panic!("cannot check the switchboard process: {e}"),
        }
    }

    /// Runs `switchboard reload` against this PBX (its dialplan is re-read from the
    /// `--config` directory) and returns the command's output.
    pub fn reload(&self) -> std::process::Output {
        reload_data_dir(self.data.path())
    }

    /// The `--config` directory (a patched copy's path when started with one).
    pub fn config_dir(&self) -> &Path {
        &self.config_dir
    }

    /// Process id of the PBX.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The `--data` directory.
    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }

    /// `<data>/switchboard.db`.
    pub fn db_path(&self) -> PathBuf {
        self.data.path().join("switchboard.db")
    }

    /// Everything the PBX wrote to stdout and stderr so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log_path).unwrap_or_else(|e| format!("(no log: {e})"))
    }

    fn log_banner(&self) -> String {
        format!(
            "----- switchboard log ({}) -----\n{}\n----- end of switchboard log -----",
            self.log_path.display(),
            self.log()
        )
    }
}

impl Drop for Pbx {
    fn drop(&mut self) {
        if let Err(e) = self.child.kill() {
            if e.kind() != ErrorKind::InvalidInput {
                eprintln!("cannot kill switchboard pid {}: {e}", self.child.id());
            }
        }
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("{}", self.log_banner());
        }
    }
}

/// Whether a TCP connection to `addr` is accepted within a short timeout.
fn connects(addr: &str) -> bool {
    let Ok(addr) = addr.parse::<SocketAddr>() else {
        return false;
    };
    TcpStream::connect_timeout(&addr, PROBE_WAIT).is_ok()
}

/// A local port free on both UDP and TCP on 127.0.0.1 (for SIPp's `-p`).
pub fn free_port() -> u16 {
    for _ in 0..50 {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind UDP: {e}"));
        let port = udp
            .local_addr()
            .unwrap_or_else(|e| panic!("local_addr: {e}"))
            .port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no local port free on both UDP and TCP");
}
