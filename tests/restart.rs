//! The restart policy end to end: crash loops with growing delays, the reset
//! after a long run, a liveness kill then a restart with fresh probe state,
//! SIGTERM during a long backoff, `--max-restarts`, and bad input.

mod support;
use support::probes::*;
use support::*;

/// The log lines of a vigil run that contain `needle`.
fn lines_with<'a>(log: &'a str, needle: &str) -> Vec<&'a str> {
    log.lines().filter(|l| l.contains(needle)).collect()
}

/// The `restarting ...` log lines, from "restarting" on.
fn restarts(log: &str) -> Vec<String> {
    lines_with(log, "restarting ")
        .iter()
        .map(|l| l[l.find("restarting ").unwrap()..].to_string())
        .collect()
}

/// Milliseconds since midnight of a log line's `[2026-...T01:02:03.456Z` stamp.
fn stamp_ms(line: &str) -> u64 {
    let t = &line[line.find('T').unwrap() + 1..line.find('Z').unwrap()];
    let (hms, ms) = t.split_once('.').unwrap();
    let mut parts = hms.split(':').map(|p| p.parse::<u64>().unwrap());
    let (h, m, s) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    ((h * 60 + m) * 60 + s) * 1000 + ms.parse::<u64>().unwrap()
}

#[test]
fn a_crash_loop_backs_off_then_gives_up_with_the_last_status() {
    let app = testapp_str();
    let o = vigil_run(&[
        "-vv",
        "--restart",
        "on-failure",
        "--backoff-initial",
        "50ms",
        "--backoff-max",
        "200ms",
        "--max-restarts",
        "5",
        "--",
        &app,
        "exit",
        "3",
    ]);
    let log = stderr(&o);
    assert_eq!(code(&o), 3, "{log}");
    assert_eq!(
        restarts(&log),
        [
            "restarting now (attempt 1, exit status 3)",
            "restarting in 50ms (attempt 2, exit status 3)",
            "restarting in 100ms (attempt 3, exit status 3)",
            "restarting in 200ms (attempt 4, exit status 3)",
            "restarting in 200ms (attempt 5, exit status 3)",
        ],
        "{log}"
    );
    assert!(
        log.contains(
            "giving up: the command was restarted 5 times (--max-restarts); exiting with status 3"
        ),
        "{log}"
    );
    // Six starts, and each waited at least its delay after the previous exit.
    let spawns = lines_with(&log, "spawned ");
    let ends = lines_with(&log, "ended: exited with status 3");
    assert_eq!((spawns.len(), ends.len()), (6, 6), "{log}");
    for (i, min) in [0, 50, 100, 200, 200].into_iter().enumerate() {
        let waited = stamp_ms(spawns[i + 1]) - stamp_ms(ends[i]);
        assert!(
            waited + 1 >= min,
            "restart {}: {waited} ms < {min} ms\n{log}",
            i + 1
        );
    }
}

#[test]
fn always_restarts_a_clean_exit_and_on_failure_does_not() {
    let app = testapp_str();
    let o = vigil_run(&[
        "--restart",
        "always",
        "--max-restarts",
        "2",
        "--backoff-initial",
        "0",
        "--",
        &app,
        "exit",
        "0",
    ]);
    assert_eq!(code(&o), 0);
    assert_eq!(restarts(&stderr(&o)).len(), 2, "{}", stderr(&o));
    let o = vigil_run(&["--restart", "on-failure", "--", &app, "exit", "0"]);
    assert_eq!(code(&o), 0);
    assert_eq!(restarts(&stderr(&o)).len(), 0, "{}", stderr(&o));
    // Death by a signal is a failure.
    let o = vigil_run(&[
        "--restart",
        "on-failure",
        "--max-restarts",
        "1",
        "--",
        &app,
        "die",
        "KILL",
    ]);
    assert_eq!(code(&o), 137);
    assert_eq!(
        restarts(&stderr(&o)),
        ["restarting now (attempt 1, signal SIGKILL)"],
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_run_longer_than_the_reset_window_starts_a_fresh_sequence() {
    // Starts 1-3 fail at once; start 4 runs 600 ms (longer than the 300 ms
    // window) and fails; its restart is immediate again.
    let dir = TempDir::new("reset");
    let count = dir.path("count");
    let script = format!(
        "n=$(cat {c} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {c}; \
         if [ $n -eq 4 ]; then {app} sleep 0.6; fi; exit 1",
        c = count.display(),
        app = testapp_str()
    );
    let o = vigil_run(&[
        "--restart",
        "on-failure",
        "--backoff-initial",
        "20ms",
        "--backoff-reset",
        "300ms",
        "--max-restarts",
        "5",
        "--",
        "/bin/sh",
        "-c",
        &script,
    ]);
    let log = stderr(&o);
    assert_eq!(code(&o), 1, "{log}");
    let delays: Vec<String> = restarts(&log)
        .iter()
        .map(|l| l.split(" (").next().unwrap().to_string())
        .collect();
    assert_eq!(
        delays,
        [
            "restarting now",
            "restarting in 20ms",
            "restarting in 40ms",
            "restarting now",
            "restarting in 20ms"
        ],
        "{log}"
    );
}

#[test]
fn a_liveness_kill_restarts_the_command_with_fresh_probe_state() {
    let dir = TempDir::new("restart-live");
    std::fs::write(dir.path("control"), "* status 500\n").unwrap();
    let port = free_port();
    let live = http_probe(port, "/", r#", "failure_threshold": 2"#);
    let startup = format!(
        r#"{{"tcp_socket": {{"port": {port}}}, "period_seconds": 0.05, "failure_threshold": 400}}"#
    );
    let mut run = Run::start_in(
        dir,
        port,
        &[
            "-v",
            "--restart",
            "on-failure",
            "--max-restarts",
            "1",
            "--startup",
            &startup,
            "--liveness",
            &live,
        ],
        &["--term-exit", "0"],
    );
    assert_eq!(run.exit_code(), 3, "{}", run.log());
    let log = run.log();
    assert_eq!(
        restarts(&log),
        ["restarting now (attempt 1, liveness probe failed)"],
        "{log}"
    );
    // Each start counts its own failures from zero: 1/2, 2/2, then 1/2, 2/2.
    let counts: Vec<&str> = lines_with(&log, "liveness probe failed (")
        .iter()
        .map(|l| {
            let at = l.find("failed (").unwrap() + "failed ".len();
            &l[at..at + 5]
        })
        .collect();
    assert_eq!(counts, ["(1/2)", "(2/2)", "(1/2)", "(2/2)"], "{log}");
    let lines: Vec<&str> = log.lines().collect();
    let first = |n: &str| lines.iter().position(|l| l.contains(n)).unwrap();
    let last = |n: &str| lines.iter().rposition(|l| l.contains(n)).unwrap();
    let p = [
        first("liveness probe failed 2 times"),
        first("restarting now"),
        last("startup: succeeded"),
        last("(1/2)"),
    ];
    assert!(p[0] < p[1] && p[1] < p[2] && p[2] < p[3], "{log}");
}

#[test]
fn sigterm_during_a_long_backoff_exits_promptly_with_the_last_status() {
    let app = testapp_str();
    let dir = TempDir::new("restart-term");
    let log = std::fs::File::create(dir.path("log")).unwrap();
    let mut vigil = std::process::Command::new(vigil())
        .args([
            "--restart",
            "always",
            "--backoff-initial",
            "1h",
            "--backoff-max",
            "1h",
            "--",
            &app,
            "exit",
            "9",
        ])
        .stdin(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let read = || std::fs::read_to_string(dir.path("log")).unwrap_or_default();
    wait_until("the one-hour backoff", || {
        read().contains("restarting in 3600s (attempt 2, exit status 9)")
    });
    send("TERM", vigil.id());
    // wait_exit's deadline (seconds) is far below the hour left to wait.
    let status = wait_exit(&mut vigil);
    assert_eq!(status.code(), Some(9), "{}", read());
    assert!(
        read().contains(
            "SIGTERM received while waiting to restart the command: exiting with its last status 9"
        ),
        "{}",
        read()
    );
    assert_eq!(
        lines_with(&read(), "spawned").len(),
        0,
        "no -v: no spawn lines expected"
    );
}

#[test]
fn bad_restart_settings_exit_1_and_start_nothing() {
    let dir = TempDir::new("restart-usage");
    let marker = dir.path("started");
    let m = marker.to_str().unwrap();
    // (flags, environment, the error)
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let table: &[Case] = &[
        (
            &["--restart", "sometimes"],
            &[],
            "--restart: unknown restart policy 'sometimes': expected always, on-failure or never",
        ),
        (
            &["--backoff-initial", "-1"],
            &[],
            "--backoff-initial: invalid duration '-1': negative",
        ),
        (
            &["--backoff-max", "soon"],
            &[],
            "--backoff-max: invalid duration 'soon'",
        ),
        (
            &["--backoff-reset", "5 parsecs"],
            &[],
            "--backoff-reset: invalid duration '5 parsecs'",
        ),
        (
            &["--max-restarts", "-3"],
            &[],
            "--max-restarts: invalid number of restarts '-3'",
        ),
        (
            &["--max-restarts", "many"],
            &[],
            "invalid number of restarts 'many'",
        ),
        (
            &[],
            &[("VIGIL_RESTART", "forever")],
            "VIGIL_RESTART: unknown restart policy 'forever'",
        ),
        (
            &[],
            &[("VIGIL_BACKOFF_INITIAL", "x")],
            "VIGIL_BACKOFF_INITIAL: invalid duration 'x'",
        ),
        (
            &[],
            &[("VIGIL_MAX_RESTARTS", "1.5")],
            "VIGIL_MAX_RESTARTS: invalid number of restarts '1.5'",
        ),
    ];
    for (args, env, want) in table {
        let mut cmd = std::process::Command::new(vigil());
        cmd.args(*args)
            .args(["--", "touch", m])
            .envs(env.iter().copied());
        let o = run(&mut cmd);
        assert_eq!(code(&o), 1, "{args:?} {env:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(want),
            "{args:?} {env:?}: {}",
            stderr(&o)
        );
        assert!(!marker.exists(), "{args:?} started the command");
    }
}

#[test]
fn initial_above_max_is_clamped_with_a_warning() {
    let app = testapp_str();
    let o = vigil_run(&[
        "--restart",
        "always",
        "--backoff-initial",
        "90ms",
        "--backoff-max",
        "30ms",
        "--max-restarts",
        "3",
        "--",
        &app,
        "exit",
        "4",
    ]);
    let log = stderr(&o);
    assert_eq!(code(&o), 4, "{log}");
    assert!(log.contains("the initial restart delay (90ms) is longer than the maximum (30ms): using 30ms for both"), "{log}");
    let delays: Vec<String> = restarts(&log)
        .iter()
        .map(|l| l.split(" (").next().unwrap().to_string())
        .collect();
    assert_eq!(
        delays,
        ["restarting now", "restarting in 30ms", "restarting in 30ms"],
        "{log}"
    );
}

#[test]
fn environment_sets_the_policy_and_flags_override_it() {
    let app = testapp_str();
    let mut cmd = std::process::Command::new(vigil());
    cmd.args(["--max-restarts", "1", "--", &app, "exit", "2"])
        .envs([
            ("VIGIL_RESTART", "on-failure"),
            ("VIGIL_MAX_RESTARTS", "7"),
            ("VIGIL_BACKOFF_INITIAL", "0"),
        ]);
    let o = run(&mut cmd);
    assert_eq!(code(&o), 2);
    assert_eq!(
        restarts(&stderr(&o)),
        ["restarting now (attempt 1, exit status 2)"],
        "{}",
        stderr(&o)
    );
}
