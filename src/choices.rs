//! The one source of every nondeterministic decision.
//!
//! A simulation makes decisions: which ready task runs next, in which order timers
//! due at the same instant fire, what a random number is. Each decision is a small
//! integer in `0..bound` drawn through the crate's `Choices` trait, and `0` always
//! means "what an ordinary FIFO event loop would do". There are two sources:
//!
//! - `Seeded`: one ChaCha8 stream per component ([`Stream`]), all derived from the
//!   seed, so that a component drawing more (a timer added, random numbers drawn)
//!   does not shift the decisions of another component. Used by sweeps.
//! - [`Tape`]: decisions read from a byte string; an exhausted tape reads as zeros.
//!   Used by property tests and fuzzers: shrinking a tape toward zeros shrinks the
//!   schedule toward the production order, and a fuzzer's bytes steer the schedule.
//!
//! A decision with `bound <= 1` has only one possible answer and consumes nothing, so
//! tapes stay short and seeded streams stay aligned when a choice is trivial.

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The component a decision belongs to. Each component draws from its own stream.
/// A recorded [`crate::Schedule`] lists its non-scheduler decisions by stream.
///
/// # Examples
///
/// ```
/// use seedloop::choices::Stream;
/// let mut sim = seedloop::Sim::new(1);
/// sim.run(async {
///     let _: u32 = seedloop::rand::random();
/// })
/// .unwrap();
/// assert_eq!(sim.schedule().decisions()[0].0, Stream::User);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Stream {
    /// Which ready task runs next; task priorities for PCT.
    Scheduler,
    /// The order of timers due at the same instant.
    Timers,
    /// The simulated network: message latency, UDP loss and duplication.
    Network,
    /// Fault injection: `fault::buggify`.
    Faults,
    /// Randomness the user's program asks for (`seedloop::rand`).
    User,
    /// The simulated disks: which unsynced writes a crash keeps, I/O errors, latency.
    Disk,
    /// Simulated thread-pool jobs (`task::spawn_blocking`): how long each one takes.
    Blocking,
}

impl Stream {
    /// Every stream, in a fixed order.
    pub const ALL: [Stream; 7] = [
        Stream::Scheduler,
        Stream::Timers,
        Stream::Network,
        Stream::Faults,
        Stream::User,
        Stream::Disk,
        Stream::Blocking,
    ];

    fn index(self) -> usize {
        self as usize
    }

    /// The ChaCha stream a seed's component draws from.
    fn chacha_stream(self) -> u64 {
        match self {
            Stream::Scheduler => 1,
            Stream::Timers => 2,
            Stream::Network => 3,
            Stream::Faults => 4,
            Stream::User => 5,
            Stream::Disk => 6,
            Stream::Blocking => 7,
        }
    }
}

/// A source of decisions. Implementations must be deterministic: the same sequence of
/// calls gives the same answers. Crate-private: a `Sim` takes a seed or a tape, and
/// nothing outside the crate needs another source.
pub(crate) trait Choices {
    /// Returns a decision in `0..bound`. `0` is the FIFO event loop's choice.
    /// `bound` must be at least 1; with `bound == 1` nothing is consumed.
    fn choose(&mut self, stream: Stream, bound: u64) -> u64;

    /// Whether the numeric value of a decision is meaningful (a tape), so that
    /// decision `k` must mean "the k-th candidate in FIFO order". A seeded source only
    /// needs a uniform pick and lets the scheduler use faster unordered structures.
    fn is_ordered(&self) -> bool;

    /// The decisions answered so far, when the source logs them (a tape).
    fn take_log(&mut self) -> Vec<Decision> {
        Vec::new()
    }

    /// How many scheduler decisions were not the FIFO pick, when that is meaningful
    /// (ordered sources: decision 0 is the FIFO pick).
    fn preemptions(&self) -> Option<u64> {
        None
    }

    /// How a recording stopped matching the program's requests, once it has (only a
    /// replayed recording can): from then on its answers come from the seed.
    fn divergence(&self) -> Option<&str> {
        None
    }

    /// Whether [`Choices::divergence`] can ever answer (the executor asks only then).
    fn can_diverge(&self) -> bool {
        false
    }

    /// The replayed schedule's task order no longer fits the program (`detail` says
    /// how): a recording answers from the seed from now on. Other sources ignore it.
    fn diverge(&mut self, _detail: String) {}
}

/// A run's choice source: seeded streams, which the scheduler's hot path calls
/// directly (one pick per step, no dynamic dispatch), or any other source.
pub(crate) enum ChoiceSource {
    // Boxed: the streams are 2 KiB, and a `Core` and a `Sim` move.
    Seeded(Box<Seeded>),
    Other(Box<dyn Choices + Send>),
}

impl ChoiceSource {
    /// A source other than plain seeded streams (a tape, a recording, ...).
    pub(crate) fn other(source: impl Choices + Send + 'static) -> ChoiceSource {
        ChoiceSource::Other(Box::new(source))
    }

    #[inline]
    fn get(&self) -> &dyn Choices {
        match self {
            ChoiceSource::Seeded(seeded) => &**seeded,
            ChoiceSource::Other(other) => &**other,
        }
    }

    #[inline]
    fn get_mut(&mut self) -> &mut dyn Choices {
        match self {
            ChoiceSource::Seeded(seeded) => &mut **seeded,
            ChoiceSource::Other(other) => &mut **other,
        }
    }
}

impl Choices for ChoiceSource {
    #[inline]
    fn choose(&mut self, stream: Stream, bound: u64) -> u64 {
        match self {
            ChoiceSource::Seeded(seeded) => seeded.choose(stream, bound),
            ChoiceSource::Other(other) => other.choose(stream, bound),
        }
    }

    fn is_ordered(&self) -> bool {
        self.get().is_ordered()
    }

    fn take_log(&mut self) -> Vec<Decision> {
        self.get_mut().take_log()
    }

    fn preemptions(&self) -> Option<u64> {
        self.get().preemptions()
    }

    fn divergence(&self) -> Option<&str> {
        self.get().divergence()
    }

    fn can_diverge(&self) -> bool {
        self.get().can_diverge()
    }

    fn diverge(&mut self, detail: String) {
        self.get_mut().diverge(detail);
    }
}

/// Seeded ChaCha8 streams, one per [`Stream`], derived from one `u64` seed.
#[derive(Clone, Debug)]
pub(crate) struct Seeded {
    streams: [ChaCha8Rng; Stream::ALL.len()],
}

impl Seeded {
    /// Creates the streams for `seed`.
    pub(crate) fn new(seed: u64) -> Seeded {
        let stream = |component: Stream| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            // Distinct ChaCha streams of one key never overlap, so components are
            // independent without any key derivation of our own.
            rng.set_stream(component.chacha_stream());
            rng
        };
        Seeded {
            streams: Stream::ALL.map(stream),
        }
    }
}

impl Choices for Seeded {
    #[inline]
    fn choose(&mut self, stream: Stream, bound: u64) -> u64 {
        debug_assert!(bound >= 1, "a decision needs at least one option");
        if bound <= 1 {
            return 0;
        }
        let rng = &mut self.streams[stream.index()];
        match u32::try_from(bound) {
            Ok(bound) => uniform_below(rng, bound) as u64,
            Err(_) => rng.random_range(0..bound),
        }
    }

    fn is_ordered(&self) -> bool {
        false
    }
}

/// A uniform value in `0..bound` from 32-bit draws: Lemire's multiply-and-shift with
/// exact rejection, which needs a division only in the rare rejection case. Most
/// decisions pick among a few ready tasks, so this is the scheduler's hot path.
#[inline]
fn uniform_below(rng: &mut ChaCha8Rng, bound: u32) -> u32 {
    debug_assert!(bound > 0);
    let mut product = rng.next_u32() as u64 * bound as u64;
    if (product as u32) < bound {
        let threshold = bound.wrapping_neg() % bound;
        while (product as u32) < threshold {
            product = rng.next_u32() as u64 * bound as u64;
        }
    }
    (product >> 32) as u32
}

/// Decisions read from a byte tape, little-endian, as few bytes per decision as the
/// bound needs (one byte for up to 256 options). Past its end a tape reads as zeros:
/// the FIFO choice.
///
/// # Examples
///
/// ```
/// use seedloop::choices::Tape;
/// use std::{cell::RefCell, rc::Rc};
///
/// let order = |tape: Tape| {
///     let mut sim = seedloop::Sim::new(0).tape(tape);
///     sim.run(async {
///         let order = Rc::new(RefCell::new(String::new()));
///         let task = |name| {
///             let order = order.clone();
///             seedloop::spawn(async move { order.borrow_mut().push(name) })
///         };
///         let (a, b) = (task('a'), task('b'));
///         a.await.unwrap();
///         b.await.unwrap();
///         order.take()
///     })
///     .unwrap()
/// };
/// // Zeros (or nothing) are the FIFO order; decision 1 of 2 picks the second task.
/// assert_eq!(order(Tape::new(vec![])), "ab");
/// assert_eq!(order(Tape::new(vec![1])), "ba");
/// ```
#[derive(Clone, Debug, Default)]
pub struct Tape {
    bytes: Vec<u8>,
    position: usize,
    // Scheduler decisions that were not the FIFO pick.
    preemptions: u64,
    // Every decision read (of two or more options), for the exhaustive search.
    log: Vec<Decision>,
}

/// A decision a tape answered: from which stream, which value, among how many.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Decision {
    pub stream: Stream,
    pub value: u64,
    pub bound: u64,
}

impl Tape {
    /// A tape over `bytes`: one byte for each decision among up to 256 options
    /// (two, little-endian, up to 65,536, and so on), the value taken modulo the
    /// number of options.
    ///
    /// ```
    /// let tape = seedloop::choices::Tape::new(vec![7, 3]);
    /// assert_eq!(tape.to_hex(), "0703");
    /// ```
    pub fn new(bytes: Vec<u8>) -> Tape {
        Tape {
            bytes,
            position: 0,
            preemptions: 0,
            log: Vec::new(),
        }
    }

    /// How many bytes have been read so far.
    #[cfg(test)]
    fn consumed(&self) -> usize {
        self.position.min(self.bytes.len())
    }

    /// The tape's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// A tape from hexadecimal text, two digits a byte (`SEEDLOOP_TAPE` and replay
    /// lines print tapes so); either case, surrounding whitespace ignored.
    ///
    /// ```
    /// use seedloop::choices::Tape;
    /// let tape = Tape::from_hex("07ff00").unwrap();
    /// assert_eq!(tape.bytes(), [7, 255, 0]);
    /// assert_eq!(tape.to_hex(), "07ff00");
    /// assert!(Tape::from_hex("7ff").is_err());
    /// // A Sim takes it as its bytes.
    /// let _sim = seedloop::Sim::new(0).tape(tape);
    /// ```
    pub fn from_hex(text: &str) -> Result<Tape, ParseHexError> {
        let error = || ParseHexError {
            input: text.to_string(),
        };
        let digits = text.trim().as_bytes();
        if !digits.len().is_multiple_of(2) {
            return Err(error());
        }
        let digit = |byte: u8| (byte as char).to_digit(16).ok_or_else(error);
        let bytes = digits
            .chunks(2)
            .map(|pair| Ok((digit(pair[0])? * 16 + digit(pair[1])?) as u8))
            .collect::<Result<Vec<u8>, ParseHexError>>()?;
        Ok(Tape::new(bytes))
    }

    /// The tape's bytes as lowercase hexadecimal text, two digits a byte.
    pub fn to_hex(&self) -> String {
        to_hex(&self.bytes)
    }
}

impl From<Tape> for Vec<u8> {
    fn from(tape: Tape) -> Vec<u8> {
        tape.bytes
    }
}

/// `bytes` as lowercase hexadecimal text, two digits a byte.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Text that is not a tape in hexadecimal ([`Tape::from_hex`]).
///
/// # Examples
///
/// ```
/// let error = seedloop::choices::Tape::from_hex("0g").unwrap_err();
/// assert!(error.to_string().contains("0g"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseHexError {
    input: String,
}

impl std::fmt::Display for ParseHexError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "invalid tape `{}`: expected hexadecimal bytes, two digits each (e.g. `07ff00`)",
            self.input
        )
    }
}

impl std::error::Error for ParseHexError {}

/// Appends `value`, a decision in `0..bound`, to `tape` as [`Tape`] reads it back:
/// nothing for a decision with one option, else little-endian in
/// `bytes_for_bound(bound)` bytes.
pub(crate) fn write_decision(tape: &mut Vec<u8>, value: u64, bound: u64) {
    if bound <= 1 {
        return;
    }
    debug_assert!(value < bound);
    tape.extend_from_slice(&value.to_le_bytes()[..bytes_for_bound(bound)]);
}

/// The number of tape bytes a decision in `0..bound` reads.
fn bytes_for_bound(bound: u64) -> usize {
    let bits = 64 - (bound - 1).leading_zeros() as usize;
    bits.div_ceil(8)
}

impl Choices for Tape {
    fn choose(&mut self, stream: Stream, bound: u64) -> u64 {
        debug_assert!(bound >= 1, "a decision needs at least one option");
        if bound <= 1 {
            return 0;
        }
        let mut value: u64 = 0;
        for index in 0..bytes_for_bound(bound) {
            let byte = self.bytes.get(self.position).copied().unwrap_or(0);
            self.position += 1;
            value |= (byte as u64) << (8 * index);
        }
        let value = value % bound;
        if stream == Stream::Scheduler && value != 0 {
            self.preemptions += 1;
        }
        self.log.push(Decision {
            stream,
            value,
            bound,
        });
        value
    }

    fn is_ordered(&self) -> bool {
        true
    }

    fn preemptions(&self) -> Option<u64> {
        Some(self.preemptions)
    }

    fn take_log(&mut self) -> Vec<Decision> {
        std::mem::take(&mut self.log)
    }
}

/// A schedule as deviations from the FIFO order (`seedloop::proptest`): at the
/// scheduler's `k`-th choice point (a decision among two or more ready tasks, counted
/// from 0), pick the candidate a deviation names (1 = the second oldest, clamped to
/// the youngest); everywhere else, the FIFO pick. Every other ordering decision (timer
/// ties, latencies, faults) is the production order's 0; the program's own random
/// values come from the seed.
#[derive(Clone, Debug)]
pub(crate) struct Deviating {
    picks: std::collections::BTreeMap<u64, u64>,
    choice_points: u64,
    preemptions: u64,
    user: Seeded,
}

impl Deviating {
    pub(crate) fn new(deviations: &[(u64, u64)], seed: u64) -> Deviating {
        Deviating {
            picks: deviations
                .iter()
                .copied()
                .filter(|&(_, pick)| pick > 0)
                .collect(),
            choice_points: 0,
            preemptions: 0,
            user: Seeded::new(seed),
        }
    }
}

impl Choices for Deviating {
    fn choose(&mut self, stream: Stream, bound: u64) -> u64 {
        match stream {
            Stream::User => self.user.choose(stream, bound),
            Stream::Scheduler if bound > 1 => {
                let point = self.choice_points;
                self.choice_points += 1;
                let pick = self
                    .picks
                    .get(&point)
                    .map_or(0, |&pick| pick.min(bound - 1));
                self.preemptions += u64::from(pick != 0);
                pick
            }
            _ => 0,
        }
    }

    fn is_ordered(&self) -> bool {
        true
    }

    fn preemptions(&self) -> Option<u64> {
        Some(self.preemptions)
    }
}

/// A source that answers zeros: it stands in for a run's choices once the run is over.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Exhausted;

impl Choices for Exhausted {
    fn choose(&mut self, _stream: Stream, _bound: u64) -> u64 {
        0
    }

    fn is_ordered(&self) -> bool {
        true
    }
}

/// The production order ([`crate::Policy::Fifo`]): every ordering decision (scheduler,
/// timer ties, network latency and loss, faults) is 0, whatever the seed, and 0 is
/// never a fault; user randomness still comes from the seed.
#[derive(Clone, Debug)]
pub(crate) struct ProductionOrder(pub(crate) Seeded);

impl Choices for ProductionOrder {
    fn choose(&mut self, stream: Stream, bound: u64) -> u64 {
        match stream {
            Stream::User => self.0.choose(stream, bound),
            // Everything the program does not ask for itself: the production order.
            _ => 0,
        }
    }

    fn is_ordered(&self) -> bool {
        true
    }
}

/// Replays the non-scheduler decisions of a recorded run ([`crate::Schedule`]).
///
/// A request that does not match the next recorded decision (another stream, or a
/// value the request cannot take), or one past the recording's end, is a divergence:
/// the program is not the one recorded (a log line or an await was added since). The
/// recording is then abandoned rather than the run: this answer and every later one
/// come from the seed's streams, as a seeded run's would, and the divergence is
/// reported. The scheduler's replay reports its own divergences here too
/// ([`Choices::diverge`]), so the two switch to the seed together.
#[derive(Clone, Debug)]
pub(crate) struct Recorded {
    decisions: std::sync::Arc<Vec<(Stream, u64)>>,
    position: usize,
    diverged: Option<String>,
    seeded: Seeded,
}

impl Recorded {
    /// Replays `decisions`; `seed` answers once they no longer fit.
    pub(crate) fn new(decisions: std::sync::Arc<Vec<(Stream, u64)>>, seed: u64) -> Recorded {
        Recorded {
            decisions,
            position: 0,
            diverged: None,
            seeded: Seeded::new(seed),
        }
    }
}

impl Choices for Recorded {
    fn choose(&mut self, stream: Stream, bound: u64) -> u64 {
        if bound <= 1 {
            return 0;
        }
        if self.diverged.is_none() {
            match self.decisions.get(self.position) {
                Some(&(recorded_stream, value)) if recorded_stream == stream && value < bound => {
                    self.position += 1;
                    return value;
                }
                Some(&(recorded_stream, value)) => {
                    self.diverged = Some(format!(
                        "decision {} of the recording is {value} from the {recorded_stream:?} stream, but the program asked the {stream:?} stream for a value below {bound}",
                        self.position + 1
                    ));
                }
                None => {
                    self.diverged = Some(format!(
                        "the recording's {} decisions ran out, and the program asked the {stream:?} stream for another",
                        self.decisions.len()
                    ));
                }
            }
        }
        self.seeded.choose(stream, bound)
    }

    fn is_ordered(&self) -> bool {
        true
    }

    fn divergence(&self) -> Option<&str> {
        self.diverged.as_deref()
    }

    fn can_diverge(&self) -> bool {
        true
    }

    fn diverge(&mut self, detail: String) {
        if self.diverged.is_none() {
            self.diverged = Some(detail);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_below_covers_the_range_evenly() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut counts = [0u32; 7];
        for _ in 0..70_000 {
            counts[uniform_below(&mut rng, 7) as usize] += 1;
        }
        for count in counts {
            assert!((9_000..11_000).contains(&count), "{counts:?}");
        }
        assert_eq!(uniform_below(&mut rng, 1), 0);
    }

    #[test]
    fn bytes_for_bound_counts_whole_bytes() {
        assert_eq!(bytes_for_bound(2), 1);
        assert_eq!(bytes_for_bound(256), 1);
        assert_eq!(bytes_for_bound(257), 2);
        assert_eq!(bytes_for_bound(u64::MAX), 8);
    }

    #[test]
    fn streams_are_independent() {
        let mut a = Seeded::new(1);
        let mut b = Seeded::new(1);
        // Drawing from the timer stream must not shift the scheduler stream.
        for _ in 0..10 {
            a.choose(Stream::Timers, 1000);
        }
        let left: Vec<u64> = (0..20).map(|_| a.choose(Stream::Scheduler, 1000)).collect();
        let right: Vec<u64> = (0..20).map(|_| b.choose(Stream::Scheduler, 1000)).collect();
        assert_eq!(left, right);
    }

    #[test]
    fn different_seeds_differ() {
        let mut a = Seeded::new(1);
        let mut b = Seeded::new(2);
        let left: Vec<u64> = (0..20).map(|_| a.choose(Stream::Scheduler, 1000)).collect();
        let right: Vec<u64> = (0..20).map(|_| b.choose(Stream::Scheduler, 1000)).collect();
        assert_ne!(left, right);
    }

    #[test]
    fn a_written_decision_reads_back_from_a_tape() {
        let decisions = [
            (0, 1),
            (1, 2),
            (200, 256),
            (300, 65_536),
            (7, 1 << 32),
            (2, 3),
        ];
        let mut bytes = Vec::new();
        for (value, bound) in decisions {
            write_decision(&mut bytes, value, bound);
        }
        let mut tape = Tape::new(bytes);
        for (value, bound) in decisions {
            assert_eq!(tape.choose(Stream::Scheduler, bound), value);
        }
    }

    #[test]
    fn tape_reads_multi_byte_decisions_little_endian() {
        let mut tape = Tape::new(vec![0x01, 0x02]);
        assert_eq!(tape.choose(Stream::Scheduler, 65536), 0x0201);
        assert_eq!(tape.consumed(), 2);
    }
}
