//! Running a sweep's seeds: in order on the calling thread, or on worker threads with
//! the same result.
//!
//! Each seed's run depends only on the seed ([`Plan::run_seed`]), so seeds can run
//! anywhere. The parallel sweep hands them out in increasing order from one atomic
//! counter (in chunks, to keep the counter off the hot path; one at a time under a
//! time budget). A worker that finds a failure records it if its seed is smaller than
//! the smallest failing seed so far; workers take no seed above that one, but finish
//! the smaller seeds they hold, any of which may fail too. Every seed below the
//! smallest failing seed was handed out before it, so when the workers are done the
//! failure kept is the smallest failing seed of the range: the one a serial sweep
//! stops at, with the same report, not whichever worker finished first. A panic that
//! escapes a run (a test closure that panics outside the simulation) is one more
//! outcome of its seed, re-raised on the calling thread under the same rule.
//!
//! Under a time budget no worker takes a seed once the deadline has passed, and every
//! seed taken is run, so the seeds that ran are still a prefix of the range: a summary
//! can name them as one range. The first seed always runs: a sweep never passes having
//! run nothing.
//!
//! Each simulation stays on the one worker thread that made it (a `Sim` is not
//! `Send`), so only the test closure is shared: `Fn() -> Fut + Sync`, called on the
//! workers; its futures are made and run where they are made, and need not be `Send`.
//! The workers are named after the calling thread (libtest names it after the test),
//! so a failure's replay line names the test as a serial sweep's does. The calling
//! thread waits for them and draws the progress line.

use super::plan::{Plan, Tally};
use super::progress::{self, Progress};
use crate::failure::Failure;
use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The most seeds a worker takes at once.
const MAX_CHUNK: u64 = 64;

/// How a seed ended, when it did not pass.
enum Outcome {
    Failed(Failure),
    /// A panic outside the simulation (in the test closure), to re-raise.
    Panicked(Box<dyn Any + Send>),
}

/// Runs the plan's seeds in order on this thread; the first failure stops it.
pub(crate) fn serial<F, Fut>(plan: &Plan, test: &mut F) -> Result<Tally, Failure>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(seeds) = plan.seeds.clone() else {
        return Ok(Tally::default());
    };
    let start = plan.started;
    let deadline = plan.time_budget.map(|budget| start + budget);
    let mut progress = progress_for(plan, start);
    let mut tally = Tally::default();
    let result = (|| {
        for seed in seeds.clone() {
            if plan.first_ran && seed == *seeds.start() {
                continue;
            }
            if seed != *seeds.start() && deadline.is_some_and(|deadline| Instant::now() >= deadline)
            {
                break;
            }
            tally.add(plan.run_seed(seed, test)?);
            if progress.enabled() {
                if let Some(line) = progress.update(Instant::now(), tally.seeds_run) {
                    progress::show(&line);
                }
            }
        }
        Ok(())
    })();
    if let Some(line) = progress.finish(Instant::now(), tally.seeds_run) {
        progress::show_last(&line);
    }
    result.map(|()| tally)
}

/// Runs the plan's seeds on `workers` threads; the result is [`serial`]'s.
pub(crate) fn parallel<F, Fut>(plan: &Plan, workers: usize, test: &F) -> Result<Tally, Failure>
where
    F: Fn() -> Fut + Sync,
    Fut: Future<Output = ()>,
{
    let Some(seeds) = plan.seeds.clone() else {
        return Ok(Tally::default());
    };
    let (first, last) = (*seeds.start(), *seeds.end());
    // Offsets from the first seed: `span` is the last one (2^64 seeds fit no count).
    let span = last - first;
    let start = plan.started;
    let deadline = plan.time_budget.map(|budget| start + budget);
    let chunk = match deadline {
        // Every seed taken is run: one at a time, so no worker runs past the deadline
        // by more than one seed.
        Some(_) => 1,
        None => (span / (workers as u64 * 256)).clamp(1, MAX_CHUNK),
    };
    let shared = Shared {
        // Past the first seed when it has run (it fitted PCT's horizon for the rest).
        next: AtomicU64::new(u64::from(plan.first_ran)),
        exhausted: AtomicBool::new(false),
        smallest_failing: AtomicU64::new(u64::MAX),
        outcome: Mutex::new(None),
        live: AtomicUsize::new(workers),
    };
    let mut progress = progress_for(plan, start);
    let caller = std::thread::current();
    let name = caller.name().map(str::to_string);
    let tally = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let mut builder = std::thread::Builder::new();
                if let Some(name) = &name {
                    builder = builder.name(name.clone());
                }
                let (shared, caller) = (&shared, &caller);
                builder
                    .spawn_scoped(scope, move || {
                        let tally = work(plan, shared, first, span, chunk, deadline, test);
                        if shared.live.fetch_sub(1, Ordering::AcqRel) == 1 {
                            caller.unpark();
                        }
                        tally
                    })
                    .expect(
                        "seedloop: could not start a sweep's worker thread; lower SEEDLOOP_JOBS",
                    )
            })
            .collect();
        while shared.live.load(Ordering::Acquire) > 0 {
            std::thread::park_timeout(if progress.enabled() {
                progress::EVERY
            } else {
                Duration::from_secs(1)
            });
            if progress.enabled() {
                if let Some(line) = progress.update(Instant::now(), shared.taken(span)) {
                    progress::show(&line);
                }
            }
        }
        let mut tally = Tally::default();
        for handle in handles {
            match handle.join() {
                Ok(worker) => tally.add(worker),
                Err(payload) => resume_unwind(payload),
            }
        }
        tally
    });
    if let Some(line) = progress.finish(Instant::now(), tally.seeds_run) {
        progress::show_last(&line);
    }
    match shared
        .outcome
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
    {
        None => Ok(tally),
        Some((_, Outcome::Failed(failure))) => Err(failure),
        Some((_, Outcome::Panicked(payload))) => resume_unwind(payload),
    }
}

/// What the workers share.
struct Shared {
    /// The next offset (from the first seed) to hand out.
    next: AtomicU64,
    /// Set when an offset past the last seed was handed out (the counter itself would
    /// wrap after the last of 2^64 seeds).
    exhausted: AtomicBool,
    /// The offset of the smallest failing seed so far (`u64::MAX`: none).
    smallest_failing: AtomicU64,
    /// That seed's offset and outcome.
    outcome: Mutex<Option<(u64, Outcome)>>,
    /// Workers still running; the last one wakes the calling thread.
    live: AtomicUsize,
}

impl Shared {
    /// How many seeds were handed out (for the progress line).
    fn taken(&self, span: u64) -> u64 {
        self.next
            .load(Ordering::Relaxed)
            .min(span.saturating_add(1))
    }

    fn record(&self, offset: u64, outcome: Outcome) {
        let mut kept = self
            .outcome
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if kept.as_ref().is_none_or(|(kept, _)| offset < *kept) {
            *kept = Some((offset, outcome));
            self.smallest_failing.store(offset, Ordering::Release);
        }
    }
}

/// One worker: takes chunks of seeds until none are left, a smaller seed failed, or
/// the deadline passed.
fn work<F, Fut>(
    plan: &Plan,
    shared: &Shared,
    first: u64,
    span: u64,
    chunk: u64,
    deadline: Option<Instant>,
    test: &F,
) -> Tally
where
    F: Fn() -> Fut + Sync,
    Fut: Future<Output = ()>,
{
    let mut call = || test();
    let mut tally = Tally::default();
    loop {
        if shared.exhausted.load(Ordering::Relaxed) {
            return tally;
        }
        // Checked before taking: a seed once taken is run, so the seeds run stay a
        // prefix of the range.
        if deadline.is_some_and(|deadline| Instant::now() >= deadline)
            && shared.next.load(Ordering::Relaxed) > 0
        {
            return tally;
        }
        let begin = shared.next.fetch_add(chunk, Ordering::Relaxed);
        if begin > span || begin.checked_add(chunk).is_none() {
            shared.exhausted.store(true, Ordering::Relaxed);
            if begin > span {
                return tally;
            }
        }
        let end = begin.saturating_add(chunk - 1).min(span);
        for offset in begin..=end {
            if offset > shared.smallest_failing.load(Ordering::Acquire) {
                return tally;
            }
            let seed = first + offset;
            match catch_unwind(AssertUnwindSafe(|| plan.run_seed(seed, &mut call))) {
                Ok(Ok(seed_tally)) => tally.add(seed_tally),
                Ok(Err(failure)) => shared.record(offset, Outcome::Failed(failure)),
                Err(payload) => shared.record(offset, Outcome::Panicked(payload)),
            }
        }
    }
}

fn progress_for(plan: &Plan, start: Instant) -> Progress {
    let total = plan
        .seeds
        .as_ref()
        .and_then(|seeds| (*seeds.end() - *seeds.start()).checked_add(1));
    // An open-ended range (a time budget's) has no total worth showing.
    let total = total.filter(|_| plan.time_budget.is_none() || plan.sweep.seeds.end() != &u64::MAX);
    Progress::for_stderr(plan.label(), start, total, plan.time_budget)
}
