//! The deadline heap: timers are not mio's job, so the event loop keeps its
//! deadlines here and arms its clock (a timerfd) for the nearest one. Stale entries
//! are harmless: whoever receives a timer checks that it is still due.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

#[derive(Debug)]
pub struct Timers<T: Ord> {
    heap: BinaryHeap<Reverse<(Instant, u64, T)>>,
    seq: u64,
}

impl<T: Ord> Default for Timers<T> {
    fn default() -> Self {
        Timers {
            heap: BinaryHeap::new(),
            seq: 0,
        }
    }
}

impl<T: Ord> Timers<T> {
    pub fn arm(&mut self, at: Instant, what: T) {
        self.seq += 1;
        self.heap.push(Reverse((at, self.seq, what)));
    }

    /// The nearest deadline, `None` when empty.
    pub fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _, _))| *at)
    }

    /// Removes and returns the next timer that is due at `now`, earliest first.
    pub fn pop_due(&mut self, now: Instant) -> Option<T> {
        match self.heap.peek() {
            Some(Reverse((at, _, _))) if *at <= now => self.heap.pop().map(|Reverse((_, _, t))| t),
            _ => None,
        }
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn earliest_first_and_equal_deadlines_in_arming_order() {
        let t0 = Instant::now();
        let mut t = Timers::default();
        assert_eq!(t.next(), None);
        t.arm(t0 + Duration::from_millis(30), "c");
        t.arm(t0 + Duration::from_millis(10), "b");
        t.arm(t0 + Duration::from_millis(10), "a");
        assert_eq!(t.next(), Some(t0 + Duration::from_millis(10)));
        assert_eq!(t.pop_due(t0), None);
        let t1 = t0 + Duration::from_millis(10);
        // "b" was armed first, so it fires first even though "a" < "b".
        assert_eq!(t.pop_due(t1), Some("b"));
        assert_eq!(t.pop_due(t1), Some("a"));
        assert_eq!(t.pop_due(t1), None);
        assert_eq!(t.next(), Some(t0 + Duration::from_millis(30)));
        assert_eq!(t.pop_due(t0 + Duration::from_secs(1)), Some("c"));
        assert!(t.is_empty());
    }
}
