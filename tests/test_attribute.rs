//! `#[seedloop::test]` as users write it: a sweep per test, arguments checked, other
//! attributes kept, failures carrying the replay line.

use std::cell::Cell;
use std::rc::Rc;

thread_local! {
    static RUNS: Cell<u64> = const { Cell::new(0) };
}

/// A body that counts its runs: one per seed, plus the first seed's determinism check.
#[seedloop::test(seeds = 20, policy = "fifo", max_steps = 10_000, max_time = "5s")]
async fn runs_once_per_seed_under_its_arguments() {
    RUNS.with(|runs| runs.set(runs.get() + 1));
    seedloop::time::sleep(std::time::Duration::from_secs(1)).await;
}

#[test]
fn the_attribute_ran_the_body_as_a_sweep() {
    RUNS.with(|runs| runs.set(0));
    runs_once_per_seed_under_its_arguments();
    assert_eq!(
        RUNS.with(Cell::get),
        21,
        "20 seeds and one determinism check"
    );
}

#[seedloop::test]
async fn a_body_may_return_a_result() -> Result<(), std::io::Error> {
    let answer: Result<u32, std::io::Error> = Ok(4);
    assert_eq!(answer?, 4);
    Ok(())
}

/// A lost update that some schedule exposes; the panic carries the replay line.
#[seedloop::test(seeds = 200)]
#[should_panic(expected = "SEEDLOOP_SEED=")]
async fn a_failing_seed_panics_with_the_replay_line() {
    let counter = Rc::new(Cell::new(0));
    let tasks: Vec<_> = (0..2)
        .map(|_| {
            let counter = counter.clone();
            seedloop::spawn(async move {
                let seen = counter.get();
                seedloop::yield_now().await;
                counter.set(seen + 1);
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(counter.get(), 2, "lost update");
}

#[seedloop::test]
#[should_panic(expected = "the test returned an error")]
async fn an_err_fails_the_run() -> Result<(), String> {
    Err("refused".to_string())
}

/// Kept out of the default run: `#[ignore]` passes through.
#[seedloop::test]
#[ignore = "shows that #[ignore] is kept"]
async fn ignored_is_kept() {
    panic!("an ignored test must not run");
}

/// The replay line's test path, asked for exactly: a bare filter would also run every
/// test whose name contains this one's (`..._replay_line_moved`, say) under the forced
/// seed.
#[test]
fn the_replay_line_names_exactly_the_test() {
    let panic = std::panic::catch_unwind(a_failing_seed_panics_with_the_replay_line)
        .expect_err("the sweep fails");
    let report = panic.downcast_ref::<String>().unwrap();
    assert!(
        report.lines().any(|line| line
            .ends_with("cargo test a_failing_seed_panics_with_the_replay_line -- --exact")),
        "{report}"
    );
}

mod bank {
    use std::cell::Cell;
    use std::rc::Rc;

    /// The same lost update, one module down.
    #[seedloop::test(seeds = 200)]
    #[should_panic(expected = "SEEDLOOP_SEED=")]
    pub async fn loses_an_update() {
        let counter = Rc::new(Cell::new(0));
        let worker = {
            let counter = counter.clone();
            seedloop::spawn(async move {
                let seen = counter.get();
                seedloop::yield_now().await;
                counter.set(seen + 1);
            })
        };
        let seen = counter.get();
        seedloop::yield_now().await;
        counter.set(seen + 1);
        worker.await.unwrap();
        assert_eq!(counter.get(), 2, "lost update");
    }
}

/// A test in a module is named by its path below the crate, as libtest names it.
#[test]
fn the_replay_line_names_a_test_in_a_module_by_its_path() {
    let panic = std::panic::catch_unwind(bank::loses_an_update).expect_err("the sweep fails");
    let report = panic.downcast_ref::<String>().unwrap();
    assert!(
        report
            .lines()
            .any(|line| line.ends_with("cargo test bank::loses_an_update -- --exact")),
        "{report}"
    );
}

/// `seedloop::rand` carries the `rand` traits its values need: no `rand` dependency.
#[seedloop::test(seeds = 5)]
async fn rand_traits_come_with_seedloop() {
    use seedloop::rand::{Rng, SliceRandom};
    let mut rng = seedloop::rand::rng();
    let roll = rng.random_range(1..=6);
    assert!((1..=6).contains(&roll));
    let mut cards = [1, 2, 3, 4];
    cards.shuffle(&mut rng);
    cards.sort();
    assert_eq!(cards, [1, 2, 3, 4]);
}
