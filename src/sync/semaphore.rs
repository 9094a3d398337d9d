//! `Semaphore`: asyncio's `Semaphore` and `BoundedSemaphore`, FIFO fair.
//!
//! A count of permits plus a [`WaitQueue`] of requests (each for one or more
//! permits). A request is served at once only when nobody waits and enough permits
//! are free; otherwise it joins the line, and released permits go to the line's
//! front, in order: a large request at the front holds back smaller ones behind it
//! (strict FIFO, so no request starves). A waiter cancelled after its permits were
//! handed over gives them back, and they go to the next waiter; a waiter cancelled at
//! the front of the line lets the requests behind it be served from the free permits.

use super::probe::Probe;
use super::wait_queue::{Cancelled, Polled, WaitQueue, WaiterKey};
use crate::id::TaskId;
use crate::runtime::executor::Site;
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A counting semaphore (asyncio's `Semaphore`; [`Semaphore::bounded`] is
/// `BoundedSemaphore`), granting permits in request order.
///
/// # Examples
///
/// ```
/// use seedloop::sync::Semaphore;
/// use std::cell::Cell;
/// use std::rc::Rc;
///
/// seedloop::check(50, || async {
///     let slots = Rc::new(Semaphore::new(2).named("connections"));
///     let inside = Rc::new(Cell::new(0));
///     let tasks: Vec<_> = (0..5)
///         .map(|_| {
///             let (slots, inside) = (slots.clone(), inside.clone());
///             seedloop::spawn(async move {
///                 let _permit = slots.acquire().await.unwrap();
///                 inside.set(inside.get() + 1);
///                 assert!(inside.get() <= 2);
///                 seedloop::yield_now().await;
///                 inside.set(inside.get() - 1);
///             })
///         })
///         .collect();
///     for task in tasks {
///         task.await.unwrap();
///     }
///     assert_eq!(slots.available(), 2);
/// });
/// ```
pub struct Semaphore {
    state: RefCell<SemaphoreState>,
}

struct SemaphoreState {
    permits: u64,
    // Bounded semaphores: the initial count, which releases may not exceed.
    bound: Option<u64>,
    // Permits held by live `SemaphorePermit`s.
    guarded: u64,
    closed: bool,
    queue: WaitQueue,
}

/// Why an acquisition failed.
///
/// # Examples
///
/// ```
/// use seedloop::sync::{AcquireError, Semaphore};
///
/// seedloop::Sim::new(0).run(async {
///     let pool = Semaphore::bounded(2);
///     let error = pool.acquire_many(3).await.unwrap_err();
///     assert_eq!(error, AcquireError::TooMany { requested: 3, bound: 2 });
///     pool.close();
///     assert_eq!(pool.acquire().await.unwrap_err(), AcquireError::Closed);
/// }).unwrap();
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AcquireError {
    /// The semaphore was closed ([`Semaphore::close`]).
    Closed,
    /// More permits were asked of a bounded semaphore than it can ever have.
    TooMany {
        /// Permits asked for.
        requested: u64,
        /// The semaphore's bound.
        bound: u64,
    },
}

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AcquireError::Closed => write!(f, "the semaphore is closed"),
            AcquireError::TooMany { requested, bound } => write!(
                f,
                "asked for {requested} permits of a bounded semaphore that never has more than {bound}"
            ),
        }
    }
}

impl std::error::Error for AcquireError {}

/// Why [`Semaphore::try_acquire`] failed.
///
/// # Examples
///
/// ```
/// use seedloop::sync::{Semaphore, TryAcquireError};
///
/// let pool = Semaphore::new(1);
/// let permit = pool.try_acquire().unwrap();
/// assert_eq!(pool.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
/// drop(permit);
/// pool.close();
/// assert_eq!(pool.try_acquire().unwrap_err(), TryAcquireError::Closed);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TryAcquireError {
    /// Not enough permits are free, or tasks wait ahead.
    NoPermits,
    /// The semaphore was closed.
    Closed,
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::NoPermits => {
                write!(
                    f,
                    "not enough permits are free, or tasks are waiting for them"
                )
            }
            TryAcquireError::Closed => write!(f, "the semaphore is closed"),
        }
    }
}

impl std::error::Error for TryAcquireError {}

/// Releasing would take a bounded semaphore above its initial count (asyncio's
/// `BoundedSemaphore` raises `ValueError`).
///
/// # Examples
///
/// ```
/// use seedloop::sync::{ReleaseError, Semaphore};
///
/// let pool = Semaphore::bounded(1);
/// assert_eq!(pool.release(1), Err(ReleaseError { bound: 1, would_have: 2 }));
/// assert_eq!(pool.available(), 1, "a refused release changes nothing");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleaseError {
    /// The semaphore's bound.
    pub bound: u64,
    /// Permits free plus held plus released.
    pub would_have: u64,
}

impl fmt::Display for ReleaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "BoundedSemaphore released too many times: it would have {} permits, above its bound of {}",
            self.would_have, self.bound
        )
    }
}

impl std::error::Error for ReleaseError {}

impl Semaphore {
    /// A semaphore with `permits` permits; [`Semaphore::release`] may add more.
    pub fn new(permits: usize) -> Semaphore {
        Semaphore::build(permits as u64, None)
    }

    /// A bounded semaphore (asyncio's `BoundedSemaphore`): releasing above the initial
    /// count is an error.
    pub fn bounded(permits: usize) -> Semaphore {
        Semaphore::build(permits as u64, Some(permits as u64))
    }

    fn build(permits: u64, bound: Option<u64>) -> Semaphore {
        Semaphore {
            state: RefCell::new(SemaphoreState {
                permits,
                bound,
                guarded: 0,
                closed: false,
                queue: WaitQueue::new(Probe::with_holders("Semaphore", None, true)),
            }),
        }
    }

    /// Names the semaphore in traces and reports.
    pub fn named(self, name: impl Into<String>) -> Semaphore {
        self.state.borrow_mut().queue.probe.set_name(name);
        self
    }

    /// Waits for one permit; it returns when the permit is dropped. An error only
    /// once the semaphore is closed.
    ///
    /// # Cancel safety
    ///
    /// As [`Semaphore::acquire_many`].
    #[track_caller]
    pub fn acquire(&self) -> Acquire<'_> {
        self.acquire_many(1)
    }

    /// Waits for `permits` permits at once, in line with every other request.
    ///
    /// # Cancel safety
    ///
    /// A dropped acquire leaves the line and never gets permits. If permits had
    /// already been handed to it (it was cancelled before it ran), they go to the next
    /// waiters, or back to the free count: nothing is lost. A request that leaves the
    /// front of the line no longer holds back the smaller ones behind it: they are
    /// served from the free permits at once.
    #[track_caller]
    pub fn acquire_many(&self, permits: u32) -> Acquire<'_> {
        Acquire {
            semaphore: self,
            permits: permits as u64,
            key: None,
            done: false,
            site: std::panic::Location::caller(),
        }
    }

    /// Takes one permit if one is free and nobody waits.
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Takes `permits` permits if they are free and nobody waits.
    pub fn try_acquire_many(&self, permits: u32) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        let permits = permits as u64;
        let mut state = self.state.borrow_mut();
        if state.closed {
            return Err(TryAcquireError::Closed);
        }
        if !state.queue.is_empty() || state.permits < permits {
            return Err(TryAcquireError::NoPermits);
        }
        state.permits -= permits;
        state.queue.acquired_now(permits);
        drop(state);
        Ok(self.permit(permits))
    }

    /// Free permits (asyncio's `_value`).
    pub fn available(&self) -> usize {
        self.state.borrow().permits as usize
    }

    /// Whether no permit is free (asyncio's `locked()`).
    pub fn is_locked(&self) -> bool {
        self.available() == 0
    }

    /// How many tasks wait.
    pub fn waiters(&self) -> usize {
        self.state.borrow().queue.len()
    }

    /// Closes the semaphore: every waiting and later acquisition fails with
    /// [`AcquireError::Closed`]; permits already held stay valid.
    pub fn close(&self) {
        let mut state = self.state.borrow_mut();
        state.closed = true;
        state.queue.close_all();
    }

    /// Whether [`Semaphore::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.state.borrow().closed
    }

    /// Adds `permits` permits (asyncio's `release()`, for permits taken with
    /// [`SemaphorePermit::forget`]); a bounded semaphore refuses to exceed its bound.
    pub fn release(&self, permits: usize) -> Result<(), ReleaseError> {
        let permits = permits as u64;
        let mut state = self.state.borrow_mut();
        if let Some(bound) = state.bound {
            let would_have = state.permits + state.guarded + permits;
            if would_have > bound {
                return Err(ReleaseError { bound, would_have });
            }
        }
        state.permits += permits;
        state.queue.released(None, 0);
        Semaphore::serve(&mut state);
        Ok(())
    }

    /// Hands free permits to waiters at the front of the line, in order.
    fn serve(state: &mut SemaphoreState) {
        while let Some(wanted) = state.queue.front_amount() {
            if state.permits < wanted {
                break;
            }
            state.permits -= wanted;
            state.queue.grant_front();
        }
    }

    fn permit(&self, permits: u64) -> SemaphorePermit<'_> {
        self.state.borrow_mut().guarded += permits;
        SemaphorePermit {
            semaphore: self,
            permits,
            holder: WaitQueue::current_task(),
        }
    }

    fn give_back(&self, permits: u64, holder: Option<TaskId>) {
        let mut state = self.state.borrow_mut();
        state.guarded -= permits;
        state.permits += permits;
        state.queue.released(holder, permits);
        Semaphore::serve(&mut state);
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.borrow();
        f.debug_struct("Semaphore")
            .field("name", &state.queue.probe.name())
            .field("available", &state.permits)
            .field("waiters", &state.queue.len())
            .field("closed", &state.closed)
            .finish()
    }
}

/// The future returned by [`Semaphore::acquire`] and [`Semaphore::acquire_many`];
/// see there for its cancel safety.
///
/// # Examples
///
/// ```
/// use seedloop::sync::{Acquire, Semaphore};
///
/// seedloop::Sim::new(0).run(async {
///     let pool = Semaphore::new(3);
///     let acquire: Acquire<'_> = pool.acquire_many(2);
///     let permit = acquire.await.unwrap();
///     assert_eq!((permit.permits(), pool.available()), (2, 1));
/// }).unwrap();
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Acquire<'a> {
    semaphore: &'a Semaphore,
    permits: u64,
    key: Option<WaiterKey>,
    done: bool,
    site: Site,
}

impl<'a> Future for Acquire<'a> {
    type Output = Result<SemaphorePermit<'a>, AcquireError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // A spin on a primitive that is always ready still takes steps.
        std::task::ready!(crate::runtime::services::poll_proceed(cx));
        let site = self.site;
        assert!(!self.done, "Acquire polled after it returned");
        let semaphore = self.semaphore;
        let mut state = semaphore.state.borrow_mut();
        let permits = self.permits;
        let outcome = match self.key {
            None => {
                if state.closed {
                    Some(Err(AcquireError::Closed))
                } else if let Some(bound) = state.bound.filter(|bound| permits > *bound) {
                    Some(Err(AcquireError::TooMany {
                        requested: permits,
                        bound,
                    }))
                } else if state.queue.is_empty() && state.permits >= permits {
                    state.permits -= permits;
                    state.queue.acquired_now(permits);
                    Some(Ok(()))
                } else {
                    self.key = Some(state.queue.wait(permits, cx, site));
                    None
                }
            }
            Some(key) => match state.queue.poll(key, cx, site) {
                Polled::Waiting => None,
                Polled::Granted(_) => {
                    self.key = None;
                    Some(Ok(()))
                }
                Polled::Closed => {
                    self.key = None;
                    Some(Err(AcquireError::Closed))
                }
            },
        };
        drop(state);
        match outcome {
            None => Poll::Pending,
            Some(result) => {
                self.done = true;
                Poll::Ready(result.map(|()| semaphore.permit(permits)))
            }
        }
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else {
            return;
        };
        let mut state = self.semaphore.state.borrow_mut();
        if let Cancelled::Granted(permits) = state.queue.cancel(key) {
            // Handed over, cancelled before it ran: the next waiter gets them.
            state.permits += permits;
        }
        // Also when it only waited: a request that leaves the front of the line no
        // longer holds back the smaller ones behind it.
        Semaphore::serve(&mut state);
    }
}

impl fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire")
            .field("permits", &self.permits)
            .field("waiting", &self.key.is_some())
            .finish()
    }
}

/// Permits of a [`Semaphore`], given back when dropped.
///
/// # Examples
///
/// ```
/// use seedloop::sync::Semaphore;
///
/// let pool = Semaphore::new(2);
/// let permit = pool.try_acquire().unwrap();
/// assert_eq!(pool.available(), 1);
/// drop(permit);
/// assert_eq!(pool.available(), 2, "given back when dropped");
/// pool.try_acquire().unwrap().forget();
/// assert_eq!(pool.available(), 1, "a forgotten permit stays taken");
/// pool.release(1).unwrap();
/// assert_eq!(pool.available(), 2);
/// ```
#[must_use = "dropping a permit releases it at once"]
pub struct SemaphorePermit<'a> {
    semaphore: &'a Semaphore,
    permits: u64,
    holder: Option<TaskId>,
}

impl SemaphorePermit<'_> {
    /// How many permits this is.
    pub fn permits(&self) -> usize {
        self.permits as usize
    }

    /// Keeps the permits taken without giving them back on drop (asyncio's manual
    /// `acquire()` without `release()`); [`Semaphore::release`] returns them.
    pub fn forget(mut self) {
        let mut state = self.semaphore.state.borrow_mut();
        state.guarded -= self.permits;
        // Nobody holds forgotten permits: they must not make the task a holder in
        // deadlock reports and the wait-for graph.
        state.queue.forget_holder(self.holder, self.permits);
        self.permits = 0;
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        if self.permits > 0 {
            self.semaphore.give_back(self.permits, self.holder);
        }
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("permits", &self.permits)
            .finish()
    }
}
