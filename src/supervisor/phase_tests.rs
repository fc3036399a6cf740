//! One table of (phase, event) -> (phase, actions, changes), with every phase
//! the supervisor can be in as a starting point.

use super::status::PhaseName;
use super::tests::{at, readiness_succeeds, with_readiness};
use super::*;

const PID: i32 = 300;

fn settings() -> Settings {
    Settings {
        restart: restart::Policy {
            mode: restart::Mode::OnFailure,
            ..restart::Policy::default()
        },
        ..super::tests::settings()
    }
}

fn end(code: u8, cause: Cause, why: &str) -> End {
    End {
        code,
        cause,
        why: why.into(),
        at: at(0),
    }
}

/// A supervisor put into `phase` (the way the table starts each row).
fn in_phase(phase: Phase) -> Supervisor {
    let mut sup = Supervisor::new(settings());
    sup.phase = phase;
    sup
}

fn send(target: Target, signal: i32) -> Action {
    Action::Send { target, signal }
}

/// What the end of the command does: its group is stopped and watched.
fn drain_actions() -> Vec<Action> {
    vec![
        send(Target::Group(PID), libc::SIGTERM),
        Action::CheckGroup { pgid: PID },
        Action::Arm {
            timer: Timer::Grace,
            at: at(30),
        },
        Action::Arm {
            timer: Timer::DrainPoll,
            at: at(0) + DRAIN_POLL,
        },
    ]
}

fn exited(code: u8) -> Event {
    Event::Reaped {
        pid: PID,
        status: ChildStatus::Exited(code),
    }
}

/// (from, event, to, actions, changes)
type Row = (Phase, Event, Phase, Vec<Action>, Vec<Change>);

#[test]
fn every_phase_and_event() {
    let grace = Duration::from_secs(30);
    let stopping = |by| Phase::Stopping {
        pid: PID,
        by,
        kill_at: at(30),
    };
    let draining = |then| Phase::Draining {
        pgid: PID,
        end: end(1, Cause::Failure, "exit status 1"),
        then,
        kill_at: at(30),
    };
    let backing_off = Phase::BackingOff {
        code: 1,
        until: at(10),
    };
    // The same phase with its deadline due now (the events happen at t0).
    let due = |phase: Phase| match phase {
        Phase::Stopping { pid, by, .. } => Phase::Stopping {
            pid,
            by,
            kill_at: at(0),
        },
        Phase::Draining {
            pgid, end, then, ..
        } => Phase::Draining {
            pgid,
            end,
            then,
            kill_at: at(0),
        },
        Phase::BackingOff { code, .. } => Phase::BackingOff { code, until: at(0) },
        other => other,
    };
    let table: Vec<Row> = vec![
        // Starting: the command starts; a signal waits for it.
        (
            Phase::Starting,
            Event::Spawned { pid: PID },
            Phase::Running { pid: PID },
            vec![],
            vec![Change::Started { pid: PID }, Change::Ready(true)],
        ),
        (
            Phase::Starting,
            Event::Signal(libc::SIGTERM),
            Phase::Starting,
            vec![],
            vec![],
        ),
        // Running: signals are forwarded; a stop signal starts the grace.
        (
            Phase::Running { pid: PID },
            Event::Signal(libc::SIGUSR1),
            Phase::Running { pid: PID },
            vec![send(Target::Process(PID), libc::SIGUSR1)],
            vec![Change::Forwarding {
                signal: libc::SIGUSR1,
                pid: PID,
            }],
        ),
        (
            Phase::Running { pid: PID },
            Event::Signal(libc::SIGTERM),
            stopping(StopBy::Signal),
            vec![
                send(Target::Process(PID), libc::SIGTERM),
                Action::Arm {
                    timer: Timer::Grace,
                    at: at(30),
                },
            ],
            vec![
                Change::Forwarding {
                    signal: libc::SIGTERM,
                    pid: PID,
                },
                Change::Stopping {
                    signal: libc::SIGTERM,
                    grace,
                },
                Change::Ready(false),
            ],
        ),
        (
            Phase::Running { pid: PID },
            exited(1),
            Phase::Draining {
                pgid: PID,
                end: end(1, Cause::Failure, "exit status 1"),
                then: AfterDrain::Decide,
                kill_at: at(30),
            },
            drain_actions(),
            vec![
                Change::Ended {
                    pid: PID,
                    status: ChildStatus::Exited(1),
                },
                Change::Ready(false),
            ],
        ),
        // Stopping: the grace ends in SIGKILL; the end keeps the deadline and
        // no restart follows a stop signal.
        (
            due(stopping(StopBy::Signal)),
            Event::Timer(Timer::Grace),
            due(stopping(StopBy::Signal)),
            vec![send(Target::Group(PID), libc::SIGKILL)],
            vec![Change::Killing { pid: PID, grace }],
        ),
        (
            stopping(StopBy::Signal),
            exited(0),
            Phase::Draining {
                pgid: PID,
                end: end(0, Cause::Success, "exit status 0"),
                then: AfterDrain::Exit,
                kill_at: at(30),
            },
            drain_actions(),
            vec![Change::Ended {
                pid: PID,
                status: ChildStatus::Exited(0),
            }],
        ),
        (
            stopping(StopBy::Check(Check::Probe(ProbeKind::Liveness))),
            Event::Signal(libc::SIGINT),
            stopping(StopBy::CheckThenSignal(Check::Probe(ProbeKind::Liveness))),
            vec![send(Target::Process(PID), libc::SIGINT)],
            vec![Change::Forwarding {
                signal: libc::SIGINT,
                pid: PID,
            }],
        ),
        (
            stopping(StopBy::Check(Check::Probe(ProbeKind::Liveness))),
            exited(0),
            Phase::Draining {
                pgid: PID,
                end: end(3, Cause::ProbeKill, "liveness probe failed"),
                then: AfterDrain::Decide,
                kill_at: at(30),
            },
            drain_actions(),
            vec![Change::Ended {
                pid: PID,
                status: ChildStatus::Exited(0),
            }],
        ),
        // Draining: the group empties, and the policy restarts a failure (the
        // first restart at once); a stop signal first means exit.
        (
            draining(AfterDrain::Decide),
            Event::GroupEmpty,
            Phase::Starting,
            vec![Action::Spawn],
            vec![Change::Restarting {
                delay: Duration::ZERO,
                attempt: 1,
                why: "exit status 1".into(),
            }],
        ),
        (
            draining(AfterDrain::Decide),
            Event::Signal(libc::SIGTERM),
            draining(AfterDrain::Exit),
            vec![send(Target::Group(PID), libc::SIGTERM)],
            vec![Change::ForwardingToGroup {
                signal: libc::SIGTERM,
                pgid: PID,
            }],
        ),
        (
            draining(AfterDrain::Exit),
            Event::GroupEmpty,
            Phase::Done,
            vec![Action::Exit(1)],
            vec![],
        ),
        (
            due(draining(AfterDrain::Exit)),
            Event::Timer(Timer::Grace),
            Phase::Done,
            vec![send(Target::Group(PID), libc::SIGKILL), Action::Exit(1)],
            vec![Change::KillingGroup { pgid: PID, grace }],
        ),
        // BackingOff: the delay ends in a start; a stop signal ends vigil;
        // another signal waits for the next start.
        (
            due(backing_off.clone()),
            Event::Timer(Timer::Restart),
            Phase::Starting,
            vec![Action::Spawn],
            vec![],
        ),
        (
            backing_off.clone(),
            Event::Signal(libc::SIGTERM),
            Phase::Done,
            vec![Action::Exit(1)],
            vec![Change::StoppedWhileBackingOff {
                signal: libc::SIGTERM,
                code: 1,
            }],
        ),
        (
            backing_off.clone(),
            Event::Signal(libc::SIGHUP),
            backing_off.clone(),
            vec![],
            vec![],
        ),
        // Done: nothing moves.
        (
            Phase::Done,
            Event::Signal(libc::SIGTERM),
            Phase::Done,
            vec![],
            vec![],
        ),
        (
            Phase::Done,
            exited(0),
            Phase::Done,
            vec![],
            vec![Change::Reaped {
                pid: PID,
                status: ChildStatus::Exited(0),
            }],
        ),
    ];
    let mut seen = std::collections::BTreeSet::new();
    for (from, event, want_phase, want_actions, want_changes) in table {
        seen.insert(std::mem::discriminant(&from).hash_key());
        let mut sup = in_phase(from.clone());
        let out = sup.step(event.clone(), at(0));
        assert_eq!(sup.phase, want_phase, "{from:?} + {event:?}");
        assert_eq!(out.actions, want_actions, "{from:?} + {event:?}");
        assert_eq!(out.changes, want_changes, "{from:?} + {event:?}");
    }
    assert_eq!(seen.len(), 6, "every phase starts a row");
}

trait HashKey {
    fn hash_key(&self) -> u64;
}

impl<T> HashKey for std::mem::Discriminant<T> {
    fn hash_key(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.hash(&mut h);
        h.finish()
    }
}

#[test]
fn status_snapshot() {
    let mut sup = Supervisor::new(with_readiness(settings()));
    sup.start();
    sup.step(Event::Spawned { pid: PID }, at(0));
    let out = readiness_succeeds(&mut sup, at(0), "HTTP probe succeeded with statuscode: 200");
    assert!(out.changes.contains(&Change::Readiness(true)));
    assert!(out.changes.contains(&Change::Ready(true)));
    let st = sup.status();
    assert_eq!(
        (st.phase, st.pid, st.ready, st.restarts, st.last_exit),
        (PhaseName::Running, Some(PID), true, 0, None)
    );
    let r = st.probes[ProbeKind::Readiness].clone().unwrap();
    assert_eq!(
        (r.result, r.last_success, r.run, r.attempts),
        (ProbeResult::Success, Some(true), 1, 1)
    );
    assert_eq!(r.last_message, "HTTP probe succeeded with statuscode: 200");
    assert!(st.probes[ProbeKind::Liveness].is_none());
    sup.step(exited(2), at(1));
    let st = sup.status();
    assert_eq!(
        (st.phase, st.pid, st.ready, st.last_exit),
        (
            PhaseName::Draining,
            None,
            false,
            Some(ChildStatus::Exited(2))
        )
    );
}
