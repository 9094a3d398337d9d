//! `tokio::time` on the simulation's virtual clock: `sleep`, `sleep_until`,
//! `timeout`, `timeout_at`, `interval`, `interval_at` with `MissedTickBehavior`,
//! `Instant`, and the test helpers `pause`, `resume`, `advance`.
//!
//! The clock is always virtual (as if tokio's `start_paused` were always on): it
//! jumps to the next timer when every task waits, so a test of a one-hour timeout
//! takes microseconds. `Instant::from_std` and `into_std` are missing on purpose: a
//! simulation never reads the real clock.

use pin_project_lite::pin_project;
use std::fmt;
use std::future::Future;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::pin::Pin;
use std::task::{Context, Poll};

pub use std::time::Duration;

/// A point in virtual time (tokio's `time::Instant`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(seedloop::time::Instant);

impl Instant {
    /// The current virtual time.
    ///
    /// # Panics
    ///
    /// Outside a simulation.
    pub fn now() -> Instant {
        Instant(seedloop::time::Instant::now())
    }

    /// Time since `earlier` (zero if `earlier` is later, as tokio's does).
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }

    /// Time since `earlier`, or `None` if `earlier` is later.
    pub fn checked_duration_since(&self, earlier: Instant) -> Option<Duration> {
        (self.0 >= earlier.0).then(|| self.0.duration_since(earlier.0))
    }

    /// Time since `earlier`, or zero if `earlier` is later.
    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        self.checked_duration_since(earlier).unwrap_or_default()
    }

    /// Time since this instant.
    pub fn elapsed(&self) -> Duration {
        Instant::now().saturating_duration_since(*self)
    }

    /// This instant plus `duration`, if representable.
    pub fn checked_add(&self, duration: Duration) -> Option<Instant> {
        self.0.checked_add(duration).map(Instant)
    }

    /// This instant minus `duration`, if it is not before the simulation's start.
    pub fn checked_sub(&self, duration: Duration) -> Option<Instant> {
        let since_start = self.0.elapsed_since_epoch().checked_sub(duration)?;
        Some(Instant(seedloop::time::Instant::EPOCH + since_start))
    }

    fn into_seedloop(self) -> seedloop::time::Instant {
        self.0
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, duration: Duration) -> Instant {
        Instant(self.0 + duration)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, duration: Duration) {
        self.0 += duration;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    fn sub(self, duration: Duration) -> Instant {
        self.checked_sub(duration)
            .expect("an instant before the simulation's start")
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, duration: Duration) {
        *self = *self - duration;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// The error of a [`timeout`] that expired (tokio's `time::error::Elapsed`).
pub mod error {
    use std::fmt;

    /// The deadline passed before the future finished.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Elapsed(pub(crate) ());

    impl fmt::Display for Elapsed {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("deadline has elapsed")
        }
    }

    impl std::error::Error for Elapsed {}

    impl From<Elapsed> for std::io::Error {
        fn from(_: Elapsed) -> std::io::Error {
            std::io::ErrorKind::TimedOut.into()
        }
    }
}

/// A future that completes at a deadline (tokio's `Sleep`).
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    inner: seedloop::time::Sleep,
}

impl Sleep {
    /// The deadline.
    pub fn deadline(&self) -> Instant {
        Instant(self.inner.deadline())
    }

    /// Whether the deadline has passed.
    pub fn is_elapsed(&self) -> bool {
        self.inner.is_elapsed()
    }

    /// Moves the deadline (the sleep may be pending again).
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        self.get_mut().inner.reset(deadline.into_seedloop());
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.get_mut().inner).poll(cx)
    }
}

/// Waits `duration` of virtual time (tokio's `sleep`).
///
/// Cancel safety: cancel safe.
pub fn sleep(duration: Duration) -> Sleep {
    Sleep {
        inner: seedloop::time::sleep(duration),
    }
}

/// Waits until `deadline` (tokio's `sleep_until`).
///
/// Cancel safety: cancel safe.
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        inner: seedloop::time::sleep_until(deadline.into_seedloop()),
    }
}

pin_project! {
    /// A future with a deadline (tokio's `Timeout`).
    #[derive(Debug)]
    #[must_use = "futures do nothing unless awaited"]
    pub struct Timeout<F> {
        #[pin]
        future: F,
        sleep: Sleep,
    }
}

impl<F> Timeout<F> {
    /// The wrapped future.
    pub fn get_ref(&self) -> &F {
        &self.future
    }

    /// The wrapped future.
    pub fn get_mut(&mut self) -> &mut F {
        &mut self.future
    }

    /// The wrapped future, without its deadline.
    pub fn into_inner(self) -> F {
        self.future
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, error::Elapsed>;

    /// Polls the future first, then the deadline, as tokio does: a future that is
    /// ready at its deadline wins.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        match Pin::new(this.sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(error::Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// `future`, failing with [`error::Elapsed`] after `duration` (tokio's `timeout`).
///
/// Cancel safety: as `future`'s.
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep(duration),
    }
}

/// `future`, failing with [`error::Elapsed`] at `deadline` (tokio's `timeout_at`).
///
/// Cancel safety: as `future`'s.
pub fn timeout_at<F: Future>(deadline: Instant, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep_until(deadline),
    }
}

/// What an [`Interval`] does with ticks it missed (tokio's `MissedTickBehavior`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks at once, then keep the original schedule (the default).
    #[default]
    Burst,
    /// Fire once now, then every period from now.
    Delay,
    /// Fire once now, then at the next tick of the original schedule.
    Skip,
}

impl MissedTickBehavior {
    /// The deadline after a tick due at `tick` that fired late, at `now`.
    fn next(self, tick: Instant, now: Instant, period: Duration) -> Instant {
        match self {
            MissedTickBehavior::Burst => tick + period,
            MissedTickBehavior::Delay => now + period,
            MissedTickBehavior::Skip => {
                let late = (now - tick).as_nanos() % period.as_nanos();
                now + period - Duration::from_nanos(late as u64)
            }
        }
    }
}

/// How late a tick must be to count as missed: tokio's 5 ms.
const MISSED_TICK_THRESHOLD: Duration = Duration::from_millis(5);

/// Ticks at a period (tokio's `Interval`).
#[derive(Debug)]
pub struct Interval {
    sleep: Sleep,
    period: Duration,
    behavior: MissedTickBehavior,
}

/// An interval whose first tick completes at once (tokio's `interval`).
///
/// # Panics
///
/// When `period` is zero.
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// An interval whose first tick is at `start` (tokio's `interval_at`).
///
/// # Panics
///
/// When `period` is zero.
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(period > Duration::ZERO, "`period` must be non-zero.");
    Interval {
        sleep: sleep_until(start),
        period,
        behavior: MissedTickBehavior::Burst,
    }
}

impl Interval {
    /// Waits for the next tick; returns when it was due.
    ///
    /// Cancel safety: cancel safe: a tick is used up only when returned.
    pub async fn tick(&mut self) -> Instant {
        std::future::poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if Pin::new(&mut self.sleep).poll(cx).is_pending() {
            return Poll::Pending;
        }
        let tick = self.sleep.deadline();
        let now = Instant::now();
        let next = if now > tick + MISSED_TICK_THRESHOLD {
            self.behavior.next(tick, now, self.period)
        } else {
            tick + self.period
        };
        Pin::new(&mut self.sleep).reset(next);
        Poll::Ready(tick)
    }

    /// The next tick is one period from now.
    pub fn reset(&mut self) {
        Pin::new(&mut self.sleep).reset(Instant::now() + self.period);
    }

    /// The next tick is now.
    pub fn reset_immediately(&mut self) {
        Pin::new(&mut self.sleep).reset(Instant::now());
    }

    /// The next tick is `after` from now.
    pub fn reset_after(&mut self, after: Duration) {
        Pin::new(&mut self.sleep).reset(Instant::now() + after);
    }

    /// The next tick is at `deadline`.
    pub fn reset_at(&mut self, deadline: Instant) {
        Pin::new(&mut self.sleep).reset(deadline);
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// What happens to missed ticks.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.behavior
    }

    /// Sets what happens to missed ticks.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.behavior = behavior;
    }
}

/// A no-op: the simulation's clock is always paused between events (tokio's
/// `time::pause`, for `start_paused` tests).
pub fn pause() {}

/// A no-op: the clock is virtual whatever a test asks (tokio's `time::resume`).
pub fn resume() {}

/// Lets `duration` of virtual time pass (tokio's `time::advance`): other tasks run
/// meanwhile, as in tokio.
///
/// Cancel safety: cancel safe.
pub async fn advance(duration: Duration) {
    sleep(duration).await
}
