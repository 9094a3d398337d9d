//! Task wakers: raw wakers whose data word names the task. The crate's only `unsafe`.
//!
//! A task's `Waker` carries no pointer and owns nothing: its data word is the number
//! `generation << 32 | domain << 22 | slot`, and its functions only read that number.
//! Cloning copies it (and counts the clone in a plain thread-local table, see below),
//! dropping only uncounts it, and no waker ever allocates or touches a reference
//! count: a step of a simulation costs no atomic operation, however many times user
//! code clones and drops its task's waker (an `Arc` waker costs two locked
//! instructions per clone and drop, which was a third of a ping-pong step).
//!
//! Waking reads the number back and, when the simulation going on on this thread is
//! of the same *domain*, makes the task in `(slot, generation)` ready. A domain is the
//! thread's claim on one of 1023 tags, held while the thread lives and handed to a
//! later thread when it ends. The number names one task for the life of the process,
//! because a slot's generation changes each time its task ends, and keeps counting
//! across the runs of a thread and across the threads that hold the tag in turn (the
//! generations are saved with the tag when a thread ends). So a waker that outlives
//! its task, or its run, finds no task of its name and does nothing; and a waker that
//! travels to another thread names another domain. Waking it there while its own
//! thread is in a run panics (in the waking thread) with a message: a simulation is
//! one thread, so that wake can only be a bug, a real thread or runtime leaking into
//! the test. Woken there while its thread is between runs, it does nothing.
//!
//! What the executor would lose with reference counts is the knowledge of whether
//! anyone else holds a task's waker, which wait-cycle detection needs (a task is
//! blocked for good only if nothing outside seedloop can wake it). So clones count
//! themselves, without atomics: a clone or a drop made on the thread of the task's
//! domain counts `+1` or `-1` in a thread-local table, by slot, next to the
//! generation of the slot's task (a clone of an ended task's waker counts for
//! nothing). The table is the thread's own, so counting looks up neither the
//! simulation nor the executor's state. A clone made on another thread is not
//! counted; its drop on this thread cannot take a count below zero, and waking it
//! from there panics anyway. seedloop's own wait queues keep a [`TaskWake`], which is
//! not a clone.
//!
//! The limits are the bit fields: 2^22 - 1 slots (tasks alive at once; `Sim` refuses
//! a larger `max_tasks`), 1023 threads running simulations at once (the 1024th panics
//! with a message), and 2^32 tasks per slot before its generation wraps around.

use super::context;
use super::executor::Shared;
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::task::{RawWaker, RawWakerVTable, Waker};

#[cfg(not(target_pointer_width = "64"))]
compile_error!("seedloop needs a 64-bit target: a task's waker carries its 64-bit name in a pointer-sized word");

const SLOT_BITS: u32 = 22;
const DOMAIN_BITS: u32 = 10;
const SLOT_MASK: u64 = (1 << SLOT_BITS) - 1;
const DOMAIN_MASK: u64 = (1 << DOMAIN_BITS) - 1;

/// How many task slots a run may have: the most tasks alive at once, the main task
/// included.
pub(crate) const MAX_SLOTS: usize = 1 << SLOT_BITS;

/// How many domains (threads running simulations at once) there can be; tag 0 is
/// never handed out.
const MAX_DOMAINS: usize = 1 << DOMAIN_BITS;

/// A domain tag: which thread's simulations a waker belongs to.
pub(crate) type Domain = u16;

/// Whether a domain's thread is in a run (read by a wake from another thread). One
/// per cache line pair: each thread of a parallel sweep writes its own twice a run,
/// and neighbours sharing a line would slow each other down.
#[repr(align(128))]
struct RunningFlag(AtomicBool);

static RUNNING: [RunningFlag; MAX_DOMAINS] =
    [const { RunningFlag(AtomicBool::new(false)) }; MAX_DOMAINS];

/// The tags no live thread holds, with the slot generations their last thread left.
struct Registry {
    free: Vec<(Domain, Vec<u32>)>,
    next: usize,
}

impl Registry {
    const fn new() -> Registry {
        Registry {
            free: Vec::new(),
            next: 1,
        }
    }

    /// A tag for a thread: one a thread gave back (with its generations), else a new
    /// one; panics when every tag is held.
    fn claim(&mut self) -> (Domain, Vec<u32>) {
        if let Some(freed) = self.free.pop() {
            return freed;
        }
        assert!(
            self.next < MAX_DOMAINS,
            "more than {} threads are running seedloop simulations at once: lower the \
             number of test threads (--test-threads) or SEEDLOOP_JOBS",
            MAX_DOMAINS - 1
        );
        let tag = self.next as Domain;
        self.next += 1;
        (tag, Vec::new())
    }

    /// Takes back a tag whose thread ended, with the generations its runs reached.
    fn release(&mut self, tag: Domain, generations: Vec<u32>) {
        self.free.push((tag, generations));
    }
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry::new());

/// This thread's domain: its tag, and the generation each slot of its runs reached.
struct DomainClaim {
    tag: Domain,
    generations: Vec<u32>,
}

impl Drop for DomainClaim {
    fn drop(&mut self) {
        let generations = std::mem::take(&mut self.generations);
        // A poisoned registry only means another thread panicked while claiming: the
        // data is still whole (every update is one push or pop).
        let mut registry = REGISTRY.lock().unwrap_or_else(|poison| poison.into_inner());
        registry.release(self.tag, generations);
    }
}

/// This thread's clone counts (see the module doc).
struct CloneCounts {
    // The domain of this thread, once claimed (0 before).
    domain: Domain,
    // By slot: the generation of the slot's task (high half) and how many clones of
    // its waker are held (low half).
    by_slot: Vec<u64>,
}

thread_local! {
    static CLAIM: RefCell<Option<DomainClaim>> = const { RefCell::new(None) };
    static CLONE_COUNTS: RefCell<CloneCounts> = const {
        RefCell::new(CloneCounts { domain: 0, by_slot: Vec::new() })
    };
}

/// Starts counting the clones of a new task's waker, from zero.
#[inline]
pub(crate) fn start_counting_clones(slot: u32, generation: u32) {
    let _ = CLONE_COUNTS.try_with(|counts| {
        let by_slot = &mut counts.borrow_mut().by_slot;
        if by_slot.len() <= slot as usize {
            by_slot.resize(slot as usize + 1, 0);
        }
        by_slot[slot as usize] = (generation as u64) << 32;
    });
}

/// Whether clones of the waker of the task in `(slot, generation)` are held.
pub(crate) fn clones_held(slot: u32, generation: u32) -> bool {
    CLONE_COUNTS
        .try_with(|counts| {
            let entry = counts.borrow().by_slot.get(slot as usize).copied();
            entry.is_some_and(|entry| entry >> 32 == generation as u64 && entry as u32 != 0)
        })
        .unwrap_or(false)
}

/// Counts a clone (`+1`) or the drop of one (`-1`), when the waker's task is of this
/// thread's domain and still the one in its slot.
#[inline]
fn count_clones(name: Name, delta: i32) {
    let _ = CLONE_COUNTS.try_with(|counts| {
        let mut counts = counts.borrow_mut();
        if counts.domain != name.domain {
            return;
        }
        if let Some(entry) = counts.by_slot.get_mut(name.slot as usize) {
            if *entry >> 32 == name.generation as u64 {
                let count = (*entry as u32).saturating_add_signed(delta);
                *entry = (name.generation as u64) << 32 | count as u64;
            }
        }
    });
}

fn claim() -> DomainClaim {
    let mut registry = REGISTRY.lock().unwrap_or_else(|poison| poison.into_inner());
    let (tag, generations) = registry.claim();
    DomainClaim { tag, generations }
}

/// This thread's domain tag (claimed on first use), and the slot generations its
/// earlier runs left, which the next run's slab continues from.
pub(crate) fn enter_domain() -> (Domain, Vec<u32>) {
    let (domain, generations) = CLAIM.with_borrow_mut(|claim_slot| {
        let claim = claim_slot.get_or_insert_with(claim);
        (claim.tag, std::mem::take(&mut claim.generations))
    });
    CLONE_COUNTS.with_borrow_mut(|counts| counts.domain = domain);
    (domain, generations)
}

/// Gives back the slot generations a run's slab reached (see [`enter_domain`]).
pub(crate) fn leave_domain(generations: Vec<u32>) {
    let _ = CLAIM.try_with(|claim| {
        if let Some(claim) = claim.borrow_mut().as_mut() {
            claim.generations = generations;
        }
    });
}

/// Marks whether `domain`'s thread is in a run (for wakes from other threads).
fn set_running(domain: Domain, running: bool) {
    RUNNING[domain as usize].0.store(running, Ordering::Release);
}

/// Marks a domain's thread as in a run until dropped (also when the run unwinds), so
/// that a wake from another thread can tell misuse (panic) from a late no-op.
pub(crate) struct Running(Domain);

impl Running {
    pub(crate) fn enter(domain: Domain) -> Running {
        set_running(domain, true);
        Running(domain)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        set_running(self.0, false);
    }
}

/// What every waker of a run carries: the run (for [`TaskWake`]) and the domain.
pub(crate) struct WakerOrigin {
    pub run_id: u64,
    pub domain: Domain,
}

/// A task's own wake-up, as seedloop's wait queues keep it instead of a clone of the
/// task's `Waker`: it names the task without reporting a clone (see the module doc),
/// so wait-cycle detection still knows that only seedloop can wake the task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TaskWake {
    pub run_id: u64,
    pub slot: u32,
    pub generation: u32,
}

impl TaskWake {
    /// Wakes the task, if its run is the one going on (else a no-op, like a waker of
    /// an ended run).
    pub(crate) fn wake(self) {
        context::try_with_current(|shared| {
            if shared.run_id() == self.run_id {
                shared.wake(self.slot, self.generation);
            }
        });
    }
}

/// How a resource (a wait queue, a socket) wakes a task that waits on it.
#[derive(Debug, Default)]
pub(crate) enum Wakeup {
    #[default]
    None,
    // Its task's own waker, kept as a handle (see [`TaskWake`]).
    Own(TaskWake),
    // A combinator's waker, or any waker outside a simulation.
    Foreign(Waker),
}

impl Wakeup {
    /// Wakes the task (looking the simulation up: for callers that do not hold it).
    pub(crate) fn wake(self) {
        match self {
            Wakeup::None => {}
            Wakeup::Own(wake) => wake.wake(),
            Wakeup::Foreign(waker) => waker.wake(),
        }
    }

    /// Wakes the task through `shared`, the simulation going on (no thread-local
    /// lookup for a task's own wake-up: the network's hot path). Must be called with
    /// no borrow held that a foreign waker could need.
    #[inline]
    pub(crate) fn wake_in(self, shared: &Shared) {
        match self {
            Wakeup::None => {}
            Wakeup::Own(wake) => {
                if shared.run_id() == wake.run_id {
                    shared.wake(wake.slot, wake.generation);
                }
            }
            Wakeup::Foreign(waker) => waker.wake(),
        }
    }

    /// Takes the wakeup out, leaving `None`.
    #[inline]
    pub(crate) fn take(&mut self) -> Wakeup {
        std::mem::take(self)
    }

    pub(crate) fn is_none(&self) -> bool {
        matches!(self, Wakeup::None)
    }
}

/// The task a waker's data word names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Name {
    domain: Domain,
    slot: u32,
    generation: u32,
}

impl Name {
    #[inline]
    fn encode(self) -> *const () {
        debug_assert!(
            (self.slot as u64) <= SLOT_MASK,
            "slot {} out of range",
            self.slot
        );
        debug_assert!(self.domain != 0 && (self.domain as u64) <= DOMAIN_MASK);
        let word =
            (self.generation as u64) << 32 | (self.domain as u64) << SLOT_BITS | self.slot as u64;
        std::ptr::without_provenance(word as usize)
    }

    #[inline]
    fn decode(data: *const ()) -> Name {
        let word = data.addr() as u64;
        Name {
            domain: ((word >> SLOT_BITS) & DOMAIN_MASK) as Domain,
            slot: (word & SLOT_MASK) as u32,
            generation: (word >> 32) as u32,
        }
    }
}

/// The waker of the task in `(slot, generation)` of a run in `domain`.
#[inline]
pub(crate) fn task_waker(domain: Domain, slot: u32, generation: u32) -> Waker {
    let data = Name {
        domain,
        slot,
        generation,
    }
    .encode();
    // SAFETY: `Waker::from_raw` requires that the vtable's functions uphold the
    // `RawWaker` contract for `data`, and that the waker may be used from any thread
    // (`Waker` is `Send + Sync`). `data` is a plain number carried in a pointer-sized
    // word with no provenance; no function of `VTABLE` ever dereferences it, so
    // each is sound for any value and on any thread. `clone_waker` returns the same
    // number with the same vtable (an equal waker); `wake_waker` and `wake_by_ref`
    // only decode the number and look the simulation up in a thread-local, so waking
    // twice, or after the task or the run ended, is harmless; `drop_waker` has
    // nothing to free (it only lowers a count, see the module doc), so dropping any
    // number of copies in any order is sound. The shared state the functions reach
    // (the registry's atomics, the thread-local simulation) is itself thread-safe or
    // thread-local.
    unsafe { Waker::from_raw(RawWaker::new(data, &VTABLE)) }
}

/// The generation named by `data`, the data word of a task waker.
#[inline]
pub(crate) fn generation_of(data: *const ()) -> u32 {
    Name::decode(data).generation
}

/// Whether `waker` is a task waker whose data word is `data` (the data of
/// [`task_waker`]'s waker for a task), and not, say, a combinator's waker around it.
#[inline]
pub(crate) fn is_task_waker(waker: &Waker, data: *const ()) -> bool {
    std::ptr::eq(waker.vtable(), &VTABLE) && waker.data() == data
}

/// The functions of every task waker. Safe functions: they never dereference `data`.
/// The executor's own waker for a poll is never dropped (`ManuallyDrop`): only
/// clones are counted.
static VTABLE: RawWakerVTable =
    RawWakerVTable::new(clone_waker, wake_waker, wake_by_ref, drop_waker);

fn clone_waker(data: *const ()) -> RawWaker {
    count_clones(Name::decode(data), 1);
    RawWaker::new(data, &VTABLE)
}

fn wake_waker(data: *const ()) {
    wake(Name::decode(data), true);
}

fn wake_by_ref(data: *const ()) {
    wake(Name::decode(data), false);
}

/// Wakes the task `name` names; `consumed` for a wake by value, which also drops a
/// clone.
#[inline]
fn wake(name: Name, consumed: bool) {
    let delivered = context::try_with_current(|shared| {
        if shared.domain() != name.domain {
            return false;
        }
        shared.wake(name.slot, name.generation);
        true
    });
    if consumed {
        count_clones(name, -1);
    }
    if delivered != Some(true) {
        woken_outside_its_thread(name);
    }
}

/// A wake that reached no simulation of its domain: a no-op, unless it came from
/// another thread while the task's thread is in a run (misuse: panic).
#[cold]
fn woken_outside_its_thread(name: Name) {
    let own_thread = CLAIM
        .try_with(|claim| {
            claim
                .try_borrow()
                .is_ok_and(|claim| claim.as_ref().is_some_and(|claim| claim.tag == name.domain))
        })
        .unwrap_or(false);
    if !own_thread && RUNNING[name.domain as usize].0.load(Ordering::Acquire) {
        panic!(
            "a seedloop task was woken from another thread: a simulation runs on one \
             thread, so its futures must not be driven by OS threads or another runtime; \
             use seedloop's own primitives inside the simulation"
        );
    }
    // Otherwise the task's run has ended (or the thread is between runs): a no-op.
}

fn drop_waker(data: *const ()) {
    count_clones(Name::decode(data), -1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clone_counts_follow_the_slots_task_and_never_go_below_zero() {
        // On a thread of its own: the counts are the thread's.
        std::thread::spawn(|| {
            let (domain, generations) = enter_domain();
            let name = |generation| Name {
                domain,
                slot: 5,
                generation,
            };
            start_counting_clones(5, 7);
            assert!(!clones_held(5, 7));
            // A drop of a clone that was never counted (made on another thread).
            count_clones(name(7), -1);
            assert!(!clones_held(5, 7), "no count below zero");
            count_clones(name(7), 1);
            count_clones(name(7), 1);
            count_clones(name(7), -1);
            assert!(clones_held(5, 7));
            // A clone of an earlier task of the slot counts for nothing.
            count_clones(name(6), -1);
            assert!(clones_held(5, 7));
            // Nor does one of another domain.
            count_clones(
                Name {
                    domain: domain % (MAX_DOMAINS as Domain - 1) + 1,
                    ..name(7)
                },
                -1,
            );
            assert!(clones_held(5, 7));
            count_clones(name(7), -1);
            assert!(!clones_held(5, 7));
            // The slot's next task starts from zero.
            count_clones(name(7), 1);
            start_counting_clones(5, 8);
            assert!(!clones_held(5, 8) && !clones_held(5, 7));
            leave_domain(generations);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_name_survives_its_encoding_at_every_field_limit() {
        for name in [
            Name {
                domain: 1,
                slot: 0,
                generation: 0,
            },
            Name {
                domain: (MAX_DOMAINS - 1) as Domain,
                slot: (MAX_SLOTS - 1) as u32,
                generation: u32::MAX,
            },
            Name {
                domain: 517,
                slot: 12_345,
                generation: 0x8000_0001,
            },
        ] {
            assert_eq!(Name::decode(name.encode()), name);
        }
    }

    #[test]
    fn clones_of_a_waker_outside_a_run_are_equal_and_inert() {
        let waker = task_waker(3, 7, 9);
        let clone = waker.clone();
        assert!(clone.will_wake(&waker));
        assert!(!task_waker(3, 7, 10).will_wake(&waker));
        // No simulation on this thread, and domain 3 is not in a run: no-ops.
        clone.wake_by_ref();
        clone.wake();
        drop(waker);
    }

    #[test]
    fn a_wake_from_another_thread_panics_only_while_the_domain_is_in_a_run() {
        let (domain, generations) = enter_domain();
        let waker = task_waker(domain, 0, 0);
        let wake_elsewhere = |waker: Waker| std::thread::spawn(move || waker.wake()).join();
        assert!(
            wake_elsewhere(waker.clone()).is_ok(),
            "between runs: a no-op"
        );
        set_running(domain, true);
        let outcome = wake_elsewhere(waker.clone());
        set_running(domain, false);
        leave_domain(generations);
        assert!(
            outcome.is_err(),
            "during a run: a panic in the waking thread"
        );
        // On its own thread, outside a run, the same waker does nothing.
        waker.wake();
    }

    #[test]
    fn a_tag_given_back_comes_back_with_its_generations() {
        // The registry's own rules, on a registry of the test's own (the global one
        // is shared with every thread of the test binary).
        let mut registry = Registry::new();
        let (first, generations) = registry.claim();
        assert_eq!((first, generations.len()), (1, 0));
        let (second, _) = registry.claim();
        assert_eq!(second, 2);
        registry.release(first, vec![0, 0, 0, 41]);
        let (again, generations) = registry.claim();
        assert_eq!(again, first, "a freed tag is handed out before a new one");
        assert_eq!(generations, vec![0, 0, 0, 41]);
        assert_eq!(registry.claim().0, 3);
    }

    #[test]
    fn every_tag_held_is_a_clear_panic() {
        let mut registry = Registry::new();
        for _ in 1..MAX_DOMAINS {
            registry.claim();
        }
        let panic = std::panic::catch_unwind(move || registry.claim()).unwrap_err();
        let message = panic.downcast_ref::<String>().expect("a formatted message");
        assert!(message.contains("--test-threads"), "{message}");
    }

    #[test]
    fn a_run_that_unwinds_leaves_its_domain_between_runs() {
        let (domain, generations) = enter_domain();
        let waker = task_waker(domain, 0, 0);
        let unwound = std::panic::catch_unwind(|| {
            let _running = Running::enter(domain);
            panic!("the run unwinds");
        });
        assert!(unwound.is_err());
        let woken = std::thread::spawn(move || waker.wake()).join();
        leave_domain(generations);
        assert!(woken.is_ok(), "after an unwound run: a no-op, not a panic");
    }
}
