//! Deadlock, wait-cycle and starvation reports for `seedloop::sync` primitives: each
//! names what every stuck task waits on and who holds it, a cycle is reported the
//! moment it forms, and the starvation limits fail the run at the exact instant (or
//! step) they pass. Every case runs its seed twice and compares traces; failures
//! replay to the same trace hash.

mod common;

use common::{named, now, passes, run_twice, secs, until};
use seedloop::sync::{Condition, Lock, Semaphore};
use seedloop::time::{sleep, timeout};
use seedloop::{yield_now, Failure, FailureKind, Policy, Sim};
use std::convert::identity;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

/// The policies and seeds every program is checked under, as makers of a `Sim` that
/// `configure` then sets up.
fn sims(configure: impl Fn(Sim) -> Sim + Copy) -> impl Iterator<Item = impl Fn() -> Sim> {
    let mut cases = vec![(Policy::Fifo, 0)];
    cases.extend((0..20).map(|seed| (Policy::Random, seed)));
    cases.extend((0..10).map(|seed| (Policy::Pct { depth: 3 }, seed)));
    cases
        .into_iter()
        .map(move |(policy, seed)| move || configure(Sim::new(seed).policy(policy.clone())))
}

/// Runs `program` on `make()` twice (same trace, same outcome) and returns the
/// failure, after checking that its report replays: the same seed and configuration,
/// and the recorded schedule, give the same trace hash.
fn fails_and_replays<Fut: Future<Output = ()>>(
    make: impl Fn() -> Sim,
    program: impl Fn() -> Fut,
) -> Failure {
    let (_, result) = run_twice(&make, &program);
    let failure = result.expect_err("the program fails");
    let mut again = make();
    let replayed = again.run(program()).expect_err("the same seed fails again");
    assert_eq!(replayed.kind, failure.kind);
    assert_eq!(replayed.trace.hash(), failure.trace.hash());
    assert_eq!((replayed.step, replayed.time), (failure.step, failure.time));
    let mut scheduled = make().policy(Policy::Replay(failure.schedule.clone()));
    let replayed = scheduled
        .run(program())
        .expect_err("the schedule fails again");
    assert_eq!(replayed.kind, failure.kind);
    assert_eq!(replayed.trace.hash(), failure.trace.hash());
    failure
}

/// Two transfers lock `accounts-a` and `accounts-b` in opposite orders, a second
/// apart: at 1 s each holds one lock and waits for the other. A third task ticks
/// (sleeps 1 s, yields) `ticks` times, so the run could go on for that long.
async fn opposite_transfers(ticks: u32) {
    let a = Rc::new(Lock::new(100i64).named("accounts-a"));
    let b = Rc::new(Lock::new(0i64).named("accounts-b"));
    // Primitives are numbered at their first use in a run: use both now, so that they
    // are Lock 0 and Lock 1 whichever transfer runs first.
    drop(a.try_lock().unwrap());
    drop(b.try_lock().unwrap());
    let transfer_1 = named("transfer-1", {
        let (from, to) = (a.clone(), b.clone());
        async move {
            let mut from = from.lock().await;
            sleep(secs(1)).await;
            let mut to = to.lock().await;
            *from -= 10;
            *to += 10;
        }
    });
    let transfer_2 = named("transfer-2", {
        let (from, to) = (b.clone(), a.clone());
        async move {
            let mut from = from.lock().await;
            sleep(secs(1)).await;
            let mut to = to.lock().await;
            *from -= 5;
            *to += 5;
        }
    });
    let ticker = named("ticker", async move {
        for _ in 0..ticks {
            sleep(secs(1)).await;
            yield_now().await;
        }
    });
    ticker.await.unwrap();
    transfer_1.await.unwrap();
    transfer_2.await.unwrap();
}

const T1_WAITS: &str =
    "task 1 (transfer-1) waits on Lock 1 (accounts-b), held by task 2 (transfer-2)";
const T2_WAITS: &str =
    "task 2 (transfer-2) waits on Lock 0 (accounts-a), held by task 1 (transfer-1)";

/// A report line without its `, awaited at <file:line:column>` suffix.
fn strip_site(line: &str) -> &str {
    line.split(", awaited at ").next().unwrap_or(line)
}

fn without_sites(lines: &[String]) -> Vec<&str> {
    lines.iter().map(|line| strip_site(line)).collect()
}

#[test]
fn a_lock_order_inversion_fails_as_a_wait_cycle_naming_each_wait_and_holder() {
    for sim in sims(identity) {
        let failure = fails_and_replays(sim, || opposite_transfers(0));
        let FailureKind::WaitCycle { cycle } = &failure.kind else {
            panic!("expected a wait cycle, got {failure}");
        };
        let mut lines: Vec<String> = cycle.iter().map(|task| task.to_string()).collect();
        lines.sort();
        assert_eq!(without_sites(&lines), [T1_WAITS, T2_WAITS], "{failure}");
        for line in &lines {
            assert!(
                line.contains(", awaited at tests/sync_deadlocks.rs:"),
                "{line}"
            );
        }
        let text = failure.to_string();
        assert!(
            text.starts_with("seedloop: deadlock: a wait-for cycle of 2 task(s)"),
            "{text}"
        );
        assert!(text.contains(&format!("\n    {T1_WAITS}")), "{text}");
        assert!(text.contains(&format!("\n    {T2_WAITS}")), "{text}");
        assert_eq!(failure.kind.name(), "wait cycle");
        assert!(!failure.is_deadlock(), "a wait cycle is its own kind");
        let names: Vec<_> = cycle.iter().map(|task| task.name.as_deref()).collect();
        assert!(names.contains(&Some("transfer-1")) && names.contains(&Some("transfer-2")));
    }
}

#[test]
fn a_wait_cycle_is_reported_when_it_forms_while_other_tasks_still_run() {
    for sim in sims(identity) {
        let failure = fails_and_replays(sim, || opposite_transfers(1000));
        assert!(
            matches!(failure.kind, FailureKind::WaitCycle { .. }),
            "{failure}"
        );
        assert_eq!(
            failure.time,
            secs(1),
            "when the cycle formed, not 1000 s later"
        );
        // The run stopped in the step whose wait closed the cycle: the trace ends
        // with that request.
        let last = failure.trace.events().last().unwrap();
        assert_eq!(failure.step, last.step());
        let line = failure.trace.format_event(last);
        assert!(
            line.ends_with("waits for Lock 0 (accounts-a)")
                || line.ends_with("waits for Lock 1 (accounts-b)"),
            "{line}"
        );
        assert!(failure.step < 30, "step {}", failure.step);
    }
}

#[test]
fn without_cycle_detection_the_same_program_is_a_plain_deadlock_naming_locks_and_holders() {
    for sim in sims(|sim| sim.detect_wait_cycles(false)) {
        let failure = fails_and_replays(sim, || opposite_transfers(0));
        let FailureKind::Deadlock { blocked } = &failure.kind else {
            panic!("expected a deadlock, got {failure}");
        };
        assert!(failure.is_deadlock());
        assert_eq!(failure.time, secs(1));
        let waits: Vec<(u32, &str)> = blocked
            .iter()
            .map(|task| (task.task.index(), strip_site(&task.waits_on)))
            .collect();
        assert!(blocked[1]
            .waits_on
            .contains(", awaited at tests/sync_deadlocks.rs:"));
        assert_eq!(
            waits,
            [
                (0, "the JoinHandle of task 1 (transfer-1)"),
                (1, "Lock 1 (accounts-b), held by task 2 (transfer-2)"),
                (2, "Lock 0 (accounts-a), held by task 1 (transfer-1)"),
            ],
            "{failure}"
        );
        assert_eq!(blocked[1].name.as_deref(), Some("transfer-1"));
        let text = failure.to_string();
        assert!(
            text.contains(
                "deadlock: nothing is ready, no timer is pending, and 3 task(s) are blocked"
            ),
            "{text}"
        );
        assert!(text.contains(&format!("\n    {T1_WAITS}")), "{text}");
        assert!(text.contains(&format!("\n    {T2_WAITS}")), "{text}");
    }
}

#[test]
fn without_cycle_detection_a_deadlock_is_only_found_once_nothing_else_runs() {
    for sim in sims(|sim| sim.detect_wait_cycles(false)) {
        let failure = fails_and_replays(sim, || opposite_transfers(50));
        assert!(failure.is_deadlock(), "{failure}");
        assert_eq!(failure.time, secs(50), "after the ticker's last tick");
    }
}

#[test]
fn a_wait_under_a_timeout_is_not_a_cycle_because_its_timer_can_still_wake_it() {
    for sim in sims(identity) {
        passes(sim, || async {
            let a = Rc::new(Lock::new(()).named("accounts-a"));
            let b = Rc::new(Lock::new(()).named("accounts-b"));
            let patient = named("transfer-1", {
                let (a, b) = (a.clone(), b.clone());
                async move {
                    let _from = a.lock().await;
                    sleep(secs(1)).await;
                    let _to = b.lock().await;
                    now()
                }
            });
            let careful = named("transfer-2", {
                let (a, b) = (a.clone(), b.clone());
                async move {
                    let _from = b.lock().await;
                    sleep(secs(1)).await;
                    // Gives up (releasing `b`) after 5 s.
                    let to = timeout(secs(5), a.lock()).await;
                    (to.is_ok(), now())
                }
            });
            assert_eq!(careful.await.unwrap(), (false, secs(6)));
            assert_eq!(patient.await.unwrap(), secs(6));
        });
    }
}

#[test]
fn a_semaphore_cycle_is_detected_too() {
    for sim in sims(identity) {
        let failure = fails_and_replays(sim, || async {
            let pool_a = Rc::new(Semaphore::new(1).named("pool-a"));
            let pool_b = Rc::new(Semaphore::new(1).named("pool-b"));
            drop(pool_a.try_acquire().unwrap());
            drop(pool_b.try_acquire().unwrap());
            let mut workers = Vec::new();
            for (name, first, second) in [
                ("worker-1", pool_a.clone(), pool_b.clone()),
                ("worker-2", pool_b.clone(), pool_a.clone()),
            ] {
                workers.push(named(name, async move {
                    let _first = first.acquire().await.unwrap();
                    sleep(secs(1)).await;
                    let _second = second.acquire().await.unwrap();
                }));
            }
            for worker in workers {
                worker.await.unwrap();
            }
        });
        let FailureKind::WaitCycle { cycle } = &failure.kind else {
            panic!("expected a wait cycle, got {failure}");
        };
        let mut lines: Vec<String> = cycle.iter().map(|task| task.to_string()).collect();
        lines.sort();
        assert_eq!(
            without_sites(&lines),
            [
                "task 1 (worker-1) waits on Semaphore 1 (pool-b), held by task 2 (worker-2)",
                "task 2 (worker-2) waits on Semaphore 0 (pool-a), held by task 1 (worker-1)",
            ],
            "{failure}"
        );
        assert_eq!(failure.time, secs(1));
    }
}

/// "hog" holds `db` for 60 s (ticking each second); "victim" asks for it at 2 s.
async fn hogged_lock() {
    let db = Rc::new(Lock::new(()).named("db"));
    let hog = named("hog", {
        let db = db.clone();
        async move {
            let _guard = db.lock().await;
            for _ in 0..60 {
                sleep(secs(1)).await;
            }
        }
    });
    let victim = named("victim", {
        let db = db.clone();
        async move {
            sleep(secs(2)).await;
            let _guard = db.lock().await;
            now()
        }
    });
    hog.await.unwrap();
    assert_eq!(victim.await.unwrap(), secs(60));
}

#[test]
fn max_wait_fails_with_starvation_at_the_instant_the_limit_passed() {
    for sim in sims(|sim| sim.max_wait(secs(5))) {
        let failure = fails_and_replays(sim, hogged_lock);
        let FailureKind::Starvation {
            task,
            name,
            primitive,
            waited,
            waited_steps,
        } = &failure.kind
        else {
            panic!("expected starvation, got {failure}");
        };
        assert_eq!(task.index(), 2);
        assert_eq!(name.as_deref(), Some("victim"));
        assert_eq!(primitive, "Lock 0 (db)");
        assert_eq!(*waited, secs(5));
        assert!(*waited_steps > 0);
        assert_eq!(failure.time, secs(7), "began to wait at 2 s, limit 5 s");
        let text = failure.to_string();
        assert!(
            text.contains(&format!(
                "starvation: task 2 (victim) waited 5s ({waited_steps} steps) for Lock 0 (db), past the limit"
            )),
            "{text}"
        );
    }
}

#[test]
fn a_wait_of_exactly_max_wait_passes() {
    for sim in sims(|sim| sim.max_wait(secs(58))) {
        passes(sim, hogged_lock);
    }
}

/// "spinner" holds `spin` while it yields 1000 times; "victim" waits for it. The
/// virtual clock never moves.
async fn spinning_holder() {
    let lock = Rc::new(Lock::new(()).named("spin"));
    let spinner = named("spinner", {
        let lock = lock.clone();
        async move {
            let _guard = lock.lock().await;
            for _ in 0..1000 {
                yield_now().await;
            }
        }
    });
    while !lock.is_locked() {
        yield_now().await;
    }
    let victim = named("victim", {
        let lock = lock.clone();
        async move {
            let _guard = lock.lock().await;
        }
    });
    spinner.await.unwrap();
    victim.await.unwrap();
}

#[test]
fn max_wait_steps_catches_starvation_in_a_yield_only_program() {
    for sim in sims(|sim| sim.max_wait_steps(50)) {
        let failure = fails_and_replays(sim, spinning_holder);
        let FailureKind::Starvation {
            name,
            primitive,
            waited,
            waited_steps,
            ..
        } = &failure.kind
        else {
            panic!("expected starvation, got {failure}");
        };
        assert_eq!(name.as_deref(), Some("victim"));
        assert_eq!(primitive, "Lock 0 (spin)");
        assert_eq!(*waited_steps, 51, "the first step past the limit");
        assert_eq!(*waited, Duration::ZERO);
        assert_eq!(failure.time, Duration::ZERO);
    }
}

#[test]
fn a_time_limit_alone_cannot_see_starvation_when_the_clock_stands_still() {
    for sim in sims(|sim| sim.max_wait(secs(1))) {
        let sim = passes(sim, spinning_holder);
        assert!(sim.stats().steps > 1000);
    }
}

// Deadlocks inside a `Condition`: the report names the line of the program's own
// `lock()`, `wait(..)` or `wait_for(..)` call, wherever inside the condition the task
// is stuck, because that line is what the reader can fix.

/// Checks that `task_name` is blocked, and that the report says where in this file it
/// awaited and never points into seedloop's condition code.
fn assert_blocked_at_a_line_of_this_file(failure: &Failure, task_name: &str) {
    let FailureKind::Deadlock { blocked } = &failure.kind else {
        panic!("expected a deadlock, got {failure}");
    };
    let task = blocked
        .iter()
        .find(|task| task.name.as_deref() == Some(task_name))
        .unwrap_or_else(|| panic!("{task_name} is not blocked: {failure}"));
    assert!(
        task.waits_on
            .contains(", awaited at tests/sync_deadlocks.rs:"),
        "{}",
        task.waits_on
    );
    let text = failure.to_string();
    assert!(!text.contains("src/sync/condition.rs"), "{text}");
}

#[test]
fn a_task_never_notified_is_reported_at_its_condition_wait_line() {
    for sim in sims(identity) {
        let failure = fails_and_replays(sim, || async {
            let ready = Rc::new(Condition::new(false).named("ready"));
            let waiter = named("waiter", {
                let ready = ready.clone();
                async move {
                    let guard = ready.lock().await;
                    drop(ready.wait(guard).await);
                }
            });
            waiter.await.unwrap(); // nobody notifies
        });
        assert_blocked_at_a_line_of_this_file(&failure, "waiter");
    }
}

/// The notifier keeps the condition's lock while it awaits the waiter it notified, so
/// the waiter is stuck inside `wait` (or `wait_for`), taking the lock again.
async fn notified_waiter_cannot_take_the_lock_again(use_wait_for: bool) {
    let ready = Rc::new(Condition::new(false).named("ready"));
    let waiter = named("waiter", {
        let ready = ready.clone();
        async move {
            let guard = ready.lock().await;
            let guard = if use_wait_for {
                ready.wait_for(guard, |ready| *ready).await
            } else {
                ready.wait(guard).await
            };
            assert!(*guard);
        }
    });
    until(|| ready.waiters() == 1).await;
    let mut guard = ready.lock().await;
    *guard = true;
    ready.notify(1);
    waiter.await.unwrap(); // still holding the lock the waiter needs
    drop(guard);
}

#[test]
fn a_notified_task_stuck_retaking_the_lock_is_reported_at_its_condition_wait_line() {
    for sim in sims(identity) {
        let failure = fails_and_replays(sim, || notified_waiter_cannot_take_the_lock_again(false));
        assert_blocked_at_a_line_of_this_file(&failure, "waiter");
    }
}

#[test]
fn a_notified_task_stuck_retaking_the_lock_is_reported_at_its_condition_wait_for_line() {
    for sim in sims(identity) {
        let failure = fails_and_replays(sim, || notified_waiter_cannot_take_the_lock_again(true));
        assert_blocked_at_a_line_of_this_file(&failure, "waiter");
    }
}

#[test]
fn a_task_stuck_in_condition_lock_is_reported_at_its_lock_line() {
    for sim in sims(identity) {
        let failure = fails_and_replays(sim, || async {
            let state = Rc::new(Condition::new(0).named("state"));
            let guard = state.lock().await;
            let locker = named("locker", {
                let state = state.clone();
                async move {
                    *state.lock().await += 1;
                }
            });
            locker.await.unwrap(); // still holding the lock the locker needs
            drop(guard);
        });
        assert_blocked_at_a_line_of_this_file(&failure, "locker");
    }
}

// Correct programs that wait-cycle detection must not flag.

fn completes_with_and_without_cycle_detection<Fut: Future<Output = ()>>(program: impl Fn() -> Fut) {
    for detect in [false, true] {
        for sim in sims(|sim| sim.detect_wait_cycles(detect)) {
            let (_, result) = run_twice(sim, &program);
            if let Err(failure) = result {
                panic!("detect_wait_cycles({detect}): {failure}");
            }
        }
    }
}

#[test]
fn a_task_that_forgot_its_permit_and_waits_for_a_manual_release_is_not_a_cycle() {
    completes_with_and_without_cycle_detection(|| async {
        let manual = Rc::new(Semaphore::new(1).named("manual"));
        let releaser = named("releaser", {
            let manual = manual.clone();
            async move {
                sleep(secs(1)).await;
                manual.release(1).unwrap();
            }
        });
        let worker = named("worker", {
            let manual = manual.clone();
            async move {
                manual.acquire().await.unwrap().forget();
                // asyncio's manual acquire(): waits for the releaser's release().
                manual.acquire().await.unwrap().forget();
                now()
            }
        });
        assert_eq!(worker.await.unwrap(), secs(1));
        releaser.await.unwrap();
    });
}

/// The documented limit of wait-cycle detection: holders are the tasks that acquired
/// (a guard or permit moved to another task, which needs a `'static` primitive, is not
/// followed), so a program that moves them turns the check off.
#[test]
fn a_permit_moved_to_another_task_is_still_attributed_to_its_acquirer() {
    let program = || async {
        let slots: &'static Semaphore = Box::leak(Box::new(Semaphore::new(1).named("slots")));
        let permit = slots.acquire().await.unwrap();
        let worker = named("worker", async move {
            sleep(secs(1)).await;
            drop(permit);
        });
        let again = slots.acquire().await.unwrap();
        assert_eq!(now(), secs(1));
        drop(again);
        worker.await.unwrap();
    };
    let failure = Sim::new(0).policy(Policy::Fifo).run(program()).unwrap_err();
    assert_eq!(failure.kind.name(), "wait cycle", "{failure}");
    assert!(failure
        .to_string()
        .contains("task 0 (main) waits on Semaphore 0 (slots), held by task 0 (main)"));
    for sim in sims(|sim| sim.detect_wait_cycles(false)) {
        passes(sim, program);
    }
}

#[test]
fn a_task_racing_a_lock_against_an_event_is_not_blocked_for_good() {
    use futures::future::{select, Either};
    use seedloop::sync::Event;
    completes_with_and_without_cycle_detection(|| async {
        let m = Rc::new(Lock::new(()).named("m"));
        let l = Rc::new(Lock::new(()).named("l"));
        let stop = Rc::new(Event::new().named("stop"));
        let racer = named("racer", {
            let (m, l, stop) = (m.clone(), l.clone(), stop.clone());
            async move {
                let _m = m.lock().await;
                sleep(secs(1)).await;
                let stopped = std::pin::pin!(stop.wait());
                let locked = std::pin::pin!(l.lock());
                match select(stopped, locked).await {
                    Either::Left(_) => "stopped",
                    Either::Right(_) => "locked",
                }
            }
        });
        let other = named("other", {
            let (m, l) = (m.clone(), l.clone());
            async move {
                let _l = l.lock().await;
                sleep(secs(1)).await;
                let _m = m.lock().await;
            }
        });
        let stopper = named("stopper", {
            let stop = stop.clone();
            async move {
                sleep(secs(2)).await;
                stop.set();
            }
        });
        assert_eq!(racer.await.unwrap(), "stopped");
        other.await.unwrap();
        stopper.await.unwrap();
        assert_eq!(now(), secs(2));
    });
}

/// Starvation is about what other tasks hold: a consumer idling on an empty queue, or
/// a task waiting for an event, waits as long as the program says, and that is fine.
#[test]
fn idle_waits_on_queues_and_events_are_not_starvation() {
    use seedloop::sync::{Event, Queue};
    for sim in sims(|sim| sim.max_wait(secs(5)).max_wait_steps(50)) {
        passes(sim, || async {
            let jobs = Rc::new(Queue::<u32>::unbounded().named("jobs"));
            let go = Rc::new(Event::new().named("go"));
            let consumer = named("consumer", {
                let jobs = jobs.clone();
                async move { jobs.get().await.unwrap() }
            });
            let waiter = named("waiter", {
                let go = go.clone();
                async move { go.wait().await }
            });
            for _ in 0..100 {
                yield_now().await;
            }
            sleep(secs(60)).await;
            go.set();
            jobs.put(7).await.unwrap();
            assert_eq!(consumer.await.unwrap(), 7);
            waiter.await.unwrap();
        });
    }
}

/// A task that yields and takes a lock before it blocks is reported by its last poll,
/// the one that left it idle: its step, what it waits on and where. And a task whose
/// last poll declared nothing is not reported by what an earlier poll declared.
#[test]
fn a_deadlock_reports_each_task_by_the_poll_that_left_it_idle() {
    for sim in sims(identity) {
        let failure = fails_and_replays(sim, || async {
            let never = Rc::new(seedloop::sync::Event::new().named("never"));
            let lock = Rc::new(Lock::new(()));
            let waiter = {
                let never = Rc::clone(&never);
                let lock = Rc::clone(&lock);
                named("waiter", async move {
                    for _ in 0..3 {
                        yield_now().await;
                    }
                    let _held = lock.lock().await;
                    yield_now().await;
                    never.wait().await;
                })
            };
            let outsider = named("outsider", async move {
                // Waits on a seedloop primitive first, then on a future seedloop
                // knows nothing of: the report must not name the primitive.
                let _ = timeout(secs(1), std::future::pending::<()>()).await;
                std::future::pending::<()>().await;
            });
            let _ = (waiter.await, outsider.await);
        });
        let FailureKind::Deadlock { blocked } = &failure.kind else {
            panic!("expected a deadlock, got {failure}");
        };
        let trace = &failure.trace;
        let last_poll_of = |name: &str| {
            trace
                .events()
                .iter()
                .rev()
                .filter(|event| event.kind() == seedloop::trace::EventKind::Poll)
                .find(|event| {
                    event
                        .task()
                        .is_some_and(|task| trace.task_name(task) == Some(name))
                })
                .map(|event| event.step())
                .expect("the task ran")
        };
        let report = |name: &str| {
            blocked
                .iter()
                .find(|task| task.name.as_deref() == Some(name))
                .unwrap_or_else(|| panic!("{name} is not in {failure}"))
        };
        let waiter = report("waiter");
        assert_eq!(waiter.last_poll_step, last_poll_of("waiter"), "{failure}");
        assert!(
            waiter.waits_on.starts_with("Event ") && waiter.waits_on.contains(" (never)"),
            "{}",
            waiter.waits_on
        );
        assert!(
            waiter
                .waits_on
                .contains(", awaited at tests/sync_deadlocks.rs:"),
            "{}",
            waiter.waits_on
        );
        let outsider = report("outsider");
        assert_eq!(
            outsider.last_poll_step,
            last_poll_of("outsider"),
            "{failure}"
        );
        assert!(
            outsider
                .waits_on
                .starts_with("a future outside seedloop (last polled at step "),
            "{}",
            outsider.waits_on
        );
        assert!(
            !outsider.waits_on.contains("awaited at"),
            "{}",
            outsider.waits_on
        );
    }
}
