//! Message-layer throughput: parsing, typed access (Via, From, To, CSeq, Call-ID, Contact)
//! and serialising, for a typical INVITE with SDP and a REGISTER with Authorization, ours
//! and rsip 0.4 side by side in one group so the ratio is visible.
//!
//! Run: `cargo bench --bench message -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rsip::prelude::*;
use switchboard::sip::message::Message;

const INVITE: &[u8] = include_bytes!("../tests/fixtures/messages/invite_sdp.sip");
const REGISTER: &[u8] = include_bytes!("../tests/fixtures/messages/register_auth.sip");

/// Ours: parse, read every typed header a proxy/registrar needs, encode.
fn ours(wire: &[u8]) -> usize {
    let Ok(msg) = Message::parse(wire) else {
        return 0;
    };
    let h = msg.headers();
    let mut n = 0;
    n += h.top_via().map_or(0, |v| v.branch().map_or(0, str::len));
    n += h.from().map_or(0, |f| f.tag().map_or(0, str::len));
    n += h.to().map_or(0, |t| t.tag().map_or(0, str::len));
    n += h.cseq().map_or(0, |c| c.seq as usize);
    n += h.call_id().map_or(0, str::len);
    n += h.contacts().map_or(0, |c| c.len());
    n + msg.to_bytes().len()
}

/// rsip: the same work through its API.
fn theirs(wire: &[u8]) -> usize {
    let Ok(msg) = rsip::SipMessage::try_from(wire) else {
        return 0;
    };
    let mut n = 0;
    n += msg
        .via_header()
        .ok()
        .and_then(|v| v.typed().ok())
        .map_or(0, |v| v.branch().map_or(0, |b| b.to_string().len()));
    n += msg
        .from_header()
        .ok()
        .and_then(|f| f.typed().ok())
        .map_or(0, |f| f.tag().map_or(0, |t| t.to_string().len()));
    n += msg
        .to_header()
        .ok()
        .and_then(|t| t.typed().ok())
        .map_or(0, |t| t.tag().map_or(0, |t| t.to_string().len()));
    n += msg
        .cseq_header()
        .ok()
        .and_then(|c| c.typed().ok())
        .map_or(0, |c| c.seq as usize);
    n += msg.call_id_header().map_or(0, |c| c.value().len());
    n += msg
        .contact_header()
        .ok()
        .and_then(|c| c.typed().ok())
        .map_or(0, |_| 1);
    let bytes: bytes::Bytes = msg.into();
    n + bytes.len()
}

fn bench(c: &mut Criterion) {
    // Both sides must do real work on these inputs.
    assert!(ours(INVITE) > INVITE.len() && theirs(INVITE) > INVITE.len());
    assert!(ours(REGISTER) > REGISTER.len() && theirs(REGISTER) > REGISTER.len());
    let mut group = c.benchmark_group("message");
    group.throughput(Throughput::Elements(1));
    group.bench_function("invite_sdp/switchboard", |b| {
        b.iter(|| ours(black_box(INVITE)))
    });
    group.bench_function("invite_sdp/rsip", |b| b.iter(|| theirs(black_box(INVITE))));
    group.bench_function("register_auth/switchboard", |b| {
        b.iter(|| ours(black_box(REGISTER)))
    });
    group.bench_function("register_auth/rsip", |b| {
        b.iter(|| theirs(black_box(REGISTER)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
