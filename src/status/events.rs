//! The `/events` stream: one JSON line per supervisor change, numbered, and a
//! history bounded in bytes from which `?since=N` replays.
//!
//! Every change is an event except `ProbeAttempt` (an attempt's start, a
//! trace) and, as `Record` decides, the successes that only continue a run
//! of successes.

use super::json::{self, Object};
use crate::exit_status::ChildStatus;
use crate::log::timestamp;
use crate::signal_name::name;
use crate::supervisor::notify::Ignored;
use crate::supervisor::Change;
use std::collections::VecDeque;
use std::time::SystemTime;

/// How many bytes of event lines are held for `?since=N`.
pub(crate) const HISTORY_BYTES: usize = 64 * 1024;

#[derive(Debug, Default)]
pub(crate) struct History {
    /// The held lines back to back, each with its newline, after `start`
    /// bytes of evicted ones (dropped once they reach `HISTORY_BYTES`). One
    /// buffer: the history costs at most twice `HISTORY_BYTES` however its
    /// lines' lengths vary, where a string per line scattered them over the
    /// heap and, in a soak, cost more than twice that.
    text: String,
    start: usize,
    /// (sequence number, length) of each held line, oldest first.
    lines: VecDeque<(u64, usize)>,
    last_seq: u64,
}

/// What `?since=N` gets: the gap (if any) and the held lines after `N`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Replay<'a> {
    /// The events after `N` that are no longer held (`from..=to`).
    pub missed: Option<(u64, u64)>,
    /// The held lines after `N`, back to back as they are held.
    pub text: &'a str,
}

impl History {
    /// Numbers and keeps the event for `change`, if it is one; returns its line.
    pub(crate) fn record(&mut self, change: &Change, at: SystemTime) -> Option<&str> {
        let seq = self.last_seq + 1;
        let line = line(seq, at, change)?;
        self.last_seq = seq;
        if self.start >= HISTORY_BYTES {
            self.text.drain(..self.start);
            self.start = 0;
        }
        self.text.push_str(&line);
        self.lines.push_back((seq, line.len()));
        while self.text.len() - self.start > HISTORY_BYTES {
            match self.lines.pop_front() {
                Some((_, len)) => self.start += len,
                None => break,
            }
        }
        let newest = self.text.len() - line.len();
        self.lines.back().map(|_| &self.text[newest..])
    }

    #[cfg(test)]
    pub(crate) fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// The events after `since`.
    pub(crate) fn since(&self, since: u64) -> Replay<'_> {
        let oldest = self.lines.front().map_or(self.last_seq + 1, |(s, _)| *s);
        let missed = (since + 1 < oldest && since < self.last_seq)
            .then(|| (since + 1, (oldest - 1).min(self.last_seq)));
        // The held lines are in order: those after `since` are the last ones.
        let skipped: usize = self
            .lines
            .iter()
            .take_while(|&&(seq, _)| seq <= since)
            .map(|&(_, len)| len)
            .sum();
        let text = &self.text[self.start + skipped..];
        Replay { missed, text }
    }
}

/// The line that says events `from..=to` are gone.
pub(crate) fn missed_line(from: u64, to: u64) -> String {
    format!("{{\"seq\":0,\"event\":\"missed\",\"from\":{from},\"to\":{to}}}\n")
}

fn status_fields(o: &mut Object<'_>, status: &ChildStatus) {
    o.raw("code", status.code())
        .opt_str("signal", status.signal().map(name).as_deref())
        .str("text", &status.to_string());
}

/// `{"seq":N,"at":"…","event":"…",…}\n`, or `None` for what is no event.
pub(crate) fn line(seq: u64, at: SystemTime, change: &Change) -> Option<String> {
    let mut out = String::with_capacity(160);
    let mut o = Object::new(&mut out);
    o.raw("seq", seq).str("at", &timestamp(at));
    let signal = |s: &i32| name(*s);
    match change {
        Change::ProbeAttempt { .. } | Change::DiagnosisHeld { .. } => return None,
        Change::Started { pid } => {
            o.str("event", "started").raw("pid", pid);
        }
        Change::Ready(ready) => {
            o.str("event", "ready").raw("ready", ready);
        }
        Change::Forwarding { signal: s, pid } => {
            o.str("event", "forwarding")
                .str("signal", &signal(s))
                .raw("pid", pid);
        }
        Change::ForwardingToGroup { signal: s, pgid } => {
            o.str("event", "forwarding_to_group")
                .str("signal", &signal(s))
                .raw("pgid", pgid);
        }
        Change::Rewritten { from, to } => {
            o.str("event", "rewritten")
                .str("from", &signal(from))
                .str("to", &signal(to));
        }
        Change::Dropped { signal: s } => {
            o.str("event", "dropped").str("signal", &signal(s));
        }
        Change::Suspending { signal: s } => {
            o.str("event", "suspending").str("signal", &signal(s));
        }
        Change::Stopping { signal: s, grace } => {
            o.str("event", "stopping")
                .str("signal", &signal(s))
                .raw("grace_seconds", json::seconds(*grace));
        }
        Change::StoppedWhileBackingOff { signal: s, code } => {
            o.str("event", "stopped_while_backing_off")
                .str("signal", &signal(s))
                .raw("code", code);
        }
        Change::StoppedFromTerminal { signal: s } => {
            o.str("event", "stopped_from_terminal")
                .str("signal", &signal(s));
        }
        Change::Ended { pid, status } => {
            o.str("event", "ended").raw("pid", pid);
            status_fields(&mut o, status);
        }
        Change::Reaped { pid, status } => {
            o.str("event", "reaped").raw("pid", pid);
            status_fields(&mut o, status);
        }
        Change::Killing { pid, grace } => {
            o.str("event", "killing")
                .raw("pid", pid)
                .raw("grace_seconds", json::seconds(*grace));
        }
        Change::KillingGroup { pgid, grace } => {
            o.str("event", "killing_group")
                .raw("pgid", pgid)
                .raw("grace_seconds", json::seconds(*grace));
        }
        Change::ProbeTickDropped { probe } => {
            o.str("event", "probe_tick_dropped")
                .str("probe", probe.name());
        }
        Change::ProbeNotStarted { probe, reason } => {
            o.str("event", "probe_not_started")
                .str("probe", probe.name())
                .str("reason", reason);
        }
        Change::ProbeResult {
            probe,
            outcome,
            run,
            threshold,
        } => {
            o.str("event", "probe_result")
                .str("probe", probe.name())
                .raw("success", outcome.success)
                .raw("run", run)
                .raw("threshold", threshold)
                .raw("duration_ms", json::millis(outcome.duration))
                .str("message", &outcome.message)
                .str("target", &outcome.target);
        }
        Change::Diagnosis { probe, kind, text } => {
            o.str("event", "diagnosis")
                .str("probe", probe.name())
                .str("kind", kind)
                .str("text", text);
        }
        Change::CommandDiagnosis { kind, text } => {
            o.str("event", "diagnosis")
                .raw("probe", "null")
                .str("kind", kind)
                .str("text", text);
        }
        Change::StartupSucceeded { attempts } => {
            o.str("event", "startup_succeeded")
                .raw("attempts", attempts);
        }
        Change::Readiness(ready) => {
            o.str("event", "readiness").raw("ready", ready);
        }
        Change::ProbeStop {
            probe,
            pid,
            threshold,
            message,
            target,
        } => {
            o.str("event", "probe_stop")
                .str("probe", probe.name())
                .raw("pid", pid)
                .raw("threshold", threshold)
                .str("message", message)
                .str("target", target);
        }
        Change::Restarting {
            delay,
            attempt,
            why,
        } => {
            o.str("event", "restarting")
                .raw("delay_seconds", json::seconds(*delay))
                .raw("attempt", attempt)
                .str("why", why);
        }
        Change::RestartsSummarized {
            count,
            window,
            last,
        } => {
            o.str("event", "restarts_summarized")
                .raw("count", count)
                .raw("window_seconds", json::seconds(*window))
                .str("last", last);
        }
        Change::GaveUp { restarts, code } => {
            o.str("event", "gave_up")
                .raw("restarts", restarts)
                .raw("code", code);
        }
        Change::DrainStarted { signal: s, drain } => {
            // The stop began: what SPEC 7 calls the `stopping` event.
            o.str("event", "stopping")
                .str("signal", &signal(s))
                .raw("drain_seconds", json::seconds(*drain));
        }
        Change::DrainEnded {
            signal: s,
            drain,
            grace,
        } => {
            o.str("event", "drained")
                .str("signal", &signal(s))
                .raw("drain_seconds", json::seconds(*drain))
                .raw("grace_seconds", json::seconds(*grace));
        }
        Change::NotifyIgnored { pid, why } => {
            let why = match why {
                Ignored::NotTheCommand => "not_the_command",
                Ignored::NoCommand => "no_command",
                Ignored::Unused => "unused",
            };
            o.str("event", "notify_ignored")
                .raw("pid", pid)
                .str("why", why);
        }
        Change::NotifyState { pid, state } => {
            o.str("event", "notify")
                .raw("pid", pid)
                .str("state", state.name());
        }
        Change::NotifyStatus { text } => {
            o.str("event", "notify_status").str("status", text);
        }
        Change::WatchdogArmed { timeout } => {
            o.str("event", "watchdog_armed")
                .raw("timeout_seconds", json::seconds(*timeout));
        }
        Change::WatchdogTimeout { timeout } => {
            let t = timeout.map(json::seconds);
            o.str("event", "watchdog_timeout")
                .raw("timeout_seconds", t.as_deref().unwrap_or("null"));
        }
        Change::WatchdogStop {
            pid,
            timeout,
            triggered,
        } => {
            o.str("event", "watchdog_stop")
                .raw("pid", pid)
                .raw("timeout_seconds", json::seconds(*timeout))
                .raw("triggered", triggered);
        }
    }
    o.end();
    out.push('\n');
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::ProbeKind;
    use crate::probe::outcome::Outcome;
    use std::time::{Duration, UNIX_EPOCH};

    fn at() -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(1_796_000_000_123)
    }

    fn result(success: bool, run: u32) -> Change {
        Change::ProbeResult {
            probe: ProbeKind::Readiness,
            outcome: Outcome {
                success,
                warning: false,
                message: "connection refused".into(),
                target: "tcp 127.0.0.1:8000".into(),
                output: String::new(),
                duration: Duration::from_micros(120),
                net: None,
                cannot_run: None,
            },
            run,
            threshold: 3,
        }
    }

    #[test]
    fn lines_by_change() {
        let cases = [
            (
                Change::Ready(true),
                Some(r#"{"seq":7,"at":"2026-11-30T00:53:20.123Z","event":"ready","ready":true}"#),
            ),
            (
                Change::Ended {
                    pid: 12,
                    status: ChildStatus::Signaled {
                        signal: 9,
                        core: false,
                    },
                },
                Some(
                    r#"{"seq":7,"at":"2026-11-30T00:53:20.123Z","event":"ended","pid":12,"code":137,"signal":"SIGKILL","text":"killed by SIGKILL"}"#,
                ),
            ),
            (
                result(false, 2),
                Some(
                    r#"{"seq":7,"at":"2026-11-30T00:53:20.123Z","event":"probe_result","probe":"readiness","success":false,"run":2,"threshold":3,"duration_ms":0.120,"message":"connection refused","target":"tcp 127.0.0.1:8000"}"#,
                ),
            ),
            (
                result(true, 1),
                Some(
                    r#"{"seq":7,"at":"2026-11-30T00:53:20.123Z","event":"probe_result","probe":"readiness","success":true,"run":1,"threshold":3,"duration_ms":0.120,"message":"connection refused","target":"tcp 127.0.0.1:8000"}"#,
                ),
            ),
            (
                result(true, 2),
                Some(
                    r#"{"seq":7,"at":"2026-11-30T00:53:20.123Z","event":"probe_result","probe":"readiness","success":true,"run":2,"threshold":3,"duration_ms":0.120,"message":"connection refused","target":"tcp 127.0.0.1:8000"}"#,
                ),
            ),
            (
                Change::ProbeAttempt {
                    probe: ProbeKind::Liveness,
                    attempt: 3,
                    late: Duration::ZERO,
                },
                None,
            ),
        ];
        for (change, want) in cases {
            let got = line(7, at(), &change);
            assert_eq!(got.as_deref().map(str::trim_end), want, "{change:?}");
            if let Some(l) = got {
                assert!(l.ends_with('\n'));
                let _: serde_json::Value = serde_json::from_str(&l).expect("valid JSON");
            }
        }
    }

    #[test]
    fn history_is_bounded_and_replays_with_the_gap_named() {
        let mut h = History::default();
        assert_eq!(
            h.since(0),
            Replay {
                missed: None,
                text: ""
            }
        );
        for _ in 0..3 {
            h.record(&Change::Ready(true), at());
        }
        h.record(
            &Change::ProbeAttempt {
                probe: ProbeKind::Startup,
                attempt: 1,
                late: Duration::ZERO,
            },
            at(),
        ); // not an event: no number taken
        assert_eq!(h.last_seq(), 3);
        assert_eq!(h.since(1).text.lines().count(), 2);
        assert_eq!(h.since(1).missed, None);
        assert_eq!(h.since(3).text.lines().count(), 0);
        assert_eq!(h.since(99).text.lines().count(), 0);
        assert_eq!(h.since(99).missed, None);
        // Fill past the bound: the oldest go, the held bytes stay under it,
        // and the one buffer under twice that (evicted bytes are dropped
        // once they reach the bound), whatever the lines' lengths.
        for i in 0..2000 {
            let newest = h.record(&result(i % 3 == 0, 1 + i % 7), at()).unwrap();
            assert!(newest.ends_with('\n'), "{newest}");
            let len = newest.len();
            assert!(h.text.len() - h.start <= HISTORY_BYTES);
            assert!(h.text.len() <= 2 * HISTORY_BYTES + len);
        }
        let oldest = h.lines.front().unwrap().0;
        assert!(oldest > 4);
        let replay = h.since(1);
        assert_eq!(replay.missed, Some((2, oldest - 1)));
        assert_eq!(replay.text.lines().count(), h.lines.len());
        for line in replay.text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("whole lines");
            assert!(v["seq"].as_u64().unwrap() >= oldest, "{line}");
        }
        assert_eq!(h.since(oldest - 1).missed, None);
        assert_eq!(
            missed_line(2, 9),
            "{\"seq\":0,\"event\":\"missed\",\"from\":2,\"to\":9}\n"
        );
    }
}
