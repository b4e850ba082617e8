//! Dialplan lookup and load: a generated dialplan with 10,000 literal extensions (three
//! steps each) and 1,000 patterns of mixed shapes in context `internal`, included from
//! `default`.
//!
//! Measures `Dialplan::find` for a literal hit, a pattern hit, a miss, and a hit through an
//! include, plus `Dialplan::load_dir` (read + parse + index) of the whole text written to a
//! temporary directory. Targets (issue 5): < 2 µs per lookup, < 50 ms per load.
//!
//! Run: `cargo bench --bench dialplan`.

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use switchboard::dialplan::Dialplan;

/// The dialplan text: 10,000 literals `20000..=29999` and 1,000 patterns.
fn generate() -> String {
    let mut text = String::with_capacity(2 << 20);
    text.push_str("[globals]\nTRUNK=carrier\n\n[internal]\n");
    for n in 20_000..30_000 {
        text.push_str(&format!(
            "exten => {n},1,Answer()\n same => n,Dial(PJSIP/{n},30)\n same => n,Hangup()\n"
        ));
    }
    // Patterns start with 3..9 so they never shadow the literals; `prefix` and `d` make each
    // one distinct; shapes vary in sets, length and wildcards.
    for i in 0..1_000u32 {
        let prefix = 300 + i % 700;
        let d = i / 700;
        let pattern = match i % 5 {
            0 => format!("_{prefix}{d}XXXX"),
            1 => format!("_{prefix}{d}[1-5]NXX"),
            2 => format!("_{prefix}{d}Z."),
            3 => format!("_{prefix}{d}ZX!"),
            _ => format!("_{prefix}{d}[14-7]XXXXX"),
        };
        text.push_str(&format!(
            "exten => {pattern},1,NoOp(${{EXTEN}})\n same => n,Dial(PJSIP/${{EXTEN:1}}@${{TRUNK}})\n"
        ));
    }
    text.push_str("\n[default]\nexten => s,1,Answer()\ninclude => internal\n");
    text
}

fn bench(c: &mut Criterion) {
    let text = generate();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    std::fs::write(dir.path().join("extensions.conf"), &text)
        .unwrap_or_else(|e| panic!("write: {e}"));
    let plan = Dialplan::load_dir(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(plan.extension_count(), 11_001);

    let check = |context: &str, exten: &str, want: Option<&str>| {
        let got = plan.find(context, exten).map(|m| m.extension.name());
        assert_eq!(got, want, "{context}/{exten}");
    };
    check("internal", "25123", Some("25123"));
    // i = 998: prefix 300 + 298 = 598, d = 1, shape 3 (`{prefix}{d}ZX!`)
    check("internal", "5981912345", Some("_5981ZX!"));
    check("internal", "1234", None);
    check("default", "29999", Some("29999"));

    let mut group = c.benchmark_group("dialplan");
    group.bench_function("find_literal", |b| {
        b.iter(|| {
            plan.find(black_box("internal"), black_box("25123"))
                .is_some()
        })
    });
    group.bench_function("find_pattern", |b| {
        b.iter(|| {
            plan.find(black_box("internal"), black_box("5981912345"))
                .is_some()
        })
    });
    group.bench_function("find_miss", |b| {
        b.iter(|| {
            plan.find(black_box("internal"), black_box("1234"))
                .is_some()
        })
    });
    group.bench_function("find_through_include", |b| {
        b.iter(|| {
            plan.find(black_box("default"), black_box("5981912345"))
                .is_some()
        })
    });
    group.bench_function("find_priority_include", |b| {
        b.iter(|| {
            plan.find_priority(black_box("default"), black_box("29999"), 2)
                .is_some()
        })
    });
    group.sample_size(20);
    group.bench_function("load_dir_11000", |b| {
        b.iter(|| Dialplan::load_dir(black_box(dir.path())).is_ok())
    });
    group.bench_function("parse_str_11000", |b| {
        b.iter(|| Dialplan::parse_str(Path::new("extensions.conf"), black_box(&text)).is_ok())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
