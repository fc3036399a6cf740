//! The supervisor's drain on stop (`--drain`): a SIGTERM while the command
//! runs makes vigil report not ready at once and keeps the command serving
//! for the drain time, while the platform stops routing to it; only then does
//! the command get the signal and the grace. This is a Kubernetes `preStop`
//! sleep without a sleep binary in the image. As the kubelet does once a pod
//! is being deleted, the probes (and the watchdog) stop: nothing restarts a
//! command that is going away, and readiness cannot come back.
//!
//! A second SIGTERM, a SIGINT or a SIGQUIT during the drain ends it at once
//! (`Supervisor::on_signal`); the command ending during it is an end during a
//! stop: no restart follows. SIGINT and SIGQUIT never start a drain (Ctrl-C
//! is an operator who wants it stopped now), nor does a SIGTERM kept from
//! before the command started (no traffic reached a command that did not
//! exist).

use super::*;

impl Supervisor {
    /// Sets `--drain` (zero, the default, passes SIGTERM on at once).
    pub(crate) fn with_drain(mut self, drain: Duration) -> Self {
        self.drain = drain;
        self
    }

    /// When the drain under way ends (`None`: none is), for the status socket.
    pub(crate) fn draining_until(&self) -> Option<Instant> {
        match self.phase {
            Phase::Stopping {
                by: StopBy::Drain { until, .. },
                ..
            } => Some(until),
            _ => None,
        }
    }

    /// A signal came while the command (`pid`) runs: with `--drain`, a
    /// SIGTERM starts the drain instead of being passed on. Whether it did.
    pub(super) fn start_drain(&mut self, sig: i32, pid: i32, now: Instant, out: &mut Out) -> bool {
        if sig != libc::SIGTERM
            || self.drain.is_zero()
            || !matches!(self.phase, Phase::Running { .. })
        {
            return false;
        }
        let until = now + self.drain;
        self.phase = Phase::Stopping {
            pid,
            by: StopBy::Drain { signal: sig, until },
            kill_at: until + self.settings.grace,
        };
        out.say(Change::DrainStarted {
            signal: sig,
            drain: self.drain,
        });
        out.act(Action::Arm {
            timer: Timer::Drain,
            at: until,
        });
        self.stop_probes(out);
        self.update_ready(out);
        true
    }

    /// The drain time is over: the signal goes on and the grace starts.
    pub(super) fn on_drain_timer(&mut self, now: Instant, out: &mut Out) {
        let Phase::Stopping {
            pid,
            by: StopBy::Drain { signal, until },
            ..
        } = self.phase
        else {
            return; // cut short by a second stop signal, or the command ended
        };
        if now < until {
            return;
        }
        out.say(Change::DrainEnded {
            signal,
            drain: self.drain,
            grace: self.settings.grace,
        });
        self.forward_to_command(pid, signal, out);
        self.grace_from_now(pid, StopBy::Signal, now, out);
    }
}
