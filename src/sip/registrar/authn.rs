//! Digest authentication of requests against the registrar's copy of the `users` table
//! (RFC 3261 §22): REGISTER is
//! challenged with 401/WWW-Authenticate; the call core uses
//! [`Registrar::authenticate_request`] with [`AuthHeader::ProxyAuthorization`] to challenge
//! INVITEs with 407/Proxy-Authenticate (RFC 3261 §22.3).
//!
//! Outcomes: missing credentials, stale nonce (with `stale=true`), replayed nonce count or an
//! unsupported algorithm/qop → a fresh challenge; wrong password or unknown user → 403 (a
//! phone repeating a wrong password would otherwise loop); a `loopback_only` user (well-known
//! password) from a non-loopback source → 403; malformed credentials or a digest-uri that is
//! not the Request-URI → 400 (RFC 2617 §3.2.2.5).

use std::time::SystemTime;

use crate::db::users::UserRecord;
use crate::sip::auth::{parse_authorization, Algorithm, AuthError, Credentials, DigestTarget};
use crate::sip::message::{new_tag, HeaderName, Request, Response};
use crate::sip::transport::Source;

use super::{is_loopback, Registrar};

/// Challenge order when SHA-256 is preferred (RFC 8760 §2.4: most preferred first).
const SHA256_FIRST: [Algorithm; 2] = [Algorithm::Sha256, Algorithm::Md5];
/// Challenge order for compatibility: many user agents answer only the first challenge.
const MD5_FIRST: [Algorithm; 2] = [Algorithm::Md5, Algorithm::Sha256];

/// Which credentials header to check, and so which challenge to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthHeader {
    /// `Authorization`, challenged with 401 + `WWW-Authenticate` (registrar, UAS).
    Authorization,
    /// `Proxy-Authorization`, challenged with 407 + `Proxy-Authenticate` (call core, proxy).
    ProxyAuthorization,
}

impl AuthHeader {
    fn credentials(self) -> HeaderName {
        match self {
            AuthHeader::Authorization => HeaderName::Authorization,
            AuthHeader::ProxyAuthorization => HeaderName::ProxyAuthorization,
        }
    }

    fn challenge(self) -> (u16, HeaderName) {
        match self {
            AuthHeader::Authorization => (401, HeaderName::WwwAuthenticate),
            AuthHeader::ProxyAuthorization => (407, HeaderName::ProxyAuthenticate),
        }
    }
}

impl Registrar {
    /// Authenticates `req` by digest against the users of our realm. `Ok(username)` when the
    /// credentials are valid; otherwise the response to send (401/407 challenge, 403, 400 or
    /// 500), with a To tag.
    pub async fn authenticate_request(
        &self,
        req: &Request,
        header: AuthHeader,
        source: &Source,
    ) -> Result<String, Response> {
        self.authenticate_at(req, header, source, SystemTime::now())
            .await
    }

    /// [`Registrar::authenticate_request`] at an explicit time.
    pub(crate) async fn authenticate_at(
        &self,
        req: &Request,
        header: AuthHeader,
        source: &Source,
        now: SystemTime,
    ) -> Result<String, Response> {
        let realm = self.settings.realm.as_str();
        let creds = match self.find_credentials(req, header) {
            Ok(Some(creds)) => creds,
            Ok(None) => return Err(self.challenge(req, header, false, now)),
            Err(error) => {
                tracing::info!(remote = %source.remote, %error, "malformed credentials");
                return Err(reject(req, 400, "Malformed Authorization"));
            }
        };
        // The in-memory directory (no SQL per request); `db::users` is the source of truth.
        let user = self.user(&creds.username);
        if user.as_ref().is_some_and(|u| u.loopback_only) && !is_loopback(source.remote.ip()) {
            tracing::warn!(user = %creds.username, remote = %source.remote,
                "user with a default password refused from a non-loopback address");
            return Err(reject(req, 403, "Forbidden (default password)"));
        }
        let uri = req.uri.to_string();
        let target = DigestTarget {
            realm,
            method: req.method.as_str(),
            uri: &uri,
        };
        let verdict = self.challenger.verify(
            &creds,
            &target,
            |_, alg| stored_ha1(user.as_deref(), alg),
            now,
        );
        match verdict {
            Ok(_) => Ok(creds.username),
            Err(error) => {
                tracing::info!(user = %creds.username, remote = %source.remote, %error, "authentication failed");
                Err(self.failure_response(req, header, error, now))
            }
        }
    }

    /// The credentials for our realm, if any; an error if a header for us is malformed.
    fn find_credentials(
        &self,
        req: &Request,
        header: AuthHeader,
    ) -> Result<Option<Credentials>, AuthError> {
        let name = header.credentials();
        let mut malformed = None;
        for value in req.headers.get_all(&name) {
            match parse_authorization(value) {
                Ok(creds) if creds.realm == self.settings.realm => return Ok(Some(creds)),
                // Credentials for other realms or schemes are for someone else (RFC 3261 §22.3).
                Ok(_) | Err(AuthError::NotDigest) => {}
                Err(error) => malformed = Some(error),
            }
        }
        malformed.map_or(Ok(None), Err)
    }

    /// Maps a verification failure to the response to send.
    fn failure_response(
        &self,
        req: &Request,
        header: AuthHeader,
        error: AuthError,
        now: SystemTime,
    ) -> Response {
        match error {
            // RFC 2617 §3.2.1: the password was right, only the nonce is old.
            AuthError::Stale => self.challenge(req, header, true, now),
            AuthError::Replay
            | AuthError::Missing
            | AuthError::NotDigest
            | AuthError::RealmMismatch
            | AuthError::UnsupportedAlgorithm
            | AuthError::UnsupportedQop
            | AuthError::QopRequired => self.challenge(req, header, false, now),
            AuthError::WrongPassword | AuthError::UnknownUser => reject(req, 403, "Forbidden"),
            AuthError::UriMismatch => reject(req, 400, "Digest URI Mismatch"),
            AuthError::Malformed(_) => reject(req, 400, "Malformed Authorization"),
            AuthError::Rng => reject(req, 500, "Server Internal Error"),
        }
    }

    /// A 401/407 with one challenge per offered algorithm.
    fn challenge(
        &self,
        req: &Request,
        header: AuthHeader,
        stale: bool,
        now: SystemTime,
    ) -> Response {
        let (status, name) = header.challenge();
        let mut resp = Response::for_request(req, status, None, Some(&new_tag()));
        for value in self
            .challenger
            .challenge(&self.settings.realm, stale, self.offered(), now)
        {
            resp.headers.push(name.clone(), value);
        }
        resp
    }
}

/// The stored HA1 of `user` for `alg`.
fn stored_ha1(user: Option<&UserRecord>, alg: Algorithm) -> Option<String> {
    let user = user?;
    Some(match alg {
        Algorithm::Md5 => user.ha1_md5.clone(),
        Algorithm::Sha256 => user.ha1_sha256.clone(),
    })
}

/// A final response with a To tag.
pub(super) fn reject(req: &Request, status: u16, reason: &str) -> Response {
    Response::for_request(req, status, Some(reason), Some(&new_tag()))
}

impl Registrar {
    /// The algorithms to challenge with, in the configured order of preference.
    fn offered(&self) -> &'static [Algorithm] {
        if self.settings.sha256_first {
            &SHA256_FIRST
        } else {
            &MD5_FIRST
        }
    }
}
