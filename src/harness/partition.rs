//! Partitions: one sweep spread over many machines, each running a disjoint slice.
//!
//! `SEEDLOOP_PARTITION=k/n` makes a sweep run the k-th of n slices of its seeds. The
//! slices are contiguous blocks in seed order, cut so that their sizes differ by at
//! most one seed (the first `total % n` slices get the extra seed): the union of the
//! n slices is the whole range, no seed is in two, and slice `k` depends only on the
//! range, `k` and `n`. So a CI matrix of n jobs runs one sweep n times faster, and the
//! seed a failure names replays anywhere with `SEEDLOOP_SEED`, whatever the partition
//! (a replayed seed or tape ignores the partition: it names one execution).
//!
//! The arithmetic is in `u128`, so that the whole range of `u64` seeds (2^64 of them,
//! one more than `u64` counts) splits like any other.

use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;

/// The most slices a sweep can be cut into.
pub const MAX_PARTITIONS: u64 = 1_000_000;

/// The k-th of n disjoint slices of a sweep's seeds (`SEEDLOOP_PARTITION=k/n`).
///
/// # Examples
///
/// ```
/// use seedloop::harness::Partition;
/// let second: Partition = "2/3".parse().unwrap();
/// assert_eq!((second.index(), second.count()), (2, 3));
/// // 10 seeds in 3 slices: 4, 3 and 3 seeds.
/// assert_eq!(second.slice(0..=9), Some(4..=6));
/// assert_eq!(Partition::new(1, 3).slice(0..=9), Some(0..=3));
/// assert_eq!(Partition::new(3, 3).slice(0..=9), Some(7..=9));
/// // A sweep of fewer seeds than slices leaves some slices empty.
/// assert_eq!(Partition::new(3, 3).slice(5..=6), None);
/// assert_eq!(second.to_string(), "2/3");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partition {
    index: u64,
    count: u64,
}

impl Partition {
    /// The `index`-th (counting from 1) of `count` slices.
    ///
    /// # Panics
    ///
    /// Unless `1 <= index <= count <= MAX_PARTITIONS` (the message names the fix).
    #[track_caller]
    pub fn new(index: u64, count: u64) -> Partition {
        assert!(
            (1..=MAX_PARTITIONS).contains(&count) && (1..=count).contains(&index),
            "Partition::new({index}, {count}) is invalid: slices count from 1, so 1 <= index <= count <= MAX_PARTITIONS ({MAX_PARTITIONS}), as in 2/4 for the second of four"
        );
        Partition { index, count }
    }

    /// Which slice, from 1 to [`Partition::count`].
    pub fn index(&self) -> u64 {
        self.index
    }

    /// How many slices the sweep is cut into.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// This slice of `seeds`; `None` when it is empty (fewer seeds than slices).
    pub fn slice(&self, seeds: RangeInclusive<u64>) -> Option<RangeInclusive<u64>> {
        let (first, last) = (*seeds.start() as u128, *seeds.end() as u128);
        if first > last {
            return None;
        }
        let total = last - first + 1;
        let (count, index) = (self.count as u128, self.index as u128 - 1);
        let (base, extra) = (total / count, total % count);
        // Slices before this one: `index` of them, the first `extra` one seed longer.
        let start = first + index * base + index.min(extra);
        let length = base + u128::from(index < extra);
        (length > 0).then(|| start as u64..=(start + length - 1) as u64)
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Text that is not a partition `k/n` ([`Partition`]'s `FromStr`).
///
/// # Examples
///
/// ```
/// let error = "3/2".parse::<seedloop::harness::Partition>().unwrap_err();
/// assert!(error.to_string().contains("3/2"), "{error}");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsePartitionError {
    input: String,
}

impl fmt::Display for ParsePartitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid partition `{}`: expected k/n with 1 <= k <= n <= {MAX_PARTITIONS} (e.g. 2/4, the second of four slices)",
            self.input
        )
    }
}

impl std::error::Error for ParsePartitionError {}

impl FromStr for Partition {
    type Err = ParsePartitionError;

    fn from_str(input: &str) -> Result<Partition, ParsePartitionError> {
        let error = || ParsePartitionError {
            input: input.to_string(),
        };
        let (index, count) = input.trim().split_once('/').ok_or_else(error)?;
        let index: u64 = index.trim().parse().map_err(|_| error())?;
        let count: u64 = count.trim().parse().map_err(|_| error())?;
        if !(1..=MAX_PARTITIONS).contains(&count) || !(1..=count).contains(&index) {
            return Err(error());
        }
        Ok(Partition { index, count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_whole_u64_range_splits_into_disjoint_slices() {
        let halves = [1, 2].map(|index| Partition::new(index, 2).slice(0..=u64::MAX));
        assert_eq!(halves[0], Some(0..=u64::MAX / 2));
        assert_eq!(halves[1], Some(u64::MAX / 2 + 1..=u64::MAX));
    }
}
