//! Execution traces as insta snapshots (stored in the top-level `snapshots/`).
//!
//! A trace's `Display` renders ids and virtual times only, so it is stable across
//! machines and runs; a change to the scheduler or the executor that changes an
//! execution shows up here as a readable diff.

mod common;

use seedloop::task::{GroupError, TaskGroup};
use seedloop::time::{sleep, Instant};
use seedloop::{Policy, Sim};
use std::cell::RefCell;
use std::rc::Rc;
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

/// A task group under the production order: the second of three named children fails
/// at 20ms; the body (awaiting it) and the third child (sleeping until 30ms) are
/// cancelled, the first (done at 10ms) is not.
async fn group_second_child_fails() -> Result<Vec<u32>, GroupError<String>> {
    TaskGroup::scope(|tg| async move {
        let first = tg.spawn_named("first", async {
            seedloop::yield_now().await;
            sleep(Duration::from_millis(10)).await;
            Ok::<u32, String>(1)
        });
        let second = tg.spawn_named("second", async {
            seedloop::yield_now().await;
            sleep(Duration::from_millis(20)).await;
            Err::<u32, _>("second failed".to_string())
        });
        let third = tg.spawn_named("third", async {
            sleep(Duration::from_millis(30)).await;
            Ok::<u32, String>(3)
        });
        // The body is cancelled while it awaits `second`: the second unwrap never runs.
        Ok(vec![
            first.await.unwrap(),
            second.await.unwrap(),
            third.await.unwrap(),
        ])
    })
    .await
}

#[test]
fn task_group_second_child_fails_trace_under_fifo() {
    let (sim, result) = common::run_twice(
        || Sim::new(0).policy(Policy::Fifo),
        group_second_child_fails,
    );
    let error = result.unwrap().unwrap_err();
    assert_eq!(error.errors(), ["second failed".to_string()]);
    assert_eq!(
        error.to_string(),
        "task group failed: 1 error\n  1. task 2 (second) returned an error: second failed"
    );
    // The failure at 20ms ended the run: `third` never reached its 30ms timer.
    assert_eq!(sim.now().elapsed_since_epoch(), Duration::from_millis(20));
    assert_trace_snapshot!(
        "task_group_second_child_fails_fifo",
        sim.trace().to_string()
    );
}

/// The process_item / process_order / process_bill group (sleeps of 1, 2, 3 s); returns
/// the printed timeline.
async fn group_three_jobs() -> Vec<String> {
    let log: Rc<RefCell<Vec<String>>> = Rc::default();
    let job = |name: &'static str, secs: u64| {
        let log = log.clone();
        async move {
            sleep(Duration::from_secs(secs)).await;
            log.borrow_mut()
                .push(format!("[{}] {name} done", Instant::now()));
            Ok::<(), String>(())
        }
    };
    TaskGroup::scope(|tg| async move {
        tg.spawn_named("process_item", job("process_item", 1));
        tg.spawn_named("process_order", job("process_order", 2));
        tg.spawn_named("process_bill", job("process_bill", 3));
        Ok(())
    })
    .await
    .unwrap();
    log.borrow_mut()
        .push(format!("[{}] all done", Instant::now()));
    log.take()
}

#[test]
fn task_group_three_jobs_trace_under_fifo() {
    let (sim, timeline) = common::run_twice(|| Sim::new(0).policy(Policy::Fifo), group_three_jobs);
    let timeline = timeline.unwrap();
    // What asyncio prints for the same program.
    assert_eq!(
        timeline,
        [
            "[+1s] process_item done",
            "[+2s] process_order done",
            "[+3s] process_bill done",
            "[+3s] all done",
        ]
    );
    assert_trace_snapshot!(
        "task_group_three_jobs_fifo",
        format!("{}\n\n{}", timeline.join("\n"), sim.trace())
    );
}

/// W2, the lock-contention workload, at a size a person can read: 3 tasks take a named
/// lock 3 times each; holding it they read a counter, yield, and write it plus one.
async fn lock_contention() -> u32 {
    let lock = Rc::new(seedloop::sync::Lock::new(0u32).named("counter"));
    let handles: Vec<_> = ["t1", "t2", "t3"]
        .into_iter()
        .map(|name| {
            let lock = lock.clone();
            seedloop::task::Builder::new().name(name).spawn(async move {
                for _ in 0..3 {
                    let mut counter = lock.lock().await;
                    let read = *counter;
                    seedloop::yield_now().await;
                    *counter = read + 1;
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await.unwrap();
    }
    let total = *lock.lock().await;
    total
}

#[test]
fn lock_contention_trace_under_fifo() {
    let (sim, total) = common::run_twice(|| Sim::new(0).policy(Policy::Fifo), lock_contention);
    assert_eq!(total.unwrap(), 9);
    seedloop::sync::Fairness::of(sim.trace()).assert_no_bypass();
    assert_trace_snapshot!("lock_contention_fifo", sim.trace().to_string());
}

#[test]
fn lock_contention_trace_under_random_seed_3() {
    let (sim, total) = common::run_twice(|| Sim::new(3), lock_contention);
    assert_eq!(total.unwrap(), 9);
    seedloop::sync::Fairness::of(sim.trace()).assert_no_bypass();
    assert_trace_snapshot!("lock_contention_random_3", sim.trace().to_string());
}

/// Yields that share a poll with other events: a lock taken after the yield, two
/// yields, a task that completes, spawns or panics after yielding, all in one poll.
/// The trace shows each yield where it happened among them.
async fn yields_among_other_events_in_one_poll() {
    let lock = Rc::new(seedloop::sync::Lock::new(0).named("counter"));
    futures::future::join(seedloop::yield_now(), async {
        *lock.lock().await += 1;
    })
    .await;
    futures::future::join(seedloop::yield_now(), seedloop::yield_now()).await;
    let quick = seedloop::task::Builder::new().name("quick").spawn(async {
        let yielding = Box::pin(seedloop::yield_now());
        futures::future::select(yielding, std::future::ready(())).await;
    });
    let spawner = seedloop::task::Builder::new().name("spawner").spawn(async {
        let child = RefCell::new(None);
        futures::future::join(seedloop::yield_now(), async {
            *child.borrow_mut() = Some(seedloop::spawn(async {}));
        })
        .await;
        child.into_inner().unwrap().await.unwrap();
    });
    let boom = seedloop::task::Builder::new().name("boom").spawn(async {
        futures::future::join(seedloop::yield_now(), async { panic!("boom") }).await;
    });
    quick.await.unwrap();
    spawner.await.unwrap();
    assert!(boom.await.unwrap_err().is_panic());
}

#[test]
fn yields_among_other_events_in_one_poll_fifo() {
    let (sim, result) = common::run_twice(
        || Sim::new(0).policy(Policy::Fifo).continue_on_panic(true),
        yields_among_other_events_in_one_poll,
    );
    result.unwrap();
    assert_trace_snapshot!("yields_in_one_poll_fifo", sim.trace().to_string());
}

#[test]
fn yields_among_other_events_in_one_poll_random_5() {
    let (sim, result) = common::run_twice(
        || Sim::new(5).continue_on_panic(true),
        yields_among_other_events_in_one_poll,
    );
    result.unwrap();
    assert_trace_snapshot!("yields_in_one_poll_random_5", sim.trace().to_string());
}
