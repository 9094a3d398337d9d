//! The fuzzer's bytes are the schedule: every decision of the run (which ready task
//! runs, timer ties) is read from the input tape. The target checks the executor's own
//! invariants under arbitrary schedules: the program always completes, every task's
//! result arrives, and the same tape replays to the same trace.
//!
//! The fuzz target `schedule` runs it on the fuzzer's bytes (`cargo +nightly fuzz run schedule`
//! from the repository root); `tests/fuzz_corpus.rs` runs it on every file of
//! `fuzz/corpus/schedule/` in a plain `cargo test`.

use seedloop::Sim;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

async fn program() -> Vec<u32> {
    let log = Rc::new(RefCell::new(Vec::new()));
    let mut handles = Vec::new();
    for index in 0..4u32 {
        let log = log.clone();
        handles.push(seedloop::spawn(async move {
            seedloop::yield_now().await;
            seedloop::time::sleep(Duration::from_millis(u64::from(index % 2))).await;
            log.borrow_mut().push(index);
            index
        }));
    }
    let victim = seedloop::spawn(std::future::pending::<u32>());
    seedloop::yield_now().await;
    victim.cancel();
    assert!(victim.await.is_err());
    let mut sum = 0;
    for handle in handles {
        sum += handle.await.unwrap();
    }
    assert_eq!(sum, 6);
    let log = log.borrow().clone();
    log
}

/// Runs the program on `tape` and checks its promises; panics when one breaks.
pub fn check(tape: &[u8]) {
    let mut first = Sim::new(0).tape(tape.to_vec());
    let order = first
        .run(program())
        .expect("the program completes under any schedule");
    let mut second = Sim::new(0).tape(tape.to_vec());
    assert_eq!(second.run(program()).unwrap(), order);
    assert_eq!(first.trace().hash(), second.trace().hash());
}
