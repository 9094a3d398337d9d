//! One configuration: every knob set once, carried by `Sim`, `Check`,
//! `CancelExplorer` and `Failure`, and replayed by `failure.sim()`.

mod common;

use common::spin_then_fail;

use seedloop::fault::FaultPlan;
use seedloop::fs::DiskConfig;
use seedloop::harness::env::EnvConfig;
use seedloop::net::NetConfig;
use seedloop::sync::Lock;
use seedloop::task::Builder;
use seedloop::time::sleep;
use seedloop::{CancelExplorer, Check, Config, FailureKind, Policy, Sim};
use std::rc::Rc;
use std::time::Duration;

/// A program whose outcome depends on many knobs: a task panics (seen by its awaiter
/// only with `continue_on_panic`), a task named `worker` is cancelled at its first
/// await point (only with `cancel_at`), and main waits 60 s for a lock (a starvation
/// failure only with `max_wait` below that).
async fn knob_sensitive_program() {
    let crash = seedloop::spawn(async {
        seedloop::yield_now().await;
        panic!("crash");
    });
    assert!(crash.await.unwrap_err().is_panic());
    let worker = Builder::new().name("worker").spawn(async {
        sleep(Duration::from_secs(1)).await;
        sleep(Duration::from_secs(1)).await;
    });
    assert!(worker.await.unwrap_err().is_cancelled());
    let lock = Rc::new(Lock::new(()));
    let hog = lock.clone();
    drop(seedloop::spawn(async move {
        let _guard = hog.lock().await;
        sleep(Duration::from_secs(60)).await;
    }));
    while !lock.is_locked() {
        seedloop::yield_now().await;
    }
    let _guard = lock.lock().await;
}

/// Every knob of `Config` away from its default (the seed and `from_sweep` aside,
/// which a sweep sets per run).
fn every_knob(config: Config) -> Config {
    config
        .policy(Policy::Pct { depth: 2 })
        .max_steps(10_000)
        .max_time(Duration::from_secs(3600))
        .max_tasks(50)
        .pct_horizon(20)
        .record_trace(false)
        .trace_limit(500)
        .continue_on_panic(true)
        .name("config::every_knob")
        .replay_command("cargo run --example knobs")
        .tape(vec![3, 1, 4, 1, 5, 9, 2, 6])
        .deviations(vec![(2, 1)])
        .cancel_at("worker", 1)
        .max_wait(Duration::from_secs(10))
        .max_wait_steps(1_000)
        .detect_wait_cycles(false)
        .debug(true)
        .slow_poll(Duration::from_secs(5))
        .net(NetConfig::default().latency(Duration::from_millis(3), Duration::from_millis(9)))
        .faults(FaultPlan::default().mean_gap(Duration::from_secs(7)))
        .disk(DiskConfig::default().strict_directories(true))
}

#[test]
fn every_knob_is_away_from_its_default() {
    let (default, set) = (Config::new(0), every_knob(Config::new(0)));
    assert_ne!(set.policy, default.policy);
    assert_ne!(set.max_steps, default.max_steps);
    assert_ne!(set.max_time, default.max_time);
    assert_ne!(set.max_tasks, default.max_tasks);
    assert_ne!(set.pct_horizon, default.pct_horizon);
    assert_ne!(set.trace_limit, default.trace_limit);
    assert_ne!(set.record_schedule, default.record_schedule);
    assert_ne!(set.continue_on_panic, default.continue_on_panic);
    assert_ne!(set.name, default.name);
    assert_ne!(set.replay_command, default.replay_command);
    assert_ne!(set.tape, default.tape);
    assert_ne!(set.deviations, default.deviations);
    assert_ne!(set.cancel_at, default.cancel_at);
    assert_ne!(set.max_wait, default.max_wait);
    assert_ne!(set.max_wait_steps, default.max_wait_steps);
    assert_ne!(set.detect_wait_cycles, default.detect_wait_cycles);
    assert_ne!(set.debug, default.debug);
    assert_ne!(set.slow_poll, default.slow_poll);
    assert_ne!(set.net, default.net);
    assert_ne!(set.faults, default.faults);
    assert_ne!(set.disk, default.disk);
}

#[test]
fn failure_sim_replays_every_knob() {
    // Every knob through the sweep's own builder methods.
    let check = Check::new()
        .seeds(4..9)
        .env(EnvConfig::default())
        .policy(Policy::Pct { depth: 2 })
        .max_steps(10_000)
        .max_time(Duration::from_secs(3600))
        .max_tasks(50)
        .pct_horizon(20)
        .record_trace(false)
        .trace_limit(500)
        .continue_on_panic(true)
        .name("config::every_knob")
        .replay_command("cargo run --example knobs")
        .tape(vec![3, 1, 4, 1, 5, 9, 2, 6])
        .deviations(vec![(2, 1)])
        .cancel_at("worker", 1)
        .max_wait(Duration::from_secs(10))
        .max_wait_steps(1_000)
        .detect_wait_cycles(false)
        .debug(true)
        .slow_poll(Duration::from_secs(5))
        .net(NetConfig::default().latency(Duration::from_millis(3), Duration::from_millis(9)))
        .faults(FaultPlan::default().mean_gap(Duration::from_secs(7)))
        .disk(DiskConfig::default().strict_directories(true));
    let failure = check.try_run(knob_sensitive_program).unwrap_err();
    assert_eq!(failure.kind.name(), "starvation", "{failure}");
    let mut expected = every_knob(Config::new(4));
    expected.from_sweep = true;
    // The failure names the concrete policy that ran: PCT with the pinned horizon.
    expected.policy = Policy::PctWithHorizon {
        depth: 2,
        horizon: 20,
    };
    assert_eq!(failure.config, expected);
    assert_eq!((failure.seed, &failure.policy), (4, &expected.policy));

    // The same knobs set at once give the same failure.
    let at_once = Check::new()
        .seeds(4..9)
        .env(EnvConfig::default())
        .config(every_knob(Config::new(123)))
        .try_run(knob_sensitive_program)
        .unwrap_err();
    assert_eq!(at_once.config, expected);
    assert_eq!(at_once.trace.to_string(), failure.trace.to_string());

    // failure.sim() runs with all of them: the same failure, event for event.
    assert_eq!(failure.sim().config(), &expected);
    let (replay, again) = common::run_twice(|| failure.sim(), knob_sensitive_program);
    let again = again.unwrap_err();
    assert_eq!(again.kind, failure.kind);
    assert_eq!(again.config, expected);
    assert_eq!(replay.trace().to_string(), failure.trace.to_string());
}

#[test]
fn failure_sim_keeps_the_sweeps_step_limit() {
    let failure = common::step_limit_failure();
    assert_eq!(failure.kind, FailureKind::StepLimit { max_steps: 50 });
    let (replay, again) = common::run_twice(|| failure.sim(), || spin_then_fail(100));
    assert_eq!(again.unwrap_err().kind, failure.kind);
    assert_eq!(replay.trace().to_string(), failure.trace.to_string());
}

#[test]
fn an_explorer_failure_replays_every_knob() {
    let explorer = CancelExplorer::new("worker")
        .seeds(2..3)
        .env(EnvConfig::default())
        .policy(Policy::Random)
        .max_steps(10_000)
        .continue_on_panic(true)
        .max_wait(Duration::from_secs(10))
        .detect_wait_cycles(false);
    let failure = explorer.try_run(knob_sensitive_program).unwrap_err();
    // The baseline (nothing cancelled) fails its `is_cancelled` assertion.
    assert!(failure.is_panic(), "{failure}");
    let mut expected = Config::new(2)
        .max_steps(10_000)
        .continue_on_panic(true)
        .max_wait(Duration::from_secs(10))
        .detect_wait_cycles(false)
        .cancel_at("worker", 0);
    expected.from_sweep = true;
    assert_eq!(failure.config, expected);
    let (replay, again) = common::run_twice(|| failure.sim(), knob_sensitive_program);
    assert_eq!(again.unwrap_err().kind, failure.kind);
    assert_eq!(replay.trace().to_string(), failure.trace.to_string());
}

#[test]
fn sim_with_config_keeps_the_config() {
    let config = every_knob(Config::new(17));
    assert_eq!(Sim::with_config(config.clone()).config(), &config);
    // Sim's builder methods set the same knobs.
    let built = every_knob(Config::new(17));
    let sim = Sim::new(17)
        .policy(Policy::Pct { depth: 2 })
        .max_steps(10_000)
        .max_time(Duration::from_secs(3600))
        .max_tasks(50)
        .pct_horizon(20)
        .record_trace(false)
        .trace_limit(500)
        .continue_on_panic(true)
        .name("config::every_knob")
        .replay_command("cargo run --example knobs")
        .tape(vec![3, 1, 4, 1, 5, 9, 2, 6])
        .deviations(vec![(2, 1)])
        .cancel_at("worker", 1)
        .max_wait(Duration::from_secs(10))
        .max_wait_steps(1_000)
        .detect_wait_cycles(false)
        .debug(true)
        .slow_poll(Duration::from_secs(5))
        .net(NetConfig::default().latency(Duration::from_millis(3), Duration::from_millis(9)))
        .faults(FaultPlan::default().mean_gap(Duration::from_secs(7)))
        .disk(DiskConfig::default().strict_directories(true));
    assert_eq!(sim.config(), &built);
    assert_eq!(Sim::new(3).config(), &Config::new(3));
    assert_eq!(Config::default(), Config::new(0));
}
