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
//! is over; the loop runs the check's connection under its own token.

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
use answer::{Check, Failed, Finding};
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
    pub(crate) fn new(kind: &'static str, key: String, text: String) -> Diagnosis {
        Diagnosis { kind, key, text }
    }
}

/// When a diagnosis is said.
#[derive(Debug, Default)]
struct Gate {
    /// The causes said for each probe since it last succeeded (a crash loop
    /// that alternates two causes says each once).
    last: PerProbe<Said>,
    /// The command's causes said (never forgotten: restarts do not repeat them).
    command: Said,
    said: VecDeque<Instant>,
}

/// Causes said, the last `MAX_REMEMBERED` of them.
type Said = Vec<(&'static str, String)>;
const MAX_REMEMBERED: usize = 8;

impl Gate {
    fn success(&mut self, probe: ProbeKind) {
        self.last[probe].clear();
    }

    fn admit(&mut self, probe: ProbeKind, d: &Diagnosis, now: Instant) -> bool {
        let mut last = std::mem::take(&mut self.last[probe]);
        let admitted = self.admit_in(&mut last, d, now);
        self.last[probe] = last;
        admitted
    }

    fn admit_command(&mut self, d: &Diagnosis, now: Instant) -> bool {
        let mut last = std::mem::take(&mut self.command);
        let admitted = self.admit_in(&mut last, d, now);
        self.command = last;
        admitted
    }

    fn admit_in(&mut self, last: &mut Said, d: &Diagnosis, now: Instant) -> bool {
        if last.iter().any(|(k, key)| *k == d.kind && *key == d.key) {
            return false;
        }
        while self
            .said
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= WINDOW)
        {
            self.said.pop_front();
        }
        if self.said.len() >= MAX_LINES {
            return false; // said later, if the cause stays
        }
        self.said.push_back(now);
        if last.len() == MAX_REMEMBERED {
            last.remove(0);
        }
        last.push((d.kind, d.key.clone()));
        true
    }
}

/// What the loop knows when a probe result comes in.
#[derive(Debug, Clone, Default)]
pub(crate) struct Context {
    pub command: Option<network::Command>,
    /// The probe has failed its threshold in a row.
    pub settled: bool,
}

/// Checks whose results are kept (each runs once per probe address, path
/// and kind of check).
const MAX_CHECKED: usize = 8;

/// Where a one-off check is, for the loop.
#[derive(Debug, PartialEq)]
pub(crate) enum Checking {
    /// Its current exchange ends by this deadline.
    Running(Instant),
    /// Over, with the diagnosis to say, if any.
    Over(Option<Change>),
}

#[derive(Debug)]
struct Running {
    probe: ProbeKind,
    check: Check,
    one: OneOff,
    /// The probe succeeded meanwhile: the result is kept, not said.
    stale: bool,
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
    /// A check the last failure asked for, for the loop to start.
    wanted: Option<(ProbeKind, Check)>,
    running: Option<Running>,
    /// The checks that have run: (address, path, check) and the diagnosis.
    checked: Vec<(SocketAddr, String, Check, Diagnosis)>,
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
            wanted: None,
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
        self.gate
            .admit_command(&d, now)
            .then_some(Change::CommandDiagnosis {
                kind: d.kind,
                text: d.text,
            })
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
        self.gate
            .admit_command(&d, now)
            .then_some(Change::CommandDiagnosis {
                kind: d.kind,
                text: d.text,
            })
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
                let d = self.budgets.stopped(*probe, &self.timings, now)?;
                self.gate
                    .admit(*probe, &d, now)
                    .then_some(Change::Diagnosis {
                        probe: *probe,
                        kind: d.kind,
                        text: d.text,
                    })
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
            if let Some(r) = self.running.as_mut().filter(|r| r.probe == probe) {
                r.stale = true;
            }
            return None;
        }
        if self.running.as_ref().is_some_and(|r| r.probe == probe) {
            return None; // its line comes when the check is over
        }
        let d = match self.diagnose(probe, outcome, ctx, now)? {
            Finding::Say(d) => d,
            Finding::Check(check) => match self.checked(probe, check) {
                Some(d) => d,
                None => {
                    if self.running.is_none() {
                        self.wanted = Some((probe, check));
                    }
                    return None;
                }
            },
        };
        self.say(probe, d, now)
    }

    fn say(&mut self, probe: ProbeKind, d: Diagnosis, now: Instant) -> Option<Change> {
        self.gate
            .admit(probe, &d, now)
            .then_some(Change::Diagnosis {
                probe,
                kind: d.kind,
                text: d.text,
            })
    }

    /// The diagnosis of a check that has already run for this probe's request.
    fn checked(&self, probe: ProbeKind, check: Check) -> Option<Diagnosis> {
        let plan = self.http[probe].as_ref()?;
        self.checked
            .iter()
            .find(|(a, p, c, _)| *a == plan.addr && *p == plan.path && *c == check)
            .map(|(.., d)| d.clone())
    }

    /// Starts the check the last failure asked for, if any.
    pub(crate) fn start_check(
        &mut self,
        registry: &Registry,
        token: Token,
        now: Instant,
    ) -> Option<Checking> {
        let (probe, check) = self.wanted.take()?;
        if self.running.is_some() {
            return None;
        }
        let plan = self.http[probe].as_ref()?;
        let (one, step) = OneOff::start(check, plan, self.timeouts[probe], registry, token, now);
        self.running = Some(Running {
            probe,
            check,
            one,
            stale: false,
        });
        Some(self.progress(step, now))
    }

    /// A readiness event on the check's token.
    pub(crate) fn on_check_event(&mut self, registry: &Registry, now: Instant) -> Option<Checking> {
        let step = self.running.as_mut()?.one.on_event(registry, now);
        Some(self.progress(step, now))
    }

    /// The check's deadline passed.
    pub(crate) fn on_check_deadline(
        &mut self,
        registry: &Registry,
        now: Instant,
    ) -> Option<Checking> {
        let step = self.running.as_mut()?.one.on_deadline(registry, now);
        Some(self.progress(step, now))
    }

    fn progress(&mut self, step: CheckStep, now: Instant) -> Checking {
        let found = match step {
            CheckStep::Pending(at) => return Checking::Running(at),
            CheckStep::Done(found) => found,
        };
        let Some(r) = self.running.take() else {
            return Checking::Over(None);
        };
        let Some(plan) = self.http[r.probe].as_ref() else {
            return Checking::Over(None);
        };
        let host = plan.host_header();
        let d = answer::after_check(
            &Failed {
                addr: plan.addr,
                path: &plan.path,
                host: &host,
                message: "",
                body: "",
                net: &NetEvidence::default(),
            },
            r.check,
            found,
        );
        if self.checked.len() == MAX_CHECKED {
            self.checked.remove(0);
        }
        self.checked
            .push((plan.addr, plan.path.clone(), r.check, d.clone()));
        if r.stale {
            return Checking::Over(None);
        }
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
        let in_command = move |pid: i32| root > 0 && listeners::descends_from(pid, root);
        let netns = command.as_ref().and_then(|c| listeners::other_netns(c.pid));
        let snapshot = self.listeners(probe, now);
        network::refused(&network::Refused {
            addr,
            listeners: &snapshot.listeners,
            cut: &snapshot.cut,
            command,
            in_command: &in_command,
            budget,
            settled: ctx.settled,
            netns: netns.as_ref(),
        })
        .map(Finding::Say)
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
        assert!(g.admit(r, &d("port_mismatch", "8000"), t));
        assert!(!g.admit(r, &d("port_mismatch", "8000"), t)); // same cause: once
        assert!(g.admit(ProbeKind::Liveness, &d("port_mismatch", "8000"), t)); // per probe
        assert!(g.admit(r, &d("port_mismatch", "9000"), t)); // the cause changed
        assert!(g.admit(r, &d("loopback_only", "9000"), t));
        // A crash loop alternating two causes says each once.
        assert!(!g.admit(r, &d("port_mismatch", "8000"), t));
        assert!(!g.admit(r, &d("loopback_only", "9000"), t));
        g.success(r);
        assert!(g.admit(r, &d("loopback_only", "9000"), t)); // failing anew
    }

    #[test]
    fn the_command_s_cause_is_said_once_for_the_whole_run() {
        let mut g = Gate::default();
        let t = Instant::now();
        assert!(g.admit_command(&d("not_found", "app"), t));
        // Restarts, probe successes: still the same cause, not said again.
        g.success(ProbeKind::Readiness);
        assert!(!g.admit_command(&d("not_found", "app"), t + WINDOW));
        // Not the probes' slot either way.
        assert!(g.admit(ProbeKind::Readiness, &d("not_found", "app"), t));
        assert!(g.admit_command(&d("crlf", "app"), t));
        // The rate limit is shared.
        for i in 0..MAX_LINES {
            g.admit(ProbeKind::Liveness, &d("port_mismatch", &i.to_string()), t);
        }
        assert!(!g.admit_command(&d("no_exec_bit", "app"), t));
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
    fn at_most_max_lines_per_window() {
        let mut g = Gate::default();
        let t = Instant::now();
        let r = ProbeKind::Readiness;
        for i in 0..MAX_LINES {
            assert!(g.admit(r, &d("port_mismatch", &i.to_string()), t));
        }
        assert!(!g.admit(r, &d("port_mismatch", "x"), t));
        // Not said while limited, so said once the window has moved on.
        assert!(g.admit(r, &d("port_mismatch", "x"), t + WINDOW));
    }
}
