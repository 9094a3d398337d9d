//! Faults on the links between hosts: partitions (both directions, or one way) and
//! clogs. A partition cuts a link: TCP data waits (as retransmission would) until the
//! link heals, a connect across it times out, datagrams are dropped. A clog holds
//! every message of a link, TCP and UDP alike, until it is unclogged. Each is a trace
//! event.

use super::network::{set_link, LinkFault};
use crate::runtime::context;
use crate::runtime::executor::Shared;
use crate::runtime::world::HostId;

fn host(shared: &Shared, api: &str, name: &str) -> HostId {
    shared.find_host(name).unwrap_or_else(|| {
        panic!(
            "{api}: no host is named `{name}`: create it with seedloop::net::Host::new(\"{name}\")"
        )
    })
}

fn change(api: &'static str, a: &str, b: &str, fault: LinkFault, on: bool, both: bool) {
    context::with_current(api, |shared| {
        let (a, b) = (host(shared, api, a), host(shared, api, b));
        set_link(shared, a, b, fault, on);
        if both {
            set_link(shared, b, a, fault, on);
        }
    })
}

/// Cuts the link between hosts `a` and `b`, both directions.
///
/// ```
/// use seedloop::net::{heal, partition, Host, TcpListener, TcpStream};
/// use std::time::Duration;
/// seedloop::Sim::new(0)
///     .net(seedloop::net::NetConfig::default().connect_timeout(Duration::from_secs(1)))
///     .run(async {
///         let db = Host::new("db");
///         let _server = db.spawn(async {
///             let listener = TcpListener::bind("0.0.0.0:80").await.unwrap();
///             loop {
///                 drop(listener.accept().await.unwrap());
///             }
///         });
///         seedloop::yield_now().await;
///         partition("main", "db");
///         let error = TcpStream::connect("db:80").await.unwrap_err();
///         assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
///         heal("main", "db");
///         assert!(TcpStream::connect("db:80").await.is_ok());
///     })
///     .unwrap();
/// ```
///
/// # Panics
///
/// Outside a simulation, and for a name that is no host.
#[track_caller]
pub fn partition(a: &str, b: &str) {
    change(
        "seedloop::net::partition",
        a,
        b,
        LinkFault::Partition,
        true,
        true,
    )
}

/// Heals the link between `a` and `b`, both directions; messages it held leave.
#[track_caller]
pub fn heal(a: &str, b: &str) {
    change(
        "seedloop::net::heal",
        a,
        b,
        LinkFault::Partition,
        false,
        true,
    )
}

/// Cuts the link from `from` to `to` only: `to` still reaches `from`.
#[track_caller]
pub fn partition_one_way(from: &str, to: &str) {
    change(
        "seedloop::net::partition_one_way",
        from,
        to,
        LinkFault::Partition,
        true,
        false,
    )
}

/// Heals the link from `from` to `to`.
#[track_caller]
pub fn heal_one_way(from: &str, to: &str) {
    change(
        "seedloop::net::heal_one_way",
        from,
        to,
        LinkFault::Partition,
        false,
        false,
    )
}

/// Holds every message between `a` and `b` (both directions) until [`unclog`].
#[track_caller]
pub fn clog(a: &str, b: &str) {
    change("seedloop::net::clog", a, b, LinkFault::Clog, true, true)
}

/// Releases what [`clog`] held, in order.
#[track_caller]
pub fn unclog(a: &str, b: &str) {
    change("seedloop::net::unclog", a, b, LinkFault::Clog, false, true)
}
