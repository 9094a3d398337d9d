//! `tokio::net` on the simulated network: `TcpListener`, `TcpStream` (with `split`
//! and `into_split`), `UdpSocket`, `lookup_host`.
//!
//! Addresses are host names of the simulation (`"db:5432"`, `("db", 5432)`) or the
//! addresses those resolve to; `0.0.0.0` and `localhost` are the current host. Every
//! socket is simulated: nothing binds a real port. A stream implements tokio's
//! `AsyncRead` and `AsyncWrite`, so `tokio::io::{AsyncReadExt, AsyncWriteExt,
//! BufReader, ...}` work on it as on a real one.

use crate::io_adapter::tokio_io;
use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::task::{Context, Poll};

/// An address the simulated network resolves: `"host:port"`, `(host, port)`, or a
/// `SocketAddr` (tokio's `ToSocketAddrs`).
pub trait ToSocketAddrs: seedloop::net::ToAddress {}

impl<T: seedloop::net::ToAddress> ToSocketAddrs for T {}

/// Resolves `address` (tokio's `lookup_host`): a simulated host's name gives its
/// address.
///
/// # Errors
///
/// `NotFound` when no host has that name.
///
/// Cancel safety: cancel safe.
pub async fn lookup_host(
    address: impl ToSocketAddrs,
) -> io::Result<impl Iterator<Item = SocketAddr>> {
    let text = address.to_address();
    let (host, port) = text.rsplit_once(':').ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{text}: expected host:port"),
        )
    })?;
    let port: u16 = port.parse().map_err(|_| {
        io::Error::new(io::ErrorKind::InvalidInput, format!("{text}: invalid port"))
    })?;
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(std::iter::once(SocketAddr::new(ip, port)));
    }
    let host = seedloop::net::Host::lookup(host).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("{host}: no simulated host has this name"),
        )
    })?;
    Ok(std::iter::once(SocketAddr::new(host.ip().into(), port)))
}

/// A listening socket (tokio's `TcpListener`).
#[derive(Debug)]
pub struct TcpListener {
    inner: seedloop::net::TcpListener,
}

impl TcpListener {
    /// Listens on `address` of the current host.
    ///
    /// Cancel safety: cancel safe.
    pub async fn bind(address: impl ToSocketAddrs) -> io::Result<TcpListener> {
        Ok(TcpListener {
            inner: seedloop::net::TcpListener::bind(address).await?,
        })
    }

    /// Waits for a connection.
    ///
    /// Cancel safety: cancel safe: a connection not returned stays queued.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, peer) = self.inner.accept().await?;
        Ok((TcpStream::new(stream), peer))
    }

    /// Polls for a connection.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        self.inner
            .poll_accept(cx)
            .map(|result| result.map(|(stream, peer)| (TcpStream::new(stream), peer)))
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

type Shared = Rc<RefCell<seedloop::net::TcpStream>>;

/// A TCP connection (tokio's `TcpStream`).
#[derive(Debug)]
pub struct TcpStream {
    inner: Shared,
}

impl TcpStream {
    fn new(stream: seedloop::net::TcpStream) -> TcpStream {
        TcpStream {
            inner: Rc::new(RefCell::new(stream)),
        }
    }

    /// Connects to `address`.
    ///
    /// Cancel safety: cancel safe (a connection made meanwhile is closed).
    pub async fn connect(address: impl ToSocketAddrs) -> io::Result<TcpStream> {
        Ok(TcpStream::new(
            seedloop::net::TcpStream::connect(address).await?,
        ))
    }

    /// This end's address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.borrow().local_addr()
    }

    /// The other end's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.borrow().peer_addr()
    }

    /// Accepted and ignored: the simulated network has no Nagle delay.
    pub fn set_nodelay(&self, _nodelay: bool) -> io::Result<()> {
        Ok(())
    }

    /// Always true (see [`TcpStream::set_nodelay`]).
    pub fn nodelay(&self) -> io::Result<bool> {
        Ok(true)
    }

    /// Borrowed read and write halves.
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        (
            ReadHalf { inner: &self.inner },
            WriteHalf { inner: &self.inner },
        )
    }

    /// Owned read and write halves; dropping the write half closes the write
    /// direction, as tokio's does.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        (
            OwnedReadHalf {
                inner: self.inner.clone(),
            },
            OwnedWriteHalf {
                inner: self.inner,
                shut_down: false,
            },
        )
    }
}

tokio_io!(TcpStream, |this| this.inner.borrow_mut());

/// Re-exports for `tokio::net::tcp`.
pub mod tcp {
    pub use super::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
}

/// The read half of [`TcpStream::split`].
#[derive(Debug)]
pub struct ReadHalf<'a> {
    inner: &'a RefCell<seedloop::net::TcpStream>,
}

/// The write half of [`TcpStream::split`].
#[derive(Debug)]
pub struct WriteHalf<'a> {
    inner: &'a RefCell<seedloop::net::TcpStream>,
}

tokio_io!(ReadHalf<'_>, |this| this.inner.borrow_mut());
tokio_io!(WriteHalf<'_>, |this| this.inner.borrow_mut());

/// The read half of [`TcpStream::into_split`].
#[derive(Debug)]
pub struct OwnedReadHalf {
    inner: Shared,
}

/// The write half of [`TcpStream::into_split`]; dropping it closes the write
/// direction (the peer reads end of stream).
#[derive(Debug)]
pub struct OwnedWriteHalf {
    inner: Shared,
    shut_down: bool,
}

tokio_io!(OwnedReadHalf, |this| this.inner.borrow_mut());
tokio_io!(OwnedWriteHalf, |this| this.inner.borrow_mut());

/// Two halves that are not of the same stream (tokio's `ReuniteError`).
#[derive(Debug)]
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

impl std::fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("tried to reunite halves that are not from the same socket")
    }
}

impl std::error::Error for ReuniteError {}

impl OwnedReadHalf {
    /// The stream again, from its two halves.
    pub fn reunite(self, write: OwnedWriteHalf) -> Result<TcpStream, ReuniteError> {
        if !Rc::ptr_eq(&self.inner, &write.inner) {
            return Err(ReuniteError(self, write));
        }
        let mut write = write;
        write.shut_down = true; // reunited: its drop must not close the stream
        Ok(TcpStream {
            inner: self.inner.clone(),
        })
    }

    /// The other end's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.borrow().peer_addr()
    }

    /// This end's address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.borrow().local_addr()
    }
}

impl OwnedWriteHalf {
    /// The other end's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.borrow().peer_addr()
    }

    /// This end's address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.borrow().local_addr()
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        if self.shut_down {
            return;
        }
        // Closing the write direction of a simulated stream completes at once.
        let mut context = Context::from_waker(std::task::Waker::noop());
        if let Ok(mut stream) = self.inner.try_borrow_mut() {
            let _ = crate::io_adapter::poll_shutdown(&mut *stream, &mut context);
        }
    }
}

/// A UDP socket (tokio's `UdpSocket`).
#[derive(Debug)]
pub struct UdpSocket {
    inner: seedloop::net::UdpSocket,
}

impl UdpSocket {
    /// Binds `address` on the current host.
    ///
    /// Cancel safety: cancel safe.
    pub async fn bind(address: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            inner: seedloop::net::UdpSocket::bind(address).await?,
        })
    }

    /// Its address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// Sends a datagram to `target`.
    ///
    /// Cancel safety: cancel safe.
    pub async fn send_to(&self, data: &[u8], target: impl ToSocketAddrs) -> io::Result<usize> {
        self.inner.send_to(data, target).await
    }

    /// Waits for a datagram.
    ///
    /// Cancel safety: cancel safe.
    pub async fn recv_from(&self, buffer: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.recv_from(buffer).await
    }

    /// Sends to and receives from `address` only.
    ///
    /// Cancel safety: cancel safe.
    pub async fn connect(&self, address: impl ToSocketAddrs) -> io::Result<()> {
        self.inner.connect(address).await
    }

    /// Sends to the connected address.
    ///
    /// Cancel safety: cancel safe.
    pub async fn send(&self, data: &[u8]) -> io::Result<usize> {
        self.inner.send(data).await
    }

    /// Receives from the connected address.
    ///
    /// Cancel safety: cancel safe.
    pub async fn recv(&self, buffer: &mut [u8]) -> io::Result<usize> {
        self.inner.recv(buffer).await
    }
}
