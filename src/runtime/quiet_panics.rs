//! Panics the executor catches, caught quietly.
//!
//! A task's panic fails the run with a [`crate::Failure`] whose report carries the
//! message and where it happened; the standard panic hook would print it a second
//! time, and in a sweep or a property test that runs many failing executions (with
//! `RUST_BACKTRACE=1`, a backtrace each) the output drowns the one report that
//! matters. So a panic hook installed once per process (wrapping whatever hook was
//! there) asks whether the panicking thread is polling or dropping a task of a running
//! simulation (which the executor knows at no extra cost: the running task is set
//! exactly then), and if so keeps the panic's location for the report and prints
//! nothing. Panics anywhere else, on any thread, go to the previous hook as before.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    // Where the last caught panic happened.
    static LOCATION: Cell<Option<String>> = const { Cell::new(None) };
}

static INSTALL: Once = Once::new();

/// A panic caught by the executor.
pub(crate) struct Panic {
    pub message: String,
    /// `file:line:column` of the panic, when the hook saw it.
    pub location: Option<String>,
}

/// Installs the hook (once per process); called when a run starts.
pub(crate) fn install() {
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if super::context::in_a_task() {
                let location = info.location().map(ToString::to_string);
                let _ = LOCATION.try_with(|cell| cell.set(location));
                return;
            }
            previous(info);
        }));
    });
}

/// Runs `f`, catching a panic quietly; the panic's message and location come back.
/// The hook must be installed ([`install`]) for the quiet part.
#[inline]
pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> Result<R, Panic> {
    catch_unwind(AssertUnwindSafe(f)).map_err(caught)
}

/// Runs `f`, catching a panic quietly; the payload comes back, for [`caught`]. The
/// step loop's form: its result stays two words on the path that did not panic.
#[inline]
pub(crate) fn catch_payload<R>(f: impl FnOnce() -> R) -> Result<R, Payload> {
    catch_unwind(AssertUnwindSafe(f))
}

/// A caught panic's payload.
pub(crate) type Payload = Box<dyn std::any::Any + Send>;

/// The message and location of a panic caught with [`catch_payload`].
#[cold]
pub(crate) fn caught(payload: Payload) -> Panic {
    let location = LOCATION.try_with(Cell::take).ok().flatten();
    Panic {
        message: message_of(&*payload),
        location,
    }
}

fn message_of(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        message.to_string()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "<a panic payload that is not a string>".to_string()
    }
}
