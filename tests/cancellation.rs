//! Cancellation: a cancelled task's future is dropped at its await point, inside the
//! simulation, and everyone who waits on it learns it was cancelled.

mod common;

use seedloop::time::{sleep, timeout, Instant};
use seedloop::{JoinError, Policy, Sim};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

/// Records, when dropped, the virtual time and whether a task could be spawned.
struct CleanupProbe {
    log: Rc<RefCell<Vec<String>>>,
}

impl Drop for CleanupProbe {
    fn drop(&mut self) {
        let now = Instant::now().elapsed_since_epoch();
        let current = seedloop::task::current();
        // Spawning from Drop works because the drop happens inside the simulation.
        let _detached = seedloop::spawn(async {});
        self.log
            .borrow_mut()
            .push(format!("dropped at {now:?} as {}", current.id()));
    }
}

#[test]
fn a_cancelled_tasks_drop_runs_inside_the_simulation() {
    let program = || async {
        let log = Rc::new(RefCell::new(Vec::new()));
        let probe_log = log.clone();
        let task = seedloop::spawn(async move {
            let _probe = CleanupProbe { log: probe_log };
            sleep(Duration::from_secs(100)).await;
            unreachable!("cancelled before the sleep ends");
        });
        sleep(Duration::from_secs(2)).await;
        assert!(task.cancel());
        assert_eq!(task.await, Err(JoinError::Cancelled));
        let log = log.borrow().clone();
        log
    };
    for seed in 0..20 {
        let (_, log) = common::run_twice(|| Sim::new(seed), program);
        assert_eq!(log.unwrap(), ["dropped at 2s as task 1"]);
    }
}

#[test]
fn cancel_on_a_finished_task_returns_false_and_changes_nothing() {
    let program = || async {
        let task = seedloop::spawn(async { 7 });
        sleep(Duration::from_millis(1)).await;
        assert!(task.is_finished());
        let cancelled = task.cancel();
        (cancelled, task.await)
    };
    for seed in 0..20 {
        let (_, outcome) = common::run_twice(|| Sim::new(seed), program);
        assert_eq!(outcome.unwrap(), (false, Ok(7)));
    }
}

#[test]
fn awaiting_a_cancelled_task_gives_cancelled() {
    let program = || async {
        let task = seedloop::spawn(std::future::pending::<u32>());
        let cancelled = task.cancel();
        (cancelled, task.await)
    };
    let (sim, outcome) = common::run_twice(|| Sim::new(1), program);
    assert_eq!(outcome.unwrap(), (true, Err(JoinError::Cancelled)));
    let trace = sim.trace().to_string();
    assert!(
        trace.contains("cancel requested by task 0 (main)"),
        "{trace}"
    );
    assert!(trace.contains("task 1               cancelled"), "{trace}");
}

#[test]
fn a_task_cancelled_before_its_first_poll_never_runs() {
    let program = || async {
        let ran = Rc::new(Cell::new(false));
        let flag = ran.clone();
        let task = seedloop::spawn(async move { flag.set(true) });
        task.cancel();
        let result = task.await;
        (ran.get(), result)
    };
    for seed in 0..20 {
        let (_, outcome) = common::run_twice(|| Sim::new(seed), program);
        assert_eq!(outcome.unwrap(), (false, Err(JoinError::Cancelled)));
    }
}

#[test]
fn a_task_that_cancels_itself_stops_at_its_next_await() {
    let program = || async {
        let steps = Rc::new(RefCell::new(Vec::new()));
        let own_handle: Rc<RefCell<Option<seedloop::JoinHandle<()>>>> = Rc::default();
        let (log, slot) = (steps.clone(), own_handle.clone());
        let task = seedloop::spawn(async move {
            seedloop::yield_now().await;
            let handle = slot.borrow_mut().take().expect("handle stored");
            log.borrow_mut().push("before cancel");
            assert!(handle.cancel());
            log.borrow_mut().push("after cancel, same poll");
            seedloop::yield_now().await;
            log.borrow_mut().push("never");
        });
        let watcher = seedloop::spawn(async {});
        *own_handle.borrow_mut() = Some(task);
        watcher.await.unwrap();
        sleep(Duration::from_secs(1)).await;
        let steps = steps.borrow().clone();
        steps
    };
    for seed in 0..20 {
        let (_, steps) = common::run_twice(|| Sim::new(seed), program);
        assert_eq!(steps.unwrap(), ["before cancel", "after cancel, same poll"]);
    }
}

#[test]
fn dropping_an_awaited_handle_cancels_the_task() {
    let program = || async {
        let finished = Rc::new(Cell::new(false));
        let flag = finished.clone();
        let worker = seedloop::spawn(async move {
            sleep(Duration::from_secs(10)).await;
            flag.set(true);
        });
        // The awaiter gives up after 1 s: the handle it was awaiting is dropped.
        let gave_up = timeout(Duration::from_secs(1), worker).await.is_err();
        sleep(Duration::from_secs(20)).await;
        (gave_up, finished.get())
    };
    for seed in 0..20 {
        let (_, outcome) = common::run_twice(|| Sim::new(seed), program);
        assert_eq!(
            outcome.unwrap(),
            (true, false),
            "the abandoned task must be cancelled"
        );
    }
}

#[test]
fn dropping_a_never_polled_handle_detaches_the_task() {
    let program = || async {
        let finished = Rc::new(Cell::new(false));
        let flag = finished.clone();
        drop(seedloop::spawn(async move {
            sleep(Duration::from_secs(10)).await;
            flag.set(true);
        }));
        sleep(Duration::from_secs(20)).await;
        finished.get()
    };
    for seed in 0..20 {
        let (_, finished) = common::run_twice(|| Sim::new(seed), program);
        assert!(finished.unwrap(), "a detached task keeps running");
    }
}

#[test]
fn tasks_pending_at_the_end_of_a_run_are_dropped_in_id_order_and_counted_as_leaked() {
    let program = || async {
        let order = Rc::new(RefCell::new(Vec::new()));
        let mut handles = Vec::new();
        for index in 0..4 {
            let order = order.clone();
            struct Probe(u32, Rc<RefCell<Vec<u32>>>);
            impl Drop for Probe {
                fn drop(&mut self) {
                    self.1.borrow_mut().push(self.0);
                }
            }
            // Captured by the future, so dropped with it even if it never ran.
            let probe = Probe(index, order);
            handles.push(seedloop::spawn(async move {
                let _probe = probe;
                std::future::pending::<()>().await;
            }));
        }
        seedloop::yield_now().await;
        (order, handles)
    };
    for seed in 0..10 {
        let mut sim = Sim::new(seed);
        let (order, handles) = sim.run(program()).unwrap();
        assert_eq!(*order.borrow(), [0, 1, 2, 3]);
        assert_eq!(sim.stats().leaked, 4);
        for handle in &handles {
            assert!(handle.is_finished());
            assert!(!handle.cancel(), "a leaked task is over");
        }
        let mut again = Sim::new(seed);
        again.run(program()).unwrap();
        assert_eq!(again.trace().to_string(), sim.trace().to_string());
    }
}

#[test]
fn cancellation_is_a_scheduled_step_under_every_policy() {
    for policy in [Policy::Random, Policy::Fifo, Policy::Pct { depth: 2 }] {
        for seed in 0..10 {
            let (sim, outcome) = common::run_twice(
                || Sim::new(seed).policy(policy.clone()),
                || async {
                    let task = seedloop::spawn(std::future::pending::<()>());
                    seedloop::yield_now().await;
                    task.cancel();
                    task.await
                },
            );
            assert_eq!(outcome.unwrap(), Err(JoinError::Cancelled));
            assert_eq!(sim.stats().leaked, 0);
        }
    }
}

/// Wakes its own task when dropped.
struct WakeOwnTaskOnDrop(Option<std::task::Waker>);

impl Drop for WakeOwnTaskOnDrop {
    fn drop(&mut self) {
        if let Some(waker) = self.0.take() {
            waker.wake();
        }
    }
}

#[test]
fn a_cancelled_task_waking_itself_in_drop_disturbs_no_other_task() {
    let program = || async {
        let victim = seedloop::spawn(async {
            let waker = std::future::poll_fn(|cx| std::task::Poll::Ready(cx.waker().clone())).await;
            let _guard = WakeOwnTaskOnDrop(Some(waker));
            std::future::pending::<()>().await;
        });
        let bystander = seedloop::spawn(async {
            sleep(Duration::from_secs(1)).await;
        });
        seedloop::yield_now().await;
        victim.cancel();
        let _ = victim.await;
        bystander.await.unwrap();
    };
    for seed in 0..20 {
        let (sim, result) = common::run_twice(|| Sim::new(seed), program);
        result.unwrap();
        // The bystander is polled exactly twice: once to start its sleep, once when
        // the timer fires; a stray self-wake would add a poll.
        let bystander_polls = sim
            .trace()
            .events()
            .iter()
            .filter(|event| {
                event.kind() == seedloop::trace::EventKind::Poll
                    && event.task() == Some(seedloop::task::TaskId::new(2))
            })
            .count();
        assert_eq!(bystander_polls, 2, "seed {seed}");
    }
}
