//! [`File`] and [`OpenOptions`]: handles to files on the current host's disk.
//!
//! A handle names its host, its inode and the disk's crash epoch: after the host
//! crashes (or in a later run) the handle is stale and every operation on it fails,
//! as a process's file descriptors do not survive a reboot. Reads and writes go
//! through the page cache; [`File::sync_all`] and [`File::sync_data`] make them
//! durable. A read or write with a latency waits in the handle (`delay`) and takes
//! effect when the wait ends.

use super::disk::InodeNumber;
use super::io::{self as disk_io, check_up, current_host, inject_fault, with_disk, Operation};
use super::path::{display, normalize};
use super::Metadata;
use crate::runtime::context;
use crate::runtime::executor::Shared;
use crate::runtime::world::HostId;
use crate::time::Sleep;
use crate::trace::EventKind;
use futures::io::{AsyncRead, AsyncSeek, AsyncWrite};
use std::future::Future;
use std::io::{self, SeekFrom};
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

/// How to open a file (std's and tokio's `OpenOptions`): read, write, append, create,
/// create new, truncate.
///
/// # Examples
///
/// ```
/// use futures::io::AsyncWriteExt;
/// use seedloop::fs::OpenOptions;
/// seedloop::Sim::new(0).run(async {
///     let mut log = OpenOptions::new().append(true).create(true).open("log").await?;
///     log.write_all(b"one\n").await?;
///     log.write_all(b"two\n").await?;
///     assert_eq!(seedloop::fs::read_to_string("log").await?, "one\ntwo\n");
///     Ok::<_, std::io::Error>(())
/// }).unwrap().unwrap();
/// ```
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    read: bool,
    write: bool,
    append: bool,
    create: bool,
    create_new: bool,
    truncate: bool,
}

impl OpenOptions {
    /// Options with everything off.
    pub fn new() -> OpenOptions {
        OpenOptions::default()
    }

    /// Open for reading.
    pub fn read(&mut self, read: bool) -> &mut OpenOptions {
        self.read = read;
        self
    }

    /// Open for writing.
    pub fn write(&mut self, write: bool) -> &mut OpenOptions {
        self.write = write;
        self
    }

    /// Every write goes to the end of the file (implies writing).
    pub fn append(&mut self, append: bool) -> &mut OpenOptions {
        self.append = append;
        self
    }

    /// Create the file if it does not exist (needs write or append).
    pub fn create(&mut self, create: bool) -> &mut OpenOptions {
        self.create = create;
        self
    }

    /// Create the file, failing with `AlreadyExists` if it exists (needs write or
    /// append).
    pub fn create_new(&mut self, create_new: bool) -> &mut OpenOptions {
        self.create_new = create_new;
        self
    }

    /// Cut the file to length 0 when opened (needs write).
    pub fn truncate(&mut self, truncate: bool) -> &mut OpenOptions {
        self.truncate = truncate;
        self
    }

    /// Opens `path` on the current task's host's disk.
    ///
    /// # Cancel safety
    ///
    /// Cancelled before it completes, nothing was created or truncated.
    ///
    /// # Errors
    ///
    /// `NotFound` (no such file, or its directory is missing), `AlreadyExists`
    /// (`create_new`), `IsADirectory`, `InvalidInput` (no access mode, or create or
    /// truncate without write), `StorageFull` (too many files), or an error when the
    /// host is down.
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        let path = normalize(path.as_ref())?;
        let writes = self.write || self.append;
        if !self.read && !writes {
            return Err(invalid("open a file for reading, writing or appending"));
        }
        if (self.create || self.create_new || self.truncate) && !writes {
            return Err(invalid("create and truncate need write (or append) access"));
        }
        disk_io::wait_latency(Operation::Metadata).await;
        context::with_current("seedloop::fs::OpenOptions::open", |shared| {
            let host = current_host(shared)?;
            let config = shared.disk_config();
            let (strict, max_files) = (config.strict_directories, config.max_files);
            let (inode, created, epoch) = with_disk(shared, host, |disk| {
                let (inode, created) = if self.create || self.create_new {
                    disk.create_file(&path, strict, max_files)?
                } else {
                    let inode = disk
                        .lookup(&path)
                        .ok_or_else(|| super::disk::not_found(&path))?;
                    (inode, false)
                };
                if self.create_new && !created {
                    return Err(io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        format!("{}: the file exists", display(&path)),
                    ));
                }
                if disk.stat_inode(inode).directory {
                    return Err(io::Error::new(
                        io::ErrorKind::IsADirectory,
                        format!("{}: is a directory", display(&path)),
                    ));
                }
                if self.truncate && disk.stat_inode(inode).length > 0 {
                    disk.set_len(inode, 0, u64::MAX)?;
                }
                Ok((inode, created, disk.epoch))
            })?;
            let label = format!("{}:{}", shared.host_name(host), display(&path));
            if created {
                shared.record_note(EventKind::Disk, &format!("created {label}"));
            }
            Ok(File {
                host,
                inode,
                epoch,
                run_id: shared.run_id(),
                note: shared.add_note(&label),
                position: 0,
                readable: self.read,
                writable: writes,
                append: self.append,
                delay: None,
            })
        })
    }
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, what.to_string())
}

/// An open file on a simulated disk: `futures::io::{AsyncRead, AsyncWrite, AsyncSeek}`
/// (so `read_to_end`, `write_all`, `BufReader` and `seek` work), with
/// [`File::sync_all`] to make its writes durable.
///
/// # Examples
///
/// ```
/// use futures::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
/// use seedloop::fs::File;
/// use std::io::SeekFrom;
/// seedloop::Sim::new(0).run(async {
///     let mut wal = File::create("wal").await?;
///     wal.write_all(b"entry 1\n").await?;
///     wal.sync_all().await?; // durable: a crash of this host keeps it
///     wal.seek(SeekFrom::Start(0)).await?;
///     let mut back = String::new();
///     File::open("wal").await?.read_to_string(&mut back).await?;
///     assert_eq!(back, "entry 1\n");
///     Ok::<_, std::io::Error>(())
/// }).unwrap().unwrap();
/// ```
pub struct File {
    host: HostId,
    inode: InodeNumber,
    epoch: u64,
    run_id: u64,
    // The trace note naming the file: "db:/wal".
    note: u32,
    position: u64,
    readable: bool,
    writable: bool,
    append: bool,
    // A read or write waiting for its latency.
    delay: Option<(Operation, Sleep)>,
}

impl std::fmt::Debug for File {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("File")
            .field("inode", &self.inode)
            .field("position", &self.position)
            .finish_non_exhaustive()
    }
}

impl File {
    /// Opens a file for reading (std's `File::open`).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: opening changes nothing.
    ///
    /// # Errors
    ///
    /// `NotFound`, `IsADirectory`, or an error when the host is down.
    ///
    /// # Examples
    ///
    /// ```
    /// seedloop::Sim::new(0).run(async {
    ///     let missing = seedloop::fs::File::open("nothing").await.unwrap_err();
    ///     assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
    /// }).unwrap();
    /// ```
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).open(path).await
    }

    /// Opens a file for writing, creating it or cutting it to length 0 (std's
    /// `File::create`). The new directory entry is durable at once, or (with
    /// [`DiskConfig::strict_directories`](crate::fs::DiskConfig::strict_directories))
    /// after a [`sync_dir`](super::sync_dir) of its directory.
    ///
    /// # Cancel safety
    ///
    /// Cancelled before it completes, nothing was created or truncated.
    ///
    /// # Errors
    ///
    /// `NotFound` (its directory is missing), `IsADirectory`, `StorageFull`, or an
    /// error when the host is down.
    ///
    /// # Examples
    ///
    /// ```
    /// seedloop::Sim::new(0).run(async {
    ///     seedloop::fs::File::create("empty").await.unwrap();
    ///     assert_eq!(seedloop::fs::metadata("empty").await.unwrap().len(), 0);
    /// }).unwrap();
    /// ```
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .await
    }

    /// Makes the file's writes and length durable: after it returns, a crash keeps
    /// them. (Its name in its directory is another matter in the strict mode: see
    /// [`sync_dir`](super::sync_dir).) A failed sync (an injected I/O error) leaves the
    /// writes it covered in an unknown state, as on Linux: each reached the disk or is
    /// lost for good, and syncing again does not bring it back.
    ///
    /// # Cancel safety
    ///
    /// Cancelled before it completes (while its latency runs), nothing was synced.
    ///
    /// # Errors
    ///
    /// An injected I/O error (`ErrorKind::Other`), or a stale handle.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::io::AsyncWriteExt;
    /// seedloop::Sim::new(0).run(async {
    ///     let mut file = seedloop::fs::File::create("state").await?;
    ///     file.write_all(b"v1").await?;
    ///     file.sync_all().await
    /// }).unwrap().unwrap();
    /// ```
    pub async fn sync_all(&self) -> io::Result<()> {
        self.sync("seedloop::fs::File::sync_all").await
    }

    /// [`File::sync_all`]: in this model data and metadata reach the disk together.
    ///
    /// # Cancel safety
    ///
    /// Cancelled before it completes, nothing was synced.
    ///
    /// # Errors
    ///
    /// As [`File::sync_all`].
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::io::AsyncWriteExt;
    /// seedloop::Sim::new(0).run(async {
    ///     let mut file = seedloop::fs::File::create("wal").await?;
    ///     file.write_all(b"entry").await?;
    ///     file.sync_data().await
    /// }).unwrap().unwrap();
    /// ```
    pub async fn sync_data(&self) -> io::Result<()> {
        self.sync("seedloop::fs::File::sync_data").await
    }

    async fn sync(&self, api: &'static str) -> io::Result<()> {
        disk_io::wait_latency(Operation::Sync).await;
        context::with_current(api, |shared| {
            self.check(shared)?;
            let label = shared.note_text(self.note);
            if let Err(error) = inject_fault(shared, self.host, Operation::Sync, &label) {
                let dropped = with_disk(shared, self.host, |disk| {
                    disk.fail_sync(self.inode, || !disk_io::drawn(shared, 0.5))
                });
                if dropped > 0 {
                    let note = format!("the failed sync of {label} dropped {dropped} writes");
                    shared.record_note(EventKind::Disk, &note);
                }
                return Err(error);
            }
            with_disk(shared, self.host, |disk| disk.sync(self.inode));
            shared.record_noted(EventKind::DiskSync, self.note);
            Ok(())
        })
    }

    /// Cuts or extends the file to `length` bytes (extended with zeros), in the page
    /// cache like a write.
    ///
    /// # Cancel safety
    ///
    /// Cancelled before it completes, the length did not change.
    ///
    /// # Errors
    ///
    /// `StorageFull`, an injected write error, a handle not opened for writing
    /// (`PermissionDenied`), or a stale handle.
    ///
    /// # Examples
    ///
    /// ```
    /// seedloop::Sim::new(0).run(async {
    ///     let file = seedloop::fs::File::create("sparse").await?;
    ///     file.set_len(4096).await?;
    ///     assert_eq!(file.metadata().await?.len(), 4096);
    ///     Ok::<_, std::io::Error>(())
    /// }).unwrap().unwrap();
    /// ```
    pub async fn set_len(&self, length: u64) -> io::Result<()> {
        disk_io::wait_latency(Operation::Write).await;
        context::with_current("seedloop::fs::File::set_len", |shared| {
            self.check(shared)?;
            if !self.writable {
                return Err(not_open_for("writing"));
            }
            let label = shared.note_text(self.note);
            inject_fault(shared, self.host, Operation::Write, &label)?;
            let capacity = shared.disk_config().capacity_bytes;
            with_disk(shared, self.host, |disk| {
                disk.set_len(self.inode, length, capacity)
            })?;
            shared.record_noted(EventKind::DiskWrite, self.note);
            Ok(())
        })
    }

    /// The file's length and kind.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it changes nothing.
    ///
    /// # Errors
    ///
    /// A stale handle.
    ///
    /// # Examples
    ///
    /// ```
    /// seedloop::Sim::new(0).run(async {
    ///     let file = seedloop::fs::File::create("f").await.unwrap();
    ///     assert!(file.metadata().await.unwrap().is_file());
    /// }).unwrap();
    /// ```
    pub async fn metadata(&self) -> io::Result<Metadata> {
        context::with_current("seedloop::fs::File::metadata", |shared| {
            self.check(shared)?;
            let stat = with_disk(shared, self.host, |disk| disk.stat_inode(self.inode));
            Ok(Metadata::from(stat))
        })
    }

    /// Fails unless the handle is of this run and its host did not crash since it was
    /// opened.
    fn check(&self, shared: &Shared) -> io::Result<()> {
        if shared.run_id() != self.run_id {
            return Err(io::Error::other(
                "this file handle is from an earlier run: open the file again",
            ));
        }
        check_up(shared, self.host)?;
        let epoch = with_disk(shared, self.host, |disk| disk.epoch);
        if epoch != self.epoch {
            return Err(io::Error::other(format!(
                "the host {} crashed since this file was opened: open it again",
                shared.host_name(self.host)
            )));
        }
        Ok(())
    }

    /// Waits the latency of `operation` in the handle; ready when it has passed (or at
    /// once for a latency of zero).
    fn poll_delay(&mut self, operation: Operation, cx: &mut Context<'_>) -> Poll<()> {
        if self
            .delay
            .as_ref()
            .is_some_and(|(kind, _)| *kind != operation)
        {
            self.delay = None;
        }
        if self.delay.is_none() {
            let latency = context::with_current("seedloop::fs::File", |shared| {
                disk_io::latency(shared, operation)
            });
            if latency.is_zero() {
                return Poll::Ready(());
            }
            self.delay = Some((operation, crate::time::sleep(latency)));
        }
        let (_, sleep) = self.delay.as_mut().expect("set above");
        match Pin::new(sleep).poll(cx) {
            Poll::Ready(()) => {
                self.delay = None;
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

fn not_open_for(access: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!("the file was not opened for {access}"),
    )
}

impl AsyncRead for File {
    /// Reads from the page cache at the handle's position.
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buffer: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.poll_delay(Operation::Read, cx).is_pending() {
            return Poll::Pending;
        }
        Poll::Ready(context::with_current(
            "seedloop::fs::File::poll_read",
            |shared| {
                this.check(shared)?;
                if !this.readable {
                    return Err(not_open_for("reading"));
                }
                let label = shared.note_text(this.note);
                inject_fault(shared, this.host, Operation::Read, &label)?;
                let count = with_disk(shared, this.host, |disk| {
                    disk.read(this.inode, this.position, buffer)
                });
                this.position += count as u64;
                Ok(count)
            },
        ))
    }
}

impl AsyncWrite for File {
    /// Writes into the page cache at the handle's position (at the end in append
    /// mode); durable after a sync.
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buffer: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.poll_delay(Operation::Write, cx).is_pending() {
            return Poll::Pending;
        }
        Poll::Ready(context::with_current(
            "seedloop::fs::File::poll_write",
            |shared| {
                this.check(shared)?;
                if !this.writable {
                    return Err(not_open_for("writing"));
                }
                if buffer.is_empty() {
                    return Ok(0);
                }
                let label = shared.note_text(this.note);
                inject_fault(shared, this.host, Operation::Write, &label)?;
                let capacity = shared.disk_config().capacity_bytes;
                let end = with_disk(shared, this.host, |disk| {
                    let offset = if this.append {
                        disk.stat_inode(this.inode).length
                    } else {
                        this.position
                    };
                    disk.write(this.inode, offset, buffer, capacity)
                        .map(|()| offset + buffer.len() as u64)
                })?;
                this.position = end;
                shared.record_noted(EventKind::DiskWrite, this.note);
                Ok(buffer.len())
            },
        ))
    }

    /// Nothing to flush: a write is in the page cache when it returns (a flush is not
    /// a sync).
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl AsyncSeek for File {
    fn poll_seek(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        position: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        let this = self.get_mut();
        Poll::Ready(context::with_current(
            "seedloop::fs::File::poll_seek",
            |shared| {
                this.check(shared)?;
                let length =
                    with_disk(shared, this.host, |disk| disk.stat_inode(this.inode).length);
                let target = match position {
                    SeekFrom::Start(offset) => Some(offset),
                    SeekFrom::End(delta) => length.checked_add_signed(delta),
                    SeekFrom::Current(delta) => this.position.checked_add_signed(delta),
                };
                let target =
                    target.ok_or_else(|| invalid("seek to a negative or overflowing position"))?;
                this.position = target;
                Ok(target)
            },
        ))
    }
}
