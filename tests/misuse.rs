//! Misuse gets a clear message, never a hang or a corrupted simulation.

mod common;

use seedloop::harness::env::EnvConfig;
use seedloop::{Policy, Sim};
use std::panic::catch_unwind;
use std::task::Waker;
use std::time::Duration;

fn panic_message(result: std::thread::Result<impl Sized>) -> String {
    match result {
        Ok(_) => panic!("expected a panic"),
        Err(payload) => common::payload_message(&*payload),
    }
}

#[test]
fn spawn_outside_a_sim_panics_naming_the_fix() {
    let message = panic_message(catch_unwind(|| seedloop::spawn(async {})));
    assert!(
        message.contains("seedloop::spawn called outside a Sim"),
        "{message}"
    );
    assert!(message.contains("Sim::new(seed).run"), "{message}");
}

#[test]
fn time_and_tasks_outside_a_sim_panic_instead_of_hanging() {
    let message = panic_message(catch_unwind(seedloop::time::Instant::now));
    assert!(message.contains("called outside a Sim"), "{message}");
    let message = panic_message(catch_unwind(seedloop::task::current));
    assert!(message.contains("called outside a Sim"), "{message}");
    assert!(seedloop::task::try_current().is_none());
    let message = panic_message(catch_unwind(|| {
        futures::executor::block_on(seedloop::time::sleep(Duration::from_secs(1)))
    }));
    assert!(
        message.contains("seedloop::time::sleep called outside a Sim"),
        "{message}"
    );
    let message = panic_message(catch_unwind(|| {
        futures::executor::block_on(seedloop::yield_now())
    }));
    assert!(
        message.contains("seedloop::yield_now called outside a Sim"),
        "{message}"
    );
    let message = panic_message(catch_unwind(|| seedloop::rand::random::<u64>()));
    assert!(
        message.contains("seedloop::rand called outside a Sim"),
        "{message}"
    );
}

#[test]
fn a_nested_run_panics_with_a_clear_message() {
    let failure = Sim::new(0)
        .run(async {
            let mut inner = Sim::new(1);
            let _ = inner.run(async {});
        })
        .unwrap_err();
    let report = failure.to_string();
    assert!(report.contains("simulations do not nest"), "{report}");
    // The outer simulation survived the misuse: a new run works.
    assert_eq!(Sim::new(2).run(async { 5 }).unwrap(), 5);
}

#[test]
fn a_bad_seedloop_policy_is_a_clear_error() {
    for bad in ["lifo", "pct", "pct:0", "pct:x", ""] {
        let error = EnvConfig::parse([("SEEDLOOP_POLICY", bad)]).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("SEEDLOOP_POLICY"), "{message}");
        assert!(
            message.contains("random")
                && message.contains("fifo")
                && message.contains("pct:<depth>"),
            "{message}"
        );
    }
    assert!("bogus"
        .parse::<Policy>()
        .unwrap_err()
        .to_string()
        .contains("pct:<depth>"));
}

#[test]
fn other_bad_environment_values_name_their_variable() {
    for (name, value) in [
        ("SEEDLOOP_SEED", "-1"),
        ("SEEDLOOP_SEEDS", "many"),
        ("SEEDLOOP_CHECK_DETERMINISM", "maybe"),
        ("SEEDLOOP_PCT_HORIZON", "0"),
    ] {
        let error = EnvConfig::parse([(name, value)]).unwrap_err();
        assert_eq!(error.variable(), name);
        assert!(
            error.to_string().starts_with(&format!("{name}=")),
            "{error}"
        );
    }
    let config = EnvConfig::parse([("SEEDLOOP_SEDE", "1"), ("PATH", "/bin")]).unwrap();
    assert_eq!(config.unknown, ["SEEDLOOP_SEDE"]);
}

#[test]
fn a_pct_depth_of_zero_is_rejected_at_configuration() {
    let message = panic_message(catch_unwind(|| {
        Sim::new(0).policy(Policy::Pct { depth: 0 })
    }));
    assert!(message.contains("must be at least 1"), "{message}");
}

/// Captures the current task's waker.
async fn own_waker() -> Waker {
    std::future::poll_fn(|cx| std::task::Poll::Ready(cx.waker().clone())).await
}

#[test]
fn a_waker_that_outlives_its_run_is_a_no_op() {
    let mut sim = Sim::new(0);
    let waker = sim.run(own_waker()).unwrap();
    waker.wake_by_ref();
    // From another thread too: the run is over, so nothing happens.
    std::thread::spawn(move || waker.wake()).join().unwrap();
    // A later run of the same Sim is not disturbed by the stale waker.
    let stale = sim.run(own_waker()).unwrap();
    let program = |stale: Option<Waker>| async move {
        let task = seedloop::spawn(std::future::pending::<()>());
        if let Some(stale) = stale {
            // Same slot and generation as the task above, but an earlier run.
            stale.wake();
        }
        seedloop::yield_now().await;
        task.cancel();
    };
    sim.run(program(Some(stale))).unwrap();
    let mut clean = Sim::new(0);
    clean.run(own_waker()).unwrap();
    clean.run(program(None)).unwrap();
    assert_eq!(sim.trace().to_string(), clean.trace().to_string());
}

#[test]
fn a_waker_of_a_task_left_running_when_its_run_ended_wakes_nothing_later() {
    // The task is still alive (and dropped) when its run ends; the next run's task
    // in the same slot must not answer to its waker.
    let program = |stale: Option<Waker>| async move {
        let parked: std::rc::Rc<std::cell::RefCell<Option<Waker>>> = Default::default();
        let keep = parked.clone();
        let task = seedloop::spawn(async move {
            std::future::poll_fn(|cx| {
                *keep.borrow_mut() = Some(cx.waker().clone());
                std::task::Poll::<()>::Pending
            })
            .await
        });
        seedloop::yield_now().await;
        if let Some(stale) = stale {
            stale.wake();
        }
        seedloop::yield_now().await;
        task.detach();
        let waker = parked.borrow_mut().take();
        waker
    };
    // FIFO: the task parks during main's first yield.
    let mut sim = Sim::new(0).policy(Policy::Fifo);
    let stale = sim.run(program(None)).unwrap().expect("the task parked");
    let again = sim.run(program(Some(stale))).unwrap();
    let mut clean = Sim::new(0).policy(Policy::Fifo);
    clean.run(program(None)).unwrap();
    clean.run(program(None)).unwrap();
    assert_eq!(sim.trace().to_string(), clean.trace().to_string());
    assert!(again.is_some());
}

#[test]
fn a_waker_from_a_thread_that_ended_wakes_nothing_in_a_later_threads_run() {
    // A thread's wakers name its domain; when the thread ends, a later thread may take
    // the same domain, and its tasks must not answer to the old wakers (the slot
    // generations go with the domain).
    let program = |stale: Option<Waker>| async move {
        let task = seedloop::spawn(std::future::pending::<()>());
        seedloop::yield_now().await;
        if let Some(stale) = stale {
            stale.wake();
        }
        seedloop::yield_now().await;
        task.cancel();
    };
    let stale = std::thread::spawn(|| {
        let parked: std::sync::Arc<std::sync::Mutex<Option<Waker>>> = Default::default();
        let keep = parked.clone();
        Sim::new(0)
            .policy(Policy::Fifo)
            .run(async move {
                let task = seedloop::spawn(std::future::poll_fn(move |cx| {
                    *keep.lock().unwrap() = Some(cx.waker().clone());
                    std::task::Poll::<()>::Pending
                }));
                seedloop::yield_now().await;
                task.cancel();
            })
            .unwrap();
        let waker = parked.lock().unwrap().take();
        waker.expect("the task parked")
    })
    .join()
    .unwrap();
    let traces: Vec<String> = [Some(stale), None]
        .into_iter()
        .map(|stale| {
            std::thread::spawn(move || {
                let mut sim = Sim::new(0).policy(Policy::Fifo);
                sim.run(program(stale)).unwrap();
                sim.trace().to_string()
            })
            .join()
            .unwrap()
        })
        .collect();
    assert_eq!(traces[0], traces[1]);
}

#[test]
fn a_task_limit_past_what_wakers_can_name_is_refused_at_configuration() {
    let message = panic_message(catch_unwind(|| {
        Sim::new(0).max_tasks(seedloop::MAX_TASKS + 1)
    }));
    assert!(message.contains("over the limit"), "{message}");
    // The limit itself is accepted.
    let _ = Sim::new(0).max_tasks(seedloop::MAX_TASKS);
}

#[test]
fn waking_from_another_thread_during_a_run_panics_in_that_thread_only() {
    let result = Sim::new(0).run(async {
        let waker = own_waker().await;
        let message = panic_message(std::thread::spawn(move || waker.wake()).join());
        assert!(message.contains("woken from another thread"), "{message}");
        seedloop::yield_now().await;
        "the simulation carried on"
    });
    assert_eq!(result.unwrap(), "the simulation carried on");
}

#[test]
fn spawning_past_the_task_limit_fails_with_a_message_naming_the_knob() {
    let failure = Sim::new(0)
        .max_tasks(3)
        .run(async {
            let handles: Vec<_> = (0..4)
                .map(|_| seedloop::spawn(std::future::pending::<()>()))
                .collect();
            drop(handles);
        })
        .unwrap_err();
    assert!(failure.to_string().contains("Sim::max_tasks"), "{failure}");
}

#[test]
fn a_join_handle_from_an_ended_run_reports_cancelled() {
    let mut sim = Sim::new(0);
    let handle = sim
        .run(async { Some(seedloop::spawn(std::future::pending::<()>())) })
        .unwrap()
        .expect("a handle");
    assert!(handle.is_finished());
    assert!(!handle.cancel());
    assert_eq!(
        futures::executor::block_on(handle),
        Err(seedloop::JoinError::Cancelled)
    );
}

#[test]
fn a_program_at_the_task_limit_finishes() {
    // The step limit leaves room for a program at the task limit: spawning and joining
    // DEFAULT_MAX_TASKS tasks takes about two steps per task.
    let program = || async {
        let handles: Vec<_> = (0..seedloop::DEFAULT_MAX_TASKS)
            .map(|index| seedloop::spawn(async move { index }))
            .collect();
        let mut sum = 0;
        for handle in handles {
            sum += handle.await.unwrap();
        }
        sum
    };
    let (sim, result) = common::run_twice(|| Sim::new(7), program);
    let tasks = seedloop::DEFAULT_MAX_TASKS;
    let sum = result.unwrap_or_else(|failure| panic!("{failure}"));
    assert_eq!(sum, tasks * (tasks - 1) / 2);
    assert_eq!(sim.stats().tasks_spawned, tasks as u64);
    assert!(sim.stats().steps <= seedloop::DEFAULT_MAX_STEPS);
}
