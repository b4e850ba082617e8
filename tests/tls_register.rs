//! REGISTER over TLS (RFC 3261 §26.2, port 15061 of the test PBX) with a small tokio-rustls
//! client, because Debian's SIPp has no TLS. The test computes the digest itself (RFC 7616
//! §3.4.1, MD5 and SHA-256 with qop=auth), checks the 200 and the `registrations` row, and
//! checks the CRLF keep-alive (RFC 5626 §4.4.1).
//!
//! The PBX's certificate is self-signed (generated on first start), so this client accepts any
//! certificate; it still checks the handshake signatures.
//!
//! Run: `cargo test --test tls_register`.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use common::db::{now_ms, registrations};
use common::wire::{token, Response};
use common::{aor, password, Pbx, DOMAIN, PBX_TLS};

/// How long any single read may take.
const READ_WAIT: Duration = Duration::from_secs(5);

/// Accepts any server certificate (the PBX's is self-signed) but verifies handshake signatures
/// with the ring provider's algorithms.
#[derive(Debug)]
struct AcceptAnyCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// One TLS connection to the PBX with a read buffer for framing.
struct Conn {
    stream: TlsStream<TcpStream>,
    local: SocketAddr,
    buf: Vec<u8>,
}

impl Conn {
    async fn connect() -> Conn {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap_or_else(|e| panic!("TLS versions: {e}"))
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider)))
            .with_no_client_auth();
        let tcp = TcpStream::connect(PBX_TLS)
            .await
            .unwrap_or_else(|e| panic!("connect {PBX_TLS}: {e}"));
        let local = tcp
            .local_addr()
            .unwrap_or_else(|e| panic!("local_addr: {e}"));
        let name = ServerName::try_from(DOMAIN).unwrap_or_else(|e| panic!("server name: {e}"));
        let stream = tokio::time::timeout(
            READ_WAIT,
            TlsConnector::from(Arc::new(config)).connect(name, tcp),
        )
        .await
        .unwrap_or_else(|_| panic!("TLS handshake with {PBX_TLS} timed out"))
        .unwrap_or_else(|e| panic!("TLS handshake with {PBX_TLS}: {e}"));
        Conn {
            stream,
            local,
            buf: Vec::new(),
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.stream
            .write_all(bytes)
            .await
            .unwrap_or_else(|e| panic!("TLS write: {e}"));
        self.stream
            .flush()
            .await
            .unwrap_or_else(|e| panic!("TLS flush: {e}"));
    }

    /// Reads more bytes into the buffer, failing the test on timeout or EOF.
    async fn fill(&mut self) {
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(READ_WAIT, self.stream.read(&mut chunk))
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "nothing from the PBX within {READ_WAIT:?}; have {:?}",
                    self.text()
                )
            })
            .unwrap_or_else(|e| panic!("TLS read: {e}"));
        assert!(
            n > 0,
            "the PBX closed the TLS connection; have {:?}",
            self.text()
        );
        self.buf.extend_from_slice(&chunk[..n]);
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.buf).into_owned()
    }

    /// The next response framed by Content-Length (RFC 3261 §18.3).
    async fn response(&mut self) -> Response {
        loop {
            // keep-alive CRLFs between messages are allowed (RFC 5626 §3.5.1)
            while self.buf.starts_with(b"\r\n") {
                self.buf.drain(..2);
            }
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = Response::parse(&self.buf[..end + 4])
                    .unwrap_or_else(|| panic!("not a SIP response: {:?}", self.text()));
                let body_len: usize = head
                    .header("Content-Length")
                    .map(|v| {
                        v.parse()
                            .unwrap_or_else(|e| panic!("bad Content-Length {v:?}: {e}"))
                    })
                    .unwrap_or_else(|| panic!("no Content-Length on a stream: {}", head.raw));
                let total = end + 4 + body_len;
                if self.buf.len() >= total {
                    let msg: Vec<u8> = self.buf.drain(..total).collect();
                    return Response::parse(&msg).unwrap_or_else(|| panic!("bad response {msg:?}"));
                }
            }
            self.fill().await;
        }
    }

    /// The next final (non-1xx) response.
    async fn final_response(&mut self) -> Response {
        loop {
            let r = self.response().await;
            if r.status >= 200 {
                return r;
            }
        }
    }
}

/// The parameters of one `Digest` challenge (RFC 7616 §3.3), names lower-cased.
fn challenge_params(value: &str) -> Option<HashMap<String, String>> {
    let rest = value.trim();
    let rest = rest
        .get(..6)
        .filter(|s| s.eq_ignore_ascii_case("digest"))
        .map(|_| &rest[6..])?;
    let mut params = HashMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let name: String =
            std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ',')).collect();
        if name.trim().is_empty() {
            break;
        }
        if chars.next() != Some('=') {
            params.insert(name.trim().to_ascii_lowercase(), String::new());
            continue;
        }
        let mut val = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => val.extend(chars.next()),
                    '"' => break,
                    c => val.push(c),
                }
            }
        } else {
            val = std::iter::from_fn(|| chars.next_if(|c| *c != ','))
                .collect::<String>()
                .trim()
                .to_string();
        }
        params.insert(name.trim().to_ascii_lowercase(), val);
    }
    Some(params)
}

/// Hex digest of `data` with the Digest algorithm `alg` (`MD5` or `SHA-256`).
fn hash_hex(alg: &str, data: &str) -> String {
    let bytes: Vec<u8> = if alg.eq_ignore_ascii_case("SHA-256") {
        ring::digest::digest(&ring::digest::SHA256, data.as_bytes())
            .as_ref()
            .to_vec()
    } else {
        use md5::Digest;
        md5::Md5::digest(data.as_bytes()).to_vec()
    };
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The Authorization value answering `challenge` for REGISTER (RFC 7616 §3.4.1, qop=auth).
fn authorization(
    challenge: &HashMap<String, String>,
    alg: &str,
    user: &str,
    pw: &str,
    uri: &str,
) -> String {
    let realm = challenge
        .get("realm")
        .unwrap_or_else(|| panic!("challenge without realm: {challenge:?}"));
    let nonce = challenge
        .get("nonce")
        .unwrap_or_else(|| panic!("challenge without nonce: {challenge:?}"));
    let qop = challenge.get("qop").map(String::as_str).unwrap_or("");
    assert!(
        qop.split(',').any(|q| q.trim() == "auth"),
        "challenge without qop=auth: {challenge:?}"
    );
    let cnonce = token();
    let nc = "00000001";
    let ha1 = hash_hex(alg, &format!("{user}:{realm}:{pw}"));
    let ha2 = hash_hex(alg, &format!("REGISTER:{uri}"));
    let response = hash_hex(alg, &format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"));
    let mut value = format!(
        "Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", \
         response=\"{response}\", algorithm={alg}, cnonce=\"{cnonce}\", qop=auth, nc={nc}"
    );
    if let Some(opaque) = challenge.get("opaque") {
        value.push_str(&format!(", opaque=\"{opaque}\""));
    }
    value
}

/// A REGISTER over TLS for `ext` binding this connection's address.
fn register(conn: &Conn, ext: u32, call_id: &str, cseq: u32, auth: Option<&str>) -> Vec<u8> {
    let local = conn.local;
    let mut msg = format!(
        "REGISTER sip:{DOMAIN} SIP/2.0\r\n\
         Via: SIP/2.0/TLS {local};branch=z9hG4bK{branch};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:{ext}@{DOMAIN}>;tag={call_id}\r\n\
         To: <sip:{ext}@{DOMAIN}>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: {cseq} REGISTER\r\n\
         Contact: <sip:{ext}@{local};transport=tls>\r\n\
         Expires: 600\r\n",
        branch = token()
    );
    if let Some(auth) = auth {
        msg.push_str(&format!("Authorization: {auth}\r\n"));
    }
    msg.push_str("User-Agent: switchboard-tls-test\r\nContent-Length: 0\r\n\r\n");
    msg.into_bytes()
}

/// REGISTER -> 401 -> REGISTER answering the `alg` challenge -> 200, then the row must say TLS.
async fn register_over_tls(ext: u32, alg: &str) {
    let pbx = Pbx::start_default();
    let mut conn = Conn::connect().await;
    let call_id = token();

    conn.send(&register(&conn, ext, &call_id, 1, None)).await;
    let challenge = conn.final_response().await;
    assert_eq!(challenge.status, 401, "first REGISTER:\n{}", challenge.raw);
    let offered: Vec<HashMap<String, String>> = challenge
        .all("WWW-Authenticate")
        .into_iter()
        .filter_map(challenge_params)
        .collect();
    let chosen = offered
        .iter()
        .find(|c| {
            c.get("algorithm")
                .map(String::as_str)
                .unwrap_or("MD5")
                .eq_ignore_ascii_case(alg)
        })
        .unwrap_or_else(|| panic!("no {alg} challenge in:\n{}", challenge.raw));
    assert_eq!(
        chosen.get("realm").map(String::as_str),
        Some(DOMAIN),
        "realm: {chosen:?}"
    );

    let uri = format!("sip:{DOMAIN}");
    let auth = authorization(chosen, alg, &ext.to_string(), &password(ext), &uri);
    conn.send(&register(&conn, ext, &call_id, 2, Some(&auth)))
        .await;
    let ok = conn.final_response().await;
    assert_eq!(
        ok.status, 200,
        "authenticated REGISTER ({alg}):\n{}",
        ok.raw
    );
    let local = conn.local.to_string();
    assert!(
        ok.all("Contact")
            .iter()
            .any(|c| c.contains(&local) && c.to_ascii_lowercase().contains("expires=")),
        "200 does not list our binding with expires:\n{}",
        ok.raw
    );

    let rows = registrations(&pbx.db_path(), &aor(ext)).await;
    assert_eq!(rows.len(), 1, "bindings of {}: {rows:?}", aor(ext));
    assert!(
        rows[0].transport.eq_ignore_ascii_case("TLS"),
        "transport of {:?}",
        rows[0]
    );
    assert!(
        rows[0].contact.contains(&local),
        "contact of {:?}, want {local}",
        rows[0]
    );
    assert!(
        rows[0].expires_at > now_ms(),
        "already expired: {:?}",
        rows[0]
    );
}

#[tokio::test]
async fn register_over_tls_with_md5_digest() {
    register_over_tls(1501, "MD5").await;
}

#[tokio::test]
async fn register_over_tls_with_sha256_digest() {
    register_over_tls(1502, "SHA-256").await;
}

#[tokio::test]
async fn tls_keepalive_ping_gets_pong() {
    // RFC 5626 §4.4.1: a CRLFCRLF ping is answered with a CRLF pong
    let _pbx = Pbx::start_default();
    let mut conn = Conn::connect().await;
    conn.send(b"\r\n\r\n").await;
    while conn.buf.len() < 2 {
        conn.fill().await;
    }
    assert_eq!(conn.buf, b"\r\n", "pong");
    // and the connection still carries SIP afterwards
    conn.buf.clear();
    let call_id = token();
    conn.send(&register(&conn, 1503, &call_id, 1, None)).await;
    let r = conn.final_response().await;
    assert_eq!(r.status, 401, "REGISTER after the keep-alive:\n{}", r.raw);
}
