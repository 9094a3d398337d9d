//! The portfolio: the default policy of a sweep, a fixed list of policies spread over
//! its seeds.
//!
//! No single policy finds every kind of bug fastest. A uniform random pick finds
//! shallow races in a handful of seeds, but almost never holds one task back while
//! others run many steps. PCT holds tasks back on purpose, but spends seeds on change
//! points that land where nothing races. So the seed at place `p` of a sweep (counted
//! from the sweep's first seed, so the same sweep always runs the same policies) runs
//! `PORTFOLIO[p % PORTFOLIO.len()]`, and every failure names its own seed's concrete
//! policy (for PCT, with the horizon the sweep fitted and the seed drew), which its
//! replay line carries.
//!
//! The list gives one place in three to `Random` and two to PCT of depth
//! [`PORTFOLIO_PCT_DEPTH`]: 15 change
//! points over a horizon fitted to the program (its length, or a half, a quarter or an
//! eighth of it, drawn per seed). On a short program that many change points land on
//! most of the first `k` steps, whose order they shuffle like a random pick would, and
//! strict priorities then hold the demoted tasks back for as long as the others run:
//! the shape of a bug that needs a task preempted, others run alone, then an order of
//! resumption. On a long program they are a few preemptions, as in classic PCT.
//! `benches/bug_finding.rs` measured it against PCT of depths 1 to 3, Random and Fifo
//! on eleven bug programs: it found the nested preemption about 25 times as often as
//! depth 3 and every other bug about as often as depths 1 to 3, so the list has no
//! shallower PCT; strict priorities alone (depth 1) found nothing the others missed.
//! PCT gets two places in three because a bug only it finds (a task held back for 20
//! steps) is then found within 1.5x of its seeds alone, while the shallow races
//! Random finds fastest are still found within 2x. The README's bug-finding table has
//! the numbers.

use super::Policy;

/// The depth of the PCT member of [`PORTFOLIO`].
pub const PORTFOLIO_PCT_DEPTH: u32 = 16;

/// The members of [`Policy::Portfolio`], in the order a sweep takes them.
///
/// # Examples
///
/// ```
/// use seedloop::{Policy, PORTFOLIO, PORTFOLIO_PCT_DEPTH};
/// let pct = Policy::Pct { depth: PORTFOLIO_PCT_DEPTH };
/// assert_eq!(PORTFOLIO, [Policy::Random, pct.clone(), pct]);
/// ```
pub const PORTFOLIO: [Policy; 3] = [
    Policy::Random,
    Policy::Pct {
        depth: PORTFOLIO_PCT_DEPTH,
    },
    Policy::Pct {
        depth: PORTFOLIO_PCT_DEPTH,
    },
];

/// The member of the portfolio for the seed at `position` in its sweep.
pub(crate) fn member(position: u64) -> Policy {
    PORTFOLIO[(position % PORTFOLIO.len() as u64) as usize].clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_take_the_members_in_turn_from_the_sweeps_first_seed() {
        for position in 0..2 * PORTFOLIO.len() as u64 {
            let expected = &PORTFOLIO[position as usize % PORTFOLIO.len()];
            assert_eq!(&member(position), expected);
        }
        assert_eq!(member(u64::MAX), PORTFOLIO[(u64::MAX % 3) as usize]);
    }
}
