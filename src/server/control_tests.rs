//! The control socket against a real Unix socket in a temporary data directory: reload
//! accepted and rejected, unknown commands, permissions, stale and live sockets, removal at
//! stop, no PBX; the JSON answer format; SIGHUP.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::{
    parse_reply, reply_json, request_reload, spawn_sighup, spawn_socket, ClientError, ControlError,
    ReloadReply, Reloader, CONTROL_SOCKET,
};
use crate::dialplan::{Dialplan, LiveDialplan, ReloadSummary};
use crate::runtime::Lifecycle;

/// Bound on every wait of these tests.
const WAIT: Duration = Duration::from_secs(10);

struct Fixture {
    data: tempfile::TempDir,
    dialplan: tempfile::TempDir,
    live: LiveDialplan,
    lifecycle: Lifecycle,
}

fn fixture() -> Fixture {
    let tmp = || tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let (data, dialplan) = (tmp(), tmp());
    write(dialplan.path(), "a.conf", "[a]\nexten => 1,1,NoOp()\n");
    let first = Dialplan::load_dir(dialplan.path()).unwrap_or_else(|e| panic!("{e}"));
    Fixture {
        data,
        dialplan,
        live: LiveDialplan::new(Arc::new(first)),
        lifecycle: Lifecycle::new(),
    }
}

impl Fixture {
    fn reloader(&self) -> Reloader {
        Reloader::new(self.live.clone(), self.dialplan.path().to_path_buf())
    }

    fn socket(&self) -> std::path::PathBuf {
        spawn_socket(self.data.path(), self.reloader(), &self.lifecycle)
            .unwrap_or_else(|e| panic!("spawn_socket: {e}"))
    }
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap_or_else(|e| panic!("write {name}: {e}"));
}

/// `switchboard reload`'s request, off the async threads (it blocks).
async fn reload(data: &Path) -> Result<ReloadReply, ClientError> {
    let data = data.to_path_buf();
    let asked = tokio::task::spawn_blocking(move || request_reload(&data));
    match tokio::time::timeout(WAIT, asked).await {
        Ok(Ok(reply)) => reply,
        Ok(Err(e)) => panic!("client task: {e}"),
        Err(_) => panic!("no answer within {WAIT:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_installs_a_good_dialplan_and_rejects_a_broken_one() {
    let f = fixture();
    let path = f.socket();
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{e}"))
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "socket mode {mode:o}");

    write(f.dialplan.path(), "b.conf", "[b]\nexten => 2,1,NoOp()\n");
    let reply = reload(f.data.path()).await;
    let installed = ReloadSummary {
        generation: 2,
        contexts: 2,
        extensions: 2,
    };
    assert_eq!(reply.ok(), Some(ReloadReply::Reloaded(installed)));
    assert!(f.live.current().context("b").is_some());

    write(f.dialplan.path(), "c.conf", "[c]\nexten => _1[2,1,NoOp\n");
    let errors = match reload(f.data.path()).await {
        Ok(ReloadReply::Rejected(errors)) => errors,
        other => panic!("broken dialplan not rejected: {other:?}"),
    };
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("c.conf:2:12: bad pattern"), "{errors:?}");
    assert_eq!(f.live.summary(), installed, "the running dialplan is kept");

    f.lifecycle.stop_and_wait().await;
    assert!(!path.exists(), "socket left behind at stop");
    assert!(matches!(
        reload(f.data.path()).await,
        Err(ClientError::NotRunning { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_commands_get_an_error_and_the_socket_keeps_serving() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let f = fixture();
    let path = f.socket();
    let mut stream = tokio::net::UnixStream::connect(&path)
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    stream
        .write_all(b"status\n")
        .await
        .unwrap_or_else(|e| panic!("write: {e}"));
    let mut answer = String::new();
    tokio::time::timeout(WAIT, stream.read_to_string(&mut answer))
        .await
        .unwrap_or_else(|_| panic!("no answer"))
        .unwrap_or_else(|e| panic!("read: {e}"));
    assert_eq!(
        answer,
        "{\"errors\":[\"unknown command \\\"status\\\" (known: reload)\"],\"ok\":false}\n"
    );
    assert!(matches!(
        reload(f.data.path()).await,
        Ok(ReloadReply::Reloaded(_))
    ));
    f.lifecycle.stop_and_wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_socket_is_replaced_and_a_live_one_refused() {
    let f = fixture();
    let stale = f.data.path().join(CONTROL_SOCKET);
    drop(
        std::os::unix::net::UnixListener::bind(&stale)
            .unwrap_or_else(|e| panic!("bind stale socket: {e}")),
    );
    assert!(stale.exists(), "the file of a closed listener stays");
    assert!(matches!(
        reload(f.data.path()).await,
        Err(ClientError::NotRunning { .. })
    ));
    let path = f.socket();
    assert_eq!(path, stale);
    match spawn_socket(f.data.path(), f.reloader(), &f.lifecycle) {
        Err(ControlError::AlreadyRunning { path: p }) => assert_eq!(p, path),
        other => panic!("a second server on a live socket: {other:?}"),
    }
    assert!(matches!(
        reload(f.data.path()).await,
        Ok(ReloadReply::Reloaded(_))
    ));
    f.lifecycle.stop_and_wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads() {
    let f = fixture();
    let mut changes = f.live.subscribe();
    spawn_sighup(f.reloader(), &f.lifecycle);
    write(f.dialplan.path(), "b.conf", "[b]\nexten => 2,1,NoOp()\n");
    let status = std::process::Command::new("kill")
        .arg("-HUP")
        .arg(std::process::id().to_string())
        .status()
        .unwrap_or_else(|e| panic!("kill: {e}"));
    assert!(status.success());
    tokio::time::timeout(WAIT, changes.changed())
        .await
        .unwrap_or_else(|_| panic!("no reload within {WAIT:?} of SIGHUP"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(f.live.generation(), 2);
    assert!(f.live.current().context("b").is_some());
    f.lifecycle.stop_and_wait().await;
}

#[test]
fn replies_round_trip_and_junk_is_refused() {
    let ok = ReloadReply::Reloaded(ReloadSummary {
        generation: 7,
        contexts: 3,
        extensions: 42,
    });
    let json = reply_json(&ok);
    assert_eq!(
        json,
        "{\"contexts\":3,\"extensions\":42,\"generation\":7,\"ok\":true}"
    );
    assert_eq!(parse_reply(&format!("{json}\n")).ok(), Some(ok));
    let rejected = ReloadReply::Rejected(vec!["a.conf:1:2: bad".into(), "b".into()]);
    assert_eq!(parse_reply(&reply_json(&rejected)).ok(), Some(rejected));
    for junk in [
        "",
        "ok",
        "{}",
        "{\"ok\":true}",
        "{\"ok\":false}",
        "{\"ok\":false,\"errors\":[1]}",
        "{\"ok\":true,\"generation\":-1,\"contexts\":1,\"extensions\":1}",
    ] {
        assert!(
            matches!(parse_reply(junk), Err(ClientError::BadReply(_))),
            "{junk:?} accepted"
        );
    }
}
