//! Diagnoses from how long the phases of a network attempt took: when
//! attempts time out, which phase used the time (no connection, accepted
//! but no answer, an answer that does not end), with the observed p50/p95
//! of recent attempts against `timeout_seconds`. Pure, with a fixed-size
//! window of durations per probe (recording one is a store, no allocation).

use super::Diagnosis;
use crate::duration::display;
use crate::probe::outcome::{NetEvidence, Outcome};
use std::net::SocketAddr;
use std::time::Duration;

/// Durations kept per probe.
pub(crate) const WINDOW: usize = 32;

/// The last `WINDOW` attempts' durations, in microseconds (saturating).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    micros: [u32; WINDOW],
    len: u8,
    next: u8,
}

impl Default for Window {
    fn default() -> Self {
        Window {
            micros: [0; WINDOW],
            len: 0,
            next: 0,
        }
    }
}

impl Window {
    pub(crate) fn push(&mut self, d: Duration) {
        self.micros[self.next as usize] = u32::try_from(d.as_micros()).unwrap_or(u32::MAX);
        self.next = ((self.next as usize + 1) % WINDOW) as u8;
        self.len = (self.len as usize + 1).min(WINDOW) as u8;
    }

    /// (p50, p95, attempts) by the nearest rank; `None` when empty.
    pub(crate) fn percentiles(&self) -> Option<(Duration, Duration, usize)> {
        let n = self.len as usize;
        if n == 0 {
            return None;
        }
        let mut sorted = self.micros;
        let sorted = &mut sorted[..n];
        sorted.sort_unstable();
        let rank = |p: usize| sorted[(p * n).div_ceil(100).max(1) - 1];
        let us = |v: u32| Duration::from_micros(v as u64);
        Some((us(rank(50)), us(rank(95)), n))
    }
}

/// Whether an attempt's duration goes into the window: one that timed out
/// or completed (succeeded, or got a whole response head) shows how long the
/// app takes; one refused, reset or closed before an answer (often in 0 ms)
/// says nothing of the phases and would pull the percentiles down.
pub(crate) fn counts(outcome: &Outcome) -> bool {
    outcome.success || outcome.net.is_some_and(|n| n.timed_out || n.status != 0)
}

/// A timed-out attempt's evidence.
pub(crate) struct TimedOut<'a> {
    pub addr: SocketAddr,
    pub net: &'a NetEvidence,
    pub timeout: Duration,
    pub window: &'a Window,
}

/// Which phase used the time of an attempt that timed out.
pub(crate) fn timed_out(t: &TimedOut) -> Diagnosis {
    let net = t.net;
    let limit = display(t.timeout);
    let (kind, what) = match (net.connected, net.sent, net.first_byte) {
        (None, _, _) => (
            "timeout_connect",
            format!(
                "no connection: the connect to {} did not complete in {limit} (the app listens \
                 but does not accept, its accept queue full; or packets are dropped)",
                t.addr
            ),
        ),
        (Some(c), None, _) => (
            "timeout_no_answer",
            format!(
                "accepted but the request was not taken: connected in {}, the request not sent \
                 in {limit} (the app does not read its connections)",
                display(c)
            ),
        ),
        (Some(c), Some(_), None) => (
            "timeout_no_answer",
            format!(
                "accepted but no worker answered: connected in {}, request sent, no first byte \
                 in {limit} (every worker busy or blocked: a long request, a lock, a \
                 single-threaded server at work)",
                display(c)
            ),
        ),
        (Some(_), Some(_), Some(f)) => (
            "timeout_slow_body",
            format!(
                "the answer started but did not end: first byte after {}, no last byte in \
                 {limit} (a slow or endless body)",
                display(f)
            ),
        ),
    };
    let recent = match t.window.percentiles() {
        Some((p50, p95, n)) => format!(
            "; the last {n} attempts took p50 {}, p95 {} against timeout_seconds {limit}",
            display(p50),
            display(p95)
        ),
        None => String::new(),
    };
    Diagnosis::new(
        kind,
        t.addr.port().to_string(),
        format!("attempts time out: {what}{recent}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn percentiles_by_nearest_rank_over_the_last_attempts() {
        let mut w = Window::default();
        assert_eq!(w.percentiles(), None);
        w.push(ms(7));
        assert_eq!(w.percentiles(), Some((ms(7), ms(7), 1)));
        let mut w = Window::default();
        for i in 1..=20 {
            w.push(ms(i));
        }
        assert_eq!(w.percentiles(), Some((ms(10), ms(19), 20)));
        // Older attempts leave the window.
        for _ in 0..WINDOW {
            w.push(ms(1000));
        }
        assert_eq!(w.percentiles(), Some((ms(1000), ms(1000), WINDOW)));
        let mut w = Window::default();
        w.push(Duration::from_secs(1 << 40)); // saturates, does not wrap
        assert_eq!(
            w.percentiles().unwrap().0,
            Duration::from_micros(u32::MAX as u64)
        );
    }

    #[test]
    fn only_attempts_that_timed_out_or_completed_count() {
        let attempt = |success: bool, took: u64, net: Option<NetEvidence>| Outcome {
            success,
            warning: false,
            message: String::new(),
            target: "tcp 10.0.0.5:8000".into(),
            output: String::new(),
            duration: ms(took),
            net,
            cannot_run: None,
        };
        let net = |connected: Option<u64>, status: u16, timed_out: bool| {
            Some(NetEvidence {
                connected: connected.map(ms),
                status,
                timed_out,
                ..NetEvidence::default()
            })
        };
        // (attempt, counts)
        let table = [
            (attempt(true, 3, net(Some(1), 200, false)), true), // an http_get answered 2xx
            (attempt(true, 2, net(Some(2), 0, false)), true),   // a tcp_socket connected
            (attempt(false, 4, net(Some(1), 500, false)), true), // answered, a failure
            (attempt(false, 1000, net(None, 0, true)), true),   // timed out connecting
            (attempt(false, 1000, net(Some(1), 0, true)), true), // timed out for the answer
            (attempt(false, 0, None), false),                   // refused at the connect
            (attempt(false, 0, net(None, 0, false)), false),    // refused after a wait
            (attempt(false, 1, net(Some(0), 0, false)), false), // closed before an answer
        ];
        for (i, (o, want)) in table.iter().enumerate() {
            assert_eq!(counts(o), *want, "case {i}: {o:?}");
        }
        // A probe refused between its timeouts: the refusals (0 ms) do not
        // pull the percentiles down to nothing.
        let mut w = Window::default();
        for o in [
            attempt(false, 1000, net(None, 0, true)),
            attempt(false, 0, None),
            attempt(false, 0, None),
            attempt(false, 0, None),
            attempt(false, 1000, net(None, 0, true)),
        ] {
            if counts(&o) {
                w.push(o.duration);
            }
        }
        assert_eq!(w.percentiles(), Some((ms(1000), ms(1000), 2)));
    }

    #[test]
    fn the_phase_that_used_the_time() {
        let mut w = Window::default();
        for d in [2, 3, 3, 4, 1000] {
            w.push(ms(d));
        }
        let at = |c: Option<u64>, s: Option<u64>, f: Option<u64>| NetEvidence {
            connected: c.map(ms),
            sent: s.map(ms),
            first_byte: f.map(ms),
            ..NetEvidence::default()
        };
        let recent = "; the last 5 attempts took p50 3ms, p95 1s against timeout_seconds 1s";
        let table = [
            (at(None, None, None), format!("timeout_connect: attempts time out: no connection: the connect to 10.0.0.5:8000 did not complete in 1s (the app listens but does not accept, its accept queue full; or packets are dropped){recent}")),
            (at(Some(0), None, None), "timeout_no_answer: attempts time out: accepted but the request was not taken: connected in 0ms, the request not sent in 1s".into()),
            (at(Some(0), Some(0), None), format!("timeout_no_answer: attempts time out: accepted but no worker answered: connected in 0ms, request sent, no first byte in 1s (every worker busy or blocked: a long request, a lock, a single-threaded server at work){recent}")),
            (at(Some(0), Some(0), Some(12)), "timeout_slow_body: attempts time out: the answer started but did not end: first byte after 12ms, no last byte in 1s".into()),
        ];
        for (net, want) in table {
            let d = timed_out(&TimedOut {
                addr: "10.0.0.5:8000".parse().unwrap(),
                net: &net,
                timeout: Duration::from_secs(1),
                window: &w,
            });
            let got = format!("{}: {}", d.kind, d.text);
            assert!(got.starts_with(&want), "\n got {got}\nwant {want}");
            assert_eq!(d.key, "8000");
        }
    }
}
