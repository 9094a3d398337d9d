//! Helpers shared by the behaviour tests.
#![allow(dead_code)]

pub mod bug_programs;
pub mod props;

use seedloop::task::Builder;
use seedloop::time::Instant;
use seedloop::{yield_now, Failure, JoinHandle, Policy, Sim};
use std::future::Future;
use std::time::Duration;

/// Runs `program` on `make()` twice and asserts both runs have the same trace (text
/// and hash) and the same outcome; returns the first run's sim and result.
pub fn run_twice<T, Fut>(
    make: impl Fn() -> Sim,
    program: impl Fn() -> Fut,
) -> (Sim, Result<T, Failure>)
where
    Fut: Future<Output = T>,
    T: PartialEq + std::fmt::Debug,
{
    let mut first = make();
    let first_result = first.run(program());
    let mut second = make();
    let second_result = second.run(program());
    assert_eq!(
        first.trace().to_string(),
        second.trace().to_string(),
        "the same seed must replay event for event"
    );
    assert_eq!(first.trace().hash(), second.trace().hash());
    match (&first_result, &second_result) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(a), Err(b)) => assert_eq!(a.kind, b.kind),
        _ => panic!("one run failed and the other did not"),
    }
    (first, first_result)
}

/// Runs `program` on `make()` twice (same trace, same outcome, see [`run_twice`]) and
/// panics with the failure unless it passed; returns the first run's sim.
pub fn passes<Fut: Future<Output = ()>>(make: impl Fn() -> Sim, program: impl Fn() -> Fut) -> Sim {
    let (sim, result) = run_twice(make, program);
    if let Err(failure) = result {
        panic!("{failure}");
    }
    sim
}

/// Runs `program` under each seed twice (same trace, same outcome); every run passes.
pub fn sweep<Fut: Future<Output = ()>>(
    policy: Policy,
    seeds: std::ops::Range<u64>,
    program: impl Fn() -> Fut,
) {
    sweep_then(policy, seeds, program, |_| {});
}

/// Like [`sweep`], then hands each run's `Sim` (its trace) to `check`.
pub fn sweep_then<Fut: Future<Output = ()>>(
    policy: Policy,
    seeds: std::ops::Range<u64>,
    program: impl Fn() -> Fut,
    check: impl Fn(&Sim),
) {
    for seed in seeds {
        let sim = passes(|| Sim::new(seed).policy(policy.clone()), &program);
        check(&sim);
    }
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// The virtual time since the simulation began.
pub fn now() -> Duration {
    Instant::now().elapsed_since_epoch()
}

/// Spawns `future` as a task named `name`.
pub fn named<F>(name: &str, future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    Builder::new().name(name).spawn(future)
}

/// Yields until `condition` holds (other tasks run meanwhile).
pub async fn until(mut condition: impl FnMut() -> bool) {
    for _ in 0..10_000 {
        if condition() {
            return;
        }
        yield_now().await;
    }
    panic!("the condition never held");
}

/// The message of the panic `run` ends with.
pub fn panic_message<R>(run: impl FnOnce() -> R) -> String {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
        Ok(_) => panic!("expected a panic"),
        Err(payload) => payload_message(&*payload),
    }
}

/// The message a panic's payload carries (`panic!` with or without arguments).
pub fn payload_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// The `SEEDLOOP_*=value` assignments a replay line starts with.
pub fn replay_assignments(line: &str) -> Vec<(String, String)> {
    line.trim_start_matches("replay: ")
        .split_whitespace()
        .take_while(|word| word.contains('='))
        .map(|word| {
            let (key, value) = word.split_once('=').unwrap();
            (key.to_string(), value.to_string())
        })
        .collect()
}

/// Tasks named by `names`, spawned in that order, each logging its name once; the
/// order they ran in (the FIFO order is `names` itself).
pub async fn spawn_order(names: &'static [char]) -> String {
    let log = std::rc::Rc::new(std::cell::RefCell::new(String::new()));
    let tasks: Vec<_> = names
        .iter()
        .map(|&name| {
            let log = log.clone();
            seedloop::spawn(async move { log.borrow_mut().push(name) })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    log.take()
}

/// Two withdrawals of 70 from a balance of 100 that check the balance, sleep 1 ms,
/// then debit: an overdraft whenever both checks run before either debit.
pub async fn overdraft() {
    withdrawals(false).await;
}

/// [`overdraft`], edited the way one edits a program to probe a bug: main yields once
/// more (an unrelated await) before it waits for the withdrawals.
pub async fn overdraft_with_an_extra_await() {
    withdrawals(true).await;
}

async fn withdrawals(extra_await: bool) {
    let balance = std::rc::Rc::new(std::cell::Cell::new(100i64));
    let withdraw = |amount: i64| {
        let balance = balance.clone();
        seedloop::spawn(async move {
            if balance.get() >= amount {
                seedloop::time::sleep(Duration::from_millis(1)).await;
                balance.set(balance.get() - amount);
            }
        })
    };
    let (a, b) = (withdraw(70), withdraw(70));
    if extra_await {
        yield_now().await;
    }
    a.await.unwrap();
    b.await.unwrap();
    assert!(balance.get() >= 0, "overdrawn: {}", balance.get());
}

/// Spins for `yields` steps, then panics.
pub async fn spin_then_fail(yields: u32) {
    for _ in 0..yields {
        yield_now().await;
    }
    panic!("reached the end");
}

/// A sweep's failure at its step limit of 50: [`spin_then_fail`]`(100)` on seed 0, with
/// no `SEEDLOOP_*` variable read.
pub fn step_limit_failure() -> Failure {
    seedloop::Check::new()
        .seeds(0..1)
        .max_steps(50)
        .env(seedloop::harness::env::EnvConfig::default())
        .try_run(|| spin_then_fail(100))
        .unwrap_err()
}
