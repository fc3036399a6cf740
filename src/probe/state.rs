//! One probe's schedule and result, as the kubelet's prober worker keeps them
//! (`pkg/kubelet/prober/worker.go`), as a pure state machine: the caller
//! passes the time and performs what it is told.
//!
//! - Fresh state at every start of the command: readiness starts Failure,
//!   liveness Success, startup Unknown.
//! - First attempt exactly at start + initial delay, then every period on a
//!   fixed schedule measured from the first attempt. A tick that falls while an
//!   attempt still runs is dropped: attempts never overlap.
//! - The result flips only when the same outcome has happened
//!   `success_threshold` (or `failure_threshold`) times in a row.
//! - Startup stops once it succeeds or fails; liveness stops once it fails.

use crate::config::model::ProbeKind;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ProbeResult {
    Unknown,
    Success,
    Failure,
}

/// The numbers of a probe that drive its schedule and thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timing {
    pub initial_delay: Duration,
    pub period: Duration,
    pub success_threshold: u32,
    pub failure_threshold: u32,
}

/// What a tick asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tick {
    /// Start an attempt now.
    Attempt,
    /// Nothing now: gated by startup, stopped, or not due.
    Skip,
    /// An attempt is still running: this tick is dropped.
    Overlap,
}

#[derive(Debug, Clone)]
pub(crate) struct ProbeState {
    pub kind: ProbeKind,
    pub timing: Timing,
    pub result: ProbeResult,
    /// The last attempt's outcome (true = success) and how many times in a row.
    last: Option<bool>,
    run: u32,
    first_at: Instant,
    ticks: u32,
    next_at: Instant,
    in_flight: bool,
    active: bool,
    /// Attempts completed since the command started.
    pub attempts: u64,
}

fn initial_result(kind: ProbeKind) -> ProbeResult {
    match kind {
        ProbeKind::Readiness => ProbeResult::Failure,
        ProbeKind::Liveness => ProbeResult::Success,
        ProbeKind::Startup => ProbeResult::Unknown,
    }
}

impl ProbeState {
    pub(crate) fn new(kind: ProbeKind, timing: Timing, now: Instant) -> ProbeState {
        ProbeState {
            kind,
            timing,
            result: initial_result(kind),
            last: None,
            run: 0,
            first_at: now,
            ticks: 0,
            next_at: now,
            in_flight: false,
            active: false,
            attempts: 0,
        }
    }

    /// Fresh state for a new start of the command at `start`; returns when the
    /// first tick is due.
    pub(crate) fn reset(&mut self, start: Instant) -> Instant {
        *self = ProbeState::new(self.kind, self.timing, start);
        self.active = true;
        self.first_at = start + self.timing.initial_delay;
        self.next_at = self.first_at;
        self.next_at
    }

    pub(crate) fn is_active(&self) -> bool {
        self.active
    }

    pub(crate) fn in_flight(&self) -> bool {
        self.in_flight
    }

    /// The last attempt's outcome (true = success), if any since the start.
    pub(crate) fn last(&self) -> Option<bool> {
        self.last
    }

    /// How many times in a row the last outcome happened.
    pub(crate) fn run(&self) -> u32 {
        self.run
    }

    /// When the next tick is due (meaningful while active).
    pub(crate) fn next_at(&self) -> Instant {
        self.next_at
    }

    /// Stops probing (the command stopped, or the probe is decided).
    pub(crate) fn stop(&mut self) {
        self.active = false;
        self.in_flight = false;
    }

    /// A tick at `now`. `gated`: the probe must not run yet (liveness and
    /// readiness before startup succeeded). Returns what to do and, while the
    /// probe is active, when the next tick is due.
    pub(crate) fn tick(&mut self, now: Instant, gated: bool) -> (Tick, Option<Instant>) {
        if !self.active || now < self.next_at {
            // Stopped, or a stale timer (armed before a reset): the tick
            // that is due is armed already.
            return (Tick::Skip, None);
        }
        // Next tick on the fixed grid from the first attempt; ticks missed
        // while the loop was busy are skipped, not run late in a burst.
        let period = self.timing.period.max(Duration::from_millis(1));
        let elapsed = now.saturating_duration_since(self.first_at);
        let n = (elapsed.as_nanos() / period.as_nanos()) as u32 + 1;
        self.ticks = n.max(self.ticks + 1);
        self.next_at = self.first_at + period * self.ticks;
        let what = if gated {
            Tick::Skip
        } else if self.in_flight {
            Tick::Overlap
        } else {
            self.in_flight = true;
            Tick::Attempt
        };
        (what, Some(self.next_at))
    }

    /// An attempt that could not even be started (fork failure): it does not
    /// count toward a threshold, as in Kubernetes.
    pub(crate) fn not_started(&mut self) {
        self.in_flight = false;
    }

    /// Records an attempt's outcome; returns the new result when it flips.
    pub(crate) fn record(&mut self, success: bool) -> Option<ProbeResult> {
        if !self.in_flight {
            return None; // stale: the probe was stopped or reset meanwhile
        }
        self.in_flight = false;
        self.attempts += 1;
        if self.last == Some(success) {
            self.run = self.run.saturating_add(1);
        } else {
            self.last = Some(success);
            self.run = 1;
        }
        let threshold = if success {
            self.timing.success_threshold
        } else {
            self.timing.failure_threshold
        };
        if self.run < threshold {
            return None;
        }
        let new = if success {
            ProbeResult::Success
        } else {
            ProbeResult::Failure
        };
        let decided = match self.kind {
            ProbeKind::Startup => true,
            ProbeKind::Liveness => !success,
            ProbeKind::Readiness => false,
        };
        if decided {
            self.active = false;
        }
        if new == self.result {
            return None;
        }
        self.result = new;
        Some(new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProbeResult::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn timing(delay: u64, period: u64, succ: u32, fail: u32) -> Timing {
        Timing {
            initial_delay: ms(delay),
            period: ms(period),
            success_threshold: succ,
            failure_threshold: fail,
        }
    }

    #[test]
    fn fresh_state_per_kind() {
        let t0 = Instant::now();
        let t = timing(0, 100, 1, 3);
        assert_eq!(ProbeState::new(ProbeKind::Readiness, t, t0).result, Failure);
        assert_eq!(ProbeState::new(ProbeKind::Liveness, t, t0).result, Success);
        assert_eq!(ProbeState::new(ProbeKind::Startup, t, t0).result, Unknown);
    }

    #[test]
    fn first_attempt_exactly_at_initial_delay_then_a_fixed_grid() {
        let t0 = Instant::now();
        let mut p = ProbeState::new(ProbeKind::Readiness, timing(3000, 1000, 1, 3), t0);
        assert_eq!(p.reset(t0), t0 + ms(3000));
        // Early (a stale timer from before the reset): nothing, and no new
        // timer, since the one for 3000 is armed already.
        assert_eq!(p.tick(t0 + ms(2999), false), (Tick::Skip, None));
        assert_eq!(
            p.tick(t0 + ms(3000), false),
            (Tick::Attempt, Some(t0 + ms(4000)))
        );
        p.record(true);
        // A late tick (loop busy 7 ms) keeps the grid: next is still 5000.
        assert_eq!(
            p.tick(t0 + ms(4007), false),
            (Tick::Attempt, Some(t0 + ms(5000)))
        );
        p.record(true);
        // A tick 2.5 periods late skips the missed ones, no burst.
        assert_eq!(
            p.tick(t0 + ms(7500), false),
            (Tick::Attempt, Some(t0 + ms(8000)))
        );
    }

    #[test]
    fn no_overlap_when_an_attempt_outlives_the_period() {
        let t0 = Instant::now();
        let mut p = ProbeState::new(ProbeKind::Liveness, timing(0, 100, 1, 3), t0);
        p.reset(t0);
        assert_eq!(p.tick(t0, false).0, Tick::Attempt);
        assert_eq!(p.tick(t0 + ms(100), false).0, Tick::Overlap);
        assert_eq!(p.tick(t0 + ms(200), false).0, Tick::Overlap);
        assert_eq!(p.record(false), None);
        assert_eq!(p.tick(t0 + ms(300), false).0, Tick::Attempt);
        assert_eq!(p.attempts, 1);
    }

    #[test]
    fn gated_ticks_do_not_attempt_but_keep_the_grid() {
        let t0 = Instant::now();
        let mut p = ProbeState::new(ProbeKind::Readiness, timing(0, 100, 1, 3), t0);
        p.reset(t0);
        assert_eq!(p.tick(t0, true), (Tick::Skip, Some(t0 + ms(100))));
        assert_eq!(
            p.tick(t0 + ms(100), false),
            (Tick::Attempt, Some(t0 + ms(200)))
        );
    }

    /// Feeds outcomes and returns the result after each.
    fn run_outcomes(kind: ProbeKind, t: Timing, outcomes: &[bool]) -> Vec<(ProbeResult, bool)> {
        let t0 = Instant::now();
        let mut p = ProbeState::new(kind, t, t0);
        p.reset(t0);
        let mut now = t0;
        outcomes
            .iter()
            .map(|&ok| {
                let (what, _) = p.tick(now, false);
                assert_eq!(what, Tick::Attempt, "{kind:?} stopped early");
                p.record(ok);
                now += t.period;
                (p.result, p.is_active())
            })
            .collect()
    }

    #[test]
    fn thresholds_count_consecutive_outcomes() {
        let t = timing(0, 10, 2, 3);
        // Readiness: Failure until 2 successes in a row; Failure again after 3 failures in a row.
        let got = run_outcomes(
            ProbeKind::Readiness,
            t,
            &[
                true, false, true, true, false, false, true, false, false, false, true, true,
            ],
        );
        let results: Vec<ProbeResult> = got.iter().map(|(r, _)| *r).collect();
        assert_eq!(
            results,
            [
                Failure, Failure, Failure, Success, Success, Success, Success, Success, Success,
                Failure, Failure, Success
            ]
        );
        assert!(
            got.iter().all(|(_, active)| *active),
            "readiness never stops"
        );
    }

    #[test]
    fn liveness_fails_after_failure_threshold_and_stops() {
        let got = run_outcomes(
            ProbeKind::Liveness,
            timing(0, 10, 1, 4),
            &[false, false, true, false, false, false, false],
        );
        let want = [
            (Success, true),
            (Success, true),
            (Success, true),
            (Success, true),
            (Success, true),
            (Success, true),
            (Failure, false),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn startup_stops_once_decided_either_way() {
        let got = run_outcomes(
            ProbeKind::Startup,
            timing(0, 10, 1, 3),
            &[false, false, true],
        );
        assert_eq!(got, [(Unknown, true), (Unknown, true), (Success, false)]);
        let got = run_outcomes(
            ProbeKind::Startup,
            timing(0, 10, 1, 3),
            &[false, false, false],
        );
        assert_eq!(got, [(Unknown, true), (Unknown, true), (Failure, false)]);
        let t0 = Instant::now();
        let mut p = ProbeState::new(ProbeKind::Startup, timing(0, 10, 1, 1), t0);
        p.reset(t0);
        p.tick(t0, false);
        p.record(true);
        assert_eq!(p.tick(t0 + ms(10), false), (Tick::Skip, None));
    }

    #[test]
    fn success_threshold_above_one_on_liveness_is_honoured() {
        // EAS example: success_threshold 2 on liveness. Liveness starts Success,
        // so it only matters after a failure, which stops liveness anyway.
        let got = run_outcomes(
            ProbeKind::Liveness,
            timing(0, 10, 2, 2),
            &[true, false, true, false],
        );
        assert!(got.iter().all(|(r, _)| *r == Success));
    }

    #[test]
    fn reset_gives_fresh_state_and_ignores_stale_outcomes() {
        let t0 = Instant::now();
        let mut p = ProbeState::new(ProbeKind::Liveness, timing(0, 10, 1, 2), t0);
        p.reset(t0);
        p.tick(t0, false);
        p.record(false);
        assert_eq!(p.run(), 1);
        p.tick(t0 + ms(10), false); // in flight when the command restarts
        let t1 = t0 + ms(15);
        assert_eq!(p.reset(t1), t1);
        assert_eq!(p.record(false), None, "the old attempt's outcome is stale");
        assert_eq!(p.run(), 0);
        assert_eq!((p.result, p.attempts), (Success, 0));
        p.tick(t1, false);
        assert_eq!(
            p.record(false),
            None,
            "one failure of two: no flip, the stale count is gone"
        );
    }

    #[test]
    fn stopped_probe_never_attempts() {
        let t0 = Instant::now();
        let mut p = ProbeState::new(ProbeKind::Readiness, timing(0, 10, 1, 1), t0);
        p.reset(t0);
        p.stop();
        assert_eq!(p.tick(t0 + ms(50), false), (Tick::Skip, None));
        assert_eq!(p.record(true), None);
    }

    #[test]
    fn not_started_attempts_do_not_count() {
        let t0 = Instant::now();
        let mut p = ProbeState::new(ProbeKind::Liveness, timing(0, 10, 1, 1), t0);
        p.reset(t0);
        p.tick(t0, false);
        p.not_started();
        assert_eq!(p.attempts, 0);
        assert_eq!(p.tick(t0 + ms(10), false).0, Tick::Attempt);
    }
}
