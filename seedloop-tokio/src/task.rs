//! `tokio::task` on seedloop tasks: `spawn`, `spawn_local`, `spawn_blocking`,
//! `JoinHandle`, `JoinSet`, `yield_now`, `LocalSet`, `task_local!`.
//!
//! A facade task is a seedloop task with tokio's rules: dropping its `JoinHandle`
//! never cancels it (tokio detaches), `abort` cancels it at its current await point,
//! and a panic inside it is caught and returned as a [`JoinError`] instead of failing
//! the run (it is still a trace event). There is no `Send` bound: a simulation is one
//! thread, so code written for tokio's multi-threaded runtime compiles as it is.

use seedloop::task::Builder;
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

pub use tokio::task::futures::TaskLocalFuture;
pub use tokio::task::LocalKey;
/// tokio's `task_local!`: needs no runtime, so it is tokio's own.
pub use tokio::task_local;

/// A task's id (tokio's `task::Id`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Id(seedloop::task::TaskId);

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.index())
    }
}

/// The id of the running task (tokio's `task::id`).
///
/// # Panics
///
/// Outside a task of a simulation.
pub fn id() -> Id {
    Id(seedloop::task::current().id())
}

/// The id of the running task, if any (tokio's `task::try_id`).
pub fn try_id() -> Option<Id> {
    seedloop::task::try_current().map(|task| Id(task.id()))
}

/// Why a task did not return a value (tokio's `JoinError`).
pub struct JoinError {
    id: Id,
    panic: Option<String>,
}

impl JoinError {
    fn new(id: Id, error: seedloop::JoinError) -> JoinError {
        JoinError {
            id,
            panic: error.panic_message().map(str::to_string),
        }
    }

    /// Whether the task was aborted.
    pub fn is_cancelled(&self) -> bool {
        self.panic.is_none()
    }

    /// Whether the task panicked.
    pub fn is_panic(&self) -> bool {
        self.panic.is_some()
    }

    /// The panic's payload (its message, as a `String`).
    ///
    /// # Panics
    ///
    /// When the task did not panic (tokio's rule).
    pub fn into_panic(self) -> Box<dyn std::any::Any + Send + 'static> {
        self.try_into_panic()
            .unwrap_or_else(|_| panic!("`JoinError::into_panic` called on a task that was cancelled, not one that panicked"))
    }

    /// The panic's payload, or the error back when the task did not panic.
    pub fn try_into_panic(self) -> Result<Box<dyn std::any::Any + Send + 'static>, JoinError> {
        match self.panic {
            Some(message) => Ok(Box::new(message)),
            None => Err(self),
        }
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.id
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.panic {
            None => write!(f, "task {} was cancelled", self.id),
            Some(message) => write!(f, "task {} panicked with message {message:?}", self.id),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.panic {
            None => write!(f, "JoinError::Cancelled({:?})", self.id),
            Some(message) => write!(f, "JoinError::Panic({:?}, {message:?}, ...)", self.id),
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for std::io::Error {
    fn from(error: JoinError) -> std::io::Error {
        std::io::Error::other(error.to_string())
    }
}

/// An owned permission to join a task (tokio's `JoinHandle`): await it for the
/// task's output. Dropping it detaches the task, which keeps running.
pub struct JoinHandle<T> {
    inner: Option<seedloop::JoinHandle<T>>,
    id: Id,
}

impl<T> JoinHandle<T> {
    fn new(inner: seedloop::JoinHandle<T>) -> JoinHandle<T> {
        let id = Id(inner.id());
        JoinHandle {
            inner: Some(inner),
            id,
        }
    }

    fn inner(&self) -> &seedloop::JoinHandle<T> {
        self.inner.as_ref().expect("present until dropped")
    }

    /// Cancels the task at its current await point (no effect on a finished task).
    pub fn abort(&self) {
        self.inner().cancel();
    }

    /// Whether the task has ended.
    pub fn is_finished(&self) -> bool {
        self.inner().is_finished()
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.id
    }

    /// A handle that can abort the task without joining it.
    pub fn abort_handle(&self) -> AbortHandle {
        AbortHandle(self.inner().abort_handle())
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    /// Cancel safety: cancel safe; dropping the handle (a `select!` that took another
    /// branch) detaches the task.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let id = this.id;
        let inner = this.inner.as_mut().expect("present until dropped");
        Pin::new(inner)
            .poll(cx)
            .map(|result| result.map_err(|error| JoinError::new(id, error)))
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            inner.detach();
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle").field("id", &self.id).finish()
    }
}

/// Spawns `future` as a task of the simulation (tokio's `spawn`; no `Send` needed).
///
/// # Panics
///
/// Outside a simulation: facade code runs only inside one (`#[tokio::test]`,
/// `#[tokio::main]`, `Runtime::block_on`).
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    JoinHandle::new(Builder::new().catch_panics(true).spawn(future))
}

/// [`spawn`]: every facade task is local to the simulation's one thread.
#[track_caller]
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    spawn(future)
}

/// Runs a blocking closure as a simulated thread-pool job (tokio's
/// `spawn_blocking`): it finishes after a drawn virtual delay, on the simulation's
/// thread, in an order the seed replays.
#[track_caller]
pub fn spawn_blocking<F, R>(job: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + 'static,
    R: 'static,
{
    JoinHandle::new(seedloop::spawn_blocking(job))
}

/// Runs a blocking closure in place (tokio's `block_in_place`): a simulation has no
/// worker thread to hand over.
pub fn block_in_place<F: FnOnce() -> R, R>(job: F) -> R {
    job()
}

/// Yields to the other ready tasks (tokio's `yield_now`).
///
/// Cancel safety: cancel safe.
pub async fn yield_now() {
    seedloop::yield_now().await
}

/// A set of tasks whose outputs are returned in the order the tasks end (tokio's
/// `JoinSet`). Dropping the set aborts every task in it.
pub struct JoinSet<T> {
    tasks: BTreeMap<u64, seedloop::JoinHandle<T>>,
    next_number: u64,
    ended: Rc<Ended>,
}

/// Which tasks of a set ended, in the order they did, and who waits for them.
#[derive(Default)]
struct Ended {
    numbers: RefCell<VecDeque<u64>>,
    waiter: RefCell<Option<Waker>>,
}

/// Tells the set its task ended (completed, aborted or panicked) when dropped.
struct EndGuard {
    number: u64,
    ended: Rc<Ended>,
}

impl Drop for EndGuard {
    fn drop(&mut self) {
        self.ended.numbers.borrow_mut().push_back(self.number);
        let waiter = self.ended.waiter.borrow_mut().take();
        if let Some(waiter) = waiter {
            waiter.wake();
        }
    }
}

impl<T: 'static> Default for JoinSet<T> {
    fn default() -> JoinSet<T> {
        JoinSet::new()
    }
}

impl<T: 'static> JoinSet<T> {
    /// An empty set.
    pub fn new() -> JoinSet<T> {
        JoinSet {
            tasks: BTreeMap::new(),
            next_number: 0,
            ended: Rc::default(),
        }
    }

    /// How many tasks are in the set (ended ones included until joined).
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Spawns `future` into the set.
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        let number = self.next_number;
        self.next_number += 1;
        let guard = EndGuard {
            number,
            ended: self.ended.clone(),
        };
        let handle = Builder::new().catch_panics(true).spawn(async move {
            let _guard = guard;
            future.await
        });
        let abort = AbortHandle(handle.abort_handle());
        self.tasks.insert(number, handle);
        abort
    }

    /// [`JoinSet::spawn`]: every task is local.
    #[track_caller]
    pub fn spawn_local<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        self.spawn(future)
    }

    /// Waits for the next task to end and returns its output; `None` when the set is
    /// empty.
    ///
    /// Cancel safety: cancel safe; a task that ends while nobody waits stays in the
    /// set until joined.
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        std::future::poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// Polls for the next task to end.
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        loop {
            if self.tasks.is_empty() {
                return Poll::Ready(None);
            }
            let front = self.ended.numbers.borrow().front().copied();
            let Some(number) = front else {
                *self.ended.waiter.borrow_mut() = Some(cx.waker().clone());
                return Poll::Pending;
            };
            let Some(handle) = self.tasks.get_mut(&number) else {
                // Joined some other way already.
                self.ended.numbers.borrow_mut().pop_front();
                continue;
            };
            let id = Id(handle.id());
            // The guard runs as the task's future is dropped, a moment before the
            // handle learns the result: then the handle's waker brings us back.
            return match Pin::new(handle).poll(cx) {
                Poll::Ready(result) => {
                    self.ended.numbers.borrow_mut().pop_front();
                    self.tasks.remove(&number).expect("present").detach();
                    Poll::Ready(Some(result.map_err(|error| JoinError::new(id, error))))
                }
                Poll::Pending => Poll::Pending,
            };
        }
    }

    /// Aborts every task in the set (they stay in it until joined).
    pub fn abort_all(&mut self) {
        for handle in self.tasks.values() {
            handle.cancel();
        }
    }

    /// Aborts every task and waits for all of them to end.
    ///
    /// Cancel safety: cancel safe (the tasks are aborted either way).
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }

    /// Removes every task from the set without aborting them.
    pub fn detach_all(&mut self) {
        for (_, handle) in std::mem::take(&mut self.tasks) {
            handle.detach();
        }
    }

    /// Waits for every task and returns their outputs in the order they ended.
    ///
    /// # Panics
    ///
    /// When a task panicked (tokio's rule), with its message.
    pub async fn join_all(mut self) -> Vec<T> {
        let mut outputs = Vec::new();
        while let Some(result) = self.join_next().await {
            match result {
                Ok(output) => outputs.push(output),
                Err(error) if error.is_panic() => panic!("a JoinSet task panicked: {error}"),
                Err(_) => {}
            }
        }
        outputs
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        for (_, handle) in std::mem::take(&mut self.tasks) {
            handle.cancel();
            handle.detach();
        }
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet")
            .field("len", &self.tasks.len())
            .finish()
    }
}

/// A handle that can abort a task without joining it (tokio's `AbortHandle`).
#[derive(Clone, Debug)]
pub struct AbortHandle(seedloop::task::AbortHandle);

impl AbortHandle {
    /// Cancels the task at its current await point (no effect on an ended task).
    pub fn abort(&self) {
        self.0.cancel();
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        Id(self.0.id())
    }
}

/// A set of tasks local to one thread (tokio's `LocalSet`): in a simulation every
/// task is, so it only runs futures.
#[derive(Debug, Default)]
pub struct LocalSet {
    _private: (),
}

impl LocalSet {
    /// A new set.
    pub fn new() -> LocalSet {
        LocalSet::default()
    }

    /// Spawns a task (see [`spawn_local`]).
    #[track_caller]
    pub fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        spawn(future)
    }

    /// Runs `future` to completion.
    ///
    /// Cancel safety: as `future`'s.
    pub async fn run_until<F: Future>(&self, future: F) -> F::Output {
        future.await
    }
}
