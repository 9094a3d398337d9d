//! Task wakers.
//!
//! `std::task::Waker` must be `Send + Sync`, but a simulation is one thread and its
//! hot path takes no locks. A task's waker is an `Arc` (allocated once per task)
//! holding only plain data: the run it belongs to, the task's slot and generation, and
//! the thread that runs the simulation. Waking looks up the current simulation in a
//! thread-local and, if it is the same run, makes the task ready at once (a task woken
//! twice is queued once; a task waking itself is queued when its poll returns).
//!
//! A waker that outlives its run does nothing, from any thread. A waker woken from
//! another thread while its run is going panics (in that thread) with a message: a
//! simulation is one thread, so that wake could only be a bug (a real thread or
//! runtime leaking into the test); the simulation itself is untouched.
//!
//! No `unsafe` is needed: `std::task::Wake` builds the waker from the `Arc`.

use super::context;
use super::executor::Shared;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Wake, Waker};
use std::thread::ThreadId;

thread_local! {
    // The id of the run going on on this thread (0 when none). Wakers hold a clone, so
    // that a wake from another thread can tell a live run (misuse: panic) from an
    // ended one (a no-op).
    static THREAD_RUN: Arc<AtomicU64> = Arc::new(AtomicU64::new(0));
}

/// Marks `run_id` as the run going on on this thread (0: none); returns the marker.
pub(crate) fn set_thread_run(run_id: u64) -> Arc<AtomicU64> {
    THREAD_RUN.with(|run| {
        run.store(run_id, Ordering::Release);
        Arc::clone(run)
    })
}

/// What every waker of a run carries: the run, and the thread it runs on.
pub(crate) struct WakerOrigin {
    pub run_id: u64,
    pub owner: ThreadId,
    // This thread's "run going on" marker.
    pub thread_run: Arc<AtomicU64>,
}

impl WakerOrigin {
    pub(crate) fn new(run_id: u64) -> WakerOrigin {
        WakerOrigin {
            run_id,
            owner: std::thread::current().id(),
            thread_run: set_thread_run(run_id),
        }
    }
}

/// A task's own wake-up, as seedloop's wait queues keep it instead of a clone of the
/// task's `Waker`: it names the task without holding a reference to its waker state,
/// so that the executor can tell a task that only seedloop can wake (see
/// `slab::EXECUTOR_WAKER_REFERENCES`), and it costs no atomic operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TaskWake {
    pub run_id: u64,
    pub slot: u32,
    pub generation: u32,
}

impl TaskWake {
    /// Wakes the task, if its run is the one going on (else a no-op, like a waker of
    /// an ended run).
    pub(crate) fn wake(self) {
        context::try_with_current(|shared| {
            if shared.run_id() == self.run_id {
                shared.wake(self.slot, self.generation);
            }
        });
    }
}

/// How a resource (a wait queue, a socket) wakes a task that waits on it.
#[derive(Debug, Default)]
pub(crate) enum Wakeup {
    #[default]
    None,
    // Its task's own waker, kept as a handle (see [`TaskWake`]).
    Own(TaskWake),
    // A combinator's waker, or any waker outside a simulation.
    Foreign(Waker),
}

impl Wakeup {
    /// Wakes the task (looking the simulation up: for callers that do not hold it).
    pub(crate) fn wake(self) {
        match self {
            Wakeup::None => {}
            Wakeup::Own(wake) => wake.wake(),
            Wakeup::Foreign(waker) => waker.wake(),
        }
    }

    /// Wakes the task through `shared`, the simulation going on (no thread-local
    /// lookup for a task's own wake-up: the network's hot path). Must be called with
    /// no borrow held that a foreign waker could need.
    #[inline]
    pub(crate) fn wake_in(self, shared: &Shared) {
        match self {
            Wakeup::None => {}
            Wakeup::Own(wake) => {
                if shared.run_id() == wake.run_id {
                    shared.wake(wake.slot, wake.generation);
                }
            }
            Wakeup::Foreign(waker) => waker.wake(),
        }
    }

    /// Takes the wakeup out, leaving `None`.
    #[inline]
    pub(crate) fn take(&mut self) -> Wakeup {
        std::mem::take(self)
    }

    pub(crate) fn is_none(&self) -> bool {
        matches!(self, Wakeup::None)
    }
}

pub(crate) struct TaskWaker {
    // `run_id` and `generation` are only written while no `Waker` built on this state
    // exists outside its slot (the executor checks the strong count), so no reader can
    // see them change. A slot keeps its waker state across runs on a thread.
    run_id: AtomicU64,
    generation: AtomicU32,
    slot: u32,
    owner: ThreadId,
    owner_run: Arc<AtomicU64>,
}

impl TaskWaker {
    pub(crate) fn new(origin: &WakerOrigin, slot: u32, generation: u32) -> TaskWaker {
        TaskWaker {
            run_id: AtomicU64::new(origin.run_id),
            generation: AtomicU32::new(generation),
            slot,
            owner: origin.owner,
            owner_run: Arc::clone(&origin.thread_run),
        }
    }

    /// Points reused waker state at a new task of `origin`'s run.
    pub(crate) fn reset(&self, origin: &WakerOrigin, generation: u32) {
        debug_assert_eq!(
            self.owner, origin.owner,
            "waker state moved between threads"
        );
        self.run_id.store(origin.run_id, Ordering::Relaxed);
        self.generation.store(generation, Ordering::Relaxed);
    }
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let run_id = self.run_id.load(Ordering::Relaxed);
        let delivered = context::try_with_current(|shared| {
            if shared.run_id() == run_id {
                shared.wake(self.slot, self.generation.load(Ordering::Relaxed));
                true
            } else {
                false
            }
        });
        if delivered != Some(true)
            && self.owner_run.load(Ordering::Acquire) == run_id
            && std::thread::current().id() != self.owner
        {
            panic!(
                "a seedloop task was woken from another thread: a simulation runs on one \
                 thread, so its futures must not be driven by OS threads or another runtime; \
                 use seedloop's own primitives inside the simulation"
            );
        }
        // Otherwise the run has ended: waking a finished run is a no-op.
    }
}
