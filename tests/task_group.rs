//! TaskGroup rules, one direct case each (the randomized properties are in
//! `structured_properties.rs`). Every case runs its seed twice and compares traces.

mod common;

use common::{now, secs, sweep};
use seedloop::task::{Builder, GroupError, TaskGroup};
use seedloop::time::sleep;
use seedloop::{JoinError, Policy, Sim};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

#[test]
fn scope_returns_the_body_value_after_every_child_ended() {
    sweep(Policy::Random, 0..50, || async {
        let ended = Rc::new(Cell::new(0));
        let result: Result<u64, GroupError<String>> = TaskGroup::scope(|tg| {
            let ended = ended.clone();
            async move {
                for delay in [3, 1, 2] {
                    let ended = ended.clone();
                    // Children are not awaited: the scope waits for them anyway.
                    tg.spawn(async move {
                        sleep(secs(delay)).await;
                        ended.set(ended.get() + 1);
                        Ok(())
                    });
                }
                Ok(7)
            }
        })
        .await;
        assert_eq!(result.unwrap(), 7);
        assert_eq!(ended.get(), 3);
        assert_eq!(now(), secs(3));
    });
}

#[test]
fn first_child_error_cancels_the_siblings_and_the_body() {
    sweep(Policy::Random, 0..50, || async {
        let body_finished = Rc::new(Cell::new(false));
        let result = TaskGroup::<String>::scope(|tg| {
            let body_finished = body_finished.clone();
            async move {
                let slow = tg.spawn_named("slow", async {
                    sleep(secs(60)).await;
                    Ok(())
                });
                let _failing = tg.spawn_named("failing", async {
                    sleep(secs(1)).await;
                    Err::<(), _>("disk full".to_string())
                });
                sleep(secs(30)).await;
                body_finished.set(true);
                slow.await.ok();
                Ok(())
            }
        })
        .await;
        let error = result.unwrap_err();
        assert_eq!(error.errors(), ["disk full".to_string()]);
        let failure = error.failures().next().unwrap();
        assert_eq!(failure.name, Some("failing"));
        assert!(!failure.in_body);
        assert!(!body_finished.get(), "the body was cancelled at its sleep");
        assert_eq!(now(), secs(1), "nobody waited for the 30 s and 60 s sleeps");
    });
}

#[test]
fn a_failed_child_handle_gives_failed_and_a_cancelled_sibling_gives_cancelled() {
    sweep(Policy::Fifo, 0..1, || async {
        let seen = Rc::new(RefCell::new(Vec::new()));
        let result = TaskGroup::<&'static str>::scope(|tg| {
            let seen = seen.clone();
            async move {
                let failing = tg.spawn(async { Err::<(), _>("no") });
                let stuck = tg.spawn(std::future::pending::<Result<(), _>>());
                // Another task awaits both handles.
                drop(seedloop::spawn(async move {
                    let failing = failing.await;
                    seen.borrow_mut().push(failing);
                    let stuck = stuck.await;
                    seen.borrow_mut().push(stuck);
                }));
                std::future::pending::<()>().await;
                Ok(())
            }
        })
        .await;
        assert_eq!(result.unwrap_err().errors(), ["no"]);
        for _ in 0..3 {
            seedloop::yield_now().await;
        }
        assert_eq!(
            *seen.borrow(),
            [Err(JoinError::Failed), Err(JoinError::Cancelled)]
        );
    });
}

#[test]
fn a_child_panic_is_caught_and_reported_without_failing_the_run() {
    sweep(Policy::Random, 0..20, || async {
        let result = TaskGroup::<String>::scope(|tg| async move {
            Builder::new().name("bad").spawn_in(&tg, async {
                seedloop::yield_now().await;
                let items: Vec<u32> = Vec::new();
                Ok::<u32, String>(items[3])
            });
            tg.spawn(async {
                sleep(secs(5)).await;
                Ok(0)
            });
            Ok(())
        })
        .await;
        let error = result.unwrap_err();
        assert!(error.errors().is_empty());
        assert_eq!(error.panics().len(), 1);
        assert!(error.panics()[0].contains("index out of bounds"));
        let text = error.to_string();
        assert!(text.starts_with("task group failed: 1 panic"), "{text}");
        assert!(
            text.contains("(bad) panicked: index out of bounds"),
            "{text}"
        );
    });
}

/// `GroupError::is_empty` is documented as always false: a scope returns a
/// `GroupError` only with its failures in it, and `len` counts errors and panics alike.
/// (That no empty one can be made, with no `Default`, is a `compile_fail` doctest.)
#[test]
fn every_group_error_holds_at_least_one_failure_and_len_counts_errors_and_panics() {
    sweep(Policy::Random, 0..20, || async {
        for failing in ["child error", "child panic", "body error"] {
            let result = TaskGroup::<String>::scope(|tg| async move {
                tg.spawn(async move {
                    seedloop::yield_now().await;
                    match failing {
                        "child error" => Err(failing.to_string()),
                        "child panic" => panic!("{failing}"),
                        _ => Ok(()),
                    }
                });
                if failing == "body error" {
                    return Err(failing.to_string());
                }
                Ok(())
            })
            .await;
            let error = result.unwrap_err();
            assert!(!error.is_empty(), "{failing}");
            assert_eq!(error.len(), 1, "{failing}");
            assert_eq!(error.errors().len() + error.panics().len(), error.len());
            assert_eq!(error.failures().count(), error.len());
        }
    });
}

#[test]
fn a_body_error_counts_like_a_child_error() {
    sweep(Policy::Random, 0..20, || async {
        let child_cancelled = Rc::new(Cell::new(false));
        let result = TaskGroup::<String>::scope(|tg| {
            let flag = child_cancelled.clone();
            async move {
                struct OnDrop(Rc<Cell<bool>>);
                impl Drop for OnDrop {
                    fn drop(&mut self) {
                        self.0.set(true);
                    }
                }
                tg.spawn(async move {
                    let _guard = OnDrop(flag);
                    sleep(secs(10)).await;
                    Ok(())
                });
                sleep(secs(1)).await;
                Err::<(), _>("body gave up".to_string())
            }
        })
        .await;
        let error = result.unwrap_err();
        assert_eq!(error.errors(), ["body gave up".to_string()]);
        assert!(error.failures().next().unwrap().in_body);
        assert!(child_cancelled.get());
        assert_eq!(now(), secs(1));
    });
}

#[test]
fn siblings_already_ready_when_one_fails_may_fail_too_and_every_error_is_kept() {
    // Three children fail at the same instant. The scope aborts when it runs, so under
    // Fifo (timers fire in registration order, the scope is queued behind them) all
    // three fail before the abort, as in asyncio.
    sweep(Policy::Fifo, 0..1, || async {
        let result = TaskGroup::<u32>::scope(|tg| async move {
            for child in 0..3 {
                tg.spawn(async move {
                    sleep(secs(1)).await;
                    Err::<(), _>(child)
                });
            }
            Ok(())
        })
        .await;
        assert_eq!(result.unwrap_err().errors(), [0, 1, 2]);
    });
    // Under Random, some seeds abort between the failures: never an error twice,
    // never one lost (each child that returned Err is there once).
    let mut counts = std::collections::BTreeSet::new();
    for seed in 0..200 {
        let mut sim = Sim::new(seed);
        let (errors, returned) = sim
            .run(async {
                let returned = Rc::new(RefCell::new(Vec::new()));
                let result = TaskGroup::<u32>::scope(|tg| {
                    let returned = returned.clone();
                    async move {
                        for child in 0..3 {
                            let returned = returned.clone();
                            tg.spawn(async move {
                                sleep(secs(1)).await;
                                returned.borrow_mut().push(child);
                                Err::<(), _>(child)
                            });
                        }
                        Ok(())
                    }
                })
                .await;
                let returned = returned.borrow().clone();
                (result.unwrap_err().into_errors(), returned)
            })
            .unwrap();
        assert_eq!(errors, returned, "seed {seed}");
        counts.insert(errors.len());
    }
    assert!(
        counts.len() > 1,
        "the abort window was explored: {counts:?}"
    );
}

#[test]
fn a_child_spawned_after_a_failure_is_cancelled_at_once() {
    for policy in [Policy::Fifo, Policy::Random] {
        sweep(policy, 0..30, || async {
            let late_ran = Rc::new(Cell::new(false));
            let late_handle = Rc::new(RefCell::new(None));
            let result = TaskGroup::<&'static str>::scope(|tg| {
                let late_ran = late_ran.clone();
                let late_handle = late_handle.clone();
                async move {
                    let inner = tg.clone();
                    tg.spawn(async { Err::<(), _>("first") });
                    tg.spawn(async move {
                        while !inner.is_failing() {
                            seedloop::yield_now().await;
                        }
                        let late = inner.spawn(async move {
                            late_ran.set(true);
                            Ok(())
                        });
                        *late_handle.borrow_mut() = Some(late);
                        Ok(())
                    });
                    std::future::pending::<()>().await;
                    Ok(())
                }
            })
            .await;
            assert_eq!(result.unwrap_err().errors(), ["first"]);
            assert!(
                !late_ran.get(),
                "a child spawned into a failing group never runs"
            );
            let late = late_handle.borrow_mut().take();
            if let Some(late) = late {
                assert!(late.is_finished(), "the scope outlives every child");
                assert_eq!(late.await, Err(JoinError::Cancelled));
            }
        });
    }
}

#[test]
fn spawning_after_the_scope_ended_panics_with_a_clear_message() {
    let failure = Sim::new(0)
        .run(async {
            let kept = Rc::new(RefCell::new(None));
            let _ = TaskGroup::<()>::scope(|tg| {
                let kept = kept.clone();
                async move {
                    *kept.borrow_mut() = Some(tg);
                    Ok(())
                }
            })
            .await;
            let tg = kept.borrow_mut().take().unwrap();
            tg.spawn(async { Ok(()) });
        })
        .unwrap_err();
    let report = failure.to_string();
    assert!(
        report.contains("TaskGroup::spawn called after the group's scope ended"),
        "{report}"
    );
}

#[test]
fn a_child_cancelled_through_its_handle_does_not_fail_the_group() {
    sweep(Policy::Random, 0..30, || async {
        let result: Result<u32, GroupError<String>> = TaskGroup::scope(|tg| async move {
            let slow = tg.spawn(async {
                sleep(secs(60)).await;
                Ok::<u32, String>(1)
            });
            // The awaiter gives up: the dropped handle cancels the child.
            assert!(seedloop::time::timeout(secs(1), slow).await.is_err());
            let stuck = tg.spawn(std::future::pending::<Result<u32, String>>());
            assert!(stuck.cancel());
            assert_eq!(stuck.await, Err(JoinError::Cancelled));
            Ok(7)
        })
        .await;
        assert_eq!(result.unwrap(), 7);
        assert_eq!(now(), secs(1));
    });
}

#[test]
fn cancelling_the_task_running_a_scope_cancels_every_child() {
    sweep(Policy::Random, 0..50, || async {
        let dropped = Rc::new(Cell::new(0));
        let runner = seedloop::spawn({
            let dropped = dropped.clone();
            async move {
                TaskGroup::<()>::scope(|tg| async move {
                    for _ in 0..3 {
                        let dropped = dropped.clone();
                        tg.spawn(async move {
                            struct Count(Rc<Cell<u32>>);
                            impl Drop for Count {
                                fn drop(&mut self) {
                                    self.0.set(self.0.get() + 1);
                                }
                            }
                            let _count = Count(dropped);
                            sleep(secs(100)).await;
                            Ok(())
                        });
                    }
                    Ok(())
                })
                .await
            }
        });
        sleep(secs(1)).await;
        assert!(runner.cancel());
        assert_eq!(runner.await.unwrap_err(), JoinError::Cancelled);
        sleep(secs(1)).await;
        assert_eq!(dropped.get(), 3, "every child was cancelled");
        assert_eq!(now(), secs(2));
    });
}

#[derive(Debug, PartialEq)]
enum AppError {
    Fetch(&'static str),
    Group(GroupError<AppError>),
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppError::Fetch(what) => write!(f, "fetch failed: {what}"),
            AppError::Group(group) => write!(f, "{group}"),
        }
    }
}

impl From<GroupError<AppError>> for AppError {
    fn from(error: GroupError<AppError>) -> AppError {
        AppError::Group(error)
    }
}

#[test]
fn a_child_group_error_is_its_parent_child_error_and_displays_as_a_tree() {
    sweep(Policy::Fifo, 0..1, || async {
        let result = TaskGroup::<AppError>::scope(|tg| async move {
            tg.spawn_named("inner-group", async {
                TaskGroup::<AppError>::scope(|inner| async move {
                    inner.spawn_named("fetch-b", async {
                        sleep(secs(1)).await;
                        Err::<(), _>(AppError::Fetch("b"))
                    });
                    Ok(())
                })
                .await?;
                Ok(())
            });
            Ok(())
        })
        .await;
        let error = result.unwrap_err();
        match &error.errors()[0] {
            AppError::Group(inner) => assert_eq!(inner.errors(), [AppError::Fetch("b")]),
            other => panic!("expected a nested group error, got {other:?}"),
        }
        let text = error.to_string();
        let expected = "task group failed: 1 error\n  \
             1. task 1 (inner-group) returned an error: task group failed: 1 error\n       \
               1. task 2 (fetch-b) returned an error: fetch failed: b";
        assert_eq!(text, expected);
    });
}

#[test]
fn a_deadlocked_scope_is_reported_as_waiting_for_its_children() {
    let failure = Sim::new(0)
        .run(async {
            TaskGroup::<()>::scope(|tg| async move {
                tg.spawn_named("stuck", std::future::pending::<Result<(), ()>>());
                Ok(())
            })
            .await
        })
        .unwrap_err();
    let report = failure.to_string();
    assert!(failure.is_deadlock(), "{report}");
    assert!(
        report.contains("task 0 (main) waits on its task group's 1 running child task(s)"),
        "{report}"
    );
}
