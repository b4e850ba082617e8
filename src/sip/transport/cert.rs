//! TLS certificates: load a configured PEM certificate chain and key, or generate a
//! self-signed certificate on first start and keep it in `<data>/tls/{cert,key}.pem` so
//! restarts present the same certificate. Builds both rustls configs on the ring provider
//! (never the process-wide default provider).
//!
//! Outbound trust (client side): our own certificate chain plus an optional CA file. There
//! are no system roots here; a configurable verifier choice is a later config item.
//!
//! Depends on rustls, rustls-pki-types (PEM) and rcgen only.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::{TlsSetup, TransportError};

/// Sub-directory of the data directory holding the generated certificate.
const TLS_DIR: &str = "tls";
/// File name of the generated certificate.
const CERT_FILE: &str = "cert.pem";
/// File name of the generated private key (mode 0600).
const KEY_FILE: &str = "key.pem";
/// Names always put into a generated certificate so loopback clients can verify it.
const LOOPBACK_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// Loads `cert` + `key` when configured, else loads or generates the self-signed pair in
/// `data_dir/tls/`. `names` (DNS names or IP addresses) go into a generated certificate's
/// subjectAltName, with `localhost`, `127.0.0.1` and `::1` added.
pub fn load_or_generate(
    cert: Option<&Path>,
    key: Option<&Path>,
    data_dir: &Path,
    names: &[String],
) -> Result<TlsSetup, TransportError> {
    load_or_generate_with_ca(cert, key, None, data_dir, names)
}

/// Like [`load_or_generate`]; outbound connections also trust the certificates in `ca`.
pub fn load_or_generate_with_ca(
    cert: Option<&Path>,
    key: Option<&Path>,
    ca: Option<&Path>,
    data_dir: &Path,
    names: &[String],
) -> Result<TlsSetup, TransportError> {
    let (chain, key) = match (cert, key) {
        (Some(cert), Some(key)) => (load_chain(cert)?, load_key(key)?),
        (None, None) => load_or_generate_default(data_dir, names)?,
        _ => return Err(TransportError::CertKeyMismatch),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    // Trust ourselves: lets our own outbound TLS (and tests) reach a peer using our cert.
    let (_added, _ignored) = roots.add_parsable_certificates(chain.iter().cloned());
    if let Some(ca) = ca {
        for cert in load_chain(ca)? {
            roots.add(cert)?;
        }
    }
    let server = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    let client = client_config(provider, roots)?;
    Ok(TlsSetup {
        server: Arc::new(server),
        client: Arc::new(client),
    })
}

/// A client config on `provider` trusting exactly `roots`.
fn client_config(
    provider: Arc<CryptoProvider>,
    roots: RootCertStore,
) -> Result<ClientConfig, TransportError> {
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Paths of the generated pair inside `data_dir`.
pub fn default_paths(data_dir: &Path) -> (PathBuf, PathBuf) {
    let dir = data_dir.join(TLS_DIR);
    (dir.join(CERT_FILE), dir.join(KEY_FILE))
}

type Pair = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

fn load_or_generate_default(data_dir: &Path, names: &[String]) -> Result<Pair, TransportError> {
    let (cert_path, key_path) = default_paths(data_dir);
    if cert_path.exists() && key_path.exists() {
        tracing::debug!(cert = %cert_path.display(), "loading generated TLS certificate");
        return Ok((load_chain(&cert_path)?, load_key(&key_path)?));
    }
    let mut sans: Vec<String> = names.to_vec();
    for name in LOOPBACK_NAMES {
        if !sans.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            sans.push(name.to_owned());
        }
    }
    let generated = rcgen::generate_simple_self_signed(sans)?;
    let dir = data_dir.join(TLS_DIR);
    fs::create_dir_all(&dir).map_err(|source| TransportError::CertIo {
        path: dir.clone(),
        source,
    })?;
    // Key first: the pair counts as present only once the certificate exists too.
    write_file(
        &key_path,
        generated.signing_key.serialize_pem().as_bytes(),
        0o600,
    )?;
    write_file(&cert_path, generated.cert.pem().as_bytes(), 0o644)?;
    tracing::info!(cert = %cert_path.display(), "generated a self-signed TLS certificate");
    // rcgen serialises keys as PKCS#8.
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        generated.signing_key.serialize_der(),
    ));
    Ok((vec![generated.cert.der().clone()], key))
}

/// Writes `data` to `path` atomically (temporary file + rename) with Unix `mode`.
fn write_file(path: &Path, data: &[u8], mode: u32) -> Result<(), TransportError> {
    let tmp = path.with_extension("pem.tmp");
    let io_err = |source| TransportError::CertIo {
        path: path.to_path_buf(),
        source,
    };
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(&tmp).map_err(io_err)?;
    file.write_all(data).map_err(io_err)?;
    file.sync_all().map_err(io_err)?;
    fs::rename(&tmp, path).map_err(io_err)
}

/// Every certificate in a PEM file (leaf first).
fn load_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TransportError> {
    let pem_err = |source| TransportError::CertPem {
        path: path.to_path_buf(),
        source,
    };
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(pem_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem_err)?;
    if chain.is_empty() {
        return Err(TransportError::NoCertificate(path.to_path_buf()));
    }
    Ok(chain)
}

/// The first private key (PKCS#8, PKCS#1 or SEC1) in a PEM file.
fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TransportError> {
    PrivateKeyDer::from_pem_file(path).map_err(|source| TransportError::CertPem {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_once_and_reloads_same_certificate() {
        let dir = tempfile::tempdir().expect("tempdir");
        let names = vec!["pbx.example".to_owned()];
        load_or_generate(None, None, dir.path(), &names).expect("generate");
        let (cert_path, key_path) = default_paths(dir.path());
        let pem1 = fs::read(&cert_path).expect("cert written");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&key_path).expect("key").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let _second = load_or_generate(None, None, dir.path(), &names).expect("reload");
        assert_eq!(
            pem1,
            fs::read(&cert_path).expect("cert"),
            "restart keeps the cert"
        );
        // Configured files load too (here: the generated ones).
        load_or_generate(Some(&cert_path), Some(&key_path), dir.path(), &[]).expect("configured");
    }

    #[test]
    fn cert_without_key_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = load_or_generate(Some(&dir.path().join("c.pem")), None, dir.path(), &[])
            .expect_err("mismatch");
        assert!(matches!(err, TransportError::CertKeyMismatch));
    }

    #[test]
    fn missing_or_empty_files_are_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cert = dir.path().join("none.pem");
        let key = dir.path().join("key.pem");
        let err = load_or_generate(Some(&cert), Some(&key), dir.path(), &[]).expect_err("missing");
        assert!(matches!(err, TransportError::CertPem { .. }), "{err:?}");
        fs::write(&cert, "not pem\n").expect("write");
        let err = load_or_generate(Some(&cert), Some(&key), dir.path(), &[]).expect_err("empty");
        assert!(matches!(err, TransportError::NoCertificate(_)), "{err:?}");
    }
}
