//! Diagnosis of failed network probes, with the real test app making the
//! mistake: one line naming the cause, its evidence and the fix, said once
//! per cause, in the log, `/events` and `/status`.

mod support;

use support::probes::{free_port, Run};
use support::*;

fn tcp_probe(port: u16, extra: &str) -> String {
    format!(
        r#"{{"tcp_socket": {{"port": {port}, "host": "127.0.0.1"}}, "period_seconds": 0.05, "timeout_seconds": 0.3{extra}}}"#
    )
}

fn lines_with(log: &str, needle: &str) -> usize {
    log.lines().filter(|l| l.contains(needle)).count()
}

#[test]
fn the_app_listening_on_another_port_is_named_with_the_fix() {
    let probe_port = free_port();
    let dir = TempDir::new("diag-port");
    let socket = dir.path("vigil.sock");
    // The app listens on its own port (Run's), the probe asks another.
    let mut run = Run::start_in(
        dir,
        free_port(),
        &[
            "--socket",
            socket.to_str().unwrap(),
            "--readiness",
            &tcp_probe(probe_port, ""),
        ],
        &[],
    );
    let want = format!(
        "readiness probe: nothing listens on port {probe_port}, but the command does: vigil-testapp (pid "
    );
    run.wait_log(&want);
    let app_port = run.port;
    run.wait_log(&format!(
        "on 0.0.0.0:{app_port}; set the probe's port (the `port` field) to {app_port}, or have the app listen on {probe_port}"
    ));
    // Many more failures, one line: the cause did not change.
    wait_until("10 failed attempts", || {
        lines_with(&run.log(), "readiness probe failed") >= 10
    });
    // (A first failure before the app has bound its port may say
    // not_listening_yet before: another cause.)
    assert_eq!(
        lines_with(&run.log(), "but the command does"),
        1,
        "{}",
        run.log()
    );
    // The socket carries it too.
    let status = curl_socket(&socket, "/status", "5");
    assert!(status.contains(r#""diagnosis":{"at":"#), "{status}");
    assert!(status.contains(r#""kind":"port_mismatch""#), "{status}");
    // A stream: what came within a second (the history first) is enough.
    let events = curl_socket(&socket, "/events?since=0", "1");
    assert!(
        events.contains(r#""event":"diagnosis","probe":"readiness","kind":"port_mismatch""#),
        "{events}"
    );
    run.term();
    assert_eq!(run.exit_code(), 143);
}

#[test]
fn an_app_still_loading_is_shown_against_the_startup_budget() {
    let port = free_port();
    let startup = tcp_probe(port, r#", "failure_threshold": 1000"#);
    let mut run = Run::start_in(
        TempDir::new("diag-loading"),
        port,
        &["--startup", &startup],
        &["--start-delay", "60"],
    );
    run.wait_log(&format!(
        "startup probe: nothing listens on port {port} yet; the command (pid "
    ));
    run.wait_log("listens on no port: still loading? startup_check allows 50s in all, ");
    run.term();
    run.exit_code();
}

#[test]
fn no_diagnosis_when_the_probe_succeeds_or_fails_for_another_reason() {
    let port = free_port();
    let mut run = Run::start_in(
        TempDir::new("diag-none"),
        port,
        &["--readiness", &tcp_probe(port, "")],
        &[],
    );
    run.wait_log("readiness: ready");
    // The app answers, then stops listening by exiting: the command is gone,
    // nothing to guess about.
    run.term();
    run.exit_code();
    // (Before the app has bound its port, a first failure is rightly
    // diagnosed as not listening yet: only what follows success counts.)
    let log = run.log();
    let ready = run.line_of("readiness: ready").expect("ready");
    let after: String = log.lines().skip(ready).collect::<Vec<_>>().join("\n");
    assert_eq!(lines_with(&after, "nothing listens"), 0, "{}", run.log());
}

#[test]
fn a_slow_starter_stopped_by_liveness_is_told_the_startup_check_that_fits() {
    let dir = TempDir::new("diag-slow");
    let port = free_port();
    // Run 1 listens after 0.3 s and answers; later runs take 30 s to load.
    let script = format!(
        "n=$(cat {runs} 2>/dev/null || echo 0); echo $((n+1)) > {runs}; \
         if [ $n = 0 ]; then d=0.3; else d=30; fi; \
         exec {app} http --port {port} --start-delay $d",
        runs = dir.path("runs").display(),
        app = testapp_str(),
    );
    let liveness = tcp_probe(port, r#", "failure_threshold": 10"#);
    let log = std::fs::File::create(dir.path("log")).unwrap();
    let mut vigil = std::process::Command::new(vigil())
        .args([
            "-vv",
            "--restart",
            "on-failure",
            "--max-restarts",
            "1",
            "--liveness",
            &liveness,
            "--",
            "sh",
            "-c",
            &script,
        ])
        .stdin(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let read_log = || std::fs::read_to_string(dir.path("log")).unwrap_or_default();
    // Successes are debug lines (-vv).
    let deadline = std::time::Instant::now() + DEADLINE;
    while !read_log().contains("liveness probe succeeded") {
        assert!(
            std::time::Instant::now() < deadline,
            "run 1 never answered:\n{}",
            read_log()
        );
        std::thread::sleep(POLL); // poll interval; the deadline bounds the wait
    }
    // Run 1 ends (its app is told to stop): run 2 loads too slowly.
    let app = children_of(vigil.id())[0];
    send("TERM", app);
    let status = wait_exit(&mut vigil);
    assert_eq!(status.code(), Some(3), "{}", read_log());
    let log = read_log();
    let line = log
        .lines()
        .find(|l| l.contains("the liveness check stopped the command after "))
        .unwrap_or_else(|| panic!("no slow-start diagnosis:\n{log}"));
    assert!(line.contains("liveness probe: "), "{line}");
    assert!(
        line.contains(": it never started listening; an earlier run started listening after "),
        "{line}"
    );
    assert!(
        line.contains(
            "it is slow, not broken. add a startup_check with period_seconds 1 and failure_threshold 1 (liveness waits until startup succeeds)"
        ),
        "{line}"
    );
}

/// Listens on [::] with IPV6_V6ONLY set: IPv4 connections are refused.
const V6ONLY: &str = r#"
import socket, sys, time
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
s.bind(("::", int(sys.argv[1])))
s.listen()
time.sleep(3600)
"#;

#[test]
fn an_ipv6_only_wildcard_listener_for_an_ipv4_probe_is_named() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 on loopback here: an IPv6-only listener cannot be made");
        return;
    }
    let port = free_port();
    let dir = TempDir::new("diag-v6only");
    let log = std::fs::File::create(dir.path("log")).unwrap();
    let child = std::process::Command::new(vigil())
        .args(["--readiness", &tcp_probe(port, ""), "--"])
        .args(["python3", "-c", V6ONLY, &port.to_string()])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn vigil");
    let mut run = Run { child, dir, port };
    // /proc/net/tcp6 shows [::]:PORT, not that it is IPv6-only: the refused
    // IPv4 connection says it.
    let want = format!(
        " listens on [::]:{port} only for IPv6 (IPV6_V6ONLY?): the probe's IPv4 connection to \
         127.0.0.1 was refused; have the app bind 0.0.0.0 as well, or clear IPV6_V6ONLY on its \
         socket (or the net.ipv6.bindv6only sysctl)"
    );
    run.wait_log(&want);
    wait_until("10 failed attempts", || {
        lines_with(&run.log(), "readiness probe failed") >= 10
    });
    assert_eq!(lines_with(&run.log(), &want), 1, "{}", run.log());
    let line = run.line_of(&want).unwrap();
    assert!(
        run.log()
            .lines()
            .nth(line)
            .unwrap()
            .contains("readiness probe: python3"),
        "{}",
        run.log()
    );
    run.term();
    assert_eq!(run.exit_code(), 143);
}

#[test]
fn a_command_in_another_network_namespace_is_named() {
    // `unshare --net` execs the app in a network namespace of its own
    // (root only: the tests run as root), where it listens on its port; the
    // probe connects from vigil's namespace, where nothing does.
    struct Killed(std::process::Child);
    impl Drop for Killed {
        fn drop(&mut self) {
            kill_tree(&mut self.0);
        }
    }
    let port = free_port();
    let dir = TempDir::new("diag-netns");
    let log = dir.path("log");
    let _vigil = Killed(
        std::process::Command::new(vigil())
            .args(["--readiness", &tcp_probe(port, "")])
            .arg("--")
            .args(["unshare", "--net", "--"])
            .arg(testapp())
            .args(["http", "--port", &port.to_string()])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("spawn vigil"),
    );
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    let want = format!(
        "readiness probe: nothing listens on port {port} in vigil's network namespace (net:["
    );
    // Said once the app listens in its own namespace (before, "listens on
    // no port there").
    let there = format!("listens there on 0.0.0.0:{port};");
    wait_until("the other namespace named with its listener", || {
        read().contains(&there)
    });
    let text = read();
    assert!(text.contains(&want), "{text}");
    assert!(text.contains(") runs in another one (net:["), "{text}");
}

/// Names itself (prctl PR_SET_NAME) with the bytes given in hex, then
/// listens on the port given.
const NAMED: &str = r#"
import ctypes, socket, sys, time
ctypes.CDLL(None).prctl(15, bytes.fromhex(sys.argv[2]), 0, 0, 0)
s = socket.socket()
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen()
time.sleep(3600)
"#;

/// vigil with a readiness tcp probe of `port` (`extra` fields) over
/// `command`, its log kept.
fn vigil_over(tag: &str, port: u16, extra: &str, command: &[&str]) -> Run {
    let dir = TempDir::new(tag);
    let log = std::fs::File::create(dir.path("log")).unwrap();
    let child = std::process::Command::new(vigil())
        .args(["--readiness", &tcp_probe(port, extra), "--"])
        .args(command)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn vigil");
    Run { child, dir, port }
}

#[test]
fn a_process_name_with_control_characters_is_escaped_in_the_line() {
    // The app names itself "\n\x1b[31mNOTE x": said raw, the line would
    // break in two and color the terminal.
    let (probe_port, app_port) = (free_port(), free_port());
    let mut run = vigil_over(
        "diag-ctl-name",
        probe_port,
        "",
        &[
            "python3",
            "-c",
            NAMED,
            &app_port.to_string(),
            "0a1b5b33316d4e4f54452078",
        ],
    );
    run.wait_log(&format!(
        "readiness probe: nothing listens on port {probe_port}, but the command does: \
         \\n\\u{{1b}}[31mNOTE x (pid "
    ));
    let log = run.log();
    assert!(
        !log.chars().any(|c| c.is_control() && c != '\n'),
        "raw control characters in the log:\n{log:?}"
    );
    run.term();
    run.exit_code();
}

#[test]
fn a_process_name_that_is_not_utf8_is_still_the_command_s() {
    // A shell runs the app as its child (no exec); the app's name is not
    // UTF-8: still named, and still known as the command's by its parent
    // (an unread /proc/PID/stat gave no parent: "listens on no port").
    let (probe_port, app_port) = (free_port(), free_port());
    let script = format!("python3 -c '{NAMED}' {app_port} 6170ff70; true");
    let mut run = vigil_over("diag-utf8-name", probe_port, "", &["sh", "-c", &script]);
    run.wait_log(&format!(
        "readiness probe: nothing listens on port {probe_port}, but the command does: \
         ap\u{fffd}p (pid "
    ));
    run.wait_log(&format!("on 0.0.0.0:{app_port}; set the probe's port"));
    run.term();
    run.exit_code();
}

/// Opens 5,000 descriptors, then listens on the port given: its listener
/// lies past the descriptors the owner scan reads of one process.
const MANY_FDS: &str = r#"
import os, resource, socket, sys, time
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if hard != resource.RLIM_INFINITY and hard < 6000:
    print("hard limit", hard, file=sys.stderr)
    sys.exit(9)
resource.setrlimit(resource.RLIMIT_NOFILE, (6000, hard))
fds = [os.open("/dev/null", os.O_RDONLY) for _ in range(5000)]
s = socket.socket()
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen()
print("listening", file=sys.stderr, flush=True)
time.sleep(3600)
"#;

#[test]
fn a_listener_past_the_owner_scan_is_not_called_no_port() {
    let (probe_port, app_port) = (free_port(), free_port());
    // Not settled before a second of running: the app has time to bind.
    let mut run = vigil_over(
        "diag-many-fds",
        probe_port,
        r#", "failure_threshold": 1000"#,
        &["python3", "-c", MANY_FDS, &app_port.to_string()],
    );
    wait_until("the app listening (or its limit too low)", || {
        run.log().contains("listening") || run.log().contains("hard limit")
    });
    if run.log().contains("hard limit") {
        eprintln!("RLIMIT_NOFILE too low here for 5,000 descriptors");
        return;
    }
    let seen = lines_with(&run.log(), "readiness probe failed");
    wait_until("a second of failures more", || {
        lines_with(&run.log(), "readiness probe failed") >= seen + 25
    });
    // vigil cannot tell whether the command listens elsewhere: no line
    // says it listens on no port once it listens (before, it rightly may).
    let log = run.log();
    let after = log.split_once("listening\n").map_or("", |(_, a)| a);
    assert_eq!(lines_with(after, "listens on no port"), 0, "{log}");
    run.term();
    run.exit_code();
}
