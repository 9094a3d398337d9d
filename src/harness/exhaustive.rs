//! Exhaustive search for small programs: every distinct schedule, up to a preemption
//! bound (iterative context bounding, Musuvathi & Qadeer, PLDI 2007) and a schedule
//! budget.
//!
//! Each execution runs from a byte tape (decision `k` of a scheduler choice is the
//! `k`-th oldest ready task; past its end a tape reads as zeros, the FIFO order), and
//! the tape logs every decision it answered, with its number of options. The search is
//! a depth-first walk of that decision tree: after a run, it finds the deepest decision
//! that still has an untried option within the bounds, keeps the decisions before it,
//! takes the next option there, and lets everything after it default to FIFO; the next
//! run follows that prefix. When no decision has an option left, every schedule within
//! the bounds has run and the space is covered.
//!
//! What it branches on: every scheduler choice; other decisions only where they are
//! small (at most [`SMALL_DECISION`] options: a `buggify` point, what a crash keeps of
//! an unsynced write), never on drawn values such as latencies or the program's random
//! numbers (those stay at their production value, 0). A deviation from the FIFO pick
//! counts as a preemption; schedules with more than the bound are not run.
//!
//! The reduction, and why it is sound: timers due at the same instant fire in a drawn
//! order, but when the run has no simulated world (no host, socket or disk events)
//! firing a timer only makes its task ready. The order tasks become ready in decides
//! only which one the FIFO pick would take, and the search already tries every ready
//! task at every choice point, so every order of the ties leads to schedules the
//! search runs anyway: it does not branch on them. (With the world, a timer can be a
//! message's delivery, whose order matters: then ties are branched on too.)
//!
//! The reduction suggested by the literature for actor-like programs, "no choice
//! between tasks that touched no shared seedloop primitive since the last choice", is
//! not sound here: tasks share state through `Rc<Cell<..>>` and `RefCell`, which
//! seedloop cannot see, so two such tasks may well race. The search does not assume it.

use super::check::Check;
use crate::choices::{write_decision, Decision, Stream};
use crate::config::Config;
use crate::failure::Failure;
use crate::plural::plural;
use crate::runtime::Sim;
use crate::scheduler::Policy;
use std::fmt;
use std::future::Future;

/// Decisions of at most this many options are branched on outside the scheduler.
pub const SMALL_DECISION: u64 = 4;
/// The default schedule budget of [`Exhaustive`].
pub const DEFAULT_MAX_SCHEDULES: u64 = 10_000;
/// The most schedules one search runs.
pub const MAX_SCHEDULES: u64 = 100_000_000;

/// An exhaustive search; make one with [`Check::exhaustive`].
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// // Two increments through a yield: a lost update on some schedule.
/// let program = || async {
///     let count = Rc::new(Cell::new(0));
///     let tasks: Vec<_> = (0..2).map(|_| {
///         let count = count.clone();
///         seedloop::spawn(async move {
///             let seen = count.get();
///             seedloop::yield_now().await;
///             count.set(seen + 1);
///         })
///     }).collect();
///     for task in tasks {
///         task.await.unwrap();
///     }
///     assert_eq!(count.get(), 2, "lost update");
/// };
/// let failure = seedloop::Check::new().exhaustive().try_run(program).unwrap_err();
/// assert!(failure.to_string().contains("lost update"));
/// // The failure replays like any other.
/// assert!(failure.sim().run(program()).is_err());
/// ```
#[derive(Clone, Debug)]
pub struct Exhaustive {
    config: Config,
    preemption_bound: u64,
    max_schedules: u64,
}

/// What an exhaustive search ran.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExhaustiveSummary {
    /// How many schedules ran.
    pub schedules: u64,
    /// Whether every schedule within the preemption bound ran (`false`: the budget
    /// ran out first).
    pub covered: bool,
    /// The preemption bound searched.
    pub preemption_bound: u64,
    /// How many timer-tie decisions the reduction did not branch on.
    pub ties_not_branched: u64,
}

impl fmt::Display for ExhaustiveSummary {
    /// One line: how many schedules ran, within which bound, and whether that covered
    /// every schedule within it.
    ///
    /// ```
    /// let summary = seedloop::Check::new().exhaustive().run(|| async {
    ///     seedloop::yield_now().await;
    /// });
    /// assert_eq!(
    ///     summary.to_string(),
    ///     "ran 1 schedule within 2 preemptions: every schedule within the bound (covered)"
    /// );
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ran {} within {}: ",
            plural(self.schedules, "schedule"),
            plural(self.preemption_bound, "preemption"),
        )?;
        if self.covered {
            write!(f, "every schedule within the bound (covered)")?;
        } else {
            write!(f, "the schedule budget ran out first (not covered)")?;
        }
        if self.ties_not_branched > 0 {
            write!(
                f,
                "; {} not branched on",
                plural(self.ties_not_branched, "timer tie")
            )?;
        }
        Ok(())
    }
}

impl Check {
    /// An exhaustive search over the schedules of a small program instead of a sweep
    /// of seeds, with this check's configuration (its policy aside: the search picks
    /// every schedule itself): by default, up to 2 preemptions and
    /// [`DEFAULT_MAX_SCHEDULES`] schedules. See [`Exhaustive`].
    pub fn exhaustive(self) -> Exhaustive {
        Exhaustive {
            config: self.config_for_search(),
            preemption_bound: 2,
            max_schedules: DEFAULT_MAX_SCHEDULES,
        }
    }
}

impl Exhaustive {
    /// The most deviations from the FIFO order a schedule may take (default 2).
    pub fn preemption_bound(mut self, bound: u64) -> Exhaustive {
        self.preemption_bound = bound;
        self
    }

    /// The most schedules the search runs (default [`DEFAULT_MAX_SCHEDULES`]).
    ///
    /// # Panics
    ///
    /// When `schedules` is 0 or above [`MAX_SCHEDULES`].
    #[track_caller]
    pub fn max_schedules(mut self, schedules: u64) -> Exhaustive {
        assert!(
            (1..=MAX_SCHEDULES).contains(&schedules),
            "Exhaustive::max_schedules must be between 1 and {MAX_SCHEDULES}, got {schedules}"
        );
        self.max_schedules = schedules;
        self
    }

    /// Runs the search; panics with the report of the first failing schedule.
    ///
    /// ```
    /// let summary = seedloop::Check::new().exhaustive().run(|| async {
    ///     let a = seedloop::spawn(async { seedloop::yield_now().await });
    ///     let b = seedloop::spawn(async { seedloop::yield_now().await });
    ///     a.await.unwrap();
    ///     b.await.unwrap();
    /// });
    /// assert!(summary.covered, "a bug-free small program is fully explored");
    /// assert!(summary.schedules > 1);
    /// ```
    #[track_caller]
    pub fn run<F, Fut>(self, test: F) -> ExhaustiveSummary
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = ()>,
    {
        self.try_run(test)
            .unwrap_or_else(|failure| panic!("{failure}"))
    }

    /// Runs the search; returns the first failing schedule's failure (its
    /// configuration carries the tape that replays it).
    pub fn try_run<F, Fut>(self, mut test: F) -> Result<ExhaustiveSummary, Failure>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = ()>,
    {
        let mut summary = ExhaustiveSummary {
            schedules: 0,
            covered: false,
            preemption_bound: self.preemption_bound,
            ties_not_branched: 0,
        };
        // The decisions the next run follows, then FIFO.
        let mut prefix: Vec<Decision> = Vec::new();
        loop {
            let mut tape = Vec::new();
            for decision in &prefix {
                write_decision(&mut tape, decision.value, decision.bound);
            }
            let mut sim = Sim::with_config(self.config.clone().tape(tape));
            sim.run(test())?;
            summary.schedules += 1;
            let log = sim.take_decision_log();
            let has_world = sim
                .trace()
                .events()
                .iter()
                .any(|event| event.kind().is_net());
            let Some(next) = self.next_prefix(&log, has_world, &mut summary) else {
                summary.covered = true;
                return Ok(summary);
            };
            if summary.schedules >= self.max_schedules {
                return Ok(summary);
            }
            prefix = next;
        }
    }

    /// The prefix of the next schedule in depth-first order after the run that took
    /// `log`; `None` when every schedule within the bounds has run.
    fn next_prefix(
        &self,
        log: &[Decision],
        has_world: bool,
        summary: &mut ExhaustiveSummary,
    ) -> Option<Vec<Decision>> {
        let mut preemptions_before: Vec<u64> = Vec::with_capacity(log.len());
        let mut preemptions = 0;
        for decision in log {
            preemptions_before.push(preemptions);
            preemptions += u64::from(decision.stream == Stream::Scheduler && decision.value != 0);
        }
        for index in (0..log.len()).rev() {
            let decision = log[index];
            let branches = match decision.stream {
                Stream::Scheduler => true,
                // The reduction (module docs): ties of timers that only wake tasks.
                Stream::Timers if !has_world => {
                    if decision.value == 0 {
                        summary.ties_not_branched += 1;
                    }
                    false
                }
                _ => decision.bound <= SMALL_DECISION,
            };
            if !branches || decision.value + 1 >= decision.bound {
                continue;
            }
            let preempts = u64::from(decision.stream == Stream::Scheduler);
            if preemptions_before[index] + preempts > self.preemption_bound {
                continue;
            }
            let mut next = log[..index].to_vec();
            next.push(Decision {
                value: decision.value + 1,
                ..decision
            });
            return Some(next);
        }
        None
    }
}

impl Check {
    /// The configuration every run of an exhaustive search starts from.
    fn config_for_search(&self) -> Config {
        let mut config = self.sweep_config().clone();
        // Decisions come from the search's tapes: decision k is the k-th oldest ready
        // task under Random's ordered pick.
        config.policy = Policy::Random;
        config.from_sweep = false;
        config
    }
}
