//! PCT: strict random priorities plus `depth - 1` change points find ordering bugs
//! that the production order never runs.

mod common;

use common::bug_programs::{lost_update, nested_preemption, worker_preempted_mid_update};
use seedloop::{Check, FailureKind, Policy, Sim};
use std::cell::Cell;
use std::rc::Rc;

/// The depth-2 ordering bug with a checker of two steps.
async fn intermediate_state_is_visible() {
    worker_preempted_mid_update(2).await
}

/// The same bug with a checker of 20 steps: a long preemption.
async fn long_preemption() {
    worker_preempted_mid_update(20).await
}

fn first_failure(policy: Policy, seeds: u64) -> Option<seedloop::Failure> {
    Check::new()
        .seeds(0..seeds)
        .policy(policy)
        .try_run(intermediate_state_is_visible)
        .err()
        .inspect(|failure| assert!(matches!(failure.kind, FailureKind::Panic { .. })))
}

fn first_failing_seed(policy: Policy, seeds: u64) -> Option<u64> {
    first_failure(policy, seeds).map(|failure| failure.seed)
}

#[test]
fn fifo_never_hits_the_depth_2_ordering_bug() {
    assert_eq!(first_failing_seed(Policy::Fifo, 200), None);
}

#[test]
fn pct_depth_2_finds_the_ordering_bug_and_replays_it() {
    let failure = first_failure(Policy::Pct { depth: 2 }, 5000).expect("PCT depth 2 finds the bug");
    // The sweep fitted the horizon; the failure's policy names it.
    let Policy::PctWithHorizon { depth: 2, .. } = failure.policy else {
        panic!("a concrete policy: {}", failure.policy);
    };
    let (sim, result) = common::run_twice(
        || Sim::new(failure.seed).policy(failure.policy.clone()),
        intermediate_state_is_visible,
    );
    assert!(result.is_err(), "the failing seed fails again");
    assert_eq!(sim.trace().to_string(), failure.trace.to_string());
}

#[test]
fn pct_depth_1_cannot_preempt_so_it_never_hits_the_bug() {
    // Depth 1 = no change points: strict priorities only, and yields keep priority, so
    // the worker's two steps are never split.
    assert_eq!(first_failing_seed(Policy::Pct { depth: 1 }, 300), None);
}

#[test]
fn a_shorter_horizon_finds_the_bug_sooner() {
    let find = |horizon: u64| {
        Check::new()
            .seeds(0..5000)
            .policy(Policy::Pct { depth: 2 })
            .pct_horizon(horizon)
            .try_run(intermediate_state_is_visible)
            .unwrap_err()
            .seed
    };
    assert!(find(8) < find(400));
}

#[test]
fn pct_finds_what_random_finds_in_a_yield_only_program() {
    for policy in [
        Policy::Random,
        Policy::Pct { depth: 2 },
        Policy::Pct { depth: 3 },
    ] {
        let failure = Check::new()
            .seeds(0..2000)
            .policy(policy.clone())
            .try_run(lost_update)
            .expect_err("the lost update is found");
        let (_, again) = common::run_twice(|| failure.sim(), lost_update);
        assert!(again.is_err(), "{policy} seed {} replays", failure.seed);
    }
}

#[test]
fn pct_does_not_livelock_a_spin_wait_on_a_lower_priority_task() {
    let program = || async {
        let flag = Rc::new(Cell::new(false));
        let spinner_flag = flag.clone();
        let spinner = seedloop::spawn(async move {
            let mut spins = 0u32;
            while !spinner_flag.get() {
                spins += 1;
                seedloop::yield_now().await;
            }
            spins
        });
        let setter = seedloop::spawn(async move { flag.set(true) });
        setter.await.unwrap();
        spinner.await.unwrap()
    };
    for seed in 0..200 {
        let (_, spins) = common::run_twice(
            || {
                Sim::new(seed)
                    .policy(Policy::Pct { depth: 3 })
                    .max_steps(10_000)
            },
            program,
        );
        assert!(
            spins.unwrap() <= 64,
            "seed {seed}: the starvation guard bounds a spin"
        );
    }
}

#[test]
fn pct_finds_a_long_preemption_that_random_misses() {
    let sweep = |policy: Policy| {
        Check::new()
            .seeds(0..2000)
            .policy(policy)
            .try_run(long_preemption)
    };
    assert!(
        sweep(Policy::Random).is_ok(),
        "random does not find it in 2000 seeds"
    );
    let failure = sweep(Policy::Pct { depth: 2 }).expect_err("PCT finds it");
    let (_, again) = common::run_twice(|| failure.sim(), long_preemption);
    assert!(again.is_err(), "seed {} replays", failure.seed);
}

/// Two updates preempted one inside the other, then a reader: fails when the reader saw
/// both half done and then the update preempted *first* finished first (the mirror of
/// the nested preemption). With change points demoting in step order, in either
/// direction, one of the two orders could never happen.
async fn first_preempted_resumes_first() {
    let (a_busy, b_busy) = (Rc::new(Cell::new(false)), Rc::new(Cell::new(false)));
    let saw_both = Rc::new(Cell::new(false));
    let a = {
        let a_busy = a_busy.clone();
        seedloop::spawn(async move {
            a_busy.set(true);
            seedloop::yield_now().await;
            a_busy.set(false);
        })
    };
    let b = {
        let (a_busy, b_busy, saw_both) = (a_busy.clone(), b_busy.clone(), saw_both.clone());
        seedloop::spawn(async move {
            let inside_a = a_busy.get();
            b_busy.set(true);
            seedloop::yield_now().await;
            b_busy.set(false);
            assert!(
                !(inside_a && saw_both.get() && !a_busy.get()),
                "the outer update finished first"
            );
        })
    };
    let reader = seedloop::spawn(async move {
        seedloop::yield_now().await;
        saw_both.set(a_busy.get() && b_busy.get());
    });
    a.await.unwrap();
    b.await.unwrap();
    reader.await.unwrap();
}

/// The first failure of `program` under PCT of `depth` with a pinned horizon, replayed
/// from its policy alone, twice, to the same trace.
fn pct_failure_replays<Fut: std::future::Future<Output = ()>>(
    depth: u32,
    horizon: u64,
    seeds: u64,
    program: impl Fn() -> Fut + Copy,
) -> seedloop::Failure {
    let failure = Check::new()
        .seeds(0..seeds)
        .policy(Policy::Pct { depth })
        .pct_horizon(horizon)
        .try_run(program)
        .expect_err("PCT finds the bug");
    assert_eq!(
        failure.policy,
        Policy::PctWithHorizon { depth, horizon },
        "the failure names its horizon"
    );
    let (sim, again) = common::run_twice(
        || Sim::new(failure.seed).policy(failure.policy.clone()),
        program,
    );
    assert_eq!(again.unwrap_err().kind, failure.kind);
    assert_eq!(sim.trace().to_string(), failure.trace.to_string());
    failure
}

#[test]
fn pct_finds_a_nested_two_preemption_bug_among_six_tasks() {
    // A preempted, B runs and is preempted, the reader runs six steps alone, B
    // finishes before A resumes: B's change point must carry the higher priority.
    let failure = pct_failure_replays(3, 4, 20_000, nested_preemption);
    assert!(failure
        .to_string()
        .contains("the invalidation finished first"));
}

#[test]
fn pct_also_resumes_the_first_preempted_task_first() {
    let failure = pct_failure_replays(3, 6, 5_000, first_preempted_resumes_first);
    assert!(failure
        .to_string()
        .contains("the outer update finished first"));
}

#[test]
fn pct_depth_2_never_nests_two_preemptions() {
    // One change point cannot hold two tasks back at once; depth 3 finds the bug
    // within the same seeds.
    let sweep = |depth| {
        Check::new()
            .seeds(0..3000)
            .policy(Policy::Pct { depth })
            .pct_horizon(4)
            .try_run(nested_preemption)
    };
    assert!(sweep(2).is_ok());
    let failure = sweep(3).expect_err("depth 3 nests the two preemptions");
    let (_, again) = common::run_twice(|| failure.sim(), nested_preemption);
    assert_eq!(again.unwrap_err().kind, failure.kind);
}

#[test]
fn pct_depth_above_the_bound_is_rejected() {
    use seedloop::harness::env::EnvConfig;
    use seedloop::MAX_PCT_DEPTH;
    assert_eq!(MAX_PCT_DEPTH, 64);
    // Each change point costs memory up front: 4294967295 of them took 21 GB.
    for text in ["pct:65", "pct:4294967295"] {
        let error = text.parse::<Policy>().unwrap_err().to_string();
        assert!(error.contains("64"), "{error}");
        let error = EnvConfig::parse([("SEEDLOOP_POLICY", text)]).unwrap_err();
        assert_eq!(error.variable(), "SEEDLOOP_POLICY");
        assert!(error.to_string().contains("64"), "{error}");
    }
    let payload = std::panic::catch_unwind(|| Sim::new(0).policy(Policy::Pct { depth: 65 }))
        .expect_err("a depth above the bound panics");
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.contains("MAX_PCT_DEPTH (64)"), "{message}");
    // The bound itself runs, and replays identically.
    assert_eq!(
        "pct:64".parse::<Policy>().unwrap(),
        Policy::Pct { depth: 64 }
    );
    let (sim, _) = common::run_twice(
        || Sim::new(3).policy(Policy::Pct { depth: 64 }),
        lost_update,
    );
    assert!(sim.stats().steps > 0);
}

#[test]
fn pct_horizon_above_the_bound_is_rejected() {
    use seedloop::harness::env::EnvConfig;
    use seedloop::MAX_PCT_HORIZON;
    let above = (MAX_PCT_HORIZON + 1).to_string();
    let error = EnvConfig::parse([("SEEDLOOP_PCT_HORIZON", above.as_str())]).unwrap_err();
    assert_eq!(error.variable(), "SEEDLOOP_PCT_HORIZON");
    assert!(
        error.to_string().contains(&MAX_PCT_HORIZON.to_string()),
        "{error}"
    );
    let bound = MAX_PCT_HORIZON.to_string();
    let env = EnvConfig::parse([("SEEDLOOP_PCT_HORIZON", bound.as_str())]).unwrap();
    assert_eq!(env.pct_horizon, Some(MAX_PCT_HORIZON));
    let payload = std::panic::catch_unwind(|| Sim::new(0).pct_horizon(MAX_PCT_HORIZON + 1))
        .expect_err("a horizon above the bound panics");
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.contains("MAX_PCT_HORIZON"), "{message}");
}
