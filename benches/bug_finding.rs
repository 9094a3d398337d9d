//! Bug-finding power: for programs with a known concurrency bug, how many seeds a sweep
//! runs until its first failure, per policy, beside shuttle's schedulers.
//!
//! `cargo bench --bench bug_finding` (`-- --windows 5` for a quicker, rougher run;
//! `-- --only nested` for the programs whose name contains `nested`; `-- --no-shuttle`
//! for the seedloop columns alone)
//!
//! Each policy sweeps 20 disjoint windows of seeds (window `w` starts at seed
//! `w * 1_000_000`; each window is one `Check`, so a fitted PCT horizon is measured on
//! the window's first seed) and stops at the first failure. The table shows the
//! median over the windows and, in parentheses, the worst window, in seeds run;
//! "never" means no failure within the cap (a median of "never": more than half the
//! windows found nothing). The default is `Check::new()` with no policy: the
//! portfolio. `Fifo` runs the same execution under every seed (these programs draw no
//! randomness), so its windows stop after 10 seeds. shuttle runs the programs it can
//! express (it has no virtual clock and no task groups, and no async queue or
//! condition: the lost wakeup uses a hand-written one-shot notification instead), one
//! `Runner` per window, seeded with the window's start, counting the iterations until
//! its first failure (its PCT spends its first iteration measuring the program).
//!
//! The bench ends with the portfolio's goals: on every program, its median within 2x
//! of the best single seedloop policy's, and the nested preemption within a median of
//! 300 seeds.

#[path = "../tests/common/bug_programs.rs"]
mod bug_programs;

use bug_programs::{BugProgram, ALL};
use seedloop::{Check, Policy};

/// The schedule budget of the exhaustive column.
const EXHAUSTIVE_BUDGET: u64 = 50_000;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The most seeds a window runs.
const CAP: u64 = 50_000;
/// The most seeds a `Fifo` window runs: every seed is the same execution.
const FIFO_CAP: u64 = 10;
const WINDOW_STRIDE: u64 = 1_000_000;

/// A column of the table.
#[derive(Clone)]
enum Column {
    /// `Check::new()` with no policy: the portfolio.
    Default,
    Seedloop(Policy),
    ShuttleRandom,
    ShuttlePct(usize),
}

impl Column {
    fn label(&self) -> String {
        match self {
            Column::Default => "default (portfolio)".to_string(),
            Column::Seedloop(Policy::Pct { depth }) => format!("PCT({depth})"),
            Column::Seedloop(policy) => {
                let name = policy.to_string();
                name[..1].to_uppercase() + &name[1..]
            }
            Column::ShuttleRandom => "shuttle random".to_string(),
            Column::ShuttlePct(depth) => format!("shuttle PCT({depth})"),
        }
    }

    /// Whether the column is one of the single policies the goal compares the
    /// default with: Fifo, Random and PCT of depths 1 to 3 (`all`: also the
    /// portfolio's own deeper PCT member).
    fn is_compared_single_policy(&self, all: bool) -> bool {
        match self {
            Column::Seedloop(Policy::Pct { depth }) => all || *depth <= 3,
            Column::Seedloop(_) => true,
            _ => false,
        }
    }
}

fn columns() -> Vec<Column> {
    vec![
        Column::Default,
        Column::Seedloop(Policy::Fifo),
        Column::Seedloop(Policy::Random),
        Column::Seedloop(Policy::Pct { depth: 1 }),
        Column::Seedloop(Policy::Pct { depth: 2 }),
        Column::Seedloop(Policy::Pct { depth: 3 }),
        Column::Seedloop(Policy::Pct {
            depth: seedloop::PORTFOLIO_PCT_DEPTH,
        }),
        Column::ShuttleRandom,
        Column::ShuttlePct(2),
        Column::ShuttlePct(3),
    ]
}

/// Seeds run in the window starting at `start` until the first failure.
fn seedloop_window(column: &Column, program: &BugProgram, start: u64) -> Option<u64> {
    let mut check = Check::new().env(Default::default());
    let mut cap = CAP;
    if let Column::Seedloop(policy) = column {
        check = check.policy(policy.clone());
        if *policy == Policy::Fifo {
            cap = FIFO_CAP;
        }
    }
    check
        .seeds(start..start + cap)
        .try_run(program.run)
        .err()
        .map(|failure| failure.seed - start + 1)
}

/// Iterations a shuttle `Runner` seeded with `start` runs until the first failure.
fn shuttle_window(column: &Column, program: fn(), start: u64) -> Option<u64> {
    use shuttle::scheduler::{PctScheduler, RandomScheduler};
    let iterations = Arc::new(AtomicU64::new(0));
    let counted = {
        let iterations = iterations.clone();
        move || {
            iterations.fetch_add(1, Ordering::Relaxed);
            program();
        }
    };
    let mut config = shuttle::Config::new();
    config.failure_persistence = shuttle::FailurePersistence::None;
    let cap = CAP as usize;
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match column {
        Column::ShuttleRandom => {
            shuttle::Runner::new(RandomScheduler::new_from_seed(start, cap), config).run(counted)
        }
        Column::ShuttlePct(depth) => {
            shuttle::Runner::new(PctScheduler::new_from_seed(start, *depth, cap), config)
                .run(counted)
        }
        _ => unreachable!("a shuttle column"),
    }));
    outcome.err().map(|_| iterations.load(Ordering::Relaxed))
}

/// The cell of one column for one program: every window's seeds to failure, or
/// `None` when the column cannot run the program.
fn measure(column: &Column, index: usize, windows: u64) -> Option<Vec<Option<u64>>> {
    let program = &ALL[index];
    let shuttle_program = shuttle_programs::for_program(program.name);
    let results = (0..windows)
        .map(|window| {
            let start = window * WINDOW_STRIDE;
            match column {
                Column::Default | Column::Seedloop(_) => {
                    Some(seedloop_window(column, program, start))
                }
                _ => shuttle_program.map(|program| shuttle_window(column, program, start)),
            }
        })
        .collect::<Option<Vec<_>>>()?;
    Some(results)
}

/// Median and worst window, "never" counting as more than any number.
fn summarize(windows: &[Option<u64>]) -> (Option<u64>, Option<u64>) {
    let mut sorted = windows.to_vec();
    sorted.sort_by_key(|seeds| seeds.unwrap_or(u64::MAX));
    (sorted[(sorted.len() - 1) / 2], *sorted.last().unwrap())
}

fn show(seeds: Option<u64>) -> String {
    seeds.map_or("never".to_string(), |seeds| seeds.to_string())
}

fn main() {
    let option = |name: &str| std::env::args().skip_while(|arg| arg != name).nth(1);
    let windows =
        option("--windows").map_or(20, |count| count.parse().expect("--windows takes a number"));
    let only = option("--only").unwrap_or_default();
    let shuttle = !std::env::args().any(|arg| arg == "--no-shuttle");
    // Expected panics inside the simulations would print one message each.
    if std::env::var_os("BUG_FINDING_DEBUG").is_none() {
        std::panic::set_hook(Box::new(|_| {}));
    }
    let mut columns = columns();
    if !shuttle {
        columns.retain(|column| matches!(column, Column::Default | Column::Seedloop(_)));
    }
    let cells: Vec<(usize, usize)> = (0..ALL.len())
        .filter(|&program| ALL[program].name.contains(&only))
        .flat_map(|program| (0..columns.len()).map(move |column| (program, column)))
        .collect();
    let results = Mutex::new(vec![vec![None; columns.len()]; ALL.len()]);
    let next = AtomicUsize::new(0);
    // Two workers: the development machine has two cores.
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                while let Some(&(program, column)) = cells.get(next.fetch_add(1, Ordering::Relaxed))
                {
                    let cell = measure(&columns[column], program, windows);
                    results.lock().unwrap()[program][column] = cell.map(|cell| summarize(&cell));
                }
            });
        }
    });
    let results = results.into_inner().unwrap();

    println!("bug-finding power: seeds until the first failure, median (worst) over {windows} windows, cap {CAP}\n");
    let header: Vec<String> = columns.iter().map(Column::label).collect();
    println!("| program | {} |", header.join(" | "));
    println!("|---|{}", "---|".repeat(columns.len()));
    let shown = || {
        ALL.iter()
            .enumerate()
            .filter(|(_, program)| program.name.contains(&only))
    };
    for (index, program) in shown() {
        let row: Vec<String> = results[index]
            .iter()
            .map(|cell| match cell {
                Some((median, worst)) => format!("{} ({})", show(*median), show(*worst)),
                None => String::new(),
            })
            .collect();
        println!(
            "| {}: {} | {} |",
            program.name,
            program.bug,
            row.join(" | ")
        );
    }

    // Exhaustive search (bound 2): deterministic, so one number per program: the
    // schedules run until the first failure, or whether the bounded space was covered.
    println!("\nexhaustive search, preemption bound 2 (deviations from FIFO), budget {EXHAUSTIVE_BUDGET} schedules\n");
    println!("| program | exhaustive (bound 2) |");
    println!("|---|---|");
    for (_, program) in shown() {
        let outcome = Check::new()
            .exhaustive()
            .preemption_bound(2)
            .max_schedules(EXHAUSTIVE_BUDGET)
            .try_run(program.run);
        let cell = match outcome {
            Err(failure) => format!(
                "found (a tape of {} bytes)",
                failure.config.tape.as_ref().map_or(0, Vec::len)
            ),
            Ok(summary) if summary.covered => format!(
                "not within the bound ({} schedules, covered)",
                summary.schedules
            ),
            Ok(summary) => format!("not within the budget ({} schedules)", summary.schedules),
        };
        println!("| {} | {cell} |", program.name);
    }

    println!("\ngoal: the default's median within 2x of the best single policy's median (Fifo, Random, PCT(1) to PCT(3); in brackets, the portfolio's own PCT member included)");
    let mut all_met = true;
    for (index, program) in shown() {
        let median = |column: usize| results[index][column].and_then(|(median, _)| median);
        let default = median(0);
        let best = |all: bool| {
            (0..columns.len())
                .filter(|&column| columns[column].is_compared_single_policy(all))
                .filter_map(|column| median(column).map(|seeds| (seeds, column)))
                .min()
        };
        let ratio = |best: Option<(u64, usize)>| match (default, best) {
            (Some(default), Some((best, column))) => {
                let ratio = default as f64 / best as f64;
                let label = columns[column].label();
                (ratio <= 2.0, format!("{ratio:.2} ({label} {best})"))
            }
            (None, Some(_)) => (false, "never".to_string()),
            (_, None) => (true, "no single policy finds it".to_string()),
        };
        let (met, text) = ratio(best(false));
        let (_, text_all) = ratio(best(true));
        all_met &= met;
        println!(
            "  {:<26} default {:>6}: ratio {} [{}] {}",
            program.name,
            show(default),
            text,
            text_all,
            if met { "met" } else { "MISSED" }
        );
    }
    let nested = ALL
        .iter()
        .position(|program| program.name == "nested preemption")
        .expect("the nested program is in the list");
    let nested_median = results[nested][0].and_then(|(median, _)| median);
    let nested_met = nested_median.is_some_and(|seeds| seeds <= 300);
    println!(
        "goal: nested preemption, default median <= 300 seeds: {} ({})",
        show(nested_median),
        if nested_met { "met" } else { "MISSED" }
    );
    println!(
        "all goals: {}",
        if all_met && nested_met {
            "met"
        } else {
            "MISSED"
        }
    );
}

/// The programs as shuttle runs them: the same tasks and the same steps, on shuttle's
/// executor (`spawn_local`, since they share `Rc` state).
mod shuttle_programs {
    use shuttle::future::{block_on, spawn_local, yield_now};
    use std::cell::{Cell, RefCell};
    use std::future::Future;
    use std::rc::Rc;
    use std::task::{Context, Poll, Waker};

    /// The shuttle version of the program named `name`, if shuttle can express it.
    pub fn for_program(name: &str) -> Option<fn()> {
        let program: fn() = match name {
            "lost update" => || block_on(lost_update()),
            "check-then-act" => || block_on(check_then_act()),
            "lock-order deadlock" => || block_on(lock_order_deadlock()),
            "lost wakeup" => || block_on(lost_wakeup()),
            "ordering, 2 steps" => || block_on(worker_preempted_mid_update(2)),
            "deep ordering" => || block_on(worker_preempted_mid_update(20)),
            "nested preemption" => || block_on(nested_preemption()),
            "cancel at inner await" => || block_on(cancel_at_inner_await()),
            _ => return None,
        };
        Some(program)
    }

    // The programs of tasks and yields, as the seedloop ones (shuttle's handles
    // cancel with `abort`).
    super::bug_programs::yield_only_programs!(, spawn_local, yield_now, abort);

    async fn lock_order_deadlock() {
        use shuttle::future::batch_semaphore::{BatchSemaphore, Fairness};
        let accounts = Rc::new(BatchSemaphore::new(1, Fairness::StrictlyFair));
        let ledger = Rc::new(BatchSemaphore::new(1, Fairness::StrictlyFair));
        let transfer = {
            let (accounts, ledger) = (accounts.clone(), ledger.clone());
            spawn_local(async move {
                accounts.acquire(1).await.unwrap();
                yield_now().await;
                ledger.acquire(1).await.unwrap();
                ledger.release(1);
                accounts.release(1);
            })
        };
        let audit = spawn_local(async move {
            yield_now().await;
            yield_now().await;
            ledger.acquire(1).await.unwrap();
            yield_now().await;
            accounts.acquire(1).await.unwrap();
            accounts.release(1);
            ledger.release(1);
        });
        transfer.await.unwrap();
        audit.await.unwrap();
    }

    /// A one-shot notification without memory: `notify` wakes whoever waits now.
    #[derive(Default)]
    struct Notify {
        waiter: RefCell<Option<Waker>>,
        notified: Cell<bool>,
    }

    impl Notify {
        fn notify(&self) {
            if let Some(waker) = self.waiter.borrow_mut().take() {
                self.notified.set(true);
                waker.wake();
            }
        }

        fn wait(&self) -> impl Future<Output = ()> + '_ {
            std::future::poll_fn(move |cx: &mut Context<'_>| {
                if self.notified.get() {
                    return Poll::Ready(());
                }
                *self.waiter.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            })
        }
    }

    async fn lost_wakeup() {
        let items = Rc::new(RefCell::new(Vec::<u32>::new()));
        let notify = Rc::new(Notify::default());
        let consumer = {
            let (items, notify) = (items.clone(), notify.clone());
            spawn_local(async move {
                if items.borrow().is_empty() {
                    yield_now().await;
                    notify.wait().await;
                }
                items.borrow_mut().pop().expect("an item")
            })
        };
        let producer = spawn_local(async move {
            yield_now().await;
            items.borrow_mut().push(7);
            notify.notify();
        });
        producer.await.unwrap();
        assert_eq!(consumer.await.unwrap(), 7);
    }
}
