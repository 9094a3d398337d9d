//! The minimizer turns a failing run into a shorter failing schedule: its output still
//! fails the same way, replays, and is never longer than its input.

mod common;

use seedloop::harness::env::EnvConfig;
use seedloop::harness::MinimizeError;
use seedloop::sync::Lock;
use seedloop::{Check, Failure, FailureKind, Policy};
use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;

/// A check-then-act race between two withdrawals, among `tasks - 2` tasks that only
/// do `busywork` unrelated steps: a long trace around a two-task bug. The second
/// withdrawal starts three steps later, so the FIFO order never shows the race; the
/// withdrawal that overdraws notices at once.
async fn race_in_a_crowd(tasks: usize, busywork: usize) {
    let balance = Rc::new(Cell::new(100));
    let handles: Vec<_> = (0..tasks)
        .map(|index| {
            let balance = balance.clone();
            seedloop::spawn(async move {
                if index >= 2 {
                    for _ in 0..busywork {
                        seedloop::yield_now().await;
                    }
                    return;
                }
                for _ in 0..index * 3 {
                    seedloop::yield_now().await;
                }
                if balance.get() >= 80 {
                    seedloop::yield_now().await; // the audit log
                    balance.set(balance.get() - 80);
                    assert!(balance.get() >= 0, "overdrawn: {}", balance.get());
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await.unwrap();
    }
}

/// Two tasks take two locks in opposite orders, among others that use one of them.
async fn lock_order_inversion() {
    let (a, b) = (Rc::new(Lock::new(())), Rc::new(Lock::new(())));
    let mut handles = Vec::new();
    for (first, second) in [(a.clone(), b.clone()), (b.clone(), a.clone())] {
        handles.push(seedloop::spawn(async move {
            let _one = first.lock().await;
            seedloop::yield_now().await;
            let _two = second.lock().await;
        }));
    }
    for _ in 0..4 {
        let a = a.clone();
        handles.push(seedloop::spawn(async move {
            for _ in 0..3 {
                drop(a.lock().await);
                seedloop::yield_now().await;
            }
        }));
    }
    for handle in handles {
        handle.await.unwrap();
    }
}

fn find<Fut: Future<Output = ()>>(check: Check, program: impl Fn() -> Fut) -> Failure {
    check
        .env(EnvConfig::default())
        .name("minimize")
        .try_run(program)
        .expect_err("the sweep finds the bug")
}

/// Minimizes `failure` and checks the rules: the output fails the same way, replays
/// exactly, and is no longer than the input.
fn minimized<Fut: Future<Output = ()>>(failure: &Failure, program: impl Fn() -> Fut) -> Failure {
    let minimized = failure
        .minimize(&program)
        .unwrap_or_else(|error| panic!("{error}"));
    let short = minimized.failure.clone();
    assert_eq!(short.kind.name(), failure.kind.name(), "{minimized}");
    if let (FailureKind::Panic { location: a, .. }, FailureKind::Panic { location: b, .. }) =
        (&short.kind, &failure.kind)
    {
        assert_eq!(a, b, "the same panic");
    }
    // No longer: fewer events, or as many and no more deviations from the FIFO order.
    assert!(
        (short.trace.len(), minimized.deviations)
            <= (failure.trace.len(), minimized.original_deviations),
        "{minimized}"
    );
    assert!(minimized.runs <= seedloop::harness::MINIMIZE_RUNS);
    // It replays, event for event, from its configuration and from its replay line.
    let (replay, again) = common::run_twice(|| short.sim(), &program);
    assert_eq!(again.unwrap_err().kind, short.kind);
    assert_eq!(replay.trace().to_string(), short.trace.to_string());
    let line = short.replay_command();
    assert!(line.starts_with("SEEDLOOP_TAPE="), "{line}");
    let from_line = Check::new()
        .env(EnvConfig::parse(common::replay_assignments(&line)).unwrap())
        .try_run(&program)
        .unwrap_err();
    assert_eq!(from_line.trace.to_string(), short.trace.to_string());
    short
}

#[test]
fn a_minimized_failure_still_fails_the_same_way_and_is_no_longer() {
    let program = || race_in_a_crowd(10, 8);
    let fifo = Check::new().policy(Policy::Fifo).env(EnvConfig::default());
    fifo.run(program);
    for policy in [Policy::Random, Policy::Pct { depth: 2 }] {
        let failure = find(Check::new().seeds(0..500).policy(policy), program);
        let short = minimized(&failure, program);
        assert!(
            short.trace.len() < failure.trace.len(),
            "{} events from {}",
            short.trace.len(),
            failure.trace.len()
        );
    }
}

#[test]
fn a_long_failure_becomes_a_short_story() {
    // Hundreds of events, most of them busywork of tasks the bug does not involve.
    let program = || race_in_a_crowd(40, 12);
    let failure = find(Check::new().seeds(0..500), program);
    assert!(failure.trace.len() > 250, "{}", failure.trace.len());
    let minimized = failure.minimize(program).unwrap();
    let short = &minimized.failure;
    // Main spawning the 40 tasks, then the two withdrawals alone: every other task's
    // steps are gone.
    assert!(short.trace.len() < 70, "{minimized}");
    assert!(minimized.deviations <= 8, "{minimized}");
    let polled: std::collections::BTreeSet<_> = short
        .trace
        .events()
        .iter()
        .filter(|event| event.kind() == seedloop::trace::EventKind::Poll)
        .filter_map(|event| event.task())
        .collect();
    let expected: Vec<_> = [0, 1, 2].map(seedloop::task::TaskId::new).to_vec();
    assert_eq!(
        polled.into_iter().collect::<Vec<_>>(),
        expected,
        "{minimized}"
    );
}

#[test]
fn minimizing_works_from_fifo_pct_a_tape_and_a_run_without_its_trace() {
    let program = lock_order_inversion;
    let failure = find(Check::new().seeds(0..500), program);
    assert_eq!(failure.kind.name(), "wait cycle", "{failure}");
    minimized(&failure, program);
    // A run that kept only the trace's tail: the minimizer runs it again in full.
    let failure = find(Check::new().seeds(0..500).record_trace(false), program);
    assert!(failure.schedule.is_empty());
    minimized(&failure, program);
    // A failure from a tape starts from that tape.
    let short = minimized(&find(Check::new().seeds(0..500), program), program);
    let tape = short.config.tape.clone().unwrap();
    let from_tape = find(Check::new().tape(tape), program);
    minimized(&from_tape, program);
}

#[test]
fn a_failure_that_does_not_reproduce_cannot_be_minimized() {
    let failure = find(Check::new().seeds(0..500), || race_in_a_crowd(4, 1));
    let error = failure.minimize(|| async {}).unwrap_err();
    assert!(
        matches!(error, MinimizeError::NotReproduced { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("did not fail again"), "{error}");
    let mut nondeterministic = failure.clone();
    nondeterministic.kind = FailureKind::Nondeterminism {
        detail: String::new(),
    };
    assert_eq!(
        nondeterministic.minimize(|| async {}).unwrap_err(),
        MinimizeError::Nondeterministic
    );
}

/// The minimized run, as a proptest schedule of deviations from FIFO, replays the same
/// failure through `seedloop::proptest::sim`: the minimizer and the property tests
/// speak one schedule format.
#[test]
fn a_minimized_failure_is_also_a_proptest_schedule_that_replays_it() {
    let program = || race_in_a_crowd(10, 8);
    let failure = find(Check::new().seeds(0..500).policy(Policy::Random), program);
    let minimized = failure.minimize(program).unwrap();
    let schedule = minimized
        .schedule
        .clone()
        .expect("only scheduler decisions deviate");
    assert_eq!(schedule.deviations().len(), minimized.deviations);
    let mut replay = seedloop::proptest::sim(&schedule);
    let again = replay.run(program()).unwrap_err();
    assert_eq!(again.kind, minimized.failure.kind);
    assert_eq!(
        replay.trace().to_string(),
        minimized.failure.trace.to_string()
    );
}
