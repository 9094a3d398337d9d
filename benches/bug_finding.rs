//! Bug-finding power: for programs with a known interleaving bug, the median number of
//! seeds a sweep runs before the first failing one, per policy.
//!
//! `cargo bench --bench bug_finding`
//!
//! Each policy sweeps 21 disjoint windows of seeds (window `k` starts at seed
//! `k * 1_000_000`) and stops at the first failure; the table shows the median and
//! the worst window, in seeds run. "never" means no failure within the cap.

use seedloop::{Check, Policy};
use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;

const WINDOWS: u64 = 21;
const CAP: u64 = 20_000;

/// Depth 2: the checker must run between the worker's two steps. The checker yields
/// twice first, so the FIFO order never shows the bug.
async fn intermediate_state() {
    let state = Rc::new(Cell::new(0u8));
    let worker_state = state.clone();
    let worker = seedloop::spawn(async move {
        worker_state.set(1);
        seedloop::yield_now().await;
        worker_state.set(2);
    });
    let checker = seedloop::spawn(async move {
        seedloop::yield_now().await;
        seedloop::yield_now().await;
        assert_ne!(state.get(), 1, "saw the intermediate state");
    });
    worker.await.unwrap();
    checker.await.unwrap();
}

/// A lost update between two tasks that read, yield, then write, three times each.
async fn lost_update() {
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

/// Depth 2 with a long preemption: the checker's 20 steps must all run between the
/// worker's two steps. A uniform random pick almost never delays the worker that long;
/// one PCT change point right after the worker's first step does it.
async fn long_preemption() {
    let state = Rc::new(Cell::new(0u8));
    let worker_state = state.clone();
    let worker = seedloop::spawn(async move {
        worker_state.set(1);
        seedloop::yield_now().await;
        worker_state.set(2);
    });
    let checker = seedloop::spawn(async move {
        for _ in 0..20 {
            seedloop::yield_now().await;
        }
        assert_ne!(state.get(), 1, "the worker was preempted mid-update");
    });
    worker.await.unwrap();
    checker.await.unwrap();
}

/// Seeds run in the window starting at `start` until the first failure.
fn seeds_to_failure<Fut: Future<Output = ()>>(
    (policy, horizon): &(Policy, u64),
    start: u64,
    program: fn() -> Fut,
) -> Option<u64> {
    Check::new()
        .seeds(start..start + CAP)
        .policy(policy.clone())
        .pct_horizon(*horizon)
        .env(Default::default())
        .try_run(program)
        .err()
        .map(|failure| failure.seed - start + 1)
}

fn report<Fut: Future<Output = ()>>(name: &str, program: fn() -> Fut) {
    println!("{name}");
    println!(
        "  {:<12} {:>14} {:>14}",
        "policy", "median seeds", "worst window"
    );
    let default = seedloop::DEFAULT_PCT_HORIZON;
    let configurations = [
        (Policy::Fifo, default),
        (Policy::Random, default),
        (Policy::Pct { depth: 2 }, default),
        (Policy::Pct { depth: 3 }, default),
        (Policy::Pct { depth: 2 }, 10),
        (Policy::Pct { depth: 3 }, 10),
    ];
    for configuration in &configurations {
        let (policy, horizon) = configuration;
        let label = if *policy == Policy::Fifo || *policy == Policy::Random {
            policy.to_string()
        } else {
            format!("{policy} k={horizon}")
        };
        let mut found: Vec<Option<u64>> = (0..WINDOWS)
            .map(|window| seeds_to_failure(configuration, window * 1_000_000, program))
            .collect();
        found.sort_by_key(|seeds| seeds.unwrap_or(u64::MAX));
        let show =
            |seeds: Option<u64>| seeds.map_or("never".to_string(), |seeds| seeds.to_string());
        println!(
            "  {:<12} {:>14} {:>14}",
            label,
            show(found[found.len() / 2]),
            show(*found.last().unwrap())
        );
    }
}

fn main() {
    // Expected panics inside the simulations would print one message each.
    std::panic::set_hook(Box::new(|_| {}));
    println!("bug-finding power: seeds until the first failure (cap {CAP}, {WINDOWS} windows)\n");
    report(
        "depth-2 ordering bug (intermediate state, yields only)",
        intermediate_state,
    );
    println!();
    report("lost update (2 tasks x 3 read-yield-write)", lost_update);
    println!();
    report(
        "long preemption (checker runs 20 steps inside the worker's update)",
        long_preemption,
    );
}
