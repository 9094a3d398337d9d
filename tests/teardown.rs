//! The end of a run: tasks still alive are dropped inside the simulation, in rounds
//! (a drop may spawn cleanup tasks, which the next round drops). A chain of drops
//! that spawn longer than the teardown limit, or an endless one, is a failure that
//! names the chain, never an abort or a stack overflow. Each case runs its seed twice
//! and compares traces.

mod common;

use common::run_twice;
use seedloop::task::Builder;
use seedloop::{FailureKind, Policy, Sim};
use std::cell::Cell;
use std::rc::Rc;

/// A task that never ends; when dropped, it spawns the next link of the chain while
/// `links` lasts.
fn link(links: Rc<Cell<u64>>) {
    struct SpawnOnDrop(Rc<Cell<u64>>);
    impl Drop for SpawnOnDrop {
        fn drop(&mut self) {
            let left = self.0.get();
            if left > 0 {
                self.0.set(left - 1);
                link(self.0.clone());
            }
        }
    }
    let guard = SpawnOnDrop(links);
    drop(Builder::new().name("cleanup").spawn(async move {
        let _guard = guard;
        std::future::pending::<()>().await;
    }));
}

fn chain_of(links: u64) -> impl Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> {
    move || {
        Box::pin(async move {
            link(Rc::new(Cell::new(links)));
            seedloop::yield_now().await;
        })
    }
}

#[test]
fn a_chain_of_spawning_drops_within_the_limit_is_dropped_whole() {
    let (sim, result) = run_twice(|| Sim::new(0).policy(Policy::Fifo), chain_of(500));
    result.unwrap();
    assert_eq!(sim.stats().leaked, 501);
}

#[test]
fn a_chain_longer_than_the_teardown_limit_fails_naming_the_chain() {
    let (_, result) = run_twice(|| Sim::new(0).policy(Policy::Fifo), chain_of(1100));
    let failure = result.unwrap_err();
    let FailureKind::TeardownLimit {
        rounds,
        left,
        chain,
    } = &failure.kind
    else {
        panic!("expected a teardown failure, got {failure}");
    };
    assert_eq!((*rounds, *left), (1000, 1));
    assert!(chain.len() > 1, "{failure}");
    // Newest first: task 1001 was spawned while task 1000 was being dropped, ...
    assert_eq!(chain[0], "task 1001 (cleanup)");
    assert_eq!(chain[1], "task 1000 (cleanup)");
    let report = failure.to_string();
    assert!(report.contains("teardown limit"), "{report}");
    assert!(
        report.contains("\n    task 1001 (cleanup)\n    task 1000 (cleanup)"),
        "{report}"
    );
}

#[test]
fn an_endless_chain_of_spawning_drops_fails_instead_of_overflowing() {
    let (_, result) = run_twice(|| Sim::new(1), chain_of(u64::MAX));
    let failure = result.unwrap_err();
    assert_eq!(failure.kind.name(), "teardown limit", "{failure}");
}

#[test]
fn a_failed_run_keeps_its_first_failure_over_the_teardown_limit() {
    let (_, result) = run_twice(
        || Sim::new(0).policy(Policy::Fifo),
        || async {
            link(Rc::new(Cell::new(u64::MAX)));
            panic!("the real bug");
        },
    );
    assert_eq!(result.unwrap_err().kind.name(), "panic");
}
