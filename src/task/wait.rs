//! `wait`, `as_completed` and `shield`: waiting on tasks you already spawned.
//!
//! `wait` and `as_completed` give each handle a slot in one shared completion set
//! instead of a waker: when a task ends, its slot's index is appended to the set's
//! queue and the waiter is woken once. So the order in which tasks ended is known
//! exactly (what `as_completed` yields), and a wake costs O(1) however many tasks are
//! watched. Neither cancels anything when dropped, as in asyncio: `wait` hands the
//! pending handles back, and [`AsCompleted::into_pending`] does too.
//!
//! `shield` awaits a handle without the propagation rule: dropping the shield leaves
//! the task running.

use super::join::{CompletionSet, SharedCompletionSet};
use super::{JoinError, JoinHandle};
use crate::runtime::context;
use crate::runtime::executor::Site;
use crate::time::{sleep, Sleep};
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

/// Notes a future's await point (the task is suspended there).
fn pending<R>(site: Site) -> Poll<R> {
    context::try_with_current(|shared| shared.note_site(site));
    Poll::Pending
}

/// When [`wait`] returns (asyncio's `FIRST_COMPLETED`, `FIRST_EXCEPTION`,
/// `ALL_COMPLETED`).
///
/// # Examples
///
/// ```
/// use seedloop::task::{wait, ReturnWhen};
///
/// seedloop::Sim::new(0).run(async {
///     let quick = seedloop::spawn(async { 1 });
///     let stuck = seedloop::spawn(std::future::pending::<i32>());
///     let (done, pending) = wait([quick, stuck], ReturnWhen::FirstCompleted).await;
///     assert_eq!((done.len(), pending.len()), (1, 1));
/// }).unwrap();
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReturnWhen {
    /// As soon as any task has ended (completed, failed, panicked or was cancelled).
    FirstCompleted,
    /// As soon as any task has ended with an error other than cancellation (a caught
    /// panic, or a task group child's failure), or when every task has ended. A task
    /// whose *value* is an `Err` completed normally: for "stop at the first `Err`",
    /// use [`super::gather`] or [`super::TaskGroup`].
    FirstException,
    /// When every task has ended.
    AllCompleted,
}

/// Waits for tasks until `return_when` holds (or the [`Wait::timeout`] expires) and
/// returns `(done, pending)`: the handles of the tasks that ended, and of the others,
/// each in input order (asyncio's `wait`). Nothing is cancelled; await a done handle
/// for its result at once. With no handles it returns at once, with two empty lists.
///
/// # Cancel safety
///
/// Dropping an unfinished `Wait` cancels nothing, as in asyncio: the tasks keep
/// running. Their handles were moved into it and are dropped with it, which detaches
/// the tasks, so their results are lost; to stop waiting and keep the handles, give it
/// a [`Wait::timeout`]. (A handle that was already being awaited before it was passed
/// in cancels its task when dropped, as [`JoinHandle`] says.)
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use seedloop::task::{wait, ReturnWhen};
/// use seedloop::time::sleep;
///
/// seedloop::Sim::new(0).run(async {
///     let handles: Vec<_> = [2u64, 1, 3]
///         .map(|secs| seedloop::spawn(async move {
///             sleep(Duration::from_secs(secs)).await;
///             secs
///         }))
///         .into();
///     let (done, pending) = wait(handles, ReturnWhen::FirstCompleted).await;
///     assert_eq!(done.len(), 1);
///     assert_eq!(done.into_iter().next().unwrap().await, Ok(1));
///
///     let (done, still) = wait(pending, ReturnWhen::AllCompleted)
///         .timeout(Duration::from_millis(1500))
///         .await;
///     assert_eq!((done.len(), still.len()), (1, 1), "the 3 s task is still running");
/// }).unwrap();
/// ```
#[track_caller]
pub fn wait<T, I>(handles: I, return_when: ReturnWhen) -> Wait<T>
where
    I: IntoIterator<Item = JoinHandle<T>>,
{
    Wait {
        watch: Watch::new(handles.into_iter().collect()),
        return_when,
        timeout: None,
        deadline: None,
        site: std::panic::Location::caller(),
    }
}

/// Handles watched through one completion set.
struct Watch<T> {
    handles: Vec<JoinHandle<T>>,
    set: SharedCompletionSet,
    ended: Vec<bool>,
    ended_count: usize,
    started: bool,
}

impl<T> Watch<T> {
    fn new(handles: Vec<JoinHandle<T>>) -> Watch<T> {
        let count = handles.len();
        Watch {
            handles,
            set: Rc::new(RefCell::new(CompletionSet::default())),
            ended: vec![false; count],
            ended_count: 0,
            started: false,
        }
    }

    /// Registers with every handle (once); takes in the tasks that ended since the
    /// last call, in the order they ended, and returns them.
    fn collect(&mut self, cx: &Context<'_>, newly_ended: &mut Vec<usize>) {
        if !self.started {
            self.started = true;
            for (index, handle) in self.handles.iter().enumerate() {
                if handle.listen(&self.set, index) {
                    // Already ended: in input order, before anything that ends later.
                    self.set.borrow_mut().ended.push_back(index);
                }
            }
        }
        let mut set = self.set.borrow_mut();
        for index in set.ended.drain(..) {
            if !self.ended[index] {
                self.ended[index] = true;
                self.ended_count += 1;
                newly_ended.push(index);
            }
        }
        match &set.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            _ => set.waker = Some(cx.waker().clone()),
        }
    }

    fn unlisten(&mut self) {
        for (index, handle) in self.handles.iter().enumerate() {
            if !self.ended[index] {
                handle.unlisten();
            }
        }
    }
}

/// The future returned by [`wait`]; see there for its cancel safety.
///
/// # Examples
///
/// ```
/// use seedloop::task::{wait, ReturnWhen, Wait};
///
/// seedloop::Sim::new(0).run(async {
///     let waiting: Wait<u32> = wait([seedloop::spawn(async { 7 })], ReturnWhen::AllCompleted);
///     let (done, pending) = waiting.await;
///     assert!(pending.is_empty());
///     assert_eq!(done.into_iter().next().unwrap().await, Ok(7));
/// }).unwrap();
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Wait<T> {
    watch: Watch<T>,
    return_when: ReturnWhen,
    timeout: Option<Duration>,
    deadline: Option<Pin<Box<Sleep>>>,
    site: Site,
}

impl<T> Wait<T> {
    /// Returns after `duration` of virtual time at the latest, whatever has ended by
    /// then (asyncio's `wait(..., timeout=)`); nothing is cancelled.
    ///
    /// # Cancel safety
    ///
    /// As [`wait`].
    pub fn timeout(mut self, duration: Duration) -> Wait<T> {
        self.timeout = Some(duration);
        self
    }
}

impl<T> Unpin for Wait<T> {}

impl<T> Future for Wait<T> {
    type Output = (Vec<JoinHandle<T>>, Vec<JoinHandle<T>>);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if let Some(duration) = this.timeout.take() {
            this.deadline = Some(Box::pin(sleep(duration)));
        }
        let mut newly_ended = Vec::new();
        this.watch.collect(cx, &mut newly_ended);
        let total = this.watch.handles.len();
        let all = this.watch.ended_count == total;
        let ready = all
            || match this.return_when {
                ReturnWhen::FirstCompleted => this.watch.ended_count > 0,
                ReturnWhen::FirstException => this
                    .watch
                    .handles
                    .iter()
                    .zip(&this.watch.ended)
                    .any(|(handle, ended)| *ended && handle.ended_in_error()),
                ReturnWhen::AllCompleted => false,
            };
        let timed_out = match &mut this.deadline {
            Some(deadline) => deadline.as_mut().poll(cx).is_ready(),
            None => false,
        };
        if !ready && !timed_out {
            return pending(this.site);
        }
        this.watch.unlisten();
        this.deadline = None;
        let mut done = Vec::new();
        let mut pending = Vec::new();
        for (handle, ended) in this.watch.handles.drain(..).zip(&this.watch.ended) {
            if *ended {
                done.push(handle);
            } else {
                pending.push(handle);
            }
        }
        Poll::Ready((done, pending))
    }
}

impl<T> Drop for Wait<T> {
    fn drop(&mut self) {
        self.watch.unlisten();
    }
}

impl<T> fmt::Debug for Wait<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wait")
            .field("tasks", &self.watch.handles.len())
            .field("ended", &self.watch.ended_count)
            .field("return_when", &self.return_when)
            .finish()
    }
}

/// The results of tasks in the order the tasks end (asyncio's `as_completed`), as a
/// [`futures::Stream`]. Tasks that had already ended come first, in input order.
///
/// # Cancel safety
///
/// Dropping the stream cancels nothing, as in asyncio: the tasks not yet yielded keep
/// running, detached, and their results are lost with it; take their handles with
/// [`AsCompleted::into_pending`] first to cancel or await them. A result leaves the
/// stream only when `poll_next` returns it, so dropping a pending `next()` future (a
/// `timeout` around it expired) loses nothing.
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
/// use std::time::Duration;
/// use seedloop::task::as_completed;
/// use seedloop::time::sleep;
///
/// seedloop::Sim::new(0).run(async {
///     let handles = [3u64, 1, 2].map(|secs| seedloop::spawn(async move {
///         sleep(Duration::from_secs(secs)).await;
///         secs
///     }));
///     let order: Vec<u64> = as_completed(handles).map(|result| result.unwrap()).collect().await;
///     assert_eq!(order, [1, 2, 3]);
/// }).unwrap();
/// ```
#[track_caller]
pub fn as_completed<T, I>(handles: I) -> AsCompleted<T>
where
    I: IntoIterator<Item = JoinHandle<T>>,
{
    AsCompleted {
        watch: Watch::new(handles.into_iter().collect()),
        queue: std::collections::VecDeque::new(),
        yielded: 0,
        site: std::panic::Location::caller(),
    }
}

/// The stream returned by [`as_completed`]; see there for its cancel safety.
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
/// use seedloop::task::{as_completed, AsCompleted};
///
/// seedloop::Sim::new(0).run(async {
///     let mut results: AsCompleted<u32> = as_completed([seedloop::spawn(async { 7 })]);
///     assert_eq!(results.next().await, Some(Ok(7)));
///     assert_eq!(results.next().await, None);
/// }).unwrap();
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct AsCompleted<T> {
    watch: Watch<T>,
    // Ended tasks not yet yielded, in the order they ended.
    queue: std::collections::VecDeque<usize>,
    yielded: usize,
    site: Site,
}

impl<T> AsCompleted<T> {
    /// The handles of the tasks not yet yielded, in input order.
    pub fn into_pending(mut self) -> Vec<JoinHandle<T>> {
        self.watch.unlisten();
        let mut yielded = vec![false; self.watch.handles.len()];
        for (index, ended) in self.watch.ended.iter().enumerate() {
            yielded[index] = *ended && !self.queue.contains(&index);
        }
        std::mem::take(&mut self.watch.handles)
            .into_iter()
            .zip(yielded)
            .filter(|(_, yielded)| !yielded)
            .map(|(handle, _)| handle)
            .collect()
    }
}

impl<T> Unpin for AsCompleted<T> {}

impl<T> futures::Stream for AsCompleted<T> {
    type Item = Result<T, JoinError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.yielded == this.watch.handles.len() {
            return Poll::Ready(None);
        }
        let mut newly_ended = Vec::new();
        this.watch.collect(cx, &mut newly_ended);
        this.queue.extend(newly_ended);
        match this.queue.pop_front() {
            Some(index) => {
                this.yielded += 1;
                let result = this.watch.handles[index]
                    .take_result()
                    .expect("an ended task's result is taken once");
                Poll::Ready(Some(result))
            }
            None => pending(this.site),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.watch.handles.len() - self.yielded;
        (left, Some(left))
    }
}

impl<T> Drop for AsCompleted<T> {
    fn drop(&mut self) {
        self.watch.unlisten();
    }
}

impl<T> fmt::Debug for AsCompleted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted")
            .field("tasks", &self.watch.handles.len())
            .field("yielded", &self.yielded)
            .finish()
    }
}

/// Awaits a task without passing cancellation on to it (asyncio's `shield`).
///
/// # Cancel safety
///
/// Dropping the unfinished shield (its awaiter was cancelled, a `timeout` expired)
/// leaves the task running to completion, detached, instead of cancelling it; its
/// result is lost with the shield.
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use std::time::Duration;
/// use seedloop::task::shield;
/// use seedloop::time::{sleep, timeout};
///
/// seedloop::Sim::new(0).run(async {
///     let saved = Rc::new(Cell::new(false));
///     let save = seedloop::spawn({
///         let saved = saved.clone();
///         async move {
///             sleep(Duration::from_secs(5)).await;
///             saved.set(true);
///         }
///     });
///     // The awaiter gives up after 1 s; the shielded task finishes anyway.
///     assert!(timeout(Duration::from_secs(1), shield(save)).await.is_err());
///     sleep(Duration::from_secs(10)).await;
///     assert!(saved.get());
/// }).unwrap();
/// ```
#[track_caller]
pub fn shield<T>(handle: JoinHandle<T>) -> Shield<T> {
    Shield {
        handle,
        site: std::panic::Location::caller(),
    }
}

/// The future returned by [`shield`]; see there for its cancel safety.
///
/// # Examples
///
/// ```
/// use seedloop::task::{shield, Shield};
///
/// seedloop::Sim::new(0).run(async {
///     let shielded: Shield<u32> = shield(seedloop::spawn(async { 7 }));
///     assert_eq!(shielded.await, Ok(7));
/// }).unwrap();
/// ```
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Shield<T> {
    handle: JoinHandle<T>,
    site: Site,
}

impl<T> Future for Shield<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.handle.poll_detached(cx) {
            Poll::Pending => pending(self.site),
            ready => ready,
        }
    }
}
