//! `switchboard check` runs the dialplan parser: the shipped configurations report
//! "dialplan OK", a broken dialplan fails with `file:line:column: reason` for every problem.

use std::path::Path;
use std::process::{Command, Output};

fn check(dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["check", "--config"])
        .arg(dir)
        .output()
        .unwrap_or_else(|e| panic!("run switchboard: {e}"))
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn shipped_dialplans_pass() {
    for dir in [repo().to_path_buf(), repo().join("tests/sipp/pbx")] {
        let out = check(&dir);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("configuration OK"), "{stdout}");
        assert!(stdout.contains("dialplan OK ("), "{stdout}");
    }
}

#[test]
fn broken_dialplan_fails_with_every_position() {
    let copy = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let profiles = copy.path().join("sip-profiles");
    std::fs::create_dir_all(&profiles).unwrap_or_else(|e| panic!("{e}"));
    for entry in std::fs::read_dir(repo().join("sip-profiles")).unwrap_or_else(|e| panic!("{e}")) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        if let Some(name) = path.file_name() {
            std::fs::copy(&path, profiles.join(name)).unwrap_or_else(|e| panic!("{e}"));
        }
    }
    let dialplan = copy.path().join("dialplan");
    std::fs::create_dir_all(&dialplan).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dialplan.join("extensions.conf"),
        "[c]\nexten => _1[2,1,NoOp\ninclude => nowhere\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = check(copy.path());
    assert!(!out.status.success(), "a broken dialplan passed check");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("extensions.conf:2:12: bad pattern"), "{err}");
    assert!(
        err.contains("extensions.conf:3:12: include of unknown context"),
        "{err}"
    );
}
