//! [`FaultPlan`]: faults a run injects by itself (re-exported as
//! `seedloop::fault::FaultPlan`), part of [`Config`](super::Config) so that a failure's
//! `sim()` replays them.

use std::time::Duration;

/// Faults that a run injects at drawn virtual times: host crashes (each followed by a
/// restart after a drawn downtime) and partitions between hosts (each healed after a
/// drawn duration). Set with [`Sim::faults`](crate::Sim::faults).
///
/// Every `mean_gap` on average (uniformly between half and one and a half of it) the
/// plan draws, from the run's fault stream of choices, whether to inject a fault and
/// which: decision 0 is "none", so under [`Policy::Fifo`](crate::Policy::Fifo) (and a
/// tape of zeros) nothing happens. It injects faults only during its `active` span
/// from the first host's creation, then heals what it partitioned and restarts what it
/// crashed, so that a program that is stuck afterwards is reported as stuck. Hosts
/// named in `spare` (and `main`) never crash.
///
/// # Examples
///
/// ```
/// use seedloop::fault::FaultPlan;
/// use std::time::Duration;
/// let plan = FaultPlan::default()
///     .mean_gap(Duration::from_secs(2))
///     .downtime(Duration::from_secs(1), Duration::from_secs(5))
///     .active(Duration::from_secs(60));
/// let sim = seedloop::Sim::new(0).faults(plan.clone());
/// assert_eq!(sim.config().faults, Some(plan));
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct FaultPlan {
    /// The mean time between two draws of a fault.
    pub mean_gap: Duration,
    /// Whether host crashes are injected.
    pub crashes: bool,
    /// Whether partitions are injected.
    pub partitions: bool,
    /// The least and most time a crashed host stays down.
    pub downtime: (Duration, Duration),
    /// The least and most time a partition lasts.
    pub partition_time: (Duration, Duration),
    /// How long faults are injected, from the first host's creation.
    pub active: Duration,
    /// Hosts that never crash (`main` never does).
    pub spare: Vec<String>,
    /// The probability that a disk read, write or sync fails with an I/O error, on
    /// top of [`DiskConfig`](crate::fs::DiskConfig)'s own rates, for the whole run.
    pub disk_errors: f64,
}

impl Default for FaultPlan {
    fn default() -> FaultPlan {
        FaultPlan {
            mean_gap: Duration::from_secs(5),
            crashes: true,
            partitions: true,
            downtime: (Duration::from_secs(1), Duration::from_secs(10)),
            partition_time: (Duration::from_secs(1), Duration::from_secs(10)),
            active: Duration::from_secs(120),
            spare: Vec::new(),
            disk_errors: 0.0,
        }
    }
}

impl FaultPlan {
    /// The probability that a disk read, write or sync fails (default 0), on top of
    /// [`DiskConfig`](crate::fs::DiskConfig)'s own rates, for the whole run.
    ///
    /// ```
    /// let plan = seedloop::fault::FaultPlan::default().disk_errors(0.01);
    /// assert_eq!(plan.disk_errors, 0.01);
    /// ```
    ///
    /// # Panics
    ///
    /// When `rate` is not between 0 and 1.
    #[track_caller]
    pub fn disk_errors(mut self, rate: f64) -> FaultPlan {
        assert!(
            (0.0..=1.0).contains(&rate),
            "FaultPlan::disk_errors must be a probability between 0 and 1, got {rate}"
        );
        self.disk_errors = rate;
        self
    }

    /// The mean time between two draws (default 5 s).
    ///
    /// # Panics
    ///
    /// When it is zero.
    #[track_caller]
    pub fn mean_gap(mut self, gap: Duration) -> FaultPlan {
        assert!(!gap.is_zero(), "FaultPlan::mean_gap must be above zero");
        self.mean_gap = gap;
        self
    }

    /// Whether to crash hosts (default yes).
    pub fn crashes(mut self, crashes: bool) -> FaultPlan {
        self.crashes = crashes;
        self
    }

    /// Whether to partition hosts (default yes).
    pub fn partitions(mut self, partitions: bool) -> FaultPlan {
        self.partitions = partitions;
        self
    }

    /// How long a crashed host stays down (default 1 s to 10 s).
    #[track_caller]
    pub fn downtime(mut self, min: Duration, max: Duration) -> FaultPlan {
        assert!(
            min <= max,
            "FaultPlan::downtime: the minimum is above the maximum"
        );
        self.downtime = (min, max);
        self
    }

    /// How long a partition lasts (default 1 s to 10 s).
    #[track_caller]
    pub fn partition_time(mut self, min: Duration, max: Duration) -> FaultPlan {
        assert!(
            min <= max,
            "FaultPlan::partition_time: the minimum is above the maximum"
        );
        self.partition_time = (min, max);
        self
    }

    /// How long faults are injected (default 120 s).
    pub fn active(mut self, span: Duration) -> FaultPlan {
        self.active = span;
        self
    }

    /// A host that never crashes.
    pub fn spare(mut self, host: impl Into<String>) -> FaultPlan {
        self.spare.push(host.into());
        self
    }
}
