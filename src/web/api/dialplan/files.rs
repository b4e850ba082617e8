//! The dialplan directory as the editor sees it: the `*.conf` files (what
//! `Dialplan::load_dir` reads, in the same order), a candidate set where one file is
//! replaced, added or removed in memory, its validation with file/line/column problems, and
//! atomic writes (temporary file + rename in the same directory, permissions kept).
//!
//! Blocking file I/O throughout: the handlers call it from `spawn_blocking`.
//!
//! Depends on: `crate::dialplan` (`Dialplan::parse_files`, `DialplanError`), std, serde,
//! utoipa.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::Serialize;
use utoipa::ToSchema;

use crate::dialplan::{Dialplan, DialplanError};

/// The largest file the editor writes (a dialplan of thousands of lines is far smaller).
pub(crate) const MAX_FILE_BYTES: usize = 1024 * 1024;

/// The longest file name accepted.
const MAX_NAME_LEN: usize = 128;

/// Suffix of the files the dialplan is read from.
const SUFFIX: &str = ".conf";

/// A file system failure, with the path it concerns.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub(crate) struct FileError {
    /// The file or directory.
    pub(crate) path: PathBuf,
    /// The I/O error.
    pub(crate) source: io::Error,
}

impl FileError {
    /// Whether the file does not exist.
    pub(crate) fn not_found(&self) -> bool {
        self.source.kind() == io::ErrorKind::NotFound
    }
}

/// `op` on `path`, its error tagged with the path.
fn at<T>(path: &Path, op: io::Result<T>) -> Result<T, FileError> {
    op.map_err(|source| FileError {
        path: path.to_owned(),
        source,
    })
}

/// One file of the directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub(crate) struct FileInfo {
    /// The file name (`extensions.conf`).
    pub(crate) name: String,
    /// Its size in bytes.
    pub(crate) size: u64,
    /// Last modification, Unix ms.
    pub(crate) modified_ms: i64,
}

/// One problem of a candidate dialplan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub(crate) struct Problem {
    /// The file it is in (a name of the directory); null when it concerns no file.
    pub(crate) file: Option<String>,
    /// 1-based line; null when the problem has no position (a file that cannot be read).
    pub(crate) line: Option<usize>,
    /// 1-based column, in characters.
    pub(crate) col: Option<usize>,
    /// What is wrong (without the position).
    pub(crate) message: String,
}

impl Problem {
    /// A problem with no file or position (e.g. a reload message).
    pub(crate) fn general(message: impl Into<String>) -> Problem {
        Problem {
            file: None,
            line: None,
            col: None,
            message: message.into(),
        }
    }

    fn from_error(error: &DialplanError) -> Problem {
        let text = error.to_string();
        match error {
            DialplanError::Io { path, source } => Problem {
                file: Some(path.display().to_string()),
                line: None,
                col: None,
                message: format!("cannot read: {source}"),
            },
            _ => match error.location() {
                Some(at) => {
                    let prefix = format!("{at}: ");
                    Problem {
                        file: Some(at.path.display().to_string()),
                        line: Some(at.line),
                        col: Some(at.column),
                        message: text.strip_prefix(&prefix).unwrap_or(&text).to_owned(),
                    }
                }
                None => Problem::general(text),
            },
        }
    }
}

/// Whether `name` may be a dialplan file of the editor: `[A-Za-z0-9_.-]+\.conf`, no path.
pub(crate) fn check_name(name: &str) -> Result<(), &'static str> {
    let stem = name.strip_suffix(SUFFIX).ok_or("must end with .conf")?;
    if stem.is_empty() {
        return Err("must have a name before .conf");
    }
    if name.len() > MAX_NAME_LEN {
        return Err("longer than 128 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    {
        return Err("may only contain letters, digits, '_', '.' and '-' (no path)");
    }
    Ok(())
}

/// Whether `path` is a file the dialplan loader reads (`*.conf`, a regular file or a link to
/// one), like `Dialplan::load_dir`.
fn is_dialplan_file(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "conf") && path.is_file()
}

/// The dialplan files of `dir` with their names, sorted by name (the load order).
fn paths(dir: &Path) -> Result<Vec<(String, PathBuf)>, FileError> {
    let mut out = Vec::new();
    for entry in at(dir, fs::read_dir(dir))? {
        let path = at(dir, entry)?.path();
        if !is_dialplan_file(&path) {
            continue;
        }
        // A name that is not UTF-8 is still read by the loader: keep it (shown lossily;
        // the editor cannot open it by name, but its problems are reported).
        if let Some(name) = path.file_name() {
            out.push((name.to_string_lossy().into_owned(), path.clone()));
        }
    }
    // The loader's order: by path (for UTF-8 names, the same as by name).
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

/// The files of `dir`, sorted by name.
pub(crate) fn list(dir: &Path) -> Result<Vec<FileInfo>, FileError> {
    paths(dir)?
        .into_iter()
        .map(|(name, path)| {
            let meta = at(&path, fs::metadata(&path))?;
            let modified_ms = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
            Ok(FileInfo {
                name,
                size: meta.len(),
                modified_ms,
            })
        })
        .collect()
}

/// The text of `dir/name` (not found: [`FileError::not_found`]).
pub(crate) fn read(dir: &Path, name: &str) -> Result<String, FileError> {
    let path = dir.join(name);
    at(&path, fs::read_to_string(&path))
}

/// Every dialplan file of `dir` with its text, in load order. A file that cannot be read
/// as text is kept as a problem (the loader would reject the directory for it too).
pub(crate) fn read_set(dir: &Path) -> Result<FileSet, FileError> {
    let mut set = FileSet::default();
    for (name, path) in paths(dir)? {
        match fs::read_to_string(&path) {
            Ok(text) => set.files.push((name, text)),
            Err(source) => set.unreadable.push(Problem {
                file: Some(name),
                line: None,
                col: None,
                message: format!("cannot read: {source}"),
            }),
        }
    }
    Ok(set)
}

/// The dialplan files of a directory, or a candidate derived from them.
#[derive(Debug, Clone, Default)]
pub(crate) struct FileSet {
    /// `(name, text)`, sorted by name.
    files: Vec<(String, String)>,
    /// Files that could not be read.
    unreadable: Vec<Problem>,
}

impl FileSet {
    /// How many files the set has (unreadable ones included).
    pub(crate) fn len(&self) -> usize {
        self.files.len() + self.unreadable.len()
    }

    /// Replaces or adds `name` (kept in name order).
    pub(crate) fn put(&mut self, name: &str, text: &str) {
        match self.files.binary_search_by(|(n, _)| n.as_str().cmp(name)) {
            Ok(i) => self.files[i].1 = text.to_owned(),
            Err(i) => self.files.insert(i, (name.to_owned(), text.to_owned())),
        }
        self.unreadable.retain(|p| p.file.as_deref() != Some(name));
    }

    /// Removes `name`.
    pub(crate) fn remove(&mut self, name: &str) {
        self.files.retain(|(n, _)| n != name);
        self.unreadable.retain(|p| p.file.as_deref() != Some(name));
    }

    /// Every problem of the set as a dialplan (empty: it loads). Diagnostics name files by
    /// their name only.
    pub(crate) fn problems(&self) -> Vec<Problem> {
        if !self.unreadable.is_empty() {
            return self.unreadable.clone();
        }
        let files: Vec<(PathBuf, String)> = self
            .files
            .iter()
            .map(|(n, t)| (PathBuf::from(n), t.clone()))
            .collect();
        match Dialplan::parse_files(&files) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.errors.iter().map(Problem::from_error).collect(),
        }
    }
}

/// Writes `content` to `dir/name` atomically: a temporary file in the same directory
/// (not `*.conf`, so never loaded), flushed to disk, given the old file's permissions, then
/// renamed over the file; the directory is synced. A symbolic link is followed (the link
/// stays, its target is replaced).
pub(crate) fn write_atomic(dir: &Path, name: &str, content: &[u8]) -> Result<(), FileError> {
    let link = dir.join(name);
    let target = match fs::canonicalize(&link) {
        Ok(real) => real,
        Err(e) if e.kind() == io::ErrorKind::NotFound => link,
        Err(source) => return Err(FileError { path: link, source }),
    };
    let parent = target.parent().unwrap_or(dir).to_owned();
    let file_name = target
        .file_name()
        .map_or_else(|| name.to_owned(), |n| n.to_string_lossy().into_owned());
    let tmp = parent.join(format!(".{file_name}.web-tmp"));
    let permissions = fs::metadata(&target).ok().map(|m| m.permissions());
    // A leftover of an interrupted save (the saves are serialised: never a live one).
    let _ = fs::remove_file(&tmp);
    let written = (|| {
        let mut file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        file.write_all(content)?;
        if let Some(p) = permissions {
            file.set_permissions(p)?;
        }
        file.sync_all()
    })();
    if let Err(source) = written {
        let _ = fs::remove_file(&tmp);
        return Err(FileError { path: tmp, source });
    }
    if let Err(source) = fs::rename(&tmp, &target) {
        let _ = fs::remove_file(&tmp);
        return Err(FileError {
            path: target,
            source,
        });
    }
    sync_dir(&parent)
}

/// Removes `dir/name` and syncs the directory.
pub(crate) fn remove(dir: &Path, name: &str) -> Result<(), FileError> {
    let path = dir.join(name);
    at(&path, fs::remove_file(&path))?;
    sync_dir(dir)
}

/// Makes a rename or removal in `dir` durable.
fn sync_dir(dir: &Path) -> Result<(), FileError> {
    at(dir, fs::File::open(dir).and_then(|d| d.sync_all()))
}

#[cfg(test)]
#[path = "files_tests.rs"]
mod tests;
