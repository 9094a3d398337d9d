//! Lock and Semaphore fairness rules, one direct case each: waiters are served in
//! request order, a release hands the lock straight to the first waiter (nobody barges
//! in), cancellation never loses or leaks the lock, and `Fairness::of` reads it all
//! back from the trace. Every case runs its seed twice and compares traces.

mod common;

use common::{named, now, secs, sweep, sweep_then, until};
use seedloop::sync::{Fairness, Lock, Probe, Semaphore, TryAcquireError, TryLockError};
use seedloop::time::sleep;
use seedloop::{yield_now, Policy, Sim};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

/// The trace's synchronization events about the task named `task`, as text.
fn sync_lines(sim: &Sim, task: &str) -> Vec<String> {
    let trace = sim.trace();
    let who = format!("({task})");
    trace
        .events()
        .iter()
        .filter(|event| event.kind().is_sync())
        .map(|event| trace.format_event(event))
        .filter(|line| line.contains(&who))
        .map(|line| line.split(&who).nth(1).unwrap().trim().to_string())
        .collect()
}

#[test]
fn waiters_get_the_lock_in_request_order() {
    sweep_then(
        Policy::Random,
        0..50,
        || async {
            let lock = Rc::new(Lock::new(Vec::new()).named("log"));
            let asked = Rc::new(RefCell::new(Vec::new()));
            // Held while the workers line up, so that every one of them waits.
            let guard = lock.lock().await;
            let workers: Vec<_> = (0..5)
                .map(|worker| {
                    let (lock, asked) = (lock.clone(), asked.clone());
                    seedloop::spawn(async move {
                        // No await between this and the request: same step.
                        asked.borrow_mut().push(worker);
                        let mut log = lock.lock().await;
                        log.push(worker);
                        yield_now().await; // still holding it
                    })
                })
                .collect();
            until(|| lock.waiters() == 5).await;
            drop(guard);
            for worker in workers {
                worker.await.unwrap();
            }
            assert_eq!(*lock.lock().await, *asked.borrow());
        },
        |sim| {
            let fairness = Fairness::of(sim.trace());
            fairness.assert_no_bypass();
            let log = fairness.primitive("log").unwrap();
            assert_eq!(log.grant_order, log.request_order);
            assert_eq!(log.waits, 5);
            assert_eq!(log.grants(), 7, "main twice, each worker once");
        },
    );
}

#[test]
fn contended_lock_never_bypasses_a_waiter_under_any_policy() {
    for policy in [Policy::Random, Policy::Pct { depth: 3 }] {
        sweep_then(
            policy,
            0..30,
            || async {
                let lock = Rc::new(Lock::new(0u32).named("counter"));
                let workers: Vec<_> = (0..4)
                    .map(|_| {
                        let lock = lock.clone();
                        seedloop::spawn(async move {
                            for _ in 0..3 {
                                let mut value = lock.lock().await;
                                let read = *value;
                                yield_now().await;
                                *value = read + 1;
                                drop(value);
                                yield_now().await;
                            }
                        })
                    })
                    .collect();
                for worker in workers {
                    worker.await.unwrap();
                }
                assert_eq!(*lock.lock().await, 12);
            },
            |sim| {
                let fairness = Fairness::of(sim.trace());
                fairness.assert_no_bypass();
                let counter = fairness.primitive("counter").unwrap();
                assert_eq!(counter.grant_order, counter.request_order);
                assert_eq!(counter.max_bypassed, 0);
            },
        );
    }
}

#[test]
fn a_release_hands_the_lock_to_the_first_waiter_so_nobody_can_barge_in() {
    sweep(Policy::Random, 0..50, || async {
        let lock = Rc::new(Lock::new(Vec::new()).named("door"));
        let guard = lock.lock().await;
        let first = named("first", {
            let lock = lock.clone();
            async move { lock.lock().await.push("first") }
        });
        until(|| lock.waiters() == 1).await;
        assert_eq!(lock.try_lock().unwrap_err(), TryLockError);
        drop(guard);
        // Handed over, not freed: "first" owns it though it has not run yet.
        assert!(lock.is_locked());
        assert_eq!(lock.waiters(), 0);
        assert_eq!(
            lock.try_lock().unwrap_err(),
            TryLockError,
            "try_lock right after the release must not take the waiter's lock"
        );
        // A later lock() waits its turn, wherever the scheduler puts it.
        let late = named("late", {
            let lock = lock.clone();
            async move { lock.lock().await.push("late") }
        });
        lock.lock().await.push("main");
        first.await.unwrap();
        late.await.unwrap();
        // main asked (in the step that spawned "late") before "late" could run.
        assert_eq!(*lock.lock().await, ["first", "main", "late"]);
        assert!(!lock.is_locked());
        assert!(lock.try_lock().is_ok());
    });
}

#[test]
fn try_lock_error_says_why() {
    assert_eq!(
        TryLockError.to_string(),
        "the lock is held, or tasks are waiting for it"
    );
}

#[test]
fn a_guard_dropped_by_cancellation_releases_the_lock() {
    sweep(Policy::Random, 0..50, || async {
        let lock = Rc::new(Lock::new(0u32).named("job"));
        let holder = named("holder", {
            let lock = lock.clone();
            async move {
                let mut value = lock.lock().await;
                *value += 1;
                sleep(secs(60)).await;
                *value += 100; // never: cancelled at the sleep
            }
        });
        until(|| lock.is_locked()).await;
        let waiter = named("waiter", {
            let lock = lock.clone();
            async move {
                *lock.lock().await += 10;
                now()
            }
        });
        until(|| lock.waiters() == 1).await;
        assert!(holder.cancel());
        assert!(holder.await.unwrap_err().is_cancelled());
        assert_eq!(waiter.await.unwrap(), Duration::ZERO, "nobody waited 60 s");
        assert!(!lock.is_locked());
        assert_eq!(*lock.try_lock().unwrap(), 11);
    });
}

#[test]
fn a_waiter_cancelled_while_queued_never_gets_the_lock() {
    sweep_then(
        Policy::Random,
        0..50,
        || async {
            let lock = Rc::new(Lock::new(Vec::new()).named("line"));
            let guard = lock.lock().await;
            let doomed = named("doomed", {
                let lock = lock.clone();
                async move { lock.lock().await.push("doomed") }
            });
            until(|| lock.waiters() == 1).await;
            let next = named("next", {
                let lock = lock.clone();
                async move { lock.lock().await.push("next") }
            });
            until(|| lock.waiters() == 2).await;
            assert!(doomed.cancel());
            assert!(doomed.await.unwrap_err().is_cancelled());
            assert_eq!(lock.waiters(), 1, "the cancelled waiter left the line");
            drop(guard);
            next.await.unwrap();
            assert_eq!(*lock.lock().await, ["next"]);
            assert!(!lock.is_locked());
        },
        |sim| {
            assert_eq!(
                sync_lines(sim, "doomed"),
                [
                    "waits for Lock 0 (line)",
                    "stopped waiting for Lock 0 (line)"
                ]
            );
            Fairness::of(sim.trace()).assert_no_bypass();
        },
    );
}

#[test]
fn a_waiter_cancelled_after_the_hand_off_passes_the_lock_to_the_next_waiter() {
    // Deterministic under Fifo: the holder releases (the lock is handed to "granted"),
    // then cancels "granted" in the same step, before it could run.
    sweep_then(
        Policy::Fifo,
        0..1,
        || async {
            let lock = Rc::new(Lock::new(Vec::new()).named("baton"));
            let guard = lock.lock().await;
            let granted = named("granted", {
                let lock = lock.clone();
                async move { lock.lock().await.push("granted") }
            });
            let next = named("next", {
                let lock = lock.clone();
                async move { lock.lock().await.push("next") }
            });
            until(|| lock.waiters() == 2).await;
            drop(guard);
            assert!(lock.is_locked(), "handed to `granted`");
            assert_eq!(lock.waiters(), 1);
            assert!(granted.cancel());
            assert!(granted.await.unwrap_err().is_cancelled());
            next.await.unwrap();
            assert_eq!(*lock.lock().await, ["next"]);
            assert!(!lock.is_locked());
        },
        |sim| {
            // Granted, then given back unused when it was dropped.
            assert_eq!(
                sync_lines(sim, "granted"),
                [
                    "waits for Lock 0 (baton)",
                    "acquired Lock 0 (baton)",
                    "released Lock 0 (baton)"
                ]
            );
            assert_eq!(
                sync_lines(sim, "next"),
                [
                    "waits for Lock 0 (baton)",
                    "acquired Lock 0 (baton)",
                    "released Lock 0 (baton)"
                ]
            );
            let text = sim.trace().to_string();
            let position = |who: &str, what: &str| {
                text.lines()
                    .position(|line| line.contains(who) && line.ends_with(what))
                    .unwrap()
            };
            let given_back = position("(granted)", "released Lock 0 (baton)");
            let passed_on = position("(next)", "acquired Lock 0 (baton)");
            assert!(given_back < passed_on, "{text}");
        },
    );
}

#[test]
fn semaphore_serves_requests_in_order_and_a_large_one_holds_back_smaller_ones() {
    sweep_then(
        Policy::Random,
        0..50,
        || async {
            let pool = Rc::new(Semaphore::new(3).named("pool"));
            let order = Rc::new(RefCell::new(Vec::new()));
            let one = pool.acquire().await.unwrap();
            let two = pool.acquire_many(2).await.unwrap();
            let mut tasks = Vec::new();
            for (name, permits) in [("big", 3), ("small-1", 2), ("small-2", 2)] {
                let (shared, order) = (pool.clone(), order.clone());
                tasks.push(named(name, async move {
                    let permit = shared.acquire_many(permits).await.unwrap();
                    order.borrow_mut().push(name);
                    yield_now().await;
                    drop(permit);
                }));
                let queued = tasks.len();
                until(|| pool.waiters() == queued).await;
            }
            drop(two);
            // Two permits are free, enough for either small request, but the big
            // request is at the front of the line.
            assert_eq!(pool.available(), 2);
            assert_eq!(pool.waiters(), 3);
            assert_eq!(
                pool.try_acquire_many(2).unwrap_err(),
                TryAcquireError::NoPermits
            );
            for _ in 0..20 {
                yield_now().await;
            }
            assert!(order.borrow().is_empty(), "{:?}", order.borrow());
            assert_eq!(pool.available(), 2);
            drop(one);
            for task in tasks {
                task.await.unwrap();
            }
            assert_eq!(*order.borrow(), ["big", "small-1", "small-2"]);
            assert_eq!(pool.available(), 3);
            assert_eq!(pool.waiters(), 0);
        },
        |sim| {
            let fairness = Fairness::of(sim.trace());
            fairness.assert_no_bypass();
            let pool = fairness.primitive("pool").unwrap();
            assert_eq!(pool.grant_order, pool.request_order);
        },
    );
}

#[test]
fn fairness_report_gives_request_order_grant_order_and_wait_lengths() {
    // Under Fifo, by hand:
    //   step 1, 0 s: main takes the lock at once, spawns a and b, yields
    //   step 2, 0 s: a waits
    //   step 3, 0 s: b waits
    //   step 4, 0 s: main sleeps 5 s, holding the lock
    //   step 5, 5 s: main releases; a is granted (waited 3 steps, 5 s)
    //   step 6, 5 s: a runs, sleeps 3 s holding the lock
    //   step 7, 8 s: a releases; b is granted (waited 4 steps, 8 s)
    sweep_then(
        Policy::Fifo,
        0..1,
        || async {
            let lock = Rc::new(Lock::new(()).named("ledger"));
            let guard = lock.lock().await;
            let a = named("a", {
                let lock = lock.clone();
                async move {
                    let _guard = lock.lock().await;
                    sleep(secs(3)).await;
                }
            });
            let b = named("b", {
                let lock = lock.clone();
                async move {
                    let _guard = lock.lock().await;
                }
            });
            yield_now().await;
            sleep(secs(5)).await;
            drop(guard);
            a.await.unwrap();
            b.await.unwrap();
        },
        |sim| {
            let fairness = Fairness::of(sim.trace());
            fairness.assert_no_bypass();
            assert!(!fairness.is_partial());
            let ledger = fairness.primitive("ledger").unwrap();
            let ids: Vec<u32> = ledger.request_order.iter().map(|t| t.index()).collect();
            assert_eq!(ids, [0, 1, 2], "main took it at once, then a and b asked");
            assert_eq!(ledger.grant_order, ledger.request_order);
            assert_eq!(ledger.kind, "Lock");
            assert_eq!(ledger.label(), "Lock 0 (ledger)");
            assert_eq!(ledger.grants(), 3);
            assert_eq!(ledger.waits, 2);
            assert_eq!(ledger.bypass_count, 0);
            assert_eq!(ledger.longest_wait_steps, 4);
            assert_eq!(ledger.longest_wait, secs(8));
            assert_eq!(fairness.longest_wait_steps(), 4);
            assert_eq!(fairness.longest_wait(), secs(8));
            fairness.assert_max_wait(secs(8));
            fairness.assert_max_wait_steps(4);
            assert_eq!(
                fairness.to_string(),
                "Lock 0 (ledger): 3 grants (2 after waiting), max bypassed 0, longest wait 4 steps / 8s"
            );
        },
    );
}

#[test]
fn fairness_report_catches_a_primitive_that_lets_a_later_task_barge_in() {
    // A hand-instrumented, unfair "lock": b takes it while a is waiting.
    sweep_then(
        Policy::Fifo,
        0..1,
        || async {
            let probe = Rc::new(Probe::new("Flag", Some("unfair")));
            let a = named("a", {
                let probe = probe.clone();
                async move {
                    probe.requested();
                    yield_now().await;
                    yield_now().await;
                    probe.acquired();
                    probe.released();
                }
            });
            let b = named("b", {
                let probe = probe.clone();
                async move {
                    probe.acquired();
                    probe.released();
                }
            });
            a.await.unwrap();
            b.await.unwrap();
        },
        |sim| {
            let fairness = Fairness::of(sim.trace());
            let unfair = fairness.primitive("unfair").unwrap();
            assert_eq!(unfair.bypass_count, 1);
            assert_eq!(unfair.max_bypassed, 1);
            let bypass = unfair.bypasses[0];
            assert_eq!((bypass.waiter.index(), bypass.granted.index()), (1, 2));
            let message = std::panic::catch_unwind(|| fairness.assert_no_bypass())
                .unwrap_err()
                .downcast::<String>()
                .unwrap();
            assert!(
                message.contains("grants did not follow request order"),
                "{message}"
            );
            assert!(
                message.contains("task 2 was granted ahead of task 1"),
                "{message}"
            );
        },
    );
}

#[test]
fn lock_events_read_as_waits_for_acquired_and_released_lines_in_the_trace() {
    sweep_then(
        Policy::Fifo,
        0..1,
        || async {
            let lock = Rc::new(Lock::new(0).named("accounts"));
            let guard = lock.lock().await;
            let teller = named("teller", {
                let lock = lock.clone();
                async move { *lock.lock().await += 1 }
            });
            until(|| lock.waiters() == 1).await;
            drop(guard);
            teller.await.unwrap();
        },
        |sim| {
            let text = sim.trace().to_string();
            let line = |who: &str, what: &str| {
                text.lines()
                    .any(|line| line.contains(who) && line.ends_with(what))
            };
            assert!(
                line("task 0 (main)", "acquired Lock 0 (accounts)"),
                "{text}"
            );
            assert!(
                line("task 1 (teller)", "waits for Lock 0 (accounts)"),
                "{text}"
            );
            assert!(
                line("task 0 (main)", "released Lock 0 (accounts)"),
                "{text}"
            );
            // The grant is recorded under the waiter, at the release.
            assert!(
                line("task 1 (teller)", "acquired Lock 0 (accounts)"),
                "{text}"
            );
            assert!(
                line("task 1 (teller)", "released Lock 0 (accounts)"),
                "{text}"
            );
            assert_eq!(
                sync_lines(sim, "teller"),
                [
                    "waits for Lock 0 (accounts)",
                    "acquired Lock 0 (accounts)",
                    "released Lock 0 (accounts)"
                ]
            );
        },
    );
}

#[test]
fn an_unnamed_lock_is_labelled_by_kind_and_number() {
    sweep_then(
        Policy::Fifo,
        0..1,
        || async {
            let named_lock = Lock::new(()).named("first");
            let unnamed = Lock::new(());
            drop(named_lock.lock().await);
            drop(unnamed.lock().await);
        },
        |sim| {
            let text = sim.trace().to_string();
            assert!(text.contains("acquired Lock 0 (first)\n"), "{text}");
            assert!(text.contains("acquired Lock 1\n"), "{text}");
            assert!(text.contains("released Lock 1\n"), "{text}");
        },
    );
}
