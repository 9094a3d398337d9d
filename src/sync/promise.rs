//! `Promise<T, E>`: asyncio's `Future`, a result set once and awaited by any number of
//! tasks.
//!
//! Awaiters wait in a [`WaitQueue`]; setting the result (or an error, or cancelling)
//! grants them all, and each takes a clone of the outcome when it runs. Done
//! callbacks run exactly once, at the moment the promise is done (or at once when
//! added to a done promise). asyncio schedules them with `call_soon` instead; calling
//! them synchronously keeps their order obvious in a trace, and a callback that needs
//! to run later can spawn a task.

use super::probe::Probe;
use super::wait_queue::{Polled, WaitQueue, WaiterKey};
use crate::runtime::executor::Site;
use std::cell::RefCell;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Why a promise gave no value.
///
/// # Examples
///
/// ```
/// use seedloop::sync::{Promise, PromiseError};
///
/// let failing: Promise<u32> = Promise::new();
/// assert_eq!(failing.result(), Err(PromiseError::NotDone));
/// failing.set_error("refused".to_string()).unwrap();
/// assert_eq!(failing.result(), Err(PromiseError::Failed("refused".to_string())));
/// let dropped: Promise<u32> = Promise::new();
/// assert!(dropped.cancel());
/// assert_eq!(dropped.result(), Err(PromiseError::Cancelled));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PromiseError<E> {
    /// [`Promise::result`] was called before the promise was done (asyncio's
    /// `InvalidStateError`). Awaiting never gives this.
    NotDone,
    /// The promise was set to this error ([`Promise::set_error`]).
    Failed(E),
    /// The promise was cancelled ([`Promise::cancel`]).
    Cancelled,
}

impl<E: fmt::Display> fmt::Display for PromiseError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PromiseError::NotDone => write!(f, "the promise is not done yet"),
            PromiseError::Failed(error) => write!(f, "the promise failed: {error}"),
            PromiseError::Cancelled => write!(f, "the promise was cancelled"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for PromiseError<E> {}

/// The promise was already done (asyncio's `InvalidStateError`).
///
/// # Examples
///
/// ```
/// use seedloop::sync::{InvalidState, Promise};
///
/// let once: Promise<u32> = Promise::new();
/// once.set_result(1).unwrap();
/// assert_eq!(once.set_result(2), Err(InvalidState));
/// assert_eq!(once.result(), Ok(1));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidState;

impl fmt::Display for InvalidState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the promise is already done: a result, error or cancellation is set once"
        )
    }
}

impl std::error::Error for InvalidState {}

type Outcome<T, E> = Result<T, PromiseError<E>>;
type Callback<T, E> = Box<dyn FnOnce(&Outcome<T, E>)>;

/// A value that will be set once, awaited by several tasks (asyncio's `Future`).
///
/// # Examples
///
/// ```
/// use seedloop::sync::{Promise, PromiseError};
/// use std::rc::Rc;
///
/// seedloop::Sim::new(0).run(async {
///     let answer: Rc<Promise<u32>> = Rc::new(Promise::new().named("answer"));
///     let readers: Vec<_> = (0..2)
///         .map(|_| {
///             let answer = answer.clone();
///             seedloop::spawn(async move { answer.wait().await })
///         })
///         .collect();
///     assert_eq!(answer.result(), Err(PromiseError::NotDone));
///     answer.set_result(42).unwrap();
///     assert!(answer.set_result(43).is_err(), "set once");
///     for reader in readers {
///         assert_eq!(reader.await.unwrap(), Ok(42));
///     }
///     assert_eq!((&*answer).await, Ok(42));
/// }).unwrap();
/// ```
pub struct Promise<T, E = String> {
    state: RefCell<PromiseState<T, E>>,
}

struct PromiseState<T, E> {
    outcome: Option<Outcome<T, E>>,
    callbacks: Vec<Callback<T, E>>,
    queue: WaitQueue,
}

impl<T, E> Promise<T, E> {
    /// A promise that is not done.
    pub fn new() -> Promise<T, E> {
        Promise {
            state: RefCell::new(PromiseState {
                outcome: None,
                callbacks: Vec::new(),
                queue: WaitQueue::new(Probe::with_holders("Promise", None, false)),
            }),
        }
    }

    /// Names the promise in traces and reports.
    pub fn named(self, name: impl Into<String>) -> Promise<T, E> {
        self.state.borrow_mut().queue.probe.set_name(name);
        self
    }

    /// Sets the value; wakes every awaiter and runs the done callbacks.
    pub fn set_result(&self, value: T) -> Result<(), InvalidState> {
        self.finish(Ok(value))
    }

    /// Sets an error (asyncio's `set_exception`).
    pub fn set_error(&self, error: E) -> Result<(), InvalidState> {
        self.finish(Err(PromiseError::Failed(error)))
    }

    /// Cancels the promise; returns `false`, changing nothing, when it is already
    /// done.
    pub fn cancel(&self) -> bool {
        self.finish(Err(PromiseError::Cancelled)).is_ok()
    }

    fn finish(&self, outcome: Outcome<T, E>) -> Result<(), InvalidState> {
        // Checked through a shared borrow, so a done callback may call this too.
        if self.is_done() {
            return Err(InvalidState);
        }
        let callbacks = {
            let mut state = self.state.borrow_mut();
            state.outcome = Some(outcome);
            state.queue.released(None, 0);
            state.queue.grant_all();
            std::mem::take(&mut state.callbacks)
        };
        let state = self.state.borrow();
        let outcome = state.outcome.as_ref().expect("just set");
        for callback in callbacks {
            callback(outcome);
        }
        Ok(())
    }

    /// Whether a result, error or cancellation is set.
    pub fn is_done(&self) -> bool {
        self.state.borrow().outcome.is_some()
    }

    /// Whether the promise was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(
            self.state.borrow().outcome,
            Some(Err(PromiseError::Cancelled))
        )
    }

    /// Runs `callback` with the outcome once the promise is done (at once if it is).
    /// Each callback runs exactly once.
    ///
    /// # Examples
    ///
    /// ```
    /// use seedloop::sync::Promise;
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    ///
    /// let seen = Rc::new(Cell::new(0));
    /// let promise: Promise<u32> = Promise::new();
    /// promise.add_done_callback({
    ///     let seen = seen.clone();
    ///     move |outcome| seen.set(*outcome.as_ref().unwrap())
    /// });
    /// assert_eq!(seen.get(), 0, "not done yet");
    /// promise.set_result(4).unwrap();
    /// assert_eq!(seen.get(), 4, "ran as the promise was done");
    /// ```
    pub fn add_done_callback(&self, callback: impl FnOnce(&Outcome<T, E>) + 'static) {
        let state = self.state.borrow();
        if let Some(outcome) = &state.outcome {
            callback(outcome);
            return;
        }
        drop(state);
        self.state.borrow_mut().callbacks.push(Box::new(callback));
    }

    /// Waits until the promise is done and returns a clone of its outcome. Awaiting
    /// `&promise` does the same.
    ///
    /// # Cancel safety
    ///
    /// A dropped wait leaves the line and takes nothing: the outcome stays in the
    /// promise, and every other awaiter still gets its copy.
    #[track_caller]
    pub fn wait(&self) -> PromiseWait<'_, T, E> {
        PromiseWait {
            promise: self,
            key: None,
            site: std::panic::Location::caller(),
        }
    }
}

impl<T: Clone, E: Clone> Promise<T, E> {
    /// The outcome, or [`PromiseError::NotDone`] (asyncio's `result()`).
    pub fn result(&self) -> Outcome<T, E> {
        self.state
            .borrow()
            .outcome
            .clone()
            .unwrap_or(Err(PromiseError::NotDone))
    }
}

impl<T, E> Default for Promise<T, E> {
    fn default() -> Promise<T, E> {
        Promise::new()
    }
}

impl<T, E> fmt::Debug for Promise<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.borrow();
        f.debug_struct("Promise")
            .field("name", &state.queue.probe.name())
            .field("done", &state.outcome.is_some())
            .field("waiters", &state.queue.len())
            .finish()
    }
}

/// Awaiting `&promise` is [`Promise::wait`], with the same cancel safety.
impl<'a, T: Clone, E: Clone> IntoFuture for &'a Promise<T, E> {
    type Output = Outcome<T, E>;
    type IntoFuture = PromiseWait<'a, T, E>;

    #[track_caller]
    fn into_future(self) -> PromiseWait<'a, T, E> {
        self.wait()
    }
}

/// The future returned by [`Promise::wait`] (and by awaiting `&promise`); see
/// [`Promise::wait`] for its cancel safety.
///
/// # Examples
///
/// ```
/// use seedloop::sync::{Promise, PromiseWait};
///
/// seedloop::Sim::new(0).run(async {
///     let promise: Promise<&str> = Promise::new();
///     promise.set_result("done").unwrap();
///     let wait: PromiseWait<'_, &str, String> = promise.wait();
///     assert_eq!(wait.await, Ok("done"));
/// }).unwrap();
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct PromiseWait<'a, T, E> {
    promise: &'a Promise<T, E>,
    key: Option<WaiterKey>,
    site: Site,
}

impl<T: Clone, E: Clone> Future for PromiseWait<'_, T, E> {
    type Output = Outcome<T, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome<T, E>> {
        // A spin on a primitive that is always ready still takes steps.
        std::task::ready!(crate::runtime::services::poll_proceed(cx));
        let site = self.site;
        let this = &mut *self;
        let mut state = this.promise.state.borrow_mut();
        match this.key {
            None => {
                if let Some(outcome) = &state.outcome {
                    let outcome = outcome.clone();
                    state.queue.acquired_now(0);
                    return Poll::Ready(outcome);
                }
                this.key = Some(state.queue.wait(0, cx, site));
                Poll::Pending
            }
            Some(key) => match state.queue.poll(key, cx, site) {
                Polled::Waiting => Poll::Pending,
                Polled::Granted(_) | Polled::Closed => {
                    this.key = None;
                    let outcome = state.outcome.clone().expect("granted once done");
                    Poll::Ready(outcome)
                }
            },
        }
    }
}

impl<T, E> Drop for PromiseWait<'_, T, E> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.promise.state.borrow_mut().queue.cancel(key);
        }
    }
}

impl<T, E> fmt::Debug for PromiseWait<'_, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PromiseWait")
            .field("waiting", &self.key.is_some())
            .finish()
    }
}
