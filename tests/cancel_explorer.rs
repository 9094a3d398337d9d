//! The cancellation explorer: counts a task's await points, cancels it at each, and
//! reports the first one that breaks the scenario's invariant, replayably.

mod common;

use seedloop::harness::env::EnvConfig;
use seedloop::task::Builder;
use seedloop::time::sleep;
use seedloop::{CancelExplorer, Policy};
use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

struct Accounts {
    a: Cell<i64>,
    b: Cell<i64>,
}

/// Cancel-unsafe: money leaves `a` before the await that precedes the deposit.
async fn transfer_unsafe(accounts: Rc<Accounts>, amount: i64) {
    sleep(Duration::from_millis(5)).await; // look up the accounts
    accounts.a.set(accounts.a.get() - amount);
    sleep(Duration::from_millis(5)).await; // write the audit log
    accounts.b.set(accounts.b.get() + amount);
    sleep(Duration::from_millis(5)).await; // notify
}

/// Cancel-safe: both updates happen in one step, after every await that can fail.
async fn transfer_safe(accounts: Rc<Accounts>, amount: i64) {
    sleep(Duration::from_millis(5)).await; // safe: look up
    sleep(Duration::from_millis(5)).await; // safe: audit
    accounts.a.set(accounts.a.get() - amount);
    accounts.b.set(accounts.b.get() + amount);
    sleep(Duration::from_millis(5)).await; // safe: notify
}

/// `tests/cancel_explorer.rs:<line>:5`, the site of the await marked with `marker`.
fn site_of(marker: &str) -> String {
    let source = std::fs::read_to_string(file!()).unwrap();
    let line = source
        .lines()
        .position(|line| line.ends_with(marker) && line.trim_start().starts_with("sleep("))
        .expect("the marker is in this file");
    format!("{}:{}:5", file!(), line + 1)
}

/// The scenario: a task named "transfer" moves 30 of the 100 in `a` to `b` with
/// `transfer` (and may be cancelled on the way); then no money may have been destroyed.
async fn transfer_keeps_the_money<Fut>(transfer: impl FnOnce(Rc<Accounts>, i64) -> Fut)
where
    Fut: Future<Output = ()> + 'static,
{
    let accounts = Rc::new(Accounts {
        a: Cell::new(100),
        b: Cell::new(0),
    });
    let task = Builder::new()
        .name("transfer")
        .spawn(transfer(accounts.clone(), 30));
    let _ = task.await;
    assert_eq!(
        accounts.a.get() + accounts.b.get(),
        100,
        "money was destroyed"
    );
}

fn no_env() -> EnvConfig {
    EnvConfig::default()
}

#[test]
fn the_explorer_finds_a_cancel_unsafe_transfer_at_its_exact_await_point() {
    let failure = CancelExplorer::new("transfer")
        .env(no_env())
        .name("the_explorer_finds_a_cancel_unsafe_transfer_at_its_exact_await_point")
        .try_run(|| transfer_keeps_the_money(transfer_unsafe))
        .unwrap_err();
    let point = failure.cancel_point.clone().expect("a cancel point");
    assert_eq!(point.task, "transfer");
    // Await point 1 is before the withdrawal (harmless); 2 is between the two updates:
    // the audit-log sleep.
    assert_eq!(point.await_point, 2);
    let audit = site_of("// write the audit log");
    assert_eq!(point.site.as_deref(), Some(audit.as_str()));
    let report = failure.to_string();
    assert!(
        report.contains(&format!(
            "with task `transfer` cancelled at its await point 2 ({audit})"
        )),
        "{report}"
    );
    assert!(report.contains("money was destroyed"), "{report}");
    assert!(
        report
            .lines()
            .last()
            .unwrap()
            .contains("SEEDLOOP_CANCEL_AT=2"),
        "{report}"
    );
    assert_eq!(failure.policy, Policy::Fifo);

    // The failure replays through its Sim: same failure, same trace.
    let mut replay = failure.sim();
    let again = replay
        .run(transfer_keeps_the_money(transfer_unsafe))
        .unwrap_err();
    assert_eq!(again.kind, failure.kind);
    assert_eq!(again.trace.hash(), failure.trace.hash());
}

#[test]
fn the_cancel_safe_transfer_passes_every_await_point_under_many_seeds() {
    let summary = CancelExplorer::new("transfer")
        .env(no_env())
        .seeds(0..20)
        .policy(Policy::Random)
        .try_run(|| transfer_keeps_the_money(transfer_safe))
        .unwrap();
    assert_eq!(summary.await_points, vec![3; 20]);
    // The sites of the first seed's await points: the three sleeps of transfer_safe.
    let lines: Vec<_> = ["// safe: look up", "// safe: audit", "// safe: notify"]
        .map(|marker| Some(site_of(marker)))
        .into();
    assert_eq!(summary.sites, lines);
    // Per seed: a baseline, one run per await point; the first seed's baseline twice.
    assert_eq!(summary.runs, 20 * (1 + 3) + 1);
}

#[test]
fn seedloop_cancel_at_runs_only_the_named_await_point() {
    let cancelled_at = Rc::new(Cell::new(Vec::new()));
    let summary = CancelExplorer::new("worker")
        .env(EnvConfig::parse([("SEEDLOOP_CANCEL_AT", "2")]).unwrap())
        .try_run(|| {
            let cancelled_at = cancelled_at.clone();
            async move {
                let steps = Rc::new(Cell::new(0));
                let worker = Builder::new().name("worker").spawn({
                    let steps = steps.clone();
                    async move {
                        for _ in 0..4 {
                            seedloop::yield_now().await;
                            steps.set(steps.get() + 1);
                        }
                    }
                });
                if worker.await.is_err() {
                    let mut seen = cancelled_at.take();
                    seen.push(steps.get());
                    cancelled_at.set(seen);
                }
            }
        })
        .unwrap();
    assert_eq!(summary.await_points, [4]);
    assert_eq!(
        cancelled_at.take(),
        [1],
        "cancelled once, after its first step"
    );
}

#[test]
fn a_scenario_that_fails_without_any_cancellation_is_reported_as_is() {
    let failure = CancelExplorer::new("worker")
        .env(no_env())
        .try_run(|| async {
            let _ = Builder::new().name("worker").spawn(async {}).await;
            panic!("broken before any cancellation");
        })
        .unwrap_err();
    assert!(failure.cancel_point.is_none());
    assert!(failure
        .to_string()
        .contains("broken before any cancellation"));
}

#[test]
#[should_panic(expected = "no task named `wroker` was spawned")]
fn a_target_name_that_no_task_has_is_a_clear_error() {
    CancelExplorer::new("wroker").env(no_env()).run(|| async {
        let _ = Builder::new().name("worker").spawn(async {}).await;
    });
}

#[test]
fn a_nondeterministic_scenario_is_caught() {
    let counter = Rc::new(Cell::new(0u32));
    let failure = CancelExplorer::new("worker")
        .env(no_env())
        .try_run(|| {
            let counter = counter.clone();
            async move {
                counter.set(counter.get() + 1);
                let yields = counter.get();
                let _ = Builder::new()
                    .name("worker")
                    .spawn(async move {
                        for _ in 0..yields {
                            seedloop::yield_now().await;
                        }
                    })
                    .await;
            }
        })
        .unwrap_err();
    assert_eq!(failure.kind.name(), "nondeterminism");
}

#[test]
#[should_panic(expected = "the main future cannot be cancelled at an await point")]
fn the_main_future_cannot_be_the_target() {
    CancelExplorer::new("main")
        .env(no_env())
        .run(|| async { seedloop::yield_now().await });
}

/// A task named `worker` that yields four times (four await points).
async fn four_yields() {
    let _ = Builder::new()
        .name("worker")
        .spawn(async {
            for _ in 0..4 {
                seedloop::yield_now().await;
            }
        })
        .await;
}

#[test]
fn stale_cancel_at_is_an_error() {
    // SEEDLOOP_CANCEL_AT=9 from an old replay line, after the code changed: the worker
    // has 4 await points now. Passing would be a false green.
    let message = common::panic_message(|| {
        let _ = CancelExplorer::new("worker")
            .env(EnvConfig::parse([("SEEDLOOP_CANCEL_AT", "9")]).unwrap())
            .try_run(four_yields);
    });
    assert!(message.contains("SEEDLOOP_CANCEL_AT=9"), "{message}");
    assert!(message.contains("4 await points"), "{message}");
    assert!(message.contains("unset"), "{message}");
    // The same point set in code.
    let message = common::panic_message(|| {
        let _ = CancelExplorer::new("worker")
            .env(no_env())
            .cancel_at("worker", 5)
            .try_run(four_yields);
    });
    assert!(message.contains("cancel_at(\"worker\", 5)"), "{message}");
    assert!(message.contains("4 await points"), "{message}");
    // The last point that exists still runs (the explorer runs its baseline twice and
    // compares the traces, so the seed replays identically).
    let summary = CancelExplorer::new("worker")
        .env(EnvConfig::parse([("SEEDLOOP_CANCEL_AT", "4")]).unwrap())
        .try_run(four_yields)
        .unwrap();
    assert_eq!(summary.await_points, [4]);
    assert_eq!(summary.runs, 3);
}
