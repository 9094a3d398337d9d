//! `tokio::signal::ctrl_c`: in a simulation no signal arrives unless the test sends
//! one with [`simulate_ctrl_c`], so a service that shuts down on Ctrl-C is tested by
//! saying when.

use std::cell::{Cell, RefCell};
use std::io;
use std::task::{Poll, Waker};

thread_local! {
    // Ctrl-Cs sent on this thread so far, and who waits for the next.
    static SENT: Cell<u64> = const { Cell::new(0) };
    static WAITERS: RefCell<Vec<Waker>> = const { RefCell::new(Vec::new()) };
}

/// Waits for a Ctrl-C (tokio's `signal::ctrl_c`): one sent by [`simulate_ctrl_c`]
/// after this call.
///
/// Cancel safety: cancel safe.
pub async fn ctrl_c() -> io::Result<()> {
    let seen = SENT.with(Cell::get);
    std::future::poll_fn(|cx| {
        if SENT.with(Cell::get) > seen {
            return Poll::Ready(Ok(()));
        }
        WAITERS.with(|waiters| waiters.borrow_mut().push(cx.waker().clone()));
        Poll::Pending
    })
    .await
}

/// Sends a Ctrl-C: every [`ctrl_c`] waiting now completes.
///
/// # Examples
///
/// ```
/// use seedloop_tokio as tokio;
/// tokio::runtime::Runtime::new().unwrap().block_on(async {
///     let server = tokio::spawn(async { tokio::signal::ctrl_c().await.unwrap(); "stopped" });
///     tokio::time::sleep(std::time::Duration::from_secs(60)).await;
///     assert!(!server.is_finished(), "no Ctrl-C unless the test sends one");
///     tokio::signal::simulate_ctrl_c();
///     assert_eq!(server.await.unwrap(), "stopped");
/// });
/// ```
pub fn simulate_ctrl_c() {
    SENT.with(|sent| sent.set(sent.get() + 1));
    let waiters = WAITERS.with(|waiters| std::mem::take(&mut *waiters.borrow_mut()));
    for waiter in waiters {
        waiter.wake();
    }
}
