//! The supervisor's restart half: once the command and its group are gone,
//! `restart::decide` says whether it starts again, and when.

use super::*;

impl Supervisor {
    /// The command and the rest of its group are gone: restart it or exit
    /// with `code`.
    pub(super) fn after_drain(&mut self, code: u8, now: Instant, out: &mut Vec<Action>) {
        let end = self.last_end.take();
        let decision = match &end {
            Some(end) if !self.stopping => {
                let (decision, history) = restart::decide(
                    &self.settings.restart,
                    end.cause,
                    self.history,
                    self.started_at,
                    end.at,
                );
                self.history = history;
                decision
            }
            _ => Decision::Exit,
        };
        match (decision, end) {
            (Decision::Restart { delay, attempt }, Some(end)) => {
                let when = if delay.is_zero() {
                    "now".to_string()
                } else {
                    format!("in {}", crate::duration::display(delay))
                };
                notice!("restarting {when} (attempt {attempt}, {})", end.why);
                let until = end.at + delay;
                if until <= now {
                    self.phase = Phase::Starting;
                    out.push(Action::Spawn);
                } else {
                    self.phase = Phase::BackingOff { code, until };
                    out.push(Action::Arm {
                        timer: Timer::Restart,
                        at: until,
                    });
                }
            }
            (Decision::GiveUp { restarts }, _) => {
                warn!(
                    "giving up: the command was restarted {} (--max-restarts); \
                     exiting with status {code}",
                    counted(u64::from(restarts), "time")
                );
                self.phase = Phase::Done;
                out.push(Action::Exit(code));
            }
            _ => {
                self.phase = Phase::Done;
                out.push(Action::Exit(code));
            }
        }
    }
}
