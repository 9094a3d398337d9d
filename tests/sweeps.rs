//! What a sweep runs: every seed it names, u64::MAX included, and never nothing.

mod common;

use seedloop::harness::env::EnvConfig;
use seedloop::{CancelExplorer, Check, Sim};
use std::cell::Cell;

/// Two tasks that yield, so that the schedule depends on the seed.
async fn two_yielders() {
    let a = seedloop::spawn(async {
        seedloop::yield_now().await;
    });
    let b = seedloop::spawn(async {
        seedloop::yield_now().await;
    });
    a.await.unwrap();
    b.await.unwrap();
}

async fn yield_then_panic() {
    two_yielders().await;
    panic!("found");
}

#[test]
fn seedloop_seed_u64_max_runs_that_seed() {
    let env = || EnvConfig::parse([("SEEDLOOP_SEED", u64::MAX.to_string())]).unwrap();
    let runs = Cell::new(0);
    let summary = Check::new()
        .env(env())
        .try_run(|| {
            runs.set(runs.get() + 1);
            two_yielders()
        })
        .unwrap();
    assert_eq!(summary.seeds_run, 1);
    assert_eq!(runs.get(), 2, "the seed, and its determinism check");
    // A failure under it names it and replays.
    let failure = Check::new()
        .env(env())
        .try_run(yield_then_panic)
        .unwrap_err();
    assert_eq!(failure.seed, u64::MAX);
    let (replay, again) = common::run_twice(|| failure.sim(), yield_then_panic);
    assert_eq!(again.unwrap_err().kind, failure.kind);
    assert_eq!(replay.trace().to_string(), failure.trace.to_string());
    assert_eq!(failure.trace.to_string(), {
        let mut sim = Sim::new(u64::MAX);
        let _ = sim.run(async {
            two_yielders().await;
            panic!("found");
        });
        sim.trace().to_string()
    });
}

#[test]
fn a_sweep_up_to_u64_max_runs_every_seed_up_to_it() {
    let runs = Cell::new(0);
    let summary = Check::new()
        .seeds(u64::MAX - 2..u64::MAX)
        .env(EnvConfig::parse([("SEEDLOOP_SEEDS", "10")]).unwrap())
        .try_run(|| {
            runs.set(runs.get() + 1);
            two_yielders()
        })
        .unwrap();
    // u64::MAX - 2, u64::MAX - 1 and u64::MAX: the last seed there is.
    assert_eq!(summary.seeds_run, 3);
    assert_eq!(runs.get(), 4);
    assert_eq!(summary.seeds.start, u64::MAX - 2);
}

#[test]
fn seedloop_seeds_zero_is_an_error() {
    let error = EnvConfig::parse([("SEEDLOOP_SEEDS", "0")]).unwrap_err();
    assert_eq!(error.variable(), "SEEDLOOP_SEEDS");
    assert!(error.to_string().contains("must be at least 1"), "{error}");
}

#[test]
fn an_empty_seed_range_is_an_error() {
    for message in [
        common::panic_message(|| {
            let _ = Check::new().seeds(5..5);
        }),
        common::panic_message(|| {
            let (start, end) = (7, 3);
            let _ = CancelExplorer::new("worker").seeds(start..end);
        }),
    ] {
        assert!(message.contains("runs no seed"), "{message}");
        assert!(message.contains("at least one seed"), "{message}");
    }
}

#[test]
fn the_summary_counts_the_seeds_that_ran() {
    let summary = Check::new()
        .seeds(10..35)
        .env(EnvConfig::default())
        .run(two_yielders);
    assert_eq!(summary.seeds, 10..35);
    assert_eq!(summary.seeds_run, 25);
    let summary = Check::new()
        .seeds(10..35)
        .env(EnvConfig::parse([("SEEDLOOP_SEEDS", "3")]).unwrap())
        .run(two_yielders);
    assert_eq!((summary.seeds, summary.seeds_run), (10..13, 3));
}
