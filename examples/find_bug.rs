//! Finding a concurrency bug that the production order never shows, then replaying it.
//!
//! `cargo run --release --example find_bug`
//!
//! A tiny async bank has a check-then-act bug: `transfer` checks the balance, awaits a
//! fraud-check RPC, and only then debits, so two transfers from one account can both
//! pass the check and overdraw it. The test below is the kind you would write with
//! tokio or asyncio: Alice pays her rent, and 20 ms later (exactly when the fraud
//! check answers) she pays for groceries.
//!
//! In asyncio terms:
//!
//! ```python
//! async def transfer(bank, src, dst, amount):
//!     if bank[src] < amount:          # check
//!         raise Declined()
//!     await fraud_check(src, amount)  # other tasks run here
//!     bank[src] -= amount             # act, on a stale check
//!     bank[dst] += amount
//!
//! async def main():
//!     rent = asyncio.create_task(transfer(bank, 'alice', 'landlord', 80))
//!     await asyncio.sleep(0.020)
//!     groceries = asyncio.create_task(transfer(bank, 'alice', 'grocer', 50))
//!     await asyncio.gather(rent, groceries, return_exceptions=True)
//!     assert all(balance >= 0 for balance in bank.values())
//! ```
//!
//! At +20 ms two things are ready at once: the rent transfer (its fraud check just
//! answered) and the new groceries request. A FIFO event loop (asyncio, tokio's
//! current-thread runtime, seedloop's `Policy::Fifo`) always runs the rent transfer's
//! debit before the groceries check, so the test passes, every time. seedloop's
//! seeded policies also try the other orders, and one of them overdraws the account.
//!
//! The demo, step by step:
//!
//! 1. under `Policy::Fifo`, the production order, the test passes;
//! 2. a sweep over seeds `0..1000` finds a failing seed and prints its report;
//! 3. replaying that seed (`failure.sim()`) or its recorded task order
//!    (`Policy::Replay(failure.schedule)`) reproduces the failure, event for event;
//! 4. the fixed `transfer` passes the same 1000 seeds.
//!
//! The failing assertion panics inside the simulation; seedloop catches the panic and
//! turns it into a `Failure`, but Rust's default panic hook still prints a
//! `thread 'main' panicked at ...` line to stderr for each failing run (three of them
//! here: the sweep's and the two replays'). That is expected.

use seedloop::harness::env::EnvConfig;
use seedloop::task::Builder;
use seedloop::time::{sleep, Instant};
use seedloop::{Check, Policy, Sim};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

/// How long the fraud-check RPC takes (virtual time).
const FRAUD_CHECK: Duration = Duration::from_millis(20);

/// A bank with a few accounts and a journal of what happened, for printing.
struct Bank {
    accounts: RefCell<Vec<(&'static str, i64)>>,
    journal: Journal,
}

/// Lines describing the run, kept outside the simulation so they survive a failure.
type Journal = Rc<RefCell<Vec<String>>>;

#[derive(Debug)]
struct Declined;

impl Bank {
    fn new(journal: Journal) -> Rc<Bank> {
        let accounts = vec![("alice", 100), ("landlord", 0), ("grocer", 0)];
        Rc::new(Bank {
            accounts: RefCell::new(accounts),
            journal,
        })
    }

    fn index(&self, name: &str) -> usize {
        let accounts = self.accounts.borrow();
        accounts.iter().position(|(n, _)| *n == name).unwrap()
    }

    fn balance(&self, name: &str) -> i64 {
        self.accounts.borrow()[self.index(name)].1
    }

    fn add(&self, name: &str, amount: i64) {
        let index = self.index(name);
        self.accounts.borrow_mut()[index].1 += amount;
    }

    fn total(&self) -> i64 {
        self.accounts
            .borrow()
            .iter()
            .map(|(_, balance)| balance)
            .sum()
    }

    /// Journals `what`, stamped with the virtual time and the running task's name.
    fn log(&self, what: String) {
        let task = seedloop::task::current();
        let who = task.name().unwrap_or("?");
        let line = format!("[{:>6}] {who:<9} {what}", Instant::now().to_string());
        self.journal.borrow_mut().push(line);
    }
}

/// Stands for an RPC to a fraud-detection service: other tasks run while it is pending.
async fn fraud_check(_from: &str, _amount: i64) {
    sleep(FRAUD_CHECK).await;
}

/// The buggy transfer: check, await, act.
async fn transfer(bank: Rc<Bank>, from: &str, to: &str, amount: i64) -> Result<(), Declined> {
    let balance = bank.balance(from);
    if balance < amount {
        bank.log(format!("{from} has {balance} < {amount}: declined"));
        return Err(Declined);
    }
    bank.log(format!(
        "{from} has {balance} >= {amount}: ok, fraud check..."
    ));
    fraud_check(from, amount).await; // BUG: the balance may change while we wait
    bank.add(from, -amount);
    bank.add(to, amount);
    bank.log(format!(
        "moved {amount} {from} -> {to}; {from} now has {}",
        bank.balance(from)
    ));
    Ok(())
}

/// The fixed transfer: the check and the debit run with no await in between, so no
/// other task can run between them (the simulation is single-threaded, like asyncio).
async fn transfer_fixed(bank: Rc<Bank>, from: &str, to: &str, amount: i64) -> Result<(), Declined> {
    bank.log(format!("fraud check for {amount} from {from}..."));
    fraud_check(from, amount).await;
    let balance = bank.balance(from);
    if balance < amount {
        bank.log(format!("{from} has {balance} < {amount}: declined"));
        return Err(Declined);
    }
    bank.add(from, -amount);
    bank.add(to, amount);
    bank.log(format!(
        "moved {amount} {from} -> {to}; {from} now has {}",
        bank.balance(from)
    ));
    Ok(())
}

#[derive(Clone, Copy)]
enum Version {
    Buggy,
    Fixed,
}

/// The test program. Every run below (production order, sweep, replays) runs exactly
/// this, so a failing seed reproduces.
async fn program(version: Version, journal: Journal) {
    let bank = Bank::new(journal);
    let total = bank.total();
    let pay = |name: &str, to: &'static str, amount: i64| {
        let bank = bank.clone();
        Builder::new().name(name).spawn(async move {
            match version {
                Version::Buggy => transfer(bank, "alice", to, amount).await,
                Version::Fixed => transfer_fixed(bank, "alice", to, amount).await,
            }
        })
    };

    let rent = pay("rent", "landlord", 80);
    sleep(FRAUD_CHECK).await; // the next request arrives 20 ms later
    let groceries = pay("groceries", "grocer", 50);

    // A declined payment is fine; a task that was cancelled or panicked is not.
    let _ = rent.await.expect("rent task failed");
    let _ = groceries.await.expect("groceries task failed");

    // The invariants: nobody is overdrawn, and no money was created or destroyed.
    for (name, balance) in bank.accounts.borrow().iter() {
        assert!(*balance >= 0, "{name} is overdrawn: balance {balance}");
    }
    assert_eq!(bank.total(), total, "money was created or destroyed");
}

fn print_journal(journal: &Journal) {
    for line in journal.borrow().iter() {
        println!("    {line}");
    }
}

fn main() {
    let wall = std::time::Instant::now();

    println!("== 1. The production order (Policy::Fifo): the test passes ==");
    let journal = Journal::default();
    let mut sim = Sim::new(0).policy(Policy::Fifo);
    sim.run(program(Version::Buggy, journal.clone()))
        .expect("the production order hides the bug");
    print_journal(&journal);
    println!("    passed: rent went through, groceries were declined, nobody is overdrawn");
    // Fifo ignores the seed, so sweeping it only runs the same order again and again.
    let summary = Check::new()
        .seeds(0..1000)
        .policy(Policy::Fifo)
        .name("find_bug_fifo")
        // The replay line's SEEDLOOP_* variables are for the bug hunt in step 2 only.
        .env(EnvConfig::default())
        .try_run(|| program(Version::Buggy, Journal::default()))
        .expect("the production order hides the bug under every seed");
    println!(
        "    and under Policy::Fifo all seeds {:?} pass: a FIFO test suite never sees it\n",
        summary.seeds
    );

    println!(
        "== 2. A seed sweep (the default portfolio of policies, seeds 0..1000) finds the bug =="
    );
    let seeds = 0..1000;
    let mut runs = 0;
    let failure = Check::new()
        .seeds(seeds.clone())
        .name("find_bug")
        .replay_command("cargo run --release --example find_bug")
        .try_run(|| {
            runs += 1;
            program(Version::Buggy, Journal::default())
        })
        .expect_err("some seed runs the groceries check before the rent debit");
    // The sweep runs its first seed twice, to check that the program is deterministic.
    println!(
        "    seed {} failed, after {runs} run(s) of the program (a passing first seed runs twice, to check determinism)",
        failure.seed
    );
    // The full report: what failed, where, the last trace events, and the replay line,
    // which re-runs this program with the SEEDLOOP_* variables that the sweep honours.
    println!("\n{failure}\n");

    println!("== 3. Replaying the failing seed ==");
    // failure.sim() is a Sim built from the failing run's whole configuration
    // (failure.config: seed, policy and every other knob).
    let journal = Journal::default();
    let mut replay = failure.sim();
    let again = replay
        .run(program(Version::Buggy, journal.clone()))
        .expect_err("the failing seed fails again");
    println!("    what happened in seed {}:", failure.seed);
    print_journal(&journal);
    println!("    failed again: {}", again.kind);
    let (original, replayed) = (failure.trace.hash(), replay.trace().hash());
    println!("    trace hash of the sweep's run: {original:016x}");
    println!("    trace hash of the replay:      {replayed:016x}");
    assert_eq!(original, replayed);
    assert_eq!(failure.trace.to_string(), replay.trace().to_string());
    println!(
        "    identical: same hash, same {} trace events, line for line",
        replay.trace().len()
    );

    // Policy::Replay runs the recorded task order (and timer-tie decisions), whatever
    // seed or policy made it: the seed given to Sim::new is not used.
    let mut by_schedule = Sim::new(0).policy(Policy::Replay(failure.schedule.clone()));
    let again = by_schedule
        .run(program(Version::Buggy, Journal::default()))
        .expect_err("the recorded schedule fails again");
    println!(
        "\n    Policy::Replay({} recorded steps): failed again: {}",
        failure.schedule.len(),
        again.kind
    );
    assert_eq!(by_schedule.trace().hash(), original);
    assert_eq!(by_schedule.trace().to_string(), failure.trace.to_string());
    println!(
        "    trace hash {:016x}: identical",
        by_schedule.trace().hash()
    );
    println!();

    println!("== 4. The fixed transfer passes the same 1000 seeds ==");
    let summary = Check::new()
        .seeds(seeds.clone())
        .name("find_bug_fixed")
        .env(EnvConfig::default())
        .try_run(|| program(Version::Fixed, Journal::default()))
        .unwrap_or_else(|failure| panic!("the fix is incomplete:\n{failure}"));
    println!(
        "    seeds {:?} passed ({} scheduling steps in all, policy {})",
        summary.seeds, summary.steps, summary.policy
    );
    let journal = Journal::default();
    failure
        .sim()
        .run(program(Version::Fixed, journal.clone()))
        .expect("the fix holds on the seed that failed");
    println!("    the fixed transfer on seed {}:", failure.seed);
    print_journal(&journal);

    println!("\nall of the above took {:?} of real time", wall.elapsed());
}
