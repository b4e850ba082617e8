//! The command line and the process lifecycle: `--version`, `check` (good and broken
//! configurations, with file:line:column), graceful shutdown on SIGTERM, and registrations
//! surviving a restart (they live in SQLite).

mod common;

use std::process::Command;

use common::db::registrations_blocking;
use common::sipp::run_sipp;
use common::{aor, password, pbx_config_dir, Pbx};

fn switchboard(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run switchboard: {e}"))
}

#[test]
fn version_is_printed() {
    let out = switchboard(&["--version"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(env!("CARGO_PKG_VERSION")),
        "--version printed {text:?}"
    );
}

#[test]
fn check_accepts_the_shipped_and_test_configurations() {
    let repo = env!("CARGO_MANIFEST_DIR");
    for dir in [repo.to_owned(), pbx_config_dir().display().to_string()] {
        let out = switchboard(&["check", "--config", &dir]);
        assert!(
            out.status.success(),
            "check {dir} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("configuration OK"));
    }
}

#[test]
fn check_reports_file_line_and_reason() {
    let copy = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    std::fs::create_dir_all(copy.path().join("sip-profiles")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(copy.path().join("dialplan")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        copy.path().join("sip-profiles/broken.toml"),
        "[sip]\ndomain = \"example.test\"\nlisten = [{ transport = \"udp\", address = \"127.0.0.1:5060\" }]\n\n[acl]\nallow = [\"10.0.0.0/33\"]\n",
    )
    .unwrap_or_else(|e| panic!("write: {e}"));
    let out = switchboard(&["check", "--config", &copy.path().display().to_string()]);
    assert!(!out.status.success(), "a broken configuration passed check");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("broken.toml:6:"),
        "no file:line in the diagnostic: {err}"
    );
    assert!(err.contains("10.0.0.0/33"), "no reason in: {err}");
}

#[test]
fn sigterm_stops_the_pbx_gracefully() {
    let mut pbx = Pbx::start_default();
    let status = pbx.terminate();
    assert!(status.success(), "exit status {status} on SIGTERM");
    assert!(pbx.log().contains("stopped"), "no orderly stop in the log");
}

#[test]
fn registrations_survive_a_restart() {
    let mut pbx = Pbx::start_default();
    let pw = password(1007);
    run_sipp(
        "register_auth.xml",
        &["-s", "1007", "-au", "1007", "-ap", &pw],
    )
    .assert_success();
    let before = registrations_blocking(&pbx.db_path(), &aor(1007));
    assert_eq!(before.len(), 1, "binding not stored: {before:?}");
    pbx.restart();
    let after = registrations_blocking(&pbx.db_path(), &aor(1007));
    assert_eq!(after.len(), 1, "binding lost across restart: {after:?}");
    assert_eq!(after[0].contact, before[0].contact);
    assert!(
        pbx.log().contains("loaded=1"),
        "the restarted registrar did not load the binding:\n{}",
        pbx.log()
    );
}
