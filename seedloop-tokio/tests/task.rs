//! `tokio::task` under the facade: tokio's rules, on a replayable simulation.

use seedloop::Policy;
use seedloop_tokio as tokio;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

mod common;

use common::run_twice;

#[test]
fn join_set_returns_outputs_in_the_order_tasks_end() {
    for policy in [Policy::Fifo, Policy::Random] {
        let order = run_twice(3, policy, || async {
            let mut set = tokio::task::JoinSet::new();
            for millis in [30u64, 10, 20] {
                set.spawn(async move {
                    tokio::time::sleep(Duration::from_millis(millis)).await;
                    millis
                });
            }
            assert_eq!(set.len(), 3);
            let mut order = Vec::new();
            while let Some(result) = set.join_next().await {
                order.push(result.unwrap());
            }
            assert!(set.is_empty());
            order
        });
        assert_eq!(order, [10, 20, 30]);
    }
}

#[test]
fn join_set_reports_aborted_and_panicked_tasks_and_aborts_on_drop() {
    run_twice(1, Policy::Random, || async {
        let mut set = tokio::task::JoinSet::new();
        let stuck = set.spawn(std::future::pending::<u32>());
        set.spawn(async { panic!("boom") });
        stuck.abort();
        let mut cancelled = 0;
        let mut panicked = 0;
        while let Some(result) = set.join_next().await {
            let error = result.unwrap_err();
            cancelled += usize::from(error.is_cancelled());
            if error.is_panic() {
                panicked += 1;
                let payload = error.into_panic();
                assert_eq!(payload.downcast_ref::<String>().unwrap(), "boom");
            }
        }
        assert_eq!((cancelled, panicked), (1, 1));

        let flag = Rc::new(RefCell::new(false));
        let mut dropped = tokio::task::JoinSet::new();
        let seen = flag.clone();
        dropped.spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            *seen.borrow_mut() = true;
        });
        drop(dropped);
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(!*flag.borrow(), "dropping a JoinSet aborts its tasks");
    });
}

#[test]
fn dropping_a_join_handle_detaches_the_task_even_mid_await() {
    run_twice(2, Policy::Random, || async {
        let done = Rc::new(RefCell::new(false));
        let flag = done.clone();
        let handle = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(5)).await;
            *flag.borrow_mut() = true;
        });
        // A timeout polls the handle, then drops it: tokio detaches, never cancels.
        assert!(tokio::time::timeout(Duration::from_secs(1), handle)
            .await
            .is_err());
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert!(*done.borrow());
    });
}

#[test]
fn abort_cancels_and_a_panic_is_returned_not_raised() {
    run_twice(4, Policy::Random, || async {
        let sleeper = tokio::spawn(tokio::time::sleep(Duration::from_secs(60)));
        sleeper.abort();
        let error = sleeper.await.unwrap_err();
        assert!(error.is_cancelled());
        assert!(error.to_string().contains("was cancelled"), "{error}");

        let panicking = tokio::spawn(async { panic!("inside a task") });
        let error = panicking.await.unwrap_err();
        assert!(error.is_panic());
        assert!(error.to_string().contains("inside a task"), "{error}");

        let finished = tokio::spawn(async { 5 });
        while !finished.is_finished() {
            tokio::task::yield_now().await;
        }
        assert_eq!(finished.await.unwrap(), 5);
    });
}

#[test]
fn spawn_blocking_and_task_locals_work() {
    tokio::task_local! {
        static REQUEST: u32;
    }
    run_twice(5, Policy::Random, || async {
        let started = tokio::time::Instant::now();
        let sum = tokio::task::spawn_blocking(|| (1..=10u32).sum::<u32>())
            .await
            .unwrap();
        assert_eq!(sum, 55);
        assert!(started.elapsed() >= seedloop::task::MIN_BLOCKING_DURATION);
        let seen = REQUEST
            .scope(7, async {
                tokio::task::yield_now().await;
                REQUEST.get()
            })
            .await;
        assert_eq!(seen, 7);
    });
}

#[test]
fn a_tokio_mutex_and_channels_work_inside_the_simulation() {
    let total = run_twice(6, Policy::Random, || async {
        let counter = Rc::new(tokio::sync::Mutex::new(0u32));
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<u32>(4);
        let mut workers = Vec::new();
        for worker in 0..4u32 {
            let counter = counter.clone();
            let sender = sender.clone();
            workers.push(tokio::spawn(async move {
                let mut guard = counter.lock().await;
                tokio::task::yield_now().await;
                *guard += 1;
                sender.send(worker).await.unwrap();
            }));
        }
        drop(sender);
        let mut received = 0;
        while receiver.recv().await.is_some() {
            received += 1;
        }
        for worker in workers {
            worker.await.unwrap();
        }
        let total = *counter.lock().await + received;
        total
    });
    assert_eq!(total, 8);
}
