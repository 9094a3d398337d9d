//! The queue's errors: [`QueueShutDown`] for the waiting `put` and `get`, the
//! `try_` methods' [`TryPutError`] (which hands the item back) and [`TryGetError`], and
//! [`TaskDoneError`] for a `task_done` with nothing unfinished.
//!
//! They name asyncio's exceptions (`QueueShutDown`, `QueueFull`, `QueueEmpty`,
//! `ValueError`) in their docs, so that a program ported from Python finds its cases.

use std::fmt;

/// The queue was shut down ([`Queue::shutdown`](super::Queue::shutdown); asyncio's
/// `QueueShutDown`).
///
/// # Examples
///
/// ```
/// use seedloop::sync::{Queue, QueueShutDown};
///
/// seedloop::Sim::new(0).run(async {
///     let queue = Queue::unbounded();
///     queue.put(1).await.unwrap();
///     queue.shutdown(false);
///     assert_eq!(queue.put(2).await, Err(QueueShutDown));
///     assert_eq!(queue.get().await, Ok(1), "what was put before still comes out");
///     assert_eq!(queue.get().await, Err(QueueShutDown));
/// }).unwrap();
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueShutDown;

impl fmt::Display for QueueShutDown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the queue was shut down")
    }
}

impl std::error::Error for QueueShutDown {}

/// Why [`Queue::try_put`](super::Queue::try_put) failed; the item comes back.
///
/// # Examples
///
/// ```
/// use seedloop::sync::{Queue, TryPutError};
///
/// let queue = Queue::bounded(1);
/// queue.try_put("a").unwrap();
/// let error = queue.try_put("b").unwrap_err();
/// assert!(matches!(error, TryPutError::Full("b")));
/// assert_eq!(error.into_inner(), "b", "the item comes back");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub enum TryPutError<T> {
    /// The queue is full, or putters wait ahead (asyncio's `QueueFull`).
    Full(T),
    /// The queue was shut down.
    ShutDown(T),
}

impl<T> TryPutError<T> {
    /// The item that was not put.
    pub fn into_inner(self) -> T {
        match self {
            TryPutError::Full(item) | TryPutError::ShutDown(item) => item,
        }
    }
}

impl<T> fmt::Debug for TryPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryPutError::Full(_) => write!(f, "Full(..)"),
            TryPutError::ShutDown(_) => write!(f, "ShutDown(..)"),
        }
    }
}

impl<T> fmt::Display for TryPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryPutError::Full(_) => write!(f, "the queue is full"),
            TryPutError::ShutDown(_) => write!(f, "the queue was shut down"),
        }
    }
}

impl<T> std::error::Error for TryPutError<T> {}

/// Why [`Queue::try_get`](super::Queue::try_get) failed.
///
/// # Examples
///
/// ```
/// use seedloop::sync::{Queue, TryGetError};
///
/// let queue = Queue::<u32>::unbounded();
/// assert_eq!(queue.try_get(), Err(TryGetError::Empty));
/// queue.shutdown(false);
/// assert_eq!(queue.try_get(), Err(TryGetError::ShutDown));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TryGetError {
    /// No item is available, or getters wait ahead (asyncio's `QueueEmpty`).
    Empty,
    /// The queue was shut down and has no items left.
    ShutDown,
}

impl fmt::Display for TryGetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryGetError::Empty => write!(f, "the queue is empty"),
            TryGetError::ShutDown => write!(f, "the queue was shut down"),
        }
    }
}

impl std::error::Error for TryGetError {}

/// `task_done` was called more times than items were put (asyncio raises
/// `ValueError`).
///
/// # Examples
///
/// ```
/// use seedloop::sync::{Queue, TaskDoneError};
///
/// let queue = Queue::unbounded();
/// queue.try_put(1).unwrap();
/// assert_eq!(queue.try_get(), Ok(1));
/// assert_eq!(queue.task_done(), Ok(()));
/// assert_eq!(queue.task_done(), Err(TaskDoneError), "only one item was put");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskDoneError;

impl fmt::Display for TaskDoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task_done() called more times than there were items put")
    }
}

impl std::error::Error for TaskDoneError {}
