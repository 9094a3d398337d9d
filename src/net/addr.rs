//! Addresses: a host's name is its address, and every host also has an IPv4 address
//! (`10.0.0.1` for `main`, then `10.0.0.2`, ... in creation order), so that
//! `std::net::SocketAddr` works for peers and local addresses. `0.0.0.0`,
//! `127.0.0.1` and `localhost` mean the current host.

use crate::runtime::executor::Shared;
use crate::runtime::world::HostId;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The first port handed out for a bind to port 0 or an outgoing connection.
pub(crate) const FIRST_EPHEMERAL_PORT: u16 = 49152;

/// A host and a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Endpoint {
    pub host: HostId,
    pub port: u16,
}

impl Endpoint {
    /// The endpoint as a socket address.
    pub(crate) fn socket_addr(self) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(host_ip(self.host)), self.port)
    }

    /// `db:80`, for traces.
    pub(crate) fn label(self, shared: &Shared) -> String {
        format!("{}:{}", shared.host_name(self.host), self.port)
    }
}

/// The IPv4 address of a host.
pub(crate) fn host_ip(host: HostId) -> Ipv4Addr {
    let number = host + 1;
    Ipv4Addr::new(10, (number >> 16) as u8, (number >> 8) as u8, number as u8)
}

pub(crate) fn host_of_ip(ip: Ipv4Addr) -> Option<HostId> {
    let [first, a, b, c] = ip.octets();
    if first != 10 {
        return None;
    }
    let number = (a as u32) << 16 | (b as u32) << 8 | c as u32;
    number.checked_sub(1)
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// Resolves `host:port` (a host name, `localhost`, or an IPv4 address) in the current
/// simulation. An unknown host name is an error of kind `NotFound` naming it.
pub(crate) fn resolve(shared: &Shared, address: &str) -> io::Result<Endpoint> {
    let (host, port) = address.rsplit_once(':').ok_or_else(|| {
        invalid(format!(
            "`{address}` is not an address: write host:port, e.g. \"db:80\""
        ))
    })?;
    let port: u16 = port
        .parse()
        .map_err(|_| invalid(format!("`{port}` in `{address}` is not a port number")))?;
    let host = match host {
        "localhost" | "0.0.0.0" | "127.0.0.1" => shared.current_host(),
        _ => match host.parse::<Ipv4Addr>() {
            Ok(ip) => host_of_ip(ip)
                .filter(|host| (*host as usize) < shared.host_count())
                .ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::NotFound,
                        format!("no host has the address {ip}"),
                    )
                })?,
            Err(_) => shared.find_host(host).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("no host is named `{host}`: create it with seedloop::net::Host::new(\"{host}\")"),
                )
            })?,
        },
    };
    Ok(Endpoint { host, port })
}

/// Something that names a socket address: `"db:80"`, a `SocketAddr`, or
/// `(name, port)`.
///
/// # Examples
///
/// ```
/// use seedloop::net::{Host, TcpListener};
/// seedloop::Sim::new(0)
///     .run(async {
///         let listener = TcpListener::bind(("0.0.0.0", 8080)).await.unwrap();
///         let address = listener.local_addr().unwrap();
///         assert_eq!(address.to_string(), "10.0.0.1:8080");
///         drop(TcpListener::bind(address).await.unwrap_err());
///     })
///     .unwrap();
/// ```
pub trait ToAddress {
    /// The address as `host:port` text.
    fn to_address(&self) -> String;
}

impl ToAddress for &str {
    fn to_address(&self) -> String {
        self.to_string()
    }
}

impl ToAddress for String {
    fn to_address(&self) -> String {
        self.clone()
    }
}

impl ToAddress for SocketAddr {
    fn to_address(&self) -> String {
        self.to_string()
    }
}

impl ToAddress for &String {
    fn to_address(&self) -> String {
        self.to_string()
    }
}

impl ToAddress for (&str, u16) {
    fn to_address(&self) -> String {
        format!("{}:{}", self.0, self.1)
    }
}

impl ToAddress for (String, u16) {
    fn to_address(&self) -> String {
        format!("{}:{}", self.0, self.1)
    }
}

impl ToAddress for (std::net::Ipv4Addr, u16) {
    fn to_address(&self) -> String {
        format!("{}:{}", self.0, self.1)
    }
}

impl ToAddress for std::net::SocketAddrV4 {
    fn to_address(&self) -> String {
        self.to_string()
    }
}
