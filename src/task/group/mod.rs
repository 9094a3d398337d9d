//! `TaskGroup`: asyncio's TaskGroup, with Rust's drop-based cancellation.
//!
//! A scope owns a group: shared state (in an `Rc`, as everything in a simulation is
//! one thread) holding the live children's task keys, the failures so far, and the
//! scope's waker. Each child is an ordinary task whose completion hook
//! ([`super::join::Completion`]) reports to the group: `Err(e)` is recorded (the child's
//! handle sees [`JoinError::Failed`]), a panic is caught and recorded, and every end
//! (completion, failure, panic, cancellation) lowers the live count. The first failure
//! marks the group as failing and wakes the scope; the scope, when it next runs, drops
//! its body at the body's current await point and requests cancellation of every
//! child. The scope returns once the body is gone and the live count is zero, so no
//! child outlives it.
//!
//! The abort happens when the scope's task runs, not inside the failing child, as in
//! asyncio (whose `TaskGroup` aborts from a done-callback scheduled with `call_soon`):
//! siblings that were already ready may run first, and fail too. That window is a real
//! interleaving of the production loop, so the scheduler explores it, and it is why a
//! [`GroupError`] can hold several failures.
//!
//! Cancellations are not failures: a child dropped because a sibling failed ends
//! without adding to [`GroupError`]. If the task running the scope is itself
//! cancelled, the scope future is dropped: it drops the body and requests cancellation
//! of every child (a drop cannot wait, so the children end at their next step rather
//! than before the scope's `Drop` returns, as they would in asyncio's `__aexit__`).
//!
//! Here are the group, its shared state and the children's completion hook; the
//! scope's future is in `scope.rs`, the failures' types in `error.rs`.

mod error;
mod scope;

pub use error::{GroupError, GroupFailure};

use super::join::{cancel_key, Completion, Convert};
use super::{Builder, JoinError, JoinHandle, TaskId};
use crate::runtime::context;
use crate::runtime::executor::TaskKey;
use error::{Entry, EntryKind};
use scope::Scope;
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::rc::Rc;
use std::task::Waker;

/// A handle to a task group, given to the body of [`TaskGroup::scope`] (asyncio's
/// `TaskGroup`). Cloning it is cheap; every clone spawns into the same group.
///
/// Children return `Result<T, E>`. The first child error, child panic or body error
/// cancels every other child and the body; the scope then returns
/// `Err(GroupError)` holding every error and panic in the order they happened.
///
/// # Examples
///
/// ```
/// use seedloop::task::{GroupError, TaskGroup};
/// use std::time::Duration;
///
/// seedloop::Sim::new(0).run(async {
///     let result: Result<u32, GroupError<String>> = TaskGroup::scope(|tg| async move {
///         let a = tg.spawn(async { Ok::<_, String>(1) });
///         let b = tg.spawn(async {
///             seedloop::time::sleep(Duration::from_secs(1)).await;
///             Err::<u32, _>("b failed".to_string())
///         });
///         let slow = tg.spawn(async {
///             seedloop::time::sleep(Duration::from_secs(60)).await;
///             Ok::<_, String>(3)
///         });
///         Ok(a.await.unwrap() + b.await.unwrap_or(0) + slow.await.unwrap_or(0))
///     })
///     .await;
///     let error = result.unwrap_err();
///     assert_eq!(error.errors(), ["b failed".to_string()]);
///     // `slow` was cancelled when `b` failed: the clock never reached 60 s.
///     assert_eq!(seedloop::time::Instant::now().elapsed_since_epoch(), Duration::from_secs(1));
/// }).unwrap();
/// ```
pub struct TaskGroup<E> {
    state: Rc<RefCell<GroupState<E>>>,
}

impl<E> Clone for TaskGroup<E> {
    fn clone(&self) -> TaskGroup<E> {
        TaskGroup {
            state: Rc::clone(&self.state),
        }
    }
}

impl<E> fmt::Debug for TaskGroup<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.borrow();
        f.debug_struct("TaskGroup")
            .field("live_children", &state.live)
            .field("failures", &state.error.entries.len())
            .field("failing", &state.failing)
            .field("closed", &state.closed)
            .finish()
    }
}

struct Member {
    key: TaskKey,
    name: Option<String>,
}

struct GroupState<E> {
    // A slab of the live children; a child's index is freed when it ends.
    members: Vec<Option<Member>>,
    free: Vec<usize>,
    live: usize,
    // Set by the first failure: later children are cancelled at once.
    failing: bool,
    // Set when the scope returned or was dropped: spawning is then misuse.
    closed: bool,
    scope_task: TaskId,
    error: GroupError<E>,
    waker: Option<Waker>,
}

/// Who failed: a child (by slab index) or the scope's body.
#[derive(Clone, Copy)]
enum Source {
    Child(usize),
    Body,
}

enum Cause<E> {
    Error(E),
    Panic(String),
}

impl<E> GroupState<E> {
    /// Records a failure and wakes the scope, which aborts the group when it runs.
    fn fail(&mut self, source: Source, cause: Cause<E>) {
        let (task, name, in_body) = match source {
            Source::Child(index) => {
                let member = self.members[index]
                    .as_ref()
                    .expect("a failing child is a live member");
                (member.key.id, member.name.clone(), false)
            }
            Source::Body => (self.scope_task, None, true),
        };
        let kind = match cause {
            Cause::Error(error) => {
                self.error.errors.push(error);
                EntryKind::Error(self.error.errors.len() - 1)
            }
            Cause::Panic(message) => {
                self.error.panics.push(message);
                EntryKind::Panic(self.error.panics.len() - 1)
            }
        };
        self.error.entries.push(Entry {
            task,
            name,
            in_body,
            kind,
        });
        self.failing = true;
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }

    fn live_keys(&self) -> Vec<TaskKey> {
        self.members
            .iter()
            .filter_map(|member| member.as_ref().map(|member| member.key))
            .collect()
    }
}

fn cancel_all(keys: Vec<TaskKey>) {
    for key in keys {
        cancel_key(key);
    }
}

/// The completion hook of a group's child.
struct GroupMember<E> {
    state: Rc<RefCell<GroupState<E>>>,
    index: usize,
}

impl<T, E: 'static> Completion<T> for GroupMember<E> {
    fn ended(&mut self, result: &Result<T, JoinError>) {
        let mut state = self.state.borrow_mut();
        if let Err(JoinError::Panicked(message)) = result {
            state.fail(Source::Child(self.index), Cause::Panic(message.clone()));
        }
        state.members[self.index] = None;
        state.free.push(self.index);
        state.live -= 1;
        if state.live == 0 {
            if let Some(waker) = state.waker.take() {
                waker.wake();
            }
        }
    }
}

impl<T, E: 'static> Convert<Result<T, E>, T> for GroupMember<E> {
    fn output(&mut self, value: Result<T, E>) -> Result<T, JoinError> {
        match value {
            Ok(value) => Ok(value),
            Err(error) => {
                context::try_with_current(|shared| {
                    shared.record_current(crate::trace::EventKind::Failed, None)
                });
                self.state
                    .borrow_mut()
                    .fail(Source::Child(self.index), Cause::Error(error));
                Err(JoinError::Failed)
            }
        }
    }
}

impl<E> TaskGroup<E> {
    /// A new, empty group whose scope runs in the task `scope_task`.
    fn new(scope_task: TaskId) -> TaskGroup<E> {
        TaskGroup {
            state: Rc::new(RefCell::new(GroupState {
                members: Vec::new(),
                free: Vec::new(),
                live: 0,
                failing: false,
                closed: false,
                scope_task,
                error: GroupError::empty(),
                waker: None,
            })),
        }
    }
}

impl<E: 'static> TaskGroup<E> {
    /// Runs `body` with a new task group and returns its result once the body and
    /// every child have ended (asyncio's `async with TaskGroup() as tg`).
    ///
    /// The first failure (a child's `Err`, a child's panic, or the body's `Err`)
    /// cancels every other child and the body. The result is `Ok` with the body's
    /// value when nothing failed, else `Err` with every failure in the order they
    /// happened; cancellations are not failures.
    ///
    /// # Cancel safety
    ///
    /// Dropping the unfinished scope future (the task awaiting it was cancelled, a
    /// `timeout` around it expired) drops the body at its current await point and
    /// requests the cancellation of every child still running. A drop cannot wait, so
    /// the children end when the scheduler next picks them, not before the drop
    /// returns as they would in asyncio's `__aexit__`. The failures recorded so far
    /// are dropped with it. Dropped before its first poll, the scope never ran `body`.
    #[track_caller]
    pub fn scope<R, B, Fut>(body: B) -> impl Future<Output = Result<R, GroupError<E>>>
    where
        B: FnOnce(TaskGroup<E>) -> Fut,
        Fut: Future<Output = Result<R, E>>,
    {
        Scope::new(body, std::panic::Location::caller())
    }

    /// Spawns a child (asyncio's `tg.create_task`). A child's `Err(e)` fails the
    /// group: `e` goes to the [`GroupError`], and the child's handle gives
    /// `Err(JoinError::Failed)`. A child panic is caught and fails the group the same
    /// way (the run goes on). A child spawned once the group is failing is cancelled at
    /// once.
    ///
    /// # Cancel safety
    ///
    /// The handle cancels and detaches as [`spawn`](super::spawn)'s does: dropped
    /// while being awaited it cancels the child, dropped unpolled it leaves the child
    /// running in the group. A cancelled child ends without failing the group:
    /// cancellations are not failures.
    ///
    /// # Panics
    ///
    /// When the group's scope has ended (asyncio raises `RuntimeError`), and outside a
    /// simulation.
    #[track_caller]
    pub fn spawn<T, F>(&self, future: F) -> JoinHandle<T>
    where
        F: Future<Output = Result<T, E>> + 'static,
        T: 'static,
    {
        self.spawn_with(Builder::new(), future)
    }

    /// Spawns a named child; see [`TaskGroup::spawn`] and
    /// [`Builder::spawn_in`](super::Builder::spawn_in).
    ///
    /// # Cancel safety
    ///
    /// As [`TaskGroup::spawn`].
    #[track_caller]
    pub fn spawn_named<T, F>(&self, name: impl Into<String>, future: F) -> JoinHandle<T>
    where
        F: Future<Output = Result<T, E>> + 'static,
        T: 'static,
    {
        self.spawn_with(Builder::new().name(name), future)
    }

    #[track_caller]
    pub(crate) fn spawn_with<T, F>(&self, builder: Builder, future: F) -> JoinHandle<T>
    where
        F: Future<Output = Result<T, E>> + 'static,
        T: 'static,
    {
        let index = {
            let state = self.state.borrow();
            if state.closed {
                drop(state);
                panic!("TaskGroup::spawn called after the group's scope ended; spawn children from inside the scope's body (or from its children) while the scope runs");
            }
            state.free.last().copied().unwrap_or(state.members.len())
        };
        let name = builder.task_name().map(str::to_string);
        let member = GroupMember {
            state: Rc::clone(&self.state),
            index,
        };
        let handle = builder.spawn_with("TaskGroup::spawn", future, member, true);
        let mut state = self.state.borrow_mut();
        let member = Some(Member {
            key: handle.key(),
            name,
        });
        if state.free.last() == Some(&index) {
            state.free.pop();
            state.members[index] = member;
        } else {
            debug_assert_eq!(index, state.members.len());
            state.members.push(member);
        }
        state.live += 1;
        let failing = state.failing;
        drop(state);
        if failing {
            handle.cancel();
        }
        handle
    }

    /// How many children are still running.
    pub fn live_children(&self) -> usize {
        self.state.borrow().live
    }

    /// Whether a failure has happened (children are being cancelled).
    pub fn is_failing(&self) -> bool {
        self.state.borrow().failing
    }
}
