//! A TCP echo server and client: asyncio's streams example, on seedloop's simulated
//! network.
//!
//! The asyncio original (the server and the client are two programs there):
//!
//! ```python
//! async def handle_echo(reader, writer):
//!     data = await reader.read(100)
//!     message = data.decode()
//!     addr = writer.get_extra_info('peername')
//!     print(f"Received {message!r} from {addr!r}")
//!     print(f"Send: {message!r}")
//!     writer.write(data)
//!     await writer.drain()
//!     print("Close the connection")
//!     writer.close()
//!     await writer.wait_closed()
//!
//! async def tcp_echo_client(message):
//!     reader, writer = await asyncio.open_connection('127.0.0.1', 8888)
//!     print(f'Send: {message!r}')
//!     writer.write(message.encode())
//!     await writer.drain()
//!     data = await reader.read(100)
//!     print(f'Received: {data.decode()!r}')
//!     print('Close the connection')
//!     writer.close()
//!     await writer.wait_closed()
//! ```
//!
//! Here both run in one simulation: the server on a `Host::new("server")`, the client
//! on `main`. `asyncio.start_server` is `TcpListener::bind` plus an accept loop,
//! `open_connection` is `TcpStream::connect`, and the reader and writer are one
//! `TcpStream` used through `futures::io::{AsyncReadExt, AsyncWriteExt}`. Nothing
//! touches a real socket, and every message takes a latency drawn from the seed, in
//! virtual time.
//!
//! The example shows:
//!
//! 1. the conversation, as a timeline in virtual time, with the trace's network
//!    events (connect, accept, sent, delivered, close), under seed 0 and the default
//!    network (0.5 to 2 ms a message);
//! 2. a slower network (10 to 50 ms a message) under seed 7;
//! 3. that the same seed gives the identical trace, event for event, and another
//!    seed another one;
//! 4. a failure: the server's host crashes mid-conversation, and the client's read
//!    fails with `ConnectionReset` instead of waiting forever.
//!
//! Run it with `cargo run --release --example echo`.

use futures::io::{AsyncReadExt, AsyncWriteExt};
use seedloop::net::{Host, NetConfig, TcpListener, TcpStream};
use seedloop::task::Builder;
use seedloop::time::{sleep, Instant};
use seedloop::trace::EventKind;
use seedloop::{JoinHandle, Sim};
use std::cell::Cell;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

const PORT: u16 = 8888;

thread_local! {
    /// Set while re-running a seed whose timeline was printed already.
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Prints one line of the timeline: the virtual time, the host, what happened.
fn say(what: impl std::fmt::Display) {
    if QUIET.get() {
        return;
    }
    let now = Instant::now();
    println!("  [{now:>12}] {:>6}: {what}", Host::current().name());
}

/// asyncio's `handle_echo`. The server waits `think` before it answers (zero in the
/// happy path), so that the crash scenario has a moment to crash it in.
async fn handle_echo(mut stream: TcpStream, peer: SocketAddr, think: Duration) -> io::Result<()> {
    let mut data = [0; 100];
    let count = stream.read(&mut data).await?;
    let message = String::from_utf8_lossy(&data[..count]).into_owned();
    say(format_args!("Received {message:?} from {peer}"));
    if !think.is_zero() {
        sleep(think).await;
    }
    say(format_args!("Send: {message:?}"));
    stream.write_all(&data[..count]).await?;
    stream.flush().await?; // writer.drain()
    say("Close the connection");
    stream.close().await // dropping the stream then closes it entirely
}

/// asyncio's `start_server`: binds the port on `host` and serves there, one task per
/// connection, until the returned task is cancelled.
async fn start_server(host: &Host, think: Duration) -> io::Result<JoinHandle<()>> {
    // Bind on the server host (a listener binds its own host's address), and wait
    // for it, so that the client cannot connect before the port is open.
    let bound = host.spawn(async {
        let listener = TcpListener::bind(("0.0.0.0", PORT)).await?;
        say(format_args!("Serving on {}", listener.local_addr()?));
        Ok::<_, io::Error>(listener)
    });
    let listener = bound.await.expect("the bind task is never cancelled")?;
    Ok(host.spawn_named("serve_forever", async move {
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(error) => return say(format_args!("accept failed: {error}")),
            };
            let handler = Host::current().spawn_named("handle_echo", async move {
                if let Err(error) = handle_echo(stream, peer, think).await {
                    say(format_args!("handler failed: {error}"));
                }
            });
            drop(handler); // detached, as asyncio's handler tasks are
        }
    }))
}

/// asyncio's `tcp_echo_client`, returning what came back.
async fn tcp_echo_client(message: &str) -> io::Result<String> {
    let mut stream = TcpStream::connect(("server", PORT)).await?;
    say(format_args!("Send: {message:?}"));
    stream.write_all(message.as_bytes()).await?;
    stream.flush().await?;
    let mut data = [0; 100];
    let count = stream.read(&mut data).await?;
    let reply = String::from_utf8_lossy(&data[..count]).into_owned();
    say(format_args!("Received: {reply:?}"));
    say("Close the connection");
    stream.close().await?;
    Ok(reply)
}

/// One conversation: a server, the client, then the server is closed.
async fn echo() -> io::Result<String> {
    let server = Host::new("server");
    let serving = start_server(&server, Duration::ZERO).await?;
    let reply = tcp_echo_client("Hello World!").await;
    serving.cancel(); // `async with server:` closes it on the way out
    reply
}

/// Runs the conversation on `sim` (a fresh one: a `Sim` keeps its hosts across runs,
/// and `Host::new("server")` twice would panic); prints the timeline.
fn run(mut sim: Sim) -> Sim {
    let reply = sim.run(echo()).expect("the simulation ran to completion");
    assert_eq!(reply.expect("the echo succeeded"), "Hello World!");
    sim
}

/// Prints the trace's network and host events: what went over the simulated wire.
fn print_network_events(sim: &Sim) {
    let trace = sim.trace();
    println!("  network events in the trace (step, virtual time, task, event):");
    for event in trace.events() {
        if matches!(
            event.kind(),
            EventKind::Net
                | EventKind::Send
                | EventKind::Deliver
                | EventKind::Crash
                | EventKind::Restart
        ) {
            println!("    {}", trace.format_event(event));
        }
    }
}

/// The server's host crashes while it thinks about its answer.
async fn crash_mid_conversation() -> io::Result<String> {
    let server = Host::new("server");
    // The server thinks for 100 ms before it answers; at +20ms its host crashes.
    let serving = start_server(&server, Duration::from_millis(100)).await?;
    let chaos = Builder::new().name("chaos").spawn(async move {
        sleep(Duration::from_millis(20)).await;
        say("crashing host server");
        server.crash();
    });
    let result = tcp_echo_client("Hello World!").await;
    if let Err(error) = &result {
        say(format_args!("read failed: {:?}: {error}", error.kind()));
    }
    chaos.await.expect("the chaos task is never cancelled");
    // The crash dropped every task on the server: the accept loop and the handler.
    assert!(serving.await.unwrap_err().is_cancelled());
    result
}

fn main() {
    println!("1. seed 0, the default network (0.5 to 2 ms a message)");
    let first = run(Sim::new(0));
    print_network_events(&first);

    let slow =
        || NetConfig::default().latency(Duration::from_millis(10), Duration::from_millis(50));
    println!("\n2. seed 7, a slow network (10 to 50 ms a message)");
    let seven = run(Sim::new(7).net(slow()));
    print_network_events(&seven);

    println!("\n3. the same seed twice, and another seed (timelines not printed again)");
    QUIET.set(true);
    let again = run(Sim::new(7).net(slow()));
    let eight = run(Sim::new(8).net(slow()));
    QUIET.set(false);
    let identical = seven.trace().to_string() == again.trace().to_string();
    println!(
        "  seed 7, run twice: {} ({} events, hash {:016x})",
        if identical {
            "identical traces"
        } else {
            "DIFFERENT traces"
        },
        again.trace().len(),
        again.trace().hash(),
    );
    assert!(identical, "a seed replays its run event for event");
    let differs = eight.trace().to_string() != seven.trace().to_string();
    println!(
        "  seed 8: {} (the echo came back at {}, under seed 7 at {})",
        if differs {
            "a different trace"
        } else {
            "the same trace"
        },
        eight.now(),
        seven.now(),
    );

    println!("\n4. seed 0, the server's host crashes mid-conversation");
    let mut sim = Sim::new(0);
    let outcome = sim
        .run(crash_mid_conversation())
        .expect("the simulation ran to completion");
    let error = outcome.expect_err("the server never answered");
    assert_eq!(error.kind(), io::ErrorKind::ConnectionReset);
    print_network_events(&sim);
}
