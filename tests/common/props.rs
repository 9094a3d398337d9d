//! Strategies and helpers shared by the property tests (`structured_properties.rs`,
//! `sync_properties.rs`).

use proptest::prelude::*;
use seedloop::time::sleep;
use seedloop::{yield_now, Failure, Policy, Sim};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

/// 64 cases a property (`PROPTEST_CASES` for more), no regression files.
pub fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|cases| cases.parse().ok())
            .unwrap_or(64),
        // Failing cases are printed with their seed and policy; no regression files.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Random, Fifo, or PCT of depth 1 to 3.
pub fn policy() -> impl Strategy<Value = Policy> {
    prop_oneof![
        Just(Policy::Random),
        Just(Policy::Fifo),
        (1u32..=3).prop_map(|depth| Policy::Pct { depth }),
    ]
}

/// State the tasks of one simulation share.
pub type Shared<T> = Rc<RefCell<T>>;

/// How long a task runs before it ends or takes its next step: virtual time, or a
/// number of yields.
#[derive(Clone, Copy, Debug)]
pub enum Pause {
    Sleep(u64),
    Yields(u32),
}

/// Pauses of up to 20 ms or 3 yields (zero included: no suspension at all, ending at
/// the first poll).
pub fn pause() -> impl Strategy<Value = Pause> {
    prop_oneof![
        (0u64..=20).prop_map(Pause::Sleep),
        (0u32..=3).prop_map(Pause::Yields),
    ]
}

/// Pauses that always suspend at least once (a lock held across them is contended).
pub fn suspending_pause() -> impl Strategy<Value = Pause> {
    prop_oneof![
        (1u64..=10).prop_map(Pause::Sleep),
        (1u32..=3).prop_map(Pause::Yields),
    ]
}

pub async fn pause_for(pause: Pause) {
    pause_checking(pause, || {}).await;
}

/// Pauses, calling `check` after every resumption.
pub async fn pause_checking(pause: Pause, check: impl Fn()) {
    match pause {
        Pause::Sleep(0) => {}
        Pause::Sleep(millis) => {
            sleep(Duration::from_millis(millis)).await;
            check();
        }
        Pause::Yields(count) => {
            for _ in 0..count {
                yield_now().await;
                check();
            }
        }
    }
}

/// Makes `Sim::new(seed).policy(policy)`, for [`super::run_twice`].
pub fn sim_for(seed: u64, policy: &Policy) -> impl Fn() -> Sim {
    let policy = policy.clone();
    move || Sim::new(seed).policy(policy.clone())
}

/// The value of a run that must pass; panics with the failure otherwise.
pub fn passed<T>(result: Result<T, Failure>) -> T {
    result.unwrap_or_else(|failure| panic!("{failure}"))
}
