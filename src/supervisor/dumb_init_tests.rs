//! dumb-init's rules (`dumb_init.rs`), by table: events in, actions and
//! changes out.

use super::dumb_init::DumbInitRules;
use super::tests::at;
use super::*;

const PID: i32 = 400;

/// dumb-init's default: a new session, signals to the group, TSTP/TTIN/TTOU
/// as SIGSTOP.
fn setsid() -> Settings {
    let mut rewrites = Rewrites::default();
    for sig in [libc::SIGTSTP, libc::SIGTTIN, libc::SIGTTOU] {
        rewrites.set(sig, libc::SIGSTOP);
    }
    Settings {
        process_group: true,
        rewrites,
        ..super::tests::settings()
    }
}

fn running(settings: Settings, rules: DumbInitRules) -> Supervisor {
    let rules = DumbInitRules {
        own_group: rules.own_group || settings.process_group,
        ..rules
    };
    let mut sup = Supervisor::new(settings).with_dumb_init(rules);
    sup.start();
    sup.step(Event::Spawned { pid: PID }, at(0));
    sup
}

fn send(target: Target, signal: i32) -> Action {
    Action::Send { target, signal }
}

fn exited(code: u8) -> Event {
    Event::Reaped {
        pid: PID,
        status: ChildStatus::Exited(code),
    }
}

#[test]
fn the_command_exiting_ends_vigil_at_once_after_a_sigterm_to_its_group() {
    // (settings, status, actions): no drain, no grace timer, no group check.
    let single_child = Settings {
        process_group: false,
        ..super::tests::settings()
    };
    let mut dropped = setsid();
    dropped.rewrites.set(libc::SIGTERM, 0);
    let mut quit = setsid();
    quit.rewrites.set(libc::SIGTERM, libc::SIGQUIT);
    let killed = Event::Reaped {
        pid: PID,
        status: ChildStatus::Signaled {
            signal: libc::SIGKILL,
            core: false,
        },
    };
    let table: Vec<(Settings, Event, Vec<Action>)> = vec![
        (
            setsid(),
            exited(7),
            vec![send(Target::Group(PID), libc::SIGTERM), Action::Exit(7)],
        ),
        (
            setsid(),
            killed,
            vec![send(Target::Group(PID), libc::SIGTERM), Action::Exit(137)],
        ),
        // Single-child mode: the command's pid is reaped, nothing to send.
        (single_child, exited(0), vec![Action::Exit(0)]),
        // SIGTERM rewritten to 0 is not sent, to QUIT is sent as QUIT.
        (dropped, exited(1), vec![Action::Exit(1)]),
        (
            quit,
            exited(1),
            vec![send(Target::Group(PID), libc::SIGQUIT), Action::Exit(1)],
        ),
    ];
    for (i, (settings, event, want)) in table.into_iter().enumerate() {
        let mut sup = running(settings, DumbInitRules::default());
        let out = sup.step(event, at(1));
        assert_eq!(out.actions, want, "row {i}");
        assert_eq!(sup.phase(), &Phase::Done, "row {i}");
    }
}

#[test]
fn a_restart_policy_still_restarts_after_the_usual_drain() {
    let mut settings = setsid();
    settings.restart.mode = restart::Mode::Always;
    let mut sup = running(settings, DumbInitRules::default());
    let out = sup.step(exited(1), at(1));
    assert!(
        matches!(sup.phase(), Phase::Draining { .. }),
        "{:?}",
        sup.phase()
    );
    assert!(out.actions.contains(&Action::CheckGroup { pgid: PID }));
    // A stop signal meanwhile means no restart: the end is dumb-init's.
    let mut sup = running(
        Settings {
            restart: restart::Policy {
                mode: restart::Mode::Always,
                ..restart::Policy::default()
            },
            ..setsid()
        },
        DumbInitRules::default(),
    );
    sup.step(Event::Signal(libc::SIGTERM), at(1));
    let out = sup.step(exited(0), at(2));
    assert_eq!(
        out.actions,
        vec![send(Target::Group(PID), libc::SIGTERM), Action::Exit(0)]
    );
}

#[test]
fn job_control_stops_are_forwarded_then_vigil_suspends() {
    // (signal, sent as): in setsid mode the stops go as SIGSTOP.
    for (sig, sent) in [
        (libc::SIGTSTP, libc::SIGSTOP),
        (libc::SIGTTIN, libc::SIGSTOP),
        (libc::SIGTTOU, libc::SIGSTOP),
    ] {
        let mut sup = running(setsid(), DumbInitRules::default());
        let out = sup.step(Event::Signal(sig), at(1));
        assert_eq!(
            out.actions,
            vec![send(Target::Group(PID), sent), Action::SuspendSelf],
            "{sig}"
        );
        assert!(out.changes.contains(&Change::Suspending { signal: sig }));
    }
    // Single-child mode: as received, to the command only.
    let mut sup = running(super::tests::settings(), DumbInitRules::default());
    let out = sup.step(Event::Signal(libc::SIGTSTP), at(1));
    assert_eq!(
        out.actions,
        vec![
            send(Target::Process(PID), libc::SIGTSTP),
            Action::SuspendSelf
        ]
    );
    // SIGCONT is forwarded like any signal; vigil does not suspend for others.
    let out = sup.step(Event::Signal(libc::SIGCONT), at(2));
    assert_eq!(out.actions, vec![send(Target::Process(PID), libc::SIGCONT)]);
    // Under vigil's own name a stop is only forwarded.
    let mut sup = Supervisor::new(super::tests::settings());
    sup.step(Event::Spawned { pid: PID }, at(0));
    let out = sup.step(Event::Signal(libc::SIGTSTP), at(1));
    assert_eq!(out.actions, vec![send(Target::Process(PID), libc::SIGTSTP)]);
}

/// dumb-init's rules as the personality sets them.
fn rules(own_group: bool, kill_after_grace: bool) -> DumbInitRules {
    DumbInitRules {
        kill_after_grace,
        own_group,
    }
}

#[test]
fn a_stop_signal_is_passed_on_with_no_sigkill_after_unless_grace_was_given() {
    // (rules, the grace timer armed)
    for (r, armed) in [(rules(true, false), false), (rules(true, true), true)] {
        let mut sup = running(setsid(), r);
        let out = sup.step(Event::Signal(libc::SIGTERM), at(1));
        assert_eq!(
            out.actions.first(),
            Some(&send(Target::Group(PID), libc::SIGTERM)),
            "{r:?}"
        );
        let grace = out.actions.iter().any(|a| {
            matches!(
                a,
                Action::Arm {
                    timer: Timer::Grace,
                    ..
                }
            )
        });
        assert_eq!(grace, armed, "{r:?}: {:?}", out.actions);
        // Either way the command's exit ends vigil with its status.
        let out = sup.step(exited(0), at(2));
        assert_eq!(out.actions.last(), Some(&Action::Exit(0)), "{r:?}");
    }
}

#[test]
fn a_stop_signal_rewritten_to_0_does_nothing() {
    let mut settings = setsid();
    settings.rewrites.set(libc::SIGTERM, 0);
    let mut sup = running(settings, rules(true, true));
    let out = sup.step(Event::Signal(libc::SIGTERM), at(1));
    assert_eq!(out.actions, vec![]);
    assert!(
        matches!(sup.phase(), Phase::Running { .. }),
        "{:?}",
        sup.phase()
    );
    // Under vigil's own name it still stops (its documented rule).
    let mut settings = setsid();
    settings.rewrites.set(libc::SIGTERM, 0);
    let mut sup = Supervisor::new(settings);
    sup.step(Event::Spawned { pid: PID }, at(0));
    sup.step(Event::Signal(libc::SIGTERM), at(1));
    assert!(
        matches!(sup.phase(), Phase::Stopping { .. }),
        "{:?}",
        sup.phase()
    );
}

#[test]
fn in_single_child_mode_vigils_own_stops_go_to_the_command_itself() {
    // The command has no group of its own: a failed check's stop and the
    // SIGKILL after the grace go to its pid, not to a group that is vigil's.
    // (rows: rules, where vigil's own signals go)
    for (r, target) in [
        (rules(false, false), Target::Process(PID)),
        (rules(true, false), Target::Group(PID)),
    ] {
        let mut sup = Supervisor::new(super::tests::settings()).with_dumb_init(r);
        sup.step(Event::Spawned { pid: PID }, at(0));
        let mut out = Out {
            actions: Vec::new(),
            changes: Vec::new(),
            ready: false,
        };
        sup.stop_for(Check::Watchdog, PID, at(1), &mut out);
        assert_eq!(
            out.actions.first(),
            Some(&send(target, libc::SIGTERM)),
            "{r:?}"
        );
        // A check's stop keeps its grace under dumb-init's rules too.
        assert!(out.actions.iter().any(|a| matches!(
            a,
            Action::Arm {
                timer: Timer::Grace,
                ..
            }
        )));
        let out = sup.step(Event::Timer(Timer::Grace), at(31));
        assert_eq!(out.actions, vec![send(target, libc::SIGKILL)], "{r:?}");
    }
}
