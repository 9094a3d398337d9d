//! Schedules as proptest values, shrinking to the fewest deviations from FIFO.
//!
//! A [`Schedule`] is a short list of deviations: "at the scheduler's k-th choice
//! point, run the p-th oldest ready task instead of the oldest". Everything not named
//! is the FIFO order, so the empty schedule is what asyncio or tokio's current-thread
//! runtime would run, and each deviation is one preemption. The [`schedule`] strategy
//! draws a few deviations, mostly at early choice points (where short tests make their
//! decisions), and its value tree is proptest's vector of independent elements: when
//! a case fails, proptest tries removing each deviation on its own, then moving each to
//! an earlier choice point and a younger pick. A minimal failing schedule therefore
//! keeps only deviations the failure needs, so a bug that needs two preemptions shrinks
//! to exactly two, and the shrunk case reads as the short story of the bug.
//!
//! Unlike proptest's default shrinking of a byte tape toward zeros (where a byte whose
//! value modulo the number of ready tasks is not zero can never be removed on its own),
//! a deviation's removal never changes the meaning of the others: each names its choice
//! point, not a position in a stream of all decisions.

use crate::runtime::Sim;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use std::fmt;
use std::future::Future;

/// The most deviations [`schedule`] draws.
pub const MAX_DEVIATIONS: usize = 8;

/// One deviation from the FIFO order: at choice point `choice_point` (the scheduler's
/// decisions among two or more ready tasks, counted from 0), run the `pick`-th oldest
/// ready task (1 = the second oldest; past the youngest, the youngest).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Deviation {
    /// Which choice point.
    pub choice_point: u64,
    /// Which ready task, by age (0 would be the FIFO pick itself).
    pub pick: u64,
}

/// A schedule: the FIFO order, but for its deviations. See the module documentation.
///
/// # Examples
///
/// ```
/// use seedloop::proptest::{Deviation, Schedule};
/// let schedule = Schedule::new(vec![Deviation { choice_point: 0, pick: 2 }]);
/// assert_eq!(schedule.deviations().len(), 1);
/// assert_eq!(schedule.to_string(), "FIFO but: choice point 0 -> ready task 2");
/// assert!(Schedule::fifo().deviations().is_empty());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Schedule {
    deviations: Vec<Deviation>,
}

impl Schedule {
    /// A schedule with these deviations: sorted by choice point, one per choice point
    /// (the first given wins), picks of 0 dropped.
    pub fn new(deviations: Vec<Deviation>) -> Schedule {
        let mut kept: Vec<Deviation> = Vec::new();
        for deviation in deviations {
            if deviation.pick > 0
                && !kept
                    .iter()
                    .any(|d| d.choice_point == deviation.choice_point)
            {
                kept.push(deviation);
            }
        }
        kept.sort();
        Schedule { deviations: kept }
    }

    /// The FIFO order: no deviation.
    pub fn fifo() -> Schedule {
        Schedule::default()
    }

    /// The deviations, by choice point.
    pub fn deviations(&self) -> &[Deviation] {
        &self.deviations
    }

    fn pairs(&self) -> Vec<(u64, u64)> {
        self.deviations
            .iter()
            .map(|d| (d.choice_point, d.pick))
            .collect()
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.deviations.is_empty() {
            return f.write_str("FIFO");
        }
        f.write_str("FIFO but: ")?;
        for (index, deviation) in self.deviations.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            write!(
                f,
                "choice point {} -> ready task {}",
                deviation.choice_point, deviation.pick
            )?;
        }
        Ok(())
    }
}

/// Schedules of up to [`MAX_DEVIATIONS`] deviations, mostly at early choice points and
/// with young picks. Shrinks to the fewest deviations that still fail.
///
/// # Examples
///
/// ```
/// use proptest::prelude::*;
/// use std::cell::Cell;
/// use std::rc::Rc;
///
/// proptest! {
///     #![proptest_config(ProptestConfig::with_cases(32))]
///     // In a test file, `#[test]` goes here; this example calls it from `main`.
///     fn counts_every_increment(tasks in 1..4usize, schedule in seedloop::proptest::schedule()) {
///         seedloop::proptest::run(&schedule, || async move {
///             let count = Rc::new(Cell::new(0));
///             let handles: Vec<_> = (0..tasks).map(|_| {
///                 let count = count.clone();
///                 seedloop::spawn(async move { count.set(count.get() + 1) })
///             }).collect();
///             for handle in handles {
///                 handle.await.unwrap();
///             }
///             assert_eq!(count.get(), tasks);
///         })?;
///     }
/// }
/// # fn main() { counts_every_increment(); }
/// ```
pub fn schedule() -> impl Strategy<Value = Schedule> {
    schedule_with(MAX_DEVIATIONS, 1024)
}

/// [`schedule`] with at most `max_deviations` deviations, at choice points below
/// `choice_points` (still mostly early ones).
///
/// # Panics
///
/// When `choice_points` is 0.
pub fn schedule_with(max_deviations: usize, choice_points: u64) -> impl Strategy<Value = Schedule> {
    assert!(
        choice_points > 0,
        "schedule_with: choice_points must be above 0"
    );
    let early = choice_points.min(8);
    let middle = choice_points.min(64);
    // Short tests make their decisions early: a third of the deviations land in the
    // first 8 choice points, a third in the first 64.
    let choice_point = prop_oneof![0..early, 0..middle, 0..choice_points];
    let pick = prop_oneof![Just(1u64), 1..=3u64, 1..=16u64];
    proptest::collection::vec((choice_point, pick), 0..=max_deviations).prop_map(|pairs| {
        Schedule::new(
            pairs
                .into_iter()
                .map(|(choice_point, pick)| Deviation { choice_point, pick })
                .collect(),
        )
    })
}

/// A simulation that runs exactly `schedule` (Random policy, ordered decisions), for
/// replaying a case by hand.
///
/// ```
/// use seedloop::proptest::{sim, Deviation, Schedule};
/// let schedule = Schedule::new(vec![Deviation { choice_point: 0, pick: 1 }]);
/// let mut replay = sim(&schedule);
/// replay.run(async {
///     let a = seedloop::spawn(async {});
///     let b = seedloop::spawn(async {});
///     a.await.unwrap();
///     b.await.unwrap();
/// }).unwrap();
/// assert_eq!(replay.stats().preemptions, Some(1));
/// ```
pub fn sim(schedule: &Schedule) -> Sim {
    Sim::new(0).deviations(schedule.pairs())
}

/// Runs `make()`'s future once under `schedule`; a failure is a
/// [`TestCaseError::Fail`] carrying the failure's report (and the schedule).
///
/// # Examples
///
/// See [`schedule`].
pub fn run<F, Fut>(schedule: &Schedule, make: F) -> Result<(), TestCaseError>
where
    F: FnOnce() -> Fut,
    Fut: Future,
{
    sim(schedule)
        .run(make())
        .map(drop)
        .map_err(|failure| TestCaseError::fail(format!("under {schedule}:\n{failure}")))
}
