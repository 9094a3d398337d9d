//! The floor: a minimal seeded-random executor, for reference in the workload bench.
//! Safe, single-threaded, no tracing, no timers, no cancellation: a slab of boxed
//! futures, a ready list, and one uniformly random pick (`swap_remove` at an index
//! drawn from a seeded ChaCha8 generator) per step. It does the least any executor
//! with seedloop's `Random` schedule has to do, so its ns/step, measured in the same
//! run, tells how much of seedloop's per-step cost, and of its slope from 10 to
//! 100 000 tasks, comes with uniform random scheduling itself (jumping between tasks
//! scattered in memory misses the caches) rather than with seedloop's overhead.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cell::RefCell;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

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
}

/// A task's waker: its index. Waking queues the task once, however many wakes.
struct TaskWaker(usize);

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        EXECUTOR.with_borrow_mut(|executor| {
            if !std::mem::replace(&mut executor.queued[self.0], true) {
                executor.ready.push(self.0);
            }
        });
    }
}

fn spawn_task(future: Task) {
    EXECUTOR.with_borrow_mut(|executor| {
        let index = executor.tasks.len();
        let waker = Waker::from(Arc::new(TaskWaker(index)));
        executor.tasks.push(Some((future, waker)));
        executor.queued.push(true);
        executor.ready.push(index);
    });
}

/// Runs `main` to completion on a fresh executor; returns the polls made (all tasks).
pub fn run(seed: u64, main: impl Future<Output = ()> + 'static) -> u64 {
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
