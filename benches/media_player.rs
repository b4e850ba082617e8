//! Cost of the player's per-frame work: 160 linear samples encoded to G.711 and packetised
//! into one RTP packet (`media::player::packetize`), for µ-law and A-law; and of decoding a
//! frame (the recorder's per-packet work). Paced sending is not measured (it is a timer).
//!
//! Run: `cargo bench --bench media_player -- --warm-up-time 1 --measurement-time 3`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use switchboard::media::player::{packetize, PlayCodec, RtpOut, FRAME_SAMPLES, PACKET_LEN};

fn frame() -> [i16; FRAME_SAMPLES] {
    let mut pcm = [0i16; FRAME_SAMPLES];
    for (i, s) in pcm.iter_mut().enumerate() {
        // A 400 Hz sine at about -12 dBFS: every segment of the companding curve is used.
        *s = ((i as f32 * 400.0 / 8000.0 * std::f32::consts::TAU).sin() * 8000.0) as i16;
    }
    pcm
}

fn encode(c: &mut Criterion) {
    let pcm = frame();
    let rtp = RtpOut::with(0x5eed, 1, 160);
    let mut group = c.benchmark_group("player_frame");
    group.throughput(Throughput::Elements(1));
    for (name, codec, pt) in [("pcmu", PlayCodec::Pcmu, 0u8), ("pcma", PlayCodec::Pcma, 8)] {
        group.bench_function(format!("packetize_{name}"), |b| {
            let mut packet = [0u8; PACKET_LEN];
            b.iter(|| {
                packetize(codec, pt, false, &rtp, black_box(&pcm), &mut packet);
                black_box(&packet);
            })
        });
        let mut packet = [0u8; PACKET_LEN];
        packetize(codec, pt, false, &rtp, &pcm, &mut packet);
        group.bench_function(format!("decode_{name}"), |b| {
            let mut out = [0i16; FRAME_SAMPLES];
            b.iter(|| {
                for (o, &code) in out.iter_mut().zip(&black_box(&packet)[12..]) {
                    *o = codec.decode(code);
                }
                black_box(&out);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, encode);
criterion_main!(benches);
