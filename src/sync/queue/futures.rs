//! The futures of a queue's waiting methods: [`Put`], [`Get`] and [`Join`].
//!
//! Each completes at its first poll when it can (room and no putter ahead, an
//! unreserved item and no getter ahead, nothing unfinished); otherwise it joins its
//! line in the queue's `WaitQueue` and keeps its waiter key. A grant carries a
//! reservation (a place, an item) that the woken future takes up when it runs. `Drop`
//! is the cancel path: a future dropped holding a reservation gives it back and serves
//! the next in line, so nothing is lost.

use super::{Queue, QueueShutDown};
use crate::runtime::executor::Site;
use crate::sync::wait_queue::{Cancelled, Polled, WaiterKey};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The future returned by [`Queue::put`]; see there for its cancel safety.
///
/// # Examples
///
/// ```
/// use seedloop::sync::{Put, Queue};
///
/// seedloop::Sim::new(0).run(async {
///     let queue = Queue::bounded(1);
///     let put: Put<'_, &str> = queue.put("job");
///     put.await.unwrap();
///     assert!(queue.is_full());
/// }).unwrap();
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Put<'a, T> {
    queue: &'a Queue<T>,
    item: Option<T>,
    key: Option<WaiterKey>,
    site: Site,
}

impl<'a, T> Put<'a, T> {
    pub(super) fn new(queue: &'a Queue<T>, item: T, site: Site) -> Put<'a, T> {
        Put {
            queue,
            item: Some(item),
            key: None,
            site,
        }
    }
}

impl<T> Unpin for Put<'_, T> {}

impl<T> Future for Put<'_, T> {
    type Output = Result<(), QueueShutDown>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // A spin on a queue that is always ready still takes steps.
        std::task::ready!(crate::runtime::services::poll_proceed(cx));
        let this = &mut *self;
        let mut state = this.queue.state.borrow_mut();
        match this.key {
            None => {
                if state.shut_down {
                    return Poll::Ready(Err(QueueShutDown));
                }
                if state.putters.is_empty() && state.has_room() {
                    state.putters.acquired_now(1);
                    state.push(this.item.take().expect("Put polled after it returned"));
                    return Poll::Ready(Ok(()));
                }
                this.key = Some(state.putters.wait(1, cx, this.site));
                Poll::Pending
            }
            Some(key) => match state.putters.poll(key, cx, this.site) {
                Polled::Waiting => Poll::Pending,
                Polled::Granted(_) => {
                    this.key = None;
                    state.reserved_places -= 1;
                    state.push(this.item.take().expect("Put polled after it returned"));
                    Poll::Ready(Ok(()))
                }
                Polled::Closed => {
                    this.key = None;
                    Poll::Ready(Err(QueueShutDown))
                }
            },
        }
    }
}

impl<T> Drop for Put<'_, T> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else {
            return;
        };
        let mut state = self.queue.state.borrow_mut();
        if let Cancelled::Granted(_) = state.putters.cancel(key) {
            state.reserved_places -= 1;
            state.serve_putters();
        }
    }
}

impl<T> fmt::Debug for Put<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Put")
            .field("waiting", &self.key.is_some())
            .finish()
    }
}

/// The future returned by [`Queue::get`]; see there for its cancel safety.
///
/// # Examples
///
/// ```
/// use seedloop::sync::{Get, Queue};
///
/// seedloop::Sim::new(0).run(async {
///     let queue = Queue::unbounded();
///     queue.put("job").await.unwrap();
///     let get: Get<'_, &str> = queue.get();
///     assert_eq!(get.await, Ok("job"));
///     assert!(queue.is_empty());
/// }).unwrap();
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Get<'a, T> {
    queue: &'a Queue<T>,
    key: Option<WaiterKey>,
    site: Site,
}

impl<'a, T> Get<'a, T> {
    pub(super) fn new(queue: &'a Queue<T>, site: Site) -> Get<'a, T> {
        Get {
            queue,
            key: None,
            site,
        }
    }
}

impl<T> Future for Get<'_, T> {
    type Output = Result<T, QueueShutDown>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // A spin on a queue that is always ready still takes steps.
        std::task::ready!(crate::runtime::services::poll_proceed(cx));
        let this = &mut *self;
        let mut state = this.queue.state.borrow_mut();
        match this.key {
            None => {
                if state.getters.is_empty() && state.unreserved_items() > 0 {
                    state.getters.acquired_now(1);
                    return Poll::Ready(Ok(state.pop()));
                }
                if state.shut_down {
                    return Poll::Ready(Err(QueueShutDown));
                }
                this.key = Some(state.getters.wait(1, cx, this.site));
                Poll::Pending
            }
            Some(key) => match state.getters.poll(key, cx, this.site) {
                Polled::Waiting => Poll::Pending,
                Polled::Granted(_) => {
                    this.key = None;
                    state.reserved_items -= 1;
                    if state.items.len() == 0 {
                        // An immediate shutdown dropped the item reserved for it.
                        return Poll::Ready(Err(QueueShutDown));
                    }
                    Poll::Ready(Ok(state.pop()))
                }
                Polled::Closed => {
                    this.key = None;
                    Poll::Ready(Err(QueueShutDown))
                }
            },
        }
    }
}

impl<T> Drop for Get<'_, T> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else {
            return;
        };
        let mut state = self.queue.state.borrow_mut();
        if let Cancelled::Granted(_) = state.getters.cancel(key) {
            // The item reserved for it goes to the next getter.
            state.reserved_items -= 1;
            state.serve_getters();
        }
    }
}

impl<T> fmt::Debug for Get<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Get")
            .field("waiting", &self.key.is_some())
            .finish()
    }
}

/// The future returned by [`Queue::join`]; see there for its cancel safety.
///
/// # Examples
///
/// ```
/// use seedloop::sync::{Join, Queue};
///
/// seedloop::Sim::new(0).run(async {
///     let queue = Queue::unbounded();
///     queue.put("job").await.unwrap();
///     assert_eq!(queue.get().await, Ok("job"));
///     queue.task_done().unwrap();
///     let join: Join<'_, &str> = queue.join();
///     join.await; // at once: every item put is done
/// }).unwrap();
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Join<'a, T> {
    queue: &'a Queue<T>,
    key: Option<WaiterKey>,
    site: Site,
}

impl<'a, T> Join<'a, T> {
    pub(super) fn new(queue: &'a Queue<T>, site: Site) -> Join<'a, T> {
        Join {
            queue,
            key: None,
            site,
        }
    }
}

impl<T> Future for Join<'_, T> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // A spin on a queue that is always ready still takes steps.
        std::task::ready!(crate::runtime::services::poll_proceed(cx));
        let this = &mut *self;
        let mut state = this.queue.state.borrow_mut();
        match this.key {
            None if state.unfinished == 0 => Poll::Ready(()),
            None => {
                this.key = Some(state.joiners.wait(0, cx, this.site));
                Poll::Pending
            }
            Some(key) => match state.joiners.poll(key, cx, this.site) {
                Polled::Waiting => Poll::Pending,
                Polled::Granted(_) | Polled::Closed => {
                    this.key = None;
                    Poll::Ready(())
                }
            },
        }
    }
}

impl<T> Drop for Join<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.queue.state.borrow_mut().joiners.cancel(key);
        }
    }
}

impl<T> fmt::Debug for Join<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Join")
            .field("waiting", &self.key.is_some())
            .finish()
    }
}
