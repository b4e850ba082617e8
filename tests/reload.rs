//! Hot reload of the dialplan (issue 5, item 4) against the real binary: `switchboard
//! reload` installs a new dialplan (exit 0, log line with the generation), rejects a broken
//! one with `file:line:col` (exit 1, the running one kept), SIGHUP reloads too, and with no
//! PBX it exits 2. A broken dialplan fails the start; a second PBX on the same data
//! directory is refused; the control socket is private and removed at stop.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{pbx_config_extra, reload_data_dir, Pbx};

/// Bound on waiting for a `switchboard run` that must fail at start, or for a log line.
const WAIT: Duration = Duration::from_secs(20);

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn describe(out: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    )
}

fn write(dir: &Path, name: &str, body: &str) {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap_or_else(|e| panic!("write {path:?}: {e}"));
}

/// Waits (bounded) until the PBX log contains `needle`. The log is another process's file,
/// so there is no event to await: it is re-read every 50 ms until [`WAIT`].
fn wait_for_log(pbx: &Pbx, needle: &str) {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if pbx.log().contains(needle) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "no {needle:?} in the PBX log within {WAIT:?}:\n{}",
        pbx.log()
    );
}

/// Runs `switchboard run` that is expected to fail before binding anything; kills it and
/// panics if it is still running after [`WAIT`].
fn run_expecting_failure(config: &Path, data: &Path) -> Output {
    let child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("run")
        .arg("--config")
        .arg(config)
        .arg("--data")
        .arg(data)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start switchboard: {e}"));
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(WAIT) {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => panic!("cannot wait for switchboard: {e}"),
        Err(_) => {
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(pid.to_string())
                .status();
            panic!("switchboard run did not fail within {WAIT:?}");
        }
    }
}

#[test]
fn reload_installs_a_new_dialplan_and_keeps_the_running_one_when_broken() {
    let config = pbx_config_extra("# reload test: no extra settings\n");
    let dialplan = config.path().join("dialplan");
    let mut pbx = Pbx::start_with(config);
    wait_for_log(&pbx, "dialplan loaded generation=1");
    let socket = pbx.data_dir().join("control.sock");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&socket)
            .unwrap_or_else(|e| panic!("{socket:?}: {e}"))
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "control socket mode {mode:o}");

    // A good new file: installed as generation 2.
    write(
        &dialplan,
        "zz-reload.conf",
        "[reload-test]\nexten => 4242,1,Hangup()\n",
    );
    let out = pbx.reload();
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(
        text(&out.stdout).contains("dialplan reloaded: generation 2 ("),
        "{}",
        describe(&out)
    );
    wait_for_log(&pbx, "dialplan reloaded generation=2");

    // A broken file: rejected with its position, generation 2 kept.
    write(
        &dialplan,
        "zz-broken.conf",
        "[broken]\nexten => _1[2,1,NoOp\n",
    );
    let out = pbx.reload();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("zz-broken.conf:2:12: bad pattern"),
        "{}",
        describe(&out)
    );
    assert!(stderr.contains("running dialplan is kept"), "{stderr}");
    wait_for_log(
        &pbx,
        "dialplan rejected, running dialplan kept generation=2",
    );

    // Fixed again, reloaded by SIGHUP: generation 3.
    std::fs::remove_file(dialplan.join("zz-broken.conf")).unwrap_or_else(|e| panic!("{e}"));
    let hup = Command::new("kill")
        .arg("-HUP")
        .arg(pbx.pid().to_string())
        .status()
        .unwrap_or_else(|e| panic!("cannot run kill: {e}"));
    assert!(hup.success());
    wait_for_log(&pbx, "dialplan reloaded generation=3");
    pbx.assert_running();

    // A second PBX on the same data directory is refused before it binds anything.
    let out = run_expecting_failure(pbx.config_dir(), pbx.data_dir());
    assert!(!out.status.success(), "{}", describe(&out));
    assert!(
        text(&out.stderr).contains("another switchboard is running"),
        "{}",
        describe(&out)
    );
    assert!(socket.exists(), "the refused PBX removed the live socket");
    let out = pbx.reload();
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));

    let status = pbx.terminate();
    assert!(status.success(), "exit on SIGTERM: {status}");
    assert!(!socket.exists(), "control socket left behind at stop");
    let out = pbx.reload();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
}

#[test]
fn reload_without_a_pbx_exits_2() {
    let data = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let out = reload_data_dir(data.path());
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        text(&out.stderr).contains("no switchboard is running with data directory"),
        "{}",
        describe(&out)
    );
    // A socket file left by a crash: nobody answers, still 2.
    let stale = data.path().join("control.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap_or_else(|e| panic!("bind: {e}")));
    let out = reload_data_dir(data.path());
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
}

#[test]
fn a_broken_dialplan_fails_the_start_with_its_position() {
    let config = pbx_config_extra("# broken dialplan test\n");
    write(
        &config.path().join("dialplan"),
        "zz-broken.conf",
        "[c]\nexten => 1,1,NoOp()\ninclude => nowhere\n",
    );
    let data = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let out = run_expecting_failure(config.path(), data.path());
    assert!(!out.status.success(), "{}", describe(&out));
    assert!(
        text(&out.stderr).contains("zz-broken.conf:3:12: include of unknown context"),
        "{}",
        describe(&out)
    );
    assert!(
        !data.path().join("control.sock").exists(),
        "socket left by a failed start"
    );
}
