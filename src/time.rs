//! Virtual time: [`Instant`], [`sleep`], [`sleep_until`], [`timeout`], [`interval`].
//!
//! The clock of a simulation starts at its epoch (`Instant` zero) and moves only when
//! no task is ready: the executor then jumps it to the earliest pending timer. So time
//! never passes while tasks compute, a one-hour sleep costs microseconds, and timers
//! due at the same instant fire in an order drawn from the seed (decision 0 is the
//! order they were registered in).
//!
//! Every function here must be called inside a simulation; outside one they panic.

pub use crate::clock::Instant;
use crate::id::Site;
use crate::runtime::context;
use crate::runtime::executor::{Shared, Waiting};
use crate::runtime::timer::TimerKey;
use pin_project_lite::pin_project;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

impl Instant {
    /// The current virtual time.
    ///
    /// # Examples
    ///
    /// ```
    /// use seedloop::time::{sleep, Instant};
    /// use std::time::Duration;
    /// seedloop::Sim::new(0).run(async {
    ///     assert_eq!(Instant::now(), Instant::EPOCH, "the clock starts at the epoch");
    ///     sleep(Duration::from_secs(3)).await;
    ///     assert_eq!(Instant::now(), Instant::EPOCH + Duration::from_secs(3));
    /// }).unwrap();
    /// ```
    ///
    /// # Panics
    ///
    /// Outside a simulation.
    #[track_caller]
    pub fn now() -> Instant {
        context::with_current("seedloop::time::Instant::now", |shared| {
            Instant::from_nanos(shared.now_nanos())
        })
    }

    /// Virtual time passed since `self`.
    ///
    /// # Examples
    ///
    /// ```
    /// use seedloop::time::{sleep, Instant};
    /// use std::time::Duration;
    /// seedloop::Sim::new(0).run(async {
    ///     let start = Instant::now();
    ///     let sum: u64 = (0..100_000).sum(); // computing takes no virtual time
    ///     assert_eq!((sum, start.elapsed()), (4_999_950_000, Duration::ZERO));
    ///     sleep(Duration::from_millis(250)).await;
    ///     assert_eq!(start.elapsed(), Duration::from_millis(250));
    /// }).unwrap();
    /// ```
    ///
    /// # Panics
    ///
    /// Outside a simulation.
    #[track_caller]
    pub fn elapsed(self) -> Duration {
        Instant::now().duration_since(self)
    }
}

/// A future that completes at a virtual deadline; see [`sleep`] and [`sleep_until`].
///
/// # Examples
///
/// ```
/// use seedloop::time::{sleep, Instant};
/// use std::time::Duration;
/// seedloop::Sim::new(0).run(async {
///     let nap = sleep(Duration::from_secs(5));
///     assert_eq!(nap.deadline(), Instant::EPOCH + Duration::from_secs(5));
///     nap.await;
///     assert_eq!(Instant::now(), Instant::EPOCH + Duration::from_secs(5));
/// }).unwrap();
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    deadline: Deadline,
    timer: Option<TimerKey>,
    site: Site,
    // A sleep whose deadline has passed when it is first polled yields once (asyncio's
    // `sleep(0)`), so that a loop around it takes steps; interval ticks do not.
    yield_when_due: bool,
}

/// A sleep created outside a simulation (to be passed to `Sim::run`) learns its
/// deadline when first polled.
#[derive(Clone, Copy, Debug)]
enum Deadline {
    At(Instant),
    After(Duration),
}

/// `now + duration`, or [`Instant::FAR_FUTURE`] (never) past the clock's range: a
/// `Duration::MAX` sleep or timeout, the usual "no timeout", means "never".
fn deadline_after(now: Instant, duration: Duration) -> Instant {
    now.checked_add(duration).unwrap_or(Instant::FAR_FUTURE)
}

/// Waits until `duration` of virtual time has passed.
///
/// A sleep whose deadline has already passed when it is first polled
/// (`sleep(Duration::ZERO)`) yields once, like asyncio's `sleep(0)`: a loop that polls
/// a flag between zero sleeps lets other tasks run. A duration past the clock's range
/// (`Duration::MAX`) never ends.
///
/// # Cancel safety
///
/// Cancel safe: dropping the future unregisters its timer and has no other effect.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let mut sim = seedloop::Sim::new(0);
/// sim.run(seedloop::time::sleep(Duration::from_secs(3600))).unwrap();
/// assert_eq!(sim.now().elapsed_since_epoch(), Duration::from_secs(3600));
/// ```
///
/// # Panics
///
/// When polled outside a simulation. A sleep created outside one (to be handed to
/// [`crate::Sim::run`]) counts its duration from its first poll.
#[track_caller]
pub fn sleep(duration: Duration) -> Sleep {
    let site = std::panic::Location::caller();
    let now = context::try_with_current(|shared| Instant::from_nanos(shared.now_nanos()));
    Sleep {
        deadline: match now {
            Some(now) => Deadline::At(deadline_after(now, duration)),
            None => Deadline::After(duration),
        },
        timer: None,
        site,
        yield_when_due: true,
    }
}

/// Waits until the virtual clock reaches `deadline` (if it has, the sleep yields once
/// and completes).
///
/// # Cancel safety
///
/// Cancel safe, like [`sleep`].
///
/// # Examples
///
/// ```
/// use seedloop::time::{sleep_until, Instant};
/// use std::time::Duration;
/// seedloop::Sim::new(0).run(async {
///     let deadline = Instant::now() + Duration::from_secs(2);
///     sleep_until(deadline).await;
///     assert_eq!(Instant::now(), deadline);
/// }).unwrap();
/// ```
#[track_caller]
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline: Deadline::At(deadline),
        timer: None,
        site: std::panic::Location::caller(),
        yield_when_due: true,
    }
}

impl Sleep {
    /// When the sleep completes ([`Instant::FAR_FUTURE`]: never).
    ///
    /// # Panics
    ///
    /// For a sleep created outside a simulation and not yet polled, when called
    /// outside a simulation (its deadline counts from its first poll).
    #[track_caller]
    pub fn deadline(&self) -> Instant {
        match self.deadline {
            Deadline::At(deadline) => deadline,
            Deadline::After(duration) => deadline_after(Instant::now(), duration),
        }
    }

    /// Whether the deadline has passed.
    #[track_caller]
    pub fn is_elapsed(&self) -> bool {
        Instant::now() >= self.deadline()
    }

    /// Moves the deadline (the timer is registered again when next polled).
    pub fn reset(&mut self, deadline: Instant) {
        self.unregister();
        self.deadline = Deadline::At(deadline);
    }

    fn unregister(&mut self) {
        if let Some(key) = self.timer.take() {
            context::try_with_current(|shared| shared.cancel_timer(key));
        }
    }

    fn poll_at(&mut self, shared: &Shared, cx: &mut Context<'_>) -> Poll<()> {
        let now = shared.now_nanos();
        let deadline = match self.deadline {
            Deadline::At(deadline) => deadline,
            Deadline::After(duration) => deadline_after(Instant::from_nanos(now), duration),
        };
        self.deadline = Deadline::At(deadline);
        if now >= deadline.as_nanos() {
            if std::mem::take(&mut self.yield_when_due) && self.timer.is_none() {
                // Due at its first poll: yield once before completing.
                shared.note_site(self.site);
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            self.unregister();
            return Poll::Ready(());
        }
        self.yield_when_due = false;
        if deadline == Instant::FAR_FUTURE {
            // Never: no timer can fire, and a run with nothing else to do deadlocks.
            shared.set_waiting(Waiting::Never);
        } else {
            match self.timer {
                Some(key) => shared.update_timer(key, cx.waker()),
                None => self.timer = Some(shared.register_timer(deadline.as_nanos(), cx.waker())),
            }
        }
        shared.note_site(self.site);
        Poll::Pending
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        context::with_current("seedloop::time::sleep", |shared| this.poll_at(shared, cx))
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.unregister();
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .finish()
    }
}

/// The error of a [`timeout`] whose deadline passed first.
///
/// # Examples
///
/// ```
/// use seedloop::time::{sleep, timeout, Instant};
/// use std::time::Duration;
/// seedloop::Sim::new(0).run(async {
///     let elapsed = timeout(Duration::from_secs(2), sleep(Duration::from_secs(10)))
///         .await
///         .unwrap_err();
///     assert_eq!(elapsed.deadline(), Instant::EPOCH + Duration::from_secs(2));
///     assert_eq!(elapsed.to_string(), "deadline has elapsed (at virtual time +2s)");
/// }).unwrap();
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elapsed {
    deadline: Instant,
}

impl Elapsed {
    /// The deadline that passed.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "deadline has elapsed (at virtual time {})",
            self.deadline
        )
    }
}

impl std::error::Error for Elapsed {}

pin_project! {
    /// A future with a deadline; see [`timeout`].
    ///
    /// # Examples
    ///
    /// ```
    /// use seedloop::time::{sleep, timeout, Instant, Timeout};
    /// use std::time::Duration;
    /// seedloop::Sim::new(0).run(async {
    ///     let quick: Timeout<_> = timeout(Duration::from_secs(5), async {
    ///         sleep(Duration::from_secs(1)).await;
    ///         7
    ///     });
    ///     assert_eq!(quick.await, Ok(7), "done before the deadline");
    ///     assert_eq!(Instant::now(), Instant::EPOCH + Duration::from_secs(1));
    /// }).unwrap();
    /// ```
    #[must_use = "futures do nothing unless awaited"]
    pub struct Timeout<F> {
        #[pin]
        future: F,
        sleep: Sleep,
    }
}

/// Runs `future` until it completes or `duration` of virtual time passes, whichever
/// comes first; on timeout the future is dropped (cancelled) and `Err(Elapsed)` is
/// returned. If both happen at the same instant, the future's result wins.
///
/// # Cancel safety
///
/// As cancel safe as `future`.
///
/// # Examples
///
/// ```
/// use seedloop::time::{sleep, timeout, Instant};
/// use std::time::Duration;
/// seedloop::Sim::new(0).run(async {
///     let slow = sleep(Duration::from_secs(10));
///     let result = timeout(Duration::from_secs(2), slow).await;
///     assert!(result.is_err());
///     assert_eq!(Instant::now().elapsed_since_epoch(), Duration::from_secs(2));
/// }).unwrap();
/// ```
#[track_caller]
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep(duration),
    }
}

/// Like [`timeout`], with an absolute deadline: runs `future` until it completes or
/// the virtual clock reaches `deadline`, whichever comes first. On timeout the future
/// is dropped (cancelled) and `Err(Elapsed)` is returned; if both happen at the same
/// instant, the future's result wins.
///
/// # Cancel safety
///
/// As cancel safe as `future`, like [`timeout`]: dropping the `Timeout` drops `future`
/// and unregisters the deadline's timer, nothing more.
///
/// # Examples
///
/// ```
/// use seedloop::time::{sleep, timeout_at, Instant};
/// use std::time::Duration;
/// seedloop::Sim::new(0).run(async {
///     let deadline = Instant::now() + Duration::from_secs(3);
///     let first = timeout_at(deadline, sleep(Duration::from_secs(1))).await;
///     assert_eq!(first, Ok(()));
///     // The same deadline for the next step: 2 s are left of it, not 3.
///     let second = timeout_at(deadline, sleep(Duration::from_secs(5))).await;
///     assert_eq!(second.unwrap_err().deadline(), deadline);
///     assert_eq!(Instant::now(), deadline);
/// }).unwrap();
/// ```
#[track_caller]
pub fn timeout_at<F: Future>(deadline: Instant, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep_until(deadline),
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        match Pin::new(&mut *this.sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed {
                deadline: this.sleep.deadline(),
            })),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Ticks at a fixed period; see [`interval`]. Await [`Interval::tick`], or use it as a
/// [`futures::Stream`] of tick instants.
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
/// use seedloop::time::{interval, timeout, Instant, Interval};
/// use std::time::Duration;
/// seedloop::Sim::new(0).run(async {
///     let mut ticks: Interval = interval(Duration::from_secs(10));
///     assert_eq!(ticks.period(), Duration::from_secs(10));
///     assert_eq!(ticks.tick().await, Instant::EPOCH, "the first tick is at once");
///     // A tick dropped by a timeout is not lost: the next one is still due at 10 s.
///     assert!(timeout(Duration::from_secs(3), ticks.tick()).await.is_err());
///     let next = ticks.next().await;
///     assert_eq!(next, Some(Instant::EPOCH + Duration::from_secs(10)));
///     assert_eq!(Instant::now(), Instant::EPOCH + Duration::from_secs(10));
/// }).unwrap();
/// ```
#[derive(Debug)]
pub struct Interval {
    period: Duration,
    sleep: Sleep,
}

/// A ticker whose first tick completes at once and each next one `period` after the
/// previous tick's deadline. A tick that is late (the task was busy awaiting something
/// else) completes at once, so ticks catch up in a burst, as tokio's default does.
/// `Interval` is also a [`futures::Stream`] of tick instants.
///
/// # Examples
///
/// ```
/// use seedloop::time::{interval, Instant};
/// use std::time::Duration;
/// seedloop::Sim::new(0).run(async {
///     let mut ticks = interval(Duration::from_secs(5));
///     let mut seen = Vec::new();
///     for _ in 0..3 {
///         seen.push(ticks.tick().await.elapsed_since_epoch().as_secs());
///     }
///     assert_eq!(seen, [0, 5, 10]);
/// }).unwrap();
/// ```
///
/// # Panics
///
/// If `period` is zero; its ticks panic when polled outside a simulation.
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "seedloop::time::interval: the period must be non-zero"
    );
    let mut first = sleep(Duration::ZERO);
    // The first tick completes at once, as tokio's does.
    first.yield_when_due = false;
    Interval {
        period,
        sleep: first,
    }
}

impl Interval {
    /// Waits for the next tick; returns its deadline.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped `tick()` loses no tick.
    pub async fn tick(&mut self) -> Instant {
        std::future::poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick; returns its deadline once it is due. A late tick is
    /// ready at once. When pending, the waker of `cx` (only the latest one given) is
    /// woken at the tick's deadline.
    ///
    /// # Cancel safety
    ///
    /// A poll that returns `Pending` takes nothing: the tick stays due in the
    /// `Interval`, so a caller that polls once and moves on (a `select!` that picked
    /// another branch, a dropped [`Interval::tick`]) loses no tick, and the next poll
    /// returns it at once if its deadline has passed. A tick is used up only by the
    /// poll that returns it `Ready`, which also sets the next deadline, one period
    /// after this one's.
    ///
    /// # Examples
    ///
    /// ```
    /// use seedloop::time::{interval, sleep, Instant};
    /// use std::future::poll_fn;
    /// use std::task::Poll;
    /// use std::time::Duration;
    /// seedloop::Sim::new(0).run(async {
    ///     let mut ticks = interval(Duration::from_secs(1));
    ///     assert_eq!(poll_fn(|cx| ticks.poll_tick(cx)).await, Instant::EPOCH);
    ///     // Poll once and walk away: the tick at 1 s is not due yet.
    ///     assert!(poll_fn(|cx| Poll::Ready(ticks.poll_tick(cx))).await.is_pending());
    ///     sleep(Duration::from_secs(5)).await;
    ///     // Nothing was lost: the late ticks come at once, each with its own deadline.
    ///     let second = poll_fn(|cx| ticks.poll_tick(cx)).await;
    ///     let third = poll_fn(|cx| ticks.poll_tick(cx)).await;
    ///     assert_eq!(second.elapsed_since_epoch(), Duration::from_secs(1));
    ///     assert_eq!(third.elapsed_since_epoch(), Duration::from_secs(2));
    ///     assert_eq!(Instant::now().elapsed_since_epoch(), Duration::from_secs(5));
    /// }).unwrap();
    /// ```
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        match Pin::new(&mut self.sleep).poll(cx) {
            Poll::Ready(()) => {
                let deadline = self.sleep.deadline();
                self.sleep.reset(deadline_after(deadline, self.period));
                Poll::Ready(deadline)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }
}

/// An endless stream of tick instants: [`Interval::poll_tick`], never `None`.
///
/// # Cancel safety
///
/// As [`Interval::poll_tick`]: a dropped `next()` (or a `select!` that picked another
/// branch) loses no tick; the tick stays due and the next `next()` returns it.
impl futures::Stream for Interval {
    type Item = Instant;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.get_mut().poll_tick(cx).map(Some)
    }
}
