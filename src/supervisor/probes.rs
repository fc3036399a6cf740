//! The supervisor's probe half: ticks become attempts (gated by startup, never
//! overlapping), outcomes update the probe states, and a startup or liveness
//! failure stops the command.

use super::*;

impl Supervisor {
    pub(super) fn on_probe_tick(&mut self, index: usize, now: Instant, out: &mut Vec<Action>) {
        let gated = index != STARTUP && !self.started();
        let Some(p) = self.probes[index].as_mut() else {
            return;
        };
        let planned = p.next_at();
        let (what, next) = p.tick(now, gated);
        if let Some(at) = next {
            out.push(Action::Arm {
                timer: Timer::ProbeTick(index),
                at,
            });
        }
        match what {
            Tick::Attempt => {
                // The schedule error `make bench` reads (actual minus planned).
                trace!(
                    "{} probe attempt {} starts {}us after its planned time",
                    p.kind.name(),
                    p.attempts + 1,
                    now.saturating_duration_since(planned).as_micros()
                );
                out.push(Action::StartProbe(index));
            }
            Tick::Overlap => debug!(
                "{} probe: the previous attempt still runs; this tick is dropped",
                p.kind.name()
            ),
            Tick::Skip => {}
        }
    }

    pub(super) fn on_probe_done(
        &mut self,
        index: usize,
        outcome: Outcome,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let Phase::Running { pid, kill_at: None } = self.phase else {
            return;
        };
        let Some(p) = self.probes[index].as_mut() else {
            return;
        };
        if !p.in_flight() {
            return; // stale: stopped meanwhile
        }
        let kind = p.kind;
        let flipped = p.record(outcome.success);
        let threshold = if outcome.success {
            p.timing.success_threshold
        } else {
            p.timing.failure_threshold
        };
        let attempts = p.attempts;
        let run = p.run().min(threshold);
        let took = crate::duration::display(outcome.duration);
        if outcome.success && outcome.warning {
            warn!(
                "{} probe succeeded with a warning ({run}/{threshold}) in {took}: {} ({})",
                kind.name(),
                outcome.message,
                outcome.target
            );
        } else if outcome.success {
            debug!(
                "{} probe succeeded ({run}/{threshold}) in {took}: {} ({})",
                kind.name(),
                outcome.message,
                outcome.target
            );
        } else {
            warn!(
                "{} probe failed ({run}/{threshold}) after {took}: {} ({})",
                kind.name(),
                outcome.message,
                outcome.target
            );
        }
        match (kind, flipped) {
            (ProbeKind::Startup, Some(ProbeResult::Success)) => {
                notice!("startup: succeeded after {}", counted(attempts, "attempt"));
            }
            (ProbeKind::Readiness, Some(r)) => {
                notice!(
                    "readiness: {}",
                    if r == ProbeResult::Success {
                        "ready"
                    } else {
                        "not ready"
                    }
                );
            }
            (ProbeKind::Startup | ProbeKind::Liveness, Some(ProbeResult::Failure)) => {
                warn!(
                    "{} probe failed {} in a row: stopping the command (pid {pid}): {} ({})",
                    kind.name(),
                    counted(u64::from(threshold), "time"),
                    outcome.message,
                    outcome.target
                );
                self.probe_failure = Some(kind);
                self.stop_probes(out);
                let at = now + self.settings.grace;
                self.phase = Phase::Running {
                    pid,
                    kill_at: Some(at),
                };
                out.push(Action::Send {
                    target: Target::Group(pid),
                    signal: self.stop_signal(),
                });
                out.push(Action::Arm {
                    timer: Timer::Grace,
                    at,
                });
            }
            _ => {}
        }
        self.update_ready();
    }

    /// Which probe stopped the command, if one did.
    pub fn probe_failure(&self) -> Option<ProbeKind> {
        self.probe_failure
    }
}
