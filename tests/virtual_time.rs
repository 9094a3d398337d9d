//! Virtual time: the clock jumps to the next deadline, exactly.

mod common;

use seedloop::time::{interval, sleep, sleep_until, timeout, Instant};
use seedloop::{FailureKind, Policy, Sim};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

#[test]
fn sleeps_wake_in_deadline_order() {
    let program = || async {
        let woke = Rc::new(RefCell::new(Vec::new()));
        let durations_ms = [500u64, 20, 7000, 1, 300, 20_000, 45];
        let handles: Vec<_> = durations_ms
            .iter()
            .map(|&ms| {
                let woke = woke.clone();
                seedloop::spawn(async move {
                    sleep(Duration::from_millis(ms)).await;
                    woke.borrow_mut()
                        .push((ms, Instant::now().elapsed_since_epoch()));
                })
            })
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
        let woke = woke.borrow().clone();
        woke
    };
    for seed in 0..20 {
        let (_, woke) = common::run_twice(|| Sim::new(seed), program);
        let woke = woke.unwrap();
        let mut sorted = woke.clone();
        sorted.sort();
        assert_eq!(
            woke, sorted,
            "seed {seed}: wake order must follow deadlines"
        );
        for (ms, at) in woke {
            assert_eq!(
                at,
                Duration::from_millis(ms),
                "each sleeper wakes exactly at its deadline"
            );
        }
    }
}

#[test]
fn timeout_fires_at_exactly_its_deadline() {
    let program = || async {
        let start = Instant::now();
        let result = timeout(Duration::from_millis(250), sleep(Duration::from_secs(1))).await;
        (result.is_err(), start.elapsed())
    };
    let (_, outcome) = common::run_twice(|| Sim::new(1), program);
    assert_eq!(outcome.unwrap(), (true, Duration::from_millis(250)));
}

#[test]
fn timeout_returns_the_value_when_the_future_finishes_first() {
    let program = || async {
        timeout(Duration::from_secs(2), async {
            sleep(Duration::from_secs(1)).await;
            5
        })
        .await
    };
    let (sim, result) = common::run_twice(|| Sim::new(1), program);
    assert_eq!(result.unwrap(), Ok(5));
    assert_eq!(sim.now().elapsed_since_epoch(), Duration::from_secs(1));
}

#[test]
fn timeout_error_names_its_deadline() {
    let mut sim = Sim::new(0);
    let error = sim
        .run(timeout(
            Duration::from_secs(3),
            std::future::pending::<()>(),
        ))
        .unwrap()
        .unwrap_err();
    assert_eq!(
        error.deadline().elapsed_since_epoch(),
        Duration::from_secs(3)
    );
    assert!(error.to_string().contains("deadline has elapsed"));
}

#[test]
fn an_hour_of_sleep_advances_the_clock_by_exactly_an_hour() {
    let (sim, _) = common::run_twice(|| Sim::new(9), || sleep(Duration::from_secs(3600)));
    assert_eq!(sim.now().elapsed_since_epoch(), Duration::from_secs(3600));
    assert_eq!(sim.stats().elapsed, Duration::from_secs(3600));
    assert!(
        sim.stats().steps <= 3,
        "a long sleep is one timer, not a busy loop"
    );
}

#[test]
fn time_does_not_pass_while_tasks_are_ready() {
    let program = || async {
        let start = Instant::now();
        for _ in 0..1000 {
            seedloop::yield_now().await;
        }
        start.elapsed()
    };
    let (_, elapsed) = common::run_twice(|| Sim::new(2), program);
    assert_eq!(elapsed.unwrap(), Duration::ZERO);
}

#[test]
fn sleep_until_a_past_instant_completes_at_once() {
    let program = || async {
        sleep(Duration::from_secs(5)).await;
        sleep_until(Instant::EPOCH + Duration::from_secs(1)).await;
        Instant::now().elapsed_since_epoch()
    };
    let (_, now) = common::run_twice(|| Sim::new(2), program);
    assert_eq!(now.unwrap(), Duration::from_secs(5));
}

/// Three timers registered in order a, b, c, all due at the same instant.
async fn simultaneous_timers() -> Vec<&'static str> {
    let fired = Rc::new(RefCell::new(Vec::new()));
    let mut handles = Vec::new();
    for name in ["a", "b", "c"] {
        let fired = fired.clone();
        handles.push(seedloop::spawn(async move {
            sleep(Duration::from_secs(1)).await;
            fired.borrow_mut().push(name);
        }));
    }
    for handle in handles {
        handle.await.unwrap();
    }
    let fired = fired.borrow().clone();
    fired
}

#[test]
fn simultaneous_timers_fire_in_registration_order_under_fifo() {
    for seed in 0..20 {
        let (_, fired) =
            common::run_twice(|| Sim::new(seed).policy(Policy::Fifo), simultaneous_timers);
        assert_eq!(fired.unwrap(), ["a", "b", "c"], "Fifo is seed-free");
    }
}

#[test]
fn simultaneous_timers_fire_in_an_order_drawn_from_the_seed() {
    let mut orders = std::collections::BTreeSet::new();
    for seed in 0..40 {
        let (_, fired) = common::run_twice(|| Sim::new(seed), simultaneous_timers);
        orders.insert(fired.unwrap());
    }
    assert!(orders.len() >= 4, "saw only {orders:?}");
}

#[test]
fn interval_ticks_at_its_period() {
    let program = || async {
        let mut ticker = interval(Duration::from_millis(100));
        let mut ticks = Vec::new();
        for _ in 0..4 {
            ticks.push(ticker.tick().await.elapsed_since_epoch().as_millis());
        }
        ticks
    };
    let (_, ticks) = common::run_twice(|| Sim::new(4), program);
    assert_eq!(ticks.unwrap(), [0, 100, 200, 300]);
}

#[test]
fn the_time_limit_stops_a_run_that_sleeps_too_long() {
    let mut sim = Sim::new(0).max_time(Duration::from_secs(60));
    let failure = sim.run(sleep(Duration::from_secs(61))).unwrap_err();
    assert_eq!(
        failure.kind,
        FailureKind::TimeLimit {
            max_time: Duration::from_secs(60)
        }
    );
    assert!(failure.to_string().contains("time limit"));
}

#[test]
fn a_dropped_sleep_does_not_fire() {
    let program = || async {
        let early = seedloop::spawn(async {
            let _ = timeout(Duration::from_secs(1), sleep(Duration::from_secs(100))).await;
        });
        early.await.unwrap();
        // The 100 s timer was dropped with the timeout: nothing is left to wait for.
        Instant::now().elapsed_since_epoch()
    };
    let (sim, now) = common::run_twice(|| Sim::new(3), program);
    assert_eq!(now.unwrap(), Duration::from_secs(1));
    assert_eq!(sim.stats().timers_fired, 1);
}

async fn many_simultaneous_timers(count: usize) -> Vec<usize> {
    let fired = Rc::new(RefCell::new(Vec::new()));
    let handles: Vec<_> = (0..count)
        .map(|index| {
            let fired = fired.clone();
            seedloop::spawn(async move {
                sleep(Duration::from_secs(1)).await;
                fired.borrow_mut().push(index);
            })
        })
        .collect();
    for handle in handles {
        handle.await.unwrap();
    }
    let fired = fired.borrow().clone();
    fired
}

#[test]
fn thousands_of_timers_at_one_instant_all_fire_once() {
    let (_, fifo) = common::run_twice(
        || Sim::new(1).policy(Policy::Fifo),
        || many_simultaneous_timers(5000),
    );
    assert_eq!(fifo.unwrap(), (0..5000).collect::<Vec<_>>());
    let (sim, random) = common::run_twice(|| Sim::new(1), || many_simultaneous_timers(5000));
    let random = random.unwrap();
    let mut sorted = random.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        (0..5000).collect::<Vec<_>>(),
        "every timer fires exactly once"
    );
    assert_ne!(random, sorted, "the firing order is drawn from the seed");
    assert_eq!(sim.stats().timers_fired, 5000);
}

#[test]
fn a_sleep_of_duration_max_never_ends() {
    let (_, result) = common::run_twice(
        || Sim::new(0),
        || async {
            let forever = sleep(Duration::MAX);
            assert_eq!(forever.deadline(), Instant::FAR_FUTURE);
            forever.await;
        },
    );
    let failure = result.unwrap_err();
    let FailureKind::Deadlock { blocked } = &failure.kind else {
        panic!("expected a deadlock, got {failure}");
    };
    assert!(
        blocked[0].waits_on.contains("never reached"),
        "{}",
        blocked[0].waits_on
    );
    assert_eq!(failure.time, Duration::ZERO);
}

#[test]
fn a_timeout_of_duration_max_means_no_timeout() {
    let (sim, result) = common::run_twice(
        || Sim::new(0),
        || async {
            let work = async {
                sleep(Duration::from_secs(3600 * 24)).await;
                7
            };
            timeout(Duration::MAX, work).await
        },
    );
    assert_eq!(result.unwrap(), Ok(7));
    assert_eq!(sim.stats().timers_fired, 1);
}

#[test]
fn an_interval_whose_next_tick_is_past_the_clock_range_never_ticks_again() {
    let (_, result) = common::run_twice(
        || Sim::new(0),
        || async {
            let mut ticks = interval(Duration::MAX);
            ticks.tick().await;
            let second = timeout(Duration::from_secs(1), ticks.tick()).await;
            assert!(second.is_err());
        },
    );
    result.unwrap();
}

/// A waker that owns a sleep: dropping the waker drops the sleep.
struct OwnsASleep {
    // Held only to be dropped with the waker.
    _sleep: std::sync::Mutex<Option<seedloop::time::Sleep>>,
}

impl std::task::Wake for OwnsASleep {
    fn wake(self: std::sync::Arc<Self>) {}
}

#[test]
fn a_sleep_dropped_while_a_timer_is_updated_unregisters_its_timer() {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    let (sim, result) = common::run_twice(
        || Sim::new(0).policy(Policy::Fifo),
        || async {
            // `inner` registers a timer at 5 s, then is owned by a waker that only
            // the timer of `outer` keeps.
            let mut inner = Box::pin(sleep(Duration::from_secs(5)));
            std::future::poll_fn(|cx| {
                assert!(inner.as_mut().poll(cx).is_pending());
                Poll::Ready(())
            })
            .await;
            let owner = std::sync::Arc::new(OwnsASleep {
                _sleep: std::sync::Mutex::new(Some(*std::pin::Pin::into_inner(inner))),
            });
            let owner_waker = Waker::from(owner);
            let mut outer = Box::pin(sleep(Duration::from_secs(10)));
            let mut foreign = Context::from_waker(&owner_waker);
            assert!(outer.as_mut().poll(&mut foreign).is_pending());
            drop(owner_waker);
            // Polled with the task's waker, `outer`'s timer drops the owner, and
            // with it `inner`, whose timer must go too.
            outer.await;
        },
    );
    result.unwrap();
    assert_eq!(sim.stats().timers_fired, 1, "only the 10 s timer fires");
    assert!(sim
        .trace()
        .events()
        .iter()
        .all(|event| event.time() != Duration::from_secs(5)));
}
