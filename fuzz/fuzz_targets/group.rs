//! Fuzz target `group`: the program and its checks are in `fuzz/programs/group.rs`,
//! shared with the corpus replay test (`tests/fuzz_corpus.rs`).
#![no_main]

#[path = "../programs/group.rs"]
mod program;

libfuzzer_sys::fuzz_target!(|tape: &[u8]| program::check(tape));
