//! RTP relay forward path: packets per second through one `RelaySession` on loopback
//! (fake phone A → relay A-side socket → relay B-side socket → fake phone B), G.711-sized
//! packets (12-byte header + 160 bytes), in bursts of `BURST` so the socket pipeline stays
//! busy without overflowing the receive buffers.
//!
//! Run: `cargo bench --bench relay -- --warm-up-time 1 --measurement-time 3`

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use switchboard::media::ports::PortPool;
use switchboard::media::relay::{Leg, RelayConfig, RelaySession};
use switchboard::runtime::Lifecycle;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// Packets sent before reading them back at the far side.
const BURST: usize = 32;
const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn rtp_packet(seq: u16) -> [u8; 172] {
    let mut p = [0u8; 172];
    p[0] = 0x80;
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    p[4..8].copy_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    p[8..12].copy_from_slice(&0x5eed_u32.to_be_bytes());
    p
}

fn forward(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let lifecycle = Lifecycle::new();
    let (session, phone_a, phone_b, to_a) = rt.block_on(async {
        let pool = PortPool::new(LOOPBACK, 47000, 47099).expect("pool");
        let (tx, rx) = mpsc::channel(16);
        std::mem::forget(rx); // no events expected; keep the queue open
        let session = RelaySession::start(
            pool.allocate().expect("pair"),
            pool.allocate().expect("pair"),
            RelayConfig::default(),
            tx,
            &lifecycle,
        );
        let phone_a = UdpSocket::bind((LOOPBACK, 0)).await.expect("bind");
        let phone_b = UdpSocket::bind((LOOPBACK, 0)).await.expect("bind");
        let (a, b) = (
            phone_a.local_addr().expect("addr"),
            phone_b.local_addr().expect("addr"),
        );
        session.set_remote(Leg::A, a, a);
        session.set_remote(Leg::B, b, b);
        let to_a = session.local_rtp(Leg::A);
        (session, phone_a, phone_b, to_a)
    });

    let mut group = c.benchmark_group("relay");
    group.throughput(Throughput::Elements(BURST as u64));
    let mut seq = 0u16;
    group.bench_function("forward_g711_burst", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut buf = [0u8; 2048];
                let start = Instant::now();
                for _ in 0..iters {
                    for _ in 0..BURST {
                        seq = seq.wrapping_add(1);
                        let _ = phone_a.send_to(&rtp_packet(seq), to_a).await;
                    }
                    for _ in 0..BURST {
                        // A lost packet would stall the bench; give up on it after 100 ms.
                        let got = tokio::time::timeout(
                            Duration::from_millis(100),
                            phone_b.recv_from(&mut buf),
                        )
                        .await;
                        if got.is_err() {
                            break;
                        }
                    }
                }
                start.elapsed()
            })
        })
    });
    group.finish();
    let stats = rt.block_on(session.close());
    eprintln!(
        "relay bench: A in {} B out {} lost(seq) {} dropped {}",
        stats.a.packets_in, stats.b.packets_out, stats.a.lost, stats.a.dropped
    );
}

criterion_group!(benches, forward);
criterion_main!(benches);
