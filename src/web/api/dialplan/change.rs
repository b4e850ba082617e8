//! One change of the dialplan directory (save, create, delete) from check to reload:
//! the candidate set must load, then the file is written and the running dialplan
//! reloaded; a reload that still rejects the directory (another edit on disk in between)
//! undoes the write.
//!
//! Depends on: `super::files`, `crate::dialplan::{ReloadReply, ReloadSummary}`.

use std::future::Future;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::blocking;
use super::files::{self, FileError, FileSet, Problem};
use crate::dialplan::{ReloadReply, ReloadSummary};
use crate::web::error::ApiError;

/// The 422 of a rejected dialplan.
pub(super) fn invalid(errors: Vec<Problem>) -> ApiError {
    ApiError::Unprocessable {
        error: "invalid dialplan",
        detail: json!({ "errors": errors }),
    }
}

/// One change of the directory.
#[derive(Debug, Clone)]
pub(super) enum Change {
    /// Replace an existing file.
    Save { name: String, content: String },
    /// Add a file that does not exist.
    Create { name: String, content: String },
    /// Remove a file.
    Delete { name: String },
}

impl Change {
    fn name(&self) -> &str {
        match self {
            Change::Save { name, .. } | Change::Create { name, .. } | Change::Delete { name } => {
                name
            }
        }
    }
}

/// What [`apply`] did.
#[derive(Debug)]
pub(super) struct Applied {
    /// The dialplan now in force.
    pub(super) summary: ReloadSummary,
    /// The file's size before (None: it was created).
    pub(super) before: Option<usize>,
}

/// Checks `change` against the files of `dir`: `Ok(Ok(previous))` when it may be applied
/// (`previous`: the file's bytes before it, None when absent, kept for [`undo`]);
/// `Ok(Err(_))` when it is refused: it does not fit the directory (404, 409, the last file)
/// or the result would not load (422). `Err` only for I/O failures.
fn check(dir: &Path, change: &Change) -> Result<Result<Option<Vec<u8>>, ApiError>, FileError> {
    let mut set: FileSet = files::read_set(dir)?;
    let name = change.name();
    let path = dir.join(name);
    // The bytes as they are (a file that is not UTF-8 is not in the set's texts).
    let previous = match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => return Err(FileError { path, source }),
    };
    let exists = previous.is_some();
    let refused = match change {
        Change::Save { .. } | Change::Delete { .. } if !exists => {
            Some(ApiError::NotFound(format!("dialplan file {name}")))
        }
        Change::Create { .. } if exists => {
            Some(ApiError::Conflict(format!("dialplan file {name} exists")))
        }
        Change::Delete { .. } if set.len() <= 1 => Some(ApiError::invalid(
            "name",
            "the last dialplan file cannot be deleted",
        )),
        _ => None,
    };
    if let Some(refused) = refused {
        return Ok(Err(refused));
    }
    match change {
        Change::Save { content, .. } | Change::Create { content, .. } => set.put(name, content),
        Change::Delete { .. } => set.remove(name),
    }
    let problems = set.problems();
    if problems.is_empty() {
        Ok(Ok(previous))
    } else {
        Ok(Err(invalid(problems)))
    }
}

/// Writes (or removes) the file of `change`.
fn write(dir: &Path, change: &Change) -> Result<(), FileError> {
    match change {
        Change::Save { name, content } | Change::Create { name, content } => {
            files::write_atomic(dir, name, content.as_bytes())
        }
        Change::Delete { name } => files::remove(dir, name),
    }
}

/// Puts the file of `change` back as it was (`previous`: its old bytes, None: absent).
fn undo(dir: &Path, change: &Change, previous: Option<&[u8]>) -> Result<(), FileError> {
    match previous {
        Some(bytes) => files::write_atomic(dir, change.name(), bytes),
        None => files::remove(dir, change.name()),
    }
}

/// Validates `change` against the files of `dir`, writes it, then runs `reload` (the
/// running dialplan's reload of `dir`); undoes the write when the reload rejects the
/// directory. The caller holds the saves lock.
pub(super) async fn apply<F, R>(
    dir: PathBuf,
    change: Change,
    reload: F,
) -> Result<Applied, ApiError>
where
    F: FnOnce() -> R,
    R: Future<Output = ReloadReply>,
{
    let (d, c) = (dir.clone(), change.clone());
    let previous = blocking(move || {
        let previous = check(&d, &c)?;
        if previous.is_ok() {
            write(&d, &c)?;
        }
        Ok(previous)
    })
    .await??;
    match reload().await {
        ReloadReply::Reloaded(summary) => Ok(Applied {
            summary,
            before: previous.as_ref().map(Vec::len),
        }),
        ReloadReply::Rejected(messages) => {
            // Another edit on disk broke the directory between the check and the reload:
            // undo ours, report what the directory has wrong now.
            let errors = blocking(move || {
                undo(&dir, &change, previous.as_deref())?;
                let problems = files::read_set(&dir)?.problems();
                Ok(if problems.is_empty() {
                    messages.into_iter().map(Problem::general).collect()
                } else {
                    problems
                })
            })
            .await?;
            Err(invalid(errors))
        }
    }
}

#[cfg(test)]
#[path = "change_tests.rs"]
mod tests;
