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

#[test]
fn the_first_sighup_and_sigcont_after_letting_go_of_the_terminal_are_not_forwarded() {
    let rules = DumbInitRules {
        ignore_once: vec![libc::SIGHUP, libc::SIGCONT],
    };
    let mut sup = Supervisor::new(setsid()).with_dumb_init(rules);
    // They arrive before the command exists (vigil let go before spawning).
    for sig in [libc::SIGHUP, libc::SIGCONT] {
        let out = sup.step(Event::Signal(sig), at(0));
        assert_eq!(out.actions, vec![]);
        assert_eq!(out.changes, vec![Change::IgnoredOnce { signal: sig }]);
    }
    let out = sup.step(Event::Spawned { pid: PID }, at(0));
    assert!(!out.actions.iter().any(|a| matches!(a, Action::Send { .. })));
    // The next ones are the operator's.
    for sig in [libc::SIGHUP, libc::SIGCONT] {
        let out = sup.step(Event::Signal(sig), at(1));
        assert_eq!(out.actions, vec![send(Target::Group(PID), sig)]);
    }
}
