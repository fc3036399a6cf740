//! The supervisor: a pure state machine that decides what happens to the
//! command. It takes an event and the time and returns actions (for the
//! event loop to perform) and changes (for the reporter to publish). Nothing
//! here forks, signals, sleeps or logs, so every transition is tested by
//! table without a process.
//!
//! Phases (`Phase`): `Starting` (no command yet; signals wait) -> `Running`
//! (signals are forwarded) -> `Stopping` (a stop signal or a failed check: the
//! command has the grace period, then its process group gets SIGKILL; with
//! `--drain`, a SIGTERM first keeps the command serving, not ready, for the
//! drain time: `StopBy::Drain`, `drain.rs`) -> `Draining` (the command has
//! exited; the rest of its group gets the stop signal, and SIGKILL when the
//! same grace ends) -> `Done` (vigil exits with the command's status), or, when
//! the restart policy (`restart::decide`) says so, `BackingOff` until the delay
//! (counted from the exit) has passed -> `Starting` again. A stop signal means
//! no further start.
//!
//! Checks: every start of the command resets the three probe states
//! (`probe::state`) and arms their first ticks, and forgets what the command
//! said over sd_notify (`notify.rs`). Until startup succeeds, liveness and
//! readiness do not run. A liveness or startup failure, or a missed watchdog,
//! stops the probes and the command; unless the restart policy restarts it,
//! vigil then exits with `PROBE_FAILED` whatever the command's own status.
//! Ready = running AND started AND (no `--notify` OR READY=1 said) AND (no
//! readiness probe OR readiness Success).

pub(crate) mod change;
mod drain;
pub(crate) mod dumb_init;
pub(crate) mod notify;
mod probes;
pub(crate) mod restarts;
pub(crate) mod status;

pub(crate) use change::Change;

use crate::config::model::ProbeKind;
use crate::exit_status::{self, ChildStatus, ExpectedCodes};
use crate::probe::outcome::Outcome;
use crate::probe::per_probe::PerProbe;
use crate::probe::state::{ProbeResult, ProbeState, Timing};
use crate::restart::{self, Cause, History};
use crate::signal_name::Rewrites;
use std::time::{Duration, Instant};

/// How often an unreaped remainder of the command's process group is checked
/// while draining (its members may not be vigil's children to report death).
pub(crate) const DRAIN_POLL: Duration = Duration::from_millis(100);

/// Signals kept while no command exists; more are dropped (duplicates first).
const MAX_PENDING: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Settings {
    pub grace: Duration,
    pub process_group: bool,
    pub rewrites: Rewrites,
    pub expected_codes: ExpectedCodes,
    /// The command is given the terminal (stdin is one): Ctrl-C and Ctrl-\
    /// reach it, not vigil, and its death by them is the operator's stop.
    pub foreground: bool,
    pub probes: PerProbe<Option<Timing>>,
    pub restart: restart::Policy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Process(i32),
    Group(i32),
}

/// The supervisor's own deadlines (the loop keeps them with its others).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Timer {
    /// The grace period of a stop ended.
    Grace,
    /// Time to check whether the rest of the process group is gone.
    DrainPoll,
    /// A probe is due.
    ProbeTick(ProbeKind),
    /// The restart delay ended.
    Restart,
    /// Time to sum up the restart notices held back.
    NoticeSummary,
    /// The `--drain` time after a SIGTERM ended: the signal goes on.
    Drain,
    /// A WATCHDOG=1 is due (`--watchdog`).
    Watchdog,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    Spawned {
        pid: i32,
    },
    /// The command could not be started; `why` names the step that failed
    /// ("fork failed", "cannot map the child's stack").
    SpawnFailed {
        why: &'static str,
    },
    Signal(i32),
    Reaped {
        pid: i32,
        status: ChildStatus,
    },
    /// The process group asked about with `Action::CheckGroup` has no process left.
    GroupEmpty,
    Timer(Timer),
    /// An attempt of a probe ended.
    ProbeDone {
        probe: ProbeKind,
        outcome: Outcome,
    },
    /// An attempt of a probe could not start (fork failed): not counted.
    ProbeNotStarted {
        probe: ProbeKind,
        reason: String,
    },
    /// A datagram on the `NOTIFY_SOCKET` (`--notify`) from `pid`, whose
    /// process group the loop found to be `pgid` (`None`: gone, or not in
    /// vigil's pid namespace).
    Notify {
        pid: i32,
        pgid: Option<i32>,
        payload: Vec<u8>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
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
    /// Start an attempt of a probe now.
    StartProbe(ProbeKind),
    /// End every running probe attempt.
    CancelProbes,
    /// vigil stops itself (SIGSTOP), after a job-control stop (dumb-init).
    SuspendSelf,
    Exit(u8),
}

/// A check whose failure stops the command (then the restart policy decides).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    /// A startup or liveness probe.
    Probe(ProbeKind),
    /// `--watchdog`: no WATCHDOG=1 in time, or WATCHDOG=trigger.
    Watchdog,
}

impl Check {
    /// Why the command ended, as restart notices say it.
    fn why(self) -> String {
        match self {
            Check::Probe(kind) => format!("{} probe failed", kind.name()),
            Check::Watchdog => "watchdog timeout".into(),
        }
    }
}

/// Why a running command is being stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopBy {
    /// A stop signal (SIGTERM, SIGINT, SIGQUIT): no restart follows.
    Signal,
    /// SIGTERM with `--drain`: not ready, the command serves on until `until`
    /// and only then gets `signal` and the grace. No restart follows.
    Drain { signal: i32, until: Instant },
    /// A check failed: the restart policy decides.
    Check(Check),
    /// A check failed, then a stop signal came too: no restart follows.
    CheckThenSignal(Check),
}

impl StopBy {
    fn check(self) -> Option<Check> {
        match self {
            StopBy::Signal | StopBy::Drain { .. } => None,
            StopBy::Check(c) | StopBy::CheckThenSignal(c) => Some(c),
        }
    }
}

/// What follows once the command's group is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AfterDrain {
    /// The restart policy decides.
    Decide,
    /// A stop signal came: vigil exits.
    Exit,
}

/// How the command last ended, for the restart decision and the exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct End {
    /// vigil's exit status should it exit now.
    pub code: u8,
    pub cause: Cause,
    /// "exit status 1", "signal SIGKILL", "liveness probe failed".
    pub why: String,
    pub at: Instant,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Phase {
    /// No command yet: signals wait for it.
    Starting,
    Running {
        pid: i32,
    },
    /// The command was asked to stop; SIGKILL to its group at `kill_at`
    /// (during a drain, when it would be if the drain runs its course).
    Stopping {
        pid: i32,
        by: StopBy,
        kill_at: Instant,
    },
    /// The command has ended; the rest of its group goes, SIGKILL at `kill_at`.
    Draining {
        pgid: i32,
        end: End,
        then: AfterDrain,
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

/// One probe: its schedule and result, and what its last attempt said.
#[derive(Debug, Clone)]
struct Probe {
    state: ProbeState,
    last_message: String,
}

#[derive(Debug)]
pub(crate) struct Supervisor {
    settings: Settings,
    phase: Phase,
    pending: Vec<i32>,
    probes: PerProbe<Option<Probe>>,
    /// When the command last started.
    started_at: Instant,
    /// How the command last ended.
    last_exit: Option<ChildStatus>,
    history: History,
    notices: restarts::NoticeLimit,
    /// `--drain`: how long a SIGTERM keeps the command serving, not ready.
    drain: Duration,
    /// `--notify`: what the command said on the notify socket.
    notify: Option<notify::Notify>,
    /// Started as `dumb-init`: its rules (`dumb_init.rs`).
    dumb_init: Option<dumb_init::DumbInitRules>,
}

/// What one event came to.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Output {
    pub actions: Vec<Action>,
    pub changes: Vec<Change>,
}

/// `Output` while it is being built, with readiness as last published.
struct Out {
    actions: Vec<Action>,
    changes: Vec<Change>,
    ready: bool,
}

impl Out {
    fn act(&mut self, action: Action) {
        self.actions.push(action);
    }

    fn say(&mut self, change: Change) {
        self.changes.push(change);
    }
}

fn is_stop_signal(sig: i32) -> bool {
    matches!(sig, libc::SIGTERM | libc::SIGINT | libc::SIGQUIT)
}

impl Supervisor {
    pub(crate) fn new(settings: Settings) -> Self {
        let now = Instant::now();
        let probes = settings.probes.map(|kind, timing| {
            timing.map(|t| Probe {
                state: ProbeState::new(kind, t, now),
                last_message: String::new(),
            })
        });
        Supervisor {
            settings,
            phase: Phase::Starting,
            pending: Vec::new(),
            probes,
            started_at: now,
            last_exit: None,
            history: History::default(),
            notices: restarts::NoticeLimit::new(now),
            drain: Duration::ZERO,
            notify: None,
            dumb_init: None,
        }
    }

    /// The command while it runs: its pid and how long it has run.
    pub(crate) fn command(&self, now: Instant) -> Option<crate::diagnose::network::Command> {
        match self.phase {
            Phase::Running { pid } | Phase::Stopping { pid, .. } => {
                Some(crate::diagnose::network::Command {
                    pid,
                    running_for: now.saturating_duration_since(self.started_at),
                })
            }
            _ => None,
        }
    }

    #[cfg(test)]
    pub(crate) fn phase(&self) -> &Phase {
        &self.phase
    }

    /// Ready = running AND started AND (no `--notify` OR READY=1 said) AND
    /// (no readiness probe OR readiness Success).
    pub(crate) fn is_ready(&self) -> bool {
        let readiness_ok = self.probes[ProbeKind::Readiness]
            .as_ref()
            .is_none_or(|p| p.state.result == ProbeResult::Success);
        matches!(self.phase, Phase::Running { .. })
            && self.started()
            && self.notify_ready_or_off()
            && readiness_ok
    }

    #[cfg(test)]
    pub(crate) fn probe(&self, kind: ProbeKind) -> Option<&ProbeState> {
        self.probes[kind].as_ref().map(|p| &p.state)
    }

    fn started(&self) -> bool {
        self.probes[ProbeKind::Startup]
            .as_ref()
            .is_none_or(|p| p.state.result == ProbeResult::Success)
    }

    /// Publishes readiness if it changed since it was last published.
    fn update_ready(&self, out: &mut Out) {
        let ready = self.is_ready();
        if ready != out.ready {
            out.ready = ready;
            out.say(Change::Ready(ready));
        }
    }

    /// Stops every probe and ends running attempts.
    fn stop_probes(&mut self, out: &mut Out) {
        let mut any = false;
        for (_, p) in self.probes.present_mut() {
            any |= p.state.is_active();
            p.state.stop();
        }
        if any {
            out.act(Action::CancelProbes);
        }
    }

    pub(crate) fn start(&mut self) -> Vec<Action> {
        vec![Action::Spawn]
    }

    /// Takes one event: the actions for the loop to perform and the changes
    /// to report go into `output`, whose vectors are cleared and reused: the loop
    /// keeps one, so a turn allocates nothing (a first allocation on a
    /// signal's path is a system call and cold pages before the forward).
    pub(crate) fn step_into(&mut self, event: Event, now: Instant, output: &mut Output) {
        output.actions.clear();
        output.changes.clear();
        let mut out = Out {
            actions: std::mem::take(&mut output.actions),
            changes: std::mem::take(&mut output.changes),
            ready: self.is_ready(),
        };
        match event {
            Event::Spawned { pid } => self.on_spawned(pid, now, &mut out),
            Event::ProbeDone { probe, outcome } => {
                self.on_probe_done(probe, outcome, now, &mut out)
            }
            Event::ProbeNotStarted { probe, reason } => {
                if let Some(p) = self.probes[probe].as_mut() {
                    p.state.not_started();
                    out.say(Change::ProbeNotStarted { probe, reason });
                }
            }
            Event::SpawnFailed { why } => {
                // fork failed (EAGAIN at a pids limit, ENOMEM), or a step
                // before it: with a restart policy that is one more failed
                // start, backed off as any, and named by its step.
                let code = exit_status::code::INTERNAL;
                if self.settings.restart.mode == restart::Mode::Never {
                    self.exit(code, now, &mut out);
                } else {
                    self.started_at = now;
                    let end = End {
                        code,
                        cause: Cause::Failure,
                        why: why.into(),
                        at: now,
                    };
                    self.after_drain(end, AfterDrain::Decide, now, &mut out);
                }
            }
            Event::Signal(sig) => self.on_signal(sig, true, now, &mut out),
            Event::Reaped { pid, status } => self.on_reaped(pid, status, now, &mut out),
            Event::GroupEmpty => {
                if let Phase::Draining { end, then, .. } = &self.phase {
                    let (end, then) = (end.clone(), *then);
                    self.after_drain(end, then, now, &mut out);
                }
            }
            Event::Timer(timer) => self.on_timer(timer, now, &mut out),
            Event::Notify { pid, pgid, payload } => {
                self.on_notify(pid, pgid, &payload, now, &mut out)
            }
        }
        output.actions = out.actions;
        output.changes = out.changes;
    }

    fn on_spawned(&mut self, pid: i32, now: Instant, out: &mut Out) {
        if self.phase != Phase::Starting {
            return;
        }
        self.phase = Phase::Running { pid };
        out.say(Change::Started { pid });
        self.started_at = now;
        for (kind, p) in self.probes.present_mut() {
            p.last_message.clear();
            let at = p.state.reset(now);
            out.act(Action::Arm {
                timer: Timer::ProbeTick(kind),
                at,
            });
        }
        if let Some(n) = self.notify.as_mut() {
            n.reset();
        }
        self.update_ready(out);
        // A stop signal kept from before the start has nothing to drain: no
        // traffic was routed to a command that did not exist.
        for sig in std::mem::take(&mut self.pending) {
            self.on_signal(sig, false, now, out);
        }
    }

    /// vigil exits with `code`; restart notices held back are summed up first.
    fn exit(&mut self, code: u8, now: Instant, out: &mut Out) {
        if let Some(change) = self.notices.summarize(now) {
            out.say(change);
        }
        self.phase = Phase::Done;
        out.act(Action::Exit(code));
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

    fn forward(&self, target: Target, sig: i32, out: &mut Out) {
        match self.settings.rewrites.apply(sig) {
            Some(to) => {
                if to != sig {
                    out.say(Change::Rewritten { from: sig, to });
                }
                out.act(Action::Send { target, signal: to });
            }
            None => out.say(Change::Dropped { signal: sig }),
        }
    }

    /// Passes the command (`pid`) `sig` and forwards it.
    fn forward_to_command(&self, pid: i32, sig: i32, out: &mut Out) {
        let target = if self.settings.process_group {
            Target::Group(pid)
        } else {
            Target::Process(pid)
        };
        out.say(Change::Forwarding { signal: sig, pid });
        self.forward(target, sig, out);
    }

    /// The stop signal has gone to the command (`pid`): the grace starts now.
    fn grace_from_now(&mut self, pid: i32, by: StopBy, now: Instant, out: &mut Out) {
        let kill_at = now + self.settings.grace;
        self.phase = Phase::Stopping { pid, by, kill_at };
        if by != StopBy::Signal || self.kills_after_grace() {
            out.act(Action::Arm {
                timer: Timer::Grace,
                at: kill_at,
            });
        }
        // Not ready at once, so the host agent drains traffic; no probe may
        // act on a command that is stopping.
        self.stop_probes(out);
        self.update_ready(out);
    }

    /// A check failed: the command (`pid`) gets vigil's stop signal and the
    /// grace, and the restart policy decides once it has ended.
    fn stop_for(&mut self, check: Check, pid: i32, now: Instant, out: &mut Out) {
        out.act(Action::Send {
            target: self.command_target(pid),
            signal: self.stop_signal(),
        });
        self.grace_from_now(pid, StopBy::Check(check), now, out);
    }

    /// `may_drain`: the signal arrived now (not kept from before the start).
    fn on_signal(&mut self, sig: i32, may_drain: bool, now: Instant, out: &mut Out) {
        let stop = self.stops(sig);
        match &mut self.phase {
            // No command yet: the signal waits for it.
            Phase::Starting => self.keep_pending(sig),
            Phase::Running { pid } | Phase::Stopping { pid, .. } => {
                let pid = *pid;
                if may_drain && self.start_drain(sig, pid, now, out) {
                    return;
                }
                self.forward_to_command(pid, sig, out);
                match &mut self.phase {
                    // A stop signal, or one that cuts a drain short.
                    Phase::Running { .. }
                    | Phase::Stopping {
                        by: StopBy::Drain { .. },
                        ..
                    } if stop => {
                        if self.kills_after_grace() {
                            out.say(Change::Stopping {
                                signal: sig,
                                grace: self.settings.grace,
                            });
                        }
                        self.grace_from_now(pid, StopBy::Signal, now, out);
                    }
                    // A stop signal during a check's stop: no restart after it.
                    Phase::Stopping { by, .. } if stop => {
                        if let StopBy::Check(check) = *by {
                            *by = StopBy::CheckThenSignal(check);
                        }
                    }
                    _ => {}
                }
                self.suspend_after(sig, out);
            }
            Phase::Draining { pgid, then, .. } => {
                if stop {
                    *then = AfterDrain::Exit;
                }
                let pgid = *pgid;
                out.say(Change::ForwardingToGroup { signal: sig, pgid });
                self.forward(Target::Group(pgid), sig, out);
                self.suspend_after(sig, out);
            }
            Phase::BackingOff { code, .. } if stop => {
                let code = *code;
                out.say(Change::StoppedWhileBackingOff { signal: sig, code });
                self.exit(code, now, out);
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

    fn on_reaped(&mut self, pid: i32, status: ChildStatus, now: Instant, out: &mut Out) {
        let (main, stop) = match self.phase {
            Phase::Running { pid } => (pid, None),
            Phase::Stopping {
                pid, by, kill_at, ..
            } => (pid, Some((by, kill_at))),
            _ => (0, None),
        };
        if main == 0 || pid != main {
            out.say(Change::Reaped { pid, status });
            if let Phase::Draining { pgid, .. } = self.phase {
                out.act(Action::CheckGroup { pgid });
            }
            return;
        }
        let by = stop.map(|(by, _)| by);
        let mut then = match by {
            Some(StopBy::Signal | StopBy::Drain { .. } | StopBy::CheckThenSignal(_)) => {
                AfterDrain::Exit
            }
            Some(StopBy::Check(_)) | None => AfterDrain::Decide,
        };
        if self.settings.foreground
            && matches!(status.signal(), Some(libc::SIGINT | libc::SIGQUIT))
            && then == AfterDrain::Decide
        {
            // Ctrl-C or Ctrl-\ on the terminal went to the command's group,
            // not to vigil: the operator stops it, as in a shell.
            out.say(Change::StoppedFromTerminal {
                signal: status.signal().unwrap_or(0),
            });
            then = AfterDrain::Exit;
        }
        let check = by.and_then(StopBy::check);
        let code = match check {
            Some(_) => exit_status::code::PROBE_FAILED,
            None => exit_status::remap(status.code(), &self.settings.expected_codes),
        };
        out.say(Change::Ended { pid, status });
        self.last_exit = Some(status);
        let end = End {
            code,
            cause: match (check, code) {
                (Some(_), _) => Cause::ProbeKill,
                (None, 0) => Cause::Success,
                (None, _) => Cause::Failure,
            },
            why: match (check, status) {
                (Some(check), _) => check.why(),
                (None, ChildStatus::Signaled { signal, .. }) => {
                    format!("signal {}", crate::signal_name::name(signal))
                }
                (None, _) => format!("exit status {}", status.code()),
            },
            at: now,
        };
        self.stop_probes(out);
        if self.exit_with_command(main, &end, then, now, out) {
            return;
        }
        // One grace from the stop signal, for the command and the rest of its
        // group together (terminationGracePeriodSeconds); the command that
        // ends during a drain was sent nothing yet: its group's grace starts now.
        let kill_at = match stop {
            Some((StopBy::Drain { .. }, _)) | None => now + self.settings.grace,
            Some((_, at)) => at,
        };
        self.phase = Phase::Draining {
            pgid: main,
            end,
            then,
            kill_at,
        };
        self.update_ready(out);
        out.act(Action::Send {
            target: Target::Group(main),
            signal: self.stop_signal(),
        });
        out.act(Action::CheckGroup { pgid: main });
        out.act(Action::Arm {
            timer: Timer::Grace,
            at: kill_at,
        });
        out.act(Action::Arm {
            timer: Timer::DrainPoll,
            at: now + DRAIN_POLL,
        });
    }

    fn on_timer(&mut self, timer: Timer, now: Instant, out: &mut Out) {
        match (timer, &self.phase) {
            (Timer::Grace, Phase::Stopping { pid, kill_at, .. }) if now >= *kill_at => {
                out.say(Change::Killing {
                    pid: *pid,
                    grace: self.settings.grace,
                });
                out.act(Action::Send {
                    target: self.command_target(*pid),
                    signal: libc::SIGKILL,
                });
            }
            (
                Timer::Grace,
                Phase::Draining {
                    pgid,
                    end,
                    then,
                    kill_at,
                },
            ) if now >= *kill_at => {
                out.say(Change::KillingGroup {
                    pgid: *pgid,
                    grace: self.settings.grace,
                });
                out.act(Action::Send {
                    target: Target::Group(*pgid),
                    signal: libc::SIGKILL,
                });
                let (end, then) = (end.clone(), *then);
                self.after_drain(end, then, now, out);
            }
            (Timer::NoticeSummary, _) => {
                if let Some(change) = self.notices.summarize(now) {
                    out.say(change);
                }
            }
            (Timer::Restart, Phase::BackingOff { until, .. }) if now >= *until => {
                self.phase = Phase::Starting;
                out.act(Action::Spawn);
            }
            (Timer::ProbeTick(kind), Phase::Running { .. }) => self.on_probe_tick(kind, now, out),
            (Timer::Drain, _) => self.on_drain_timer(now, out),
            (Timer::Watchdog, _) => self.on_watchdog_timer(now, out),
            (Timer::DrainPoll, Phase::Draining { pgid, .. }) => {
                out.act(Action::CheckGroup { pgid: *pgid });
                out.act(Action::Arm {
                    timer: Timer::DrainPoll,
                    at: now + DRAIN_POLL,
                });
            }
            _ => {}
        }
    }
}

#[cfg(test)]
impl Supervisor {
    /// One event's output in a new `Output` (the loop reuses one: `step_into`).
    pub(crate) fn step(&mut self, event: Event, now: Instant) -> Output {
        let mut output = Output::default();
        self.step_into(event, now, &mut output);
        output
    }

    /// The actions of one event (the tests that look at changes use `step`).
    pub(crate) fn handle(&mut self, event: Event, now: Instant) -> Vec<Action> {
        self.step(event, now).actions
    }
}

#[cfg(test)]
mod drain_tests;
#[cfg(test)]
mod dumb_init_tests;
#[cfg(test)]
mod notify_tests;
#[cfg(test)]
mod phase_tests;
#[cfg(test)]
mod restart_tests;
#[cfg(test)]
mod tests;
