//! A parallel sweep reports what a serial sweep reports: the smallest failing seed of
//! the range, the same failure, the same summary; and its determinism check runs.

mod common;

use common::overdraft;

use seedloop::harness::env::EnvConfig;
use seedloop::{Check, Failure, Summary};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Fails on about one seed in `one_in` (by the program's own seeded randomness, drawn
/// after a few interleaved steps), so a range holds several failing seeds.
async fn fails_one_seed_in(one_in: u32) {
    let tasks: Vec<_> = (0..3)
        .map(|_| {
            seedloop::spawn(async {
                seedloop::yield_now().await;
                seedloop::rand::random::<u32>()
            })
        })
        .collect();
    let mut sum = 0u32;
    for task in tasks {
        sum = sum.wrapping_add(task.await.unwrap());
    }
    assert!(!sum.is_multiple_of(one_in), "unlucky sum {sum}");
}

/// Deadlocks when the seed's first random number is even.
async fn sometimes_deadlocks() {
    let event = Rc::new(seedloop::sync::Event::new());
    let setter = event.clone();
    let set = seedloop::rand::random::<u32>() % 2 == 1;
    drop(seedloop::spawn(async move {
        seedloop::yield_now().await;
        if set {
            setter.set();
        }
    }));
    event.wait().await;
}

async fn always_passes() {
    let task = seedloop::spawn(async { seedloop::yield_now().await });
    task.await.unwrap();
}

fn check(seeds: std::ops::Range<u64>) -> Check {
    Check::new()
        .seeds(seeds)
        .env(EnvConfig::default())
        .name("parallel_sweeps")
}

fn assert_same_failure(parallel: &Failure, serial: &Failure) {
    assert_eq!(parallel.seed, serial.seed);
    assert_eq!(parallel.kind, serial.kind);
    assert_eq!(parallel.trace.to_string(), serial.trace.to_string());
    assert_eq!(parallel.config, serial.config);
    assert_eq!(parallel.replay_command(), serial.replay_command());
    assert_eq!(parallel.to_string(), serial.to_string());
}

fn assert_same_summary(parallel: &Summary, serial: &Summary, jobs: usize) {
    assert_eq!(parallel.seeds, serial.seeds);
    assert_eq!(parallel.seeds_run, serial.seeds_run);
    assert_eq!(parallel.steps, serial.steps);
    assert_eq!(parallel.determinism_checked, serial.determinism_checked);
    assert_eq!((parallel.jobs, serial.jobs), (jobs, 1));
}

/// Runs `program` over `seeds` serially and on 2, 3 and 5 workers, and compares.
fn compare<Fut: std::future::Future<Output = ()>>(
    seeds: std::ops::Range<u64>,
    program: fn() -> Fut,
) -> Option<u64> {
    let serial = check(seeds.clone()).try_run(program);
    for jobs in [2, 3, 5] {
        let parallel = check(seeds.clone()).jobs(jobs).try_run_parallel(program);
        match (&parallel, &serial) {
            (Ok(parallel), Ok(serial)) => {
                // Never more workers than seeds.
                let workers = jobs.min((seeds.end - seeds.start) as usize);
                assert_same_summary(parallel, serial, workers)
            }
            (Err(parallel), Err(serial)) => assert_same_failure(parallel, serial),
            _ => panic!("{jobs} jobs: parallel {parallel:?}, serial {serial:?}"),
        }
    }
    serial.err().map(|failure| failure.seed)
}

#[test]
fn a_parallel_sweep_reports_the_smallest_failing_seed_as_a_serial_sweep_does() {
    let ranges = [0..40, 17..300, 1_000..1_001, u64::MAX - 30..u64::MAX];
    for range in ranges.clone() {
        compare(range.clone(), || fails_one_seed_in(3));
        compare(range.clone(), || fails_one_seed_in(50));
        compare(range.clone(), overdraft);
        compare(range.clone(), sometimes_deadlocks);
        compare(range, always_passes);
    }
    // Ranges with several failing seeds, the first of them late in the range.
    let failing: Vec<u64> = (0..400)
        .filter(|&seed| {
            check(seed..seed + 1)
                .try_run(|| fails_one_seed_in(50))
                .is_err()
        })
        .collect();
    assert!(failing.len() >= 3, "{failing:?}");
    for pair in failing.windows(2) {
        let found = compare(pair[0] - pair[0].min(37)..pair[1] + 40, || {
            fails_one_seed_in(50)
        });
        assert!(found.is_some_and(|seed| seed <= pair[0]));
    }
}

#[test]
fn a_parallel_sweep_still_checks_determinism() {
    static RUNS: AtomicU64 = AtomicU64::new(0);
    // Spawns one task more on every other run: the first seed's two runs differ.
    let program = || async {
        let extra = RUNS.fetch_add(1, Ordering::Relaxed) % 2 == 1;
        if extra {
            seedloop::spawn(async {}).await.unwrap();
        }
    };
    let parallel = check(5..500).jobs(2).try_run_parallel(program).unwrap_err();
    assert_eq!(parallel.seed, 5);
    assert_eq!(parallel.kind.name(), "nondeterminism", "{parallel}");
    // Every seed, when asked: the summary counts them.
    let summary = check(0..50)
        .jobs(2)
        .check_determinism(true)
        .run_parallel(always_passes);
    assert_eq!(summary.determinism_checked, 50);
}

#[test]
fn a_parallel_failure_names_the_test_that_ran_it() {
    let failure = Check::new()
        .seeds(0..200)
        .env(EnvConfig::default())
        .jobs(2)
        .try_run_parallel(overdraft)
        .unwrap_err();
    let test = std::thread::current().name().unwrap().to_string();
    assert_eq!(failure.thread_name.as_deref(), Some(test.as_str()));
    assert!(
        failure
            .replay_command()
            .ends_with(&format!("cargo test {test} -- --exact")),
        "{}",
        failure.replay_command()
    );
}

#[test]
fn a_panic_of_the_test_closure_reaches_the_caller() {
    let message = common::panic_message(|| {
        let _ = check(0..100).jobs(2).try_run_parallel(|| {
            panic!("the closure itself panicked");
            #[allow(unreachable_code)]
            always_passes()
        });
    });
    assert_eq!(message, "the closure itself panicked");
}

#[test]
fn seedloop_jobs_sets_the_workers_and_one_job_runs_in_order_on_the_calling_thread() {
    let env = |jobs: &str| EnvConfig::parse([("SEEDLOOP_JOBS", jobs)]).unwrap();
    let summary = Check::new()
        .seeds(0..30)
        .jobs(4)
        .env(env("3"))
        .run_parallel(always_passes);
    assert_eq!(summary.jobs, 3, "the environment overrides the builder");
    let caller = std::thread::current().id();
    let summary = Check::new().seeds(0..30).env(env("1")).run_parallel(|| {
        assert_eq!(std::thread::current().id(), caller);
        always_passes()
    });
    assert_eq!((summary.jobs, summary.seeds_run), (1, 30));
    // Never more workers than seeds.
    let summary = check(0..2).jobs(8).run_parallel(always_passes);
    assert_eq!(summary.jobs, 2);
    for bad in ["0", "1025", "many"] {
        let error = EnvConfig::parse([("SEEDLOOP_JOBS", bad)]).unwrap_err();
        assert_eq!(error.variable(), "SEEDLOOP_JOBS");
        assert!(error.to_string().contains("from 1 to 1024"), "{error}");
    }
    let message = common::panic_message(|| {
        let _ = Check::new().jobs(0);
    });
    assert!(message.contains("jobs(0) is invalid"), "{message}");
}
