//! The supervisor: a pure state machine that decides what happens to the
//! command. It takes an event and the time and returns actions; the event loop
//! performs them and reports what it saw as further events. Nothing here forks,
//! signals or sleeps, so every transition is tested by table without a process.
//!
//! Phases: `Starting` (no command yet; signals wait) -> `Running` (signals are
//! forwarded; SIGTERM/SIGINT/SIGQUIT start the grace period, at whose end the
//! command's process group gets SIGKILL) -> `Draining` (the command has exited;
//! the rest of its process group gets SIGTERM, and SIGKILL after the grace)
//! -> `Done` (vigil exits with the command's status), or, when the restart
//! policy (`restart::decide`) says so, `BackingOff` until the delay (counted
//! from the exit) has passed -> `Starting` again. A stop signal received at
//! any point means no further start.
//!
//! Probes: every start of the command resets the three probe states
//! (`probe::state`) and arms their first ticks. Until startup succeeds,
//! liveness and readiness do not run. A liveness or startup failure stops the
//! probes and the command (SIGTERM to its group, grace, SIGKILL); unless the
//! restart policy restarts it, vigil then exits with `PROBE_FAILED` whatever
//! the command's own status. Ready =
//! running AND started AND (no readiness probe OR readiness Success).

use crate::config::model::ProbeKind;
use crate::exit_status::{self, ChildStatus, ExpectedCodes};
use crate::probe::runner::Outcome;
use crate::probe::state::{ProbeResult, ProbeState, Tick, Timing};
use crate::restart::{self, Cause, Decision, History};
use crate::signal_name::{self, Rewrites};
use crate::{debug, info, notice, trace, warn};
use std::time::{Duration, Instant};

/// How often an unreaped remainder of the command's process group is checked
/// while draining (its members may not be vigil's children to report death).
pub const DRAIN_POLL: Duration = Duration::from_millis(100);

/// Signals kept while no command exists; more are dropped (duplicates first).
const MAX_PENDING: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub grace: Duration,
    pub process_group: bool,
    pub rewrites: Rewrites,
    pub expected_codes: ExpectedCodes,
    pub warn_on_reap: bool,
    /// The command is given the terminal (stdin is one): Ctrl-C and Ctrl-\
    /// reach it, not vigil, and its death by them is the operator's stop.
    pub foreground: bool,
    /// The probes, indexed like `ProbeKind::ALL` (startup, liveness, readiness).
    pub probes: [Option<Timing>; 3],
    pub restart: restart::Policy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Process(i32),
    Group(i32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
    /// The grace period of a stop ended.
    Grace,
    /// Time to check whether the rest of the process group is gone.
    DrainPoll,
    /// Probe `i` is due (index into `ProbeKind::ALL`).
    ProbeTick(usize),
    /// Probe `i`'s running attempt reaches its timeout (handled by the runner).
    ProbeDeadline(usize),
    /// The restart delay ended.
    Restart,
    /// Time to sum up the restart notices held back.
    NoticeSummary,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Spawned {
        pid: i32,
    },
    SpawnFailed,
    Signal(i32),
    Reaped {
        pid: i32,
        status: ChildStatus,
    },
    /// The process group asked about with `Action::CheckGroup` has no process left.
    GroupEmpty,
    Timer(Timer),
    /// An attempt of probe `index` ended.
    ProbeDone {
        index: usize,
        outcome: Outcome,
    },
    /// An attempt of probe `index` could not start (fork failed): not counted.
    ProbeNotStarted {
        index: usize,
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Spawn,
    Send {
        target: Target,
        signal: i32,
    },
    Arm {
        timer: Timer,
        at: Instant,
    },
    CheckGroup {
        pgid: i32,
    },
    /// Start an attempt of probe `index` now.
    StartProbe(usize),
    /// End every running probe attempt.
    CancelProbes,
    Exit(u8),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    Starting,
    Running {
        pid: i32,
        kill_at: Option<Instant>,
    },
    Draining {
        pgid: i32,
        code: u8,
        kill_at: Instant,
    },
    /// Waiting to start the command again; `code` is the status to exit
    /// with if a stop signal comes first.
    BackingOff {
        code: u8,
        until: Instant,
    },
    Done,
}

#[derive(Debug)]
pub struct Supervisor {
    settings: Settings,
    phase: Phase,
    pending: Vec<i32>,
    probes: [Option<ProbeState>; 3],
    ready: bool,
    /// The probe that made vigil stop the command, if one did.
    probe_failure: Option<ProbeKind>,
    /// When the command last started.
    started_at: Instant,
    /// How the command last ended, for the restart decision.
    last_end: Option<End>,
    history: History,
    notices: restarts::NoticeLimit,
    /// A stop signal arrived: the command is never started again.
    stopping: bool,
}

#[derive(Debug, Clone)]
struct End {
    cause: Cause,
    /// "exit status 1", "signal SIGKILL", "liveness probe failed".
    why: String,
    at: Instant,
}

const STARTUP: usize = 0;
const READINESS: usize = 2;

fn is_stop_signal(sig: i32) -> bool {
    matches!(sig, libc::SIGTERM | libc::SIGINT | libc::SIGQUIT)
}

impl Supervisor {
    pub fn new(settings: Settings) -> Self {
        let now = Instant::now();
        let probes = std::array::from_fn(|i| {
            settings.probes[i].map(|t| ProbeState::new(ProbeKind::ALL[i], t, now))
        });
        Supervisor {
            settings,
            phase: Phase::Starting,
            pending: Vec::new(),
            probes,
            ready: false,
            probe_failure: None,
            started_at: now,
            last_end: None,
            history: History::default(),
            notices: restarts::NoticeLimit::new(now),
            stopping: false,
        }
    }

    /// Ready = running AND started AND (no readiness probe OR readiness Success).
    pub fn is_ready(&self) -> bool {
        self.ready
    }

    pub fn probe(&self, index: usize) -> Option<&ProbeState> {
        self.probes[index].as_ref()
    }

    fn started(&self) -> bool {
        self.probes[STARTUP]
            .as_ref()
            .is_none_or(|p| p.result == ProbeResult::Success)
    }

    fn compute_ready(&self) -> bool {
        let running = matches!(self.phase, Phase::Running { kill_at: None, .. });
        let readiness_ok = self.probes[READINESS]
            .as_ref()
            .is_none_or(|p| p.result == ProbeResult::Success);
        running && self.probe_failure.is_none() && self.started() && readiness_ok
    }

    /// Recomputes readiness and logs a change.
    fn update_ready(&mut self) {
        let ready = self.compute_ready();
        if ready != self.ready {
            self.ready = ready;
            info!("{}", if ready { "ready" } else { "not ready" });
        }
    }

    /// Stops every probe and ends running attempts.
    fn stop_probes(&mut self, out: &mut Vec<Action>) {
        let mut any = false;
        for p in self.probes.iter_mut().flatten() {
            any |= p.is_active();
            p.stop();
        }
        if any {
            out.push(Action::CancelProbes);
        }
    }

    pub fn start(&mut self) -> Vec<Action> {
        vec![Action::Spawn]
    }

    pub fn handle(&mut self, event: Event, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        match event {
            Event::Spawned { pid } => {
                if self.phase == Phase::Starting {
                    self.phase = Phase::Running { pid, kill_at: None };
                    self.started_at = now;
                    self.probe_failure = None;
                    for (i, p) in self.probes.iter_mut().enumerate() {
                        if let Some(p) = p {
                            let at = p.reset(now);
                            out.push(Action::Arm {
                                timer: Timer::ProbeTick(i),
                                at,
                            });
                        }
                    }
                    self.update_ready();
                    for sig in std::mem::take(&mut self.pending) {
                        self.on_signal(sig, now, &mut out);
                    }
                }
            }
            Event::ProbeDone { index, outcome } => {
                self.on_probe_done(index, outcome, now, &mut out)
            }
            Event::ProbeNotStarted { index, reason } => {
                if let Some(p) = self.probes[index].as_mut() {
                    crate::fatal!("{} probe could not start: {reason}", p.kind.name());
                    p.not_started();
                }
            }
            Event::SpawnFailed => {
                // fork failed (EAGAIN at a pids limit, ENOMEM): with a restart
                // policy that is one more failed start, backed off as any.
                let code = exit_status::code::INTERNAL;
                if self.settings.restart.mode == restart::Mode::Never {
                    self.phase = Phase::Done;
                    out.push(Action::Exit(code));
                } else {
                    self.started_at = now;
                    self.last_end = Some(End {
                        cause: Cause::Failure,
                        why: "fork failed".into(),
                        at: now,
                    });
                    self.after_drain(code, now, &mut out);
                }
            }
            Event::Signal(sig) => self.on_signal(sig, now, &mut out),
            Event::Reaped { pid, status } => self.on_reaped(pid, status, now, &mut out),
            Event::GroupEmpty => {
                if let Phase::Draining { code, .. } = self.phase {
                    self.after_drain(code, now, &mut out);
                }
            }
            Event::Timer(timer) => self.on_timer(timer, now, &mut out),
        }
        out
    }

    /// The signal vigil itself stops the command with (a probe stop, the drain
    /// of its group): SIGTERM as `--rewrite` maps it, so an nginx behind
    /// `--rewrite TERM:QUIT` stops gracefully here too.
    fn stop_signal(&self) -> i32 {
        match self.settings.rewrites.apply(libc::SIGTERM) {
            Some(sig) => sig,
            None => libc::SIGTERM, // dropped for senders outside; vigil still stops
        }
    }

    fn forward(&self, target: Target, sig: i32, out: &mut Vec<Action>) {
        match self.settings.rewrites.apply(sig) {
            Some(to) => {
                if to != sig {
                    debug!(
                        "rewriting {} to {}",
                        signal_name::name(sig),
                        signal_name::name(to)
                    );
                }
                out.push(Action::Send { target, signal: to });
            }
            None => debug!("dropping {} (--rewrite to 0)", signal_name::name(sig)),
        }
    }

    fn on_signal(&mut self, sig: i32, now: Instant, out: &mut Vec<Action>) {
        if is_stop_signal(sig) && self.phase != Phase::Starting {
            self.stopping = true;
        }
        match self.phase {
            // No command yet: the signal waits for it.
            Phase::Starting => self.keep_pending(sig),
            Phase::Running { pid, kill_at } => {
                let target = if self.settings.process_group {
                    Target::Group(pid)
                } else {
                    Target::Process(pid)
                };
                debug!(
                    "passing {} to the command (pid {pid})",
                    signal_name::name(sig)
                );
                self.forward(target, sig, out);
                if is_stop_signal(sig) && kill_at.is_none() {
                    let at = now + self.settings.grace;
                    info!(
                        "{} received: the command has {} to exit before SIGKILL",
                        signal_name::name(sig),
                        crate::duration::display(self.settings.grace)
                    );
                    self.phase = Phase::Running {
                        pid,
                        kill_at: Some(at),
                    };
                    out.push(Action::Arm {
                        timer: Timer::Grace,
                        at,
                    });
                    // Not ready at once, so the host agent drains traffic; no
                    // probe may act on a command that is stopping.
                    self.stop_probes(out);
                    self.update_ready();
                }
            }
            Phase::Draining { pgid, .. } => self.forward(Target::Group(pgid), sig, out),
            Phase::BackingOff { code, .. } if is_stop_signal(sig) => {
                notice!(
                    "{} received while waiting to restart the command: exiting with its last status {code}",
                    signal_name::name(sig)
                );
                self.phase = Phase::Done;
                out.push(Action::Exit(code));
            }
            // Between two starts: the signal waits for the next one (a stop
            // signal, above, ends the wait instead).
            Phase::BackingOff { .. } => self.keep_pending(sig),
            Phase::Done => {}
        }
    }

    /// Keeps a signal for the next start (each signal once, at most
    /// `MAX_PENDING`, as the kernel would not queue duplicates either).
    fn keep_pending(&mut self, sig: i32) {
        if !self.pending.contains(&sig) && self.pending.len() < MAX_PENDING {
            self.pending.push(sig);
        }
    }

    fn on_reaped(&mut self, pid: i32, status: ChildStatus, now: Instant, out: &mut Vec<Action>) {
        match self.phase {
            Phase::Running { pid: main, kill_at } if pid == main => {
                let raw = status.code();
                if self.settings.foreground
                    && matches!(status.signal(), Some(libc::SIGINT | libc::SIGQUIT))
                    && !self.stopping
                {
                    // Ctrl-C or Ctrl-\ on the terminal went to the command's
                    // group, not to vigil: the operator stops it, as in a shell.
                    notice!(
                        "the command was stopped from the terminal ({}): not restarting",
                        signal_name::name(status.signal().unwrap_or(0))
                    );
                    self.stopping = true;
                }
                let code = match self.probe_failure {
                    Some(_) => exit_status::code::PROBE_FAILED,
                    None => exit_status::remap(raw, &self.settings.expected_codes),
                };
                info!("command (pid {pid}) ended: {status}");
                self.last_end = Some(End {
                    cause: match (self.probe_failure, code) {
                        (Some(_), _) => Cause::ProbeKill,
                        (None, 0) => Cause::Success,
                        (None, _) => Cause::Failure,
                    },
                    why: match (self.probe_failure, status) {
                        (Some(kind), _) => format!("{} probe failed", kind.name()),
                        (None, ChildStatus::Signaled { signal, .. }) => {
                            format!("signal {}", signal_name::name(signal))
                        }
                        (None, _) => format!("exit status {raw}"),
                    },
                    at: now,
                });
                self.stop_probes(out);
                // One grace from the stop signal, for the command and the
                // rest of its group together (terminationGracePeriodSeconds).
                let kill_at = kill_at.unwrap_or(now + self.settings.grace);
                self.phase = Phase::Draining {
                    pgid: main,
                    code,
                    kill_at,
                };
                self.update_ready();
                out.extend([
                    Action::Send {
                        target: Target::Group(main),
                        signal: self.stop_signal(),
                    },
                    Action::CheckGroup { pgid: main },
                    Action::Arm {
                        timer: Timer::Grace,
                        at: kill_at,
                    },
                    Action::Arm {
                        timer: Timer::DrainPoll,
                        at: now + DRAIN_POLL,
                    },
                ]);
            }
            _ => {
                if self.settings.warn_on_reap {
                    warn!("Reaped zombie process with pid={pid}");
                } else {
                    debug!("reaped process {pid}: {status}");
                }
                if let Phase::Draining { pgid, .. } = self.phase {
                    out.push(Action::CheckGroup { pgid });
                }
            }
        }
    }

    fn on_timer(&mut self, timer: Timer, now: Instant, out: &mut Vec<Action>) {
        match (timer, &self.phase) {
            (
                Timer::Grace,
                Phase::Running {
                    pid,
                    kill_at: Some(at),
                },
            ) if now >= *at => {
                warn!(
                    "the command (pid {pid}) did not exit within the {} grace period: sending SIGKILL to its process group",
                    crate::duration::display(self.settings.grace)
                );
                out.push(Action::Send {
                    target: Target::Group(*pid),
                    signal: libc::SIGKILL,
                });
            }
            (
                Timer::Grace,
                Phase::Draining {
                    pgid,
                    code,
                    kill_at,
                },
            ) if now >= *kill_at => {
                warn!(
                    "processes of the command's group {pgid} still run {} after it exited: sending SIGKILL",
                    crate::duration::display(self.settings.grace)
                );
                out.push(Action::Send {
                    target: Target::Group(*pgid),
                    signal: libc::SIGKILL,
                });
                let code = *code;
                self.after_drain(code, now, out);
            }
            (Timer::NoticeSummary, _) => self.notices.summarize(now),
            (Timer::Restart, Phase::BackingOff { until, .. }) if now >= *until => {
                self.phase = Phase::Starting;
                out.push(Action::Spawn);
            }
            (Timer::ProbeTick(i), Phase::Running { kill_at: None, .. }) => {
                self.on_probe_tick(i, now, out)
            }
            (Timer::DrainPoll, Phase::Draining { pgid, .. }) => {
                out.push(Action::CheckGroup { pgid: *pgid });
                out.push(Action::Arm {
                    timer: Timer::DrainPoll,
                    at: now + DRAIN_POLL,
                });
            }
            _ => {}
        }
    }
}

/// "1 time", "3 times".
fn counted(n: u64, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

mod probes;
mod restarts;

#[cfg(test)]
mod restart_tests;
#[cfg(test)]
mod tests;
