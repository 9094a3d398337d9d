//! The fuzzer's bytes are the schedule (and the program's random choices) of a program
//! that contends for a lock, a semaphore and a bounded queue while tasks are cancelled
//! at tape-chosen moments. The target checks the primitives' promises under arbitrary
//! schedules: mutual exclusion, the permit bound, no permit or item lost or delivered
//! twice, a cancelled waiter never served, FIFO grants (no bypass), no deadlock, and
//! the same tape replays to the same trace.
//!
//! The fuzz target `sync` runs it on the fuzzer's bytes (`cargo +nightly fuzz run sync`
//! from the repository root); `tests/fuzz_corpus.rs` runs it on every file of
//! `fuzz/corpus/sync/` in a plain `cargo test`.

use seedloop::sync::{Fairness, Lock, Queue, Semaphore};
use seedloop::{JoinError, Sim};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

const WORKERS: u32 = 4;
const ITEMS: u32 = 6;

struct World {
    lock: Lock<u32>,
    permits: Semaphore,
    queue: Queue<u32>,
    inside_lock: Cell<u32>,
    inside_permits: Cell<u32>,
    received: RefCell<Vec<u32>>,
}

/// Counts a holder in while alive: a worker cancelled inside leaves the count right.
struct Inside<'a>(&'a Cell<u32>);

impl<'a> Inside<'a> {
    fn enter(count: &'a Cell<u32>) -> Inside<'a> {
        count.set(count.get() + 1);
        Inside(count)
    }
}

impl Drop for Inside<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

async fn worker(world: Rc<World>) {
    {
        let mut value = world.lock.lock().await;
        let inside = Inside::enter(&world.inside_lock);
        assert_eq!(inside.0.get(), 1, "two holders of the lock");
        let read = *value;
        seedloop::yield_now().await;
        *value = read + 1;
    }
    {
        let _permit = world.permits.acquire().await.unwrap();
        let inside = Inside::enter(&world.inside_permits);
        assert!(inside.0.get() <= 2, "more holders than permits");
        seedloop::yield_now().await;
    }
    while let Ok(item) = world.queue.get().await {
        world.received.borrow_mut().push(item);
    }
}

async fn program() -> (u32, Vec<u32>) {
    let world = Rc::new(World {
        lock: Lock::new(0),
        permits: Semaphore::new(2),
        queue: Queue::bounded(2),
        inside_lock: Cell::new(0),
        inside_permits: Cell::new(0),
        received: RefCell::new(Vec::new()),
    });
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| seedloop::spawn(worker(world.clone())))
        .collect();
    // Cancel a tape-chosen worker at a tape-chosen moment.
    let victim = seedloop::rand::random::<u32>() % WORKERS;
    for _ in 0..seedloop::rand::random::<u32>() % 8 {
        seedloop::yield_now().await;
    }
    workers[victim as usize].cancel();
    for item in 0..ITEMS {
        world.queue.put(item).await.unwrap();
    }
    world.queue.shutdown(false);
    let mut completed = 0;
    for handle in workers {
        match handle.await {
            Ok(()) => completed += 1,
            Err(JoinError::Cancelled) => {}
            Err(other) => panic!("a worker failed: {other}"),
        }
    }
    assert!(!world.lock.is_locked());
    assert_eq!(world.permits.available(), 2, "a permit was lost");
    let mut items = world.received.borrow().clone();
    while let Ok(item) = world.queue.try_get() {
        items.push(item);
    }
    items.sort();
    assert_eq!(
        items,
        (0..ITEMS).collect::<Vec<_>>(),
        "an item was lost or duplicated"
    );
    let count = *world.lock.lock().await;
    (count, vec![completed])
}

/// Runs the program on `tape` and checks its promises; panics when one breaks.
pub fn check(tape: &[u8]) {
    let mut first = Sim::new(0).tape(tape.to_vec());
    let outcome = first
        .run(program())
        .unwrap_or_else(|failure| panic!("{failure}"));
    Fairness::of(first.trace()).assert_no_bypass();
    let mut second = Sim::new(0).tape(tape.to_vec());
    assert_eq!(second.run(program()).unwrap(), outcome);
    assert_eq!(first.trace().hash(), second.trace().hash());
}
