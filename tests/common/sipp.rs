//! Running `sipp` (Debian package `sip-tester`) against the test PBX.
//!
//! Every run is bounded: a call count (`-m`, 1 unless the caller passes one), SIPp's own global
//! timeout (`-timeout 30s -timeout_error`), and an outer kill (by pid) in case SIPp hangs.
//! [`run_sipp`] runs one scenario to completion; [`SippProcess`] runs one in the background
//! (the call tests run several at once: caller, callee, gateway).
//! SIPp's error, message and screen traces go to a temporary directory and are returned, so a
//! failing test shows what the PBX answered.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use super::{free_port, DOMAIN, PBX_SIP};

/// SIPp's own global timeout for one run.
const SIPP_TIMEOUT: &str = "30s";
/// Hard limit for the whole `sipp` process, above [`SIPP_TIMEOUT`]: killed (by pid) after it.
pub const KILL_AFTER: Duration = Duration::from_secs(60);

/// What one `sipp` run produced.
#[derive(Debug)]
pub struct SippResult {
    /// Exit status (SIPp: 0 all calls succeeded, 1 some failed, 255 fatal).
    pub status: ExitStatus,
    /// SIPp's stdout (the final statistics screen).
    pub stdout: String,
    /// SIPp's stderr.
    pub stderr: String,
    /// `-trace_err`: unexpected messages, failed regexps, timeouts.
    pub errors: String,
    /// `-trace_msg`: every message sent and received.
    pub messages: String,
    /// The scenario and arguments, for messages.
    pub command: String,
    /// SIPp's local port (`-p`), which appears in its Via and Contact.
    pub local_port: u16,
}

impl SippResult {
    /// Whether SIPp exited with 0 (every call succeeded).
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// Panics with SIPp's traces unless every call succeeded.
    #[track_caller]
    pub fn assert_success(&self) {
        assert!(self.success(), "sipp failed:\n{self}");
    }

    /// Panics unless SIPp reported failed calls (exit code 1).
    #[track_caller]
    pub fn assert_failed_calls(&self) {
        assert_eq!(
            self.status.code(),
            Some(1),
            "sipp should have failed its call:\n{self}"
        );
    }
}

impl std::fmt::Display for SippResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "command: {}", self.command)?;
        writeln!(f, "status: {}", self.status)?;
        writeln!(f, "----- sipp errors -----\n{}", self.errors)?;
        writeln!(f, "----- sipp messages -----\n{}", self.messages)?;
        writeln!(f, "----- sipp stderr -----\n{}", self.stderr)?;
        write!(
            f,
            "----- sipp stdout (tail) -----\n{}",
            tail(&self.stdout, 40)
        )
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// `tests/sipp/<name>`, or `name` itself if it is a path.
pub fn scenario_path(name: &str) -> PathBuf {
    let p = Path::new(name);
    if p.is_absolute() || p.exists() {
        p.to_path_buf()
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/sipp")
            .join(name)
    }
}

/// Runs the SIPp scenario `scenario` (a file of `tests/sipp/` or a path) against the test PBX
/// on 127.0.0.1:15060 from a free local port, with `args` appended (e.g. `-s 1001 -au 1001
/// -ap pw1001`, `-t t1`). Adds `-m 1` unless `args` has `-m`. The digest `uri` is forced to
/// `sip:switchboard.test` (`-auth_uri`), the Request-URI of the REGISTER scenarios: SIPp would
/// otherwise use `sip:<remote_ip>:<remote_port>`.
///
/// Panics, naming the package, if `sipp` is not installed: a missing SIPp is an install step,
/// never a reason to skip.
pub fn run_sipp(scenario: &str, args: &[&str]) -> SippResult {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    SippProcess::spawn(&SippSpec {
        scenario,
        remote: PBX_SIP,
        local_port: free_port(),
        auth_uri: DOMAIN,
        args: &args,
    })
    .wait(KILL_AFTER)
}

/// What to run: one SIPp instance (see [`SippProcess::spawn`]).
#[derive(Debug, Clone, Copy)]
pub struct SippSpec<'a> {
    /// Scenario file of `tests/sipp/` or a path.
    pub scenario: &'a str,
    /// Remote `ip:port` (SIPp's positional argument): where requests go.
    pub remote: &'a str,
    /// SIPp's local SIP port (`-p`): its Via and Contact.
    pub local_port: u16,
    /// `-auth_uri`: the digest `uri` is `sip:<auth_uri>` (must equal the Request-URI).
    pub auth_uri: &'a str,
    /// Appended to the standard arguments; `-m 1` is added unless present.
    pub args: &'a [String],
}

/// The standard arguments of every run: bounded (`-timeout 30s -timeout_error`), no BYE on
/// abort, traces in `traces`, `-m 1` unless `args` has `-m`.
fn sipp_arguments(spec: &SippSpec<'_>, scenario: &Path, traces: &Path) -> Vec<String> {
    let port = spec.local_port.to_string();
    let mut sipp_args: Vec<String> = vec![spec.remote.into(), "-sf".into()];
    sipp_args.push(scenario.display().to_string());
    for a in [
        "-i",
        "127.0.0.1",
        "-p",
        &port,
        "-timeout",
        SIPP_TIMEOUT,
        "-timeout_error",
    ] {
        sipp_args.push(a.into());
    }
    // A call fails at once on an unexpected message, but SIPp sends no BYE/CANCEL then
    // (the PBX would see requests the scenario never meant to send).
    for a in [
        "-default_behaviors",
        "all,-bye",
        "-nostdin",
        "-auth_uri",
        spec.auth_uri,
        "-trace_err",
        "-trace_msg",
        "-trace_screen",
    ] {
        sipp_args.push(a.into());
    }
    for (flag, file) in [
        ("-error_file", "errors.log"),
        ("-message_file", "messages.log"),
        ("-screen_file", "screen.log"),
    ] {
        sipp_args.push(flag.into());
        sipp_args.push(traces.join(file).display().to_string());
    }
    if !spec.args.iter().any(|a| a == "-m") {
        sipp_args.push("-m".into());
        sipp_args.push("1".into());
    }
    sipp_args.extend(spec.args.iter().cloned());
    sipp_args
}

/// A `sipp` process running in the background, killed (by its pid) and reaped on drop.
///
/// Its stdout and stderr go to files next to its traces, so it can never block on a full pipe.
#[derive(Debug)]
pub struct SippProcess {
    /// The child; `None` once waited for.
    child: Option<Child>,
    /// Traces, stdout and stderr.
    traces: tempfile::TempDir,
    /// For messages.
    command: String,
    /// `-p`.
    local_port: u16,
}

impl SippProcess {
    /// Starts `sipp` as described by `spec` without waiting for it.
    pub fn spawn(spec: &SippSpec<'_>) -> SippProcess {
        let scenario = scenario_path(spec.scenario);
        assert!(
            scenario.exists(),
            "no SIPp scenario at {}",
            scenario.display()
        );
        let traces = tempfile::Builder::new()
            .prefix("sipp-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temporary dir for SIPp traces: {e}"));
        let sipp_args = sipp_arguments(spec, &scenario, traces.path());
        let command = format!("sipp {}", sipp_args.join(" "));
        let open = |name: &str| {
            std::fs::File::create(traces.path().join(name))
                .unwrap_or_else(|e| panic!("cannot create the SIPp {name}: {e}"))
        };
        let child = Command::new(sipp_binary())
            .args(&sipp_args)
            .stdin(Stdio::null())
            .stdout(open("stdout.log"))
            .stderr(open("stderr.log"))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run `{command}`: {e}"));
        SippProcess {
            child: Some(child),
            traces,
            command,
            local_port: spec.local_port,
        }
    }

    /// SIPp's local SIP port (`-p`).
    pub fn local_port(&self) -> u16 {
        self.local_port
    }

    /// The exit status if SIPp has already exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        child
            .try_wait()
            .unwrap_or_else(|e| panic!("cannot check the sipp process: {e}"))
    }

    /// Waits for SIPp to exit, at most `limit` (then kills it: its status says so), and returns
    /// its verdict and traces.
    pub fn wait(mut self, limit: Duration) -> SippResult {
        let Some(mut child) = self.child.take() else {
            panic!("sipp already waited for: {}", self.command);
        };
        let pid = child.id();
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || {
            let _ = tx.send(child.wait());
        });
        let status = match rx.recv_timeout(limit) {
            Ok(status) => status,
            Err(_) => {
                kill(pid);
                rx.recv()
                    .unwrap_or_else(|e| panic!("sipp waiter thread died: {e}"))
            }
        };
        let _ = waiter.join();
        let status = status.unwrap_or_else(|e| panic!("cannot wait for sipp: {e}"));
        self.result(status)
    }

    /// Kills SIPp now and returns what it produced so far (for failure messages).
    pub fn kill(self) -> SippResult {
        if let Some(child) = &self.child {
            kill(child.id());
        }
        self.wait(Duration::from_secs(10))
    }

    fn result(&self, status: ExitStatus) -> SippResult {
        let read =
            |name: &str| std::fs::read_to_string(self.traces.path().join(name)).unwrap_or_default();
        SippResult {
            status,
            stdout: read("stdout.log"),
            stderr: read("stderr.log"),
            errors: read("errors.log"),
            messages: read("messages.log"),
            command: self.command.clone(),
            local_port: self.local_port,
        }
    }
}

impl Drop for SippProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Err(e) = child.kill() {
                if e.kind() != std::io::ErrorKind::InvalidInput {
                    eprintln!("cannot kill sipp pid {}: {e}", child.id());
                }
            }
            let _ = child.wait();
        }
    }
}

/// `kill -KILL <pid>` (one process, by its id).
fn kill(pid: u32) {
    let _ = Command::new("kill")
        .arg("-KILL")
        .arg(pid.to_string())
        .status();
}

/// The `sipp` executable on PATH; panics with the install command if there is none.
fn sipp_binary() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("sipp"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("sipp not found: apt-get install sip-tester"))
}
