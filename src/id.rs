//! Identifiers shared by every layer.

use std::fmt;

/// A task's identity within one run: tasks are numbered in spawn order, the main
/// future is task 0. Ids are never reused within a run, so a trace that names
/// `task 3` means the same task from its spawn to its end, whatever slot it used.
///
/// # Examples
///
/// ```
/// seedloop::Sim::new(1).run(async {
///     let handle = seedloop::spawn(async {});
///     assert_eq!(handle.id(), seedloop::task::TaskId::new(1));
///     assert_eq!(seedloop::task::current().id(), seedloop::task::TaskId::MAIN);
/// }).unwrap();
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(u32);

impl TaskId {
    /// The main future given to [`crate::Sim::run`].
    pub const MAIN: TaskId = TaskId(0);

    /// The task with spawn number `index` (0 is the main future).
    pub const fn new(index: u32) -> TaskId {
        TaskId(index)
    }

    /// The spawn number.
    pub const fn index(self) -> u32 {
        self.0
    }
}

impl fmt::Debug for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {}", self.0)
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {}", self.0)
    }
}

/// A place in the source: where a seedloop future was created (and so awaited), for
/// deadlock reports and the cancellation explorer ("awaited at src/bank.rs:12:9").
pub(crate) type Site = &'static std::panic::Location<'static>;
