//! Dialplan interpreter overhead per step: a loop of `Set` + `GotoIf` steps (1,000
//! iterations = 2,000 steps, then `Answer`) run by one `Interpreter::run` call, reported
//! per step (criterion throughput in elements); and a chain of 1,000 literal `Set(X=abc)`
//! steps, which shows the interpreter's own overhead. The budget is < 1 µs per
//! Set/Goto/GotoIf step.
//!
//! Run: `cargo bench --bench dialplan_interp -- --warm-up-time 1 --measurement-time 3`

use std::collections::HashMap;
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use switchboard::dialplan::interp::{self, Action};
use switchboard::dialplan::Dialplan;

/// Loop iterations per `run`.
const ITERATIONS: u64 = 1_000;

#[path = "common/bench_scope.rs"]
mod bench_scope;
use bench_scope::BenchScope;

fn bench(c: &mut Criterion) {
    let text = format!(
        "[bench]\n\
         exten => s,1,Set(I=0)\n\
         same => n(top),Set(I=$[${{I}} + 1])\n\
         same => n,GotoIf($[${{I}} < {ITERATIONS}]?top)\n\
         same => n,Answer()\n"
    );
    let dialplan = match Dialplan::parse_str(Path::new("bench.conf"), &text) {
        Ok(d) => Arc::new(d),
        Err(e) => panic!("bench dialplan does not parse: {e:?}"),
    };
    let mut scope = BenchScope {
        vars: HashMap::new(),
    };
    let mut group = c.benchmark_group("dialplan_interp");
    // Set(I=0) + ITERATIONS × (Set + GotoIf) + Answer.
    group.throughput(Throughput::Elements(2 * ITERATIONS + 2));
    group.bench_function("set_gotoif_loop", |b| {
        b.iter(|| {
            let mut i = match interp::start(Arc::clone(&dialplan), "bench", "s") {
                Ok(i) => i,
                Err(e) => panic!("{e}"),
            };
            let action = i.run(&mut scope);
            assert!(matches!(action, Ok(Action::App(_))), "{action:?}");
            black_box(action)
        })
    });
    // Interpreter overhead with trivial expansion: a chain of literal `Set` steps.
    let mut chain = String::from("[bench]\nexten => s,1,NoOp()\n");
    for _ in 0..ITERATIONS {
        chain.push_str("same => n,Set(X=abc)\n");
    }
    chain.push_str("same => n,Answer()\n");
    let chain = match Dialplan::parse_str(Path::new("chain.conf"), &chain) {
        Ok(d) => Arc::new(d),
        Err(e) => panic!("chain dialplan does not parse: {e:?}"),
    };
    group.throughput(Throughput::Elements(ITERATIONS + 2));
    group.bench_function("literal_set_chain", |b| {
        b.iter(|| {
            let mut i = match interp::start(Arc::clone(&chain), "bench", "s") {
                Ok(i) => i,
                Err(e) => panic!("{e}"),
            };
            let action = i.run(&mut scope);
            assert!(matches!(action, Ok(Action::App(_))), "{action:?}");
            black_box(action)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
