//! Fake external services: [`FakeService`] puts a request handler on a host, and
//! [`ServiceClient`] calls it, over simulated TCP.
//!
//! A program under test often talks to services it does not own (a database, an HTTP
//! dependency). A fake one is an async closure from a request's bytes to an answer's
//! bytes, served on a port of a simulated host. Requests and answers travel as frames:
//! a 4-byte big-endian length, then that many bytes, at most [`MAX_FRAME_BYTES`].
//!
//! [`FakeService::start`] binds the port at once and spawns the accept loop on the
//! host, a task named `service:PORT`; each connection gets its own task
//! (`service:PORT/connection`) that serves its requests one after the other. For
//! each request the connection's task sleeps a latency drawn from the network's
//! stream of choices, in whole microseconds between the service's minimum and
//! maximum, then may fail the request: with the service's failure rate, drawn from
//! the fault stream, it resets the connection, either before the handler sees the
//! request or after the handler answered (the answer is lost; which one is drawn too).
//! The client cannot tell the two apart, as with a real dependency whose connection
//! drops, so a sweep finds retries that are not idempotent. Decision 0 is the minimum
//! latency and no failure: under [`crate::Policy::Fifo`] and on a tape of zeros a
//! service answers every request after its minimum latency. Each failure is a trace
//! event.
//!
//! The service's tasks belong to its host: a crash drops them and resets their
//! connections, so a client's call fails with `ConnectionReset` instead of hanging.
//! A restart brings the host back without them; start the service from
//! [`Host::on_boot`] to have it come back.

use super::addr::ToAddress;
use super::host::Host;
use super::tcp::{TcpListener, TcpStream};
use crate::choices::Stream;
use crate::runtime::context;
use crate::task::{Builder, JoinHandle};
use crate::trace::EventKind;
use futures::io::{AsyncReadExt, AsyncWriteExt};
use std::future::Future;
use std::io;
use std::rc::Rc;
use std::time::Duration;

/// The largest request or answer, in bytes, a frame carries (gRPC's default message
/// limit).
///
/// # Examples
///
/// ```
/// use seedloop::net::{FakeService, Host, ServiceClient, MAX_FRAME_BYTES};
/// seedloop::Sim::new(0)
///     .run(async {
///         let db = Host::new("db");
///         let _service = FakeService::new()
///             .start(&db, 5432, |request: Vec<u8>| async move { request })
///             .unwrap();
///         let mut client = ServiceClient::connect("db:5432").await.unwrap();
///         let too_large = vec![0; MAX_FRAME_BYTES + 1];
///         let error = client.call(&too_large).await.unwrap_err();
///         assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
///     })
///     .unwrap();
/// ```
pub const MAX_FRAME_BYTES: usize = 4 * 1024 * 1024;

/// A fake external service: its latency and failure rate, to be started on a host
/// with a request handler ([`FakeService::start`]); [`ServiceClient`] calls it.
///
/// By default it adds no latency to the network's and never fails.
///
/// # Examples
///
/// ```
/// use seedloop::net::{FakeService, Host, ServiceClient};
/// use seedloop::time::Instant;
/// use std::time::Duration;
/// seedloop::Sim::new(7)
///     .run(async {
///         let api = Host::new("api");
///         let _service = FakeService::new()
///             .latency(Duration::from_millis(5), Duration::from_millis(50))
///             .start(&api, 80, |request: Vec<u8>| async move {
///                 format!("hello, {}", String::from_utf8_lossy(&request)).into_bytes()
///             })
///             .unwrap();
///         let mut client = ServiceClient::connect("api:80").await.unwrap();
///         let start = Instant::now();
///         assert_eq!(client.call(b"world").await.unwrap(), b"hello, world");
///         assert!(start.elapsed() >= Duration::from_millis(5));
///     })
///     .unwrap();
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FakeService {
    latency_min: Duration,
    latency_max: Duration,
    failure_rate: f64,
}

impl Default for FakeService {
    fn default() -> FakeService {
        FakeService {
            latency_min: Duration::ZERO,
            latency_max: Duration::ZERO,
            failure_rate: 0.0,
        }
    }
}

/// How an injected failure meets the handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum InjectedFailure {
    BeforeHandler,
    AfterHandler,
}

impl FakeService {
    /// A service with no latency of its own and no failures.
    pub fn new() -> FakeService {
        FakeService::default()
    }

    /// How long the service takes to handle each request, on top of the network's
    /// latency: drawn between `min` and `max` in whole microseconds, from the
    /// network's stream of choices (decision 0 is `min`).
    ///
    /// ```
    /// use seedloop::net::FakeService;
    /// use std::time::Duration;
    /// let _slow = FakeService::new().latency(Duration::from_millis(10), Duration::from_millis(200));
    /// ```
    ///
    /// # Panics
    ///
    /// When `min > max`.
    #[track_caller]
    pub fn latency(mut self, min: Duration, max: Duration) -> FakeService {
        assert!(
            min <= max,
            "FakeService::latency: the minimum ({min:?}) is above the maximum ({max:?})"
        );
        self.latency_min = min;
        self.latency_max = max;
        self
    }

    /// The probability that a request fails: the service resets the connection, before
    /// its handler sees the request or after the handler answered (the answer is
    /// lost), and the client's call fails with `ConnectionReset`. Drawn from the fault
    /// stream of choices; decision 0 never fails, so nothing fails under
    /// [`crate::Policy::Fifo`] whatever the rate.
    ///
    /// ```
    /// use seedloop::net::FakeService;
    /// let _flaky = FakeService::new().failure_rate(0.05);
    /// ```
    ///
    /// # Panics
    ///
    /// When `rate` is not between 0.0 and 1.0.
    #[track_caller]
    pub fn failure_rate(mut self, rate: f64) -> FakeService {
        assert!(
            (0.0..=1.0).contains(&rate),
            "FakeService::failure_rate takes a probability between 0.0 and 1.0, not {rate}"
        );
        self.failure_rate = rate;
        self
    }

    /// Serves `handler` on `port` of `host`: it listens at once, so a client may
    /// connect as soon as this returns, and answers each request with
    /// `handler(request).await`. Returns the handle of the accept loop, a task named
    /// `service:PORT` on `host`: cancelling it stops accepting (connections already
    /// open are still served); dropping it without awaiting it changes nothing.
    ///
    /// The handler runs on `host`. A synchronous one that keeps state in the closure
    /// answers with `std::future::ready(..)`; an async one moves clones of its state
    /// into the future it returns.
    ///
    /// # Errors
    ///
    /// `AddrInUse` when the port is taken on that host.
    ///
    /// # Examples
    ///
    /// A fake key-value store:
    ///
    /// ```
    /// use seedloop::net::{FakeService, Host, ServiceClient};
    /// use std::{cell::RefCell, collections::BTreeMap, rc::Rc};
    /// seedloop::Sim::new(0)
    ///     .run(async {
    ///         let db = Host::new("db");
    ///         let store = Rc::new(RefCell::new(BTreeMap::<Vec<u8>, Vec<u8>>::new()));
    ///         let handler = {
    ///             let store = store.clone();
    ///             // "key=value" stores, "key" reads.
    ///             move |request: Vec<u8>| {
    ///                 let mut store = store.borrow_mut();
    ///                 let answer = match request.iter().position(|byte| *byte == b'=') {
    ///                     Some(at) => {
    ///                         store.insert(request[..at].to_vec(), request[at + 1..].to_vec());
    ///                         b"ok".to_vec()
    ///                     }
    ///                     None => store.get(&request).cloned().unwrap_or_default(),
    ///                 };
    ///                 std::future::ready(answer)
    ///             }
    ///         };
    ///         let _service = FakeService::new().start(&db, 6379, handler).unwrap();
    ///         let mut client = ServiceClient::connect("db:6379").await.unwrap();
    ///         assert_eq!(client.call(b"color=blue").await.unwrap(), b"ok");
    ///         assert_eq!(client.call(b"color").await.unwrap(), b"blue");
    ///         assert_eq!(store.borrow().len(), 1);
    ///     })
    ///     .unwrap();
    /// ```
    ///
    /// To survive crashes, start it from the host's boot task:
    ///
    /// ```
    /// use seedloop::net::{FakeService, Host, ServiceClient};
    /// seedloop::Sim::new(0)
    ///     .run(async {
    ///         let db = Host::new("db");
    ///         db.on_boot({
    ///             let db = db.clone();
    ///             move || {
    ///                 let echo = |request: Vec<u8>| async move { request };
    ///                 drop(FakeService::new().start(&db, 5432, echo).unwrap());
    ///                 async {}
    ///             }
    ///         });
    ///         let mut client = ServiceClient::connect("db:5432").await.unwrap();
    ///         db.crash();
    ///         let error = client.call(b"lost").await.unwrap_err();
    ///         assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset);
    ///         db.restart();
    ///         assert_eq!(client.call(b"back").await.unwrap(), b"back", "it reconnects");
    ///     })
    ///     .unwrap();
    /// ```
    ///
    /// # Panics
    ///
    /// Outside a simulation, and when `host` is down. A task of the service panics
    /// (failing the run) when the handler panics or answers with more than
    /// [`MAX_FRAME_BYTES`].
    #[track_caller]
    pub fn start<H, Fut>(&self, host: &Host, port: u16, handler: H) -> io::Result<JoinHandle<()>>
    where
        H: Fn(Vec<u8>) -> Fut + 'static,
        Fut: Future<Output = Vec<u8>> + 'static,
    {
        let listener = context::with_current("seedloop::net::FakeService::start", |shared| {
            assert!(
                shared.host_is_up(host.id()),
                "cannot start a service on host `{host}`: it is down (crashed); call restart() on its Host first"
            );
            TcpListener::bind_on(shared, host.id(), port)
        })?;
        let name = format!("service:{port}");
        let serving = Serving {
            service: *self,
            handler: Rc::new(handler),
            label: format!("fake service {host}:{port}"),
            connection_name: format!("{name}/connection"),
        };
        let accept_loop = async move {
            // The listener is closed only with its host (a crash drops this task).
            while let Ok((stream, _peer)) = listener.accept().await {
                let serving = serving.clone();
                let name = serving.connection_name.clone();
                drop(Builder::new().name(name).spawn(serving.serve(stream)));
            }
        };
        Ok(Builder::new()
            .name(name)
            .on_host(host.id())
            .spawn(accept_loop))
    }
}

/// What a connection's task needs: the service's settings and its handler.
struct Serving<H> {
    service: FakeService,
    handler: Rc<H>,
    // "fake service db:5432", for trace notes.
    label: String,
    connection_name: String,
}

impl<H> Clone for Serving<H> {
    fn clone(&self) -> Serving<H> {
        Serving {
            service: self.service,
            handler: self.handler.clone(),
            label: self.label.clone(),
            connection_name: self.connection_name.clone(),
        }
    }
}

impl<H, Fut> Serving<H>
where
    H: Fn(Vec<u8>) -> Fut + 'static,
    Fut: Future<Output = Vec<u8>> + 'static,
{
    /// Serves one connection's requests in turn, until the client hangs up.
    async fn serve(self, mut stream: TcpStream) {
        loop {
            // A client that hung up, a reset or a malformed frame ends the connection.
            let Ok(Some(request)) = read_frame(&mut stream).await else {
                return;
            };
            let latency = self.latency();
            if !latency.is_zero() {
                crate::time::sleep(latency).await;
            }
            let failure = self.failure();
            if failure == Some(InjectedFailure::BeforeHandler) {
                self.fail(stream, "before its handler ran");
                return;
            }
            let answer = (self.handler)(request).await;
            if failure == Some(InjectedFailure::AfterHandler) {
                self.fail(stream, "after its handler answered");
                return;
            }
            assert!(
                answer.len() <= MAX_FRAME_BYTES,
                "{}: the handler answered {} bytes, more than a frame carries (seedloop::net::MAX_FRAME_BYTES, {MAX_FRAME_BYTES})",
                self.label,
                answer.len()
            );
            if write_frame(&mut stream, &answer).await.is_err() {
                return;
            }
        }
    }

    /// A latency drawn from the service's range.
    fn latency(&self) -> Duration {
        let FakeService {
            latency_min: min,
            latency_max: max,
            ..
        } = self.service;
        let spread = (max - min).as_micros().min(u64::MAX as u128 - 1) as u64;
        let drawn = context::with_current("seedloop::net::FakeService", |shared| {
            shared.choose(Stream::Network, spread + 1)
        });
        min + Duration::from_micros(drawn)
    }

    /// Whether this request fails, and how; decision 0 is "it does not".
    fn failure(&self) -> Option<InjectedFailure> {
        let rate = self.service.failure_rate;
        if rate == 0.0 {
            return None;
        }
        context::with_current("seedloop::net::FakeService", |shared| {
            // Never decision 0: the production order.
            let fails = shared.chance(Stream::Faults, rate);
            fails.then(|| match shared.choose(Stream::Faults, 2) {
                0 => InjectedFailure::BeforeHandler,
                _ => InjectedFailure::AfterHandler,
            })
        })
    }

    /// Fails the request: a trace note, and a reset of its connection.
    fn fail(&self, stream: TcpStream, when: &str) {
        context::with_current("seedloop::net::FakeService", |shared| {
            let text = format!("{} failed a request {when}: connection reset", self.label);
            shared.record_note(EventKind::Net, &text);
        });
        stream.reset();
    }
}

/// Writes `payload` as one frame.
async fn write_frame(stream: &mut TcpStream, payload: &[u8]) -> io::Result<()> {
    let length = u32::try_from(payload.len()).expect("frames are at most MAX_FRAME_BYTES");
    let mut frame = Vec::with_capacity(4 + payload.len());
    frame.extend_from_slice(&length.to_be_bytes());
    frame.extend_from_slice(payload);
    stream.write_all(&frame).await
}

/// Reads one frame; `None` when the stream ends before its first byte.
async fn read_frame(stream: &mut TcpStream) -> io::Result<Option<Vec<u8>>> {
    let mut header = [0; 4];
    let mut filled = 0;
    while filled < header.len() {
        let count = stream.read(&mut header[filled..]).await?;
        if count == 0 {
            if filled == 0 {
                return Ok(None);
            }
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the connection ended inside a frame's length",
            ));
        }
        filled += count;
    }
    let length = u32::from_be_bytes(header) as usize;
    if length > MAX_FRAME_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "a frame of {length} bytes is larger than the limit of {MAX_FRAME_BYTES} bytes (seedloop::net::MAX_FRAME_BYTES): the peer does not seem to speak the services' framing (a 4-byte big-endian length, then the bytes)"
            ),
        ));
    }
    let mut payload = vec![0; length];
    stream.read_exact(&mut payload).await?;
    Ok(Some(payload))
}

/// A client of a [`FakeService`]: one connection, one request at a time.
///
/// A call that fails, or is cancelled, drops the connection; the next call connects
/// again, so a client outlives its service's failures, crashes and restarts.
///
/// # Examples
///
/// ```
/// use seedloop::net::{FakeService, Host, ServiceClient};
/// seedloop::Sim::new(0)
///     .run(async {
///         let search = Host::new("search");
///         let _service = FakeService::new()
///             .start(&search, 9200, |query: Vec<u8>| async move { query.to_ascii_uppercase() })
///             .unwrap();
///         let mut client = ServiceClient::connect("search:9200").await.unwrap();
///         assert_eq!(client.address(), "search:9200");
///         assert_eq!(client.call(b"rust").await.unwrap(), b"RUST");
///         assert!(client.is_connected());
///     })
///     .unwrap();
/// ```
#[derive(Debug)]
pub struct ServiceClient {
    address: String,
    stream: Option<TcpStream>,
}

impl ServiceClient {
    /// Connects to the service at `address` (`"db:5432"`).
    ///
    /// # Errors
    ///
    /// Those of [`TcpStream::connect`]: `ConnectionRefused` when nothing listens
    /// there, `TimedOut` when no answer comes (a partition, a host that is down),
    /// `NotFound` for an unknown host name.
    ///
    /// # Cancel safety
    ///
    /// As [`TcpStream::connect`]: nothing leaks.
    ///
    /// # Examples
    ///
    /// ```
    /// use seedloop::net::{Host, ServiceClient};
    /// seedloop::Sim::new(0)
    ///     .run(async {
    ///         let _db = Host::new("db");
    ///         let error = ServiceClient::connect("db:5432").await.unwrap_err();
    ///         assert_eq!(error.kind(), std::io::ErrorKind::ConnectionRefused);
    ///     })
    ///     .unwrap();
    /// ```
    ///
    /// # Panics
    ///
    /// Outside a simulation.
    pub async fn connect(address: impl ToAddress) -> io::Result<ServiceClient> {
        let address = address.to_address();
        let stream = TcpStream::connect(address.as_str()).await?;
        Ok(ServiceClient {
            address,
            stream: Some(stream),
        })
    }

    /// The service's address, as given to [`ServiceClient::connect`].
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Whether the client holds a connection: false after a call failed or was
    /// cancelled, until the next call connects again.
    pub fn is_connected(&self) -> bool {
        self.stream.is_some()
    }

    /// Sends `request` and waits for the answer. Without a connection (a call before
    /// failed, or was cancelled), it connects first.
    ///
    /// # Errors
    ///
    /// - `ConnectionReset`: the service failed the request ([`FakeService::failure_rate`];
    ///   its handler may have run), or its host crashed;
    /// - `UnexpectedEof`: the service closed the connection without answering;
    /// - `InvalidInput`: `request` is longer than [`MAX_FRAME_BYTES`] (nothing was sent,
    ///   the connection is kept);
    /// - `InvalidData`: the answer's frame announces more than [`MAX_FRAME_BYTES`] (the
    ///   peer is not a fake service);
    /// - a connect's errors ([`ServiceClient::connect`]) when it had to connect again.
    ///
    /// After any error but `InvalidInput` the connection is dropped, and the next call
    /// connects again.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe for the request: a call dropped before it returned drops its
    /// connection, and the request may or may not have reached the service and been
    /// handled. The client stays usable: the next call connects again.
    ///
    /// # Examples
    ///
    /// ```
    /// use seedloop::net::{FakeService, Host, ServiceClient};
    /// use seedloop::time::timeout;
    /// use std::time::Duration;
    /// seedloop::Sim::new(0)
    ///     .run(async {
    ///         let slow = Host::new("slow");
    ///         let _service = FakeService::new()
    ///             .latency(Duration::from_secs(2), Duration::from_secs(2))
    ///             .start(&slow, 80, |request: Vec<u8>| async move { request })
    ///             .unwrap();
    ///         let mut client = ServiceClient::connect("slow:80").await.unwrap();
    ///         let cancelled = timeout(Duration::from_secs(1), client.call(b"first")).await;
    ///         assert!(cancelled.is_err());
    ///         assert!(!client.is_connected(), "the cancelled call dropped its connection");
    ///         assert_eq!(client.call(b"second").await.unwrap(), b"second");
    ///     })
    ///     .unwrap();
    /// ```
    pub async fn call(&mut self, request: &[u8]) -> io::Result<Vec<u8>> {
        if request.len() > MAX_FRAME_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a request of {} bytes is larger than a frame carries ({MAX_FRAME_BYTES} bytes, seedloop::net::MAX_FRAME_BYTES)",
                    request.len()
                ),
            ));
        }
        // Taken out for the call: if the call is dropped midway, the connection goes
        // with it, and the next call starts on a fresh one.
        let mut stream = match self.stream.take() {
            Some(stream) => stream,
            None => TcpStream::connect(self.address.as_str())
                .await
                .map_err(|error| self.explain(error))?,
        };
        let answer = exchange(&mut stream, request)
            .await
            .map_err(|error| self.explain(error))?;
        self.stream = Some(stream);
        Ok(answer)
    }

    /// `error`, its message prefixed with the call it ended.
    fn explain(&self, error: io::Error) -> io::Error {
        let message = format!("call to the service at {}: {error}", self.address);
        io::Error::new(error.kind(), message)
    }
}

/// Sends `request` as a frame and reads the answer's frame.
async fn exchange(stream: &mut TcpStream, request: &[u8]) -> io::Result<Vec<u8>> {
    write_frame(stream, request).await?;
    read_frame(stream).await?.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the service closed the connection without answering",
        )
    })
}
