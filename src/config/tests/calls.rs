//! `[calls]` and `[media]`: defaults, values, and located errors.

use std::time::Duration;

use super::*;

#[test]
fn calls_and_media_default_when_absent() {
    let c = load_ok(&[("a.toml", SIP)]);
    assert_eq!(c.calls, CallSettings::default());
    assert_eq!(c.media, MediaSettings::default_in(&c.dir));
    assert_eq!(c.media.sounds_dir, c.dir.join("dialplan/sounds"));
}

#[test]
fn sounds_dir_is_resolved_against_the_config_dir_and_need_not_exist() {
    let load = |media: &str| load_ok(&[("a.toml", SIP), ("b.toml", media)]);
    let c = load("[media]\nsounds_dir = \" prompts/en \"\n");
    assert_eq!(c.media.sounds_dir, c.dir.join("prompts/en"));
    assert!(!c.media.sounds_dir.exists());
    let c = load("[media]\nsounds_dir = \"/srv/sounds\"\n");
    assert_eq!(c.media.sounds_dir, std::path::PathBuf::from("/srv/sounds"));
    let c = load("[media]\nrtp_timeout_secs = 9\n");
    assert_eq!(c.media.sounds_dir, c.dir.join("dialplan/sounds"));
}

#[test]
fn calls_and_media_values_are_read() {
    let extra = "[calls]\nring_timeout_secs = 5\n\n[media]\nrtp_address = \"127.0.0.1\"\nrtp_port_min = 30000\nrtp_port_max = 30999\nrtp_timeout_secs = 3\n";
    let c = load_ok(&[("a.toml", SIP), ("b.toml", extra)]);
    assert_eq!(c.calls.ring_timeout, Duration::from_secs(5));
    assert_eq!(
        c.media.rtp_address,
        Some("127.0.0.1".parse().unwrap_or_else(|e| panic!("{e}")))
    );
    assert_eq!(
        (c.media.rtp_port_min, c.media.rtp_port_max),
        (30_000, 30_999)
    );
    assert_eq!(c.media.rtp_timeout, Duration::from_secs(3));
}

#[test]
fn bad_media_values_are_located() {
    let cases: &[(&str, usize)] = &[
        ("[media]\nrtp_port_min = 30001\nrtp_port_max = 30999\n", 1),
        ("[media]\nrtp_port_min = 31000\nrtp_port_max = 30000\n", 1),
        ("[media]\nrtp_address = \"not-an-ip\"\n", 2),
        ("[media]\nrtp_port_min = 80\n", 2),
        ("[calls]\nring_timeout_secs = 0\n", 2),
        ("[media]\nbogus = 1\n", 2),
        ("[media]\nsounds_dir = \"  \"\n", 2),
    ];
    for (text, line) in cases {
        let errors = load_err(&[("a.toml", SIP), ("b.toml", text)]);
        let first = errors
            .errors
            .first()
            .unwrap_or_else(|| panic!("no error for {text:?}"))
            .to_string();
        assert!(
            first.contains(&format!("b.toml:{line}:")),
            "{text:?} gave {first}"
        );
    }
}
