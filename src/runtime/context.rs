//! The current simulation, as seen from code running inside it.
//!
//! `Sim::run` installs its shared state in a thread-local for the duration of the run;
//! `spawn`, `sleep`, wakers and every other API find the running simulation there.
//! Outside a run the thread-local is empty and each API panics with a message that
//! names the fix. The guard that installs the state removes it even when the run
//! unwinds, so a panicking test never leaves a stale simulation behind.

use super::executor::Shared;
use std::cell::RefCell;
use std::rc::Rc;

thread_local! {
    static CURRENT: RefCell<Option<Rc<Shared>>> = const { RefCell::new(None) };
}

/// Runs `f` with the current simulation; panics, naming `api`, outside one.
///
/// The thread-local stays borrowed (shared) while `f` runs: nested calls are fine, and
/// only `Enter` borrows it mutably, at the start and end of a run.
#[track_caller]
#[inline]
pub(crate) fn with_current<R>(api: &str, f: impl FnOnce(&Shared) -> R) -> R {
    CURRENT.with(|current| match &*current.borrow() {
        Some(shared) => f(shared),
        None => outside_a_sim(api),
    })
}

/// Runs `f` with the current simulation, if there is one.
#[inline]
pub(crate) fn try_with_current<R>(f: impl FnOnce(&Shared) -> R) -> Option<R> {
    CURRENT
        .try_with(|current| current.borrow().as_ref().map(|shared| f(shared)))
        .ok()
        .flatten()
}

/// Whether this thread is polling or dropping a task of a running simulation; never
/// panics (the panic hook asks it).
pub(crate) fn in_a_task() -> bool {
    CURRENT
        .try_with(|current| {
            let current = current.try_borrow().ok()?;
            Some(current.as_ref()?.current_task().is_some())
        })
        .ok()
        .flatten()
        .unwrap_or(false)
}

#[cold]
#[track_caller]
pub(crate) fn outside_a_sim(api: &str) -> ! {
    panic!(
        "{api} called outside a Sim: seedloop's APIs work only inside a simulation; \
         run this code inside `Sim::new(seed).run(async {{ .. }})` or `seedloop::check(n, || async {{ .. }})`"
    )
}

/// Installs a simulation as the current one until dropped.
pub(crate) struct Enter {
    _private: (),
}

impl Enter {
    pub(crate) fn new(shared: Rc<Shared>) -> Enter {
        CURRENT.with(|current| {
            let mut current = current.borrow_mut();
            assert!(
                current.is_none(),
                "Sim::run called inside a running simulation: simulations do not nest; \
                 spawn the inner code as a task with seedloop::spawn instead"
            );
            *current = Some(shared);
        });
        Enter { _private: () }
    }
}

impl Drop for Enter {
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|current| current.borrow_mut().take());
    }
}
