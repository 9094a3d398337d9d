//! A failing seed is a bug report: it replays from its seed, from its recorded
//! schedule, and from the replay line it prints.

mod common;

use common::{overdraft, overdraft_with_an_extra_await, spin_then_fail};

use seedloop::harness::env::EnvConfig;
use seedloop::{Check, Failure, FailureKind, Policy, Schedule, Sim};
use std::rc::Rc;
use std::time::Duration;

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
    let assignments = common::replay_assignments(&line);
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
fn a_replay_that_no_longer_fits_the_program_continues_under_the_seed_and_says_where() {
    let failure = find_failure(Policy::Random);
    // Run a different program against the recorded schedule.
    let other_program = || async {
        let a = seedloop::spawn(async {});
        a.await.unwrap();
        for _ in 0..10 {
            seedloop::spawn(async {}).await.unwrap();
        }
    };
    let make = || Sim::new(7).policy(Policy::Replay(failure.schedule.clone()));
    let (sim, result) = common::run_twice(make, other_program);
    result.expect("the replay goes on to the end instead of failing");
    let divergence = sim
        .stats()
        .divergence
        .clone()
        .expect("the divergence is reported");
    assert!(
        divergence.starts_with("schedule diverged at step ") && divergence.contains("not ready"),
        "{divergence}"
    );
    assert!(
        divergence.ends_with("; continued with seed 7"),
        "{divergence}"
    );
    // Up to the divergence, the run followed the schedule.
    let step: usize = divergence["schedule diverged at step ".len()..]
        .split(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        sim.schedule().picks()[..step - 1],
        failure.schedule.picks()[..step - 1]
    );
}

#[test]
fn a_schedule_replayed_on_an_edited_program_still_reaches_the_bug_and_the_report_says_it_diverged()
{
    let failure = find_failure(Policy::Random);
    let make = || Sim::new(failure.seed).policy(Policy::Replay(failure.schedule.clone()));
    let (_, result) = common::run_twice(make, overdraft_with_an_extra_await);
    let again = result.expect_err("the withdrawals interleave as recorded");
    assert_eq!(again.kind.name(), "panic");
    assert!(again.to_string().contains("overdrawn: -40"), "{again}");
    let divergence = again
        .divergence
        .clone()
        .expect("main took a step the recording lacks");
    assert!(
        again.to_string().contains(&format!("\n  {divergence}\n")),
        "the report says it under the header: {again}"
    );
    assert!(divergence.ends_with(&format!("continued with seed {}", failure.seed)));
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
fn a_replayed_decision_that_does_not_match_is_drawn_from_the_seed_and_reported() {
    // The recording holds one decision of the user stream (a random number)...
    let mut recording = Sim::new(4);
    recording
        .run(async {
            let a = seedloop::spawn(async {
                let _: u32 = seedloop::rand::random();
            });
            let b = seedloop::spawn(async {});
            a.await.unwrap();
            b.await.unwrap();
        })
        .unwrap();
    let schedule = recording.schedule();
    // ...but the replayed program, after the same first three steps, asks the timer
    // stream (two timers due together).
    let make = || Sim::new(0).policy(Policy::Replay(schedule.clone()));
    let (sim, result) = common::run_twice(make, || async {
        let a = seedloop::spawn(seedloop::time::sleep(Duration::from_secs(1)));
        let b = seedloop::spawn(seedloop::time::sleep(Duration::from_secs(1)));
        a.await.unwrap();
        b.await.unwrap();
    });
    result.expect("the replay goes on under the seed");
    let divergence = sim.stats().divergence.clone().unwrap();
    assert!(divergence.contains("from the User stream"), "{divergence}");
    assert!(
        divergence.contains("asked the Timers stream"),
        "{divergence}"
    );
    assert!(
        divergence.ends_with("continued with seed 0"),
        "{divergence}"
    );
}

#[test]
fn a_faithful_replay_reports_no_divergence_even_at_the_step_limit() {
    let failure = common::step_limit_failure();
    let make = || {
        Sim::new(0)
            .max_steps(50)
            .policy(Policy::Replay(failure.schedule.clone()))
    };
    let (sim, result) = common::run_twice(make, || spin_then_fail(100));
    assert_eq!(
        result.unwrap_err().kind,
        FailureKind::StepLimit { max_steps: 50 }
    );
    assert_eq!(sim.stats().divergence, None);
    let recorded = find_failure(Policy::Random).schedule.clone();
    let (sim, _) = common::run_twice(
        || Sim::new(3).policy(Policy::Replay(recorded.clone())),
        overdraft,
    );
    assert_eq!(sim.stats().divergence, None);
}

#[test]
fn a_bare_sim_prints_a_rust_replay_line() {
    // A bare Sim reads no SEEDLOOP_* variable: its replay line is the code that builds it.
    let make = || Sim::new(5).policy(Policy::Pct { depth: 3 }).max_steps(50);
    let (_, result) = common::run_twice(make, || spin_then_fail(100));
    let failure = result.unwrap_err();
    assert_eq!(failure.kind, FailureKind::StepLimit { max_steps: 50 });
    // The concrete policy: a bare Sim's PCT runs the default horizon, and says so.
    let expected = "Sim::new(5).policy(Policy::PctWithHorizon { depth: 3, horizon: 100 }).max_steps(50) (a bare Sim reads no SEEDLOOP_* variables; failure.sim() builds it)";
    assert_eq!(failure.replay_command(), expected);
    assert_eq!(
        failure.to_string().lines().last().unwrap(),
        format!("replay: {expected}")
    );
    // The expression, typed in, runs the same execution.
    let mut typed = Sim::new(5)
        .policy(Policy::PctWithHorizon {
            depth: 3,
            horizon: 100,
        })
        .max_steps(50);
    let again = typed.run(spin_then_fail(100)).unwrap_err();
    assert_eq!(again.kind, failure.kind);
    assert_eq!(typed.trace().to_string(), failure.trace.to_string());
}

#[test]
fn a_bare_sims_replay_line_lists_every_knob_that_changes_the_run() {
    let make = || {
        Sim::new(9)
            .policy(Policy::Fifo)
            .max_steps(10_000)
            .max_time(Duration::from_millis(90_500))
            .max_tasks(40)
            .continue_on_panic(true)
            .cancel_at("worker", 2)
            .max_wait(Duration::from_secs(30))
            .max_wait_steps(500)
            .detect_wait_cycles(false)
            // Not in the line: they change what is recorded or printed, not the run
            // (a concrete policy names its PCT horizon itself; Fifo has none).
            .pct_horizon(7)
            .trace_limit(1_000)
            .name("not::printed")
    };
    let (_, result) = common::run_twice(make, || spin_then_fail(3));
    let failure = result.unwrap_err();
    assert_eq!(
        failure.replay_command(),
        "Sim::new(9).policy(Policy::Fifo).max_steps(10000).max_time(Duration::from_millis(90500)).max_tasks(40).continue_on_panic(true).cancel_at(\"worker\", 2).max_wait(Duration::from_secs(30)).max_wait_steps(500).detect_wait_cycles(false) (a bare Sim reads no SEEDLOOP_* variables; failure.sim() builds it)"
    );
}

#[test]
fn a_sim_given_a_replay_command_prints_the_environment_form() {
    // The examples re-run their own sweep under the printed variables.
    let (_, result) = common::run_twice(
        || {
            Sim::new(6)
                .policy(Policy::Pct { depth: 2 })
                .replay_command("cargo run --example demo")
        },
        || spin_then_fail(3),
    );
    assert_eq!(
        result.unwrap_err().replay_command(),
        "SEEDLOOP_SEED=6 SEEDLOOP_POLICY=pct:2,horizon=100 cargo run --example demo"
    );
}

#[test]
fn a_replayed_schedule_prints_a_rust_replay_line() {
    let failure = find_failure(Policy::Random);
    let (_, result) = common::run_twice(
        || Sim::new(0).policy(Policy::Replay(failure.schedule.clone())),
        overdraft,
    );
    assert!(result.unwrap_err().replay_command().starts_with(
        "Sim::new(0).policy(Policy::Replay(failure.schedule.clone())) (a recorded schedule"
    ));
}

#[test]
fn the_environment_overrides_what_the_sweep_configured() {
    let env = EnvConfig::parse([
        ("SEEDLOOP_SEED", "7"),
        ("SEEDLOOP_POLICY", "pct:2"),
        ("SEEDLOOP_PCT_HORIZON", "30"),
    ])
    .unwrap();
    let failure = Check::new()
        .seeds(100..200)
        .policy(Policy::Fifo)
        .pct_horizon(5)
        .max_steps(20)
        .env(env)
        .try_run(|| spin_then_fail(50))
        .unwrap_err();
    let mut expected = seedloop::Config::new(7)
        .policy(Policy::PctWithHorizon {
            depth: 2,
            horizon: 30,
        })
        .pct_horizon(30)
        .max_steps(20);
    expected.from_sweep = true;
    assert_eq!(failure.config, expected, "the code's other knobs stay");
    let (replay, again) = common::run_twice(|| failure.sim(), || spin_then_fail(50));
    assert_eq!(again.unwrap_err().kind, failure.kind);
    assert_eq!(replay.trace().to_string(), failure.trace.to_string());

    // SEEDLOOP_SEEDS counts from the configured first seed; SEEDLOOP_TAPE replaces the
    // configured tape (and makes the sweep one execution).
    let summary = Check::new()
        .seeds(100..200)
        .env(EnvConfig::parse([("SEEDLOOP_SEEDS", "4")]).unwrap())
        .run(|| async {});
    assert_eq!((summary.seeds, summary.seeds_run), (100..104, 4));
    let failure = Check::new()
        .tape(vec![0; 8])
        .env(EnvConfig::parse([("SEEDLOOP_TAPE", "ff01")]).unwrap())
        .try_run(|| spin_then_fail(1))
        .unwrap_err();
    assert_eq!(failure.config.tape, Some(vec![0xff, 0x01]));
}
