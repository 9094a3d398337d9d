//! Sweep throughput: seeds per second of a small test, serially and on every core, and
//! shuttle's `check_random` on the same program in the same run.
//!
//! `cargo bench --bench sweeps`
//!
//! The program is three tasks that each bump a shared counter and yield five times
//! (about 22 scheduling steps a seed with main's polls). A serial sweep
//! (`Check::try_run`) and a parallel one (`Check::try_run_parallel`, one worker per
//! available core) run the same seed range; the bench checks that their summaries
//! (seeds, steps, determinism checks) are identical, and that on a program that fails
//! on some seeds both report the same smallest failing seed with the same trace. Each
//! row is the median of 5 samples of about a second each, the rows' samples taken in
//! turn (the machine is shared with other builds: a busy spell slows every row), and
//! the speed-up is the median of each round's parallel / serial. shuttle runs the same
//! program (`spawn_local`, an `Rc<Cell>` counter) under `check_random`, one
//! execution per iteration; its rate is executions per second.
//!
//! `SEEDLOOP_BENCH_QUICK=1` (or `--quick`) takes shorter samples, for a smoke run.

use seedloop::harness::env::EnvConfig;
use seedloop::Check;
use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

const TASKS: usize = 3;
const YIELDS: usize = 5;
const SAMPLES: usize = 5;

async fn three_tasks() {
    let counter = Rc::new(Cell::new(0));
    let handles: Vec<_> = (0..TASKS)
        .map(|_| {
            let counter = counter.clone();
            seedloop::spawn(async move {
                for _ in 0..YIELDS {
                    counter.set(counter.get() + 1);
                    seedloop::yield_now().await;
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await.unwrap();
    }
    assert_eq!(counter.get(), TASKS * YIELDS);
}

/// The same program, failing on about one seed in 2,000: a task draws an unlucky
/// number (the program's seeded randomness) after its yields.
async fn three_tasks_unlucky() {
    let handles: Vec<_> = (0..TASKS)
        .map(|_| {
            seedloop::spawn(async move {
                for _ in 0..YIELDS {
                    seedloop::yield_now().await;
                }
                let draw: u32 = seedloop::rand::random();
                assert!(!draw.is_multiple_of(6_000), "unlucky");
            })
        })
        .collect();
    for handle in handles {
        handle.await.unwrap();
    }
}

fn shuttle_three_tasks() {
    shuttle::future::block_on(async {
        let counter = Rc::new(Cell::new(0));
        let handles: Vec<_> = (0..TASKS)
            .map(|_| {
                let counter = counter.clone();
                shuttle::future::spawn_local(async move {
                    for _ in 0..YIELDS {
                        counter.set(counter.get() + 1);
                        shuttle::future::yield_now().await;
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
        assert_eq!(counter.get(), TASKS * YIELDS);
    });
}

fn check(seeds: u64) -> Check {
    Check::new().seeds(0..seeds).env(EnvConfig::default())
}

/// A count of seeds (or executions) for which `run` takes about `target`.
fn calibrate(target: Duration, mut run: impl FnMut(u64)) -> u64 {
    let mut count = 1_000;
    loop {
        let start = Instant::now();
        run(count);
        let elapsed = start.elapsed();
        if elapsed >= target / 4 {
            return (count as f64 * target.as_secs_f64() / elapsed.as_secs_f64()) as u64;
        }
        count *= 4;
    }
}

/// The rate of one `run(count)`, per second.
fn sample(count: u64, run: &mut impl FnMut(u64)) -> f64 {
    let start = Instant::now();
    run(count);
    count as f64 / start.elapsed().as_secs_f64()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let quick = std::env::var_os("SEEDLOOP_BENCH_QUICK").is_some()
        || std::env::args().any(|arg| arg == "--quick");
    let target = if quick {
        Duration::from_millis(100)
    } else {
        Duration::from_secs(1)
    };
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    // Expected panics (the unlucky program's failures) would print each.
    std::panic::set_hook(Box::new(|_| {}));

    // Identical results first.
    let seeds = 50_000;
    let serial = check(seeds).try_run(three_tasks).unwrap();
    let parallel = check(seeds)
        .jobs(cores)
        .try_run_parallel(three_tasks)
        .unwrap();
    assert_eq!(
        (
            serial.seeds.clone(),
            serial.steps,
            serial.determinism_checked
        ),
        (
            parallel.seeds.clone(),
            parallel.steps,
            parallel.determinism_checked
        )
    );
    let steps_per_seed = serial.steps as f64 / serial.seeds_run as f64;
    let serial_failure = check(seeds).try_run(three_tasks_unlucky).unwrap_err();
    let parallel_failure = check(seeds)
        .jobs(cores)
        .try_run_parallel(three_tasks_unlucky)
        .unwrap_err();
    assert_eq!(serial_failure.seed, parallel_failure.seed);
    assert_eq!(
        serial_failure.trace.to_string(),
        parallel_failure.trace.to_string()
    );

    let mut serial = |count: u64| {
        check(count).try_run(three_tasks).unwrap();
    };
    let mut parallel = |count: u64| {
        check(count)
            .jobs(cores)
            .try_run_parallel(three_tasks)
            .unwrap();
    };
    let mut one_job = |count: u64| {
        check(count).jobs(1).try_run_parallel(three_tasks).unwrap();
    };
    let mut shuttle = |count: u64| shuttle::check_random(shuttle_three_tasks, count as usize);
    let count = calibrate(target, &mut serial);
    let shuttle_count = calibrate(target, &mut shuttle);
    // The rows' samples alternate, so that a machine busy for a while (other builds
    // share it) slows every row alike; the speed-up is the median of each round's.
    let mut rates: [Vec<f64>; 4] = Default::default();
    let mut speedups = Vec::new();
    for _ in 0..SAMPLES {
        let serial_rate = sample(count, &mut serial);
        let parallel_rate = sample(count, &mut parallel);
        rates[0].push(serial_rate);
        rates[1].push(parallel_rate);
        rates[2].push(sample(count, &mut one_job));
        rates[3].push(sample(shuttle_count, &mut shuttle));
        speedups.push(parallel_rate / serial_rate);
    }
    let [serial_rate, parallel_rate, one_job_rate, shuttle_rate] = rates.map(median);
    let speedup = median(speedups);

    println!(
        "sweep throughput: {TASKS} tasks x {YIELDS} yields, {steps_per_seed:.1} steps a seed, {cores} cores, median of {SAMPLES}\n"
    );
    println!("  {:<48} {:>14}", "", "seeds/s");
    println!(
        "  {:<48} {:>14.0}",
        "seedloop, serial (Check::try_run)", serial_rate
    );
    println!(
        "  {:<48} {:>14.0}",
        format!("seedloop, parallel on {cores} workers (try_run_parallel)"),
        parallel_rate
    );
    println!(
        "  {:<48} {:>14.0}",
        "seedloop, try_run_parallel with jobs(1)", one_job_rate
    );
    println!(
        "  {:<48} {:>14.0}",
        "shuttle check_random (executions/s)", shuttle_rate
    );
    println!();
    println!(
        "  parallel / serial: {:.2}x (goal >= 1.8x on 2 cores); serial seedloop / shuttle: {:.1}x",
        speedup,
        serial_rate / shuttle_rate
    );
    println!(
        "  identical results: {seeds} seeds, same summary; the unlucky program's smallest failing seed {} on both, same trace",
        serial_failure.seed
    );
}
