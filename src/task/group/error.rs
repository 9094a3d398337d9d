//! A task group's failures: [`GroupError`] (asyncio's `ExceptionGroup`) and the
//! [`GroupFailure`] view of each one.
//!
//! A group records each failure as it happens: an error or a panic message is pushed
//! onto its own list (so [`GroupError::errors`] and [`GroupError::into_errors`] hand
//! out plain `E`s), and an entry saying who failed and which list holds the cause keeps
//! the order across both. `Display` walks the entries as a numbered list, indenting
//! the lines of a multi-line cause (a nested group's) under its entry.

use crate::plural::plural;
use crate::task::TaskId;
use std::fmt;

/// Which list holds an entry's cause, and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum EntryKind {
    Error(usize),
    Panic(usize),
}

/// One failure: who failed, and its cause.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Entry {
    pub(super) task: TaskId,
    pub(super) name: Option<String>,
    pub(super) in_body: bool,
    pub(super) kind: EntryKind,
}

/// Every failure of a task group, in the order they happened (asyncio's
/// `ExceptionGroup`): children's and the body's errors, and children's panics.
/// Cancellations are not failures. A `GroupError` comes only from a failed
/// [`TaskGroup::scope`](super::TaskGroup::scope), so it always holds at least one
/// failure.
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
    pub(super) errors: Vec<E>,
    pub(super) panics: Vec<String>,
    pub(super) entries: Vec<Entry>,
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
    pub(super) fn empty() -> GroupError<E> {
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

impl<E: fmt::Display> fmt::Display for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut counts = Vec::new();
        if !self.errors.is_empty() {
            counts.push(plural(self.errors.len() as u64, "error"));
        }
        if !self.panics.is_empty() {
            counts.push(plural(self.panics.len() as u64, "panic"));
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
