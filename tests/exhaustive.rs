//! Exhaustive search: every schedule within a preemption bound, the space reported as
//! covered when it is, failures that replay.

mod common;

use common::bug_programs::{lost_update, timer_tie};
use seedloop::{Check, ExhaustiveSummary};
use std::time::Duration;

/// Three tasks that each yield twice; nothing can fail.
async fn three_yielding_tasks() {
    let tasks: Vec<_> = (0..3)
        .map(|_| {
            seedloop::spawn(async {
                seedloop::yield_now().await;
                seedloop::yield_now().await;
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
}

fn search(bound: u64) -> ExhaustiveSummary {
    Check::new()
        .exhaustive()
        .preemption_bound(bound)
        .run(three_yielding_tasks)
}

#[test]
fn a_bug_free_program_is_fully_explored_and_a_higher_bound_runs_more_schedules() {
    let (none, one, two) = (search(0), search(1), search(2));
    assert_eq!(
        (none.schedules, none.covered),
        (1, true),
        "bound 0 is the FIFO order alone"
    );
    assert!(one.covered && two.covered);
    assert!(
        1 < one.schedules && one.schedules < two.schedules,
        "{one:?} {two:?}"
    );
    // The search is deterministic.
    assert_eq!(search(2), two);
}

#[test]
fn a_budget_stops_the_search_and_says_it_did_not_cover_the_space() {
    let summary = Check::new()
        .exhaustive()
        .max_schedules(3)
        .run(three_yielding_tasks);
    assert_eq!((summary.schedules, summary.covered), (3, false));
    assert_eq!(
        summary.to_string(),
        "ran 3 schedules within 2 preemptions: the schedule budget ran out first (not covered)"
    );
}

/// Fails when `a` (spawned first) runs last: two deviations from FIFO order.
async fn a_runs_last() {
    let order = common::spawn_order(&['a', 'b', 'c']).await;
    assert!(!order.ends_with('a'), "a ran last: {order}");
}

#[test]
fn a_two_preemption_bug_needs_a_bound_of_two_and_its_failure_replays() {
    let bounded = Check::new()
        .exhaustive()
        .preemption_bound(1)
        .run(a_runs_last);
    assert!(
        bounded.covered,
        "bound 1 covers its space without finding it"
    );
    let failure = Check::new()
        .exhaustive()
        .preemption_bound(2)
        .try_run(a_runs_last)
        .unwrap_err();
    let (replay, again) = common::run_twice(|| failure.sim(), a_runs_last);
    assert_eq!(again.unwrap_err().kind, failure.kind);
    assert_eq!(replay.trace().to_string(), failure.trace.to_string());
    assert_eq!(replay.stats().preemptions, Some(2));
}

#[test]
fn a_lost_update_is_found_with_one_preemption() {
    let failure = Check::new()
        .exhaustive()
        .preemption_bound(1)
        .try_run(lost_update)
        .unwrap_err();
    assert!(failure.is_panic(), "{failure}");
}

#[test]
fn timer_ties_that_only_wake_tasks_are_not_branched_on() {
    let summary = Check::new().exhaustive().run(|| async {
        let sleepers: Vec<_> = (0..3)
            .map(|_| seedloop::spawn(seedloop::time::sleep(Duration::from_millis(5))))
            .collect();
        for sleeper in sleepers {
            sleeper.await.unwrap();
        }
    });
    assert!(summary.covered);
    assert!(summary.ties_not_branched > 0, "{summary:?}");
    // The reduction keeps what the schedules can reach: a timer-tie bug is still found.
    assert!(Check::new().exhaustive().try_run(timer_tie).is_err());
}
