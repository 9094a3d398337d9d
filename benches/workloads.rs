//! Workload benchmarks: seedloop against its peers (tokio's current-thread runtime,
//! shuttle, and turmoil for W5), on the workloads of `benches/WORKLOADS.md`, in one run.
//!
//! # Running
//!
//! ```text
//! cargo bench --bench workloads            # full run (about 1 minute on 2 cores)
//! SEEDLOOP_BENCH_QUICK=1 cargo bench --bench workloads
//! cargo bench --bench workloads -- --quick # the same quick mode, as an argument
//! cargo bench --bench workloads -- w1 w4    # only some sections: w1 .. w5, flatness
//! ```
//!
//! Quick mode takes 3 samples of ~25 ms per row instead of 7 samples of ~150 ms: a
//! smoke test of the harness, not numbers to quote. Goals whose rows were filtered out
//! are not printed.
//!
//! # What is measured
//!
//! One *iteration* is one whole simulation from a fresh runtime: `Sim::new(seed)` (or a
//! new tokio runtime, or one shuttle execution), the workload, and tearing it down.
//! - **W1 spawn-join**: main spawns 1000 tasks; each yields 10 times and returns its
//!   index; main awaits every handle and checks the sum (499500).
//! - **W2 lock contention**: 16 tasks each take one async lock 100 times; holding it,
//!   they read a counter, yield, and write it plus one (1600 at the end). seedloop uses
//!   `sync::Lock`, tokio its `sync::Mutex` (`Arc`, `tokio::spawn`), shuttle its
//!   strictly fair `BatchSemaphore` with one permit (it has no async mutex). All three
//!   are FIFO fair.
//! - **W3 ping-pong**: two tasks exchange `W3_MESSAGES` (10 000) messages in all, 5000
//!   pings each answered by a pong, over two bounded channels of capacity 1 (`channel`
//!   below: std wakers only, the same code for every runtime). The channel is `Rc`
//!   based, so tokio runs these two tasks with `spawn_local` on a `LocalSet`, and
//!   shuttle with `shuttle::future::spawn_local`; W1 has a tokio `LocalSet` row too,
//!   to show what that path costs by itself.
//! - **W4 timers**: 1000 tasks each sleep 5 times for a virtual duration between 1 ms
//!   and 10 s, precomputed from a fixed-seed ChaCha8 generator (the same for every
//!   runtime). tokio runs with `start_paused(true)`, so its clock auto-advances too.
//!   shuttle has no virtual clock and is not measured here.
//! - **W5 TCP echo**: 10 clients, each on its own host, make 100 round trips of 64
//!   bytes each to an echo server over simulated TCP; seedloop beside turmoil. Its
//!   setup, rows and columns (µs per round trip) are described in `workloads/w5.rs`.
//! - **Flatness**: W1 with N tasks (10 to 100 000), 10 yields each, under seedloop's
//!   Random and Pct (the goal), and Fifo, tokio and the floor executor for reference:
//!   they show how much of a slope comes from the working set outgrowing the caches.
//!
//! W1, W3 and flatness also have a row "floor executor (random, no trace)": the minimal
//! seeded-random executor of `floor.rs` (a slab of boxed futures, a ready list, one
//! ChaCha8 pick per step with `swap_remove`; no tracing, no timers, safe Rust). It is
//! what a uniformly random schedule costs by itself, cache misses from jumping between
//! random tasks included; seedloop Random's ns/step and slope over the floor's are
//! seedloop's overhead. It counts its polls itself, like seedloop, and uses seeds 1, 2,
//! 3, ... too.
//!
//! seedloop rows use seeds 1, 2, 3, ... (one per iteration), `max_steps(100M)` and
//! `max_tasks(1M)`.
//! shuttle rows time one `check_random(f, n)` / `check_pct(f, n, 3)` call of `n`
//! executions and divide by `n`.
//!
//! Rows of one table are sampled round-robin (sample 1 of every row, then sample 2,
//! ...), so that a burst of noise on the machine hits every row alike; each sample is
//! preceded by one untimed iteration of its row, and runs enough iterations to take
//! about the target time.
//!
//! # Columns
//!
//! - `iter/s`: iterations per second, the median over the samples.
//! - `ns/step`: wall-clock nanoseconds per task step, the median over the samples of
//!   (sample time / task polls in the sample). A step is one poll of one task, the main
//!   future included. seedloop counts its polls itself (`Stats::polls`). For tokio and
//!   shuttle the polls are counted in a separate, untimed calibration run that wraps
//!   every task and the main future in a counting future; the timed runs are unwrapped
//!   and use that count (averaged over the calibration executions for shuttle, whose
//!   schedule varies from one execution to the next).
//! - `steps/iter`: task polls per iteration (as above).
//! - `spread`: (max - min) / median of the `ns/step` samples: how noisy the row was.
//! - `ns/sleep` (W4): sample time / 5000 sleeps, median.
//! - `samples x iters`: samples taken, and iterations per sample.
//!
//! The goals printed at the end are ratios of these medians; a missed goal is reported,
//! never a failure.

mod floor;
#[path = "workloads/w5.rs"]
mod w5;

use rand::{Rng, SeedableRng};
use seedloop::{Policy, Sim};
use std::cell::RefCell;
use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// The floor executor's rows (W1 and flatness; in flatness followed by `, N=...`).
const FLOOR: &str = "floor executor (random, no trace)";
const RAW_FLOOR: &str = "floor executor, raw waker";
/// W1: tasks spawned by main.
const W1_TASKS: u64 = 1000;
/// W1 and flatness: `yield_now` calls per task.
const W1_YIELDS: usize = 10;
/// W3: messages exchanged in all (pings plus pongs).
const W3_MESSAGES: u64 = 10_000;
/// W2: tasks contending for one lock, and how many times each takes it.
const W2_TASKS: u64 = 16;
const W2_ROUNDS: u64 = 100;
/// W4: sleeping tasks.
const W4_TASKS: usize = 1000;
/// W4: sleeps per task.
const W4_SLEEPS: usize = 5;
/// W4: the seed of the duration generator.
const W4_DURATION_SEED: u64 = 0x5eed_100b;
/// Flatness: the task counts.
const FLAT_TASKS: [u64; 5] = [10, 100, 1_000, 10_000, 100_000];
/// A step limit no workload here comes near (the default, 1 000 000, is too low for
/// the 100 000-task flatness run).
const MAX_STEPS: u64 = 100_000_000;
/// A task limit no workload here comes near (the default, 100 000, is exactly the
/// flatness run's largest count).
const MAX_TASKS: usize = 1_000_000;
/// Shuttle executions in the calibration run that counts its polls.
const SHUTTLE_CALIBRATION_RUNS: usize = 5;

// ---------------------------------------------------------------------------------
// Poll counting (calibration runs of tokio and shuttle only).

static POLLS: AtomicU64 = AtomicU64::new(0);

/// A future that counts its polls in [`POLLS`]. Only used in untimed runs.
struct Counted<F> {
    inner: Pin<Box<F>>,
}

impl<F: Future> Future for Counted<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        POLLS.fetch_add(1, Ordering::Relaxed);
        self.inner.as_mut().poll(cx)
    }
}

fn counted<F: Future>(future: F) -> Counted<F> {
    Counted {
        inner: Box::pin(future),
    }
}

/// The identity: the timed runs' stand-in for [`counted`].
fn plain<F: Future>(future: F) -> F {
    future
}

// ---------------------------------------------------------------------------------
// A bounded channel of capacity 1, runtime-agnostic (std wakers only), for W3.

struct ChannelState<T> {
    slot: Option<T>,
    receiver: Option<Waker>,
    sender: Option<Waker>,
}

/// The sending half of a [`channel`].
struct Sender<T> {
    state: Rc<RefCell<ChannelState<T>>>,
}

/// The receiving half of a [`channel`].
struct Receiver<T> {
    state: Rc<RefCell<ChannelState<T>>>,
}

/// A channel of capacity 1: `send` waits while the slot is full, `recv` while it is
/// empty. Single-threaded (`Rc`); every runtime here can run `!Send` tasks.
fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let state = Rc::new(RefCell::new(ChannelState {
        slot: None,
        receiver: None,
        sender: None,
    }));
    (
        Sender {
            state: Rc::clone(&state),
        },
        Receiver { state },
    )
}

fn store_waker(place: &mut Option<Waker>, waker: &Waker) {
    match place {
        Some(current) if current.will_wake(waker) => {}
        _ => *place = Some(waker.clone()),
    }
}

impl<T: Unpin> Sender<T> {
    fn send(&self, value: T) -> SendFuture<'_, T> {
        SendFuture {
            sender: self,
            value: Some(value),
        }
    }
}

impl<T> Receiver<T> {
    fn recv(&self) -> RecvFuture<'_, T> {
        RecvFuture { receiver: self }
    }
}

struct SendFuture<'a, T> {
    sender: &'a Sender<T>,
    value: Option<T>,
}

impl<T: Unpin> Future for SendFuture<'_, T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let mut state = this.sender.state.borrow_mut();
        if state.slot.is_some() {
            store_waker(&mut state.sender, cx.waker());
            return Poll::Pending;
        }
        state.slot = this.value.take();
        let receiver = state.receiver.take();
        drop(state);
        if let Some(waker) = receiver {
            waker.wake();
        }
        Poll::Ready(())
    }
}

struct RecvFuture<'a, T> {
    receiver: &'a Receiver<T>,
}

impl<T> Future for RecvFuture<'_, T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut state = self.receiver.state.borrow_mut();
        match state.slot.take() {
            Some(value) => {
                let sender = state.sender.take();
                drop(state);
                if let Some(waker) = sender {
                    waker.wake();
                }
                Poll::Ready(value)
            }
            None => {
                store_waker(&mut state.receiver, cx.waker());
                Poll::Pending
            }
        }
    }
}

// ---------------------------------------------------------------------------------
// The workloads, written once and expanded per runtime (so that each runtime's own
// `spawn` is used with its own bounds: tokio::spawn needs `Send`, the others do not).
// `$wrap` is `plain` for timed runs and `counted` for calibration runs.

/// W1 (and flatness): `$tasks` tasks yield [`W1_YIELDS`] times each and return their
/// index; main checks the sum.
macro_rules! spawn_join {
    ($spawn:path, $yield_now:path, $wrap:path, $tasks:expr) => {{
        let tasks: u64 = $tasks;
        $wrap(async move {
            let handles: Vec<_> = (0..tasks)
                .map(|index| {
                    $spawn($wrap(async move {
                        for _ in 0..W1_YIELDS {
                            $yield_now().await;
                        }
                        index
                    }))
                })
                .collect();
            let mut sum = 0u64;
            for handle in handles {
                sum += handle.await.unwrap();
            }
            assert_eq!(sum, tasks * (tasks.max(1) - 1) / 2);
        })
    }};
}

/// W3: a pinger and a ponger exchange [`W3_MESSAGES`] messages over two channels of
/// capacity 1.
macro_rules! ping_pong {
    ($spawn:path, $wrap:path) => {
        $wrap(async move {
            let rounds = W3_MESSAGES / 2;
            let (ping_tx, ping_rx) = channel::<u64>();
            let (pong_tx, pong_rx) = channel::<u64>();
            let pinger = $spawn($wrap(async move {
                let mut sum = 0u64;
                for round in 0..rounds {
                    ping_tx.send(round).await;
                    sum += pong_rx.recv().await;
                }
                sum
            }));
            let ponger = $spawn($wrap(async move {
                for _ in 0..rounds {
                    let ping = ping_rx.recv().await;
                    pong_tx.send(ping + 1).await;
                }
            }));
            let sum = pinger.await.unwrap();
            ponger.await.unwrap();
            assert_eq!(sum, rounds * (rounds + 1) / 2);
        })
    };
}

/// W2: [`W2_TASKS`] tasks each take the lock [`W2_ROUNDS`] times; holding it, they
/// read the counter, yield, and write it plus one. `$lock` is an expression giving a
/// shared lock around a `u64` whose `lock()` is a future of a guard.
macro_rules! lock_contention {
    ($spawn:path, $yield_now:path, $wrap:path, $lock:expr) => {{
        $wrap(async move {
            let lock = $lock;
            let handles: Vec<_> = (0..W2_TASKS)
                .map(|_| {
                    let lock = lock.clone();
                    $spawn($wrap(async move {
                        for _ in 0..W2_ROUNDS {
                            let mut guard = lock.lock().await;
                            let read = *guard;
                            $yield_now().await;
                            *guard = read + 1;
                        }
                    }))
                })
                .collect();
            for handle in handles {
                handle.await.unwrap();
            }
            assert_eq!(*lock.lock().await, W2_TASKS * W2_ROUNDS);
        })
    }};
}

/// W4: one task per entry of `$durations`, each sleeping its [`W4_SLEEPS`] durations.
macro_rules! timers {
    ($spawn:path, $sleep:path, $wrap:path, $durations:expr) => {{
        let durations: &'static [[Duration; W4_SLEEPS]] = $durations;
        $wrap(async move {
            let handles: Vec<_> = durations
                .iter()
                .map(|&sleeps| {
                    $spawn($wrap(async move {
                        for duration in sleeps {
                            $sleep(duration).await;
                        }
                    }))
                })
                .collect();
            for handle in handles {
                handle.await.unwrap();
            }
        })
    }};
}

/// W4's durations: 1 ms to 10 s, from a fixed seed, the same for every runtime.
fn w4_durations() -> &'static [[Duration; W4_SLEEPS]] {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(W4_DURATION_SEED);
    let durations: Vec<[Duration; W4_SLEEPS]> = (0..W4_TASKS)
        .map(|_| {
            std::array::from_fn(|_| {
                Duration::from_nanos(rng.random_range(1_000_000..=10_000_000_000))
            })
        })
        .collect();
    Box::leak(durations.into_boxed_slice())
}

// ---------------------------------------------------------------------------------
// Rows: one runtime/policy on one workload.

/// Runs `iterations` iterations and returns the task polls they made.
type RunFn = Box<dyn FnMut(u64) -> u64>;

struct Row {
    name: String,
    run: RunFn,
    iterations: u64,
    // (time, polls) per sample
    samples: Vec<(Duration, u64)>,
}

impl Row {
    fn new(name: impl Into<String>, run: RunFn) -> Row {
        Row {
            name: name.into(),
            run,
            iterations: 1,
            samples: Vec::new(),
        }
    }

    fn iter_per_sec(&self) -> f64 {
        median(
            self.samples
                .iter()
                .map(|(time, _)| self.iterations as f64 / time.as_secs_f64()),
        )
    }

    fn ns_per_step(&self) -> f64 {
        median(self.ns_per_step_samples())
    }

    fn ns_per_step_samples(&self) -> impl Iterator<Item = f64> + '_ {
        self.samples
            .iter()
            .map(|(time, polls)| time.as_nanos() as f64 / (*polls).max(1) as f64)
    }

    fn ns_per_iteration(&self) -> f64 {
        median(
            self.samples
                .iter()
                .map(|(time, _)| time.as_nanos() as f64 / self.iterations as f64),
        )
    }

    fn steps_per_iteration(&self) -> f64 {
        let polls: u64 = self.samples.iter().map(|(_, polls)| polls).sum();
        polls as f64 / (self.iterations * self.samples.len() as u64) as f64
    }

    fn spread(&self) -> f64 {
        let values: Vec<f64> = self.ns_per_step_samples().collect();
        let max = values.iter().copied().fold(f64::MIN, f64::max);
        let min = values.iter().copied().fold(f64::MAX, f64::min);
        (max - min) / self.ns_per_step()
    }
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.collect();
    assert!(!values.is_empty(), "no samples");
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    }
}

/// A row that runs one iteration per seed 1, 2, 3, ...; `run_one` returns its polls.
fn seeded_row(name: &str, mut run_one: impl FnMut(u64) -> u64 + 'static) -> Row {
    let mut seed = 0u64;
    Row::new(
        name,
        Box::new(move |iterations| {
            let mut polls = 0;
            for _ in 0..iterations {
                seed += 1;
                polls += black_box(run_one(seed));
            }
            polls
        }),
    )
}

/// A seedloop row: a fresh `Sim` per iteration.
fn seedloop_row<Fut>(
    name: &str,
    policy: Policy,
    record_trace: bool,
    make: impl Fn() -> Fut + 'static,
) -> Row
where
    Fut: Future<Output = ()>,
{
    let label = name.to_string();
    seeded_row(name, move |seed| {
        let mut sim = Sim::new(seed)
            .policy(policy.clone())
            .record_trace(record_trace)
            .max_steps(MAX_STEPS)
            .max_tasks(MAX_TASKS);
        if let Err(failure) = sim.run(make()) {
            panic!("{label}: the workload failed:\n{failure}");
        }
        sim.stats().polls
    })
}

/// The four seedloop rows every workload gets.
fn seedloop_rows<Fut>(make: impl Fn() -> Fut + Clone + 'static) -> Vec<Row>
where
    Fut: Future<Output = ()>,
{
    vec![
        seedloop_row("seedloop Random", Policy::Random, true, make.clone()),
        seedloop_row("seedloop Fifo", Policy::Fifo, true, make.clone()),
        seedloop_row(
            "seedloop Pct{depth:3}",
            Policy::Pct { depth: 3 },
            true,
            make.clone(),
        ),
        seedloop_row("seedloop Random, trace off", Policy::Random, false, make),
    ]
}

/// A floor executor row: a fresh [`floor::run`] per iteration.
fn floor_row<Fut>(name: &str, make: impl Fn() -> Fut + 'static) -> Row
where
    Fut: Future<Output = ()> + 'static,
{
    seeded_row(name, move |seed| floor::run(seed, make()))
}

/// A raw-waker floor row: a fresh [`floor::run_raw`] per iteration (the real floor).
fn raw_floor_row<Fut>(name: &str, make: impl Fn() -> Fut + 'static) -> Row
where
    Fut: Future<Output = ()> + 'static,
{
    seeded_row(name, move |seed| floor::run_raw(seed, make()))
}

/// Runs `future` on a fresh `LocalSet`, where tokio can run `!Send` tasks.
async fn in_local_set<F: Future>(future: F) -> F::Output {
    tokio::task::LocalSet::new().run_until(future).await
}

fn tokio_runtime(paused_time: bool) -> tokio::runtime::Runtime {
    let mut builder = tokio::runtime::Builder::new_current_thread();
    if paused_time {
        builder.enable_time().start_paused(true);
    }
    builder.build().expect("a tokio runtime")
}

/// A tokio row: a fresh current-thread runtime per iteration. The polls per iteration
/// come from one untimed run of `make_counted` (tokio's schedule here is deterministic).
fn tokio_row<Fut, CountedFut>(
    name: &str,
    paused_time: bool,
    make: impl Fn() -> Fut + 'static,
    make_counted: impl Fn() -> CountedFut,
) -> Row
where
    Fut: Future<Output = ()>,
    CountedFut: Future<Output = ()>,
{
    POLLS.store(0, Ordering::Relaxed);
    tokio_runtime(paused_time).block_on(make_counted());
    let polls_per_iteration = POLLS.load(Ordering::Relaxed);
    Row::new(
        name,
        Box::new(move |iterations| {
            for _ in 0..iterations {
                let runtime = tokio_runtime(paused_time);
                runtime.block_on(black_box(make()));
            }
            iterations * polls_per_iteration
        }),
    )
}

/// A shuttle row: `iterations` executions in one `check_random` / `check_pct` call.
/// The polls per execution are the average over an untimed calibration call.
fn shuttle_row(name: &str, pct: bool, body: fn(), counted_body: fn()) -> Row {
    let check = move |body: fn(), iterations: usize| {
        if pct {
            shuttle::check_pct(body, iterations, 3);
        } else {
            shuttle::check_random(body, iterations);
        }
    };
    POLLS.store(0, Ordering::Relaxed);
    check(counted_body, SHUTTLE_CALIBRATION_RUNS);
    let polls_per_iteration =
        POLLS.load(Ordering::Relaxed) as f64 / SHUTTLE_CALIBRATION_RUNS as f64;
    Row::new(
        name,
        Box::new(move |iterations| {
            check(body, iterations as usize);
            (iterations as f64 * polls_per_iteration).round() as u64
        }),
    )
}

// ---------------------------------------------------------------------------------
// Measuring and printing.

struct Config {
    quick: bool,
    samples: usize,
    target: Duration,
    // Sections to run (substrings of "w1" .. "w5", "flatness"); empty = all.
    filters: Vec<String>,
}

impl Config {
    /// Reads `SEEDLOOP_BENCH_QUICK`, `--quick`, and section filters from the command
    /// line (other `--` arguments, such as the `--bench` cargo passes, are ignored).
    fn from_env() -> Config {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let quick = std::env::var("SEEDLOOP_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0")
            || args.iter().any(|arg| arg == "--quick");
        let filters = args
            .into_iter()
            .filter(|arg| !arg.starts_with('-'))
            .map(|arg| arg.to_ascii_lowercase())
            .collect();
        let (samples, target) = if quick {
            (3, Duration::from_millis(25))
        } else {
            (7, Duration::from_millis(150))
        };
        Config {
            quick,
            samples,
            target,
            filters,
        }
    }

    fn wants(&self, section: &str) -> bool {
        self.filters.is_empty()
            || self
                .filters
                .iter()
                .any(|filter| section.contains(filter.as_str()))
    }
}

/// Calibrates each row's iterations per sample, then takes the samples round-robin,
/// each after one untimed warm-up iteration of its row.
fn measure(config: &Config, rows: &mut [Row]) {
    for row in rows.iter_mut() {
        // Warm up, and estimate the time of one iteration.
        let start = Instant::now();
        black_box((row.run)(1));
        let one = start.elapsed().as_secs_f64().max(1e-9);
        let warmup = ((config.target.as_secs_f64() / 5.0 / one) as u64).max(1);
        let start = Instant::now();
        black_box((row.run)(warmup));
        let each = (start.elapsed().as_secs_f64() / warmup as f64).max(1e-9);
        row.iterations = ((config.target.as_secs_f64() / each).round() as u64).max(1);
    }
    for _ in 0..config.samples {
        for row in rows.iter_mut() {
            // One untimed iteration first: the row before may have left the caches and
            // the allocator in a very different state (100 000 tasks versus 10).
            black_box((row.run)(1));
            let start = Instant::now();
            let polls = black_box((row.run)(row.iterations));
            row.samples.push((start.elapsed(), polls));
        }
    }
}

fn print_table(title: &str, rows: &[Row], per_sleep: bool) {
    println!();
    println!("{title}");
    let extra = if per_sleep { "    ns/sleep" } else { "" };
    let width = rows.iter().map(|row| row.name.len()).fold(32, usize::max);
    println!(
        "  {:<width$} {:>12} {:>10} {:>12} {:>8}{extra} {:>16}",
        "runtime/policy", "iter/s", "ns/step", "steps/iter", "spread", "samples x iters"
    );
    for row in rows {
        let extra = if per_sleep {
            let sleeps = (W4_TASKS * W4_SLEEPS) as f64;
            format!(" {:>11.1}", row.ns_per_iteration() / sleeps)
        } else {
            String::new()
        };
        println!(
            "  {:<width$} {:>12.1} {:>10.1} {:>12.0} {:>7.0}%{extra} {:>16}",
            row.name,
            row.iter_per_sec(),
            row.ns_per_step(),
            row.steps_per_iteration(),
            row.spread() * 100.0,
            format!("{} x {}", row.samples.len(), row.iterations),
        );
    }
}

fn row<'a>(rows: &'a [Row], name: &str) -> &'a Row {
    rows.iter()
        .find(|row| row.name == name)
        .unwrap_or_else(|| panic!("no row named {name}"))
}

/// A goal line: the ratio, the goal, and whether it is met.
fn goal(label: &str, ratio: f64, at_most: f64) -> String {
    let verdict = if ratio <= at_most { "met" } else { "MISSED" };
    format!("  {label:<66} {ratio:>6.2}   goal <= {at_most:<4} {verdict}")
}

/// An information line: a ratio with no goal.
fn info(label: &str, ratio: f64) -> String {
    format!("  {label:<66} {ratio:>6.2}   (no goal)")
}

// ---------------------------------------------------------------------------------
// Shuttle bodies (plain `fn`s: shuttle wants `Fn + Send + Sync + 'static`).

fn shuttle_w1() {
    shuttle::future::block_on(spawn_join!(
        shuttle::future::spawn,
        shuttle::future::yield_now,
        plain,
        W1_TASKS
    ));
}

fn shuttle_w1_counted() {
    shuttle::future::block_on(spawn_join!(
        shuttle::future::spawn,
        shuttle::future::yield_now,
        counted,
        W1_TASKS
    ));
}

// The channel is `Rc`-based, so the W3 tasks are `!Send`: shuttle runs them with
// `spawn_local` (the same executor as `spawn`, without the bound).
fn shuttle_w3() {
    shuttle::future::block_on(ping_pong!(shuttle::future::spawn_local, plain));
}

fn shuttle_w3_counted() {
    shuttle::future::block_on(ping_pong!(shuttle::future::spawn_local, counted));
}

// shuttle has no async mutex; its `BatchSemaphore` (tokio's semaphore, modelled) with
// one permit and strict fairness is one, FIFO like seedloop's `Lock` and tokio's
// `Mutex`. The counter is an atomic: shuttle's tasks must be `Send`.
fn shuttle_w2_body(counted_run: bool) {
    use shuttle::future::batch_semaphore::{BatchSemaphore, Fairness};
    use std::sync::atomic::AtomicU64 as Counter;
    use std::sync::Arc;
    let work = async move {
        let lock = Arc::new((
            BatchSemaphore::new(1, Fairness::StrictlyFair),
            Counter::new(0),
        ));
        let handles: Vec<_> = (0..W2_TASKS)
            .map(|_| {
                let lock = lock.clone();
                let task = async move {
                    for _ in 0..W2_ROUNDS {
                        lock.0.acquire(1).await.expect("never closed");
                        let read = lock.1.load(Ordering::Relaxed);
                        shuttle::future::yield_now().await;
                        lock.1.store(read + 1, Ordering::Relaxed);
                        lock.0.release(1);
                    }
                };
                if counted_run {
                    shuttle::future::spawn(counted(task))
                } else {
                    shuttle::future::spawn(plain(task))
                }
            })
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
        assert_eq!(lock.1.load(Ordering::Relaxed), W2_TASKS * W2_ROUNDS);
    };
    if counted_run {
        shuttle::future::block_on(counted(work));
    } else {
        shuttle::future::block_on(plain(work));
    }
}

fn shuttle_w2() {
    shuttle_w2_body(false);
}

fn shuttle_w2_counted() {
    shuttle_w2_body(true);
}

fn main() {
    let config = Config::from_env();
    let started = Instant::now();
    println!(
        "seedloop workloads ({} mode: {} samples of ~{} ms per row, medians)",
        if config.quick { "quick" } else { "full" },
        config.samples,
        config.target.as_millis()
    );
    let mut goals = Vec::new();
    let mut infos = Vec::new();

    if config.wants("w1") {
        // W1 spawn-join.
        let mut w1 =
            seedloop_rows(|| spawn_join!(seedloop::spawn, seedloop::yield_now, plain, W1_TASKS));
        w1.push(tokio_row(
            "tokio current-thread",
            false,
            || spawn_join!(tokio::spawn, tokio::task::yield_now, plain, W1_TASKS),
            || spawn_join!(tokio::spawn, tokio::task::yield_now, counted, W1_TASKS),
        ));
        // For reference: tokio's `!Send` path, which W3 has to use.
        w1.push(tokio_row(
            "tokio current-thread, LocalSet",
            false,
            || {
                in_local_set(spawn_join!(
                    tokio::task::spawn_local,
                    tokio::task::yield_now,
                    plain,
                    W1_TASKS
                ))
            },
            || {
                in_local_set(spawn_join!(
                    tokio::task::spawn_local,
                    tokio::task::yield_now,
                    counted,
                    W1_TASKS
                ))
            },
        ));
        w1.push(shuttle_row(
            "shuttle check_random",
            false,
            shuttle_w1,
            shuttle_w1_counted,
        ));
        w1.push(shuttle_row(
            "shuttle check_pct(3)",
            true,
            shuttle_w1,
            shuttle_w1_counted,
        ));
        w1.push(floor_row(FLOOR, || {
            spawn_join!(floor::spawn, floor::yield_now, plain, W1_TASKS)
        }));
        w1.push(raw_floor_row(RAW_FLOOR, || {
            spawn_join!(floor::spawn, floor::yield_now, plain, W1_TASKS)
        }));
        measure(&config, &mut w1);
        print_table(
            &format!("W1 spawn-join: {W1_TASKS} tasks x {W1_YIELDS} yields"),
            &w1,
            false,
        );
        let random = row(&w1, "seedloop Random").ns_per_step();
        goals.push(goal(
            "W1 seedloop Random / tokio, ns/step",
            random / row(&w1, "tokio current-thread").ns_per_step(),
            0.7,
        ));
        goals.push(goal(
            "W1 seedloop Pct{depth:3} / Random, ns/step",
            row(&w1, "seedloop Pct{depth:3}").ns_per_step() / random,
            1.5,
        ));
        goals.push(goal(
            "W1 seedloop Random, trace on / trace off, ns/step",
            random / row(&w1, "seedloop Random, trace off").ns_per_step(),
            2.0,
        ));
        infos.push(info(
            "W1 seedloop Random / shuttle check_random, ns/step",
            random / row(&w1, "shuttle check_random").ns_per_step(),
        ));
        infos.push(info(
            "W1 seedloop Random / floor executor, ns/step",
            random / row(&w1, FLOOR).ns_per_step(),
        ));
        infos.push(info(
            "W1 floor executor / tokio, ns/step",
            row(&w1, FLOOR).ns_per_step() / row(&w1, "tokio current-thread").ns_per_step(),
        ));
        goals.push(goal(
            "W1 seedloop Random / raw-waker floor, ns/step (trace on)",
            random / row(&w1, RAW_FLOOR).ns_per_step(),
            1.3,
        ));
    }

    if config.wants("w2") {
        // W2 lock contention.
        let mut w2 = seedloop_rows(|| {
            lock_contention!(
                seedloop::spawn,
                seedloop::yield_now,
                plain,
                std::rc::Rc::new(seedloop::sync::Lock::new(0u64))
            )
        });
        w2.push(tokio_row(
            "tokio current-thread, Mutex",
            false,
            || {
                lock_contention!(
                    tokio::spawn,
                    tokio::task::yield_now,
                    plain,
                    std::sync::Arc::new(tokio::sync::Mutex::new(0u64))
                )
            },
            || {
                lock_contention!(
                    tokio::spawn,
                    tokio::task::yield_now,
                    counted,
                    std::sync::Arc::new(tokio::sync::Mutex::new(0u64))
                )
            },
        ));
        w2.push(shuttle_row(
            "shuttle check_random",
            false,
            shuttle_w2,
            shuttle_w2_counted,
        ));
        w2.push(shuttle_row(
            "shuttle check_pct(3)",
            true,
            shuttle_w2,
            shuttle_w2_counted,
        ));
        measure(&config, &mut w2);
        print_table(
            &format!("W2 lock contention: {W2_TASKS} tasks x {W2_ROUNDS} lock rounds"),
            &w2,
            false,
        );
        infos.push(info(
            "W2 seedloop Random / tokio Mutex, ns/step",
            row(&w2, "seedloop Random").ns_per_step()
                / row(&w2, "tokio current-thread, Mutex").ns_per_step(),
        ));
        infos.push(info(
            "W2 seedloop Random / shuttle check_random, ns/step",
            row(&w2, "seedloop Random").ns_per_step()
                / row(&w2, "shuttle check_random").ns_per_step(),
        ));
        infos.push(info(
            "W2 seedloop Random, trace on / trace off, ns/step",
            row(&w2, "seedloop Random").ns_per_step()
                / row(&w2, "seedloop Random, trace off").ns_per_step(),
        ));
    }

    if config.wants("w3") {
        // W3 ping-pong.
        let mut w3 = seedloop_rows(|| ping_pong!(seedloop::spawn, plain));
        // The channel is `Rc`-based (the same code as for seedloop), so tokio runs the
        // two tasks with `spawn_local` on a `LocalSet`.
        w3.push(tokio_row(
            "tokio current-thread, LocalSet",
            false,
            || in_local_set(ping_pong!(tokio::task::spawn_local, plain)),
            || in_local_set(ping_pong!(tokio::task::spawn_local, counted)),
        ));
        w3.push(shuttle_row(
            "shuttle check_random",
            false,
            shuttle_w3,
            shuttle_w3_counted,
        ));
        w3.push(shuttle_row(
            "shuttle check_pct(3)",
            true,
            shuttle_w3,
            shuttle_w3_counted,
        ));
        w3.push(floor_row(FLOOR, || ping_pong!(floor::spawn, plain)));
        w3.push(raw_floor_row(RAW_FLOOR, || ping_pong!(floor::spawn, plain)));
        measure(&config, &mut w3);
        print_table(
            &format!("W3 ping-pong: {W3_MESSAGES} messages over two channels of capacity 1"),
            &w3,
            false,
        );
        goals.push(goal(
            "W3 seedloop Random / tokio, ns/step",
            row(&w3, "seedloop Random").ns_per_step()
                / row(&w3, "tokio current-thread, LocalSet").ns_per_step(),
            0.7,
        ));
        infos.push(info(
            "W3 seedloop Random / shuttle check_random, ns/step",
            row(&w3, "seedloop Random").ns_per_step()
                / row(&w3, "shuttle check_random").ns_per_step(),
        ));
        infos.push(info(
            "W3 seedloop Random / floor executor, ns/step",
            row(&w3, "seedloop Random").ns_per_step() / row(&w3, FLOOR).ns_per_step(),
        ));
        infos.push(info(
            "W3 floor executor / tokio, ns/step",
            row(&w3, FLOOR).ns_per_step()
                / row(&w3, "tokio current-thread, LocalSet").ns_per_step(),
        ));
        goals.push(goal(
            "W3 seedloop Random / raw-waker floor, ns/step (trace on)",
            row(&w3, "seedloop Random").ns_per_step() / row(&w3, RAW_FLOOR).ns_per_step(),
            1.3,
        ));
    }

    if config.wants("w4") {
        // W4 timers.
        let durations = w4_durations();
        let mut w4 = seedloop_rows(move || {
            timers!(seedloop::spawn, seedloop::time::sleep, plain, durations)
        });
        w4.push(tokio_row(
            "tokio current-thread, paused",
            true,
            move || timers!(tokio::spawn, tokio::time::sleep, plain, durations),
            move || timers!(tokio::spawn, tokio::time::sleep, counted, durations),
        ));
        measure(&config, &mut w4);
        print_table(
            &format!("W4 timers: {W4_TASKS} tasks x {W4_SLEEPS} sleeps of 1 ms..10 s (virtual)"),
            &w4,
            true,
        );
        goals.push(goal(
            "W4 seedloop Random / tokio, ns/sleep",
            row(&w4, "seedloop Random").ns_per_iteration()
                / row(&w4, "tokio current-thread, paused").ns_per_iteration(),
            0.6,
        ));
    }

    if config.wants("w5") {
        // W5 TCP echo, beside turmoil.
        w5::section(&config, &mut goals, &mut infos);
    }

    if config.wants("flatness") {
        // Flatness: W1 with N tasks. Fifo, tokio and the floor executor are there for
        // reference: they show how much of a slope comes from the working set
        // outgrowing the caches (and, for the floor, from picking a random task among
        // N) rather than from seedloop.
        let mut flat = Vec::new();
        for (label, policy) in [
            ("Random", Policy::Random),
            ("Pct{depth:3}", Policy::Pct { depth: 3 }),
            ("Fifo", Policy::Fifo),
        ] {
            for tasks in FLAT_TASKS {
                flat.push(seedloop_row(
                    &format!("seedloop {label}, N={tasks}"),
                    policy.clone(),
                    true,
                    move || spawn_join!(seedloop::spawn, seedloop::yield_now, plain, tasks),
                ));
            }
        }
        for tasks in FLAT_TASKS {
            flat.push(tokio_row(
                &format!("tokio current-thread, N={tasks}"),
                false,
                move || spawn_join!(tokio::spawn, tokio::task::yield_now, plain, tasks),
                move || spawn_join!(tokio::spawn, tokio::task::yield_now, counted, tasks),
            ));
        }
        for tasks in FLAT_TASKS {
            flat.push(floor_row(&format!("{FLOOR}, N={tasks}"), move || {
                spawn_join!(floor::spawn, floor::yield_now, plain, tasks)
            }));
            flat.push(raw_floor_row(
                &format!("{RAW_FLOOR}, N={tasks}"),
                move || spawn_join!(floor::spawn, floor::yield_now, plain, tasks),
            ));
        }
        measure(&config, &mut flat);
        print_table(
            &format!("Flatness: N tasks x {W1_YIELDS} yields (trace on)"),
            &flat,
            false,
        );
        let flatness = |prefix: &str| {
            let values: Vec<f64> = FLAT_TASKS
                .iter()
                .map(|tasks| row(&flat, &format!("{prefix}, N={tasks}")).ns_per_step())
                .collect();
            let max = values.iter().copied().fold(f64::MIN, f64::max);
            let min = values.iter().copied().fold(f64::MAX, f64::min);
            max / min
        };
        let first = FLAT_TASKS[0];
        let last = FLAT_TASKS[FLAT_TASKS.len() - 1];
        for label in ["Random", "Pct{depth:3}"] {
            goals.push(goal(
                &format!("Flatness seedloop {label}: max / min ns/step, N={first}..{last}"),
                flatness(&format!("seedloop {label}")),
                2.0,
            ));
        }
        goals.push(goal(
            &format!("Flatness seedloop Random / raw-waker floor's, growth N={first}..{last}"),
            flatness("seedloop Random") / flatness(RAW_FLOOR),
            1.3,
        ));
        for (label, prefix) in [
            ("seedloop Fifo", "seedloop Fifo"),
            ("tokio current-thread", "tokio current-thread"),
            ("floor executor", FLOOR),
            ("raw-waker floor", RAW_FLOOR),
        ] {
            infos.push(info(
                &format!("Flatness {label}: max / min ns/step, N={first}..{last}"),
                flatness(prefix),
            ));
        }
    }

    println!();
    println!("Goals (ratios of medians; W5's µs per round trip is a median itself)");
    for line in &goals {
        println!("{line}");
    }
    println!();
    println!("For information");
    for line in &infos {
        println!("{line}");
    }
    println!();
    println!("total bench time: {:.1} s", started.elapsed().as_secs_f64());
}
