//! Spare buffers, kept per thread between runs.
//!
//! A sweep runs each seed on a fresh simulation, and a simulation's vectors (task
//! slots, trace events, the recorded schedule) would otherwise regrow from empty every
//! run. Each such vector has a thread-local spare: the next run takes it, cleared, and
//! a finished run gives its vector back. Only capacity is reused, never contents, so
//! determinism is unaffected; buffers above a size limit are freed instead of kept.

use std::cell::Cell;
use std::thread::LocalKey;

/// The largest buffer (in bytes) kept as a spare.
const SPARE_BYTES_LIMIT: usize = 8 << 20;

/// Takes the spare buffer (empty if there is none), cleared.
pub(crate) fn take<T>(spare: &'static LocalKey<Cell<Vec<T>>>) -> Vec<T> {
    let mut buffer = spare.try_with(Cell::take).unwrap_or_default();
    buffer.clear();
    buffer
}

/// Offers `buffer` as the spare; the larger of it and the current spare is kept.
pub(crate) fn keep<T>(spare: &'static LocalKey<Cell<Vec<T>>>, mut buffer: Vec<T>) {
    if buffer.capacity() * std::mem::size_of::<T>() > SPARE_BYTES_LIMIT {
        return;
    }
    buffer.clear();
    let _ = spare.try_with(|spare| {
        let current = spare.take();
        spare.set(if buffer.capacity() > current.capacity() {
            buffer
        } else {
            current
        });
    });
}
