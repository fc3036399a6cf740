//! Table tests of the supervisor: events in, actions out, no process.
use super::*;

const PID: i32 = 100;

pub(super) fn settings() -> Settings {
    Settings {
        restart: restart::Policy::default(),
        grace: Duration::from_secs(30),
        process_group: false,
        rewrites: Rewrites::default(),
        expected_codes: ExpectedCodes::default(),
        foreground: false,
        probes: PerProbe::default(),
    }
}

/// A fixed start for tests that name times (`at(secs)`).
pub(super) fn t0() -> Instant {
    static T0: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *T0.get_or_init(Instant::now)
}

pub(super) fn at(secs: u64) -> Instant {
    t0() + Duration::from_secs(secs)
}

/// A readiness probe every second, from the start, ready at one success.
pub(super) fn with_readiness(mut s: Settings) -> Settings {
    s.probes[ProbeKind::Readiness] = Some(crate::probe::state::Timing {
        initial_delay: Duration::ZERO,
        period: Duration::from_secs(1),
        success_threshold: 1,
        failure_threshold: 3,
    });
    s
}

/// The readiness probe's attempt at `t` succeeds, saying `message`.
pub(super) fn readiness_succeeds(sup: &mut Supervisor, t: Instant, message: &str) -> Output {
    sup.step(Event::Timer(Timer::ProbeTick(ProbeKind::Readiness)), t);
    sup.step(
        Event::ProbeDone {
            probe: ProbeKind::Readiness,
            outcome: crate::probe::outcome::Outcome {
                success: true,
                warning: false,
                message: message.into(),
                target: "GET http://10.0.0.5:8000/".into(),
                output: String::new(),
                duration: Duration::from_millis(1),
                net: None,
                cannot_run: None,
            },
        },
        t,
    )
}

fn exited(pid: i32, code: i32) -> Event {
    Event::Reaped {
        pid,
        status: ChildStatus::Exited(code as u8),
    }
}

fn signaled(signal: i32) -> ChildStatus {
    ChildStatus::Signaled {
        signal,
        core: false,
    }
}

fn send(target: Target, signal: i32) -> Action {
    Action::Send { target, signal }
}

fn running(s: Settings, t0: Instant) -> Supervisor {
    let mut sup = Supervisor::new(s);
    assert_eq!(sup.start(), vec![Action::Spawn]);
    assert_eq!(sup.handle(Event::Spawned { pid: PID }, t0), vec![]);
    sup
}

#[test]
fn signals_before_the_command_exists_are_delivered_once_it_does() {
    let t0 = Instant::now();
    let mut sup = Supervisor::new(settings());
    sup.start();
    assert_eq!(sup.handle(Event::Signal(libc::SIGUSR1), t0), vec![]);
    assert_eq!(sup.handle(Event::Signal(libc::SIGUSR1), t0), vec![]);
    assert_eq!(sup.handle(Event::Signal(libc::SIGHUP), t0), vec![]);
    let got = sup.handle(Event::Spawned { pid: PID }, t0);
    assert_eq!(
        got,
        vec![
            send(Target::Process(PID), libc::SIGUSR1),
            send(Target::Process(PID), libc::SIGHUP)
        ]
    );
}

#[test]
fn pending_signals_are_bounded() {
    let t0 = Instant::now();
    let mut sup = Supervisor::new(settings());
    for sig in 1..=64 {
        sup.handle(Event::Signal(sig), t0);
        sup.handle(Event::Signal(sig), t0);
    }
    assert_eq!(sup.pending.len(), 64);
}

#[test]
fn forwarding_targets_and_rewrites() {
    let t0 = Instant::now();
    let mut s = settings();
    s.rewrites.add("USR1:USR2").unwrap();
    s.rewrites.add("HUP:0").unwrap();
    let mut sup = running(s.clone(), t0);
    let table = [
        (
            libc::SIGUSR1,
            vec![send(Target::Process(PID), libc::SIGUSR2)],
        ),
        (libc::SIGHUP, vec![]),
        (
            libc::SIGWINCH,
            vec![send(Target::Process(PID), libc::SIGWINCH)],
        ),
    ];
    for (sig, want) in table {
        assert_eq!(sup.handle(Event::Signal(sig), t0), want, "{sig}");
    }
    s.process_group = true;
    let mut sup = running(s, t0);
    assert_eq!(
        sup.handle(Event::Signal(libc::SIGWINCH), t0),
        vec![send(Target::Group(PID), libc::SIGWINCH)]
    );
}

#[test]
fn stop_signal_starts_grace_then_sigkill_to_the_group() {
    let t0 = Instant::now();
    for stop in [libc::SIGTERM, libc::SIGINT, libc::SIGQUIT] {
        let mut sup = running(settings(), t0);
        let at = t0 + Duration::from_secs(30);
        assert_eq!(
            sup.handle(Event::Signal(stop), t0),
            vec![
                send(Target::Process(PID), stop),
                Action::Arm {
                    timer: Timer::Grace,
                    at
                }
            ]
        );
        // A second stop signal is forwarded but does not extend the grace.
        let later = t0 + Duration::from_secs(10);
        assert_eq!(
            sup.handle(Event::Signal(libc::SIGTERM), later),
            vec![send(Target::Process(PID), libc::SIGTERM)]
        );
        // Early (stale) timer: nothing.
        assert_eq!(sup.handle(Event::Timer(Timer::Grace), later), vec![]);
        assert_eq!(
            sup.handle(Event::Timer(Timer::Grace), at),
            vec![send(Target::Group(PID), libc::SIGKILL)]
        );
    }
}

#[test]
fn rewritten_stop_signal_still_starts_grace() {
    let t0 = Instant::now();
    let mut s = settings();
    s.rewrites.add("TERM:QUIT").unwrap();
    let mut sup = running(s, t0);
    let got = sup.handle(Event::Signal(libc::SIGTERM), t0);
    assert_eq!(got[0], send(Target::Process(PID), libc::SIGQUIT));
    assert!(matches!(
        got[1],
        Action::Arm {
            timer: Timer::Grace,
            ..
        }
    ));
}

#[test]
fn command_exit_drains_its_group_then_exits_with_its_status() {
    let t0 = Instant::now();
    let mut sup = running(settings(), t0);
    let t1 = t0 + Duration::from_secs(1);
    assert_eq!(
        sup.handle(exited(PID, 3), t1),
        vec![
            send(Target::Group(PID), libc::SIGTERM),
            Action::CheckGroup { pgid: PID },
            Action::Arm {
                timer: Timer::Grace,
                at: t1 + Duration::from_secs(30)
            },
            Action::Arm {
                timer: Timer::DrainPoll,
                at: t1 + DRAIN_POLL
            },
        ]
    );
    // Another member of the group is reaped: check again.
    assert_eq!(
        sup.handle(exited(PID + 1, 0), t1),
        vec![Action::CheckGroup { pgid: PID }]
    );
    assert_eq!(sup.handle(Event::GroupEmpty, t1), vec![Action::Exit(3)]);
    // Done: nothing more happens.
    assert_eq!(sup.handle(Event::Signal(libc::SIGTERM), t1), vec![]);
    assert_eq!(
        sup.handle(Event::Timer(Timer::Grace), t1 + Duration::from_secs(99)),
        vec![]
    );
}

#[test]
fn one_grace_from_the_stop_signal_covers_the_command_and_its_group() {
    // The command exits 20 s into a 30 s grace: the rest of its group has
    // the 10 s left, not a fresh 30 s (a stop took twice --grace).
    let t0 = Instant::now();
    let mut sup = running(settings(), t0);
    sup.handle(Event::Signal(libc::SIGTERM), t0);
    let t1 = t0 + Duration::from_secs(20);
    let got = sup.handle(exited(PID, 0), t1);
    assert!(
        got.contains(&Action::Arm {
            timer: Timer::Grace,
            at: t0 + Duration::from_secs(30)
        }),
        "{got:?}"
    );
    assert_eq!(
        sup.handle(Event::Timer(Timer::Grace), t0 + Duration::from_secs(30)),
        vec![send(Target::Group(PID), libc::SIGKILL), Action::Exit(0)]
    );
}

#[test]
fn a_terminal_interrupt_of_the_foreground_command_stops_vigil() {
    // (foreground, policy, how the command ended) -> exit after the drain.
    use crate::restart::Mode;
    let t0 = Instant::now();
    let table = [
        (
            true,
            Mode::Always,
            signaled(libc::SIGINT),
            Action::Exit(130),
        ),
        (
            true,
            Mode::OnFailure,
            signaled(libc::SIGQUIT),
            Action::Exit(131),
        ),
        // Not on a terminal: a SIGINT death is a failure like any other.
        (false, Mode::Always, signaled(libc::SIGINT), Action::Spawn),
        // On a terminal, other deaths still restart.
        (true, Mode::Always, signaled(libc::SIGTERM), Action::Spawn),
        (true, Mode::Always, ChildStatus::Exited(1), Action::Spawn),
    ];
    for (foreground, mode, status, want) in table {
        let mut s = settings();
        s.foreground = foreground;
        s.restart.mode = mode;
        let mut sup = running(s, t0);
        sup.handle(Event::Reaped { pid: PID, status }, t0);
        let got = sup.handle(Event::GroupEmpty, t0);
        assert_eq!(got, vec![want.clone()], "{foreground} {mode:?} {status}");
    }
}

#[test]
fn drain_polls_and_kills_the_rest_after_grace() {
    let t0 = Instant::now();
    let mut sup = running(settings(), t0);
    sup.handle(exited(PID, 0), t0);
    let t1 = t0 + DRAIN_POLL;
    assert_eq!(
        sup.handle(Event::Timer(Timer::DrainPoll), t1),
        vec![
            Action::CheckGroup { pgid: PID },
            Action::Arm {
                timer: Timer::DrainPoll,
                at: t1 + DRAIN_POLL
            }
        ]
    );
    // Signals during draining go to the remaining group.
    assert_eq!(
        sup.handle(Event::Signal(libc::SIGHUP), t1),
        vec![send(Target::Group(PID), libc::SIGHUP)]
    );
    let end = t0 + Duration::from_secs(30);
    assert_eq!(
        sup.handle(Event::Timer(Timer::Grace), end),
        vec![send(Target::Group(PID), libc::SIGKILL), Action::Exit(0)]
    );
}

#[test]
fn exit_status_mapping_and_expected_codes() {
    let t0 = Instant::now();
    let mut s = settings();
    s.expected_codes.add(143);
    let table = [
        (ChildStatus::Exited(7), 7),
        (ChildStatus::Exited(143), 0),
        (signaled(libc::SIGTERM), 0),
        (signaled(libc::SIGKILL), 137),
        // Real-time signals are ends like any other (SIGRTMIN+4, 33).
        (signaled(38), 166),
        (signaled(33), 161),
    ];
    for (status, want) in table {
        let mut sup = running(s.clone(), t0);
        sup.handle(Event::Reaped { pid: PID, status }, t0);
        assert_eq!(
            sup.handle(Event::GroupEmpty, t0),
            vec![Action::Exit(want)],
            "{status:?}"
        );
    }
}

#[test]
fn orphans_reaped_while_running_change_nothing() {
    let t0 = Instant::now();
    let mut sup = running(settings(), t0);
    assert_eq!(sup.handle(exited(PID + 5, 1), t0), vec![]);
    assert_eq!(sup.handle(Event::GroupEmpty, t0), vec![]);
}

#[test]
fn fork_failure_exits_1() {
    let mut sup = Supervisor::new(settings());
    sup.start();
    assert_eq!(
        sup.handle(Event::SpawnFailed { why: "fork failed" }, Instant::now()),
        vec![Action::Exit(1)]
    );
}

#[test]
fn vigil_stops_the_group_with_sigterm_as_rewritten() {
    let t0 = Instant::now();
    // (rewrite, the signal the drain sends)
    let table = [
        (None, libc::SIGTERM),
        (Some("TERM:QUIT"), libc::SIGQUIT),
        (Some("TERM:0"), libc::SIGTERM),
    ];
    for (rewrite, want) in table {
        let mut s = settings();
        if let Some(r) = rewrite {
            s.rewrites.add(r).unwrap();
        }
        let mut sup = running(s, t0);
        let got = sup.handle(exited(PID, 0), t0);
        assert_eq!(got[0], send(Target::Group(PID), want), "{rewrite:?}");
    }
}

#[test]
fn a_reused_output_holds_only_the_last_events_actions_and_changes() {
    // The loop keeps one Output for every step (`step_into`): each step
    // starts it afresh, so the start's actions are not performed again with
    // the signal's.
    let (mut fresh, mut reused) = (Supervisor::new(settings()), Supervisor::new(settings()));
    let mut output = Output::default();
    for (i, event) in [
        Event::Spawned { pid: PID },
        Event::Signal(libc::SIGTERM),
        exited(PID, 0),
    ]
    .into_iter()
    .enumerate()
    {
        let want = fresh.step(event.clone(), at(i as u64));
        reused.step_into(event, at(i as u64), &mut output);
        assert_eq!(output, want, "step {i}");
    }
}
