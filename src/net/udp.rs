//! UDP: [`UdpSocket`], datagrams between hosts.
//!
//! A datagram travels with a drawn latency, so datagrams may arrive in another order
//! than they were sent; it is lost or delivered twice at the link's configured rates
//! (each a draw from the network's stream, decision 0 being "neither"), dropped across
//! a partition, held on a clogged link, and dropped when the receiver's queue is full
//! or nobody is bound at its address. A datagram larger than the receive buffer is
//! truncated, as a real socket does.

use super::addr::{resolve, Endpoint, ToAddress};
use super::network::{self, udp_fate, with_network, Payload, Wakes};
use crate::runtime::context;
use crate::runtime::executor::{IoWait, Shared, Waiting};
use crate::runtime::waker::Wakeup;
use crate::runtime::world::HostId;
use crate::trace::EventKind;
use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};

/// The most datagrams a socket holds unreceived; more are dropped.
const QUEUE_DATAGRAMS: usize = 1024;

/// A bound socket's state, in the network.
#[derive(Debug, Default)]
pub(crate) struct SocketState {
    queue: VecDeque<(Endpoint, Vec<u8>)>,
    receiver: Wakeup,
    note: u32,
}

/// A datagram reached `to`.
pub(crate) fn arrive(shared: &Shared, from: Endpoint, to: Endpoint, data: Vec<u8>) {
    let length = data.len();
    let outcome = with_network(shared, |network| {
        let Some(socket) = network.udp_sockets.get_mut(&to) else {
            return Err("nobody is bound there");
        };
        if socket.queue.len() >= QUEUE_DATAGRAMS {
            return Err("the receiver's queue is full");
        }
        socket.queue.push_back((from, data));
        Ok((socket.receiver.take(), socket.note))
    });
    match outcome {
        Ok((wakeup, note)) => {
            shared.record_noted(EventKind::Deliver, note);
            wakeup.wake_in(shared);
        }
        Err(why) => {
            let note = format!(
                "dropped a datagram of {} bytes {} -> {} ({why})",
                length,
                from.label(shared),
                to.label(shared)
            );
            shared.record_note(EventKind::Net, &note);
        }
    }
}

/// A host crashed: its sockets are unbound.
pub(crate) fn host_crashed(shared: &Shared, host: HostId) {
    let mut wakes = Wakes::default();
    with_network(shared, |network| {
        let bound: Vec<Endpoint> = network
            .udp_sockets
            .keys()
            .filter(|endpoint| endpoint.host == host)
            .copied()
            .collect();
        for endpoint in bound {
            network.close_socket();
            if let Some(socket) = network.udp_sockets.remove(&endpoint) {
                wakes.push(socket.receiver);
            }
        }
    });
    wakes.wake(shared);
}

/// A UDP socket.
///
/// # Examples
///
/// ```
/// use seedloop::net::{Host, UdpSocket};
/// seedloop::Sim::new(2)
///     .run(async {
///         let b = Host::new("b");
///         let pong = b.spawn(async {
///             let socket = UdpSocket::bind("0.0.0.0:9000").await.unwrap();
///             let mut buffer = [0; 16];
///             let (count, from) = socket.recv_from(&mut buffer).await.unwrap();
///             socket.send_to(&buffer[..count], from).await.unwrap();
///         });
///         seedloop::yield_now().await;
///         let socket = UdpSocket::bind("0.0.0.0:0").await.unwrap();
///         socket.send_to(b"ping", "b:9000").await.unwrap();
///         let mut buffer = [0; 16];
///         let (count, _) = socket.recv_from(&mut buffer).await.unwrap();
///         assert_eq!(&buffer[..count], b"ping");
///         pong.await.unwrap();
///     })
///     .unwrap();
/// ```
#[derive(Debug)]
pub struct UdpSocket {
    endpoint: Endpoint,
    peer: std::cell::Cell<Option<Endpoint>>,
    run_id: u64,
}

fn stale() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotConnected,
        "this socket belongs to an earlier run of the simulation",
    )
}

impl UdpSocket {
    /// Binds a socket to `address` of the current host (port 0: a free port).
    ///
    /// # Errors
    ///
    /// `AddrInUse` when the port is taken, `AddrNotAvailable` for another host's
    /// address.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it completes at its first poll.
    pub async fn bind(address: impl ToAddress) -> io::Result<UdpSocket> {
        let address = address.to_address();
        context::with_current("seedloop::net::UdpSocket::bind", |shared| {
            let endpoint = resolve(shared, &address)?;
            if endpoint.host != shared.current_host() {
                return Err(io::Error::new(
                    io::ErrorKind::AddrNotAvailable,
                    "a socket binds to its own host's address",
                ));
            }
            let endpoint = with_network(shared, |network| -> io::Result<Endpoint> {
                let port = network.take_port(endpoint.host, endpoint.port)?;
                let endpoint = Endpoint { port, ..endpoint };
                if let Err(error) = network.open_socket(shared) {
                    network.release_port(endpoint);
                    return Err(error);
                }
                Ok(endpoint)
            })?;
            let label = format!("udp {}", endpoint.label(shared));
            shared.record_note(EventKind::Net, &format!("bound {label}"));
            let note = shared.add_note(&label);
            with_network(shared, |network| {
                network.udp_sockets.insert(
                    endpoint,
                    SocketState {
                        note,
                        ..SocketState::default()
                    },
                )
            });
            Ok(UdpSocket {
                endpoint,
                peer: std::cell::Cell::new(None),
                run_id: shared.run_id(),
            })
        })
    }

    /// The address it is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.endpoint.socket_addr())
    }

    /// Sends `data` to `address`; returns its length (a datagram is sent whole).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it completes at its first poll.
    pub async fn send_to(&self, data: &[u8], address: impl ToAddress) -> io::Result<usize> {
        let address = address.to_address();
        context::with_current("seedloop::net::UdpSocket::send_to", |shared| {
            if shared.run_id() != self.run_id {
                return Err(stale());
            }
            let to = resolve(shared, &address)?;
            self.send_datagram(shared, to, data);
            Ok(data.len())
        })
    }

    fn send_datagram(&self, shared: &Shared, to: Endpoint, data: &[u8]) {
        let note = with_network(shared, |network| {
            network
                .udp_sockets
                .get(&self.endpoint)
                .map(|socket| socket.note)
        });
        if let Some(note) = note {
            shared.record_noted(EventKind::Send, note);
        }
        let (lost, duplicated) = udp_fate(shared, self.endpoint.host, to.host);
        if lost {
            let text = format!(
                "lost a datagram of {} bytes {} -> {}",
                data.len(),
                self.endpoint.label(shared),
                to.label(shared)
            );
            shared.record_note(EventKind::Net, &text);
            return;
        }
        let copies = if duplicated { 2 } else { 1 };
        for _ in 0..copies {
            let payload = Payload::Udp {
                from: self.endpoint,
                to,
                data: data.to_vec(),
            };
            network::send(shared, self.endpoint.host, to.host, payload, 0);
        }
    }

    /// Waits for a datagram; copies it into `buffer` (truncated to its length) and
    /// returns its length and sender.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a datagram is taken from the queue only when returned.
    pub async fn recv_from(&self, buffer: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        std::future::poll_fn(|cx| self.poll_recv_from(cx, buffer)).await
    }

    /// Polls for a datagram (see [`UdpSocket::recv_from`]).
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buffer: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        context::with_current("seedloop::net::UdpSocket::recv_from", |shared| {
            if shared.run_id() != self.run_id {
                return Poll::Ready(Err(stale()));
            }
            let peer = self.peer.get();
            with_network(shared, |network| {
                let Some(socket) = network.udp_sockets.get_mut(&self.endpoint) else {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::NotConnected,
                        "the socket's host crashed",
                    )));
                };
                // A connected socket receives only from its peer.
                socket
                    .queue
                    .retain(|(from, _)| peer.is_none_or(|peer| *from == peer));
                match socket.queue.pop_front() {
                    Some((from, data)) => {
                        let count = data.len().min(buffer.len());
                        buffer[..count].copy_from_slice(&data[..count]);
                        Poll::Ready(Ok((count, from.socket_addr())))
                    }
                    None => {
                        shared.register_wakeup(&mut socket.receiver, cx.waker());
                        shared.set_waiting(Waiting::Io(IoWait::Receive, socket.note));
                        Poll::Pending
                    }
                }
            })
        })
    }

    /// Sets the default destination of [`UdpSocket::send`], and receives only from it.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it completes at its first poll.
    pub async fn connect(&self, address: impl ToAddress) -> io::Result<()> {
        let address = address.to_address();
        context::with_current("seedloop::net::UdpSocket::connect", |shared| {
            self.peer.set(Some(resolve(shared, &address)?));
            Ok(())
        })
    }

    /// Sends to the connected peer.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it completes at its first poll.
    pub async fn send(&self, data: &[u8]) -> io::Result<usize> {
        let peer = self.peer.get().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotConnected,
                "send on an unconnected socket: call connect first",
            )
        })?;
        context::with_current("seedloop::net::UdpSocket::send", |shared| {
            self.send_datagram(shared, peer, data);
        });
        Ok(data.len())
    }

    /// Receives from the connected peer.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, like [`UdpSocket::recv_from`].
    pub async fn recv(&self, buffer: &mut [u8]) -> io::Result<usize> {
        if self.peer.get().is_none() {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "recv on an unconnected socket: call connect first",
            ));
        }
        self.recv_from(buffer).await.map(|(count, _)| count)
    }
}

impl Drop for UdpSocket {
    fn drop(&mut self) {
        context::try_with_current(|shared| {
            if shared.run_id() != self.run_id {
                return;
            }
            with_network(shared, |network| {
                if network.udp_sockets.remove(&self.endpoint).is_some() {
                    network.release_port(self.endpoint);
                    network.close_socket();
                }
            });
        });
    }
}
