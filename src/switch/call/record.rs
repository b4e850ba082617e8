//! The `Record` application: the caller's audio (the relay's tap on leg A) into a WAV file
//! under `<data>/recordings`, ended by `#`, the time limit or the hang-up, with
//! `RECORDED_FILE` (the path without `.wav`, for CDR custom fields) and `RECORD_STATUS`
//! (`DTMF`, `SILENCE`, `TIMEOUT`, `HANGUP`, `ERROR`) as Asterisk sets them. The second
//! argument is the seconds of silence that end the recording (0: none), the third the
//! longest recording (0: none), the fourth options (`q`: no beep).
//!
//! Depends on `media` (relay tap, recorder, player for the beep) and the actor.

use std::path::PathBuf;
use std::time::Duration;

use tracing::{info, warn};

use crate::media::player::Source;
use crate::media::relay::Leg;

use super::actor::{Call, Phase};
use super::exec::{Running, Step};

/// The prompt played before `Record` (unless option `q`).
const BEEP: &str = "beep";

impl Call {
    /// `Record(file.wav[,silence[,maxduration[,options]]])`: the caller's audio into a WAV
    /// file under the recordings directory; `RECORDED_FILE` names it (without extension).
    pub(super) async fn start_record(&mut self, file: &str, data: &str) -> Step {
        let args: Vec<&str> = data.split(',').collect();
        let max = args
            .get(2)
            .and_then(|m| m.trim().parse::<u64>().ok())
            .filter(|m| *m > 0)
            .map(Duration::from_secs);
        let quiet = args.get(3).is_some_and(|o| o.contains('q'));
        self.record_silence = args
            .get(1)
            .and_then(|m| m.trim().parse::<u64>().ok())
            .filter(|m| *m > 0)
            .map(Duration::from_secs);
        let Some(path) = self.recording_path(file) else {
            warn!(
                file,
                "Record: refused file name (must be a relative name ending in .wav)"
            );
            self.a
                .channel
                .channel_mut()
                .set_var("RECORD_STATUS", "ERROR");
            return Step::Done;
        };
        if !self.local_media(true).await {
            return Step::Wait;
        }
        let (Some(relay), Some((codec, _))) = (&self.relay, self.local_codec()) else {
            warn!("Record: the call's codec is not G.711; nothing recorded");
            self.a
                .channel
                .channel_mut()
                .set_var("RECORD_STATUS", "ERROR");
            return Step::Done;
        };
        let (tx, rx) = tokio::sync::mpsc::channel(256);
        relay.set_tap(Leg::A, Some(tx));
        let recording =
            crate::media::recorder::record(path.clone(), codec, rx, &self.ctx.lifecycle);
        self.recording = Some(recording);
        let name = path.with_extension("");
        self.a
            .channel
            .channel_mut()
            .set_var("RECORDED_FILE", name.to_string_lossy());
        info!(path = %path.display(), "recording");
        if !quiet {
            let beep = self.load_sounds(&[BEEP.to_owned()]);
            if !beep.is_empty() {
                self.start_player(Source::Sounds(beep)).await;
            }
        }
        self.wait_for(Running::Record, max);
        Step::Wait
    }

    /// Where `Record(file)` writes: `<recordings>/<file>` with `%d` replaced by a number
    /// that makes it new; `None` for absolute names, `..`, or a format other than WAV.
    fn recording_path(&self, file: &str) -> Option<PathBuf> {
        let file = file.trim();
        let ok_ext = file.to_ascii_lowercase().ends_with(".wav");
        let relative = std::path::Path::new(file)
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        if !ok_ext || !relative || file.is_empty() {
            return None;
        }
        if !file.contains("%d") {
            return Some(self.ctx.recordings.join(file));
        }
        (0..100_000u32)
            .map(|n| self.ctx.recordings.join(file.replace("%d", &n.to_string())))
            .find(|p| !p.exists())
    }

    /// Ends `Record`: tap removed, file finished, `RECORD_STATUS`.
    pub(super) async fn finish_record(&mut self, status: &str) {
        self.stop_player().await;
        self.stop_recording().await;
        self.a
            .channel
            .channel_mut()
            .set_var("RECORD_STATUS", status);
        if self.phase != Phase::Ending {
            self.app_done().await;
        }
    }

    /// Stops a recording in progress (also at hang-up), logging its result.
    pub(super) async fn stop_recording(&mut self) {
        self.record_silence = None;
        if let Some(relay) = &self.relay {
            relay.set_tap(Leg::A, None);
        }
        if let Some(recording) = self.recording.take() {
            match recording.stop().await {
                Ok(summary) => info!(?summary, "recording finished"),
                Err(error) => warn!(%error, "recording failed"),
            }
        }
    }
}
