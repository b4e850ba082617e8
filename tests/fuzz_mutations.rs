//! Deterministic stand-in for the cargo-fuzz target: 20,000 random mutations (fixed seed)
//! of the wire fixtures through the same entry point (fuzz/fuzz_targets/entry.rs), which
//! must never panic and must keep its encode/parse invariants.

#[path = "../fuzz/fuzz_targets/entry.rs"]
mod entry;

use std::path::Path;

const ITERATIONS: usize = 20_000;
const SEED: u64 = 0x5157_4348_424f_4152;

/// Bytes that matter to the SIP grammar, favoured by the mutator.
const INTERESTING: &[u8] = b":;,\"<>\r\n \t@[]%=?/\\0123456789\x00\xff";

/// xorshift64*: small, deterministic, good enough to drive mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

fn fixtures() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out = Vec::new();
    for dir in ["rfc4475", "messages"] {
        let entries = std::fs::read_dir(root.join(dir)).expect("fixture dir");
        for e in entries.flatten() {
            if e.path().extension().is_some_and(|x| x == "sip") {
                out.push(std::fs::read(e.path()).expect("fixture"));
            }
        }
    }
    out.sort();
    out
}

fn mutate(rng: &mut Rng, input: &mut Vec<u8>, other: &[u8]) {
    for _ in 0..=rng.below(4) {
        let len = input.len();
        let at = rng.below(len + 1);
        match rng.below(7) {
            0 if len > 0 => input[at.min(len - 1)] ^= 1 << rng.below(8),
            1 => input.insert(at, INTERESTING[rng.below(INTERESTING.len())]),
            2 if len > 0 => {
                let end = (at + 1 + rng.below(16)).min(len);
                input.drain(at.min(len - 1)..end);
            }
            3 => {
                let start = rng.below(len + 1);
                let end = (start + rng.below(32)).min(len);
                let piece = input[start..end].to_vec();
                input.splice(at..at, piece);
            }
            4 => input.truncate(at),
            5 => {
                let start = rng.below(other.len() + 1);
                let end = (start + rng.below(64)).min(other.len());
                input.splice(at..at, other[start..end].iter().copied());
            }
            _ if len > 0 => input[at.min(len - 1)] = INTERESTING[rng.below(INTERESTING.len())],
            _ => input.push(b'\r'),
        }
    }
}

#[test]
fn mutated_fixtures_never_panic() {
    let corpus = fixtures();
    assert!(corpus.len() >= 50);
    let mut rng = Rng(SEED);
    for i in 0..ITERATIONS {
        let mut input = corpus[rng.below(corpus.len())].clone();
        let other = &corpus[rng.below(corpus.len())];
        mutate(&mut rng, &mut input, other);
        let result = std::panic::catch_unwind(|| entry::run(&input));
        if result.is_err() {
            panic!(
                "iteration {i}: entry point panicked on {:?}",
                String::from_utf8_lossy(&input)
            );
        }
    }
}

/// Inputs cargo-fuzz once found failing (tests/fixtures/fuzz/*.bin) stay fixed.
#[test]
fn fuzz_regressions_stay_fixed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
    let mut n = 0;
    for e in std::fs::read_dir(dir).expect("fuzz fixture dir").flatten() {
        entry::run(&std::fs::read(e.path()).expect("fuzz fixture"));
        n += 1;
    }
    assert!(n >= 1);
}

#[test]
fn unmutated_fixtures_pass_the_invariants() {
    for f in fixtures() {
        entry::run(&f);
    }
}
