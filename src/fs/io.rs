//! The plumbing every disk operation goes through: find the current host's disk,
//! wait the operation's drawn latency, draw whether it fails, and record it.
//!
//! The disks live in the world (like the hosts, they outlast a run: a `Sim` keeps its
//! disks across `run` calls). An operation takes effect when it completes, after its
//! latency: cancelled before, it did nothing. Draws come from the disk stream of
//! choices in a fixed order per operation (latency, then fault), so a seed replays
//! the same latencies, faults and crash losses.

use super::disk::Disk;
use crate::choices::Stream;
use crate::config::DiskConfig;
use crate::runtime::context;
use crate::runtime::executor::Shared;
use crate::runtime::world::HostId;
use crate::trace::EventKind;
use std::collections::BTreeMap;
use std::io;
use std::time::Duration;

/// Every host's disk, by host.
#[derive(Debug, Default)]
pub(crate) struct Disks {
    disks: BTreeMap<HostId, Disk>,
}

/// Runs `f` on `host`'s disk. `f` must not wake tasks or call back into the world.
pub(crate) fn with_disk<R>(shared: &Shared, host: HostId, f: impl FnOnce(&mut Disk) -> R) -> R {
    shared.with_extension::<Disks, _>(|disks| f(disks.disks.entry(host).or_default()))
}

/// What an operation is, for its latency and its fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Operation {
    Read,
    Write,
    Sync,
    /// A directory change (create, rename, remove), or a lookup: no fault drawn.
    Metadata,
}

/// The host an operation of the running code works on: the current task's, checked up.
pub(crate) fn current_host(shared: &Shared) -> io::Result<HostId> {
    let host = shared.current_host();
    check_up(shared, host)?;
    Ok(host)
}

pub(crate) fn check_up(shared: &Shared, host: HostId) -> io::Result<()> {
    if shared.host_is_up(host) {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "the host {} is down: its disk is off until it restarts",
            shared.host_name(host)
        )))
    }
}

/// The latency of an operation, drawn (decision 0 is the minimum).
pub(crate) fn latency(shared: &Shared, operation: Operation) -> Duration {
    let config = shared.disk_config();
    let (min, max) = match operation {
        Operation::Sync => config.sync_latency,
        _ => config.latency,
    };
    let spread_micros = (max - min).as_micros().min(u64::MAX as u128) as u64;
    if spread_micros == 0 {
        return min;
    }
    min + Duration::from_micros(shared.choose(Stream::Disk, spread_micros + 1))
}

/// Waits the drawn latency of `operation` (nothing at all for a latency of zero).
///
/// Cancel safety: cancelled while waiting, the operation has not happened.
pub(crate) async fn wait_latency(operation: Operation) {
    let delay = context::with_current("seedloop::fs", |shared| latency(shared, operation));
    if !delay.is_zero() {
        crate::time::sleep(delay).await;
    }
}

/// The error rate of `operation`: the disk's own, combined with the fault plan's.
fn error_rate(config: &DiskConfig, plan_rate: f64, operation: Operation) -> f64 {
    let own = match operation {
        Operation::Read => config.read_error_rate,
        Operation::Write => config.write_error_rate,
        Operation::Sync => config.sync_error_rate,
        Operation::Metadata => return 0.0,
    };
    1.0 - (1.0 - own) * (1.0 - plan_rate)
}

/// Draws whether `operation` on `what` fails; a failure is recorded and returned as
/// the I/O error a real disk gives (`ErrorKind::Other`, "input/output error").
pub(crate) fn inject_fault(
    shared: &Shared,
    host: HostId,
    operation: Operation,
    what: &str,
) -> io::Result<()> {
    let plan_rate = shared.fault_plan().map_or(0.0, |plan| plan.disk_errors);
    let rate = error_rate(shared.disk_config(), plan_rate, operation);
    if !drawn(shared, rate) {
        return Ok(());
    }
    let verb = match operation {
        Operation::Read => "read",
        Operation::Write => "write",
        Operation::Sync => "sync",
        Operation::Metadata => unreachable!("no fault is drawn for metadata"),
    };
    let note = format!(
        "{}: injected an I/O error on a {verb} of {what}",
        shared.host_name(host)
    );
    shared.record_note(EventKind::Disk, &note);
    Err(io::Error::other(format!(
        "input/output error (simulated: a {verb} of {what} failed)"
    )))
}

/// Draws an event of probability `rate` from the disk stream (see `Shared::chance`).
pub(crate) fn drawn(shared: &Shared, rate: f64) -> bool {
    shared.chance(Stream::Disk, rate)
}

/// A host lost power: its disk keeps what a draw per unsynced change says, and every
/// file handle opened before is stale.
pub(crate) fn host_crashed(shared: &Shared, host: HostId) {
    let touched = shared.with_extension::<Disks, _>(|disks| disks.disks.contains_key(&host));
    if !touched {
        return;
    }
    // Decision 0 keeps a change: the production order loses nothing.
    let losses = with_disk(shared, host, |disk| {
        disk.crash(|| shared.choose(Stream::Disk, 2) == 0)
    });
    let note = format!(
        "{} lost power: kept {} and lost {} unsynced writes, kept {} and lost {} unsynced directory changes",
        shared.host_name(host),
        losses.kept_writes,
        losses.lost_writes,
        losses.kept_directory_changes,
        losses.lost_directory_changes
    );
    shared.record_note(EventKind::Disk, &note);
}
