//! TCP: [`TcpListener`] and [`TcpStream`], byte streams between hosts.
//!
//! A connection has two ends, the connecting side (0) and the accepting side (1).
//! `connect` sends a request; when it reaches a listener the connection joins the
//! listener's accept queue and an acknowledgement goes back, which completes the
//! connect; with no listener the answer is a refusal (`ConnectionRefused`), and with no
//! answer at all (a partition, a host that is down) the connect fails with `TimedOut`
//! after [`NetConfig::connect_timeout`](crate::net::NetConfig::connect_timeout). A
//! write is cut into segments that travel with drawn latencies but arrive in order, so
//! a large write may arrive in several reads and small writes may be read as one.
//! Flow control: an end's unread bytes plus those in flight to it never exceed the
//! window, and a writer beyond it waits. Closing the write half (`close`, or dropping
//! the stream) sends an end of stream: the peer reads its data, then 0 bytes. A crash
//! resets the host's connections: the peer's reads and writes fail with
//! `ConnectionReset`, and data sent to an end whose stream was dropped is answered
//! with a reset too.

use super::addr::Endpoint;
use super::network::{with_network, Payload, SpareBuffers, Wakes};
use crate::runtime::executor::Shared;
use crate::runtime::waker::Wakeup;
use crate::runtime::world::HostId;
use crate::trace::EventKind;
use std::collections::VecDeque;
use std::io;

/// The most bytes one segment carries.
pub(crate) const SEGMENT_BYTES: usize = 4096;

/// What a TCP message carries.
#[derive(Debug)]
pub(crate) enum Segment {
    Connect,
    Accepted,
    Refused,
    // Stream segments carry their sequence number in their direction: a segment that
    // arrives early (a message released from a partition can be overtaken) waits for
    // the ones before it, as TCP's reassembly does.
    Data(u64, Vec<u8>),
    End(u64),
    Reset,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    Connecting,
    Established,
    Refused,
    TimedOut,
}

/// Bytes delivered to an end and not read yet: the delivered segments' buffers, in
/// order, and how much of the first was read. A read copies once, from the segments
/// to the reader's buffer, and gives each buffer it empties back to the network.
#[derive(Debug, Default)]
pub(crate) struct Received {
    segments: VecDeque<Vec<u8>>,
    read: usize,
}

impl Received {
    fn push(&mut self, bytes: Vec<u8>) {
        if !bytes.is_empty() {
            self.segments.push_back(bytes);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// Copies as many bytes as fit into `buffer`; returns how many.
    pub(crate) fn read(&mut self, buffer: &mut [u8], spares: &mut SpareBuffers) -> usize {
        let mut count = 0;
        while count < buffer.len() {
            let Some(front) = self.segments.front() else {
                break;
            };
            let available = &front[self.read..];
            let taken = available.len().min(buffer.len() - count);
            buffer[count..count + taken].copy_from_slice(&available[..taken]);
            count += taken;
            self.read += taken;
            if self.read == front.len() {
                self.read = 0;
                let spent = self.segments.pop_front().expect("front exists");
                spares.give(spent);
            }
        }
        count
    }
}

/// One end of a connection.
#[derive(Debug)]
pub(crate) struct End {
    pub(crate) endpoint: Endpoint,
    // Bytes delivered to this end and not read yet.
    pub(crate) received: Received,
    // The peer's end of stream arrived (after all its data).
    pub(crate) ended: bool,
    // A reset arrived, or this end's host crashed.
    pub(crate) reset: bool,
    // This end sent its end of stream.
    pub(crate) closed: bool,
    // Its stream was dropped (or its host crashed): data sent to it is answered with
    // a reset.
    pub(crate) gone: bool,
    // Bytes this end sent that the peer has not read.
    pub(crate) unread_by_peer: usize,
    // When this end's last message is delivered: the next one is not delivered earlier.
    pub(crate) last_delivery: u64,
    // The sequence number of this end's next stream segment.
    pub(crate) next_sequence: u64,
    // The sequence number this end delivers next, and segments that arrived early.
    pub(crate) expected: u64,
    pub(crate) early: std::collections::BTreeMap<u64, Segment>,
    pub(crate) reader: Wakeup,
    pub(crate) writer: Wakeup,
}

impl End {
    pub(crate) fn new(endpoint: Endpoint) -> End {
        End {
            endpoint,
            received: Received::default(),
            ended: false,
            reset: false,
            closed: false,
            gone: false,
            unread_by_peer: 0,
            last_delivery: 0,
            next_sequence: 0,
            expected: 0,
            early: std::collections::BTreeMap::new(),
            reader: Wakeup::None,
            writer: Wakeup::None,
        }
    }

    /// Takes a stream segment; delivers it, and the early ones it lets through, in
    /// sequence. Returns whether data was delivered.
    fn reassemble(&mut self, sequence: u64, segment: Segment, wakers: &mut Wakes) -> bool {
        let mut delivered = false;
        self.early.insert(sequence, segment);
        while let Some(next) = self.early.remove(&self.expected) {
            self.expected += 1;
            match next {
                Segment::Data(_, bytes) => {
                    self.received.push(bytes);
                    delivered = true;
                }
                _ => self.ended = true,
            }
            wakers.push(self.reader.take());
        }
        delivered
    }

    pub(crate) fn wake_all(&mut self, wakers: &mut Wakes) {
        wakers.push(self.reader.take());
        wakers.push(self.writer.take());
    }
}

/// A connection's state, in the network.
#[derive(Debug)]
pub(crate) struct Connection {
    pub(crate) ends: [End; 2],
    pub(crate) phase: Phase,
    pub(crate) connector: Wakeup,
    // The trace note naming the connection: "connection 3 (main:49152 -> db:80)".
    pub(crate) note: u32,
    // The notes naming each direction, by sending end: "connection 3 main:49152 ->
    // db:80" and "connection 3 db:80 -> main:49152", for sends and deliveries.
    pub(crate) directions: [u32; 2],
}

/// A listener's state, in the network.
#[derive(Debug, Default)]
pub(crate) struct ListenerState {
    pub(crate) queue: VecDeque<usize>,
    pub(crate) acceptor: Wakeup,
    pub(crate) note: u32,
}

/// Sends segment `segment` from end `from_end` of `connection`; returns whether the
/// connection still exists.
pub(crate) fn send_segment(
    shared: &Shared,
    connection: usize,
    from_end: usize,
    segment: Segment,
) -> bool {
    with_network(shared, |network| {
        network.send_segment(shared, connection, from_end, segment)
    })
}

impl super::network::Network {
    /// [`send_segment`], inside a borrow of the network.
    pub(crate) fn send_segment(
        &mut self,
        shared: &Shared,
        index: usize,
        from_end: usize,
        segment: Segment,
    ) -> bool {
        let Some(connection) = self.connection(index) else {
            return false;
        };
        let end = &connection.ends[from_end];
        let (from, to) = (
            end.endpoint.host,
            connection.ends[1 - from_end].endpoint.host,
        );
        // Strictly after the previous message: timers due at the same instant fire in
        // a drawn order, which would reorder the stream.
        let not_before = end.last_delivery.saturating_add(1);
        let payload = Payload::Tcp {
            connection: index,
            from_end,
            segment,
        };
        let delivered = self.send(shared, from, to, payload, not_before);
        if let Some(connection) = self.connection(index) {
            connection.ends[from_end].last_delivery = delivered;
        }
        true
    }
}

pub(crate) fn note_of(shared: &Shared, connection: usize) -> Option<u32> {
    with_network(shared, |network| {
        network.connection(connection).map(|c| c.note)
    })
}

/// A segment reached the other end of `connection`.
pub(crate) fn arrive(shared: &Shared, connection: usize, from_end: usize, segment: Segment) {
    let to_end = 1 - from_end;
    let mut wakers = Wakes::default();
    let mut answer = None;
    let mut deliver_note = None;
    let mut happened = None;
    with_network(shared, |network| {
        let listener_at = network
            .connection(connection)
            .map(|connection| connection.ends[1].endpoint);
        let Some(state) = network.connection(connection) else {
            return;
        };
        let connection_note = state.note;
        let end = &mut state.ends[to_end];
        match segment {
            // A request whose connect gave up (timed out) meanwhile is ignored.
            Segment::Connect if state.phase != Phase::Connecting => {}
            Segment::Connect => {
                let endpoint = listener_at.expect("the connection exists");
                match network.listeners.get_mut(&endpoint) {
                    Some(listener) => {
                        listener.queue.push_back(connection);
                        wakers.push(listener.acceptor.take());
                        answer = Some(Segment::Accepted);
                    }
                    None => {
                        answer = Some(Segment::Refused);
                        happened = Some((connection_note, "refused (nothing listens there)"));
                    }
                }
            }
            Segment::Accepted | Segment::Refused => {
                if state.phase == Phase::Connecting {
                    state.phase = if matches!(segment, Segment::Accepted) {
                        Phase::Established
                    } else {
                        Phase::Refused
                    };
                    wakers.push(state.connector.take());
                } else if matches!(segment, Segment::Accepted) {
                    // The connect gave up (timed out) meanwhile: reset the accepted end.
                    answer = Some(Segment::Reset);
                }
            }
            Segment::Data(..) | Segment::End(..) if end.gone => {
                if matches!(segment, Segment::Data(..)) {
                    answer = Some(Segment::Reset);
                }
            }
            Segment::Data(sequence, bytes) if sequence == end.expected && end.early.is_empty() => {
                // In order, nothing waiting: no reassembly.
                end.expected += 1;
                end.received.push(bytes);
                deliver_note = Some(state.directions[from_end]);
                wakers.push(end.reader.take());
            }
            Segment::Data(sequence, _) | Segment::End(sequence) => {
                if end.reassemble(sequence, segment, &mut wakers) {
                    deliver_note = Some(state.directions[from_end]);
                }
            }
            Segment::Reset => {
                happened = Some((state.directions[from_end], "reset"));
                end.reset = true;
                end.wake_all(&mut wakers);
                if state.phase == Phase::Connecting {
                    state.phase = Phase::Refused;
                    wakers.push(state.connector.take());
                }
            }
        }
    });
    if let Some(note) = deliver_note {
        shared.record_noted(EventKind::Deliver, note);
    }
    if let Some((note, what)) = happened {
        let text = format!("{} {what}", shared.note_text(note));
        shared.record_note(EventKind::Net, &text);
    }
    if let Some(answer) = answer {
        send_segment(shared, connection, to_end, answer);
    }
    wakers.wake(shared);
}

/// A host crashed: its listeners close, and every connection with an end on it is
/// reset (the peer is told by a reset that travels like any message).
pub(crate) fn host_crashed(shared: &Shared, host: HostId) {
    let mut wakers = Wakes::default();
    let resets = with_network(shared, |network| {
        let listeners: Vec<Endpoint> = network
            .listeners
            .keys()
            .filter(|endpoint| endpoint.host == host)
            .copied()
            .collect();
        let mut resets = Vec::new();
        for endpoint in listeners {
            let listener = network.listeners.remove(&endpoint).expect("listed");
            // Accepted by the network but never by the program: reset.
            resets.extend(listener.queue.into_iter().map(|connection| (connection, 1)));
        }
        let mut closed = 0;
        for (index, connection) in network.connections.iter_mut().enumerate() {
            let Some(connection) = connection else {
                continue;
            };
            for side in 0..2 {
                let end = &mut connection.ends[side];
                if end.endpoint.host == host && !end.gone {
                    end.gone = true;
                    end.reset = true;
                    end.wake_all(&mut wakers);
                    resets.push((index, side));
                    closed += 1;
                }
            }
        }
        for _ in 0..closed {
            network.close_socket();
        }
        network.release_host_ports(host);
        resets
    });
    for (connection, side) in resets {
        send_segment(shared, connection, side, Segment::Reset);
    }
    wakers.wake(shared);
}

pub(crate) fn io_error(kind: io::ErrorKind, message: &str) -> io::Error {
    io::Error::new(kind, message.to_string())
}

mod listener;
mod stream;

pub use listener::TcpListener;
pub use stream::TcpStream;
