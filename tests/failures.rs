//! Failures are reports: panics, deadlocks and limits name what failed and where.

mod common;

use seedloop::harness::env::EnvConfig;
use seedloop::{Check, FailureKind, JoinError, Policy, Sim};
use std::time::Duration;

#[test]
fn a_task_panic_fails_the_run_with_its_name_and_message() {
    let program = || async {
        let worker = seedloop::task::Builder::new()
            .name("ledger-writer")
            .spawn(async {
                seedloop::yield_now().await;
                panic!("balance went negative: -20");
            });
        // Nobody awaits the task: its panic still fails the run at once.
        drop(worker);
        seedloop::time::sleep(Duration::from_secs(1)).await;
    };
    for seed in 0..10 {
        let (_, result) = common::run_twice(|| Sim::new(seed), program);
        let failure = result.unwrap_err();
        let FailureKind::Panic {
            task,
            name,
            message,
            location,
        } = &failure.kind
        else {
            panic!("expected a panic, got {failure}");
        };
        assert_eq!(*task, seedloop::task::TaskId::new(1));
        assert_eq!(name.as_deref(), Some("ledger-writer"));
        assert_eq!(message, "balance went negative: -20");
        // Where the task panicked: the `panic!` line of this file.
        let location = location.as_deref().unwrap();
        assert!(location.starts_with(file!()), "{location}");
        assert!(location.ends_with(":17"), "{location}");
        let report = failure.to_string();
        assert!(
            report.contains("task 1 (ledger-writer) panicked: balance went negative: -20"),
            "{report}"
        );
        assert!(
            report.contains(&format!("seed {seed}, policy random")),
            "{report}"
        );
        assert_eq!(
            failure.time,
            Duration::ZERO,
            "it failed before the sleep ended"
        );
    }
}

#[test]
fn a_panic_in_the_main_future_fails_the_run() {
    let failure = Sim::new(0).run(async { panic!("main broke") }).unwrap_err();
    match &failure.kind {
        FailureKind::Panic { task, message, .. } => {
            assert_eq!(*task, seedloop::task::TaskId::MAIN);
            assert_eq!(message, "main broke");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn with_continue_on_panic_the_awaiter_sees_panicked() {
    let program = || async {
        let worker = seedloop::spawn(async {
            seedloop::yield_now().await;
            panic!("worker failed")
        });
        let healthy = seedloop::spawn(async { 3 });
        (worker.await.map(|()| 0), healthy.await)
    };
    let (sim, outcome) = common::run_twice(|| Sim::new(4).continue_on_panic(true), program);
    assert_eq!(
        outcome.unwrap(),
        (Err(JoinError::Panicked("worker failed".to_string())), Ok(3))
    );
    assert!(sim.trace().to_string().contains("panicked: worker failed"));
}

#[test]
fn two_tasks_waiting_on_each_other_are_a_deadlock_naming_both() {
    let program = || async {
        let (to_a, from_b) = futures::channel::oneshot::channel::<()>();
        let (to_b, from_a) = futures::channel::oneshot::channel::<()>();
        let a = seedloop::task::Builder::new().name("a").spawn(async move {
            from_b.await.ok();
            drop(to_b);
        });
        let b = seedloop::task::Builder::new().name("b").spawn(async move {
            from_a.await.ok();
            drop(to_a);
        });
        a.await.unwrap();
        b.await.unwrap();
    };
    for seed in 0..10 {
        let (_, result) = common::run_twice(|| Sim::new(seed), program);
        let failure = result.unwrap_err();
        let FailureKind::Deadlock { blocked } = &failure.kind else {
            panic!("expected a deadlock, got {:?}", failure.kind);
        };
        let names: Vec<Option<&str>> = blocked.iter().map(|task| task.name.as_deref()).collect();
        assert_eq!(names, [Some("main"), Some("a"), Some("b")]);
        assert!(
            blocked[0].waits_on.contains("JoinHandle of task 1 (a)"),
            "{}",
            blocked[0].waits_on
        );
        let report = failure.to_string();
        assert!(
            report.contains("task 1 (a) waits on a future outside seedloop"),
            "{report}"
        );
        assert!(
            report.contains("task 2 (b) waits on a future outside seedloop"),
            "{report}"
        );
    }
}

#[test]
fn the_step_limit_catches_two_tasks_yielding_forever() {
    let program = || async {
        let spin = || {
            seedloop::spawn(async {
                loop {
                    seedloop::yield_now().await;
                }
            })
        };
        let (a, b) = (spin(), spin());
        a.await.unwrap();
        b.await.unwrap();
    };
    for policy in [Policy::Random, Policy::Fifo, Policy::Pct { depth: 3 }] {
        let (_, result) = common::run_twice(
            || Sim::new(1).policy(policy.clone()).max_steps(5000),
            program,
        );
        let failure = result.unwrap_err();
        assert_eq!(failure.kind, FailureKind::StepLimit { max_steps: 5000 });
        assert_eq!(failure.step, 5000);
        assert!(failure.to_string().contains("livelock"));
    }
}

#[test]
fn a_failure_report_ends_with_the_replay_line() {
    let failure = Check::new()
        .seeds(77..78)
        .env(EnvConfig::default())
        .policy(Policy::Pct { depth: 2 })
        .name("bank::transfer_is_atomic")
        .try_run(|| async { panic!("bug") })
        .unwrap_err();
    let report = failure.to_string();
    assert_eq!(
        report.lines().last().unwrap(),
        "replay: SEEDLOOP_SEED=77 SEEDLOOP_POLICY=pct:2,horizon=100 cargo test bank::transfer_is_atomic"
    );
    assert!(report.contains("trace (2 events):"), "{report}");
}

#[test]
fn a_long_failing_run_reports_only_its_last_events() {
    let failure = Sim::new(1)
        .run(async {
            for _ in 0..30 {
                seedloop::yield_now().await;
            }
            panic!("late bug")
        })
        .unwrap_err();
    let report = failure.to_string();
    assert!(
        report.contains(&format!(
            "last 20 trace events (failure.trace has all {})",
            failure.trace.len()
        )),
        "{report}"
    );
}

#[test]
fn the_replay_line_names_the_pct_horizon_in_the_policy() {
    let failure = Check::new()
        .seeds(3..4)
        .env(EnvConfig::default())
        .policy(Policy::Pct { depth: 3 })
        .pct_horizon(500)
        .name("t")
        .try_run(|| async { panic!("bug") })
        .unwrap_err();
    assert!(failure
        .replay_command()
        .contains("SEEDLOOP_POLICY=pct:3,horizon=500 cargo test t"));
    assert_eq!(
        failure.policy,
        Policy::PctWithHorizon {
            depth: 3,
            horizon: 500
        }
    );
}

#[test]
fn a_libtest_tests_replay_line_runs_exactly_that_test() {
    // libtest names the test's thread after its full path: the line runs only it.
    let failure = Check::new()
        .env(EnvConfig::default())
        .try_run(|| async { panic!("bug") })
        .unwrap_err();
    assert!(
        failure
            .replay_command()
            .ends_with("cargo test a_libtest_tests_replay_line_runs_exactly_that_test -- --exact"),
        "{}",
        failure.replay_command()
    );
    // A name given to the sweep is used as given (it need not be a full path).
    let named = Check::new()
        .env(EnvConfig::default())
        .name("exactly")
        .try_run(|| async { panic!("bug") })
        .unwrap_err();
    assert!(
        named.replay_command().ends_with("cargo test exactly"),
        "{}",
        named.replay_command()
    );
    // A test path given to the sweep is asked for exactly (`#[seedloop::test]` gives one).
    let path = Check::new()
        .env(EnvConfig::default())
        .test_path("bank::exactly")
        .try_run(|| async { panic!("bug") })
        .unwrap_err();
    assert!(
        path.replay_command()
            .ends_with("cargo test bank::exactly -- --exact"),
        "{}",
        path.replay_command()
    );
}

/// `try_run(..).unwrap()` is how many tests meet a failure: the panic it causes must
/// show the report (what failed, the trace, the replay line), not the configuration.
#[test]
fn unwrapping_a_failure_shows_its_report() {
    let panic = std::panic::catch_unwind(|| {
        Check::new()
            .env(EnvConfig::default())
            .seeds(0..5)
            .try_run(|| async { panic!("overdrawn") })
            .unwrap()
    })
    .expect_err("the sweep fails");
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(message.contains("panicked: overdrawn"), "{message}");
    assert!(message.contains("replay: SEEDLOOP_SEED=0"), "{message}");
    assert!(!message.contains("NetConfig"), "{message}");
}

#[test]
fn failure_is_send_sync_and_an_error() {
    fn assert_error<E: std::error::Error + Send + Sync + 'static>() {}
    assert_error::<seedloop::Failure>();
    // One pointer: `Result<T, Failure>` stays small in user code (clippy's
    // result_large_err never fires on it).
    assert_eq!(
        std::mem::size_of::<seedloop::Failure>(),
        std::mem::size_of::<usize>()
    );
    let failure = Sim::new(1).run(async { panic!("bug") }).unwrap_err();
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(failure);
    assert!(boxed.to_string().contains("panicked: bug"));
}

#[test]
fn the_failure_trace_is_the_whole_run_and_ends_at_the_failure() {
    let failure = Sim::new(2)
        .run(async {
            let _leaked = seedloop::spawn(std::future::pending::<()>());
            for _ in 0..100 {
                seedloop::yield_now().await;
            }
            panic!("late bug");
        })
        .unwrap_err();
    assert!(failure.trace.events().len() > 200);
    let last = failure.trace.events().last().unwrap();
    assert_eq!(last.kind(), seedloop::trace::EventKind::Panic);
}
