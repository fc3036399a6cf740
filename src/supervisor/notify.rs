//! The supervisor's sd_notify half (`--notify`, `--watchdog`): what the
//! command says on its `NOTIFY_SOCKET`, as systemd's protocol defines it
//! (`sd_notify(3)`), parsed and decided here without a socket.
//!
//! - Only the command's process group speaks: the loop looks up the sender's
//!   group (`Event::Notify::pgid`); anything else is ignored, and so is all
//!   that arrives while no command runs.
//! - READY=1 is a readiness source: with `--notify`, ready = running AND
//!   started AND READY=1 said AND (no readiness probe OR readiness Success).
//!   RELOADING=1 and STOPPING=1 make it not ready until the next READY=1, as
//!   systemd's `reloading` and `deactivating` states are not `active`.
//! - STATUS= is kept (at most `MAX_STATUS` bytes) for the status socket.
//! - `--watchdog`: armed by READY=1, as systemd's "when the start-up is
//!   completed"; each WATCHDOG=1 moves the deadline; missing it, or
//!   WATCHDOG=trigger, stops the command like a failed liveness probe, and the
//!   restart policy decides. WATCHDOG_USEC= changes this run's timeout (0
//!   turns it off); STOPPING=1 pauses it until READY=1.
//! - Every start of the command forgets all of it.
//!
//! MAINPID=, BARRIER=1, FDSTORE=1, EXTEND_TIMEOUT_USEC=, ERRNO= and every
//! other field are accepted and ignored. As systemd does, a datagram with a
//! NUL byte is ignored whole.

use super::*;

/// The longest STATUS= text kept, in bytes (cut at a character boundary).
pub(crate) const MAX_STATUS: usize = 256;

/// A field of a notify datagram that vigil acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Message {
    /// READY=1
    Ready,
    /// RELOADING=1
    Reloading,
    /// STOPPING=1
    Stopping,
    /// STATUS=..., lossy UTF-8, at most `MAX_STATUS` bytes.
    Status(String),
    /// WATCHDOG=1
    Watchdog,
    /// WATCHDOG=trigger
    WatchdogTrigger,
    /// WATCHDOG_USEC=N
    WatchdogUsec(u64),
}

/// The fields of one datagram that vigil acts on, in order; garbage,
/// unknown fields and malformed values are left out, never a panic.
pub(crate) fn parse(payload: &[u8]) -> Vec<Message> {
    if payload.contains(&0) {
        return Vec::new();
    }
    payload.split(|&b| b == b'\n').filter_map(field).collect()
}

fn field(line: &[u8]) -> Option<Message> {
    let eq = line.iter().position(|&b| b == b'=')?;
    let (key, value) = (&line[..eq], &line[eq + 1..]);
    Some(match (key, value) {
        (b"READY", b"1") => Message::Ready,
        (b"RELOADING", b"1") => Message::Reloading,
        (b"STOPPING", b"1") => Message::Stopping,
        (b"WATCHDOG", b"1") => Message::Watchdog,
        (b"WATCHDOG", b"trigger") => Message::WatchdogTrigger,
        (b"WATCHDOG_USEC", v) => {
            let digits = std::str::from_utf8(v).ok()?;
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Message::WatchdogUsec(digits.parse().ok()?)
        }
        (b"STATUS", v) => Message::Status(bounded(v)),
        _ => return None,
    })
}

/// `text` as lossy UTF-8, cut to at most `MAX_STATUS` bytes.
fn bounded(text: &[u8]) -> String {
    let mut s = String::from_utf8_lossy(text).into_owned();
    let mut end = s.len().min(MAX_STATUS);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    s
}

/// What the command last said about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotifyState {
    /// Nothing yet since it started: not ready.
    Pending,
    /// READY=1
    Ready,
    /// RELOADING=1: not ready until READY=1.
    Reloading,
    /// STOPPING=1: not ready until READY=1.
    Stopping,
}

impl NotifyState {
    /// As the status socket shows it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            NotifyState::Pending => "pending",
            NotifyState::Ready => "ready",
            NotifyState::Reloading => "reloading",
            NotifyState::Stopping => "stopping",
        }
    }

    /// The field that says it.
    pub(crate) fn field(self) -> &'static str {
        match self {
            NotifyState::Pending => "",
            NotifyState::Ready => "READY=1",
            NotifyState::Reloading => "RELOADING=1",
            NotifyState::Stopping => "STOPPING=1",
        }
    }
}

/// Why a notify datagram was not taken into account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ignored {
    /// Its sender is not in the command's process group.
    NotTheCommand,
    /// No command runs (it has ended, or vigil waits to start it).
    NoCommand,
    /// Nothing in it that vigil acts on (or a NUL byte in it).
    Unused,
}

/// The sd_notify state of the current run.
#[derive(Debug)]
pub(crate) struct Notify {
    /// `--watchdog`.
    watchdog: Option<Duration>,
    state: NotifyState,
    status: Option<String>,
    /// This run's watchdog timeout (WATCHDOG_USEC= changes it); `None`: off.
    timeout: Option<Duration>,
    /// When WATCHDOG=1 is due; `None`: not armed.
    due: Option<Instant>,
}

impl Notify {
    /// A new start of the command: it has said nothing yet.
    pub(super) fn reset(&mut self) {
        self.state = NotifyState::Pending;
        self.status = None;
        self.timeout = self.watchdog;
        self.due = None;
    }

    /// Moves the watchdog's deadline to `timeout` from now (or disarms it).
    fn rearm(&mut self, now: Instant, out: &mut Out) {
        self.due = self.timeout.and_then(|t| now.checked_add(t));
        if let Some(at) = self.due {
            out.act(Action::Arm {
                timer: Timer::Watchdog,
                at,
            });
        }
    }
}

impl Supervisor {
    /// Turns sd_notify on (`--notify`), with `--watchdog` when `watchdog` is
    /// set: READY=1 then counts for readiness.
    pub(crate) fn with_notify(mut self, watchdog: Option<Duration>) -> Self {
        self.notify = Some(Notify {
            watchdog,
            state: NotifyState::Pending,
            status: None,
            timeout: watchdog,
            due: None,
        });
        self
    }

    /// What the command last said (`None`: no `--notify`).
    pub(crate) fn notify_state(&self) -> Option<NotifyState> {
        self.notify.as_ref().map(|n| n.state)
    }

    /// The command said READY=1 (and nothing that took it back) since it started.
    pub(crate) fn notify_ready(&self) -> bool {
        self.notify_state() == Some(NotifyState::Ready)
    }

    /// The command's last STATUS= text since it started.
    pub(crate) fn notify_status(&self) -> Option<&str> {
        self.notify.as_ref()?.status.as_deref()
    }

    /// When the next WATCHDOG=1 is due (`None`: the watchdog is not armed).
    pub(crate) fn watchdog_due(&self) -> Option<Instant> {
        self.notify.as_ref()?.due
    }

    /// No `--notify`, or the command said READY=1: readiness may be true.
    pub(super) fn notify_ready_or_off(&self) -> bool {
        self.notify
            .as_ref()
            .is_none_or(|n| n.state == NotifyState::Ready)
    }

    pub(super) fn on_notify(
        &mut self,
        sender: i32,
        pgid: Option<i32>,
        payload: &[u8],
        now: Instant,
        out: &mut Out,
    ) {
        let (command, running) = match self.phase {
            Phase::Running { pid } => (pid, true),
            Phase::Stopping { pid, .. } => (pid, false),
            _ => (0, false),
        };
        let Some(n) = self.notify.as_mut() else {
            return; // no --notify: there is no socket to hear from
        };
        let messages = parse(payload);
        let why = if command == 0 {
            Some(Ignored::NoCommand)
        } else if pgid != Some(command) {
            Some(Ignored::NotTheCommand)
        } else if messages.is_empty() {
            Some(Ignored::Unused)
        } else {
            None
        };
        if let Some(why) = why {
            out.say(Change::NotifyIgnored { pid: sender, why });
            return;
        }
        let mut triggered = false;
        for message in messages {
            let state = match message {
                Message::Ready => NotifyState::Ready,
                Message::Reloading => NotifyState::Reloading,
                Message::Stopping => NotifyState::Stopping,
                Message::Status(text) => {
                    if n.status.as_deref() != Some(&text) {
                        out.say(Change::NotifyStatus { text: text.clone() });
                        n.status = Some(text);
                    }
                    continue;
                }
                Message::Watchdog => {
                    if n.due.is_some() {
                        n.rearm(now, out);
                    }
                    continue;
                }
                Message::WatchdogTrigger => {
                    triggered |= n.watchdog.is_some();
                    continue;
                }
                Message::WatchdogUsec(usec) => {
                    if n.watchdog.is_some() {
                        n.timeout = (usec > 0).then(|| Duration::from_micros(usec));
                        out.say(Change::WatchdogTimeout { timeout: n.timeout });
                        if n.due.is_some() {
                            n.rearm(now, out);
                        }
                    }
                    continue;
                }
            };
            if n.state != state {
                n.state = state;
                out.say(Change::NotifyState { pid: sender, state });
            }
            match state {
                NotifyState::Ready if running && n.due.is_none() => {
                    if let Some(timeout) = n.timeout {
                        out.say(Change::WatchdogArmed { timeout });
                        n.rearm(now, out);
                    }
                }
                NotifyState::Stopping => n.due = None,
                _ => {}
            }
        }
        if triggered && running {
            self.watchdog_stop(command, true, now, out);
        }
        self.update_ready(out);
    }

    pub(super) fn on_watchdog_timer(&mut self, now: Instant, out: &mut Out) {
        let Phase::Running { pid } = self.phase else {
            return;
        };
        let due = self.watchdog_due();
        if due.is_some_and(|due| now >= due) {
            self.watchdog_stop(pid, false, now, out);
            self.update_ready(out);
        }
    }

    fn watchdog_stop(&mut self, pid: i32, triggered: bool, now: Instant, out: &mut Out) {
        let Some(n) = self.notify.as_mut() else {
            return;
        };
        let timeout = n.timeout.or(n.watchdog).unwrap_or_default();
        n.due = None;
        out.say(Change::WatchdogStop {
            pid,
            timeout,
            triggered,
        });
        self.stop_for(Check::Watchdog, pid, now, out);
    }
}
