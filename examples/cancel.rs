//! Cancelling a long operation, and cleaning up: asyncio's `Task.cancel`, on seedloop.
//!
//! The asyncio original (from the docs of `Task.cancel`):
//!
//! ```python
//! async def cancel_me():
//!     print('cancel_me(): before sleep')
//!     try:
//!         await asyncio.sleep(3600)       # wait for 1 hour
//!     except asyncio.CancelledError:
//!         print('cancel_me(): cancel sleep')
//!         raise
//!     finally:
//!         print('cancel_me(): after sleep')
//!
//! async def main():
//!     task = asyncio.create_task(cancel_me())
//!     await asyncio.sleep(1)
//!     task.cancel()
//!     try:
//!         await task
//!     except asyncio.CancelledError:
//!         print("main(): cancel_me is cancelled now")
//! ```
//!
//! Rust has no `finally` for futures: cancelling a task *drops* its future at the
//! await point where it is suspended, so cleanup lives in `Drop` (an RAII guard).
//! seedloop drops the future inside the simulation, so the guard's `Drop` can still
//! read the virtual clock (and could spawn or release simulated resources). Awaiting
//! the handle of a cancelled task gives `Err(JoinError::Cancelled)`, and only after
//! the task's `Drop` code has run.
//!
//! Run it with `cargo run --release --example cancel`.

use seedloop::task::Builder;
use seedloop::time::{sleep, Instant};
use seedloop::{JoinError, Policy, Sim};
use std::time::Duration;

/// Something a long operation must release however it ends (a lock, a temp file, a
/// lease): the `finally:` block of the asyncio version.
struct Guard {
    name: &'static str,
}

impl Drop for Guard {
    fn drop(&mut self) {
        // Runs inside the simulation, so `Instant::now()` is the virtual time at which
        // the task was cancelled.
        println!(
            "[{}] {}: cleanup (guard dropped)",
            Instant::now(),
            self.name
        );
    }
}

/// A job that would take an hour: one chunk of work per virtual second.
async fn long_operation() -> u32 {
    let _guard = Guard {
        name: "long_operation",
    };
    println!("[{}] long_operation: started", Instant::now());
    for chunk in 1..=3600 {
        sleep(Duration::from_secs(1)).await; // cancellation lands at an await like this
        println!("[{}] long_operation: chunk {chunk} done", Instant::now());
    }
    3600
}

fn main() {
    let mut sim = Sim::new(0).policy(Policy::Fifo);
    sim.run(async {
        // 1. Cancel a task in the middle of its work.
        println!("== cancelling a running task ==");
        let mut task = Builder::new()
            .name("long_operation")
            .spawn(long_operation());
        sleep(Duration::from_millis(3500)).await;

        println!("[{}] main: cancelling", Instant::now());
        let requested = task.cancel(); // like task.cancel(): true, the task was running
        println!("[{}] main: cancel() returned {requested}", Instant::now());
        assert!(requested);

        // Await the handle by reference, so it can still be asked things afterwards.
        let result = (&mut task).await;
        println!("[{}] main: awaited the task: {result:?}", Instant::now());
        assert_eq!(result, Err(JoinError::Cancelled));
        match result {
            Err(error) if error.is_cancelled() => {
                println!(
                    "[{}] main: long_operation is cancelled now ({error})",
                    Instant::now()
                )
            }
            other => unreachable!("expected a cancellation, got {other:?}"),
        }
        // Cancelling it again changes nothing.
        assert!(!task.cancel());
        println!("main: cancel() on the cancelled task returned false");
        // Cancellation did not wait for the hour: it took effect at once, at +3.5s.
        assert_eq!(
            Instant::now().elapsed_since_epoch(),
            Duration::from_millis(3500)
        );

        // 2. Cancelling a task that has already finished returns false and leaves
        //    its result alone (asyncio's Task.cancel() returns False for a done task).
        println!("\n== cancelling a finished task ==");
        let quick = Builder::new().name("quick").spawn(async {
            // Like `finally:`, the guard also runs when the task completes normally
            // (at +3.6s here).
            let _guard = Guard { name: "quick" };
            sleep(Duration::from_millis(100)).await;
            "quick result"
        });
        sleep(Duration::from_secs(1)).await;
        println!(
            "[{}] main: quick finished? {}",
            Instant::now(),
            quick.is_finished()
        );
        let requested = quick.cancel();
        println!("[{}] main: cancel() returned {requested}", Instant::now());
        assert!(!requested);
        let result = quick.await;
        println!("[{}] main: awaited it: {result:?}", Instant::now());
        assert_eq!(result, Ok("quick result"));
    })
    .expect("the simulation ran to completion");

    println!(
        "\nvirtual time at the end: {} (the hour-long job was never waited for)",
        sim.now()
    );
}
