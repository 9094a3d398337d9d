//! A lock-order inversion, caught the moment the cycle forms.
//!
//! Two transfers lock two accounts in opposite orders: `transfer-1` takes `alice` then
//! `bob`, `transfer-2` takes `bob` then `alice`. Under most schedules one finishes
//! before the other starts and nothing goes wrong; under some, each holds its first
//! lock and waits for the other's. A background `auditor` keeps running all the while,
//! so the program as a whole never stops: a runtime that only reports a deadlock once
//! every task is stuck would run until its time limit. seedloop sees the cycle in the
//! wait-for graph of locks as soon as the second wait closes it, and reports who waits
//! for what and who holds it. The fix (lock in one global order) passes every seed.
//!
//! Run it with `cargo run --release --example deadlock`.

use seedloop::sync::Lock;
use seedloop::task::Builder;
use seedloop::time::sleep;
use seedloop::{Check, FailureKind};
use std::rc::Rc;
use std::time::Duration;

struct Bank {
    alice: Lock<i64>,
    bob: Lock<i64>,
}

/// Moves `amount` between the two accounts; `alice_first` picks the lock order.
async fn transfer(bank: Rc<Bank>, alice_first: bool, amount: i64) {
    let (mut alice, mut bob) = if alice_first {
        let alice = bank.alice.lock().await;
        seedloop::yield_now().await; // e.g. read the account from disk
        (alice, bank.bob.lock().await)
    } else {
        let bob = bank.bob.lock().await;
        seedloop::yield_now().await;
        let alice = bank.alice.lock().await;
        (alice, bob)
    };
    *alice -= amount;
    *bob += amount;
}

async fn scenario(fixed: bool) {
    let bank = Rc::new(Bank {
        alice: Lock::new(100).named("alice"),
        bob: Lock::new(100).named("bob"),
    });
    let auditor = Builder::new().name("auditor").spawn(async {
        for _ in 0..1000 {
            sleep(Duration::from_secs(1)).await;
        }
    });
    let one = Builder::new()
        .name("transfer-1")
        .spawn(transfer(bank.clone(), true, 30));
    // The bug: the second transfer locks in the other order. The fix: the same order.
    let two = Builder::new()
        .name("transfer-2")
        .spawn(transfer(bank.clone(), fixed, 20));
    one.await.unwrap();
    two.await.unwrap();
    assert_eq!(*bank.alice.lock().await + *bank.bob.lock().await, 200);
    auditor.cancel();
}

fn main() {
    println!("== the lock-order inversion, swept over 1000 seeds ==");
    let failure = Check::new()
        .seeds(0..1000)
        .replay_command("cargo run --release --example deadlock")
        .try_run(|| scenario(false))
        .expect_err("some schedule interleaves the two transfers");
    println!("{failure}\n");
    let FailureKind::WaitCycle { cycle } = &failure.kind else {
        panic!("expected a wait cycle, got {}", failure.kind)
    };
    assert_eq!(cycle.len(), 2);
    assert!(
        failure.time < Duration::from_secs(1),
        "reported when the cycle formed, while the auditor still had 1000 s to run"
    );

    println!("== replaying seed {} gives the same trace ==", failure.seed);
    let mut replay = failure.sim();
    let again = replay.run(scenario(false)).unwrap_err();
    assert_eq!(again.trace.hash(), failure.trace.hash());
    println!(
        "same failure, same trace hash {:016x}\n",
        again.trace.hash()
    );

    println!("== the fix: both transfers lock alice first ==");
    let summary = Check::new()
        .seeds(0..1000)
        .env(seedloop::harness::env::EnvConfig::default())
        .run(|| scenario(true));
    println!(
        "{} seeds passed ({} steps in all)",
        summary.seeds.end - summary.seeds.start,
        summary.steps
    );
}
