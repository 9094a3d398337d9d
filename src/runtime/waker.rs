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
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::task::Wake;
use std::thread::ThreadId;

pub(crate) struct TaskWaker {
    run_id: u64,
    // False once the run has ended: a late wake from any thread is then a no-op.
    running: Arc<AtomicBool>,
    slot: u32,
    // Only written while no `Waker` built on this state exists outside the slot (the
    // executor checks the strong count), so no reader can see it change.
    generation: AtomicU32,
    owner: ThreadId,
}

impl TaskWaker {
    pub(crate) fn new(shared: &Shared, slot: u32, generation: u32) -> TaskWaker {
        TaskWaker {
            run_id: shared.run_id,
            running: Arc::clone(&shared.running),
            slot,
            generation: AtomicU32::new(generation),
            owner: shared.owner,
        }
    }

    pub(crate) fn set_generation(&self, generation: u32) {
        self.generation.store(generation, Ordering::Relaxed);
    }
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let delivered = context::try_with_current(|shared| {
            if shared.run_id == self.run_id {
                shared.wake(self.slot, self.generation.load(Ordering::Relaxed));
                true
            } else {
                false
            }
        });
        if delivered != Some(true)
            && self.running.load(Ordering::Acquire)
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
