//! The dialplan driving a call: the actor runs the [`Interpreter`] until it stops at an
//! application that needs I/O, performs it here, and resumes the interpreter when it is
//! done. What an application waits for is kept in [`Running`]; the actor's event loop
//! delivers its events (a timer, the end of a prompt, a DTMF digit, the end of a `Dial`).
//!
//! ```text
//!  INVITE ─► start(context, exten) ─no match─► 404
//!                 │
//!          ┌──► advance: interpreter.run ─► End / Hangup ─► final response or BYE
//!          │          │ App
//!          │          ▼
//!          │     AppStart ─► perform ─┬─ done at once (Answer, Ringing, Progress, Queue, Set-like)
//!          │                          └─ Running::{Wait, Play, WaitExten, Read, Echo, Moh,
//!          │                                      Record, Dial, Bridged}
//!          └──── AppEnd ◄── timer / prompt over / digit / '#' / Dial failed (DIALSTATUS)
//! ```
//!
//! Digits follow Asterisk: `Background` is interrupted by the first digit, and digits are then
//! collected (digit timeout [`DIGIT_TIMEOUT`]) while more could still match an extension of the
//! current context; an exact match jumps to it, anything else to `i` (or hangs up when there is
//! no `i`). `WaitExten` without a digit goes to `t`. `Read` collects into a variable.
//!
//! Depends on `dialplan` (interpreter), `media` (player, recorder, sounds) and the actor.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::dialplan::interp::{self, Action, AppAction, AppKind};
use crate::media::player::Source;
use crate::media::relay::{Leg, LegMode};
use crate::media::sound::Sound;
use crate::switch::cause::{HangupCause, HangupSide, Q850};
use crate::switch::errors::CallError;

use super::actor::{Call, Phase};
use super::scope::CallScope;

/// How long `WaitExten` waits when it is given no timeout (Asterisk's response timeout).
pub(super) const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait for the next digit of an extension being dialled in an IVR.
pub(super) const DIGIT_TIMEOUT: Duration = Duration::from_secs(3);

/// Applications that complete at once (`Answer`, `Queue`, ...) one `advance` may run in a row
/// before the dialplan is taken for a loop (the interpreter's own step budget covers the
/// applications it runs itself).
const MAX_IMMEDIATE_APPS: u32 = 1_000;

/// The music-on-hold sound (looped).
const MOH: &str = "moh";

/// What the application in progress waits for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) enum Running {
    /// Nothing: between applications, or the dialplan is over.
    #[default]
    Idle,
    /// `Wait`: the timer.
    Wait,
    /// `Playback` (not interruptible) or `Background` (a digit interrupts it).
    Play {
        /// Whether a digit stops it and starts extension collection.
        interruptible: bool,
    },
    /// Collecting an extension (`WaitExten`, or digits after `Background`).
    Collect,
    /// `Read(var,...)`.
    Read {
        /// The variable set at the end.
        var: String,
        /// Stop after this many digits.
        max: Option<u32>,
        /// Timeout after the prompt and between digits.
        timeout: Duration,
    },
    /// `Echo`: until `#`.
    Echo,
    /// `MusicOnHold`: until the timer, if any.
    Moh,
    /// `Record`: until `#` or the timer.
    Record,
    /// `Dial`: legs ringing.
    Dial,
    /// `Dial` answered: the legs are bridged.
    Bridged,
}

/// Whether an application finished at once or left something running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    /// Continue with the next step.
    Done,
    /// Wait for the event [`Running`] names (or the call ended).
    Wait,
}

impl Call {
    /// Starts the dialplan at `exten` in `context`; 404 when nothing matches.
    pub(super) async fn start_dialplan(&mut self, context: &str, exten: &str) {
        let dialplan = self.ctx.dialplan.current();
        match interp::start(dialplan, context, exten) {
            Ok(interpreter) => {
                self.interp = Some(interpreter);
                self.phase = Phase::Dialplan;
                self.advance().await;
            }
            Err(error) => {
                info!(%error, "no dialplan match: 404");
                let error = CallError::NotFound {
                    target: exten.to_owned(),
                };
                let cause = error.hangup_cause(HangupSide::Switch);
                self.fail_a(404, cause).await;
            }
        }
    }

    /// Runs the interpreter until an application waits for something or the dialplan ends.
    pub(super) async fn advance(&mut self) {
        for done_at_once in 0.. {
            if self.phase == Phase::Ending {
                return;
            }
            if done_at_once == MAX_IMMEDIATE_APPS {
                // e.g. `same => n,Answer()` + `Goto(1)`: every step completes without waiting,
                // which would hold this task (and its worker thread) forever.
                warn!(
                    limit = MAX_IMMEDIATE_APPS,
                    "dialplan loops without waiting: hanging up"
                );
                return self.finish_dialplan(None).await;
            }
            self.running = Running::Idle;
            self.app_deadline = None;
            let Some(mut interpreter) = self.interp.take() else {
                return;
            };
            let dialplan = Arc::clone(interpreter.dialplan());
            let peer = self
                .winner
                .map(|w| self.b[w].channel.channel().name.clone());
            let result = {
                let mut scope = CallScope {
                    channel: self.a.channel.channel_mut(),
                    globals: &self.ctx.globals,
                    dialplan: &dialplan,
                    dial: self.outcome,
                    peer_name: peer.as_deref(),
                };
                interpreter.run(&mut scope)
            };
            let (context, exten, priority) = interpreter.location();
            let here = format!("{context},{exten},{priority}");
            // The channel follows the dialplan (Asterisk's snapshot context/exten: CDR
            // `dcontext`/`dst` name where the call is when a record is made).
            let channel = self.a.channel.channel_mut();
            if channel.context != context || channel.exten != exten {
                channel.set_location(context, exten);
            }
            self.interp = Some(interpreter);
            match result {
                Err(error) => {
                    warn!(%error, at = %here, "dialplan error: hanging up");
                    return self.finish_dialplan(None).await;
                }
                Ok(Action::End) => {
                    debug!(at = %here, "dialplan ended");
                    return self.finish_dialplan(None).await;
                }
                Ok(Action::App(app)) => {
                    info!(app = %app.app, data = %app.data, at = %here, "dialplan application");
                    let bus = self.ctx.bus.clone();
                    self.a
                        .channel
                        .start_app(&app.app, app.data.clone(), &bus)
                        .await;
                    if self.perform(app).await == Step::Wait {
                        return;
                    }
                    self.a.channel.end_app(&bus).await;
                }
            }
        }
    }

    /// The running application finished: `AppEnd`, then the next steps.
    pub(super) async fn app_done(&mut self) {
        self.running = Running::Idle;
        self.app_deadline = None;
        if self.phase == Phase::Ending {
            return;
        }
        let bus = self.ctx.bus.clone();
        self.a.channel.end_app(&bus).await;
        // Boxed: an application can finish inside `advance` itself (a `Dial` whose every
        // target fails at once), which makes the future recursive.
        Box::pin(self.advance()).await;
    }

    /// Performs one application.
    async fn perform(&mut self, app: AppAction) -> Step {
        match app.kind {
            AppKind::Answer => {
                self.local_media(true).await;
                Step::Done
            }
            AppKind::Ringing => {
                self.send_ringing().await;
                Step::Done
            }
            AppKind::Progress => {
                self.local_media(false).await;
                Step::Done
            }
            AppKind::Wait { duration } => {
                self.wait_for(Running::Wait, Some(duration));
                Step::Wait
            }
            AppKind::Hangup { cause } => {
                self.finish_dialplan(cause).await;
                Step::Wait
            }
            AppKind::Dial {
                targets,
                timeout,
                options,
            } => self.start_dial(&targets, timeout, &options).await,
            AppKind::Playback { files } => {
                // Playback(files,noanswer): early media (183) on an unanswered call.
                let noanswer = app
                    .data
                    .split(',')
                    .nth(1)
                    .is_some_and(|o| o.contains("noanswer"));
                self.play_files(&files, false, !noanswer).await
            }
            AppKind::Background { files } => self.play_files(&files, true, true).await,
            AppKind::WaitExten { timeout } => {
                self.wait_for(Running::Collect, Some(timeout.unwrap_or(RESPONSE_TIMEOUT)));
                if !self.digits.is_empty() {
                    self.collect_exten().await;
                }
                Step::Wait
            }
            AppKind::Read {
                var,
                file,
                max_digits,
                timeout,
            } => self.start_read(var, file, max_digits, timeout).await,
            AppKind::Echo => {
                if !self.local_media(true).await {
                    return Step::Wait;
                }
                self.stop_player().await;
                if let Some(relay) = &self.relay {
                    relay.set_mode(Leg::A, LegMode::Echo);
                }
                self.wait_for(Running::Echo, None);
                Step::Wait
            }
            AppKind::MusicOnHold => {
                // MusicOnHold([class[,duration]]): the class is not used (one music source).
                let duration = app
                    .data
                    .split(',')
                    .nth(1)
                    .and_then(|d| d.trim().parse::<f64>().ok())
                    .filter(|d| *d > 0.0 && d.is_finite())
                    .map(Duration::from_secs_f64);
                if !self.local_media(true).await {
                    return Step::Wait;
                }
                self.play_moh().await;
                self.wait_for(Running::Moh, duration);
                Step::Wait
            }
            AppKind::Record { file } => self.start_record(&file, &app.data).await,
            AppKind::Queue { name } => {
                warn!(queue = %name, "Queue: the ACD is not available yet; QUEUESTATUS=JOINUNAVAIL");
                self.a
                    .channel
                    .channel_mut()
                    .set_var("QUEUESTATUS", "JOINUNAVAIL");
                Step::Done
            }
            AppKind::Unknown => {
                warn!(app = %app.app, "no such application: hanging up");
                self.finish_dialplan(None).await;
                Step::Wait
            }
        }
    }

    /// Sets what the application waits for, with an optional timer.
    pub(super) fn wait_for(&mut self, running: Running, timeout: Option<Duration>) {
        self.running = running;
        self.app_deadline = timeout.map(|t| Instant::now() + t);
    }

    /// `Ringing` (and `Dial` option `r`): one 180 without SDP to a caller that has had no
    /// provisional response with media yet.
    pub(super) async fn send_ringing(&mut self) {
        use crate::switch::channel::ChannelState;
        if self.a.channel.channel().state == ChannelState::Down {
            self.send_provisional(180, ChannelState::Ringing, None)
                .await;
        }
    }

    /// The dialplan ended (`End`, `Hangup`, an error): an unanswered caller gets a final
    /// response (for `cause`, else the last failed `Dial`'s, else 480 for normal clearing:
    /// [`Q850::rejection_status`]), an answered one a BYE.
    pub(super) async fn finish_dialplan(&mut self, cause: Option<u16>) {
        if self.phase == Phase::Ending {
            return;
        }
        self.running = Running::Idle;
        let explicit = cause.map(|c| HangupCause::new(Q850::from_code(c), HangupSide::Switch));
        if !self.a.final_sent {
            let (status, cause, redirect) = match (explicit, self.last_failure.take()) {
                (Some(c), _) => (c.q850.rejection_status(), c, None),
                (None, Some(f)) => (f.status, f.cause, f.redirect),
                (None, None) => {
                    let c = HangupCause::normal(HangupSide::Switch);
                    (c.q850.rejection_status(), c, None)
                }
            };
            return self.fail_a_with(status, cause, redirect).await;
        }
        let cause = explicit.unwrap_or_else(|| HangupCause::normal(HangupSide::Switch));
        self.hangup_bridged(None, cause).await;
    }

    /// The application timer fired.
    pub(super) async fn on_app_timeout(&mut self) {
        self.app_deadline = None;
        match self.running.clone() {
            Running::Wait | Running::Moh => {
                self.stop_player().await;
                self.app_done().await;
            }
            Running::Collect => {
                if self.digits.is_empty() {
                    self.goto_special("t", "").await;
                } else {
                    self.exten_complete(true).await;
                }
            }
            Running::Read { var, .. } => self.finish_read(&var, "TIMEOUT").await,
            Running::Record => self.finish_record("TIMEOUT").await,
            _ => {}
        }
    }

    /// The prompt being played ran out.
    pub(super) async fn on_player_done(&mut self) {
        // The player handle stays until stopped (it keeps the RTP state); take it now.
        self.stop_player().await;
        match self.running.clone() {
            Running::Play { .. } => self.app_done().await,
            Running::Read { timeout, .. } => self.app_deadline = Some(Instant::now() + timeout),
            _ => {}
        }
    }

    /// A digit from the caller (RFC 4733), delivered to the running application.
    pub(super) async fn on_digit(&mut self, digit: char) {
        match self.running.clone() {
            Running::Play {
                interruptible: true,
            } => {
                self.stop_player().await;
                self.digits.push(digit);
                self.running = Running::Collect;
                self.collect_exten().await;
            }
            Running::Collect => {
                self.digits.push(digit);
                self.collect_exten().await;
            }
            Running::Read { var, max, timeout } => {
                self.stop_player().await;
                if digit == '#' {
                    return self.finish_read(&var, "OK").await;
                }
                self.digits.push(digit);
                let full = max.is_some_and(|m| self.digits.chars().count() >= m as usize);
                if full {
                    return self.finish_read(&var, "OK").await;
                }
                self.app_deadline = Some(Instant::now() + timeout);
            }
            Running::Echo if digit == '#' => {
                if let Some(relay) = &self.relay {
                    relay.set_mode(Leg::A, LegMode::Local);
                }
                self.app_done().await;
            }
            Running::Record if digit == '#' => self.finish_record("DTMF").await,
            _ => debug!(%digit, "digit ignored by the running application"),
        }
    }

    /// After a digit of an extension: jump when it is complete, keep collecting while more
    /// digits could match, else the invalid-extension handler.
    async fn collect_exten(&mut self) {
        let Some(interpreter) = &self.interp else {
            return;
        };
        let (context, _, _) = interpreter.location();
        let more = interpreter.dialplan().can_match_more(context, &self.digits);
        if more {
            self.app_deadline = Some(Instant::now() + DIGIT_TIMEOUT);
            return;
        }
        self.exten_complete(false).await;
    }

    /// No more digits are coming: go to the dialled extension, or to `i`.
    async fn exten_complete(&mut self, timed_out: bool) {
        let digits = std::mem::take(&mut self.digits);
        let Some(interpreter) = self.interp.as_mut() else {
            return;
        };
        let context = interpreter.location().0.to_owned();
        let first = interpreter
            .dialplan()
            .find(&context, &digits)
            .and_then(|m| m.steps().first().map(|s| s.priority));
        debug!(%digits, timed_out, "extension entered");
        match first {
            Some(priority) if interpreter.goto(&context, &digits, priority).is_ok() => {
                self.app_done().await
            }
            _ => self.goto_special("i", &digits).await,
        }
    }

    /// Jumps to the `i` (invalid) or `t` (timeout) extension of the current context, or hangs
    /// up when the context has none (as Asterisk does).
    async fn goto_special(&mut self, exten: &str, digits: &str) {
        let Some(interpreter) = self.interp.as_mut() else {
            return;
        };
        let context = interpreter.location().0.to_owned();
        if !digits.is_empty() {
            self.a
                .channel
                .channel_mut()
                .set_var("INVALID_EXTEN", digits);
        }
        let first = interpreter
            .dialplan()
            .find(&context, exten)
            .filter(|m| m.extension.pattern().is_literal())
            .and_then(|m| m.steps().first().map(|s| s.priority));
        match first {
            Some(priority) if interpreter.goto(&context, exten, priority).is_ok() => {
                self.app_done().await
            }
            _ => {
                info!(context = %context, exten, "no `{exten}` extension: hanging up");
                let bus = self.ctx.bus.clone();
                self.a.channel.end_app(&bus).await;
                self.finish_dialplan(None).await;
            }
        }
    }

    /// `Playback`/`Background`: answers if needed (or gives early media when not `answer`),
    /// then plays the files in order.
    async fn play_files(&mut self, files: &[String], interruptible: bool, answer: bool) -> Step {
        if !self.local_media(answer).await {
            return Step::Wait;
        }
        let sounds = self.load_sounds(files);
        let status = if sounds.len() == files.len() {
            "SUCCESS"
        } else {
            "FAILED"
        };
        self.a
            .channel
            .channel_mut()
            .set_var("PLAYBACKSTATUS", status);
        if sounds.is_empty() || !self.start_player(Source::Sounds(sounds)).await {
            return Step::Done;
        }
        self.wait_for(Running::Play { interruptible }, None);
        Step::Wait
    }

    /// Loads sounds by name; missing or unreadable ones are logged and skipped.
    pub(super) fn load_sounds(&self, names: &[String]) -> Vec<Arc<Sound>> {
        names
            .iter()
            .filter(|n| !n.trim().is_empty())
            .filter_map(|name| match self.ctx.sounds.load(name.trim()) {
                Ok(sound) => Some(sound),
                Err(error) => {
                    warn!(%error, sound = %name, "sound not played");
                    None
                }
            })
            .collect()
    }

    /// Music on hold to the caller: the `moh` sound looped (silence when there is none).
    pub(super) async fn play_moh(&mut self) {
        match self.ctx.sounds.load(MOH) {
            Ok(sound) => {
                self.start_player(Source::Loop(sound)).await;
            }
            Err(error) => warn!(%error, "no music on hold sound"),
        }
    }

    /// `Read(var[,file[,max[,options[,attempts[,timeout]]]]])`.
    async fn start_read(
        &mut self,
        var: String,
        file: Option<String>,
        max: Option<u32>,
        timeout: Option<Duration>,
    ) -> Step {
        if !self.local_media(true).await {
            return Step::Wait;
        }
        self.digits.clear();
        let timeout = timeout.unwrap_or(RESPONSE_TIMEOUT);
        let mut playing = false;
        if let Some(file) = file.filter(|f| !f.is_empty()) {
            let names: Vec<String> = file.split('&').map(str::to_owned).collect();
            let sounds = self.load_sounds(&names);
            playing = !sounds.is_empty() && self.start_player(Source::Sounds(sounds)).await;
        }
        self.wait_for(
            Running::Read { var, max, timeout },
            (!playing).then_some(timeout),
        );
        Step::Wait
    }

    /// Ends `Read`: the digits into the variable, `READSTATUS`.
    async fn finish_read(&mut self, var: &str, status: &str) {
        self.stop_player().await;
        let digits = std::mem::take(&mut self.digits);
        let status = if status == "TIMEOUT" && !digits.is_empty() {
            "OK"
        } else {
            status
        };
        let channel = self.a.channel.channel_mut();
        if digits.is_empty() {
            channel.unset_var(var);
        } else {
            channel.set_var(var, digits);
        }
        channel.set_var("READSTATUS", status);
        self.app_done().await;
    }
}
