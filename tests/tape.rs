//! Tape mode (property tests, fuzzing): any byte string is a valid schedule, replays
//! identically, and zeros are the production order.

use proptest::prelude::*;
use seedloop::{Policy, Sim};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

async fn workers(count: u32) -> Vec<u32> {
    let order = Rc::new(RefCell::new(Vec::new()));
    let handles: Vec<_> = (0..count)
        .map(|index| {
            let order = order.clone();
            seedloop::spawn(async move {
                seedloop::yield_now().await;
                seedloop::time::sleep(Duration::from_millis(u64::from(index % 3))).await;
                order.borrow_mut().push(index);
            })
        })
        .collect();
    for handle in handles {
        handle.await.unwrap();
    }
    let order = order.borrow().clone();
    order
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn any_tape_runs_to_completion_and_replays_identically(
        tape in proptest::collection::vec(any::<u8>(), 0..64),
        count in 1u32..6,
    ) {
        let mut first = Sim::new(0).tape(tape.clone());
        let order = first.run(workers(count)).unwrap();
        let mut sorted = order.clone();
        sorted.sort();
        prop_assert_eq!(sorted, (0..count).collect::<Vec<_>>());
        let mut second = Sim::new(0).tape(tape);
        prop_assert_eq!(second.run(workers(count)).unwrap(), order);
        prop_assert_eq!(first.trace().to_string(), second.trace().to_string());
    }

    #[test]
    fn a_tape_of_zeros_matches_fifo_for_any_program_size(count in 1u32..8, zeros in 0usize..32) {
        let mut fifo = Sim::new(0).policy(Policy::Fifo);
        fifo.run(workers(count)).unwrap();
        let mut tape = Sim::new(0).tape(vec![0; zeros]);
        tape.run(workers(count)).unwrap();
        prop_assert_eq!(fifo.trace().to_string(), tape.trace().to_string());
    }
}
