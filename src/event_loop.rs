//! The one event loop: a `mio::Poll` owning every readiness source
//! (`Source`) and a deadline list (`Deadline`) whose nearest deadline arms a
//! timerfd (`sys::clock`). It feeds events to the supervisor, performs the
//! actions it returns and hands the changes to the reporter; probe I/O is the
//! runner's, and only its outcomes reach the supervisor. When only a signal
//! can wake it, the loop waits on the signalfd itself (`signals_only`).

use crate::config::model::ProbeKind;
use crate::diagnose::{Checking, Context, Diagnoser, Quiet};
use crate::exit_status::ChildStatus;
use crate::log::{fatal, warn};
use crate::probe::outcome::Outcome;
use crate::probe::runner::{Reap, Runner, Started};
use crate::report::Reporter;
use crate::status::server::MAX_CONNECTIONS;
use crate::status::Publisher;
use crate::supervisor::{Action, Change, Event, Output, Supervisor, Target, Timer};
use crate::sys::clock::Clock;
use crate::sys::notify::{self, NotifySocket};
use crate::sys::signals::{Received, SignalFd};
use crate::sys::spawn::StartFailure;
use crate::sys::{process, spawn};
use crate::timers::Timers;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use std::collections::VecDeque;
use std::io;
use std::os::fd::RawFd;
use std::time::Instant;

/// Every readiness source of the loop, each under its own token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// The signalfd: signals, and SIGCHLD for reaping.
    Signals,
    /// The timerfd armed for the nearest deadline.
    Clock,
    /// vigil's stderr, while log lines wait for its reader.
    Log,
    /// A probe attempt's socket or exec pipe.
    Probe(ProbeKind),
    /// The status socket's listener.
    Status,
    /// The sd_notify socket (`--notify`).
    Notify,
    /// A connection to the status socket, by slot.
    StatusConn(usize),
    /// A diagnosis' one-off check (`diagnose::check`).
    Check,
}

/// The first token of the status socket's connections.
const FIRST_CONN: usize = 16;
/// Status connections served in one turn of the loop (~20 us each).
const CONNS_PER_TURN: usize = 8;
/// sd_notify datagrams read in one turn of the loop.
const DATAGRAMS_PER_TURN: usize = 32;
/// Connections accepted in one turn of the loop.
const ACCEPTS_PER_TURN: usize = 16;
/// No status connection is served when a timer fires this soon.
const TIMER_GUARD: std::time::Duration = std::time::Duration::from_micros(300);

impl Source {
    fn token(self) -> Token {
        Token(match self {
            Source::Signals => 0,
            Source::Clock => 1,
            Source::Log => 2,
            Source::Probe(ProbeKind::Startup) => 3,
            Source::Probe(ProbeKind::Liveness) => 4,
            Source::Probe(ProbeKind::Readiness) => 5,
            Source::Status => 6,
            Source::Notify => 7,
            Source::Check => 8,
            Source::StatusConn(slot) => FIRST_CONN + slot,
        })
    }

    fn of(token: Token) -> Option<Source> {
        Some(match token.0 {
            0 => Source::Signals,
            1 => Source::Clock,
            2 => Source::Log,
            3 => Source::Probe(ProbeKind::Startup),
            4 => Source::Probe(ProbeKind::Liveness),
            5 => Source::Probe(ProbeKind::Readiness),
            6 => Source::Status,
            7 => Source::Notify,
            8 => Source::Check,
            n if (FIRST_CONN..FIRST_CONN + MAX_CONNECTIONS).contains(&n) => {
                Source::StatusConn(n - FIRST_CONN)
            }
            _ => return None,
        })
    }
}

/// Every deadline the loop keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Deadline {
    /// One of the supervisor's timers.
    Supervisor(Timer),
    /// A running probe attempt reaches its timeout (the runner's).
    ProbeTimeout(ProbeKind),
    /// A status socket connection must have sent its request (by slot).
    StatusConn(usize),
    /// A diagnosis' one-off check reaches its current exchange's timeout.
    Check,
    /// Start-up's read-ahead has landed: the code range is released again
    /// (`sys::memory`); and again 2 s after a burst of status requests.
    ReleaseCode,
}

/// When the code range is released a second time: start-up's read-ahead,
/// still in flight at the first release, has been cached by then.
const SECOND_RELEASE: std::time::Duration = std::time::Duration::from_secs(2);

/// Status connections accepted within a second that make a burst:
/// the code a burst ran (and read ahead) is released 2 s after it ends, as
/// start-up's is (a host agent's request a second never gets there; 37k
/// requests/s left 716 KiB resident, against 512 before the load).
const BURST_ACCEPTS: u32 = 64;

/// A turn's buffers for signals, reaped children and probe outcomes, kept
/// by `run` so a turn does not allocate them again.
type Turn<'a> = (
    &'a mut Vec<Received>,
    &'a mut Vec<(i32, ChildStatus)>,
    &'a mut Vec<(ProbeKind, Outcome)>,
);

pub(crate) struct EventLoop {
    poll: Poll,
    signal_fd: SignalFd,
    /// vigil's own pid: a signal it sent itself (SIGPIPE, SIGXFSZ raised by
    /// its own write) is not the operator's and is never forwarded.
    own_pid: i32,
    deadlines: Timers<Deadline>,
    clock: Clock,
    command: spawn::Prepared,
    child: Option<spawn::Child>,
    runner: Runner,
    reporter: Reporter,
    queue: VecDeque<Event>,
    /// The stderr fd registered while log lines wait for its reader.
    log_fd: Option<RawFd>,
    /// The status socket and the ready file, when asked for.
    publisher: Option<Publisher>,
    /// Status connections that became ready (or have more to do), served
    /// after the supervisor's own events, a few per turn.
    conns_ready: VecDeque<usize>,
    /// `--notify`: the socket the command speaks sd_notify on.
    notify: Option<NotifySocket>,
    /// The status socket's listener may have connections waiting.
    accept_pending: bool,
    /// The notify socket may have datagrams waiting.
    notify_pending: bool,
    /// Names the cause of failed probes and of the command's troubles.
    diagnoser: Option<Diagnoser>,
    /// The command's diagnoses, reported with the supervisor's next changes.
    diagnosed: Vec<Change>,
    /// The command starts once (no restart policy): after its start vigil
    /// lets go of the start directory.
    single_start: bool,
    /// The binary's page cache was dropped (2 s after start): later
    /// releases drop what they read since, too.
    code_evicted: bool,
    /// The action just performed sent a signal to this process group and
    /// found no process in it (ESRCH): a `CheckGroup` right after it needs
    /// no `kill(-pgid, 0)` of its own.
    group_gone: Option<i32>,
    /// Status connections accepted since `accepted_since` (a second at most).
    accepted: u32,
    accepted_since: Option<Instant>,
}

impl EventLoop {
    pub(crate) fn new(
        command: spawn::Prepared,
        runner: Runner,
        reporter: Reporter,
        mut publisher: Option<Publisher>,
        notify: Option<NotifySocket>,
    ) -> io::Result<EventLoop> {
        // Each step named, as "No file descriptors available" alone says little.
        let step = |what: &'static str| {
            move |e: io::Error| io::Error::new(e.kind(), format!("{what}: {e}"))
        };
        let poll = Poll::new().map_err(step("cannot create the epoll instance"))?;
        let signal_fd = SignalFd::new().map_err(step("cannot create the signalfd"))?;
        poll.registry().register(
            &mut SourceFd(&signal_fd.raw_fd()),
            Source::Signals.token(),
            Interest::READABLE,
        )?;
        let clock = Clock::new().map_err(step("cannot create the timerfd"))?;
        poll.registry().register(
            &mut SourceFd(&clock.raw_fd()),
            Source::Clock.token(),
            Interest::READABLE,
        )?;
        if let Some(server) = publisher.as_mut().and_then(|p| p.server.as_mut()) {
            server.register(poll.registry(), Source::Status.token())?;
        }
        if let Some(socket) = &notify {
            poll.registry().register(
                &mut SourceFd(&socket.raw_fd()),
                Source::Notify.token(),
                Interest::READABLE,
            )?;
        }
        Ok(EventLoop {
            poll,
            signal_fd,
            own_pid: std::process::id() as i32,
            deadlines: Timers::default(),
            clock,
            command,
            child: None,
            runner,
            reporter,
            queue: VecDeque::new(),
            log_fd: None,
            publisher,
            conns_ready: VecDeque::new(),
            notify,
            accept_pending: false,
            notify_pending: false,
            diagnoser: None,
            diagnosed: Vec::new(),
            single_start: false,
            code_evicted: false,
            group_gone: None,
            accepted: 0,
            accepted_since: None,
        })
    }

    /// Runs until the supervisor says to exit; returns the exit status.
    pub(crate) fn run(mut self, mut supervisor: Supervisor) -> io::Result<u8> {
        let mut events = Events::with_capacity(64);
        // Sized now: the first signal read must not allocate before its forward.
        let mut signals = Vec::with_capacity(SignalFd::BATCH);
        let mut reaped = Vec::new();
        let mut outcomes = Vec::new();
        let mut output = Output {
            actions: Vec::with_capacity(4),
            changes: Vec::with_capacity(4),
        };
        // Start-up is over: its code need not stay resident. (Before the
        // first start, so that the descriptor it opens for a moment is gone
        // by the time the command exists.)
        crate::sys::memory::release_code(false);
        self.deadlines
            .arm(Instant::now() + SECOND_RELEASE, Deadline::ReleaseCode);
        for action in supervisor.start() {
            if let Some(code) = self.perform(action) {
                return Ok(code);
            }
        }
        loop {
            if self.notify_pending {
                self.on_notify();
            }
            if let Some(code) = self.dispatch(&mut supervisor, &mut output) {
                return Ok(code);
            }
            self.serve_status(&supervisor);
            self.watch_log()?;
            let timeout = match self.clock.set(self.deadlines.next(), Instant::now())? {
                true if self.conns_ready.is_empty()
                    && !self.accept_pending
                    && !self.notify_pending =>
                {
                    None
                }
                _ => Some(std::time::Duration::ZERO),
            };
            signals.clear();
            let waited = if timeout.is_none() && self.signals_only() {
                events.clear();
                self.signal_fd.wait(&mut signals)?;
                if signals.is_empty() {
                    continue; // interrupted
                }
                true
            } else {
                match self.poll.poll(&mut events, timeout) {
                    Ok(()) => false,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            };
            // Signals and reaps first, probe outcomes after: when the command
            // died and a probe failed in the same turn (connection refused
            // because the app is gone), the command's own end is what counts.
            if waited
                || events
                    .iter()
                    .any(|e| Source::of(e.token()) == Some(Source::Signals))
            {
                let turn = (&mut signals, &mut reaped, &mut outcomes);
                if let Some(code) = self.on_signals(&mut supervisor, &mut output, waited, turn)? {
                    return Ok(code);
                }
            }
            for event in events.iter() {
                match Source::of(event.token()) {
                    Some(Source::Probe(probe)) => {
                        let closed = event.is_read_closed() || event.is_error();
                        if let Some(outcome) = self.runner.on_event(
                            probe,
                            self.poll.registry(),
                            Instant::now(),
                            closed,
                        ) {
                            outcomes.push((probe, outcome));
                        }
                    }
                    Some(Source::Clock) => self.clock.acknowledge(),
                    Some(Source::Log) => crate::log::flush(),
                    Some(Source::Status) => self.accept_pending = true,
                    Some(Source::Notify) => self.notify_pending = true,
                    Some(Source::StatusConn(slot)) => {
                        if !self.conns_ready.contains(&slot) {
                            self.conns_ready.push_back(slot);
                        }
                    }
                    Some(Source::Check) => {
                        let now = Instant::now();
                        let registry = self.poll.registry();
                        let token = Source::Check.token();
                        let checking = self
                            .diagnoser
                            .as_mut()
                            .and_then(|d| d.on_check_event(registry, token, now));
                        self.on_checking(checking, &supervisor);
                    }
                    Some(Source::Signals) | None => {}
                }
            }
            for (probe, outcome) in outcomes.drain(..) {
                self.deadlines.cancel(Deadline::ProbeTimeout(probe));
                self.queue.push_back(Event::ProbeDone { probe, outcome });
            }
            let now = Instant::now();
            while let Some(deadline) = self.deadlines.pop_due(now) {
                match deadline {
                    Deadline::ProbeTimeout(probe) => {
                        if let Some(outcome) =
                            self.runner.on_deadline(probe, self.poll.registry(), now)
                        {
                            self.queue.push_back(Event::ProbeDone { probe, outcome });
                        }
                    }
                    Deadline::Supervisor(timer) => self.queue.push_back(Event::Timer(timer)),
                    Deadline::Check => {
                        let checking = self
                            .diagnoser
                            .as_mut()
                            .and_then(|d| d.on_check_deadline(now));
                        self.on_checking(checking, &supervisor);
                    }
                    Deadline::StatusConn(slot) => {
                        if let Some(server) =
                            self.publisher.as_mut().and_then(|p| p.server.as_mut())
                        {
                            server.on_deadline(slot, self.poll.registry(), now);
                        }
                    }
                    Deadline::ReleaseCode => {
                        crate::sys::memory::release_code(true);
                        self.code_evicted = true;
                    }
                }
            }
        }
    }

    /// Reads at most `DATAGRAMS_PER_TURN` waiting sd_notify datagrams (an
    /// app flooding its socket waits for the next turn, the probes do not);
    /// each becomes an event with its sender's process group, looked up at
    /// once (the sender may exit).
    fn on_notify(&mut self) {
        let Some(socket) = self.notify.as_mut() else {
            return;
        };
        let mut buf = [0u8; notify::MAX_DATAGRAM];
        self.notify_pending = false;
        for read in 0.. {
            if read == DATAGRAMS_PER_TURN {
                self.notify_pending = true;
                break;
            }
            match socket.recv(&mut buf) {
                Ok(Some((pid, payload))) => {
                    let payload = payload.to_vec();
                    let pgid = notify::process_group(pid);
                    self.queue.push_back(Event::Notify { pid, pgid, payload });
                }
                Ok(None) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    warn!("reading the notify socket failed: {e}");
                    break;
                }
            }
        }
        let oversized = socket.take_oversized();
        if oversized > 0 {
            warn!(
                "{oversized} notify datagram(s) over {} bytes ignored",
                notify::MAX_DATAGRAM
            );
        }
    }

    /// Serves the status connections that became ready, at most
    /// `CONNS_PER_TURN` and only while no timer of the supervisor or a probe
    /// is about to fire (the rest wait for the next turn, which polls without
    /// waiting); then re-arms or cancels each one's request deadline.
    fn serve_status(&mut self, supervisor: &Supervisor) {
        let Some(publisher) = self.publisher.as_mut() else {
            return;
        };
        let not_status = |d: &Deadline| !matches!(d, Deadline::StatusConn(_));
        let timer_soon = |deadlines: &Timers<Deadline>, now: Instant| {
            deadlines
                .next_of(not_status)
                .is_some_and(|at| at <= now + TIMER_GUARD)
        };
        if self.accept_pending && !timer_soon(&self.deadlines, Instant::now()) {
            let token = |slot| Source::StatusConn(slot).token();
            let registry = self.poll.registry();
            let (slots, more) = publisher.accept(registry, token, Instant::now(), ACCEPTS_PER_TURN);
            let now = Instant::now();
            if self.accepted_since.is_none_or(|t| {
                now.saturating_duration_since(t) > std::time::Duration::from_secs(1)
            }) {
                (self.accepted, self.accepted_since) = (0, Some(now));
            }
            self.accepted = self.accepted.saturating_add(slots.len() as u32);
            self.conns_ready.extend(slots);
            self.accept_pending = more;
            if self.accepted >= BURST_ACCEPTS {
                // Arming again moves it: it fires once the burst is over.
                (self.accepted, self.accepted_since) = (0, Some(now));
                self.deadlines
                    .arm(now + SECOND_RELEASE, Deadline::ReleaseCode);
            }
        }
        for _ in 0..CONNS_PER_TURN {
            let now = Instant::now();
            if timer_soon(&self.deadlines, now) {
                return;
            }
            let Some(slot) = self.conns_ready.pop_front() else {
                return;
            };
            if publisher.on_conn(slot, supervisor, self.poll.registry(), now) {
                self.conns_ready.push_back(slot);
            }
            let deadline = publisher.server.as_ref().and_then(|s| s.deadline(slot));
            match deadline {
                Some(at) => self.deadlines.arm(at, Deadline::StatusConn(slot)),
                None => self.deadlines.cancel(Deadline::StatusConn(slot)),
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
            let _ = self.poll.registry().deregister(&mut SourceFd(&fd));
        }
        if let Some(fd) = want {
            // A regular file cannot be waited for (EPERM); nor does it make a
            // write wait, so its lines go out with the next one.
            let _ = self.poll.registry().register(
                &mut SourceFd(&fd),
                Source::Log.token(),
                Interest::WRITABLE,
            );
            self.log_fd = Some(fd);
        }
        Ok(())
    }

    /// Diagnoses failed probes and the command's troubles (`diagnose`).
    /// The command starts only once (no restart policy).
    pub(crate) fn with_single_start(mut self) -> Self {
        self.single_start = true;
        self
    }

    /// Diagnoses failed network probes (`diagnose`).
    pub(crate) fn with_diagnoser(mut self, diagnoser: Diagnoser) -> Self {
        self.diagnoser = Some(diagnoser);
        self
    }

    /// Each change goes to the diagnoser; a diagnosis follows the change it
    /// is about. The command's start diagnoses (`diagnosed`) come first. A
    /// signal passed to the command's process alone is checked for a shell
    /// that would keep it from the server (before it is sent).
    fn diagnose(
        &mut self,
        changes: &mut Vec<Change>,
        actions: &[Action],
        supervisor: &Supervisor,
        now: Instant,
    ) {
        if !self.diagnosed.is_empty() {
            prepend(changes, &mut self.diagnosed);
        }
        let evict = self.code_evicted;
        let Some(diagnoser) = self.diagnoser.as_mut() else {
            return;
        };
        for action in actions {
            if let Action::Send {
                target: Target::Process(pid),
                signal,
            } = *action
            {
                signal_to_command(diagnoser, changes, supervisor, pid, signal, now);
            }
        }
        let mut i = 0;
        while i < changes.len() {
            let ctx = || Context {
                command: supervisor.command(now),
                settled: false,
            };
            if let Some(d) = diagnoser.on_change(&changes[i], ctx, now) {
                let said = !matches!(d, Change::DiagnosisHeld { .. });
                i += 1;
                changes.insert(i, d);
                // The evidence's code (reading /proc, formatting) ran once:
                // it leaves the resident set again, as start-up code does
                // (and, after the first 2 s, the page cache). Not for a
                // cause the rate limit held back: failures keep coming.
                if said {
                    crate::sys::memory::release_code(evict);
                }
            }
            i += 1;
        }
    }

    /// Where a diagnosis' one-off check went: its deadline armed again, or
    /// its diagnosis said (outside the supervisor's turn: it changes no state).
    fn on_checking(&mut self, checking: Option<Checking>, supervisor: &Supervisor) {
        match checking {
            None => {}
            Some(Checking::Running(at)) => self.deadlines.arm(at, Deadline::Check),
            Some(Checking::Waiting) => self.deadlines.cancel(Deadline::Check),
            Some(Checking::Over(said)) => {
                self.deadlines.cancel(Deadline::Check);
                if let Some(change) = said {
                    self.reporter.report(&change);
                    if let Some(publisher) = self.publisher.as_mut() {
                        publisher.publish(&[change], supervisor, self.poll.registry());
                    }
                }
            }
        }
    }

    /// Feeds queued events to the supervisor until none is left: its changes
    /// go to the reporter, its actions are performed. The signals an event
    /// sends first go out before its changes are logged and published (a
    /// forwarded signal waits for nothing; `--drain` sends none at first),
    /// and after a forward vigil yields the CPU once. Never inlined: it runs
    /// every turn and is laid out with the hot functions
    /// (scripts/hot-functions.txt), which `run` is not.
    #[inline(never)]
    fn dispatch(&mut self, supervisor: &mut Supervisor, output: &mut Output) -> Option<u8> {
        while let Some(event) = self.queue.pop_front() {
            let now = Instant::now();
            let signal = matches!(event, Event::Signal(_));
            supervisor.step_into(event, now, output);
            // Diagnosis reads its evidence before the stop or signal it
            // comes with is sent (a liveness stop would take the listener
            // away; a shell wrapping the server is seen before its SIGTERM).
            // A signal skips it unless the command is a shell (the check
            // of a shell running the server without exec).
            if !signal
                || self
                    .diagnoser
                    .as_ref()
                    .is_some_and(Diagnoser::watches_signals)
            {
                self.diagnose(&mut output.changes, &output.actions, supervisor, now);
            }
            let sends = output
                .actions
                .iter()
                .take_while(|a| matches!(a, Action::Send { .. }))
                .count();
            for action in output.actions.drain(..sends) {
                self.perform(action);
            }
            if signal && sends > 0 {
                // A forwarded signal: the process it woke on this CPU would
                // otherwise wait for the rest of the turn (log lines, timers,
                // the next wait); it runs first. Only for signals vigil was
                // sent: its own sends (a restart's, a grace's) do not wait
                // for other processes.
                std::thread::yield_now();
            }
            for change in &output.changes {
                self.reporter.report(change);
            }
            if let Some(publisher) = self.publisher.as_mut() {
                publisher.publish(&output.changes, supervisor, self.poll.registry());
            }
            for action in output.actions.drain(..) {
                if let Some(code) = self.perform(action) {
                    return Some(code);
                }
            }
        }
        // A check a failure asked for goes on once every event is taken
        // (the attempts they start are in flight, their next ticks armed).
        if self.diagnoser.as_ref().is_some_and(Diagnoser::check_waits) {
            self.resume_check(supervisor);
        }
        None
    }

    /// Sends a waiting check's next request if the probes leave the app
    /// alone for its timeout: no attempt in flight, no tick due before
    /// (`Diagnoser::resume_check`). Cold: checks are rare.
    #[cold]
    #[inline(never)]
    fn resume_check(&mut self, supervisor: &Supervisor) {
        let quiet = if self.runner.in_flight() {
            Quiet::Busy
        } else {
            let tick = |d: &Deadline| matches!(d, Deadline::Supervisor(Timer::ProbeTick(_)));
            Quiet::Until(self.deadlines.next_of(tick))
        };
        let registry = self.poll.registry();
        let token = Source::Check.token();
        let now = Instant::now();
        let checking = self
            .diagnoser
            .as_mut()
            .and_then(|d| d.resume_check(registry, token, now, quiet));
        self.on_checking(checking, supervisor);
    }

    /// Whether nothing but a signal can wake the loop: no deadline, and no
    /// fd but the signalfd to watch (no status socket, notify socket, probe
    /// attempt or pending log line). The loop then waits on the signalfd
    /// alone (`SignalFd::wait`), a forward's one system call before `kill`.
    fn signals_only(&self) -> bool {
        self.deadlines.next().is_none()
            && self.log_fd.is_none()
            && self.notify.is_none()
            && self.publisher.as_ref().is_none_or(|p| p.server.is_none())
    }

    /// Takes the pending signals (`waited`: `signals` holds what the wait
    /// read; otherwise the signalfd is read here): each becomes an event,
    /// handed to the supervisor at once (a forward is the first thing the
    /// turn does), then SIGCHLD a reap of every ended child (an exec probe's
    /// end goes to `outcomes`). `Some(code)`: exit now.
    fn on_signals(
        &mut self,
        supervisor: &mut Supervisor,
        output: &mut Output,
        waited: bool,
        (signals, reaped, outcomes): Turn<'_>,
    ) -> io::Result<Option<u8>> {
        let mut child_ended = false;
        // The queue was empty at the wait: only these signals go in, in the
        // order they came, and they go before this turn's reaps as before.
        if waited {
            child_ended = self.queue_signals(signals);
            if let Some(code) = self.dispatch(supervisor, output) {
                return Ok(Some(code));
            }
            // A full read may have left more.
            let more = signals.len() == SignalFd::BATCH;
            signals.clear();
            if more {
                self.signal_fd.drain(signals)?;
            }
        } else {
            self.signal_fd.drain(signals)?;
        }
        child_ended |= self.queue_signals(signals);
        if let Some(code) = self.dispatch(supervisor, output) {
            return Ok(Some(code));
        }
        if !child_ended {
            return Ok(None);
        }
        reaped.clear();
        process::reap_all(reaped);
        for &(pid, status) in reaped.iter() {
            match self
                .runner
                .on_reaped(pid, status, self.poll.registry(), Instant::now())
            {
                Reap::Done(probe, outcome) => outcomes.push((probe, outcome)),
                Reap::Swallowed => {}
                Reap::NotOurs => {
                    if self.command.foreground()
                        && self.child.as_ref().is_some_and(|c| c.pid == pid)
                    {
                        process::take_terminal_back(pid);
                    }
                    self.note_exec_failure(pid);
                    self.queue.push_back(Event::Reaped { pid, status });
                }
            }
        }
        Ok(None)
    }

    /// Queues a signal event for each signal but SIGCHLD; true if SIGCHLD
    /// was among them.
    fn queue_signals(&mut self, signals: &[Received]) -> bool {
        let mut child_ended = false;
        for r in signals {
            if r.signal == libc::SIGCHLD {
                child_ended = true;
            } else if !r.raised_by(self.own_pid) {
                self.queue.push_back(Event::Signal(r.signal));
            }
            // else: raised by vigil's own action (a log write to a reader that
            // left, a file size limit). Nothing is logged: that write could
            // raise the same signal again.
        }
        child_ended
    }

    fn note_exec_failure(&mut self, pid: i32) {
        if let Some(child) = self.child.as_mut().filter(|c| c.pid == pid) {
            if let Some(err) = child.exec_error() {
                match err {
                    // dumb-init's words, which scripts may read: "cmd: strerror".
                    StartFailure::Exec(_) if self.command.is_dumb_init() => {
                        fatal!("{}: {err}", self.command.display)
                    }
                    // tini's words, which a script may match to the end of the line.
                    _ => fatal!("exec {} failed: {err}", self.command.display),
                }
                // Not in dumb-init's words, which scripts match line for line.
                let diagnoser = self.diagnoser.as_mut();
                if let Some(diagnoser) = diagnoser.filter(|_| !self.command.is_dumb_init()) {
                    let lookup = self.command.lookup();
                    let d = diagnoser.on_start_failure(&lookup, &err, Instant::now());
                    self.diagnosed.extend(d);
                }
            }
        }
    }

    /// Performs one action; `Some(code)` means exit now.
    fn perform(&mut self, action: Action) -> Option<u8> {
        // Only the action right after the send may use its answer.
        let group_gone = self.group_gone.take();
        match action {
            Action::Spawn => match spawn::spawn(&self.command, None) {
                Ok(child) => {
                    self.queue.push_back(Event::Spawned { pid: child.pid });
                    self.child = Some(child);
                    if self.single_start {
                        self.command.forget_directory();
                    }
                }
                Err(e) => {
                    fatal!("cannot start {}: {e}", self.command.display);
                    self.queue.push_back(Event::SpawnFailed { why: e.step });
                }
            },
            Action::Send { target, signal } => {
                let pid = match target {
                    Target::Process(pid) => pid,
                    Target::Group(pgid) => -pgid,
                };
                if let Err(e) = process::send_signal(pid, signal) {
                    if let (Target::Group(pgid), nix::errno::Errno::ESRCH) = (target, e) {
                        self.group_gone = Some(pgid);
                    }
                    if e != nix::errno::Errno::ESRCH {
                        warn!("sending signal {signal} to {pid} failed: {e}");
                    }
                }
            }
            Action::Arm { timer, at } => self.deadlines.arm(at, Deadline::Supervisor(timer)),
            Action::StartProbe(probe) => {
                let token = Source::Probe(probe).token();
                match self
                    .runner
                    .start(probe, token, self.poll.registry(), Instant::now())
                {
                    Started::Running { deadline } => {
                        self.deadlines.arm(deadline, Deadline::ProbeTimeout(probe))
                    }
                    Started::Done(outcome) => {
                        self.queue.push_back(Event::ProbeDone { probe, outcome })
                    }
                    Started::Unable(reason) => self
                        .queue
                        .push_back(Event::ProbeNotStarted { probe, reason }),
                }
            }
            Action::CancelProbes => {
                self.runner.cancel_all(self.poll.registry());
                // The command stops: a check would ask an app on its way out.
                if let Some(diagnoser) = self.diagnoser.as_mut() {
                    diagnoser.cancel_check();
                    self.deadlines.cancel(Deadline::Check);
                }
            }
            Action::SuspendSelf => {
                crate::log::flush();
                process::stop_self();
                // Continued: the SIGCONT discarded the stops the kernel still
                // held; those already read with this batch go too, or one
                // CONT would not wake both (dumb-init reads one at a time).
                self.queue.retain(|e| {
                    !matches!(
                        e,
                        Event::Signal(libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU)
                    )
                });
            }
            Action::CheckGroup { pgid } => {
                // An empty group cannot gain a process (setpgid joins only a
                // group that exists), so the send's ESRCH answers this too.
                if group_gone == Some(pgid) || !process::group_exists(pgid) {
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

/// A signal goes to `pid` alone: if that is the command, is it a shell
/// that keeps it from the server? (Off the idle loop's pages.)
#[cold]
#[inline(never)]
fn signal_to_command(
    diagnoser: &mut Diagnoser,
    changes: &mut Vec<Change>,
    supervisor: &Supervisor,
    pid: i32,
    signal: i32,
    now: Instant,
) {
    if supervisor.command(now).is_some_and(|c| c.pid == pid) {
        changes.extend(diagnoser.on_signal_to_command(pid, signal, now));
    }
}

/// Puts `first` before `changes` (the command's start diagnoses, rare).
#[cold]
#[inline(never)]
fn prepend(changes: &mut Vec<Change>, first: &mut Vec<Change>) {
    first.append(changes);
    std::mem::swap(changes, first);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_source_round_trips_through_its_token() {
        let all = [
            Source::Signals,
            Source::Clock,
            Source::Log,
            Source::Probe(ProbeKind::Startup),
            Source::Probe(ProbeKind::Liveness),
            Source::Probe(ProbeKind::Readiness),
            Source::Status,
            Source::Notify,
            Source::Check,
            Source::StatusConn(0),
            Source::StatusConn(MAX_CONNECTIONS - 1),
        ];
        for s in all {
            assert_eq!(Source::of(s.token()), Some(s));
        }
        assert_eq!(Source::of(Token(9)), None);
        assert_eq!(Source::of(Token(FIRST_CONN + MAX_CONNECTIONS)), None);
    }
}
