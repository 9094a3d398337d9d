//! A trace in the Chrome Trace Event format, which Perfetto (<https://ui.perfetto.dev>)
//! and `chrome://tracing` open: [`Trace::to_chrome_json`].
//!
//! Each task is a track (a "thread"), named as the text trace names it
//! (`task 3 (db/worker)`). When the run had simulated hosts the tracks are grouped by
//! host, one "process" per host (`main` first, then in the order their first task was
//! spawned); without hosts all tasks are in one. Events that belong to no task (the
//! clock advancing, a delivery, a crash) go on a track of their own, `world`.
//!
//! Every poll is a span (`"ph":"X"`) on its task's track, from the poll to the last
//! event recorded before the next poll or clock advance (what the poll did: spawns,
//! wakes, lock grants, sends); every other event is an instant (`"ph":"i"`)
//! named as its line in the text trace ends (`woken by task 0 (main)`,
//! `acquired Lock 0 (accounts)`, `host db crashed`, `sent on connection 0 (..)`),
//! with a category for filtering (`task`, `wake`, `timer`, `clock`, `sync`, `fault`,
//! `network`, `disk`). Each event's arguments carry its step and exact virtual time.
//!
//! The time axis is virtual time, in the format's microseconds with nanosecond
//! digits. Polls take no virtual time, and many happen at one instant; so that they
//! can be told apart, events are laid out at least 1 ns after the previous one, in
//! trace order. The axis runs ahead of virtual time by at most 1 ns an event while
//! many events share an instant, and catches up at the next clock advance that leaves
//! room; timestamps never go backwards, on any track.

use super::render::VirtualTime;
use super::{Event, EventKind, Trace, NONE};
use crate::id::TaskId;
use std::fmt::{self, Write};

/// The process id of the `world` track, and its thread id.
const WORLD: u32 = 0;

impl Trace {
    /// The trace in the Chrome Trace Event format (JSON), for Perfetto
    /// (<https://ui.perfetto.dev>, "Open trace file") or `chrome://tracing`: one track
    /// per task, grouped by host when the run had hosts, a span per poll, instants
    /// for wakes, timers, lock events, faults, network and disk events, with virtual
    /// time on the axis. `SEEDLOOP_TRACE_DIR` makes a failing sweep write it.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut sim = seedloop::Sim::new(0);
    /// sim.run(async {
    ///     let task = seedloop::spawn(seedloop::time::sleep(std::time::Duration::from_millis(5)));
    ///     task.await.unwrap();
    /// })
    /// .unwrap();
    /// let json = sim.trace().to_chrome_json();
    /// assert!(json.starts_with("{\"displayTimeUnit\":\"ns\",\"traceEvents\":["));
    /// assert!(json.contains("\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":2,\"args\":{\"name\":\"task 1\"}"));
    /// assert!(json.contains("\"name\":\"timer fired\""));
    /// // The timer fired 5 ms in: 5000 µs on the axis.
    /// assert!(json.contains("\"ts\":5000.000"));
    /// ```
    pub fn to_chrome_json(&self) -> String {
        let tracks = Tracks::of(self);
        let mut json = String::from("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n");
        let mut first = true;
        let mut line = |json: &mut String, text: String| {
            if !first {
                json.push_str(",\n");
            }
            first = false;
            json.push_str(&text);
        };
        for (pid, name) in tracks.processes() {
            line(&mut json, metadata("process_name", pid, 0, &name));
            line(&mut json, sort_index("process_sort_index", pid, 0, pid));
        }
        if tracks.world_used {
            line(&mut json, metadata("thread_name", WORLD, WORLD, "world"));
        }
        for index in 0..self.task_count() as u32 {
            let (pid, tid) = tracks.of_task(index);
            let name = Who(self, index).to_string();
            line(&mut json, metadata("thread_name", pid, tid, &name));
            line(&mut json, sort_index("thread_sort_index", pid, tid, index));
        }
        let times = layout(self.events());
        let ends = span_ends(self.events(), &times);
        for (index, event) in self.events().iter().enumerate() {
            let (pid, tid) = tracks.of_event(event);
            let args = format!(
                "{{\"step\":{},\"virtual_time\":\"{}\"}}",
                event.step,
                VirtualTime(event.time())
            );
            let text = if event.kind == EventKind::Poll {
                format!(
                    "{{\"name\":\"poll\",\"cat\":\"task\",\"ph\":\"X\",\"pid\":{pid},\"tid\":{tid},\"ts\":{},\"dur\":{},\"args\":{args}}}",
                    micros(times[index]),
                    micros(ends[index] - times[index])
                )
            } else {
                let mut name = String::new();
                let _ = write!(name, "{}", What(self, event));
                format!(
                    "{{\"name\":\"{}\",\"cat\":\"{}\",\"ph\":\"i\",\"s\":\"t\",\"pid\":{pid},\"tid\":{tid},\"ts\":{},\"args\":{args}}}",
                    escape(&name),
                    category(self, event),
                    micros(times[index])
                )
            };
            line(&mut json, text);
        }
        let _ = write!(
            json,
            "\n],\"otherData\":{{\"axis\":\"virtual time\",\"events\":{},\"events_dropped\":{}}}}}\n",
            self.len(),
            self.dropped()
        );
        json
    }
}

/// Which process and thread each task's track is.
struct Tracks {
    /// Host names other than `main`, in the order their first task was spawned.
    hosts: Vec<String>,
    /// For each task, its process (1 for `main`, 2.. for the hosts).
    task_pids: Vec<u32>,
    /// Whether an event belongs to no task.
    world_used: bool,
}

impl Tracks {
    fn of(trace: &Trace) -> Tracks {
        let mut hosts: Vec<String> = Vec::new();
        let mut task_pids = vec![1; trace.task_count()];
        for (task, host) in &trace.task_hosts {
            let position = match hosts.iter().position(|known| **known == **host) {
                Some(position) => position,
                None => {
                    hosts.push(host.to_string());
                    hosts.len() - 1
                }
            };
            if let Some(pid) = task_pids.get_mut(*task as usize) {
                *pid = position as u32 + 2;
            }
        }
        let world_used = trace.events().iter().any(|event| event.task == NONE);
        Tracks {
            hosts,
            task_pids,
            world_used,
        }
    }

    fn processes(&self) -> Vec<(u32, String)> {
        let mut processes = Vec::new();
        if self.world_used {
            processes.push((WORLD, "world".to_string()));
        }
        if self.hosts.is_empty() {
            processes.push((1, "tasks".to_string()));
        } else {
            processes.push((1, "host main".to_string()));
            for (index, host) in self.hosts.iter().enumerate() {
                processes.push((index as u32 + 2, format!("host {host}")));
            }
        }
        processes
    }

    /// A task's track: thread ids start at 1 (0 is the world's).
    fn of_task(&self, task: u32) -> (u32, u32) {
        let pid = self.task_pids.get(task as usize).copied().unwrap_or(1);
        (pid, task + 1)
    }

    fn of_event(&self, event: &Event) -> (u32, u32) {
        match event.task {
            NONE => (WORLD, WORLD),
            task => self.of_task(task),
        }
    }
}

/// Each event's place on the axis, in nanoseconds: its virtual time, or 1 ns after
/// the previous event when that is later.
fn layout(events: &[Event]) -> Vec<u64> {
    let mut next_free = 0u64;
    events
        .iter()
        .map(|event| {
            let at = event.time_nanos.max(next_free);
            next_free = at.saturating_add(1);
            at
        })
        .collect()
}

/// For each poll, where its span ends: 1 ns after the last event recorded before the
/// next poll or clock advance (what the poll did), or after the poll itself. Other
/// events' entries are unused.
fn span_ends(events: &[Event], times: &[u64]) -> Vec<u64> {
    let mut ends = vec![0; events.len()];
    // Walking backwards: the time of the latest event since the last boundary.
    let mut latest: Option<u64> = None;
    for index in (0..events.len()).rev() {
        match events[index].kind {
            EventKind::Poll => {
                ends[index] = latest.unwrap_or(times[index]).saturating_add(1);
                latest = None;
            }
            EventKind::Advance => latest = None,
            _ => {
                latest.get_or_insert(times[index]);
            }
        }
    }
    ends
}

fn category(trace: &Trace, event: &Event) -> &'static str {
    match event.kind {
        EventKind::Poll
        | EventKind::Spawn
        | EventKind::Yield
        | EventKind::Complete
        | EventKind::CancelRequest
        | EventKind::Cancelled
        | EventKind::Panic
        | EventKind::Leaked
        | EventKind::Failed => "task",
        EventKind::Wake => "wake",
        EventKind::TimerFire => "timer",
        EventKind::Advance => "clock",
        EventKind::Request | EventKind::Acquire | EventKind::Release | EventKind::GiveUp => "sync",
        EventKind::Crash | EventKind::Restart => "fault",
        EventKind::Net => {
            let note = trace.note(event).unwrap_or_default();
            let faults = ["partitioned", "healed", "clogged", "unclogged"];
            if faults.iter().any(|word| note.starts_with(word)) {
                "fault"
            } else {
                "network"
            }
        }
        EventKind::Send | EventKind::Deliver => "network",
        EventKind::Disk | EventKind::DiskWrite | EventKind::DiskSync => "disk",
    }
}

/// A metadata record naming a process or a thread.
fn metadata(kind: &str, pid: u32, tid: u32, name: &str) -> String {
    format!(
        "{{\"name\":\"{kind}\",\"ph\":\"M\",\"pid\":{pid},\"tid\":{tid},\"args\":{{\"name\":\"{}\"}}}}",
        escape(name)
    )
}

/// A metadata record ordering processes or threads (by host, by task id).
fn sort_index(kind: &str, pid: u32, tid: u32, index: u32) -> String {
    format!(
        "{{\"name\":\"{kind}\",\"ph\":\"M\",\"pid\":{pid},\"tid\":{tid},\"args\":{{\"sort_index\":{index}}}}}"
    )
}

/// Nanoseconds as the format's microseconds, every digit kept.
fn micros(nanos: u64) -> String {
    format!("{}.{:03}", nanos / 1000, nanos % 1000)
}

/// `text` as the inside of a JSON string.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '"' => escaped.push_str("\\\""),
            '\\' => escaped.push_str("\\\\"),
            '\n' => escaped.push_str("\\n"),
            '\t' => escaped.push_str("\\t"),
            '\r' => escaped.push_str("\\r"),
            control if (control as u32) < 0x20 => {
                let _ = write!(escaped, "\\u{:04x}", control as u32);
            }
            other => escaped.push(other),
        }
    }
    escaped
}

/// A task as the text trace names it.
struct Who<'a>(&'a Trace, u32);

impl fmt::Display for Who<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.task_name(TaskId::new(self.1)) {
            Some(name) => write!(f, "task {} ({name})", self.1),
            None => write!(f, "task {}", self.1),
        }
    }
}

/// What an event did, as the text trace's last column says it.
struct What<'a>(&'a Trace, &'a Event);

impl fmt::Display for What<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.write_what(f, self.1, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_escape_quotes_backslashes_and_control_characters() {
        assert_eq!(
            escape("a \"b\" \\ c\n\u{1}"),
            "a \\\"b\\\" \\\\ c\\n\\u0001"
        );
    }

    #[test]
    fn events_at_one_instant_are_laid_out_a_nanosecond_apart() {
        let mut trace = Trace::default();
        for step in 0..3 {
            trace.record(step, 0, EventKind::Poll, Some(TaskId::MAIN), None);
        }
        trace.record(3, 2, EventKind::Advance, None, None);
        trace.record(3, 10, EventKind::Advance, None, None);
        assert_eq!(layout(trace.events()), [0, 1, 2, 3, 10]);
        assert_eq!(micros(1_234_567), "1234.567");
    }
}
