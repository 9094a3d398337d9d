//! A loop that never waits for anything still takes steps: a sleep that is already
//! due yields once (asyncio's `sleep(0)`), and seedloop's futures that are ready at
//! once spend a per-poll budget, after which they yield. So a spin ends at the step
//! limit with a report (or lets the task it waits for run), never hangs. Each case
//! runs its seed twice and compares traces.

mod common;

use common::{named, run_twice};
use seedloop::sync::{Lock, Queue};
use seedloop::time::{sleep, timeout};
use seedloop::{FailureKind, Policy, Sim};
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

fn spins_into_the_step_limit<Fut: std::future::Future<Output = ()>>(program: impl Fn() -> Fut) {
    for policy in [Policy::Fifo, Policy::Random, Policy::Pct { depth: 2 }] {
        let (_, result) = run_twice(
            || Sim::new(3).policy(policy.clone()).max_steps(500),
            &program,
        );
        let failure = result.expect_err("the spin fails at the step limit");
        assert!(
            matches!(failure.kind, FailureKind::StepLimit { max_steps: 500 }),
            "{failure}"
        );
    }
}

#[test]
fn a_spin_on_a_zero_sleep_reaches_the_step_limit() {
    spins_into_the_step_limit(|| async {
        let flag = Cell::new(false);
        while !flag.get() {
            sleep(Duration::ZERO).await;
        }
    });
}

#[test]
fn a_loop_of_zero_timeouts_on_an_empty_queue_reaches_the_step_limit() {
    spins_into_the_step_limit(|| async {
        let queue: Queue<u32> = Queue::unbounded();
        loop {
            if timeout(Duration::ZERO, queue.get()).await.is_ok() {
                break;
            }
        }
    });
}

#[test]
fn a_spin_on_an_uncontended_lock_reaches_the_step_limit() {
    spins_into_the_step_limit(|| async {
        let lock = Lock::new(0u64);
        loop {
            let mut guard = lock.lock().await;
            *guard += 1;
        }
    });
}

#[test]
fn a_zero_sleep_lets_the_task_it_waits_for_run() {
    for seed in 0..10 {
        let (sim, result) = run_twice(
            || Sim::new(seed),
            || async {
                let flag = Rc::new(Cell::new(false));
                let setter = named("setter", {
                    let flag = flag.clone();
                    async move { flag.set(true) }
                });
                while !flag.get() {
                    sleep(Duration::ZERO).await;
                }
                setter.await.unwrap();
            },
        );
        result.unwrap();
        assert_eq!(sim.now().elapsed_since_epoch(), Duration::ZERO);
    }
}

#[test]
fn a_zero_sleep_yields_once_then_completes() {
    let (sim, result) = run_twice(
        || Sim::new(0).policy(Policy::Fifo),
        || async {
            sleep(Duration::ZERO).await;
        },
    );
    result.unwrap();
    // One poll to find the sleep due and yield, one to complete.
    assert_eq!(sim.stats().polls, 2);
}

#[test]
fn interval_ticks_do_not_yield() {
    let (sim, result) = run_twice(
        || Sim::new(0).policy(Policy::Fifo),
        || async {
            let mut ticks = seedloop::time::interval(Duration::from_secs(1));
            ticks.tick().await;
        },
    );
    result.unwrap();
    assert_eq!(sim.stats().polls, 1, "the first tick completes at once");
}
