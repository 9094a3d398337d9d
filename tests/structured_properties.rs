//! Property tests of structured concurrency: `TaskGroup`, `gather`, `as_completed`,
//! `shield` and the cancellation explorer.
//!
//! Every property draws a seed, a policy (Random, Fifo, PCT of depth 1 to 3), a number
//! of children and when each one ends (a virtual-time sleep or a number of yields), and
//! runs its scenario twice on `Sim::new(seed).policy(policy)` through
//! [`common::run_twice`], so each one also checks that the seed replays event for event.
//! Scenarios assert what they can see from inside the simulation (handles, shared logs,
//! Drop guards); the tests assert the rest against the trace.
//!
//! 64 cases a property; `PROPTEST_CASES=2000` for a longer soak.

mod common;

use common::props::{
    config, passed, pause, pause_for, policy, sim_for, suspending_pause, Pause, Shared,
};
use common::run_twice;
use futures::StreamExt;
use proptest::prelude::*;
use seedloop::task::{
    as_completed, gather, gather_settled, shield, try_current, Builder, GroupError, JoinHandle,
    TaskGroup, TaskId,
};
use seedloop::time::{sleep, timeout};
use seedloop::trace::{EventKind, Trace};
use seedloop::{CancelExplorer, JoinError, Policy, Sim};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

// ---------------------------------------------------------------------------------
// Shared helpers (the strategies are in `common::props`).
// ---------------------------------------------------------------------------------

/// Every [`pause`] ends well before this.
const LONG_AFTER: Duration = Duration::from_secs(1);

/// The name child `index` is given: spawned three ways in turn (`spawn`,
/// `spawn_named`, `Builder::spawn_in`).
fn child_name(index: usize) -> Option<String> {
    (!index.is_multiple_of(3)).then(|| format!("child-{index}"))
}

fn spawn_child<T, E, F>(tg: &TaskGroup<E>, index: usize, future: F) -> JoinHandle<T>
where
    F: std::future::Future<Output = Result<T, E>> + 'static,
    T: 'static,
    E: 'static,
{
    match (index % 3, child_name(index)) {
        (1, Some(name)) => tg.spawn_named(name, future),
        (_, Some(name)) => Builder::new().name(name).spawn_in(tg, future),
        (_, None) => tg.spawn(future),
    }
}

/// How `task` ended according to the trace: its Complete, Cancelled, Panic and Leaked
/// events, in order.
fn endings(trace: &Trace, task: TaskId) -> Vec<EventKind> {
    trace
        .events()
        .iter()
        .filter(|event| event.task() == Some(task))
        .map(|event| event.kind())
        .filter(|kind| {
            matches!(
                kind,
                EventKind::Complete | EventKind::Cancelled | EventKind::Panic | EventKind::Leaked
            )
        })
        .collect()
}

/// The step of the first `kind` event about `task` at or after step `from`.
fn step_of(trace: &Trace, kind: EventKind, task: TaskId, from: u64) -> Option<u64> {
    trace
        .events()
        .iter()
        .find(|event| event.kind() == kind && event.task() == Some(task) && event.step() >= from)
        .map(|event| event.step())
}

/// Counts itself in `live` from its creation to its drop.
struct Alive(Rc<Cell<usize>>);

impl Alive {
    fn new(live: &Rc<Cell<usize>>) -> Alive {
        live.set(live.get() + 1);
        Alive(Rc::clone(live))
    }
}

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

// ---------------------------------------------------------------------------------
// 1. After `scope` returns, no child is running or ready.
// ---------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct ChildPlan {
    pause: Pause,
    fails: bool,
    /// A grandchild the child spawns into the same group, and its pause.
    grandchild: Option<Pause>,
}

fn child_plan() -> impl Strategy<Value = ChildPlan> {
    (
        pause(),
        prop::bool::weighted(0.2),
        prop::option::weighted(0.3, pause()),
    )
        .prop_map(|(pause, fails, grandchild)| ChildPlan {
            pause,
            fails,
            grandchild,
        })
}

const BODY_ERROR: usize = usize::MAX;

async fn scope_then_return(
    plans: Vec<ChildPlan>,
    body_pause: Pause,
    body_fails: bool,
) -> (Result<(), GroupError<usize>>, Vec<TaskId>) {
    let live = Rc::new(Cell::new(0));
    let handles: Shared<Vec<JoinHandle<()>>> = Rc::default();
    let group: Shared<Option<TaskGroup<usize>>> = Rc::default();
    let result = TaskGroup::<usize>::scope(|tg| {
        let (live, handles, group) = (live.clone(), handles.clone(), group.clone());
        async move {
            *group.borrow_mut() = Some(tg.clone());
            for (index, plan) in plans.into_iter().enumerate() {
                let child = {
                    let (tg, live, handles) = (tg.clone(), live.clone(), handles.clone());
                    async move {
                        let _alive = Alive::new(&live);
                        if let Some(pause) = plan.grandchild {
                            let grandchild = tg.spawn(async move {
                                let _alive = Alive::new(&live);
                                pause_for(pause).await;
                                Ok(())
                            });
                            handles.borrow_mut().push(grandchild);
                        }
                        pause_for(plan.pause).await;
                        if plan.fails {
                            Err(index)
                        } else {
                            Ok(())
                        }
                    }
                };
                let handle = spawn_child(&tg, index, child);
                handles.borrow_mut().push(handle);
            }
            pause_for(body_pause).await;
            if body_fails {
                Err(BODY_ERROR)
            } else {
                Ok(())
            }
        }
    })
    .await;
    let handles = handles.borrow();
    for handle in handles.iter() {
        assert!(handle.is_finished(), "{handle:?} outlived its scope");
    }
    assert_eq!(live.get(), 0, "a child's future outlived its scope");
    let group = group.borrow();
    let group = group.as_ref().expect("the body ran");
    assert_eq!(group.live_children(), 0);
    assert_eq!(group.is_failing(), result.is_err());
    let ids = handles.iter().map(JoinHandle::id).collect();
    // The main future returns right after the scope: anything left would leak.
    (result, ids)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn after_scope_returns_no_child_is_running_or_ready(
        seed in any::<u64>(),
        policy in policy(),
        plans in prop::collection::vec(child_plan(), 1..8),
        body_pause in pause(),
        body_fails in prop::bool::weighted(0.1),
    ) {
        let (sim, result) = run_twice(sim_for(seed, &policy), || {
            scope_then_return(plans.clone(), body_pause, body_fails)
        });
        let (_, ids) = passed(result);
        prop_assert_eq!(sim.stats().leaked, 0);
        for id in ids {
            let ends = endings(sim.trace(), id);
            prop_assert!(
                matches!(ends.as_slice(), [EventKind::Complete] | [EventKind::Cancelled]),
                "{:?} ended with {:?}", id, ends
            );
        }
    }
}

// ---------------------------------------------------------------------------------
// 2. One failing child: every sibling unfinished at the abort is cancelled, the error
//    is reported exactly once. The abort runs on the scope's task (asyncio's window):
//    siblings that were ready when the child failed may still finish first.
// ---------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq)]
enum Logged {
    Done(usize),
    Failed(usize),
}

#[derive(Debug, PartialEq)]
struct OneFailure {
    result: Result<(), GroupError<usize>>,
    ids: Vec<TaskId>,
    log: Vec<Logged>,
    /// Each child's handle result (awaited by the body, or after the scope).
    joined: Vec<Option<Result<usize, JoinError>>>,
}

async fn one_failing_child(
    pauses: Vec<Pause>,
    failing: usize,
    body_awaits: bool,
    body_pause: Pause,
) -> OneFailure {
    let count = pauses.len();
    let log: Shared<Vec<Logged>> = Rc::default();
    let handles: Shared<Vec<Option<JoinHandle<usize>>>> = Rc::default();
    let joined: Shared<Vec<Option<Result<usize, JoinError>>>> =
        Rc::new(RefCell::new(vec![None; count]));
    let ids: Shared<Vec<TaskId>> = Rc::default();
    let result = TaskGroup::<usize>::scope(|tg| {
        let (log, handles, joined, ids) =
            (log.clone(), handles.clone(), joined.clone(), ids.clone());
        async move {
            for (index, pause) in pauses.into_iter().enumerate() {
                let log = log.clone();
                let handle = spawn_child(&tg, index, async move {
                    pause_for(pause).await;
                    if index == failing {
                        log.borrow_mut().push(Logged::Failed(index));
                        Err(index)
                    } else {
                        log.borrow_mut().push(Logged::Done(index));
                        Ok(index)
                    }
                });
                ids.borrow_mut().push(handle.id());
                handles.borrow_mut().push(Some(handle));
            }
            if body_awaits {
                for index in 0..count {
                    let handle = handles.borrow_mut()[index].take().expect("not taken yet");
                    let result = handle.await;
                    joined.borrow_mut()[index] = Some(result.clone());
                    // The body is cancelled by the failure: it never sees it.
                    result.map_err(|_| BODY_ERROR)?;
                }
            } else {
                pause_for(body_pause).await;
            }
            Ok(())
        }
    })
    .await;
    let handles: Vec<_> = handles.borrow_mut().drain(..).collect();
    for (index, handle) in handles.into_iter().enumerate() {
        if let Some(handle) = handle {
            assert!(handle.is_finished());
            joined.borrow_mut()[index] = Some(handle.await);
        }
    }
    let log = log.borrow().clone();
    let joined = joined.borrow().clone();
    let ids = ids.borrow().clone();
    OneFailure {
        result,
        ids,
        log,
        joined,
    }
}

fn children_and_one_failing() -> impl Strategy<Value = (Vec<Pause>, usize)> {
    (1usize..8).prop_flat_map(|count| (prop::collection::vec(pause(), count), 0..count))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn one_failing_child_cancels_every_sibling_unfinished_at_the_abort_and_is_reported_once(
        seed in any::<u64>(),
        policy in policy(),
        (pauses, failing) in children_and_one_failing(),
        body_awaits in any::<bool>(),
        body_pause in pause(),
    ) {
        let (sim, result) = run_twice(sim_for(seed, &policy), || {
            one_failing_child(pauses.clone(), failing, body_awaits, body_pause)
        });
        let outcome = passed(result);
        let trace = sim.trace();

        let error = outcome.result.as_ref().expect_err("a child failed");
        prop_assert_eq!(error.errors(), &[failing][..]);
        prop_assert!(error.panics().is_empty());
        prop_assert_eq!(error.len(), 1);
        let failure = error.failures().next().expect("one failure");
        prop_assert_eq!(failure.task, outcome.ids[failing]);
        let name = child_name(failing);
        prop_assert_eq!(failure.name, name.as_deref());
        prop_assert!(!failure.in_body);
        prop_assert_eq!(failure.cause, Ok(&failing));

        prop_assert_eq!(
            outcome.log.iter().filter(|logged| matches!(logged, Logged::Failed(_))).count(),
            1
        );
        // A handle the body was awaiting when it was cancelled has no result (None).
        prop_assert!(matches!(outcome.joined[failing], None | Some(Err(JoinError::Failed))));
        prop_assert_eq!(endings(trace, outcome.ids[failing]), [EventKind::Complete]);
        // The abort: the scope's task (main) runs next after the failure and requests
        // the cancellations; siblings that were ready may finish in between.
        let failed = step_of(trace, EventKind::Complete, outcome.ids[failing], 0)
            .expect("the failing child completed");
        let abort = step_of(trace, EventKind::Poll, TaskId::MAIN, failed + 1)
            .expect("the scope's task runs after the failure");
        for sibling in (0..pauses.len()).filter(|index| *index != failing) {
            let id = outcome.ids[sibling];
            if outcome.log.contains(&Logged::Done(sibling)) {
                let done = step_of(trace, EventKind::Complete, id, 0);
                prop_assert!(
                    done.is_some_and(|done| done < abort),
                    "child {} finished at step {:?}, after the abort at step {}", sibling, done, abort
                );
                prop_assert!(outcome.joined[sibling].is_none() || outcome.joined[sibling] == Some(Ok(sibling)));
                prop_assert_eq!(endings(trace, id), [EventKind::Complete]);
            } else {
                prop_assert!(matches!(outcome.joined[sibling], None | Some(Err(JoinError::Cancelled))));
                prop_assert_eq!(endings(trace, id), [EventKind::Cancelled]);
                let requested = trace.events().iter().any(|event| {
                    event.kind() == EventKind::CancelRequest
                        && event.task() == Some(id)
                        && event.other_task() == Some(TaskId::MAIN)
                        && event.step() == abort
                });
                prop_assert!(requested, "child {} was not cancelled by the abort at step {}", sibling, abort);
            }
        }
        prop_assert_eq!(sim.stats().leaked, 0);
    }
}

// ---------------------------------------------------------------------------------
// 3. Several failing children: no error is lost or duplicated.
// ---------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq)]
enum Outcome {
    Value,
    Error,
    Panic,
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        5 => Just(Outcome::Value),
        3 => Just(Outcome::Error),
        2 => Just(Outcome::Panic),
    ]
}

/// A failure as the failing code saw it: who (`None` for the body) and how.
type Raised = (Option<usize>, Outcome);

#[derive(Debug, PartialEq)]
struct ManyFailures {
    result: Result<(), GroupError<usize>>,
    ids: Vec<TaskId>,
    scope_task: TaskId,
    raised: Vec<Raised>,
}

fn panic_text(index: usize) -> String {
    format!("child {index} panicked")
}

async fn several_failing_children(
    plans: Vec<(Pause, Outcome)>,
    body_pause: Pause,
    body_fails: bool,
) -> ManyFailures {
    let raised: Shared<Vec<Raised>> = Rc::default();
    let ids: Shared<Vec<TaskId>> = Rc::default();
    let scope_task = seedloop::task::current().id();
    let result = TaskGroup::<usize>::scope(|tg| {
        let (raised, ids) = (raised.clone(), ids.clone());
        async move {
            for (index, (pause, outcome)) in plans.into_iter().enumerate() {
                let raised = raised.clone();
                let handle = spawn_child(&tg, index, async move {
                    pause_for(pause).await;
                    if outcome != Outcome::Value {
                        raised.borrow_mut().push((Some(index), outcome));
                    }
                    match outcome {
                        Outcome::Value => Ok(index),
                        Outcome::Error => Err(index),
                        Outcome::Panic => panic!("{}", panic_text(index)),
                    }
                });
                ids.borrow_mut().push(handle.id());
            }
            pause_for(body_pause).await;
            if body_fails {
                raised.borrow_mut().push((None, Outcome::Error));
                Err(BODY_ERROR)
            } else {
                Ok(())
            }
        }
    })
    .await;
    let raised = raised.borrow().clone();
    let ids = ids.borrow().clone();
    ManyFailures {
        result,
        ids,
        scope_task,
        raised,
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn no_child_error_is_lost_or_duplicated(
        seed in any::<u64>(),
        policy in policy(),
        plans in prop::collection::vec((pause(), outcome()), 1..8),
        body_pause in pause(),
        body_fails in prop::bool::weighted(0.2),
    ) {
        let (sim, result) = run_twice(sim_for(seed, &policy), || {
            several_failing_children(plans.clone(), body_pause, body_fails)
        });
        let outcome = passed(result);
        let error = match &outcome.result {
            Ok(()) => {
                prop_assert!(outcome.raised.is_empty(), "{:?} raised, yet the scope returned Ok", outcome.raised);
                return Ok(());
            }
            Err(error) => error,
        };
        // The errors, in the order the children (or the body) returned them.
        let raised_errors: Vec<usize> = outcome
            .raised
            .iter()
            .filter(|(_, how)| *how == Outcome::Error)
            .map(|(who, _)| who.unwrap_or(BODY_ERROR))
            .collect();
        prop_assert_eq!(error.errors(), &raised_errors[..]);
        let raised_panics: Vec<String> = outcome
            .raised
            .iter()
            .filter(|(_, how)| *how == Outcome::Panic)
            .map(|(who, _)| panic_text(who.expect("only children panic")))
            .collect();
        prop_assert_eq!(error.panics(), &raised_panics[..]);
        prop_assert_eq!(error.len(), outcome.raised.len());
        // Failures interleave errors and panics in the order they happened.
        let failures: Vec<(TaskId, bool, Result<usize, String>)> = error
            .failures()
            .map(|failure| (
                failure.task,
                failure.in_body,
                failure.cause.copied().map_err(str::to_string),
            ))
            .collect();
        let expected: Vec<(TaskId, bool, Result<usize, String>)> = outcome
            .raised
            .iter()
            .map(|(who, how)| match (who, how) {
                (None, _) => (outcome.scope_task, true, Ok(BODY_ERROR)),
                (Some(index), Outcome::Panic) => (outcome.ids[*index], false, Err(panic_text(*index))),
                (Some(index), _) => (outcome.ids[*index], false, Ok(*index)),
            })
            .collect();
        prop_assert_eq!(failures, expected);
        // And the trace agrees on who failed how.
        for (who, how) in &outcome.raised {
            if let Some(index) = who {
                let end = if *how == Outcome::Panic { EventKind::Panic } else { EventKind::Complete };
                prop_assert_eq!(endings(sim.trace(), outcome.ids[*index]), [end]);
            }
        }
        prop_assert_eq!(sim.stats().leaked, 0);
    }
}

// ---------------------------------------------------------------------------------
// 4. A cancelled child's Drop runs exactly once, inside the simulation.
// ---------------------------------------------------------------------------------

/// Records, when dropped, which task (if any) was running.
struct DropProbe {
    index: usize,
    drops: Shared<Vec<(usize, Option<TaskId>)>>,
}

impl Drop for DropProbe {
    fn drop(&mut self) {
        let task = try_current().map(|task| task.id());
        self.drops.borrow_mut().push((self.index, task));
    }
}

#[derive(Clone, Debug)]
enum Canceller {
    /// An extra child fails after this pause.
    SiblingFails(Pause),
    /// The body cancels the chosen children (by input index modulo the count) after
    /// this pause.
    BodyCancels(Pause, Vec<usize>),
    /// The scope is awaited under a timeout of this many milliseconds.
    OuterTimeout(u64),
}

fn canceller() -> impl Strategy<Value = Canceller> {
    prop_oneof![
        pause().prop_map(Canceller::SiblingFails),
        (pause(), prop::collection::vec(0usize..8, 1..4))
            .prop_map(|(pause, which)| Canceller::BodyCancels(pause, which)),
        (0u64..=20).prop_map(Canceller::OuterTimeout),
    ]
}

#[derive(Debug, PartialEq)]
struct Drops {
    ids: Vec<TaskId>,
    drops: Vec<(usize, Option<TaskId>)>,
    joined: Vec<Result<(), JoinError>>,
}

async fn cancel_children(pauses: Vec<Pause>, canceller: Canceller) -> Drops {
    let count = pauses.len();
    let drops: Shared<Vec<(usize, Option<TaskId>)>> = Rc::default();
    let handles: Shared<Vec<JoinHandle<()>>> = Rc::default();
    let scope = TaskGroup::<usize>::scope(|tg| {
        let (drops, handles, canceller) = (drops.clone(), handles.clone(), canceller.clone());
        async move {
            for (index, pause) in pauses.into_iter().enumerate() {
                let probe = DropProbe {
                    index,
                    drops: drops.clone(),
                };
                let handle = spawn_child(&tg, index, async move {
                    let _probe = probe;
                    pause_for(pause).await;
                    Ok(())
                });
                handles.borrow_mut().push(handle);
            }
            match canceller {
                Canceller::SiblingFails(pause) => {
                    // Detached: the group still owns it.
                    drop(tg.spawn(async move {
                        pause_for(pause).await;
                        Err::<(), _>(count)
                    }));
                    sleep(LONG_AFTER).await;
                }
                Canceller::BodyCancels(pause, which) => {
                    pause_for(pause).await;
                    for index in which {
                        handles.borrow()[index % count].cancel();
                    }
                }
                Canceller::OuterTimeout(_) => sleep(LONG_AFTER).await,
            }
            Ok(())
        }
    });
    match canceller {
        Canceller::OuterTimeout(millis) => {
            let _ = timeout(Duration::from_millis(millis), scope).await;
            // The dropped scope requested the cancellations; let them happen.
            sleep(Duration::from_millis(1)).await;
        }
        _ => {
            let _ = scope.await;
        }
    }
    let handles: Vec<_> = handles.borrow_mut().drain(..).collect();
    let ids = handles.iter().map(JoinHandle::id).collect();
    let mut joined = Vec::new();
    for handle in handles {
        assert!(handle.is_finished());
        joined.push(handle.await);
    }
    let drops = drops.borrow().clone();
    Drops { ids, drops, joined }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_cancelled_childs_drop_runs_exactly_once_inside_the_simulation(
        seed in any::<u64>(),
        policy in policy(),
        pauses in prop::collection::vec(pause(), 1..8),
        canceller in canceller(),
    ) {
        let (sim, result) = run_twice(sim_for(seed, &policy), || {
            cancel_children(pauses.clone(), canceller.clone())
        });
        let outcome = passed(result);
        prop_assert_eq!(sim.stats().leaked, 0);
        for (index, &id) in outcome.ids.iter().enumerate() {
            let dropped: Vec<_> = outcome.drops.iter().filter(|(who, _)| *who == index).collect();
            prop_assert_eq!(dropped.len(), 1, "child {} dropped {} times", index, dropped.len());
            prop_assert_eq!(
                dropped[0].1, Some(id),
                "child {}'s future was dropped outside its task", index
            );
            let cancelled = outcome.joined[index] == Err(JoinError::Cancelled);
            prop_assert_eq!(
                endings(sim.trace(), id),
                [if cancelled { EventKind::Cancelled } else { EventKind::Complete }]
            );
        }
    }
}

// ---------------------------------------------------------------------------------
// 5. `gather` keeps input order; `as_completed` yields in completion order.
// ---------------------------------------------------------------------------------

#[derive(Debug, PartialEq)]
struct Gathered {
    settled: Vec<Result<usize, usize>>,
    gathered: Result<Vec<usize>, usize>,
    /// The failures of the `gather` run, in the order the futures returned them.
    failed: Vec<usize>,
    /// Futures of the `gather` run that finished after it returned.
    finished_late: usize,
}

async fn gather_both(plans: Vec<(Pause, bool)>) -> Gathered {
    let make = |failed: Shared<Vec<usize>>, finished: Rc<Cell<usize>>| {
        plans
            .iter()
            .enumerate()
            .map(move |(index, &(pause, fails))| {
                let (failed, finished) = (failed.clone(), finished.clone());
                async move {
                    pause_for(pause).await;
                    finished.set(finished.get() + 1);
                    if fails {
                        failed.borrow_mut().push(index);
                        Err(index)
                    } else {
                        Ok(index * 10)
                    }
                }
            })
    };
    let settled = gather_settled(make(Rc::default(), Rc::default())).await;
    let failed: Shared<Vec<usize>> = Rc::default();
    let finished = Rc::new(Cell::new(0));
    let gathered = gather(make(failed.clone(), finished.clone())).await;
    let finished_when_returned = finished.get();
    sleep(LONG_AFTER).await;
    let failed = failed.borrow().clone();
    Gathered {
        settled,
        gathered,
        failed,
        finished_late: finished.get() - finished_when_returned,
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn gather_keeps_input_order_and_returns_the_first_error_in_time(
        seed in any::<u64>(),
        policy in policy(),
        plans in prop::collection::vec((pause(), prop::bool::weighted(0.2)), 1..8),
    ) {
        let (sim, result) = run_twice(sim_for(seed, &policy), || gather_both(plans.clone()));
        let outcome = passed(result);
        let expected: Vec<Result<usize, usize>> = plans
            .iter()
            .enumerate()
            .map(|(index, (_, fails))| if *fails { Err(index) } else { Ok(index * 10) })
            .collect();
        prop_assert_eq!(&outcome.settled, &expected);
        match outcome.failed.first() {
            None => prop_assert_eq!(
                outcome.gathered,
                Ok((0..plans.len()).map(|index| index * 10).collect::<Vec<_>>())
            ),
            Some(first) => prop_assert_eq!(outcome.gathered, Err(*first)),
        }
        prop_assert_eq!(outcome.finished_late, 0, "a task ran on after gather returned its error");
        prop_assert_eq!(sim.stats().leaked, 0);
    }
}

#[derive(Debug, PartialEq)]
struct Completed {
    ids: Vec<TaskId>,
    /// Which tasks had ended before `as_completed` was called.
    ended_before: Vec<bool>,
    /// The input indexes, in the order the stream yielded them.
    yielded: Vec<usize>,
}

async fn as_completed_order(pauses: Vec<Pause>, before: Pause) -> Completed {
    let handles: Vec<JoinHandle<usize>> = pauses
        .into_iter()
        .enumerate()
        .map(|(index, pause)| {
            seedloop::spawn(async move {
                pause_for(pause).await;
                index
            })
        })
        .collect();
    let ids = handles.iter().map(JoinHandle::id).collect();
    pause_for(before).await;
    let ended_before = handles.iter().map(JoinHandle::is_finished).collect();
    let yielded = as_completed(handles)
        .map(|result| result.expect("no task fails"))
        .collect::<Vec<usize>>()
        .await;
    Completed {
        ids,
        ended_before,
        yielded,
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn as_completed_yields_in_the_completion_order_of_the_trace(
        seed in any::<u64>(),
        policy in policy(),
        pauses in prop::collection::vec(pause(), 1..8),
        // Mostly none: tasks that ended before the call come first, in input order.
        before in prop_oneof![3 => Just(Pause::Yields(0)), 1 => pause()],
    ) {
        let (sim, result) = run_twice(sim_for(seed, &policy), || {
            as_completed_order(pauses.clone(), before)
        });
        let outcome = passed(result);
        let completed_in_trace: Vec<usize> = sim
            .trace()
            .events()
            .iter()
            .filter(|event| event.kind() == EventKind::Complete)
            .filter_map(|event| outcome.ids.iter().position(|id| Some(*id) == event.task()))
            .collect();
        prop_assert_eq!(completed_in_trace.len(), pauses.len());
        let expected: Vec<usize> = (0..pauses.len())
            .filter(|index| outcome.ended_before[*index])
            .chain(completed_in_trace.into_iter().filter(|index| !outcome.ended_before[*index]))
            .collect();
        prop_assert_eq!(outcome.yielded, expected);
    }
}

// ---------------------------------------------------------------------------------
// 6. `shield`: the inner task finishes even when its awaiter is cancelled.
// ---------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Awaiter {
    /// A task awaits the inner task; main cancels that task after this pause.
    CancelledAfter(Pause),
    /// Main awaits the inner task under a timeout of this many milliseconds.
    TimesOutAfter(u64),
}

fn awaiter() -> impl Strategy<Value = Awaiter> {
    prop_oneof![
        pause().prop_map(Awaiter::CancelledAfter),
        (0u64..=20).prop_map(Awaiter::TimesOutAfter),
    ]
}

#[derive(Debug, PartialEq)]
struct Shielded {
    inner: TaskId,
    /// What the awaiter got: None when it was cancelled or timed out.
    awaited: Option<Result<u64, JoinError>>,
    /// What the inner task produced, observed after the awaiter gave up.
    produced: Option<u64>,
}

const VALUE: u64 = 42;

async fn shield_scenario(inner_pause: Pause, awaiter: Awaiter, shielded: bool) -> Shielded {
    let produced = Rc::new(Cell::new(None));
    let inner_task = seedloop::spawn({
        let produced = produced.clone();
        async move {
            pause_for(inner_pause).await;
            produced.set(Some(VALUE));
            VALUE
        }
    });
    let inner = inner_task.id();
    let awaited = match awaiter {
        Awaiter::CancelledAfter(pause) => {
            let outer = seedloop::spawn(shield(inner_task));
            pause_for(pause).await;
            outer.cancel();
            outer.await.ok()
        }
        Awaiter::TimesOutAfter(millis) => {
            let wait = Duration::from_millis(millis);
            if shielded {
                timeout(wait, shield(inner_task)).await.ok()
            } else {
                timeout(wait, inner_task).await.ok()
            }
        }
    };
    sleep(LONG_AFTER).await;
    Shielded {
        inner,
        awaited,
        produced: produced.get(),
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn shield_lets_the_inner_task_finish_when_its_awaiter_is_cancelled(
        seed in any::<u64>(),
        policy in policy(),
        inner_pause in pause(),
        awaiter in awaiter(),
        // Unshielded (a plain handle under the timeout) as the control.
        shielded in prop::bool::weighted(0.75),
    ) {
        let shielded = shielded || matches!(awaiter, Awaiter::CancelledAfter(_));
        let (sim, result) = run_twice(sim_for(seed, &policy), || {
            shield_scenario(inner_pause, awaiter, shielded)
        });
        let outcome = passed(result);
        let inner_end = endings(sim.trace(), outcome.inner);
        if let Some(awaited) = &outcome.awaited {
            // The awaiter was not cancelled: it got the value.
            prop_assert_eq!(awaited, &Ok(VALUE));
        }
        if shielded || outcome.awaited.is_some() {
            prop_assert_eq!(outcome.produced, Some(VALUE));
            prop_assert_eq!(inner_end, [EventKind::Complete]);
        } else {
            // Control: without the shield, the timeout cancelled the inner task.
            prop_assert_eq!(outcome.produced, None);
            prop_assert_eq!(inner_end, [EventKind::Cancelled]);
        }
        prop_assert_eq!(sim.stats().leaked, 0);
    }
}

// ---------------------------------------------------------------------------------
// 7. Cancellation at every await point of a transfer leaves the books balanced.
// ---------------------------------------------------------------------------------

const OPENING: i64 = 100;

/// Puts a withdrawal back unless disarmed: the transfer's cancel safety.
struct Rollback {
    account: Rc<Cell<i64>>,
    amount: i64,
    armed: bool,
}

impl Drop for Rollback {
    fn drop(&mut self) {
        if self.armed {
            self.account.set(self.account.get() + self.amount);
        }
    }
}

#[derive(Clone, Debug)]
struct TransferPlan {
    amount: i64,
    before: Vec<Pause>,
    during: Vec<Pause>,
    after: Vec<Pause>,
}

fn transfer_plan() -> impl Strategy<Value = TransferPlan> {
    (
        1i64..=OPENING,
        prop::collection::vec(suspending_pause(), 0..3),
        prop::collection::vec(suspending_pause(), 1..4),
        prop::collection::vec(suspending_pause(), 0..3),
    )
        .prop_map(|(amount, before, during, after)| TransferPlan {
            amount,
            before,
            during,
            after,
        })
}

/// Moves `plan.amount` from `from` to `to` across several awaits, cancel-safely: the
/// withdrawal is rolled back by a guard unless the deposit happened.
async fn safe_transfer(
    from: Rc<Cell<i64>>,
    to: Rc<Cell<i64>>,
    plan: TransferPlan,
    committed: Rc<Cell<bool>>,
) -> Result<(), String> {
    for pause in plan.before {
        pause_for(pause).await;
    }
    from.set(from.get() - plan.amount);
    let mut rollback = Rollback {
        account: from,
        amount: plan.amount,
        armed: true,
    };
    for pause in plan.during {
        pause_for(pause).await;
    }
    to.set(to.get() + plan.amount);
    rollback.armed = false;
    committed.set(true);
    for pause in plan.after {
        pause_for(pause).await;
    }
    Ok(())
}

/// Two transfers between `a` and `b` in a task group (the explorer's target is the
/// one named `transfer`), then the books must balance: each transfer happened
/// entirely or not at all, and entirely if it completed.
async fn books_balance(forward: TransferPlan, backward: TransferPlan) {
    let a = Rc::new(Cell::new(OPENING));
    let b = Rc::new(Cell::new(OPENING));
    let (forward_amount, backward_amount) = (forward.amount, backward.amount);
    let forward_done = Rc::new(Cell::new(false));
    let backward_done = Rc::new(Cell::new(false));
    let result = TaskGroup::<String>::scope(|tg| {
        let (a, b) = (a.clone(), b.clone());
        let (forward_done, backward_done) = (forward_done.clone(), backward_done.clone());
        async move {
            let there = Builder::new().name("transfer").spawn_in(
                &tg,
                safe_transfer(a.clone(), b.clone(), forward, forward_done),
            );
            let back = tg.spawn_named(
                "transfer-back",
                safe_transfer(b, a, backward, backward_done),
            );
            let there = there.await;
            let back = back.await;
            Ok((there, back))
        }
    })
    .await;
    let (there, back) = result.expect("a cancelled child is not a failure");
    for (result, done) in [(&there, &forward_done), (&back, &backward_done)] {
        match result {
            Ok(()) => assert!(done.get(), "a transfer completed without moving the money"),
            Err(JoinError::Cancelled) => {}
            Err(other) => panic!("a transfer ended with {other:?}"),
        }
    }
    let moved = forward_amount * i64::from(forward_done.get())
        - backward_amount * i64::from(backward_done.get());
    assert_eq!(a.get() + b.get(), 2 * OPENING, "money was created or lost");
    assert_eq!(
        (a.get(), b.get()),
        (OPENING - moved, OPENING + moved),
        "a transfer half happened (forward {there:?}, backward {back:?})"
    );
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn cancelling_a_transfer_at_any_await_point_keeps_the_books_balanced(
        seed in any::<u64>(),
        policy in policy(),
        forward in transfer_plan(),
        backward in transfer_plan(),
        replay_point in 0u64..8,
    ) {
        let scenario = || books_balance(forward.clone(), backward.clone());
        let summary = CancelExplorer::new("transfer")
            .seeds(seed..seed.saturating_add(1))
            .policy(policy.clone())
            .try_run(scenario)
            .unwrap_or_else(|failure| panic!("{failure}"));
        prop_assert_eq!(summary.await_points.len(), 1);
        prop_assert!(summary.await_points[0] > 0);
        // One cancel point (0: none; past the last await point: none either) replays.
        let (sim, result) = run_twice(
            || Sim::new(seed).policy(policy.clone()).cancel_at("transfer", replay_point),
            scenario,
        );
        passed(result);
        let cancelled = sim
            .trace()
            .events()
            .iter()
            .any(|event| event.kind() == EventKind::Cancelled);
        prop_assert_eq!(
            cancelled,
            (1..=summary.await_points[0]).contains(&replay_point),
            "cancelled at await point {} of {}", replay_point, summary.await_points[0]
        );
    }
}

/// Withdraw, await, deposit: cancelled at the await, the money is gone. The explorer
/// must find it at the first await point (so the property above can fail).
async fn unsafe_transfer(
    from: Rc<Cell<i64>>,
    to: Rc<Cell<i64>>,
    amount: i64,
) -> Result<(), String> {
    from.set(from.get() - amount);
    sleep(Duration::from_millis(5)).await;
    to.set(to.get() + amount);
    Ok(())
}

#[test]
fn explorer_finds_the_cancel_unsafe_transfer_at_its_first_await_point() {
    for policy in [Policy::Fifo, Policy::Random, Policy::Pct { depth: 2 }] {
        let failure = CancelExplorer::new("transfer")
            .seeds(0..4)
            .policy(policy.clone())
            .try_run(|| async {
                let a = Rc::new(Cell::new(OPENING));
                let b = Rc::new(Cell::new(OPENING));
                let result = TaskGroup::<String>::scope(|tg| {
                    let (a, b) = (a.clone(), b.clone());
                    async move {
                        let transfer = Builder::new()
                            .name("transfer")
                            .spawn_in(&tg, unsafe_transfer(a, b, 30));
                        let _ = transfer.await;
                        Ok(())
                    }
                })
                .await;
                assert!(result.is_ok());
                assert_eq!(a.get() + b.get(), 2 * OPENING, "money was lost");
            })
            .expect_err("the withdrawal without its deposit is found");
        let point = failure.cancel_point.as_ref().expect("a cancel point");
        assert_eq!(
            (point.task.as_str(), point.await_point),
            ("transfer", 1),
            "under {policy}"
        );
        let site = point.site.as_deref().expect("a seedloop await point");
        assert!(
            site.starts_with("tests/structured_properties.rs:"),
            "{site}"
        );
        assert_eq!(failure.seed, 0, "under {policy}");
        assert!(failure.replay_command().contains("SEEDLOOP_CANCEL_AT=1"));
    }
}
