//! [`TcpStream`]: one end of a connection, a `futures::io::{AsyncRead, AsyncWrite}`.

use super::listener::stale;
use super::{io_error, note_of, send_segment, Connection, End, Phase, Segment, SEGMENT_BYTES};
use crate::net::addr::{resolve, Endpoint, ToAddress};
use crate::net::network::{with_network, SpareBuffers, Wakes};
use crate::runtime::context;
use crate::runtime::executor::{IoWait, Shared, Waiting};
use crate::runtime::waker::Wakeup;
use crate::trace::EventKind;
use futures::io::{AsyncRead, AsyncWrite};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A TCP connection between two hosts (asyncio's `open_connection`), a
/// `futures::io::{AsyncRead, AsyncWrite}`.
///
/// `close()` (from `AsyncWriteExt`) closes the write half only, as `shutdown(Write)`
/// does: the peer reads end of stream and may still answer. Dropping the stream closes
/// it whole.
///
/// # Examples
///
/// ```
/// use futures::io::{AsyncReadExt, AsyncWriteExt};
/// use seedloop::net::{Host, TcpListener, TcpStream};
///
/// seedloop::Sim::new(4)
///     .run(async {
///         let db = Host::new("db");
///         let server = db.spawn(async {
///             let listener = TcpListener::bind("0.0.0.0:5432").await.unwrap();
///             let (mut stream, _) = listener.accept().await.unwrap();
///             let mut request = String::new();
///             stream.read_to_string(&mut request).await.unwrap(); // until the client closes
///             request
///         });
///         seedloop::yield_now().await;
///         let mut client = TcpStream::connect("db:5432").await.unwrap();
///         client.write_all(b"SELECT 1").await.unwrap();
///         client.close().await.unwrap();
///         assert_eq!(server.await.unwrap(), "SELECT 1");
///     })
///     .unwrap();
/// ```
#[derive(Debug)]
pub struct TcpStream {
    connection: usize,
    end: usize,
    run_id: u64,
}

impl TcpStream {
    /// The accepting end of `connection`.
    pub(super) fn accepted(connection: usize, run_id: u64) -> TcpStream {
        TcpStream {
            connection,
            end: 1,
            run_id,
        }
    }

    /// Connects to `address` (`"db:80"`).
    ///
    /// # Errors
    ///
    /// `ConnectionRefused` when nothing listens there, `TimedOut` when no answer comes
    /// within the connect timeout (a partition, a host that is down), `NotFound` for an
    /// unknown host name.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe in that nothing leaks: a dropped connect abandons the connection,
    /// and an acceptance that arrives later is answered with a reset.
    ///
    /// # Panics
    ///
    /// Outside a simulation.
    pub async fn connect(address: impl ToAddress) -> io::Result<TcpStream> {
        let address = address.to_address();
        let stream = context::with_current("seedloop::net::TcpStream::connect", |shared| {
            open(shared, &address)
        })?;
        let timeout = context::with_current("seedloop::net::TcpStream::connect", |shared| {
            shared.net_config().connect_timeout
        });
        let outcome = crate::time::timeout(
            timeout,
            std::future::poll_fn(|cx| stream.poll_connected(cx)),
        )
        .await;
        match outcome {
            Ok(Ok(())) => Ok(stream),
            Ok(Err(error)) => Err(error),
            Err(_) => {
                stream.set_phase(Phase::TimedOut);
                context::with_current("seedloop::net::TcpStream::connect", |shared| {
                    if let Some(note) = note_of(shared, stream.connection) {
                        let text = format!("connect timed out: {}", shared.note_text(note));
                        shared.record_note(EventKind::Net, &text);
                    }
                });
                Err(io_error(
                    io::ErrorKind::TimedOut,
                    "connect timed out: no answer (a partition, or a host that is down)",
                ))
            }
        }
    }

    fn poll_connected(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        context::with_current("seedloop::net::TcpStream::connect", |shared| {
            with_network(shared, |network| {
                let Some(connection) = network.connection(self.connection) else {
                    return Poll::Ready(Err(stale()));
                };
                match connection.phase {
                    Phase::Established => Poll::Ready(Ok(())),
                    Phase::Refused => Poll::Ready(Err(io_error(
                        io::ErrorKind::ConnectionRefused,
                        "connection refused: nothing listens at that address",
                    ))),
                    Phase::TimedOut => {
                        Poll::Ready(Err(io_error(io::ErrorKind::TimedOut, "connect timed out")))
                    }
                    Phase::Connecting => {
                        shared.register_wakeup(&mut connection.connector, cx.waker());
                        shared.set_waiting(Waiting::Io(IoWait::Connect, connection.note));
                        Poll::Pending
                    }
                }
            })
        })
    }

    fn set_phase(&self, phase: Phase) {
        context::try_with_current(|shared| {
            with_network(shared, |network| {
                if let Some(connection) = network.connection(self.connection) {
                    connection.phase = phase;
                }
            })
        });
    }

    /// This end's address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.endpoint_of(self.end)
    }

    /// The other end's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.endpoint_of(1 - self.end)
    }

    fn endpoint_of(&self, end: usize) -> io::Result<SocketAddr> {
        context::with_current("seedloop::net::TcpStream::local_addr", |shared| {
            with_network(shared, |network| {
                network
                    .connection(self.connection)
                    .map(|connection| connection.ends[end].endpoint.socket_addr())
                    .ok_or_else(stale)
            })
        })
    }

    fn with_end<R>(
        &self,
        shared: &Shared,
        f: impl FnOnce(&mut Connection, &mut Wakes, &mut SpareBuffers) -> R,
    ) -> Option<R> {
        if shared.run_id() != self.run_id {
            return None;
        }
        let mut wakers = Wakes::default();
        let result = with_network(shared, |network| {
            network
                .connection_and_spares(self.connection)
                .map(|(connection, spares)| f(connection, &mut wakers, spares))
        });
        wakers.wake(shared);
        result
    }
}

/// Opens the connecting end of a connection to `address` and sends the request.
fn open(shared: &Shared, address: &str) -> io::Result<TcpStream> {
    let remote = resolve(shared, address)?;
    let host = shared.current_host();
    let local = with_network(shared, |network| -> io::Result<Endpoint> {
        let port = network.take_port(host, 0)?;
        let local = Endpoint { host, port };
        if let Err(error) = network.open_socket(shared) {
            network.release_port(local);
            return Err(error);
        }
        Ok(local)
    })?;
    let index = with_network(shared, |network| network.connections.len());
    let label = format!(
        "connection {index} ({} -> {})",
        local.label(shared),
        remote.label(shared)
    );
    shared.record_note(EventKind::Net, &format!("connect: {label}"));
    // The notes the connection's later events name.
    let note = shared.add_note(&label);
    let (near, far) = (local.label(shared), remote.label(shared));
    let directions = [
        shared.add_note(&format!("connection {index} {near} -> {far}")),
        shared.add_note(&format!("connection {index} {far} -> {near}")),
    ];
    let connection = with_network(shared, |network| {
        network.add_connection(Connection {
            ends: [End::new(local), End::new(remote)],
            phase: Phase::Connecting,
            connector: Wakeup::None,
            note,
            directions,
        })
    });
    debug_assert_eq!(connection, index, "connections are numbered in order");
    send_segment(shared, connection, 0, Segment::Connect);
    Ok(TcpStream {
        connection,
        end: 0,
        run_id: shared.run_id(),
    })
}

impl AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buffer: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = &*self;
        context::with_current("seedloop::net::TcpStream::poll_read", |shared| {
            let polled = this.with_end(shared, |connection, wakers, spares| {
                let note = connection.note;
                let [first, second] = &mut connection.ends;
                let (end, peer) = if this.end == 0 {
                    (first, second)
                } else {
                    (second, first)
                };
                if !end.received.is_empty() {
                    let count = end.received.read(buffer, spares);
                    peer.unread_by_peer -= count;
                    wakers.push(peer.writer.take());
                    return Poll::Ready(Ok(count));
                }
                if end.reset {
                    return Poll::Ready(Err(io_error(
                        io::ErrorKind::ConnectionReset,
                        "connection reset by peer (its host crashed, its stream was gone, or it reset the connection)",
                    )));
                }
                if end.ended || buffer.is_empty() {
                    return Poll::Ready(Ok(0));
                }
                shared.register_wakeup(&mut end.reader, cx.waker());
                shared.set_waiting(Waiting::Io(IoWait::Read, note));
                Poll::Pending
            });
            polled.unwrap_or_else(|| Poll::Ready(Err(stale())))
        })
    }
}

impl AsyncWrite for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buffer: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &*self;
        context::with_current("seedloop::net::TcpStream::poll_write", |shared| {
            let window = shared.net_config().window_bytes;
            let allowed = this.with_end(shared, |connection, _, _| {
                let note = connection.directions[this.end];
                let end = &mut connection.ends[this.end];
                if end.reset {
                    return Err(io_error(
                        io::ErrorKind::ConnectionReset,
                        "connection reset by peer",
                    ));
                }
                if end.closed {
                    return Err(io_error(
                        io::ErrorKind::BrokenPipe,
                        "write after the stream was closed",
                    ));
                }
                if connection.phase != Phase::Established {
                    return Err(io_error(io::ErrorKind::NotConnected, "not connected"));
                }
                let free = window.saturating_sub(end.unread_by_peer);
                if free == 0 && !buffer.is_empty() {
                    shared.register_wakeup(&mut end.writer, cx.waker());
                    shared.set_waiting(Waiting::Io(IoWait::Write, note));
                    return Ok(None);
                }
                let count = free.min(buffer.len());
                end.unread_by_peer += count;
                let first = end.next_sequence;
                end.next_sequence += count.div_ceil(SEGMENT_BYTES) as u64;
                Ok(Some((count, note, first)))
            });
            let (count, note, first) = match allowed {
                None => return Poll::Ready(Err(stale())),
                Some(Err(error)) => return Poll::Ready(Err(error)),
                Some(Ok(None)) => return Poll::Pending,
                Some(Ok(Some(allowed))) => allowed,
            };
            with_network(shared, |network| {
                for (index, chunk) in buffer[..count].chunks(SEGMENT_BYTES).enumerate() {
                    shared.record_noted(EventKind::Send, note);
                    let mut bytes = network.buffer();
                    bytes.extend_from_slice(chunk);
                    let segment = Segment::Data(first + index as u64, bytes);
                    network.send_segment(shared, this.connection, this.end, segment);
                }
            });
            Poll::Ready(Ok(count))
        })
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Closes the write half: the peer reads the data sent so far, then end of stream.
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &*self;
        context::with_current("seedloop::net::TcpStream::poll_close", |shared| {
            this.close_write(shared);
        });
        Poll::Ready(Ok(()))
    }
}

impl TcpStream {
    /// Aborts the connection (a close with `SO_LINGER` 0): no end of stream is sent
    /// but a reset, so the peer reads the data sent before it, then `ConnectionReset`,
    /// and its writes fail with `ConnectionReset`. A fake service fails a request so.
    pub(crate) fn reset(self) {
        context::try_with_current(|shared| {
            let send = self
                .with_end(shared, |connection, _, _| {
                    let end = &mut connection.ends[self.end];
                    // Marked reset, the drop below sends no end of stream.
                    let send = !end.reset && connection.phase == Phase::Established;
                    end.reset = true;
                    send
                })
                .unwrap_or(false);
            if send {
                send_segment(shared, self.connection, self.end, Segment::Reset);
            }
        });
    }

    /// Sends the end of stream once.
    fn close_write(&self, shared: &Shared) {
        let send = self
            .with_end(shared, |connection, _, _| {
                let end = &mut connection.ends[self.end];
                let send = !end.closed && !end.reset && connection.phase == Phase::Established;
                end.closed = true;
                let sequence = end.next_sequence;
                end.next_sequence += 1;
                send.then_some((connection.note, sequence))
            })
            .flatten();
        if let Some((note, sequence)) = send {
            let text = format!("closed the write half of {}", shared.note_text(note));
            shared.record_note(EventKind::Net, &text);
            send_segment(shared, self.connection, self.end, Segment::End(sequence));
        }
    }
}

impl Drop for TcpStream {
    fn drop(&mut self) {
        context::try_with_current(|shared| {
            if shared.run_id() != self.run_id {
                return;
            }
            self.close_write(shared);
            let (endpoint, both_gone) = with_network(shared, |network| {
                let Some(connection) = network.connection(self.connection) else {
                    return (None, false);
                };
                let end = &mut connection.ends[self.end];
                let first_drop = !end.gone;
                end.gone = true;
                let endpoint = first_drop.then_some(end.endpoint);
                (endpoint, connection.ends.iter().all(|end| end.gone))
            });
            with_network(shared, |network| {
                if let Some(endpoint) = endpoint {
                    if self.end == 0 {
                        network.release_port(endpoint);
                    }
                    network.close_socket();
                }
                if both_gone {
                    network.remove_connection(self.connection);
                }
            });
        });
    }
}
