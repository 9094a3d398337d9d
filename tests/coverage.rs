//! `sometimes!` and `always!`: a sweep proves its seeds reached the states a test is
//! about, and an invariant fails with its name.

use seedloop::harness::env::EnvConfig;
use seedloop::sync::Lock;
use seedloop::{Check, Sim};
use std::rc::Rc;

/// Two workers contend for a lock; whether one is cancelled while it holds it depends
/// on the schedule.
async fn contention() {
    let lock = Rc::new(Lock::new(0u32));
    let holder = {
        let lock = lock.clone();
        seedloop::spawn(async move {
            let _guard = lock.lock().await;
            seedloop::yield_now().await;
        })
    };
    let other = {
        let lock = lock.clone();
        seedloop::spawn(async move { *lock.lock().await += 1 })
    };
    seedloop::yield_now().await;
    let cancelled_holding = holder.cancel() && lock.is_locked();
    seedloop::sometimes!(cancelled_holding, "cancelled while holding the lock");
    seedloop::sometimes!(false, "never reachable");
    seedloop::always!(
        lock.is_locked() || !cancelled_holding,
        "a cancelled holder keeps the lock until dropped"
    );
    let _ = holder.await;
    other.await.unwrap();
}

#[test]
fn a_sweep_adds_up_each_condition_and_lists_those_that_never_held() {
    let summary = Check::new()
        .seeds(0..100)
        .env(EnvConfig::default())
        .run(contention);
    let held = summary.coverage["cancelled while holding the lock"];
    assert_eq!(held.reached, 100, "once per seed");
    assert!(held.held > 0 && held.held < 100, "{held:?}");
    assert_eq!(summary.never_held(), ["never reachable"]);
    assert_eq!(
        summary.coverage["a cancelled holder keeps the lock until dropped"].held,
        100
    );
}

#[test]
fn a_required_condition_that_never_held_fails_the_sweep_naming_it() {
    let failure = Check::new()
        .seeds(0..30)
        .env(EnvConfig::default())
        .require_sometimes(["cancelled while holding the lock", "never reachable"])
        .try_run(contention)
        .unwrap_err();
    assert_eq!(failure.kind.name(), "never held");
    let report = failure.to_string();
    assert!(
        report.contains("never reachable") && report.contains("in 30 seeds"),
        "{report}"
    );
    assert!(
        !report.contains("cancelled while holding"),
        "it held: {report}"
    );
    // The same requirement on parallel workers: the counts merge.
    let parallel = Check::new()
        .seeds(0..30)
        .jobs(2)
        .env(EnvConfig::default())
        .require_sometimes(["cancelled while holding the lock"])
        .try_run_parallel(contention)
        .unwrap();
    assert_eq!(
        parallel.coverage["cancelled while holding the lock"].reached,
        30
    );
}

#[test]
fn an_always_that_does_not_hold_fails_the_run_with_its_name() {
    let mut sim = Sim::new(0);
    let failure = sim
        .run(async {
            let balance = -5;
            seedloop::always!(balance >= 0, "balances never go negative");
        })
        .unwrap_err();
    assert!(
        failure
            .to_string()
            .contains("always!(\"balances never go negative\") did not hold"),
        "{failure}"
    );
}

#[test]
fn outside_a_simulation_the_macros_only_evaluate() {
    assert!(seedloop::sometimes!(true, "outside"));
    seedloop::always!(true, "outside too");
}

#[test]
fn seedloop_verbose_is_an_on_off_switch() {
    assert_eq!(
        EnvConfig::parse([("SEEDLOOP_VERBOSE", "1")])
            .unwrap()
            .verbose,
        Some(true)
    );
    assert!(EnvConfig::parse([("SEEDLOOP_VERBOSE", "loud")]).is_err());
}
