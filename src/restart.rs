//! The restart policy: whether and when the command starts again after it
//! ended, as a pure function of (policy, exit cause, history, times), tested by
//! table. The delays follow the kubelet's CrashLoopBackOff: the first restart
//! is immediate, then `initial`, doubling up to `max`; a command that ran for
//! `reset` or longer before it ended starts a fresh sequence.

use crate::duration;
use std::fmt;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Restart whatever the end: exit 0 too.
    Always,
    /// Restart on a non-zero exit, a death by signal or a probe kill.
    OnFailure,
    /// Never restart: vigil exits with the command's status (tini's way).
    Never,
}

impl Mode {
    pub fn parse(text: &str) -> Result<Mode, String> {
        match text.trim() {
            "always" => Ok(Mode::Always),
            "on-failure" => Ok(Mode::OnFailure),
            "never" => Ok(Mode::Never),
            other => Err(format!(
                "unknown restart policy '{other}': expected always, on-failure or never"
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Mode::Always => "always",
            Mode::OnFailure => "on-failure",
            Mode::Never => "never",
        }
    }
}

/// The kubelet's defaults.
pub(crate) const DEFAULT_INITIAL: Duration = Duration::from_secs(10);
pub(crate) const DEFAULT_MAX: Duration = Duration::from_secs(300);
pub(crate) const DEFAULT_RESET: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub mode: Mode,
    /// The delay before the second restart in a row (the first is immediate).
    pub initial: Duration,
    /// The longest delay.
    pub max: Duration,
    /// A command that ran this long before it ended starts a fresh sequence.
    pub reset: Duration,
    /// After this many restarts vigil gives up; `None`: never.
    pub max_restarts: Option<u32>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            mode: Mode::Never,
            initial: DEFAULT_INITIAL,
            max: DEFAULT_MAX,
            reset: DEFAULT_RESET,
            max_restarts: None,
        }
    }
}

impl Policy {
    /// Clamps `initial` to `max`, as the kubelet does; returns the warning to
    /// print when it had to.
    pub fn clamp(&mut self) -> Option<String> {
        if self.initial <= self.max {
            return None;
        }
        let warning = format!(
            "the initial restart delay ({}) is longer than the maximum ({}): using {} for both",
            duration::display(self.initial),
            duration::display(self.max),
            duration::display(self.max)
        );
        self.initial = self.max;
        Some(warning)
    }

    /// The delay before restart number `streak + 1` of a crash loop.
    pub fn delay(&self, streak: u32) -> Duration {
        if streak == 0 {
            return Duration::ZERO;
        }
        let doublings = (streak - 1).min(63);
        self.initial
            .checked_mul(1u32.checked_shl(doublings).unwrap_or(u32::MAX))
            .map_or(self.max, |d| d.min(self.max))
    }
}

/// How the command ended, as the restart policy sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cause {
    /// Exit status 0 (after `-e` remapping).
    Success,
    /// A non-zero exit status or a death by signal.
    Failure,
    /// A startup or liveness probe stopped it.
    ProbeKill,
}

/// What happened so far: restarts in all, and in the current crash loop.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct History {
    pub restarts: u32,
    pub streak: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Start the command again after `delay` (counted from its exit); this is
    /// restart number `attempt`.
    Restart { delay: Duration, attempt: u32 },
    /// Do not restart: the policy says so.
    Exit,
    /// Do not restart: `--max-restarts` restarts were made already.
    GiveUp { restarts: u32 },
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decision::Restart { delay, attempt } => {
                write!(f, "restart {attempt} in {}", duration::display(*delay))
            }
            Decision::Exit => f.write_str("exit"),
            Decision::GiveUp { restarts } => write!(f, "give up after {restarts} restarts"),
        }
    }
}

/// Decides what follows the end of a command that started at `started` and
/// ended at `ended`; returns the decision and the history to keep.
pub(crate) fn decide(
    policy: &Policy,
    cause: Cause,
    history: History,
    started: Instant,
    ended: Instant,
) -> (Decision, History) {
    let wanted = match policy.mode {
        Mode::Always => true,
        Mode::OnFailure => cause != Cause::Success,
        Mode::Never => false,
    };
    if !wanted {
        return (Decision::Exit, history);
    }
    if policy.max_restarts.is_some_and(|n| history.restarts >= n) {
        let restarts = history.restarts;
        return (Decision::GiveUp { restarts }, history);
    }
    let ran = ended.saturating_duration_since(started);
    let streak = if ran >= policy.reset {
        0
    } else {
        history.streak
    };
    let decision = Decision::Restart {
        delay: policy.delay(streak),
        attempt: history.restarts + 1,
    };
    let history = History {
        restarts: history.restarts + 1,
        streak: streak.saturating_add(1),
    };
    (decision, history)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn policy(mode: Mode) -> Policy {
        Policy {
            mode,
            ..Policy::default()
        }
    }

    #[test]
    fn which_ends_restart() {
        use Cause::*;
        // (mode, cause, restarts?)
        let table = [
            (Mode::Always, Success, true),
            (Mode::Always, Failure, true),
            (Mode::Always, ProbeKill, true),
            (Mode::OnFailure, Success, false),
            (Mode::OnFailure, Failure, true),
            (Mode::OnFailure, ProbeKill, true),
            (Mode::Never, Success, false),
            (Mode::Never, Failure, false),
            (Mode::Never, ProbeKill, false),
        ];
        let t0 = Instant::now();
        for (mode, cause, restarts) in table {
            let (d, h) = decide(&policy(mode), cause, History::default(), t0, t0 + s(1));
            match d {
                Decision::Restart { delay, attempt } => {
                    assert!(restarts, "{mode:?} {cause:?}");
                    assert_eq!((delay, attempt), (Duration::ZERO, 1));
                    assert_eq!(
                        h,
                        History {
                            restarts: 1,
                            streak: 1
                        }
                    );
                }
                Decision::Exit => {
                    assert!(!restarts, "{mode:?} {cause:?}");
                    assert_eq!(h, History::default());
                }
                Decision::GiveUp { .. } => panic!("no limit was set"),
            }
        }
    }

    /// The delays of a crash loop: each run lasts `ran` seconds.
    fn delays(p: &Policy, runs: &[u64]) -> Vec<u64> {
        let t0 = Instant::now();
        let mut h = History::default();
        runs.iter()
            .map(|&ran| {
                let (d, next) = decide(p, Cause::Failure, h, t0, t0 + s(ran));
                h = next;
                match d {
                    Decision::Restart { delay, .. } => delay.as_secs(),
                    other => panic!("{other:?}"),
                }
            })
            .collect()
    }

    #[test]
    fn crash_loop_delays_double_up_to_the_maximum() {
        let p = policy(Mode::Always);
        assert_eq!(
            delays(&p, &[1; 10]),
            [0, 10, 20, 40, 80, 160, 300, 300, 300, 300]
        );
        // The kubelet's reduced profile.
        let reduced = Policy {
            initial: s(1),
            max: s(60),
            ..p
        };
        assert_eq!(delays(&reduced, &[1; 9]), [0, 1, 2, 4, 8, 16, 32, 60, 60]);
    }

    #[test]
    fn a_long_run_resets_the_sequence() {
        let p = policy(Mode::OnFailure);
        // 599 s is short of the 600 s window; 600 s resets.
        assert_eq!(
            delays(&p, &[1, 1, 1, 599, 600, 1, 1]),
            [0, 10, 20, 40, 0, 10, 20]
        );
        let short_window = Policy { reset: s(5), ..p };
        assert_eq!(delays(&short_window, &[1, 1, 9, 1]), [0, 10, 0, 10]);
    }

    #[test]
    fn the_delay_never_overflows() {
        let p = Policy {
            initial: duration::MAX,
            max: duration::MAX,
            ..policy(Mode::Always)
        };
        assert_eq!(p.delay(1), duration::MAX);
        assert_eq!(p.delay(200), duration::MAX);
        assert_eq!(policy(Mode::Always).delay(u32::MAX), s(300));
        let zero = Policy {
            initial: Duration::ZERO,
            ..policy(Mode::Always)
        };
        assert_eq!(zero.delay(7), Duration::ZERO);
    }

    #[test]
    fn max_restarts_gives_up() {
        let p = Policy {
            max_restarts: Some(2),
            ..policy(Mode::Always)
        };
        let t0 = Instant::now();
        let mut h = History::default();
        let mut seen = Vec::new();
        for _ in 0..4 {
            let (d, next) = decide(&p, Cause::Failure, h, t0, t0);
            h = next;
            seen.push(d);
        }
        assert_eq!(
            seen,
            [
                Decision::Restart {
                    delay: Duration::ZERO,
                    attempt: 1
                },
                Decision::Restart {
                    delay: s(10),
                    attempt: 2
                },
                Decision::GiveUp { restarts: 2 },
                Decision::GiveUp { restarts: 2 },
            ]
        );
        let none = Policy {
            max_restarts: Some(0),
            ..p
        };
        assert_eq!(
            decide(&none, Cause::Failure, History::default(), t0, t0).0,
            Decision::GiveUp { restarts: 0 }
        );
    }

    #[test]
    fn clamp_initial_to_max() {
        let mut p = Policy {
            initial: s(90),
            max: s(60),
            ..Policy::default()
        };
        let w = p.clamp().unwrap();
        assert!(w.contains("(1m30s)") || w.contains("(90s)"), "{w}");
        assert_eq!((p.initial, p.max), (s(60), s(60)));
        assert_eq!(p.clamp(), None);
    }

    #[test]
    fn modes_parse() {
        assert_eq!(Mode::parse("always"), Ok(Mode::Always));
        assert_eq!(Mode::parse(" on-failure "), Ok(Mode::OnFailure));
        assert_eq!(Mode::parse("never"), Ok(Mode::Never));
        let e = Mode::parse("sometimes").unwrap_err();
        assert!(e.contains("unknown restart policy 'sometimes'"), "{e}");
    }
}
