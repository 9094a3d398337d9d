//! `Condition`: asyncio's `Condition`, over its own [`Lock`].
//!
//! `wait(guard)` joins the condition's line, then releases the lock; `notify(n)` grants
//! the first `n` waiters, who then queue for the lock again and return holding it.
//!
//! A `wait` future is in one of three stages: not yet polled (it holds the guard),
//! waiting for a notification (in the condition's line), or notified and taking the
//! lock again (in the lock's line, or handed the lock but not yet run). Dropped in any
//! of them, it leaves the lock unheld and the lock's line in order, and a notification
//! it had consumed goes on to the next condition waiter, so a `notify(1)` is never
//! lost to a cancelled task (asyncio does the same since Python 3.13).

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
/// # Examples
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

    /// Takes the condition's lock (asyncio's `async with condition`); the same as
    /// `condition.inner_lock().lock()`.
    ///
    /// # Cancel safety
    ///
    /// As [`Lock::lock`]: a dropped `lock()` never gets the lock, and one dropped after
    /// the lock was handed to it passes the lock to the next waiter (or unlocks).
    #[track_caller]
    pub fn lock(&self) -> LockFuture<'_, T> {
        self.lock.lock()
    }

    /// The condition's lock.
    pub fn inner_lock(&self) -> &Lock<T> {
        &self.lock
    }

    /// Releases the lock, waits to be notified, takes the lock again and returns its
    /// guard (asyncio's `await condition.wait()`). The task joins the condition's line
    /// before the lock is released, so a `notify` in between reaches it.
    ///
    /// # Cancel safety
    ///
    /// asyncio's `wait` takes the lock again before it lets a cancellation through. A
    /// dropped Rust future cannot wait for anything, so instead a dropped `wait` never
    /// holds the lock and never swallows a notification:
    ///
    /// - Dropped before its first poll: `guard` is dropped with it, which unlocks.
    /// - Dropped while waiting to be notified: it leaves the condition's line (the lock
    ///   was released already); later notifications go to the tasks still waiting.
    /// - Dropped after it was notified but before it returned (not yet run, queued to
    ///   take the lock again, or handed the lock but not yet run): it leaves the lock's
    ///   line; a lock already handed to it goes to the next task waiting for the lock,
    ///   or is unlocked; and the notification goes to the next task waiting on the
    ///   condition, as asyncio does since Python 3.13.
    ///
    /// So a cancelled task ends without the lock, as in asyncio, where the task takes
    /// the lock again and releases it as the cancellation leaves its `async with`
    /// block. Unlike asyncio, a task cancelled before it was notified passes nothing
    /// on: cancellations never cause spurious wake-ups.
    ///
    /// # Examples
    ///
    /// ```
    /// use seedloop::sync::Condition;
    /// use std::rc::Rc;
    ///
    /// seedloop::Sim::new(0).run(async {
    ///     let ready = Rc::new(Condition::new(false));
    ///     let waiter = seedloop::spawn({
    ///         let ready = ready.clone();
    ///         async move {
    ///             let mut guard = ready.lock().await;
    ///             while !*guard {
    ///                 guard = ready.wait(guard).await;
    ///             }
    ///         }
    ///     });
    ///     while ready.waiters() == 0 {
    ///         seedloop::yield_now().await;
    ///     }
    ///     *ready.lock().await = true;
    ///     let guard = ready.lock().await;
    ///     ready.notify(1);
    ///     drop(guard);
    ///     waiter.await.unwrap();
    /// }).unwrap();
    /// ```
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
        self.assert_own_guard(&guard);
        ConditionWait {
            condition: self,
            stage: Stage::Start(Some(guard)),
            site,
        }
    }

    /// Waits until `predicate` holds for the guarded value, checking it now and after
    /// each notification; returns holding the lock (asyncio's `wait_for`).
    ///
    /// # Cancel safety
    ///
    /// As [`Condition::wait`], which it calls in a loop: dropped before its first
    /// poll or while checking, its guard unlocks; dropped inside a `wait`, that `wait`
    /// passes on the lock and a notification it had consumed.
    ///
    /// # Panics
    ///
    /// When `guard` is not a guard of this condition's lock.
    #[track_caller]
    pub fn wait_for<'a, P>(
        &'a self,
        mut guard: LockGuard<'a, T>,
        mut predicate: P,
    ) -> impl Future<Output = LockGuard<'a, T>> + 'a
    where
        P: FnMut(&mut T) -> bool + 'a,
    {
        // Checked now, not at the first `wait`: the predicate may hold at once.
        self.assert_own_guard(&guard);
        let site = std::panic::Location::caller();
        async move {
            while !predicate(&mut guard) {
                guard = self.wait_at(guard, site).await;
            }
            guard
        }
    }

    #[track_caller]
    fn assert_own_guard(&self, guard: &LockGuard<'_, T>) {
        assert!(
            guard.lock().is_same(&self.lock),
            "Condition::wait was given the guard of another lock: pass the guard returned by this condition's lock()"
        );
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
    ///
    /// # Examples
    ///
    /// ```
    /// use seedloop::sync::Condition;
    /// use std::rc::Rc;
    ///
    /// seedloop::Sim::new(0).run(async {
    ///     let open = Rc::new(Condition::new(false));
    ///     let waiters: Vec<_> = (0..3)
    ///         .map(|_| {
    ///             let open = open.clone();
    ///             seedloop::spawn(async move {
    ///                 let guard = open.lock().await;
    ///                 drop(open.wait_for(guard, |open| *open).await);
    ///             })
    ///         })
    ///         .collect();
    ///     while open.waiters() < 3 {
    ///         seedloop::yield_now().await;
    ///     }
    ///     let mut guard = open.lock().await;
    ///     *guard = true;
    ///     open.notify_all();
    ///     drop(guard);
    ///     for waiter in waiters {
    ///         waiter.await.unwrap();
    ///     }
    /// }).unwrap();
    /// ```
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

/// The future returned by [`Condition::wait`]; see its cancel safety.
///
/// # Examples
///
/// ```
/// use seedloop::sync::{Condition, ConditionWait};
///
/// seedloop::Sim::new(0).run(async {
///     let condition = Condition::new(0);
///     let guard = condition.lock().await;
///     let wait: ConditionWait<'_, i32> = condition.wait(guard);
///     // Dropped before it ran: the guard it was given unlocks.
///     drop(wait);
///     assert!(!condition.inner_lock().is_locked());
/// }).unwrap();
/// ```
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
        let consumed_notification = match std::mem::replace(&mut self.stage, Stage::Done) {
            // Never polled: the guard it was given unlocks as it drops.
            Stage::Start(guard) => {
                drop(guard);
                false
            }
            // Still in the condition's line (it leaves it), or notified but not run.
            Stage::Notified(key) => {
                let outcome = self.condition.waiters.borrow_mut().cancel(key);
                matches!(outcome, Cancelled::Granted(_))
            }
            // Notified, and taking the lock again: the lock future leaves the lock's
            // line, or passes the lock on if it had been handed over already.
            Stage::Relocking(relock) => {
                drop(relock);
                true
            }
            Stage::Done => false,
        };
        if consumed_notification {
            // The task will never act on it: the next waiter does (asyncio 3.13).
            self.condition.waiters.borrow_mut().grant_front();
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
