//! Finding a cancel-unsafe await with the cancellation explorer, then fixing it.
//!
//! `cargo run --release --example cancel_explorer`
//!
//! In asyncio a task can be cancelled at any `await` (a `timeout` expires, a sibling in
//! a `TaskGroup` fails, the caller is cancelled), and code that changes state before an
//! await and repairs it after breaks when the cancellation lands in between:
//!
//! ```python
//! async def transfer(bank, src, dst, amount):
//!     await audit.write(f"begin {amount} {src} -> {dst}")  # await point 1
//!     bank[src] -= amount
//!     await audit.write(f"withdrew {amount} from {src}")   # await point 2: if cancelled
//!     bank[dst] += amount                                  #   here, the money is gone
//!     await audit.write(f"deposited {amount} to {dst}")    # await point 3
//!
//! async def main():
//!     try:
//!         async with asyncio.timeout(0.012):
//!             await transfer(bank, 'alice', 'bob', 30)
//!     except TimeoutError:
//!         pass
//!     assert sum(bank.values()) == 100
//! ```
//!
//! Whether that test fails depends on the timeout matching the one bad await. A Rust
//! future has the same hazard: cancelling a task drops its future at the await where
//! it is suspended, and the code after that await never runs.
//!
//! seedloop's cancellation explorer (`CancelExplorer`, `explore_cancellation`) does not
//! wait for luck: it runs the scenario once to count the awaits of the task it targets
//! (by name), then reruns it from the same seed, cancelling the target at await point
//! 1, then 2, and so on. One seed is one execution, so "await point k" names one place
//! in the program, and the first k at which the scenario's assertions fail is reported
//! with a replay line (`SEEDLOOP_CANCEL_AT=k`).
//!
//! The demo:
//!
//! 1. the explorer finds the cancel-unsafe `transfer` at its await point 2, prints the
//!    report, and the failure replays;
//! 2. two cancel-safe fixes pass at every await point: a `Drop` guard that rolls the
//!    withdrawal back (asyncio's `except CancelledError:`), and doing both updates
//!    after the await, with no await between them.
//!
//! The failing assertion panics inside the simulation; seedloop catches the panic and
//! turns it into a `Failure`, but Rust's default panic hook still prints a
//! `thread 'main' panicked at ...` line to stderr for each failing run (two of them
//! here: the explorer's and the replay's). That is expected.

use seedloop::harness::env::EnvConfig;
use seedloop::task::Builder;
use seedloop::time::{sleep, Instant};
use seedloop::{CancelExplorer, Policy};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

/// How long one audit-log write takes (virtual time).
const AUDIT_WRITE: Duration = Duration::from_millis(5);

/// Lines describing a run, kept outside the simulation so they survive a failure.
type Journal = Rc<RefCell<Vec<String>>>;

/// Two accounts and a journal.
struct Bank {
    alice: RefCell<i64>,
    bob: RefCell<i64>,
    journal: Journal,
}

impl Bank {
    fn new(journal: Journal) -> Rc<Bank> {
        Rc::new(Bank {
            alice: RefCell::new(100),
            bob: RefCell::new(0),
            journal,
        })
    }

    fn balances(&self) -> (i64, i64) {
        (*self.alice.borrow(), *self.bob.borrow())
    }

    fn log(&self, what: impl Into<String>) {
        let line = format!("[{:>6}] {}", Instant::now().to_string(), what.into());
        self.journal.borrow_mut().push(line);
    }

    /// Stands for a write to an audit log: other tasks run, and a cancellation can
    /// land, while it is pending.
    async fn audit(&self, what: &str) {
        sleep(AUDIT_WRITE).await;
        self.log(format!("audit: {what}"));
    }
}

/// The cancel-unsafe transfer: withdraw, await, deposit.
async fn transfer(bank: Rc<Bank>, amount: i64) {
    bank.audit("begin alice -> bob").await; // await point 1
    *bank.alice.borrow_mut() -= amount;
    bank.audit("withdrew from alice").await; // await point 2: BUG, cancelled here the money is gone
    *bank.bob.borrow_mut() += amount;
    bank.audit("deposited to bob").await; // await point 3
}

/// Rolls the withdrawal back if the transfer is dropped before the deposit.
struct Refund {
    bank: Rc<Bank>,
    amount: i64,
    armed: bool,
}

impl Drop for Refund {
    fn drop(&mut self) {
        if self.armed {
            // Runs inside the simulation, at the virtual time of the cancellation.
            *self.bank.alice.borrow_mut() += self.amount;
            self.bank.log("transfer cancelled: withdrawal rolled back");
        }
    }
}

/// Fix 1: the same steps, with a guard that undoes the withdrawal when dropped early.
async fn transfer_with_rollback(bank: Rc<Bank>, amount: i64) {
    bank.audit("begin alice -> bob").await;
    *bank.alice.borrow_mut() -= amount;
    let mut refund = Refund {
        bank: bank.clone(),
        amount,
        armed: true,
    };
    bank.audit("withdrew from alice").await; // a cancellation here runs the refund
    *bank.bob.borrow_mut() += amount;
    refund.armed = false;
    bank.audit("deposited to bob").await;
}

/// Fix 2: no await between the two updates, so no cancellation between them.
async fn transfer_atomic(bank: Rc<Bank>, amount: i64) {
    bank.audit("begin alice -> bob").await;
    bank.audit("moving alice -> bob").await;
    *bank.alice.borrow_mut() -= amount;
    *bank.bob.borrow_mut() += amount;
    bank.audit("moved alice -> bob").await;
}

#[derive(Clone, Copy, Debug)]
enum Version {
    Unsafe,
    Rollback,
    Atomic,
}

/// The scenario: spawn the transfer as the task named "transfer", wait for it
/// (cancelled or not), then check the invariants. The explorer reruns exactly this.
async fn scenario(version: Version, journal: Journal) {
    let bank = Bank::new(journal);
    let task = Builder::new().name("transfer").spawn({
        let bank = bank.clone();
        async move {
            match version {
                Version::Unsafe => transfer(bank, 30).await,
                Version::Rollback => transfer_with_rollback(bank, 30).await,
                Version::Atomic => transfer_atomic(bank, 30).await,
            }
        }
    });
    match task.await {
        Ok(()) => bank.log("transfer completed"),
        Err(error) => {
            assert!(error.is_cancelled(), "transfer ended with {error}");
            bank.log("transfer was cancelled");
        }
    }
    // The invariants: no money created or destroyed, and all or nothing.
    let (alice, bob) = bank.balances();
    bank.log(format!("balances: alice {alice}, bob {bob}"));
    assert_eq!(alice + bob, 100, "money was created or destroyed");
    assert!(
        (alice, bob) == (100, 0) || (alice, bob) == (70, 30),
        "half a transfer: alice {alice}, bob {bob}"
    );
}

fn print_journal(journal: &Journal) {
    for line in journal.borrow().iter() {
        println!("    {line}");
    }
}

fn main() {
    println!("== 1. The explorer finds where cancelling `transfer` loses money ==");
    let mut runs = 0;
    let failure = CancelExplorer::new("transfer")
        .name("cancel_explorer")
        .replay_command("cargo run --release --example cancel_explorer")
        .try_run(|| {
            runs += 1;
            scenario(Version::Unsafe, Journal::default())
        })
        .expect_err("cancelling between the withdrawal and the deposit loses money");
    // Runs: a baseline, its determinism check, then await point 1 (passes) and 2.
    println!("    found after {runs} runs of the scenario\n");
    println!("{failure}\n");
    assert!(failure.is_panic());
    let point = failure.cancel_point.as_ref().expect("a cancel point");
    assert_eq!(
        (point.task.as_str(), point.await_point),
        ("transfer", 2),
        "the unsafe window is the audit write between the withdrawal and the deposit"
    );
    let site = point
        .site
        .as_deref()
        .expect("the audit write is a seedloop sleep");
    assert!(site.starts_with("examples/cancel_explorer.rs:"), "{site}");
    assert!(failure
        .replay_command()
        .ends_with("SEEDLOOP_CANCEL_AT=2 cargo run --release --example cancel_explorer"));

    println!("== What happened at await point 2 (failure.sim() replays it) ==");
    let journal = Journal::default();
    let mut replay = failure.sim();
    let again = replay
        .run(scenario(Version::Unsafe, journal.clone()))
        .expect_err("the failing cancellation fails again");
    print_journal(&journal);
    println!("    failed again: {}", again.kind);
    assert_eq!(replay.trace().hash(), failure.trace.hash());
    assert_eq!(replay.trace().to_string(), failure.trace.to_string());
    println!(
        "    trace hash {:016x}: identical to the explorer's run",
        replay.trace().hash()
    );
    // Cancelled during the audit write that began at +5ms: the withdrawal happened,
    // the deposit never did.
    let lines = journal.borrow();
    assert_eq!(lines[0], "[  +5ms] audit: begin alice -> bob");
    assert_eq!(lines[1], "[  +5ms] transfer was cancelled");
    assert_eq!(lines[2], "[  +5ms] balances: alice 70, bob 0");
    drop(lines);

    println!("\n== 2. The fixes pass at every await point ==");
    for version in [Version::Rollback, Version::Atomic] {
        // The replay line's SEEDLOOP_* variables are for the bug hunt in step 1 only.
        let summary = CancelExplorer::new("transfer")
            .env(EnvConfig::default())
            .try_run(|| scenario(version, Journal::default()))
            .unwrap_or_else(|failure| panic!("{version:?} is not cancel-safe:\n{failure}"));
        println!(
            "    {version:?}: seeds {:?}, policy {}, await points {:?}, {} runs: all passed",
            summary.seeds, summary.policy, summary.await_points, summary.runs
        );
        assert_eq!(summary.await_points, [3]);
        // And under seeded random schedules.
        let summary = CancelExplorer::new("transfer")
            .seeds(0..50)
            .policy(Policy::Random)
            .env(EnvConfig::default())
            .try_run(|| scenario(version, Journal::default()))
            .unwrap_or_else(|failure| panic!("{version:?} is not cancel-safe:\n{failure}"));
        println!(
            "    {version:?}: seeds {:?}, policy {}, {} runs: all passed",
            summary.seeds, summary.policy, summary.runs
        );
    }

    println!("\n== The rollback at await point 2 ==");
    let journal = Journal::default();
    failure
        .sim()
        .run(scenario(Version::Rollback, journal.clone()))
        .expect("the fix holds where the bug was");
    print_journal(&journal);
    assert!(journal
        .borrow()
        .iter()
        .any(|line| line.ends_with("balances: alice 100, bob 0")));
}
