//! The simulated network: [`Host`]s (simulated machines), TCP ([`TcpListener`],
//! [`TcpStream`]) and UDP ([`UdpSocket`]) between them, faults on the links
//! ([`partition`], [`heal`], [`clog`]), and fake external services ([`FakeService`],
//! [`ServiceClient`]).
//!
//! Nothing here touches a real socket: a simulated bind of port 80 needs no privilege
//! and opens nothing. A host's name is its address (`db:80`); every message between
//! hosts is delayed by a latency drawn from the network's own stream of choices, so a
//! seed replays the same deliveries. The conditions ([`NetConfig`]) are part of the
//! run's [`crate::Config`]. Every connect, accept, close, reset, send, delivery, drop,
//! partition, crash and restart is a trace event.
//!
//! | asyncio | tokio | seedloop |
//! |---|---|---|
//! | `asyncio.start_server` | `TcpListener::bind` + `accept` | [`TcpListener::bind`] + [`TcpListener::accept`] |
//! | `asyncio.open_connection` | `TcpStream::connect` | [`TcpStream::connect`] |
//! | `StreamReader.read` / `StreamWriter.write` | `AsyncReadExt` / `AsyncWriteExt` | `futures::io::{AsyncReadExt, AsyncWriteExt}` |
//! | `loop.create_datagram_endpoint` | `UdpSocket::bind` | [`UdpSocket::bind`] |

mod addr;
mod faults;
mod host;
pub(crate) mod network;
mod service;
mod tcp;
mod udp;

pub use crate::config::{LinkConfig, NetConfig};
pub use addr::ToAddress;
pub use faults::{clog, heal, heal_one_way, partition, partition_one_way, unclog};
pub use host::Host;
pub use service::{FakeService, ServiceClient, MAX_FRAME_BYTES};
pub use tcp::{TcpListener, TcpStream};
pub use udp::UdpSocket;
