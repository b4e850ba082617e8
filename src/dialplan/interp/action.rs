//! What the interpreter hands to its caller: [`Action`]s for applications that need I/O,
//! built from an application name and its already expanded data, plus the argument
//! splitting shared with the control-flow applications.
//!
//! ```text
//!  Step { app, args } ──expand──► data ──classify(app, data)──► AppKind ──► Action::App
//!                                                   └─ unknown app ──► AppKind::Unknown
//! ```
//!
//! Depends on: std, `super::InterpError` and [`crate::config::Location`] (for errors).

use std::time::Duration;

use super::InterpError;
use crate::config::Location;

/// What [`super::Interpreter::run`] stops at.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// An application the caller performs; call `run` again afterwards.
    App(AppAction),
    /// The extension ran out of priorities (Asterisk hangs up then).
    End,
}

/// One application to perform, with its name and expanded data (for `APP_START` and the
/// CDR's `lastapp`/`lastdata`).
#[derive(Debug, Clone, PartialEq)]
pub struct AppAction {
    /// The application name as written in the dialplan.
    pub app: String,
    /// The expanded argument text.
    pub data: String,
    /// The parsed request.
    pub kind: AppKind,
}

/// The application-specific part of an [`AppAction`].
#[derive(Debug, Clone, PartialEq)]
pub enum AppKind {
    /// `Answer`.
    Answer,
    /// `Ringing`: send 180.
    Ringing,
    /// `Progress`: send 183 with early media.
    Progress,
    /// `Wait(seconds)` (fractions allowed).
    Wait {
        /// How long to wait.
        duration: Duration,
    },
    /// `Hangup([cause])`.
    Hangup {
        /// The Q.850 cause, `None` for the default (normal clearing).
        cause: Option<u16>,
    },
    /// `Dial(targets[,timeout[,options]])`.
    Dial {
        /// The targets, split on `&` (rung in parallel).
        targets: Vec<String>,
        /// Ring timeout in seconds, `None` for no limit.
        timeout: Option<u32>,
        /// The option letters, verbatim.
        options: String,
    },
    /// `Playback(file[&file...][,options])`.
    Playback {
        /// The files, split on `&`.
        files: Vec<String>,
    },
    /// `Background(file[&file...])`: play while collecting digits.
    Background {
        /// The files, split on `&`.
        files: Vec<String>,
    },
    /// `WaitExten([seconds])`.
    WaitExten {
        /// How long to wait for a digit, `None` for the caller's default.
        timeout: Option<Duration>,
    },
    /// `Read(var[,file[,max_digits[,options[,attempts[,timeout]]]]])`.
    Read {
        /// The variable receiving the digits.
        var: String,
        /// The prompt, if any.
        file: Option<String>,
        /// Stop after this many digits, `None` for no limit (until `#`).
        max_digits: Option<u32>,
        /// Digit timeout, `None` for the caller's default.
        timeout: Option<Duration>,
    },
    /// `Echo`: echo test.
    Echo,
    /// `MusicOnHold([class])`.
    MusicOnHold,
    /// `Record(file[,...])`.
    Record {
        /// The file name (with extension), as written.
        file: String,
    },
    /// `Queue(name[,...])`.
    Queue {
        /// The queue name.
        name: String,
    },
    /// An application this interpreter does not know.
    Unknown,
}

/// Splits `s` at `sep` outside parentheses (Asterisk's argument separator rule).
pub(crate) fn split_top(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            c if c == sep && depth == 0 => {
                parts.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

/// `cond?a:b` → (cond, a, b) with empty branches as `None`; the `:` is searched outside
/// parentheses so that `ExecIf(x?Set(A=1:2))`-style data stays whole.
pub(crate) fn split_condition(data: &str) -> (&str, Option<&str>, Option<&str>) {
    let Some((cond, rest)) = data.split_once('?') else {
        return (data, None, None);
    };
    let mut branches = split_top(rest, ':').into_iter();
    let yes = non_empty(branches.next());
    let no = non_empty(branches.next());
    (cond, yes, no)
}

/// A trimmed branch, `None` when absent or empty.
fn non_empty(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// Builds the action for `app` with expanded `data`.
pub(crate) fn classify(app: &str, data: &str, at: &Location) -> Result<AppKind, InterpError> {
    let bad = |detail: String| InterpError::BadArgument {
        app: app.to_owned(),
        detail,
        at: at.clone(),
    };
    let args = split_top(data, ',');
    let arg = |i: usize| args.get(i).map(|s| s.trim()).filter(|s| !s.is_empty());
    let is = |name: &str| app.eq_ignore_ascii_case(name);
    let kind = if is("Answer") {
        AppKind::Answer
    } else if is("Ringing") {
        AppKind::Ringing
    } else if is("Progress") {
        AppKind::Progress
    } else if is("Wait") {
        AppKind::Wait {
            duration: seconds(arg(0).unwrap_or("0")).map_err(bad)?,
        }
    } else if is("Hangup") {
        AppKind::Hangup {
            cause: arg(0).map(hangup_cause).transpose().map_err(bad)?,
        }
    } else if is("Dial") {
        let targets: Vec<String> = arg(0)
            .unwrap_or("")
            .split('&')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        if targets.is_empty() {
            return Err(bad("no target".to_owned()));
        }
        AppKind::Dial {
            targets,
            timeout: arg(1).map(whole_number).transpose().map_err(bad)?,
            options: arg(2).unwrap_or("").to_owned(),
        }
    } else if is("Playback") || is("Background") {
        let files: Vec<String> = arg(0)
            .unwrap_or("")
            .split('&')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(str::to_owned)
            .collect();
        if files.is_empty() {
            return Err(bad("no file".to_owned()));
        }
        if is("Playback") {
            AppKind::Playback { files }
        } else {
            AppKind::Background { files }
        }
    } else if is("WaitExten") {
        AppKind::WaitExten {
            timeout: arg(0).map(seconds).transpose().map_err(bad)?,
        }
    } else if is("Read") {
        let Some(var) = arg(0) else {
            return Err(bad("no variable".to_owned()));
        };
        AppKind::Read {
            var: var.to_owned(),
            file: arg(1).map(str::to_owned),
            max_digits: arg(2)
                .map(whole_number)
                .transpose()
                .map_err(bad)?
                .filter(|&n| n > 0),
            timeout: arg(5).map(seconds).transpose().map_err(bad)?,
        }
    } else if is("Echo") {
        AppKind::Echo
    } else if is("MusicOnHold") {
        AppKind::MusicOnHold
    } else if is("Record") {
        let Some(file) = arg(0) else {
            return Err(bad("no file".to_owned()));
        };
        AppKind::Record {
            file: file.to_owned(),
        }
    } else if is("Queue") {
        let Some(name) = arg(0) else {
            return Err(bad("no queue name".to_owned()));
        };
        AppKind::Queue {
            name: name.to_owned(),
        }
    } else {
        AppKind::Unknown
    };
    Ok(kind)
}

/// A non-negative number of seconds, fractions allowed.
fn seconds(text: &str) -> Result<Duration, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| format!("`{text}` is not a number of seconds"))
}

/// A non-negative integer.
fn whole_number(text: &str) -> Result<u32, String> {
    text.trim()
        .parse::<u32>()
        .map_err(|_| format!("`{text}` is not a whole number"))
}

/// Q.850 cause names Asterisk's `Hangup` accepts (`ast_str2cause`), with their codes.
const CAUSES: &[(&str, u16)] = &[
    ("UNALLOCATED", 1),
    ("NO_ROUTE_DESTINATION", 3),
    ("NORMAL_CLEARING", 16),
    ("NORMAL", 16),
    ("USER_BUSY", 17),
    ("BUSY", 17),
    ("NO_USER_RESPONSE", 18),
    ("NO_ANSWER", 19),
    ("NOANSWER", 19),
    ("CALL_REJECTED", 21),
    ("NUMBER_CHANGED", 22),
    ("DESTINATION_OUT_OF_ORDER", 27),
    ("INVALID_NUMBER_FORMAT", 28),
    ("NORMAL_UNSPECIFIED", 31),
    ("NORMAL_CIRCUIT_CONGESTION", 34),
    ("CONGESTION", 34),
    ("SWITCH_CONGESTION", 42),
    ("CHANUNAVAIL", 44),
    ("BEARERCAPABILITY_NOTAVAIL", 58),
    ("INTERWORKING", 127),
];

/// A cause given as a number (1..=127) or a name (case-insensitive).
fn hangup_cause(text: &str) -> Result<u16, String> {
    if let Ok(n) = text.parse::<u16>() {
        if (1..=127).contains(&n) {
            return Ok(n);
        }
        return Err(format!("cause {n} is outside 1..127"));
    }
    CAUSES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(text))
        .map(|&(_, code)| code)
        .ok_or_else(|| format!("unknown hang-up cause `{text}`"))
}
