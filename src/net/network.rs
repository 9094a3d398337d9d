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
use crate::runtime::context;
use crate::runtime::executor::Shared;
use crate::runtime::world::HostId;
use crate::trace::EventKind;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io;
use std::sync::Arc;
use std::task::{Wake, Waker};

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
#[derive(Debug, Default)]
pub(crate) struct Network {
    // The run whose sockets the state below belongs to.
    run_id: u64,
    // By number, never reused within a run: a message in flight names its connection.
    pub connections: Vec<Option<Connection>>,
    pub listeners: BTreeMap<Endpoint, tcp::ListenerState>,
    pub udp_sockets: BTreeMap<Endpoint, udp::SocketState>,
    ports: BTreeMap<HostId, Ports>,
    // Messages in flight, by slot, each with its slot's delivery waker (kept for the
    // slot's next message: a delivery timer is never cancelled, so a slot's waker is
    // woken exactly once per message it carried).
    in_flight: Vec<(Option<Message>, Option<Waker>)>,
    free_messages: Vec<usize>,
    in_flight_count: usize,
    // Messages held by a partition or a clog, per directed link, in send order.
    held: BTreeMap<(HostId, HostId), VecDeque<Message>>,
    // Directed links that are cut, and links that are clogged.
    partitioned: BTreeSet<(HostId, HostId)>,
    clogged: BTreeSet<(HostId, HostId)>,
    sockets: usize,
}

impl Network {
    /// Starts the run's state afresh when `run_id` is a new run.
    fn enter(&mut self, run_id: u64) {
        if self.run_id != run_id {
            *self = Network {
                run_id,
                ..Network::default()
            };
        }
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
    static NETWORK: std::cell::RefCell<Network> = std::cell::RefCell::new(Network::default());
}

/// Runs `f` on the current run's network. `f` must not wake tasks or call back into
/// the network.
#[inline]
pub(crate) fn with_network<R>(shared: &Shared, f: impl FnOnce(&mut Network) -> R) -> R {
    let run_id = shared.run_id();
    NETWORK.with(|network| {
        let mut network = network.borrow_mut();
        network.enter(run_id);
        f(&mut network)
    })
}

/// Keeps `cx`'s waker in `slot`, cloning it only when it changed (a socket is polled by
/// the same task again and again).
#[inline]
pub(crate) fn register_waker(slot: &mut Option<Waker>, cx: &std::task::Context<'_>) {
    match slot {
        Some(waker) if waker.will_wake(cx.waker()) => {}
        _ => *slot = Some(cx.waker().clone()),
    }
}

/// The waker of a delivery timer: it names the message, never holds it.
struct Delivery {
    run_id: u64,
    slot: usize,
}

impl Wake for Delivery {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        context::try_with_current(|shared| {
            if shared.run_id() == self.run_id {
                deliver(shared, self.slot);
            }
        });
    }
}

/// A message's latency on the link `from` -> `to`, drawn from the network stream.
fn latency_nanos(shared: &Shared, from: HostId, to: HostId) -> u64 {
    let config = shared.net_config();
    let link = if config.links.is_empty() {
        &config.defaults
    } else {
        config.link_config(&shared.host_name(from), &shared.host_name(to))
    };
    // Drawn in whole microseconds above the minimum: timelines stay readable.
    let min = link.latency_min.as_nanos().min(u64::MAX as u128) as u64;
    let max = link.latency_max.as_nanos().min(u64::MAX as u128) as u64;
    let spread_micros = max.saturating_sub(min) / 1000;
    min + shared.choose(Stream::Network, spread_micros.saturating_add(1)) * 1000
}

/// Whether a datagram on `from` -> `to` is lost, or delivered twice: decision 0 (the
/// production order) is "neither".
pub(crate) fn udp_fate(shared: &Shared, from: HostId, to: HostId) -> (bool, bool) {
    const SCALE: u64 = 1 << 20;
    let config = shared.net_config();
    let link = config.link_config(&shared.host_name(from), &shared.host_name(to));
    let (loss, duplicate) = (link.udp_loss, link.udp_duplicate);
    let happens = |rate: f64| {
        rate > 0.0 && {
            let draw = shared.choose(Stream::Network, SCALE);
            // The top `rate` of the range: 0 never loses.
            (draw as f64) >= (1.0 - rate) * SCALE as f64
        }
    };
    (happens(loss), happens(duplicate))
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
    send_then(shared, from, to, payload, not_before, |_, _| ())
}

/// [`send`], then `then(network, delivery instant)` in the same borrow.
pub(crate) fn send_then(
    shared: &Shared,
    from: HostId,
    to: HostId,
    payload: Payload,
    not_before: u64,
    then: impl FnOnce(&mut Network, u64),
) -> u64 {
    let deliver_at = (shared.now_nanos() + latency_nanos(shared, from, to)).max(not_before);
    let message = Message { from, to, payload };
    let run_id = shared.run_id();
    let stored = with_network(shared, |network| {
        then(network, deliver_at);
        if network.in_flight_count >= shared.net_config().max_in_flight {
            return None;
        }
        network.in_flight_count += 1;
        let slot = match network.free_messages.pop() {
            Some(slot) => slot,
            None => {
                network.in_flight.push((None, None));
                network.in_flight.len() - 1
            }
        };
        let entry = &mut network.in_flight[slot];
        entry.0 = Some(message);
        // One delivery waker per slot, reused: a slot holds one message at a time.
        let waker = entry
            .1
            .get_or_insert_with(|| Waker::from(Arc::new(Delivery { run_id, slot })))
            .clone();
        Some(waker)
    });
    let Some(waker) = stored else {
        shared.fail_soon(FailureKind::LimitReached {
            what: "messages in flight on the simulated network (NetConfig::max_in_flight)"
                .to_string(),
            limit: shared.net_config().max_in_flight as u64,
        });
        return deliver_at;
    };
    // The timer is never cancelled: a message in flight arrives (or finds its socket
    // gone) whatever its sender does.
    shared.register_world_timer(deliver_at, waker);
    deliver_at
}

/// A delivery timer fired.
fn deliver(shared: &Shared, slot: usize) {
    let message = with_network(shared, |network| {
        let entry = network.in_flight.get_mut(slot)?;
        let message = entry.0.take()?;
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
