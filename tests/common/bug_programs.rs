//! Programs with known interleaving bugs, shared by the PCT tests and the
//! bug-finding bench (`benches/bug_finding.rs` includes this file).

use std::cell::Cell;
use std::rc::Rc;

#[derive(Clone, Copy, PartialEq, Debug)]
enum State {
    Idle,
    Busy,
    Done,
}

/// A depth-2 ordering bug: the checker must run after the worker's first step and
/// before its second. The checker first yields `checker_steps` times, so in the FIFO
/// order it always runs after the worker has finished; with many steps, a uniform
/// random pick almost never holds the worker back that long, while one PCT change
/// point right after the worker's first step does.
pub async fn worker_preempted_mid_update(checker_steps: usize) {
    let state = Rc::new(Cell::new(State::Idle));
    let worker_state = state.clone();
    let worker = seedloop::spawn(async move {
        worker_state.set(State::Busy);
        seedloop::yield_now().await;
        worker_state.set(State::Done);
    });
    let checker = seedloop::spawn(async move {
        for _ in 0..checker_steps {
            seedloop::yield_now().await;
        }
        assert_ne!(state.get(), State::Busy, "observed the worker mid-update");
    });
    worker.await.unwrap();
    checker.await.unwrap();
}

/// A lost update between two tasks that read, yield, then write, three times each
/// (tasks that only yield, never block).
pub async fn lost_update() {
    let counter = Rc::new(Cell::new(0));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let counter = counter.clone();
            seedloop::spawn(async move {
                for _ in 0..3 {
                    let read = counter.get();
                    seedloop::yield_now().await;
                    counter.set(read + 1);
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await.unwrap();
    }
    assert_eq!(counter.get(), 6, "lost update");
}
