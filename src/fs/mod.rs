//! Simulated disks, one per host: files, directories, and what a crash keeps.
//!
//! Code inside a simulation uses the disk of the host its task runs on (the main
//! future's is `main`'s). Nothing here touches a real file: `/etc/passwd` in a
//! simulation is a file of the simulated disk, created empty. A `Sim` keeps its disks
//! across runs, like its hosts and clock.
//!
//! ## The durability model
//!
//! - A write (or `set_len`) lands in the host's **page cache**: every reader on the
//!   host sees it at once, but it is not on the disk yet.
//! - [`File::sync_all`] / [`File::sync_data`] make a file's writes **durable**.
//! - When the host **crashes** (power loss), synced data survives. Each unsynced
//!   write is kept or lost by a draw from the disk's stream of choices, in the order
//!   the writes were made; a write is kept only if it does not start past the end of
//!   what survived before it, so a crash never shows bytes that were never written
//!   (torn writes, where part of one write survives, are not modelled). Then the
//!   page cache is gone: after [`Host::restart`](crate::net::Host::restart) the files
//!   hold exactly what survived, and file handles opened before the crash fail.
//! - **Directory entries** (a file created, renamed, removed; a directory created)
//!   are durable at once by default. With
//!   [`DiskConfig::strict_directories`] a change needs a [`sync_dir`] of its
//!   directory, as on a real filesystem: a crash may lose a freshly created (or
//!   renamed) file even though its data was synced. That bug is a classic.
//! - **Faults** ([`DiskConfig`], and [`FaultPlan::disk_errors`](crate::fault::FaultPlan::disk_errors)):
//!   I/O errors on reads, writes and syncs with configured probabilities (a failed
//!   sync leaves each write it covered durable or dropped for good: syncing again
//!   does not bring it back, as on Linux), `StorageFull` past the capacity, and drawn
//!   latencies. Every fault, sync, write, directory change and crash is a trace event.
//!
//! Decision 0 of every draw is the quiet one (no error, minimum latency, a crash keeps
//! every write), so [`Policy::Fifo`](crate::Policy::Fifo) runs the production order
//! with no disk faults.
//!
//! | asyncio (aiofiles) | tokio | seedloop |
//! |---|---|---|
//! | `aiofiles.open(p, "w")` | `File::create` | [`File::create`] |
//! | `f.write` / `f.flush` + `os.fsync` | `write_all` + `sync_all` | `futures::io::AsyncWriteExt::write_all` + [`File::sync_all`] |
//! | `aiofiles.os.rename` | `fs::rename` | [`rename`] |
//!
//! # Examples
//!
//! ```
//! use futures::io::AsyncWriteExt;
//! use seedloop::net::Host;
//!
//! seedloop::Sim::new(0).run(async {
//!     let db = Host::new("db");
//!     db.spawn(async {
//!         let mut wal = seedloop::fs::File::create("wal").await.unwrap();
//!         wal.write_all(b"durable\n").await.unwrap();
//!         wal.sync_all().await.unwrap();
//!         wal.write_all(b"maybe\n").await.unwrap(); // not synced
//!     })
//!     .await
//!     .unwrap();
//!     db.crash();
//!     db.restart();
//!     let after = db.spawn(async { seedloop::fs::read_to_string("wal").await.unwrap() });
//!     let text = after.await.unwrap();
//!     assert!(text == "durable\n" || text == "durable\nmaybe\n");
//! }).unwrap();
//! ```

mod disk;
mod file;
mod io;
mod path;

pub use crate::config::DiskConfig;
pub use file::{File, OpenOptions};
pub(crate) use io::host_crashed;

use crate::runtime::context;
use crate::trace::EventKind;
use disk::Stat;
use io::{current_host, inject_fault, wait_latency, with_disk, Operation};
use path::{display, normalize};
use std::path::{Path, PathBuf};

/// A file's or directory's length and kind.
///
/// # Examples
///
/// ```
/// seedloop::Sim::new(0).run(async {
///     seedloop::fs::write("f", b"abc").await.unwrap();
///     let metadata = seedloop::fs::metadata("f").await.unwrap();
///     assert_eq!((metadata.len(), metadata.is_file()), (3, true));
/// }).unwrap();
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metadata {
    length: u64,
    directory: bool,
}

impl Metadata {
    /// The length in bytes (0 for a directory).
    pub fn len(&self) -> u64 {
        self.length
    }

    /// Whether the length is 0.
    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// Whether it is a directory.
    pub fn is_dir(&self) -> bool {
        self.directory
    }

    /// Whether it is a file.
    pub fn is_file(&self) -> bool {
        !self.directory
    }
}

impl From<Stat> for Metadata {
    fn from(stat: Stat) -> Metadata {
        Metadata {
            length: stat.length,
            directory: stat.directory,
        }
    }
}

/// An entry of a directory listing ([`read_dir`]).
///
/// # Examples
///
/// ```
/// seedloop::Sim::new(0).run(async {
///     seedloop::fs::write("a.log", b"").await.unwrap();
///     let entry = &seedloop::fs::read_dir("/").await.unwrap()[0];
///     assert_eq!(entry.file_name(), "a.log");
///     assert_eq!(entry.path(), std::path::Path::new("/a.log"));
///     assert!(entry.metadata().is_file());
/// }).unwrap();
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    path: String,
    metadata: Metadata,
}

impl DirEntry {
    /// The entry's absolute path.
    pub fn path(&self) -> PathBuf {
        PathBuf::from(display(&self.path))
    }

    /// The entry's name in its directory.
    pub fn file_name(&self) -> String {
        path::file_name(&self.path).to_string()
    }

    /// Its length and kind, as listed.
    pub fn metadata(&self) -> Metadata {
        self.metadata
    }
}

/// Reads a whole file.
///
/// # Cancel safety
///
/// Cancel safe: reading changes nothing.
///
/// # Errors
///
/// `NotFound`, `IsADirectory`, an injected read error, or an error when the host is
/// down.
///
/// # Examples
///
/// ```
/// seedloop::Sim::new(0).run(async {
///     seedloop::fs::write("state", b"v1").await.unwrap();
///     assert_eq!(seedloop::fs::read("state").await.unwrap(), b"v1");
/// }).unwrap();
/// ```
pub async fn read(path: impl AsRef<Path>) -> std::io::Result<Vec<u8>> {
    let path = normalize(path.as_ref())?;
    wait_latency(Operation::Read).await;
    context::with_current("seedloop::fs::read", |shared| {
        let host = current_host(shared)?;
        inject_fault(shared, host, Operation::Read, &display(&path))?;
        with_disk(shared, host, |disk| {
            let inode = disk.lookup(&path).ok_or_else(|| disk::not_found(&path))?;
            if disk.stat_inode(inode).directory {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::IsADirectory,
                    format!("{}: is a directory", display(&path)),
                ));
            }
            Ok(disk.contents(inode).to_vec())
        })
    })
}

/// Reads a whole file as UTF-8 text.
///
/// # Cancel safety
///
/// Cancel safe: reading changes nothing.
///
/// # Errors
///
/// As [`read`], and `InvalidData` when the file is not UTF-8.
///
/// # Examples
///
/// ```
/// seedloop::Sim::new(0).run(async {
///     seedloop::fs::write("name", "seedloop").await.unwrap();
///     assert_eq!(seedloop::fs::read_to_string("name").await.unwrap(), "seedloop");
/// }).unwrap();
/// ```
pub async fn read_to_string(path: impl AsRef<Path>) -> std::io::Result<String> {
    let bytes = read(path).await?;
    String::from_utf8(bytes)
        .map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidData, error.utf8_error()))
}

/// Creates (or truncates) a file and writes `contents` into the page cache: **not**
/// durable until a sync (open it and call [`File::sync_all`]).
///
/// # Cancel safety
///
/// Cancelled before it completes, nothing was written or created.
///
/// # Errors
///
/// `NotFound` (its directory is missing), `IsADirectory`, `StorageFull`, an injected
/// write error, or an error when the host is down.
///
/// # Examples
///
/// ```
/// seedloop::Sim::new(0).run(async {
///     seedloop::fs::write("greeting", "hello").await.unwrap();
///     assert_eq!(seedloop::fs::read("greeting").await.unwrap(), b"hello");
/// }).unwrap();
/// ```
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> std::io::Result<()> {
    let path = normalize(path.as_ref())?;
    wait_latency(Operation::Write).await;
    context::with_current("seedloop::fs::write", |shared| {
        let host = current_host(shared)?;
        inject_fault(shared, host, Operation::Write, &display(&path))?;
        let config = shared.disk_config();
        let (strict, max_files, capacity) = (
            config.strict_directories,
            config.max_files,
            config.capacity_bytes,
        );
        let created = with_disk(shared, host, |disk| {
            let (inode, created) = disk.create_file(&path, strict, max_files)?;
            disk.set_len(inode, 0, capacity)?;
            disk.write(inode, 0, contents.as_ref(), capacity)?;
            Ok::<_, std::io::Error>(created)
        })?;
        let label = format!("{}:{}", shared.host_name(host), display(&path));
        if created {
            shared.record_note(EventKind::Disk, &format!("created {label}"));
        }
        let note = shared.add_note(&label);
        shared.record_noted(EventKind::DiskWrite, note);
        Ok(())
    })
}

/// Renames a file or directory, replacing a file at `to`. Durable at once, or (in the
/// strict mode) after a [`sync_dir`] of `to`'s directory.
///
/// # Cancel safety
///
/// Cancelled before it completes, nothing was renamed.
///
/// # Errors
///
/// `NotFound`, `IsADirectory` (a directory is at `to`), `NotADirectory`,
/// `InvalidInput` (a directory into itself), or an error when the host is down.
///
/// # Examples
///
/// ```
/// seedloop::Sim::new(0).run(async {
///     seedloop::fs::write("state.tmp", b"v2").await.unwrap();
///     seedloop::fs::rename("state.tmp", "state").await.unwrap();
///     assert_eq!(seedloop::fs::read("state").await.unwrap(), b"v2");
/// }).unwrap();
/// ```
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> std::io::Result<()> {
    let (from, to) = (normalize(from.as_ref())?, normalize(to.as_ref())?);
    directory_change("seedloop::fs::rename", |disk, strict, _| {
        disk.rename(&from, &to, strict)
            .map(|()| format!("renamed {} to {}", display(&from), display(&to)))
    })
    .await
}

/// Removes a file.
///
/// # Cancel safety
///
/// Cancelled before it completes, nothing was removed.
///
/// # Errors
///
/// `NotFound`, `IsADirectory`, or an error when the host is down.
///
/// # Examples
///
/// ```
/// seedloop::Sim::new(0).run(async {
///     seedloop::fs::write("old", b"").await.unwrap();
///     seedloop::fs::remove_file("old").await.unwrap();
///     assert!(seedloop::fs::metadata("old").await.is_err());
/// }).unwrap();
/// ```
pub async fn remove_file(path: impl AsRef<Path>) -> std::io::Result<()> {
    let path = normalize(path.as_ref())?;
    directory_change("seedloop::fs::remove_file", |disk, strict, _| {
        disk.remove_file(&path, strict)
            .map(|()| format!("removed {}", display(&path)))
    })
    .await
}

/// Creates a directory and every missing one above it.
///
/// # Cancel safety
///
/// Cancelled before it completes, nothing was created.
///
/// # Errors
///
/// `NotADirectory` (a file is in the way), `StorageFull`, or an error when the host
/// is down.
///
/// # Examples
///
/// ```
/// seedloop::Sim::new(0).run(async {
///     seedloop::fs::create_dir_all("/var/lib/db").await.unwrap();
///     assert!(seedloop::fs::metadata("/var/lib").await.unwrap().is_dir());
/// }).unwrap();
/// ```
pub async fn create_dir_all(path: impl AsRef<Path>) -> std::io::Result<()> {
    let path = normalize(path.as_ref())?;
    directory_change("seedloop::fs::create_dir_all", |disk, strict, max_files| {
        disk.create_dir_all(&path, strict, max_files)
            .map(|()| format!("created the directory {}", display(&path)))
    })
    .await
}

/// A directory change on the current host's disk, after its latency, recorded.
async fn directory_change(
    api: &'static str,
    change: impl FnOnce(&mut disk::Disk, bool, usize) -> std::io::Result<String>,
) -> std::io::Result<()> {
    wait_latency(Operation::Metadata).await;
    context::with_current(api, |shared| {
        let host = current_host(shared)?;
        let config = shared.disk_config();
        let (strict, max_files) = (config.strict_directories, config.max_files);
        let what = with_disk(shared, host, |disk| change(disk, strict, max_files))?;
        let note = format!("{}: {what}", shared.host_name(host));
        shared.record_note(EventKind::Disk, &note);
        Ok(())
    })
}

/// Makes the changes to the directory `path` (files created, renamed into it, or
/// removed) durable. Needed only with [`DiskConfig::strict_directories`]; in the
/// default mode directory changes are durable at once and this only takes a sync's
/// time.
///
/// # Cancel safety
///
/// Cancelled before it completes, nothing was synced.
///
/// # Errors
///
/// `NotFound`, `NotADirectory`, an injected sync error, or an error when the host is
/// down.
///
/// # Examples
///
/// ```
/// use seedloop::fs::{self, DiskConfig};
/// seedloop::Sim::new(0)
///     .disk(DiskConfig::default().strict_directories(true))
///     .run(async {
///         let file = fs::File::create("/new-file").await?;
///         file.sync_all().await?; // its data
///         fs::sync_dir("/").await // its name in the root directory
///     })
///     .unwrap()
///     .unwrap();
/// ```
pub async fn sync_dir(path: impl AsRef<Path>) -> std::io::Result<()> {
    let path = normalize(path.as_ref())?;
    wait_latency(Operation::Sync).await;
    context::with_current("seedloop::fs::sync_dir", |shared| {
        let host = current_host(shared)?;
        let stat = with_disk(shared, host, |disk| disk.stat(&path))?;
        if !stat.directory {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotADirectory,
                format!("{}: not a directory", display(&path)),
            ));
        }
        inject_fault(shared, host, Operation::Sync, &display(&path))?;
        let synced = with_disk(shared, host, |disk| disk.sync_dir(&path));
        let note = format!(
            "{}: synced the directory {} ({synced} changes)",
            shared.host_name(host),
            display(&path)
        );
        shared.record_note(EventKind::Disk, &note);
        Ok(())
    })
}

/// Lists a directory, sorted by name (a deterministic order, unlike a real disk's).
///
/// # Cancel safety
///
/// Cancel safe: listing changes nothing.
///
/// # Errors
///
/// `NotFound`, `NotADirectory`, or an error when the host is down.
///
/// # Examples
///
/// ```
/// seedloop::Sim::new(0).run(async {
///     seedloop::fs::create_dir_all("/logs").await.unwrap();
///     for name in ["b", "a", "c"] {
///         seedloop::fs::write(format!("/logs/{name}"), b"").await.unwrap();
///     }
///     let names: Vec<String> = seedloop::fs::read_dir("/logs").await.unwrap()
///         .iter().map(|entry| entry.file_name()).collect();
///     assert_eq!(names, ["a", "b", "c"]);
/// }).unwrap();
/// ```
pub async fn read_dir(path: impl AsRef<Path>) -> std::io::Result<Vec<DirEntry>> {
    let path = normalize(path.as_ref())?;
    wait_latency(Operation::Metadata).await;
    context::with_current("seedloop::fs::read_dir", |shared| {
        let host = current_host(shared)?;
        let entries = with_disk(shared, host, |disk| disk.read_dir(&path))?;
        Ok(entries
            .into_iter()
            .map(|(path, stat)| DirEntry {
                path,
                metadata: stat.into(),
            })
            .collect())
    })
}

/// A file's or directory's length and kind.
///
/// # Cancel safety
///
/// Cancel safe: it changes nothing.
///
/// # Errors
///
/// `NotFound`, or an error when the host is down.
///
/// # Examples
///
/// ```
/// seedloop::Sim::new(0).run(async {
///     assert!(seedloop::fs::metadata("/").await.unwrap().is_dir());
/// }).unwrap();
/// ```
pub async fn metadata(path: impl AsRef<Path>) -> std::io::Result<Metadata> {
    let path = normalize(path.as_ref())?;
    context::with_current("seedloop::fs::metadata", |shared| {
        let host = current_host(shared)?;
        with_disk(shared, host, |disk| disk.stat(&path)).map(Metadata::from)
    })
}
