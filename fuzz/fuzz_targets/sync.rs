//! Fuzz target `sync`: the program and its checks are in `fuzz/programs/sync.rs`,
//! shared with the corpus replay test (`tests/fuzz_corpus.rs`).
#![no_main]

#[path = "../programs/sync.rs"]
mod program;

libfuzzer_sys::fuzz_target!(|tape: &[u8]| program::check(tape));
