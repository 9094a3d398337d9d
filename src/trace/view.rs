//! [`TraceView`]: the part of a trace a snapshot should pin.
//!
//! A whole trace pins every poll of every task; a test about lock fairness should pin
//! the lock events of its workers and nothing else, so that adding an unrelated task
//! to the program, or a change in how often the executor polls, leaves the snapshot
//! alone. A view keeps the events that pass its filters (event kinds, task names by
//! prefix) and prints each as a line of the columns it was asked for; without task
//! ids, tasks print by name (ids shift when tasks are added, names do not); redactions
//! replace text the test says is noise.

use super::{render::VirtualTime, Event, EventKind, Trace};
use crate::id::TaskId;
use std::fmt;

/// A filtered, normalized rendering of a [`Trace`], for snapshots. Build it with
/// [`Trace::view`]; print it with `Display`.
///
/// # Examples
///
/// ```
/// use seedloop::sync::Lock;
/// use seedloop::task::Builder;
/// use seedloop::trace::EventKind;
///
/// let mut sim = seedloop::Sim::new(0).policy(seedloop::Policy::Fifo);
/// sim.run(async {
///     let lock = std::rc::Rc::new(Lock::new(0));
///     let workers: Vec<_> = (1..=2)
///         .map(|number| {
///             let lock = lock.clone();
///             Builder::new().name(format!("worker-{number}")).spawn(async move {
///                 *lock.lock().await += 1;
///             })
///         })
///         .collect();
///     for worker in workers {
///         worker.await.unwrap();
///     }
/// })
/// .unwrap();
/// let view = sim
///     .trace()
///     .view()
///     .kinds(&[EventKind::Acquire, EventKind::Release])
///     .task_prefix("worker")
///     .without_steps()
///     .without_time()
///     .without_task_ids();
/// assert_eq!(
///     view.to_string(),
///     "worker-1 acquired Lock 0\n\
///      worker-1 released Lock 0\n\
///      worker-2 acquired Lock 0\n\
///      worker-2 released Lock 0\n"
/// );
/// ```
#[derive(Clone, Debug)]
pub struct TraceView<'a> {
    trace: &'a Trace,
    kinds: Option<Vec<EventKind>>,
    prefixes: Vec<String>,
    steps: bool,
    time: bool,
    ids: bool,
    redactions: Vec<(String, String)>,
}

impl Trace {
    /// A view of every event, with every column; narrow it with [`TraceView`]'s
    /// methods.
    pub fn view(&self) -> TraceView<'_> {
        TraceView {
            trace: self,
            kinds: None,
            prefixes: Vec::new(),
            steps: true,
            time: true,
            ids: true,
            redactions: Vec::new(),
        }
    }
}

impl<'a> TraceView<'a> {
    /// Keeps only events of these kinds.
    pub fn kinds(mut self, kinds: &[EventKind]) -> TraceView<'a> {
        self.kinds = Some(kinds.to_vec());
        self
    }

    /// Keeps only events of tasks whose name starts with `prefix` (several calls keep
    /// each prefix's tasks).
    pub fn task_prefix(mut self, prefix: impl Into<String>) -> TraceView<'a> {
        self.prefixes.push(prefix.into());
        self
    }

    /// Drops the step column.
    pub fn without_steps(mut self) -> TraceView<'a> {
        self.steps = false;
        self
    }

    /// Drops the virtual time column.
    pub fn without_time(mut self) -> TraceView<'a> {
        self.time = false;
        self
    }

    /// Prints named tasks by name alone (`worker-1`, not `task 3 (worker-1)`).
    pub fn without_task_ids(mut self) -> TraceView<'a> {
        self.ids = false;
        self
    }

    /// Replaces every `text` in the output with `replacement`.
    pub fn redact(
        mut self,
        text: impl Into<String>,
        replacement: impl Into<String>,
    ) -> TraceView<'a> {
        self.redactions.push((text.into(), replacement.into()));
        self
    }

    fn keeps(&self, event: &Event) -> bool {
        if self
            .kinds
            .as_ref()
            .is_some_and(|kinds| !kinds.contains(&event.kind))
        {
            return false;
        }
        if self.prefixes.is_empty() {
            return true;
        }
        let name = event
            .task()
            .and_then(|task: TaskId| self.trace.task_name(task));
        name.is_some_and(|name| {
            self.prefixes
                .iter()
                .any(|prefix| name.starts_with(prefix.as_str()))
        })
    }
}

impl fmt::Display for TraceView<'_> {
    /// One line per kept event: the chosen columns, then what happened.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Line<'b>(&'b TraceView<'b>, &'b Event);
        impl fmt::Display for Line<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let (view, event) = (self.0, self.1);
                if view.steps {
                    write!(f, "{} ", event.step)?;
                }
                if view.time {
                    write!(f, "{} ", VirtualTime(event.time()))?;
                }
                view.trace.write_task(f, event.task, view.ids)?;
                write!(f, " ")?;
                view.trace.write_what(f, event, view.ids)
            }
        }
        for event in self.trace.events().iter().filter(|event| self.keeps(event)) {
            let mut line = Line(self, event).to_string();
            for (text, replacement) in &self.redactions {
                line = line.replace(text.as_str(), replacement);
            }
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}
