//! A small chat server, written for plain tokio.
//!
//! A client connects and sends its name on the first line; the server answers
//! `welcome <name>` once the client has joined the room, then relays every line the
//! client sends to every other member as `<name>: <line>`. Each member has a writer
//! task fed by a channel, so a slow client does not hold up the others.
//!
//! The planted race: [`Delivery::StopAtFirstGone`] stops a broadcast at the first
//! member whose channel is closed. A member that disconnects closes its channel first
//! and leaves the room a moment later, so a broadcast in between finds it gone and
//! stops there: every member after it misses the message. On a real runtime the window
//! is a few microseconds wide and the tests pass; under seedloop a sweep of seeds finds
//! it. [`Delivery::SkipGone`] is the fix.
//!
//! Nothing here names seedloop: the same code runs on tokio (`cargo test -p
//! tokio-chat`, on localhost) and inside a simulation (`examples/tokio-chat-sim`
//! compiles this file against seedloop's tokio facade).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Mutex};

/// How a broadcast treats a member that is gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// The planted bug: the broadcast ends at the first closed channel.
    StopAtFirstGone,
    /// The fix: a closed channel is skipped.
    SkipGone,
}

/// The members: id -> (name, channel to the member's writer task).
type Room = Arc<Mutex<BTreeMap<u64, (String, mpsc::Sender<String>)>>>;

/// Messages a member's channel holds before the broadcaster waits.
const MEMBER_QUEUE: usize = 16;

/// Serves clients from `listener` until the task is dropped.
///
/// Cancel safety: dropping it stops accepting; members already in keep being served
/// by their own tasks.
pub async fn serve(listener: TcpListener, delivery: Delivery) {
    let room: Room = Arc::default();
    let mut next_id = 0;
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        next_id += 1;
        tokio::spawn(member(stream, next_id, room.clone(), delivery));
    }
}

/// One member's connection.
async fn member(stream: TcpStream, id: u64, room: Room, delivery: Delivery) {
    let (reader, mut writer) = stream.into_split();
    let mut lines = BufReader::new(reader).lines();
    let Ok(Some(name)) = lines.next_line().await else {
        return;
    };
    let (sender, mut receiver) = mpsc::channel::<String>(MEMBER_QUEUE);
    room.lock().await.insert(id, (name.clone(), sender.clone()));
    let _ = sender.send(format!("welcome {name}")).await;
    let writing = tokio::spawn(async move {
        while let Some(line) = receiver.recv().await {
            if writer
                .write_all(format!("{line}\n").as_bytes())
                .await
                .is_err()
            {
                break;
            }
        }
    });
    while let Ok(Some(line)) = lines.next_line().await {
        broadcast(&room, id, format!("{name}: {line}"), delivery).await;
    }
    // The client left: stop its writer (that closes its channel), wait for it, then
    // leave the room. Between the two, a broadcast may still find the member, with its
    // channel closed.
    writing.abort();
    let _ = writing.await;
    room.lock().await.remove(&id);
}

/// Sends `line` to every member but `from`.
async fn broadcast(room: &Room, from: u64, line: String, delivery: Delivery) {
    let members: Vec<mpsc::Sender<String>> = room
        .lock()
        .await
        .iter()
        .filter(|(id, _)| **id != from)
        .map(|(_, (_, sender))| sender.clone())
        .collect();
    for member in members {
        if member.send(line.clone()).await.is_err() && delivery == Delivery::StopAtFirstGone {
            return;
        }
    }
}

/// A client: connects, joins as `name`, and waits for the welcome.
pub async fn join(address: SocketAddr, name: &str) -> std::io::Result<Client> {
    let stream = TcpStream::connect(address).await?;
    let (reader, mut writer) = stream.into_split();
    writer.write_all(format!("{name}\n").as_bytes()).await?;
    let mut client = Client {
        lines: BufReader::new(reader).lines(),
        writer,
    };
    let welcome = client.next_line().await?;
    assert_eq!(welcome.as_deref(), Some(format!("welcome {name}").as_str()));
    Ok(client)
}

/// A joined client.
pub struct Client {
    lines: tokio::io::Lines<BufReader<tokio::net::tcp::OwnedReadHalf>>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

impl Client {
    /// Says `line` to the room.
    pub async fn say(&mut self, line: &str) -> std::io::Result<()> {
        self.writer.write_all(format!("{line}\n").as_bytes()).await
    }

    /// The next line from the room (`None` at end of stream).
    pub async fn next_line(&mut self) -> std::io::Result<Option<String>> {
        self.lines.next_line().await
    }
}

/// The test scenario, for a runtime or a simulation alike: alice, carol and bob
/// join; carol leaves just as alice speaks; bob must hear alice.
pub async fn scenario(delivery: Delivery) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let server = tokio::spawn(serve(listener, delivery));
    let mut alice = join(address, "alice").await.expect("alice joins");
    let carol = join(address, "carol").await.expect("carol joins");
    let mut bob = join(address, "bob").await.expect("bob joins");
    let leaving = tokio::spawn(async move { drop(carol) });
    alice.say("hi").await.expect("alice speaks");
    leaving.await.expect("carol leaves");
    let heard = tokio::time::timeout(Duration::from_secs(5), bob.next_line()).await;
    assert_eq!(
        heard.ok().and_then(Result::ok).flatten().as_deref(),
        Some("alice: hi"),
        "bob, still connected, missed alice's message"
    );
    server.abort();
}

#[cfg(test)]
mod tests {
    use super::{scenario, Delivery};

    /// On tokio this runs once, on localhost; under seedloop, as a sweep of seeds.
    #[tokio::test]
    async fn every_member_still_connected_hears_each_message() {
        scenario(Delivery::SkipGone).await;
    }
}
