//! [`Host`]: a simulated machine.
//!
//! A host is a name, the tasks running on it, and (with the network) the sockets they
//! opened. Its name resolves as its address. The main future runs on the host `main`;
//! a task spawned with [`Host::spawn`] runs on that host, and what it spawns stays
//! there. [`Host::crash`] drops every task of the host inside the simulation, now,
//! in id order (their `JoinHandle`s report `Cancelled`; their `Drop` code runs with the
//! clock readable), resets its connections so that peers read an error instead of
//! silence, and unbinds its sockets; [`Host::restart`] brings it back with nothing
//! running. A [`crate::Sim`] keeps its hosts across runs, as it keeps its clock:
//! [`Host::lookup`] finds one made by an earlier run.

use super::network;
use crate::runtime::context;
use crate::runtime::world::{HostError, HostId, MAX_HOSTS};
use crate::task::{Builder, JoinHandle};
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

/// What a host runs when it boots.
type Boot = Rc<dyn Fn() -> Pin<Box<dyn Future<Output = ()>>>>;

/// The boot tasks of the current run's hosts.
#[derive(Default)]
struct Boots {
    run_id: u64,
    by_host: BTreeMap<HostId, Boot>,
}

fn boot_of(shared: &crate::runtime::executor::Shared, host: HostId) -> Option<Boot> {
    let run_id = shared.run_id();
    shared.with_extension::<Boots, _>(|boots| {
        (boots.run_id == run_id)
            .then(|| boots.by_host.get(&host).cloned())
            .flatten()
    })
}

/// A simulated machine: a name (its address), its tasks and its sockets.
///
/// # Examples
///
/// ```
/// use seedloop::net::Host;
/// seedloop::Sim::new(0)
///     .run(async {
///         let db = Host::new("db");
///         let task = db.spawn(async { Host::current().name().to_string() });
///         assert_eq!(task.await.unwrap(), "db");
///         assert_eq!(Host::current().name(), "main");
///     })
///     .unwrap();
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Host {
    id: HostId,
    name: std::rc::Rc<str>,
}

impl Host {
    /// Creates a host named `name` (letters, digits, `-`, `_`, `.`): the name is its
    /// address (`db:80`).
    ///
    /// # Panics
    ///
    /// Outside a simulation; when a host of that name exists (in this `Sim`, made by
    /// this run or an earlier one: [`Host::lookup`] finds it); for an invalid name; past
    /// 4096 hosts.
    #[track_caller]
    pub fn new(name: impl Into<String>) -> Host {
        let name = name.into();
        context::with_current("seedloop::net::Host::new", |shared| {
            match shared.add_host(&name) {
                Ok(id) => {
                    crate::fault::start_if_planned(shared);
                    Host {
                        id,
                        name: name.as_str().into(),
                    }
                }
                Err(HostError::Taken) => panic!(
                    "a host named `{name}` exists already: host names are unique addresses; use Host::lookup(\"{name}\") to get it (a Sim keeps its hosts across runs)"
                ),
                Err(HostError::BadName) => panic!(
                    "`{name}` is not a valid host name: use letters, digits, `-`, `_` and `.` (the name is the host's address)"
                ),
                Err(HostError::Limit) => {
                    panic!("host limit reached: a simulation holds at most {MAX_HOSTS} hosts")
                }
            }
        })
    }

    /// The host named `name`, if it exists.
    ///
    /// ```
    /// use seedloop::net::Host;
    /// let mut sim = seedloop::Sim::new(0);
    /// sim.run(async { drop(Host::new("db")) }).unwrap();
    /// // The next run of the same Sim still has it.
    /// sim.run(async { assert!(Host::lookup("db").is_some()) }).unwrap();
    /// ```
    #[track_caller]
    pub fn lookup(name: &str) -> Option<Host> {
        context::with_current("seedloop::net::Host::lookup", |shared| {
            shared.find_host(name).map(|id| Host {
                id,
                name: name.into(),
            })
        })
    }

    /// The host whose address `address` is (a peer's address from
    /// [`crate::net::TcpListener::accept`] or [`crate::net::UdpSocket::recv_from`]).
    ///
    /// ```
    /// use seedloop::net::{Host, UdpSocket};
    /// seedloop::Sim::new(0)
    ///     .run(async {
    ///         let socket = UdpSocket::bind("0.0.0.0:9").await.unwrap();
    ///         let host = Host::lookup_addr(socket.local_addr().unwrap()).unwrap();
    ///         assert_eq!(host.name(), "main");
    ///     })
    ///     .unwrap();
    /// ```
    #[track_caller]
    pub fn lookup_addr(address: std::net::SocketAddr) -> Option<Host> {
        let std::net::IpAddr::V4(ip) = address.ip() else {
            return None;
        };
        let id = super::addr::host_of_ip(ip)?;
        context::with_current("seedloop::net::Host::lookup_addr", |shared| {
            ((id as usize) < shared.host_count()).then(|| Host {
                id,
                name: shared.host_name(id).into(),
            })
        })
    }

    /// The host the running task is on.
    #[track_caller]
    pub fn current() -> Host {
        context::with_current("seedloop::net::Host::current", |shared| {
            let id = shared.current_host();
            Host {
                id,
                name: shared.host_name(id).into(),
            }
        })
    }

    /// Its id in the simulated world.
    pub(super) fn id(&self) -> HostId {
        self.id
    }

    /// Its name, which is also its address.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The IP address its name resolves to (`10.0.0.1` for the first host, `main`).
    ///
    /// ```
    /// use seedloop::net::Host;
    /// seedloop::Sim::new(0).run(async {
    ///     let db = Host::new("db");
    ///     assert_eq!(db.ip(), std::net::Ipv4Addr::new(10, 0, 0, 2));
    ///     assert_eq!(Host::current().ip(), std::net::Ipv4Addr::new(10, 0, 0, 1));
    /// }).unwrap();
    /// ```
    pub fn ip(&self) -> std::net::Ipv4Addr {
        super::addr::host_ip(self.id)
    }

    /// Whether it is up (not crashed).
    #[track_caller]
    pub fn is_up(&self) -> bool {
        context::with_current("seedloop::net::Host::is_up", |shared| {
            shared.host_is_up(self.id)
        })
    }

    /// Spawns `future` as a task on this host; what it spawns stays on this host.
    ///
    /// # Panics
    ///
    /// Outside a simulation, and when the host is down.
    #[track_caller]
    #[must_use = "dropping a JoinHandle that was never awaited detaches the task (write `drop(host.spawn(..))` to say so)"]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        Builder::new().on_host(self.id).spawn(future)
    }

    /// Spawns a named task on this host (its name in traces is `host/name`).
    #[track_caller]
    #[must_use = "dropping a JoinHandle that was never awaited detaches the task (write `drop(host.spawn_named(..))` to say so)"]
    pub fn spawn_named<F>(&self, name: impl Into<String>, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        Builder::new().name(name).on_host(self.id).spawn(future)
    }

    /// Crashes the host: every task on it is dropped now, inside the simulation, in id
    /// order (a task crashing its own host stops at its next await); its connections
    /// are reset and its sockets unbound. A host that is down stays down.
    ///
    /// ```
    /// use seedloop::net::Host;
    /// use std::time::Duration;
    /// seedloop::Sim::new(0)
    ///     .run(async {
    ///         let db = Host::new("db");
    ///         let server = db.spawn(seedloop::time::sleep(Duration::from_secs(60)));
    ///         seedloop::time::sleep(Duration::from_secs(1)).await;
    ///         db.crash();
    ///         assert!(server.await.unwrap_err().is_cancelled());
    ///         assert!(!db.is_up());
    ///         db.restart();
    ///         assert_eq!(db.spawn(async { 7 }).await.unwrap(), 7);
    ///     })
    ///     .unwrap();
    /// ```
    ///
    /// # Panics
    ///
    /// Outside a simulation, and for the host `main` (it runs the main future).
    #[track_caller]
    pub fn crash(&self) {
        context::with_current("seedloop::net::Host::crash", |shared| {
            if shared.host_is_up(self.id) && self.id != crate::runtime::world::MAIN_HOST {
                // The network first: the sockets the dropped tasks own are reset, not
                // closed gracefully by their drops.
                network::host_crashed(shared, self.id);
                // The disk loses power before the tasks are dropped: what their drops
                // write is lost with the machine.
                crate::fs::host_crashed(shared, self.id);
            }
            shared.crash_host(self.id);
        })
    }

    /// Brings a crashed host back up, with nothing running but its boot task (see
    /// [`Host::on_boot`]); a host that is up is left as it is.
    #[track_caller]
    pub fn restart(&self) {
        let boot = context::with_current("seedloop::net::Host::restart", |shared| {
            if shared.host_is_up(self.id) {
                return None;
            }
            shared.restart_host(self.id);
            boot_of(shared, self.id)
        });
        if let Some(boot) = boot {
            drop(Builder::new().name("boot").on_host(self.id).spawn(boot()));
        }
    }

    /// Runs `boot()` as a task named `boot` on this host now, and again each time the
    /// host restarts after a crash: the services a machine starts when it comes up. A
    /// [`crate::fault::FaultPlan`] that crashes and restarts hosts relies on it.
    ///
    /// ```
    /// use seedloop::net::Host;
    /// use std::{cell::Cell, rc::Rc};
    /// seedloop::Sim::new(0)
    ///     .run(async {
    ///         let boots = Rc::new(Cell::new(0));
    ///         let db = Host::new("db");
    ///         db.on_boot({
    ///             let boots = boots.clone();
    ///             move || {
    ///                 let boots = boots.clone();
    ///                 async move { boots.set(boots.get() + 1) }
    ///             }
    ///         });
    ///         while boots.get() < 1 {
    ///             seedloop::yield_now().await;
    ///         }
    ///         db.crash();
    ///         db.restart();
    ///         while boots.get() < 2 {
    ///             seedloop::yield_now().await; // the boot task runs again
    ///         }
    ///     })
    ///     .unwrap();
    /// ```
    #[track_caller]
    pub fn on_boot<F, Fut>(&self, boot: F)
    where
        F: Fn() -> Fut + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let boot: Boot = Rc::new(move || Box::pin(boot()));
        let up = context::with_current("seedloop::net::Host::on_boot", |shared| {
            let run_id = shared.run_id();
            shared.with_extension::<Boots, _>(|boots| {
                if boots.run_id != run_id {
                    *boots = Boots {
                        run_id,
                        ..Boots::default()
                    };
                }
                boots.by_host.insert(self.id, boot.clone());
            });
            shared.host_is_up(self.id)
        });
        if up {
            drop(Builder::new().name("boot").on_host(self.id).spawn(boot()));
        }
    }
}

impl fmt::Debug for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Host({})", self.name)
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.name)
    }
}
