//! The supervisor's restart half: once the command and its group are gone,
//! `restart::decide` says whether it starts again, and when.

use super::*;
use crate::restart::Decision;

impl Supervisor {
    /// The command and the rest of its group are gone: restart it or exit.
    pub(super) fn after_drain(&mut self, end: End, then: AfterDrain, now: Instant, out: &mut Out) {
        let decision = match then {
            AfterDrain::Decide => {
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
            AfterDrain::Exit => Decision::Exit,
        };
        let code = end.code;
        match decision {
            Decision::Restart { delay, attempt } => {
                let last = format!("attempt {attempt}, {}", end.why);
                if self.notices.allow(now, &mut out.actions) {
                    out.say(Change::Restarting {
                        delay,
                        attempt,
                        why: end.why,
                    });
                }
                self.notices.last = last;
                let until = end.at + delay;
                if until <= now {
                    self.phase = Phase::Starting;
                    out.act(Action::Spawn);
                } else {
                    self.phase = Phase::BackingOff { code, until };
                    out.act(Action::Arm {
                        timer: Timer::Restart,
                        at: until,
                    });
                }
            }
            Decision::GiveUp { restarts } => {
                out.say(Change::GaveUp { restarts, code });
                self.exit(code, now, out);
            }
            Decision::Exit => {
                self.exit(code, now, out);
            }
        }
    }
}

/// Restart notices shown per window, at most; the rest are counted and
/// summed up in one line at the window's end (a crash loop with no backoff
/// restarts thousands of times a second).
pub(crate) const NOTICES_PER_WINDOW: u32 = 10;
pub(crate) const NOTICE_WINDOW: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub(crate) struct NoticeLimit {
    window_start: Instant,
    shown: u32,
    suppressed: u64,
    /// The last restart's "attempt N, why", for the summary.
    pub last: String,
}

impl NoticeLimit {
    pub(crate) fn new(now: Instant) -> NoticeLimit {
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

    /// The window ended: one change for what was held back; a new window starts.
    pub(super) fn summarize(&mut self, now: Instant) -> Option<Change> {
        let summary = (self.suppressed > 0).then(|| Change::RestartsSummarized {
            count: self.suppressed,
            window: now.saturating_duration_since(self.window_start),
            last: std::mem::take(&mut self.last),
        });
        self.window_start = now;
        self.shown = 0;
        self.suppressed = 0;
        summary
    }
}
