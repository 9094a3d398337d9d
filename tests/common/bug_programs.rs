//! Programs with known concurrency bugs, shared by the PCT and portfolio tests and the
//! bug-finding bench (`benches/bug_finding.rs` includes this file). Each one passes
//! under some schedules and fails under others; [`ALL`] lists them with a short
//! description for the bench's table. They were written to be small and ordinary,
//! not to favour a policy: some fail in the production order, some need one task held
//! back for a long time, one needs two nested preemptions.

use seedloop::sync::{Condition, Lock, Queue};
use seedloop::task::TaskGroup;
use seedloop::{spawn, yield_now};
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

/// A program of the bench: its name in the table, what its bug is, and the program.
pub struct BugProgram {
    pub name: &'static str,
    pub bug: &'static str,
    pub run: fn() -> Pin<Box<dyn Future<Output = ()>>>,
}

macro_rules! program {
    ($name:literal, $bug:literal, $function:expr) => {
        BugProgram {
            name: $name,
            bug: $bug,
            run: || Box::pin($function),
        }
    };
}

/// Every program, in the bench's order.
pub const ALL: [BugProgram; 11] = [
    program!(
        "lost update",
        "2 tasks x 3 read-yield-write of a counter",
        lost_update()
    ),
    program!(
        "check-then-act",
        "2 withdrawals check the balance, audit, then debit",
        check_then_act()
    ),
    program!(
        "lock-order deadlock",
        "2 tasks take 2 locks in opposite orders",
        lock_order_deadlock()
    ),
    program!(
        "lost wakeup",
        "a consumer checks, then waits; the notify came between",
        lost_wakeup()
    ),
    program!(
        "ordering, 2 steps",
        "a checker sees a 2-step update half done",
        worker_preempted_mid_update(2)
    ),
    program!(
        "deep ordering",
        "the update must stay half done for 20 steps",
        worker_preempted_mid_update(20)
    ),
    program!(
        "nested preemption",
        "6 tasks; A and B both preempted mid-update, B resumes first",
        nested_preemption()
    ),
    program!(
        "timer tie",
        "a lease's expiry and renewal are due at the same instant",
        timer_tie()
    ),
    program!(
        "cancel at inner await",
        "a task cancelled between setting and clearing a flag",
        cancel_at_inner_await()
    ),
    program!(
        "swallowed group error",
        "a task group fails and its error is ignored",
        swallowed_group_error()
    ),
    program!(
        "queue item lost on cancel",
        "a consumer cancelled while it holds a dequeued item",
        queue_item_lost_on_cancel()
    ),
];

/// The programs that need nothing but tasks and yields, written once for every
/// runtime that runs them: seedloop here, and shuttle in the bug-finding bench (the
/// same tasks and the same steps, so the bench compares the tools on one program).
/// `$spawn` spawns a task and returns a handle that can be awaited for a `Result` and
/// cancelled with `$cancel`.
macro_rules! yield_only_programs {
    ($vis:vis, $spawn:path, $yield_now:path, $cancel:ident) => {
        #[derive(Clone, Copy, PartialEq, Debug)]
        enum State {
            Idle,
            Busy,
            Done,
        }

        /// A depth-2 ordering bug: the checker must run after the worker's first step and
        /// before its second. The checker first yields `checker_steps` times, so in the FIFO
        /// order it always runs after the worker has finished; with many steps, a uniform
        /// random pick almost never holds the worker back that long, while one PCT change
        /// point right after the worker's first step does.
        $vis async fn worker_preempted_mid_update(checker_steps: usize) {
            let state = Rc::new(Cell::new(State::Idle));
            let worker_state = state.clone();
            let worker = $spawn(async move {
                worker_state.set(State::Busy);
                $yield_now().await;
                worker_state.set(State::Done);
            });
            let checker = $spawn(async move {
                for _ in 0..checker_steps {
                    $yield_now().await;
                }
                assert_ne!(state.get(), State::Busy, "observed the worker mid-update");
            });
            worker.await.unwrap();
            checker.await.unwrap();
        }

        /// A lost update between two tasks that read, yield, then write, three times each
        /// (tasks that only yield, never block).
        $vis async fn lost_update() {
            let counter = Rc::new(Cell::new(0));
            let handles: Vec<_> = (0..2)
                .map(|_| {
                    let counter = counter.clone();
                    $spawn(async move {
                        for _ in 0..3 {
                            let read = counter.get();
                            $yield_now().await;
                            counter.set(read + 1);
                        }
                    })
                })
                .collect();
            for handle in handles {
                handle.await.unwrap();
            }
            assert_eq!(counter.get(), 6, "lost update");
        }

        /// Check-then-act: each withdrawal validates its request (one task takes longer),
        /// checks the balance, writes an audit record, then debits. Both overdraw the account
        /// when the second check runs before the first debit. In the production order the
        /// slower validation puts the second check after the first debit.
        $vis async fn check_then_act() {
            let balance = Rc::new(Cell::new(100i64));
            let withdraw = |amount: i64, validation_steps: usize| {
                let balance = balance.clone();
                $spawn(async move {
                    for _ in 0..validation_steps {
                        $yield_now().await;
                    }
                    if balance.get() >= amount {
                        $yield_now().await; // the audit record
                        balance.set(balance.get() - amount);
                    }
                })
            };
            let (a, b) = (withdraw(80, 1), withdraw(80, 3));
            a.await.unwrap();
            b.await.unwrap();
            assert!(balance.get() >= 0, "overdrawn: {}", balance.get());
        }

        /// A nested two-preemption bug among six tasks. A cache `refresh` (A) is preempted
        /// mid-update; an `invalidate` (B) starts and is preempted mid-update too; a `reader`
        /// (C), after some work of its own, reads while both are mid-way; and B finishes
        /// before A resumes. Three `metrics` tasks yield around them. Only that nesting fails:
        /// A resuming before B, or B starting before A, is harmless.
        $vis async fn nested_preemption() {
            let refresh_busy = Rc::new(Cell::new(false));
            let invalidate_busy = Rc::new(Cell::new(false));
            let nested_start = Rc::new(Cell::new(false));
            let read_inside_both = Rc::new(Cell::new(false));
            let nested_end = Rc::new(Cell::new(false));
            let refresh = {
                let (busy, read_inside_both, nested_end) = (
                    refresh_busy.clone(),
                    read_inside_both.clone(),
                    nested_end.clone(),
                );
                $spawn(async move {
                    busy.set(true);
                    $yield_now().await;
                    busy.set(false);
                    assert!(
                        !(read_inside_both.get() && nested_end.get()),
                        "the reader saw a refresh and an invalidation both half done, and the invalidation finished first"
                    );
                })
            };
            let invalidate = {
                let (busy, refresh_busy) = (invalidate_busy.clone(), refresh_busy.clone());
                let (nested_start, nested_end) = (nested_start.clone(), nested_end.clone());
                $spawn(async move {
                    nested_start.set(refresh_busy.get());
                    busy.set(true);
                    $yield_now().await;
                    busy.set(false);
                    nested_end.set(nested_start.get() && refresh_busy.get());
                })
            };
            let reader = $spawn(async move {
                for _ in 0..2 {
                    $yield_now().await; // its own work
                }
                // The read takes six steps, all while both updates are half done.
                for _ in 0..6 {
                    if !(refresh_busy.get() && invalidate_busy.get() && nested_start.get()) {
                        return;
                    }
                    $yield_now().await;
                }
                read_inside_both.set(refresh_busy.get() && invalidate_busy.get());
            });
            let metrics: Vec<_> = (0..3)
                .map(|_| {
                    $spawn(async {
                        for _ in 0..4 {
                            $yield_now().await;
                        }
                    })
                })
                .collect();
            refresh.await.unwrap();
            invalidate.await.unwrap();
            reader.await.unwrap();
            for task in metrics {
                task.await.unwrap();
            }
        }

        /// Cancellation at an inner await: a task marks a resource busy, awaits, then clears
        /// the mark. A supervisor cancels it after some steps of its own; cancelled between
        /// the two, the mark stays set for good.
        $vis async fn cancel_at_inner_await() {
            let busy = Rc::new(Cell::new(false));
            let worker = {
                let busy = busy.clone();
                $spawn(async move {
                    $yield_now().await;
                    busy.set(true);
                    $yield_now().await; // the inner await
                    busy.set(false);
                })
            };
            let worker = Rc::new(worker);
            let supervisor = {
                let worker = worker.clone();
                $spawn(async move {
                    $yield_now().await;
                    $yield_now().await;
                    worker.$cancel();
                })
            };
            supervisor.await.unwrap();
            let _ = Rc::try_unwrap(worker)
                .unwrap_or_else(|_| panic!("one handle left"))
                .await;
            assert!(
                !busy.get(),
                "the worker was cancelled while it held the resource"
            );
        }
    };
}
// Used by the bench's shuttle versions (the tests need only the seedloop ones).
#[allow(unused_imports)]
pub(crate) use yield_only_programs;

yield_only_programs!(pub, spawn, yield_now, cancel);

/// A lock-order deadlock: one task takes `accounts` then `ledger`, the other (after
/// some work) `ledger` then `accounts`. A wait-for cycle fails the run at once.
pub async fn lock_order_deadlock() {
    let accounts = Rc::new(Lock::new(0u32).named("accounts"));
    let ledger = Rc::new(Lock::new(0u32).named("ledger"));
    let transfer = {
        let (accounts, ledger) = (accounts.clone(), ledger.clone());
        spawn(async move {
            let mut first = accounts.lock().await;
            yield_now().await;
            let mut second = ledger.lock().await;
            *first += 1;
            *second += 1;
        })
    };
    let audit = spawn(async move {
        yield_now().await;
        yield_now().await;
        let mut first = ledger.lock().await;
        yield_now().await;
        let mut second = accounts.lock().await;
        *first += 1;
        *second += 1;
    });
    transfer.await.unwrap();
    audit.await.unwrap();
}

/// A lost wakeup: the consumer checks for an item, logs (a yield) with the lock
/// released, then waits on the condition; a producer that puts its item and notifies
/// in between notifies nobody, and the consumer waits forever (a deadlock).
pub async fn lost_wakeup() {
    let items = Rc::new(Condition::new(Vec::<u32>::new()));
    let consumer = {
        let items = items.clone();
        spawn(async move {
            let empty = items.lock().await.is_empty();
            if empty {
                yield_now().await; // "queue empty, waiting"
                let guard = items.lock().await;
                let mut guard = items.wait(guard).await;
                guard.pop().expect("notified with an item")
            } else {
                items.lock().await.pop().expect("an item")
            }
        })
    };
    let producer = spawn(async move {
        yield_now().await;
        let mut guard = items.lock().await;
        guard.push(7);
        items.notify(1);
    });
    producer.await.unwrap();
    assert_eq!(consumer.await.unwrap(), 7);
}

/// A timer tie: a lease is renewed and expires after the same 10 ms. The code assumes
/// the renewal, registered first, fires first; when the timers tie the other way the
/// lease expires while its holder still works under it.
pub async fn timer_tie() {
    let renewed = Rc::new(Cell::new(false));
    let renewal = {
        let renewed = renewed.clone();
        spawn(async move {
            seedloop::time::sleep(Duration::from_millis(10)).await;
            renewed.set(true);
        })
    };
    let expiry = spawn(async move {
        seedloop::time::sleep(Duration::from_millis(10)).await;
        assert!(
            renewed.get(),
            "the lease expired while its holder renewed it"
        );
    });
    renewal.await.unwrap();
    expiry.await.unwrap();
}

/// A swallowed task-group error: a worker needs the configuration a loader sets after
/// a read (a yield); if it looks first, it fails, the group cancels the loader, and
/// the caller ignores the group's error. The work then silently never happened.
pub async fn swallowed_group_error() {
    let config = Rc::new(Cell::new(None::<u32>));
    let processed = Rc::new(Cell::new(0u32));
    let result = TaskGroup::<String>::scope(|group| {
        let (config, processed) = (config.clone(), processed.clone());
        async move {
            let loader_config = config.clone();
            group.spawn(async move {
                yield_now().await; // reading the file
                loader_config.set(Some(3));
                Ok(())
            });
            group.spawn(async move {
                yield_now().await;
                let batch = config.get().ok_or("configuration not loaded")?;
                processed.set(batch);
                Ok(())
            });
            Ok(())
        }
    })
    .await;
    let _ = result; // the bug: the group's error is dropped
    assert_eq!(processed.get(), 3, "the work was silently skipped");
}

/// A queue item lost on cancellation: the consumer takes an item, processes it (an
/// await), then records it; a shutdown cancels the consumer once the producer is
/// done, and an item taken but not yet recorded is lost.
pub async fn queue_item_lost_on_cancel() {
    let queue = Rc::new(Queue::<u32>::bounded(2));
    let recorded = Rc::new(RefCell::new(Vec::new()));
    let consumer = {
        let (queue, recorded) = (queue.clone(), recorded.clone());
        spawn(async move {
            loop {
                let item = queue.get().await.expect("the queue stays open");
                yield_now().await; // processing
                recorded.borrow_mut().push(item);
            }
        })
    };
    let producer = {
        let queue = queue.clone();
        spawn(async move {
            for item in 0..3 {
                queue.put(item).await.expect("the queue stays open");
            }
        })
    };
    producer.await.unwrap();
    // Shutdown: give the consumer a moment, then cancel it.
    yield_now().await;
    yield_now().await;
    consumer.cancel();
    let _ = consumer.await;
    let left = std::iter::from_fn(|| queue.try_get().ok()).count();
    assert_eq!(
        recorded.borrow().len() + left,
        3,
        "an item was dequeued but never recorded"
    );
}
