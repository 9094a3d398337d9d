//! The future [`TaskGroup::scope`] returns.
//!
//! Its first poll makes the group and starts the body with a handle to it. Each poll
//! then runs the same four phases: poll the body (not once the group is failing); on
//! the first failure, abort (drop the body at its await point, request the
//! cancellation of every live child); return once the body is gone and no child is
//! left; else register the waker that children's ends and failures wake. Dropping the
//! scope unfinished aborts the same way, without waiting.

use super::{cancel_all, Cause, GroupError, Source, TaskGroup};
use crate::runtime::context;
use crate::runtime::executor::{Site, Waiting};
use crate::task::TaskId;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The future of [`TaskGroup::scope`]: the body, then the wait for the children.
pub(super) struct Scope<E, R, B, Fut> {
    start: Option<B>,
    group: Option<TaskGroup<E>>,
    body: Option<Pin<Box<Fut>>>,
    output: Option<R>,
    // Set once the scope has cancelled the children after the first failure.
    aborted: bool,
    site: Site,
}

impl<E, R, B, Fut> Scope<E, R, B, Fut> {
    /// A scope that will run `body` when first polled.
    pub(super) fn new(body: B, site: Site) -> Scope<E, R, B, Fut> {
        Scope {
            start: Some(body),
            group: None,
            body: None,
            output: None,
            aborted: false,
            site,
        }
    }
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
            this.begin(start);
        }
        let group = this
            .group
            .clone()
            .expect("TaskGroup scope polled after it returned");
        this.poll_body(&group, cx);
        if group.is_failing() && !this.aborted {
            this.abort(&group);
        }
        if let Some(result) = this.finish(&group) {
            return Poll::Ready(result);
        }
        this.park(&group, cx);
        Poll::Pending
    }
}

impl<E: 'static, R, B, Fut> Scope<E, R, B, Fut>
where
    B: FnOnce(TaskGroup<E>) -> Fut,
    Fut: Future<Output = Result<R, E>>,
{
    /// The first poll: makes the group, owned by the task running the scope, and
    /// starts the body with a handle to it.
    fn begin(&mut self, start: B) {
        let scope_task = context::with_current("TaskGroup::scope", |shared| {
            shared.current_task().map(|task| task.id)
        })
        .unwrap_or(TaskId::MAIN);
        let group = TaskGroup::new(scope_task);
        self.group = Some(group.clone());
        self.body = Some(Box::pin(start(group)));
    }

    /// Polls the body while it runs and the group is not failing (a failing group
    /// drops it instead). Its `Ok` is kept for the result; its `Err` fails the group.
    fn poll_body(&mut self, group: &TaskGroup<E>, cx: &mut Context<'_>) {
        let Some(body) = &mut self.body else {
            return;
        };
        if group.is_failing() {
            return;
        }
        match body.as_mut().poll(cx) {
            Poll::Ready(Ok(output)) => {
                self.output = Some(output);
                self.body = None;
            }
            Poll::Ready(Err(error)) => {
                self.body = None;
                group
                    .state
                    .borrow_mut()
                    .fail(Source::Body, Cause::Error(error));
            }
            Poll::Pending => {}
        }
    }

    /// The abort, once, after the first failure: the body is cancelled at its current
    /// await point, then every child still running.
    fn abort(&mut self, group: &TaskGroup<E>) {
        self.aborted = true;
        self.body = None;
        let keys = group.state.borrow().live_keys();
        cancel_all(keys);
    }

    /// The scope's result, once the body is gone and no child is left: the body's
    /// value if nothing failed, else every failure. The group is closed to spawning.
    fn finish(&mut self, group: &TaskGroup<E>) -> Option<Result<R, GroupError<E>>> {
        let mut state = group.state.borrow_mut();
        if self.body.is_some() || state.live != 0 {
            return None;
        }
        state.closed = true;
        let error = std::mem::replace(&mut state.error, GroupError::empty());
        drop(state);
        self.group = None;
        Some(if error.is_empty() {
            Ok(self
                .output
                .take()
                .expect("a scope whose body was not cancelled has its output"))
        } else {
            Err(error)
        })
    }

    /// Waits: registers the waker that children's ends and failures wake, and once
    /// only children are left, tells the executor the task waits for its group.
    fn park(&self, group: &TaskGroup<E>, cx: &mut Context<'_>) {
        let mut state = group.state.borrow_mut();
        match &state.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            _ => state.waker = Some(cx.waker().clone()),
        }
        let live = state.live;
        drop(state);
        if self.body.is_none() {
            let site = self.site;
            context::try_with_current(|shared| {
                shared.set_waiting(Waiting::Group(live.min(u32::MAX as usize) as u32));
                shared.note_site(site);
            });
        }
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
