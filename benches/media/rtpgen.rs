//! RTP load generator for `benches/media_load.sh`: plays both phones of N relayed calls.
//!
//! Standalone (std only, Linux epoll through FFI), built by the script with
//! `rustc -O --edition 2021 benches/media/rtpgen.rs`. Not a cargo target.
//!
//! Input: a file of legs, one per line, `caller|callee <local port> <relay port>` (the lines
//! SIPp's `<log>` actions wrote: our SDP port and the relay port the PBX put in the SDP it
//! sent to that side). Every leg binds 127.0.0.1:<local port> and sends G.711 RTP (12-byte
//! header + 160 bytes, PT 8) every 20 ms to 127.0.0.1:<relay port> for `secs` seconds; the
//! packets the relay forwards arrive on the other leg's socket. The sends of the N legs are
//! spread evenly over each 20 ms period (phones are not synchronised).
//!
//! Each packet carries its leg index (SSRC) and the send time (ns since the start, first 8
//! payload bytes), so the receiver measures one-way latency through the relay (this
//! process's own scheduling included) and counts every packet once per receiving leg.
//!
//! Output (stdout, one `key value` per line): sent, received, lost, loss_pct, dup_or_late,
//! latency_us_p50/p90/p99/p999/max, legs_silent (legs that received nothing), send_lag_ms_max
//! (how far the sender fell behind its schedule).
//!
//! Usage: rtpgen <legs file> <secs> [drain ms]

use std::fs;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

const PERIOD: Duration = Duration::from_millis(20);
const PAYLOAD: usize = 160;
const HEADER: usize = 12;
/// Latency histogram: 10 µs buckets up to 2 s.
const BUCKET_US: u64 = 10;
const BUCKETS: usize = 200_000;

#[repr(C, packed)]
#[derive(Clone, Copy)]
struct EpollEvent {
    events: u32,
    data: u64,
}

extern "C" {
    fn epoll_create1(flags: i32) -> i32;
    fn epoll_ctl(epfd: i32, op: i32, fd: i32, event: *mut EpollEvent) -> i32;
    fn epoll_wait(epfd: i32, events: *mut EpollEvent, maxevents: i32, timeout: i32) -> i32;
}
const EPOLL_CTL_ADD: i32 = 1;
const EPOLLIN: u32 = 1;

struct Leg {
    socket: UdpSocket,
    relay: SocketAddr,
}

fn read_legs(path: &str) -> io::Result<Vec<Leg>> {
    let text = fs::read_to_string(path)?;
    let mut legs = Vec::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let (Some(local), Some(relay)) = (words.get(1), words.get(2)) else {
            continue;
        };
        let (Ok(local), Ok(relay)) = (local.parse::<u16>(), relay.parse::<u16>()) else {
            continue;
        };
        let socket = UdpSocket::bind(("127.0.0.1", local))?;
        socket.set_nonblocking(true)?;
        legs.push(Leg {
            socket,
            relay: SocketAddr::from(([127, 0, 0, 1], relay)),
        });
    }
    Ok(legs)
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: rtpgen <legs file> <secs> [drain ms]");
        std::process::exit(2);
    }
    let secs: u64 = args[2].parse().map_err(|_| io::Error::other("bad secs"))?;
    let drain_ms: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let legs = Arc::new(read_legs(&args[1])?);
    let n = legs.len();
    if n == 0 {
        return Err(io::Error::other("no legs"));
    }
    eprintln!("rtpgen: {n} legs, {secs} s, {} packets/s sent", n * 50);

    let epfd = unsafe { epoll_create1(0) };
    if epfd < 0 {
        return Err(io::Error::last_os_error());
    }
    for (i, leg) in legs.iter().enumerate() {
        let mut ev = EpollEvent { events: EPOLLIN, data: i as u64 };
        if unsafe { epoll_ctl(epfd, EPOLL_CTL_ADD, leg.socket.as_raw_fd(), &mut ev) } < 0 {
            return Err(io::Error::last_os_error());
        }
    }

    let start = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));

    // Receiver: epoll, drain every readable socket.
    let receiver = {
        let legs = Arc::clone(&legs);
        let stop = Arc::clone(&stop);
        thread::spawn(move || {
            let mut hist = vec![0u64; BUCKETS];
            let mut per_leg = vec![0u64; n];
            // per sending leg: highest sequence number seen (to spot duplicates / reordering)
            let mut last_seq = vec![u32::MAX; n];
            let mut received = 0u64;
            let mut dup_or_late = 0u64;
            let mut events = vec![EpollEvent { events: 0, data: 0 }; 1024];
            let mut buf = [0u8; 2048];
            while !stop.load(Ordering::Relaxed) {
                let k = unsafe { epoll_wait(epfd, events.as_mut_ptr(), events.len() as i32, 50) };
                if k < 0 {
                    let e = io::Error::last_os_error();
                    if e.kind() == io::ErrorKind::Interrupted {
                        continue;
                    }
                    panic!("epoll_wait: {e}");
                }
                for ev in &events[..k as usize] {
                    let idx = ev.data as usize;
                    let Some(leg) = legs.get(idx) else { continue };
                    loop {
                        match leg.socket.recv_from(&mut buf) {
                            Ok((len, _)) => {
                                let now = start.elapsed().as_nanos() as u64;
                                if len < HEADER + 8 {
                                    continue;
                                }
                                let seq = u16::from_be_bytes([buf[2], buf[3]]) as u32;
                                let ssrc = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]);
                                let mut ts = [0u8; 8];
                                ts.copy_from_slice(&buf[HEADER..HEADER + 8]);
                                let sent_at = u64::from_be_bytes(ts);
                                received += 1;
                                per_leg[idx] += 1;
                                if let Some(last) = last_seq.get_mut(ssrc as usize) {
                                    let ext = seq; // 16-bit seq never wraps in a 30 s run at 50/s
                                    if *last != u32::MAX && ext <= *last {
                                        dup_or_late += 1;
                                    } else {
                                        *last = ext;
                                    }
                                }
                                let us = now.saturating_sub(sent_at) / 1000;
                                let b = ((us / BUCKET_US) as usize).min(BUCKETS - 1);
                                hist[b] += 1;
                            }
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                            Err(_) => break,
                        }
                    }
                }
            }
            (received, dup_or_late, hist, per_leg)
        })
    };

    // Sender: leg i sends at start + tick*20ms + i*20ms/n.
    let mut pkt = [0u8; HEADER + PAYLOAD];
    pkt[0] = 0x80;
    pkt[1] = 8; // PCMA
    for b in &mut pkt[HEADER + 8..] {
        *b = 0xd5; // A-law silence
    }
    let ticks = secs * 50;
    let mut max_lag = Duration::ZERO;
    let mut send_errors = 0u64;
    for tick in 0..ticks {
        let base = start + PERIOD * tick as u32;
        for (i, leg) in legs.iter().enumerate() {
            let due = base + PERIOD * i as u32 / n as u32;
            let now = Instant::now();
            if due > now {
                if due - now > Duration::from_micros(200) {
                    thread::sleep(due - now);
                }
            } else {
                max_lag = max_lag.max(now - due);
            }
            let seq = (tick as u16).to_be_bytes();
            pkt[2] = seq[0];
            pkt[3] = seq[1];
            pkt[4..8].copy_from_slice(&((tick as u32) * 160).to_be_bytes());
            pkt[8..12].copy_from_slice(&(i as u32).to_be_bytes());
            let t = start.elapsed().as_nanos() as u64;
            pkt[HEADER..HEADER + 8].copy_from_slice(&t.to_be_bytes());
            match leg.socket.send_to(&pkt, leg.relay) {
                Ok(_) => {
                    sent.fetch_add(1, Ordering::Relaxed);
                }
                Err(_) => send_errors += 1,
            }
        }
    }
    thread::sleep(Duration::from_millis(drain_ms));
    stop.store(true, Ordering::Relaxed);
    let (received, dup_or_late, hist, per_leg) =
        receiver.join().map_err(|_| io::Error::other("receiver panicked"))?;

    let sent = sent.load(Ordering::Relaxed);
    let unique = received - dup_or_late.min(received);
    let lost = sent.saturating_sub(unique);
    let pct = |q: f64| -> u64 {
        let total: u64 = hist.iter().sum();
        let want = ((total as f64) * q).ceil() as u64;
        let mut acc = 0;
        for (b, c) in hist.iter().enumerate() {
            acc += c;
            if acc >= want.max(1) {
                return b as u64 * BUCKET_US;
            }
        }
        0
    };
    let max_b = hist.iter().rposition(|&c| c > 0).unwrap_or(0) as u64 * BUCKET_US;
    println!("legs {n}");
    println!("secs {secs}");
    println!("sent {sent}");
    println!("send_errors {send_errors}");
    println!("received {received}");
    println!("dup_or_late {dup_or_late}");
    println!("lost {lost}");
    println!("loss_pct {:.4}", if sent > 0 { lost as f64 * 100.0 / sent as f64 } else { 0.0 });
    println!("latency_us_p50 {}", pct(0.50));
    println!("latency_us_p90 {}", pct(0.90));
    println!("latency_us_p99 {}", pct(0.99));
    println!("latency_us_p999 {}", pct(0.999));
    println!("latency_us_max {max_b}");
    println!("legs_silent {}", per_leg.iter().filter(|&&c| c == 0).count());
    println!("send_lag_ms_max {:.1}", max_lag.as_secs_f64() * 1000.0);
    Ok(())
}
