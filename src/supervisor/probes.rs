//! The supervisor's probe half: ticks become attempts (gated by startup, never
//! overlapping), outcomes update the probe states, and a startup or liveness
//! failure stops the command.

use super::*;
use crate::probe::state::Tick;

impl Supervisor {
    pub(super) fn on_probe_tick(&mut self, kind: ProbeKind, now: Instant, out: &mut Out) {
        let gated = kind != ProbeKind::Startup && !self.started();
        let Some(p) = self.probes[kind].as_mut() else {
            return;
        };
        let planned = p.state.next_at();
        let (what, next) = p.state.tick(now, gated);
        if let Some(at) = next {
            out.act(Action::Arm {
                timer: Timer::ProbeTick(kind),
                at,
            });
        }
        match what {
            Tick::Attempt => {
                // The schedule error `make bench` reads (actual minus planned).
                out.say(Change::ProbeAttempt {
                    probe: kind,
                    attempt: p.state.attempts + 1,
                    late: now.saturating_duration_since(planned),
                });
                out.act(Action::StartProbe(kind));
            }
            Tick::Overlap => out.say(Change::ProbeTickDropped { probe: kind }),
            Tick::Skip => {}
        }
    }

    pub(super) fn on_probe_done(
        &mut self,
        kind: ProbeKind,
        outcome: Outcome,
        now: Instant,
        out: &mut Out,
    ) {
        let Phase::Running { pid } = self.phase else {
            return;
        };
        let Some(p) = self.probes[kind].as_mut() else {
            return;
        };
        if !p.state.in_flight() {
            return; // stale: stopped meanwhile
        }
        let flipped = p.state.record(outcome.success);
        let threshold = if outcome.success {
            p.state.timing.success_threshold
        } else {
            p.state.timing.failure_threshold
        };
        let attempts = p.state.attempts;
        let run = p.state.run().min(threshold);
        p.last_message.clone_from(&outcome.message);
        let stop = matches!(
            (kind, flipped),
            (
                ProbeKind::Startup | ProbeKind::Liveness,
                Some(ProbeResult::Failure)
            )
        )
        .then(|| Change::ProbeStop {
            probe: kind,
            pid,
            threshold,
            message: outcome.message.clone(),
            target: outcome.target.clone(),
        });
        out.say(Change::ProbeResult {
            probe: kind,
            outcome,
            run,
            threshold,
        });
        match (kind, flipped) {
            (ProbeKind::Startup, Some(ProbeResult::Success)) => {
                out.say(Change::StartupSucceeded { attempts });
            }
            (ProbeKind::Readiness, Some(r)) => {
                out.say(Change::Readiness(r == ProbeResult::Success));
            }
            _ => {}
        }
        if let Some(change) = stop {
            out.say(change);
            self.stop_for(Check::Probe(kind), pid, now, out);
        }
        self.update_ready(out);
    }
}
