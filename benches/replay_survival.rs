//! Replays that survive edits: after a small edit of a buggy program (a log line, an
//! unrelated await, one more task), how often does replaying a failure found before
//! the edit still reach the same bug, by its seed and by its recorded schedule?
//!
//! `cargo bench --bench replay_survival`
//!
//! For each bug program, the first 100 failing seeds under `Policy::Random` are found
//! on the unedited program. Each edit of the program is then run under each of those
//! seeds (seed replay: `Sim::new(seed)`) and under each failure's recorded schedule
//! (schedule replay: `Policy::Replay(failure.schedule)`, which goes on under the seed
//! where the schedule no longer fits). A replay counts when it fails with the same
//! panic, at the same place. The table shows the share of the 100 that did, for
//! schedule replay how many of the runs reported a divergence, and as a baseline how
//! often any seed of the edited program shows the bug (1,000 other seeds): a replay is
//! worth something where it beats that.

use seedloop::{Failure, FailureKind, Policy, Sim};
use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

const FAILURES: usize = 100;
/// Seeds run to measure how often the edited program fails by chance.
const BASELINE_SEEDS: u64 = 1_000;

/// The edits, as someone probing a bug makes them.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Edit {
    None,
    /// A log line: no await, no scheduling change.
    LogLine,
    /// Main yields once before it starts the tasks.
    AwaitInMain,
    /// The first task yields once before its work.
    AwaitInTask,
    /// Main sleeps 1 ms of virtual time before it starts the tasks.
    SleepInMain,
    /// One more task, unrelated to the bug, spawned first.
    ExtraTask,
}

const EDITS: [(Edit, &str); 5] = [
    (Edit::LogLine, "a log line"),
    (Edit::AwaitInMain, "an await in main"),
    (Edit::AwaitInTask, "an await in a task"),
    (Edit::SleepInMain, "a 1 ms sleep in main"),
    (Edit::ExtraTask, "one more task"),
];

type Program = Pin<Box<dyn Future<Output = ()>>>;
/// A bug program, given the edit to make.
type Edited = fn(Edit) -> Program;

/// What every program does first, per edit.
async fn prologue(edit: Edit, log: &Rc<Cell<u32>>) {
    match edit {
        Edit::LogLine => log.set(log.get() + 1),
        Edit::AwaitInMain => seedloop::yield_now().await,
        Edit::SleepInMain => seedloop::time::sleep(Duration::from_millis(1)).await,
        Edit::ExtraTask => drop(seedloop::spawn(async {
            seedloop::yield_now().await;
        })),
        Edit::None | Edit::AwaitInTask => {}
    }
}

/// What the first task does first, per edit.
async fn task_prologue(edit: Edit, first: bool) {
    if edit == Edit::AwaitInTask && first {
        seedloop::yield_now().await;
    }
}

/// Rent is paid at once, groceries 20 ms later, exactly when rent's fraud check (an
/// RPC of 20 ms) answers: each transfer checks the balance, awaits the check, then
/// debits. The FIFO order debits the rent first; some seeds run the groceries' check
/// first (the bug of `examples/find_bug.rs`).
fn overdraft(edit: Edit) -> Program {
    Box::pin(async move {
        let log = Rc::new(Cell::new(0));
        prologue(edit, &log).await;
        let balance = Rc::new(Cell::new(100i64));
        let transfer = |amount: i64, first: bool| {
            let balance = balance.clone();
            seedloop::spawn(async move {
                task_prologue(edit, first).await;
                if balance.get() >= amount {
                    seedloop::time::sleep(Duration::from_millis(20)).await;
                    balance.set(balance.get() - amount);
                }
            })
        };
        let rent = transfer(80, true);
        seedloop::time::sleep(Duration::from_millis(20)).await;
        let groceries = transfer(50, false);
        rent.await.unwrap();
        groceries.await.unwrap();
        assert!(balance.get() >= 0, "overdrawn");
    })
}

/// Two tasks read, yield, then write a counter, three times each.
fn lost_update(edit: Edit) -> Program {
    Box::pin(async move {
        let log = Rc::new(Cell::new(0));
        prologue(edit, &log).await;
        let counter = Rc::new(Cell::new(0));
        let handles: Vec<_> = (0..2)
            .map(|index| {
                let counter = counter.clone();
                seedloop::spawn(async move {
                    task_prologue(edit, index == 0).await;
                    for _ in 0..3 {
                        let read = counter.get();
                        seedloop::yield_now().await;
                        counter.set(read + 1);
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
        assert_eq!(counter.get(), 6, "lost update");
    })
}

/// A checker must see the worker between its two steps (a depth-2 ordering bug).
fn mid_update(edit: Edit) -> Program {
    Box::pin(async move {
        let log = Rc::new(Cell::new(0));
        prologue(edit, &log).await;
        let busy = Rc::new(Cell::new(false));
        let worker_busy = busy.clone();
        let worker = seedloop::spawn(async move {
            task_prologue(edit, true).await;
            worker_busy.set(true);
            seedloop::yield_now().await;
            worker_busy.set(false);
        });
        let checker = seedloop::spawn(async move {
            for _ in 0..2 {
                seedloop::yield_now().await;
            }
            assert!(!busy.get(), "observed the worker mid-update");
        });
        worker.await.unwrap();
        checker.await.unwrap();
    })
}

/// Three tasks pass a token around a ring of locks; two take theirs in opposite order.
fn lock_inversion(edit: Edit) -> Program {
    Box::pin(async move {
        let log = Rc::new(Cell::new(0));
        prologue(edit, &log).await;
        let (a, b) = (
            Rc::new(seedloop::sync::Lock::new(())),
            Rc::new(seedloop::sync::Lock::new(())),
        );
        let mut handles = Vec::new();
        for (index, (first, second)) in [(a.clone(), b.clone()), (b.clone(), a.clone())]
            .into_iter()
            .enumerate()
        {
            handles.push(seedloop::spawn(async move {
                task_prologue(edit, index == 0).await;
                let _one = first.lock().await;
                seedloop::yield_now().await;
                let _two = second.lock().await;
            }));
        }
        for handle in handles {
            handle.await.unwrap();
        }
    })
}

/// The same bug: the same kind, and for a panic the same place.
fn same_bug(a: &FailureKind, b: &FailureKind) -> bool {
    match (a, b) {
        (FailureKind::Panic { location: x, .. }, FailureKind::Panic { location: y, .. }) => x == y,
        _ => a.name() == b.name(),
    }
}

fn failures(program: Edited) -> Vec<Failure> {
    (0..)
        .filter_map(|seed| Sim::new(seed).run(program(Edit::None)).err())
        .take(FAILURES)
        .collect()
}

fn main() {
    std::panic::set_hook(Box::new(|_| {}));
    let programs: [(&str, Edited); 4] = [
        ("overdraft at +20 ms (find_bug)", overdraft),
        ("lost update (2 tasks x 3)", lost_update),
        ("depth-2 ordering bug", mid_update),
        ("lock-order inversion", lock_inversion),
    ];
    println!(
        "replays that survive an edit: the share of {FAILURES} failures found before the edit that a replay reaches again after it\n"
    );
    println!(
        "  {:<34} {:<22} {:>12} {:>16} {:>10} {:>12}",
        "program", "edit", "seed replay", "schedule replay", "diverged", "any seed"
    );
    for (name, program) in programs {
        let found = failures(program);
        for (edit, label) in EDITS {
            let (mut by_seed, mut by_schedule, mut diverged) = (0, 0, 0);
            for failure in &found {
                if let Err(again) = Sim::new(failure.seed).run(program(edit)) {
                    by_seed += usize::from(same_bug(&failure.kind, &again.kind));
                }
                let mut replay =
                    Sim::new(failure.seed).policy(Policy::Replay(failure.schedule.clone()));
                if let Err(again) = replay.run(program(edit)) {
                    by_schedule += usize::from(same_bug(&failure.kind, &again.kind));
                }
                diverged += usize::from(replay.stats().divergence.is_some());
            }
            // The baseline: how often any seed of the edited program shows the bug.
            let reference = &found[0].kind;
            let any_seed = (0..BASELINE_SEEDS)
                .filter(|seed| {
                    Sim::new(seed + 1_000_000)
                        .run(program(edit))
                        .is_err_and(|failure| same_bug(reference, &failure.kind))
                })
                .count();
            let percent = |count: usize, of: usize| format!("{}%", count * 100 / of);
            println!(
                "  {:<34} {:<22} {:>12} {:>16} {:>10} {:>12}",
                name,
                label,
                percent(by_seed, found.len()),
                percent(by_schedule, found.len()),
                percent(diverged, found.len()),
                percent(any_seed, BASELINE_SEEDS as usize)
            );
        }
    }
}
