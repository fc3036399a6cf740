//! The event loop's timers: at most one deadline per timer (a probe's next
//! tick, the grace period, ...), so arming a timer again moves it and nothing
//! accumulates however fast the command restarts. The event loop arms its
//! clock (a timerfd) for the nearest deadline. A timer that fires after the
//! state moved on is harmless: whoever receives it checks that it is due.
//! There are a handful of timers, so a linear scan finds the nearest.

use std::collections::BTreeMap;
use std::time::Instant;

#[derive(Debug)]
pub(crate) struct Timers<T: Ord> {
    /// Each timer's deadline and arming sequence (earlier arming fires first
    /// among equal deadlines).
    armed: BTreeMap<T, (Instant, u64)>,
    seq: u64,
}

impl<T: Ord> Default for Timers<T> {
    fn default() -> Self {
        Timers {
            armed: BTreeMap::new(),
            seq: 0,
        }
    }
}

impl<T: Ord + Copy> Timers<T> {
    /// Arms `what` for `at`, replacing its previous deadline.
    pub(crate) fn arm(&mut self, at: Instant, what: T) {
        self.seq += 1;
        self.armed.insert(what, (at, self.seq));
    }

    pub(crate) fn cancel(&mut self, what: T) {
        self.armed.remove(&what);
    }

    fn nearest(&self) -> Option<(T, Instant)> {
        self.armed
            .iter()
            .min_by_key(|(_, when)| **when)
            .map(|(t, (at, _))| (*t, *at))
    }

    /// The nearest deadline of the timers `which` selects.
    pub(crate) fn next_of(&self, which: impl Fn(&T) -> bool) -> Option<Instant> {
        self.armed
            .iter()
            .filter(|(t, _)| which(t))
            .map(|(_, (at, _))| *at)
            .min()
    }

    /// The nearest deadline, `None` when empty.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.nearest().map(|(_, at)| at)
    }

    /// Removes and returns the next timer that is due at `now`, earliest first.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<T> {
        let (what, at) = self.nearest()?;
        if at > now {
            return None;
        }
        self.armed.remove(&what);
        Some(what)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.armed.len()
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.armed.is_empty()
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

    #[test]
    fn arming_again_moves_a_timer_and_cancel_removes_it() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut t = Timers::default();
        for i in 0..1000 {
            t.arm(t0 + ms(i), "grace");
        }
        t.arm(t0 + ms(5), "tick");
        assert_eq!(t.len(), 2, "re-arming does not accumulate");
        assert_eq!(t.next(), Some(t0 + ms(5)));
        assert_eq!(t.pop_due(t0 + ms(998)), Some("tick"));
        assert_eq!(t.pop_due(t0 + ms(998)), None, "grace moved to 999");
        t.arm(t0, "tick");
        t.cancel("tick");
        assert_eq!(t.pop_due(t0 + ms(999)), Some("grace"));
        assert!(t.is_empty());
    }
}
