//! A change against a real directory and a real reload: applied; refused before writing;
//! and undone when the reload rejects the directory because of another edit on disk.

use std::sync::Arc;

use super::*;
use crate::dialplan::{Dialplan, LiveDialplan, Reloader};

const MAIN: &str = "[main]\nexten => 1,1,Answer()\n";

fn setup() -> (tempfile::TempDir, Reloader) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("main.conf"), MAIN).unwrap_or_else(|e| panic!("{e}"));
    let loaded = Dialplan::load_dir(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let reloader = Reloader::new(LiveDialplan::new(Arc::new(loaded)), dir.path().to_owned());
    (dir, reloader)
}

fn on_disk(dir: &Path, name: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(name)).ok()
}

fn errors(error: ApiError) -> Vec<Problem> {
    match error {
        ApiError::Unprocessable { error, detail } => {
            assert_eq!(error, "invalid dialplan");
            serde_json::from_value::<Vec<serde_json::Value>>(detail["errors"].clone())
                .unwrap_or_default()
                .into_iter()
                .map(|e| Problem {
                    file: e["file"].as_str().map(str::to_owned),
                    line: e["line"].as_u64().map(|n| n as usize),
                    col: e["col"].as_u64().map(|n| n as usize),
                    message: e["message"].as_str().unwrap_or_default().to_owned(),
                })
                .collect()
        }
        other => panic!("not an invalid dialplan: {other:?}"),
    }
}

#[tokio::test]
async fn a_valid_change_is_written_and_reloaded() {
    let (dir, reloader) = setup();
    let text = format!("{MAIN}exten => 2,1,Hangup()\n");
    let change = Change::Save {
        name: "main.conf".into(),
        content: text.clone(),
    };
    let applied = apply(dir.path().to_owned(), change, || reloader.reload("test"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(applied.summary.generation, 2);
    assert_eq!(applied.summary.extensions, 2);
    assert_eq!(applied.before, Some(MAIN.len()));
    assert_eq!(on_disk(dir.path(), "main.conf"), Some(text));
}

#[tokio::test]
async fn an_invalid_change_is_refused_before_anything_is_written() {
    let (dir, reloader) = setup();
    let change = Change::Create {
        name: "more.conf".into(),
        content: "[more]\nexten => 2,1,Dial(\n".into(),
    };
    let reloaded = std::cell::Cell::new(false);
    let error = apply(dir.path().to_owned(), change, || {
        reloaded.set(true);
        reloader.reload("test")
    })
    .await
    .expect_err("invalid");
    let problems = errors(error);
    assert_eq!(problems[0].file.as_deref(), Some("more.conf"));
    assert_eq!(problems[0].line, Some(2));
    assert!(!reloaded.get(), "no reload for a refused change");
    assert_eq!(on_disk(dir.path(), "more.conf"), None);
    assert_eq!(reloader.live().generation(), 1);
}

#[tokio::test]
async fn a_reload_rejected_by_another_edit_undoes_the_change() {
    let (dir, reloader) = setup();
    let text = format!("{MAIN}exten => 2,1,Hangup()\n");
    let change = Change::Save {
        name: "main.conf".into(),
        content: text,
    };
    let path = dir.path().to_owned();
    // Someone else writes a broken file between the check and the reload.
    let error = apply(dir.path().to_owned(), change, || {
        std::fs::write(path.join("zz.conf"), "[zz]\n  garbage\n").unwrap_or_else(|e| panic!("{e}"));
        reloader.reload("test")
    })
    .await
    .expect_err("rejected");
    let problems = errors(error);
    assert_eq!(
        problems,
        [Problem {
            file: Some("zz.conf".into()),
            line: Some(2),
            col: Some(3),
            message: "unknown directive \"garbage\"".into(),
        }]
    );
    // Ours is undone; the running dialplan is the old one.
    assert_eq!(on_disk(dir.path(), "main.conf").as_deref(), Some(MAIN));
    assert_eq!(reloader.live().generation(), 1);
    // A created file is removed again.
    let change = Change::Create {
        name: "new.conf".into(),
        content: "[new]\n".into(),
    };
    apply(dir.path().to_owned(), change, || {
        // The broken file is still there at check time this time: the check refuses.
        reloader.reload("test")
    })
    .await
    .expect_err("the directory is broken");
    assert_eq!(on_disk(dir.path(), "new.conf"), None);
}

#[tokio::test]
async fn deleting_is_undone_too_and_the_last_file_stays() {
    let (dir, reloader) = setup();
    std::fs::write(dir.path().join("b.conf"), "[b]\n").unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().to_owned();
    let change = Change::Delete {
        name: "b.conf".into(),
    };
    let error = apply(dir.path().to_owned(), change, || {
        std::fs::write(path.join("main.conf"), "[main\n").unwrap_or_else(|e| panic!("{e}"));
        reloader.reload("test")
    })
    .await
    .expect_err("rejected");
    assert_eq!(errors(error)[0].file.as_deref(), Some("main.conf"));
    assert_eq!(on_disk(dir.path(), "b.conf").as_deref(), Some("[b]\n"));
    std::fs::remove_file(dir.path().join("b.conf")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("main.conf"), MAIN).unwrap_or_else(|e| panic!("{e}"));
    let change = Change::Delete {
        name: "main.conf".into(),
    };
    let error = apply(dir.path().to_owned(), change, || reloader.reload("test"))
        .await
        .expect_err("last file");
    assert!(matches!(error, ApiError::Invalid { ref field, .. } if field == "name"));
    assert_eq!(on_disk(dir.path(), "main.conf").as_deref(), Some(MAIN));
}

#[tokio::test]
async fn an_undo_restores_the_exact_bytes_of_a_file_that_was_not_text() {
    let (dir, reloader) = setup();
    let path = dir.path().to_owned();
    std::fs::write(path.join("bin.conf"), [0xff, 0xfe, b'\n']).unwrap_or_else(|e| panic!("{e}"));
    let change = Change::Save {
        name: "bin.conf".into(),
        content: "[bin]\n".into(),
    };
    apply(path.clone(), change, || {
        std::fs::write(path.join("zz.conf"), "nonsense\n").unwrap_or_else(|e| panic!("{e}"));
        reloader.reload("test")
    })
    .await
    .expect_err("rejected");
    let bytes = std::fs::read(path.join("bin.conf")).unwrap_or_default();
    assert_eq!(bytes, [0xff, 0xfe, b'\n']);
}
