//! The stores a [`Queue`](super::Queue) keeps its items in: FIFO (`Queue`), LIFO
//! (`LifoQueue`) and a min-heap (`PriorityQueue`).
//!
//! A queue's waiting and reservations do not depend on the order items leave in, so
//! that order is all a store decides: the queue holds a `Box<dyn Store<T>>` and only
//! pushes, pops and counts. The priority store breaks ties between equal items with a
//! sequence number, so that they leave in the order they came whatever the heap does.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

pub(super) trait Store<T> {
    fn push(&mut self, item: T);
    fn pop(&mut self) -> Option<T>;
    fn len(&self) -> usize;
}

pub(super) struct Fifo<T>(VecDeque<T>);

impl<T> Fifo<T> {
    pub(super) fn new() -> Fifo<T> {
        Fifo(VecDeque::new())
    }
}

impl<T> Store<T> for Fifo<T> {
    fn push(&mut self, item: T) {
        self.0.push_back(item);
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop_front()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

pub(super) struct Lifo<T>(Vec<T>);

impl<T> Lifo<T> {
    pub(super) fn new() -> Lifo<T> {
        Lifo(Vec::new())
    }
}

impl<T> Store<T> for Lifo<T> {
    fn push(&mut self, item: T) {
        self.0.push(item);
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

/// Smallest first; equal items leave in the order they came (a sequence number breaks
/// ties, so the order never depends on the heap's internals).
pub(super) struct Priority<T: Ord> {
    heap: BinaryHeap<Reverse<(T, u64)>>,
    next: u64,
}

impl<T: Ord> Priority<T> {
    pub(super) fn new() -> Priority<T> {
        Priority {
            heap: BinaryHeap::new(),
            next: 0,
        }
    }
}

impl<T: Ord> Store<T> for Priority<T> {
    fn push(&mut self, item: T) {
        self.heap.push(Reverse((item, self.next)));
        self.next += 1;
    }
    fn pop(&mut self) -> Option<T> {
        self.heap.pop().map(|Reverse((item, _))| item)
    }
    fn len(&self) -> usize {
        self.heap.len()
    }
}
