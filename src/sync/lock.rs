//! `Lock<T>`: asyncio's `Lock`, FIFO fair, guarding a value.
//!
//! The lock is a flag plus a [`WaitQueue`]. `lock()` takes the lock at once only when
//! it is free *and* nobody waits; otherwise the task joins the line. Unlocking with
//! waiters hands the lock straight to the first waiter (the flag stays set), so a
//! task that calls `lock()` later can never barge in ahead of one that was waiting.
//! A waiter cancelled after the hand-off but before it ran passes the lock on to the
//! next waiter, or unlocks. A guard dropped by cancellation unlocks like any other.
//!
//! The value lives in a `RefCell`; the lock's discipline means its borrow never
//! conflicts, and the crate needs no `unsafe`.

use super::probe::Probe;
use super::wait_queue::{Cancelled, Polled, WaitQueue, WaiterKey};
use crate::id::TaskId;
use crate::runtime::executor::Site;
use std::cell::{RefCell, RefMut};
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::task::{Context, Poll};

/// An async mutual-exclusion lock guarding a `T` (asyncio's `Lock`), granted in the
/// order tasks asked for it.
///
/// # Examples
///
/// ```
/// use seedloop::sync::Lock;
/// use std::rc::Rc;
///
/// seedloop::check(50, || async {
///     let counter = Rc::new(Lock::new(0u32).named("counter"));
///     let workers: Vec<_> = (0..4)
///         .map(|_| {
///             let counter = counter.clone();
///             seedloop::spawn(async move {
///                 let mut value = counter.lock().await;
///                 let read = *value;
///                 seedloop::yield_now().await; // still holding the lock
///                 *value = read + 1;
///             })
///         })
///         .collect();
///     for worker in workers {
///         worker.await.unwrap();
///     }
///     assert_eq!(*counter.lock().await, 4);
/// });
/// ```
pub struct Lock<T> {
    state: RefCell<LockState>,
    value: RefCell<T>,
}

struct LockState {
    locked: bool,
    queue: WaitQueue,
}

/// The lock is held (by [`Lock::try_lock`]).
///
/// # Examples
///
/// ```
/// use seedloop::sync::{Lock, TryLockError};
///
/// let lock = Lock::new(1);
/// let guard = lock.try_lock().unwrap();
/// assert_eq!(lock.try_lock().unwrap_err(), TryLockError);
/// drop(guard);
/// assert!(lock.try_lock().is_ok());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TryLockError;

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the lock is held, or tasks are waiting for it")
    }
}

impl std::error::Error for TryLockError {}

impl<T> Lock<T> {
    /// An unlocked lock guarding `value`.
    pub fn new(value: T) -> Lock<T> {
        Lock {
            state: RefCell::new(LockState {
                locked: false,
                queue: WaitQueue::new(Probe::with_holders("Lock", None, true)),
            }),
            value: RefCell::new(value),
        }
    }

    /// Names the lock in traces, deadlock reports and fairness reports.
    pub fn named(self, name: impl Into<String>) -> Lock<T> {
        self.state.borrow_mut().queue.probe.set_name(name);
        self
    }

    /// Waits for the lock (asyncio's `async with lock`); the guard unlocks when
    /// dropped. Waiters are served in the order they called `lock`.
    ///
    /// # Cancel safety
    ///
    /// A dropped `lock()` never leaves the lock held. Dropped while waiting, it leaves
    /// the line and never gets the lock; dropped after the lock was handed to it but
    /// before it ran, it passes the lock to the next waiter, or unlocks when nobody
    /// waits. The waiters behind it keep their order. A guard dropped by cancellation
    /// unlocks like any other.
    #[track_caller]
    pub fn lock(&self) -> LockFuture<'_, T> {
        self.lock_at(std::panic::Location::caller())
    }

    /// [`Lock::lock`], reporting `site` as where the task awaits: a primitive that
    /// takes the lock for its caller (`Condition`) passes the caller's line on.
    pub(crate) fn lock_at(&self, site: Site) -> LockFuture<'_, T> {
        LockFuture {
            lock: self,
            key: None,
            site,
        }
    }

    /// Takes the lock if it is free and nobody waits for it.
    pub fn try_lock(&self) -> Result<LockGuard<'_, T>, TryLockError> {
        let mut state = self.state.borrow_mut();
        if state.locked || !state.queue.is_empty() {
            return Err(TryLockError);
        }
        state.locked = true;
        state.queue.acquired_now(1);
        drop(state);
        Ok(self.guard())
    }

    /// Whether the lock is held (asyncio's `locked()`).
    pub fn is_locked(&self) -> bool {
        self.state.borrow().locked
    }

    /// How many tasks wait for the lock.
    pub fn waiters(&self) -> usize {
        self.state.borrow().queue.len()
    }

    /// The value, when nobody else can reach the lock.
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    /// The value, consuming the lock.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }

    fn guard(&self) -> LockGuard<'_, T> {
        LockGuard {
            lock: self,
            value: Some(self.value.borrow_mut()),
            holder: WaitQueue::current_task(),
        }
    }

    /// Unlocks, or hands the lock to the first waiter.
    fn unlock(&self, holder: Option<TaskId>) {
        let mut state = self.state.borrow_mut();
        state.queue.released(holder, 1);
        if state.queue.grant_front().is_none() {
            state.locked = false;
        }
    }

    pub(crate) fn is_same(&self, other: &Lock<T>) -> bool {
        std::ptr::eq(self, other)
    }
}

impl<T: Default> Default for Lock<T> {
    fn default() -> Lock<T> {
        Lock::new(T::default())
    }
}

impl<T> fmt::Debug for Lock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.borrow();
        f.debug_struct("Lock")
            .field("name", &state.queue.probe.name())
            .field("locked", &state.locked)
            .field("waiters", &state.queue.len())
            .finish()
    }
}

/// The future returned by [`Lock::lock`]; see there for its cancel safety.
///
/// # Examples
///
/// ```
/// use seedloop::sync::{Lock, LockFuture};
///
/// seedloop::Sim::new(0).run(async {
///     let lock = Lock::new(vec![1]);
///     let taking: LockFuture<'_, Vec<i32>> = lock.lock();
///     taking.await.push(2);
///     assert_eq!(*lock.lock().await, [1, 2]);
/// }).unwrap();
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct LockFuture<'a, T> {
    lock: &'a Lock<T>,
    key: Option<WaiterKey>,
    site: Site,
}

impl<'a, T> Future for LockFuture<'a, T> {
    type Output = LockGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<LockGuard<'a, T>> {
        // A spin on a primitive that is always ready still takes steps.
        std::task::ready!(crate::runtime::services::poll_proceed(cx));
        let site = self.site;
        let lock = self.lock;
        let mut state = lock.state.borrow_mut();
        match self.key {
            None => {
                if !state.locked && state.queue.is_empty() {
                    state.locked = true;
                    state.queue.acquired_now(1);
                    drop(state);
                    return Poll::Ready(lock.guard());
                }
                self.key = Some(state.queue.wait(1, cx, site));
                Poll::Pending
            }
            Some(key) => match state.queue.poll(key, cx, site) {
                Polled::Waiting => Poll::Pending,
                Polled::Granted(_) => {
                    self.key = None;
                    drop(state);
                    Poll::Ready(lock.guard())
                }
                Polled::Closed => unreachable!("a lock is never closed"),
            },
        }
    }
}

impl<T> Drop for LockFuture<'_, T> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else {
            return;
        };
        let outcome = self.lock.state.borrow_mut().queue.cancel(key);
        if let Cancelled::Granted(_) = outcome {
            // Handed the lock, cancelled before it ran: pass it on.
            let mut state = self.lock.state.borrow_mut();
            if state.queue.grant_front().is_none() {
                state.locked = false;
            }
        }
    }
}

impl<T> fmt::Debug for LockFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockFuture")
            .field("waiting", &self.key.is_some())
            .finish()
    }
}

/// Holds a [`Lock`]; derefs to the guarded value; unlocks when dropped.
///
/// # Examples
///
/// ```
/// use seedloop::sync::Lock;
///
/// seedloop::Sim::new(0).run(async {
///     let lock = Lock::new(0);
///     let mut guard = lock.lock().await;
///     *guard += 1; // the guard derefs to the value
///     assert!(lock.is_locked());
///     drop(guard);
///     assert!(!lock.is_locked());
///     assert_eq!(lock.into_inner(), 1);
/// }).unwrap();
/// ```
pub struct LockGuard<'a, T> {
    lock: &'a Lock<T>,
    // Taken (the borrow ended) just before the unlock.
    value: Option<RefMut<'a, T>>,
    holder: Option<TaskId>,
}

impl<'a, T> LockGuard<'a, T> {
    pub(crate) fn lock(&self) -> &'a Lock<T> {
        self.lock
    }
}

impl<T> Deref for LockGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.value.as_ref().expect("a live guard holds the value")
    }
}

impl<T> DerefMut for LockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.value.as_mut().expect("a live guard holds the value")
    }
}

impl<T> Drop for LockGuard<'_, T> {
    fn drop(&mut self) {
        self.value = None;
        self.lock.unlock(self.holder);
    }
}

impl<T: fmt::Debug> fmt::Debug for LockGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
