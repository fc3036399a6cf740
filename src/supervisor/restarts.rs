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
                if self.notices.allow(now, out) {
                    notice!("restarting {when} (attempt {attempt}, {})", end.why);
                }
                self.notices.last = format!("attempt {attempt}, {}", end.why);
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

/// Restart notices shown per window, at most; the rest are counted and
/// summed up in one line at the window's end (a crash loop with no backoff
/// restarts thousands of times a second).
pub const NOTICES_PER_WINDOW: u32 = 10;
pub const NOTICE_WINDOW: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub struct NoticeLimit {
    window_start: Instant,
    shown: u32,
    suppressed: u64,
    /// The last restart's "attempt N, why", for the summary.
    pub last: String,
}

impl NoticeLimit {
    pub fn new(now: Instant) -> NoticeLimit {
        NoticeLimit {
            window_start: now,
            shown: 0,
            suppressed: 0,
            last: String::new(),
        }
    }

    /// Whether this restart's notice is shown; the first one held back arms
    /// the summary at the window's end.
    pub(super) fn allow(&mut self, now: Instant, out: &mut Vec<Action>) -> bool {
        if self.suppressed == 0 && now >= self.window_start + NOTICE_WINDOW {
            self.window_start = now;
            self.shown = 0;
        }
        if self.shown < NOTICES_PER_WINDOW {
            self.shown += 1;
            return true;
        }
        if self.suppressed == 0 {
            out.push(Action::Arm {
                timer: Timer::NoticeSummary,
                at: self.window_start + NOTICE_WINDOW,
            });
        }
        self.suppressed += 1;
        false
    }

    /// The window ended: one line for what was held back; a new window starts.
    pub(super) fn summarize(&mut self, now: Instant) {
        if self.suppressed > 0 {
            notice!(
                "{} more restarts in the last {} (last: {}); at most {NOTICES_PER_WINDOW} restart notices are shown per {}",
                self.suppressed,
                crate::duration::display(now.saturating_duration_since(self.window_start)),
                self.last,
                crate::duration::display(NOTICE_WINDOW)
            );
        }
        self.window_start = now;
        self.shown = 0;
        self.suppressed = 0;
    }
}
