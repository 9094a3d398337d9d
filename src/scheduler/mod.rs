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
//! - [`Policy::Pct`], [`Policy::PctWithHorizon`] (`pct.rs`): probabilistic concurrency
//!   testing.
//! - [`Policy::Replay`] (`replay.rs`): the exact task order of a recorded run, then
//!   the seed's once the program no longer fits it.
//! - [`Policy::Portfolio`] (`portfolio.rs`): no scheduler of its own; a sweep gives
//!   each seed one of a fixed list of the policies above.
//! - The minimizer's script (`scripted.rs`, no `Policy`): a task order that skips
//!   what no longer fits.
//!
//! A policy that leaves something to be decided per run ([`Policy::Portfolio`], and
//! [`Policy::Pct`]'s horizon) is made concrete before the run starts
//! (`Config::concrete_policy`); a run, its failure and its replay line only ever see
//! the concrete policy.

mod fifo;
mod pct;
mod portfolio;
mod random;
mod replay;
mod scripted;

pub use pct::DEFAULT_PCT_HORIZON;
pub use portfolio::{PORTFOLIO, PORTFOLIO_PCT_DEPTH};

/// The deepest [`Policy::Pct`] (or [`Policy::PctWithHorizon`]) accepted. PCT draws its
/// `depth - 1` change points before the run; past a few the guarantee
/// `1 / (n * k^(depth-1))` is nil anyway, and an unbounded depth from `SEEDLOOP_POLICY`
/// (`pct:4294967295`) took 21 GB for one seed.
pub const MAX_PCT_DEPTH: u32 = 64;

/// The longest PCT horizon accepted, in steps: a thousand times the default step limit
/// ([`crate::DEFAULT_MAX_STEPS`]).
pub const MAX_PCT_HORIZON: u64 = 1_000_000_000;
pub(crate) use replay::spare_picks;
pub use replay::Schedule;
pub(crate) use scripted::Scripted;

use crate::choices::{ChoiceSource, Choices};
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
    fn next(&mut self, choices: &mut ChoiceSource) -> Option<TaskRef>;

    /// The last pick as a tape decision would make it, `(index, ready)`: the index of
    /// the task among the `ready` tasks in FIFO order. Only a policy that keeps its
    /// ready tasks in that order and does not draw its picks (the minimizer's script)
    /// says; transcribing a run into a tape asks for it.
    fn last_pick(&self) -> Option<(u64, u64)> {
        None
    }
}

/// How the next task is chosen. The default of a `Sim` is [`Policy::Random`]; the
/// default of a sweep ([`crate::Check`]) is [`Policy::Portfolio`].
///
/// `Display` gives the form `SEEDLOOP_POLICY` accepts, and `FromStr` parses it.
///
/// # Examples
///
/// ```
/// use seedloop::Policy;
/// assert_eq!("pct:3".parse::<Policy>().unwrap(), Policy::Pct { depth: 3 });
/// assert_eq!(
///     "pct:3,horizon=40".parse::<Policy>().unwrap(),
///     Policy::PctWithHorizon { depth: 3, horizon: 40 }
/// );
/// assert_eq!(Policy::Fifo.to_string(), "fifo");
/// assert_eq!(Policy::Portfolio.to_string(), "portfolio");
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
    /// Probabilistic concurrency testing with `depth - 1` priority change points over
    /// a horizon of `k` steps fitted to the program: a sweep measures `k` on its first
    /// seed (the steps that run took), unless [`crate::Config::pct_horizon`] pins it; a
    /// bare `Sim` uses [`DEFAULT_PCT_HORIZON`]. Finds any bug of depth `depth` with
    /// probability at least `1 / (n * k^(depth-1))` for `n` tasks (the conditions are in
    /// the module doc of `scheduler/pct.rs`). A run names the horizon it used: it runs,
    /// and its failure names, [`Policy::PctWithHorizon`] (depth 1, which has no change
    /// point, stays `Pct { depth: 1 }`).
    Pct {
        /// The bug depth targeted: the number of ordering constraints, from 1 to
        /// [`MAX_PCT_DEPTH`].
        depth: u32,
    },
    /// [`Policy::Pct`] over a horizon of exactly `horizon` steps, from 1 to
    /// [`MAX_PCT_HORIZON`]: what a failure of `Pct` names, so that
    /// `Sim::new(failure.seed).policy(failure.policy.clone())` replays it.
    PctWithHorizon {
        /// The bug depth targeted, as for [`Policy::Pct`].
        depth: u32,
        /// The horizon `k`, in steps: change points are drawn over the first `k`.
        horizon: u64,
    },
    /// A fixed list of policies ([`PORTFOLIO`]) spread over the seeds of a sweep: its
    /// seeds take the list's members in turn, from its first seed. No single policy
    /// finds every kind of bug fastest; on the bench's eleven bug programs the
    /// portfolio needs at most twice the seeds of the best single policy (the README's
    /// bug-finding table has the numbers). Each run names its concrete policy, so a
    /// failure's replay line is exact. A bare `Sim` counts its seed as its place in a
    /// sweep from seed 0; a run from a tape runs [`Policy::Random`] (the tape steers
    /// it).
    Portfolio,
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
            Policy::PctWithHorizon { depth, horizon } => format!("pct:{depth},horizon={horizon}"),
            Policy::Portfolio => "portfolio".to_string(),
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
/// assert!("pct:2,horizon=0".parse::<seedloop::Policy>().is_err(), "a horizon is at least 1");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsePolicyError {
    input: String,
}

impl fmt::Display for ParsePolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid policy `{}`: expected `portfolio`, `random`, `fifo`, `pct:<depth>` or `pct:<depth>,horizon=<steps>` with 1 <= depth <= {MAX_PCT_DEPTH} and 1 <= steps <= {MAX_PCT_HORIZON} (e.g. `pct:3` or `pct:3,horizon=40`)",
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
            "portfolio" => Ok(Policy::Portfolio),
            "random" => Ok(Policy::Random),
            "fifo" => Ok(Policy::Fifo),
            _ => {
                let pct = text.strip_prefix("pct:").ok_or_else(error)?;
                let (depth, horizon) = match pct.split_once(",horizon=") {
                    Some((depth, horizon)) => (depth, Some(horizon)),
                    None => (pct, None),
                };
                let depth = match depth.parse::<u32>() {
                    Ok(depth) if (1..=MAX_PCT_DEPTH).contains(&depth) => depth,
                    _ => return Err(error()),
                };
                match horizon.map(str::parse::<u64>) {
                    None => Ok(Policy::Pct { depth }),
                    Some(Ok(horizon)) if (1..=MAX_PCT_HORIZON).contains(&horizon) => {
                        Ok(Policy::PctWithHorizon { depth, horizon })
                    }
                    Some(_) => Err(error()),
                }
            }
        }
    }
}

impl Policy {
    /// Panics with a message naming the fix when the policy cannot run.
    pub(crate) fn validate(&self) {
        let (Policy::Pct { depth } | Policy::PctWithHorizon { depth, .. }) = self else {
            return;
        };
        let depth = *depth;
        if depth == 0 {
            panic!("Policy::Pct {{ depth: 0 }} is invalid: the depth counts ordering constraints and must be at least 1 (depth 1 = no preemptions, just random priorities)");
        }
        if depth > MAX_PCT_DEPTH {
            panic!("Policy::Pct {{ depth: {depth} }} is invalid: the depth must be at most MAX_PCT_DEPTH ({MAX_PCT_DEPTH}); PCT finds bugs of a few ordering constraints, and each change point costs memory up front");
        }
        if let Policy::PctWithHorizon { horizon, .. } = self {
            assert!(
                (1..=MAX_PCT_HORIZON).contains(horizon),
                "Policy::PctWithHorizon {{ horizon: {horizon}, .. }} is invalid: the horizon must be from 1 step to MAX_PCT_HORIZON ({MAX_PCT_HORIZON}) steps"
            );
        }
    }

    /// This policy with nothing left to decide, for the run at `position` in its sweep
    /// (a bare `Sim`: its seed) with PCT horizon `horizon`. `taped`: the run's decisions
    /// come from a tape, which a portfolio hands to [`Policy::Random`].
    pub(crate) fn concrete(&self, position: u64, horizon: u64, taped: bool) -> Policy {
        match self {
            Policy::Portfolio if taped => Policy::Random,
            Policy::Portfolio => portfolio::member(position).concrete(position, horizon, taped),
            // Depth 1 has no change point: its horizon plays no part.
            Policy::Pct { depth: 1 } => Policy::Pct { depth: 1 },
            Policy::Pct { depth } => Policy::PctWithHorizon {
                depth: *depth,
                horizon,
            },
            other => other.clone(),
        }
    }
}

/// The scheduler for `policy`, which must be concrete ([`Policy::concrete`]).
/// `ordered` says that decisions come from a tape, where decision `k` must mean "the
/// k-th candidate in FIFO order".
pub(crate) fn build(policy: &Policy, ordered: bool) -> AnyScheduler {
    let boxed: Box<dyn Scheduler> = match policy {
        Policy::Fifo => return AnyScheduler::Fifo(fifo::Fifo::default()),
        Policy::Random if ordered => Box::new(random::OrderedRandom::default()),
        Policy::Random => return AnyScheduler::Random(random::Random::default()),
        Policy::Pct { depth } => Box::new(pct::Pct::new(*depth, DEFAULT_PCT_HORIZON, ordered)),
        Policy::PctWithHorizon { depth, horizon } => {
            Box::new(pct::Pct::new(*depth, *horizon, ordered))
        }
        Policy::Replay(schedule) => Box::new(replay::Replay::new(schedule.clone())),
        Policy::Portfolio => unreachable!("a portfolio is made concrete before its run"),
    };
    AnyScheduler::Other(boxed)
}

/// Any scheduler, as the executor holds it. The two policies a sweep spends most of
/// its steps in (seeded `Random`, `Fifo`) are called directly, so their picks inline
/// into the step loop; the others are called through the trait object. Measured on the
/// spawn-and-yield workload: a dynamic call per `ready` and per `next` cost about 4% of
/// a step. The executor still knows no policy: it sees only this type's
/// [`Scheduler`] implementation.
pub(crate) enum AnyScheduler {
    Random(random::Random),
    Fifo(fifo::Fifo),
    Other(Box<dyn Scheduler>),
}

impl AnyScheduler {
    /// A scheduler from outside [`build`] (the minimizer's script).
    pub(crate) fn other(scheduler: impl Scheduler + 'static) -> AnyScheduler {
        AnyScheduler::Other(Box::new(scheduler))
    }
}

impl Scheduler for AnyScheduler {
    #[inline]
    fn spawned(&mut self, task: TaskRef, choices: &mut dyn Choices) {
        match self {
            AnyScheduler::Random(scheduler) => scheduler.spawned(task, choices),
            AnyScheduler::Fifo(scheduler) => scheduler.spawned(task, choices),
            AnyScheduler::Other(scheduler) => scheduler.spawned(task, choices),
        }
    }

    #[inline]
    fn ready(&mut self, task: TaskRef) {
        match self {
            AnyScheduler::Random(scheduler) => scheduler.ready(task),
            AnyScheduler::Fifo(scheduler) => scheduler.ready(task),
            AnyScheduler::Other(scheduler) => scheduler.ready(task),
        }
    }

    #[inline]
    fn next(&mut self, choices: &mut ChoiceSource) -> Option<TaskRef> {
        match self {
            AnyScheduler::Random(scheduler) => scheduler.next(choices),
            AnyScheduler::Fifo(scheduler) => scheduler.next(choices),
            AnyScheduler::Other(scheduler) => scheduler.next(choices),
        }
    }

    fn last_pick(&self) -> Option<(u64, u64)> {
        match self {
            AnyScheduler::Random(scheduler) => scheduler.last_pick(),
            AnyScheduler::Fifo(scheduler) => scheduler.last_pick(),
            AnyScheduler::Other(scheduler) => scheduler.last_pick(),
        }
    }
}
