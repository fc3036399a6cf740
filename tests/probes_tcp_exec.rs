//! tcp_socket and exec probes end to end: success, every failure cause,
//! timeouts, and hostile exec probes (endless output, a grandchild that keeps
//! the pipe, SIGTERM ignored).

mod support;
use support::probes::*;

/// Pids of processes whose command line contains `marker`.
fn processes_with(marker: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| {
                    String::from_utf8_lossy(&c)
                        .replace('\0', " ")
                        .contains(marker)
                })
                .unwrap_or(false)
        })
        .filter(|pid| !support::is_dead(*pid))
        .collect()
}

fn tcp_probe(port: u16, extra: &str) -> String {
    format!(
        r#"{{"tcp_socket": {{"port": {port}}}, "period_seconds": 0.1, "timeout_seconds": 0.3{extra}}}"#
    )
}

fn exec_probe(argv: &[&str], extra: &str) -> String {
    let argv = serde_json::to_string(argv).unwrap();
    format!(
        r#"{{"exec": {{"command": {argv}}}, "period_seconds": 0.2, "timeout_seconds": 0.3{extra}}}"#
    )
}

#[test]
fn tcp_success_makes_ready() {
    let port = free_port();
    let mut run = Run::start_in(
        support::TempDir::new("tcp-ok"),
        port,
        &["-v", "--readiness", &tcp_probe(port, "")],
        &["--term-exit", "0"],
    );
    run.wait_log("readiness: ready");
    run.term();
    assert_eq!(run.exit_code(), 0);
}

#[test]
fn tcp_refused_and_the_loopback_hint() {
    // Refused: the app is still "loading its model".
    let port = free_port();
    let live = tcp_probe(port, r#", "failure_threshold": 1"#);
    let mut run = Run::start_in(
        support::TempDir::new("tcp-refused"),
        port,
        &["--liveness", &live],
        &["--start-delay", "60"],
    );
    assert_eq!(run.exit_code(), 3);
    assert!(
        run.log().contains("connection refused (tcp "),
        "{}",
        run.log()
    );

    // Listening on loopback only while the probe goes to the pod IP.
    let primary = vigil::probe::host::primary_address();
    if primary.is_loopback() {
        eprintln!("this machine has no non-loopback address: the loopback-only hint cannot be exercised here");
        return;
    }
    let port = free_port();
    let startup = format!(
        r#"{{"exec": {{"command": ["sh", "-c", "grep -q ':{port:04X} 00000000:0000 0A' /proc/net/tcp"]}}, "period_seconds": 0.05, "failure_threshold": 200}}"#
    );
    let live = tcp_probe(port, r#", "failure_threshold": 1"#);
    let mut run = Run::start_in(
        support::TempDir::new("tcp-lo"),
        port,
        &["--startup", &startup, "--liveness", &live],
        &["--bind", "127.0.0.1"],
    );
    assert_eq!(run.exit_code(), 3, "{}", run.log());
    // One line, once, naming the process that holds the port.
    let want = format!("listens on port {port} on loopback only (127.0.0.1:{port}), but the probe connects to {primary} as the platform probes the pod IP: have the app bind 0.0.0.0 (or ::)");
    let log = run.log();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains(&want)).collect();
    assert_eq!(lines.len(), 1, "{}", run.log());
    assert!(
        lines[0].contains("liveness probe: vigil-testapp (pid "),
        "{}",
        lines[0]
    );
}

#[test]
fn tcp_timeout_when_nobody_completes_the_handshake() {
    use nix::sys::socket::{
        bind, listen, socket, AddressFamily, Backlog, SockFlag, SockType, SockaddrIn,
    };
    // A listener with a full accept queue drops new SYNs: connects hang.
    let fd = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .unwrap();
    bind(
        std::os::fd::AsRawFd::as_raw_fd(&fd),
        &SockaddrIn::new(0, 0, 0, 0, 0),
    )
    .unwrap();
    listen(&fd, Backlog::new(0).unwrap()).unwrap();
    let addr: SockaddrIn =
        nix::sys::socket::getsockname(std::os::fd::AsRawFd::as_raw_fd(&fd)).unwrap();
    let port = addr.port();
    let mut fillers = Vec::new();
    let target = std::net::SocketAddr::new(vigil::probe::host::primary_address(), port);
    for _ in 0..8 {
        match std::net::TcpStream::connect_timeout(&target, std::time::Duration::from_millis(300)) {
            Ok(s) => fillers.push(s),
            Err(_) => break, // the queue is full
        }
    }
    let live = tcp_probe(port, r#", "failure_threshold": 1"#);
    let mut run = Run::start_in(
        support::TempDir::new("tcp-timeout"),
        free_port(),
        &["--liveness", &live],
        &[],
    );
    assert_eq!(run.exit_code(), 3, "{}", run.log());
    assert!(run.log().contains("timeout after 300ms"), "{}", run.log());
    drop(fillers);
}

#[test]
fn exec_success_failure_and_output() {
    let port = free_port();
    let ready = exec_probe(&["sh", "-c", "exit 0"], "");
    let mut run = Run::start_in(
        support::TempDir::new("exec-ok"),
        port,
        &["-v", "--readiness", &ready],
        &["--term-exit", "0"],
    );
    run.wait_log("readiness: ready");
    run.term();
    assert_eq!(run.exit_code(), 0);

    let live = exec_probe(
        &["sh", "-c", "echo boom >&2; echo more; exit 4"],
        r#", "failure_threshold": 1"#,
    );
    let mut run = Run::start("exec-fail", &["--liveness", &live], &[]);
    assert_eq!(run.exit_code(), 3);
    assert!(run.log().contains("exit status 4: boom"), "{}", run.log());
}

#[test]
fn exec_timeout_kills_the_whole_probe_group_even_if_it_ignores_sigterm() {
    let live = exec_probe(
        &["sh", "-c", "trap '' TERM; sleep 29.123; echo never"],
        r#", "failure_threshold": 1"#,
    );
    let mut run = Run::start("exec-timeout", &["--liveness", &live], &[]);
    assert_eq!(run.exit_code(), 3);
    assert!(
        run.log()
            .contains("timeout after 300ms: the probe's process group got SIGKILL"),
        "{}",
        run.log()
    );
    support::wait_until("the probe's sleep to be gone", || {
        processes_with("sleep 29.123").is_empty()
    });
}

#[test]
fn an_exec_probe_s_output_reaches_the_log_without_its_control_characters() {
    // Terminal escapes (clear the screen, set the title) and a carriage
    // return in the output's first line: escaped in the failure's line.
    let live = exec_probe(
        &[
            "sh",
            "-c",
            r"printf '\033[2J\033]0;pwned\007 up\rdown\nsecond'; exit 1",
        ],
        r#", "failure_threshold": 1"#,
    );
    let mut run = Run::start("exec-escapes", &["--liveness", &live], &[]);
    assert_eq!(run.exit_code(), 3);
    let log = run.log();
    assert!(
        log.contains(r"exit status 1: \u{1b}[2J\u{1b}]0;pwned\u{7} up\rdown ("),
        "{log}"
    );
    assert!(
        !log.chars().any(|c| c.is_control() && c != '\n'),
        "raw control characters in the log:\n{log:?}"
    );
}

#[test]
fn exec_probe_that_prints_without_end_grows_nothing() {
    let ready = exec_probe(&["yes", "vigil"], r#", "failure_threshold": 1"#);
    let run = Run::start(
        "exec-yes",
        &["-v", "--readiness", &ready],
        &["--term-exit", "0"],
    );
    run.wait_log("readiness probe failed (1/1)");
    // Several more attempts of endless output.
    support::wait_until("5 timed-out attempts", || {
        run.log().matches("timeout after 300ms").count() >= 5
    });
    let status = std::fs::read_to_string(format!("/proc/{}/status", run.child.id())).unwrap();
    let rss_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap();
    assert!(rss_kb < 16 * 1024, "vigil's RSS grew to {rss_kb} KiB");
    let mut run = run;
    run.term();
    assert_eq!(run.exit_code(), 0);
}

#[test]
fn a_grandchild_keeping_the_pipe_open_stalls_nothing() {
    let ready = exec_probe(&["sh", "-c", "sleep 9.876 & echo started"], "");
    let mut run = Run::start(
        "exec-grandchild",
        &["-v", "--readiness", &ready],
        &["--term-exit", "0"],
    );
    run.wait_log("readiness: ready");
    // The attempt ended when sh exited, while its grandchild still holds the pipe.
    assert!(
        !processes_with("sleep 9.876").is_empty(),
        "the pipe holder should still run"
    );
    run.term();
    assert_eq!(run.exit_code(), 0);
    for pid in processes_with("sleep 9.876") {
        support::send("KILL", pid);
    }
}

#[test]
fn what_an_exec_probe_leaves_in_its_group_goes_with_it() {
    // Each attempt starts a background sleep and exits 0 at once: without the
    // group kill after the reap, one sleep would pile up per period.
    let ready = exec_probe(
        &[
            "sh",
            "-c",
            "sleep 29.456 </dev/null >/dev/null 2>&1 & exit 0",
        ],
        "",
    );
    let mut run = Run::start(
        "exec-leftover",
        &["-vvv", "-s", "--readiness", &ready],
        &["--term-exit", "0"],
    );
    support::wait_until("5 successful attempts", || {
        run.log().matches("readiness probe succeeded").count() >= 5
    });
    run.term();
    assert_eq!(run.exit_code(), 0, "{}", run.log());
    // (vigil's own argv names the marker, so look once vigil is gone.)
    support::wait_until("no leftover sleep", || {
        processes_with("sleep 29.456").is_empty()
    });
}
