//! Hello, virtual time: asyncio's first example, on seedloop.
//!
//! The asyncio original:
//!
//! ```python
//! import asyncio
//!
//! async def main():
//!     print('Guten')
//!     await asyncio.sleep(1)
//!     print('morgen')
//!
//! asyncio.run(main())
//! ```
//!
//! Here `asyncio.run` becomes `Sim::new(seed).run(..)`, and `asyncio.sleep` becomes
//! `seedloop::time::sleep`. The sleep is virtual: the clock jumps straight to the
//! timer's deadline because nothing else is ready, so the second passes in
//! microseconds of real time.
//!
//! Run it with `cargo run --release --example hello`.

use seedloop::time::{sleep, Instant};
use seedloop::Sim;
use std::time::Duration;

fn main() {
    // One seed is one execution; this program has a single task, so any seed will do.
    let mut sim = Sim::new(0);

    // Only to show how little real time passes; never read the real clock *inside* a
    // simulation (that would make runs nondeterministic).
    let wall = std::time::Instant::now();

    sim.run(async {
        let before = Instant::now(); // virtual time, starting at the epoch (+0s)
        println!("[{before}] Guten");
        sleep(Duration::from_secs(1)).await; // a virtual second
        let after = Instant::now();
        println!("[{after}] morgen");
        println!("virtual time passed: {:?}", after - before);
        assert_eq!(after - before, Duration::from_secs(1));
    })
    .expect("the simulation ran to completion");

    // The clock outlives the run: `sim.now()` is where the run left it.
    assert_eq!(sim.now().elapsed_since_epoch(), Duration::from_secs(1));
    println!("sim.now() after the run: {}", sim.now());
    // The real time is machine-dependent (a few microseconds), so it is printed
    // without being asserted on.
    println!("real time passed: {:?}", wall.elapsed());
}
