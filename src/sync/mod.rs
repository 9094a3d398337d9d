//! Synchronization primitives for tasks in a simulation: asyncio's `Lock`,
//! `Semaphore`/`BoundedSemaphore`, `Event`, `Condition`, `Queue` (with LIFO and
//! priority variants), `Barrier`, and `Future` as [`Promise`].
//!
//! All of them wait through one FIFO wait queue (`wait_queue.rs`), so fairness,
//! cancellation safety and instrumentation are written once:
//!
//! - **Fair**: waiters are served in the order they began to wait, and a release hands
//!   the resource straight to the first waiter, so a task that asks later cannot
//!   barge in ahead.
//! - **Cancel-safe**: a waiter cancelled while queued never receives the lock, permit,
//!   item or wake-up afterwards, and nothing is lost: what was on its way to it (the
//!   lock, permits, a reserved item or place, a condition's notification) goes to the
//!   next waiter, also when the cancel comes after the hand-off but before it ran. A
//!   guard dropped by cancellation releases. Each waiting method's `# Cancel safety`
//!   section says exactly what a dropped future leaves behind (a dropped
//!   [`Queue::put`], for one, drops the item it carried).
//! - **Observable**: every request, grant, release and give-up is a trace event naming
//!   the primitive (`Lock 0 (accounts)`: give names with `.named(..)`) and the task.
//!   [`Fairness::of`] reads grant order against request order from a trace; a
//!   deadlock report says what each task waits for and who holds it; a cycle of tasks
//!   waiting on each other's locks or semaphores fails the run the moment it forms
//!   ([`crate::FailureKind::WaitCycle`]); and [`crate::Sim::max_wait`] turns a wait
//!   that is too long into a failure.
//!
//! Outside a simulation (under `futures::executor::block_on`, say) they still work as
//! plain async primitives, with none of the above instrumentation: no trace events, no
//! deadlock or wait-cycle reports, no wait limits. A wait that nothing will end then
//! waits forever, as it would under any executor: only a simulation can see that every
//! task is stuck and say so.
//!
//! Primitives are used by shared reference (`&Lock<T>`, `Rc<Lock<T>>`) and need no
//! `Send`: a simulation is one thread. Their trace events map as: `waits for` =
//! blocked, `acquired` = granted (the lock, permits, an item or a place in a queue, the
//! event, the barrier, the promise's outcome), `released` = unlocked, permits given
//! back, event set, barrier opened, condition notified, promise done.

mod barrier;
mod condition;
mod event;
mod fairness;
mod lock;
mod probe;
mod promise;
mod queue;
mod semaphore;
mod wait_queue;

pub use barrier::{Barrier, BarrierWait, BrokenBarrier};
pub use condition::{Condition, ConditionWait};
pub use event::{Event, EventWait};
pub use fairness::{Bypass, Fairness, PrimitiveFairness};
pub use lock::{Lock, LockFuture, LockGuard, TryLockError};
pub use probe::Probe;
pub use promise::{InvalidState, Promise, PromiseError, PromiseWait};
pub use queue::{Get, Join, Put, Queue, QueueShutDown, TaskDoneError, TryGetError, TryPutError};
pub use semaphore::{
    Acquire, AcquireError, ReleaseError, Semaphore, SemaphorePermit, TryAcquireError,
};
