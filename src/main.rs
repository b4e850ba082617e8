//! The `switchboard` command line: `run` starts the PBX, `check` validates a configuration,
//! `reload` swaps the dialplan of a running PBX, `cdr export` writes call detail records as
//! CSV or JSON, `admin set-password` sets a web admin password.
//!
//! This is the binary's edge: it parses arguments, sets up logging, and hands over to
//! [`switchboard::server::run`]. `anyhow` is used here and nowhere in the library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use switchboard::config::Config;
use switchboard::runtime::{spawn_signal_watcher, Lifecycle};
use tokio_util::sync::CancellationToken;

/// How long a stop waits for calls to be hung up (BYE answered) before stopping the rest.
const CALL_DRAIN_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// switchboard: a SIP softswitch for small offices.
#[derive(Parser, Debug)]
#[command(name = "switchboard", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the PBX until SIGINT or SIGTERM.
    Run {
        /// Configuration directory (holds `sip-profiles/` and `dialplan/`).
        #[arg(long, default_value = ".")]
        config: PathBuf,
        /// Data directory (SQLite database, generated TLS certificate, control socket).
        #[arg(long, default_value = "data")]
        data: PathBuf,
        /// Sounds directory (prompts for Playback & co.); overrides `[media] sounds_dir`.
        #[arg(long)]
        sounds: Option<PathBuf>,
    },
    /// Reload the dialplan of a running PBX (through `<data>/control.sock`).
    ///
    /// Exit status 0: reloaded; 1: the new dialplan was rejected and the running one kept;
    /// 2: no PBX answers there.
    Reload {
        /// Data directory of the running PBX (holds `control.sock`).
        #[arg(long, default_value = "data")]
        data: PathBuf,
    },
    /// Validate a configuration directory and report every error with file, line and reason.
    Check {
        /// Configuration directory (holds `sip-profiles/` and `dialplan/`).
        #[arg(long, default_value = ".")]
        config: PathBuf,
    },
    /// Call detail records.
    Cdr {
        #[command(subcommand)]
        command: CdrCommand,
    },
    /// Web administration accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand, Debug)]
enum AdminCommand {
    /// Set the password of a web admin account (read from the first line of stdin),
    /// creating the account when it does not exist. Unlocks a locked account.
    SetPassword {
        /// Data directory (holds `switchboard.db`).
        #[arg(long, default_value = "data")]
        data: PathBuf,
        /// Role: of a new account (default admin), or the new role of an existing one.
        #[arg(long, value_parser = ["admin", "viewer"])]
        role: Option<String>,
        /// Account name.
        name: String,
    },
}

#[derive(Subcommand, Debug)]
enum CdrCommand {
    /// Show the CDR writer's condition (backlog, database errors, admission) from the
    /// status file the running PBX rewrites every second.
    Status {
        /// Data directory (holds `cdr-status.json`).
        #[arg(long, default_value = "data")]
        data: PathBuf,
    },
    /// Stream records to stdout (safe while the PBX runs): CSV with a header row, or JSON
    /// Lines (one object per line). Times are UTC ISO-8601 plus `<name>_local` columns.
    Export {
        /// Configuration directory; when given, it is validated first.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Data directory (holds `cdr.db`).
        #[arg(long, default_value = "data")]
        data: PathBuf,
        /// Records that started at or after this time (RFC 3339, `YYYY-MM-DD`,
        /// `YYYY-MM-DD HH:MM[:SS]` local time, or Unix milliseconds).
        #[arg(long)]
        from: Option<String>,
        /// Records that started before this time (same formats).
        #[arg(long)]
        to: Option<String>,
        /// `leg` (one record per channel) or `bridge` (Asterisk-style, per Party A/B path).
        #[arg(long, value_parser = ["leg", "bridge"])]
        mode: String,
        /// `csv` or `json`.
        #[arg(long, value_parser = ["csv", "json"], default_value = "csv")]
        format: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { config } => check(&config),
        Command::Reload { data } => reload(&data),
        Command::Cdr {
            command: CdrCommand::Status { data },
        } => match cdr_status(&data) {
            Ok(healthy) => {
                if healthy {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(2)
                }
            }
            Err(error) => {
                eprintln!("switchboard: {error:#}");
                ExitCode::FAILURE
            }
        },
        Command::Cdr {
            command:
                CdrCommand::Export {
                    config,
                    data,
                    from,
                    to,
                    mode,
                    format,
                },
        } => match cdr_export(config, data, from, to, &mode, &format) {
            Ok(rows) => {
                eprintln!("{rows} records exported");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("switchboard: {error:#}");
                ExitCode::FAILURE
            }
        },
        Command::Admin {
            command: AdminCommand::SetPassword { data, role, name },
        } => match admin_set_password(&data, &name, role.as_deref()) {
            Ok(message) => {
                println!("{message}");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("switchboard: {error:#}");
                ExitCode::FAILURE
            }
        },
        Command::Run {
            config,
            data,
            sounds,
        } => {
            init_tracing();
            match run(config, data, sounds) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    tracing::error!("{error:#}");
                    eprintln!("switchboard: {error:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// `switchboard check`: prints every diagnostic; exit status 1 when any is an error.
fn check(dir: &std::path::Path) -> ExitCode {
    match Config::load(dir) {
        Ok(config) => {
            for warning in &config.warnings {
                println!("warning: {warning}");
            }
            println!(
                "{}: configuration OK ({} extensions, {} gateways)",
                dir.display(),
                config.extensions.len(),
                config.gateways.len()
            );
            match switchboard::dialplan::Dialplan::load_dir(&config.dialplan_dir) {
                Ok(dialplan) => {
                    println!(
                        "dialplan OK ({} contexts, {} extensions)",
                        dialplan.contexts().len(),
                        dialplan.extension_count()
                    );
                    ExitCode::SUCCESS
                }
                Err(errors) => {
                    eprintln!("{errors}");
                    ExitCode::FAILURE
                }
            }
        }
        Err(errors) => {
            eprintln!("{errors}");
            ExitCode::FAILURE
        }
    }
}

/// `switchboard reload`: asks the running PBX to reload its dialplan and prints the outcome.
fn reload(data: &std::path::Path) -> ExitCode {
    use switchboard::server::control::{request_reload, ReloadReply};
    match request_reload(data) {
        Ok(ReloadReply::Reloaded(s)) => {
            println!(
                "dialplan reloaded: generation {} ({} contexts, {} extensions)",
                s.generation, s.contexts, s.extensions
            );
            ExitCode::SUCCESS
        }
        Ok(ReloadReply::Rejected(errors)) => {
            for error in &errors {
                eprintln!("{error}");
            }
            eprintln!("dialplan rejected: the running dialplan is kept");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("switchboard: {error}");
            ExitCode::from(2)
        }
    }
}

/// How old the status file may be before the writer counts as not running.
const STATUS_STALE_MS: i64 = 5_000;

/// `switchboard cdr status`: prints the status file; `Ok(false)` (exit status 2) when the
/// writer is degraded, refusing calls, or has not updated the file recently.
fn cdr_status(data: &std::path::Path) -> anyhow::Result<bool> {
    let path = data.join(switchboard::cdr::pipeline::STATUS_FILE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {} (has the PBX run here?)", path.display()))?;
    let status: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    print!("{text}");
    let now = switchboard::cdr::model::millis(std::time::SystemTime::now());
    let age = now - status["updated"].as_i64().unwrap_or(0);
    let mut healthy = true;
    if age > STATUS_STALE_MS {
        println!(
            "stale: not updated for {} s (PBX stopped, or its CDR writer is stuck)",
            age / 1000
        );
        healthy = false;
    }
    if !status["degraded"].is_null() {
        println!("DEGRADED: the CDR database cannot be written; records are queued");
        healthy = false;
    }
    if status["admission_open"] == serde_json::Value::Bool(false) {
        println!("REFUSING NEW CALLS: the CDR backlog is over max_backlog");
        healthy = false;
    }
    Ok(healthy)
}

/// `switchboard cdr export`: streams the records of `mode` to stdout.
fn cdr_export(
    config: Option<PathBuf>,
    data: PathBuf,
    from: Option<String>,
    to: Option<String>,
    mode: &str,
    format: &str,
) -> anyhow::Result<u64> {
    use switchboard::cdr::export::{export, ExportFormat, ExportMode};
    use switchboard::cdr::time::parse_time;
    if let Some(dir) = &config {
        Config::load(dir).map_err(|errors| anyhow::anyhow!("{errors}"))?;
    }
    let parse = |what: &str, t: Option<String>| -> anyhow::Result<Option<i64>> {
        t.map(|t| parse_time(&t).with_context(|| format!("--{what} {t:?}")))
            .transpose()
    };
    let (from, to) = (parse("from", from)?, parse("to", to)?);
    let mode = if mode == "leg" {
        ExportMode::Leg
    } else {
        ExportMode::Bridge
    };
    let format = if format == "json" {
        ExportFormat::Json
    } else {
        ExportFormat::Csv
    };
    let path = data.join(switchboard::cdr::pipeline::CDR_DATABASE_FILE);
    if !path.exists() {
        anyhow::bail!("no CDR database at {}", path.display());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    runtime.block_on(async move {
        let store = switchboard::cdr::store::CdrStore::open_read_only(&path)
            .await
            .with_context(|| format!("cannot open {}", path.display()))?;
        let rows = export(&store, mode, format, from, to, tokio::io::stdout()).await?;
        store.close().await;
        Ok(rows)
    })
}

/// `switchboard admin set-password`: reads the password from stdin (one line; a terminal
/// echoes it) and stores its argon2 hash in `<data>/switchboard.db`.
fn admin_set_password(
    data: &std::path::Path,
    name: &str,
    role: Option<&str>,
) -> anyhow::Result<String> {
    use switchboard::web::accounts::{set_password, SetPassword};
    use switchboard::web::{PasswordPolicy, Role, Store};
    let role = role.and_then(Role::parse);
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("cannot read the password from stdin")?;
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        anyhow::bail!("no password on stdin (pipe it in: `echo 'new password' | switchboard admin set-password NAME`)");
    }
    std::fs::create_dir_all(data)
        .with_context(|| format!("cannot create data directory {}", data.display()))?;
    let path = data.join(switchboard::server::DATABASE_FILE);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    runtime.block_on(async move {
        let db = switchboard::db::Db::open(&path)
            .await
            .with_context(|| format!("cannot open {}", path.display()))?;
        let store = Store::new(db.clone());
        let now = switchboard::db::unix_ms(std::time::SystemTime::now());
        let outcome = set_password(
            &store,
            &PasswordPolicy::default(),
            name,
            password,
            role,
            now,
        )
        .await;
        db.close().await;
        Ok(match outcome? {
            SetPassword::Created(role) => {
                format!("account {name} created with role {}", role.as_str())
            }
            SetPassword::Updated => format!("password of {name} changed"),
        })
    })
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    // Colours only on a terminal: a log file or journal gets plain, greppable text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_target(false)
        .init();
}

fn run(config_dir: PathBuf, data_dir: PathBuf, sounds: Option<PathBuf>) -> anyhow::Result<()> {
    let mut config = Config::load(&config_dir).map_err(|errors| anyhow::anyhow!("{errors}"))?;
    if let Some(sounds) = sounds {
        config.media.sounds_dir = sounds;
    }
    for warning in &config.warnings {
        tracing::warn!(%warning, "configuration");
    }
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    runtime.block_on(async move {
        let lifecycle = Lifecycle::new();
        // Before anything starts: SIGTERM during start-up (argon2, the databases) still ends
        // in an orderly stop. Not the lifecycle's token: the endpoint must outlive the drain.
        let stop = CancellationToken::new();
        let signals = spawn_signal_watcher(stop.clone());
        let server = match switchboard::server::start(config, &data_dir, &lifecycle).await {
            Ok(server) => server,
            Err(error) => {
                // Stop what did start (the control socket removes its file).
                lifecycle.stop_and_wait().await;
                return Err(error.into());
            }
        };
        tokio::select! {
            _ = stop.cancelled() => {}
            _ = lifecycle.shutdown.cancelled() => {}
        }
        signals.abort();
        tracing::info!("stopping");
        // Calls first, while the SIP endpoint still runs, so every party gets its BYE.
        server.drain_calls(CALL_DRAIN_GRACE).await;
        lifecycle.stop_and_wait().await;
        server.close().await;
        tracing::info!("stopped");
        Ok(())
    })
}

/// mimalloc instead of glibc malloc: the call core and the CDR engines allocate many small
/// short-lived objects from several threads, where glibc's arenas contend (measured in
/// docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
