//! Records a phone's audio to a WAV file ([`record`] → [`Recording`]): the `Record` dialplan
//! application and call recording.
//!
//! The recorder task reads [`TapPacket`]s (copies of the phone's audio payloads, from
//! [`super::relay::RelaySession::set_tap`]), decodes G.711 to linear PCM and writes a WAV
//! file: PCM 16-bit, 8000 Hz, mono. The 44-byte header is written first with zero sizes and
//! patched when the recording stops, so a crash leaves a file most players still open.
//! Timestamps place the audio: a forward jump up to [`MAX_GAP`] (silence suppression, lost
//! packets) is filled with silence, a larger one (a new stream) is joined without a gap,
//! and packets older than what was written (late, duplicated) are dropped.
//!
//! [`Recording::silent_for`] resolves once the audio has been quiet for a while (the
//! `silence` argument of `Record`): a packet is quiet when the mean magnitude of its samples
//! is below [`SILENCE_LEVEL`]; filled gaps count as quiet.
//!
//! The task ends when [`Recording::stop`] is called (after writing what is already queued),
//! when the tap's sender goes away (tap removed, relay closed), or at shutdown; the header is
//! patched in every case.
//!
//! Depends on `runtime` and the sibling `player` (for [`PlayCodec`]) and `relay` modules.

use super::player::PlayCodec;
use super::relay::TapPacket;
use crate::runtime::Lifecycle;
use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::fs::File;
use tokio::io::{AsyncSeekExt, AsyncWriteExt, BufWriter};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Longest timestamp gap filled with silence: 5 s at 8 kHz.
pub const MAX_GAP: u32 = 5 * 8000;
/// Mean absolute sample value below which a packet counts as silence (about -40 dBFS:
/// line noise and breathing, not speech).
pub const SILENCE_LEVEL: u32 = 320;
/// Size of the canonical PCM WAV header.
pub const WAV_HEADER_LEN: u64 = 44;
/// Payload type of comfort noise (RFC 3389), which is not recorded.
const CN_PAYLOAD: u8 = 13;
/// Most data bytes a RIFF file can describe (its sizes are 32-bit).
const MAX_DATA_BYTES: u64 = u32::MAX as u64 - 36;

/// Why a recording failed.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Creating the directory or file, writing, or patching the header failed.
    #[error("recording to {} failed", path.display())]
    Io {
        /// The recording's file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The recorder task panicked.
    #[error("recorder task for {} died", path.display())]
    Task {
        /// The recording's file.
        path: PathBuf,
    },
}

/// What a finished recording holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordingSummary {
    /// The WAV file written.
    pub path: PathBuf,
    /// Length of the audio.
    pub duration: Duration,
    /// Size of the file, header included.
    pub bytes: u64,
}

/// A running recording; dropping it stops the task (the file is still completed).
#[derive(Debug)]
pub struct Recording {
    path: PathBuf,
    stop: CancellationToken,
    /// Taken by [`Recording::stop`] (`Drop` forbids moving it out otherwise).
    task: Option<JoinHandle<Result<RecordingSummary, RecordError>>>,
    /// Samples of silence at the end of what was recorded so far.
    quiet: watch::Receiver<u64>,
}

impl Recording {
    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Resolves once the last `duration` of recorded audio was silence (see the module docs);
    /// never when `duration` is zero or the recording ended. Cancel-safe.
    pub async fn silent_for(&mut self, duration: Duration) {
        let samples = (duration.as_millis() * 8) as u64;
        if samples == 0 || self.quiet.wait_for(|&q| q >= samples).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Stops recording: writes what is already queued, patches the header, returns the
    /// summary (or the error that ended the recording early).
    pub async fn stop(mut self) -> Result<RecordingSummary, RecordError> {
        self.stop.cancel();
        let path = self.path.clone();
        match self.task.take() {
            Some(task) => task.await.unwrap_or(Err(RecordError::Task { path })),
            None => Err(RecordError::Task { path }),
        }
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Starts recording the packets of `rx` (encoded as `codec` unless their payload type says
/// PCMU 0 / PCMA 8) to `path`, creating parent directories; the task runs on `lifecycle`'s
/// tracker and in the caller's tracing span.
pub fn record(
    path: PathBuf,
    codec: PlayCodec,
    rx: mpsc::Receiver<TapPacket>,
    lifecycle: &Lifecycle,
) -> Recording {
    let stop = lifecycle.shutdown.child_token();
    let (quiet_tx, quiet) = watch::channel(0);
    let task =
        run(path.clone(), codec, rx, stop.clone(), quiet_tx).instrument(tracing::Span::current());
    Recording {
        path,
        stop,
        task: Some(lifecycle.tracker.spawn(task)),
        quiet,
    }
}

/// The canonical header of a PCM 16-bit 8 kHz mono WAV with `data_len` bytes of samples.
pub fn wav_header(data_len: u32) -> [u8; WAV_HEADER_LEN as usize] {
    let mut h = [0u8; WAV_HEADER_LEN as usize];
    h[0..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&data_len.saturating_add(36).to_le_bytes());
    h[8..16].copy_from_slice(b"WAVEfmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&1u16.to_le_bytes()); // PCM
    h[22..24].copy_from_slice(&1u16.to_le_bytes()); // mono
    h[24..28].copy_from_slice(&8000u32.to_le_bytes());
    h[28..32].copy_from_slice(&16000u32.to_le_bytes()); // byte rate
    h[32..34].copy_from_slice(&2u16.to_le_bytes()); // block align
    h[34..36].copy_from_slice(&16u16.to_le_bytes()); // bits per sample
    h[36..40].copy_from_slice(b"data");
    h[40..44].copy_from_slice(&data_len.to_le_bytes());
    h
}

/// Places packets on the timeline and turns them into little-endian PCM bytes.
#[derive(Debug)]
struct Timeline {
    codec: PlayCodec,
    /// Timestamp right after the last packet written.
    next_ts: Option<u32>,
    /// Data bytes written so far.
    data: u64,
    /// Reused output buffer.
    buf: Vec<u8>,
    /// Samples of silence at the end of what was written.
    quiet: u64,
}

impl Timeline {
    /// The bytes to append for `packet` (empty when it is dropped).
    fn bytes_for(&mut self, packet: &TapPacket) -> &[u8] {
        self.buf.clear();
        let codec = match packet.payload_type {
            0 => PlayCodec::Pcmu,
            8 => PlayCodec::Pcma,
            CN_PAYLOAD => return &[],
            _ => self.codec,
        };
        if let Some(expected) = self.next_ts {
            let gap = packet.timestamp.wrapping_sub(expected) as i32;
            if gap < 0 {
                return &[]; // late or duplicate: its place was already written
            }
            if gap > 0 && gap as u32 <= MAX_GAP {
                self.buf.resize(gap as usize * 2, 0);
            }
        }
        self.next_ts = Some(packet.timestamp.wrapping_add(packet.payload.len() as u32));
        self.quiet += self.buf.len() as u64 / 2; // the gap filled so far
        let mut magnitude: u64 = 0;
        for &code in packet.payload.iter() {
            let sample = codec.decode(code);
            magnitude += u64::from(sample.unsigned_abs());
            self.buf.extend_from_slice(&sample.to_le_bytes());
        }
        let n = packet.payload.len() as u64;
        if n > 0 && magnitude / n >= u64::from(SILENCE_LEVEL) {
            self.quiet = 0;
        } else {
            self.quiet += n;
        }
        let room = MAX_DATA_BYTES.saturating_sub(self.data) as usize;
        self.buf.truncate(room);
        self.data += self.buf.len() as u64;
        &self.buf
    }
}

/// The recorder task (see the module docs).
async fn run(
    path: PathBuf,
    codec: PlayCodec,
    mut rx: mpsc::Receiver<TapPacket>,
    stop: CancellationToken,
    quiet: watch::Sender<u64>,
) -> Result<RecordingSummary, RecordError> {
    let io = |source| RecordError::Io {
        path: path.clone(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        tokio::fs::create_dir_all(parent).await.map_err(io)?;
    }
    let mut file = BufWriter::new(File::create(&path).await.map_err(io)?);
    file.write_all(&wav_header(0)).await.map_err(io)?;
    let mut timeline = Timeline {
        codec,
        next_ts: None,
        data: 0,
        buf: Vec::with_capacity(4 * 160),
        quiet: 0,
    };
    loop {
        let packet = tokio::select! {
            biased;
            _ = stop.cancelled() => break,
            p = rx.recv() => p,
        };
        let Some(packet) = packet else {
            break; // the tap went away
        };
        file.write_all(timeline.bytes_for(&packet))
            .await
            .map_err(io)?;
        quiet.send_replace(timeline.quiet);
    }
    // Stopped: what the relay already queued belongs to the recording.
    while let Ok(packet) = rx.try_recv() {
        file.write_all(timeline.bytes_for(&packet))
            .await
            .map_err(io)?;
    }
    let data = timeline.data;
    file.flush().await.map_err(io)?;
    let mut file = file.into_inner();
    file.seek(SeekFrom::Start(0)).await.map_err(io)?;
    file.write_all(&wav_header(data as u32)).await.map_err(io)?;
    file.flush().await.map_err(io)?;
    let summary = RecordingSummary {
        path: path.clone(),
        duration: Duration::from_micros(data / 2 * 1_000_000 / 8000),
        bytes: WAV_HEADER_LEN + data,
    };
    tracing::debug!(path = %path.display(), bytes = summary.bytes, "recording finished");
    Ok(summary)
}

#[cfg(test)]
#[path = "recorder_tests.rs"]
mod tests;
