//! `gather` and `gather_settled`: run futures as tasks, collect their results in input
//! order.
//!
//! On its first poll a gather spawns each future as a task whose wrapper writes the
//! outcome into a shared slot vector at the future's input index, in the order the
//! tasks finish, and wakes the gather. `gather` returns at the first error (the first
//! in virtual time, not in input order) and cancels the tasks still running, as Rust's
//! `try_join_all` drops its futures; `gather_settled` waits for every outcome.
//! Dropping an unfinished gather (its awaiter was cancelled, a `timeout` expired)
//! cancels every task it spawned.
//!
//! This differs from asyncio's `gather`, which leaves the other tasks running when one
//! raises: the footgun `TaskGroup` was added to fix. Use [`super::TaskGroup`] when
//! you need every error; use `gather_settled` (asyncio's `return_exceptions=True`)
//! when you need every outcome.

use super::{spawn, JoinHandle};
use crate::runtime::context;
use crate::runtime::executor::Site;
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

struct Slots<T, E> {
    results: Vec<Option<Result<T, E>>>,
    remaining: usize,
    // The input index of the first error, in the order the tasks finished.
    first_error: Option<usize>,
    waker: Option<Waker>,
}

type SharedSlots<T, E> = Rc<RefCell<Slots<T, E>>>;

/// The state both gathers share: futures not yet spawned, then the tasks.
struct Gathering<F, T, E> {
    futures: Vec<F>,
    handles: Vec<JoinHandle<()>>,
    slots: SharedSlots<T, E>,
    done: bool,
    site: Site,
}

impl<F, T, E> Gathering<F, T, E>
where
    F: Future<Output = Result<T, E>> + 'static,
    T: 'static,
    E: 'static,
{
    #[track_caller]
    fn new(futures: impl IntoIterator<Item = F>) -> Gathering<F, T, E> {
        let futures: Vec<F> = futures.into_iter().collect();
        let count = futures.len();
        Gathering {
            futures,
            handles: Vec::with_capacity(count),
            slots: Rc::new(RefCell::new(Slots {
                results: (0..count).map(|_| None).collect(),
                remaining: count,
                first_error: None,
                waker: None,
            })),
            done: false,
            site: std::panic::Location::caller(),
        }
    }

    /// Notes the gather's await point (the task is suspended there).
    fn pending<R>(&self) -> Poll<R> {
        let site = self.site;
        context::try_with_current(|shared| shared.note_site(site));
        Poll::Pending
    }

    /// Spawns the futures (on the first poll) and registers the waker.
    fn start(&mut self, cx: &Context<'_>) {
        for (index, future) in self.futures.drain(..).enumerate() {
            let slots = Rc::clone(&self.slots);
            self.handles.push(spawn(async move {
                let result = future.await;
                let mut slots = slots.borrow_mut();
                if result.is_err() && slots.first_error.is_none() {
                    slots.first_error = Some(index);
                }
                slots.results[index] = Some(result);
                slots.remaining -= 1;
                if let Some(waker) = slots.waker.take() {
                    waker.wake();
                }
            }));
        }
        let mut slots = self.slots.borrow_mut();
        match &slots.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            _ => slots.waker = Some(cx.waker().clone()),
        }
    }

    fn cancel_unfinished(&self) {
        for handle in &self.handles {
            handle.cancel();
        }
    }
}

impl<F, T, E> Drop for Gathering<F, T, E> {
    fn drop(&mut self) {
        if !self.done {
            for handle in &self.handles {
                handle.cancel();
            }
        }
    }
}

/// Runs every future as a task and returns their values in input order, or the first
/// error (first in virtual time), cancelling the tasks still running
/// (asyncio's `gather`, with `try_join_all`'s cancellation; see the module docs).
///
/// The futures are spawned when the gather is first polled.
///
/// # Cancel safety
///
/// Dropped before its first poll, a gather has spawned nothing: the futures are
/// dropped unpolled. Dropped unfinished after that (its awaiter was cancelled, a
/// `timeout` expired), it cancels every task it spawned, and the values of those that
/// had finished are lost with it.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use seedloop::task::gather;
/// use seedloop::time::sleep;
///
/// seedloop::Sim::new(0).run(async {
///     let slow_first = [3u64, 1, 2].map(|secs| async move {
///         sleep(Duration::from_secs(secs)).await;
///         Ok::<_, String>(secs)
///     });
///     assert_eq!(gather(slow_first).await, Ok(vec![3, 1, 2]));
///
///     let one_fails = [1u64, 2, 60].map(|secs| async move {
///         sleep(Duration::from_secs(secs)).await;
///         if secs == 2 { Err(format!("{secs} failed")) } else { Ok(secs) }
///     });
///     assert_eq!(gather(one_fails).await, Err("2 failed".to_string()));
///     // The 60 s task was cancelled: the clock stopped at 3 + 2 s.
///     assert_eq!(seedloop::time::Instant::now().elapsed_since_epoch(), Duration::from_secs(5));
/// }).unwrap();
/// ```
#[track_caller]
pub fn gather<I, F, T, E>(futures: I) -> Gather<F, T, E>
where
    I: IntoIterator<Item = F>,
    F: Future<Output = Result<T, E>> + 'static,
    T: 'static,
    E: 'static,
{
    Gather {
        gathering: Gathering::new(futures),
    }
}

/// Runs every future as a task and returns every outcome, errors included, in input
/// order (asyncio's `gather(..., return_exceptions=True)`).
///
/// # Cancel safety
///
/// As [`gather`]: dropped before its first poll it has spawned nothing; dropped
/// unfinished after that, it cancels every task it spawned.
///
/// # Examples
///
/// ```
/// use seedloop::task::gather_settled;
/// seedloop::Sim::new(0).run(async {
///     let outcomes = gather_settled((0..3).map(|i| async move {
///         if i == 1 { Err(i) } else { Ok(i * 10) }
///     })).await;
///     assert_eq!(outcomes, vec![Ok(0), Err(1), Ok(20)]);
/// }).unwrap();
/// ```
#[track_caller]
pub fn gather_settled<I, F, T, E>(futures: I) -> GatherSettled<F, T, E>
where
    I: IntoIterator<Item = F>,
    F: Future<Output = Result<T, E>> + 'static,
    T: 'static,
    E: 'static,
{
    GatherSettled {
        gathering: Gathering::new(futures),
    }
}

/// The future returned by [`gather`]; see there for its cancel safety.
///
/// # Examples
///
/// ```
/// use seedloop::task::{gather, Gather};
///
/// seedloop::Sim::new(0).run(async {
///     let all: Gather<_, u32, String> = gather((1..=3).map(|n| async move { Ok(n * 10) }));
///     assert_eq!(all.await, Ok(vec![10, 20, 30]));
/// }).unwrap();
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Gather<F, T, E> {
    gathering: Gathering<F, T, E>,
}

/// The future returned by [`gather_settled`]; see there for its cancel safety.
///
/// # Examples
///
/// ```
/// use seedloop::task::{gather_settled, GatherSettled};
///
/// seedloop::Sim::new(0).run(async {
///     let every: GatherSettled<_, u32, u32> =
///         gather_settled((1..=2).map(|n| async move { if n == 2 { Err(n) } else { Ok(n) } }));
///     assert_eq!(every.await, vec![Ok(1), Err(2)]);
/// }).unwrap();
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct GatherSettled<F, T, E> {
    gathering: Gathering<F, T, E>,
}

// The futures are moved into tasks, never polled in place.
impl<F, T, E> Unpin for Gather<F, T, E> {}
impl<F, T, E> Unpin for GatherSettled<F, T, E> {}

impl<F, T, E> Future for Gather<F, T, E>
where
    F: Future<Output = Result<T, E>> + 'static,
    T: 'static,
    E: 'static,
{
    type Output = Result<Vec<T>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let gathering = &mut self.gathering;
        assert!(!gathering.done, "gather polled after it returned");
        gathering.start(cx);
        let mut slots = gathering.slots.borrow_mut();
        if let Some(index) = slots.first_error {
            let error = match slots.results[index].take() {
                Some(Err(error)) => error,
                _ => unreachable!("the first error's slot holds it"),
            };
            drop(slots);
            gathering.cancel_unfinished();
            gathering.done = true;
            return Poll::Ready(Err(error));
        }
        if slots.remaining > 0 {
            drop(slots);
            return gathering.pending();
        }
        let values = slots
            .results
            .drain(..)
            .map(|result| match result {
                Some(Ok(value)) => value,
                _ => unreachable!("every task finished without error"),
            })
            .collect();
        drop(slots);
        gathering.done = true;
        Poll::Ready(Ok(values))
    }
}

impl<F, T, E> Future for GatherSettled<F, T, E>
where
    F: Future<Output = Result<T, E>> + 'static,
    T: 'static,
    E: 'static,
{
    type Output = Vec<Result<T, E>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let gathering = &mut self.gathering;
        assert!(!gathering.done, "gather_settled polled after it returned");
        gathering.start(cx);
        let mut slots = gathering.slots.borrow_mut();
        if slots.remaining > 0 {
            drop(slots);
            return gathering.pending();
        }
        let outcomes = slots
            .results
            .drain(..)
            .map(|result| result.expect("every task finished"))
            .collect();
        drop(slots);
        gathering.done = true;
        Poll::Ready(outcomes)
    }
}

impl<F, T, E> fmt::Debug for Gather<F, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gather")
            .field("tasks", &self.gathering.handles.len())
            .finish_non_exhaustive()
    }
}

impl<F, T, E> fmt::Debug for GatherSettled<F, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatherSettled")
            .field("tasks", &self.gathering.handles.len())
            .finish_non_exhaustive()
    }
}
