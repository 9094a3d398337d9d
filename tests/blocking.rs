//! Blocking work (`spawn_blocking`): a job is a task named `blocking` that finishes
//! after a duration drawn from the blocking stream, in the documented range, and runs
//! its closure then; jobs finishing together run in a drawn order that a seed (or a
//! tape) replays; `Policy::Fifo` gives every job the minimum duration; dropping a
//! handle never cancels a job, cancelling one whose closure has not run means it never
//! runs; a panic in the closure is a task panic. Every case runs its seed twice and
//! compares traces.

mod common;

use common::{panic_message, passes, run_twice};
use seedloop::net::Host;
use seedloop::task::{spawn_blocking, MAX_BLOCKING_DURATION, MIN_BLOCKING_DURATION};
use seedloop::time::{sleep, timeout, Instant};
use seedloop::{FailureKind, JoinError, Policy, Sim};
use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::Duration;

fn now() -> Duration {
    Instant::now().elapsed_since_epoch()
}

/// Submits `count` jobs at once; returns the jobs' numbers in the order their closures
/// ran, and when each ran.
async fn run_jobs(count: usize) -> (Vec<usize>, Vec<Duration>) {
    let order = Rc::new(RefCell::new(Vec::new()));
    let handles: Vec<_> = (0..count)
        .map(|job| {
            let order = order.clone();
            spawn_blocking(move || {
                order.borrow_mut().push(job);
                now()
            })
        })
        .collect();
    let mut finished = Vec::new();
    for handle in handles {
        finished.push(handle.await.unwrap());
    }
    let order = order.borrow().clone();
    (order, finished)
}

#[test]
fn results_arrive() {
    for seed in 0..10 {
        passes(
            || Sim::new(seed),
            || async {
                let squares: Vec<_> = (0..5u64).map(|n| spawn_blocking(move || n * n)).collect();
                let mut results = Vec::new();
                for square in squares {
                    results.push(square.await.unwrap());
                }
                assert_eq!(results, [0, 1, 4, 9, 16]);
                let text = spawn_blocking(|| "done".to_string()).await.unwrap();
                assert_eq!(text, "done");
            },
        );
    }
}

#[test]
fn a_job_takes_virtual_time_in_the_drawn_range() {
    let mut durations = BTreeSet::new();
    for seed in 0..50 {
        let (_, result) = run_twice(
            || Sim::new(seed),
            || async {
                let start = now();
                let ran_at = spawn_blocking(now).await.unwrap();
                assert_eq!(now(), ran_at, "the result arrives when the closure ran");
                ran_at - start
            },
        );
        let taken = result.unwrap();
        assert!(
            (MIN_BLOCKING_DURATION..=MAX_BLOCKING_DURATION).contains(&taken),
            "seed {seed}: a job took {taken:?}"
        );
        assert_eq!(taken.subsec_nanos() % 1000, 0, "whole microseconds");
        durations.insert(taken);
    }
    assert!(
        durations.len() > 40,
        "seeds draw different durations: {durations:?}"
    );
}

#[test]
fn the_order_of_jobs_replays_for_a_seed_and_differs_across_seeds() {
    let mut orders = BTreeSet::new();
    for seed in 0..20 {
        let (sim, result) = run_twice(|| Sim::new(seed), || async { run_jobs(6).await.0 });
        let order = result.unwrap();
        let mut again = Sim::new(seed);
        assert_eq!(again.run(async { run_jobs(6).await.0 }).unwrap(), order);
        assert_eq!(again.trace().to_string(), sim.trace().to_string());
        orders.insert(order);
    }
    assert!(
        orders.len() > 10,
        "seeds order the jobs differently: {orders:?}"
    );
}

#[test]
fn jobs_finishing_at_the_same_instant_run_in_a_drawn_order() {
    // The first decisions of the run are the jobs' durations (two tape bytes each):
    // zeros make every job finish at the minimum, and the bytes after them order the
    // tie.
    let jobs = 5;
    let mut orders = BTreeSet::new();
    for tail in 0..30u8 {
        let mut bytes = vec![0; 2 * jobs];
        bytes.extend(
            (0..40).map(|index: u8| index.wrapping_mul(37).wrapping_add(tail.wrapping_mul(11))),
        );
        let (_, result) = run_twice(
            || Sim::new(0).tape(bytes.clone()),
            || async { run_jobs(jobs).await },
        );
        let (order, finished) = result.unwrap();
        assert!(
            finished.iter().all(|time| *time == MIN_BLOCKING_DURATION),
            "every job finishes at the minimum: {finished:?}"
        );
        orders.insert(order);
    }
    assert!(orders.len() > 3, "the tape orders the tie: {orders:?}");
}

#[test]
fn under_fifo_every_job_takes_the_minimum_and_they_run_in_submission_order() {
    for seed in 0..5 {
        passes(
            || Sim::new(seed).policy(Policy::Fifo),
            || async {
                let (order, finished) = run_jobs(8).await;
                assert_eq!(order, (0..8).collect::<Vec<_>>());
                assert!(finished.iter().all(|time| *time == MIN_BLOCKING_DURATION));
                let start = now();
                spawn_blocking(|| ()).await.unwrap();
                assert_eq!(now() - start, MIN_BLOCKING_DURATION);
            },
        );
    }
}

#[test]
fn dropping_the_handle_never_cancels_the_job() {
    for seed in 0..10 {
        passes(
            || Sim::new(seed),
            || async {
                let ran = Rc::new(Cell::new(0));
                // Never polled.
                let job = {
                    let ran = ran.clone();
                    spawn_blocking(move || ran.set(ran.get() + 1))
                };
                drop(job);
                // Dropped mid-await, by a timeout shorter than any job.
                let short = MIN_BLOCKING_DURATION / 2;
                let job = {
                    let ran = ran.clone();
                    spawn_blocking(move || ran.set(ran.get() + 1))
                };
                assert!(timeout(short, job).await.is_err());
                assert_eq!(ran.get(), 0, "no job has finished yet");
                sleep(MAX_BLOCKING_DURATION).await;
                assert_eq!(ran.get(), 2, "both jobs ran, their results lost");
            },
        );
    }
}

#[test]
fn a_job_cancelled_before_its_closure_ran_never_runs() {
    for seed in 0..10 {
        passes(
            || Sim::new(seed),
            || async {
                let ran = Rc::new(Cell::new(false));
                let job = {
                    let ran = ran.clone();
                    spawn_blocking(move || ran.set(true))
                };
                sleep(MIN_BLOCKING_DURATION / 2).await;
                assert!(job.cancel());
                assert_eq!(job.await, Err(JoinError::Cancelled));
                sleep(MAX_BLOCKING_DURATION).await;
                assert!(!ran.get(), "a cancelled job never runs");

                let done = spawn_blocking(|| 7);
                sleep(MAX_BLOCKING_DURATION).await;
                assert!(done.is_finished());
                assert!(!done.cancel(), "a job that ran cannot be cancelled");
                assert_eq!(done.await, Ok(7));
            },
        );
    }
}

#[test]
fn a_job_runs_on_its_spawners_host_and_dies_with_it() {
    for seed in 0..10 {
        passes(
            || Sim::new(seed),
            || async {
                let db = Host::new("db");
                let host = db
                    .spawn(async { spawn_blocking(|| Host::current().name().to_string()).await })
                    .await
                    .unwrap();
                assert_eq!(host.unwrap(), "db");

                let ran = Rc::new(Cell::new(false));
                let waiter = db.spawn({
                    let ran = ran.clone();
                    async move { spawn_blocking(move || ran.set(true)).await }
                });
                sleep(MIN_BLOCKING_DURATION / 2).await;
                db.crash();
                assert!(waiter.await.unwrap_err().is_cancelled());
                sleep(MAX_BLOCKING_DURATION).await;
                assert!(!ran.get(), "a crash drops the job before its closure runs");
            },
        );
    }
}

#[test]
fn jobs_are_tasks_named_blocking_in_the_trace() {
    let sim = passes(
        || Sim::new(0).policy(Policy::Fifo),
        || async {
            spawn_blocking(|| ()).await.unwrap();
            let db = Host::new("db");
            db.spawn(async { spawn_blocking(|| ()).await.unwrap() })
                .await
                .unwrap();
        },
    );
    let trace = sim.trace().to_string();
    assert!(trace.contains("task 1 (blocking)"), "{trace}");
    assert!(trace.contains("(db/blocking)"), "{trace}");
}

#[test]
fn a_panic_in_the_closure_is_a_task_panic() {
    let program = || async {
        spawn_blocking(|| -> u32 { panic!("disk on fire") })
            .await
            .unwrap_err()
    };
    let failure = Sim::new(3).run(program()).unwrap_err();
    match &failure.kind {
        FailureKind::Panic { name, message, .. } => {
            assert_eq!(name.as_deref(), Some("blocking"));
            assert!(message.contains("disk on fire"), "{message}");
        }
        other => panic!("expected a panic, got {other:?}"),
    }
    let caught = Sim::new(3).continue_on_panic(true).run(program()).unwrap();
    assert!(caught.is_panic(), "{caught:?}");
    assert!(caught.to_string().contains("disk on fire"), "{caught}");
}

#[test]
fn outside_a_simulation_it_panics_naming_itself() {
    let message = panic_message(|| spawn_blocking(|| ()));
    assert!(
        message.contains("seedloop::task::spawn_blocking"),
        "{message}"
    );
}
