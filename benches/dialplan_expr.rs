//! Dialplan expression overhead: `expand` of a literal (the no-`$` fast path), of
//! `${EXTEN:1}`, of `$[${X} + 1 > 5]` (GotoIf's condition) and of an `IF(...)`, plus a
//! whole `Set` step (expand, `parse_set`, `assign`). The budget is < 1 µs per
//! Set/Goto/GotoIf step.
//!
//! Run: `cargo bench --bench dialplan_expr -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use switchboard::dialplan::expr::{assign, expand, parse_set};

#[path = "common/bench_scope.rs"]
mod bench_scope;
use bench_scope::BenchScope;

fn bench(c: &mut Criterion) {
    let mut scope = BenchScope {
        vars: [("EXTEN", "915551234"), ("X", "4"), ("Y", "yes")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    };
    let mut group = c.benchmark_group("dialplan_expr");
    let cases = [
        ("literal", "PJSIP/1000,30,tT"),
        ("exten_substring", "${EXTEN:1}"),
        ("gotoif_condition", "$[${X} + 1 > 5]"),
        ("if_function", "${IF($[${X} > 3]?${Y}:no)}"),
    ];
    for (name, template) in cases {
        group.bench_function(name, |b| b.iter(|| expand(black_box(template), &mut scope)));
    }
    group.bench_function("set_step", |b| {
        b.iter(|| {
            let data =
                expand(black_box("DEST=${EXTEN:1}"), &mut scope).map_err(|e| e.to_string())?;
            let (name, value) = parse_set(&data).map_err(|e| e.to_string())?;
            assign(&name, &value, &mut scope).map_err(|e| e.to_string())
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
