//! http_get probes end to end against the test app: every failure cause, the
//! hostile servers, redirects and headers. Each failure case runs a liveness
//! probe with failure_threshold 1 behind a startup check that waits for the
//! app's port, so vigil stops the command and exits 3 with the cause logged.

mod support;
use support::probes::*;

const STARTUP_TCP: &str =
    r#"{"tcp_socket": {"port": PORT}, "period_seconds": 0.05, "failure_threshold": 200}"#;

fn startup(port: u16) -> String {
    STARTUP_TCP.replace("PORT", &port.to_string())
}

/// Runs a liveness probe that fails at once against `rules`; returns the run.
fn failing_liveness(tag: &str, rules: &str, path: &str) -> Run {
    let dir = support::TempDir::new(tag);
    std::fs::write(dir.path("control"), rules).unwrap();
    let port = free_port();
    let live = http_probe(port, path, r#", "failure_threshold": 1"#);
    let mut run = Run::start_in(
        dir,
        port,
        &["-v", "--startup", &startup(port), "--liveness", &live],
        &[],
    );
    assert_eq!(run.exit_code(), 3, "{}", run.log());
    run
}

#[test]
fn every_failure_cause_is_named_in_the_log() {
    let table = [
        (
            "* status 500",
            "liveness probe failed (1/1)",
            "HTTP probe failed with statuscode: 500",
        ),
        (
            "* status 404",
            "(GET http://",
            "HTTP probe failed with statuscode: 404",
        ),
        (
            // The start of the body the app answered, so the log says why.
            "* status 503",
            "HTTP probe failed with statuscode: 503 (GET http://",
            r#"/); body: "status 503""#,
        ),
        (
            "* hang",
            "",
            "timeout after 500ms (while awaiting the response)",
        ),
        (
            "* slow-body",
            "",
            "timeout after 500ms (while awaiting the response)",
        ),
        (
            "* close-mid",
            "",
            "connection closed mid-response (in the headers)",
        ),
        (
            "* headers-forever",
            "",
            "malformed HTTP response: too many headers",
        ),
        ("* garbage", "", "malformed HTTP response"),
        (
            "/ redirect /down\n/down status 503",
            "",
            "HTTP probe failed with statuscode: 503",
        ),
        (
            // A loop: the first request and ten followed redirects, then Go's
            // client (the kubelet's) gives up, and so does vigil.
            "/ redirect /",
            "",
            "HTTP probe failed: stopped after 10 redirects",
        ),
    ];
    for (rules, also, cause) in table {
        let run = failing_liveness("http-fail", rules, "/");
        let log = run.log();
        assert!(log.contains(cause), "{rules:?}: no {cause:?} in\n{log}");
        assert!(log.contains(also), "{rules:?}: no {also:?} in\n{log}");
        assert!(
            log.contains("liveness probe failed 1 time in a row: stopping the command"),
            "{rules:?}\n{log}"
        );
    }
}

#[test]
fn connection_refused() {
    // The startup check would wait for the port: use none, and an app that
    // binds only after a long model load.
    let port = free_port();
    let live = http_probe(port, "/", r#", "failure_threshold": 2"#);
    let mut run = Run::start_in(
        support::TempDir::new("refused"),
        port,
        &["--liveness", &live],
        &["--start-delay", "60"],
    );
    assert_eq!(run.exit_code(), 3, "{}", run.log());
    let log = run.log();
    assert!(
        log.contains("liveness probe failed (1/2)") && log.contains("liveness probe failed (2/2)"),
        "{log}"
    );
    assert!(log.contains("connection refused"), "{log}");
}

#[test]
fn huge_bodies_redirects_and_statuses_that_succeed() {
    let table = [
        ("", "HTTP probe succeeded with statuscode: 200"),
        ("* huge-body", "HTTP probe succeeded with statuscode: 200"),
        ("* status 204", "HTTP probe succeeded with statuscode: 204"),
        (
            "/ redirect /a\n/a redirect /b\n/b status 200",
            "HTTP probe succeeded with statuscode: 200",
        ),
        (
            "/ redirect http://203.0.113.9:8000/x 301",
            "redirect it did not follow (statuscode: 301",
        ),
        (
            // Go follows 301, 302, 303, 307 and 308 only.
            "/ redirect /a 300\n/a status 500",
            "redirect it did not follow (statuscode: 300, Location: /a)",
        ),
        (
            "/ status 302",
            "redirect it did not follow (statuscode: 302, Location: none)",
        ),
        (
            // A C1 control (CSI) in the Location, as UTF-8: escaped.
            "/ redirect http://ev\u{9b}2Jil.example/x 302",
            "redirect it did not follow (statuscode: 302, Location: http://ev\\u{9b}2Jil.example/x)",
        ),
    ];
    for (rules, message) in table {
        let dir = support::TempDir::new("http-ok");
        std::fs::write(dir.path("control"), rules).unwrap();
        let port = free_port();
        let ready = http_probe(port, "/", "");
        let mut run = Run::start_in(
            dir,
            port,
            &["-vvv", "--readiness", &ready],
            &["--term-exit", "0"],
        );
        run.wait_log("readiness: ready");
        let log = run.log();
        // An unfollowed redirect is a success the kubelet warns about.
        if message.contains("did not follow") {
            let line = log
                .lines()
                .find(|l| l.contains(message))
                .unwrap_or_default();
            assert!(
                line.contains("WARN ") && line.contains("probe succeeded with a warning"),
                "{line}"
            );
        }
        assert!(
            log.contains(message),
            "{rules:?}: no {message:?} in\n{}",
            run.log()
        );
        run.term();
        assert_eq!(run.exit_code(), 0, "{}", run.log());
        if rules.contains("/a redirect /b") {
            let req = run.requests();
            assert!(
                req.contains("GET /a HTTP/1.1") && req.contains("GET /b HTTP/1.1"),
                "{req}"
            );
        }
    }
}

#[test]
fn request_headers_are_the_kubelets_and_the_users() {
    let port = free_port();
    let ready = format!(
        r#"{{"http_get": {{"path": "/healthz?x=1", "port": {port}, "http_headers": [{{"name": "X-Probe", "value": "yes"}}, {{"name": "Accept", "value": ""}}]}}, "period_seconds": 0.1}}"#
    );
    let mut run = Run::start_in(
        support::TempDir::new("headers"),
        port,
        &["-v", "--readiness", &ready],
        &["--term-exit", "0"],
    );
    run.wait_log("readiness: ready");
    let req = run.requests();
    let first = req.split("\r\n\r\n").next().unwrap();
    assert!(
        first.starts_with("GET /healthz?x=1 HTTP/1.1\r\n"),
        "{first}"
    );
    for want in [
        "User-Agent: kube-probe/1.31",
        "X-Probe: yes",
        "Connection: close",
        &format!(":{port}\r\n"),
    ] {
        assert!(first.contains(want), "no {want:?} in {first}");
    }
    assert!(first.lines().any(|l| l.starts_with("Host: ")), "{first}");
    assert!(
        !first.contains("Accept:"),
        "an empty Accept removes the header: {first}"
    );
    run.term();
    assert_eq!(run.exit_code(), 0);
}

#[test]
fn a_hanging_server_slows_nothing_else() {
    // Liveness hangs until its timeout while readiness keeps answering and a
    // SIGTERM is handled at once: the loop never waits on a probe.
    let dir = support::TempDir::new("hang");
    std::fs::write(dir.path("control"), "/live hang\n").unwrap();
    let port = free_port();
    let live = r#"{"http_get": {"path": "/live", "port": PORT}, "period_seconds": 1, "timeout_seconds": 1, "failure_threshold": 100}"#
        .replace("PORT", &port.to_string());
    let ready = http_probe(port, "/ready", "");
    let mut run = Run::start_in(
        dir,
        port,
        &["-vv", "--liveness", &live, "--readiness", &ready],
        &["--term-exit", "0"],
    );
    run.wait_log("readiness: ready");
    run.wait_log("liveness probe failed (1/100)");
    run.term();
    assert_eq!(run.exit_code(), 0, "{}", run.log());
}
