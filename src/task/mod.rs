//! Tasks: [`spawn`], [`Builder`], [`yield_now`], [`JoinHandle`], [`current`];
//! [`spawn_blocking`] for blocking work.
//!
//! A task is a future the simulation polls on its own (asyncio's `create_task`). Tasks
//! need no `Send` bound: a simulation is one thread. They are numbered in spawn order
//! ([`TaskId`], the main future is task 0) and may be named for traces and reports.
//! Cancellation drops a task's future at its current await point, inside the
//! simulation, so `Drop` code may still use the clock, spawn, and release resources.

mod blocking;
mod gather;
mod group;
mod join;
mod wait;

pub use crate::id::TaskId;
pub use blocking::{spawn_blocking, MAX_BLOCKING_DURATION, MIN_BLOCKING_DURATION};
pub use gather::{gather, gather_settled, Gather, GatherSettled};
pub use group::{GroupError, GroupFailure, TaskGroup};
pub use join::{AbortHandle, JoinError, JoinHandle};
pub use wait::{as_completed, shield, wait, AsCompleted, ReturnWhen, Shield, Wait};

use crate::runtime::context;
use crate::trace::EventKind;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Spawns `future` as a new task and returns its handle. The task is ready at once but
/// does not preempt its spawner.
///
/// # Cancel safety
///
/// The returned [`JoinHandle`] is a future of the task's result. Dropped before it was
/// ever polled, it detaches the task, which keeps running; dropped after a poll that
/// found the task unfinished (its awaiter was cancelled, a `timeout` expired, a
/// `select` took another branch), it cancels the task, as asyncio cancels the task an
/// awaiter was waiting on. Either way the result is lost with the handle; [`shield`]
/// awaits a task without passing a cancellation on.
///
/// # Examples
///
/// ```
/// seedloop::Sim::new(0).run(async {
///     let handles: Vec<_> = (0..3u32).map(|i| seedloop::spawn(async move { i * 2 })).collect();
///     let mut sum = 0;
///     for handle in handles {
///         sum += handle.await.unwrap();
///     }
///     assert_eq!(sum, 6);
/// }).unwrap();
/// ```
///
/// # Panics
///
/// Outside a simulation, and when [`crate::Sim::max_tasks`] tasks are alive.
#[track_caller]
#[must_use = "dropping a JoinHandle that was never awaited detaches the task (write `drop(spawn(..))` to say so)"]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    Builder::new().spawn(future)
}

/// Configures a task before spawning it.
///
/// # Examples
///
/// ```
/// seedloop::Sim::new(0).run(async {
///     let worker = seedloop::task::Builder::new().name("worker").spawn(async {
///         seedloop::task::current().name().map(str::to_string)
///     });
///     assert_eq!(worker.await.unwrap().as_deref(), Some("worker"));
/// }).unwrap();
/// ```
#[derive(Debug, Default)]
pub struct Builder {
    name: Option<String>,
    // The host to spawn on (`net::Host::spawn`); the spawning task's host when unset.
    host: Option<crate::runtime::world::HostId>,
    catch_panics: bool,
}

impl Builder {
    /// A builder for an unnamed task.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the task (shown in traces and failure reports).
    pub fn name(mut self, name: impl Into<String>) -> Builder {
        self.name = Some(name.into());
        self
    }

    /// Whether a panic in the task is caught (default no). A caught panic does not
    /// fail the run: the task ends and its handle returns
    /// [`JoinError::Panicked`] with the message, as tokio's `JoinHandle` does (the
    /// panic is still a trace event). An uncaught one fails the run.
    ///
    /// ```
    /// use seedloop::task::Builder;
    /// seedloop::Sim::new(0).run(async {
    ///     let handle = Builder::new().catch_panics(true).spawn(async { panic!("boom") });
    ///     let error = handle.await.unwrap_err();
    ///     assert_eq!(error.panic_message(), Some("boom"));
    /// }).unwrap();
    /// ```
    pub fn catch_panics(mut self, catch: bool) -> Builder {
        self.catch_panics = catch;
        self
    }

    /// Spawns the task; see [`spawn`].
    ///
    /// # Cancel safety
    ///
    /// As [`spawn`]: dropping the handle detaches the task if it was never polled, and
    /// cancels it if it was being awaited.
    #[track_caller]
    #[must_use = "dropping a JoinHandle that was never awaited detaches the task (write `drop(..spawn(..))` to say so)"]
    pub fn spawn<F>(self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let catch_panics = self.catch_panics;
        self.spawn_with("seedloop::spawn", future, join::Plain, catch_panics)
    }

    /// Spawns `future`, its output turned into the handle's result by `completion`.
    #[track_caller]
    pub(crate) fn spawn_with<F, T, C>(
        self,
        api: &'static str,
        future: F,
        completion: C,
        catch_panics: bool,
    ) -> JoinHandle<T>
    where
        F: Future + 'static,
        T: 'static,
        C: join::Convert<F::Output, T>,
    {
        context::with_current(api, |shared| {
            let (task, cell) = join::task_future(future, completion);
            let key = shared.spawn(
                self.host,
                self.name.map(String::into_boxed_str),
                Box::pin(task),
                catch_panics,
            );
            JoinHandle::new(cell, key)
        })
    }

    /// Spawns a child of `group` with this builder's name; see [`TaskGroup::spawn`].
    ///
    /// # Cancel safety
    ///
    /// As [`TaskGroup::spawn`].
    ///
    /// # Examples
    ///
    /// ```
    /// use seedloop::task::{Builder, TaskGroup};
    /// seedloop::Sim::new(0).run(async {
    ///     let result = TaskGroup::<String>::scope(|tg| async move {
    ///         let child = Builder::new().name("fetch").spawn_in(&tg, async {
    ///             Ok(seedloop::task::current().name().unwrap().to_string())
    ///         });
    ///         Ok(child.await.unwrap())
    ///     }).await;
    ///     assert_eq!(result.unwrap(), "fetch");
    /// }).unwrap();
    /// ```
    #[track_caller]
    pub fn spawn_in<T, E, F>(self, group: &TaskGroup<E>, future: F) -> JoinHandle<T>
    where
        F: Future<Output = Result<T, E>> + 'static,
        T: 'static,
        E: 'static,
    {
        group.spawn_with(self, future)
    }

    /// Spawns on `host` instead of the spawning task's host.
    pub(crate) fn on_host(mut self, host: crate::runtime::world::HostId) -> Builder {
        self.host = Some(host);
        self
    }

    pub(crate) fn task_name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

/// The task that is running, as returned by [`current`].
///
/// # Examples
///
/// ```
/// use seedloop::task::{current, TaskId};
///
/// seedloop::Sim::new(0).run(async {
///     let main = current();
///     assert_eq!((main.id(), main.name()), (TaskId::MAIN, Some("main")));
/// }).unwrap();
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskInfo {
    id: TaskId,
    name: Option<String>,
}

impl TaskInfo {
    /// Its id.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// Its name, if it has one (the main future is named `main`).
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

/// The running task.
///
/// # Panics
///
/// Outside a simulation; see [`try_current`].
#[track_caller]
pub fn current() -> TaskInfo {
    try_current().unwrap_or_else(|| context::outside_a_sim("seedloop::task::current"))
}

/// The running task, or `None` outside a simulation (or outside any task's poll).
///
/// # Examples
///
/// ```
/// use seedloop::task::try_current;
///
/// assert_eq!(try_current(), None, "not in a simulation");
/// let inside = seedloop::Sim::new(0).run(async { try_current() }).unwrap();
/// assert_eq!(inside.unwrap().name(), Some("main"));
/// ```
pub fn try_current() -> Option<TaskInfo> {
    context::try_with_current(|shared| {
        let task = shared.current_task()?;
        Some(TaskInfo {
            id: task.id,
            name: shared.task_name(task.id),
        })
    })
    .flatten()
}

/// Yields to the scheduler once: the task stays ready and runs again when the policy
/// picks it (under [`crate::Policy::Fifo`], after every other ready task).
///
/// # Cancel safety
///
/// It holds nothing and waits for nothing, so dropping it, polled or not, changes no
/// state.
///
/// # Examples
///
/// ```
/// seedloop::Sim::new(0).run(async {
///     seedloop::yield_now().await;
/// }).unwrap();
/// ```
///
/// # Panics
///
/// When polled outside a simulation.
#[track_caller]
pub fn yield_now() -> YieldNow {
    YieldNow {
        yielded: false,
        site: std::panic::Location::caller(),
    }
}

/// The future returned by [`yield_now`]; dropping it is harmless (see there).
///
/// # Examples
///
/// ```
/// use seedloop::task::{yield_now, YieldNow};
///
/// let mut sim = seedloop::Sim::new(0);
/// sim.run(async {
///     let yielding: YieldNow = yield_now();
///     yielding.await;
/// }).unwrap();
/// assert_eq!(sim.stats().polls, 2, "polled again after the yield");
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow {
    yielded: bool,
    site: crate::id::Site,
}

impl Future for YieldNow {
    type Output = ();

    // Always inlined: in a crate with many task types (a bench, a big test), LLVM left
    // it, and the thread-local lookup inside, out of line in every task's poll, which
    // cost a W1 step (all yields) about 5%.
    #[inline(always)]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        let woken = context::with_current("seedloop::yield_now", |shared| {
            shared.record_current(EventKind::Yield, None);
            shared.note_site(self.site);
            // The common case, polled directly by its task: one thread-local lookup.
            shared.wake_current(cx.waker())
        });
        if !woken {
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

impl fmt::Debug for YieldNow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("YieldNow").finish()
    }
}

/// The branch a `select` over `branches` futures polls first: a scheduling decision
/// of the simulation (drawn from the scheduler's stream, so a seed replays it and the
/// production order, [`Policy::Fifo`](crate::Policy::Fifo), polls the first branch
/// first). Outside a simulation, 0. For combinators that, like tokio's `select!`, must
/// not always favour one branch: seedloop's tokio facade uses it.
///
/// # Examples
///
/// ```
/// seedloop::Sim::new(0).policy(seedloop::Policy::Fifo).run(async {
///     assert_eq!(seedloop::task::select_start(3), 0);
/// }).unwrap();
/// let mut starts = std::collections::BTreeSet::new();
/// for seed in 0..20 {
///     seedloop::Sim::new(seed).run(async {
///         starts.insert(seedloop::task::select_start(3));
///     }).unwrap();
/// }
/// assert_eq!(starts.len(), 3, "every branch goes first on some seed");
/// ```
///
/// # Panics
///
/// When `branches` is 0.
#[track_caller]
pub fn select_start(branches: usize) -> usize {
    assert!(
        branches > 0,
        "seedloop::task::select_start: a select needs at least one branch"
    );
    context::try_with_current(|shared| {
        shared.choose(crate::choices::Stream::Scheduler, branches as u64) as usize
    })
    .unwrap_or(0)
}
