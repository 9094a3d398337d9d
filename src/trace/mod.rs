//! Execution traces: what happened, event by event, as small fixed-size records.
//!
//! Recording is on by default, so it has to be cheap: an [`Event`] is a 24-byte record
//! (step, virtual time, task, kind, one argument) pushed onto a `Vec`, and nothing
//! else: nothing is formatted until the trace is displayed, and nothing is hashed until
//! the hash is asked for. The 64-bit hash covers every event ever recorded: events are
//! folded into it when they are trimmed and, for the ones still kept, when
//! [`Trace::hash`] is called. Folding in four lanes (event `n` goes to lane `n % 4`)
//! keeps four multiplications in flight, so a fold costs about a cycle an event instead
//! of a chain of dependent multiplications; by position, so the hash does not depend on
//! when the trims happened. Measured on the spawn-and-yield workload, hashing at record
//! time was about 4% of a step, for a hash most runs never read. Task names and panic messages live in side tables indexed by task id and
//! message number, so events never own strings.
//!
//! A trace keeps at most [`Trace::limit`] events (the oldest are dropped, counted, and
//! still part of the hash). Turning recording off ([`crate::Sim::record_trace`]) sets
//! the limit to a short tail: the hash and the last events of a failure report survive.
//!
//! `Display` is the stable snapshot text: one event a line, ids and virtual times only,
//! no addresses, no wall-clock times, and neither the seed nor the policy, so that the
//! same interleaving under two seeds displays the same. The records, the hash and the
//! side tables are here; the text is written in `render.rs`.

mod chrome;
mod render;
mod view;

pub use render::TraceTail;
pub(crate) use render::VirtualTime;
pub use view::TraceView;

use crate::id::TaskId;
use std::fmt;
use std::time::Duration;

/// The kinds of trace events.
///
/// # Examples
///
/// ```
/// use seedloop::sync::Lock;
/// use seedloop::trace::EventKind;
///
/// let mut sim = seedloop::Sim::new(0);
/// sim.run(async { drop(Lock::new(()).lock().await) }).unwrap();
/// let kinds: Vec<EventKind> = sim.trace().events().iter().map(|event| event.kind()).collect();
/// assert_eq!(kinds.first(), Some(&EventKind::Poll));
/// assert!(kinds.contains(&EventKind::Acquire) && kinds.contains(&EventKind::Release));
/// assert!(EventKind::Acquire.is_sync() && !EventKind::Poll.is_sync());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
#[non_exhaustive]
pub enum EventKind {
    /// `task` spawned the task whose id is `other`.
    Spawn,
    /// `task` was polled (one scheduling step).
    Poll,
    /// `task` called `yield_now`.
    Yield,
    /// `task` was made ready; `other` is the task that woke it (or none). A task
    /// waking itself (as `yield_now` does) is not recorded: the `Yield` event, or the
    /// next poll, stands for it.
    Wake,
    /// A timer registered by `task` fired.
    TimerFire,
    /// The virtual clock jumped forward to the event's time.
    Advance,
    /// `task` finished with a value.
    Complete,
    /// Cancellation of `task` was requested by the task `other` (or none).
    CancelRequest,
    /// `task`'s future was dropped before it finished (cancelled).
    Cancelled,
    /// `task` panicked; `other` indexes the trace's panic messages.
    Panic,
    /// `task` was still pending when the run ended and was dropped.
    Leaked,
    /// `task`, a task group child, returned an error (the group now aborts).
    Failed,
    /// `task` began waiting for the synchronization primitive `other` (a lock, a
    /// permit, an item, an event, ...).
    Request,
    /// `task` was granted the primitive `other`: it took the lock, permits or item, or
    /// the event it waited for happened. A grant handed over by a release is recorded
    /// at the release, under the receiving task.
    Acquire,
    /// `task` released or signalled the primitive `other` (unlocked, returned permits,
    /// put an item, set an event, ...).
    Release,
    /// `task` stopped waiting for the primitive `other` without being granted it
    /// (cancelled, or the primitive was closed).
    GiveUp,
    /// The host named by the note `other` crashed: its tasks were dropped.
    Crash,
    /// The host named by the note `other` came back up, with nothing running.
    Restart,
    /// A simulated network event, described by the note `other` (a connection opened,
    /// accepted, closed or reset; a socket bound; a partition made or healed; a
    /// message dropped).
    Net,
    /// `task` sent data on the connection or socket the note `other` names.
    Send,
    /// Data arrived on the connection or socket the note `other` names.
    Deliver,
    /// A simulated disk event, described by the note `other` (a file created, renamed
    /// or removed, a directory synced, a fault injected, what a crash kept and lost).
    Disk,
    /// `task` wrote to the file the note `other` names (into its host's page cache).
    DiskWrite,
    /// `task` synced the file the note `other` names: its writes are durable.
    DiskSync,
}

impl EventKind {
    /// Whether the event belongs to the simulated world (hosts, network and disks):
    /// its argument is a note ([`Trace::note`]).
    pub fn is_net(self) -> bool {
        matches!(
            self,
            EventKind::Crash
                | EventKind::Restart
                | EventKind::Net
                | EventKind::Send
                | EventKind::Deliver
                | EventKind::Disk
                | EventKind::DiskWrite
                | EventKind::DiskSync
        )
    }

    /// Whether the event's argument is a synchronization primitive.
    pub fn is_sync(self) -> bool {
        matches!(
            self,
            EventKind::Request | EventKind::Acquire | EventKind::Release | EventKind::GiveUp
        )
    }
}

/// "No task" in an event's task or argument field.
const NONE: u32 = u32::MAX;

/// One trace record.
///
/// # Examples
///
/// ```
/// use seedloop::task::TaskId;
/// use seedloop::trace::EventKind;
///
/// let mut sim = seedloop::Sim::new(0);
/// sim.run(async { seedloop::spawn(async {}).await.unwrap() }).unwrap();
/// let spawn = sim
///     .trace()
///     .events()
///     .iter()
///     .find(|event| event.kind() == EventKind::Spawn)
///     .unwrap();
/// assert_eq!(spawn.task(), Some(TaskId::MAIN));
/// assert_eq!(spawn.other_task(), Some(TaskId::new(1)));
/// assert_eq!((spawn.step(), spawn.time()), (1, std::time::Duration::ZERO));
/// assert_eq!(spawn.primitive(), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Event {
    time_nanos: u64,
    step: u32,
    task: u32,
    other: u32,
    kind: EventKind,
}

impl Event {
    /// The scheduling step during or after which the event happened.
    pub fn step(&self) -> u64 {
        self.step as u64
    }

    /// Virtual time since the simulation's epoch.
    pub fn time(&self) -> Duration {
        Duration::from_nanos(self.time_nanos)
    }

    /// What happened.
    pub fn kind(&self) -> EventKind {
        self.kind
    }

    /// The task the event is about, if any.
    pub fn task(&self) -> Option<TaskId> {
        (self.task != NONE).then(|| TaskId::new(self.task))
    }

    /// The synchronization primitive involved, for [`EventKind::is_sync`] events;
    /// [`Trace::primitive`] gives its kind and name.
    pub fn primitive(&self) -> Option<u32> {
        (self.kind.is_sync() && self.other != NONE).then_some(self.other)
    }

    /// The other task involved (spawned, waker, canceller), if any.
    pub fn other_task(&self) -> Option<TaskId> {
        match self.kind {
            EventKind::Spawn | EventKind::Wake | EventKind::CancelRequest if self.other != NONE => {
                Some(TaskId::new(self.other))
            }
            _ => None,
        }
    }
}

/// The default number of events a trace keeps.
pub const DEFAULT_TRACE_LIMIT: usize = 1_000_000;
/// The number of events kept when recording is turned off (for failure reports).
pub const TAIL_LIMIT: usize = 64;

/// The record of one run. `Display` is the stable snapshot text.
///
/// # Examples
///
/// ```
/// use seedloop::trace::EventKind;
///
/// let program = || async { seedloop::spawn(async {}).await.unwrap() };
/// let mut sim = seedloop::Sim::new(0);
/// sim.run(program()).unwrap();
/// let trace = sim.trace();
/// assert_eq!(trace.task_count(), 2, "main and the spawned task");
/// assert!(trace.events().iter().any(|event| event.kind() == EventKind::Spawn));
/// // One seed, one execution: the same seed gives the same trace.
/// let mut again = seedloop::Sim::new(0);
/// again.run(program()).unwrap();
/// assert_eq!(again.trace().to_string(), trace.to_string());
/// assert_eq!(again.trace().hash(), trace.hash());
/// ```
#[derive(Clone)]
pub struct Trace {
    // Invariant: events.len() <= events.capacity() <= 2 * limit; events[0] is event
    // number `dropped`. Recording checks one thing per event, that the buffer is full
    // (which the push itself checks too, so the compiler keeps one check): then the
    // trace grows it, trims its oldest events (at `2 * limit`), or, once closed (the
    // buffer shrunk to its events), records nothing.
    events: Vec<Event>,
    limit: usize,
    closed: bool,
    dropped: u64,
    names: Vec<Option<Box<str>>>,
    messages: Vec<Box<str>>,
    primitives: Vec<(&'static str, Option<Box<str>>)>,
    // The host of each task on a host other than `main` (task index, host name), in
    // spawn order. Not hashed: a task's name already says its host.
    task_hosts: Vec<(u32, Box<str>)>,
    // The events dropped so far (`dropped` of them), folded.
    dropped_hash: EventHash,
    // Names, messages and primitives, mixed in as they are registered (rarely).
    side_hash: u64,
}

impl PartialEq for Trace {
    fn eq(&self, other: &Trace) -> bool {
        self.dropped_hash == other.dropped_hash
            && self.side_hash == other.side_hash
            && self.dropped == other.dropped
            && self.limit == other.limit
            && self.events == other.events
            && self.names == other.names
            && self.messages == other.messages
            && self.primitives == other.primitives
            && self.task_hosts == other.task_hosts
    }
}

impl Eq for Trace {}

impl Default for Trace {
    fn default() -> Trace {
        Trace::with_limit(DEFAULT_TRACE_LIMIT)
    }
}

const HASH_MULTIPLIER: u64 = 0x517c_c1b7_2722_0a95;

#[inline]
fn mix(hash: u64, word: u64) -> u64 {
    (hash.rotate_left(5) ^ word).wrapping_mul(HASH_MULTIPLIER)
}

/// A hash of a sequence of events in four independent lanes: event number `n` (counted
/// from the trace's first event, trimmed or not) is mixed into lane `n % 4`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct EventHash {
    lanes: [u64; 4],
}

impl EventHash {
    const START: EventHash = EventHash {
        lanes: [
            0xcbf2_9ce4_8422_2325,
            0x9e37_79b9_7f4a_7c15,
            0x6a09_e667_f3bc_c908,
            0xbb67_ae85_84ca_a73b,
        ],
    };

    /// Folds `events`, the first of which is event number `first` of the trace.
    fn fold(&mut self, first: u64, events: &[Event]) {
        let lanes = &mut self.lanes;
        // Up to the next multiple of four one at a time, then four at a time with the
        // lanes in registers.
        let unaligned = ((4 - first % 4) % 4) as usize;
        let (head, rest) = events.split_at(unaligned.min(events.len()));
        for (offset, event) in head.iter().enumerate() {
            let lane = ((first + offset as u64) % 4) as usize;
            lanes[lane] = fold_event(lanes[lane], event);
        }
        let [mut lane0, mut lane1, mut lane2, mut lane3] = *lanes;
        let mut chunks = rest.chunks_exact(4);
        for chunk in &mut chunks {
            lane0 = fold_event(lane0, &chunk[0]);
            lane1 = fold_event(lane1, &chunk[1]);
            lane2 = fold_event(lane2, &chunk[2]);
            lane3 = fold_event(lane3, &chunk[3]);
        }
        *lanes = [lane0, lane1, lane2, lane3];
        for (lane, event) in chunks.remainder().iter().enumerate() {
            lanes[lane] = fold_event(lanes[lane], event);
        }
    }

    fn finish(&self, side_hash: u64, events: u64) -> u64 {
        let lanes = self
            .lanes
            .iter()
            .fold(side_hash, |hash, lane| mix(hash, *lane));
        mix(lanes, events)
    }
}

#[inline]
fn fold_event(hash: u64, event: &Event) -> u64 {
    // Two words per event: (time, step, kind) folded, then (task, other).
    let when = event.time_nanos.wrapping_mul(HASH_MULTIPLIER)
        ^ ((event.step as u64) << 8 | event.kind as u64);
    mix(
        mix(hash, when),
        (event.task as u64) << 32 | event.other as u64,
    )
}

fn mix_bytes(mut hash: u64, bytes: &[u8]) -> u64 {
    for chunk in bytes.chunks(8) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        hash = mix(hash, u64::from_le_bytes(word));
    }
    mix(hash, bytes.len() as u64)
}

thread_local! {
    static SPARE_EVENTS: std::cell::Cell<Vec<Event>> = const { std::cell::Cell::new(Vec::new()) };
    static SPARE_NAMES: std::cell::Cell<Vec<Option<Box<str>>>> = const { std::cell::Cell::new(Vec::new()) };
}

impl Drop for Trace {
    fn drop(&mut self) {
        crate::recycle::keep(&SPARE_EVENTS, std::mem::take(&mut self.events));
        crate::recycle::keep(&SPARE_NAMES, std::mem::take(&mut self.names));
    }
}

impl Trace {
    /// An empty trace that keeps at most `limit` events (at least [`TAIL_LIMIT`]).
    pub fn with_limit(limit: usize) -> Trace {
        Trace::from_buffers(
            limit,
            crate::recycle::take(&SPARE_EVENTS),
            crate::recycle::take(&SPARE_NAMES),
        )
    }

    /// An empty trace recording into `events` and `names` (both empty).
    fn from_buffers(limit: usize, mut events: Vec<Event>, names: Vec<Option<Box<str>>>) -> Trace {
        debug_assert!(events.is_empty() && names.is_empty());
        let limit = limit.max(TAIL_LIMIT);
        // A spare buffer larger than this trace may keep would let it outgrow its limit.
        events.shrink_to(limit.saturating_mul(2));
        Trace {
            events,
            limit,
            closed: false,
            dropped: 0,
            names,
            messages: Vec::new(),
            primitives: Vec::new(),
            task_hosts: Vec::new(),
            dropped_hash: EventHash::START,
            side_hash: 0xcbf2_9ce4_8422_2325,
        }
    }

    /// An empty trace that takes none of the thread's spare buffers: the placeholder a
    /// `Sim` holds before its first run, which must leave the spares to that run's
    /// trace (else every run of a sweep would regrow its event buffer from empty).
    pub(crate) fn placeholder() -> Trace {
        Trace::from_buffers(DEFAULT_TRACE_LIMIT, Vec::new(), Vec::new())
    }

    /// The most events this trace keeps; older ones are dropped (and still hashed).
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// A 64-bit hash of every event recorded, names and messages included. Two runs
    /// with equal hashes made the same decisions.
    ///
    /// Computed on each call, from the events kept (the dropped ones were folded when
    /// they were dropped): about a nanosecond an event.
    pub fn hash(&self) -> u64 {
        let mut hash = self.dropped_hash;
        hash.fold(self.dropped, &self.events);
        hash.finish(self.side_hash, self.len())
    }

    /// The events kept, oldest first.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// How many events were recorded in all (kept or dropped).
    pub fn len(&self) -> u64 {
        self.dropped + self.events.len() as u64
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many of the oldest events were dropped because of the limit.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The name given to `task`, if any (the main future is `main`).
    pub fn task_name(&self, task: TaskId) -> Option<&str> {
        self.names.get(task.index() as usize)?.as_deref()
    }

    /// The text an event of the simulated world ([`EventKind::Crash`],
    /// [`EventKind::Restart`], [`EventKind::Net`], [`EventKind::Send`],
    /// [`EventKind::Deliver`], and the disk's events) refers to: a host's name, a
    /// connection or file, or what happened.
    pub fn note(&self, event: &Event) -> Option<&str> {
        if !event.kind.is_net() {
            return None;
        }
        self.messages.get(event.other as usize).map(|m| &**m)
    }

    /// The panic message an [`EventKind::Panic`] event refers to.
    pub fn panic_message(&self, event: &Event) -> Option<&str> {
        if event.kind != EventKind::Panic {
            return None;
        }
        self.messages.get(event.other as usize).map(|m| &**m)
    }

    /// How many tasks were registered (spawned, main included).
    pub fn task_count(&self) -> usize {
        self.names.len()
    }

    /// The simulated host `task` ran on, when it is not `main`
    /// ([`crate::net::Host`]); `None` for the main host's tasks.
    ///
    /// ```
    /// use seedloop::task::TaskId;
    /// let mut sim = seedloop::Sim::new(0);
    /// sim.run(async {
    ///     let db = seedloop::net::Host::new("db");
    ///     db.spawn(async {}).await.unwrap();
    /// })
    /// .unwrap();
    /// assert_eq!(sim.trace().task_host(TaskId::new(1)), Some("db"));
    /// assert_eq!(sim.trace().task_host(TaskId::MAIN), None);
    /// ```
    pub fn task_host(&self, task: TaskId) -> Option<&str> {
        let index = self
            .task_hosts
            .binary_search_by_key(&task.index(), |(index, _)| *index)
            .ok()?;
        Some(&self.task_hosts[index].1)
    }

    /// Records that `task`, the newest task, runs on the host named `host`.
    pub(crate) fn set_task_host(&mut self, task: TaskId, host: &str) {
        debug_assert!(self
            .task_hosts
            .last()
            .is_none_or(|(last, _)| *last < task.index()));
        self.task_hosts.push((task.index(), host.into()));
    }

    /// Registers the next task id's name; returns the id.
    pub(crate) fn register_task(&mut self, name: Option<Box<str>>) -> TaskId {
        let id = TaskId::new(self.names.len() as u32);
        if let Some(name) = &name {
            self.side_hash = mix_bytes(self.side_hash, name.as_bytes());
        }
        self.names.push(name);
        id
    }

    /// The kind (`"Lock"`, `"Semaphore"`, ...) and name of the synchronization
    /// primitive numbered `primitive` in this run ([`Event::primitive`]).
    pub fn primitive(&self, primitive: u32) -> Option<(&'static str, Option<&str>)> {
        let (kind, name) = self.primitives.get(primitive as usize)?;
        Some((kind, name.as_deref()))
    }

    /// How many synchronization primitives were used in the run.
    pub fn primitive_count(&self) -> usize {
        self.primitives.len()
    }

    /// Registers the next primitive; returns its number.
    pub(crate) fn register_primitive(&mut self, kind: &'static str, name: Option<Box<str>>) -> u32 {
        self.side_hash = mix_bytes(self.side_hash, kind.as_bytes());
        if let Some(name) = &name {
            self.side_hash = mix_bytes(self.side_hash, name.as_bytes());
        }
        self.primitives.push((kind, name));
        (self.primitives.len() - 1) as u32
    }

    /// "Lock 0 (accounts)": how reports and traces name a primitive.
    pub fn primitive_label(&self, primitive: u32) -> String {
        match self.primitive(primitive) {
            Some((kind, Some(name))) => format!("{kind} {primitive} ({name})"),
            Some((kind, None)) => format!("{kind} {primitive}"),
            None => format!("primitive {primitive}"),
        }
    }

    /// The panic message or note stored as `index`.
    pub(crate) fn message_text(&self, index: u32) -> &str {
        self.messages.get(index as usize).map_or("<unknown>", |m| m)
    }

    /// Stores a panic message or a note; returns its index for an event's `other`.
    pub(crate) fn add_message(&mut self, message: &str) -> u32 {
        self.side_hash = mix_bytes(self.side_hash, message.as_bytes());
        self.messages.push(message.into());
        (self.messages.len() - 1) as u32
    }

    #[inline]
    pub(crate) fn record(
        &mut self,
        step: u32,
        time_nanos: u64,
        kind: EventKind,
        task: Option<TaskId>,
        other: Option<u32>,
    ) {
        if self.events.len() == self.events.capacity() && !self.make_room() {
            return;
        }
        let event = Event {
            time_nanos,
            step,
            task: task.map_or(NONE, TaskId::index),
            other: other.unwrap_or(NONE),
            kind,
        };
        self.events.push(event);
    }

    /// Stops recording: later events are neither kept nor hashed (a failed run's
    /// trace ends at its failure, before the teardown).
    pub(crate) fn close(&mut self) {
        self.closed = true;
        // Full from now on (a boxed slice has no spare capacity, by its type): every
        // later event takes the slow path, which drops it.
        self.events = std::mem::take(&mut self.events)
            .into_boxed_slice()
            .into_vec();
    }

    /// Whether the next event may be recorded, with the buffer full: grows it, or
    /// trims the oldest events when the trace holds twice its limit.
    #[cold]
    fn make_room(&mut self) -> bool {
        if self.closed {
            return false;
        }
        let most = self.limit.saturating_mul(2);
        let kept = self.events.len();
        if kept >= most {
            self.trim();
        } else {
            // Doubling, as a push would, but never past twice the limit.
            let room = kept.max(64).min(most - kept);
            self.events.reserve_exact(room);
        }
        true
    }

    fn trim(&mut self) {
        let excess = self.events.len() - self.limit;
        self.dropped_hash.fold(self.dropped, &self.events[..excess]);
        self.events.drain(..excess);
        self.dropped += excess as u64;
    }
}

impl fmt::Debug for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Trace")
            .field("events", &self.len())
            .field("kept", &self.events.len())
            .field("tasks", &self.names.len())
            .field("hash", &format_args!("{:016x}", self.hash()))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_is_a_small_record() {
        assert!(std::mem::size_of::<Event>() <= 24);
    }

    #[test]
    fn limit_keeps_the_newest_events_and_hashes_all() {
        let mut small = Trace::with_limit(TAIL_LIMIT);
        let mut big = Trace::with_limit(10_000);
        for step in 0..1000 {
            small.record(step, 0, EventKind::Poll, Some(TaskId::MAIN), None);
            big.record(step, 0, EventKind::Poll, Some(TaskId::MAIN), None);
        }
        assert_eq!(small.hash(), big.hash());
        assert_eq!(small.len(), 1000);
        assert!(small.events().len() < 2 * TAIL_LIMIT);
        assert_eq!(small.events().last().unwrap().step(), 999);
        assert_eq!(
            small.dropped() + small.events().len() as u64,
            big.events().len() as u64
        );
    }

    #[test]
    fn a_placeholder_leaves_the_spare_buffers_to_the_next_runs_trace() {
        // A `Sim` holds a placeholder trace before each run; it must not take the
        // spare event buffer, or every run of a sweep regrows it from empty.
        let mut first = Trace::with_limit(10_000);
        for step in 0..5000 {
            first.record(step, 0, EventKind::Poll, Some(TaskId::MAIN), None);
        }
        let grown = first.events.capacity();
        drop(first);
        let placeholder = Trace::placeholder();
        let next_run = Trace::with_limit(10_000);
        assert!(next_run.events.capacity() >= grown);
        assert_eq!(placeholder.events.capacity(), 0);
    }

    /// Event `n` of a varied test trace: every field moves, so that a hash which
    /// dropped a field or a lane would be caught.
    fn varied_event(trace: &mut Trace, n: u32) {
        let kind = if n.is_multiple_of(3) {
            EventKind::Wake
        } else {
            EventKind::Poll
        };
        let other = (!n.is_multiple_of(5)).then_some(n * 7);
        trace.record(
            n / 2,
            u64::from(n) * 1_000,
            kind,
            Some(TaskId::new(n % 11)),
            other,
        );
    }

    #[test]
    fn a_closed_trace_records_nothing_though_its_buffer_had_room() {
        let mut trace = Trace::with_limit(10_000);
        for n in 0..100 {
            varied_event(&mut trace, n);
        }
        assert!(trace.events.capacity() > 100, "the buffer had room left");
        let (hash, len) = (trace.hash(), trace.len());
        trace.close();
        for n in 100..300 {
            varied_event(&mut trace, n);
        }
        assert_eq!((trace.hash(), trace.len()), (hash, len));
        assert_eq!(trace.events().len(), 100);
    }

    #[test]
    fn the_buffer_never_holds_more_than_twice_the_limit() {
        // A spare buffer from a trace with a larger limit is cut down to this one's.
        let mut big = Trace::with_limit(10_000);
        for n in 0..20_000 {
            varied_event(&mut big, n);
        }
        drop(big);
        for limit in [TAIL_LIMIT, 100, 1000] {
            let mut trace = Trace::with_limit(limit);
            for n in 0..10 * limit as u32 {
                varied_event(&mut trace, n);
                assert!(trace.events.capacity() <= 2 * limit, "limit {limit}");
                assert!(trace.events().len() <= 2 * limit, "limit {limit}");
            }
            assert_eq!(trace.len(), 10 * limit as u64);
            assert!(
                trace.events().len() >= limit,
                "the newest `limit` events are kept"
            );
        }
    }

    #[test]
    fn the_hash_does_not_depend_on_where_the_trims_fell() {
        // Trims fold the dropped events at every alignment (lane `n % 4`): limits that
        // are not multiples of four start folds in the middle of a group of four.
        for events in [0, 1, 3, 4, 5, 130, 131, 257, 1000] {
            let mut whole = Trace::with_limit(10_000);
            for n in 0..events {
                varied_event(&mut whole, n);
            }
            for limit in [
                TAIL_LIMIT,
                TAIL_LIMIT + 1,
                TAIL_LIMIT + 2,
                TAIL_LIMIT + 3,
                99,
            ] {
                let mut trimmed = Trace::with_limit(limit);
                for n in 0..events {
                    varied_event(&mut trimmed, n);
                }
                assert_eq!(trimmed.len(), whole.len());
                assert_eq!(
                    trimmed.hash(),
                    whole.hash(),
                    "{events} events, limit {limit}, {} dropped",
                    trimmed.dropped()
                );
            }
        }
    }

    #[test]
    fn every_field_of_every_event_is_hashed() {
        // Nine events: each of the four lanes, the aligned groups and the remainder.
        let build = |change: Option<(u32, usize)>| {
            let mut trace = Trace::default();
            for n in 0..9 {
                let (mut step, mut time, mut kind, mut task, mut other) =
                    (n, u64::from(n), EventKind::Poll, n, Some(n));
                match change {
                    Some((at, 0)) if at == n => step += 1,
                    Some((at, 1)) if at == n => time += 1,
                    Some((at, 2)) if at == n => kind = EventKind::Wake,
                    Some((at, 3)) if at == n => task += 1,
                    Some((at, 4)) if at == n => other = None,
                    _ => {}
                }
                trace.record(step, time, kind, Some(TaskId::new(task)), other);
            }
            trace.hash()
        };
        let base = build(None);
        for at in 0..9 {
            for field in 0..5 {
                assert_ne!(build(Some((at, field))), base, "event {at}, field {field}");
            }
        }
    }

    #[test]
    fn names_messages_and_primitives_are_hashed() {
        let build = |name: &str, message: &str, primitive: &str| {
            let mut trace = Trace::default();
            trace.register_task(Some(name.into()));
            trace.add_message(message);
            trace.register_primitive("Lock", Some(primitive.into()));
            trace.hash()
        };
        let base = build("a", "m", "p");
        assert_ne!(build("b", "m", "p"), base);
        assert_ne!(build("a", "n", "p"), base);
        assert_ne!(build("a", "m", "q"), base);
        assert_eq!(build("a", "m", "p"), base);
    }

    #[test]
    fn hash_depends_on_order() {
        let mut a = Trace::default();
        let mut b = Trace::default();
        a.record(1, 0, EventKind::Poll, Some(TaskId::new(1)), None);
        a.record(2, 0, EventKind::Poll, Some(TaskId::new(2)), None);
        b.record(1, 0, EventKind::Poll, Some(TaskId::new(2)), None);
        b.record(2, 0, EventKind::Poll, Some(TaskId::new(1)), None);
        assert_ne!(a.hash(), b.hash());
    }
}
