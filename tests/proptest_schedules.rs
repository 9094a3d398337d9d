//! Schedules as proptest values: failures shrink to the fewest deviations from the
//! FIFO order, compose with other strategies, and persist and replay like any case.

mod common;

use proptest::prelude::*;
use proptest::test_runner::{
    Config as RunnerConfig, FileFailurePersistence, RngAlgorithm, TestError, TestRng, TestRunner,
};
use seedloop::proptest::{run, schedule, sim, Schedule};
use std::rc::Rc;

/// Three tasks spawned a, b, c; the order they ran in.
async fn spawn_order() -> String {
    common::spawn_order(&['a', 'b', 'c']).await
}

/// Fails when `a` runs last: that takes two preemptions (one alone lets `a` run second).
async fn needs_two_preemptions() {
    let order = spawn_order().await;
    assert!(!order.ends_with('a'), "a ran last: {order}");
}

/// Fails when `a` does not run first: one preemption is enough.
async fn needs_one_preemption() {
    let order = spawn_order().await;
    assert!(order.starts_with('a'), "a did not run first: {order}");
}

/// The minimal failing schedule proptest shrinks to, with a runner seeded by `seed`.
fn minimal_failure(
    seed: u8,
    program: fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>,
) -> Schedule {
    let config = RunnerConfig {
        cases: 2000,
        max_shrink_iters: 10_000,
        failure_persistence: None,
        ..RunnerConfig::default()
    };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]);
    let mut runner = TestRunner::new_with_rng(config, rng);
    match runner.run(&schedule(), |schedule| run(&schedule, program)) {
        Err(TestError::Fail(_, minimal)) => minimal,
        other => panic!("runner seed {seed}: expected a failure, got {other:?}"),
    }
}

#[test]
fn a_two_preemption_bug_shrinks_to_exactly_two_deviations_every_time() {
    for seed in 0..12 {
        let minimal = minimal_failure(seed, || Box::pin(needs_two_preemptions()));
        assert_eq!(
            minimal.deviations().len(),
            2,
            "runner seed {seed}: {minimal}"
        );
        // The shrunk schedule replays, and takes exactly its two preemptions.
        let mut replay = sim(&minimal);
        assert!(replay.run(needs_two_preemptions()).is_err(), "{minimal}");
        assert_eq!(replay.stats().preemptions, Some(2));
    }
}

#[test]
fn a_one_preemption_bug_shrinks_to_exactly_one_deviation_every_time() {
    for seed in 0..12 {
        let minimal = minimal_failure(seed, || Box::pin(needs_one_preemption()));
        assert_eq!(
            minimal.deviations().len(),
            1,
            "runner seed {seed}: {minimal}"
        );
        assert_eq!(minimal.deviations()[0].choice_point, 0, "{minimal}");
    }
}

#[test]
fn the_fifo_schedule_preempts_nothing_and_passes() {
    let mut fifo = sim(&Schedule::fifo());
    assert_eq!(fifo.run(spawn_order()).unwrap(), "abc");
    assert_eq!(fifo.stats().preemptions, Some(0));
}

#[test]
fn a_failing_case_persists_in_the_regression_file_and_replays_first() {
    let directory = std::env::temp_dir().join(format!("seedloop-proptest-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let file = directory.join("regressions.txt");
    let _ = std::fs::remove_file(&file);
    let persisted = || RunnerConfig {
        cases: 2000,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            file.to_str().unwrap().to_string().leak(),
        ))),
        ..RunnerConfig::default()
    };
    let first = TestRunner::new_with_rng(
        persisted(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[1; 32]),
    )
    .run(&schedule(), |schedule| {
        run(&schedule, needs_two_preemptions)
    });
    let Err(TestError::Fail(_, minimal)) = first else {
        panic!("expected a failure: {first:?}");
    };
    let saved = std::fs::read_to_string(&file).unwrap();
    assert!(
        saved.contains("cc "),
        "the failure's seed is saved:\n{saved}"
    );
    // A later run (another RNG seed, one case) tries the saved case first.
    let config = RunnerConfig {
        cases: 1,
        // Shrinking is bounded by default in proportion to the cases: let it finish.
        max_shrink_iters: 10_000,
        ..persisted()
    };
    let again =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[9; 32]))
            .run(&schedule(), |schedule| {
                run(&schedule, needs_two_preemptions)
            });
    let Err(TestError::Fail(_, replayed)) = again else {
        panic!("the saved case replays and fails: {again:?}");
    };
    assert_eq!(replayed.deviations().len(), minimal.deviations().len());
    std::fs::remove_dir_all(&directory).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    /// The schedule composes with other strategies: a workload size and a schedule.
    #[test]
    fn every_push_arrives_whatever_the_schedule_and_the_size(
        workers in 1..6usize,
        schedule in schedule(),
    ) {
        run(&schedule, || async move {
            let queue = Rc::new(seedloop::sync::Queue::<usize>::bounded(2));
            let producers: Vec<_> = (0..workers)
                .map(|worker| {
                    let queue = queue.clone();
                    seedloop::spawn(async move { queue.put(worker).await.unwrap() })
                })
                .collect();
            let mut received = Vec::new();
            for _ in 0..workers {
                received.push(queue.get().await.unwrap());
            }
            for producer in producers {
                producer.await.unwrap();
            }
            received.sort();
            assert_eq!(received, (0..workers).collect::<Vec<_>>());
        })?;
    }
}
