//! seedloop's futures inside the `futures` crate's combinators, which poll them with
//! wakers of their own: timers and handles must wake through any waker.

mod common;

use futures::stream::{FuturesUnordered, StreamExt};
use seedloop::time::{sleep, Instant};
use seedloop::Sim;
use std::time::Duration;

#[test]
fn sleeps_inside_futures_unordered_complete_in_deadline_order() {
    let program = || async {
        let mut sleeps: FuturesUnordered<_> = [30u64, 10, 20]
            .into_iter()
            .map(|ms| async move {
                sleep(Duration::from_millis(ms)).await;
                (ms, Instant::now().elapsed_since_epoch())
            })
            .collect();
        let mut done = Vec::new();
        while let Some(item) = sleeps.next().await {
            done.push(item);
        }
        done
    };
    for seed in 0..20 {
        let (_, done) = common::run_twice(|| Sim::new(seed), program);
        let done = done.unwrap();
        assert_eq!(
            done,
            [10, 20, 30]
                .map(|ms| (ms, Duration::from_millis(ms)))
                .to_vec()
        );
    }
}

#[test]
fn join_handles_inside_join_all_deliver_every_result() {
    let program = || async {
        let handles = (0..10u64).map(|index| {
            seedloop::spawn(async move {
                sleep(Duration::from_millis(10 - index)).await;
                index
            })
        });
        futures::future::join_all(handles)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect::<Vec<_>>()
    };
    for seed in 0..20 {
        let (sim, results) = common::run_twice(|| Sim::new(seed), program);
        assert_eq!(results.unwrap(), (0..10).collect::<Vec<_>>());
        assert_eq!(sim.now().elapsed_since_epoch(), Duration::from_millis(10));
    }
}

#[test]
fn select_between_a_sleep_and_a_task_drops_the_loser() {
    let program = || async {
        let slow = seedloop::spawn(async {
            sleep(Duration::from_secs(5)).await;
            "slow"
        });
        let winner = futures::select! {
            result = futures::FutureExt::fuse(slow) => result.unwrap(),
            () = futures::FutureExt::fuse(sleep(Duration::from_secs(1))) => "timeout",
        };
        // The abandoned handle was being awaited: its task was cancelled.
        sleep(Duration::from_secs(10)).await;
        winner
    };
    for seed in 0..20 {
        let (sim, winner) = common::run_twice(|| Sim::new(seed), program);
        assert_eq!(winner.unwrap(), "timeout");
        assert!(sim.trace().to_string().contains("cancelled"));
        assert_eq!(
            sim.stats().timers_fired,
            2,
            "the slow task's timer never fired"
        );
    }
}

#[test]
fn a_drop_that_spawns_at_the_end_of_a_run_is_cleaned_up_too() {
    struct SpawnOnDrop;
    impl Drop for SpawnOnDrop {
        fn drop(&mut self) {
            let _cleanup = seedloop::spawn(std::future::pending::<()>());
        }
    }
    let program = || async {
        let guard = SpawnOnDrop;
        let _leaked = seedloop::spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        });
    };
    let (sim, result) = common::run_twice(|| Sim::new(0), program);
    result.unwrap();
    assert_eq!(
        sim.stats().leaked,
        2,
        "the task and the cleanup task its drop spawned"
    );
}
