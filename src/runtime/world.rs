//! The world a `Sim` keeps across runs: its hosts, and the state the layers above the
//! runtime keep per world (what a fault plan and the hosts' boot tasks hold, later the
//! disks).
//!
//! A host is a set of tasks under one name: every task belongs to the host it was
//! spawned on (a task's children stay on its host), and the main future runs on the
//! host named `main`. The runtime knows only that much (names, which hosts are up, and
//! which task is on which host), so that it can name tasks `db/worker-2` in traces and
//! drop every task of a host when the host crashes. What a host means beyond that
//! (addresses, sockets, a disk) belongs to the layers above, which keep their state
//! here as *extensions*: one value per type, created on first use, kept with the
//! world across runs, looked up by type (never iterated, so no order can leak in).

use std::any::{Any, TypeId};

/// A host's number: its index in the world, 0 for `main`.
pub(crate) type HostId = u32;

/// The host the main future runs on.
pub(crate) const MAIN_HOST: HostId = 0;

/// The most hosts one world holds.
pub(crate) const MAX_HOSTS: usize = 4096;

#[derive(Debug)]
struct HostEntry {
    name: Box<str>,
    up: bool,
}

/// Every host of the world, by number.
#[derive(Debug)]
pub(crate) struct Hosts {
    // Invariant: entry 0 is `main`; names are unique.
    entries: Vec<HostEntry>,
}

impl Default for Hosts {
    fn default() -> Hosts {
        Hosts {
            entries: vec![HostEntry {
                name: "main".into(),
                up: true,
            }],
        }
    }
}

/// Why a host could not be created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum HostError {
    Taken,
    Limit,
    BadName,
}

impl Hosts {
    /// Creates a host named `name`.
    pub(crate) fn add(&mut self, name: &str) -> Result<HostId, HostError> {
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|character| character.is_ascii_alphanumeric() || "-_.".contains(character));
        if !valid {
            return Err(HostError::BadName);
        }
        if self.find(name).is_some() {
            return Err(HostError::Taken);
        }
        if self.entries.len() >= MAX_HOSTS {
            return Err(HostError::Limit);
        }
        self.entries.push(HostEntry {
            name: name.into(),
            up: true,
        });
        Ok((self.entries.len() - 1) as HostId)
    }

    /// The host named `name`.
    pub(crate) fn find(&self, name: &str) -> Option<HostId> {
        self.entries
            .iter()
            .position(|entry| &*entry.name == name)
            .map(|index| index as HostId)
    }

    #[track_caller]
    fn entry(&self, host: HostId) -> &HostEntry {
        self.entries
            .get(host as usize)
            .unwrap_or_else(|| unknown_host(host))
    }

    pub(crate) fn name(&self, host: HostId) -> &str {
        &self.entry(host).name
    }

    pub(crate) fn is_up(&self, host: HostId) -> bool {
        self.entry(host).up
    }

    pub(crate) fn set_up(&mut self, host: HostId, up: bool) {
        self.entry(host);
        self.entries[host as usize].up = up;
    }

    /// How many hosts there are.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cold]
#[track_caller]
fn unknown_host(host: HostId) -> ! {
    panic!(
        "host number {host} does not exist in this simulation: a Host belongs to the Sim that created it (use Host::lookup in this Sim)"
    )
}

/// The layers' state, one value per type.
#[derive(Default)]
pub(crate) struct Extensions {
    values: Vec<(TypeId, Box<dyn Any>)>,
}

impl Extensions {
    /// The value of type `T`, created with `T::default()` on first use.
    pub(crate) fn get<T: Default + 'static>(&mut self) -> &mut T {
        let id = TypeId::of::<T>();
        let index = match self.values.iter().position(|(key, _)| *key == id) {
            Some(index) => index,
            None => {
                self.values.push((id, Box::new(T::default())));
                self.values.len() - 1
            }
        };
        self.values[index]
            .1
            .downcast_mut::<T>()
            .expect("an extension is stored under its own type")
    }
}

impl std::fmt::Debug for Extensions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Extensions")
            .field("count", &self.values.len())
            .finish()
    }
}

/// Everything a `Sim` keeps across runs besides its clock and choices.
#[derive(Debug, Default)]
pub(crate) struct World {
    pub hosts: Hosts,
    pub extensions: Extensions,
}
