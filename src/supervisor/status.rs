//! `Supervisor::status()`: a read-only snapshot of what the supervisor knows,
//! for the status socket to serve.

use super::{Phase, Supervisor};
use crate::config::model::ProbeKind;
use crate::exit_status::ChildStatus;
use crate::probe::per_probe::PerProbe;
use crate::probe::state::ProbeResult;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PhaseName {
    Starting,
    Running,
    /// `--drain`: reporting not ready before the stop signal is passed on.
    Unrouting,
    Stopping,
    Draining,
    BackingOff,
    Done,
}

impl PhaseName {
    /// As `/status` shows it (docs/status-socket.md).
    pub(crate) fn name(self) -> &'static str {
        match self {
            PhaseName::Starting => "starting",
            PhaseName::Running => "running",
            PhaseName::Unrouting => "draining",
            PhaseName::Stopping => "stopping",
            PhaseName::Draining => "ending",
            PhaseName::BackingOff => "backing-off",
            PhaseName::Done => "done",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProbeStatus {
    pub result: ProbeResult,
    /// The last attempt's outcome (true = success) and how many times in a row.
    pub last_success: Option<bool>,
    pub run: u32,
    /// Attempts completed since the command last started.
    pub attempts: u64,
    /// What the last attempt said ("HTTP probe failed with statuscode: 500").
    pub last_message: String,
}

/// What the command said over sd_notify (`--notify`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NotifyStatus {
    /// `pending`, `ready`, `reloading`, `stopping`.
    pub state: &'static str,
    pub ready: bool,
    /// The last STATUS= text.
    pub status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Status {
    pub phase: PhaseName,
    /// The command's pid while it runs (or is being stopped).
    pub pid: Option<i32>,
    pub ready: bool,
    /// Startup succeeded (or there is no startup probe) since the last start.
    pub started: bool,
    /// Not given up on: vigil is not done and liveness has not failed.
    pub live: bool,
    pub restarts: u32,
    pub last_exit: Option<ChildStatus>,
    pub probes: PerProbe<Option<ProbeStatus>>,
    /// `--drain`: a SIGTERM is held while vigil reports not ready.
    pub draining: bool,
    pub notify: Option<NotifyStatus>,
}

impl Supervisor {
    pub(crate) fn status(&self) -> Status {
        let (phase, pid) = match &self.phase {
            Phase::Starting => (PhaseName::Starting, None),
            Phase::Running { pid } => (PhaseName::Running, Some(*pid)),
            Phase::Stopping { pid, .. } if self.draining_until().is_some() => {
                (PhaseName::Unrouting, Some(*pid))
            }
            Phase::Stopping { pid, .. } => (PhaseName::Stopping, Some(*pid)),
            Phase::Draining { .. } => (PhaseName::Draining, None),
            Phase::BackingOff { .. } => (PhaseName::BackingOff, None),
            Phase::Done => (PhaseName::Done, None),
        };
        Status {
            phase,
            pid,
            ready: self.is_ready(),
            started: self.started(),
            live: phase != PhaseName::Done
                && self.probes[ProbeKind::Liveness]
                    .as_ref()
                    .is_none_or(|p| p.state.result != ProbeResult::Failure),
            restarts: self.history.restarts,
            last_exit: self.last_exit,
            probes: PerProbe::from_fn(|kind: ProbeKind| {
                self.probes[kind].as_ref().map(|p| ProbeStatus {
                    result: p.state.result,
                    last_success: p.state.last(),
                    run: p.state.run(),
                    attempts: p.state.attempts,
                    last_message: p.last_message.clone(),
                })
            }),
            draining: self.draining_until().is_some(),
            notify: self.notify_state().map(|state| NotifyStatus {
                state: state.name(),
                ready: self.notify_ready(),
                status: self.notify_status().map(str::to_string),
            }),
        }
    }
}
