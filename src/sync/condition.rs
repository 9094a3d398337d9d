//! `Condition`: asyncio's `Condition`, over its own [`Lock`].
//!
//! `wait(guard)` joins the condition's line, then releases the lock; `notify(n)` grants
//! the first `n` waiters, who then queue for the lock again and return holding it. A
//! waiter cancelled after it was notified but before it ran passes the notification
//! on to the next waiter (asyncio does the same since 3.13), so a `notify(1)` is never
//! lost to a cancelled task.

use super::lock::{Lock, LockFuture, LockGuard};
use super::probe::Probe;
use super::wait_queue::{Cancelled, Polled, WaitQueue, WaiterKey};
use crate::runtime::executor::Site;
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A condition variable with its own lock guarding a `T` (asyncio's `Condition`).
///
/// ```
/// use seedloop::sync::Condition;
/// use std::rc::Rc;
///
/// seedloop::check(50, || async {
///     let items = Rc::new(Condition::new(Vec::<u32>::new()));
///     let consumer = seedloop::spawn({
///         let items = items.clone();
///         async move {
///             let guard = items.lock().await;
///             let mut guard = items.wait_for(guard, |items| !items.is_empty()).await;
///             guard.pop().unwrap()
///         }
///     });
///     seedloop::yield_now().await;
///     let mut guard = items.lock().await;
///     guard.push(7);
///     items.notify(1);
///     drop(guard);
///     assert_eq!(consumer.await.unwrap(), 7);
/// });
/// ```
pub struct Condition<T> {
    lock: Lock<T>,
    waiters: RefCell<WaitQueue>,
}

impl<T> Condition<T> {
    /// A condition whose lock guards `value`.
    pub fn new(value: T) -> Condition<T> {
        Condition {
            lock: Lock::new(value),
            waiters: RefCell::new(WaitQueue::new(Probe::with_holders(
                "Condition",
                None,
                false,
            ))),
        }
    }

    /// Names the condition (and its lock) in traces and reports.
    pub fn named(self, name: impl Into<String>) -> Condition<T> {
        let name = name.into();
        self.waiters.borrow_mut().probe.set_name(name.clone());
        Condition {
            lock: self.lock.named(name),
            waiters: self.waiters,
        }
    }

    /// Takes the condition's lock.
    #[track_caller]
    pub fn lock(&self) -> LockFuture<'_, T> {
        self.lock.lock()
    }

    /// The condition's lock.
    pub fn inner_lock(&self) -> &Lock<T> {
        &self.lock
    }

    /// Releases the lock, waits to be notified, takes the lock again and returns its
    /// guard.
    ///
    /// # Panics
    ///
    /// When `guard` is not a guard of this condition's lock.
    #[track_caller]
    pub fn wait<'a>(&'a self, guard: LockGuard<'a, T>) -> ConditionWait<'a, T> {
        self.wait_at(guard, std::panic::Location::caller())
    }

    #[track_caller]
    fn wait_at<'a>(&'a self, guard: LockGuard<'a, T>, site: Site) -> ConditionWait<'a, T> {
        assert!(
            guard.lock().is_same(&self.lock),
            "Condition::wait was given the guard of another lock: pass the guard returned by this condition's lock()"
        );
        ConditionWait {
            condition: self,
            stage: Stage::Start(Some(guard)),
            site,
        }
    }

    /// Waits until `predicate` holds for the guarded value, checking it now and after
    /// each notification; returns holding the lock.
    #[track_caller]
    pub fn wait_for<'a, P>(
        &'a self,
        mut guard: LockGuard<'a, T>,
        mut predicate: P,
    ) -> impl Future<Output = LockGuard<'a, T>> + 'a
    where
        P: FnMut(&mut T) -> bool + 'a,
    {
        let site = std::panic::Location::caller();
        async move {
            while !predicate(&mut guard) {
                guard = self.wait_at(guard, site).await;
            }
            guard
        }
    }

    /// Wakes up to `n` waiting tasks, first come first served.
    ///
    /// # Panics
    ///
    /// When the condition's lock is not held (asyncio raises `RuntimeError`).
    #[track_caller]
    pub fn notify(&self, n: usize) {
        assert!(
            self.lock.is_locked(),
            "Condition::notify called without holding the condition's lock: take it with `condition.lock().await` first"
        );
        let mut waiters = self.waiters.borrow_mut();
        waiters.released(None, 0);
        for _ in 0..n {
            if waiters.grant_front().is_none() {
                break;
            }
        }
    }

    /// Wakes every waiting task.
    ///
    /// # Panics
    ///
    /// When the condition's lock is not held.
    #[track_caller]
    pub fn notify_all(&self) {
        self.notify(usize::MAX);
    }

    /// How many tasks wait to be notified.
    pub fn waiters(&self) -> usize {
        self.waiters.borrow().len()
    }
}

impl<T> fmt::Debug for Condition<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition")
            .field("lock", &self.lock)
            .field("waiters", &self.waiters.borrow().len())
            .finish()
    }
}

enum Stage<'a, T> {
    Start(Option<LockGuard<'a, T>>),
    Notified(WaiterKey),
    Relocking(LockFuture<'a, T>),
    Done,
}

/// The future returned by [`Condition::wait`].
#[must_use = "futures do nothing unless awaited"]
pub struct ConditionWait<'a, T> {
    condition: &'a Condition<T>,
    stage: Stage<'a, T>,
    site: Site,
}

impl<'a, T> Future for ConditionWait<'a, T> {
    type Output = LockGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<LockGuard<'a, T>> {
        let condition = self.condition;
        let site = self.site;
        loop {
            match &mut self.stage {
                Stage::Start(guard) => {
                    let guard = guard.take().expect("the guard is taken once");
                    let key = condition.waiters.borrow_mut().wait(1, cx, site);
                    self.stage = Stage::Notified(key);
                    // Released after joining the line: a notify cannot slip between.
                    drop(guard);
                    return Poll::Pending;
                }
                Stage::Notified(key) => {
                    let key = *key;
                    match condition.waiters.borrow_mut().poll(key, cx, site) {
                        Polled::Waiting => return Poll::Pending,
                        Polled::Granted(_) | Polled::Closed => {}
                    }
                    // The caller's line, not this one, is where the task awaits the lock.
                    self.stage = Stage::Relocking(condition.lock.lock_at(site));
                }
                Stage::Relocking(relock) => {
                    let guard = match Pin::new(relock).poll(cx) {
                        Poll::Ready(guard) => guard,
                        Poll::Pending => return Poll::Pending,
                    };
                    self.stage = Stage::Done;
                    return Poll::Ready(guard);
                }
                Stage::Done => panic!("ConditionWait polled after it returned"),
            }
        }
    }
}

impl<T> Drop for ConditionWait<'_, T> {
    fn drop(&mut self) {
        if let Stage::Notified(key) = self.stage {
            let mut waiters = self.condition.waiters.borrow_mut();
            if let Cancelled::Granted(_) = waiters.cancel(key) {
                waiters.grant_front();
            }
        }
    }
}

impl<T> fmt::Debug for ConditionWait<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stage = match self.stage {
            Stage::Start(_) => "start",
            Stage::Notified(_) => "waiting for a notification",
            Stage::Relocking(_) => "taking the lock again",
            Stage::Done => "done",
        };
        f.debug_struct("ConditionWait")
            .field("stage", &stage)
            .finish()
    }
}
