//! Regressions from hostile testing (issue 8): real-time signal deaths,
//! signals vigil raises itself, a stalled log reader, the signals libc keeps
//! for itself, signals during start-up, and how the command is looked up.

mod support;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{Command, Stdio};
use support::*;

fn file_lines(path: &std::path::Path) -> usize {
    lines(path).len()
}

/// The binaries under test: the debug build (glibc) always, and the shipped
/// static one (musl) when `make static` has built it (as `make test` does).
fn binaries() -> Vec<String> {
    let mut v = vec![vigil().to_string()];
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let static_vigil = manifest.join("target/static/vigil");
    if static_vigil.exists() {
        v.push(static_vigil.to_string_lossy().into_owned());
    }
    v
}

#[test]
fn a_command_killed_by_a_real_time_signal_is_noticed() {
    // nix's waitpid fails on a real-time death after the kernel has reaped the
    // child; vigil took that for "no children" and never saw the end.
    for bin in binaries() {
        for sig in [38, 64, 34] {
            let mut v = Command::new(&bin)
                .args(["-s", "--grace", "1", "--", "sleep", "300"])
                .stdin(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn vigil");
            wait_until("the command to start", || !children_of(v.id()).is_empty());
            let child = children_of(v.id())[0];
            send(&sig.to_string(), child);
            let status = wait_exit(&mut v);
            assert_eq!(status.code(), Some(128 + sig), "{bin}: signal {sig}");
        }
    }
}

#[test]
fn an_exec_probe_killed_by_a_real_time_signal_is_reported_as_such() {
    let dir = TempDir::new("rt-probe");
    let live = r#"{"exec": {"command": ["sh", "-c", "kill -35 $$$$"]}, "period_seconds": 0.05, "timeout_seconds": 5}"#;
    let mut v = Command::new(vigil())
        .args(["-s", "--liveness", live, "--", "sleep", "300"])
        .stdin(Stdio::null())
        .stderr(std::fs::File::create(dir.path("log")).unwrap())
        .spawn()
        .expect("spawn vigil");
    wait_until("the liveness probe to stop the command", || {
        v.try_wait().unwrap().is_some()
    });
    let log = std::fs::read_to_string(dir.path("log")).unwrap();
    assert_eq!(wait_exit(&mut v).code(), Some(3), "{log}");
    assert!(
        log.contains("liveness probe failed (1/3)") && log.contains("killed by SIGRTMIN+1"),
        "{log}"
    );
    assert!(!log.contains("timeout"), "{log}");
}

#[test]
fn signals_the_c_library_keeps_for_itself_are_forwarded_not_fatal() {
    // glibc's sigfillset leaves out 32-33, musl's 32-34: unblocked, they
    // killed vigil with their default action and orphaned the command.
    for bin in binaries() {
        for sig in [32, 33, 34] {
            let dir = TempDir::new("libc-signals");
            let log = dir.path("log");
            // Whoever runs the tests may have left 32-33 ignored (inherited
            // through exec): give vigil, and so sleep, their default action.
            let mut v = Command::new(testapp())
                .args(["with-mask", "--default", "32,33,34", "--", &bin])
                .args(["-s", "-vvv", "--", "sleep", "300"])
                .stdin(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .expect("spawn vigil");
            wait_until("the command to start", || !children_of(v.id()).is_empty());
            send(&sig.to_string(), v.id());
            // sleep dies of it (default action): vigil reports that death.
            let vid = v.id();
            let status = wait_exit_or_report(&mut v, || {
                format!(
                    "{}\n{}\n{:?}",
                    signal_report(vid),
                    std::fs::read_to_string(&log).unwrap_or_default(),
                    children_of(vid)
                        .iter()
                        .map(|c| signal_report(*c))
                        .collect::<Vec<_>>()
                )
            });
            assert_eq!(status.code(), Some(128 + sig), "{bin}: signal {sig}");
        }
    }
}

#[test]
fn sigpipe_from_vigils_own_log_write_is_not_forwarded() {
    // stderr is a pipe whose reader has gone: each log line raises SIGPIPE in
    // vigil. It used to forward it and kill the command (exit 141).
    for bin in binaries() {
        let dir = TempDir::new("sigpipe");
        let rec = dir.path("rec");
        let (read_end, write_end): (OwnedFd, OwnedFd) = nix::unistd::pipe().unwrap();
        drop(read_end);
        let ready = r#"{"tcp_socket": {"port": 1, "host": "127.0.0.1"}, "period_seconds": 0.01, "failure_threshold": 1000000}"#;
        let app = testapp_str();
        let mut v = Command::new(&bin)
            .args(["-s", "-p", "KILL", "-vvv", "--readiness", ready, "--"])
            .args([&app, "signals", "--out", rec.to_str().unwrap()])
            .stdin(Stdio::null())
            .stderr(Stdio::from(write_end))
            .spawn()
            .expect("spawn vigil");
        wait_until("the recorder", || {
            lines(&rec).last().is_some_and(|l| l == "ready")
        });
        // Failed attempts, each logged into the broken pipe: a signal of the
        // operator's still arrives, and nothing else did.
        send("USR1", v.id());
        wait_until("USR1 to reach the command", || {
            lines(&rec).iter().any(|l| l == "SIGUSR1")
        });
        send("USR2", v.id());
        wait_until("USR2 to reach the command", || {
            lines(&rec).iter().any(|l| l == "SIGUSR2")
        });
        send("TERM", v.id());
        assert_eq!(wait_exit(&mut v).code(), Some(0), "{bin}");
        let got = lines(&rec);
        assert_eq!(got, ["ready", "SIGUSR1", "SIGUSR2", "SIGTERM"], "{bin}");
    }
}

#[test]
fn sigxfsz_from_vigils_own_log_write_is_not_forwarded() {
    // stderr is a file at the size limit (`ulimit -f`): each log write raises
    // SIGXFSZ in vigil, which it used to forward (exit 153).
    let dir = TempDir::new("sigxfsz");
    let rec = dir.path("rec");
    let app = testapp_str();
    let ready = r#"{"tcp_socket": {"port": 1, "host": "127.0.0.1"}, "period_seconds": 0.01, "failure_threshold": 1000000}"#;
    let script = format!(
        "ulimit -f 1 && exec {} -s -p KILL -vvv --readiness '{ready}' -- {app} signals --out {} 2>{}",
        vigil(),
        rec.display(),
        dir.path("log").display()
    );
    let mut v = Command::new("bash")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn vigil");
    wait_until("the recorder", || {
        lines(&rec).last().is_some_and(|l| l == "ready")
    });
    wait_until("the log to reach the limit", || {
        std::fs::metadata(dir.path("log")).is_ok_and(|m| m.len() >= 1024)
    });
    send("USR1", v.id());
    wait_until("USR1 to reach the command", || {
        lines(&rec).iter().any(|l| l == "SIGUSR1")
    });
    send("TERM", v.id());
    assert_eq!(wait_exit(&mut v).code(), Some(0));
    assert_eq!(lines(&rec), ["ready", "SIGUSR1", "SIGTERM"]);
}

#[test]
fn a_stalled_log_reader_freezes_nothing_and_drops_are_counted() {
    stalled_log_reader(&[]);
}

#[test]
fn a_stalled_log_reader_freezes_nothing_for_a_non_root_vigil_either() {
    // Not root, vigil cannot reopen a pipe root owns (/proc/self/fd/2 is
    // EACCES): it writes at most PIPE_BUF bytes when poll allows. It used to
    // write its whole backlog and block.
    stalled_log_reader(&[
        "setpriv",
        "--reuid",
        "65534",
        "--regid",
        "65534",
        "--clear-groups",
    ]);
}

fn stalled_log_reader(prefix: &[&str]) {
    // stderr is a pipe nobody reads. An exec probe counts its attempts in a
    // file: the count keeps growing only if the loop never blocks in a log
    // write. Each failed attempt logs two lines at -vvvv.
    let dir = TempDir::new("stalled-log");
    std::fs::set_permissions(&dir.0, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let count = dir.path("count");
    let rec = dir.path("rec");
    let (read_end, write_end) = nix::unistd::pipe().unwrap();
    let mut read_end = std::fs::File::from(read_end);
    let probe = format!(
        r#"{{"exec": {{"command": ["sh", "-c", "echo x >> {}; exit 1"]}}, "period_seconds": 0.002, "failure_threshold": 1000000}}"#,
        count.display()
    );
    let app = testapp_str();
    let mut cmd = match prefix.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(vigil());
            c
        }
        None => Command::new(vigil()),
    };
    let mut v = cmd
        // -p KILL: a failing test (its thread gone) takes vigil and its
        // fast probe with it.
        .args(["-s", "-p", "KILL", "-vvvv", "--readiness", &probe, "--"])
        .args([&app, "signals", "--out", rec.to_str().unwrap()])
        .stdin(Stdio::null())
        .stderr(write_end)
        .spawn()
        .expect("spawn vigil");
    // 400 attempts (~280 bytes of log each) fill the pipe (64 KiB). The reader then
    // takes one page and stalls again: a write that does not fit in what was
    // freed must not wait for it.
    wait_until("400 probe attempts", || file_lines(&count) >= 400);
    let mut page = [0u8; 4096];
    read_end.read_exact(&mut page).unwrap();
    // 600 more attempts: the loop never blocked, and more was logged
    // than the pipe and vigil's own buffer (64 KiB) hold.
    wait_until("1,000 probe attempts", || file_lines(&count) >= 1000);
    send("USR1", v.id());
    wait_until("USR1 to reach the command", || {
        lines(&rec).iter().any(|l| l == "SIGUSR1")
    });
    // The reader is back: what was kept comes out, then the count of the rest.
    let reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut buf = [0u8; 65536];
        loop {
            match read_end.read(&mut buf) {
                Ok(0) | Err(_) => return all,
                Ok(n) => {
                    all.extend_from_slice(&buf[..n]);
                    if String::from_utf8_lossy(&all).contains("were dropped") {
                        return all;
                    }
                }
            }
        }
    });
    let log = reader.join().unwrap();
    let log = String::from_utf8_lossy(&log);
    let note = log
        .lines()
        .find(|l| l.contains("were dropped"))
        .expect("a line counting the dropped lines");
    assert!(
        note.contains("WARN")
            && note.contains("log lines were dropped: vigil's stderr was not being read"),
        "{note}"
    );
    send("TERM", v.id());
    assert_eq!(wait_exit(&mut v).code(), Some(0));
}

#[test]
fn sigterm_ends_vigil_while_it_reads_its_configuration() {
    // `vigil check FIFO` and `vigil --config FIFO` with nobody writing: they
    // blocked SIGINT and SIGTERM and could only be SIGKILLed.
    let dir = TempDir::new("fifo-config");
    let fifo = dir.path("config.json");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let fifo = fifo.to_str().unwrap();
    for (args, sig, want) in [
        (vec!["check", fifo], "TERM", 143),
        (vec!["check", fifo], "INT", 130),
        (vec!["--config", fifo, "--", "true"], "TERM", 143),
    ] {
        let mut v = Command::new(vigil())
            .args(&args)
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn vigil");
        // Blocked in open(2) of the FIFO, waiting for a writer.
        wait_until("vigil to wait on the FIFO", || {
            std::fs::read_to_string(format!("/proc/{}/wchan", v.id()))
                .is_ok_and(|w| w == "wait_for_partner")
        });
        send(sig, v.id());
        let status = wait_exit(&mut v);
        let mut err = String::new();
        v.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        assert_eq!(status.code(), Some(want), "{args:?} {sig}: {err}");
        assert!(err.contains("before the command started: exiting"), "{err}");
    }
}

#[test]
fn a_restart_finds_a_program_that_appeared_meanwhile() {
    // The PATH lookup was done once at start-up: every restart exited 127.
    let dir = TempDir::new("late-program");
    let bin = dir.path("bin");
    std::fs::create_dir(&bin).unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let mut v = Command::new(vigil())
        .args([
            "-s",
            "--restart",
            "on-failure",
            "--backoff-initial",
            "0.05",
            "--backoff-max",
            "0.05",
            "--",
            "late-program-vigil-test",
        ])
        .env("PATH", &path)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vigil");
    let mut err = v.stderr.take().unwrap();
    let mut seen = Vec::new();
    // The first start fails with 127; then the program appears.
    wait_until("a first start to fail", || {
        let mut buf = [0u8; 4096];
        let n = err.read(&mut buf).unwrap_or(0);
        seen.extend_from_slice(&buf[..n]);
        String::from_utf8_lossy(&seen).contains("restarting")
    });
    let prog = bin.join("late-program-vigil-test");
    std::fs::write(&prog, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&prog, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let status = wait_exit(&mut v);
    assert_eq!(status.code(), Some(0));
}

#[test]
fn command_lookup_as_execvp() {
    let dir = TempDir::new("lookup");
    // An empty name is "not found" (127), as execvp says, not EACCES (126).
    let o = vigil_run(&["--", ""]);
    assert_eq!(code(&o), 127, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("No such file or directory"),
        "{}",
        stderr(&o)
    );
    // A script without `#!` runs with /bin/sh, as tini (glibc's execvp) does.
    let script = dir.path("no-shebang");
    std::fs::write(&script, "echo \"ran: $0 $1 $2\"\nexit 7\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let o = vigil_run(&["--", script.to_str().unwrap(), "a", "b"]);
    assert_eq!(code(&o), 7, "{}", stderr(&o));
    assert_eq!(stdout(&o), format!("ran: {} a b\n", script.display()));
}

#[test]
fn few_descriptors_are_never_blamed_on_fork() {
    // With few fds, creating a descriptor fails (EMFILE) before any start is
    // tried: the message once named fork. Which creation fails depends on
    // vigil's own fds, so try a few: none may blame fork, each failure names
    // the descriptor it could not make, and with enough for the loop the
    // command runs (the start itself needs no descriptor: the child reports
    // a failed exec in memory it shares with vigil, not through a pipe).
    let mut ran = false;
    for n in 4..=9 {
        let o = run(Command::new("bash")
            .args(["-c", &format!("ulimit -n {n} && exec {} -- true", vigil())]));
        let err = stderr(&o);
        assert!(!err.contains("fork failed"), "ulimit -n {n}: {err}");
        if code(&o) == 0 {
            ran = true;
        } else {
            assert!(
                err.contains("cannot create the") && err.contains("(os error 24)"),
                "ulimit -n {n}: {err}"
            );
        }
    }
    assert!(ran, "no limit let the command run");
}

/// vigil's peak address-space size (VmPeak, KiB) with its command running.
fn peak_size_kib(bin: &str) -> u64 {
    let mut v = Command::new(bin)
        .args(["-s", "--", "sleep", "300"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn vigil");
    wait_until("the command to start", || !children_of(v.id()).is_empty());
    let status = std::fs::read_to_string(format!("/proc/{}/status", v.id())).unwrap();
    kill_tree(&mut v);
    let line = status.lines().find(|l| l.starts_with("VmPeak:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_start_that_fails_before_clone_is_not_blamed_on_fork() {
    // Under an address-space limit (ulimit -v), mapping the children's
    // stack (made at the first start) fails before any clone is tried: the
    // restart notice and /events said "fork failed". Where the limit bites
    // depends on the build, so step down from vigil's own peak size until a
    // run cannot map the stack (each lower limit fails sooner or later).
    for bin in binaries() {
        let peak = peak_size_kib(&bin);
        let mut seen = None;
        for limit in (peak.saturating_sub(512)..=peak).rev().step_by(4) {
            let o = run(Command::new("bash").args([
                "-c",
                &format!(
                    "ulimit -v {limit} && exec {bin} -s --restart on-failure \
                     --max-restarts 1 --backoff-initial 10ms -- true"
                ),
            ]));
            let err = stderr(&o);
            if err.contains("cannot map the child's stack") {
                seen = Some((limit, err));
                break;
            }
        }
        let (limit, err) = seen.unwrap_or_else(|| panic!("{bin}: no limit under {peak} KiB"));
        assert!(
            !err.contains("fork failed"),
            "{bin}, ulimit -v {limit}: {err}"
        );
        assert!(
            err.contains("(attempt 1, cannot map the child's stack)"),
            "{bin}, ulimit -v {limit}: {err}"
        );
    }
}

/// Runs `cmd` on a new terminal made by `script`, which types what is written
/// to its stdin and records the terminal to `typescript`. The command line is
/// exec'd: a shell that stayed in the foreground group would die of the
/// Ctrl-C itself (dash, `script`'s shell when SHELL is unset, does) and
/// `script` would report its status, not vigil's.
fn on_a_terminal(cmd: &str, typescript: &Path) -> std::process::Child {
    support::on_a_terminal(&format!("exec {cmd}"), typescript)
}

#[test]
fn ctrl_c_on_a_terminal_stops_vigil_under_a_restart_policy() {
    // `script` gives vigil a terminal; Ctrl-C (or Ctrl-\) typed there goes to
    // the command's group, which vigil made the foreground. It used to be
    // restarted each time, so vigil could not be stopped from the keyboard.
    for (key, want) in [(b"\x03", 130), (b"\x1c", 131)] {
        let cmd = format!(
            "{} --restart always --backoff-initial 0 -- sleep 300",
            vigil()
        );
        let mut script = on_a_terminal(&cmd, Path::new("/dev/null"));
        let sleep_started = || {
            children_of(script.id())
                .iter()
                .any(|v| !children_of(*v).is_empty())
        };
        wait_until("the command to start on the terminal", sleep_started);
        use std::io::Write;
        let mut tty = script.stdin.take().unwrap();
        tty.write_all(key).unwrap();
        tty.flush().unwrap();
        let status = wait_exit(&mut script);
        assert_eq!(status.code(), Some(want), "{key:?}");
    }
}

#[test]
fn a_zero_backoff_crash_loop_logs_a_bounded_number_of_notices() {
    // ~1,800 notices a second before; now at most 10 per 10 s and a summary.
    let o = vigil_run(&[
        "-s",
        "--restart",
        "always",
        "--backoff-initial",
        "0",
        "--backoff-max",
        "0",
        "--max-restarts",
        "1000",
        "--",
        "false",
    ]);
    let err = stderr(&o);
    assert_eq!(code(&o), 1, "{err}");
    let restarting = err.lines().filter(|l| l.contains("restarting now")).count();
    assert_eq!(restarting, 10, "{err}");
    assert!(
        err.contains("giving up: the command was restarted 1000 times"),
        "{err}"
    );
}

#[test]
fn a_full_stderr_pipe_does_not_hold_the_start_up() {
    // The pipe is full before vigil starts and nobody reads it: its first
    // lines (the PID 1 warning, the probe host) used blocking writes, so the
    // command never started and SIGTERM could not end vigil.
    let dir = TempDir::new("full-pipe");
    let rec = dir.path("rec");
    let (read_end, write_end) = nix::unistd::pipe().unwrap();
    let mut write_end = std::fs::File::from(write_end);
    nix::fcntl::fcntl(
        std::os::fd::AsRawFd::as_raw_fd(&write_end),
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    )
    .unwrap();
    use std::io::Write;
    while write_end.write(&[b'x'; 4096]).is_ok() {}
    nix::fcntl::fcntl(
        std::os::fd::AsRawFd::as_raw_fd(&write_end),
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::empty()),
    )
    .unwrap();
    let ready = r#"{"tcp_socket": {"port": 1, "host": "127.0.0.1"}, "period_seconds": 0.05}"#;
    let app = testapp_str();
    let mut v = Command::new(vigil())
        .args(["--readiness", ready, "--", &app, "signals", "--out"])
        .arg(&rec)
        .stdin(Stdio::null())
        .stderr(write_end)
        .spawn()
        .expect("spawn vigil");
    wait_until("the command to start", || {
        lines(&rec).last().is_some_and(|l| l == "ready")
    });
    send("TERM", v.id());
    assert_eq!(wait_exit(&mut v).code(), Some(0));
    drop(read_end);
}

#[test]
fn ctrl_c_while_waiting_to_restart_ends_vigil() {
    // The terminal's foreground was the dead command's empty group: Ctrl-C
    // reached nobody and the command started again. vigil now takes the
    // terminal back when the command ends.
    let cmd = format!("{} --restart always --backoff-initial 30 -- false", vigil());
    let dir = TempDir::new("ctrl-c-backoff");
    let out = dir.path("out");
    let mut script = on_a_terminal(&cmd, &out);
    wait_until("the 30 s backoff", || {
        std::fs::read_to_string(&out).is_ok_and(|s| s.contains("restarting in 30s"))
    });
    use std::io::Write;
    let mut tty = script.stdin.take().unwrap();
    tty.write_all(b"\x03").unwrap();
    tty.flush().unwrap();
    let status = wait_exit(&mut script);
    let log = std::fs::read_to_string(&out).unwrap_or_default();
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(
        log.contains(
            "SIGINT received while waiting to restart the command: exiting with its last status 1"
        ),
        "{log}"
    );
}

#[test]
fn every_failed_start_up_step_is_named() {
    // At `ulimit -n 4` the timerfd could not be made: the message said only
    // "event loop failed: No file descriptors available".
    for n in 3..=9 {
        let o = run(Command::new("bash")
            .args(["-c", &format!("ulimit -n {n} && exec {} -- true", vigil())]));
        let err = stderr(&o);
        if code(&o) == 0 {
            continue;
        }
        assert!(err.contains("cannot "), "ulimit -n {n}: {err}");
    }
}
