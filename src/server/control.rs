//! Run-time control of a running PBX: the Unix socket `<data>/control.sock` and SIGHUP, both
//! reloading the dialplan, plus the client side used by `switchboard reload`.
//!
//! Protocol (one request per connection, one line each way):
//!
//! ```text
//!   client ── "reload\n" ──────────────────────────────────────────────► server
//!   client ◄─ {"ok":true,"generation":2,"contexts":3,"extensions":42}\n ─ (installed)
//!   client ◄─ {"ok":false,"errors":["file:line:col: reason", ...]}\n ──── (rejected, kept)
//! ```
//!
//! The socket is created mode 0600 (only the PBX's user may reload), a stale one left by a
//! crash is removed at start (a live one means another PBX uses the data directory: start
//! fails), and it is removed at stop. Every reload, whatever triggered it, logs
//! `dialplan reloaded generation=N contexts=.. extensions=..` or each error and
//! `dialplan rejected, running dialplan kept`.
//!
//! Depends on: `crate::dialplan::LiveDialplan` (the reload itself), `crate::runtime`
//! (shutdown and task tracking), tokio (`net`, `signal`), serde_json.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio_util::sync::CancellationToken;

pub use crate::dialplan::reload::{ReloadReply, Reloader};
use crate::dialplan::ReloadSummary;
use crate::runtime::Lifecycle;

/// File name of the control socket inside the data directory.
pub const CONTROL_SOCKET: &str = "control.sock";
/// Longest request line accepted (the only command is `reload`).
const REQUEST_MAX: u64 = 256;
/// How long one client may take to send its request and read the answer: the accept loop
/// serves one client at a time, so a silent client must not hold it for long.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long `switchboard reload` waits for the answer (a reload parses the whole dialplan).
const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause after a failed `accept` (e.g. out of file descriptors) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Why the control socket could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// Something answers on the socket already: another PBX runs with this data directory.
    #[error("{}: another switchboard is running with this data directory", path.display())]
    AlreadyRunning {
        /// The socket path.
        path: PathBuf,
    },
    /// The socket could not be removed, bound or given its permissions.
    #[error("{}: {source}", path.display())]
    Io {
        /// The socket path.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// Why `switchboard reload` got no answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No PBX listens on the socket (missing, stale, or refused).
    #[error("no switchboard is running with data directory {} ({}: {source})", data.display(), path.display())]
    NotRunning {
        /// The data directory asked.
        data: PathBuf,
        /// The socket path tried.
        path: PathBuf,
        /// Why the connection failed.
        source: std::io::Error,
    },
    /// The connection broke or timed out before a whole answer arrived.
    #[error("{}: {source}", path.display())]
    Io {
        /// The socket path.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The answer is not the JSON this module writes.
    #[error("unexpected answer from the PBX: {0:?}")]
    BadReply(String),
}

/// Binds `<data_dir>/control.sock` (removing a stale one) and serves it on `lifecycle`
/// until shutdown, then removes it. Returns the socket path.
pub fn spawn_socket(
    data_dir: &Path,
    reloader: Reloader,
    lifecycle: &Lifecycle,
) -> Result<PathBuf, ControlError> {
    let path = data_dir.join(CONTROL_SOCKET);
    remove_stale(&path)?;
    let io = |source| ControlError::Io {
        path: path.clone(),
        source,
    };
    let listener = UnixListener::bind(&path).map_err(io)?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    }
    tracing::info!(path = %path.display(), "control socket");
    let shutdown = lifecycle.shutdown.clone();
    let socket = path.clone();
    lifecycle.tracker.spawn(async move {
        accept_loop(&listener, &reloader, &shutdown).await;
        drop(listener);
        if let Err(error) = std::fs::remove_file(&socket) {
            tracing::warn!(path = %socket.display(), %error, "cannot remove the control socket");
        }
    });
    Ok(path)
}

/// Removes a socket file nobody answers on; fails when a PBX still answers on it.
fn remove_stale(path: &Path) -> Result<(), ControlError> {
    if std::fs::symlink_metadata(path).is_err() {
        return Ok(());
    }
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(ControlError::AlreadyRunning {
            path: path.to_path_buf(),
        });
    }
    tracing::info!(path = %path.display(), "removing a stale control socket");
    std::fs::remove_file(path).map_err(|source| ControlError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Serves clients one at a time until `shutdown`.
async fn accept_loop(listener: &UnixListener, reloader: &Reloader, shutdown: &CancellationToken) {
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _)) => {
                let served = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    served = tokio::time::timeout(EXCHANGE_TIMEOUT, serve(stream, reloader)) => served,
                };
                match served {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => tracing::debug!(%error, "control client"),
                    Err(_) => tracing::debug!("control client timed out"),
                }
            }
            Err(error) => {
                tracing::warn!(%error, "control socket accept failed");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(ACCEPT_BACKOFF) => {}
                }
            }
        }
    }
}

/// Reads one request line and writes the one-line JSON answer.
async fn serve(stream: UnixStream, reloader: &Reloader) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    BufReader::new(read.take(REQUEST_MAX))
        .read_line(&mut line)
        .await?;
    let answer = match line.trim() {
        "reload" => reply_json(&reloader.reload("control socket").await),
        other => reply_json(&ReloadReply::Rejected(vec![format!(
            "unknown command {other:?} (known: reload)"
        )])),
    };
    write.write_all(answer.as_bytes()).await?;
    write.write_all(b"\n").await?;
    write.shutdown().await
}

/// The one-line JSON form of `reply` (see the module docs).
pub fn reply_json(reply: &ReloadReply) -> String {
    let value = match reply {
        ReloadReply::Reloaded(s) => serde_json::json!({
            "ok": true,
            "generation": s.generation,
            "contexts": s.contexts,
            "extensions": s.extensions,
        }),
        ReloadReply::Rejected(errors) => serde_json::json!({ "ok": false, "errors": errors }),
    };
    value.to_string()
}

/// Parses an answer written by [`reply_json`].
pub fn parse_reply(line: &str) -> Result<ReloadReply, ClientError> {
    let bad = || ClientError::BadReply(line.to_string());
    let value: serde_json::Value = serde_json::from_str(line.trim()).map_err(|_| bad())?;
    match value["ok"].as_bool() {
        Some(true) => {
            let field = |name: &str| value[name].as_u64().ok_or_else(bad);
            let count =
                |name: &str| field(name).and_then(|n| usize::try_from(n).map_err(|_| bad()));
            Ok(ReloadReply::Reloaded(ReloadSummary {
                generation: field("generation")?,
                contexts: count("contexts")?,
                extensions: count("extensions")?,
            }))
        }
        Some(false) => {
            let errors = value["errors"].as_array().ok_or_else(bad)?;
            let errors = errors
                .iter()
                .map(|e| e.as_str().map(str::to_string).ok_or_else(bad))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(ReloadReply::Rejected(errors))
        }
        None => Err(bad()),
    }
}

/// Asks the PBX running with `data_dir` to reload its dialplan (blocking; for the CLI).
pub fn request_reload(data_dir: &Path) -> Result<ReloadReply, ClientError> {
    let path = data_dir.join(CONTROL_SOCKET);
    let mut stream = std::os::unix::net::UnixStream::connect(&path).map_err(|source| {
        ClientError::NotRunning {
            data: data_dir.to_path_buf(),
            path: path.clone(),
            source,
        }
    })?;
    let io = |source| ClientError::Io {
        path: path.clone(),
        source,
    };
    stream.set_read_timeout(Some(CLIENT_TIMEOUT)).map_err(io)?;
    stream.set_write_timeout(Some(CLIENT_TIMEOUT)).map_err(io)?;
    stream.write_all(b"reload\n").map_err(io)?;
    let mut line = String::new();
    std::io::BufReader::new(stream)
        .read_line(&mut line)
        .map_err(io)?;
    parse_reply(&line)
}

/// Reloads on every SIGHUP until shutdown (the outcome is logged by [`Reloader::reload`]).
pub fn spawn_sighup(reloader: Reloader, lifecycle: &Lifecycle) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hangup = match signal(SignalKind::hangup()) {
        Ok(hangup) => hangup,
        Err(error) => {
            tracing::warn!(%error, "cannot install the SIGHUP handler; reload with `switchboard reload`");
            return;
        }
    };
    let shutdown = lifecycle.shutdown.clone();
    lifecycle.tracker.spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                received = hangup.recv() => {
                    if received.is_none() {
                        return;
                    }
                    reloader.reload("SIGHUP").await;
                }
            }
        }
    });
}

#[cfg(test)]
#[path = "control_tests.rs"]
mod tests;
