//! One seed, one execution: the rules that make a seed a replayable bug report.

mod common;

use seedloop::trace::EventKind;
use seedloop::{Check, FailureKind, Policy, Sim};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

/// A program with several ready tasks that yield, sleep and spawn.
async fn busy_program() -> Vec<u32> {
    let log = Rc::new(RefCell::new(Vec::new()));
    let mut handles = Vec::new();
    for index in 0..5u32 {
        let log = log.clone();
        handles.push(seedloop::spawn(async move {
            for round in 0..3u32 {
                log.borrow_mut().push(index * 10 + round);
                if round == 1 {
                    seedloop::time::sleep(Duration::from_millis(u64::from(index % 2))).await;
                } else {
                    seedloop::yield_now().await;
                }
            }
            let child = seedloop::spawn(async move { index });
            child.await.unwrap()
        }));
    }
    for handle in handles {
        handle.await.unwrap();
    }
    let log = log.borrow().clone();
    log
}

#[test]
fn every_seed_replays_identically_across_1000_seeds() {
    for seed in 0..1000 {
        let (sim, result) = common::run_twice(|| Sim::new(seed), busy_program);
        assert!(result.is_ok());
        assert!(sim.stats().steps > 10);
    }
}

#[test]
fn different_seeds_give_different_schedules() {
    let mut orders = std::collections::BTreeSet::new();
    for seed in 0..50 {
        let mut sim = Sim::new(seed);
        orders.insert(sim.run(busy_program()).unwrap());
    }
    assert!(
        orders.len() > 10,
        "only {} distinct orders in 50 seeds",
        orders.len()
    );
}

#[test]
fn fifo_runs_tasks_in_spawn_order_and_ignores_the_seed() {
    let program = || async {
        let order = Rc::new(RefCell::new(Vec::new()));
        let handles: Vec<_> = (0..5)
            .map(|index| {
                let order = order.clone();
                seedloop::spawn(async move {
                    order.borrow_mut().push(index);
                    seedloop::yield_now().await;
                    order.borrow_mut().push(index + 10);
                })
            })
            .collect();
        // Spawning does not preempt the spawner: nothing ran yet.
        assert!(order.borrow().is_empty());
        for handle in handles {
            handle.await.unwrap();
        }
        let order = order.borrow().clone();
        order
    };
    let (fifo, order) = common::run_twice(|| Sim::new(1).policy(Policy::Fifo), program);
    assert_eq!(order.unwrap(), [0, 1, 2, 3, 4, 10, 11, 12, 13, 14]);
    let mut other_seed = Sim::new(999).policy(Policy::Fifo);
    other_seed.run(program()).unwrap();
    assert_eq!(other_seed.trace().to_string(), fifo.trace().to_string());
}

#[test]
fn a_tape_of_zeros_is_the_fifo_order() {
    let (fifo, _) = common::run_twice(|| Sim::new(0).policy(Policy::Fifo), busy_program);
    let (zeros, _) = common::run_twice(|| Sim::new(0).tape(vec![0; 64]), busy_program);
    assert_eq!(fifo.trace().to_string(), zeros.trace().to_string());
}

#[test]
fn a_tape_steers_the_schedule() {
    let (zeros, _) = common::run_twice(|| Sim::new(0).tape(vec![]), busy_program);
    let (steered, _) = common::run_twice(|| Sim::new(0).tape(vec![3; 64]), busy_program);
    assert_ne!(zeros.trace().hash(), steered.trace().hash());
}

#[test]
fn trace_recording_off_keeps_the_hash_and_a_tail() {
    let program = || async {
        for _ in 0..10 {
            busy_program().await;
        }
    };
    let (full, _) = common::run_twice(|| Sim::new(7), program);
    let (tail, _) = common::run_twice(|| Sim::new(7).record_trace(false), program);
    assert_eq!(full.trace().hash(), tail.trace().hash());
    assert_eq!(full.trace().len(), tail.trace().len());
    assert!(tail.trace().events().len() < full.trace().events().len());
    assert_eq!(tail.trace().events().last(), full.trace().events().last());
}

#[test]
fn trace_records_spawn_poll_yield_wake_timer_and_completion() {
    let (sim, _) = common::run_twice(|| Sim::new(3), busy_program);
    let kinds: std::collections::BTreeSet<String> = sim
        .trace()
        .events()
        .iter()
        .map(|event| format!("{:?}", event.kind()))
        .collect();
    for kind in [
        EventKind::Spawn,
        EventKind::Poll,
        EventKind::Yield,
        EventKind::Wake,
        EventKind::TimerFire,
        EventKind::Advance,
        EventKind::Complete,
    ] {
        assert!(
            kinds.contains(&format!("{kind:?}")),
            "missing {kind:?} in {kinds:?}"
        );
    }
}

thread_local! {
    static RUNS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

#[test]
fn a_sweep_catches_a_test_that_is_not_deterministic() {
    // The program's shape depends on state outside the simulation: a global counter.
    let failure = Check::new()
        .seeds(0..3)
        .name("nondeterministic")
        .try_run(|| async {
            let runs = RUNS.with(|runs| {
                runs.set(runs.get() + 1);
                runs.get()
            });
            for _ in 0..runs {
                seedloop::spawn(async {}).await.unwrap();
            }
        })
        .unwrap_err();
    match &failure.kind {
        FailureKind::Nondeterminism { detail } => {
            assert!(detail.contains("seed 0 ran twice"), "{detail}");
            assert!(detail.contains("first difference at event"), "{detail}");
        }
        other => panic!("expected nondeterminism, got {other:?}"),
    }
}

#[test]
fn check_determinism_runs_every_seed_twice() {
    let summary = Check::new()
        .seeds(10..30)
        .check_determinism(true)
        .run(|| async {
            busy_program().await;
        });
    assert_eq!(summary.determinism_checked, 20);
    let summary = Check::new().seeds(10..30).run(|| async {
        busy_program().await;
    });
    assert_eq!(
        summary.determinism_checked, 1,
        "by default only the first seed runs twice"
    );
}

#[test]
fn a_sim_keeps_its_clock_across_runs() {
    let mut sim = Sim::new(5);
    sim.run(seedloop::time::sleep(Duration::from_secs(10)))
        .unwrap();
    let second = sim
        .run(async {
            seedloop::time::sleep(Duration::from_secs(5)).await;
            seedloop::time::Instant::now()
        })
        .unwrap();
    assert_eq!(second.elapsed_since_epoch(), Duration::from_secs(15));
    assert_eq!(sim.stats().elapsed, Duration::from_secs(5));
}

#[test]
fn user_randomness_is_seeded() {
    use rand::Rng;
    let draw = |seed| {
        Sim::new(seed)
            .run(async {
                (0..8)
                    .map(|_| seedloop::rand::rng().random_range(0..1000))
                    .collect::<Vec<u32>>()
            })
            .unwrap()
    };
    assert_eq!(draw(4), draw(4));
    assert_ne!(draw(4), draw(5));
}

/// Eight keys in a `HashMap`'s iteration order: a fresh `RandomState` per map makes
/// two runs almost surely disagree (1 in 40,320 agree).
fn hash_order() -> String {
    let keys: std::collections::HashMap<char, ()> =
        "abcdefgh".chars().map(|key| (key, ())).collect();
    keys.keys().collect()
}

#[test]
fn a_task_name_from_hash_order_is_named_in_the_nondeterminism_report() {
    let failure = Check::new()
        .seeds(0..1)
        .try_run(|| async {
            let worker = seedloop::task::Builder::new()
                .name(format!("worker-{}", hash_order()))
                .spawn(async {});
            worker.await.unwrap();
        })
        .expect_err("the two runs of seed 0 differ");
    let FailureKind::Nondeterminism { detail } = &failure.kind else {
        panic!("expected nondeterminism, got {failure}");
    };
    assert!(
        detail.contains("task 1, spawned at step 1, is named"),
        "{detail}"
    );
    assert!(detail.contains("\"worker-"), "{detail}");
    assert!(detail.contains("HashMap"), "{detail}");
}

#[test]
fn a_panic_message_from_hash_order_is_named_in_the_nondeterminism_report() {
    let failure = Check::new()
        .seeds(0..1)
        .continue_on_panic(true)
        .try_run(|| async {
            let worker = seedloop::spawn(async { panic!("bad order {}", hash_order()) });
            assert!(worker.await.unwrap_err().is_panic());
        })
        .expect_err("the two runs of seed 0 differ");
    let FailureKind::Nondeterminism { detail } = &failure.kind else {
        panic!("expected nondeterminism, got {failure}");
    };
    assert!(detail.contains("the panic of task 1 at step"), "{detail}");
    assert!(detail.contains("\"bad order "), "{detail}");
}
