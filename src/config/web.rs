//! `[web]` table: the administration web server (HTTP API, later the pages): its on-disk
//! shape, defaults, validation and the settings `server` and `web` read.
//!
//! Depends on: `super::validate` (the diagnostic context), serde, toml.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::error::ConfigError;
use super::validate::Ctx;

/// `[web]` as written; every key optional.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WebTable {
    #[serde(default = "yes")]
    enabled: bool,
    listen: Option<Spanned<String>>,
    #[serde(default)]
    metrics_public: bool,
    #[serde(default = "default_session_hours")]
    session_hours: Spanned<u64>,
    #[serde(default)]
    tls: bool,
    tls_cert: Option<Spanned<String>>,
    tls_key: Option<Spanned<String>>,
}

fn yes() -> bool {
    true
}
fn default_session_hours() -> Spanned<u64> {
    Spanned::new(0..0, DEFAULT_SESSION_HOURS)
}

/// `[web] listen` when not set: loopback only (nothing is exposed until the operator says so).
pub const DEFAULT_WEB_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 8080);

/// `[web] session_hours` when not set.
const DEFAULT_SESSION_HOURS: u64 = 12;

/// Longest allowed session lifetime (one month).
const MAX_SESSION_HOURS: u64 = 24 * 31;

/// `[web]`: the administration web server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSettings {
    /// Serve the web UI and API at all.
    pub enabled: bool,
    /// Address the HTTP server binds (port 0: ephemeral, for tests).
    pub listen: SocketAddr,
    /// Serve `/metrics` without login (for a Prometheus scraper on a trusted network).
    pub metrics_public: bool,
    /// How long a login session lasts.
    pub session_lifetime: Duration,
    /// Serve HTTPS (rustls) instead of HTTP; the session cookie is then `Secure`.
    pub tls: bool,
    /// `[web] tls_cert`: PEM certificate chain (relative: to the configuration directory),
    /// given with `tls_key`. Neither: the self-signed certificate in `<data>/tls/` (the one
    /// SIP TLS uses; generated on first start).
    pub tls_cert: Option<PathBuf>,
    /// `[web] tls_key`: PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub tls_key: Option<PathBuf>,
}

impl Default for WebSettings {
    /// Same as an empty `[web]` table: enabled on 127.0.0.1:8080, metrics behind login,
    /// 12-hour sessions.
    fn default() -> WebSettings {
        WebSettings {
            enabled: true,
            listen: DEFAULT_WEB_LISTEN,
            metrics_public: false,
            session_lifetime: Duration::from_secs(DEFAULT_SESSION_HOURS * 3600),
            tls: false,
            tls_cert: None,
            tls_key: None,
        }
    }
}

/// Validates `[web]`; defaults on error (the error is recorded).
pub(crate) fn web_settings(
    ctx: &mut Ctx,
    dir: &Path,
    i: usize,
    t: Spanned<WebTable>,
) -> WebSettings {
    let t = t.into_inner();
    let mut ok = ctx.range(
        i,
        &t.session_hours,
        "web.session_hours",
        1,
        MAX_SESSION_HOURS,
    );
    let listen = match &t.listen {
        Some(a) => match a.get_ref().trim().parse::<SocketAddr>() {
            Ok(addr) => addr,
            Err(_) => {
                let at = ctx.loc(i, &a.span());
                ctx.err(ConfigError::BadAddress {
                    at,
                    key: "web.listen",
                    value: a.get_ref().clone(),
                    expected: "ip:port (IPv6 in brackets)",
                });
                ok = false;
                DEFAULT_WEB_LISTEN
            }
        },
        None => DEFAULT_WEB_LISTEN,
    };
    let mut file = |v: &Option<Spanned<String>>, key: &'static str| -> Option<PathBuf> {
        let v = v.as_ref()?;
        if !ctx.non_empty(i, v, key) {
            ok = false;
            return None;
        }
        let path = dir.join(v.get_ref().trim());
        if !path.is_file() {
            let at = ctx.loc(i, &v.span());
            ctx.err(ConfigError::MissingFile {
                at,
                key,
                path: path.clone(),
            });
            ok = false;
        }
        Some(path)
    };
    let tls_cert = file(&t.tls_cert, "web.tls_cert");
    let tls_key = file(&t.tls_key, "web.tls_key");
    for (given, missing, key) in [
        (&t.tls_cert, &t.tls_key, "web.tls_key"),
        (&t.tls_key, &t.tls_cert, "web.tls_cert"),
    ] {
        if let (Some(v), None) = (given, missing) {
            let at = ctx.loc(i, &v.span());
            ctx.err(ConfigError::WebTls {
                at,
                key,
                message: "tls_cert and tls_key must be given together",
            });
            ok = false;
        }
    }
    if !t.tls {
        if let Some(v) = t.tls_cert.as_ref().or(t.tls_key.as_ref()) {
            let at = ctx.loc(i, &v.span());
            ctx.err(ConfigError::WebTls {
                at,
                key: "web.tls",
                message: "a certificate is configured but tls = false; set tls = true or remove it",
            });
            ok = false;
        }
    }
    if !ok {
        return WebSettings::default();
    }
    WebSettings {
        enabled: t.enabled,
        listen,
        metrics_public: t.metrics_public,
        session_lifetime: Duration::from_secs(*t.session_hours.get_ref() * 3600),
        tls: t.tls,
        tls_cert,
        tls_key,
    }
}

#[cfg(test)]
#[path = "web_tests.rs"]
mod tests;
