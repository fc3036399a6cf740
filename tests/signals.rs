//! Signal duties: forwarding every catchable signal, nothing lost at start,
//! `-g`, `--rewrite`, the grace period, `-p`, and the inherited signal state.

mod support;
use std::io::Write;
use std::process::{Command, Stdio};
use support::*;

/// Every signal the recorder catches (its `catchable()` list), by name.
const FORWARDED: &[&str] = &[
    "HUP", "INT", "QUIT", "TRAP", "ABRT", "BUS", "USR1", "USR2", "PIPE", "ALRM", "STKFLT", "CONT",
    "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
    "RTMIN", "RTMIN+1", "RTMAX",
];

fn spawn_vigil(args: &[&str]) -> std::process::Child {
    Command::new(vigil())
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vigil")
}

fn last_line_is(path: &std::path::Path, want: &str) -> bool {
    lines(path).last().is_some_and(|l| l == want)
}

#[test]
fn every_catchable_signal_is_forwarded() {
    let dir = TempDir::new("fwd");
    let rec = dir.path("rec");
    let app = testapp_str();
    let mut v = spawn_vigil(&["--", &app, "signals", "--out", rec.to_str().unwrap()]);
    wait_until("the recorder to be ready", || last_line_is(&rec, "ready"));
    for sig in FORWARDED {
        send(sig, v.id());
        let want = vigil::signal_name::name(vigil::signal_name::parse(sig, false).unwrap());
        wait_until(&format!("{sig} to reach the command"), || {
            last_line_is(&rec, &want)
        });
    }
    send("TERM", v.id());
    let status = wait_exit(&mut v);
    assert_eq!(status.code(), Some(0));
    let got = lines(&rec);
    assert_eq!(got.len(), FORWARDED.len() + 2, "{got:?}");
    assert_eq!(got.last().map(String::as_str), Some("SIGTERM"));
}

#[test]
fn a_signal_sent_as_vigil_starts_is_not_lost() {
    // 200 times: send SIGUSR1 the moment vigil has blocked signals (before or
    // while it starts the command). The command either records it (and exits
    // 0) or receives it before its own handler exists (and dies of it, 138):
    // both prove delivery. A lost signal leaves the command waiting: timeout.
    let dir = TempDir::new("early");
    let app = testapp_str();
    let (mut recorded, mut killed) = (0, 0);
    for i in 0..200 {
        let rec = dir.path(&format!("rec{i}"));
        let mut v = Command::new(vigil())
            .args([
                "--",
                &app,
                "signals",
                "--out",
                rec.to_str().unwrap(),
                "--until",
                "USR1",
            ])
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn");
        let usr1 = 1u64 << (libc::SIGUSR1 - 1);
        wait_until("vigil to block signals", || sig_blocked(v.id()) & usr1 != 0);
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(v.id() as i32),
            nix::sys::signal::Signal::SIGUSR1,
        )
        .unwrap();
        let vigil_pid = v.id();
        let status = wait_exit_or_report(&mut v, || {
            // Which process holds the signal (pending, blocked, caught) and
            // how far the command got; the command is killed, not left behind.
            let mut report = format!("run {i}: vigil {}\n", signal_report(vigil_pid));
            for pid in children_of(vigil_pid) {
                report += &format!("command {}\n", signal_report(pid));
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            report += &match std::fs::read_to_string(&rec) {
                Ok(text) => format!("record file: {text:?}"),
                Err(e) => format!("record file: {e}"),
            };
            report
        });
        match status.code() {
            Some(0) => recorded += 1,
            Some(138) => killed += 1,
            other => panic!("run {i}: unexpected status {other:?}"),
        }
    }
    assert_eq!(recorded + killed, 200);
    eprintln!("recorded by the command: {recorded}, delivered before its handler: {killed}");
}

#[test]
fn dash_g_reaches_the_whole_process_group() {
    for group in [false, true] {
        let dir = TempDir::new("tree");
        let app = testapp_str();
        let d = dir.0.to_str().unwrap();
        let mut args = vec!["--", &app, "tree", "--out", d];
        if group {
            args.insert(0, "-g");
        }
        let mut v = spawn_vigil(&args);
        let (child, grandchild) = (dir.path("child"), dir.path("grandchild"));
        wait_until("both recorders", || {
            last_line_is(&child, "ready") && last_line_is(&grandchild, "ready")
        });
        send("USR1", v.id());
        wait_until("USR1 at the child", || last_line_is(&child, "SIGUSR1"));
        if group {
            wait_until("USR1 at the grandchild", || {
                last_line_is(&grandchild, "SIGUSR1")
            });
        }
        send("TERM", v.id());
        assert_eq!(wait_exit(&mut v).code(), Some(0));
        // Without -g the grandchild saw only the SIGTERM that vigil sends to the
        // rest of the group once the command has exited.
        let want: &[&str] = if group {
            &["ready", "SIGUSR1", "SIGTERM"]
        } else {
            &["ready", "SIGTERM"]
        };
        wait_until("the grandchild's SIGTERM", || {
            lines(&grandchild).len() == want.len()
        });
        assert_eq!(lines(&grandchild), want, "group={group}");
    }
}

#[test]
fn rewrite_translates_and_drops() {
    let dir = TempDir::new("rewrite");
    let rec = dir.path("rec");
    let app = testapp_str();
    let mut v = spawn_vigil(&[
        "--rewrite",
        "USR1:USR2",
        "--rewrite",
        "HUP:0",
        "--rewrite",
        "TERM:WINCH",
        "--",
        &app,
        "signals",
        "--out",
        rec.to_str().unwrap(),
        "--until",
        "INT",
    ]);
    wait_until("ready", || last_line_is(&rec, "ready"));
    send("USR1", v.id());
    wait_until("USR2", || last_line_is(&rec, "SIGUSR2"));
    send("HUP", v.id()); // dropped
    send("TERM", v.id());
    wait_until("WINCH", || last_line_is(&rec, "SIGWINCH"));
    send("INT", v.id());
    assert_eq!(wait_exit(&mut v).code(), Some(0));
    assert_eq!(lines(&rec), ["ready", "SIGUSR2", "SIGWINCH", "SIGINT"]);
}

#[test]
fn a_command_that_ignores_sigterm_is_killed_after_the_grace() {
    let dir = TempDir::new("grace");
    let ready = dir.path("ready");
    let app = testapp_str();
    let mut v = spawn_vigil(&[
        "--grace",
        "300ms",
        "--",
        &app,
        "ignore-term",
        "--ready",
        ready.to_str().unwrap(),
    ]);
    wait_until("ready", || ready.exists());
    send("TERM", v.id());
    let status = wait_exit(&mut v);
    assert_eq!(
        status.code(),
        Some(137),
        "SIGKILL after the grace gives 128+9"
    );
    let mut err = String::new();
    std::io::Read::read_to_string(&mut v.stderr.take().unwrap(), &mut err).unwrap();
    assert!(
        err.contains("did not exit within the 300ms grace period"),
        "{err}"
    );
}

#[test]
fn leftovers_of_the_command_group_are_terminated_when_it_exits() {
    let dir = TempDir::new("leftover");
    let pid_file = dir.path("pid");
    let app = testapp_str();
    let o = vigil_run(&[
        "-s",
        "--grace",
        "200ms",
        "--",
        &app,
        "leave-behind",
        "--pid-file",
        pid_file.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let pid: u32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    wait_until("the left-behind process to be gone", || is_dead(pid));
    assert!(
        stderr(&o).contains("still run at the end of the 200ms grace period: sending SIGKILL"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn parent_death_signal() {
    let dir = TempDir::new("pdeath");
    let rec = dir.path("rec");
    let app = testapp_str();
    // sh starts vigil in the background and exits when its stdin closes.
    let script = format!(
        "'{}' -p SIGUSR1 -- '{}' signals --out '{}' --until USR1 & read _",
        vigil(),
        app,
        rec.display()
    );
    let mut sh = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("ready", || last_line_is(&rec, "ready"));
    sh.stdin.take().unwrap().write_all(b"\n").unwrap();
    assert!(wait_exit(&mut sh).success());
    wait_until("the parent death signal to reach the command", || {
        last_line_is(&rec, "SIGUSR1")
    });
}

/// SigBlk and SigIgn of `cat` started by the test app's `with-mask OPTS --`,
/// directly or through vigil.
fn signal_state(mask_opts: &[&str], through_vigil: bool) -> (u64, u64) {
    let mut cmd = Command::new(testapp());
    cmd.arg("with-mask").args(mask_opts).arg("--");
    if through_vigil {
        cmd.args([vigil(), "--"]);
    }
    let o = run(cmd.args(["cat", "/proc/self/status"]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = stdout(&o);
    let field = |name: &str| {
        let v = text
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap()
            .trim();
        u64::from_str_radix(v, 16).unwrap()
    };
    (field("SigBlk:"), field("SigIgn:"))
}

fn bit(sig: i32) -> u64 {
    1u64 << (sig - 1)
}

#[test]
fn inherited_mask_and_ignored_signals_are_restored_in_the_command() {
    let opts = ["--block", "USR1,RTMIN+2", "--ignore", "USR2,HUP,CHLD"];
    let direct = signal_state(&opts, false);
    assert_eq!(
        direct.0 & bit(libc::SIGUSR1),
        bit(libc::SIGUSR1),
        "control: USR1 blocked"
    );
    assert_eq!(
        direct.1 & bit(libc::SIGCHLD),
        bit(libc::SIGCHLD),
        "control: CHLD ignored"
    );
    assert_eq!(
        signal_state(&opts, true),
        direct,
        "SigBlk/SigIgn under vigil must equal the inherited ones"
    );
}

#[test]
fn vigil_adds_nothing_to_the_signal_state() {
    // From a parent with an empty mask and SIGPIPE at its default, the command
    // gets exactly that (Rust's runtime would have set SIGPIPE to ignored;
    // vigil skips that start-up).
    let (blk, ign) = signal_state(&[], true);
    assert_eq!(blk, 0, "no signal blocked");
    assert_eq!(ign & bit(libc::SIGPIPE), 0, "SIGPIPE not ignored");
    assert_eq!((blk, ign), signal_state(&[], false));
}

#[test]
fn with_dash_g_a_signal_right_after_the_spawn_reaches_the_group() {
    // A SIGTERM sent as vigil starts is read on the first turn of the loop,
    // right after the fork, and forwarded to the command's group at once.
    // vigil makes that group in the parent as well as in the child, so the
    // group exists by then. (Before, `kill(-pid)` could come before the
    // child's own setpgid: ESRCH, the signal lost, SIGKILL after the grace:
    // 137 instead of 143.)
    // On one CPU the parent runs on after fork while the child waits: the
    // window is then wide open (taskset is in util-linux, always here).
    for i in 0..100 {
        let mut v = Command::new("taskset")
            .args([
                "-c",
                "0",
                vigil(),
                "-s",
                "-g",
                "--grace",
                "15",
                "--",
                "sleep",
                "30",
            ])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn vigil");
        // Once the command exists (before it, SIGTERM simply ends vigil).
        wait_until("vigil to start the command", || {
            !children_of(v.id()).is_empty()
        });
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(v.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        let status = wait_exit(&mut v);
        assert_eq!(
            status.code(),
            Some(143),
            "run {i}: the SIGTERM missed the group"
        );
    }
}
