//! `Queue<T>`: asyncio's `Queue`, `LifoQueue` and `PriorityQueue`, bounded or not.
//!
//! Items live in a store (FIFO, LIFO, or a min-heap); getters and putters wait in two
//! [`WaitQueue`]s. Fairness is of *reservations*: when an item arrives and getters
//! wait, the first getter is granted a reservation on "the next item" and woken; when
//! it runs it takes the store's front item. So items leave in the store's order
//! whichever woken consumer runs first, and a getter that arrives later cannot take
//! an item reserved for one that was waiting. Putters of a bounded queue reserve free
//! places the same way. A getter or putter cancelled holding a reservation passes it
//! to the next in line.
//!
//! `task_done` and `join` count unfinished items as asyncio does; `shutdown` follows
//! Python 3.13.
//!
//! Here are the queue and its state; the item stores are in `store.rs`, the `put`,
//! `get` and `join` futures (with their cancel paths) in `futures.rs`, the errors in
//! `error.rs`.

mod error;
mod futures;
mod store;

pub use error::{QueueShutDown, TaskDoneError, TryGetError, TryPutError};
pub use futures::{Get, Join, Put};

use super::probe::Probe;
use super::wait_queue::WaitQueue;
use std::cell::RefCell;
use std::fmt;
use store::{Fifo, Lifo, Priority, Store};

/// An async queue for tasks inside a simulation (asyncio's `Queue`, with
/// [`Queue::lifo`] and [`Queue::priority`] for `LifoQueue` and `PriorityQueue`).
///
/// # Examples
///
/// ```
/// use seedloop::sync::Queue;
/// use std::rc::Rc;
///
/// seedloop::check(50, || async {
///     let jobs = Rc::new(Queue::bounded(2).named("jobs"));
///     let worker = seedloop::spawn({
///         let jobs = jobs.clone();
///         async move {
///             let mut done = Vec::new();
///             while let Ok(job) = jobs.get().await {
///                 done.push(job);
///                 jobs.task_done().unwrap();
///             }
///             done
///         }
///     });
///     for job in 0..5 {
///         jobs.put(job).await.unwrap();
///     }
///     jobs.join().await;
///     jobs.shutdown(false);
///     assert_eq!(worker.await.unwrap(), [0, 1, 2, 3, 4]);
/// });
/// ```
pub struct Queue<T> {
    state: RefCell<QueueState<T>>,
}

struct QueueState<T> {
    items: Box<dyn Store<T>>,
    capacity: Option<usize>,
    // Items promised to granted getters that have not run yet.
    reserved_items: usize,
    // Places promised to granted putters that have not run yet.
    reserved_places: usize,
    getters: WaitQueue,
    putters: WaitQueue,
    joiners: WaitQueue,
    unfinished: u64,
    shut_down: bool,
}

impl<T: 'static> Queue<T> {
    /// A FIFO queue holding at most `capacity` items (asyncio's `Queue(maxsize)`).
    ///
    /// # Panics
    ///
    /// When `capacity` is 0 (asyncio's `maxsize=0` means unbounded: use
    /// [`Queue::unbounded`]).
    #[track_caller]
    pub fn bounded(capacity: usize) -> Queue<T> {
        Queue::build(Box::new(Fifo::new()), Some(capacity))
    }

    /// A FIFO queue with no capacity limit.
    pub fn unbounded() -> Queue<T> {
        Queue::build(Box::new(Fifo::new()), None)
    }

    /// A last-in first-out queue (asyncio's `LifoQueue`); `None` for no limit.
    ///
    /// # Examples
    ///
    /// ```
    /// use seedloop::sync::Queue;
    ///
    /// let stack = Queue::lifo(None);
    /// for item in [1, 2, 3] {
    ///     stack.try_put(item).unwrap();
    /// }
    /// assert_eq!(stack.try_get(), Ok(3));
    /// assert_eq!(stack.try_get(), Ok(2));
    /// ```
    #[track_caller]
    pub fn lifo(capacity: Option<usize>) -> Queue<T> {
        Queue::build(Box::new(Lifo::new()), capacity)
    }

    /// A queue that hands out the smallest item first (asyncio's `PriorityQueue`);
    /// equal items leave in the order they came. `None` for no limit.
    ///
    /// # Examples
    ///
    /// ```
    /// use seedloop::sync::Queue;
    ///
    /// let urgent_first = Queue::priority(Some(10));
    /// for job in [(2, "later"), (1, "now"), (2, "last")] {
    ///     urgent_first.try_put(job).unwrap();
    /// }
    /// assert_eq!(urgent_first.try_get(), Ok((1, "now")));
    /// assert_eq!(urgent_first.try_get(), Ok((2, "last")), "tuples compare whole");
    /// ```
    #[track_caller]
    pub fn priority(capacity: Option<usize>) -> Queue<T>
    where
        T: Ord,
    {
        Queue::build(Box::new(Priority::new()), capacity)
    }

    #[track_caller]
    fn build(items: Box<dyn Store<T>>, capacity: Option<usize>) -> Queue<T> {
        assert!(
            capacity != Some(0),
            "a queue's capacity must be at least 1; for no limit use Queue::unbounded() (asyncio's maxsize=0)"
        );
        Queue {
            state: RefCell::new(QueueState {
                items,
                capacity,
                reserved_items: 0,
                reserved_places: 0,
                getters: WaitQueue::new(Probe::with_holders("Queue.get", None, false)),
                putters: WaitQueue::new(Probe::with_holders("Queue.put", None, false)),
                joiners: WaitQueue::new(Probe::with_holders("Queue.join", None, false)),
                unfinished: 0,
                shut_down: false,
            }),
        }
    }
}

impl<T> Queue<T> {
    /// Names the queue in traces and reports.
    pub fn named(self, name: impl Into<String>) -> Queue<T> {
        let name: String = name.into();
        {
            let mut state = self.state.borrow_mut();
            state.getters.probe.set_name(name.clone());
            state.putters.probe.set_name(name.clone());
            state.joiners.probe.set_name(name);
        }
        self
    }

    /// Puts an item, waiting for a free place in a full bounded queue; putters are
    /// served in order. Fails once the queue is shut down.
    ///
    /// # Cancel safety
    ///
    /// The item is in the queue exactly when the put returned `Ok(())`. A put dropped
    /// before that never enqueues it: the item is dropped with the future. Dropped
    /// while waiting for room, it leaves the putters' line; dropped after a place was
    /// reserved for it but before it ran, that place goes to the next waiting putter,
    /// or stays free. No place is lost. To keep an item that cannot be put now, use
    /// [`Queue::try_put`], which hands it back.
    #[track_caller]
    pub fn put(&self, item: T) -> Put<'_, T> {
        Put::new(self, item, std::panic::Location::caller())
    }

    /// Takes the next item, waiting for one; getters are served in order. Fails once
    /// the queue is shut down and empty (at once for an immediate shutdown).
    ///
    /// # Cancel safety
    ///
    /// A dropped get loses no item: an item leaves the queue only when a get returns
    /// it. Dropped while waiting, the get leaves the getters' line; dropped after an
    /// item was reserved for it but before it ran, the item stays in the queue and is
    /// reserved for the next waiting getter, or left to any later `get`.
    #[track_caller]
    pub fn get(&self) -> Get<'_, T> {
        Get::new(self, std::panic::Location::caller())
    }

    /// Puts an item if there is room and no putter waits ahead.
    pub fn try_put(&self, item: T) -> Result<(), TryPutError<T>> {
        let mut state = self.state.borrow_mut();
        if state.shut_down {
            return Err(TryPutError::ShutDown(item));
        }
        if !state.putters.is_empty() || !state.has_room() {
            return Err(TryPutError::Full(item));
        }
        state.putters.acquired_now(1);
        state.push(item);
        Ok(())
    }

    /// Takes an item if one is available and no getter waits ahead.
    pub fn try_get(&self) -> Result<T, TryGetError> {
        let mut state = self.state.borrow_mut();
        if state.getters.is_empty() && state.unreserved_items() > 0 {
            state.getters.acquired_now(1);
            return Ok(state.pop());
        }
        if state.shut_down && state.unreserved_items() == 0 {
            return Err(TryGetError::ShutDown);
        }
        Err(TryGetError::Empty)
    }

    /// Items in the queue (asyncio's `qsize()`).
    pub fn len(&self) -> usize {
        self.state.borrow().items.len()
    }

    /// Whether the queue holds no item.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a bounded queue is at capacity.
    pub fn is_full(&self) -> bool {
        let state = self.state.borrow();
        state
            .capacity
            .is_some_and(|capacity| state.items.len() >= capacity)
    }

    /// The capacity (`None`: unbounded).
    pub fn capacity(&self) -> Option<usize> {
        self.state.borrow().capacity
    }

    /// Marks one item taken by `get` as processed (asyncio's `task_done`).
    pub fn task_done(&self) -> Result<(), TaskDoneError> {
        let mut state = self.state.borrow_mut();
        if state.unfinished == 0 {
            return Err(TaskDoneError);
        }
        state.unfinished -= 1;
        if state.unfinished == 0 {
            state.joiners.released(None, 0);
            state.joiners.grant_all();
        }
        Ok(())
    }

    /// Waits until every item put has been marked done with `task_done` (asyncio's
    /// `join`).
    ///
    /// # Cancel safety
    ///
    /// A dropped join only leaves the joiners' line: it holds nothing, passes nothing
    /// on, and the other joiners still return once every item is done.
    #[track_caller]
    pub fn join(&self) -> Join<'_, T> {
        Join::new(self, std::panic::Location::caller())
    }

    /// Shuts the queue down (Python 3.13): puts fail from now on; gets fail once the
    /// queue is empty. With `immediate`, the items left are dropped (and counted as
    /// done) and every get fails at once. Waiting putters and getters are woken to
    /// fail; `join` returns once nothing is unfinished.
    ///
    /// # Examples
    ///
    /// ```
    /// use seedloop::sync::{Queue, TryGetError};
    ///
    /// let jobs = Queue::unbounded();
    /// jobs.try_put("left over").unwrap();
    /// jobs.shutdown(true); // immediate: the item left is dropped
    /// assert!(jobs.is_shut_down() && jobs.is_empty());
    /// assert_eq!(jobs.try_get(), Err(TryGetError::ShutDown));
    /// ```
    pub fn shutdown(&self, immediate: bool) {
        let mut state = self.state.borrow_mut();
        state.shut_down = true;
        if immediate {
            let mut dropped = 0;
            while state.items.len() > 0 {
                drop(state.items.pop());
                dropped += 1;
            }
            state.unfinished = state.unfinished.saturating_sub(dropped);
        }
        state.putters.close_all();
        state.getters.close_all();
        if state.unfinished == 0 {
            state.joiners.grant_all();
        }
    }

    /// Whether [`Queue::shutdown`] was called.
    pub fn is_shut_down(&self) -> bool {
        self.state.borrow().shut_down
    }
}

impl<T> QueueState<T> {
    fn has_room(&self) -> bool {
        self.capacity
            .is_none_or(|capacity| self.items.len() + self.reserved_places < capacity)
    }

    fn unreserved_items(&self) -> usize {
        self.items.len().saturating_sub(self.reserved_items)
    }

    /// Stores an item and reserves it for the first waiting getter, if any.
    fn push(&mut self, item: T) {
        self.items.push(item);
        self.unfinished += 1;
        self.serve_getters();
    }

    /// Takes an item, and reserves the freed place for the first waiting putter.
    fn pop(&mut self) -> T {
        let item = self.items.pop().expect("a served getter finds an item");
        self.serve_putters();
        item
    }

    fn serve_getters(&mut self) {
        while self.unreserved_items() > 0 && !self.getters.is_empty() {
            self.reserved_items += 1;
            self.getters.grant_front();
        }
    }

    fn serve_putters(&mut self) {
        while self.has_room() && !self.putters.is_empty() {
            self.reserved_places += 1;
            self.putters.grant_front();
        }
    }
}

impl<T> fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.borrow();
        f.debug_struct("Queue")
            .field("name", &state.getters.probe.name())
            .field("len", &state.items.len())
            .field("capacity", &state.capacity)
            .field("getters", &state.getters.len())
            .field("putters", &state.putters.len())
            .field("unfinished", &state.unfinished)
            .field("shut_down", &state.shut_down)
            .finish()
    }
}
