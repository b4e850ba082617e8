//! `[web]` table: defaults, values, and errors with file:line:col.

use std::time::Duration;

use crate::config::tests::{load_err, load_ok, messages, SIP};

#[test]
fn web_defaults_without_a_table() {
    let c = load_ok(&[("a.toml", SIP)]);
    assert!(c.web.enabled);
    assert_eq!(c.web.listen.to_string(), "127.0.0.1:8080");
    assert!(!c.web.metrics_public);
    assert_eq!(c.web.session_lifetime, Duration::from_secs(12 * 3600));
}

#[test]
fn web_values_are_read() {
    let text = format!(
        "{SIP}[web]\nenabled = false\nlisten = \"[::1]:18080\"\nmetrics_public = true\nsession_hours = 2\n"
    );
    let c = load_ok(&[("a.toml", &text)]);
    assert!(!c.web.enabled);
    assert_eq!(c.web.listen.to_string(), "[::1]:18080");
    assert!(c.web.metrics_public);
    assert_eq!(c.web.session_lifetime, Duration::from_secs(7200));
}

#[test]
fn web_errors_name_file_line_and_column() {
    let text = format!("{SIP}[web]\nlisten = \"localhost\"\nsession_hours = 0\n");
    let errors = load_err(&[("a.toml", &text)]);
    let all = messages(&errors, None).join("\n");
    assert!(all.contains("a.toml:4:10"), "{all}");
    assert!(all.contains("web.listen"), "{all}");
    assert!(all.contains("a.toml:5:17"), "{all}");
    assert!(all.contains("web.session_hours"), "{all}");
}

#[test]
fn web_unknown_key_and_duplicate_table_are_errors() {
    let text = format!("{SIP}[web]\nport = 80\n");
    let all = messages(&load_err(&[("a.toml", &text)]), None).join("\n");
    assert!(all.contains("port"), "{all}");
    let errors = load_err(&[("a.toml", &format!("{SIP}[web]\n")), ("b.toml", "[web]\n")]);
    let all = messages(&errors, None).join("\n");
    assert!(all.contains("[web] table"), "{all}");
}

#[test]
fn web_tls_alone_uses_the_generated_certificate() {
    let c = load_ok(&[("a.toml", &format!("{SIP}[web]\ntls = true\n"))]);
    assert!(c.web.tls);
    assert_eq!(c.web.tls_cert, None);
    assert_eq!(c.web.tls_key, None);
}

#[test]
fn web_tls_cert_without_key_or_with_tls_off_is_an_error() {
    let text = format!("{SIP}[web]\ntls = true\ntls_cert = \"c.pem\"\n");
    let all = messages(&load_err(&[("a.toml", &text)]), None).join("\n");
    assert!(all.contains("web.tls_key"), "{all}");
    assert!(all.contains("a.toml:5:12"), "{all}");
    assert!(all.contains("c.pem"), "missing file named: {all}");
    let text = format!("{SIP}[web]\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n");
    let all = messages(&load_err(&[("a.toml", &text)]), None).join("\n");
    assert!(all.contains("web.tls:"), "{all}");
    assert!(all.contains("tls = false"), "{all}");
}
