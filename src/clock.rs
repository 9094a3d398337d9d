//! The virtual clock's time type, [`Instant`] (re-exported as
//! [`crate::time::Instant`]).
//!
//! It lives in the leaf layer because the runner, the failure reports and the timers
//! all speak of instants; reading the running simulation's clock
//! ([`Instant::now`]) is defined with the other time functions in `time.rs`.

use crate::trace::VirtualTime;
use std::fmt;
use std::ops::{Add, AddAssign, Sub};
use std::time::Duration;

/// A point in virtual time, measured from the simulation's epoch.
///
/// # Examples
///
/// ```
/// use seedloop::time::{sleep, Instant};
/// use std::time::Duration;
/// seedloop::Sim::new(0).run(async {
///     let start = Instant::now();
///     sleep(Duration::from_millis(1500)).await;
///     assert_eq!(start.elapsed(), Duration::from_millis(1500));
///     assert_eq!(Instant::now() - start, Duration::from_millis(1500));
///     assert_eq!(Instant::now().to_string(), "+1.5s", "time since the epoch");
/// }).unwrap();
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant {
    nanos: u64,
}

impl Instant {
    /// The simulation's epoch.
    pub const EPOCH: Instant = Instant { nanos: 0 };

    /// The last instant the clock can show (about 584 years after the epoch): a
    /// deadline that far away is never reached.
    pub const FAR_FUTURE: Instant = Instant { nanos: u64::MAX };

    pub(crate) fn from_nanos(nanos: u64) -> Instant {
        Instant { nanos }
    }

    pub(crate) fn as_nanos(self) -> u64 {
        self.nanos
    }

    /// The time from `earlier` to `self` (zero if `earlier` is later).
    pub fn duration_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.nanos.saturating_sub(earlier.nanos))
    }

    /// The time since the simulation's epoch.
    pub fn elapsed_since_epoch(self) -> Duration {
        Duration::from_nanos(self.nanos)
    }

    /// `self + duration`, or `None` past the clock's range (about 584 years).
    pub fn checked_add(self, duration: Duration) -> Option<Instant> {
        let nanos = u64::try_from(duration.as_nanos()).ok()?;
        self.nanos.checked_add(nanos).map(Instant::from_nanos)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, duration: Duration) -> Instant {
        self.checked_add(duration)
            .expect("virtual time overflow: a deadline more than 584 years from the epoch")
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, duration: Duration) {
        *self = *self + duration;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, earlier: Instant) -> Duration {
        self.duration_since(earlier)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Instant(+{})", VirtualTime(self.elapsed_since_epoch()))
    }
}

impl fmt::Display for Instant {
    /// The time since the epoch, e.g. `+1.5s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&format!("+{}", VirtualTime(self.elapsed_since_epoch())))
    }
}
