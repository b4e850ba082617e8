//! Running `sipp` (Debian package `sip-tester`) against the test PBX.
//!
//! Every run is bounded: a call count (`-m`, 1 unless the caller passes one), SIPp's own global
//! timeout (`-timeout 30s -timeout_error`), and an outer `timeout` kill in case SIPp hangs.
//! SIPp's error, message and screen traces go to a temporary directory and are returned, so a
//! failing test shows what the PBX answered.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

use super::{free_port, DOMAIN, PBX_SIP};

/// SIPp's own global timeout for one run.
const SIPP_TIMEOUT: &str = "30s";
/// Hard limit for the whole `sipp` process (coreutils `timeout`), above [`SIPP_TIMEOUT`].
const KILL_AFTER_SECS: &str = "60";

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
    let scenario = scenario_path(scenario);
    assert!(
        scenario.exists(),
        "no SIPp scenario at {}",
        scenario.display()
    );
    let traces = tempfile::Builder::new()
        .prefix("sipp-")
        .tempdir()
        .unwrap_or_else(|e| panic!("cannot create a temporary dir for SIPp traces: {e}"));
    let errors = traces.path().join("errors.log");
    let messages = traces.path().join("messages.log");
    let screen = traces.path().join("screen.log");
    let local_port = free_port();
    let port = local_port.to_string();

    let mut sipp_args: Vec<String> = vec![PBX_SIP.into(), "-sf".into()];
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
        DOMAIN,
        "-trace_err",
        "-trace_msg",
        "-trace_screen",
    ] {
        sipp_args.push(a.into());
    }
    for (flag, file) in [
        ("-error_file", &errors),
        ("-message_file", &messages),
        ("-screen_file", &screen),
    ] {
        sipp_args.push(flag.into());
        sipp_args.push(file.display().to_string());
    }
    if !args.contains(&"-m") {
        sipp_args.push("-m".into());
        sipp_args.push("1".into());
    }
    sipp_args.extend(args.iter().map(|a| a.to_string()));
    let command = format!("sipp {}", sipp_args.join(" "));

    let output = match Command::new("timeout")
        .arg(KILL_AFTER_SECS)
        .arg(sipp_binary())
        .args(&sipp_args)
        .output()
    {
        Ok(output) => output,
        Err(e) => panic!("cannot run `timeout sipp`: {e}"),
    };
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    SippResult {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        errors: read(&errors),
        messages: read(&messages),
        command,
        local_port,
    }
}

/// The `sipp` executable on PATH; panics with the install command if there is none.
fn sipp_binary() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("sipp"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("sipp not found: apt-get install sip-tester"))
}
