//! The drain on stop (`--drain`): a SIGTERM makes vigil not ready at once and
//! passes the signal on only when the drain ends, or at a second stop signal.

use super::tests::{at, readiness_succeeds, with_readiness};
use super::*;
use crate::restart::Mode;

const PID: i32 = 400;

fn send(signal: i32) -> Action {
    Action::Send {
        target: Target::Process(PID),
        signal,
    }
}

fn grace_at(secs: u64) -> Action {
    Action::Arm {
        timer: Timer::Grace,
        at: at(secs),
    }
}

/// Running and ready (a readiness probe that succeeded) with `--drain` and
/// `--restart always`.
fn ready(drain: u64) -> Supervisor {
    let mut s = with_readiness(super::tests::settings());
    s.restart.mode = Mode::Always;
    let mut sup = Supervisor::new(s).with_drain(Duration::from_secs(drain));
    sup.start();
    sup.step(Event::Spawned { pid: PID }, at(0));
    let out = readiness_succeeds(&mut sup, at(0), "");
    assert!(out.changes.contains(&Change::Ready(true)));
    sup
}

/// What a stop signal passed on at once says.
fn stopping(signal: i32) -> [Change; 2] {
    [
        Change::Forwarding { signal, pid: PID },
        Change::Stopping {
            signal,
            grace: Duration::from_secs(30),
        },
    ]
}

#[test]
fn without_drain_sigterm_goes_on_at_once() {
    let mut sup = ready(0);
    let out = sup.step(Event::Signal(libc::SIGTERM), at(1));
    assert_eq!(
        out.actions,
        vec![send(libc::SIGTERM), grace_at(31), Action::CancelProbes]
    );
    let [forwarding, stopping] = stopping(libc::SIGTERM);
    assert_eq!(
        out.changes,
        vec![forwarding, stopping, Change::Ready(false)]
    );
    assert_eq!(sup.draining_until(), None);
}

#[test]
fn sigterm_reports_not_ready_at_once_and_holds_the_signal_until_the_drain_ends() {
    let mut sup = ready(2);
    let out = sup.step(Event::Signal(libc::SIGTERM), at(1));
    assert_eq!(
        out.actions,
        vec![
            Action::Arm {
                timer: Timer::Drain,
                at: at(3)
            },
            Action::CancelProbes
        ]
    );
    assert_eq!(
        out.changes,
        vec![
            Change::DrainStarted {
                signal: libc::SIGTERM,
                drain: Duration::from_secs(2)
            },
            Change::Ready(false),
        ]
    );
    assert!(!sup.is_ready());
    assert_eq!(sup.draining_until(), Some(at(3)));
    // The command keeps serving: other signals still reach it, probes
    // are stopped, nothing makes it ready again.
    assert_eq!(
        sup.step(Event::Signal(libc::SIGHUP), at(2)).actions,
        vec![send(libc::SIGHUP)]
    );
    let tick = sup.step(Event::Timer(Timer::ProbeTick(ProbeKind::Readiness)), at(2));
    assert_eq!(tick, Output::default());
    // An early (stale) timer: nothing.
    assert_eq!(
        sup.step(Event::Timer(Timer::Drain), at(2)),
        Output::default()
    );
    assert!(!sup.is_ready());
    // The drain ends: SIGTERM goes on and the grace starts from now.
    let out = sup.step(Event::Timer(Timer::Drain), at(3));
    assert_eq!(out.actions, vec![send(libc::SIGTERM), grace_at(33)]);
    assert_eq!(
        out.changes,
        vec![
            Change::DrainEnded {
                signal: libc::SIGTERM,
                drain: Duration::from_secs(2),
                grace: Duration::from_secs(30)
            },
            Change::Forwarding {
                signal: libc::SIGTERM,
                pid: PID
            },
        ]
    );
    assert_eq!(sup.draining_until(), None);
    assert_eq!(
        sup.step(Event::Timer(Timer::Grace), at(33)).actions,
        vec![Action::Send {
            target: Target::Group(PID),
            signal: libc::SIGKILL
        }]
    );
}

#[test]
fn a_second_stop_signal_ends_the_drain_at_once() {
    // (second signal, what the command gets)
    for second in [libc::SIGTERM, libc::SIGINT, libc::SIGQUIT] {
        let mut sup = ready(10);
        sup.step(Event::Signal(libc::SIGTERM), at(1));
        let out = sup.step(Event::Signal(second), at(2));
        assert_eq!(out.actions, vec![send(second), grace_at(32)], "{second}");
        assert_eq!(out.changes, stopping(second), "{second}");
        // The drain's own timer later finds nothing to do.
        assert_eq!(
            sup.step(Event::Timer(Timer::Drain), at(11)),
            Output::default()
        );
    }
}

#[test]
fn sigint_and_sigquit_never_start_a_drain() {
    for stop in [libc::SIGINT, libc::SIGQUIT] {
        let mut sup = ready(10);
        let out = sup.step(Event::Signal(stop), at(1));
        assert_eq!(out.actions[..2], [send(stop), grace_at(31)], "{stop}");
    }
}

#[test]
fn the_command_ending_during_the_drain_is_not_restarted() {
    let mut sup = ready(10);
    sup.step(Event::Signal(libc::SIGTERM), at(1));
    let out = sup.step(
        Event::Reaped {
            pid: PID,
            status: ChildStatus::Exited(0),
        },
        at(4),
    );
    // Its group gets SIGTERM now and a grace of its own from now.
    assert!(out.actions.contains(&grace_at(34)), "{:?}", out.actions);
    assert_eq!(
        sup.step(Event::GroupEmpty, at(4)).actions,
        vec![Action::Exit(0)]
    );
    // Its exit status, not PROBE_FAILED, and with -e remapping.
    let mut sup = ready(10);
    sup.step(Event::Signal(libc::SIGTERM), at(1));
    sup.step(
        Event::Reaped {
            pid: PID,
            status: ChildStatus::Exited(7),
        },
        at(4),
    );
    assert_eq!(
        sup.step(Event::GroupEmpty, at(4)).actions,
        vec![Action::Exit(7)]
    );
}

#[test]
fn a_stop_with_nothing_to_drain_behaves_as_without_drain() {
    // A SIGTERM kept from before the start goes to the new command at once.
    let mut sup = Supervisor::new(super::tests::settings()).with_drain(Duration::from_secs(5));
    sup.start();
    sup.step(Event::Signal(libc::SIGTERM), at(0));
    let out = sup.step(Event::Spawned { pid: PID }, at(0));
    assert_eq!(out.actions, vec![send(libc::SIGTERM), grace_at(30)]);
    // While backing off: vigil exits at once with the last status.
    let mut sup = ready(5);
    sup.step(
        Event::Reaped {
            pid: PID,
            status: ChildStatus::Exited(1),
        },
        at(1),
    );
    sup.step(Event::GroupEmpty, at(1)); // restarts at once
    sup.step(Event::Spawned { pid: PID + 1 }, at(1));
    sup.step(
        Event::Reaped {
            pid: PID + 1,
            status: ChildStatus::Exited(1),
        },
        at(2),
    );
    sup.step(Event::GroupEmpty, at(2)); // backs off 10 s
    assert!(matches!(sup.phase, Phase::BackingOff { .. }));
    assert_eq!(
        sup.step(Event::Signal(libc::SIGTERM), at(3)).actions,
        vec![Action::Exit(1)]
    );
    // While a probe's stop runs: forwarded, no drain, no restart after.
    let mut sup = ready(5);
    sup.phase = Phase::Stopping {
        pid: PID,
        by: StopBy::Check(Check::Probe(ProbeKind::Liveness)),
        kill_at: at(31),
    };
    assert_eq!(
        sup.step(Event::Signal(libc::SIGTERM), at(2)).actions,
        vec![send(libc::SIGTERM)]
    );
    assert!(matches!(
        sup.phase,
        Phase::Stopping {
            by: StopBy::CheckThenSignal(Check::Probe(ProbeKind::Liveness)),
            ..
        }
    ));
}
