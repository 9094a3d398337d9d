//! The default policy of a sweep: a portfolio of policies spread over its seeds, each
//! failure naming its own seed's concrete policy; PCT's horizon fitted to the program.

mod common;

use common::bug_programs::{nested_preemption, worker_preempted_mid_update};
use seedloop::harness::env::EnvConfig;
use seedloop::{Check, Failure, Policy, Sim, PORTFOLIO, PORTFOLIO_PCT_DEPTH};

/// A bug that only PCT finds: the worker must stay half done while the checker runs
/// 20 steps (a uniform random pick almost never holds it back that long).
async fn deep_ordering() {
    worker_preempted_mid_update(20).await
}

/// The steps a run of `seed` takes under a uniform random pick: what the sweep
/// measures on its first seed (the portfolio's first member is `Random`).
fn random_steps(seed: u64) -> u64 {
    let mut sim = Sim::new(seed);
    let _ = sim.run(deep_ordering());
    sim.stats().steps
}

/// The failure replays from its seed and policy alone, twice, to the same trace.
fn replays_from_its_policy<Fut: std::future::Future<Output = ()>>(
    failure: &Failure,
    program: impl Fn() -> Fut,
) {
    let (sim, again) = common::run_twice(
        || Sim::new(failure.seed).policy(failure.policy.clone()),
        program,
    );
    assert_eq!(again.unwrap_err().kind, failure.kind);
    assert_eq!(sim.trace().to_string(), failure.trace.to_string());
}

#[test]
fn a_check_without_a_policy_runs_the_portfolio() {
    let summary = Check::new()
        .env(EnvConfig::default())
        .seeds(0..6)
        .run(|| async {});
    assert_eq!(summary.policy, Policy::Portfolio);
    assert_eq!(summary.seeds_run, 6);
    assert_eq!(PORTFOLIO[0], Policy::Random, "the first seed runs Random");
    // The sweep's first seed ran twice (the determinism check) to the same trace.
    assert_eq!(summary.determinism_checked, 1);
}

#[test]
fn a_failure_names_its_seeds_concrete_policy_with_the_fitted_horizon() {
    for start in [0, 1000, 77] {
        let failure = Check::new()
            .env(EnvConfig::default())
            .seeds(start..start + 3000)
            .try_run(deep_ordering)
            .expect_err("the portfolio's PCT finds it");
        let place = failure.seed - start;
        let Policy::PctWithHorizon { depth, horizon } = failure.policy else {
            panic!("a PCT member with its horizon: {}", failure.policy);
        };
        assert_eq!(depth, PORTFOLIO_PCT_DEPTH);
        assert_eq!(
            PORTFOLIO[(place % PORTFOLIO.len() as u64) as usize],
            Policy::Pct { depth },
            "the member of the seed's place in the sweep"
        );
        // The sweep measured its first seed; this seed drew one of the scales.
        let measured = random_steps(start);
        let scales: Vec<u64> = (0..4).map(|scale| (measured >> scale).max(1)).collect();
        assert!(scales.contains(&horizon), "{horizon} not in {scales:?}");
        replays_from_its_policy(&failure, deep_ordering);
    }
}

#[test]
fn the_replay_line_carries_the_concrete_policy_and_replays_the_failure() {
    let failure = Check::new()
        .env(EnvConfig::default())
        .seeds(0..3000)
        .name("portfolio::deep")
        .try_run(deep_ordering)
        .unwrap_err();
    let line = failure.replay_command();
    assert!(
        line.contains(&format!("SEEDLOOP_POLICY={}", failure.policy)),
        "{line}"
    );
    assert!(line.contains(",horizon="), "{line}");
    // The sweep re-run under the line's variables runs exactly the failing execution,
    // although its first seed is now the failing one (it measures nothing new: the
    // line pins the horizon).
    let env = EnvConfig::parse(common::replay_assignments(&line)).unwrap();
    let again = Check::new()
        .seeds(0..3000)
        .env(env)
        .try_run(deep_ordering)
        .unwrap_err();
    assert_eq!(again.seed, failure.seed);
    assert_eq!(again.policy, failure.policy);
    assert_eq!(again.trace.to_string(), failure.trace.to_string());
}

#[test]
fn the_fitted_horizon_is_the_first_seeds_length() {
    let summary = Check::new()
        .env(EnvConfig::default())
        .seeds(40..45)
        .run(|| async {
            for _ in 0..9 {
                seedloop::yield_now().await;
            }
        });
    // The main task's ten polls.
    assert_eq!(summary.fitted_pct_horizon, Some(10));
    let pinned = Check::new()
        .env(EnvConfig::default())
        .seeds(40..45)
        .pct_horizon(3)
        .run(|| async {});
    assert_eq!(
        pinned.fitted_pct_horizon, None,
        "a pinned horizon is not fitted"
    );
}

#[test]
fn a_pinned_horizon_wins_over_the_fitted_one() {
    let failure = Check::new()
        .env(EnvConfig::default())
        .seeds(0..3000)
        .pct_horizon(7)
        .try_run(deep_ordering)
        .unwrap_err();
    assert_eq!(
        failure.policy,
        Policy::PctWithHorizon {
            depth: PORTFOLIO_PCT_DEPTH,
            horizon: 7
        }
    );
    replays_from_its_policy(&failure, deep_ordering);
}

#[test]
fn the_default_sweep_finds_a_nested_two_preemption_bug() {
    let failure = Check::new()
        .env(EnvConfig::default())
        .seeds(0..3000)
        .try_run(nested_preemption)
        .expect_err("the portfolio finds the nested preemption");
    assert!(matches!(failure.policy, Policy::PctWithHorizon { .. }));
    replays_from_its_policy(&failure, nested_preemption);
}

/// Fails when the second task spawned runs before the first.
async fn second_task_first() {
    let order = std::rc::Rc::new(std::cell::Cell::new(0));
    let first = {
        let order = order.clone();
        seedloop::spawn(async move { order.set(order.get() * 10 + 1) })
    };
    let second = {
        let order = order.clone();
        seedloop::spawn(async move { order.set(order.get() * 10 + 2) })
    };
    first.await.unwrap();
    second.await.unwrap();
    assert_eq!(order.get(), 12, "the tape ran the second task first");
}

#[test]
fn a_sweep_from_a_tape_runs_random_under_the_portfolio() {
    let failure = Check::new()
        .env(EnvConfig::default())
        .tape(vec![1])
        .try_run(second_task_first)
        .unwrap_err();
    assert_eq!(
        failure.policy,
        Policy::Random,
        "the tape steers a random pick"
    );
    let (sim, again) = common::run_twice(|| failure.sim(), second_task_first);
    assert_eq!(again.unwrap_err().kind, failure.kind);
    assert_eq!(sim.trace().to_string(), failure.trace.to_string());
}

#[test]
fn a_bare_sim_runs_the_member_of_its_seed() {
    for seed in 0..6 {
        let (sim, result) = common::run_twice(
            || Sim::new(seed).policy(Policy::Portfolio),
            || async { panic!("always") },
        );
        let failure = result.unwrap_err();
        let expected = match &PORTFOLIO[seed as usize % PORTFOLIO.len()] {
            Policy::Pct { depth } => Policy::PctWithHorizon {
                depth: *depth,
                horizon: seedloop::DEFAULT_PCT_HORIZON,
            },
            other => other.clone(),
        };
        assert_eq!(failure.policy, expected);
        assert_eq!(failure.config.policy, expected);
        assert_eq!(
            sim.config().policy,
            Policy::Portfolio,
            "the Sim keeps its own"
        );
    }
}

#[test]
fn the_portfolio_and_a_pct_horizon_parse_from_the_environment() {
    let env = EnvConfig::parse([("SEEDLOOP_POLICY", "portfolio")]).unwrap();
    assert_eq!(env.policy, Some(Policy::Portfolio));
    let env = EnvConfig::parse([("SEEDLOOP_POLICY", "pct:16,horizon=9")]).unwrap();
    assert_eq!(
        env.policy,
        Some(Policy::PctWithHorizon {
            depth: 16,
            horizon: 9
        })
    );
    for bad in [
        "pct:3,horizon=0",
        "pct:3,horizon=",
        "pct:0,horizon=5",
        "pct:3,k=5",
    ] {
        let error = EnvConfig::parse([("SEEDLOOP_POLICY", bad)]).unwrap_err();
        assert_eq!(error.variable(), "SEEDLOOP_POLICY", "{bad}");
    }
    for policy in [
        Policy::Portfolio,
        Policy::PctWithHorizon {
            depth: 3,
            horizon: 40,
        },
    ] {
        assert_eq!(policy.to_string().parse::<Policy>().unwrap(), policy);
    }
}
