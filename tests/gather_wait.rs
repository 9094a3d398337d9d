//! gather, gather_settled, wait, as_completed, shield, and cancellation propagation
//! through them. Every case runs its seeds twice and compares traces.

mod common;

use common::{now, run_twice, secs, sweep};
use futures::StreamExt;
use seedloop::task::{as_completed, gather, gather_settled, shield, wait, ReturnWhen};
use seedloop::time::{sleep, timeout};
use seedloop::{JoinError, Policy, Sim};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// Counts drops of its value, and checks each drop happens inside the simulation.
struct DropCounter(Rc<Cell<u32>>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        assert!(
            seedloop::task::try_current().is_some(),
            "dropped outside the simulation"
        );
        self.0.set(self.0.get() + 1);
    }
}

#[test]
fn gather_returns_values_in_input_order_whatever_the_completion_order() {
    sweep(Policy::Random, 0..100, || async {
        let futures = [5u32, 1, 4, 2, 3].map(|yields| async move {
            for _ in 0..yields {
                seedloop::yield_now().await;
            }
            Ok::<_, ()>(yields)
        });
        assert_eq!(gather(futures).await, Ok(vec![5, 1, 4, 2, 3]));
    });
}

#[test]
fn gather_returns_the_first_error_in_virtual_time_and_cancels_the_rest() {
    sweep(Policy::Random, 0..50, || async {
        let dropped = Rc::new(Cell::new(0));
        let futures = [(3u64, false), (2, true), (1, true), (60, false)].map(|(delay, fails)| {
            let counter = DropCounter(dropped.clone());
            async move {
                let _counter = counter;
                sleep(secs(delay)).await;
                if fails {
                    Err(delay)
                } else {
                    Ok(delay)
                }
            }
        });
        // Input order would say 2; virtual time says 1.
        assert_eq!(gather(futures).await, Err(1));
        assert_eq!(now(), secs(1));
        sleep(secs(1)).await;
        assert_eq!(
            dropped.get(),
            4,
            "every task ended: one failed, three were cancelled"
        );
    });
}

#[test]
fn a_timed_out_gather_cancels_its_children() {
    sweep(Policy::Random, 0..50, || async {
        let dropped = Rc::new(Cell::new(0));
        let futures = (1..=3u64).map(|n| {
            let counter = DropCounter(dropped.clone());
            async move {
                let _counter = counter;
                sleep(secs(n * 10)).await;
                Ok::<_, ()>(n)
            }
        });
        assert!(timeout(secs(15), gather(futures)).await.is_err());
        sleep(secs(100)).await;
        assert_eq!(dropped.get(), 3);
        assert_eq!(now(), secs(115), "no child kept a timer alive");
    });
}

#[test]
fn a_gather_dropped_before_its_first_poll_spawns_nothing() {
    for policy in [Policy::Fifo, Policy::Random] {
        let sim = common::passes(
            || Sim::new(0).policy(policy.clone()),
            || async {
                let dropped = Rc::new(Cell::new(0));
                let started = Rc::new(Cell::new(false));
                let futures = (0..3).map(|_| {
                    let (counter, started) = (DropCounter(dropped.clone()), started.clone());
                    async move {
                        let _counter = counter;
                        started.set(true);
                        Ok::<_, ()>(())
                    }
                });
                drop(gather(futures));
                sleep(secs(1)).await;
                assert_eq!(dropped.get(), 3, "dropped unpolled");
                assert!(!started.get());
            },
        );
        assert_eq!(sim.stats().tasks_spawned, 0);
    }
}

#[test]
fn cancelling_the_task_awaiting_a_gather_cancels_every_child() {
    sweep(Policy::Random, 0..50, || async {
        let finished = Rc::new(Cell::new(0));
        let gatherer = seedloop::spawn({
            let finished = finished.clone();
            async move {
                let futures = (0..4).map(|_| {
                    let finished = finished.clone();
                    async move {
                        sleep(secs(10)).await;
                        finished.set(finished.get() + 1);
                        Ok::<_, ()>(())
                    }
                });
                gather(futures).await
            }
        });
        sleep(secs(1)).await;
        gatherer.cancel();
        assert_eq!(gatherer.await.unwrap_err(), JoinError::Cancelled);
        sleep(secs(20)).await;
        assert_eq!(finished.get(), 0);
    });
}

#[test]
fn gather_settled_returns_every_outcome_in_input_order() {
    sweep(Policy::Random, 0..50, || async {
        let futures = (0..6u64).map(|i| async move {
            sleep(secs(6 - i)).await;
            if i % 2 == 1 {
                Err(format!("odd {i}"))
            } else {
                Ok(i)
            }
        });
        let outcomes = gather_settled(futures).await;
        assert_eq!(
            outcomes,
            vec![
                Ok(0),
                Err("odd 1".to_string()),
                Ok(2),
                Err("odd 3".to_string()),
                Ok(4),
                Err("odd 5".to_string())
            ]
        );
        assert_eq!(now(), secs(6));
    });
}

#[test]
fn an_empty_gather_returns_at_once() {
    sweep(Policy::Fifo, 0..1, || async {
        let none: Vec<std::future::Ready<Result<u8, ()>>> = Vec::new();
        assert_eq!(gather(none).await, Ok(vec![]));
        let none: Vec<std::future::Ready<Result<u8, ()>>> = Vec::new();
        assert!(gather_settled(none).await.is_empty());
    });
}

fn sleepers(delays: &[u64]) -> Vec<seedloop::JoinHandle<u64>> {
    delays
        .iter()
        .map(|&delay| {
            seedloop::spawn(async move {
                sleep(secs(delay)).await;
                delay
            })
        })
        .collect()
}

#[test]
fn wait_first_completed_returns_when_one_task_ends_and_cancels_nothing() {
    sweep(Policy::Random, 0..50, || async {
        let (done, pending) = wait(sleepers(&[3, 1, 2]), ReturnWhen::FirstCompleted).await;
        assert_eq!(now(), secs(1));
        assert_eq!(done.len(), 1);
        assert_eq!(pending.len(), 2);
        for handle in done {
            assert_eq!(handle.await, Ok(1));
        }
        let mut rest = Vec::new();
        for handle in pending {
            rest.push(handle.await.unwrap());
        }
        assert_eq!(
            rest,
            [3, 2],
            "pending handles keep input order and still run"
        );
    });
}

#[test]
fn wait_all_completed_with_a_timeout_returns_what_ended_by_then() {
    sweep(Policy::Random, 0..50, || async {
        let (done, pending) = wait(sleepers(&[1, 5, 2, 9]), ReturnWhen::AllCompleted)
            .timeout(secs(3))
            .await;
        assert_eq!(now(), secs(3));
        let mut done_values = Vec::new();
        for handle in done {
            done_values.push(handle.await.unwrap());
        }
        assert_eq!(done_values, [1, 2]);
        assert_eq!(pending.len(), 2);
        let (done, pending) = wait(pending, ReturnWhen::AllCompleted).await;
        assert_eq!((done.len(), pending.len()), (2, 0));
        assert_eq!(now(), secs(9));
    });
}

#[test]
fn wait_first_exception_returns_at_the_first_caught_panic_or_else_when_all_end() {
    // Panics are caught here on purpose, so that an awaiter can see them.
    for seed in 0..30 {
        let (_, result) = run_twice(
            || Sim::new(seed).continue_on_panic(true),
            || async {
                let mut handles = sleepers(&[1, 10]);
                handles.push(seedloop::spawn(async {
                    sleep(secs(2)).await;
                    panic!("worker crashed")
                }));
                let (done, pending) = wait(handles, ReturnWhen::FirstException).await;
                assert_eq!(now(), secs(2));
                assert_eq!((done.len(), pending.len()), (2, 1));
                // Without an exception, FirstException waits for everything.
                let (done, pending) = wait(sleepers(&[1, 3]), ReturnWhen::FirstException).await;
                assert_eq!((done.len(), pending.len()), (2, 0));
            },
        );
        result.unwrap();
    }
}

#[test]
fn wait_on_no_handles_returns_at_once() {
    sweep(Policy::Fifo, 0..1, || async {
        let (done, pending) = wait(
            Vec::<seedloop::JoinHandle<()>>::new(),
            ReturnWhen::AllCompleted,
        )
        .await;
        assert!(done.is_empty() && pending.is_empty());
        assert_eq!(now(), secs(0));
    });
}

#[test]
fn as_completed_yields_in_the_order_tasks_complete_in_the_trace() {
    for seed in 0..100 {
        let (sim, result) = run_twice(
            || Sim::new(seed),
            || async {
                let handles: Vec<_> = (0..5u32)
                    .map(|i| {
                        seedloop::spawn(async move {
                            for _ in 0..(i * 7 % 5) {
                                seedloop::yield_now().await;
                            }
                            seedloop::task::current().id()
                        })
                    })
                    .collect();
                as_completed(handles)
                    .map(|result| result.unwrap())
                    .collect::<Vec<_>>()
                    .await
            },
        );
        let yielded = result.unwrap();
        let completed: Vec<_> = sim
            .trace()
            .events()
            .iter()
            .filter(|event| event.kind() == seedloop::trace::EventKind::Complete)
            .filter_map(|event| event.task())
            .filter(|task| yielded.contains(task))
            .collect();
        assert_eq!(yielded, completed, "seed {seed}");
    }
}

#[test]
fn as_completed_hands_back_the_tasks_not_yet_yielded() {
    sweep(Policy::Random, 0..30, || async {
        let mut stream = as_completed(sleepers(&[4, 1, 3]));
        assert_eq!(stream.next().await, Some(Ok(1)));
        let pending = stream.into_pending();
        assert_eq!(pending.len(), 2);
        let mut rest = Vec::new();
        for handle in pending {
            rest.push(handle.await.unwrap());
        }
        assert_eq!(rest, [4, 3]);
    });
}

#[test]
fn dropping_an_unfinished_wait_cancels_nothing() {
    sweep(Policy::Random, 0..30, || async {
        let finished = Rc::new(Cell::new(0));
        let handles: Vec<_> = (1..=3u64)
            .map(|n| {
                let finished = finished.clone();
                seedloop::spawn(async move {
                    sleep(secs(n * 10)).await;
                    finished.set(finished.get() + 1);
                })
            })
            .collect();
        let waiting = wait(handles, ReturnWhen::AllCompleted);
        assert!(timeout(secs(15), waiting).await.is_err());
        sleep(secs(100)).await;
        assert_eq!(finished.get(), 3, "every task ran to its end, detached");
    });
}

#[test]
fn dropping_an_as_completed_stream_cancels_nothing() {
    sweep(Policy::Random, 0..30, || async {
        let finished = Rc::new(Cell::new(0));
        let handles: Vec<_> = (1..=3u64)
            .map(|n| {
                let finished = finished.clone();
                seedloop::spawn(async move {
                    sleep(secs(n * 10)).await;
                    finished.set(finished.get() + 1);
                })
            })
            .collect();
        let mut stream = as_completed(handles);
        assert_eq!(stream.next().await, Some(Ok(())));
        drop(stream);
        sleep(secs(100)).await;
        assert_eq!(finished.get(), 3, "the two not yet yielded ran on");
    });
}

#[test]
fn a_dropped_next_on_as_completed_loses_no_result() {
    sweep(Policy::Random, 0..30, || async {
        let mut stream = as_completed(sleepers(&[20, 12]));
        assert!(timeout(secs(5), stream.next()).await.is_err());
        assert!(timeout(secs(5), stream.next()).await.is_err());
        let mut results = Vec::new();
        while let Some(result) = stream.next().await {
            results.push(result.unwrap());
        }
        assert_eq!(results, [12, 20]);
    });
}

#[test]
fn a_timed_out_await_on_a_handle_cancels_the_task() {
    sweep(Policy::Random, 0..30, || async {
        let finished = Rc::new(Cell::new(false));
        let task = seedloop::spawn({
            let finished = finished.clone();
            async move {
                sleep(secs(5)).await;
                finished.set(true);
            }
        });
        assert!(timeout(secs(1), task).await.is_err());
        sleep(secs(10)).await;
        assert!(!finished.get(), "the abandoned await cancelled the task");
    });
}

#[test]
fn shield_keeps_the_task_running_when_its_awaiter_is_cancelled() {
    sweep(Policy::Random, 0..50, || async {
        let result = Rc::new(RefCell::new(None));
        let inner_done = Rc::new(Cell::new(false));
        let inner = seedloop::spawn({
            let inner_done = inner_done.clone();
            async move {
                sleep(secs(5)).await;
                inner_done.set(true);
                42
            }
        });
        let awaiter = seedloop::spawn({
            let result = result.clone();
            async move {
                *result.borrow_mut() = Some(shield(inner).await);
            }
        });
        sleep(secs(1)).await;
        assert!(awaiter.cancel());
        assert_eq!(awaiter.await, Err(JoinError::Cancelled));
        sleep(secs(10)).await;
        assert!(result.borrow().is_none(), "the awaiter was cancelled");
        assert!(inner_done.get(), "the shielded task ran to completion");
    });
    // The inner task's completion is visible in the trace.
    let mut sim = Sim::new(3);
    sim.run(async {
        let inner = seedloop::spawn(async {
            sleep(secs(5)).await;
            42
        });
        let inner_id = inner.id();
        let _ = timeout(secs(1), shield(inner)).await;
        sleep(secs(10)).await;
        inner_id
    })
    .map(|inner_id| {
        let completed = sim.trace().events().iter().any(|event| {
            event.kind() == seedloop::trace::EventKind::Complete && event.task() == Some(inner_id)
        });
        assert!(completed, "the shielded task ran to completion");
    })
    .unwrap();
}

#[test]
fn without_shield_the_same_cancellation_reaches_the_task() {
    let mut sim = Sim::new(3);
    let inner_id = sim
        .run(async {
            let inner = seedloop::spawn(async {
                sleep(secs(5)).await;
                42
            });
            let inner_id = inner.id();
            let _ = timeout(secs(1), inner).await;
            sleep(secs(10)).await;
            inner_id
        })
        .unwrap();
    let cancelled = sim.trace().events().iter().any(|event| {
        event.kind() == seedloop::trace::EventKind::Cancelled && event.task() == Some(inner_id)
    });
    assert!(cancelled);
}
