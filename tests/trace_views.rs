//! Trace views as snapshots: pin what a test is about (here, which worker holds the
//! lock when), not every poll, so unrelated changes to the program leave them alone.

mod common;

use seedloop::sync::Lock;
use seedloop::task::Builder;
use seedloop::trace::{EventKind, Trace, TraceView};
use seedloop::{Policy, Sim};
use std::rc::Rc;
use std::time::Duration;

/// Three workers take a lock twice each; with `bystander`, an unrelated task also
/// runs (yields, sleeps, spawns) the whole time.
async fn contention(bystander: bool) {
    if bystander {
        drop(Builder::new().name("metrics").spawn(async {
            for _ in 0..5 {
                seedloop::yield_now().await;
                drop(seedloop::spawn(async {}));
                seedloop::time::sleep(Duration::from_millis(1)).await;
            }
        }));
    }
    let lock = Rc::new(Lock::new(0u32));
    let workers: Vec<_> = (1..=3)
        .map(|number| {
            let lock = lock.clone();
            Builder::new()
                .name(format!("worker-{number}"))
                .spawn(async move {
                    for _ in 0..2 {
                        let mut guard = lock.lock().await;
                        seedloop::time::sleep(Duration::from_millis(3)).await;
                        *guard += 1;
                    }
                })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
}

fn lock_view(trace: &Trace) -> TraceView<'_> {
    trace
        .view()
        .kinds(&[EventKind::Request, EventKind::Acquire, EventKind::Release])
        .task_prefix("worker")
        .without_steps()
        .without_task_ids()
}

#[test]
fn a_view_of_the_lock_events_is_unchanged_by_an_unrelated_task() {
    let (alone, _) = common::run_twice(|| Sim::new(0).policy(Policy::Fifo), || contention(false));
    let (with_bystander, _) =
        common::run_twice(|| Sim::new(0).policy(Policy::Fifo), || contention(true));
    assert_ne!(
        alone.trace().to_string(),
        with_bystander.trace().to_string(),
        "the whole traces differ"
    );
    let view = lock_view(alone.trace()).to_string();
    assert_eq!(view, lock_view(with_bystander.trace()).to_string());
    assert!(
        !view.contains("metrics") && !view.contains("poll"),
        "{view}"
    );
    seedloop::assert_trace_snapshot!("lock_contention_view_fifo", lock_view(alone.trace()));
}

#[test]
fn redactions_replace_what_a_test_calls_noise() {
    let (sim, _) = common::run_twice(|| Sim::new(0).policy(Policy::Fifo), || contention(false));
    let view = lock_view(sim.trace())
        .without_time()
        .redact("Lock 0", "the lock")
        .to_string();
    assert!(
        view.starts_with("worker-1 acquired the lock\nworker-2 waits for the lock\n"),
        "{view}"
    );
}
