//! The fuzzer's bytes are the schedule and the program's random choices of a task
//! group whose children succeed, fail, panic, sleep, yield, spawn more children or
//! run a nested group, while the scope itself may be cancelled. The target checks the
//! group's promises under arbitrary schedules: the scope returns only after every
//! child ended, every failure that happened is in the `GroupError` exactly once and in
//! order, nothing else is, cancelled children are dropped exactly once, and the same
//! tape replays to the same trace.
//!
//! The fuzz target `group` runs it on the fuzzer's bytes (`cargo +nightly fuzz run group`
//! from the repository root); `tests/fuzz_corpus.rs` runs it on every file of
//! `fuzz/corpus/group/` in a plain `cargo test`.

use seedloop::rand::random;
use seedloop::task::{GroupError, TaskGroup};
use seedloop::time::sleep;
use seedloop::Sim;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

#[derive(Default)]
struct Record {
    live: Cell<u32>,
    // Failures in the order they happened: (child number, is a panic).
    failures: RefCell<Vec<(u32, bool)>>,
}

/// Counts a child as live while its future exists.
struct Live(Rc<Record>);

impl Live {
    fn new(record: &Rc<Record>) -> Live {
        record.live.set(record.live.get() + 1);
        Live(record.clone())
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        assert!(
            seedloop::task::try_current().is_some(),
            "dropped outside the simulation"
        );
        self.0.live.set(self.0.live.get() - 1);
    }
}

async fn pause() {
    match random::<u8>() % 3 {
        0 => {}
        1 => seedloop::yield_now().await,
        _ => sleep(Duration::from_millis(u64::from(random::<u8>() % 4))).await,
    }
}

fn child(tg: &TaskGroup<u32>, record: &Rc<Record>, number: u32, depth: u32) {
    let live = Live::new(record);
    let record = record.clone();
    let group = tg.clone();
    let _handle = tg.spawn(async move {
        let _live = live;
        pause().await;
        match random::<u8>() % 6 {
            0 => {
                record.failures.borrow_mut().push((number, false));
                Err(number)
            }
            1 => {
                record.failures.borrow_mut().push((number, true));
                panic!("child {number} panicked")
            }
            2 if depth < 2 && !group.is_failing() => {
                child(&group, &record, number * 10 + 1, depth + 1);
                pause().await;
                Ok(())
            }
            _ => {
                pause().await;
                Ok(())
            }
        }
    });
}

async fn program() -> (Vec<u32>, usize, u32) {
    let record = Rc::new(Record::default());
    let scope_record = record.clone();
    let runner = seedloop::spawn(async move {
        TaskGroup::<u32>::scope(|tg| async move {
            for number in 1..=(1 + u32::from(random::<u8>() % 5)) {
                child(&tg, &scope_record, number, 0);
                pause().await;
            }
            Ok(())
        })
        .await
    });
    let cancel_at = random::<u8>() % 16;
    for _ in 0..cancel_at {
        seedloop::yield_now().await;
    }
    let cancelled = random::<bool>() && runner.cancel();
    let outcome = runner.await;
    // Cancelled children end at their next step: let them.
    sleep(Duration::from_secs(1)).await;
    assert_eq!(record.live.get(), 0, "a child outlived its group");
    let failures = record.failures.borrow().clone();
    match outcome {
        Ok(Ok(())) => assert!(failures.is_empty(), "a failure was lost: {failures:?}"),
        Ok(Err(error)) => check_error(&error, &failures),
        Err(_) => assert!(cancelled, "the scope's task ended without a result"),
    }
    (
        failures.iter().map(|(number, _)| *number).collect(),
        failures.len(),
        u32::from(cancelled),
    )
}

fn check_error(error: &GroupError<u32>, failures: &[(u32, bool)]) {
    let reported: Vec<(u32, bool)> = error
        .failures()
        .map(|failure| match failure.cause {
            Ok(number) => (*number, false),
            Err(message) => {
                let number = message
                    .trim_start_matches("child ")
                    .trim_end_matches(" panicked")
                    .parse()
                    .expect("a child's panic message");
                (number, true)
            }
        })
        .collect();
    assert_eq!(
        reported, failures,
        "errors lost, duplicated or out of order"
    );
}

/// libFuzzer's panic hook aborts on every panic, caught or not; the children's panics
/// are caught by their group on purpose, so they must get past the hook.
fn let_children_panic() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let fuzzer_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = info
                .payload()
                .downcast_ref::<String>()
                .map(String::as_str)
                .unwrap_or_default();
            if !(message.starts_with("child ") && message.ends_with(" panicked")) {
                fuzzer_hook(info);
            }
        }));
    });
}

/// Runs the program on `tape` and checks its promises; panics when one breaks.
pub fn check(tape: &[u8]) {
    let_children_panic();
    let mut first = Sim::new(0).tape(tape.to_vec());
    let outcome = first
        .run(program())
        .unwrap_or_else(|failure| panic!("{failure}"));
    let mut second = Sim::new(0).tape(tape.to_vec());
    assert_eq!(second.run(program()).unwrap(), outcome);
    assert_eq!(first.trace().hash(), second.trace().hash());
}
