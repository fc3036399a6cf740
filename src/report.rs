//! The reporter: the one place where the supervisor's changes become output.
//! Today that is the log, word for word the lines an operator knows; the
//! ready file, the status socket's events, metrics and sd_notify plug in here.

use crate::duration::display;
use crate::log::{debug, fatal, info, notice, trace, warn};
use crate::signal_name::name;
use crate::supervisor::change::Change;
use crate::supervisor::notify::{Ignored, NotifyState};
use crate::supervisor::restarts::{NOTICES_PER_WINDOW, NOTICE_WINDOW};

pub(crate) struct Reporter {
    /// `-w`: a reaped zombie is a warning, not a debug line.
    pub warn_on_reap: bool,
    /// The command's name, as the log calls it.
    pub command: String,
}

/// `; body: "<h1>Internal Server Error</h1> ..."`: the start of a failed
/// HTTP attempt's body, whitespace folded, quoted and escaped, so the log
/// says what the app answered (an exec probe's message has its output).
fn body_start(outcome: &crate::probe::outcome::Outcome) -> String {
    const MAX: usize = 120;
    if !outcome.target.starts_with("GET ") {
        return String::new();
    }
    let folded: String = outcome
        .output
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if folded.is_empty() {
        return String::new();
    }
    let mut start: String = folded.chars().take(MAX).collect();
    if start.len() < folded.len() {
        start.push_str(" ...");
    }
    format!("; body: {start:?}")
}

/// A duration shown as `display` shows it, formatted only when written.
struct Took(std::time::Duration);

impl std::fmt::Display for Took {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&display(self.0))
    }
}

/// "1 time", "3 times".
fn counted(n: u64, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

impl Reporter {
    pub(crate) fn report(&mut self, change: &Change) {
        match change {
            Change::Started { pid } => debug!("spawned {} as pid {pid}", self.command),
            Change::Ready(ready) => info!("{}", if *ready { "ready" } else { "not ready" }),
            Change::Forwarding { signal, pid } => {
                debug!("passing {} to the command (pid {pid})", name(*signal))
            }
            Change::ForwardingToGroup { signal, pgid } => debug!(
                "passing {} to the rest of the command's group {pgid}",
                name(*signal)
            ),
            Change::Rewritten { from, to } => debug!("rewriting {} to {}", name(*from), name(*to)),
            Change::Dropped { signal } => debug!("dropping {} (--rewrite to 0)", name(*signal)),
            Change::Suspending { signal } => {
                debug!("{} passed on: suspending vigil too", name(*signal))
            }
            Change::Stopping { signal, grace } => info!(
                "{} received: the command has {} to exit before SIGKILL",
                name(*signal),
                display(*grace)
            ),
            Change::DrainStarted { signal, drain } => notice!(
                "{} received: reporting not ready and draining for {} before passing it to the command",
                name(*signal),
                display(*drain)
            ),
            Change::DrainEnded {
                signal,
                drain,
                grace,
            } => info!(
                "drained for {}: passing {} to the command, which has {} to exit before SIGKILL",
                display(*drain),
                name(*signal),
                display(*grace)
            ),
            Change::StoppedWhileBackingOff { signal, code } => notice!(
                "{} received while waiting to restart the command: exiting with its last status {code}",
                name(*signal)
            ),
            Change::StoppedFromTerminal { signal } => notice!(
                "the command was stopped from the terminal ({}): not restarting",
                name(*signal)
            ),
            Change::Ended { pid, status } => info!("command (pid {pid}) ended: {status}"),
            Change::Reaped { pid, status } => {
                if self.warn_on_reap {
                    warn!("Reaped zombie process with pid={pid}");
                } else {
                    debug!("reaped process {pid}: {status}");
                }
            }
            Change::Killing { pid, grace } => warn!(
                "the command (pid {pid}) did not exit within the {} grace period: sending SIGKILL to its process group",
                display(*grace)
            ),
            Change::KillingGroup { pgid, grace } => warn!(
                "processes of the command's group {pgid} still run at the end of the {} grace period: sending SIGKILL",
                display(*grace)
            ),
            Change::ProbeAttempt {
                probe,
                attempt,
                late,
            } => trace!(
                "{} probe attempt {attempt} starts {}us after its planned time",
                probe.name(),
                late.as_micros()
            ),
            Change::ProbeTickDropped { probe } => debug!(
                "{} probe: the previous attempt still runs; this tick is dropped",
                probe.name()
            ),
            Change::ProbeNotStarted { probe, reason } => {
                fatal!("{} probe could not start: {reason}", probe.name())
            }
            Change::ProbeResult {
                probe,
                outcome,
                run,
                threshold,
            } => {
                // Formatted only when a line is written (a success's is debug).
                let took = Took(outcome.duration);
                let (kind, message, target) = (probe.name(), &outcome.message, &outcome.target);
                if outcome.success && outcome.warning {
                    warn!("{kind} probe succeeded with a warning ({run}/{threshold}) in {took}: {message} ({target})");
                } else if outcome.success {
                    debug!("{kind} probe succeeded ({run}/{threshold}) in {took}: {message} ({target})");
                } else {
                    let body = body_start(outcome);
                    warn!("{kind} probe failed ({run}/{threshold}) after {took}: {message} ({target}){body}");
                }
            }
            Change::Diagnosis { probe, text, .. } => notice!("{} probe: {text}", probe.name()),
            Change::CommandDiagnosis { text, .. } => notice!("command: {text}"),
            Change::DiagnosisHeld { .. } => {} // rate limited: /status only
            Change::StartupSucceeded { attempts } => {
                notice!("startup: succeeded after {}", counted(*attempts, "attempt"))
            }
            Change::Readiness(ready) => {
                notice!("readiness: {}", if *ready { "ready" } else { "not ready" })
            }
            Change::ProbeStop {
                probe,
                pid,
                threshold,
                message,
                target,
            } => warn!(
                "{} probe failed {} in a row: stopping the command (pid {pid}): {message} ({target})",
                probe.name(),
                counted(u64::from(*threshold), "time")
            ),
            Change::Restarting {
                delay,
                attempt,
                why,
            } => {
                let when = if delay.is_zero() {
                    "now".to_string()
                } else {
                    format!("in {}", display(*delay))
                };
                notice!("restarting {when} (attempt {attempt}, {why})");
            }
            Change::RestartsSummarized {
                count,
                window,
                last,
            } => notice!(
                "{count} more restarts in the last {} (last: {last}); at most {NOTICES_PER_WINDOW} restart notices are shown per {}",
                display(*window),
                display(NOTICE_WINDOW)
            ),
            Change::NotifyIgnored { pid, why } => debug!(
                "notify message from pid {pid} ignored: {}",
                match why {
                    Ignored::NotTheCommand => "not from the command's process group",
                    Ignored::NoCommand => "the command is not running",
                    Ignored::Unused => "nothing in it that vigil uses",
                }
            ),
            Change::NotifyState { pid, state } => match state {
                NotifyState::Ready | NotifyState::Pending => {
                    notice!("notify: {} from pid {pid}", state.field())
                }
                NotifyState::Reloading | NotifyState::Stopping => notice!(
                    "notify: {} from pid {pid}: not ready until READY=1",
                    state.field()
                ),
            },
            Change::NotifyStatus { text } => debug!("notify: STATUS={text:?}"),
            Change::WatchdogArmed { timeout } => info!(
                "watchdog: armed; the command must send WATCHDOG=1 at least every {}",
                display(*timeout)
            ),
            Change::WatchdogTimeout { timeout } => match timeout {
                Some(timeout) => info!(
                    "watchdog: the command set its timeout to {} (WATCHDOG_USEC)",
                    display(*timeout)
                ),
                None => info!("watchdog: turned off by the command (WATCHDOG_USEC=0)"),
            },
            Change::WatchdogStop {
                pid,
                timeout,
                triggered,
            } => {
                if *triggered {
                    warn!("the command sent WATCHDOG=trigger: stopping the command (pid {pid})")
                } else {
                    warn!(
                        "no WATCHDOG=1 within {}: stopping the command (pid {pid})",
                        display(*timeout)
                    )
                }
            }
            Change::GaveUp { restarts, code } => warn!(
                "giving up: the command was restarted {} (--max-restarts); \
                 exiting with status {code}",
                counted(u64::from(*restarts), "time")
            ),
        }
    }
}
