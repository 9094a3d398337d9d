//! Tape mode (property tests, fuzzing): any byte string is a valid schedule, replays
//! identically, and zeros are the production order.

mod common;

use proptest::prelude::*;
use seedloop::choices::Tape;
use seedloop::harness::env::EnvConfig;
use seedloop::{Check, Policy, Sim};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

async fn workers(count: u32) -> Vec<u32> {
    let order = Rc::new(RefCell::new(Vec::new()));
    let handles: Vec<_> = (0..count)
        .map(|index| {
            let order = order.clone();
            seedloop::spawn(async move {
                seedloop::yield_now().await;
                seedloop::time::sleep(Duration::from_millis(u64::from(index % 3))).await;
                order.borrow_mut().push(index);
            })
        })
        .collect();
    for handle in handles {
        handle.await.unwrap();
    }
    let order = order.borrow().clone();
    order
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn any_tape_runs_to_completion_and_replays_identically(
        tape in proptest::collection::vec(any::<u8>(), 0..64),
        count in 1u32..6,
    ) {
        let mut first = Sim::new(0).tape(tape.clone());
        let order = first.run(workers(count)).unwrap();
        let mut sorted = order.clone();
        sorted.sort();
        prop_assert_eq!(sorted, (0..count).collect::<Vec<_>>());
        let mut second = Sim::new(0).tape(tape);
        prop_assert_eq!(second.run(workers(count)).unwrap(), order);
        prop_assert_eq!(first.trace().to_string(), second.trace().to_string());
    }

    #[test]
    fn a_tape_of_zeros_matches_fifo_for_any_program_size(count in 1u32..8, zeros in 0usize..32) {
        let mut fifo = Sim::new(0).policy(Policy::Fifo);
        fifo.run(workers(count)).unwrap();
        let mut tape = Sim::new(0).tape(vec![0; zeros]);
        tape.run(workers(count)).unwrap();
        prop_assert_eq!(fifo.trace().to_string(), tape.trace().to_string());
    }
}

/// Two tasks append to a log after a yield; the run fails when the second spawned
/// appends first.
async fn second_spawned_appends_second() {
    let order = Rc::new(RefCell::new(Vec::new()));
    let push = |index: u32| {
        let order = order.clone();
        seedloop::spawn(async move {
            seedloop::yield_now().await;
            order.borrow_mut().push(index);
        })
    };
    let (first, second) = (push(1), push(2));
    first.await.unwrap();
    second.await.unwrap();
    let order = order.borrow().clone();
    assert_eq!(order, [1, 2], "worker 2 ran first");
}

/// A tape under which `second_spawned_appends_second` fails.
fn failing_tape() -> Vec<u8> {
    (0u8..=255)
        .map(|byte| vec![byte; 6])
        .find(|tape| {
            Sim::new(0)
                .tape(tape.clone())
                .run(second_spawned_appends_second())
                .is_err()
        })
        .expect("some tape puts worker 2 before another")
}

#[test]
fn a_tape_run_reports_its_tape_and_a_replay_line_that_carries_it() {
    let tape = failing_tape();
    let hex = Tape::new(tape.clone()).to_hex();
    let (_, result) = common::run_twice(
        || Sim::new(0).tape(tape.clone()),
        second_spawned_appends_second,
    );
    let failure = result.unwrap_err();
    let report = failure.to_string();
    assert!(
        report.contains("ran from a tape of 6 bytes"),
        "the header names the tape, not a seed: {report}"
    );
    assert!(!report.contains("seed 0"), "{report}");
    assert_eq!(
        failure.replay_command(),
        format!(
            "Sim::new(0).tape(Tape::from_hex(\"{hex}\").unwrap()) (a bare Sim reads no SEEDLOOP_* variables; failure.sim() builds it)"
        )
    );
    // The printed line, typed in, runs the same execution.
    let mut typed = Sim::new(0).tape(Tape::from_hex(&hex).unwrap());
    typed.run(second_spawned_appends_second()).unwrap_err();
    assert_eq!(typed.trace().to_string(), failure.trace.to_string());
}

#[test]
fn seedloop_tape_makes_a_sweep_run_that_one_execution() {
    let tape = failing_tape();
    let hex = Tape::new(tape.clone()).to_hex();
    let mut bare = Sim::new(0).tape(tape);
    bare.run(second_spawned_appends_second()).unwrap_err();
    let runs = Cell::new(0);
    let failure = Check::new()
        .seeds(0..1000)
        .name("tape::sweep")
        .env(EnvConfig::parse([("SEEDLOOP_TAPE", hex.as_str())]).unwrap())
        .try_run(|| {
            runs.set(runs.get() + 1);
            second_spawned_appends_second()
        })
        .unwrap_err();
    assert_eq!(runs.get(), 1, "one execution, not one per seed");
    assert_eq!(failure.trace.to_string(), bare.trace().to_string());
    assert_eq!(
        failure.config.tape.as_deref(),
        Some(Tape::from_hex(&hex).unwrap().bytes())
    );
    let line = failure.replay_command();
    assert_eq!(
        line,
        format!("SEEDLOOP_TAPE={hex} SEEDLOOP_POLICY=random cargo test tape::sweep")
    );
    // The line's variables replay it (the environment overrides the code).
    let assignments = common::replay_assignments(&line);
    let again = Check::new()
        .env(EnvConfig::parse(assignments).unwrap())
        .try_run(second_spawned_appends_second)
        .unwrap_err();
    assert_eq!(again.trace.to_string(), failure.trace.to_string());
    // And so does failure.sim().
    let (replay, result) = common::run_twice(|| failure.sim(), second_spawned_appends_second);
    result.unwrap_err();
    assert_eq!(replay.trace().to_string(), failure.trace.to_string());
}

#[test]
fn a_passing_sweep_from_a_tape_runs_it_once_checked_for_determinism() {
    let runs = Cell::new(0);
    let summary = Check::new()
        .seeds(0..50)
        .env(EnvConfig::default())
        .tape(vec![0; 4])
        .try_run(|| {
            runs.set(runs.get() + 1);
            async {
                workers(3).await;
            }
        })
        .unwrap();
    assert_eq!(summary.determinism_checked, 1);
    assert_eq!(runs.get(), 2, "the tape's execution, run twice to compare");
}

#[test]
fn tapes_read_and_print_as_hexadecimal() {
    assert_eq!(
        Tape::from_hex(" 00A1ff\n").unwrap().bytes(),
        [0, 0xa1, 0xff]
    );
    assert_eq!(Tape::new(vec![0, 0xa1, 0xff]).to_hex(), "00a1ff");
    assert_eq!(Tape::from_hex("").unwrap().bytes(), [] as [u8; 0]);
    for bad in ["0", "0g", "x1", "1 2"] {
        let error = Tape::from_hex(bad).unwrap_err();
        assert!(error.to_string().contains("hexadecimal"), "{error}");
    }
    let error = EnvConfig::parse([("SEEDLOOP_TAPE", "0z")]).unwrap_err();
    assert_eq!(error.variable(), "SEEDLOOP_TAPE");
}
