//! The one event loop: a `mio::Poll` owning every source (the signalfd under
//! a fixed token, each probe's socket or exec pipe under its probe's token)
//! and a deadline heap whose nearest deadline arms a timerfd (`sys::clock`). It feeds
//! events to the supervisor and performs the actions it returns; probe I/O is
//! the runner's, and only its outcomes reach the supervisor.

use crate::probe::runner::{self, Outcome, Reap, Runner, Started};
use crate::supervisor::{Action, Event, Supervisor, Target, Timer};
use crate::sys::clock::Clock;
use crate::sys::{process, signals, spawn};
use crate::timers::Timers;
use crate::{debug, fatal};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use nix::sys::wait::WaitStatus;
use std::collections::VecDeque;
use std::io;
use std::os::fd::AsRawFd;
use std::time::Instant;

const SIGNALS: Token = Token(0);
const CLOCK: Token = Token(1);

pub struct EventLoop {
    poll: Poll,
    signal_fd: nix::sys::signalfd::SignalFd,
    timers: Timers<Timer>,
    clock: Clock,
    command: spawn::Prepared,
    child: Option<spawn::Child>,
    runner: Runner,
    queue: VecDeque<Event>,
}

impl EventLoop {
    pub fn new(command: spawn::Prepared, runner: Runner) -> io::Result<EventLoop> {
        let poll = Poll::new()?;
        let signal_fd = signals::signal_fd()?;
        poll.registry().register(
            &mut SourceFd(&signal_fd.as_raw_fd()),
            SIGNALS,
            Interest::READABLE,
        )?;
        let clock = Clock::new()?;
        poll.registry()
            .register(&mut SourceFd(&clock.raw_fd()), CLOCK, Interest::READABLE)?;
        Ok(EventLoop {
            poll,
            signal_fd,
            timers: Timers::default(),
            clock,
            command,
            child: None,
            runner,
            queue: VecDeque::new(),
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
        signals: &mut Vec<i32>,
        reaped: &mut Vec<(i32, WaitStatus)>,
        outcomes: &mut Vec<(usize, Outcome)>,
    ) -> io::Result<()> {
        signals.clear();
        signals::drain(&mut self.signal_fd, signals)?;
        let mut child_ended = false;
        for &sig in signals.iter() {
            if sig == libc::SIGCHLD {
                child_ended = true;
            } else {
                self.queue.push_back(Event::Signal(sig));
            }
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
                    fatal!("fork failed: {e}");
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
                return Some(code);
            }
        }
        None
    }
}
