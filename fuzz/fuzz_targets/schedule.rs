//! Fuzz target `schedule`: the program and its checks are in `fuzz/programs/schedule.rs`,
//! shared with the corpus replay test (`tests/fuzz_corpus.rs`).
#![no_main]

#[path = "../programs/schedule.rs"]
mod program;

libfuzzer_sys::fuzz_target!(|tape: &[u8]| program::check(tape));
