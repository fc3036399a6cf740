//! The supervisor with a restart policy: crash loops, backoff waits, stop
//! signals during them, probe kills and fresh probe state per start.

use super::*;
use crate::probe::outcome::Outcome;
use crate::restart::Mode;

const PID: i32 = 200;

fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn settings(mode: Mode) -> Settings {
    Settings {
        restart: restart::Policy {
            mode,
            ..restart::Policy::default()
        },
        ..super::tests::settings()
    }
}

fn exited(pid: i32, code: i32) -> Event {
    Event::Reaped {
        pid,
        status: ChildStatus::Exited(code as u8),
    }
}

/// Starts the command as `pid` at `t`.
fn spawned(sup: &mut Supervisor, pid: i32, t: Instant) {
    sup.handle(Event::Spawned { pid }, t);
    assert!(
        matches!(sup.phase, Phase::Running { .. }),
        "{:?}",
        sup.phase
    );
}

/// The command `pid` exits with `code` at `t` and its group is gone at once.
fn ends(sup: &mut Supervisor, pid: i32, code: i32, t: Instant) -> Vec<Action> {
    sup.handle(exited(pid, code), t);
    sup.handle(Event::GroupEmpty, t)
}

fn restart_at(at: Instant) -> Vec<Action> {
    vec![Action::Arm {
        timer: Timer::Restart,
        at,
    }]
}

#[test]
fn which_ends_restart_by_policy() {
    // (mode, exit code, restarted?)
    let table = [
        (Mode::Never, 0, false),
        (Mode::Never, 1, false),
        (Mode::OnFailure, 0, false),
        (Mode::OnFailure, 1, true),
        (Mode::OnFailure, 137, true),
        (Mode::Always, 0, true),
        (Mode::Always, 2, true),
    ];
    let t0 = Instant::now();
    for (mode, code, restarted) in table {
        let mut sup = Supervisor::new(settings(mode));
        sup.start();
        spawned(&mut sup, PID, t0);
        let want = if restarted {
            vec![Action::Spawn]
        } else {
            vec![Action::Exit(code as u8)]
        };
        assert_eq!(
            ends(&mut sup, PID, code, t0 + s(1)),
            want,
            "{mode:?} {code}"
        );
    }
}

#[test]
fn a_crash_loop_waits_longer_each_time_counted_from_the_exit() {
    let t0 = Instant::now();
    let mut sup = Supervisor::new(settings(Mode::OnFailure));
    sup.start();
    let mut t = t0;
    // Restart delays 0, 10, 20, 40: each run lasts 1 s.
    for (i, delay) in [0u64, 10, 20, 40].into_iter().enumerate() {
        let pid = PID + i as i32;
        spawned(&mut sup, pid, t);
        let exit = t + s(1);
        sup.handle(exited(pid, 1), exit);
        // The group takes 2 s to drain; the delay still counts from the exit.
        let drained = exit + s(2);
        let got = sup.handle(Event::GroupEmpty, drained);
        if delay == 0 {
            assert_eq!(got, vec![Action::Spawn], "restart {i}");
            t = drained;
            continue;
        }
        let at = exit + s(delay);
        assert_eq!(got, restart_at(at), "restart {i}");
        assert!(!sup.is_ready());
        // Early (stale) timer: nothing.
        assert_eq!(sup.handle(Event::Timer(Timer::Restart), at - s(1)), vec![]);
        assert_eq!(
            sup.handle(Event::Timer(Timer::Restart), at),
            vec![Action::Spawn]
        );
        t = at;
    }
    // A delay shorter than the drain: restart at once when drained.
    let mut sup = Supervisor::new(Settings {
        restart: restart::Policy {
            mode: Mode::Always,
            initial: Duration::from_millis(50),
            ..restart::Policy::default()
        },
        ..settings(Mode::Always)
    });
    sup.start();
    spawned(&mut sup, PID, t0);
    assert_eq!(ends(&mut sup, PID, 0, t0), vec![Action::Spawn]);
    spawned(&mut sup, PID + 1, t0);
    sup.handle(exited(PID + 1, 0), t0);
    assert_eq!(
        sup.handle(Event::GroupEmpty, t0 + s(1)),
        vec![Action::Spawn]
    );
}

#[test]
fn a_stop_signal_during_the_backoff_exits_at_once_with_the_last_status() {
    let t0 = Instant::now();
    for stop in [libc::SIGTERM, libc::SIGINT, libc::SIGQUIT] {
        let mut sup = Supervisor::new(settings(Mode::Always));
        sup.start();
        spawned(&mut sup, PID, t0);
        assert_eq!(ends(&mut sup, PID, 7, t0), vec![Action::Spawn]);
        spawned(&mut sup, PID + 1, t0);
        assert_eq!(ends(&mut sup, PID + 1, 9, t0), restart_at(t0 + s(10)));
        // Other signals wait for the next start (here: none comes).
        assert_eq!(sup.handle(Event::Signal(libc::SIGHUP), t0), vec![]);
        assert_eq!(sup.handle(Event::Signal(stop), t0), vec![Action::Exit(9)]);
        assert_eq!(sup.handle(Event::Timer(Timer::Restart), t0 + s(10)), vec![]);
    }
}

#[test]
fn a_stop_signal_while_the_command_runs_or_drains_means_no_restart() {
    let t0 = Instant::now();
    // While running: the command exits on SIGTERM; no restart even with `always`.
    let mut sup = Supervisor::new(settings(Mode::Always));
    sup.start();
    spawned(&mut sup, PID, t0);
    sup.handle(Event::Signal(libc::SIGTERM), t0);
    assert_eq!(ends(&mut sup, PID, 143, t0), vec![Action::Exit(143)]);
    // While draining the group after a crash.
    let mut sup = Supervisor::new(settings(Mode::Always));
    sup.start();
    spawned(&mut sup, PID, t0);
    sup.handle(exited(PID, 1), t0);
    sup.handle(Event::Signal(libc::SIGINT), t0);
    assert_eq!(sup.handle(Event::GroupEmpty, t0), vec![Action::Exit(1)]);
}

fn liveness_settings() -> Settings {
    let timing = Timing {
        initial_delay: Duration::ZERO,
        period: s(1),
        success_threshold: 1,
        failure_threshold: 2,
    };
    Settings {
        probes: PerProbe::from_fn(|k| (k == ProbeKind::Liveness).then_some(timing)),
        ..settings(Mode::OnFailure)
    }
}

fn failure() -> Event {
    Event::ProbeDone {
        probe: ProbeKind::Liveness,
        outcome: Outcome {
            success: false,
            warning: false,
            message: "HTTP probe failed with statuscode: 500".into(),
            target: "GET http://10.0.0.5:8000/".into(),
            output: String::new(),
            duration: Duration::from_millis(1),
            net: None,
            cannot_run: None,
        },
    }
}

/// Runs liveness attempt `n` (1-based, one per second from `t`) to a failure.
fn failed_attempt(sup: &mut Supervisor, t: Instant, n: u64) -> Vec<Action> {
    let at = t + s(n - 1);
    let got = sup.handle(Event::Timer(Timer::ProbeTick(ProbeKind::Liveness)), at);
    assert!(
        got.contains(&Action::StartProbe(ProbeKind::Liveness)),
        "attempt {n}: {got:?}"
    );
    sup.handle(failure(), at)
}

#[test]
fn a_probe_kill_restarts_with_fresh_probe_state() {
    let t0 = Instant::now();
    let mut sup = Supervisor::new(liveness_settings());
    sup.start();
    spawned(&mut sup, PID, t0);
    failed_attempt(&mut sup, t0, 1);
    let got = failed_attempt(&mut sup, t0, 2);
    assert!(got.contains(&Action::Send {
        target: Target::Group(PID),
        signal: libc::SIGTERM
    }));
    assert!(matches!(
        sup.phase(),
        Phase::Stopping {
            by: StopBy::Check(Check::Probe(ProbeKind::Liveness)),
            ..
        }
    ));
    // The app exits 0 on SIGTERM: still a probe kill, so on-failure restarts.
    let t1 = t0 + s(2);
    assert_eq!(ends(&mut sup, PID, 0, t1), vec![Action::Spawn]);
    spawned(&mut sup, PID + 1, t1);
    assert_eq!(sup.phase(), &Phase::Running { pid: PID + 1 });
    let p = sup.probe(ProbeKind::Liveness).unwrap();
    assert_eq!(
        (p.attempts, p.run(), p.result),
        (0, 0, ProbeResult::Success)
    );
    // One failure of the new start is 1/2: not a kill.
    let got = failed_attempt(&mut sup, t1, 1);
    assert!(
        !got.iter().any(|a| matches!(a, Action::Send { .. })),
        "{got:?}"
    );
}

#[test]
fn sigterm_during_a_probe_kill_grace_means_no_restart() {
    let t0 = Instant::now();
    let mut sup = Supervisor::new(Settings {
        restart: restart::Policy {
            mode: Mode::Always,
            ..restart::Policy::default()
        },
        ..liveness_settings()
    });
    sup.start();
    spawned(&mut sup, PID, t0);
    failed_attempt(&mut sup, t0, 1);
    failed_attempt(&mut sup, t0, 2);
    sup.handle(Event::Signal(libc::SIGTERM), t0 + s(2));
    let status = exit_status::code::PROBE_FAILED;
    assert_eq!(
        ends(&mut sup, PID, 0, t0 + s(3)),
        vec![Action::Exit(status)]
    );
}

#[test]
fn max_restarts_exits_with_the_last_status() {
    let t0 = Instant::now();
    let mut sup = Supervisor::new(Settings {
        restart: restart::Policy {
            mode: Mode::Always,
            initial: Duration::ZERO,
            max_restarts: Some(2),
            ..restart::Policy::default()
        },
        ..settings(Mode::Always)
    });
    sup.start();
    for (i, code) in [4, 5].into_iter().enumerate() {
        let pid = PID + i as i32;
        spawned(&mut sup, pid, t0);
        assert_eq!(ends(&mut sup, pid, code, t0), vec![Action::Spawn]);
    }
    spawned(&mut sup, PID + 9, t0);
    assert_eq!(ends(&mut sup, PID + 9, 6, t0), vec![Action::Exit(6)]);
}

#[test]
fn signals_during_the_backoff_reach_the_next_start() {
    let t0 = Instant::now();
    let mut sup = Supervisor::new(settings(Mode::Always));
    sup.start();
    spawned(&mut sup, PID, t0);
    assert_eq!(ends(&mut sup, PID, 1, t0), vec![Action::Spawn]);
    spawned(&mut sup, PID + 1, t0);
    assert_eq!(ends(&mut sup, PID + 1, 1, t0), restart_at(t0 + s(10)));
    for sig in [libc::SIGHUP, libc::SIGUSR1, libc::SIGHUP] {
        assert_eq!(sup.handle(Event::Signal(sig), t0), vec![]);
    }
    assert_eq!(
        sup.handle(Event::Timer(Timer::Restart), t0 + s(10)),
        vec![Action::Spawn]
    );
    let send = |signal| Action::Send {
        target: Target::Process(PID + 2),
        signal,
    };
    assert_eq!(
        sup.handle(Event::Spawned { pid: PID + 2 }, t0 + s(10)),
        vec![send(libc::SIGHUP), send(libc::SIGUSR1)]
    );
}

#[test]
fn a_failed_fork_is_a_failed_start_under_a_restart_policy() {
    let t0 = Instant::now();
    let internal = exit_status::code::INTERNAL;
    // never: exit at once, as before.
    let mut sup = Supervisor::new(settings(Mode::Never));
    sup.start();
    assert_eq!(
        sup.handle(Event::SpawnFailed { why: "fork failed" }, t0),
        vec![Action::Exit(internal)]
    );
    // on-failure: backed off like any failed start, then given up on.
    let mut sup = Supervisor::new(Settings {
        restart: restart::Policy {
            mode: Mode::OnFailure,
            max_restarts: Some(2),
            ..restart::Policy::default()
        },
        ..settings(Mode::OnFailure)
    });
    sup.start();
    assert_eq!(
        sup.handle(Event::SpawnFailed { why: "fork failed" }, t0),
        vec![Action::Spawn]
    );
    assert_eq!(
        sup.handle(Event::SpawnFailed { why: "fork failed" }, t0),
        restart_at(t0 + s(10))
    );
    assert_eq!(
        sup.handle(Event::Timer(Timer::Restart), t0 + s(10)),
        vec![Action::Spawn]
    );
    assert_eq!(
        sup.handle(Event::SpawnFailed { why: "fork failed" }, t0 + s(10)),
        vec![Action::Exit(internal)]
    );
}

#[test]
fn a_failed_start_is_named_by_its_step() {
    // A start can fail before clone (the children's stack cannot be
    // mapped): the notice names that step, not fork.
    let t0 = Instant::now();
    for why in ["fork failed", "cannot map the child's stack"] {
        let mut sup = Supervisor::new(settings(Mode::OnFailure));
        sup.start();
        let out = sup.step(Event::SpawnFailed { why }, t0);
        assert_eq!(out.actions, vec![Action::Spawn], "{why}");
        assert_eq!(
            out.changes,
            vec![Change::Restarting {
                delay: Duration::ZERO,
                attempt: 1,
                why: why.into(),
            }]
        );
    }
}

#[test]
fn restart_notices_are_limited_per_window_with_one_summary() {
    use super::restarts::{NoticeLimit, NOTICES_PER_WINDOW, NOTICE_WINDOW};
    let t0 = Instant::now();
    let mut n = NoticeLimit::new(t0);
    let mut out = Vec::new();
    // A crash loop: 1,000 restarts in one second.
    let shown = (0..1000)
        .filter(|i| n.allow(t0 + Duration::from_millis(*i), &mut out))
        .count();
    assert_eq!(shown, NOTICES_PER_WINDOW as usize);
    // One summary is armed, at the window's end, however many were held back.
    assert_eq!(
        out,
        vec![Action::Arm {
            timer: Timer::NoticeSummary,
            at: t0 + NOTICE_WINDOW
        }]
    );
    // The summary starts a new window: notices are shown again.
    n.summarize(t0 + NOTICE_WINDOW);
    out.clear();
    assert!(n.allow(t0 + NOTICE_WINDOW, &mut out) && out.is_empty());
    // A slow loop (one restart per window) is never limited.
    let mut n = NoticeLimit::new(t0);
    assert!((0..100).all(|i| n.allow(t0 + NOTICE_WINDOW * i, &mut out)));
    assert!(out.is_empty());
}

/// A supervisor restarting always, with no delay: a crash loop.
fn zero_backoff_loop() -> Supervisor {
    let mut s = settings(Mode::Always);
    s.restart.initial = Duration::ZERO;
    s.restart.max = Duration::ZERO;
    let mut sup = Supervisor::new(s);
    sup.start();
    sup
}

#[test]
fn a_zero_backoff_crash_loop_arms_one_notice_summary() {
    let t0 = Instant::now();
    let mut sup = zero_backoff_loop();
    let mut summaries = 0;
    for i in 0..100u32 {
        let pid = PID + i as i32;
        let t = t0 + Duration::from_millis(u64::from(i));
        spawned(&mut sup, pid, t);
        sup.handle(exited(pid, 1), t);
        let got = sup.handle(Event::GroupEmpty, t);
        summaries += got
            .iter()
            .filter(|a| {
                matches!(
                    a,
                    Action::Arm {
                        timer: Timer::NoticeSummary,
                        ..
                    }
                )
            })
            .count();
        assert!(got.contains(&Action::Spawn), "{i}: {got:?}");
    }
    assert_eq!(summaries, 1);
}

#[test]
fn restart_notices_held_back_are_summed_up_when_vigil_exits() {
    // A crash loop stopped within its first 10 s window: the count of the
    // hidden restarts used to be lost.
    let t0 = Instant::now();
    let mut sup = zero_backoff_loop();
    for i in 0..25u32 {
        let pid = PID + i as i32;
        spawned(&mut sup, pid, t0);
        sup.handle(exited(pid, 1), t0);
        sup.handle(Event::GroupEmpty, t0);
    }
    let pid = PID + 25;
    spawned(&mut sup, pid, t0);
    sup.handle(Event::Signal(libc::SIGTERM), t0);
    sup.handle(exited(pid, 0), t0);
    let out = sup.step(Event::GroupEmpty, t0);
    assert_eq!(out.actions, vec![Action::Exit(0)]);
    assert!(
        matches!(
            out.changes.as_slice(),
            [Change::RestartsSummarized { count: 15, .. }]
        ),
        "{:?}",
        out.changes
    );
}
