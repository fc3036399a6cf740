//! Diagnosis of failed http_get (and tcp_socket) probes from what the app
//! answered, the protocol its port speaks and where the time of an attempt
//! went, each with a real process making the mistake (the test app, or a
//! Python `http.server`): the exact line, said once.

mod support;

use std::process::{Command, Stdio};
use support::probes::{free_port, http_probe, Run};
use support::*;

/// The readiness diagnosis lines (after "readiness probe: "), every
/// duration (`0.2ms`, `1s`) masked as `T` and "the last N attempts" as N.
/// A first attempt before the app has bound its port is rightly diagnosed
/// as not listening yet: those lines are left out.
fn diagnoses(run: &Run) -> Vec<String> {
    run.log()
        .lines()
        .filter(|l| l.contains("NOTE  vigil") && !l.contains("nothing listens on port"))
        .filter_map(|l| l.split_once("] readiness probe: ").map(|(_, t)| masked(t)))
        .collect()
}

fn masked(s: &str) -> String {
    let s = times_masked(s);
    match s.split_once("the last ") {
        Some((before, after)) => {
            let rest = after.trim_start_matches(|c: char| c.is_ascii_digit());
            format!("{before}the last N{rest}")
        }
        None => s,
    }
}

fn times_masked(s: &str) -> String {
    let mut out = String::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        while i < b.len() && (b[i].is_ascii_digit() || (b[i] == b'.' && i > start)) {
            i += 1;
        }
        let unit = if s[i..].starts_with("ms") {
            2
        } else if s[i..].starts_with('s') && !s[i + 1..].starts_with(|c: char| c.is_alphabetic()) {
            1
        } else {
            0
        };
        if i > start && unit > 0 {
            out.push('T');
            i += unit;
        } else if i > start {
            out.push_str(&s[start..i]);
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

fn failures(run: &Run) -> usize {
    run.log()
        .lines()
        .filter(|l| l.contains("readiness probe failed"))
        .count()
}

/// An http_get probe at `path` whose period leaves a one-off check room
/// between attempts (a check's request is sent only when no attempt is due
/// within its timeout_seconds).
fn roomy_probe(port: u16, path: &str) -> String {
    format!(
        r#"{{"http_get": {{"path": "{path}", "port": {port}}}, "period_seconds": 0.5, "timeout_seconds": 0.25}}"#
    )
}

/// The tests' usual probe: a period shorter than its timeout.
fn quick_probe(port: u16, path: &str) -> String {
    http_probe(port, path, "")
}

/// Runs the test app under vigil with a readiness http_get probe at `path`
/// (made by `probe`) and the app's `rules`; waits for `want` (masked) to be
/// said, then for more failures, and asserts it was said once and alone.
fn said_once(
    tag: &str,
    rules: &str,
    path: &str,
    probe: fn(u16, &str) -> String,
    want: &dyn Fn(&Run) -> String,
) -> Run {
    let dir = TempDir::new(tag);
    std::fs::write(dir.path("control"), rules).unwrap();
    let port = free_port();
    let probe = probe(port, path);
    let run = Run::start_in(dir, port, &["--readiness", &probe], &[]);
    let want = want(&run);
    let deadline = std::time::Instant::now() + DEADLINE;
    while !diagnoses(&run).contains(&want) {
        assert!(
            std::time::Instant::now() < deadline,
            "no diagnosis {want:?} in:\n{}",
            run.log()
        );
        std::thread::sleep(POLL); // poll interval; the deadline bounds the wait
    }
    let seen = failures(&run);
    wait_until("5 more failed attempts", || failures(&run) >= seen + 5);
    assert_eq!(diagnoses(&run), vec![want], "{}", run.log());
    run
}

/// How many requests for `path` the app received.
fn requests_for(run: &Run, path: &str) -> usize {
    let needle = format!("GET {path} HTTP/1.1");
    run.requests().lines().filter(|l| *l == needle).count()
}

/// `said_once` for a probe of /helth, which the app does not serve: the
/// 404's line, ending in what the one-off check found (`found`).
fn wrong_path(tag: &str, rules: &str, probe: fn(u16, &str) -> String, found: &str) -> Run {
    let want = format!(
        "the app answered GET /helth with 404 Not Found: the app serves no such path; {found}"
    );
    said_once(tag, rules, "/helth", probe, &|_: &Run| want.clone())
}

#[test]
fn a_wrong_path_is_named_with_the_health_path_that_answers() {
    let run = wrong_path(
        "diag-404",
        "/healthz status 200\n* status 404\n",
        roomy_probe,
        "GET /healthz answers 2xx on the same server: set the probe's path to /healthz",
    );
    // The one-off check asked each path once, up to the one that answered.
    assert_eq!(requests_for(&run, "/health"), 1, "{}", run.requests());
    assert_eq!(requests_for(&run, "/healthz"), 1, "{}", run.requests());
    assert_eq!(requests_for(&run, "/ready"), 0, "{}", run.requests());
    // Not counted as attempts: the probe is still at its first failure count.
    assert!(!run.log().contains("/healthz)"), "{}", run.log());
}

#[test]
fn a_wrong_method_without_a_health_path_is_named() {
    let run = said_once(
        "diag-405",
        "* status 405\n",
        "/predict",
        roomy_probe,
        &|_: &Run| {
            "the app answered GET /predict with 405 Method Not Allowed: the path exists but takes \
         another method than the GET probes send; none of /health, /healthz, /ready, /ping \
         answers 2xx either (tried once): set the probe's path to one the app serves to GET"
                .into()
        },
    );
    assert_eq!(requests_for(&run, "/ping"), 1, "{}", run.requests());
}

#[test]
fn a_health_path_behind_auth_is_named() {
    let dir = TempDir::new("diag-401");
    let answer = dir.path("answer");
    std::fs::write(
        &answer,
        "WWW-Authenticate: Basic realm=\"app\"\n\nunauthorized\n",
    )
    .unwrap();
    std::fs::write(
        dir.path("control"),
        format!("* answer 401 {}\n", answer.display()),
    )
    .unwrap();
    let port = free_port();
    let run = Run::start_in(
        dir,
        port,
        &["--readiness", &http_probe(port, "/health", "")],
        &[],
    );
    let want = "the app answered 401 with a WWW-Authenticate challenge to GET /health: the health \
                path sits behind authentication, and probes send no credentials: exempt the path \
                from auth (or give the probe an Authorization header in http_get.http_headers)";
    wait_until("the diagnosis", || {
        diagnoses(&run).iter().any(|d| d == want)
    });
    let seen = failures(&run);
    wait_until("5 more failed attempts", || failures(&run) >= seen + 5);
    assert_eq!(diagnoses(&run), vec![want.to_string()], "{}", run.log());
}

#[test]
fn an_app_that_rejects_the_pod_ip_as_host_is_named_with_the_header_to_set() {
    let run = said_once(
        "diag-host",
        "* host-only localhost\n",
        "/",
        roomy_probe,
        &|r: &Run| {
            let port = r.port;
            let ip = default_ip(r);
            format!(
                "the app answers GET / with 400 for Host: {ip}:{port} but 2xx for Host: \
                 localhost: it rejects the pod IP as Host (an allowed-hosts list such as Django's \
                 ALLOWED_HOSTS): allow the pod IP, or send a Host it accepts: \"http_headers\": \
                 [{{\"name\": \"Host\", \"value\": \"localhost\"}}] in the http_get"
            )
        },
    );
    let retried = run
        .requests()
        .lines()
        .filter(|l| *l == "Host: localhost")
        .count();
    assert_eq!(retried, 1, "{}", run.requests());
}

#[test]
fn a_health_path_that_gets_no_answer_is_not_called_a_non_2xx() {
    let run = wrong_path(
        "diag-noanswer",
        "/health close\n* status 404\n",
        roomy_probe,
        "of /health, /healthz, /ready, /ping, GET /health got no answer (connection closed \
         before any response), so which one the app serves is not known: set the probe's path \
         to one the app serves to GET",
    );
    // The check stopped at the request that got no answer.
    assert_eq!(requests_for(&run, "/health"), 1, "{}", run.requests());
    assert_eq!(requests_for(&run, "/healthz"), 0, "{}", run.requests());
}

#[test]
fn a_health_path_that_redirects_is_read_as_the_probe_reads_it() {
    // /health redirects off the host (an attempt would not follow: no 2xx),
    // /healthz to /live on the same server (followed: 2xx).
    let run = wrong_path(
        "diag-redirect",
        "/health redirect http://elsewhere.invalid/\n/healthz redirect /live\n\
         /live status 200\n* status 404\n",
        roomy_probe,
        "GET /healthz answers 2xx on the same server: set the probe's path to /healthz",
    );
    assert_eq!(requests_for(&run, "/live"), 1, "{}", run.requests());
    assert_eq!(requests_for(&run, "/ready"), 0, "{}", run.requests());
}

#[test]
fn a_check_the_probes_leave_no_room_for_is_not_tried() {
    // Attempts every 0.1s with a 0.5s timeout: a check's request would
    // share the app with an attempt, so none is sent.
    let run = wrong_path(
        "diag-noroom",
        "/healthz status 200\n* status 404\n",
        quick_probe,
        "/health, /healthz, /ready, /ping could not all be tried (the probes' attempts left the \
         check no time between them): set the probe's path to one the app serves to GET",
    );
    assert_eq!(requests_for(&run, "/health"), 0, "{}", run.requests());
    assert_eq!(requests_for(&run, "/healthz"), 0, "{}", run.requests());
}

/// A single-worker app (Python's http.server, one request at a time):
/// /helth is not served (404 at once), /ok answers 200 at once, and the
/// health paths take 0.35s each before they answer (a health route that
/// checks a database), /ping (the last tried) with 200.
const ONE_WORKER: &str = r#"
import sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        code = 200 if self.path == "/ok" else 404
        if self.path in ("/health", "/healthz", "/ready", "/ping"):
            print("ASKED", self.path, file=sys.stderr, flush=True)
            time.sleep(0.35)
            code = 200 if self.path == "/ping" else 404
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
HTTPServer(("0.0.0.0", int(sys.argv[1])), H).serve_forever()
"#;

#[test]
fn a_check_never_keeps_a_single_worker_from_another_probe() {
    // A one-request-at-a-time server. Liveness on /ok may wait 0.2 s; any
    // extra request of a check could hold the only worker past that (a slow
    // handler goes on after the check gives up on it), and liveness
    // (failure_threshold 1) would stop the app. Readiness's 404 goes to the
    // same server: no check is run, and the line says why.
    let port = free_port();
    let probe = |path: &str, delay: &str, timeout: &str| {
        format!(
            r#"{{"http_get": {{"path": "{path}", "port": {port}, "host": "127.0.0.1"}}, "initial_delay_seconds": {delay}, "period_seconds": 1, "timeout_seconds": {timeout}, "failure_threshold": 1}}"#
        )
    };
    let probes = [
        "--liveness",
        &probe("/ok", "0.5", "0.2"),
        "--readiness",
        &probe("/helth", "0.7", "0.45"),
    ];
    let run = python("diag-oneworker", &probes, ONE_WORKER, port);
    let want = "the app answered GET /helth with 404 Not Found: the app serves no such path; \
                /health, /healthz, /ready, /ping were not tried (the liveness probe goes to the \
                same server, and an extra request could keep a worker it needs): set the \
                probe's path to one the app serves to GET (the liveness probe's /ok, if it \
                passes)";
    wait_until("the diagnosis", || {
        diagnoses(&run).iter().any(|d| d == want) || run.log().contains("liveness probe failed")
    });
    // Two more readiness failures: liveness still never failed, and the
    // check's paths were never asked.
    let seen = failures(&run);
    wait_until("2 more failed readiness attempts", || {
        failures(&run) >= seen + 2
    });
    let log = run.log();
    assert!(!log.contains("liveness probe failed"), "{log}");
    assert!(diagnoses(&run).iter().any(|d| d == want), "{log}");
    assert!(!log.contains("ASKED /"), "a check's path was asked:\n{log}");
}

/// The address vigil probes by default, as its start-up line names it.
fn default_ip(run: &Run) -> String {
    run.wait_log("probes connect to ");
    let log = run.log();
    let (_, rest) = log
        .split_once("probes connect to ")
        .expect("the start-up line naming the default address");
    rest.split_whitespace().next().unwrap_or("").to_string()
}

#[test]
fn a_port_that_speaks_tls_is_named() {
    said_once("diag-tls", "* tls-alert\n", "/", quick_probe, &|r: &Run| {
        let port = r.port;
        format!(
            "port {port} answered the probe's plain HTTP request with a TLS alert (bytes 15 03): \
             the app serves HTTPS there, and http_get speaks plain HTTP (vigil does not probe \
             HTTPS): point the probe at a plain-HTTP port of the app, or check this port with \
             tcp_socket"
        )
    });
}

#[test]
fn a_port_that_closes_at_once_is_named() {
    said_once("diag-close", "* close\n", "/", quick_probe, &|r: &Run| {
        let port = r.port;
        format!(
            "the app accepted the probe's connection on port {port} (in T) and closed it \
             without sending a byte: it speaks another protocol on this port (gRPC, a database, \
             raw TCP), or its handler died on the request (Python's http.server closes the \
             connection on an uncaught exception: see the app's own log)"
        )
    });
}

#[test]
fn a_timeout_says_which_phase_used_the_time() {
    said_once("diag-hang", "* hang\n", "/", quick_probe, &|_: &Run| {
        "attempts time out: accepted but no worker answered: connected in T, request sent, \
             no first byte in T (every worker busy or blocked: a long request, a lock, a \
             single-threaded server at work); the last N attempts took p50 T, p95 T against \
             timeout_seconds T"
            .into()
    });
    said_once(
        "diag-slow",
        "* slow-body\n",
        "/",
        quick_probe,
        &|_: &Run| {
            "attempts time out: the answer started but did not end: first byte after T, no last \
             byte in T (a slow or endless body); the last N attempts took p50 T, p95 T against \
             timeout_seconds T"
                .into()
        },
    );
}

/// vigil with `probes` (its arguments) over a Python program, given the port.
fn python(tag: &str, probes: &[&str], script: &str, port: u16) -> Run {
    let dir = TempDir::new(tag);
    let log = std::fs::File::create(dir.path("log")).unwrap();
    let child = Command::new(vigil())
        .args(probes)
        .args(["--", "python3", "-c", script])
        .arg(port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .expect("spawn vigil");
    Run { child, dir, port }
}

/// A Python server whose `handle(request)` answers 200, or 500 with the
/// traceback of what it raised as the body.
fn traceback_server(handle: &str) -> String {
    let serve = r#"
import sys, traceback
from http.server import BaseHTTPRequestHandler, HTTPServer
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            handle(self)
            code, body = 200, b"ok"
        except Exception:
            code, body = 500, traceback.format_exc().encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
HTTPServer(("0.0.0.0", int(sys.argv[1])), H).serve_forever()
"#;
    format!("{handle}{serve}")
}

/// A handler that reads a JSON request body, as a model's predict route.
const JSON_HANDLER: &str = r#"
import json
def handle(request):
    n = int(request.headers.get("Content-Length", 0))
    json.loads(request.rfile.read(n))
"#;

/// A /predict probe of `traceback_server(handle)`: `want` is said, alone
/// and once over 5 more failures.
fn handler_said_once(tag: &str, handle: &str, want: &str) {
    let port = free_port();
    let probe = http_probe(port, "/predict", "");
    let run = python(
        tag,
        &["--readiness", &probe],
        &traceback_server(handle),
        port,
    );
    wait_until("the diagnosis", || {
        diagnoses(&run).iter().any(|d| d == want)
    });
    let seen = failures(&run);
    wait_until("5 more failed attempts", || failures(&run) >= seen + 5);
    assert_eq!(diagnoses(&run), vec![want.to_string()], "{}", run.log());
}

#[test]
fn a_handler_that_expects_a_json_body_is_named() {
    handler_said_once(
        "diag-json",
        JSON_HANDLER,
        "the app answered 500 to GET /predict with a JSON decoding error \
         (`json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)`): the \
         handler expects a request body, and probes send a GET with no body, no query and no \
         credentials: give the probe its own path that reads nothing (a /health route that \
         answers 200)",
    );
}

/// A handler whose error has a message of several lines and a note, raised
/// from another.
const RAISING_HANDLER: &str = r#"
def handle(request):
    try:
        return {}["prompt"]
    except KeyError as e:
        err = ValueError("invalid request:\nprompt: field required\n(see the API docs)")
        if hasattr(err, "add_note"):
            err.add_note("while reading the request")
        raise err from e
"#;

#[test]
fn a_handler_that_raises_is_named_by_its_exception_line() {
    // The exception raised (the chain's last), its first line: not the
    // rest of its message, nor its note.
    handler_said_once(
        "diag-raise",
        RAISING_HANDLER,
        "the app answered 500 to GET /predict with a Python traceback ending in `ValueError: \
         invalid request:`: the handler fails on the probe's request; probes send a GET with no \
         body, no query and no credentials: give the probe its own path that reads nothing (a \
         /health route that answers 200)",
    );
}

/// Listens with a backlog of one that it fills itself and never accepts:
/// the kernel drops further SYNs, so a connect does not complete.
const FULL_BACKLOG: &str = r#"
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(0)
held = []
for _ in range(2):
    c = socket.socket()
    c.setblocking(False)
    c.connect_ex(("127.0.0.1", int(sys.argv[1])))
    held.append(c)
time.sleep(3600)
"#;

#[test]
fn a_tcp_probe_whose_connect_never_completes_is_named() {
    let port = free_port();
    let probe = format!(
        r#"{{"tcp_socket": {{"port": {port}, "host": "127.0.0.1"}}, "period_seconds": 0.1, "timeout_seconds": 0.2}}"#
    );
    let run = python("diag-backlog", &["--readiness", &probe], FULL_BACKLOG, port);
    let want = format!(
        "attempts time out: no connection: the connect to 127.0.0.1:{port} did not complete in T \
         (the app listens but does not accept, its accept queue full; or packets are dropped); \
         the last N attempts took p50 T, p95 T against timeout_seconds T"
    );
    wait_until("the diagnosis", || diagnoses(&run).contains(&want));
    assert_eq!(diagnoses(&run).iter().filter(|d| **d == want).count(), 1);
}
