//! Structured concurrency: asyncio's `TaskGroup`, on seedloop.
//!
//! The asyncio original (from "Coroutines and Tasks", Task Groups):
//!
//! ```python
//! async def main():
//!     async with asyncio.TaskGroup() as tg:
//!         task1 = tg.create_task(some_coro(...))
//!         task2 = tg.create_task(another_coro(...))
//!     print(f"Both tasks have completed now: {task1.result()}, {task2.result()}")
//! ```
//!
//! and a group of three jobs that finish one after another:
//!
//! ```python
//! async def process_item():
//!     await asyncio.sleep(1)
//!     print(f"process_item done at {elapsed()}")
//!
//! async def process_order():
//!     await asyncio.sleep(2)
//!     print(f"process_order done at {elapsed()}")
//!
//! async def process_bill():
//!     await asyncio.sleep(3)
//!     print(f"process_bill done at {elapsed()}")
//!
//! async def main():
//!     async with asyncio.TaskGroup() as tg:
//!         tg.create_task(process_item())
//!         tg.create_task(process_order())
//!         tg.create_task(process_bill())
//!     print(f"all done at {elapsed()}")
//! ```
//!
//! asyncio prints `process_item done at 1s`, `process_order done at 2s`,
//! `process_bill done at 3s`, then `all done at 3s`: leaving the `async with` block
//! waits for every child. When a child raises, asyncio cancels the other children and
//! the body, and `async with` raises an `ExceptionGroup` of every child's exception
//! (cancellations are not errors).
//!
//! seedloop's `TaskGroup::scope(|tg| async move { .. })` is the `async with` block: the
//! body's future, plus children spawned with `tg.spawn` / `tg.spawn_named`. A child
//! returns `Result<T, E>`; the scope returns `Ok(body's value)` once the body and every
//! child have ended, or `Err(GroupError<E>)` (the `ExceptionGroup`) after the first
//! failure has cancelled everything else. Cancelling drops a future at its await
//! point, so a child's "except CancelledError / finally" is a `Drop` guard.
//!
//! Every part below checks its own output with `assert!`s, and runs under the
//! production order (`Policy::Fifo`) and under seeded `Random` and `PCT` schedules:
//! the children become ready at different virtual instants, so the timers decide the
//! timeline and every schedule prints the same lines.
//!
//! Run it with `cargo run --release --example task_group`.

use seedloop::task::{GroupError, JoinError, JoinHandle, TaskGroup};
use seedloop::time::{sleep, Instant};
use seedloop::{Policy, Sim};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

/// The lines the program "prints", collected so that runs can be compared.
type Log = Rc<RefCell<Vec<String>>>;

/// Logs `what`, stamped with the virtual time.
fn say(log: &Log, what: String) {
    log.borrow_mut()
        .push(format!("[{:>5}] {what}", Instant::now().to_string()));
}

// ---------------------------------------------------------------------------------
// Part 1: the asyncio docs' example.

async fn some_coro() -> Result<&'static str, String> {
    sleep(Duration::from_secs(1)).await;
    Ok("some result")
}

async fn another_coro() -> Result<u32, String> {
    sleep(Duration::from_secs(2)).await;
    Ok(42)
}

async fn docs_example(log: Log) {
    let (task1, task2) = TaskGroup::<String>::scope(|tg| async move {
        let task1 = tg.spawn(some_coro());
        let task2 = tg.spawn(another_coro());
        // Leaving the body does not end the scope: it waits for both children.
        Ok((task1, task2))
    })
    .await
    .expect("neither child failed");
    // asyncio's `task.result()`: the tasks have finished, awaiting them returns at once.
    assert!(task1.is_finished() && task2.is_finished());
    let (result1, result2) = (task1.await.unwrap(), task2.await.unwrap());
    say(
        &log,
        format!("Both tasks have completed now: {result1}, {result2}"),
    );
}

// ---------------------------------------------------------------------------------
// Part 2: process_item, process_order, process_bill.

/// What can go wrong in a job (part 3).
#[derive(Clone, Debug, PartialEq)]
struct JobError(&'static str);

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// Logs the job's cancellation when it is dropped unfinished: the `except
/// asyncio.CancelledError:` of the asyncio version.
struct OnCancel {
    log: Log,
    job: &'static str,
    finished: bool,
}

impl Drop for OnCancel {
    fn drop(&mut self) {
        if !self.finished {
            say(&self.log, format!("{}: cancelled", self.job));
        }
    }
}

/// One job: `secs` seconds of work, then success or `fails_with`.
async fn job(
    log: Log,
    name: &'static str,
    secs: f64,
    fails_with: Option<JobError>,
) -> Result<&'static str, JobError> {
    let mut guard = OnCancel {
        log: log.clone(),
        job: name,
        finished: false,
    };
    sleep(Duration::from_secs_f64(secs)).await; // a cancellation lands here
    guard.finished = true;
    match fails_with {
        None => {
            say(&log, format!("{name} done"));
            Ok(name)
        }
        Some(error) => {
            say(&log, format!("{name} failed: {error}"));
            Err(error)
        }
    }
}

async fn process_item(log: Log) -> Result<&'static str, JobError> {
    job(log, "process_item", 1.0, None).await
}

async fn process_order(log: Log) -> Result<&'static str, JobError> {
    job(log, "process_order", 2.0, None).await
}

async fn process_bill(log: Log) -> Result<&'static str, JobError> {
    job(log, "process_bill", 3.0, None).await
}

/// Part 3's bill: the card is declined after 1.5 s, while process_order still runs.
async fn process_bill_declined(log: Log) -> Result<&'static str, JobError> {
    job(log, "process_bill", 1.5, Some(JobError("card declined"))).await
}

async fn three_jobs(log: Log) {
    let result = TaskGroup::<JobError>::scope(|tg| {
        let log = log.clone();
        async move {
            // Like `tg.create_task(..)` with the task unused: dropping a handle that
            // was never polled detaches its task, and the scope still waits for it.
            tg.spawn_named("process_item", process_item(log.clone()));
            tg.spawn_named("process_order", process_order(log.clone()));
            tg.spawn_named("process_bill", process_bill(log.clone()));
            Ok(())
        }
    })
    .await;
    assert!(result.is_ok(), "no job failed");
    say(&log, "all done".to_string());
}

// ---------------------------------------------------------------------------------
// Part 3: process_bill fails, the others are cancelled.

/// What part 3 observed after its scope returned.
#[derive(Debug, PartialEq)]
struct Outcome {
    /// The `GroupError`'s Display.
    error: String,
    /// The errors, by value.
    errors: Vec<JobError>,
    /// How each child's handle ended, in spawn order.
    handles: Vec<Result<&'static str, JoinError>>,
}

async fn one_job_fails(log: Log) -> Outcome {
    // The handles are kept outside the body: the body is cancelled with the children,
    // and the handles are awaited once the scope has returned.
    let handles: Rc<RefCell<Vec<JoinHandle<&'static str>>>> = Rc::default();
    let result: Result<(), GroupError<JobError>> = TaskGroup::scope(|tg| {
        let (log, handles) = (log.clone(), handles.clone());
        async move {
            let jobs = [
                tg.spawn_named("process_item", process_item(log.clone())),
                tg.spawn_named("process_order", process_order(log.clone())),
                tg.spawn_named("process_bill", process_bill_declined(log.clone())),
            ];
            handles.borrow_mut().extend(jobs);
            // The body has more to do after the jobs; it is cancelled at this await.
            let _guard = OnCancel {
                log: log.clone(),
                job: "the body",
                finished: false,
            };
            sleep(Duration::from_secs(10)).await;
            unreachable!("the body is cancelled when process_bill fails");
        }
    })
    .await;
    let error = result.expect_err("process_bill failed");
    say(&log, "the scope returned Err(GroupError)".to_string());
    let mut outcomes = Vec::new();
    for handle in handles.take() {
        outcomes.push(handle.await);
    }
    Outcome {
        error: error.to_string(),
        errors: error.into_errors(),
        handles: outcomes,
    }
}

// ---------------------------------------------------------------------------------

/// Runs one part on a fresh simulation; returns its log, trace hash and value.
fn run<T, Fut>(seed: u64, policy: Policy, program: impl FnOnce(Log) -> Fut) -> (Vec<String>, u64, T)
where
    Fut: std::future::Future<Output = T>,
{
    let log = Log::default();
    let mut sim = Sim::new(seed).policy(policy);
    let value = sim
        .run(program(log.clone()))
        .expect("the simulation ran to completion");
    (log.take(), sim.trace().hash(), value)
}

/// Runs `program` under Fifo (twice: the trace must replay) and under seeded Random
/// and PCT schedules; asserts every run prints `expected`.
fn check_everywhere<T, Fut>(program: impl Fn(Log) -> Fut, expected: &[&str]) -> T
where
    Fut: std::future::Future<Output = T>,
    T: PartialEq + std::fmt::Debug,
{
    let (lines, hash, value) = run(0, Policy::Fifo, &program);
    for line in &lines {
        println!("{line}");
    }
    assert_eq!(lines, expected, "the Fifo timeline changed");
    let (_, again, value_again) = run(0, Policy::Fifo, &program);
    assert_eq!(hash, again, "Policy::Fifo replays event for event");
    assert_eq!(value, value_again);
    let mut schedules = 0;
    for policy in [Policy::Random, Policy::Pct { depth: 3 }] {
        for seed in 0..8 {
            let (got, _, got_value) = run(seed, policy.clone(), &program);
            assert_eq!(got, expected, "seed {seed}, policy {policy}");
            assert_eq!(got_value, value, "seed {seed}, policy {policy}");
            schedules += 1;
        }
    }
    println!("(trace {hash:016x}; the same lines under {schedules} seeded Random/PCT schedules)");
    value
}

fn main() {
    println!("== 1. the asyncio docs' example ==");
    check_everywhere(
        docs_example,
        &["[  +2s] Both tasks have completed now: some result, 42"],
    );

    println!("\n== 2. process_item, process_order, process_bill ==");
    // The asyncio order: each job prints when it is done, then the group exits at 3 s.
    check_everywhere(
        three_jobs,
        &[
            "[  +1s] process_item done",
            "[  +2s] process_order done",
            "[  +3s] process_bill done",
            "[  +3s] all done",
        ],
    );

    println!("\n== 3. process_bill fails: the others are cancelled ==");
    let outcome = check_everywhere(
        one_job_fails,
        &[
            "[  +1s] process_item done",
            "[+1.5s] process_bill failed: card declined",
            "[+1.5s] the body: cancelled",
            "[+1.5s] process_order: cancelled",
            "[+1.5s] the scope returned Err(GroupError)",
        ],
    );
    println!("\n{}\n", outcome.error);
    // Task 0 is main, the children are tasks 1 to 3 in spawn order.
    assert_eq!(
        outcome.error,
        "task group failed: 1 error\n  1. task 3 (process_bill) returned an error: card declined"
    );
    assert_eq!(outcome.errors, [JobError("card declined")]);
    println!("the children's handles, in spawn order:");
    for (name, result) in ["process_item", "process_order", "process_bill"]
        .iter()
        .zip(&outcome.handles)
    {
        println!("  {name:<13} {result:?}");
    }
    assert_eq!(
        outcome.handles,
        [
            Ok("process_item"),        // finished before the failure
            Err(JoinError::Cancelled), // cancelled: not in the GroupError
            Err(JoinError::Failed),    // its error went to the GroupError
        ]
    );
    println!("\nall timelines as expected");
}
