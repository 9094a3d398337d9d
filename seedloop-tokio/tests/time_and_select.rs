//! `tokio::time` and `select!` under the facade: tokio's deterministic rules on the
//! virtual clock, and a `select!` whose branch order is the seed's.

use seedloop::Policy;
use seedloop_tokio as tokio;
use std::collections::BTreeSet;
use std::time::Duration;
use tokio::time::{Instant, MissedTickBehavior};

mod common;

use common::run_twice as run;

const MS: Duration = Duration::from_millis(1);

#[test]
fn timeout_fails_exactly_at_its_deadline_and_a_future_ready_then_wins() {
    run(0, Policy::Random, || async {
        let start = Instant::now();
        let expired = tokio::time::timeout(100 * MS, tokio::time::sleep(200 * MS)).await;
        assert!(expired.is_err());
        assert_eq!(start.elapsed(), 100 * MS);
        assert_eq!(expired.unwrap_err().to_string(), "deadline has elapsed");
        // Ready at the deadline itself: the future is polled first, as in tokio.
        let start = Instant::now();
        let on_time = tokio::time::timeout(100 * MS, async {
            tokio::time::sleep(100 * MS).await;
            "made it"
        });
        assert_eq!(on_time.await, Ok("made it"));
        assert_eq!(start.elapsed(), 100 * MS);
    });
}

/// The instants (ms from the first tick) of 5 ticks of a 10 ms interval whose task is
/// busy for 35 ms after the first tick.
async fn ticks_with_a_stall(behavior: MissedTickBehavior) -> Vec<u64> {
    let start = Instant::now();
    let mut interval = tokio::time::interval(10 * MS);
    interval.set_missed_tick_behavior(behavior);
    let mut seen = Vec::new();
    for tick in 0..5 {
        interval.tick().await;
        seen.push(start.elapsed().as_millis() as u64);
        if tick == 0 {
            tokio::time::sleep(35 * MS).await;
        }
    }
    seen
}

#[test]
fn interval_missed_tick_behaviours_match_tokio() {
    // tokio's documentation: Burst catches up at once, Delay restarts the period at
    // the late tick, Skip waits for the next tick of the original schedule.
    let burst = run(0, Policy::Fifo, || {
        ticks_with_a_stall(MissedTickBehavior::Burst)
    });
    assert_eq!(burst, [0, 35, 35, 35, 40]);
    let delay = run(0, Policy::Fifo, || {
        ticks_with_a_stall(MissedTickBehavior::Delay)
    });
    assert_eq!(delay, [0, 35, 45, 55, 65]);
    let skip = run(0, Policy::Fifo, || {
        ticks_with_a_stall(MissedTickBehavior::Skip)
    });
    assert_eq!(skip, [0, 35, 40, 50, 60]);
}

#[test]
fn sleep_until_and_virtual_time() {
    run(1, Policy::Random, || async {
        let start = Instant::now();
        tokio::time::sleep_until(start + Duration::from_secs(3600)).await;
        assert_eq!(start.elapsed(), Duration::from_secs(3600));
        tokio::time::pause();
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(start.elapsed(), Duration::from_secs(3601));
    });
}

/// Which of two ready branches a `select!` takes.
async fn both_ready(biased: bool) -> &'static str {
    let a = std::future::ready(());
    let b = std::future::ready(());
    if biased {
        tokio::select! { biased; _ = a => "a", _ = b => "b" }
    } else {
        tokio::select! { _ = a => "a", _ = b => "b" }
    }
}

#[test]
fn select_takes_each_ready_branch_on_some_seeds_and_replays_its_choice() {
    let mut taken = BTreeSet::new();
    for seed in 0..20 {
        taken.insert(run(seed, Policy::Random, || both_ready(false)));
        assert_eq!(
            run(seed, Policy::Random, || both_ready(true)),
            "a",
            "biased"
        );
    }
    assert_eq!(taken, BTreeSet::from(["a", "b"]));
    assert_eq!(
        run(7, Policy::Fifo, || both_ready(false)),
        "a",
        "the production order"
    );
}

#[test]
fn select_disables_a_branch_whose_pattern_fails_and_runs_else_when_all_are() {
    run(2, Policy::Random, || async {
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<u32>(1);
        drop(sender);
        let got = tokio::select! {
            Some(value) = receiver.recv() => value,
            _ = tokio::time::sleep(5 * MS) => 99,
        };
        assert_eq!(got, 99, "a closed channel's None disables its branch");
        let ready = false;
        let fallback = tokio::select! {
            Some(value) = std::future::ready(None::<u32>) => value,
            _ = std::future::pending::<()>(), if ready => 1,
            else => 2,
        };
        assert_eq!(fallback, 2);
    });
}

#[test]
fn join_and_try_join_await_everything() {
    run(3, Policy::Random, || async {
        let (a, b) = tokio::join!(
            async {
                tokio::time::sleep(10 * MS).await;
                1
            },
            async { 2 }
        );
        assert_eq!((a, b), (1, 2));
        let failed: Result<(u32, u32), &str> =
            tokio::try_join!(async { Ok(1) }, async { Err("no") });
        assert_eq!(failed, Err("no"));
    });
}
