//! Player tests on paused Tokio time with a channel output: pacing, RTP continuity across
//! plays, catching up after a stall, sources.

use super::*;
use bytes::Bytes;
use tokio::sync::mpsc;

/// Parsed fields of a packet the player sent.
#[derive(Debug)]
struct Sent {
    marker: bool,
    pt: u8,
    seq: u16,
    ts: u32,
    ssrc: u32,
    payload: Vec<u8>,
}

fn parse(p: &Bytes) -> Sent {
    assert_eq!(p[0], 0x80, "RTP version 2, no CSRC");
    Sent {
        marker: p[1] & 0x80 != 0,
        pt: p[1] & 0x7f,
        seq: u16::from_be_bytes([p[2], p[3]]),
        ts: u32::from_be_bytes([p[4], p[5], p[6], p[7]]),
        ssrc: u32::from_be_bytes([p[8], p[9], p[10], p[11]]),
        payload: p[12..].to_vec(),
    }
}

fn drain(rx: &mut mpsc::Receiver<Bytes>) -> Vec<Sent> {
    let mut out = Vec::new();
    while let Ok(p) = rx.try_recv() {
        out.push(parse(&p));
    }
    out
}

fn sound(samples: usize, value: i16) -> Arc<Sound> {
    Arc::new(Sound::from_samples(vec![value; samples]))
}

#[tokio::test(start_paused = true)]
async fn one_second_is_fifty_frames_paced_in_real_time() {
    let lifecycle = Lifecycle::new();
    let (output, mut rx) = MediaOutput::channel(200);
    let start = Instant::now();
    let rtp = RtpOut::with(0xabcd, 65530, 1000);
    let mut player = play(
        output,
        PlayCodec::Pcmu,
        0,
        rtp,
        Source::Sounds(vec![sound(8000, 1000)]),
        &lifecycle,
    );
    player.finished().await;
    assert_eq!(start.elapsed(), Duration::from_secs(1));
    assert!(player.is_finished());
    let sent = drain(&mut rx);
    assert_eq!(sent.len(), 50);
    for (i, p) in sent.iter().enumerate() {
        assert_eq!(p.marker, i == 0, "marker on the first packet only");
        assert_eq!((p.pt, p.ssrc), (0, 0xabcd));
        assert_eq!(p.seq, 65530u16.wrapping_add(i as u16), "seq wraps");
        assert_eq!(p.ts, 1000 + 160 * i as u32);
        assert_eq!(p.payload, vec![g711::ulaw_encode(1000); 160]);
    }
    let rtp = player.stop().await;
    assert_eq!(
        (rtp.seq, rtp.timestamp),
        (65530u16.wrapping_add(50), 1000 + 8000)
    );
}

#[tokio::test(start_paused = true)]
async fn a_second_play_continues_seq_and_moves_the_timestamp_by_the_pause() {
    let lifecycle = Lifecycle::new();
    let (output, mut rx) = MediaOutput::channel(200);
    let mut first = play(
        output.clone(),
        PlayCodec::Pcma,
        8,
        RtpOut::with(7, 100, 0),
        Source::Sounds(vec![sound(4000, 0)]),
        &lifecycle,
    );
    first.finished().await;
    let rtp = first.stop().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut second = play(
        output,
        PlayCodec::Pcma,
        8,
        rtp,
        Source::Sounds(vec![sound(320, 0)]),
        &lifecycle,
    );
    second.finished().await;
    let sent = drain(&mut rx);
    assert_eq!(sent.len(), 25 + 2);
    let (last, next) = (&sent[24], &sent[25]);
    assert_eq!(next.seq, last.seq + 1, "no sequence gap between plays");
    assert_eq!(
        next.ts,
        last.ts + 160 + 800,
        "timestamp advanced by the 100 ms pause"
    );
    assert!(next.marker, "a new talkspurt is marked");
    assert_eq!(next.ssrc, 7, "same stream");
    assert_eq!(next.payload, vec![g711::alaw_encode(0); 160]);
}

#[tokio::test(start_paused = true)]
async fn a_stalled_player_skips_audio_to_stay_on_wall_time() {
    let lifecycle = Lifecycle::new();
    let (output, mut rx) = MediaOutput::channel(200);
    let start = Instant::now();
    let mut player = play(
        output,
        PlayCodec::Pcmu,
        0,
        RtpOut::with(1, 0, 0),
        Source::Sounds(vec![sound(8000, 0)]),
        &lifecycle,
    );
    tokio::time::sleep(Duration::from_millis(210)).await; // frames 0..=10 sent
                                                          // The clock jumps 105 ms at once, to 315 ms: the tick of 220 ms fires late, those of
                                                          // 240..=300 ms are missed (Skip), the next one is 320 ms.
    tokio::time::advance(Duration::from_millis(105)).await;
    player.finished().await;
    assert_eq!(start.elapsed(), Duration::from_secs(1), "ends on time");
    let sent = drain(&mut rx);
    assert_eq!(
        sent.len(),
        50 - 4,
        "the missed frames are skipped, not burst"
    );
    for pair in sent.windows(2) {
        assert_eq!(pair[1].seq, pair[0].seq + 1, "sequence stays consecutive");
    }
    let jumps: Vec<u32> = sent.windows(2).map(|p| p[1].ts - p[0].ts).collect();
    assert_eq!(
        jumps.iter().filter(|&&j| j == 160 * 5).count(),
        1,
        "{jumps:?}"
    );
    assert_eq!(jumps.iter().filter(|&&j| j == 160).count(), 44, "{jumps:?}");
    assert_eq!(
        sent.last().map(|p| p.ts),
        Some(49 * 160),
        "last frame on its slot"
    );
}

#[tokio::test(start_paused = true)]
async fn sound_lists_are_concatenated_and_padded() {
    let lifecycle = Lifecycle::new();
    let (output, mut rx) = MediaOutput::channel(10);
    let start = Instant::now();
    let mut player = play(
        output,
        PlayCodec::Pcmu,
        0,
        RtpOut::new(),
        Source::Sounds(vec![sound(100, 500), sound(0, 0), sound(100, -500)]),
        &lifecycle,
    );
    player.finished().await;
    assert_eq!(start.elapsed(), Duration::from_millis(40));
    let sent = drain(&mut rx);
    assert_eq!(sent.len(), 2);
    let (enc, neg, zero) = (
        g711::ulaw_encode(500),
        g711::ulaw_encode(-500),
        g711::ulaw_encode(0),
    );
    assert_eq!(&sent[0].payload[..100], &[enc; 100][..]);
    assert_eq!(&sent[0].payload[100..], &[neg; 60][..]);
    assert_eq!(&sent[1].payload[..40], &[neg; 40][..]);
    assert_eq!(
        &sent[1].payload[40..],
        &[zero; 120][..],
        "padded with silence"
    );

    let (output, mut rx) = MediaOutput::channel(10);
    let mut empty = play(
        output,
        PlayCodec::Pcmu,
        0,
        RtpOut::new(),
        Source::Sounds(vec![]),
        &lifecycle,
    );
    empty.finished().await;
    assert!(rx.try_recv().is_err(), "nothing to play: finished at once");
}

#[tokio::test(start_paused = true)]
async fn loops_and_tones_play_until_stopped() {
    let lifecycle = Lifecycle::new();
    let (output, mut rx) = MediaOutput::channel(400);
    let samples: Vec<i16> = (0..100).map(|i| i * 100).collect();
    let mut moh = play(
        output.clone(),
        PlayCodec::Pcmu,
        0,
        RtpOut::with(3, 0, 0),
        Source::Loop(Arc::new(Sound::from_samples(samples.clone()))),
        &lifecycle,
    );
    let never = tokio::time::timeout(Duration::from_secs(2), moh.finished()).await;
    assert!(never.is_err(), "a loop never finishes");
    let rtp = moh.stop().await;
    let sent = drain(&mut rx);
    assert!((100..=101).contains(&sent.len()), "{}", sent.len());
    assert_eq!(rtp.seq as usize, sent.len());
    // Frame 1 starts at sample 160 of the stream = sample 60 of the sound.
    assert_eq!(sent[1].payload[0], g711::ulaw_encode(samples[60]));

    let mut ring = play(
        output,
        PlayCodec::Pcma,
        8,
        rtp,
        Source::Tone(Tone::Ringback),
        &lifecycle,
    );
    assert!(
        tokio::time::timeout(Duration::from_secs(7), ring.finished())
            .await
            .is_err()
    );
    drop(ring);
    lifecycle.tracker.close();
    lifecycle.tracker.wait().await; // dropping the player ended its task
    let sent = drain(&mut rx);
    assert!((350..=351).contains(&sent.len()), "{}", sent.len());
    let silence = g711::alaw_encode(0);
    assert!(sent[0].payload.iter().any(|&b| b != silence), "tone on");
    assert!(
        sent[150].payload.iter().all(|&b| b == silence),
        "cadence off after 2 s"
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_ends_a_player() {
    let lifecycle = Lifecycle::new();
    let (output, _rx) = MediaOutput::channel(10);
    let mut player = play(
        output,
        PlayCodec::Pcmu,
        0,
        RtpOut::new(),
        Source::Tone(Tone::Busy),
        &lifecycle,
    );
    lifecycle.stop_and_wait().await;
    player.finished().await;
}

#[test]
fn play_codec_from_negotiated_payload_types() {
    let pt = |pt: u8, name: &str, clock_rate: u32| PayloadType {
        pt,
        name: name.into(),
        clock_rate,
    };
    assert_eq!(
        PlayCodec::from_payload(&pt(0, "PCMU", 8000)),
        Some((PlayCodec::Pcmu, 0))
    );
    assert_eq!(
        PlayCodec::from_payload(&pt(8, "pcma", 8000)),
        Some((PlayCodec::Pcma, 8))
    );
    assert_eq!(
        PlayCodec::from_payload(&pt(96, "PCMU", 0)),
        Some((PlayCodec::Pcmu, 96)),
        "dynamic number kept"
    );
    assert_eq!(PlayCodec::from_payload(&pt(9, "G722", 8000)), None);
    assert_eq!(PlayCodec::from_payload(&pt(97, "PCMU", 16000)), None);
    assert_eq!(PlayCodec::Pcma.static_payload_type(), 8);
    assert_ne!(RtpOut::new().ssrc, RtpOut::new().ssrc, "random SSRCs");
}
