//! Probe scheduling and state end to end: the EAS example config through
//! healthy, failing and recovering phases; readiness flips; startup gating
//! and failure; SIGTERM; overlapping ticks.

mod support;
use support::probes::*;

fn fixture() -> String {
    format!(
        "{}/tests/fixtures/config/eas-health-check.json",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// Positions of `needles` in the log, in order; panics if one is missing.
fn positions(run: &Run, needles: &[&str]) -> Vec<usize> {
    needles
        .iter()
        .map(|n| {
            run.line_of(n)
                .unwrap_or_else(|| panic!("no {n:?} in\n{}", run.log()))
        })
        .collect()
}

#[test]
fn eas_example_config_healthy_failing_recovering_then_killed() {
    // The EAS documentation's example as is: liveness GET / on port 8000,
    // initial delay 3 s, period 3 s, success threshold 2, failure threshold 4.
    let dir = support::TempDir::new("eas");
    let mut run = Run::start_in(
        dir,
        8000,
        &["-vvv", "--config", &fixture()],
        &["--term-exit", "0"],
    );
    run.wait_log("success_threshold"); // the EAS example's liveness success_threshold 2: a warning
    run.wait_log("liveness probe succeeded (1/2)");
    run.control("* status 500");
    run.wait_log("liveness probe failed (2/4)");
    let successes = |run: &Run| run.log().matches("liveness probe succeeded").count();
    let before = successes(&run);
    run.control("");
    support::wait_until("a recovered attempt", || successes(&run) > before);
    run.control("* status 500");
    assert_eq!(
        run.exit_code(),
        3,
        "a liveness kill exits 3 even though the app exits 0 on SIGTERM"
    );
    let log = run.log();
    let failures: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("liveness probe failed ("))
        .collect();
    let runs: Vec<&str> = failures
        .iter()
        .map(|l| {
            let at = l.find("failed (").unwrap() + "failed ".len();
            &l[at..at + l[at..].find(')').unwrap() + 1]
        })
        .collect();
    assert_eq!(
        runs,
        ["(1/4)", "(2/4)", "(1/4)", "(2/4)", "(3/4)", "(4/4)"],
        "{log}"
    );
    let p = positions(
        &run,
        &[
            "liveness probe failed 4 times in a row: stopping the command",
            "ended: exited with status 0",
        ],
    );
    assert!(p[0] < p[1], "{log}");
    assert!(
        log.contains("HTTP probe failed with statuscode: 500 (GET http://"),
        "{log}"
    );
}

#[test]
fn readiness_flips_on_consecutive_outcomes() {
    let port = free_port();
    let ready = http_probe(
        port,
        "/",
        r#", "success_threshold": 2, "failure_threshold": 2"#,
    );
    let mut run = Run::start_in(
        support::TempDir::new("ready-flip"),
        port,
        &["-vv", "--readiness", &ready],
        &["--term-exit", "0"],
    );
    run.wait_log("readiness: ready");
    run.control("* status 503");
    run.wait_log("readiness: not ready");
    run.control("");
    let n = || run.log().matches("readiness: ready").count();
    support::wait_until("ready again", || n() == 2);
    run.term();
    assert_eq!(run.exit_code(), 0);
    let log = run.log();
    let flips: Vec<&str> = log
        .lines()
        .filter_map(|l| l.split("] ").nth(1))
        .filter(|m| *m == "ready" || *m == "not ready")
        .collect();
    assert_eq!(flips, ["ready", "not ready", "ready", "not ready"], "{log}");
    // Exactly one failure below the threshold before the flip, and never a flip on one 503.
    assert!(
        log.contains("readiness probe failed (1/2)")
            && log.contains("readiness probe failed (2/2)")
    );
}

#[test]
fn startup_gates_liveness_and_readiness() {
    let dir = support::TempDir::new("gate");
    std::fs::write(dir.path("control"), "/start status 500\n/live status 500\n").unwrap();
    let port = free_port();
    let startup = http_probe(port, "/start", r#", "failure_threshold": 1000"#);
    let live = http_probe(port, "/live", r#", "failure_threshold": 1"#);
    let ready = http_probe(port, "/ready", "");
    let mut run = Run::start_in(
        dir,
        port,
        &[
            "-vv",
            "--startup",
            &startup,
            "--liveness",
            &live,
            "--readiness",
            &ready,
        ],
        &[],
    );
    run.wait_log("startup probe failed (5/1000)");
    assert!(
        !run.log().contains("liveness probe"),
        "liveness ran before startup succeeded:\n{}",
        run.log()
    );
    assert!(
        !run.log().contains("readiness"),
        "readiness ran before startup succeeded:\n{}",
        run.log()
    );
    assert!(!run.requests().contains("GET /live"));
    run.control("/live status 500\n");
    assert_eq!(run.exit_code(), 3);
    let p = positions(
        &run,
        &[
            "startup: succeeded after",
            "liveness probe failed (1/1)",
            "liveness probe failed 1 time in a row",
        ],
    );
    assert!(p[0] < p[1] && p[1] < p[2], "{}", run.log());
}

#[test]
fn startup_failure_stops_the_command() {
    let port = free_port();
    let dir = support::TempDir::new("startup-fail");
    std::fs::write(dir.path("control"), "* status 500\n").unwrap();
    let startup = http_probe(port, "/", r#", "failure_threshold": 3"#);
    let mut run = Run::start_in(dir, port, &["--startup", &startup], &["--term-exit", "0"]);
    assert_eq!(run.exit_code(), 3);
    let log = run.log();
    assert!(log.contains("startup probe failed (3/3)"), "{log}");
    assert!(
        log.contains("startup probe failed 3 times in a row: stopping the command"),
        "{log}"
    );
}

#[test]
fn sigterm_makes_not_ready_at_once_and_stops_probing() {
    let port = free_port();
    let ready = http_probe(port, "/", "");
    let mut run = Run::start_in(
        support::TempDir::new("term"),
        port,
        &["-vvv", "--readiness", &ready],
        &["--term-exit", "7"],
    );
    run.wait_log("readiness: ready");
    run.term();
    assert_eq!(run.exit_code(), 7, "the command's own status");
    let p = positions(
        &run,
        &[
            "SIGTERM received",
            "not ready",
            "ended: exited with status 7",
        ],
    );
    assert!(p[0] < p[1] && p[1] < p[2], "{}", run.log());
    let after_term = run
        .log()
        .lines()
        .skip(p[0])
        .filter(|l| l.contains("probe succeeded"))
        .count();
    assert_eq!(
        after_term,
        0,
        "no probe attempt after SIGTERM:\n{}",
        run.log()
    );
}

#[test]
fn ticks_during_a_running_attempt_are_dropped() {
    let dir = support::TempDir::new("overlap");
    std::fs::write(dir.path("control"), "/slow hang\n").unwrap();
    let port = free_port();
    let ready = format!(
        r#"{{"http_get": {{"path": "/slow", "port": {port}}}, "period_seconds": 0.1, "timeout_seconds": 0.45, "failure_threshold": 100}}"#
    );
    let mut run = Run::start_in(
        dir,
        port,
        &["-vvv", "--readiness", &ready],
        &["--term-exit", "0"],
    );
    run.wait_log("readiness probe failed (2/100)");
    run.term();
    assert_eq!(run.exit_code(), 0);
    let log = run.log();
    assert!(
        log.contains("readiness probe: the previous attempt still runs; this tick is dropped"),
        "{log}"
    );
    // Never two requests at once: at most one request per attempt was made.
    let requests = run.requests().matches("GET /slow").count();
    let attempts = log.matches("readiness probe failed (").count();
    assert!(
        requests <= attempts + 1,
        "{requests} requests for {attempts} attempts"
    );
}
