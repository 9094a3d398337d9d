//! Doing other work while a task runs: asyncio's `create_task`, on seedloop.
//!
//! The asyncio pattern this ports:
//!
//! ```python
//! async def fetch():
//!     await asyncio.sleep(2)          # stands for a network round trip
//!     return {'user': 'ada', 'id': 42}
//!
//! async def main():
//!     task = asyncio.create_task(fetch())  # starts running "in the background"
//!     for _ in range(3):                   # meanwhile, main does other work
//!         print('working...')
//!         await asyncio.sleep(0.5)
//!     data = await task                    # then collects the result
//!     print(data)
//!
//! asyncio.run(main())
//! ```
//!
//! `asyncio.create_task` is `seedloop::spawn` (or `task::Builder` to name the task);
//! awaiting the `JoinHandle` gives `Result<T, JoinError>`. Every timestamp printed is
//! virtual time, so the output is the same on every machine and every run.
//!
//! Run it with `cargo run --release --example create_task`.

use seedloop::task::Builder;
use seedloop::time::{sleep, Instant};
use seedloop::{Policy, Sim};
use std::time::Duration;

#[derive(Debug)]
struct User {
    name: &'static str,
    id: u32,
}

/// Stands for a 2-second network request.
async fn fetch() -> User {
    println!("[{}] fetch: request sent", Instant::now());
    sleep(Duration::from_secs(2)).await;
    println!("[{}] fetch: response received", Instant::now());
    User {
        name: "ada",
        id: 42,
    }
}

fn main() {
    // Fifo is the production order (what asyncio or tokio's current-thread runtime
    // does). This program prints the same under any policy and seed: a spawned task
    // waits until main reaches an await, and after that the timers decide the order.
    let mut sim = Sim::new(0).policy(Policy::Fifo);
    sim.run(async {
        let start = Instant::now();

        // asyncio.create_task(fetch()): the task is ready at once, but does not run
        // until main reaches an await.
        let task = Builder::new().name("fetch").spawn(fetch());
        println!("[{}] main: fetch task created", Instant::now());

        // Other work while the fetch is in flight: a progress line every 500 ms.
        for step in 1..=3 {
            println!("[{}] main: working... ({step}/3)", Instant::now());
            sleep(Duration::from_millis(500)).await;
        }
        println!(
            "[{}] main: done with other work; fetch finished yet? {}",
            Instant::now(),
            task.is_finished()
        );

        // await task: main blocks only for the rest of the fetch, not all 2 s.
        let user = task
            .await
            .expect("fetch was neither cancelled nor panicked");
        println!(
            "[{}] main: got {user:?} (name {}, id {})",
            Instant::now(),
            user.name,
            user.id
        );

        // The work overlapped: 2 s in total, not 1.5 s + 2 s.
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        println!("total virtual time: {:?}", start.elapsed());
    })
    .expect("the simulation ran to completion");

    let stats = sim.stats();
    println!(
        "stats: {} task(s) spawned, {} timers fired, {} polls",
        stats.tasks_spawned, stats.timers_fired, stats.polls
    );
}
