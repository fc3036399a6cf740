//! What the supervisor says happened: one `Change` per state change or
//! notable event, with what a reader needs. The supervisor writes no log line
//! itself; the reporter (`crate::report`) turns changes into the log, and is
//! where the ready file, socket events, metrics and sd_notify plug in.

use super::notify::{Ignored, NotifyState};
use crate::config::model::ProbeKind;
use crate::exit_status::ChildStatus;
use crate::probe::outcome::Outcome;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// The command started as `pid`.
    Started { pid: i32 },
    /// Ready = running AND started AND (no readiness probe OR readiness Success).
    Ready(bool),
    /// A signal is passed on to the command (`pid`).
    Forwarding { signal: i32, pid: i32 },
    /// The command has ended: a signal is passed on to the rest of its group.
    ForwardingToGroup { signal: i32, pgid: i32 },
    /// `--rewrite` turned `from` into `to`.
    Rewritten { from: i32, to: i32 },
    /// `--rewrite FROM:0` dropped the signal.
    Dropped { signal: i32 },
    /// A stop signal arrived: the command has `grace` before SIGKILL.
    Stopping { signal: i32, grace: Duration },
    /// SIGTERM with `--drain`: not ready now; the command serves on for
    /// `drain`, then gets `signal`.
    DrainStarted { signal: i32, drain: Duration },
    /// The drain time is over: `signal` goes to the command, which has
    /// `grace` before SIGKILL.
    DrainEnded {
        signal: i32,
        drain: Duration,
        grace: Duration,
    },
    /// A stop signal arrived while vigil waited to restart: it exits.
    StoppedWhileBackingOff { signal: i32, code: u8 },
    /// The command died of Ctrl-C or Ctrl-\ on its terminal: no restart.
    StoppedFromTerminal { signal: i32 },
    /// The command ended.
    Ended { pid: i32, status: ChildStatus },
    /// dumb-init: a job-control stop was forwarded; vigil stops too.
    Suspending { signal: i32 },
    /// Another process (an orphan, a member of the command's group) was reaped.
    Reaped { pid: i32, status: ChildStatus },
    /// The grace ended with the command still running.
    Killing { pid: i32, grace: Duration },
    /// The grace ended with the rest of the command's group still running.
    KillingGroup { pgid: i32, grace: Duration },
    /// An attempt starts, `late` after its planned time.
    ProbeAttempt {
        probe: ProbeKind,
        attempt: u64,
        late: Duration,
    },
    /// A tick fell while the previous attempt still ran: dropped.
    ProbeTickDropped { probe: ProbeKind },
    /// An attempt could not even start (fork failed): not counted.
    ProbeNotStarted { probe: ProbeKind, reason: String },
    /// An attempt ended: `run` of `threshold` outcomes in a row.
    ProbeResult {
        probe: ProbeKind,
        outcome: Outcome,
        run: u32,
        threshold: u32,
    },
    /// A failed probe's cause, with its evidence and the fix (`diagnose`).
    Diagnosis {
        probe: ProbeKind,
        kind: &'static str,
        text: String,
    },
    /// The command's cause of trouble (a failed start, a shell that keeps
    /// signals from the server), with the evidence and the fix (`diagnose`).
    CommandDiagnosis { kind: &'static str, text: String },
    /// A diagnosis the rate limit holds back from the log and `/events`:
    /// `/status` still shows it as the latest (`probe`: `None` for the command's).
    DiagnosisHeld {
        probe: Option<ProbeKind>,
        kind: &'static str,
        text: String,
    },
    /// Startup succeeded after `attempts` attempts.
    StartupSucceeded { attempts: u64 },
    /// The readiness probe's result flipped.
    Readiness(bool),
    /// A startup or liveness probe failed `threshold` times in a row: the
    /// command (`pid`) is stopped.
    ProbeStop {
        probe: ProbeKind,
        pid: i32,
        threshold: u32,
        message: String,
        target: String,
    },
    /// The command starts again after `delay`; restart number `attempt`.
    Restarting {
        delay: Duration,
        attempt: u32,
        why: String,
    },
    /// `count` restart notices were held back in the last `window`.
    RestartsSummarized {
        count: u64,
        window: Duration,
        last: String,
    },
    /// `--max-restarts` reached: vigil exits with `code`.
    GaveUp { restarts: u32, code: u8 },
    /// A notify datagram from `pid` was not taken into account.
    NotifyIgnored { pid: i32, why: Ignored },
    /// The command (`pid` sent it) said READY=1, RELOADING=1 or STOPPING=1.
    NotifyState { pid: i32, state: NotifyState },
    /// The command's STATUS= text changed.
    NotifyStatus { text: String },
    /// READY=1 armed `--watchdog`: WATCHDOG=1 is due every `timeout`.
    WatchdogArmed { timeout: Duration },
    /// WATCHDOG_USEC= set this run's watchdog timeout (`None`: 0, off).
    WatchdogTimeout { timeout: Option<Duration> },
    /// The watchdog stops the command (`pid`): no WATCHDOG=1 within
    /// `timeout`, or (`triggered`) the command sent WATCHDOG=trigger.
    WatchdogStop {
        pid: i32,
        timeout: Duration,
        triggered: bool,
    },
}
