//! Recorder tests: WAV validity and length, gap handling, codecs, ending by stop, by the tap
//! going away and by drop, errors.

use super::*;
use crate::media::g711;
use crate::media::sound::parse_wav;
use tokio::time::timeout;

fn packet(pt: u8, seq: u16, timestamp: u32, payload: Vec<u8>) -> TapPacket {
    TapPacket {
        payload_type: pt,
        seq,
        timestamp,
        payload: payload.into(),
    }
}

fn read_wav(path: &Path) -> Vec<i16> {
    let bytes = std::fs::read(path).expect("read");
    let riff = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    assert_eq!(riff as usize, bytes.len() - 8, "RIFF size patched");
    parse_wav(&bytes).expect("valid WAV")
}

#[tokio::test]
async fn writes_a_wav_whose_length_matches_the_packets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("calls/2026/rec.wav");
    let lifecycle = Lifecycle::new();
    let (tx, rx) = mpsc::channel(64);
    let recording = record(path.clone(), PlayCodec::Pcmu, rx, &lifecycle);
    assert_eq!(recording.path(), path);
    let code = g711::ulaw_encode(1000);
    for i in 0..50u16 {
        tx.send(packet(0, i, u32::from(i) * 160, vec![code; 160]))
            .await
            .unwrap();
    }
    let summary = recording.stop().await.expect("summary");
    assert_eq!(summary.path, path);
    assert_eq!(summary.duration, Duration::from_secs(1));
    assert_eq!(summary.bytes, 44 + 50 * 160 * 2);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), summary.bytes);
    let samples = read_wav(&path);
    assert_eq!(samples.len(), 8000);
    assert!(samples.iter().all(|&s| s == g711::ulaw_decode(code)));
}

#[tokio::test]
async fn gaps_are_filled_late_packets_dropped_and_new_streams_joined() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gaps.wav");
    let lifecycle = Lifecycle::new();
    let (tx, rx) = mpsc::channel(64);
    let recording = record(path.clone(), PlayCodec::Pcma, rx, &lifecycle);
    let a = g711::alaw_encode(2000);
    for p in [
        packet(8, 1, 0, vec![a; 160]),
        packet(8, 2, 160, vec![a; 160]),
        packet(8, 4, 480, vec![a; 160]), // seq 3 lost: 160 samples of silence
        packet(8, 3, 320, vec![a; 160]), // arrives late: dropped
        packet(13, 5, 640, vec![0x40]),  // comfort noise: not audio
        packet(8, 6, 640, vec![a; 160]),
        packet(8, 7, 640 + 160 + 80_000, vec![a; 160]), // 10 s jump: new stream, no fill
    ] {
        tx.send(p).await.unwrap();
    }
    let summary = recording.stop().await.unwrap();
    let samples = read_wav(&path);
    assert_eq!(samples.len(), 6 * 160);
    assert_eq!(summary.bytes, 44 + 6 * 160 * 2);
    let level = g711::alaw_decode(a);
    assert!(samples[..320].iter().all(|&s| s == level));
    assert!(
        samples[320..480].iter().all(|&s| s == 0),
        "silence for the lost packet"
    );
    assert!(samples[480..].iter().all(|&s| s == level));
}

#[tokio::test]
async fn payload_type_zero_or_eight_wins_over_the_given_codec() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mixed.wav");
    let lifecycle = Lifecycle::new();
    let (tx, rx) = mpsc::channel(8);
    let recording = record(path.clone(), PlayCodec::Pcmu, rx, &lifecycle);
    tx.send(packet(8, 1, 0, vec![0xD5])).await.unwrap();
    tx.send(packet(96, 2, 1, vec![0x80])).await.unwrap(); // dynamic: the given codec
    drop(tx); // the tap went away: the recording completes by itself
    let summary = recording.stop().await.unwrap();
    assert_eq!(read_wav(&path), [8, 32124]);
    assert_eq!(summary.bytes, 48);
}

#[tokio::test]
async fn dropping_the_recording_still_completes_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dropped.wav");
    let lifecycle = Lifecycle::new();
    let (tx, rx) = mpsc::channel(8);
    let recording = record(path.clone(), PlayCodec::Pcmu, rx, &lifecycle);
    tx.send(packet(0, 1, 0, vec![0xFF; 80])).await.unwrap();
    drop(recording);
    lifecycle.tracker.close();
    lifecycle.tracker.wait().await;
    assert_eq!(read_wav(&path).len(), 80);
}

#[tokio::test]
async fn an_unwritable_path_is_an_io_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"x").unwrap();
    let path = blocker.join("rec.wav"); // parent is a file
    let lifecycle = Lifecycle::new();
    let (_tx, rx) = mpsc::channel(8);
    let err = record(path.clone(), PlayCodec::Pcmu, rx, &lifecycle)
        .stop()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RecordError::Io { path: p, .. } if *p == path),
        "{err}"
    );
}

#[test]
fn header_is_the_canonical_pcm_header() {
    let h = wav_header(16000);
    assert_eq!(&h[0..4], b"RIFF");
    assert_eq!(u32::from_le_bytes([h[4], h[5], h[6], h[7]]), 16036);
    let mut file = h.to_vec();
    file.extend_from_slice(&[0; 16000]);
    assert_eq!(parse_wav(&file).unwrap().len(), 8000);
}

#[tokio::test]
async fn silence_is_detected_after_the_voice_stops() {
    let dir = tempfile::tempdir().unwrap();
    let lifecycle = Lifecycle::new();
    let (tx, rx) = mpsc::channel(64);
    let mut recording = record(dir.path().join("s.wav"), PlayCodec::Pcmu, rx, &lifecycle);
    let (loud, quiet) = (g711::ulaw_encode(3000), g711::ulaw_encode(100));
    let mut ts = 0;
    let mut send = |code: u8, n: usize| {
        let packets: Vec<TapPacket> = (0..n)
            .map(|_| {
                ts += 160;
                packet(0, ts as u16, ts, vec![code; 160])
            })
            .collect();
        packets
    };
    for p in send(quiet, 10).into_iter().chain(send(loud, 5)) {
        tx.send(p).await.unwrap();
    }
    // 200 ms of quiet before the voice does not count once the voice came.
    for p in send(quiet, 25) {
        tx.send(p).await.unwrap();
    }
    timeout(
        Duration::from_secs(5),
        recording.silent_for(Duration::from_millis(500)),
    )
    .await
    .expect("0.5 s of silence after the voice");
    assert!(
        timeout(
            Duration::from_millis(300),
            recording.silent_for(Duration::from_millis(700))
        )
        .await
        .is_err(),
        "only 0.5 s of silence so far"
    );
    // A 300 ms gap (filled with silence) then a quiet packet: 0.5 + 0.3 + 0.02 s.
    ts += 2400;
    tx.send(packet(0, 99, ts, vec![quiet; 160])).await.unwrap();
    timeout(
        Duration::from_secs(5),
        recording.silent_for(Duration::from_millis(800)),
    )
    .await
    .expect("gap counts as silence");
    recording.stop().await.unwrap();
}
