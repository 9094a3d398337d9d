//! A failing seed is a bug report: it replays from its seed, from its recorded
//! schedule, and from the replay line it prints.

mod common;

use seedloop::harness::env::EnvConfig;
use seedloop::{Check, Failure, FailureKind, Policy, Schedule, Sim};
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

/// Two withdrawals that check the balance, await, then debit.
async fn overdraft() {
    let balance = Rc::new(Cell::new(100i64));
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
    a.await.unwrap();
    b.await.unwrap();
    assert!(balance.get() >= 0, "overdrawn: {}", balance.get());
}

fn find_failure(policy: Policy) -> Failure {
    Check::new()
        .seeds(0..500)
        .policy(policy)
        .name("replay::overdraft")
        .try_run(overdraft)
        .expect_err("the sweep finds the overdraft")
}

#[test]
fn a_failing_seed_fails_again_with_the_same_trace_from_its_seed() {
    for policy in [Policy::Random, Policy::Pct { depth: 2 }] {
        let failure = find_failure(policy);
        let mut replay = failure.sim();
        let again = replay.run(overdraft()).unwrap_err();
        assert_eq!(again.kind, failure.kind);
        assert_eq!(replay.trace().to_string(), failure.trace.to_string());
        assert_eq!(replay.trace().hash(), failure.trace.hash());
    }
}

#[test]
fn a_failing_run_replays_from_its_recorded_schedule_under_any_seed() {
    for policy in [Policy::Random, Policy::Pct { depth: 3 }] {
        let failure = find_failure(policy);
        assert!(!failure.schedule.is_empty());
        // The schedule alone fixes the interleaving: the seed no longer matters.
        let (replay, result) = common::run_twice(
            || Sim::new(failure.seed + 12345).policy(Policy::Replay(failure.schedule.clone())),
            overdraft,
        );
        let again = result.unwrap_err();
        assert_eq!(again.kind, failure.kind);
        assert_eq!(replay.trace().to_string(), failure.trace.to_string());
    }
}

#[test]
fn the_printed_replay_line_reproduces_the_failure() {
    let failure = find_failure(Policy::Pct { depth: 2 });
    let line = failure.to_string().lines().last().unwrap().to_string();
    let assignments: Vec<(String, String)> = line
        .trim_start_matches("replay: ")
        .split_whitespace()
        .take_while(|word| word.contains('='))
        .map(|word| {
            let (key, value) = word.split_once('=').unwrap();
            (key.to_string(), value.to_string())
        })
        .collect();
    assert_eq!(assignments.len(), 2, "{line}");
    assert!(line.ends_with("cargo test replay::overdraft"), "{line}");
    // The environment overrides whatever the code configured.
    let env = EnvConfig::parse(assignments).unwrap();
    let replayed = Check::new()
        .seeds(0..1)
        .policy(Policy::Fifo)
        .env(env)
        .try_run(overdraft)
        .unwrap_err();
    assert_eq!(replayed.seed, failure.seed);
    assert_eq!(replayed.policy, failure.policy);
    assert_eq!(replayed.trace.hash(), failure.trace.hash());
}

#[test]
fn a_replay_that_diverges_is_reported_as_nondeterminism() {
    let failure = find_failure(Policy::Random);
    // Run a different program against the recorded schedule.
    let mut sim = Sim::new(0).policy(Policy::Replay(failure.schedule.clone()));
    let result = sim.run(async {
        let a = seedloop::spawn(async {});
        a.await.unwrap();
        for _ in 0..10 {
            seedloop::spawn(async {}).await.unwrap();
        }
    });
    let failure = result.expect_err("the replay diverges");
    match &failure.kind {
        FailureKind::Nondeterminism { detail } => {
            assert!(
                detail.contains(&format!("replay diverged after step {}:", failure.step)),
                "the detail counts steps as the header does: {detail}\n{failure}"
            )
        }
        other => panic!("expected a divergence, got {other:?}"),
    }
}

#[test]
fn a_schedule_can_be_built_by_hand() {
    use seedloop::task::TaskId;
    let program = || async {
        let order = Rc::new(std::cell::RefCell::new(Vec::new()));
        let spawn = |index: u32| {
            let order = order.clone();
            seedloop::spawn(async move { order.borrow_mut().push(index) })
        };
        let (a, b) = (spawn(1), spawn(2));
        a.await.unwrap();
        b.await.unwrap();
        let order = order.borrow().clone();
        order
    };
    // main, then task 2 before task 1, then main again.
    let picks = [0, 2, 1, 0].map(TaskId::new).to_vec();
    let schedule = Schedule::new(picks, Vec::new());
    let (_, order) = common::run_twice(
        || Sim::new(0).policy(Policy::Replay(schedule.clone())),
        program,
    );
    assert_eq!(order.unwrap(), [2, 1]);
}

#[test]
fn a_replayed_decision_that_does_not_match_is_reported_as_nondeterminism() {
    // The recording holds one decision of the user stream (a random number)...
    let mut recording = Sim::new(4);
    recording
        .run(async {
            let _: u32 = seedloop::rand::random();
        })
        .unwrap();
    let schedule = recording.schedule();
    // ...but the replayed program asks the timer stream (two timers due together).
    let mut sim = Sim::new(0).policy(Policy::Replay(schedule));
    let result = sim.run(async {
        let a = seedloop::spawn(seedloop::time::sleep(std::time::Duration::from_secs(1)));
        let b = seedloop::spawn(seedloop::time::sleep(std::time::Duration::from_secs(1)));
        a.await.unwrap();
        b.await.unwrap();
    });
    let failure = result.expect_err("the replay diverges instead of answering 0");
    match &failure.kind {
        FailureKind::Nondeterminism { detail } => {
            assert!(detail.contains("from the User stream"), "{detail}");
            assert!(detail.contains("asked the Timers stream"), "{detail}");
        }
        other => panic!("expected a divergence, got {other:?}"),
    }
}
