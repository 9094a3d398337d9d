//! Execution traces as insta snapshots (stored in the top-level `snapshots/`).
//!
//! A trace's `Display` renders ids and virtual times only, so it is stable across
//! machines and runs; a change to the scheduler or the executor that changes an
//! execution shows up here as a readable diff.

mod common;

use seedloop::time::sleep;
use seedloop::{Policy, Sim};
use std::time::Duration;

macro_rules! assert_trace_snapshot {
    ($name:expr, $trace:expr) => {
        insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!($name, $trace);
        });
    };
}

/// asyncio's `say_after` example: two tasks, timers decide the order.
async fn say_after_program() -> Vec<String> {
    let say_after = |delay: u64, what: &'static str| {
        seedloop::task::Builder::new().name(what).spawn(async move {
            sleep(Duration::from_secs(delay)).await;
            what.to_string()
        })
    };
    let hello = say_after(1, "hello");
    let world = say_after(2, "world");
    vec![hello.await.unwrap(), world.await.unwrap()]
}

#[test]
fn say_after_trace_under_fifo() {
    let (sim, words) = common::run_twice(|| Sim::new(0).policy(Policy::Fifo), say_after_program);
    assert_eq!(words.unwrap(), ["hello", "world"]);
    assert_trace_snapshot!("say_after_fifo", sim.trace().to_string());
}

/// Three workers yield while main waits: the interleaving is the seed's.
async fn yielding_workers() {
    let handles: Vec<_> = ["w1", "w2", "w3"]
        .into_iter()
        .map(|name| {
            seedloop::task::Builder::new().name(name).spawn(async {
                seedloop::yield_now().await;
                seedloop::yield_now().await;
            })
        })
        .collect();
    for handle in handles {
        handle.await.unwrap();
    }
}

#[test]
fn yielding_workers_trace_under_random_seed_7() {
    let (sim, _) = common::run_twice(|| Sim::new(7), yielding_workers);
    assert_trace_snapshot!("yielding_workers_random_7", sim.trace().to_string());
}

#[test]
fn yielding_workers_trace_under_pct_seed_7() {
    let (sim, _) = common::run_twice(
        || Sim::new(7).policy(Policy::Pct { depth: 2 }),
        yielding_workers,
    );
    assert_trace_snapshot!("yielding_workers_pct_7", sim.trace().to_string());
}
