//! What the socket serves beyond the supervisor's own state: the event
//! history, the metrics' counters, each probe's last attempts, and when
//! things happened (wall-clock times, which the supervisor does not keep).
//! Fed every change, in order, by the event loop.
//!
//! A probe attempt that only continues a run of successes is counted but is
//! no `/events` line: a probe that keeps succeeding writes nothing, so an idle
//! vigil's history neither churns nor pushes out what a reconnecting agent
//! wants. Every failure, and the first success after anything else, is one.

use super::events::History;
use crate::config::model::ProbeKind;
use crate::probe::outcome::Outcome;
use crate::probe::per_probe::PerProbe;
use crate::supervisor::Change;
use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

/// How many attempts of each probe `/status` shows.
pub(crate) const LAST_ATTEMPTS: usize = 4;
/// How much of an attempt's body or output `/status` shows.
pub(crate) const OUTPUT_BYTES: usize = 128;

/// Upper bounds of the attempt duration histogram, in microseconds.
pub(crate) const BUCKETS_US: [u64; 14] = [
    500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000,
    2_500_000, 5_000_000, 10_000_000,
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attempt {
    pub at: SystemTime,
    pub duration: Duration,
    pub success: bool,
    pub message: String,
    pub output: String,
}

/// What a configured probe does, for `/status` before any attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProbeInfo {
    pub handler: &'static str,
    pub target: String,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Histogram {
    /// Attempts at or under each bound of `BUCKETS_US` (not cumulative).
    pub buckets: [u64; BUCKETS_US.len()],
    pub count: u64,
    pub sum_us: u64,
}

impl Histogram {
    fn observe(&mut self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        if let Some(i) = BUCKETS_US.iter().position(|&b| us <= b) {
            self.buckets[i] += 1;
        }
        self.count += 1;
        self.sum_us = self.sum_us.saturating_add(us);
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Metrics {
    /// Attempts by probe: [failures, successes].
    pub attempts: PerProbe<[u64; 2]>,
    pub durations: PerProbe<Histogram>,
    pub reaped: u64,
    pub forwarded: u64,
    pub status_requests: u64,
    pub events_dropped: u64,
    pub connections_refused: u64,
}

#[derive(Debug)]
pub(crate) struct Record {
    pub history: History,
    pub metrics: Metrics,
    pub attempts: PerProbe<VecDeque<Attempt>>,
    pub probes: PerProbe<Option<ProbeInfo>>,
    /// When the command last started.
    pub started_at: Option<SystemTime>,
    /// When readiness last changed (vigil's start until it first does).
    pub ready_since: SystemTime,
    /// Each probe's last outcome since the command started.
    last_success: PerProbe<Option<bool>>,
    /// Each failing probe's diagnosis (when, kind, text) until it succeeds.
    pub diagnoses: PerProbe<Option<(SystemTime, &'static str, String)>>,
    /// The command's latest diagnosis (kept across restarts: said once).
    pub command_diagnosis: Option<(SystemTime, &'static str, String)>,
}

fn truncated(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

impl Record {
    pub(crate) fn new(probes: PerProbe<Option<ProbeInfo>>, now: SystemTime) -> Record {
        Record {
            history: History::default(),
            metrics: Metrics::default(),
            attempts: PerProbe::default(),
            probes,
            started_at: None,
            ready_since: now,
            last_success: PerProbe::default(),
            diagnoses: PerProbe::default(),
            command_diagnosis: None,
        }
    }

    /// Takes in `change`; returns its event line, if it is an event.
    pub(crate) fn record(&mut self, change: &Change, now: SystemTime) -> Option<&str> {
        let m = &mut self.metrics;
        match change {
            Change::Started { .. } => {
                self.started_at = Some(now);
                self.attempts = PerProbe::default();
                self.last_success = PerProbe::default();
                self.diagnoses = PerProbe::default();
            }
            Change::Ready(_) => self.ready_since = now,
            Change::Forwarding { .. } | Change::ForwardingToGroup { .. } => m.forwarded += 1,
            Change::Ended { .. } | Change::Reaped { .. } => m.reaped += 1,
            Change::Diagnosis { probe, kind, text } => {
                self.diagnoses[*probe] = Some((now, kind, text.clone()));
            }
            Change::CommandDiagnosis { kind, text } => {
                self.command_diagnosis = Some((now, kind, text.clone()));
            }
            Change::DiagnosisHeld { probe, kind, text } => {
                let latest = match probe {
                    Some(probe) => &mut self.diagnoses[*probe],
                    None => &mut self.command_diagnosis,
                };
                // Held again at each failure: its time is when first held.
                if latest
                    .as_ref()
                    .is_none_or(|(_, k, t)| k != kind || t != text)
                {
                    *latest = Some((now, kind, text.clone()));
                }
            }
            Change::ProbeResult { probe, outcome, .. } => {
                if outcome.success {
                    self.diagnoses[*probe] = None;
                }
                self.attempt(*probe, outcome, now);
                let before = self.last_success[*probe].replace(outcome.success);
                if outcome.success && before == Some(true) {
                    return None;
                }
            }
            _ => {}
        }
        self.history.record(change, now)
    }

    fn attempt(&mut self, probe: ProbeKind, outcome: &Outcome, now: SystemTime) {
        self.metrics.attempts[probe][usize::from(outcome.success)] += 1;
        self.metrics.durations[probe].observe(outcome.duration);
        let last = &mut self.attempts[probe];
        if last.len() == LAST_ATTEMPTS {
            last.pop_front();
        }
        last.push_back(Attempt {
            at: now,
            duration: outcome.duration,
            success: outcome.success,
            message: outcome.message.clone(),
            output: truncated(&outcome.output, OUTPUT_BYTES),
        });
        if let Some(info) = self.probes[probe].as_mut() {
            if info.target != outcome.target {
                info.target.clone_from(&outcome.target);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit_status::ChildStatus;

    fn outcome(success: bool, us: u64, output: &str) -> Outcome {
        Outcome {
            success,
            warning: false,
            message: format!("m{us}"),
            target: "tcp 127.0.0.1:8000".into(),
            output: output.into(),
            duration: Duration::from_micros(us),
            net: None,
            cannot_run: None,
        }
    }

    #[test]
    fn changes_feed_counters_attempts_and_times() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let mut r = Record::new(
            PerProbe::from_fn(|k| {
                (k == ProbeKind::Liveness).then(|| ProbeInfo {
                    handler: "tcp_socket",
                    target: "tcp 127.0.0.1:8000".into(),
                })
            }),
            t0,
        );
        let t1 = t0 + Duration::from_secs(1);
        r.record(&Change::Started { pid: 5 }, t1);
        assert_eq!(r.started_at, Some(t1));
        let long = "é".repeat(100); // 200 bytes: cut on a character boundary
        for (i, us) in [100, 900, 3_000, 20_000_000, 700].into_iter().enumerate() {
            let change = Change::ProbeResult {
                probe: ProbeKind::Liveness,
                outcome: outcome(i != 2, us, &long),
                run: 1,
                threshold: 3,
            };
            r.record(&change, t1);
        }
        assert_eq!(r.metrics.attempts[ProbeKind::Liveness], [1, 4]);
        // Events: the first success, the failure, the success after it.
        assert_eq!(r.history.since(0).text.lines().count(), 1 + 3);
        let h = &r.metrics.durations[ProbeKind::Liveness];
        assert_eq!(h.count, 5);
        assert_eq!(h.sum_us, 20_004_700);
        assert_eq!(h.buckets[0], 1); // 100 us
        assert_eq!(h.buckets[1], 2); // 700, 900 us
        assert_eq!(h.buckets[3], 1); // 3 ms
        assert_eq!(h.buckets.iter().sum::<u64>(), 4); // 20 s: only in +Inf
        let last = &r.attempts[ProbeKind::Liveness];
        assert_eq!(last.len(), LAST_ATTEMPTS);
        assert_eq!(last[0].message, "m900");
        assert_eq!(last[0].output.len(), 128);
        r.record(&Change::Forwarding { signal: 15, pid: 5 }, t1);
        let status = ChildStatus::Exited(0);
        r.record(&Change::Ended { pid: 5, status }, t1);
        r.record(&Change::Reaped { pid: 9, status }, t1);
        assert_eq!((r.metrics.forwarded, r.metrics.reaped), (1, 2));
        let t2 = t1 + Duration::from_secs(1);
        r.record(&Change::Ready(true), t2);
        assert_eq!(r.ready_since, t2);
        r.record(&Change::Started { pid: 6 }, t2);
        assert!(
            r.attempts[ProbeKind::Liveness].is_empty(),
            "a new start, new attempts"
        );
    }

    #[test]
    fn a_diagnosis_held_back_from_the_log_is_the_latest_in_status() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let t1 = t0 + Duration::from_secs(1);
        let mut r = Record::new(PerProbe::default(), t0);
        let r_ = ProbeKind::Readiness;
        let said = Change::Diagnosis {
            probe: r_,
            kind: "port_mismatch",
            text: "said".into(),
        };
        assert!(r.record(&said, t0).is_some(), "an event");
        let held = |probe, text: &str| Change::DiagnosisHeld {
            probe,
            kind: "loopback_only",
            text: text.into(),
        };
        assert_eq!(r.record(&held(Some(r_), "held"), t1), None, "no event");
        assert_eq!(r.diagnoses[r_], Some((t1, "loopback_only", "held".into())));
        // Held again at the next failure: still when it was first held.
        r.record(&held(Some(r_), "held"), t1 + Duration::from_secs(1));
        assert_eq!(r.diagnoses[r_], Some((t1, "loopback_only", "held".into())));
        r.record(&held(None, "command"), t1);
        assert_eq!(
            r.command_diagnosis,
            Some((t1, "loopback_only", "command".into()))
        );
        assert_eq!(r.history.since(0).text.lines().count(), 1);
    }
}
