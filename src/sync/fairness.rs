//! `Fairness`: grant order versus request order, read from a run's trace.
//!
//! Every primitive records `Request` when a task starts to wait, `Acquire` when a task
//! is granted it, and `GiveUp` when a waiter leaves. Replaying those events per
//! primitive with a list of outstanding requests gives, for each grant, the requests
//! it jumped ahead of: a grant to a task whose request is not the oldest outstanding
//! one (or to a task that never waited, while others did: barging) *bypasses* every
//! older request. A FIFO-fair primitive never bypasses anyone. The same replay gives
//! each wait's length in steps and in virtual time.

use crate::id::TaskId;
use crate::trace::{Event, EventKind, Trace};
use std::fmt;
use std::time::Duration;

/// How many bypasses a report lists per primitive (the count is always exact).
const LISTED_BYPASSES: usize = 16;

/// One grant that jumped ahead of an older request.
///
/// # Examples
///
/// ```
/// use seedloop::sync::{Fairness, Probe};
/// use seedloop::task::TaskId;
/// use seedloop::Policy;
/// use std::rc::Rc;
///
/// let mut sim = seedloop::Sim::new(0).policy(Policy::Fifo);
/// sim.run(async {
///     // A hand-instrumented flag that lets a latecomer in ahead of a waiter.
///     let probe = Rc::new(Probe::new("Flag", Some("unfair")));
///     let waiter = seedloop::spawn({
///         let probe = probe.clone();
///         async move {
///             probe.requested();
///             seedloop::yield_now().await;
///             probe.acquired();
///             probe.released();
///         }
///     });
///     seedloop::yield_now().await; // the waiter asks first
///     probe.acquired(); // main barges in without waiting
///     probe.released();
///     waiter.await.unwrap();
/// }).unwrap();
/// let fairness = Fairness::of(sim.trace());
/// let bypass = fairness.primitive("unfair").unwrap().bypasses[0];
/// assert_eq!((bypass.waiter, bypass.granted), (TaskId::new(1), TaskId::MAIN));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bypass {
    /// The task that had asked first and still waited.
    pub waiter: TaskId,
    /// The task granted ahead of it.
    pub granted: TaskId,
    /// The step of that grant.
    pub step: u64,
}

/// The fairness record of one primitive in one run.
///
/// # Examples
///
/// ```
/// use seedloop::sync::{Fairness, Lock};
///
/// let mut sim = seedloop::Sim::new(0);
/// sim.run(async {
///     let lock = Lock::new(()).named("counter");
///     drop(lock.lock().await);
///     drop(lock.lock().await);
/// }).unwrap();
/// let fairness = Fairness::of(sim.trace());
/// let counter = fairness.primitive("counter").unwrap();
/// assert_eq!(counter.label(), "Lock 0 (counter)");
/// assert_eq!((counter.grants(), counter.waits, counter.bypass_count), (2, 0, 0));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PrimitiveFairness {
    /// The primitive's number in the run.
    pub number: u32,
    /// Its kind (`"Lock"`, `"Semaphore"`, `"Queue.get"`, ...).
    pub kind: &'static str,
    /// Its name, if it was given one.
    pub name: Option<String>,
    /// Tasks in the order they asked (waited, or took it at once).
    pub request_order: Vec<TaskId>,
    /// Tasks in the order they were granted it.
    pub grant_order: Vec<TaskId>,
    /// How many grants went to a task that had waited.
    pub waits: u64,
    /// The most times any one request was bypassed.
    pub max_bypassed: u64,
    /// All bypasses counted.
    pub bypass_count: u64,
    /// The first bypasses, in order.
    pub bypasses: Vec<Bypass>,
    /// The longest wait that ended in a grant, in steps.
    pub longest_wait_steps: u64,
    /// The longest wait that ended in a grant, in virtual time.
    pub longest_wait: Duration,
}

impl PrimitiveFairness {
    /// How many times it was granted.
    pub fn grants(&self) -> usize {
        self.grant_order.len()
    }

    /// "Lock 0 (accounts)".
    pub fn label(&self) -> String {
        match &self.name {
            Some(name) => format!("{} {} ({name})", self.kind, self.number),
            None => format!("{} {}", self.kind, self.number),
        }
    }
}

/// A request not yet granted nor given up, while a trace is replayed.
struct Outstanding {
    task: TaskId,
    step: u64,
    time: Duration,
    bypassed: u64,
}

// The replay of one primitive's events, against its outstanding requests (oldest
// first).
impl PrimitiveFairness {
    /// The record of primitive `number` before any of its events.
    fn unused(trace: &Trace, number: u32) -> PrimitiveFairness {
        let (kind, name) = trace.primitive(number).expect("registered");
        PrimitiveFairness {
            number,
            kind,
            name: name.map(str::to_string),
            request_order: Vec::new(),
            grant_order: Vec::new(),
            waits: 0,
            max_bypassed: 0,
            bypass_count: 0,
            bypasses: Vec::new(),
            longest_wait_steps: 0,
            longest_wait: Duration::ZERO,
        }
    }

    /// `task` began to wait: its request joins the outstanding ones.
    fn requested(&mut self, waiting: &mut Vec<Outstanding>, task: TaskId, event: &Event) {
        self.request_order.push(task);
        waiting.push(Outstanding {
            task,
            step: event.step(),
            time: event.time(),
            bypassed: 0,
        });
    }

    /// `task` was granted the primitive: it bypassed every request older than its own
    /// (every outstanding one, if it never waited), and its own wait, if any, ends.
    fn granted(&mut self, waiting: &mut Vec<Outstanding>, task: TaskId, event: &Event) {
        self.grant_order.push(task);
        let position = waiting.iter().position(|request| request.task == task);
        let ahead = match position {
            Some(position) => position,
            None => {
                // Took it without waiting: a request now.
                self.request_order.push(task);
                waiting.len()
            }
        };
        for request in &mut waiting[..ahead] {
            self.bypassed(request, task, event.step());
        }
        if let Some(position) = position {
            let request = waiting.remove(position);
            self.waited(&request, event);
        }
    }

    /// The grant to `granted` at `step` jumped ahead of `request`.
    fn bypassed(&mut self, request: &mut Outstanding, granted: TaskId, step: u64) {
        request.bypassed += 1;
        self.max_bypassed = self.max_bypassed.max(request.bypassed);
        self.bypass_count += 1;
        if self.bypasses.len() < LISTED_BYPASSES {
            self.bypasses.push(Bypass {
                waiter: request.task,
                granted,
                step,
            });
        }
    }

    /// `request`'s wait ended in a grant at `event`.
    fn waited(&mut self, request: &Outstanding, event: &Event) {
        self.waits += 1;
        self.longest_wait_steps = self.longest_wait_steps.max(event.step() - request.step);
        self.longest_wait = self.longest_wait.max(event.time() - request.time);
    }
}

/// `task` stopped waiting without a grant: its request is no longer outstanding.
fn gave_up(waiting: &mut Vec<Outstanding>, task: TaskId) {
    if let Some(position) = waiting.iter().position(|request| request.task == task) {
        waiting.remove(position);
    }
}

/// Per-primitive fairness of one run, from its trace.
///
/// # Examples
///
/// ```
/// use seedloop::sync::{Fairness, Lock};
/// use std::rc::Rc;
///
/// let mut sim = seedloop::Sim::new(7);
/// sim.run(async {
///     let lock = Rc::new(Lock::new(0).named("counter"));
///     let tasks: Vec<_> = (0..4)
///         .map(|_| {
///             let lock = lock.clone();
///             seedloop::spawn(async move {
///                 let mut value = lock.lock().await;
///                 seedloop::yield_now().await;
///                 *value += 1;
///             })
///         })
///         .collect();
///     for task in tasks {
///         task.await.unwrap();
///     }
/// }).unwrap();
/// let fairness = Fairness::of(sim.trace());
/// fairness.assert_no_bypass();
/// let counter = fairness.primitive("counter").unwrap();
/// assert_eq!(counter.grant_order, counter.request_order);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fairness {
    primitives: Vec<PrimitiveFairness>,
    partial: bool,
}

impl Fairness {
    /// Reads the fairness of every primitive used in the run `trace` records.
    pub fn of(trace: &Trace) -> Fairness {
        let count = trace.primitive_count();
        let mut primitives: Vec<PrimitiveFairness> = (0..count as u32)
            .map(|number| PrimitiveFairness::unused(trace, number))
            .collect();
        let mut outstanding: Vec<Vec<Outstanding>> = (0..count).map(|_| Vec::new()).collect();
        for event in trace.events() {
            let (Some(primitive), Some(task)) = (event.primitive(), event.task()) else {
                continue;
            };
            let index = primitive as usize;
            let (record, waiting) = (&mut primitives[index], &mut outstanding[index]);
            match event.kind() {
                EventKind::Request => record.requested(waiting, task, event),
                EventKind::Acquire => record.granted(waiting, task, event),
                EventKind::GiveUp => gave_up(waiting, task),
                _ => {}
            }
        }
        Fairness {
            primitives,
            partial: trace.dropped() > 0,
        }
    }

    /// Every primitive, by number.
    pub fn primitives(&self) -> &[PrimitiveFairness] {
        &self.primitives
    }

    /// The first primitive with this name.
    pub fn primitive(&self, name: &str) -> Option<&PrimitiveFairness> {
        self.primitives
            .iter()
            .find(|primitive| primitive.name.as_deref() == Some(name))
    }

    /// Whether the trace had dropped its oldest events (the report covers the rest).
    pub fn is_partial(&self) -> bool {
        self.partial
    }

    /// The most times any request was bypassed, over every primitive.
    pub fn max_bypassed(&self) -> u64 {
        self.primitives
            .iter()
            .map(|primitive| primitive.max_bypassed)
            .max()
            .unwrap_or(0)
    }

    /// The longest wait in virtual time, over every primitive.
    pub fn longest_wait(&self) -> Duration {
        self.primitives
            .iter()
            .map(|primitive| primitive.longest_wait)
            .max()
            .unwrap_or(Duration::ZERO)
    }

    /// The longest wait in steps, over every primitive.
    pub fn longest_wait_steps(&self) -> u64 {
        self.primitives
            .iter()
            .map(|primitive| primitive.longest_wait_steps)
            .max()
            .unwrap_or(0)
    }

    /// Panics, listing the bypasses, unless every grant followed request order.
    #[track_caller]
    pub fn assert_no_bypass(&self) {
        let unfair: Vec<&PrimitiveFairness> = self
            .primitives
            .iter()
            .filter(|primitive| primitive.bypass_count > 0)
            .collect();
        if unfair.is_empty() {
            return;
        }
        let mut message = String::from("grants did not follow request order:");
        for primitive in unfair {
            message.push_str(&format!(
                "\n  {}: {} bypass(es), a request bypassed up to {} time(s); request order {:?}, grant order {:?}",
                primitive.label(),
                primitive.bypass_count,
                primitive.max_bypassed,
                primitive.request_order.iter().map(|task| task.index()).collect::<Vec<_>>(),
                primitive.grant_order.iter().map(|task| task.index()).collect::<Vec<_>>(),
            ));
            for bypass in &primitive.bypasses {
                message.push_str(&format!(
                    "\n    step {}: {} was granted ahead of {}, which was waiting",
                    bypass.step, bypass.granted, bypass.waiter
                ));
            }
        }
        panic!("{message}");
    }

    /// Panics unless every wait that ended in a grant lasted at most `limit` of
    /// virtual time.
    #[track_caller]
    pub fn assert_max_wait(&self, limit: Duration) {
        for primitive in &self.primitives {
            assert!(
                primitive.longest_wait <= limit,
                "{}: a task waited {:?}, longer than {limit:?}",
                primitive.label(),
                primitive.longest_wait
            );
        }
    }

    /// Panics unless every wait that ended in a grant lasted at most `limit` steps.
    #[track_caller]
    pub fn assert_max_wait_steps(&self, limit: u64) {
        for primitive in &self.primitives {
            assert!(
                primitive.longest_wait_steps <= limit,
                "{}: a task waited {} steps, longer than {limit}",
                primitive.label(),
                primitive.longest_wait_steps
            );
        }
    }
}

impl fmt::Display for Fairness {
    /// One line per primitive.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, primitive) in self.primitives.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(
                f,
                "{}: {} grants ({} after waiting), max bypassed {}, longest wait {} steps / {:?}",
                primitive.label(),
                primitive.grants(),
                primitive.waits,
                primitive.max_bypassed,
                primitive.longest_wait_steps,
                primitive.longest_wait
            )?;
        }
        if self.partial {
            write!(f, "\n(the trace had dropped its oldest events)")?;
        }
        Ok(())
    }
}
