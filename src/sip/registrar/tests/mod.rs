//! Registrar tests on a temporary SQLite file, with explicit `now` (no sleeping): shared
//! fixture and a small digest client here, the cases in [`register`], [`auth`] and
//! [`concurrent`].

mod auth;
mod concurrent;
mod register;

use std::net::SocketAddr;
use std::time::SystemTime;

use anyhow::{bail, Context};

use super::{seed_users, ConfiguredUser, Registrar, RegistrarSettings};
use crate::db::users::{self, UserRecord, ORIGIN_CONFIG};
use crate::db::Db;
use crate::runtime::Lifecycle;
use crate::sip::auth::{digest_response, ha1, Algorithm};
use crate::sip::message::{HeaderName, Message, Request, Response, Transport};
use crate::sip::transport::{FlowId, Source};

pub(super) const DOMAIN: &str = "switchboard.test";
pub(super) const AOR: &str = "sip:1001@switchboard.test";

pub(super) struct Fixture {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    registrar: Registrar,
}

pub(super) fn user(name: &str, loopback_only: bool) -> UserRecord {
    let password = format!("pw{name}");
    UserRecord {
        realm: DOMAIN.into(),
        username: name.into(),
        display_name: None,
        ha1_md5: ha1(Algorithm::Md5, name, DOMAIN, &password),
        ha1_sha256: ha1(Algorithm::Sha256, name, DOMAIN, &password),
        loopback_only,
        origin: ORIGIN_CONFIG.into(),
    }
}

pub(super) async fn fixture() -> anyhow::Result<Fixture> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("registrar.sqlite");
    let db = Db::open(&path).await?;
    let configured = [
        ConfiguredUser {
            username: "1001",
            password: "pw1001",
            display_name: None,
            loopback_only: false,
        },
        ConfiguredUser {
            username: "1002",
            password: "pw1002",
            display_name: None,
            loopback_only: true,
        },
    ];
    seed_users(&db, DOMAIN, &configured).await?;
    let stored = users::get(&db, DOMAIN, "1002")
        .await?
        .context("seeded user")?;
    assert_eq!(stored, user("1002", true));
    // SHA-256 first, so the tests exercise the stronger algorithm through `Client`.
    let settings = RegistrarSettings {
        sha256_first: true,
        ..RegistrarSettings::new(DOMAIN)
    };
    let registrar = Registrar::new(db, settings, &Lifecycle::new()).await?;
    Ok(Fixture {
        _dir: dir,
        path,
        registrar,
    })
}

pub(super) fn source(remote: &str) -> Source {
    Source {
        transport: Transport::Udp,
        remote: remote
            .parse()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 5070))),
        local: SocketAddr::from(([127, 0, 0, 1], 15060)),
        flow: Some(FlowId(1)),
    }
}

pub(super) fn local() -> Source {
    source("127.0.0.1:5070")
}

/// A REGISTER for `user` with the given extra header lines (each ending in CRLF).
pub(super) fn register(
    user: &str,
    call_id: &str,
    cseq: u32,
    extra: &str,
) -> anyhow::Result<Request> {
    let text = format!(
        "REGISTER sip:{DOMAIN} SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-{call_id}-{cseq}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:{user}@{DOMAIN}>;tag=from{cseq}\r\n\
         To: <sip:{user}@{DOMAIN}>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: {cseq} REGISTER\r\n\
         User-Agent: test-phone\r\n\
         {extra}\
         Content-Length: 0\r\n\r\n"
    );
    match Message::parse(text.as_bytes()) {
        Ok(Message::Request(req)) => Ok(req),
        other => bail!("test request did not parse: {other:?}"),
    }
}

/// A digest client holding the nonce of the last challenge.
pub(super) struct Client {
    user: String,
    password: String,
    nonce: String,
    nc: u32,
}

impl Client {
    /// Takes the SHA-256 challenge (the first) of a 401/407.
    pub(super) fn from_challenge(
        resp: &Response,
        user: &str,
        password: &str,
    ) -> anyhow::Result<Client> {
        let name = if resp.status == 407 {
            HeaderName::ProxyAuthenticate
        } else {
            HeaderName::WwwAuthenticate
        };
        let challenge = resp.headers.get(&name).context("no challenge")?;
        let nonce = challenge
            .split("nonce=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .context("no nonce")?;
        Ok(Client {
            user: user.into(),
            password: password.into(),
            nonce: nonce.into(),
            nc: 0,
        })
    }

    /// The next Authorization value (nc incremented).
    pub(super) fn header(&mut self, method: &str, uri: &str) -> String {
        self.nc += 1;
        self.header_with_nc(method, uri, self.nc)
    }

    fn header_with_nc(&self, method: &str, uri: &str, nc: u32) -> String {
        let nc = format!("{nc:08x}");
        let ha1 = ha1(Algorithm::Sha256, &self.user, DOMAIN, &self.password);
        let response = digest_response(
            Algorithm::Sha256,
            &ha1,
            &self.nonce,
            &nc,
            "abcdef",
            method,
            uri,
        );
        format!(
            "Digest username=\"{}\", realm=\"{DOMAIN}\", nonce=\"{}\", uri=\"{uri}\", \
             response=\"{response}\", algorithm=SHA-256, qop=auth, nc={nc}, cnonce=\"abcdef\"",
            self.user, self.nonce
        )
    }
}

/// Sends an unauthenticated REGISTER and returns a client for the challenge.
pub(super) async fn challenged(
    f: &Fixture,
    user: &str,
    password: &str,
    now: SystemTime,
) -> anyhow::Result<Client> {
    let req = register(user, "challenge", 1, "Contact: <sip:x@127.0.0.1:5070>\r\n")?;
    let resp = f.registrar.handle(&req, &local(), now).await;
    assert_eq!(resp.status, 401);
    Client::from_challenge(&resp, user, password)
}

/// REGISTER with credentials from `client`.
pub(super) async fn send(
    f: &Fixture,
    client: &mut Client,
    call_id: &str,
    cseq: u32,
    extra: &str,
    from: &Source,
    now: SystemTime,
) -> anyhow::Result<Response> {
    let auth = format!(
        "Authorization: {}\r\n",
        client.header("REGISTER", &format!("sip:{DOMAIN}"))
    );
    let req = register(&client.user, call_id, cseq, &format!("{extra}{auth}"))?;
    Ok(f.registrar.handle(&req, from, now).await)
}

pub(super) fn contacts(resp: &Response) -> Vec<String> {
    resp.headers
        .get_all(&HeaderName::Contact)
        .map(str::to_owned)
        .collect()
}

impl Fixture {
    pub(super) fn registrar_db(&self) -> &Db {
        self.registrar.registrar_db()
    }
}

impl Registrar {
    pub(super) fn registrar_db(&self) -> &Db {
        &self.db
    }
}
