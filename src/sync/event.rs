//! `Event`: asyncio's `Event`, a flag tasks can wait for.
//!
//! `set` grants every waiter present at that moment (in the order they began to
//! wait): each of them wakes, even if the flag is cleared again before it runs.
//! Waiting on a set event returns at once.

use super::probe::Probe;
use super::wait_queue::{Polled, WaitQueue, WaiterKey};
use crate::runtime::executor::Site;
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A flag that tasks wait for (asyncio's `Event`).
///
/// # Examples
///
/// ```
/// use seedloop::sync::Event;
/// use seedloop::Policy;
/// use std::rc::Rc;
///
/// // Under the production order, one yield lets every waiter start to wait.
/// seedloop::Sim::new(0).policy(Policy::Fifo).run(async {
///     let ready = Rc::new(Event::new().named("ready"));
///     let waiters: Vec<_> = (0..3)
///         .map(|_| {
///             let ready = ready.clone();
///             seedloop::spawn(async move { ready.wait().await })
///         })
///         .collect();
///     seedloop::yield_now().await;
///     ready.set();
///     ready.clear(); // too late to stop the waiters already woken
///     for waiter in waiters {
///         waiter.await.unwrap();
///     }
/// }).unwrap();
/// ```
pub struct Event {
    state: RefCell<EventState>,
}

struct EventState {
    set: bool,
    queue: WaitQueue,
}

impl Event {
    /// An event that is not set.
    pub fn new() -> Event {
        Event {
            state: RefCell::new(EventState {
                set: false,
                queue: WaitQueue::new(Probe::with_holders("Event", None, false)),
            }),
        }
    }

    /// Names the event in traces and reports.
    pub fn named(self, name: impl Into<String>) -> Event {
        self.state.borrow_mut().queue.probe.set_name(name);
        self
    }

    /// Sets the flag and wakes every task waiting now.
    pub fn set(&self) {
        let mut state = self.state.borrow_mut();
        if state.set {
            return;
        }
        state.set = true;
        state.queue.released(None, 0);
        state.queue.grant_all();
    }

    /// Clears the flag: later waits block until the next `set`.
    pub fn clear(&self) {
        self.state.borrow_mut().set = false;
    }

    /// Whether the flag is set.
    pub fn is_set(&self) -> bool {
        self.state.borrow().set
    }

    /// Waits until the flag is set (returns at once if it is).
    ///
    /// # Cancel safety
    ///
    /// A dropped wait leaves the line. A wake-up is not a resource, so it passes
    /// nothing on: the other waiters present at a `set` wake all the same, and the
    /// flag stays as it is.
    #[track_caller]
    pub fn wait(&self) -> EventWait<'_> {
        EventWait {
            event: self,
            key: None,
            site: std::panic::Location::caller(),
        }
    }
}

impl Default for Event {
    fn default() -> Event {
        Event::new()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.borrow();
        f.debug_struct("Event")
            .field("name", &state.queue.probe.name())
            .field("set", &state.set)
            .field("waiters", &state.queue.len())
            .finish()
    }
}

/// The future returned by [`Event::wait`]; see there for its cancel safety.
///
/// # Examples
///
/// ```
/// use seedloop::sync::{Event, EventWait};
///
/// seedloop::Sim::new(0).run(async {
///     let ready = Event::new();
///     ready.set();
///     let wait: EventWait<'_> = ready.wait();
///     wait.await; // at once: the event is set
///     assert!(ready.is_set());
/// }).unwrap();
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct EventWait<'a> {
    event: &'a Event,
    key: Option<WaiterKey>,
    site: Site,
}

impl Future for EventWait<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // A spin on a primitive that is always ready still takes steps.
        std::task::ready!(crate::runtime::services::poll_proceed(cx));
        let site = self.site;
        let mut state = self.event.state.borrow_mut();
        match self.key {
            None if state.set => {
                state.queue.acquired_now(0);
                Poll::Ready(())
            }
            None => {
                let key = state.queue.wait(0, cx, site);
                drop(state);
                self.key = Some(key);
                Poll::Pending
            }
            Some(key) => match state.queue.poll(key, cx, site) {
                Polled::Waiting => Poll::Pending,
                Polled::Granted(_) | Polled::Closed => {
                    drop(state);
                    self.key = None;
                    Poll::Ready(())
                }
            },
        }
    }
}

impl Drop for EventWait<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            // A wake is not a resource: a cancelled waiter passes nothing on.
            self.event.state.borrow_mut().queue.cancel(key);
        }
    }
}

impl fmt::Debug for EventWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventWait")
            .field("waiting", &self.key.is_some())
            .finish()
    }
}
