//! The floor: a minimal seeded-random executor, for reference in the workload bench.
//! Safe, single-threaded, no tracing, no timers, no cancellation: a slab of boxed
//! futures, a ready list, and one uniformly random pick (`swap_remove` at an index
//! drawn from a seeded ChaCha8 generator) per step. It does the least any executor
//! with seedloop's `Random` schedule has to do, so its ns/step, measured in the same
//! run, tells how much of seedloop's per-step cost, and of its slope from 10 to
//! 100 000 tasks, comes with uniform random scheduling itself (jumping between tasks
//! scattered in memory misses the caches) rather than with seedloop's overhead.
//!
//! It runs with one of two wakers. [`run`] gives each task an `Arc` waker, as
//! `std::task::Wake` builds them. [`run_raw`] gives each a raw waker whose data is the
//! task's index itself: no allocation and no reference count per task, the cheapest
//! waker there is (the one `unsafe` block below). The raw floor is the real one: what an
//! executor of seedloop's contract could cost at best. seedloop's own task wakers are
//! raw too (its `runtime/waker.rs`): their data word is the task's slot, generation and
//! thread domain, and a clone counts itself without atomics.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cell::Cell;
use std::cell::RefCell;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Wake, Waker};

type Task = Pin<Box<dyn Future<Output = ()>>>;

/// The executor: task `i` is `tasks[i]` (`None` while polled or once done).
#[derive(Default)]
struct Executor {
    tasks: Vec<Option<(Task, Waker)>>,
    queued: Vec<bool>,
    ready: Vec<usize>,
}

thread_local! {
    static EXECUTOR: RefCell<Executor> = RefCell::default();
    // Whether tasks get raw wakers (`run_raw`) rather than `Arc` ones (`run`).
    static RAW_WAKERS: Cell<bool> = const { Cell::new(false) };
}

/// Queues task `index` once, however many wakes.
fn wake_index(index: usize) {
    EXECUTOR.with_borrow_mut(|executor| {
        if !std::mem::replace(&mut executor.queued[index], true) {
            executor.ready.push(index);
        }
    });
}

/// The raw waker's functions. Its data is a task index, never dereferenced: cloning
/// copies it, waking queues the task, dropping does nothing.
static RAW_VTABLE: RawWakerVTable = RawWakerVTable::new(
    |data| RawWaker::new(data, &RAW_VTABLE),
    |data| wake_index(data as usize),
    |data| wake_index(data as usize),
    |_| {},
);

fn raw_waker(index: usize) -> Waker {
    // SAFETY: `Waker::from_raw` asks that the vtable's functions uphold `RawWaker`'s
    // contract for the data given. The data is a plain integer carried in the pointer,
    // never dereferenced, so every function is sound for any value: clone returns the
    // same data with the same vtable, wake and wake_by_ref only read the integer, and
    // drop has nothing to free. The executor is one thread (a thread-local), so a wake
    // always reaches the executor that made the waker; the bench wakes from no other
    // thread.
    unsafe { Waker::from_raw(RawWaker::new(index as *const (), &RAW_VTABLE)) }
}

/// A task's waker: its index. Waking queues the task once, however many wakes.
struct TaskWaker(usize);

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        wake_index(self.0);
    }
}

fn spawn_task(future: Task) {
    EXECUTOR.with_borrow_mut(|executor| {
        let index = executor.tasks.len();
        let waker = if RAW_WAKERS.get() {
            raw_waker(index)
        } else {
            Waker::from(Arc::new(TaskWaker(index)))
        };
        executor.tasks.push(Some((future, waker)));
        executor.queued.push(true);
        executor.ready.push(index);
    });
}

/// Runs `main` to completion on a fresh executor with `Arc` wakers; returns the polls
/// made (all tasks).
pub fn run(seed: u64, main: impl Future<Output = ()> + 'static) -> u64 {
    RAW_WAKERS.set(false);
    run_here(seed, main)
}

/// [`run`] with raw wakers (the real floor).
pub fn run_raw(seed: u64, main: impl Future<Output = ()> + 'static) -> u64 {
    RAW_WAKERS.set(true);
    run_here(seed, main)
}

fn run_here(seed: u64, main: impl Future<Output = ()> + 'static) -> u64 {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    EXECUTOR.set(Executor::default());
    spawn_task(Box::pin(main));
    let mut polls = 0;
    loop {
        let (index, (mut task, waker)) = EXECUTOR.with_borrow_mut(|executor| {
            assert!(!executor.ready.is_empty(), "deadlock: main is not done");
            let pick = rng.random_range(0..executor.ready.len());
            let index = executor.ready.swap_remove(pick);
            executor.queued[index] = false;
            (index, executor.tasks[index].take().expect("a live task"))
        });
        polls += 1;
        match task.as_mut().poll(&mut Context::from_waker(&waker)) {
            Poll::Ready(()) if index == 0 => break,
            Poll::Ready(()) => {}
            Poll::Pending => EXECUTOR.with_borrow_mut(|executor| {
                executor.tasks[index] = Some((task, waker));
            }),
        }
    }
    drop(EXECUTOR.take()); // the tasks left, dropped outside the borrow
    polls
}

/// Spawns a task; awaiting the handle gives its output (`Ok`, as with the peers).
pub fn spawn<F: Future + 'static>(
    future: F,
) -> impl Future<Output = Result<F::Output, Infallible>> {
    let join = Rc::new(RefCell::new((None, None::<Waker>))); // (output, awaiter)
    let state = Rc::clone(&join);
    spawn_task(Box::pin(async move {
        let output = future.await;
        state.borrow_mut().0 = Some(output);
        let awaiter = state.borrow_mut().1.take();
        if let Some(awaiter) = awaiter {
            awaiter.wake();
        }
    }));
    std::future::poll_fn(move |cx| {
        let mut join = join.borrow_mut();
        match join.0.take() {
            Some(output) => Poll::Ready(Ok(output)),
            None => {
                join.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    })
}

/// Wakes its task and returns `Pending` once, then `Ready`.
pub async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if std::mem::replace(&mut yielded, true) {
            return Poll::Ready(());
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await;
}
