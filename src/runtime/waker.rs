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
use std::task::Wake;
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
    pub(crate) fn new(shared: &Shared, slot: u32, generation: u32) -> TaskWaker {
        TaskWaker {
            run_id: AtomicU64::new(shared.run_id),
            generation: AtomicU32::new(generation),
            slot,
            owner: shared.owner,
            owner_run: Arc::clone(&shared.thread_run),
        }
    }

    /// Points reused waker state at a new task of `shared`'s run.
    pub(crate) fn reset(&self, shared: &Shared, generation: u32) {
        debug_assert_eq!(
            self.owner, shared.owner,
            "waker state moved between threads"
        );
        self.run_id.store(shared.run_id, Ordering::Relaxed);
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
            if shared.run_id == run_id {
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
