//! The minimizer: a failing run turned into the shortest failing schedule found.
//!
//! A seed that fails is a long story: thousands of events, most of them incidental.
//! [`FailureReport::minimize`] shortens it in two phases, keeping a candidate only
//! when it still fails the same way (the same kind of failure; for a panic, at the
//! same place) and its run is shorter: fewer trace events, then fewer deviations from
//! the FIFO order, then fewer decisions.
//!
//! 1. **The task order.** The failing run's recorded schedule becomes a script, a list
//!    of task ids run by a forgiving policy (`scheduler/scripted.rs`): each step runs
//!    the script's next task if it is ready, skips an entry that is not, and goes on
//!    in FIFO order past the end. Deleting entries always leaves a script that runs,
//!    so the minimizer deletes them to drop the steps the bug does not need: every
//!    step of one task at a time (a task the bug does not involve then waits until
//!    the script has run out), then blocks of halving size down to single steps,
//!    then the end.
//! 2. **The tape.** Every scripted run is also written down as a byte tape, the
//!    decision format of [`crate::choices::Tape`] that the property tests and fuzzers
//!    use (decision 0 is what a FIFO event loop would do; each pick is an index among
//!    the ready tasks in FIFO order); the tape makes the same run under
//!    [`Policy::Random`]. A nonzero decision is a deviation from the production
//!    order. The best tape is then shrunk as a property-test shrinker would: its end
//!    cut, blocks deleted, then zeroed, then single bytes lowered.
//!
//! A candidate is kept only when it is strictly shorter, so the result never runs
//! longer than the failure it started from and every pass ends; all of it is bounded
//! by [`MINIMIZE_RUNS`] runs of the program. The result is an ordinary failure of a
//! tape run: its trace is the short story, `failure.sim()` replays it, and a sweep's
//! replay line carries the tape (`SEEDLOOP_TAPE=..`).

use crate::choices::{to_hex, Stream};
use crate::config::Config;
use crate::failure::{Failure, FailureKind, FailureReport};
use crate::id::TaskId;
use crate::runtime::Sim;
use crate::scheduler::{Policy, Schedule};
use std::fmt;
use std::future::Future;

/// The most runs of the program one [`FailureReport::minimize`] makes.
pub const MINIMIZE_RUNS: u64 = 2_000;

/// What [`FailureReport::minimize`] found: the shortest failing run, and how it got
/// there. `Display` says both, then prints the new failure's report.
///
/// # Examples
///
/// ```
/// let program = || async {
///     let worker = seedloop::spawn(async {
///         seedloop::yield_now().await;
///         panic!("found");
///     });
///     worker.await.unwrap();
/// };
/// let failure = seedloop::Sim::new(4).run(program()).unwrap_err();
/// let minimized = failure.minimize(program).unwrap();
/// assert_eq!(minimized.deviations, 0, "the FIFO order already fails");
/// assert!(minimized.runs <= seedloop::harness::MINIMIZE_RUNS);
/// assert!(minimized.to_string().starts_with("minimized from "));
/// assert_eq!(minimized.failure.config.tape.as_deref(), Some(&[][..]));
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Minimized {
    /// The shortest failing run found: a run from a tape under [`Policy::Random`].
    pub failure: Failure,
    /// The trace events of the failure minimized.
    pub original_events: u64,
    /// The nonzero bytes of the tape the failure was first written down as.
    pub original_deviations: usize,
    /// The nonzero bytes of the result's tape: its deviations from the FIFO order.
    pub deviations: usize,
    /// Runs of the program made.
    pub runs: u64,
    /// The result as a [proptest schedule](crate::proptest::Schedule) (its deviations
    /// from the FIFO order by choice point, which `seedloop::proptest::sim` replays),
    /// when that makes the same run: only scheduler decisions deviate and the program
    /// draws no random values of its own. Feature `proptest`.
    #[cfg(feature = "proptest")]
    pub schedule: Option<crate::harness::proptest::Schedule>,
}

impl fmt::Display for Minimized {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tape = self.failure.config.tape.as_deref().unwrap_or_default();
        writeln!(
            f,
            "minimized from {} trace events and {} deviations from the FIFO order to {} events and {} deviations (a tape of {} bytes) in {} runs",
            self.original_events,
            self.original_deviations,
            self.failure.trace.len(),
            self.deviations,
            tape.len(),
            self.runs
        )?;
        write!(f, "{}", self.failure)
    }
}

/// Why a failure could not be minimized.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// static FAIL: AtomicBool = AtomicBool::new(true);
/// // Fails once, then passes: not a failure that replays.
/// let program = || async {
///     if FAIL.swap(false, Ordering::Relaxed) {
///         panic!("flaky");
///     }
/// };
/// let failure = seedloop::Sim::new(0).run(program()).unwrap_err();
/// let error = failure.minimize(program).unwrap_err();
/// assert!(error.to_string().contains("did not fail again"), "{error}");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MinimizeError {
    /// The failure is nondeterminism: there is no one run to shorten.
    Nondeterministic,
    /// Run again from its configuration, the program did not fail the same way (it
    /// changed, or it is not deterministic).
    NotReproduced {
        /// What the run did instead.
        detail: String,
    },
}

impl fmt::Display for MinimizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MinimizeError::Nondeterministic => write!(
                f,
                "cannot minimize a nondeterminism failure: two runs of one seed differ, so there is no one run to shorten; fix the nondeterminism first"
            ),
            MinimizeError::NotReproduced { detail } => write!(
                f,
                "cannot minimize: run again from its configuration, the program did not fail again the same way ({detail}); minimize with the program that failed"
            ),
        }
    }
}

impl std::error::Error for MinimizeError {}

/// The failure to keep failing with: its kind, and for a panic where it happened.
fn same_failure(original: &FailureKind, candidate: &FailureKind) -> bool {
    match (original, candidate) {
        (
            FailureKind::Panic {
                location: Some(original),
                ..
            },
            FailureKind::Panic {
                location: Some(candidate),
                ..
            },
        ) => original == candidate,
        (
            FailureKind::Panic {
                message: original, ..
            },
            FailureKind::Panic {
                message: candidate, ..
            },
        ) => original == candidate,
        (original, candidate) => original.name() == candidate.name(),
    }
}

/// What makes one failing run shorter than another: trace events, then deviations
/// from the FIFO order, then tape bytes.
type Length = (u64, usize, usize);

fn deviations(tape: &[u8]) -> usize {
    tape.iter().filter(|byte| **byte != 0).count()
}

/// The shortest failing run so far, and the runs spent finding it.
struct Best<'a, F> {
    program: F,
    config: &'a Config,
    kind: &'a FailureKind,
    failure: Failure,
    tape: Vec<u8>,
    /// The script whose run is `failure` (phase 1).
    script: Vec<TaskId>,
    decisions: Vec<(Stream, u64)>,
    runs: u64,
}

impl<F, Fut> Best<'_, F>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    fn length(failure: &Failure, tape: &[u8]) -> Length {
        (failure.trace.len(), deviations(tape), tape.len())
    }

    fn spent(&self) -> bool {
        self.runs >= MINIMIZE_RUNS
    }

    /// Keeps `failure` (the run of `tape`) if it fails the same way and is shorter.
    fn offer(&mut self, result: Result<(), Failure>, tape: Vec<u8>) -> bool {
        let Err(failure) = result else {
            return false;
        };
        let better = same_failure(self.kind, &failure.kind)
            && Self::length(&failure, &tape) < Self::length(&self.failure, &self.tape);
        if better {
            self.failure = failure;
            self.tape = tape;
        }
        better
    }

    /// Runs `script` (phase 1); keeps it if it is shorter.
    fn try_script(&mut self, script: Vec<TaskId>) -> bool {
        if self.spent() {
            return false;
        }
        self.runs += 1;
        let schedule = Schedule::new(script.clone(), self.decisions.clone());
        let (result, tape) =
            Sim::with_config(self.config.clone()).run_scripted((self.program)(), &schedule);
        let kept = self.offer(result, tape);
        if kept {
            self.script = script;
        }
        kept
    }

    /// Runs `tape` (phase 2); keeps it if it is shorter.
    fn try_tape(&mut self, tape: Vec<u8>) -> bool {
        if self.spent() || tape == self.tape {
            return false;
        }
        self.runs += 1;
        let result = tape_sim(self.config, &tape).run((self.program)());
        self.offer(result, tape)
    }
}

/// Shrinks a sequence with `attempt` (which keeps what it is given if it is
/// better, and says so): deletes blocks, from half the sequence down to single
/// elements; then cuts the end, halving what is cut.
/// `current` reads the sequence kept.
fn cut_and_delete<T: Clone, B>(
    best: &mut B,
    current: fn(&B) -> &[T],
    attempt: fn(&mut B, Vec<T>) -> bool,
    spent: fn(&B) -> bool,
) -> bool {
    let mut improved = false;
    let mut size = current(best).len().div_ceil(2).max(1);
    loop {
        let mut start = 0;
        while start < current(best).len() && !spent(best) {
            let end = (start + size).min(current(best).len());
            let mut candidate = current(best).to_vec();
            candidate.drain(start..end);
            if attempt(best, candidate) {
                improved = true;
            } else {
                start += size;
            }
        }
        if size == 1 || spent(best) {
            break;
        }
        size = size.div_ceil(2);
    }
    let mut cut = current(best).len().div_ceil(2);
    while cut > 0 && !spent(best) {
        let keep = current(best).len().saturating_sub(cut);
        let candidate = current(best)[..keep].to_vec();
        if attempt(best, candidate) {
            improved = true;
        } else {
            cut /= 2;
        }
    }
    improved
}

impl<F, Fut> Best<'_, F>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    /// Phase 1: delete steps from the script: every step of one task at a time (the
    /// tasks the bug does not need), then blocks of steps.
    fn shrink_script(&mut self) -> bool {
        let mut improved = false;
        let mut tasks = self.script.clone();
        tasks.sort();
        tasks.dedup();
        for task in tasks {
            let without: Vec<TaskId> = self.script.iter().copied().filter(|t| *t != task).collect();
            if without.len() < self.script.len() {
                improved |= self.try_script(without);
            }
        }
        improved
            | cut_and_delete(
                self,
                |best| &best.script,
                |best, script| best.try_script(script),
                |best| best.spent(),
            )
    }

    /// Phase 2: cut, delete, zero and lower the tape's decisions.
    fn shrink_tape(&mut self) -> bool {
        let mut improved = cut_and_delete(
            self,
            |best| &best.tape,
            |best, tape| best.try_tape(tape),
            |best| best.spent(),
        );
        let mut size = self.tape.len().div_ceil(2).max(1);
        loop {
            let mut start = 0;
            while start < self.tape.len() && !self.spent() {
                let end = (start + size).min(self.tape.len());
                if self.tape[start..end].iter().any(|byte| *byte != 0) {
                    let mut candidate = self.tape.clone();
                    candidate[start..end].fill(0);
                    improved |= self.try_tape(candidate);
                }
                start += size;
            }
            if size == 1 || self.spent() {
                break;
            }
            size = size.div_ceil(2);
        }
        for index in 0..self.tape.len() {
            for lower in [self.tape[index] / 2, self.tape[index].saturating_sub(1)] {
                if self.spent() || index >= self.tape.len() || self.tape[index] == 0 {
                    break;
                }
                let mut candidate = self.tape.clone();
                candidate[index] = lower;
                improved |= self.try_tape(candidate);
            }
        }
        improved
    }
}

/// A `Sim` configured like `config`, its decisions from `tape` under `Policy::Random`.
fn tape_sim(config: &Config, tape: &[u8]) -> Sim {
    let mut config = config.clone();
    config.policy = Policy::Random;
    config.tape = Some(tape.to_vec());
    Sim::with_config(config)
}

impl FailureReport {
    /// Shortens this failure's run into the shortest failing schedule found: the same
    /// failure (the same kind; for a panic, at the same place) in fewer trace events
    /// and fewer deviations from the FIFO order. `program` is the program that failed
    /// (the sweep's closure); it runs up to [`MINIMIZE_RUNS`] times. See the module
    /// docs for how.
    ///
    /// The result is a run from a byte tape: its `failure.trace` is the short story,
    /// its `failure.sim()` replays it, and its replay line carries the tape.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// // Ten busy tasks, and a check-then-act race between two of them.
    /// let program = || async {
    ///     let balance = Rc::new(Cell::new(100));
    ///     let mut tasks = Vec::new();
    ///     for index in 0..12 {
    ///         let balance = balance.clone();
    ///         tasks.push(seedloop::spawn(async move {
    ///             if index < 2 && balance.get() >= 80 {
    ///                 seedloop::yield_now().await;
    ///                 balance.set(balance.get() - 80);
    ///             }
    ///             for _ in 0..5 {
    ///                 seedloop::yield_now().await;
    ///             }
    ///         }));
    ///     }
    ///     for task in tasks {
    ///         task.await.unwrap();
    ///     }
    ///     assert!(balance.get() >= 0, "overdrawn");
    /// };
    /// let failure = seedloop::Check::new().seeds(0..100).try_run(program).unwrap_err();
    /// let minimized = failure.minimize(program).unwrap();
    /// assert_eq!(minimized.failure.kind.name(), "panic");
    /// assert!(minimized.failure.trace.len() <= failure.trace.len());
    /// assert!(minimized.deviations <= 2, "{minimized}");
    /// // It replays.
    /// let again = minimized.failure.sim().run(program()).unwrap_err();
    /// assert_eq!(again.trace.to_string(), minimized.failure.trace.to_string());
    /// ```
    ///
    /// # Errors
    ///
    /// When the failure is nondeterminism, or `program` does not fail again the same
    /// way from the failure's configuration.
    pub fn minimize<F, Fut>(&self, mut program: F) -> Result<Minimized, MinimizeError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = ()>,
    {
        if matches!(self.kind, FailureKind::Nondeterminism { .. }) {
            return Err(MinimizeError::Nondeterministic);
        }
        let not_reproduced = |result: Result<(), Failure>| MinimizeError::NotReproduced {
            detail: match result {
                Ok(()) => "it did not fail again".to_string(),
                Err(failure) => format!("it failed with: {}", failure.kind),
            },
        };
        let mut config = self.config.clone();
        config.record_schedule = true;
        config.trace_limit = crate::trace::DEFAULT_TRACE_LIMIT;
        // The run again, its schedule recorded (a tape run under Random, if it was one).
        let mut again = match &self.config.tape {
            Some(tape) => tape_sim(&config, tape),
            None => Sim::with_config(config.clone()),
        };
        let failure = match again.run(program()) {
            Err(failure) if same_failure(&self.kind, &failure.kind) => failure,
            other => return Err(not_reproduced(other)),
        };
        // That schedule as a script: the same run, now written down as a tape too.
        let schedule = failure.schedule.clone();
        let (result, tape) = Sim::with_config(config.clone()).run_scripted(program(), &schedule);
        let first = match result {
            Err(failure) if same_failure(&self.kind, &failure.kind) => failure,
            other => return Err(not_reproduced(other)),
        };
        let original_deviations = deviations(&tape);
        let mut best = Best {
            program,
            config: &config,
            kind: &self.kind,
            failure: first,
            tape,
            script: schedule.picks().to_vec(),
            decisions: schedule.decisions().to_vec(),
            runs: 2,
        };
        while best.shrink_script() && !best.spent() {}
        while best.shrink_tape() && !best.spent() {}
        // The result as a run of its tape (a scripted run's trace is the same).
        best.runs += 1;
        let mut final_run = tape_sim(&config, &best.tape);
        let outcome = final_run.run((best.program)());
        #[cfg(feature = "proptest")]
        let schedule = as_deviations(&final_run.take_decision_log());
        let mut failure = match outcome {
            Err(failure) if same_failure(&self.kind, &failure.kind) => failure,
            other => {
                return Err(MinimizeError::NotReproduced {
                    detail: format!(
                        "written down as the tape {}, {}",
                        to_hex(&best.tape),
                        match other {
                            Ok(()) => "it passed".to_string(),
                            Err(failure) => format!("it failed with: {}", failure.kind),
                        }
                    ),
                })
            }
        };
        // Report with the configuration the caller gave, bar the tape and policy.
        let mut reported = self.config.clone();
        reported.policy = Policy::Random;
        reported.tape = Some(best.tape.clone());
        failure.config = reported;
        Ok(Minimized {
            failure,
            original_events: self.trace.len(),
            original_deviations,
            deviations: deviations(&best.tape),
            runs: best.runs,
            #[cfg(feature = "proptest")]
            schedule,
        })
    }
}

/// The run that took `log` as a proptest schedule (the same deviations from FIFO,
/// by choice point), when that makes the same run: only scheduler decisions deviate,
/// and the program drew no random values of its own (a schedule draws those from the
/// seed, a tape from its bytes).
#[cfg(feature = "proptest")]
fn as_deviations(log: &[crate::choices::Decision]) -> Option<crate::harness::proptest::Schedule> {
    use crate::harness::proptest::{Deviation, Schedule};
    let mut deviations = Vec::new();
    let mut choice_point = 0;
    for decision in log {
        match decision.stream {
            Stream::Scheduler => {
                if decision.value != 0 {
                    deviations.push(Deviation {
                        choice_point,
                        pick: decision.value,
                    });
                }
                choice_point += 1;
            }
            Stream::User => return None,
            _ if decision.value != 0 => return None,
            _ => {}
        }
    }
    Some(Schedule::new(deviations))
}
