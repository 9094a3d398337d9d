//! Blocking work: [`spawn_blocking`], asyncio's `run_in_executor` and `to_thread`.
//!
//! A simulation has one thread, so a blocking job is not run on another one: it is a
//! task named `blocking` that stands for a thread-pool job. When the job is submitted,
//! how long it takes is drawn from the run's blocking stream of choices
//! ([`crate::choices::Stream::Blocking`]): a whole number of microseconds between
//! [`MIN_BLOCKING_DURATION`] and [`MAX_BLOCKING_DURATION`], decision 0 being the
//! minimum. The task sleeps until the job would finish, then calls the closure on the
//! simulation thread, at that virtual instant, and the closure's value is the task's
//! result. Jobs that finish at the same instant are timers due together: they fire,
//! and their closures run, in a drawn order that a seed replays.
//!
//! The pool has no size limit (tokio's default is 512 threads, asyncio's at most 32): a job
//! never waits for a free thread, so its duration is the whole of its delay. The
//! closure itself takes no virtual time, as any code between two awaits.
//!
//! A job is a task of its spawner's host: a crash of that host drops it, and a job
//! whose closure had not run yet never runs. Its handle, unlike a task's, never
//! cancels it when dropped (see [`spawn_blocking`]).

use super::{Builder, JoinHandle};
use crate::choices::Stream;
use crate::runtime::context;
use crate::time::{sleep_until, Instant};
use std::time::Duration;

/// The shortest a blocking job takes: its duration when the blocking stream's decision
/// is 0 (under [`crate::Policy::Fifo`], and on a tape of zeros).
///
/// # Examples
///
/// ```
/// use seedloop::task::{spawn_blocking, MIN_BLOCKING_DURATION};
/// use seedloop::time::Instant;
/// let mut sim = seedloop::Sim::new(0).policy(seedloop::Policy::Fifo);
/// sim.run(async {
///     spawn_blocking(|| ()).await.unwrap();
///     assert_eq!(Instant::now().elapsed_since_epoch(), MIN_BLOCKING_DURATION);
/// })
/// .unwrap();
/// ```
pub const MIN_BLOCKING_DURATION: Duration = Duration::from_micros(10);

/// The longest a blocking job takes.
///
/// # Examples
///
/// ```
/// use seedloop::task::{spawn_blocking, MAX_BLOCKING_DURATION, MIN_BLOCKING_DURATION};
/// use seedloop::time::Instant;
/// for seed in 0..20 {
///     let taken = seedloop::Sim::new(seed)
///         .run(async {
///             spawn_blocking(|| ()).await.unwrap();
///             Instant::now().elapsed_since_epoch()
///         })
///         .unwrap();
///     assert!((MIN_BLOCKING_DURATION..=MAX_BLOCKING_DURATION).contains(&taken));
/// }
/// ```
pub const MAX_BLOCKING_DURATION: Duration = Duration::from_millis(1);

/// Runs `job` as a simulated thread-pool job (asyncio's `loop.run_in_executor(None,
/// job)` and `asyncio.to_thread(job)`, tokio's `spawn_blocking`) and returns the handle
/// of its result.
///
/// The job is a task named `blocking` on the spawner's host: it finishes after a
/// duration drawn from the run's blocking stream of choices, between
/// [`MIN_BLOCKING_DURATION`] and [`MAX_BLOCKING_DURATION`] in whole microseconds, and
/// `job` runs on the simulation thread at that instant. Jobs finishing at the same
/// instant run in a drawn order that the seed replays. `job` must not block for real
/// (no OS threads, sleeps or I/O inside a simulation): what it stands for takes
/// virtual time, the drawn duration, not real time.
///
/// A panic in `job` is a panic of the task: it fails the run, or, with
/// [`crate::Sim::continue_on_panic`], the handle gives [`super::JoinError::Panicked`].
///
/// # Cancel safety
///
/// Dropping the handle never cancels the job, polled or not (tokio's behaviour for
/// blocking tasks, unlike a [`super::spawn`]ed task's handle): a job whose awaiter was
/// cancelled or timed out still runs, and its result is lost with the handle.
/// [`JoinHandle::cancel`] cancels a job whose `job` has not run yet, which then never
/// runs (as a pool drops a job no thread has picked up); once `job` has run, the job
/// has ended and `cancel` returns `false`. A job is never seen half done: `job` runs
/// whole, within one step.
///
/// # Examples
///
/// ```
/// use seedloop::task::{spawn_blocking, MAX_BLOCKING_DURATION};
/// use seedloop::time::Instant;
/// seedloop::Sim::new(0).run(async {
///     // A CPU-heavy or blocking call kept off the event loop.
///     let digest = spawn_blocking(|| (1..=10u64).product::<u64>()).await.unwrap();
///     assert_eq!(digest, 3_628_800);
///     assert!(Instant::now().elapsed_since_epoch() <= MAX_BLOCKING_DURATION);
///
///     // Cancelled before its closure ran: the closure never runs.
///     let never = spawn_blocking(|| panic!("a cancelled job does not run"));
///     assert!(never.cancel());
///     assert!(never.await.unwrap_err().is_cancelled());
/// }).unwrap();
/// ```
///
/// # Panics
///
/// Outside a simulation, on a host that is down, and when [`crate::Sim::max_tasks`]
/// tasks are alive.
#[track_caller]
pub fn spawn_blocking<F, T>(job: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + 'static,
    T: 'static,
{
    let finish = context::with_current("seedloop::task::spawn_blocking", |shared| {
        // Drawn when the job is submitted, so that the draws follow submission order.
        let spread = (MAX_BLOCKING_DURATION - MIN_BLOCKING_DURATION).as_micros() as u64;
        let drawn = shared.choose(Stream::Blocking, spread + 1);
        let duration = MIN_BLOCKING_DURATION + Duration::from_micros(drawn);
        Instant::now()
            .checked_add(duration)
            .unwrap_or(Instant::FAR_FUTURE)
    });
    Builder::new()
        .name("blocking")
        .spawn(async move {
            sleep_until(finish).await;
            job()
        })
        .detached_on_drop()
}
