//! Debug mode (asyncio's debug mode): findings about the program that are not
//! failures, printed to stderr as they happen and kept in [`Sim::debug_findings`].
//!
//! - A **slow poll**: one poll of a task took more real time than
//!   [`Config::slow_poll`](crate::Config::slow_poll) (100 ms by default). A poll should
//!   return at once: a slow one is blocking work (a synchronous call, a busy loop) that
//!   holds up every other task. The report names the task and the await point it
//!   stopped at.
//! - **An error never retrieved** (asyncio: "Task exception was never retrieved"): a
//!   task whose panic was caught ([`Builder::catch_panics`](crate::task::Builder::catch_panics),
//!   [`Config::continue_on_panic`](crate::Config::continue_on_panic)) ended while
//!   nobody held its handle, or its handle was dropped without taking the error.
//!
//! Real time is measured only in debug mode (it costs a clock read per poll), and it
//! never feeds back into the simulation: findings are not trace events, so a run
//! replays identically with debug mode on or off.
//!
//! [`Sim::debug_findings`]: crate::Sim::debug_findings

use crate::id::TaskId;
use std::fmt;
use std::time::Duration;

/// A debug mode finding; see the module documentation.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let mut sim = seedloop::Sim::new(0).debug(true).slow_poll(Duration::from_millis(20));
/// sim.run(async {
///     std::thread::sleep(Duration::from_millis(30)); // blocking the loop
///     seedloop::yield_now().await;
/// }).unwrap();
/// let finding = &sim.debug_findings()[0];
/// assert!(matches!(finding, seedloop::DebugFinding::SlowPoll { .. }));
/// assert!(finding.to_string().contains("slow poll of task 0 (main)"), "{finding}");
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum DebugFinding {
    /// One poll took `real_time` (more than the configured limit).
    SlowPoll {
        /// The task polled.
        task: TaskId,
        /// Its name, if it has one.
        name: Option<String>,
        /// How long the poll took, in real time.
        real_time: Duration,
        /// Where it stopped (the seedloop future it awaited), if it did.
        site: Option<&'static std::panic::Location<'static>>,
        /// The step of the poll.
        step: u64,
    },
    /// A task's panic was caught and nobody took the error.
    ErrorNeverRetrieved {
        /// The task.
        task: TaskId,
        /// Its name, if it has one.
        name: Option<String>,
        /// The panic's message.
        message: String,
    },
}

fn who(task: TaskId, name: &Option<String>) -> String {
    match name {
        Some(name) => format!("task {} ({name})", task.index()),
        None => format!("task {}", task.index()),
    }
}

impl fmt::Display for DebugFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DebugFinding::SlowPoll {
                task,
                name,
                real_time,
                site,
                step,
            } => {
                write!(
                    f,
                    "slow poll of {} at step {step}: it took {real_time:?} of real time",
                    who(*task, name)
                )?;
                if let Some(site) = site {
                    write!(f, ", then waited at {site}")?;
                }
                write!(f, " (blocking work in async code holds up every other task)")
            }
            DebugFinding::ErrorNeverRetrieved {
                task,
                name,
                message,
            } => write!(
                f,
                "task error was never retrieved: {} panicked with {message:?} and nobody awaited its handle",
                who(*task, name)
            ),
        }
    }
}

/// How often one `sometimes!` (or `always!`) condition was evaluated in a run or a
/// sweep, and how often it held.
///
/// # Examples
///
/// ```
/// let mut sim = seedloop::Sim::new(0);
/// sim.run(async {
///     for value in 0..4 {
///         seedloop::sometimes!(value == 3, "reached three");
///     }
/// }).unwrap();
/// let coverage = sim.coverage()["reached three"];
/// assert_eq!((coverage.reached, coverage.held), (4, 1));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    /// How many times the condition was evaluated.
    pub reached: u64,
    /// How many times it was true.
    pub held: u64,
}

impl Coverage {
    /// Adds `other`'s counts (another run's).
    pub fn add(&mut self, other: Coverage) {
        self.reached += other.reached;
        self.held += other.held;
    }
}
