//! The text of a trace: [`Trace`]'s `Display` (the stable snapshot text),
//! [`Trace::format_event`] for one line, and [`TraceTail`] for a failure report's
//! last events.
//!
//! An event renders as one line of four columns: the step (right-aligned in 6), the
//! virtual time (right-aligned in 12, as [`VirtualTime`] prints it), the task, and
//! what happened. The task column is as wide as the trace's longest `task N (name)`,
//! and at least 20, so that every line of one trace lines up; other tasks an event
//! names (spawned, waker, canceller) print the same way, and primitives print by
//! [`Trace::primitive_label`]. The records hold only ids: names and panic messages
//! are looked up in the trace's side tables as each line is written. A range that
//! does not start at the first event recorded (the limit dropped the oldest, or a
//! tail skips them) begins with a `... N earlier events not shown` line.

use super::{Event, EventKind, Trace, NONE};
use crate::id::TaskId;
use std::fmt;
use std::time::Duration;

/// Virtual time as traces and `Instant` print it: `Duration`'s `Debug` form, with the
/// epoch written `0s` rather than `0ns`.
pub(crate) struct VirtualTime(pub Duration);

impl fmt::Display for VirtualTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_zero() {
            f.pad("0s")
        } else {
            f.pad(&format!("{:?}", self.0))
        }
    }
}

impl Trace {
    /// A view of the last `count` events, for failure reports.
    pub fn tail(&self, count: usize) -> TraceTail<'_> {
        TraceTail { trace: self, count }
    }

    pub(super) fn write_who(&self, f: &mut fmt::Formatter<'_>, task: u32) -> fmt::Result {
        self.write_task(f, task, true)
    }

    /// A task as `task N (name)`, or (without `ids`) by its name alone when it has
    /// one: names do not shift when an unrelated task is added to a program.
    pub(super) fn write_task(
        &self,
        f: &mut fmt::Formatter<'_>,
        task: u32,
        ids: bool,
    ) -> fmt::Result {
        if task == NONE {
            return write!(f, "-");
        }
        match self.task_name(TaskId::new(task)) {
            Some(name) if ids => write!(f, "task {task} ({name})"),
            Some(name) => write!(f, "{name}"),
            None => write!(f, "task {task}"),
        }
    }

    /// The width of the task column: 20, or the longest `task N (name)` of the
    /// trace, so that every line of one trace lines up.
    fn who_width(&self) -> usize {
        self.names
            .iter()
            .enumerate()
            .filter_map(|(index, name)| {
                let name = name.as_ref()?;
                Some("task  ()".len() + decimal_digits(index) + name.chars().count())
            })
            .max()
            .unwrap_or(0)
            .max(MIN_WHO_WIDTH)
    }

    fn write_event(
        &self,
        f: &mut fmt::Formatter<'_>,
        event: &Event,
        who_width: usize,
    ) -> fmt::Result {
        write!(
            f,
            "{:>6} {:>12} ",
            event.step,
            VirtualTime(event.time()).to_string()
        )?;
        // Pad the task column so that snapshots line up.
        let who = WhoColumn(self, event.task);
        write!(f, "{:<who_width$} ", who.to_string())?;
        self.write_what(f, event, true)
    }

    /// What an event says happened (the last column), naming tasks with or without
    /// their ids.
    pub(super) fn write_what(
        &self,
        f: &mut fmt::Formatter<'_>,
        event: &Event,
        ids: bool,
    ) -> fmt::Result {
        match event.kind {
            EventKind::Spawn => {
                write!(f, "spawn ")?;
                self.write_task(f, event.other, ids)
            }
            EventKind::Poll => write!(f, "poll"),
            EventKind::Yield => write!(f, "yield"),
            EventKind::Wake if event.other == NONE => write!(f, "woken"),
            EventKind::Wake => {
                write!(f, "woken by ")?;
                self.write_task(f, event.other, ids)
            }
            EventKind::TimerFire => write!(f, "timer fired"),
            EventKind::Advance => write!(f, "clock advanced"),
            EventKind::Complete => write!(f, "completed"),
            EventKind::CancelRequest if event.other == NONE => write!(f, "cancel requested"),
            EventKind::CancelRequest => {
                write!(f, "cancel requested by ")?;
                self.write_task(f, event.other, ids)
            }
            EventKind::Cancelled => write!(f, "cancelled"),
            EventKind::Panic => write!(
                f,
                "panicked: {}",
                self.panic_message(event).unwrap_or("<unknown>")
            ),
            EventKind::Leaked => write!(f, "dropped at end of run (leaked)"),
            EventKind::Failed => write!(f, "returned an error to its task group"),
            EventKind::Request => write!(f, "waits for {}", self.primitive_label(event.other)),
            EventKind::Acquire => write!(f, "acquired {}", self.primitive_label(event.other)),
            EventKind::Release => write!(f, "released {}", self.primitive_label(event.other)),
            EventKind::GiveUp => write!(
                f,
                "stopped waiting for {}",
                self.primitive_label(event.other)
            ),
            EventKind::Crash => write!(f, "host {} crashed", self.note_text(event)),
            EventKind::Restart => write!(f, "host {} restarted", self.note_text(event)),
            EventKind::Net => write!(f, "{}", self.note_text(event)),
            EventKind::Send => write!(f, "sent on {}", self.note_text(event)),
            EventKind::Deliver => write!(f, "delivered on {}", self.note_text(event)),
            EventKind::Disk => write!(f, "disk: {}", self.note_text(event)),
            EventKind::DiskWrite => write!(f, "wrote {}", self.note_text(event)),
            EventKind::DiskSync => write!(f, "synced {}", self.note_text(event)),
        }
    }

    fn note_text(&self, event: &Event) -> &str {
        self.note(event).unwrap_or("<unknown>")
    }

    /// One event as its snapshot line.
    pub fn format_event(&self, event: &Event) -> String {
        struct Line<'a>(&'a Trace, &'a Event);
        impl fmt::Display for Line<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.write_event(f, self.1, self.0.who_width())
            }
        }
        Line(self, event).to_string()
    }

    fn write_range(&self, f: &mut fmt::Formatter<'_>, skip: usize) -> fmt::Result {
        let who_width = self.who_width();
        let omitted = self.dropped + skip as u64;
        if omitted > 0 {
            writeln!(f, "... {omitted} earlier events not shown")?;
        }
        for event in &self.events[skip..] {
            self.write_event(f, event, who_width)?;
            writeln!(f)?;
        }
        Ok(())
    }
}

/// The narrowest task column, wide enough for `task 12 (worker)`.
const MIN_WHO_WIDTH: usize = 20;

fn decimal_digits(mut value: usize) -> usize {
    let mut digits = 1;
    while value >= 10 {
        value /= 10;
        digits += 1;
    }
    digits
}

struct WhoColumn<'a>(&'a Trace, u32);

impl fmt::Display for WhoColumn<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.write_who(f, self.1)
    }
}

impl fmt::Display for Trace {
    /// One event a line: step, virtual time, task, what happened.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_range(f, 0)
    }
}

/// The last events of a trace; see [`Trace::tail`].
///
/// # Examples
///
/// ```
/// let mut sim = seedloop::Sim::new(0);
/// sim.run(async { seedloop::yield_now().await }).unwrap();
/// let tail = sim.trace().tail(1).to_string();
/// let lines: Vec<&str> = tail.lines().collect();
/// assert_eq!(lines.len(), 2, "{tail}");
/// assert!(lines[0].ends_with("earlier events not shown"), "{tail}");
/// ```
pub struct TraceTail<'a> {
    trace: &'a Trace,
    count: usize,
}

impl fmt::Display for TraceTail<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let skip = self.trace.events.len().saturating_sub(self.count);
        self.trace.write_range(f, skip)
    }
}
