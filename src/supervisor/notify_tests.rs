//! sd_notify (`--notify`, `--watchdog`): the parser, and what the command's
//! READY=1, STATUS= and WATCHDOG=1 do to readiness and to the command.

use super::notify::{parse, Ignored, Message, NotifyState, MAX_STATUS};
use super::tests::{at, readiness_succeeds, with_readiness};
use super::*;
use crate::restart::Mode;

const PID: i32 = 500;

#[test]
fn parse_table() {
    use Message::*;
    let table: Vec<(&[u8], Vec<Message>)> = vec![
        (b"READY=1", vec![Ready]),
        (b"READY=1\n", vec![Ready]),
        (
            b"READY=1\nSTATUS=Serving on :8000\nMAINPID=42",
            vec![Ready, Status("Serving on :8000".into())],
        ),
        (b"RELOADING=1\nMONOTONIC_USEC=123", vec![Reloading]),
        (b"STOPPING=1", vec![Stopping]),
        (b"WATCHDOG=1", vec![Watchdog]),
        (b"WATCHDOG=trigger", vec![WatchdogTrigger]),
        (b"WATCHDOG_USEC=20000000", vec![WatchdogUsec(20_000_000)]),
        (b"WATCHDOG_USEC=0", vec![WatchdogUsec(0)]),
        // Accepted and ignored.
        (b"MAINPID=42", vec![]),
        (b"BARRIER=1", vec![]),
        (b"FDSTORE=1\nFDNAME=x", vec![]),
        (b"EXTEND_TIMEOUT_USEC=5000000", vec![]),
        (b"ERRNO=2\nBUSERROR=x", vec![]),
        // Only the exact values count, as systemd reads them.
        (b"READY=0", vec![]),
        (b"READY=1 ", vec![]),
        (b" READY=1", vec![]),
        (b"ready=1", vec![]),
        (b"READY", vec![]),
        (b"WATCHDOG=2", vec![]),
        (b"WATCHDOG_USEC=", vec![]),
        (b"WATCHDOG_USEC=-1", vec![]),
        (b"WATCHDOG_USEC=+5", vec![]),
        (b"WATCHDOG_USEC=99999999999999999999999", vec![]),
        (b"WATCHDOG_USEC=1e6", vec![]),
        // STATUS= may be empty, hold '=' and any text.
        (b"STATUS=", vec![Status(String::new())]),
        (b"STATUS=a=b", vec![Status("a=b".into())]),
        (
            b"STATUS=\xff\xfeok",
            vec![Status("\u{fffd}\u{fffd}ok".into())],
        ),
        // Garbage: nothing, never a panic.
        (b"", vec![]),
        (b"\n\n\n", vec![]),
        (b"=", vec![]),
        (b"=1", vec![]),
        (b"\xff\xfe\xfd", vec![]),
        // A NUL byte voids the whole datagram, as in systemd.
        (b"READY=1\0", vec![]),
        (b"READY=1\nSTATUS=a\0b", vec![]),
    ];
    for (payload, want) in table {
        assert_eq!(
            parse(payload),
            want,
            "{:?}",
            String::from_utf8_lossy(payload)
        );
    }
}

#[test]
fn parse_bounds_what_it_keeps() {
    let newlines = vec![b'\n'; 4096];
    assert_eq!(parse(&newlines), vec![]);
    let mut many = b"READY=1\n".repeat(512);
    many.truncate(4096);
    assert_eq!(parse(&many).len(), 512);
    // STATUS= is cut to MAX_STATUS bytes, at a character boundary.
    let long = format!("STATUS={}", "é".repeat(300));
    let [Message::Status(text)] = &parse(long.as_bytes())[..] else {
        panic!("one status");
    };
    assert_eq!(text.len(), MAX_STATUS);
    assert!(text.chars().all(|c| c == 'é'));
    let odd = format!("STATUS=x{}", "é".repeat(300));
    let [Message::Status(text)] = &parse(odd.as_bytes())[..] else {
        panic!("one status");
    };
    assert_eq!(text.len(), MAX_STATUS - 1);
}

fn settings(mode: Mode) -> Settings {
    let mut s = super::tests::settings();
    s.restart.mode = mode;
    s
}

/// The command runs under `--notify` (and `--watchdog` when given).
fn running(watchdog: Option<u64>, mode: Mode) -> Supervisor {
    let mut sup = Supervisor::new(settings(mode)).with_notify(watchdog.map(Duration::from_secs));
    sup.start();
    let out = sup.step(Event::Spawned { pid: PID }, at(0));
    assert_eq!(out.changes, vec![Change::Started { pid: PID }]);
    sup
}

/// A datagram from the command's own group (`pid` one of its members).
fn from_group(pid: i32, payload: &[u8]) -> Event {
    Event::Notify {
        pid,
        pgid: Some(PID),
        payload: payload.to_vec(),
    }
}

fn ignored(pid: i32, why: Ignored) -> Vec<Change> {
    vec![Change::NotifyIgnored { pid, why }]
}

fn watchdog_at(secs: u64) -> Action {
    Action::Arm {
        timer: Timer::Watchdog,
        at: at(secs),
    }
}

#[test]
fn ready_needs_ready_1_from_the_command_group() {
    // Without --notify nothing changes: ready at once.
    let mut sup = Supervisor::new(settings(Mode::Never));
    sup.start();
    let out = sup.step(Event::Spawned { pid: PID }, at(0));
    assert!(out.changes.contains(&Change::Ready(true)));
    assert_eq!(sup.notify_state(), None);

    let mut sup = running(None, Mode::Never);
    assert!(!sup.is_ready());
    assert_eq!(sup.notify_state(), Some(NotifyState::Pending));
    // Outside the group, or from a process that is gone: ignored.
    for pgid in [Some(PID + 50), None] {
        let out = sup.step(
            Event::Notify {
                pid: PID + 50,
                pgid,
                payload: b"READY=1".to_vec(),
            },
            at(1),
        );
        assert_eq!(out.changes, ignored(PID + 50, Ignored::NotTheCommand));
    }
    assert!(!sup.is_ready());
    // Nothing vigil acts on: ignored, said so.
    let out = sup.step(from_group(PID, b"MAINPID=7"), at(1));
    assert_eq!(out.changes, ignored(PID, Ignored::Unused));
    // A child of the command in its group may speak for it.
    let out = sup.step(from_group(PID + 1, b"READY=1"), at(2));
    assert_eq!(out.actions, vec![]);
    assert_eq!(
        out.changes,
        vec![
            Change::NotifyState {
                pid: PID + 1,
                state: NotifyState::Ready
            },
            Change::Ready(true)
        ]
    );
    assert!(sup.is_ready() && sup.notify_ready());
    // Said again: no change.
    assert_eq!(
        sup.step(from_group(PID, b"READY=1"), at(3)),
        Output::default()
    );
}

#[test]
fn ready_needs_the_readiness_probe_too() {
    let mut sup = Supervisor::new(with_readiness(settings(Mode::Never))).with_notify(None);
    sup.start();
    sup.step(Event::Spawned { pid: PID }, at(0));
    let out = sup.step(from_group(PID, b"READY=1"), at(1));
    assert!(!out.changes.contains(&Change::Ready(true)));
    assert!(!sup.is_ready() && sup.notify_ready());
    let out = readiness_succeeds(&mut sup, at(1), "");
    assert!(out.changes.contains(&Change::Ready(true)));
}

#[test]
fn reloading_and_stopping_are_not_ready_until_ready_again() {
    let mut sup = running(None, Mode::Never);
    sup.step(from_group(PID, b"READY=1"), at(1));
    for (payload, state) in [
        (
            &b"RELOADING=1\nMONOTONIC_USEC=1"[..],
            NotifyState::Reloading,
        ),
        (b"STOPPING=1", NotifyState::Stopping),
    ] {
        let out = sup.step(from_group(PID, payload), at(2));
        assert_eq!(
            out.changes,
            vec![
                Change::NotifyState { pid: PID, state },
                Change::Ready(false)
            ]
        );
        let out = sup.step(from_group(PID, b"READY=1"), at(3));
        assert!(out.changes.contains(&Change::Ready(true)));
    }
}

#[test]
fn status_is_kept_and_said_when_it_changes() {
    let mut sup = running(None, Mode::Never);
    assert_eq!(sup.notify_status(), None);
    let out = sup.step(from_group(PID, b"STATUS=Loading model"), at(1));
    assert_eq!(
        out.changes,
        vec![Change::NotifyStatus {
            text: "Loading model".into()
        }]
    );
    assert_eq!(sup.notify_status(), Some("Loading model"));
    assert_eq!(
        sup.step(from_group(PID, b"STATUS=Loading model"), at(2)),
        Output::default()
    );
    // STATUS= with READY=1 in one datagram: both, in order.
    let out = sup.step(from_group(PID, b"STATUS=Serving\nREADY=1"), at(3));
    assert_eq!(
        out.changes,
        vec![
            Change::NotifyStatus {
                text: "Serving".into()
            },
            Change::NotifyState {
                pid: PID,
                state: NotifyState::Ready
            },
            Change::Ready(true)
        ]
    );
}

#[test]
fn every_start_forgets_what_the_command_said() {
    let mut sup = running(None, Mode::Always);
    sup.step(from_group(PID, b"READY=1\nSTATUS=up"), at(1));
    assert!(sup.is_ready());
    sup.step(
        Event::Reaped {
            pid: PID,
            status: ChildStatus::Exited(0),
        },
        at(2),
    );
    // The command is gone: what its group says is ignored.
    let out = sup.step(from_group(PID + 1, b"READY=1"), at(2));
    assert_eq!(out.changes, ignored(PID + 1, Ignored::NoCommand));
    assert_eq!(
        sup.step(Event::GroupEmpty, at(2)).actions,
        vec![Action::Spawn]
    );
    let out = sup.step(Event::Spawned { pid: PID + 9 }, at(2));
    assert!(!out.changes.contains(&Change::Ready(true)));
    assert!(!sup.is_ready());
    assert_eq!(
        (sup.notify_state(), sup.notify_status()),
        (Some(NotifyState::Pending), None)
    );
    // The old group is not the new command's.
    let out = sup.step(from_group(PID, b"READY=1"), at(3));
    assert_eq!(out.changes, ignored(PID, Ignored::NotTheCommand));
}

#[test]
fn the_watchdog_is_armed_by_ready_and_moved_by_each_ping() {
    let mut sup = running(Some(10), Mode::Never);
    // Before READY=1 it is not armed: pings and timers do nothing.
    assert_eq!(
        sup.step(from_group(PID, b"WATCHDOG=1"), at(1)),
        Output::default()
    );
    assert_eq!(
        sup.step(Event::Timer(Timer::Watchdog), at(60)),
        Output::default()
    );
    let out = sup.step(from_group(PID, b"READY=1"), at(60));
    assert_eq!(out.actions, vec![watchdog_at(70)]);
    assert!(out.changes.contains(&Change::WatchdogArmed {
        timeout: Duration::from_secs(10)
    }));
    assert_eq!(sup.watchdog_due(), Some(at(70)));
    let out = sup.step(from_group(PID, b"WATCHDOG=1"), at(65));
    assert_eq!(out.actions, vec![watchdog_at(75)]);
    assert_eq!(out.changes, vec![]);
    // The earlier deadline, fired late: nothing.
    assert_eq!(
        sup.step(Event::Timer(Timer::Watchdog), at(70)),
        Output::default()
    );
}

#[test]
fn a_missed_watchdog_stops_the_command_like_a_failed_liveness_probe() {
    // (policy, what follows once the group is gone)
    let table = [
        (Mode::Never, Action::Exit(exit_status::code::PROBE_FAILED)),
        (Mode::OnFailure, Action::Spawn),
    ];
    for (mode, then) in table {
        let mut sup = running(Some(10), mode);
        sup.step(from_group(PID, b"READY=1"), at(1));
        let out = sup.step(Event::Timer(Timer::Watchdog), at(11));
        assert_eq!(
            out.actions,
            vec![
                Action::Send {
                    target: Target::Group(PID),
                    signal: libc::SIGTERM
                },
                Action::Arm {
                    timer: Timer::Grace,
                    at: at(41)
                },
            ],
            "{mode:?}"
        );
        assert_eq!(
            out.changes,
            vec![
                Change::WatchdogStop {
                    pid: PID,
                    timeout: Duration::from_secs(10),
                    triggered: false
                },
                Change::Ready(false)
            ]
        );
        assert_eq!(sup.watchdog_due(), None);
        sup.step(
            Event::Reaped {
                pid: PID,
                status: ChildStatus::Exited(0),
            },
            at(12),
        );
        let out = sup.step(Event::GroupEmpty, at(12));
        assert_eq!(out.actions, vec![then], "{mode:?}");
        if mode == Mode::OnFailure {
            assert_eq!(
                out.changes,
                vec![Change::Restarting {
                    delay: Duration::ZERO,
                    attempt: 1,
                    why: "watchdog timeout".into()
                }]
            );
        }
    }
}

#[test]
fn watchdog_trigger_stops_the_command_at_once() {
    let mut sup = running(Some(10), Mode::Never);
    let out = sup.step(from_group(PID, b"WATCHDOG=trigger"), at(1));
    assert_eq!(
        out.changes[0],
        Change::WatchdogStop {
            pid: PID,
            timeout: Duration::from_secs(10),
            triggered: true
        }
    );
    assert!(matches!(
        sup.phase,
        Phase::Stopping {
            by: StopBy::Check(Check::Watchdog),
            ..
        }
    ));
    // Without --watchdog it is ignored.
    let mut sup = running(None, Mode::Never);
    let out = sup.step(from_group(PID, b"WATCHDOG=trigger"), at(1));
    assert_eq!(out, Output::default());
    assert!(matches!(sup.phase, Phase::Running { .. }));
}

#[test]
fn watchdog_usec_changes_this_runs_timeout() {
    let mut sup = running(Some(10), Mode::OnFailure);
    // Before READY=1: the timeout READY=1 will arm.
    let out = sup.step(from_group(PID, b"WATCHDOG_USEC=20000000"), at(0));
    assert_eq!(
        out.changes,
        vec![Change::WatchdogTimeout {
            timeout: Some(Duration::from_secs(20))
        }]
    );
    assert_eq!(
        sup.step(from_group(PID, b"READY=1"), at(1)).actions,
        vec![watchdog_at(21)]
    );
    // Armed: the deadline moves to the new timeout from now.
    assert_eq!(
        sup.step(from_group(PID, b"WATCHDOG_USEC=5000000"), at(2))
            .actions,
        vec![watchdog_at(7)]
    );
    // 0 turns it off for this run; a huge one never overflows.
    sup.step(from_group(PID, b"WATCHDOG_USEC=0"), at(3));
    assert_eq!(sup.watchdog_due(), None);
    assert_eq!(
        sup.step(Event::Timer(Timer::Watchdog), at(8)),
        Output::default()
    );
    sup.step(from_group(PID, b"READY=1"), at(3));
    assert_eq!(sup.watchdog_due(), None);
    sup.step(
        from_group(PID, format!("WATCHDOG_USEC={}", u64::MAX).as_bytes()),
        at(4),
    );
    sup.step(from_group(PID, b"WATCHDOG=1"), at(4));
    // The next run has --watchdog's timeout again.
    sup.step(
        Event::Reaped {
            pid: PID,
            status: ChildStatus::Exited(1),
        },
        at(5),
    );
    sup.step(Event::GroupEmpty, at(5));
    sup.step(Event::Spawned { pid: PID }, at(5));
    assert_eq!(
        sup.step(from_group(PID, b"READY=1"), at(6)).actions,
        vec![watchdog_at(16)]
    );
    // Without --watchdog WATCHDOG_USEC= is ignored.
    let mut sup = running(None, Mode::Never);
    assert_eq!(
        sup.step(from_group(PID, b"WATCHDOG_USEC=1000000"), at(1)),
        Output::default()
    );
}

#[test]
fn stopping_1_pauses_the_watchdog_until_ready() {
    let mut sup = running(Some(10), Mode::Never);
    sup.step(from_group(PID, b"READY=1"), at(1));
    sup.step(from_group(PID, b"STOPPING=1"), at(2));
    assert_eq!(sup.watchdog_due(), None);
    assert_eq!(
        sup.step(Event::Timer(Timer::Watchdog), at(11)),
        Output::default()
    );
    assert_eq!(
        sup.step(from_group(PID, b"READY=1"), at(20)).actions,
        vec![watchdog_at(30)]
    );
}

#[test]
fn no_watchdog_stop_while_vigil_stops_the_command() {
    let mut sup = running(Some(10), Mode::Never).with_drain(Duration::from_secs(30));
    sup.step(from_group(PID, b"READY=1"), at(1));
    sup.step(Event::Signal(libc::SIGTERM), at(2));
    assert!(sup.draining_until().is_some());
    assert_eq!(
        sup.step(Event::Timer(Timer::Watchdog), at(11)),
        Output::default()
    );
    // The command still speaks during the drain; READY=1 does not make
    // vigil ready again.
    let out = sup.step(from_group(PID, b"STATUS=draining"), at(12));
    assert_eq!(
        out.changes,
        vec![Change::NotifyStatus {
            text: "draining".into()
        }]
    );
    sup.step(from_group(PID, b"STOPPING=1\nREADY=1"), at(12));
    assert!(!sup.is_ready());
}
