//! The embedded file list matches `web/`, content types, entity tags.

use std::collections::BTreeSet;
use std::path::Path;

use super::*;

fn files_under(dir: &Path, prefix: &str, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).expect("read web/") {
        let entry = entry.expect("entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = format!("{prefix}{name}");
        if entry.file_type().expect("type").is_dir() {
            files_under(&entry.path(), &format!("{rel}/"), out);
        } else {
            out.insert(rel);
        }
    }
}

#[test]
fn every_file_of_web_is_embedded_and_nothing_else() {
    let mut on_disk = BTreeSet::new();
    files_under(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("web"),
        "",
        &mut on_disk,
    );
    for skip in NOT_SERVED {
        on_disk.remove(*skip);
    }
    let embedded: BTreeSet<String> = ASSETS.iter().map(|a| a.path.to_owned()).collect();
    assert_eq!(on_disk, embedded, "update ASSETS in src/web/assets.rs");
}

#[test]
fn content_types_by_extension() {
    assert_eq!(content_type("js/app.js"), "text/javascript; charset=utf-8");
    assert_eq!(content_type("css/app.css"), "text/css; charset=utf-8");
    assert_eq!(content_type("app.html"), "text/html; charset=utf-8");
    assert_eq!(content_type("favicon.svg"), "image/svg+xml");
    assert_eq!(content_type("noext"), "application/octet-stream");
}

#[test]
fn entity_tags_are_strong_distinct_and_stable() {
    let (_, a) = find("js/app.js").expect("app.js");
    let (_, b) = find("js/api.js").expect("api.js");
    assert!(
        a.starts_with('"') && a.ends_with('"') && a.len() == 34,
        "{a}"
    );
    assert_ne!(a, b);
    assert_eq!(find("js/app.js").expect("again").1, a);
    assert!(find("../Cargo.toml").is_none());
}

#[test]
fn if_none_match_accepts_lists_weak_tags_and_star() {
    let tag = "\"abc\"";
    let check = |v: &str| {
        let mut h = HeaderMap::new();
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(v).expect("value"),
        );
        not_modified(&h, tag)
    };
    assert!(check("\"abc\""));
    assert!(check("\"x\", W/\"abc\""));
    assert!(check("*"));
    assert!(!check("\"abd\""));
    assert!(!not_modified(&HeaderMap::new(), tag));
}
