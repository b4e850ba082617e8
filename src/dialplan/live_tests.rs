//! [`LiveDialplan`]: generations, atomic replacement, calls keeping their version, and
//! reloads that keep the running dialplan when the new one does not parse.

use std::path::Path;
use std::sync::Arc;

use super::{LiveDialplan, ReloadSummary, FIRST_GENERATION};
use crate::dialplan::{Dialplan, DialplanError};

fn plan(text: &str) -> Arc<Dialplan> {
    match Dialplan::parse_str(Path::new("t.conf"), text) {
        Ok(d) => Arc::new(d),
        Err(e) => panic!("test dialplan does not parse: {e}"),
    }
}

fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap_or_else(|e| panic!("write: {e}"));
    }
    dir
}

#[test]
fn starts_at_the_first_generation() {
    let live = LiveDialplan::new(plan("[a]\nexten => 1,1,NoOp()\n"));
    assert_eq!(live.generation(), FIRST_GENERATION);
    assert_eq!(
        live.summary(),
        ReloadSummary {
            generation: 1,
            contexts: 1,
            extensions: 1
        }
    );
    assert!(format!("{live:?}").contains("generation: 1"));
}

#[test]
fn replace_bumps_the_generation_and_old_holders_keep_their_version() {
    let live = LiveDialplan::new(plan("[a]\nexten => 1,1,NoOp()\n"));
    let in_call = live.current(); // a call started on generation 1
    let clone = live.clone();
    let mut changes = live.subscribe();
    assert_eq!(*changes.borrow_and_update(), 1);
    assert_eq!(clone.replace(plan("[b]\nexten => 2,1,NoOp()\n")), 2);
    assert_eq!(live.generation(), 2, "clones share the same slot");
    assert!(changes.has_changed().unwrap_or(false));
    assert_eq!(*changes.borrow_and_update(), 2);
    assert!(live.current().context("b").is_some());
    assert!(
        in_call.context("a").is_some(),
        "the call keeps generation 1"
    );
    assert!(in_call.context("b").is_none());
    let (now, generation) = live.snapshot();
    assert_eq!(generation, 2);
    assert!(Arc::ptr_eq(&now, &live.current()));
}

#[test]
fn reload_from_installs_a_good_directory() {
    let live = LiveDialplan::new(plan("[a]\nexten => 1,1,NoOp()\n"));
    let dir = dir_with(&[
        (
            "one.conf",
            "[x]\nexten => 1,1,NoOp()\nexten => 2,1,NoOp()\n",
        ),
        ("two.conf", "[y]\nexten => _9.,1,Hangup()\n"),
        ("notes.txt", "not a dialplan file"),
    ]);
    let summary = match live.reload_from(dir.path()) {
        Ok(s) => s,
        Err(e) => panic!("reload failed: {e}"),
    };
    assert_eq!(
        summary,
        ReloadSummary {
            generation: 2,
            contexts: 2,
            extensions: 3
        }
    );
    assert_eq!(live.summary(), summary);
    assert!(live.current().context("y").is_some());
}

#[test]
fn a_broken_dialplan_is_rejected_and_the_running_one_kept() {
    let live = LiveDialplan::new(plan("[a]\nexten => 1,1,NoOp()\n"));
    let before = live.current();
    let dir = dir_with(&[(
        "bad.conf",
        "[c]\nexten => _1[2,1,NoOp\ninclude => nowhere\n",
    )]);
    let errors = match live.reload_from(dir.path()) {
        Ok(s) => panic!("a broken dialplan was installed: {s:?}"),
        Err(e) => e,
    };
    let text = errors.to_string();
    assert!(text.contains("bad.conf:2:12: bad pattern"), "{text}");
    assert!(text.contains("bad.conf:3:12: include of unknown"), "{text}");
    assert_eq!(live.generation(), 1);
    assert!(Arc::ptr_eq(&before, &live.current()));
}

#[test]
fn a_missing_directory_is_an_io_error_and_keeps_the_running_one() {
    let live = LiveDialplan::new(plan("[a]\n"));
    let dir = dir_with(&[]);
    let missing = dir.path().join("gone");
    let errors = match live.reload_from(&missing) {
        Ok(s) => panic!("reloaded from nowhere: {s:?}"),
        Err(e) => e,
    };
    assert!(matches!(errors.errors[..], [DialplanError::Io { .. }]));
    assert_eq!(live.generation(), 1);
}

#[test]
fn concurrent_reloads_each_get_their_own_generation() {
    let live = LiveDialplan::new(plan("[a]\n"));
    let dir = dir_with(&[("x.conf", "[x]\nexten => 1,1,NoOp()\n")]);
    let generations: Vec<u64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let live = live.clone();
                let path = dir.path().to_path_buf();
                scope.spawn(move || match live.reload_from(&path) {
                    Ok(s) => s.generation,
                    Err(e) => panic!("reload failed: {e}"),
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| panic!("reload thread panicked"))
            })
            .collect()
    });
    let mut sorted = generations.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (2..=9).collect::<Vec<u64>>(), "{generations:?}");
    assert_eq!(live.generation(), 9);
}
