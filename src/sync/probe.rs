//! `Probe`: how a synchronization primitive tells the simulation what it does.
//!
//! Every primitive in `seedloop::sync` reports each request, grant, release and
//! give-up through a probe: the probe numbers the primitive in the running simulation
//! (lazily, at its first event in a run, so a primitive created outside a run or
//! reused across runs is fine), records the trace event, and keeps the executor's
//! holder and waiter bookkeeping up to date for deadlock, wait-cycle and starvation
//! reports. Outside a simulation every call is a no-op.
//!
//! The probe is public so that a primitive written outside seedloop (or a test's
//! deliberately broken one) shows up in traces and in [`super::Fairness`] reports like
//! the built-in ones.

use crate::id::TaskId;
use crate::runtime::context;
use crate::runtime::executor::Shared;
use crate::runtime::primitives::WaitStart;
use crate::scheduler::TaskRef;
use crate::trace::EventKind;
use std::cell::Cell;
use std::fmt;

/// Reports a synchronization primitive's requests, grants and releases to the
/// simulation (trace events, deadlock and fairness reports).
///
/// # Examples
///
/// ```
/// use seedloop::sync::{Fairness, Probe};
///
/// // A lock-like flag, instrumented by hand.
/// let mut sim = seedloop::Sim::new(0);
/// sim.run(async {
///     let probe = Probe::new("Flag", Some("ready"));
///     probe.acquired();
///     probe.released();
/// }).unwrap();
/// let report = Fairness::of(sim.trace());
/// assert_eq!(report.primitive("ready").unwrap().grants(), 1);
/// ```
pub struct Probe {
    kind: &'static str,
    name: Option<Box<str>>,
    // Whether acquisitions make the task a holder (locks, semaphores): holders appear
    // in deadlock reports and make up the wait-for graph.
    holds: bool,
    // (run id, number in that run); run id 0 means not registered yet.
    registered: Cell<(u64, u32)>,
}

impl Probe {
    /// A probe for a primitive of `kind` ("Lock", "Semaphore", ...), optionally named
    /// (names make traces and reports readable). Tasks that acquire it are recorded
    /// as its holders.
    pub fn new(kind: &'static str, name: Option<&str>) -> Probe {
        Probe::with_holders(kind, name.map(Box::from), true)
    }

    pub(crate) fn with_holders(kind: &'static str, name: Option<Box<str>>, holds: bool) -> Probe {
        Probe {
            kind,
            name,
            holds,
            registered: Cell::new((0, 0)),
        }
    }

    /// The kind given at creation.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// The name given at creation.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    pub(crate) fn set_name(&mut self, name: impl Into<String>) {
        self.name = Some(name.into().into_boxed_str());
    }

    pub(crate) fn holds(&self) -> bool {
        self.holds
    }

    /// This primitive's number in the running simulation.
    pub(crate) fn number(&self, shared: &Shared) -> u32 {
        let (run, number) = self.registered.get();
        if run == shared.run_id() {
            return number;
        }
        let number = shared.register_primitive(self.kind, self.name.clone());
        self.registered.set((shared.run_id(), number));
        number
    }

    /// The running task began to wait.
    pub fn requested(&self) {
        context::try_with_current(|shared| self.record(shared, EventKind::Request, None));
    }

    /// The running task acquired the primitive.
    pub fn acquired(&self) {
        context::try_with_current(|shared| {
            if let Some(task) = shared.current_task() {
                self.granted_to(shared, task, 1);
            }
        });
    }

    /// The running task released (or signalled) the primitive.
    pub fn released(&self) {
        context::try_with_current(|shared| {
            let holder = shared.current_task().map(|task| task.id);
            self.released_by(shared, holder, 1);
        });
    }

    /// The running task stopped waiting without acquiring the primitive.
    pub fn gave_up(&self) {
        context::try_with_current(|shared| self.record(shared, EventKind::GiveUp, None));
    }

    /// Records an event about this primitive and `task` (or the running task).
    pub(crate) fn record(&self, shared: &Shared, kind: EventKind, task: Option<TaskId>) {
        let number = self.number(shared);
        shared.sync_event(kind, task, number);
    }

    pub(crate) fn granted_to(&self, shared: &Shared, task: TaskRef, count: u64) {
        self.record(shared, EventKind::Acquire, Some(task.id));
        if self.holds {
            shared.add_holder(self.number(shared), task, count);
        }
    }

    /// Records a release by the running task; `holder` is the task whose hold ends.
    pub(crate) fn released_by(&self, shared: &Shared, holder: Option<TaskId>, count: u64) {
        self.record(shared, EventKind::Release, None);
        if let (true, Some(holder)) = (self.holds, holder) {
            shared.remove_holder(self.number(shared), holder, count);
        }
    }

    pub(crate) fn oldest_wait(&self, shared: &Shared, start: Option<WaitStart>) {
        let number = self.number(shared);
        shared.set_oldest_wait(number, start);
    }
}

impl fmt::Debug for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Probe")
            .field("kind", &self.kind)
            .field("name", &self.name)
            .finish()
    }
}
