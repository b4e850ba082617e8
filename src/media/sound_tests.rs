//! Sound loading tests: formats, name resolution and checks, WAV errors, the cache.

use super::*;
use std::fs;

/// A WAV file: `fmt ` with these fields, optional chunks before `data`, then `data`.
fn wav(format: u16, channels: u16, rate: u32, bits: u16, before: &[u8], data: &[u8]) -> Vec<u8> {
    let mut fmt = Vec::new();
    fmt.extend_from_slice(&format.to_le_bytes());
    fmt.extend_from_slice(&channels.to_le_bytes());
    fmt.extend_from_slice(&rate.to_le_bytes());
    fmt.extend_from_slice(&(rate * u32::from(bits / 8)).to_le_bytes());
    fmt.extend_from_slice(&(bits / 8).to_le_bytes());
    fmt.extend_from_slice(&bits.to_le_bytes());
    let mut out = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
    out.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
    out.extend_from_slice(&fmt);
    out.extend_from_slice(before);
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(data);
    let riff = (out.len() - 8) as u32;
    out[4..8].copy_from_slice(&riff.to_le_bytes());
    out
}

fn pcm16(samples: &[i16]) -> Vec<u8> {
    samples.iter().flat_map(|s| s.to_le_bytes()).collect()
}

fn library() -> (tempfile::TempDir, SoundLibrary) {
    let dir = tempfile::tempdir().expect("tempdir");
    let lib = SoundLibrary::new(dir.path().to_path_buf());
    (dir, lib)
}

#[test]
fn decodes_every_supported_format() {
    let (dir, lib) = library();
    let d = dir.path();
    let linear = [0i16, 1000, -1000, 32000];
    fs::write(d.join("pcm.wav"), wav(1, 1, 8000, 16, &[], &pcm16(&linear))).unwrap();
    fs::write(
        d.join("ulaw.wav"),
        wav(7, 1, 8000, 8, &[], &[0xFF, 0x80, 0x00]),
    )
    .unwrap();
    fs::write(d.join("alaw.wav"), wav(6, 1, 8000, 8, &[], &[0xD5, 0x55])).unwrap();
    fs::write(d.join("raw.ulaw"), [0xFF, 0x80]).unwrap();
    fs::write(d.join("raw.al"), [0xD5, 0xAA]).unwrap();
    fs::write(d.join("raw.sln"), pcm16(&[5, -5])).unwrap();
    let samples = |name: &str| lib.load(name).expect(name).samples.to_vec();
    assert_eq!(samples("pcm"), linear);
    assert_eq!(samples("pcm.wav"), linear, "explicit extension");
    assert_eq!(samples("ulaw"), [0, 32124, -32124]);
    assert_eq!(samples("alaw"), [8, -8]);
    assert_eq!(samples("raw"), [0, 32124], "no raw.wav: .ulaw is next");
    assert_eq!(samples("raw.al"), [8, 32256]);
    assert_eq!(samples("raw.sln"), [5, -5]);
    assert_eq!(
        lib.load("pcm").unwrap().duration(),
        Duration::from_micros(500)
    );
}

#[test]
fn wav_extensible_odd_chunks_and_streamed_sizes_are_handled() {
    // WAVE_FORMAT_EXTENSIBLE whose sub-format GUID starts with µ-law (7).
    let mut fmt = Vec::new();
    for v in [0xFFFEu16, 1] {
        fmt.extend_from_slice(&v.to_le_bytes());
    }
    fmt.extend_from_slice(&8000u32.to_le_bytes());
    fmt.extend_from_slice(&8000u32.to_le_bytes());
    for v in [1u16, 8, 22, 8] {
        fmt.extend_from_slice(&v.to_le_bytes());
    }
    fmt.extend_from_slice(&4u32.to_le_bytes()); // channel mask
    fmt.extend_from_slice(&[
        7, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71,
    ]);
    let mut file = b"RIFF\0\0\0\0WAVE".to_vec();
    file.extend_from_slice(b"LIST\x03\0\0\0abc\0"); // odd size: one pad byte
    file.extend_from_slice(b"fmt ");
    file.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
    file.extend_from_slice(&fmt);
    file.extend_from_slice(b"data\xff\xff\xff\xff"); // streamed: size unknown
    file.extend_from_slice(&[0xFF, 0x80]);
    assert_eq!(parse_wav(&file).unwrap(), [0, 32124]);
}

#[test]
fn wav_errors_say_what_is_wrong() {
    let ok_data = pcm16(&[1, 2]);
    for (file, want) in [
        (b"RIFX\0\0\0\0WAVE".to_vec(), FormatError::NotWave),
        (b"RIFF".to_vec(), FormatError::NotWave),
        (wav(1, 2, 8000, 16, &[], &ok_data), FormatError::Channels(2)),
        (
            wav(1, 1, 16000, 16, &[], &ok_data),
            FormatError::SampleRate(16000),
        ),
        (wav(3, 1, 8000, 32, &[], &ok_data), FormatError::Encoding(3)),
        (
            wav(1, 1, 8000, 8, &[], &ok_data),
            FormatError::Bits {
                encoding: 1,
                bits: 8,
            },
        ),
        (
            wav(1, 1, 8000, 16, &[], &ok_data)[..36].to_vec(),
            FormatError::NoData,
        ),
        (
            b"RIFF\0\0\0\0WAVEdata\x02\0\0\0\x01\x02".to_vec(),
            FormatError::NoFmt,
        ),
        (
            b"RIFF\0\0\0\0WAVEfmt \x10\0\0\0\x01\0".to_vec(),
            FormatError::Truncated("fmt "),
        ),
    ] {
        assert_eq!(parse_wav(&file), Err(want));
    }
    let (dir, lib) = library();
    fs::write(
        dir.path().join("stereo.wav"),
        wav(1, 2, 8000, 16, &[], &ok_data),
    )
    .unwrap();
    let err = lib.load("stereo").unwrap_err();
    assert!(matches!(err, SoundError::Format { .. }));
    let text = err.to_string();
    assert!(
        text.contains("stereo.wav") && text.contains("2 channels"),
        "{text}"
    );
}

#[test]
fn names_cannot_leave_the_sounds_directory() {
    let (dir, lib) = library();
    fs::create_dir(dir.path().join("digits")).unwrap();
    fs::write(dir.path().join("digits/1.ulaw"), [0xFF]).unwrap();
    assert_eq!(
        lib.load("digits/1").unwrap().samples.len(),
        1,
        "subdirectories work"
    );
    for name in [
        "",
        "/etc/passwd",
        "../secret",
        "digits/../../x",
        "./welcome",
        "a\\b",
        "a\0",
    ] {
        assert!(
            matches!(lib.load(name), Err(SoundError::InvalidName { .. })),
            "{name:?} must be refused"
        );
    }
    let err = lib.load("missing").unwrap_err();
    assert!(matches!(err, SoundError::NotFound { .. }), "{err}");
    assert!(matches!(
        lib.load("missing.wav"),
        Err(SoundError::NotFound { .. })
    ));
}

#[test]
fn cache_returns_the_same_sound_until_the_file_changes() {
    let (dir, lib) = library();
    let path = dir.path().join("prompt.ulaw");
    fs::write(&path, [0xFF; 4]).unwrap();
    let first = lib.load("prompt").unwrap();
    let again = lib.load("prompt").unwrap();
    assert!(Arc::ptr_eq(&first, &again), "served from the cache");
    assert_eq!(lib.cached(), 1);
    // Same size, new content and a new modification time: re-read.
    fs::write(&path, [0x80; 4]).unwrap();
    let later = SystemTime::now() + Duration::from_secs(5);
    fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(later)
        .unwrap();
    let edited = lib.load("prompt").unwrap();
    assert_eq!(edited.samples[0], 32124, "edited prompt picked up");
    // Another size: re-read even with the same mtime.
    fs::write(&path, [0x00; 6]).unwrap();
    assert_eq!(lib.load("prompt").unwrap().samples.len(), 6);
    assert_eq!(lib.cached(), 1, "one entry per path");
}

#[test]
fn cache_forgets_the_least_recently_used_beyond_its_budget() {
    let mut cache = Cache::default();
    let big = |fill: i16| Entry {
        modified: None,
        len: 1,
        sound: Arc::new(Sound::from_samples(vec![fill; CACHE_MAX_SAMPLES / 2])),
        used: 0,
    };
    let (a, b, c) = (PathBuf::from("a"), PathBuf::from("b"), PathBuf::from("c"));
    cache.insert(a.clone(), big(1));
    cache.insert(b.clone(), big(2));
    assert!(cache.get(&a, None, 1).is_some(), "a used after b");
    cache.insert(c.clone(), big(3));
    assert!(
        cache.get(&b, None, 1).is_none(),
        "b was least recently used"
    );
    assert!(cache.get(&a, None, 1).is_some() && cache.get(&c, None, 1).is_some());
    assert_eq!(cache.samples, CACHE_MAX_SAMPLES);
    let huge = Entry {
        sound: Arc::new(Sound::from_samples(vec![0; CACHE_MAX_SAMPLES + 1])),
        ..big(0)
    };
    cache.insert(PathBuf::from("huge"), huge);
    assert_eq!(cache.entries.len(), 2, "too big to cache: not inserted");
}
