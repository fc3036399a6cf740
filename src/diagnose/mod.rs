//! Diagnosis: when a check fails, one line that names its cause with the
//! evidence and the fix, from what vigil sees itself inside the container
//! (who listens where, ...). Said at the first failure of a kind, again when
//! the cause changes or after the probe has succeeded meanwhile, never once
//! per period, and at most `MAX_LINES` per `WINDOW` in all. It never changes
//! a verdict (the attempt's outcome is already decided) and never delays the
//! loop: evidence is read only on a failure, bounded, and cached for the
//! probe's period.
//!
//! The event loop owns the `Diagnoser` and feeds it every probe result; a
//! diagnosis goes out as `Change::Diagnosis` (the log, `/events`, `/status`).
//! The command's own causes (a failed start: `exec`; a shell that keeps
//! signals from the server: `wrapper`) go out as `Change::CommandDiagnosis`,
//! once per cause for vigil's whole run (a crash loop says it once).
//! A diagnosis that needs a one-off check (`check`) is said when the check
//! is over; the loop runs the check's connection under its own token, and
//! lets it send a request only where no probe attempt runs or is due
//! within the request's timeout (`resume_check`).

pub(crate) mod answer;
pub(crate) mod budget;
pub(crate) mod check;
pub(crate) mod exec;
pub(crate) mod listeners;
pub(crate) mod network;
pub(crate) mod timing;
pub(crate) mod wrapper;

use crate::config::model::ProbeKind;
use crate::probe::outcome::{NetEvidence, Outcome};
use crate::probe::per_probe::PerProbe;
use crate::probe::plan::HttpPlan;
use crate::probe::state::Timing;
use crate::supervisor::Change;
use crate::sys::spawn::{Lookup, StartFailure};
use answer::{Check, CheckAnswer, Failed, Finding};
use check::{CheckStep, OneOff};
use listeners::Snapshot;
use mio::{Registry, Token};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Diagnosis lines at most per `WINDOW`, all probes together.
const MAX_LINES: usize = 10;
const WINDOW: Duration = Duration::from_secs(600);

/// A cause, with its evidence and the fix, in one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Diagnosis {
    /// What kind of cause: `port_mismatch`, `loopback_only`, ...
    pub kind: &'static str,
    /// What makes two diagnoses of a kind the same cause (the port, ...).
    pub key: String,
    pub text: String,
}

impl Diagnosis {
    /// `text`'s control characters are escaped (`\n`, `\u{1b}`): it quotes
    /// what the app and the image chose (a process name set with prctl, a
    /// `#!` line, a file name), and goes out as one line of the log.
    pub(crate) fn new(kind: &'static str, key: String, text: String) -> Diagnosis {
        let text = match text.contains(char::is_control) {
            true => crate::privileges::accounts::escaped(&text),
            false => text,
        };
        Diagnosis { kind, key, text }
    }
}

/// What the gate makes of a diagnosis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Admit {
    /// A new cause: said (the log, `/events`, `/status`).
    Say,
    /// Said already (since the probe last succeeded; the command's: ever).
    Repeat,
    /// A new cause the rate limit holds back: `/status` shows it; said
    /// once the window has moved on, if it still holds.
    Held,
}

/// When a diagnosis is said.
#[derive(Debug, Default)]
struct Gate {
    /// The causes said for each probe since it last succeeded (a crash loop
    /// that alternates two causes says each once).
    last: PerProbe<Causes>,
    /// The command's causes said (never forgotten: restarts do not repeat them).
    command: Causes,
    said: VecDeque<Instant>,
}

/// A cause: a diagnosis' kind and key.
type Cause = (&'static str, String);

/// Causes said, and causes the rate limit held back (each held once, not
/// again at each failure), the last `MAX_REMEMBERED` of each.
#[derive(Debug, Default)]
struct Causes {
    said: Vec<Cause>,
    held: Vec<Cause>,
}
const MAX_REMEMBERED: usize = 8;

impl Gate {
    fn success(&mut self, probe: ProbeKind) {
        self.last[probe] = Causes::default();
    }

    fn admit(&mut self, probe: ProbeKind, d: &Diagnosis, now: Instant) -> Admit {
        let mut last = std::mem::take(&mut self.last[probe]);
        let admitted = self.admit_in(&mut last, d, now);
        self.last[probe] = last;
        admitted
    }

    fn admit_command(&mut self, d: &Diagnosis, now: Instant) -> Admit {
        let mut last = std::mem::take(&mut self.command);
        let admitted = self.admit_in(&mut last, d, now);
        self.command = last;
        admitted
    }

    fn admit_in(&mut self, last: &mut Causes, d: &Diagnosis, now: Instant) -> Admit {
        let same = |(k, key): &Cause| *k == d.kind && *key == d.key;
        if last.said.iter().any(same) {
            return Admit::Repeat;
        }
        while self
            .said
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= WINDOW)
        {
            self.said.pop_front();
        }
        if self.said.len() >= MAX_LINES {
            // Said later, if the cause stays.
            if last.held.iter().any(same) {
                return Admit::Repeat;
            }
            remember(&mut last.held, d);
            return Admit::Held;
        }
        last.held.retain(|c| !same(c));
        self.said.push_back(now);
        remember(&mut last.said, d);
        Admit::Say
    }
}

/// Adds `d`'s cause to `causes`, the oldest gone past `MAX_REMEMBERED`.
fn remember(causes: &mut Vec<Cause>, d: &Diagnosis) {
    if causes.len() == MAX_REMEMBERED {
        causes.remove(0);
    }
    causes.push((d.kind, d.key.clone()));
}

/// What the loop knows when a probe result comes in.
#[derive(Debug, Clone, Default)]
pub(crate) struct Context {
    pub command: Option<network::Command>,
    /// The probe has failed its threshold in a row.
    pub settled: bool,
}

/// Checks whose results are kept (each runs once per question: the
/// probe's request and the kind of check).
const MAX_CHECKED: usize = 8;

/// Where a one-off check is, for the loop.
#[derive(Debug, PartialEq)]
pub(crate) enum Checking {
    /// Its current request ends by this deadline.
    Running(Instant),
    /// No request runs: the next waits for the probes to leave the server
    /// alone (`resume_check`).
    Waiting,
    /// Over, with the diagnosis to say, if any.
    Over(Option<Change>),
}

/// How long the probes leave the app alone from now, for a check's request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Quiet {
    /// A probe attempt is in flight.
    Busy,
    /// None is, and the next is due then (`None`: none is due).
    Until(Option<Instant>),
}

/// The probe's results while its check waits before it is not tried: the
/// probes left it no room for a whole period.
const MAX_WAITED: u32 = 2;

#[derive(Debug)]
struct Running {
    probe: ProbeKind,
    check: Check,
    one: OneOff,
    /// The probe's results since the check last sent a request.
    waited: u32,
}

pub(crate) struct Diagnoser {
    /// Where each network probe connects.
    targets: PerProbe<Option<SocketAddr>>,
    timings: PerProbe<Option<Timing>>,
    /// Each `http_get` probe's request, and each probe's timeout.
    http: PerProbe<Option<HttpPlan>>,
    timeouts: PerProbe<Duration>,
    /// Each network probe's recent attempt durations.
    windows: PerProbe<timing::Window>,
    gate: Gate,
    /// The last listener snapshot and when it was taken.
    listeners: Option<(Instant, Snapshot)>,
    /// Where each exec probe's program is.
    programs: PerProbe<Option<Lookup>>,
    /// The command's pid last checked for a shell wrapper (once per run).
    wrapper_checked: Option<i32>,
    /// The command is a shell (by its program's name): only then is the
    /// shell-without-exec check made, so a forwarded signal waits for no
    /// `/proc` reading otherwise.
    shell_command: bool,
    /// The check a failure asked for, running or waiting to.
    running: Option<Running>,
    /// The checks that have run since the command started: the probe's
    /// request they asked about, the check and the diagnosis.
    checked: Vec<(HttpPlan, Check, Diagnosis)>,
    /// How long the app took to come up, over restarts.
    budgets: budget::Budgets,
}

impl Diagnoser {
    pub(crate) fn new(
        targets: PerProbe<Option<SocketAddr>>,
        timings: PerProbe<Option<Timing>>,
    ) -> Diagnoser {
        Diagnoser {
            targets,
            timings,
            http: PerProbe::default(),
            timeouts: PerProbe::default(),
            windows: PerProbe::default(),
            gate: Gate::default(),
            listeners: None,
            programs: PerProbe::default(),
            wrapper_checked: None,
            shell_command: false,
            running: None,
            checked: Vec::new(),
            budgets: budget::Budgets::default(),
        }
    }

    /// Exec probes get their programs' start failures diagnosed.
    pub(crate) fn with_programs(mut self, programs: PerProbe<Option<Lookup>>) -> Diagnoser {
        self.programs = programs;
        self
    }

    /// The command could not be started: why, once per cause. Cold: off
    /// the pages of code the idle loop keeps mapped.
    #[cold]
    #[inline(never)]
    pub(crate) fn on_start_failure(
        &mut self,
        lookup: &Lookup,
        failure: &StartFailure,
        now: Instant,
    ) -> Option<Change> {
        let StartFailure::Exec(errno) = failure else {
            return None;
        };
        let e = exec::gather(lookup, *errno, false);
        let path = e.path.clone();
        let on_path = |w: &str| exec::on_path(w, path.as_deref());
        let d = exec::start_failure(&e, &exec::exists, &on_path)?;
        self.gated(None, d, now)
    }

    /// `signal` goes to the command's process (`pid`) alone: a shell that
    /// runs the server without `exec` keeps it from the server. Checked
    /// once per run of the command.
    #[cold]
    #[inline(never)]
    pub(crate) fn on_signal_to_command(
        &mut self,
        pid: i32,
        signal: i32,
        now: Instant,
    ) -> Option<Change> {
        if !self.shell_command || self.wrapper_checked.replace(pid) == Some(pid) {
            return None;
        }
        let command = wrapper::read_proc(pid)?;
        let children = wrapper::children(pid);
        // No scan of all processes here (this runs before a signal is
        // passed on): only the child's own descriptors against the listeners.
        let listening = |child: i32| listeners::holds_listener(child);
        let d = wrapper::shell_without_exec(&wrapper::Wrapped {
            command: &command,
            children: &children,
            listening: &listening,
            now: wrapper::now_ticks(),
            signal,
        })?;
        self.gated(None, d, now)
    }

    /// The `http_get` probes' requests and every probe's timeout, for the
    /// diagnoses of what the app answered and of timeouts.
    pub(crate) fn with_probes(
        mut self,
        http: PerProbe<Option<HttpPlan>>,
        timeouts: PerProbe<Duration>,
    ) -> Diagnoser {
        self.http = http;
        self.timeouts = timeouts;
        self
    }

    /// The probe that can stop a command that is slow to come up, and how
    /// long it allows: startup if there is one, else liveness.
    fn budget(&self) -> Option<network::Budget> {
        let (key, t) = match (
            self.timings[ProbeKind::Startup],
            self.timings[ProbeKind::Liveness],
        ) {
            (Some(t), _) => ("startup_check", t),
            (None, Some(t)) => ("liveness_check", t),
            (None, None) => return None,
        };
        Some(network::Budget {
            key,
            total: t.initial_delay + t.period * t.failure_threshold,
        })
    }

    /// The listeners, read again once the probe's period has passed.
    fn listeners(&mut self, probe: ProbeKind, now: Instant) -> &Snapshot {
        let period = self.timings[probe].map_or(Duration::from_secs(1), |t| t.period);
        let fresh = self
            .listeners
            .as_ref()
            .is_some_and(|(at, _)| now.saturating_duration_since(*at) < period);
        let kept = self.listeners.take().filter(|_| fresh);
        let (_, snapshot) = self
            .listeners
            .insert(kept.unwrap_or_else(|| (now, listeners::snapshot())));
        snapshot
    }

    /// Whether a signal to the command is worth a look (the command is a shell).
    pub(crate) fn watches_signals(&self) -> bool {
        self.shell_command
    }

    /// The command's program, by name, is a shell (`sh -c '...'`).
    pub(crate) fn with_shell_command(mut self, program: &str) -> Self {
        let name = program.rsplit('/').next().unwrap_or(program);
        self.shell_command = wrapper::is_shell(name);
        self
    }

    /// A change from the supervisor: the diagnosis to say, if any now.
    /// `ctx` is asked for only when a probe failed.
    pub(crate) fn on_change(
        &mut self,
        change: &Change,
        ctx: impl FnOnce() -> Context,
        now: Instant,
    ) -> Option<Change> {
        match change {
            Change::Started { .. } => {
                self.budgets.started(now);
                // A new run of the app may answer otherwise.
                self.checked.clear();
                self.cancel_check();
                None
            }
            Change::ProbeResult {
                probe,
                outcome,
                run,
                threshold,
            } => {
                let network = self.targets[*probe].is_some();
                self.budgets.attempt(outcome, network, now);
                let ctx = match outcome.success {
                    true => Context::default(),
                    false => Context {
                        settled: run >= threshold,
                        ..ctx()
                    },
                };
                self.on_result(*probe, outcome, &ctx, now)
            }
            Change::ProbeStop { probe, .. } => {
                // The command stops: a check would ask an app on its way out.
                self.cancel_check();
                let d = self.budgets.stopped(*probe, &self.timings, now)?;
                self.gated(Some(*probe), d, now)
            }
            Change::Ended { .. } => {
                self.cancel_check();
                None
            }
            _ => None,
        }
    }

    /// A probe attempt ended: the diagnosis to say, if there is one now.
    pub(crate) fn on_result(
        &mut self,
        probe: ProbeKind,
        outcome: &Outcome,
        ctx: &Context,
        now: Instant,
    ) -> Option<Change> {
        if self.targets[probe].is_some() && timing::counts(outcome) {
            self.windows[probe].push(outcome.duration);
        }
        if outcome.success {
            self.gate.success(probe);
            // The failure is over: its check is not needed, and what was
            // checked for this request is asked again at the next one.
            if self.running.as_ref().is_some_and(|r| r.probe == probe) {
                self.cancel_check();
            }
            let plan = self.http[probe].as_ref();
            self.checked.retain(|(p, ..)| Some(p) != plan);
            return None;
        }
        if let Some(r) = self.running.as_mut().filter(|r| r.probe == probe) {
            if !r.one.busy() {
                r.waited += 1;
            }
            return None; // its line comes when the check is over
        }
        let d = match self.diagnose(probe, outcome, ctx, now)? {
            Finding::Say(d) => d,
            Finding::Check(check) => match self.checked(probe, check) {
                Some(d) => d,
                // Another probe of the same server: its verdict must not
                // depend on the check's requests (a single worker busy with
                // one, even after the check gave up on it, would keep that
                // probe's attempt waiting), so none is sent.
                None if self.sharing(probe).is_some() => {
                    let found = self.sharing(probe)?;
                    checked_line(self.http[probe].as_ref()?, check, &found)
                }
                None => {
                    if let (None, Some(plan)) = (&self.running, &self.http[probe]) {
                        self.running = Some(Running {
                            probe,
                            check,
                            one: OneOff::new(check, plan, self.timeouts[probe]),
                            waited: 0,
                        });
                    }
                    return None;
                }
            },
        };
        self.say(probe, d, now)
    }

    fn say(&mut self, probe: ProbeKind, d: Diagnosis, now: Instant) -> Option<Change> {
        self.gated(Some(probe), d, now)
    }

    /// The change for `d` (a probe's, or the command's when `probe` is
    /// `None`), as the gate admits it: said, held back for `/status`, or
    /// nothing (said already).
    fn gated(&mut self, probe: Option<ProbeKind>, d: Diagnosis, now: Instant) -> Option<Change> {
        let admit = match probe {
            Some(p) => self.gate.admit(p, &d, now),
            None => self.gate.admit_command(&d, now),
        };
        let (kind, text) = (d.kind, d.text);
        match (admit, probe) {
            (Admit::Repeat, _) => None,
            (Admit::Held, probe) => Some(Change::DiagnosisHeld { probe, kind, text }),
            (Admit::Say, Some(probe)) => Some(Change::Diagnosis { probe, kind, text }),
            (Admit::Say, None) => Some(Change::CommandDiagnosis { kind, text }),
        }
    }

    /// Another probe that goes to the same server as `probe` (the first by
    /// kind), as a check's answer: none is run then.
    fn sharing(&self, probe: ProbeKind) -> Option<CheckAnswer> {
        let addr = self.targets[probe]?;
        let other = ProbeKind::ALL
            .into_iter()
            .find(|&k| k != probe && self.targets[k] == Some(addr))?;
        let own = self.http[probe].as_ref().map(|p| p.path.as_str());
        Some(CheckAnswer::Shared {
            probe: other.name(),
            path: self.http[other]
                .as_ref()
                .map(|p| p.path.clone())
                .filter(|p| Some(p.as_str()) != own),
        })
    }

    /// The diagnosis of a check that has already run for this probe's request.
    fn checked(&self, probe: ProbeKind, check: Check) -> Option<Diagnosis> {
        let plan = self.http[probe].as_ref()?;
        self.checked
            .iter()
            .find(|(p, c, _)| p == plan && *c == check)
            .map(|(.., d)| d.clone())
    }

    /// A check waits to send its next request.
    pub(crate) fn check_waits(&self) -> bool {
        self.running.as_ref().is_some_and(|r| !r.one.busy())
    }

    /// Sends the waiting check's next request if the probes leave the app
    /// alone for its whole timeout (`quiet`): a check's request never
    /// shares the app with an attempt (a single worker busy with it would
    /// keep the attempt waiting). Once the probe has had `MAX_WAITED`
    /// results meanwhile, the check ends not tried.
    pub(crate) fn resume_check(
        &mut self,
        registry: &Registry,
        token: Token,
        now: Instant,
        quiet: Quiet,
    ) -> Option<Checking> {
        let r = self.running.as_mut().filter(|r| !r.one.busy())?;
        let step = if room(quiet, now, r.one.timeout()) {
            r.waited = 0;
            r.one.next(registry, token, now)
        } else if r.waited >= MAX_WAITED {
            r.one.cancel();
            CheckStep::Done(CheckAnswer::NotTried)
        } else {
            return None;
        };
        Some(self.progress(step, now))
    }

    /// Drops the check (the probe succeeded, the command stops or starts
    /// again): nothing is said or kept of it.
    pub(crate) fn cancel_check(&mut self) {
        if let Some(mut r) = self.running.take() {
            r.one.cancel();
        }
    }

    /// A readiness event on the check's token.
    pub(crate) fn on_check_event(
        &mut self,
        registry: &Registry,
        token: Token,
        now: Instant,
    ) -> Option<Checking> {
        let step = self.running.as_mut()?.one.on_event(registry, token, now);
        Some(self.progress(step, now))
    }

    /// The check's deadline passed.
    pub(crate) fn on_check_deadline(&mut self, now: Instant) -> Option<Checking> {
        let step = self.running.as_mut()?.one.on_deadline(now);
        Some(self.progress(step, now))
    }

    fn progress(&mut self, step: CheckStep, now: Instant) -> Checking {
        let found = match step {
            CheckStep::Pending(at) => return Checking::Running(at),
            CheckStep::Between => return Checking::Waiting,
            CheckStep::Done(found) => found,
        };
        let Some(r) = self.running.take() else {
            return Checking::Over(None);
        };
        let Some(plan) = self.http[r.probe].as_ref() else {
            return Checking::Over(None);
        };
        let d = checked_line(plan, r.check, &found);
        if self.checked.len() == MAX_CHECKED {
            self.checked.remove(0);
        }
        self.checked.push((plan.clone(), r.check, d.clone()));
        Checking::Over(self.say(r.probe, d, now))
    }

    /// Never inlined: `on_result` runs on every result (and is laid out
    /// with the hot functions), the analyses on failures only.
    #[inline(never)]
    fn diagnose(
        &mut self,
        probe: ProbeKind,
        outcome: &Outcome,
        ctx: &Context,
        now: Instant,
    ) -> Option<Finding> {
        if let Some(lookup) = &self.programs[probe] {
            return exec_probe(lookup, outcome).map(Finding::Say);
        }
        let addr = self.targets[probe]?;
        if !outcome.message.contains("connection refused") {
            let net = outcome.net.as_ref()?;
            if net.timed_out {
                return Some(Finding::Say(timing::timed_out(&timing::TimedOut {
                    addr,
                    net,
                    timeout: self.timeouts[probe],
                    window: &self.windows[probe],
                })));
            }
            let plan = self.http[probe].as_ref()?;
            return answer::failed(&Failed {
                addr,
                path: &plan.path,
                host: &plan.host_header(),
                user_agent: plan.user_agent(),
                message: &outcome.message,
                body: &outcome.output,
                net,
            });
        }
        // A command that has just started is still binding: no evidence is
        // read (nor its code touched) until a second has passed or the
        // probe has failed its threshold.
        let young = ctx
            .command
            .as_ref()
            .is_some_and(|c| c.running_for < network::LOADING_AFTER);
        if young && !ctx.settled {
            return None;
        }
        let budget = self.budget();
        let command = ctx.command.clone();
        let root = command.as_ref().map_or(0, |c| c.pid);
        let lineage = std::cell::RefCell::new(listeners::Lineage::of(root));
        let in_command = |pid: i32| root > 0 && lineage.borrow_mut().descends(pid);
        let netns = command.as_ref().and_then(|c| listeners::other_netns(c.pid));
        let snapshot = self.listeners(probe, now);
        network::refused(&network::Refused {
            addr,
            listeners: &snapshot.listeners,
            cut: &snapshot.cut,
            owners_cut: snapshot.owners_cut,
            command,
            in_command: &in_command,
            budget,
            settled: ctx.settled,
            netns: netns.as_ref(),
        })
        .map(Finding::Say)
    }
}

/// The line for a check's `found` answer about the request of `plan`.
fn checked_line(plan: &HttpPlan, check: Check, found: &CheckAnswer) -> Diagnosis {
    let host = plan.host_header();
    answer::after_check(
        &Failed {
            addr: plan.addr,
            path: &plan.path,
            host: &host,
            user_agent: plan.user_agent(),
            message: "",
            body: "",
            net: &NetEvidence::default(),
        },
        check,
        found,
    )
}

/// Whether the probes leave the app alone long enough for a request of
/// `timeout`: no attempt in flight, and none due before it is over.
fn room(quiet: Quiet, now: Instant, timeout: Duration) -> bool {
    match quiet {
        Quiet::Busy => false,
        Quiet::Until(next) => next.is_none_or(|at| at >= now + timeout),
    }
}

/// Why an exec probe's program could not run, if that is what failed: the
/// exec errno its child reported, carried by the outcome (never read back
/// from the message's words).
#[cold]
#[inline(never)]
fn exec_probe(lookup: &Lookup, outcome: &Outcome) -> Option<Diagnosis> {
    let Some(StartFailure::Exec(errno)) = outcome.cannot_run else {
        return None;
    };
    let e = exec::gather(lookup, errno, true);
    let path = e.path.clone();
    let on_path = |w: &str| exec::on_path(w, path.as_deref());
    exec::start_failure(&e, &exec::exists, &on_path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(kind: &'static str, key: &str) -> Diagnosis {
        Diagnosis::new(kind, key.into(), format!("{kind} {key}"))
    }

    #[test]
    fn said_once_per_cause_again_after_a_change_or_a_success() {
        let mut g = Gate::default();
        let t = Instant::now();
        let r = ProbeKind::Readiness;
        assert_eq!(g.admit(r, &d("port_mismatch", "8000"), t), Admit::Say);
        assert_eq!(g.admit(r, &d("port_mismatch", "8000"), t), Admit::Repeat); // same cause: once
        assert_eq!(
            g.admit(ProbeKind::Liveness, &d("port_mismatch", "8000"), t),
            Admit::Say
        ); // per probe
        assert_eq!(g.admit(r, &d("port_mismatch", "9000"), t), Admit::Say); // the cause changed
        assert_eq!(g.admit(r, &d("loopback_only", "9000"), t), Admit::Say);
        // A crash loop alternating two causes says each once.
        assert_eq!(g.admit(r, &d("port_mismatch", "8000"), t), Admit::Repeat);
        assert_eq!(g.admit(r, &d("loopback_only", "9000"), t), Admit::Repeat);
        g.success(r);
        assert_eq!(g.admit(r, &d("loopback_only", "9000"), t), Admit::Say); // failing anew
    }

    #[test]
    fn the_command_s_cause_is_said_once_for_the_whole_run() {
        let mut g = Gate::default();
        let t = Instant::now();
        assert_eq!(g.admit_command(&d("not_found", "app"), t), Admit::Say);
        // Restarts, probe successes: still the same cause, not said again.
        g.success(ProbeKind::Readiness);
        assert_eq!(
            g.admit_command(&d("not_found", "app"), t + WINDOW),
            Admit::Repeat
        );
        // Not the probes' slot either way.
        assert_eq!(
            g.admit(ProbeKind::Readiness, &d("not_found", "app"), t),
            Admit::Say
        );
        assert_eq!(g.admit_command(&d("crlf", "app"), t), Admit::Say);
        // The rate limit is shared.
        for i in 0..MAX_LINES {
            g.admit(ProbeKind::Liveness, &d("port_mismatch", &i.to_string()), t);
        }
        assert_eq!(g.admit_command(&d("no_exec_bit", "app"), t), Admit::Held);
    }

    #[test]
    fn a_cause_held_back_by_the_rate_limit_goes_to_status() {
        let mut dg = Diagnoser::new(PerProbe::default(), PerProbe::default());
        let t = Instant::now();
        let r = ProbeKind::Readiness;
        for i in 0..MAX_LINES {
            let said = dg.say(ProbeKind::Liveness, d("port_mismatch", &i.to_string()), t);
            assert!(matches!(said, Some(Change::Diagnosis { .. })), "{said:?}");
        }
        let held = |probe, kind| Change::DiagnosisHeld {
            probe,
            kind,
            text: format!("{kind} 8000"),
        };
        let got = dg.say(r, d("loopback_only", "8000"), t);
        assert_eq!(got, Some(held(Some(r), "loopback_only")));
        // Held once, not again at each failure.
        assert_eq!(dg.say(r, d("loopback_only", "8000"), t), None);
        let got = dg.gated(None, d("crlf", "8000"), t);
        assert_eq!(got, Some(held(None, "crlf")));
        // Said (to the log too) once the window has moved on.
        let got = dg.say(r, d("loopback_only", "8000"), t + WINDOW);
        assert!(matches!(got, Some(Change::Diagnosis { .. })), "{got:?}");
        assert_eq!(dg.say(r, d("loopback_only", "8000"), t + WINDOW), None);
    }

    fn plan(host: Option<&str>) -> HttpPlan {
        HttpPlan {
            addr: "127.0.0.1:8000".parse().unwrap(),
            host: "127.0.0.1".into(),
            path: "/helth".into(),
            headers: host
                .map(|h| ("Host".into(), h.into()))
                .into_iter()
                .collect(),
        }
    }

    /// A diagnoser of an `http_get` readiness probe (and a liveness probe
    /// with the same request but for a `Host` header of its own).
    fn two_probes() -> Diagnoser {
        let addr = Some(plan(None).addr);
        let targets = PerProbe::from_fn(|k| (k != ProbeKind::Startup).then_some(addr).flatten());
        let http = PerProbe::from_fn(|k| match k {
            ProbeKind::Readiness => Some(plan(None)),
            ProbeKind::Liveness => Some(plan(Some("app.example"))),
            ProbeKind::Startup => None,
        });
        Diagnoser::new(targets, PerProbe::default())
            .with_probes(http, PerProbe::from_fn(|_| Duration::from_secs(1)))
    }

    /// A readiness `http_get` probe and a liveness one of another server
    /// (port 8001): the readiness probe's check may run.
    fn two_servers() -> Diagnoser {
        let other: SocketAddr = "127.0.0.1:8001".parse().unwrap();
        let targets = PerProbe::from_fn(|k| match k {
            ProbeKind::Readiness => Some(plan(None).addr),
            ProbeKind::Liveness => Some(other),
            ProbeKind::Startup => None,
        });
        let http = PerProbe::from_fn(|k| match k {
            ProbeKind::Readiness => Some(plan(None)),
            ProbeKind::Liveness => Some(HttpPlan {
                addr: other,
                ..plan(None)
            }),
            ProbeKind::Startup => None,
        });
        Diagnoser::new(targets, PerProbe::default())
            .with_probes(http, PerProbe::from_fn(|_| Duration::from_secs(1)))
    }

    #[test]
    fn no_check_while_another_probe_goes_to_the_same_server() {
        let t = Instant::now();
        let mut dg = two_probes();
        let r = ProbeKind::Readiness;
        let Some(Change::Diagnosis { text, .. }) =
            dg.on_result(r, &result(false, 404), &Context::default(), t)
        else {
            panic!("said at once: no check to wait for");
        };
        assert!(!dg.check_waits());
        assert_eq!(
            text,
            "the app answered GET /helth with 404 Not Found: the app serves no such path; \
             /health, /healthz, /ready, /ping were not tried (the liveness probe goes to the \
             same server, and an extra request could keep a worker it needs): set the probe's \
             path to one the app serves to GET"
        );
        // The other server's probe: the check runs.
        let mut dg = two_servers();
        assert_eq!(
            dg.on_result(r, &result(false, 404), &Context::default(), t),
            None
        );
        assert!(dg.check_waits());
    }

    fn result(success: bool, status: u16) -> Outcome {
        let ms = Some(Duration::from_millis(1));
        Outcome {
            success,
            warning: false,
            message: format!("HTTP probe failed with statuscode: {status}"),
            target: "GET http://127.0.0.1:8000/helth".into(),
            output: String::new(),
            duration: Duration::from_millis(1),
            net: Some(NetEvidence {
                connected: ms,
                sent: ms,
                first_byte: ms,
                last_byte: ms,
                lead: *b"HT",
                status,
                ..NetEvidence::default()
            }),
            cannot_run: None,
        }
    }

    #[test]
    fn a_check_s_result_answers_its_own_question_until_the_cause_goes() {
        let mut dg = two_probes();
        let (r, l) = (ProbeKind::Readiness, ProbeKind::Liveness);
        let check = Check::HealthPaths { status: 404 };
        let t = Instant::now();
        let remember = |dg: &mut Diagnoser| {
            let d = d("wrong_path", "404 /helth");
            dg.checked.push((plan(None), check, d));
        };
        remember(&mut dg);
        assert!(dg.checked(r, check).is_some());
        // Same address and path, another Host: another question.
        assert_eq!(dg.checked(l, check), None);
        assert_eq!(dg.checked(r, Check::HealthPaths { status: 405 }), None);
        // Another probe's success changes nothing; this one's forgets it.
        dg.on_result(l, &result(true, 200), &Context::default(), t);
        assert!(dg.checked(r, check).is_some());
        dg.on_result(r, &result(true, 200), &Context::default(), t);
        assert_eq!(dg.checked(r, check), None);
        // So does a new run of the command.
        remember(&mut dg);
        dg.on_change(&Change::Started { pid: 7 }, Context::default, t);
        assert_eq!(dg.checked(r, check), None);
    }

    #[test]
    fn a_check_waits_for_room_between_attempts_then_is_not_tried() {
        let t = Instant::now();
        let second = Duration::from_secs(1);
        // (Another server's probe: its attempts leave no room either.)
        let table = [
            (Quiet::Busy, false),
            (Quiet::Until(None), true),
            (Quiet::Until(Some(t + second)), true),
            (Quiet::Until(Some(t + second / 2)), false),
            (Quiet::Until(Some(t)), false),
        ];
        for (quiet, want) in table {
            assert_eq!(room(quiet, t, second), want, "{quiet:?}");
        }
        let poll = mio::Poll::new().unwrap();
        let (registry, token) = (poll.registry(), Token(8));
        let mut dg = two_servers();
        let r = ProbeKind::Readiness;
        let failed =
            |dg: &mut Diagnoser| dg.on_result(r, &result(false, 404), &Context::default(), t);
        assert_eq!(failed(&mut dg), None, "said when the check is over");
        assert!(dg.check_waits());
        let soon = Quiet::Until(Some(t + second / 2));
        for _ in 0..MAX_WAITED {
            assert_eq!(dg.resume_check(registry, token, t, Quiet::Busy), None);
            assert_eq!(dg.resume_check(registry, token, t, soon), None);
            assert_eq!(failed(&mut dg), None);
        }
        let Some(Checking::Over(Some(Change::Diagnosis { text, .. }))) =
            dg.resume_check(registry, token, t, soon)
        else {
            panic!("not over");
        };
        assert!(text.contains("could not all be tried"), "{text}");
        assert!(!dg.check_waits());
        // Asked again: the answer is kept (no new check).
        assert_eq!(failed(&mut dg), None);
        assert!(!dg.check_waits());
        // A check the probe's success makes moot is dropped.
        dg.on_result(r, &result(true, 200), &Context::default(), t);
        failed(&mut dg);
        assert!(dg.check_waits());
        dg.on_result(r, &result(true, 200), &Context::default(), t);
        assert!(!dg.check_waits());
        // So is one whose command stops or ends (a probe that decided, as
        // liveness, cancels no attempts: the stop itself drops the check).
        let stop = Change::ProbeStop {
            probe: r,
            pid: 7,
            threshold: 3,
            message: String::new(),
            target: String::new(),
        };
        let ended = Change::Ended {
            pid: 7,
            status: crate::exit_status::ChildStatus::Exited(0),
        };
        for change in [stop, ended] {
            failed(&mut dg);
            assert!(dg.check_waits());
            dg.on_change(&change, Context::default, t);
            assert!(!dg.check_waits(), "{change:?}");
            dg.on_result(r, &result(true, 200), &Context::default(), t);
        }
    }

    #[test]
    fn an_exec_probe_s_failure_is_read_from_its_data_not_its_words() {
        use crate::probe::exec::CANNOT_RUN;
        use nix::errno::Errno;
        let gone = "/nonexistent/vigil-probe-check";
        let lookup = Lookup {
            name: gone.into(),
            path: None,
            candidates: vec![gone.into()],
        };
        let failed = |message: String, cannot_run: Option<StartFailure>| Outcome {
            success: false,
            warning: false,
            message,
            target: format!("exec [\"{gone}\"]"),
            output: String::new(),
            duration: Duration::ZERO,
            net: None,
            cannot_run,
        };
        let kind = |o: &Outcome| exec_probe(&lookup, o).map(|d| d.kind);
        let enoent = Some(StartFailure::Exec(Errno::ENOENT));
        // The child's report, whatever words the message has (`--user`'s
        // suffix, another C library's strerror).
        let said = [
            format!("{CANNOT_RUN}No such file or directory (as uid 4242 gid 0, --user)"),
            format!("{CANNOT_RUN}No such file or directory"),
            format!("{CANNOT_RUN}ENOENT (Fichier ou dossier inexistant)"),
        ];
        for message in said {
            assert_eq!(
                kind(&failed(message.clone(), enoent)),
                Some("not_found"),
                "{message}"
            );
        }
        // Words are no evidence: a message that reads like the report
        // without it, and a step before exec whose words are exec's.
        assert_eq!(
            kind(&failed(
                format!("{CANNOT_RUN}No such file or directory"),
                None
            )),
            None
        );
        let before_exec = Some(StartFailure::Privileges { word: libc::ENOENT });
        assert_eq!(
            kind(&failed(
                format!("{CANNOT_RUN}No such file or directory"),
                before_exec
            )),
            None
        );
        assert_eq!(
            kind(&failed(
                format!("{CANNOT_RUN}No such file or directory"),
                Some(StartFailure::Chdir(Errno::ENOENT))
            )),
            None
        );
    }

    #[test]
    fn a_diagnosis_is_one_line_whatever_it_quotes() {
        // A process name, a #! line, a file name: the app's bytes.
        let d = Diagnosis::new(
            "port_mismatch",
            "8000".into(),
            "the command does: \nNOTE x\u{1b}[31m\u{85} (pid 7)".into(),
        );
        assert_eq!(
            d.text,
            "the command does: \\nNOTE x\\u{1b}[31m\\u{85} (pid 7)"
        );
        let plain = Diagnosis::new("crlf", "x".into(), "\"/bin/sh\\r\" é".into());
        assert_eq!(plain.text, "\"/bin/sh\\r\" é");
    }

    #[test]
    fn at_most_max_lines_per_window() {
        let mut g = Gate::default();
        let t = Instant::now();
        let r = ProbeKind::Readiness;
        for i in 0..MAX_LINES {
            assert_eq!(
                g.admit(r, &d("port_mismatch", &i.to_string()), t),
                Admit::Say
            );
        }
        assert_eq!(g.admit(r, &d("port_mismatch", "x"), t), Admit::Held);
        // Not said while limited, so said once the window has moved on.
        assert_eq!(g.admit(r, &d("port_mismatch", "x"), t + WINDOW), Admit::Say);
    }
}
