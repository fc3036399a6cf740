//! The one event loop: a `mio::Poll` owning every source (the signalfd under
//! a fixed token, each probe's socket or exec pipe under its probe's token)
//! and a deadline heap whose nearest deadline arms a timerfd (`sys::clock`). It feeds
//! events to the supervisor and performs the actions it returns; probe I/O is
//! the runner's, and only its outcomes reach the supervisor.

use crate::exit_status::ChildStatus;
use crate::probe::runner::{self, Outcome, Reap, Runner, Started};
use crate::supervisor::{Action, Event, Supervisor, Target, Timer};
use crate::sys::clock::Clock;
use crate::sys::signals::{Received, SignalFd};
use crate::sys::{process, spawn};
use crate::timers::Timers;
use crate::{debug, fatal};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use std::collections::VecDeque;
use std::io;
use std::time::Instant;

const SIGNALS: Token = Token(0);
const CLOCK: Token = Token(1);
const LOG: Token = Token(2);

pub struct EventLoop {
    poll: Poll,
    signal_fd: SignalFd,
    /// vigil's own pid: a signal it sent itself (SIGPIPE, SIGXFSZ raised by
    /// its own write) is not the operator's and is never forwarded.
    own_pid: i32,
    timers: Timers<Timer>,
    clock: Clock,
    command: spawn::Prepared,
    child: Option<spawn::Child>,
    runner: Runner,
    queue: VecDeque<Event>,
    /// The stderr fd registered while log lines wait for its reader.
    log_fd: Option<std::os::fd::RawFd>,
}

impl EventLoop {
    pub fn new(command: spawn::Prepared, runner: Runner) -> io::Result<EventLoop> {
        let poll = Poll::new()?;
        let signal_fd = SignalFd::new()?;
        poll.registry().register(
            &mut SourceFd(&signal_fd.raw_fd()),
            SIGNALS,
            Interest::READABLE,
        )?;
        let clock = Clock::new()?;
        poll.registry()
            .register(&mut SourceFd(&clock.raw_fd()), CLOCK, Interest::READABLE)?;
        Ok(EventLoop {
            poll,
            signal_fd,
            own_pid: std::process::id() as i32,
            timers: Timers::default(),
            clock,
            command,
            child: None,
            runner,
            queue: VecDeque::new(),
            log_fd: None,
        })
    }

    /// Runs until the supervisor says to exit; returns the exit status.
    pub fn run(mut self, mut supervisor: Supervisor) -> io::Result<u8> {
        let mut events = Events::with_capacity(64);
        let mut signals = Vec::new();
        let mut reaped = Vec::new();
        let mut outcomes = Vec::new();
        for action in supervisor.start() {
            if let Some(code) = self.perform(action) {
                return Ok(code);
            }
        }
        loop {
            if let Some(code) = self.dispatch(&mut supervisor) {
                return Ok(code);
            }
            self.watch_log()?;
            let timeout = match self.clock.set(self.timers.next(), Instant::now())? {
                true => None,
                false => Some(std::time::Duration::ZERO),
            };
            match self.poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            // Signals and reaps first, probe outcomes after: when the command
            // died and a probe failed in the same turn (connection refused
            // because the app is gone), the command's own end is what counts.
            if events.iter().any(|e| e.token() == SIGNALS) {
                self.on_signals(&mut signals, &mut reaped, &mut outcomes)?;
            }
            for event in events.iter() {
                if let Some(index) = runner::index_of(event.token()) {
                    if let Some(outcome) =
                        self.runner
                            .on_event(index, self.poll.registry(), Instant::now())
                    {
                        outcomes.push((index, outcome));
                    }
                } else if event.token() == CLOCK {
                    self.clock.acknowledge();
                } else if event.token() == LOG {
                    crate::log::flush();
                }
            }
            for (index, outcome) in outcomes.drain(..) {
                self.timers.cancel(Timer::ProbeDeadline(index));
                self.queue.push_back(Event::ProbeDone { index, outcome });
            }
            let now = Instant::now();
            while let Some(timer) = self.timers.pop_due(now) {
                match timer {
                    Timer::ProbeDeadline(index) => {
                        if let Some(outcome) =
                            self.runner.on_deadline(index, self.poll.registry(), now)
                        {
                            self.queue.push_back(Event::ProbeDone { index, outcome });
                        }
                    }
                    other => self.queue.push_back(Event::Timer(other)),
                }
            }
        }
    }

    /// Waits for stderr to take lines again while some are pending, and only
    /// then: a reader's every read would otherwise wake the loop.
    fn watch_log(&mut self) -> io::Result<()> {
        let want = crate::log::blocked_fd();
        if want == self.log_fd {
            return Ok(());
        }
        if let Some(fd) = self.log_fd.take() {
            self.poll.registry().deregister(&mut SourceFd(&fd))?;
        }
        if let Some(fd) = want {
            self.poll
                .registry()
                .register(&mut SourceFd(&fd), LOG, Interest::WRITABLE)?;
            self.log_fd = Some(fd);
        }
        Ok(())
    }

    /// Feeds queued events to the supervisor until none is left.
    fn dispatch(&mut self, supervisor: &mut Supervisor) -> Option<u8> {
        while let Some(event) = self.queue.pop_front() {
            let now = Instant::now();
            for action in supervisor.handle(event, now) {
                if let Some(code) = self.perform(action) {
                    return Some(code);
                }
            }
        }
        None
    }

    /// Reads the pending signals: each becomes an event, SIGCHLD a reap of
    /// every ended child (an exec probe's end goes to `outcomes`).
    fn on_signals(
        &mut self,
        signals: &mut Vec<Received>,
        reaped: &mut Vec<(i32, ChildStatus)>,
        outcomes: &mut Vec<(usize, Outcome)>,
    ) -> io::Result<()> {
        signals.clear();
        self.signal_fd.drain(signals)?;
        let mut child_ended = false;
        for r in signals.iter() {
            if r.signal == libc::SIGCHLD {
                child_ended = true;
            } else if r.sender != self.own_pid {
                self.queue.push_back(Event::Signal(r.signal));
            }
            // else: raised by vigil's own action (a log write to a reader that
            // left, a file size limit). Nothing is logged: that write could
            // raise the same signal again.
        }
        if !child_ended {
            return Ok(());
        }
        reaped.clear();
        process::reap_all(reaped);
        for &(pid, status) in reaped.iter() {
            match self
                .runner
                .on_reaped(pid, status, self.poll.registry(), Instant::now())
            {
                Reap::Done(index, outcome) => outcomes.push((index, outcome)),
                Reap::Swallowed => {}
                Reap::NotOurs => {
                    self.note_exec_failure(pid);
                    self.queue.push_back(Event::Reaped { pid, status });
                }
            }
        }
        Ok(())
    }

    fn note_exec_failure(&mut self, pid: i32) {
        if let Some(child) = self.child.as_mut().filter(|c| c.pid == pid) {
            if let Some(err) = child.exec_error() {
                fatal!("exec {} failed: {err}", self.command.display);
            }
        }
    }

    /// Performs one action; `Some(code)` means exit now.
    fn perform(&mut self, action: Action) -> Option<u8> {
        match action {
            Action::Spawn => match spawn::spawn(&self.command, None) {
                Ok(child) => {
                    debug!("spawned {} as pid {}", self.command.display, child.pid);
                    self.queue.push_back(Event::Spawned { pid: child.pid });
                    self.child = Some(child);
                }
                Err(e) => {
                    fatal!("cannot start {}: {e}", self.command.display);
                    self.queue.push_back(Event::SpawnFailed);
                }
            },
            Action::Send { target, signal } => {
                let pid = match target {
                    Target::Process(pid) => pid,
                    Target::Group(pgid) => -pgid,
                };
                if let Err(e) = process::send_signal(pid, signal) {
                    if e != nix::errno::Errno::ESRCH {
                        crate::warn!("sending signal {signal} to {pid} failed: {e}");
                    }
                }
            }
            Action::Arm { timer, at } => self.timers.arm(at, timer),
            Action::StartProbe(index) => {
                match self
                    .runner
                    .start(index, self.poll.registry(), Instant::now())
                {
                    Started::Running { deadline } => {
                        self.timers.arm(deadline, Timer::ProbeDeadline(index))
                    }
                    Started::Done(outcome) => {
                        self.queue.push_back(Event::ProbeDone { index, outcome })
                    }
                    Started::NotStarted(reason) => self
                        .queue
                        .push_back(Event::ProbeNotStarted { index, reason }),
                }
            }
            Action::CancelProbes => self.runner.cancel_all(self.poll.registry()),
            Action::CheckGroup { pgid } => {
                if !process::group_exists(pgid) {
                    self.queue.push_back(Event::GroupEmpty);
                }
            }
            Action::Exit(code) => {
                // Reap what has already ended so nothing is left as a zombie of ours.
                let mut reaped = Vec::new();
                process::reap_all(&mut reaped);
                crate::log::flush();
                return Some(code);
            }
        }
        None
    }
}
