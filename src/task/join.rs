//! `JoinHandle`: a task's result, and the handle that cancels it.
//!
//! A spawned future is wrapped in a `TaskFuture` that shares a small cell with the
//! task's `JoinHandle`. When the future completes, the wrapper stores the output in the
//! cell and wakes the handle's awaiter. When it is dropped unfinished (cancelled, or
//! leaked at the end of a run) a guard field, dropped after the future itself, stores
//! `JoinError::Cancelled` instead; when it panicked, the executor stores
//! `JoinError::Panicked` before dropping it. So the awaiter always learns how the task
//! ended, and only after the task's own `Drop` code has run.

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
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum JoinError {
    /// The task was cancelled (its future dropped before it finished).
    Cancelled,
    /// The task panicked with this message (only seen when the run continues after
    /// panics: [`crate::Sim::continue_on_panic`]).
    Panicked(String),
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
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Cancelled => write!(f, "task was cancelled"),
            JoinError::Panicked(message) => write!(f, "task panicked: {message}"),
        }
    }
}

impl std::error::Error for JoinError {}

struct JoinState<T> {
    // Invariant: `finished` is set exactly once; `result` is Some from then until the
    // handle takes it.
    finished: bool,
    result: Option<Result<T, JoinError>>,
    waker: Option<Waker>,
}

type JoinCell<T> = Rc<RefCell<JoinState<T>>>;

fn finish<T>(cell: &JoinCell<T>, result: Result<T, JoinError>) {
    let mut state = cell.borrow_mut();
    if state.finished {
        return;
    }
    state.finished = true;
    state.result = Some(result);
    let waker = state.waker.take();
    drop(state);
    if let Some(waker) = waker {
        waker.wake();
    }
}

struct CancelGuard<T> {
    cell: JoinCell<T>,
}

impl<T> Drop for CancelGuard<T> {
    fn drop(&mut self) {
        finish(&self.cell, Err(JoinError::Cancelled));
    }
}

pin_project! {
    pub(crate) struct TaskFuture<F: Future> {
        // Declared first: dropped before the guard, so a cancelled task's own Drop code
        // runs before its awaiter hears of the cancellation.
        #[pin]
        future: F,
        guard: CancelGuard<F::Output>,
    }
}

impl<F: Future> Runnable for TaskFuture<F> {
    fn poll_task(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        match this.future.poll(cx) {
            Poll::Ready(output) => {
                finish(&this.guard.cell, Ok(output));
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn set_panicked(self: Pin<&mut Self>, message: &str) {
        finish(
            &self.project().guard.cell,
            Err(JoinError::Panicked(message.to_string())),
        );
    }
}

/// Wraps `future` for the executor; returns the wrapper and the handle's cell.
pub(crate) fn task_future<F: Future>(future: F) -> (TaskFuture<F>, JoinCellOf<F::Output>)
where
    F::Output: 'static,
{
    let cell: JoinCell<F::Output> = Rc::new(RefCell::new(JoinState {
        finished: false,
        result: None,
        waker: None,
    }));
    let task = TaskFuture {
        future,
        guard: CancelGuard { cell: cell.clone() },
    };
    (task, JoinCellOf(cell))
}

pub(crate) struct JoinCellOf<T>(JoinCell<T>);

/// An owned permission to await a task's result and to cancel it
/// (asyncio's `Task`). It is a future of `Result<T, JoinError>`.
///
/// Dropping a handle that was never polled detaches the task: it keeps running, as a
/// task does in asyncio when nobody awaits it. Dropping a handle *while it is being
/// awaited* (its awaiter was cancelled, a `timeout` expired, a `select` took another
/// branch) cancels the task, as asyncio cancels the task an awaiter was waiting on.
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
#[must_use = "dropping a JoinHandle that was never awaited detaches the task"]
pub struct JoinHandle<T> {
    cell: JoinCell<T>,
    key: TaskKey,
    awaited: bool,
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(cell: JoinCellOf<T>, key: TaskKey) -> JoinHandle<T> {
        JoinHandle {
            cell: cell.0,
            key,
            awaited: false,
        }
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.key.id
    }

    /// Whether the task has ended (completed, cancelled or panicked).
    pub fn is_finished(&self) -> bool {
        self.cell.borrow().finished
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
        context::try_with_current(|shared| {
            shared.run_id == self.key.run_id && shared.cancel(self.key)
        })
        .unwrap_or(false)
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let mut state = this.cell.borrow_mut();
        if state.finished {
            let result = state
                .result
                .take()
                .expect("JoinHandle polled after it returned its result");
            return Poll::Ready(result);
        }
        match &state.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            _ => state.waker = Some(cx.waker().clone()),
        }
        drop(state);
        this.awaited = true;
        context::try_with_current(|shared| shared.set_waiting(Waiting::Join(this.key.id)));
        Poll::Pending
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        if self.awaited && !self.is_finished() {
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
