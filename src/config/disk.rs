//! [`DiskConfig`]: the simulated disks' size, speed, faults and directory semantics
//! (re-exported as `seedloop::fs::DiskConfig`), part of [`Config`](super::Config) so
//! that a failure's `sim()` replays them.

use std::time::Duration;

/// How every host's simulated disk behaves. Set with [`Sim::disk`](crate::Sim::disk).
///
/// Error rates are probabilities per operation, drawn from the run's disk stream of
/// choices (decision 0 is "no error", so under [`Policy::Fifo`](crate::Policy::Fifo)
/// no error is ever injected). Latencies are drawn per operation in whole microseconds
/// between the bounds (decision 0 is the minimum); an operation with a latency of zero
/// completes without waiting.
///
/// # Examples
///
/// ```
/// use seedloop::fs::DiskConfig;
/// use std::time::Duration;
/// let disk = DiskConfig::default()
///     .capacity_bytes(1 << 20)
///     .write_error_rate(0.01)
///     .sync_latency(Duration::from_micros(100), Duration::from_millis(2))
///     .strict_directories(true);
/// let sim = seedloop::Sim::new(0).disk(disk.clone());
/// assert_eq!(sim.config().disk, disk);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct DiskConfig {
    /// The most bytes a disk's files hold together; a write past it fails with
    /// `ErrorKind::StorageFull`.
    pub capacity_bytes: u64,
    /// The most files and directories a disk holds; creating one more fails with
    /// `ErrorKind::StorageFull`.
    pub max_files: usize,
    /// The probability that a read fails with an I/O error.
    pub read_error_rate: f64,
    /// The probability that a write fails with an I/O error (nothing is written).
    pub write_error_rate: f64,
    /// The probability that a sync fails with an I/O error; the unsynced writes are
    /// then each made durable or dropped for good, as on Linux.
    pub sync_error_rate: f64,
    /// The least and most time a read, a write or a directory change takes.
    pub latency: (Duration, Duration),
    /// The least and most time a sync takes.
    pub sync_latency: (Duration, Duration),
    /// Whether a change to a directory (a file created, renamed or removed) needs a
    /// [`sync_dir`](crate::fs::sync_dir) of that directory to survive a crash.
    pub strict_directories: bool,
}

impl Default for DiskConfig {
    fn default() -> DiskConfig {
        DiskConfig {
            capacity_bytes: 1 << 30,
            max_files: 1 << 16,
            read_error_rate: 0.0,
            write_error_rate: 0.0,
            sync_error_rate: 0.0,
            latency: (Duration::ZERO, Duration::ZERO),
            sync_latency: (Duration::from_micros(50), Duration::from_micros(500)),
            strict_directories: false,
        }
    }
}

#[track_caller]
fn rate(name: &str, rate: f64) -> f64 {
    assert!(
        (0.0..=1.0).contains(&rate),
        "DiskConfig::{name} must be a probability between 0 and 1, got {rate}"
    );
    rate
}

#[track_caller]
fn span(name: &str, min: Duration, max: Duration) -> (Duration, Duration) {
    assert!(
        min <= max,
        "DiskConfig::{name}: the minimum ({min:?}) is above the maximum ({max:?})"
    );
    (min, max)
}

impl DiskConfig {
    /// The most bytes a disk holds (default 1 GiB).
    pub fn capacity_bytes(mut self, bytes: u64) -> DiskConfig {
        self.capacity_bytes = bytes;
        self
    }

    /// The most files and directories a disk holds (default 65,536).
    pub fn max_files(mut self, files: usize) -> DiskConfig {
        self.max_files = files;
        self
    }

    /// The probability that a read fails (default 0).
    ///
    /// # Panics
    ///
    /// When `rate` is not between 0 and 1.
    #[track_caller]
    pub fn read_error_rate(mut self, rate_per_read: f64) -> DiskConfig {
        self.read_error_rate = rate("read_error_rate", rate_per_read);
        self
    }

    /// The probability that a write fails (default 0).
    ///
    /// # Panics
    ///
    /// When `rate` is not between 0 and 1.
    #[track_caller]
    pub fn write_error_rate(mut self, rate_per_write: f64) -> DiskConfig {
        self.write_error_rate = rate("write_error_rate", rate_per_write);
        self
    }

    /// The probability that a sync fails (default 0).
    ///
    /// # Panics
    ///
    /// When `rate` is not between 0 and 1.
    #[track_caller]
    pub fn sync_error_rate(mut self, rate_per_sync: f64) -> DiskConfig {
        self.sync_error_rate = rate("sync_error_rate", rate_per_sync);
        self
    }

    /// The least and most time a read, write or directory change takes (default 0:
    /// at once).
    ///
    /// # Panics
    ///
    /// When `min` is above `max`.
    #[track_caller]
    pub fn latency(mut self, min: Duration, max: Duration) -> DiskConfig {
        self.latency = span("latency", min, max);
        self
    }

    /// The least and most time a sync takes (default 50 µs to 500 µs).
    ///
    /// # Panics
    ///
    /// When `min` is above `max`.
    #[track_caller]
    pub fn sync_latency(mut self, min: Duration, max: Duration) -> DiskConfig {
        self.sync_latency = span("sync_latency", min, max);
        self
    }

    /// Whether directory changes need [`sync_dir`](crate::fs::sync_dir) to survive a
    /// crash (default no: they are durable at once, as on a filesystem that journals
    /// its metadata synchronously).
    pub fn strict_directories(mut self, strict: bool) -> DiskConfig {
        self.strict_directories = strict;
        self
    }
}
