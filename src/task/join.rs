//! `JoinHandle`: a task's result, and the handle that cancels it.
//!
//! A spawned future is wrapped in a `TaskFuture` that shares a small cell with the
//! task's `JoinHandle`. When the future completes, the wrapper stores the output in the
//! cell and wakes the handle's awaiter. When it is dropped unfinished (cancelled, or
//! leaked at the end of a run) a guard field, dropped after the future itself, stores
//! `JoinError::Cancelled` instead; when it panicked, the executor stores
//! `JoinError::Panicked` before dropping it. So the awaiter always learns how the task
//! ended, and only after the task's own `Drop` code has run.
//!
//! The wrapper is generic over a [`Completion`]: how the future's output becomes the
//! handle's result, and who else hears of the end. Plain tasks pass the output
//! through; task group children turn `Err(e)` into [`JoinError::Failed`], hand `e` to
//! their group, and tell it when they end. An awaiter is told through a [`Listener`]:
//! a waker (`.await`), or a slot in a [`CompletionSet`] (`wait`, `as_completed`) that
//! records the order in which tasks end.

use crate::id::TaskId;
use crate::runtime::context;
use crate::runtime::executor::{Runnable, TaskKey, Waiting};
use pin_project_lite::pin_project;
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// Why a task produced no value.
///
/// # Examples
///
/// ```
/// use seedloop::JoinError;
///
/// seedloop::Sim::new(0).run(async {
///     let stuck = seedloop::spawn(std::future::pending::<()>());
///     assert!(stuck.cancel());
///     let error = stuck.await.unwrap_err();
///     assert_eq!(error, JoinError::Cancelled);
///     assert!(error.is_cancelled() && !error.is_panic() && !error.is_failed());
///     assert_eq!(error.to_string(), "task was cancelled");
/// }).unwrap();
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum JoinError {
    /// The task was cancelled (its future dropped before it finished).
    Cancelled,
    /// The task panicked with this message (only seen where panics are caught on
    /// purpose: task group children, and runs with [`crate::Sim::continue_on_panic`]).
    Panicked(String),
    /// A task group child returned an error; the error value itself went to the group
    /// (see [`crate::task::TaskGroup`]).
    Failed,
}

impl JoinError {
    /// Whether the task was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, JoinError::Cancelled)
    }

    /// Whether the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self, JoinError::Panicked(_))
    }

    /// Whether the task was a task group child that returned an error.
    pub fn is_failed(&self) -> bool {
        matches!(self, JoinError::Failed)
    }

    /// The panic's message, if the task panicked.
    ///
    /// ```
    /// let error = seedloop::JoinError::Panicked("boom".to_string());
    /// assert_eq!(error.panic_message(), Some("boom"));
    /// assert_eq!(seedloop::JoinError::Cancelled.panic_message(), None);
    /// ```
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            JoinError::Panicked(message) => Some(message),
            _ => None,
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Cancelled => write!(f, "task was cancelled"),
            JoinError::Panicked(message) => write!(f, "task panicked: {message}"),
            JoinError::Failed => write!(f, "task failed (its error went to its task group)"),
        }
    }
}

impl std::error::Error for JoinError {}

/// Who else hears of a task's end (besides its handle).
pub(crate) trait Completion<T>: 'static {
    /// Called once when the task ends, however it ended, before its awaiter is told.
    fn ended(&mut self, _result: &Result<T, JoinError>) {}
}

/// How a task's output becomes its handle's result.
pub(crate) trait Convert<In, T>: Completion<T> {
    /// Called once, when the task completes.
    fn output(&mut self, value: In) -> Result<T, JoinError>;
}

/// A plain task: the output is the result.
pub(crate) struct Plain;

impl<T> Completion<T> for Plain {}

impl<T> Convert<T, T> for Plain {
    #[inline]
    fn output(&mut self, value: T) -> Result<T, JoinError> {
        Ok(value)
    }
}

/// Tasks ending, in the order they ended (for `wait` and `as_completed`).
#[derive(Default)]
pub(crate) struct CompletionSet {
    /// Indexes (as given to [`JoinHandle::listen`]) in the order the tasks ended.
    pub ended: std::collections::VecDeque<usize>,
    pub waker: Option<Waker>,
}

pub(crate) type SharedCompletionSet = Rc<RefCell<CompletionSet>>;

/// Who is told when a task ends.
enum Listener {
    None,
    Waker(Waker),
    Set(SharedCompletionSet, usize),
}

struct JoinState<T> {
    // Invariant: `finished` is set exactly once; `result` is Some from then until the
    // handle takes it.
    finished: bool,
    result: Option<Result<T, JoinError>>,
    listener: Listener,
    // The handle was dropped: a result stored from now on is never taken.
    handle_dropped: bool,
}

type JoinCell<T> = Rc<RefCell<JoinState<T>>>;

fn finish<T, C: Completion<T>>(
    cell: &JoinCell<T>,
    completion: &mut C,
    result: Result<T, JoinError>,
) {
    if cell.borrow().finished {
        return;
    }
    completion.ended(&result);
    let mut state = cell.borrow_mut();
    state.finished = true;
    state.result = Some(result);
    let listener = std::mem::replace(&mut state.listener, Listener::None);
    drop(state);
    match listener {
        Listener::None => {}
        Listener::Waker(waker) => waker.wake(),
        Listener::Set(set, index) => {
            let mut set = set.borrow_mut();
            set.ended.push_back(index);
            if let Some(waker) = set.waker.take() {
                drop(set);
                waker.wake();
            }
        }
    }
}

struct CancelGuard<T, C: Completion<T>> {
    cell: JoinCell<T>,
    completion: C,
}

impl<T, C: Completion<T>> Drop for CancelGuard<T, C> {
    #[inline]
    fn drop(&mut self) {
        // Checked here too, inlined: a task that completed (the common case) has
        // nothing left to report.
        if !self.cell.borrow().finished {
            finish(&self.cell, &mut self.completion, Err(JoinError::Cancelled));
        }
    }
}

pin_project! {
    pub(crate) struct TaskFuture<F, T, C: Completion<T>> {
        // Declared first: dropped before the guard, so a cancelled task's own Drop code
        // runs before its awaiter hears of the cancellation.
        #[pin]
        future: F,
        guard: CancelGuard<T, C>,
    }
}

impl<F: Future, T, C: Convert<F::Output, T>> Runnable for TaskFuture<F, T, C> {
    #[inline]
    fn poll_task(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        match this.future.poll(cx) {
            Poll::Ready(output) => {
                let guard = this.guard;
                let result = guard.completion.output(output);
                finish(&guard.cell, &mut guard.completion, result);
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn set_panicked(self: Pin<&mut Self>, message: &str) -> bool {
        let guard = self.project().guard;
        finish(
            &guard.cell,
            &mut guard.completion,
            Err(JoinError::Panicked(message.to_string())),
        );
        // Nobody holds the handle any more: the panic would go unseen.
        guard.cell.borrow().handle_dropped
    }
}

/// Wraps `future` for the executor; returns the wrapper and the handle's cell.
pub(crate) fn task_future<F, T, C>(future: F, completion: C) -> (TaskFuture<F, T, C>, JoinCellOf<T>)
where
    F: Future,
    C: Convert<F::Output, T>,
{
    let cell: JoinCell<T> = Rc::new(RefCell::new(JoinState {
        finished: false,
        result: None,
        listener: Listener::None,
        handle_dropped: false,
    }));
    let task = TaskFuture {
        future,
        guard: CancelGuard {
            cell: cell.clone(),
            completion,
        },
    };
    (task, JoinCellOf(cell))
}

pub(crate) struct JoinCellOf<T>(JoinCell<T>);

/// An owned permission to await a task's result and to cancel it
/// (asyncio's `Task`). It is a future of `Result<T, JoinError>`.
///
/// # Cancel safety
///
/// Dropping a handle that was never polled detaches the task: it keeps running, as a
/// task does in asyncio when nobody awaits it. Dropping a handle *while it is being
/// awaited*, that is after a poll that found the task unfinished (its awaiter was
/// cancelled, a `timeout` expired, a `select` took another branch), cancels the task,
/// as asyncio cancels the task an awaiter was waiting on. Either way the task's result
/// is lost with the handle. A handle dropped once the task has ended changes nothing.
/// The handle of a blocking job ([`super::spawn_blocking`]) is the exception: dropping
/// it never cancels the job, as a thread pool's job keeps running.
///
/// # Examples
///
/// ```
/// use seedloop::JoinError;
/// seedloop::Sim::new(0).run(async {
///     let answer = seedloop::spawn(async { 42 });
///     assert_eq!(answer.await, Ok(42));
///
///     let stuck = seedloop::spawn(std::future::pending::<()>());
///     assert!(stuck.cancel());
///     assert_eq!(stuck.await, Err(JoinError::Cancelled));
/// }).unwrap();
/// ```
pub struct JoinHandle<T> {
    cell: JoinCell<T>,
    key: TaskKey,
    awaited: bool,
    // A blocking job's handle never cancels on drop: a dropped job still runs, as a
    // thread pool's job does (`spawn_blocking`).
    detach_on_drop: bool,
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(cell: JoinCellOf<T>, key: TaskKey) -> JoinHandle<T> {
        JoinHandle {
            cell: cell.0,
            key,
            awaited: false,
            detach_on_drop: false,
        }
    }

    /// The handle of a task that dropping the handle never cancels, even mid-await.
    pub(crate) fn detached_on_drop(mut self) -> JoinHandle<T> {
        self.detach_on_drop = true;
        self
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.key.id
    }

    /// Whether the task has ended (completed, cancelled or panicked).
    pub fn is_finished(&self) -> bool {
        self.cell.borrow().finished
    }

    /// A handle that can cancel the task, without its result.
    pub fn abort_handle(&self) -> AbortHandle {
        AbortHandle { key: self.key }
    }

    /// Lets the task run on by itself: the handle is dropped without cancelling it,
    /// even while it is being awaited (tokio's rule for a dropped `JoinHandle`). The
    /// task's result is lost.
    ///
    /// ```
    /// use std::time::Duration;
    /// seedloop::Sim::new(0).run(async {
    ///     let worker = seedloop::spawn(seedloop::time::sleep(Duration::from_secs(1)));
    ///     // A timeout gives up on the task; detaching keeps it running.
    ///     let mut worker = Some(worker);
    ///     let waited = seedloop::time::timeout(Duration::from_millis(1), worker.as_mut().unwrap()).await;
    ///     assert!(waited.is_err());
    ///     worker.take().unwrap().detach();
    ///     seedloop::time::sleep(Duration::from_secs(2)).await;
    /// }).unwrap();
    /// ```
    pub fn detach(mut self) {
        self.awaited = false;
    }

    /// Cancels the task: its future is dropped at its current await point, inside the
    /// simulation, when the scheduler next picks it (a task cancelling itself stops at
    /// its next await). Returns `false`, changing nothing, when the task has already
    /// ended.
    ///
    /// ```
    /// use std::time::Duration;
    /// seedloop::Sim::new(0).run(async {
    ///     let sleeper = seedloop::spawn(seedloop::time::sleep(Duration::from_secs(60)));
    ///     assert!(sleeper.cancel());
    ///     assert!(sleeper.await.unwrap_err().is_cancelled());
    ///
    ///     let done = seedloop::spawn(async {});
    ///     while !done.is_finished() {
    ///         seedloop::yield_now().await;
    ///     }
    ///     assert!(!done.cancel(), "a finished task cannot be cancelled");
    /// }).unwrap();
    /// ```
    pub fn cancel(&self) -> bool {
        if self.is_finished() {
            return false;
        }
        cancel_key(self.key)
    }

    pub(crate) fn key(&self) -> TaskKey {
        self.key
    }

    /// Tells `set` (as `index`) when the task ends; returns `true`, registering
    /// nothing, when it already has.
    pub(crate) fn listen(&self, set: &SharedCompletionSet, index: usize) -> bool {
        let mut state = self.cell.borrow_mut();
        if state.finished {
            return true;
        }
        state.listener = Listener::Set(Rc::clone(set), index);
        false
    }

    /// Forgets whoever was to be told of the task's end.
    pub(crate) fn unlisten(&self) {
        self.cell.borrow_mut().listener = Listener::None;
    }

    /// Whether the task ended with an error other than cancellation (asyncio's
    /// "raised an exception"): a caught panic or a task group child's failure.
    pub(crate) fn ended_in_error(&self) -> bool {
        matches!(
            self.cell.borrow().result,
            Some(Err(JoinError::Panicked(_) | JoinError::Failed))
        )
    }

    /// The result of a finished task.
    pub(crate) fn take_result(&self) -> Option<Result<T, JoinError>> {
        self.cell.borrow_mut().result.take()
    }

    /// Polls for the result without marking the handle as awaited: dropping it
    /// afterwards still detaches the task ([`super::shield`]).
    pub(crate) fn poll_detached(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, JoinError>> {
        let mut state = self.cell.borrow_mut();
        if state.finished {
            let result = state
                .result
                .take()
                .expect("JoinHandle polled after it returned its result");
            return Poll::Ready(result);
        }
        match &state.listener {
            Listener::Waker(waker) if waker.will_wake(cx.waker()) => {}
            _ => state.listener = Listener::Waker(cx.waker().clone()),
        }
        drop(state);
        context::try_with_current(|shared| shared.set_waiting(Waiting::Join(self.key.id)));
        Poll::Pending
    }
}

/// Requests cancellation of the task `key` names; returns whether it was alive.
/// A handle that can cancel a task but not join it (tokio's `AbortHandle`): it does
/// not own the result, so it is not generic, and dropping it does nothing.
///
/// # Examples
///
/// ```
/// seedloop::Sim::new(0).run(async {
///     let handle = seedloop::spawn(std::future::pending::<()>());
///     let abort = handle.abort_handle();
///     assert!(abort.cancel());
///     assert!(handle.await.unwrap_err().is_cancelled());
///     assert!(!abort.cancel(), "the task has ended");
/// }).unwrap();
/// ```
#[derive(Clone, Copy, Debug)]
pub struct AbortHandle {
    key: TaskKey,
}

impl AbortHandle {
    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.key.id
    }

    /// Cancels the task (see [`JoinHandle::cancel`]); `false` when it has ended.
    pub fn cancel(&self) -> bool {
        cancel_key(self.key)
    }
}

pub(crate) fn cancel_key(key: TaskKey) -> bool {
    context::try_with_current(|shared| shared.run_id() == key.run_id && shared.cancel(key))
        .unwrap_or(false)
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Awaiting finished tasks in a loop still takes steps.
        std::task::ready!(crate::runtime::services::poll_proceed(cx));
        let this = self.get_mut();
        let poll = this.poll_detached(cx);
        if poll.is_pending() {
            this.awaited = true;
        }
        poll
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        let mut state = self.cell.borrow_mut();
        state.handle_dropped = true;
        if let Some(Err(JoinError::Panicked(message))) = &state.result {
            let (task, message) = (self.key.id, message.clone());
            drop(state);
            context::try_with_current(|shared| {
                shared.report_error_never_retrieved(Some(task), &message)
            });
        } else {
            drop(state);
        }
        if self.awaited && !self.detach_on_drop && !self.is_finished() {
            self.cancel();
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.key.id)
            .field("finished", &self.is_finished())
            .finish()
    }
}
