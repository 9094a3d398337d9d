//! [`TcpListener`]: a bound port's queue of connections, accepted one at a time.

use super::stream::TcpStream;
use super::{io_error, note_of, send_segment, ListenerState, Segment};
use crate::net::addr::{resolve, Endpoint, ToAddress};
use crate::net::network::{with_network, Network};
use crate::runtime::context;
use crate::runtime::executor::{IoWait, Shared, Waiting};
use crate::runtime::world::HostId;
use crate::trace::EventKind;
use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};

/// A socket that accepts TCP connections (asyncio's `start_server`).
///
/// A listener binds to the host of the task that binds it. To be sure a server
/// listens before its clients connect, bind on the server's host and wait for it, then
/// hand the listener to the accept loop:
///
/// ```
/// use seedloop::net::{Host, TcpListener, TcpStream};
/// seedloop::Sim::new(0)
///     .run(async {
///         let db = Host::new("db");
///         let listener = db.spawn(TcpListener::bind("0.0.0.0:80")).await.unwrap().unwrap();
///         let _server = db.spawn(async move {
///             loop {
///                 drop(listener.accept().await.unwrap());
///             }
///         });
///         assert!(TcpStream::connect("db:80").await.is_ok(), "it listens already");
///     })
///     .unwrap();
/// ```
///
/// # Examples
///
/// ```
/// use futures::io::{AsyncReadExt, AsyncWriteExt};
/// use seedloop::net::{Host, TcpListener, TcpStream};
///
/// seedloop::Sim::new(0)
///     .run(async {
///         let server = Host::new("server");
///         let echo = server.spawn(async {
///             let listener = TcpListener::bind("0.0.0.0:7").await.unwrap();
///             let (mut stream, _peer) = listener.accept().await.unwrap();
///             let mut buffer = [0; 5];
///             stream.read_exact(&mut buffer).await.unwrap();
///             stream.write_all(&buffer).await.unwrap();
///         });
///         seedloop::yield_now().await;
///         let mut stream = TcpStream::connect("server:7").await.unwrap();
///         stream.write_all(b"hello").await.unwrap();
///         let mut reply = [0; 5];
///         stream.read_exact(&mut reply).await.unwrap();
///         assert_eq!(&reply, b"hello");
///         echo.await.unwrap();
///     })
///     .unwrap();
/// ```
#[derive(Debug)]
pub struct TcpListener {
    endpoint: Endpoint,
    run_id: u64,
}

impl TcpListener {
    /// Listens on `address` of the current host (`0.0.0.0:80`, `localhost:80`, or the
    /// host's own name; port 0 picks a free port).
    ///
    /// # Errors
    ///
    /// `AddrInUse` when the port is taken, `AddrNotAvailable` for another host's
    /// address, `InvalidInput` or `NotFound` for an address that names nothing.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it completes at its first poll.
    ///
    /// # Panics
    ///
    /// Outside a simulation.
    pub async fn bind(address: impl ToAddress) -> io::Result<TcpListener> {
        let address = address.to_address();
        context::with_current("seedloop::net::TcpListener::bind", |shared| {
            let endpoint = resolve(shared, &address)?;
            if endpoint.host != shared.current_host() {
                return Err(io_error(
                    io::ErrorKind::AddrNotAvailable,
                    "a listener binds to its own host's address",
                ));
            }
            TcpListener::bind_endpoint(shared, endpoint)
        })
    }

    /// Listens on `port` of `host`, whichever host the calling task is on: a service
    /// started for a host from outside it (`net::FakeService`) listens at once.
    pub(crate) fn bind_on(shared: &Shared, host: HostId, port: u16) -> io::Result<TcpListener> {
        TcpListener::bind_endpoint(shared, Endpoint { host, port })
    }

    fn bind_endpoint(shared: &Shared, endpoint: Endpoint) -> io::Result<TcpListener> {
        let endpoint = with_network(shared, |network| -> io::Result<Endpoint> {
            let port = network.take_port(endpoint.host, endpoint.port)?;
            if let Err(error) = network.open_socket(shared) {
                network.release_port(Endpoint { port, ..endpoint });
                return Err(error);
            }
            Ok(Endpoint { port, ..endpoint })
        })?;
        let note = shared.record_note(
            EventKind::Net,
            &format!("listening on {}", endpoint.label(shared)),
        );
        with_network(shared, |network| {
            network.listeners.insert(
                endpoint,
                ListenerState {
                    note,
                    ..ListenerState::default()
                },
            )
        });
        Ok(TcpListener {
            endpoint,
            run_id: shared.run_id(),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.endpoint.socket_addr())
    }

    /// Waits for a connection; returns it and the peer's address.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a connection is taken from the queue only when `accept` returns it.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a connection (see [`TcpListener::accept`]).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        context::with_current("seedloop::net::TcpListener::accept", |shared| {
            if shared.run_id() != self.run_id {
                return Poll::Ready(Err(stale()));
            }
            let accepted = with_network(shared, |network| {
                let Some(listener) = network.listeners.get_mut(&self.endpoint) else {
                    return Some(Err(io_error(
                        io::ErrorKind::ConnectionAborted,
                        "the listener's host crashed",
                    )));
                };
                match listener.queue.pop_front() {
                    Some(connection) => {
                        let peer = network.connection(connection)?.ends[0].endpoint;
                        Some(Ok((connection, peer)))
                    }
                    None => {
                        shared.register_wakeup(&mut listener.acceptor, cx.waker());
                        shared.set_waiting(Waiting::Io(IoWait::Accept, listener.note));
                        None
                    }
                }
            });
            match accepted {
                None => Poll::Pending,
                Some(Err(error)) => Poll::Ready(Err(error)),
                Some(Ok((connection, peer))) => {
                    if let Err(error) = with_network(shared, |network| network.open_socket(shared))
                    {
                        send_segment(shared, connection, 1, Segment::Reset);
                        return Poll::Ready(Err(error));
                    }
                    if let Some(note) = note_of(shared, connection) {
                        let text = format!("accepted {}", shared.note_text(note));
                        shared.record_note(EventKind::Net, &text);
                    }
                    let stream = TcpStream::accepted(connection, self.run_id);
                    Poll::Ready(Ok((stream, peer.socket_addr())))
                }
            }
        })
    }
}

pub(super) fn stale() -> io::Error {
    io_error(
        io::ErrorKind::NotConnected,
        "this socket belongs to an earlier run of the simulation",
    )
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        context::try_with_current(|shared| {
            if shared.run_id() != self.run_id {
                return;
            }
            let queued = with_network(shared, |network: &mut Network| {
                let listener = network.listeners.remove(&self.endpoint)?;
                network.release_port(self.endpoint);
                network.close_socket();
                Some(listener.queue)
            });
            for connection in queued.into_iter().flatten() {
                send_segment(shared, connection, 1, Segment::Reset);
            }
        });
    }
}
