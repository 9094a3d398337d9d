//! `Barrier`: asyncio's `Barrier`, cyclic.
//!
//! Arrivals are counted; each waits in the [`WaitQueue`] with its arrival index as its
//! "amount". The arrival that fills the barrier releases every waiter together (one
//! grant each, in arrival order) and passes at once; the barrier then starts its next
//! cycle. `abort` breaks it: waiters and later arrivals fail with [`BrokenBarrier`]. A
//! waiter cancelled before the barrier filled no longer counts as arrived, as in
//! asyncio.

use super::probe::Probe;
use super::wait_queue::{Cancelled, Polled, WaitQueue, WaiterKey};
use crate::runtime::executor::Site;
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The barrier was aborted or reset while (or before) the task waited (asyncio's
/// `BrokenBarrierError`).
///
/// # Examples
///
/// ```
/// use seedloop::sync::{Barrier, BrokenBarrier};
///
/// seedloop::Sim::new(0).run(async {
///     let barrier = Barrier::new(2);
///     barrier.abort();
///     assert_eq!(barrier.wait().await, Err(BrokenBarrier));
///     assert!(barrier.is_broken());
/// }).unwrap();
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokenBarrier;

impl fmt::Display for BrokenBarrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the barrier is broken (aborted or reset)")
    }
}

impl std::error::Error for BrokenBarrier {}

/// A meeting point for a fixed number of tasks (asyncio's `Barrier`).
///
/// # Examples
///
/// ```
/// use seedloop::sync::Barrier;
/// use std::rc::Rc;
///
/// seedloop::check(50, || async {
///     let start = Rc::new(Barrier::new(3).named("start"));
///     let runners: Vec<_> = (0..3)
///         .map(|_| {
///             let start = start.clone();
///             seedloop::spawn(async move { start.wait().await.unwrap() })
///         })
///         .collect();
///     let mut indexes = Vec::new();
///     for runner in runners {
///         indexes.push(runner.await.unwrap());
///     }
///     indexes.sort();
///     assert_eq!(indexes, [0, 1, 2], "each arrival has its own index");
/// });
/// ```
pub struct Barrier {
    state: RefCell<BarrierState>,
}

struct BarrierState {
    parties: usize,
    arrived: usize,
    broken: bool,
    queue: WaitQueue,
}

impl Barrier {
    /// A barrier that opens when `parties` tasks have arrived.
    ///
    /// # Panics
    ///
    /// When `parties` is 0.
    #[track_caller]
    pub fn new(parties: usize) -> Barrier {
        assert!(parties > 0, "a barrier needs at least one party");
        Barrier {
            state: RefCell::new(BarrierState {
                parties,
                arrived: 0,
                broken: false,
                queue: WaitQueue::new(Probe::with_holders("Barrier", None, false)),
            }),
        }
    }

    /// Names the barrier in traces and reports.
    pub fn named(self, name: impl Into<String>) -> Barrier {
        self.state.borrow_mut().queue.probe.set_name(name);
        self
    }

    /// Arrives and waits until `parties` tasks have; returns this arrival's index
    /// (0 for the first, `parties - 1` for the one that opened the barrier).
    ///
    /// # Cancel safety
    ///
    /// Dropped before the barrier filled, the arrival no longer counts (as in
    /// asyncio): the barrier waits for one more task in its place. Later arrivals are
    /// numbered from the count of tasks still waiting, so within that cycle an index
    /// can repeat, as in asyncio. Dropped after the barrier opened but before it ran,
    /// the opening stands: the other parties pass, and the next cycle starts empty.
    #[track_caller]
    pub fn wait(&self) -> BarrierWait<'_> {
        BarrierWait {
            barrier: self,
            key: None,
            done: false,
            site: std::panic::Location::caller(),
        }
    }

    /// Breaks the barrier: waiting and later `wait`s fail with [`BrokenBarrier`].
    pub fn abort(&self) {
        let mut state = self.state.borrow_mut();
        state.broken = true;
        state.arrived = 0;
        state.queue.close_all();
    }

    /// Fails the current waiters and returns the barrier to empty and unbroken.
    ///
    /// # Examples
    ///
    /// ```
    /// use seedloop::sync::{Barrier, BrokenBarrier};
    /// use std::rc::Rc;
    ///
    /// seedloop::Sim::new(0).run(async {
    ///     let pair = Rc::new(Barrier::new(2));
    ///     let early = seedloop::spawn({
    ///         let pair = pair.clone();
    ///         async move { pair.wait().await }
    ///     });
    ///     while pair.waiting() == 0 {
    ///         seedloop::yield_now().await;
    ///     }
    ///     pair.reset();
    ///     assert_eq!(early.await.unwrap(), Err(BrokenBarrier));
    ///     assert!(!pair.is_broken() && pair.waiting() == 0, "usable again");
    /// }).unwrap();
    /// ```
    pub fn reset(&self) {
        let mut state = self.state.borrow_mut();
        state.queue.close_all();
        state.arrived = 0;
        state.broken = false;
    }

    /// The number of tasks the barrier waits for.
    pub fn parties(&self) -> usize {
        self.state.borrow().parties
    }

    /// Tasks waiting now.
    pub fn waiting(&self) -> usize {
        self.state.borrow().arrived
    }

    /// Whether the barrier was aborted.
    pub fn is_broken(&self) -> bool {
        self.state.borrow().broken
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.borrow();
        f.debug_struct("Barrier")
            .field("name", &state.queue.probe.name())
            .field("parties", &state.parties)
            .field("waiting", &state.arrived)
            .field("broken", &state.broken)
            .finish()
    }
}

/// The future returned by [`Barrier::wait`]; see there for its cancel safety.
///
/// # Examples
///
/// ```
/// use seedloop::sync::{Barrier, BarrierWait};
///
/// seedloop::Sim::new(0).run(async {
///     let alone = Barrier::new(1);
///     let wait: BarrierWait<'_> = alone.wait();
///     assert_eq!(wait.await, Ok(0), "one party fills it at once");
/// }).unwrap();
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct BarrierWait<'a> {
    barrier: &'a Barrier,
    key: Option<WaiterKey>,
    done: bool,
    site: Site,
}

impl Future for BarrierWait<'_> {
    type Output = Result<usize, BrokenBarrier>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // A spin on a primitive that is always ready still takes steps.
        std::task::ready!(crate::runtime::services::poll_proceed(cx));
        let site = self.site;
        assert!(!self.done, "BarrierWait polled after it returned");
        let mut state = self.barrier.state.borrow_mut();
        let result = match self.key {
            None => {
                if state.broken {
                    Some(Err(BrokenBarrier))
                } else {
                    let index = state.arrived;
                    if index + 1 == state.parties {
                        state.arrived = 0;
                        state.queue.released(None, 0);
                        state.queue.grant_all();
                        state.queue.acquired_now(index as u64);
                        Some(Ok(index))
                    } else {
                        state.arrived += 1;
                        let key = state.queue.wait(index as u64, cx, site);
                        self.key = Some(key);
                        None
                    }
                }
            }
            Some(key) => match state.queue.poll(key, cx, site) {
                Polled::Waiting => None,
                Polled::Granted(index) => Some(Ok(index as usize)),
                Polled::Closed => Some(Err(BrokenBarrier)),
            },
        };
        drop(state);
        match result {
            None => Poll::Pending,
            Some(result) => {
                self.key = None;
                self.done = true;
                Poll::Ready(result)
            }
        }
    }
}

impl Drop for BarrierWait<'_> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else {
            return;
        };
        let mut state = self.barrier.state.borrow_mut();
        if state.queue.cancel(key) == Cancelled::Waiting {
            state.arrived -= 1;
        }
    }
}

impl fmt::Debug for BarrierWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BarrierWait")
            .field("waiting", &self.key.is_some())
            .finish()
    }
}
