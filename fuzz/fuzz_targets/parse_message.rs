//! Fuzz target: arbitrary bytes through Message::parse, every typed accessor, encode and
//! the StreamFramer. Run: `cd fuzz && cargo +nightly fuzz run parse_message`.
#![no_main]

mod entry;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    entry::run(data);
});
