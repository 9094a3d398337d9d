//! `tokio::fs` on the simulated disk of the current task's host: writes land in a
//! page cache and survive a crash of the host only once synced (see `seedloop::fs`
//! for the durability model). Nothing touches a real file.

use crate::io_adapter::tokio_io;
use std::io::{self, SeekFrom};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

pub use seedloop::fs::Metadata;

/// Reads a whole file. Cancel safety: cancel safe.
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    seedloop::fs::read(path).await
}

/// Reads a whole file as text. Cancel safety: cancel safe.
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    seedloop::fs::read_to_string(path).await
}

/// Creates or truncates a file and writes `contents` (not synced). Cancel safety:
/// cancelled before it completes, nothing was written.
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    seedloop::fs::write(path, contents).await
}

/// Renames a file or directory. Cancel safety: cancelled before it completes,
/// nothing was renamed.
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    seedloop::fs::rename(from, to).await
}

/// Removes a file. Cancel safety: cancelled before it completes, nothing was removed.
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    seedloop::fs::remove_file(path).await
}

/// Creates a directory and its missing parents. Cancel safety: cancelled before it
/// completes, nothing was created.
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    seedloop::fs::create_dir_all(path).await
}

/// Creates a directory whose parent exists. Cancel safety: as [`create_dir_all`].
pub async fn create_dir(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref();
    if seedloop::fs::metadata(path).await.is_ok() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{}: exists", path.display()),
        ));
    }
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        if !seedloop::fs::metadata(parent).await?.is_dir() {
            return Err(io::ErrorKind::NotADirectory.into());
        }
    }
    seedloop::fs::create_dir_all(path).await
}

/// A file's or directory's length and kind. Cancel safety: cancel safe.
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    seedloop::fs::metadata(path).await
}

/// Whether `path` exists. Cancel safety: cancel safe.
pub async fn try_exists(path: impl AsRef<Path>) -> io::Result<bool> {
    match seedloop::fs::metadata(path).await {
        Ok(_) => Ok(true),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(error),
    }
}

/// Lists a directory, in name order (tokio's `read_dir`). Cancel safety: cancel safe.
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<ReadDir> {
    Ok(ReadDir {
        entries: seedloop::fs::read_dir(path).await?.into_iter(),
    })
}

/// The entries of a directory (tokio's `ReadDir`).
#[derive(Debug)]
pub struct ReadDir {
    entries: std::vec::IntoIter<seedloop::fs::DirEntry>,
}

impl ReadDir {
    /// The next entry. Cancel safety: cancel safe.
    pub async fn next_entry(&mut self) -> io::Result<Option<DirEntry>> {
        Ok(self.entries.next().map(DirEntry))
    }
}

/// An entry of a directory listing (tokio's `DirEntry`).
#[derive(Debug)]
pub struct DirEntry(seedloop::fs::DirEntry);

impl DirEntry {
    /// Its path.
    pub fn path(&self) -> PathBuf {
        self.0.path()
    }

    /// Its name.
    pub fn file_name(&self) -> std::ffi::OsString {
        self.0.file_name().into()
    }

    /// Its length and kind. Cancel safety: cancel safe.
    pub async fn metadata(&self) -> io::Result<Metadata> {
        Ok(self.0.metadata())
    }
}

/// How to open a file (tokio's `OpenOptions`).
#[derive(Clone, Debug, Default)]
pub struct OpenOptions(seedloop::fs::OpenOptions);

impl OpenOptions {
    /// Everything off.
    pub fn new() -> OpenOptions {
        OpenOptions::default()
    }

    /// Open for reading.
    pub fn read(&mut self, read: bool) -> &mut OpenOptions {
        self.0.read(read);
        self
    }

    /// Open for writing.
    pub fn write(&mut self, write: bool) -> &mut OpenOptions {
        self.0.write(write);
        self
    }

    /// Write at the end.
    pub fn append(&mut self, append: bool) -> &mut OpenOptions {
        self.0.append(append);
        self
    }

    /// Create if missing.
    pub fn create(&mut self, create: bool) -> &mut OpenOptions {
        self.0.create(create);
        self
    }

    /// Create, failing if it exists.
    pub fn create_new(&mut self, create_new: bool) -> &mut OpenOptions {
        self.0.create_new(create_new);
        self
    }

    /// Cut to length 0.
    pub fn truncate(&mut self, truncate: bool) -> &mut OpenOptions {
        self.0.truncate(truncate);
        self
    }

    /// Opens `path`. Cancel safety: cancelled before it completes, nothing changed.
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        Ok(File::new(self.0.open(path).await?))
    }
}

/// An open file (tokio's `fs::File`): tokio's `AsyncRead`, `AsyncWrite`, `AsyncSeek`.
#[derive(Debug)]
pub struct File {
    inner: seedloop::fs::File,
    seeking: Option<SeekFrom>,
}

impl File {
    fn new(inner: seedloop::fs::File) -> File {
        File {
            inner,
            seeking: None,
        }
    }

    /// Opens for reading. Cancel safety: cancel safe.
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        Ok(File::new(seedloop::fs::File::open(path).await?))
    }

    /// Creates or truncates, for writing. Cancel safety: cancelled before it
    /// completes, nothing changed.
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        Ok(File::new(seedloop::fs::File::create(path).await?))
    }

    /// Options to open a file with.
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Makes the writes durable. Cancel safety: cancelled before it completes,
    /// nothing was synced.
    pub async fn sync_all(&self) -> io::Result<()> {
        self.inner.sync_all().await
    }

    /// Makes the writes durable. Cancel safety: as [`File::sync_all`].
    pub async fn sync_data(&self) -> io::Result<()> {
        self.inner.sync_data().await
    }

    /// Cuts or extends the file. Cancel safety: cancelled before it completes, the
    /// length did not change.
    pub async fn set_len(&self, length: u64) -> io::Result<()> {
        self.inner.set_len(length).await
    }

    /// Its length and kind. Cancel safety: cancel safe.
    pub async fn metadata(&self) -> io::Result<Metadata> {
        self.inner.metadata().await
    }
}

tokio_io!(File, |this| &mut this.inner);

impl tokio::io::AsyncSeek for File {
    fn start_seek(self: Pin<&mut Self>, position: SeekFrom) -> io::Result<()> {
        self.get_mut().seeking = Some(position);
        Ok(())
    }

    fn poll_complete(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        let this = self.get_mut();
        let position = this.seeking.take().unwrap_or(SeekFrom::Current(0));
        futures::io::AsyncSeek::poll_seek(Pin::new(&mut this.inner), cx, position)
    }
}
