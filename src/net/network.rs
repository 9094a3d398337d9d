//! The network: sockets' shared state and the delivery of messages between hosts.
//!
//! Every message (a TCP segment, a connection request or reset, a UDP datagram) is
//! sent with a latency drawn from the network's stream of choices (decision 0 is the
//! link's minimum latency) and delivered by a timer of the virtual clock. Messages of
//! one direction of a TCP connection never overtake each other: each is delivered no
//! earlier than the one sent before it. At delivery the link is checked: across a
//! partition, or on a clogged link, a stream's message is held until the link heals
//! (TCP retransmits), and a datagram is dropped (on a clogged link, held). Held
//! messages leave in order when the link heals.
//!
//! The state (connections, listeners, UDP sockets, messages in flight, partitions and
//! clogs) belongs to one run: the sockets that made it are dropped at the end of their
//! run, and a new run starts with an empty network whose links are all whole. (The
//! hosts, and whether each is up, are kept, like the clock.)

use super::addr::{Endpoint, FIRST_EPHEMERAL_PORT};
use super::tcp::{self, Connection};
use super::udp;
use crate::choices::Stream;
use crate::failure::FailureKind;
use crate::runtime::executor::Shared;
use crate::runtime::waker::Wakeup;
use crate::runtime::world::HostId;
use crate::trace::EventKind;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io;

/// What a message carries.
#[derive(Debug)]
pub(crate) enum Payload {
    /// A TCP segment of connection `connection`, from its end `from_end` (0: the
    /// connecting side).
    Tcp {
        connection: usize,
        from_end: usize,
        segment: tcp::Segment,
    },
    /// A UDP datagram.
    Udp {
        from: Endpoint,
        to: Endpoint,
        data: Vec<u8>,
    },
}

#[derive(Debug)]
struct Message {
    from: HostId,
    to: HostId,
    payload: Payload,
}

/// One host's ports in use.
#[derive(Debug, Default)]
struct Ports {
    used: BTreeSet<u16>,
    next_ephemeral: u16,
}

/// The world's network.
#[derive(Debug)]
pub(crate) struct Network {
    // The run whose sockets the state below belongs to.
    run_id: u64,
    // By number, never reused within a run: a message in flight names its connection.
    pub connections: Vec<Option<Connection>>,
    pub listeners: BTreeMap<Endpoint, tcp::ListenerState>,
    pub udp_sockets: BTreeMap<Endpoint, udp::SocketState>,
    ports: BTreeMap<HostId, Ports>,
    // Messages in flight, by slot; a slot's delivery timer is a world event that
    // names the slot.
    in_flight: Vec<Option<Message>>,
    free_messages: Vec<usize>,
    in_flight_count: usize,
    // Messages held by a partition or a clog, per directed link, in send order.
    held: BTreeMap<(HostId, HostId), VecDeque<Message>>,
    // Directed links that are cut, and links that are clogged.
    partitioned: BTreeSet<(HostId, HostId)>,
    clogged: BTreeSet<(HostId, HostId)>,
    sockets: usize,
    // Buffers of delivered segments, for the next ones.
    spare_buffers: SpareBuffers,
    // The run's latency range when no link has its own (see `latency_range`).
    default_latency: (u64, u64),
}

/// The most segment buffers kept for reuse (each holds at most one segment's bytes,
/// so they stay under a few MiB).
const MAX_SPARE_BUFFERS: usize = 256;

/// Buffers of segments that were read, kept for the next segments sent: the network
/// then allocates nothing per message.
#[derive(Debug)]
pub(crate) struct SpareBuffers(Vec<Vec<u8>>);

impl SpareBuffers {
    /// An empty buffer, reused when one is spare.
    pub(crate) fn take(&mut self) -> Vec<u8> {
        self.0.pop().unwrap_or_default()
    }

    /// Keeps a buffer whose bytes were read (up to [`MAX_SPARE_BUFFERS`]).
    pub(crate) fn give(&mut self, mut buffer: Vec<u8>) {
        if self.0.len() < MAX_SPARE_BUFFERS {
            buffer.clear();
            self.0.push(buffer);
        }
    }
}

impl Network {
    /// A network with no sockets, no messages and whole links (of run 0: none).
    const fn new() -> Network {
        Network {
            run_id: 0,
            connections: Vec::new(),
            listeners: BTreeMap::new(),
            udp_sockets: BTreeMap::new(),
            ports: BTreeMap::new(),
            in_flight: Vec::new(),
            free_messages: Vec::new(),
            in_flight_count: 0,
            held: BTreeMap::new(),
            partitioned: BTreeSet::new(),
            clogged: BTreeSet::new(),
            sockets: 0,
            spare_buffers: SpareBuffers(Vec::new()),
            default_latency: (0, 0),
        }
    }

    /// Starts the run's state afresh when `shared` is a new run.
    #[inline]
    fn enter(&mut self, shared: &Shared) {
        if self.run_id != shared.run_id() {
            self.start(shared);
        }
    }

    #[cold]
    fn start(&mut self, shared: &Shared) {
        *self = Network {
            run_id: shared.run_id(),
            default_latency: link_latency(&shared.net_config().defaults),
            ..Network::new()
        };
    }

    /// An empty buffer for a segment's bytes (see [`SpareBuffers`]).
    pub(crate) fn buffer(&mut self) -> Vec<u8> {
        self.spare_buffers.take()
    }

    /// Connection `index`, and the spare buffers that its reads give back.
    pub(crate) fn connection_and_spares(
        &mut self,
        index: usize,
    ) -> Option<(&mut Connection, &mut SpareBuffers)> {
        let connection = self.connections.get_mut(index)?.as_mut()?;
        Some((connection, &mut self.spare_buffers))
    }

    /// Takes a port on `host`: `port`, or an ephemeral one for 0.
    pub(crate) fn take_port(&mut self, host: HostId, port: u16) -> io::Result<u16> {
        let ports = self.ports.entry(host).or_default();
        if port != 0 {
            if !ports.used.insert(port) {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!("port {port} is in use on this host"),
                ));
            }
            return Ok(port);
        }
        let span = (u16::MAX - FIRST_EPHEMERAL_PORT) as u32 + 1;
        for _ in 0..span {
            let candidate = FIRST_EPHEMERAL_PORT + ports.next_ephemeral;
            ports.next_ephemeral = ((ports.next_ephemeral as u32 + 1) % span) as u16;
            if ports.used.insert(candidate) {
                return Ok(candidate);
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            "every ephemeral port of this host is in use",
        ))
    }

    pub(crate) fn release_port(&mut self, endpoint: Endpoint) {
        if let Some(ports) = self.ports.get_mut(&endpoint.host) {
            ports.used.remove(&endpoint.port);
        }
    }

    /// Counts a socket opened. Past the configured limit the open fails, and so does
    /// the run, at its next step, with a report naming the limit.
    pub(crate) fn open_socket(&mut self, shared: &Shared) -> io::Result<()> {
        let limit = shared.net_config().max_sockets;
        if self.sockets >= limit {
            shared.fail_soon(FailureKind::LimitReached {
                what: "sockets open on the simulated network (NetConfig::max_sockets)".to_string(),
                limit: limit as u64,
            });
            return Err(io::Error::other(format!(
                "socket limit reached: {limit} sockets open (raise NetConfig::max_sockets)"
            )));
        }
        self.sockets += 1;
        Ok(())
    }

    pub(crate) fn close_socket(&mut self) {
        self.sockets = self.sockets.saturating_sub(1);
    }

    /// Stores a connection; returns its number.
    pub(crate) fn add_connection(&mut self, connection: Connection) -> usize {
        self.connections.push(Some(connection));
        self.connections.len() - 1
    }

    /// Forgets a connection both of whose ends are gone (its number stays taken).
    pub(crate) fn remove_connection(&mut self, index: usize) {
        self.connections[index] = None;
    }

    /// Frees every port of a host that crashed.
    pub(crate) fn release_host_ports(&mut self, host: HostId) {
        self.ports.remove(&host);
    }

    pub(crate) fn connection(&mut self, index: usize) -> Option<&mut Connection> {
        self.connections.get_mut(index)?.as_mut()
    }

    fn blocked(&self, from: HostId, to: HostId) -> (bool, bool) {
        (
            self.partitioned.contains(&(from, to)),
            self.clogged.contains(&(from, to)),
        )
    }
}

thread_local! {
    // The network of the run going on on this thread. Nothing of it outlives its run
    // (the hosts live in the world), so it needs no place in the `Sim`: a thread runs
    // one simulation at a time, and the first use in a new run starts it afresh. A
    // thread-local is also the cheapest way to reach it on the per-message hot path.
    static NETWORK: std::cell::RefCell<Network> = const { std::cell::RefCell::new(Network::new()) };
}

/// Runs `f` on the current run's network. `f` must not wake tasks or call back into
/// the network.
#[inline]
pub(crate) fn with_network<R>(shared: &Shared, f: impl FnOnce(&mut Network) -> R) -> R {
    NETWORK.with(|network| {
        let mut network = network.borrow_mut();
        network.enter(shared);
        f(&mut network)
    })
}

/// Tasks to wake once the network's borrow has ended: the first without an
/// allocation (a delivery wakes one reader, a read at most one writer).
#[derive(Default)]
pub(crate) struct Wakes {
    first: Wakeup,
    rest: Vec<Wakeup>,
}

impl Wakes {
    /// Adds a task to wake (nothing for `Wakeup::None`).
    #[inline(always)]
    pub(crate) fn push(&mut self, wakeup: Wakeup) {
        if wakeup.is_none() {
        } else if self.first.is_none() {
            self.first = wakeup;
        } else {
            self.rest.push(wakeup);
        }
    }

    /// Wakes them, in the order they were added.
    #[inline(always)]
    pub(crate) fn wake(self, shared: &Shared) {
        let Wakes { first, rest } = self;
        // `rest` is empty unless `first` is set.
        if !first.is_none() {
            first.wake_in(shared);
            if !rest.is_empty() {
                for wakeup in rest {
                    wakeup.wake_in(shared);
                }
            }
        }
    }
}

/// A link's latency range: (minimum in nanoseconds, spread in whole microseconds above
/// it; drawn in whole microseconds so timelines stay readable).
fn link_latency(link: &crate::config::LinkConfig) -> (u64, u64) {
    let min = link.latency_min.as_nanos().min(u64::MAX as u128) as u64;
    let max = link.latency_max.as_nanos().min(u64::MAX as u128) as u64;
    (min, max.saturating_sub(min) / 1000)
}

impl Network {
    /// The latency range of the link `from` -> `to` (see [`link_latency`]).
    #[inline]
    fn latency_range(&self, shared: &Shared, from: HostId, to: HostId) -> (u64, u64) {
        let config = shared.net_config();
        if config.links.is_empty() {
            return self.default_latency;
        }
        link_latency(config.link_config(&shared.host_name(from), &shared.host_name(to)))
    }
}

/// Whether a datagram on `from` -> `to` is lost, or delivered twice: decision 0 (the
/// production order) is "neither".
pub(crate) fn udp_fate(shared: &Shared, from: HostId, to: HostId) -> (bool, bool) {
    let config = shared.net_config();
    let link = config.link_config(&shared.host_name(from), &shared.host_name(to));
    let (loss, duplicate) = (link.udp_loss, link.udp_duplicate);
    (
        shared.chance(Stream::Network, loss),
        shared.chance(Stream::Network, duplicate),
    )
}

/// Sends a message: it is delivered after a drawn latency, no earlier than
/// `not_before` (the previous message of the same stream), and the delivery instant is
/// returned.
pub(crate) fn send(
    shared: &Shared,
    from: HostId,
    to: HostId,
    payload: Payload,
    not_before: u64,
) -> u64 {
    with_network(shared, |network| {
        network.send(shared, from, to, payload, not_before)
    })
}

impl Network {
    /// [`send`], inside a borrow of the network (the hot path: a TCP write looks up its
    /// connection and sends in one borrow).
    #[inline]
    pub(crate) fn send(
        &mut self,
        shared: &Shared,
        from: HostId,
        to: HostId,
        payload: Payload,
        not_before: u64,
    ) -> u64 {
        let max_in_flight = shared.net_config().max_in_flight;
        if self.in_flight_count >= max_in_flight {
            shared.fail_soon(FailureKind::LimitReached {
                what: "messages in flight on the simulated network (NetConfig::max_in_flight)"
                    .to_string(),
                limit: max_in_flight as u64,
            });
            return shared.now_nanos().max(not_before);
        }
        self.in_flight_count += 1;
        let slot = match self.free_messages.pop() {
            Some(slot) => slot,
            None => {
                self.in_flight.push(None);
                self.in_flight.len() - 1
            }
        };
        self.in_flight[slot] = Some(Message { from, to, payload });
        let (min_nanos, spread_micros) = self.latency_range(shared, from, to);
        // The timer is never cancelled: a message in flight arrives (or finds its
        // socket gone) whatever its sender does.
        shared.register_world_timer_after(
            Stream::Network,
            min_nanos,
            spread_micros,
            not_before,
            deliver,
            slot as u64,
        )
    }
}

/// A delivery timer fired (a world event of the run that sent the message).
fn deliver(shared: &Shared, slot: u64) {
    let slot = slot as usize;
    let message = with_network(shared, |network| {
        let message = network.in_flight.get_mut(slot)?.take()?;
        network.free_messages.push(slot);
        network.in_flight_count -= 1;
        let blocked = network.blocked(message.from, message.to);
        Some((message, blocked))
    });
    if let Some((message, blocked)) = message {
        arrive(shared, message, blocked);
    }
}

/// A message reaches its link's end: held, dropped or handed to its socket.
fn arrive(shared: &Shared, message: Message, (partitioned, clogged): (bool, bool)) {
    let reliable = matches!(message.payload, Payload::Tcp { .. });
    if clogged || (partitioned && reliable) {
        with_network(shared, |network| {
            network
                .held
                .entry((message.from, message.to))
                .or_default()
                .push_back(message)
        });
        return;
    }
    if partitioned {
        if let Payload::Udp { from, to, data } = &message.payload {
            let note = format!(
                "dropped a datagram of {} bytes {} -> {} (partition)",
                data.len(),
                from.label(shared),
                to.label(shared)
            );
            shared.record_note(EventKind::Net, &note);
        }
        return;
    }
    if !shared.host_is_up(message.to) {
        // A machine that is off answers nothing.
        let note = format!(
            "dropped a message {} -> {} (the receiving host is down)",
            shared.host_name(message.from),
            shared.host_name(message.to)
        );
        shared.record_note(EventKind::Net, &note);
        return;
    }
    match message.payload {
        Payload::Tcp {
            connection,
            from_end,
            segment,
        } => tcp::arrive(shared, connection, from_end, segment),
        Payload::Udp { from, to, data } => udp::arrive(shared, from, to, data),
    }
}

/// The link `from` -> `to` is open again (healed or unclogged) if neither a partition
/// nor a clog holds it: its held messages leave, in order.
fn release_held(shared: &Shared, from: HostId, to: HostId) {
    let held = with_network(shared, |network| {
        if network.blocked(from, to) != (false, false) {
            return VecDeque::new();
        }
        network.held.remove(&(from, to)).unwrap_or_default()
    });
    let mut not_before = 0;
    for message in held {
        not_before = send(
            shared,
            message.from,
            message.to,
            message.payload,
            not_before,
        );
    }
}

/// What a fault does to a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LinkFault {
    Partition,
    Clog,
}

/// Cuts (or clogs) the directed link `from` -> `to`, or restores it.
pub(crate) fn set_link(shared: &Shared, from: HostId, to: HostId, fault: LinkFault, on: bool) {
    let changed = with_network(shared, |network| {
        let set = match fault {
            LinkFault::Partition => &mut network.partitioned,
            LinkFault::Clog => &mut network.clogged,
        };
        if on {
            set.insert((from, to))
        } else {
            set.remove(&(from, to))
        }
    });
    if !changed {
        return;
    }
    let what = match (fault, on) {
        (LinkFault::Partition, true) => "partitioned",
        (LinkFault::Partition, false) => "healed",
        (LinkFault::Clog, true) => "clogged",
        (LinkFault::Clog, false) => "unclogged",
    };
    let note = format!(
        "{what} {} -> {}",
        shared.host_name(from),
        shared.host_name(to)
    );
    shared.record_note(EventKind::Net, &note);
    if !on {
        release_held(shared, from, to);
    }
}

/// A host crashed: its listeners and UDP sockets are gone, its connections reset
/// (the peers are told), and messages to it are lost.
pub(crate) fn host_crashed(shared: &Shared, host: HostId) {
    tcp::host_crashed(shared, host);
    udp::host_crashed(shared, host);
}
