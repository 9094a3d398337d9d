//! Failures: what went wrong in a run, reported so that a person can act on it.
//!
//! A [`Failure`] names the seed, the policy, the step and virtual time, what failed
//! ([`FailureKind`]), the last events of the trace, and ends with what replays it: for
//! a run of a sweep (or one given a replay command), the command with the
//! `SEEDLOOP_*` variables the sweep reads; for a bare [`crate::Sim`], which reads none,
//! the Rust expression that builds it. It carries the whole trace and the recorded [`Schedule`], so a test
//! can also replay it programmatically ([`Failure::sim`], [`crate::Policy::Replay`]).
//! It is `Send + Sync + 'static`, so it travels through `anyhow` and
//! `Box<dyn Error + Send + Sync>`.

use crate::config::{libtest_ignored_flag, Config};
use crate::id::TaskId;
use crate::plural::plural;
use crate::scheduler::{Policy, Schedule};
use crate::trace::{EventKind, Trace};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// How many trace events a failure report shows.
pub const REPORT_EVENTS: usize = 20;

/// A task that could not make progress when a deadlock was found.
///
/// # Examples
///
/// ```
/// let failure = seedloop::Sim::new(0)
///     .run(async {
///         let never = seedloop::sync::Event::new();
///         never.wait().await;
///     })
///     .unwrap_err();
/// let seedloop::FailureKind::Deadlock { blocked } = &failure.kind else { panic!() };
/// assert_eq!(blocked[0].name.as_deref(), Some("main"));
/// assert!(blocked[0].waits_on.starts_with("Event 0"), "{}", blocked[0]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockedTask {
    /// The task.
    pub task: TaskId,
    /// Its name, if it was given one.
    pub name: Option<String>,
    /// What it waits on, as far as seedloop can tell.
    pub waits_on: String,
    /// The step at which it last ran.
    pub last_poll_step: u64,
}

impl fmt::Display for BlockedTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.task)?;
        if let Some(name) = &self.name {
            write!(f, " ({name})")?;
        }
        write!(f, " waits on {}", self.waits_on)
    }
}

/// What failed.
///
/// # Examples
///
/// ```
/// use seedloop::FailureKind;
/// let failure = seedloop::Sim::new(0)
///     .max_steps(100)
///     .run(async {
///         loop {
///             seedloop::yield_now().await;
///         }
///     })
///     .unwrap_err();
/// assert_eq!(failure.kind, FailureKind::StepLimit { max_steps: 100 });
/// assert_eq!(failure.kind.name(), "step limit");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureKind {
    /// A task (or the main future) panicked.
    Panic {
        /// The task that panicked.
        task: TaskId,
        /// Its name, if any.
        name: Option<String>,
        /// The panic message.
        message: String,
        /// Where it panicked (`file:line:column`), when seedloop saw it.
        location: Option<String>,
    },
    /// Nothing was ready, no timer was pending, and the main future had not finished.
    Deadlock {
        /// Every task still alive, in id order.
        blocked: Vec<BlockedTask>,
    },
    /// The run took more scheduling steps than [`crate::Sim::max_steps`] (a livelock,
    /// or a program larger than the limit).
    StepLimit {
        /// The limit that was hit.
        max_steps: u64,
    },
    /// The virtual clock would pass [`crate::Sim::max_time`] since the run started.
    TimeLimit {
        /// The limit that was hit.
        max_time: Duration,
    },
    /// The same seed gave two different executions.
    Nondeterminism {
        /// Where the executions differ.
        detail: String,
    },
    /// Tasks wait on each other's locks or semaphores in a cycle: they can never run
    /// again, though other tasks still can (a partial deadlock). Reported the moment
    /// the cycle forms.
    WaitCycle {
        /// The tasks along the cycle, each with what it waits on and who holds it.
        cycle: Vec<BlockedTask>,
    },
    /// At the end of the run, dropping the tasks still alive kept spawning new ones
    /// (a `Drop` that spawns a task whose `Drop` spawns a task, ...) for more rounds
    /// than teardown allows. The tasks left were forgotten, not dropped.
    TeardownLimit {
        /// The rounds of dropping that ran.
        rounds: u32,
        /// How many tasks were still alive after them.
        left: u64,
        /// The newest task left and the tasks that spawned it, newest first, as
        /// `task 1003 (cleanup)`.
        chain: Vec<String>,
    },
    /// A sweep required `sometimes!` conditions ([`crate::Check::require_sometimes`])
    /// that held on none of its seeds: the seeds never reached the states the test is
    /// about. The report's run is the sweep's first seed.
    NeverHeld {
        /// The conditions that never held, by name.
        conditions: Vec<String>,
        /// How many seeds the sweep ran.
        seeds_run: u64,
    },
    /// A limit of the simulated world was reached (messages in flight, ...): a
    /// runaway program, or a limit to raise.
    LimitReached {
        /// What ran out, and the knob that sets its limit.
        what: String,
        /// The limit.
        limit: u64,
    },
    /// A task waited on a synchronization primitive longer than
    /// [`crate::Sim::max_wait`] or [`crate::Sim::max_wait_steps`] allows.
    Starvation {
        /// The waiting task.
        task: TaskId,
        /// Its name, if any.
        name: Option<String>,
        /// The primitive it waits on ("Lock 0 (accounts)").
        primitive: String,
        /// How long it had waited, in virtual time.
        waited: Duration,
        /// How long it had waited, in steps.
        waited_steps: u64,
    },
}

impl FailureKind {
    /// A short name for the kind (`panic`, `deadlock`, `step limit`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            FailureKind::Panic { .. } => "panic",
            FailureKind::Deadlock { .. } => "deadlock",
            FailureKind::StepLimit { .. } => "step limit",
            FailureKind::TimeLimit { .. } => "time limit",
            FailureKind::Nondeterminism { .. } => "nondeterminism",
            FailureKind::WaitCycle { .. } => "wait cycle",
            FailureKind::Starvation { .. } => "starvation",
            FailureKind::TeardownLimit { .. } => "teardown limit",
            FailureKind::LimitReached { .. } => "limit reached",
            FailureKind::NeverHeld { .. } => "never held",
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureKind::Panic {
                task,
                name,
                message,
                location,
            } => {
                write!(f, "{task}")?;
                if let Some(name) = name {
                    write!(f, " ({name})")?;
                }
                write!(f, " panicked: {message}")?;
                match location {
                    Some(location) => write!(f, " (at {location})"),
                    None => Ok(()),
                }
            }
            FailureKind::Deadlock { blocked } => {
                write!(f, "deadlock: nothing is ready, no timer is pending, and {} task(s) are blocked", blocked.len())?;
                for task in blocked {
                    write!(f, "\n    {task}")?;
                }
                Ok(())
            }
            FailureKind::StepLimit { max_steps } => write!(
                f,
                "step limit: the run took more than {max_steps} steps (a livelock? if the program is just long, raise max_steps: on the Sim or Check, or max_steps = .. in #[seedloop::test])"
            ),
            FailureKind::TimeLimit { max_time } => write!(
                f,
                "time limit: the virtual clock would pass {max_time:?} since the run started (if that is expected, raise max_time: on the Sim or Check, or max_time = \"..\" in #[seedloop::test])"
            ),
            FailureKind::Nondeterminism { detail } => write!(f, "nondeterminism: {detail}"),
            FailureKind::LimitReached { what, limit } => {
                write!(f, "limit reached: {what} (the limit is {limit})")
            }
            FailureKind::NeverHeld {
                conditions,
                seeds_run,
            } => write!(
                f,
                "sometimes! conditions that never held in {seeds_run} seeds: {} (the seeds never reached the states the test is about: run more seeds, or make them reachable)",
                conditions.join(", ")
            ),
            FailureKind::TeardownLimit {
                rounds,
                left,
                chain,
            } => {
                write!(
                    f,
                    "teardown limit: after {rounds} rounds of dropping the tasks left at the end of the run, {left} task(s) remain, because dropping a task spawns another (a Drop that spawns); they were forgotten, not dropped. The chain, newest first, each spawned while the next was being dropped:"
                )?;
                for task in chain {
                    write!(f, "\n    {task}")?;
                }
                Ok(())
            }
            FailureKind::WaitCycle { cycle } => {
                write!(
                    f,
                    "deadlock: a wait-for cycle of {} task(s) (other tasks may still run, but these never will)",
                    cycle.len()
                )?;
                for task in cycle {
                    write!(f, "\n    {task}")?;
                }
                Ok(())
            }
            FailureKind::Starvation {
                task,
                name,
                primitive,
                waited,
                waited_steps,
            } => {
                write!(f, "starvation: {task}")?;
                if let Some(name) = name {
                    write!(f, " ({name})")?;
                }
                write!(
                    f,
                    " waited {waited:?} ({waited_steps} steps) for {primitive}, past the limit set by Sim::max_wait / max_wait_steps"
                )
            }
        }
    }
}

/// A failed run: what failed, where, and how to replay it.
///
/// A `Failure` is one pointer wide (its [`FailureReport`] is boxed), so that
/// `Result<T, Failure>` stays small in user code; the report's fields read through it
/// (`failure.seed`, `failure.kind`, `failure.trace`, ...).
///
/// # Examples
///
/// ```
/// use seedloop::{FailureKind, Sim};
/// let failure = Sim::new(5)
///     .run(async {
///         seedloop::task::Builder::new()
///             .name("worker")
///             .spawn(async { panic!("boom") })
///             .await
///     })
///     .unwrap_err();
/// assert!(matches!(failure.kind, FailureKind::Panic { .. }));
/// assert_eq!(failure.seed, 5);
/// let report = failure.to_string();
/// assert!(report.contains("task 1 (worker) panicked: boom"));
/// // A bare Sim reads no SEEDLOOP_* variables: its replay line is the code that builds it.
/// assert!(report.lines().last().unwrap().starts_with("replay: Sim::new(5) (a bare Sim"));
/// ```
#[derive(Clone)]
pub struct Failure {
    report: Box<FailureReport>,
}

/// Everything a [`Failure`] knows; read its fields through the `Failure`.
///
/// # Examples
///
/// ```
/// let failure = seedloop::Check::new()
///     .seeds(0..10)
///     .try_run(|| async { panic!("always") })
///     .unwrap_err();
/// let report = failure.into_report();
/// assert_eq!((report.seed, report.config.seed), (0, 0));
/// assert!(report.is_panic());
/// assert!(report.replay_command().starts_with("SEEDLOOP_SEED=0"));
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct FailureReport {
    /// The seed of the failing run (`config.seed`).
    pub seed: u64,
    /// The policy of the failing run (`config.policy`).
    pub policy: Policy,
    /// The whole configuration of the failing run, seed included: [`FailureReport::sim`]
    /// runs with it, and the replay line is derived from it.
    pub config: Config,
    /// What failed.
    pub kind: FailureKind,
    /// The whole trace of the failing run (`Display` of the failure shows its tail).
    pub trace: Trace,
    /// The recorded decisions of the failing run, for [`Policy::Replay`].
    pub schedule: Schedule,
    /// The step at which the run failed.
    pub step: u64,
    /// The virtual time (since the simulation's epoch) at which the run failed.
    pub time: Duration,
    /// The name of the thread the run failed on (libtest names a test's thread after
    /// the test's path): the test the replay line re-runs when `config.name` is unset.
    pub thread_name: Option<String>,
    /// Where the cancellation explorer cancelled its target task in this run.
    pub cancel_point: Option<CancelPoint>,
    /// How a replayed schedule stopped matching the program, when it did: the run
    /// went on under the seed from there (`schedule diverged at step 412: ..;
    /// continued with seed 17`), see [`crate::Policy::Replay`].
    pub divergence: Option<String>,
    /// Where the sweep wrote this run's trace (`SEEDLOOP_TRACE_DIR`).
    pub trace_files: Option<TraceFiles>,
}

/// The files a failing sweep wrote the failing run's trace to, when
/// `SEEDLOOP_TRACE_DIR` names a directory: the text of [`Trace`]'s `Display`, and
/// [`Trace::to_chrome_json`] for Perfetto (<https://ui.perfetto.dev>) or
/// `chrome://tracing`. The report names them.
///
/// # Examples
///
/// ```
/// use seedloop::harness::env::EnvConfig;
/// use seedloop::TraceFiles;
/// let directory = std::env::temp_dir().join("seedloop-doc-trace-files");
/// let env = EnvConfig::parse([("SEEDLOOP_TRACE_DIR", directory.to_str().unwrap())]).unwrap();
/// let failure = seedloop::Check::new()
///     .env(env)
///     .name("doc_example")
///     .try_run(|| async { panic!("bug") })
///     .unwrap_err();
/// let Some(TraceFiles::Written { text, json }) = &failure.trace_files else { panic!() };
/// assert_eq!(text.file_name().unwrap(), "doc_example.seed-0.trace.txt");
/// assert!(std::fs::read_to_string(json).unwrap().starts_with('{'));
/// assert!(failure.to_string().contains("doc_example.seed-0.trace.json"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TraceFiles {
    /// Both files were written.
    Written {
        /// The trace as text, one event a line.
        text: PathBuf,
        /// The trace in the Chrome Trace Event format.
        json: PathBuf,
    },
    /// The directory or a file could not be written; the failure is reported anyway.
    Failed {
        /// The directory asked for.
        directory: PathBuf,
        /// What went wrong.
        error: String,
    },
}

impl fmt::Display for TraceFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceFiles::Written { text, json } => write!(
                f,
                "trace written to {} and {} (open the JSON in https://ui.perfetto.dev or chrome://tracing)",
                text.display(),
                json.display()
            ),
            TraceFiles::Failed { directory, error } => write!(
                f,
                "could not write the trace to {}: {error}",
                directory.display()
            ),
        }
    }
}

/// A task cancelled at one of its await points by the cancellation explorer
/// ([`crate::CancelExplorer`], [`crate::Sim::cancel_at`]).
///
/// # Examples
///
/// ```
/// let failure = seedloop::Sim::new(0)
///     .cancel_at("worker", 1)
///     .run(async {
///         let worker = seedloop::task::Builder::new().name("worker").spawn(async {
///             seedloop::yield_now().await;
///         });
///         assert!(worker.await.is_ok(), "cancelled at its first await point");
///     })
///     .unwrap_err();
/// let point = failure.cancel_point.clone().unwrap();
/// assert_eq!((point.task.as_str(), point.await_point), ("worker", 1));
/// assert!(point.site.unwrap().contains(".rs:"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CancelPoint {
    /// The target task's name.
    pub task: String,
    /// The suspension at which it was cancelled, counting from 1.
    pub await_point: u64,
    /// Where in the source that await point is (`file:line:column` of the seedloop
    /// future the task awaited there), when seedloop knows it.
    pub site: Option<String>,
}

impl fmt::Display for CancelPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "task `{}` cancelled at its await point {}",
            self.task, self.await_point
        )?;
        match &self.site {
            Some(site) => write!(f, " ({site})"),
            None => Ok(()),
        }
    }
}

impl Failure {
    pub(crate) fn new(report: FailureReport) -> Failure {
        Failure {
            report: Box::new(report),
        }
    }

    /// The report, by value.
    pub fn into_report(self) -> FailureReport {
        *self.report
    }
}

impl std::ops::Deref for Failure {
    type Target = FailureReport;

    fn deref(&self) -> &FailureReport {
        &self.report
    }
}

impl std::ops::DerefMut for Failure {
    fn deref_mut(&mut self) -> &mut FailureReport {
        &mut self.report
    }
}

/// `{:?}` prints the report, as `Display` does, so that `try_run(..).unwrap()` and a
/// test returning `Result<_, Failure>` show the failure, its trace and its replay line
/// rather than a page of configuration fields; `{:#?}` prints the fields.
///
/// ```
/// let failure = seedloop::Sim::new(3).run(async { panic!("boom") }).unwrap_err();
/// assert_eq!(format!("{failure:?}"), failure.to_string());
/// assert!(format!("{failure:#?}").contains("seed: 3"));
/// ```
impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            fmt::Debug::fmt(&self.report, f)
        } else {
            fmt::Display::fmt(&*self.report, f)
        }
    }
}

impl FailureReport {
    /// The command that replays this failure.
    pub fn replay_command(&self) -> String {
        let args = std::env::args_os().map(|arg| arg.to_string_lossy().into_owned());
        self.config
            .replay_line(self.thread_name.as_deref(), libtest_ignored_flag(args))
    }

    /// Whether this is a panic.
    pub fn is_panic(&self) -> bool {
        matches!(self.kind, FailureKind::Panic { .. })
    }

    /// Whether this is a deadlock.
    pub fn is_deadlock(&self) -> bool {
        matches!(self.kind, FailureKind::Deadlock { .. })
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.report, f)
    }
}

impl fmt::Display for FailureReport {
    /// The report: what failed, where, the last trace events, and the replay line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "seedloop: {}", self.kind)?;
        match &self.config.tape {
            Some(tape) => write!(
                f,
                "  ran from a tape of {} bytes (failure.config.tape; the seed plays no part)",
                tape.len()
            )?,
            None => write!(f, "  seed {}", self.seed)?,
        }
        writeln!(
            f,
            ", policy {}, step {}, virtual time {}",
            self.policy,
            self.step,
            crate::trace::VirtualTime(self.time)
        )?;
        if let Some(point) = &self.cancel_point {
            writeln!(f, "  with {point}")?;
        }
        if let Some(divergence) = &self.divergence {
            writeln!(f, "  {divergence}")?;
        }
        self.write_faults(f)?;
        if self.trace.len() <= REPORT_EVENTS as u64 {
            writeln!(f, "trace ({}):", plural(self.trace.len(), "event"))?;
        } else {
            writeln!(
                f,
                "last {REPORT_EVENTS} trace events (failure.trace has all {}):",
                self.trace.len()
            )?;
        }
        write!(f, "{}", self.trace.tail(REPORT_EVENTS))?;
        if let Some(files) = &self.trace_files {
            writeln!(f, "{files}")?;
        }
        write!(f, "replay: {}", self.replay_command())
    }
}

/// The most faults a report lists.
const REPORT_FAULTS: usize = 10;

impl FailureReport {
    /// Lists the crashes, restarts, partitions and heals of the run (what a fault plan
    /// or the program injected), which the trace's tail may not show.
    fn write_faults(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let faults: Vec<String> = self
            .trace
            .events()
            .iter()
            .filter_map(|event| {
                let note = self.trace.note(event)?;
                let what = match event.kind() {
                    EventKind::Crash => format!("host {note} crashed"),
                    EventKind::Restart => format!("host {note} restarted"),
                    EventKind::Net
                        if ["partitioned", "healed", "clogged", "unclogged"]
                            .iter()
                            .any(|word| note.starts_with(word)) =>
                    {
                        note.to_string()
                    }
                    _ => return None,
                };
                Some(format!(
                    "{what} at {}",
                    crate::trace::VirtualTime(event.time())
                ))
            })
            .collect();
        if faults.is_empty() {
            return Ok(());
        }
        writeln!(f, "  faults in this run ({}):", faults.len())?;
        for fault in faults.iter().take(REPORT_FAULTS) {
            writeln!(f, "    {fault}")?;
        }
        if faults.len() > REPORT_FAULTS {
            writeln!(f, "    ... and {} more", faults.len() - REPORT_FAULTS)?;
        }
        Ok(())
    }
}

impl std::error::Error for Failure {}
