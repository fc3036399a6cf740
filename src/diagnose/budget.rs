//! Start-up budgets over restarts: how long the app took, in each run, to
//! start listening (its first attempt not refused) and to answer its first
//! success, kept across in-place restarts. When a startup or liveness check
//! stops a command that never answered, that history says whether it was
//! only slow, and which `startup_check` would let it start.

use super::Diagnosis;
use crate::config::model::ProbeKind;
use crate::duration::display;
use crate::probe::outcome::Outcome;
use crate::probe::per_probe::PerProbe;
use crate::probe::state::Timing;
use std::time::{Duration, Instant};

/// A startup check allows this much more than the slowest start seen.
const MARGIN_PERCENT: u32 = 50;

#[derive(Debug, Default)]
pub(crate) struct Budgets {
    /// When the command last started.
    started: Option<Instant>,
    /// This run: when it first listened, first answered (since its start).
    listening: Option<Duration>,
    answered: Option<Duration>,
    /// The slowest of earlier runs that answered: (listening, answered).
    slowest: Option<(Option<Duration>, Duration)>,
    /// Runs that answered, in all.
    answered_runs: u32,
    /// This run answered a request with an error that is not "still
    /// loading" (a status other than 503): broken, not slow.
    answered_error: bool,
}

/// Whether an attempt reached a listener (anything but a refused or
/// unreachable connection).
fn reached(outcome: &Outcome) -> bool {
    outcome.success
        || !(outcome.message.contains("connection refused")
            || outcome.message.contains("no route to host")
            || outcome.message.contains("network is unreachable"))
}

impl Budgets {
    pub(crate) fn started(&mut self, now: Instant) {
        self.started = Some(now);
        self.listening = None;
        self.answered = None;
        self.answered_error = false;
    }

    /// An attempt of a network probe ended (`exec` probes say nothing of listening).
    pub(crate) fn attempt(&mut self, outcome: &Outcome, network: bool, now: Instant) {
        let Some(started) = self.started else {
            return;
        };
        let since = now.saturating_duration_since(started);
        if network && self.listening.is_none() && reached(outcome) {
            self.listening = Some(since);
        }
        let status = outcome.net.as_ref().map_or(0, |n| n.status);
        if !outcome.success && status != 0 && status != 503 {
            self.answered_error = true;
        }
        if outcome.success && self.answered.is_none() {
            self.answered = Some(since);
            self.answered_runs += 1;
            let slower = self.slowest.is_none_or(|(_, a)| since > a);
            if slower {
                self.slowest = Some((self.listening, since));
            }
        }
    }

    /// `probe` stops the command, which has not answered in this run: what
    /// earlier runs say, and the startup check that would fit.
    pub(crate) fn stopped(
        &self,
        probe: ProbeKind,
        timings: &PerProbe<Option<Timing>>,
        now: Instant,
    ) -> Option<Diagnosis> {
        // An app that answered (even with an error other than 503) is not
        // loading: its failure has another cause, said by its own line.
        if self.answered.is_some() || self.answered_error || probe == ProbeKind::Readiness {
            return None;
        }
        let ran = now.saturating_duration_since(self.started?);
        let timing = timings[probe]?;
        let this_run = match self.listening {
            Some(l) => format!(
                "it started listening after {} but never answered",
                display(l)
            ),
            None => "it never started listening".to_string(),
        };
        let Some((listening, answered)) = self.slowest else {
            return Some(Diagnosis::new(
                "slow_start",
                format!("{}:first", probe.name()),
                format!(
                    "the {} check stopped the command after {} of running: {this_run}. If the \
                     app is only slow to load, {}",
                    probe.name(),
                    display(ran),
                    match probe {
                        ProbeKind::Startup =>
                            "raise the startup_check's failure_threshold to \
                                               cover its load time",
                        _ =>
                            "give it a startup_check whose period_seconds x failure_threshold \
                              covers its load time (liveness waits until startup succeeds)",
                    }
                ),
            ));
        };
        let needed = answered + answered * MARGIN_PERCENT / 100;
        // Whole seconds (EAS takes no fraction), rounded up, at least 1: the
        // threshold is counted in the period the line names.
        let period = timing.period.as_nanos().div_ceil(1_000_000_000).max(1);
        let threshold = needed.as_nanos().div_ceil(period * 1_000_000_000);
        let earlier = match listening {
            Some(l) => format!(
                "an earlier run started listening after {} and answered after {}",
                display(l),
                display(answered)
            ),
            None => format!("an earlier run answered after {}", display(answered)),
        };
        let fix = match probe {
            ProbeKind::Startup => format!(
                "raise the startup_check's failure_threshold to {threshold} (period_seconds \
                 {period})"
            ),
            _ => format!(
                "add a startup_check with period_seconds {period} and failure_threshold \
                 {threshold} (liveness waits until startup succeeds)"
            ),
        };
        Some(Diagnosis::new(
            "slow_start",
            format!("{}:{threshold}", probe.name()),
            format!(
                "the {} check stopped the command after {} of running: {this_run}; {earlier}: \
                 it is slow, not broken. {fix}",
                probe.name(),
                display(ran)
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(success: bool, message: &str) -> Outcome {
        Outcome {
            success,
            warning: false,
            message: message.into(),
            target: "tcp 10.0.0.5:8000".into(),
            output: String::new(),
            duration: Duration::ZERO,
            net: None,
            cannot_run: None,
        }
    }

    fn timings() -> PerProbe<Option<Timing>> {
        let mut t = PerProbe::default();
        t[ProbeKind::Liveness] = Some(Timing {
            initial_delay: Duration::from_secs(10),
            period: Duration::from_secs(10),
            success_threshold: 1,
            failure_threshold: 3,
        });
        t
    }

    #[test]
    fn a_slow_starter_killed_by_liveness_gets_the_startup_check_that_fits() {
        let t0 = Instant::now();
        let s = |n: u64| t0 + Duration::from_secs(n);
        let mut b = Budgets::default();
        // Run 1 (say, with a longer liveness): listening at 50 s, answers at 60 s.
        b.started(s(0));
        b.attempt(&outcome(false, "connection refused"), true, s(20));
        b.attempt(
            &outcome(false, "HTTP probe failed with statuscode: 503"),
            true,
            s(50),
        );
        b.attempt(&outcome(true, "ok"), true, s(60));
        assert_eq!(
            b.stopped(ProbeKind::Liveness, &timings(), s(61)),
            None,
            "it answered"
        );
        // Run 2: killed by liveness at 40 s, still refused.
        b.started(s(100));
        b.attempt(&outcome(false, "connection refused"), true, s(120));
        let d = b
            .stopped(ProbeKind::Liveness, &timings(), s(140))
            .expect("a diagnosis");
        assert_eq!(d.kind, "slow_start");
        assert_eq!(
            d.text,
            "the liveness check stopped the command after 40s of running: it never started \
             listening; an earlier run started listening after 50s and answered after 60s: it \
             is slow, not broken. add a startup_check with period_seconds 10 and \
             failure_threshold 9 (liveness waits until startup succeeds)"
        );
        // Readiness never stops anything.
        assert_eq!(b.stopped(ProbeKind::Readiness, &timings(), s(140)), None);
    }

    #[test]
    fn the_suggested_check_covers_the_start_in_the_period_it_names() {
        let t0 = Instant::now();
        let s = |n: u64| t0 + Duration::from_secs(n);
        let mut b = Budgets::default();
        b.started(s(0));
        b.attempt(&outcome(true, "ok"), true, s(60));
        b.started(s(100));
        // (stopping period, suggestion): 60 s and half again is 90 s, in
        // whole seconds of the period, rounded up.
        let table = [
            (
                Duration::from_millis(1500),
                "period_seconds 2 and failure_threshold 45",
            ),
            (
                Duration::from_millis(100),
                "period_seconds 1 and failure_threshold 90",
            ),
            (
                Duration::from_secs(7),
                "period_seconds 7 and failure_threshold 13",
            ),
        ];
        for (period, want) in table {
            let mut t = timings();
            t[ProbeKind::Liveness] = t[ProbeKind::Liveness].map(|t| Timing { period, ..t });
            let d = b.stopped(ProbeKind::Liveness, &t, s(140)).unwrap();
            assert!(d.text.contains(want), "{period:?}: {}", d.text);
        }
    }

    #[test]
    fn without_an_earlier_answer_it_says_what_it_saw() {
        let t0 = Instant::now();
        let mut b = Budgets::default();
        b.started(t0);
        b.attempt(
            &outcome(false, "HTTP probe failed with statuscode: 503"),
            true,
            t0 + Duration::from_secs(5),
        );
        let d = b
            .stopped(
                ProbeKind::Liveness,
                &timings(),
                t0 + Duration::from_secs(40),
            )
            .unwrap();
        assert!(
            d.text.starts_with(
                "the liveness check stopped the command after 40s of running: it started \
                 listening after 5s but never answered. If the app is only slow to load"
            ),
            "{}",
            d.text
        );
    }

    #[test]
    fn an_app_that_answers_an_error_is_not_a_slow_starter() {
        let t0 = Instant::now();
        let s = |n: u64| t0 + Duration::from_secs(n);
        // (status answered, a slow-start line): 503 is "still loading".
        for (status, said) in [(404, false), (500, false), (503, true)] {
            let mut b = Budgets::default();
            b.started(s(0));
            let mut o = outcome(false, "HTTP probe failed");
            o.net = Some(crate::probe::outcome::NetEvidence {
                status,
                ..Default::default()
            });
            b.attempt(&o, true, s(5));
            let d = b.stopped(ProbeKind::Liveness, &timings(), s(40));
            assert_eq!(d.is_some(), said, "{status}");
        }
    }
}
