//! Scheduling policies: which ready task runs next.
//!
//! The executor owns no ready queue of its own. It tells a [`Scheduler`] when a task
//! is spawned and when it becomes ready, and asks it for the next task to poll; every
//! decision the scheduler makes is drawn from the [`Choices`] it is handed. Each policy
//! is one small struct in its own file; the executor only sees this trait, and
//! [`build`] is the one place that maps a [`Policy`] to its struct.
//!
//! - [`Policy::Fifo`] (`fifo.rs`): the production order, seed-free.
//! - [`Policy::Random`] (`random.rs`): a uniform pick among the ready tasks every step.
//! - [`Policy::Pct`] (`pct.rs`): probabilistic concurrency testing.
//! - [`Policy::Replay`] (`replay.rs`): the exact task order of a recorded run, then
//!   the seed's once the program no longer fits it.
//! - The minimizer's script (`scripted.rs`, no `Policy`): a task order that skips
//!   what no longer fits.

mod fifo;
mod pct;
mod random;
mod replay;
mod scripted;

pub use pct::DEFAULT_PCT_HORIZON;

/// The deepest [`Policy::Pct`] accepted. PCT draws its `depth - 1` change points before
/// the run; past a few the guarantee `1 / (n * k^(depth-1))` is nil anyway, and an
/// unbounded depth from `SEEDLOOP_POLICY` (`pct:4294967295`) took 21 GB for one seed.
pub const MAX_PCT_DEPTH: u32 = 64;

/// The longest PCT horizon accepted, in steps: a thousand times the default step limit
/// ([`crate::DEFAULT_MAX_STEPS`]).
pub const MAX_PCT_HORIZON: u64 = 1_000_000_000;
pub(crate) use replay::spare_picks;
pub use replay::Schedule;
pub(crate) use scripted::Scripted;

use crate::choices::Choices;
use crate::id::TaskId;
use std::fmt;
use std::str::FromStr;

/// A task as the scheduler sees it: its slot in the executor's slab (for per-task
/// state kept in plain vectors) and its id (for policy-independent identity).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TaskRef {
    pub slot: u32,
    pub id: TaskId,
}

/// What the executor asks of a scheduling policy.
///
/// Invariant (kept by the executor): a task is handed to [`Scheduler::ready`] at most
/// once between two times it is returned by [`Scheduler::next`].
pub(crate) trait Scheduler {
    /// A task was created; it will be handed to `ready` next.
    fn spawned(&mut self, _task: TaskRef, _choices: &mut dyn Choices) {}

    /// The task can make progress.
    fn ready(&mut self, task: TaskRef);

    /// The next task to poll, removed from the ready set; `None` when nothing is ready.
    fn next(&mut self, choices: &mut dyn Choices) -> Option<TaskRef>;

    /// The last pick as a tape decision would make it, `(index, ready)`: the index of
    /// the task among the `ready` tasks in FIFO order. Only a policy that keeps its
    /// ready tasks in that order and does not draw its picks (the minimizer's script)
    /// says; transcribing a run into a tape asks for it.
    fn last_pick(&self) -> Option<(u64, u64)> {
        None
    }
}

/// How the next task is chosen. The default is [`Policy::Random`].
///
/// `Display` gives the form `SEEDLOOP_POLICY` accepts, and `FromStr` parses it.
///
/// # Examples
///
/// ```
/// use seedloop::Policy;
/// assert_eq!("pct:3".parse::<Policy>().unwrap(), Policy::Pct { depth: 3 });
/// assert_eq!(Policy::Fifo.to_string(), "fifo");
/// assert!("lifo".parse::<Policy>().is_err());
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub enum Policy {
    /// Every step, a uniformly random ready task runs.
    #[default]
    Random,
    /// The production order: ready tasks run first-in first-out; a spawned task runs
    /// after its spawner blocks; a yielding task goes to the back. Ignores the seed.
    Fifo,
    /// Probabilistic concurrency testing with `depth - 1` priority change points: finds
    /// any bug of depth `depth` with probability at least `1 / (n * k^(depth-1))` for
    /// `n` tasks and a horizon of `k` steps ([`crate::Config::pct_horizon`]).
    Pct {
        /// The bug depth targeted: the number of ordering constraints, from 1 to
        /// [`MAX_PCT_DEPTH`].
        depth: u32,
    },
    /// Runs tasks in exactly the order a recorded run did ([`crate::FailureReport::schedule`]).
    /// Where the program no longer fits the recording (it was edited since), the run
    /// goes on as [`Policy::Random`] under the `Sim`'s seed and says where it diverged
    /// ([`crate::Stats::divergence`]).
    Replay(Schedule),
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Policy::Random => "random".to_string(),
            Policy::Fifo => "fifo".to_string(),
            Policy::Pct { depth } => format!("pct:{depth}"),
            Policy::Replay(schedule) => format!("replay({} steps)", schedule.len()),
        };
        f.pad(&text)
    }
}

/// A `SEEDLOOP_POLICY`-style string that names no policy.
///
/// # Examples
///
/// ```
/// let error = "lifo".parse::<seedloop::Policy>().unwrap_err();
/// assert!(error.to_string().starts_with("invalid policy `lifo`"), "{error}");
/// assert!("pct:0".parse::<seedloop::Policy>().is_err(), "a depth is at least 1");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsePolicyError {
    input: String,
}

impl fmt::Display for ParsePolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid policy `{}`: expected `random`, `fifo` or `pct:<depth>` with 1 <= depth <= {MAX_PCT_DEPTH} (e.g. `pct:3`)",
            self.input
        )
    }
}

impl std::error::Error for ParsePolicyError {}

impl FromStr for Policy {
    type Err = ParsePolicyError;

    fn from_str(input: &str) -> Result<Policy, ParsePolicyError> {
        let error = || ParsePolicyError {
            input: input.to_string(),
        };
        let text = input.trim().to_ascii_lowercase();
        match text.as_str() {
            "random" => Ok(Policy::Random),
            "fifo" => Ok(Policy::Fifo),
            _ => {
                let depth = text.strip_prefix("pct:").ok_or_else(error)?;
                match depth.parse::<u32>() {
                    Ok(depth) if (1..=MAX_PCT_DEPTH).contains(&depth) => Ok(Policy::Pct { depth }),
                    _ => Err(error()),
                }
            }
        }
    }
}

impl Policy {
    /// Panics with a message naming the fix when the policy cannot run.
    pub(crate) fn validate(&self) {
        match self {
            Policy::Pct { depth: 0 } => panic!("Policy::Pct {{ depth: 0 }} is invalid: the depth counts ordering constraints and must be at least 1 (depth 1 = no preemptions, just random priorities)"),
            Policy::Pct { depth } if *depth > MAX_PCT_DEPTH => panic!("Policy::Pct {{ depth: {depth} }} is invalid: the depth must be at most MAX_PCT_DEPTH ({MAX_PCT_DEPTH}); PCT finds bugs of a few ordering constraints, and each change point costs memory up front"),
            _ => {}
        }
    }
}

/// The scheduler for `policy`. `ordered` says that decisions come from a tape, where
/// decision `k` must mean "the k-th candidate in FIFO order".
pub(crate) fn build(policy: &Policy, ordered: bool, pct_horizon: u64) -> Box<dyn Scheduler> {
    match policy {
        Policy::Fifo => Box::new(fifo::Fifo::default()),
        Policy::Random if ordered => Box::new(random::OrderedRandom::default()),
        Policy::Random => Box::new(random::Random::default()),
        Policy::Pct { depth } => Box::new(pct::Pct::new(*depth, pct_horizon, ordered)),
        Policy::Replay(schedule) => Box::new(replay::Replay::new(schedule.clone())),
    }
}
