//! Seeded randomness for the program under test: never the OS.
//!
//! Values come from the simulation's user stream of choices, so they are part of the
//! execution a seed names (and of a recorded schedule), and drawing them never shifts
//! the scheduler's decisions.

use crate::choices::Stream;
use crate::runtime::context;

/// The `rand` traits and distributions seedloop's values work with, re-exported so
/// that a program needs no `rand` dependency of its own (whose version would have to
/// match seedloop's): `use seedloop::rand::Rng;` gives `random_range`, `random_bool`,
/// `fill`, ...; `SliceRandom` gives `shuffle` and `choose`.
pub use rand::distr::{self, Distribution, StandardUniform};
pub use rand::seq::{IndexedRandom, SliceRandom};
pub use rand::{Rng, RngCore};

/// A handle to the simulation's user random stream; implements [`RngCore`], so every
/// [`Rng`] method works on it. Its methods panic outside a simulation.
///
/// # Examples
///
/// ```
/// use seedloop::rand::Rng; // no `rand` dependency needed
/// let roll = seedloop::Sim::new(3).run(async { seedloop::rand::rng().random_range(1..=6) }).unwrap();
/// let again = seedloop::Sim::new(3).run(async { seedloop::rand::rng().random_range(1..=6) }).unwrap();
/// assert_eq!(roll, again);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct SimRng {
    _private: (),
}

/// The simulation's random number generator.
pub fn rng() -> SimRng {
    SimRng { _private: () }
}

/// A random value of type `T` from the simulation's user stream.
///
/// ```
/// seedloop::Sim::new(1).run(async {
///     let coin: bool = seedloop::rand::random();
///     let _ = coin;
/// }).unwrap();
/// ```
#[track_caller]
pub fn random<T>() -> T
where
    StandardUniform: Distribution<T>,
{
    rng().random()
}

impl RngCore for SimRng {
    #[track_caller]
    fn next_u32(&mut self) -> u32 {
        context::with_current("seedloop::rand", |shared| {
            shared.choose(Stream::User, 1 << 32) as u32
        })
    }

    #[track_caller]
    fn next_u64(&mut self) -> u64 {
        (self.next_u32() as u64) << 32 | self.next_u32() as u64
    }

    fn fill_bytes(&mut self, destination: &mut [u8]) {
        for chunk in destination.chunks_mut(4) {
            let word = self.next_u32().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }
}
