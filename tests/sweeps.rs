//! What a sweep runs: every seed it names, u64::MAX included, and never nothing.

mod common;

use seedloop::harness::env::EnvConfig;
use seedloop::{CancelExplorer, Check, Sim};
use std::cell::Cell;

/// Two tasks that yield, so that the schedule depends on the seed.
async fn two_yielders() {
    let a = seedloop::spawn(async {
        seedloop::yield_now().await;
    });
    let b = seedloop::spawn(async {
        seedloop::yield_now().await;
    });
    a.await.unwrap();
    b.await.unwrap();
}

async fn yield_then_panic() {
    two_yielders().await;
    panic!("found");
}

#[test]
fn seedloop_seed_u64_max_runs_that_seed() {
    let env = || EnvConfig::parse([("SEEDLOOP_SEED", u64::MAX.to_string())]).unwrap();
    let runs = Cell::new(0);
    let summary = Check::new()
        .env(env())
        .try_run(|| {
            runs.set(runs.get() + 1);
            two_yielders()
        })
        .unwrap();
    assert_eq!(summary.seeds_run, 1);
    assert_eq!(runs.get(), 2, "the seed, and its determinism check");
    // A failure under it names it and replays.
    let failure = Check::new()
        .env(env())
        .try_run(yield_then_panic)
        .unwrap_err();
    assert_eq!(failure.seed, u64::MAX);
    let (replay, again) = common::run_twice(|| failure.sim(), yield_then_panic);
    assert_eq!(again.unwrap_err().kind, failure.kind);
    assert_eq!(replay.trace().to_string(), failure.trace.to_string());
    assert_eq!(failure.trace.to_string(), {
        let mut sim = Sim::new(u64::MAX);
        let _ = sim.run(async {
            two_yielders().await;
            panic!("found");
        });
        sim.trace().to_string()
    });
}

#[test]
fn a_sweep_up_to_u64_max_runs_every_seed_up_to_it() {
    let runs = Cell::new(0);
    let summary = Check::new()
        .seeds(u64::MAX - 2..u64::MAX)
        .env(EnvConfig::parse([("SEEDLOOP_SEEDS", "10")]).unwrap())
        .try_run(|| {
            runs.set(runs.get() + 1);
            two_yielders()
        })
        .unwrap();
    // u64::MAX - 2, u64::MAX - 1 and u64::MAX: the last seed there is.
    assert_eq!(summary.seeds_run, 3);
    assert_eq!(runs.get(), 4);
    assert_eq!(summary.seeds.start, u64::MAX - 2);
}

#[test]
fn seedloop_seeds_zero_is_an_error() {
    let error = EnvConfig::parse([("SEEDLOOP_SEEDS", "0")]).unwrap_err();
    assert_eq!(error.variable(), "SEEDLOOP_SEEDS");
    assert!(error.to_string().contains("must be at least 1"), "{error}");
}

#[test]
fn an_empty_seed_range_is_an_error() {
    for message in [
        common::panic_message(|| {
            let _ = Check::new().seeds(5..5);
        }),
        common::panic_message(|| {
            let (start, end) = (7, 3);
            let _ = CancelExplorer::new("worker").seeds(start..end);
        }),
    ] {
        assert!(message.contains("runs no seed"), "{message}");
        assert!(message.contains("at least one seed"), "{message}");
    }
    // `check(0, ..)` names the call the user wrote, not the range it builds.
    for (message, call) in [
        (
            common::panic_message(|| seedloop::check(0, || async {})),
            "seedloop::check(0, ..)",
        ),
        (
            common::panic_message(|| seedloop::check_parallel(0, || async {})),
            "seedloop::check_parallel(0, ..)",
        ),
    ] {
        assert!(message.starts_with(call), "{message}");
        assert!(message.contains("at least one seed"), "{message}");
    }
}

#[test]
fn the_summary_counts_the_seeds_that_ran() {
    let summary = Check::new()
        .seeds(10..35)
        .env(EnvConfig::default())
        .run(two_yielders);
    assert_eq!(summary.seeds, 10..35);
    assert_eq!(summary.seeds_run, 25);
    let summary = Check::new()
        .seeds(10..35)
        .env(EnvConfig::parse([("SEEDLOOP_SEEDS", "3")]).unwrap())
        .run(two_yielders);
    assert_eq!((summary.seeds, summary.seeds_run), (10..13, 3));
}

fn env<const N: usize>(pairs: [(&str, &str); N]) -> EnvConfig {
    EnvConfig::parse(pairs).unwrap()
}

#[test]
fn partitions_are_disjoint_and_their_union_is_the_whole_range() {
    use seedloop::harness::Partition;
    let ranges = [
        0..=0,
        0..=9,
        5..=6,
        100..=1_099,
        u64::MAX - 6..=u64::MAX,
        0..=u64::MAX,
    ];
    for range in ranges {
        for count in [1, 2, 3, 7, 64] {
            let slices: Vec<_> = (1..=count)
                .filter_map(|index| Partition::new(index, count).slice(range.clone()))
                .collect();
            // In order, each starting right after the last: disjoint, and no gap.
            assert_eq!(*slices[0].start(), *range.start());
            assert_eq!(*slices.last().unwrap().end(), *range.end());
            for pair in slices.windows(2) {
                assert_eq!(*pair[0].end() as u128 + 1, *pair[1].start() as u128);
            }
            // Sizes differ by at most one seed.
            let sizes: Vec<u128> = slices
                .iter()
                .map(|slice| *slice.end() as u128 - *slice.start() as u128 + 1)
                .collect();
            let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
            assert!(max - min <= 1, "{sizes:?}");
        }
    }
}

#[test]
fn seedloop_partition_runs_one_slice_and_the_slices_cover_the_sweep() {
    let mut covered = Vec::new();
    for index in 1..=3 {
        let partition = format!("{index}/3");
        let summary = Check::new()
            .seeds(10..20)
            .env(env([("SEEDLOOP_PARTITION", partition.as_str())]))
            .run(two_yielders);
        assert_eq!(summary.partition.unwrap().to_string(), partition);
        covered.extend(summary.seeds.clone());
        assert_eq!(summary.seeds_run, summary.seeds.end - summary.seeds.start);
    }
    assert_eq!(covered, (10..20).collect::<Vec<_>>());
    // A slice with no seed (fewer seeds than partitions) passes having run none.
    let summary = Check::new()
        .seeds(0..2)
        .env(env([("SEEDLOOP_PARTITION", "3/4")]))
        .run_parallel(two_yielders);
    assert_eq!(summary.seeds_run, 0);
    for bad in ["0/2", "3/2", "2", "1/0", "a/b"] {
        let error = EnvConfig::parse([("SEEDLOOP_PARTITION", bad)]).unwrap_err();
        assert!(
            error.to_string().contains("k/n with 1 <= k <= n"),
            "{error}"
        );
    }
}

#[test]
fn a_failure_found_in_a_partition_replays_from_its_seed_alone() {
    // The machine running slice 2 of 2 finds it...
    let failure = Check::new()
        .seeds(0..100)
        .env(env([("SEEDLOOP_PARTITION", "2/2")]))
        .try_run_parallel(yield_then_panic)
        .unwrap_err();
    assert_eq!(failure.seed, 50, "the first seed of the second slice");
    let line = failure.replay_command();
    assert!(!line.contains("PARTITION"), "{line}");
    // ...and a laptop replays it with the line's variables; a partition left in the
    // environment does not hide the seed.
    let mut assignments = common::replay_assignments(&line);
    assignments.push(("SEEDLOOP_PARTITION".to_string(), "1/2".to_string()));
    let again = Check::new()
        .seeds(0..100)
        .env(EnvConfig::parse(assignments).unwrap())
        .try_run(yield_then_panic)
        .unwrap_err();
    assert_eq!(again.seed, 50);
    assert_eq!(again.trace.to_string(), failure.trace.to_string());
}

/// A program whose test closure takes `millis` of real time to build it (outside
/// the simulation: a sweep's time is real time).
fn slow_closure(
    millis: u64,
) -> impl Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> + Sync {
    move || {
        std::thread::sleep(std::time::Duration::from_millis(millis));
        Box::pin(two_yielders())
    }
}

#[test]
fn a_time_budget_stops_taking_seeds_once_it_is_spent() {
    use std::time::{Duration, Instant};
    let budget = Duration::from_millis(300);
    for parallel in [false, true] {
        let check = Check::new()
            .seeds(0..10_000)
            .env(EnvConfig::default())
            .time_budget(budget)
            .jobs(2);
        let start = Instant::now();
        let summary = if parallel {
            check.run_parallel(slow_closure(10))
        } else {
            check.run(slow_closure(10))
        };
        let elapsed = start.elapsed();
        assert!(summary.budget_spent, "{summary}");
        assert!((2..10_000).contains(&summary.seeds_run), "{summary}");
        // The seeds that ran are a prefix of the range.
        assert_eq!(summary.seeds, 0..summary.seeds_run);
        assert!(summary
            .to_string()
            .contains("stopped by its time budget of 300ms"));
        // A seed that began runs to its end; none begins after the deadline. (A
        // generous bound: the machine may be busy with other builds.)
        assert!(elapsed < budget + Duration::from_secs(5), "{elapsed:?}");
    }
}

#[test]
fn a_time_budget_never_passes_having_run_nothing() {
    let summary = Check::new()
        .seeds(0..100)
        .env(EnvConfig::default())
        .time_budget(std::time::Duration::from_millis(1))
        .run(slow_closure(20));
    assert_eq!((summary.seeds_run, summary.seeds), (1, 0..1));
    assert_eq!(summary.determinism_checked, 1);
    for bad in ["0s", "30", "5 min", "1.5s", "8d", "169h"] {
        let error = EnvConfig::parse([("SEEDLOOP_TIME_BUDGET", bad)]).unwrap_err();
        assert!(
            error.to_string().contains("such as 30s or 5m"),
            "{bad}: {error}"
        );
    }
}

#[test]
fn seedloop_time_budget_lifts_the_seed_count_and_seedloop_seeds_caps_it() {
    // The environment's budget replaces the code's count: as many seeds as fit.
    let summary = Check::new()
        .seeds(0..3)
        .env(env([("SEEDLOOP_TIME_BUDGET", "200ms")]))
        .run(slow_closure(5));
    assert!(summary.seeds_run > 3, "{summary}");
    assert!(summary.budget_spent);
    assert_eq!(
        summary.time_budget,
        Some(std::time::Duration::from_millis(200))
    );
    // With SEEDLOOP_SEEDS too, the count caps it.
    let summary = Check::new()
        .seeds(0..3)
        .env(env([
            ("SEEDLOOP_TIME_BUDGET", "5m"),
            ("SEEDLOOP_SEEDS", "8"),
        ]))
        .run(two_yielders);
    assert_eq!((summary.seeds_run, summary.budget_spent), (8, false));
    // A replayed seed is one execution: no budget applies.
    let summary = Check::new()
        .env(env([
            ("SEEDLOOP_TIME_BUDGET", "5m"),
            ("SEEDLOOP_SEED", "9"),
        ]))
        .run(two_yielders);
    assert_eq!((summary.seeds, summary.time_budget), (9..10, None));
}

/// Run by `progress_is_silent_when_stderr_is_not_a_terminal` in a child process: a
/// sweep of about 1.5 s, long enough to show progress on a terminal.
#[test]
fn long_sweep_for_the_progress_check() {
    if std::env::var_os("SWEEPS_PROGRESS_CHILD").is_none() {
        return;
    }
    let summary = Check::new()
        .seeds(0..1_000_000)
        .env(env([("SEEDLOOP_TIME_BUDGET", "1500ms")]))
        .run_parallel(slow_closure(1));
    eprintln!("child done: {summary}");
}

#[test]
fn progress_is_silent_when_stderr_is_not_a_terminal() {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "long_sweep_for_the_progress_check",
            "--exact",
            "--nocapture",
        ])
        .env("SWEEPS_PROGRESS_CHILD", "1")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("child done: ran "),
        "the sweep ran: {stderr}"
    );
    assert!(!stderr.contains("seeds/s"), "no progress line: {stderr}");
    assert!(!stderr.contains('\r'), "{stderr}");
}
