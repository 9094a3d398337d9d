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

use super::join::{cancel_key, Completion, Convert};
use super::{Builder, JoinError, JoinHandle, TaskId};
use crate::runtime::context;
use crate::runtime::executor::{TaskKey, Waiting};
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

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
        Scope {
            start: Some(body),
            group: None,
            body: None,
            output: None,
            aborted: false,
            site: std::panic::Location::caller(),
        }
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

struct Scope<E, R, B, Fut> {
    start: Option<B>,
    group: Option<TaskGroup<E>>,
    body: Option<Pin<Box<Fut>>>,
    output: Option<R>,
    // Set once the scope has cancelled the children after the first failure.
    aborted: bool,
    site: crate::runtime::executor::Site,
}

// The body future is boxed and `B` is moved out, never pinned in place.
impl<E, R, B, Fut> Unpin for Scope<E, R, B, Fut> {}

impl<E: 'static, R, B, Fut> Future for Scope<E, R, B, Fut>
where
    B: FnOnce(TaskGroup<E>) -> Fut,
    Fut: Future<Output = Result<R, E>>,
{
    type Output = Result<R, GroupError<E>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if let Some(start) = this.start.take() {
            let scope_task = context::with_current("TaskGroup::scope", |shared| {
                shared.current_task().map(|task| task.id)
            })
            .unwrap_or(TaskId::MAIN);
            let group = TaskGroup {
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
            };
            this.group = Some(group.clone());
            this.body = Some(Box::pin(start(group)));
        }
        let group = this
            .group
            .clone()
            .expect("TaskGroup scope polled after it returned");
        if let Some(body) = &mut this.body {
            if !group.is_failing() {
                match body.as_mut().poll(cx) {
                    Poll::Ready(Ok(output)) => {
                        this.output = Some(output);
                        this.body = None;
                    }
                    Poll::Ready(Err(error)) => {
                        this.body = None;
                        group
                            .state
                            .borrow_mut()
                            .fail(Source::Body, Cause::Error(error));
                    }
                    Poll::Pending => {}
                }
            }
        }
        if group.is_failing() && !this.aborted {
            // The abort: the body is cancelled at its current await point, then every
            // child still running.
            this.aborted = true;
            this.body = None;
            let keys = group.state.borrow().live_keys();
            cancel_all(keys);
        }
        let mut state = group.state.borrow_mut();
        if this.body.is_none() && state.live == 0 {
            state.closed = true;
            let error = std::mem::replace(&mut state.error, GroupError::empty());
            drop(state);
            this.group = None;
            return Poll::Ready(if error.entries.is_empty() {
                Ok(this
                    .output
                    .take()
                    .expect("a scope whose body was not cancelled has its output"))
            } else {
                Err(error)
            });
        }
        match &state.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            _ => state.waker = Some(cx.waker().clone()),
        }
        let live = state.live;
        drop(state);
        if this.body.is_none() {
            let site = this.site;
            context::try_with_current(|shared| {
                shared.set_waiting(Waiting::Group(live.min(u32::MAX as usize) as u32));
                shared.note_site(site);
            });
        }
        Poll::Pending
    }
}

impl<E, R, B, Fut> Drop for Scope<E, R, B, Fut> {
    fn drop(&mut self) {
        let Some(group) = self.group.take() else {
            return;
        };
        // Cancelled while children (or the body) still run: the body first, at its
        // await point, then every child.
        self.body = None;
        let mut state = group.state.borrow_mut();
        state.failing = true;
        state.closed = true;
        let keys = state.live_keys();
        drop(state);
        cancel_all(keys);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EntryKind {
    Error(usize),
    Panic(usize),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    task: TaskId,
    name: Option<String>,
    in_body: bool,
    kind: EntryKind,
}

/// Every failure of a task group, in the order they happened (asyncio's
/// `ExceptionGroup`): children's and the body's errors, and children's panics.
/// Cancellations are not failures. A `GroupError` comes only from a failed
/// [`TaskGroup::scope`], so it always holds at least one failure.
///
/// `Display` is a numbered list, one failure a line, with nested groups indented:
///
/// ```text
/// task group failed: 2 errors
///   1. task 2 (fetch-b) returned an error: not found
///   2. task 3 (fetch-c) panicked: index out of bounds
/// ```
///
/// There is no empty `GroupError` to make: it has no `Default`.
///
/// ```compile_fail,E0277
/// let empty: seedloop::task::GroupError<String> = Default::default();
/// ```
///
/// # Examples
///
/// ```
/// use seedloop::task::{GroupError, TaskGroup};
///
/// seedloop::Sim::new(0).run(async {
///     let result: Result<(), GroupError<String>> = TaskGroup::scope(|tg| async move {
///         tg.spawn_named("fetch", async { Err::<(), _>("not found".to_string()) });
///         Ok(())
///     })
///     .await;
///     let error = result.unwrap_err();
///     assert_eq!((error.len(), error.errors()), (1, &["not found".to_string()][..]));
///     assert_eq!(
///         error.to_string(),
///         "task group failed: 1 error\n  1. task 1 (fetch) returned an error: not found"
///     );
/// }).unwrap();
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct GroupError<E> {
    errors: Vec<E>,
    panics: Vec<String>,
    entries: Vec<Entry>,
}

/// One failure of a task group, as [`GroupError::failures`] lists it.
///
/// # Examples
///
/// ```
/// use seedloop::task::TaskGroup;
///
/// seedloop::Sim::new(0).run(async {
///     let error = TaskGroup::<String>::scope(|tg| async move {
///         tg.spawn_named("fetch", async { Err::<(), _>("not found".to_string()) });
///         Ok(())
///     })
///     .await
///     .unwrap_err();
///     let failure = error.failures().next().unwrap();
///     assert_eq!((failure.name, failure.in_body), (Some("fetch"), false));
///     assert_eq!(failure.cause, Ok(&"not found".to_string()));
/// }).unwrap();
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct GroupFailure<'a, E> {
    /// The failing child, or for a body error the task that ran the scope.
    pub task: TaskId,
    /// The child's name, if it was given one.
    pub name: Option<&'a str>,
    /// Whether the scope's body (not a child) failed.
    pub in_body: bool,
    /// The error, or the panic's message.
    pub cause: Result<&'a E, &'a str>,
}

impl<E> GroupError<E> {
    /// Where a group collects its failures; only a non-empty one leaves the scope.
    fn empty() -> GroupError<E> {
        GroupError {
            errors: Vec::new(),
            panics: Vec::new(),
            entries: Vec::new(),
        }
    }

    /// The errors (children's and the body's), in the order they happened.
    pub fn errors(&self) -> &[E] {
        &self.errors
    }

    /// The caught panics' messages, in the order they happened.
    pub fn panics(&self) -> &[String] {
        &self.panics
    }

    /// Every failure, errors and panics together, in the order they happened.
    pub fn failures(&self) -> impl Iterator<Item = GroupFailure<'_, E>> {
        self.entries.iter().map(|entry| GroupFailure {
            task: entry.task,
            name: entry.name.as_deref(),
            in_body: entry.in_body,
            cause: match entry.kind {
                EntryKind::Error(index) => Ok(&self.errors[index]),
                EntryKind::Panic(index) => Err(self.panics[index].as_str()),
            },
        })
    }

    /// The number of failures: at least 1.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Always false: a `GroupError` holds at least one failure (there is no way to
    /// make an empty one). Present because `len` is.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The errors, by value, in the order they happened.
    pub fn into_errors(self) -> Vec<E> {
        self.errors
    }
}

fn plural(count: usize, word: &str) -> String {
    match count {
        1 => format!("1 {word}"),
        _ => format!("{count} {word}s"),
    }
}

impl<E: fmt::Display> fmt::Display for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut counts = Vec::new();
        if !self.errors.is_empty() {
            counts.push(plural(self.errors.len(), "error"));
        }
        if !self.panics.is_empty() {
            counts.push(plural(self.panics.len(), "panic"));
        }
        write!(f, "task group failed: {}", counts.join(", "))?;
        for (number, failure) in self.failures().enumerate() {
            let who = match (failure.in_body, failure.name) {
                (true, _) => format!("the scope body ({})", failure.task),
                (false, Some(name)) => format!("{} ({name})", failure.task),
                (false, None) => failure.task.to_string(),
            };
            let text = match failure.cause {
                Ok(error) => format!("{who} returned an error: {error}"),
                Err(message) => format!("{who} panicked: {message}"),
            };
            // Nested groups (and any multi-line error) indent under their entry.
            let prefix = format!("  {}. ", number + 1);
            let indent = " ".repeat(prefix.len());
            for (line_number, line) in text.lines().enumerate() {
                let lead = if line_number == 0 { &prefix } else { &indent };
                write!(f, "\n{lead}{line}")?;
            }
        }
        Ok(())
    }
}

impl<E: fmt::Debug> fmt::Debug for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for failure in self.failures() {
            list.entry(&failure);
        }
        list.finish()
    }
}

impl<E: std::error::Error + 'static> std::error::Error for GroupError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.errors
            .first()
            .map(|error| error as &(dyn std::error::Error + 'static))
    }
}
