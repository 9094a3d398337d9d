//! The cancellation explorer's hook in the executor.
//!
//! The explorer ([`crate::CancelExplorer`], [`crate::Sim::cancel_at`]) names a task
//! and an await point. The executor tells this watch about every spawn and every
//! suspension of a task; the watch picks out the first task spawned with the target's
//! name, counts its suspensions (with the source site of each, for reports) in
//! [`Stats`], and says when the chosen one is reached so that the executor requests
//! the task's cancellation. The executor knows nothing else of the explorer.

use super::executor::Site;
use super::Stats;

/// The cancellation explorer's target: the first task spawned with this name, counted
/// at each suspension and, when `at` is set, cancelled at its `at`-th one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CancelTarget {
    pub name: Box<str>,
    pub at: Option<u64>,
}

/// Watches one run for the target.
#[derive(Debug, Default)]
pub(crate) struct TargetWatch {
    target: Option<CancelTarget>,
    // Invariant: set once, at the target's spawn; later tasks of that name are not it.
    spawned: bool,
}

impl TargetWatch {
    pub(crate) fn new(target: Option<CancelTarget>) -> TargetWatch {
        TargetWatch {
            target,
            spawned: false,
        }
    }

    /// Whether a task spawned with `name` is the target.
    #[inline]
    pub(crate) fn spawned(&mut self, name: Option<&str>, stats: &mut Stats) -> bool {
        match (&self.target, name) {
            (Some(target), Some(name)) if !self.spawned && *target.name == *name => {
                self.spawned = true;
                stats.target_await_points = Some(0);
                true
            }
            _ => false,
        }
    }

    /// Counts a suspension of the target; returns whether to cancel it now.
    pub(crate) fn suspended(&self, site: Option<Site>, stats: &mut Stats) -> bool {
        let suspensions = stats.target_await_points.get_or_insert(0);
        *suspensions += 1;
        let suspensions = *suspensions;
        stats.target_await_sites.push(site);
        self.target.as_ref().and_then(|target| target.at) == Some(suspensions)
    }
}
