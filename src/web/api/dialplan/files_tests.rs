//! Names, listing in load order, candidate sets with positioned problems, atomic writes
//! keeping permissions and links.

use std::os::unix::fs::PermissionsExt;

use super::*;

const GOOD: &str = "[internal]\nexten => 100,1,Answer()\n";

fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for (name, text) in files {
        fs::write(dir.path().join(name), text).unwrap_or_else(|e| panic!("{e}"));
    }
    dir
}

#[test]
fn names_are_plain_conf_files() {
    for ok in ["extensions.conf", "a.conf", "my_plan-2.v1.conf", "..conf"] {
        assert_eq!(check_name(ok), Ok(()), "{ok}");
    }
    for bad in [
        "",
        ".conf",
        "x.txt",
        "../x.conf",
        "a/b.conf",
        "sp ace.conf",
        "x.conf/",
        "é.conf",
        "x.conf.bak",
    ] {
        assert!(check_name(bad).is_err(), "{bad}");
    }
    assert!(check_name(&format!("{}.conf", "a".repeat(130))).is_err());
}

#[test]
fn listing_has_only_conf_files_in_load_order() {
    let dir = dir_with(&[
        ("b.conf", GOOD),
        ("a.conf", ""),
        ("README", "x"),
        (".b.conf.web-tmp", "x"),
    ]);
    fs::create_dir(dir.path().join("sub.conf")).unwrap_or_else(|e| panic!("{e}"));
    let files = list(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["a.conf", "b.conf"]);
    assert_eq!(files[1].size, GOOD.len() as u64);
    assert!(files[1].modified_ms > 1_600_000_000_000);
    let missing = list(&dir.path().join("nope")).expect_err("no dir");
    assert!(missing.not_found());
}

#[test]
fn a_candidate_replaces_one_file_and_problems_carry_positions() {
    let dir = dir_with(&[
        ("a.conf", "[a]\ninclude => b\n"),
        ("b.conf", "[b]\nexten => 1,1,Answer()\n"),
    ]);
    let set = read_set(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(set.len(), 2);
    assert!(set.problems().is_empty());
    let mut broken = set.clone();
    broken.put("b.conf", "[c]\nexten => 1,1,Answer()\n  bogus line\n");
    let problems = broken.problems();
    assert_eq!(
        problems[0],
        Problem {
            file: Some("b.conf".into()),
            line: Some(3),
            col: Some(3),
            message: "unknown directive \"bogus line\"".into(),
        }
    );
    // The include in the other file now points nowhere.
    assert_eq!(problems[1].file.as_deref(), Some("a.conf"));
    assert_eq!((problems[1].line, problems[1].col), (Some(2), Some(12)));
    assert!(
        problems[1].message.contains("unknown context \"b\""),
        "{problems:?}"
    );
    let mut without = set.clone();
    without.remove("b.conf");
    assert_eq!(without.len(), 1);
    assert_eq!(without.problems().len(), 1);
    let mut added = set;
    added.put("0.conf", GOOD);
    assert!(added.problems().is_empty());
    assert_eq!(added.len(), 3);
    // Nothing was written.
    assert_eq!(list(dir.path()).map(|l| l.len()).ok(), Some(2));
}

#[test]
fn unreadable_files_are_problems() {
    let dir = dir_with(&[("a.conf", GOOD)]);
    fs::write(dir.path().join("bin.conf"), [0xff, 0xfe, 0x00]).unwrap_or_else(|e| panic!("{e}"));
    let set = read_set(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let problems = set.problems();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].file.as_deref(), Some("bin.conf"));
    assert_eq!(problems[0].line, None);
    let mut fixed = set;
    fixed.put("bin.conf", "[other]\nexten => 1,1,Answer()\n");
    assert!(fixed.problems().is_empty());
}

#[test]
fn writes_are_atomic_and_keep_permissions_and_links() {
    let dir = dir_with(&[("a.conf", "old")]);
    let path = dir.path().join("a.conf");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap_or_else(|e| panic!("{e}"));
    write_atomic(dir.path(), "a.conf", GOOD.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(read(dir.path(), "a.conf").ok().as_deref(), Some(GOOD));
    let mode = fs::metadata(&path)
        .map(|m| m.permissions().mode() & 0o777)
        .ok();
    assert_eq!(mode, Some(0o640));
    // No temporary file is left behind.
    let entries: Vec<_> = fs::read_dir(dir.path())
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    // A new file; then a link: its target is replaced, the link stays.
    write_atomic(dir.path(), "new.conf", b"x").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(read(dir.path(), "new.conf").ok().as_deref(), Some("x"));
    let real = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    fs::write(real.path().join("shared.conf"), "old").unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::symlink(real.path().join("shared.conf"), dir.path().join("l.conf"))
        .unwrap_or_else(|e| panic!("{e}"));
    write_atomic(dir.path(), "l.conf", b"linked").unwrap_or_else(|e| panic!("{e}"));
    assert!(
        fs::symlink_metadata(dir.path().join("l.conf")).is_ok_and(|m| m.file_type().is_symlink())
    );
    assert_eq!(
        fs::read_to_string(real.path().join("shared.conf"))
            .ok()
            .as_deref(),
        Some("linked")
    );
    remove(dir.path(), "new.conf").unwrap_or_else(|e| panic!("{e}"));
    assert!(read(dir.path(), "new.conf")
        .expect_err("removed")
        .not_found());
}
