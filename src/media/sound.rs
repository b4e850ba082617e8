//! Sound files for prompts and music on hold: loading, decoding to 8 kHz mono linear PCM, and
//! a cache ([`SoundLibrary`]).
//!
//! A sound is named the way the dialplan names it (`Playback(welcome)`,
//! `Playback(digits/1)`): a path relative to the sounds directory, with or without extension.
//! Without a known extension the library tries, in order, `name.wav`, `.ulaw`, `.ul`,
//! `.alaw`, `.al`, `.sln`, `.raw`. Formats:
//!
//! | extension | content |
//! |---|---|
//! | `.wav` | RIFF/WAVE, mono, 8000 Hz: PCM 16-bit (format 1), A-law (6) or µ-law (7), also inside `WAVE_FORMAT_EXTENSIBLE` |
//! | `.ulaw`, `.ul` | headerless G.711 µ-law bytes |
//! | `.alaw`, `.al` | headerless G.711 A-law bytes |
//! | `.sln`, `.raw` | headerless signed 16-bit little-endian linear PCM |
//!
//! Names are checked before touching the file system: empty names, absolute paths and `..`
//! (or `.`) components are refused, so a dialplan cannot read outside the sounds directory.
//! Decoded sounds are cached by path and re-read when the file's modification time or size
//! changes (an admin replacing a prompt is heard on the next play); the cache holds at most
//! [`CACHE_MAX_SAMPLES`] samples and forgets the least recently used sounds beyond that.
//!
//! Loading is synchronous file I/O on small files; from async code call it inside
//! `tokio::task::spawn_blocking` when prompts may be large or the disk slow.
//!
//! Depends on the sibling `g711` module only.

use super::g711;
use std::collections::HashMap;
use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// Sample rate of every [`Sound`] (narrowband telephony).
pub const SAMPLE_RATE: u32 = 8000;
/// Largest sound file accepted: 32 MiB (over half an hour of 16-bit audio).
pub const MAX_FILE_BYTES: u64 = 32 << 20;
/// Cache budget in samples (16 Mi samples = 32 MiB of PCM, ~35 minutes of audio).
pub const CACHE_MAX_SAMPLES: usize = 16 << 20;
/// Extensions tried, in order, for a name without a known one.
pub const EXTENSIONS: [&str; 7] = ["wav", "ulaw", "ul", "alaw", "al", "sln", "raw"];

/// Decoded audio: 8 kHz mono signed 16-bit linear PCM, shared without copying.
#[derive(Clone, PartialEq, Eq)]
pub struct Sound {
    /// The samples at [`SAMPLE_RATE`].
    pub samples: Arc<[i16]>,
}

impl Sound {
    /// A sound made of `samples` at [`SAMPLE_RATE`].
    pub fn from_samples(samples: Vec<i16>) -> Sound {
        Sound {
            samples: samples.into(),
        }
    }

    /// How long the sound plays.
    pub fn duration(&self) -> Duration {
        Duration::from_micros(self.samples.len() as u64 * 1_000_000 / u64::from(SAMPLE_RATE))
    }
}

impl fmt::Debug for Sound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sound")
            .field("samples", &self.samples.len())
            .finish()
    }
}

/// Why a sound file's content cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// No `RIFF....WAVE` header.
    #[error("not a RIFF/WAVE file")]
    NotWave,
    /// The `fmt ` chunk is missing.
    #[error("no fmt chunk")]
    NoFmt,
    /// The `data` chunk is missing.
    #[error("no data chunk")]
    NoData,
    /// A chunk is shorter than its header or the format requires.
    #[error("truncated {0:?} chunk")]
    Truncated(&'static str),
    /// The WAV encoding is not PCM (1), A-law (6) or µ-law (7).
    #[error("unsupported WAV encoding {0} (need PCM 1, A-law 6 or µ-law 7)")]
    Encoding(u16),
    /// Not mono.
    #[error("{0} channels (need mono)")]
    Channels(u16),
    /// Not 8000 Hz.
    #[error("{0} Hz sample rate (need 8000 Hz)")]
    SampleRate(u32),
    /// Sample size not matching the encoding (16-bit PCM, 8-bit G.711).
    #[error("{bits}-bit samples with encoding {encoding} (need 16-bit PCM or 8-bit G.711)")]
    Bits {
        /// The WAV format tag.
        encoding: u16,
        /// Bits per sample.
        bits: u16,
    },
}

/// Why a sound could not be loaded; every variant names the sound or file.
#[derive(Debug, thiserror::Error)]
pub enum SoundError {
    /// The name is empty, absolute, or climbs out of the sounds directory.
    #[error("invalid sound name {name:?}: {reason}")]
    InvalidName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No file for the name, with any of the tried extensions.
    #[error("sound {name:?} not found in {}", dir.display())]
    NotFound {
        /// The name as given.
        name: String,
        /// The sounds directory.
        dir: PathBuf,
    },
    /// The file exists but could not be read.
    #[error("cannot read sound file {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_FILE_BYTES`].
    #[error("sound file {} is {size} bytes (at most {MAX_FILE_BYTES})", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
    },
    /// The content is not a supported format.
    #[error("sound file {}: {reason}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: FormatError,
    },
}

/// How a file's bytes are decoded, from its extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    Wav,
    Ulaw,
    Alaw,
    Linear16,
}

impl Encoding {
    fn from_extension(ext: &str) -> Option<Encoding> {
        Some(match ext.to_ascii_lowercase().as_str() {
            "wav" => Encoding::Wav,
            "ulaw" | "ul" => Encoding::Ulaw,
            "alaw" | "al" => Encoding::Alaw,
            "sln" | "raw" => Encoding::Linear16,
            _ => return None,
        })
    }
}

/// Signed 16-bit little-endian samples (a trailing odd byte is ignored).
fn linear16(bytes: &[u8]) -> Vec<i16> {
    bytes
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// WAV format tags (RFC 2361 appendix A).
const WAVE_PCM: u16 = 1;
const WAVE_ALAW: u16 = 6;
const WAVE_MULAW: u16 = 7;
const WAVE_EXTENSIBLE: u16 = 0xFFFE;

/// Decodes a RIFF/WAVE file to 8 kHz mono linear samples (see the module docs for what is
/// accepted). A `data` chunk whose size runs past the end (a WAV written while streaming) is
/// taken to the end of the file.
pub fn parse_wav(file: &[u8]) -> Result<Vec<i16>, FormatError> {
    if file.len() < 12 || &file[0..4] != b"RIFF" || &file[8..12] != b"WAVE" {
        return Err(FormatError::NotWave);
    }
    let (mut fmt, mut data) = (None, None);
    let mut pos = 12;
    while pos + 8 <= file.len() {
        let id = &file[pos..pos + 4];
        let size = u32_at(file, pos + 4) as usize;
        let start = pos + 8;
        let end = start.saturating_add(size);
        match id {
            b"fmt " if end <= file.len() => fmt = Some(&file[start..end]),
            b"fmt " => return Err(FormatError::Truncated("fmt ")),
            b"data" => data = Some(&file[start..end.min(file.len())]),
            _ => {}
        }
        if data.is_some() && fmt.is_some() {
            break;
        }
        // RIFF chunks are padded to an even length.
        pos = end.saturating_add(size & 1);
    }
    let fmt = fmt.ok_or(FormatError::NoFmt)?;
    let data = data.ok_or(FormatError::NoData)?;
    if fmt.len() < 16 {
        return Err(FormatError::Truncated("fmt "));
    }
    let mut encoding = u16_at(fmt, 0);
    if encoding == WAVE_EXTENSIBLE {
        // cbSize at 16, then valid bits, channel mask, and the sub-format GUID whose first
        // two bytes are the format tag.
        if fmt.len() < 26 {
            return Err(FormatError::Truncated("fmt "));
        }
        encoding = u16_at(fmt, 24);
    }
    let (channels, rate, bits) = (u16_at(fmt, 2), u32_at(fmt, 4), u16_at(fmt, 14));
    if channels != 1 {
        return Err(FormatError::Channels(channels));
    }
    if rate != SAMPLE_RATE {
        return Err(FormatError::SampleRate(rate));
    }
    let expected_bits = match encoding {
        WAVE_PCM => 16,
        WAVE_ALAW | WAVE_MULAW => 8,
        other => return Err(FormatError::Encoding(other)),
    };
    if bits != expected_bits {
        return Err(FormatError::Bits { encoding, bits });
    }
    Ok(match encoding {
        WAVE_PCM => linear16(data),
        WAVE_ALAW => data.iter().map(|&b| g711::alaw_decode(b)).collect(),
        _ => data.iter().map(|&b| g711::ulaw_decode(b)).collect(),
    })
}

/// Decodes a file's bytes by its encoding.
fn decode(encoding: Encoding, bytes: &[u8]) -> Result<Vec<i16>, FormatError> {
    match encoding {
        Encoding::Wav => parse_wav(bytes),
        Encoding::Ulaw => Ok(bytes.iter().map(|&b| g711::ulaw_decode(b)).collect()),
        Encoding::Alaw => Ok(bytes.iter().map(|&b| g711::alaw_decode(b)).collect()),
        Encoding::Linear16 => Ok(linear16(bytes)),
    }
}

/// Checks a dialplan sound name (see the module docs).
fn check_name(name: &str) -> Result<&Path, SoundError> {
    let invalid = |reason| SoundError::InvalidName {
        name: name.to_owned(),
        reason,
    };
    if name.is_empty() {
        return Err(invalid("empty"));
    }
    if name.contains(['\0', '\\']) {
        return Err(invalid("contains NUL or backslash"));
    }
    let path = Path::new(name);
    for component in path.components() {
        match component {
            Component::Normal(_) => {}
            Component::ParentDir | Component::CurDir => {
                return Err(invalid("contains '.' or '..'"))
            }
            Component::RootDir | Component::Prefix(_) => return Err(invalid("absolute path")),
        }
    }
    Ok(path)
}

/// A cached decoded file.
#[derive(Debug)]
struct Entry {
    /// File modification time and size when read: a change means re-read.
    modified: Option<SystemTime>,
    len: u64,
    sound: Arc<Sound>,
    /// Value of the cache's clock at the last hit (least recently used goes first).
    used: u64,
}

#[derive(Debug, Default)]
struct Cache {
    entries: HashMap<PathBuf, Entry>,
    samples: usize,
    clock: u64,
}

impl Cache {
    fn get(&mut self, path: &Path, modified: Option<SystemTime>, len: u64) -> Option<Arc<Sound>> {
        self.clock += 1;
        let entry = self.entries.get_mut(path)?;
        if entry.modified != modified || entry.len != len {
            return None;
        }
        entry.used = self.clock;
        Some(Arc::clone(&entry.sound))
    }

    fn insert(&mut self, path: PathBuf, entry: Entry) {
        let size = entry.sound.samples.len();
        if size > CACHE_MAX_SAMPLES {
            return;
        }
        if let Some(old) = self.entries.remove(&path) {
            self.samples -= old.sound.samples.len();
        }
        while self.samples + size > CACHE_MAX_SAMPLES {
            let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(p, _)| p.clone())
            else {
                break;
            };
            if let Some(old) = self.entries.remove(&oldest) {
                self.samples -= old.sound.samples.len();
            }
        }
        self.samples += size;
        self.entries.insert(
            path,
            Entry {
                used: self.clock,
                ..entry
            },
        );
    }
}

/// The sounds directory with a cache of decoded files (see the module docs). Share it as
/// `Arc<SoundLibrary>`.
#[derive(Debug)]
pub struct SoundLibrary {
    dir: PathBuf,
    /// Held only to look up or insert, never while reading a file, hence a std Mutex.
    cache: Mutex<Cache>,
}

impl SoundLibrary {
    /// A library reading sounds under `dir` (which need not exist yet).
    pub fn new(dir: PathBuf) -> SoundLibrary {
        SoundLibrary {
            dir,
            cache: Mutex::new(Cache::default()),
        }
    }

    /// The sounds directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Number of sounds in the cache.
    pub fn cached(&self) -> usize {
        self.lock().entries.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        // A panic mid-insert leaves a consistent-enough map; keep using it.
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Loads the sound `name` (see the module docs for names, extensions and formats).
    pub fn load(&self, name: &str) -> Result<Arc<Sound>, SoundError> {
        let relative = check_name(name)?;
        let known = relative
            .extension()
            .and_then(|e| e.to_str())
            .and_then(Encoding::from_extension);
        if let Some(encoding) = known {
            let path = self.dir.join(relative);
            return match std::fs::metadata(&path) {
                Ok(meta) => self.load_file(path, encoding, &meta),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(self.not_found(name)),
                Err(source) => Err(SoundError::Io { path, source }),
            };
        }
        for ext in EXTENSIONS {
            let mut file = relative.as_os_str().to_owned();
            file.push(".");
            file.push(ext);
            let path = self.dir.join(file);
            match std::fs::metadata(&path) {
                Ok(meta) if meta.is_file() => {
                    let encoding = Encoding::from_extension(ext).unwrap_or(Encoding::Wav);
                    return self.load_file(path, encoding, &meta);
                }
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => return Err(SoundError::Io { path, source }),
            }
        }
        Err(self.not_found(name))
    }

    fn not_found(&self, name: &str) -> SoundError {
        SoundError::NotFound {
            name: name.to_owned(),
            dir: self.dir.clone(),
        }
    }

    /// Returns the cached sound for `path` if still current, else reads and caches it.
    fn load_file(
        &self,
        path: PathBuf,
        encoding: Encoding,
        meta: &std::fs::Metadata,
    ) -> Result<Arc<Sound>, SoundError> {
        let (modified, len) = (meta.modified().ok(), meta.len());
        if let Some(sound) = self.lock().get(&path, modified, len) {
            return Ok(sound);
        }
        if len > MAX_FILE_BYTES {
            return Err(SoundError::TooLarge { path, size: len });
        }
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(source) => return Err(SoundError::Io { path, source }),
        };
        let samples = match decode(encoding, &bytes) {
            Ok(samples) => samples,
            Err(reason) => return Err(SoundError::Format { path, reason }),
        };
        let sound = Arc::new(Sound::from_samples(samples));
        let entry = Entry {
            modified,
            len,
            sound: Arc::clone(&sound),
            used: 0,
        };
        self.lock().insert(path, entry);
        Ok(sound)
    }
}

#[cfg(test)]
#[path = "sound_tests.rs"]
mod tests;
