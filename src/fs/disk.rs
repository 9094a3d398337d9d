//! One host's disk: a page cache in front of durable storage, and what a crash does.
//!
//! Every file (an *inode*) keeps two images of its bytes: `current`, what reads see
//! (the page cache), and `durable`, what is on the disk, with the list of changes
//! (writes and length changes) made to `current` since the last sync. A sync applies
//! that list to `durable`. The namespace (path to inode) is kept twice the same way:
//! in the default mode a directory change is durable at once; in the strict mode it
//! waits for a sync of its directory.
//!
//! A crash (power loss) draws, change by change in the order they were made, whether
//! each unsynced change reached the disk. A write is kept only where it does not start
//! past the end of what survived before it, so a crash never shows bytes that were
//! never written (no hole of zeros appears). Then the page cache is dropped: `current`
//! becomes `durable`, and the namespace becomes its durable image (minus entries whose
//! directory did not survive).
//!
//! Everything here is plain data with no clock and no choices of its own: the caller
//! passes each decision in, so this file is the model and `fs/mod.rs` the plumbing.

use super::path::{self, display};
use std::collections::BTreeMap;
use std::io;

pub(crate) type InodeNumber = usize;

/// A change to a file's bytes.
#[derive(Clone, Debug)]
enum Change {
    Write { offset: u64, bytes: Vec<u8> },
    SetLength(u64),
}

impl Change {
    /// Applies the change to `data`; a write past the end fills the gap with zeros
    /// (the caller decides whether that may happen).
    fn apply(&self, data: &mut Vec<u8>) {
        match self {
            Change::Write { offset, bytes } => {
                let offset = *offset as usize;
                if data.len() < offset + bytes.len() {
                    data.resize(offset + bytes.len(), 0);
                }
                data[offset..offset + bytes.len()].copy_from_slice(bytes);
            }
            Change::SetLength(length) => data.resize(*length as usize, 0),
        }
    }
}

#[derive(Debug)]
struct Inode {
    directory: bool,
    // Names the inode has in the current namespace.
    links: u32,
    current: Vec<u8>,
    durable: Vec<u8>,
    unsynced: Vec<Change>,
}

/// A change to the namespace.
#[derive(Clone, Debug)]
enum DirectoryChange {
    Link { path: String, inode: InodeNumber },
    Unlink { path: String },
    Rename { from: String, to: String },
}

impl DirectoryChange {
    /// The directory whose sync makes the change durable.
    fn directory(&self) -> &str {
        match self {
            DirectoryChange::Link { path, .. } | DirectoryChange::Unlink { path } => {
                path::parent(path)
            }
            DirectoryChange::Rename { to, .. } => path::parent(to),
        }
    }

    fn apply(&self, entries: &mut BTreeMap<String, InodeNumber>) {
        match self {
            DirectoryChange::Link { path, inode } => {
                entries.insert(path.clone(), *inode);
            }
            DirectoryChange::Unlink { path } => {
                entries.remove(path);
            }
            DirectoryChange::Rename { from, to } => {
                let Some(inode) = entries.remove(from) else {
                    return;
                };
                // A directory moves with everything inside it.
                let inside: Vec<String> = entries
                    .keys()
                    .filter(|path| path::is_inside(path, from))
                    .cloned()
                    .collect();
                for old in inside {
                    let moved = entries.remove(&old).expect("listed");
                    entries.insert(format!("{to}{}", &old[from.len()..]), moved);
                }
                entries.insert(to.clone(), inode);
            }
        }
    }
}

/// What a crash did to a disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CrashLosses {
    pub kept_writes: usize,
    pub lost_writes: usize,
    pub kept_directory_changes: usize,
    pub lost_directory_changes: usize,
}

/// What a file or directory is.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stat {
    pub directory: bool,
    pub length: u64,
}

/// One host's disk.
#[derive(Debug, Default)]
pub(crate) struct Disk {
    inodes: Vec<Inode>,
    entries: BTreeMap<String, InodeNumber>,
    durable_entries: BTreeMap<String, InodeNumber>,
    unsynced_directories: Vec<DirectoryChange>,
    // Bytes of the files that have a name.
    used_bytes: u64,
    // Inodes (files and directories) that have a name.
    named: usize,
    /// Bumped by every crash: a file handle opened before it is stale.
    pub epoch: u64,
}

pub(crate) fn not_found(path: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{}: no such file or directory", display(path)),
    )
}

fn storage_full(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::StorageFull, what)
}

impl Disk {
    /// The inode `path` names (the root is no inode).
    pub(crate) fn lookup(&self, path: &str) -> Option<InodeNumber> {
        self.entries.get(path).copied()
    }

    fn is_directory(&self, path: &str) -> bool {
        path.is_empty()
            || self
                .lookup(path)
                .is_some_and(|inode| self.inodes[inode].directory)
    }

    pub(crate) fn stat(&self, path: &str) -> io::Result<Stat> {
        if path.is_empty() {
            return Ok(Stat {
                directory: true,
                length: 0,
            });
        }
        let inode = self.lookup(path).ok_or_else(|| not_found(path))?;
        Ok(self.stat_inode(inode))
    }

    pub(crate) fn stat_inode(&self, inode: InodeNumber) -> Stat {
        let inode = &self.inodes[inode];
        Stat {
            directory: inode.directory,
            length: inode.current.len() as u64,
        }
    }

    /// Checks that `path`'s directory exists.
    fn check_parent(&self, path: &str) -> io::Result<()> {
        let parent = path::parent(path);
        if self.is_directory(parent) {
            Ok(())
        } else if self.lookup(parent).is_some() {
            Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                format!("{}: not a directory", display(parent)),
            ))
        } else {
            Err(not_found(parent))
        }
    }

    fn new_inode(&mut self, directory: bool, max_files: usize) -> io::Result<InodeNumber> {
        if self.named >= max_files {
            return Err(storage_full(format!(
                "the disk holds {max_files} files and directories, its most (DiskConfig::max_files)"
            )));
        }
        self.inodes.push(Inode {
            directory,
            links: 0,
            current: Vec::new(),
            durable: Vec::new(),
            unsynced: Vec::new(),
        });
        Ok(self.inodes.len() - 1)
    }

    fn change_directory(&mut self, change: DirectoryChange, strict: bool) {
        // The name a change takes over loses its inode; a link gives one a name. (A
        // rename moves names, so its source and what lies inside keep their links.)
        let (lost, gained) = match &change {
            DirectoryChange::Link { path, inode } => (self.lookup(path), Some(*inode)),
            DirectoryChange::Unlink { path } => (self.lookup(path), None),
            DirectoryChange::Rename { to, .. } => (self.lookup(to), None),
        };
        change.apply(&mut self.entries);
        if let Some(inode) = lost {
            self.add_link(inode, false);
        }
        if let Some(inode) = gained {
            self.add_link(inode, true);
        }
        if strict {
            self.unsynced_directories.push(change);
        } else {
            change.apply(&mut self.durable_entries);
        }
        debug_assert_eq!(
            self.named,
            self.inodes.iter().filter(|i| i.links > 0).count()
        );
    }

    /// One name more (or less) for `inode`: its bytes count toward the capacity while
    /// it has a name.
    fn add_link(&mut self, inode: InodeNumber, more: bool) {
        let file = &mut self.inodes[inode];
        let length = file.current.len() as u64;
        if more {
            file.links += 1;
            if file.links == 1 {
                self.used_bytes += length;
                self.named += 1;
            }
        } else {
            file.links -= 1;
            if file.links == 0 {
                self.used_bytes -= length;
                self.named -= 1;
            }
        }
    }

    /// Recounts links, named inodes and used bytes from the namespace (after a crash
    /// replaced it).
    fn recount(&mut self) {
        for inode in &mut self.inodes {
            inode.links = 0;
        }
        for &inode in self.entries.values() {
            self.inodes[inode].links += 1;
        }
        let named = self.inodes.iter().filter(|inode| inode.links > 0);
        self.named = named.clone().count();
        self.used_bytes = named.map(|inode| inode.current.len() as u64).sum();
    }

    /// Creates an empty file at `path` (its directory must exist); an existing file is
    /// returned as it is, an existing directory is an error.
    pub(crate) fn create_file(
        &mut self,
        path: &str,
        strict: bool,
        max_files: usize,
    ) -> io::Result<(InodeNumber, bool)> {
        if path.is_empty() {
            return Err(is_a_directory(path));
        }
        if let Some(inode) = self.lookup(path) {
            if self.inodes[inode].directory {
                return Err(is_a_directory(path));
            }
            return Ok((inode, false));
        }
        self.check_parent(path)?;
        let inode = self.new_inode(false, max_files)?;
        self.change_directory(
            DirectoryChange::Link {
                path: path.to_string(),
                inode,
            },
            strict,
        );
        Ok((inode, true))
    }

    /// Creates `path` and every missing directory above it.
    pub(crate) fn create_dir_all(
        &mut self,
        path: &str,
        strict: bool,
        max_files: usize,
    ) -> io::Result<()> {
        let mut prefix = String::new();
        for component in path.split('/').filter(|c| !c.is_empty()) {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(component);
            match self.lookup(&prefix) {
                Some(inode) if self.inodes[inode].directory => {}
                Some(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::NotADirectory,
                        format!("{}: a file is in the way", display(&prefix)),
                    ))
                }
                None => {
                    let inode = self.new_inode(true, max_files)?;
                    self.change_directory(
                        DirectoryChange::Link {
                            path: prefix.clone(),
                            inode,
                        },
                        strict,
                    );
                }
            }
        }
        Ok(())
    }

    pub(crate) fn remove_file(&mut self, path: &str, strict: bool) -> io::Result<()> {
        let inode = self.lookup(path).ok_or_else(|| not_found(path))?;
        if self.inodes[inode].directory {
            return Err(is_a_directory(path));
        }
        self.change_directory(
            DirectoryChange::Unlink {
                path: path.to_string(),
            },
            strict,
        );
        Ok(())
    }

    pub(crate) fn rename(&mut self, from: &str, to: &str, strict: bool) -> io::Result<()> {
        let inode = self.lookup(from).ok_or_else(|| not_found(from))?;
        self.check_parent(to)?;
        if from == to {
            return Ok(());
        }
        if self.inodes[inode].directory && path::is_inside(to, from) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("cannot move {} inside itself", display(from)),
            ));
        }
        if let Some(existing) = self.lookup(to) {
            if self.inodes[existing].directory {
                return Err(is_a_directory(to));
            }
            if self.inodes[inode].directory {
                return Err(io::Error::new(
                    io::ErrorKind::NotADirectory,
                    format!("{}: not a directory", display(to)),
                ));
            }
        }
        self.change_directory(
            DirectoryChange::Rename {
                from: from.to_string(),
                to: to.to_string(),
            },
            strict,
        );
        Ok(())
    }

    /// The names directly inside `path`, sorted.
    pub(crate) fn read_dir(&self, path: &str) -> io::Result<Vec<(String, Stat)>> {
        if !self.is_directory(path) {
            return Err(match self.lookup(path) {
                Some(_) => io::Error::new(
                    io::ErrorKind::NotADirectory,
                    format!("{}: not a directory", display(path)),
                ),
                None => not_found(path),
            });
        }
        Ok(self
            .entries
            .iter()
            .filter(|(entry, _)| path::is_inside(entry, path) && path::parent(entry) == path)
            .map(|(entry, &inode)| (entry.clone(), self.stat_inode(inode)))
            .collect())
    }

    /// Copies bytes of `inode` from `offset` into `buffer`; returns how many.
    pub(crate) fn read(&self, inode: InodeNumber, offset: u64, buffer: &mut [u8]) -> usize {
        let data = &self.inodes[inode].current;
        let start = (offset as usize).min(data.len());
        let count = buffer.len().min(data.len() - start);
        buffer[..count].copy_from_slice(&data[start..start + count]);
        count
    }

    pub(crate) fn contents(&self, inode: InodeNumber) -> &[u8] {
        &self.inodes[inode].current
    }

    fn grow_to(&mut self, inode: InodeNumber, length: u64, capacity: u64) -> io::Result<()> {
        let old = self.inodes[inode].current.len() as u64;
        if length > old && self.inodes[inode].links > 0 {
            let used = self.used_bytes - old + length;
            if used > capacity {
                return Err(storage_full(format!(
                    "no space left on the disk: {used} bytes would exceed its {capacity} (DiskConfig::capacity_bytes)"
                )));
            }
        }
        if self.inodes[inode].links > 0 {
            self.used_bytes = self.used_bytes - old + length;
        }
        Ok(())
    }

    /// Writes `bytes` at `offset` into the page cache.
    pub(crate) fn write(
        &mut self,
        inode: InodeNumber,
        offset: u64,
        bytes: &[u8],
        capacity: u64,
    ) -> io::Result<()> {
        let end = offset + bytes.len() as u64;
        let length = (self.inodes[inode].current.len() as u64).max(end);
        self.grow_to(inode, length, capacity)?;
        let change = Change::Write {
            offset,
            bytes: bytes.to_vec(),
        };
        let file = &mut self.inodes[inode];
        change.apply(&mut file.current);
        file.unsynced.push(change);
        Ok(())
    }

    pub(crate) fn set_len(
        &mut self,
        inode: InodeNumber,
        length: u64,
        capacity: u64,
    ) -> io::Result<()> {
        self.grow_to(inode, length, capacity)?;
        let change = Change::SetLength(length);
        let file = &mut self.inodes[inode];
        change.apply(&mut file.current);
        file.unsynced.push(change);
        Ok(())
    }

    /// Makes every change to `inode` durable.
    pub(crate) fn sync(&mut self, inode: InodeNumber) {
        let file = &mut self.inodes[inode];
        for change in file.unsynced.drain(..) {
            change.apply(&mut file.durable);
        }
    }

    /// A sync that failed: each unsynced change of `inode` is made durable when
    /// `reached_disk()` says so, or dropped for good (it stays in the page cache until
    /// a crash, and no later sync writes it). Returns how many were dropped.
    pub(crate) fn fail_sync(
        &mut self,
        inode: InodeNumber,
        mut reached_disk: impl FnMut() -> bool,
    ) -> usize {
        let file = &mut self.inodes[inode];
        let mut dropped = 0;
        for change in file.unsynced.drain(..) {
            if reached_disk() {
                change.apply(&mut file.durable);
            } else {
                dropped += 1;
            }
        }
        dropped
    }

    /// Makes the directory changes inside `path` durable; returns how many.
    pub(crate) fn sync_dir(&mut self, path: &str) -> usize {
        let (synced, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.unsynced_directories)
            .into_iter()
            .partition(|change| change.directory() == path);
        for change in &synced {
            change.apply(&mut self.durable_entries);
        }
        self.unsynced_directories = kept;
        synced.len()
    }

    /// Power loss: each unsynced change is kept when `kept()` says so (one call per
    /// change, files in inode order, then directory changes, each in the order made),
    /// then the page cache is gone and the disk is what survived.
    pub(crate) fn crash(&mut self, mut kept: impl FnMut() -> bool) -> CrashLosses {
        let mut losses = CrashLosses::default();
        for file in &mut self.inodes {
            for change in file.unsynced.drain(..) {
                let fits = match &change {
                    Change::Write { offset, .. } => *offset <= file.durable.len() as u64,
                    Change::SetLength(_) => true,
                };
                if kept() && fits {
                    change.apply(&mut file.durable);
                    losses.kept_writes += 1;
                } else {
                    losses.lost_writes += 1;
                }
            }
            file.current.clone_from(&file.durable);
        }
        for change in std::mem::take(&mut self.unsynced_directories) {
            if kept() {
                change.apply(&mut self.durable_entries);
                losses.kept_directory_changes += 1;
            } else {
                losses.lost_directory_changes += 1;
            }
        }
        // An entry whose directory did not survive cannot be reached: it is gone.
        loop {
            let orphans: Vec<String> = self
                .durable_entries
                .keys()
                .filter(|path| {
                    let parent = path::parent(path);
                    !parent.is_empty()
                        && !self
                            .durable_entries
                            .get(parent)
                            .is_some_and(|&inode| self.inodes[inode].directory)
                })
                .cloned()
                .collect();
            if orphans.is_empty() {
                break;
            }
            for orphan in orphans {
                self.durable_entries.remove(&orphan);
            }
        }
        self.entries = self.durable_entries.clone();
        self.recount();
        self.epoch += 1;
        losses
    }
}

fn is_a_directory(path: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::IsADirectory,
        format!("{}: is a directory", display(path)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAPACITY: u64 = 1 << 20;

    fn file(disk: &mut Disk, path: &str, strict: bool) -> InodeNumber {
        disk.create_file(path, strict, 100).unwrap().0
    }

    #[test]
    fn synced_bytes_survive_a_crash_that_loses_everything_else() {
        let mut disk = Disk::default();
        let wal = file(&mut disk, "wal", false);
        disk.write(wal, 0, b"synced", CAPACITY).unwrap();
        disk.sync(wal);
        disk.write(wal, 6, b"+lost", CAPACITY).unwrap();
        let losses = disk.crash(|| false);
        assert_eq!(disk.contents(wal), b"synced");
        assert_eq!((losses.kept_writes, losses.lost_writes), (0, 1));
    }

    #[test]
    fn a_crash_never_leaves_a_hole_where_an_earlier_append_was_lost() {
        let mut disk = Disk::default();
        let wal = file(&mut disk, "wal", false);
        disk.write(wal, 0, b"first", CAPACITY).unwrap();
        disk.write(wal, 5, b"second", CAPACITY).unwrap();
        let mut decisions = [false, true].into_iter();
        disk.crash(|| decisions.next().unwrap());
        assert_eq!(disk.contents(wal), b"");
    }

    #[test]
    fn in_strict_mode_a_file_needs_its_directory_synced() {
        let mut disk = Disk::default();
        disk.create_dir_all("data", true, 100).unwrap();
        disk.sync_dir("");
        let kept = file(&mut disk, "data/kept", true);
        disk.sync_dir("data");
        let lost = file(&mut disk, "data/lost", true);
        disk.write(lost, 0, b"synced data", CAPACITY).unwrap();
        disk.sync(lost);
        disk.crash(|| false);
        assert_eq!(disk.lookup("data/kept"), Some(kept));
        assert_eq!(disk.lookup("data/lost"), None);
    }

    #[test]
    fn a_failed_sync_drops_writes_that_a_later_sync_does_not_bring_back() {
        let mut disk = Disk::default();
        let wal = file(&mut disk, "wal", false);
        disk.write(wal, 0, b"dropped", CAPACITY).unwrap();
        assert_eq!(disk.fail_sync(wal, || false), 1);
        assert_eq!(
            disk.contents(wal),
            b"dropped",
            "the page cache still has it"
        );
        disk.sync(wal);
        disk.crash(|| true);
        assert_eq!(disk.contents(wal), b"");
    }

    #[test]
    fn capacity_counts_named_files_only() {
        let mut disk = Disk::default();
        let a = file(&mut disk, "a", false);
        disk.write(a, 0, &[1; 60], 100).unwrap();
        let b = file(&mut disk, "b", false);
        let full = disk.write(b, 0, &[2; 50], 100).unwrap_err();
        assert_eq!(full.kind(), io::ErrorKind::StorageFull);
        disk.remove_file("a", false).unwrap();
        disk.write(b, 0, &[2; 50], 100).unwrap();
    }

    #[test]
    fn renaming_a_directory_moves_what_is_inside() {
        let mut disk = Disk::default();
        disk.create_dir_all("old/sub", false, 100).unwrap();
        let inode = file(&mut disk, "old/sub/f", false);
        disk.rename("old", "new", false).unwrap();
        assert_eq!(disk.lookup("new/sub/f"), Some(inode));
        assert_eq!(disk.lookup("old/sub/f"), None);
        let names: Vec<String> = disk
            .read_dir("new")
            .unwrap()
            .into_iter()
            .map(|e| e.0)
            .collect();
        assert_eq!(names, ["new/sub"]);
    }
}
